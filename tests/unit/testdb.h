/*
 * testdb.h - what the store tests share: a scratch directory under /var/tmp
 * (never $HOME) removed at exit, and a second, plain sqlite3 connection to
 * the same file for looking behind the store's back. Header-only, static.
 */
#ifndef ORCHFS_TESTS_TESTDB_H
#define ORCHFS_TESTS_TESTDB_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

static char testdb_dir[64];

static int testdb_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void testdb_cleanup(void)
{
	if (testdb_dir[0])
		nftw(testdb_dir, testdb_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* testdb_path - NAME inside the scratch directory (made on first use); caller frees. */
static char *testdb_path(const char *name)
{
	char *p;

	if (!testdb_dir[0]) {
		strcpy(testdb_dir, "/var/tmp/orchfs-unit-XXXXXX");
		if (!mkdtemp(testdb_dir)) {
			perror("mkdtemp");
			exit(2);
		}
		atexit(testdb_cleanup);
	}
	if (asprintf(&p, "%s/%s", testdb_dir, name) < 0)
		exit(2);
	return p;
}

/* testdb_open - a plain connection to path, with a busy timeout. */
static sqlite3 *testdb_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot open %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
		exit(2);
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* testdb_exec - run sql; SQLITE_OK or the error code (printed). */
static int testdb_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK)
		fprintf(stderr, "sql: %s: %s\n", sql, err ? err : "?");
	sqlite3_free(err);
	return rc;
}

/* testdb_int - column 0 of the first row as an integer; -999 when there is no row or an error. */
static long long testdb_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	long long v = -999;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "sql: %s: %s\n", sql, sqlite3_errmsg(db));
		return v;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* testdb_text - column 0 of the first row as text (caller frees), or NULL for SQL NULL or no row. */
static char *testdb_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "sql: %s: %s\n", sql, sqlite3_errmsg(db));
		return NULL;
	}
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v;
}

/* testdb_dump - every row of a query, every column quoted, one line per row (caller frees). */
static char *testdb_dump(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "sql: %s: %s\n", sql, sqlite3_errmsg(db));
		fputs("(error)", f);
	}
	while (s && sqlite3_step(s) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			int t = sqlite3_column_type(s, i);
			if (t == SQLITE_NULL)
				fputs("NULL", f);
			else
				fprintf(f, "%d:'%s'", t, (const char *)sqlite3_column_text(s, i));
			fputc(i + 1 < sqlite3_column_count(s) ? '|' : '\n', f);
		}
	}
	sqlite3_finalize(s);
	fclose(f);
	return buf;
}

#endif
