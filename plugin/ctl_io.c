// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include <nettle/memops.h>

#include "ctl_io.h"
#include "rdma_log.h"

static int ctl_send_within(struct rconn *c, const RdmaCtlMsg *msg, int timeout_ms)
{
	static uint8_t buf[RDMA_CTL_MAX_MSG];
	ssize_t len = ctl_pack(msg, buf, sizeof(buf));

	if (len < 0) {
		pr_err("%s message does not fit %d bytes\n", ctl_body_name(msg->body_case), RDMA_CTL_MAX_MSG);
		return -1;
	}
	return rconn_send(c, buf, (size_t)len, timeout_ms);
}

int ctl_send(struct rconn *c, const RdmaCtlMsg *msg)
{
	return ctl_send_within(c, msg, 10000);
}

int ctl_send_heartbeat(struct rconn *c, uint32_t seq, int timeout_ms)
{
	int full = rconn_send_slots_full(c);
	RdmaHeartbeat hb;
	RdmaCtlMsg msg;

	if (full)
		return full < 0 ? -1 : 0;
	ctl_heartbeat_build(&msg, &hb, seq);
	return ctl_send_within(c, &msg, timeout_ms);
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
	char text[RDMA_CTL_MAX_LOGGED + 4];
	bool timed_out;
	RdmaCtlMsg *m = ctl_recv_any(c, timeout_ms, &timed_out);

	if (!m) {
		pr_err("no %s message from the peer%s\n", ctl_body_name(want), timed_out ? " (timed out)" : "");
		return NULL;
	}
	if (m->body_case != want) {
		if (m->body_case == RDMA_CTL_MSG__BODY_CLOSE)
			pr_err("the peer gave up: %s\n", ctl_printable(m->close->error, text, sizeof(text)));
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

static bool is_source(const struct ctl_session *s)
{
	return !strcmp(s->self->role, "source");
}

/* The nonces of both hellos and the QP numbers of the main connection. */
static void bind_main(struct rconn *c, struct ctl_session *s, const uint8_t *ours, const uint8_t *theirs)
{
	bool src = is_source(s);

	memcpy(src ? s->main.nonce_source : s->main.nonce_target, ours, CTL_NONCE_LEN);
	memcpy(src ? s->main.nonce_target : s->main.nonce_source, theirs, CTL_NONCE_LEN);
	s->main.qpn_source = src ? rconn_qpn(c, false) : c->peer_qpn;
	s->main.qpn_target = src ? c->peer_qpn : rconn_qpn(c, false);
	s->main.lane = false;
}

static int send_proof(struct rconn *c, const struct ctl_session *s, const struct ctl_binding *b)
{
	uint8_t proof[CTL_PROOF_LEN];
	RdmaCtlMsg msg;
	RdmaAuth auth;
	int ret;

	ctl_proof(s->key, s->self->role, b, proof);
	ctl_auth_build(&msg, &auth, proof, b->lane);
	ret = ctl_send(c, &msg);
	memset(proof, 0, sizeof(proof));
	return ret;
}

/* Receives the peer's proof for @b: 1 if it holds, 0 if not, -1 if none came. */
static int recv_proof(struct rconn *c, const struct ctl_session *s, const struct ctl_binding *b, int timeout_ms)
{
	RdmaCtlMsg *m = ctl_recv(c, RDMA_CTL_MSG__BODY_AUTH, timeout_ms);
	bool lane, ok;

	if (!m)
		return -1;
	lane = m->auth->has_lane && m->auth->lane;
	ok = lane == b->lane &&
	     ctl_proof_ok(s->key, ctl_peer_role(s->self), b, m->auth->proof.data, m->auth->proof.len);
	ctl_free(m);
	return ok;
}

/* Tells the peer why, before the connection goes. */
static void refuse(struct rconn *c, const struct ctl_session *s, const char *why)
{
	pr_err("refusing the %s: %s\n", ctl_peer_role(s->self), why);
	if (!ctl_send_close(c, why))
		rconn_drain_sends(c, 1000);
}

int ctl_handshake(struct rconn *c, struct ctl_session *s, int timeout_ms, bool *proven)
{
	uint8_t nonce[CTL_NONCE_LEN];
	RdmaCtlMsg msg, *peer;
	RdmaHello hello;
	char why[256];
	int ret = -1;

	*proven = false;
	if (ctl_random(nonce, sizeof(nonce))) {
		pr_perror("no random bytes for a nonce");
		return -1;
	}
	ctl_hello_build(&msg, &hello, s->self, nonce);
	if (ctl_send(c, &msg))
		return -1;
	peer = ctl_recv(c, RDMA_CTL_MSG__BODY_HELLO, timeout_ms);
	if (!peer)
		return -1;
	if (ctl_hello_ident(peer->hello, s->self, why, sizeof(why))) {
		refuse(c, s, why);
		goto out;
	}
	bind_main(c, s, nonce, peer->hello->nonce.data);
	s->has_peer_instance = peer->hello->has_instance;
	if (s->has_peer_instance)
		memcpy(s->peer_instance, peer->hello->instance.data, CTL_INSTANCE_LEN);
	if (send_proof(c, s, &s->main))
		goto out;
	ret = recv_proof(c, s, &s->main, timeout_ms);
	if (ret <= 0) {
		if (ret == 0)
			refuse(c, s, "no proof of the session key (another migration's key, or not our peer)");
		ret = -1;
		goto out;
	}
	*proven = true;
	ret = ctl_hello_compat(peer->hello, s->self, why, sizeof(why));
	if (ret)
		refuse(c, s, why);
out:
	ctl_free(peer);
	return ret;
}

void ctl_lane_token(const struct ctl_session *s, uint8_t token[CTL_PROOF_LEN])
{
	ctl_proof(s->key, "lane-request", &s->main, token);
}

int ctl_lane_vet(const void *pdata, size_t len, void *session)
{
	uint8_t want[CTL_PROOF_LEN];
	int ok;

	if (!pdata || len < CTL_PROOF_LEN)
		return -1;
	ctl_lane_token(session, want);
	ok = memeql_sec(want, pdata, CTL_PROOF_LEN);
	return ok ? 0 : -1;
}

/* The nonces of the session and the QP numbers of the lane. */
static void bind_lane(const struct rconn *c, const struct ctl_session *s, struct ctl_binding *b)
{
	bool src = is_source(s);

	*b = s->main;
	b->qpn_source = src ? rconn_qpn(c, true) : c->lane_peer_qpn;
	b->qpn_target = src ? c->lane_peer_qpn : rconn_qpn(c, true);
	b->lane = true;
}

int ctl_lane_prove(struct rconn *c, const struct ctl_session *s)
{
	struct ctl_binding b;

	bind_lane(c, s, &b);
	return send_proof(c, s, &b);
}

int ctl_lane_check(struct rconn *c, const struct ctl_session *s, int timeout_ms)
{
	struct ctl_binding b;
	int ret;

	bind_lane(c, s, &b);
	ret = recv_proof(c, s, &b, timeout_ms);
	if (ret == 0)
		refuse(c, s, "no proof of the session key for the fault lane");
	return ret == 1 ? 0 : -1;
}
