/*
 * prune.c - retention (`orchfs logs prune --older-than 30d`): delete the
 * rows of logs older than a cut-off, as TAC's retention does for its agent
 * and system logs. Which logs, and by which time column, is the mapping's
 * "retention" attribute (on a log, or on a collection that is a log kept as
 * entities). Each log is pruned in one transaction with its audit row, which
 * records how many rows went and the cut-off, not the rows themselves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

/* The rows of table_q older than before_ms by col: counted (dry run) or deleted, on cn. */
static int prune_rows(struct conn *cn, const char *table_q, const struct map_column *col, int64_t before_ms,
		      bool dry_run, int64_t *n)
{
	struct strbuf sql = STRBUF_INIT;
	dbstmt *s = NULL;
	int rc;

	strbuf_addf(&sql, "%s FROM %s WHERE ", dry_run ? "SELECT count(*)" : "DELETE", table_q);
	if (col->time == MAP_TIME_EPOCH || col->time == MAP_TIME_EPOCH_MS) {
		sql_quote(&sql, col->column);
		strbuf_addstr(&sql, " < ?1");
	} else if (cn->pg) { /* timestamptz */
		sql_quote(&sql, col->column);
		strbuf_addstr(&sql, " < CAST(?1 AS timestamptz)");
	} else { /* as times, not text: other writers use other forms (datetime('now')) */
		strbuf_addstr(&sql, "julianday(");
		sql_quote(&sql, col->column);
		strbuf_addstr(&sql, ") < julianday(?1)");
	}
	if ((rc = db_prepare(cn, sql.buf, &s)) == SQLITE_OK) {
		value_bind_now(col->time, before_ms, s, 1);
		rc = db_step(s);
		*n = rc == SQLITE_ROW ? db_column_int64(s, 0) : conn_changes(cn);
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	db_finalize(s);
	strbuf_release(&sql);
	return rc;
}

static int prune_one(store *st, const struct map_collection *c, const char *name, const char *table_q,
		     const struct map_column *col, int64_t before_ms, bool dry_run, const struct store_actor *who,
		     store_prune_fn fn, void *arg, char **cause)
{
	struct change ch;
	struct conn *cn;
	char when[40];
	int64_t n = 0;
	int rc;

	if (dry_run) { /* a count: a read, no transaction to audit */
		if ((rc = conn_get(st, &cn)))
			return store_cause(cause, rc, "cannot open the database: %s", strerror(-rc));
		if ((rc = prune_rows(cn, table_q, col, before_ms, true, &n)) != SQLITE_OK)
			return store_sqlerr(cn, rc, cause);
		return fn ? fn(arg, name, n) : 0;
	}
	if ((rc = change_begin(&ch, st, NULL, NULL, who, cause)))
		return change_end(&ch, rc, cause);
	ch.row.c = c;
	time_format_iso(before_ms, when, sizeof(when));
	ch.args = cJSON_CreateObject();
	cJSON_AddStringToObject(ch.args, "log", name);
	cJSON_AddStringToObject(ch.args, "older_than", when);
	if ((rc = prune_rows(ch.cn, table_q, col, before_ms, false, &n)) != SQLITE_OK)
		return change_end(&ch, store_sqlerr(ch.cn, rc, cause), cause);
	cJSON_AddNumberToObject(ch.args, "rows", (double)n);
	if ((rc = change_end(&ch, 0, cause)))
		return rc;
	return fn ? fn(arg, name, n) : 0;
}

int store_prune(store *st, int64_t before_ms, bool dry_run, const struct store_actor *who, store_prune_fn fn,
		void *arg, char **cause)
{
	const struct map_database *db = st->db;
	int rc = 0;

	for (size_t i = 0; !rc && i < db->ncollections; i++) {
		const struct map_collection *c = &db->collections[i];
		if (c->retention)
			rc = prune_one(st, c, c->dir, st->sql[i].table_q, c->retention, before_ms, dry_run, who, fn, arg,
				       cause);
		for (size_t j = 0; !rc && j < c->nlogs; j++) {
			const struct map_log *l = &c->logs[j];
			struct strbuf name = STRBUF_INIT, q = STRBUF_INIT;
			if (!l->retention)
				continue;
			strbuf_addf(&name, "%s/ID/%s", c->dir, l->file);
			sql_quote(&q, l->table);
			rc = prune_one(st, c, name.buf, q.buf, l->retention, before_ms, dry_run, who, fn, arg, cause);
			strbuf_release(&name);
			strbuf_release(&q);
		}
	}
	return rc;
}
