/*
 * test_migrate.c - versioned migrations: every step pairs up and down, up
 * then down then up gives the same schema (and, step by step, the same
 * rows), the file is backed up first and restored when a step fails, and
 * out-of-range targets are refused; metadata's schema_version follows every
 * step; the event log is deduplicated.
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
		bool temp = false;
		for (size_t j = 0; j < db->ntemp_views; j++)
			temp |= strcmp(db->temp_view_names[j], c->table) == 0;
		if (!temp) /* a TEMP view each connection makes is in no file */
			names[n++] = c->table;
		for (size_t j = 0; j < c->nrelations && n < 15; j++)
			names[n++] = c->relations[j].table;
		for (size_t j = 0; j < c->nlogs && n < 15; j++)
			names[n++] = c->logs[j].table;
		for (size_t j = 0; j < n; j++) {
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_schema WHERE type IN ('table', 'view') AND name = '%s'",
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

/* Is f named KIND/NNNN_name.DIR.sql (SQLite, or both) or .DIR.pg.sql (PostgreSQL)? */
static const char *step_suffix(const char *name, const char **suffix)
{
	static const char *const suffixes[] = { ".up.pg.sql", ".down.pg.sql", ".up.sql", ".down.sql" };

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		const char *dot = strstr(name, suffixes[i]);
		if (dot && strcmp(dot, suffixes[i]) == 0) {
			*suffix = suffixes[i];
			return dot;
		}
	}
	return NULL;
}

/* Is there an embedded step named prefix + suffix? */
static int step_exists(const char *prefix, size_t n, const char *suffix)
{
	char other[256];

	snprintf(other, sizeof(other), "%.*s%s", (int)n, prefix, suffix);
	for (const struct embedded_file *g = embedded_migrations; g->name; g++)
		if (strcmp(g->name, other) == 0)
			return 1;
	fprintf(stderr, "no %s for %.*s\n", suffix, (int)n, prefix);
	return 0;
}

static void test_pairs(void)
{
	const char *kinds[] = { "project", "user", "sidecar" };

	/* Every step has an up and a down file, numbered 1..N without gaps per
	 * kind; a PostgreSQL step (.pg.sql) has its pair too, and the SQLite step
	 * of the same number and name (the default for both engines). */
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		size_t klen = strlen(kinds[k]);
		int n = 0, max = 0;
		for (const struct embedded_file *f = embedded_migrations; f->name; f++) {
			const char *base = f->name + klen + 1, *dot, *suffix = NULL;
			if (strncmp(f->name, kinds[k], klen) != 0 || f->name[klen] != '/')
				continue;
			CHECK(strlen(base) > 5 && base[4] == '_');
			CHECK(f->len > 0 && strlen(f->data) == f->len);
			dot = step_suffix(f->name, &suffix);
			CHECK(dot != NULL);
			if (!dot)
				continue;
			if (strcmp(suffix, ".up.sql") == 0) {
				n++;
				if (atoi(base) > max)
					max = atoi(base);
				CHECK(step_exists(f->name, (size_t)(dot - f->name), ".down.sql"));
			} else if (strcmp(suffix, ".down.sql") == 0) {
				CHECK(step_exists(f->name, (size_t)(dot - f->name), ".up.sql"));
			} else if (strcmp(suffix, ".up.pg.sql") == 0) {
				CHECK(step_exists(f->name, (size_t)(dot - f->name), ".down.pg.sql"));
				CHECK(step_exists(f->name, (size_t)(dot - f->name), ".up.sql"));
			} else {
				CHECK(step_exists(f->name, (size_t)(dot - f->name), ".up.pg.sql"));
			}
		}
		CHECK(n >= 1);
		CHECK_INT(max, n);
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

/*
 * Rows for every table a version has, written as other programs write them
 * (plain SQL, defaults and triggers doing the rest): FIXTURE[v] fills what
 * step v added. The round trips below fill the versions before the step.
 */
static const char *const project_fixture[] = {
	NULL,
	/* 1: init */
	"INSERT INTO workflows (id, name, definition) VALUES ('wf', 'Release', '{\"steps\":[1,2]}');"
	"INSERT INTO tasks (id, title, status, workflow_id) VALUES ('TASK-001', 'One', 'running', 'wf'),"
	" ('TASK-002', 'Two', 'planned', NULL);"
	"INSERT INTO task_dependencies (task_id, depends_on) VALUES ('TASK-002', 'TASK-001');"
	"INSERT INTO bugs (id, title, labels) VALUES ('BUG-001', 'Crash', '[\"x\"]');"
	"INSERT INTO task_bugs (task_id, bug_id) VALUES ('TASK-001', 'BUG-001');"
	"INSERT INTO project_rules (id, name, config) VALUES ('r', 'Rule', '{}');"
	"INSERT INTO zones (id, name) VALUES ('z', 'Zone');"
	"INSERT INTO worktrees (id, path, port, task_id) VALUES ('wt', '/w', 3001, 'TASK-001');"
	"INSERT INTO worktree_zones (worktree_id, zone_id) VALUES ('wt', 'z');"
	"INSERT INTO zone_executions (zone_id, worktree_id, success) VALUES ('z', 'wt', 1);"
	"INSERT INTO workflow_tasks (workflow_id, task_id, sequence) VALUES ('wf', 'TASK-002', 2);"
	"INSERT INTO transcripts (task_id, content) VALUES ('TASK-001', 'a token bucket');"
	"INSERT INTO tool_permissions (tool_name, permission_level) VALUES ('rm', 'denied');"
	"INSERT INTO tool_executions (tool_name, operation, status) VALUES ('vim', 'write', 'success');"
	"INSERT INTO _orchfs_keys VALUES ('tasks', 2);"
	"UPDATE bugs SET priority = 1 WHERE id = 'BUG-001';",
	/* 2: changes (the feed fills itself from here on) */
	"UPDATE tasks SET status = 'blocked' WHERE id = 'TASK-002';",
	/* 3: permissions */
	"INSERT INTO approvals (tool_name, operation, path, collection) VALUES ('rm', 'delete', '/bugs/BUG-001.json',"
	" 'bugs');"
	"UPDATE tool_executions SET process = 'vim';",
	/* 4: agents */
	"INSERT INTO orchestrator_agents (id, name, agent_type, capabilities) VALUES ('planner', 'sdlc_planner',"
	" 'planner', '[\"plan\"]');"
	"INSERT INTO agents (id, orchestrator_agent_id, session_id, status) VALUES ('a1', 'planner', 's1',"
	" 'executing');"
	"INSERT INTO agents (id, orchestrator_agent_id, parent_agent_id) VALUES ('a2', 'planner', 'a1');"
	"INSERT INTO prompts (id, agent_id, prompt_type, prompt_text) VALUES ('p1', 'a1', 'adw', 'plan it');"
	"INSERT INTO agent_logs (agent_id, log_type, message) VALUES ('a1', 'state_change', 'started');"
	"INSERT INTO system_logs (log_level, component, message) VALUES ('WARNING', 'websocket', 'slow');"
	"UPDATE prompts SET status = 'completed' WHERE id = 'p1';",
	/* 5: orc */
	"INSERT INTO phases (task_id, phase_id, status, iterations) VALUES ('TASK-001', 'spec', 'completed', 2);"
	"INSERT INTO phase_templates (id, name, gate_type) VALUES ('spec', 'Spec', 'human');"
	"INSERT INTO workflow_runs (id, workflow_id, task_id, status) VALUES ('RUN-001', 'wf', 'TASK-001', 'running');"
	"INSERT INTO workflow_run_phases (workflow_run_id, phase_template_id) VALUES ('RUN-001', 'spec');"
	"INSERT INTO phase_outputs (task_id, workflow_run_id, phase_id, output_var_name, content) VALUES"
	" ('TASK-001', 'RUN-001', 'spec', 'SPEC_CONTENT', '# Spec');"
	"INSERT INTO task_comments (task_id, author, content) VALUES ('TASK-001', 'ann', 'looks right');"
	"INSERT INTO review_comments (task_id, file_path, line_number, content, severity) VALUES"
	" ('TASK-001', 'src/a.c', 3, 'leak', 'blocker');"
	"INSERT INTO gate_decisions (task_id, phase, gate_type, approved) VALUES ('TASK-001', 'spec', 'human', 1);"
	"INSERT INTO event_log (task_id, event_type, phase, timestamp) VALUES ('TASK-001', 'phase_started', 'spec',"
	" '2026-01-01T00:00:00.000Z');"
	"INSERT INTO branches (id, name, type, owner_id) VALUES ('orc-TASK-001', 'orc/TASK-001', 'task', 'TASK-001');"
	"INSERT INTO initiatives (id, title) VALUES ('INIT-001', 'Auth'), ('INIT-002', 'SSO');"
	"INSERT INTO initiative_decisions (initiative_id, decision) VALUES ('INIT-001', 'OIDC');"
	"INSERT INTO initiative_dependencies (initiative_id, depends_on) VALUES ('INIT-002', 'INIT-001');"
	"INSERT INTO initiative_tasks (task_id, initiative_id) VALUES ('TASK-001', 'INIT-001');",
	/* 6: more */
	"INSERT INTO ast_cache (file_path, language, content_hash) VALUES ('src/a.c', 'c', 'h1');"
	"INSERT INTO metadata (key, value) VALUES ('owner', 'team-a');"
	"UPDATE bugs SET deleted_at = '2026-01-02T00:00:00.000Z' WHERE id = 'BUG-001';",
	/* 7: documents */
	"INSERT INTO documents (name, content) VALUES ('readme', '# Hi');"
	"UPDATE documents SET content = 'be kind' WHERE name = 'constitution';"
	"INSERT INTO task_attachments (task_id, filename, data) VALUES ('TASK-001', 'a.png', x'89504e47');"
	"UPDATE zones SET name = 'Dev' WHERE id = 'zone-development';",
	/* 8: rewrites */
	"INSERT INTO tool_executions (tool_name, operation, status) VALUES ('vim', 'write', 'success');"
	"UPDATE tool_executions SET result = 'ok';"
	"DELETE FROM _orchfs_changes WHERE seq = (SELECT min(seq) FROM _orchfs_changes);",
	/* 9: replaces */
	"INSERT OR REPLACE INTO tool_executions (id, tool_name, operation, status) SELECT max(id), 'vim', 'write',"
	" 'failure' FROM tool_executions;",
	/* 10: feed order (PostgreSQL's; nothing in SQLite) */
	"UPDATE bugs SET priority = 2 WHERE id = 'BUG-001';",
	/* 11: requesters */
	"INSERT INTO approvals (tool_name, pid, operation, path, collection, sid, pgid, pid_start) VALUES ('agent', 42,"
	" 'write', '/bugs/BUG-002.json', 'bugs', 40, 42, 123456);",
};

static const char *const user_fixture[] = {
	NULL,
	"INSERT INTO llm_providers (id, api_key) VALUES ('p', 'sk-1');"
	"INSERT INTO prompts (id, template) VALUES ('t', 'hi');"
	"INSERT INTO workflow_templates (id, tags) VALUES ('w', '[\"a\"]');"
	"INSERT INTO tool_executions (tool_name, operation, status) VALUES ('vim', 'write', 'success');",
	"UPDATE prompts SET template = 'hello' WHERE id = 't';",
	"UPDATE tool_executions SET process = 'vim';",
	"INSERT INTO sessions (id, workspace_root) VALUES ('s', '/src');"
	"INSERT INTO budgets (id, name, type, credit_amount) VALUES ('b', 'Credit', 'credit', 50);"
	"INSERT INTO llm_pricing (id, provider, model, cost_per_input_token, cost_per_output_token) VALUES"
	" ('anthropic-sonnet', 'anthropic', 'claude-sonnet', 0.000003, 0.000015);"
	"INSERT INTO usage_logs (budget_id, llm_provider, llm_model, cost_usd) VALUES ('b', 'anthropic',"
	" 'claude-sonnet', 0.25);",
	"UPDATE tool_executions SET result = 'ok';"
	"DELETE FROM _orchfs_changes WHERE seq = (SELECT min(seq) FROM _orchfs_changes);",
	/* 6: replaces */
	"INSERT OR REPLACE INTO tool_executions (id, tool_name, operation, status) SELECT max(id), 'vim', 'write',"
	" 'failure' FROM tool_executions;",
};

/*
 * The whole file as text: sqlite_schema, then every row of every table in a
 * fixed order (the migrations' own table without its applied_at), so two
 * dumps are equal exactly when the schema and the data are. Caller frees.
 */
static char *dump_all(sqlite3 *raw)
{
	char *schema = testdb_dump(raw, SCHEMA), *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	sqlite3_stmt *t = NULL;

	fputs(schema, f);
	free(schema);
	if (sqlite3_prepare_v2(raw, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", -1, &t,
			       NULL) != SQLITE_OK)
		fputs("(error)", f);
	while (t && sqlite3_step(t) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(t, 0);
		char sql[512], *rows;
		sqlite3_stmt *s = NULL;
		int n = 0;

		if (strcmp(name, "_orchfs_migrations") == 0) {
			snprintf(sql, sizeof(sql), "SELECT version, name FROM _orchfs_migrations ORDER BY 1");
		} else {
			snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
			if (sqlite3_prepare_v2(raw, sql, -1, &s, NULL) == SQLITE_OK)
				n = sqlite3_column_count(s);
			sqlite3_finalize(s);
			for (int i = 1; i <= n; i++)
				snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), "%s%d", i == 1 ? " ORDER BY " : ", ",
					 i);
		}
		rows = testdb_dump(raw, sql);
		fprintf(f, "== %s\n%s", name, rows);
		free(rows);
	}
	sqlite3_finalize(t);
	fclose(f);
	return buf;
}

/* The value of metadata's schema_version, or -1 when there is no such view or row. */
static int meta_version(sqlite3 *raw)
{
	sqlite3_stmt *s = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(raw, "SELECT value FROM metadata WHERE key = 'schema_version'", -1, &s, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT)
		v = atoi((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v;
}

/*
 * Step `step` of kind round-trips: on a file at step - 1 holding rows in
 * every table, up then down gives back the same schema and rows, and up
 * again gives the same schema and rows as the first up.
 */
static void roundtrip(const char *kind, const struct map_database *db, int step, const char *const *fixture)
{
	char name[64], *path, *cause = NULL, *before, *up1, *down, *up2;
	store *st = NULL;
	sqlite3 *raw;

	snprintf(name, sizeof(name), "%s-step%d.db", kind, step);
	path = testdb_path(name);
	CHECK_INT(store_open(path, db, kind, STORE_CREATE | STORE_NO_MIGRATE, &st, &cause), 0);
	if (!st) {
		fprintf(stderr, "store_open: %s\n", cause);
		free(cause);
		free(path);
		return;
	}
	raw = testdb_open(path);
	testdb_exec(raw, "PRAGMA foreign_keys = ON");
	for (int v = 1; v < step; v++) {
		CHECK_INT(store_migrate_to(st, v, &cause), 0);
		CHECK_INT(testdb_exec(raw, fixture[v]), SQLITE_OK);
	}
	before = dump_all(raw);
	CHECK_INT(store_migrate_to(st, step, &cause), 0);
	CHECK_INT(version(st), step);
	up1 = dump_all(raw);
	CHECK(strcmp(up1, before) != 0);
	CHECK_INT(store_migrate_to(st, step - 1, &cause), 0);
	CHECK_INT(version(st), step - 1);
	down = dump_all(raw);
	if (strcmp(down, before) != 0)
		fprintf(stderr, "%s step %d: down did not give back the schema and rows it started from\n", kind, step);
	CHECK_STR(down, before);
	CHECK_INT(store_migrate_to(st, step, &cause), 0);
	up2 = dump_all(raw);
	if (strcmp(up2, up1) != 0)
		fprintf(stderr, "%s step %d: up, down, up is not up\n", kind, step);
	CHECK_STR(up2, up1);

	/* The new tables take their rows too (CHECKs, defaults, keys and triggers hold). */
	CHECK_INT(testdb_exec(raw, fixture[step]), SQLITE_OK);
	CHECK(cause == NULL);
	free(cause);
	free(before);
	free(up1);
	free(down);
	free(up2);
	sqlite3_close(raw);
	store_free(st);
	free(path);
}

/* The sidecar (orchfs's own tables beside a tool's file): made at open,
 * down to nothing of its own and up again to the same schema. */
static void test_sidecar(void)
{
	static struct map_database none = { .name = (char *)"sidecar", .dir = (char *)"" };
	char *path = testdb_path("x.orchfs.db"), *cause = NULL, *up1, *up2, *down;
	store *st = NULL;
	sqlite3 *raw;

	CHECK_INT(store_open(path, &none, "sidecar", STORE_CREATE, &st, &cause), 0);
	if (!st)
		return;
	raw = testdb_open(path);
	CHECK_INT(version(st), 2);
	up1 = testdb_dump(raw, SCHEMA);
	CHECK_CONTAINS(up1, "tool_executions");
	CHECK_CONTAINS(up1, "approvals");
	CHECK_CONTAINS(up1, "pid_start"); /* 0002_requesters */
	CHECK_INT(store_migrate_to(st, 0, &cause), 0);
	down = testdb_dump(raw, SCHEMA);
	CHECK(strstr(down, "tool_executions") == NULL && strstr(down, "approvals") == NULL);
	CHECK_INT(store_migrate_to(st, 2, &cause), 0);
	up2 = testdb_dump(raw, SCHEMA);
	CHECK_STR(up2, up1);
	CHECK(cause == NULL);
	free(up1);
	free(up2);
	free(down);
	sqlite3_close(raw);
	store_free(st);
	free(path);
}

/* metadata's schema_version is the version right after every step, up and down. */
static void test_metadata(void)
{
	char *path = testdb_path("meta.db"), *cause = NULL;
	store *st = NULL;
	sqlite3 *raw;
	int latest, v;

	CHECK_INT(store_open(path, pdb, "project", STORE_CREATE | STORE_NO_MIGRATE, &st, &cause), 0);
	if (!st) {
		free(path);
		return;
	}
	raw = testdb_open(path);
	latest = latest_of(st);
	for (v = 1; v <= latest; v++) {
		CHECK_INT(store_migrate_to(st, v, &cause), 0);
		CHECK_INT(meta_version(raw), v >= 6 ? v : -1);
	}
	for (v = latest - 1; v >= 0; v--) {
		CHECK_INT(store_migrate_to(st, v, &cause), 0);
		CHECK_INT(meta_version(raw), v >= 6 ? v : -1);
	}
	CHECK_INT(store_migrate_to(st, latest, &cause), 0);

	/* Other keys are stored; schema_version cannot be written by hand. */
	CHECK_INT(testdb_exec(raw, "INSERT INTO metadata (key, value) VALUES ('owner', 'a')"), SQLITE_OK);
	CHECK_INT(testdb_exec(raw, "INSERT INTO metadata (key, value) VALUES ('owner', 'b')"), SQLITE_OK);
	{
		char *s = testdb_text(raw, "SELECT group_concat(key || '=' || value) FROM metadata");
		char want[64];
		snprintf(want, sizeof(want), "schema_version=%d,owner=b", latest);
		CHECK_STR(s, want);
		free(s);
	}
	CHECK(sqlite3_exec(raw, "UPDATE metadata SET value = '99' WHERE key = 'schema_version'", NULL, NULL, NULL) !=
	      SQLITE_OK);
	CHECK(sqlite3_exec(raw, "INSERT INTO metadata VALUES ('schema_version', '99')", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(raw, "DELETE FROM metadata WHERE key = 'schema_version'", NULL, NULL, NULL) != SQLITE_OK);
	CHECK_INT(meta_version(raw), latest);
	CHECK_INT(testdb_exec(raw, "DELETE FROM metadata WHERE key = 'owner'"), SQLITE_OK);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM metadata_entries"), 0);
	free(cause);
	sqlite3_close(raw);
	store_free(st);
	free(path);
}

/* The deduplicated event log: the same event twice is one row, whoever writes it. */
/* An up step that loses rows is refused and the file restored (AI-Orchestra's
 * migration verifies its counts): here a trigger another program left makes
 * 0007's insert of the default zones delete the bugs. */
static void test_verify_counts(void)
{
	char *path = testdb_path("lost.db"), *cause = NULL;
	store *st = NULL;
	sqlite3 *raw;

	CHECK_INT(store_open(path, pdb, "project", STORE_CREATE | STORE_NO_MIGRATE, &st, &cause), 0);
	if (!st)
		return;
	raw = testdb_open(path);
	CHECK_INT(store_migrate_to(st, 6, &cause), 0);
	CHECK_INT(testdb_exec(raw, "INSERT INTO bugs (id, title) VALUES ('BUG-001', 'a'), ('BUG-002', 'b');"
				   "CREATE TRIGGER eat AFTER INSERT ON zones BEGIN DELETE FROM bugs; END;"),
		  SQLITE_OK);
	CHECK_INT(store_migrate_to(st, 7, &cause), -EINVAL);
	CHECK_CONTAINS(cause, "bugs lost rows (2, now 0)");
	CHECK_CONTAINS(cause, "restored from");
	CHECK_INT(version(st), 6);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM bugs"), 2);
	free(cause);
	sqlite3_close(raw);
	store_free(st);
	free(path);
}

static void test_event_dedup(void)
{
	char *path = testdb_path("events.db"), *cause = NULL;
	store *st = NULL;
	sqlite3 *raw;

	CHECK_INT(store_open(path, pdb, "project", STORE_CREATE, &st, &cause), 0);
	if (!st) {
		free(path);
		return;
	}
	raw = testdb_open(path);
	CHECK_INT(testdb_exec(raw, "INSERT INTO tasks (id) VALUES ('T')"), SQLITE_OK);
	for (int i = 0; i < 3; i++)
		CHECK_INT(testdb_exec(raw, "INSERT INTO event_log (task_id, event_type, phase, timestamp) VALUES"
				      " ('T', 'phase_done', 'spec', '2026-01-01T00:00:00.000Z')"),
			  SQLITE_OK);
	CHECK_INT(testdb_exec(raw, "INSERT OR IGNORE INTO event_log (task_id, event_type, phase, timestamp) VALUES"
			      " ('T', 'phase_done', 'spec', '2026-01-01T00:00:00.000Z')"),
		  SQLITE_OK);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM event_log"), 1);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM _orchfs_changes WHERE operation = 'append'"), 1);
	/* Another time, phase or type is another event. */
	CHECK_INT(testdb_exec(raw, "INSERT INTO event_log (task_id, event_type, phase, timestamp) VALUES"
			      " ('T', 'phase_done', 'spec', '2026-01-01T00:00:01.000Z'),"
			      " ('T', 'phase_done', 'implement', '2026-01-01T00:00:00.000Z'),"
			      " ('T', 'phase_started', 'spec', '2026-01-01T00:00:00.000Z')"),
		  SQLITE_OK);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM event_log"), 4);
	/* An update cannot make two events one either. */
	CHECK(sqlite3_exec(raw, "UPDATE event_log SET timestamp = '2026-01-01T00:00:00.000Z'", NULL, NULL, NULL) !=
	      SQLITE_OK);
	free(cause);
	sqlite3_close(raw);
	store_free(st);
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
	/* Each step since the core schema round-trips (0004_agents, 0005_orc, 0006_more, 0007_documents,
	 * 0008_rewrites, 0009_replaces, 0010_feed_order, 0011_requesters; user 0004_usage, 0005_rewrites,
	 * 0006_replaces). */
	for (int step = 4; step < (int)ARRAY_SIZE(project_fixture); step++)
		roundtrip("project", pdb, step, project_fixture);
	for (int step = 4; step < (int)ARRAY_SIZE(user_fixture); step++)
		roundtrip("user", udb, step, user_fixture);
	test_metadata();
	test_event_dedup();
	test_verify_counts();
	test_sidecar();
	map_free(m);
	return check_done();
}
