/*
 * render.c - deterministic JSON printing (see render.h).
 *
 * cJSON's own printer indents with tabs and formats numbers its own way, so
 * the layout is ours: two spaces, ", " never, ": " after keys, integers
 * without a fraction, other numbers in the shortest form that reads back
 * the same, strings with only the escapes JSON requires.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs/render.h"

static void render_string(const char *s, struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *)s, *run;

	strbuf_addch(out, '"');
	for (;;) {
		/* runs of characters that need no escape go in at once */
		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\' && *p != 0x7f; p++)
			;
		if (p > run)
			strbuf_add(out, run, (size_t)(p - run));
		switch (*p) {
		case 0:
			strbuf_addch(out, '"');
			return;
		case '"':
			strbuf_addstr(out, "\\\"");
			break;
		case '\\':
			strbuf_addstr(out, "\\\\");
			break;
		case '\n':
			strbuf_addstr(out, "\\n");
			break;
		case '\r':
			strbuf_addstr(out, "\\r");
			break;
		case '\t':
			strbuf_addstr(out, "\\t");
			break;
		case '\b':
			strbuf_addstr(out, "\\b");
			break;
		case '\f':
			strbuf_addstr(out, "\\f");
			break;
		default:
			strbuf_addf(out, "\\u%04x", *p);
		}
		p++;
	}
}

static void render_number(double d, struct strbuf *out)
{
	char buf[40];

	json_number(d, buf, sizeof(buf));
	strbuf_addstr(out, buf);
}

static void render_indent(int depth, struct strbuf *out)
{
	for (int i = 0; i < depth; i++)
		strbuf_addstr(out, "  ");
}

static void render_value(const cJSON *v, int depth, struct strbuf *out)
{
	const cJSON *it;
	bool obj;

	if (cJSON_IsNull(v) || !v)
		strbuf_addstr(out, "null");
	else if (cJSON_IsTrue(v))
		strbuf_addstr(out, "true");
	else if (cJSON_IsFalse(v))
		strbuf_addstr(out, "false");
	else if (cJSON_IsNumber(v))
		render_number(v->valuedouble, out);
	else if (cJSON_IsString(v))
		render_string(v->valuestring, out);
	else if (cJSON_IsRaw(v))
		strbuf_addstr(out, v->valuestring);
	else {
		obj = cJSON_IsObject(v);
		if (!v->child) {
			strbuf_addstr(out, obj ? "{}" : "[]");
			return;
		}
		strbuf_addstr(out, obj ? "{" : "[");
		cJSON_ArrayForEach(it, v) {
			if (depth >= 0) {
				strbuf_addch(out, '\n');
				render_indent(depth + 1, out);
			}
			if (obj) {
				render_string(it->string, out);
				strbuf_addstr(out, depth >= 0 ? ": " : ":");
			}
			render_value(it, depth >= 0 ? depth + 1 : -1, out);
			if (it->next)
				strbuf_addch(out, ',');
		}
		if (depth >= 0) {
			strbuf_addch(out, '\n');
			render_indent(depth, out);
		}
		strbuf_addstr(out, obj ? "}" : "]");
	}
}

void render_document(const cJSON *doc, struct strbuf *out)
{
	render_value(doc, 0, out);
	strbuf_addch(out, '\n');
}

void render_line(const cJSON *doc, struct strbuf *out)
{
	render_value(doc, -1, out);
	strbuf_addch(out, '\n');
}
