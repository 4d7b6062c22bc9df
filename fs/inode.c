/*
 * inode.c - the inode table (see inode.h): two chained hash tables, by
 * number and by path, over one set of entries, which also form a tree
 * (each entry links to its parent and children), under one mutex. Lookups
 * are O(1); a rename or an invalidation walks only the subtree it concerns,
 * never the whole table.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs/inode.h"
#include "store/util.h"

struct inode {
	uint64_t ino;
	uint64_t nlookup;
	char *path;              /* NULL when detached */
	struct inode *next_ino;  /* chain in by_ino */
	struct inode *next_path; /* chain in by_path (attached entries only) */
	struct inode *parent;    /* attached entries only */
	struct inode *child;     /* first attached child */
	struct inode *sibling;   /* next attached child of parent */
	struct inode **back;     /* what points to this entry in parent's list (parent->child or a sibling) */
};

struct inode_table {
	pthread_mutex_t lock;
	struct inode **by_ino;  /* protected by lock */
	struct inode **by_path; /* protected by lock */
	size_t nbuckets;        /* protected by lock */
	uint64_t count;         /* protected by lock */
	uint64_t next;          /* protected by lock */
};

static uint64_t inode_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

inode_table *inode_table_new(void)
{
	inode_table *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	t->nbuckets = 1024;
	t->by_ino = xcalloc(t->nbuckets, sizeof(*t->by_ino));
	t->by_path = xcalloc(t->nbuckets, sizeof(*t->by_path));
	t->next = 2; /* 1 is the root */
	return t;
}

void inode_table_free(inode_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct inode *n, *next;
		for (n = t->by_ino[i]; n; n = next) {
			next = n->next_ino;
			free(n->path);
			free(n);
		}
	}
	free(t->by_ino);
	free(t->by_path);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct inode *inode_by_path(inode_table *t, const char *path)
{
	struct inode *n = t->by_path[inode_hash(path) % t->nbuckets];

	for (; n; n = n->next_path)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static struct inode *inode_by_ino(inode_table *t, uint64_t ino)
{
	struct inode *n = t->by_ino[ino % t->nbuckets];

	for (; n; n = n->next_ino)
		if (n->ino == ino)
			return n;
	return NULL;
}

/* O(1): a directory of 100,000 entries is not walked to forget one of them. */
static void inode_tree_remove(struct inode *n)
{
	if (!n->parent)
		return;
	*n->back = n->sibling;
	if (n->sibling)
		n->sibling->back = n->back;
	n->parent = NULL;
	n->sibling = NULL;
	n->back = NULL;
}

static void inode_tree_add(struct inode *parent, struct inode *n)
{
	if (!parent || parent == n)
		return;
	n->parent = parent;
	n->sibling = parent->child;
	if (n->sibling)
		n->sibling->back = &n->sibling;
	parent->child = n;
	n->back = &parent->child;
}

/* The attached entry holding path's parent directory, or NULL. */
static struct inode *inode_by_path(inode_table *t, const char *path);
static struct inode *inode_parent_of(inode_table *t, const char *path)
{
	const char *slash = strrchr(path, '/');
	struct inode *p;
	char *dir;

	if (!slash || strcmp(path, "/") == 0)
		return NULL;
	dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	p = inode_by_path(t, dir);
	free(dir);
	return p;
}

static void inode_unlink_path(inode_table *t, struct inode *n)
{
	struct inode **pp = &t->by_path[inode_hash(n->path) % t->nbuckets];

	for (; *pp; pp = &(*pp)->next_path)
		if (*pp == n) {
			*pp = n->next_path;
			break;
		}
	free(n->path);
	n->path = NULL;
	n->next_path = NULL;
	inode_tree_remove(n);
	/* its children keep their names (the kernel still has them); they hang on nothing */
	for (struct inode *c = n->child, *next; c; c = next) {
		next = c->sibling;
		c->parent = NULL;
		c->sibling = NULL;
		c->back = NULL;
	}
	n->child = NULL;
}

static void inode_link_path(inode_table *t, struct inode *n, char *path)
{
	size_t b = inode_hash(path) % t->nbuckets;

	n->path = path;
	n->next_path = t->by_path[b];
	t->by_path[b] = n;
}

static void inode_grow(inode_table *t)
{
	size_t old = t->nbuckets, i;
	struct inode **by_ino = t->by_ino;
	struct inode *n, *next;

	t->nbuckets *= 4;
	t->by_ino = xcalloc(t->nbuckets, sizeof(*t->by_ino));
	free(t->by_path);
	t->by_path = xcalloc(t->nbuckets, sizeof(*t->by_path));
	for (i = 0; i < old; i++)
		for (n = by_ino[i]; n; n = next) {
			next = n->next_ino;
			n->next_ino = t->by_ino[n->ino % t->nbuckets];
			t->by_ino[n->ino % t->nbuckets] = n;
			if (n->path) {
				size_t b = inode_hash(n->path) % t->nbuckets;
				n->next_path = t->by_path[b];
				t->by_path[b] = n;
			}
		}
	free(by_ino);
}

uint64_t inode_ref(inode_table *t, const char *path)
{
	struct inode *n;
	uint64_t ino;

	pthread_mutex_lock(&t->lock);
	if (!(n = inode_by_path(t, path))) {
		if (t->count > t->nbuckets)
			inode_grow(t);
		n = xcalloc(1, sizeof(*n));
		n->ino = strcmp(path, "/") == 0 ? 1 : t->next++;
		n->next_ino = t->by_ino[n->ino % t->nbuckets];
		t->by_ino[n->ino % t->nbuckets] = n;
		inode_link_path(t, n, xstrdup(path));
		inode_tree_add(inode_parent_of(t, path), n);
		t->count++;
	}
	n->nlookup++;
	ino = n->ino;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

char *inode_path(inode_table *t, uint64_t ino)
{
	struct inode *n;
	char *p = NULL;

	pthread_mutex_lock(&t->lock);
	if ((n = inode_by_ino(t, ino)) && n->path)
		p = xstrdup(n->path);
	pthread_mutex_unlock(&t->lock);
	return p;
}

uint64_t inode_find(inode_table *t, const char *path)
{
	struct inode *n;
	uint64_t ino = 0;

	pthread_mutex_lock(&t->lock);
	if ((n = inode_by_path(t, path)))
		ino = n->ino;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

void inode_forget(inode_table *t, uint64_t ino, uint64_t count)
{
	struct inode *n, **pp;

	if (ino == 1)
		return;
	pthread_mutex_lock(&t->lock);
	if (!(n = inode_by_ino(t, ino)))
		goto out;
	n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
	if (n->nlookup)
		goto out;
	if (n->path)
		inode_unlink_path(t, n);
	for (pp = &t->by_ino[ino % t->nbuckets]; *pp; pp = &(*pp)->next_ino)
		if (*pp == n) {
			*pp = n->next_ino;
			break;
		}
	free(n);
	t->count--;
out:
	pthread_mutex_unlock(&t->lock);
}

/* Give n and its subtree the names under to (n's new path). */
static void inode_rename_subtree(inode_table *t, struct inode *n, const char *to)
{
	struct inode *c;
	char *old = n->path;
	size_t olen = strlen(old);

	/* unhash, rename, rehash: children first need the old prefix */
	for (c = n->child; c; c = c->sibling) {
		char *np = xasprintf("%s%s", to, c->path + olen);
		inode_rename_subtree(t, c, np);
		free(np);
	}
	{
		struct inode **pp = &t->by_path[inode_hash(old) % t->nbuckets];
		for (; *pp; pp = &(*pp)->next_path)
			if (*pp == n) {
				*pp = n->next_path;
				break;
			}
	}
	free(old);
	n->next_path = NULL;
	inode_link_path(t, n, xstrdup(to));
}

void inode_move(inode_table *t, const char *from, const char *to)
{
	struct inode *n, *old;

	pthread_mutex_lock(&t->lock);
	if ((old = inode_by_path(t, to)))
		inode_unlink_path(t, old);
	if ((n = inode_by_path(t, from))) {
		inode_tree_remove(n);
		inode_rename_subtree(t, n, to);
		inode_tree_add(inode_parent_of(t, to), n);
	}
	pthread_mutex_unlock(&t->lock);
}

void inode_detach(inode_table *t, const char *path)
{
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	if ((n = inode_by_path(t, path)) && n->ino != 1)
		inode_unlink_path(t, n);
	pthread_mutex_unlock(&t->lock);
}

static void inode_collect(struct inode *n, struct inode_known **out, size_t *len, size_t *cap)
{
	if (*len == *cap)
		*out = xrealloc(*out, (*cap *= 2) * sizeof(**out));
	(*out)[*len].ino = n->ino;
	(*out)[(*len)++].path = xstrdup(n->path);
	for (struct inode *c = n->child; c; c = c->sibling)
		if (c->path)
			inode_collect(c, out, len, cap);
}

struct inode_known *inode_under(inode_table *t, const char *prefix, size_t *n)
{
	size_t cap = 16;
	struct inode_known *out = xcalloc(cap, sizeof(*out));
	struct inode *root;

	*n = 0;
	pthread_mutex_lock(&t->lock);
	if ((root = inode_by_path(t, prefix)))
		inode_collect(root, &out, n, &cap);
	pthread_mutex_unlock(&t->lock);
	return out;
}

uint64_t inode_count(inode_table *t)
{
	uint64_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
