/*
 * cache.c - renderings kept while the database does not change.
 *
 * A stat must report the exact size of what a read returns, and a read
 * returns the rendering of the rows, so LOOKUP, GETATTR and OPEN each
 * needed a rendering, and a log's or a stream's is as long as the log. This
 * cache keeps what one request rendered for the next ones, tagged with the
 * store's version (store_version: it changes with every commit, by anyone).
 *
 * Rationale (why this is never stale): an entry is filled only when the
 * version read before the rendering equals the version read after it; the
 * queries in between ran after the first read, so they saw that state or a
 * later one, and no commit happened before the second, so exactly that
 * state. An entry is served only while the version still equals its tag:
 * no commit since, so the database still holds what it was rendered from.
 * Every commit - through the mount, by the sqlite3 shell, by an
 * orchestrator - changes the version, so every entry of that store stops
 * being served at once, with no invalidation to send or to miss.
 *
 * One exception keeps appends cheap: when the mount appends to a log and
 * the versions read just before and just after its commit are one commit
 * apart (store_version_next), that commit was the append and nothing else,
 * so the log's entry is re-tagged with the new version and marks how many
 * rows were added after its last row id; the next request renders those
 * rows only (cache_tail_*). A log thus costs the rows appended since, not
 * its length.
 *
 * The other exception keeps the stats of streams cheap, whoever writes: a
 * stream's entry keeps what stream.c needs to work out its size at a later
 * state from the rows changed since (struct stream_state, marked by
 * cache_stream_keep), and so outlives its version. The version does not
 * matter for that, the file does: the entry is used only for the same file
 * (store_version.gen). A collection's state holds the length of each row's
 * line (some 30 bytes a row): those maps have a budget of their own,
 * CACHE_LINES_TIMES the limit (32 MiB by default), one map at most half
 * of it (about 500,000 rows); a map that does not fit is not kept.
 *
 * Memory: entries hold the bytes (when they fit) or only the size, mtime and
 * last row id; the whole cache holds at most FS_CACHE_BYTES, least recently
 * used entries go first (a stream's entry gives up its bytes, not itself).
 * A rendering larger than half of that (a stream) is not kept, except the
 * last one up to twice the limit, for the OPEN that follows its LOOKUP,
 * which takes it over (no copy); so the daemon holds at most one such
 * rendering more than its open files do, briefly. Thread-safe: one mutex,
 * never held across a query.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/internal.h"

struct centry {
	char *path;
	uint64_t hash;
	struct store_version v;
	struct strbuf data;     /* the bytes, if kept (has_data) */
	bool has_data;
	size_t size;
	struct timespec mtime;
	int64_t last_id;        /* logs: id of the newest row rendered */
	int tail;               /* logs: rows appended after last_id, not rendered yet */
	bool stream;            /* a stream's: outlives v (cache_stream_take) */
	struct stream_state ss; /* streams: what follows its size (stream.c) */
	size_t ss_cost;         /* the bytes of ss.lines, in the cache's lines_bytes */
	size_t cost;            /* bytes counted against the limit */
	struct centry *hnext;   /* hash chain */
	struct centry *prev, *next; /* LRU list, most recent first */
};

struct cache {
	pthread_mutex_t lock;
	struct centry **buckets;
	size_t nbuckets;
	size_t count;
	size_t bytes;           /* protected by lock */
	size_t limit;
	size_t lines_bytes;     /* the streams' line maps (ss_cost), at most CACHE_LINES_TIMES limit */
	struct centry lru;      /* list head */
	/* The last rendering too large to keep (a whole stream, a long log),
	 * held for the OPEN that usually follows its LOOKUP, which takes it
	 * over; dropped by the next one, or by the first use of the cache
	 * after CACHE_HANDOFF_SECONDS. */
	char *big_path;
	struct store_version big_v;
	struct strbuf big;
	time_t big_at;
};

#define CACHE_HANDOFF_SECONDS 2
/* The line maps of streams (stream.c) may take this many times the limit
 * of the renderings, on top of it; one map at most half of that. */
#define CACHE_LINES_TIMES 4

static void cache_big_drop(struct cache *c)
{
	free(c->big_path);
	c->big_path = NULL;
	strbuf_release(&c->big);
}

static void cache_big_expire(struct cache *c)
{
	if (c->big_path && time(NULL) - c->big_at > CACHE_HANDOFF_SECONDS)
		cache_big_drop(c);
}

static uint64_t cache_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

struct cache *cache_new(size_t limit)
{
	struct cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->nbuckets = 1024;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	c->limit = limit;
	c->lru.next = c->lru.prev = &c->lru;
	return c;
}

static void cache_unlink(struct cache *c, struct centry *e)
{
	struct centry **pp = &c->buckets[e->hash % c->nbuckets];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	e->prev->next = e->next;
	e->next->prev = e->prev;
	c->bytes -= e->cost;
	c->lines_bytes -= e->ss_cost;
	c->count--;
	strbuf_release(&e->data);
	stream_release(&e->ss);
	free(e->path);
	free(e);
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	while (c->lru.next != &c->lru)
		cache_unlink(c, c->lru.next);
	cache_big_drop(c);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* e keeps its size, not its bytes. */
static void cache_drop_bytes(struct cache *c, struct centry *e)
{
	c->bytes -= e->data.alloc;
	e->cost -= e->data.alloc;
	strbuf_release(&e->data);
	e->has_data = false;
}

static struct centry *cache_find(struct cache *c, const char *path, uint64_t h)
{
	for (struct centry *e = c->buckets[h % c->nbuckets]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static void cache_touch(struct cache *c, struct centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

static void cache_grow(struct cache *c)
{
	size_t n = c->nbuckets * 4;
	struct centry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct centry *e = c->buckets[i], *next; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash % n];
			b[e->hash % n] = e;
		}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

int cache_get(struct cache *c, const char *path, const struct store_version *v, struct strbuf *out,
	      size_t *size, struct timespec *mtime)
{
	uint64_t h = cache_hash(path);
	struct centry *e;
	int rc = CACHE_MISS;

	pthread_mutex_lock(&c->lock);
	cache_big_expire(c);
	if (!(e = cache_find(c, path, h)))
		goto out;
	if (!store_version_same(&e->v, v)) {
		if (!e->stream) {
			cache_unlink(c, e); /* never valid again: versions only move on */
		} else if (e->has_data) {
			/* the size is what the next state is worked out from */
			cache_drop_bytes(c, e);
		}
		goto out;
	}
	if (e->tail) {
		rc = CACHE_TAIL;
		goto out;
	}
	if (out && !e->has_data) {
		if (!c->big_path || strcmp(c->big_path, path) != 0 || !store_version_same(&c->big_v, v) ||
		    c->big.len != e->size)
			goto out;
		/* the handoff: the bytes move to the caller */
		strbuf_release(out);
		*out = c->big;
		strbuf_init(&c->big, 0);
		free(c->big_path);
		c->big_path = NULL;
	} else if (out) {
		strbuf_add(out, e->data.buf, e->data.len);
	}
	cache_touch(c, e);
	*size = e->size;
	*mtime = e->mtime;
	rc = CACHE_HIT;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Make room for cost more bytes, dropping the least recently used entries.
 * A stream's entry only drops its bytes: what follows the stream's size
 * stays (there are a few, one per stream of the mapping, and the line maps
 * have a budget of their own), or a stat after reading many files would
 * render a million audit rows again. */
static void cache_evict(struct cache *c, size_t cost)
{
	struct centry *e, *prev;

	for (e = c->lru.prev; c->bytes + cost > c->limit && e != &c->lru; e = prev) {
		prev = e->prev;
		if (!e->stream) {
			cache_unlink(c, e);
		} else if (e->has_data) {
			cache_drop_bytes(c, e);
		}
	}
}

bool cache_keeps(struct cache *c, size_t len)
{
	return len <= c->limit / 2;
}

void cache_put(struct cache *c, const char *path, const struct store_version *v, struct strbuf *data,
	       size_t size, const struct timespec *mtime, int64_t last_id)
{
	uint64_t h = cache_hash(path);
	size_t overhead = sizeof(struct centry) + strlen(path) + 1;
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = cache_find(c, path, h)))
		cache_unlink(c, e);
	e = xcalloc(1, sizeof(*e));
	e->path = xstrdup(path);
	e->hash = h;
	e->v = *v;
	e->size = size;
	e->mtime = *mtime;
	e->last_id = last_id;
	e->cost = overhead;
	cache_big_expire(c);
	if (!data) {
		/* the size alone */
	} else if (overhead + data->len <= c->limit / 2) {
		/* keep the bytes: taken over, not copied, and no larger than they are */
		if (data->alloc > data->len + 64) {
			data->buf = xrealloc(data->buf, data->len + 1);
			data->alloc = data->len + 1;
		}
		e->data = *data;
		e->has_data = true;
		e->cost += data->alloc;
		strbuf_init(data, 0);
	} else if (data->len <= c->limit * 2) {
		cache_big_drop(c);
		c->big_path = xstrdup(path);
		c->big_v = *v;
		c->big = *data;
		c->big_at = time(NULL);
		strbuf_init(data, 0);
	}
	cache_evict(c, e->cost);
	if (c->count >= c->nbuckets)
		cache_grow(c);
	e->hnext = c->buckets[h % c->nbuckets];
	c->buckets[h % c->nbuckets] = e;
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
	c->bytes += e->cost;
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

size_t cache_lines_max(const struct cache *c)
{
	size_t max = c->limit * CACHE_LINES_TIMES / 2;

	return max < UINT32_MAX / 2 ? max : UINT32_MAX / 2; /* a linemap's offsets are 32 bits */
}

void cache_stream_keep(struct cache *c, const char *path, const struct store_version *v, struct stream_state *s)
{
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = cache_find(c, path, cache_hash(path))) && store_version_same(&e->v, v) && !e->tail) {
		size_t cost = s->lines ? linemap_bytes(s->lines) : 0;
		stream_release(&e->ss);
		c->lines_bytes -= e->ss_cost;
		e->ss_cost = 0;
		if (cost <= cache_lines_max(c) && c->lines_bytes + cost <= c->limit * CACHE_LINES_TIMES) {
			stream_settle(s); /* an entry's state has no anchors pending */
			e->ss = *s; /* its size and mtime are the entry's own (cache_stream_take) */
			e->stream = true;
			s->lines = NULL; /* taken */
			s->index = NULL;
			e->ss_cost = cost;
			c->lines_bytes += cost;
			cache_touch(c, e);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

int cache_stream_take(struct cache *c, const char *path, unsigned gen, struct stream_state *s)
{
	struct centry *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&c->lock);
	if ((e = cache_find(c, path, cache_hash(path))) && e->stream && e->v.gen == gen) {
		*s = e->ss;
		s->size = e->size;
		s->mtime = e->mtime;
		e->ss.lines = NULL; /* the caller's now */
		if (s->index) /* shared: a reference each */
			stream_index_ref(s->index);
		c->lines_bytes -= e->ss_cost;
		e->ss_cost = 0;
		cache_touch(c, e);
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int cache_stream_peek(struct cache *c, const char *path, const struct store_version *v, struct stream_state *s)
{
	struct centry *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&c->lock);
	if ((e = cache_find(c, path, cache_hash(path))) && e->stream && e->ss.kind == STREAM_APPEND && e->ss.index &&
	    store_version_same(&e->v, v) && !e->tail) {
		*s = e->ss;
		s->size = e->size;
		s->mtime = e->mtime;
		s->lines = NULL; /* the entry's (an append-only stream's has none) */
		stream_index_ref(s->index);
		cache_touch(c, e);
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void cache_advance(struct cache *c, const char *path, const struct store_version *before,
		   const struct store_version *after, int rows)
{
	uint64_t h = cache_hash(path);
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = cache_find(c, path, h))) {
		if (store_version_same(&e->v, before) && store_version_next(before, after) && rows > 0) {
			e->v = *after;
			e->tail += rows;
		} else {
			cache_unlink(c, e);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

int cache_tail_start(struct cache *c, const char *path, const struct store_version *v, int64_t *last_id,
		     int *rows)
{
	uint64_t h = cache_hash(path);
	struct centry *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&c->lock);
	if ((e = cache_find(c, path, h)) && store_version_same(&e->v, v) && e->tail) {
		*last_id = e->last_id;
		*rows = e->tail;
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void cache_tail_end(struct cache *c, const char *path, const struct store_version *v, int64_t from,
		    int rows, const struct strbuf *add, const struct timespec *mtime, int64_t last_id)
{
	uint64_t h = cache_hash(path);
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	if (!(e = cache_find(c, path, h)))
		goto out;
	if (!store_version_same(&e->v, v) || e->last_id != from || e->tail != rows) {
		cache_unlink(c, e); /* another request changed it meanwhile, or the rows were not ours */
		goto out;
	}
	if (e->has_data) {
		size_t before = e->data.alloc;
		strbuf_add(&e->data, add->buf, add->len);
		c->bytes += e->data.alloc - before;
		e->cost += e->data.alloc - before;
		if (e->cost > c->limit / 2) {
			/* grown too large to keep its bytes: keep what a stat needs */
			cache_drop_bytes(c, e);
		}
	}
	e->size += add->len;
	if (mtime->tv_sec > e->mtime.tv_sec || (mtime->tv_sec == e->mtime.tv_sec && mtime->tv_nsec > e->mtime.tv_nsec))
		e->mtime = *mtime;
	e->last_id = last_id;
	e->tail = 0;
	cache_touch(c, e);
	cache_evict(c, 0);
out:
	pthread_mutex_unlock(&c->lock);
}

void cache_drop(struct cache *c, const char *path)
{
	uint64_t h = cache_hash(path);
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = cache_find(c, path, h)))
		cache_unlink(c, e);
	pthread_mutex_unlock(&c->lock);
}
