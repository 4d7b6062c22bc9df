/*
 * scratch.c - editors' and tools' scratch files, kept in memory.
 *
 * vim's swap files and 4913 probe, backups (x~), emacs autosaves and lock
 * symlinks, sed -i and rsync temporaries, mkstemp names: none of them is
 * state, and none becomes a row unless it is renamed onto an entity name.
 * They behave as ordinary files (create, write, read, chmod, chown, utimens,
 * rename, unlink, symlink). Tools remove their own; what a tool leaves
 * behind (emacs's x~ backup, the temporary of a killed sed) does not outlive
 * it: once no handle is open on it, the process that made it has exited and
 * it has not been touched for the grace period, the next listing forgets it.
 * A scratch file stays alive while handles are open on it, even after
 * unlink, like a file on disk.
 *
 * Every function here is called with fs->lock held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/internal.h"

struct scratch *scratch_find(fs *f, const char *path)
{
	for (struct scratch *s = f->scratch; s; s = s->next)
		if (s->path && strcmp(s->path, path) == 0)
			return s;
	return NULL;
}

struct scratch *scratch_new(fs *f, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct scratch *s = xcalloc(1, sizeof(*s));

	s->path = xstrdup(path);
	strbuf_init(&s->data, 0);
	s->mode = mode;
	s->uid = uid;
	s->gid = gid;
	clock_gettime(CLOCK_REALTIME, &s->mtime);
	s->atime = s->ctime = s->mtime;
	s->refs = 1;
	s->next = f->scratch;
	f->scratch = s;
	return s;
}

void scratch_put(fs *f, struct scratch *s)
{
	struct scratch **pp;

	if (--s->refs > 0)
		return;
	for (pp = &f->scratch; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	strbuf_release(&s->data);
	free(s->path);
	free(s);
}

void scratch_unname(fs *f, struct scratch *s)
{
	if (!s->path)
		return;
	free(s->path);
	s->path = NULL;
	scratch_put(f, s);
}

bool scratch_dir_has_children(fs *f, const char *path)
{
	size_t n = strlen(path);

	for (struct scratch *s = f->scratch; s; s = s->next)
		if (s->path && strncmp(s->path, path, n) == 0 && s->path[n] == '/')
			return true;
	return false;
}

/* Start time of pid (field 22 of /proc/PID/stat), or 0 if it is gone. */
static unsigned long long scratch_proc_start(pid_t pid)
{
	unsigned long long start = 0;
	char buf[1024];
	const char *p;

	if (!(p = proc_stat(pid, buf, sizeof(buf))))
		return 0;
	/* after ")": state is field 3; starttime is field 22 */
	if (sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &start) != 1)
		return 0;
	return start;
}

void scratch_set_owner(struct scratch *s, pid_t pid)
{
	s->owner = pid;
	s->owner_start = scratch_proc_start(pid);
}

static long long scratch_age_ms(const struct timespec *now, const struct timespec *then)
{
	return (now->tv_sec - then->tv_sec) * 1000LL + (now->tv_nsec - then->tv_nsec) / 1000000;
}

/* vim's swap file of a file (.NAME.swp, .swo, ... .swa, starting with vim's
 * "b0VIM " header): vim removes it when it exits, so one left by a process
 * that is gone is what a crash left, and what `vim -r` recovers the unsaved
 * buffer from. (f->lock held) */
static bool scratch_is_swap(const struct scratch *s)
{
	const char *base = strrchr(s->path, '/');
	size_t n;

	base = base ? base + 1 : s->path;
	n = strlen(base);
	return base[0] == '.' && n > 5 && strncmp(base + n - 4, ".sw", 3) == 0 && base[n - 1] >= 'a' &&
	       base[n - 1] <= 'p' && s->data.len >= 6 && memcmp(s->data.buf, "b0VIM ", 6) == 0;
}

char **scratch_sweep(fs *f)
{
	struct timespec now;
	struct scratch *s, *next;
	char **gone = NULL;
	size_t n = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec == f->last_sweep)
		return NULL;
	f->last_sweep = now.tv_sec;
	for (s = f->scratch; s; s = next) {
		long long grace;
		next = s->next;
		if (!s->path)
			continue;
		grace = (scratch_is_swap(s) && f->scratch_grace < FS_SWAP_GRACE ? FS_SWAP_GRACE
										    : f->scratch_grace) * 1000LL;
		if (s->refs > 1 || scratch_age_ms(&now, &s->mtime) < grace || scratch_age_ms(&now, &s->ctime) < grace)
			continue;
		if (s->owner_start && scratch_proc_start(s->owner) == s->owner_start)
			continue; /* its tool is still running */
		gone = xrealloc(gone, (n + 2) * sizeof(char *));
		gone[n++] = xstrdup(s->path);
		gone[n] = NULL;
		scratch_unname(f, s);
	}
	return gone;
}

bool fs_scratch_room(fs *f, const struct scratch *s, size_t end)
{
	size_t total = 0;

	if (end <= s->data.len)
		return true;
	for (const struct scratch *o = f->scratch; o; o = o->next)
		total += o->data.len;
	return total + (end - s->data.len) <= f->scratch_limit;
}
