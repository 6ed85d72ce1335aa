// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the target's request queue, with no verbs: a fake READ
 * poster records every READ the queue posts, and the test completes them,
 * in an order of its choosing, by copying a fake source memory into the
 * READ's local buffer and calling fq_read_done.  A fake CRIU completion
 * checks, when it is called, that the memory it is handed holds exactly the
 * source bytes of its request, and (one copy) that it is not CRIU's buffer,
 * which the queue must then never write.  Every test runs with one_copy on
 * and off.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "export_table.h"
#include "fetch_queue.h"
#include "fetch_stats.h"

#define PAGE 4096UL

/*
 * The source's exported memory.  Task 1: A and B adjacent (one run, two
 * rkeys), C after a gap.  Task 2: D, at the same VAs as the start of A but
 * with its own rkey, so a lookup in the wrong task gives the wrong bytes.
 */
#define T1    1UL
#define T2    2UL
#define VA_A  0x100000UL
#define VA_B  0x108000UL
#define VA_C  0x200000UL
#define VA_D  0x100000UL
#define RK_A  0xa1u
#define RK_B  0xb2u
#define RK_C  0xc3u
#define RK_D  0xd4u
#define PG_AB 16 /* pages of the run A+B (8 + 8) */
#define PG_C  4
#define PG_D  4

static struct export_table table;

/* The byte of the source memory at @va, reached through @rkey. */
static uint8_t src_byte(uint32_t rkey, uint64_t va)
{
	uint64_t x = va * 0x9e3779b97f4a7c15ULL ^ (uint64_t)rkey * 0xc2b2ae3d27d4eb4fULL;

	x ^= x >> 29;
	x ^= x >> 17;
	return (uint8_t)x;
}

/* A deterministic generator (xorshift64), so that a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* How the queue under test is set up, beyond each test's own sizes. */
static struct {
	bool one_copy;
	unsigned int nr_stage, bg_cap, bg_depth;
	uint32_t stage_size, handover;
	double bg_hold;
	bool given_pool; /* the pool's memory comes with the setup */
} mode;

/* The fake clock. */
static double clock_now;

static double fake_now(void)
{
	return clock_now;
}

/* The fake READ poster: every READ posted, and which are still on the wire. */
struct fake_read {
	bool lane;
	unsigned int slot;
	uint8_t *local;
	uint64_t raddr;
	uint32_t rkey, len;
	bool done;
};

#define MAX_READS 32768
#define MAX_OUT	  256

static struct {
	const struct fetch_queue *q;
	struct fake_read r[MAX_READS];
	unsigned int nr;
	unsigned int out[MAX_OUT], nr_out; /* indices of READs not yet completed */
	unsigned int out_bg, out_fault, max_bg, max_fault;
	unsigned int unflushed, flushes; /* READs posted since the last flush; flushes that sent any */
	bool fail;			 /* every post fails while set */
} fp;

/* Whether [@raddr, @raddr + @len) lies inside one exported range reached by @rkey. */
static bool in_one_range(uint64_t raddr, uint32_t len, uint32_t rkey)
{
	size_t i, j;

	for (i = 0; i < table.nr; i++)
		for (j = 0; j < table.tasks[i].nr; j++) {
			const struct export_range *r = &table.tasks[i].ranges[j];

			if (r->rkey == rkey && raddr >= r->va && raddr - r->va + len <= r->len)
				return true;
		}
	return false;
}

static bool in_slot_or_stage(const struct fetch_queue *q, unsigned int slot, const uint8_t *local, uint32_t len)
{
	const uint8_t *stages = q->pool + (size_t)q->nr_slots * q->read_size;
	size_t off;

	if (local == q->pool + (size_t)slot * q->read_size)
		return true;
	if (!q->one_copy || local < stages || local >= stages + (size_t)q->nr_stage * q->stage_size)
		return false;
	off = (size_t)(local - stages) % q->stage_size;
	return off + len <= q->stage_size;
}

static int fake_post(void *ctx, bool lane, unsigned int slot, void *local, uint64_t raddr, uint32_t rkey, uint32_t len)
{
	const struct fetch_queue *q = fp.q;
	struct fake_read *f;
	unsigned int i;

	CHECK(ctx == &fp);
	if (fp.fail)
		return -1;
	/* never into a slot that is taken: a READ on the wire, or a ready request's pages */
	CHECK(slot < q->nr_slots && !q->slots[slot].req);
	/* slots [0, nr_bg) on the main QP, the rest on the lane */
	CHECK(slot < q->nr_slots);
	CHECK(lane == (slot >= q->nr_bg));
	/* into the slot's own part of the pool, or inside one staging buffer */
	CHECK(in_slot_or_stage(q, slot, local, len));
	CHECK(len > 0 && len <= q->read_size);
	CHECK(in_one_range(raddr, len, rkey));
	/* never into a slot whose READ is still on the wire */
	for (i = 0; i < fp.nr_out; i++)
		CHECK(fp.r[fp.out[i]].slot != slot);
	CHECK(fp.nr < MAX_READS && fp.nr_out < MAX_OUT);
	if (fp.nr >= MAX_READS || fp.nr_out >= MAX_OUT)
		return -1;
	f = &fp.r[fp.nr];
	*f = (struct fake_read){ lane, slot, local, raddr, rkey, len, false };
	fp.unflushed++;
	fp.out[fp.nr_out++] = fp.nr++;
	if (lane) {
		if (++fp.out_fault > fp.max_fault)
			fp.max_fault = fp.out_fault;
	} else {
		if (++fp.out_bg > fp.max_bg)
			fp.max_bg = fp.out_bg;
	}
	return 0;
}

/* Sends what was posted: the queue calls it once it has posted, never with nothing to send. */
static int fake_flush(void *ctx)
{
	CHECK(ctx == &fp);
	CHECK(fp.unflushed > 0);
	fp.unflushed = 0;
	fp.flushes++;
	return 0;
}

/* The READ posted @i-th lands: its bytes arrive in its local buffer, then its completion. */
static int land(struct fetch_queue *q, unsigned int i, bool ok)
{
	struct fake_read *f = &fp.r[i];
	unsigned int k;

	/* nothing lands that was posted and not sent */
	CHECK(fp.unflushed == 0);
	CHECK(i < fp.nr && !f->done);
	if (i >= fp.nr || f->done)
		return -2;
	for (k = 0; k < f->len; k++)
		f->local[k] = src_byte(f->rkey, f->raddr + k);
	f->done = true;
	for (k = 0; k < fp.nr_out; k++)
		if (fp.out[k] == i)
			fp.out[k] = fp.out[--fp.nr_out];
	if (f->lane)
		fp.out_fault--;
	else
		fp.out_bg--;
	return fq_read_done(q, f->slot, ok);
}

/* The not yet completed READ of @rkey at @raddr. */
static unsigned int find_read(uint32_t rkey, uint64_t raddr)
{
	unsigned int i;

	for (i = 0; i < fp.nr; i++)
		if (!fp.r[i].done && fp.r[i].rkey == rkey && fp.r[i].raddr == raddr)
			return i;
	CHECK(!"no such READ in flight");
	return UINT_MAX;
}

static bool read_is(unsigned int i, bool lane, uint64_t raddr, uint32_t rkey, uint32_t len)
{
	return i < fp.nr && fp.r[i].lane == lane && fp.r[i].raddr == raddr && fp.r[i].rkey == rkey &&
	       fp.r[i].len == len;
}

/* CRIU's buffer of a task: every request of the task gets the same one. */
#define BUF_PAGES 16
#define GUARD	  0xee

struct task_buf {
	uint8_t *buf;
};

static struct task_buf bufs[3];

static struct task_buf *task_buf(unsigned long img_id)
{
	return &bufs[img_id < 3 ? img_id : 0];
}

/* The requests submitted, and what CRIU's completion saw. */
struct sub {
	unsigned long img_id, vaddr, nr_pages;
	bool fault, done;
	uint8_t *buf;
	unsigned long handed; /* pages CRIU has had in parts */
};

struct done {
	unsigned long img_id, vaddr, nr_pages;
	bool data_ok;
	double at;
};

#define MAX_SUBS 1024

static struct {
	struct sub s[MAX_SUBS];
	unsigned int nr_subs;
	struct done d[MAX_SUBS];
	unsigned int nr_done;
	unsigned int parts; /* completions of a part of a request */
	int ret;	    /* what the completion returns */
	double advance;	    /* how long the completion takes (UFFDIO_COPY) */
} cr;

/* Whether @buf holds exactly the source bytes of task @img_id's @nr_pages at @vaddr. */
static bool holds_source(const uint8_t *buf, unsigned long img_id, unsigned long vaddr, unsigned long nr_pages)
{
	unsigned long p, k;

	for (p = 0; p < nr_pages; p++) {
		uint64_t va = vaddr + p * PAGE;
		const struct export_range *r = export_lookup(&table, (uint32_t)img_id, va);

		if (!r)
			return false;
		for (k = 0; k < PAGE; k++)
			if (buf[p * PAGE + k] != src_byte(r->rkey, va + k))
				return false;
	}
	return true;
}

/*
 * @priv is the request's own record, so that each is told apart.  A request
 * may come in parts (CR_LAZY_COMPLETE_PART), front to back; it is done with
 * its last page, and recorded as a whole then.
 */
static int fake_complete(unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *data,
			 unsigned int flags, void *priv)
{
	struct sub *s = priv;
	struct done *d;
	bool part = flags & CR_LAZY_COMPLETE_PART, ok;

	CHECK(s >= cr.s && s < cr.s + cr.nr_subs);
	CHECK(cr.nr_done < MAX_SUBS);
	if (s < cr.s || s >= cr.s + cr.nr_subs || cr.nr_done >= MAX_SUBS)
		return -1;
	/* the request's own values, the pages after those it had, and each completes exactly once */
	CHECK(flags == 0 || flags == CR_LAZY_COMPLETE_PART);
	CHECK(s->img_id == img_id && s->vaddr + s->handed * PAGE == vaddr && nr_pages > 0);
	CHECK(part ? s->handed + nr_pages < s->nr_pages : s->handed + nr_pages == s->nr_pages);
	CHECK(!s->done);
	/* only the background comes in parts */
	CHECK(!part || !s->fault);
	/* one copy: the pages where the READs put them; else copied into CRIU's buffer */
	CHECK(mode.one_copy ? data != s->buf + s->handed * PAGE : data == s->buf + s->handed * PAGE);
	ok = data && nr_pages <= BUF_PAGES && holds_source(data, img_id, vaddr, nr_pages);
	CHECK(ok);
	s->handed += nr_pages;
	clock_now += cr.advance;
	if (part) {
		cr.parts++;
		return cr.ret;
	}
	s->done = true;
	d = &cr.d[cr.nr_done++];
	*d = (struct done){ img_id, s->vaddr, s->nr_pages, ok, clock_now };
	return cr.ret;
}

/* @more: a range of a background request whose next range follows */
static int submit_range(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr, unsigned long nr_pages,
			enum fq_kind kind, bool more)
{
	struct sub *s = &cr.s[cr.nr_subs];
	bool fault = kind != FQ_BACKGROUND;

	CHECK(cr.nr_subs < MAX_SUBS);
	if (cr.nr_subs >= MAX_SUBS)
		return -2;
	/* CRIU's buffer is the task's: every request of a task gets the same one */
	*s = (struct sub){ img_id, vaddr, nr_pages, fault, false, task_buf(img_id)->buf, 0 };
	cr.nr_subs++;
	return fq_submit(q, img_id, vaddr, nr_pages, s->buf, kind, more, fake_complete, s);
}

static int submit_kind(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr, unsigned long nr_pages,
		       enum fq_kind kind)
{
	return submit_range(q, img_id, vaddr, nr_pages, kind, false);
}

static int submit(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, bool fault)
{
	return submit_kind(q, img_id, vaddr, nr_pages, fault ? FQ_FAULT : FQ_BACKGROUND);
}

/* Submitted requests not completed yet (all of them, or the faults). */
static unsigned int not_done(bool faults_only)
{
	unsigned int i, n = 0;

	for (i = 0; i < cr.nr_subs; i++)
		if (!cr.s[i].done && (cr.s[i].fault || !faults_only))
			n++;
	return n;
}

/* Nothing written past CRIU's buffers, and (one copy) nothing into them at all. */
static bool guards_intact(void)
{
	unsigned int i;
	size_t k;

	for (i = 0; i < 3; i++) {
		for (k = BUF_PAGES * PAGE; k < (BUF_PAGES + 1) * PAGE; k++)
			if (bufs[i].buf[k] != GUARD)
				return false;
		for (k = 0; mode.one_copy && k < BUF_PAGES * PAGE; k++)
			if (bufs[i].buf[k])
				return false;
	}
	return true;
}

static int setup(struct fetch_queue *q, unsigned int nr_bg, unsigned int nr_fault, uint32_t read_size,
		 struct fetch_stats *stats)
{
	struct fq_setup s = {
		.table = &table,
		.page = PAGE,
		.read_size = read_size,
		.nr_bg = nr_bg,
		.nr_fault = nr_fault,
		.post = fake_post,
		.flush = fake_flush,
		.post_ctx = &fp,
		.stats = stats,
		.now = fake_now,
		.bg_depth = mode.bg_depth,
		.bg_cap_fault = mode.bg_cap,
		.bg_hold = mode.bg_hold,
		.one_copy = mode.one_copy,
		.nr_stage = mode.nr_stage,
		.stage_size = mode.stage_size,
		.handover = mode.handover,
	};
	unsigned int i;
	int ret;

	memset(&fp, 0, sizeof(fp));
	memset(&cr, 0, sizeof(cr));
	for (i = 0; i < 3; i++) {
		memset(bufs[i].buf, 0, BUF_PAGES * PAGE);
		memset(bufs[i].buf + BUF_PAGES * PAGE, GUARD, PAGE);
	}
	fp.q = q;
	if (mode.given_pool && posix_memalign(&s.pool, PAGE, fq_pool_size_for(&s))) {
		fprintf(stderr, "no memory\n");
		return -1;
	}
	ret = fq_init(q, &s);
	CHECK(ret == 0);
	CHECK(!s.pool || q->pool == s.pool);
	CHECK(fq_pool_size(q) == fq_pool_size_for(&s));
	return ret;
}

/* What a test leaves behind: everything completed, nothing touched past the buffers. */
static void teardown(struct fetch_queue *q)
{
	CHECK(guards_intact());
	fq_fini(q);
	CHECK(q->slots == NULL && q->pool == NULL && q->fault_q == NULL && q->bg_q == NULL);
}

/* A fault goes on the lane into a fault slot; background on the main QP. */
static void test_routing(void)
{
	struct fetch_queue q;
	unsigned int f1, f2, g;

	if (setup(&q, 2, 2, 4 * PAGE, NULL))
		return;
	CHECK(fq_pool_size(&q) == 4 * 4 * PAGE + (size_t)q.nr_stage * q.stage_size);
	CHECK(!fq_busy(&q) && !fq_faults_pending(&q));

	CHECK(submit(&q, T1, VA_A + 2 * PAGE, 1, true) == 0);
	CHECK(fp.nr == 1);
	f1 = 0;
	CHECK(read_is(f1, true, VA_A + 2 * PAGE, RK_A, PAGE));
	CHECK(fp.r[f1].slot >= 2 && fp.r[f1].slot < 4);
	CHECK(fq_busy(&q) && fq_faults_pending(&q));

	CHECK(submit(&q, T2, VA_D + PAGE, 2, false) == 0);
	CHECK(fp.nr == 2);
	g = 1;
	CHECK(read_is(g, false, VA_D + PAGE, RK_D, 2 * PAGE));
	CHECK(fp.r[g].slot < 2);
	CHECK(cr.nr_done == 0);
	/* what the target hands CRIU first when both complete together */
	CHECK(fq_slot_is_fault(&q, fp.r[f1].slot) && !fq_slot_is_fault(&q, fp.r[g].slot));
	CHECK(!fq_slot_is_fault(&q, 4) && !fq_slot_is_fault(&q, UINT_MAX));

	/* the background request completes first: the fault is still pending */
	CHECK(land(&q, g, true) == 0);
	CHECK(fq_slot_is_fault(&q, fp.r[f1].slot));
	CHECK(cr.nr_done == 1 && cr.d[0].img_id == T2 && cr.d[0].vaddr == VA_D + PAGE && cr.d[0].nr_pages == 2);
	CHECK(fq_busy(&q) && fq_faults_pending(&q));

	/* a second fault takes the other fault slot */
	CHECK(submit(&q, T1, VA_B, 1, true) == 0);
	CHECK(fp.nr == 3);
	f2 = 2;
	CHECK(read_is(f2, true, VA_B, RK_B, PAGE));
	CHECK(fp.r[f2].slot >= 2 && fp.r[f2].slot < 4 && fp.r[f2].slot != fp.r[f1].slot);

	CHECK(land(&q, f1, true) == 0);
	CHECK(cr.nr_done == 2 && cr.d[1].img_id == T1 && cr.d[1].vaddr == VA_A + 2 * PAGE && cr.d[1].nr_pages == 1);
	CHECK(fq_busy(&q) && fq_faults_pending(&q));
	CHECK(land(&q, f2, true) == 0);
	CHECK(cr.nr_done == 3 && cr.d[2].vaddr == VA_B);
	/* a free slot holds no fault */
	CHECK(!fq_slot_is_fault(&q, fp.r[f1].slot) && !fq_slot_is_fault(&q, fp.r[f2].slot));
	CHECK(!fq_busy(&q) && !fq_faults_pending(&q));
	CHECK(q.reads == 3);
	CHECK(not_done(false) == 0);
	teardown(&q);
}

/* A request of 6 pages across the end of A into B, READs of 2 pages: clipped at A's end. */
static void test_split_across_ranges(void)
{
	struct fetch_queue q;
	unsigned int i;

	if (setup(&q, 8, 2, 2 * PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A + 5 * PAGE, 6, false) == 0);
	CHECK(fp.nr == 4);
	CHECK(read_is(0, false, VA_A + 5 * PAGE, RK_A, 2 * PAGE));
	CHECK(read_is(1, false, VA_A + 7 * PAGE, RK_A, PAGE));
	CHECK(read_is(2, false, VA_B, RK_B, 2 * PAGE));
	CHECK(read_is(3, false, VA_B + 2 * PAGE, RK_B, PAGE));
	for (i = 0; i < 4; i++)
		CHECK(fp.r[i].slot < 8);
	CHECK(fp.r[0].slot != fp.r[1].slot && fp.r[2].slot != fp.r[3].slot && fp.r[0].slot != fp.r[3].slot);

	/* reversed: CRIU hears of it only once the last READ is in */
	for (i = 4; i-- > 1;) {
		CHECK(land(&q, i, true) == 0);
		CHECK(cr.nr_done == 0 && fq_busy(&q));
	}
	CHECK(land(&q, 0, true) == 0);
	CHECK(cr.nr_done == 1 && cr.d[0].img_id == T1 && cr.d[0].vaddr == VA_A + 5 * PAGE && cr.d[0].nr_pages == 6);
	CHECK(cr.d[0].data_ok);
	CHECK(!fq_busy(&q));

	/* exactly read_size: one READ; one page more: two */
	CHECK(submit(&q, T1, VA_C, 2, false) == 0);
	CHECK(fp.nr == 5 && read_is(4, false, VA_C, RK_C, 2 * PAGE));
	CHECK(land(&q, 4, true) == 0 && cr.nr_done == 2);
	CHECK(submit(&q, T1, VA_C, 3, false) == 0);
	CHECK(fp.nr == 7 && read_is(5, false, VA_C, RK_C, 2 * PAGE) && read_is(6, false, VA_C + 2 * PAGE, RK_C, PAGE));
	CHECK(land(&q, 6, true) == 0 && cr.nr_done == 2);
	CHECK(land(&q, 5, true) == 0 && cr.nr_done == 3 && cr.d[2].nr_pages == 3);
	CHECK(!fq_busy(&q));
	teardown(&q);
}

/*
 * The whole run A+B in one request, for several READ sizes: contiguous READs
 * at the VA, each at most read_size, none across A's end, each with its
 * range's rkey; completed in a random order.
 */
static void test_split_sizes(void)
{
	static const unsigned int sizes[] = { 1, 2, 3, 5, 8, 16, 32 };
	unsigned int z, i, want;

	for (z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		uint32_t rs = sizes[z] * PAGE;
		struct fetch_queue q;
		uint64_t va = VA_A;

		if (setup(&q, 64, 1, rs, NULL))
			return;
		CHECK(submit(&q, T1, VA_A, PG_AB, false) == 0);
		/* each of A and B (8 pages) in ceil(8 / size) READs */
		want = 2 * ((8 + sizes[z] - 1) / sizes[z]);
		CHECK(fp.nr == want);
		for (i = 0; i < fp.nr; i++) {
			const struct fake_read *f = &fp.r[i];

			CHECK(!f->lane && f->raddr == va && f->len <= rs);
			CHECK(f->rkey == (f->raddr < VA_B ? RK_A : RK_B));
			CHECK(f->raddr >= VA_B || f->raddr + f->len <= VA_B);
			va += f->len;
		}
		CHECK(va == VA_A + PG_AB * PAGE);
		while (fp.nr_out) {
			CHECK(cr.nr_done == 0);
			CHECK(land(&q, fp.out[rng() % fp.nr_out], true) == 0);
		}
		CHECK(cr.nr_done == 1 && cr.d[0].nr_pages == PG_AB && cr.d[0].data_ok);
		CHECK(!fq_busy(&q));
		teardown(&q);
	}
}

/* At most nr_bg and nr_fault READs in flight; the rest posted as slots free up; faults never wait. */
static void test_limits(void)
{
	struct fetch_queue q;
	unsigned int s0, s1;

	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 5, false) == 0); /* R1 */
	CHECK(fp.nr == 2 && read_is(0, false, VA_A, RK_A, PAGE) && read_is(1, false, VA_A + PAGE, RK_A, PAGE));
	s0 = fp.r[0].slot;
	s1 = fp.r[1].slot;
	CHECK(s0 < 2 && s1 < 2 && s0 != s1);
	CHECK(submit(&q, T1, VA_C, 3, false) == 0); /* R2 waits */
	CHECK(fp.nr == 2 && fp.out_bg == 2);
	CHECK(!fq_faults_pending(&q) && fq_busy(&q));

	/* every background slot busy: a fault is posted at once */
	clock_now = 1.0;
	CHECK(submit(&q, T1, VA_B + 3 * PAGE, 1, true) == 0); /* F1 */
	CHECK(fp.nr == 3 && read_is(2, true, VA_B + 3 * PAGE, RK_B, PAGE) && fp.r[2].slot == 2);
	CHECK(fq_faults_pending(&q));
	/* the one fault slot busy: the next fault waits for it, not for background */
	CHECK(submit(&q, T2, VA_D, 1, true) == 0); /* F2 */
	CHECK(fp.nr == 3);
	CHECK(land(&q, 2, true) == 0);
	CHECK(cr.nr_done == 1 && cr.d[0].vaddr == VA_B + 3 * PAGE);
	CHECK(fp.nr == 4 && read_is(3, true, VA_D, RK_D, PAGE) && fp.r[3].slot == 2);
	CHECK(fq_faults_pending(&q));

	/* background READs posted one by one as slots free up, R1 before R2 */
	CHECK(land(&q, 0, true) == 0);
	CHECK(fp.nr == 5 && read_is(4, false, VA_A + 2 * PAGE, RK_A, PAGE) && fp.r[4].slot == s0);
	CHECK(land(&q, 1, true) == 0);
	CHECK(fp.nr == 6 && read_is(5, false, VA_A + 3 * PAGE, RK_A, PAGE) && fp.r[5].slot == s1);
	CHECK(land(&q, 4, true) == 0);
	CHECK(fp.nr == 7 && read_is(6, false, VA_A + 4 * PAGE, RK_A, PAGE));
	CHECK(land(&q, 5, true) == 0);
	CHECK(fp.nr == 8 && read_is(7, false, VA_C, RK_C, PAGE));
	CHECK(cr.nr_done == 1);
	CHECK(land(&q, 6, true) == 0);
	CHECK(cr.nr_done == 2 && cr.d[1].vaddr == VA_A && cr.d[1].nr_pages == 5);
	CHECK(fp.nr == 9 && read_is(8, false, VA_C + PAGE, RK_C, PAGE));
	CHECK(land(&q, 3, true) == 0);
	CHECK(cr.nr_done == 3 && cr.d[2].img_id == T2 && cr.d[2].vaddr == VA_D);
	CHECK(!fq_faults_pending(&q) && fq_busy(&q));
	CHECK(land(&q, 8, true) == 0);
	CHECK(fp.nr == 10 && read_is(9, false, VA_C + 2 * PAGE, RK_C, PAGE));
	CHECK(land(&q, 7, true) == 0);
	CHECK(land(&q, 9, true) == 0);
	CHECK(cr.nr_done == 4 && cr.d[3].vaddr == VA_C && cr.d[3].nr_pages == 3);
	CHECK(fp.max_bg == 2 && fp.max_fault == 1);
	CHECK(!fq_busy(&q) && not_done(false) == 0);
	teardown(&q);

	/* the fault slots full: background still goes out on the main QP */
	if (setup(&q, 1, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 1, true) == 0);
	CHECK(submit(&q, T1, VA_B, 1, true) == 0);
	CHECK(fp.nr == 1);
	CHECK(submit(&q, T1, VA_C, 1, false) == 0);
	CHECK(fp.nr == 2 && read_is(1, false, VA_C, RK_C, PAGE) && fp.r[1].slot == 0);
	CHECK(land(&q, 1, true) == 0 && cr.nr_done == 1 && fq_faults_pending(&q));
	CHECK(land(&q, 0, true) == 0 && cr.nr_done == 2 && fp.nr == 3);
	CHECK(land(&q, 2, true) == 0 && cr.nr_done == 3 && !fq_busy(&q));
	teardown(&q);
}

/*
 * Every request of a task uses the same buffer.  A request of several READs
 * completed out of order, with other requests of the task completing in
 * between: at each completion the buffer holds that request's bytes.
 */
static void test_shared_buffer(void)
{
	struct fetch_queue q;
	unsigned int r0, r1, r2, r3, r4;

	if (setup(&q, 4, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 3, false) == 0);
	CHECK(fp.nr == 3);
	CHECK(land(&q, 2, true) == 0);
	CHECK(land(&q, 0, true) == 0);
	CHECK(cr.nr_done == 0);
	/* a fault and a one-READ background request of the same task, into the same buffer */
	CHECK(submit(&q, T1, VA_B + 5 * PAGE, 1, true) == 0);
	CHECK(fp.nr == 4 && fp.r[3].lane);
	CHECK(land(&q, 3, true) == 0);
	CHECK(cr.nr_done == 1 && cr.d[0].vaddr == VA_B + 5 * PAGE && cr.d[0].data_ok);
	CHECK(submit(&q, T1, VA_C, 1, false) == 0);
	CHECK(fp.nr == 5);
	CHECK(land(&q, 4, true) == 0);
	CHECK(cr.nr_done == 2 && cr.d[1].vaddr == VA_C && cr.d[1].data_ok);
	CHECK(land(&q, 1, true) == 0);
	CHECK(cr.nr_done == 3 && cr.d[2].vaddr == VA_A && cr.d[2].nr_pages == 3 && cr.d[2].data_ok);
	CHECK(!fq_busy(&q));
	teardown(&q);

	/* two multi-READ requests of the same task, their READs interleaved */
	if (setup(&q, 8, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A + 6 * PAGE, 2, false) == 0);
	CHECK(submit(&q, T1, VA_B + 2 * PAGE, 3, false) == 0);
	CHECK(fp.nr == 5);
	r0 = find_read(RK_A, VA_A + 6 * PAGE);
	r1 = find_read(RK_A, VA_A + 7 * PAGE);
	r2 = find_read(RK_B, VA_B + 2 * PAGE);
	r3 = find_read(RK_B, VA_B + 3 * PAGE);
	r4 = find_read(RK_B, VA_B + 4 * PAGE);
	CHECK(land(&q, r3, true) == 0);
	CHECK(land(&q, r0, true) == 0);
	CHECK(land(&q, r4, true) == 0);
	CHECK(cr.nr_done == 0);
	CHECK(land(&q, r1, true) == 0);
	CHECK(cr.nr_done == 1 && cr.d[0].vaddr == VA_A + 6 * PAGE && cr.d[0].data_ok);
	CHECK(land(&q, r2, true) == 0);
	CHECK(cr.nr_done == 2 && cr.d[1].vaddr == VA_B + 2 * PAGE && cr.d[1].nr_pages == 3 && cr.d[1].data_ok);
	teardown(&q);

	/* and a multi-READ fault (fault-around) overtaking a background request */
	if (setup(&q, 2, 2, PAGE, NULL))
		return;
	CHECK(submit(&q, T2, VA_D, 2, false) == 0);
	CHECK(submit(&q, T2, VA_D + 2 * PAGE, 2, true) == 0);
	CHECK(fp.nr == 4 && fp.r[2].lane && fp.r[3].lane);
	CHECK(land(&q, 0, true) == 0);
	CHECK(land(&q, 3, true) == 0);
	CHECK(land(&q, 2, true) == 0);
	CHECK(cr.nr_done == 1 && cr.d[0].vaddr == VA_D + 2 * PAGE && cr.d[0].data_ok);
	CHECK(land(&q, 1, true) == 0);
	CHECK(cr.nr_done == 2 && cr.d[1].vaddr == VA_D && cr.d[1].data_ok);
	teardown(&q);
}

/* Requests outside the exported memory are refused. */
static void test_outside(void)
{
	static const struct {
		unsigned long img_id, vaddr, nr_pages;
		bool fault;
	} bad[] = {
		{ 9, VA_A, 1, true },			       /* an unknown task */
		{ 9, VA_A, 1, false },			       /* an unknown task */
		{ T2, VA_B, 1, true },			       /* task 1's memory, not task 2's */
		{ T1, VA_B + 8 * PAGE, 1, false },	       /* in the gap after B */
		{ T1, VA_C + PG_C * PAGE, 1, true },	       /* just past C */
		{ T1, VA_A - PAGE, 2, false },		       /* starts before A */
		{ T1, VA_B + 7 * PAGE, 2, false },	       /* runs off B's end */
		{ T2, VA_D + 3 * PAGE, 2, true },	       /* runs off D's end */
		{ T1, VA_C - 0x10000, 0x10000 / PAGE, false }, /* the gap up to C */
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fetch_queue q;

		if (setup(&q, 4, 2, 4 * PAGE, NULL))
			return;
		if (submit(&q, bad[i].img_id, bad[i].vaddr, bad[i].nr_pages, bad[i].fault) != -1) {
			fprintf(stderr, "request %u outside the exported memory was taken\n", i);
			CHECK(!"a request outside the exported memory was taken");
		}
		CHECK(cr.nr_done == 0);
		/* nothing outside an exported range was ever posted (fake_post checks) */
		teardown(&q);
	}
}

static void test_errors(void)
{
	struct fetch_queue q;

	/* completions for empty or out-of-range slots */
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	CHECK(fq_read_done(&q, 0, true) == -1);
	CHECK(fq_read_done(&q, 2, true) == -1);
	CHECK(fq_read_done(&q, 3, true) == -1);
	CHECK(fq_read_done(&q, 1000, true) == -1);
	CHECK(fq_read_done(&q, UINT_MAX, true) == -1);
	CHECK(submit(&q, T1, VA_A, 1, false) == 0);
	CHECK(fp.nr == 1);
	CHECK(fq_read_done(&q, fp.r[0].slot ? 0 : 1, true) == -1); /* the other background slot */
	CHECK(fq_read_done(&q, 2, true) == -1);			   /* the empty fault slot */
	CHECK(cr.nr_done == 0);
	CHECK(land(&q, 0, true) == 0 && cr.nr_done == 1);
	/* the same completion twice */
	CHECK(fq_read_done(&q, fp.r[0].slot, true) == -1);
	CHECK(cr.nr_done == 1);
	teardown(&q);

	/* a failed READ fails, and CRIU does not hear of its request */
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 1, true) == 0);
	CHECK(land(&q, 0, false) == -1);
	CHECK(cr.nr_done == 0);
	teardown(&q);
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 2, false) == 0);
	CHECK(land(&q, 1, true) == 0);
	CHECK(land(&q, 0, false) == -1);
	CHECK(cr.nr_done == 0);
	teardown(&q);

	/* the post failing */
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	fp.fail = true;
	CHECK(submit(&q, T1, VA_A, 1, false) == -1);
	teardown(&q);
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	fp.fail = true;
	CHECK(submit(&q, T1, VA_A, 1, true) == -1);
	teardown(&q);
	/* ... when a completion frees a slot for the next READ */
	if (setup(&q, 1, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 1, false) == 0);
	CHECK(submit(&q, T1, VA_B, 1, false) == 0);
	CHECK(fp.nr == 1);
	fp.fail = true;
	CHECK(land(&q, 0, true) == -1);
	CHECK(cr.nr_done == 1);
	/* the second request is still CRIU's: the queue is not idle */
	CHECK(fq_busy(&q) && !fq_faults_pending(&q));
	teardown(&q);

	/* CRIU's completion failing */
	if (setup(&q, 1, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 1, true) == 0);
	cr.ret = -1;
	CHECK(land(&q, 0, true) == -1);
	CHECK(cr.nr_done == 1);
	teardown(&q);
}

static bool near(double x, double want)
{
	return x > want - 1.0 && x < want + 1.0;
}

/* The counters, and a fault's latency and its parts, against the fake clock. */
static void test_stats(void)
{
	struct fetch_stats st;
	struct fetch_queue q;

	if (fetch_stats_init(&st, PAGE, 0.0)) {
		CHECK(!"fetch_stats_init");
		return;
	}
	if (setup(&q, 1, 1, 2 * PAGE, &st)) {
		fetch_stats_fini(&st);
		return;
	}
	/* asked at 10, READ in at 10.25, placed at 10.375 */
	clock_now = 10.0;
	CHECK(submit(&q, T1, VA_A, 1, true) == 0);
	clock_now = 10.25;
	cr.advance = 0.125;
	CHECK(land(&q, 0, true) == 0);
	cr.advance = 0;
	CHECK(st.fault_reqs == 1 && st.fault_pages == 1 && st.bg_reqs == 0 && st.bg_pages == 0);
	CHECK(st.bytes == PAGE);
	CHECK(st.nr_lat == 1);
	CHECK(near(st.lat_us[0], 375000) && near(st.queue_us[0], 0) && near(st.wire_us[0], 250000) &&
	      near(st.copy_us[0], 125000));

	/* a fault of 3 pages waits 0.5 s for the fault slot, then 2 READs */
	clock_now = 20.0;
	CHECK(submit(&q, T1, VA_B, 1, true) == 0);
	clock_now = 20.5;
	CHECK(submit(&q, T1, VA_B + 4 * PAGE, 3, true) == 0);
	CHECK(fp.nr == 2);
	clock_now = 21.0;
	CHECK(land(&q, 1, true) == 0);
	CHECK(fp.nr == 3 && read_is(2, true, VA_B + 4 * PAGE, RK_B, 2 * PAGE));
	clock_now = 21.5;
	CHECK(land(&q, 2, true) == 0);
	CHECK(fp.nr == 4 && read_is(3, true, VA_B + 6 * PAGE, RK_B, PAGE));
	clock_now = 22.0;
	CHECK(land(&q, 3, true) == 0);
	CHECK(cr.nr_done == 3);
	CHECK(st.fault_reqs == 3 && st.fault_pages == 5 && st.nr_lat == 3);
	CHECK(near(st.lat_us[2], 1.5e6) && near(st.queue_us[2], 0.5e6) && near(st.wire_us[2], 1e6) &&
	      near(st.copy_us[2], 0));

	/* background: counted as such, no latency sample */
	CHECK(submit(&q, T2, VA_D, 4, false) == 0);
	CHECK(land(&q, 4, true) == 0);
	CHECK(land(&q, 5, true) == 0);
	CHECK(submit(&q, T1, VA_C, 1, false) == 0);
	CHECK(land(&q, 6, true) == 0);
	CHECK(st.bg_reqs == 2 && st.bg_pages == 5 && st.fault_reqs == 3 && st.fault_pages == 5);
	CHECK(st.bytes == 10 * PAGE);
	CHECK(st.nr_lat == 3);
	CHECK(q.reads == 7 && fp.nr == 7);
	teardown(&q);
	fetch_stats_fini(&st);
}

/* fq_fini with requests queued and in flight frees them all (run under valgrind or ASan). */
static void test_fini(void)
{
	struct fetch_queue q, zero;

	/* partly posted requests in flight, and requests not posted at all */
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 4, false) == 0);
	CHECK(submit(&q, T1, VA_C, 2, false) == 0);
	CHECK(submit(&q, T1, VA_B, 3, true) == 0);
	CHECK(submit(&q, T2, VA_D, 1, true) == 0);
	CHECK(fp.nr == 3);
	CHECK(land(&q, 0, true) == 0);
	CHECK(fp.nr == 4);
	CHECK(fq_busy(&q) && fq_faults_pending(&q));
	teardown(&q);
	CHECK(cr.nr_done == 0);

	/* fully posted multi-READ requests in flight, each holding several slots */
	if (setup(&q, 4, 2, 2 * PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 6, false) == 0);
	CHECK(submit(&q, T1, VA_B, 4, true) == 0);
	CHECK(fp.nr == 5);
	CHECK(land(&q, 1, true) == 0);
	CHECK(land(&q, 4, true) == 0);
	CHECK(cr.nr_done == 0);
	teardown(&q);

	/* a failed READ still in its slot */
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 3, false) == 0);
	CHECK(land(&q, 0, false) == -1);
	teardown(&q);

	/* an empty queue, and twice */
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	teardown(&q);
	memset(&zero, 0, sizeof(zero));
	fq_fini(&q);
	CHECK(memcmp(&q, &zero, sizeof(q)) == 0);
}

/*
 * Random requests of both kinds over both tasks, every READ completed in a
 * random order: at every step the limits hold, a fault with a free fault
 * slot is posted at once, fq_busy/fq_faults_pending match what is not
 * done, and every completion sees its own bytes in the shared buffer.
 */
static void test_random(void)
{
	static const struct {
		unsigned long img_id, va, pages;
	} runs[] = { { T1, VA_A, PG_AB }, { T1, VA_C, PG_C }, { T2, VA_D, PG_D } };
	enum { NR_BG = 3, NR_FAULT = 2, TOTAL = 600, MAX_OPEN = 12 };
	struct fetch_stats st;
	struct fetch_queue q;
	unsigned long fault_pages = 0, bg_pages = 0, faults = 0;
	unsigned int step, busy_bad = 0, pending_bad = 0, late_faults = 0;

	if (fetch_stats_init(&st, PAGE, 0.0)) {
		CHECK(!"fetch_stats_init");
		return;
	}
	if (setup(&q, NR_BG, NR_FAULT, 2 * PAGE, &st)) {
		fetch_stats_fini(&st);
		return;
	}
	/* bounded: a queue that stops posting must not hang the test */
	for (step = 0; (cr.nr_subs < TOTAL || fp.nr_out || fq_ready(&q)) && step < 100 * TOTAL; step++) {
		bool can_submit = cr.nr_subs < TOTAL && not_done(false) < MAX_OPEN;

		clock_now = step * 1e-6;
		if (fq_ready(&q) && (!fp.nr_out || rng() % 3 == 0)) {
			/* a round of CRIU's loop: a few ready requests, now and then all of them */
			CHECK(fq_hand_over(&q, rng() % 4 == 0) > 0);
		} else if (can_submit && (!fp.nr_out || rng() % 3 == 0)) {
			unsigned int k = rng() % 3, lane_before = 0, i;
			bool fault = rng() % 3 == 0, slot_free = fp.out_fault < NR_FAULT;
			unsigned long nr = fault ? 1 + (rng() % 4 == 0 ? rng() % 3 : 0) : 1 + rng() % runs[k].pages;
			unsigned long va = runs[k].va + (rng() % (runs[k].pages - nr + 1)) * PAGE;

			for (i = 0; i < fp.nr; i++)
				lane_before += fp.r[i].lane;
			CHECK(submit(&q, runs[k].img_id, va, nr, fault) == 0);
			if (fault) {
				unsigned int lane_after = 0;

				for (i = 0; i < fp.nr; i++)
					lane_after += fp.r[i].lane;
				if (slot_free && lane_after == lane_before)
					late_faults++;
				fault_pages += nr;
				faults++;
			} else {
				bg_pages += nr;
			}
		} else if (fp.nr_out) {
			CHECK(land(&q, fp.out[rng() % fp.nr_out], true) == 0);
		}
		busy_bad += fq_busy(&q) != (not_done(false) > 0);
		pending_bad += fq_faults_pending(&q) != (not_done(true) > 0);
	}
	CHECK(late_faults == 0);
	CHECK(busy_bad == 0 && pending_bad == 0);
	CHECK(cr.nr_subs == TOTAL && cr.nr_done == TOTAL && not_done(false) == 0);
	/* the limits held, and were reached */
	CHECK(fp.max_bg == NR_BG && fp.max_fault == NR_FAULT);
	CHECK(!fq_busy(&q) && !fq_faults_pending(&q));
	CHECK(st.fault_reqs == faults && st.fault_pages == fault_pages);
	CHECK(st.bg_reqs == TOTAL - faults && st.bg_pages == bg_pages);
	CHECK(st.bytes == (fault_pages + bg_pages) * PAGE);
	CHECK(q.reads == fp.nr);
	teardown(&q);
	fetch_stats_fini(&st);
}

/*
 * Connections lost at random moments: every READ on the wire is lost with
 * it (some of a request's READs may have landed, others not).  While paused
 * nothing is posted, whatever is submitted; after fq_resume() every request
 * completes exactly once, with exactly the source's bytes.
 */
static void test_pause(void)
{
	enum { NR_BG = 3, NR_FAULT = 2, TOTAL = 400, MAX_OPEN = 10 };
	struct fetch_queue q;
	unsigned int step, pauses = 0, lost = 0, posted_paused = 0;
	bool paused = false;

	if (setup(&q, NR_BG, NR_FAULT, 2 * PAGE, NULL))
		return;
	for (step = 0; (cr.nr_subs < TOTAL || fp.nr_out || paused || fq_busy(&q)) && step < 100 * TOTAL; step++) {
		unsigned int r = rng() % 16, before = fp.nr;

		clock_now = step * 1e-6;
		if (paused) {
			if (r < 4) {
				CHECK(fq_resume(&q) == 0);
				paused = false;
			} else if (r == 4 && fq_ready(&q)) {
				/* ready pages are here: CRIU gets them while paused too */
				CHECK(fq_hand_over(&q, false) > 0);
				posted_paused += fp.nr != before;
			} else if (cr.nr_subs < TOTAL && not_done(false) < MAX_OPEN) {
				bool fault = rng() % 2;

				CHECK(submit(&q, T1, VA_A + (rng() % 12) * PAGE, 1 + rng() % 4, fault) == 0);
				posted_paused += fp.nr != before;
			}
			continue;
		}
		if (r == 0 && fp.nr_out) {
			/* the link goes: what is on the wire never lands */
			while (fp.nr_out) {
				fp.r[fp.out[--fp.nr_out]].done = true;
				lost++;
			}
			fp.out_bg = fp.out_fault = 0;
			fq_pause(&q);
			/* only the slots that hold a ready request's pages stay taken */
			CHECK(q.busy_slots == q.bg_held && q.busy_bg == q.bg_held);
			paused = true;
			pauses++;
		} else if (r >= 12 && fq_ready(&q)) {
			CHECK(fq_hand_over(&q, r == 15) > 0);
		} else if (r < 8 && cr.nr_subs < TOTAL && not_done(false) < MAX_OPEN) {
			bool fault = rng() % 3 == 0;

			CHECK(submit(&q, fault ? T2 : T1, fault ? VA_D : VA_A + (rng() % 8) * PAGE,
				     fault ? 1 + rng() % PG_D : 1 + rng() % 8, fault) == 0);
		} else if (fp.nr_out) {
			CHECK(land(&q, fp.out[rng() % fp.nr_out], true) == 0);
		}
	}
	CHECK(pauses > 10 && lost > pauses);
	CHECK(posted_paused == 0);
	CHECK(cr.nr_subs == TOTAL && cr.nr_done == TOTAL && not_done(false) == 0);
	CHECK(!fq_busy(&q));
	teardown(&q);
}

/*
 * One copy: a request of several READs gathers in a staging buffer of the
 * pool and is handed over from there; one of one READ from its slot.  A
 * background request waits for a staging buffer (what is behind it too); a
 * fault never waits: it gathers in private memory, the one copy counted.
 */
static void test_one_copy(void)
{
	struct fetch_queue q;
	uint8_t *stage0;
	unsigned int i;

	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 1, .stage_size = 8 * PAGE, .bg_cap = 1000 };
	if (setup(&q, 8, 4, PAGE, NULL))
		return;
	stage0 = q.pool + (size_t)q.nr_slots * q.read_size;
	CHECK(fq_pool_size(&q) == 12 * PAGE + 8 * PAGE);
	CHECK(submit(&q, T1, VA_A, 3, false) == 0);
	CHECK(fp.nr == 3);
	for (i = 0; i < 3; i++)
		CHECK(fp.r[i].local == stage0 + i * PAGE);
	/* the only staging buffer is taken: the next background request waits, and one behind it */
	CHECK(submit(&q, T1, VA_B, 2, false) == 0);
	CHECK(submit(&q, T1, VA_C, 1, false) == 0);
	CHECK(fp.nr == 3);
	/* a fault of two READs does not wait: private memory */
	CHECK(submit(&q, T2, VA_D, 2, true) == 0);
	CHECK(fp.nr == 5 && fp.r[3].lane && fp.r[4].lane);
	CHECK(fp.r[3].local < stage0 && fp.r[4].local < stage0);
	CHECK(land(&q, 4, true) == 0 && land(&q, 3, true) == 0);
	CHECK(cr.nr_done == 1 && cr.d[0].vaddr == VA_D && q.copied_bytes == 2 * PAGE);
	CHECK(land(&q, 1, true) == 0 && land(&q, 0, true) == 0 && cr.nr_done == 1);
	CHECK(land(&q, 2, true) == 0);
	CHECK(cr.nr_done == 2 && cr.d[1].vaddr == VA_A);
	/* the buffer is free: the waiting request goes out into it, and the one behind */
	CHECK(fp.nr == 8);
	CHECK(fp.r[5].local == stage0 && fp.r[6].local == stage0 + PAGE);
	CHECK(read_is(7, false, VA_C, RK_C, PAGE) && fp.r[7].local == q.pool + (size_t)fp.r[7].slot * PAGE);
	CHECK(land(&q, 7, true) == 0 && land(&q, 6, true) == 0 && land(&q, 5, true) == 0);
	CHECK(cr.nr_done == 4 && !fq_busy(&q));
	/* three background requests were asked for at once */
	CHECK(q.bg_open_max == 3 && q.bg_open == 0);
	/* only the fault's two pages were copied */
	CHECK(q.copied_bytes == 2 * PAGE);
	teardown(&q);
}

/* While a fault waits, background READs in flight are capped; the cap lifts when it is served. */
static void test_fault_cap(void)
{
	struct fetch_queue q;
	unsigned int f;

	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 4, .stage_size = 16 * PAGE, .bg_cap = 1 };
	if (setup(&q, 4, 2, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 8, false) == 0);
	CHECK(fp.nr == 4 && fp.out_bg == 4);
	CHECK(submit(&q, T2, VA_D, 1, true) == 0);
	CHECK(fp.nr == 5 && fp.r[4].lane);
	f = 4;
	/* background READs landing while the fault waits are not replaced beyond the cap */
	CHECK(land(&q, 0, true) == 0 && land(&q, 1, true) == 0 && land(&q, 2, true) == 0);
	CHECK(fp.nr == 5 && fp.out_bg == 1);
	CHECK(land(&q, 3, true) == 0);
	CHECK(fp.nr == 6 && fp.out_bg == 1);
	/* the fault is served: the background fills its slots again */
	CHECK(land(&q, f, true) == 0);
	CHECK(fp.out_bg == 4 && fp.nr == 9);
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(cr.nr_done == 2 && !fq_busy(&q));
	teardown(&q);

	/* cap 0: no background READ at all goes out while a fault waits */
	mode.bg_cap = 0;
	if (setup(&q, 4, 2, PAGE, NULL))
		return;
	CHECK(submit(&q, T2, VA_D, 1, true) == 0);
	CHECK(submit(&q, T1, VA_A, 2, false) == 0);
	CHECK(fp.nr == 1 && fp.out_bg == 0);
	CHECK(land(&q, 0, true) == 0);
	CHECK(fp.nr == 3 && fp.out_bg == 2);
	CHECK(land(&q, 1, true) == 0 && land(&q, 2, true) == 0 && cr.nr_done == 2);
	teardown(&q);

	/* the cap holds for bg_hold after the last fault, then a kick lifts it */
	mode.bg_cap = 1;
	mode.bg_hold = 0.010;
	if (setup(&q, 4, 2, PAGE, NULL))
		return;
	clock_now = 5.0;
	CHECK(submit(&q, T2, VA_D, 1, true) == 0);
	CHECK(land(&q, 0, true) == 0);
	clock_now = 5.005;
	CHECK(submit(&q, T1, VA_A, 8, false) == 0);
	CHECK(fp.nr == 2 && fp.out_bg == 1);
	CHECK(fq_kick(&q) == 0 && fp.out_bg == 1);
	clock_now = 5.011;
	CHECK(fq_kick(&q) == 0 && fp.out_bg == 4);
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(cr.nr_done == 2 && !fq_busy(&q));
	teardown(&q);
	mode.bg_hold = 0;
}

/* A background depth below the connection's: no more background READs in flight, faults unaffected. */
static void test_bg_depth(void)
{
	struct fetch_queue q;

	mode = (typeof(mode)){
		.one_copy = true, .nr_stage = 4, .stage_size = 16 * PAGE, .bg_cap = 1000, .bg_depth = 2
	};
	if (setup(&q, 4, 2, PAGE, NULL))
		return;
	CHECK(q.bg_depth == 2);
	CHECK(submit(&q, T1, VA_A, 8, false) == 0);
	CHECK(fp.nr == 2 && fp.out_bg == 2);
	/* a fault still goes out at once, on the lane */
	CHECK(submit(&q, T2, VA_D, 1, true) == 0);
	CHECK(fp.nr == 3 && fp.r[2].lane && fp.out_bg == 2);
	/* each background READ that lands is replaced by one, never more */
	CHECK(land(&q, 0, true) == 0);
	CHECK(fp.nr == 4 && fp.out_bg == 2);
	CHECK(land(&q, 2, true) == 0 && cr.nr_done == 1);
	while (fp.nr_out) {
		CHECK(fp.out_bg <= 2);
		CHECK(land(&q, fp.out[0], true) == 0);
	}
	CHECK(fp.nr == 9 && cr.nr_done == 2 && !fq_busy(&q));
	teardown(&q);

	/* 0, or more than the connection has: as many as it has */
	mode.bg_depth = 0;
	if (setup(&q, 4, 2, PAGE, NULL))
		return;
	CHECK(q.bg_depth == 4);
	teardown(&q);
	mode.bg_depth = 9;
	if (setup(&q, 4, 2, PAGE, NULL))
		return;
	CHECK(q.bg_depth == 4);
	CHECK(submit(&q, T1, VA_A, 8, false) == 0);
	CHECK(fp.nr == 4 && fp.out_bg == 4);
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	teardown(&q);
}

/*
 * A fault on a page that a request asked for before carries (CRIU waits for
 * that request): a queued request (background or prefetch) goes first, a
 * ready one is handed over first; one on the wire, or none, is left alone.
 */
static void test_urge(void)
{
	struct fetch_queue q;
	unsigned int i, g;

	/* two background slots, six one-page requests: four wait */
	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 1, .stage_size = 8 * PAGE, .bg_cap = 1000 };
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	for (i = 0; i < 6; i++)
		CHECK(submit(&q, T1, VA_A + i * PAGE, 1, false) == 0);
	CHECK(fp.nr == 2);
	/* on the wire already: nothing to move; nobody's page: nothing at all */
	CHECK(fq_urge(&q, T1, VA_A + PAGE) == 0);
	CHECK(fq_urge(&q, T2, VA_D) == 0 && fq_urge(&q, T1, VA_C) == 0);
	/* the last queued (the tail) goes next, the first queued already is next */
	CHECK(fq_urge(&q, T1, VA_A + 5 * PAGE + 100) == 1);
	CHECK(fq_urge(&q, T1, VA_A + 5 * PAGE) == 1);
	CHECK(q.urges == 5 && q.urges_moved == 1);
	CHECK(land(&q, 0, true) == 0);
	CHECK(fp.nr == 3 && read_is(2, false, VA_A + 5 * PAGE, RK_A, PAGE));
	/* the tail moved: a new request still queues behind the last */
	CHECK(submit(&q, T1, VA_B, 1, false) == 0);
	CHECK(fq_urge(&q, T1, VA_A + 3 * PAGE) == 1 && q.urges_moved == 2);
	CHECK(land(&q, 1, true) == 0);
	CHECK(read_is(3, false, VA_A + 3 * PAGE, RK_A, PAGE));
	g = 4;
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(read_is(g, false, VA_A + 2 * PAGE, RK_A, PAGE) && read_is(g + 1, false, VA_A + 4 * PAGE, RK_A, PAGE));
	CHECK(read_is(g + 2, false, VA_B, RK_B, PAGE) && fp.nr == 7);
	CHECK(cr.nr_done == 7 && !fq_busy(&q));
	teardown(&q);

	/*
	 * A request whose READs have begun keeps its place: the one urged would
	 * wait for its staging buffer, given back only once it is done (the
	 * linkcut test's 64 tasks hung so after a reconnection).
	 */
	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 1, .stage_size = 8 * PAGE, .bg_cap = 1000 };
	if (setup(&q, 2, 1, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 4, false) == 0 && submit(&q, T1, VA_B, 4, false) == 0);
	CHECK(fp.nr == 2 && q.stage_busy == 1);
	CHECK(fq_urge(&q, T1, VA_B + PAGE) == 1 && q.urges_moved == 0);
	/* and after a pause (the link lost and made again), too */
	fq_pause(&q);
	fp.nr_out = fp.out_bg = 0;
	for (i = 0; i < fp.nr; i++)
		fp.r[i].done = true;
	CHECK(fq_urge(&q, T1, VA_B) == 1 && q.urges_moved == 0);
	CHECK(fq_resume(&q) == 0 && fp.nr == 4);
	for (i = 0; fp.nr_out && i < 100; i++)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(cr.nr_done == 2 && cr.d[0].vaddr == VA_A && cr.d[1].vaddr == VA_B && !fq_busy(&q));
	teardown(&q);

	/* a prefetch queued behind others goes next after the one begun */
	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 4, .stage_size = 16 * PAGE, .bg_cap = 0 };
	if (setup(&q, 2, 4, PAGE, NULL))
		return;
	CHECK(submit_kind(&q, T1, VA_A, 2, FQ_PREFETCH) == 0 && submit_kind(&q, T1, VA_C, 1, FQ_PREFETCH) == 0);
	CHECK(submit_kind(&q, T1, VA_B, 1, FQ_PREFETCH) == 0 && fp.nr == 1);
	CHECK(fq_urge(&q, T1, VA_B) == 1 && q.urges_moved == 1);
	CHECK(land(&q, 0, true) == 0 && fp.nr == 2 && read_is(1, true, VA_A + PAGE, RK_A, PAGE));
	CHECK(land(&q, 1, true) == 0 && fp.nr == 3 && read_is(2, true, VA_B, RK_B, PAGE));
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(fp.nr == 4 && cr.nr_done == 3 && !fq_busy(&q));
	teardown(&q);

	/* paced: of the ready ones, the one a task waits for is handed over first */
	mode.handover = PAGE;
	mode.bg_hold = 1.0;
	mode.bg_cap = 1000;
	if (setup(&q, 3, 1, PAGE, NULL))
		return;
	q.last_fault = clock_now;
	for (i = 0; i < 3; i++)
		CHECK(submit(&q, T1, VA_A + i * PAGE, 1, false) == 0);
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(cr.nr_done == 0 && fq_ready(&q));
	CHECK(fq_urge(&q, T1, VA_A + 2 * PAGE) == 1 && q.urges_moved == 1);
	CHECK(fq_hand_over(&q, false) == 1 && cr.d[0].vaddr == VA_A + 2 * PAGE);
	CHECK(fq_hand_over(&q, true) == 2 && cr.d[1].vaddr == VA_A && cr.d[2].vaddr == VA_A + PAGE);
	CHECK(!fq_busy(&q));
	teardown(&q);
	mode.handover = 0;
	mode.bg_hold = 0;
}

/*
 * Hand-over in parts (a page per round): a ready background request larger
 * than that goes to CRIU a part per round, front to back, keeping its slot
 * until its last page; a fault is handed over at once in between; a fault
 * on a page of another ready request moves that one ahead, parts and all;
 * "all" hands each over whole (what is left of it).
 */
static void test_parts(void)
{
	struct fetch_queue q;

	CHECK(mode.handover == PAGE && mode.bg_hold >= 1.0);
	if (setup(&q, 2, 1, 4 * PAGE, NULL))
		return;
	/* no fault about: a request goes whole, at once */
	clock_now = 10.0;
	CHECK(submit(&q, T1, VA_C, 3, false) == 0);
	CHECK(land(&q, find_read(RK_C, VA_C), true) == 0);
	CHECK(cr.nr_done == 1 && cr.parts == 0 && !fq_ready(&q) && !fq_busy(&q));
	cr.nr_done = 0;
	/* a fault served just now: faults are about (for bg_hold) */
	q.last_fault = clock_now;
	/* one READ of 3 pages; 6 pages in two READs */
	CHECK(submit(&q, T1, VA_A, 3, false) == 0 && submit(&q, T1, VA_B, 6, false) == 0);
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(cr.nr_done == 0 && cr.parts == 0 && fq_ready(&q) && q.bg_held == 1);
	CHECK(fq_hand_over(&q, false) == 1 && cr.parts == 1 && cr.s[1].handed == 1 && cr.nr_done == 0);
	/* the rest of its pages stay where they landed: no READ into that slot meanwhile */
	CHECK(q.bg_held == 1);
	CHECK(submit(&q, T2, VA_D, 1, true) == 0);
	CHECK(land(&q, find_read(RK_D, VA_D), true) == 0);
	CHECK(cr.nr_done == 1 && cr.d[0].img_id == T2);
	CHECK(fq_urge(&q, T1, VA_B + 3 * PAGE) == 1);
	CHECK(fq_hand_over(&q, false) == 1 && cr.s[2].handed == 1 && cr.s[1].handed == 1);
	CHECK(fq_hand_over(&q, false) == 1 && cr.s[2].handed == 2 && cr.parts == 3 && cr.nr_done == 1);
	CHECK(fq_hand_over(&q, true) == 2 && cr.parts == 3 && q.parts == 3 && cr.nr_done == 3);
	CHECK(cr.d[1].vaddr == VA_B && cr.d[1].nr_pages == 6 && cr.d[2].vaddr == VA_A && cr.d[2].nr_pages == 3);
	CHECK(!fq_ready(&q) && !fq_busy(&q) && q.bg_held == 0 && q.busy_slots == 0);
	teardown(&q);
}

/* The recent time of a fault's READs, which bounds how long a fault polls. */
static void test_read_time(void)
{
	struct fetch_queue q;

	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 1, .stage_size = 16 * PAGE, .bg_cap = 1000 };
	if (setup(&q, 2, 2, PAGE, NULL))
		return;
	clock_now = 1.0;
	CHECK(submit(&q, T1, VA_A, 1, true) == 0);
	clock_now += 100e-6;
	CHECK(land(&q, 0, true) == 0);
	CHECK(q.fault_read_avg > 99e-6 && q.fault_read_avg < 101e-6);
	CHECK(submit(&q, T1, VA_B, 1, true) == 0);
	clock_now += 900e-6;
	CHECK(land(&q, 1, true) == 0);
	CHECK(q.fault_read_avg > 199e-6 && q.fault_read_avg < 201e-6);
	/* background READs do not count */
	CHECK(submit(&q, T1, VA_C, 1, false) == 0);
	clock_now += 1.0;
	CHECK(land(&q, 2, true) == 0);
	CHECK(q.fault_read_avg > 199e-6 && q.fault_read_avg < 201e-6);
	teardown(&q);
}

/*
 * How long a fault polls: until its READ is in while nothing of the
 * background is about (whatever the recent READ times), the adaptive rule
 * otherwise, never with a zero maximum.
 */
static void test_spin_budget(void)
{
	struct fq_spin adaptive = { .max = 1000e-6, .adaptive = true },
		       idle = { .max = 1000e-6, .adaptive = true, .idle = 10e-3 },
		       fixed = { .max = 1000e-6, .idle = 10e-3 }, never = { .max = 0, .adaptive = true, .idle = 10e-3 };
	struct fetch_queue q;

	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 1, .stage_size = 16 * PAGE, .bg_cap = 1000 };
	if (setup(&q, 2, 2, PAGE, NULL))
		return;
	/* nothing learnt yet: the maximum; idle: the idle bound */
	CHECK(fq_spin_budget(&q, &adaptive) == 1000e-6);
	CHECK(fq_spin_budget(&q, &idle) == 10e-3);
	CHECK(fq_spin_budget(&q, &never) == 0);
	/* a fault READ of 600 us: twice that is over the maximum, so the adaptive rule never polls */
	clock_now = 1.0;
	CHECK(submit(&q, T1, VA_A, 1, true) == 0);
	clock_now += 600e-6;
	CHECK(land(&q, 0, true) == 0);
	CHECK(fq_spin_budget(&q, &adaptive) == 0);
	/* ... but with no background about, a fault polls until its READ is in */
	CHECK(submit(&q, T1, VA_A + PAGE, 1, true) == 0);
	CHECK(fq_spin_budget(&q, &idle) == 10e-3);
	CHECK(fq_spin_budget(&q, &fixed) == 10e-3);
	CHECK(fq_spin_budget(&q, &never) == 0);
	/* a background READ in flight: the adaptive rule again */
	CHECK(submit(&q, T1, VA_C, 1, false) == 0);
	CHECK(fp.out_bg == 1);
	CHECK(fq_spin_budget(&q, &idle) == 0);
	CHECK(fq_spin_budget(&q, &fixed) == 1000e-6);
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(!fq_busy(&q));
	/* fast READs: twice the recent time (at least 20 us), also with no background */
	q.fault_read_avg = 100e-6;
	CHECK(fq_spin_budget(&q, &adaptive) == 200e-6);
	q.fault_read_avg = 1e-6;
	CHECK(fq_spin_budget(&q, &adaptive) == 20e-6);
	CHECK(fq_spin_budget(&q, &idle) == 10e-3);
	teardown(&q);

	/* background waiting in the queue (for a buffer), none in flight: not idle either */
	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 1, .stage_size = 4 * PAGE, .bg_cap = 0 };
	if (setup(&q, 2, 2, PAGE, NULL))
		return;
	CHECK(submit(&q, T1, VA_A, 1, true) == 0);
	CHECK(submit(&q, T1, VA_C, 2, false) == 0);
	CHECK(fp.out_bg == 0 && q.bg_q);
	q.fault_read_avg = 600e-6;
	CHECK(fq_spin_budget(&q, &idle) == 0);
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(!fq_busy(&q));
	teardown(&q);
}

/*
 * A prefetch goes on the lane after every fault, one READ at a time; it is
 * no fault (no cap on the background, no fault latency) and is counted apart.
 */
static void test_prefetch(void)
{
	struct fetch_queue q;
	struct fetch_stats st;

	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 4, .stage_size = 16 * PAGE, .bg_cap = 0 };
	CHECK(fetch_stats_init(&st, PAGE, 0) == 0);
	if (setup(&q, 2, 4, PAGE, &st))
		return;
	CHECK(submit_kind(&q, T1, VA_A, 3, FQ_PREFETCH) == 0);
	/* one READ of it on the lane, not three; it is no fault: background still goes out */
	CHECK(fp.nr == 1 && fp.r[0].lane && fp.out_fault == 1);
	CHECK(!fq_faults_pending(&q) && fq_busy(&q));
	CHECK(submit(&q, T1, VA_C, 1, false) == 0);
	CHECK(fp.nr == 2 && !fp.r[1].lane);
	/* faults go out at once beside the prefetch READ; one that finds the lane full waits */
	CHECK(submit(&q, T2, VA_D, 1, true) == 0 && submit(&q, T2, VA_D + PAGE, 1, true) == 0);
	CHECK(submit(&q, T2, VA_D + 2 * PAGE, 1, true) == 0 && submit(&q, T2, VA_D + 3 * PAGE, 1, true) == 0);
	CHECK(fp.nr == 5 && fp.r[2].lane && fp.r[4].lane && fq_faults_pending(&q));
	/* on the lane, but a prefetch is no fault: it does not go to CRIU ahead of the background */
	CHECK(!fq_slot_is_fault(&q, fp.r[0].slot) && fq_slot_is_fault(&q, fp.r[2].slot));
	CHECK(!fq_slot_is_fault(&q, fp.r[1].slot));
	/* the prefetch READ lands: the lane slot goes to the waiting fault, not to the prefetch */
	CHECK(land(&q, 0, true) == 0);
	CHECK(fp.nr == 6 && read_is(5, true, VA_D + 3 * PAGE, RK_D, PAGE));
	/* no fault waits any more: the prefetch goes on, one READ at a time */
	CHECK(land(&q, 2, true) == 0);
	CHECK(fp.nr == 7 && read_is(6, true, VA_A + PAGE, RK_A, PAGE));
	CHECK(land(&q, 3, true) == 0 && fp.nr == 7);
	CHECK(land(&q, 6, true) == 0 && fp.nr == 8 && read_is(7, true, VA_A + 2 * PAGE, RK_A, PAGE));
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(cr.nr_done == 6 && !fq_busy(&q));
	CHECK(st.prefetch_reqs == 1 && st.prefetch_pages == 3);
	CHECK(st.fault_reqs == 4 && st.fault_pages == 4 && st.bg_reqs == 1 && st.nr_lat == 4);
	teardown(&q);
	fetch_stats_fini(&st);
}

/*
 * A background request of several ranges (a sparse area) comes one range per
 * call: nothing of it is posted before its last range, then all of it, and it
 * counts as one request (open until its last range is in) of three ranges.
 */
static void test_request_ranges(void)
{
	struct fetch_queue q;
	struct fetch_stats st;

	mode = (typeof(mode)){ .one_copy = true, .nr_stage = 2, .stage_size = 8 * PAGE, .bg_cap = 1000 };
	CHECK(fetch_stats_init(&st, PAGE, 0) == 0);
	if (setup(&q, 8, 2, PAGE, &st))
		return;
	CHECK(submit_range(&q, T1, VA_A, 1, FQ_BACKGROUND, true) == 0);
	CHECK(submit_range(&q, T1, VA_A + 2 * PAGE, 2, FQ_BACKGROUND, true) == 0);
	CHECK(fp.nr == 0 && fq_busy(&q) && fp.flushes == 0);
	/* a fault meanwhile goes out at once, and takes the held ranges along: they may go early */
	CHECK(submit(&q, T2, VA_D, 1, true) == 0);
	CHECK(fp.nr == 4 && fp.r[0].lane);
	/* all four READs with one doorbell */
	CHECK(fp.flushes == 1 && fp.unflushed == 0);
	CHECK(submit_range(&q, T1, VA_A + 5 * PAGE, 1, FQ_BACKGROUND, false) == 0);
	CHECK(fp.nr == 5 && read_is(4, false, VA_A + 5 * PAGE, RK_A, PAGE) && fp.flushes == 2);
	CHECK(q.bg_open == 1 && q.bg_open_max == 1);
	/* a second request of one range: two open */
	CHECK(submit(&q, T1, VA_C, 1, false) == 0);
	CHECK(q.bg_open == 2 && q.bg_open_max == 2);
	while (fp.nr_out)
		CHECK(land(&q, fp.out[0], true) == 0);
	CHECK(cr.nr_done == 5 && !fq_busy(&q) && q.bg_open == 0);
	CHECK(st.bg_reqs == 2 && st.bg_ranges == 4 && st.bg_pages == 5);
	CHECK(st.fault_reqs == 1);
	teardown(&q);
	fetch_stats_fini(&st);
}

/*
 * Paced hand-over (a page per round, requests of a page): a background request whose READs are in
 * waits for fq_hand_over(), first in first out, and a request of one READ
 * keeps its slot meanwhile (no READ may land on its pages, a pause does
 * not read it again, and it does not count against the fault cap); a fault
 * is handed over at once.
 */
static void test_paced(void)
{
	struct fetch_queue q;
	unsigned int g1, g2, g3, f, held2, bg_cap = mode.bg_cap;

	CHECK(mode.handover == PAGE && mode.bg_hold >= 1.0);
	if (setup(&q, 2, 1, 2 * PAGE, NULL))
		return;
	/* faults are about: a fault was served just now */
	q.last_fault = clock_now;
	CHECK(submit(&q, T1, VA_A, 1, false) == 0 && submit(&q, T1, VA_A + PAGE, 1, false) == 0);
	g1 = find_read(RK_A, VA_A);
	g2 = find_read(RK_A, VA_A + PAGE);
	held2 = fp.r[g2].slot;
	CHECK(land(&q, g1, true) == 0 && land(&q, g2, true) == 0);
	CHECK(cr.nr_done == 0 && fq_ready(&q) && fq_busy(&q) && !fq_faults_pending(&q));
	CHECK(q.bg_held == 2 && q.busy_bg == 2);
	/* both slots hold pages for CRIU: a third request waits, with nothing on the wire */
	CHECK(submit(&q, T1, VA_A + 2 * PAGE, 1, false) == 0);
	CHECK(fp.nr == 2);
	/* a fault is not paced */
	CHECK(submit(&q, T2, VA_D, 1, true) == 0);
	f = find_read(RK_D, VA_D);
	CHECK(land(&q, f, true) == 0);
	CHECK(cr.nr_done == 1 && cr.d[0].img_id == T2 && fq_ready(&q));
	/* one per round, the first ready first; its slot takes the waiting READ */
	CHECK(fq_hand_over(&q, false) == 1);
	CHECK(cr.nr_done == 2 && cr.d[1].vaddr == VA_A && q.bg_held == 1);
	CHECK(fp.nr == 4);
	g3 = find_read(RK_A, VA_A + 2 * PAGE);
	CHECK(fp.r[g3].slot != held2);
	/* a completion for the held slot is not a READ of it */
	CHECK(fq_read_done(&q, held2, true) == -1);
	/* the link goes: the READ on the wire is read again, the held pages stay */
	fp.r[g3].done = true;
	fp.nr_out = fp.out_bg = 0;
	fq_pause(&q);
	CHECK(q.busy_slots == 1 && q.bg_held == 1 && q.slots[held2].req);
	CHECK(fq_resume(&q) == 0 && fp.nr == 5);
	g3 = find_read(RK_A, VA_A + 2 * PAGE);
	CHECK(land(&q, g3, true) == 0 && cr.nr_done == 2);
	CHECK(fq_hand_over(&q, true) == 2);
	CHECK(cr.nr_done == 4 && cr.d[2].vaddr == VA_A + PAGE && cr.d[3].vaddr == VA_A + 2 * PAGE);
	CHECK(!fq_ready(&q) && !fq_busy(&q) && q.bg_held == 0 && q.busy_slots == 0);
	CHECK(fq_hand_over(&q, true) == 0);
	teardown(&q);

	/* held pages are not background READs in flight: a waiting fault's cap does not count them */
	mode.bg_cap = 1;
	if (setup(&q, 3, 1, 2 * PAGE, NULL))
		return;
	q.last_fault = clock_now;
	CHECK(submit(&q, T1, VA_A, 1, false) == 0);
	CHECK(land(&q, find_read(RK_A, VA_A), true) == 0 && q.bg_held == 1);
	CHECK(submit(&q, T2, VA_D, 1, true) == 0 && fq_faults_pending(&q));
	CHECK(submit(&q, T1, VA_A + PAGE, 1, false) == 0 && submit(&q, T1, VA_A + 2 * PAGE, 1, false) == 0);
	/* the fault and one background READ on the wire (the cap), the third request waits */
	CHECK(fp.nr == 3 && fp.out_bg == 1);
	mode.bg_cap = bg_cap;
	teardown(&q);
}

static void run_all(void)
{
	test_routing();
	test_split_across_ranges();
	test_split_sizes();
	test_limits();
	test_shared_buffer();
	test_outside();
	test_errors();
	test_stats();
	test_fini();
	test_random();
	test_pause();
}

static int add_range(uint32_t id, uint64_t va, uint64_t pages, uint32_t rkey)
{
	struct export_task *task = export_task_get(&table, id, 1);
	struct export_range r = { .va = va, .len = pages * PAGE, .rkey = rkey };

	return task ? export_task_add(task, &r) : -1;
}

int main(void)
{
	unsigned int i;
	size_t t;

	/* the queue's errors are expected here; keep them, drop the info lines */
	setenv("CRIU_RDMA_LOGLEVEL", "1", 0);
	if (add_range(T1, VA_B, 8, RK_B) || add_range(T1, VA_A, 8, RK_A) || add_range(T1, VA_C, PG_C, RK_C) ||
	    add_range(T2, VA_D, PG_D, RK_D)) {
		fprintf(stderr, "cannot build the export table\n");
		return 1;
	}
	for (t = 0; t < table.nr; t++)
		CHECK(export_task_seal(&table.tasks[t]) == 0);
	for (i = 0; i < 3; i++) {
		bufs[i].buf = malloc((BUF_PAGES + 1) * PAGE);
		if (!bufs[i].buf) {
			fprintf(stderr, "no memory\n");
			return 1;
		}
	}

	/* the pages handed over where they land, with staging buffers to spare */
	mode = (typeof(mode)){
		.one_copy = true, .nr_stage = FQ_MAX_STAGE, .stage_size = BUF_PAGES * PAGE, .bg_cap = 1000
	};
	run_all();
	/* the same with the pool's memory given (faulted in ahead), and more staging buffers asked for than kept */
	mode = (typeof(mode)){ .one_copy = true,
			       .nr_stage = FQ_MAX_STAGE + 3,
			       .stage_size = BUF_PAGES * PAGE,
			       .bg_cap = 1000,
			       .given_pool = true };
	run_all();
	/* the old path: every request copied into CRIU's buffer */
	mode = (typeof(mode)){ .one_copy = false, .nr_stage = 0, .bg_cap = 1000 };
	run_all();
	test_one_copy();
	test_fault_cap();
	test_bg_depth();
	test_urge();
	test_read_time();
	test_spin_budget();
	test_prefetch();
	test_request_ranges();
	/* background pages handed to CRIU a few per round of its loop, parts of requests too */
	mode = (typeof(mode)){ .one_copy = true,
			       .nr_stage = FQ_MAX_STAGE,
			       .stage_size = BUF_PAGES * PAGE,
			       .bg_cap = 1000,
			       .handover = PAGE,
			       .bg_hold = 1.0 };
	test_paced();
	test_parts();
	test_random();
	test_pause();
	mode.handover = 3 * PAGE;
	test_random();
	test_pause();
	mode = (typeof(mode)){ .one_copy = false, .nr_stage = 0, .bg_cap = 1000, .handover = PAGE, .bg_hold = 1.0 };
	test_paced();
	test_parts();
	test_random();
	test_pause();

	for (i = 0; i < 3; i++)
		free(bufs[i].buf);
	export_table_free(&table);
	return check_report("fetch_queue");
}
