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
 *
 * The file under the path. A connection holds its database open by inode,
 * not by name: after `rm project.db`, or `mv backup.db project.db`, it
 * would go on serving, and taking writes into, a file nobody can see. So
 * the store remembers which file (device, inode) its path named, and looks
 * again: before every write transaction and after every commit (SQLite's
 * SQLITE_FCNTL_HAS_MOVED on the writer's own connection, one stat), before
 * a thread opens its connection, and on the way into any other call at
 * most every CHECK_MS - a clock read, not a system call, on the hot path.
 *
 * When the path names another file, or none, the store leaves the old file
 * as SQLite leaves a database at its last close, which SQLite itself does
 * not do for a moved file (it skips the checkpoint and keeps the -wal when
 * SQLITE_FCNTL_HAS_MOVED says so): the anchor, a connection of the store's
 * own kept open on the served file for this, checkpoints the whole
 * write-ahead log into it (a file renamed aside is complete), and the -wal
 * and -shm it used are unlinked if they are still at the path, so the new
 * file is never paired with the old one's log or shared memory (SQLite's
 * "how to corrupt": a database with a WAL not its own). The generation is
 * then bumped and each thread replaces its connection at its next call, or
 * after the call it is in, never under a statement still running. The new
 * file is opened, checked (a database, at the schema version this binary
 * serves) and served from then on; no file, or one that cannot be served,
 * makes calls fail with -ENOENT and the reason, until a usable file is at
 * the path again. Each change is one line in the log (standard error).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/internal.h"

#define BUSY_TIMEOUT_MS 5000
#define CHECK_MS 10 /* a read may be served from a file replaced this long ago */

int store_errno(int rc)
{
	if (rc == DB_UNREACHABLE)
		return -EHOSTDOWN; /* the PostgreSQL server */
	if (rc == SQLITE_READONLY_DBMOVED)
		return -ESTALE; /* committed to a file no longer at the path: not saved there */
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

static void db_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int store_readerr(struct conn *cn, int rc)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char last[256];
	static int64_t last_ms;
	int err = store_errno(rc);
	const char *msg;
	int64_t now;

	if (err != -EIO)
		return err;
	msg = conn_errmsg(cn);
	now = time_now_ms();
	pthread_mutex_lock(&lock);
	if (strncmp(last, msg, sizeof(last) - 1) != 0 || now - last_ms >= 1000) {
		snprintf(last, sizeof(last), "%s", msg);
		last_ms = now;
		db_log("database %s: %s (reads fail with EIO)", cn->st->path, msg);
	}
	pthread_mutex_unlock(&lock);
	return err;
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
	const char *msg = conn_errmsg(cn);

	if (rc == SQLITE_READONLY_DBMOVED)
		return store_cause(cause, err,
				   "database %s was replaced during this save: the change went to the old file, "
				   "not to the one at that path now; save again",
				   cn->st->path);
	if ((rc == SQLITE_CANTOPEN && __atomic_load_n(&cn->st->gone, __ATOMIC_ACQUIRE)) || rc == CONN_MOVING)
		return store_conn_cause(cn->st, err, cause);
	if (err == -EAGAIN)
		return store_cause(cause, err, "database is busy (waited %d ms): %s", BUSY_TIMEOUT_MS, msg);
	return store_cause(cause, err ? err : -EIO, "%s", msg);
}

int store_conn_cause(store *st, int err, char **cause)
{
	char *why = NULL;

	pthread_mutex_lock(&st->lock);
	if (st->gone_why)
		why = xstrdup(st->gone_why);
	pthread_mutex_unlock(&st->lock);
	if (why && (err == -ENOENT || err == -EAGAIN || err == -EHOSTDOWN))
		err = store_cause(cause, err, "%s", why);
	else
		err = store_cause(cause, err, "cannot open the database %s: %s", st->path, strerror(-err));
	free(why);
	return err;
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

int db_prepare(struct conn *cn, const char *sql, dbstmt **out)
{
	dbstmt *s = xcalloc(1, sizeof(*s));
	int rc = cn->pg ? pg_prepare(cn->pg, sql, &s->pg) : sqlite3_prepare_v2(cn->db, sql, -1, &s->lite, NULL);

	if (rc != SQLITE_OK) {
		db_finalize(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

void db_finalize(dbstmt *s)
{
	if (!s)
		return;
	if (s->pg)
		pgstmt_finalize(s->pg);
	else
		sqlite3_finalize(s->lite);
	free(s);
}

int conn_errcode(struct conn *cn)
{
	return cn->pg ? pg_errcode(cn->pg) : sqlite3_extended_errcode(cn->db);
}

const char *conn_errmsg(struct conn *cn)
{
	return cn->pg ? pg_errmsg(cn->pg) : sqlite3_errmsg(cn->db);
}

int64_t conn_changes(struct conn *cn)
{
	return cn->pg ? pg_changes(cn->pg) : sqlite3_changes(cn->db);
}

bool conn_in_transaction(struct conn *cn)
{
	return cn->pg ? pg_in_transaction(cn->pg) : !sqlite3_get_autocommit(cn->db);
}

static void conn_finalize(struct conn *cn)
{
	for (size_t i = 0; i < CONN_CACHE; i++) {
		db_finalize(cn->cache[i].stmt);
		cn->cache[i].sql = NULL;
		cn->cache[i].stmt = NULL;
	}
}

static void conn_close(struct conn *cn)
{
	if (cn->pg)
		pg_closing(cn->pg);
	conn_finalize(cn);
	if (cn->pg)
		pg_close(cn->pg);
	else
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

/* Attach the sidecar (orchfs's own tables beside a tool's file), as a URI
 * that never creates it (mode=rw): one removed while mounted is not made
 * again empty under the store's connections. Then an empty database in
 * memory stands in for it, so the tool's own tables can still be read;
 * changes are refused (store_sidecar_check) and the audit log and the feed
 * fail to read, until a remount makes a new sidecar. */
static int conn_attach_sidecar(store *st, sqlite3 *db)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf uri = STRBUF_INIT;
	sqlite3_stmt *s;
	int rc;

	strbuf_addstr(&uri, "file:");
	for (const unsigned char *p = (const unsigned char *)st->sidecar; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#') /* what a URI filename gives a meaning */
			strbuf_addf(&uri, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
		else
			strbuf_addch(&uri, (char)*p);
	}
	strbuf_addstr(&uri, (st->flags & STORE_READONLY) ? "?mode=ro" : "?mode=rw");
	rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS " SQL_SIDECAR, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		strbuf_release(&uri);
		return rc;
	}
	sqlite3_bind_text(s, 1, uri.buf, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	strbuf_release(&uri);
	if ((rc & 0xff) == SQLITE_CANTOPEN && st->sidecar_file.set) {
		if (!__atomic_exchange_n(&st->sidecar_gone_logged, true, __ATOMIC_ACQ_REL))
			db_log("the sidecar %s (orchfs's audit log and change feed for %s) was removed while mounted: "
			       "the tool's tables are still read, changes are refused; remount to make a new one",
			       st->sidecar, st->path);
		rc = sqlite3_exec(db, "ATTACH DATABASE ':memory:' AS " SQL_SIDECAR, NULL, NULL, NULL);
		return rc == SQLITE_OK ? SQLITE_OK : rc;
	}
	if (rc != SQLITE_DONE)
		return rc;
	return SQLITE_OK;
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
	/* A "name" is a column, never a string: with SQLite's legacy fallback a
	 * column a tool renamed or dropped while mounted read as its own name. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
	if (rc == SQLITE_OK && st->sidecar)
		rc = conn_attach_sidecar(st, db);
	if (rc == SQLITE_OK && st->conn_setup && st->checked)
		rc = sqlite3_exec(db, st->conn_setup, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close_v2(db);
		return rc;
	}
	*out = db;
	return SQLITE_OK;
}

/* Is the connection between calls: no transaction, no statement running? */
static bool conn_idle(struct conn *cn)
{
	sqlite3_stmt *s = NULL;

	if (cn->nested || conn_in_transaction(cn))
		return false;
	if (cn->pg)
		return !pg_streaming(cn->pg); /* others have all their rows once stepped */
	while ((s = sqlite3_next_stmt(cn->db, s)))
		if (sqlite3_stmt_busy(s))
			return false;
	return true;
}

/* --- the file under the path (see the top of this file) --- */

static int64_t db_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void db_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}

static void db_id(struct file_id *id, const char *path)
{
	struct stat sb;

	memset(id, 0, sizeof(*id));
	if (stat(path, &sb) < 0)
		return;
	id->set = true;
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	id->size = sb.st_size;
	id->mtime = sb.st_mtim;
}

/* The same file? (changed: its contents too, as far as stat tells) */
static bool db_same(const struct file_id *a, const struct file_id *b, bool changed)
{
	if (!a->set || !b->set)
		return a->set == b->set;
	if (a->dev != b->dev || a->ino != b->ino)
		return false;
	return !changed || (a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
			    a->mtime.tv_nsec == b->mtime.tv_nsec);
}

/* Set why the store cannot serve (or NULL); err 0 or -ENOENT. move_lock held. */
static void db_set_gone(store *st, int err, char *why)
{
	pthread_mutex_lock(&st->lock);
	free(st->gone_why);
	st->gone_why = why;
	pthread_mutex_unlock(&st->lock);
	__atomic_store_n(&st->gone, err, __ATOMIC_RELEASE);
}

/*
 * Open the anchor on the file at the path (move_lock held, no anchor) and
 * note what it opened. switching: the file replaced the one served, so it
 * must be at the schema version this binary serves (store_open migrates
 * instead). 0, -EAGAIN when the path changed while opening, or another
 * negative errno with *why (caller frees).
 */
static int db_enter(store *st, bool switching, char **why)
{
	char *walpath = xasprintf("%s-wal", st->path), *shm = xasprintf("%s-shm", st->path);
	struct file_id before, after;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc, cur = 0, latest;
	bool wal = true;

	db_id(&before, st->path);
	if (!before.set) {
		rc = -errno;
		*why = xstrdup(strerror(-rc));
		goto out;
	}
	rc = conn_open(st, false, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	if (rc == SQLITE_OK && switching && st->kind && !(st->flags & (STORE_READONLY | STORE_NO_MIGRATE))) {
		latest = store_migrate_latest(st->kind);
		if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM _orchfs_migrations", -1, &s,
				       NULL) == SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_ROW)
			cur = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
		s = NULL;
		if (cur != latest) {
			*why = xasprintf("schema version %d, and this orchfs serves %d (remount to migrate it)", cur,
					 latest);
			rc = -EINVAL;
			goto out;
		}
	}
	/* WAL is a property of the file: set it unless it is set (which would
	 * be a write), then read again, which opens the -wal and -shm. */
	if (rc == SQLITE_OK && !(st->flags & STORE_READONLY) && st->kind &&
	    (rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL)) == SQLITE_OK) {
		rc = sqlite3_step(s) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(db);
		wal = rc == SQLITE_OK && sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
		sqlite3_finalize(s);
		if (rc == SQLITE_OK && !wal)
			rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		*why = xstrdup(db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		rc = store_errno(rc);
		goto out;
	}
	/* Another file, or this one still being written (a copy onto the path
	 * in progress: not ours, we changed nothing unless we set WAL): not yet. */
	db_id(&after, st->path);
	if (!db_same(&before, &after, switching && wal)) {
		rc = -EAGAIN;
		goto out;
	}
	st->anchor = db;
	db = NULL;
	st->file = before;
	db_id(&st->wal, walpath);
	db_id(&st->shm, shm);
	rc = 0;
out:
	sqlite3_close_v2(db);
	free(walpath);
	free(shm);
	return rc;
}

/*
 * Let the served file go (move_lock held): checkpoint its whole log into it
 * through the anchor, unlink its -wal and -shm where they are still at the
 * path, close the anchor. -EAGAIN, with nothing let go, when a log still at
 * the path could not be emptied (readers of the old file held it past the
 * busy timeout): it must not be paired with the new file.
 */
static int db_leave(store *st, char **why)
{
	char *wal = xasprintf("%s-wal", st->path), *shm = xasprintf("%s-shm", st->path);
	struct file_id w, m;
	struct stat sb;
	int64_t deadline;
	int ck, rc = 0;

	if (!st->anchor)
		goto out;
	/* A checkpoint running on another connection (a writer's automatic one)
	 * makes ours fail at once, without the busy handler: try again. */
	for (deadline = db_clock() + BUSY_TIMEOUT_MS;;) {
		ck = sqlite3_wal_checkpoint_v2(st->anchor, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		if ((ck & 0xff) != SQLITE_BUSY || db_clock() >= deadline)
			break;
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	}
	db_id(&w, wal);
	db_id(&m, shm);
	if (st->wal.set && db_same(&w, &st->wal, false)) {
		if (ck != SQLITE_OK && !(stat(wal, &sb) == 0 && sb.st_size == 0)) {
			if (st->flags & STORE_READONLY)
				*why = xstrdup("a read-only mount cannot checkpoint the old file's log (remount)");
			else
				*why = xasprintf("the old file's log cannot be checkpointed: %s",
						 sqlite3_errmsg(st->anchor));
			rc = -EAGAIN;
			goto out;
		}
		unlink(wal);
	}
	if (st->shm.set && db_same(&m, &st->shm, false))
		unlink(shm);
	sqlite3_close_v2(st->anchor);
	st->anchor = NULL;
	memset(&st->wal, 0, sizeof(st->wal));
	memset(&st->shm, 0, sizeof(st->shm));
out:
	free(wal);
	free(shm);
	return rc;
}

/*
 * Look at the path and follow it (move_lock held): 0 when the store serves
 * the file there (or knows there is none it can serve: st->gone), -EAGAIN
 * while the old file cannot be let go yet.
 */
static int db_look(store *st)
{
	bool gone = st->gone != 0;
	struct file_id now;
	char *why = NULL;
	int rc = 0, tries;

	__atomic_store_n(&st->checked_ms, db_clock(), __ATOMIC_RELAXED);
	db_id(&now, st->path);
	if (!gone && db_same(&now, &st->file, false)) {
		if (st->moving) { /* the path names our file again */
			st->moving = false;
			db_set_gone(st, 0, NULL);
		}
		return 0;
	}
	/* gone: nothing there still, or the same unusable file, unchanged */
	if (gone && (!now.set || db_same(&now, &st->file, true)))
		return 0;
	if (!gone) {
		if ((rc = db_leave(st, &why))) {
			char *msg = xasprintf("database %s was %s, but %s; retrying", st->path,
					      now.set ? "replaced" : "removed", why);
			pthread_mutex_lock(&st->lock);
			if (!st->gone_why || strcmp(st->gone_why, msg) != 0)
				db_log("%s", msg);
			pthread_mutex_unlock(&st->lock);
			db_set_gone(st, 0, msg);
			st->moving = true;
			free(why);
			return rc;
		}
		st->moving = false;
		__atomic_add_fetch(&st->gen, 1, __ATOMIC_ACQ_REL);
	}
	for (tries = 0, rc = -EAGAIN; rc == -EAGAIN && tries < 5; tries++) {
		if (tries)
			nanosleep(&(struct timespec){ 0, 2 * 1000 * 1000 }, NULL);
		free(why);
		why = NULL;
		rc = now.set ? db_enter(st, true, &why) : -ENOENT;
	}
	if (rc == 0) {
		db_log(gone ? "database %s is back: serving it" :
			      "database %s was replaced: serving the file now at that path (the old one was "
			      "checkpointed and let go)",
		       st->path);
		db_set_gone(st, 0, NULL);
	} else {
		char *msg = now.set ? xasprintf("database %s was replaced by a file that cannot be served: %s",
						st->path, why ? why : "it changed while being opened")
				    : xasprintf("database %s was removed", st->path);
		db_id(&st->file, st->path);
		db_log("%s; reads and writes fail with ENOENT until a database is at that path again", msg);
		db_set_gone(st, -ENOENT, msg);
	}
	free(why);
	return 0;
}

/* A connection of the store's (SQLite's db, or PostgreSQL's pg), this thread's from now on. */
static struct conn *conn_new(store *st, sqlite3 *db, struct pgconn *pg)
{
	struct conn *cn = xcalloc(1, sizeof(*cn));

	cn->st = st;
	cn->db = db;
	cn->pg = pg;
	pthread_mutex_lock(&st->lock);
	cn->next = st->conns;
	st->conns = cn;
	pthread_mutex_unlock(&st->lock);
	pthread_setspecific(st->key, cn);
	return cn;
}

/*
 * Give this thread a connection on the file the store serves (move_lock
 * held): *pcn's replaced in place (it must be idle), or a new one. The path
 * is looked at again after opening: a connection is only ever used on the
 * file the store checked.
 */
static int conn_attach(store *st, struct conn **pcn)
{
	struct conn *cn = *pcn;
	struct file_id now;
	sqlite3 *db = NULL;
	int rc, tries;

	for (tries = 0;; tries++) {
		if ((rc = db_look(st)))
			return rc;
		if (st->gone)
			return st->gone;
		if (cn && cn->gen == st->gen)
			return 0;
		if ((rc = conn_open(st, false, &db)) != SQLITE_OK)
			return store_errno(rc);
		db_id(&now, st->path);
		if (db_same(&now, &st->file, false))
			break;
		sqlite3_close_v2(db); /* replaced again while opening: nothing was read */
		if (tries == 3)
			return -EAGAIN;
	}
	if (cn) {
		conn_finalize(cn);
		sqlite3_close_v2(cn->db);
		cn->db = db;
	} else {
		cn = conn_new(st, db, NULL);
		*pcn = cn;
	}
	cn->gen = st->gen;
	return 0;
}

/* Why the server cannot be reached, for store_conn_cause (err from libpq). */
static void conn_pg_gone(store *st, char *err)
{
	pthread_mutex_lock(&st->lock);
	if (!st->gone_why || strcmp(st->gone_why, err) != 0)
		db_log("%s", err);
	free(st->gone_why);
	st->gone_why = err;
	pthread_mutex_unlock(&st->lock);
}

/*
 * PostgreSQL: this thread's connection, or the pool's, or a new one; one
 * whose server went away is connected again between calls. There is no
 * file to follow: the server is the database.
 */
static int conn_get_pg(store *st, struct conn *cn, struct conn **out)
{
	char *err = NULL;

	if (!cn) {
		struct pgconn *pc = pg_connect(st->url, BUSY_TIMEOUT_MS, st->flags & STORE_READONLY, &err);
		if (!pc) {
			conn_pg_gone(st, err);
			return -EHOSTDOWN;
		}
		cn = conn_new(st, NULL, pc);
	} else if (pg_broken(cn->pg) && conn_idle(cn)) {
		if (pg_reset(cn->pg) != SQLITE_OK) {
			conn_pg_gone(st, xstrdup(pg_errmsg(cn->pg)));
			return -EHOSTDOWN;
		}
		db_log("the PostgreSQL server at %s is back", pg_server(cn->pg));
	}
	*out = cn;
	return 0;
}

int conn_get(store *st, struct conn **out)
{
	struct conn *cn = pthread_getspecific(st->key);
	int rc;

	if (!cn) { /* the pool first: the most recently used connection is warm */
		pthread_mutex_lock(&st->lock);
		if ((cn = st->idle))
			st->idle = cn->idle_next;
		pthread_mutex_unlock(&st->lock);
		if (cn)
			pthread_setspecific(st->key, cn);
	}
	if (st->pg)
		return conn_get_pg(st, cn, out);
	if (cn && cn->gen == __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE)) {
		/* The hot path: a clock read; the path is looked at every CHECK_MS,
		 * by one thread, between calls (a switch waits for transactions). */
		if ((rc = db_glance(st, cn)))
			return rc; /* moved, but the old file cannot be let go yet */
		if (cn->gen == __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE)) {
			*out = cn;
			return 0;
		}
	}
	if (cn && !conn_idle(cn)) {
		*out = cn; /* a call inside a call ends on the file the outer one began on */
		return 0;
	}
	pthread_mutex_lock(&st->move_lock);
	rc = conn_attach(st, &cn);
	pthread_mutex_unlock(&st->move_lock);
	if (rc && cn && cn->gen != __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE)) {
		/* no file to move to: let the old one go now */
		pthread_setspecific(st->key, NULL);
		conn_destroy(cn);
	}
	if (rc)
		return rc;
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

	if (!cn || cn->nested || conn_in_transaction(cn))
		return; /* nothing held, or inside a transaction */
	pthread_setspecific(st->key, NULL);
	pthread_mutex_lock(&st->lock);
	cn->idle_next = st->idle;
	st->idle = cn;
	pthread_mutex_unlock(&st->lock);
}

/* A statement to keep: SQLite is told it will be used many times. */
static dbstmt *conn_prepare_kept(struct conn *cn, const char *sql)
{
	dbstmt *s;

	if (cn->pg) {
		db_prepare(cn, sql, &s);
		return s;
	}
	s = xcalloc(1, sizeof(*s));
	if (sqlite3_prepare_v3(cn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->lite, NULL) != SQLITE_OK) {
		db_finalize(s);
		return NULL;
	}
	return s;
}

dbstmt *conn_stmt(struct conn *cn, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 4) % CONN_CACHE;
	dbstmt *s;

	for (size_t i = 0; i < CONN_CACHE; i++) {
		size_t j = (h + i) % CONN_CACHE;
		if (cn->cache[j].sql == sql) {
			s = cn->cache[j].stmt;
			if (s->pg) {
				pgstmt_reset(s->pg);
				pgstmt_clear(s->pg);
			} else {
				sqlite3_reset(s->lite);
				sqlite3_clear_bindings(s->lite);
			}
			return s;
		}
		if (!cn->cache[j].sql) {
			if (!(s = conn_prepare_kept(cn, sql)))
				return NULL;
			cn->cache[j].sql = sql;
			cn->cache[j].stmt = s;
			return s;
		}
	}
	/* Cache full: should not happen with the statements a mapping makes. */
	if (!(s = conn_prepare_kept(cn, sql)))
		return NULL;
	db_finalize(cn->cache[h].stmt);
	cn->cache[h].sql = sql;
	cn->cache[h].stmt = s;
	return s;
}

int conn_exec(struct conn *cn, const char *sql)
{
	return cn->pg ? pg_exec(cn->pg, sql) : sqlite3_exec(cn->db, sql, NULL, NULL, NULL);
}

/* Is cn's file still the one at the path? (a stat; SQLite compares inodes) */
static bool conn_moved(struct conn *cn)
{
	int moved = 0;

	sqlite3_file_control(cn->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved);
	return moved || cn->gen != __atomic_load_n(&cn->st->gen, __ATOMIC_ACQUIRE);
}

/*
 * PostgreSQL: writers take one lock for the whole database, as SQLite's
 * BEGIN IMMEDIATE does, so a change reads and writes with no other change
 * between (a stale edit is always seen) and never fails half-way on a
 * serialization conflict; the wait is lock_timeout (the busy timeout), then
 * SQLITE_BUSY. Readers get one snapshot for the whole transaction. A
 * connection found dead at BEGIN is connected again and BEGIN tried once more.
 */
#define PG_WRITE_LOCK "7310594420066648934" /* "orchfs.w" */
static int conn_begin_pg(struct conn *cn, bool write)
{
	const char *sql = write ? "BEGIN; SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")"
				: "BEGIN ISOLATION LEVEL REPEATABLE READ";
	int rc = pg_exec(cn->pg, sql);

	if (rc == DB_UNREACHABLE && !cn->nested && pg_reset(cn->pg) == SQLITE_OK)
		rc = pg_exec(cn->pg, sql);
	if (rc != SQLITE_OK && pg_in_transaction(cn->pg))
		pg_exec(cn->pg, "ROLLBACK");
	return rc;
}

/* The transaction statements, each prepared once per connection
 * (conn_stmt keys on these arrays' addresses): sqlite3_exec would parse
 * them again for every change. */
static const char sql_begin[] = "BEGIN", sql_begin_write[] = "BEGIN IMMEDIATE", sql_commit[] = "COMMIT",
		  sql_rollback[] = "ROLLBACK";

static int conn_run(struct conn *cn, const char *sql)
{
	dbstmt *s = conn_stmt(cn, sql);
	int rc;

	if (!s)
		return conn_errcode(cn);
	rc = db_step(s);
	db_reset(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int conn_begin(struct conn *cn, bool write)
{
	store *st = cn->st;
	int rc;

	if (cn->pg)
		return conn_begin_pg(cn, write);

	/* Writes only ever go to the file at the path. */
	if (write && !cn->nested && conn_moved(cn)) {
		if (!conn_idle(cn))
			return SQLITE_READONLY_DBMOVED;
		pthread_mutex_lock(&st->move_lock);
		rc = conn_attach(st, &cn);
		pthread_mutex_unlock(&st->move_lock);
		if (rc == -EAGAIN)
			return CONN_MOVING;
		if (rc)
			return SQLITE_CANTOPEN;
	}
	return conn_run(cn, write ? sql_begin_write : sql_begin);
}

int conn_commit(struct conn *cn)
{
	int rc;

	if (cn->pg)
		return pg_commit(cn->pg);
	rc = conn_run(cn, sql_commit);

	if (rc != SQLITE_OK && sqlite3_get_autocommit(cn->db) == 0)
		conn_run(cn, sql_rollback);
	/* Acknowledged only when the file it went to is the one at the path
	 * now: a file renamed over or removed during the transaction is not. */
	if (rc == SQLITE_OK && conn_moved(cn))
		return SQLITE_READONLY_DBMOVED;
	return rc;
}

void conn_rollback(struct conn *cn)
{
	if (!conn_in_transaction(cn))
		return;
	if (cn->pg)
		conn_exec(cn, "ROLLBACK");
	else
		conn_run(cn, sql_rollback);
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

/*
 * A tool's file is described by a mapping orchfs does not control: prepare
 * every generated statement once, so a table or column the file lacks is a
 * clear error at mount time rather than EIO on the first read of it.
 */
static int store_check_sql(store *st, struct conn *db, const struct map_collection *c, const char *sql,
			   char **cause)
{
	dbstmt *s;

	if (!sql)
		return 0;
	if (db_prepare(db, sql, &s) != SQLITE_OK)
		return store_cause(cause, -EINVAL, "%s does not match its mapping: %s/: %s", st->path, c->dir,
				   conn_errmsg(db));
	db_finalize(s);
	return 0;
}

int store_check_mapping(store *st, struct conn *db, char **cause)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < st->db->ncollections; i++) {
		const struct map_collection *c = &st->db->collections[i];
		const struct coll_sql *q = &st->sql[i];
		rc = store_check_sql(st, db, c, q->get, cause) || store_check_sql(st, db, c, c->readonly ? NULL : q->update, cause) ||
		     store_check_sql(st, db, c, q->alloc_get, cause) ? -EINVAL : 0;
		for (size_t k = 0; !rc && k < c->nviews; k++)
			rc = store_check_sql(st, db, c, q->view_list[k], cause);
		for (size_t k = 0; !rc && k < c->nrelations; k++)
			rc = store_check_sql(st, db, c, q->rel_list[k], cause);
		for (size_t k = 0; !rc && k < c->nblobs; k++)
			rc = store_check_sql(st, db, c, q->blob_get[k], cause);
		for (size_t k = 0; !rc && k < c->nlogs; k++)
			rc = store_check_sql(st, db, c, q->log_rows[k], cause) ?: store_check_sql(st, db, c,
												q->log_search[k], cause);
	}
	return rc;
}

/* "DIR/NAME.db" -> "DIR/NAME.orchfs.db" */
char *store_sidecar_path(const char *path)
{
	size_t n = strlen(path);

	if (n > 3 && strcmp(path + n - 3, ".db") == 0)
		n -= 3;
	return xasprintf("%.*s.orchfs.db", (int)n, path);
}

/*
 * A tool's own file gets orchfs's own tables (audit, change feed, approvals,
 * key counters) in a sidecar file beside it, created and migrated here, so
 * the tool's file is never altered. The sidecar is orchfs's: it is created
 * even for a read-only mount, so the audit can be read.
 */
static int store_open_sidecar(store *st, char **cause)
{
	static struct map_database none = { .name = (char *)"sidecar", .dir = (char *)"" };
	struct stat sb;
	store *side;
	int rc;

	st->sidecar = store_sidecar_path(st->path);
	st->sidecar_made = stat(st->sidecar, &sb) < 0 && errno == ENOENT;
	rc = store_open(st->sidecar, &none, "sidecar", STORE_CREATE | (st->flags & STORE_NO_MIGRATE), &side, cause);
	store_free(side);
	if (rc == 0)
		db_id(&st->sidecar_file, st->sidecar);
	return rc;
}

int store_sidecar_check(store *st, char **cause)
{
	struct file_id now;

	if (!st->sidecar || !st->sidecar_file.set)
		return 0;
	db_id(&now, st->sidecar);
	if (db_same(&now, &st->sidecar_file, false))
		return 0;
	return store_cause(cause, -ENOENT,
			   "the sidecar %s (orchfs's audit log and change feed for this file) was %s while mounted: "
			   "changes are refused, none may go unaudited; remount to make a new one",
			   st->sidecar, now.set ? "replaced" : "removed");
}

bool store_is_server(const char *path)
{
	return strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0;
}

int store_libpq_version(void)
{
	return pg_version();
}

char *store_display(const char *path)
{
	return store_is_server(path) ? pg_display(path) : xstrdup(path);
}

/* Bring the schema to the latest version of kind, unless told not to. */
static int store_open_migrate(store *st, char **cause)
{
	int cur, latest, rc;

	if (!st->kind || (st->flags & (STORE_NO_MIGRATE | STORE_READONLY)))
		return 0;
	if ((rc = store_migrate_status(st, &cur, &latest)) < 0)
		return store_cause(cause, rc, "cannot read the schema version of %s", st->path);
	if (cur < latest && (rc = store_migrate_to(st, latest, cause)) < 0)
		return rc;
	return 0;
}

/* (Re)connect the listener of the change feed's channel; move_lock held
 * (not lock: connecting may wait for a server that does not answer). */
static int store_listen(store *st)
{
	char *err = NULL;

	if (st->listen && !pg_broken(st->listen))
		return 0;
	if (st->listen && pg_reset(st->listen) != SQLITE_OK)
		return -EHOSTDOWN;
	if (!st->listen && !(st->listen = pg_connect(st->url, BUSY_TIMEOUT_MS, st->flags & STORE_READONLY, &err))) {
		free(err);
		return -EHOSTDOWN;
	}
	if (pg_exec(st->listen, "LISTEN orchfs_changes") != SQLITE_OK) {
		pg_close(st->listen); /* not listening: connect again next time */
		st->listen = NULL;
		return -EHOSTDOWN;
	}
	st->notified++; /* what was published while nobody listened is not known: look */
	return 0;
}

/*
 * A database on a PostgreSQL server: the native schema only (a tool's own
 * file is SQLite's), migrated like a file; a second connection LISTENs for
 * the change feed's notifications (store_data_version).
 */
static int store_open_pg(store *st, char **cause)
{
	struct conn *cn;
	int rc;

	st->pg = true;
	if (st->db->sidecar)
		return store_cause(cause, -EINVAL, "a tool's own schema (%s) is served from its own file, not from "
				   "PostgreSQL", st->db->name);
	sql_build(st);
	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	pthread_mutex_lock(&st->move_lock);
	rc = store_listen(st);
	pthread_mutex_unlock(&st->move_lock);
	if (rc)
		return store_cause(cause, rc, "cannot listen on the PostgreSQL server at %s", pg_server(cn->pg));
	if (!st->kind && (rc = store_check_mapping(st, cn, cause)))
		return rc;
	st->checked = true;
	return store_open_migrate(st, cause);
}

int store_open(const char *path, const struct map_database *db, const char *kind, unsigned flags, store **out,
	       char **cause)
{
	store *st = xcalloc(1, sizeof(*st));
	char *why = NULL;
	struct stat sb;
	int rc;

	*out = NULL;
	st->path = xstrdup(path);
	st->kind = kind ? xstrdup(kind) : NULL;
	st->flags = flags;
	st->db = db;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->move_lock, NULL);
	if (pthread_key_create(&st->key, conn_destroy)) {
		pthread_mutex_destroy(&st->lock);
		pthread_mutex_destroy(&st->move_lock);
		free(st->path);
		free(st->kind);
		free(st);
		return store_cause(cause, -ENOMEM, "cannot create a thread key");
	}
	if (store_is_server(path)) {
		st->url = st->path;
		st->path = pg_display(path);
		if ((rc = store_open_pg(st, cause)))
			goto fail;
		*out = st;
		return 0;
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

	if (db->sidecar && (rc = store_open_sidecar(st, cause)))
		goto fail;
	sql_build(st);

	/* The first connection sets up WAL, which is a property of the file, and
	 * stays: the anchor (see the top of this file). A tool's own file (no
	 * kind) keeps the journal mode the tool chose. */
	pthread_mutex_lock(&st->move_lock);
	rc = db_enter(st, false, &why);
	pthread_mutex_unlock(&st->move_lock);
	if (rc) {
		rc = store_cause(cause, rc, "cannot open database %s: %s", path,
				 why ? why : "it was replaced while being opened");
		free(why);
		goto fail;
	}
	__atomic_store_n(&st->checked_ms, db_clock(), __ATOMIC_RELAXED);
	if (!kind && st->conn_setup && sqlite3_exec(st->anchor, st->conn_setup, NULL, NULL, NULL) != SQLITE_OK) {
		rc = store_cause(cause, -EINVAL, "%s does not match its mapping: %s", path,
				 sqlite3_errmsg(st->anchor));
		goto fail;
	}
	if (!kind) {
		struct conn anchor = { .db = st->anchor, .st = st };
		if ((rc = store_check_mapping(st, &anchor, cause)))
			goto fail;
	}
	st->checked = true;
	if ((rc = store_open_migrate(st, cause)))
		goto fail;
	*out = st;
	return 0;
fail:
	if (st->sidecar && st->sidecar_made) { /* leave nothing behind beside a file we did not mount */
		char *sidecar = xstrdup(st->sidecar);
		store_free(st);
		store_remove_file(sidecar);
		free(sidecar);
		return rc;
	}
	store_free(st);
	return rc;
}

void store_remove_file(const char *path)
{
	char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);

	unlink(path);
	unlink(wal);
	unlink(shm);
	free(wal);
	free(shm);
}

void store_free(store *st)
{
	struct conn *cn, *next;

	if (!st)
		return;
	audit_drain(st);
	db_finalize(st->import_stmt); /* an import never ended */
	free(st->import_sql);
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
	sqlite3_close_v2(st->anchor); /* the last: it checkpoints and removes the -wal */
	pg_close(st->listen);
	pthread_key_delete(st->key);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->move_lock);
	trash_notes_free(st);
	free(st->gone_why);
	sql_release(st);
	free(st->sidecar);
	free(st->path);
	free(st->url);
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

const char *store_sidecar_file(const store *st)
{
	return st->sidecar;
}

bool store_has_changes(const store *st)
{
	return st->changes_list != NULL;
}

bool store_readonly(const store *st)
{
	return st->flags & STORE_READONLY;
}

void store_look(store *st)
{
	if (st->pg)
		return;
	pthread_mutex_lock(&st->move_lock);
	db_look(st);
	pthread_mutex_unlock(&st->move_lock);
}

int db_glance(store *st, struct conn *cn)
{
	int rc;

	if (st->pg || db_clock() - __atomic_load_n(&st->checked_ms, __ATOMIC_RELAXED) < CHECK_MS ||
	    (cn && !conn_idle(cn)) || pthread_mutex_trylock(&st->move_lock) != 0)
		return 0;
	rc = db_look(st);
	pthread_mutex_unlock(&st->move_lock);
	return rc;
}

unsigned store_generation(const store *st)
{
	return __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE);
}

/* PostgreSQL: every commit that changes the feed is published on the
 * channel (a trigger); the version counts what the listener received. */
static int store_data_version_pg(store *st, int64_t *out)
{
	int rc, n;

	pthread_mutex_lock(&st->move_lock);
	rc = store_listen(st);
	if (!rc && (n = pg_notified(st->listen)) < 0)
		rc = -EHOSTDOWN;
	else if (!rc)
		st->notified += n;
	*out = st->notified;
	pthread_mutex_unlock(&st->move_lock);
	return rc;
}

int store_data_version(store *st, int64_t *out)
{
	static const char sql[] = "PRAGMA data_version";
	struct conn *cn;
	dbstmt *s;
	int rc;

	if (st->pg)
		return store_data_version_pg(st, out);
	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, sql)))
		return store_errno(conn_errcode(cn));
	rc = db_step(s);
	if (rc != SQLITE_ROW)
		return store_errno(rc);
	*out = db_column_int64(s, 0);
	db_reset(s);
	return 0;
}

int store_notify_fd(store *st)
{
	int fd = -1;

	if (!st->pg)
		return -1;
	pthread_mutex_lock(&st->move_lock);
	if (st->listen)
		fd = pg_socket(st->listen);
	pthread_mutex_unlock(&st->move_lock);
	return fd;
}
