/*
 * test_cache.c - the rendering cache (fs/cache.c) on its own: an entry is
 * served only at the version it was rendered at, a log's entry survives
 * the one commit that appended to it and then wants exactly those rows,
 * the least recently used entries go first, large renderings are handed
 * over once, the bytes held never exceed the limit, and an append-only
 * stream's entry outlives its version (its size, not its bytes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fs/internal.h"

static struct store_version V(uint32_t commits)
{
	struct store_version v;

	memset(&v, 0, sizeof(v));
	v.w[2] = commits; /* the WAL index's change counter */
	v.w[4] = 7 * commits;
	return v;
}

static struct strbuf S(const char *text)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_init(&sb, 0);
	strbuf_addstr(&sb, text);
	return sb;
}

int main(void)
{
	struct timespec mt = { 100, 0 }, got;
	struct store_version v1 = V(1), v2 = V(2), v3 = V(3), v5 = V(5);
	struct strbuf sb, out = STRBUF_INIT;
	struct cache *c = cache_new(4096);
	int64_t last;
	size_t size;
	int rows;

	/* served at its version, as size alone or with the bytes */
	sb = S("{\"id\": 1}\n");
	cache_put(c, "/bugs/BUG-001.json", &v1, &sb, 10, &mt, INT64_MIN);
	CHECK_INT(sb.len, 0); /* taken over */
	strbuf_release(&sb);
	CHECK_INT(cache_get(c, "/bugs/BUG-001.json", &v1, NULL, &size, &got), CACHE_HIT);
	CHECK_INT(size, 10);
	CHECK_INT(got.tv_sec, 100);
	strbuf_init(&out, 0);
	CHECK_INT(cache_get(c, "/bugs/BUG-001.json", &v1, &out, &size, &got), CACHE_HIT);
	CHECK_STR(out.buf, "{\"id\": 1}\n");
	strbuf_release(&out);
	CHECK_INT(cache_get(c, "/bugs/BUG-002.json", &v1, NULL, &size, &got), CACHE_MISS);
	/* any other version: a miss, and the entry is gone for good */
	CHECK_INT(cache_get(c, "/bugs/BUG-001.json", &v2, NULL, &size, &got), CACHE_MISS);
	CHECK_INT(cache_get(c, "/bugs/BUG-001.json", &v1, NULL, &size, &got), CACHE_MISS);

	/* a log appended to by the only commit between two versions */
	sb = S("{\"id\":4}\n");
	cache_put(c, "/tasks/T/transcript.jsonl", &v1, &sb, 9, &mt, 4);
	strbuf_release(&sb);
	cache_advance(c, "/tasks/T/transcript.jsonl", &v1, &v2, 2);
	CHECK_INT(cache_get(c, "/tasks/T/transcript.jsonl", &v2, NULL, &size, &got), CACHE_TAIL);
	CHECK_INT(cache_tail_start(c, "/tasks/T/transcript.jsonl", &v2, &last, &rows), 0);
	CHECK_INT(last, 4);
	CHECK_INT(rows, 2);
	sb = S("{\"id\":5}\n{\"id\":6}\n");
	got.tv_sec = 200;
	cache_tail_end(c, "/tasks/T/transcript.jsonl", &v2, 4, 2, &sb, &got, 6);
	strbuf_release(&sb);
	strbuf_init(&out, 0);
	CHECK_INT(cache_get(c, "/tasks/T/transcript.jsonl", &v2, &out, &size, &got), CACHE_HIT);
	CHECK_STR(out.buf, "{\"id\":4}\n{\"id\":5}\n{\"id\":6}\n");
	CHECK_INT(size, 27);
	CHECK_INT(got.tv_sec, 200);
	strbuf_release(&out);
	/* not the only commit (versions two apart), or rows that were not ours: gone */
	cache_advance(c, "/tasks/T/transcript.jsonl", &v3, &v5, 1);
	CHECK_INT(cache_get(c, "/tasks/T/transcript.jsonl", &v2, NULL, &size, &got), CACHE_MISS);
	sb = S("{\"id\":4}\n");
	cache_put(c, "/tasks/T/transcript.jsonl", &v2, &sb, 9, &mt, 4);
	strbuf_release(&sb);
	cache_advance(c, "/tasks/T/transcript.jsonl", &v2, &v3, 1);
	sb = S("{\"id\":5}\n{\"id\":6}\n");
	cache_tail_end(c, "/tasks/T/transcript.jsonl", &v3, 4, 2, &sb, &got, 6); /* 2 rows, 1 expected */
	strbuf_release(&sb);
	CHECK_INT(cache_get(c, "/tasks/T/transcript.jsonl", &v3, NULL, &size, &got), CACHE_MISS);

	/* least recently used first, and never more than the limit */
	for (int i = 0; i < 64; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/bugs/B%02d.json", i);
		sb = S("0123456789012345678901234567890123456789012345678901234567890123456789");
		cache_put(c, path, &v1, &sb, 70, &mt, INT64_MIN);
		strbuf_release(&sb);
		CHECK_INT(cache_get(c, "/bugs/B00.json", &v1, NULL, &size, &got), CACHE_HIT); /* kept in use */
	}
	CHECK_INT(cache_get(c, "/bugs/B63.json", &v1, NULL, &size, &got), CACHE_HIT);
	CHECK_INT(cache_get(c, "/bugs/B01.json", &v1, NULL, &size, &got), CACHE_MISS);

	/* too large to keep: handed over to the next get with bytes, once */
	strbuf_init(&sb, 0);
	for (int i = 0; i < 300; i++)
		strbuf_addstr(&sb, "{\"a stream\":1}\n");
	size = sb.len;
	cache_put(c, "/bugs.jsonl", &v1, &sb, size, &mt, INT64_MIN);
	strbuf_release(&sb);
	CHECK_INT(cache_get(c, "/bugs.jsonl", &v1, NULL, &size, &got), CACHE_HIT);
	CHECK_INT(size, 300 * 15);
	strbuf_init(&out, 0);
	CHECK_INT(cache_get(c, "/bugs.jsonl", &v1, &out, &size, &got), CACHE_HIT);
	CHECK_INT(out.len, 300 * 15);
	strbuf_release(&out);
	strbuf_init(&out, 0);
	CHECK_INT(cache_get(c, "/bugs.jsonl", &v1, &out, &size, &got), CACHE_MISS); /* taken */
	CHECK_INT(cache_get(c, "/bugs.jsonl", &v1, NULL, &size, &got), CACHE_HIT);  /* its size stays */
	strbuf_release(&out);

	cache_drop(c, "/bugs.jsonl");
	CHECK_INT(cache_get(c, "/bugs.jsonl", &v1, NULL, &size, &got), CACHE_MISS);

	/* a stream's entry outlives its version, for the same file */
	{
		struct stream_state ss = { STREAM_APPEND }, got_ss;
		ss.mark = 4;
		ss.last = 22;
		ss.last_len = 12;
		sb = S("{\"seq\":1}\n{\"seq\":22}\n");
		cache_put(c, "/changes.jsonl", &v2, &sb, 22, &mt, INT64_MIN);
		strbuf_release(&sb); /* taken over: what is left is empty */
		CHECK_INT(cache_stream_take(c, "/changes.jsonl", v2.gen, &got_ss), -ENOENT);
		cache_stream_keep(c, "/changes.jsonl", &v1, &ss); /* another version: not this entry */
		CHECK_INT(cache_stream_take(c, "/changes.jsonl", v2.gen, &got_ss), -ENOENT);
		cache_stream_keep(c, "/changes.jsonl", &v2, &ss);
		CHECK_INT(cache_get(c, "/changes.jsonl", &v3, NULL, &size, &got), CACHE_MISS);
		CHECK_INT(cache_stream_take(c, "/changes.jsonl", v2.gen, &got_ss), 0);
		CHECK_INT(got_ss.kind, STREAM_APPEND);
		CHECK_INT(got_ss.size, 22);
		CHECK_INT(got_ss.mark, 4);
		CHECK_INT(got_ss.last, 22);
		CHECK_INT(got_ss.last_len, 12);
		CHECK_INT(got_ss.mtime.tv_sec, 100);
		CHECK_INT(cache_stream_take(c, "/changes.jsonl", v2.gen + 1, &got_ss), -ENOENT);
		/* files read by the hundred push out renderings, never what follows a stream */
		for (int i = 0; i < 200; i++) {
			char path[32];
			snprintf(path, sizeof(path), "/audit/%d.json", i);
			sb = S("0123456789012345678901234567890123456789012345678901234567890123456789");
			cache_put(c, path, &v2, &sb, 70, &mt, INT64_MIN);
			strbuf_release(&sb);
		}
		CHECK_INT(cache_get(c, "/audit/0.json", &v2, NULL, &size, &got), CACHE_MISS); /* pushed out */
		CHECK_INT(cache_stream_take(c, "/changes.jsonl", v2.gen, &got_ss), 0);
		CHECK_INT(got_ss.last, 22);
		CHECK_INT(cache_get(c, "/changes.jsonl", &v2, NULL, &size, &got), CACHE_HIT); /* its bytes went */
		strbuf_init(&out, 0);
		CHECK_INT(cache_get(c, "/changes.jsonl", &v2, &out, &size, &got), CACHE_MISS);
		strbuf_release(&out);
		/* a put of the next state is no stream's until kept as one */
		cache_put(c, "/changes.jsonl", &v3, NULL, 30, &mt, INT64_MIN);
		CHECK_INT(cache_stream_take(c, "/changes.jsonl", v3.gen, &got_ss), -ENOENT);
		CHECK_INT(cache_get(c, "/changes.jsonl", &v5, NULL, &size, &got), CACHE_MISS);
		CHECK_INT(cache_get(c, "/changes.jsonl", &v3, NULL, &size, &got), CACHE_MISS); /* dropped */
	}
	cache_free(c);
	cache_free(NULL);
	return check_done();
}
