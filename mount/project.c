/* project.c - find and open a project's databases (see project.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount/cmd.h"
#include "mount/project.h"
#include "store/util.h"

/* path made absolute against the current directory (a daemon chdirs to /) */
static char *project_absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || store_is_server(path) || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
}

char *project_db_path(const char *flag, char **cause)
{
	const char *env = getenv("ORCHFS_DB");
	char cwd[PATH_MAX], *p;
	struct stat st;

	if (flag)
		return project_absolute(flag);
	if (env && *env)
		return project_absolute(env);
	if (!getcwd(cwd, sizeof(cwd))) {
		*cause = xasprintf("cannot read the current directory: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		/* A project is a .orchfs/ holding project.db: ~/.orchfs/ holds only the
		 * user database and is no project. */
		p = xasprintf("%s/.orchfs/project.db", strcmp(cwd, "/") == 0 ? "" : cwd);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			return p;
		free(p);
		if (strcmp(cwd, "/") == 0)
			break;
		if ((p = strrchr(cwd, '/')) == cwd)
			cwd[1] = 0;
		else
			*p = 0;
	}
	*cause = xstrdup("not in an orchfs project (or any of the parent directories): "
			 "run `orchfs init`, or name the database with --db");
	return NULL;
}

char *project_user_db_path(const char *flag)
{
	const char *env = getenv("ORCHFS_USER_DB"), *home = getenv("HOME");
	struct passwd *pw;

	if (flag)
		return project_absolute(flag);
	if (env && *env)
		return project_absolute(env);
	if ((!home || !*home) && (pw = getpwuid(getuid())))
		home = pw->pw_dir;
	return xasprintf("%s/.orchfs/user.db", home && *home ? home : "/");
}

/* mkdir -p of path's directory, mode 0700 for what it creates. */
static int project_mkdirs(const char *path)
{
	char *dir = xstrdup(path), *p;
	int rc = 0;

	if ((p = strrchr(dir, '/')) && p != dir) {
		*p = 0;
		for (p = dir + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = 0;
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				rc = -errno;
			*p = '/';
		}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			rc = -errno;
	}
	free(dir);
	return rc;
}

bool project_option(int opt, const char *arg, struct project_opts *po)
{
	if (opt == 'd')
		po->db = arg;
	else if (opt == 'u')
		po->user_db = arg;
	else if (opt == PROJECT_OPT_SCHEMA)
		po->schema = arg;
	else
		return false;
	return true;
}

int project_getopt(int argc, char **argv, const char *cmd, struct project_opts *po)
{
	static const struct option longopts[] = { { "db", required_argument, NULL, 'd' },
						  { "user-db", required_argument, NULL, 'u' },
						  { "schema", required_argument, NULL, PROJECT_OPT_SCHEMA },
						  { NULL, 0, NULL, 0 } };
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (!project_option(opt, optarg, po)) {
			cmd_usage(cmd);
			return -1;
		}
	return optind;
}

int project_open(const struct project_opts *o, struct project **out, char **cause)
{
	struct project *p = xcalloc(1, sizeof(*p));
	unsigned flags = 0;
	char *slash;
	bool native;
	int rc;

	*out = NULL;
	if ((rc = map_load_builtin(o->schema ? o->schema : "native", &p->map, cause)))
		goto fail;
	if (!(p->db_path = project_db_path(o->db, cause))) {
		rc = -ENOENT;
		goto fail;
	}
	p->user_db_path = project_user_db_path(o->user_db);
	p->db_name = store_display(p->db_path);
	/* the project's directory (its log); a server's project lives beside the user database */
	if ((slash = strrchr(store_is_server(p->db_path) ? p->user_db_path : p->db_path, '/')))
		p->dir = xstrndup(store_is_server(p->db_path) ? p->user_db_path : p->db_path,
				  (size_t)(slash - (store_is_server(p->db_path) ? p->user_db_path : p->db_path)));
	flags |= o->readonly ? STORE_READONLY : 0;
	flags |= o->create ? STORE_CREATE : 0;
	flags |= o->no_migrate ? STORE_NO_MIGRATE : 0;
	native = strcmp(p->map->schema, "native") == 0;
	p->stores = xcalloc(p->map->ndatabases, sizeof(store *));
	for (size_t i = 0; i < p->map->ndatabases; i++) {
		const struct map_database *db = &p->map->databases[i];
		bool user = strcmp(db->name, "user") == 0;
		const char *path = user ? p->user_db_path : p->db_path;
		/* A tool's own files (--schema): its user database only when named,
		 * and neither is ever created or migrated. */
		if (!native && user && !o->user_db)
			continue;
		if (native && o->create && !o->readonly && !store_is_server(path))
			project_mkdirs(path);
		rc = store_open(path, db, native ? db->name : NULL, native ? flags : flags & ~STORE_CREATE,
				&p->stores[p->nstores], cause);
		if (rc)
			goto fail;
		p->nstores++;
	}
	*out = p;
	return 0;
fail:
	project_free(p);
	return rc;
}

void project_free(struct project *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->stores && i < p->nstores; i++)
		store_free(p->stores[i]);
	free(p->stores);
	map_free(p->map);
	free(p->db_path);
	free(p->db_name);
	free(p->user_db_path);
	free(p->dir);
	free(p);
}

store *project_store(struct project *p, const char *name)
{
	for (size_t i = 0; i < p->nstores; i++)
		if (strcmp(store_map(p->stores[i])->name, name) == 0)
			return p->stores[i];
	return NULL;
}

/* /proc/mounts escapes space, tab, newline and backslash as \ooo */
static void project_unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

char *project_mounted_at(const char *db_path)
{
	FILE *fp = fopen("/proc/self/mounts", "re");
	char line[4096], src[PATH_MAX], mnt[PATH_MAX], type[64], *want = xstrdup(db_path), *found = NULL;

	for (char *c = want; *c; c++)
		if (*c == ',')
			*c = '_'; /* as cmd_mount names it */
	while (fp && !found && fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%4095s %4095s %63s", src, mnt, type) != 3 || strcmp(type, "fuse.orchfs") != 0)
			continue;
		project_unescape(src);
		project_unescape(mnt);
		if (strcmp(src, want) == 0)
			found = xstrdup(mnt);
	}
	if (fp)
		fclose(fp);
	free(want);
	return found;
}

/* A server's URL in an argument, as "--OPTION=URL" or alone, without its password. */
static char *cmd_actor_arg(const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (arg[0] == '-' && eq && store_is_server(eq + 1)) { /* --db=URL, --user-db=URL, --d=URL */
		char *d = store_display(eq + 1), *s = xasprintf("%.*s%s", (int)(eq + 1 - arg), arg, d);
		free(d);
		return s;
	}
	return store_display(arg);
}

int cmd_permit(struct project *p, store *st, const struct map_collection *c, const char *key, const char *path,
	       const cJSON *args, const struct store_actor *who, char **cause)
{
	char tool[64], *reason = NULL;
	store *rules = NULL;
	int rc;

	for (size_t i = 0; i < p->nstores && !rules; i++)
		if (store_map(p->stores[i])->permissions)
			rules = p->stores[i];
	if (!rules)
		return 0;
	proc_comm(getppid(), tool, sizeof(tool));
	rc = store_permit(rules, tool, path, args, &reason);
	if (rc == STORE_ALLOW) {
		free(reason);
		return 0;
	}
	if (rc < 0) {
		free(reason);
		*cause = xasprintf("cannot read the permission rules: %s", strerror(-rc));
		return rc;
	}
	if (rc == STORE_APPROVAL) {
		char *r = xasprintf("%s (from the command line nothing is parked: make the change through the mount, "
				    "or have a person approve it)", reason);
		free(reason);
		reason = r;
	}
	{
		struct store_actor as = *who;
		as.tool = tool;         /* the rules' tool */
		as.process = "orchfs";  /* acting through the command line */
		store_refused(st, c, key, &as, -EACCES, reason);
	}
	*cause = reason;
	return -EACCES;
}

void cmd_actor(struct store_actor *who, const char *op, char *line, size_t size, int argc, char **argv)
{
	size_t n = 0;

	line[0] = 0;
	for (int i = 0; i < argc && n + 2 < size; i++) {
		char *arg = cmd_actor_arg(argv[i]); /* no password goes into the audit */
		n += (size_t)snprintf(line + n, size - n, "%s%s", i ? " " : "orchfs ", arg);
		free(arg);
	}
	memset(who, 0, sizeof(*who));
	who->tool = "orchfs";
	who->pid = getpid();
	who->uid = getuid();
	who->operation = op;
	who->path = line;
}

