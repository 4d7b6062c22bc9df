/*
 * cmd_data.c - `orchfs export` and `orchfs import`: the whole state (both
 * databases) as JSON Lines, lossless both ways (store/export.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

struct data_out {
	FILE *f;
	long rows;
};

static int data_write(void *arg, const char *line, size_t len)
{
	struct data_out *o = arg;

	o->rows++;
	return fwrite(line, 1, len, o->f) == len ? 0 : -EIO;
}

/* Null the secret columns of row (table of st) in an export made without
 * them: a masked key ("****wxyz") is no key. Returns how many were set. */
static int data_unmask(store *st, const char *table, cJSON *row)
{
	const struct map_database *db = store_map(st);
	int n = 0;

	for (size_t i = 0; cJSON_IsObject(row) && i < db->ncollections; i++) {
		const struct map_collection *c = &db->collections[i];
		if (c->sidecar || strcmp(c->table, table) != 0)
			continue;
		for (size_t j = 0; j < c->ncolumns; j++) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(row, c->columns[j].column);
			if (c->columns[j].secret && v && !cJSON_IsNull(v)) {
				cJSON_ReplaceItemInObjectCaseSensitive(row, c->columns[j].column, cJSON_CreateNull());
				n++;
			}
		}
	}
	return n;
}

/*
 * The export of p's stores (only: the one of that name, or every one) to
 * out: a header naming the schema versions, a line per row, a last line
 * counting the rows.
 */
static int data_export_to(struct project *p, FILE *out, bool secrets, const char *only, char **cause)
{
	struct data_out o = { out, 0 };
	int rc = 0, cur, latest;

	/* version 2: a last line counts the rows, so a cut export is refused */
	fprintf(out, "{\"orchfs_export\":2,\"schema\":\"%s\",\"secrets\":%s", p->map->schema,
		secrets ? "true" : "false");
	for (size_t i = 0; i < p->nstores; i++) {
		if (only && strcmp(store_map(p->stores[i])->name, only) != 0)
			continue;
		store_migrate_status(p->stores[i], &cur, &latest);
		fprintf(out, ",\"%s\":%d", store_map(p->stores[i])->name, cur);
	}
	fprintf(out, "}\n");
	for (size_t i = 0; i < p->nstores && !rc; i++)
		if (!only || strcmp(store_map(p->stores[i])->name, only) == 0)
			rc = store_export(p->stores[i], secrets, data_write, &o, cause);
	if (!rc)
		fprintf(out, "{\"orchfs_export_end\":%ld}\n", o.rows);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	struct project_opts po = { .readonly = true };
	const char *output = NULL;
	struct project *p = NULL;
	bool secrets = false;
	char *cause = NULL;
	FILE *out = stdout;
	int opt, rc = 0;

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
	if (output) { /* 0600, as the databases: it may hold API keys */
		int fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		struct stat st;
		/* a file that was there keeps its mode on open: made 0600 too */
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) && fchmod(fd, 0600) < 0) {
			close(fd);
			fd = -1;
		}
		if (fd < 0 || !(out = fdopen(fd, "w"))) {
			cmd_error("cannot write %s: %s", output, strerror(errno));
			if (fd >= 0)
				close(fd);
			project_free(p);
			return 1;
		}
	}
	if ((rc = data_export_to(p, out, secrets, NULL, &cause)))
		cmd_error("export: %s", cause ? cause : strerror(-rc));
	if (fflush(out) != 0 || (output && fclose(out) != 0)) {
		cmd_error("export: cannot write: %s", strerror(errno));
		rc = -EIO;
	}
	free(cause);
	project_free(p);
	return rc ? 1 : 0;
}

/* Is store st one an import or export of only (NULL: every store) covers? */
#define DATA_IN(st) (!only || strcmp(store_map(st)->name, only) == 0)

/* Called with every row in and nothing committed yet: non-zero (and *cause)
 * rolls the import back. */
typedef int (*data_check_fn)(struct project *p, void *arg, char **cause);

/*
 * Load an export from in into p's stores (only: the one of that name, the
 * other lines skipped), each new, in one transaction per store; *rows and
 * *unmasked count. check (or NULL) looks at what the transactions hold
 * before they commit. Nothing is imported on failure.
 */
static int data_import_from(struct project *p, FILE *in, const char *only, long *rows, int *unmasked,
			    data_check_fn check, void *arg, char **cause)
{
	cJSON **feed = NULL;
	size_t nfeed = 0, lineno = 0, cap = 0;
	char *line = NULL;
	ssize_t n;
	int rc = 0, cur, latest, version = 0;
	bool header = false, secrets = true, ended = false;
	long seen = 0; /* rows in the export, imported or not */

	for (size_t i = 0; i < p->nstores && !rc; i++)
		if (DATA_IN(p->stores[i]))
			rc = store_import_begin(p->stores[i], cause);
	while (!rc && (n = getline(&line, &cap, in)) > 0) {
		/* An export holds a database's text as it is, not UTF-8 everywhere
		 * (another tool's bytes): read as cJSON reads it; what it cannot
		 * read is said by json_parse */
		char *why = NULL;
		bool blank = strspn(line, " \t\r\n") == (size_t)n;
		cJSON *doc = blank ? NULL : cJSON_ParseWithLength(line, (size_t)n);
		if (!doc && !blank)
			cJSON_Delete(json_parse(line, (size_t)n, &why));
		const cJSON *db = cJSON_GetObjectItemCaseSensitive(doc, "db");
		const cJSON *table = cJSON_GetObjectItemCaseSensitive(doc, "table");
		store *st;
		lineno++;
		if (!doc) {
			rc = -EINVAL;
			*cause = header ? xasprintf("line %zu: %s", lineno, why ? why : "an empty line")
					: xstrdup("not an orchfs export (no header line)");
			free(why);
			break;
		}
		if (!header) {
			/* {"orchfs_export":1,"schema":...,"project":N,"user":N}: the same versions as ours */
			header = true;
			if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(doc, "orchfs_export")))
				rc = -EINVAL, *cause = xstrdup("not an orchfs export (no header line)");
			else
				version = (int)cJSON_GetObjectItemCaseSensitive(doc, "orchfs_export")->valuedouble;
			secrets = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "secrets"));
			for (size_t i = 0; !rc && i < p->nstores; i++) {
				if (!DATA_IN(p->stores[i]))
					continue;
				const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, store_map(p->stores[i])->name);
				store_migrate_status(p->stores[i], &cur, &latest);
				if (!cJSON_IsNumber(v) || (int)v->valuedouble != cur) {
					rc = -EINVAL;
					*cause = xasprintf("the export is of %s schema version %d; this database is at %d",
							  store_map(p->stores[i])->name, cJSON_IsNumber(v) ? (int)v->valuedouble : -1,
							  cur);
				}
			}
			cJSON_Delete(doc);
			continue;
		}
		if (ended) {
			rc = -EINVAL;
			*cause = xasprintf("line %zu: after the export's last line", lineno);
		} else if (cJSON_GetObjectItemCaseSensitive(doc, "orchfs_export_end")) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "orchfs_export_end");
			ended = true;
			if (!cJSON_IsNumber(v) || (long)v->valuedouble != seen) {
				rc = -EINVAL;
				*cause = xasprintf("line %zu: the export says %.0f rows, and %ld came before it", lineno,
						  cJSON_IsNumber(v) ? v->valuedouble : -1.0, seen);
			}
		} else if (cJSON_IsString(db) && only && strcmp(db->valuestring, only) != 0) {
			seen++; /* another database's row */
		} else if (!cJSON_IsString(db) || !cJSON_IsString(table) || !(st = project_store(p, db->valuestring))) {
			rc = -EINVAL;
			*cause = xasprintf("line %zu: expected {\"db\", \"table\", \"row\"}", lineno);
		} else if (seen++ >= 0 && (*rows)++ >= 0 && store_map(st)->changes && strcmp(table->valuestring, store_map(st)->changes) == 0) {
			feed = xrealloc(feed, (nfeed + 1) * sizeof(*feed)); /* last: see below */
			feed[nfeed++] = doc;
			continue;
		} else {
			cJSON *row = cJSON_GetObjectItemCaseSensitive(doc, "row");
			if (!secrets)
				*unmasked += data_unmask(st, table->valuestring, row);
			if ((rc = store_import_row(st, table->valuestring, row, cause))) {
				char *inner = *cause;
				*cause = xasprintf("line %zu: %s", lineno, inner ? inner : strerror(-rc));
				free(inner);
			}
		}
		cJSON_Delete(doc);
	}
	if (!rc && version >= 2 && !ended) {
		rc = -EINVAL;
		*cause = xasprintf("the export ends early (no last line after %ld rows): it was cut", seen);
	}
	/* The rows fired the feed's triggers; the feed to keep is the one exported. */
	for (size_t i = 0; i < p->nstores && !rc; i++)
		if (DATA_IN(p->stores[i]))
			rc = store_import_clear_feed(p->stores[i], cause);
	for (size_t i = 0; i < nfeed && !rc; i++)
		rc = store_import_row(project_store(p, cJSON_GetObjectItemCaseSensitive(feed[i], "db")->valuestring),
				      cJSON_GetObjectItemCaseSensitive(feed[i], "table")->valuestring,
				      cJSON_GetObjectItemCaseSensitive(feed[i], "row"), cause);
	if (!rc && check)
		rc = check(p, arg, cause);
	for (size_t i = 0; i < p->nstores; i++) {
		int r = DATA_IN(p->stores[i]) ? store_import_end(p->stores[i], rc == 0, rc ? NULL : cause) : 0;
		rc = rc ? rc : r;
	}
	for (size_t i = 0; i < nfeed; i++)
		cJSON_Delete(feed[i]);
	free(feed);
	free(line);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	struct project_opts po = { .create = true };
	struct project *p = NULL;
	char *cause = NULL;
	FILE *in = stdin;
	int opt, rc = 0, unmasked = 0;
	long rows = 0;

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
	rc = data_import_from(p, in, NULL, &rows, &unmasked, NULL, NULL, &cause);
	if (rc)
		cmd_error("import: %s; nothing was imported", cause ? cause : strerror(-rc));
	else
		printf("imported %ld rows\n", rows);
	if (!rc && unmasked)
		fprintf(stderr, "orchfs: import: the export was made without --with-secrets: %d masked key%s not"
			" imported (set %s again)\n", unmasked, unmasked == 1 ? " was" : "s were", unmasked == 1 ? "it" : "them");
out:
	free(cause);
	project_free(p);
	if (in != stdin)
		fclose(in);
	return rc ? 1 : 0;
}

/* Equal values of an exported row as a read shows them: the same JSON, or
 * two texts that are the same JSON document (PostgreSQL's jsonb keeps keys in
 * an order of its own, and spaces) or the same time to the millisecond (a
 * read shows milliseconds; timestamptz keeps microseconds, and comes back in
 * orchfs's form). */
static bool data_same_value(const cJSON *a, const cJSON *b)
{
	cJSON *ja, *jb;
	int64_t ta, tb;
	bool same;

	if (cJSON_IsNumber(a) || cJSON_IsNumber(b)) /* exactly, and only where a double is exact */
		return cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valuedouble == b->valuedouble &&
		       fabs(a->valuedouble) < 9007199254740992.0;
	if (cJSON_Compare(a, b, true))
		return true;
	if (!cJSON_IsString(a) || !cJSON_IsString(b))
		return false;
	if (time_parse_iso(a->valuestring, &ta) == 0 && time_parse_iso(b->valuestring, &tb) == 0)
		return ta == tb;
	ja = cJSON_Parse(a->valuestring);
	jb = cJSON_Parse(b->valuestring);
	same = ja && jb && (cJSON_IsObject(ja) || cJSON_IsArray(ja)) && cJSON_Compare(ja, jb, true);
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	return same;
}

/* v as JSON for a message, cut at 80 bytes (caller frees) */
static char *data_shown(const cJSON *v)
{
	char num[40], *text = NULL, *out;
	const char *shown = "nothing";

	if (cJSON_IsNumber(v)) {
		json_number(v->valuedouble, num, sizeof(num)); /* integers in full */
		shown = num;
	} else if (v && (text = cJSON_PrintUnformatted(v))) {
		shown = text;
	}
	out = xasprintf("%.80s%s", shown, strlen(shown) > 80 ? "..." : "");
	cJSON_free(text);
	return out;
}

/* The first difference between two exports (caller frees), or NULL. */
static char *data_differ(const char *a, const char *b)
{
	char *sa = xstrdup(a), *sb = xstrdup(b), *pa = NULL, *pb = NULL, *why = NULL;
	char *la = strtok_r(sa, "\n", &pa), *lb = strtok_r(sb, "\n", &pb);

	for (int line = 1; !why && (la || lb); line++, la = strtok_r(NULL, "\n", &pa), lb = strtok_r(NULL, "\n", &pb)) {
		cJSON *da, *db, *ra, *rb, *v;
		if (!la || !lb) {
			why = xasprintf("line %d: only one export has it", line);
			break;
		}
		if (strcmp(la, lb) == 0)
			continue;
		da = cJSON_Parse(la);
		db = cJSON_Parse(lb);
		ra = cJSON_GetObjectItemCaseSensitive(da, "row");
		rb = cJSON_GetObjectItemCaseSensitive(db, "row");
		if (!cJSON_IsObject(ra) || !cJSON_IsObject(rb) ||
		    !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(da, "table"), cJSON_GetObjectItemCaseSensitive(db, "table"), true) ||
		    cJSON_GetArraySize(ra) != cJSON_GetArraySize(rb))
			why = xasprintf("line %d: %.200s", line, la);
		cJSON_ArrayForEach(v, ra) {
			const cJSON *w = cJSON_GetObjectItemCaseSensitive(rb, v->string);
			char *key, *was, *now;
			if (why)
				break;
			if (data_same_value(v, w))
				continue;
			/* the row named by its first column (its key, in orchfs's tables) */
			key = data_shown(ra->child);
			was = data_shown(v);
			now = data_shown(w);
			if (cJSON_IsNumber(v) && cJSON_IsNumber(w) && fabs(v->valuedouble) >= 9007199254740992.0)
				why = xasprintf("line %d, the row of %s with %s %s: %s is about %s, past 2^53, where "
						"a copy is not known to be exact", line,
						cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(da, "table")),
						ra->child->string, key, v->string, was);
			else
				why = xasprintf("line %d, the row of %s with %s %s: %s is %s, and %s in the copy", line,
						cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(da, "table")),
						ra->child->string, key, v->string, was, now);
			free(key);
			free(was);
			free(now);
		}
		cJSON_Delete(da);
		cJSON_Delete(db);
	}
	free(sa);
	free(sb);
	return why;
}

/* The project database's export (secrets and all) into *buf (caller frees). */
static int data_export_project(struct project *p, char **buf, char **cause)
{
	size_t len;
	FILE *m = open_memstream(buf, &len);
	int rc;

	if (!m)
		return -ENOMEM;
	rc = data_export_to(p, m, true, "project", cause);
	fclose(m);
	return rc;
}

struct data_copy {
	const char *exported; /* the original's export */
	const char *from;     /* its name, for messages */
};

/* Lossless, or it says where not: the copy, not committed yet, exports as
 * the original does. */
static int data_check_copy(struct project *q, void *arg, char **cause)
{
	const struct data_copy *c = arg;
	char *copied = NULL, *why = NULL, *inner;
	int rc;

	if ((rc = data_export_project(q, &copied, cause))) {
		inner = *cause;
		*cause = xasprintf("cannot read the copy back: %s", inner ? inner : strerror(-rc));
		free(inner);
	} else if ((why = data_differ(c->exported, copied))) {
		*cause = xasprintf("the copy would differ from %s at %s", c->from, why);
		rc = -EIO;
	}
	free(why);
	free(copied);
	return rc;
}

int data_migrate_to(const struct project_opts *from, const char *dest)
{
	struct project_opts src = *from, dst = *from;
	struct project *p = NULL, *q = NULL;
	struct data_copy copy = { NULL, NULL };
	char *cause = NULL, *exported = NULL, *name = store_display(dest);
	/* a file this makes goes again when nothing is copied into it (a
	 * server's database keeps the schema, and can be copied into again) */
	bool made = !store_is_server(dest) && access(dest, F_OK) < 0 && errno == ENOENT;
	int rc, unmasked = 0;
	long rows = 0;
	FILE *in;

	src.readonly = true;
	src.no_migrate = false;
	dst.db = dest;
	dst.create = true;
	dst.readonly = false;
	dst.no_migrate = false;
	if ((rc = project_open(&src, &p, &cause)) || (rc = data_export_project(p, &exported, &cause))) {
		cmd_error("migrate --to: %s", cause ? cause : strerror(-rc));
		goto out;
	}
	if ((rc = project_open(&dst, &q, &cause))) {
		cmd_error("migrate --to %s: %s", name, cause ? cause : strerror(-rc));
		goto out;
	}
	if (!(in = fmemopen(exported, strlen(exported), "r"))) {
		rc = -errno;
		goto out;
	}
	/* checked in the import's transaction: a copy that differs is never committed */
	copy.exported = exported;
	copy.from = p->db_name;
	rc = data_import_from(q, in, "project", &rows, &unmasked, data_check_copy, &copy, &cause);
	fclose(in);
	if (rc) {
		cmd_error("migrate --to %s: %s; nothing was copied", name, cause ? cause : strerror(-rc));
		goto out;
	}
	printf("copied %ld rows of %s to %s; verified: the copy exports as the original does\n", rows, p->db_name,
	       name);
out:
	free(exported);
	free(cause);
	free(name);
	project_free(q);
	project_free(p);
	if (rc && made)
		store_remove_file(dest);
	return rc ? 1 : 0;
}
