/*
 * inode.h - the kernel's inode numbers and the paths they stand for.
 *
 * orchfs is a path-shaped view of rows, so an inode is a path: the table
 * gives each path the kernel has looked up a number, counts the kernel's
 * references (lookup adds, forget subtracts, FUSE's rule) and frees the
 * entry when the count reaches zero. A rename moves the entry (and the
 * entries below it) to the new path, as the kernel moves its dentries; an
 * entry replaced by a rename or removed by unlink is detached: it keeps its
 * number until forgotten but no path leads to it.
 *
 * Thread-safe: every function takes the table's own lock. Paths are
 * absolute within the mount ("/" and "/bugs/BUG-001.json").
 */
#ifndef ORCHFS_FS_INODE_H
#define ORCHFS_FS_INODE_H

#include <stdint.h>

typedef struct inode_table inode_table;

inode_table *inode_table_new(void);
void inode_table_free(inode_table *t);

/* inode_ref - the number of path (created if new) with its lookup count +1. */
uint64_t inode_ref(inode_table *t, const char *path);
/* inode_path - a copy of the path of ino (caller frees), or NULL if unknown
 * or detached. */
char *inode_path(inode_table *t, uint64_t ino);
/* inode_find - the number of path, or 0 if the kernel does not know it. */
uint64_t inode_find(inode_table *t, const char *path);
/* inode_forget - drop n lookups of ino. */
void inode_forget(inode_table *t, uint64_t ino, uint64_t n);
/* inode_move - the entry at from (and those below it) now lives at to; an
 * entry already at to is detached. */
void inode_move(inode_table *t, const char *from, const char *to);
/* inode_detach - no path leads to the entry at path any more. */
void inode_detach(inode_table *t, const char *path);
/* An entry the kernel knows, as inode_under returns it. */
struct inode_known {
	uint64_t ino;
	char *path;
};
/* inode_under - every attached entry at prefix or below it: an array the
 * caller frees (each path, then the array); *n its length. */
struct inode_known *inode_under(inode_table *t, const char *prefix, size_t *n);
/* inode_count - entries in the table (for tests and stats). */
uint64_t inode_count(inode_table *t);

#endif
