/*
 * internal.h - what the files of store/ share and nobody else sees:
 * the store struct, per-thread connections with their statement caches,
 * the SQL generated from the mapping, value conversion, and the audit row.
 */
#ifndef ORCHFS_STORE_INTERNAL_H
#define ORCHFS_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store/util.h"

#define CONN_CACHE 64

struct conn {
	sqlite3 *db;
	int nested;        /* changes run inside a caller's transaction (store_decide) */
	struct store *st;
	struct conn *next; /* protected by st->lock */
	struct conn *idle_next; /* in st->idle, protected by st->lock */
	struct {
		const char *sql; /* identity: generated SQL strings live as long as the store */
		sqlite3_stmt *stmt;
	} cache[CONN_CACHE];
};

/* SQL generated once per collection from the mapping (see sql.c). */
struct coll_sql {
	char *get, *exists, *list, *all, *after, *update, *delete;
	char **view_values, **view_list; /* per view */
	char **rel_list, **rel_link, **rel_unlink; /* per relation */
	char **rel_release;              /* per relation: unlink a target from whoever has it */
	char **rel_reverse;              /* per relation: who links to a target */
	char **log_rows;                 /* per log */
	char **log_after;                /* per log: rows after an id, the id last */
	char **log_search;               /* per log: rows matching an FTS query, or NULL */
	char *table_q;                   /* quoted table name */
};

struct store {
	char *path;
	char *kind; /* migration set, or NULL */
	unsigned flags;
	const struct map_database *db;
	struct coll_sql *sql; /* indexed by map_collection.index */
	char *audit_insert;   /* or NULL */
	char *changes_max, *changes_stamp, *changes_list, *changes_last; /* or NULL: the change feed */
	pthread_key_t key;
	pthread_mutex_t lock;
	struct conn *conns;   /* protected by lock */
	struct conn *idle;    /* held by no thread (store_thread_idle), most recently used first; protected by lock */
	struct audit_pending *pending; /* refusals not yet written (busy); protected by lock */
	bool auditor_running; /* protected by lock */
	bool auditor_stop;    /* protected by lock */
	pthread_t auditor;
	sqlite3 *vdb;         /* keeps the WAL index mapped for store_version (version.c) */
	const volatile uint32_t *vhdr; /* the WAL index header, once vstate is 1 */
	int vstate;           /* 0 not looked at, 1 ready, -1 no WAL index; set under lock */
};

/* --- db.c: connections and statements --- */
int conn_get(store *st, struct conn **out);
/* conn_stmt - the cached statement for sql (a generated string), reset and
 * with bindings cleared; NULL on error (sqlite3_errmsg tells). */
sqlite3_stmt *conn_stmt(struct conn *cn, const char *sql);
int conn_exec(struct conn *cn, const char *sql);
int conn_begin(struct conn *cn, bool write);
int conn_commit(struct conn *cn);
void conn_rollback(struct conn *cn);
/* store_errno - negative errno for a SQLite result code */
int store_errno(int sqlite_rc);
/* store_cause - set *cause (if cause) to a formatted message, return err */
int store_cause(char **cause, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* store_sqlerr - errno and cause for the connection's last error */
int store_sqlerr(struct conn *cn, int rc, char **cause);
/* sql_quote - "name" with embedded quotes doubled, appended to sb */
void sql_quote(struct strbuf *sb, const char *name);

/* --- sql.c --- */
void sql_build(store *st);
void sql_release(store *st);

/* --- version.c --- */
void version_release(store *st);

/* --- value.c: SQLite values <-> JSON values --- */
/* value_read - column i of s as the JSON value col says (NULL -> null). */
cJSON *value_read(const struct map_column *col, enum map_time time, sqlite3_stmt *s, int i, bool secrets);
/* value_bind - bind v (null, or a value value_check accepted) as col stores it. */
int value_bind(const struct map_column *col, enum map_time time, const cJSON *v, sqlite3_stmt *s, int i);
/* value_check - is v acceptable for col? On success *norm is the value to keep
 * (timestamps normalised), owned by the caller. */
int value_check(const struct map_column *col, const cJSON *v, cJSON **norm, char **cause);
/* value_now - the current time as col's database stores it, bound at i. */
void value_bind_now(enum map_time time, int64_t ms, sqlite3_stmt *s, int i);
/* value_mask - "****" plus the last four characters of s (caller frees) */
char *value_mask(const char *s);
/* json_merge_patch - RFC 7396: apply patch to target (consumed); returns the result */
cJSON *json_merge_patch(cJSON *target, const cJSON *patch);

/* --- entity.c --- */
/* entity_load - the document of key in c, on cn (inside the caller's transaction). */
int entity_load(struct conn *cn, const struct map_collection *c, const char *key, bool secrets, cJSON **doc);
/* entity_preview - what key's document would be after patch, validated (masked). */
int entity_preview(struct conn *cn, const struct map_collection *c, const char *key, const cJSON *patch,
		   cJSON **after, char **cause);
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
/* audit_insert - write the audit row on cn, inside the caller's transaction. */
int audit_insert(struct conn *cn, const struct audit_row *row);
/* audit_refusal - write a failure row in a transaction of its own; when the
 * database is busy, queue it for a background thread that writes it as soon
 * as the lock is free, so no refusal goes unrecorded. */
void audit_refusal(store *st, const struct audit_row *row);
/* audit_drain - stop the background writer and write what is queued (store_free). */
void audit_drain(store *st);

#endif
