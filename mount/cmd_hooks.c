/*
 * cmd_hooks.c - git's side of orchfs: `orchfs hooks install` writes the
 * pre-commit, commit-msg and post-commit hooks (hooks/, embedded) into a
 * repository, keeping any hook already there as HOOK.local, which ours runs
 * first; `orchfs cat` and `orchfs append` are what the hooks use when the
 * mount is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/render.h"
#include "mount/cmd.h"
#include "mount/project.h"
#include "store/embed.h"
#include "store/util.h"

#define HOOKS_MARK "# Installed by `orchfs hooks install`"

static int hooks_print(void *arg, const cJSON *row)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_init(&sb, 512);
	render_line(row, &sb);
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	return 0;
}

static store *hooks_find(struct project *p, const char *dir, const struct map_collection **c)
{
	for (size_t i = 0; i < p->nstores; i++)
		if ((*c = map_collection(store_map(p->stores[i]), dir)))
			return p->stores[i];
	return NULL;
}

int cmd_cat(int argc, char **argv)
{
	struct project_opts po = { .readonly = true };
	const struct map_collection *c;
	struct project *p = NULL;
	char *cause = NULL;
	int i, rc;
	store *st;

	if ((i = project_getopt(argc, argv, "cat", &po)) < 0 || i != argc - 1)
		return cmd_usage("cat");
	if ((rc = project_open(&po, &p, &cause))) {
		cmd_error("%s", cause ? cause : strerror(-rc));
		free(cause);
		return 1;
	}
	if (!(st = hooks_find(p, argv[i], &c))) {
		cmd_error("no collection %s", argv[i]);
		rc = -ENOENT;
	} else if ((rc = store_docs(st, c, hooks_print, NULL))) {
		cmd_error("%s: %s", argv[i], strerror(-rc));
	}
	project_free(p);
	return rc ? 1 : 0;
}

int cmd_append(int argc, char **argv)
{
	struct project_opts po = { 0 };
	const struct map_collection *c = NULL;
	const struct map_log *l = NULL;
	struct store_actor who = { 0 };
	struct project *p = NULL;
	char *line = NULL, *cause = NULL, path[512];
	cJSON *rows = cJSON_CreateArray();
	size_t cap = 0;
	ssize_t n;
	int i, rc = 0;
	store *st = NULL;

	if ((i = project_getopt(argc, argv, "append", &po)) < 0 || i != argc - 3) {
		cJSON_Delete(rows);
		return cmd_usage("append");
	}
	for (int lineno = 1; (n = getline(&line, &cap, stdin)) > 0; lineno++) {
		if (strspn(line, " \t\r\n") == (size_t)n)
			continue;
		char *why = NULL;
		cJSON *row = json_parse(line, (size_t)n, &why);
		if (!cJSON_IsObject(row)) {
			cmd_error("line %d: %s", lineno, row ? "expected a JSON object" : why);
			cJSON_Delete(row);
			free(why);
			rc = -EINVAL;
			break;
		}
		cJSON_AddItemToArray(rows, row);
	}
	free(line);
	if (!rc && (rc = project_open(&po, &p, &cause)))
		cmd_error("%s", cause ? cause : strerror(-rc));
	if (!rc && !(st = hooks_find(p, argv[i], &c))) {
		cmd_error("no collection %s", argv[i]);
		rc = -ENOENT;
	}
	for (size_t k = 0; !rc && k < c->nlogs; k++)
		if (strcmp(c->logs[k].file, argv[i + 2]) == 0)
			l = &c->logs[k];
	if (!rc && !l) {
		cmd_error("%s has no log %s", argv[i], argv[i + 2]);
		rc = -ENOENT;
	}
	if (!rc) {
		snprintf(path, sizeof(path), "orchfs append %s %s %s", argv[i], argv[i + 1], argv[i + 2]);
		who.tool = "orchfs";
		who.pid = getpid();
		who.uid = getuid();
		who.operation = "append";
		who.path = path;
		{
			char *at = xasprintf("%s/%s/%s", c->dir, argv[i + 1], l->file);
			rc = cmd_permit(p, st, c, argv[i + 1], at, NULL, &who, &cause);
			free(at);
		}
		if (!rc)
			rc = store_log_append(st, c, l, argv[i + 1], rows, &who, &cause);
		if (rc)
			cmd_error("%s", cause ? cause : strerror(-rc));
	}
	cJSON_Delete(rows);
	free(cause);
	project_free(p);
	return rc ? 1 : 0;
}

/* Write data to path with mode, unless it is there already with the same bytes. */
static int hooks_write(const char *path, const char *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		cmd_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return chmod(path, mode);
}

static bool hooks_ours(const char *path)
{
	FILE *f = fopen(path, "re");
	char buf[4096];
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, HOOKS_MARK) != NULL;
}

int cmd_hooks(int argc, char **argv)
{
	char dir[4096];
	const char *repo;
	struct stat st;

	if (argc < 2 || strcmp(argv[1], "install") != 0 || argc > 3)
		return cmd_usage("hooks");
	repo = argc == 3 ? argv[2] : ".";
	snprintf(dir, sizeof(dir), "%s/.git/hooks", repo);
	if (stat(dir, &st) < 0 && mkdir(dir, 0755) < 0) {
		cmd_error("%s is not a git repository (no %s): %s", repo, dir, strerror(errno));
		return 1;
	}
	for (const struct embedded_file *h = embedded_hooks; h->name; h++) {
		char path[4200], local[4300];
		struct strbuf sb = STRBUF_INIT;
		const char *nl = strchr(h->data, '\n');
		bool lib = strcmp(h->name, "orchfs-lib.sh") == 0;
		snprintf(path, sizeof(path), "%s/%s", dir, h->name);
		if (!lib && access(path, F_OK) == 0 && !hooks_ours(path)) {
			/* chain: the hook that was there runs first, as HOOK.local */
			snprintf(local, sizeof(local), "%s.local", path);
			if (access(local, F_OK) == 0) {
				cmd_error("%s and %s both exist; not touching them", path, local);
				return 1;
			}
			if (rename(path, local) < 0) {
				cmd_error("cannot move %s aside: %s", path, strerror(errno));
				return 1;
			}
			printf("kept your %s as %s.local; orchfs's hook runs it first\n", h->name, h->name);
		}
		/* the mark after the first line, so an update is recognised as ours */
		strbuf_add(&sb, h->data, nl ? (size_t)(nl - h->data + 1) : h->len);
		strbuf_addstr(&sb, HOOKS_MARK "\n");
		if (nl)
			strbuf_addstr(&sb, nl + 1);
		if (hooks_write(path, sb.buf, sb.len, lib ? 0644 : 0755) < 0) {
			strbuf_release(&sb);
			return 1;
		}
		strbuf_release(&sb);
	}
	printf("installed pre-commit, commit-msg and post-commit in %s\n"
	       "tell them where the mount is: git config orchfs.mount MOUNTPOINT\n", dir);
	return 0;
}
