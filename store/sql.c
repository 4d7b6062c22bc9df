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

static void sql_build_collection(const struct map_collection *c, struct coll_sql *q)
{
	const struct map_column *cols = c->columns;
	const char *key = c->key->column, *t = c->table;
	struct strbuf sb = STRBUF_INIT;
	size_t i, n;

	q->table_q = sql_fmt("%q", t);
	q->get = sql_fmt("SELECT %c FROM %q WHERE %q = ?1", cols, c->ncolumns, t, key);
	q->all = sql_fmt("SELECT %c FROM %q ORDER BY %q", cols, c->ncolumns, t, key);
	q->after = sql_fmt("SELECT %c FROM %q WHERE %q > ?1 ORDER BY %q", cols, c->ncolumns, t, key, key);
	q->exists = sql_fmt("SELECT 1 FROM %q WHERE %q = ?1", t, key);
	q->list = sql_fmt("SELECT %q FROM %q ORDER BY %q", key, t, key);
	q->delete = sql_fmt("DELETE FROM %q WHERE %q = ?1", t, key);

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
	for (i = 0; i < c->nviews; i++) {
		const struct map_relation *r = c->views[i].rel;
		const char *col = c->views[i].column ? c->views[i].column->column : NULL;
		if (r) { /* grouped by who links to the entity */
			q->view_values[i] = sql_fmt("SELECT DISTINCT %q FROM %q ORDER BY 1", r->from, r->table);
			q->view_list[i] = sql_fmt("SELECT %q FROM %q WHERE %q = ?1 ORDER BY 1", r->to, r->table, r->from);
			continue;
		}
		q->view_values[i] = sql_fmt("SELECT DISTINCT CAST(%q AS TEXT) FROM %q WHERE %q IS NOT NULL ORDER BY 1",
					    col, t, col);
		q->view_list[i] = sql_fmt("SELECT %q FROM %q WHERE CAST(%q AS TEXT) = ?1 ORDER BY %q", key, t, col, key);
	}

	q->rel_list = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_link = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_unlink = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_release = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_reverse = xcalloc(c->nrelations + 1, sizeof(char *));
	for (i = 0; i < c->nrelations; i++) {
		const struct map_relation *r = &c->relations[i];
		q->rel_list[i] = r->order ? sql_fmt("SELECT %q FROM %q WHERE %q = ?1 ORDER BY %q, %q", r->to, r->table,
						    r->from, r->order, r->to)
					  : sql_fmt("SELECT %q FROM %q WHERE %q = ?1 ORDER BY %q", r->to, r->table,
						    r->from, r->to);
		q->rel_link[i] = sql_fmt("INSERT INTO %q (%q, %q) VALUES (?1, ?2)", r->table, r->from, r->to);
		q->rel_unlink[i] = sql_fmt("DELETE FROM %q WHERE %q = ?1 AND %q = ?2", r->table, r->from, r->to);
		q->rel_release[i] = sql_fmt("DELETE FROM %q WHERE %q = ?2 AND %q <> ?1", r->table, r->to, r->from);
		q->rel_reverse[i] = sql_fmt("SELECT %q FROM %q WHERE %q = ?1 ORDER BY 1", r->from, r->table, r->to);
	}

	q->log_rows = xcalloc(c->nlogs + 1, sizeof(char *));
	q->log_after = xcalloc(c->nlogs + 1, sizeof(char *));
	q->log_search = xcalloc(c->nlogs + 1, sizeof(char *));
	for (i = 0; i < c->nlogs; i++) {
		const struct map_log *l = &c->logs[i];
		q->log_rows[i] = sql_fmt("SELECT %c FROM %q WHERE %q = ?1 ORDER BY %q", l->columns, l->ncolumns,
					 l->table, l->owner, l->id);
		q->log_after[i] = sql_fmt("SELECT %c, %q FROM %q WHERE %q = ?1 AND %q > ?2 ORDER BY %q", l->columns,
					  l->ncolumns, l->id, l->table, l->owner, l->id, l->id);
		if (l->fts) /* the owner's key first, then the row: results come from many entities */
			q->log_search[i] = sql_fmt("SELECT %q, %c FROM %q WHERE %q IN (SELECT rowid FROM %q WHERE %q"
						   " MATCH ?1) ORDER BY %q", l->owner, l->columns, l->ncolumns,
						   l->table, l->id, l->fts, l->fts, l->id);
	}
}

void sql_build(store *st)
{
	const struct map_database *db = st->db;

	st->sql = xcalloc(db->ncollections + 1, sizeof(*st->sql));
	for (size_t i = 0; i < db->ncollections; i++)
		sql_build_collection(&db->collections[i], &st->sql[i]);
	if (db->audit)
		st->audit_insert = sql_fmt("INSERT INTO %q (tool_name, pid, uid, operation, path, arguments, result,"
					   " status, duration_ms, task_id, collection, entity_key, before_json,"
					   " after_json, created_at, updated_at, process, user_approval) VALUES (?1, ?2,"
					   " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17)",
					   db->audit);
	if (db->changes) {
		const char *t = db->changes;
		st->changes_max = sql_fmt("SELECT coalesce(max(seq), 0) FROM %q", t);
		st->changes_stamp = sql_fmt("UPDATE %q SET tool = ?1, pid = ?2, audit_id = ?3 WHERE seq > ?4", t);
		st->changes_last = sql_fmt("SELECT tool, pid FROM %q WHERE collection = ?1 AND entity_key = ?2"
					   " ORDER BY seq DESC LIMIT 1", t);
		st->changes_list = sql_fmt("SELECT seq, time, collection, entity_key, operation, tool, pid FROM %q"
					   " WHERE seq > ?1 ORDER BY seq", t);
	}
}

static void sql_free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void sql_release(store *st)
{
	if (!st->sql)
		return;
	for (size_t i = 0; i < st->db->ncollections; i++) {
		struct coll_sql *q = &st->sql[i];
		free(q->get);
		free(q->exists);
		free(q->list);
		free(q->all);
		free(q->after);
		free(q->update);
		free(q->delete);
		free(q->table_q);
		sql_free_list(q->view_values);
		sql_free_list(q->view_list);
		sql_free_list(q->rel_list);
		sql_free_list(q->rel_link);
		sql_free_list(q->rel_unlink);
		sql_free_list(q->rel_release);
		sql_free_list(q->rel_reverse);
		sql_free_list(q->log_rows);
		sql_free_list(q->log_after);
		for (size_t j = 0; j < st->db->collections[i].nlogs; j++)
			free(q->log_search[j]);
		free(q->log_search);
	}
	free(st->sql);
	free(st->audit_insert);
	free(st->changes_max);
	free(st->changes_stamp);
	free(st->changes_list);
	free(st->changes_last);
	st->sql = NULL;
}
