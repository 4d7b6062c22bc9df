/*
 * db.c - opening a store, per-thread connections, cached statements,
 * transactions, and the translation of SQLite result codes to errno.
 *
 * Each thread that touches a store gets its own sqlite3 connection (opened
 * with SQLITE_OPEN_NOMUTEX: a connection is never shared between threads),
 * found through a pthread key. SQLite's WAL lets readers run in parallel
 * with one writer; writers take the write lock up front (BEGIN IMMEDIATE)
 * so a transaction never fails half-way on a lock upgrade, and wait up to
 * the busy timeout before the caller sees -EAGAIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"

#define BUSY_TIMEOUT_MS 5000

int store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
			return -EEXIST;
		return -EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EAGAIN;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_TOOBIG:
		return -EFBIG;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int store_cause(char **cause, int err, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (!cause || *cause)
		return err;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	*cause = s;
	return err;
}

int store_sqlerr(struct conn *cn, int rc, char **cause)
{
	int err = store_errno(rc);
	const char *msg = sqlite3_errmsg(cn->db);

	if (err == -EAGAIN)
		return store_cause(cause, err, "database is busy (waited %d ms): %s", BUSY_TIMEOUT_MS, msg);
	return store_cause(cause, err ? err : -EIO, "%s", msg);
}

void sql_quote(struct strbuf *sb, const char *name)
{
	strbuf_addch(sb, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *p);
	}
	strbuf_addch(sb, '"');
}

static void conn_close(struct conn *cn)
{
	for (size_t i = 0; i < CONN_CACHE; i++)
		sqlite3_finalize(cn->cache[i].stmt);
	sqlite3_close_v2(cn->db);
	free(cn);
}

/* Thread exit: close this thread's connection. */
static void conn_destroy(void *p)
{
	struct conn *cn = p, **pp;
	store *st = cn->st;

	pthread_mutex_lock(&st->lock);
	for (pp = &st->conns; *pp; pp = &(*pp)->next)
		if (*pp == cn) {
			*pp = cn->next;
			break;
		}
	pthread_mutex_unlock(&st->lock);
	conn_close(cn);
}

static int conn_open(store *st, bool create, sqlite3 **out)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
	sqlite3 *db = NULL;
	int rc;

	flags |= (st->flags & STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(st->path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close_v2(db);
		return rc;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close_v2(db);
		return rc;
	}
	*out = db;
	return SQLITE_OK;
}

int conn_get(store *st, struct conn **out)
{
	struct conn *cn = pthread_getspecific(st->key);
	int rc;

	if (cn) {
		*out = cn;
		return 0;
	}
	pthread_mutex_lock(&st->lock);
	if ((cn = st->idle))
		st->idle = cn->idle_next;
	pthread_mutex_unlock(&st->lock);
	if (cn) {
		pthread_setspecific(st->key, cn);
		*out = cn;
		return 0;
	}
	cn = xcalloc(1, sizeof(*cn));
	cn->st = st;
	rc = conn_open(st, false, &cn->db);
	if (rc != SQLITE_OK) {
		free(cn);
		return store_errno(rc);
	}
	pthread_mutex_lock(&st->lock);
	cn->next = st->conns;
	st->conns = cn;
	pthread_mutex_unlock(&st->lock);
	pthread_setspecific(st->key, cn);
	*out = cn;
	return 0;
}

/*
 * A thread done with the store (a request answered) hands its connection to
 * the next thread that needs one: the most recently used connection is the
 * one whose page cache is warm, and SQLite drops a connection's whole page
 * cache whenever another connection has committed. Requests of one client
 * land on a different FUSE thread each time; with a connection per thread,
 * each save re-read ~30 pages.
 */
void store_thread_idle(store *st)
{
	struct conn *cn = pthread_getspecific(st->key);

	if (!cn || cn->nested || !sqlite3_get_autocommit(cn->db))
		return; /* nothing held, or inside a transaction */
	pthread_setspecific(st->key, NULL);
	pthread_mutex_lock(&st->lock);
	cn->idle_next = st->idle;
	st->idle = cn;
	pthread_mutex_unlock(&st->lock);
}

sqlite3_stmt *conn_stmt(struct conn *cn, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 4) % CONN_CACHE;
	sqlite3_stmt *s;

	for (size_t i = 0; i < CONN_CACHE; i++) {
		size_t j = (h + i) % CONN_CACHE;
		if (cn->cache[j].sql == sql) {
			s = cn->cache[j].stmt;
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return s;
		}
		if (!cn->cache[j].sql) {
			if (sqlite3_prepare_v3(cn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
				return NULL;
			cn->cache[j].sql = sql;
			cn->cache[j].stmt = s;
			return s;
		}
	}
	/* Cache full: should not happen with the statements a mapping makes. */
	if (sqlite3_prepare_v2(cn->db, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_finalize(cn->cache[h].stmt);
	cn->cache[h].sql = sql;
	cn->cache[h].stmt = s;
	return s;
}

int conn_exec(struct conn *cn, const char *sql)
{
	return sqlite3_exec(cn->db, sql, NULL, NULL, NULL);
}

int conn_begin(struct conn *cn, bool write)
{
	return conn_exec(cn, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

int conn_commit(struct conn *cn)
{
	int rc = conn_exec(cn, "COMMIT");

	if (rc != SQLITE_OK && sqlite3_get_autocommit(cn->db) == 0)
		conn_exec(cn, "ROLLBACK");
	return rc;
}

void conn_rollback(struct conn *cn)
{
	if (sqlite3_get_autocommit(cn->db) == 0)
		conn_exec(cn, "ROLLBACK");
}

/* Create the file with mode 0600 before SQLite does, so it is never readable by others. */
static int store_create_file(const char *path, char **cause)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return store_cause(cause, -errno, "cannot create %s: %s", path, strerror(errno));
	fchmod(fd, 0600);
	close(fd);
	return 0;
}

int store_open(const char *path, const struct map_database *db, const char *kind, unsigned flags, store **out,
	       char **cause)
{
	store *st = xcalloc(1, sizeof(*st));
	sqlite3 *sdb = NULL;
	struct stat sb;
	int rc;

	*out = NULL;
	st->path = xstrdup(path);
	st->kind = kind ? xstrdup(kind) : NULL;
	st->flags = flags;
	st->db = db;
	pthread_mutex_init(&st->lock, NULL);
	if (pthread_key_create(&st->key, conn_destroy)) {
		free(st->path);
		free(st->kind);
		free(st);
		return store_cause(cause, -ENOMEM, "cannot create a thread key");
	}
	if (stat(path, &sb) < 0) {
		if (errno != ENOENT || !(flags & STORE_CREATE) || (flags & STORE_READONLY)) {
			rc = store_cause(cause, -errno, "cannot open database %s: %s", path, strerror(errno));
			goto fail;
		}
		if ((rc = store_create_file(path, cause)))
			goto fail;
	} else if (!S_ISREG(sb.st_mode)) {
		rc = store_cause(cause, -EINVAL, "%s is not a database file", path);
		goto fail;
	}

	/* The first connection sets up WAL, which is a property of the file. */
	rc = conn_open(st, false, &sdb);
	if (rc == SQLITE_OK && !(flags & STORE_READONLY))
		rc = sqlite3_exec(sdb, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(sdb, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = store_cause(cause, store_errno(rc), "cannot open database %s: %s", path,
				 sdb ? sqlite3_errmsg(sdb) : sqlite3_errstr(rc));
		sqlite3_close_v2(sdb);
		goto fail;
	}
	sqlite3_close_v2(sdb);
	sql_build(st);
	if (kind && !(flags & (STORE_NO_MIGRATE | STORE_READONLY))) {
		int cur, latest;
		if ((rc = store_migrate_status(st, &cur, &latest)) < 0) {
			store_cause(cause, rc, "cannot read the schema version of %s", path);
			goto fail;
		}
		if (cur < latest && (rc = store_migrate_to(st, latest, cause)) < 0)
			goto fail;
	}
	*out = st;
	return 0;
fail:
	store_free(st);
	return rc;
}

void store_free(store *st)
{
	struct conn *cn, *next;

	if (!st)
		return;
	audit_drain(st);
	version_release(st);
	/* This thread's connection and any left by threads that are gone. */
	pthread_setspecific(st->key, NULL);
	pthread_mutex_lock(&st->lock);
	for (cn = st->conns; cn; cn = next) {
		next = cn->next;
		conn_close(cn);
	}
	st->conns = NULL;
	st->idle = NULL;
	pthread_mutex_unlock(&st->lock);
	pthread_key_delete(st->key);
	pthread_mutex_destroy(&st->lock);
	sql_release(st);
	free(st->path);
	free(st->kind);
	free(st);
}

const struct map_database *store_map(const store *st)
{
	return st->db;
}

const char *store_path(const store *st)
{
	return st->path;
}

bool store_has_changes(const store *st)
{
	return st->changes_list != NULL;
}

bool store_readonly(const store *st)
{
	return st->flags & STORE_READONLY;
}

int store_data_version(store *st, int64_t *out)
{
	static const char sql[] = "PRAGMA data_version";
	struct conn *cn;
	sqlite3_stmt *s;
	int rc;

	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, sql)))
		return store_errno(sqlite3_errcode(cn->db));
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store_errno(rc);
	*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}
