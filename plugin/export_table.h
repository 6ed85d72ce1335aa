/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exported-memory table: for each task (by image id), the runs of its
 * dump-time address space that the source exports, each with the rkey that
 * reaches it.  The remote address of a page is its VA: no translation.
 */
#ifndef __CRIU_RDMA_EXPORT_TABLE_H__
#define __CRIU_RDMA_EXPORT_TABLE_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ibv_mr;

struct export_range {
	uint64_t va;
	uint64_t len;
	uint32_t rkey;
	/* source side only: the local copy and its registration ... */
	void *local;
	struct ibv_mr *mr;
	/* ... or, zero-copy, the task's own memory registered by the task */
	bool in_task;
	uint32_t mr_handle;
};

struct export_task {
	uint32_t id;
	bool done; /* source: the target reported it has every page */
	size_t nr, cap;
	struct export_range *ranges; /* sorted by va, non-overlapping */
};

struct export_table {
	size_t nr, cap;
	struct export_task *tasks;
};

/* The task @id, added if @create; the pointer is good until the next task is added. */
struct export_task *export_task_get(struct export_table *t, uint32_t id, int create);
int export_task_add(struct export_task *task, const struct export_range *r);
/*
 * Sorts the ranges and refuses empty ones, ones that wrap past the end of the
 * address space, and overlaps; call once a task's table is complete.
 */
int export_task_seal(struct export_task *task);
/* The range holding @va, or NULL if @va is not exported. */
const struct export_range *export_lookup(const struct export_table *t, uint32_t id, uint64_t va);
void export_table_free(struct export_table *t);
/* Both tables export the same tasks, ranges and rkeys (a reconnection to the same migration). */
bool export_table_same(const struct export_table *a, const struct export_table *b);

struct iovec;
/*
 * CRIU's lazy ranges come page-run by page-run; a task exports one region per
 * run of adjacent ones.  Sets @va and @len to the run that starts at
 * iovs[@i] and returns the index after it.
 */
unsigned int export_next_run(const struct iovec *iovs, unsigned int nr, unsigned int i, uint64_t *va, uint64_t *len);

#endif
