/*
 * cmd_data.c - `orchfs export` and `orchfs import`: the whole state (both
 * databases) as JSON Lines, lossless both ways (store/export.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount/cmd.h"
#include "mount/project.h"
#include "store/util.h"

static const struct option data_opts[] = {
	{ "db", required_argument, NULL, 'd' },
	{ "user-db", required_argument, NULL, 'u' },
	{ "with-secrets", no_argument, NULL, 's' },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

static int data_write(void *arg, const char *line, size_t len)
{
	return fwrite(line, 1, len, arg) == len ? 0 : -EIO;
}

int cmd_export(int argc, char **argv)
{
	struct project_opts po = { .readonly = true };
	const char *output = NULL;
	struct project *p = NULL;
	bool secrets = false;
	char *cause = NULL;
	FILE *out = stdout;
	int opt, rc = 0, cur, latest;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:", data_opts, NULL)) != -1) {
		if (project_option(opt, optarg, &po))
			continue;
		if (opt == 's')
			secrets = true;
		else if (opt == 'o')
			output = optarg;
		else
			return cmd_usage("export");
	}
	if (optind != argc)
		return cmd_usage("export");
	if ((rc = project_open(&po, &p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return 1;
	}
	if (output && !(out = fopen(output, "we"))) {
		cmd_error("cannot write %s: %s", output, strerror(errno));
		project_free(p);
		return 1;
	}
	fprintf(out, "{\"orchfs_export\":1,\"schema\":\"%s\"", p->map->schema);
	for (size_t i = 0; i < p->nstores; i++) {
		store_migrate_status(p->stores[i], &cur, &latest);
		fprintf(out, ",\"%s\":%d", store_map(p->stores[i])->name, cur);
	}
	fprintf(out, "}\n");
	for (size_t i = 0; i < p->nstores && !rc; i++)
		rc = store_export(p->stores[i], secrets, data_write, out, &cause);
	if (rc)
		cmd_error("export: %s", cause ? cause : strerror(-rc));
	if (fflush(out) != 0 || (output && fclose(out) != 0)) {
		cmd_error("export: cannot write: %s", strerror(errno));
		rc = -EIO;
	}
	free(cause);
	project_free(p);
	return rc ? 1 : 0;
}

int cmd_import(int argc, char **argv)
{
	struct project_opts po = { .create = true };
	struct project *p = NULL;
	cJSON **feed = NULL;
	size_t nfeed = 0, lineno = 0, cap = 0;
	char *line = NULL, *cause = NULL;
	FILE *in = stdin;
	ssize_t n;
	int opt, rc = 0, cur, latest;
	bool header = false;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", data_opts, NULL)) != -1) {
		if (!project_option(opt, optarg, &po))
			return cmd_usage("import");
	}
	if (argc - optind > 1)
		return cmd_usage("import");
	if (optind < argc && !(in = fopen(argv[optind], "re"))) {
		cmd_error("cannot read %s: %s", argv[optind], strerror(errno));
		return 1;
	}
	if ((rc = project_open(&po, &p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < p->nstores && !rc; i++)
		rc = store_import_begin(p->stores[i], &cause);
	while (!rc && (n = getline(&line, &cap, in)) > 0) {
		cJSON *doc = cJSON_ParseWithLength(line, (size_t)n);
		const cJSON *db = cJSON_GetObjectItemCaseSensitive(doc, "db");
		const cJSON *table = cJSON_GetObjectItemCaseSensitive(doc, "table");
		store *st;
		lineno++;
		if (!header) {
			/* {"orchfs_export":1,"schema":...,"project":N,"user":N}: the same versions as ours */
			header = true;
			if (!cJSON_GetObjectItemCaseSensitive(doc, "orchfs_export"))
				rc = -EINVAL, cause = xstrdup("not an orchfs export (no header line)");
			for (size_t i = 0; !rc && i < p->nstores; i++) {
				const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, store_map(p->stores[i])->name);
				store_migrate_status(p->stores[i], &cur, &latest);
				if (!cJSON_IsNumber(v) || (int)v->valuedouble != cur) {
					rc = -EINVAL;
					cause = xasprintf("the export is of %s schema version %d; this database is at %d",
							  store_map(p->stores[i])->name, cJSON_IsNumber(v) ? (int)v->valuedouble : -1,
							  cur);
				}
			}
			cJSON_Delete(doc);
			continue;
		}
		if (!cJSON_IsString(db) || !cJSON_IsString(table) || !(st = project_store(p, db->valuestring))) {
			rc = -EINVAL;
			cause = xasprintf("line %zu: expected {\"db\", \"table\", \"row\"}", lineno);
		} else if (store_map(st)->changes && strcmp(table->valuestring, store_map(st)->changes) == 0) {
			feed = xrealloc(feed, (nfeed + 1) * sizeof(*feed)); /* last: see below */
			feed[nfeed++] = doc;
			continue;
		} else if ((rc = store_import_row(st, table->valuestring,
						  cJSON_GetObjectItemCaseSensitive(doc, "row"), &cause))) {
			char *inner = cause;
			cause = xasprintf("line %zu: %s", lineno, inner ? inner : strerror(-rc));
			free(inner);
		}
		cJSON_Delete(doc);
	}
	/* The rows fired the feed's triggers; the feed to keep is the one exported. */
	for (size_t i = 0; i < p->nstores && !rc; i++)
		rc = store_import_clear_feed(p->stores[i], &cause);
	for (size_t i = 0; i < nfeed && !rc; i++)
		rc = store_import_row(project_store(p, cJSON_GetObjectItemCaseSensitive(feed[i], "db")->valuestring),
				      cJSON_GetObjectItemCaseSensitive(feed[i], "table")->valuestring,
				      cJSON_GetObjectItemCaseSensitive(feed[i], "row"), &cause);
	for (size_t i = 0; i < p->nstores; i++) {
		int r = store_import_end(p->stores[i], rc == 0, rc ? NULL : &cause);
		rc = rc ? rc : r;
	}
	if (rc)
		cmd_error("import: %s; nothing was imported", cause ? cause : strerror(-rc));
	else
		printf("imported %zu rows\n", lineno ? lineno - 1 : 0);
out:
	for (size_t i = 0; i < nfeed; i++)
		cJSON_Delete(feed[i]);
	free(feed);
	free(line);
	free(cause);
	project_free(p);
	if (in != stdin)
		fclose(in);
	return rc ? 1 : 0;
}
