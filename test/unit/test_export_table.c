// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the exported-memory table: tasks found or created by id,
 * ranges sorted and checked for overlaps when a task is sealed, the range
 * holding a VA found by binary search, the table freed for reuse; and the
 * runs of adjacent lazy ranges each of which becomes one region.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "check.h"
#include "export_table.h"

#define PAGE 0x1000ULL

/* A deterministic generator (xorshift64), so that a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int add(struct export_task *task, uint64_t va, uint64_t len, uint32_t rkey)
{
	struct export_range r = { .va = va, .len = len, .rkey = rkey };

	return export_task_add(task, &r);
}

/* The range holding @va the slow way: every range, in order. */
static const struct export_range *linear_lookup(const struct export_task *task, uint64_t va)
{
	size_t i;

	for (i = 0; i < task->nr; i++)
		if (va >= task->ranges[i].va && va - task->ranges[i].va < task->ranges[i].len)
			return &task->ranges[i];
	return NULL;
}

static void test_task_get(void)
{
	struct export_table t = { 0 };
	struct export_task *a, *b;

	/* lookup-only on an empty table, then on an unknown id: nothing is created */
	CHECK(export_task_get(&t, 7, 0) == NULL);
	CHECK(t.nr == 0 && t.tasks == NULL);

	a = export_task_get(&t, 7, 1);
	CHECK(a && a->id == 7 && a->nr == 0 && a->cap == 0 && a->ranges == NULL && !a->done);
	CHECK(t.nr == 1);
	CHECK(export_task_get(&t, 8, 0) == NULL);
	CHECK(t.nr == 1);

	/* the same id gives the same task, created or not */
	CHECK(export_task_get(&t, 7, 0) == a);
	CHECK(export_task_get(&t, 7, 1) == a);
	CHECK(t.nr == 1);

	b = export_task_get(&t, 8, 1);
	CHECK(b && b != a && b->id == 8);
	CHECK(t.nr == 2);
	a = export_task_get(&t, 7, 0);
	CHECK(a && a->id == 7);
	a->done = true;
	CHECK(export_task_get(&t, 7, 0)->done && !export_task_get(&t, 8, 0)->done);

	/* id 0 is an id like any other */
	CHECK(export_task_get(&t, 0, 0) == NULL);
	a = export_task_get(&t, 0, 1);
	CHECK(a && a->id == 0 && t.nr == 3);
	CHECK(export_task_get(&t, 0, 0) == a);

	export_table_free(&t);
}

/* Past the first 16 tasks the array moves: every task keeps its ranges and flags. */
static void test_task_get_growth(void)
{
	struct export_table t = { 0 };
	const struct export_range *r;
	struct export_task *task;
	uint32_t id;

	for (id = 100; id < 140; id++) {
		task = export_task_get(&t, id, 1);
		CHECK(task && task->id == id);
		if (!task)
			break;
		CHECK(add(task, (uint64_t)id * PAGE, PAGE, id + 1000) == 0);
		CHECK(add(task, (uint64_t)id * 2 * PAGE + 0x100000, 2 * PAGE, id + 2000) == 0);
		CHECK(export_task_seal(task) == 0);
		task->done = id % 3 == 0;
	}
	CHECK(t.nr == 40 && t.cap >= 40);

	for (id = 100; id < 140; id++) {
		task = export_task_get(&t, id, 0);
		CHECK(task && task->id == id);
		if (!task)
			continue;
		CHECK(task->nr == 2);
		CHECK(task->done == (id % 3 == 0));
		r = export_lookup(&t, id, (uint64_t)id * PAGE);
		CHECK(r && r->rkey == id + 1000 && r->len == PAGE);
		r = export_lookup(&t, id, (uint64_t)id * 2 * PAGE + 0x100000 + 2 * PAGE - 1);
		CHECK(r && r->rkey == id + 2000);
	}
	/* nothing was created by the lookups */
	CHECK(t.nr == 40);
	CHECK(export_task_get(&t, 99, 0) == NULL && export_task_get(&t, 140, 0) == NULL);

	export_table_free(&t);
}

static void test_seal_sorts(void)
{
	struct export_table t = { 0 };
	struct export_task *task = export_task_get(&t, 1, 1);
	size_t i;

	if (!task) {
		CHECK(task);
		return;
	}
	CHECK(add(task, 0x9000, PAGE, 9) == 0);
	CHECK(add(task, 0x1000, PAGE, 1) == 0);
	CHECK(add(task, 0x5000, 2 * PAGE, 5) == 0);
	CHECK(add(task, 0x3000, PAGE, 3) == 0);
	CHECK(task->nr == 4);
	CHECK(export_task_seal(task) == 0);
	CHECK(task->nr == 4);
	CHECK(task->ranges[0].va == 0x1000 && task->ranges[0].rkey == 1);
	CHECK(task->ranges[1].va == 0x3000 && task->ranges[1].rkey == 3);
	CHECK(task->ranges[2].va == 0x5000 && task->ranges[2].rkey == 5 && task->ranges[2].len == 2 * PAGE);
	CHECK(task->ranges[3].va == 0x9000 && task->ranges[3].rkey == 9);
	for (i = 1; i < task->nr; i++)
		CHECK(task->ranges[i - 1].va + task->ranges[i - 1].len <= task->ranges[i].va);

	/* past the first 16 ranges, in reverse order */
	export_table_free(&t);
	task = export_task_get(&t, 1, 1);
	for (i = 40; i-- > 0;)
		CHECK(add(task, 0x100000 + i * 2 * PAGE, PAGE, (uint32_t)i) == 0);
	CHECK(task->nr == 40 && task->cap >= 40);
	CHECK(export_task_seal(task) == 0);
	for (i = 0; i < 40; i++)
		CHECK(task->ranges[i].va == 0x100000 + i * 2 * PAGE && task->ranges[i].rkey == i);
	export_table_free(&t);
}

/* Seals a fresh task holding @n ranges given as va, len pairs. */
static int seal_ranges(const uint64_t (*ranges)[2], size_t n)
{
	struct export_table t = { 0 };
	struct export_task *task = export_task_get(&t, 1, 1);
	size_t i;
	int ret;

	if (!task)
		return -2;
	for (i = 0; i < n; i++)
		if (add(task, ranges[i][0], ranges[i][1], (uint32_t)i))
			return -2;
	ret = export_task_seal(task);
	export_table_free(&t);
	return ret;
}

static void test_seal_overlaps(void)
{
	static const uint64_t adjacent[][2] = { { 0x3000, PAGE }, { 0x1000, 2 * PAGE }, { 0x4000, PAGE } };
	static const uint64_t overlap_by_one[][2] = { { 0x1000, PAGE + 1 }, { 0x2000, PAGE } };
	static const uint64_t overlap_reversed[][2] = { { 0x2000, PAGE }, { 0x1000, PAGE + 1 } };
	static const uint64_t contained[][2] = { { 0x1000, 0x10000 }, { 0x4000, PAGE } };
	static const uint64_t contained_last[][2] = { { 0x100000, PAGE }, { 0x1000, 0x10000 }, { 0x4000, PAGE } };
	static const uint64_t same_start[][2] = { { 0x1000, PAGE }, { 0x1000, 2 * PAGE } };
	static const uint64_t duplicate[][2] = { { 0x1000, PAGE }, { 0x1000, PAGE } };
	static const uint64_t duplicate_among[][2] = {
		{ 0x8000, PAGE }, { 0x1000, PAGE }, { 0x4000, PAGE }, { 0x1000, PAGE }, { 0x6000, PAGE },
	};
	static const uint64_t single[][2] = { { 0x7f0000000000ULL, 1ULL << 30 } };
	static const uint64_t top[][2] = { { 0x1000, PAGE }, { UINT64_MAX - 2 * PAGE + 1, PAGE } };

	CHECK(seal_ranges(adjacent, 3) == 0);
	CHECK(seal_ranges(overlap_by_one, 2) == -1);
	CHECK(seal_ranges(overlap_reversed, 2) == -1);
	CHECK(seal_ranges(contained, 2) == -1);
	CHECK(seal_ranges(contained_last, 3) == -1);
	CHECK(seal_ranges(same_start, 2) == -1);
	CHECK(seal_ranges(duplicate, 2) == -1);
	CHECK(seal_ranges(duplicate_among, 5) == -1);
	CHECK(seal_ranges(single, 1) == 0);
	CHECK(seal_ranges(NULL, 0) == 0);
	/* a range near the top of the address space that does not wrap */
	CHECK(seal_ranges(top, 2) == 0);
}

/*
 * A range whose end wraps around 2^64 (va + len < va) covers, taken
 * literally, the top of the address space and then the bottom.  Either way
 * the table must never hold two ranges claiming the same byte.
 */
static void test_seal_wrapping(void)
{
	/* wraps onto a range at the bottom of the address space */
	static const uint64_t wrap_onto_low[][2] = { { 0x1000, PAGE }, { UINT64_MAX - PAGE + 1, 2 * PAGE } };
	/* starts below another range at the top and wraps over it: a plain overlap at 0xffff...f000 */
	static const uint64_t wrap_over_high[][2] = {
		{ UINT64_MAX - 2 * PAGE + 1, 3 * PAGE },
		{ UINT64_MAX - PAGE + 1, PAGE },
	};
	struct export_table t = { 0 };
	struct export_task *task;

	/*
	 * A range that wraps past 2^64 has a tiny "end": seal must not be fooled
	 * into seeing no overlap (it once compared prev.va + prev.len > next.va).
	 * The target seals the table it receives from the source, so this is the
	 * check that catches a bad table from the wire.
	 */
	CHECK(seal_ranges(wrap_onto_low, 2) == -1);
	CHECK(seal_ranges(wrap_over_high, 2) == -1);

	/* A wrapping range alone, or one that ends exactly at 2^64, or an empty one: refused. */
	task = export_task_get(&t, 1, 1);
	if (!task) {
		CHECK(task);
		return;
	}
	CHECK(add(task, 0x10000, PAGE, 1) == 0);
	CHECK(add(task, UINT64_MAX - PAGE + 1, 2 * PAGE, 2) == 0);
	CHECK(export_task_seal(task) == -1);
	export_table_free(&t);
	task = export_task_get(&t, 1, 1);
	CHECK(task && add(task, UINT64_MAX - PAGE + 1, PAGE, 1) == 0 && export_task_seal(task) == -1);
	export_table_free(&t);
	task = export_task_get(&t, 1, 1);
	CHECK(task && add(task, 0x1000, 0, 1) == 0 && add(task, 0x1000, PAGE, 2) == 0 && export_task_seal(task) == -1);
	export_table_free(&t);
}

static void test_lookup_edges(void)
{
	struct export_table t = { 0 };
	struct export_task *task;
	const struct export_range *r;

	/* an empty table, then a task with no ranges */
	CHECK(export_lookup(&t, 1, 0x1000) == NULL);
	task = export_task_get(&t, 1, 1);
	if (!task) {
		CHECK(task);
		return;
	}
	CHECK(export_task_seal(task) == 0);
	CHECK(export_lookup(&t, 1, 0) == NULL);
	CHECK(export_lookup(&t, 1, 0x1000) == NULL);
	CHECK(export_lookup(&t, 1, UINT64_MAX) == NULL);

	/* ranges [0x10000, 0x12000) [0x20000, 0x21000) [0x21000, 0x23000) */
	CHECK(add(task, 0x21000, 2 * PAGE, 3) == 0);
	CHECK(add(task, 0x10000, 2 * PAGE, 1) == 0);
	CHECK(add(task, 0x20000, PAGE, 2) == 0);
	CHECK(export_task_seal(task) == 0);

	/* an unknown task, even at a VA another task exports; and nothing created */
	CHECK(export_lookup(&t, 2, 0x10000) == NULL);
	CHECK(t.nr == 1);

	CHECK(export_lookup(&t, 1, 0) == NULL);
	CHECK(export_lookup(&t, 1, 0xffff) == NULL);
	r = export_lookup(&t, 1, 0x10000);
	CHECK(r && r->rkey == 1 && r->va == 0x10000 && r->len == 2 * PAGE);
	r = export_lookup(&t, 1, 0x10001);
	CHECK(r && r->rkey == 1);
	r = export_lookup(&t, 1, 0x11fff);
	CHECK(r && r->rkey == 1);
	/* va + len is the first byte after it: in the gap */
	CHECK(export_lookup(&t, 1, 0x12000) == NULL);
	CHECK(export_lookup(&t, 1, 0x18000) == NULL);
	CHECK(export_lookup(&t, 1, 0x1ffff) == NULL);
	r = export_lookup(&t, 1, 0x20000);
	CHECK(r && r->rkey == 2);
	r = export_lookup(&t, 1, 0x20fff);
	CHECK(r && r->rkey == 2);
	/* adjacent ranges: the boundary belongs to the second */
	r = export_lookup(&t, 1, 0x21000);
	CHECK(r && r->rkey == 3);
	r = export_lookup(&t, 1, 0x22fff);
	CHECK(r && r->rkey == 3);
	CHECK(export_lookup(&t, 1, 0x23000) == NULL);
	CHECK(export_lookup(&t, 1, 0x100000) == NULL);
	CHECK(export_lookup(&t, 1, UINT64_MAX) == NULL);

	/* a single range */
	task = export_task_get(&t, 5, 1);
	CHECK(add(task, 0x7f0000000000ULL, 1, 50) == 0);
	CHECK(export_task_seal(task) == 0);
	r = export_lookup(&t, 5, 0x7f0000000000ULL);
	CHECK(r && r->rkey == 50);
	CHECK(export_lookup(&t, 5, 0x7f0000000000ULL - 1) == NULL);
	CHECK(export_lookup(&t, 5, 0x7f0000000001ULL) == NULL);
	/* and the other task still answers */
	r = export_lookup(&t, 1, 0x20000);
	CHECK(r && r->rkey == 2);

	export_table_free(&t);
}

/* 1000 ranges of random sizes and gaps, added shuffled: binary search against a linear scan. */
static void test_lookup_many(void)
{
	enum { N = 1000 };
	struct export_table t = { 0 };
	struct export_task *task;
	uint64_t(*ranges)[2] = calloc(N, sizeof(*ranges));
	uint64_t va = 0x10000, probe;
	unsigned int mismatches = 0, found = 0, missed = 0;
	size_t i, j;

	task = export_task_get(&t, 42, 1);
	if (!ranges || !task) {
		CHECK(ranges && task);
		free(ranges);
		return;
	}
	for (i = 0; i < N; i++) {
		/* every fourth range adjacent to the one before */
		if (i && i % 4)
			va += (rng() % 8) * PAGE;
		ranges[i][0] = va;
		ranges[i][1] = (1 + rng() % 16) * PAGE;
		va += ranges[i][1];
	}
	/* shuffled (Fisher-Yates) */
	for (i = N - 1; i > 0; i--) {
		uint64_t tmp[2];

		j = rng() % (i + 1);
		memcpy(tmp, ranges[i], sizeof(tmp));
		memcpy(ranges[i], ranges[j], sizeof(tmp));
		memcpy(ranges[j], tmp, sizeof(tmp));
	}
	for (i = 0; i < N; i++)
		CHECK(add(task, ranges[i][0], ranges[i][1], (uint32_t)(ranges[i][0] / PAGE)) == 0);
	CHECK(task->nr == N);
	CHECK(export_task_seal(task) == 0);
	for (i = 1; i < N; i++)
		CHECK(task->ranges[i - 1].va + task->ranges[i - 1].len <= task->ranges[i].va);

	/* every range's edges, and the bytes either side of them */
	for (i = 0; i < N; i++) {
		const uint64_t at[] = {
			task->ranges[i].va - 1,
			task->ranges[i].va,
			task->ranges[i].va + 1,
			task->ranges[i].va + task->ranges[i].len - 1,
			task->ranges[i].va + task->ranges[i].len,
		};

		for (j = 0; j < sizeof(at) / sizeof(at[0]); j++) {
			const struct export_range *r = export_lookup(&t, 42, at[j]);

			if (r != linear_lookup(task, at[j]))
				mismatches++;
		}
		/* the range's own start and last byte find it */
		CHECK(export_lookup(&t, 42, task->ranges[i].va) == &task->ranges[i]);
		CHECK(export_lookup(&t, 42, task->ranges[i].va + task->ranges[i].len - 1) == &task->ranges[i]);
	}
	/* random VAs across the whole span and a little beyond */
	for (i = 0; i < 100000; i++) {
		const struct export_range *r, *want;

		probe = rng() % (va + 0x10000);
		r = export_lookup(&t, 42, probe);
		want = linear_lookup(task, probe);
		if (r != want)
			mismatches++;
		if (r && r->rkey != (uint32_t)(r->va / PAGE))
			mismatches++;
		if (want)
			found++;
		else
			missed++;
	}
	CHECK(mismatches == 0);
	/* both answers were exercised */
	CHECK(found > 1000 && missed > 1000);
	CHECK(export_lookup(&t, 42, 0) == NULL);
	CHECK(export_lookup(&t, 42, va) == NULL);
	CHECK(export_lookup(&t, 42, UINT64_MAX) == NULL);
	CHECK(export_lookup(&t, 43, task->ranges[0].va) == NULL);

	free(ranges);
	export_table_free(&t);
}

/* One region per run of adjacent ranges; holes split runs. */
static void test_next_run(void)
{
	struct iovec iovs[] = {
		{ (void *)0x1000, 0x1000 },
		{ (void *)0x2000, 0x2000 },
		{ (void *)0x6000, 0x1000 },
		{ (void *)0x8000, 0x1000 },
	};
	struct iovec many[] = {
		{ (void *)0x10000, 0x1000 }, { (void *)0x11000, 0x1000 }, { (void *)0x12000, 0x3000 },
		{ (void *)0x15000, 0x1000 }, { (void *)0x17000, 0x1000 }, { (void *)0x18000, 0x1000 },
	};
	struct iovec one[] = { { (void *)0x7f0000000000ULL, 0x5000 } };
	uint64_t va, len;
	unsigned int i;

	i = export_next_run(iovs, 4, 0, &va, &len);
	CHECK(i == 2 && va == 0x1000 && len == 0x3000);
	i = export_next_run(iovs, 4, i, &va, &len);
	CHECK(i == 3 && va == 0x6000 && len == 0x1000);
	i = export_next_run(iovs, 4, i, &va, &len);
	CHECK(i == 4 && va == 0x8000 && len == 0x1000);

	/* a single iovec */
	i = export_next_run(one, 1, 0, &va, &len);
	CHECK(i == 1 && va == 0x7f0000000000ULL && len == 0x5000);

	/* four adjacent merged, then a run of two ending at the last index */
	i = export_next_run(many, 6, 0, &va, &len);
	CHECK(i == 4 && va == 0x10000 && len == 0x6000);
	i = export_next_run(many, 6, i, &va, &len);
	CHECK(i == 6 && va == 0x17000 && len == 0x2000);

	/* starting inside a run takes the rest of it */
	i = export_next_run(many, 6, 2, &va, &len);
	CHECK(i == 4 && va == 0x12000 && len == 0x4000);

	/* @nr bounds the run even when the next iovec is adjacent */
	i = export_next_run(many, 2, 0, &va, &len);
	CHECK(i == 2 && va == 0x10000 && len == 0x2000);
	i = export_next_run(many, 5, 4, &va, &len);
	CHECK(i == 5 && va == 0x17000 && len == 0x1000);

	/* all adjacent: one run */
	i = export_next_run(many, 4, 0, &va, &len);
	CHECK(i == 4 && va == 0x10000 && len == 0x6000);
}

static void test_free_reuse(void)
{
	static const struct export_table zero;
	struct export_table t = { 0 };
	struct export_task *task;
	const struct export_range *r;
	uint32_t id;

	/* freeing an empty table */
	export_table_free(&t);
	CHECK(memcmp(&t, &zero, sizeof(t)) == 0);

	for (id = 1; id <= 20; id++) {
		task = export_task_get(&t, id, 1);
		CHECK(task && add(task, id * 0x100000ULL, PAGE, id) == 0 && export_task_seal(task) == 0);
	}
	CHECK(t.nr == 20);
	export_table_free(&t);
	CHECK(t.nr == 0 && t.cap == 0 && t.tasks == NULL);
	CHECK(memcmp(&t, &zero, sizeof(t)) == 0);
	CHECK(export_task_get(&t, 1, 0) == NULL);
	CHECK(export_lookup(&t, 1, 0x100000) == NULL);

	/* reused: the old tasks are gone, a new one works */
	task = export_task_get(&t, 3, 1);
	CHECK(task && task->id == 3 && task->nr == 0 && task->ranges == NULL && !task->done);
	CHECK(t.nr == 1);
	if (task) {
		CHECK(add(task, 0x5000, PAGE, 77) == 0 && export_task_seal(task) == 0);
		r = export_lookup(&t, 3, 0x5fff);
		CHECK(r && r->rkey == 77);
		CHECK(export_lookup(&t, 3, 3 * 0x100000ULL) == NULL);
	}
	CHECK(export_task_get(&t, 1, 0) == NULL);
	export_table_free(&t);
	CHECK(memcmp(&t, &zero, sizeof(t)) == 0);
	/* twice is harmless */
	export_table_free(&t);
	CHECK(memcmp(&t, &zero, sizeof(t)) == 0);
}

/* Builds the table a source would send: tasks in @order, each with two ranges. */
static void build(struct export_table *t, const uint32_t *order, size_t n, uint32_t rkey_bump, uint64_t len_bump)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct export_task *task = export_task_get(t, order[i], 1);

		CHECK(task && add(task, order[i] * 0x100000ULL, PAGE, order[i]) == 0);
		CHECK(task && add(task, order[i] * 0x100000ULL + 8 * PAGE, 2 * PAGE + (i ? 0 : len_bump),
				  order[i] + 100 + (i ? 0 : rkey_bump)) == 0);
		CHECK(task && export_task_seal(task) == 0);
	}
}

/* A reconnection resumes only a source that exports exactly what it did. */
static void test_same(void)
{
	static const uint32_t ids[] = { 1, 2, 3 }, shuffled[] = { 3, 1, 2 }, fewer[] = { 1, 2 }, other[] = { 1, 2, 4 };
	struct export_table a = { 0 }, b = { 0 };

	build(&a, ids, 3, 0, 0);
	build(&b, shuffled, 3, 0, 0);
	CHECK(export_table_same(&a, &a));
	CHECK(export_table_same(&a, &b) && export_table_same(&b, &a));
	export_table_free(&b);
	build(&b, fewer, 2, 0, 0);
	CHECK(!export_table_same(&a, &b) && !export_table_same(&b, &a));
	export_table_free(&b);
	build(&b, other, 3, 0, 0);
	CHECK(!export_table_same(&a, &b));
	export_table_free(&b);
	/* one rkey differs (memory registered again), or one length */
	build(&b, ids, 3, 1, 0);
	CHECK(!export_table_same(&a, &b));
	export_table_free(&b);
	build(&b, ids, 3, 0, PAGE);
	CHECK(!export_table_same(&a, &b));
	export_table_free(&b);
	/* a task with a range more */
	build(&b, ids, 3, 0, 0);
	CHECK(add(&b.tasks[1], 0x900000ULL, PAGE, 9) == 0 && export_task_seal(&b.tasks[1]) == 0);
	CHECK(!export_table_same(&a, &b));
	export_table_free(&b);
	CHECK(!export_table_same(&a, &b));
	export_table_free(&a);
	CHECK(export_table_same(&a, &b));
}

int main(void)
{
	test_task_get();
	test_task_get_growth();
	test_seal_sorts();
	test_seal_overlaps();
	test_seal_wrapping();
	test_lookup_edges();
	test_lookup_many();
	test_next_run();
	test_free_reuse();
	test_same();
	return check_report("export_table");
}
