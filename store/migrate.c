/*
 * migrate.c - numbered up/down migrations, embedded from migrations/KIND/.
 *
 * The version is kept in _orchfs_migrations (one row per applied step).
 * Each step runs in one transaction with its version row, so a failed step
 * leaves no trace of itself. Before the first step touches a file that
 * already has a schema, the whole database is copied to PATH.bak with
 * SQLite's online backup; if any step fails, the copy is restored, so a run
 * of several steps is all or nothing too.
 *
 * On PostgreSQL a step is the file NNNN_name.DIR.pg.sql where there is one
 * (the dialects differ), else the same file as SQLite's. Its DDL is
 * transactional, so a failed step leaves nothing and no copy is made; a
 * run holds an advisory lock, so two daemons starting together migrate once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "store/embed.h"
#include "store/internal.h"

static const char migrate_table[] = "CREATE TABLE IF NOT EXISTS _orchfs_migrations ("
				    " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
				    " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))";

static const char migrate_table_pg[] = "CREATE TABLE IF NOT EXISTS _orchfs_migrations ("
				       " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
				       " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
#define PG_MIGRATE_LOCK "7310594420066648941" /* "orchfs.m" */

/* The step file of kind with this version and direction ("up"/"down") for
 * SQLite, or PostgreSQL (pg), or NULL. */
static const struct embedded_file *migrate_find_as(const char *kind, int version, const char *dir, bool pg)
{
	size_t klen = strlen(kind);
	char suffix[16];

	snprintf(suffix, sizeof(suffix), pg ? ".%s.pg.sql" : ".%s.sql", dir);
	for (const struct embedded_file *f = embedded_migrations; f->name; f++) {
		const char *base = f->name + klen + 1;
		size_t n;
		if (strncmp(f->name, kind, klen) != 0 || f->name[klen] != '/')
			continue;
		if (atoi(base) != version || (n = strlen(base)) < strlen(suffix) ||
		    strcmp(base + n - strlen(suffix), suffix) != 0)
			continue;
		return f;
	}
	return NULL;
}

static const struct embedded_file *migrate_find(const char *kind, int version, const char *dir, bool pg)
{
	const struct embedded_file *f = pg ? migrate_find_as(kind, version, dir, true) : NULL;

	return f ? f : migrate_find_as(kind, version, dir, false);
}

static int migrate_latest(const char *kind)
{
	int latest = 0;

	while (migrate_find(kind, latest + 1, "up", false))
		latest++;
	return latest;
}

int store_migrate_latest(const char *kind)
{
	return migrate_latest(kind);
}

int store_migrate_status(store *st, int *current, int *latest)
{
	struct conn *cn;
	dbstmt *s = NULL;
	int rc;

	*current = 0;
	*latest = st->kind ? migrate_latest(st->kind) : 0;
	if ((rc = conn_get(st, &cn)))
		return rc;
	rc = db_prepare(cn, "SELECT coalesce(max(version), 0) FROM _orchfs_migrations", &s);
	if (rc != SQLITE_OK) /* No version table: a new file, or one whose schema is not ours. */
		return 0;
	if ((rc = db_step(s)) == SQLITE_ROW)
		*current = db_column_int(s, 0);
	db_finalize(s);
	return rc == SQLITE_ROW ? 0 : store_errno(rc);
}

/* Copy database from into to with the online backup API. */
static int migrate_copy(sqlite3 *from, sqlite3 *to)
{
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	int rc;

	if (!b)
		return sqlite3_errcode(to);
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int migrate_backup(struct conn *cn, const char *bak, bool restore)
{
	sqlite3 *other = NULL;
	int rc;

	if (!restore) {
		FILE *f = fopen(bak, "w");
		if (f)
			fclose(f);
		chmod(bak, 0600);
	}
	rc = sqlite3_open_v2(bak, &other, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = restore ? migrate_copy(other, cn->db) : migrate_copy(cn->db, other);
	sqlite3_close_v2(other);
	return rc;
}

/* Does the file hold anything besides our version table and SQLite's own (sqlite_sequence)? */
static bool migrate_has_schema(struct conn *cn)
{
	static const char sql[] = "SELECT 1 FROM sqlite_schema WHERE name <> '_orchfs_migrations'"
				  " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' LIMIT 1";
	dbstmt *s = NULL;
	bool has = false;

	if (db_prepare(cn, sql, &s) == SQLITE_OK)
		has = db_step(s) == SQLITE_ROW;
	db_finalize(s);
	return has;
}

/* A table's row count, or -1 if there is no such table (any more). */
static int64_t migrate_count(struct conn *cn, const char *table)
{
	struct strbuf q = STRBUF_INIT;
	dbstmt *c = NULL;
	int64_t n = -1;

	strbuf_addstr(&q, "SELECT count(*) FROM ");
	sql_quote(&q, table);
	if (db_prepare(cn, q.buf, &c) == SQLITE_OK && db_step(c) == SQLITE_ROW)
		n = db_column_int64(c, 0);
	db_finalize(c);
	strbuf_release(&q);
	return n;
}

struct migrate_table {
	char *name;
	int64_t rows;
};

/* Every table with its row count (caller frees with migrate_tables_free). */
static struct migrate_table *migrate_tables(struct conn *cn, size_t *n)
{
	struct migrate_table *t = NULL;
	dbstmt *s = NULL;

	*n = 0;
	if (db_prepare(cn, cn->pg ? "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
				  : "SELECT name FROM sqlite_schema WHERE type = 'table'",
		       &s) != SQLITE_OK)
		return NULL;
	while (db_step(s) == SQLITE_ROW) {
		t = xrealloc(t, (*n + 1) * sizeof(*t));
		t[*n].name = xstrdup((const char *)db_column_text(s, 0));
		t[*n].rows = migrate_count(cn, t[*n].name);
		(*n)++;
	}
	db_finalize(s);
	return t;
}

static void migrate_tables_free(struct migrate_table *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].name);
	free(t);
}

/* An up step adds; it never loses rows. NULL, or which table lost rows. */
static char *migrate_lost(struct conn *cn, const struct migrate_table *before, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t now = migrate_count(cn, before[i].name);
		if (now >= 0 && now < before[i].rows)
			return xasprintf("%s lost rows (%lld, now %lld)", before[i].name, (long long)before[i].rows,
					 (long long)now);
	}
	return NULL;
}

static int migrate_step(struct conn *cn, const char *kind, int version, bool up, char **cause)
{
	const struct embedded_file *f = migrate_find(kind, version, up ? "up" : "down", cn->pg != NULL);
	dbstmt *s = NULL;
	struct migrate_table *tables;
	size_t ntables = 0;
	char *err = NULL, *lost = NULL;
	int rc;

	if (!f)
		return store_cause(cause, -ENOENT, "no %s migration %04d for the %s database", up ? "up" : "down",
				   version, kind);
	if ((rc = conn_begin(cn, true)) != SQLITE_OK)
		return store_sqlerr(cn, rc, cause);
	tables = up ? migrate_tables(cn, &ntables) : NULL;
	if (cn->pg) {
		rc = conn_exec(cn, f->data);
	} else {
		char *e = NULL;
		rc = sqlite3_exec(cn->db, f->data, NULL, NULL, &e);
		err = e ? xstrdup(e) : NULL;
		sqlite3_free(e);
	}
	if (rc == SQLITE_OK && up && (lost = migrate_lost(cn, tables, ntables))) { /* verify: no table lost rows */
		err = xstrdup(lost);
		rc = SQLITE_CONSTRAINT;
	}
	migrate_tables_free(tables, ntables);
	free(lost);
	if (rc == SQLITE_OK) {
		rc = db_prepare(cn,
				up ? "INSERT INTO _orchfs_migrations (version, name) VALUES (?1, ?2)"
				   : "DELETE FROM _orchfs_migrations WHERE version = ?1",
				&s);
		if (rc == SQLITE_OK) {
			db_bind_int64(s, 1, version);
			db_bind_text(s, 2, f->name, -1, SQLITE_STATIC);
			rc = db_step(s) == SQLITE_DONE ? SQLITE_OK : conn_errcode(cn);
		}
		db_finalize(s);
	}
	if (rc == SQLITE_OK)
		rc = conn_commit(cn);
	if (rc != SQLITE_OK) {
		store_cause(cause, store_errno(rc) ? store_errno(rc) : -EIO, "migration %s failed: %s", f->name,
			    err ? err : conn_errmsg(cn));
		conn_rollback(cn);
		free(err);
		return store_errno(rc) ? store_errno(rc) : -EIO;
	}
	return 0;
}

/* PostgreSQL: one run at a time across every daemon; each step is all or nothing. */
static int migrate_to_pg(store *st, struct conn *cn, int target, char **cause)
{
	int cur, latest, rc, v;

	if (conn_exec(cn, "SELECT pg_advisory_lock(" PG_MIGRATE_LOCK ")") != SQLITE_OK)
		return store_sqlerr(cn, conn_errcode(cn), cause);
	if (conn_exec(cn, migrate_table_pg) != SQLITE_OK) {
		rc = store_sqlerr(cn, conn_errcode(cn), cause);
		goto out;
	}
	/* another daemon may have migrated while this one waited */
	if ((rc = store_migrate_status(st, &cur, &latest))) {
		store_cause(cause, rc, "cannot read the schema version");
		goto out;
	}
	if (target > latest)
		target = latest;
	for (v = cur; v != target && !rc;) {
		if (target > v)
			rc = migrate_step(cn, st->kind, ++v, true, cause);
		else
			rc = migrate_step(cn, st->kind, v--, false, cause);
	}
out:
	conn_exec(cn, "SELECT pg_advisory_unlock(" PG_MIGRATE_LOCK ")");
	return rc;
}

int store_migrate_to(store *st, int target, char **cause)
{
	struct conn *cn;
	char *bak = NULL;
	int cur, latest, rc, v;

	if (!st->kind)
		return store_cause(cause, -EINVAL, "%s: orchfs does not own this schema", st->path);
	if (st->flags & STORE_READONLY)
		return store_cause(cause, -EROFS, "%s: opened read-only", st->path);
	if ((rc = store_migrate_status(st, &cur, &latest)))
		return store_cause(cause, rc, "cannot read the schema version");
	if (target < 0 || target > latest)
		return store_cause(cause, -EINVAL, "no version %d (versions are 0 to %d)", target, latest);
	if (target == cur)
		return 0;
	if ((rc = conn_get(st, &cn)))
		return store_cause(cause, rc, "cannot open %s", st->path);
	if (cn->pg)
		return migrate_to_pg(st, cn, target, cause);
	if (conn_exec(cn, migrate_table) != SQLITE_OK)
		return store_sqlerr(cn, conn_errcode(cn), cause);
	if (cur > 0 || migrate_has_schema(cn)) {
		bak = xasprintf("%s.bak", st->path);
		if ((rc = migrate_backup(cn, bak, false)) != SQLITE_OK) {
			rc = store_cause(cause, store_errno(rc), "cannot back up %s to %s", st->path, bak);
			goto out;
		}
	}
	for (v = cur; v != target && !rc;) {
		if (target > v)
			rc = migrate_step(cn, st->kind, ++v, true, cause);
		else
			rc = migrate_step(cn, st->kind, v--, false, cause);
	}
	if (rc && bak) {
		if (migrate_backup(cn, bak, true) == SQLITE_OK && cause) {
			char *inner = *cause;
			*cause = xasprintf("%s; %s restored from %s", inner ? inner : "migration failed", st->path,
					   bak);
			free(inner);
		}
	}
out:
	free(bak);
	return rc;
}

int store_migrate_verify(store *st, char **cause)
{
	struct conn *cn;
	dbstmt *s = NULL;
	int rc, cur = 0, latest = 0;

	if ((rc = conn_get(st, &cn)))
		return store_cause(cause, rc, "cannot open %s", st->path);
	if (cn->pg) /* the server keeps its own integrity and foreign keys */
		goto schema;
	if ((rc = db_prepare(cn, "PRAGMA integrity_check", &s)) == SQLITE_OK)
		rc = db_step(s);
	if (rc == SQLITE_ROW)
		rc = strcmp((const char *)db_column_text(s, 0), "ok") == 0
			     ? 0
			     : store_cause(cause, -EINVAL, "integrity: %s", db_column_text(s, 0));
	else
		rc = store_cause(cause, -EINVAL, "integrity: %s", conn_errmsg(cn));
	db_finalize(s);
	s = NULL;
	if (!rc && (rc = db_prepare(cn, "PRAGMA foreign_key_check", &s)) == SQLITE_OK) {
		rc = db_step(s);
		if (rc == SQLITE_ROW)
			rc = store_cause(cause, -EINVAL, "a row of %s points at a missing row of %s",
					 db_column_text(s, 0), db_column_text(s, 2));
		else if (rc == SQLITE_DONE)
			rc = 0;
		else
			rc = store_cause(cause, -EINVAL, "foreign keys: %s", conn_errmsg(cn));
	} else if (rc) {
		rc = store_cause(cause, -EINVAL, "foreign keys: %s", conn_errmsg(cn));
	}
	db_finalize(s);
schema:
	if (!rc && st->kind && !store_migrate_status(st, &cur, &latest) && cur != latest)
		rc = store_cause(cause, -EINVAL, "schema version %d, and this orchfs has %d", cur, latest);
	if (!rc)
		rc = store_check_mapping(st, cn, cause);
	return rc;
}

/* "file:PATH?immutable=1", PATH percent-encoded where a URI needs it */
static char *migrate_uri(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			strbuf_addf(&sb, "%%%02X", (unsigned char)*p);
		else
			strbuf_addch(&sb, *p);
	}
	strbuf_addstr(&sb, "?immutable=1");
	return strbuf_detach(&sb, NULL);
}

int store_migrate_rollback(store *st, char **cause)
{
	char *bak = xasprintf("%s.bak", st->path), *uri = NULL;
	struct conn *cn;
	sqlite3 *b = NULL;
	sqlite3_stmt *s = NULL;
	int rc = 0;

	if (!st->kind)
		rc = store_cause(cause, -EINVAL, "%s: orchfs does not own this schema", st->path);
	else if (st->pg)
		rc = store_cause(cause, -ENOTSUP, "a PostgreSQL database has no copy to roll back to: each step was "
				 "one transaction; use `orchfs migrate down N`");
	else if (st->flags & STORE_READONLY)
		rc = store_cause(cause, -EROFS, "%s: opened read-only", st->path);
	else if (access(bak, R_OK) < 0)
		rc = store_cause(cause, -ENOENT, "no backup %s: nothing to roll back to", bak);
	if (rc)
		goto out;
	/* The backup must be a whole database before it replaces anything; read
	 * as immutable, so no -wal or -shm is made beside it. */
	uri = migrate_uri(bak);
	if (sqlite3_open_v2(uri, &b, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(b, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
		rc = store_cause(cause, -EINVAL, "%s is not a sound database: not restored", bak);
		goto out;
	}
	if ((rc = conn_get(st, &cn))) {
		store_cause(cause, rc, "cannot open %s", st->path);
		goto out;
	}
	if ((rc = migrate_copy(b, cn->db)) != SQLITE_OK)
		rc = store_sqlerr(cn, rc, cause);
out:
	sqlite3_finalize(s);
	sqlite3_close_v2(b);
	free(bak);
	free(uri);
	return rc;
}
