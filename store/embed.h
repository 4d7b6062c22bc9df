/*
 * embed.h - data files compiled into the binary by tools/embed.py.
 *
 * Migrations (migrations/KIND/NNNN_name.{up,down}.sql) and mapping
 * descriptions (mappings/SCHEMA.json) are data kept beside the code and
 * embedded at build time, so one binary carries everything it needs.
 * Each table ends with an entry whose name is NULL. The bytes are followed
 * by a NUL, so text files can be used as C strings.
 */
#ifndef ORCHFS_STORE_EMBED_H
#define ORCHFS_STORE_EMBED_H

#include <stddef.h>

struct embedded_file {
	const char *name; /* path relative to its folder, e.g. "project/0001_init.up.sql" */
	const char *data; /* NUL-terminated */
	size_t len;       /* without the NUL */
};

extern const struct embedded_file embedded_migrations[];
extern const struct embedded_file embedded_mappings[];
extern const struct embedded_file embedded_hooks[];

#endif
