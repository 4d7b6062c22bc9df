/*
 * fs.h - the orchfs filesystem: the tree of SPEC §2 over one or more stores.
 *
 * fs/ turns FUSE low-level requests into store calls. It knows the tree
 * (collections, entity files and directories, logs, relations, views, the
 * `new` files, `.error` files and editors' scratch files) only through the
 * mapping; it never writes SQL. mount/ creates an fs, hands fs_ops() to
 * fuse_session_new() and runs the loop.
 *
 * Ownership: the fs borrows the stores and the mapping; the caller frees
 * them after fs_free().
 */
#ifndef ORCHFS_FS_FS_H
#define ORCHFS_FS_FS_H

#include <stdbool.h>

#include <fuse_lowlevel.h>

#include "store/store.h"

typedef struct fs fs;

struct fs_options {
	store **stores;   /* one per database of the mapping, same order */
	size_t nstores;
	bool readonly;    /* every change is EROFS */
	unsigned max_read; /* the session's -o max_read (libfuse wants init() to say it again), or 0 */
};

/*
 * What to mount with as -o max_read unless the user says otherwise: the
 * largest READ the kernel sends. Rows' files are direct I/O, and for a
 * direct read the kernel pins (and faults in) every page of the reader's
 * buffer that the READ may fill: `cat` reads a 700-byte file into a fresh
 * 128 KiB buffer, so 32 pages a READ, twice a file, where 4 do.
 */
#define FS_MAX_READ 16384

/* fs_new - a filesystem over opts->stores (ORCHFS_SCRATCH_GRACE, seconds,
 * sets how long editors' leftovers outlive their tool; default 30). */
fs *fs_new(const struct fs_options *opts);
void fs_free(fs *f);

/* fs_ops - the low-level operations; pass f as userdata to fuse_session_new. */
const struct fuse_lowlevel_ops *fs_ops(void);

/* fs_set_session - the session, for cache invalidations (after fuse_session_new). */
void fs_set_session(fs *f, struct fuse_session *se);

/* fs_stop - the session is over (after the loop): every open file holding a
 * save not yet committed is refused, logged and audited (why: "SIGTERM"),
 * since its close() can no longer reach the daemon (it fails ENOTCONN). */
void fs_stop(fs *f, const char *why);

/* fs_watch_start - a thread (needs the session, after mount) that lets go of
 * a database replaced or removed under the mount at once, and with follow
 * (--cache) also follows other writers' commits and drops what the kernel
 * caches of the rows they change; until it runs, nothing is cached.
 * fs_watch_stop ends it (before unmount). */
int fs_watch_start(fs *f, bool follow);
void fs_watch_stop(fs *f);

#endif
