/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The target's request queues and READ slots, with no verbs in them: READs
 * are posted through a callback, and completions come back by slot.
 *
 * A request is split into READs of at most read_size bytes, each into its
 * own slot of a staging pool; when the last one lands the bytes go to
 * CRIU's buffer and CRIU's completion runs (which does UFFDIO_COPY).
 *
 * Faults never wait behind background work: they have slots of their own
 * (posted on the lane, a second QP), because an RC QP answers READs strictly
 * in order and one background READ of 256 KiB ahead of a fault would delay
 * it by the whole transfer.
 *
 * CRIU hands every request of a task the same buffer and expects it to hold
 * a request's data only when that request completes.  With two QPs requests
 * complete out of order, so a request of several READs gathers its data in
 * a private buffer and moves it into CRIU's buffer at completion.
 */
#ifndef __CRIU_RDMA_FETCH_QUEUE_H__
#define __CRIU_RDMA_FETCH_QUEUE_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "criu-plugin.h"
#include "export_table.h"
#include "fetch_stats.h"

/* Posts one READ of @len bytes from @raddr/@rkey into @local; completes later as fq_read_done(@slot). */
typedef int (*fq_post_t)(void *ctx, bool lane, unsigned int slot, void *local, uint64_t raddr, uint32_t rkey,
			 uint32_t len);

struct fetch_req {
	unsigned long img_id, vaddr, nr_pages;
	uint8_t *buf;
	uint8_t *stage; /* private buffer of a request of several READs */
	cr_lazy_pages_complete_t complete;
	void *priv;
	bool fault;
	unsigned int reads_left;
	uint64_t next_off, len; /* next byte to post */
	struct fetch_times times;
	struct fetch_req *next; /* in a post queue */
};

struct fq_slot {
	struct fetch_req *req;
	uint64_t off;
	uint32_t len;
};

struct fetch_queue {
	const struct export_table *table;
	fq_post_t post;
	void *post_ctx;
	struct fetch_stats *stats;
	double (*now)(void);
	long page;
	uint32_t read_size;
	/* slots [0, nr_bg) READ on the main QP, [nr_bg, nr_slots) on the lane */
	unsigned int nr_slots, nr_bg, busy_slots, busy_bg;
	uint8_t *pool;
	struct fq_slot *slots;
	struct fetch_req *fault_q, *fault_tail, *bg_q, *bg_tail;
	unsigned long reads;
	bool paused; /* no connection: requests wait in their queues */
};

struct fq_setup {
	const struct export_table *table;
	long page;
	uint32_t read_size; /* a multiple of @page */
	unsigned int nr_bg, nr_fault;
	fq_post_t post;
	void *post_ctx;
	struct fetch_stats *stats;
	double (*now)(void);
};

int fq_init(struct fetch_queue *q, const struct fq_setup *s);
/* The staging pool, to be registered for the READs to land in. */
size_t fq_pool_size(const struct fetch_queue *q);
void fq_fini(struct fetch_queue *q);

/* A new request: queued, and posted as far as free slots allow. */
int fq_submit(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf,
	      bool fault, cr_lazy_pages_complete_t complete, void *priv);
/* The READ in @slot completed (@ok: successfully); completes its request when it was the last. */
int fq_read_done(struct fetch_queue *q, unsigned int slot, bool ok);
/*
 * The connection is gone, and every READ in flight with it: each request
 * that had one goes back to the head of its queue, whole, to be posted again
 * (what had landed is read again: the same bytes).  Nothing is posted until
 * fq_resume(), on a new connection, posts them all, faults first.
 */
void fq_pause(struct fetch_queue *q);
int fq_resume(struct fetch_queue *q);
/* A fault is queued or in flight. */
bool fq_faults_pending(const struct fetch_queue *q);
/* Anything is queued or in flight. */
bool fq_busy(const struct fetch_queue *q);

#endif
