/*
 * map.h - the mapping: how tables become directories and JSON files.
 *
 * A mapping is one declarative description per schema (mappings/NAME.json,
 * docs/mapping.md): for each database, which table is which collection
 * directory, its key column, whether an entity is one file or a directory,
 * the JSON fields with their types, value sets and read-only or secret
 * flags, its relations (link tables shown as symlinks), its logs (child
 * tables shown as append-only JSON Lines) and its views (symlinks grouped
 * by a column's value). store/ generates its SQL from it; fs/ walks it to
 * build the tree. Nothing else in orchfs knows a table by name.
 *
 * A loaded mapping is immutable and may be read from any thread. All of it
 * is owned by the struct mapping and freed by map_free().
 */
#ifndef ORCHFS_STORE_MAP_H
#define ORCHFS_STORE_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

enum map_type {
	MAP_TEXT,
	MAP_INTEGER,
	MAP_REAL,
	MAP_BOOLEAN,   /* stored 0/1, shown true/false */
	MAP_JSON,      /* stored as JSON text, shown as a JSON value */
	MAP_TIMESTAMP, /* stored as the database's format, shown as ISO 8601 UTC */
	MAP_REVISION,  /* read-only integer, +1 on every change */
	MAP_CREATED,   /* read-only timestamp, set on insert */
	MAP_UPDATED,   /* read-only timestamp, set on every change */
};

enum map_shape { MAP_SHAPE_ANY, MAP_SHAPE_ARRAY, MAP_SHAPE_OBJECT };

/* How a database stores its timestamps. */
enum map_time {
	MAP_TIME_ISO,      /* "2026-01-31T12:00:00.000Z" (JavaScript's toISOString) */
	MAP_TIME_EPOCH,    /* INTEGER seconds */
	MAP_TIME_EPOCH_MS, /* INTEGER milliseconds */
	MAP_TIME_SQLITE,   /* "2026-01-31 12:00:00" (SQLite's datetime('now')) */
	MAP_TIME_RFC3339,  /* "2026-01-31T12:00:00Z" (Go's time.RFC3339) */
};

struct map_collection;

struct map_column {
	char *name;     /* JSON field name */
	char *column;   /* SQL column name (same as name unless "column" says) */
	enum map_type type;
	enum map_shape shape;
	bool nullable;  /* null is a valid value */
	bool required;  /* must be given when the entity is created */
	bool readonly;  /* may be sent back unchanged, never changed */
	bool secret;    /* masked on read, set by writing a new value */
	bool uuid;      /* read-only, set to a new random UUID on insert (a second key) */
	cJSON *dflt;    /* "default": the value a new entity gets when none is given, or NULL */
	enum map_time time; /* timestamps: how this column stores them (its database's unless "time" says) */
	char **enumv;   /* allowed values (text or integer), or NULL */
	size_t nenum;
	bool has_min, has_max;
	double min, max;
	char *ref_name;                   /* collection this column refers to */
	const struct map_collection *ref; /* resolved ref_name, or NULL */
};

/* A link table shown as a directory of symlinks: <entity>/<dir>/<target key>. */
struct map_relation {
	char *dir;
	char *table;
	char *from;  /* link column holding this entity's key */
	char *to;    /* link column holding the target's key */
	char *order; /* column that orders the links (a new link goes last), or NULL (by target key) */
	char *created;      /* column stamped with the time a link is made, or NULL */
	enum map_time time; /* how created stores it (the database's timestamps) */
	bool unique; /* a target is linked from at most one entity (a worktree in one zone) */
	bool readonly; /* links cannot be made or removed here (a parent column read as children) */
	char *target_name;
	const struct map_collection *target;
};

/* A child table shown as an append-only JSON Lines file: <entity>/<file>. */
struct map_log {
	char *file;
	char *table;
	char *owner; /* column holding the owning entity's key */
	char *id;    /* integer column that orders rows (newest last) */
	char *fts;   /* FTS5 table indexing the rows (content_rowid = id), or NULL */
	const struct map_column *retention; /* time column `orchfs logs prune` goes by, or NULL */
	struct map_column *columns;
	size_t ncolumns;
};

/* A child table of files shown as they are (raw bytes, read-only):
 * <entity>/<dir>/<name> (orc's task attachments). */
struct map_blobs {
	char *dir;
	char *table;
	char *owner;   /* column holding the owning entity's key */
	char *name;    /* column holding the file's name */
	char *content; /* column holding its bytes (BLOB or TEXT) */
};

/* A directory of symlinks grouped by a column: <collection>/<dir>/<value>/<key>;
 * or, with a relation of another collection that targets this one, grouped by
 * the entity that links to it (worktrees/by-zone/<zone>/<worktree>). */
struct map_view {
	char *dir;
	const struct map_column *column;   /* or NULL for a relation view */
	char *rel_name;                    /* "zones/worktrees" */
	const struct map_relation *rel;    /* resolved rel_name */
};

struct map_database;

struct map_collection {
	size_t index;     /* position in db->collections */
	char *dir;        /* directory name under the database's root */
	char *table;
	char *alloc;      /* printf format for allocated keys ("BUG-%03d"), "uuid", or NULL */
	bool sidecar;     /* the table is in the database's sidecar (orchfs's own tables) */
	/* the tool's own counter for allocated keys (orc's sequences table): the
	 * row whose counter_key column is counter_name holds the last number in
	 * counter_column; NULL table: orchfs keeps the count itself */
	char *counter_table, *counter_key, *counter_name, *counter_column;
	char *file;       /* entity file inside a directory entity, or NULL for file form */
	/* form "raw": an entity is a plain file (<key><ext>) whose bytes are the
	 * text of one column (a document such as orc's constitution), not JSON */
	const struct map_column *content;
	char *ext;
	bool readonly;    /* nothing can be written through the mount */
	bool integer_key; /* the key column is an INTEGER */
	const struct map_column *key;
	const struct map_column *revision; /* or NULL */
	const struct map_column *created;  /* or NULL */
	const struct map_column *updated;  /* or NULL */
	const struct map_column *task;     /* column naming the task, for the audit; or NULL */
	const struct map_column *retention; /* a log kept as a collection: `orchfs logs prune` goes by it */
	char *soft_delete;  /* column set to the time of deletion (rm moves to .trash/), or NULL */
	struct map_column *columns;
	size_t ncolumns;
	struct map_relation *relations;
	size_t nrelations;
	struct map_log *logs;
	size_t nlogs;
	struct map_blobs *blobs;
	size_t nblobs;
	struct map_view *views;
	size_t nviews;
	const struct map_database *db;
};

struct map_database {
	char *name;  /* "project", "user" */
	char *dir;   /* where its collections appear: "" is the root */
	char *audit; /* table that takes audit rows, or NULL */
	char *changes; /* table the change feed is kept in (filled by triggers), or NULL */
	char *permissions; /* collection holding tool permission rules, or NULL */
	char *approvals;   /* collection of parked changes, or NULL */
	enum map_time time;
	/* orchfs's own tables (audit, changes, approvals, key counters) live in a
	 * sidecar file attached as schema "orchfs", not in this database: set for
	 * the tools' own files, which orchfs never alters (docs/mapping.md). */
	bool sidecar;
	/* views each connection creates as TEMP (name, SELECT): read-only
	 * collections computed from the tables, such as statistics */
	char **temp_view_names, **temp_view_sql;
	size_t ntemp_views;
	struct map_collection *collections;
	size_t ncollections;
};

struct mapping {
	char *schema;
	struct map_database *databases;
	size_t ndatabases;
};

/* --- loading --- */

/*
 * map_load - parse a mapping description (JSON text of len bytes).
 * On success *out is a new mapping the caller frees with map_free().
 * Returns 0, or -EINVAL with a one-line *cause (caller frees) naming
 * the place in the description that is wrong.
 */
int map_load(const char *text, size_t len, struct mapping **out, char **cause);

/* map_load_builtin - load the embedded mapping named schema ("native"). */
int map_load_builtin(const char *schema, struct mapping **out, char **cause);

void map_free(struct mapping *m);

/* --- lookups (NULL when absent) --- */

const struct map_database *map_database(const struct mapping *m, const char *name);
const struct map_collection *map_collection(const struct map_database *db, const char *dir);
const struct map_column *map_column(const struct map_collection *c, const char *name);
const struct map_column *map_log_column(const struct map_log *l, const char *name);

/* map_suffix - what follows the key in an entity's name: ".json", the raw
 * form's extension, or "" for entities that are directories. */
const char *map_suffix(const struct map_collection *c);

/* map_alloc_uuid - does c allocate random UUIDs for new keys? */
bool map_alloc_uuid(const struct map_collection *c);

/* map_key_valid - is name usable as a key? (printable UTF-8, no '/', not "." or "..",
 * no leading '.', at most 200 bytes; digits only for integer keys) */
bool map_key_valid(const struct map_collection *c, const char *name);

#endif
