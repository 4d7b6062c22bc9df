/*
 * util.h - small helpers every module uses: allocation that never returns
 * NULL (out of memory aborts, as git's xmalloc does), formatted strings,
 * a growable byte buffer (git's strbuf), UTF-8 checks and timestamps.
 */
#ifndef ORCHFS_STORE_UTIL_H
#define ORCHFS_STORE_UTIL_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- allocation: abort on out of memory --- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- growable buffer; buf is always NUL-terminated after strbuf_init --- */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};
#define STRBUF_INIT { NULL, 0, 0 }
void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* strbuf_detach - hand the buffer to the caller (free()), leave sb empty */
char *strbuf_detach(struct strbuf *sb, size_t *len);

/* --- text --- */
bool utf8_valid(const char *s, size_t len);
/* proc_read - the bytes of /proc/PID/NAME (one read, no stdio buffer: a
 * save's path asks), NUL-ended in buf; their length, or -1. */
ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t size);
/* proc_comm - process pid's name (/proc/PID/comm), or "unknown" */
void proc_comm(pid_t pid, char *buf, size_t size);
/* proc_stat - the fields of /proc/PID/stat after the name (state, ppid, ...),
 * read into buf; NULL if there is no such process */
const char *proc_stat(pid_t pid, char *buf, size_t size);
/* What /proc/PID/stat says of a process's place: its parent, process group
 * and session, and when it started (clock ticks after boot: with the pid it
 * names one process, not a later one given the same number). */
struct proc_info {
	pid_t ppid, pgid, sid;
	int64_t start;
};
/* proc_info_read - pid's proc_info into *pi; 0, or -1 if there is no such process */
int proc_info_read(pid_t pid, struct proc_info *pi);
/* json_number - d as JSON: integers in full, others in the fewest digits
 * (15 to 17) that read back as the same double; "null" if not finite.
 * size >= 40. */
void json_number(double d, char *buf, size_t size);
/* json_check - is s one JSON value as RFC 8259 writes it, and one orchfs can
 * store? cJSON also reads 02, 3., raw control characters in strings and
 * lone surrogates' halves, and its strings end at a \u0000. On false, *at
 * is the offset of the first byte in error and *why says what is wrong
 * there. Containers nest at most JSON_MAX_DEPTH deep, as cJSON's do. */
#define JSON_MAX_DEPTH 1000
#define JSON_MAX_DEPTH_TEXT "1000"
bool json_check(const char *s, size_t len, size_t *at, const char **why);

/* --- time: milliseconds since the epoch, and ISO 8601 UTC text --- */
/* The two times with no date, as PostgreSQL's timestamptz has them: later and
 * earlier than every other; read and written "infinity" and "-infinity". */
#define TIME_INFINITY INT64_MAX
#define TIME_NEG_INFINITY INT64_MIN
#define TIME_FINITE(t) ((t) != TIME_INFINITY && (t) != TIME_NEG_INFINITY)
int64_t time_now_ms(void);
/* time_mono_ms - milliseconds of a clock that only moves on (CLOCK_MONOTONIC):
 * for how long ago, not when */
int64_t time_mono_ms(void);
/* time_format_iso - "2026-11-24T05:28:23.123Z" into buf (at least 32 bytes).
 * A year outside 0000-9999 has a sign and six digits, as ECMAScript's Date
 * writes it: "-000043-03-15T12:00:00.000Z" (0000 is 1 BC, -000043 44 BC),
 * "+010000-01-01T00:00:00.000Z"; the infinities "infinity", "-infinity". */
void time_format_iso(int64_t ms, char *buf, size_t size);
/* time_format_civil - the same from the fields: the year (astronomical),
 * month, day, seconds into the day and milliseconds. */
void time_format_civil(int64_t y, int m, int d, int64_t secs, int ms, char *buf, size_t size);
/* time_format_pg - us microseconds as PostgreSQL's timestamptz reads them
 * back exactly (it reads no expanded year): the ISO form with milliseconds,
 * or microseconds when there are any; years before 1 as BC
 * ("0044-03-15T12:00:00.000Z BC"); the infinities as time_format_iso. */
void time_format_pg(int64_t us, char *buf, size_t size);
/* log_vline - one line on standard error: "TIME orchfs: MESSAGE", whole
 * even with threads writing at once (the daemon's log). */
void log_vline(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* time_parse_iso - accept YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM], also
 * with a space for T (SQLite's datetime()), a year as +YYYYYY or -YYYYYY, and
 * "infinity", "-infinity" (TIME_INFINITY, TIME_NEG_INFINITY); digits past
 * the millisecond are dropped, not rounded. 0 or -EINVAL */
int time_parse_iso(const char *s, int64_t *ms);
/* time_parse_iso_us - the same in microseconds (digits past them dropped);
 * -EINVAL too for a time too far for 64 bits of them. */
int time_parse_iso_us(const char *s, int64_t *us);

/* uuid_v4 - a random UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", into buf[37] */
void uuid_v4(char *buf);

#endif
