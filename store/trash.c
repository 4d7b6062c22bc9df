/*
 * trash.c - soft deletes (OmniOrchestrator's method: a deleted_at column
 * rather than removing the row). In a collection whose mapping names a
 * soft_delete column, `rm` sets it (store_delete) and the entity leaves the
 * collection for its .trash/ directory, from which `mv` restores it and
 * `rm` removes it for good. Each is one audited transaction.
 *
 * A key in .trash/ is still taken: a create of that name is EEXIST, so a
 * deleted task's logs and links are never lost to a new entity that happens
 * to take its name. One exception: tools that save a file by removing it
 * and creating it again (mv from another file system, git checkout and
 * apply, cp --remove-destination) do both within moments, as one process.
 * A create of a name its own process moved to .trash/ less than
 * TRASH_RESAVE_MS ago is that save: the entity comes back and takes the
 * new document as an edit of the one it had (store_create, entity.c), its
 * links, logs and history kept. The daemon remembers its last few such
 * deletes (trash_note); another daemon's or an older one is not a save.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/internal.h"

int store_trash_list(store *st, const struct map_collection *c, store_key_fn fn, void *arg)
{
	if (!c->soft_delete)
		return 0;
	return entity_walk(st, st->sql[c->index].trash_list, NULL, fn, arg);
}

int trash_load(struct conn *cn, const struct map_collection *c, const char *key, cJSON **doc)
{
	*doc = NULL;
	if (!c->soft_delete)
		return -ENOENT;
	return entity_load_sql(cn, c, cn->st->sql[c->index].trash_get, key, false, doc);
}

int store_trash_get(store *st, const struct map_collection *c, const char *key, cJSON **doc)
{
	struct conn *cn;
	int rc;

	*doc = NULL;
	if ((rc = conn_get(st, &cn)))
		return rc;
	return trash_load(cn, c, key, doc);
}

int trash_run(struct conn *cn, const struct map_collection *c, const char *sql, const char *key)
{
	dbstmt *s = conn_stmt(cn, sql);
	int rc;

	if (!s)
		return conn_errcode(cn);
	entity_bind_key(c, s, 1, key);
	rc = db_step(s);
	db_reset(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Restore (sql: restore) or remove for good (sql: purge) the trashed key. */
static int trash_change(store *st, const struct map_collection *c, const char *key, bool restore,
			const struct store_actor *who, char **cause)
{
	struct change ch;
	int rc;

	if ((rc = change_begin(&ch, st, c, key, who, cause)))
		goto out;
	ch.args = cJSON_CreateObject();
	cJSON_AddStringToObject(ch.args, "trash", restore ? "restore" : "purge");
	if ((rc = trash_load(ch.cn, c, key, restore ? &ch.after : &ch.before))) {
		if (rc == -ENOENT)
			store_cause(cause, rc, "%s: not in %s/.trash", key, c->dir);
		goto out;
	}
	if ((rc = trash_run(ch.cn, c, restore ? st->sql[c->index].restore : st->sql[c->index].purge, key)) !=
	    SQLITE_OK) {
		rc = store_sqlerr(ch.cn, rc, cause);
		goto out;
	}
	rc = 0;
	if (restore) { /* the document as it is now (revision and times moved on) */
		cJSON_Delete(ch.after);
		rc = entity_load(ch.cn, c, key, false, &ch.after);
	}
out:
	if ((rc = change_end(&ch, rc, cause)) == 0)
		trash_forget(st, c, key);
	return rc;
}

int store_restore(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		  char **cause)
{
	return trash_change(st, c, key, true, who, cause);
}

int store_purge(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		char **cause)
{
	return trash_change(st, c, key, false, who, cause);
}

static void trash_note_clear(struct trash_note *n)
{
	free(n->key);
	cJSON_Delete(n->before);
	cJSON_Delete(n->trashed);
	memset(n, 0, sizeof(*n));
}

void trash_note(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		cJSON *before, cJSON *trashed)
{
	struct trash_note *n;

	pthread_mutex_lock(&st->lock);
	n = &st->trashed[st->ntrashed % ARRAY_SIZE(st->trashed)];
	trash_note_clear(n);
	n->c = c;
	n->key = xstrdup(key);
	n->pid = who ? who->pid : 0;
	n->at_ms = time_mono_ms();
	n->seq = ++st->ntrashed;
	n->before = before;
	n->trashed = trashed;
	pthread_mutex_unlock(&st->lock);
}

cJSON *trash_recent(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		    const cJSON *now)
{
	struct trash_note *best = NULL;
	cJSON *doc = NULL;

	if (!who || !who->pid)
		return NULL;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < ARRAY_SIZE(st->trashed); i++) {
		struct trash_note *n = &st->trashed[i];
		if (n->c == c && n->key && strcmp(n->key, key) == 0 && (!best || n->seq > best->seq))
			best = n;
	}
	/* the newest move of it to .trash/ was this process's, a moment ago, and
	 * the entity is still as that move left it */
	if (best && best->pid == who->pid && time_mono_ms() - best->at_ms <= TRASH_RESAVE_MS &&
	    json_equal(best->trashed, now))
		doc = cJSON_Duplicate(best->before, true);
	pthread_mutex_unlock(&st->lock);
	return doc;
}

void trash_forget(store *st, const struct map_collection *c, const char *key)
{
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < ARRAY_SIZE(st->trashed); i++)
		if (st->trashed[i].c == c && st->trashed[i].key && strcmp(st->trashed[i].key, key) == 0)
			trash_note_clear(&st->trashed[i]);
	pthread_mutex_unlock(&st->lock);
}

void trash_notes_free(store *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(st->trashed); i++)
		trash_note_clear(&st->trashed[i]);
}
