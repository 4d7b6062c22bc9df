/*
 * fuzz_patch.c - libFuzzer target for the write path's JSON handling: the
 * input is a document and a merge patch separated by a NUL byte (or cut in
 * half); both are parsed, the patch is applied (RFC 7396), every field of
 * the bugs collection is validated against the result, and the result is
 * rendered. Nothing may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/render.h"
#include "store/internal.h"

static struct mapping *fuzz_map;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct map_collection *c;
	const char *text = (const char *)data, *nul = memchr(data, 0, size);
	size_t cut = nul ? (size_t)(nul - text) : size / 2;
	struct strbuf sb = STRBUF_INIT;
	cJSON *doc, *patch;

	if (!fuzz_map && map_load_builtin("native", &fuzz_map, NULL))
		abort();
	c = map_collection(map_database(fuzz_map, "project"), "bugs");
	doc = cJSON_ParseWithLength(text, cut);
	patch = cJSON_ParseWithLength(text + cut + (nul ? 1 : 0), size - cut - (nul ? 1 : 0));
	if (patch) {
		doc = json_merge_patch(doc, patch);
		for (size_t i = 0; i < c->ncolumns; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, c->columns[i].name);
			cJSON *norm = NULL;
			char *cause = NULL;
			if (v)
				value_check(&c->columns[i], v, &norm, &cause);
			cJSON_Delete(norm);
			free(cause);
		}
	}
	strbuf_init(&sb, 0);
	if (doc) {
		render_document(doc, &sb);
		render_line(doc, &sb);
	}
	strbuf_release(&sb);
	cJSON_Delete(doc);
	cJSON_Delete(patch);
	return 0;
}
