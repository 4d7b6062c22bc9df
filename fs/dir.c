/*
 * dir.c - directories and names: listings (one snapshot per opendir, in a
 * fixed number of queries), mkdir and rmdir of directory entities, unlink,
 * symlinks (relations, and editors' lock links), and rename, where editors'
 * backup-by-rename and rename-over saves are told apart (see write.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/internal.h"
#include "fs/render.h"

struct dirhandle {
	struct strbuf names; /* NUL-separated names */
	size_t count;
	char **name;         /* into names */
	unsigned char *type; /* DT_DIR, DT_REG, DT_LNK */
	/* in fs->dirs, so the ones the kernel never releases (a daemon stopped
	 * by a signal mid-listing) are freed with the fs */
	struct dirhandle *prev, *next;
};

static void dir_free(fs *f, struct dirhandle *d)
{
	pthread_mutex_lock(&f->lock);
	if (d->prev)
		d->prev->next = d->next;
	else
		f->dirs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&f->lock);
	strbuf_release(&d->names);
	free(d->name);
	free(d->type);
	free(d);
}

void dir_free_all(fs *f)
{
	while (f->dirs)
		dir_free(f, f->dirs);
}

/* What a link change carries, for permissions and approvals. */
static cJSON *dir_link_payload(const struct map_relation *r, const char *target, bool move)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "relation", r->dir);
	cJSON_AddStringToObject(p, "target", target);
	if (move)
		cJSON_AddBoolToObject(p, "move", true);
	return p;
}

void dir_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fs *f = fs_of(req);
	char *dir = inode_path(f->inodes, parent), *path = NULL, *cause = NULL;
	struct fs_actor oa;
	struct stat st;
	struct node n;
	cJSON *doc;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	path = fs_child(dir, name);
	if ((rc = node_resolve(f, path, &n)))
		goto fail;
	if (n.c && ((rc = fs_readonly_err(f, &n)) || (n.kind == NODE_TRASH && (rc = -EROFS)))) {
		fs_refuse(req, f, path, &n, "mkdir", rc, "read-only");
		goto out;
	}
	if (n.kind != NODE_ENTITY || !n.c->file) {
		if (n.kind == NODE_SCRATCH && n.c && n.c->file && name[0] != '.') {
			fs_refuse(req, f, path, &n, "mkdir", -EINVAL,
				  "invalid key: use printable characters, no '/', no leading '.', at most 200 bytes");
			goto out;
		}
		rc = n.kind == NODE_SCRATCH && n.c && !n.c->file ? -EPERM : (node_exists(f, &n) > 0 ? -EEXIST : -EPERM);
		if (rc == -EPERM) {
			fs_refuse(req, f, path, &n, "mkdir", rc, "cannot make a directory here");
			goto out;
		}
		goto fail;
	}
	if ((rc = fs_readonly_err(f, &n))) {
		fs_refuse(req, f, path, &n, "mkdir", rc, "read-only");
		goto out;
	}
	fs_actor(req, "create", path, &oa);
	doc = cJSON_CreateObject();
	if (!(rc = fs_permit(f, path, &n, &oa, doc, &cause)))
		rc = store_create(n.st, n.c, n.key, doc, &oa.a, NULL, &cause);
	cJSON_Delete(doc);
	if (rc) {
		note_error(f, path, cause ? cause : strerror(-rc));
		fs_log("%s: mkdir: %s", path, cause ? cause : strerror(-rc));
		goto fail;
	}
	note_clear(f, path);
	if ((rc = view_stat(f, req, path, &st)))
		goto fail;
	fs_reply_entry(req, f, path, &st);
	goto out;
fail:
	fuse_reply_err(req, -rc);
out:
	free(cause);
	free(path);
	free(dir);
}

/*
 * rm -r of a directory entity (tasks/T) unlinks what it lists there in
 * order: the entity's own file first (refused: the entity goes whole, by
 * rmdir), then the logs (refused), then each link in deps/ and the like,
 * which alone would be removed: rm would fail and leave the entity without
 * its links. So the refusal of the own file is remembered for its caller a
 * while, and its links in that directory are refused after it.
 */
#define DIR_RM_REFUSED_MS 10000
static void dir_rm_refused_note(fs *f, fuse_req_t req, const char *dir)
{
	pthread_mutex_lock(&f->lock);
	free(f->rm_refused.dir);
	f->rm_refused.dir = xstrdup(dir);
	f->rm_refused.pid = fuse_req_ctx(req)->pid;
	f->rm_refused.at = time_mono_ms();
	pthread_mutex_unlock(&f->lock);
}

/* Is path inside the directory whose own file its caller just failed to remove? */
static bool dir_rm_refused(fs *f, fuse_req_t req, const char *path)
{
	int64_t now = time_mono_ms();
	size_t len;
	bool inside;

	pthread_mutex_lock(&f->lock);
	len = f->rm_refused.dir ? strlen(f->rm_refused.dir) : 0;
	inside = len && strncmp(path, f->rm_refused.dir, len) == 0 && path[len] == '/' &&
		 f->rm_refused.pid == fuse_req_ctx(req)->pid &&
		 now - f->rm_refused.at < DIR_RM_REFUSED_MS;
	pthread_mutex_unlock(&f->lock);
	return inside;
}

void dir_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs *f = fs_of(req);
	char *dir = inode_path(f->inodes, parent), *path, *cause = NULL;
	struct fs_actor oa;
	struct scratch *s;
	struct node n;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	path = fs_child(dir, name);
	pthread_mutex_lock(&f->lock);
	if ((s = scratch_find(f, path))) {
		scratch_unname(f, s);
		pthread_mutex_unlock(&f->lock);
		hidden_remove_backup(f, path);
		inode_detach(f->inodes, path);
		fuse_reply_err(req, 0);
		goto out;
	}
	pthread_mutex_unlock(&f->lock);
	if ((rc = node_resolve(f, path, &n)) || n.kind == NODE_SCRATCH) {
		fuse_reply_err(req, ENOENT);
		goto out;
	}
	if ((rc = node_exists(f, &n)) <= 0 || ((n.kind == NODE_ENTITY) && hidden_has(f, path))) {
		fuse_reply_err(req, rc < 0 ? -rc : ENOENT);
		goto out;
	}
	if (n.kind == NODE_ENTITY && hidden_state(f, path) == BACKUP_OPEN) {
		/* An editor undoing its failed save before renaming the backup back:
		 * the row was never changed, so it stays; the name is hidden again. */
		hidden_set(f, path, BACKUP_HIDDEN);
		fs_log("%s: removed after a failed save; the row is kept for the backup", path);
		fuse_reply_err(req, 0);
		goto out;
	}
	hidden_remove(f, path);
	if ((rc = fs_readonly_err(f, &n))) {
		fs_refuse(req, f, path, &n, "unlink", rc, "read-only");
		goto out;
	}
	if (n.kind == NODE_ENTITY && !n.c->file) {
		fs_actor(req, "delete", path, &oa);
		if (!(rc = fs_permit(f, path, &n, &oa, NULL, &cause)))
			rc = store_delete(n.st, n.c, n.key, &oa.a, &cause);
	} else if (n.kind == NODE_TRASH) { /* out of .trash/: gone for good */
		fs_actor(req, "purge", path, &oa);
		if (!(rc = fs_permit(f, path, &n, &oa, NULL, &cause)))
			rc = store_purge(n.st, n.c, n.key, &oa.a, &cause);
	} else if (n.kind == NODE_REL_LINK && dir_rm_refused(f, req, path)) {
		fs_refuse(req, f, path, &n, "unlink", -EPERM,
			  "kept: this process could not remove the entity's own file just before (rm -r?); "
			  "a directory entity is removed whole, with its links, by rmdir");
		goto out;
	} else if (n.kind == NODE_REL_LINK) {
		cJSON *link = dir_link_payload(n.rel, n.target, false);
		fs_actor(req, "unlink", path, &oa);
		if (!(rc = fs_permit(f, path, &n, &oa, link, &cause)))
			rc = store_unlink(n.st, n.c, n.rel, n.key, n.target, &oa.a, &cause);
		cJSON_Delete(link);
	} else if (n.kind == NODE_ENTITY || n.kind == NODE_COLLECTION) {
		rc = -EISDIR;
	} else {
		if (n.kind == NODE_MAIN)
			dir_rm_refused_note(f, req, dir);
		fs_refuse(req, f, path, &n, "unlink", -EPERM,
			   n.kind == NODE_MAIN ? "to delete the entity, remove its directory (rmdir)"
					       : "cannot be removed");
		goto out;
	}
	if (rc) {
		fs_log("%s: rm: %s", path, cause ? cause : strerror(-rc));
		fuse_reply_err(req, -rc);
	} else {
		inode_detach(f->inodes, path);
		note_clear(f, path);
		fuse_reply_err(req, 0);
	}
out:
	free(cause);
	free(path);
	free(dir);
}

void dir_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs *f = fs_of(req);
	char *dir = inode_path(f->inodes, parent), *path, *cause = NULL;
	struct fs_actor oa;
	struct node n;
	bool busy;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	path = fs_child(dir, name);
	if ((rc = node_resolve(f, path, &n)) || n.kind == NODE_SCRATCH) {
		fuse_reply_err(req, rc == -ENOTDIR ? ENOTDIR : ENOENT);
		goto out;
	}
	if (n.kind != NODE_ENTITY || !n.c->file) {
		rc = node_exists(f, &n);
		if (rc <= 0)
			fuse_reply_err(req, rc < 0 ? -rc : ENOENT);
		else if (n.kind == NODE_ENTITY || n.kind == NODE_MAIN || n.kind == NODE_LOG)
			fuse_reply_err(req, ENOTDIR);
		else
			fs_refuse(req, f, path, &n, "rmdir", -EPERM, "cannot be removed");
		goto out;
	}
	if ((rc = fs_readonly_err(f, &n))) {
		fs_refuse(req, f, path, &n, "rmdir", rc, "read-only");
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	busy = scratch_dir_has_children(f, path);
	pthread_mutex_unlock(&f->lock);
	if (busy) {
		fs_refuse(req, f, path, &n, "rmdir", -ENOTEMPTY, "holds files of its own (an editor's?)");
		goto out;
	}
	fs_actor(req, "delete", path, &oa);
	if ((rc = fs_permit(f, path, &n, &oa, NULL, &cause)) ||
	    (rc = store_delete(n.st, n.c, n.key, &oa.a, &cause))) {
		fs_log("%s: rmdir: %s", path, cause ? cause : strerror(-rc));
		fuse_reply_err(req, -rc);
	} else {
		inode_detach(f->inodes, path);
		fuse_reply_err(req, 0);
	}
out:
	free(cause);
	free(path);
	free(dir);
}

/* The key a symlink's text names: its last component without ".json". */
static char *dir_link_key(const char *text)
{
	const char *base = strrchr(text, '/');
	size_t n;

	base = base ? base + 1 : text;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	return xstrndup(base, n);
}

void dir_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fs *f = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char *dir = inode_path(f->inodes, parent), *path, *cause = NULL, *key;
	struct fs_actor oa;
	struct scratch *s;
	struct stat st;
	struct node n, pn;
	int rc;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	path = fs_child(dir, name);
	if ((rc = node_resolve(f, dir, &pn)) || (rc = node_resolve(f, path, &n))) {
		fuse_reply_err(req, -rc);
		goto out;
	}
	if (n.c && (rc = fs_readonly_err(f, &n))) {
		fs_refuse(req, f, path, &n, "symlink", rc, "read-only");
		goto out;
	}
	if (n.kind == NODE_REL_LINK) {
		if ((rc = fs_readonly_err(f, &n))) {
			fs_refuse(req, f, path, &n, "link", rc, "read-only");
			goto out;
		}
		key = dir_link_key(link);
		if (strcmp(key, name) != 0) {
			fs_refuse(req, f, path, &n, "link", -EINVAL, "the link's name must be the key it points to");
			free(key);
			goto out;
		}
		free(key);
		fs_actor(req, "link", path, &oa);
		cJSON *link = dir_link_payload(n.rel, n.target, false);
		if (!(rc = fs_permit(f, path, &n, &oa, link, &cause)))
			rc = store_link(n.st, n.c, n.rel, n.key, n.target, false, &oa.a, &cause);
		cJSON_Delete(link);
		if (rc) {
			note_error(f, path, cause ? cause : strerror(-rc));
			fs_log("%s: ln -s: %s (by %s[%d])", path, cause ? cause : strerror(-rc), oa.comm, (int)oa.a.pid);
			fuse_reply_err(req, -rc);
			goto out;
		}
	} else if (n.kind == NODE_SCRATCH && n.writable_dir && fs_writable(f, &n)) {
		pthread_mutex_lock(&f->lock);
		if (scratch_find(f, path)) {
			pthread_mutex_unlock(&f->lock);
			fuse_reply_err(req, EEXIST);
			goto out;
		}
		s = scratch_new(f, path, S_IFLNK | 0777, ctx->uid, ctx->gid);
		scratch_set_owner(s, fs_pid(req));
		s->is_link = true;
		strbuf_addstr(&s->data, link);
		pthread_mutex_unlock(&f->lock);
	} else {
		fs_refuse(req, f, path, &n, "symlink", n.kind == NODE_SCRATCH ? -EPERM : -EEXIST,
			   "cannot make a link here");
		goto out;
	}
	if ((rc = view_stat(f, req, path, &st)))
		fuse_reply_err(req, -rc);
	else
		fs_reply_entry(req, f, path, &st);
out:
	free(cause);
	free(path);
	free(dir);
}

/*
 * Linux retries a path call that failed with ESTALE once, at once, with the
 * names looked up again (namei.c: retry_estale). A stale save by rename
 * would be refused, audited and logged twice: the retry of the refusal just
 * made (same names, same thread, within a second, the same bytes) is
 * answered with the same ESTALE alone.
 */
#define DIR_STALE_RETRY_MS 1000
static uint64_t dir_bytes_hash(const struct scratch *s) /* FNV-1a; f->lock held */
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < s->data.len; i++)
		h = (h ^ (unsigned char)s->data.buf[i]) * 1099511628211ULL;
	return h;
}

static void dir_stale_note(fs *f, fuse_req_t req, const struct scratch *s, const char *from, const char *to)
{
	pthread_mutex_lock(&f->lock);
	f->stale_rename.hash = dir_bytes_hash(s);
	free(f->stale_rename.from);
	free(f->stale_rename.to);
	f->stale_rename.from = xstrdup(from);
	f->stale_rename.to = xstrdup(to);
	f->stale_rename.pid = fuse_req_ctx(req)->pid;
	f->stale_rename.at = time_mono_ms();
	pthread_mutex_unlock(&f->lock);
}

static bool dir_stale_retry(fs *f, fuse_req_t req, const struct scratch *s, const char *from, const char *to)
{
	int64_t now = time_mono_ms();
	bool retry;

	pthread_mutex_lock(&f->lock);
	retry = f->stale_rename.from && strcmp(f->stale_rename.from, from) == 0 &&
		strcmp(f->stale_rename.to, to) == 0 && f->stale_rename.pid == fuse_req_ctx(req)->pid &&
		f->stale_rename.hash == dir_bytes_hash(s) &&
		now - f->stale_rename.at < DIR_STALE_RETRY_MS;
	if (retry) { /* once */
		free(f->stale_rename.from);
		f->stale_rename.from = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	return retry;
}

void dir_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		       const char *newname, unsigned int flags)
{
	fs *f = fs_of(req);
	char *dir = inode_path(f->inodes, parent), *ndir = inode_path(f->inodes, newparent);
	char *from = NULL, *to = NULL;
	const char *why = NULL; /* an EPERM's reason: refusals are audited (SPEC §6) */
	struct scratch *s, *d;
	struct node fn, tn;
	int rc;

	if (!dir || !ndir) {
		rc = -ENOENT;
		goto fail;
	}
	if (flags & RENAME_EXCHANGE) {
		rc = -EINVAL;
		goto fail;
	}
	from = fs_child(dir, name);
	to = fs_child(ndir, newname);
	if ((rc = node_resolve(f, from, &fn)) || (rc = node_resolve(f, to, &tn)))
		goto fail;
	if ((fn.c && fs_readonly_err(f, &fn)) || (tn.c && fs_readonly_err(f, &tn))) {
		fs_refuse(req, f, fn.c && fs_readonly_err(f, &fn) ? from : to, fn.c && fs_readonly_err(f, &fn) ? &fn : &tn,
			  "rename", -EROFS, "read-only");
		goto out;
	}

	pthread_mutex_lock(&f->lock);
	s = scratch_find(f, from);
	d = scratch_find(f, to);
	pthread_mutex_unlock(&f->lock);

	if (s) {
		if (tn.kind == NODE_SCRATCH || d) {
			/* scratch -> scratch: an ordinary rename */
			if (!tn.writable_dir || !fs_writable(f, &tn)) {
				rc = -EPERM;
				why = "no files can be made there";
				goto fail;
			}
			pthread_mutex_lock(&f->lock);
			if ((d = scratch_find(f, to)) && (flags & RENAME_NOREPLACE)) {
				pthread_mutex_unlock(&f->lock);
				rc = -EEXIST;
				goto fail;
			}
			if (d && d != s)
				scratch_unname(f, d);
			free(s->path);
			s->path = xstrdup(to);
			clock_gettime(CLOCK_REALTIME, &s->ctime);
			pthread_mutex_unlock(&f->lock);
			hidden_remove_backup(f, to);
			hidden_move_backup(f, from, to);
			inode_move(f->inodes, from, to);
			fuse_reply_err(req, 0);
			goto out;
		}
		if (tn.kind == NODE_ENTITY && tn.c->file)
			rc = -EISDIR;
		else if (tn.kind != NODE_ENTITY && tn.kind != NODE_MAIN)
			rc = -EPERM, why = "a file's contents go only onto an entity's name";
		else if ((rc = fs_readonly_err(f, &tn)))
			;
		else if ((flags & RENAME_NOREPLACE) && !hidden_has(f, to) && node_exists(f, &tn) > 0)
			rc = -EEXIST;
		else if (dir_stale_retry(f, req, s, from, to))
			rc = -ESTALE; /* the kernel's retry of the refusal just made: refused, audited, once */
		else if ((rc = write_apply_scratch(req, f, s, from, to, &tn)) == -ESTALE)
			dir_stale_note(f, req, s, from, to);
		if (rc)
			goto fail;
		/* The scratch inode now stands for the entity, as the kernel believes. */
		pthread_mutex_lock(&f->lock);
		scratch_unname(f, s);
		pthread_mutex_unlock(&f->lock);
		hidden_remove_backup(f, from);
		hidden_remove(f, to);
		inode_move(f->inodes, from, to);
		fuse_reply_err(req, 0);
		goto out;
	}

	if (tn.kind == NODE_TRASH || tn.kind == NODE_TRASH_DIR) {
		/* .trash/ is filled by rm alone */
		fs_refuse(req, f, to, &tn, "rename", -EROFS, "nothing is put in .trash/ but by rm");
		goto out;
	}
	if (fn.kind == NODE_TRASH) {
		/* mv bugs/.trash/BUG-001.json bugs/: restore it, under its own key */
		struct fs_actor oa;
		char *cause = NULL;
		if (tn.kind != NODE_ENTITY || tn.c != fn.c || strcmp(tn.key, fn.key) != 0) {
			cause = xasprintf("a deleted entity is restored under its own name: mv .trash/%s.json %s/%s%s",
					  fn.key, fn.c->dir, fn.key, map_suffix(fn.c));
			fs_refuse(req, f, from, &fn, "rename",
				  tn.kind == NODE_ENTITY || tn.kind == NODE_SCRATCH ? -EINVAL : -EPERM, cause);
			free(cause);
			goto out;
		} else {
			fs_actor(req, "restore", to, &oa);
			if (!(rc = fs_permit(f, to, &tn, &oa, NULL, &cause)))
				rc = store_restore(fn.st, fn.c, fn.key, &oa.a, &cause);
		}
		if (rc) {
			note_error(f, to, cause ? cause : strerror(-rc));
			free(cause);
			goto fail;
		}
		inode_detach(f->inodes, from);
		inode_detach(f->inodes, to);
		fuse_reply_err(req, 0);
		goto out;
	}
	if ((fn.kind == NODE_ENTITY && tn.kind == NODE_REL_LINK && tn.rel->target == fn.c) ||
	    (fn.kind == NODE_REL_LINK && tn.kind == NODE_REL_LINK && fn.rel == tn.rel && fn.rel->unique)) {
		/* mv worktrees/w.json zones/z/worktrees/, or mv zones/y/worktrees/w
		 * zones/z/worktrees/: link (or move) it there, in one transaction. */
		const char *target = fn.kind == NODE_REL_LINK ? fn.target : fn.key;
		struct fs_actor oa;
		char *cause = NULL, *key = dir_link_key(newname);
		char *at = fs_child(ndir, key); /* the link's own name: mv into the directory keeps ".json" */
		if (strcmp(key, target) != 0)
			rc = -EINVAL;
		else if ((rc = fs_readonly_err(f, &tn)) == 0) {
			cJSON *link = dir_link_payload(tn.rel, target, true);
			fs_actor(req, "link", at, &oa);
			if (!(rc = fs_permit(f, at, &tn, &oa, link, &cause)))
				rc = store_link(tn.st, tn.c, tn.rel, tn.key, target, true, &oa.a, &cause);
			cJSON_Delete(link);
		}
		free(at);
		if (rc) {
			note_error(f, to, cause ? cause : strerror(-rc));
			free(cause);
			free(key);
			goto fail;
		}
		free(key);
		/* The kernel moved a file's dentry to where a symlink now is: forget both. */
		inode_detach(f->inodes, from);
		inode_detach(f->inodes, to);
		fuse_reply_err(req, 0);
		goto out;
	}
	if (fn.kind == NODE_ENTITY || fn.kind == NODE_MAIN) {
		struct strbuf sb = STRBUF_INIT;
		struct timespec mt;
		if ((rc = node_exists(f, &fn)) <= 0 || hidden_has(f, from)) {
			rc = rc < 0 ? rc : -ENOENT;
			goto fail;
		}
		if (fn.kind == NODE_ENTITY && fn.c->file) {
			rc = -EPERM; /* a directory entity is renamed by changing its key: not supported */
			why = "an entity's key cannot be changed";
			goto fail;
		}
		if (tn.kind != NODE_SCRATCH || !tn.writable_dir || !fs_writable(f, &tn) ||
		    strcmp(dir, ndir) != 0) {
			/* mv falls back to copy and unlink on EXDEV: a new key, then a delete. */
			rc = tn.kind == NODE_SCRATCH || tn.kind == NODE_ENTITY ? -EXDEV : -EPERM;
			why = "an entity's file is renamed only to a scratch name beside it";
			goto fail;
		}
		/* An editor's backup-by-rename: hide the entity, keep its bytes at the backup name. */
		strbuf_init(&sb, 0);
		if ((rc = view_content(f, from, &fn, 0, &sb, &mt))) {
			strbuf_release(&sb);
			goto fail;
		}
		pthread_mutex_lock(&f->lock);
		if ((d = scratch_find(f, to))) {
			if (flags & RENAME_NOREPLACE) {
				pthread_mutex_unlock(&f->lock);
				strbuf_release(&sb);
				rc = -EEXIST;
				goto fail;
			}
			scratch_unname(f, d);
		}
		d = scratch_new(f, to, S_IFREG | (view_has_secret(fn.c) ? 0600 : 0644), f->uid, f->gid);
		scratch_set_owner(d, fs_pid(req));
		strbuf_add(&d->data, sb.buf, sb.len);
		d->mtime = mt;
		pthread_mutex_unlock(&f->lock);
		strbuf_release(&sb);
		hidden_add(f, from, to);
		inode_move(f->inodes, from, to);
		fuse_reply_err(req, 0);
		goto out;
	}
	rc = node_exists(f, &fn) > 0 ? -EPERM : -ENOENT;
	why = "this cannot be renamed";
fail:
	if (rc == -EPERM && why)
		fs_refuse(req, f, from, &fn, "rename", rc, why);
	else
		fuse_reply_err(req, -rc);
out:
	free(from);
	free(to);
	free(dir);
	free(ndir);
}

/* --- directories --- */

/* Forget scratch files their tools left behind (see scratch.c). */
static void dir_sweep(fs *f)
{
	char **gone;

	pthread_mutex_lock(&f->lock);
	gone = scratch_sweep(f);
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; gone && gone[i]; i++) {
		hidden_remove_backup(f, gone[i]);
		inode_detach(f->inodes, gone[i]);
		free(gone[i]);
	}
	free(gone);
}

struct dir_fill_ctx {
	struct dirhandle *d;
	unsigned char type;
	const char *suffix;
	char **hide;   /* names not listed (entities an editor renamed away: hidden_names), or NULL */
};

static void dir_add(struct dirhandle *d, const char *name, unsigned char type)
{
	strbuf_add(&d->names, name, strlen(name) + 1);
	d->type = xrealloc(d->type, d->count + 1);
	d->type[d->count++] = type;
}

static int dir_key_fn(void *arg, const char *key)
{
	struct dir_fill_ctx *df = arg;
	char name[NODE_NAME_MAX + 8];

	/* a key another writer made that no file can be named (a '/', empty,
	 * a leading '.'): not listed, rather than a listing that fails */
	if (!key[0] || strchr(key, '/') || key[0] == '.')
		return 0;
	snprintf(name, sizeof(name), "%s%s", key, df->suffix);
	for (char **h = df->hide; h && *h; h++)
		if (strcmp(*h, name) == 0)
			return 0;
	dir_add(df->d, name, df->type);
	return 0;
}

static int dir_fill(fs *f, const char *path, const struct node *n, struct dirhandle *d)
{
	struct dir_fill_ctx df = { d, DT_REG, "", NULL };
	struct strbuf sb = STRBUF_INIT;
	size_t plen = strlen(path);
	int rc = 0;

	dir_add(d, ".", DT_DIR);
	dir_add(d, "..", DT_DIR);
	switch (n->kind) {
	case NODE_ROOT:
	case NODE_DB:
		for (size_t i = 0; i < f->nstores; i++) {
			const struct map_database *db = store_map(f->stores[i]);
			if (n->kind == NODE_ROOT && db->dir[0]) {
				dir_add(d, db->dir, DT_DIR);
				continue;
			}
			if (f->stores[i] != n->st)
				continue;
			if (store_has_changes(f->stores[i]))
				dir_add(d, "changes.jsonl", DT_REG);
			for (size_t j = 0; j < db->ncollections; j++) {
				char name[NODE_NAME_MAX];
				dir_add(d, db->collections[j].dir, DT_DIR);
				snprintf(name, sizeof(name), "%s.jsonl", db->collections[j].dir);
				dir_add(d, name, DT_REG);
			}
		}
		break;
	case NODE_COLLECTION:
		if (n->c->alloc)
			dir_add(d, "new", DT_REG);
		/* .trash/ is not listed (like .snapshot/ on a filer): grep -r, find and
		 * rsync of a collection see what is in it, not what was deleted. */
		for (size_t i = 0; i < n->c->nlogs; i++)
			if (n->c->logs[i].fts) {
				dir_add(d, "search", DT_DIR);
				break;
			}
		for (size_t i = 0; i < n->c->nviews; i++)
			dir_add(d, n->c->views[i].dir, DT_DIR);
		df.type = n->c->file ? DT_DIR : DT_REG;
		df.suffix = map_suffix(n->c);
		/* an entity renamed to a scratch name is not there until it is made again */
		df.hide = hidden_names(f, path);
		rc = store_list(n->st, n->c, dir_key_fn, &df);
		for (char **h = df.hide; h && *h; h++)
			free(*h);
		free(df.hide);
		break;
	case NODE_ENTITY:
		dir_add(d, n->c->file, DT_REG);
		for (size_t i = 0; i < n->c->nlogs; i++)
			dir_add(d, n->c->logs[i].file, DT_REG);
		for (size_t i = 0; i < n->c->nrelations; i++)
			dir_add(d, n->c->relations[i].dir, DT_DIR);
		for (size_t i = 0; i < n->c->nblobs; i++)
			dir_add(d, n->c->blobs[i].dir, DT_DIR);
		break;
	case NODE_BLOB_DIR:
		rc = store_blob_list(n->st, n->c, n->blobs, n->key, dir_key_fn, &df);
		break;
	case NODE_REL_DIR:
		df.type = DT_LNK;
		rc = store_related(n->st, n->c, n->rel, n->key, dir_key_fn, &df);
		break;
	case NODE_SEARCH_DIR:
		break; /* any name is a query; none is listed */
	case NODE_TRASH_DIR:
		df.type = DT_REG;
		df.suffix = ".json";
		rc = store_trash_list(n->st, n->c, dir_key_fn, &df);
		break;
	case NODE_VIEW:
		df.type = DT_DIR;
		rc = store_view_values(n->st, n->c, n->view, dir_key_fn, &df);
		break;
	case NODE_VIEW_VALUE:
		df.type = DT_LNK;
		rc = store_view_list(n->st, n->c, n->view, n->value, dir_key_fn, &df);
		break;
	default:
		return -ENOTDIR;
	}
	if (rc)
		return rc;
	/* Scratch files of this directory, and .error when a save here failed. */
	dir_sweep(f);
	pthread_mutex_lock(&f->lock);
	for (struct scratch *s = f->scratch; s; s = s->next) {
		const char *rest;
		if (!s->path || strncmp(s->path, path, plen) != 0)
			continue;
		rest = s->path + plen + (plen > 1);
		if ((plen > 1 && s->path[plen] != '/') || strchr(rest, '/') || !*rest)
			continue;
		dir_add(d, rest, s->is_link ? DT_LNK : DT_REG);
	}
	pthread_mutex_unlock(&f->lock);
	note_text(f, path, &sb);
	if (sb.len)
		dir_add(d, ".error", DT_REG);
	strbuf_release(&sb);
	return 0;
}

void dir_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs *f = fs_of(req);
	char *path = inode_path(f->inodes, ino), *p;
	struct dirhandle *d;
	struct node n;
	int rc;

	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((rc = node_resolve(f, path, &n)) || (rc = node_exists(f, &n)) <= 0) {
		fuse_reply_err(req, rc < 0 ? -rc : ENOENT);
		free(path);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	strbuf_init(&d->names, 256);
	/* One snapshot per opendir: a listing never mixes two states. */
	if ((rc = dir_fill(f, path, &n, d))) {
		strbuf_release(&d->names);
		free(d->type);
		free(d);
		fuse_reply_err(req, -rc);
		free(path);
		return;
	}
	d->name = xcalloc(d->count + 1, sizeof(char *));
	p = d->names.buf;
	for (size_t i = 0; i < d->count; i++, p += strlen(p) + 1)
		d->name[i] = p;
	pthread_mutex_lock(&f->lock);
	if ((d->next = f->dirs))
		f->dirs->prev = d;
	f->dirs = d;
	pthread_mutex_unlock(&f->lock);
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
	free(path);
}

void dir_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;
	char *buf = xmalloc(size);
	size_t used = 0;

	for (size_t i = (size_t)off; i < d->count; i++) {
		struct stat st = { 0 };
		size_t len;
		st.st_ino = (ino_t)(i + 2); /* never 0: readdir(3) skips entries with inode 0 */
		st.st_mode = (mode_t)DTTOIF(d->type[i]);
		len = fuse_add_direntry(req, buf + used, size - used, d->name[i], &st, (off_t)i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

void dir_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dir_free(fs_of(req), (struct dirhandle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}
