// SPDX-License-Identifier: GPL-2.0-only
/*
 * rogue-peer: attacks a serving criu-rdma source as a peer on the same
 * network would, to prove that each defence holds.
 *
 *   rogue-peer ADDR PORT ATTACK VA RKEY   one attack on the exported memory
 *   rogue-peer ADDR PORT flood N          N connect requests
 *
 * VA and RKEY name real exported memory of the frozen task (the source logs
 * them at debug level; the rkey is also in `rdma resource show mr`).  The
 * attacks, each on a fresh connection:
 *   read-first     READ before any hello
 *   lane-read      the same, asking with lane-like private data
 *   hello-reflect  send the source's own hello back, then READ
 *   proof-reflect  a hello of our own, then the source's proof sent back, then READ
 *   no-role        a hello without a role (once crashed the source), then READ
 *   wrong-key      the whole handshake with a key of our own, then READ
 *   connect-abort  a connect request, gone before the connection is up
 *   connect-stall  a connect request answered, its connection never completed
 * Each READ is checked: if it returns the task's bytes (lazy-pattern's
 * pattern at VA) or succeeds at all, or the source sends its export table,
 * the defence failed.  flood: every request must be refused.
 * Exit status 0 only if every defence held.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_io.h"
#include "rdma_conn.h"
#include "rdma_log.h"
#include "rdma_util.h"
#include "tool_file.h"

#define TIMEOUT_MS 5000
/* a READ's error may take the transport's retries to show */
#define READ_WAIT_MS 60000

struct attack {
	const char *addr;
	int port;
	uint64_t va;
	uint32_t rkey;
	struct rconn c;
	uint8_t *buf;
	struct ibv_mr *mr;
};

static int connect_plain(struct attack *a)
{
	return rconn_connect(&a->c, &CTL_RCONN_PARAMS(NULL, RCONN_FAIL_NONE, false), a->addr, a->port, TIMEOUT_MS);
}

/*
 * One READ of a page at the target VA.  Returns 0 if the READ failed (the
 * defence held), 1 if it returned data.
 */
static int try_read(struct attack *a, bool lane)
{
	struct ibv_wc wc;
	uint64_t first;
	int n;

	if (!a->mr) {
		a->buf = aligned_alloc(4096, 4096);
		if (!a->buf)
			return 1;
		memset(a->buf, 0, 4096);
		a->mr = rconn_reg(&a->c, a->buf, 4096, IBV_ACCESS_LOCAL_WRITE);
		if (!a->mr) {
			perror("ibv_reg_mr");
			return 1;
		}
	}
	if (rconn_post_read(&a->c, lane, a->buf, a->mr->lkey, a->va, a->rkey, 4096, 1)) {
		printf("  READ could not even be posted (%s): held\n", strerror(errno));
		return 0;
	}
	n = rconn_poll(&a->c, &wc, 1, READ_WAIT_MS);
	if (n <= 0) {
		printf("  READ: no completion (%s): held\n", n < 0 ? "connection gone" : "timeout");
		return 0;
	}
	memcpy(&first, a->buf, sizeof(first));
	if (wc.status == IBV_WC_SUCCESS) {
		printf("  READ SUCCEEDED%s: the frozen task's memory was read\n",
		       first == tool_pattern(a->va, TOOL_LAZY_PATTERN_SALT) ? " and returned the task's bytes" : "");
		return 1;
	}
	printf("  READ failed: %s: held\n", ibv_wc_status_str(wc.status));
	return 0;
}

/* Waits a little for anything the source sends; 1 if it is (part of) the export table. */
static int got_export(struct attack *a)
{
	for (;;) {
		bool timed_out;
		RdmaCtlMsg *m = ctl_recv_any(&a->c, 2000, &timed_out);
		int exp;

		if (!m)
			return 0;
		exp = m->body_case == RDMA_CTL_MSG__BODY_EXPORT;
		printf("  source sent: %s\n", ctl_body_name(m->body_case));
		ctl_free(m);
		if (exp) {
			printf("  EXPORT TABLE RECEIVED\n");
			return 1;
		}
	}
}

/*
 * After a refused message: a READ at once, while the source may still hold
 * the connection (the QP must refuse it), then whatever the source sends.
 */
static int read_then_export(struct attack *a)
{
	int leaked = try_read(a, false);

	return got_export(a) | leaked;
}

static int send_raw(struct attack *a, const void *buf, size_t len)
{
	return rconn_send(&a->c, buf, len, TIMEOUT_MS);
}

/* Receives one raw message of type @want into @buf; its length, or -1. */
static ssize_t recv_raw(struct attack *a, RdmaCtlMsg__BodyCase want, uint8_t *buf, size_t size)
{
	const void *p;
	RdmaCtlMsg *m;
	char why[256];
	ssize_t len = rconn_recv(&a->c, &p, TIMEOUT_MS);

	if (len <= 0 || (size_t)len > size)
		return -1;
	memcpy(buf, p, (size_t)len);
	rconn_recv_done(&a->c);
	m = ctl_unpack(buf, (size_t)len, why, sizeof(why));
	if (!m || m->body_case != want) {
		ctl_free(m);
		return -1;
	}
	ctl_free(m);
	return len;
}

/* A target's instance id, as a real one sends: the attacks must reach the proof check. */
static uint8_t instance[CTL_INSTANCE_LEN] = "rogue-instance!";

static int send_hello(struct attack *a, const char *role)
{
	uint8_t nonce[CTL_NONCE_LEN];
	struct ctl_self self;
	RdmaCtlMsg msg;
	RdmaHello hello;

	ctl_self_init(&self, "target");
	self.role = role;
	self.instance = instance;
	ctl_random(nonce, sizeof(nonce));
	ctl_hello_build(&msg, &hello, &self, nonce);
	return ctl_send(&a->c, &msg);
}

/*
 * READ with no hello at all: on the main connection, or on a second one
 * asked for with lane-like private data (then on whichever got accepted).
 */
static int attack_read_first(struct attack *a, bool lane)
{
	uint8_t pdata[CTL_PROOF_LEN];

	if (connect_plain(a)) {
		printf("  connection refused: held\n");
		return 0;
	}
	if (!lane)
		return try_read(a, false);
	memset(pdata, 0xa5, sizeof(pdata));
	if (rconn_connect_lane(&a->c, a->addr, a->port, pdata, sizeof(pdata), TIMEOUT_MS)) {
		printf("  lane request refused; READ on the first connection\n");
		return try_read(a, false);
	}
	return try_read(a, true) | try_read(a, false);
}

static int attack_hello_reflect(struct attack *a)
{
	static uint8_t buf[RDMA_CTL_MAX_MSG];
	ssize_t len;

	if (connect_plain(a))
		return 0;
	len = recv_raw(a, RDMA_CTL_MSG__BODY_HELLO, buf, sizeof(buf));
	if (len < 0 || send_raw(a, buf, (size_t)len))
		return try_read(a, false);
	return read_then_export(a);
}

static int attack_proof_reflect(struct attack *a)
{
	static uint8_t buf[RDMA_CTL_MAX_MSG];
	ssize_t len;

	if (connect_plain(a))
		return 0;
	if (recv_raw(a, RDMA_CTL_MSG__BODY_HELLO, buf, sizeof(buf)) < 0 || send_hello(a, "target"))
		return try_read(a, false);
	len = recv_raw(a, RDMA_CTL_MSG__BODY_AUTH, buf, sizeof(buf));
	if (len < 0 || send_raw(a, buf, (size_t)len))
		return try_read(a, false);
	return read_then_export(a);
}

static int attack_no_role(struct attack *a)
{
	if (connect_plain(a))
		return 0;
	if (send_hello(a, NULL))
		return try_read(a, false);
	return read_then_export(a);
}

static int attack_wrong_key(struct attack *a)
{
	struct ctl_session s;
	struct ctl_self self;
	struct ctl_key key;
	char why[256];
	bool proven;

	ctl_key_from_secret("not the key of this migration", &key, why, sizeof(why));
	ctl_self_init(&self, "target");
	self.instance = instance;
	s.key = &key;
	s.self = &self;
	if (connect_plain(a))
		return 0;
	if (!ctl_handshake(&a->c, &s, TIMEOUT_MS, &proven)) {
		printf("  HANDSHAKE PASSED with a wrong key\n");
		return 1;
	}
	return try_read(a, false) | got_export(a);
}

/* Waits up to @timeout_ms for the next CM event on @ec; its type, or -1. */
static int next_event(struct rdma_event_channel *ec, struct rdma_cm_event **ev, int timeout_ms)
{
	struct pollfd pfd = { .fd = ec->fd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) != 1 || rdma_get_cm_event(ec, ev))
		return -1;
	return (*ev)->event;
}

/* A raw rdma_cm id of our own, its route to the source resolved. */
struct raw_peer {
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_cq *cq;
	struct ibv_pd *pd;
};

static int raw_resolve(struct attack *a, struct raw_peer *r)
{
	struct addrinfo *res = NULL;
	struct rdma_cm_event *ev;
	char port[16];
	int ret = -1;

	snprintf(port, sizeof(port), "%d", a->port);
	r->ec = rdma_create_event_channel();
	if (!r->ec || getaddrinfo(a->addr, port, NULL, &res) || rdma_create_id(r->ec, &r->id, NULL, RDMA_PS_TCP) ||
	    rdma_resolve_addr(r->id, NULL, res->ai_addr, TIMEOUT_MS) ||
	    next_event(r->ec, &ev, TIMEOUT_MS) != RDMA_CM_EVENT_ADDR_RESOLVED)
		goto out;
	rdma_ack_cm_event(ev);
	if (rdma_resolve_route(r->id, TIMEOUT_MS) || next_event(r->ec, &ev, TIMEOUT_MS) != RDMA_CM_EVENT_ROUTE_RESOLVED)
		goto out;
	rdma_ack_cm_event(ev);
	ret = 0;
out:
	if (res)
		freeaddrinfo(res);
	return ret;
}

static void raw_release(struct raw_peer *r)
{
	if (r->id && r->id->qp)
		rdma_destroy_qp(r->id);
	if (r->id)
		rdma_destroy_id(r->id);
	if (r->cq)
		ibv_destroy_cq(r->cq);
	if (r->pd)
		ibv_dealloc_pd(r->pd);
	if (r->ec)
		rdma_destroy_event_channel(r->ec);
}

/*
 * A connect request whose sender is gone before the connection is up: the
 * source must not take that for the end of the migration.  Not a READ
 * attack, so it "holds" unless something here fails outright.
 */
static int attack_connect_abort(struct attack *a)
{
	struct rdma_conn_param cp = { .initiator_depth = 1, .responder_resources = 1, .retry_count = 7 };
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC, .cap = { 1, 1, 1, 1, 0 } };
	struct raw_peer r = {};
	int ok = -1;

	if (raw_resolve(a, &r))
		goto out;
	r.pd = ibv_alloc_pd(r.id->verbs);
	r.cq = r.pd ? ibv_create_cq(r.id->verbs, 2, NULL, NULL, 0) : NULL;
	qa.send_cq = qa.recv_cq = r.cq;
	if (!r.cq || rdma_create_qp(r.id, r.pd, &qa) || rdma_connect(r.id, &cp))
		goto out;
	printf("  connect request sent; leaving before the connection is up\n");
	ok = 0;
out:
	if (ok)
		perror("  connect-abort set-up");
	raw_release(&r);
	return ok ? 2 : 0;
}

/*
 * A connect request that is answered and then never completed: with no QP
 * of ours on the id, rdma_cm hands us the source's reply and sends nothing
 * back until rdma_establish(), which never comes.  A source that waits for
 * the connection to come up is held by any peer at its port; one whose
 * recovery window runs out meanwhile loses its migration.  The defence
 * holds if the source lets us go (rejects) within STALL_LET_GO_MS.
 */
#define STALL_LET_GO_MS 15000
static int attack_connect_stall(struct attack *a)
{
	struct rdma_conn_param cp = { .initiator_depth = 1, .responder_resources = 1, .retry_count = 7 };
	struct raw_peer r = {};
	struct rdma_cm_event *ev;
	double t0;
	int ret = 2, e;

	if (raw_resolve(a, &r))
		goto out;
	cp.qp_num = 0x4242; /* none of ours: the kernel leaves the connection to us */
	if (rdma_connect(r.id, &cp)) {
		perror("  rdma_connect");
		goto out;
	}
	e = next_event(r.ec, &ev, TIMEOUT_MS);
	if (e != RDMA_CM_EVENT_CONNECT_RESPONSE) {
		printf("  no reply to the connect request (%s)\n", e < 0 ? "timeout" : rdma_event_str(e));
		goto ack;
	}
	rdma_ack_cm_event(ev);
	printf("  the source answered; never completing the connection\n");
	t0 = rdma_now();
	e = next_event(r.ec, &ev, STALL_LET_GO_MS);
	if (e < 0) {
		printf("  the source still waits for us after %d ms\n", STALL_LET_GO_MS);
		ret = 1;
		goto out;
	}
	printf("  let go after %.0f ms (%s)\n", (rdma_now() - t0) * 1e3, rdma_event_str(e));
	ret = e == RDMA_CM_EVENT_REJECTED || e == RDMA_CM_EVENT_DISCONNECTED ? 0 : 2;
ack:
	if (e >= 0)
		rdma_ack_cm_event(ev);
out:
	raw_release(&r);
	return ret;
}

/* @n connect requests while the session is up: every one must be refused. */
static int flood(const char *addr, int port, int n)
{
	int i, accepted = 0;

	for (i = 0; i < n; i++) {
		struct rconn c;

		if (!rconn_connect(&c, &CTL_RCONN_PARAMS(NULL, RCONN_FAIL_NONE, false), addr, port, 2000))
			accepted++;
		rconn_close(&c);
	}
	printf("flood: %d connect requests, %d accepted\n", n, accepted);
	return accepted ? 1 : 0;
}

static int run(struct attack *a, const char *name)
{
	if (!strcmp(name, "read-first"))
		return attack_read_first(a, false);
	if (!strcmp(name, "lane-read"))
		return attack_read_first(a, true);
	if (!strcmp(name, "hello-reflect"))
		return attack_hello_reflect(a);
	if (!strcmp(name, "proof-reflect"))
		return attack_proof_reflect(a);
	if (!strcmp(name, "no-role"))
		return attack_no_role(a);
	if (!strcmp(name, "wrong-key"))
		return attack_wrong_key(a);
	if (!strcmp(name, "connect-abort"))
		return attack_connect_abort(a);
	if (!strcmp(name, "connect-stall"))
		return attack_connect_stall(a);
	fprintf(stderr, "unknown attack %s\n", name);
	return 2;
}

int main(int argc, char **argv)
{
	struct attack a = {};
	int ret;

	if (argc == 5 && !strcmp(argv[3], "flood"))
		return flood(argv[1], atoi(argv[2]), atoi(argv[4]));
	if (argc != 6) {
		fprintf(stderr, "usage: %s ADDR PORT ATTACK VA RKEY | ADDR PORT flood N\n", argv[0]);
		return 2;
	}
	a.addr = argv[1];
	a.port = atoi(argv[2]);
	a.va = strtoull(argv[4], NULL, 0);
	a.rkey = (uint32_t)strtoul(argv[5], NULL, 0);
	printf("attack %s on %s:%d, VA 0x%llx rkey 0x%x\n", argv[3], a.addr, a.port, (unsigned long long)a.va, a.rkey);
	ret = run(&a, argv[3]);
	if (a.mr)
		rconn_dereg(a.mr, "the attack buffer's region");
	rconn_close(&a.c);
	free(a.buf);
	printf("attack %s: %s\n", argv[3], ret == 0 ? "defence held" : ret == 1 ? "DEFENCE FAILED" : "error");
	return ret;
}
