/*
 * value.c - one field's value between SQLite and JSON, and its validation.
 *
 * Reading never loses data: a value whose storage does not match its
 * declared type (text in an integer column, invalid JSON in a JSON column,
 * written by another tool) is shown as what it is rather than dropped.
 * Writing is strict: value_check() accepts only values of the field's type,
 * within its set and range, and the error names the field.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

char *value_mask(const char *s)
{
	const char *p = s + strlen(s), *last4 = NULL;
	size_t chars = 0;

	/* Count characters, not bytes, from the end, so the mask stays valid UTF-8. */
	while (p > s) {
		if ((*--p & 0xc0) != 0x80 && ++chars == 4)
			last4 = p;
	}
	if (chars <= 8)
		return xstrdup("****");
	return xasprintf("****%s", last4);
}

/* Does v hold only finite numbers? (cJSON reads 1e400 as infinity) */
static bool json_finite(const cJSON *v)
{
	const cJSON *it;

	if (cJSON_IsNumber(v))
		return isfinite(v->valuedouble);
	cJSON_ArrayForEach(it, v)
		if (!json_finite(it))
			return false;
	return true;
}

cJSON *json_parse(const char *s, size_t len, char **cause)
{
	const char *why;
	size_t at;
	cJSON *v;

	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) { /* a byte order mark (Notepad's, vim's 'bomb'): */
		s += 3;                                          /* RFC 8259 lets a reader skip it */
		len -= 3;
	}
	if (memchr(s, 0, len)) {
		*cause = xstrdup("invalid content: NUL byte in a JSON file");
		return NULL;
	}
	if (!utf8_valid(s, len)) {
		*cause = xstrdup("invalid content: not UTF-8");
		return NULL;
	}
	if (!json_check(s, len, &at, &why)) {
		int line = 1, col = 1;
		if (strstr(why, "(U+0000)")) {
			*cause = xasprintf("invalid content: %s", why);
			return NULL;
		}
		for (size_t i = 0; i < at; i++) {
			if (s[i] == '\n')
				line++, col = 1;
			else if (((unsigned char)s[i] & 0xc0) != 0x80) /* columns in characters */
				col++;
		}
		*cause = xasprintf("invalid JSON at line %d, column %d: %s", line, col, why);
		return NULL;
	}
	if (!(v = cJSON_ParseWithLength(s, len))) { /* what json_check passes cJSON reads; but memory */
		*cause = xstrdup("invalid JSON: cannot be read");
		return NULL;
	}
	if (!json_finite(v)) {
		cJSON_Delete(v);
		*cause = xstrdup("invalid content: a number too large for a double (beyond 1.8e308)");
		return NULL;
	}
	return v;
}

static int64_t value_time_ms(enum map_time time, dbstmt *s, int i, bool *ok)
{
	int64_t ms;

	*ok = true;
	if (db_column_type(s, i) == SQLITE_INTEGER || db_column_type(s, i) == SQLITE_FLOAT) {
		double d = db_column_double(s, i);
		if (time == MAP_TIME_EPOCH_MS)
			return (int64_t)d;
		return (int64_t)(d * 1000.0);
	}
	if (time_parse_iso((const char *)db_column_text(s, i), &ms) == 0)
		return ms;
	*ok = false;
	return 0;
}

cJSON *value_read(const struct map_column *col, dbstmt *s, int i, bool secrets)
{
	int t = db_column_type(s, i);
	const char *text;
	char buf[40];
	cJSON *v;

	if (t == SQLITE_NULL)
		return cJSON_CreateNull();
	switch (col->type) {
	case MAP_INTEGER:
	case MAP_REVISION:
	case MAP_REAL:
		if (t == SQLITE_INTEGER)
			return cJSON_CreateNumber((double)db_column_int64(s, i));
		if (t == SQLITE_FLOAT)
			return cJSON_CreateNumber(db_column_double(s, i));
		break;
	case MAP_BOOLEAN:
		if (t == SQLITE_INTEGER)
			return cJSON_CreateBool(db_column_int64(s, i) != 0);
		break;
	case MAP_JSON:
		if (t == SQLITE_TEXT) {
			/* as strictly as a save reads it: cJSON would cut a string at
			 * a \u0000 and show 1e400 as null; such text is shown as text */
			const char *why;
			size_t at, n = (size_t)db_column_bytes(s, i);
			text = (const char *)db_column_text(s, i);
			if (json_check(text, n, &at, &why) && (v = cJSON_ParseWithLength(text, n))) {
				if (json_finite(v))
					return v;
				cJSON_Delete(v);
			}
		}
		break;
	case MAP_TIMESTAMP:
	case MAP_CREATED:
	case MAP_UPDATED: {
		bool ok;
		int64_t ms = value_time_ms(col->time, s, i, &ok);
		if (ok) {
			time_format_iso(ms, buf, sizeof(buf));
			return cJSON_CreateString(buf);
		}
		break;
	}
	case MAP_TEXT:
		break;
	}
	if (t == SQLITE_INTEGER)
		return cJSON_CreateNumber((double)db_column_int64(s, i));
	if (t == SQLITE_FLOAT)
		return cJSON_CreateNumber(db_column_double(s, i));
	text = (const char *)db_column_text(s, i);
	if (t == SQLITE_BLOB || !utf8_valid(text, (size_t)db_column_bytes(s, i)))
		return cJSON_CreateString("(binary)");
	if (col->secret && !secrets) {
		char *m = value_mask(text);
		v = cJSON_CreateString(m);
		free(m);
		return v;
	}
	return cJSON_CreateString(text);
}

void value_bind_now(enum map_time time, int64_t ms, dbstmt *s, int i)
{
	char buf[40];

	switch (time) {
	case MAP_TIME_EPOCH:
		db_bind_int64(s, i, ms / 1000);
		break;
	case MAP_TIME_EPOCH_MS:
		db_bind_int64(s, i, ms);
		break;
	case MAP_TIME_SQLITE:
		time_format_iso(ms, buf, sizeof(buf));
		buf[10] = ' ';
		buf[19] = 0; /* "YYYY-MM-DD HH:MM:SS" as datetime('now') */
		db_bind_text(s, i, buf, -1, SQLITE_TRANSIENT);
		break;
	case MAP_TIME_RFC3339:
		time_format_iso(ms, buf, sizeof(buf));
		buf[19] = 'Z';
		buf[20] = 0; /* whole seconds, as Go's time.RFC3339 */
		db_bind_text(s, i, buf, -1, SQLITE_TRANSIENT);
		break;
	case MAP_TIME_ISO:
		if (s->pg) /* the same text for years 1 to 9999; the others as it reads them */
			time_format_pg(TIME_FINITE(ms) ? ms * 1000 : ms, buf, sizeof(buf));
		else
			time_format_iso(ms, buf, sizeof(buf));
		db_bind_text(s, i, buf, -1, SQLITE_TRANSIENT);
		break;
	}
}

int value_bind(const struct map_column *col, const cJSON *v, dbstmt *s, int i)
{
	int64_t ms;
	char *text;
	int rc;

	if (!v || cJSON_IsNull(v))
		return db_bind_null(s, i);
	switch (col->type) {
	case MAP_JSON:
		text = json_text(v);
		rc = db_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
		cJSON_free(text);
		return rc;
	case MAP_BOOLEAN:
		if (cJSON_IsBool(v))
			return db_bind_int64(s, i, cJSON_IsTrue(v));
		break;
	case MAP_TIMESTAMP:
	case MAP_CREATED:
	case MAP_UPDATED:
		if (cJSON_IsString(v) && time_parse_iso(v->valuestring, &ms) == 0) {
			value_bind_now(col->time, ms, s, i);
			return SQLITE_OK;
		}
		break;
	default:
		break;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (col->type != MAP_REAL && d == floor(d) && fabs(d) < 9.2e18)
			return db_bind_int64(s, i, (int64_t)d);
		return db_bind_double(s, i, d);
	}
	if (cJSON_IsBool(v))
		return db_bind_int64(s, i, cJSON_IsTrue(v));
	if (cJSON_IsString(v))
		return db_bind_text(s, i, v->valuestring, -1, SQLITE_TRANSIENT);
	text = json_text(v);
	rc = db_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
	cJSON_free(text);
	return rc;
}

static const char *value_kind(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	return "an object";
}

static int value_enum(const struct map_column *col, const char *s, char **cause)
{
	struct strbuf sb = STRBUF_INIT;

	if (!col->enumv)
		return 0;
	for (size_t i = 0; i < col->nenum; i++)
		if (strcmp(col->enumv[i], s) == 0)
			return 0;
	for (size_t i = 0; i < col->nenum; i++) {
		strbuf_addstr(&sb, i ? ", " : "");
		strbuf_addstr(&sb, col->enumv[i]);
	}
	store_cause(cause, -EINVAL, "%s: must be one of %s (got \"%.60s\")", col->name, sb.buf, s);
	strbuf_release(&sb);
	return -EINVAL;
}

static int value_range(const struct map_column *col, double d, char **cause)
{
	if (col->has_min && d < col->min)
		return store_cause(cause, -EINVAL, "%s: must be at least %g (got %g)", col->name, col->min, d);
	if (col->has_max && d > col->max)
		return store_cause(cause, -EINVAL, "%s: must be at most %g (got %g)", col->name, col->max, d);
	return 0;
}

int value_check(const struct map_column *col, const cJSON *v, cJSON **norm, char **cause)
{
	char buf[40];
	int64_t ms, us;
	int rc;

	*norm = NULL;
	if (cJSON_IsNull(v)) {
		if (!col->nullable)
			return store_cause(cause, -EINVAL, "%s: cannot be null", col->name);
		*norm = cJSON_CreateNull();
		return 0;
	}
	switch (col->type) {
	case MAP_TEXT:
		if (!cJSON_IsString(v))
			return store_cause(cause, -EINVAL, "%s: expected a string, got %s", col->name,
					   value_kind(v));
		if ((rc = value_enum(col, v->valuestring, cause)))
			return rc;
		break;
	case MAP_INTEGER:
	case MAP_REVISION:
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
			return store_cause(cause, -EINVAL, "%s: expected an integer, got %s", col->name,
					   cJSON_IsNumber(v) ? "a fraction" : value_kind(v));
		if (fabs(v->valuedouble) > 9e15) /* past what a double holds exactly (2^53) */
			return store_cause(cause, -EINVAL, "%s: expected an integer of at most 15 digits, got %s",
					   col->name, v->valuedouble > 0 ? "a larger one" : "a smaller one");
		if (col->enumv) {
			snprintf(buf, sizeof(buf), "%lld", (long long)v->valuedouble);
			if ((rc = value_enum(col, buf, cause)))
				return rc;
		}
		if ((rc = value_range(col, v->valuedouble, cause)))
			return rc;
		break;
	case MAP_REAL:
		if (!cJSON_IsNumber(v))
			return store_cause(cause, -EINVAL, "%s: expected a number, got %s", col->name,
					   value_kind(v));
		if ((rc = value_range(col, v->valuedouble, cause)))
			return rc;
		break;
	case MAP_BOOLEAN:
		if (!cJSON_IsBool(v))
			return store_cause(cause, -EINVAL, "%s: expected true or false, got %s", col->name,
					   value_kind(v));
		break;
	case MAP_JSON:
		if (col->shape == MAP_SHAPE_ARRAY && !cJSON_IsArray(v))
			return store_cause(cause, -EINVAL, "%s: expected an array, got %s", col->name,
					   value_kind(v));
		if (col->shape == MAP_SHAPE_OBJECT && !cJSON_IsObject(v))
			return store_cause(cause, -EINVAL, "%s: expected an object, got %s", col->name,
					   value_kind(v));
		break;
	case MAP_TIMESTAMP:
	case MAP_CREATED:
	case MAP_UPDATED:
		if (!cJSON_IsString(v) || time_parse_iso(v->valuestring, &ms) < 0)
			return store_cause(cause, -EINVAL,
					   "%s: expected an ISO 8601 time like 2026-01-31T12:00:00Z, got %s",
					   col->name, value_kind(v));
		time_format_iso(ms, buf, sizeof(buf));
		if (time_parse_iso_us(v->valuestring, &us) < 0) /* PostgreSQL's microseconds overflow */
			return store_cause(cause, -EINVAL, "%s: %s is past the times orchfs stores (to the year 292,000)",
					   col->name, buf);
		/* numbers hold no infinity; SQLite's and Go's texts no year outside 0000-9999 */
		if (col->time != MAP_TIME_ISO && (!TIME_FINITE(ms) || ((col->time == MAP_TIME_SQLITE ||
		    col->time == MAP_TIME_RFC3339) && (buf[0] == '+' || buf[0] == '-'))))
			return store_cause(cause, -EINVAL, "%s: %s does not fit the column (%s)", col->name, buf,
					   col->time == MAP_TIME_EPOCH || col->time == MAP_TIME_EPOCH_MS
						   ? "a number" : "a text with a four-digit year");
		*norm = cJSON_CreateString(buf);
		return 0;
	}
	*norm = cJSON_Duplicate(v, true);
	return 0;
}

/* Each number of v (a copy) made a raw value of its exact text. */
static void json_exact(cJSON *v)
{
	cJSON *it;

	if (cJSON_IsNumber(v)) {
		char buf[40];
		json_number(v->valuedouble, buf, sizeof(buf));
		v->type = cJSON_Raw | (v->type & cJSON_StringIsConst);
		v->valuestring = xstrdup(buf);
		return;
	}
	cJSON_ArrayForEach(it, v)
		json_exact(it);
}

char *json_text(const cJSON *v)
{
	cJSON *copy = cJSON_Duplicate(v, true);
	char *text;

	json_exact(copy);
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	return text;
}

/*
 * Wide objects. cJSON finds an object's member by name by walking its list,
 * so comparing or merging two objects of n members one member at a time
 * takes n^2 steps: a save of a field with 80,000 keys held the write lock
 * for half a minute. Past JSON_WIDE members, each object's members are
 * sorted once by name (a name given twice in the order of its members) and
 * found by binary search: n log n. What the walk answers stays the answer,
 * to a name given twice: a lookup finds its first member, a change changes
 * that one, and a member added goes last. A member without a name (never in
 * parsed JSON) stops cJSON's walk: such an object is walked.
 */
#define JSON_WIDE 16

struct json_member {
	const char *name;
	cJSON *item;
	size_t pos; /* in its object */
};

static int json_member_cmp(const void *a, const void *b)
{
	const struct json_member *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static size_t json_count(const cJSON *obj)
{
	size_t n = 0;

	for (const cJSON *it = obj->child; it; it = it->next)
		n++;
	return n;
}

/* obj's n members by name, then place (caller frees); NULL if one has no name. */
static struct json_member *json_members(const cJSON *obj, size_t n)
{
	struct json_member *m = xcalloc(n + 1, sizeof(*m));
	size_t i = 0;

	for (cJSON *it = obj->child; it; it = it->next, i++) {
		if (!it->string) {
			free(m);
			return NULL;
		}
		m[i] = (struct json_member){ it->string, it, i };
	}
	qsort(m, n, sizeof(*m), json_member_cmp);
	return m;
}

/* The first of m's n members named name, or NULL. */
static const struct json_member *json_find(const struct json_member *m, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	if (!name)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(m[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(m[lo].name, name) == 0 ? &m[lo] : NULL;
}

/* Objects a and b: each member of a has its value in b, and b has no other
 * names. Values are compared one way only (a name given twice in a is
 * compared with its first member in b). */
static bool json_equal_members(const cJSON *a, const cJSON *b)
{
	struct json_member *ma = NULL, *mb = NULL;
	size_t n = json_count(a);
	const cJSON *x, *y;
	bool same = true;

	if (json_count(b) != n)
		return false;
	if (n >= JSON_WIDE && (ma = json_members(a, n)) && (mb = json_members(b, n))) {
		for (x = a->child; x && same; x = x->next) {
			const struct json_member *f = json_find(mb, n, x->string);
			same = f && json_equal(x, f->item);
		}
		for (y = b->child; y && same; y = y->next)
			same = json_find(ma, n, y->string) != NULL;
	} else {
		cJSON_ArrayForEach(x, a) {
			if (!(same = json_equal(x, cJSON_GetObjectItemCaseSensitive(b, x->string))))
				break;
		}
		for (y = b->child; y && same; y = y->next)
			same = cJSON_GetObjectItemCaseSensitive(a, y->string) != NULL;
	}
	free(ma);
	free(mb);
	return same;
}

bool json_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

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
			if (!json_equal(x, y))
				return false;
		return !x && !y;
	case cJSON_Object:
		return json_equal_members(a, b);
	default:
		return false;
	}
}

bool json_same(const cJSON *a, const cJSON *b)
{
	return a && b ? json_equal(a, b) : !a && !b;
}

/* item named name, as cJSON_ReplaceItemInObject names its replacement */
static void json_name(cJSON *item, const char *name)
{
	size_t len = strlen(name) + 1;
	char *copy = cJSON_malloc(len);

	if (!copy)
		abort(); /* as xmalloc */
	memcpy(copy, name, len);
	if (!(item->type & cJSON_StringIsConst))
		cJSON_free(item->string);
	item->string = copy;
	item->type &= ~cJSON_StringIsConst;
}

/*
 * The patch's members one by one onto target, an object, as RFC 7396 says;
 * by name, a null removes the first member of that name, another value
 * merges into it in its place, or is added last when there is none. A
 * change touches members of its own name only: the patch's members are
 * taken a name at a time (m, sorted), each name's members of target in a
 * queue of their own, and what is added goes last, in the patch's order.
 */
static bool json_merge_wide(cJSON *target, const cJSON *patch, size_t np)
{
	size_t nt = json_count(target), i = 0, j = 0;
	struct json_member *t = json_members(target, nt), *m = t ? json_members(patch, np) : NULL;
	cJSON **added;
	struct json_queued {
		cJSON *item;
		size_t added; /* its index in added, or SIZE_MAX: in target */
	} *queue;

	if (!m) { /* a member without a name: walked */
		free(t);
		return false;
	}
	added = xcalloc(np + 1, sizeof(*added)); /* by the place in patch of what added them */
	queue = xcalloc(nt + np + 1, sizeof(*queue));
	while (j < np) {
		const char *name = m[j].name;
		size_t head = 0, tail = 0, j2 = j;
		while (j2 < np && strcmp(m[j2].name, name) == 0)
			j2++;
		while (i < nt && strcmp(t[i].name, name) < 0)
			i++;
		for (; i < nt && strcmp(t[i].name, name) == 0; i++)
			queue[tail++] = (struct json_queued){ t[i].item, SIZE_MAX };
		for (; j < j2; j++) {
			const cJSON *p = m[j].item;
			struct json_queued *q = head < tail ? &queue[head] : NULL;
			cJSON *merged;
			if (cJSON_IsNull(p)) {
				if (!q)
					continue;
				if (q->added == SIZE_MAX) {
					cJSON_Delete(cJSON_DetachItemViaPointer(target, q->item));
				} else {
					cJSON_Delete(q->item);
					added[q->added] = NULL;
				}
				head++;
			} else if (q) { /* replaced in place: keys keep their order */
				merged = json_merge_patch(cJSON_Duplicate(q->item, true), p);
				if (q->added == SIZE_MAX) {
					json_name(merged, name);
					cJSON_ReplaceItemViaPointer(target, q->item, merged);
				} else {
					cJSON_Delete(q->item);
					added[q->added] = merged;
				}
				q->item = merged;
			} else {
				added[m[j].pos] = json_merge_patch(NULL, p);
				queue[tail++] = (struct json_queued){ added[m[j].pos], m[j].pos };
			}
		}
	}
	j = 0;
	for (const cJSON *p = patch->child; p; p = p->next, j++)
		if (added[j])
			cJSON_AddItemToObject(target, p->string, added[j]);
	free(queue);
	free(added);
	free(m);
	free(t);
	return true;
}

cJSON *json_merge_patch(cJSON *target, const cJSON *patch)
{
	const cJSON *p;
	size_t np;

	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, true);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	np = json_count(patch);
	if (np >= JSON_WIDE && json_merge_wide(target, patch, np))
		return target;
	cJSON_ArrayForEach(p, patch) {
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			continue;
		}
		cJSON *old = cJSON_GetObjectItemCaseSensitive(target, p->string);
		if (old) /* replace in place: keys keep their order */
			cJSON_ReplaceItemInObjectCaseSensitive(
				target, p->string, json_merge_patch(cJSON_Duplicate(old, true), p));
		else
			cJSON_AddItemToObject(target, p->string, json_merge_patch(NULL, p));
	}
	return target;
}
