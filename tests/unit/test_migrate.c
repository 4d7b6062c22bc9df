/*
 * test_migrate.c - versioned migrations: every step pairs up and down, up
 * then down then up gives the same schema, the file is backed up first and
 * restored when a step fails, and out-of-range targets are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store/embed.h"
#include "store/internal.h"
#include "testdb.h"

#define SCHEMA "SELECT type, name, sql FROM sqlite_schema ORDER BY name"
/* What is left of the schema apart from SQLite's own tables (sqlite_sequence cannot be dropped). */
#define NOT_OURS "SELECT group_concat(name) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"

static struct mapping *m;
static const struct map_database *pdb, *udb;
static const struct store_actor who = { "unit", 1, 0, "create", "test_migrate" };

static int version(store *st)
{
	int cur = -1, latest = -1;

	if (store_migrate_status(st, &cur, &latest))
		return -1;
	return cur;
}

static int latest_of(store *st)
{
	int cur = -1, latest = -1;

	store_migrate_status(st, &cur, &latest);
	return latest;
}

/* 1 if every table the mapping of db names exists in the file. */
static int has_mapped_tables(sqlite3 *raw, const struct map_database *db)
{
	char sql[256];
	int ok = 1;

	for (size_t i = 0; i < db->ncollections; i++) {
		const struct map_collection *c = &db->collections[i];
		const char *names[16];
		size_t n = 0;
		names[n++] = c->table;
		for (size_t j = 0; j < c->nrelations && n < 15; j++)
			names[n++] = c->relations[j].table;
		for (size_t j = 0; j < c->nlogs && n < 15; j++)
			names[n++] = c->logs[j].table;
		for (size_t j = 0; j < n; j++) {
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '%s'",
				 names[j]);
			if (testdb_int(raw, sql) != 1) {
				fprintf(stderr, "missing table %s\n", names[j]);
				ok = 0;
			}
		}
	}
	return ok;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_pairs(void)
{
	const char *kinds[] = { "project", "user", "sidecar" };

	/* Every step has an up and a down file, numbered 1..N without gaps per kind. */
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		size_t klen = strlen(kinds[k]);
		int n = 0, max = 0;
		for (const struct embedded_file *f = embedded_migrations; f->name; f++) {
			const char *base = f->name + klen + 1, *dot;
			char other[256];
			int found = 0;
			if (strncmp(f->name, kinds[k], klen) != 0 || f->name[klen] != '/')
				continue;
			CHECK(strlen(base) > 5 && base[4] == '_');
			dot = strstr(base, ".up.sql");
			if (!dot) {
				CHECK(strstr(base, ".down.sql") && strcmp(strstr(base, ".down.sql"), ".down.sql") == 0);
				continue;
			}
			CHECK_STR(dot, ".up.sql");
			n++;
			if (atoi(base) > max)
				max = atoi(base);
			snprintf(other, sizeof(other), "%.*s.down.sql", (int)(dot - f->name), f->name);
			for (const struct embedded_file *g = embedded_migrations; g->name; g++)
				found |= strcmp(g->name, other) == 0;
			if (!found)
				fprintf(stderr, "no down step for %s\n", f->name);
			CHECK(found);
			CHECK(f->len > 0 && strlen(f->data) == f->len);
		}
		CHECK(n >= 1);
		CHECK_INT(max, n);
	}
	for (const struct embedded_file *f = embedded_migrations; f->name; f++) {
		char other[256];
		const char *dot = strstr(f->name, ".down.sql");
		int found = 0;
		if (!dot)
			continue;
		snprintf(other, sizeof(other), "%.*s.up.sql", (int)(dot - f->name), f->name);
		for (const struct embedded_file *g = embedded_migrations; g->name; g++)
			found |= strcmp(g->name, other) == 0;
		if (!found)
			fprintf(stderr, "no up step for %s\n", f->name);
		CHECK(found);
	}
}

static void test_project(void)
{
	char *path = testdb_path("project.db"), *bak = testdb_path("project.db.bak");
	char *cause = NULL, *s, *schema1, *schema2;
	store *st = NULL;
	sqlite3 *raw, *braw;
	struct stat sb;
	int latest;

	/* A fresh file opened without migrating is at version 0 and empty. */
	CHECK_INT(store_open(path, pdb, "project", STORE_CREATE | STORE_NO_MIGRATE, &st, &cause), 0);
	if (!st) {
		fprintf(stderr, "store_open: %s\n", cause);
		free(cause);
		return;
	}
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	raw = testdb_open(path);
	CHECK_INT(version(st), 0);
	latest = latest_of(st);
	CHECK(latest >= 1);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM sqlite_schema"), 0);

	/* Up to the latest version: every mapped table is there, each step recorded. */
	CHECK_INT(store_migrate_to(st, latest, &cause), 0);
	CHECK(cause == NULL);
	CHECK_INT(version(st), latest);
	CHECK(has_mapped_tables(raw, pdb));
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM sqlite_schema WHERE name = '_orchfs_keys'"), 1);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM _orchfs_migrations"), latest);
	s = testdb_text(raw, "SELECT name FROM _orchfs_migrations WHERE version = 1");
	CHECK_STR(s, "project/0001_init.up.sql");
	free(s);
	schema1 = testdb_dump(raw, SCHEMA);

	/* Migrating to the current version is a no-op: no backup, nothing touched. */
	{
		cJSON *doc = cJSON_Parse("{\"title\":\"kept\"}");
		CHECK_INT(store_create(st, map_collection(pdb, "bugs"), NULL, doc, &who, NULL, &cause), 0);
		cJSON_Delete(doc);
	}
	unlink(bak);
	CHECK_INT(store_migrate_to(st, latest, &cause), 0);
	CHECK(!exists(bak));
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM bugs WHERE title = 'kept'"), 1);

	/* Out-of-range targets are -EINVAL, and change nothing. */
	CHECK_INT(store_migrate_to(st, -1, &cause), -EINVAL);
	CHECK_CONTAINS(cause, "no version -1");
	free(cause);
	cause = NULL;
	CHECK_INT(store_migrate_to(st, latest + 1, &cause), -EINVAL);
	CHECK_CONTAINS(cause, "no version");
	free(cause);
	cause = NULL;
	CHECK_INT(version(st), latest);
	CHECK(!exists(bak));

	/* Down to 0 drops everything but the version table; the data is in PATH.bak. */
	CHECK_INT(store_migrate_to(st, 0, &cause), 0);
	CHECK(cause == NULL);
	CHECK_INT(version(st), 0);
	s = testdb_text(raw, NOT_OURS);
	CHECK_STR(s, "_orchfs_migrations");
	free(s);
	CHECK(testdb_int(raw, "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'") == 0 ||
	      testdb_int(raw, "SELECT count(*) FROM sqlite_sequence") == 0);
	CHECK(exists(bak));
	CHECK(stat(bak, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	braw = testdb_open(bak);
	CHECK_INT(testdb_int(braw, "SELECT count(*) FROM bugs WHERE title = 'kept'"), 1);
	CHECK_INT(testdb_int(braw, "SELECT max(version) FROM _orchfs_migrations"), latest);
	sqlite3_close(braw);

	/* And up again: the same schema as the first time. */
	CHECK_INT(store_migrate_to(st, latest, &cause), 0);
	CHECK(cause == NULL);
	schema2 = testdb_dump(raw, SCHEMA);
	CHECK_STR(schema2, schema1);
	free(schema2);
	CHECK_INT(version(st), latest);

	/* A step that fails leaves the file as it was, restored from PATH.bak. */
	{
		cJSON *doc = cJSON_Parse("{\"title\":\"survivor\"}");
		CHECK_INT(store_create(st, map_collection(pdb, "bugs"), NULL, doc, &who, NULL, &cause), 0);
		cJSON_Delete(doc);
	}
	CHECK_INT(testdb_exec(raw, "DROP TABLE _orchfs_keys"), SQLITE_OK);
	free(schema1);
	schema1 = testdb_dump(raw, SCHEMA);
	CHECK(store_migrate_to(st, 0, &cause) < 0);
	CHECK_CONTAINS(cause, "migration project/0001_init.down.sql failed");
	CHECK_CONTAINS(cause, "restored from");
	free(cause);
	cause = NULL;
	CHECK_INT(version(st), latest);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM bugs WHERE title = 'survivor'"), 1);
	schema2 = testdb_dump(raw, SCHEMA);
	CHECK_STR(schema2, schema1);
	free(schema2);

	/* The same without a cause pointer. */
	CHECK(store_migrate_to(st, 0, NULL) < 0);
	CHECK_INT(version(st), latest);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM bugs WHERE title = 'survivor'"), 1);

	free(schema1);
	sqlite3_close(raw);
	store_free(st);
	free(path);
	free(bak);
}

static void test_foreign(void)
{
	char *path = testdb_path("foreign.db"), *bak = testdb_path("foreign.db.bak"), *cause = NULL, *s;
	store *st = NULL;
	sqlite3 *raw;

	/* A version-0 file that has tables of its own: a failed first step changes nothing. */
	CHECK_INT(store_open(path, pdb, "project", STORE_CREATE | STORE_NO_MIGRATE, &st, &cause), 0);
	if (!st)
		return;
	raw = testdb_open(path);
	CHECK_INT(testdb_exec(raw, "CREATE TABLE tasks (x TEXT); INSERT INTO tasks VALUES ('mine')"), SQLITE_OK);
	CHECK(store_migrate_to(st, latest_of(st), &cause) < 0);
	CHECK_CONTAINS(cause, "tasks");
	free(cause);
	cause = NULL;
	CHECK_INT(version(st), 0);
	s = testdb_text(raw, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema ORDER BY name)");
	CHECK_STR(s, "_orchfs_migrations,tasks");
	free(s);
	s = testdb_text(raw, "SELECT x FROM tasks");
	CHECK_STR(s, "mine");
	free(s);

	/* It already has a schema, so it was backed up before the step. */
	CHECK(exists(bak));

	/* A store whose schema orchfs does not own (a tool's file, described by a
	 * mapping of its own), or a read-only one, cannot migrate. */
	store_free(st);
	st = NULL;
	static const char own[] = "{\"schema\": \"t\", \"databases\": [{\"name\": \"project\", \"dir\": \"\","
				  " \"collections\": [{\"dir\": \"tasks\", \"table\": \"tasks\", \"key\": \"x\","
				  " \"form\": \"file\", \"columns\": [{\"name\": \"x\", \"type\": \"text\"}]}]}]}";
	struct mapping *tm = NULL;
	CHECK_INT(map_load(own, sizeof(own) - 1, &tm, &cause), 0);
	CHECK_INT(store_open(path, tm ? &tm->databases[0] : pdb, NULL, 0, &st, &cause), 0);
	if (st) {
		CHECK_INT(store_migrate_to(st, 1, &cause), -EINVAL);
		CHECK_CONTAINS(cause, "does not own");
		free(cause);
		cause = NULL;
		store_free(st);
		st = NULL;
	}
	map_free(tm);
	/* The native mapping does not describe that file: refused at open, clearly. */
	CHECK_INT(store_open(path, pdb, NULL, 0, &st, &cause), -EINVAL);
	CHECK_CONTAINS(cause, "does not match its mapping");
	free(cause);
	cause = NULL;
	CHECK_INT(store_open(path, pdb, "project", STORE_READONLY, &st, &cause), 0);
	if (st) {
		CHECK_INT(store_migrate_to(st, 1, &cause), -EROFS);
		free(cause);
		cause = NULL;
		CHECK_INT(version(st), 0);
		store_free(st);
	}
	sqlite3_close(raw);
	free(path);
	free(bak);
}

static void test_user(void)
{
	char *path = testdb_path("user.db"), *cause = NULL, *s, *schema1, *schema2;
	const struct map_collection *prov = map_collection(udb, "providers");
	store *st = NULL;
	sqlite3 *raw;
	cJSON *doc;
	int latest;

	/* Opening migrates a fresh user database to the latest version (zero-config). */
	CHECK_INT(store_open(path, udb, "user", STORE_CREATE, &st, &cause), 0);
	if (!st)
		return;
	latest = latest_of(st);
	CHECK(latest >= 1);
	CHECK_INT(version(st), latest);
	raw = testdb_open(path);
	CHECK(has_mapped_tables(raw, udb));
	doc = cJSON_Parse("{\"provider_type\":\"openai\",\"api_key\":\"sk-0123456789\"}");
	CHECK_INT(store_create(st, prov, "p1", doc, &who, NULL, &cause), 0);
	cJSON_Delete(doc);
	store_free(st);

	/* Reopening it is a no-op: the data is still there. */
	st = NULL;
	CHECK_INT(store_open(path, udb, "user", 0, &st, &cause), 0);
	if (!st)
		goto out;
	CHECK_INT(version(st), latest);
	CHECK_INT(store_migrate_to(st, latest, &cause), 0);
	s = testdb_text(raw, "SELECT api_key FROM llm_providers WHERE id = 'p1'");
	CHECK_STR(s, "sk-0123456789");
	free(s);

	/* Down: the data is in the backup; up again: the same schema. */
	schema1 = testdb_dump(raw, SCHEMA);
	CHECK_INT(store_migrate_to(st, 0, &cause), 0);
	s = testdb_text(raw, NOT_OURS);
	CHECK_STR(s, "_orchfs_migrations");
	free(s);
	s = testdb_path("user.db.bak");
	{
		sqlite3 *braw = testdb_open(s);
		CHECK_INT(testdb_int(braw, "SELECT count(*) FROM llm_providers WHERE id = 'p1'"), 1);
		sqlite3_close(braw);
	}
	free(s);
	CHECK_INT(store_migrate_to(st, latest, &cause), 0);
	schema2 = testdb_dump(raw, SCHEMA);
	CHECK_STR(schema2, schema1);
	free(schema1);
	free(schema2);
	store_free(st);
out:
	free(cause);
	sqlite3_close(raw);
	free(path);
}

int main(void)
{
	char *cause = NULL;

	if (map_load_builtin("native", &m, &cause) != 0) {
		fprintf(stderr, "native mapping: %s\n", cause);
		return 1;
	}
	pdb = map_database(m, "project");
	udb = map_database(m, "user");
	test_pairs();
	test_project();
	test_foreign();
	test_user();
	map_free(m);
	return check_done();
}
