/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers every layer uses: the one clock. */
#ifndef __CRIU_RDMA_UTIL_H__
#define __CRIU_RDMA_UTIL_H__

#include <time.h>

/* Monotonic seconds: timeouts, and the timings the plugin logs. */
static inline double rdma_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
