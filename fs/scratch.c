/*
 * scratch.c - editors' and tools' scratch files, kept in memory.
 *
 * vim's swap files and 4913 probe, backups (x~), emacs autosaves and lock
 * symlinks, sed -i and rsync temporaries, mkstemp names: none of them is
 * state, and none becomes a row unless it is renamed onto an entity name.
 * They behave as ordinary files (create, write, read, chmod, chown, utimens,
 * rename, unlink, symlink) for as long as the daemon runs; tools remove
 * their own. A scratch file stays alive while handles are open on it, even
 * after unlink, like a file on disk.
 *
 * Every function here is called with fs->lock held.
 */
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
