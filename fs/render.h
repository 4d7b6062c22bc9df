/*
 * render.h - documents as the bytes a reader sees.
 *
 * An entity file is its document printed with two-space indent, keys in the
 * document's order (the mapping's column order), one trailing newline: the
 * same layout as `jq .`. A log line is the compact form on one line. The
 * same document always gives the same bytes, so diffs, hooks and editors'
 * "file changed" checks are stable. Nothing here allocates except into the
 * caller's strbuf.
 */
#ifndef ORCHFS_FS_RENDER_H
#define ORCHFS_FS_RENDER_H

#include <cjson/cJSON.h>

#include "store/util.h"

/* render_document - append doc, pretty, with a trailing newline. */
void render_document(const cJSON *doc, struct strbuf *out);
/* render_line - append doc on one line, with a trailing newline. */
void render_line(const cJSON *doc, struct strbuf *out);

#endif
