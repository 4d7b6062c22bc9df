/* test_map.c - the mapping loader: the built-in mapping, lookups, strict errors, key names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/map.h"

/* A small valid mapping; each error case below changes one thing in it. */
#define COLS "[{\"name\":\"id\",\"type\":\"text\"},{\"name\":\"n\",\"type\":\"integer\"}," \
	     "{\"name\":\"owner\",\"type\":\"text\",\"null\":true,\"ref\":\"items\"}]"
#define ITEMS(extra, cols) \
	"{\"dir\":\"items\",\"table\":\"items\",\"key\":\"id\",\"form\":\"file\"" extra ",\"columns\":" cols "}"
#define PEOPLE "{\"dir\":\"people\",\"table\":\"people\",\"key\":\"id\",\"form\":\"file\",\"columns\":" COLS "}"
#define MAPPING(colls) \
	"{\"schema\":\"t\",\"databases\":[{\"name\":\"project\",\"dir\":\"\",\"collections\":[" colls "]}]}"

/* Load text; return rc and leave the cause (or NULL) in *cause. */
static int load(const char *text, char **cause)
{
	struct mapping *m = NULL;
	int rc;

	*cause = NULL;
	rc = map_load(text, strlen(text), &m, cause);
	if (rc == 0 && !m)
		rc = -1000; /* success must hand back a mapping */
	if (rc != 0 && m)
		rc = -1001; /* failure must not */
	map_free(m);
	return rc;
}

/* The description must be refused with -EINVAL and a cause containing every needle. */
#define REFUSED(text, needle1, needle2)                  \
	do {                                             \
		char *cause_;                            \
		CHECK_INT(load((text), &cause_), -EINVAL); \
		CHECK_CONTAINS(cause_, "mapping: ");     \
		CHECK_CONTAINS(cause_, (needle1));       \
		CHECK_CONTAINS(cause_, (needle2));       \
		free(cause_);                            \
	} while (0)

static void test_builtin(void)
{
	struct mapping *m = NULL;
	const struct map_database *db, *udb;
	const struct map_collection *tasks, *bugs, *audit, *rules, *prov, *wt;
	const struct map_column *col;
	char *cause = NULL;

	/* The built-in native mapping loads, with both databases. */
	CHECK_INT(map_load_builtin("native", &m, &cause), 0);
	CHECK(cause == NULL);
	if (!m)
		return;
	CHECK_STR(m->schema, "native");
	CHECK_INT(m->ndatabases, 2);
	db = map_database(m, "project");
	udb = map_database(m, "user");
	CHECK(db != NULL && udb != NULL);
	CHECK(map_database(m, "nope") == NULL);
	if (!db || !udb)
		goto out;
	CHECK_STR(db->dir, "");
	CHECK_STR(udb->dir, "user");
	CHECK_STR(db->audit, "tool_executions");
	CHECK_INT(db->time, MAP_TIME_ISO);

	/* Collection lookups by directory name; each knows its database and index. */
	tasks = map_collection(db, "tasks");
	bugs = map_collection(db, "bugs");
	audit = map_collection(db, "audit");
	rules = map_collection(db, "rules");
	wt = map_collection(db, "worktrees");
	prov = map_collection(udb, "providers");
	CHECK(tasks && bugs && audit && rules && wt && prov);
	CHECK(map_collection(db, "providers") == NULL);
	CHECK(map_collection(db, "task") == NULL);
	if (!tasks || !bugs || !audit || !rules || !wt || !prov)
		goto out;
	for (size_t i = 0; i < db->ncollections; i++) {
		CHECK_INT(db->collections[i].index, i);
		CHECK(db->collections[i].db == db);
	}
	CHECK_STR(rules->table, "project_rules");
	CHECK_STR(bugs->alloc, "BUG-%03d");
	CHECK_STR(tasks->alloc, "TASK-%03d");
	CHECK(rules->alloc == NULL);

	/* Form: directory entities name their file, file entities have none. */
	CHECK_STR(tasks->file, "task.json");
	CHECK(bugs->file == NULL);

	/* Key, revision, created and updated columns are found. */
	CHECK_STR(bugs->key->name, "id");
	CHECK(bugs->revision && bugs->revision->type == MAP_REVISION && bugs->revision->readonly);
	CHECK(bugs->created && strcmp(bugs->created->name, "created_at") == 0 && bugs->created->readonly);
	CHECK(bugs->updated && strcmp(bugs->updated->name, "updated_at") == 0);
	CHECK(audit->revision == NULL);
	CHECK(audit->updated == NULL);

	/* The task column: the key itself for tasks, a field for worktrees. */
	CHECK(tasks->task == tasks->key);
	CHECK(wt->task == map_column(wt, "task_id"));
	CHECK(bugs->task == NULL);

	/* Columns in mapping order, with their attributes. */
	CHECK_STR(bugs->columns[0].name, "id");
	CHECK_STR(bugs->columns[1].name, "title");
	CHECK_STR(bugs->columns[bugs->ncolumns - 1].name, "updated_at");
	col = map_column(bugs, "priority");
	CHECK(col && col->type == MAP_INTEGER && col->has_min && col->has_max);
	if (col) {
		CHECK(col->min == 1 && col->max == 5);
		CHECK(!col->nullable && !col->required && !col->readonly);
	}
	col = map_column(bugs, "status");
	CHECK(col && col->nenum == 5);
	if (col && col->enumv) {
		CHECK_STR(col->enumv[0], "open");
		CHECK_STR(col->enumv[4], "duplicate");
	}
	col = map_column(bugs, "title");
	CHECK(col && col->required && !col->nullable);
	col = map_column(bugs, "labels");
	CHECK(col && col->type == MAP_JSON && col->shape == MAP_SHAPE_ARRAY);
	col = map_column(bugs, "description");
	CHECK(col && col->nullable && col->type == MAP_TEXT);
	col = map_column(bugs, "resolved_at");
	CHECK(col && col->type == MAP_TIMESTAMP);
	col = map_column(rules, "enabled");
	CHECK(col && col->type == MAP_BOOLEAN);
	col = map_column(tasks, "workflow_id");
	CHECK(col && col->ref == map_collection(db, "workflows"));
	col = map_column(audit, "before");
	CHECK(col && strcmp(col->column, "before_json") == 0);
	col = map_column(bugs, "title");
	CHECK(col && strcmp(col->column, "title") == 0);
	col = map_column(prov, "api_key");
	CHECK(col && col->secret && col->nullable);
	CHECK(map_column(bugs, "nope") == NULL);
	CHECK(map_column(bugs, "before_json") == NULL);

	/* Read-only and integer-key collections. */
	CHECK(audit->readonly && audit->integer_key);
	CHECK(!bugs->readonly && !bugs->integer_key);

	/* Relations, logs and views. */
	CHECK_INT(tasks->nrelations, 2);
	CHECK_STR(tasks->relations[0].dir, "deps");
	CHECK_STR(tasks->relations[0].table, "task_dependencies");
	CHECK_STR(tasks->relations[0].from, "task_id");
	CHECK_STR(tasks->relations[0].to, "depends_on");
	CHECK(tasks->relations[0].target == tasks);
	CHECK(tasks->relations[1].target == bugs);
	CHECK(tasks->relations[0].order == NULL);
	CHECK_STR(map_collection(db, "workflows")->relations[0].order, "sequence");
	CHECK_INT(tasks->nlogs, 6);
	CHECK_STR(tasks->logs[0].file, "transcript.jsonl");
	CHECK_STR(tasks->logs[0].owner, "task_id");
	CHECK(map_log_column(&tasks->logs[0], "content") != NULL);
	CHECK(map_log_column(&tasks->logs[0], "id")->readonly);
	CHECK(map_log_column(&tasks->logs[0], "title") == NULL);
	CHECK_INT(tasks->nviews, 2);
	CHECK_STR(tasks->views[0].dir, "by-status");
	CHECK(tasks->views[0].column == map_column(tasks, "status"));
	CHECK_INT(bugs->nviews, 2);
	CHECK_INT(bugs->nlogs, 0);
out:
	map_free(m);

	/* An unknown built-in is -ENOENT with a cause; map_free(NULL) is a no-op. */
	cause = NULL;
	CHECK_INT(map_load_builtin("nope", &m, &cause), -ENOENT);
	CHECK(m == NULL);
	CHECK_CONTAINS(cause, "nope");
	free(cause);
	map_free(NULL);
}

/* Find the log or relation named name of c, or NULL. */
static const struct map_log *log_of(const struct map_collection *c, const char *file)
{
	for (size_t i = 0; c && i < c->nlogs; i++)
		if (strcmp(c->logs[i].file, file) == 0)
			return &c->logs[i];
	return NULL;
}

static const struct map_relation *relation_of(const struct map_collection *c, const char *dir)
{
	for (size_t i = 0; c && i < c->nrelations; i++)
		if (strcmp(c->relations[i].dir, dir) == 0)
			return &c->relations[i];
	return NULL;
}

static const struct map_view *view_of(const struct map_collection *c, const char *dir)
{
	for (size_t i = 0; c && i < c->nviews; i++)
		if (strcmp(c->views[i].dir, dir) == 0)
			return &c->views[i];
	return NULL;
}

/* The rest of the native schema (migrations 0004-0006, user 0004): TAC's
 * agents, orc's execution state, Orca's AST cache and user database. */
static void test_native_more(void)
{
	struct mapping *m = NULL;
	const struct map_database *db, *udb;
	const struct map_collection *tasks, *oa, *agents, *prompts, *logs, *pt, *runs, *gates, *branches, *inits,
		*ast, *sessions, *budgets, *pricing, *usage;
	const struct map_relation *r;
	const struct map_view *v;
	const struct map_log *l;
	const struct map_column *col;
	char *cause = NULL;

	CHECK_INT(map_load_builtin("native", &m, &cause), 0);
	if (!m) {
		fprintf(stderr, "native mapping: %s\n", cause);
		free(cause);
		return;
	}
	db = map_database(m, "project");
	udb = map_database(m, "user");
	tasks = map_collection(db, "tasks");
	oa = map_collection(db, "orchestrator-agents");
	agents = map_collection(db, "agents");
	prompts = map_collection(db, "prompts");
	logs = map_collection(db, "logs");
	pt = map_collection(db, "phase-templates");
	runs = map_collection(db, "workflow-runs");
	gates = map_collection(db, "gates");
	branches = map_collection(db, "branches");
	inits = map_collection(db, "initiatives");
	ast = map_collection(db, "ast-cache");
	sessions = map_collection(udb, "sessions");
	budgets = map_collection(udb, "budgets");
	pricing = map_collection(udb, "pricing");
	usage = map_collection(udb, "usage");
	CHECK(oa && agents && prompts && logs && pt && runs && gates && branches && inits && ast);
	CHECK(sessions && budgets && pricing && usage);
	if (!(oa && agents && prompts && logs && pt && runs && gates && branches && inits && ast && sessions &&
	      budgets && pricing && usage))
		goto out;

	/* TAC: UUID keys allocated through new; an agent is a directory with its log. */
	CHECK_STR(oa->table, "orchestrator_agents");
	CHECK(map_alloc_uuid(oa) && map_alloc_uuid(agents) && map_alloc_uuid(prompts));
	CHECK_STR(agents->file, "agent.json");
	CHECK(map_column(agents, "orchestrator_agent_id")->ref == oa);
	CHECK(map_column(agents, "orchestrator_agent_id")->required);
	CHECK(map_column(agents, "parent_agent_id")->ref == agents);
	CHECK(map_column(agents, "parent_agent_id")->nullable);
	CHECK_INT(map_column(agents, "status")->nenum, 7);
	CHECK(map_column(agents, "config")->type == MAP_JSON);
	l = log_of(agents, "logs.jsonl");
	CHECK(l && strcmp(l->table, "agent_logs") == 0 && strcmp(l->owner, "agent_id") == 0);
	if (l) {
		CHECK_INT(map_log_column(l, "log_level")->nenum, 5);
		CHECK_STR(map_log_column(l, "log_level")->enumv[4], "CRITICAL");
		CHECK(map_log_column(l, "id")->readonly);
	}
	v = view_of(agents, "by-parent");
	CHECK(v && v->column == map_column(agents, "parent_agent_id"));
	CHECK(view_of(agents, "by-status") && view_of(agents, "by-session"));
	CHECK(map_column(prompts, "agent_id")->ref == agents);
	CHECK(view_of(prompts, "by-agent") && view_of(prompts, "by-status"));
	CHECK(logs->readonly && logs->integer_key && logs->alloc == NULL);
	CHECK_STR(logs->table, "system_logs");

	/* orc: the task's logs, runs with their phases, gates, branches, initiatives. */
	CHECK(log_of(tasks, "phases.jsonl") && log_of(tasks, "outputs.jsonl") && log_of(tasks, "comments.jsonl"));
	CHECK(log_of(tasks, "review-comments.jsonl") && log_of(tasks, "events.jsonl"));
	l = log_of(tasks, "review-comments.jsonl");
	if (l) {
		CHECK_STR(l->table, "review_comments");
		CHECK_INT(map_log_column(l, "severity")->nenum, 3);
		CHECK_INT(map_log_column(l, "author")->nenum, 3);
	}
	l = log_of(tasks, "outputs.jsonl");
	CHECK(l && map_log_column(l, "output_var_name") && strcmp(l->table, "phase_outputs") == 0);
	v = view_of(tasks, "by-initiative");
	CHECK(v && v->column == NULL && v->rel == relation_of(inits, "tasks"));
	CHECK(pt->alloc == NULL && pt->file == NULL);
	CHECK_STR(runs->alloc, "RUN-%03d");
	CHECK_STR(runs->file, "run.json");
	CHECK(runs->task == map_column(runs, "task_id"));
	CHECK(map_column(runs, "workflow_id")->ref == map_collection(db, "workflows"));
	l = log_of(runs, "phases.jsonl");
	CHECK(l && strcmp(l->table, "workflow_run_phases") == 0 && strcmp(l->owner, "workflow_run_id") == 0);
	CHECK(gates->integer_key && !gates->readonly);
	CHECK_STR(gates->alloc, "%d");
	CHECK(gates->task == map_column(gates, "task_id"));
	CHECK(map_column(gates, "approved")->type == MAP_BOOLEAN && map_column(gates, "approved")->required);
	CHECK_INT(map_column(gates, "gate_type")->nenum, 4);
	CHECK_INT(map_column(branches, "type")->nenum, 3);
	CHECK_INT(map_column(branches, "status")->nenum, 4);
	CHECK(view_of(branches, "by-owner") != NULL);
	CHECK_STR(inits->alloc, "INIT-%03d");
	CHECK_STR(inits->file, "initiative.json");
	CHECK_INT(map_column(inits, "status")->nenum, 4);
	r = relation_of(inits, "deps");
	CHECK(r && r->target == inits && !r->unique);
	r = relation_of(inits, "tasks");
	CHECK(r && r->target == tasks && r->unique && r->order && strcmp(r->order, "sequence") == 0);
	CHECK(log_of(inits, "decisions.jsonl") != NULL);

	/* Orca's AST cache: nothing in it can be changed, only removed. */
	CHECK(ast->integer_key && !ast->readonly && ast->alloc == NULL);
	for (size_t i = 0; i < ast->ncolumns; i++)
		CHECK(ast->columns[i].readonly);
	CHECK(view_of(ast, "by-language") != NULL);

	/* The rest of Orca's user database. */
	CHECK(map_alloc_uuid(sessions));
	CHECK(map_column(sessions, "workspace_root")->required);
	col = map_column(budgets, "type");
	CHECK(col && col->required && col->nenum == 2);
	CHECK_INT(map_column(budgets, "enforcement")->nenum, 2);
	CHECK_STR(pricing->table, "llm_pricing");
	CHECK(map_column(pricing, "cost_per_input_token")->has_min);
	CHECK(usage->readonly && usage->integer_key);
	CHECK_STR(usage->table, "usage_logs");
	CHECK(map_column(usage, "budget_id")->ref == budgets);
	CHECK(view_of(usage, "by-budget") && view_of(usage, "by-model"));
out:
	map_free(m);
}

static void test_errors(void)
{
	char *cause;

	/* The base description and its variants that are valid load. */
	CHECK_INT(load(MAPPING(ITEMS(",\"alloc\":\"IT-%03d\"", COLS)), &cause), 0);
	CHECK(cause == NULL);
	CHECK_INT(load(MAPPING(ITEMS(",\"alloc\":\"%d\"", COLS)), &cause), 0);
	CHECK_INT(load(MAPPING(ITEMS(",\"alloc\":\"I%05d\"", COLS) "," PEOPLE), &cause), 0);

	/* Not JSON at all, or the wrong shape at the top. */
	REFUSED("{\"schema\":", "not valid JSON", "");
	REFUSED("[]", "expected an object", "");
	REFUSED("{\"schema\":\"t\",\"databases\":[]}", "databases", "at least one");

	/* Unknown attributes, at every level, named with their place. */
	REFUSED("{\"schema\":\"t\",\"databse\":[]}", "unknown attribute \"databse\"", "");
	REFUSED(MAPPING(ITEMS(",\"colour\":\"red\"", COLS)), "collection \"items\"",
		"unknown attribute \"colour\"");
	REFUSED(MAPPING(ITEMS("", "[{\"name\":\"id\",\"type\":\"text\",\"nul\":true}]")), "collection \"items\"",
		"unknown attribute \"nul\"");
	REFUSED(MAPPING(ITEMS(",\"views\":[{\"dir\":\"v\",\"column\":\"n\",\"x\":1}]", COLS)), "collection \"items\"",
		"unknown attribute \"x\"");

	/* Missing "dir": the place must not be another collection's name. */
	REFUSED(MAPPING(ITEMS("", COLS) ",{\"table\":\"t2\",\"key\":\"id\",\"form\":\"file\",\"columns\":" COLS "}"),
		"\"dir\" is required", "");
	{
		const char *text =
			MAPPING(ITEMS("", COLS) ",{\"table\":\"t2\",\"key\":\"id\",\"form\":\"file\",\"columns\":" COLS "}");
		CHECK_INT(load(text, &cause), -EINVAL);
		CHECK(cause && !strstr(cause, "\"items\""));
		CHECK_CONTAINS(cause, "collection #2");
		free(cause);
	}
	REFUSED(MAPPING(ITEMS(",\"relations\":[{\"table\":\"l\",\"from\":\"a\",\"to\":\"b\",\"target\":\"items\"}]",
			      COLS)),
		"collection \"items\"", "\"dir\" is required");

	/* Unknown type, shape on a non-JSON field, enum of the wrong type. */
	REFUSED(MAPPING(ITEMS("", "[{\"name\":\"id\",\"type\":\"text\"},{\"name\":\"n\",\"type\":\"int\"}]")),
		"collection \"items\"", "field \"n\": unknown type \"int\"");
	REFUSED(MAPPING(ITEMS("", "[{\"name\":\"id\",\"type\":\"text\",\"shape\":\"array\"}]")), "field \"id\"",
		"shape");
	REFUSED(MAPPING(ITEMS("", "[{\"name\":\"id\",\"type\":\"text\",\"enum\":[1,2]}]")), "field \"id\"", "enum");
	REFUSED(MAPPING(ITEMS("", "[{\"name\":\"id\",\"type\":7}]")), "\"type\" must be a string", "");
	REFUSED(MAPPING(ITEMS("", "[{\"name\":\"id\",\"type\":\"text\"},{\"name\":\"id\",\"type\":\"text\"}]")),
		"field \"id\" is listed twice", "");

	/* The key must be one of the columns. */
	REFUSED(MAPPING("{\"dir\":\"items\",\"table\":\"items\",\"key\":\"uuid\",\"form\":\"file\",\"columns\":" COLS
			"}"),
		"collection \"items\"", "key \"uuid\" is not one of its columns");

	/* A "ref" or a relation "target" must name a collection of the same database. */
	REFUSED(MAPPING(ITEMS("", "[{\"name\":\"id\",\"type\":\"text\"},{\"name\":\"o\",\"type\":\"text\",\"ref\":"
				  "\"ghosts\"}]")),
		"collection \"items\"", "field \"o\": no collection \"ghosts\"");
	REFUSED(MAPPING(ITEMS(",\"relations\":[{\"dir\":\"links\",\"table\":\"l\",\"from\":\"a\",\"to\":\"b\","
			      "\"target\":\"ghosts\"}]",
			      COLS)),
		"collection \"items\"", "relation \"links\": no collection \"ghosts\"");

	/* The same directory twice. */
	REFUSED(MAPPING(ITEMS("", COLS) "," ITEMS("", COLS)), "collection \"items\"", "listed twice");

	/* "alloc" must be a printf format ending in %d or %0Nd, with nothing else to expand. */
	REFUSED(MAPPING(ITEMS(",\"alloc\":\"IT-%s\"", COLS)), "collection \"items\"", "\"alloc\"");
	REFUSED(MAPPING(ITEMS(",\"alloc\":\"IT-%03d-x\"", COLS)), "collection \"items\"", "\"alloc\"");
	REFUSED(MAPPING(ITEMS(",\"alloc\":\"IT\"", COLS)), "collection \"items\"", "\"alloc\"");
	REFUSED(MAPPING(ITEMS(",\"alloc\":\"IT-%3d\"", COLS)), "collection \"items\"", "\"alloc\"");
	REFUSED(MAPPING(ITEMS(",\"alloc\":\"%s%d\"", COLS)), "collection \"items\"", "\"alloc\"");
	REFUSED(MAPPING(ITEMS(",\"alloc\":\"%%d\"", COLS)), "collection \"items\"", "\"alloc\"");
	REFUSED(MAPPING(ITEMS(",\"alloc\":\"%ld\"", COLS)), "collection \"items\"", "\"alloc\"");

	/* Form, names with '/', logs on file entities, view columns, timestamps. */
	REFUSED(MAPPING("{\"dir\":\"items\",\"table\":\"items\",\"key\":\"id\",\"form\":\"blob\",\"columns\":" COLS "}"),
		"collection \"items\"", "\"form\"");
	REFUSED(MAPPING("{\"dir\":\"items\",\"table\":\"items\",\"key\":\"id\",\"form\":\"dir\",\"columns\":" COLS "}"),
		"collection \"items\"", "\"file\"");
	REFUSED(MAPPING("{\"dir\":\"a/b\",\"table\":\"items\",\"key\":\"id\",\"form\":\"file\",\"columns\":" COLS "}"),
		"collection \"a/b\"", "plain name");
	REFUSED(MAPPING(ITEMS(",\"logs\":[{\"file\":\"l.jsonl\",\"table\":\"l\",\"owner\":\"o\",\"id\":\"id\","
			      "\"columns\":[{\"name\":\"id\",\"type\":\"integer\"}]}]",
			      COLS)),
		"collection \"items\"", "logs need form \"dir\"");
	REFUSED(MAPPING(ITEMS(",\"views\":[{\"dir\":\"v\",\"column\":\"zz\"}]", COLS)), "collection \"items\"",
		"view column \"zz\"");
	REFUSED(MAPPING(ITEMS("", "[]")), "collection \"items\"", "at least one field");
	REFUSED("{\"schema\":\"t\",\"databases\":[{\"name\":\"p\",\"dir\":\"\",\"timestamps\":\"unix\","
		"\"collections\":[]}]}",
		"\"timestamps\"", "");
}

static void test_keys(void)
{
	struct mapping *m = NULL;
	const struct map_collection *tasks, *audit;
	char *cause = NULL, big[260];

	if (map_load_builtin("native", &m, &cause) != 0) {
		CHECK(!"native mapping loads");
		free(cause);
		return;
	}
	tasks = map_collection(map_database(m, "project"), "tasks");
	audit = map_collection(map_database(m, "project"), "audit");

	/* Printable names, spaces and any valid UTF-8 are keys. */
	CHECK(map_key_valid(tasks, "BUG-001"));
	CHECK(map_key_valid(tasks, "my key"));
	CHECK(map_key_valid(tasks, "tâche-été"));
	CHECK(map_key_valid(tasks, "任务 \xf0\x9f\x9a\x80"));
	CHECK(map_key_valid(tasks, "a.b"));
	CHECK(map_key_valid(tasks, "x.."));

	/* Empty, hidden, '.', '..' and anything with '/'. */
	CHECK(!map_key_valid(tasks, ""));
	CHECK(!map_key_valid(tasks, ".hidden"));
	CHECK(!map_key_valid(tasks, "."));
	CHECK(!map_key_valid(tasks, ".."));
	CHECK(!map_key_valid(tasks, "a/b"));
	CHECK(!map_key_valid(tasks, "/"));

	/* Control characters: C0, DEL and C1 (U+0085, U+009B would reach terminals). */
	CHECK(!map_key_valid(tasks, "a\nb"));
	CHECK(!map_key_valid(tasks, "a\tb"));
	CHECK(!map_key_valid(tasks, "\x1b[31m"));
	CHECK(!map_key_valid(tasks, "a\x7f"));
	CHECK(!map_key_valid(tasks, "a\xc2\x85"));
	CHECK(!map_key_valid(tasks, "\xc2\x9b" "31m"));
	CHECK(map_key_valid(tasks, "a\xc2\xa0" "b")); /* U+00A0 is printable */

	/* 200 bytes is the limit. */
	memset(big, 'k', 200);
	big[200] = 0;
	CHECK(map_key_valid(tasks, big));
	big[200] = 'k';
	big[201] = 0;
	CHECK(!map_key_valid(tasks, big));

	/* Invalid UTF-8: stray continuation, truncated, overlong, surrogate, > U+10FFFF. */
	CHECK(!map_key_valid(tasks, "a\x80"));
	CHECK(!map_key_valid(tasks, "a\xe2\x82"));
	CHECK(!map_key_valid(tasks, "\xc0\xaf"));
	CHECK(!map_key_valid(tasks, "\xed\xa0\x80"));
	CHECK(!map_key_valid(tasks, "\xf4\x90\x80\x80"));
	CHECK(!map_key_valid(tasks, "\xff"));

	/* Integer keys: digits only. */
	CHECK(map_key_valid(audit, "42"));
	CHECK(map_key_valid(audit, "0"));
	CHECK(!map_key_valid(audit, "4a"));
	CHECK(!map_key_valid(audit, "-1"));
	CHECK(!map_key_valid(audit, "1.5"));
	CHECK(!map_key_valid(audit, " 1"));
	CHECK(!map_key_valid(audit, ""));
	map_free(m);
}

int main(void)
{
	test_builtin();
	test_native_more();
	test_errors();
	test_keys();
	return check_done();
}
