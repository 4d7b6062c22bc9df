/*
 * approval.c - changes parked by a requires_approval rule, and decisions.
 *
 * store_park() records the change a tool asked for (the operation, the
 * entity, its payload, and the entity's document before and after as it
 * would become), unapplied, with an audit row of status "pending". A person
 * decides with `orchfs approve|reject ID` or by writing {"status": ...} to
 * approvals/ID.json: store_decide() then, in one transaction, applies the
 * change as the tool that asked for it (through the same validated store
 * call, audited as "approved") or drops it (audited as "rejected"), and
 * closes the approval. A change that no longer applies (the entity changed
 * meanwhile) is refused and the approval stays pending; a write applies only
 * the fields it changes (approval_patch), so approving changes in any order
 * undoes none of them. A refused decision is audited, by the decider.
 *
 * Who may decide. A tool cannot decide on its own change, nor can a process
 * of its own: an agent that asks through one tool must not approve through
 * another. Its live ancestry is not enough to tell: a process the tool
 * leaves behind (`(sleep 1; echo ... > approvals/ID.json) &`, then exit) is
 * handed to init when its parent exits, and its ancestors no longer name the
 * tool. So store_park records the asking process's session (sid), process
 * group (pgid) and start time (pid_start: with its pid, that process and no
 * later one given the same number), and a decider is refused when it, or a
 * live ancestor of it (approval_kin):
 *   - is the asking process;
 *   - is in the asking process's group, when that group is a job of its own
 *     (pgid != sid: what a shell with job control makes of a command line,
 *     an agent and every tool it runs included); or
 *   - is in the asking process's session, not its leader, started after the
 *     asking process, and has a parent outside that session: its own parent
 *     exited and it was left behind, as the asking process's might be.
 * A person deciding from a shell - another terminal's, or the one the
 * agent ran in, the agent done - is none of these: a terminal's shell leads
 * its session, and runs each command line as a job of its own. What these
 * cannot tell from a person is a process that makes a session of its own
 * (setsid) and leaves it, or a tool an agent runs in a group or session of
 * its own: only another uid makes a decision surely a person's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

static void approval_bind_json(dbstmt *s, int i, const cJSON *v)
{
	char *text;

	if (!v) {
		db_bind_null(s, i);
		return;
	}
	text = json_text(v);
	db_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
	cJSON_free(text);
}

/* The process that asked for a change, as store_park records it (0: unknown). */
struct approval_asker {
	pid_t pid, sid, pgid;
	int64_t start;
};

static void approval_bind_id(dbstmt *s, int i, int64_t v)
{
	if (v > 0)
		db_bind_int64(s, i, v);
	else
		db_bind_null(s, i);
}

enum approval_kin { KIN_NONE, KIN_ASKER, KIN_JOB, KIN_LEFT };

/*
 * Is pid one of the asking process's own (the rationale above)? Walks up
 * from pid through its live ancestors; *by is the process that says so.
 * A row parked before its asker was recorded (no start, no session) is
 * held to the asking pid among the ancestors, as it was then.
 */
static enum approval_kin approval_kin(pid_t pid, const struct approval_asker *a, pid_t *by)
{
	struct proc_info pi, up;

	for (int depth = 0; pid > 0 && depth < 128; depth++) {
		if (proc_info_read(pid, &pi))
			break;
		*by = pid;
		if (pid == a->pid && (!a->start || pi.start == a->start))
			return KIN_ASKER;
		if (a->sid > 0 && pi.sid == a->sid) {
			if (a->pgid > 0 && a->pgid != a->sid && pi.pgid == a->pgid)
				return KIN_JOB;
			if (a->start && pid != a->sid && pi.start >= a->start &&
			    (pi.ppid <= 0 || proc_info_read(pi.ppid, &up) || up.sid != a->sid))
				return KIN_LEFT;
		}
		pid = pi.ppid;
	}
	return KIN_NONE;
}

bool store_is_approvals(const store *st, const struct map_collection *c)
{
	return c && st->db->approvals && strcmp(c->dir, st->db->approvals) == 0;
}

int store_park(store *st, const struct map_collection *c, const char *key, const cJSON *payload,
	       const struct store_actor *who, int64_t *id, char **cause)
{
	const struct map_collection *ac = st->db->approvals ? map_collection(st->db, st->db->approvals) : NULL;
	struct audit_row row = { .who = who, .c = c, .key = key, .status = "pending", .changes_from = -1,
				 .user_approval = -1 };
	struct proc_info asker = { 0 };
	cJSON *before = NULL, *after = NULL;
	struct conn *cn;
	dbstmt *s;
	char *result = NULL;
	int rc;

	*id = 0;
	if (!ac)
		return store_cause(cause, -EACCES, "permission denied: this database keeps no approvals");
	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	if ((rc = conn_begin(cn, true)) != SQLITE_OK)
		return store_sqlerr(cn, rc, cause);
	row.start_ms = time_now_ms();
	if (st->changes_max && (s = conn_stmt(cn, st->changes_max))) { /* the parked row's feed row is signed too */
		if (db_step(s) == SQLITE_ROW)
			row.changes_from = db_column_int64(s, 0);
		db_reset(s);
	}
	if (key && entity_load(cn, c, key, false, &before) == 0 && who->operation &&
	    strcmp(who->operation, "write") == 0 && cJSON_IsObject(payload)) {
		/* what the entity would become, checked now: an invalid change is refused, not parked */
		if ((rc = entity_preview(cn, c, key, payload, &after, cause)))
			goto fail;
	}
	if (!(s = conn_stmt(cn, cn->st->approval_insert))) {
		rc = store_sqlerr(cn, conn_errcode(cn), cause);
		goto fail;
	}
	db_bind_text(s, 1, who->tool, -1, SQLITE_STATIC);
	db_bind_int64(s, 2, who->pid);
	db_bind_int64(s, 3, who->uid);
	db_bind_text(s, 4, who->operation ? who->operation : "write", -1, SQLITE_STATIC);
	db_bind_text(s, 5, who->path ? who->path : "", -1, SQLITE_STATIC);
	db_bind_text(s, 6, c->dir, -1, SQLITE_STATIC);
	if (key)
		db_bind_text(s, 7, key, -1, SQLITE_STATIC);
	approval_bind_json(s, 8, payload);
	approval_bind_json(s, 9, before);
	approval_bind_json(s, 10, after);
	if (who->pid <= 0 || proc_info_read(who->pid, &asker)) /* it waits in close(): it is there */
		memset(&asker, 0, sizeof(asker));
	approval_bind_id(s, 11, asker.sid);
	approval_bind_id(s, 12, asker.pgid);
	approval_bind_id(s, 13, asker.start);
	if ((rc = db_step(s)) == SQLITE_ROW) { /* RETURNING id */
		*id = db_column_int64(s, 0);
		rc = SQLITE_DONE;
	}
	db_reset(s);
	if (rc != SQLITE_DONE) {
		rc = store_sqlerr(cn, rc, cause);
		goto fail;
	}
	result = xasprintf("parked for approval as %s/%lld", ac->dir, (long long)*id);
	row.result = result;
	row.arguments = payload;
	row.before = before;
	row.task = entity_task(c, key, before);
	if ((rc = audit_insert(cn, &row)) != SQLITE_OK || (rc = conn_commit(cn)) != SQLITE_OK) {
		rc = store_sqlerr(cn, rc, cause);
		goto fail;
	}
	store_cause(cause, -EACCES, "waiting for approval: %s (orchfs approve %lld, or reject)", result,
		    (long long)*id);
	rc = 0;
	goto out;
fail:
	conn_rollback(cn);
out:
	cJSON_Delete(before);
	cJSON_Delete(after);
	free(result);
	return rc;
}

static char *approval_text(dbstmt *s, int i)
{
	const unsigned char *t = db_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

/*
 * A parked write is applied when a person approves it, maybe hours after it
 * was parked, and others may have changed the entity since. What it sent is
 * often the whole file as the tool read it (an editor's save, jq > tmp && mv),
 * with its revision or without: applied as sent, it would put back every field
 * changed since (without a revision), or be refused as a stale edit though it
 * touches none of them (with one). The change the person approves is the one
 * approvals/ID.json shows: what differs between before (the entity when it
 * was parked) and after. So *patch holds only the fields the write changes,
 * as it sent them, and applies as a merge patch on the entity as it is now.
 * A field it changes that was changed since, to another value, would undo
 * that change: -ESTALE, naming the field (as an editor's save that would
 * undo a change is refused, entity.c), nothing applied, the approval left
 * pending to be rejected. *patch is NULL when the row cannot tell (no
 * before or after, or the entity is gone): the payload is applied as sent.
 */
static int approval_patch(struct conn *cn, const struct map_collection *c, const char *key, int64_t id,
			  const cJSON *payload, const cJSON *before, const cJSON *after, cJSON **patch, char **cause)
{
	const cJSON *f, *rev, *now_rev;
	cJSON *cur = NULL;
	char who[96], since[160] = "";
	int rc;

	*patch = NULL;
	if (!key || !cJSON_IsObject(payload) || !cJSON_IsObject(before) || !cJSON_IsObject(after))
		return 0;
	if ((rc = entity_load_locked(cn, c, key, false, &cur, cause))) /* masked, as before and after were */
		return rc == -ENOENT ? 0 : rc;
	*patch = cJSON_CreateObject();
	cJSON_ArrayForEach(f, payload) {
		const struct map_column *col = map_column(c, f->string);
		const cJSON *was, *will, *now;
		if (col && col->readonly)
			continue; /* revision and times, sent back as they were: checked when parked */
		if (!col) { /* refused when parked; left for the write to refuse */
			cJSON_AddItemToObject(*patch, f->string, cJSON_Duplicate(f, true));
			continue;
		}
		was = cJSON_GetObjectItemCaseSensitive(before, col->name);
		will = cJSON_GetObjectItemCaseSensitive(after, col->name);
		now = cJSON_GetObjectItemCaseSensitive(cur, col->name);
		/* a secret sent back masked is kept; a new one masks like the old one may */
		if (col->secret ? json_same(f, was) : json_same(was, will))
			continue; /* sent as it was: not part of the change */
		if (!json_same(now, was) && !json_same(now, will)) {
			rev = c->revision ? cJSON_GetObjectItemCaseSensitive(before, c->revision->name) : NULL;
			now_rev = c->revision ? cJSON_GetObjectItemCaseSensitive(cur, c->revision->name) : NULL;
			entity_last_writer(cn, c, key, who, sizeof(who));
			if (cJSON_IsNumber(rev) && cJSON_IsNumber(now_rev))
				snprintf(since, sizeof(since), " (revision %.0f, now revision %.0f%s)", rev->valuedouble,
					 now_rev->valuedouble, who);
			else if (*who)
				snprintf(since, sizeof(since), " (changed%s)", who);
			rc = store_cause(cause, -ESTALE,
					 "stale approval: %s/%s changed since approvals/%lld was parked%s, and approving it"
					 " would undo the change to %s; reject it and ask again",
					 c->dir, key, (long long)id, since, col->name);
			break;
		}
		cJSON_AddItemToObject(*patch, f->string, cJSON_Duplicate(f, true));
	}
	cJSON_Delete(cur);
	if (rc) {
		cJSON_Delete(*patch);
		*patch = NULL;
	}
	return rc;
}

/* Apply a parked change as the tool that asked for it (inside our transaction). */
static int approval_apply(store *st, const struct map_collection *c, const char *key, const cJSON *payload,
			  const struct store_actor *who, char **cause)
{
	const char *op = who->operation;
	const cJSON *v;

	if (strcmp(op, "write") == 0) {
		int rc = store_patch(st, c, key, payload, who, cause);
		return rc == STORE_UNCHANGED ? 0 : rc;
	}
	if (strcmp(op, "create") == 0)
		return store_create(st, c, key, payload, who, NULL, cause);
	if (strcmp(op, "delete") == 0)
		return store_delete(st, c, key, who, cause);
	if (strcmp(op, "link") == 0 || strcmp(op, "unlink") == 0) {
		const cJSON *rel = cJSON_GetObjectItemCaseSensitive(payload, "relation");
		const cJSON *target = cJSON_GetObjectItemCaseSensitive(payload, "target");
		const cJSON *move = cJSON_GetObjectItemCaseSensitive(payload, "move");
		for (size_t i = 0; cJSON_IsString(rel) && cJSON_IsString(target) && i < c->nrelations; i++)
			if (strcmp(c->relations[i].dir, rel->valuestring) == 0)
				return strcmp(op, "link") == 0
					       ? store_link(st, c, &c->relations[i], key, target->valuestring,
							    cJSON_IsTrue(move), who, cause)
					       : store_unlink(st, c, &c->relations[i], key, target->valuestring, who,
							      cause);
	}
	if (strcmp(op, "append") == 0 && (v = cJSON_GetObjectItemCaseSensitive(payload, "log")) && cJSON_IsString(v))
		for (size_t i = 0; i < c->nlogs; i++)
			if (strcmp(c->logs[i].file, v->valuestring) == 0)
				return store_log_append(st, c, &c->logs[i], key,
							cJSON_GetObjectItemCaseSensitive(payload, "rows"), who, cause);
	return store_cause(cause, -EINVAL, "cannot apply a parked \"%s\"", op);
}

/* Decide approval id in one transaction (store_decide, which audits a refusal). */
static int approval_decide(store *st, int64_t id, bool approve, const struct store_actor *decider,
			   const char *reason, char **cause)
{
	char *tool = NULL, *op = NULL, *path = NULL, *coll = NULL, *key = NULL, *status = NULL, *result = NULL;
	const struct map_collection *c;
	struct store_actor who = { 0 };
	struct approval_asker asker;
	cJSON *payload = NULL, *before = NULL, *after = NULL, *patch = NULL;
	struct conn *cn;
	dbstmt *s;
	char when[40], comm[64];
	pid_t by = 0;
	int rc;

	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	if ((rc = conn_begin(cn, true)) != SQLITE_OK)
		return store_sqlerr(cn, rc, cause);
	if (!(s = conn_stmt(cn, cn->st->approval_get))) {
		rc = store_sqlerr(cn, conn_errcode(cn), cause);
		goto fail;
	}
	db_bind_int64(s, 1, id);
	if ((rc = db_step(s)) != SQLITE_ROW) {
		db_reset(s);
		rc = rc == SQLITE_DONE ? store_cause(cause, -ENOENT, "approvals/%lld: no such approval", (long long)id)
				       : store_sqlerr(cn, rc, cause);
		goto fail;
	}
	tool = approval_text(s, 0);
	who.pid = (pid_t)db_column_int64(s, 1);
	who.uid = (uid_t)db_column_int64(s, 2);
	op = approval_text(s, 3);
	path = approval_text(s, 4);
	coll = approval_text(s, 5);
	key = approval_text(s, 6);
	payload = db_column_text(s, 7) ? cJSON_Parse((const char *)db_column_text(s, 7)) : NULL;
	status = approval_text(s, 8);
	before = db_column_text(s, 9) ? cJSON_Parse((const char *)db_column_text(s, 9)) : NULL;
	after = db_column_text(s, 10) ? cJSON_Parse((const char *)db_column_text(s, 10)) : NULL;
	asker.pid = who.pid;
	asker.sid = (pid_t)db_column_int64(s, 11); /* NULL: 0 */
	asker.pgid = (pid_t)db_column_int64(s, 12);
	asker.start = db_column_int64(s, 13);
	db_reset(s);
	if (strcmp(tool, decider->tool) == 0) {
		rc = store_cause(cause, -EACCES, "approvals/%lld: %s cannot decide on its own change", (long long)id,
				 decider->tool);
		goto fail;
	}
	switch (decider->pid > 0 && who.pid > 0 ? approval_kin(decider->pid, &asker, &by) : KIN_NONE) {
	case KIN_NONE:
		break;
	case KIN_ASKER:
		rc = store_cause(cause, -EACCES,
				 "approvals/%lld: %s was started by %s[%d], whose change it is: a tool cannot decide "
				 "on its own change",
				 (long long)id, decider->tool, tool, (int)who.pid);
		goto fail;
	case KIN_JOB:
		rc = store_cause(cause, -EACCES,
				 "approvals/%lld: %s runs in the job (process group %d) of %s[%d], whose change it is: a "
				 "tool cannot decide on its own change; decide from a shell of your own",
				 (long long)id, decider->tool, (int)asker.pgid, tool, (int)who.pid);
		goto fail;
	case KIN_LEFT:
		proc_comm(by, comm, sizeof(comm));
		rc = store_cause(cause, -EACCES,
				 "approvals/%lld: %s%s%s[%d]%s was left behind in the session of %s[%d], whose change "
				 "it is, when its parent exited: a tool cannot decide on its own change; decide from a "
				 "shell of your own",
				 (long long)id, by == decider->pid ? "" : decider->tool,
				 by == decider->pid ? "" : " was started by ", comm, (int)by,
				 by == decider->pid ? "" : ", which", tool, (int)who.pid);
		goto fail;
	}
	if (strcmp(status, "pending") != 0) {
		rc = store_cause(cause, -EINVAL, "approvals/%lld was %s already", (long long)id, status);
		goto fail;
	}
	if (!(c = map_collection(st->db, coll))) {
		rc = store_cause(cause, -EINVAL, "approvals/%lld: no collection %s", (long long)id, coll);
		goto fail;
	}
	who.tool = tool;
	who.operation = op;
	who.path = path;
	who.process = decider->tool;
	if (approve) {
		if (strcmp(op, "write") == 0 &&
		    (rc = approval_patch(cn, c, key, id, payload, before, after, &patch, cause)))
			goto fail;
		cn->nested++;
		cn->approving = true; /* its audit row is written approved (audit_insert) */
		rc = approval_apply(st, c, key, patch ? patch : payload, &who, cause);
		cn->approving = false;
		cn->nested--;
		if (rc)
			goto fail;
	} else {
		struct audit_row row = { .who = &who, .c = c, .key = key, .status = "rejected", .arguments = payload,
					 .changes_from = -1, .user_approval = 0, .start_ms = time_now_ms() };
		result = xasprintf("rejected by %s%s%s", decider->tool, reason ? ": " : "", reason ? reason : "");
		row.result = result;
		if ((rc = audit_insert(cn, &row)) != SQLITE_OK) {
			rc = store_sqlerr(cn, rc, cause);
			goto fail;
		}
	}
	if (!(s = conn_stmt(cn, cn->st->approval_close))) {
		rc = store_sqlerr(cn, conn_errcode(cn), cause);
		goto fail;
	}
	time_format_iso(time_now_ms(), when, sizeof(when));
	db_bind_int64(s, 1, id);
	db_bind_text(s, 2, approve ? "approved" : "rejected", -1, SQLITE_STATIC);
	if (reason)
		db_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	db_bind_text(s, 4, decider->tool, -1, SQLITE_STATIC);
	db_bind_text(s, 5, when, -1, SQLITE_STATIC);
	rc = db_step(s);
	db_reset(s);
	if (rc != SQLITE_DONE || (rc = conn_commit(cn)) != SQLITE_OK) {
		rc = store_sqlerr(cn, rc, cause);
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	conn_rollback(cn);
out:
	free(tool);
	free(op);
	free(path);
	free(coll);
	free(key);
	free(status);
	free(result);
	cJSON_Delete(payload);
	cJSON_Delete(before);
	cJSON_Delete(after);
	cJSON_Delete(patch);
	return rc;
}

int store_decide(store *st, int64_t id, bool approve, const struct store_actor *decider, const char *reason,
		 char **cause)
{
	char *why = NULL, key[24];
	int rc = approval_decide(st, id, approve, decider, reason, &why);

	if (rc) { /* a refused decision is audited like any refused change */
		snprintf(key, sizeof(key), "%lld", (long long)id);
		store_refused(st, st->db->approvals ? map_collection(st->db, st->db->approvals) : NULL, key, decider,
			      rc, why ? why : strerror(-rc));
	}
	if (cause && !*cause)
		*cause = why;
	else
		free(why);
	return rc;
}
