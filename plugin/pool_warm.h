/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Memory for the target's READ pool, faulted in by a thread while the
 * connection is being set up.  Registering fresh memory faults every page
 * in first, and since the daemon connects while the restore runs, that
 * happens next to the restore, which soon waits for its first lazy page on
 * it (20 MiB: 0.15 s in the Soft-RoCE guest, 3.1 s once in a Redis run).
 * Registering pages that are present takes milliseconds.
 */
#ifndef __CRIU_RDMA_POOL_WARM_H__
#define __CRIU_RDMA_POOL_WARM_H__

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct pool_warm {
	pthread_t thread;
	void *mem;
	size_t size;
	bool running;
	double took; /* seconds the thread spent faulting the memory in */
};

/* Allocates @size bytes and starts faulting them in; -1 if it cannot (no harm: the pool is allocated later). */
int pool_warm_start(struct pool_warm *w, size_t size);
/* The memory, once faulted in, if it holds @need bytes (the caller's to free), else NULL. */
void *pool_warm_take(struct pool_warm *w, size_t need);
/* Waits for the thread and frees what was not taken. */
void pool_warm_drop(struct pool_warm *w);

#endif
