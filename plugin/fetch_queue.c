// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "fetch_queue.h"
#include "rdma_log.h"

/* The staging buffers a setup asks for, at most FQ_MAX_STAGE. */
static unsigned int stage_count(const struct fq_setup *s)
{
	return s->nr_stage < FQ_MAX_STAGE ? s->nr_stage : FQ_MAX_STAGE;
}

int fq_init(struct fetch_queue *q, const struct fq_setup *s)
{
	memset(q, 0, sizeof(*q));
	q->table = s->table;
	q->post = s->post;
	q->flush = s->flush;
	q->post_ctx = s->post_ctx;
	q->stats = s->stats;
	q->now = s->now;
	q->page = s->page;
	q->read_size = s->read_size;
	q->nr_bg = s->nr_bg;
	q->nr_slots = s->nr_bg + s->nr_fault;
	q->bg_depth = s->bg_depth && s->bg_depth < s->nr_bg ? s->bg_depth : s->nr_bg;
	q->bg_cap_fault = s->bg_cap_fault;
	q->bg_hold = s->bg_hold;
	q->last_fault = -1e9;
	q->one_copy = s->one_copy;
	q->nr_stage = stage_count(s);
	q->stage_size = q->nr_stage ? s->stage_size : 0;
	q->handover = s->handover;
	q->slots = calloc(q->nr_slots, sizeof(*q->slots));
	q->pool = s->pool;
	if (!q->slots || (!q->pool && posix_memalign((void **)&q->pool, (size_t)q->page, fq_pool_size(q)))) {
		pr_err("no memory for %u READ slots of %u KiB and %u staging buffers of %u KiB\n", q->nr_slots,
		       q->read_size >> 10, q->nr_stage, q->stage_size >> 10);
		free(q->slots);
		free(q->pool); /* (the caller's, if it gave one: the queue's now) */
		q->slots = NULL;
		q->pool = NULL;
		return -1;
	}
	return 0;
}

/* READ slots first, then the staging buffers (slot_mem(), stage_mem()) */
static size_t pool_bytes(unsigned int nr_slots, unsigned int read_size, unsigned int nr_stage, unsigned int stage_size)
{
	return (size_t)nr_slots * read_size + (size_t)nr_stage * stage_size;
}

size_t fq_pool_size(const struct fetch_queue *q)
{
	return pool_bytes(q->nr_slots, q->read_size, q->nr_stage, q->stage_size);
}

size_t fq_pool_size_for(const struct fq_setup *s)
{
	return pool_bytes(s->nr_bg + s->nr_fault, s->read_size, stage_count(s), s->stage_size);
}

static uint8_t *slot_mem(const struct fetch_queue *q, unsigned int slot)
{
	return q->pool + (size_t)slot * q->read_size;
}

static uint8_t *stage_mem(const struct fetch_queue *q, int idx)
{
	return q->pool + (size_t)q->nr_slots * q->read_size + (size_t)idx * q->stage_size;
}

/*
 * Where request @r gathers its READs: a free staging buffer of the pool, or
 * (a fault, which must not wait for one; or too large for one) private
 * memory.  1 if a background request should wait for a buffer instead.
 */
static int stage_take(struct fetch_queue *q, struct fetch_req *r)
{
	unsigned int i;

	for (i = 0; q->one_copy && r->len <= q->stage_size && i < q->nr_stage; i++)
		if (!(q->stage_busy & (1U << i))) {
			q->stage_busy |= 1U << i;
			r->stage_idx = (int)i;
			r->stage = stage_mem(q, (int)i);
			return 0;
		}
	if (!r->fault && q->one_copy && r->len <= q->stage_size)
		return 1;
	r->stage = malloc(r->len);
	if (!r->stage) {
		pr_err("no memory to stage %llu bytes\n", (unsigned long long)r->len);
		return -1;
	}
	return 0;
}

static void req_free(struct fetch_queue *q, struct fetch_req *r)
{
	if (r->stage_idx >= 0)
		q->stage_busy &= ~(1U << r->stage_idx);
	else
		free(r->stage);
	free(r);
}

static void free_list(struct fetch_queue *q, struct fetch_req *r)
{
	while (r) {
		struct fetch_req *next = r->next;

		req_free(q, r);
		r = next;
	}
}

void fq_fini(struct fetch_queue *q)
{
	unsigned int s;

	/* ready: in no slot but the one it may hold */
	while (q->ready_q) {
		struct fetch_req *r = q->ready_q;

		q->ready_q = r->next;
		if (r->held_slot >= 0)
			q->slots[r->held_slot].req = NULL;
		req_free(q, r);
	}
	/* in flight: a request may hold several slots; free it with its first */
	for (s = 0; q->slots && s < q->nr_slots; s++) {
		struct fetch_req *r = q->slots[s].req;
		unsigned int t;

		if (!r)
			continue;
		for (t = s; t < q->nr_slots; t++)
			if (q->slots[t].req == r)
				q->slots[t].req = NULL;
		if (r->next_off == r->len) /* fully posted: in no queue */
			req_free(q, r);
	}
	free_list(q, q->fault_q);
	free_list(q, q->pf_q);
	free_list(q, q->bg_q);
	free(q->slots);
	free(q->pool);
	memset(q, 0, sizeof(*q));
}

/* The queue of @r's kind: its head and tail. */
static struct fetch_req **queue_of(struct fetch_queue *q, const struct fetch_req *r, struct fetch_req ***tail)
{
	if (r->prefetch) {
		*tail = &q->pf_tail;
		return &q->pf_q;
	}
	*tail = r->fault ? &q->fault_tail : &q->bg_tail;
	return r->fault ? &q->fault_q : &q->bg_q;
}

static void enqueue(struct fetch_queue *q, struct fetch_req *r)
{
	struct fetch_req **tail, **head = queue_of(q, r, &tail);

	r->next = NULL;
	if (*head)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

/*
 * Posts the next READ of @r into a free slot; pops @r once fully posted.
 * 1 if @r waits for a staging buffer.
 */
static int post_one(struct fetch_queue *q, struct fetch_req *r, struct fetch_req **head)
{
	uint64_t va = r->vaddr + r->next_off;
	const struct export_range *range = export_lookup(q->table, (uint32_t)r->img_id, va);
	unsigned int s;
	uint64_t len;
	uint8_t *local;
	int ret;

	if (!range) {
		pr_err("request outside the exported memory: task %lu, VA 0x%llx\n", r->img_id, (unsigned long long)va);
		return -1;
	}
	len = r->len - r->next_off;
	if (len > q->read_size)
		len = q->read_size;
	if (len > range->va + range->len - va)
		len = range->va + range->len - va;
	if (len < r->len && !r->stage && (ret = stage_take(q, r)))
		return ret;
	for (s = r->fault ? q->nr_bg : 0; q->slots[s].req; s++)
		;
	/* into the staging buffer itself, or into the slot */
	local = r->stage_idx >= 0 ? r->stage + r->next_off : slot_mem(q, s);
	if (!r->next_off)
		r->times.posted = q->now();
	if (q->post(q->post_ctx, r->fault, s, local, va, range->rkey, (uint32_t)len)) {
		pr_perror("cannot post a READ");
		return -1;
	}
	q->slots[s] = (struct fq_slot){ .req = r, .off = r->next_off, .len = (uint32_t)len, .prefetch = r->prefetch };
	q->busy_slots++;
	if (!r->fault)
		q->busy_bg++;
	if (r->prefetch)
		q->busy_pf++;
	q->reads++;
	r->reads_left++;
	r->next_off += len;
	if (r->next_off == r->len)
		*head = r->next;
	return 0;
}

/*
 * A fault waits, or one was served less than bg_hold ago: a task that
 * faults once faults again soon.
 */
static bool faults_about(const struct fetch_queue *q)
{
	return fq_faults_pending(q) || q->now() - q->last_fault < q->bg_hold;
}

/*
 * Each queue into its own slots and onto its own QP: faults, then one
 * prefetch READ at a time on the lane; background capped while faults wait.
 */
static int post_queued(struct fetch_queue *q)
{
	unsigned int bg_max = q->bg_depth, lane = q->nr_slots - q->nr_bg;
	int ret;

	if (q->paused)
		return 0;
	while (q->fault_q && q->busy_slots - q->busy_bg < lane)
		if (post_one(q, q->fault_q, &q->fault_q) < 0)
			return -1;
	while (!q->fault_q && q->pf_q && !q->busy_pf && q->busy_slots - q->busy_bg < lane)
		if (post_one(q, q->pf_q, &q->pf_q) < 0)
			return -1;
	if (q->bg_cap_fault < bg_max && faults_about(q))
		bg_max = q->bg_cap_fault;
	/* a slot that holds a ready request's pages has no READ in flight, but is taken */
	while (q->bg_q && q->busy_bg - q->bg_held < bg_max && q->busy_bg < q->nr_bg) {
		ret = post_one(q, q->bg_q, &q->bg_q);
		if (ret < 0)
			return -1;
		if (ret) /* the head waits for a staging buffer: so does what is behind it */
			break;
	}
	return 0;
}

/* Posts what can go, then has it sent: one flush for all of it. */
static int dispatch(struct fetch_queue *q)
{
	unsigned long reads = q->reads;

	if (post_queued(q))
		return -1;
	if (q->flush && q->reads != reads && q->flush(q->post_ctx)) {
		pr_perror("cannot post READs");
		return -1;
	}
	return 0;
}

int fq_submit(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf,
	      enum fq_kind kind, bool more, cr_lazy_pages_complete_t complete, void *priv)
{
	struct fetch_req *r = calloc(1, sizeof(*r));

	if (!r) {
		pr_err("no memory for a page request\n");
		return -1;
	}
	*r = (struct fetch_req){
		.img_id = img_id,
		.vaddr = vaddr,
		.nr_pages = nr_pages,
		.buf = buf,
		.complete = complete,
		.priv = priv,
		.fault = kind != FQ_BACKGROUND,
		.prefetch = kind == FQ_PREFETCH,
		.stage_idx = -1,
		.held_slot = -1,
		.len = nr_pages * q->page,
		.times.start = q->now(),
	};
	if (kind != FQ_BACKGROUND) {
		enqueue(q, r);
		return dispatch(q);
	}
	/* a request is open from its first range to its last one's completion */
	if (!q->bg_partial && ++q->bg_open > q->bg_open_max)
		q->bg_open_max = q->bg_open;
	q->bg_partial = more;
	r->last = !more;
	enqueue(q, r);
	return more ? 0 : dispatch(q);
}

/* A fault's READ time joins the recent average (1/8 weight: a few samples move it). */
static void learn_read_time(struct fetch_queue *q, const struct fetch_req *r)
{
	double t = r->times.read - r->times.posted;

	q->fault_read_avg = q->fault_read_avg > 0 ? q->fault_read_avg + (t - q->fault_read_avg) / 8 : t;
}

/*
 * CRIU gets @len bytes of @r from where it has had them up to, at @data (the
 * request's pages): a part of @r while more remain.  The completion's value.
 */
static int give(struct fetch_queue *q, struct fetch_req *r, uint8_t *data, uint64_t len)
{
	unsigned int flags = r->handed + len < r->len ? CR_LAZY_COMPLETE_PART : 0;
	uint64_t off = r->handed;

	if (!q->one_copy) {
		memcpy(r->buf + off, data + off, len);
		q->copied_bytes += len;
		data = r->buf;
	}
	r->handed += len;
	return r->complete(r->img_id, r->vaddr + off, len / q->page, data + off, flags, r->priv);
}

/* Every READ of @r is in, at @data: CRIU places the pages (those it has not had) from there. */
static int complete(struct fetch_queue *q, struct fetch_req *r, uint8_t *data)
{
	int ret;

	r->times.read = q->now();
	if (r->fault && !r->prefetch) {
		learn_read_time(q, r);
		q->last_fault = r->times.read;
	}
	ret = give(q, r, data, r->len - r->handed);
	r->times.done = q->now();
	if (q->stats && r->prefetch)
		fetch_stats_prefetch(q->stats, r->nr_pages, r->len, r->times.done);
	else if (q->stats && r->fault)
		fetch_stats_account(q->stats, r->nr_pages, r->len, &r->times);
	else if (q->stats)
		fetch_stats_background(q->stats, r->nr_pages, r->len, r->times.done, r->last);
	q->completed++;
	if (r->last)
		q->bg_open--;
	req_free(q, r);
	return ret < 0 ? -1 : 0;
}

static void slot_free(struct fetch_queue *q, struct fq_slot *s)
{
	if (s->held)
		q->bg_held--;
	s->held = false;
	s->req = NULL;
	q->busy_slots--;
	if (s - q->slots < q->nr_bg)
		q->busy_bg--;
	if (s->prefetch)
		q->busy_pf--;
}

/* Background request @r has every READ in: it waits for fq_hand_over(), a request of one READ in its slot. */
static void make_ready(struct fetch_queue *q, struct fetch_req *r, struct fq_slot *s)
{
	r->data = r->stage ?: slot_mem(q, (unsigned int)(s - q->slots));
	if (r->stage) {
		slot_free(q, s);
	} else {
		r->held_slot = (int)(s - q->slots);
		s->held = true;
		q->bg_held++;
	}
	r->next = NULL;
	if (q->ready_q)
		q->ready_tail->next = r;
	else
		q->ready_q = r;
	q->ready_tail = r;
}

int fq_read_done(struct fetch_queue *q, unsigned int slot, bool ok)
{
	struct fq_slot *s;
	struct fetch_req *r;

	if (slot >= q->nr_slots || !q->slots[slot].req || q->slots[slot].held) {
		pr_err("completion for READ slot %u, which holds no READ\n", slot);
		return -1;
	}
	s = &q->slots[slot];
	r = s->req;
	if (!ok) {
		pr_err("READ of task %lu VA 0x%lx failed\n", r->img_id, r->vaddr + (unsigned long)s->off);
		return -1;
	}
	/* private memory gathers by copy; a staging buffer has the READ already */
	if (r->stage && r->stage_idx < 0) {
		memcpy(r->stage + s->off, slot_mem(q, slot), s->len);
		q->copied_bytes += s->len;
	}
	if (--r->reads_left || r->next_off != r->len) {
		slot_free(q, s);
	} else if (!r->fault && q->handover && faults_about(q)) {
		make_ready(q, r, s);
	} else {
		/* a request of one READ is handed over in its slot: free it after */
		int ret = complete(q, r, r->stage ?: slot_mem(q, slot));

		slot_free(q, s);
		if (ret)
			return -1;
	}
	return dispatch(q);
}

bool fq_faults_pending(const struct fetch_queue *q)
{
	return q->fault_q || q->busy_slots > q->busy_bg + q->busy_pf;
}

bool fq_busy(const struct fetch_queue *q)
{
	return q->fault_q || q->pf_q || q->bg_q || q->busy_slots || q->ready_q;
}

bool fq_ready(const struct fetch_queue *q)
{
	return q->ready_q;
}

int fq_hand_over(struct fetch_queue *q, bool all)
{
	uint64_t budget = q->handover;
	int n = 0, freed = 0;

	/* with no fault about, parts would only slow the pull */
	all = all || !faults_about(q);
	while (q->ready_q && (all || budget)) {
		struct fetch_req *r = q->ready_q;
		uint64_t left = r->len - r->handed;
		int slot = r->held_slot, ret;

		n++;
		if (!all && left > budget) {
			/* a part: the rest stays first in line */
			if (give(q, r, r->data, budget) < 0)
				return -1;
			q->parts++;
			break;
		}
		budget -= all ? 0 : left;
		q->ready_q = r->next;
		ret = complete(q, r, r->data);
		if (slot >= 0) {
			slot_free(q, &q->slots[slot]);
			freed++;
		}
		if (ret)
			return -1;
	}
	/* a slot given back may take a queued READ */
	if (freed && dispatch(q))
		return -1;
	return n;
}

/* The link to the request of list @head that carries page @vaddr of task @img_id, and the one before it. */
static struct fetch_req **find_carrier(const struct fetch_queue *q, struct fetch_req **head, unsigned long img_id,
				       unsigned long vaddr, struct fetch_req **prev)
{
	for (*prev = NULL; *head; *prev = *head, head = &(*head)->next)
		if ((*head)->img_id == img_id && vaddr >= (*head)->vaddr &&
		    vaddr - (*head)->vaddr < (*head)->nr_pages * (unsigned long)q->page)
			return head;
	return NULL;
}

/* Its READs have begun, or it holds a staging buffer: see move_ahead(). */
static bool started(const struct fetch_req *r)
{
	return r->next_off || r->stage;
}

/*
 * Moves the request at @link (after @prev) ahead in list @head/@tail: to
 * the front, or (@keep_started) behind the requests that have started.
 * Those keep their place: one moved ahead of them may wait for a staging
 * buffer that they give back only once they are done, and they are only
 * posted from the front (a pause leaves several there).  False if it is
 * as far ahead as it may go already.
 */
static bool move_ahead(struct fetch_req **head, struct fetch_req **tail, struct fetch_req **link,
		       struct fetch_req *prev, bool keep_started)
{
	struct fetch_req *r = *link, **at = head;

	while (*at != r && keep_started && started(*at))
		at = &(*at)->next;
	if (*at == r)
		return false;
	*link = r->next;
	if (*tail == r)
		*tail = prev;
	r->next = *at;
	*at = r;
	return true;
}

int fq_urge(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr)
{
	/* not (wholly) posted: its READs go next; what is on the wire already stays there */
	struct fetch_req **queues[][2] = {
		{ &q->bg_q, &q->bg_tail },
		{ &q->pf_q, &q->pf_tail },
	};
	struct fetch_req **link, *prev;
	unsigned int i;

	q->urges++;
	/* its pages are in: CRIU gets it next */
	link = find_carrier(q, &q->ready_q, img_id, vaddr, &prev);
	if (link) {
		if (move_ahead(&q->ready_q, &q->ready_tail, link, prev, false))
			q->urges_moved++;
		return 1;
	}
	for (i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
		link = find_carrier(q, queues[i][0], img_id, vaddr, &prev);
		if (!link)
			continue;
		if (move_ahead(queues[i][0], queues[i][1], link, prev, true))
			q->urges_moved++;
		return dispatch(q) ? -1 : 1;
	}
	return 0;
}

bool fq_slot_is_fault(const struct fetch_queue *q, unsigned int slot)
{
	return slot >= q->nr_bg && slot < q->nr_slots && q->slots[slot].req && !q->slots[slot].prefetch;
}

/*
 * With no background READ in flight or queued, the fault's READ is the
 * only work of the device and of this daemon: poll until it is in (up to
 * sp->idle), as perftest's latency tools do.  Polling only as long as the
 * recent READs took (the adaptive rule) gave up on every READ slower than
 * average, and while READs took longer than half of sp->max it did not
 * poll at all: a software device's 4 KiB READ takes 0.2-0.5 ms, so most
 * idle faults were reaped through CRIU's event loop.  With background
 * READs about (the pull, a loaded device), the adaptive rule still holds:
 * polling then holds a CPU that the task and the device need.
 */
double fq_spin_budget(const struct fetch_queue *q, const struct fq_spin *sp)
{
	double b = 2 * q->fault_read_avg;

	if (sp->max <= 0)
		return 0;
	if (sp->idle > 0 && !q->bg_q && q->busy_bg == q->bg_held)
		return sp->idle;
	if (!sp->adaptive || b <= 0)
		return sp->max;
	if (b > sp->max)
		return 0;
	return b < 20e-6 ? 20e-6 : b;
}

static void push_front(struct fetch_queue *q, struct fetch_req *r)
{
	struct fetch_req **tail, **head = queue_of(q, r, &tail);

	r->next = *head;
	if (!*head)
		*tail = r;
	*head = r;
}

void fq_pause(struct fetch_queue *q)
{
	unsigned int s, t;

	q->paused = true;
	for (s = 0; s < q->nr_slots; s++) {
		struct fetch_req *r = q->slots[s].req;
		bool queued;

		/* a ready request's pages are in: they stay for CRIU */
		if (!r || q->slots[s].held)
			continue;
		for (t = s; t < q->nr_slots; t++)
			if (q->slots[t].req == r)
				q->slots[t].req = NULL;
		/* one not fully posted is still at its queue's head */
		queued = r->next_off != r->len;
		r->next_off = 0;
		r->reads_left = 0;
		if (!queued)
			push_front(q, r);
	}
	q->busy_slots = q->busy_bg = q->bg_held;
	q->busy_pf = 0;
}

int fq_kick(struct fetch_queue *q)
{
	return dispatch(q);
}

int fq_resume(struct fetch_queue *q)
{
	q->paused = false;
	return dispatch(q);
}
