/* SPDX-License-Identifier: GPL-2.0-only */
/* The unit tests' checks: count failures, report them at the end. */
#ifndef __CRIU_RDMA_TEST_CHECK_H__
#define __CRIU_RDMA_TEST_CHECK_H__

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                        \
		}                                                                          \
	} while (0)

/* The exit status of a test program named @what. */
static inline int check_report(const char *what)
{
	if (failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", what, failures);
		return 1;
	}
	printf("%s: all checks passed\n", what);
	return 0;
}

#endif
