// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verbs resources of a connection, made in one order and released in
 * the reverse one: PD, completion channels and CQs, QP, control buffers.
 * A failure half way releases what was made so far, one label per resource,
 * and every release is checked: a PD that will not go (EBUSY) means a
 * region was left registered, a completion channel that will not go means a
 * CQ was leaked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "rconn_int.h"
#include "rdma_log.h"

#define RCONN_SQ_DEPTH 256

int rconn_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int rconn_released(int ret, const char *what)
{
	if (!ret)
		return 0;
	errno = ret > 0 ? ret : errno;
	pr_perror("cannot release %s%s", what, errno == EBUSY ? " (still in use)" : "");
	return -1;
}

static int fail_injected(const struct rconn *c, enum rconn_fail where, const char *what)
{
	if (c->params.fail != where)
		return 0;
	pr_err("test: injected failure: %s\n", what);
	errno = EIO;
	return 1;
}

/* A CQ of @depth with its own non-blocking completion channel, armed. */
static struct ibv_cq *make_cq(struct rconn *c, struct ibv_context *verbs, int depth, struct ibv_comp_channel **ccp)
{
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	int ret;

	cc = ibv_create_comp_channel(verbs);
	if (!cc) {
		pr_perror("ibv_create_comp_channel");
		return NULL;
	}
	if (rconn_set_nonblock(cc->fd)) {
		pr_perror("cannot make the completion channel non-blocking");
		goto err_cc;
	}
	cq = ibv_create_cq(verbs, depth, c, cc, 0);
	if (!cq) {
		pr_perror("ibv_create_cq of %d entries", depth);
		goto err_cc;
	}
	ret = fail_injected(c, RCONN_FAIL_NOTIFY_CQ, "arming a completion queue") ? EIO : ibv_req_notify_cq(cq, 0);
	if (ret) {
		errno = ret;
		pr_perror("ibv_req_notify_cq");
		goto err_cq;
	}
	*ccp = cc;
	return cq;

err_cq:
	rconn_released(ibv_destroy_cq(cq), "a completion queue");
err_cc:
	rconn_released(ibv_destroy_comp_channel(cc), "a completion channel");
	return NULL;
}

static int destroy_cq(struct ibv_cq **cq, struct ibv_comp_channel **cc)
{
	int ret = 0;

	if (*cq)
		ret |= rconn_released(ibv_destroy_cq(*cq), "a completion queue");
	if (*cc)
		ret |= rconn_released(ibv_destroy_comp_channel(*cc), "a completion channel");
	*cq = NULL;
	*cc = NULL;
	return ret;
}

/*
 * A guarded QP starts with no remote access at all: rdma_cm would enable
 * remote READ when the peer asks for a read depth (and re-applies its INIT
 * attributes on accept), so the QP is ours, not the id's, and we drive its
 * transitions with rdma_cm's attributes but our access flags.  Remote READ
 * is switched on by rconn_allow_read() once the peer has proved the key.
 */
static struct ibv_qp *guarded_qp(struct rconn *c, struct rdma_cm_id *id, struct ibv_qp_init_attr *qa, bool *peer_left)
{
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_INIT };
	struct ibv_qp *qp;
	int mask, ret;

	qp = ibv_create_qp(c->pd, qa);
	if (!qp) {
		pr_perror("ibv_create_qp");
		return NULL;
	}
	/* rdma_cm has no attributes for a request whose sender has gone */
	ret = rdma_init_qp_attr(id, &attr, &mask);
	if (ret) {
		pr_perror("no QP attributes for the connect request (has the peer gone?)");
		*peer_left = true;
	} else {
		attr.qp_access_flags = 0;
		ret = ibv_modify_qp(qp, &attr, mask | IBV_QP_ACCESS_FLAGS);
		if (ret) {
			errno = ret > 0 ? ret : errno;
			pr_perror("cannot move a new QP to INIT");
		}
	}
	if (ret) {
		rconn_released(ibv_destroy_qp(qp), "a QP");
		return NULL;
	}
	return qp;
}

/* An RC QP for @id in the connection's PD, completing into its CQs. */
static struct ibv_qp *create_qp(struct rconn *c, struct rdma_cm_id *id, bool *peer_left)
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

	if (c->params.guard)
		return guarded_qp(c, id, &qa, peer_left);
	if (rdma_create_qp(id, c->pd, &qa)) {
		pr_perror("rdma_create_qp");
		return NULL;
	}
	return id->qp;
}

static int destroy_qp(struct rconn *c, struct rdma_cm_id *id, struct ibv_qp *qp)
{
	if (!qp)
		return 0;
	if (!c->params.guard) {
		rdma_destroy_qp(id);
		return 0;
	}
	return rconn_released(ibv_destroy_qp(qp), "a QP");
}

int rconn_res_lane_qp(struct rconn *c, struct rdma_cm_id *id)
{
	bool peer_left = false;

	c->lane_qp = create_qp(c, id, &peer_left);
	if (!c->lane_qp)
		return peer_left ? RCONN_PEER_LEFT : -1;
	return 0;
}

/* READ depth and queue sizes: ours, bounded by what the device offers. */
static int size_queues(struct rconn *c, struct ibv_context *verbs)
{
	struct ibv_device_attr da;

	if (ibv_query_device(verbs, &da)) {
		pr_perror("ibv_query_device");
		return -1;
	}
	c->max_reads = RCONN_MAX_RD_ATOM;
	if ((unsigned int)da.max_qp_init_rd_atom < c->max_reads)
		c->max_reads = da.max_qp_init_rd_atom;
	if ((unsigned int)da.max_qp_rd_atom < c->max_reads)
		c->max_reads = da.max_qp_rd_atom;
	c->sq_depth = RCONN_SQ_DEPTH < da.max_qp_wr ? RCONN_SQ_DEPTH : da.max_qp_wr;
	return 0;
}

/* The control slots: receive buffers posted, send buffers beside them. */
static int setup_ctl(struct rconn *c)
{
	size_t len = (size_t)(RCONN_RECV_SLOTS + RCONN_SEND_SLOTS) * c->params.ctl_msg_size;
	unsigned int i;

	c->ctl_buf = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);
	if (!c->ctl_buf) {
		pr_err("no memory for %zu bytes of control buffers\n", len);
		return -1;
	}
	c->ctl_mr = fail_injected(c, RCONN_FAIL_CTL_REG, "registering the control buffers")
			    ? NULL
			    : ibv_reg_mr(c->pd, c->ctl_buf, len, IBV_ACCESS_LOCAL_WRITE);
	if (!c->ctl_mr) {
		pr_perror("cannot register control buffers");
		goto err_buf;
	}
	for (i = 0; i < RCONN_RECV_SLOTS; i++)
		if (rconn_post_recv(c, i)) {
			pr_perror("ibv_post_recv");
			goto err_mr;
		}
	return 0;

err_mr:
	rconn_released(ibv_dereg_mr(c->ctl_mr), "the control buffers' region");
	c->ctl_mr = NULL;
err_buf:
	free(c->ctl_buf);
	c->ctl_buf = NULL;
	return -1;
}

int rconn_res_setup(struct rconn *c, struct rdma_cm_id *id)
{
	/* A listener allocates its PD early, so memory can be exported before a peer comes. */
	bool own_pd = !c->pd, peer_left = false;

	if (size_queues(c, id->verbs))
		return -1;
	if (own_pd) {
		c->pd = ibv_alloc_pd(id->verbs);
		if (!c->pd) {
			pr_perror("ibv_alloc_pd");
			return -1;
		}
	}
	/* room for the completions of both QPs: the connection's and its lane's */
	c->send_cq = make_cq(c, id->verbs, 2 * c->sq_depth, &c->send_cc);
	if (!c->send_cq)
		goto err_pd;
	c->recv_cq = make_cq(c, id->verbs, RCONN_RECV_SLOTS, &c->recv_cc);
	if (!c->recv_cq)
		goto err_send_cq;
	c->qp = create_qp(c, id, &peer_left);
	if (!c->qp)
		goto err_recv_cq;
	c->stash = calloc(2 * (size_t)c->sq_depth, sizeof(*c->stash));
	if (!c->stash) {
		pr_err("no memory for the completion stash\n");
		goto err_qp;
	}
	if (setup_ctl(c))
		goto err_stash;
	return 0;

err_stash:
	free(c->stash);
	c->stash = NULL;
err_qp:
	destroy_qp(c, id, c->qp);
	c->qp = NULL;
err_recv_cq:
	destroy_cq(&c->recv_cq, &c->recv_cc);
err_send_cq:
	destroy_cq(&c->send_cq, &c->send_cc);
err_pd:
	if (own_pd) {
		rconn_released(ibv_dealloc_pd(c->pd), "the protection domain");
		c->pd = NULL;
	}
	return peer_left ? RCONN_PEER_LEFT : -1;
}

int rconn_res_release_peer(struct rconn *c)
{
	int ret = 0;

	/* QPs first: they hold the CQs */
	ret |= destroy_qp(c, c->lane_id, c->lane_qp);
	ret |= destroy_qp(c, c->id, c->qp);
	c->lane_qp = c->qp = NULL;
	if (c->ctl_mr)
		ret |= rconn_released(ibv_dereg_mr(c->ctl_mr), "the control buffers' region");
	c->ctl_mr = NULL;
	free(c->ctl_buf);
	free(c->stash);
	c->ctl_buf = NULL;
	c->stash = NULL;
	c->n_stash = 0;
	c->sends_busy = 0;
	ret |= destroy_cq(&c->recv_cq, &c->recv_cc);
	ret |= destroy_cq(&c->send_cq, &c->send_cc);
	return ret;
}

int rconn_res_release(struct rconn *c)
{
	int ret = rconn_res_release_peer(c);

	if (c->pd)
		ret |= rconn_released(ibv_dealloc_pd(c->pd), "the protection domain");
	c->pd = NULL;
	return ret;
}

/* Guarded QPs: RTR before the accept (the peer may send at once), RTS after it. */
int rconn_qp_ready(struct rconn *c, struct rdma_cm_id *id, struct ibv_qp *qp, enum ibv_qp_state state, uint8_t resp_res)
{
	struct ibv_qp_attr attr = { .qp_state = state };
	int mask, ret;

	if (!c->params.guard)
		return 0;
	ret = rdma_init_qp_attr(id, &attr, &mask);
	if (!ret) {
		if (state == IBV_QPS_RTR)
			attr.max_dest_rd_atomic = resp_res;
		ret = ibv_modify_qp(qp, &attr, mask);
	}
	if (ret) {
		errno = ret > 0 ? ret : errno;
		pr_perror("cannot move a QP to %s", state == IBV_QPS_RTR ? "RTR" : "RTS");
		return -1;
	}
	return 0;
}

int rconn_allow_read(struct rconn *c, bool lane)
{
	struct ibv_qp_attr attr = { .qp_access_flags = IBV_ACCESS_REMOTE_READ };
	struct ibv_qp *qp = lane ? c->lane_qp : c->qp;
	int ret = qp ? ibv_modify_qp(qp, &attr, IBV_QP_ACCESS_FLAGS) : EINVAL;

	if (ret) {
		errno = ret > 0 ? ret : errno;
		pr_perror("cannot allow remote READs on the %s QP", lane ? "lane's" : "connection's");
		return -1;
	}
	return 0;
}
