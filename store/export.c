/*
 * export.c - the whole state as JSON Lines, and back (`orchfs export`,
 * `orchfs import`).
 *
 * An export is lossless at the level of SQL values: one header line, then
 * every row of every table of the database (its own bookkeeping too: the
 * audit log, the change feed, approvals, key counters), tables in name
 * order, rows in column order, each as {"db", "table", "row": {column:
 * value}}. Integers and reals are printed exactly, text as JSON strings,
 * blobs as {"$hex": "..."}; secret columns are masked unless asked for.
 * What is derived is left out and rebuilt on import: SQLite's own tables,
 * the migration version table (the target is migrated to the same version),
 * the rewrite counts of 0008_rewrites and full-text indexes (their triggers
 * keep both). So export, import
 * into an empty database, export again gives the same bytes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

/* Is column col of table secret in the mapping? */
static bool export_secret(const store *st, const char *table, const char *col)
{
	for (size_t i = 0; i < st->db->ncollections; i++) {
		const struct map_collection *c = &st->db->collections[i];
		if (strcmp(c->table, table) != 0)
			continue;
		for (size_t j = 0; j < c->ncolumns; j++)
			if (c->columns[j].secret && strcmp(c->columns[j].column, col) == 0)
				return true;
	}
	return false;
}

static void export_string(struct strbuf *sb, const char *s)
{
	cJSON *str = cJSON_CreateString(s);
	char *text = cJSON_PrintUnformatted(str);

	strbuf_addstr(sb, text);
	cJSON_free(text);
	cJSON_Delete(str);
}

/* The tables an export holds, in name order. */
static const char export_tables[] =
	"SELECT s.name FROM sqlite_schema s WHERE s.type = 'table' AND s.name NOT LIKE 'sqlite_%'"
	" AND s.name NOT IN ('_orchfs_migrations', '_orchfs_rewrites') AND s.sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
	" AND NOT EXISTS (SELECT 1 FROM sqlite_schema v WHERE v.type = 'table'"
	"   AND v.sql LIKE 'CREATE VIRTUAL TABLE%' AND s.name LIKE v.name || '\\_%' ESCAPE '\\')"
	" ORDER BY s.name";
static const char export_tables_pg[] =
	"SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> '_orchfs_migrations'"
	" ORDER BY tablename";

static const char *export_tables_of(struct conn *cn)
{
	return cn->pg ? export_tables_pg : export_tables;
}

int store_export(store *st, bool secrets, store_line_fn fn, void *arg, char **cause)
{
	struct strbuf sb = STRBUF_INIT, sql = STRBUF_INIT;
	dbstmt *tables = NULL, *rows = NULL;
	struct conn *cn;
	bool own; /* the transaction is the export's own (else an import's) */
	int rc;

	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	own = !conn_in_transaction(cn);
	if (own && (rc = conn_begin(cn, false)) != SQLITE_OK) /* one snapshot of everything */
		return store_sqlerr(cn, rc, cause);
	if ((rc = db_prepare(cn, export_tables_of(cn), &tables)) != SQLITE_OK) {
		rc = store_sqlerr(cn, rc, cause);
		goto out;
	}
	while ((rc = db_step(tables)) == SQLITE_ROW) {
		const char *table = (const char *)db_column_text(tables, 0);
		int ncol;
		strbuf_release(&sql);
		strbuf_addstr(&sql, "SELECT * FROM ");
		sql_quote(&sql, table);
		if ((rc = db_prepare(cn, sql.buf, &rows)) != SQLITE_OK)
			break;
		ncol = db_column_count(rows);
		db_finalize(rows);
		strbuf_addstr(&sql, " ORDER BY ");
		for (int i = 1; i <= ncol; i++)
			strbuf_addf(&sql, "%s%d", i > 1 ? ", " : "", i);
		if ((rc = db_prepare(cn, sql.buf, &rows)) != SQLITE_OK)
			break;
		while ((rc = db_step(rows)) == SQLITE_ROW) {
			strbuf_release(&sb);
			strbuf_addstr(&sb, "{\"db\":");
			export_string(&sb, st->db->name);
			strbuf_addstr(&sb, ",\"table\":");
			export_string(&sb, table);
			strbuf_addstr(&sb, ",\"row\":{");
			for (int i = 0; i < ncol; i++) {
				const char *col = db_column_name(rows, i);
				strbuf_addstr(&sb, i ? "," : "");
				export_string(&sb, col);
				strbuf_addch(&sb, ':');
				switch (db_column_type(rows, i)) {
				case SQLITE_NULL:
					strbuf_addstr(&sb, "null");
					break;
				case SQLITE_INTEGER:
					strbuf_addf(&sb, "%lld", (long long)db_column_int64(rows, i));
					break;
				case SQLITE_FLOAT:
					strbuf_addf(&sb, "%.17g", db_column_double(rows, i));
					break;
				case SQLITE_BLOB: {
					const unsigned char *b = db_column_blob(rows, i);
					strbuf_addstr(&sb, "{\"$hex\":\"");
					for (int k = 0; k < db_column_bytes(rows, i); k++)
						strbuf_addf(&sb, "%02x", b[k]);
					strbuf_addstr(&sb, "\"}");
					break;
				}
				default: {
					const char *text = (const char *)db_column_text(rows, i);
					if (!secrets && export_secret(st, table, col)) {
						char *m = value_mask(text);
						export_string(&sb, m);
						free(m);
					} else {
						export_string(&sb, text);
					}
				}
				}
			}
			strbuf_addstr(&sb, "}}\n");
			if ((rc = fn(arg, sb.buf, sb.len)))
				goto out;
		}
		db_finalize(rows);
		rows = NULL;
		if (rc != SQLITE_DONE)
			break;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sqlerr(cn, rc, cause);
out:
	db_finalize(rows);
	db_finalize(tables);
	if (own)
		conn_rollback(cn);
	strbuf_release(&sb);
	strbuf_release(&sql);
	return rc;
}

int store_import_begin(store *st, char **cause)
{
	struct conn *cn;
	dbstmt *s = NULL;
	int rc;

	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	/* Only into a new database: an import is a copy, not a merge. New means
	 * never changed: every change leaves a row in the feed (the triggers see
	 * every writer) or the audit. What its migrations put there (the default
	 * zones, the constitution) goes; the export holds the rows to keep. */
	if ((rc = db_prepare(cn, export_tables_of(cn), &s)) != SQLITE_OK)
		return store_sqlerr(cn, rc, cause);
	while (db_step(s) == SQLITE_ROW) {
		const char *table = (const char *)db_column_text(s, 0);
		struct strbuf sql = STRBUF_INIT;
		dbstmt *c = NULL;
		bool empty;
		if ((!st->db->changes || strcmp(table, st->db->changes) != 0) &&
		    (!st->db->audit || strcmp(table, st->db->audit) != 0))
			continue;
		strbuf_addstr(&sql, "SELECT 1 FROM ");
		sql_quote(&sql, table);
		strbuf_addstr(&sql, " LIMIT 1");
		empty = db_prepare(cn, sql.buf, &c) == SQLITE_OK && db_step(c) == SQLITE_DONE;
		db_finalize(c);
		strbuf_release(&sql);
		if (!empty) {
			rc = store_cause(cause, -EEXIST, "%s: has changes (table %s is not empty); import needs a new database",
					 st->path, table);
			db_finalize(s);
			return rc;
		}
	}
	db_reset(s);
	/* foreign keys checked at the commit: rows come in table name order */
	if (cn->pg)
		rc = (rc = conn_begin(cn, true)) != SQLITE_OK ? rc : conn_exec(cn, "SET CONSTRAINTS ALL DEFERRED");
	else if ((rc = conn_exec(cn, "PRAGMA defer_foreign_keys = ON")) == SQLITE_OK &&
		 (rc = conn_begin(cn, true)) == SQLITE_OK)
		rc = conn_exec(cn, "PRAGMA defer_foreign_keys = ON");
	if (rc != SQLITE_OK) {
		db_finalize(s);
		return store_sqlerr(cn, rc, cause);
	}
	while (db_step(s) == SQLITE_ROW) {
		struct strbuf sql = STRBUF_INIT;
		strbuf_addstr(&sql, "DELETE FROM ");
		sql_quote(&sql, (const char *)db_column_text(s, 0));
		rc = conn_exec(cn, sql.buf);
		strbuf_release(&sql);
		if (rc != SQLITE_OK) {
			db_finalize(s);
			rc = store_sqlerr(cn, rc, cause);
			conn_rollback(cn);
			return rc;
		}
	}
	db_finalize(s);
	return 0;
}

/* Let the cached INSERT of the rows imported last go. */
static void import_forget(store *st)
{
	db_finalize(st->import_stmt);
	free(st->import_sql);
	st->import_stmt = NULL;
	st->import_sql = NULL;
}

/*
 * A time for parameter i of s, a column PostgreSQL keeps as a time
 * (timestamptz): orchfs reads a time in a text column of SQLite's only in
 * the forms of docs/format.md, and shows any other text as it is. The server
 * reads more ("yesterday", "20260101T0000", "2026-01-01T00:00+05") and
 * keeps what it read, not the text: such a value would read otherwise in
 * the copy, and is refused, naming the row. A time orchfs reads goes in the
 * form the server keeps exactly: to the microsecond, digits past it dropped
 * (the server would round them, and a read could show another millisecond),
 * and a year before 1 as BC.
 */
static int import_time(dbstmt *s, int i, const char *table, const cJSON *row, const cJSON *v, char **cause)
{
	const cJSON *first = row->child;
	char buf[48], *what;
	int64_t us;
	int rc;

	if (cJSON_IsString(v) && time_parse_iso_us(v->valuestring, &us) == 0) {
		time_format_pg(us, buf, sizeof(buf));
		return db_bind_text(s, i, buf, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -ENOMEM;
	}
	what = cJSON_PrintUnformatted(v);
	if (cJSON_IsString(first))
		snprintf(buf, sizeof(buf), "%.40s", first->valuestring);
	else
		json_number(cJSON_GetNumberValue(first), buf, sizeof(buf));
	rc = store_cause(cause, -EINVAL,
			 "%s.%s of the row with %s %s: %.80s is not a time orchfs reads (ISO 8601, as "
			 "2026-01-31T12:00:00.000Z), and PostgreSQL would keep another value for it; set it to one, "
			 "or to null, first",
			 table, v->string, first->string, buf, what ? what : "the value");
	cJSON_free(what);
	return rc;
}

int store_import_row(store *st, const char *table, const cJSON *row, char **cause)
{
	struct strbuf sql = STRBUF_INIT, vals = STRBUF_INIT;
	dbstmt *s = NULL;
	const cJSON *v;
	struct conn *cn;
	int rc, i = 0;

	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	if (!cJSON_IsObject(row))
		return store_cause(cause, -EINVAL, "row: expected an object");
	strbuf_addstr(&sql, "INSERT INTO ");
	sql_quote(&sql, table);
	strbuf_addstr(&sql, " (");
	strbuf_init(&vals, 64);
	cJSON_ArrayForEach(v, row) {
		strbuf_addstr(&sql, i ? ", " : "");
		sql_quote(&sql, v->string);
		strbuf_addf(&vals, "%s?%d", i ? ", " : "", i + 1);
		i++;
	}
	strbuf_addf(&sql, ") VALUES (%s)", vals.buf);
	/* rows of a table come together: one statement for them (a server's
	 * round trips to prepare each would cost more than the insert) */
	if (st->import_sql && strcmp(st->import_sql, sql.buf) == 0) {
		s = st->import_stmt;
		db_reset(s);
	} else {
		import_forget(st);
		if ((rc = db_prepare(cn, sql.buf, &s)) != SQLITE_OK) {
			rc = store_sqlerr(cn, rc, cause);
			goto out;
		}
		st->import_sql = strbuf_detach(&sql, NULL);
		st->import_stmt = s;
	}
	i = 0;
	cJSON_ArrayForEach(v, row) {
		const cJSON *hex;
		i++;
		if (!cJSON_IsNull(v) && db_param_time(s, i)) {
			if ((rc = import_time(s, i, table, row, v, cause)))
				goto out;
		} else if (cJSON_IsNumber(v)) {
			if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9.2e18)
				db_bind_int64(s, i, (int64_t)v->valuedouble);
			else
				db_bind_double(s, i, v->valuedouble);
		} else if (cJSON_IsString(v)) {
			db_bind_text(s, i, v->valuestring, -1, SQLITE_STATIC);
		} else if (cJSON_IsObject(v) && (hex = cJSON_GetObjectItemCaseSensitive(v, "$hex")) &&
			   cJSON_IsString(hex)) {
			size_t n = strlen(hex->valuestring) / 2;
			unsigned char *b = xmalloc(n + 1);
			for (size_t k = 0; k < n; k++)
				sscanf(hex->valuestring + 2 * k, "%2hhx", &b[k]);
			db_bind_blob_free(s, i, b, (int)n);
		} else if (cJSON_IsNull(v)) {
			db_bind_null(s, i); /* the statement is reused: no value left from the last row */
		} else {
			rc = store_cause(cause, -EINVAL, "%s.%s: not a SQL value", table, v->string);
			goto out;
		}
	}
	rc = db_step(s);
	rc = rc == SQLITE_DONE ? 0 : store_sqlerr(cn, rc, cause);
	db_reset(s);
out:
	strbuf_release(&sql);
	strbuf_release(&vals);
	return rc;
}

/*
 * PostgreSQL: rows imported with their ids leave the identity columns'
 * sequences where they were; move each past the largest id, so the next
 * row made gets a new one (SQLite takes max(rowid) + 1 by itself).
 */
static int import_sequences(struct conn *cn)
{
	static const char sql[] =
		"SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
		" JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE n.nspname = current_schema() AND a.attidentity IN ('a', 'd') ORDER BY 1";
	struct strbuf q = STRBUF_INIT;
	dbstmt *s = NULL;
	int rc;

	if ((rc = db_prepare(cn, sql, &s)) != SQLITE_OK)
		return rc;
	while ((rc = db_step(s)) == SQLITE_ROW) {
		const char *table = (const char *)db_column_text(s, 0), *col = (const char *)db_column_text(s, 1);
		struct strbuf name = STRBUF_INIT;
		dbstmt *set = NULL;
		strbuf_release(&q);
		strbuf_addstr(&q, "SELECT setval(pg_get_serial_sequence(?1, ?2), (SELECT coalesce(max(");
		sql_quote(&q, col);
		strbuf_addstr(&q, "), 0) + 1 FROM ");
		sql_quote(&q, table);
		strbuf_addstr(&q, "), false)");
		sql_quote(&name, table);
		if ((rc = db_prepare(cn, q.buf, &set)) == SQLITE_OK) {
			db_bind_text(set, 1, name.buf, -1, SQLITE_STATIC);
			db_bind_text(set, 2, col, -1, SQLITE_STATIC);
			rc = db_step(set) == SQLITE_ROW ? SQLITE_OK : conn_errcode(cn);
		}
		db_finalize(set);
		strbuf_release(&name);
		if (rc != SQLITE_OK)
			break;
	}
	db_finalize(s);
	strbuf_release(&q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_import_end(store *st, bool commit, char **cause)
{
	struct conn *cn;
	int rc;

	import_forget(st);
	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	if (!commit) {
		conn_rollback(cn);
		return 0;
	}
	if (cn->pg && (rc = import_sequences(cn)) != SQLITE_OK) {
		rc = store_sqlerr(cn, rc, cause);
		conn_rollback(cn);
		return rc;
	}
	if ((rc = conn_commit(cn)) != SQLITE_OK)
		return store_cause(cause, store_errno(rc) ? store_errno(rc) : -EIO, "%s: the import is refused: %s",
				   st->path, conn_errmsg(cn));
	return 0;
}

int store_import_clear_feed(store *st, char **cause)
{
	struct strbuf sql = STRBUF_INIT;
	struct conn *cn;
	int rc;

	if (!st->db->changes)
		return 0;
	if ((rc = conn_get(st, &cn)))
		return store_conn_cause(st, rc, cause);
	/* The rows just inserted fired the feed's triggers: the feed to keep is the exported one. */
	strbuf_addstr(&sql, "DELETE FROM ");
	if (st->db->sidecar)
		strbuf_addstr(&sql, "\"" SQL_SIDECAR "\".");
	sql_quote(&sql, st->db->changes);
	rc = conn_exec(cn, sql.buf);
	strbuf_release(&sql);
	return rc == SQLITE_OK ? 0 : store_sqlerr(cn, rc, cause);
}
