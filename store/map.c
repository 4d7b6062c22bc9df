/*
 * map.c - load mapping descriptions (see map.h and docs/mapping.md).
 *
 * The loader is strict: an unknown attribute, a wrong type or a dangling
 * reference is an error naming where it is, so a typo in a description
 * never silently changes what the mount shows. It is a fuzz target
 * (tests/fuzz/fuzz_map.c): it must reject any input cleanly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "store/embed.h"
#include "store/internal.h"
#include "store/map.h"
#include "store/util.h"

struct map_ctx {
	char *cause;
	char where[160];
	enum map_time time; /* the database being loaded stores timestamps so */
};

static const char *const map_time_names[] = { "iso", "epoch", "epoch_ms", "sqlite", "rfc3339", NULL };

static int map_time_parse(const char *s, enum map_time *out)
{
	for (int i = 0; map_time_names[i]; i++)
		if (strcmp(s, map_time_names[i]) == 0) {
			*out = (enum map_time)i;
			return 0;
		}
	return -1;
}

static int map_fail(struct map_ctx *ctx, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ctx->cause)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->cause = xasprintf("mapping: %s%s%s", ctx->where, ctx->where[0] ? ": " : "", msg);
	return -EINVAL;
}

/* Only the listed attribute names may appear in obj. */
static int map_check_keys(struct map_ctx *ctx, const cJSON *obj, const char *const *allowed)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return map_fail(ctx, "expected an object");
	cJSON_ArrayForEach(it, obj) {
		const char *const *a;
		for (a = allowed; *a; a++)
			if (strcmp(*a, it->string) == 0)
				break;
		if (!*a)
			return map_fail(ctx, "unknown attribute \"%s\"", it->string);
	}
	return 0;
}

/* Copy string attribute name of obj into *out; absent is fine unless required. */
static int map_str(struct map_ctx *ctx, const cJSON *obj, const char *name, bool required, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return map_fail(ctx, "\"%s\" is required", name);
		return 0;
	}
	if (!cJSON_IsString(v))
		return map_fail(ctx, "\"%s\" must be a string", name);
	*out = xstrdup(v->valuestring);
	return 0;
}

static int map_bool(struct map_ctx *ctx, const cJSON *obj, const char *name, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return map_fail(ctx, "\"%s\" must be true or false", name);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int map_array(struct map_ctx *ctx, const cJSON *obj, const char *name, const cJSON **out, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return map_fail(ctx, "\"%s\" must be an array", name);
	*out = v;
	*n = (size_t)cJSON_GetArraySize(v);
	return 0;
}

static const struct {
	const char *name;
	enum map_type type;
} map_types[] = {
	{ "text", MAP_TEXT },           { "integer", MAP_INTEGER }, { "real", MAP_REAL },
	{ "boolean", MAP_BOOLEAN },     { "json", MAP_JSON },       { "timestamp", MAP_TIMESTAMP },
	{ "revision", MAP_REVISION },   { "created", MAP_CREATED }, { "updated", MAP_UPDATED },
};

static int map_load_column(struct map_ctx *ctx, const cJSON *obj, struct map_column *col)
{
	static const char *const keys[] = { "name", "column", "type", "shape", "null", "required",
					    "readonly", "secret", "enum", "min", "max", "ref", "time", "uuid", "default", NULL };
	const cJSON *v, *e;
	char *type = NULL, *shape = NULL, *time = NULL;
	size_t i;
	int rc;

	if ((rc = map_check_keys(ctx, obj, keys)) || (rc = map_str(ctx, obj, "name", true, &col->name)) ||
	    (rc = map_str(ctx, obj, "column", false, &col->column)) ||
	    (rc = map_str(ctx, obj, "type", true, &type)) || (rc = map_str(ctx, obj, "shape", false, &shape)) ||
	    (rc = map_bool(ctx, obj, "null", &col->nullable)) ||
	    (rc = map_bool(ctx, obj, "required", &col->required)) ||
	    (rc = map_bool(ctx, obj, "readonly", &col->readonly)) ||
	    (rc = map_bool(ctx, obj, "secret", &col->secret)) ||
	    (rc = map_bool(ctx, obj, "uuid", &col->uuid)) ||
	    (rc = map_str(ctx, obj, "ref", false, &col->ref_name)) ||
	    (rc = map_str(ctx, obj, "time", false, &time)))
		goto out;
	col->time = ctx->time;
	if (time && map_time_parse(time, &col->time)) {
		rc = map_fail(ctx, "field \"%s\": \"time\" must be iso, epoch, epoch_ms, sqlite or rfc3339",
			      col->name);
		goto out;
	}
	if (!col->column)
		col->column = xstrdup(col->name);
	if (col->uuid) {
		if (strcmp(type, "text") != 0) {
			rc = map_fail(ctx, "field \"%s\": \"uuid\" needs type text", col->name);
			goto out;
		}
		col->readonly = true;
	}
	for (i = 0; i < ARRAY_SIZE(map_types); i++)
		if (strcmp(type, map_types[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(map_types)) {
		rc = map_fail(ctx, "field \"%s\": unknown type \"%s\"", col->name, type);
		goto out;
	}
	col->type = map_types[i].type;
	if (col->type == MAP_REVISION || col->type == MAP_CREATED || col->type == MAP_UPDATED)
		col->readonly = true;
	col->shape = MAP_SHAPE_ANY;
	if (shape) {
		if (col->type != MAP_JSON) {
			rc = map_fail(ctx, "field \"%s\": \"shape\" needs type json", col->name);
			goto out;
		}
		if (strcmp(shape, "array") == 0)
			col->shape = MAP_SHAPE_ARRAY;
		else if (strcmp(shape, "object") == 0)
			col->shape = MAP_SHAPE_OBJECT;
		else {
			rc = map_fail(ctx, "field \"%s\": shape must be array or object", col->name);
			goto out;
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "enum"))) {
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
			rc = map_fail(ctx, "field \"%s\": \"enum\" must be a non-empty array", col->name);
			goto out;
		}
		col->nenum = (size_t)cJSON_GetArraySize(v);
		col->enumv = xcalloc(col->nenum, sizeof(char *));
		i = 0;
		cJSON_ArrayForEach(e, v) {
			if (cJSON_IsString(e) && col->type == MAP_TEXT)
				col->enumv[i++] = xstrdup(e->valuestring);
			else if (cJSON_IsNumber(e) && col->type == MAP_INTEGER)
				col->enumv[i++] = xasprintf("%lld", (long long)e->valuedouble);
			else {
				rc = map_fail(ctx, "field \"%s\": enum values must match its type", col->name);
				goto out;
			}
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "min"))) {
		if (!cJSON_IsNumber(v)) {
			rc = map_fail(ctx, "field \"%s\": \"min\" must be a number", col->name);
			goto out;
		}
		col->has_min = true;
		col->min = v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "max"))) {
		if (!cJSON_IsNumber(v)) {
			rc = map_fail(ctx, "field \"%s\": \"max\" must be a number", col->name);
			goto out;
		}
		col->has_max = true;
		col->max = v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "default"))) {
		char *why = NULL;
		cJSON *norm = NULL;
		/* the default must be a value the field takes (checked once the field is whole) */
		col->dflt = cJSON_Duplicate(v, true);
		if (col->readonly || value_check(col, v, &norm, &why)) {
			rc = map_fail(ctx, "field \"%s\": default: %s", col->name, why ? why : "a read-only field has none");
			free(why);
			goto out;
		}
		cJSON_Delete(norm);
	}
	if (time && col->type != MAP_TIMESTAMP && col->type != MAP_CREATED && col->type != MAP_UPDATED)
		rc = map_fail(ctx, "field \"%s\": \"time\" needs a timestamp type", col->name);
out:
	free(type);
	free(shape);
	free(time);
	return rc;
}

static int map_load_columns(struct map_ctx *ctx, const cJSON *obj, struct map_column **cols, size_t *n)
{
	const cJSON *arr, *e;
	size_t i = 0, j;
	int rc;

	if ((rc = map_array(ctx, obj, "columns", &arr, n)))
		return rc;
	if (*n == 0)
		return map_fail(ctx, "\"columns\" must list at least one field");
	*cols = xcalloc(*n, sizeof(**cols));
	cJSON_ArrayForEach(e, arr) {
		if ((rc = map_load_column(ctx, e, &(*cols)[i])))
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp((*cols)[j].name, (*cols)[i].name) == 0)
				return map_fail(ctx, "field \"%s\" is listed twice", (*cols)[i].name);
		i++;
	}
	return 0;
}

static const struct map_column *map_find(const struct map_column *cols, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return &cols[i];
	return NULL;
}

/* "retention": the name of a timestamp column of cols */
static int map_retention(struct map_ctx *ctx, const cJSON *obj, const struct map_column *cols, size_t n,
			 const struct map_column **out)
{
	char *name = NULL;
	int rc;

	*out = NULL;
	if ((rc = map_str(ctx, obj, "retention", false, &name)) || !name)
		return rc;
	*out = map_find(cols, n, name);
	if (!*out || ((*out)->type != MAP_TIMESTAMP && (*out)->type != MAP_CREATED))
		rc = map_fail(ctx, "retention \"%s\" is not a timestamp field", name);
	free(name);
	return rc;
}

static bool map_name_ok(const char *s)
{
	if (!s[0] || strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return true;
}

static int map_load_collection(struct map_ctx *ctx, const cJSON *obj, struct map_collection *c)
{
	static const char *const keys[] = { "dir", "table", "key", "alloc", "form", "file", "readonly",
					    "key_type", "task", "columns", "relations", "logs", "views",
					    "sidecar", "counter", "retention", "soft_delete", "content", "ext", "blobs", NULL };
	static const char *const ckeys[] = { "table", "key", "name", "column", NULL };
	static const char *const rkeys[] = { "dir",   "table",   "from",	 "to", "target",
					     "order", "unique", "created", "readonly", NULL };
	static const char *const lkeys[] = { "file", "table", "owner", "id", "fts", "columns", "retention", NULL };
	static const char *const vkeys[] = { "dir", "column", "relation", NULL };
	char *key = NULL, *form = NULL, *task = NULL, *key_type = NULL, *colname = NULL;
	const cJSON *arr, *e, *dirv;
	size_t i;
	int rc;

	/* Name the place before anything can fail: by its dir, else by its position. */
	if (cJSON_IsString(dirv = cJSON_GetObjectItemCaseSensitive(obj, "dir")))
		snprintf(ctx->where, sizeof(ctx->where), "collection \"%s\"", dirv->valuestring);
	else
		snprintf(ctx->where, sizeof(ctx->where), "collection #%zu", c->index + 1);
	if ((rc = map_check_keys(ctx, obj, keys)) || (rc = map_str(ctx, obj, "dir", true, &c->dir)))
		goto out;
	if ((rc = map_str(ctx, obj, "table", true, &c->table)) || (rc = map_str(ctx, obj, "key", true, &key)) ||
	    (rc = map_str(ctx, obj, "alloc", false, &c->alloc)) ||
	    (rc = map_str(ctx, obj, "form", true, &form)) || (rc = map_str(ctx, obj, "file", false, &c->file)) ||
	    (rc = map_bool(ctx, obj, "readonly", &c->readonly)) ||
	    (rc = map_bool(ctx, obj, "sidecar", &c->sidecar)) ||
	    (rc = map_str(ctx, obj, "key_type", false, &key_type)) ||
	    (rc = map_str(ctx, obj, "task", false, &task)) ||
	    (rc = map_load_columns(ctx, obj, &c->columns, &c->ncolumns)) ||
	    (rc = map_retention(ctx, obj, c->columns, c->ncolumns, &c->retention)) ||
	    (rc = map_str(ctx, obj, "soft_delete", false, &c->soft_delete)))
		goto out;
	if (c->soft_delete && map_find(c->columns, c->ncolumns, c->soft_delete)) {
		rc = map_fail(ctx, "soft_delete \"%s\" is kept out of the document: do not list it", c->soft_delete);
		goto out;
	}
	if (!map_name_ok(c->dir)) {
		rc = map_fail(ctx, "\"dir\" must be a plain name");
		goto out;
	}
	if (strcmp(form, "file") == 0) {
		if (c->file) {
			rc = map_fail(ctx, "\"file\" goes with form \"dir\"");
			goto out;
		}
	} else if (strcmp(form, "dir") == 0) {
		if (!c->file || !map_name_ok(c->file)) {
			rc = map_fail(ctx, "form \"dir\" needs a \"file\" name");
			goto out;
		}
	} else if (strcmp(form, "raw") == 0) {
		char *content = NULL;
		if ((rc = map_str(ctx, obj, "content", true, &content)) || (rc = map_str(ctx, obj, "ext", true, &c->ext)))
			goto out;
		c->content = map_find(c->columns, c->ncolumns, content);
		free(content);
		if (!c->content || c->content->type != MAP_TEXT) {
			rc = map_fail(ctx, "form \"raw\" needs \"content\": a text field");
			goto out;
		}
		if (c->ext[0] != '.' || !c->ext[1] || strchr(c->ext, '/') || c->file) {
			rc = map_fail(ctx, "form \"raw\" needs \"ext\" like \".md\" and no \"file\"");
			goto out;
		}
	} else {
		rc = map_fail(ctx, "\"form\" must be \"file\", \"dir\" or \"raw\"");
		goto out;
	}
	if (!c->content && cJSON_GetObjectItemCaseSensitive(obj, "content")) {
		rc = map_fail(ctx, "\"content\" goes with form \"raw\"");
		goto out;
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(obj, "counter"))) {
		if ((rc = map_check_keys(ctx, e, ckeys)) || (rc = map_str(ctx, e, "table", true, &c->counter_table)) ||
		    (rc = map_str(ctx, e, "key", true, &c->counter_key)) ||
		    (rc = map_str(ctx, e, "name", true, &c->counter_name)) ||
		    (rc = map_str(ctx, e, "column", true, &c->counter_column)))
			goto out;
		if (!c->alloc || strcmp(c->alloc, "uuid") == 0) {
			rc = map_fail(ctx, "\"counter\" needs a numbered \"alloc\"");
			goto out;
		}
	}
	if (c->alloc && strcmp(c->alloc, "uuid") != 0) {
		const char *p = strchr(c->alloc, '%');
		if (p && *++p == '0')
			while (*p >= '0' && *p <= '9')
				p++;
		if (!p || p[0] != 'd' || p[1]) {
			rc = map_fail(ctx, "\"alloc\" must be \"uuid\" or end in %%d or %%0Nd");
			goto out;
		}
	}
	if (key_type && strcmp(key_type, "integer") != 0 && strcmp(key_type, "text") != 0) {
		rc = map_fail(ctx, "\"key_type\" must be \"text\" or \"integer\"");
		goto out;
	}
	c->integer_key = key_type && strcmp(key_type, "integer") == 0;
	if (!(c->key = map_find(c->columns, c->ncolumns, key))) {
		rc = map_fail(ctx, "key \"%s\" is not one of its columns", key);
		goto out;
	}
	if (task && !(c->task = map_find(c->columns, c->ncolumns, task))) {
		rc = map_fail(ctx, "task \"%s\" is not one of its columns", task);
		goto out;
	}
	for (i = 0; i < c->ncolumns; i++) {
		const struct map_column *col = &c->columns[i];
		const struct map_column **slot = col->type == MAP_REVISION ? &c->revision
						 : col->type == MAP_CREATED ? &c->created
						 : col->type == MAP_UPDATED ? &c->updated
									    : NULL;
		if (!slot)
			continue;
		if (*slot) {
			rc = map_fail(ctx, "only one field may have type \"%s\"",
				      col->type == MAP_REVISION ? "revision"
				      : col->type == MAP_CREATED ? "created" : "updated");
			goto out;
		}
		*slot = col;
	}

	if ((rc = map_array(ctx, obj, "relations", &arr, &c->nrelations)))
		goto out;
	c->relations = xcalloc(c->nrelations + 1, sizeof(*c->relations));
	i = 0;
	cJSON_ArrayForEach(e, arr) {
		struct map_relation *r = &c->relations[i++];
		if ((rc = map_check_keys(ctx, e, rkeys)) || (rc = map_str(ctx, e, "dir", true, &r->dir)) ||
		    (rc = map_str(ctx, e, "table", true, &r->table)) ||
		    (rc = map_str(ctx, e, "from", true, &r->from)) || (rc = map_str(ctx, e, "to", true, &r->to)) ||
		    (rc = map_str(ctx, e, "target", true, &r->target_name)) ||
		    (rc = map_str(ctx, e, "order", false, &r->order)) ||
		    (rc = map_str(ctx, e, "created", false, &r->created)) ||
		    (rc = map_bool(ctx, e, "unique", &r->unique)) ||
		    (rc = map_bool(ctx, e, "readonly", &r->readonly)))
			goto out;
		r->time = ctx->time;
		if (!map_name_ok(r->dir)) {
			rc = map_fail(ctx, "relation \"dir\" must be a plain name");
			goto out;
		}
	}

	if ((rc = map_array(ctx, obj, "logs", &arr, &c->nlogs)))
		goto out;
	c->logs = xcalloc(c->nlogs + 1, sizeof(*c->logs));
	i = 0;
	cJSON_ArrayForEach(e, arr) {
		struct map_log *l = &c->logs[i++];
		if ((rc = map_check_keys(ctx, e, lkeys)) || (rc = map_str(ctx, e, "file", true, &l->file)) ||
		    (rc = map_str(ctx, e, "table", true, &l->table)) ||
		    (rc = map_str(ctx, e, "owner", true, &l->owner)) ||
		    (rc = map_str(ctx, e, "id", true, &l->id)) ||
		    (rc = map_str(ctx, e, "fts", false, &l->fts)) ||
		    (rc = map_load_columns(ctx, e, &l->columns, &l->ncolumns)) ||
		    (rc = map_retention(ctx, e, l->columns, l->ncolumns, &l->retention)))
			goto out;
		if (!map_name_ok(l->file)) {
			rc = map_fail(ctx, "log \"file\" must be a plain name");
			goto out;
		}
	}
	if ((rc = map_array(ctx, obj, "blobs", &arr, &c->nblobs)))
		goto out;
	c->blobs = xcalloc(c->nblobs + 1, sizeof(*c->blobs));
	i = 0;
	cJSON_ArrayForEach(e, arr) {
		static const char *const bkeys[] = { "dir", "table", "owner", "name", "content", NULL };
		struct map_blobs *b = &c->blobs[i++];
		if ((rc = map_check_keys(ctx, e, bkeys)) || (rc = map_str(ctx, e, "dir", true, &b->dir)) ||
		    (rc = map_str(ctx, e, "table", true, &b->table)) || (rc = map_str(ctx, e, "owner", true, &b->owner)) ||
		    (rc = map_str(ctx, e, "name", true, &b->name)) || (rc = map_str(ctx, e, "content", true, &b->content)))
			goto out;
		if (!map_name_ok(b->dir)) {
			rc = map_fail(ctx, "blobs \"dir\" must be a plain name");
			goto out;
		}
	}
	if ((c->nlogs || c->nblobs) && !c->file) {
		rc = map_fail(ctx, "%s need form \"dir\"", c->nlogs ? "logs" : "blobs");
		goto out;
	}

	if ((rc = map_array(ctx, obj, "views", &arr, &c->nviews)))
		goto out;
	c->views = xcalloc(c->nviews + 1, sizeof(*c->views));
	i = 0;
	cJSON_ArrayForEach(e, arr) {
		struct map_view *v = &c->views[i++];
		free(colname);
		colname = NULL;
		if ((rc = map_check_keys(ctx, e, vkeys)) || (rc = map_str(ctx, e, "dir", true, &v->dir)) ||
		    (rc = map_str(ctx, e, "column", false, &colname)) ||
		    (rc = map_str(ctx, e, "relation", false, &v->rel_name)))
			goto out;
		if (!colname == !v->rel_name) {
			rc = map_fail(ctx, "view \"%s\" needs a \"column\" or a \"relation\"", v->dir);
			goto out;
		}
		if (colname && !(v->column = map_find(c->columns, c->ncolumns, colname))) {
			rc = map_fail(ctx, "view column \"%s\" is not one of its columns", colname);
			goto out;
		}
		if (!map_name_ok(v->dir)) {
			rc = map_fail(ctx, "view \"dir\" must be a plain name");
			goto out;
		}
	}
out:
	free(key);
	free(form);
	free(task);
	free(key_type);
	free(colname);
	return rc;
}

/* Resolve names that point at other collections of the same database. */
static int map_resolve(struct map_ctx *ctx, struct map_database *db)
{
	for (size_t i = 0; i < db->ncollections; i++) {
		struct map_collection *c = &db->collections[i];
		snprintf(ctx->where, sizeof(ctx->where), "collection \"%s\"", c->dir);
		for (size_t j = 0; j < i; j++)
			if (strcmp(db->collections[j].dir, c->dir) == 0)
				return map_fail(ctx, "directory listed twice");
		if (c->sidecar && !db->sidecar)
			return map_fail(ctx, "\"sidecar\" needs a database with a sidecar");
		for (size_t j = 0; j < c->ncolumns; j++) {
			struct map_column *col = &c->columns[j];
			if (col->ref_name && !(col->ref = map_collection(db, col->ref_name)))
				return map_fail(ctx, "field \"%s\": no collection \"%s\"", col->name, col->ref_name);
		}
		for (size_t j = 0; j < c->nrelations; j++) {
			struct map_relation *r = &c->relations[j];
			if (!(r->target = map_collection(db, r->target_name)))
				return map_fail(ctx, "relation \"%s\": no collection \"%s\"", r->dir, r->target_name);
		}
	}
	for (size_t i = 0; i < db->ncollections; i++) {
		struct map_collection *c = &db->collections[i];
		snprintf(ctx->where, sizeof(ctx->where), "collection \"%s\"", c->dir);
		for (size_t j = 0; j < c->nviews; j++) {
			struct map_view *v = &c->views[j];
			const char *slash = v->rel_name ? strchr(v->rel_name, '/') : NULL;
			const struct map_collection *oc;
			if (!v->rel_name)
				continue;
			if (slash) {
				char *cname = xstrndup(v->rel_name, (size_t)(slash - v->rel_name));
				oc = map_collection(db, cname);
				free(cname);
				for (size_t k = 0; oc && k < oc->nrelations; k++)
					if (strcmp(oc->relations[k].dir, slash + 1) == 0)
						v->rel = &oc->relations[k];
			}
			if (!v->rel || v->rel->target != c)
				return map_fail(ctx, "view \"%s\": \"%s\" is not a relation to this collection", v->dir,
						v->rel_name);
		}
	}
	return 0;
}

/* "temp_views": [ { "name": "zone_stats", "sql": "SELECT ..." } ] */
static int map_load_temp_views(struct map_ctx *ctx, const cJSON *obj, struct map_database *db)
{
	static const char *const keys[] = { "name", "sql", NULL };
	const cJSON *arr, *e;
	size_t i = 0;
	int rc;

	if ((rc = map_array(ctx, obj, "temp_views", &arr, &db->ntemp_views)))
		return rc;
	db->temp_view_names = xcalloc(db->ntemp_views + 1, sizeof(char *));
	db->temp_view_sql = xcalloc(db->ntemp_views + 1, sizeof(char *));
	cJSON_ArrayForEach(e, arr) {
		if ((rc = map_check_keys(ctx, e, keys)) || (rc = map_str(ctx, e, "name", true, &db->temp_view_names[i])) ||
		    (rc = map_str(ctx, e, "sql", true, &db->temp_view_sql[i])))
			return rc;
		i++;
	}
	return 0;
}

int map_load(const char *text, size_t len, struct mapping **out, char **cause)
{
	static const char *const keys[] = { "schema", "description", "databases", NULL };
	static const char *const dkeys[] = { "name",        "dir",       "audit",       "changes", "permissions",
					     "approvals",   "timestamps", "collections", "sidecar", "temp_views", NULL };
	struct map_ctx ctx = { 0 };
	struct mapping *m = xcalloc(1, sizeof(*m));
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *arr, *e, *ce;
	char *time = NULL;
	size_t i = 0, j;
	int rc;

	*out = NULL;
	if (!root) {
		rc = map_fail(&ctx, "not valid JSON");
		goto out;
	}
	if ((rc = map_check_keys(&ctx, root, keys)) || (rc = map_str(&ctx, root, "schema", true, &m->schema)) ||
	    (rc = map_array(&ctx, root, "databases", &arr, &m->ndatabases)))
		goto out;
	if (m->ndatabases == 0) {
		rc = map_fail(&ctx, "\"databases\" must list at least one database");
		goto out;
	}
	m->databases = xcalloc(m->ndatabases, sizeof(*m->databases));
	cJSON_ArrayForEach(e, arr) {
		struct map_database *db = &m->databases[i++];
		const cJSON *carr;
		ctx.where[0] = 0;
		free(time);
		time = NULL;
		if ((rc = map_check_keys(&ctx, e, dkeys)) || (rc = map_str(&ctx, e, "name", true, &db->name)) ||
		    (rc = map_str(&ctx, e, "dir", true, &db->dir)) ||
		    (rc = map_str(&ctx, e, "audit", false, &db->audit)) ||
		    (rc = map_str(&ctx, e, "changes", false, &db->changes)) ||
		    (rc = map_str(&ctx, e, "permissions", false, &db->permissions)) ||
		    (rc = map_str(&ctx, e, "approvals", false, &db->approvals)) ||
		    (rc = map_str(&ctx, e, "timestamps", false, &time)) ||
		    (rc = map_bool(&ctx, e, "sidecar", &db->sidecar)) ||
		    (rc = map_array(&ctx, e, "collections", &carr, &db->ncollections)))
			goto out;
		if (db->dir[0] && !map_name_ok(db->dir)) {
			rc = map_fail(&ctx, "database \"%s\": \"dir\" must be a plain name", db->name);
			goto out;
		}
		if ((rc = map_load_temp_views(&ctx, e, db)))
			goto out;
		db->time = MAP_TIME_ISO;
		if (time && map_time_parse(time, &db->time)) {
			rc = map_fail(&ctx, "\"timestamps\" must be iso, epoch, epoch_ms, sqlite or rfc3339");
			goto out;
		}
		ctx.time = db->time;
		db->collections = xcalloc(db->ncollections + 1, sizeof(*db->collections));
		j = 0;
		cJSON_ArrayForEach(ce, carr) {
			struct map_collection *c = &db->collections[j];
			c->index = j++;
			c->db = db;
			if ((rc = map_load_collection(&ctx, ce, c)))
				goto out;
		}
		if ((rc = map_resolve(&ctx, db)))
			goto out;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	free(time);
	cJSON_Delete(root);
	map_free(m);
	if (rc && cause)
		*cause = ctx.cause ? ctx.cause : xstrdup("mapping: invalid");
	else
		free(ctx.cause);
	return rc;
}

int map_load_builtin(const char *schema, struct mapping **out, char **cause)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.json", schema);
	for (const struct embedded_file *f = embedded_mappings; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return map_load(f->data, f->len, out, cause);
	*out = NULL;
	if (cause)
		*cause = xasprintf("no built-in mapping for schema \"%s\"", schema);
	return -ENOENT;
}

static void map_free_columns(struct map_column *cols, size_t n)
{
	if (!cols)
		return;
	for (size_t i = 0; i < n; i++) {
		free(cols[i].name);
		free(cols[i].column);
		for (size_t j = 0; cols[i].enumv && j < cols[i].nenum; j++)
			free(cols[i].enumv[j]);
		free(cols[i].enumv);
		free(cols[i].ref_name);
		cJSON_Delete(cols[i].dflt);
	}
	free(cols);
}

void map_free(struct mapping *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->databases && i < m->ndatabases; i++) {
		struct map_database *db = &m->databases[i];
		for (size_t j = 0; db->collections && j < db->ncollections; j++) {
			struct map_collection *c = &db->collections[j];
			free(c->dir);
			free(c->table);
			free(c->alloc);
			free(c->file);
			free(c->counter_table);
			free(c->counter_key);
			free(c->counter_name);
			free(c->counter_column);
			free(c->soft_delete);
			free(c->ext);
			map_free_columns(c->columns, c->ncolumns);
			for (size_t k = 0; c->relations && k < c->nrelations; k++) {
				free(c->relations[k].dir);
				free(c->relations[k].table);
				free(c->relations[k].from);
				free(c->relations[k].to);
				free(c->relations[k].order);
				free(c->relations[k].created);
				free(c->relations[k].target_name);
			}
			free(c->relations);
			for (size_t k = 0; c->logs && k < c->nlogs; k++) {
				free(c->logs[k].file);
				free(c->logs[k].table);
				free(c->logs[k].owner);
				free(c->logs[k].id);
				free(c->logs[k].fts);
				map_free_columns(c->logs[k].columns, c->logs[k].ncolumns);
			}
			free(c->logs);
			for (size_t k = 0; c->blobs && k < c->nblobs; k++) {
				free(c->blobs[k].dir);
				free(c->blobs[k].table);
				free(c->blobs[k].owner);
				free(c->blobs[k].name);
				free(c->blobs[k].content);
			}
			free(c->blobs);
			for (size_t k = 0; c->views && k < c->nviews; k++) {
				free(c->views[k].dir);
				free(c->views[k].rel_name);
			}
			free(c->views);
		}
		free(db->collections);
		free(db->name);
		free(db->dir);
		free(db->audit);
		free(db->changes);
		free(db->permissions);
		free(db->approvals);
		for (size_t j = 0; db->temp_view_names && j < db->ntemp_views; j++) {
			free(db->temp_view_names[j]);
			free(db->temp_view_sql[j]);
		}
		free(db->temp_view_names);
		free(db->temp_view_sql);
	}
	free(m->databases);
	free(m->schema);
	free(m);
}

const struct map_database *map_database(const struct mapping *m, const char *name)
{
	for (size_t i = 0; i < m->ndatabases; i++)
		if (strcmp(m->databases[i].name, name) == 0)
			return &m->databases[i];
	return NULL;
}

const struct map_collection *map_collection(const struct map_database *db, const char *dir)
{
	for (size_t i = 0; i < db->ncollections; i++)
		if (db->collections[i].dir && strcmp(db->collections[i].dir, dir) == 0)
			return &db->collections[i];
	return NULL;
}

const struct map_column *map_column(const struct map_collection *c, const char *name)
{
	return map_find(c->columns, c->ncolumns, name);
}

const struct map_column *map_log_column(const struct map_log *l, const char *name)
{
	return map_find(l->columns, l->ncolumns, name);
}

const char *map_suffix(const struct map_collection *c)
{
	return c->file ? "" : c->ext ? c->ext : ".json";
}

bool map_alloc_uuid(const struct map_collection *c)
{
	return c->alloc && strcmp(c->alloc, "uuid") == 0;
}

bool map_key_valid(const struct map_collection *c, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 200 || name[0] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			return false;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return false; /* C1 controls, U+0080 to U+009F */
		if (c->integer_key && (*p < '0' || *p > '9'))
			return false;
	}
	return utf8_valid(name, n);
}
