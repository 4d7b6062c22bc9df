/*
 * version.c - what a cache above the store needs to stay exact: a version
 * of the database file that changes with every commit of any connection in
 * any process, the rows of a log after a given id, and a bound on the
 * memory SQLite keeps.
 *
 * The version is the WAL index header (https://www.sqlite.org/walformat.html,
 * "the WAL-index header"): every commit rewrites it and increments its
 * iChange counter; every reader of every process reads it to find the
 * newest commit. SQLite offers no API for it (PRAGMA data_version is per
 * connection and blind to the connection's own commits, so its values
 * cannot be compared across our threads), so it is read here the way
 * SQLite's readers read it: the VFS's own shared-memory mapping of the
 * file (xShmMap of a connection the store keeps open for this, which also
 * keeps the mapping alive), the two copies of the header read one after
 * the other with a memory barrier in between, and accepted only when they
 * are equal. A database that is not in WAL mode has no such header: its
 * store reports -ENOTSUP and callers cache nothing.
 *
 * Two equal versions are the same database content. A version whose
 * counter is one more than another's is the state one commit later; a
 * caller that reads the version just before and just after its own commit
 * and finds them one apart knows that no other writer committed in
 * between. (A WAL index rebuilt from the WAL file after a writer crashed
 * restarts the counter at 0; the rebuilt header differs in its other
 * fields, so only "one apart" could be fooled, by a crash and exactly the
 * right number of commits inside one save's few microseconds.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

/* The first copy of the header: 12 words; the second follows it. */
#define VERSION_WORDS 12
#define VERSION_ICHANGE 2 /* u32 iVersion, u32 unused, u32 iChange, ... */
#define VERSION_ISINIT 12 /* byte offset of u8 isInit */
#define WALINDEX_REGION 32768

static int version_open(store *st)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
	sqlite3_file *file = NULL;
	void volatile *region = NULL;
	sqlite3_stmt *s = NULL;
	bool wal = false;

	flags |= (st->flags & STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (sqlite3_open_v2(st->path, &st->vdb, flags, NULL) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(st->vdb, 1000);
	if (sqlite3_prepare_v2(st->vdb, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		wal = sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	/* a read opens the WAL index (and maps its first region) */
	if (!wal || sqlite3_exec(st->vdb, "SELECT 1 FROM sqlite_schema LIMIT 1", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_file_control(st->vdb, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
	    !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap)
		return -1;
	if (file->pMethods->xShmMap(file, 0, WALINDEX_REGION, 0, &region) != SQLITE_OK || !region)
		return -1;
	st->vhdr = (const volatile uint32_t *)region;
	return 1;
}

int store_version(store *st, struct store_version *v)
{
	unsigned gen = __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE);
	int state = __atomic_load_n(&st->vstate, __ATOMIC_ACQUIRE);

	if (st->pg)
		return -ENOTSUP; /* no shared memory to read: cache nothing */
	db_glance(st, pthread_getspecific(st->key)); /* a read served from a cache is one of a file still at the path */
	gen = __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE);
	if (state == 0 || __atomic_load_n(&st->vgen, __ATOMIC_ACQUIRE) != gen) {
		/* first use, or the file at the path was replaced (db.c): map the
		 * WAL index of the file served now */
		pthread_mutex_lock(&st->lock);
		if ((state = st->vstate) == 0 || st->vgen != gen) {
			/* the old mapping stays until store_free: a reader may be in it */
			if (st->vdb) {
				struct version_retired *r = xmalloc(sizeof(*r));
				r->db = st->vdb;
				r->next = st->vretired;
				st->vretired = r;
				st->vdb = NULL;
			}
			state = version_open(st);
			__atomic_store_n(&st->vgen, gen, __ATOMIC_RELEASE);
			__atomic_store_n(&st->vstate, state, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&st->lock);
	}
	if (state < 0)
		return -ENOTSUP;
	v->gen = gen;
	for (int tries = 0; tries < 100; tries++) {
		uint32_t second[VERSION_WORDS];
		bool same = true;
		for (int i = 0; i < VERSION_WORDS; i++)
			v->w[i] = st->vhdr[i];
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		for (int i = 0; i < VERSION_WORDS; i++)
			second[i] = st->vhdr[VERSION_WORDS + i];
		for (int i = 0; i < VERSION_WORDS && same; i++)
			same = v->w[i] == second[i];
		/* unequal copies: a commit is writing the header right now */
		if (same && ((const uint8_t *)v->w)[VERSION_ISINIT] == 1)
			return 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return -EAGAIN;
}

bool store_version_same(const struct store_version *a, const struct store_version *b)
{
	return a->gen == b->gen && memcmp(a->w, b->w, sizeof(a->w)) == 0;
}

bool store_version_next(const struct store_version *a, const struct store_version *b)
{
	return a->gen == b->gen && b->w[VERSION_ICHANGE] == a->w[VERSION_ICHANGE] + 1;
}

void version_release(store *st)
{
	if (st->vdb)
		sqlite3_close_v2(st->vdb);
	st->vdb = NULL;
	st->vhdr = NULL;
	while (st->vretired) {
		struct version_retired *r = st->vretired;
		st->vretired = r->next;
		sqlite3_close_v2(r->db);
		free(r);
	}
}

int store_log_rows_after(store *st, const struct map_collection *c, const struct map_log *l, const char *key,
			 int64_t after, store_row_fn fn, void *arg, int64_t *last)
{
	struct conn *cn;
	dbstmt *s;
	int n = (int)l->ncolumns, rc;

	if ((rc = conn_get(st, &cn)))
		return rc;
	if (!(s = conn_stmt(cn, st->sql[c->index].log_after[l - c->logs])))
		return store_errno(conn_errcode(cn));
	db_stream(s);
	db_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	db_bind_int64(s, 2, after);
	while ((rc = db_step(s)) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject();
		for (int i = 0; i < n; i++)
			cJSON_AddItemToObject(row, l->columns[i].name,
					      value_read(&l->columns[i], s, i, false));
		if (last)
			*last = db_column_int64(s, n);
		rc = fn(arg, row);
		cJSON_Delete(row);
		if (rc) {
			db_reset(s);
			return rc;
		}
	}
	db_reset(s);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

void store_memory_limit(int64_t bytes)
{
	sqlite3_soft_heap_limit64(bytes);
}
