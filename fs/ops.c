/*
 * ops.c - the FUSE low-level operations over the tree.
 *
 * Every request maps its inode to a path (inode.c), the path to a node
 * (node.c) and the node to store calls. Reads render documents on open, so
 * one open sees one version of the row (no torn reads) and st_size is the
 * exact length of what a read returns.
 *
 * The write path. A handle on an entity file buffers what is written, like
 * a local file would (offsets, several writes, O_TRUNC, ftruncate). The
 * buffer is committed when the file is flushed (every close(); flush's error
 * is what close() returns), fsync'ed, or when a scratch file is renamed onto
 * the entity name; release's result never reaches the caller, so nothing is
 * decided there. A commit parses the buffer as JSON and hands it to the
 * store as a merge patch (or a create), which validates and writes it with
 * its audit row in one transaction. A failed commit leaves the database as
 * it was, keeps the buffer (a later flush retries), and records the reason
 * in the directory's .error file and the daemon's log; the caller sees the
 * errno of SPEC §5.
 *
 * Editors' saves. vim and emacs rename the file to a backup name, create it
 * anew and write it; VS Code, sed -i, rsync, mkstemp users and `jq > tmp &&
 * mv tmp f` write a scratch file and rename it over. So: renaming an entity
 * file to a scratch name hides it (the row stays) and makes the scratch file
 * hold its bytes; creating a hidden entity's name again is an update of that
 * row; renaming a scratch file onto an entity name commits its contents.
 * See docs/editing.md.
 *
 * Caching. attr and entry timeouts are 0 and pages are not kept across
 * opens, so every stat and open asks again: other writers' changes show at
 * once. (Issue 8 trades this for explicit invalidation.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/internal.h"
#include "fs/render.h"

/* An open file. */
struct handle {
	char *path;
	struct node n;
	pthread_mutex_t lock;    /* serialises writes and commits on this handle */
	struct strbuf data;      /* the bytes a read sees; for writers, what was written */
	size_t base;             /* logs: bytes already in the database */
	bool writable;
	bool dirty;              /* written or truncated since the last commit */
	bool written;            /* bytes were written: only then is a flush a save (a shell's
				  * dup2 closes the fd it opened with O_TRUNC before writing) */
	bool creating;           /* the entity does not exist yet: commit creates it */
	int failed;              /* errno of the last commit, if the bytes have not changed
				  * since: fsync then close report it once, audit it once */
	pid_t sid;               /* session of the opener (for `new`) */
	struct scratch *scratch; /* for scratch files; data unused */
	struct handle *next;     /* in fs->handles, protected by fs->lock */
};

struct dirhandle {
	struct strbuf names; /* NUL-separated names */
	size_t count;
	char **name;         /* into names */
	unsigned char *type; /* DT_DIR, DT_REG, DT_LNK */
};

static fs *ops_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void ops_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ops_log(const char *fmt, ...)
{
	char when[40];
	va_list ap;

	time_format_iso(time_now_ms(), when, sizeof(when));
	flockfile(stderr);
	fprintf(stderr, "%s orchfs: ", when);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static char *ops_child(const char *parent, const char *name)
{
	return strcmp(parent, "/") == 0 ? xasprintf("/%s", name) : xasprintf("%s/%s", parent, name);
}

/* The process behind a request, for the audit row. */
struct ops_actor {
	struct store_actor a;
	char comm[32];
};

static void ops_actor(fuse_req_t req, const char *op, const char *path, struct ops_actor *oa)
{
	const struct fuse_ctx *ctx = req ? fuse_req_ctx(req) : NULL;
	char file[64];
	FILE *fp;

	memset(oa, 0, sizeof(*oa));
	strcpy(oa->comm, "unknown");
	if (ctx) {
		oa->a.pid = ctx->pid;
		oa->a.uid = ctx->uid;
		snprintf(file, sizeof(file), "/proc/%d/comm", (int)ctx->pid);
		if ((fp = fopen(file, "re"))) {
			if (fgets(oa->comm, sizeof(oa->comm), fp))
				oa->comm[strcspn(oa->comm, "\n")] = 0;
			fclose(fp);
		}
	}
	oa->a.tool = oa->comm;
	oa->a.operation = op;
	oa->a.path = path;
}

static pid_t ops_sid(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	pid_t sid = getsid(ctx->pid);

	return sid > 0 ? sid : ctx->pid;
}

/* --- attributes --- */

static bool ops_has_secret(const struct map_collection *c)
{
	for (size_t i = 0; i < c->ncolumns; i++)
		if (c->columns[i].secret)
			return true;
	return false;
}

static bool ops_node_writable(fs *f, const struct node *n)
{
	return !f->readonly && n->st && !store_readonly(n->st) && (!n->c || !n->c->readonly);
}

/* The time a document says it last changed (its updated field), or the mount's start. */
static struct timespec ops_doc_time(fs *f, const struct node *n, const cJSON *doc)
{
	struct timespec ts = f->started;
	const cJSON *v;
	int64_t ms;

	if (n->c && n->c->updated && (v = cJSON_GetObjectItemCaseSensitive(doc, n->c->updated->name)) &&
	    cJSON_IsString(v) && time_parse_iso(v->valuestring, &ms) == 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000;
	}
	return ts;
}

/* Where a relation or view link points: relative to its directory, three levels down. */
static void ops_link_target(const struct node *n, struct strbuf *out)
{
	const struct map_collection *t = n->kind == NODE_REL_LINK ? n->rel->target : n->c;
	const char *key = n->kind == NODE_REL_LINK ? n->target : n->key;

	strbuf_addstr(out, "../../../");
	strbuf_addf(out, "%s/%s%s", t->dir, key, t->file ? "" : ".json");
}

struct ops_log_ctx {
	struct strbuf *out;
};

static int ops_log_row(void *arg, const cJSON *row)
{
	render_line(row, ((struct ops_log_ctx *)arg)->out);
	return 0;
}

/*
 * The bytes a read of n returns, into out; *mtime from the row. For a
 * directory entity only *mtime is set. -ENOENT if the row is gone.
 */
static int ops_content(fs *f, const char *path, const struct node *n, pid_t sid, struct strbuf *out,
		       struct timespec *mtime)
{
	struct ops_log_ctx lc = { out };
	cJSON *doc = NULL;
	char *parent, *name, *key;
	int rc = 0;

	*mtime = f->started;
	switch (n->kind) {
	case NODE_ENTITY:
	case NODE_MAIN:
		if ((rc = store_get(n->st, n->c, n->key, 0, &doc)))
			return rc;
		*mtime = ops_doc_time(f, n, doc);
		if (n->kind == NODE_MAIN || !n->c->file)
			render_document(doc, out);
		cJSON_Delete(doc);
		return 0;
	case NODE_LOG:
		if ((rc = store_get(n->st, n->c, n->key, 0, &doc)))
			return rc;
		*mtime = ops_doc_time(f, n, doc);
		cJSON_Delete(doc);
		return store_log_rows(n->st, n->c, n->log, n->key, ops_log_row, &lc);
	case NODE_REL_LINK:
	case NODE_VIEW_LINK:
		ops_link_target(n, out);
		return 0;
	case NODE_NEW:
		node_split(path, &parent, &name);
		if ((key = newkey_get(f, sid, parent)))
			strbuf_addf(out, "%s\n", key);
		free(key);
		free(parent);
		free(name);
		return 0;
	case NODE_ERROR:
		node_split(path, &parent, &name);
		note_text(f, parent, out);
		free(parent);
		free(name);
		return out->len ? 0 : -ENOENT;
	default:
		return 0;
	}
}

static void ops_scratch_stat(const struct scratch *s, struct stat *st)
{
	st->st_mode = s->mode;
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_size = (off_t)s->data.len;
	st->st_blocks = (blkcnt_t)((s->data.len + 511) / 512);
	st->st_atim = s->atime;
	st->st_mtim = s->mtime;
	st->st_ctim = s->ctime;
}

/* An open writer of path whose bytes are not in the database yet, or NULL. */
static struct handle *ops_pending(fs *f, const char *path)
{
	for (struct handle *h = (struct handle *)f->handles; h; h = h->next)
		if (h->writable && (h->dirty || h->creating) && strcmp(h->path, path) == 0)
			return h;
	return NULL;
}

/* Attributes of path; -ENOENT if nothing is there. */
static int ops_stat(fs *f, const char *path, pid_t sid, struct stat *st)
{
	struct strbuf sb = STRBUF_INIT;
	struct timespec mtime;
	struct scratch *s;
	struct handle *h;
	struct node n;
	int rc;

	memset(st, 0, sizeof(*st));
	st->st_uid = f->uid;
	st->st_gid = f->gid;
	st->st_nlink = 1;
	st->st_blksize = 4096;

	pthread_mutex_lock(&f->lock);
	if ((s = scratch_find(f, path))) {
		ops_scratch_stat(s, st);
		pthread_mutex_unlock(&f->lock);
		return 0;
	}
	pthread_mutex_unlock(&f->lock);

	if ((rc = node_resolve(f, path, &n)))
		return rc;
	if (n.kind == NODE_SCRATCH)
		return -ENOENT;
	if ((n.kind == NODE_ENTITY || n.kind == NODE_MAIN) && hidden_has(f, path))
		goto pending;
	if ((rc = node_exists(f, &n)) <= 0) {
		if (rc == 0 && (n.kind == NODE_ENTITY || n.kind == NODE_MAIN))
			goto pending;
		return rc ? rc : -ENOENT;
	}

	strbuf_init(&sb, 0);
	if ((rc = ops_content(f, path, &n, sid, &sb, &mtime))) {
		strbuf_release(&sb);
		return rc == -ENOENT ? -ENOENT : rc;
	}
	st->st_mtim = st->st_ctim = st->st_atim = mtime;
	switch (n.kind) {
	case NODE_ROOT:
	case NODE_DB:
	case NODE_COLLECTION:
	case NODE_VIEW:
	case NODE_VIEW_VALUE:
	case NODE_REL_DIR:
		st->st_mode = S_IFDIR | 0555;
		if ((n.kind == NODE_COLLECTION || n.kind == NODE_REL_DIR) && ops_node_writable(f, &n))
			st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		break;
	case NODE_ENTITY:
		if (n.c->file) {
			st->st_mode = S_IFDIR | (ops_node_writable(f, &n) ? 0755 : 0555);
			st->st_nlink = 2;
			break;
		}
		/* fall through */
	case NODE_MAIN:
		st->st_mode = S_IFREG | (ops_has_secret(n.c) ? 0600 : 0644);
		if (!ops_node_writable(f, &n))
			st->st_mode &= ~0222u;
		break;
	case NODE_LOG:
	case NODE_NEW:
		st->st_mode = S_IFREG | (ops_node_writable(f, &n) ? 0644 : 0444);
		break;
	case NODE_ERROR:
		st->st_mode = S_IFREG | 0444;
		break;
	case NODE_REL_LINK:
	case NODE_VIEW_LINK:
		st->st_mode = S_IFLNK | 0777;
		break;
	case NODE_SCRATCH:
		break;
	}
	st->st_size = S_ISDIR(st->st_mode) ? 0 : (off_t)sb.len;
	st->st_blocks = (blkcnt_t)((sb.len + 511) / 512);
	strbuf_release(&sb);
	return 0;

pending:
	/* Not in the database (yet): an editor between create and commit. */
	pthread_mutex_lock(&f->lock);
	if ((h = ops_pending(f, path))) {
		st->st_mode = S_IFREG | 0644;
		st->st_size = (off_t)h->data.len;
		clock_gettime(CLOCK_REALTIME, &st->st_mtim);
		st->st_ctim = st->st_atim = st->st_mtim;
		rc = 0;
	} else {
		rc = -ENOENT;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static void ops_entry(fuse_req_t req, fs *f, const char *path, const struct stat *st)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = inode_ref(f->inodes, path);
	e.attr = *st;
	e.attr.st_ino = e.ino;
	e.attr_timeout = 0;
	e.entry_timeout = 0;
	if (fuse_reply_entry(req, &e) != 0)
		inode_forget(f->inodes, e.ino, 1);
}

/* --- commits --- */

/* Parse a document for a commit; on failure *cause says where. */
static int ops_parse(const char *data, size_t len, cJSON **out, char **cause)
{
	const char *end = NULL, *p;
	size_t i;
	int line = 1, col = 1;

	*out = NULL;
	for (i = 0; i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'); i++)
		;
	if (i == len) {
		*cause = xstrdup("empty file: write a JSON object (to delete, use rm)");
		return -EINVAL;
	}
	if (memchr(data, 0, len)) {
		*cause = xstrdup("invalid content: NUL byte in a JSON file");
		return -EINVAL;
	}
	if (!utf8_valid(data, len)) {
		*cause = xstrdup("invalid content: not UTF-8");
		return -EINVAL;
	}
	*out = cJSON_ParseWithLengthOpts(data, len, &end, false);
	if (*out) {
		for (p = end; p < data + len; p++)
			if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
				break;
		if (p == data + len) {
			if (cJSON_IsObject(*out))
				return 0;
			cJSON_Delete(*out);
			*out = NULL;
			*cause = xstrdup("invalid content: expected a JSON object");
			return -EINVAL;
		}
		cJSON_Delete(*out);
		*out = NULL;
		end = p;
	} else {
		end = cJSON_GetErrorPtr();
		if (!end || end < data || end > data + len)
			end = data + len;
	}
	for (p = data; p < end; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*cause = xasprintf("invalid JSON at line %d, column %d", line, col);
	return -EINVAL;
}

static const char *ops_opname(const struct handle *h)
{
	if (h->n.kind == NODE_LOG)
		return "append";
	if (h->creating || h->n.kind == NODE_NEW)
		return "create";
	return "write";
}

/* Commit what a handle holds. Called with h->lock held. */
static int ops_commit(fs *f, fuse_req_t req, struct handle *h)
{
	struct ops_actor oa;
	char *cause = NULL, *key = NULL, *parent, *name;
	cJSON *doc = NULL;
	bool audited = false;
	int rc;

	if (!h->dirty || !h->written || h->scratch)
		return 0;
	if (h->failed)
		return h->failed;
	ops_actor(req, ops_opname(h), h->path, &oa);
	if (h->n.kind == NODE_LOG) {
		const char *p = h->data.buf + h->base, *end = h->data.buf + h->data.len;
		cJSON *rows = cJSON_CreateArray();
		int line = 0;
		rc = 0;
		if (!utf8_valid(p, (size_t)(end - p)) || memchr(p, 0, (size_t)(end - p))) {
			cause = xstrdup("invalid content: not UTF-8 text");
			rc = -EINVAL;
		}
		while (!rc && p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *stop = nl ? nl : end;
			char *sub;
			line++;
			if (stop > p) {
				if ((rc = ops_parse(p, (size_t)(stop - p), &doc, &cause))) {
					sub = cause;
					cause = xasprintf("line %d: %s", line, sub);
					free(sub);
					break;
				}
				cJSON_AddItemToArray(rows, doc);
				doc = NULL;
			}
			p = nl ? nl + 1 : end;
		}
		if (!rc && cJSON_GetArraySize(rows) > 0 && (audited = true))
			rc = store_log_append(h->n.st, h->n.c, h->n.log, h->n.key, rows, &oa.a, &cause);
		cJSON_Delete(rows);
		if (!rc)
			h->base = h->data.len;
	} else if ((rc = ops_parse(h->data.buf, h->data.len, &doc, &cause)) == 0) {
		audited = true;
		if (h->n.kind == NODE_NEW) {
			rc = store_create(h->n.st, h->n.c, NULL, doc, &oa.a, &key, &cause);
			if (!rc) {
				node_split(h->path, &parent, &name);
				newkey_set(f, h->sid, parent, key);
				ops_log("%s: created %s/%s by %s[%d]", h->path, h->n.c->dir, key, oa.comm,
					(int)oa.a.pid);
				free(parent);
				free(name);
			}
		} else if (h->creating) {
			rc = store_create(h->n.st, h->n.c, h->n.key, doc, &oa.a, NULL, &cause);
		} else {
			rc = store_patch(h->n.st, h->n.c, h->n.key, doc, &oa.a, &cause);
		}
	}
	if (rc) {
		if (!cause)
			cause = xstrdup(strerror(-rc));
		/* The store audits what reaches it; content refused before that is audited here. */
		if (!audited)
			store_refused(h->n.st, h->n.c, h->n.key[0] ? h->n.key : NULL, &oa.a, rc, cause);
		note_error(f, h->path, cause);
		h->failed = rc;
		ops_log("%s: %s (%s, by %s[%d])", h->path, cause, strerror(-rc), oa.comm, (int)oa.a.pid);
	} else {
		h->dirty = false;
		h->creating = false;
		note_clear(f, h->path);
		if (hidden_state(f, h->path) != BACKUP_NONE)
			hidden_set(f, h->path, BACKUP_SAVED);
	}
	cJSON_Delete(doc);
	free(cause);
	free(key);
	return rc;
}

/* --- handles --- */

static struct handle *ops_handle_new(fs *f, const char *path, const struct node *n, bool writable, pid_t sid)
{
	struct handle *h = xcalloc(1, sizeof(*h));

	h->path = xstrdup(path);
	if (n)
		h->n = *n;
	pthread_mutex_init(&h->lock, NULL);
	strbuf_init(&h->data, 0);
	h->writable = writable;
	h->sid = sid;
	pthread_mutex_lock(&f->lock);
	h->next = f->handles;
	f->handles = h;
	pthread_mutex_unlock(&f->lock);
	return h;
}

static void ops_handle_free(fs *f, struct handle *h)
{
	struct handle **pp;

	pthread_mutex_lock(&f->lock);
	for (pp = &f->handles; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	if (h->scratch)
		scratch_put(f, h->scratch);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_destroy(&h->lock);
	strbuf_release(&h->data);
	free(h->path);
	free(h);
}

static struct handle *ops_fh(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* Refuse a change: audit it and answer err. */
static void ops_refuse(fuse_req_t req, fs *f, const char *path, const struct node *n, const char *op, int err,
		       const char *why)
{
	struct ops_actor oa;

	ops_actor(req, op, path, &oa);
	if (n && n->st)
		store_refused(n->st, n->c, n->key[0] ? n->key : NULL, &oa.a, err, why);
	ops_log("%s: %s refused: %s (by %s[%d])", path, op, why, oa.comm, (int)oa.a.pid);
	fuse_reply_err(req, -err);
}

static int ops_readonly_err(fs *f, const struct node *n)
{
	return ops_node_writable(f, n) ? 0 : -EROFS;
}

/* --- operations --- */

static void ops_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs *f = ops_fs(req);
	char *dir = inode_path(f->inodes, parent), *path;
	struct stat st;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (strlen(name) > NAME_MAX) {
		free(dir);
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	path = ops_child(dir, name);
	if ((rc = ops_stat(f, path, ops_sid(req), &st)))
		fuse_reply_err(req, -rc);
	else
		ops_entry(req, f, path, &st);
	free(path);
	free(dir);
}

static void ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_forget(ops_fs(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inode_forget(ops_fs(req)->inodes, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs *f = ops_fs(req);
	struct handle *h = fi ? ops_fh(fi) : NULL;
	char *path;
	struct stat st;
	int rc;

	if (h && (h->scratch || h->dirty || h->creating || !h->path)) {
		memset(&st, 0, sizeof(st));
		pthread_mutex_lock(&f->lock);
		if (h->scratch) {
			ops_scratch_stat(h->scratch, &st);
		} else {
			st.st_mode = S_IFREG | 0644;
			st.st_nlink = 1;
			st.st_uid = f->uid;
			st.st_gid = f->gid;
			st.st_size = (off_t)h->data.len;
			clock_gettime(CLOCK_REALTIME, &st.st_mtim);
			st.st_atim = st.st_ctim = st.st_mtim;
		}
		pthread_mutex_unlock(&f->lock);
		st.st_ino = ino;
		fuse_reply_attr(req, &st, 0);
		return;
	}
	if (!(path = inode_path(f->inodes, ino))) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((rc = ops_stat(f, path, ops_sid(req), &st)))
		fuse_reply_err(req, -rc);
	else {
		st.st_ino = ino;
		fuse_reply_attr(req, &st, 0);
	}
	free(path);
}

static void ops_scratch_truncate(struct scratch *s, size_t size)
{
	if (size > s->data.len) {
		strbuf_grow(&s->data, size - s->data.len);
		memset(s->data.buf + s->data.len, 0, size - s->data.len);
	}
	s->data.len = size;
	s->data.buf[size] = 0;
	clock_gettime(CLOCK_REALTIME, &s->mtime);
	s->ctime = s->mtime;
}

static void ops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	fs *f = ops_fs(req);
	struct handle *h = fi ? ops_fh(fi) : NULL;
	char *path = inode_path(f->inodes, ino);
	struct scratch *s = NULL;
	struct timespec now;
	struct node n;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&f->lock);
	s = h && h->scratch ? h->scratch : path ? scratch_find(f, path) : NULL;
	if (s) {
		if (to_set & FUSE_SET_ATTR_MODE)
			s->mode = (s->mode & S_IFMT) | (attr->st_mode & 07777);
		if (to_set & FUSE_SET_ATTR_UID)
			s->uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			s->gid = attr->st_gid;
		if (to_set & FUSE_SET_ATTR_SIZE) {
			if ((size_t)attr->st_size > STORE_MAX_DOCUMENT * 4)
				rc = -EFBIG;
			else
				ops_scratch_truncate(s, (size_t)attr->st_size);
		}
		if (to_set & FUSE_SET_ATTR_ATIME)
			s->atime = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME)
			s->mtime = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			s->atime = now;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			s->mtime = now;
		s->ctime = now;
		pthread_mutex_unlock(&f->lock);
		goto reply;
	}
	pthread_mutex_unlock(&f->lock);

	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!h) {
			/* Truncating an entity by path would leave it empty: not a state it can have. */
			if (path && node_resolve(f, path, &n) == 0 && (n.kind == NODE_ENTITY || n.kind == NODE_MAIN) &&
			    attr->st_size == 0) {
				rc = -EINVAL;
			} else {
				rc = path ? -EPERM : -ENOENT;
			}
			goto reply;
		}
		pthread_mutex_lock(&h->lock);
		if (!h->writable)
			rc = -EBADF;
		else if (h->n.kind == NODE_LOG && (size_t)attr->st_size != h->data.len)
			rc = -EPERM; /* logs cannot be truncated */
		else if ((size_t)attr->st_size > STORE_MAX_DOCUMENT)
			rc = -EFBIG;
		else if ((size_t)attr->st_size != h->data.len) {
			if ((size_t)attr->st_size > h->data.len) {
				strbuf_grow(&h->data, (size_t)attr->st_size - h->data.len);
				memset(h->data.buf + h->data.len, ' ', (size_t)attr->st_size - h->data.len);
			}
			h->data.len = (size_t)attr->st_size;
			h->data.buf[h->data.len] = 0;
			h->dirty = true;
			h->failed = 0;
			h->written = h->written || attr->st_size > 0;
		} else if (attr->st_size == 0) {
			h->dirty = true;
		}
		pthread_mutex_unlock(&h->lock);
	}
	/* chmod, chown and utimens on rows: accepted and not kept (the row decides). */
reply:
	if (rc) {
		fuse_reply_err(req, -rc);
	} else {
		struct fuse_file_info *fip = fi;
		free(path);
		ops_getattr(req, ino, fip);
		return;
	}
	free(path);
}

static void ops_readlink(fuse_req_t req, fuse_ino_t ino)
{
	fs *f = ops_fs(req);
	char *path = inode_path(f->inodes, ino);
	struct strbuf sb = STRBUF_INIT;
	struct scratch *s;
	struct timespec mt;
	struct node n;
	int rc;

	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_mutex_lock(&f->lock);
	if ((s = scratch_find(f, path)) && s->is_link) {
		strbuf_add(&sb, s->data.buf, s->data.len);
		pthread_mutex_unlock(&f->lock);
		fuse_reply_readlink(req, sb.buf);
		goto out;
	}
	pthread_mutex_unlock(&f->lock);
	if ((rc = node_resolve(f, path, &n)) == 0 && (n.kind == NODE_REL_LINK || n.kind == NODE_VIEW_LINK)) {
		strbuf_init(&sb, 0);
		ops_content(f, path, &n, 0, &sb, &mt);
		fuse_reply_readlink(req, sb.buf);
	} else {
		fuse_reply_err(req, EINVAL);
	}
out:
	strbuf_release(&sb);
	free(path);
}

static void ops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fs *f = ops_fs(req);
	char *dir = inode_path(f->inodes, parent), *path = NULL, *cause = NULL;
	struct ops_actor oa;
	struct stat st;
	struct node n;
	cJSON *doc;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	path = ops_child(dir, name);
	if ((rc = node_resolve(f, path, &n)))
		goto fail;
	if (n.kind != NODE_ENTITY || !n.c->file) {
		rc = n.kind == NODE_SCRATCH && n.c && !n.c->file ? -EPERM : (node_exists(f, &n) > 0 ? -EEXIST : -EPERM);
		if (rc == -EPERM) {
			ops_refuse(req, f, path, &n, "mkdir", rc, "cannot make a directory here");
			goto out;
		}
		goto fail;
	}
	if ((rc = ops_readonly_err(f, &n))) {
		ops_refuse(req, f, path, &n, "mkdir", rc, "read-only");
		goto out;
	}
	ops_actor(req, "create", path, &oa);
	doc = cJSON_CreateObject();
	rc = store_create(n.st, n.c, n.key, doc, &oa.a, NULL, &cause);
	cJSON_Delete(doc);
	if (rc) {
		note_error(f, path, cause ? cause : strerror(-rc));
		ops_log("%s: mkdir: %s", path, cause ? cause : strerror(-rc));
		goto fail;
	}
	note_clear(f, path);
	if ((rc = ops_stat(f, path, ops_sid(req), &st)))
		goto fail;
	ops_entry(req, f, path, &st);
	goto out;
fail:
	fuse_reply_err(req, -rc);
out:
	free(cause);
	free(path);
	free(dir);
}

static void ops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs *f = ops_fs(req);
	char *dir = inode_path(f->inodes, parent), *path, *cause = NULL;
	struct ops_actor oa;
	struct scratch *s;
	struct node n;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	path = ops_child(dir, name);
	pthread_mutex_lock(&f->lock);
	if ((s = scratch_find(f, path))) {
		scratch_unname(f, s);
		pthread_mutex_unlock(&f->lock);
		hidden_remove_backup(f, path);
		inode_detach(f->inodes, path);
		fuse_reply_err(req, 0);
		goto out;
	}
	pthread_mutex_unlock(&f->lock);
	if ((rc = node_resolve(f, path, &n)) || n.kind == NODE_SCRATCH) {
		fuse_reply_err(req, ENOENT);
		goto out;
	}
	if ((rc = node_exists(f, &n)) <= 0 || ((n.kind == NODE_ENTITY) && hidden_has(f, path))) {
		fuse_reply_err(req, rc < 0 ? -rc : ENOENT);
		goto out;
	}
	if (n.kind == NODE_ENTITY && hidden_state(f, path) == BACKUP_OPEN) {
		/* An editor undoing its failed save before renaming the backup back:
		 * the row was never changed, so it stays; the name is hidden again. */
		hidden_set(f, path, BACKUP_HIDDEN);
		ops_log("%s: removed after a failed save; the row is kept for the backup", path);
		fuse_reply_err(req, 0);
		goto out;
	}
	hidden_remove(f, path);
	if ((rc = ops_readonly_err(f, &n))) {
		ops_refuse(req, f, path, &n, "unlink", rc, "read-only");
		goto out;
	}
	if (n.kind == NODE_ENTITY && !n.c->file) {
		ops_actor(req, "delete", path, &oa);
		rc = store_delete(n.st, n.c, n.key, &oa.a, &cause);
	} else if (n.kind == NODE_REL_LINK) {
		ops_actor(req, "unlink", path, &oa);
		rc = store_unlink(n.st, n.c, n.rel, n.key, n.target, &oa.a, &cause);
	} else if (n.kind == NODE_ENTITY || n.kind == NODE_COLLECTION) {
		rc = -EISDIR;
	} else {
		ops_refuse(req, f, path, &n, "unlink", -EPERM,
			   n.kind == NODE_MAIN ? "to delete the entity, remove its directory (rmdir)"
					       : "cannot be removed");
		goto out;
	}
	if (rc) {
		ops_log("%s: rm: %s", path, cause ? cause : strerror(-rc));
		fuse_reply_err(req, -rc);
	} else {
		inode_detach(f->inodes, path);
		note_clear(f, path);
		fuse_reply_err(req, 0);
	}
out:
	free(cause);
	free(path);
	free(dir);
}

static void ops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs *f = ops_fs(req);
	char *dir = inode_path(f->inodes, parent), *path, *cause = NULL;
	struct ops_actor oa;
	struct node n;
	bool busy;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	path = ops_child(dir, name);
	if ((rc = node_resolve(f, path, &n)) || n.kind == NODE_SCRATCH) {
		fuse_reply_err(req, rc == -ENOTDIR ? ENOTDIR : ENOENT);
		goto out;
	}
	if (n.kind != NODE_ENTITY || !n.c->file) {
		rc = node_exists(f, &n);
		if (rc <= 0)
			fuse_reply_err(req, rc < 0 ? -rc : ENOENT);
		else if (n.kind == NODE_ENTITY || n.kind == NODE_MAIN || n.kind == NODE_LOG)
			fuse_reply_err(req, ENOTDIR);
		else
			ops_refuse(req, f, path, &n, "rmdir", -EPERM, "cannot be removed");
		goto out;
	}
	if ((rc = ops_readonly_err(f, &n))) {
		ops_refuse(req, f, path, &n, "rmdir", rc, "read-only");
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	busy = scratch_dir_has_children(f, path);
	pthread_mutex_unlock(&f->lock);
	if (busy) {
		ops_refuse(req, f, path, &n, "rmdir", -ENOTEMPTY, "holds files of its own (an editor's?)");
		goto out;
	}
	ops_actor(req, "delete", path, &oa);
	if ((rc = store_delete(n.st, n.c, n.key, &oa.a, &cause))) {
		ops_log("%s: rmdir: %s", path, cause ? cause : strerror(-rc));
		fuse_reply_err(req, -rc);
	} else {
		inode_detach(f->inodes, path);
		fuse_reply_err(req, 0);
	}
out:
	free(cause);
	free(path);
	free(dir);
}

/* The key a symlink's text names: its last component without ".json". */
static char *ops_link_key(const char *text)
{
	const char *base = strrchr(text, '/');
	size_t n;

	base = base ? base + 1 : text;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	return xstrndup(base, n);
}

static void ops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fs *f = ops_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char *dir = inode_path(f->inodes, parent), *path, *cause = NULL, *key;
	struct ops_actor oa;
	struct scratch *s;
	struct stat st;
	struct node n, pn;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	path = ops_child(dir, name);
	if ((rc = node_resolve(f, dir, &pn)) || (rc = node_resolve(f, path, &n))) {
		fuse_reply_err(req, -rc);
		goto out;
	}
	if (n.kind == NODE_REL_LINK) {
		if ((rc = ops_readonly_err(f, &n))) {
			ops_refuse(req, f, path, &n, "link", rc, "read-only");
			goto out;
		}
		key = ops_link_key(link);
		if (strcmp(key, name) != 0) {
			ops_refuse(req, f, path, &n, "link", -EINVAL, "the link's name must be the key it points to");
			free(key);
			goto out;
		}
		free(key);
		ops_actor(req, "link", path, &oa);
		if ((rc = store_link(n.st, n.c, n.rel, n.key, n.target, &oa.a, &cause))) {
			note_error(f, path, cause ? cause : strerror(-rc));
			fuse_reply_err(req, -rc);
			goto out;
		}
	} else if (n.kind == NODE_SCRATCH && n.writable_dir && ops_node_writable(f, &n)) {
		pthread_mutex_lock(&f->lock);
		if (scratch_find(f, path)) {
			pthread_mutex_unlock(&f->lock);
			fuse_reply_err(req, EEXIST);
			goto out;
		}
		s = scratch_new(f, path, S_IFLNK | 0777, ctx->uid, ctx->gid);
		scratch_set_owner(s, ctx->pid);
		s->is_link = true;
		strbuf_addstr(&s->data, link);
		pthread_mutex_unlock(&f->lock);
	} else {
		ops_refuse(req, f, path, &n, "symlink", n.kind == NODE_SCRATCH ? -EPERM : -EEXIST,
			   "cannot make a link here");
		goto out;
	}
	if ((rc = ops_stat(f, path, ops_sid(req), &st)))
		fuse_reply_err(req, -rc);
	else
		ops_entry(req, f, path, &st);
out:
	free(cause);
	free(path);
	free(dir);
}

/* Commit a scratch file's bytes onto the entity at path (rename over). A
 * backup renamed back unchanged (an editor undoing a failed save) is no save
 * at all: nothing to commit, nothing to audit. */
static int ops_apply_scratch(fuse_req_t req, fs *f, struct scratch *s, const char *from, const char *path,
			     const struct node *n)
{
	struct handle h = { 0 };
	char *owner = hidden_entity_of(f, from);
	int rc, ex;

	if (owner && strcmp(owner, path) == 0) {
		struct strbuf cur = STRBUF_INIT;
		struct timespec mt;
		bool same;
		strbuf_init(&cur, 0);
		rc = ops_content(f, path, n, 0, &cur, &mt);
		pthread_mutex_lock(&f->lock);
		same = rc == 0 && cur.len == s->data.len && memcmp(cur.buf, s->data.buf, cur.len) == 0;
		pthread_mutex_unlock(&f->lock);
		strbuf_release(&cur);
		if (same) {
			free(owner);
			return 0;
		}
	}
	free(owner);

	h.path = (char *)path;
	h.n = *n;
	h.dirty = h.written = true;
	ex = node_exists(f, n);
	if (ex < 0)
		return ex;
	if (n->kind == NODE_MAIN && !ex)
		return -ENOENT;
	h.creating = !ex;
	pthread_mutex_lock(&f->lock);
	strbuf_init(&h.data, s->data.len);
	strbuf_add(&h.data, s->data.buf, s->data.len);
	pthread_mutex_unlock(&f->lock);
	rc = ops_commit(f, req, &h);
	strbuf_release(&h.data);
	return rc;
}

static void ops_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		       const char *newname, unsigned int flags)
{
	fs *f = ops_fs(req);
	char *dir = inode_path(f->inodes, parent), *ndir = inode_path(f->inodes, newparent);
	char *from = NULL, *to = NULL;
	struct scratch *s, *d;
	struct node fn, tn;
	int rc;

	if (!dir || !ndir) {
		rc = -ENOENT;
		goto fail;
	}
	if (flags & RENAME_EXCHANGE) {
		rc = -EINVAL;
		goto fail;
	}
	from = ops_child(dir, name);
	to = ops_child(ndir, newname);
	if ((rc = node_resolve(f, from, &fn)) || (rc = node_resolve(f, to, &tn)))
		goto fail;

	pthread_mutex_lock(&f->lock);
	s = scratch_find(f, from);
	d = scratch_find(f, to);
	pthread_mutex_unlock(&f->lock);

	if (s) {
		if (tn.kind == NODE_SCRATCH || d) {
			/* scratch -> scratch: an ordinary rename */
			if (!tn.writable_dir || !ops_node_writable(f, &tn)) {
				rc = -EPERM;
				goto fail;
			}
			pthread_mutex_lock(&f->lock);
			if ((d = scratch_find(f, to)) && (flags & RENAME_NOREPLACE)) {
				pthread_mutex_unlock(&f->lock);
				rc = -EEXIST;
				goto fail;
			}
			if (d && d != s)
				scratch_unname(f, d);
			free(s->path);
			s->path = xstrdup(to);
			clock_gettime(CLOCK_REALTIME, &s->ctime);
			pthread_mutex_unlock(&f->lock);
			hidden_remove_backup(f, to);
			hidden_move_backup(f, from, to);
			inode_move(f->inodes, from, to);
			fuse_reply_err(req, 0);
			goto out;
		}
		if (tn.kind == NODE_ENTITY && tn.c->file)
			rc = -EISDIR;
		else if (tn.kind != NODE_ENTITY && tn.kind != NODE_MAIN)
			rc = -EPERM;
		else if ((rc = ops_readonly_err(f, &tn)))
			;
		else if ((flags & RENAME_NOREPLACE) && !hidden_has(f, to) && node_exists(f, &tn) > 0)
			rc = -EEXIST;
		else
			rc = ops_apply_scratch(req, f, s, from, to, &tn);
		if (rc)
			goto fail;
		/* The scratch inode now stands for the entity, as the kernel believes. */
		pthread_mutex_lock(&f->lock);
		scratch_unname(f, s);
		pthread_mutex_unlock(&f->lock);
		hidden_remove_backup(f, from);
		hidden_remove(f, to);
		inode_move(f->inodes, from, to);
		fuse_reply_err(req, 0);
		goto out;
	}

	if (fn.kind == NODE_ENTITY || fn.kind == NODE_MAIN) {
		struct strbuf sb = STRBUF_INIT;
		struct timespec mt;
		if ((rc = node_exists(f, &fn)) <= 0 || hidden_has(f, from)) {
			rc = rc < 0 ? rc : -ENOENT;
			goto fail;
		}
		if (fn.kind == NODE_ENTITY && fn.c->file) {
			rc = -EPERM; /* a directory entity is renamed by changing its key: not supported */
			goto fail;
		}
		if (tn.kind != NODE_SCRATCH || !tn.writable_dir || !ops_node_writable(f, &tn) ||
		    strcmp(dir, ndir) != 0) {
			/* mv falls back to copy and unlink on EXDEV: a new key, then a delete. */
			rc = tn.kind == NODE_SCRATCH || tn.kind == NODE_ENTITY ? -EXDEV : -EPERM;
			goto fail;
		}
		/* An editor's backup-by-rename: hide the entity, keep its bytes at the backup name. */
		strbuf_init(&sb, 0);
		if ((rc = ops_content(f, from, &fn, 0, &sb, &mt))) {
			strbuf_release(&sb);
			goto fail;
		}
		pthread_mutex_lock(&f->lock);
		if ((d = scratch_find(f, to))) {
			if (flags & RENAME_NOREPLACE) {
				pthread_mutex_unlock(&f->lock);
				strbuf_release(&sb);
				rc = -EEXIST;
				goto fail;
			}
			scratch_unname(f, d);
		}
		d = scratch_new(f, to, S_IFREG | (ops_has_secret(fn.c) ? 0600 : 0644), f->uid, f->gid);
		scratch_set_owner(d, fuse_req_ctx(req)->pid);
		strbuf_add(&d->data, sb.buf, sb.len);
		d->mtime = mt;
		pthread_mutex_unlock(&f->lock);
		strbuf_release(&sb);
		hidden_add(f, from, to);
		inode_move(f->inodes, from, to);
		fuse_reply_err(req, 0);
		goto out;
	}
	rc = node_exists(f, &fn) > 0 ? -EPERM : -ENOENT;
fail:
	fuse_reply_err(req, -rc);
out:
	free(from);
	free(to);
	free(dir);
	free(ndir);
}

/* Open path (as node n) for a handle; fills fi. */
static int ops_open_node(fuse_req_t req, fs *f, const char *path, const struct node *n, struct fuse_file_info *fi,
			 bool creating)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct timespec mt;
	struct handle *h;
	int rc;

	if (writing && (rc = ops_readonly_err(f, n)))
		return rc;
	switch (n->kind) {
	case NODE_ENTITY:
	case NODE_MAIN:
	case NODE_LOG:
	case NODE_NEW:
	case NODE_ERROR:
		break;
	default:
		return -EISDIR;
	}
	if (writing && n->kind == NODE_ERROR)
		return -EROFS;
	if (n->kind == NODE_LOG && (fi->flags & O_TRUNC) && writing)
		return -EPERM;
	h = ops_handle_new(f, path, n, writing, ops_sid(req));
	h->creating = creating;
	if (creating || (writing && (fi->flags & O_TRUNC)) || n->kind == NODE_NEW) {
		h->dirty = writing && n->kind != NODE_NEW ? true : false;
		if (n->kind == NODE_NEW && !writing)
			ops_content(f, path, n, h->sid, &h->data, &mt);
	} else if ((rc = ops_content(f, path, n, h->sid, &h->data, &mt))) {
		ops_handle_free(f, h);
		return rc;
	}
	h->base = h->data.len;
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 0;
	fi->direct_io = n->kind == NODE_NEW || n->kind == NODE_ERROR;
	return 0;
}

static int ops_open_scratch(fs *f, struct scratch *s, struct fuse_file_info *fi)
{
	struct handle *h = ops_handle_new(f, s->path, NULL, (fi->flags & O_ACCMODE) != O_RDONLY, 0);

	/* called with f->lock held for s; the handle list takes it too, so add after */
	h->scratch = s;
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static void ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs *f = ops_fs(req);
	char *path = inode_path(f->inodes, ino);
	struct scratch *s;
	struct node n;
	int rc;

	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_mutex_lock(&f->lock);
	if ((s = scratch_find(f, path))) {
		s->refs++;
		if (fi->flags & O_TRUNC)
			ops_scratch_truncate(s, 0);
		pthread_mutex_unlock(&f->lock);
		ops_open_scratch(f, s, fi);
		fuse_reply_open(req, fi);
		free(path);
		return;
	}
	pthread_mutex_unlock(&f->lock);
	if ((rc = node_resolve(f, path, &n)) == 0) {
		rc = ops_open_node(req, f, path, &n, fi, false);
		if (rc == -EROFS)
			ops_refuse(req, f, path, &n, "open", rc, "read-only");
	}
	if (rc == -EROFS)
		;
	else if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_open(req, fi) != 0)
		ops_handle_free(f, ops_fh(fi));
	free(path);
}

static void ops_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	fs *f = ops_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char *dir = inode_path(f->inodes, parent), *path = NULL;
	struct scratch *s;
	struct stat st;
	struct node n;
	int rc, ex;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (strlen(name) > NAME_MAX) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	path = ops_child(dir, name);
	if ((rc = node_resolve(f, path, &n)))
		goto fail;
	pthread_mutex_lock(&f->lock);
	if ((s = scratch_find(f, path))) {
		if (fi->flags & O_EXCL) {
			pthread_mutex_unlock(&f->lock);
			rc = -EEXIST;
			goto fail;
		}
		s->refs++;
		if (fi->flags & O_TRUNC)
			ops_scratch_truncate(s, 0);
		pthread_mutex_unlock(&f->lock);
		goto scratch;
	}
	if (n.kind == NODE_SCRATCH && n.writable_dir && ops_node_writable(f, &n)) {
		s = scratch_new(f, path, S_IFREG | (mode & 07777), ctx->uid, ctx->gid);
		scratch_set_owner(s, ctx->pid);
		s->refs++;
		pthread_mutex_unlock(&f->lock);
		goto scratch;
	}
	pthread_mutex_unlock(&f->lock);

	if (n.kind == NODE_SCRATCH) {
		ops_refuse(req, f, path, &n, "create", n.st && !ops_node_writable(f, &n) ? -EROFS : -EPERM,
			   "cannot create a file here");
		goto out;
	}
	if (n.kind != NODE_ENTITY && n.kind != NODE_MAIN && n.kind != NODE_NEW && n.kind != NODE_LOG) {
		rc = node_exists(f, &n) > 0 ? -EEXIST : -EPERM;
		goto fail;
	}
	if ((rc = ops_readonly_err(f, &n))) {
		ops_refuse(req, f, path, &n, "create", rc, "read-only");
		goto out;
	}
	ex = node_exists(f, &n);
	if (ex < 0) {
		rc = ex;
		goto fail;
	}
	if (n.kind == NODE_ENTITY && n.c->file) {
		rc = -EISDIR; /* directory entities are made with mkdir */
		goto fail;
	}
	if ((n.kind == NODE_MAIN || n.kind == NODE_LOG) && !ex) {
		rc = -ENOENT;
		goto fail;
	}
	if (hidden_has(f, path)) {
		/* An editor recreating the file it renamed to a backup: an update of that row. */
		hidden_set(f, path, BACKUP_OPEN);
		ex = 0;
		rc = ops_open_node(req, f, path, &n, fi, false);
		if (!rc) {
			ops_fh(fi)->dirty = true;
			ops_fh(fi)->data.len = 0;
		}
	} else if (ex && (fi->flags & O_EXCL)) {
		rc = -EEXIST;
	} else {
		rc = ops_open_node(req, f, path, &n, fi, !ex && n.kind == NODE_ENTITY);
	}
	if (rc)
		goto fail;
	if ((rc = ops_stat(f, path, ops_sid(req), &st))) {
		ops_handle_free(f, ops_fh(fi));
		goto fail;
	}
	goto reply;
scratch:
	ops_open_scratch(f, s, fi);
	pthread_mutex_lock(&f->lock);
	ops_scratch_stat(s, &st);
	pthread_mutex_unlock(&f->lock);
reply:
	{
		struct fuse_entry_param e;
		memset(&e, 0, sizeof(e));
		e.ino = inode_ref(f->inodes, path);
		e.attr = st;
		e.attr.st_ino = e.ino;
		if (fuse_reply_create(req, &e, fi) != 0) {
			inode_forget(f->inodes, e.ino, 1);
			ops_handle_free(f, ops_fh(fi));
		}
	}
	goto out;
fail:
	fuse_reply_err(req, -rc);
out:
	free(path);
	free(dir);
}

static void ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	fs *f = ops_fs(req);
	struct handle *h = ops_fh(fi);
	char *copy = NULL;
	size_t n = 0;

	if (h->scratch) {
		pthread_mutex_lock(&f->lock);
		if ((size_t)off < h->scratch->data.len) {
			n = h->scratch->data.len - (size_t)off;
			n = n < size ? n : size;
			copy = xmalloc(n);
			memcpy(copy, h->scratch->data.buf + off, n);
		}
		pthread_mutex_unlock(&f->lock);
		fuse_reply_buf(req, copy, n);
		free(copy);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if ((size_t)off < h->data.len) {
		n = h->data.len - (size_t)off;
		n = n < size ? n : size;
	}
	fuse_reply_buf(req, n ? h->data.buf + off : NULL, n);
	pthread_mutex_unlock(&h->lock);
}

static int ops_write_into(struct strbuf *sb, const char *buf, size_t size, off_t off, size_t limit)
{
	size_t end = (size_t)off + size;

	if (end > limit)
		return -EFBIG;
	if (end > sb->len) {
		strbuf_grow(sb, end - sb->len);
		if ((size_t)off > sb->len)
			memset(sb->buf + sb->len, 0, (size_t)off - sb->len);
		sb->len = end;
		sb->buf[end] = 0;
	}
	memcpy(sb->buf + off, buf, size);
	return 0;
}

static void ops_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	fs *f = ops_fs(req);
	struct handle *h = ops_fh(fi);
	int rc;

	if (h->scratch) {
		pthread_mutex_lock(&f->lock);
		rc = ops_write_into(&h->scratch->data, buf, size, off, STORE_MAX_DOCUMENT * 4);
		if (!rc) {
			clock_gettime(CLOCK_REALTIME, &h->scratch->mtime);
			h->scratch->ctime = h->scratch->mtime;
		}
		pthread_mutex_unlock(&f->lock);
	} else {
		pthread_mutex_lock(&h->lock);
		if (!h->writable)
			rc = -EBADF;
		else if (h->n.kind == NODE_LOG && (size_t)off < h->base)
			rc = -EPERM; /* logs are append-only */
		else if ((rc = ops_write_into(&h->data, buf, size, off,
					      h->n.kind == NODE_LOG ? h->base + STORE_MAX_DOCUMENT
								    : STORE_MAX_DOCUMENT)) == 0)
			h->dirty = h->written = true, h->failed = 0;
		pthread_mutex_unlock(&h->lock);
		if (rc == -EFBIG) {
			char *msg = xasprintf("too large: at most %u bytes per save", STORE_MAX_DOCUMENT);
			note_error(f, h->path, msg);
			ops_refuse(req, f, h->path, &h->n, "write", rc, msg);
			free(msg);
			return;
		}
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static void ops_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = ops_fh(fi);
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = ops_commit(ops_fs(req), req, h);
	pthread_mutex_unlock(&h->lock);
	fuse_reply_err(req, -rc);
}

static void ops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	ops_flush(req, ino, fi);
}

static void ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs *f = ops_fs(req);
	struct handle *h = ops_fh(fi);

	/* flush has committed; a buffer still dirty here failed and was reported then. */
	if (h->dirty && !h->scratch)
		ops_log("%s: closed with a refused change; the database keeps the last good version", h->path);
	ops_handle_free(f, h);
	fuse_reply_err(req, 0);
}

/* --- directories --- */

/* Forget scratch files their tools left behind (see scratch.c). */
static void ops_sweep(fs *f)
{
	char **gone;

	pthread_mutex_lock(&f->lock);
	gone = scratch_sweep(f);
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; gone && gone[i]; i++) {
		hidden_remove_backup(f, gone[i]);
		inode_detach(f->inodes, gone[i]);
		free(gone[i]);
	}
	free(gone);
}

struct ops_dirfill {
	struct dirhandle *d;
	unsigned char type;
	const char *suffix;
};

static void ops_dir_add(struct dirhandle *d, const char *name, unsigned char type)
{
	strbuf_add(&d->names, name, strlen(name) + 1);
	d->type = xrealloc(d->type, d->count + 1);
	d->type[d->count++] = type;
}

static int ops_dir_fn(void *arg, const char *key)
{
	struct ops_dirfill *df = arg;
	char name[NODE_NAME_MAX + 8];

	snprintf(name, sizeof(name), "%s%s", key, df->suffix);
	ops_dir_add(df->d, name, df->type);
	return 0;
}

static int ops_fill_dir(fs *f, const char *path, const struct node *n, struct dirhandle *d)
{
	struct ops_dirfill df = { d, DT_REG, "" };
	struct strbuf sb = STRBUF_INIT;
	size_t plen = strlen(path);
	int rc = 0;

	ops_dir_add(d, ".", DT_DIR);
	ops_dir_add(d, "..", DT_DIR);
	switch (n->kind) {
	case NODE_ROOT:
	case NODE_DB:
		for (size_t i = 0; i < f->nstores; i++) {
			const struct map_database *db = store_map(f->stores[i]);
			if (n->kind == NODE_ROOT && db->dir[0]) {
				ops_dir_add(d, db->dir, DT_DIR);
				continue;
			}
			if (f->stores[i] != n->st)
				continue;
			for (size_t j = 0; j < db->ncollections; j++)
				ops_dir_add(d, db->collections[j].dir, DT_DIR);
		}
		break;
	case NODE_COLLECTION:
		if (n->c->alloc)
			ops_dir_add(d, "new", DT_REG);
		for (size_t i = 0; i < n->c->nviews; i++)
			ops_dir_add(d, n->c->views[i].dir, DT_DIR);
		df.type = n->c->file ? DT_DIR : DT_REG;
		df.suffix = n->c->file ? "" : ".json";
		rc = store_list(n->st, n->c, ops_dir_fn, &df);
		break;
	case NODE_ENTITY:
		ops_dir_add(d, n->c->file, DT_REG);
		for (size_t i = 0; i < n->c->nlogs; i++)
			ops_dir_add(d, n->c->logs[i].file, DT_REG);
		for (size_t i = 0; i < n->c->nrelations; i++)
			ops_dir_add(d, n->c->relations[i].dir, DT_DIR);
		break;
	case NODE_REL_DIR:
		df.type = DT_LNK;
		rc = store_related(n->st, n->c, n->rel, n->key, ops_dir_fn, &df);
		break;
	case NODE_VIEW:
		df.type = DT_DIR;
		rc = store_view_values(n->st, n->c, n->view, ops_dir_fn, &df);
		break;
	case NODE_VIEW_VALUE:
		df.type = DT_LNK;
		rc = store_view_list(n->st, n->c, n->view, n->value, ops_dir_fn, &df);
		break;
	default:
		return -ENOTDIR;
	}
	if (rc)
		return rc;
	/* Scratch files of this directory, and .error when a save here failed. */
	ops_sweep(f);
	pthread_mutex_lock(&f->lock);
	for (struct scratch *s = f->scratch; s; s = s->next) {
		const char *rest;
		if (!s->path || strncmp(s->path, path, plen) != 0)
			continue;
		rest = s->path + plen + (plen > 1);
		if ((plen > 1 && s->path[plen] != '/') || strchr(rest, '/') || !*rest)
			continue;
		ops_dir_add(d, rest, s->is_link ? DT_LNK : DT_REG);
	}
	pthread_mutex_unlock(&f->lock);
	note_text(f, path, &sb);
	if (sb.len)
		ops_dir_add(d, ".error", DT_REG);
	strbuf_release(&sb);
	return 0;
}

static void ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs *f = ops_fs(req);
	char *path = inode_path(f->inodes, ino), *p;
	struct dirhandle *d;
	struct node n;
	int rc;

	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((rc = node_resolve(f, path, &n)) || (rc = node_exists(f, &n)) <= 0) {
		fuse_reply_err(req, rc < 0 ? -rc : ENOENT);
		free(path);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	strbuf_init(&d->names, 256);
	/* One snapshot per opendir: a listing never mixes two states. */
	if ((rc = ops_fill_dir(f, path, &n, d))) {
		strbuf_release(&d->names);
		free(d->type);
		free(d);
		fuse_reply_err(req, -rc);
		free(path);
		return;
	}
	d->name = xcalloc(d->count + 1, sizeof(char *));
	p = d->names.buf;
	for (size_t i = 0; i < d->count; i++, p += strlen(p) + 1)
		d->name[i] = p;
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
	free(path);
}

static void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;
	char *buf = xmalloc(size);
	size_t used = 0;

	for (size_t i = (size_t)off; i < d->count; i++) {
		struct stat st = { 0 };
		size_t len;
		st.st_ino = (ino_t)(i + 2); /* never 0: readdir(3) skips entries with inode 0 */
		st.st_mode = (mode_t)DTTOIF(d->type[i]);
		len = fuse_add_direntry(req, buf + used, size - used, d->name[i], &st, (off_t)i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;

	strbuf_release(&d->names);
	free(d->name);
	free(d->type);
	free(d);
	fuse_reply_err(req, 0);
}

static void ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = { 0 };

	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = NAME_MAX;
	sv.f_files = inode_count(ops_fs(req)->inodes);
	fuse_reply_statfs(req, &sv);
}

static void ops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
			 int flags)
{
	fuse_reply_err(req, ENOTSUP);
}

static void ops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	fuse_reply_err(req, ENODATA);
}

static void ops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.init = ops_init,
	.lookup = ops_lookup,
	.forget = ops_forget,
	.forget_multi = ops_forget_multi,
	.getattr = ops_getattr,
	.setattr = ops_setattr,
	.readlink = ops_readlink,
	.mkdir = ops_mkdir,
	.unlink = ops_unlink,
	.rmdir = ops_rmdir,
	.symlink = ops_symlink,
	.rename = ops_rename,
	.open = ops_open,
	.create = ops_create,
	.read = ops_read,
	.write = ops_write,
	.flush = ops_flush,
	.fsync = ops_fsync,
	.release = ops_release,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.releasedir = ops_releasedir,
	.statfs = ops_statfs,
	.setxattr = ops_setxattr,
	.getxattr = ops_getxattr,
	.listxattr = ops_listxattr,
};

const struct fuse_lowlevel_ops *fs_ops(void)
{
	return &ops;
}

fs *fs_new(const struct fs_options *opts, char **cause)
{
	fs *f = xcalloc(1, sizeof(*f));

	f->stores = opts->stores;
	f->nstores = opts->nstores;
	f->readonly = opts->readonly;
	f->uid = getuid();
	f->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &f->started);
	f->inodes = inode_table_new();
	f->scratch_grace = getenv("ORCHFS_SCRATCH_GRACE") ? atoi(getenv("ORCHFS_SCRATCH_GRACE")) : 30;
	pthread_mutex_init(&f->lock, NULL);
	inode_ref(f->inodes, "/");
	(void)cause;
	return f;
}

void fs_set_session(fs *f, struct fuse_session *se)
{
	f->se = se;
}

void fs_free(fs *f)
{
	if (!f)
		return;
	while (f->handles)
		ops_handle_free(f, f->handles);
	notes_free(f);
	inode_table_free(f->inodes);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
