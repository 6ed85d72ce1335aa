// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control messages: RCONN_RECV_SLOTS receive buffers stay posted, and each
 * SEND takes one of RCONN_SEND_SLOTS send buffers until its completion.
 * A slot holds one whole message of at most params.ctl_msg_size bytes.
 */
#include <errno.h>
#include <string.h>

#include "rconn_int.h"
#include "rdma_log.h"
#include "rdma_util.h"

static uint8_t *recv_slot(struct rconn *c, unsigned int i)
{
	return c->ctl_buf + (size_t)i * c->params.ctl_msg_size;
}

static uint8_t *send_slot(struct rconn *c, unsigned int i)
{
	return recv_slot(c, RCONN_RECV_SLOTS + i);
}

int rconn_post_recv(struct rconn *c, unsigned int slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)recv_slot(c, slot),
		.length = (uint32_t)c->params.ctl_msg_size,
		.lkey = c->ctl_mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = slot, .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_recv(c->qp, &wr, &bad);
}

/* Waits up to @timeout_ms for a free send slot; its index, or -1. */
static int free_send_slot(struct rconn *c, int timeout_ms)
{
	const unsigned int all = (1u << RCONN_SEND_SLOTS) - 1;
	unsigned int slot;
	int waited = 0;

	while (c->sends_busy == all) {
		/* Completions of READs reaped here are kept for rconn_poll(). */
		if (rconn_reap_send_cq(c, NULL, 0) < 0 || c->peer_gone || waited > timeout_ms) {
			pr_err("cannot send a control message: %s\n", c->peer_gone ? "peer gone" : "send queue stuck");
			return -1;
		}
		if (c->sends_busy == all) {
			rconn_wait_channel(c, c->send_cc, 10);
			rconn_rearm(c->send_cc, c->send_cq);
			waited += 10;
		}
	}
	for (slot = 0; c->sends_busy & (1u << slot); slot++)
		;
	return (int)slot;
}

int rconn_send_slots_full(struct rconn *c)
{
	const unsigned int all = (1u << RCONN_SEND_SLOTS) - 1;

	if (c->sends_busy == all && rconn_reap_send_cq(c, NULL, 0) < 0)
		return -1;
	return c->sends_busy == all;
}

int rconn_send(struct rconn *c, const void *buf, size_t len, int timeout_ms)
{
	struct ibv_sge sge = { .length = (uint32_t)len, .lkey = c->ctl_mr->lkey };
	struct ibv_send_wr wr = { .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND }, *bad;
	int slot;

	if (len > c->params.ctl_msg_size)
		return -1;
	slot = free_send_slot(c, timeout_ms);
	if (slot < 0)
		return -1;
	memcpy(send_slot(c, slot), buf, len);
	sge.addr = (uintptr_t)send_slot(c, slot);
	wr.wr_id = RCONN_WRID_SEND + slot;
	if (ibv_post_send(c->qp, &wr, &bad)) {
		pr_perror("ibv_post_send (control)");
		return -1;
	}
	c->sends_busy |= 1u << slot;
	return 0;
}

/*
 * Waits until every control SEND posted so far has completed, i.e. sits in
 * a receive buffer of the peer: a message posted just before the QP goes
 * would otherwise be flushed (the peer may be slow to repost receives, and
 * RNR retries take time).
 */
int rconn_drain_sends(struct rconn *c, int timeout_ms)
{
	double deadline = rdma_now() + timeout_ms / 1e3, left;

	for (;;) {
		if (rconn_reap_send_cq(c, NULL, 0) < 0)
			return -1;
		if (!c->sends_busy)
			return 0;
		left = deadline - rdma_now();
		if (left <= 0 || c->peer_gone)
			return -1;
		if (rconn_rearm(c->send_cc, c->send_cq))
			return -1;
		if (rconn_reap_send_cq(c, NULL, 0) < 0)
			return -1;
		if (!c->sends_busy)
			return 0;
		if (rconn_wait_channel(c, c->send_cc, (int)(left * 1e3) + 1) < 0)
			return -1;
	}
}

ssize_t rconn_recv(struct rconn *c, const void **buf, int timeout_ms)
{
	struct ibv_wc wc;
	int ret, waited = 0;

	for (;;) {
		ret = ibv_poll_cq(c->recv_cq, 1, &wc);
		if (ret < 0)
			return -1;
		if (ret == 1)
			break;
		if (c->peer_gone) {
			pr_err("peer disconnected\n");
			return -1;
		}
		if (waited >= timeout_ms)
			return 0;
		if (rconn_rearm(c->recv_cc, c->recv_cq))
			return -1;
		ret = ibv_poll_cq(c->recv_cq, 1, &wc);
		if (ret == 1)
			break;
		if (rconn_wait_channel(c, c->recv_cc, 100) < 0) {
			/* a message may have landed just before the peer left */
			if (ibv_poll_cq(c->recv_cq, 1, &wc) == 1)
				break;
			pr_err("peer disconnected\n");
			return -1;
		}
		waited += 100;
	}
	if (wc.status != IBV_WC_SUCCESS)
		return rconn_wc_error(&wc);
	c->recv_slot = (unsigned int)wc.wr_id;
	*buf = recv_slot(c, c->recv_slot);
	return wc.byte_len;
}

int rconn_recv_done(struct rconn *c)
{
	return rconn_post_recv(c, c->recv_slot);
}
