/*
 * watch.c - keeping the kernel's caches true to the database.
 *
 * Orchestrators write the database directly, and the kernel caches what
 * the mount said (directory entries for entry_timeout). A watcher thread
 * sleeps on inotify for the database files of every store (a commit writes
 * the WAL), or on the notifications of a PostgreSQL server, with a short
 * poll as a fallback, asks each store whether anything
 * committed since (PRAGMA data_version), and if so reads the change feed
 * from where it stopped: every changed entity names the paths whose kernel
 * entries must be dropped (the entity's file or directory and
 * everything under it, its collection's views and stream, the feed). A
 * store without a feed (a foreign schema) drops everything the kernel knows
 * of that database, and so does a database file replaced under the mount
 * (store_generation). Invalidations run here, in the watcher's own thread,
 * never inside a request handler, so they cannot deadlock against the
 * request that caused them. The mount's own changes come through the same
 * feed: one mechanism for every writer.
 *
 * Without --cache the kernel keeps nothing and the thread only watches the
 * databases' paths (files made, moved or removed in their directories): a
 * database replaced or removed under the mount is let go at once
 * (store_look), with its -wal and -shm, rather than at the next request
 * that reaches the store - until then the old log would sit at the path for
 * the next process that opens the new file to pair with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fs/internal.h"

#define FS_MAX_STORES 8 /* a project has two: its own and the user's */

struct watch_store {
	int64_t version; /* PRAGMA data_version last seen */
	int64_t seq;     /* last change feed row handled */
	unsigned gen;    /* store_generation: which file of the path they count in */
};

struct watch {
	fs *f;
	pthread_t thread;
	int ifd;         /* inotify on the databases' directories */
	int stop[2];     /* a pipe: a byte stops the thread */
	struct watch_store *w; /* per store */
};

/*
 * Drop the kernel's directory entries at prefix and below. Only entries are
 * cached (attributes have timeout 0 and pages are dropped at every open), so
 * inodes need no invalidation - and must get none: an attribute invalidation
 * racing a reader's getattr makes the kernel discard the size that matches
 * the reader's snapshot, and the read comes back cut.
 */
static void watch_drop(fs *f, const char *prefix)
{
	size_t n;
	struct inode_known *k = inode_under(f->inodes, prefix, &n);

	for (size_t i = 0; i < n; i++) {
		char *parent, *name;
		uint64_t pino;
		if (k[i].ino != FUSE_ROOT_ID) {
			node_split(k[i].path, &parent, &name);
			if ((pino = inode_find(f->inodes, parent)))
				fuse_lowlevel_notify_inval_entry(f->se, pino, name, strlen(name));
			free(parent);
			free(name);
		}
		free(k[i].path);
	}
	free(k);
}

static void watch_drop_name(fs *f, const char *parent, const char *name)
{
	uint64_t pino = inode_find(f->inodes, parent);

	if (pino)
		fuse_lowlevel_notify_inval_entry(f->se, pino, name, strlen(name));
}

struct watch_ctx {
	fs *f;
	store *st;
	int64_t seq;
};

/* One feed row: drop what shows the changed entity. */
static int watch_change(void *arg, const cJSON *row)
{
	struct watch_ctx *wc = arg;
	const struct map_database *db = store_map(wc->st);
	const cJSON *coll = cJSON_GetObjectItemCaseSensitive(row, "collection");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(row, "key");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(row, "seq");
	const struct map_collection *c;
	char root[NODE_NAME_MAX + 2], path[3 * NODE_NAME_MAX], name[NODE_NAME_MAX + 8];

	if (cJSON_IsNumber(seq))
		wc->seq = (int64_t)seq->valuedouble;
	if (!cJSON_IsString(coll) || !cJSON_IsString(key) || !(c = map_collection(db, coll->valuestring)))
		return 0;
	snprintf(root, sizeof(root), "/%s", db->dir);
	if (strcmp(root, "/") == 0)
		root[0] = 0;
	snprintf(name, sizeof(name), "%s%s", key->valuestring, map_suffix(c));
	snprintf(path, sizeof(path), "%s/%s", root, c->dir);
	watch_drop_name(wc->f, path, name);
	snprintf(path, sizeof(path), "%s/%s/%s", root, c->dir, name);
	watch_drop(wc->f, path);
	for (size_t i = 0; i < c->nviews; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", root, c->dir, c->views[i].dir);
		watch_drop(wc->f, path);
	}
	/* Views grouped by a relation change with links of another collection. */
	for (size_t i = 0; i < db->ncollections; i++)
		for (size_t j = 0; j < db->collections[i].nviews; j++)
			if (db->collections[i].views[j].rel) {
				snprintf(path, sizeof(path), "%s/%s/%s", root, db->collections[i].dir,
					 db->collections[i].views[j].dir);
				watch_drop(wc->f, path);
			}
	snprintf(path, sizeof(path), "%s/%s.jsonl", root, c->dir);
	watch_drop(wc->f, path);
	snprintf(path, sizeof(path), "%s/changes.jsonl", root);
	watch_drop(wc->f, path);
	return 0;
}

/* Something committed to store i: find out what, and drop it. */
static void watch_store(struct watch *w, size_t i)
{
	store *st = w->f->stores[i];
	struct watch_ctx wc = { w->f, st, w->w[i].seq };
	const struct map_database *db = store_map(st);
	int64_t v;
	char root[NODE_NAME_MAX + 2];

	if (store_data_version(st, &v))
		return;
	if (store_generation(st) != w->w[i].gen) {
		/* another file at the database's path: nothing cached of the old one holds */
		w->w[i].gen = store_generation(st);
		w->w[i].version = v;
		if (store_has_changes(st))
			store_changes_last(st, &w->w[i].seq);
		goto all;
	}
	if (v == w->w[i].version)
		return;
	w->w[i].version = v;
	if (store_has_changes(st)) {
		store_changes(st, w->w[i].seq, watch_change, &wc);
		w->w[i].seq = wc.seq;
		return;
	}
all:
	snprintf(root, sizeof(root), "/%s", db->dir);
	watch_drop(w->f, root);
}

static void *watch_thread(void *arg)
{
	struct watch *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		/* the stop pipe, inotify, and each server's notifications (PostgreSQL) */
		struct pollfd p[2 + FS_MAX_STORES] = { { w->stop[0], POLLIN, 0 }, { w->ifd, POLLIN, 0 } };
		nfds_t np = 2;
		for (size_t i = 0; i < w->f->nstores && i < FS_MAX_STORES; i++) {
			int fd = store_notify_fd(w->f->stores[i]);
			if (fd >= 0)
				p[np++] = (struct pollfd){ fd, POLLIN, 0 };
		}
		int n = poll(p, np, 250);
		if (n < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (w->ifd >= 0 && (p[1].revents & POLLIN))
			while (read(w->ifd, buf, sizeof(buf)) > 0)
				; /* drain: which file changed does not matter, the stores say what */
		for (size_t i = 0; i < w->f->nstores; i++) {
			store_look(w->f->stores[i]);
			if (w->f->follow)
				watch_store(w, i);
		}
	}
	return NULL;
}

int fs_watch_start(fs *f, bool follow)
{
	struct watch *w = xcalloc(1, sizeof(*w));

	w->f = f;
	w->w = xcalloc(f->nstores, sizeof(*w->w));
	if (pipe2(w->stop, O_CLOEXEC) < 0) {
		free(w->w);
		free(w);
		return -errno;
	}
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (size_t i = 0; i < f->nstores; i++) {
		char *dir, *name;
		store *st = f->stores[i];
		w->w[i].version = -1;
		w->w[i].gen = store_generation(st);
		if (follow && store_has_changes(st)) {
			/* Start from now: the kernel has cached nothing older. */
			store_data_version(st, &w->w[i].version);
			store_changes_last(st, &w->w[i].seq);
		}
		node_split(store_path(st), &dir, &name);
		if (w->ifd >= 0)
			inotify_add_watch(w->ifd, dir,
					  IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
						  (follow ? IN_MODIFY | IN_CLOSE_WRITE : 0));
		free(dir);
		free(name);
	}
	f->follow = follow; /* before the thread starts: it reads it */
	if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
		f->follow = false;
		close(w->stop[0]);
		close(w->stop[1]);
		if (w->ifd >= 0)
			close(w->ifd);
		free(w->w);
		free(w);
		return -EAGAIN;
	}
	f->watch = w;
	return 0;
}

void fs_watch_stop(fs *f)
{
	struct watch *w = f->watch;

	if (!w)
		return;
	if (write(w->stop[1], "x", 1) < 0)
		fs_log("cannot stop the watcher: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	close(w->stop[0]);
	close(w->stop[1]);
	if (w->ifd >= 0)
		close(w->ifd);
	free(w->w);
	free(w);
	f->watch = NULL;
	f->follow = false;
}
