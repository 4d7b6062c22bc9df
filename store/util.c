/* util.c - allocation, strbuf, UTF-8 and time helpers (see util.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "store/util.h"

static void util_oom(void)
{
	fputs("orchfs: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		util_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		util_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		util_oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		util_oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		util_oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		util_oom();
	return s;
}

void strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->alloc = hint + 1;
	sb->buf = xmalloc(sb->alloc);
	sb->len = 0;
	sb->buf[0] = 0;
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	if (!sb->buf)
		strbuf_init(sb, extra);
	if (sb->len + extra + 1 <= sb->alloc)
		return;
	while (sb->len + extra + 1 > sb->alloc)
		sb->alloc = sb->alloc * 2 + 16;
	sb->buf = xrealloc(sb->buf, sb->alloc);
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = 0;
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, char c)
{
	strbuf_grow(sb, 1);
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = 0;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	strbuf_grow(sb, 64);
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	va_end(ap);
	if ((size_t)n >= sb->alloc - sb->len) {
		strbuf_grow(sb, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *p;

	if (!sb->buf)
		strbuf_init(sb, 0);
	p = sb->buf;
	if (len)
		*len = sb->len;
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return p;
}

ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? n : -1;
}

void proc_comm(pid_t pid, char *buf, size_t size)
{
	if (proc_read(pid, "comm", buf, size) < 0)
		snprintf(buf, size, "unknown");
	buf[strcspn(buf, "\n")] = 0;
}

const char *proc_stat(pid_t pid, char *buf, size_t size)
{
	const char *rp;

	/* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses */
	return proc_read(pid, "stat", buf, size) > 0 && (rp = strrchr(buf, ')')) ? rp + 1 : NULL;
}

int proc_info_read(pid_t pid, struct proc_info *pi)
{
	char buf[512];
	const char *f = proc_stat(pid, buf, sizeof(buf));
	unsigned long long start;
	int ppid, pgid, sid;

	/* fields 3 to 22 of proc(5): state ppid pgrp session tty_nr tpgid flags
	 * minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
	 * num_threads itrealvalue starttime */
	if (!f || sscanf(f, " %*c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &ppid,
			 &pgid, &sid, &start) != 4)
		return -1;
	pi->ppid = ppid;
	pi->pgid = pgid;
	pi->sid = sid;
	pi->start = (int64_t)start;
	return 0;
}

void json_number(double d, char *buf, size_t size)
{
	if (!isfinite(d)) {
		snprintf(buf, size, "null");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e17) {
		/* integers: the digits of "%.0f", without printf */
		char tmp[40], *e = tmp + sizeof(tmp), *q = e;
		unsigned long long u = (unsigned long long)fabs(d);
		do
			*--q = (char)('0' + u % 10);
		while ((u /= 10));
		if (signbit(d)) /* as printf: -0 too */
			*--q = '-';
		snprintf(buf, size, "%.*s", (int)(e - q), q);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) { /* the shortest that reads back the same */
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
}

/* The JSON text checker: a state for each thing that may come next. */
enum json_want {
	JSON_VALUE,          /* a value: at the start, after ':' or after ',' in an array */
	JSON_VALUE_OR_CLOSE, /* after '[' */
	JSON_KEY_OR_CLOSE,   /* after '{' */
	JSON_KEY,            /* after ',' in an object */
	JSON_COLON,          /* after a key */
	JSON_AFTER,          /* after a value: ',', the container's end, or the text's */
};

static bool json_hex4(const char *s, size_t len, size_t i, unsigned *u)
{
	*u = 0;
	if (i + 4 > len)
		return false;
	for (size_t k = i; k < i + 4; k++) {
		char c = s[k];
		*u <<= 4;
		if (c >= '0' && c <= '9')
			*u |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*u |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*u |= (unsigned)(c - 'A' + 10);
		else
			return false;
	}
	return true;
}

/* The string whose '"' is at *i: past its closing quote, or the error. */
static const char *json_check_string(const char *s, size_t len, size_t *i)
{
	size_t open = *i;
	unsigned u, low;

	for ((*i)++; *i < len; (*i)++) {
		unsigned char c = (unsigned char)s[*i];
		if (c == '"') {
			(*i)++;
			return NULL;
		}
		if (c < 0x20)
			return "a raw control character (a TAB, a line break) in a string: escape it";
		if (c != '\\')
			continue;
		if (*i + 1 >= len)
			break;
		size_t esc = *i; /* an escape's error is at its backslash */
		c = (unsigned char)s[++*i];
		if (strchr("\"\\/bfnrt", c) && c)
			continue;
		*i = esc;
		if (c != 'u')
			return "an unknown escape in a string";
		if (!json_hex4(s, len, esc + 2, &u))
			return "a unicode escape without four hexadecimal digits";
		if (u == 0)
			return "a NUL character (U+0000) in a string cannot be stored";
		if (u >= 0xDC00 && u <= 0xDFFF)
			return "a unicode escape of half a character (a low surrogate alone)";
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (esc + 7 >= len || s[esc + 6] != '\\' || s[esc + 7] != 'u' ||
			    !json_hex4(s, len, esc + 8, &low) || low < 0xDC00 || low > 0xDFFF)
				return "a unicode escape of half a character (a high surrogate without its low one)";
			*i += 6;
		}
		*i += 5; /* the last hexadecimal digit: the loop steps past it */
	}
	*i = open;
	return "a string without its closing quote";
}

/* The number at *i (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?):
 * past it, or the error at *i. */
static const char *json_check_number(const char *s, size_t len, size_t *i)
{
#define DIGIT(k) ((k) < len && s[k] >= '0' && s[k] <= '9')
	size_t start = *i;

	if (s[*i] == '-')
		(*i)++;
	if (!DIGIT(*i))
		return "a number without digits";
	if (s[*i] == '0' && DIGIT(*i + 1)) {
		*i = start;
		return "a number with a leading zero";
	}
	while (DIGIT(*i))
		(*i)++;
	if (*i < len && s[*i] == '.') {
		(*i)++;
		if (!DIGIT(*i))
			return "a number without digits after its decimal point";
		while (DIGIT(*i))
			(*i)++;
	}
	if (*i < len && (s[*i] == 'e' || s[*i] == 'E')) {
		(*i)++;
		if (*i < len && (s[*i] == '+' || s[*i] == '-'))
			(*i)++;
		if (!DIGIT(*i))
			return "a number without digits in its exponent";
		while (DIGIT(*i))
			(*i)++;
	}
	return NULL;
#undef DIGIT
}

bool json_check(const char *s, size_t len, size_t *at, const char **why)
{
	char open[JSON_MAX_DEPTH]; /* '{' or '[' for each container around i */
	enum json_want want = JSON_VALUE;
	int depth = 0;
	size_t i = 0;
	const char *err = NULL;

	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
			i++;
		if (i == len) {
			if (want == JSON_AFTER && depth == 0)
				return true;
			err = depth ? (open[depth - 1] == '{' ? "the text ends inside an object (no })"
							     : "the text ends inside an array (no ])")
				    : "the text ends before a value";
			break;
		}
		char c = s[i];
		switch (want) {
		case JSON_VALUE_OR_CLOSE:
			if (c == ']') {
				i++, depth--, want = JSON_AFTER;
				continue;
			}
			/* fall through */
		case JSON_VALUE:
			if (c == '{' || c == '[') {
				if (depth == JSON_MAX_DEPTH) {
					err = "nested deeper than " JSON_MAX_DEPTH_TEXT " objects and arrays";
					break;
				}
				open[depth++] = c;
				i++, want = c == '{' ? JSON_KEY_OR_CLOSE : JSON_VALUE_OR_CLOSE;
				continue;
			}
			if (c == '"')
				err = json_check_string(s, len, &i);
			else if (c == '-' || (c >= '0' && c <= '9'))
				err = json_check_number(s, len, &i);
			else if (len - i >= 4 && memcmp(s + i, "true", 4) == 0)
				i += 4;
			else if (len - i >= 5 && memcmp(s + i, "false", 5) == 0)
				i += 5;
			else if (len - i >= 4 && memcmp(s + i, "null", 4) == 0)
				i += 4;
			else if (c == ']' && want == JSON_VALUE && depth && open[depth - 1] == '[')
				err = "a comma before ]"; /* a value is wanted in an array after a comma only */
			else
				err = c == '\'' ? "expected a value (strings take double quotes)" : "expected a value";
			want = JSON_AFTER;
			break;
		case JSON_KEY_OR_CLOSE:
		case JSON_KEY:
			if (c == '}' && want == JSON_KEY_OR_CLOSE) {
				i++, depth--, want = JSON_AFTER;
				continue;
			}
			if (c == '"')
				err = json_check_string(s, len, &i);
			else
				err = c == '}' ? "a comma before }" : "expected a member's name in double quotes";
			want = JSON_COLON;
			break;
		case JSON_COLON:
			if (c == ':')
				i++, want = JSON_VALUE;
			else
				err = "expected : after a member's name";
			break;
		case JSON_AFTER:
			if (depth == 0)
				err = "more after the value";
			else if (c == ',')
				i++, want = open[depth - 1] == '{' ? JSON_KEY : JSON_VALUE;
			else if (c == (open[depth - 1] == '{' ? '}' : ']'))
				i++, depth--;
			else
				err = open[depth - 1] == '{' ? "expected , or } after a member" : "expected , or ] after a value";
			break;
		}
		if (err)
			break;
	}
	*at = i;
	*why = err;
	return false;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p;
		size_t n;
		unsigned cp;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return false;
		if ((size_t)(end - p) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), and back: what timegm and gmtime_r compute, without
 * their time zone machinery (a render formats three timestamps a row). */
static int64_t time_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void time_civil(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static char *time_put(char *p, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

/* v / unit rounded down (before 1970 too), and in *rem what is past it (0..unit-1) */
static int64_t time_floor(int64_t v, int64_t unit, int64_t *rem)
{
	int64_t q = v / unit;

	if (v % unit < 0)
		q--;
	*rem = v - q * unit;
	return q;
}

void time_format_civil(int64_t y, int m, int d, int64_t secs, int ms, char *buf, size_t size)
{
	char *p = buf;

	if (y < 0 || y > 9999 || size < 25) { /* outside, ISO 8601's expanded years, as ECMAScript's Date */
		snprintf(buf, size, y < 0 || y > 9999 ? "%+07lld-%02d-%02dT%02d:%02d:%02d.%03dZ"
						      : "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 (long long)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), ms);
		return;
	}
	p = time_put(p, y, 4);
	*p++ = '-';
	p = time_put(p, m, 2);
	*p++ = '-';
	p = time_put(p, d, 2);
	*p++ = 'T';
	p = time_put(p, secs / 3600, 2);
	*p++ = ':';
	p = time_put(p, secs / 60 % 60, 2);
	*p++ = ':';
	p = time_put(p, secs % 60, 2);
	*p++ = '.';
	p = time_put(p, ms, 3);
	*p++ = 'Z';
	*p = 0;
}

void time_format_iso(int64_t ms, char *buf, size_t size)
{
	int64_t frac, rem, days, y;
	int m, d;

	if (!TIME_FINITE(ms)) {
		snprintf(buf, size, "%s", ms == TIME_INFINITY ? "infinity" : "-infinity");
		return;
	}
	days = time_floor(time_floor(ms, 1000, &frac), 86400, &rem);
	time_civil(days, &y, &m, &d);
	time_format_civil(y, m, d, rem, (int)frac, buf, size);
}

void time_format_pg(int64_t us, char *buf, size_t size)
{
	int64_t frac, rem, days, y;
	int m, d;

	if (!TIME_FINITE(us)) {
		time_format_iso(us, buf, size);
		return;
	}
	days = time_floor(time_floor(us, 1000000, &frac), 86400, &rem);
	time_civil(days, &y, &m, &d);
	/* the ISO form, which PostgreSQL reads for years 1 to 9999; before, BC
	 * (1 BC is year 0); after, a year of five digits or more */
	snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d.%0*lldZ%s", (long long)(y > 0 ? y : 1 - y), m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac % 1000 ? 6 : 3,
		 (long long)(frac % 1000 ? frac : frac / 1000), y > 0 ? "" : " BC");
}

static int time_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* s as seconds since the epoch and the microseconds past them (0..999999);
 * the infinities as TIME_INFINITY and TIME_NEG_INFINITY seconds */
static int time_parse(const char *s, int64_t *secs, int *usecs)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, offset = 0, sign = 1;
	const char *p = s;

	*usecs = 0;
	if (strcmp(s, "infinity") == 0 || strcmp(s, "-infinity") == 0) {
		*secs = *s == '-' ? TIME_NEG_INFINITY : TIME_INFINITY;
		return 0;
	}
	if (*p == '+' || *p == '-') { /* an expanded year: a sign and six digits */
		sign = *p++ == '-' ? -1 : 1;
		if (time_digits(&p, 6, &y))
			return -EINVAL;
		y *= sign;
	} else if (time_digits(&p, 4, &y)) {
		return -EINVAL;
	}
	if (*p++ != '-' || time_digits(&p, 2, &mo) || *p++ != '-' || time_digits(&p, 2, &d))
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (time_digits(&p, 2, &h) || *p++ != ':' || time_digits(&p, 2, &mi))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (time_digits(&p, 2, &sec))
				return -EINVAL;
			if (*p == '.') {
				int scale = 100000;
				p++;
				if (*p < '0' || *p > '9')
					return -EINVAL;
				for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
					frac += (*p - '0') * scale; /* past the microsecond: dropped */
			}
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int osign = *p++ == '-' ? -1 : 1, oh, om;
			if (time_digits(&p, 2, &oh))
				return -EINVAL;
			if (*p == ':')
				p++;
			if (time_digits(&p, 2, &om))
				return -EINVAL;
			offset = osign * (oh * 60 + om);
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
		return -EINVAL; /* 2026-02-30 is not 2026-03-02 */
	*secs = time_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset * 60;
	*usecs = frac;
	return 0;
}

int time_parse_iso(const char *s, int64_t *ms)
{
	int64_t secs;
	int usecs, rc = time_parse(s, &secs, &usecs);

	if (!rc)
		*ms = TIME_FINITE(secs) ? secs * 1000 + usecs / 1000 : secs;
	return rc;
}

int time_parse_iso_us(const char *s, int64_t *us)
{
	int64_t secs;
	int usecs, rc = time_parse(s, &secs, &usecs);

	if (rc || !TIME_FINITE(secs))
		*us = secs;
	else if (__builtin_mul_overflow(secs, 1000000, us) || __builtin_add_overflow(*us, usecs, us) ||
		 !TIME_FINITE(*us))
		rc = -EINVAL; /* beyond the year 294000 or so, either way */
	return rc;
}

void uuid_v4(char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			abort(); /* the kernel's random source does not fail after boot */
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0, j = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[j++] = '-';
		buf[j++] = hex[b[i] >> 4];
		buf[j++] = hex[b[i] & 15];
	}
	buf[36] = 0;
}

void log_vline(const char *fmt, va_list ap)
{
	char when[40];

	time_format_iso(time_now_ms(), when, sizeof(when));
	flockfile(stderr);
	fprintf(stderr, "%s orchfs: ", when);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
