// SPDX-License-Identifier: GPL-2.0-only
/*
 * The READ path: one-sided READs posted on the main QP or the lane, and the
 * send CQ they complete into.  That CQ also carries the control SENDs'
 * completions, so whoever reaps it sorts them: a SEND frees its slot, a READ
 * goes to the caller, or to a stash when the caller only wanted a slot.
 */
#include <errno.h>
#include <poll.h>

#include "rconn_int.h"
#include "rdma_log.h"
#include "rdma_util.h"

/* Consumes pending events of @cc and re-arms @cq. */
int rconn_rearm(struct ibv_comp_channel *cc, struct ibv_cq *cq)
{
	struct ibv_cq *ev_cq;
	void *ctx;

	while (ibv_get_cq_event(cc, &ev_cq, &ctx) == 0)
		ibv_ack_cq_events(ev_cq, 1);
	if (errno != EAGAIN)
		return -1;
	return ibv_req_notify_cq(cq, 0);
}

int rconn_wait_channel(struct rconn *c, struct ibv_comp_channel *cc, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = cc->fd, .events = POLLIN },
		{ .fd = c->ec->fd, .events = POLLIN },
	};
	int ret = poll(pfd, 2, timeout_ms);

	if (ret < 0)
		return errno == EINTR ? 0 : -1;
	if (pfd[1].revents && rconn_check_peer(c))
		return -1;
	return pfd[0].revents ? 1 : 0;
}

int rconn_wc_error(const struct ibv_wc *wc)
{
	pr_err("work request %llu failed: %s (vendor error 0x%x)\n", (unsigned long long)wc->wr_id,
	       ibv_wc_status_str(wc->status), wc->vendor_err);
	return -1;
}

int rconn_reap_send_cq(struct rconn *c, struct ibv_wc *wc, int n)
{
	struct ibv_wc tmp[16];
	int got = 0, ret, i;

	do {
		ret = ibv_poll_cq(c->send_cq, 16, tmp);
		if (ret < 0)
			return -1;
		for (i = 0; i < ret; i++) {
			if (tmp[i].wr_id >= RCONN_WRID_SEND) {
				if (tmp[i].status != IBV_WC_SUCCESS)
					return rconn_wc_error(&tmp[i]);
				c->sends_busy &= ~(1u << (tmp[i].wr_id - RCONN_WRID_SEND));
			} else if (got < n) {
				wc[got++] = tmp[i];
			} else {
				c->stash[c->n_stash++] = tmp[i];
			}
		}
	} while (ret == 16);
	return got;
}

/*
 * Returns READ completions (up to @n), waiting up to @timeout_ms for one.
 * 0 means none came in time: the channel can fire for control SENDs only, or
 * the CM fd for an event that is not a disconnect, so wake-ups without a
 * READ completion go back to waiting until the deadline.
 */
int rconn_poll(struct rconn *c, struct ibv_wc *wc, int n, int timeout_ms)
{
	double deadline, left;
	int got = 0, ret;

	while (c->n_stash && got < n)
		wc[got++] = c->stash[--c->n_stash];
	if (got)
		return got;
	ret = rconn_reap_send_cq(c, wc, n);
	if (ret != 0 || timeout_ms <= 0)
		return ret;
	deadline = rdma_now() + timeout_ms / 1e3;
	for (;;) {
		if (rconn_rearm(c->send_cc, c->send_cq))
			return -1;
		ret = rconn_reap_send_cq(c, wc, n);
		if (ret != 0)
			return ret;
		left = deadline - rdma_now();
		if (left <= 0 || c->peer_gone)
			return c->peer_gone ? -1 : 0;
		ret = rconn_wait_channel(c, c->send_cc, (int)(left * 1e3) + 1);
		if (ret < 0)
			return ret;
	}
}

int rconn_completion_fd(const struct rconn *c)
{
	return c->send_cc->fd;
}

int rconn_ack_completion(struct rconn *c)
{
	return rconn_rearm(c->send_cc, c->send_cq);
}

int rconn_take_completion_events(struct rconn *c)
{
	struct ibv_cq *ev_cq;
	void *ctx;

	while (ibv_get_cq_event(c->send_cc, &ev_cq, &ctx) == 0)
		ibv_ack_cq_events(ev_cq, 1);
	return errno == EAGAIN ? 0 : -1;
}

int rconn_arm_completion(struct rconn *c)
{
	return ibv_req_notify_cq(c->send_cq, 0);
}

/* Posts the READs queued for one QP in one call; the queue is empty after, even on failure. */
static int flush_chain(struct rconn *c, bool lane)
{
	struct rconn_chain *ch = &c->chain[lane];
	struct ibv_send_wr *bad;
	unsigned int n = ch->n;
	int ret;

	if (!n)
		return 0;
	ch->wr[n - 1].next = NULL;
	if (!lane && c->poster) {
		/* handed (0), failed (-1), or the poster's ring is full: post here */
		ret = rconn_poster_hand(c, ch);
		if (ret <= 0) {
			c->reads_aside += ret ? 0 : n;
			ch->n = 0;
			return ret;
		}
	}
	ch->n = 0;
	return ibv_post_send(lane ? c->lane_qp : c->qp, ch->wr, &bad) ? -1 : 0;
}

int rconn_queue_read(struct rconn *c, bool lane, void *local, uint32_t lkey, uint64_t raddr, uint32_t rkey,
		     uint32_t len, uint64_t wr_id)
{
	struct rconn_chain *ch = &c->chain[lane];
	unsigned int i;

	if (ch->n == RCONN_CHAIN_MAX && flush_chain(c, lane))
		return -1;
	i = ch->n++;
	ch->sge[i] = (struct ibv_sge){ .addr = (uintptr_t)local, .length = len, .lkey = lkey };
	ch->wr[i] = (struct ibv_send_wr){
		.wr_id = wr_id,
		.sg_list = &ch->sge[i],
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_READ,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	};
	if (i)
		ch->wr[i - 1].next = &ch->wr[i];
	return 0;
}

/*
 * The lane first: a software device may serve what a post hands it before
 * the post returns, and a fault's READ must not wait behind the background.
 */
int rconn_flush_reads(struct rconn *c)
{
	int ret = flush_chain(c, true);

	return flush_chain(c, false) || ret ? -1 : 0;
}

int rconn_post_read(struct rconn *c, bool lane, void *local, uint32_t lkey, uint64_t raddr, uint32_t rkey, uint32_t len,
		    uint64_t wr_id)
{
	if (rconn_queue_read(c, lane, local, lkey, raddr, rkey, len, wr_id))
		return -1;
	return rconn_flush_reads(c);
}

struct ibv_mr *rconn_reg(struct rconn *c, void *addr, size_t len, int access)
{
	return ibv_reg_mr(c->pd, addr, len, access);
}

struct ibv_mr *rconn_reg_iova(struct rconn *c, void *addr, size_t len, uint64_t iova, int access)
{
	return ibv_reg_mr_iova2(c->pd, addr, len, iova, access);
}

int rconn_dereg(struct ibv_mr *mr, const char *what)
{
	return rconn_released(ibv_dereg_mr(mr), what);
}
