/*
 * write.c - open files: reading snapshots, buffering writes, committing saves.
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
 * See docs/writing.md.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/internal.h"
#include "fs/render.h"

/* --- commits --- */

/* A save past STORE_MAX_DOCUMENT, as op: refused (audited, logged, in
 * .error), and req answered EFBIG when answer. */
static void write_too_large(fuse_req_t req, fs *f, const char *path, const struct node *n, const char *op,
			    bool answer)
{
	char *msg = xasprintf("too large: at most %u bytes per save", STORE_MAX_DOCUMENT);

	if (answer)
		fs_refuse(req, f, path, n, op, -EFBIG, msg);
	else
		fs_refusal(req, f, path, n, op, -EFBIG, msg);
	free(msg);
}

/* Is a line of a JSON Lines append blank (spaces, TABs, a CR)? It holds no row. */
static bool write_blank(const char *p, size_t n)
{
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	return n == 0;
}

/* Parse a document for a commit; on failure *cause says where. */
static int write_parse(const char *data, size_t len, cJSON **out, char **cause)
{
	size_t i = 0;

	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'))
		i++;
	*out = NULL;
	if (i == len) {
		*cause = xstrdup("empty file: write a JSON object (to delete, use rm)");
		return -EINVAL;
	}
	if (!(*out = json_parse(data, len, cause)))
		return -EINVAL;
	if (cJSON_IsObject(*out))
		return 0;
	cJSON_Delete(*out);
	*out = NULL;
	*cause = xstrdup("invalid content: expected a JSON object");
	return -EINVAL;
}

/* Is n a raw document (form "raw")? Emptying one is a change: an empty
 * JSON file means nothing, an empty text does. */
static bool write_is_raw(const struct node *n)
{
	return n->kind == NODE_ENTITY && n->c && n->c->content;
}

/* A raw document (form "raw"): the whole file is the text of its content field. */
static int write_raw(const struct handle *h, cJSON **out, char **cause)
{
	char *text;

	*out = NULL;
	if (h->data.len > STORE_MAX_DOCUMENT) {
		*cause = xasprintf("too large: %zu bytes, the limit is %u", h->data.len, STORE_MAX_DOCUMENT);
		return -EFBIG;
	}
	if (memchr(h->data.buf, 0, h->data.len)) {
		*cause = xstrdup("invalid content: not text (a NUL byte)");
		return -EINVAL;
	}
	if (!utf8_valid(h->data.buf, h->data.len)) {
		*cause = xstrdup("invalid content: not UTF-8 text");
		return -EINVAL;
	}
	text = xstrndup(h->data.buf, h->data.len);
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, h->n.c->content->name, text);
	free(text);
	return 0;
}

static const char *write_opname(const struct handle *h)
{
	if (h->n.kind == NODE_LOG)
		return "append";
	if (h->creating || h->n.kind == NODE_NEW)
		return "create";
	return "write";
}

/*
 * An agent's own tool calls, appended to audit.jsonl as JSON lines
 * {tool_name, arguments, result, duration_ms, status, task_id}: each becomes
 * an audit row, stamped with the time, pid, uid and process that wrote it.
 */
static int write_audit_lines(fs *f, struct handle *h, struct fs_actor *oa, char **cause)
{
	const char *p, *end = h->data.buf + h->data.len;
	cJSON *rows = cJSON_CreateArray(), *doc;
	size_t *ends = NULL, nrows = 0, k = 0; /* where each row's line ends */
	int line = 0, rc = 0;

	/* every line checked first: a bad one refuses the whole append */
	for (p = h->data.buf + h->base; !rc && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl ? nl : end;
		const cJSON *tool, *status;
		char *inner = NULL;
		line++;
		if (!write_blank(p, (size_t)(stop - p)) && (rc = write_parse(p, (size_t)(stop - p), &doc, &inner)) == 0) {
			tool = cJSON_GetObjectItemCaseSensitive(doc, "tool_name");
			status = cJSON_GetObjectItemCaseSensitive(doc, "status");
			cJSON_AddItemToArray(rows, doc);
			ends = xrealloc(ends, (nrows + 1) * sizeof(*ends));
			ends[nrows++] = (size_t)((nl ? nl + 1 : end) - h->data.buf);
			if (!cJSON_IsString(tool) || !*tool->valuestring) {
				inner = xstrdup("tool_name: required, a string");
				rc = -EINVAL;
			} else {
				rc = store_audit_status(cJSON_IsString(status) ? status->valuestring : "success", &inner);
			}
		}
		if (rc)
			*cause = xasprintf("line %d: %s", line, inner ? inner : strerror(-rc));
		free(inner);
		p = nl ? nl + 1 : end;
	}
	/* then each row in its own transaction, as a tool's calls come one by one */
	cJSON_ArrayForEach(doc, rows) {
		const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
		const cJSON *result = cJSON_GetObjectItemCaseSensitive(doc, "result");
		const cJSON *task = cJSON_GetObjectItemCaseSensitive(doc, "task_id");
		const cJSON *dur = cJSON_GetObjectItemCaseSensitive(doc, "duration_ms");
		struct store_actor who = oa->a;
		char *inner = NULL;
		if (rc)
			break;
		who.tool = cJSON_GetObjectItemCaseSensitive(doc, "tool_name")->valuestring;
		who.process = oa->comm;
		who.operation = "tool_call";
		who.path = NULL;
		rc = store_audit_append(h->n.st, &who, cJSON_IsString(status) ? status->valuestring : "success",
					cJSON_IsString(result) ? result->valuestring : NULL,
					cJSON_GetObjectItemCaseSensitive(doc, "arguments"),
					cJSON_IsString(task) ? task->valuestring : NULL,
					cJSON_IsNumber(dur) ? dur->valuedouble : 0, &inner);
		if (rc)
			*cause = xasprintf("%s", inner ? inner : strerror(-rc));
		else
			h->base = ends[k++]; /* kept: a later failure does not send it again */
		free(inner);
	}
	if (!rc)
		h->base = h->data.len; /* and the blank lines after the last row */
	cJSON_Delete(rows);
	free(ends);
	return rc;
}

/* Commit what a handle holds. Called with h->lock held. */
static int write_commit(fs *f, fuse_req_t req, struct handle *h)
{
	struct fs_actor oa;
	char *cause = NULL, *key = NULL, *parent, *name;
	cJSON *doc = NULL;
	bool audited = false, unchanged = false;
	int rc;

	if (!h->dirty || !h->written || h->scratch)
		return 0;
	if (h->failed)
		return h->failed;
	fs_actor(req, write_opname(h), h->path, &oa);
	if (h->n.kind == NODE_STREAM) {
		rc = write_audit_lines(f, h, &oa, &cause); /* a refused line is audited below */
	} else if (h->n.kind == NODE_LOG) {
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
			if (!write_blank(p, (size_t)(stop - p))) {
				if ((rc = write_parse(p, (size_t)(stop - p), &doc, &cause))) {
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
		if (!rc && cJSON_GetArraySize(rows) > 0 && (audited = true)) {
			cJSON *payload = cJSON_CreateObject();
			struct store_version before, after;
			cJSON_AddStringToObject(payload, "log", h->n.log->file);
			cJSON_AddItemToObject(payload, "rows", rows);
			if (!(rc = fs_permit(f, h->path, &h->n, &oa, payload, &cause))) {
				bool known = f->cache && store_version(h->n.st, &before) == 0;
				rc = store_log_append(h->n.st, h->n.c, h->n.log, h->n.key, rows, &oa.a, &cause);
				/* the cached log grows by these rows if this was the only commit */
				if (!rc && known && store_version(h->n.st, &after) == 0)
					cache_advance(f->cache, h->path, &before, &after, cJSON_GetArraySize(rows));
			}
			cJSON_DetachItemViaPointer(payload, rows);
			cJSON_Delete(payload);
		}
		cJSON_Delete(rows);
		if (!rc)
			h->base = h->data.len;
	} else if ((rc = h->n.c->content ? write_raw(h, &doc, &cause) : write_parse(h->data.buf, h->data.len, &doc,
												      &cause)) == 0 &&
		   (audited = true) && (rc = fs_permit(f, h->path, &h->n, &oa, doc, &cause)) == 0) {
		if (h->n.kind == NODE_NEW) {
			rc = store_create(h->n.st, h->n.c, NULL, doc, &oa.a, &key, &cause);
			if (!rc) {
				node_split(h->path, &parent, &name);
				newkey_set(f, h->sid, parent, key);
				fs_log("%s: created %s/%s by %s[%d]", h->path, h->n.c->dir, key, oa.comm,
					(int)oa.a.pid);
				free(parent);
				free(name);
			}
		} else if (h->creating) {
			rc = store_create(h->n.st, h->n.c, h->n.key, doc, &oa.a, NULL, &cause);
		} else {
			/* a save that changes nothing (an editor writing back what it
			 * read after a refused save) leaves .error saying why that was */
			if ((rc = store_patch(h->n.st, h->n.c, h->n.key, doc, &oa.a, &cause)) == STORE_UNCHANGED)
				unchanged = true, rc = 0;
		}
	}
	if (rc && h->n.kind == NODE_NEW) {
		/* `cat new` must not show the key of an earlier create as this one's */
		node_split(h->path, &parent, &name);
		newkey_set(f, h->sid, parent, "");
		free(parent);
		free(name);
	}
	if (rc) {
		if (!cause)
			cause = xstrdup(strerror(-rc));
		/* The store audits what reaches it; content refused before that is audited here. */
		if (!audited)
			store_refused(h->n.st, h->n.c, h->n.key[0] ? h->n.key : NULL, &oa.a, rc, cause);
		note_error(f, h->path, cause);
		h->failed = rc;
		fs_log("%s: %s (%s, by %s[%d])", h->path, cause, strerror(-rc), oa.comm, (int)oa.a.pid);
	} else {
		h->dirty = false;
		h->creating = false;
		if (!unchanged)
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

struct handle *handle_new(fs *f, const char *path, const struct node *n, bool writable, pid_t sid)
{
	struct handle *h = xcalloc(1, sizeof(*h));

	h->path = xstrdup(path);
	if (n)
		h->n = *n;
	pthread_mutex_init(&h->lock, NULL);
	strbuf_init(&h->data, 0);
	h->spill = -1;
	h->writable = writable;
	h->sid = sid;
	pthread_mutex_lock(&f->lock);
	h->next = f->handles;
	f->handles = h;
	pthread_mutex_unlock(&f->lock);
	return h;
}

void handle_free(fs *f, struct handle *h)
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
	if (h->spill >= 0)
		close(h->spill);
	stream_reader_free(h->lazy);
	free(h->path);
	free(h);
}

size_t handle_size(const struct handle *h)
{
	if (h->lazy)
		return stream_reader_size(h->lazy);
	return h->spill >= 0 ? h->spill_len : h->data.len;
}

/* The id (its field named id) of the last line h holds, or INT64_MIN (none). */
static int64_t handle_last_id(const struct handle *h, const char *id)
{
	size_t len = handle_size(h), chunk = 1 << 14;
	int64_t last = INT64_MIN;
	char *buf = NULL;

	while (len) {
		size_t from = len > chunk ? len - chunk : 0, n = len - from, start;
		const cJSON *v;
		const char *p;
		cJSON *row;
		if (h->spill >= 0) {
			buf = xrealloc(buf, n);
			if (pread(h->spill, buf, n, (off_t)from) != (ssize_t)n)
				break;
			p = buf;
		} else {
			p = h->data.buf + from;
		}
		/* the line starts after the newline before its own */
		for (start = n - 1; start > 0 && p[start - 1] != '\n'; start--)
			;
		if (start == 0 && from > 0) {
			chunk *= 4; /* a line longer than that: look further back */
			continue;
		}
		row = cJSON_ParseWithLength(p + start, n - start);
		v = cJSON_GetObjectItemCaseSensitive(row, id);
		if (cJSON_IsNumber(v))
			last = (int64_t)v->valuedouble;
		cJSON_Delete(row);
		break;
	}
	free(buf);
	return last;
}

static int handle_add_row(void *arg, const cJSON *row)
{
	render_line(row, arg);
	return 0;
}

/*
 * The audit log, the feed and logs are appended to in id order: a reader
 * that holds their whole rendering (no stream reader: PostgreSQL, no cache;
 * a log read to its end) takes the rows after its last one. Rows changed
 * before its end since it opened are not seen: it reads on from what it has,
 * never other bytes.
 */
static void handle_refresh_rows(fs *f, struct handle *h)
{
	struct strbuf add = STRBUF_INIT;
	int64_t last = handle_last_id(h, stream_id_field(&h->n));
	int rc;

	if (last == INT64_MIN && handle_size(h))
		return; /* its last line has no id: not one of these */
	strbuf_init(&add, 1024);
	rc = stream_rows_after(&h->n, last, handle_add_row, &add);
	if (rc == 0 && add.len && (rc = view_spill_add(f, &h->data, &h->spill, &h->spill_len, &add)))
		fs_log("%s: cannot keep the rows added since its reader opened: %s", h->path, strerror(-rc));
	strbuf_release(&add);
}

void handle_refresh(fs *f, struct handle *h, off_t off)
{
	bool at_start = off == 0, at_end = off >= 0 && (size_t)off >= handle_size(h);
	struct strbuf sb = STRBUF_INIT;
	struct timespec mt;
	struct store_version v;
	bool known;
	size_t size;
	int fd = -1;

	if ((h->n.kind != NODE_LOG && h->n.kind != NODE_FEED &&
	     !(h->n.kind == NODE_STREAM && store_is_audit(h->n.st, h->n.c))) || h->writable || h->scratch)
		return;
	/* A reader at the end of a log, the feed or the audit log (tail -f) sees
	 * rows appended since it opened: they only grow, so the new rendering
	 * extends the old. Nothing committed since the last look: nothing to
	 * render. */
	known = store_version(h->n.st, &v) == 0;
	if (known && h->have_v && store_version_same(&v, &h->v) && !(at_start && h->rewritten))
		return;
	if (h->lazy || h->n.kind != NODE_LOG) { /* the audit log or the feed: the new rows' lines only */
		if (h->lazy)
			stream_reader_refresh(h->path, &h->n, h->lazy); /* stream.c */
		else
			handle_refresh_rows(f, h);
		h->v = v;
		h->have_v = known;
		return;
	}
	strbuf_init(&sb, h->spill >= 0 ? 0 : h->data.len + 4096);
	if (view_render(f, h->path, &h->n, h->sid, &sb, &fd, &size, &mt) == 0) {
		/* 1: the rows it holds, maybe more; 0: some of them changed or went */
		int grown = size >= handle_size(h) ? view_prefix(&h->data, h->spill, handle_size(h), &sb, fd, size) : 0;
		if (grown == 0 && at_end && !at_start) {
			/* a reader that has read it all (tail -f) reads on: the rows
			 * added after its last one; what changed before, it has read */
			handle_refresh_rows(f, h);
		} else if ((grown == 1 && size > handle_size(h)) || (grown == 0 && at_start)) {
			strbuf_release(&h->data);
			h->data = sb;
			if (h->spill >= 0)
				close(h->spill);
			h->spill = fd;
			h->spill_len = size;
			h->mtime = mt;
			h->rewritten = false;
			fd = -1;
			strbuf_init(&sb, 0);
		} else if (grown == 0 && !h->rewritten) {
			h->rewritten = true;
			fs_log("%s: rows were rewritten or removed under a reader in the middle of it: its reads fail "
			       "with ESTALE until it reads from the start again", h->path);
		}
	}
	strbuf_release(&sb);
	if (fd >= 0)
		close(fd);
	h->v = v;
	h->have_v = known;
}

struct handle *handle_of(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static void write_scratch_truncate(struct scratch *s, size_t size)
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

/*
 * truncate(2) by path: what an open, ftruncate and close would do. To 0 a
 * document's file is a save of nothing (no change) and a raw document's is
 * emptied; to another size the file is cut or padded with spaces and saved.
 */
static int write_truncate_path(fuse_req_t req, fs *f, const char *path, const struct node *n, off_t size)
{
	struct handle h = { 0 };
	struct timespec mt;
	int rc;

	if ((rc = fs_readonly_err(f, n)))
		return rc;
	if ((size_t)size > STORE_MAX_DOCUMENT) { /* refused, and audited as every refusal is */
		write_too_large(req, f, path, n, "setattr", true);
		return 1; /* answered */
	}
	h.path = (char *)path;
	h.n = *n;
	h.spill = -1;
	h.dirty = true;
	h.written = size > 0 || write_is_raw(n);
	strbuf_init(&h.data, 0);
	if (size > 0 && (rc = view_content(f, path, n, 0, &h.data, &mt)) == 0) {
		if ((size_t)size > h.data.len) {
			strbuf_grow(&h.data, (size_t)size - h.data.len);
			memset(h.data.buf + h.data.len, ' ', (size_t)size - h.data.len);
		}
		h.data.len = (size_t)size;
		h.data.buf[h.data.len] = 0;
	}
	if (!rc)
		rc = write_commit(f, req, &h);
	strbuf_release(&h.data);
	return rc;
}

void write_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	fs *f = fs_of(req);
	struct handle *h = fi ? handle_of(fi) : NULL;
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
			else if (!fs_scratch_room(f, s, (size_t)attr->st_size))
				rc = -ENOSPC;
			else
				write_scratch_truncate(s, (size_t)attr->st_size);
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

	if (!h && path && node_resolve(f, path, &n) == 0 && n.st && fs_readonly_err(f, &n)) {
		fs_refuse(req, f, path, &n, "setattr", -EROFS, "read-only");
		free(path);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!h) {
			if (path && node_resolve(f, path, &n) == 0 && (n.kind == NODE_ENTITY || n.kind == NODE_MAIN) &&
			    !(n.kind == NODE_ENTITY && n.c->file))
				rc = write_truncate_path(req, f, path, &n, attr->st_size);
			else
				rc = path ? -EPERM : -ENOENT;
			if (rc == 1) { /* refused and answered there */
				free(path);
				return;
			}
			goto reply;
		}
		pthread_mutex_lock(&h->lock);
		if (!h->writable)
			rc = -EBADF;
		else if (h->n.kind == NODE_LOG && (size_t)attr->st_size != h->data.len)
			rc = -EPERM; /* logs cannot be truncated */
		else if ((size_t)attr->st_size > STORE_MAX_DOCUMENT) {
			/* as a write past the limit: nothing of this save will be
			 * committed, close() says EFBIG too, refused and audited once */
			bool first = h->failed != -EFBIG;
			h->dirty = h->written = true;
			h->failed = -EFBIG;
			pthread_mutex_unlock(&h->lock);
			if (first)
				write_too_large(req, f, h->path, &h->n, "setattr", true);
			else
				fuse_reply_err(req, EFBIG);
			free(path);
			return;
		} else if ((size_t)attr->st_size != h->data.len) {
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
			h->written = h->written || write_is_raw(&h->n);
		}
		pthread_mutex_unlock(&h->lock);
	}
	/* chmod, chown and utimens on rows: accepted and not kept (the row decides),
	 * except where nothing may change. */
	if (!h && path && node_resolve(f, path, &n) == 0 && n.st && fs_readonly_err(f, &n)) {
		fs_refuse(req, f, path, &n, "setattr", -EROFS, "read-only");
		free(path);
		return;
	}
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

/* Commit a scratch file's bytes onto the entity at path (rename over). A
 * backup renamed back unchanged (an editor undoing a failed save) is no save
 * at all: nothing to commit, nothing to audit. */
int write_apply_scratch(fuse_req_t req, fs *f, struct scratch *s, const char *from, const char *path,
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
		rc = view_content(f, path, n, 0, &cur, &mt);
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

	pthread_mutex_lock(&f->lock);
	ex = s->data.len > STORE_MAX_DOCUMENT;
	pthread_mutex_unlock(&f->lock);
	if (ex) { /* a save by rename has the limit of one by write; the caller answers */
		write_too_large(req, f, path, n, "write", false);
		return -EFBIG;
	}
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
	rc = write_commit(f, req, &h);
	strbuf_release(&h.data);
	return rc;
}

/* A log opened to be rewritten (O_TRUNC: `>`, not `>>`): refused, EPERM */
#define WRITE_LOG_TRUNCATED "a log is only appended to (>>): its rows are not rewritten"

/* Open path (as node n) for a handle; fills fi. */
static int write_open_node(fuse_req_t req, fs *f, const char *path, const struct node *n, struct fuse_file_info *fi,
			 bool creating)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct timespec mt;
	struct handle *h;
	size_t size;
	int rc;

	bool audit_append = writing && n->kind == NODE_STREAM && store_is_audit(n->st, n->c) && !f->readonly &&
			    !store_readonly(n->st) && (fi->flags & O_APPEND);

	if (writing && !audit_append && (rc = fs_readonly_err(f, n)))
		return rc;
	switch (n->kind) {
	case NODE_ENTITY:
	case NODE_MAIN:
	case NODE_LOG:
	case NODE_NEW:
	case NODE_ERROR:
	case NODE_STREAM:
	case NODE_FEED:
	case NODE_SEARCH:
	case NODE_TRASH:
	case NODE_BLOB:
		break;
	default:
		return -EISDIR;
	}
	if (writing && !audit_append && (n->kind == NODE_ERROR || n->kind == NODE_STREAM || n->kind == NODE_FEED ||
			n->kind == NODE_SEARCH || n->kind == NODE_TRASH || n->kind == NODE_BLOB))
		return -EROFS;
	if (n->kind == NODE_LOG && (fi->flags & O_TRUNC) && writing)
		return -EPERM;
	/* only `new` remembers what a session created: no getsid for every open */
	h = handle_new(f, path, n, writing, n->kind == NODE_NEW ? fs_sid(req) : 0);
	h->pid = writing ? fs_pid(req) : 0; /* whose save fs_stop refuses: a writer's only */
	h->uid = fuse_req_ctx(req)->uid;
	h->creating = creating;
	if (!writing)
		h->have_v = n->st && store_version(n->st, &h->v) == 0;
	mt = f->started;
	if ((fi->flags & O_ACCMODE) == O_WRONLY && (fi->flags & O_APPEND) &&
	    (n->kind == NODE_LOG || audit_append)) {
		/* `>>` on a log: what is there already is never read, so not rendered */
		if (n->kind == NODE_LOG && (rc = node_exists(f, n)) <= 0) {
			handle_free(f, h);
			return rc ? rc : -ENOENT;
		}
	} else if (creating || (writing && (fi->flags & O_TRUNC)) || n->kind == NODE_NEW) {
		h->dirty = writing && n->kind != NODE_NEW ? true : false;
		h->written = h->dirty && write_is_raw(n); /* `> doc.md` empties it */
		if (n->kind == NODE_NEW && !writing)
			view_content(f, path, n, h->sid, &h->data, &mt);
	} else if (!writing && (n->kind == NODE_STREAM || n->kind == NODE_FEED) &&
		   stream_reader_open(f, path, n, &h->lazy, &size, &mt) == 0) {
		/* the audit log or the feed: rows are rendered as they are read (stream.c) */
	} else if ((rc = view_render(f, path, n, h->sid, &h->data, writing ? NULL : &h->spill, &size, &mt))) {
		handle_free(f, h);
		return rc;
	}
	if (h->spill >= 0)
		h->spill_len = size;
	h->base = h->data.len;
	h->mtime = mt;
	/* >> new: the kernel puts the write at the end of what new shows (the
	 * last key made), which would leave NULs before it; it is a document */
	h->append = writing && (n->kind == NODE_LOG || n->kind == NODE_NEW || audit_append) && (fi->flags & O_APPEND);
	fi->fh = (uint64_t)(uintptr_t)h;
	/* No page cache for rows' files: a writer's bytes in the kernel's cache
	 * of the inode would otherwise be what a concurrent reader reads, and
	 * every reader must see one version of the row, the one it opened. */
	fi->keep_cache = 0;
	fi->direct_io = 1;
	return 0;
}

static int write_open_scratch(fs *f, struct scratch *s, struct fuse_file_info *fi)
{
	struct handle *h = handle_new(f, s->path, NULL, (fi->flags & O_ACCMODE) != O_RDONLY, 0);

	/* called with f->lock held for s; the handle list takes it too, so add after */
	h->scratch = s;
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

void write_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs *f = fs_of(req);
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
			write_scratch_truncate(s, 0);
		pthread_mutex_unlock(&f->lock);
		write_open_scratch(f, s, fi);
		fuse_reply_open(req, fi);
		free(path);
		return;
	}
	pthread_mutex_unlock(&f->lock);
	if ((rc = node_resolve(f, path, &n)) == 0) {
		rc = write_open_node(req, f, path, &n, fi, false);
		if (rc == -EROFS || (rc == -EPERM && n.kind == NODE_LOG)) {
			fs_refuse(req, f, path, &n, "open", rc,
				  rc == -EROFS ? "read-only" : WRITE_LOG_TRUNCATED);
			rc = 1; /* answered */
		}
	}
	if (rc == 1)
		;
	else if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_open(req, fi) != 0)
		handle_free(f, handle_of(fi));
	free(path);
}

void write_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	fs *f = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char *dir = inode_path(f->inodes, parent), *path = NULL;
	struct scratch *s;
	struct stat st;
	struct node n = { .kind = NODE_ROOT };
	int rc, ex;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (strlen(name) > NAME_MAX) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	path = fs_child(dir, name);
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
			write_scratch_truncate(s, 0);
		pthread_mutex_unlock(&f->lock);
		goto scratch;
	}
	if (n.kind == NODE_SCRATCH && n.c && !n.c->file && name[0] != '.' &&
	    strlen(name) > strlen(map_suffix(n.c)) && node_ends_with(name, map_suffix(n.c))) {
		/* meant as an entity, but no key can be made of it: say so, keep nothing */
		pthread_mutex_unlock(&f->lock);
		fs_refuse(req, f, path, &n, "create", -EINVAL,
			  "invalid key: use printable characters, no '/', no leading '.', at most 200 bytes");
		goto out;
	}
	if (n.kind == NODE_SCRATCH && n.writable_dir && fs_writable(f, &n)) {
		s = scratch_new(f, path, S_IFREG | (mode & 07777), ctx->uid, ctx->gid);
		scratch_set_owner(s, fs_pid(req));
		s->refs++;
		pthread_mutex_unlock(&f->lock);
		goto scratch;
	}
	pthread_mutex_unlock(&f->lock);

	if (n.kind == NODE_SCRATCH) {
		fs_refuse(req, f, path, &n, "create", n.st && !fs_writable(f, &n) ? -EROFS : -EPERM,
			   "cannot create a file here");
		goto out;
	}
	if (n.kind == NODE_TRASH && node_exists(f, &n) <= 0) {
		/* refused as every change is: audited, logged, in .error */
		fs_refuse(req, f, path, &n, "create", -EROFS, "nothing is put in .trash/ but by rm");
		goto out;
	}
	if (n.kind != NODE_ENTITY && n.kind != NODE_MAIN && n.kind != NODE_NEW && n.kind != NODE_LOG) {
		rc = node_exists(f, &n) > 0 ? -EEXIST : fs_readonly_err(f, &n) ? -EROFS : -EPERM;
		goto fail;
	}
	if ((rc = fs_readonly_err(f, &n))) {
		fs_refuse(req, f, path, &n, "create", rc, "read-only");
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
		rc = write_open_node(req, f, path, &n, fi, false);
		if (!rc) {
			handle_of(fi)->dirty = true;
			handle_of(fi)->data.len = 0;
		}
	} else if (ex && (fi->flags & O_EXCL)) {
		rc = -EEXIST;
	} else {
		rc = write_open_node(req, f, path, &n, fi, !ex && n.kind == NODE_ENTITY);
	}
	if (rc)
		goto fail;
	if ((rc = view_stat(f, req, path, &st))) {
		handle_free(f, handle_of(fi));
		goto fail;
	}
	goto reply;
scratch:
	write_open_scratch(f, s, fi);
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&f->lock);
	view_scratch_stat(s, &st);
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
			handle_free(f, handle_of(fi));
		}
	}
	goto out;
fail:
	if (rc == -EPERM && n.kind == NODE_LOG)
		fs_refuse(req, f, path, &n, "create", rc, WRITE_LOG_TRUNCATED);
	else
		fuse_reply_err(req, -rc);
out:
	free(path);
	free(dir);
}

void write_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	fs *f = fs_of(req);
	struct handle *h = handle_of(fi);
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
	/* a reader of a log back at its start (tail -f after "file truncated")
	 * reads what the log holds now */
	if ((size_t)off + size > handle_size(h) || (off == 0 && h->was_read && h->n.kind == NODE_LOG))
		handle_refresh(fs_of(req), h, off);
	h->was_read = true;
	if (h->rewritten) {
		fuse_reply_err(req, ESTALE);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	if ((size_t)off < handle_size(h)) {
		n = handle_size(h) - (size_t)off;
		n = n < size ? n : size;
	}
	if (h->lazy) {
		size_t win = stream_reader_window(h->lazy);
		int rc = 0;
		/* at the end too: a reader whose snapshot went is told so, not given an end */
		if (!n || (size_t)off < win || (size_t)off + n > win + h->data.len) {
			rc = stream_reader_read(h->path, &h->n, h->lazy, &h->data, (size_t)off, n);
			win = (size_t)off;
		}
		if (rc)
			fuse_reply_err(req, -rc);
		else if ((size_t)off + n > win + h->data.len)
			fuse_reply_err(req, EIO); /* the rows render shorter than the snapshot: cannot be */
		else
			fuse_reply_buf(req, n ? h->data.buf + (off - win) : NULL, n);
	} else if (h->spill >= 0 && n) {
		ssize_t got;
		copy = xmalloc(n);
		while ((got = pread(h->spill, copy, n, off)) < 0 && errno == EINTR)
			;
		if (got < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_buf(req, copy, (size_t)got);
		free(copy);
	} else {
		fuse_reply_buf(req, n ? h->data.buf + off : NULL, n);
	}
	pthread_mutex_unlock(&h->lock);
}

static int write_into(struct strbuf *sb, const char *buf, size_t size, off_t off, size_t limit)
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

void write_data(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	fs *f = fs_of(req);
	struct handle *h = handle_of(fi);
	bool first_efbig = false;
	int rc;

	if (h->scratch) {
		pthread_mutex_lock(&f->lock);
		if ((size_t)off + size <= STORE_MAX_DOCUMENT * 4 && !fs_scratch_room(f, h->scratch, (size_t)off + size))
			rc = -ENOSPC; /* all scratch files together are full */
		else
			rc = write_into(&h->scratch->data, buf, size, off, STORE_MAX_DOCUMENT * 4);
		if (!rc) {
			clock_gettime(CLOCK_REALTIME, &h->scratch->mtime);
			h->scratch->ctime = h->scratch->mtime;
		}
		pthread_mutex_unlock(&f->lock);
	} else {
		pthread_mutex_lock(&h->lock);
		if (h->append)
			off = (off_t)h->data.len; /* the kernel's idea of the end may be older than ours */
		if (!h->writable)
			rc = -EBADF;
		else if (h->n.kind == NODE_LOG && (size_t)off < h->base)
			rc = -EPERM; /* logs are append-only */
		else if ((rc = write_into(&h->data, buf, size, off,
					      h->n.kind == NODE_LOG ? h->base + STORE_MAX_DOCUMENT
								    : STORE_MAX_DOCUMENT)) == 0) {
			h->dirty = h->written = true;
			if (h->failed != -EFBIG)
				h->failed = 0;
		}
		first_efbig = rc == -EFBIG && h->failed != -EFBIG;
		if (rc == -EFBIG) {
			/* Nothing of this save will be committed: close() says EFBIG too. */
			h->dirty = h->written = true;
			h->failed = -EFBIG;
		}
		pthread_mutex_unlock(&h->lock);
		if (first_efbig) {
			write_too_large(req, f, h->path, &h->n, "write", true);
			return;
		}
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

void write_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = write_commit(fs_of(req), req, h);
	pthread_mutex_unlock(&h->lock);
	fuse_reply_err(req, -rc);
}

void write_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	write_flush(req, ino, fi);
}

void write_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs *f = fs_of(req);
	struct handle *h = handle_of(fi);

	/* flush has committed; a buffer still dirty here failed and was reported
	 * then (one truncated and never written holds no change at all) */
	if (h->dirty && h->written && !h->scratch)
		fs_log("%s: closed with a refused change; the database keeps the last good version", h->path);
	handle_free(f, h);
	fuse_reply_err(req, 0);
}

/*
 * The session ended with files still open: a signal stopped the daemon, or
 * the connection was aborted (an unmount waits for open files; see
 * cmd_mount.c). A save is committed when its writer closes the file, and
 * that close will never reach us: the kernel answers it ENOTCONN. So each
 * writer's bytes not yet committed are refused here, in the log and the
 * audit log, never dropped silently. Called after the loop, single-threaded.
 */
void fs_stop(fs *f, const char *why)
{
	struct handle *h;
	struct fs_actor oa;
	char *reason = xasprintf("not saved: the mount stopped (%s) while the file was open for writing", why);

	pthread_mutex_lock(&f->lock);
	for (h = f->handles; h; h = h->next) {
		pthread_mutex_lock(&h->lock);
		if (h->writable && !h->scratch && h->n.st && h->dirty && h->written && !h->failed) {
			fs_actor_pid(h->pid, h->uid, write_opname(h), h->path, &oa);
			fs_log("%s: %s (by %s[%d])", h->path, reason, oa.comm, (int)h->pid);
			store_refused(h->n.st, h->n.c, h->n.key[0] ? h->n.key : NULL, &oa.a, -ENOTCONN, reason);
			h->failed = -ENOTCONN;
		}
		pthread_mutex_unlock(&h->lock);
	}
	pthread_mutex_unlock(&f->lock);
	free(reason);
}
