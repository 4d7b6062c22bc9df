/*
 * cmd_mount.c - `orchfs mount` and `orchfs umount`: the daemon's life.
 *
 * Daemonizing is done here rather than by fuse_daemonize() so that every
 * error up to a working mount (no project, a bad database, a mountpoint in
 * use) reaches the terminal of the person who typed the command: the
 * parent forks, the child opens the databases and mounts, then tells the
 * parent "ok" or the reason through a pipe, and the parent exits 0 or 1.
 * SQLite connections are only ever opened in the process that uses them.
 *
 * Shutdown. An unmount waits for open files: `orchfs umount` (umount2, or
 * fusermount3 -u) fails with EBUSY while one is open, and `umount -l`
 * detaches the name at once while the session goes on serving the open
 * files; each save is committed as its writer closes it, and the loop ends
 * when the kernel lets go of the last one. SIGTERM, SIGINT and SIGHUP end
 * the loop at once: every change already closed is committed, and a file
 * still open for writing can no longer be saved (its close() fails with
 * ENOTCONN), so fs_stop() refuses what it holds in the log and the audit
 * log. Either way the daemon releases its resources and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "fs/fs.h"
#include "mount/cmd.h"
#include "mount/project.h"
#include "store/util.h"

/* A FUSE mount whose daemon died answers ENOTCONN: clear it. */
static int mount_clear_stale(const char *mnt)
{
	struct stat st;

	if (stat(mnt, &st) == 0 || errno != ENOTCONN)
		return 0;
	if (umount2(mnt, MNT_DETACH) < 0) {
		cmd_error("%s is a stale mount (its daemon is gone) and cannot be cleared: %s", mnt,
			  strerror(errno));
		return -1;
	}
	cmd_error("%s was a stale mount left by a daemon that died; cleared it", mnt);
	return 0;
}

/* Which of the project's files would the mount on mnt hide? The daemon
 * opens and looks at them by their paths as it runs (a new connection, the
 * -wal, a database replaced by mv): through its own mount, each would wait
 * on itself. A file is hidden when a directory on its path, as given, is
 * mnt's: by device and inode, so that a symbolic link on the way, or a bind
 * mount of mnt elsewhere, is seen. NULL if none. */
static const char *mount_hides(const char *mnt, const struct project *p)
{
	static char path[PATH_MAX];
	struct stat m, d;

	if (stat(mnt, &m) < 0)
		return NULL;
	for (size_t i = 0; i < 2 * p->nstores + 1; i++) {
		const char *file = i == 2 * p->nstores ? p->dir
				   : i % 2		 ? store_sidecar_file(p->stores[i / 2])
							 : store_path(p->stores[i / 2]);
		char *slash;
		if (!file || !strchr(file, '/') || strstr(file, "://"))
			continue; /* a PostgreSQL URL */
		if (*file == '/')
			snprintf(path, sizeof(path), "%s", file);
		else if (!getcwd(path, sizeof(path)) || strlen(path) + strlen(file) + 2 > sizeof(path))
			continue;
		else
			strcat(strcat(path, "/"), file);
		if (stat(path, &d) == 0 && d.st_dev == m.st_dev && d.st_ino == m.st_ino)
			return path; /* p->dir itself */
		while ((slash = strrchr(path, '/'))) {
			slash[slash == path] = 0; /* "/a/b" -> "/a", "/a" -> "/" */
			if (stat(path, &d) == 0 && d.st_dev == m.st_dev && d.st_ino == m.st_ino) {
				snprintf(path, sizeof(path), "%s", file);
				return path;
			}
			if (slash == path)
				break;
		}
	}
	return NULL;
}

/* Is path a mount point already? (FUSE would stack a second mount on it.) */
static bool mount_is_mounted(const char *path)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char line[4096], mp[PATH_MAX];
	bool found = false;

	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, path) == 0)
			found = true;
	fclose(fp);
	return found;
}

static void mount_report(int fd, const char *msg)
{
	if (fd < 0)
		return;
	if (write(fd, msg, strlen(msg)) < 0)
		return;
	close(fd);
}

/* Why the mount failed: to the parent, which prints it and exits 1, or on
 * standard error in the foreground. The report is then spent (-1). */
static void mount_fail(int *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mount_fail(int *report, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (*report >= 0)
		mount_report(*report, msg ? msg : "cannot mount");
	else
		cmd_error("%s", msg ? msg : "cannot mount");
	*report = -1;
	free(msg);
}

/* The parent's side: wait for the child's word. */
static int mount_parent(int fd, pid_t child)
{
	char buf[1024];
	ssize_t n = 0, r;
	int status;

	while (n < (ssize_t)sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	if (strcmp(buf, "ok") == 0)
		return 0;
	if (n == 0) {
		waitpid(child, &status, 0);
		cmd_error("the daemon exited before mounting");
		return 1;
	}
	fprintf(stderr, "orchfs: %s\n", buf);
	waitpid(child, &status, 0);
	return 1;
}

int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' }, { "read-only", no_argument, NULL, 'r' },
		{ "db", required_argument, NULL, 'd' },   { "user-db", required_argument, NULL, 'u' },
		{ "schema", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ "cache", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct project_opts po = { .create = true };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop = NULL;
	struct fuse_session *se = NULL;
	struct project *p = NULL;
	struct fs_options fo = { 0 };
	bool foreground = false, mounted = false, handlers = false, cache = false;
	const char *hidden;
	char *cause = NULL, *mnt = NULL, *fsname = NULL, *logpath = NULL;
	char mntbuf[PATH_MAX];
	int opt, rc = 1, ret, pipefd[2] = { -1, -1 }, report = -1;
	fs *f = NULL;

	fuse_opt_add_arg(&args, "orchfs");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "fo:rh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			foreground = true;
			break;
		case 'o':
			if (strcmp(optarg, "ro") == 0 || strncmp(optarg, "ro,", 3) == 0 || strstr(optarg, ",ro,") ||
			    (strlen(optarg) > 3 && strcmp(optarg + strlen(optarg) - 3, ",ro") == 0))
				po.readonly = true;
			fuse_opt_add_arg(&args, "-o");
			fuse_opt_add_arg(&args, optarg);
			for (const char *m = strstr(optarg, "max_read="); m; m = strstr(m + 1, "max_read="))
				if (m == optarg || m[-1] == ',')
					fo.max_read = (unsigned)strtoul(m + 9, NULL, 10);
			break;
		case 'r':
			po.readonly = true;
			break;
		case 'd':
			po.db = optarg;
			break;
		case 'u':
			po.user_db = optarg;
			break;
		case 's':
			po.schema = optarg;
			break;
		case 'c':
			cache = true;
			break;
		default:
			fuse_opt_free_args(&args);
			return cmd_usage("mount");
		}
	}
	/* getopt permutes, so options may follow the positionals (fstab: SRC MNT -o OPTS). */
	if (argc - optind == 2 && !po.db)
		po.db = argv[optind++];
	if (argc - optind != 1) {
		fuse_opt_free_args(&args);
		return cmd_usage("mount");
	}
	mnt = argv[optind];
	if (mount_clear_stale(mnt) < 0)
		goto out;
	if (!realpath(mnt, mntbuf)) {
		cmd_error("cannot mount on %s: %s", mnt, strerror(errno));
		goto out;
	}
	mnt = mntbuf;
	{
		struct stat st;
		if (stat(mnt, &st) == 0 && !S_ISDIR(st.st_mode)) {
			cmd_error("cannot mount on %s: %s", mnt, strerror(ENOTDIR));
			goto out;
		}
	}
	if (mount_is_mounted(mnt)) {
		cmd_error("%s is already a mount point (orchfs umount it first)", mnt);
		goto out;
	}

	if (!foreground) {
		pid_t pid;
		if (pipe2(pipefd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
			cmd_error("cannot start the daemon: %s", strerror(errno));
			goto out;
		}
		if (pid > 0) {
			close(pipefd[1]);
			fuse_opt_free_args(&args);
			return mount_parent(pipefd[0], pid);
		}
		close(pipefd[0]);
		report = pipefd[1];
		setsid();
	}

	if (project_open(&po, &p, &cause)) {
		mount_fail(&report, "%s", cause ? cause : "cannot open the project");
		goto out;
	}
	if ((hidden = mount_hides(mnt, p))) {
		mount_fail(&report, "cannot mount on %s: it holds %s, which the daemon reads as it runs; "
				    "mount on a directory outside it", mnt, hidden);
		goto out;
	}
	fsname = xasprintf("-osubtype=orchfs,fsname=%s", p->db_name);
	for (char *c = strchr(fsname, '=') + 1; *c; c++)
		if (*c == ',' && strncmp(c, ",fsname=", 8) != 0)
			*c = '_'; /* a comma in the path would end the option */
	fuse_opt_insert_arg(&args, 1, fsname); /* first: the user's -o fsname= wins */
	for (int i = 1; i < args.argc; i++)
		if (strstr(args.argv[i], "allow_other")) {
			/* Other users see the mount: let the kernel hold them to the files' modes
			 * (0600 where secrets live). */
			fuse_opt_add_arg(&args, "-odefault_permissions");
			break;
		}
	if (po.readonly)
		fuse_opt_add_arg(&args, "-oro");
	if (!fo.max_read) {
		char *mr = xasprintf("-omax_read=%u", FS_MAX_READ);
		fo.max_read = FS_MAX_READ;
		fuse_opt_add_arg(&args, mr);
		free(mr);
	}

	fo.stores = p->stores;
	fo.nstores = p->nstores;
	fo.readonly = po.readonly;
	f = fs_new(&fo);
	se = fuse_session_new(&args, fs_ops(), sizeof(*fs_ops()), f);
	if (!se) {
		mount_fail(&report, "cannot create the FUSE session (bad -o option?)");
		goto out;
	}
	fs_set_session(f, se);
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	handlers = true;
	if (fuse_session_mount(se, mnt) != 0) {
		mount_fail(&report, "cannot mount on %s (is it a directory, and not in use?)", mnt);
		goto out;
	}
	mounted = true;
	/* Following commits is off by default: a daemon killed while the kernel
	 * holds one of its invalidations waiting on a directory lock cannot
	 * finish dying, and its mount hangs until the connection is aborted
	 * (fusectl). Watching the database's path is always on. */
	if (fs_watch_start(f, cache) < 0)
		fprintf(stderr, "orchfs: cannot start the watcher; %s\n",
			cache ? "nothing will be cached" : "a replaced database is let go at the next request");
	if (report >= 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC), log;
		logpath = xasprintf("%s/orchfs.log", p->dir ? p->dir : "/tmp");
		log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(log >= 0 ? log : null, 2);
			close(null);
		}
		if (log >= 0)
			close(log);
		if (chdir("/") < 0)
			fprintf(stderr, "orchfs: cannot chdir to /: %s\n", strerror(errno));
	}
	/* the log says so before the parent returns: whoever reads it next finds it */
	fprintf(stderr, "orchfs: mounted %s at %s (pid %d)\n", p->db_name, mnt, (int)getpid());
	if (report >= 0) {
		mount_report(report, "ok");
		report = -1;
	}

	loop = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(loop, 0);
	fuse_loop_cfg_set_max_threads(loop, 10);
	/* libfuse's handlers end the loop with the signal's number */
	ret = fuse_session_loop_mt(se, loop);
	rc = ret < 0 ? 1 : 0;
	if (ret > 0 && ret < NSIG && sigabbrev_np(ret)) {
		char why[32];
		snprintf(why, sizeof(why), "SIG%s", sigabbrev_np(ret));
		fs_stop(f, why);
	} else {
		fs_stop(f, "the connection to the kernel ended");
	}
	fprintf(stderr, "orchfs: unmounting %s\n", mnt);
out:
	if (report >= 0)
		mount_report(report, cause ? cause : "cannot mount");
	if (loop)
		fuse_loop_cfg_destroy(loop);
	if (f)
		fs_watch_stop(f);
	if (mounted)
		fuse_session_unmount(se);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (se)
		fuse_session_destroy(se);
	fs_free(f);
	project_free(p);
	fuse_opt_free_args(&args);
	free(cause);
	free(fsname);
	free(logpath);
	return rc;
}

int cmd_umount(int argc, char **argv)
{
	bool lazy = false;
	int opt;

	optind = 1;
	while ((opt = getopt(argc, argv, "l")) != -1) {
		if (opt != 'l')
			return cmd_usage("umount");
		lazy = true;
	}
	if (optind != argc - 1)
		return cmd_usage("umount");
	if (geteuid() == 0) {
		if (umount2(argv[optind], lazy ? MNT_DETACH : 0) < 0) {
			/* umount2 says EINVAL for a directory that is no mount point */
			cmd_error("cannot unmount %s: %s%s", argv[optind],
				  errno == EINVAL ? "not a mount point" : strerror(errno),
				  errno == EBUSY ? " (a process is using it; try umount -l)" : "");
			return 1;
		}
		return 0;
	}
	execlp("fusermount3", "fusermount3", lazy ? "-uz" : "-u", argv[optind], (char *)NULL);
	cmd_error("cannot run fusermount3: %s", strerror(errno));
	return 1;
}
