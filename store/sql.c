/*
 * sql.c - the SQL a store runs, generated once from the mapping at open.
 *
 * Every statement here has its values as parameters; identifiers come only
 * from the mapping and are quoted. The strings live as long as the store
 * and their addresses key the per-connection statement caches (db.c).
 * Statements whose column list depends on the input (inserts) are built per
 * call in entity.c and not cached.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "store/internal.h"

/*
 * sql_fmt - a statement from a format: %q is an identifier (quoted), %c a
 * column list (const struct map_column *, size_t), %s text as it is.
 */
static char *sql_fmt(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	strbuf_init(&sb, 128);
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			strbuf_addch(&sb, *p);
			continue;
		}
		switch (*++p) {
		case 'q':
			sql_quote(&sb, va_arg(ap, const char *));
			break;
		case 's':
			strbuf_addstr(&sb, va_arg(ap, const char *));
			break;
		case 'c': {
			const struct map_column *cols = va_arg(ap, const struct map_column *);
			size_t n = va_arg(ap, size_t);
			for (size_t i = 0; i < n; i++) {
				strbuf_addstr(&sb, i ? ", " : "");
				sql_quote(&sb, cols[i].column);
			}
			break;
		}
		default:
			strbuf_addch(&sb, *p);
		}
	}
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

/* INSERT of a link: a new link goes last in the order, stamped with its time (?3). */
static char *sql_rel_link(const struct map_relation *r)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_init(&sb, 128);
	strbuf_addstr(&sb, "INSERT INTO ");
	sql_quote(&sb, r->table);
	strbuf_addstr(&sb, " (");
	sql_quote(&sb, r->from);
	strbuf_addstr(&sb, ", ");
	sql_quote(&sb, r->to);
	if (r->order) {
		strbuf_addstr(&sb, ", ");
		sql_quote(&sb, r->order);
	}
	if (r->created) {
		strbuf_addstr(&sb, ", ");
		sql_quote(&sb, r->created);
	}
	strbuf_addstr(&sb, ") VALUES (?1, ?2");
	if (r->order) {
		strbuf_addstr(&sb, ", (SELECT coalesce(max(");
		sql_quote(&sb, r->order);
		strbuf_addstr(&sb, "), 0) + 1 FROM ");
		sql_quote(&sb, r->table);
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, r->from);
		strbuf_addstr(&sb, " = ?1)");
	}
	strbuf_addstr(&sb, r->created ? ", ?3)" : ")");
	return strbuf_detach(&sb, NULL);
}

static void sql_build_collection(const struct map_collection *c, struct coll_sql *q, bool pg)
{
	const struct map_column *cols = c->columns;
	const char *key = c->key->column, *t;
	struct strbuf sb = STRBUF_INIT;
	char *live;
	size_t i, n;

	q->table_q = c->sidecar ? sql_fmt("%q.%q", SQL_SIDECAR, c->table) : sql_fmt("%q", c->table);
	t = q->table_q;
	/* Soft-deleted rows (in .trash/) are not part of the collection. */
	live = c->soft_delete ? sql_fmt("%q IS NULL", c->soft_delete) : xstrdup("TRUE");
	q->get = sql_fmt("SELECT %c FROM %s WHERE %q = ?1 AND %s", cols, c->ncolumns, t, key, live);
	q->get_lock = pg ? sql_fmt("%s FOR UPDATE", q->get) : xstrdup(q->get);
	q->all = sql_fmt("SELECT %c FROM %s WHERE %s ORDER BY %q", cols, c->ncolumns, t, live, key);
	q->after = sql_fmt("SELECT %c FROM %s WHERE %q > ?1 AND %s ORDER BY %q", cols, c->ncolumns, t, key, live,
			   key);
	q->exists = sql_fmt("SELECT 1 FROM %s WHERE %q = ?1 AND %s", t, key, live);
	q->exists_any = sql_fmt("SELECT 1 FROM %s WHERE %q = ?1", t, key);
	q->list = sql_fmt("SELECT %q FROM %s WHERE %s ORDER BY %q", key, t, live, key);
	/* all rows less those in .trash/ (an index of their own): no scan of the table */
	q->count = c->soft_delete ? sql_fmt("SELECT (SELECT count(*) FROM %s) - (SELECT count(*) FROM %s WHERE %q IS NOT NULL)",
					    t, t, c->soft_delete)
				  : sql_fmt("SELECT count(*) FROM %s", t);
	q->delete = sql_fmt("DELETE FROM %s WHERE %q = ?1", t, key);
	if (c->soft_delete) {
		const char *d = c->soft_delete;
		q->trash_list = sql_fmt("SELECT %q FROM %s WHERE %q IS NOT NULL ORDER BY %q", key, t, d, key);
		q->trash_get = sql_fmt("SELECT %c FROM %s WHERE %q = ?1 AND %q IS NOT NULL", cols, c->ncolumns, t, key,
				       d);
		q->trash = sql_fmt("UPDATE %s SET %q = ?2 WHERE %q = ?1 AND %q IS NULL", t, d, key, d);
		q->restore = sql_fmt("UPDATE %s SET %q = NULL WHERE %q = ?1 AND %q IS NOT NULL", t, d, key, d);
		q->purge = sql_fmt("DELETE FROM %s WHERE %q = ?1 AND %q IS NOT NULL", t, key, d);
	}

	/* UPDATE every column but the key and created, bound from the whole
	 * document: one cached statement per collection, whatever the patch. */
	strbuf_init(&sb, 256);
	strbuf_addf(&sb, "UPDATE %s SET ", q->table_q);
	for (i = 0, n = 0; i < c->ncolumns; i++) {
		if (&cols[i] == c->key || cols[i].type == MAP_CREATED)
			continue;
		strbuf_addstr(&sb, n++ ? ", " : "");
		sql_quote(&sb, cols[i].column);
		strbuf_addf(&sb, " = ?%zu", i + 2);
	}
	strbuf_addstr(&sb, " WHERE ");
	sql_quote(&sb, key);
	strbuf_addstr(&sb, " = ?1");
	q->update = n ? strbuf_detach(&sb, NULL) : NULL;
	strbuf_release(&sb);

	q->view_values = xcalloc(c->nviews + 1, sizeof(char *));
	q->view_list = xcalloc(c->nviews + 1, sizeof(char *));
	q->view_has = xcalloc(c->nviews + 1, sizeof(char *));
	for (i = 0; i < c->nviews; i++) {
		const struct map_relation *r = c->views[i].rel;
		const char *col = c->views[i].column ? c->views[i].column->column : NULL;
		if (r) { /* grouped by who links to the entity */
			/* entities of this collection in .trash/ are not grouped; asked row by
			 * row (EXISTS), as "IN (SELECT ...)" would copy the collection's every
			 * live key into a temporary index for each query */
			char *alive = c->soft_delete ? sql_fmt(" AND EXISTS (SELECT 1 FROM %s AS orchfs_t WHERE orchfs_t.%q ="
							       " %q.%q AND %s)", t, key, r->table, r->to, live)
						     : xstrdup("");
			q->view_values[i] = sql_fmt("SELECT DISTINCT %q FROM %q WHERE TRUE%s ORDER BY 1", r->from, r->table,
						    alive);
			q->view_list[i] = sql_fmt("SELECT %q FROM %q WHERE %q = ?1%s ORDER BY 1", r->to, r->table, r->from,
						  alive);
			q->view_has[i] = sql_fmt("SELECT 1 FROM %q WHERE %q = ?1%s LIMIT 1", r->table, r->from, alive);
			free(alive);
			continue;
		}
		q->view_values[i] = sql_fmt("SELECT DISTINCT CAST(%q AS TEXT) FROM %s WHERE %q IS NOT NULL AND %s"
					    " ORDER BY 1", col, t, col, live);
		q->view_list[i] = sql_fmt("SELECT %q FROM %s WHERE CAST(%q AS TEXT) = ?1 AND %s ORDER BY %q", key, t, col,
					  live, key);
		/* The same test as view_list's, and an equality the column's index
		 * can answer: ?1 as the column's affinity makes it, or as a number
		 * for a column without one (an integer stored there is not '5'). */
		if (pg) /* typed columns: a text column is compared as it is; others as text */
			q->view_has[i] = c->views[i].column->type == MAP_TEXT
						 ? sql_fmt("SELECT 1 FROM %s WHERE %q = ?1 AND %s LIMIT 1", t, col, live)
						 : sql_fmt("SELECT 1 FROM %s WHERE CAST(%q AS TEXT) = ?1 AND %s LIMIT 1", t,
							   col, live);
		else
			q->view_has[i] = sql_fmt("SELECT 1 FROM %s WHERE %q IN (?1, CAST(?1 AS NUMERIC)) AND"
						 " CAST(%q AS TEXT) = ?1 AND %s LIMIT 1", t, col, col, live);
	}

	q->rel_list = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_link = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_unlink = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_release = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_reverse = xcalloc(c->nrelations + 1, sizeof(char *));
	for (i = 0; i < c->nrelations; i++) {
		const struct map_relation *r = &c->relations[i];
		/* links to entities in .trash/ are not listed (they come back with them);
		 * one lookup per link (EXISTS), not a copy of every live key of the
		 * target collection per listing (IN (SELECT ...)) */
		char *alive = r->target->soft_delete
				      ? sql_fmt(" AND EXISTS (SELECT 1 FROM %q AS orchfs_t WHERE orchfs_t.%q = %q.%q"
						" AND orchfs_t.%q IS NULL)", r->target->table, r->target->key->column,
						r->table, r->to, r->target->soft_delete)
				      : xstrdup("");
		q->rel_list[i] = r->order ? sql_fmt("SELECT %q FROM %q WHERE %q = ?1%s ORDER BY %q, %q", r->to, r->table,
						    r->from, alive, r->order, r->to)
					  : sql_fmt("SELECT %q FROM %q WHERE %q = ?1%s ORDER BY %q", r->to, r->table,
						    r->from, alive, r->to);
		free(alive);
		q->rel_link[i] = sql_rel_link(r);
		q->rel_unlink[i] = sql_fmt("DELETE FROM %q WHERE %q = ?1 AND %q = ?2", r->table, r->from, r->to);
		q->rel_release[i] = sql_fmt("DELETE FROM %q WHERE %q = ?2 AND %q <> ?1", r->table, r->to, r->from);
		q->rel_reverse[i] = sql_fmt("SELECT %q FROM %q WHERE %q = ?1 ORDER BY 1", r->from, r->table, r->to);
	}

	q->log_rows = xcalloc(c->nlogs + 1, sizeof(char *));
	q->log_after = xcalloc(c->nlogs + 1, sizeof(char *));
	q->log_search = xcalloc(c->nlogs + 1, sizeof(char *));
	q->log_insert = xcalloc(c->nlogs + 1, sizeof(*q->log_insert));
	for (i = 0; i < c->nlogs; i++) {
		const struct map_log *l = &c->logs[i];
		q->log_rows[i] = sql_fmt("SELECT %c FROM %q WHERE %q = ?1 ORDER BY %q", l->columns, l->ncolumns,
					 l->table, l->owner, l->id);
		q->log_after[i] = sql_fmt("SELECT %c, %q FROM %q WHERE %q = ?1 AND %q > ?2 ORDER BY %q", l->columns,
					  l->ncolumns, l->id, l->table, l->owner, l->id, l->id);
		if (l->fts) { /* the owner's key first, then the row: results come from many entities */
			/* owners in .trash/ are not searched */
			char *alive = c->soft_delete ? sql_fmt(" AND %q IN (SELECT %q FROM %s WHERE %s)", l->owner, key, t,
							       live)
						     : xstrdup("");
			/* PostgreSQL: the index is a view of (rowid, document tsvector); the
			 * query is FTS5's, made to_tsquery's (pg_tsquery) */
			q->log_search[i] = pg ? sql_fmt("SELECT %q, %c FROM %q WHERE %q IN (SELECT rowid FROM %q WHERE"
							" document @@ to_tsquery('simple', ?1))%s ORDER BY %q",
							l->owner, l->columns, l->ncolumns, l->table, l->id, l->fts, alive,
							l->id)
					      : sql_fmt("SELECT %q, %c FROM %q WHERE %q IN (SELECT rowid FROM %q WHERE %q"
							" MATCH ?1)%s ORDER BY %q", l->owner, l->columns, l->ncolumns,
							l->table, l->id, l->fts, l->fts, alive, l->id);
			free(alive);
		}
	}
	q->blob_list = xcalloc(c->nblobs + 1, sizeof(char *));
	q->blob_get = xcalloc(c->nblobs + 1, sizeof(char *));
	for (i = 0; i < c->nblobs; i++) {
		const struct map_blobs *b = &c->blobs[i];
		q->blob_list[i] = sql_fmt("SELECT %q FROM %q WHERE %q = ?1 ORDER BY %q", b->name, b->table, b->owner,
					  b->name);
		q->blob_get[i] = sql_fmt("SELECT %q FROM %q WHERE %q = ?1 AND %q = ?2", b->content, b->table, b->owner,
					 b->name);
	}
	free(live);
}

/* 'text' as a SQL string literal */
static void sql_literal(struct strbuf *sb, const char *text)
{
	strbuf_addch(sb, '\'');
	for (const char *p = text; *p; p++) {
		if (*p == '\'')
			strbuf_addch(sb, '\'');
		strbuf_addch(sb, *p);
	}
	strbuf_addch(sb, '\'');
}

static void sql_feed_trigger(struct strbuf *sb, const char *coll, const char *table, const char *event,
			     const char *row, const char *keycol, const char *op)
{
	struct strbuf name = STRBUF_INIT;

	strbuf_addf(&name, "orchfs_feed_%s_%s_%s", coll, table, op);
	strbuf_addstr(sb, "CREATE TEMP TRIGGER IF NOT EXISTS ");
	sql_quote(sb, name.buf);
	strbuf_addf(sb, " AFTER %s ON main.", event);
	sql_quote(sb, table);
	strbuf_addstr(sb, " BEGIN INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES (");
	sql_literal(sb, coll);
	strbuf_addf(sb, ", %s.", row);
	sql_quote(sb, keycol);
	strbuf_addstr(sb, ", ");
	sql_literal(sb, op);
	strbuf_addstr(sb, "); END;\n");
	strbuf_release(&name);
}

/*
 * The change feed of a database orchfs may not alter (a tool's own file)
 * cannot be kept by triggers in that file: each connection gets TEMP
 * triggers instead, which live in the connection only and write to the
 * sidecar's feed. They see the changes made through orchfs; other writers'
 * changes still show in the tree at once, but not in the feed.
 */
static void sql_feed_triggers(struct strbuf *sb, const struct map_database *db)
{
	for (size_t i = 0; i < db->ncollections; i++) {
		const struct map_collection *c = &db->collections[i];
		const char *k = c->key->column;
		if (c->sidecar || c->readonly)
			continue;
		sql_feed_trigger(sb, c->dir, c->table, "INSERT", "new", k, "create");
		sql_feed_trigger(sb, c->dir, c->table, "UPDATE", "new", k, "update");
		sql_feed_trigger(sb, c->dir, c->table, "DELETE", "old", k, "delete");
		for (size_t j = 0; j < c->nrelations; j++) {
			const struct map_relation *r = &c->relations[j];
			if (r->readonly)
				continue; /* rows of another collection, fed there */
			sql_feed_trigger(sb, c->dir, r->table, "INSERT", "new", r->from, "link");
			sql_feed_trigger(sb, c->dir, r->table, "DELETE", "old", r->from, "unlink");
		}
		for (size_t j = 0; j < c->nlogs; j++)
			sql_feed_trigger(sb, c->dir, c->logs[j].table, "INSERT", "new", c->logs[j].owner, "append");
	}
}

/* What each new connection runs: the mapping's TEMP views, and the feed's
 * TEMP triggers when the database has a sidecar; NULL if nothing. */
static char *sql_conn_setup(const struct map_database *db)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_init(&sb, 256);
	for (size_t i = 0; i < db->ntemp_views; i++) {
		strbuf_addstr(&sb, "CREATE TEMP VIEW IF NOT EXISTS ");
		sql_quote(&sb, db->temp_view_names[i]);
		strbuf_addf(&sb, " AS %s;\n", db->temp_view_sql[i]);
	}
	if (db->sidecar && db->changes)
		sql_feed_triggers(&sb, db);
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

void sql_build(store *st)
{
	const struct map_database *db = st->db;

	st->sql = xcalloc(db->ncollections + 1, sizeof(*st->sql));
	for (size_t i = 0; i < db->ncollections; i++)
		sql_build_collection(&db->collections[i], &st->sql[i], st->pg);
	/* orchfs's own tables: in the database, or in its sidecar */
	const char *own = db->sidecar ? "\"" SQL_SIDECAR "\"." : "";
	if (db->audit)
		st->audit_insert = sql_fmt("INSERT INTO %s%q (tool_name, pid, uid, operation, path, arguments, result,"
					   " status, duration_ms, task_id, collection, entity_key, before_json,"
					   " after_json, created_at, updated_at, process, user_approval) VALUES (?1, ?2,"
					   " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17) RETURNING id",
					   own, db->audit);
	if (db->changes) {
		const char *t = db->changes;
		st->changes_max = sql_fmt("SELECT coalesce(max(seq), 0) FROM %s%q", own, t);
		st->changes_stamp = sql_fmt("UPDATE %s%q SET tool = ?1, pid = ?2, audit_id = ?3 WHERE seq > ?4", own, t);
		st->changes_last = sql_fmt("SELECT tool, pid FROM %s%q WHERE collection = ?1 AND entity_key = ?2"
					   " ORDER BY seq DESC LIMIT 1", own, t);
		st->changes_list = sql_fmt("SELECT seq, time, collection, entity_key, operation, tool, pid FROM %s%q"
					   " WHERE seq > ?1 ORDER BY seq", own, t);
	}
	if (db->audit)
		st->audit_q = sql_fmt("%s%q", own, db->audit);
	/* the audit log's and the feed's rewrite counts: in orchfs's own
	 * databases on SQLite (PostgreSQL has no rendering cache to use them) */
	if ((db->audit || db->changes) && !db->sidecar && !st->pg)
		st->rewrites = xstrdup("SELECT n FROM _orchfs_rewrites WHERE tbl = ?1");
	if (db->approvals && db->audit && map_collection(db, db->approvals)) {
		const char *a = st->sql[map_collection(db, db->approvals)->index].table_q;
		st->approval_insert = sql_fmt("INSERT INTO %s (tool_name, pid, uid, operation, path, collection,"
					      " entity_key, payload, before_json, after_json, sid, pgid, pid_start)"
					      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
					      " RETURNING id", a);
		st->approval_get = sql_fmt("SELECT tool_name, pid, uid, operation, path, collection, entity_key,"
					   " payload, status, before_json, after_json, sid, pgid, pid_start FROM %s"
					   " WHERE id = ?1", a);
		st->approval_close = sql_fmt("UPDATE %s SET status = ?2, reason = ?3, decided_by = ?4, decided_at = ?5,"
					     " revision = revision + 1, updated_at = ?5 WHERE id = ?1", a);
	}
	for (size_t i = 0; i < db->ncollections; i++) {
		const struct map_collection *c = &db->collections[i];
		struct coll_sql *q = &st->sql[i];
		if (!c->alloc)
			continue;
		if (c->counter_table) { /* the tool's own counter, kept in step */
			q->alloc_name = c->counter_name;
			q->alloc_get = sql_fmt("SELECT %q FROM %q WHERE %q = ?1", c->counter_column, c->counter_table,
					       c->counter_key);
			q->alloc_put = sql_fmt("INSERT INTO %q (%q, %q) VALUES (?1, ?2) ON CONFLICT (%q) DO UPDATE SET"
					       " %q = excluded.%q", c->counter_table, c->counter_key, c->counter_column,
					       c->counter_key, c->counter_column, c->counter_column);
			continue;
		}
		q->alloc_name = c->dir;
		q->alloc_get = sql_fmt("SELECT last FROM %s_orchfs_keys WHERE collection = ?1", own);
		q->alloc_put = sql_fmt("INSERT INTO %s_orchfs_keys (collection, last) VALUES (?1, ?2)"
				       " ON CONFLICT (collection) DO UPDATE SET last = excluded.last", own);
	}
	/* PostgreSQL: the migrations make the views, and the feed is the schema's own */
	st->conn_setup = st->pg ? NULL : sql_conn_setup(db);
}

static void sql_free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void sql_free_updates(struct coll_update *u)
{
	while (u) {
		struct coll_update *next = u->next;
		free(u->sql);
		free(u);
		u = next;
	}
}

void sql_release(store *st)
{
	if (!st->sql)
		return;
	for (size_t i = 0; i < st->db->ncollections; i++) {
		struct coll_sql *q = &st->sql[i];
		free(q->get);
		free(q->get_lock);
		free(q->exists);
		free(q->list);
		free(q->count);
		free(q->all);
		free(q->after);
		free(q->update);
		sql_free_updates(q->narrow);
		free(q->delete);
		free(q->table_q);
		free(q->alloc_get);
		free(q->alloc_put);
		free(q->exists_any);
		free(q->trash_list);
		free(q->trash_get);
		free(q->trash);
		free(q->restore);
		free(q->purge);
		sql_free_list(q->view_values);
		sql_free_list(q->view_list);
		sql_free_list(q->view_has);
		sql_free_list(q->rel_list);
		sql_free_list(q->rel_link);
		sql_free_list(q->rel_unlink);
		sql_free_list(q->rel_release);
		sql_free_list(q->rel_reverse);
		sql_free_list(q->log_rows);
		sql_free_list(q->blob_list);
		sql_free_list(q->blob_get);
		sql_free_list(q->log_after);
		for (size_t j = 0; j < st->db->collections[i].nlogs; j++) {
			free(q->log_search[j]);
			if (q->log_insert)
				sql_free_updates(q->log_insert[j]);
		}
		free(q->log_search);
		free(q->log_insert);
	}
	free(st->sql);
	free(st->audit_insert);
	free(st->changes_max);
	free(st->changes_stamp);
	free(st->changes_list);
	free(st->changes_last);
	free(st->rewrites);
	free(st->audit_q);
	free(st->approval_insert);
	free(st->approval_get);
	free(st->approval_close);
	free(st->conn_setup);
	st->sql = NULL;
}
