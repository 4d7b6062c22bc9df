/*
 * floorfs.c - the transport floor of the orchfs benchmark (bench/run.sh).
 *
 * A minimal in-memory FUSE filesystem: at start it loads a directory tree
 * (directories, regular files, symlinks) from a real directory, keeps every
 * byte in memory and serves it through the same libfuse 3 low-level API,
 * multi-threaded loop and caching policy as orchfs. Whatever a workload
 * costs here is what the kernel <-> daemon round trips cost on this machine
 * with no work behind them; SPEC §9 states orchfs's targets as ratios to it.
 *
 * Supported: lookup, getattr, readdir (and readdirplus with --readdirplus),
 * readlink, open, read, and for the write workloads open with O_TRUNC,
 * write (O_APPEND too), setattr of size and times, flush, fsync, release,
 * all in memory. No create, mkdir, unlink or rename: the tree's shape is
 * fixed at load. No xattr handlers, so the kernel's first ENOSYS stops it
 * asking. Not a general filesystem; not installed.
 *
 * Caching: by default entry and attr timeouts are 0 and no page is kept
 * across opens; like orchfs it asks for ATOMIC_O_TRUNC, no writeback
 * cache, clone_fd off and at most 10 threads. --entry-timeout,
 * --attr-timeout, --keep-cache and --readdirplus let the floor cache
 * exactly as orchfs does (bench/run.sh passes orchfs's current policy): a
 * ratio means something only between two filesystems that cache alike.
 *
 * The floor of a save (--sqlite DB): closing a written file of bugs/ also
 * runs the smallest database change the save stands for, through the SQLite
 * C API, before close() returns (as orchfs must: a failed commit is
 * close()'s error): `UPDATE bugs SET priority = P WHERE id = KEY` in its
 * own BEGIN IMMEDIATE transaction, P read from the bytes written, on one
 * connection set up as orchfs's (synchronous=NORMAL, foreign keys; the file
 * is in WAL mode, as orchfs leaves it). Only one writer is timed: the tree
 * stays locked while it commits.
 * The table's triggers run (the revision and time, the change feed); there
 * is no parsing of the document, no validation, no audit row. What a save
 * costs here is the least any design that commits at close can cost.
 *
 * Locking: the tree's shape never changes after load; file contents,
 * sizes and times are protected by tree_lock (a rwlock: reads share it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fnode {
	char *name;		/* name in the parent; "" for the root */
	fuse_ino_t parent;	/* the root is its own parent */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;	/* protected by tree_lock */
	char *data;		/* file bytes or link target; protected by tree_lock */
	size_t len, cap;	/* protected by tree_lock */
	bool written;		/* since the last flush; protected by tree_lock */
	fuse_ino_t *kids;	/* children, sorted by name */
	size_t nkids;
};

static struct fnode *nodes;	/* inode i is nodes[i - 1]; the root is FUSE_ROOT_ID */
static size_t nnodes, capnodes;
static pthread_rwlock_t tree_lock = PTHREAD_RWLOCK_INITIALIZER;

static struct {
	double entry_timeout, attr_timeout;
	bool keep_cache;
	bool readdirplus;
	const char *sqlite;	/* --sqlite DB: commit saves of bugs/ there */
} opt;

/* --sqlite: one connection, its statements prepared once; sql_lock serializes */
static struct {
	sqlite3 *db;
	sqlite3_stmt *begin, *update, *commit, *rollback;
	pthread_mutex_t lock;
} sql = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *ff_xrealloc(void *p, size_t n)
{
	if (!(p = realloc(p, n ? n : 1))) {
		fprintf(stderr, "floorfs: out of memory\n");
		exit(1);
	}
	return p;
}

static struct fnode *ff_node(fuse_ino_t ino)
{
	return ino >= 1 && ino <= nnodes ? &nodes[ino - 1] : NULL;
}

/* --- loading the tree --- */

static int ff_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ff_read_file(const char *path, struct fnode *n, size_t hint)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -errno;
	n->cap = hint + 1;	/* + 1 so that a file of hint bytes ends on a 0 read */
	n->data = ff_xrealloc(NULL, n->cap);
	for (;;) {
		if (n->len == n->cap) {
			n->cap *= 2;
			n->data = ff_xrealloc(n->data, n->cap);
		}
		got = read(fd, n->data + n->len, n->cap - n->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n->len += (size_t)got;
	}
	close(fd);
	return got < 0 ? -errno : 0;
}

/* Add the node for path (already lstat'ed as st) under parent; returns its inode. */
static fuse_ino_t ff_add(const char *path, const char *name, fuse_ino_t parent, const struct stat *st)
{
	struct fnode *n;
	fuse_ino_t ino;
	char target[PATH_MAX];
	ssize_t tl;

	if (nnodes == capnodes) {
		capnodes = capnodes * 2 + 1024;
		nodes = ff_xrealloc(nodes, capnodes * sizeof(*nodes));
	}
	ino = ++nnodes;
	n = &nodes[ino - 1];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->parent = parent ? parent : ino;
	n->mode = st->st_mode;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->mtime = st->st_mtim;
	if (S_ISREG(st->st_mode)) {
		if (ff_read_file(path, n, (size_t)st->st_size) < 0)
			fprintf(stderr, "floorfs: cannot read %s: %s\n", path, strerror(errno));
	} else if (S_ISLNK(st->st_mode)) {
		if ((tl = readlink(path, target, sizeof(target) - 1)) < 0)
			tl = 0;
		n->data = ff_xrealloc(NULL, (size_t)tl + 1);
		memcpy(n->data, target, (size_t)tl);
		n->data[tl] = '\0';
		n->len = n->cap = (size_t)tl;
	}
	return ino;
}

/* Load the directory at path (inode dir) and everything below it. */
static int ff_load_dir(const char *path, fuse_ino_t dir)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL, *child;
	size_t count = 0, cap = 0, i;
	fuse_ino_t *kids;
	struct stat st;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "floorfs: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (count == cap) {
			cap = cap * 2 + 64;
			names = ff_xrealloc(names, cap * sizeof(*names));
		}
		names[count++] = strdup(de->d_name);
	}
	closedir(d);
	if (count)
		qsort(names, count, sizeof(*names), ff_name_cmp);
	kids = ff_xrealloc(NULL, count * sizeof(*kids));
	for (i = 0; i < count; i++) {
		if (asprintf(&child, "%s/%s", path, names[i]) < 0)
			exit(1);
		if (lstat(child, &st) < 0) {
			fprintf(stderr, "floorfs: cannot stat %s: %s\n", child, strerror(errno));
			rc = -errno;
		} else {
			kids[i] = ff_add(child, names[i], dir, &st);
			if (S_ISDIR(st.st_mode) && ff_load_dir(child, kids[i]) < 0)
				rc = -EIO;
		}
		free(child);
		free(names[i]);
		if (rc)
			break;
	}
	free(names);
	/* nodes may have moved while children were added: index afresh */
	nodes[dir - 1].kids = kids;
	nodes[dir - 1].nkids = rc ? 0 : count;
	return rc;
}

/* --- replies --- */

/* Fill st for inode ino; call with tree_lock held. */
static void ff_stat(fuse_ino_t ino, struct stat *st)
{
	const struct fnode *n = ff_node(ino);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = n->mode;
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = (off_t)n->len;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((n->len + 511) / 512);
	st->st_atim = n->mtime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->mtime;
}

static void ff_entry(fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->attr_timeout = opt.attr_timeout;
	e->entry_timeout = opt.entry_timeout;
	ff_stat(ino, &e->attr);
}

static fuse_ino_t ff_find(const struct fnode *dir, const char *name)
{
	size_t lo = 0, hi = dir->nkids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, nodes[dir->kids[mid] - 1].name);
		if (c == 0)
			return dir->kids[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* --- operations --- */

static void ff_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct fnode *dir = ff_node(parent);
	struct fuse_entry_param e;
	fuse_ino_t ino;

	if (!dir || !S_ISDIR(dir->mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (!(ino = ff_find(dir, name))) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_rwlock_rdlock(&tree_lock);
	ff_entry(ino, &e);
	pthread_rwlock_unlock(&tree_lock);
	fuse_reply_entry(req, &e);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (!ff_node(ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_rwlock_rdlock(&tree_lock);
	ff_stat(ino, &st);
	pthread_rwlock_unlock(&tree_lock);
	fuse_reply_attr(req, &st, opt.attr_timeout);
}

/* Resize n's bytes to len (zero-filling a gap); call with tree_lock held for writing. */
static void ff_resize(struct fnode *n, size_t len)
{
	if (len > n->cap) {
		n->cap = len > 2 * n->cap ? len : 2 * n->cap;
		n->data = ff_xrealloc(n->data, n->cap);
	}
	if (len > n->len)
		memset(n->data + n->len, 0, len - n->len);
	n->len = len;
}

static void ff_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct fnode *n = ff_node(ino);
	struct stat st;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && !S_ISREG(n->mode)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	pthread_rwlock_wrlock(&tree_lock);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		ff_resize(n, (size_t)attr->st_size);
		clock_gettime(CLOCK_REALTIME, &n->mtime);
	}
	if (to_set & FUSE_SET_ATTR_MTIME)
		n->mtime = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &n->mtime);
	if (to_set & FUSE_SET_ATTR_MODE)
		n->mode = (n->mode & S_IFMT) | (attr->st_mode & 07777);
	ff_stat(ino, &st);
	pthread_rwlock_unlock(&tree_lock);
	fuse_reply_attr(req, &st, opt.attr_timeout);
}

static void ff_readlink(fuse_req_t req, fuse_ino_t ino)
{
	const struct fnode *n = ff_node(ino);

	if (!n || !S_ISLNK(n->mode))
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->data);
}

static void ff_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	const struct fnode *dir = ff_node(ino);
	char *buf;
	size_t used = 0;
	off_t i;

	if (!dir || !S_ISDIR(dir->mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = ff_xrealloc(NULL, size);
	pthread_rwlock_rdlock(&tree_lock);
	/* offsets: 0 ".", 1 "..", 2 + k the k-th child; an entry's off is the next one's */
	for (i = off; i < (off_t)dir->nkids + 2; i++) {
		fuse_ino_t child = i == 0 ? ino : i == 1 ? dir->parent : dir->kids[i - 2];
		const char *name = i == 0 ? "." : i == 1 ? ".." : nodes[child - 1].name;
		size_t len;

		if (plus) {
			struct fuse_entry_param e;
			ff_entry(child, &e);
			if (i < 2)
				e.ino = 0;	/* no lookup count for . and .. */
			len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1);
		} else {
			struct stat st = { 0 };
			st.st_ino = child;
			st.st_mode = nodes[child - 1].mode;
			len = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		}
		if (len > size - used)
			break;
		used += len;
	}
	pthread_rwlock_unlock(&tree_lock);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void ff_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	ff_readdir_common(req, ino, size, off, false);
}

static void ff_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	ff_readdir_common(req, ino, size, off, true);
}

static void ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fnode *n = ff_node(ino);

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (S_ISDIR(n->mode)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
		pthread_rwlock_wrlock(&tree_lock);
		ff_resize(n, 0);
		clock_gettime(CLOCK_REALTIME, &n->mtime);
		pthread_rwlock_unlock(&tree_lock);
	}
	fi->fh = (uint64_t)fi->flags;
	fi->keep_cache = opt.keep_cache;
	fi->direct_io = 0;
	fuse_reply_open(req, fi);
}

static void ff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct fnode *n = ff_node(ino);

	pthread_rwlock_rdlock(&tree_lock);
	if (off < 0 || (size_t)off >= n->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, n->data + off, n->len - (size_t)off < size ? n->len - (size_t)off : size);
	pthread_rwlock_unlock(&tree_lock);
}

static void ff_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fnode *n = ff_node(ino);
	size_t at;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_rwlock_wrlock(&tree_lock);
	at = (fi->fh & O_APPEND) ? n->len : (size_t)off;
	if (at + size > n->len)
		ff_resize(n, at + size);
	memcpy(n->data + at, buf, size);
	n->written = true;
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	pthread_rwlock_unlock(&tree_lock);
	fuse_reply_write(req, size);
}

static void ff_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

/* A step of the commit, SQLITE_DONE on success; reset for the next save. */
static int ff_sql_step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc;
}

/* --sqlite: commit a save of bugs/KEY.json; 0 or an errno for close(). */
static int ff_commit(const struct fnode *n)
{
	const struct fnode *dir = ff_node(n->parent);
	size_t klen = strlen(n->name);
	const char *p;
	char doc[64];
	long prio;
	int rc = 0;

	if (!dir || strcmp(dir->name, "bugs") != 0 || klen <= 5 || strcmp(n->name + klen - 5, ".json") != 0)
		return 0;
	snprintf(doc, sizeof(doc), "%.*s", (int)(n->len < sizeof(doc) - 1 ? n->len : sizeof(doc) - 1), n->data);
	if (!(p = strstr(doc, "\"priority\":")))
		return EINVAL;
	prio = strtol(p + 11, NULL, 10);
	pthread_mutex_lock(&sql.lock);
	sqlite3_bind_int64(sql.update, 1, prio);
	sqlite3_bind_text(sql.update, 2, n->name, (int)klen - 5, SQLITE_STATIC);
	if (ff_sql_step(sql.begin) != SQLITE_DONE || ff_sql_step(sql.update) != SQLITE_DONE ||
	    sqlite3_changes(sql.db) != 1 || ff_sql_step(sql.commit) != SQLITE_DONE) {
		fprintf(stderr, "floorfs: %s: %s\n", n->name, sqlite3_errmsg(sql.db));
		if (!sqlite3_get_autocommit(sql.db))
			ff_sql_step(sql.rollback);
		rc = EIO;
	}
	pthread_mutex_unlock(&sql.lock);
	return rc;
}

static void ff_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fnode *n = ff_node(ino);
	int rc = 0;

	if (opt.sqlite && n && S_ISREG(n->mode)) {
		pthread_rwlock_wrlock(&tree_lock);
		if (n->written && (rc = ff_commit(n)) == 0)
			n->written = false;
		pthread_rwlock_unlock(&tree_lock);
	}
	fuse_reply_err(req, rc);
}

static int ff_sql_open(const char *path)
{
	static const char setup[] = "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;";

	if (sqlite3_open_v2(path, &sql.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(sql.db, 5000) != SQLITE_OK ||
	    sqlite3_exec(sql.db, setup, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql.db, "BEGIN IMMEDIATE", -1, &sql.begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql.db, "UPDATE bugs SET priority = ?1 WHERE id = ?2", -1, &sql.update, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(sql.db, "COMMIT", -1, &sql.commit, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql.db, "ROLLBACK", -1, &sql.rollback, NULL) != SQLITE_OK) {
		fprintf(stderr, "floorfs: %s: %s\n", path, sql.db ? sqlite3_errmsg(sql.db) : "cannot open");
		return -1;
	}
	return 0;
}

static void ff_sql_close(void)
{
	sqlite3_finalize(sql.begin);
	sqlite3_finalize(sql.update);
	sqlite3_finalize(sql.commit);
	sqlite3_finalize(sql.rollback);
	sqlite3_close_v2(sql.db);
}

static void ff_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static struct fuse_lowlevel_ops ff_ops = {
	.init = ff_init,
	.lookup = ff_lookup,
	.getattr = ff_getattr,
	.setattr = ff_setattr,
	.readlink = ff_readlink,
	.open = ff_open,
	.read = ff_read,
	.write = ff_write,
	.flush = ff_flush,
	.release = ff_ok,
	.fsync = ff_fsync,
	.readdir = ff_readdir,
};

/* --- main --- */

static void ff_usage(FILE *to)
{
	fprintf(to, "usage: floorfs [--entry-timeout=S] [--attr-timeout=S] [--keep-cache] [--readdirplus] [--sqlite DB] [-o OPTS] SRCDIR MOUNTPOINT\n"
		    "\n"
		    "Serves a copy of SRCDIR, held in memory, at MOUNTPOINT in the foreground until it\n"
		    "is unmounted or signalled. The transport floor of bench/run.sh; see floorfs.c.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "entry-timeout", required_argument, NULL, 'e' },
		{ "attr-timeout", required_argument, NULL, 'a' },
		{ "keep-cache", no_argument, NULL, 'k' },
		{ "readdirplus", no_argument, NULL, 'p' },
		{ "sqlite", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop = NULL;
	struct fuse_session *se = NULL;
	struct stat st;
	bool mounted = false, handlers = false;
	char *end;
	double t;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
		case 'a':
			t = strtod(optarg, &end);
			if (end == optarg || *end || t < 0) {
				fprintf(stderr, "floorfs: bad timeout %s\n", optarg);
				return 2;
			}
			*(c == 'e' ? &opt.entry_timeout : &opt.attr_timeout) = t;
			break;
		case 'k':
			opt.keep_cache = true;
			break;
		case 'p':
			opt.readdirplus = true;
			break;
		case 's':
			opt.sqlite = optarg;
			break;
		case 'o':
			if (!args.argc)
				fuse_opt_add_arg(&args, argv[0]);
			fuse_opt_add_arg(&args, "-o");
			fuse_opt_add_arg(&args, optarg);
			break;
		case 'h':
			ff_usage(stdout);
			return 0;
		default:
			ff_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 2) {
		ff_usage(stderr);
		return 2;
	}
	if (!args.argc)
		fuse_opt_add_arg(&args, argv[0]);
	fuse_opt_add_arg(&args, "-ofsname=floorfs,subtype=floorfs");
	if (opt.readdirplus)
		ff_ops.readdirplus = ff_readdirplus;

	if (lstat(argv[optind], &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "floorfs: %s: not a directory\n", argv[optind]);
		goto out;
	}
	if (opt.sqlite && ff_sql_open(opt.sqlite) < 0)
		goto out;
	ff_add(argv[optind], "", 0, &st);
	if (ff_load_dir(argv[optind], FUSE_ROOT_ID) < 0)
		goto out;

	se = fuse_session_new(&args, &ff_ops, sizeof(ff_ops), NULL);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	handlers = true;
	if (fuse_session_mount(se, argv[optind + 1]) != 0)
		goto out;
	mounted = true;
	fprintf(stderr, "floorfs: serving %zu inodes from %s at %s (pid %d)\n", nnodes, argv[optind],
		argv[optind + 1], (int)getpid());

	loop = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(loop, 0);
	fuse_loop_cfg_set_max_threads(loop, 10);
	rc = fuse_session_loop_mt(se, loop) < 0 ? 1 : 0;
out:
	if (loop)
		fuse_loop_cfg_destroy(loop);
	if (mounted)
		fuse_session_unmount(se);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	if (sql.db)
		ff_sql_close();
	while (nnodes) {
		free(nodes[nnodes - 1].name);
		free(nodes[nnodes - 1].data);
		free(nodes[nnodes - 1].kids);
		nnodes--;
	}
	free(nodes);
	return rc;
}
