/*
 * ops.c - the FUSE low-level operation table and the fs object.
 *
 * Every request maps its inode to a path (inode.c), the path to a node
 * (node.c) and the node to store calls. The handlers live by concern:
 * view.c (what a path shows), write.c (open files and saves), dir.c
 * (listings and names); this file has the rest and wires them up.
 *
 * Caching: attribute timeouts are 0 and pages are not kept across opens,
 * so every stat and open asks again and other writers' changes show at once;
 * the daemon answers from renderings it keeps only while the database's
 * version is unchanged (cache.c).
 * Names are cached only with `orchfs mount --cache`, where the watcher
 * (watch.c) drops them when rows change.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/internal.h"
#include "fs/render.h"

/* --- operations --- */

static void ops_init(void *userdata, struct fuse_conn_info *conn)
{
	fs *f = userdata;

	conn->max_read = f->max_read;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs *f = fs_of(req);
	char *dir = inode_path(f->inodes, parent), *path;
	struct stat st;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (strlen(name) > NAME_MAX) {
		free(dir);
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	path = fs_child(dir, name);
	if ((rc = view_stat(f, req, path, &st)))
		fuse_reply_err(req, -rc);
	else
		fs_reply_entry(req, f, path, &st);
	free(path);
	free(dir);
}

static void ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_forget(fs_of(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inode_forget(fs_of(req)->inodes, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

void ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs *f = fs_of(req);
	struct handle *h = fi ? handle_of(fi) : NULL;
	char *path;
	struct stat st;
	int rc;

	if (h && (h->scratch || h->dirty || h->creating || !h->path)) {
		memset(&st, 0, sizeof(st));
		pthread_mutex_lock(&f->lock);
		if (h->scratch) {
			view_scratch_stat(h->scratch, &st);
		} else {
			st.st_mode = S_IFREG | 0644;
			st.st_nlink = 1;
			st.st_uid = f->uid;
			st.st_gid = f->gid;
			st.st_size = (off_t)h->data.len;
			clock_gettime(CLOCK_REALTIME, &st.st_mtim);
			st.st_atim = st.st_ctim = st.st_mtim;
		}
		pthread_mutex_unlock(&f->lock);
		st.st_ino = ino;
		fuse_reply_attr(req, &st, 0);
		return;
	}
	if (!(path = inode_path(f->inodes, ino))) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (h && !h->writable) {
		/* An open reader holds one version of the row: its attributes are
		 * that version's (a size of another would make the kernel cut or pad
		 * what it reads), and computing them renders nothing. */
		memset(&st, 0, sizeof(st));
		pthread_mutex_lock(&h->lock);
		handle_refresh(f, h, -1);
		view_attr(f, &h->n, handle_size(h), &h->mtime, &st);
		pthread_mutex_unlock(&h->lock);
		rc = 0;
	} else {
		rc = view_stat(f, req, path, &st);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else {
		st.st_ino = ino;
		fuse_reply_attr(req, &st, 0);
	}
	free(path);
}

static void ops_readlink(fuse_req_t req, fuse_ino_t ino)
{
	fs *f = fs_of(req);
	char *path = inode_path(f->inodes, ino);
	struct strbuf sb = STRBUF_INIT;
	struct scratch *s;
	struct timespec mt;
	struct node n;
	int rc;

	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_mutex_lock(&f->lock);
	if ((s = scratch_find(f, path)) && s->is_link) {
		strbuf_add(&sb, s->data.buf, s->data.len);
		pthread_mutex_unlock(&f->lock);
		fuse_reply_readlink(req, sb.buf);
		goto out;
	}
	pthread_mutex_unlock(&f->lock);
	if ((rc = node_resolve(f, path, &n)) == 0 && (n.kind == NODE_REL_LINK || n.kind == NODE_VIEW_LINK)) {
		strbuf_init(&sb, 0);
		view_content(f, path, &n, 0, &sb, &mt);
		fuse_reply_readlink(req, sb.buf);
	} else {
		fuse_reply_err(req, EINVAL);
	}
out:
	strbuf_release(&sb);
	free(path);
}

static void ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = { 0 };

	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = NAME_MAX;
	sv.f_files = inode_count(fs_of(req)->inodes);
	fuse_reply_statfs(req, &sv);
}




/*
 * Every handler that may query a store ends by declaring the thread idle
 * (store_thread_idle): the next request, whatever thread takes it, gets the
 * connection the last one used, whose page cache is warm. The fs is read
 * before the handler runs: its reply frees req.
 */
static void ops_idle(fs *f)
{
	for (size_t i = 0; i < f->nstores; i++)
		store_thread_idle(f->stores[i]);
}

#define OPS_IDLE(name, handler, params, args) \
	static void name params               \
	{                                     \
		fs *f = fs_of(req);           \
		handler args;                 \
		ops_idle(f);                  \
	}
OPS_IDLE(idle_lookup, ops_lookup, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
OPS_IDLE(idle_getattr, ops_getattr, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
OPS_IDLE(idle_setattr, write_setattr,
	 (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi),
	 (req, ino, attr, to_set, fi))
OPS_IDLE(idle_readlink, ops_readlink, (fuse_req_t req, fuse_ino_t ino), (req, ino))
OPS_IDLE(idle_mkdir, dir_mkdir, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode),
	 (req, parent, name, mode))
OPS_IDLE(idle_unlink, dir_unlink, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
OPS_IDLE(idle_rmdir, dir_rmdir, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
OPS_IDLE(idle_symlink, dir_symlink, (fuse_req_t req, const char *link, fuse_ino_t parent, const char *name),
	 (req, link, parent, name))
OPS_IDLE(idle_rename, dir_rename,
	 (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
	  unsigned int flags),
	 (req, parent, name, newparent, newname, flags))
OPS_IDLE(idle_open, write_open, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
OPS_IDLE(idle_create, write_create,
	 (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi),
	 (req, parent, name, mode, fi))
OPS_IDLE(idle_read, write_read, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi),
	 (req, ino, size, off, fi))
OPS_IDLE(idle_flush, write_flush, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
OPS_IDLE(idle_fsync, write_fsync, (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi),
	 (req, ino, datasync, fi))
OPS_IDLE(idle_opendir, dir_open, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
OPS_IDLE(idle_readdir, dir_read,
	 (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi),
	 (req, ino, size, off, fi))

/* No xattr handlers: libfuse answers ENOSYS, which the kernel remembers for
 * the whole mount (ENODATA it does not, and `ls -l` would ask twice a file). */
static const struct fuse_lowlevel_ops ops = {
	.init = ops_init,
	.lookup = idle_lookup,
	.forget = ops_forget,
	.forget_multi = ops_forget_multi,
	.getattr = idle_getattr,
	.setattr = idle_setattr,
	.readlink = idle_readlink,
	.mkdir = idle_mkdir,
	.unlink = idle_unlink,
	.rmdir = idle_rmdir,
	.symlink = idle_symlink,
	.rename = idle_rename,
	.open = idle_open,
	.create = idle_create,
	.read = idle_read,
	.write = write_data,
	.flush = idle_flush,
	.fsync = idle_fsync,
	.release = write_release,
	.opendir = idle_opendir,
	.readdir = idle_readdir,
	.releasedir = dir_release,
	.statfs = ops_statfs,
};

const struct fuse_lowlevel_ops *fs_ops(void)
{
	return &ops;
}

fs *fs_new(const struct fs_options *opts)
{
	fs *f = xcalloc(1, sizeof(*f));
	size_t limit;

	f->stores = opts->stores;
	f->nstores = opts->nstores;
	f->readonly = opts->readonly;
	f->max_read = opts->max_read;
	f->uid = getuid();
	f->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &f->started);
	f->inodes = inode_table_new();
	f->scratch_grace = getenv("ORCHFS_SCRATCH_GRACE") ? atoi(getenv("ORCHFS_SCRATCH_GRACE")) : 30;
	f->scratch_limit = getenv("ORCHFS_SCRATCH_MB") ? (size_t)atoi(getenv("ORCHFS_SCRATCH_MB")) << 20
						       : FS_SCRATCH_BYTES;
	/*
	 * Memory is bounded by limits, not by what was read: renderings kept at
	 * most FS_CACHE_BYTES (cache.c), SQLite's page caches and statements
	 * of all connections at most FS_SQLITE_BYTES, and large buffers (a
	 * stream's rendering, a long log) go back to the system when freed.
	 * glibc would otherwise raise its mmap threshold to the largest block
	 * freed so far, after which such buffers come from the heaps and stay
	 * resident there, fragmented, long after they are freed.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	mallopt(M_TRIM_THRESHOLD, 1 << 20);
	/* one heap per CPU, not eight: each worker thread's heap otherwise keeps
	 * its own free blocks, and the total crept up with every pass of reads */
	mallopt(M_ARENA_MAX, sysconf(_SC_NPROCESSORS_ONLN) > 1 ? (int)sysconf(_SC_NPROCESSORS_ONLN) : 1);
	store_memory_limit(FS_SQLITE_BYTES);
	limit = getenv("ORCHFS_CACHE_MB") ? (size_t)atol(getenv("ORCHFS_CACHE_MB")) << 20 : FS_CACHE_BYTES;
	f->cache = limit ? cache_new(limit) : NULL;
	/* what a rendering may take in memory: as much as the cache hands to an OPEN */
	f->spill_bytes = 2 * (limit ? limit : FS_CACHE_BYTES);
	f->spill_dir = xstrdup(getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp");
	pthread_mutex_init(&f->lock, NULL);
	inode_ref(f->inodes, "/");
	return f;
}

void fs_set_session(fs *f, struct fuse_session *se)
{
	f->se = se;
}

void fs_free(fs *f)
{
	if (!f)
		return;
	while (f->handles)
		handle_free(f, f->handles);
	dir_free_all(f);
	notes_free(f);
	cache_free(f->cache);
	free(f->stale_rename.from);
	free(f->rm_refused.dir);
	free(f->stale_rename.to);
	free(f->spill_dir);
	inode_table_free(f->inodes);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
