/*
 * test_store.c - the store through store.h on fresh databases: create, get,
 * patch, stale edits, delete, logs, links and secrets, and the audit row of
 * every change and every refusal. A second, plain sqlite3 connection to the
 * same file checks what really reached the database.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/internal.h"
#include "testdb.h"

static struct mapping *m;
static const struct map_database *pdb, *udb;
static const struct map_collection *bugs, *tasks, *rules, *audit, *prov;
static store *st, *ust; /* the project and the user store */
static sqlite3 *raw, *uraw; /* plain connections to the same files */
static sqlite3 *adb;        /* the file the audit helpers look at: raw or uraw */
static long long last_audit; /* id of the row CHANGED saw */

/* --- helpers --- */

/* J - a JSON document from text written with ' for " (freed at exit). */
static cJSON *pool[1024];
static int npool;

static cJSON *J(const char *text)
{
	char *s = strdup(text);
	cJSON *j;

	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = cJSON_Parse(s);
	if (!j || npool == (int)ARRAY_SIZE(pool)) {
		fprintf(stderr, "bad test JSON: %s\n", s);
		exit(2);
	}
	free(s);
	return pool[npool++] = j;
}

/* W - who makes the change, for the audit row. */
#define W(op) (&(struct store_actor){ "unit", getpid(), getuid(), (op), "/unit/" op })
/* another process: its saves are not the unit's own (a stale edit of its is refused) */
#define W2(op) (&(struct store_actor){ "other", getpid() + 1, getuid(), (op), "/other/" op })

static long long audit_mark(void)
{
	return testdb_int(adb, "SELECT coalesce(max(id), 0) FROM tool_executions");
}

/* 1 if exactly one audit row came after mark, with status and (unless NULL) operation. */
static int audit_one(long long mark, const char *status, const char *op, long long *id)
{
	char sql[256], *got_status, *got_op, *got_tool;
	long long n, pid, uid;
	int ok;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM tool_executions WHERE id > %lld", mark);
	n = testdb_int(adb, sql);
	snprintf(sql, sizeof(sql), "SELECT max(id) FROM tool_executions WHERE id > %lld", mark);
	*id = testdb_int(adb, sql);
	snprintf(sql, sizeof(sql), "SELECT status FROM tool_executions WHERE id = %lld", *id);
	got_status = testdb_text(adb, sql);
	snprintf(sql, sizeof(sql), "SELECT operation FROM tool_executions WHERE id = %lld", *id);
	got_op = testdb_text(adb, sql);
	snprintf(sql, sizeof(sql), "SELECT tool_name FROM tool_executions WHERE id = %lld", *id);
	got_tool = testdb_text(adb, sql);
	snprintf(sql, sizeof(sql), "SELECT pid FROM tool_executions WHERE id = %lld", *id);
	pid = testdb_int(adb, sql);
	snprintf(sql, sizeof(sql), "SELECT uid FROM tool_executions WHERE id = %lld", *id);
	uid = testdb_int(adb, sql);
	ok = n == 1 && got_status && strcmp(got_status, status) == 0 && got_op &&
	     (!op || strcmp(got_op, op) == 0) && got_tool &&
	     ((strcmp(got_tool, "unit") == 0 && pid == getpid()) || (strcmp(got_tool, "other") == 0 && pid == getpid() + 1)) &&
	     uid == getuid();
	if (!ok)
		fprintf(stderr, "audit: %lld new rows; last: status %s, operation %s, tool %s (want %s, %s)\n", n,
			got_status ? got_status : "NULL", got_op ? got_op : "NULL", got_tool ? got_tool : "NULL",
			status, op ? op : "any");
	free(got_status);
	free(got_op);
	free(got_tool);
	return ok;
}

/* audit_col - expr over audit row id, as text (caller frees) or NULL. */
static char *audit_col(long long id, const char *expr)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT %s FROM tool_executions WHERE id = %lld", expr, id);
	return testdb_text(adb, sql);
}

/* q - one text value from the project database (caller frees). */
static char *q(const char *sql)
{
	return testdb_text(raw, sql);
}

/*
 * CHANGED - call (which may use `&cause`) succeeds, sets no cause, and adds
 * exactly one audit row with status success and this operation; its id is
 * left in last_audit.
 */
#define CHANGED(call, op) CHANGED_AS(call, op, 0)
/* UNCHANGED - as CHANGED, for a store_patch that changes nothing */
#define UNCHANGED(call, op) CHANGED_AS(call, op, STORE_UNCHANGED)
#define CHANGED_AS(call, op, want)                                              \
	do {                                                                    \
		long long mark_ = audit_mark();                                 \
		char *cause = NULL;                                             \
		CHECK_INT((call), (want));                                      \
		if (cause)                                                      \
			fprintf(stderr, "%s:%d: cause: %s\n", __FILE__, __LINE__, cause); \
		CHECK(cause == NULL);                                           \
		CHECK(audit_one(mark_, "success", (op), &last_audit));          \
		free(cause);                                                    \
	} while (0)

/*
 * REFUSED - call (which uses `&cause`) returns want with a cause containing
 * needle; exactly one audit row with status failure is added, its result is
 * the cause and it holds no document; what query dumps is unchanged.
 */
#define REFUSED(query, call, want, needle)                                      \
	do {                                                                    \
		char *dump_ = testdb_dump(raw, (query)), *dump2_, *res_, *docs_; \
		long long mark_ = audit_mark(), id_ = 0;                        \
		char *cause = NULL;                                             \
		CHECK_INT((call), (want));                                      \
		CHECK_CONTAINS(cause, (needle));                                \
		CHECK(audit_one(mark_, "failure", NULL, &id_));                 \
		res_ = audit_col(id_, "result");                                \
		CHECK_STR(res_, cause);                                         \
		docs_ = audit_col(id_, "coalesce(before_json, after_json)");    \
		CHECK(docs_ == NULL);                                           \
		dump2_ = testdb_dump(raw, (query));                             \
		CHECK_STR(dump2_, dump_);                                       \
		free(dump_);                                                    \
		free(dump2_);                                                   \
		free(res_);                                                     \
		free(docs_);                                                    \
		free(cause);                                                    \
	} while (0)

#define ALL_BUGS "SELECT * FROM bugs ORDER BY id"
#define ALL_TASKS "SELECT * FROM tasks ORDER BY id"

/* get - the document of key (masked), or NULL. */
static cJSON *get(store *s, const struct map_collection *c, const char *key, unsigned flags)
{
	cJSON *doc = NULL;

	if (store_get(s, c, key, flags, &doc) != 0)
		return NULL;
	return doc;
}

/* field - doc[name] printed without spaces (caller frees), "(none)" if absent. */
static char *field(const cJSON *doc, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);

	return v ? cJSON_PrintUnformatted(v) : strdup("(none)");
}

#define CHECK_FIELD(doc, name, want)           \
	do {                                   \
		char *f_ = field((doc), (name)); \
		CHECK_STR(f_, (want));         \
		free(f_);                      \
	} while (0)

/* rev - the revision of key in c, through the store. */
static long long rev(store *s, const struct map_collection *c, const char *key)
{
	cJSON *doc = get(s, c, key, 0);
	const cJSON *v = doc ? cJSON_GetObjectItemCaseSensitive(doc, "revision") : NULL;
	long long r = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;

	cJSON_Delete(doc);
	return r;
}

static int is_iso(const char *s)
{
	int64_t ms;

	return s && strlen(s) == 24 && s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[23] == 'Z' &&
	       time_parse_iso(s, &ms) == 0;
}

static int collect_key(void *arg, const char *key)
{
	struct strbuf *sb = arg;

	strbuf_addstr(sb, key);
	strbuf_addch(sb, ';');
	return 0;
}

static int collect_row(void *arg, const cJSON *row)
{
	struct strbuf *sb = arg;
	char *s = cJSON_PrintUnformatted(row);

	strbuf_addstr(sb, s);
	strbuf_addch(sb, '\n');
	cJSON_free(s);
	return 0;
}

/* --- the groups --- */

static void test_create(void)
{
	char *key = NULL, *s;
	long long id;
	cJSON *doc;

	/* Allocated keys count up from BUG-001; the audit row has the new document. */
	CHANGED(store_create(st, bugs, NULL, J("{'title':'first','description':'d'}"), W("create"), &key, &cause),
		"create");
	CHECK_STR(key, "BUG-001");
	free(key);
	id = last_audit;
	s = audit_col(id, "before_json");
	CHECK(s == NULL);
	free(s);
	s = audit_col(id, "json_extract(after_json, '$.title')");
	CHECK_STR(s, "first");
	free(s);
	s = audit_col(id, "collection || ' ' || entity_key || ' ' || path");
	CHECK_STR(s, "bugs BUG-001 /unit/create");
	free(s);
	s = audit_col(id, "json_extract(arguments, '$.title')");
	CHECK_STR(s, "first");
	free(s);
	s = audit_col(id, "typeof(duration_ms) || ' ' || (duration_ms >= 0)");
	CHECK_STR(s, "real 1");
	free(s);
	s = audit_col(id, "created_at");
	CHECK(is_iso(s));
	free(s);

	/* Allocation skips a key somebody inserted directly. */
	CHECK_INT(testdb_exec(raw, "INSERT INTO bugs (id, title) VALUES ('BUG-002', 'direct')"), SQLITE_OK);
	CHANGED(store_create(st, bugs, NULL, J("{'title':'third'}"), W("create"), &key, &cause), "create");
	CHECK_STR(key, "BUG-003");
	free(key);

	/* A chosen key, with a space and UTF-8; newkey may be NULL. */
	CHANGED(store_create(st, bugs, "my bug é", J("{'title':'named'}"), W("create"), &key, &cause), "create");
	CHECK_STR(key, "my bug é");
	free(key);
	CHANGED(store_create(st, bugs, "BUG-010", J("{'title':'ten'}"), W("create"), NULL, &cause), "create");
	CHECK_INT(store_exists(st, bugs, "BUG-010"), 1);

	/* A taken key is -EEXIST, whether allocated, inserted directly or chosen. */
	REFUSED(ALL_BUGS, store_create(st, bugs, "BUG-002", J("{'title':'again'}"), W("create"), &key, &cause),
		-EEXIST, "BUG-002 already exists");
	CHECK(key == NULL);
	REFUSED(ALL_BUGS, store_create(st, bugs, "my bug é", J("{'title':'again'}"), W("create"), NULL, &cause),
		-EEXIST, "already exists");

	/* Invalid keys are -EINVAL. */
	REFUSED(ALL_BUGS, store_create(st, bugs, "a/b", J("{'title':'x'}"), W("create"), NULL, &cause), -EINVAL,
		"invalid key \"a/b\"");
	REFUSED(ALL_BUGS, store_create(st, bugs, "", J("{'title':'x'}"), W("create"), NULL, &cause), -EINVAL,
		"invalid key");
	REFUSED(ALL_BUGS, store_create(st, bugs, ".hidden", J("{'title':'x'}"), W("create"), NULL, &cause), -EINVAL,
		"invalid key");

	/* A required field missing or null, named; the refused create does not use up a key. */
	REFUSED(ALL_BUGS, store_create(st, bugs, NULL, J("{'description':'no title'}"), W("create"), NULL, &cause),
		-EINVAL, "title: required");
	REFUSED(ALL_BUGS, store_create(st, bugs, NULL, J("{'title':null}"), W("create"), NULL, &cause), -EINVAL,
		"title");
	REFUSED(ALL_BUGS, store_create(st, rules, "r1", J("{'name':'no config'}"), W("create"), NULL, &cause), -EINVAL,
		"config: required");

	/* Unknown fields, wrong types and values outside the set or range. */
	REFUSED(ALL_BUGS, store_create(st, bugs, NULL, J("{'title':'x','colour':'red'}"), W("create"), NULL, &cause),
		-EINVAL, "unknown field \"colour\"");
	REFUSED(ALL_BUGS, store_create(st, bugs, NULL, J("{'title':'x','priority':9}"), W("create"), NULL, &cause),
		-EINVAL, "priority: must be at most 5");
	REFUSED(ALL_BUGS, store_create(st, bugs, NULL, J("{'title':'x','status':'closed'}"), W("create"), NULL, &cause),
		-EINVAL, "status: must be one of");
	REFUSED(ALL_BUGS, store_create(st, bugs, NULL, J("{'title':3}"), W("create"), NULL, &cause), -EINVAL,
		"title: expected a string");
	REFUSED(ALL_BUGS, store_create(st, bugs, NULL, J("['title']"), W("create"), NULL, &cause), -EINVAL,
		"expected a JSON object");
	REFUSED(ALL_TASKS, store_create(st, tasks, NULL, J("{'workflow_id':'WF-404'}"), W("create"), NULL, &cause),
		-EINVAL, "workflow_id: no workflows entity \"WF-404\"");
	s = q("SELECT last FROM _orchfs_keys WHERE collection = 'bugs'");
	CHECK_STR(s, "3");
	free(s);

	/* Read-only fields in the document are ignored: a copied file makes a new entity. */
	doc = get(st, bugs, "BUG-001", 0);
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "revision", cJSON_CreateNumber(7));
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "created_at", cJSON_CreateString("2000-01-01T00:00:00.000Z"));
	CHANGED(store_create(st, bugs, NULL, doc, W("create"), &key, &cause), "create");
	CHECK_STR(key, "BUG-004");
	cJSON_Delete(doc);
	doc = get(st, bugs, key, 0);
	CHECK_FIELD(doc, "id", "\"BUG-004\"");
	CHECK_FIELD(doc, "title", "\"first\"");
	CHECK_FIELD(doc, "revision", "1");
	s = field(doc, "created_at");
	CHECK(strstr(s, "2000-") == NULL);
	free(s);
	cJSON_Delete(doc);
	free(key);

	/* Collections without "alloc" need a name; read-only collections refuse (audited). */
	REFUSED(ALL_BUGS, store_create(st, rules, NULL, J("{'name':'n','config':{}}"), W("create"), NULL, &cause),
		-EINVAL, "keys are not allocated");
	{
		long long mark = audit_mark(), aid;
		char *cause = NULL;
		CHECK_INT(store_create(st, audit, "77", J("{'tool_name':'x','operation':'y','status':'success'}"),
				       W("create"), NULL, &cause), -EROFS);
		CHECK_CONTAINS(cause, "read-only");
		CHECK(audit_one(mark, "failure", "create", &aid));
		CHECK_INT(testdb_int(raw, "SELECT count(*) FROM tool_executions WHERE id = 77"), 0);
		free(cause);
	}
}

static void test_get(void)
{
	cJSON *doc;
	const cJSON *it;
	size_t i = 0;
	char *s;
	struct strbuf sb = STRBUF_INIT;

	/* Fields in mapping order, all of them, nothing else. */
	doc = get(st, bugs, "BUG-001", 0);
	CHECK(doc != NULL);
	cJSON_ArrayForEach(it, doc) {
		if (i < bugs->ncolumns)
			CHECK_STR(it->string, bugs->columns[i].name);
		i++;
	}
	CHECK_INT(i, bugs->ncolumns);

	/* Defaults, JSON columns as JSON, NULL as null, timestamps in ISO 8601 UTC. */
	CHECK_FIELD(doc, "id", "\"BUG-001\"");
	CHECK_FIELD(doc, "status", "\"open\"");
	CHECK_FIELD(doc, "priority", "3");
	CHECK_FIELD(doc, "labels", "[]");
	CHECK_FIELD(doc, "metadata", "null");
	CHECK_FIELD(doc, "resolved_at", "null");
	CHECK_FIELD(doc, "revision", "1");
	CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "related_files")));
	s = field(doc, "created_at");
	CHECK(s[0] == '"');
	s[strlen(s) - 1] = 0;
	CHECK(is_iso(s + 1));
	free(s);
	cJSON_Delete(doc);

	/* A timestamp another writer stored as SQLite's datetime() reads as ISO 8601. */
	CHECK_INT(testdb_exec(raw, "UPDATE bugs SET resolved_at = '2026-01-31 12:00:00', "
				   "metadata = '{\"k\":[1,true]}' WHERE id = 'BUG-002'"),
		  SQLITE_OK);
	doc = get(st, bugs, "BUG-002", 0);
	CHECK_FIELD(doc, "resolved_at", "\"2026-01-31T12:00:00.000Z\"");
	CHECK_FIELD(doc, "metadata", "{\"k\":[1,true]}");
	CHECK_FIELD(doc, "revision", "2"); /* the schema's trigger bumped it */
	cJSON_Delete(doc);

	/* Booleans are stored 0/1 and shown true/false; JSON objects as objects. */
	CHANGED(store_create(st, rules, "no-tabs", J("{'name':'no tabs','config':{'max':3},'enabled':true}"),
			     W("create"), NULL, &cause),
		"create");
	doc = get(st, rules, "no-tabs", 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "enabled")));
	CHECK_FIELD(doc, "config", "{\"max\":3}");
	CHECK_FIELD(doc, "rule_type", "\"custom\"");
	cJSON_Delete(doc);
	s = q("SELECT enabled || typeof(enabled) || ' ' || config FROM project_rules WHERE id = 'no-tabs'");
	CHECK_STR(s, "1integer {\"max\":3}");
	free(s);
	CHANGED(store_patch(st, rules, "no-tabs", J("{'enabled':false}"), W("write"), &cause), "write");
	doc = get(st, rules, "no-tabs", 0);
	CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "enabled")));
	cJSON_Delete(doc);
	s = q("SELECT enabled FROM project_rules WHERE id = 'no-tabs'");
	CHECK_STR(s, "0");
	free(s);

	/* No such key: -ENOENT and no document; store_exists says 0. */
	doc = (cJSON *)1;
	CHECK_INT(store_get(st, bugs, "BUG-404", 0, &doc), -ENOENT);
	CHECK(doc == NULL);
	CHECK_INT(store_exists(st, bugs, "BUG-404"), 0);
	CHECK_INT(store_exists(st, bugs, "BUG-001"), 1);

	/* Keys in key order, in one walk; views by a column's value. */
	strbuf_init(&sb, 0);
	CHECK_INT(store_list(st, bugs, collect_key, &sb), 0);
	CHECK_STR(sb.buf, "BUG-001;BUG-002;BUG-003;BUG-004;BUG-010;my bug é;");
	strbuf_release(&sb);
	strbuf_init(&sb, 0);
	CHECK_INT(store_view_values(st, bugs, &bugs->views[1], collect_key, &sb), 0);
	CHECK_STR(sb.buf, "3;");
	strbuf_release(&sb);
}

static void test_patch(void)
{
	long long r, id;
	cJSON *doc, *whole;
	char *s, *created, *updated;

	/* Fields present are set, absent fields keep their value; revision +1 per change. */
	r = rev(st, bugs, "BUG-001");
	CHANGED(store_patch(st, bugs, "BUG-001",
			    J("{'labels':['a','b'],'metadata':{'a':1,'b':{'c':2}},'severity':'high'}"), W("write"),
			    &cause),
		"write");
	CHECK_INT(rev(st, bugs, "BUG-001"), r + 1);
	created = q("SELECT created_at FROM bugs WHERE id = 'BUG-001'");
	updated = q("SELECT updated_at FROM bugs WHERE id = 'BUG-001'");
	usleep(3000);
	CHANGED(store_patch(st, bugs, "BUG-001", J("{'status':'fixed'}"), W("write"), &cause), "write");
	CHECK_INT(rev(st, bugs, "BUG-001"), r + 2);
	s = q("SELECT title || '|' || description || '|' || status || '|' || severity || '|' || labels "
	      "FROM bugs WHERE id = 'BUG-001'");
	CHECK_STR(s, "first|d|fixed|high|[\"a\",\"b\"]");
	free(s);

	/* updated_at moves, created_at does not. */
	s = q("SELECT created_at FROM bugs WHERE id = 'BUG-001'");
	CHECK_STR(s, created);
	free(s);
	s = q("SELECT updated_at FROM bugs WHERE id = 'BUG-001'");
	CHECK(s && updated && strcmp(s, updated) > 0);
	CHECK(is_iso(s));
	free(s);
	free(created);
	free(updated);

	/* The audit row has the documents before and after. */
	id = last_audit;
	s = audit_col(id, "json_extract(before_json, '$.status') || '>' || json_extract(after_json, '$.status')");
	CHECK_STR(s, "open>fixed");
	free(s);
	s = audit_col(id, "json_extract(after_json, '$.revision') - json_extract(before_json, '$.revision')");
	CHECK_STR(s, "1");
	free(s);
	s = audit_col(id, "arguments");
	CHECK_STR(s, "{\"status\":\"fixed\"}");
	free(s);

	/* null clears a nullable field. */
	CHANGED(store_patch(st, bugs, "BUG-001", J("{'description':null}"), W("write"), &cause), "write");
	s = q("SELECT quote(description) FROM bugs WHERE id = 'BUG-001'");
	CHECK_STR(s, "NULL");
	free(s);

	/* A JSON column is merged (RFC 7396), arrays are replaced. */
	CHANGED(store_patch(st, bugs, "BUG-001", J("{'metadata':{'b':{'d':3},'a':null},'labels':['z']}"), W("write"),
			    &cause),
		"write");
	s = q("SELECT metadata || ' ' || labels FROM bugs WHERE id = 'BUG-001'");
	CHECK_STR(s, "{\"b\":{\"c\":2,\"d\":3}} [\"z\"]");
	free(s);
	doc = get(st, bugs, "BUG-001", 0);
	CHECK_FIELD(doc, "metadata", "{\"b\":{\"c\":2,\"d\":3}}");
	cJSON_Delete(doc);

	/* Timestamps are stored normalised. */
	CHANGED(store_patch(st, bugs, "BUG-001", J("{'resolved_at':'2026-01-31 14:00:00+02:00'}"), W("write"), &cause),
		"write");
	s = q("SELECT resolved_at FROM bugs WHERE id = 'BUG-001'");
	CHECK_STR(s, "2026-01-31T12:00:00.000Z");
	free(s);

	/* Refusals change nothing and are audited with the reason. */
	r = rev(st, bugs, "BUG-001");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'colour':'red'}"), W("write"), &cause), -EINVAL,
		"unknown field \"colour\"");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'priority':'high'}"), W("write"), &cause), -EINVAL,
		"priority: expected an integer, got a string");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'priority':0}"), W("write"), &cause), -EINVAL,
		"priority: must be at least 1");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'status':'closed'}"), W("write"), &cause), -EINVAL,
		"status: must be one of open, in_progress, fixed, wontfix, duplicate");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'title':null}"), W("write"), &cause), -EINVAL,
		"title: cannot be null");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'labels':{'a':1}}"), W("write"), &cause), -EINVAL,
		"labels: expected an array");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'resolved_at':'soon'}"), W("write"), &cause), -EINVAL,
		"resolved_at: expected an ISO 8601 time");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'title':'new','priority':1.5}"), W("write"), &cause),
		-EINVAL, "priority");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("['status']"), W("write"), &cause), -EINVAL,
		"expected a JSON object");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-404", J("{'title':'x'}"), W("write"), &cause), -ENOENT,
		"BUG-404: no such entity");

	/* Read-only fields: changing them is refused, sending them back unchanged is fine. */
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'id':'BUG-999'}"), W("write"), &cause), -EINVAL,
		"id: read-only field cannot be changed");
	REFUSED(ALL_BUGS,
		store_patch(st, bugs, "BUG-001", J("{'created_at':'2000-01-01T00:00:00.000Z'}"), W("write"), &cause),
		-EINVAL, "created_at: read-only field cannot be changed");
	REFUSED(ALL_BUGS,
		store_patch(st, bugs, "BUG-001", J("{'updated_at':'2000-01-01T00:00:00.000Z'}"), W("write"), &cause),
		-EINVAL, "updated_at: read-only");
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-001", J("{'revision':99}"), W("write"), &cause), -EINVAL,
		"revision");
	CHECK_INT(rev(st, bugs, "BUG-001"), r);

	/* The whole document sent back with one change (an editor's save) is one change. */
	whole = get(st, bugs, "BUG-001", 0);
	cJSON_ReplaceItemInObjectCaseSensitive(whole, "title", cJSON_CreateString("edited"));
	CHANGED(store_patch(st, bugs, "BUG-001", whole, W("write"), &cause), "write");
	CHECK_INT(rev(st, bugs, "BUG-001"), r + 1);
	s = q("SELECT title FROM bugs WHERE id = 'BUG-001'");
	CHECK_STR(s, "edited");
	free(s);
	cJSON_Delete(whole);

	/* A patch that changes nothing: row untouched, no new revision, audited as "unchanged". */
	whole = get(st, bugs, "BUG-001", 0);
	{
		char *before = testdb_dump(raw, ALL_BUGS), *after;
		UNCHANGED(store_patch(st, bugs, "BUG-001", whole, W("write"), &cause), "write");
		s = audit_col(last_audit, "result");
		CHECK_STR(s, "unchanged");
		free(s);
		s = audit_col(last_audit, "before_json = after_json AND before_json IS NOT NULL");
		CHECK_STR(s, "1");
		free(s);
		UNCHANGED(store_patch(st, bugs, "BUG-001", J("{'title':'edited','id':'BUG-001','labels':['z']}"),
				    W("write"), &cause),
			"write");
		s = audit_col(last_audit, "result");
		CHECK_STR(s, "unchanged");
		free(s);
		UNCHANGED(store_patch(st, bugs, "BUG-001", J("{'resolved_at':'2026-01-31T13:00:00+01:00'}"), W("write"),
				    &cause),
			"write");
		UNCHANGED(store_patch(st, bugs, "BUG-001", J("{'metadata':{'b':{'c':2}}}"), W("write"), &cause),
			"write");
		UNCHANGED(store_patch(st, bugs, "BUG-001", J("{}"), W("write"), &cause), "write");
		s = audit_col(last_audit, "result");
		CHECK_STR(s, "unchanged");
		free(s);
		after = testdb_dump(raw, ALL_BUGS);
		CHECK_STR(after, before);
		free(before);
		free(after);
	}
	CHECK_INT(rev(st, bugs, "BUG-001"), r + 1);
	cJSON_Delete(whole);

	/* A patch that changes one field and repeats another is one change, one revision. */
	CHANGED(store_patch(st, bugs, "BUG-001", J("{'title':'again','severity':'high'}"), W("write"), &cause),
		"write");
	CHECK_INT(rev(st, bugs, "BUG-001"), r + 2);
}

/* A save sets only the columns it changes: the others stay as stored. */
static void test_patch_columns(void)
{
	long long r;
	char *s;

	/* written behind the store's back, with spaces orchfs would not write */
	CHECK_INT(testdb_exec(raw, "UPDATE bugs SET metadata = '{\"x\":  1}', labels = '[ \"k\" ]'"
				   " WHERE id = 'BUG-002'"), 0);
	r = rev(st, bugs, "BUG-002");
	CHANGED(store_patch(st, bugs, "BUG-002", J("{'severity':'low'}"), W("write"), &cause), "write");
	CHECK_INT(rev(st, bugs, "BUG-002"), r + 1);
	s = q("SELECT metadata || '|' || labels || '|' || severity FROM bugs WHERE id = 'BUG-002'");
	CHECK_STR(s, "{\"x\":  1}|[ \"k\" ]|low");
	free(s);
	/* the audit's after is the row as stored, a changed field and an unchanged one */
	s = audit_col(last_audit, "json_extract(after_json, '$.severity') || json_extract(after_json, '$.metadata.x')"
				  " || json_extract(after_json, '$.revision')");
	CHECK(s != NULL);
	if (s) {
		char want[64];
		snprintf(want, sizeof(want), "low1%lld", r + 1);
		CHECK_STR(s, want);
	}
	free(s);
	/* two changes in one save, then the first column alone again: each set of columns has its UPDATE */
	CHANGED(store_patch(st, bugs, "BUG-002", J("{'severity':'high','assignee':'ann'}"), W("write"), &cause),
		"write");
	CHANGED(store_patch(st, bugs, "BUG-002", J("{'severity':'low'}"), W("write"), &cause), "write");
	s = q("SELECT severity || '|' || assignee || '|' || metadata FROM bugs WHERE id = 'BUG-002'");
	CHECK_STR(s, "low|ann|{\"x\":  1}");
	free(s);
	CHECK_INT(rev(st, bugs, "BUG-002"), r + 3);
}

/* Whether a view value has an entity: one row, compared as text like the listing. */
static void test_view_has(void)
{
	const struct map_view *by_status = NULL, *by_priority = NULL;
	char *status, *prio;

	for (size_t i = 0; i < bugs->nviews; i++) {
		if (strcmp(bugs->views[i].dir, "by-status") == 0)
			by_status = &bugs->views[i];
		if (strcmp(bugs->views[i].dir, "by-priority") == 0)
			by_priority = &bugs->views[i];
	}
	CHECK(by_status && by_priority);
	if (!by_status || !by_priority)
		return;
	status = q("SELECT status FROM bugs WHERE id = 'BUG-002'");
	prio = q("SELECT CAST(priority AS TEXT) FROM bugs WHERE id = 'BUG-002'");
	CHECK_INT(store_view_has(st, bugs, by_status, status), 1);
	CHECK_INT(store_view_has(st, bugs, by_priority, prio), 1);
	CHECK_INT(store_view_has(st, bugs, by_status, "no-such-status"), 0);
	CHECK_INT(store_view_has(st, bugs, by_priority, "99"), 0);
	CHECK_INT(store_view_has(st, bugs, by_priority, "1.0"), 0); /* the text the listing shows is "1" */
	CHECK_INT(store_view_has(st, bugs, by_priority, ""), 0);
	free(status);
	free(prio);
}

static void test_stale(void)
{
	cJSON *mine;
	long long r;
	char *s, patch[128];

	/* Another writer changes the row after we read it: our save is refused. */
	mine = get(st, bugs, "BUG-003", 0);
	r = rev(st, bugs, "BUG-003");
	CHECK_INT(testdb_exec(raw, "UPDATE bugs SET title = 'theirs' WHERE id = 'BUG-003'"), SQLITE_OK);
	CHECK_INT(rev(st, bugs, "BUG-003"), r + 1);
	cJSON_ReplaceItemInObjectCaseSensitive(mine, "title", cJSON_CreateString("mine"));
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-003", mine, W("write"), &cause), -ESTALE, "stale");
	s = q("SELECT title FROM bugs WHERE id = 'BUG-003'");
	CHECK_STR(s, "theirs");
	free(s);
	cJSON_Delete(mine);

	/* The cause says which revision was read and which is current. */
	snprintf(patch, sizeof(patch), "{'revision':%lld,'title':'mine'}", r);
	{
		char *cause = NULL;
		CHECK_INT(store_patch(st, bugs, "BUG-003", J(patch), W("write"), &cause), -ESTALE);
		CHECK_CONTAINS(cause, "BUG-003");
		CHECK_CONTAINS(cause, "stale edit");
		snprintf(patch, sizeof(patch), "revision %lld", r);
		CHECK_CONTAINS(cause, patch);
		free(cause);
	}

	/* The current revision is accepted, and then it is stale in turn for
	 * anyone else. */
	snprintf(patch, sizeof(patch), "{'revision':%lld,'title':'mine'}", r + 1);
	CHANGED(store_patch(st, bugs, "BUG-003", J(patch), W("write"), &cause), "write");
	CHECK_INT(rev(st, bugs, "BUG-003"), r + 2);
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-003", J(patch), W2("write"), &cause), -ESTALE, "stale");

	/* Two readers through the store: the second save loses. */
	snprintf(patch, sizeof(patch), "{'revision':%lld,'severity':'low'}", r + 2);
	CHANGED(store_patch(st, bugs, "BUG-003", J(patch), W("write"), &cause), "write");
	snprintf(patch, sizeof(patch), "{'revision':%lld,'severity':'critical'}", r + 2);
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-003", J(patch), W2("write"), &cause), -ESTALE, "stale");
	s = q("SELECT severity FROM bugs WHERE id = 'BUG-003'");
	CHECK_STR(s, "low");
	free(s);

	/* The writer's own saves since the revision it sends are no stale edit
	 * (an editor's second save): applied, over both of its earlier ones. */
	snprintf(patch, sizeof(patch), "{'revision':%lld,'severity':'high','priority':2}", r + 2);
	CHANGED(store_patch(st, bugs, "BUG-003", J(patch), W("write"), &cause), "write");
	CHECK_INT(rev(st, bugs, "BUG-003"), r + 4);
	s = q("SELECT severity || '|' || priority FROM bugs WHERE id = 'BUG-003'");
	CHECK_STR(s, "high|2");
	free(s);
	/* ... but not over another writer's change in between */
	CHECK_INT(testdb_exec(raw, "UPDATE bugs SET title = 'theirs again' WHERE id = 'BUG-003'"), SQLITE_OK);
	snprintf(patch, sizeof(patch), "{'revision':%lld,'severity':'low'}", r + 2);
	REFUSED(ALL_BUGS, store_patch(st, bugs, "BUG-003", J(patch), W("write"), &cause), -ESTALE, "stale");
}

static void test_delete(void)
{
	char *s;

	/* Delete: gone, and the audit row keeps the whole document. */
	CHANGED(store_delete(st, bugs, "BUG-010", W("delete"), &cause), "delete");
	CHECK_INT(store_exists(st, bugs, "BUG-010"), 0);
	s = audit_col(last_audit, "json_extract(before_json, '$.title') || '|' || (after_json IS NULL)");
	CHECK_STR(s, "ten|1");
	free(s);
	s = audit_col(last_audit, "entity_key");
	CHECK_STR(s, "BUG-010");
	free(s);

	/* Deleting what is not there is -ENOENT. */
	REFUSED(ALL_BUGS, store_delete(st, bugs, "BUG-010", W("delete"), &cause), -ENOENT, "BUG-010: no such entity");
}

static void test_logs(void)
{
	const struct map_log *tr = &tasks->logs[0];
	struct strbuf sb = STRBUF_INIT;
	char *s;

#define ALL_TR "SELECT * FROM transcripts ORDER BY id"
	/* A batch of rows is appended in order; the audit row names the log and the task. */
	CHANGED(store_create(st, tasks, NULL, J("{'title':'task one'}"), W("create"), NULL, &cause), "create");
	CHANGED(store_log_append(st, tasks, tr, "TASK-001",
				 J("[{'type':'message','role':'user','content':'hi','timestamp':'2026-01-31 12:00:00'},"
				   "{'content':'hello','role':'assistant','tool_calls':[{'name':'ls'}],'input_tokens':12}]"),
				 W("append"), &cause),
		"append");
	s = audit_col(last_audit, "task_id || ' ' || json_extract(arguments, '$.log') || ' ' || "
				  "json_extract(arguments, '$.rows')");
	CHECK_STR(s, "TASK-001 transcript.jsonl 2");
	free(s);
	CHANGED(store_log_append(st, tasks, tr, "TASK-001", J("[{'content':'third'}]"), W("append"), &cause), "append");
	REFUSED(ALL_TASKS, store_patch(st, tasks, "TASK-001", J("{'workflow_id':'WF-404'}"), W("write"), &cause),
		-EINVAL, "workflow_id: no workflows entity \"WF-404\"");

	strbuf_init(&sb, 0);
	CHECK_INT(store_log_rows(st, tasks, tr, "TASK-001", collect_row, &sb), 0);
	s = sb.buf;
	CHECK(strstr(s, "\"content\":\"hi\"") && strstr(s, "\"content\":\"hello\"") &&
	      strstr(s, "\"content\":\"hi\"") < strstr(s, "\"content\":\"hello\"") &&
	      strstr(s, "\"content\":\"hello\"") < strstr(s, "\"content\":\"third\""));
	CHECK_CONTAINS(s, "{\"id\":1,\"message_uuid\":null,\"run_id\":null,\"type\":\"message\",\"role\":\"user\","
			  "\"content\":\"hi\",\"model\":null,\"input_tokens\":null,\"output_tokens\":null,"
			  "\"tool_calls\":null,\"timestamp\":\"2026-01-31T12:00:00.000Z\"}\n");
	CHECK_CONTAINS(s, "\"tool_calls\":[{\"name\":\"ls\"}]");
	CHECK_CONTAINS(s, "\"input_tokens\":12");
	strbuf_release(&sb);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM transcripts WHERE task_id = 'TASK-001'"), 3);

	/* A bad row fails the whole batch: nothing of it is inserted. */
	REFUSED(ALL_TR,
		store_log_append(st, tasks, tr, "TASK-001", J("[{'content':'ok'},{'content':'x','nope':1}]"),
				 W("append"), &cause),
		-EINVAL, "line 2: unknown field \"nope\"");
	REFUSED(ALL_TR,
		store_log_append(st, tasks, tr, "TASK-001", J("[{'content':'ok'},{'content':'ok'},{'input_tokens':'many'}]"),
				 W("append"), &cause),
		-EINVAL, "line 3: input_tokens: expected an integer");
	REFUSED(ALL_TR, store_log_append(st, tasks, tr, "TASK-001", J("[{'id':5,'content':'x'}]"), W("append"), &cause),
		-EINVAL, "line 1: read-only field \"id\"");
	REFUSED(ALL_TR, store_log_append(st, tasks, tr, "TASK-001", J("[{'content':'ok'},'text']"), W("append"), &cause),
		-EINVAL, "line 2: expected a JSON object");
	REFUSED(ALL_TR,
		store_log_append(st, tasks, tr, "TASK-001", J("[{'timestamp':'never'}]"), W("append"), &cause),
		-EINVAL, "line 1: timestamp: expected an ISO 8601 time");
	REFUSED(ALL_TR,
		store_log_append(st, tasks, tr, "TASK-001",
				 J("[{'message_uuid':'u1','content':'a'},{'message_uuid':'u1','content':'b'}]"),
				 W("append"), &cause),
		-EEXIST, "line 2");
	REFUSED(ALL_TR, store_log_append(st, tasks, tr, "TASK-404", J("[{'content':'x'}]"), W("append"), &cause),
		-ENOENT, "TASK-404: no such entity");

	/* Without a cause pointer a bad batch is refused all the same (and still audited). */
	{
		long long mark = audit_mark(), id;
		CHECK_INT(store_log_append(st, tasks, tr, "TASK-001", J("[{'input_tokens':'x'}]"), W("append"), NULL),
			  -EINVAL);
		CHECK(audit_one(mark, "failure", "append", &id));
	}
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM transcripts"), 3);
#undef ALL_TR
}

/* Versions: unchanged without commits, changed by every commit (ours or another
 * connection's), one apart across exactly one commit; rows of a log after an id. */
static void test_versions(void)
{
	const struct map_log *tr = &tasks->logs[0];
	struct store_version a, b, c;
	struct strbuf sb = STRBUF_INIT;
	int64_t last = -1;
	cJSON *doc = NULL;

	CHECK_INT(store_version(st, &a), 0);
	CHECK_INT(store_get(st, tasks, "TASK-001", 0, &doc), 0); /* a read commits nothing */
	cJSON_Delete(doc);
	CHECK_INT(store_version(st, &b), 0);
	CHECK(store_version_same(&a, &b));
	CHANGED(store_log_append(st, tasks, tr, "TASK-001", J("[{'content':'fourth'}]"), W("append"), &cause), "append");
	CHECK_INT(store_version(st, &b), 0);
	CHECK(!store_version_same(&a, &b));
	CHECK(store_version_next(&a, &b));
	CHECK_INT(testdb_exec(raw, "UPDATE transcripts SET content = 'third!' WHERE content = 'third'"), SQLITE_OK);
	CHECK_INT(store_version(st, &c), 0);
	CHECK(!store_version_same(&b, &c));
	CHECK(store_version_next(&b, &c));
	CHECK(!store_version_next(&a, &c));
	CHECK_INT(testdb_exec(raw, "BEGIN; UPDATE transcripts SET content = 'third' WHERE content = 'third!';"
				   " UPDATE transcripts SET content = 'fourth' WHERE content = 'fourth'; COMMIT"),
		  SQLITE_OK);
	CHECK_INT(store_version(st, &a), 0);
	CHECK(store_version_next(&c, &a)); /* one transaction, one commit */

	strbuf_init(&sb, 0);
	CHECK_INT(store_log_rows_after(st, tasks, tr, "TASK-001", 2, collect_row, &sb, &last), 0);
	CHECK_INT(last, 4);
	CHECK(!strstr(sb.buf, "\"hello\"") && strstr(sb.buf, "\"third\"") && strstr(sb.buf, "\"fourth\""));
	strbuf_release(&sb);
	strbuf_init(&sb, 0);
	last = -1;
	CHECK_INT(store_log_rows_after(st, tasks, tr, "TASK-001", 4, collect_row, &sb, &last), 0);
	CHECK_INT(last, -1);
	CHECK_INT((long long)sb.len, 0);
	strbuf_release(&sb);
}

/* The rewrite counts of the audit log and the feed (0008_rewrites,
 * store_rewrites): appends and orchfs's own saves leave them; an update, a
 * delete or an insert below the newest, by anyone, moves them. */
static int64_t rewrites(const struct map_collection *c)
{
	int64_t n = -1;

	CHECK_INT(store_rewrites(st, c, &n), 0);
	return n;
}

static void test_rewrites(void)
{
	int64_t a0 = rewrites(audit), f0 = rewrites(NULL), n = -1;
	long long top;

	CHECK(a0 >= 0 && f0 >= 0);
	CHECK_INT(store_rewrites(st, bugs, &n), -ENOENT); /* only the append-only streams */
	CHANGED(store_patch(st, bugs, "BUG-001", J("{'title':'counted?'}"), W("write"), &cause), "write");
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM _orchfs_changes WHERE audit_id IS NOT NULL"
				  " AND audit_id = (SELECT max(id) FROM tool_executions)"), 1); /* signed */
	CHECK_INT(testdb_exec(raw, "INSERT INTO tool_executions (tool_name, operation, status) VALUES"
				   " ('agent', 'tool_call', 'success'); UPDATE bugs SET title = 'by sqlite3'"
				   " WHERE id = 'BUG-001'"), SQLITE_OK);
	CHANGED(store_audit_append(st, W("note"), "success", "a note", NULL, NULL, 0, &cause), "note");
	CHECK_INT(rewrites(audit), a0); /* appended, by sqlite3 and by orchfs */
	CHECK_INT(rewrites(NULL), f0);

	top = testdb_int(raw, "SELECT max(id) FROM tool_executions");
	CHECK_INT(testdb_exec(raw, "UPDATE tool_executions SET result = 'rewritten' WHERE id = 1"), SQLITE_OK);
	CHECK_INT(rewrites(audit), a0 + 1);
	CHECK_INT(testdb_exec(raw, "DELETE FROM tool_executions WHERE id = 2"), SQLITE_OK);
	CHECK_INT(rewrites(audit), a0 + 2);
	CHECK_INT(testdb_exec(raw, "INSERT INTO tool_executions (id, tool_name, operation, status) VALUES"
				   " (2, 'agent', 'tool_call', 'success')"), SQLITE_OK);
	CHECK_INT(rewrites(audit), a0 + 3); /* below the newest */
	CHECK_INT(testdb_int(raw, "SELECT max(id) FROM tool_executions"), top);
	CHECK_INT(testdb_exec(raw, "INSERT OR REPLACE INTO tool_executions (id, tool_name, operation, status)"
				   " SELECT max(id), 'agent', 'tool_call', 'failure' FROM tool_executions"), SQLITE_OK);
	CHECK_INT(rewrites(audit), a0 + 4); /* the newest, replaced (0009_replaces) */
	CHECK_INT(rewrites(NULL), f0);

	/* the feed: signing an old row is a rewrite, unless it is the newest audit row's own signing */
	CHECK_INT(testdb_exec(raw, "UPDATE _orchfs_changes SET tool = 'x' WHERE seq = (SELECT min(seq) FROM"
				   " _orchfs_changes WHERE tool IS NULL)"), SQLITE_OK);
	CHECK_INT(rewrites(NULL), f0 + 1);
	CHECK_INT(testdb_exec(raw, "UPDATE _orchfs_changes SET pid = 7 WHERE seq = (SELECT min(seq) FROM"
				   " _orchfs_changes WHERE tool IS NOT NULL)"), SQLITE_OK);
	CHECK_INT(rewrites(NULL), f0 + 2);
	CHECK_INT(testdb_exec(raw, "DELETE FROM _orchfs_changes WHERE seq = (SELECT min(seq) FROM _orchfs_changes)"),
		  SQLITE_OK);
	CHECK_INT(rewrites(NULL), f0 + 3);
	CHECK_INT(testdb_exec(raw, "INSERT OR REPLACE INTO _orchfs_changes (seq, collection, entity_key, operation)"
				   " SELECT max(seq), 'bugs', 'BUG-001', 'update' FROM _orchfs_changes"), SQLITE_OK);
	CHECK_INT(rewrites(NULL), f0 + 4);
	CHECK_INT(rewrites(audit), a0 + 4);
}

static void test_links(void)
{
	const struct map_relation *deps = &tasks->relations[0], *tbugs = &tasks->relations[1];
	struct strbuf sb = STRBUF_INIT;
	char *s;

#define ALL_DEPS "SELECT * FROM task_dependencies ORDER BY task_id, depends_on"
	CHANGED(store_create(st, tasks, NULL, J("{'title':'task two'}"), W("create"), NULL, &cause), "create");
	CHANGED(store_create(st, tasks, NULL, J("{'title':'task three'}"), W("create"), NULL, &cause), "create");

	/* Link: the relation lists the target; the audit row names relation and target. */
	CHANGED(store_link(st, tasks, deps, "TASK-001", "TASK-002", false, W("link"), &cause), "link");
	s = audit_col(last_audit, "task_id || ' ' || json_extract(arguments, '$.relation') || ' ' || "
				  "json_extract(arguments, '$.target')");
	CHECK_STR(s, "TASK-001 deps TASK-002");
	free(s);
	CHANGED(store_link(st, tasks, deps, "TASK-001", "TASK-003", false, W("link"), &cause), "link");
	CHANGED(store_link(st, tasks, tbugs, "TASK-001", "BUG-001", false, W("link"), &cause), "link");
	strbuf_init(&sb, 0);
	CHECK_INT(store_related(st, tasks, deps, "TASK-001", collect_key, &sb), 0);
	CHECK_STR(sb.buf, "TASK-002;TASK-003;");
	strbuf_release(&sb);
	strbuf_init(&sb, 0);
	CHECK_INT(store_related(st, tasks, tbugs, "TASK-001", collect_key, &sb), 0);
	CHECK_STR(sb.buf, "BUG-001;");
	strbuf_release(&sb);

	/* Refused links: twice, to or from nothing, to itself (the schema's CHECK). */
	REFUSED(ALL_DEPS, store_link(st, tasks, deps, "TASK-001", "TASK-002", false, W("link"), &cause), -EEXIST,
		"already linked");
	REFUSED(ALL_DEPS, store_link(st, tasks, deps, "TASK-001", "TASK-404", false, W("link"), &cause), -ENOENT,
		"TASK-404");
	REFUSED(ALL_DEPS, store_link(st, tasks, deps, "TASK-404", "TASK-002", false, W("link"), &cause), -ENOENT,
		"TASK-404");
	REFUSED(ALL_DEPS, store_link(st, tasks, deps, "TASK-002", "TASK-002", false, W("link"), &cause), -EINVAL, "");

	/* Unlink: gone; unlinking what is not linked is -ENOENT. */
	CHANGED(store_unlink(st, tasks, deps, "TASK-001", "TASK-002", W("unlink"), &cause), "unlink");
	strbuf_init(&sb, 0);
	CHECK_INT(store_related(st, tasks, deps, "TASK-001", collect_key, &sb), 0);
	CHECK_STR(sb.buf, "TASK-003;");
	strbuf_release(&sb);
	REFUSED(ALL_DEPS, store_unlink(st, tasks, deps, "TASK-001", "TASK-002", W("unlink"), &cause), -ENOENT,
		"not linked");

	/* Deleting a task moves it to .trash/ (soft delete): it leaves the
	 * collection and links to it are not listed; removing it from the
	 * trash takes its links and its transcript with it (ON DELETE CASCADE). */
	CHANGED(store_delete(st, tasks, "TASK-003", W("delete"), &cause), "delete");
	CHECK_INT(store_exists(st, tasks, "TASK-003"), 0);
	{
		cJSON *trashed = NULL;
		CHECK_INT(store_trash_get(st, tasks, "TASK-003", &trashed), 0);
		cJSON_Delete(trashed);
	}
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM task_dependencies"), 1);
	strbuf_init(&sb, 0);
	CHECK_INT(store_related(st, tasks, deps, "TASK-001", collect_key, &sb), 0);
	CHECK_STR(sb.buf, ""); /* TASK-001 -> TASK-003: in the trash, not listed */
	strbuf_release(&sb);
	CHANGED(store_purge(st, tasks, "TASK-003", W("purge"), &cause), "purge");
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM task_dependencies"), 0);
	REFUSED(ALL_DEPS, store_purge(st, tasks, "TASK-003", W("purge"), &cause), -ENOENT, "not in tasks/.trash");
	CHANGED(store_delete(st, tasks, "TASK-001", W("delete"), &cause), "delete");
	CHANGED(store_purge(st, tasks, "TASK-001", W("purge"), &cause), "purge");
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM transcripts"), 0);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM task_bugs"), 0);
	CHECK_INT(store_exists(st, bugs, "BUG-001"), 1);
	s = audit_col(last_audit, "task_id");
	CHECK_STR(s, "TASK-001"); /* the audit log keeps the task it touched */
	free(s);
#undef ALL_DEPS
}

static void test_readonly(void)
{
	store *ro = NULL;
	char *cause = NULL, *before, *after;
	long long n = testdb_int(raw, "SELECT count(*) FROM tool_executions");
	cJSON *doc;

	/* The audit collection cannot be changed through the store; each attempt is audited. */
	{
		long long mark = audit_mark(), id;
		CHECK_INT(store_patch(st, audit, "1", J("{'result':'forged'}"), W("write"), &cause), -EROFS);
		CHECK_CONTAINS(cause, "audit is read-only");
		CHECK(audit_one(mark, "failure", "write", &id));
		free(cause);
		cause = NULL;
		mark = audit_mark();
		CHECK_INT(store_delete(st, audit, "1", W("delete"), &cause), -EROFS);
		CHECK(audit_one(mark, "failure", "delete", &id));
		free(cause);
		cause = NULL;
		CHECK_INT(testdb_int(raw, "SELECT count(*) FROM tool_executions WHERE result = 'forged'"), 0);
		CHECK_INT(testdb_int(raw, "SELECT count(*) FROM tool_executions WHERE id = 1"), 1);
		CHECK_INT(testdb_int(raw, "SELECT count(*) FROM tool_executions"), n + 2);
	}

	/* A read-only store reads, refuses every change with -EROFS and writes nothing. */
	CHECK_INT(store_open(store_path(st), pdb, "project", STORE_READONLY, &ro, &cause), 0);
	CHECK(cause == NULL);
	if (!ro)
		return;
	CHECK(store_readonly(ro));
	doc = get(ro, bugs, "BUG-001", 0);
	CHECK_FIELD(doc, "id", "\"BUG-001\"");
	cJSON_Delete(doc);
	n = testdb_int(raw, "SELECT count(*) FROM tool_executions");
	before = testdb_dump(raw, ALL_BUGS);
	CHECK_INT(store_patch(ro, bugs, "BUG-001", J("{'title':'ro'}"), W("write"), &cause), -EROFS);
	free(cause);
	cause = NULL;
	CHECK_INT(store_create(ro, bugs, NULL, J("{'title':'ro'}"), W("create"), NULL, &cause), -EROFS);
	free(cause);
	cause = NULL;
	CHECK_INT(store_delete(ro, bugs, "BUG-001", W("delete"), &cause), -EROFS);
	free(cause);
	after = testdb_dump(raw, ALL_BUGS);
	CHECK_STR(after, before);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM tool_executions"), n);
	free(before);
	free(after);
	store_free(ro);
}

static void test_secrets(void)
{
	cJSON *doc;
	char *s;

	adb = uraw;
	/* A key given at creation is stored as is and read back masked. */
	CHANGED(store_create(ust, prov, "anthropic",
			     J("{'provider_type':'anthropic','model':'m1','api_key':'sk-ant-SECRETVALUE-9876'}"),
			     W("create"), NULL, &cause),
		"create");
	s = testdb_text(uraw, "SELECT api_key FROM llm_providers WHERE id = 'anthropic'");
	CHECK_STR(s, "sk-ant-SECRETVALUE-9876");
	free(s);
	doc = get(ust, prov, "anthropic", 0);
	CHECK_FIELD(doc, "api_key", "\"****9876\"");
	cJSON_Delete(doc);
	doc = get(ust, prov, "anthropic", STORE_SECRETS);
	CHECK_FIELD(doc, "api_key", "\"sk-ant-SECRETVALUE-9876\"");
	cJSON_Delete(doc);

	/* Sending the mask back leaves the key alone; the rest of the patch applies. */
	CHANGED(store_patch(ust, prov, "anthropic", J("{'api_key':'****9876','model':'m2'}"), W("write"), &cause),
		"write");
	s = testdb_text(uraw, "SELECT api_key || ' ' || model FROM llm_providers WHERE id = 'anthropic'");
	CHECK_STR(s, "sk-ant-SECRETVALUE-9876 m2");
	free(s);
	doc = get(ust, prov, "anthropic", 0);
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "model", cJSON_CreateString("m3"));
	CHANGED(store_patch(ust, prov, "anthropic", doc, W("write"), &cause), "write");
	cJSON_Delete(doc);
	s = testdb_text(uraw, "SELECT api_key || ' ' || model FROM llm_providers WHERE id = 'anthropic'");
	CHECK_STR(s, "sk-ant-SECRETVALUE-9876 m3");
	free(s);
	UNCHANGED(store_patch(ust, prov, "anthropic", J("{'api_key':'****9876'}"), W("write"), &cause), "write");
	s = audit_col(last_audit, "result");
	CHECK_STR(s, "unchanged");
	free(s);

	/* Writing a new value sets it. */
	CHANGED(store_patch(ust, prov, "anthropic", J("{'api_key':'sk-new-OTHERSECRET-5555'}"), W("write"), &cause),
		"write");
	s = testdb_text(uraw, "SELECT api_key FROM llm_providers WHERE id = 'anthropic'");
	CHECK_STR(s, "sk-new-OTHERSECRET-5555");
	free(s);
	s = audit_col(last_audit, "json_extract(before_json, '$.api_key') || ' ' || json_extract(after_json, '$.api_key')");
	CHECK_STR(s, "****9876 ****5555");
	free(s);

	/* A refused patch that carries a key: nothing changes, the audit row has it masked. */
	{
		long long mark = audit_mark(), id;
		char *cause = NULL;
		CHECK_INT(store_patch(ust, prov, "anthropic", J("{'api_key':'sk-THIRDSECRET-0000','temperature':9}"),
				      W("write"), &cause),
			  -EINVAL);
		CHECK_CONTAINS(cause, "temperature: must be at most 2");
		CHECK(audit_one(mark, "failure", "write", &id));
		s = audit_col(id, "json_extract(arguments, '$.api_key')");
		CHECK_STR(s, "****0000");
		free(s);
		free(cause);
	}
	s = testdb_text(uraw, "SELECT api_key FROM llm_providers WHERE id = 'anthropic'");
	CHECK_STR(s, "sk-new-OTHERSECRET-5555");
	free(s);

	/* Short keys show nothing of themselves; null clears. */
	CHANGED(store_create(ust, prov, "local", J("{'api_key':'abc12345'}"), W("create"), NULL, &cause), "create");
	doc = get(ust, prov, "local", 0);
	CHECK_FIELD(doc, "api_key", "\"****\"");
	cJSON_Delete(doc);
	CHANGED(store_patch(ust, prov, "local", J("{'api_key':null}"), W("write"), &cause), "write");
	s = testdb_text(uraw, "SELECT quote(api_key) FROM llm_providers WHERE id = 'local'");
	CHECK_STR(s, "NULL");
	free(s);

	/* Deleting keeps the masked document only. */
	CHANGED(store_delete(ust, prov, "anthropic", W("delete"), &cause), "delete");
	s = audit_col(last_audit, "json_extract(before_json, '$.api_key')");
	CHECK_STR(s, "****5555");
	free(s);

	/* No audit row anywhere holds a raw key. */
	CHECK_INT(testdb_int(uraw, "SELECT count(*) FROM tool_executions"), 9);
	CHECK_INT(testdb_int(uraw, "SELECT count(*) FROM tool_executions WHERE "
				   "instr(coalesce(arguments, '') || coalesce(result, '') || coalesce(before_json, '') ||"
				   " coalesce(after_json, '') || coalesce(path, ''), 'SECRET') > 0 OR "
				   "instr(coalesce(arguments, '') || coalesce(before_json, '') || "
				   "coalesce(after_json, ''), 'abc12345') > 0"),
		  0);
	adb = raw;
}

int main(void)
{
	char *cause = NULL, *path = testdb_path("project.db"), *upath = testdb_path("user.db");

	if (map_load_builtin("native", &m, &cause) != 0) {
		fprintf(stderr, "native mapping: %s\n", cause);
		return 1;
	}
	pdb = map_database(m, "project");
	udb = map_database(m, "user");
	bugs = map_collection(pdb, "bugs");
	tasks = map_collection(pdb, "tasks");
	rules = map_collection(pdb, "rules");
	audit = map_collection(pdb, "audit");
	prov = map_collection(udb, "providers");

	/* Fresh databases, created and migrated on open. */
	CHECK_INT(store_open(path, pdb, "project", STORE_CREATE, &st, &cause), 0);
	CHECK_INT(store_open(upath, udb, "user", STORE_CREATE, &ust, &cause), 0);
	if (!st || !ust) {
		fprintf(stderr, "store_open: %s\n", cause ? cause : "?");
		return check_done();
	}
	CHECK_STR(store_path(st), path);
	CHECK(store_map(st) == pdb);
	CHECK(!store_readonly(st));
	raw = adb = testdb_open(path);
	uraw = testdb_open(upath);
	CHECK_INT(testdb_int(raw, "SELECT count(*) FROM tool_executions"), 0);

	test_create();
	test_get();
	test_patch();
	test_patch_columns();
	test_view_has();
	test_stale();
	test_delete();
	test_logs();
	test_versions();
	test_rewrites();
	test_links();
	test_readonly();
	test_secrets();

	sqlite3_close(raw);
	sqlite3_close(uraw);
	store_free(st);
	store_free(ust);
	map_free(m);
	for (int i = 0; i < npool; i++)
		cJSON_Delete(pool[i]);
	free(path);
	free(upath);
	return check_done();
}
