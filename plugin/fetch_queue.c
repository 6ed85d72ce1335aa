// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "fetch_queue.h"
#include "rdma_log.h"

int fq_init(struct fetch_queue *q, const struct fq_setup *s)
{
	memset(q, 0, sizeof(*q));
	q->table = s->table;
	q->post = s->post;
	q->post_ctx = s->post_ctx;
	q->stats = s->stats;
	q->now = s->now;
	q->page = s->page;
	q->read_size = s->read_size;
	q->nr_bg = s->nr_bg;
	q->nr_slots = s->nr_bg + s->nr_fault;
	q->slots = calloc(q->nr_slots, sizeof(*q->slots));
	if (!q->slots || posix_memalign((void **)&q->pool, (size_t)q->page, fq_pool_size(q))) {
		pr_err("no memory for %u READ slots of %u KiB\n", q->nr_slots, q->read_size >> 10);
		free(q->slots);
		q->slots = NULL;
		q->pool = NULL;
		return -1;
	}
	return 0;
}

size_t fq_pool_size(const struct fetch_queue *q)
{
	return (size_t)q->nr_slots * q->read_size;
}

static void free_list(struct fetch_req *r)
{
	while (r) {
		struct fetch_req *next = r->next;

		free(r->stage);
		free(r);
		r = next;
	}
}

void fq_fini(struct fetch_queue *q)
{
	unsigned int s;

	/* in flight: a request may hold several slots; free it with its first */
	for (s = 0; q->slots && s < q->nr_slots; s++) {
		struct fetch_req *r = q->slots[s].req;
		unsigned int t;

		if (!r)
			continue;
		for (t = s; t < q->nr_slots; t++)
			if (q->slots[t].req == r)
				q->slots[t].req = NULL;
		if (r->next_off == r->len) { /* fully posted: in no queue */
			free(r->stage);
			free(r);
		}
	}
	free_list(q->fault_q);
	free_list(q->bg_q);
	free(q->slots);
	free(q->pool);
	memset(q, 0, sizeof(*q));
}

static void enqueue(struct fetch_queue *q, struct fetch_req *r)
{
	struct fetch_req **head = r->fault ? &q->fault_q : &q->bg_q;
	struct fetch_req **tail = r->fault ? &q->fault_tail : &q->bg_tail;

	r->next = NULL;
	if (*head)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

/* Posts the next READ of @r into a free slot; pops @r once fully posted. */
static int post_one(struct fetch_queue *q, struct fetch_req *r, struct fetch_req **head)
{
	uint64_t va = r->vaddr + r->next_off;
	const struct export_range *range = export_lookup(q->table, (uint32_t)r->img_id, va);
	unsigned int s;
	uint64_t len;

	if (!range) {
		pr_err("request outside the exported memory: task %lu, VA 0x%llx\n", r->img_id, (unsigned long long)va);
		return -1;
	}
	len = r->len - r->next_off;
	if (len > q->read_size)
		len = q->read_size;
	if (len > range->va + range->len - va)
		len = range->va + range->len - va;
	if (len < r->len && !r->stage && !(r->stage = malloc(r->len))) {
		pr_err("no memory to stage %llu bytes\n", (unsigned long long)r->len);
		return -1;
	}
	for (s = r->fault ? q->nr_bg : 0; q->slots[s].req; s++)
		;
	if (!r->next_off)
		r->times.posted = q->now();
	if (q->post(q->post_ctx, r->fault, s, q->pool + (size_t)s * q->read_size, va, range->rkey, (uint32_t)len)) {
		pr_perror("cannot post a READ");
		return -1;
	}
	q->slots[s] = (struct fq_slot){ .req = r, .off = r->next_off, .len = (uint32_t)len };
	q->busy_slots++;
	if (!r->fault)
		q->busy_bg++;
	q->reads++;
	r->reads_left++;
	r->next_off += len;
	if (r->next_off == r->len)
		*head = r->next;
	return 0;
}

/* Each queue into its own slots and onto its own QP. */
static int dispatch(struct fetch_queue *q)
{
	if (q->paused)
		return 0;
	while (q->fault_q && q->busy_slots - q->busy_bg < q->nr_slots - q->nr_bg)
		if (post_one(q, q->fault_q, &q->fault_q))
			return -1;
	while (q->bg_q && q->busy_bg < q->nr_bg)
		if (post_one(q, q->bg_q, &q->bg_q))
			return -1;
	return 0;
}

int fq_submit(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf,
	      bool fault, cr_lazy_pages_complete_t complete, void *priv)
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
		.fault = fault,
		.len = nr_pages * q->page,
		.times.start = q->now(),
	};
	enqueue(q, r);
	return dispatch(q);
}

/* Every READ of @r is in: its bytes go to CRIU, which places them. */
static int complete(struct fetch_queue *q, struct fetch_req *r)
{
	int ret;

	r->times.read = q->now();
	if (r->stage)
		memcpy(r->buf, r->stage, r->len);
	ret = r->complete(r->img_id, r->vaddr, r->nr_pages, r->priv);
	r->times.done = q->now();
	if (q->stats)
		fetch_stats_account(q->stats, r->fault, r->nr_pages, r->len, &r->times);
	free(r->stage);
	free(r);
	return ret < 0 ? -1 : 0;
}

int fq_read_done(struct fetch_queue *q, unsigned int slot, bool ok)
{
	struct fq_slot *s;
	struct fetch_req *r;

	if (slot >= q->nr_slots || !q->slots[slot].req) {
		pr_err("completion for READ slot %u, which holds no READ\n", slot);
		return -1;
	}
	s = &q->slots[slot];
	r = s->req;
	if (!ok) {
		pr_err("READ of task %lu VA 0x%lx failed\n", r->img_id, r->vaddr + (unsigned long)s->off);
		return -1;
	}
	memcpy((r->stage ?: r->buf) + s->off, q->pool + (size_t)slot * q->read_size, s->len);
	s->req = NULL;
	q->busy_slots--;
	if (!r->fault)
		q->busy_bg--;
	if (--r->reads_left == 0 && r->next_off == r->len && complete(q, r))
		return -1;
	return dispatch(q);
}

bool fq_faults_pending(const struct fetch_queue *q)
{
	return q->fault_q || q->busy_slots > q->busy_bg;
}

bool fq_busy(const struct fetch_queue *q)
{
	return q->fault_q || q->bg_q || q->busy_slots;
}

static void push_front(struct fetch_queue *q, struct fetch_req *r)
{
	struct fetch_req **head = r->fault ? &q->fault_q : &q->bg_q;
	struct fetch_req **tail = r->fault ? &q->fault_tail : &q->bg_tail;

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

		if (!r)
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
	q->busy_slots = q->busy_bg = 0;
}

int fq_resume(struct fetch_queue *q)
{
	q->paused = false;
	return dispatch(q);
}
