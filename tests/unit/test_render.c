/* test_render.c - documents render to the same bytes as `jq .`, always. */
#include <stdlib.h>

#include "check.h"
#include "fs/render.h"

static char *doc_text(const char *json, int line)
{
	struct strbuf sb = STRBUF_INIT;
	cJSON *doc = cJSON_Parse(json);

	strbuf_init(&sb, 0);
	if (line)
		render_line(doc, &sb);
	else
		render_document(doc, &sb);
	cJSON_Delete(doc);
	return strbuf_detach(&sb, NULL);
}

int main(void)
{
	char *s;

	s = doc_text("{\"id\":\"BUG-1\",\"n\":3,\"x\":0.7,\"a\":[1,\"b\"],\"o\":{},\"e\":[],\"z\":null,\"t\":true}", 0);
	CHECK_STR(s, "{\n  \"id\": \"BUG-1\",\n  \"n\": 3,\n  \"x\": 0.7,\n  \"a\": [\n    1,\n    \"b\"\n  ],\n"
		     "  \"o\": {},\n  \"e\": [],\n  \"z\": null,\n  \"t\": true\n}\n");
	free(s);

	s = doc_text("{\"k\":\"a\\\"b\\\\c\\nd\\t\\u0001é\"}", 1);
	CHECK_STR(s, "{\"k\":\"a\\\"b\\\\c\\nd\\t\\u0001é\"}\n");
	free(s);

	s = doc_text("{\"big\":1e300,\"neg\":-12,\"frac\":0.1,\"third\":0.3333333333333333}", 1);
	CHECK_STR(s, "{\"big\":1e+300,\"neg\":-12,\"frac\":0.1,\"third\":0.3333333333333333}\n");
	free(s);

	/* Key order is the document's, not sorted. */
	s = doc_text("{\"b\":1,\"a\":2}", 1);
	CHECK_STR(s, "{\"b\":1,\"a\":2}\n");
	free(s);
	return check_done();
}
