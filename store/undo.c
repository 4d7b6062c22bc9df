/*
 * undo.c - `orchfs undo AUDIT-ID`: put an entity back as an audit row found
 * it, and the audit log's own queries.
 *
 * The audit row of every change holds the entity's document before and
 * after (and, for a delete, every link from and to it). Undoing is one more
 * change, made through the same validated calls and audited like any other
 * (operation "undo"), in one transaction: an update is reversed by a patch
 * back to the document before, a create by a delete, a delete by a create
 * and its links (those whose other end still exists), a link by an unlink
 * (a move, by a move back to the entity it left: "from" in its arguments).
 * It is refused, changing nothing, when the entity changed again since the
 * audited change: undo never overwrites a later change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

/* store_related callback: is the key the one looked for? */
struct undo_find {
	const char *want;
	bool found;
};
static int undo_find_key(void *arg, const char *key)
{
	struct undo_find *u = arg;

	u->found = u->found || strcmp(key, u->want) == 0;
	return 0;
}

/* The audit row's document fields that a patch may send back. */
static cJSON *undo_patch(const struct map_collection *c, const cJSON *before, const cJSON *cur)
{
	cJSON *patch = cJSON_CreateObject();

	for (size_t i = 0; i < c->ncolumns; i++) {
		const struct map_column *col = &c->columns[i];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(before, col->name);
		if (col->readonly || col->secret || !v)
			continue;
		cJSON_AddItemToObject(patch, col->name, cJSON_Duplicate(v, true));
	}
	if (c->revision)
		cJSON_AddItemToObject(patch, c->revision->name,
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cur, c->revision->name), true));
	return patch;
}

/* Is cur the very version the audit row left (not a later one, nor a new
 * entity of the same key made since, whose revisions start again at 1)? */
static bool undo_same_revision(const struct map_collection *c, const cJSON *cur, const cJSON *after)
{
	const cJSON *a, *b;

	if (c->created) {
		a = cJSON_GetObjectItemCaseSensitive(cur, c->created->name);
		b = cJSON_GetObjectItemCaseSensitive(after, c->created->name);
		if (!json_equal(a, b))
			return false;
	}
	if (!c->revision)
		return true;
	a = cJSON_GetObjectItemCaseSensitive(cur, c->revision->name);
	b = cJSON_GetObjectItemCaseSensitive(after, c->revision->name);
	return cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valuedouble == b->valuedouble;
}

static const struct map_relation *undo_relation(const struct map_collection *c, const char *name)
{
	for (size_t i = 0; c && i < c->nrelations; i++)
		if (strcmp(c->relations[i].dir, name) == 0)
			return &c->relations[i];
	return NULL;
}

static int undo_apply(store *st, const char *op, const struct map_collection *c, const char *key,
		      const cJSON *before, const cJSON *after, const cJSON *args, const struct store_actor *who,
		      char **cause)
{
	cJSON *cur = NULL, *patch;
	struct conn *cn;
	int rc, exists;

	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	exists = entity_load(cn, c, key, false, &cur) == 0;
	if (strcmp(op, "write") == 0 || strcmp(op, "create") == 0 || strcmp(op, "undo") == 0) {
		if (!exists)
			rc = store_cause(cause, -ENOENT, "%s/%s is gone: nothing to undo", c->dir, key);
		else if (!undo_same_revision(c, cur, after))
			rc = store_cause(cause, -ESTALE, "%s/%s changed again since (now revision %.0f): not undone",
					 c->dir, key,
					 c->revision ? cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cur,
							c->revision->name)) : 0.0);
		else if (!before)
			rc = store_delete(st, c, key, who, cause);
		else {
			patch = undo_patch(c, before, cur);
			if ((rc = store_patch(st, c, key, patch, who, cause)) == STORE_UNCHANGED)
				rc = 0;
			cJSON_Delete(patch);
		}
	} else if (strcmp(op, "delete") == 0) {
		const cJSON *links = cJSON_GetObjectItemCaseSensitive(args, "links"), *l;
		cJSON *trashed = NULL;
		if (exists)
			rc = store_cause(cause, -EEXIST, "%s/%s exists again: not undone", c->dir, key);
		else if (store_trash_get(st, c, key, &trashed) == 0) /* soft-deleted: back from .trash/ */
			rc = store_restore(st, c, key, who, cause);
		else if (!(rc = store_create(st, c, key, before, who, NULL, cause)))
			cJSON_ArrayForEach(l, links) {
				const cJSON *lc = cJSON_GetObjectItemCaseSensitive(l, "collection");
				const cJSON *lr = cJSON_GetObjectItemCaseSensitive(l, "relation");
				const cJSON *from = cJSON_GetObjectItemCaseSensitive(l, "from");
				const cJSON *to = cJSON_GetObjectItemCaseSensitive(l, "to");
				const struct map_collection *cc;
				const struct map_relation *r;
				char *ignored = NULL;
				if (!cJSON_IsString(lc) || !cJSON_IsString(lr) || !cJSON_IsString(from) ||
				    !cJSON_IsString(to) || !(cc = map_collection(st->db, lc->valuestring)) ||
				    !(r = undo_relation(cc, lr->valuestring)))
					continue;
				/* a link whose other end is gone stays gone */
				if (store_exists(st, cc, from->valuestring) == 1 &&
				    store_exists(st, r->target, to->valuestring) == 1)
					store_link(st, cc, r, from->valuestring, to->valuestring, false, who, &ignored);
				free(ignored);
			}
		cJSON_Delete(trashed);
	} else if (strcmp(op, "link") == 0 || strcmp(op, "unlink") == 0) {
		const cJSON *rel = cJSON_GetObjectItemCaseSensitive(args, "relation");
		const cJSON *target = cJSON_GetObjectItemCaseSensitive(args, "target");
		const cJSON *was = cJSON_GetObjectItemCaseSensitive(args, "from"); /* a move: where it was */
		const struct map_relation *r = cJSON_IsString(rel) ? undo_relation(c, rel->valuestring) : NULL;
		if (!r || !cJSON_IsString(target))
			rc = store_cause(cause, -EINVAL, "the audit row does not say which link");
		else if (strcmp(op, "link") == 0 && cJSON_IsString(was)) {
			/* moved back only from where that move put it: a later move stays */
			struct undo_find u = { target->valuestring, false };
			if ((rc = store_related(st, c, r, key, undo_find_key, &u)) == 0 && !u.found)
				rc = store_cause(cause, -ESTALE, "%s/%s moved again since: not undone", r->dir,
						 target->valuestring);
			else if (rc == 0)
				rc = store_link(st, c, r, was->valuestring, target->valuestring, true, who, cause);
		}
		else if (strcmp(op, "link") == 0)
			rc = store_unlink(st, c, r, key, target->valuestring, who, cause);
		else
			rc = store_link(st, c, r, key, target->valuestring, false, who, cause);
	} else if (strcmp(op, "restore") == 0) { /* out of .trash/: back into it */
		if (!exists)
			rc = store_cause(cause, -ENOENT, "%s/%s is gone: nothing to undo", c->dir, key);
		else if (!undo_same_revision(c, cur, after))
			rc = store_cause(cause, -ESTALE, "%s/%s changed again since: not undone", c->dir, key);
		else
			rc = store_delete(st, c, key, who, cause);
	} else if (strcmp(op, "purge") == 0) { /* removed from .trash/ for good: made again */
		if (exists)
			rc = store_cause(cause, -EEXIST, "%s/%s exists again: not undone", c->dir, key);
		else
			rc = store_create(st, c, key, before, who, NULL, cause);
	} else {
		rc = store_cause(cause, -EINVAL, "a \"%s\" cannot be undone", op);
	}
	cJSON_Delete(cur);
	return rc;
}

static cJSON *undo_json(dbstmt *s, int i)
{
	const char *t = (const char *)db_column_text(s, i);

	return t ? cJSON_Parse(t) : NULL;
}

/*
 * A delete leaves no revision to compare: whether the entity changed again
 * since audit row id (made again and changed, deleted again) is in the
 * audit log, as a later change of the same key. 0, or -ESTALE with *cause.
 */
static int undo_later(store *st, struct conn *cn, int64_t id, const struct map_collection *c, const char *key,
		      char **cause)
{
	struct strbuf sql = STRBUF_INIT;
	dbstmt *s = NULL;
	int rc;

	strbuf_addstr(&sql, "SELECT id FROM ");
	strbuf_addstr(&sql, st->audit_q);
	strbuf_addstr(&sql, " WHERE id > ?1 AND collection = ?2 AND entity_key = ?3"
			    " AND status IN ('success', 'approved') ORDER BY id LIMIT 1");
	if ((rc = db_prepare(cn, sql.buf, &s)) != SQLITE_OK) {
		rc = store_sqlerr(cn, rc, cause);
		goto out;
	}
	db_bind_int64(s, 1, id);
	db_bind_text(s, 2, c->dir, -1, SQLITE_STATIC);
	db_bind_text(s, 3, key, -1, SQLITE_STATIC);
	if ((rc = db_step(s)) == SQLITE_ROW)
		rc = store_cause(cause, -ESTALE, "%s/%s changed again since (audit/%lld): not undone", c->dir, key,
				 (long long)db_column_int64(s, 0));
	else
		rc = rc == SQLITE_DONE ? 0 : store_sqlerr(cn, rc, cause);
out:
	db_finalize(s);
	strbuf_release(&sql);
	return rc;
}

int store_undo(store *st, int64_t id, const struct store_actor *who, char **cause)
{
	struct strbuf sql = STRBUF_INIT;
	const struct map_collection *c = NULL;
	cJSON *before = NULL, *after = NULL, *args = NULL;
	char *op = NULL, *key = NULL;
	dbstmt *s = NULL;
	struct conn *cn;
	int rc;

	if (!st->db->audit)
		return store_cause(cause, -ENOENT, "this database keeps no audit log");
	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	if ((rc = conn_begin(cn, true)) != SQLITE_OK)
		return store_sqlerr(cn, rc, cause);
	strbuf_addstr(&sql, "SELECT operation, status, collection, entity_key, before_json, after_json, arguments FROM ");
	strbuf_addstr(&sql, st->audit_q);
	strbuf_addstr(&sql, " WHERE id = ?1");
	if ((rc = db_prepare(cn, sql.buf, &s)) != SQLITE_OK) {
		rc = store_sqlerr(cn, rc, cause);
		goto out;
	}
	db_bind_int64(s, 1, id);
	if ((rc = db_step(s)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? store_cause(cause, -ENOENT, "audit/%lld: no such audit row", (long long)id)
				       : store_sqlerr(cn, rc, cause);
		goto out;
	}
	if (!db_column_text(s, 2) || !db_column_text(s, 3) ||
	    !(c = map_collection(st->db, (const char *)db_column_text(s, 2)))) {
		rc = store_cause(cause, -EINVAL, "audit/%lld changed no entity", (long long)id);
		goto out;
	}
	if (strcmp((const char *)db_column_text(s, 1), "success") != 0 &&
	    strcmp((const char *)db_column_text(s, 1), "approved") != 0) {
		rc = store_cause(cause, -EINVAL, "audit/%lld is a refused change (%s): nothing to undo", (long long)id,
				 db_column_text(s, 1));
		goto out;
	}
	op = xstrdup((const char *)db_column_text(s, 0));
	key = xstrdup((const char *)db_column_text(s, 3));
	before = undo_json(s, 4);
	after = undo_json(s, 5);
	args = undo_json(s, 6);
	if ((strcmp(op, "delete") == 0 || strcmp(op, "purge") == 0) && (rc = undo_later(st, cn, id, c, key, cause)))
		goto out;
	cn->nested++;
	rc = undo_apply(st, op, c, key, before, after, args, who, cause);
	cn->nested--;
	if (!rc && (rc = conn_commit(cn)) != SQLITE_OK)
		rc = store_sqlerr(cn, rc, cause);
out:
	if (rc)
		conn_rollback(cn);
	db_finalize(s);
	strbuf_release(&sql);
	cJSON_Delete(before);
	cJSON_Delete(after);
	cJSON_Delete(args);
	free(op);
	free(key);
	return rc;
}
