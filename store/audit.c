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

static int audit_bind_json(dbstmt *s, int i, const cJSON *v)
{
	char *text;
	int rc;

	if (!v)
		return db_bind_null(s, i);
	text = json_text(v);
	rc = db_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
	cJSON_free(text);
	return rc;
}

int audit_insert(struct conn *cn, const struct audit_row *row)
{
	const struct store_actor *who = row->who;
	store *st = cn->st;
	dbstmt *s;
	int64_t now = time_now_ms();
	/* an approved change is written as approved: no UPDATE of its row after
	 * (the audit log is appended to, never rewritten: stream.c follows it) */
	bool approved = cn->approving && row->status && strcmp(row->status, "success") == 0;
	const char *status = approved ? "approved" : row->status;
	int user_approval = approved ? 1 : row->user_approval;
	int rc;

	if (!st->audit_insert)
		return 0;
	if (!(s = conn_stmt(cn, st->audit_insert)))
		return conn_errcode(cn);
	db_bind_text(s, 1, who && who->tool ? who->tool : "orchfs", -1, SQLITE_STATIC);
	if (who) {
		db_bind_int64(s, 2, who->pid);
		db_bind_int64(s, 3, who->uid);
	}
	db_bind_text(s, 4, who && who->operation ? who->operation : "change", -1, SQLITE_STATIC);
	if (who && who->path)
		db_bind_text(s, 5, who->path, -1, SQLITE_STATIC);
	audit_bind_json(s, 6, row->arguments);
	if (row->result)
		db_bind_text(s, 7, row->result, -1, SQLITE_STATIC);
	db_bind_text(s, 8, status, -1, SQLITE_STATIC);
	if (row->duration_ms > 0)
		db_bind_double(s, 9, row->duration_ms);
	else if (row->start_ms)
		db_bind_double(s, 9, (double)(now - row->start_ms));
	if (row->task)
		db_bind_text(s, 10, row->task, -1, SQLITE_STATIC);
	if (row->c)
		db_bind_text(s, 11, row->c->dir, -1, SQLITE_STATIC);
	if (row->key)
		db_bind_text(s, 12, row->key, -1, SQLITE_STATIC);
	audit_bind_json(s, 13, row->before);
	audit_bind_json(s, 14, row->after);
	value_bind_now(MAP_TIME_ISO, now, s, 15); /* orchfs's own table */
	db_bind_text(s, 16, who && who->process ? who->process : who && who->tool ? who->tool : "orchfs", -1,
			  SQLITE_STATIC);
	if (user_approval >= 0 && status && (strcmp(status, "approved") == 0 || strcmp(status, "rejected") == 0))
		db_bind_int64(s, 17, user_approval);
	if ((rc = db_step(s)) == SQLITE_ROW) { /* RETURNING id */
		cn->last_audit = db_column_int64(s, 0);
		rc = SQLITE_DONE;
	}
	db_reset(s);
	if (rc != SQLITE_DONE)
		return rc;
	if (st->changes_stamp && row->changes_from >= 0 && status &&
	    (strcmp(status, "success") == 0 || strcmp(status, "approved") == 0 || strcmp(status, "pending") == 0)) {
		/* Sign the feed rows the triggers wrote for this change. */
		int64_t audit_id = cn->last_audit;
		if (!(s = conn_stmt(cn, st->changes_stamp)))
			return conn_errcode(cn);
		db_bind_text(s, 1, who && who->tool ? who->tool : "orchfs", -1, SQLITE_STATIC);
		if (who)
			db_bind_int64(s, 2, who->pid);
		db_bind_int64(s, 3, audit_id);
		db_bind_int64(s, 4, row->changes_from);
		rc = db_step(s);
		db_reset(s);
		if (rc != SQLITE_DONE)
			return rc;
	}
	return SQLITE_OK;
}

int store_changes_last(store *st, int64_t *seq)
{
	struct conn *cn;
	dbstmt *s;
	int rc;

	*seq = 0;
	if (!st->changes_max)
		return -ENOENT;
	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, st->changes_max)))
		return store_errno(conn_errcode(cn));
	if ((rc = db_step(s)) == SQLITE_ROW)
		*seq = db_column_int64(s, 0);
	db_reset(s);
	return rc == SQLITE_ROW ? 0 : store_errno(rc);
}

int store_rewrites(store *st, const struct map_collection *c, int64_t *n)
{
	const char *table = c ? st->db->audit : st->db->changes;
	struct conn *cn;
	dbstmt *s;
	int rc;

	if (!st->rewrites || !table || (c && (!store_is_audit(st, c) || !c->integer_key)))
		return -ENOENT;
	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, st->rewrites)))
		return -ENOENT; /* a schema before 0008 (a mount that does not migrate) */
	db_bind_text(s, 1, table, -1, SQLITE_STATIC);
	rc = db_step(s);
	if (rc == SQLITE_ROW)
		*n = db_column_int64(s, 0);
	db_reset(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : store_errno(rc);
}

int store_feeds(store *st, const struct map_collection *c)
{
	/* the three triggers on the table that write the feed row naming c
	 * (0002_changes), and where the UPDATE one waits for the revision to
	 * move, the trigger that moves it on every other update */
	static const char sql[] =
		"WITH f AS (SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1"
		"   AND instr(sql, 'INSERT INTO _orchfs_changes') > 0 AND instr(sql, 'VALUES (''' || ?2 || ''', ') > 0)"
		" SELECT (SELECT count(DISTINCT CASE WHEN sql LIKE '%AFTER INSERT ON%' THEN 1"
		"   WHEN sql LIKE '%AFTER UPDATE ON%' THEN 2 WHEN sql LIKE '%AFTER DELETE ON%' THEN 3 END) FROM f) = 3"
		" AND (NOT EXISTS (SELECT 1 FROM f WHERE sql LIKE '%AFTER UPDATE ON%WHEN new.revision <> old.revision%')"
		"   OR EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1"
		"     AND sql LIKE '%AFTER UPDATE ON%WHEN new.revision = old.revision%SET revision = old.revision + 1%'))";
	struct coll_sql *q = &st->sql[c->index];
	int64_t cookie = -1, fed;
	struct conn *cn;
	dbstmt *s;
	int rc;

	if (!st->rewrites || !st->db->changes || c->sidecar)
		return -ENOENT;
	if ((rc = conn_get(st, &cn)))
		return rc;
	/* asked again whenever the schema changed (a trigger dropped or added) */
	if (!(s = conn_stmt(cn, "PRAGMA schema_version")))
		return store_errno(conn_errcode(cn));
	if ((rc = db_step(s)) == SQLITE_ROW)
		cookie = db_column_int64(s, 0);
	db_reset(s);
	if (rc != SQLITE_ROW)
		return store_errno(rc);
	fed = __atomic_load_n(&q->fed, __ATOMIC_RELAXED);
	if (fed && fed / 4 == cookie)
		return fed % 4 == 1 ? 0 : -ENOENT;
	if (!(s = conn_stmt(cn, sql)))
		return store_errno(conn_errcode(cn));
	db_bind_text(s, 1, c->table, -1, SQLITE_STATIC);
	db_bind_text(s, 2, c->dir, -1, SQLITE_STATIC);
	if ((rc = db_step(s)) == SQLITE_ROW)
		fed = cookie * 4 + (db_column_int64(s, 0) == 1 ? 1 : 2);
	db_reset(s);
	if (rc != SQLITE_ROW)
		return store_errno(rc);
	__atomic_store_n(&q->fed, fed, __ATOMIC_RELAXED); /* the same answer whichever thread writes it */
	return fed % 4 == 1 ? 0 : -ENOENT;
}

int store_changes(store *st, int64_t since, store_row_fn fn, void *arg)
{
	static const char *const names[] = { "seq", "time", "collection", "key", "operation", "tool", "pid" };
	struct conn *cn;
	dbstmt *s;
	int rc;

	if (!st->changes_list)
		return -ENOENT;
	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, st->changes_list)))
		return store_errno(conn_errcode(cn));
	db_stream(s);
	db_bind_int64(s, 1, since);
	while ((rc = db_step(s)) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject();
		for (int i = 0; i < 7; i++) {
			if (db_column_type(s, i) == SQLITE_NULL)
				cJSON_AddNullToObject(row, names[i]);
			else if (i == 0 || i == 6)
				cJSON_AddNumberToObject(row, names[i], (double)db_column_int64(s, i));
			else
				cJSON_AddStringToObject(row, names[i], (const char *)db_column_text(s, i));
		}
		rc = fn(arg, row);
		cJSON_Delete(row);
		if (rc) {
			db_reset(s);
			return rc;
		}
	}
	db_reset(s);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* A refusal that could not be written yet: owned copies of the row's text. */
struct audit_pending {
	char *tool, *operation, *path, *status, *result, *key, *task, *arguments;
	pid_t pid;
	uid_t uid;
	const struct map_collection *c;
	struct audit_pending *next;
};

static void audit_pending_free(struct audit_pending *p)
{
	free(p->tool);
	free(p->operation);
	free(p->path);
	free(p->status);
	free(p->result);
	free(p->key);
	free(p->task);
	free(p->arguments);
	free(p);
}

static char *audit_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Write one refusal in its own transaction; a SQLite result code. */
static int audit_write(store *st, const struct audit_row *row)
{
	struct conn *cn;
	int rc;

	if (conn_get(st, &cn))
		return SQLITE_CANTOPEN;
	if ((rc = conn_begin(cn, true)) != SQLITE_OK)
		return rc;
	if ((rc = audit_insert(cn, row)) != SQLITE_OK || (rc = conn_commit(cn)) != SQLITE_OK) {
		conn_rollback(cn);
		return rc;
	}
	return SQLITE_OK;
}

/* Write a queued refusal: SQLite result code. */
static int audit_write_pending(store *st, struct audit_pending *p)
{
	struct store_actor who = { p->tool, p->pid, p->uid, p->operation, p->path };
	cJSON *args = p->arguments ? cJSON_Parse(p->arguments) : NULL;
	struct audit_row row = { .who = &who, .c = p->c, .key = p->key, .status = p->status,
				 .result = p->result, .arguments = args, .task = p->task, .changes_from = -1 };
	int rc = audit_write(st, &row);

	cJSON_Delete(args);
	return rc;
}

static void *audit_thread(void *arg)
{
	store *st = arg;

	for (;;) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		struct audit_pending *p;
		int rc;

		pthread_mutex_lock(&st->lock);
		p = st->pending;
		if (!p || st->auditor_stop) {
			st->auditor_running = false;
			pthread_mutex_unlock(&st->lock);
			return NULL;
		}
		st->pending = p->next;
		pthread_mutex_unlock(&st->lock);
		rc = audit_write_pending(st, p);
		if (rc == SQLITE_OK || ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)) {
			audit_pending_free(p);
			continue;
		}
		pthread_mutex_lock(&st->lock); /* still busy: put it back first in line */
		p->next = st->pending;
		st->pending = p;
		pthread_mutex_unlock(&st->lock);
		nanosleep(&ts, NULL);
	}
}

void audit_refusal(store *st, const struct audit_row *row, bool busy)
{
	struct audit_pending *p, **pp;
	char *args;
	int rc;

	if (!st->audit_insert || (st->flags & STORE_READONLY))
		return;
	/* refused because the database is busy: waiting for the lock again
	 * would double the writer's wait (10 s for the busy timeout's 5) */
	rc = busy ? SQLITE_BUSY : audit_write(st, row);
	if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
		return;
	p = xcalloc(1, sizeof(*p));
	p->tool = audit_dup(row->who && row->who->tool ? row->who->tool : "orchfs");
	p->operation = audit_dup(row->who && row->who->operation ? row->who->operation : "change");
	p->path = audit_dup(row->who ? row->who->path : NULL);
	p->pid = row->who ? row->who->pid : 0;
	p->uid = row->who ? row->who->uid : 0;
	p->status = audit_dup(row->status);
	p->result = audit_dup(row->result);
	p->key = audit_dup(row->key);
	p->task = audit_dup(row->task);
	p->c = row->c;
	if (row->arguments && (args = json_text(row->arguments))) {
		p->arguments = xstrdup(args);
		cJSON_free(args);
	}
	pthread_mutex_lock(&st->lock);
	for (pp = &st->pending; *pp; pp = &(*pp)->next)
		;
	*pp = p;
	if (!st->auditor_running && !st->auditor_stop) {
		if (st->auditor_running)
			;
		else if (pthread_create(&st->auditor, NULL, audit_thread, st) == 0)
			st->auditor_running = true;
	}
	pthread_mutex_unlock(&st->lock);
}

void audit_drain(store *st)
{
	struct audit_pending *p;
	bool running;

	pthread_mutex_lock(&st->lock);
	st->auditor_stop = true;
	running = st->auditor_running || st->pending;
	pthread_mutex_unlock(&st->lock);
	if (running)
		pthread_join(st->auditor, NULL);
	/* Last chance for what is still queued: one try each, with the busy timeout. */
	while ((p = st->pending)) {
		st->pending = p->next;
		audit_write_pending(st, p);
		audit_pending_free(p);
	}
}

bool store_is_audit(const store *st, const struct map_collection *c)
{
	return c && st->db->audit && strcmp(c->table, st->db->audit) == 0 && c->sidecar == st->db->sidecar;
}

int store_audit_status(const char *status, char **cause)
{
	static const char *const statuses[] = { "success", "failure", "denied", "approved", "rejected", "pending",
						NULL };
	const char *const *sp;

	for (sp = statuses; *sp && strcmp(*sp, status ? status : "") != 0; sp++)
		;
	if (!*sp)
		return store_cause(cause, -EINVAL, "status: must be one of success, failure, denied, approved, "
				   "rejected, pending (got \"%.40s\")", status ? status : "");
	return 0;
}

int store_audit_append(store *st, const struct store_actor *who, const char *status, const char *result,
		       const cJSON *args, const char *task, double duration_ms, char **cause)
{
	struct audit_row row = { .who = who, .status = status, .result = result, .arguments = args, .task = task,
				 .changes_from = -1, .user_approval = -1 };
	struct conn *cn;
	int rc;

	if ((rc = store_audit_status(status, cause)))
		return rc;
	if (!st->audit_insert)
		return store_cause(cause, -ENOENT, "this database keeps no audit log");
	if (st->flags & STORE_READONLY)
		return store_cause(cause, -EROFS, "the store is read-only");
	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	row.duration_ms = duration_ms;
	if ((rc = conn_begin(cn, true)) != SQLITE_OK)
		return store_sqlerr(cn, rc, cause);
	if ((rc = audit_insert(cn, &row)) != SQLITE_OK || (rc = conn_commit(cn)) != SQLITE_OK) {
		rc = store_sqlerr(cn, rc, cause);
		conn_rollback(cn);
		return rc;
	}
	return 0;
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
		.task = entity_task(c, key, NULL),
	};

	audit_refusal(st, &row, err == -EAGAIN);
}
