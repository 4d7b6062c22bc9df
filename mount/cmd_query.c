/*
 * cmd_query.c - commands that read the state without a mount: `orchfs
 * search` (full-text search of indexed logs) and `orchfs watch` (the change
 * feed, followed as it grows).
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

static const struct option query_opts[] = {
	{ "db", required_argument, NULL, 'd' },    { "user-db", required_argument, NULL, 'u' },
	{ "since", required_argument, NULL, 's' }, { "no-follow", no_argument, NULL, 'n' },
	{ "in", required_argument, NULL, 'i' },    { "schema", required_argument, NULL, PROJECT_OPT_SCHEMA },
	{ NULL, 0, NULL, 0 },
};

struct query_out {
	int64_t last; /* watch: the last seq printed */
	long rows;
};

static int query_print(void *arg, const cJSON *row)
{
	struct query_out *qo = arg;
	struct strbuf sb = STRBUF_INIT;
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(row, "seq");

	strbuf_init(&sb, 256);
	render_line(row, &sb);
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	if (cJSON_IsNumber(seq))
		qo->last = (int64_t)seq->valuedouble;
	qo->rows++;
	return 0;
}

int cmd_search(int argc, char **argv)
{
	struct project_opts po = { .readonly = true };
	const char *in = "tasks";
	struct query_out qo = { 0 };
	struct project *p = NULL;
	char *cause = NULL;
	int opt, rc = 0;
	bool found = false;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", query_opts, NULL)) != -1) {
		if (project_option(opt, optarg, &po))
			continue;
		if (opt == 'i')
			in = optarg;
		else
			return cmd_usage("search");
	}
	if (optind != argc - 1)
		return cmd_usage("search");
	if ((rc = project_open(&po, &p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return 1;
	}
	for (size_t i = 0; i < p->nstores && !found; i++) {
		const struct map_collection *c = map_collection(store_map(p->stores[i]), in);
		for (size_t j = 0; c && j < c->nlogs && !found; j++) {
			if (!c->logs[j].fts)
				continue;
			found = true;
			rc = store_log_search(p->stores[i], c, &c->logs[j], argv[optind], query_print, &qo, &cause);
		}
	}
	if (!found) {
		cmd_error("%s has no indexed log to search", in);
		rc = -ENOENT;
	} else if (rc) {
		cmd_error("%s", cause ? cause : strerror(-rc));
	}
	project_free(p);
	free(cause);
	return rc ? 1 : (qo.rows ? 0 : 1); /* like grep: 1 when nothing matched */
}

static volatile sig_atomic_t query_stop;

static void query_on_signal(int sig)
{
	query_stop = 1;
}

int cmd_watch(int argc, char **argv)
{
	struct project_opts po = { .readonly = true };
	struct query_out qo = { 0 };
	struct project *p = NULL;
	bool follow = true;
	char *cause = NULL, *end;
	int64_t version = -1, v;
	int opt, rc = 0;
	store *st;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", query_opts, NULL)) != -1) {
		if (project_option(opt, optarg, &po))
			continue;
		if (opt == 's') {
			qo.last = strtoll(optarg, &end, 10);
			if (*end || qo.last < 0)
				return cmd_usage("watch");
		} else if (opt == 'n')
			follow = false;
		else
			return cmd_usage("watch");
	}
	if (optind != argc)
		return cmd_usage("watch");
	if ((rc = project_open(&po, &p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return 1;
	}
	st = project_store(p, "project");
	if (!st || !store_has_changes(st)) {
		cmd_error("this database keeps no change feed");
		project_free(p);
		return 1;
	}
	signal(SIGINT, query_on_signal);
	signal(SIGTERM, query_on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!query_stop) {
		/* PRAGMA data_version moves when anyone commits: query only then. */
		if ((rc = store_data_version(st, &v)))
			break;
		if (v != version) {
			version = v;
			if ((rc = store_changes(st, qo.last, query_print, &qo)))
				break;
		}
		if (!follow)
			break;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (rc)
		cmd_error("cannot read the change feed: %s", strerror(-rc));
	project_free(p);
	return rc ? 1 : 0;
}
