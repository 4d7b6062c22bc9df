/*
 * notes.c - small pieces of per-mount state kept in memory:
 *
 *  - error notes: why the last save of a file failed, shown in the .error
 *    file of its directory as "NAME: reason" lines, cleared by the file's
 *    next successful save;
 *  - backups: an entity file renamed away by an editor making its backup
 *    (vim, emacs) is hidden until the save that follows recreates it, so
 *    the row and its children are never deleted by a backup. The record
 *    lives until the backup goes, and says how far the save got: an editor
 *    whose save failed unlinks the new file and renames the backup back,
 *    and that unlink must not delete the row (see BACKUP_* in internal.h);
 *  - new keys: the key each session last created through a `new` file, so
 *    `echo '{…}' > bugs/new && cat bugs/new` prints it.
 *
 * Every function takes fs->lock.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/internal.h"

struct errnote {
	char *path; /* the file whose save failed */
	char *msg;
	struct errnote *next;
};

struct hidden {
	char *entity;
	char *backup;
	int state; /* BACKUP_HIDDEN, BACKUP_OPEN, BACKUP_SAVED */
	struct hidden *next;
};

struct newkey {
	pid_t sid;
	char *dir;
	char *key;
	struct newkey *next;
};

void note_error(fs *f, const char *path, const char *msg)
{
	struct errnote *e;

	pthread_mutex_lock(&f->lock);
	for (e = f->errors; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			break;
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->path = xstrdup(path);
		e->next = f->errors;
		f->errors = e;
	}
	free(e->msg);
	e->msg = xstrdup(msg);
	pthread_mutex_unlock(&f->lock);
}

void note_clear(fs *f, const char *path)
{
	struct errnote **pp, *e;

	pthread_mutex_lock(&f->lock);
	for (pp = &f->errors; (e = *pp); pp = &e->next)
		if (strcmp(e->path, path) == 0) {
			*pp = e->next;
			free(e->path);
			free(e->msg);
			free(e);
			break;
		}
	pthread_mutex_unlock(&f->lock);
}

/* s with control characters and backslashes escaped (\n, \t, \xHH, \\), so that a name or a
 * reason quoting one never breaks .error's one line per file. */
static void note_add_escaped(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			strbuf_addstr(out, "\\n");
		else if (c == '\\')
			strbuf_addstr(out, "\\\\");
		else if (c == '\t')
			strbuf_addstr(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			strbuf_addf(out, "\\x%02x", c);
		else
			strbuf_addch(out, (char)c);
	}
}

void note_text(fs *f, const char *dir, struct strbuf *out)
{
	size_t n = strlen(dir);

	pthread_mutex_lock(&f->lock);
	for (struct errnote *e = f->errors; e; e = e->next) {
		const char *slash = strrchr(e->path, '/');
		size_t plen = slash == e->path ? 1 : (size_t)(slash - e->path);
		if (plen != n || strncmp(e->path, dir, n) != 0)
			continue;
		note_add_escaped(out, slash + 1);
		strbuf_addstr(out, ": ");
		note_add_escaped(out, e->msg);
		strbuf_addch(out, '\n');
	}
	pthread_mutex_unlock(&f->lock);
}

void hidden_add(fs *f, const char *entity, const char *backup)
{
	struct hidden *h = xcalloc(1, sizeof(*h));

	h->entity = xstrdup(entity);
	h->backup = xstrdup(backup);
	h->state = BACKUP_HIDDEN;
	hidden_remove(f, entity);
	pthread_mutex_lock(&f->lock);
	h->next = f->hidden;
	f->hidden = h;
	pthread_mutex_unlock(&f->lock);
}

static struct hidden *hidden_find(fs *f, const char *s, bool by_backup)
{
	for (struct hidden *h = f->hidden; h; h = h->next)
		if (strcmp(by_backup ? h->backup : h->entity, s) == 0)
			return h;
	return NULL;
}

int hidden_state(fs *f, const char *entity)
{
	struct hidden *h;
	int state;

	pthread_mutex_lock(&f->lock);
	state = (h = hidden_find(f, entity, false)) ? h->state : BACKUP_NONE;
	pthread_mutex_unlock(&f->lock);
	return state;
}

bool hidden_has(fs *f, const char *entity)
{
	return hidden_state(f, entity) == BACKUP_HIDDEN;
}

char **hidden_names(fs *f, const char *dir)
{
	size_t dlen = strlen(dir), n = 0;
	char **names = NULL;

	pthread_mutex_lock(&f->lock);
	for (struct hidden *h = f->hidden; h; h = h->next) {
		const char *rest = h->entity + dlen + (dlen > 1);
		if (h->state != BACKUP_HIDDEN || strncmp(h->entity, dir, dlen) != 0 ||
		    (dlen > 1 && h->entity[dlen] != '/') || strchr(rest, '/'))
			continue;
		names = xrealloc(names, (n + 2) * sizeof(*names));
		names[n++] = xstrdup(rest);
		names[n] = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	return names;
}

void hidden_set(fs *f, const char *entity, int state)
{
	struct hidden *h;

	pthread_mutex_lock(&f->lock);
	if ((h = hidden_find(f, entity, false)))
		h->state = state;
	pthread_mutex_unlock(&f->lock);
}

char *hidden_entity_of(fs *f, const char *backup)
{
	struct hidden *h;
	char *e = NULL;

	pthread_mutex_lock(&f->lock);
	if ((h = hidden_find(f, backup, true)))
		e = xstrdup(h->entity);
	pthread_mutex_unlock(&f->lock);
	return e;
}

static void hidden_drop(fs *f, const char *s, bool by_backup)
{
	struct hidden **pp, *h;

	pthread_mutex_lock(&f->lock);
	for (pp = &f->hidden; (h = *pp);) {
		if (strcmp(by_backup ? h->backup : h->entity, s) == 0) {
			*pp = h->next;
			free(h->entity);
			free(h->backup);
			free(h);
		} else {
			pp = &h->next;
		}
	}
	pthread_mutex_unlock(&f->lock);
}

void hidden_remove(fs *f, const char *entity)
{
	hidden_drop(f, entity, false);
}

void hidden_remove_backup(fs *f, const char *backup)
{
	hidden_drop(f, backup, true);
}

void hidden_move_backup(fs *f, const char *from, const char *to)
{
	struct hidden *h;

	pthread_mutex_lock(&f->lock);
	if ((h = hidden_find(f, from, true))) {
		free(h->backup);
		h->backup = xstrdup(to);
	}
	pthread_mutex_unlock(&f->lock);
}

void newkey_set(fs *f, pid_t sid, const char *dir, const char *key)
{
	struct newkey *k;

	pthread_mutex_lock(&f->lock);
	for (k = f->newkeys; k; k = k->next)
		if (k->sid == sid && strcmp(k->dir, dir) == 0)
			break;
	if (!k) {
		k = xcalloc(1, sizeof(*k));
		k->sid = sid;
		k->dir = xstrdup(dir);
		k->next = f->newkeys;
		f->newkeys = k;
	}
	free(k->key);
	k->key = xstrdup(key);
	pthread_mutex_unlock(&f->lock);
}

char *newkey_get(fs *f, pid_t sid, const char *dir)
{
	char *key = NULL;

	pthread_mutex_lock(&f->lock);
	for (struct newkey *k = f->newkeys; k; k = k->next)
		if (k->sid == sid && strcmp(k->dir, dir) == 0) {
			key = xstrdup(k->key);
			break;
		}
	pthread_mutex_unlock(&f->lock);
	return key;
}

void notes_free(fs *f)
{
	while (f->errors) {
		struct errnote *e = f->errors;
		f->errors = e->next;
		free(e->path);
		free(e->msg);
		free(e);
	}
	while (f->hidden) {
		struct hidden *h = f->hidden;
		f->hidden = h->next;
		free(h->entity);
		free(h->backup);
		free(h);
	}
	while (f->newkeys) {
		struct newkey *k = f->newkeys;
		f->newkeys = k->next;
		free(k->dir);
		free(k->key);
		free(k);
	}
	while (f->scratch) {
		struct scratch *s = f->scratch;
		f->scratch = s->next;
		strbuf_release(&s->data);
		free(s->path);
		free(s);
	}
}
