// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "export_table.h"

static int grow(void **arr, size_t *cap, size_t nr, size_t elem)
{
	size_t ncap;
	void *n;

	if (nr < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -1;
	*arr = n;
	*cap = ncap;
	return 0;
}

struct export_task *export_task_get(struct export_table *t, uint32_t id, int create)
{
	struct export_task *task;
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (t->tasks[i].id == id)
			return &t->tasks[i];
	if (!create || grow((void **)&t->tasks, &t->cap, t->nr, sizeof(*t->tasks)))
		return NULL;
	task = &t->tasks[t->nr++];
	memset(task, 0, sizeof(*task));
	task->id = id;
	return task;
}

int export_task_add(struct export_task *task, const struct export_range *r)
{
	if (grow((void **)&task->ranges, &task->cap, task->nr, sizeof(*task->ranges)))
		return -1;
	task->ranges[task->nr++] = *r;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct export_range *x = a, *y = b;

	return x->va < y->va ? -1 : x->va > y->va;
}

int export_task_seal(struct export_task *task)
{
	size_t i;

	for (i = 0; i < task->nr; i++)
		if (task->ranges[i].va + task->ranges[i].len <= task->ranges[i].va)
			return -1; /* empty, or wraps past the end of the address space */
	if (task->nr)
		qsort(task->ranges, task->nr, sizeof(*task->ranges), cmp_range);
	/* sorted: the next range starts at or after this one; no sum can overflow */
	for (i = 1; i < task->nr; i++)
		if (task->ranges[i].va - task->ranges[i - 1].va < task->ranges[i - 1].len)
			return -1;
	return 0;
}

const struct export_range *export_lookup(const struct export_table *t, uint32_t id, uint64_t va)
{
	const struct export_task *task = export_task_get((struct export_table *)t, id, 0);
	size_t lo = 0, hi;

	if (!task)
		return NULL;
	hi = task->nr;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct export_range *r = &task->ranges[mid];

		if (va < r->va)
			hi = mid;
		else if (va >= r->va + r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

unsigned int export_next_run(const struct iovec *iovs, unsigned int nr, unsigned int i, uint64_t *va, uint64_t *len)
{
	*va = (uintptr_t)iovs[i].iov_base;
	*len = iovs[i].iov_len;
	for (i++; i < nr && (uintptr_t)iovs[i].iov_base == *va + *len; i++)
		*len += iovs[i].iov_len;
	return i;
}

void export_table_free(struct export_table *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		free(t->tasks[i].ranges);
	free(t->tasks);
	memset(t, 0, sizeof(*t));
}

bool export_table_same(const struct export_table *a, const struct export_table *b)
{
	size_t t, r;

	if (a->nr != b->nr)
		return false;
	for (t = 0; t < a->nr; t++) {
		const struct export_task *x = &a->tasks[t];
		const struct export_task *y = export_task_get((struct export_table *)b, x->id, 0);

		if (!y || x->nr != y->nr)
			return false;
		for (r = 0; r < x->nr; r++)
			if (x->ranges[r].va != y->ranges[r].va || x->ranges[r].len != y->ranges[r].len ||
			    x->ranges[r].rkey != y->ranges[r].rkey)
				return false;
	}
	return true;
}
