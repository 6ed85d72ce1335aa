// SPDX-License-Identifier: GPL-2.0-only
/* The target's READ pool, faulted in ahead of its registration (see pool_warm.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool_warm.h"
#include "rdma_log.h"
#include "rdma_util.h"

/* Huge pages where the kernel gives them: fewer faults, and fewer pages to pin. */
#define POOL_ALIGN (2UL << 20)

static void *fault_in(void *arg)
{
	struct pool_warm *w = arg;
	long page = sysconf(_SC_PAGESIZE);
	double t0 = rdma_now();
	size_t off;

	for (off = 0; off < w->size; off += (size_t)page)
		((volatile char *)w->mem)[off] = 0;
	w->took = rdma_now() - t0;
	return NULL;
}

int pool_warm_start(struct pool_warm *w, size_t size)
{
	int ret;

	memset(w, 0, sizeof(*w));
	if (posix_memalign(&w->mem, POOL_ALIGN, size)) {
		w->mem = NULL;
		return -1;
	}
	w->size = size;
	ret = pthread_create(&w->thread, NULL, fault_in, w);
	if (ret) {
		errno = ret;
		pr_perror("cannot start the thread that faults the READ pool in (it is faulted in when registered)");
		free(w->mem);
		w->mem = NULL;
		return -1;
	}
	w->running = true;
	return 0;
}

static void join(struct pool_warm *w)
{
	int ret;

	if (!w->running)
		return;
	w->running = false;
	ret = pthread_join(w->thread, NULL);
	if (ret) {
		errno = ret;
		pr_perror("cannot join the thread that faults the READ pool in");
	}
}

void *pool_warm_take(struct pool_warm *w, size_t need)
{
	void *mem;

	join(w);
	if (!w->mem || need > w->size) {
		pool_warm_drop(w);
		return NULL;
	}
	mem = w->mem;
	w->mem = NULL;
	return mem;
}

void pool_warm_drop(struct pool_warm *w)
{
	join(w);
	free(w->mem);
	w->mem = NULL;
}
