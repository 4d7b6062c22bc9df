/*
 * sql.c - the SQL a store runs, generated once from the mapping at open.
 *
 * Every statement here has its values as parameters; identifiers come only
 * from the mapping and are quoted. The strings live as long as the store
 * and their addresses key the per-connection statement caches (db.c).
 * Statements whose column list depends on the input (inserts) are built per
 * call in entity.c and not cached.
 */
#include <stdlib.h>

#include "store/internal.h"

static void sql_cols(struct strbuf *sb, const struct map_column *cols, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		sql_quote(sb, cols[i].column);
	}
}

static char *sql_select(const struct map_column *cols, size_t n, const char *table, const char *where)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "SELECT ");
	sql_cols(&sb, cols, n);
	strbuf_addstr(&sb, " FROM ");
	sql_quote(&sb, table);
	strbuf_addstr(&sb, where);
	return strbuf_detach(&sb, NULL);
}

static char *sql_fmt_q(const char *fmt_before, const char *a, const char *mid, const char *b, const char *tail)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, fmt_before);
	sql_quote(&sb, a);
	strbuf_addstr(&sb, mid);
	if (b)
		sql_quote(&sb, b);
	strbuf_addstr(&sb, tail);
	return strbuf_detach(&sb, NULL);
}

static void sql_build_collection(const struct map_collection *c, struct coll_sql *q)
{
	struct strbuf sb = STRBUF_INIT;
	const char *key = c->key->column;
	size_t i, n;

	strbuf_init(&sb, 0);
	sql_quote(&sb, c->table);
	q->table_q = strbuf_detach(&sb, NULL);

	strbuf_addstr(&sb, " WHERE ");
	sql_quote(&sb, key);
	strbuf_addstr(&sb, " = ?1");
	q->get = sql_select(c->columns, c->ncolumns, c->table, sb.buf);
	strbuf_release(&sb);
	strbuf_addstr(&sb, " ORDER BY ");
	sql_quote(&sb, key);
	q->all = sql_select(c->columns, c->ncolumns, c->table, sb.buf);
	strbuf_release(&sb);
	strbuf_addstr(&sb, " WHERE ");
	sql_quote(&sb, key);
	strbuf_addstr(&sb, " > ?1 ORDER BY ");
	sql_quote(&sb, key);
	q->after = sql_select(c->columns, c->ncolumns, c->table, sb.buf);
	strbuf_release(&sb);

	q->exists = sql_fmt_q("SELECT 1 FROM ", c->table, " WHERE ", key, " = ?1");
	strbuf_addstr(&sb, "SELECT ");
	sql_quote(&sb, key);
	strbuf_addf(&sb, " FROM %s ORDER BY ", q->table_q);
	sql_quote(&sb, key);
	q->list = strbuf_detach(&sb, NULL);
	q->delete = sql_fmt_q("DELETE FROM ", c->table, " WHERE ", key, " = ?1");

	/* UPDATE every column but the key and created, bound from the whole
	 * document: one cached statement per collection, whatever the patch. */
	strbuf_addf(&sb, "UPDATE %s SET ", q->table_q);
	for (i = 0, n = 0; i < c->ncolumns; i++) {
		const struct map_column *col = &c->columns[i];
		if (col == c->key || col->type == MAP_CREATED)
			continue;
		if (n++)
			strbuf_addstr(&sb, ", ");
		sql_quote(&sb, col->column);
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
		const char *col;
		if (r) { /* grouped by who links to the entity */
			strbuf_addstr(&sb, "SELECT DISTINCT ");
			sql_quote(&sb, r->from);
			strbuf_addstr(&sb, " FROM ");
			sql_quote(&sb, r->table);
			strbuf_addstr(&sb, " ORDER BY 1");
			q->view_values[i] = strbuf_detach(&sb, NULL);
			strbuf_addstr(&sb, "SELECT ");
			sql_quote(&sb, r->to);
			strbuf_addstr(&sb, " FROM ");
			sql_quote(&sb, r->table);
			strbuf_addstr(&sb, " WHERE ");
			sql_quote(&sb, r->from);
			strbuf_addstr(&sb, " = ?1 ORDER BY 1");
			q->view_list[i] = strbuf_detach(&sb, NULL);
			continue;
		}
		col = c->views[i].column->column;
		strbuf_addstr(&sb, "SELECT DISTINCT CAST(");
		sql_quote(&sb, col);
		strbuf_addf(&sb, " AS TEXT) FROM %s WHERE ", q->table_q);
		sql_quote(&sb, col);
		strbuf_addstr(&sb, " IS NOT NULL ORDER BY 1");
		q->view_values[i] = strbuf_detach(&sb, NULL);

		strbuf_addstr(&sb, "SELECT ");
		sql_quote(&sb, key);
		strbuf_addf(&sb, " FROM %s WHERE CAST(", q->table_q);
		sql_quote(&sb, col);
		strbuf_addstr(&sb, " AS TEXT) = ?1 ORDER BY ");
		sql_quote(&sb, key);
		q->view_list[i] = strbuf_detach(&sb, NULL);
	}

	q->rel_list = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_link = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_unlink = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_release = xcalloc(c->nrelations + 1, sizeof(char *));
	q->rel_reverse = xcalloc(c->nrelations + 1, sizeof(char *));
	for (i = 0; i < c->nrelations; i++) {
		const struct map_relation *r = &c->relations[i];
		strbuf_addstr(&sb, "SELECT ");
		sql_quote(&sb, r->to);
		strbuf_addstr(&sb, " FROM ");
		sql_quote(&sb, r->table);
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, r->from);
		strbuf_addstr(&sb, " = ?1 ORDER BY ");
		if (r->order) {
			sql_quote(&sb, r->order);
			strbuf_addstr(&sb, ", ");
		}
		sql_quote(&sb, r->to);
		q->rel_list[i] = strbuf_detach(&sb, NULL);

		strbuf_addstr(&sb, "INSERT INTO ");
		sql_quote(&sb, r->table);
		strbuf_addstr(&sb, " (");
		sql_quote(&sb, r->from);
		strbuf_addstr(&sb, ", ");
		sql_quote(&sb, r->to);
		strbuf_addstr(&sb, ") VALUES (?1, ?2)");
		q->rel_link[i] = strbuf_detach(&sb, NULL);

		strbuf_addstr(&sb, "DELETE FROM ");
		sql_quote(&sb, r->table);
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, r->from);
		strbuf_addstr(&sb, " = ?1 AND ");
		sql_quote(&sb, r->to);
		strbuf_addstr(&sb, " = ?2");
		q->rel_unlink[i] = strbuf_detach(&sb, NULL);

		strbuf_addstr(&sb, "DELETE FROM ");
		sql_quote(&sb, r->table);
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, r->to);
		strbuf_addstr(&sb, " = ?2 AND ");
		sql_quote(&sb, r->from);
		strbuf_addstr(&sb, " <> ?1");
		q->rel_release[i] = strbuf_detach(&sb, NULL);

		strbuf_addstr(&sb, "SELECT ");
		sql_quote(&sb, r->from);
		strbuf_addstr(&sb, " FROM ");
		sql_quote(&sb, r->table);
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, r->to);
		strbuf_addstr(&sb, " = ?1 ORDER BY 1");
		q->rel_reverse[i] = strbuf_detach(&sb, NULL);
	}

	q->log_rows = xcalloc(c->nlogs + 1, sizeof(char *));
	q->log_search = xcalloc(c->nlogs + 1, sizeof(char *));
	for (i = 0; i < c->nlogs; i++) {
		const struct map_log *l = &c->logs[i];
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, l->owner);
		strbuf_addstr(&sb, " = ?1 ORDER BY ");
		sql_quote(&sb, l->id);
		q->log_rows[i] = sql_select(l->columns, l->ncolumns, l->table, sb.buf);
		strbuf_release(&sb);
		if (!l->fts)
			continue;
		/* The owner's key first, then the row: results come from many entities. */
		strbuf_addstr(&sb, "SELECT ");
		sql_quote(&sb, l->owner);
		strbuf_addstr(&sb, ", ");
		sql_cols(&sb, l->columns, l->ncolumns);
		strbuf_addstr(&sb, " FROM ");
		sql_quote(&sb, l->table);
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, l->id);
		strbuf_addstr(&sb, " IN (SELECT rowid FROM ");
		sql_quote(&sb, l->fts);
		strbuf_addstr(&sb, " WHERE ");
		sql_quote(&sb, l->fts);
		strbuf_addstr(&sb, " MATCH ?1) ORDER BY ");
		sql_quote(&sb, l->id);
		q->log_search[i] = strbuf_detach(&sb, NULL);
	}
}

void sql_build(store *st)
{
	const struct map_database *db = st->db;

	st->sql = xcalloc(db->ncollections + 1, sizeof(*st->sql));
	for (size_t i = 0; i < db->ncollections; i++)
		sql_build_collection(&db->collections[i], &st->sql[i]);
	if (db->audit)
		st->audit_insert = sql_fmt_q("INSERT INTO ", db->audit,
					     " (tool_name, pid, uid, operation, path, arguments, result, status,"
					     " duration_ms, task_id, collection, entity_key, before_json, after_json,"
					     " created_at, updated_at, process, user_approval) VALUES (?1, ?2, ?3, ?4,"
					     " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17)",
					     NULL, "");
	if (db->changes) {
		st->changes_max = sql_fmt_q("SELECT coalesce(max(seq), 0) FROM ", db->changes, "", NULL, "");
		st->changes_stamp = sql_fmt_q("UPDATE ", db->changes,
					      " SET tool = ?1, pid = ?2, audit_id = ?3 WHERE seq > ?4", NULL, "");
		st->changes_last = sql_fmt_q("SELECT tool, pid FROM ", db->changes,
					     " WHERE collection = ?1 AND entity_key = ?2 ORDER BY seq DESC LIMIT 1", NULL, "");
		st->changes_list = sql_fmt_q("SELECT seq, time, collection, entity_key, operation, tool, pid FROM ",
					     db->changes, " WHERE seq > ?1 ORDER BY seq", NULL, "");
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
