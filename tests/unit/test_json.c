/*
 * test_json.c - json_equal and json_merge_patch on wide objects and on names
 * given twice: the same answers, to the order of keys, as the member by
 * member walk they replace (kept here as the reference), on objects built
 * by hand and on random ones, and on 80,000 keys (the walk is n^2: a save
 * of 80,000 keys took half a minute; the time is measured by hand, in
 * docs/PERFORMANCE.md, not here).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/internal.h"

/* --- the reference: the walk, as store/value.c had it --- */

static bool walk_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;
	int n = 0;

	if (!a || !b || (a->type & 0xff) != (b->type & 0xff))
		return false;
	if (a == b)
		return true;
	switch (a->type & 0xff) {
	case cJSON_False:
	case cJSON_True:
	case cJSON_NULL:
		return true;
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
	case cJSON_Raw:
		return a->valuestring && b->valuestring && strcmp(a->valuestring, b->valuestring) == 0;
	case cJSON_Array:
		for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
			if (!walk_equal(x, y))
				return false;
		return !x && !y;
	case cJSON_Object:
		cJSON_ArrayForEach(x, a) {
			n++;
			if (!walk_equal(x, cJSON_GetObjectItemCaseSensitive(b, x->string)))
				return false;
		}
		cJSON_ArrayForEach(y, b) {
			if (--n < 0 || !cJSON_GetObjectItemCaseSensitive(a, y->string))
				return false;
		}
		return n == 0;
	default:
		return false;
	}
}

static cJSON *walk_merge_patch(cJSON *target, const cJSON *patch)
{
	const cJSON *p;

	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, true);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	cJSON_ArrayForEach(p, patch) {
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			continue;
		}
		cJSON *old = cJSON_GetObjectItemCaseSensitive(target, p->string);
		if (old)
			cJSON_ReplaceItemInObjectCaseSensitive(target, p->string,
							       walk_merge_patch(cJSON_Duplicate(old, true), p));
		else
			cJSON_AddItemToObject(target, p->string, walk_merge_patch(NULL, p));
	}
	return target;
}

/* --- helpers --- */

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	if (!j)
		fprintf(stderr, "bad test JSON: %.80s\n", s);
	return j;
}

/* json_merge_patch and the walk on copies of target (a JSON text or NULL)
 * and patch: 1 when both print the same, keys in the same order. */
static int merge_same(const cJSON *target, const cJSON *patch, char **out)
{
	cJSON *got = json_merge_patch(target ? cJSON_Duplicate(target, true) : NULL, patch);
	cJSON *want = walk_merge_patch(target ? cJSON_Duplicate(target, true) : NULL, patch);
	char *g = cJSON_PrintUnformatted(got), *w = cJSON_PrintUnformatted(want);
	int same = g && w && strcmp(g, w) == 0;

	if (!same)
		fprintf(stderr, "merge differs from the walk:\n  got:  %.300s\n  want: %.300s\n", g, w);
	if (out)
		*out = g;
	else
		cJSON_free(g);
	cJSON_free(w);
	cJSON_Delete(got);
	cJSON_Delete(want);
	return same;
}

/* The merge of two JSON texts, printed (caller frees with cJSON_free). */
static char *merge_text(const char *target, const char *patch)
{
	cJSON *t = parse(target), *p = parse(patch);
	char *out = NULL;

	CHECK(merge_same(t, p, &out));
	cJSON_Delete(t);
	cJSON_Delete(p);
	return out;
}

/* json_equal of two texts, checked against the walk: 1, 0 */
static int equal_text(const char *a, const char *b)
{
	cJSON *x = parse(a), *y = parse(b);
	bool got = json_equal(x, y);

	CHECK_INT(got, walk_equal(x, y));
	cJSON_Delete(x);
	cJSON_Delete(y);
	return got;
}

/* {PREFIX: n members "f00" .. : 0 .. } as text, to follow other members (caller frees) */
static char *filler(const char *first, int n)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "{%s", first);
	for (int i = 0; i < n; i++)
		strbuf_addf(&sb, "%s\"f%02d\":%d", *first || i ? "," : "", i, i);
	strbuf_addch(&sb, '}');
	return strbuf_detach(&sb, NULL);
}

/* --- names given twice, past the width where objects are sorted --- */

static void test_twice(void)
{
	char *t, *p, *s, *a, *b;

	/* a null removes the first member of its name; a value merges into the
	 * first one left, in its place; one added goes last, once, and a
	 * later null of its name in the same patch removes it again */
	t = filler("\"a\":1,\"b\":2,\"a\":3,\"d\":{\"y\":1}", 20);
	p = filler("\"a\":null,\"a\":{\"x\":1},\"c\":5,\"c\":null,\"e\":{\"z\":null},\"e\":{\"w\":2},\"d\":{\"y\":null},"
		   "\"g\":[1],\"g\":2",
		   20);
	s = merge_text(t, p);
	CHECK_CONTAINS(s, "{\"b\":2,\"a\":{\"x\":1},\"d\":{},\"f00\":0,");
	CHECK_CONTAINS(s, "\"f19\":19,\"e\":{\"w\":2},\"g\":2}");
	cJSON_free(s);
	free(t);
	free(p);

	/* a name twice in the target: the patch reaches its first member only */
	t = filler("\"a\":1,\"a\":2,\"a\":3", 20);
	p = filler("\"a\":10,\"a\":null", 20);
	s = merge_text(t, p);
	CHECK_CONTAINS(s, "{\"a\":2,\"a\":3,\"f00\":0,");
	cJSON_free(s);
	free(p);
	p = filler("\"a\":null,\"a\":null,\"a\":null,\"a\":null,\"a\":4", 20);
	s = merge_text(t, p);
	CHECK_CONTAINS(s, "\"f19\":19,\"a\":4}");
	CHECK(!strstr(s, "\"a\":1") && !strstr(s, "\"a\":2") && !strstr(s, "\"a\":3"));
	cJSON_free(s);
	free(t);
	free(p);

	/* json_equal: each member of a against the first of its name in b; b
	 * has no other names, and as many members */
	a = filler("\"a\":1,\"a\":1", 20);
	b = filler("\"a\":1,\"a\":2", 20);
	CHECK(equal_text(a, b));  /* a's two compared with b's first */
	CHECK(!equal_text(b, a)); /* b's 2 with a's first, 1 */
	CHECK(!equal_text(b, b)); /* so a name twice with two values is not itself */
	CHECK(equal_text(a, a));
	free(b);
	b = filler("\"a\":1,\"c\":1", 20);
	CHECK(!equal_text(a, b) && !equal_text(b, a));
	free(a);
	free(b);
	a = filler("\"a\":1,\"a\":1,\"b\":2", 20);
	b = filler("\"a\":1,\"b\":2,\"b\":2", 20);
	CHECK(equal_text(a, b) && equal_text(b, a)); /* not the same members, but each name's first the same */
	free(a);
	free(b);
}

/* --- random objects, against the walk --- */

static unsigned long long rnd_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned)(rnd_state >> 33) % n;
}

static const char *rnd_names[] = { "a", "b", "c", "d", "e", "f", "g", "h", "k1", "k2", "k3", "" };
static cJSON *rnd_value(int depth, bool nulls);

/* A random object of up to max members. Names from a few, so that many are
 * given twice. */
static cJSON *rnd_object(int depth, bool nulls, unsigned max)
{
	cJSON *v = cJSON_CreateObject();

	for (unsigned i = rnd(max); i > 0; i--) {
		char name[8];
		if (rnd(3))
			snprintf(name, sizeof(name), "%s", rnd_names[rnd(12)]);
		else
			snprintf(name, sizeof(name), "n%u", rnd(40));
		cJSON_AddItemToObject(v, name, rnd_value(depth - 1, nulls));
	}
	return v;
}

/* A random value; nulls in patches only. */
static cJSON *rnd_value(int depth, bool nulls)
{
	const char **names = rnd_names;
	cJSON *v;

	switch (rnd(depth > 0 ? 6 : 4)) {
	case 0:
		return nulls && rnd(2) ? cJSON_CreateNull() : cJSON_CreateNumber(rnd(4));
	case 1:
		return cJSON_CreateString(names[rnd(12)]);
	case 2:
		return cJSON_CreateBool(rnd(2));
	case 3:
		return nulls ? cJSON_CreateNull() : cJSON_CreateNumber(rnd(3));
	case 4:
		v = cJSON_CreateArray();
		for (unsigned i = rnd(3); i > 0; i--)
			cJSON_AddItemToArray(v, rnd_value(depth - 1, false));
		return v;
	default:
		return rnd_object(depth, nulls, rnd(4) ? 8 : 60);
	}
}

/* b: a's members in another order, a value changed or a name renamed, now and then */
static cJSON *rnd_variant(const cJSON *a)
{
	cJSON *b = cJSON_Duplicate(a, true), *it;
	int n = cJSON_GetArraySize(b);

	if (!cJSON_IsObject(b) || n < 2)
		return b;
	for (int i = rnd(n); i > 0; i--) /* rotate a member to the end */
		cJSON_AddItemToArray(b, cJSON_DetachItemViaPointer(b, b->child));
	it = cJSON_GetArrayItem(b, (int)rnd(n));
	switch (rnd(4)) {
	case 0: {
		cJSON *v = cJSON_CreateNumber(99);
		v->string = strdup(it->string); /* cJSON's default allocator is malloc */
		cJSON_ReplaceItemViaPointer(b, it, v);
		break;
	}
	case 1:
		free(it->string);
		it->string = strdup("zz");
		break;
	default:
		break;
	}
	return b;
}

static void test_random(void)
{
	int merged = 0, compared = 0, wide = 0;

	for (int round = 0; round < 3000; round++) {
		cJSON *t = rnd(8) ? rnd_object(3, false, 60) : rnd_value(3, false);
		cJSON *p = rnd(8) ? rnd_object(3, true, 60) : rnd_value(3, true), *b;
		if (cJSON_GetArraySize(p) >= 16 || cJSON_GetArraySize(t) >= 16)
			wide++;
		merged += merge_same(t, p, NULL);
		b = rnd_variant(t);
		compared += json_equal(t, b) == walk_equal(t, b) && json_equal(b, t) == walk_equal(b, t) &&
			    json_equal(t, t) == walk_equal(t, t);
		cJSON_Delete(b);
		cJSON_Delete(t);
		cJSON_Delete(p);
	}
	CHECK_INT(merged, 3000);
	CHECK_INT(compared, 3000);
	CHECK(wide > 1000); /* the sorted path was taken */
}

/* --- wide --- */

/* {"k000000": 0, ...} with n keys, from first, every step-th */
static cJSON *wide_object(int n, int first, int step)
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0, k = first; i < n; i++, k += step) {
		char name[16];
		snprintf(name, sizeof(name), "k%06d", k);
		cJSON_AddItemToObject(o, name, cJSON_CreateNumber(k));
	}
	return o;
}

static void test_wide(void)
{
	cJSON *t = wide_object(80000, 0, 1), *r = wide_object(80000, 79999, -1), *p, *m, *it;
	char *s;
	int i;

	/* the same members in reverse order; one value, one name apart */
	CHECK(json_equal(t, r) && json_equal(r, t));
	cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "k040000"), -1);
	CHECK(!json_equal(t, r) && !json_equal(r, t));
	cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "k040000"), 40000);
	it = cJSON_GetObjectItemCaseSensitive(r, "k012345");
	free(it->string); /* cJSON's default allocator is malloc */
	it->string = strdup("k999999");
	CHECK(!json_equal(t, r) && !json_equal(r, t));
	cJSON_Delete(r);

	/* a patch of 80,000: every other key removed, a thousand made objects,
	 * 39,000 added (a name not there with null: nothing) */
	p = cJSON_CreateObject();
	for (i = 79998; i >= 0; i -= 2) { /* in reverse: the order of the patch is not the target's */
		char name[16];
		snprintf(name, sizeof(name), "k%06d", i);
		cJSON_AddItemToObject(p, name, cJSON_CreateNull());
	}
	for (i = 1; i < 2000; i += 2) {
		char name[16];
		snprintf(name, sizeof(name), "k%06d", i);
		cJSON_AddItemToObject(p, name, parse("{\"v\":1,\"w\":null}"));
	}
	for (i = 0; i < 39000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%06d", 38999 - i);
		cJSON_AddItemToObject(p, name, i == 5 ? cJSON_CreateNull() : cJSON_CreateNumber(i));
	}
	m = json_merge_patch(cJSON_Duplicate(t, true), p);
	CHECK_INT(cJSON_GetArraySize(m), 40000 + 38999);
	s = cJSON_PrintUnformatted(m);
	CHECK(s && strstr(s, "{\"k000001\":{\"v\":1},\"k000003\":{\"v\":1},") == s);
	CHECK_CONTAINS(s, "\"k001999\":{\"v\":1},\"k002001\":2001,");
	CHECK_CONTAINS(s, "\"k079999\":79999,\"n038999\":0,\"n038998\":1,\"n038997\":2,\"n038996\":3,\"n038995\":4,\"n038993\":6,");
	CHECK(!strstr(s, "\"k000000\"") && !strstr(s, "n038994"));
	cJSON_free(s);
	/* and as the walk has it (a 10th of the size: the walk is n^2) */
	{
		cJSON *t10 = wide_object(8000, 0, 1), *p10 = cJSON_CreateObject();
		for (it = p->child, i = 0; it; it = it->next, i++)
			if (i % 10 == 0)
				cJSON_AddItemToObject(p10, it->string, cJSON_Duplicate(it, true));
		CHECK(merge_same(t10, p10, NULL));
		cJSON_Delete(t10);
		cJSON_Delete(p10);
	}
	cJSON_Delete(m);
	cJSON_Delete(p);
	cJSON_Delete(t);
}

int main(void)
{
	test_twice();
	test_random();
	test_wide();
	return check_done();
}
