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
#include <string.h>

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
	if (rc != SQLITE_DONE)
		return rc;
	if (st->changes_stamp && row->changes_from >= 0 && row->status && strcmp(row->status, "success") == 0) {
		/* Sign the feed rows the triggers wrote for this change. */
		sqlite3_int64 audit_id = sqlite3_last_insert_rowid(cn->db);
		if (!(s = conn_stmt(cn, st->changes_stamp)))
			return sqlite3_errcode(cn->db);
		sqlite3_bind_text(s, 1, who && who->tool ? who->tool : "orchfs", -1, SQLITE_STATIC);
		if (who)
			sqlite3_bind_int64(s, 2, who->pid);
		sqlite3_bind_int64(s, 3, audit_id);
		sqlite3_bind_int64(s, 4, row->changes_from);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return rc;
	}
	return SQLITE_OK;
}

int store_changes(store *st, int64_t since, store_row_fn fn, void *arg)
{
	static const char *const names[] = { "seq", "time", "collection", "key", "operation", "tool", "pid" };
	struct conn *cn;
	sqlite3_stmt *s;
	int rc;

	if (!st->changes_list)
		return -ENOENT;
	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, st->changes_list)))
		return store_errno(sqlite3_errcode(cn->db));
	sqlite3_bind_int64(s, 1, since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject();
		for (int i = 0; i < 7; i++) {
			if (sqlite3_column_type(s, i) == SQLITE_NULL)
				cJSON_AddNullToObject(row, names[i]);
			else if (i == 0 || i == 6)
				cJSON_AddNumberToObject(row, names[i], (double)sqlite3_column_int64(s, i));
			else
				cJSON_AddStringToObject(row, names[i], (const char *)sqlite3_column_text(s, i));
		}
		rc = fn(arg, row);
		cJSON_Delete(row);
		if (rc) {
			sqlite3_reset(s);
			return rc;
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
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
