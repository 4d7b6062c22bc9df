/*
 * cmd.h - the subcommands of the orchfs binary (git style: `orchfs CMD`).
 * Each takes its own argc/argv (argv[0] is the command's name) and returns
 * the process's exit status. Messages go to stderr as "orchfs: ...".
 */
#ifndef ORCHFS_MOUNT_CMD_H
#define ORCHFS_MOUNT_CMD_H

int cmd_init(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_undo(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_reject(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_bug(int argc, char **argv);
int cmd_hooks(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_append(int argc, char **argv);
int cmd_rule(int argc, char **argv);
int cmd_task(int argc, char **argv);
int cmd_workflow(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_logs(int argc, char **argv);

struct project_opts;
/* data_migrate_to - copy the project database o names into dest (a new
 * database: a file, or a PostgreSQL URL), verified by comparing the two
 * exports (cmd_data.c); `orchfs migrate --to`. Exit status. */
int data_migrate_to(const struct project_opts *o, const char *dest);

/* cmd_usage - print the usage of command name to stderr, return 2 */
int cmd_usage(const char *name);
void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
