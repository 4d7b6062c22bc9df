/*
 * fuzz_map.c - libFuzzer target for the mapping loader: any input is
 * either a mapping or a clean -EINVAL with a cause.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "store/map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapping *m = NULL;
	char *cause = NULL;
	int rc = map_load((const char *)data, size, &m, &cause);

	if (rc != 0 && (rc != -EINVAL || !cause))
		abort();
	if (rc == 0 && (!m || cause))
		abort();
	map_free(m);
	free(cause);
	return 0;
}
