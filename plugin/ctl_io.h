/* SPDX-License-Identifier: GPL-2.0-only */
/* Control messages over an rconn: send, receive-and-check, the hello exchange. */
#ifndef __CRIU_RDMA_CTL_IO_H__
#define __CRIU_RDMA_CTL_IO_H__

#include "ctl_proto.h"
#include "rdma_conn.h"

/* Every message fits one receive slot: the connection's params.ctl_msg_size. */
#define CTL_RCONN_PARAMS(netns_, fail_) \
	((struct rconn_params){ .netns = (netns_), .ctl_msg_size = RDMA_CTL_MAX_MSG, .fail = (fail_) })

int ctl_send(struct rconn *c, const RdmaCtlMsg *msg);
/*
 * Next message of any type.  NULL on a timeout (*timed_out set) or on an
 * error: a lost connection or a malformed message, which is logged.
 */
RdmaCtlMsg *ctl_recv_any(struct rconn *c, int timeout_ms, bool *timed_out);
/* Next message, which must be of type @want (a close carrying an error is reported). */
RdmaCtlMsg *ctl_recv(struct rconn *c, RdmaCtlMsg__BodyCase want, int timeout_ms);
/* Both sides send a hello, then check the peer's against @self. */
int ctl_handshake(struct rconn *c, const struct ctl_self *self, int timeout_ms);
int ctl_send_close(struct rconn *c, const char *error);
int ctl_send_task_done(struct rconn *c, uint32_t task_id, uint32_t pid);

#endif
