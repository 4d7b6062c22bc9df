/*
 * driver.h - the two SQL engines a store runs on, behind one statement API.
 *
 * A store keeps its state in SQLite (a file, embedded: the default) or in
 * PostgreSQL (a server shared by a team, over libpq). The rest of store/
 * prepares, binds, steps and reads columns through the db_* calls below and
 * speaks SQLite's vocabulary whichever engine answers: result codes
 * (SQLITE_ROW, SQLITE_DONE, SQLITE_BUSY, SQLITE_CONSTRAINT_UNIQUE, ...),
 * error texts ("NOT NULL constraint failed: T.C"), value types
 * (SQLITE_INTEGER, SQLITE_TEXT, ...), and ?N parameters. The PostgreSQL
 * driver (store/pg.c) translates: ?N to $N, SQLSTATEs and messages to
 * SQLite's codes and texts, and its values to what SQLite would give -
 * timestamptz as ISO 8601 UTC with milliseconds, bytea as bytes, booleans
 * as 0 and 1, jsonb as JSON text. SQL that differs between the two engines
 * is chosen by the caller (store->pg, sql.c).
 *
 * Statements follow SQLite's life cycle: prepare, bind (1-based), step until
 * SQLITE_DONE, reset (bindings kept) or finalize. A PostgreSQL statement is
 * prepared on the server at db_prepare and runs at its first step, which
 * fetches every row of its result; the others are read from memory. A
 * statement marked with db_stream (a stream's, a log's: rows without bound)
 * fetches one row per step instead (libpq's single-row mode), and until it
 * is done or reset no other statement may run on its connection.
 */
#ifndef ORCHFS_STORE_DRIVER_H
#define ORCHFS_STORE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

struct pgconn;
struct pgstmt;

/* Answered when the PostgreSQL server cannot be reached (store_errno:
 * -EHOSTDOWN); an extended code SQLite itself never returns. */
#define DB_UNREACHABLE (SQLITE_CANTOPEN | (99 << 8))

typedef struct dbstmt {
	sqlite3_stmt *lite; /* one of the two */
	struct pgstmt *pg;
} dbstmt;

/* --- PostgreSQL (pg.c) --- */

/* pg_connect - a connection to url (a libpq URI or key=value string), in
 * UTC, waiting at most timeout_ms for a lock; readonly: every transaction
 * read-only. NULL with *err (caller frees) when the server cannot be reached. */
struct pgconn *pg_connect(const char *url, int timeout_ms, bool readonly, char **err);
void pg_close(struct pgconn *c);
/* pg_closing - the connection is about to close: finalizing its statements
 * need not tell the server. */
void pg_closing(struct pgconn *c);
/* pg_broken - did the connection fail (the server went away)? */
bool pg_broken(struct pgconn *c);
/* pg_reset - connect again after pg_broken; SQLITE_OK or DB_UNREACHABLE. */
int pg_reset(struct pgconn *c);
int pg_exec(struct pgconn *c, const char *sql);
/* pg_commit - COMMIT, or SQLITE_ERROR and ROLLBACK for a transaction a
 * statement of which failed (PostgreSQL would answer ROLLBACK to COMMIT). */
int pg_commit(struct pgconn *c);
int pg_errcode(struct pgconn *c);
const char *pg_errmsg(struct pgconn *c);
int64_t pg_changes(struct pgconn *c);
bool pg_in_transaction(struct pgconn *c);
/* pg_socket / pg_notified - for LISTEN: the socket to poll, and how many
 * notifications arrived since the last call (reading what is there). */
int pg_socket(struct pgconn *c);
int pg_notified(struct pgconn *c);
/* pg_tsquery - an FTS5 query (words, "phrases", prefix*, AND, OR, NOT,
 * parentheses) as to_tsquery's (caller frees); NULL and *err (caller
 * frees) for one FTS5 would not parse. */
char *pg_tsquery(const char *fts5, char **err);
/* pg_version - libpq's version number (PQlibVersion). */
int pg_version(void);
/* pg_display - url without its password: postgres://user@host:port/db
 * (caller frees), for messages, logs and /proc/mounts. */
char *pg_display(const char *url);
/* pg_server - "host:port/dbname" of the connection, for messages. */
const char *pg_server(struct pgconn *c);

/* pg_streaming - is a db_stream statement's result still coming? */
bool pg_streaming(struct pgconn *c);

int pg_prepare(struct pgconn *c, const char *sql, struct pgstmt **out);
void pgstmt_stream(struct pgstmt *s);
int pgstmt_step(struct pgstmt *s);
void pgstmt_reset(struct pgstmt *s);
void pgstmt_clear(struct pgstmt *s);
void pgstmt_finalize(struct pgstmt *s);
int pgstmt_bind_text(struct pgstmt *s, int i, const char *text, int len);
int pgstmt_bind_blob(struct pgstmt *s, int i, const void *data, int len);
int pgstmt_bind_int64(struct pgstmt *s, int i, int64_t v);
int pgstmt_bind_double(struct pgstmt *s, int i, double v);
int pgstmt_bind_null(struct pgstmt *s, int i);
/* pgstmt_param_time - is parameter i (from 1) of s one the server takes as
 * a time (timestamptz, timestamp)? Asks the server once per statement. */
bool pgstmt_param_time(struct pgstmt *s, int i);
int pgstmt_column_count(struct pgstmt *s);
const char *pgstmt_column_name(struct pgstmt *s, int i);
int pgstmt_column_type(struct pgstmt *s, int i);
const unsigned char *pgstmt_column_text(struct pgstmt *s, int i);
const void *pgstmt_column_blob(struct pgstmt *s, int i);
int pgstmt_column_bytes(struct pgstmt *s, int i);
int64_t pgstmt_column_int64(struct pgstmt *s, int i);
double pgstmt_column_double(struct pgstmt *s, int i);

/* --- the statement API: either engine --- */

static inline int db_step(dbstmt *s)
{
	return s->pg ? pgstmt_step(s->pg) : sqlite3_step(s->lite);
}

/* db_stream - s's rows are many: fetch them one per step (PostgreSQL; SQLite
 * always does). Nothing else may run on the connection until s is done. */
static inline void db_stream(dbstmt *s)
{
	if (s->pg)
		pgstmt_stream(s->pg);
}

static inline void db_reset(dbstmt *s)
{
	if (s->pg)
		pgstmt_reset(s->pg);
	else
		sqlite3_reset(s->lite);
}

static inline int db_bind_text(dbstmt *s, int i, const char *text, int len, void (*destroy)(void *))
{
	return s->pg ? pgstmt_bind_text(s->pg, i, text, len) : sqlite3_bind_text(s->lite, i, text, len, destroy);
}

/* data is the statement's from here on (freed with free()). */
static inline int db_bind_blob_free(dbstmt *s, int i, void *data, int len)
{
	int rc;

	if (!s->pg)
		return sqlite3_bind_blob(s->lite, i, data, len, free);
	rc = pgstmt_bind_blob(s->pg, i, data, len);
	free(data);
	return rc;
}

static inline int db_bind_int64(dbstmt *s, int i, int64_t v)
{
	return s->pg ? pgstmt_bind_int64(s->pg, i, v) : sqlite3_bind_int64(s->lite, i, v);
}

static inline int db_bind_double(dbstmt *s, int i, double v)
{
	return s->pg ? pgstmt_bind_double(s->pg, i, v) : sqlite3_bind_double(s->lite, i, v);
}

static inline int db_bind_null(dbstmt *s, int i)
{
	return s->pg ? pgstmt_bind_null(s->pg, i) : sqlite3_bind_null(s->lite, i);
}

/* db_param_time - does parameter i go to a time column that is not text
 * (PostgreSQL's timestamptz)? SQLite keeps what it is given: never. */
static inline bool db_param_time(dbstmt *s, int i)
{
	return s->pg && pgstmt_param_time(s->pg, i);
}

static inline int db_column_count(dbstmt *s)
{
	return s->pg ? pgstmt_column_count(s->pg) : sqlite3_column_count(s->lite);
}

static inline const char *db_column_name(dbstmt *s, int i)
{
	return s->pg ? pgstmt_column_name(s->pg, i) : sqlite3_column_name(s->lite, i);
}

static inline int db_column_type(dbstmt *s, int i)
{
	return s->pg ? pgstmt_column_type(s->pg, i) : sqlite3_column_type(s->lite, i);
}

static inline const unsigned char *db_column_text(dbstmt *s, int i)
{
	return s->pg ? pgstmt_column_text(s->pg, i) : sqlite3_column_text(s->lite, i);
}

static inline const void *db_column_blob(dbstmt *s, int i)
{
	return s->pg ? pgstmt_column_blob(s->pg, i) : sqlite3_column_blob(s->lite, i);
}

static inline int db_column_bytes(dbstmt *s, int i)
{
	return s->pg ? pgstmt_column_bytes(s->pg, i) : sqlite3_column_bytes(s->lite, i);
}

static inline int64_t db_column_int64(dbstmt *s, int i)
{
	return s->pg ? pgstmt_column_int64(s->pg, i) : sqlite3_column_int64(s->lite, i);
}

static inline int db_column_int(dbstmt *s, int i)
{
	return (int)db_column_int64(s, i);
}

static inline double db_column_double(dbstmt *s, int i)
{
	return s->pg ? pgstmt_column_double(s->pg, i) : sqlite3_column_double(s->lite, i);
}

#endif
