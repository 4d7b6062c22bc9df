/*
 * perm.c - tool permission rules (SPEC §6, Orca's ToolPermissionEnforcer).
 *
 * A rule is a row of the database's permissions collection, keyed by tool
 * name; the rule named "*" applies to tools without one of their own, and
 * with no rule at all a tool is allowed (the mount is a person's working
 * directory first: Orca's "no rule, deny" would stop their editor).
 *   denied            -> deny
 *   requires_approval -> park the change until a person decides
 *   restricted        -> allow only inside path_restrictions (path prefixes
 *                        or globs, relative to the mount's root), and only
 *                        with arguments (the fields a write sets, the keys of
 *                        `orchfs check` ARGS) in arg_whitelist if it is set
 *                        and none in arg_blacklist
 *   allowed           -> allow
 * Paths are normalised before matching ("//", "./" and "../" folded, never
 * above the root), so a restriction cannot be escaped the way a plain
 * prefix test on the raw string can.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

char *perm_normalize(const char *path)
{
	char *copy = xstrdup(path), *save = NULL, *seg;
	char **parts = xcalloc(strlen(path) + 1, sizeof(char *));
	struct strbuf sb = STRBUF_INIT;
	size_t n = 0;

	for (seg = strtok_r(copy, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if (n)
				n--;
			continue;
		}
		parts[n++] = seg;
	}
	strbuf_init(&sb, strlen(path));
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(&sb, '/');
		strbuf_addstr(&sb, parts[i]);
	}
	free(parts);
	free(copy);
	return strbuf_detach(&sb, NULL);
}

static bool perm_path_allowed(const cJSON *restrictions, const char *path)
{
	char *norm = perm_normalize(path);
	const cJSON *r;
	bool ok = false;

	cJSON_ArrayForEach(r, restrictions) {
		char *pre;
		size_t n;
		if (!cJSON_IsString(r))
			continue;
		pre = perm_normalize(r->valuestring);
		n = strlen(pre);
		if (strpbrk(pre, "*?["))
			ok = fnmatch(pre, norm, FNM_PATHNAME) == 0 || fnmatch(pre, norm, 0) == 0;
		else
			ok = n == 0 || (strncmp(norm, pre, n) == 0 && (norm[n] == 0 || norm[n] == '/'));
		free(pre);
		if (ok)
			break;
	}
	free(norm);
	return ok;
}

static bool perm_in(const cJSON *list, const char *name)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, list)
		if (cJSON_IsString(e) && strcmp(e->valuestring, name) == 0)
			return true;
	return false;
}

int store_permit(store *st, const char *tool, const char *path, const cJSON *args, char **reason)
{
	const struct map_collection *c;
	const cJSON *level, *a;
	cJSON *rule = NULL;
	int rc;

	*reason = NULL;
	if (!st->db->permissions || !(c = map_collection(st->db, st->db->permissions)))
		return STORE_ALLOW;
	rc = store_get(st, c, tool, 0, &rule);
	if (rc == -ENOENT)
		rc = store_get(st, c, "*", 0, &rule);
	if (rc == -ENOENT)
		return STORE_ALLOW;
	if (rc)
		return rc;
	level = cJSON_GetObjectItemCaseSensitive(rule, "permission_level");
	if (!cJSON_IsString(level) || strcmp(level->valuestring, "allowed") == 0) {
		rc = STORE_ALLOW;
	} else if (strcmp(level->valuestring, "denied") == 0) {
		*reason = xasprintf("permission denied: tool %s is denied by permissions/%s.json", tool,
				    cJSON_GetObjectItemCaseSensitive(rule, c->key->name)->valuestring);
		rc = STORE_DENY;
	} else if (strcmp(level->valuestring, "requires_approval") == 0) {
		*reason = xasprintf("tool %s requires approval", tool);
		rc = STORE_APPROVAL;
	} else {
		const cJSON *paths = cJSON_GetObjectItemCaseSensitive(rule, "path_restrictions");
		const cJSON *white = cJSON_GetObjectItemCaseSensitive(rule, "arg_whitelist");
		const cJSON *black = cJSON_GetObjectItemCaseSensitive(rule, "arg_blacklist");
		rc = STORE_ALLOW;
		if (cJSON_IsArray(paths) && !path) {
			*reason = xasprintf("permission denied: tool %s may change only some paths, and no path was given",
					    tool);
			rc = STORE_DENY;
		} else if (cJSON_IsArray(paths) && !perm_path_allowed(paths, path)) {
			char *norm = perm_normalize(path);
			*reason = xasprintf("permission denied: %s is outside the paths tool %s may change", norm, tool);
			free(norm);
			rc = STORE_DENY;
		}
		if (rc == STORE_ALLOW && cJSON_IsObject(args))
			cJSON_ArrayForEach(a, args) {
				if (strcmp(a->string, "path") == 0)
					continue;
				if ((cJSON_IsArray(white) && !perm_in(white, a->string)) ||
				    (cJSON_IsArray(black) && perm_in(black, a->string))) {
					*reason = xasprintf("permission denied: tool %s may not set \"%s\"", tool, a->string);
					rc = STORE_DENY;
					break;
				}
			}
	}
	cJSON_Delete(rule);
	return rc;
}
