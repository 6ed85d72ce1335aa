/* SPDX-License-Identifier: GPL-2.0-only */
/* What the rconn_*.c files share with each other, and nobody else. */
#ifndef __CRIU_RDMA_RCONN_INT_H__
#define __CRIU_RDMA_RCONN_INT_H__

#include "rdma_conn.h"

/*
 * rconn_res.c: PD (unless the listener made one), CQs, QP and control
 * buffers on @id's device; RCONN_PEER_LEFT if the request's sender has gone.
 */
int rconn_res_setup(struct rconn *c, struct rdma_cm_id *id);
/* An RC QP on @id, a lane, on the connection's PD and CQs. */
int rconn_res_lane_qp(struct rconn *c, struct rdma_cm_id *id);
/* Releases what rconn_res_setup made (and the QPs); -1 if anything failed (logged). */
int rconn_res_release(struct rconn *c);
/* The same but the PD, which holds the exported memory: for a peer let go. */
int rconn_res_release_peer(struct rconn *c);
/* Guarded QPs (params.guard): moves @qp of @id to RTR (with @resp_res READs answered) or RTS. */
int rconn_qp_ready(struct rconn *c, struct rdma_cm_id *id, struct ibv_qp *qp, enum ibv_qp_state state,
		   uint8_t resp_res);
/* Logs a failed release of @what; @ret is a verbs result (errno value, or -1 with errno). */
int rconn_released(int ret, const char *what);
int rconn_set_nonblock(int fd);

/* rconn_ctl.c */
int rconn_post_recv(struct rconn *c, unsigned int slot);

/* rconn_read.c: the send CQ carries READ and control SEND completions. */
int rconn_rearm(struct ibv_comp_channel *cc, struct ibv_cq *cq);
/* Waits until @cc fires or the peer disconnects; 0 on timeout, 1 ready, -1 gone. */
int rconn_wait_channel(struct rconn *c, struct ibv_comp_channel *cc, int timeout_ms);
/* Reaps the send CQ: SENDs free their slot, READs go to @wc (up to @n) or the stash. */
int rconn_reap_send_cq(struct rconn *c, struct ibv_wc *wc, int n);
int rconn_wc_error(const struct ibv_wc *wc);

/* rconn_poster.c */
int rconn_poster_hand(struct rconn *c, const struct rconn_chain *ch);
int rconn_poster_stop(struct rconn *c);

#endif
