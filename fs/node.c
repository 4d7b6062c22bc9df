/*
 * node.c - what a path in the mount is, from the mapping alone.
 *
 * Names are classified without touching the database (node_resolve), then
 * existence is asked of the store when it matters (node_exists). Reserved
 * names inside a collection: "new" (where keys are allocated), ".error",
 * and the views' directory names; they can never be keys of that
 * collection. A name that is not an entity name in a writable directory is
 * a scratch file: editors' and tools' temporaries live in memory and never
 * become rows unless renamed onto an entity name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/internal.h"

void node_split(const char *path, char **parent, char **name)
{
	const char *slash = strrchr(path, '/');

	*parent = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	*name = xstrdup(slash + 1);
}

bool node_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static bool node_copy(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= NODE_NAME_MAX)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* Classify name inside collection c. */
static int node_in_collection(const struct map_collection *c, const char *name, struct node *n)
{
	n->writable_dir = !c->readonly;
	if (strcmp(name, "new") == 0 && c->alloc) {
		n->kind = NODE_NEW;
		return 0;
	}
	if (strcmp(name, ".error") == 0) {
		n->kind = NODE_ERROR;
		return 0;
	}
	if (strcmp(name, ".trash") == 0 && c->soft_delete) {
		n->kind = NODE_TRASH_DIR;
		n->writable_dir = false;
		return 0;
	}
	if (strcmp(name, "search") == 0)
		for (size_t i = 0; i < c->nlogs; i++)
			if (c->logs[i].fts) {
				n->kind = NODE_SEARCH_DIR;
				n->log = &c->logs[i];
				n->writable_dir = false;
				return 0;
			}
	for (size_t i = 0; i < c->nviews; i++)
		if (strcmp(name, c->views[i].dir) == 0) {
			n->kind = NODE_VIEW;
			n->view = &c->views[i];
			return 0;
		}
	if (c->file) {
		n->kind = map_key_valid(c, name) ? NODE_ENTITY : NODE_SCRATCH;
		if (n->kind == NODE_ENTITY && !node_copy(n->key, name))
			n->kind = NODE_SCRATCH;
		return 0;
	}
	if (node_ends_with(name, map_suffix(c))) {
		size_t len = strlen(name) - strlen(map_suffix(c));
		char key[NODE_NAME_MAX];
		if (len < sizeof(key)) {
			memcpy(key, name, len);
			key[len] = 0;
			if (map_key_valid(c, key)) {
				memcpy(n->key, key, len + 1);
				n->kind = NODE_ENTITY;
				return 0;
			}
		}
	}
	n->kind = NODE_SCRATCH;
	return 0;
}

/* Classify name inside the directory entity n->key of n->c. */
static int node_in_entity(const char *name, struct node *n)
{
	const struct map_collection *c = n->c;

	n->writable_dir = !c->readonly;
	if (strcmp(name, c->file) == 0) {
		n->kind = NODE_MAIN;
		return 0;
	}
	if (strcmp(name, ".error") == 0) {
		n->kind = NODE_ERROR;
		return 0;
	}
	for (size_t i = 0; i < c->nlogs; i++)
		if (strcmp(name, c->logs[i].file) == 0) {
			n->kind = NODE_LOG;
			n->log = &c->logs[i];
			return 0;
		}
	for (size_t i = 0; i < c->nrelations; i++)
		if (strcmp(name, c->relations[i].dir) == 0) {
			n->kind = NODE_REL_DIR;
			n->rel = &c->relations[i];
			return 0;
		}
	for (size_t i = 0; i < c->nblobs; i++)
		if (strcmp(name, c->blobs[i].dir) == 0) {
			n->kind = NODE_BLOB_DIR;
			n->blobs = &c->blobs[i];
			n->writable_dir = false;
			return 0;
		}
	n->kind = NODE_SCRATCH;
	return 0;
}

int node_resolve(fs *f, const char *path, struct node *n)
{
	char *copy = xstrdup(path), *save = NULL, *comp;
	const struct map_database *db = NULL;
	int depth = 0, rc = 0;

	memset(n, 0, sizeof(*n));
	n->kind = NODE_ROOT;
	for (size_t i = 0; i < f->nstores; i++)
		if (!store_map(f->stores[i])->dir[0])
			n->st = f->stores[i];
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save), depth++) {
		n->writable_dir = false;
		if (strcmp(comp, ".error") == 0 && (!save || strspn(save, "/") == strlen(save))) {
			/* every directory may show why a change in it was refused */
			n->kind = NODE_ERROR;
			break;
		}
		switch (n->kind) {
		case NODE_ROOT:
			for (size_t i = 0; i < f->nstores; i++) {
				const struct map_database *d = store_map(f->stores[i]);
				if (d->dir[0] && strcmp(d->dir, comp) == 0) {
					n->kind = NODE_DB;
					n->st = f->stores[i];
				}
			}
			if (n->kind == NODE_DB)
				break;
			/* a collection of the root database */
			__attribute__((fallthrough));
		case NODE_DB:
			db = n->st ? store_map(n->st) : NULL;
			if (db && strcmp(comp, "changes.jsonl") == 0 && store_has_changes(n->st)) {
				n->kind = NODE_FEED;
				break;
			}
			if (db && (n->c = map_collection(db, comp))) {
				n->kind = NODE_COLLECTION;
				break;
			}
			if (db && node_ends_with(comp, ".jsonl") && strlen(comp) < NODE_NAME_MAX) {
				char name[NODE_NAME_MAX];
				memcpy(name, comp, strlen(comp) - 6);
				name[strlen(comp) - 6] = 0;
				if ((n->c = map_collection(db, name))) {
					n->kind = NODE_STREAM;
					break;
				}
			}
			rc = -ENOENT;
			goto out;
		case NODE_COLLECTION:
			node_in_collection(n->c, comp, n);
			break;
		case NODE_ENTITY:
			if (!n->c->file) {
				rc = -ENOTDIR;
				goto out;
			}
			node_in_entity(comp, n);
			break;
		case NODE_REL_DIR:
			if (strcmp(comp, ".error") == 0) {
				n->kind = NODE_ERROR;
				break;
			}
			if (!node_copy(n->target, comp)) {
				rc = -ENAMETOOLONG;
				goto out;
			}
			n->kind = NODE_REL_LINK;
			break;
		case NODE_BLOB_DIR:
			if (!node_copy(n->target, comp)) {
				rc = -ENAMETOOLONG;
				goto out;
			}
			n->kind = NODE_BLOB;
			break;
		case NODE_TRASH_DIR: {
			/* KEY.json; any other name is one nothing will ever be */
			size_t len = strlen(comp), keep = node_ends_with(comp, ".json") ? len - 5 : len;
			if (keep >= NODE_NAME_MAX) {
				rc = -ENAMETOOLONG;
				goto out;
			}
			memcpy(n->key, comp, keep);
			n->key[keep] = 0;
			if (keep == len)
				n->key[0] = 0; /* matches no key */
			n->kind = NODE_TRASH;
			break;
		}
		case NODE_SEARCH_DIR:
			if (!node_copy(n->value, comp)) {
				rc = -ENAMETOOLONG;
				goto out;
			}
			n->kind = NODE_SEARCH;
			break;
		case NODE_VIEW:
			if (!node_copy(n->value, comp)) {
				rc = -ENOENT;
				goto out;
			}
			n->kind = NODE_VIEW_VALUE;
			break;
		case NODE_VIEW_VALUE:
			if (!node_copy(n->key, comp)) {
				rc = -ENOENT;
				goto out;
			}
			n->kind = NODE_VIEW_LINK;
			break;
		default:
			rc = -ENOTDIR;
			goto out;
		}
	}
out:
	free(copy);
	return rc;
}

struct node_find {
	const char *want;
	bool found;
};

static int node_find_fn(void *arg, const char *key)
{
	struct node_find *nf = arg;

	if (strcmp(nf->want, key) == 0) {
		nf->found = true;
		return 1;
	}
	return 0;
}

int node_exists(fs *f, const struct node *n)
{
	struct node_find nf = { 0 };
	cJSON *doc;
	int rc;

	switch (n->kind) {
	case NODE_ROOT:
	case NODE_DB:
	case NODE_COLLECTION:
	case NODE_VIEW:
	case NODE_NEW:
	case NODE_ERROR:
	case NODE_SCRATCH:
	case NODE_STREAM:
	case NODE_FEED:
	case NODE_SEARCH_DIR:
	case NODE_SEARCH:
	case NODE_TRASH_DIR:
		return 1;
	case NODE_TRASH:
		rc = store_trash_get(n->st, n->c, n->key, &doc);
		cJSON_Delete(doc);
		return rc == -ENOENT ? 0 : rc < 0 ? rc : 1;
	case NODE_ENTITY:
	case NODE_MAIN:
	case NODE_LOG:
	case NODE_REL_DIR:
	case NODE_BLOB_DIR:
		return store_exists(n->st, n->c, n->key);
	case NODE_BLOB: {
		char *data;
		size_t len;
		rc = store_blob_get(n->st, n->c, n->blobs, n->key, n->target, &data, &len);
		free(data);
		return rc == -ENOENT ? 0 : rc < 0 ? rc : 1;
	}
	case NODE_REL_LINK:
		nf.want = n->target;
		rc = store_related(n->st, n->c, n->rel, n->key, node_find_fn, &nf);
		return rc < 0 ? rc : nf.found;
	case NODE_VIEW_VALUE: /* on every path walk through it: one row, not every value */
		return store_view_has(n->st, n->c, n->view, n->value);
	case NODE_VIEW_LINK: {
		if (n->view->rel) {
			nf.want = n->key;
			rc = store_view_list(n->st, n->c, n->view, n->value, node_find_fn, &nf);
			return rc < 0 ? rc : nf.found;
		}
		/* One row read, not a walk of everything with that value. */
		const cJSON *v;
		char buf[64];
		const char *text = buf;
		rc = store_get(n->st, n->c, n->key, 0, &doc);
		if (rc)
			return rc == -ENOENT ? 0 : rc;
		v = cJSON_GetObjectItemCaseSensitive(doc, n->view->column->name);
		if (cJSON_IsString(v))
			text = v->valuestring;
		else if (cJSON_IsNumber(v))
			snprintf(buf, sizeof(buf), "%.17g", v->valuedouble);
		else if (cJSON_IsBool(v))
			snprintf(buf, sizeof(buf), "%d", cJSON_IsTrue(v));
		else
			buf[0] = 0;
		rc = strcmp(text, n->value) == 0;
		cJSON_Delete(doc);
		return rc;
	}
	}
	return 0;
}
