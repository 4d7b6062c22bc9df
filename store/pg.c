/*
 * pg.c - the PostgreSQL driver: libpq behind SQLite's statement API
 * (driver.h).
 *
 * Every statement is prepared on the server under a name of its own and
 * runs with its parameters sent as text (bytea as binary), so values never
 * reach SQL as text here either. A statement prepared before the
 * connection was lost and made again (pg_reset) is prepared again at its
 * next step: callers keep their cached statements across a server restart.
 *
 * What comes back is made to look as SQLite would give it, so the rest of
 * store/ has one vocabulary: SQLSTATEs become SQLite result codes (a lost
 * server DB_UNREACHABLE, a lock or serialization failure SQLITE_BUSY, a
 * constraint its SQLITE_CONSTRAINT_*), constraint messages take SQLite's
 * wording (entity.c reads the column names out of them), and values their
 * SQLite form (timestamptz "2026-11-24T10:26:11.123Z", booleans 0 and 1,
 * bytea as bytes).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "store/driver.h"
#include "store/util.h"

/* Type OIDs (server/catalog/pg_type.h, stable across versions). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_NUMERIC 1700

struct pgconn {
	PGconn *conn;
	char *url;
	int timeout_ms;
	bool readonly;   /* every transaction read-only */
	unsigned nstmt;  /* statements are named s1, s2, ... */
	unsigned epoch;  /* bumped by pg_reset: what was prepared before is gone */
	bool closing;    /* pg_close: statements need no DEALLOCATE */
	bool txn;        /* a transaction was begun and not yet ended: true even if the server went away */
	char **dead;     /* statements finalized inside a failed transaction, deallocated after it */
	size_t ndead;
	int err;         /* the last result code */
	char *msg;       /* and its text */
	int64_t changes; /* rows the last statement changed */
	struct pgstmt *streaming; /* a statement whose rows are still coming (single-row mode), or NULL */
	char server[256];
};

struct pgstmt {
	struct pgconn *c;
	char name[16];
	char *sql;       /* with $N parameters */
	unsigned *types; /* of the parameters: 0 (the server infers it), or text where unused */
	unsigned epoch;  /* when it was prepared */
	bool reads;      /* a SELECT: safe to run again on a new connection */
	int nparams;
	char **values;
	int *lengths, *formats;
	PGresult *res;   /* the result of the running step (in streaming: its current row), or NULL */
	bool stream;     /* pgstmt_stream: rows come one at a time */
	bool started;    /* streaming: sent, rows still coming */
	PGresult *desc;  /* the statement's description (columns before a step), or NULL */
	int row, nrows;
	char **conv;     /* per column: the current row's value made SQLite's, or NULL */
	int *convlen;
};

/* A daemon stopped (SIGSTOP, a debugger) or hung inside a transaction would
 * hold the write lock of every host: the server ends such a session after a
 * minute idle in it (orchfs's own transactions never wait on anything but
 * the server), and the lock goes with it. */
static const char *pg_session =
	"SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601';"
	" SET client_min_messages = 'warning'; SET standard_conforming_strings = on;"
	" SET client_encoding = 'UTF8'; SET extra_float_digits = 3; SET bytea_output = 'hex';"
	" SET idle_in_transaction_session_timeout = 60000;";

static void pg_set(struct pgconn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pg_set(struct pgconn *c, int err, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(c->msg);
	c->msg = s;
	c->err = err;
}

/* libpq's messages end in a newline and may run over lines: one line. */
static char *pg_line(const char *msg)
{
	char *s = xstrdup(msg ? msg : "unknown error"), *p;

	for (p = s; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	while (p > s && p[-1] == ' ')
		*--p = '\0';
	return s;
}

static void pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void pg_name_server(struct pgconn *c)
{
	const char *host = PQhost(c->conn), *port = PQport(c->conn), *db = PQdb(c->conn);

	snprintf(c->server, sizeof(c->server), "%s:%s/%s", host && *host ? host : "localhost", port ? port : "",
		 db ? db : "");
}

/* Open (or open again) c->conn on c->url and set the session up. */
static int pg_open(struct pgconn *c)
{
	char timeout[16];
	/* TCP keepalives: a peer gone without a word (a host powered off) is
	 * noticed in about a minute; the URL's own settings come after and win */
	const char *keys[] = { "connect_timeout", "application_name", "keepalives", "keepalives_idle",
			       "keepalives_interval", "keepalives_count", "dbname", NULL };
	const char *vals[] = { timeout, "orchfs", "1", "30", "10", "3", c->url, NULL };
	PQconninfoOption *opts;
	PGresult *r;

	snprintf(timeout, sizeof(timeout), "%d", c->timeout_ms / 1000 > 0 ? c->timeout_ms / 1000 : 1);
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
	c->epoch++; /* whatever was prepared is gone with the old session */
	if ((opts = PQconninfoParse(c->url, NULL)) == NULL) {
		/* libpq's message would quote the URL, password and all */
		pg_set(c, DB_UNREACHABLE, "cannot parse the PostgreSQL URL (is it percent-encoded?)");
		return DB_UNREACHABLE;
	}
	PQconninfoFree(opts);
	c->conn = PQconnectdbParams(keys, vals, 1);
	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
		char *why = pg_line(c->conn ? PQerrorMessage(c->conn) : "out of memory");
		pg_set(c, DB_UNREACHABLE, "cannot reach the PostgreSQL server: %s", why);
		free(why);
		return DB_UNREACHABLE;
	}
	PQsetNoticeProcessor(c->conn, pg_quiet, NULL);
	pg_name_server(c);
	char lock[64];
	snprintf(lock, sizeof(lock), "SET lock_timeout = %d", c->timeout_ms > 0 ? c->timeout_ms : 0);
	const char *setup[] = { pg_session, lock, c->readonly ? "SET default_transaction_read_only = on" : "" };
	for (size_t i = 0; i < sizeof(setup) / sizeof(*setup); i++) {
		r = PQexec(c->conn, setup[i]);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_EMPTY_QUERY) {
			/* a session not in UTC would give wrong instants: none at all */
			char *why = pg_line(PQerrorMessage(c->conn));
			pg_set(c, DB_UNREACHABLE, "cannot set up a session on %s: %s", c->server, why);
			free(why);
			PQclear(r);
			PQfinish(c->conn);
			c->conn = NULL;
			return DB_UNREACHABLE;
		}
		PQclear(r);
	}
	return SQLITE_OK;
}

/* Append to sb the lexemes of word[0..n): letters and digits (and every
 * byte of a UTF-8 character), the rest splitting it into a phrase, as
 * FTS5's tokenizer does; prefix: the last one is a prefix. 0 if none. */
static int pg_ts_word(struct strbuf *sb, const char *w, size_t n, bool prefix)
{
	int terms = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && ((unsigned char)w[j] >= 0x80 || (w[j] >= '0' && w[j] <= '9') ||
				 ((w[j] | 0x20) >= 'a' && (w[j] | 0x20) <= 'z') || w[j] == '_'))
			j++;
		if (j > i) {
			strbuf_addf(sb, "%s'%.*s'", terms++ ? " <-> " : "", (int)(j - i), w + i);
			i = j;
		} else {
			i++;
		}
	}
	if (terms && prefix)
		strbuf_addstr(sb, ":*");
	return terms;
}

char *pg_tsquery(const char *q, char **err)
{
	struct strbuf sb = STRBUF_INIT;
	int depth = 0;
	bool operand = false; /* the last thing was a term or ")": an operator may follow */
	const char *op = NULL; /* the operator that joins the next term */

	strbuf_init(&sb, strlen(q) * 2 + 8);
	for (const char *p = q; *p;) {
		const char *start;
		size_t n;
		if (*p == ' ' || *p == '\t' || *p == '\n') {
			p++;
			continue;
		}
		if (*p == ')') {
			if (!operand || op || depth == 0)
				goto bad;
			depth--;
			strbuf_addch(&sb, ')');
			p++;
			continue;
		}
		start = p;
		if (*p == '"') {
			const char *end = strchr(p + 1, '"');
			if (!end)
				goto bad;
			p = end + 1;
		} else if (*p == '(') {
			p++;
		} else {
			while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '(' && *p != ')' && *p != '"')
				p++;
		}
		n = (size_t)(p - start);
		if ((n == 3 && strncmp(start, "AND", 3) == 0) || (n == 2 && strncmp(start, "OR", 2) == 0) ||
		    (n == 3 && strncmp(start, "NOT", 3) == 0)) {
			if (!operand || op)
				goto bad;
			op = *start == 'A' ? " & " : *start == 'O' ? " | " : " & !";
			operand = false;
			continue;
		}
		if (operand) /* two terms in a row: FTS5 means AND */
			op = " & ";
		strbuf_addstr(&sb, op ? op : "");
		op = NULL;
		if (*start == '(') {
			depth++;
			strbuf_addch(&sb, '(');
			operand = false;
			continue;
		}
		strbuf_addch(&sb, '(');
		if (*start == '"') {
			bool prefix = *p == '*';
			if (!pg_ts_word(&sb, start + 1, n - 2, prefix))
				goto bad;
			p += prefix;
		} else {
			bool prefix = n > 1 && start[n - 1] == '*';
			if (!pg_ts_word(&sb, start, prefix ? n - 1 : n, prefix))
				goto bad;
		}
		strbuf_addch(&sb, ')');
		operand = true;
	}
	if (!operand || op || depth)
		goto bad;
	return strbuf_detach(&sb, NULL);
bad:
	strbuf_release(&sb);
	*err = xasprintf("fts5: syntax error in query \"%s\"", q);
	return NULL;
}

int pg_version(void)
{
	return PQlibVersion();
}

char *pg_display(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
	const char *user = NULL, *host = NULL, *port = NULL, *db = NULL;
	char *out;

	if (!opts)
		return xstrdup("postgres://(unparsable)");
	for (o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	out = xasprintf("postgres://%s%s%s%s%s/%s", user ? user : "", user ? "@" : "", host ? host : "",
			port ? ":" : "", port ? port : "", db ? db : "");
	PQconninfoFree(opts);
	return out;
}

struct pgconn *pg_connect(const char *url, int timeout_ms, bool readonly, char **err)
{
	struct pgconn *c = xcalloc(1, sizeof(*c));

	c->url = xstrdup(url);
	c->timeout_ms = timeout_ms;
	c->readonly = readonly;
	if (pg_open(c) != SQLITE_OK) {
		*err = xstrdup(c->msg ? c->msg : "cannot reach the PostgreSQL server");
		pg_close(c);
		return NULL;
	}
	return c;
}

void pg_closing(struct pgconn *c)
{
	c->closing = true;
}

void pg_close(struct pgconn *c)
{
	if (!c)
		return;
	if (c->conn)
		PQfinish(c->conn);
	for (size_t i = 0; i < c->ndead; i++)
		free(c->dead[i]);
	free(c->dead);
	free(c->url);
	free(c->msg);
	free(c);
}

bool pg_broken(struct pgconn *c)
{
	return !c->conn || PQstatus(c->conn) != CONNECTION_OK;
}

int pg_reset(struct pgconn *c)
{
	return pg_open(c);
}

const char *pg_server(struct pgconn *c)
{
	return c->server;
}

int pg_errcode(struct pgconn *c)
{
	return c->err;
}

const char *pg_errmsg(struct pgconn *c)
{
	return c->msg ? c->msg : "not an error";
}

int64_t pg_changes(struct pgconn *c)
{
	return c->changes;
}

bool pg_streaming(struct pgconn *c)
{
	return c->streaming != NULL;
}

bool pg_in_transaction(struct pgconn *c)
{
	PGTransactionStatusType t = c->conn ? PQtransactionStatus(c->conn) : PQTRANS_UNKNOWN;

	return c->txn || t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

int pg_socket(struct pgconn *c)
{
	return c->conn ? PQsocket(c->conn) : -1;
}

int pg_notified(struct pgconn *c)
{
	PGnotify *n;
	int count = 0;

	if (!c->conn || !PQconsumeInput(c->conn))
		return -1;
	while ((n = PQnotifies(c->conn))) {
		count++;
		PQfreemem(n);
	}
	return count;
}

/* "Key (a, b)=(x, y) already exists." -> "a, b" (caller frees), or NULL */
static char *pg_key_columns(const char *detail)
{
	const char *p, *q;

	if (!detail || !(p = strstr(detail, "Key (")) || !(q = strstr(p, ")=(")))
		return NULL;
	p += 5;
	return xasprintf("%.*s", (int)(q - p), p);
}

/*
 * The result code and message of a failed result (or of the connection,
 * res NULL), in SQLite's terms.
 */
static int pg_error(struct pgconn *c, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *table = res ? PQresultErrorField(res, PG_DIAG_TABLE_NAME) : NULL;
	const char *column = res ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) : NULL;
	const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char *msg = pg_line(res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) : PQerrorMessage(c->conn));
	char *cols;

	if (!state || pg_broken(c) || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
		pg_set(c, DB_UNREACHABLE, "lost the PostgreSQL server at %s: %s", c->server, msg);
	} else if (strcmp(state, "23505") == 0) {
		bool pkey = constraint && strlen(constraint) > 5 && strcmp(constraint + strlen(constraint) - 5, "_pkey") == 0;
		cols = pg_key_columns(detail);
		if (cols && table) {
			/* "a, b" -> "t.a, t.b" as SQLite says it */
			struct strbuf sb = STRBUF_INIT;
			char *save = NULL;
			for (char *tok = strtok_r(cols, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
				strbuf_addf(&sb, "%s%s.%s", sb.len ? ", " : "", table, tok);
			pg_set(c, pkey ? SQLITE_CONSTRAINT_PRIMARYKEY : SQLITE_CONSTRAINT_UNIQUE,
			       "UNIQUE constraint failed: %s", sb.buf);
			strbuf_release(&sb);
		} else {
			pg_set(c, pkey ? SQLITE_CONSTRAINT_PRIMARYKEY : SQLITE_CONSTRAINT_UNIQUE,
			       "UNIQUE constraint failed: %s", constraint ? constraint : msg);
		}
		free(cols);
	} else if (strcmp(state, "23502") == 0) {
		pg_set(c, SQLITE_CONSTRAINT_NOTNULL, "NOT NULL constraint failed: %s.%s", table ? table : "?",
		       column ? column : "?");
	} else if (strcmp(state, "23503") == 0) {
		pg_set(c, SQLITE_CONSTRAINT_FOREIGNKEY, "FOREIGN KEY constraint failed (%s)", msg);
	} else if (strcmp(state, "23514") == 0) {
		pg_set(c, SQLITE_CONSTRAINT_CHECK, "CHECK constraint failed: %s", constraint ? constraint : msg);
	} else if (strncmp(state, "23", 2) == 0) {
		pg_set(c, SQLITE_CONSTRAINT, "constraint failed: %s", msg);
	} else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
		   strcmp(state, "57014") == 0 || strcmp(state, "53300") == 0) {
		pg_set(c, SQLITE_BUSY, "%s", msg);
	} else if (strncmp(state, "22", 2) == 0) {
		pg_set(c, SQLITE_MISMATCH, "%s", msg);
	} else if (strcmp(state, "53100") == 0) {
		pg_set(c, SQLITE_FULL, "%s", msg);
	} else if (strcmp(state, "53200") == 0) {
		pg_set(c, SQLITE_NOMEM, "%s", msg);
	} else if (strncmp(state, "54", 2) == 0) {
		pg_set(c, SQLITE_TOOBIG, "%s", msg);
	} else if (strcmp(state, "42501") == 0) {
		pg_set(c, SQLITE_PERM, "%s", msg);
	} else if (strcmp(state, "25006") == 0) {
		pg_set(c, SQLITE_READONLY, "%s", msg);
	} else {
		pg_set(c, SQLITE_ERROR, "%s", msg);
	}
	free(msg);
	return c->err;
}

/* The statements finalized in a failed transaction, now that it ended. */
static void pg_deallocate_dead(struct pgconn *c)
{
	for (size_t i = 0; i < c->ndead; i++) {
		char sql[32];
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", c->dead[i]);
		if (!pg_broken(c))
			PQclear(PQexec(c->conn, sql));
		free(c->dead[i]);
	}
	free(c->dead);
	c->dead = NULL;
	c->ndead = 0;
}

int pg_exec(struct pgconn *c, const char *sql)
{
	PGresult *r;
	ExecStatusType t;
	int rc = SQLITE_OK;
	bool begin = strncmp(sql, "BEGIN", 5) == 0, end = !begin && (strcmp(sql, "COMMIT") == 0 ||
								     strcmp(sql, "ROLLBACK") == 0);

	if (end) /* ended, whatever the server says: a new transaction starts clean */
		c->txn = false;
	if (pg_broken(c)) {
		pg_set(c, DB_UNREACHABLE, "lost the PostgreSQL server at %s", c->server);
		return DB_UNREACHABLE;
	}
	r = PQexec(c->conn, sql);
	t = PQresultStatus(r);
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK && t != PGRES_EMPTY_QUERY)
		rc = pg_error(c, r);
	else
		c->err = SQLITE_OK;
	PQclear(r);
	if (begin && rc == SQLITE_OK)
		c->txn = true;
	if (end && c->ndead)
		pg_deallocate_dead(c);
	return rc;
}

int pg_commit(struct pgconn *c)
{
	PGTransactionStatusType t = c->conn ? PQtransactionStatus(c->conn) : PQTRANS_UNKNOWN;

	if (t == PQTRANS_INERROR) {
		/* COMMIT would say ROLLBACK and succeed: never acknowledge that */
		pg_exec(c, "ROLLBACK");
		if (c->err == SQLITE_OK || !c->msg)
			pg_set(c, SQLITE_ERROR, "the transaction failed and was rolled back");
		return c->err == SQLITE_OK ? SQLITE_ERROR : c->err;
	}
	if (t != PQTRANS_INTRANS || !c->txn) {
		/* the session the transaction began on is gone (a new one has no
		 * transaction: COMMIT would succeed with a warning): not saved */
		c->txn = false;
		pg_set(c, DB_UNREACHABLE, "lost the PostgreSQL server at %s during the transaction: not saved",
		       c->server);
		return DB_UNREACHABLE;
	}
	return pg_exec(c, "COMMIT");
}

/*
 * SQLite's parameters (?NNN, and ? meaning the largest so far plus one) as
 * PostgreSQL's $NNN; strings, quoted names and comments are left alone.
 */
static char *pg_translate(const char *sql, int *nparams, unsigned **types)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned char used[1000] = { 0 };
	int max = 0;

	strbuf_init(&sb, strlen(sql) + 16);
	for (const char *p = sql; *p;) {
		if (*p == '\'' || *p == '"') {
			char q = *p;
			strbuf_addch(&sb, *p++);
			while (*p) {
				if (*p == q && p[1] == q) {
					strbuf_addch(&sb, *p++);
				} else if (*p == q) {
					break;
				}
				strbuf_addch(&sb, *p++);
			}
			if (*p)
				strbuf_addch(&sb, *p++);
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				strbuf_addch(&sb, *p++);
		} else if (*p == '?') {
			int n = 0;
			p++;
			if (*p >= '0' && *p <= '9') {
				while (*p >= '0' && *p <= '9')
					n = n * 10 + (*p++ - '0');
			} else {
				n = max + 1;
			}
			if (n > max)
				max = n;
			if (n < (int)sizeof(used))
				used[n] = 1;
			strbuf_addf(&sb, "$%d", n);
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	/* A parameter the statement never names has no type to infer: text. */
	*nparams = max;
	*types = xcalloc(max + 1, sizeof(**types));
	for (int i = 1; i <= max; i++)
		(*types)[i - 1] = i < (int)sizeof(used) && used[i] ? 0 : OID_TEXT;
	return strbuf_detach(&sb, NULL);
}

static int pgstmt_prepare(struct pgstmt *s)
{
	struct pgconn *c = s->c;
	PGresult *r;
	int rc = SQLITE_OK;

	if (pg_broken(c)) {
		pg_set(c, DB_UNREACHABLE, "lost the PostgreSQL server at %s", c->server);
		return DB_UNREACHABLE;
	}
	r = PQprepare(c->conn, s->name, s->sql, s->nparams, (const Oid *)s->types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_error(c, r);
	PQclear(r);
	if (rc == SQLITE_OK) {
		s->epoch = c->epoch;
		PQclear(s->desc);
		s->desc = NULL;
	}
	return rc;
}

int pg_prepare(struct pgconn *c, const char *sql, struct pgstmt **out)
{
	struct pgstmt *s = xcalloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	s->c = c;
	snprintf(s->name, sizeof(s->name), "s%u", ++c->nstmt);
	s->sql = pg_translate(sql, &s->nparams, &s->types);
	s->reads = strncasecmp(sql + strspn(sql, " \t\n"), "SELECT", 6) == 0;
	s->values = xcalloc(s->nparams + 1, sizeof(char *));
	s->lengths = xcalloc(s->nparams + 1, sizeof(int));
	s->formats = xcalloc(s->nparams + 1, sizeof(int));
	s->row = -1;
	if ((rc = pgstmt_prepare(s)) != SQLITE_OK) {
		pgstmt_finalize(s);
		return rc;
	}
	*out = s;
	return SQLITE_OK;
}

static void pgstmt_free_row(struct pgstmt *s)
{
	int n = s->res ? PQnfields(s->res) : 0;

	if (!s->conv)
		return;
	for (int i = 0; i < n; i++) {
		free(s->conv[i]);
		s->conv[i] = NULL;
	}
}

/* A stream left before its end: the rest of its rows are read and dropped
 * (a cancel would fail the transaction it runs in). */
static void pgstmt_drain(struct pgstmt *s)
{
	PGresult *r;

	if (!s->started)
		return;
	while ((r = PQgetResult(s->c->conn)))
		PQclear(r);
	s->started = false;
	if (s->c->streaming == s)
		s->c->streaming = NULL;
}

void pgstmt_reset(struct pgstmt *s)
{
	pgstmt_free_row(s);
	free(s->conv);
	free(s->convlen);
	s->conv = NULL;
	s->convlen = NULL;
	PQclear(s->res);
	s->res = NULL;
	pgstmt_drain(s);
	s->row = -1;
	s->nrows = 0;
}

void pgstmt_stream(struct pgstmt *s)
{
	s->stream = true;
}

void pgstmt_clear(struct pgstmt *s)
{
	for (int i = 0; i < s->nparams; i++) {
		free(s->values[i]);
		s->values[i] = NULL;
		s->lengths[i] = 0;
		s->formats[i] = 0;
	}
}

void pgstmt_finalize(struct pgstmt *s)
{
	if (!s)
		return;
	pgstmt_reset(s);
	pgstmt_clear(s);
	PQclear(s->desc);
	/* Statements live as long as their session; a name is never reused. */
	if (s->epoch == s->c->epoch && !s->c->closing && !pg_broken(s->c)) {
		if (PQtransactionStatus(s->c->conn) == PQTRANS_INERROR) { /* refused now: after the rollback */
			s->c->dead = xrealloc(s->c->dead, (s->c->ndead + 1) * sizeof(char *));
			s->c->dead[s->c->ndead++] = xstrdup(s->name);
		} else {
			char sql[32];
			snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
			PQclear(PQexec(s->c->conn, sql));
		}
	}
	free(s->values);
	free(s->lengths);
	free(s->formats);
	free(s->types);
	free(s->sql);
	free(s);
}

/* Can s be sent now? Prepared on this session, no stream's rows still
 * coming, the server there: SQLITE_OK, or why not. */
static int pgstmt_ready(struct pgstmt *s)
{
	struct pgconn *c = s->c;
	int rc;

	if (s->epoch != c->epoch && (rc = pgstmt_prepare(s)) != SQLITE_OK)
		return rc;
	if (c->streaming) {
		pg_set(c, SQLITE_MISUSE, "another statement's rows are still coming on this connection");
		return SQLITE_MISUSE;
	}
	if (pg_broken(c)) {
		pg_set(c, DB_UNREACHABLE, "lost the PostgreSQL server at %s", c->server);
		return DB_UNREACHABLE;
	}
	return SQLITE_OK;
}

/* Run s: its result in s->res, or a result code. */
static int pgstmt_run(struct pgstmt *s)
{
	struct pgconn *c = s->c;
	ExecStatusType t;
	int rc;

	if ((rc = pgstmt_ready(s)) != SQLITE_OK)
		return rc;
	s->res = PQexecPrepared(c->conn, s->name, s->nparams, (const char *const *)s->values, s->lengths, s->formats,
				0);
	t = PQresultStatus(s->res);
	if (t != PGRES_TUPLES_OK && t != PGRES_COMMAND_OK) {
		rc = pg_error(c, s->res);
		PQclear(s->res);
		s->res = NULL;
		return rc;
	}
	return SQLITE_OK;
}

/* The next row of a stream: SQLITE_ROW with it in s->res, SQLITE_DONE, or an error. */
static int pgstmt_next(struct pgstmt *s)
{
	struct pgconn *c = s->c;
	PGresult *r;
	int rc;

	if (!s->started) { /* done, or failed: as SQLite, DONE again */
		s->row = s->nrows;
		return SQLITE_DONE;
	}
	pgstmt_free_row(s);
	PQclear(s->res);
	s->res = NULL;
	r = PQgetResult(c->conn);
	switch (PQresultStatus(r)) {
	case PGRES_SINGLE_TUPLE:
		s->res = r;
		s->nrows = 1;
		s->row = 0;
		if (!s->conv) {
			s->conv = xcalloc(PQnfields(r) + 1, sizeof(char *));
			s->convlen = xcalloc(PQnfields(r) + 1, sizeof(int));
		}
		return SQLITE_ROW;
	case PGRES_TUPLES_OK: /* the end */
		PQclear(r);
		c->err = SQLITE_OK;
		rc = SQLITE_DONE;
		break;
	default:
		rc = r ? pg_error(c, r) : (pg_set(c, DB_UNREACHABLE, "lost the PostgreSQL server at %s", c->server),
					   DB_UNREACHABLE);
		PQclear(r);
		break;
	}
	pgstmt_drain(s);
	s->row = s->nrows = 0;
	return rc;
}

/* Send a stream's statement and ask for its rows one at a time. */
static int pgstmt_send(struct pgstmt *s)
{
	struct pgconn *c = s->c;
	int rc;

	if ((rc = pgstmt_ready(s)) != SQLITE_OK)
		return rc;
	if (!PQsendQueryPrepared(c->conn, s->name, s->nparams, (const char *const *)s->values,
						 s->lengths, s->formats, 0)) {
		pg_set(c, DB_UNREACHABLE, "lost the PostgreSQL server at %s", c->server);
		return DB_UNREACHABLE;
	}
	s->started = true;
	if (!PQsetSingleRowMode(c->conn)) { /* sent, but not one row at a time: take its result and say so */
		pgstmt_drain(s);
		pg_set(c, SQLITE_ERROR, "cannot fetch rows one at a time: %s", PQerrorMessage(c->conn));
		return SQLITE_ERROR;
	}
	c->streaming = s;
	c->changes = 0;
	return SQLITE_OK;
}

/* The first step: run s (a stream: send it). The server restarted since
 * this connection's last use: a read on its own is as good on a new
 * connection (a write never runs outside a transaction, and a transaction
 * is not retried behind its back). */
static int pgstmt_start(struct pgstmt *s)
{
	struct pgconn *c = s->c;
	bool idle = !c->txn && c->conn && PQtransactionStatus(c->conn) == PQTRANS_IDLE;
	int rc = s->stream ? pgstmt_send(s) : pgstmt_run(s);

	if (rc == DB_UNREACHABLE && idle && s->reads && pg_reset(c) == SQLITE_OK)
		rc = s->stream ? pgstmt_send(s) : pgstmt_run(s);
	return rc;
}

int pgstmt_step(struct pgstmt *s)
{
	struct pgconn *c = s->c;
	int rc;

	if (s->stream) {
		if (!s->started && s->row < 0 && (rc = pgstmt_start(s)) != SQLITE_OK)
			return rc;
		return pgstmt_next(s);
	}
	if (!s->res) {
		if ((rc = pgstmt_start(s)) != SQLITE_OK)
			return rc;
		c->err = SQLITE_OK;
		c->changes = *PQcmdTuples(s->res) ? strtoll(PQcmdTuples(s->res), NULL, 10) : 0;
		s->nrows = PQresultStatus(s->res) == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
		s->row = -1;
		s->conv = xcalloc(PQnfields(s->res) + 1, sizeof(char *));
		s->convlen = xcalloc(PQnfields(s->res) + 1, sizeof(int));
	}
	pgstmt_free_row(s);
	if (s->row + 1 < s->nrows) {
		s->row++;
		return SQLITE_ROW;
	}
	s->row = s->nrows;
	return SQLITE_DONE;
}

static int pgstmt_bind(struct pgstmt *s, int i, char *value, int len, int format)
{
	if (i < 1 || i > s->nparams) {
		free(value);
		return SQLITE_RANGE;
	}
	free(s->values[i - 1]);
	s->values[i - 1] = value;
	s->lengths[i - 1] = len;
	s->formats[i - 1] = format;
	return SQLITE_OK;
}

int pgstmt_bind_text(struct pgstmt *s, int i, const char *text, int len)
{
	size_t n = len < 0 ? strlen(text) : (size_t)len;
	char *v = xmalloc(n + 1);

	memcpy(v, text, n);
	v[n] = '\0';
	return pgstmt_bind(s, i, v, (int)n, 0);
}

int pgstmt_bind_blob(struct pgstmt *s, int i, const void *data, int len)
{
	char *v = xmalloc(len > 0 ? (size_t)len : 1);

	if (len > 0)
		memcpy(v, data, len);
	return pgstmt_bind(s, i, v, len, 1);
}

int pgstmt_bind_int64(struct pgstmt *s, int i, int64_t v)
{
	return pgstmt_bind(s, i, xasprintf("%lld", (long long)v), 0, 0);
}

int pgstmt_bind_double(struct pgstmt *s, int i, double v)
{
	return pgstmt_bind(s, i, xasprintf("%.17g", v), 0, 0);
}

int pgstmt_bind_null(struct pgstmt *s, int i)
{
	return pgstmt_bind(s, i, NULL, 0, 0);
}

/* The result whose columns are asked for: the step's, or the statement's description. */
static const PGresult *pgstmt_shape(struct pgstmt *s)
{
	if (s->res)
		return s->res;
	if (!s->desc && !pg_broken(s->c))
		s->desc = PQdescribePrepared(s->c->conn, s->name);
	return s->desc;
}

bool pgstmt_param_time(struct pgstmt *s, int i)
{
	Oid t;

	if (!s->desc && !pg_broken(s->c) && !s->c->streaming) /* a stream's rows would come first */
		s->desc = PQdescribePrepared(s->c->conn, s->name);
	if (!s->desc || PQresultStatus(s->desc) != PGRES_COMMAND_OK || i < 1 || i > PQnparams(s->desc))
		return false;
	t = PQparamtype(s->desc, i - 1);
	return t == OID_TIMESTAMPTZ || t == OID_TIMESTAMP;
}

int pgstmt_column_count(struct pgstmt *s)
{
	const PGresult *r = pgstmt_shape(s);

	return r ? PQnfields(r) : 0;
}

const char *pgstmt_column_name(struct pgstmt *s, int i)
{
	const PGresult *r = pgstmt_shape(s);

	return r && i >= 0 && i < PQnfields(r) ? PQfname(r, i) : NULL;
}

static bool pgstmt_at_row(struct pgstmt *s, int i)
{
	return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 && i < PQnfields(s->res);
}

static bool pg_is_integer(const char *v)
{
	if (*v == '-')
		v++;
	if (!*v)
		return false;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return false;
	return true;
}

int pgstmt_column_type(struct pgstmt *s, int i)
{
	if (!pgstmt_at_row(s, i) || PQgetisnull(s->res, s->row, i))
		return SQLITE_NULL;
	switch (PQftype(s->res, i)) {
	case OID_BOOL:
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_OID:
		return SQLITE_INTEGER;
	case OID_FLOAT4:
	case OID_FLOAT8:
		return SQLITE_FLOAT;
	case OID_NUMERIC: /* sum() of integers is numeric: an integer it stays */
		return pg_is_integer(PQgetvalue(s->res, s->row, i)) ? SQLITE_INTEGER : SQLITE_FLOAT;
	case OID_BYTEA:
		return SQLITE_BLOB;
	default:
		return SQLITE_TEXT;
	}
}

static int hexval(char h)
{
	return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 0;
}

/* The number of n digits at *p, or -1; *p past them. */
static int64_t pg_digits(const char **p, int n)
{
	int64_t v = 0;

	for (int k = 0; k < n; k++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

/*
 * "2026-11-24 10:26:11.123456+00" -> "2026-11-24T10:26:11.123Z": the session
 * is in UTC; milliseconds, as orchfs writes times. A year BC or past 9999 in
 * ISO 8601's expanded form ("0044-03-15 12:00:00+00 BC" ->
 * "-000043-03-15T12:00:00.000Z", "10000-01-01 ..." -> "+010000-01-01T..."),
 * as time_format_iso; "infinity" and "-infinity" as they are.
 */
static char *pg_time_iso(const char *v)
{
	const char *p = v;
	int64_t y, mo, d, h, mi, sec, ms = 0;
	char buf[40];
	int n = 0;

	while (p[n] >= '0' && p[n] <= '9')
		n++;
	if (n < 4 || (y = pg_digits(&p, n)) < 0 || *p++ != '-' || (mo = pg_digits(&p, 2)) < 1 || *p++ != '-' ||
	    (d = pg_digits(&p, 2)) < 1 || *p++ != ' ' || (h = pg_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (mi = pg_digits(&p, 2)) < 0 || *p++ != ':' || (sec = pg_digits(&p, 2)) < 0)
		return xstrdup(v); /* infinity, or a form not expected: as it is */
	if (*p == '.')
		for (int k = 0, scale = 100; *++p >= '0' && *p <= '9'; k++, scale /= 10)
			ms += (*p - '0') * scale;
	if (strncmp(p, "+00", 3) == 0) /* timestamptz; a timestamp has no offset */
		p += 3;
	if (strcmp(p, " BC") == 0)
		y = 1 - y; /* 1 BC is the year 0 */
	else if (*p)
		return xstrdup(v);
	time_format_civil(y, (int)mo, (int)d, h * 3600 + mi * 60 + sec, (int)ms, buf, sizeof(buf));
	return xstrdup(buf);
}

/* The current row's column i made SQLite's (cached until the next step). */
static const char *pgstmt_value(struct pgstmt *s, int i, int *len)
{
	const char *v;

	if (!pgstmt_at_row(s, i) || PQgetisnull(s->res, s->row, i)) {
		*len = 0;
		return NULL;
	}
	if (s->conv[i]) {
		*len = s->convlen[i];
		return s->conv[i];
	}
	v = PQgetvalue(s->res, s->row, i);
	switch (PQftype(s->res, i)) {
	case OID_BOOL:
		s->conv[i] = xstrdup(*v == 't' ? "1" : "0");
		break;
	case OID_TIMESTAMPTZ:
	case OID_TIMESTAMP:
		s->conv[i] = pg_time_iso(v);
		break;
	case OID_BYTEA: { /* hex format, the server's default since 9.0 */
		size_t n = v[0] == '\\' && v[1] == 'x' ? strlen(v + 2) / 2 : 0;
		char *bytes = xmalloc(n + 1);
		for (size_t k = 0; k < n; k++)
			bytes[k] = (char)(hexval(v[2 + 2 * k]) << 4 | hexval(v[3 + 2 * k]));
		bytes[n] = '\0';
		s->conv[i] = bytes;
		s->convlen[i] = (int)n;
		*len = (int)n;
		return bytes;
	}
	default:
		*len = PQgetlength(s->res, s->row, i);
		return v;
	}
	s->convlen[i] = (int)strlen(s->conv[i]);
	*len = s->convlen[i];
	return s->conv[i];
}

const unsigned char *pgstmt_column_text(struct pgstmt *s, int i)
{
	int len;

	return (const unsigned char *)pgstmt_value(s, i, &len);
}

const void *pgstmt_column_blob(struct pgstmt *s, int i)
{
	int len;

	return pgstmt_value(s, i, &len);
}

int pgstmt_column_bytes(struct pgstmt *s, int i)
{
	int len;

	pgstmt_value(s, i, &len);
	return len;
}

int64_t pgstmt_column_int64(struct pgstmt *s, int i)
{
	int len;
	const char *v = pgstmt_value(s, i, &len);

	return v ? strtoll(v, NULL, 10) : 0;
}

double pgstmt_column_double(struct pgstmt *s, int i)
{
	int len;
	const char *v = pgstmt_value(s, i, &len);

	return v ? strtod(v, NULL) : 0;
}
