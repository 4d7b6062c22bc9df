/*
 * cmd_orca.c - Orca's verbs without a mount: `orchfs bug|rule|task|workflow
 * ...` (SPEC §1). Each is a thin wrapper over the store calls the mount
 * uses, so the validation, the errors and the audit row are the same; the
 * audit names the tool "orchfs" and the command line as the path.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/render.h"
#include "mount/cmd.h"
#include "mount/project.h"
#include "store/util.h"

struct orca {
	struct project *p;
	store *st;
	const struct map_collection *c;
	struct store_actor who;
	char line[512];
};

/* --db PATH and --user-db PATH (or --db=PATH), anywhere in the verb's
 * arguments as for every other command: taken out of argv, kept here. */
static struct project_opts orca_po = { .create = true };

static int orca_db_opts(int argc, char **argv)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char **to = strncmp(argv[i], "--db", 4) == 0 ? &orca_po.db
				  : strncmp(argv[i], "--user-db", 9) == 0 ? &orca_po.user_db : NULL;
		const char *rest = to ? argv[i] + (to == &orca_po.db ? 4 : 9) : NULL;
		if (to && *rest == '=') {
			*to = rest + 1;
			continue;
		}
		if (to && !*rest && i + 1 < argc) {
			*to = argv[++i];
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

static int orca_open(struct orca *o, const char *coll, const char *op, int argc, char **argv)
{
	struct project_opts po = orca_po;
	char *cause = NULL;
	int rc;

	memset(o, 0, sizeof(*o));
	if ((rc = project_open(&po, &o->p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return -1;
	}
	o->st = project_store(o->p, "project");
	if (!o->st || !(o->c = map_collection(store_map(o->st), coll))) {
		cmd_error("this database has no %s", coll);
		project_free(o->p);
		return -1;
	}
	cmd_actor(&o->who, op, o->line, sizeof(o->line), argc, argv);
	return 0;
}

static int orca_done(struct orca *o, int rc, char *cause)
{
	if (rc)
		cmd_error("%s", cause ? cause : strerror(-rc));
	free(cause);
	project_free(o->p);
	return rc ? 1 : 0;
}

static void orca_print_doc(const cJSON *doc)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_init(&sb, 512);
	render_document(doc, &sb);
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
}

struct orca_list {
	const char *field, *value; /* filter, or NULL */
	const char *const *cols;   /* columns of the table */
};

static int orca_list_row(void *arg, const cJSON *doc)
{
	struct orca_list *ol = arg;
	const cJSON *v;

	if (ol->field) {
		v = cJSON_GetObjectItemCaseSensitive(doc, ol->field);
		if (!cJSON_IsString(v) || strcmp(v->valuestring, ol->value) != 0)
			return 0;
	}
	for (const char *const *c = ol->cols; *c; c++) {
		v = cJSON_GetObjectItemCaseSensitive(doc, *c);
		if (cJSON_IsString(v))
			printf("%s%s", c == ol->cols ? "" : "\t", v->valuestring);
		else if (cJSON_IsNumber(v))
			printf("%s%.0f", c == ol->cols ? "" : "\t", v->valuedouble);
		else if (cJSON_IsBool(v))
			printf("%s%s", c == ol->cols ? "" : "\t", cJSON_IsTrue(v) ? "enabled" : "disabled");
		else
			printf("%s-", c == ol->cols ? "" : "\t");
	}
	printf("\n");
	return 0;
}

/* Field options shared by the create verbs: -d description, -p priority, ... */
static int orca_fields(int argc, char **argv, const char *optstr, const struct option *lo, cJSON *doc, char **id)
{
	int opt;
	cJSON *v;

	optind = 2;
	while ((opt = getopt_long(argc, argv, optstr, lo, NULL)) != -1) {
		switch (opt) {
		case 'd':
			cJSON_AddStringToObject(doc, "description", optarg);
			break;
		case 'p': {
			char *end;
			double pr = strtod(optarg, &end);
			if (end == optarg || *end) {
				cmd_error("-p: expected a number, got \"%s\"", optarg);
				return -1;
			}
			cJSON_AddNumberToObject(doc, "priority", pr);
			break;
		}
		case 's':
			cJSON_AddStringToObject(doc, "severity", optarg);
			break;
		case 'a':
			cJSON_AddStringToObject(doc, "assignee", optarg);
			break;
		case 't':
			cJSON_AddStringToObject(doc, "rule_type", optarg);
			break;
		case 'P':
			cJSON_AddStringToObject(doc, "pattern", optarg);
			break;
		case 'i':
			*id = optarg;
			break;
		case 'c': {
			char *why = NULL;
			if (!(v = json_parse(optarg, strlen(optarg), &why))) {
				cmd_error("-c: the config is not valid JSON: %s", why);
				free(why);
				return -1;
			}
			cJSON_AddItemToObject(doc, "config", v);
			break;
		}
		default:
			return -1;
		}
	}
	return optind;
}

/* A key from a name: lowercase letters and digits, the rest as '-'. */
static char *orca_slug(const char *name)
{
	char *s = xstrdup(name), *p;

	for (p = s; *p; p++)
		*p = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32)
		     : ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) ? *p : '-';
	return s;
}

static int orca_create(int argc, char **argv, const char *coll, const char *namefield, const char *optstr,
		       const struct option *lo, bool slug)
{
	struct orca o;
	cJSON *doc = cJSON_CreateObject();
	char *cause = NULL, *key = NULL, *id = NULL, *made = NULL;
	int i, rc;

	if ((i = orca_fields(argc, argv, optstr, lo, doc, &id)) < 0 || i != argc - 1) {
		cJSON_Delete(doc);
		return cmd_usage(argv[0]);
	}
	cJSON_AddStringToObject(doc, namefield, argv[i]);
	if (orca_open(&o, coll, "create", argc, argv)) {
		cJSON_Delete(doc);
		return 1;
	}
	if (!id && slug && !o.c->alloc)
		id = made = orca_slug(argv[i]);
	{
		char *path = id ? xasprintf("%s/%s%s", o.c->dir, id, o.c->file ? "" : map_suffix(o.c))
				: xasprintf("%s/new", o.c->dir);
		rc = cmd_permit(o.p, o.st, o.c, id, path, doc, &o.who, &cause);
		free(path);
	}
	if (!rc)
		rc = store_create(o.st, o.c, id, doc, &o.who, &key, &cause);
	if (!rc)
		printf("%s\n", key);
	free(key);
	free(made);
	cJSON_Delete(doc);
	return orca_done(&o, rc, cause);
}

static int orca_show(int argc, char **argv, const char *coll)
{
	struct orca o;
	cJSON *doc = NULL;
	char *cause = NULL;
	int rc;

	if (argc != 3)
		return cmd_usage(argv[0]);
	if (orca_open(&o, coll, "show", argc, argv))
		return 1;
	if ((rc = store_get(o.st, o.c, argv[2], 0, &doc)) == 0)
		orca_print_doc(doc);
	else if (rc == -ENOENT)
		cause = xasprintf("%s/%s: no such entity", coll, argv[2]);
	cJSON_Delete(doc);
	return orca_done(&o, rc, cause);
}

static int orca_list(int argc, char **argv, const char *coll, const char *const *cols, const char *field,
		     const char *value)
{
	struct orca_list ol = { field, value, cols };
	struct orca o;

	if (orca_open(&o, coll, "list", argc, argv))
		return 1;
	return orca_done(&o, store_docs(o.st, o.c, orca_list_row, &ol), NULL);
}

/* Patch one entity with the fields given as name/value JSON text pairs. */
static int orca_patch(int argc, char **argv, const char *coll, const char *key, const char *json)
{
	struct orca o;
	cJSON *patch = cJSON_Parse(json);
	char *cause = NULL;
	int rc;

	if (orca_open(&o, coll, "write", argc, argv)) {
		cJSON_Delete(patch);
		return 1;
	}
	{
		char *path = o.c->file ? xasprintf("%s/%s/%s", o.c->dir, key, o.c->file)
				       : xasprintf("%s/%s%s", o.c->dir, key, map_suffix(o.c));
		rc = cmd_permit(o.p, o.st, o.c, key, path, patch, &o.who, &cause);
		free(path);
	}
	if (!rc && (rc = store_patch(o.st, o.c, key, patch, &o.who, &cause)) == STORE_UNCHANGED) {
		printf("%s/%s unchanged\n", coll, key);
		rc = 0;
	} else if (!rc) {
		printf("%s/%s updated\n", coll, key);
	}
	cJSON_Delete(patch);
	return orca_done(&o, rc, cause);
}

int cmd_bug(int argc, char **argv)
{
	static const struct option lo[] = { { "description", required_argument, NULL, 'd' },
					    { "priority", required_argument, NULL, 'p' },
					    { "severity", required_argument, NULL, 's' },
					    { "assignee", required_argument, NULL, 'a' },
					    { NULL, 0, NULL, 0 } };
	static const char *const cols[] = { "id", "status", "priority", "title", NULL };
	char json[128], when[40];
	cJSON *s;
	char *q;

	argc = orca_db_opts(argc, argv);
	if (argc < 2)
		return cmd_usage("bug");
	if (strcmp(argv[1], "create") == 0)
		return orca_create(argc, argv, "bugs", "title", "d:p:s:a:", lo, false);
	if (strcmp(argv[1], "list") == 0 && argc <= 3)
		return orca_list(argc, argv, "bugs", cols, argc == 3 ? "status" : NULL, argc == 3 ? argv[2] : NULL);
	if (strcmp(argv[1], "show") == 0)
		return orca_show(argc, argv, "bugs");
	if (strcmp(argv[1], "update-status") == 0 && argc == 4) {
		s = cJSON_CreateString(argv[3]);
		q = cJSON_PrintUnformatted(s);
		snprintf(json, sizeof(json), "{\"status\":%.100s}", q);
		cJSON_free(q);
		cJSON_Delete(s);
		return orca_patch(argc, argv, "bugs", argv[2], json);
	}
	if (strcmp(argv[1], "close") == 0 && argc == 3) {
		time_format_iso(time_now_ms(), when, sizeof(when));
		snprintf(json, sizeof(json), "{\"status\":\"fixed\",\"resolved_at\":\"%s\"}", when);
		return orca_patch(argc, argv, "bugs", argv[2], json);
	}
	return cmd_usage("bug");
}

int cmd_rule(int argc, char **argv)
{
	static const struct option lo[] = { { "type", required_argument, NULL, 't' },
					    { "config", required_argument, NULL, 'c' },
					    { "severity", required_argument, NULL, 's' },
					    { "description", required_argument, NULL, 'd' },
					    { "id", required_argument, NULL, 'i' },
					    { NULL, 0, NULL, 0 } };
	static const char *const cols[] = { "id", "rule_type", "severity", "enabled", "name", NULL };

	argc = orca_db_opts(argc, argv);
	if (argc < 2)
		return cmd_usage("rule");
	if (strcmp(argv[1], "create") == 0)
		return orca_create(argc, argv, "rules", "name", "t:c:s:d:i:", lo, true);
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return orca_list(argc, argv, "rules", cols, NULL, NULL);
	if (strcmp(argv[1], "list-type") == 0 && argc == 3)
		return orca_list(argc, argv, "rules", cols, "rule_type", argv[2]);
	if (strcmp(argv[1], "show") == 0)
		return orca_show(argc, argv, "rules");
	if ((strcmp(argv[1], "enable") == 0 || strcmp(argv[1], "disable") == 0) && argc == 3)
		return orca_patch(argc, argv, "rules", argv[2],
				  strcmp(argv[1], "enable") == 0 ? "{\"enabled\":true}" : "{\"enabled\":false}");
	return cmd_usage("rule");
}

int cmd_task(int argc, char **argv)
{
	static const struct option lo[] = { { "description", required_argument, NULL, 'd' },
					    { "priority", required_argument, NULL, 'p' },
					    { NULL, 0, NULL, 0 } };
	static const char *const cols[] = { "id", "status", "priority", "title", NULL };

	argc = orca_db_opts(argc, argv);
	if (argc < 2)
		return cmd_usage("task");
	if (strcmp(argv[1], "create") == 0)
		return orca_create(argc, argv, "tasks", "title", "d:p:", lo, false);
	if (strcmp(argv[1], "list") == 0 && argc <= 3)
		return orca_list(argc, argv, "tasks", cols, argc == 3 ? "status" : NULL, argc == 3 ? argv[2] : NULL);
	if (strcmp(argv[1], "show") == 0)
		return orca_show(argc, argv, "tasks");
	return cmd_usage("task");
}

int cmd_workflow(int argc, char **argv)
{
	static const struct option lo[] = { { "description", required_argument, NULL, 'd' },
					    { "pattern", required_argument, NULL, 'P' },
					    { "id", required_argument, NULL, 'i' },
					    { NULL, 0, NULL, 0 } };
	static const char *const cols[] = { "id", "status", "pattern", "name", NULL };

	argc = orca_db_opts(argc, argv);
	if (argc < 2)
		return cmd_usage("workflow");
	if (strcmp(argv[1], "create") == 0)
		return orca_create(argc, argv, "workflows", "name", "d:P:i:", lo, true);
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return orca_list(argc, argv, "workflows", cols, NULL, NULL);
	if (strcmp(argv[1], "show") == 0)
		return orca_show(argc, argv, "workflows");
	return cmd_usage("workflow");
}
