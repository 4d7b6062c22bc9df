/*
 * project.h - finding and opening a project's databases.
 *
 * The project database is <project>/.orchfs/project.db, where <project> is
 * the nearest directory at or above the current one holding that file (as
 * git finds .git/); --db PATH or ORCHFS_DB name it directly. The user
 * database is ~/.orchfs/user.db (--user-db, ORCHFS_USER_DB). A project holds
 * the loaded mapping and one open store per database of it; the caller
 * frees it with project_free().
 */
#ifndef ORCHFS_MOUNT_PROJECT_H
#define ORCHFS_MOUNT_PROJECT_H

#include <stdbool.h>

#include "store/store.h"

struct project_opts {
	const char *db;      /* --db, or NULL */
	const char *user_db; /* --user-db, or NULL */
	const char *schema;  /* --schema, or NULL for "native" */
	bool readonly;
	bool create;         /* create missing databases (init, mount) */
	bool no_migrate;
};

struct project {
	struct mapping *map;
	store **stores;      /* one per map->databases, same order */
	size_t nstores;
	char *db_path;       /* project database: a file, or a PostgreSQL URL */
	char *db_name;       /* the same, as shown (no password) */
	char *user_db_path;
	char *dir;           /* the .orchfs directory, for the log; may be NULL */
};

/* project_db_path - resolve the project database path (caller frees);
 * NULL with *cause if there is no project here. */
char *project_db_path(const char *flag, char **cause);
/* project_user_db_path - resolve the user database path (caller frees). */
char *project_user_db_path(const char *flag);

/* cmd_actor - who makes a change from the command line, for the audit: the
 * orchfs process, doing op, its path the command line (written into line,
 * of size bytes; call before getopt reorders argv). */
void cmd_actor(struct store_actor *who, const char *op, char *line, size_t size, int argc, char **argv);
/* cmd_permit - may the process that ran this command (its parent: the shell
 * or agent that typed it) make this change, as the permission rules say of
 * a write through the mount to path (relative to the mount's root) with args?
 * 0; or -EACCES with *cause, the refusal audited (a change that would need
 * approval is refused too: it is parked only when made through the mount). */
int cmd_permit(struct project *p, store *st, const struct map_collection *c, const char *key, const char *path,
	       const cJSON *args, const struct store_actor *who, char **cause);

/* project_mounted_at - where a daemon serves the database at db_path (an
 * absolute path), or NULL (caller frees). */
char *project_mounted_at(const char *db_path);

/* The getopt code of --schema in commands that take project options. */
#define PROJECT_OPT_SCHEMA 0x100

/* project_option - take a --db ('d'), --user-db ('u') or --schema
 * (PROJECT_OPT_SCHEMA) option into po; false for any other option */
bool project_option(int opt, const char *arg, struct project_opts *po);
/* project_getopt - parse the options of a command that takes only --db,
 * --user-db and --schema; the index of the first operand, or -1 (usage printed). */
int project_getopt(int argc, char **argv, const char *cmd, struct project_opts *po);

int project_open(const struct project_opts *o, struct project **out, char **cause);
void project_free(struct project *p);

/* project_store - the store of database name ("project", "user"), or NULL. */
store *project_store(struct project *p, const char *name);

#endif
