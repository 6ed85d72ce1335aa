// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_proto.h"
#include "rdma_conn.h"
#include "rdma_log.h"

#define RCONN_SQ_DEPTH	  256
#define RCONN_MAX_RD_ATOM 16

static uint8_t *recv_slot(struct rconn *c, unsigned int i)
{
	return c->ctl_buf + (size_t)i * RDMA_CTL_MAX_MSG;
}

static uint8_t *send_slot(struct rconn *c, unsigned int i)
{
	return recv_slot(c, RCONN_RECV_SLOTS + i);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int resolve(const char *addr, int port, struct sockaddr_storage *ss)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	char sport[16];
	int ret;

	snprintf(sport, sizeof(sport), "%d", port);
	ret = getaddrinfo(addr, sport, &hints, &res);
	if (ret) {
		pr_err("cannot resolve %s: %s\n", addr, gai_strerror(ret));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* Waits for one CM event of type @want; any other event is an error. */
static int cm_wait(struct rconn *c, enum rdma_cm_event_type want, struct rdma_cm_event **out, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->ec->fd, .events = POLLIN };
	struct rdma_cm_event *ev;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret == 0) {
		pr_err("timed out after %d ms waiting for %s\n", timeout_ms, rdma_event_str(want));
		return -1;
	}
	if (ret < 0 || rdma_get_cm_event(c->ec, &ev)) {
		pr_perror("waiting for %s", rdma_event_str(want));
		return -1;
	}
	if (ev->event != want) {
		pr_err("expected %s, got %s (status %d%s%s)\n", rdma_event_str(want), rdma_event_str(ev->event),
		       ev->status, ev->status < 0 ? ": " : "", ev->status < 0 ? strerror(-ev->status) : "");
		if (ev->event == RDMA_CM_EVENT_DISCONNECTED)
			c->peer_gone = true;
		rdma_ack_cm_event(ev);
		return -1;
	}
	*out = ev;
	return 0;
}

static int cm_channel(struct rconn *c)
{
	c->ec = rdma_create_event_channel();
	if (!c->ec) {
		pr_perror("cannot open the RDMA CM (is rdma_ucm loaded? /dev/infiniband/rdma_cm)");
		return -1;
	}
	return set_nonblock(c->ec->fd);
}

static struct ibv_cq *make_cq(struct rconn *c, struct ibv_context *verbs, int depth, struct ibv_comp_channel **cc)
{
	struct ibv_cq *cq;

	*cc = ibv_create_comp_channel(verbs);
	if (!*cc || set_nonblock((*cc)->fd))
		return NULL;
	cq = ibv_create_cq(verbs, depth, c, *cc, 0);
	if (!cq || ibv_req_notify_cq(cq, 0))
		return NULL;
	return cq;
}

static int post_recv(struct rconn *c, unsigned int slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)recv_slot(c, slot),
		.length = RDMA_CTL_MAX_MSG,
		.lkey = c->ctl_mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = slot, .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_recv(c->qp, &wr, &bad);
}

/* An RC QP on @id in the connection's PD, completing into its CQs. */
static int create_qp(struct rconn *c, struct rdma_cm_id *id)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = c->send_cq,
		.recv_cq = c->recv_cq,
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = c->sq_depth,
			.max_recv_wr = RCONN_RECV_SLOTS,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
		.sq_sig_all = 1,
	};

	if (rdma_create_qp(id, c->pd, &qa)) {
		pr_perror("rdma_create_qp");
		return -1;
	}
	return 0;
}

/* PD, CQs, QP and control buffers on the device @id is bound to. */
static int setup_qp(struct rconn *c, struct rdma_cm_id *id)
{
	struct ibv_device_attr da;
	size_t ctl_len = (size_t)(RCONN_RECV_SLOTS + RCONN_SEND_SLOTS) * RDMA_CTL_MAX_MSG;
	unsigned int i;

	if (ibv_query_device(id->verbs, &da)) {
		pr_perror("ibv_query_device");
		return -1;
	}
	c->max_reads = RCONN_MAX_RD_ATOM;
	if ((unsigned int)da.max_qp_init_rd_atom < c->max_reads)
		c->max_reads = da.max_qp_init_rd_atom;
	if ((unsigned int)da.max_qp_rd_atom < c->max_reads)
		c->max_reads = da.max_qp_rd_atom;
	c->sq_depth = RCONN_SQ_DEPTH < da.max_qp_wr ? RCONN_SQ_DEPTH : da.max_qp_wr;

	/* A listener allocates its PD early, so memory can be exported before a peer comes. */
	if (!c->pd)
		c->pd = ibv_alloc_pd(id->verbs);
	if (!c->pd) {
		pr_perror("ibv_alloc_pd");
		return -1;
	}
	/* room for the completions of both QPs: the connection's and its lane's */
	c->send_cq = make_cq(c, id->verbs, 2 * c->sq_depth, &c->send_cc);
	c->recv_cq = make_cq(c, id->verbs, RCONN_RECV_SLOTS, &c->recv_cc);
	if (!c->send_cq || !c->recv_cq) {
		pr_perror("cannot create completion queues");
		return -1;
	}
	if (create_qp(c, id))
		return -1;
	c->qp = id->qp;

	c->stash = calloc(2 * (size_t)c->sq_depth, sizeof(*c->stash));
	c->ctl_buf = aligned_alloc(4096, ctl_len);
	if (!c->stash || !c->ctl_buf)
		return -1;
	c->ctl_mr = ibv_reg_mr(c->pd, c->ctl_buf, ctl_len, IBV_ACCESS_LOCAL_WRITE);
	if (!c->ctl_mr) {
		pr_perror("cannot register control buffers");
		return -1;
	}
	for (i = 0; i < RCONN_RECV_SLOTS; i++)
		if (post_recv(c, i)) {
			pr_perror("ibv_post_recv");
			return -1;
		}
	return 0;
}

int rconn_listen(struct rconn *c, const char *addr, int port)
{
	struct sockaddr_storage ss;

	memset(c, 0, sizeof(*c));
	if (resolve(addr, port, &ss) || cm_channel(c))
		return -1;
	if (rdma_create_id(c->ec, &c->listen_id, c, RDMA_PS_TCP)) {
		pr_perror("rdma_create_id");
		return -1;
	}
	if (rdma_bind_addr(c->listen_id, (struct sockaddr *)&ss)) {
		pr_perror("cannot bind to %s:%d", addr, port);
		return -1;
	}
	/* A bound id knows its device; no device means no RDMA on that address. */
	if (!c->listen_id->verbs) {
		pr_err("no RDMA device serves %s (see 'rdma link' / 'ibv_devices')\n", addr);
		return -1;
	}
	c->pd = ibv_alloc_pd(c->listen_id->verbs);
	if (!c->pd) {
		pr_perror("ibv_alloc_pd on %s", rconn_dev_name(c));
		return -1;
	}
	if (rdma_listen(c->listen_id, 1)) {
		pr_perror("rdma_listen on %s:%d", addr, port);
		return -1;
	}
	pr_info("listening on %s:%d, device %s\n", addr, port, rconn_dev_name(c));
	return 0;
}

/*
 * Waits for a connect request and accepts it: the first one gets the PD,
 * CQs, QP and control buffers (@lane false), a later one only a QP of its
 * own on them (@lane true).
 */
static int accept_one(struct rconn *c, bool lane, int timeout_ms)
{
	struct rdma_conn_param cp = {};
	struct rdma_cm_event *ev;
	struct rdma_cm_id *id;
	uint8_t peer_depth;

	if (cm_wait(c, RDMA_CM_EVENT_CONNECT_REQUEST, &ev, timeout_ms))
		return -1;
	id = ev->id;
	peer_depth = ev->param.conn.initiator_depth;
	rdma_ack_cm_event(ev);

	if (lane ? create_qp(c, id) : setup_qp(c, id)) {
		rdma_reject(id, NULL, 0);
		rdma_destroy_id(id);
		return -1;
	}
	if (lane) {
		c->lane_id = id;
		c->lane_qp = id->qp;
	} else {
		c->id = id;
	}
	/* We answer the peer's READs: as many as it will issue, as we can. */
	cp.responder_resources = peer_depth < c->max_reads ? peer_depth : c->max_reads;
	cp.initiator_depth = cp.responder_resources;
	cp.rnr_retry_count = 7;
	if (rdma_accept(id, &cp)) {
		pr_perror("rdma_accept");
		return -1;
	}
	if (cm_wait(c, RDMA_CM_EVENT_ESTABLISHED, &ev, timeout_ms))
		return -1;
	rdma_ack_cm_event(ev);
	return 0;
}

int rconn_accept(struct rconn *c, int timeout_ms)
{
	if (accept_one(c, false, timeout_ms))
		return -1;
	c->connected = true;
	return 0;
}

int rconn_accept_lane(struct rconn *c, int timeout_ms)
{
	return accept_one(c, true, timeout_ms);
}

/*
 * Resolves @addr:@port on a new id of the connection's event channel and
 * connects it: the first id gets the PD, CQs, QP and control buffers (@lane
 * false), a lane only a QP of its own on them.  Returns the READ depth the
 * responder granted, or -1.
 */
static int connect_one(struct rconn *c, struct rdma_cm_id **idp, bool lane, const char *addr, int port, int timeout_ms)
{
	struct rdma_conn_param cp = {};
	struct sockaddr_storage ss;
	struct rdma_cm_event *ev;
	unsigned int depth;

	if (resolve(addr, port, &ss))
		return -1;
	if (rdma_create_id(c->ec, idp, c, RDMA_PS_TCP)) {
		pr_perror("rdma_create_id");
		return -1;
	}
	if (rdma_resolve_addr(*idp, NULL, (struct sockaddr *)&ss, timeout_ms)) {
		pr_perror("cannot resolve %s to an RDMA device", addr);
		return -1;
	}
	if (cm_wait(c, RDMA_CM_EVENT_ADDR_RESOLVED, &ev, timeout_ms + 1000)) {
		pr_err("no RDMA route to %s (no local RDMA device for it?)\n", addr);
		return -1;
	}
	rdma_ack_cm_event(ev);
	if (rdma_resolve_route(*idp, timeout_ms) || cm_wait(c, RDMA_CM_EVENT_ROUTE_RESOLVED, &ev, timeout_ms + 1000)) {
		pr_err("cannot resolve a route to %s\n", addr);
		return -1;
	}
	rdma_ack_cm_event(ev);
	if (lane ? create_qp(c, *idp) : setup_qp(c, *idp))
		return -1;
	cp.initiator_depth = c->max_reads;
	cp.responder_resources = c->max_reads;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	if (rdma_connect(*idp, &cp)) {
		pr_perror("rdma_connect to %s:%d", addr, port);
		return -1;
	}
	if (cm_wait(c, RDMA_CM_EVENT_ESTABLISHED, &ev, timeout_ms)) {
		pr_err("cannot connect to %s:%d (is the source serving?)\n", addr, port);
		return -1;
	}
	/* The READ depth actually granted by the responder. */
	depth = c->max_reads;
	if (ev->param.conn.initiator_depth && ev->param.conn.initiator_depth < depth)
		depth = ev->param.conn.initiator_depth;
	rdma_ack_cm_event(ev);
	return (int)depth;
}

int rconn_connect(struct rconn *c, const char *addr, int port, int timeout_ms)
{
	int depth;

	memset(c, 0, sizeof(*c));
	if (cm_channel(c))
		return -1;
	depth = connect_one(c, &c->id, false, addr, port, timeout_ms);
	if (depth < 0)
		return -1;
	c->max_reads = (unsigned int)depth;
	c->connected = true;
	pr_info("connected to %s:%d through %s, %u READs in flight\n", addr, port, rconn_dev_name(c), c->max_reads);
	return 0;
}

int rconn_connect_lane(struct rconn *c, const char *addr, int port, int timeout_ms)
{
	int depth = connect_one(c, &c->lane_id, true, addr, port, timeout_ms);

	if (depth < 0)
		return -1;
	c->lane_qp = c->lane_id->qp;
	c->lane_reads = (unsigned int)depth;
	return 0;
}

void rconn_close(struct rconn *c)
{
	if (c->connected && !c->peer_gone) {
		rdma_disconnect(c->id);
		if (c->lane_qp)
			rdma_disconnect(c->lane_id);
	}
	if (c->lane_qp)
		rdma_destroy_qp(c->lane_id);
	if (c->lane_id)
		rdma_destroy_id(c->lane_id);
	if (c->qp)
		rdma_destroy_qp(c->id);
	if (c->ctl_mr)
		ibv_dereg_mr(c->ctl_mr);
	if (c->send_cq)
		ibv_destroy_cq(c->send_cq);
	if (c->recv_cq)
		ibv_destroy_cq(c->recv_cq);
	if (c->send_cc)
		ibv_destroy_comp_channel(c->send_cc);
	if (c->recv_cc)
		ibv_destroy_comp_channel(c->recv_cc);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->listen_id)
		rdma_destroy_id(c->listen_id);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	free(c->ctl_buf);
	free(c->stash);
	memset(c, 0, sizeof(*c));
}

const char *rconn_dev_name(const struct rconn *c)
{
	struct rdma_cm_id *id = c->id ? c->id : c->listen_id;

	return id && id->verbs ? ibv_get_device_name(id->verbs->device) : "?";
}

int rconn_check_peer(struct rconn *c)
{
	struct rdma_cm_event *ev;

	while (!c->peer_gone && rdma_get_cm_event(c->ec, &ev) == 0) {
		if (ev->event == RDMA_CM_EVENT_DISCONNECTED || ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL ||
		    ev->event == RDMA_CM_EVENT_TIMEWAIT_EXIT)
			c->peer_gone = true;
		rdma_ack_cm_event(ev);
	}
	return c->peer_gone ? -1 : 0;
}

int rconn_cm_fd(const struct rconn *c)
{
	return c->ec->fd;
}

int rconn_completion_fd(const struct rconn *c)
{
	return c->send_cc->fd;
}

/* Consumes pending events of @cc and re-arms @cq. */
static int rearm(struct ibv_comp_channel *cc, struct ibv_cq *cq)
{
	struct ibv_cq *ev_cq;
	void *ctx;

	while (ibv_get_cq_event(cc, &ev_cq, &ctx) == 0)
		ibv_ack_cq_events(ev_cq, 1);
	if (errno != EAGAIN)
		return -1;
	return ibv_req_notify_cq(cq, 0);
}

int rconn_ack_completion(struct rconn *c)
{
	return rearm(c->send_cc, c->send_cq);
}

/* Waits until @cc fires or the peer disconnects; 0 on timeout, 1 ready, -1 gone. */
static int wait_channel(struct rconn *c, struct ibv_comp_channel *cc, int timeout_ms)
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

static int wc_error(const struct ibv_wc *wc)
{
	pr_err("work request %llu failed: %s (vendor error 0x%x)\n", (unsigned long long)wc->wr_id,
	       ibv_wc_status_str(wc->status), wc->vendor_err);
	return -1;
}

/* Reaps send-CQ completions; control SENDs free their slot, READs go to @wc. */
static int reap_send_cq(struct rconn *c, struct ibv_wc *wc, int n)
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
					return wc_error(&tmp[i]);
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

double rdma_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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
	ret = reap_send_cq(c, wc, n);
	if (ret != 0 || timeout_ms <= 0)
		return ret;
	deadline = rdma_now() + timeout_ms / 1e3;
	for (;;) {
		if (rearm(c->send_cc, c->send_cq))
			return -1;
		ret = reap_send_cq(c, wc, n);
		if (ret != 0)
			return ret;
		left = deadline - rdma_now();
		if (left <= 0 || c->peer_gone)
			return c->peer_gone ? -1 : 0;
		ret = wait_channel(c, c->send_cc, (int)(left * 1e3) + 1);
		if (ret < 0)
			return ret;
	}
}

int rconn_send(struct rconn *c, const void *buf, size_t len, int timeout_ms)
{
	struct ibv_sge sge = { .length = (uint32_t)len, .lkey = c->ctl_mr->lkey };
	struct ibv_send_wr wr = { .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND }, *bad;
	unsigned int slot;
	int waited = 0, ret;

	if (len > RDMA_CTL_MAX_MSG)
		return -1;
	while (c->sends_busy == (1u << RCONN_SEND_SLOTS) - 1) {
		/* Completions of READs reaped here are kept for rconn_poll(). */
		ret = reap_send_cq(c, NULL, 0);
		if (ret < 0 || c->peer_gone || waited > timeout_ms) {
			pr_err("cannot send a control message: %s\n", c->peer_gone ? "peer gone" : "send queue stuck");
			return -1;
		}
		if (c->sends_busy == (1u << RCONN_SEND_SLOTS) - 1) {
			wait_channel(c, c->send_cc, 10);
			rearm(c->send_cc, c->send_cq);
			waited += 10;
		}
	}
	for (slot = 0; c->sends_busy & (1u << slot); slot++)
		;
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
		if (reap_send_cq(c, NULL, 0) < 0)
			return -1;
		if (!c->sends_busy)
			return 0;
		left = deadline - rdma_now();
		if (left <= 0 || c->peer_gone)
			return -1;
		if (rearm(c->send_cc, c->send_cq))
			return -1;
		if (reap_send_cq(c, NULL, 0) < 0)
			return -1;
		if (!c->sends_busy)
			return 0;
		if (wait_channel(c, c->send_cc, (int)(left * 1e3) + 1) < 0)
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
		if (rearm(c->recv_cc, c->recv_cq))
			return -1;
		ret = ibv_poll_cq(c->recv_cq, 1, &wc);
		if (ret == 1)
			break;
		if (wait_channel(c, c->recv_cc, 100) < 0) {
			/* a message may have landed just before the peer left */
			if (ibv_poll_cq(c->recv_cq, 1, &wc) == 1)
				break;
			pr_err("peer disconnected\n");
			return -1;
		}
		waited += 100;
	}
	if (wc.status != IBV_WC_SUCCESS)
		return wc_error(&wc);
	c->recv_slot = (unsigned int)wc.wr_id;
	*buf = recv_slot(c, c->recv_slot);
	return wc.byte_len;
}

int rconn_recv_done(struct rconn *c)
{
	return post_recv(c, c->recv_slot);
}

struct ibv_mr *rconn_reg(struct rconn *c, void *addr, size_t len, int access)
{
	return ibv_reg_mr(c->pd, addr, len, access);
}

struct ibv_mr *rconn_reg_iova(struct rconn *c, void *addr, size_t len, uint64_t iova, int access)
{
	return ibv_reg_mr_iova2(c->pd, addr, len, iova, access);
}

int rconn_post_read(struct rconn *c, bool lane, void *local, uint32_t lkey, uint64_t raddr, uint32_t rkey, uint32_t len,
		    uint64_t wr_id)
{
	struct ibv_sge sge = { .addr = (uintptr_t)local, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_READ,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;

	return ibv_post_send(lane ? c->lane_qp : c->qp, &wr, &bad) ? -1 : 0;
}
