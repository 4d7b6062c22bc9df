/*
 * entity.c - reading and changing entities, their logs and their links.
 *
 * The write path, in one place:
 *   1. BEGIN IMMEDIATE: take the write lock first, so the row we validate
 *      against is the row we change (no lost update between processes).
 *   2. Load the current document (with secrets) and check the patch against
 *      it: revision (stale edit), known fields, types, sets, read-only fields.
 *      Secret fields sent back masked, as they were read, are left alone.
 *   3. Write the whole row with one cached UPDATE, bumping revision and
 *      updated_at; skip the UPDATE when nothing changed.
 *   4. Insert the audit row with the masked documents before and after.
 *   5. COMMIT. Any failure rolls everything back, then audits the refusal
 *      in its own transaction, so the database holds either the change and
 *      its audit row, or only the audit row of the refusal.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

void entity_bind_key(const struct map_collection *c, dbstmt *s, int i, const char *key)
{
	if (c->integer_key)
		db_bind_int64(s, i, strtoll(key, NULL, 10));
	else
		db_bind_text(s, i, key, -1, SQLITE_TRANSIENT);
}

static cJSON *entity_row(const struct map_column *cols, size_t n, dbstmt *s, bool secrets)
{
	cJSON *doc = cJSON_CreateObject();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToObject(doc, cols[i].name, value_read(&cols[i], s, (int)i, secrets));
	return doc;
}

int entity_load(struct conn *cn, const struct map_collection *c, const char *key, bool secrets, cJSON **doc)
{
	return entity_load_sql(cn, c, cn->st->sql[c->index].get, key, secrets, doc);
}

int entity_load_locked(struct conn *cn, const struct map_collection *c, const char *key, bool secrets, cJSON **doc,
		       char **cause)
{
	int rc = entity_load_sql(cn, c, cn->st->sql[c->index].get_lock, key, secrets, doc);

	if (rc && rc != -ENOENT)
		store_sqlerr(cn, conn_errcode(cn), cause);
	return rc;
}

int entity_load_sql(struct conn *cn, const struct map_collection *c, const char *sql, const char *key, bool secrets,
		    cJSON **doc)
{
	dbstmt *s = conn_stmt(cn, sql);
	int rc;

	*doc = NULL;
	if (!s)
		return store_readerr(cn, conn_errcode(cn));
	entity_bind_key(c, s, 1, key);
	rc = db_step(s);
	if (rc == SQLITE_ROW)
		*doc = entity_row(c->columns, c->ncolumns, s, secrets);
	db_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : store_readerr(cn, rc);
}

const char *entity_task(const struct map_collection *c, const char *key, const cJSON *doc)
{
	const cJSON *v;

	if (!c || !c->task)
		return NULL;
	if (c->task == c->key)
		return key;
	v = doc ? cJSON_GetObjectItemCaseSensitive(doc, c->task->name) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int store_get(store *st, const struct map_collection *c, const char *key, unsigned flags, cJSON **doc)
{
	struct conn *cn;
	int rc;

	*doc = NULL;
	if ((rc = conn_get(st, &cn)))
		return rc;
	return entity_load(cn, c, key, flags & STORE_SECRETS, doc);
}

int store_exists(store *st, const struct map_collection *c, const char *key)
{
	struct conn *cn;
	dbstmt *s;
	int rc;

	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, st->sql[c->index].exists)))
		return store_readerr(cn, conn_errcode(cn));
	entity_bind_key(c, s, 1, key);
	rc = db_step(s);
	db_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_readerr(cn, rc);
}

int store_count(store *st, const struct map_collection *c, int64_t *n)
{
	struct conn *cn;
	dbstmt *s;
	int rc;

	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, st->sql[c->index].count)))
		return store_readerr(cn, conn_errcode(cn));
	if ((rc = db_step(s)) == SQLITE_ROW)
		*n = db_column_int64(s, 0);
	db_reset(s);
	return rc == SQLITE_ROW ? 0 : store_readerr(cn, rc);
}

/* Run a one-parameter (or none) query and call fn with column 0 of each row. */
int entity_walk(store *st, const char *sql, const char *param, store_key_fn fn, void *arg)
{
	struct conn *cn;
	dbstmt *s;
	int rc;

	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, sql)))
		return store_readerr(cn, conn_errcode(cn));
	if (param)
		db_bind_text(s, 1, param, -1, SQLITE_TRANSIENT);
	while ((rc = db_step(s)) == SQLITE_ROW) {
		const char *v = (const char *)db_column_text(s, 0);
		if (v && (rc = fn(arg, v)) != 0) {
			db_reset(s);
			return rc;
		}
	}
	db_reset(s);
	return rc == SQLITE_DONE ? 0 : store_readerr(cn, rc);
}

int store_list(store *st, const struct map_collection *c, store_key_fn fn, void *arg)
{
	return entity_walk(st, st->sql[c->index].list, NULL, fn, arg);
}

int store_view_values(store *st, const struct map_collection *c, const struct map_view *v, store_key_fn fn,
		      void *arg)
{
	return entity_walk(st, st->sql[c->index].view_values[v - c->views], NULL, fn, arg);
}

int store_view_list(store *st, const struct map_collection *c, const struct map_view *v, const char *value,
		    store_key_fn fn, void *arg)
{
	return entity_walk(st, st->sql[c->index].view_list[v - c->views], value, fn, arg);
}

static int entity_found_fn(void *arg, const char *v)
{
	return 1;
}

int store_view_has(store *st, const struct map_collection *c, const struct map_view *v, const char *value)
{
	return entity_walk(st, st->sql[c->index].view_has[v - c->views], value, entity_found_fn, NULL);
}

int store_related(store *st, const struct map_collection *c, const struct map_relation *r, const char *key,
		  store_key_fn fn, void *arg)
{
	return entity_walk(st, st->sql[c->index].rel_list[r - c->relations], key, fn, arg);
}

/* Call fn with the document of every row sql returns (one parameter, or none). */
static int entity_rows(store *st, const char *sql, const char *param, const struct map_column *cols, size_t n,
		       store_row_fn fn, void *arg)
{
	struct conn *cn;
	dbstmt *s;
	int rc;

	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, sql)))
		return store_readerr(cn, conn_errcode(cn));
	db_stream(s);
	if (param)
		db_bind_text(s, 1, param, -1, SQLITE_TRANSIENT);
	while ((rc = db_step(s)) == SQLITE_ROW) {
		cJSON *row = entity_row(cols, n, s, false);
		rc = fn(arg, row);
		cJSON_Delete(row);
		if (rc) {
			db_reset(s);
			return rc;
		}
	}
	db_reset(s);
	return rc == SQLITE_DONE ? 0 : store_readerr(cn, rc);
}

int store_log_rows(store *st, const struct map_collection *c, const struct map_log *l, const char *key,
		   store_row_fn fn, void *arg)
{
	return entity_rows(st, st->sql[c->index].log_rows[l - c->logs], key, l->columns, l->ncolumns, fn, arg);
}

int store_log_search(store *st, const struct map_collection *c, const struct map_log *l, const char *query,
		     store_row_fn fn, void *arg, char **cause)
{
	const char *sql = st->sql[c->index].log_search[l - c->logs];
	struct map_column owner = { .name = l->owner, .column = l->owner, .type = MAP_TEXT };
	struct conn *cn;
	dbstmt *s;
	int rc;

	if (!sql)
		return store_cause(cause, -ENOENT, "%s is not indexed for search", l->file);
	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, sql)))
		return store_sqlerr(cn, conn_errcode(cn), cause);
	db_stream(s);
	if (cn->pg) { /* the same query language on both engines */
		char *err = NULL, *ts = pg_tsquery(query, &err);
		if (!ts) {
			rc = store_cause(cause, -EINVAL, "search: %s", err);
			free(err);
			return rc;
		}
		db_bind_text(s, 1, ts, -1, SQLITE_TRANSIENT);
		free(ts);
	} else {
		db_bind_text(s, 1, query, -1, SQLITE_TRANSIENT);
	}
	while ((rc = db_step(s)) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject();
		cJSON_AddItemToObject(row, owner.name, value_read(&owner, s, 0, false));
		for (size_t i = 0; i < l->ncolumns; i++)
			cJSON_AddItemToObject(row, l->columns[i].name,
					      value_read(&l->columns[i], s, (int)i + 1, false));
		rc = fn(arg, row);
		cJSON_Delete(row);
		if (rc) {
			db_reset(s);
			return rc;
		}
	}
	db_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ERROR)
		return store_cause(cause, -EINVAL, "search: %s", conn_errmsg(cn));
	return store_sqlerr(cn, rc, cause);
}

int store_docs_after(store *st, const struct map_collection *c, int64_t after, store_row_fn fn, void *arg)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)after);
	return entity_rows(st, st->sql[c->index].after, buf, c->columns, c->ncolumns, fn, arg);
}

int store_docs(store *st, const struct map_collection *c, store_row_fn fn, void *arg)
{
	return entity_rows(st, st->sql[c->index].all, NULL, c->columns, c->ncolumns, fn, arg);
}

/* --- the write path --- */

/*
 * A copy of doc with secret fields masked, for the audit row's arguments:
 * every member of a secret field's name (a field given twice is given
 * twice), whatever its type (a refused array or number holds a key too).
 */
static cJSON *entity_redact(const struct map_column *cols, size_t n, const cJSON *doc)
{
	cJSON *out = cJSON_Duplicate(doc, true), *v, *next;

	for (v = cJSON_IsObject(out) ? out->child : NULL; v; v = next) {
		bool secret = false;
		next = v->next;
		for (size_t i = 0; i < n && !secret; i++)
			secret = cols[i].secret && v->string && strcmp(cols[i].name, v->string) == 0;
		if (!secret || cJSON_IsNull(v))
			continue;
		char *m = value_mask(cJSON_IsString(v) ? v->valuestring : "");
		cJSON *masked = cJSON_CreateString(m);
		free(m);
		masked->string = v->string; /* the name moves to the masked value */
		masked->type |= v->type & cJSON_StringIsConst;
		v->string = NULL;
		cJSON_ReplaceItemViaPointer(out, v, masked);
	}
	return out;
}

static const char *entity_name_from_error(const struct map_column *cols, size_t n, const char *msg,
					  const char *kind)
{
	const char *dot = strrchr(msg, '.');

	if (!dot || !strstr(msg, kind))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i].column, dot + 1) == 0)
			return cols[i].name;
	return NULL;
}

/* Turn a failed statement into errno and a cause that names the field if it can. */
static int entity_sqlerr(struct conn *cn, const struct map_column *cols, size_t n, int rc, char **cause)
{
	const char *field = entity_name_from_error(cols, n, conn_errmsg(cn), "NOT NULL constraint failed");

	if (field)
		return store_cause(cause, -EINVAL, "%s: required", field);
	if (rc == SQLITE_CONSTRAINT_UNIQUE &&
	    (field = entity_name_from_error(cols, n, conn_errmsg(cn), "UNIQUE constraint failed")))
		return store_cause(cause, -EEXIST, "%s: the value is taken by another entity", field);
	if ((rc & 0xff) == SQLITE_CONSTRAINT && rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return store_cause(cause, -EINVAL, "a field refers to an entity that does not exist");
	if (rc == SQLITE_CONSTRAINT_CHECK)
		return store_cause(cause, -EINVAL, "value refused by the schema: %s", conn_errmsg(cn));
	return store_sqlerr(cn, rc, cause);
}

/* Check that a ref field names an existing entity (before SQLite's bare FK error). */
static int entity_check_ref(struct conn *cn, const struct map_column *col, const cJSON *v, char **cause)
{
	cJSON *doc;
	int rc;

	if (!col->ref || !cJSON_IsString(v))
		return 0;
	rc = entity_load(cn, col->ref, v->valuestring, false, &doc);
	cJSON_Delete(doc);
	if (rc == -ENOENT)
		return store_cause(cause, -EINVAL, "%s: no %s entity \"%.80s\"", col->name, col->ref->dir,
				   v->valuestring);
	return rc;
}

/*
 * Apply patch onto work (a document with every field when updating, or an
 * empty object when creating). cur is the current document with secrets, or
 * NULL when creating.
 */
static int entity_apply(struct conn *cn, const struct map_collection *c, cJSON *work, const cJSON *cur,
			const cJSON *patch, char **cause)
{
	const cJSON *p;
	int rc;

	if (!cJSON_IsObject(patch))
		return store_cause(cause, -EINVAL, "expected a JSON object");
	cJSON_ArrayForEach(p, patch) {
		const struct map_column *col = map_column(c, p->string);
		const cJSON *old = cur ? cJSON_GetObjectItemCaseSensitive(cur, p->string) : NULL;
		cJSON *val = NULL;

		if (!col)
			return store_cause(cause, -EINVAL, "unknown field \"%.80s\"", p->string);
		if (col->readonly) {
			if (!cur || col->type == MAP_REVISION)
				continue; /* creating: ignored; revision: checked by the caller */
			if (!json_equal(old, p))
				return store_cause(cause, -EINVAL, "%s: read-only field cannot be changed",
						   col->name);
			continue;
		}
		if (col->secret && cur && cJSON_IsString(p) && cJSON_IsString(old)) {
			char *m = value_mask(old->valuestring);
			bool same = strcmp(m, p->valuestring) == 0;
			free(m);
			if (same)
				continue; /* sent back as it was read */
		}
		if (cur && json_equal(cJSON_GetObjectItemCaseSensitive(work, p->string), p))
			continue; /* sent back as it reads: no change, nothing to check (a value another
				   * writer stored outside the mapping's set keeps the row savable whole) */
		if (col->type == MAP_JSON && cJSON_IsObject(p) && !cJSON_IsNull(p)) {
			cJSON *merged = json_merge_patch(old ? cJSON_Duplicate(old, true) : NULL, p);
			rc = value_check(col, merged, &val, cause);
			cJSON_Delete(merged);
		} else {
			rc = value_check(col, p, &val, cause);
		}
		if (!rc)
			rc = entity_check_ref(cn, col, val, cause);
		if (rc) {
			cJSON_Delete(val);
			return rc;
		}
		if (cJSON_GetObjectItemCaseSensitive(work, col->name))
			cJSON_ReplaceItemInObjectCaseSensitive(work, col->name, val);
		else
			cJSON_AddItemToObject(work, col->name, val);
	}
	return 0;
}

/* Who made the last change to key, from the change feed: "by vim[123]",
 * "by another writer" (outside orchfs), or "" when the feed cannot say. */
void entity_last_writer(struct conn *cn, const struct map_collection *c, const char *key, char *buf, size_t size)
{
	dbstmt *s;

	buf[0] = 0;
	/* A sidecar's feed sees only orchfs's changes, not the tool's own: it
	 * cannot say who made the newer one. */
	if (cn->st->db->sidecar || !cn->st->changes_last || !(s = conn_stmt(cn, cn->st->changes_last)))
		return;
	db_bind_text(s, 1, c->dir, -1, SQLITE_STATIC);
	db_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
	if (db_step(s) == SQLITE_ROW) {
		if (db_column_type(s, 0) == SQLITE_NULL)
			snprintf(buf, size, " by another writer");
		else
			snprintf(buf, size, " by %s[%lld]", db_column_text(s, 0),
				 (long long)db_column_int64(s, 1));
	}
	db_reset(s);
}

/* The version a row's document (an audit row's before or after) holds: its
 * revision, or in a table without one the time of its last change, in ms;
 * -1 if it holds none. */
static double entity_doc_version(const struct map_collection *c, const cJSON *doc)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(doc, c->revision ? c->revision->name : c->updated->name);
	int64_t ms;

	if (c->revision)
		return cJSON_IsNumber(r) ? r->valuedouble : -1;
	return cJSON_IsString(r) && time_parse_iso(r->valuestring, &ms) == 0 ? (double)ms : -1;
}

/*
 * Were all the changes since version want made by the writer itself, who
 * (the same process: its pid and name)? Then a document it sends with
 * version want is no stale edit: it is its own earlier save, still in an
 * editor's buffer (vim's second :w, a program that saves, fsyncs and
 * saves again), and holds what those saves changed. Asked of the audit
 * log: the versions from want to have link up through audited changes of
 * who's, each from the version the one before made (a revision: one each;
 * a tool's table without one: the updated time its save wrote). A change by
 * anyone else, or by a writer that leaves no audit row (sqlite3, the
 * tool itself), or one the log no longer holds, leaves the edit stale.
 * *base: the document at version want, as the first of those changes found
 * it (its before), whose read-only fields (updated_at) the writer's
 * document still holds.
 */
#define OWN_REVISIONS_MAX 64 /* saves of one session looked back at */
static bool entity_own_revisions(struct conn *cn, const struct map_collection *c, const char *key, double want,
				 double have, const struct store_actor *who, cJSON **base)
{
	struct strbuf sql = STRBUF_INIT;
	dbstmt *s = NULL;
	double need = have;

	if (!who || !who->tool || who->pid <= 0 || strcmp(who->tool, "unknown") == 0 || !cn->st->audit_q ||
	    (c->revision && have - want > OWN_REVISIONS_MAX))
		return false; /* a writer the mount cannot name (another pid namespace) is nobody's own */
	strbuf_addstr(&sql, "SELECT pid, tool_name, before_json, after_json FROM ");
	strbuf_addstr(&sql, cn->st->audit_q);
	strbuf_addf(&sql, " WHERE collection = ?1 AND entity_key = ?2 AND status IN ('success', 'approved')"
			  " ORDER BY id DESC LIMIT %d", 4 * OWN_REVISIONS_MAX);
	if (db_prepare(cn, sql.buf, &s) == SQLITE_OK) {
		db_bind_text(s, 1, c->dir, -1, SQLITE_STATIC);
		db_bind_text(s, 2, key, -1, SQLITE_STATIC);
		bool stop = false;
		while (!stop && need > want && db_step(s) == SQLITE_ROW) {
			const char *tool = (const char *)db_column_text(s, 1);
			bool own = db_column_int64(s, 0) == who->pid && tool && strcmp(tool, who->tool) == 0;
			cJSON *bdoc = db_column_text(s, 2) ? cJSON_Parse((const char *)db_column_text(s, 2)) : NULL;
			cJSON *adoc = db_column_text(s, 3) ? cJSON_Parse((const char *)db_column_text(s, 3)) : NULL;
			double before = entity_doc_version(c, bdoc), after = entity_doc_version(c, adoc);
			if (after <= want)
				stop = true; /* past the version it read: a change was made by no audited one */
			else if (after == need && before == after && !own && !json_equal(bdoc, adoc))
				stop = true; /* someone else's change within the time's resolution (a second) */
			else if (after != need || before >= after || (c->revision && before != need - 1))
				; /* made no new version (unchanged, a link) */
			else if (!own)
				stop = true; /* someone else's */
			else if ((need = before) == want)
				*base = bdoc, bdoc = NULL;
			cJSON_Delete(bdoc);
			cJSON_Delete(adoc);
		}
	}
	db_finalize(s);
	strbuf_release(&sql);
	return need == want && *base;
}

/*
 * A field changed since base (the document at the revision the writer sent)
 * that the writer's document sends back as it was in base: the change it
 * would undo without meaning to (two reads, two saves: the second read's
 * document still has the old value), or NULL. A field the document holds as
 * it is now, or sets to a value of its own (an editor's buffer, edited
 * again), is no such field. Secret fields compare as readers see them.
 */
static const char *entity_unheld_change(const struct map_collection *c, const cJSON *base, const cJSON *cur,
					const cJSON *doc)
{
	cJSON *seen = entity_redact(c->columns, c->ncolumns, cur); /* as base was recorded */
	const char *field = NULL;

	for (size_t i = 0; i < c->ncolumns && !field; i++) {
		const struct map_column *col = &c->columns[i];
		const cJSON *was = cJSON_GetObjectItemCaseSensitive(base, col->name);
		const cJSON *sent = cJSON_GetObjectItemCaseSensitive(doc, col->name);
		const cJSON *now = cJSON_GetObjectItemCaseSensitive(seen, col->name);
		if (col->readonly || !sent)
			continue; /* read-only fields are checked apart; a field not sent is kept */
		if (!json_same(was, now) && /* changed since base */
		    !(now && json_equal(sent, now)) && was && json_equal(sent, was))
			field = col->name;
	}
	cJSON_Delete(seen);
	return field;
}

/* A copy of doc without the read-only fields it sends back as base has
 * them (a save made of a document read before base's later changes). */
static cJSON *entity_sent_back(const struct map_collection *c, const cJSON *doc, const cJSON *base)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *f;

	cJSON_ArrayForEach(f, doc) {
		const struct map_column *col = map_column(c, f->string);
		if (!(col && col->readonly && json_equal(f, cJSON_GetObjectItemCaseSensitive(base, f->string))))
			cJSON_AddItemToObject(out, f->string, cJSON_Duplicate(f, true));
	}
	return out;
}

static int entity_check_revision(struct conn *cn, const struct map_collection *c, const char *key,
				 const cJSON *cur, const cJSON *patch, const struct store_actor *writer, cJSON **base,
				 char **cause)
{
	const cJSON *want, *have, *at = NULL;
	const char *field = NULL; /* a change since that the document would undo */
	char who[96], since[192];
	int64_t wms, hms;
	double w, h;

	if (!c->revision && c->updated) {
		/* A table without a revision (a tool's own file): the time of the
		 * last change stands in for it, to its resolution (docs/mapping.md). */
		want = cJSON_GetObjectItemCaseSensitive(patch, c->updated->name);
		have = cJSON_GetObjectItemCaseSensitive(cur, c->updated->name);
		if (!cJSON_IsString(want) || !cJSON_IsString(have) || time_parse_iso(want->valuestring, &wms) ||
		    time_parse_iso(have->valuestring, &hms) || wms >= hms)
			return 0; /* later than the row's: the read-only check refuses it */
		w = (double)wms, h = (double)hms;
		snprintf(since, sizeof(since), "it was read (%s %s, now %s", c->updated->name, want->valuestring,
			 have->valuestring);
	} else {
		if (!c->revision || !(want = cJSON_GetObjectItemCaseSensitive(patch, c->revision->name)))
			return 0;
		have = cJSON_GetObjectItemCaseSensitive(cur, c->revision->name);
		if (!cJSON_IsNumber(want) || want->valuedouble != floor(want->valuedouble))
			return store_cause(cause, -EINVAL, "%s: expected an integer", c->revision->name);
		if (!cJSON_IsNumber(have) || want->valuedouble == have->valuedouble)
			return 0;
		if (want->valuedouble > have->valuedouble)
			return store_cause(cause, -EINVAL, "%s: %.0f is newer than the entity's revision %.0f",
					   c->revision->name, want->valuedouble, have->valuedouble);
		w = want->valuedouble, h = have->valuedouble;
		snprintf(since, sizeof(since), "revision %.0f was read (now revision %.0f", w, h);
		at = c->updated ? cJSON_GetObjectItemCaseSensitive(cur, c->updated->name) : NULL;
	}
	if (base && entity_own_revisions(cn, c, key, w, h, writer, base) &&
	    !(field = entity_unheld_change(c, *base, cur, patch)))
		return 0; /* every change since was its own earlier save */
	if (base) {
		cJSON_Delete(*base);
		*base = NULL;
	}
	entity_last_writer(cn, c, key, who, sizeof(who));
	if (field) /* the same process, but not the same edit: its document was read
		    * before a change it does not hold (two reads, two saves) */
		return store_cause(cause, -ESTALE,
				   "stale edit: %s changed since %s%s), and this save would undo its %s; reload and save "
				   "again", key, since, who, field);
	return store_cause(cause, -ESTALE, "stale edit: %s changed since %s%s%s%s); reload and save again", key, since,
			   cJSON_IsString(at) ? ", updated " : "", cJSON_IsString(at) ? at->valuestring : "", who);
}

/*
 * The UPDATE of the columns in mask (bit i: column i), or of every column
 * when mask cannot say (more than 64 columns) or is empty. Setting only what changed spares
 * SQLite the indexes and CHECK constraints of the other columns (and their
 * pages in the log); the statements are few, one per set of columns saved,
 * so each is made once and cached like the collection's other SQL.
 */
static const char *entity_update_sql(store *st, const struct map_collection *c, uint64_t mask)
{
	struct coll_sql *q = &st->sql[c->index];
	struct coll_update *u;
	struct strbuf sb;
	const char *sql;

	if (c->ncolumns > 64 || !mask)
		return q->update;
	pthread_mutex_lock(&st->lock);
	for (u = q->narrow; u && u->mask != mask; u = u->next)
		;
	if (!u) {
		strbuf_init(&sb, 128);
		strbuf_addf(&sb, "UPDATE %s SET ", q->table_q);
		for (size_t i = 0, n = 0; i < c->ncolumns; i++) {
			if (!(mask & (UINT64_C(1) << i)))
				continue;
			strbuf_addstr(&sb, n++ ? ", " : "");
			sql_quote(&sb, c->columns[i].column);
			strbuf_addf(&sb, " = ?%zu", i + 2);
		}
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, c->key->column);
		strbuf_addstr(&sb, " = ?1");
		u = xcalloc(1, sizeof(*u));
		u->mask = mask;
		u->sql = strbuf_detach(&sb, NULL);
		u->next = q->narrow;
		q->narrow = u;
	}
	sql = u->sql;
	pthread_mutex_unlock(&st->lock);
	return sql;
}

/* Bind the columns of work that differ from cur (and revision and the
 * time of the change) into an UPDATE of those, and run it. */
static int entity_update_row(struct conn *cn, const struct map_collection *c, const char *key, const cJSON *work,
			     const cJSON *cur, int64_t now)
{
	uint64_t mask = 0;
	const char *sql;
	dbstmt *s;
	bool all;
	int rc;

	for (size_t i = 0; i < c->ncolumns && c->ncolumns <= 64; i++) {
		const struct map_column *col = &c->columns[i];
		if (col == c->key || col->type == MAP_CREATED)
			continue;
		if (col->type == MAP_UPDATED || col->type == MAP_REVISION ||
		    !json_equal(cJSON_GetObjectItemCaseSensitive(work, col->name),
				   cJSON_GetObjectItemCaseSensitive(cur, col->name)))
			mask |= UINT64_C(1) << i;
	}
	sql = entity_update_sql(cn->st, c, mask);
	all = sql == cn->st->sql[c->index].update;
	if (!(s = conn_stmt(cn, sql)))
		return conn_errcode(cn);
	entity_bind_key(c, s, 1, key);
	for (size_t i = 0; i < c->ncolumns; i++) {
		const struct map_column *col = &c->columns[i];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(work, col->name);
		if (col == c->key || col->type == MAP_CREATED || (!all && !(mask & (UINT64_C(1) << i))))
			continue;
		if (col->type == MAP_UPDATED)
			value_bind_now(col->time, now, s, (int)i + 2);
		else if (col->type == MAP_REVISION)
			db_bind_int64(s, (int)i + 2, (cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0) + 1);
		else
			value_bind(col, v, s, (int)i + 2);
	}
	rc = db_step(s);
	db_reset(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Common frame of every change: connection, transaction, audit, refusal. */

int change_begin(struct change *ch, store *st, const struct map_collection *c, const char *key,
			const struct store_actor *who, char **cause)
{
	int rc;

	memset(ch, 0, sizeof(*ch));
	ch->st = st;
	ch->row.who = who;
	ch->row.c = c;
	ch->row.key = key;
	ch->row.start_ms = time_now_ms();
	if (st->flags & STORE_READONLY)
		return store_cause(cause, -EROFS, "the store is read-only");
	if (c && c->readonly)
		return store_cause(cause, -EROFS, "%s is read-only", c->dir);
	if ((rc = store_sidecar_check(st, cause)))
		return rc;
	if ((rc = conn_get(st, &ch->cn)))
		return store_conn_cause(st, rc, cause);
	ch->nested = ch->cn->nested > 0;
	if (!ch->nested && (rc = conn_begin(ch->cn, true)) != SQLITE_OK)
		return store_sqlerr(ch->cn, rc, cause);
	ch->row.changes_from = -1;
	if (st->changes_max) {
		dbstmt *s = conn_stmt(ch->cn, st->changes_max);
		int step = s ? db_step(s) : conn_errcode(ch->cn);
		if (step == SQLITE_ROW)
			ch->row.changes_from = db_column_int64(s, 0);
		if (s)
			db_reset(s);
		if (step != SQLITE_ROW) { /* the first cause, not "transaction is aborted" later */
			rc = store_sqlerr(ch->cn, step, cause);
			if (!ch->nested)
				conn_rollback(ch->cn);
			return rc;
		}
	}
	return 0;
}

/* Finish: on rc == 0 audit and commit; otherwise roll back and audit the refusal. */
int change_end(struct change *ch, int rc, char **cause)
{
	if (rc == 0) {
		ch->row.status = "success";
		ch->row.before = ch->before;
		ch->row.after = ch->after;
		ch->row.arguments = ch->args;
		if (!ch->row.task)
			ch->row.task = entity_task(ch->row.c, ch->row.key, ch->after ? ch->after : ch->before);
		if ((rc = audit_insert(ch->cn, &ch->row)) != SQLITE_OK ||
		    (!ch->nested && (rc = conn_commit(ch->cn)) != SQLITE_OK))
			rc = store_sqlerr(ch->cn, rc, cause);
	}
	if (rc && ch->nested) {
		/* the caller's transaction fails as a whole; it audits */
	} else if (rc) {
		if (ch->cn)
			conn_rollback(ch->cn);
		if (rc != -EROFS || !(ch->st->flags & STORE_READONLY)) {
			ch->row.status = rc == -EACCES ? "denied" : "failure";
			ch->row.result = cause && *cause ? *cause : strerror(-rc);
			ch->row.before = ch->row.after = NULL;
			ch->row.arguments = ch->args;
			ch->row.task = entity_task(ch->row.c, ch->row.key, ch->before);
			audit_refusal(ch->st, &ch->row, rc == -EAGAIN);
		}
	}
	cJSON_Delete(ch->before);
	cJSON_Delete(ch->after);
	cJSON_Delete(ch->args);
	free(ch->keybuf);
	return rc;
}

/* Next free key of c->alloc, counted in _orchfs_keys so allocation never
 * scans; or a random UUID (version 4) for collections keyed so. */
static int entity_alloc_key(struct conn *cn, const struct map_collection *c, char **key, char **cause)
{
	const struct coll_sql *q = &cn->st->sql[c->index];
	const char *get = q->alloc_get, *put = q->alloc_put;
	dbstmt *s;
	int64_t n = 0;
	int rc;

	if (!c->alloc)
		return store_cause(cause, -EINVAL, "%s: keys are not allocated here; name the entity", c->dir);
	if (map_alloc_uuid(c)) {
		*key = xmalloc(37);
		uuid_v4(*key);
		return 0;
	}
	if (!(s = conn_stmt(cn, get)))
		return store_sqlerr(cn, conn_errcode(cn), cause);
	db_bind_text(s, 1, q->alloc_name, -1, SQLITE_STATIC);
	if ((rc = db_step(s)) == SQLITE_ROW)
		n = db_column_int64(s, 0);
	db_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlerr(cn, rc, cause);
	for (;;) { /* a key in .trash/ is taken too */
		*key = xasprintf(c->alloc, (int)++n);
		if (!(s = conn_stmt(cn, q->exists_any)))
			return store_sqlerr(cn, conn_errcode(cn), cause);
		entity_bind_key(c, s, 1, *key);
		rc = db_step(s);
		db_reset(s);
		if (rc == SQLITE_DONE)
			break;
		free(*key);
		*key = NULL;
		if (rc != SQLITE_ROW)
			return store_cause(cause, store_errno(rc), "cannot allocate a key");
	}
	if (!(s = conn_stmt(cn, put)))
		return store_sqlerr(cn, conn_errcode(cn), cause);
	db_bind_text(s, 1, q->alloc_name, -1, SQLITE_STATIC);
	db_bind_int64(s, 2, n);
	rc = db_step(s);
	db_reset(s);
	return rc == SQLITE_DONE ? 0 : store_sqlerr(cn, rc, cause);
}

static int entity_insert(struct conn *cn, const struct map_collection *c, const char *key, const cJSON *work,
			 char **cause)
{
	struct strbuf sql = STRBUF_INIT, vals = STRBUF_INIT;
	int64_t now = time_now_ms();
	dbstmt *s = NULL;
	int n = 0, rc;

	strbuf_addf(&sql, "INSERT INTO %s (", cn->st->sql[c->index].table_q);
	strbuf_init(&vals, 64);
	for (size_t i = 0; i < c->ncolumns; i++) {
		const struct map_column *col = &c->columns[i];
		if (col != c->key && !col->readonly && !cJSON_GetObjectItemCaseSensitive(work, col->name))
			continue; /* absent: the column's default */
		if (col->readonly && col != c->key && col->type != MAP_REVISION && col->type != MAP_CREATED &&
		    col->type != MAP_UPDATED && !col->uuid)
			continue;
		strbuf_addstr(&sql, n ? ", " : "");
		sql_quote(&sql, col->column);
		strbuf_addf(&vals, "%s?%zu", n ? ", " : "", i + 1);
		n++;
	}
	strbuf_addf(&sql, ") VALUES (%s)", vals.buf);
	rc = db_prepare(cn, sql.buf, &s);
	if (rc != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < c->ncolumns; i++) {
		const struct map_column *col = &c->columns[i];
		if (col == c->key)
			entity_bind_key(c, s, (int)i + 1, key);
		else if (col->type == MAP_CREATED || col->type == MAP_UPDATED)
			value_bind_now(col->time, now, s, (int)i + 1);
		else if (col->type == MAP_REVISION)
			db_bind_int64(s, (int)i + 1, 1);
		else if (col->uuid) {
			char uuid[37];
			uuid_v4(uuid);
			db_bind_text(s, (int)i + 1, uuid, -1, SQLITE_TRANSIENT);
		} else
			value_bind(col, cJSON_GetObjectItemCaseSensitive(work, col->name), s, (int)i + 1);
	}
	rc = db_step(s);
	rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
out:
	if (rc != SQLITE_OK) {
		if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			rc = store_cause(cause, -EEXIST, "%s already exists", key);
		else
			rc = entity_sqlerr(cn, c->columns, c->ncolumns, rc, cause);
	}
	db_finalize(s);
	strbuf_release(&sql);
	strbuf_release(&vals);
	return rc;
}

/* Apply patch to key's row cur (read in ch's transaction, secrets and all):
 * checked, merged, written if anything changed; ch->after the result. */
static int entity_edit(struct change *ch, const struct map_collection *c, const char *key, const cJSON *patch,
		       const cJSON *cur, char **cause)
{
	cJSON *work = NULL, *base = NULL, *trimmed = NULL;
	int rc;

	if (!cJSON_IsObject(patch))
		return store_cause(cause, -EINVAL, "expected a JSON object");
	if ((rc = entity_check_revision(ch->cn, c, key, cur, patch, ch->row.who, &base, cause)))
		return rc;
	if (base) /* the writer's own earlier saves since its document's revision: the
		   * read-only fields they moved (updated_at) are sent back as they were
		   * then, and left as they are now */
		patch = trimmed = entity_sent_back(c, patch, base);
	work = cJSON_Duplicate(cur, true);
	if ((rc = entity_apply(ch->cn, c, work, cur, patch, cause)))
		goto out;
	if (json_equal(work, cur)) {
		ch->row.result = "unchanged";
		ch->after = entity_redact(c->columns, c->ncolumns, cur);
		goto out;
	}
	if ((rc = entity_update_row(ch->cn, c, key, work, cur, time_now_ms())) != SQLITE_OK) {
		rc = entity_sqlerr(ch->cn, c->columns, c->ncolumns, rc, cause);
		goto out;
	}
	rc = entity_load(ch->cn, c, key, false, &ch->after);
out:
	cJSON_Delete(work);
	cJSON_Delete(base);
	cJSON_Delete(trimmed);
	return rc;
}

/*
 * The save of a tool that removed key's file and creates it again (trash.c):
 * the entity comes back from .trash/ and doc is an edit of base, the
 * document as it was when this process removed it. Read-only fields sent
 * back as they were then are not changes (the move to .trash/ and back
 * moved revision and times on); a revision older than base's is a stale
 * edit, as for any save.
 */
static int entity_resave(struct change *ch, const struct map_collection *c, const char *key, const cJSON *doc,
			 const cJSON *base, char **cause)
{
	cJSON *cur = NULL, *patch = NULL;
	int rc;

	if (!cJSON_IsObject(doc))
		return store_cause(cause, -EINVAL, "expected a JSON object");
	if ((rc = trash_run(ch->cn, c, ch->st->sql[c->index].restore, key)) != SQLITE_OK)
		return store_sqlerr(ch->cn, rc, cause);
	if ((rc = entity_load_locked(ch->cn, c, key, true, &cur, cause)))
		return rc;
	patch = entity_sent_back(c, doc, base);
	if (c->revision && cJSON_GetObjectItemCaseSensitive(patch, c->revision->name))
		rc = store_cause(cause, -ESTALE, "stale edit: %s changed before it was removed and made again; reload and"
				 " save again", key);
	else
		rc = entity_edit(ch, c, key, patch, cur, cause);
	cJSON_Delete(patch);
	cJSON_Delete(cur);
	return rc;
}

int store_create(store *st, const struct map_collection *c, const char *key, const cJSON *doc,
		 const struct store_actor *who, char **newkey, char **cause)
{
	struct change ch;
	cJSON *work = NULL;
	bool named = true, resaved = false;
	int rc;

	if (newkey)
		*newkey = NULL;
	if ((rc = change_begin(&ch, st, c, key, who, cause)))
		goto out;
	ch.args = entity_redact(c->columns, c->ncolumns, doc);
	if (store_is_approvals(st, c)) {
		rc = store_cause(cause, -EPERM, "approvals are made by requires_approval rules, not by hand");
		goto out;
	}
	if (key && !map_key_valid(c, key)) {
		rc = store_cause(cause, -EINVAL, "invalid key \"%.80s\": use printable characters, no '/',"
				 " no leading '.', at most 200 bytes%s", key, c->integer_key ? ", digits only" : "");
		goto out;
	}
	if (!key) { /* allocated keys skip the trash's */
		if ((rc = entity_alloc_key(ch.cn, c, &ch.keybuf, cause)))
			goto out;
		key = ch.row.key = ch.keybuf;
		named = false;
	}
	if (c->soft_delete && named && (rc = trash_load(ch.cn, c, key, &ch.before)) != -ENOENT) {
		/* A name in .trash/ is taken, but by the save of the process that
		 * removed it a moment ago (trash.c) */
		cJSON *base = rc ? NULL : trash_recent(st, c, key, who, ch.before);
		if (base) {
			cJSON_AddBoolToObject(ch.args, "restores_trash", true);
			rc = entity_resave(&ch, c, key, doc, base, cause);
			cJSON_Delete(base);
			resaved = rc == 0;
		} else if (!rc) {
			rc = store_cause(cause, -EEXIST, "%s is in %s/.trash: mv restores it, rm there removes it for good",
					 key, c->dir);
		}
		goto out;
	}
	rc = 0;
	work = cJSON_CreateObject();
	if ((rc = entity_apply(ch.cn, c, work, NULL, doc, cause)))
		goto out;
	for (size_t i = 0; i < c->ncolumns; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(work, c->columns[i].name);
		if (!v && c->columns[i].dflt) { /* the value the tool itself gives a new row */
			cJSON *d = cJSON_Duplicate(c->columns[i].dflt, true);
			cJSON_AddItemToObject(work, c->columns[i].name, d);
			v = d;
		}
		if (c->columns[i].required && (!v || cJSON_IsNull(v))) {
			rc = store_cause(cause, -EINVAL, "%s: required", c->columns[i].name);
			goto out;
		}
	}
	if ((rc = entity_insert(ch.cn, c, key, work, cause)))
		goto out;
	rc = entity_load(ch.cn, c, key, false, &ch.after);
	if (!rc && newkey)
		*newkey = xstrdup(key);
out:
	cJSON_Delete(work);
	if ((rc = change_end(&ch, rc, cause)) == 0 && resaved)
		trash_forget(st, c, key);
	return rc;
}

int entity_preview(struct conn *cn, const struct map_collection *c, const char *key, const cJSON *patch,
		   cJSON **after, char **cause)
{
	cJSON *cur = NULL, *work = NULL;
	int rc;

	*after = NULL;
	if ((rc = entity_load(cn, c, key, true, &cur)))
		return rc;
	work = cJSON_Duplicate(cur, true);
	if (!(rc = entity_check_revision(cn, c, key, cur, patch, NULL, NULL, cause)) &&
	    !(rc = entity_apply(cn, c, work, cur, patch, cause)))
		*after = entity_redact(c->columns, c->ncolumns, work);
	cJSON_Delete(cur);
	cJSON_Delete(work);
	return rc;
}

/* A write to an approval's status is a decision (approval.c). */
static int entity_decide(store *st, const char *key, const cJSON *patch, const struct store_actor *who,
			 char **cause)
{
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(patch, "status");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(patch, "reason");
	struct store_actor decider = { .tool = "orchfs" };
	const cJSON *f;

	cJSON_ArrayForEach(f, patch)
		if (strcmp(f->string, "status") != 0 && strcmp(f->string, "reason") != 0 &&
		    strcmp(f->string, "revision") != 0 && !map_column(map_collection(st->db, st->db->approvals), f->string))
			return store_cause(cause, -EINVAL, "unknown field \"%.80s\"", f->string);
	if (!cJSON_IsString(status) || (strcmp(status->valuestring, "approved") != 0 &&
					strcmp(status->valuestring, "rejected") != 0))
		return store_cause(cause, -EINVAL, "status: write \"approved\" or \"rejected\" to decide");
	if (who)
		decider = *who;
	if (!decider.tool)
		decider.tool = "orchfs";
	return store_decide(st, strtoll(key, NULL, 10), strcmp(status->valuestring, "approved") == 0, &decider,
			    cJSON_IsString(reason) ? reason->valuestring : NULL, cause); /* audits a refusal */
}

int store_patch(store *st, const struct map_collection *c, const char *key, const cJSON *patch,
		const struct store_actor *who, char **cause)
{
	struct change ch;
	cJSON *cur = NULL;
	bool unchanged = false;
	int rc;

	if (store_is_approvals(st, c) && cJSON_IsObject(patch))
		return entity_decide(st, key, patch, who, cause);

	if ((rc = change_begin(&ch, st, c, key, who, cause)))
		goto out;
	ch.args = cJSON_IsObject(patch) ? entity_redact(c->columns, c->ncolumns, patch) : NULL;
	if ((rc = entity_load_locked(ch.cn, c, key, true, &cur, cause))) {
		if (rc == -ENOENT)
			store_cause(cause, rc, "%s: no such entity", key);
		goto out;
	}
	ch.before = entity_redact(c->columns, c->ncolumns, cur); /* as a reader sees it */
	rc = entity_edit(&ch, c, key, patch, cur, cause);
	unchanged = !rc && ch.row.result && strcmp(ch.row.result, "unchanged") == 0;
out:
	cJSON_Delete(cur);
	rc = change_end(&ch, rc, cause);
	return !rc && unchanged ? STORE_UNCHANGED : rc;
}

struct entity_links_ctx {
	cJSON *out;
	const char *coll, *rel, *from, *to; /* one of from/to is NULL: the walked value */
};

static int entity_links_fn(void *arg, const char *v)
{
	struct entity_links_ctx *lc = arg;
	cJSON *l = cJSON_CreateObject();

	cJSON_AddStringToObject(l, "collection", lc->coll);
	cJSON_AddStringToObject(l, "relation", lc->rel);
	cJSON_AddStringToObject(l, "from", lc->from ? lc->from : v);
	cJSON_AddStringToObject(l, "to", lc->to ? lc->to : v);
	cJSON_AddItemToArray(lc->out, l);
	return 0;
}

/* Every link from or to key, as {collection, relation, from, to}, into out. */
static int entity_links(store *st, const struct map_collection *c, const char *key, cJSON *out)
{
	const struct map_database *db = st->db;
	int rc;

	for (size_t i = 0; i < db->ncollections; i++) {
		const struct map_collection *cc = &db->collections[i];
		for (size_t j = 0; j < cc->nrelations; j++) {
			const struct map_relation *r = &cc->relations[j];
			struct entity_links_ctx lc = { out, cc->dir, r->dir, NULL, NULL };
			if (r->readonly)
				continue; /* a column of the rows themselves: kept in their documents */
			if (cc == c) {
				lc.from = key;
				if ((rc = entity_walk(st, st->sql[cc->index].rel_list[j], key, entity_links_fn, &lc)))
					return rc;
			}
			if (r->target == c) {
				lc.from = NULL;
				lc.to = key;
				if ((rc = entity_walk(st, st->sql[cc->index].rel_reverse[j], key, entity_links_fn, &lc)))
					return rc;
			}
		}
	}
	return 0;
}

/*
 * The links of a deleted entity go first, as on SQLite. PostgreSQL runs ON
 * DELETE CASCADE's deletes after the deleted row's own triggers, so the
 * change feed would show the entity deleted and then its links unlinked
 * (a consumer replaying it would touch an entity that is gone); removing
 * the links (the ones listed by entity_links, as rm of each would) before
 * the row keeps SQLite's order: unlinks, then the delete.
 */
static int entity_unlink_all(struct change *ch, const cJSON *links, char **cause)
{
	const struct map_database *db = ch->st->db;
	const cJSON *l;

	cJSON_ArrayForEach(l, links) {
		const char *coll = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "collection"));
		const char *rel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "relation"));
		const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "from"));
		const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "to"));

		for (size_t i = 0; i < db->ncollections; i++) {
			const struct map_collection *cc = &db->collections[i];
			if (!coll || strcmp(cc->dir, coll) != 0)
				continue;
			for (size_t j = 0; j < cc->nrelations; j++) {
				dbstmt *s;
				int rc;
				if (!rel || strcmp(cc->relations[j].dir, rel) != 0 || cc->relations[j].readonly)
					continue;
				if (!(s = conn_stmt(ch->cn, ch->st->sql[i].rel_unlink[j])))
					return store_sqlerr(ch->cn, conn_errcode(ch->cn), cause);
				db_bind_text(s, 1, from, -1, SQLITE_TRANSIENT);
				db_bind_text(s, 2, to, -1, SQLITE_TRANSIENT);
				rc = db_step(s);
				db_reset(s);
				if (rc != SQLITE_DONE)
					return store_sqlerr(ch->cn, rc, cause);
			}
		}
	}
	return 0;
}

int store_delete(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		 char **cause)
{
	struct change ch;
	cJSON *before = NULL, *trashed = NULL;
	dbstmt *s;
	int rc;

	if ((rc = change_begin(&ch, st, c, key, who, cause)))
		goto out;
	if (store_is_approvals(st, c)) {
		rc = store_cause(cause, -EPERM, "approvals are decided (approved or rejected), not removed");
		goto out;
	}
	if ((rc = entity_load_locked(ch.cn, c, key, false, &ch.before, cause))) {
		if (rc == -ENOENT)
			store_cause(cause, rc, "%s: no such entity", key);
		goto out;
	}
	/* The links that go with it, so `orchfs undo` can bring them back. */
	ch.args = cJSON_CreateObject();
	if ((rc = entity_links(st, c, key, cJSON_AddArrayToObject(ch.args, "links"))))
		goto out;
	if (c->soft_delete) /* kept, with the time it went, in .trash/ */
		cJSON_AddBoolToObject(ch.args, "trash", true);
	else if (st->pg && (rc = entity_unlink_all(&ch, cJSON_GetObjectItemCaseSensitive(ch.args, "links"), cause)))
		goto out;
	if (!(s = conn_stmt(ch.cn, c->soft_delete ? st->sql[c->index].trash : st->sql[c->index].delete))) {
		rc = store_sqlerr(ch.cn, conn_errcode(ch.cn), cause);
		goto out;
	}
	entity_bind_key(c, s, 1, key);
	if (c->soft_delete)
		value_bind_now(c->db->time, time_now_ms(), s, 2);
	rc = db_step(s);
	db_reset(s);
	rc = rc == SQLITE_DONE ? 0 : entity_sqlerr(ch.cn, c->columns, c->ncolumns, rc, cause);
	if (!rc && c->soft_delete && (rc = trash_load(ch.cn, c, key, &trashed)) == 0)
		before = cJSON_Duplicate(ch.before, true);
out:
	if ((rc = change_end(&ch, rc, cause)) == 0 && before)
		trash_note(st, c, key, who, before, trashed);
	else {
		cJSON_Delete(before);
		cJSON_Delete(trashed);
	}
	return rc;
}

/*
 * The INSERT of a log row that sets the columns in set[] (the log's column
 * i bound as ?i+2, the owner's key as ?1). A tool appends rows of a few
 * shapes, so the statement of each shape is made once and kept, like the
 * collection's other SQL, up to LOG_SHAPES per log; past them (or with more
 * columns than a mask holds) *own is a statement text for this row alone,
 * which the caller frees.
 */
#define LOG_SHAPES 32
static const char *log_insert_sql(store *st, const struct map_collection *c, size_t li, const bool *set,
				  char **own)
{
	const struct map_log *l = &c->logs[li];
	struct coll_update **shapes = &st->sql[c->index].log_insert[li], *u;
	struct strbuf sb = STRBUF_INIT, vals = STRBUF_INIT;
	uint64_t mask = 0;
	size_t kept = 0;
	const char *sql = NULL;

	*own = NULL;
	for (size_t i = 0; i < l->ncolumns && i < 64; i++)
		mask |= set[i] ? UINT64_C(1) << i : 0;
	if (l->ncolumns <= 64) {
		pthread_mutex_lock(&st->lock);
		for (u = *shapes; u && u->mask != mask; u = u->next)
			kept++;
		if (u)
			sql = u->sql;
		pthread_mutex_unlock(&st->lock);
		if (sql)
			return sql;
	}
	strbuf_addstr(&sb, "INSERT INTO ");
	sql_quote(&sb, l->table);
	strbuf_addstr(&sb, " (");
	sql_quote(&sb, l->owner);
	strbuf_addstr(&vals, "?1");
	for (size_t i = 0; i < l->ncolumns; i++) {
		if (!set[i])
			continue;
		strbuf_addstr(&sb, ", ");
		sql_quote(&sb, l->columns[i].column);
		strbuf_addf(&vals, ", ?%zu", i + 2);
	}
	strbuf_addf(&sb, ") VALUES (%s)", vals.buf);
	strbuf_release(&vals);
	if (l->ncolumns > 64 || kept >= LOG_SHAPES)
		return *own = strbuf_detach(&sb, NULL);
	u = xcalloc(1, sizeof(*u));
	u->mask = mask;
	u->sql = strbuf_detach(&sb, NULL);
	pthread_mutex_lock(&st->lock);
	u->next = *shapes; /* another thread may have added the same shape: both work */
	*shapes = u;
	pthread_mutex_unlock(&st->lock);
	return u->sql;
}

/* The columns of a log that orchfs fills when a row does not: a second key
 * (uuid), the time of the row. */
static bool log_filled(const struct map_column *col)
{
	return col->uuid || col->type == MAP_CREATED || col->type == MAP_UPDATED;
}

int store_log_append(store *st, const struct map_collection *c, const struct map_log *l, const char *key,
		     const cJSON *rows, const struct store_actor *who, char **cause)
{
	struct change ch;
	const cJSON *row;
	bool *set = xcalloc(l->ncolumns + 1, sizeof(*set));
	int rc, line = 0;

	if ((rc = change_begin(&ch, st, c, key, who, cause)))
		goto out;
	ch.row.task = entity_task(c, key, NULL);
	if ((rc = store_exists(st, c, key)) <= 0) {
		rc = rc ? rc : store_cause(cause, -ENOENT, "%s: no such entity", key);
		goto out;
	}
	rc = 0;
	ch.args = cJSON_CreateObject();
	cJSON_AddStringToObject(ch.args, "log", l->file);
	cJSON_AddNumberToObject(ch.args, "rows", cJSON_GetArraySize(rows));
	cJSON_ArrayForEach(row, rows) {
		const struct map_column *col;
		const cJSON *f;
		const char *sql;
		char *own = NULL;
		dbstmt *s = NULL;

		line++;
		if (!cJSON_IsObject(row)) {
			rc = store_cause(cause, -EINVAL, "line %d: expected a JSON object", line);
			goto out;
		}
		memset(set, 0, l->ncolumns * sizeof(*set));
		cJSON_ArrayForEach(f, row) {
			cJSON *val = NULL;
			if (!(col = map_log_column(l, f->string)) || col->readonly) {
				rc = store_cause(cause, -EINVAL, "line %d: %s field \"%.80s\"", line,
						 col ? "read-only" : "unknown", f->string);
				goto out;
			}
			if ((rc = value_check(col, f, &val, cause))) {
				char *inner = cause ? *cause : NULL;
				if (cause)
					*cause = NULL;
				store_cause(cause, rc, "line %d: %s", line, inner);
				free(inner);
				goto out;
			}
			cJSON_Delete(val);
			/* the owner is the entity the log is in, whatever a row says */
			set[col - l->columns] = strcmp(col->column, l->owner) != 0;
		}
		for (size_t i = 0; i < l->ncolumns; i++)
			set[i] = set[i] || log_filled(&l->columns[i]);

		sql = log_insert_sql(st, c, (size_t)(l - c->logs), set, &own);
		if (own)
			rc = db_prepare(ch.cn, own, &s);
		else
			rc = (s = conn_stmt(ch.cn, sql)) ? SQLITE_OK : conn_errcode(ch.cn);
		if (rc == SQLITE_OK) {
			db_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
			memset(set, 0, l->ncolumns * sizeof(*set));
			cJSON_ArrayForEach(f, row) { /* a field given twice: the last one, as in a patch */
				cJSON *val = NULL;
				col = map_log_column(l, f->string);
				if (strcmp(col->column, l->owner) == 0)
					continue;
				value_check(col, f, &val, NULL);
				value_bind(col, val, s, (int)(col - l->columns) + 2);
				cJSON_Delete(val);
				set[col - l->columns] = true;
			}
			for (size_t i = 0; i < l->ncolumns; i++) {
				col = &l->columns[i];
				if (set[i] || !log_filled(col))
					continue;
				if (col->uuid) {
					char uuid[37];
					uuid_v4(uuid);
					db_bind_text(s, (int)i + 2, uuid, -1, SQLITE_TRANSIENT);
				} else
					value_bind_now(col->time, time_now_ms(), s, (int)i + 2);
			}
			rc = db_step(s);
			rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		}
		if (rc != SQLITE_OK) {
			rc = entity_sqlerr(ch.cn, l->columns, l->ncolumns, rc, cause);
			if (cause && *cause) {
				char *inner = *cause;
				*cause = xasprintf("line %d: %s", line, inner);
				free(inner);
			}
		}
		if (own)
			db_finalize(s);
		else if (s)
			db_reset(s);
		free(own);
		if (rc)
			goto out;
	}
out:
	free(set);
	return change_end(&ch, rc, cause);
}

static int entity_link(store *st, const struct map_collection *c, const struct map_relation *r, const char *key,
		       const char *target, const struct store_actor *who, bool link, bool move, char **cause)
{
	struct coll_sql *q = &st->sql[c->index];
	struct change ch;
	dbstmt *s;
	int rc;

	if ((rc = change_begin(&ch, st, c, key, who, cause)))
		goto out;
	ch.args = cJSON_CreateObject();
	cJSON_AddStringToObject(ch.args, "relation", r->dir);
	cJSON_AddStringToObject(ch.args, "target", target);
	if (move)
		cJSON_AddBoolToObject(ch.args, "move", true);
	if (r->readonly) {
		rc = store_cause(cause, -EROFS, "%s/ is read-only: it lists what the rows say (change %s there)", r->dir,
				 r->from);
		goto out;
	}
	if (link && (rc = store_exists(st, c, key)) <= 0) {
		rc = rc ? rc : store_cause(cause, -ENOENT, "%s: no such entity", key);
		goto out;
	}
	if (link && (rc = store_exists(st, r->target, target)) <= 0) {
		rc = rc ? rc : store_cause(cause, -ENOENT, "%s: no %s entity \"%.80s\"", r->dir, r->target->dir,
					   target);
		goto out;
	}
	if (link && r->unique && move) {
		/* Moving: the entity that has the target now, for the audit row
		 * (undo moves it back there), ... */
		if (!(s = conn_stmt(ch.cn, q->rel_reverse[r - c->relations]))) {
			rc = store_sqlerr(ch.cn, conn_errcode(ch.cn), cause);
			goto out;
		}
		db_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
		while ((rc = db_step(s)) == SQLITE_ROW) {
			const char *had = (const char *)db_column_text(s, 0);
			if (had && strcmp(had, key) != 0 && !cJSON_GetObjectItemCaseSensitive(ch.args, "from"))
				cJSON_AddStringToObject(ch.args, "from", had);
		}
		db_reset(s);
		if (rc != SQLITE_DONE) {
			rc = store_sqlerr(ch.cn, rc, cause);
			goto out;
		}
		/* ... which it leaves, in this transaction */
		if (!(s = conn_stmt(ch.cn, q->rel_release[r - c->relations]))) {
			rc = store_sqlerr(ch.cn, conn_errcode(ch.cn), cause);
			goto out;
		}
		db_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
		db_bind_text(s, 2, target, -1, SQLITE_TRANSIENT);
		rc = db_step(s);
		db_reset(s);
		if (rc != SQLITE_DONE) {
			rc = store_sqlerr(ch.cn, rc, cause);
			goto out;
		}
	}
	if (!(s = conn_stmt(ch.cn, link ? q->rel_link[r - c->relations] : q->rel_unlink[r - c->relations]))) {
		rc = store_sqlerr(ch.cn, conn_errcode(ch.cn), cause);
		goto out;
	}
	db_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	db_bind_text(s, 2, target, -1, SQLITE_TRANSIENT);
	if (link && r->created)
		value_bind_now(r->time, time_now_ms(), s, 3);
	rc = db_step(s);
	db_reset(s);
	if (rc != SQLITE_DONE) {
		if ((rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) && r->unique)
			rc = store_cause(cause, -EEXIST, "%s/%s is already linked from another entity of %s/ (mv moves it)",
					 r->dir, target, c->dir);
		else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
			rc = store_cause(cause, -EEXIST, "%s/%s is already linked", r->dir, target);
		else
			rc = store_sqlerr(ch.cn, rc, cause);
		goto out;
	}
	rc = 0;
	if (!link && conn_changes(ch.cn) == 0)
		rc = store_cause(cause, -ENOENT, "%s/%s is not linked", r->dir, target);
out:
	return change_end(&ch, rc, cause);
}

int store_link(store *st, const struct map_collection *c, const struct map_relation *r, const char *key,
	       const char *target, bool move, const struct store_actor *who, char **cause)
{
	return entity_link(st, c, r, key, target, who, true, move, cause);
}

int store_unlink(store *st, const struct map_collection *c, const struct map_relation *r, const char *key,
		 const char *target, const struct store_actor *who, char **cause)
{
	return entity_link(st, c, r, key, target, who, false, false, cause);
}

int store_blob_list(store *st, const struct map_collection *c, const struct map_blobs *b, const char *key,
		    store_key_fn fn, void *arg)
{
	return entity_walk(st, st->sql[c->index].blob_list[b - c->blobs], key, fn, arg);
}

int store_blob_get(store *st, const struct map_collection *c, const struct map_blobs *b, const char *key,
		   const char *name, char **data, size_t *len)
{
	struct conn *cn;
	dbstmt *s;
	int rc;

	*data = NULL;
	*len = 0;
	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, st->sql[c->index].blob_get[b - c->blobs])))
		return store_readerr(cn, conn_errcode(cn));
	db_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	db_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	if ((rc = db_step(s)) == SQLITE_ROW) {
		const void *p = db_column_blob(s, 0);
		*len = (size_t)db_column_bytes(s, 0);
		*data = xmalloc(*len + 1);
		if (*len)
			memcpy(*data, p, *len);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : store_readerr(cn, rc);
	}
	db_reset(s);
	return rc;
}
