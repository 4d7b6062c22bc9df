/* test_map.c - the mapping loader: the built-in mapping, lookups, strict errors, key names. */
#include <errno.h>
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
	CHECK_INT(tasks->nlogs, 1);
	CHECK_STR(tasks->logs[0].file, "transcript.jsonl");
	CHECK_STR(tasks->logs[0].owner, "task_id");
	CHECK(map_log_column(&tasks->logs[0], "content") != NULL);
	CHECK(map_log_column(&tasks->logs[0], "id")->readonly);
	CHECK(map_log_column(&tasks->logs[0], "title") == NULL);
	CHECK_INT(tasks->nviews, 1);
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
	test_errors();
	test_keys();
	return check_done();
}
