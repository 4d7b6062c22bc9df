/*
 * store.h - the state behind the mount: one database, read and changed as
 * JSON documents through its mapping.
 *
 * A store is one database file (the project's or the user's) together with
 * the map_database that says how its tables look as collections. Callers
 * speak documents (cJSON), keys and field names; the store generates the SQL
 * from the mapping, binds every value (names and keys never reach SQL as
 * text), validates, and runs each change in one transaction together with
 * its audit row. fs/ and the CLI verbs both sit on this interface, and a
 * second backend (PostgreSQL) can sit behind it without them changing.
 *
 * Threads: a store may be used from many threads at once. Each thread gets
 * its own connection on first use (with its own prepared statement cache),
 * or, where threads say when they are idle (store_thread_idle), the most
 * recently used idle one; connections are closed when their thread exits
 * or by store_free().
 *
 * The file: a store serves the database file its path names. When that is
 * renamed over (a backup restored with mv) the store moves to the new file
 * (writes at once, reads within about 10 ms); when it is removed, or the
 * new file cannot be served, calls fail with -ENOENT and a cause naming it,
 * until a usable file is back. Each change is logged on standard error.
 *
 * Errors: functions return 0 (or a count) on success and a negative errno
 * on failure, never a SQLite code: -EINVAL invalid content, -EEXIST key
 * taken, -ENOENT no such entity (or no database file at the path), -ESTALE
 * edit based on an older revision (or the file replaced during the change),
 * -EROFS read-only collection or store, -EFBIG too large, -EAGAIN database
 * busy past the busy timeout, -ENOSPC disk full, -EIO anything else. Where a
 * function takes char **cause, a failure sets it to one line naming the
 * field and the problem (git style, lowercase); the caller frees it.
 *
 * Secrets: columns marked secret never leave the store unmasked unless the
 * caller passes STORE_SECRETS. Audit rows hold masked documents only.
 */
#ifndef ORCHFS_STORE_STORE_H
#define ORCHFS_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "store/map.h"

typedef struct store store;

/* json_equal - are a and b the same JSON value (objects: the same members,
 * in any order)? As cJSON_Compare(a, b, true), NULL equal to nothing, but
 * in time linear in the depth: cJSON_Compare compares each object both
 * ways at every level, twice the work a level, and a save of a value
 * nested thirty deep held the write lock for seconds; and n log n in an
 * object's n members, not n^2. Numbers are equal when they are the same
 * double. */
bool json_equal(const cJSON *a, const cJSON *b);
/* json_same - json_equal, and an absent value (NULL) the same as another */
bool json_same(const cJSON *a, const cJSON *b);
/* json_text - v as compact JSON text (caller frees with cJSON_free), its numbers
 * as json_number writes them: cJSON's own printer writes 15 digits when
 * they read back within an epsilon, so 0.30000000000000004 was stored as
 * 0.3 and 9007199254740991 as 9.00719925474099e+15. */
char *json_text(const cJSON *v);
/* json_parse - the JSON text s (len bytes) as cJSON, strictly: one value as
 * RFC 8259 writes it (json_check), UTF-8, no NUL, numbers within a double;
 * a byte order mark before it is skipped.
 * NULL and *cause (caller frees) on failure, e.g. "invalid JSON at line 2,
 * column 14: a number with a leading zero"; the column counts characters. */
cJSON *json_parse(const char *s, size_t len, char **cause);

/* Who makes a change, for the audit row. Strings are borrowed. */
struct store_actor {
	const char *tool;      /* process name: comm of the pid, or "orchfs" */
	pid_t pid;
	uid_t uid;
	const char *operation; /* write, create, delete, append, link, unlink, ... */
	const char *path;      /* path under the mount, or the CLI command line */
	const char *process;   /* the acting process when it is not the tool, or NULL */
};

/* Largest document or log batch accepted, in bytes (see docs/errors.md). */
#define STORE_MAX_DOCUMENT (8u << 20)

/* --- opening --- */

enum store_flags {
	STORE_READONLY = 1 << 0,  /* refuse every change with -EROFS */
	STORE_CREATE = 1 << 1,    /* create the file (mode 0600) if it does not exist */
	STORE_NO_MIGRATE = 1 << 2 /* do not migrate on open (for `orchfs migrate`) */
};

/*
 * store_open - open the database at path, described by db.
 * kind names the migration set ("project", "user") that is applied on open
 * to bring the file to the latest version (zero-config), or NULL for a file
 * whose schema orchfs does not own. Sets WAL, foreign keys, a busy timeout
 * and synchronous=NORMAL. *out is freed with store_free().
 */
int store_open(const char *path, const struct map_database *db, const char *kind, unsigned flags,
	       store **out, char **cause);
void store_free(store *st);

/* store_is_server - does path name a PostgreSQL server (postgres://...,
 * postgresql://...) rather than a file? store_open takes either. */
bool store_is_server(const char *path);
/* store_libpq_version - the PostgreSQL client library's version (150020: 15.20). */
int store_libpq_version(void);
/* store_display - path as it may be shown: a URL without its password. */
char *store_display(const char *path);

/* store_remove_file - unlink a SQLite database file made by mistake, with its
 * -wal and -shm (a refused copy, a sidecar of a refused mount) */
void store_remove_file(const char *path);

/* store_sidecar_path - where orchfs keeps its own tables beside a tool's
 * database file that it may not alter ("x.db" -> "x.orchfs.db"; map.h). */
char *store_sidecar_path(const char *path);

const struct map_database *store_map(const store *st);
const char *store_path(const store *st);
/* store_sidecar_file - the sidecar's path, or NULL (map.h: sidecar). */
const char *store_sidecar_file(const store *st);
bool store_readonly(const store *st);

/* store_generation - changes whenever the store lets go of the file it
 * served because its path names another file, or none (a database replaced
 * or removed under it): whatever was cached of the old file is stale. */
unsigned store_generation(const store *st);
/* store_look - look now whether the path still names the file served, and
 * let a replaced or removed one go at once (db.c); requests look on their
 * own at most every 10 ms, and only when they come. SQLite only. */
void store_look(store *st);

/* store_data_version - a number that changes whenever any connection (ours or
 * another process's) commits to the file; for cache invalidation. */
int store_data_version(store *st, int64_t *out);
/* store_notify_fd - a descriptor that becomes readable when another
 * process commits (PostgreSQL's notifications), or -1 (SQLite: watch the
 * file); poll it, then ask store_data_version. */
int store_notify_fd(store *st);

/* --- versions, for caches above the store (store/version.c) --- */

/* A state of the database file: two equal versions are the same content. */
struct store_version {
	uint32_t w[12];
	unsigned gen; /* which file (a replaced database is another one) */
};
/* store_version - the version of the file as of now, changed by every commit
 * of any connection in any process; a few memory reads, no system call.
 * -ENOTSUP when the database is not in WAL mode (cache nothing then),
 * -EAGAIN when a commit was writing it too long (rare; do not cache). */
int store_version(store *st, struct store_version *v);
bool store_version_same(const struct store_version *a, const struct store_version *b);
/* store_version_next - is b exactly one commit after a? Read the version just
 * before and just after a change: one apart, the change was the only one. */
bool store_version_next(const struct store_version *a, const struct store_version *b);
/* store_thread_idle - the calling thread will not use st until its next call
 * (a request is answered): its connection goes to the next thread that needs
 * one, most recently used first, so one client's requests keep one warm page
 * cache whatever thread serves them. Without it a thread keeps its own. */
void store_thread_idle(store *st);
/* store_memory_limit - the memory all stores' SQLite connections may keep
 * (page caches, statements) before they recycle instead of growing. */
void store_memory_limit(int64_t bytes);

/* --- reading --- */

enum store_get_flags { STORE_SECRETS = 1 << 0 };

/* store_get - the entity's document: fields in mapping order, JSON columns as
 * JSON, timestamps as ISO 8601, secrets masked unless STORE_SECRETS.
 * *doc is the caller's (cJSON_Delete). -ENOENT if there is no such key. */
int store_get(store *st, const struct map_collection *c, const char *key, unsigned flags, cJSON **doc);

/* store_exists - 1 if the key exists, 0 if not, or a negative errno. */
int store_exists(store *st, const struct map_collection *c, const char *key);
/* store_count - the number of rows of c (not those in .trash/): 0, or a negative errno. */
int store_count(store *st, const struct map_collection *c, int64_t *n);

/* Called once per key or value, in order; a non-zero return stops the walk and
 * is returned by the walker. key is valid only during the call. */
typedef int (*store_key_fn)(void *arg, const char *key);

/* store_list - every key of the collection, in key order, in one query. */
int store_list(store *st, const struct map_collection *c, store_key_fn fn, void *arg);
/* store_view_values - the distinct non-null values of the view's column. */
int store_view_values(store *st, const struct map_collection *c, const struct map_view *v, store_key_fn fn,
		      void *arg);
/* store_view_has - 1 if some entity's view column equals value (compared as
 * text, as store_view_list does), 0 if none, or a negative errno; one
 * indexed row at most, not a walk of the values. */
int store_view_has(store *st, const struct map_collection *c, const struct map_view *v, const char *value);
/* store_view_list - keys whose view column equals value (compared as text). */
int store_view_list(store *st, const struct map_collection *c, const struct map_view *v, const char *value,
		    store_key_fn fn, void *arg);
/* store_related - target keys linked from key through relation r. */
int store_related(store *st, const struct map_collection *c, const struct map_relation *r, const char *key,
		  store_key_fn fn, void *arg);

/* store_blob_list - names of key's files in b, in name order. */
int store_blob_list(store *st, const struct map_collection *c, const struct map_blobs *b, const char *key,
		    store_key_fn fn, void *arg);
/* store_blob_get - the bytes of key's file name in b (*data the caller's,
 * free()); -ENOENT if there is none. */
int store_blob_get(store *st, const struct map_collection *c, const struct map_blobs *b, const char *key,
		   const char *name, char **data, size_t *len);

/* Called once per row with the row's document (borrowed). */
typedef int (*store_row_fn)(void *arg, const cJSON *row);
/* store_log_search - rows of log l, in any entity, matching FTS5 query; each
 * row starts with the owner's key field. -EINVAL (with *cause) for a query
 * FTS5 cannot parse, -ENOENT if the log is not indexed. */
int store_log_search(store *st, const struct map_collection *c, const struct map_log *l, const char *query,
		     store_row_fn fn, void *arg, char **cause);
/* store_docs - every entity's document (secrets masked), in key order, in one
 * query: one consistent snapshot of the collection. */
int store_docs(store *st, const struct map_collection *c, store_row_fn fn, void *arg);
/* store_log_rows - the rows of log l owned by key, oldest first, in one query. */
int store_log_rows(store *st, const struct map_collection *c, const struct map_log *l, const char *key,
		   store_row_fn fn, void *arg);

/* store_log_rows_after - the rows of log l owned by key whose id is above
 * after, oldest first, in one query; *last (if not NULL) gets the id of the
 * last row given to fn (untouched if none). */
int store_log_rows_after(store *st, const struct map_collection *c, const struct map_log *l, const char *key,
			 int64_t after, store_row_fn fn, void *arg, int64_t *last);

/* store_changes - the change feed's rows after seq since, oldest first:
 * {seq, time, collection, key, operation, tool, pid}; tool is null for
 * writers other than orchfs. -ENOENT if the database keeps no feed. */
int store_changes(store *st, int64_t since, store_row_fn fn, void *arg);
/* store_changes_last - the feed's newest seq (0 when empty). */
int store_changes_last(store *st, int64_t *seq);
/* store_has_changes - does the database keep a change feed? */
bool store_has_changes(const store *st);
/* store_rewrites - for a table rows are appended to in key order - the
 * audit log (c its collection) or the change feed (c NULL) - a count that
 * moves whenever a row already written is changed, deleted or replaced, or
 * one is inserted below the newest (0008_rewrites, 0009_replaces): while it
 * stays, the rows above the last one a reader saw are all that changed.
 * -ENOENT where nothing keeps it (PostgreSQL, a tool's own file, a schema
 * before 0008, another collection). */
int store_rewrites(store *st, const struct map_collection *c, int64_t *n);
/* store_feeds - 0 if every change to a row of c, by any writer, is in the
 * change feed as a row naming c and the key, because triggers in the
 * database file write it (an INSERT, an UPDATE and a DELETE trigger on its
 * table); else -ENOENT. Whether a feed row went since is the feed's
 * rewrite count's to tell (store_rewrites, which fails on a schema before
 * 0008: ask it first). Two changes
 * escape even those triggers: a row an INSERT OR REPLACE deletes to make
 * room for another (SQLite runs no DELETE trigger for it), and a key an
 * UPDATE changes (the feed names the new key only); both leave fewer rows
 * than the feed accounts for, which store_count tells. */
int store_feeds(store *st, const struct map_collection *c);

/* --- changing (each call is one transaction with its audit row) --- */

/*
 * store_create - create an entity from doc (a JSON object of fields).
 * key NULL allocates the next key of c->alloc. Read-only fields in doc are
 * ignored (a copied file makes a new entity). *newkey, if not NULL, gets the
 * key (caller frees). -EEXIST if the key is taken.
 */
int store_create(store *st, const struct map_collection *c, const char *key, const cJSON *doc,
		 const struct store_actor *who, char **newkey, char **cause);

/*
 * store_patch - apply a JSON Merge Patch (RFC 7396) to the entity. Unknown
 * fields, wrong types, values outside a field's set and changed read-only
 * fields are -EINVAL; a "revision" older than the row's is -ESTALE. A patch
 * that changes nothing is audited but does not touch the row, and returns
 * STORE_UNCHANGED (> 0) rather than 0.
 */
#define STORE_UNCHANGED 1
int store_patch(store *st, const struct map_collection *c, const char *key, const cJSON *patch,
		const struct store_actor *who, char **cause);

/* store_delete - delete the entity; relations and logs follow the schema's
 * ON DELETE rules; the audit row keeps the whole document. In a collection
 * with soft deletes the row stays, marked, in .trash/ (store_restore). */
int store_delete(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		 char **cause);

/* --- soft deletes (store/trash.c): collections with a soft_delete column --- */

/* store_trash_list - keys of the collection's deleted entities (.trash/). */
int store_trash_list(store *st, const struct map_collection *c, store_key_fn fn, void *arg);
/* store_trash_get - a deleted entity's document; -ENOENT if not in .trash/. */
int store_trash_get(store *st, const struct map_collection *c, const char *key, cJSON **doc);
/* store_restore - bring a deleted entity back into the collection. */
int store_restore(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		  char **cause);
/* store_purge - remove a deleted entity for good (relations follow the schema). */
int store_purge(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		char **cause);

/* store_log_append - append rows (a JSON array of objects) to log l of key. */
int store_log_append(store *st, const struct map_collection *c, const struct map_log *l, const char *key,
		     const cJSON *rows, const struct store_actor *who, char **cause);

/* store_link / store_unlink - add or remove the link key -> target in r.
 * In a unique relation a target linked elsewhere is -EEXIST, unless move:
 * then it is unlinked there and linked here in the same transaction. */
int store_link(store *st, const struct map_collection *c, const struct map_relation *r, const char *key,
	       const char *target, bool move, const struct store_actor *who, char **cause);
int store_unlink(store *st, const struct map_collection *c, const struct map_relation *r, const char *key,
		 const char *target, const struct store_actor *who, char **cause);

/* store_audit_status - 0 if status is one of the audit log's, else -EINVAL
 * and *cause (store_audit_append asks it too) */
int store_audit_status(const char *status, char **cause);
/* store_audit_append - record a tool call in the audit log as an agent
 * reports it (or a decision of `orchfs check`): status one of the audit's
 * values, result and args may be NULL; orchfs stamps time, pid, uid and the
 * process. */
int store_audit_append(store *st, const struct store_actor *who, const char *status, const char *result,
		       const cJSON *args, const char *task, double duration_ms, char **cause);
/* store_is_audit - is c the collection showing the audit log? */
bool store_is_audit(const store *st, const struct map_collection *c);
/* store_docs_after - documents of an integer-keyed collection with keys
 * above after, in key order (follow the audit log). */
int store_docs_after(store *st, const struct map_collection *c, int64_t after, store_row_fn fn, void *arg);

/* store_refused - audit an attempt refused before it reached the store
 * (a read-only place, a bad name); err is the errno given to the caller. */
void store_refused(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		   int err, const char *reason);

/* --- retention (store/prune.c) --- */

/* Called once per pruned log with its name ("agents/ID/logs.jsonl") and the
 * rows deleted (or, dry run, that would be). */
typedef int (*store_prune_fn)(void *arg, const char *log, int64_t rows);
/* store_prune - delete the rows older than before_ms of every log the
 * mapping gives a retention column, each log in one audited transaction;
 * dry_run counts only. */
int store_prune(store *st, int64_t before_ms, bool dry_run, const struct store_actor *who, store_prune_fn fn,
		void *arg, char **cause);

/* --- permissions (store/perm.c) --- */

enum store_permission { STORE_ALLOW = 0, STORE_DENY = 1, STORE_APPROVAL = 2 };
/* store_permit - what the rules say of tool changing path (relative to the
 * mount's root) with args (a JSON object: the fields it sets, or NULL):
 * STORE_ALLOW, STORE_DENY or STORE_APPROVAL with *reason (caller frees), or
 * a negative errno. */
int store_permit(store *st, const char *tool, const char *path, const cJSON *args, char **reason);
/* perm_normalize - path with "//", "./" and "../" folded, no leading '/' (caller frees) */
char *perm_normalize(const char *path);

/* --- approvals (store/approval.c) --- */

/* store_park - record the change who asks for on c/key (payload: the patch or
 * document, or {relation, target}, or {log, rows}), unapplied, for a person to
 * decide; audited as "pending". Returns 0 with *id and a *cause telling the
 * writer where it waits, or a negative errno (an invalid change is refused). */
int store_park(store *st, const struct map_collection *c, const char *key, const cJSON *payload,
	       const struct store_actor *who, int64_t *id, char **cause);
/* store_decide - approve (apply, as the tool that asked) or reject a parked
 * change, in one transaction with its audit row. decider is who decides: its
 * tool names the person or process (decided_by), its pid its process (0:
 * none); the audit row of a refusal is its. reason may be NULL. -ENOENT,
 * -EINVAL if decided already, -EACCES when the decider is the tool that
 * asked, or a process it started; -ESTALE when a write would undo a change
 * made to the entity since it was parked (the approval stays pending). */
int store_decide(store *st, int64_t id, bool approve, const struct store_actor *decider, const char *reason,
		 char **cause);
/* store_is_approvals - is c the collection of parked changes? */
bool store_is_approvals(const store *st, const struct map_collection *c);

/* --- undo (store/undo.c) --- */

/* store_undo - restore the entity the audit row id changed to its document
 * before that change (a deleted entity comes back with its links), as one
 * audited change; -ESTALE when the entity changed again since. */
int store_undo(store *st, int64_t id, const struct store_actor *who, char **cause);

/* --- export and import (store/export.c) --- */

/* Called once per exported line (with its newline); non-zero stops. */
typedef int (*store_line_fn)(void *arg, const char *line, size_t len);
/* store_export - every row of every table as JSON Lines, from one snapshot;
 * secret columns masked unless secrets. Between store_import_begin and
 * store_import_end, the rows the import holds so far, in its transaction
 * (left open): a copy is checked before it is committed. */
int store_export(store *st, bool secrets, store_line_fn fn, void *arg, char **cause);
/* store_import_begin / _row / _clear_feed / _end - load an export into an
 * empty database in one transaction (foreign keys checked at the end). */
int store_import_begin(store *st, char **cause);
int store_import_row(store *st, const char *table, const cJSON *row, char **cause);
int store_import_clear_feed(store *st, char **cause);
int store_import_end(store *st, bool commit, char **cause);

/* --- migrations (store/migrate.c) --- */

/* store_migrate_latest - the newest version the binary has for kind ("project"). */
int store_migrate_latest(const char *kind);
/* store_migrate_status - current and latest version of the store's kind. */
int store_migrate_status(store *st, int *current, int *latest);
/* store_migrate_verify - the file is sound: integrity, foreign keys, the
 * latest schema version, every table and column the mapping names.
 * -EINVAL with *cause naming the first problem. */
int store_migrate_verify(store *st, char **cause);
/* store_migrate_rollback - put back the copy the last migration made first
 * (PATH.bak), after checking it is a sound database. */
int store_migrate_rollback(store *st, char **cause);
/* store_migrate_to - run up or down steps to reach version target, each in
 * one transaction; the file is backed up first (PATH.bak) and restored if a
 * step fails. */
int store_migrate_to(store *st, int target, char **cause);

#endif
