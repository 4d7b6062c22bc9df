/*
 * audit.c - the audit row: one per change, in the change's transaction,
 * and one per refused attempt, in a transaction of its own.
 *
 * Documents in audit rows are the masked ones (no secret ever reaches the
 * log), so before_json of a change is exactly what a reader saw and is
 * enough to restore the entity (`orchfs undo`, issue 6).
 */
#include <errno.h>
#include <stdlib.h>

#include "store/internal.h"

static int audit_bind_json(sqlite3_stmt *s, int i, const cJSON *v)
{
	char *text;
	int rc;

	if (!v)
		return sqlite3_bind_null(s, i);
	text = cJSON_PrintUnformatted(v);
	rc = sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
	cJSON_free(text);
	return rc;
}

int audit_insert(struct conn *cn, const struct audit_row *row)
{
	const struct store_actor *who = row->who;
	store *st = cn->st;
	sqlite3_stmt *s;
	int64_t now = time_now_ms();
	int rc;

	if (!st->audit_insert)
		return 0;
	if (!(s = conn_stmt(cn, st->audit_insert)))
		return sqlite3_errcode(cn->db);
	sqlite3_bind_text(s, 1, who && who->tool ? who->tool : "orchfs", -1, SQLITE_STATIC);
	if (who) {
		sqlite3_bind_int64(s, 2, who->pid);
		sqlite3_bind_int64(s, 3, who->uid);
	}
	sqlite3_bind_text(s, 4, who && who->operation ? who->operation : "change", -1, SQLITE_STATIC);
	if (who && who->path)
		sqlite3_bind_text(s, 5, who->path, -1, SQLITE_STATIC);
	audit_bind_json(s, 6, row->arguments);
	if (row->result)
		sqlite3_bind_text(s, 7, row->result, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, row->status, -1, SQLITE_STATIC);
	if (row->start_ms)
		sqlite3_bind_double(s, 9, (double)(now - row->start_ms));
	if (row->task)
		sqlite3_bind_text(s, 10, row->task, -1, SQLITE_STATIC);
	if (row->c)
		sqlite3_bind_text(s, 11, row->c->dir, -1, SQLITE_STATIC);
	if (row->key)
		sqlite3_bind_text(s, 12, row->key, -1, SQLITE_STATIC);
	audit_bind_json(s, 13, row->before);
	audit_bind_json(s, 14, row->after);
	value_bind_now(st->db->time, now, s, 15);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void audit_refusal(store *st, const struct audit_row *row)
{
	struct conn *cn;

	if (!st->audit_insert || (st->flags & STORE_READONLY) || conn_get(st, &cn))
		return;
	if (conn_begin(cn, true) != SQLITE_OK)
		return;
	if (audit_insert(cn, row) != SQLITE_OK || conn_commit(cn) != SQLITE_OK)
		conn_rollback(cn);
}

void store_refused(store *st, const struct map_collection *c, const char *key, const struct store_actor *who,
		   int err, const char *reason)
{
	struct audit_row row = {
		.who = who,
		.c = c,
		.key = key,
		.status = err == -EACCES || err == EACCES ? "denied" : "failure",
		.result = reason,
	};

	audit_refusal(st, &row);
}
