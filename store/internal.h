/*
 * internal.h - what the files of store/ share and nobody else sees:
 * the store struct, per-thread connections with their statement caches,
 * the SQL generated from the mapping, value conversion, and the audit row.
 */
#ifndef ORCHFS_STORE_INTERNAL_H
#define ORCHFS_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "store/driver.h"
#include "store/store.h"
#include "store/util.h"

#define CONN_CACHE 64

/* The schema name a sidecar database is attached under (map.h: sidecar). */
#define SQL_SIDECAR "orchfs"

struct conn {
	sqlite3 *db;       /* the connection: SQLite's, */
	struct pgconn *pg; /* or PostgreSQL's (store->pg) */
	int64_t last_audit; /* id of the last audit row audit_insert wrote */
	int nested;        /* changes run inside a caller's transaction (store_decide) */
	bool approving;    /* store_decide applies an approved change: its audit rows say so */
	unsigned gen;      /* the store's generation when this connection was opened */
	struct store *st;
	struct conn *next; /* protected by st->lock */
	struct conn *idle_next; /* in st->idle, protected by st->lock */
	struct {
		const char *sql; /* identity: generated SQL strings live as long as the store */
		dbstmt *stmt;
	} cache[CONN_CACHE];
};

/* An UPDATE of some columns only, or the INSERT of a log row that sets some
 * (entity.c): made the first time a save changes exactly those, or a row
 * sets them, kept as long as the store, like the rest. */
struct coll_update {
	uint64_t mask;            /* bit i: column i is set (?i+2, as in update) */
	char *sql;
	struct coll_update *next;
};

/* SQL generated once per collection from the mapping (see sql.c). */
struct coll_sql {
	char *get, *exists, *list, *all, *after, *update, *delete;
	char *count;                     /* the number of rows in the collection (its live rows) */
	char *get_lock;                  /* get, locking the row until the transaction ends (PostgreSQL) */
	int64_t fed;                     /* store_feeds: 0 not asked yet; else the schema's version
					  * it was asked at, times 4, + 1 (yes) or 2 (no) */
	struct coll_update *narrow;      /* protected by store.lock; freed by sql_release */
	char *exists_any;                /* the key is taken, in .trash/ or not */
	char *trash_list, *trash_get, *trash, *restore, *purge; /* soft deletes (.trash/), or NULL */
	char **view_values, **view_list; /* per view */
	char **view_has;                 /* per view: is there a row with this value (one row at most) */
	char **rel_list, **rel_link, **rel_unlink; /* per relation */
	char **rel_release;              /* per relation: unlink a target from whoever has it */
	char **rel_reverse;              /* per relation: who links to a target */
	char **log_rows;                 /* per log */
	char **log_after;                /* per log: rows after an id, the id last */
	char **log_search;               /* per log: rows matching an FTS query, or NULL */
	struct coll_update **log_insert; /* per log: a row's INSERT per set of columns (entity.c);
					  * protected by store.lock, freed by sql_release */
	char **blob_list, **blob_get;    /* per blobs: names of an entity's files, one file's bytes */
	char *table_q;                   /* quoted table name */
	char *alloc_get, *alloc_put;     /* the key counter: last number (?1 name), set it (?1 name, ?2 n) */
	const char *alloc_name;          /* ?1 for them */
};

/* Which file a path named: device and inode (set false: none); size and
 * mtime tell a file still being written. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool set;
};

struct store {
	char *path;           /* the database file, or the PostgreSQL database's URL without password */
	bool pg;              /* PostgreSQL (pg.c): none of the file's business below applies */
	char *url;            /* the PostgreSQL database's URL, password and all */
	struct pgconn *listen; /* LISTENing for the change feed's notifications; under move_lock */
	int64_t notified;     /* notifications received (store_data_version); under move_lock */
	char *kind; /* migration set, or NULL */
	unsigned flags;
	const struct map_database *db;
	struct coll_sql *sql; /* indexed by map_collection.index */
	char *audit_insert;   /* or NULL */
	char *changes_max, *changes_stamp, *changes_list, *changes_last; /* or NULL: the change feed */
	char *rewrites;       /* the rewrite count of a table (0008_rewrites), or NULL */
	char *audit_q;        /* the audit table, quoted (and qualified), or NULL */
	char *approval_insert, *approval_get, *approval_close; /* or NULL */
	char *sidecar;        /* path of the sidecar database, or NULL (map.h) */
	bool sidecar_made;    /* store_open created it: removed again if the open fails */
	struct file_id sidecar_file; /* the sidecar file made or found at open (dev, ino) */
	bool sidecar_gone_logged;    /* its removal was logged (db.c) */
	char *conn_setup;     /* TEMP views and feed triggers for each connection, or NULL (sql.c) */
	bool checked;         /* the file matched the mapping: connections run conn_setup */
	pthread_key_t key;
	pthread_mutex_t lock;
	struct conn *conns;   /* protected by lock */
	struct conn *idle;    /* held by no thread (store_thread_idle), most recently used first; protected by lock */
	char *import_sql;     /* store_import_row's last INSERT, and its statement */
	dbstmt *import_stmt;
	struct audit_pending *pending; /* refusals not yet written (busy); protected by lock */
	bool auditor_running; /* protected by lock */
	bool auditor_stop;    /* protected by lock */
	pthread_t auditor;
	/* The file under the path (db.c): which one is served, and since when. */
	pthread_mutex_t move_lock;
	sqlite3 *anchor;      /* the store's own connection on the file served, or NULL; protected by move_lock */
	struct file_id file, wal, shm; /* what the anchor opened; protected by move_lock */
	unsigned gen;         /* bumped when the served file is let go; written under move_lock, read atomically */
	int gone;             /* 0, or -ENOENT while no usable database is at path; likewise */
	bool moving;          /* the path changed but the old file cannot be let go yet; protected by move_lock */
	int64_t checked_ms;   /* when the path was last looked at (monotonic); atomic */
	char *gone_why;       /* why gone, one line; protected by lock */
	sqlite3 *vdb;         /* keeps the WAL index mapped for store_version (version.c) */
	const volatile uint32_t *vhdr; /* the WAL index header, once vstate is 1 */
	int vstate;           /* 0 not looked at, 1 ready, -1 no WAL index; set under lock */
	unsigned vgen;        /* the generation (gen) the WAL index was mapped for; set under lock */
	struct version_retired {
		sqlite3 *db;
		struct version_retired *next;
	} *vretired;          /* mappings of files replaced since, kept until store_free; under lock */
	struct trash_note {   /* entities this daemon moved to .trash/ lately (trash.c); under lock */
		const struct map_collection *c;
		char *key;
		pid_t pid;        /* by this process */
		int64_t at_ms;    /* monotonic */
		unsigned seq;     /* the newest note wins */
		cJSON *before;    /* the document as it was */
		cJSON *trashed;   /* and as .trash/ showed it then */
	} trashed[8];
	unsigned ntrashed;    /* notes written so far */
};

/* --- db.c: connections and statements --- */
/* store_check_mapping - does the file on db hold every table and column the
 * mapping names (every generated statement prepares)? -EINVAL with *cause. */
int store_check_mapping(store *st, struct conn *cn, char **cause);
/* conn_get - this thread's connection, opened on first use, or reopened
 * when the file at the store's path changed since (see db.c). -ENOENT while
 * no usable database is at the path (store_conn_cause says why). */
int conn_get(store *st, struct conn **out);
/* db_glance - what conn_get does on its way in, also for a call that may
 * need no connection (a cache's version): look at the path (db_look) if
 * CHECK_MS passed since the last look and this thread's connection cn (or
 * none) is between calls. 0, or db_look's error. */
int db_glance(store *st, struct conn *cn);
/* conn_stmt - the cached statement for sql (a generated string), reset and
 * with bindings cleared; NULL on error (conn_errmsg tells). */
dbstmt *conn_stmt(struct conn *cn, const char *sql);
/* db_prepare - a statement of its own (SQLite result code); db_finalize
 * frees it (NULL is fine). */
int db_prepare(struct conn *cn, const char *sql, dbstmt **out);
void db_finalize(dbstmt *s);
int conn_exec(struct conn *cn, const char *sql);
/* The last statement's result code and message, and rows it changed. */
int conn_errcode(struct conn *cn);
const char *conn_errmsg(struct conn *cn);
int64_t conn_changes(struct conn *cn);
/* conn_begin, conn_commit - SQLite result codes. A write transaction only
 * begins on the file at the path (SQLITE_CANTOPEN when there is none), and a
 * commit whose file left the path meanwhile is SQLITE_READONLY_DBMOVED:
 * committed, but not to the database the path names. */
int conn_begin(struct conn *cn, bool write);
int conn_commit(struct conn *cn);
/* conn_begin's answer while the old file cannot be let go yet (EAGAIN) */
#define CONN_MOVING SQLITE_BUSY_RECOVERY
void conn_rollback(struct conn *cn);
/* conn_in_transaction - is a transaction open on cn? */
bool conn_in_transaction(struct conn *cn);
/* store_errno - negative errno for a SQLite result code */
int store_errno(int sqlite_rc);
/* store_cause - set *cause (if cause) to a formatted message, return err */
int store_cause(char **cause, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* store_sqlerr - errno and cause for the connection's last error (or rc) */
int store_sqlerr(struct conn *cn, int rc, char **cause);
/* store_readerr - store_errno of a read, whose caller has no cause to give;
 * an error that is nobody's input (EIO: the file no longer holds what the
 * mapping says, e.g. a column a tool renamed while mounted) goes to the
 * daemon's log with SQLite's message, at most once a second for the same one. */
int store_readerr(struct conn *cn, int rc);
/* store_sidecar_check - 0, or -ENOENT with *cause when the sidecar file the
 * store opened is no longer at its path (removed or replaced while mounted):
 * a change would be audited into a file nobody can see. One stat. */
int store_sidecar_check(store *st, char **cause);
/* store_conn_cause - errno and cause for conn_get's failure err */
int store_conn_cause(store *st, int err, char **cause);
/* sql_quote - "name" with embedded quotes doubled, appended to sb */
void sql_quote(struct strbuf *sb, const char *name);

/* --- sql.c --- */
void sql_build(store *st);
void sql_release(store *st);

/* --- version.c --- */
void version_release(store *st);

/* --- value.c: SQLite values <-> JSON values --- */
/* value_read - column i of s as the JSON value col says (NULL -> null);
 * timestamps as col->time stores them. */
cJSON *value_read(const struct map_column *col, dbstmt *s, int i, bool secrets);
/* value_bind - bind v (null, or a value value_check accepted) as col stores it. */
int value_bind(const struct map_column *col, const cJSON *v, dbstmt *s, int i);
/* value_check - is v acceptable for col? On success *norm is the value to keep
 * (timestamps normalised), owned by the caller. */
int value_check(const struct map_column *col, const cJSON *v, cJSON **norm, char **cause);
/* value_now - the current time as col's database stores it, bound at i. */
void value_bind_now(enum map_time time, int64_t ms, dbstmt *s, int i);
/* value_mask - "****" plus the last four characters of s (caller frees) */
char *value_mask(const char *s);
/* json_merge_patch - RFC 7396: apply patch to target (consumed); returns the
 * result. A member keeps its place, one added goes last; a name given twice
 * changes its first member. n log n in the objects' members. */
cJSON *json_merge_patch(cJSON *target, const cJSON *patch);

/* --- entity.c --- */
/* entity_bind_key - bind key at i as c's key column stores it. */
void entity_bind_key(const struct map_collection *c, dbstmt *s, int i, const char *key);
/* entity_walk - fn for the first column of every row of sql (?1 = param, if any). */
int entity_walk(store *st, const char *sql, const char *param, store_key_fn fn, void *arg);
/* entity_load - the document of key in c, on cn (inside the caller's transaction). */
int entity_load(struct conn *cn, const struct map_collection *c, const char *key, bool secrets, cJSON **doc);
/* entity_load_locked - the same, for a change: on PostgreSQL the row stays
 * locked until cn's transaction ends, so no writer outside orchfs (which
 * does not take orchfs's write lock) changes it between this read and the
 * change (on SQLite the write lock already excludes every writer). A failure
 * but -ENOENT (a lock waited for past the timeout: -EAGAIN) sets *cause. */
int entity_load_locked(struct conn *cn, const struct map_collection *c, const char *key, bool secrets, cJSON **doc,
		       char **cause);
/* entity_load_sql - the same through sql, a SELECT of c's columns by key (?1):
 * the trash's, say. -ENOENT when it returns no row. */
int entity_load_sql(struct conn *cn, const struct map_collection *c, const char *sql, const char *key, bool secrets,
		    cJSON **doc);
/* entity_preview - what key's document would be after patch, validated (masked). */
int entity_preview(struct conn *cn, const struct map_collection *c, const char *key, const cJSON *patch,
		   cJSON **after, char **cause);
/* entity_last_writer - who made key's last change, from the change feed, into
 * buf: " by vim[123]", " by another writer" (outside orchfs), or "". */
void entity_last_writer(struct conn *cn, const struct map_collection *c, const char *key, char *buf, size_t size);
/* entity_task - the task key the document names for the audit, or NULL (borrowed). */
const char *entity_task(const struct map_collection *c, const char *key, const cJSON *doc);

/* --- audit.c --- */
struct audit_row {
	const struct store_actor *who;
	const struct map_collection *c;
	const char *key;
	const char *status;    /* success, failure, denied, ... */
	const char *result;    /* one line, or NULL */
	const cJSON *arguments;
	const cJSON *before;   /* masked */
	const cJSON *after;    /* masked */
	const char *task;
	int64_t start_ms;
	int64_t changes_from; /* the feed's last seq before this change */
	int user_approval;    /* 1 approved, 0 rejected, for those statuses */
	double duration_ms;   /* as reported (an agent's own call), or 0: measured from start_ms */
};

/* --- trash.c --- */
/* trash_run - run sql (c's restore or purge) for key on cn; a SQLite result code. */
int trash_run(struct conn *cn, const struct map_collection *c, const char *sql, const char *key);
/* trash_load - key's document in c's .trash/ (secrets masked); -ENOENT if not there. */
int trash_load(struct conn *cn, const struct map_collection *c, const char *key, cJSON **doc);
/* How long after a process moved an entity to .trash/ a create of the same
 * name by the same process is taken as that process's save (trash_recent). */
#define TRASH_RESAVE_MS 10000
/* trash_note - who moved c/key to .trash/, its document before and as
 * .trash/ showed it after (both taken over); trash_recent - a copy of the
 * document before (caller frees), if who's process moved it there within
 * TRASH_RESAVE_MS and nothing changed it in .trash/ since (now: what .trash/
 * shows now), else NULL; trash_forget - drop c/key's notes (it left .trash/). */
void trash_note(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		cJSON *before, cJSON *trashed);
cJSON *trash_recent(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		    const cJSON *now);
void trash_forget(store *st, const struct map_collection *c, const char *key);
/* trash_notes_free - forget every note (store_free). */
void trash_notes_free(store *st);

/* --- entity.c: a change, one transaction with its audit row --- */
struct change {
	store *st;
	struct conn *cn;
	struct audit_row row;
	cJSON *before, *after, *args;
	char *keybuf;
	bool nested; /* inside store_decide's transaction: it commits or rolls back */
};
/* change_begin - start a change of c/key by who (c NULL: of no one collection). */
int change_begin(struct change *ch, store *st, const struct map_collection *c, const char *key,
		 const struct store_actor *who, char **cause);
/* change_end - on rc == 0 audit and commit; otherwise roll back and audit the
 * refusal. Returns rc, or the commit's error. */
int change_end(struct change *ch, int rc, char **cause);
/* audit_insert - write the audit row on cn, inside the caller's transaction. */
int audit_insert(struct conn *cn, const struct audit_row *row);
/* audit_refusal - write a failure row in a transaction of its own; when the
 * database is busy (or busy says the refusal was that), queue it for a
 * background thread that writes it as soon as the lock is free, so no
 * refusal goes unrecorded and none waits twice. */
void audit_refusal(store *st, const struct audit_row *row, bool busy);
/* audit_drain - stop the background writer and write what is queued (store_free). */
void audit_drain(store *st);

#endif
