/* cmd_logs.c - `orchfs logs prune`: retention of agent and system logs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount/cmd.h"
#include "mount/project.h"
#include "store/util.h"

/* "30d", "12h", "90m", "3600s", "2w" -> milliseconds; -1 if not a duration */
static int64_t logs_duration(const char *s)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = { { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 }, { 'w', 604800000 } };
	char *end;
	long long n = strtoll(s, &end, 10);

	if (end == s || n < 0 || strlen(end) != 1)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (*end == units[i].unit)
			return n * units[i].ms;
	return -1;
}

static int logs_report(void *arg, const char *log, int64_t rows)
{
	printf("%s%-28s %lld row%s\n", *(bool *)arg ? "would prune " : "pruned ", log, (long long)rows,
	       rows == 1 ? "" : "s");
	return 0;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "older-than", required_argument, NULL, 'o' }, { "dry-run", no_argument, NULL, 'n' },
		{ "db", required_argument, NULL, 'd' },         { "user-db", required_argument, NULL, 'u' },
		{ "schema", required_argument, NULL, PROJECT_OPT_SCHEMA }, { NULL, 0, NULL, 0 },
	};
	struct project_opts po = { 0 };
	struct store_actor who;
	struct project *p = NULL;
	const char *age = NULL;
	char *cause = NULL, line[512];
	bool dry_run = false;
	int64_t ms;
	int opt, rc = 0;

	cmd_actor(&who, "prune", line, sizeof(line), argc, argv); /* before getopt reorders argv */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "n", longopts, NULL)) != -1) {
		if (opt == 'o')
			age = optarg;
		else if (opt == 'n')
			dry_run = true;
		else if (!project_option(opt, optarg, &po))
			return cmd_usage("logs");
	}
	if (optind != argc - 1 || strcmp(argv[optind], "prune") != 0 || !age)
		return cmd_usage("logs");
	if ((ms = logs_duration(age)) < 0) {
		cmd_error("--older-than %s: expected a number and a unit (s, m, h, d, w), e.g. 30d", age);
		return 2;
	}
	if ((rc = project_open(&po, &p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return 1;
	}
	for (size_t i = 0; !rc && i < p->nstores; i++)
		rc = store_prune(p->stores[i], time_now_ms() - ms, dry_run, &who, logs_report, &dry_run, &cause);
	if (rc)
		cmd_error("%s", cause ? cause : strerror(-rc));
	free(cause);
	project_free(p);
	return rc ? 1 : 0;
}
