/*
 * check.h - the smallest test harness: CHECK() and friends count and
 * report failures with their line; check_done() prints the closing
 * "N passed, M failed" line and gives the exit status.
 */
#ifndef ORCHFS_TESTS_CHECK_H
#define ORCHFS_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (cond) {                                                                      \
			check_passed++;                                                          \
		} else {                                                                         \
			check_failed++;                                                          \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_INT(a, b)                                                                              \
	do {                                                                                         \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                     \
		if (check_a_ == check_b_) {                                                          \
			check_passed++;                                                              \
		} else {                                                                             \
			check_failed++;                                                              \
			fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
				check_a_, check_b_);                                                 \
		}                                                                                    \
	} while (0)

#define CHECK_STR(a, b)                                                                               \
	do {                                                                                          \
		const char *check_a_ = (a), *check_b_ = (b);                                          \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {                        \
			check_passed++;                                                               \
		} else {                                                                              \
			check_failed++;                                                               \
			fprintf(stderr, "%s:%d: %s == %s:\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, \
				#a, #b, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
		}                                                                                     \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                                                  \
	do {                                                                                         \
		const char *check_h_ = (hay), *check_n_ = (needle);                                  \
		if (check_h_ && strstr(check_h_, check_n_)) {                                        \
			check_passed++;                                                              \
		} else {                                                                             \
			check_failed++;                                                              \
			fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,  \
				check_h_ ? check_h_ : "(null)", check_n_);                           \
		}                                                                                    \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
