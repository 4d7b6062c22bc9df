/*
 * main.c - the orchfs command: dispatch to subcommands and their help.
 * `orchfs SOURCE MOUNTPOINT -o OPTS` (as mount.fuse3 calls it from
 * /etc/fstab) is read as `orchfs mount --db SOURCE ...`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount/cmd.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
	const char *help;
};

static const struct command commands[] = {
	{ "init", cmd_init, "orchfs init [--force] [DIR]", "create DIR/.orchfs/project.db and the user database",
	  "Creates DIR/.orchfs/ (DIR defaults to the current directory) with project.db at the\n"
	  "latest schema, and the user database (~/.orchfs/user.db) if it is missing. Running it\n"
	  "again is harmless: it applies any pending migrations. --force also checks both files\n"
	  "and re-applies pending migrations even when the version table looks current.\n" },
	{ "mount", cmd_mount,
	  "orchfs mount [-f] [-o OPTS] [--read-only] [--cache] [--db PATH] [--user-db PATH] [--schema S] [FILE] MOUNTPOINT",
	  "mount the project's state at MOUNTPOINT",
	  "Mounts the project found from the current directory (the nearest .orchfs/ above it),\n"
	  "or the database named by --db, FILE or ORCHFS_DB, with the user database (--user-db,\n"
	  "ORCHFS_USER_DB, ~/.orchfs/user.db) under user/. Runs in the background unless -f;\n"
	  "-o passes FUSE mount options; --read-only refuses every change with EROFS. The daemon\n"
	  "logs to .orchfs/orchfs.log beside the database. A stale mount left by a killed daemon\n"
	  "is detected and cleared first. --cache lets the kernel keep names for a second and\n"
	  "starts a watcher that drops them when rows change (faster listings; experimental: a\n"
	  "daemon killed with SIGKILL mid-invalidation can leave the mount hung until it is\n"
	  "aborted through /sys/fs/fuse/connections). From /etc/fstab:\n"
	  "  /path/to/project/.orchfs/project.db  /mnt/orchfs  fuse.orchfs  defaults  0 0\n"
	  "--schema orca|orchestra|tac|orc mounts a tool's own database FILE as it is (Orca's\n"
	  "project.db, with its user.db by --user-db; AI-Orchestra's visual.db; TAC's\n"
	  "orchestrator.db; orc's .orc/orc.db): never migrated or altered; orchfs's audit, change\n"
	  "feed and approvals go to FILE.orchfs.db beside it (docs/sources/).\n" },
	{ "umount", cmd_umount, "orchfs umount [-l] MOUNTPOINT", "unmount; the daemon exits 0",
	  "Unmounts MOUNTPOINT (-l: lazily, when it is busy). Every change was committed when its\n"
	  "file was closed; a file still open makes the mount busy, and with -l its change is\n"
	  "committed when it is closed. The daemon exits with status 0.\n" },
	{ "migrate", cmd_migrate, "orchfs migrate [--db PATH] [--user] [status | up | down N | verify | rollback]\n"
				  "       orchfs migrate [--db PATH] --to PATH|postgres://URL",
	  "show or change the schema version",
	  "status (the default) prints each database's version and the latest one. up applies\n"
	  "every pending step; down N undoes steps until version N. Each step runs in one\n"
	  "transaction; the file is copied to FILE.bak first and restored if a step fails or\n"
	  "loses rows of any table (an up step only adds). verify checks each database:\n"
	  "integrity, foreign keys, the latest version, every table and column the tree needs.\n"
	  "rollback puts back FILE.bak, the copy made before the last migration. --user works\n"
	  "on the user database instead of the project's.\n"
	  "--to DEST copies the project database into DEST, a new database: a file, or a\n"
	  "PostgreSQL database (postgres://USER@HOST:PORT/DB), migrated to the latest version\n"
	  "first; then both are exported and compared, and any difference is an error. From\n"
	  "PostgreSQL back to a file: orchfs migrate --db postgres://... --to FILE.\n" },
	{ "health", cmd_health, "orchfs health [--db PATH]", "check the databases",
	  "Opens both databases, runs SQLite's integrity check and reports versions and paths.\n"
	  "Exits 0 when everything is healthy, 1 otherwise.\n" },
	{ "version", cmd_version, "orchfs version", "print versions",
	  "Prints orchfs's version and the versions of SQLite, libfuse, cJSON and the schemas.\n" },
	{ "stats", cmd_stats, "orchfs stats [--db PATH]", "count entities and audit rows",
	  "Prints the number of entities in every collection and the audit totals by status.\n" },
	{ "search", cmd_search, "orchfs search [--in COLLECTION] QUERY", "full-text search of transcripts",
	  "Prints the transcript rows (of any task) that match QUERY, one JSON line each, oldest\n"
	  "first, each starting with its task_id. QUERY is SQLite FTS5 syntax: words, \"a phrase\",\n"
	  "prefix*, AND/OR/NOT. Exits 1 when nothing matches. The mount has the same search as\n"
	  "files: cat \"tasks/search/QUERY\".\n" },
	{ "watch", cmd_watch, "orchfs watch [--since SEQ] [--no-follow]", "follow the change feed",
	  "Prints every change after SEQ (default: all), one JSON line each, then waits for more:\n"
	  "{seq, time, collection, key, operation, tool, pid}. Changes made through the mount name\n"
	  "the process (tool); other writers (the sqlite3 shell, an orchestrator) show tool null.\n"
	  "The mount has the same feed as a file: tail -f changes.jsonl. --no-follow stops at the end.\n" },
	{ "audit", cmd_audit, "orchfs audit [--tool T] [--task KEY] [--since TIME] [--follow]",
	  "print the audit log",
	  "Prints the audit rows (one per change and per refused attempt, newest last), one JSON\n"
	  "line each, filtered by tool (the process that wrote), task, or time (ISO 8601). --follow\n"
	  "waits for new rows. The mount shows the same log: audit/ID.json and audit.jsonl.\n" },
	{ "undo", cmd_undo, "orchfs undo AUDIT-ID", "restore what an audited change replaced",
	  "Puts the entity the audit row AUDIT-ID changed back as it was before: an update is\n"
	  "reversed, a created entity deleted, a deleted one created again with its links, a link\n"
	  "undone. The undo is a change of its own, audited. Refused, changing nothing, when the\n"
	  "entity changed again since.\n" },
	{ "approve", cmd_approve, "orchfs approve [--reason TEXT] ID", "apply a change waiting for approval",
	  "Applies the change parked as approvals/ID (a tool whose rule says requires_approval\n"
	  "asked for it), as that tool, in one transaction with its audit row (status approved).\n"
	  "The same as writing {\"status\":\"approved\"} to approvals/ID.json.\n" },
	{ "reject", cmd_reject, "orchfs reject [--reason TEXT] ID", "drop a change waiting for approval",
	  "Drops the change parked as approvals/ID; the audit row says rejected, and why.\n" },
	{ "check", cmd_check, "orchfs check TOOL ARGS-JSON", "ask the permission rules",
	  "Prints allow, deny or requires_approval (exit status 0, 1 or 3) for TOOL doing what\n"
	  "ARGS-JSON describes: \"path\" is the path it would change (relative to the mount's root),\n"
	  "the other keys are its arguments, checked against the rule's white and black lists. The\n"
	  "decision is recorded in the audit log, as Orca's enforcer does.\n" },
	{ "logs", cmd_logs, "orchfs logs prune --older-than AGE [--dry-run]", "delete old log rows (retention)",
	  "Deletes the rows older than AGE (30d, 12h, 2w: s, m, h, d, w) of every log the mapping\n"
	  "gives a retention column: agents' logs and the system log (TAC). Each log is pruned in\n"
	  "one transaction with an audit row counting the rows; --dry-run only counts them. Works\n"
	  "on orchfs's databases and, with --schema and --db, on a tool's own file.\n" },
	{ "export", cmd_export, "orchfs export [--with-secrets] [-o FILE]", "the whole state as JSON Lines",
	  "Writes every row of every table of both databases (entities, links, logs, the audit\n"
	  "log, the change feed, approvals) as JSON Lines, after a header line naming the schema\n"
	  "versions, from one consistent snapshot. API keys are masked unless --with-secrets.\n"
	  "`orchfs import` reads it back: export, import, export gives the same bytes.\n" },
	{ "import", cmd_import, "orchfs import [FILE]", "load an export into new databases",
	  "Loads an export (FILE, or standard input) into the project and user databases, which\n"
	  "must be new (never changed since `orchfs init` made them: what their migrations put\n"
	  "there is replaced) and at the export's schema versions. All or nothing: one\n"
	  "transaction per database, foreign keys checked at the end.\n" },
	{ "bug", cmd_bug,
	  "orchfs bug create TITLE [-d DESC] [-p 1-5] [-s SEVERITY] [-a WHO] | list [STATUS] | show ID |"
	  " update-status ID STATUS | close ID",
	  "Orca's bug verbs, without a mount",
	  "Thin wrappers over the same validated, audited store calls as the mount (the audit row\n"
	  "names the tool orchfs). create prints the new key (BUG-NNN); close sets status fixed and\n"
	  "resolved_at; list prints ID, status, priority and title, tab-separated.\n" },
	{ "rule", cmd_rule,
	  "orchfs rule create NAME -t TYPE -c CONFIG-JSON [-s SEVERITY] [-d DESC] [--id KEY] | list |"
	  " list-type TYPE | show ID | enable ID | disable ID",
	  "Orca's project rule verbs",
	  "create makes rules/KEY.json (KEY from --id, or NAME in lowercase with '-' for the rest)\n"
	  "and prints KEY; TYPE is style, security, workflow or custom.\n" },
	{ "task", cmd_task, "orchfs task create TITLE [-d DESC] [-p N] | list [STATUS] | show ID",
	  "Orca's task verbs", "create prints the new key (TASK-NNN).\n" },
	{ "workflow", cmd_workflow, "orchfs workflow create NAME [-P PATTERN] [-d DESC] [--id KEY] | list | show ID",
	  "Orca's workflow verbs", "PATTERN is react, plan_execute or reflection.\n" },
	{ "hooks", cmd_hooks, "orchfs hooks install [REPO]", "install the git hooks",
	  "Writes pre-commit (applies every enabled rule in rules/ to the staged changes: an\n"
	  "error blocks the commit, a warning prints), commit-msg (tasks named TASK-NNN must\n"
	  "exist and be open) and post-commit (records the commit on those tasks' transcripts)\n"
	  "into REPO/.git/hooks. A hook already there is kept as HOOK.local and runs first.\n"
	  "The hooks read the mount named by `git config orchfs.mount`; without it they say so\n"
	  "and use the database directly (`git config orchfs.db PATH`, or found like mount).\n" },
	{ "cat", cmd_cat, "orchfs cat COLLECTION", "a collection as JSON Lines, without a mount",
	  "Prints what COLLECTION.jsonl shows in the mount, read from the database directly.\n" },
	{ "append", cmd_append, "orchfs append COLLECTION KEY LOG < ROWS",
	  "append JSON lines to an entity's log, without a mount",
	  "Appends the JSON objects on standard input to LOG (transcript.jsonl) of KEY in\n"
	  "COLLECTION, in one transaction with its audit row, as `>>` on the mount does.\n" },
	{ "help", cmd_help, "orchfs help [COMMAND]", "show help", "Shows the commands, or one command's help.\n" },
};

void cmd_error(const char *fmt, ...)
{
	va_list ap;

	fputs("orchfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int cmd_usage(const char *name)
{
	const struct command *c = command_find(name);

	fprintf(stderr, "usage: %s\n", c ? c->usage : "orchfs COMMAND [ARGS]");
	return 2;
}

int cmd_help(int argc, char **argv)
{
	const struct command *c;

	if (argc > 1) {
		if (!(c = command_find(argv[1]))) {
			cmd_error("no such command: %s", argv[1]);
			return 2;
		}
		printf("usage: %s\n\n%s", c->usage, c->help);
		return 0;
	}
	printf("usage: orchfs COMMAND [ARGS]\n\n"
	       "orchfs shows AI-orchestration state (tasks, bugs, rules, zones, worktrees,\n"
	       "transcripts, workflows, the audit log) as files. Commands:\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-9s %s\n", commands[i].name, commands[i].summary);
	printf("\n`orchfs help COMMAND` shows one command; docs/ has the whole reference.\n");
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2)
		return cmd_help(1, argv), 2;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv);
	if ((c = command_find(argv[1])))
		return c->fn(argc - 1, argv + 1);
	if (argv[1][0] == '/' || argv[1][0] == '.') {
		/* mount.fuse3 from /etc/fstab: orchfs SOURCE MOUNTPOINT [-o OPTS] */
		char **args = calloc((size_t)argc + 3, sizeof(char *));
		int n = 0, rc;
		if (!args)
			return 1;
		static char mount_arg[] = "mount", db_arg[] = "--db";
		args[n++] = mount_arg;
		args[n++] = db_arg;
		for (int i = 1; i < argc; i++)
			args[n++] = argv[i];
		rc = cmd_mount(n, args);
		free(args);
		return rc;
	}
	cmd_error("'%s' is not a command; see 'orchfs help'", argv[1]);
	return 2;
}
