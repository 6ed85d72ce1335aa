/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Control messages over an rconn: send, receive-and-check, and the session
 * handshake that authenticates the peer (see ctl_auth.h for the proofs).
 */
#ifndef __CRIU_RDMA_CTL_IO_H__
#define __CRIU_RDMA_CTL_IO_H__

#include "ctl_auth.h"
#include "ctl_proto.h"
#include "rdma_conn.h"

/* Every message fits one receive slot: the connection's params.ctl_msg_size. */
#define CTL_RCONN_PARAMS(netns_, fail_, guard_) \
	((struct rconn_params){                 \
		.netns = (netns_), .ctl_msg_size = RDMA_CTL_MAX_MSG, .fail = (fail_), .guard = (guard_) })

/* One session between a source and a target, as the handshake leaves it. */
struct ctl_session {
	const struct ctl_key *key;
	const struct ctl_self *self;
	struct ctl_binding main;		 /* both nonces, the main connection's QP numbers */
	uint8_t peer_instance[CTL_INSTANCE_LEN]; /* source: the target's instance id */
	bool has_peer_instance;
};

int ctl_send(struct rconn *c, const RdmaCtlMsg *msg);
/*
 * Next message of any type.  NULL on a timeout (*timed_out set) or on an
 * error: a lost connection or a malformed message, which is logged.
 */
RdmaCtlMsg *ctl_recv_any(struct rconn *c, int timeout_ms, bool *timed_out);
/* Next message, which must be of type @want (a close carrying an error is reported). */
RdmaCtlMsg *ctl_recv(struct rconn *c, RdmaCtlMsg__BodyCase want, int timeout_ms);
/*
 * The session handshake on the main connection: both sides send a hello
 * with a fresh nonce, then prove the key for this connection and check the
 * peer's proof, then check that they can work together.  0 when the peer is
 * authenticated and compatible; -1 otherwise (the peer is told why), with
 * *@proven telling whether it had proved the key.
 */
int ctl_handshake(struct rconn *c, struct ctl_session *s, int timeout_ms, bool *proven);
/* The token the target's lane connect request carries, and the source's check of it (an rconn_vet_t). */
void ctl_lane_token(const struct ctl_session *s, uint8_t token[CTL_PROOF_LEN]);
int ctl_lane_vet(const void *pdata, size_t len, void *session);
/* Lane proofs travel on the main connection: sends ours for the lane, or checks the peer's. */
int ctl_lane_prove(struct rconn *c, const struct ctl_session *s);
int ctl_lane_check(struct rconn *c, const struct ctl_session *s, int timeout_ms);
int ctl_send_close(struct rconn *c, const char *error);
int ctl_send_task_done(struct rconn *c, uint32_t task_id, uint32_t pid);
/*
 * A heartbeat, if a send slot is free within @timeout_ms (a beat that cannot
 * go is only late: the peer judges by silence); -1 if the connection failed.
 */
int ctl_send_heartbeat(struct rconn *c, uint32_t seq, int timeout_ms);

#endif
