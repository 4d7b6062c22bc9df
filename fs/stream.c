/*
 * stream.c - a stream's size after a commit, without rendering the stream.
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
 *   key order, and a count kept by triggers (0008_rewrites,
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
 */
#include <errno.h>
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

/* --- following a stream --- */

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
	s->id = n->kind == NODE_FEED ? "seq" : n->c->key->name;
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
		rc = n->kind == NODE_FEED ? store_changes(n->st, from == INT64_MIN ? 0 : since, stream_count_row, &r)
					  : since == INT64_MIN ? store_docs(n->st, n->c, stream_count_row, &r)
							       : store_docs_after(n->st, n->c, since, stream_count_row, &r);
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
