/*
 * internal.h - what the files of fs/ share: the fs struct, the node a path
 * resolves to, scratch files, open file handles and the .error notes.
 */
#ifndef ORCHFS_FS_INTERNAL_H
#define ORCHFS_FS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "fs/fs.h"
#include "fs/inode.h"
#include "store/util.h"

struct dirhandle;
struct cache;
struct errnote;
struct hidden;
struct newkey;

/* What a path is. */
enum node_kind {
	NODE_ROOT,       /* "/" */
	NODE_DB,         /* a database's own root ("/user") */
	NODE_COLLECTION, /* "/bugs" */
	NODE_ENTITY,     /* "/bugs/BUG-001.json" (file form) or "/tasks/TASK-001" (dir form) */
	NODE_MAIN,       /* "/tasks/TASK-001/task.json" */
	NODE_LOG,        /* "/tasks/TASK-001/transcript.jsonl" */
	NODE_REL_DIR,    /* "/tasks/TASK-001/deps" */
	NODE_REL_LINK,   /* "/tasks/TASK-001/deps/TASK-002" */
	NODE_VIEW,       /* "/tasks/by-status" */
	NODE_VIEW_VALUE, /* "/tasks/by-status/running" */
	NODE_VIEW_LINK,  /* "/tasks/by-status/running/TASK-001" */
	NODE_NEW,        /* "/bugs/new": write a document, get an allocated key */
	NODE_STREAM,     /* "/bugs.jsonl": the whole collection, one document a line */
	NODE_FEED,       /* "/changes.jsonl": every change by every writer, one a line */
	NODE_SEARCH_DIR, /* "/tasks/search": full-text search of the collection's indexed log */
	NODE_SEARCH,     /* "/tasks/search/<query>": the matching log rows, one a line */
	NODE_ERROR,      /* "/bugs/.error": why the last saves here failed */
	NODE_TRASH_DIR,  /* "/bugs/.trash": deleted entities of a collection with soft deletes */
	NODE_TRASH,      /* "/bugs/.trash/BUG-001.json": one, read-only; mv restores, rm removes */
	NODE_BLOB_DIR,   /* "/tasks/TASK-001/attachments": an entity's stored files */
	NODE_BLOB,       /* "/tasks/TASK-001/attachments/shot.png": one, its bytes as they are */
	NODE_SCRATCH,    /* any other name in a writable directory: an editor's file */
};

#define NODE_NAME_MAX 256

struct node {
	enum node_kind kind;
	store *st;                          /* the database the path is in */
	const struct map_collection *c;     /* or NULL above collections */
	const struct map_relation *rel;
	const struct map_log *log;
	const struct map_view *view;
	const struct map_blobs *blobs;
	char key[NODE_NAME_MAX];            /* entity key */
	char value[NODE_NAME_MAX];          /* view value */
	char target[NODE_NAME_MAX];         /* link target key */
	bool writable_dir;                  /* a directory that takes scratch files */
};

/* A scratch file kept in memory: editors' swap, backup and temporary files. */
struct scratch {
	char *path;          /* protected by fs->lock */
	struct strbuf data;  /* protected by fs->lock */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime, ctime;
	bool is_link;        /* a symlink (emacs lock files); data is the target */
	bool is_dir;
	int refs;            /* open handles + 1 while it has a name; protected by fs->lock */
	pid_t owner;         /* the process that made it (or renamed a row's file to it) */
	unsigned long long owner_start; /* its start time, so a reused pid is not it */
	struct scratch *next;
};

struct fs {
	store **stores;
	size_t nstores;
	bool readonly;
	uid_t uid;
	gid_t gid;
	struct timespec started;
	inode_table *inodes;
	struct fuse_session *se;
	pthread_mutex_t lock;
	struct scratch *scratch;   /* protected by lock */
	struct errnote *errors;    /* protected by lock */
	struct hidden *hidden;     /* protected by lock */
	struct newkey *newkeys;    /* protected by lock */
	struct handle *handles;    /* open files, protected by lock */
	struct dirhandle *dirs;    /* open directories, protected by lock */
	struct {                   /* the last rename of a file onto an entity refused as stale
				    * (dir.c): Linux retries a path call that failed with ESTALE
				    * once, which would save, audit and log it twice. Protected by lock */
		char *from, *to;
		pid_t pid;             /* the calling thread */
		uint64_t hash;         /* of the file's bytes */
		int64_t at;            /* time_mono_ms() */
	} stale_rename;
	struct {                   /* the last refused rm of a directory entity's own file
				    * (dir.c): rm -r takes that file first, then the links
				    * and would leave the entity without them. Protected by lock */
		char *dir;             /* the entity's directory */
		pid_t pid;             /* the calling thread */
		int64_t at;            /* time_mono_ms() */
	} rm_refused;
	struct watch *watch;       /* the watcher of the databases' paths, or NULL (watch.c) */
	bool follow;               /* it follows commits and drops what the kernel caches (--cache) */
	struct cache *cache;       /* renderings kept while the database is unchanged, or NULL */
	time_t last_sweep;         /* protected by lock */
	int scratch_grace;         /* seconds (ORCHFS_SCRATCH_GRACE, default 30) */
	size_t scratch_limit;      /* bytes all scratch files may hold (ORCHFS_SCRATCH_MB, FS_SCRATCH_BYTES) */
	unsigned max_read;         /* fs_options.max_read */
	size_t spill_bytes;        /* a rendering past this goes to a temporary file (view.c) */
	char *spill_dir;           /* where: $TMPDIR, or /var/tmp */
};

/* An open file. */
struct handle {
	char *path;
	struct node n;
	pthread_mutex_t lock;    /* serialises writes and commits on this handle */
	struct strbuf data;      /* the bytes a read sees; for writers, what was written */
	int spill;               /* readers of a long stream or log: a temporary file holding
				  * the bytes instead of data (-1: none; view.c) */
	struct stream_reader *lazy; /* readers of the audit log or the feed: rows rendered as
				  * read, data a window of them (stream.c), or NULL */
	size_t spill_len;        /* the bytes in spill */
	size_t base;             /* logs: bytes already in the database */
	bool writable;
	bool dirty;              /* written or truncated since the last commit */
	bool written;            /* bytes were written: only then is a flush a save (a shell's
				  * dup2 closes the fd it opened with O_TRUNC before writing) */
	bool creating;           /* the entity does not exist yet: commit creates it */
	bool append;             /* a log opened O_APPEND: every write goes at our end */
	int failed;              /* errno of the last commit, if the bytes have not changed
				  * since: fsync then close report it once, audit it once */
	pid_t sid;               /* session of the opener (for `new`) */
	pid_t pid;               /* a writer's process: whose save fs_stop refuses */
	uid_t uid;               /* the opener's uid */
	struct timespec mtime;   /* of the row when the snapshot was taken */
	struct store_version v;  /* readers: the database's version before the snapshot */
	bool have_v;             /* v was read (a WAL database) */
	bool rewritten;          /* a log's rows changed under its reader (handle_refresh) */
	bool was_read;           /* a read was answered */
	struct scratch *scratch; /* for scratch files; data unused */
	struct handle *next;     /* in fs->handles, protected by fs->lock */
};

/* The process behind a request, for the audit row. */
struct fs_actor {
	struct store_actor a;
	char comm[32];
};

/* --- node.c --- */
/* node_resolve - what path is; -ENOENT if no such place can exist (existence
 * of rows is checked by node_exists). */
int node_resolve(fs *f, const char *path, struct node *n);
/* node_exists - 1 if the row behind n exists (always 1 for fixed places). */
int node_exists(fs *f, const struct node *n);
/* node_parent - split path into parent directory and name (both caller frees). */
void node_split(const char *path, char **parent, char **name);
/* node_ends_with - does s end in suffix? */
bool node_ends_with(const char *s, const char *suffix);

/* --- scratch.c (callers hold fs->lock) --- */
struct scratch *scratch_find(fs *f, const char *path);
struct scratch *scratch_new(fs *f, const char *path, mode_t mode, uid_t uid, gid_t gid);
void scratch_unname(fs *f, struct scratch *s);  /* remove its name; freed when unreferenced */
void scratch_put(fs *f, struct scratch *s);     /* drop a reference */
bool scratch_dir_has_children(fs *f, const char *path);
void scratch_set_owner(struct scratch *s, pid_t pid);
/* scratch_sweep - forget scratch files nobody holds open whose owner has exited
 * and that were not touched for the grace period; returns their paths (a
 * NULL-terminated array the caller frees with each string), or NULL. At most
 * once a second. */
char **scratch_sweep(fs *f);

/* --- notes.c (take fs->lock themselves) --- */
void note_error(fs *f, const char *path, const char *msg);
void note_clear(fs *f, const char *path);
/* note_text - the .error contents of directory dir into out */
void note_text(fs *f, const char *dir, struct strbuf *out);
/*
 * An entity renamed to a backup name moves through these states:
 * HIDDEN (renamed away: invisible, the row untouched) -> OPEN (created again:
 * a save in progress) -> SAVED (that save committed). An unlink in OPEN is
 * an editor undoing its failed save: the row stays and goes back to HIDDEN.
 * The record ends when the backup is removed or renamed back.
 */
enum { BACKUP_NONE, BACKUP_HIDDEN, BACKUP_OPEN, BACKUP_SAVED };
void hidden_add(fs *f, const char *entity, const char *backup);
int hidden_state(fs *f, const char *entity);
bool hidden_has(fs *f, const char *entity); /* state is BACKUP_HIDDEN */
/* hidden_names - the names of dir's hidden entities (NULL-terminated; the
 * caller frees each and the array), or NULL when there are none: a listing
 * leaves them out */
char **hidden_names(fs *f, const char *dir);
void hidden_set(fs *f, const char *entity, int state);
/* hidden_entity_of - the entity whose backup this is (caller frees), or NULL */
char *hidden_entity_of(fs *f, const char *backup);
void hidden_remove(fs *f, const char *entity);
void hidden_remove_backup(fs *f, const char *backup);
void hidden_move_backup(fs *f, const char *from, const char *to);
void newkey_set(fs *f, pid_t sid, const char *dir, const char *key);
/* newkey_get - the key last created through dir/new by session sid (caller frees), or NULL */
char *newkey_get(fs *f, pid_t sid, const char *dir);
void notes_free(fs *f);

/* --- request.c --- */
static inline fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fs_child - "parent/name" (caller frees) */
char *fs_child(const char *parent, const char *name);
/* fs_pid - the process behind a request: FUSE names the calling thread, and
 * a thread of a writer (node's libuv workers, a python thread) has an id
 * and a name of its own; the audit log, the rules and the owner of a
 * scratch file are the process's. */
pid_t fs_pid(fuse_req_t req);
/* fs_actor - who makes the request: pid, uid, process name, for op on path */
void fs_actor(fuse_req_t req, const char *op, const char *path, struct fs_actor *oa);
/* fs_actor_pid - the same for process pid (no request) */
void fs_actor_pid(pid_t pid, uid_t uid, const char *op, const char *path, struct fs_actor *oa);
/* fs_sid - the session of the requesting process */
pid_t fs_sid(fuse_req_t req);
bool fs_writable(fs *f, const struct node *n);
/* fs_readonly_err - -EROFS if n cannot be written, else 0 */
int fs_readonly_err(fs *f, const struct node *n);
/* fs_refusal - audit and log a refused change, note it in .error; fs_refuse
 * also answers req with err (negative) */
void fs_refusal(fuse_req_t req, fs *f, const char *path, const struct node *n, const char *op, int err,
		const char *why);
void fs_refuse(fuse_req_t req, fs *f, const char *path, const struct node *n, const char *op, int err,
	       const char *why);
/* How long the kernel may keep a name backed by rows (the watcher drops it
 * sooner when the row changes). */
#define FS_ENTRY_TIMEOUT 1.0
double fs_entry_timeout(fs *f, const char *path);
/* fs_permit - may the requesting tool (who, from fs_actor: its operation is
 * the change's) make this change to path, with payload: the document, patch,
 * link or rows? 0 when allowed; otherwise -EACCES with *cause (caller frees):
 * refused (audited as denied) or parked for approval (audited as pending);
 * .error and the log say which. */
int fs_permit(fs *f, const char *path, const struct node *n, const struct fs_actor *who, const cJSON *payload,
	      char **cause);
/* fs_reply_entry - answer a lookup/mkdir/symlink with path's inode and st */
void fs_reply_entry(fuse_req_t req, fs *f, const char *path, const struct stat *st);

/* --- cache.c (see its rationale; every function takes the cache's lock) --- */
/* What the daemon keeps of renderings, at most (ORCHFS_CACHE_MB overrides; 0: none). */
#define FS_CACHE_BYTES (8u << 20)
/* What all scratch files together may hold by default (each at most 4 saves'
 * worth; ORCHFS_SCRATCH_MB overrides): past it a write that grows one fails
 * with ENOSPC, so tools' temporary files cannot take the daemon's memory
 * without bound. */
#define FS_SCRATCH_BYTES (256u << 20)
/* How long vim's swap file stays after its vim is gone, in seconds: vim
 * removes it when it exits, so one left is a crash's, for `vim -r`. */
#define FS_SWAP_GRACE (24 * 3600)
/* fs_scratch_room - may scratch s grow to end bytes? (f->lock held) */
bool fs_scratch_room(fs *f, const struct scratch *s, size_t end);
/* What SQLite may keep for all connections together (page caches, statements). */
#define FS_SQLITE_BYTES (4 << 20)
enum { CACHE_MISS, CACHE_HIT, CACHE_TAIL };
struct cache *cache_new(size_t limit);
void cache_free(struct cache *c);
/* cache_get - CACHE_HIT with *size, *mtime and (if out) the bytes appended to
 * out when path's entry was rendered at version v; CACHE_TAIL when it was,
 * but rows appended since must be rendered first (cache_tail_*); else
 * CACHE_MISS (an entry of an older version is dropped, but for a stream's:
 * cache_stream). */
int cache_get(struct cache *c, const char *path, const struct store_version *v, struct strbuf *out,
	      size_t *size, struct timespec *mtime);
/* cache_put - keep path's rendering at version v: its size, mtime, last_id
 * (a log's newest row id) and data, taken over (data is left empty): kept if
 * cache_keeps its length, else held for the next OPEN of path to take over
 * (cache_get). data NULL: the size alone. */
void cache_put(struct cache *c, const char *path, const struct store_version *v, struct strbuf *data,
	       size_t size, const struct timespec *mtime, int64_t last_id);
/* cache_keeps - does a rendering of len bytes stay in the cache? */
bool cache_keeps(struct cache *c, size_t len);
/* cache_advance - the mount appended rows to the log at path, the version
 * going from before to after: if that was the only commit, the entry stays,
 * at after, with rows to render; otherwise it goes. */
void cache_advance(struct cache *c, const char *path, const struct store_version *before,
		   const struct store_version *after, int rows);
/* cache_tail_start - the log entry's last row id and the rows appended after it
 * (0), or -ENOENT; cache_tail_end - add their rendering add (if still the same
 * entry at v with those rows; otherwise the entry goes). */
int cache_tail_start(struct cache *c, const char *path, const struct store_version *v, int64_t *last_id,
		     int *rows);
void cache_tail_end(struct cache *c, const char *path, const struct store_version *v, int64_t from,
		    int rows, const struct strbuf *add, const struct timespec *mtime, int64_t last_id);
void cache_drop(struct cache *c, const char *path);
/* cache_lines_max - the bytes one stream's line map may take (stream.c). */
size_t cache_lines_max(const struct cache *c);
struct stream_state;
/* cache_stream_keep - path's entry at version v (if any) is a stream's that
 * s follows (stream.c): it stays past v, for cache_stream_take, with s
 * (whose linemap it takes, when that fits: s->lines is left NULL). */
void cache_stream_keep(struct cache *c, const char *path, const struct store_version *v, struct stream_state *s);
/* cache_stream_take - 0 and the state of path's stream entry, of any
 * version of the file gen, into s, its linemap taken over (the caller
 * frees it, or gives it back with cache_stream_keep); or -ENOENT. */
int cache_stream_take(struct cache *c, const char *path, unsigned gen, struct stream_state *s);
/* cache_stream_peek - 0 and a copy of path's append-only stream state at
 * exactly version v (with its size and mtime, a reference to its index, no
 * pending anchors), or -ENOENT. */
int cache_stream_peek(struct cache *c, const char *path, const struct store_version *v, struct stream_state *s);

/* --- stream.c --- */
enum { STREAM_NONE, STREAM_APPEND, STREAM_KEYED };
struct linemap;
struct stream_index;
struct stream_reader;
/* Where the line of row id starts in an append-only stream. */
struct stream_anchor {
	int64_t id;
	size_t off;
};
/* What a stream's cache entry keeps to work out its size at the next state
 * of the database from the rows that changed (stream.c). */
struct stream_state {
	int kind;              /* STREAM_APPEND: the audit log, the feed; STREAM_KEYED: a collection */
	size_t size;           /* size and mtime: the entry's, given by cache_stream_take */
	struct timespec mtime;
	int64_t mark;          /* the rewrite count its changes are read by (store_rewrites) */
	int64_t last;          /* APPEND: the last row's id (INT64_MIN: none); KEYED: the feed's last seq */
	size_t last_len;       /* APPEND: the length of that row's line */
	struct linemap *lines; /* KEYED: the length of each row's line, by key */
	size_t cap;            /* KEYED: the bytes lines may take */
	const char *id;        /* the rows' field holding the id (APPEND) or the key (KEYED) */
	struct stream_index *index; /* APPEND: where rows start (a reference; readers share it) */
	size_t off;            /* APPEND: where the next row's line starts, while rows are given */
	struct stream_anchor top;   /* APPEND: the newest anchor, in index or pend */
	struct stream_anchor *pend; /* APPEND: anchors found, for index once the state is accepted */
	size_t npend;
};
/* stream_id_field - the rows' field holding the id (the audit log, the
 * feed: "seq", a log: its id column) or the key (a collection) of stream n. */
const char *stream_id_field(const struct node *n);
/* stream_rows_after - the rows of the audit log, the feed or a log n after
 * id after (INT64_MIN: all), oldest first. */
int stream_rows_after(const struct node *n, int64_t after, store_row_fn fn, void *arg);
/* stream_begin - before a stream is rendered whole: s, to give stream_row
 * each row; 0, or -ENOENT if n is not a stream followed this way. */
int stream_begin(fs *f, const struct node *n, struct stream_state *s);
/* stream_row - a row of the stream, its line len bytes long. */
void stream_row(struct stream_state *s, const cJSON *row, size_t len);
/* stream_release - free what s holds. */
void stream_release(struct stream_state *s);
/* stream_advance - the size of the stream n at version v, from its cache
 * entry of an earlier state and the rows changed since: 0 with *size and
 * *mtime (the entry moves to v), or -ESTALE (render it whole). */
int stream_advance(fs *f, const char *path, const struct node *n, const struct store_version *v, size_t *size,
		   struct timespec *mtime);
/* stream_settle - s is accepted (cache_stream_keep): the anchors it found go into its index. */
void stream_settle(struct stream_state *s);
void stream_index_ref(struct stream_index *ix);
void linemap_free(struct linemap *m);
size_t linemap_bytes(const struct linemap *m);
/* The least a reader of an append-only stream renders at once. */
#define STREAM_WINDOW (256u << 10)
/* stream_reader_open - a reader of the audit log or the feed at its state
 * of now that renders only the rows it reads (stream_reader_read): 0 with
 * *r, its size and mtime; -ENOENT if n is not followed that way (render it
 * whole). */
int stream_reader_open(fs *f, const char *path, const struct node *n, struct stream_reader **r, size_t *size,
		       struct timespec *mtime);
/* stream_reader_read - the bytes of r from off on, at least want of them
 * (fewer at the end), into win (emptied first): 0, or -ESTALE when a row
 * before r's end changed since it opened (the snapshot cannot be read:
 * logged once, and every read after fails too). */
int stream_reader_read(const char *path, const struct node *n, struct stream_reader *r, struct strbuf *win,
		       size_t off, size_t want);
/* stream_reader_window - where the bytes in the reader's window (the last
 * stream_reader_read's win) start. */
size_t stream_reader_window(const struct stream_reader *r);
/* stream_reader_size - the bytes r shows */
size_t stream_reader_size(const struct stream_reader *r);
/* stream_reader_refresh - r takes in the rows appended since (tail -f),
 * from its own state (one query for them, whatever the cache holds), if
 * none before its end changed (else it goes stale); 1 if it grew. */
int stream_reader_refresh(const char *path, const struct node *n, struct stream_reader *r);
void stream_reader_free(struct stream_reader *r);

/* --- view.c --- */
bool view_has_secret(const struct map_collection *c);
/* view_content - the bytes a read of n returns, into out; *mtime from the row */
int view_content(fs *f, const char *path, const struct node *n, pid_t sid, struct strbuf *out,
		 struct timespec *mtime);
/* view_render - like view_content (bytes into out, if not NULL: empty), and *size,
 * through the cache: what the database holds as of now, rendered at most
 * once per change of the database. With spill, a rendering longer than
 * fs->spill_bytes goes to a temporary file instead, *spill its descriptor
 * (the caller closes it; else -1, the bytes in out); without out, bytes past
 * that are only counted: memory never follows a stream's length. */
int view_render(fs *f, const char *path, const struct node *n, pid_t sid, struct strbuf *out, int *spill,
		size_t *size, struct timespec *mtime);
/* view_spill_add - add's bytes after what a reader holds (data, or the
 * temporary file spill of spill_len bytes), which moves to a new temporary
 * file when it grows past fs->spill_bytes: 0, or -errno (nothing added). */
int view_spill_add(fs *f, struct strbuf *data, int *spill, size_t *spill_len, const struct strbuf *add);
/* view_prefix - are the first alen bytes of (a, afd) those of (b, bfd)? A
 * descriptor >= 0 is read instead of its strbuf. 0, 1, or -errno. */
int view_prefix(const struct strbuf *a, int afd, size_t alen, const struct strbuf *b, int bfd, size_t blen);
void view_scratch_stat(const struct scratch *s, struct stat *st);
/* view_pending - an open writer of path not yet committed (call with fs->lock held) */
struct handle *view_pending(fs *f, const char *path);
/* view_attr - the attributes of n whose content is size bytes, changed at mtime
 * (no database access: for open handles, which hold their content) */
void view_attr(fs *f, const struct node *n, size_t size, const struct timespec *mtime, struct stat *st);
/* view_stat - attributes of path as req's process sees it; -ENOENT if nothing is there */
int view_stat(fs *f, fuse_req_t req, const char *path, struct stat *st);

/* --- ops.c --- */
void ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* --- write.c --- */
struct handle *handle_new(fs *f, const char *path, const struct node *n, bool writable, pid_t sid);
void handle_free(fs *f, struct handle *h);
struct handle *handle_of(struct fuse_file_info *fi);
/* handle_size - the length of what a handle holds (in data or its spill file) */
size_t handle_size(const struct handle *h);
/* handle_refresh - a reader of a log, the feed or the audit log, reading at
 * off (-1: not reading), takes in rows appended since (h->lock held). A log
 * whose rows were rewritten or removed since (another writer, `orchfs logs
 * prune`) is read again whole by a reader at its start (tail -f after "file
 * truncated"); one at its end (tail -f) reads on with the rows added after
 * its last; one in its middle is told ESTALE at its reads (h->rewritten)
 * rather than given the rows it opened at as if they still were. */
void handle_refresh(fs *f, struct handle *h, off_t off);
/* write_apply_scratch - commit scratch s (at from) onto the entity at path */
int write_apply_scratch(fuse_req_t req, fs *f, struct scratch *s, const char *from, const char *path,
			const struct node *n);
void write_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi);
void write_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void write_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi);
void write_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void write_data(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		struct fuse_file_info *fi);
void write_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void write_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void write_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* --- dir.c --- */
void dir_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void dir_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void dir_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void dir_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void dir_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
		unsigned int flags);
void dir_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dir_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void dir_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* dir_free_all - free the directory handles the kernel never released (fs_free) */
void dir_free_all(fs *f);

#endif
