// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>

#include "ctl_io.h"
#include "rdma_log.h"

int ctl_send(struct rconn *c, const RdmaCtlMsg *msg)
{
	static uint8_t buf[RDMA_CTL_MAX_MSG];
	ssize_t len = ctl_pack(msg, buf, sizeof(buf));

	if (len < 0) {
		pr_err("%s message does not fit %d bytes\n", ctl_body_name(msg->body_case), RDMA_CTL_MAX_MSG);
		return -1;
	}
	return rconn_send(c, buf, (size_t)len, 10000);
}

RdmaCtlMsg *ctl_recv_any(struct rconn *c, int timeout_ms, bool *timed_out)
{
	const void *buf;
	RdmaCtlMsg *m;
	char why[256];
	ssize_t len = rconn_recv(c, &buf, timeout_ms);

	*timed_out = len == 0;
	if (len <= 0)
		return NULL;
	m = ctl_unpack(buf, (size_t)len, why, sizeof(why));
	rconn_recv_done(c);
	if (!m)
		pr_err("refusing a control message: %s\n", why);
	return m;
}

RdmaCtlMsg *ctl_recv(struct rconn *c, RdmaCtlMsg__BodyCase want, int timeout_ms)
{
	bool timed_out;
	RdmaCtlMsg *m = ctl_recv_any(c, timeout_ms, &timed_out);

	if (!m) {
		pr_err("no %s message from the peer%s\n", ctl_body_name(want), timed_out ? " (timed out)" : "");
		return NULL;
	}
	if (m->body_case != want) {
		if (m->body_case == RDMA_CTL_MSG__BODY_CLOSE && m->close->error)
			pr_err("peer gave up: %s\n", m->close->error);
		else
			pr_err("expected a %s message, got %s\n", ctl_body_name(want), ctl_body_name(m->body_case));
		ctl_free(m);
		return NULL;
	}
	return m;
}

int ctl_send_close(struct rconn *c, const char *error)
{
	RdmaCtlMsg msg;
	RdmaClose cl;

	rdma_ctl_msg__init(&msg);
	rdma_close__init(&cl);
	cl.error = (char *)error;
	msg.body_case = RDMA_CTL_MSG__BODY_CLOSE;
	msg.close = &cl;
	return ctl_send(c, &msg);
}

int ctl_send_task_done(struct rconn *c, uint32_t task_id, uint32_t pid)
{
	RdmaCtlMsg msg;
	RdmaTaskDone td;

	rdma_ctl_msg__init(&msg);
	rdma_task_done__init(&td);
	td.task_id = task_id;
	td.has_pid = 1;
	td.pid = pid;
	msg.body_case = RDMA_CTL_MSG__BODY_TASK_DONE;
	msg.task_done = &td;
	return ctl_send(c, &msg);
}

int ctl_handshake(struct rconn *c, const struct ctl_self *self, int timeout_ms)
{
	RdmaCtlMsg msg, *peer;
	RdmaHello hello;
	uint8_t tag[32];
	char why[256];
	int ret;

	ctl_hello_build(&msg, &hello, tag, self);
	if (ctl_send(c, &msg))
		return -1;
	peer = ctl_recv(c, RDMA_CTL_MSG__BODY_HELLO, timeout_ms);
	if (!peer)
		return -1;
	ret = ctl_hello_check(peer->hello, self, why, sizeof(why));
	if (ret) {
		/* role is optional: absent, it is NULL */
		pr_err("refusing the %s: %s\n", peer->hello->role && peer->hello->role[0] ? peer->hello->role : "peer",
		       why);
		/* tell the peer why, before the connection goes */
		if (!ctl_send_close(c, why))
			rconn_drain_sends(c, 1000);
	}
	ctl_free(peer);
	return ret;
}
