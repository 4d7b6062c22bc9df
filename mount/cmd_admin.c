/*
 * cmd_admin.c - the commands that look after the databases: init,
 * migrate, health, version and stats. None of them needs a mount.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <fuse_lowlevel.h>
#include <sqlite3.h>

#include "mount/cmd.h"
#include "mount/project.h"
#include "store/util.h"

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = { { "force", no_argument, NULL, 'F' }, { NULL, 0, NULL, 0 } };
	struct project_opts po = { .create = true };
	struct project *p = NULL;
	char *dir, *db, *cause = NULL, real[PATH_MAX];
	bool existed;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (opt != 'F')
			return cmd_usage("init");
	if (argc - optind > 1)
		return cmd_usage("init");
	if (optind < argc && mkdir(argv[optind], 0755) < 0 && errno != EEXIST) {
		cmd_error("cannot create %s: %s", argv[optind], strerror(errno));
		return 1;
	}
	if (!realpath(optind < argc ? argv[optind] : ".", real)) {
		cmd_error("cannot use %s: %s", optind < argc ? argv[optind] : ".", strerror(errno));
		return 1;
	}
	dir = xasprintf("%s/.orchfs", strcmp(real, "/") == 0 ? "" : real);
	db = xasprintf("%s/project.db", dir);
	existed = access(db, F_OK) == 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cmd_error("cannot create %s: %s", dir, strerror(errno));
		free(dir);
		free(db);
		return 1;
	}
	po.db = db;
	rc = project_open(&po, &p, &cause);
	if (rc) {
		cmd_error("%s", cause ? cause : strerror(-rc));
	} else {
		printf("%s orchfs project in %s/\n", existed ? "Reinitialized existing" : "Initialized empty",
		       dir);
		printf("user database: %s\n", p->user_db_path);
	}
	project_free(p);
	free(cause);
	free(dir);
	free(db);
	return rc ? 1 : 0;
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = { { "db", required_argument, NULL, 'd' },
						  { "user-db", required_argument, NULL, 'u' },
						  { "user", no_argument, NULL, 'U' },
						  { "to", required_argument, NULL, 'T' },
						  { NULL, 0, NULL, 0 } };
	struct project_opts po = { .no_migrate = true };
	const char *verb = "status", *which = "project", *to = NULL;
	struct project *p = NULL;
	char *cause = NULL, *end;
	int opt, rc = 0, target = -1, cur, latest;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (project_option(opt, optarg, &po))
			continue;
		if (opt == 'U')
			which = "user";
		else if (opt == 'T')
			to = optarg;
		else
			return cmd_usage("migrate");
	}
	if (to) /* another database, maybe on another engine: a copy, verified */
		return optind == argc ? data_migrate_to(&po, to) : cmd_usage("migrate");
	if (optind < argc)
		verb = argv[optind++];
	if (strcmp(verb, "down") == 0) {
		if (optind >= argc || (target = (int)strtol(argv[optind], &end, 10), *end) || target < 0)
			return cmd_usage("migrate");
		optind++;
	} else if (strcmp(verb, "status") != 0 && strcmp(verb, "up") != 0 && strcmp(verb, "verify") != 0 &&
		   strcmp(verb, "rollback") != 0) {
		return cmd_usage("migrate");
	}
	if (optind != argc)
		return cmd_usage("migrate");
	if ((rc = project_open(&po, &p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return 1;
	}
	for (size_t i = 0; i < p->nstores; i++) {
		const char *name = store_map(p->stores[i])->name;
		store *st = p->stores[i];
		char *mnt;
		if (strcmp(verb, "status") != 0 && strcmp(verb, "verify") != 0 &&
		    (mnt = project_mounted_at(store_path(st)))) {
			/* a daemon holds it: changing its schema under it loses what it writes */
			cmd_error("%s is mounted at %s: unmount it first (orchfs umount %s)", store_path(st), mnt, mnt);
			free(mnt);
			rc = 1;
			break;
		}
		if (strcmp(verb, "status") == 0) {
			if ((rc = store_migrate_status(st, &cur, &latest)) == 0)
				printf("%-8s %s: version %d of %d%s\n", name, store_path(st), cur, latest,
				       cur < latest ? " (run `orchfs migrate up`)" : "");
			continue;
		}
		if (strcmp(verb, "verify") == 0) {
			int bad = store_migrate_verify(st, &cause);
			printf("%-8s %s: %s\n", name, store_path(st), bad ? cause : "verified");
			free(cause);
			cause = NULL;
			rc = rc ? rc : bad;
			continue;
		}
		if (strcmp(verb, "rollback") == 0) {
			if (strcmp(name, which) != 0)
				continue;
			if ((rc = store_migrate_rollback(st, &cause))) {
				cmd_error("%s: %s", store_path(st), cause ? cause : strerror(-rc));
				break;
			}
			store_migrate_status(st, &cur, &latest);
			printf("%-8s %s: restored from %s.bak, now at version %d of %d\n", name, store_path(st),
			       store_path(st), cur, latest);
			break;
		}
		if (strcmp(verb, "up") != 0 && strcmp(name, which) != 0)
			continue;
		if ((rc = store_migrate_status(st, &cur, &latest)))
			break;
		if ((rc = store_migrate_to(st, target < 0 ? latest : target, &cause))) {
			cmd_error("%s: %s", store_path(st), cause ? cause : strerror(-rc));
			break;
		}
		store_migrate_status(st, &cur, &latest);
		printf("%-8s %s: now at version %d of %d\n", name, store_path(st), cur, latest);
		if (strcmp(verb, "up") != 0)
			break;
	}
	project_free(p);
	free(cause);
	return rc ? 1 : 0;
}

static int admin_integrity(const char *path, char **msg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		*msg = xstrdup((const char *)sqlite3_column_text(s, 0));
	else
		*msg = xstrdup(sqlite3_errmsg(db));
	sqlite3_finalize(s);
	sqlite3_close_v2(db);
	return strcmp(*msg, "ok") == 0 ? 0 : -1;
}

int cmd_health(int argc, char **argv)
{
	struct project_opts po = { .readonly = true };
	struct project *p = NULL;
	char *cause = NULL, *msg = NULL;
	int rc, bad = 0, cur, latest;

	if (project_getopt(argc, argv, "health", &po) != argc)
		return 2;
	if ((rc = project_open(&po, &p, &cause))) {
		printf("unhealthy: %s\n", cause ? cause : strerror(-rc));
		free(cause);
		return 1;
	}
	for (size_t i = 0; i < p->nstores; i++) {
		store *st = p->stores[i];
		int ok;
		if (store_is_server(store_path(st))) {
			/* A server keeps its own integrity: sound when it answers. */
			int r = store_migrate_status(st, &cur, &latest);
			ok = r == 0;
			msg = ok ? NULL : xasprintf("the server does not answer: %s", strerror(-r));
		} else {
			ok = admin_integrity(store_path(st), &msg) == 0;
		}
		if (store_map(st)->sidecar) { /* a tool's own file: its schema is the tool's */
			printf("%-8s %s: %s, the %s tool's own schema (audit in %s)\n", store_map(st)->name,
			       store_path(st), ok ? "ok" : msg, p->map->schema, store_sidecar_file(st));
			bad += !ok;
			free(msg);
			continue;
		}
		store_migrate_status(st, &cur, &latest);
		printf("%-8s %s: %s, schema version %d of %d\n", store_map(st)->name, store_path(st),
		       ok ? "ok" : msg, cur, latest);
		bad += !ok || cur != latest;
		free(msg);
	}
	printf("%s\n", bad ? "unhealthy" : "healthy");
	project_free(p);
	return bad ? 1 : 0;
}

int cmd_version(int argc, char **argv)
{
	printf("orchfs %s\n", ORCHFS_VERSION);
	printf("sqlite %s, libpq %d.%d, libfuse %s, cjson %s\n", sqlite3_libversion(), store_libpq_version() / 10000,
	       store_libpq_version() % 10000, fuse_pkgversion(), cJSON_Version());
	printf("schema versions: project %d, user %d\n", store_migrate_latest("project"), store_migrate_latest("user"));
	return 0;
}

static int admin_count(void *arg, const char *key)
{
	(*(long *)arg)++;
	return 0;
}

struct admin_totals {
	store *st;
	const struct map_collection *c;
	const struct map_view *v;
};

static int admin_total(void *arg, const char *value)
{
	struct admin_totals *t = arg;
	long n = 0;

	store_view_list(t->st, t->c, t->v, value, admin_count, &n);
	printf("audit:%-14s %ld\n", value, n);
	return 0;
}

/* The audit log's totals by status, from its by-status view. */
static void admin_audit_totals(struct project *p)
{
	store *st = project_store(p, "project");
	const struct map_collection *c = st ? map_collection(store_map(st), "audit") : NULL;
	struct admin_totals t = { st, c, NULL };

	for (size_t i = 0; c && i < c->nviews; i++)
		if (c->views[i].column && strcmp(c->views[i].column->name, "status") == 0)
			t.v = &c->views[i];
	if (t.v)
		store_view_values(st, c, t.v, admin_total, &t);
}

int cmd_stats(int argc, char **argv)
{
	struct project_opts po = { .readonly = true };
	struct project *p = NULL;
	char *cause = NULL;
	int rc;

	if (project_getopt(argc, argv, "stats", &po) != argc)
		return 2;
	if ((rc = project_open(&po, &p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return 1;
	}
	for (size_t i = 0; i < p->nstores; i++) {
		const struct map_database *db = store_map(p->stores[i]);
		for (size_t j = 0; j < db->ncollections; j++) {
			long n = 0;
			store_list(p->stores[i], &db->collections[j], admin_count, &n);
			printf("%s%s%-20s %ld\n", db->dir, db->dir[0] ? "/" : "", db->collections[j].dir, n);
		}
	}
	admin_audit_totals(p);
	project_free(p);
	return 0;
}
