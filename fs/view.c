/*
 * view.c - what a path shows: the bytes a read returns (rendered from the
 * row on open, so one open sees one version and st_size is exactly what a
 * read returns) and the attributes stat reports (mtime from the row's
 * updated field, modes from the mapping: 0600 where a secret lives,
 * read-only places without write bits). view_render is the way in: it
 * renders at most once per state of the database (cache.c).
 *
 * Memory. A stream (audit.jsonl of a million tool calls is ~400 MB), the
 * change feed or a long log can be far larger than anything the daemon
 * should hold. Rows are rendered into memory up to fs->spill_bytes (twice
 * the cache's limit); past that, an OPEN's snapshot goes on into an
 * unlinked temporary file (in $TMPDIR, else /var/tmp: the kernel's page
 * cache holds it, and gives it back under pressure) which reads are served
 * from, and a stat's rendering is only counted. One open still sees one
 * version, whole; the daemon's memory stays bounded by limits, not rows.
 * The audit log and the feed, the longest, are not rendered at the open
 * at all where the cache follows them: their readers render the rows
 * they read (stream_reader_*, stream.c).
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

/* --- attributes --- */

bool view_has_secret(const struct map_collection *c)
{
	for (size_t i = 0; i < c->ncolumns; i++)
		if (c->columns[i].secret)
			return true;
	return false;
}

/* The time a document says it last changed (its updated field), or the mount's start. */
static struct timespec view_doc_time(fs *f, const struct node *n, const cJSON *doc)
{
	struct timespec ts = f->started;
	const cJSON *v;
	int64_t ms;

	const struct map_column *col = n->c ? (n->c->updated ? n->c->updated : n->c->created) : NULL;

	if (col && (v = cJSON_GetObjectItemCaseSensitive(doc, col->name)) && cJSON_IsString(v) &&
	    time_parse_iso(v->valuestring, &ms) == 0 && TIME_FINITE(ms)) {
		ts.tv_sec = ms / 1000 - (ms % 1000 < 0);
		ts.tv_nsec = (ms - (int64_t)ts.tv_sec * 1000) * 1000000;
	}
	return ts;
}

/* Where a relation or view link points: relative to its directory, three levels down. */
static void view_link_target(const struct node *n, struct strbuf *out)
{
	const struct map_collection *t = n->kind == NODE_REL_LINK ? n->rel->target : n->c;
	const char *key = n->kind == NODE_REL_LINK ? n->target : n->key;

	strbuf_addstr(out, "../../../");
	strbuf_addf(out, "%s/%s%s", t->dir, key, map_suffix(t));
}

/* Where a rendering goes: into sb; past limit bytes (0: no limit) into the
 * temporary file fd, or, when a size is all that is wanted (count), nowhere:
 * the bytes are counted and dropped. moved: bytes written to fd or dropped. */
struct view_out {
	struct strbuf *sb;
	size_t limit;
	bool count;
	int fd;
	size_t moved;
	int err;             /* the temporary file could not be made or written: -errno */
	const char *dir;
};

static int view_spill_open(const char *dir)
{
	char *tmpl;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd : -errno;
	/* a filesystem without O_TMPFILE: a named file, unlinked at once */
	tmpl = xasprintf("%s/orchfs-spill.XXXXXX", dir);
	if ((fd = mkostemp(tmpl, O_CLOEXEC)) >= 0)
		unlink(tmpl);
	free(tmpl);
	return fd >= 0 ? fd : -errno;
}

/* All of buf at off in fd: 0 or -errno. */
static int view_pwrite(int fd, const char *buf, size_t len, size_t off)
{
	while (len) {
		ssize_t w = pwrite(fd, buf, len, (off_t)off);
		if (w < 0 && errno != EINTR)
			return -errno;
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			off += (size_t)w;
		}
	}
	return 0;
}

static void view_out_write(struct view_out *o)
{
	if (!o->err && !(o->err = view_pwrite(o->fd, o->sb->buf, o->sb->len, o->moved)))
		o->moved += o->sb->len;
	o->sb->len = 0;
}

int view_spill_add(fs *f, struct strbuf *data, int *spill, size_t *spill_len, const struct strbuf *add)
{
	size_t at = *spill >= 0 ? *spill_len : data->len;
	int fd = *spill, rc;

	if (fd < 0 && (!f->spill_bytes || data->len + add->len <= f->spill_bytes)) {
		strbuf_add(data, add->buf, add->len);
		return 0;
	}
	/* past the limit: what it holds goes to a temporary file first */
	if (fd < 0 && (fd = view_spill_open(f->spill_dir)) >= 0 && (rc = view_pwrite(fd, data->buf, data->len, 0))) {
		close(fd);
		return rc;
	}
	if (fd < 0)
		return fd;
	if ((rc = view_pwrite(fd, add->buf, add->len, at))) {
		if (fd != *spill)
			close(fd);
		return rc;
	}
	if (fd != *spill) {
		strbuf_release(data);
		*spill = fd;
	}
	*spill_len = at + add->len;
	return 0;
}

/* After each row: past the limit, the bytes leave memory. */
static void view_out_check(struct view_out *o)
{
	if (!o->limit || o->sb->len < o->limit || o->err)
		return;
	if (o->count) {
		o->moved += o->sb->len;
		o->sb->len = 0;
		return;
	}
	if (o->fd < 0 && (o->fd = view_spill_open(o->dir)) < 0) {
		o->err = o->fd;
		o->fd = -1;
		return;
	}
	view_out_write(o);
}

/* The rendering is complete: its size; the rest to the file if it has one. */
static int view_out_end(struct view_out *o, size_t *size)
{
	if (o->fd >= 0 && !o->err)
		view_out_write(o);
	*size = o->moved + o->sb->len;
	return o->err;
}

int view_prefix(const struct strbuf *a, int afd, size_t alen, const struct strbuf *b, int bfd, size_t blen)
{
	enum { CHUNK = 1 << 16 };
	char *ab = NULL, *bb = NULL;
	int rc = 1;

	if (alen > blen)
		return 0;
	if (afd >= 0)
		ab = xmalloc(CHUNK);
	if (bfd >= 0)
		bb = xmalloc(CHUNK);
	for (size_t off = 0; rc == 1 && off < alen; off += CHUNK) {
		size_t n = alen - off < CHUNK ? alen - off : CHUNK;
		const char *pa = a ? a->buf + off : NULL, *pb = b ? b->buf + off : NULL;
		if (afd >= 0 && pread(afd, ab, n, (off_t)off) != (ssize_t)n)
			rc = -EIO;
		else if (bfd >= 0 && pread(bfd, bb, n, (off_t)off) != (ssize_t)n)
			rc = -EIO;
		else if (memcmp(afd >= 0 ? ab : pa, bfd >= 0 ? bb : pb, n) != 0)
			rc = 0;
	}
	free(ab);
	free(bb);
	return rc;
}

struct view_log_ctx {
	struct view_out *out;
	const struct map_log *log;  /* for a log: its rows' time field moves st_mtime */
	struct timespec *mtime;
	int rows;
	struct stream_state *stream; /* a stream whose size the cache follows (stream.c), or NULL */
};

static int view_log_row(void *arg, const cJSON *row)
{
	struct view_log_ctx *lc = arg;
	size_t was = lc->out->sb->len;

	lc->rows++;
	render_line(row, lc->out->sb);
	if (lc->stream)
		stream_row(lc->stream, row, lc->out->sb->len - was);
	view_out_check(lc->out);
	if (lc->out->err)
		return lc->out->err; /* no temporary file: stop here, rather than go on in memory */
	for (size_t i = 0; lc->log && i < lc->log->ncolumns; i++) {
		const cJSON *v;
		int64_t ms;
		if (lc->log->columns[i].type != MAP_TIMESTAMP)
			continue;
		v = cJSON_GetObjectItemCaseSensitive(row, lc->log->columns[i].name);
		if (cJSON_IsString(v) && time_parse_iso(v->valuestring, &ms) == 0 && TIME_FINITE(ms) &&
		    ms > (int64_t)lc->mtime->tv_sec * 1000 + lc->mtime->tv_nsec / 1000000) {
			lc->mtime->tv_sec = ms / 1000 - (ms % 1000 < 0);
			lc->mtime->tv_nsec = (ms - (int64_t)lc->mtime->tv_sec * 1000) * 1000000;
		}
		break;
	}
	return 0;
}

/*
 * The bytes a read of n returns, into out; *mtime from the row. For a
 * directory entity only *mtime is set. -ENOENT if the row is gone. For a
 * log, *last_id (if not NULL) gets its newest row's id.
 */
static int view_content_id(fs *f, const char *path, const struct node *n, pid_t sid, struct view_out *o,
			   struct timespec *mtime, int64_t *last_id, struct stream_state *stream)
{
	struct view_log_ctx lc = { o };
	struct strbuf *out = o->sb;
	cJSON *doc = NULL;
	char *parent, *name, *key;
	int rc = 0;

	*mtime = f->started;
	switch (n->kind) {
	case NODE_ENTITY:
	case NODE_MAIN:
		if ((rc = store_get(n->st, n->c, n->key, 0, &doc)))
			return rc;
		*mtime = view_doc_time(f, n, doc);
		if (n->c->content) { /* a raw document: the text itself */
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, n->c->content->name);
			if (cJSON_IsString(v))
				strbuf_addstr(out, v->valuestring);
		} else if (n->kind == NODE_MAIN || !n->c->file)
			render_document(doc, out);
		cJSON_Delete(doc);
		return 0;
	case NODE_STREAM:
		lc.stream = stream;
		return store_docs(n->st, n->c, view_log_row, &lc);
	case NODE_FEED:
		lc.stream = stream;
		return store_changes(n->st, 0, view_log_row, &lc);
	case NODE_SEARCH:
		return store_log_search(n->st, n->c, n->log, n->value, view_log_row, &lc, NULL);
	case NODE_BLOB: {
		char *data;
		size_t len;
		if ((rc = store_blob_get(n->st, n->c, n->blobs, n->key, n->target, &data, &len)))
			return rc;
		strbuf_add(out, data, len);
		free(data);
		return 0;
	}
	case NODE_TRASH:
		if ((rc = store_trash_get(n->st, n->c, n->key, &doc)))
			return rc;
		*mtime = view_doc_time(f, n, doc);
		render_document(doc, out);
		cJSON_Delete(doc);
		return 0;
	case NODE_LOG:
		if ((rc = store_get(n->st, n->c, n->key, 0, &doc)))
			return rc;
		*mtime = view_doc_time(f, n, doc);
		cJSON_Delete(doc);
		/* a log changed when its entity did or when its newest row was written */
		lc.log = n->log;
		lc.mtime = mtime;
		return store_log_rows_after(n->st, n->c, n->log, n->key, INT64_MIN, view_log_row, &lc, last_id);
	case NODE_REL_LINK:
	case NODE_VIEW_LINK:
		view_link_target(n, out);
		return 0;
	case NODE_NEW:
		node_split(path, &parent, &name);
		if ((key = newkey_get(f, sid, parent)) && *key)
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

int view_content(fs *f, const char *path, const struct node *n, pid_t sid, struct strbuf *out,
		 struct timespec *mtime)
{
	struct view_out o = { out, 0, false, -1, 0, 0, NULL };

	return view_content_id(f, path, n, sid, &o, mtime, NULL, NULL);
}

/* What depends on the database alone (not on the session, the notes or the path). */
static bool view_cacheable(const struct node *n)
{
	switch (n->kind) {
	case NODE_ENTITY:
	case NODE_MAIN:
	case NODE_LOG:
	case NODE_STREAM:
	case NODE_FEED:
	case NODE_SEARCH:
		return n->st != NULL;
	default:
		return false;
	}
}

/* Render the rows the mount appended to a cached log since its entry (cache.c). */
static void view_tail(fs *f, const char *path, const struct node *n, const struct store_version *v)
{
	struct strbuf add = STRBUF_INIT;
	struct view_out o = { &add, 0, false, -1, 0, 0, NULL };
	struct timespec mt = { 0, 0 };
	struct view_log_ctx lc = { &o, n->log, &mt, 0 };
	struct store_version after;
	int64_t from, last;
	int rows;

	if (cache_tail_start(f->cache, path, v, &from, &rows))
		return;
	last = from;
	strbuf_init(&add, 256);
	if (store_log_rows_after(n->st, n->c, n->log, n->key, from, view_log_row, &lc, &last) == 0 &&
	    store_version(n->st, &after) == 0 && store_version_same(v, &after) && lc.rows == rows)
		cache_tail_end(f->cache, path, v, from, rows, &add, &mt, last);
	else
		cache_drop(f->cache, path);
	strbuf_release(&add);
}

/* cache_put, and for a stream the cache follows, cache_stream_keep */
static void view_keep(fs *f, const char *path, const struct store_version *v, struct strbuf *data, size_t size,
		      const struct timespec *mtime, int64_t last, struct stream_state *stream)
{
	cache_put(f->cache, path, v, data, size, mtime, last);
	if (stream && stream->kind)
		cache_stream_keep(f->cache, path, v, stream);
}

int view_render(fs *f, const char *path, const struct node *n, pid_t sid, struct strbuf *out, int *spill,
		size_t *size, struct timespec *mtime)
{
	struct strbuf sb = STRBUF_INIT;
	struct view_out o = { &sb, out && !spill ? 0 : f->spill_bytes, !out, -1, 0, 0, f->spill_dir };
	struct stream_state ss = { STREAM_NONE };
	struct store_version before, after;
	int64_t last = INT64_MIN;
	bool cached, same;
	int rc;

	if (spill)
		*spill = -1;
	cached = f->cache && view_cacheable(n) && store_version(n->st, &before) == 0;
	if (cached) {
		rc = cache_get(f->cache, path, &before, out, size, mtime);
		if (rc == CACHE_TAIL) {
			view_tail(f, path, n, &before);
			rc = cache_get(f->cache, path, &before, out, size, mtime);
		}
		if (rc == CACHE_HIT)
			return 0;
		/* a stream's size from the rows changed since its entry (stream.c) */
		if (!out && stream_advance(f, path, n, &before, size, mtime) == 0)
			return 0;
		stream_begin(f, n, &ss); /* read after the version: at least that recent */
	}
	strbuf_init(&sb, 960); /* an entity file in one allocation (below 1 KiB: glibc's large requests
				* would consolidate its free lists every time) */
	if ((rc = view_content_id(f, path, n, sid, &o, mtime, cached ? &last : NULL, ss.kind ? &ss : NULL)) == 0)
		rc = view_out_end(&o, size);
	if (o.err)
		fs_log("%s: cannot keep its %zu bytes and more in a temporary file in %s: %s", path, o.moved + sb.len,
		       o.dir, strerror(-o.err));
	if (rc) {
		if (o.fd >= 0)
			close(o.fd);
		strbuf_release(&sb);
		stream_release(&ss);
		return rc;
	}
	/* no commit while it rendered: it is exactly the state of version before */
	same = cached && store_version(n->st, &after) == 0 && store_version_same(&before, &after);
	if (o.moved) {
		/* in the temporary file, or counted: the cache keeps the size */
		if (same)
			view_keep(f, path, &before, NULL, *size, mtime, last, &ss);
		if (spill)
			*spill = o.fd;
		strbuf_release(&sb);
		stream_release(&ss);
		return 0;
	}
	if (!cached) {
		if (out) {
			strbuf_release(out);
			*out = sb;
		} else {
			strbuf_release(&sb);
		}
		stream_release(&ss);
		return 0;
	}
	if (out && cache_keeps(f->cache, sb.len)) {
		strbuf_add(out, sb.buf, sb.len);
	} else if (out) {
		/* too large to keep: the caller has it, the cache its size */
		strbuf_release(out);
		*out = sb;
		strbuf_init(&sb, 0);
		if (same)
			view_keep(f, path, &before, NULL, *size, mtime, last, &ss);
		stream_release(&ss);
		return 0;
	}
	if (same)
		view_keep(f, path, &before, &sb, *size, mtime, last, &ss);
	strbuf_release(&sb);
	stream_release(&ss);
	return 0;
}

void view_scratch_stat(const struct scratch *s, struct stat *st)
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
struct handle *view_pending(fs *f, const char *path)
{
	for (struct handle *h = (struct handle *)f->handles; h; h = h->next)
		if (h->writable && (h->dirty || h->creating) && strcmp(h->path, path) == 0)
			return h;
	return NULL;
}

/* Attributes of path; -ENOENT if nothing is there. */
int view_stat(fs *f, fuse_req_t req, const char *path, struct stat *st)
{
	struct timespec mtime;
	size_t size;
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
		view_scratch_stat(s, st);
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
	/* Rows are looked for by view_content itself: one query, not two. */
	if (n.kind != NODE_ENTITY && n.kind != NODE_MAIN && n.kind != NODE_LOG && (rc = node_exists(f, &n)) <= 0)
		return rc ? rc : -ENOENT;

	/* only `new` shows something per session: no getsid for everything else */
	if ((rc = view_render(f, path, &n, n.kind == NODE_NEW && req ? fs_sid(req) : 0, NULL, NULL, &size,
			      &mtime))) {
		if (rc == -ENOENT && (n.kind == NODE_ENTITY || n.kind == NODE_MAIN))
			goto pending;
		return rc;
	}
	view_attr(f, &n, size, &mtime, st);
	return 0;

pending:
	/* Not in the database (yet): an editor between create and commit. */
	pthread_mutex_lock(&f->lock);
	if ((h = view_pending(f, path))) {
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

void view_attr(fs *f, const struct node *np, size_t size, const struct timespec *mtime, struct stat *st)
{
	const struct node n = *np;

	st->st_uid = f->uid;
	st->st_gid = f->gid;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	st->st_mtim = st->st_ctim = st->st_atim = *mtime;
	switch (n.kind) {
	case NODE_ROOT:
	case NODE_DB:
	case NODE_COLLECTION:
	case NODE_VIEW:
	case NODE_VIEW_VALUE:
	case NODE_REL_DIR:
	case NODE_SEARCH_DIR:
	case NODE_TRASH_DIR:
	case NODE_BLOB_DIR:
		st->st_mode = S_IFDIR | 0555;
		/* writable: files made or removed here (rm in .trash/ removes for good) */
		if ((n.kind == NODE_COLLECTION || n.kind == NODE_TRASH_DIR ||
		     (n.kind == NODE_REL_DIR && !n.rel->readonly)) && fs_writable(f, &n))
			st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		break;
	case NODE_ENTITY:
		if (n.c->file) {
			st->st_mode = S_IFDIR | (fs_writable(f, &n) ? 0755 : 0555);
			st->st_nlink = 2;
			break;
		}
		/* fall through */
	case NODE_MAIN:
		st->st_mode = S_IFREG | (view_has_secret(n.c) ? 0600 : 0644);
		if (!fs_writable(f, &n))
			st->st_mode &= ~0222u;
		break;
	case NODE_LOG:
	case NODE_NEW:
		st->st_mode = S_IFREG | (fs_writable(f, &n) ? 0644 : 0444);
		break;
	case NODE_ERROR:
	case NODE_STREAM:
	case NODE_FEED:
	case NODE_SEARCH:
	case NODE_TRASH:
	case NODE_BLOB:
		st->st_mode = S_IFREG | ((n.kind == NODE_STREAM || n.kind == NODE_TRASH) && view_has_secret(n.c) ? 0400
															: 0444);
		if (n.kind == NODE_STREAM && store_is_audit(n.st, n.c) && !f->readonly && !store_readonly(n.st))
			st->st_mode = S_IFREG | 0644; /* agents append their tool calls */
		break;
	case NODE_REL_LINK:
	case NODE_VIEW_LINK:
		st->st_mode = S_IFLNK | 0777;
		break;
	case NODE_SCRATCH:
		break;
	}
	st->st_size = S_ISDIR(st->st_mode) ? 0 : (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
}
