/*
 * fuzz_path.c - libFuzzer target for what orchfs reads out of names and
 * paths: path normalisation for permission rules, key validation, UTF-8
 * checks and ISO 8601 times.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

static struct mapping *fuzz_map;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size), *norm;
	const struct map_database *db;
	int64_t ms;

	if (!fuzz_map && map_load_builtin("native", &fuzz_map, NULL))
		abort();
	db = map_database(fuzz_map, "project");
	norm = perm_normalize(s);
	if (strstr(norm, "..") && (strncmp(norm, "../", 3) == 0 || strstr(norm, "/../") ||
				   strcmp(norm, "..") == 0))
		abort(); /* normalisation must never leave a parent step */
	free(norm);
	for (size_t i = 0; i < db->ncollections; i++)
		map_key_valid(&db->collections[i], s);
	utf8_valid((const char *)data, size);
	if (time_parse_iso(s, &ms) == 0) {
		char buf[40];
		time_format_iso(ms, buf, sizeof(buf));
	}
	free(s);
	return 0;
}
