/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The target's request queues and READ slots, with no verbs in them: READs
 * are posted through a callback, and completions come back by slot.
 *
 * A request is split into READs of at most read_size bytes.  CRIU's
 * completion (which does UFFDIO_COPY) takes the pages where the READs put
 * them, so the one copy of a page on the target is the kernel's: a request
 * of one READ lands in its slot of the registered pool; a larger one in a
 * staging buffer of the pool's own (registered too), its READs side by
 * side.  Only when every staging buffer is taken (a fault) or a request is
 * larger than one does it gather in private memory, one copy more.  With
 * one_copy off, every request is copied into CRIU's buffer first (the
 * old path, kept for comparison).
 *
 * Faults never wait behind background work: they have slots of their own
 * (posted on the lane, a second QP), because an RC QP answers READs strictly
 * in order and one background READ of 256 KiB ahead of a fault would delay
 * it by the whole transfer.
 *
 * A prefetch (pages CRIU expects a task to want soon) goes on the lane too,
 * after every fault and one READ at a time, so that a fault arriving
 * behind it waits for one READ at most.
 *
 * Faults first on the wire too: while a fault is queued or in flight, and
 * for bg_hold seconds after the last one was served, no more than
 * bg_cap_fault background READs are kept in flight (the software RDMA path
 * and the link are shared, so a 4 KiB READ behind megabytes of background
 * waits for them; and a task that faults once faults again soon, so the
 * background must not fill the wire between two faults); the cap lifts when
 * the faults stop.
 *
 * Hand-over in parts (handover): CRIU copies each completed request into
 * its task (UFFDIO_COPY) in the one thread that also reads the tasks'
 * faults, so a fault that comes meanwhile waits for the whole copy (a
 * background request of 256 KiB: ~2-3 ms under emulation).  While faults
 * are about (as for the cap above), a background request whose READs are
 * all in waits in a ready list instead, and each fq_hand_over() gives CRIU
 * at most handover bytes of it (a part of a request, CR_LAZY_COMPLETE_PART,
 * or several requests), so that CRIU reads new faults between them.  With
 * no fault about each goes whole, at once: every round of CRIU's loop more
 * costs the pull.  Faults and prefetches are handed over at once.
 *
 * CRIU hands every request of a task the same buffer and expects it to hold
 * a request's data only when that request completes.  With two QPs requests
 * complete out of order: that buffer is written (one_copy off) only at
 * completion.
 */
#ifndef __CRIU_RDMA_FETCH_QUEUE_H__
#define __CRIU_RDMA_FETCH_QUEUE_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "criu-plugin.h"
#include "export_table.h"
#include "fetch_stats.h"

/*
 * Posts one READ of @len bytes from @raddr/@rkey into @local; completes later
 * as fq_read_done(@slot).  It may only queue the READ until the flush, which
 * the queue calls once it has posted what it can (one doorbell for many).
 */
typedef int (*fq_post_t)(void *ctx, bool lane, unsigned int slot, void *local, uint64_t raddr, uint32_t rkey,
			 uint32_t len);
typedef int (*fq_flush_t)(void *ctx);

struct fetch_req {
	unsigned long img_id, vaddr, nr_pages;
	uint8_t *buf;
	uint8_t *stage; /* where a request of several READs gathers */
	int stage_idx;	/* its staging buffer in the pool, or -1 (private memory) */
	cr_lazy_pages_complete_t complete;
	void *priv;
	bool fault;	 /* on the lane: a fault or a prefetch */
	bool prefetch;	 /* a prefetch: nobody waits for it yet */
	bool last;	 /* background: the last range of CRIU's request */
	uint8_t *data;	 /* ready: where its pages are */
	uint64_t handed; /* ready: bytes CRIU has had of them (parts) */
	int held_slot;	 /* ready: the slot its pages are in (kept until handed over), or -1 */
	unsigned int reads_left;
	uint64_t next_off, len; /* next byte to post */
	struct fetch_times times;
	struct fetch_req *next; /* in a post queue */
};

struct fq_slot {
	struct fetch_req *req;
	uint64_t off;
	uint32_t len;
	bool prefetch;
	bool held; /* no READ in it: a ready request's pages wait here for CRIU */
};

/* What a request is for: a background chunk, a page fault, or a prefetch. */
enum fq_kind { FQ_BACKGROUND, FQ_FAULT, FQ_PREFETCH };

struct fetch_queue {
	const struct export_table *table;
	fq_post_t post;
	fq_flush_t flush;
	void *post_ctx;
	struct fetch_stats *stats;
	double (*now)(void);
	long page;
	uint32_t read_size;
	/* slots [0, nr_bg) READ on the main QP, [nr_bg, nr_slots) on the lane */
	unsigned int nr_slots, nr_bg, busy_slots, busy_bg, busy_pf, bg_held;
	unsigned int bg_depth;	    /* background READs in flight at most (<= nr_bg) */
	unsigned int bg_cap_fault;  /* background READs in flight while a fault waits */
	double bg_hold, last_fault; /* ... and this long after the last fault was served */
	bool one_copy;
	/* the pool: nr_slots slots of read_size, then nr_stage buffers of stage_size */
	uint8_t *pool;
	unsigned int nr_stage;
	uint32_t stage_size, stage_busy; /* a bit per staging buffer in use */
	struct fq_slot *slots;
	struct fetch_req *fault_q, *fault_tail, *pf_q, *pf_tail, *bg_q, *bg_tail;
	struct fetch_req *ready_q, *ready_tail; /* background requests with every READ in, for CRIU */
	uint32_t handover;			/* bytes per fq_hand_over(); 0: each request at once */
	unsigned long reads, completed;
	unsigned int bg_open, bg_open_max; /* background requests asked and not completed (most at once) */
	bool bg_partial;		   /* the ranges of a background request are still arriving */
	uint64_t copied_bytes;		   /* bytes the queue copied before CRIU took them */
	double fault_read_avg;		   /* recent time of a fault's READs on the wire, seconds (EWMA) */
	bool paused;			   /* no connection: requests wait in their queues */
	unsigned long urges, urges_moved;  /* faults on a requested page (fq_urge); its request moved ahead */
	unsigned long parts;		   /* parts of background requests handed over (not their last) */
};

#define FQ_MAX_STAGE 32

struct fq_setup {
	const struct export_table *table;
	long page;
	uint32_t read_size; /* a multiple of @page */
	unsigned int nr_bg, nr_fault;
	unsigned int bg_depth;	   /* 0 or >= nr_bg: nr_bg */
	unsigned int bg_cap_fault; /* >= nr_bg: no cap */
	double bg_hold;		   /* seconds the cap holds after the last fault */
	bool one_copy;
	unsigned int nr_stage; /* at most FQ_MAX_STAGE; 0: requests of several READs gather privately */
	uint32_t stage_size;   /* a multiple of @page */
	uint32_t handover;     /* background bytes CRIU gets per fq_hand_over(), a multiple of @page; 0: at once */
	fq_post_t post;
	fq_flush_t flush; /* optional */
	void *post_ctx;
	void *pool; /* optional: fq_pool_size_for() bytes, page-aligned, the queue's from now on */
	struct fetch_stats *stats;
	double (*now)(void);
};

int fq_init(struct fetch_queue *q, const struct fq_setup *s);
/* The pool (slots and staging buffers), to be registered for the READs to land in. */
size_t fq_pool_size(const struct fetch_queue *q);
/* The size of the pool fq_init() would make for @s. */
size_t fq_pool_size_for(const struct fq_setup *s);
void fq_fini(struct fetch_queue *q);

/*
 * A new request: queued, and posted as far as free slots allow.  A
 * background request of several ranges (a sparse area) comes one range per
 * call, @more set on all but the last: those wait to be posted with the last.
 */
int fq_submit(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf,
	      enum fq_kind kind, bool more, cr_lazy_pages_complete_t complete, void *priv);
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
/*
 * Gives CRIU the ready background requests, at most handover bytes of them
 * (@all: every one), front to back; how many requests or parts it handed
 * over, or -1.
 */
int fq_hand_over(struct fetch_queue *q, bool all);
/* Background requests wait to be handed over. */
bool fq_ready(const struct fetch_queue *q);
/*
 * A task waits on page @vaddr of task @img_id, which a request asked for
 * before carries (CRIU does not ask again): that request goes first among
 * those ready, or among those not yet posted (behind any whose READs have
 * begun).  1 if it was found there, 0 if not (its READs are all on the
 * wire, or it is done), -1 on an error.
 */
int fq_urge(struct fetch_queue *q, unsigned long img_id, unsigned long vaddr);
/* Posts what the cap held back once it has lifted (called now and then). */
int fq_kick(struct fetch_queue *q);
/* A fault is queued or in flight (not a prefetch). */
bool fq_faults_pending(const struct fetch_queue *q);
/* Anything is queued, in flight or ready. */
bool fq_busy(const struct fetch_queue *q);
/* READ slot @slot holds a fault's READ (not a prefetch's, not the background's). */
bool fq_slot_is_fault(const struct fetch_queue *q, unsigned int slot);

/* How a fault polls for its READ (seconds; see fq_spin_budget). */
struct fq_spin {
	double max;    /* at most this long; 0: never (CRIU_RDMA_FAULT_SPIN_US) */
	bool adaptive; /* twice the recent READ time, none while that exceeds max (..._ADAPTIVE) */
	double idle;   /* no background READ in flight or queued: this long, whatever the recent times
			  (CRIU_RDMA_FAULT_SPIN_IDLE_US; 0: the rules above always) */
};
/* How long a fault just submitted polls for its READs now: 0 for not at all. */
double fq_spin_budget(const struct fetch_queue *q, const struct fq_spin *sp);

#endif
