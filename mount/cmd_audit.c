/*
 * cmd_audit.c - the audit log and the permission rules from the command
 * line: `orchfs audit`, `undo`, `approve`, `reject` and `check`. They work
 * on the database directly (no mount needed) through the same store calls
 * the mount uses, so they validate and audit the same way.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/render.h"
#include "mount/cmd.h"
#include "mount/project.h"
#include "store/util.h"

static const struct option audit_opts[] = {
	{ "db", required_argument, NULL, 'd' },   { "user-db", required_argument, NULL, 'u' },
	{ "tool", required_argument, NULL, 't' }, { "task", required_argument, NULL, 'k' },
	{ "since", required_argument, NULL, 's' }, { "follow", no_argument, NULL, 'f' },
	{ "reason", required_argument, NULL, 'r' }, { "schema", required_argument, NULL, PROJECT_OPT_SCHEMA },
	{ NULL, 0, NULL, 0 },
};

struct audit_args {
	const char *db, *user_db, *schema, *tool, *task, *reason;
	int64_t since_ms; /* 0: all */
	bool follow;
};

/* Parse the shared options; returns the index of the first operand or -1. */
static int audit_parse(int argc, char **argv, const char *cmd, struct audit_args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", audit_opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			a->db = optarg;
			break;
		case 'u':
			a->user_db = optarg;
			break;
		case PROJECT_OPT_SCHEMA:
			a->schema = optarg;
			break;
		case 't':
			a->tool = optarg;
			break;
		case 'k':
			a->task = optarg;
			break;
		case 'r':
			a->reason = optarg;
			break;
		case 'f':
			a->follow = true;
			break;
		case 's':
			if (time_parse_iso(optarg, &a->since_ms) < 0) {
				cmd_error("--since: expected an ISO 8601 time like 2026-01-31T12:00:00Z, got \"%s\"", optarg);
				return -1;
			}
			break;
		default:
			cmd_usage(cmd);
			return -1;
		}
	}
	return optind;
}

static int audit_open(const struct audit_args *a, bool readonly, struct project **p, store **st)
{
	struct project_opts po = { .db = a->db, .user_db = a->user_db, .schema = a->schema, .readonly = readonly };
	char *cause = NULL;
	int rc;

	if ((rc = project_open(&po, p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return rc;
	}
	*st = project_store(*p, "project");
	return 0;
}

struct audit_print {
	const struct audit_args *a;
	int64_t last;
	long rows;
};

static const char *audit_str(const cJSON *row, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int audit_print_row(void *arg, const cJSON *row)
{
	struct audit_print *ap = arg;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");
	const char *tool = audit_str(row, "tool_name"), *task = audit_str(row, "task_id");
	const char *when = audit_str(row, "created_at");
	struct strbuf sb = STRBUF_INIT;
	int64_t ms;

	if (cJSON_IsNumber(id))
		ap->last = (int64_t)id->valuedouble;
	if ((ap->a->tool && (!tool || strcmp(tool, ap->a->tool) != 0)) ||
	    (ap->a->task && (!task || strcmp(task, ap->a->task) != 0)) ||
	    (ap->a->since_ms && (!when || time_parse_iso(when, &ms) < 0 || ms < ap->a->since_ms)))
		return 0;
	strbuf_init(&sb, 512);
	render_line(row, &sb);
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	ap->rows++;
	return 0;
}

static volatile sig_atomic_t audit_stop;

static void audit_on_signal(int sig)
{
	audit_stop = 1;
}

int cmd_audit(int argc, char **argv)
{
	struct audit_args a;
	struct audit_print ap = { &a, 0, 0 };
	const struct map_collection *c = NULL;
	struct project *p = NULL;
	int64_t version = -1, v;
	int i, rc = 0;
	store *st = NULL;

	if ((i = audit_parse(argc, argv, "audit", &a)) < 0)
		return 2;
	if (i != argc)
		return cmd_usage("audit");
	if (audit_open(&a, true, &p, &st))
		return 1;
	for (size_t j = 0; st && j < store_map(st)->ncollections; j++)
		if (store_is_audit(st, &store_map(st)->collections[j]))
			c = &store_map(st)->collections[j];
	if (!c) {
		cmd_error("this database keeps no audit log");
		project_free(p);
		return 1;
	}
	signal(SIGINT, audit_on_signal);
	signal(SIGTERM, audit_on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!audit_stop) {
		if ((rc = store_data_version(st, &v)))
			break;
		if (v != version) {
			version = v;
			if ((rc = store_docs_after(st, c, ap.last, audit_print_row, &ap)))
				break;
		}
		if (!a.follow)
			break;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (rc)
		cmd_error("cannot read the audit log: %s", strerror(-rc));
	project_free(p);
	return rc ? 1 : 0;
}

static int audit_decide(int argc, char **argv, bool approve)
{
	const char *cmd = approve ? "approve" : "reject";
	struct store_actor who;
	struct audit_args a;
	struct project *p = NULL;
	char *cause = NULL, *end, line[256];
	int64_t id;
	int i, rc;
	store *st;

	cmd_actor(&who, cmd, line, sizeof(line), argc, argv); /* decided_by: orchfs */
	if ((i = audit_parse(argc, argv, cmd, &a)) < 0)
		return 2;
	if (i != argc - 1 || (id = strtoll(argv[i], &end, 10), *end) || id <= 0)
		return cmd_usage(cmd);
	if (audit_open(&a, false, &p, &st))
		return 1;
	rc = store_decide(st, id, approve, &who, a.reason, &cause);
	if (rc)
		cmd_error("%s", cause ? cause : strerror(-rc));
	else
		printf("approvals/%lld %s\n", (long long)id, approve ? "approved: the change is applied" : "rejected");
	free(cause);
	project_free(p);
	return rc ? 1 : 0;
}

int cmd_approve(int argc, char **argv)
{
	return audit_decide(argc, argv, true);
}

int cmd_reject(int argc, char **argv)
{
	return audit_decide(argc, argv, false);
}

int cmd_undo(int argc, char **argv)
{
	struct store_actor who;
	struct audit_args a;
	struct project *p = NULL;
	char *cause = NULL, *end, line[256];
	int64_t id;
	int i, rc;
	store *st;

	if ((i = audit_parse(argc, argv, "undo", &a)) < 0)
		return 2;
	if (i != argc - 1 || (id = strtoll(argv[i], &end, 10), *end) || id <= 0)
		return cmd_usage("undo");
	if (audit_open(&a, false, &p, &st))
		return 1;
	cmd_actor(&who, "undo", line, sizeof(line), argc, argv);
	rc = store_undo(st, id, &who, &cause);
	if (rc)
		cmd_error("%s", cause ? cause : strerror(-rc));
	else
		printf("undid audit/%lld\n", (long long)id);
	free(cause);
	project_free(p);
	return rc ? 1 : 0;
}

int cmd_check(int argc, char **argv)
{
	static const char *const words[] = { "allow", "deny", "requires_approval" };
	static const char *const statuses[] = { "success", "denied", "pending" };
	struct store_actor who;
	struct audit_args a;
	struct project *p = NULL;
	const cJSON *path;
	cJSON *args;
	char *reason = NULL, *cause = NULL, line[256];
	int i, rc;
	store *st;

	if ((i = audit_parse(argc, argv, "check", &a)) < 0)
		return 2;
	if (i != argc - 2)
		return cmd_usage("check");
	char *why = NULL;
	if (!(args = json_parse(argv[i + 1], strlen(argv[i + 1]), &why)) || !cJSON_IsObject(args)) {
		cmd_error("ARGS must be a JSON object, like '{\"path\":\"bugs/BUG-001.json\"}'%s%s", why ? ": " : "",
			  why ? why : "");
		free(why);
		cJSON_Delete(args);
		return 2;
	}
	if (audit_open(&a, false, &p, &st)) {
		cJSON_Delete(args);
		return 1;
	}
	path = cJSON_GetObjectItemCaseSensitive(args, "path");
	rc = store_permit(st, argv[i], cJSON_IsString(path) ? path->valuestring : NULL, args, &reason);
	if (rc >= 0) {
		/* the arguments are recorded, never a secret among them (SPEC §6):
		 * every member of a secret field's name (one given twice too) */
		for (cJSON *m = args->child; m; m = m->next) {
			bool secret = false;
			for (size_t k = 0; k < p->nstores && !secret; k++) {
				const struct map_database *db = store_map(p->stores[k]);
				for (size_t j = 0; j < db->ncollections && !secret; j++)
					for (size_t c = 0; c < db->collections[j].ncolumns && !secret; c++)
						secret = db->collections[j].columns[c].secret &&
							 strcmp(db->collections[j].columns[c].name, m->string) == 0;
			}
			if (secret) {
				cJSON *masked = cJSON_CreateString("****");
				masked->string = m->string; /* the name moves to the masked value */
				masked->type |= m->type & cJSON_StringIsConst;
				m->string = NULL;
				cJSON_ReplaceItemViaPointer(args, m, masked);
				m = masked;
			}
		}
		snprintf(line, sizeof(line), "orchfs check %s", argv[i]);
		memset(&who, 0, sizeof(who));
		who.operation = "check";
		who.path = line;
		who.pid = getpid();
		who.uid = getuid();
		who.tool = argv[i];
		who.process = "orchfs";
		if (store_audit_append(st, &who, statuses[rc], reason ? reason : words[rc], args, NULL, 0, &cause))
			cmd_error("cannot record the decision: %s", cause ? cause : "unknown error");
		printf("%s%s%s\n", words[rc], reason ? ": " : "", reason ? reason : "");
	} else {
		cmd_error("cannot read the permission rules: %s", strerror(-rc));
	}
	free(reason);
	free(cause);
	cJSON_Delete(args);
	project_free(p);
	return rc < 0 ? 1 : rc == 0 ? 0 : rc == 1 ? 1 : 3;
}
