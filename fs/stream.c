/*
 * stream.c - a stream's size after a commit, without rendering the stream;
 * reading the audit log and the feed without rendering them whole.
 *
 * A stat must give the exact size of what a read returns, and a stream
 * (audit.jsonl, changes.jsonl, bugs.jsonl) is every row of a table, so a
 * stat after any commit rendered all of it: at a million audit rows, two
 * seconds for each `ls -l` of the mount's root after every save. The
 * rendering cache (cache.c) keeps, with a stream's size, what it takes to
 * work out the size of the next state from the rows that changed, and the
 * database says which rows changed, whoever changed them:
 *
 * - The audit log and the change feed (STREAM_APPEND) are appended to in
 *   key order, and a count kept by triggers (0008_rewrites, 0009_replaces,
 *   store_rewrites) moves on anything else. While it stays, the rows after
 *   the last one the entry saw are all that changed: the new size is the
 *   old one and their lines.
 * - A collection whose every change is in the change feed by triggers in
 *   the file (STREAM_KEYED, store_feeds) keeps the length of each row's
 *   line by key (a linemap); while the feed's own rewrite count stays (no
 *   feed row changed or went), its rows after the entry's last seq name
 *   every key that changed: each is read and rendered again, and the new
 *   size is the old one less their old lines plus their new ones. Two
 *   changes escape the triggers (a row a REPLACE deletes for another, a
 *   key changed by an UPDATE: store_feeds), and both leave the map with
 *   more rows than the table has, so the rows are counted too (an index's
 *   entries, no rendering).
 *
 * Consistency: the state is read at version v and accepted only if the
 * version is still v after (the queries between saw exactly that state).
 * The entry may be of a later state than v (another thread's): the row the
 * entry ended at (its last id, or the feed row of its last seq) must be
 * there at v, as it was, which it can only be if v is that state or later.
 * Anything else - a count moved, too many changes, a row not where it
 * should be - answers -ESTALE, and the caller renders the stream whole.
 *
 * Memory: a linemap costs some 30 bytes a row, within a budget of the
 * cache's (cache.c); a collection whose map would not fit is not followed
 * this way (rendered whole after a commit, as before).
 *
 * The same entry lets a reader of an append-only stream render only what
 * it reads: an index of where rows start, grown with the size, and
 * readers that keep the state they opened at (see "readers" below).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/internal.h"
#include "fs/render.h"

/* More changed rows than this, or than an eighth of the collection, or more
 * feed rows than 16 times this: render it whole. */
#define STREAM_MAX_CHANGES 4096
/* The integers a JSON number (a double) holds exactly. */
#define STREAM_EXACT 9007199254740992.0

/* --- the length of each row's line, by key --- */

#define LINE_NONE UINT32_MAX /* a key seen once, whose row is gone */

struct linemap {
	struct lslot {
		uint32_t key; /* offset of the key in keys, + 1 (0: an empty slot) */
		uint32_t len; /* its line's length, or LINE_NONE */
	} *slots;
	size_t nslots;    /* a power of two */
	size_t used;      /* slots holding a key */
	size_t rows;      /* keys whose len is not LINE_NONE */
	struct strbuf keys; /* the keys, each with its NUL */
};

static uint64_t linemap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct linemap *linemap_new(void)
{
	struct linemap *m = xcalloc(1, sizeof(*m));

	m->nslots = 1024;
	m->slots = xcalloc(m->nslots, sizeof(*m->slots));
	strbuf_init(&m->keys, 16384);
	return m;
}

void linemap_free(struct linemap *m)
{
	if (!m)
		return;
	free(m->slots);
	strbuf_release(&m->keys);
	free(m);
}

size_t linemap_bytes(const struct linemap *m)
{
	return sizeof(*m) + m->nslots * sizeof(*m->slots) + m->keys.alloc;
}

static struct lslot *linemap_find(struct linemap *m, const char *key)
{
	size_t i = linemap_hash(key) & (m->nslots - 1);

	for (;; i = (i + 1) & (m->nslots - 1))
		if (!m->slots[i].key || strcmp(m->keys.buf + m->slots[i].key - 1, key) == 0)
			return &m->slots[i];
}

static void linemap_grow(struct linemap *m)
{
	struct lslot *old = m->slots;
	size_t n = m->nslots;

	m->nslots *= 2;
	m->slots = xcalloc(m->nslots, sizeof(*m->slots));
	for (size_t i = 0; i < n; i++)
		if (old[i].key)
			*linemap_find(m, m->keys.buf + old[i].key - 1) = old[i];
	free(old);
}

/* Set key's line length to len (LINE_NONE: no row); its length before, or LINE_NONE. */
static uint32_t linemap_put(struct linemap *m, const char *key, uint32_t len)
{
	struct lslot *sl = linemap_find(m, key);
	uint32_t was = sl->key ? sl->len : LINE_NONE;

	if (!sl->key) {
		if (m->keys.len >= UINT32_MAX - strlen(key) - 1)
			abort(); /* 4 GiB of keys: never kept (stream_row stops far below) */
		sl->key = (uint32_t)m->keys.len + 1;
		strbuf_add(&m->keys, key, strlen(key) + 1);
		m->used++;
	}
	sl->len = len;
	m->rows += (len != LINE_NONE) - (was != LINE_NONE);
	if (m->used * 2 > m->nslots)
		linemap_grow(m);
	return was;
}

/* --- where the rows of an append-only stream start --- */

/*
 * An index of anchors: the id of a row and the offset its line starts at,
 * one at least every STREAM_STEP bytes (some 6,000 for the 380 MB of a
 * million audit rows: 94 KB). A reader at any offset starts rendering at
 * the anchor before it. While the rewrite count stays, rows are only added
 * after the last one, so an anchor, once true, stays true: the index only
 * grows, and it is shared by the cache's entry and every reader, each of
 * which uses the anchors below its own end.
 */
#define STREAM_STEP (64u << 10)

struct stream_index {
	pthread_mutex_t lock;
	int refs;
	size_t n, cap;
	struct stream_anchor *at; /* id and off both increasing */
};

static struct stream_index *stream_index_new(void)
{
	struct stream_index *ix = xcalloc(1, sizeof(*ix));

	pthread_mutex_init(&ix->lock, NULL);
	ix->refs = 1;
	return ix;
}

void stream_index_ref(struct stream_index *ix)
{
	pthread_mutex_lock(&ix->lock);
	ix->refs++;
	pthread_mutex_unlock(&ix->lock);
}

static void stream_index_unref(struct stream_index *ix)
{
	int refs;

	if (!ix)
		return;
	pthread_mutex_lock(&ix->lock);
	refs = --ix->refs;
	pthread_mutex_unlock(&ix->lock);
	if (refs)
		return;
	pthread_mutex_destroy(&ix->lock);
	free(ix->at);
	free(ix);
}

/* The newest anchor ({INT64_MIN, 0}: none). */
static struct stream_anchor stream_index_top(struct stream_index *ix)
{
	struct stream_anchor a = { INT64_MIN, 0 };

	pthread_mutex_lock(&ix->lock);
	if (ix->n)
		a = ix->at[ix->n - 1];
	pthread_mutex_unlock(&ix->lock);
	return a;
}

/* The last anchor at or before off (id INT64_MIN: none). */
static struct stream_anchor stream_index_find(struct stream_index *ix, size_t off)
{
	struct stream_anchor a = { INT64_MIN, 0 };
	size_t lo = 0, hi;

	pthread_mutex_lock(&ix->lock);
	hi = ix->n;
	while (lo < hi) { /* the first anchor past off */
		size_t mid = lo + (hi - lo) / 2;
		if (ix->at[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo)
		a = ix->at[lo - 1];
	pthread_mutex_unlock(&ix->lock);
	return a;
}

void stream_settle(struct stream_state *s)
{
	struct stream_index *ix = s->index;

	if (ix && s->npend) {
		pthread_mutex_lock(&ix->lock);
		for (size_t i = 0; i < s->npend; i++) {
			/* another reader of the same rows may have put its own anchors first */
			if (ix->n && (s->pend[i].id <= ix->at[ix->n - 1].id || s->pend[i].off <= ix->at[ix->n - 1].off))
				continue;
			if (ix->n == ix->cap) {
				ix->cap = ix->cap ? 2 * ix->cap : 64;
				ix->at = xrealloc(ix->at, ix->cap * sizeof(*ix->at));
			}
			ix->at[ix->n++] = s->pend[i];
		}
		pthread_mutex_unlock(&ix->lock);
	}
	free(s->pend);
	s->pend = NULL;
	s->npend = 0;
}

/* --- following a stream --- */

const char *stream_id_field(const struct node *n)
{
	return n->kind == NODE_FEED ? "seq" : n->kind == NODE_LOG ? n->log->id : n->c->key->name;
}

int stream_rows_after(const struct node *n, int64_t after, store_row_fn fn, void *arg)
{
	if (n->kind == NODE_LOG)
		return store_log_rows_after(n->st, n->c, n->log, n->key, after, fn, arg, NULL);
	if (n->kind == NODE_FEED) /* seqs start at 1 */
		return store_changes(n->st, after == INT64_MIN ? 0 : after, fn, arg);
	return after == INT64_MIN ? store_docs(n->st, n->c, fn, arg) : store_docs_after(n->st, n->c, after, fn, arg);
}

/* The key of a row as the feed names it: text, an integer's digits. */
static const char *stream_key(const cJSON *row, const char *field, char buf[32])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, field);

	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v) && v->valuedouble > -STREAM_EXACT && v->valuedouble < STREAM_EXACT &&
	    v->valuedouble == (double)(long long)v->valuedouble) {
		snprintf(buf, 32, "%lld", (long long)v->valuedouble);
		return buf;
	}
	return NULL; /* no key, or not one the feed names the same way */
}

/* Which kind of stream n is, and the rewrite count its changes are read by, at this state. */
static int stream_kind(const struct node *n, int64_t *mark)
{
	if (n->kind == NODE_FEED)
		return store_rewrites(n->st, NULL, mark) == 0 ? STREAM_APPEND : STREAM_NONE;
	if (n->kind != NODE_STREAM)
		return STREAM_NONE;
	if (store_rewrites(n->st, n->c, mark) == 0)
		return STREAM_APPEND;
	if (store_rewrites(n->st, NULL, mark) == 0 && store_feeds(n->st, n->c) == 0)
		return STREAM_KEYED;
	return STREAM_NONE;
}

int stream_begin(fs *f, const struct node *n, struct stream_state *s)
{
	memset(s, 0, sizeof(*s));
	s->last = INT64_MIN;
	if (!f->cache || !(s->kind = stream_kind(n, &s->mark)))
		return -ENOENT;
	s->id = stream_id_field(n);
	s->top.id = INT64_MIN;
	if (s->kind == STREAM_APPEND)
		s->index = stream_index_new();
	if (s->kind == STREAM_KEYED) {
		if (store_changes_last(n->st, &s->last)) {
			s->kind = STREAM_NONE;
			return -ENOENT;
		}
		s->lines = linemap_new();
		s->cap = cache_lines_max(f->cache);
	}
	return 0;
}

void stream_row(struct stream_state *s, const cJSON *row, size_t len)
{
	char buf[32];
	const char *key;

	if (s->kind == STREAM_APPEND) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, s->id);
		/* INTEGER PRIMARY KEYs: numbers */
		s->last = cJSON_IsNumber(id) ? (int64_t)id->valuedouble : INT64_MIN;
		s->last_len = len;
		if (s->index && s->last != INT64_MIN && s->last > s->top.id &&
		    (s->top.id == INT64_MIN || s->off >= s->top.off + STREAM_STEP)) {
			s->top.id = s->last;
			s->top.off = s->off;
			if (!(s->npend & (s->npend - 1))) /* at 0, 1, 2, 4, ...: double */
				s->pend = xrealloc(s->pend, (s->npend ? 2 * s->npend : 1) * sizeof(*s->pend));
			s->pend[s->npend++] = s->top;
		}
		s->off += len;
		return;
	}
	if (s->kind != STREAM_KEYED || !s->lines)
		return;
	if (!(key = stream_key(row, s->id, buf)) || len >= LINE_NONE ||
	    linemap_put(s->lines, key, (uint32_t)len) != LINE_NONE || linemap_bytes(s->lines) > s->cap) {
		/* no key, a key twice, or past what the cache would keep: not followed */
		linemap_free(s->lines);
		s->lines = NULL;
		s->kind = STREAM_NONE;
	}
}

void stream_release(struct stream_state *s)
{
	linemap_free(s->lines);
	s->lines = NULL;
	stream_index_unref(s->index);
	s->index = NULL;
	free(s->pend);
	s->pend = NULL;
	s->npend = 0;
}

/* --- the next state --- */

struct stream_rows {
	struct stream_state *s;
	struct strbuf line;
	size_t bytes;   /* the lines of the rows given */
	int rows;
	int64_t first;  /* the id of the first row given */
	size_t first_len;
	const char *coll;
	int64_t from;   /* STREAM_KEYED: the entry's last seq, whose change it has seen */
	char **keys;    /* STREAM_KEYED: the keys the feed rows name (repeats too) */
	int nkeys;
};

/* STREAM_APPEND: count each row's line, note the first and the last. */
static int stream_count_row(void *arg, const cJSON *row)
{
	struct stream_rows *r = arg;

	r->line.len = 0;
	render_line(row, &r->line);
	stream_row(r->s, row, r->line.len);
	if (!r->rows++) {
		r->first = r->s->last;
		r->first_len = r->line.len;
	}
	r->bytes += r->line.len;
	return 0;
}

/* STREAM_KEYED: a feed row; the keys of the collection's, the last seq. */
static int stream_feed_row(void *arg, const cJSON *row)
{
	struct stream_rows *r = arg;
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(row, "seq");
	const cJSON *coll = cJSON_GetObjectItemCaseSensitive(row, "collection");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(row, "key");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(row, "operation");

	if (!cJSON_IsNumber(seq) || r->rows >= 16 * STREAM_MAX_CHANGES)
		return -ESTALE;
	if (!r->rows++)
		r->first = (int64_t)seq->valuedouble;
	r->s->last = (int64_t)seq->valuedouble;
	if (r->s->last == r->from || !cJSON_IsString(coll) || strcmp(coll->valuestring, r->coll) != 0)
		return 0;
	/* links and log rows are other tables' rows: the entity's line is as it was */
	if (cJSON_IsString(op) && (strcmp(op->valuestring, "link") == 0 || strcmp(op->valuestring, "unlink") == 0 ||
				   strcmp(op->valuestring, "append") == 0))
		return 0;
	if (!cJSON_IsString(key) || r->nkeys >= STREAM_MAX_CHANGES ||
	    (size_t)r->nkeys >= r->s->lines->rows / 8 + 16)
		return -ESTALE; /* so many changes that one rendering costs less */
	r->keys = xrealloc(r->keys, (r->nkeys + 1) * sizeof(*r->keys));
	r->keys[r->nkeys++] = xstrdup(key->valuestring);
	return 0;
}

/* STREAM_KEYED: render each changed key's row again, and the size moves by the difference. */
static int stream_rekey(const struct node *n, struct stream_rows *r, size_t *size)
{
	int64_t sz = (int64_t)*size;

	for (int i = 0; i < r->nkeys; i++) {
		uint32_t len = LINE_NONE, was;
		cJSON *doc = NULL;
		int rc = store_get(n->st, n->c, r->keys[i], 0, &doc);
		if (rc == 0) {
			r->line.len = 0;
			render_line(doc, &r->line);
			cJSON_Delete(doc);
			if (r->line.len >= LINE_NONE)
				return -ESTALE;
			len = (uint32_t)r->line.len;
		} else if (rc != -ENOENT) {
			return rc;
		}
		was = linemap_put(r->s->lines, r->keys[i], len);
		sz += (int64_t)(len == LINE_NONE ? 0 : len) - (int64_t)(was == LINE_NONE ? 0 : was);
	}
	if (sz < 0 || linemap_bytes(r->s->lines) > r->s->cap)
		return -ESTALE;
	*size = (size_t)sz;
	return 0;
}

int stream_advance(fs *f, const char *path, const struct node *n, const struct store_version *v, size_t *size,
		   struct timespec *mtime)
{
	struct stream_state s;
	struct stream_rows r = { &s };
	struct store_version after;
	int64_t mark, from, count;
	size_t from_len;
	int kind, rc;

	/* no entry to start from: no query either (every stat of a file that misses comes here) */
	if (!f->cache || (n->kind != NODE_STREAM && n->kind != NODE_FEED) ||
	    cache_stream_take(f->cache, path, v->gen, &s))
		return -ESTALE;
	kind = stream_kind(n, &mark);
	if (s.kind != kind || s.mark != mark || (kind == STREAM_KEYED && !s.lines)) {
		stream_release(&s);
		return -ESTALE;
	}
	strbuf_init(&r.line, 1024);
	from = s.last;
	from_len = s.last_len;
	if (kind == STREAM_APPEND) {
		/* from the entry's last row on: it must come first, as long as it was */
		int64_t since = from == INT64_MIN ? INT64_MIN : from - 1;
		s.off = from == INT64_MIN ? 0 : s.size - from_len;
		s.top = s.index ? stream_index_top(s.index) : (struct stream_anchor){ INT64_MIN, 0 };
		rc = stream_rows_after(n, since, stream_count_row, &r);
		if (rc == 0 && from != INT64_MIN && (!r.rows || r.first != from || r.first_len != from_len))
			rc = -ESTALE;
		if (rc == 0) /* stream_row left s.last and s.last_len at the last row */
			s.size += r.bytes - (from == INT64_MIN ? 0 : from_len);
	} else {
		/* the feed from the entry's last seq on (which must be there, when it was not 0) */
		r.coll = n->c->dir;
		r.from = from;
		r.first = INT64_MIN;
		rc = store_changes(n->st, from > 0 ? from - 1 : 0, stream_feed_row, &r);
		if (rc == 0 && from > 0 && r.first != from)
			rc = -ESTALE;
		if (rc == 0)
			rc = stream_rekey(n, &r, &s.size);
		/* a row that went without a feed row (a REPLACE's, a changed key's) leaves the map a row too many */
		if (rc == 0 && (store_count(n->st, n->c, &count) || count < 0 || (size_t)count != s.lines->rows))
			rc = -ESTALE;
	}
	for (int i = 0; i < r.nkeys; i++)
		free(r.keys[i]);
	free(r.keys);
	strbuf_release(&r.line);
	if (rc || store_version(n->st, &after) || !store_version_same(v, &after)) {
		stream_release(&s);
		return -ESTALE;
	}
	*size = s.size;
	*mtime = s.mtime;
	cache_put(f->cache, path, v, NULL, s.size, &s.mtime, INT64_MIN);
	cache_stream_keep(f->cache, path, v, &s);
	stream_release(&s);
	return 0;
}

/* --- readers that render only what they read --- */

/*
 * A reader of the audit log or the feed at a million rows would wait for
 * the whole stream to be rendered (2 s for `tail -n 1 audit.jsonl`). Its
 * snapshot is instead the state of the cache's entry at the open: the
 * size, the last row and the rewrite count. While that count stays, the
 * rows up to that last one are as they were, whoever appended since, so a
 * read renders them again from the anchor before its offset and drops
 * what comes before it. Every read checks the count after reading the
 * rows (a count that moved at any time up to then shows): a row before
 * the reader's end changed since the open and the snapshot is gone, which
 * the read says (ESTALE) rather than return other bytes.
 */
struct stream_reader {
	struct stream_index *ix;
	unsigned gen;              /* the database file it is of */
	int64_t mark;              /* the rewrite count at the open */
	int64_t last;              /* the last row it shows */
	size_t size;
	size_t win;                /* where the window (the handle's data) starts */
	struct stream_anchor next; /* the row after the window, where it starts (id INT64_MIN: not known) */
	bool stale;                /* a read found the snapshot gone: every read fails */
};

/* What r opened at is gone: every read fails from now on, and the log says why, once. */
static void stream_reader_gone(struct stream_reader *r, const char *path)
{
	r->stale = true;
	fs_log("%s: rows before the end its reader opened at were changed or deleted since (the rewrite count "
	       "moved), or the database file was replaced: open it again", path);
}

/* Are the rows up to r's end still those it opened at? Asked after reading
 * rows: the rewrite count had not moved when they were read (it only grows),
 * and the database is still the same file (a restore replaces it). */
static bool stream_reader_holds(const struct node *n, const struct stream_reader *r)
{
	struct store_version v;
	int64_t mark;

	return stream_kind(n, &mark) == STREAM_APPEND && mark == r->mark && store_version(n->st, &v) == 0 &&
	       v.gen == r->gen;
}

/* The state of path's stream entry as of now (view_render makes or advances it), into s. */
static int stream_snapshot(fs *f, const char *path, const struct node *n, struct stream_state *s, unsigned *gen)
{
	/* the streams appended to in key order; the others' entries never have an index */
	if (!f->cache || (n->kind != NODE_FEED && (n->kind != NODE_STREAM || !store_is_audit(n->st, n->c))))
		return -ENOENT;
	for (int tries = 0; tries < 3; tries++) {
		struct store_version v;
		struct timespec mt;
		size_t size;
		if (store_version(n->st, &v) || view_render(f, path, n, 0, NULL, NULL, &size, &mt))
			return -ENOENT;
		/* no entry at v: a commit came between, and the entry is of a later state */
		if (cache_stream_peek(f->cache, path, &v, s) == 0) {
			*gen = v.gen;
			return 0;
		}
	}
	return -ENOENT;
}

int stream_reader_open(fs *f, const char *path, const struct node *n, struct stream_reader **r, size_t *size,
		       struct timespec *mtime)
{
	struct stream_reader *sr;
	struct stream_state s;
	unsigned gen;

	if (stream_snapshot(f, path, n, &s, &gen))
		return -ENOENT;
	sr = xcalloc(1, sizeof(*sr));
	sr->ix = s.index; /* the reference is the reader's */
	sr->gen = gen;
	sr->mark = s.mark;
	sr->last = s.last;
	sr->size = s.size;
	sr->next.id = INT64_MIN;
	*size = s.size;
	*mtime = s.mtime;
	*r = sr;
	return 0;
}

int stream_reader_refresh(const char *path, const struct node *n, struct stream_reader *r)
{
	struct stream_state s = { STREAM_APPEND };
	struct stream_rows rows = { &s };
	int rc;

	if (r->stale)
		return 0;
	/* from the reader's own state, not the cache's entry (which may have gone):
	 * the rows after its last one, their lines counted and anchored */
	s.id = stream_id_field(n);
	s.index = r->ix; /* borrowed */
	s.top = stream_index_top(r->ix);
	s.last = r->last;
	s.off = r->size;
	strbuf_init(&rows.line, 1024);
	rc = stream_rows_after(n, r->last, stream_count_row, &rows);
	strbuf_release(&rows.line);
	/* read after the rows, as a read does: the rows before them are still r's */
	if (rc == 0 && !stream_reader_holds(n, r)) {
		stream_reader_gone(r, path);
		rc = -ESTALE;
	}
	if (rc == 0 && rows.rows) {
		stream_settle(&s); /* the anchors of the new rows, for every reader of the index */
		r->last = s.last;
		r->size += rows.bytes;
	}
	free(s.pend);
	return rc == 0 && rows.rows;
}

size_t stream_reader_size(const struct stream_reader *r)
{
	return r->size;
}

size_t stream_reader_window(const struct stream_reader *r)
{
	return r->win;
}

void stream_reader_free(struct stream_reader *r)
{
	if (!r)
		return;
	stream_index_unref(r->ix);
	free(r);
}

enum { STREAM_STOP = 1 }; /* a row callback's: enough rows */

struct stream_window {
	struct stream_reader *r;
	const char *idf;        /* the rows' id field */
	struct strbuf *win;
	struct strbuf line;
	int64_t first;          /* the id the first row must have */
	size_t at;              /* where the next row's line starts */
	size_t off, end;        /* the window wanted: from off, up to at least end */
	bool done;              /* the reader's last row was given */
	int err;
};

static int stream_window_row(void *arg, const cJSON *row)
{
	struct stream_window *w = arg;
	const cJSON *idv = cJSON_GetObjectItemCaseSensitive(row, w->idf);
	int64_t id = cJSON_IsNumber(idv) ? (int64_t)idv->valuedouble : INT64_MIN;

	if (w->first != INT64_MIN && id != w->first) {
		w->err = -ESTALE; /* the anchor's row is not there as it was */
		return STREAM_STOP;
	}
	w->first = INT64_MIN;
	if (id == INT64_MIN || id > w->r->last) {
		w->err = -ESTALE;
		return STREAM_STOP;
	}
	if (w->at >= w->end) { /* enough: this row starts the next window */
		w->r->next.id = id;
		w->r->next.off = w->at;
		return STREAM_STOP;
	}
	w->line.len = 0;
	render_line(row, &w->line);
	if (w->at + w->line.len > w->off) {
		size_t skip = w->off > w->at ? w->off - w->at : 0;
		strbuf_add(w->win, w->line.buf + skip, w->line.len - skip);
	}
	w->at += w->line.len;
	if (id == w->r->last) {
		w->done = true;
		return STREAM_STOP;
	}
	return 0;
}

int stream_reader_read(const char *path, const struct node *n, struct stream_reader *r, struct strbuf *win,
		       size_t off, size_t want)
{
	struct stream_window w = { r, stream_id_field(n), win };
	struct stream_anchor a;
	size_t keep = 0;
	int rc;

	/* a read from inside the last window to past its end: its bytes from off on
	 * stay, and the rows after it follow */
	if (!r->stale && r->next.id != INT64_MIN && off >= r->win && off < r->next.off &&
	    r->next.off == r->win + win->len) {
		keep = r->next.off - off;
		memmove(win->buf, win->buf + (off - r->win), keep);
		a = r->next;
	} else {
		a = stream_index_find(r->ix, off);
	}
	win->len = keep;
	r->win = off;
	if (r->stale)
		return -ESTALE;
	if (off >= r->size)
		return 0;
	/* reading on from the last window: its next row is nearer than any anchor */
	if (r->next.id != INT64_MIN && r->next.off <= off && (a.id == INT64_MIN || r->next.off > a.off))
		a = r->next;
	if (a.id == INT64_MIN)
		return -ESTALE; /* the index starts at the first row: this cannot be */
	r->next.id = INT64_MIN;
	strbuf_init(&w.line, 1024);
	w.first = a.id;
	w.at = a.off;
	w.off = keep ? a.off : off;
	w.end = off + (want > STREAM_WINDOW ? want : STREAM_WINDOW);
	rc = stream_rows_after(n, a.id - 1, stream_window_row, &w);
	strbuf_release(&w.line);
	if (rc == STREAM_STOP)
		rc = w.err;
	/* the rows ran out before the last one, or it does not end where it did */
	if (rc == 0 && r->next.id == INT64_MIN && (!w.done || w.at != r->size))
		rc = -ESTALE;
	if (rc == 0 && !stream_reader_holds(n, r))
		rc = -ESTALE;
	if (rc) {
		win->len = 0;
		r->next.id = INT64_MIN;
	}
	if (rc == -ESTALE)
		stream_reader_gone(r, path);
	return rc;
}
