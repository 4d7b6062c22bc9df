/*
 * request.c - what every operation needs about its request: who asks (the
 * process, for the audit row and the log), the path of a child, whether a
 * place may be written, and how a refusal is answered and recorded.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/internal.h"
#include "fs/render.h"

void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}

char *fs_child(const char *parent, const char *name)
{
	size_t p = strcmp(parent, "/") == 0 ? 0 : strlen(parent), n = strlen(name);
	char *path = xmalloc(p + n + 2);

	memcpy(path, parent, p);
	path[p] = '/';
	memcpy(path + p + 1, name, n + 1);
	return path;
}

void fs_actor_pid(pid_t pid, uid_t uid, const char *op, const char *path, struct fs_actor *oa)
{
	memset(oa, 0, sizeof(*oa));
	proc_comm(pid, oa->comm, sizeof(oa->comm));
	oa->a.pid = pid;
	oa->a.uid = uid;
	oa->a.tool = oa->comm;
	oa->a.operation = op;
	oa->a.path = path;
}

pid_t fs_pid(fuse_req_t req)
{
	pid_t tid = fuse_req_ctx(req)->pid, pid = tid;
	char buf[512], *p;
	int fd;

	if (tid <= 0)
		return tid;
	/* a thread group's leader, the process itself (most writers): one system call */
	if ((fd = (int)syscall(SYS_pidfd_open, tid, 0)) >= 0) {
		close(fd);
		return tid;
	}
	/* another thread (or gone): its process is the Tgid of its status */
	if (proc_read(tid, "status", buf, sizeof(buf)) > 0 && (p = strstr(buf, "\nTgid:")) &&
	    (pid = (pid_t)strtol(p + 6, NULL, 10)) <= 0)
		pid = tid;
	return pid;
}

void fs_actor(fuse_req_t req, const char *op, const char *path, struct fs_actor *oa)
{
	const struct fuse_ctx *ctx = req ? fuse_req_ctx(req) : NULL;

	fs_actor_pid(ctx ? fs_pid(req) : 0, ctx ? ctx->uid : 0, op, path, oa);
}

pid_t fs_sid(fuse_req_t req)
{
	pid_t pid = fs_pid(req), sid = getsid(pid);

	return sid > 0 ? sid : pid;
}

bool fs_writable(fs *f, const struct node *n)
{
	/* read-only places inside writable entities: links listed from the
	 * rows' own columns, stored files */
	if (((n->kind == NODE_REL_DIR || n->kind == NODE_REL_LINK) && n->rel && n->rel->readonly) ||
	    n->kind == NODE_BLOB_DIR || n->kind == NODE_BLOB)
		return false;
	return !f->readonly && n->st && !store_readonly(n->st) && (!n->c || !n->c->readonly);
}

int fs_permit(fs *f, const char *path, const struct node *n, const struct fs_actor *who, const cJSON *payload,
	      char **cause)
{
	struct fs_actor oa = *who;
	const char *op = who->a.operation;
	store *rules = NULL;
	cJSON *args = NULL, *cur = NULL;
	char *reason = NULL, *msg = NULL;
	int64_t id;
	int rc;

	for (size_t i = 0; i < f->nstores && !rules; i++)
		if (store_map(f->stores[i])->permissions)
			rules = f->stores[i];
	if (!rules || !n->st)
		return 0;
	oa.a.path = path;
	oa.a.tool = oa.comm;
	rc = store_permit(rules, oa.comm, path, cJSON_IsObject(payload) ? payload : NULL, &reason);
	if (rc > STORE_ALLOW && cJSON_IsObject(payload) && strcmp(op, "write") == 0 && n->c && n->key[0] &&
	    store_get(n->st, n->c, n->key, 0, &cur) == 0) {
		/* A save sends the whole file: its arguments are the fields it changes.
		 * Fewer arguments never pass fewer rules, so this is only worth asking
		 * when the whole file was not allowed. */
		const cJSON *m;
		args = cJSON_CreateObject();
		cJSON_ArrayForEach(m, payload) {
			const cJSON *old = cJSON_GetObjectItemCaseSensitive(cur, m->string);
			if (!old || !json_equal(old, m))
				cJSON_AddItemReferenceToObject(args, m->string, (cJSON *)m);
		}
		free(reason);
		reason = NULL;
		rc = store_permit(rules, oa.comm, path, args, &reason);
	}
	cJSON_Delete(args);
	cJSON_Delete(cur);
	if (rc == STORE_ALLOW) {
		free(reason);
		return 0;
	}
	if (rc == STORE_APPROVAL && store_is_approvals(n->st, n->c)) {
		/* a decision is a person's: parking it for another decision would never end */
		free(reason);
		reason = xasprintf("permission denied: tool %s needs approval itself and cannot decide approvals", oa.comm);
		rc = STORE_DENY;
	}
	if (rc == STORE_APPROVAL) {
		rc = store_park(n->st, n->c, n->key[0] ? n->key : NULL, payload, &oa.a, &id, &msg);
		free(reason);
		reason = msg ? msg : xstrdup(strerror(-rc));
		if (rc)
			store_refused(n->st, n->c, n->key[0] ? n->key : NULL, &oa.a, rc, reason);
		else
			rc = -EACCES;
	} else if (rc == STORE_DENY) {
		store_refused(n->st, n->c, n->key[0] ? n->key : NULL, &oa.a, -EACCES, reason);
		rc = -EACCES;
	} else {
		reason = xasprintf("cannot read the permission rules: %s", strerror(-rc));
	}
	note_error(f, path, reason);
	fs_log("%s: %s (by %s[%d])", path, reason, oa.comm, (int)oa.a.pid);
	*cause = reason;
	return rc;
}

double fs_entry_timeout(fs *f, const char *path)
{
	struct node n;

	/* Names backed by rows are cached and dropped by the watcher when the
	 * rows change; names that are not (scratch files, .error, new, search
	 * results) are asked for every time. */
	if (!f->watch || !f->follow || node_resolve(f, path, &n))
		return 0;
	switch (n.kind) {
	case NODE_SCRATCH:
	case NODE_ERROR:
	case NODE_NEW:
	case NODE_SEARCH_DIR:
	case NODE_SEARCH:
	case NODE_TRASH_DIR:
	case NODE_TRASH:
	case NODE_BLOB_DIR:
	case NODE_BLOB:
		return 0;
	default:
		return FS_ENTRY_TIMEOUT;
	}
}

void fs_reply_entry(fuse_req_t req, fs *f, const char *path, const struct stat *st)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = inode_ref(f->inodes, path);
	e.attr = *st;
	e.attr.st_ino = e.ino;
	e.attr_timeout = 0;
	e.entry_timeout = fs_entry_timeout(f, path);
	if (fuse_reply_entry(req, &e) != 0)
		inode_forget(f->inodes, e.ino, 1);
}

/* Refuse a change: audit it and answer err. */
void fs_refusal(fuse_req_t req, fs *f, const char *path, const struct node *n, const char *op, int err,
		const char *why)
{
	struct fs_actor oa;

	fs_actor(req, op, path, &oa);
	if (n && n->st)
		store_refused(n->st, n->c, n->key[0] ? n->key : NULL, &oa.a, err, why);
	note_error(f, path, why);
	fs_log("%s: %s refused: %s (by %s[%d])", path, op, why, oa.comm, (int)oa.a.pid);
}

void fs_refuse(fuse_req_t req, fs *f, const char *path, const struct node *n, const char *op, int err,
	       const char *why)
{
	fs_refusal(req, f, path, n, op, err, why);
	fuse_reply_err(req, -err);
}

int fs_readonly_err(fs *f, const struct node *n)
{
	return fs_writable(f, n) ? 0 : -EROFS;
}
