/* test_value.c - JSON Merge Patch, field validation, timestamps and secret masks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/internal.h"

/* target + patch as JSON texts; 1 if the result equals want (key order ignored). */
static int merge_is(const char *target, const char *patch, const char *want)
{
	cJSON *t = cJSON_Parse(target), *p = cJSON_Parse(patch), *w = cJSON_Parse(want);
	cJSON *r = json_merge_patch(t, p);
	int ok = r && w && cJSON_Compare(r, w, true);

	if (!ok) {
		char *got = r ? cJSON_PrintUnformatted(r) : NULL;
		fprintf(stderr, "merge %s + %s: got %s, want %s\n", target, patch, got ? got : "(null)", want);
		cJSON_free(got);
	}
	cJSON_Delete(r);
	cJSON_Delete(p);
	cJSON_Delete(w);
	return ok;
}

/* The merged result printed without spaces, to see the order of keys (caller frees). */
static char *merge_text(const char *target, const char *patch)
{
	cJSON *p = cJSON_Parse(patch);
	cJSON *r = json_merge_patch(target ? cJSON_Parse(target) : NULL, p);
	char *s = cJSON_PrintUnformatted(r);

	cJSON_Delete(r);
	cJSON_Delete(p);
	return s;
}

static void test_merge_patch(void)
{
	char *s;

	/* RFC 7396 appendix A, every example. */
	CHECK(merge_is("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"));
	CHECK(merge_is("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"));
	CHECK(merge_is("{\"a\":\"b\"}", "{\"a\":null}", "{}"));
	CHECK(merge_is("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"));
	CHECK(merge_is("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"));
	CHECK(merge_is("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"));
	CHECK(merge_is("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"));
	CHECK(merge_is("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"));
	CHECK(merge_is("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"));
	CHECK(merge_is("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"));
	CHECK(merge_is("{\"a\":\"foo\"}", "null", "null"));
	CHECK(merge_is("{\"a\":\"foo\"}", "\"bar\"", "\"bar\""));
	CHECK(merge_is("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"));
	CHECK(merge_is("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"));
	CHECK(merge_is("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"));

	/* The RFC's larger example (section 3). */
	CHECK(merge_is("{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
		       "\"tags\":[\"example\",\"sample\"],\"content\":\"This will be unchanged\"}",
		       "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\",\"author\":{\"familyName\":null},"
		       "\"tags\":[\"example\"]}",
		       "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},\"tags\":[\"example\"],"
		       "\"content\":\"This will be unchanged\",\"phoneNumber\":\"+01-123-456-7890\"}"));

	/* Nested objects merge at every depth; removing an absent key is a no-op. */
	CHECK(merge_is("{\"a\":1,\"b\":{\"c\":2,\"d\":{\"e\":3,\"f\":4}}}", "{\"b\":{\"d\":{\"f\":null,\"g\":5}},\"x\":null}",
		       "{\"a\":1,\"b\":{\"c\":2,\"d\":{\"e\":3,\"g\":5}}}"));

	/* No target (NULL) is like a non-object: the patch's nulls are dropped. */
	s = merge_text(NULL, "{\"a\":null,\"b\":{\"c\":null,\"d\":1}}");
	CHECK_STR(s, "{\"b\":{\"d\":1}}");
	cJSON_free(s);

	/* Replaced keys keep their place; new keys go last. */
	s = merge_text("{\"a\":1,\"b\":2,\"c\":3}", "{\"b\":{\"x\":1},\"z\":0,\"a\":9}");
	CHECK_STR(s, "{\"a\":9,\"b\":{\"x\":1},\"c\":3,\"z\":0}");
	cJSON_free(s);

	/* The patch is not changed by being applied. */
	{
		cJSON *p = cJSON_Parse("{\"a\":{\"b\":null},\"c\":null}");
		cJSON *r = json_merge_patch(cJSON_Parse("{\"a\":{\"b\":1},\"c\":2}"), p);
		s = cJSON_PrintUnformatted(p);
		CHECK_STR(s, "{\"a\":{\"b\":null},\"c\":null}");
		cJSON_free(s);
		cJSON_Delete(p);
		cJSON_Delete(r);
	}
}

/* value_check of the JSON text v against col: rc, with *norm printed into *out and the cause. */
static int check_value(const struct map_column *col, const char *v, char **out, char **cause)
{
	cJSON *j = cJSON_Parse(v), *norm = (cJSON *)1;
	int rc;

	*cause = NULL;
	*out = NULL;
	if (!j) {
		fprintf(stderr, "bad test JSON: %s\n", v);
		return -1000;
	}
	rc = value_check(col, j, &norm, cause);
	if (rc == 0 && norm)
		*out = cJSON_PrintUnformatted(norm);
	if (rc != 0 && norm)
		rc = -1001; /* a refusal must not hand back a value */
	if (rc == 0 && *cause)
		rc = -1002; /* success must not set a cause */
	if (rc == 0 && !norm)
		rc = -1003;
	cJSON_Delete(j);
	cJSON_Delete(norm);
	return rc;
}

/* v is accepted for col and normalised to want. */
#define ACCEPTS(col, v, want)                                   \
	do {                                                    \
		char *out_, *cause_;                            \
		CHECK_INT(check_value((col), (v), &out_, &cause_), 0); \
		CHECK_STR(out_, (want));                        \
		cJSON_free(out_);                               \
		free(cause_);                                   \
	} while (0)

/* v is refused for col with -EINVAL and a cause that contains needle. */
#define REFUSES(col, v, needle)                                        \
	do {                                                           \
		char *out_, *cause_;                                   \
		CHECK_INT(check_value((col), (v), &out_, &cause_), -EINVAL); \
		CHECK_CONTAINS(cause_, (needle));                      \
		cJSON_free(out_);                                      \
		free(cause_);                                          \
	} while (0)

static void test_check(const struct mapping *m)
{
	const struct map_database *db = map_database(m, "project"), *udb = map_database(m, "user");
	const struct map_collection *bugs = map_collection(db, "bugs"), *tasks = map_collection(db, "tasks");
	const struct map_collection *rules = map_collection(db, "rules"), *zones = map_collection(db, "zones");
	const struct map_collection *prov = map_collection(udb, "providers");
	char *ints[] = { (char *)"1", (char *)"2", (char *)"3" };
	struct map_column object = { .name = (char *)"settings", .type = MAP_JSON, .shape = MAP_SHAPE_OBJECT };
	struct map_column level = { .name = (char *)"level", .type = MAP_INTEGER, .enumv = ints, .nenum = 3 };
	struct map_column weight = { .name = (char *)"weight", .type = MAP_REAL, .nullable = true,
				     .has_min = true, .min = -1.5 };

	/* text: strings only; empty is a string; null only where nullable. */
	ACCEPTS(map_column(bugs, "title"), "\"a title\"", "\"a title\"");
	ACCEPTS(map_column(bugs, "title"), "\"\"", "\"\"");
	ACCEPTS(map_column(bugs, "title"), "\"é \\u0001\"", "\"é \\u0001\"");
	REFUSES(map_column(bugs, "title"), "12", "title: expected a string, got a number");
	REFUSES(map_column(bugs, "title"), "true", "title: expected a string, got a boolean");
	REFUSES(map_column(bugs, "title"), "[\"x\"]", "got an array");
	REFUSES(map_column(bugs, "title"), "{}", "got an object");
	REFUSES(map_column(bugs, "title"), "null", "title: cannot be null");
	ACCEPTS(map_column(bugs, "description"), "null", "null");

	/* text with a value set: the message lists the set and what was given. */
	ACCEPTS(map_column(bugs, "status"), "\"wontfix\"", "\"wontfix\"");
	REFUSES(map_column(bugs, "status"), "\"closed\"",
		"status: must be one of open, in_progress, fixed, wontfix, duplicate (got \"closed\")");
	REFUSES(map_column(bugs, "status"), "\"Open\"", "must be one of");
	REFUSES(map_column(bugs, "status"), "\"\"", "must be one of");
	REFUSES(map_column(bugs, "status"), "null", "status: cannot be null");
	ACCEPTS(map_column(map_collection(db, "workflows"), "pattern"), "null", "null");
	REFUSES(map_column(map_collection(db, "workflows"), "pattern"), "\"waterfall\"",
		"pattern: must be one of react, plan_execute, reflection");

	/* integer: whole numbers within min and max. */
	ACCEPTS(map_column(bugs, "priority"), "3", "3");
	ACCEPTS(map_column(bugs, "priority"), "1", "1");
	ACCEPTS(map_column(bugs, "priority"), "5", "5");
	ACCEPTS(map_column(bugs, "priority"), "2.0", "2");
	REFUSES(map_column(bugs, "priority"), "0", "priority: must be at least 1 (got 0)");
	REFUSES(map_column(bugs, "priority"), "6", "priority: must be at most 5 (got 6)");
	REFUSES(map_column(bugs, "priority"), "2.5", "priority: expected an integer, got a fraction");
	REFUSES(map_column(bugs, "priority"), "1e20", "priority: expected an integer of at most 15 digits, got a larger one");
	REFUSES(map_column(bugs, "priority"), "-1e20", "priority: expected an integer of at most 15 digits, got a smaller one");
	REFUSES(map_column(bugs, "priority"), "\"3\"", "priority: expected an integer, got a string");
	REFUSES(map_column(bugs, "priority"), "true", "got a boolean");
	REFUSES(map_column(bugs, "priority"), "null", "priority: cannot be null");
	ACCEPTS(map_column(tasks, "priority"), "-7", "-7");
	ACCEPTS(map_column(tasks, "priority"), "4503599627370496", "4503599627370496");
	REFUSES(map_column(tasks, "priority"), "1e300", "expected an integer");
	ACCEPTS(map_column(map_collection(db, "worktrees"), "port"), "null", "null");
	REFUSES(map_column(map_collection(db, "worktrees"), "port"), "65536", "port: must be at most 65535");

	/* integer with a value set. */
	ACCEPTS(&level, "2", "2");
	REFUSES(&level, "4", "level: must be one of 1, 2, 3 (got \"4\")");

	/* real: any number within min and max. */
	ACCEPTS(map_column(zones, "position_x"), "12.5", "12.5");
	ACCEPTS(map_column(zones, "position_x"), "-3", "-3");
	REFUSES(map_column(zones, "position_x"), "\"12\"", "position_x: expected a number, got a string");
	REFUSES(map_column(zones, "position_x"), "null", "cannot be null");
	ACCEPTS(map_column(prov, "temperature"), "0", "0");
	ACCEPTS(map_column(prov, "temperature"), "2", "2");
	REFUSES(map_column(prov, "temperature"), "2.5", "temperature: must be at most 2 (got 2.5)");
	REFUSES(map_column(prov, "temperature"), "-0.1", "temperature: must be at least 0");
	REFUSES(map_column(prov, "max_tokens"), "0", "max_tokens: must be at least 1");
	ACCEPTS(&weight, "-1.5", "-1.5");
	ACCEPTS(&weight, "null", "null");
	REFUSES(&weight, "-2", "weight: must be at least -1.5 (got -2)");

	/* boolean: true and false only, not 0/1 or strings. */
	ACCEPTS(map_column(rules, "enabled"), "true", "true");
	ACCEPTS(map_column(rules, "enabled"), "false", "false");
	REFUSES(map_column(rules, "enabled"), "1", "enabled: expected true or false, got a number");
	REFUSES(map_column(rules, "enabled"), "\"true\"", "enabled: expected true or false, got a string");
	REFUSES(map_column(rules, "enabled"), "null", "enabled: cannot be null");

	/* json: any value, or the declared shape. */
	ACCEPTS(map_column(tasks, "metadata"), "{\"a\":[1,{\"b\":null}]}", "{\"a\":[1,{\"b\":null}]}");
	ACCEPTS(map_column(tasks, "metadata"), "[1,2]", "[1,2]");
	ACCEPTS(map_column(tasks, "metadata"), "\"s\"", "\"s\"");
	ACCEPTS(map_column(tasks, "metadata"), "7", "7");
	ACCEPTS(map_column(tasks, "metadata"), "null", "null");
	ACCEPTS(map_column(bugs, "labels"), "[\"ui\",\"crash\"]", "[\"ui\",\"crash\"]");
	ACCEPTS(map_column(bugs, "labels"), "[]", "[]");
	REFUSES(map_column(bugs, "labels"), "{\"a\":1}", "labels: expected an array, got an object");
	REFUSES(map_column(bugs, "labels"), "\"ui\"", "labels: expected an array, got a string");
	REFUSES(map_column(bugs, "labels"), "null", "labels: cannot be null");
	REFUSES(map_column(zones, "actions"), "null", "actions: cannot be null");
	ACCEPTS(&object, "{\"k\":1}", "{\"k\":1}");
	REFUSES(&object, "[]", "settings: expected an object, got an array");
	REFUSES(&object, "3", "settings: expected an object, got a number");

	/* timestamp: ISO 8601 in, "YYYY-MM-DDTHH:MM:SS.mmmZ" UTC out. */
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-31T12:00:00Z\"", "\"2026-01-31T12:00:00.000Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-31T12:00:00.123Z\"", "\"2026-01-31T12:00:00.123Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-31T12:00:00.5Z\"", "\"2026-01-31T12:00:00.500Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-31 12:00:00\"", "\"2026-01-31T12:00:00.000Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-31T12:00\"", "\"2026-01-31T12:00:00.000Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-31\"", "\"2026-01-31T00:00:00.000Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-31T12:00:00+02:00\"", "\"2026-01-31T10:00:00.000Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-31T23:30:00-01:30\"", "\"2026-02-01T01:00:00.000Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2026-01-01T00:30:00+0100\"", "\"2025-12-31T23:30:00.000Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"2024-02-29T00:00:00Z\"", "\"2024-02-29T00:00:00.000Z\"");
	ACCEPTS(map_column(tasks, "started_at"), "null", "null");
	REFUSES(map_column(tasks, "started_at"), "\"yesterday\"", "started_at: expected an ISO 8601 time");
	REFUSES(map_column(tasks, "started_at"), "1769860800", "started_at: expected an ISO 8601 time");
	REFUSES(map_column(tasks, "started_at"), "\"2026-01-31T12:00:00Zjunk\"", "started_at");
	REFUSES(map_column(tasks, "completed_at"), "\"31/01/2026\"", "completed_at: expected an ISO 8601 time");
	REFUSES(map_column(tasks, "started_at"), "\"+294276-12-31T23:59:59.999Z\"", "started_at: +294276-12-31T23:59:59.999Z is past the times orchfs stores");
	REFUSES(map_column(tasks, "started_at"), "\"-294276-01-01T00:00:00.000Z\"", "is past the times orchfs stores");
	REFUSES(map_log_column(&tasks->logs[0], "timestamp"), "\"now\"", "timestamp: expected an ISO 8601 time");
	ACCEPTS(map_log_column(&tasks->logs[0], "timestamp"), "\"2026-01-31 12:00:00\"", "\"2026-01-31T12:00:00.000Z\"");
	REFUSES(map_column(map_collection(db, "audit"), "created_at"), "\"garbage\"", "created_at");

	/* Years outside 0000-9999 and the infinities, as they read; where the
	 * column keeps times as numbers or SQLite's text, what fits only. */
	ACCEPTS(map_column(tasks, "started_at"), "\"infinity\"", "\"infinity\"");
	ACCEPTS(map_column(tasks, "started_at"), "\"-000043-03-15T12:00:00Z\"", "\"-000043-03-15T12:00:00.000Z\"");
	{
		struct map_column epoch = { .name = (char *)"at", .type = MAP_TIMESTAMP, .time = MAP_TIME_EPOCH };
		struct map_column lite = { .name = (char *)"at", .type = MAP_TIMESTAMP, .time = MAP_TIME_SQLITE };
		ACCEPTS(&epoch, "\"-000043-03-15T12:00:00Z\"", "\"-000043-03-15T12:00:00.000Z\"");
		REFUSES(&epoch, "\"-infinity\"", "at: -infinity does not fit the column (a number)");
		ACCEPTS(&lite, "\"0000-01-01\"", "\"0000-01-01T00:00:00.000Z\"");
		REFUSES(&lite, "\"+010000-01-01T00:00:00Z\"", "does not fit the column (a text with a four-digit year)");
		REFUSES(&lite, "\"infinity\"", "does not fit");
	}
}

/* time_parse_iso of s, as milliseconds; -EINVAL is returned as is. */
static long long parse(const char *s)
{
	int64_t ms = -42;
	int rc = time_parse_iso(s, &ms);

	return rc ? rc : ms;
}

static void test_time(void)
{
	char buf[40];

	/* Parsing: Z, offsets, space separator, date only, fractions. */
	CHECK_INT(parse("1970-01-01T00:00:00Z"), 0);
	CHECK_INT(parse("1970-01-01T00:00:00.000Z"), 0);
	CHECK_INT(parse("1970-01-01"), 0);
	CHECK_INT(parse("1970-01-01 00:00:01.250"), 1250);
	CHECK_INT(parse("1970-01-01T00:00:01.2509Z"), 1250);
	CHECK_INT(parse("1970-01-01T01:00:00+01:00"), 0);
	CHECK_INT(parse("1969-12-31T23:00:00-01:00"), 0);
	CHECK_INT(parse("1970-01-02T00:00"), 86400000);
	CHECK_INT(parse("2026-01-31T12:00:00Z"), 1769860800000LL);
	CHECK_INT(parse("2000-02-29"), 951782400000LL);

	/* Garbage and impossible dates are refused. */
	CHECK_INT(parse(""), -EINVAL);
	CHECK_INT(parse("garbage"), -EINVAL);
	CHECK_INT(parse("2026"), -EINVAL);
	CHECK_INT(parse("2026-1-31"), -EINVAL);
	CHECK_INT(parse("2026-01-31T"), -EINVAL);
	CHECK_INT(parse("2026-01-31T12"), -EINVAL);
	CHECK_INT(parse("2026-01-31T12:00:00."), -EINVAL);
	CHECK_INT(parse("2026-01-31T12:00:00.Z"), -EINVAL);
	CHECK_INT(parse("2026-01-31T12:00:00+5"), -EINVAL);
	CHECK_INT(parse("2026-01-31T12:00:00Z "), -EINVAL);
	CHECK_INT(parse("2026-01-31x"), -EINVAL);
	CHECK_INT(parse("2026-00-10"), -EINVAL);
	CHECK_INT(parse("2026-13-01"), -EINVAL);
	CHECK_INT(parse("2026-01-00"), -EINVAL);
	CHECK_INT(parse("2026-01-32"), -EINVAL);
	CHECK_INT(parse("2026-02-30"), -EINVAL);
	CHECK_INT(parse("2026-02-29"), -EINVAL);
	CHECK_INT(parse("2100-02-29"), -EINVAL);
	CHECK_INT(parse("2026-04-31"), -EINVAL);
	CHECK_INT(parse("2026-01-31T24:00:00Z"), -EINVAL);
	CHECK_INT(parse("2026-01-31T12:60:00Z"), -EINVAL);
	CHECK_INT(parse("2026-01-31T12:00:61Z"), -EINVAL);

	/* Formatting: always milliseconds and Z, also before 1970. */
	time_format_iso(0, buf, sizeof(buf));
	CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
	time_format_iso(1769860800007LL, buf, sizeof(buf));
	CHECK_STR(buf, "2026-01-31T12:00:00.007Z");
	time_format_iso(-1, buf, sizeof(buf));
	CHECK_STR(buf, "1969-12-31T23:59:59.999Z");
	CHECK_INT(parse("1969-12-31T23:59:59.999Z"), -1);

	/* Years outside 0000-9999 as ECMAScript's Date writes them (1 BC is
	 * 0000), and the two infinities: each reads back as it is written. */
	CHECK_INT(parse("0000-01-01T00:00:00Z"), -62167219200000LL);
	CHECK_INT(parse("-000001-12-31T23:59:59.999Z"), -62167219200001LL);
	CHECK_INT(parse("+010000-01-01T00:00:00Z"), 253402300800000LL);
	CHECK_INT(parse("-000043-03-15T12:00:00.5Z"), -63517780800000LL + 500);
	CHECK_INT(parse("0000-02-29"), -62162121600000LL); /* 1 BC was a leap year */
	CHECK_INT(parse("-000001-02-29"), -EINVAL);
	CHECK_INT(parse("infinity"), TIME_INFINITY);
	CHECK_INT(parse("-infinity"), TIME_NEG_INFINITY);
	CHECK_INT(parse("+infinity"), -EINVAL);
	CHECK_INT(parse("Infinity"), -EINVAL);
	CHECK_INT(parse("-00043-03-15"), -EINVAL);
	CHECK_INT(parse("10000-01-01"), -EINVAL);
	const char *forms[] = { "0000-01-01T00:00:00.000Z", "-000043-03-15T12:00:00.500Z", "-004713-11-24T00:00:00.000Z",
				"+010000-01-01T00:00:00.000Z", "+294276-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z",
				"0001-01-01T00:00:00.000Z", "infinity", "-infinity" };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		time_format_iso(parse(forms[i]), buf, sizeof(buf));
		CHECK_STR(buf, forms[i]);
	}

	/* Microseconds: digits past them dropped, not rounded. */
	{
		int64_t us = 0;
		CHECK_INT(time_parse_iso_us("1970-01-01T00:00:00.1234567Z", &us), 0);
		CHECK_INT(us, 123456);
		CHECK_INT(time_parse_iso_us("1969-12-31T23:59:59.9999999Z", &us), 0);
		CHECK_INT(us, -1);
		CHECK_INT(parse("1969-12-31T23:59:59.9999999Z"), -1);
		CHECK_INT(time_parse_iso_us("infinity", &us), 0);
		CHECK_INT(us, TIME_INFINITY);
		CHECK_INT(time_parse_iso_us("+294276-12-31T23:59:59Z", &us), -EINVAL); /* past 2^63 us */
	}

	/* PostgreSQL's form: the same text as time_format_iso's for years 1 to
	 * 9999 and whole milliseconds; microseconds when there are; BC before 1. */
	time_format_pg(1769860800007000LL, buf, sizeof(buf));
	CHECK_STR(buf, "2026-01-31T12:00:00.007Z");
	time_format_pg(1769860800007001LL, buf, sizeof(buf));
	CHECK_STR(buf, "2026-01-31T12:00:00.007001Z");
	time_format_pg(-1, buf, sizeof(buf));
	CHECK_STR(buf, "1969-12-31T23:59:59.999999Z");
	time_format_pg(-62167219200000000LL, buf, sizeof(buf));
	CHECK_STR(buf, "0001-01-01T00:00:00.000Z BC");
	time_format_pg((-63517780800000LL + 500) * 1000, buf, sizeof(buf));
	CHECK_STR(buf, "0044-03-15T12:00:00.500Z BC");
	time_format_pg(253402300800000000LL, buf, sizeof(buf));
	CHECK_STR(buf, "10000-01-01T00:00:00.000Z");
	time_format_pg(TIME_NEG_INFINITY, buf, sizeof(buf));
	CHECK_STR(buf, "-infinity");
}

static void test_mask(void)
{
	char *s;

	/* "****" and the last four characters; nothing of short values. */
	s = value_mask("sk-ant-api03-abcdefgh1234");
	CHECK_STR(s, "****1234");
	free(s);
	s = value_mask("123456789");
	CHECK_STR(s, "****6789");
	free(s);
	s = value_mask("12345678");
	CHECK_STR(s, "****");
	free(s);
	s = value_mask("abc");
	CHECK_STR(s, "****");
	free(s);
	s = value_mask("");
	CHECK_STR(s, "****");
	free(s);

	/* Characters, not bytes: the mask stays valid UTF-8. */
	s = value_mask("clé-secrète-€€€€");
	CHECK_STR(s, "****€€€€");
	CHECK(s && utf8_valid(s, strlen(s)));
	free(s);
	s = value_mask("xxxxxxxxxé€");
	CHECK(s && utf8_valid(s, strlen(s)));
	CHECK_STR(s, "****xxé€");
	free(s);
	s = value_mask("ééééé€€€"); /* 8 characters, 16 bytes */
	CHECK_STR(s, "****");
	free(s);
}

/* json_equal of two JSON texts */
static bool equal(const char *a, const char *b)
{
	cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
	bool same = x && y && json_equal(x, y);

	cJSON_Delete(x);
	cJSON_Delete(y);
	return same;
}

static void test_equal(void)
{
	struct strbuf deep = STRBUF_INIT;

	CHECK(equal("{\"a\":1,\"b\":[1,2,{\"c\":null}]}", "{\"b\":[1,2,{\"c\":null}],\"a\":1}"));
	CHECK(!equal("{\"a\":1}", "{\"a\":1,\"b\":2}"));
	CHECK(!equal("{\"a\":1,\"b\":2}", "{\"a\":1}"));
	CHECK(!equal("{\"a\":1,\"a\":1}", "{\"a\":1,\"b\":1}")); /* a name given twice */
	CHECK(!equal("{\"a\":1,\"b\":1}", "{\"a\":1,\"a\":1}"));
	CHECK(!equal("[1,2]", "[2,1]"));
	CHECK(!equal("[1,2]", "[1,2,3]"));
	CHECK(!equal("1", "\"1\""));
	CHECK(!equal("0.30000000000000004", "0.3")); /* a double apart by one unit in the last place */
	CHECK(equal("true", "true") && !equal("true", "false") && equal("null", "null"));
	CHECK(!json_equal(NULL, NULL));
	/* a hundred levels of equal objects: cJSON_Compare would take 2^100 steps */
	for (int i = 0; i < 100; i++)
		strbuf_addstr(&deep, "{\"a\":");
	strbuf_addstr(&deep, "1");
	for (int i = 0; i < 100; i++)
		strbuf_addstr(&deep, "}");
	CHECK(equal(deep.buf, deep.buf));
	strbuf_release(&deep);
}

/* json_check: what RFC 8259 allows passes; the rest fails at its first wrong
 * byte with a reason. json_parse: the same, with line and column. */
static int check_fails_at(const char *text, size_t want_at, const char *want_why)
{
	const char *why = NULL;
	size_t at = 0;
	bool ok = json_check(text, strlen(text), &at, &why);

	if (ok || at != want_at || !why || !strstr(why, want_why)) {
		fprintf(stderr, "json_check %s: %s at %zu (%s), want failing at %zu (%s)\n", text,
			ok ? "passed" : "failed", at, why ? why : "-", want_at, want_why);
		return 0;
	}
	return 1;
}

static void test_json_check(void)
{
	static const char *good[] = {
		"{}", "[]", " {\"a\" : [1, -0, 0.5, 1e3, 1E-3, -2.5e+10, true, false, null, \"\"]} \r\n",
		"\"\\u00e9\\ud83d\\ude00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"", "0", "{\"a\":{\"b\":{}}}",
		"\"caf\xc3\xa9\"",
	};
	const char *why;
	size_t at;
	char *cause = NULL;
	cJSON *v;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		bool ok = json_check(good[i], strlen(good[i]), &at, &why);
		if (!ok)
			fprintf(stderr, "json_check %s: failed at %zu: %s\n", good[i], at, why);
		CHECK(ok);
	}
	/* what cJSON alone reads, and should not */
	CHECK(check_fails_at("{\"a\":02}", 5, "leading zero"));
	CHECK(check_fails_at("{\"a\":3.}", 7, "after its decimal point"));
	CHECK(check_fails_at("{\"a\":.5}", 5, "expected a value"));
	CHECK(check_fails_at("{\"a\":+1}", 5, "expected a value"));
	CHECK(check_fails_at("{\"a\":1e}", 7, "exponent"));
	CHECK(check_fails_at("{\"a\":\"x\ty\"}", 7, "control character"));
	CHECK(check_fails_at("{\"a\":\"\\u0000\"}", 6, "U+0000"));
	CHECK(check_fails_at("{\"a\":\"\\ud800\"}", 6, "high surrogate"));
	CHECK(check_fails_at("{\"a\":\"\\udc00\"}", 6, "low surrogate"));
	CHECK(check_fails_at("{\"a\":\"\\u12g4\"}", 6, "four hexadecimal"));
	CHECK(check_fails_at("{\"a\":\"\\x41\"}", 6, "unknown escape"));
	CHECK(check_fails_at("{\"a\":1,}", 7, "comma before }"));
	CHECK(check_fails_at("{\"a\": ]}", 6, "expected a value")); /* no comma there */
	CHECK(check_fails_at("\xef\xbb\xbf{}", 0, "expected a value")); /* json_check: no BOM; json_parse skips it */
	CHECK(check_fails_at("[1,]", 3, "comma before ]"));
	CHECK(check_fails_at("{'a':1}", 1, "double quotes"));
	CHECK(check_fails_at("{\"a\" 1}", 5, "expected :"));
	CHECK(check_fails_at("{\"a\":1 \"b\":2}", 7, "expected , or }"));
	CHECK(check_fails_at("[1 2]", 3, "expected , or ]"));
	CHECK(check_fails_at("{} {}", 3, "more after the value"));
	CHECK(check_fails_at("{\"a\":tru}", 5, "expected a value"));
	CHECK(check_fails_at("{\"a\":[1", 7, "inside an array"));
	CHECK(check_fails_at("{\"a\":1", 6, "inside an object"));
	CHECK(check_fails_at("{\"a\":\"b", 5, "closing quote"));
	CHECK(check_fails_at("", 0, "before a value"));
	CHECK(check_fails_at("{\"a\":NaN}", 5, "expected a value"));

	/* nesting: as deep as cJSON reads, and no deeper */
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		strbuf_addch(&sb, '[');
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		strbuf_addch(&sb, ']');
	CHECK(json_check(sb.buf, sb.len, &at, &why));
	v = json_parse(sb.buf, sb.len, &cause);
	CHECK(v != NULL);
	cJSON_Delete(v);
	strbuf_release(&sb);
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		strbuf_addch(&sb, '[');
	CHECK(check_fails_at(sb.buf, JSON_MAX_DEPTH, "nested deeper than 1000"));
	strbuf_release(&sb);

	/* json_parse: line and column (in characters) of the first wrong byte */
	CHECK(!json_parse("{\n  \"t\": \"\xc3\xa9\",\n  \"p\": 01\n}", 25, &cause));
	CHECK_STR(cause, "invalid JSON at line 3, column 8: a number with a leading zero");
	free(cause);
	CHECK(!json_parse("{\"a\":1e400}", 11, &cause));
	CHECK_STR(cause, "invalid content: a number too large for a double (beyond 1.8e308)");
	free(cause);
	CHECK(!json_parse("{\"a\":\"\\u0000\"}", 14, &cause));
	CHECK_STR(cause, "invalid content: a NUL character (U+0000) in a string cannot be stored");
	free(cause);
	CHECK(!json_parse("{\"a\":\"\xff\"}", 9, &cause));
	CHECK_STR(cause, "invalid content: not UTF-8");
	free(cause);
	CHECK(!json_parse("{\"a\":1}\0", 8, &cause));
	CHECK_STR(cause, "invalid content: NUL byte in a JSON file");
	free(cause);
	v = json_parse("\xef\xbb\xbf{\"a\":1}", 10, &cause);
	CHECK(cJSON_IsObject(v));
	cJSON_Delete(v);
	v = json_parse("{\"a\":[1,2.5,\"x\"]}  ", 19, &cause);
	CHECK(cJSON_IsObject(v) && cJSON_GetArraySize(cJSON_GetObjectItem(v, "a")) == 3);
	cJSON_Delete(v);
}

int main(void)
{
	struct mapping *m = NULL;
	char *cause = NULL;

	test_merge_patch();
	test_equal();
	if (map_load_builtin("native", &m, &cause) == 0)
		test_check(m);
	else
		CHECK(!"native mapping loads");
	free(cause);
	map_free(m);
	test_time();
	test_mask();
	test_json_check();
	return check_done();
}
