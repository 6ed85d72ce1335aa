// SPDX-License-Identifier: GPL-2.0-only
/*
 * The connection's life with rdma_cm: the source listens and accepts, the
 * target resolves and connects; each may add a second connection, the lane,
 * on the same resources.  Every CM wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rconn_int.h"
#include "rdma_log.h"
#include "rdma_util.h"

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

/*
 * An rdma_cm id belongs to the network namespace of the thread that creates
 * it, and rxe devices serve only the namespace their netdev lives in.  When
 * CRIU runs in another namespace than the RDMA device (a containerised CRIU,
 * or zdtm's test container), params.netns names the device's namespace and
 * the ids are created there; everything else stays in CRIU's namespace.
 */
static int create_id(struct rconn *c, struct rdma_cm_id **id)
{
	const char *path = c->params.netns;
	int saved = -1, target = -1, ret = -1;

	if (path) {
		saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		target = open(path, O_RDONLY | O_CLOEXEC);
		if (saved < 0 || target < 0 || setns(target, CLONE_NEWNET)) {
			pr_perror("cannot enter the network namespace %s (CRIU_RDMA_NETNS)", path);
			goto out;
		}
	}
	ret = rdma_create_id(c->ec, id, c, RDMA_PS_TCP);
	if (ret)
		pr_perror("rdma_create_id");
	if (path && setns(saved, CLONE_NEWNET)) {
		pr_perror("cannot return to CRIU's network namespace");
		ret = -1;
	}
out:
	if (target >= 0)
		close(target);
	if (saved >= 0)
		close(saved);
	return ret;
}

static int destroy_id(struct rdma_cm_id **id, const char *what)
{
	int ret = 0;

	if (*id)
		ret = rconn_released(rdma_destroy_id(*id), what);
	*id = NULL;
	return ret;
}

/* A connect request we will not take: refused, and its id released (after the event is acked). */
static void refuse_request(struct rconn *c, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;

	rdma_ack_cm_event(ev);
	if (rdma_reject(id, NULL, 0))
		pr_perror("rdma_reject");
	destroy_id(&id, "a refused request's rdma_cm id");
	c->refused_requests++;
}

/* Holds connect request @ev for a later accept: 1, or 0 if none may be held (no room, or not asked for). */
static int hold_request(struct rconn *c, struct rdma_cm_event *ev)
{
	if (!c->hold_requests || c->n_backlog >= RCONN_BACKLOG_MAX)
		return 0;
	c->backlog[c->n_backlog++] = ev;
	return 1;
}

static struct rdma_cm_event *pop_request(struct rconn *c)
{
	struct rdma_cm_event *ev = c->backlog[0];

	memmove(&c->backlog[0], &c->backlog[1], --c->n_backlog * sizeof(c->backlog[0]));
	return ev;
}

/*
 * Waits up to @timeout_ms for the CM event @want of @id (for a connect
 * request: of any new id on our listener).  Connect requests we do not wait
 * for are refused, and events of ids we have let go are dropped, so a peer
 * knocking at the port never derails a connection in progress.  Any other
 * event of @id is an error.
 */
static int cm_wait(struct rconn *c, struct rdma_cm_id *id, enum rdma_cm_event_type want, struct rdma_cm_event **out,
		   int timeout_ms)
{
	double deadline = rdma_now() + timeout_ms / 1e3;
	struct pollfd pfd = { .fd = c->ec->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	for (;;) {
		double left = deadline - rdma_now();

		if (left <= 0) {
			pr_err("timed out after %d ms waiting for %s\n", timeout_ms, rdma_event_str(want));
			return -1;
		}
		if (poll(&pfd, 1, (int)(left * 1e3) + 1) < 0 && errno != EINTR) {
			pr_perror("waiting for %s", rdma_event_str(want));
			return -1;
		}
		if (rdma_get_cm_event(c->ec, &ev)) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			pr_perror("waiting for %s", rdma_event_str(want));
			return -1;
		}
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST && want != ev->event) {
			if (!hold_request(c, ev))
				refuse_request(c, ev);
			continue;
		}
		if (want != RDMA_CM_EVENT_CONNECT_REQUEST && ev->id != id) {
			rdma_ack_cm_event(ev);
			continue;
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
}

static int cm_channel(struct rconn *c, const struct rconn_params *p)
{
	memset(c, 0, sizeof(*c));
	c->params = *p;
	c->ec = rdma_create_event_channel();
	if (!c->ec) {
		pr_perror("cannot open the RDMA CM (is rdma_ucm loaded? /dev/infiniband/rdma_cm)");
		return -1;
	}
	if (rconn_set_nonblock(c->ec->fd)) {
		pr_perror("cannot make the RDMA CM channel non-blocking");
		return -1;
	}
	return 0;
}

/* A new id of the connection's channel bound to @addr:@port; its device is (*id)->verbs (NULL: none). */
static int bind_listener(struct rconn *c, const char *addr, int port, struct rdma_cm_id **id)
{
	struct sockaddr_storage ss;

	if (resolve(addr, port, &ss) || create_id(c, id))
		return -1;
	if (rdma_bind_addr(*id, (struct sockaddr *)&ss)) {
		pr_perror("cannot bind to %s:%d", addr, port);
		destroy_id(id, "an unbound rdma_cm id");
		return -1;
	}
	return 0;
}

/* Takes bound @id as a listener of the connection (the first one gets the PD). */
static int add_listener(struct rconn *c, struct rdma_cm_id *id, const char *addr, int port)
{
	if (!c->listen_id) {
		c->listen_id = id;
		c->pd = ibv_alloc_pd(id->verbs);
		if (!c->pd) {
			pr_perror("ibv_alloc_pd on %s", rconn_dev_name(c));
			return -1;
		}
	} else {
		c->listen_also[c->nr_listen_also++] = id;
	}
	if (rdma_listen(id, 8)) {
		pr_perror("rdma_listen on %s:%d", addr, port);
		return -1;
	}
	pr_info("listening on %s:%d, device %s\n", addr, port, ibv_get_device_name(id->verbs->device));
	return 0;
}

int rconn_listen(struct rconn *c, const struct rconn_params *p, const char *addr, int port)
{
	struct rdma_cm_id *id = NULL;

	if (cm_channel(c, p) || bind_listener(c, addr, port, &id))
		return -1;
	/* A bound id knows its device; no device means no RDMA on that address. */
	if (!id->verbs) {
		pr_err("no RDMA device serves %s (see 'rdma link' / 'ibv_devices')\n", addr);
		destroy_id(&id, "an unserved address's rdma_cm id");
		return -1;
	}
	return add_listener(c, id, addr, port);
}

int rconn_listen_addrs(struct rconn *c, const struct rconn_params *p, char (*addrs)[INET6_ADDRSTRLEN], unsigned int n,
		       int port, bool *served)
{
	unsigned int i, nr = 0;

	for (i = 0; i < n; i++)
		served[i] = false;
	if (cm_channel(c, p))
		return -1;
	for (i = 0; i < n && i < RCONN_LISTEN_MAX; i++) {
		struct rdma_cm_id *id = NULL;

		if (bind_listener(c, addrs[i], port, &id))
			continue;
		if (!id->verbs || (c->listen_id && id->verbs != c->listen_id->verbs)) {
			pr_info("not serving on %s: %s\n", addrs[i],
				id->verbs ? "another RDMA device (the export is registered on one)" : "no RDMA device");
			destroy_id(&id, "an unserved address's rdma_cm id");
			continue;
		}
		if (add_listener(c, id, addrs[i], port))
			return -1;
		served[i] = true;
		nr++;
	}
	if (!nr) {
		pr_err("no address of this host has an RDMA device (see 'rdma link'): give --address\n");
		return -1;
	}
	return (int)nr;
}

/* Every listening id: no more connect requests (those held are refused). */
static int stop_listeners(struct rconn *c)
{
	int ret;

	while (c->n_backlog)
		refuse_request(c, pop_request(c));
	ret = destroy_id(&c->listen_id, "the listening rdma_cm id");

	while (c->nr_listen_also)
		ret |= destroy_id(&c->listen_also[--c->nr_listen_also], "a listening rdma_cm id");
	return ret;
}

/*
 * Waits up to @timeout_ms for a connect request that @vet (if any) passes
 * and accepts it: the first connection gets the PD, CQs, QP and control
 * buffers (@lane false), a later one only a QP of its own on them (@lane
 * true).  A request whose resources cannot be made is refused and leaves
 * nothing behind.  Once accepted, the connection must be up within
 * @setup_ms: a peer that never completes it (its reject lost on a cut link,
 * or one that stalls on purpose) would otherwise hold us until rdma_cm
 * gives up resending its reply, a minute and more, while the real target's
 * requests wait behind it.
 */
static int accept_one(struct rconn *c, bool lane, int timeout_ms, int setup_ms, rconn_vet_t vet, void *ctx)
{
	double deadline = rdma_now() + timeout_ms / 1e3;
	struct rdma_conn_param cp = {};
	struct rdma_cm_event *ev;
	struct rdma_cm_id *id;
	uint8_t peer_depth;
	uint32_t peer_qpn;
	struct ibv_qp *qp;
	int ret;

	for (;;) {
		int left = (int)((deadline - rdma_now()) * 1e3);

		/* a request held meanwhile is a main connection's (a lane's is taken at once) */
		if (!lane && c->n_backlog)
			ev = pop_request(c);
		else if (cm_wait(c, NULL, RDMA_CM_EVENT_CONNECT_REQUEST, &ev, left > 0 ? left : 1))
			return -1;
		if (!vet || !vet(ev->param.conn.private_data, ev->param.conn.private_data_len, ctx))
			break;
		/* several peers: another's main connection, likely, held for the next accept */
		if (hold_request(c, ev))
			continue;
		pr_warn("refused a connect request that did not prove the session\n");
		refuse_request(c, ev);
	}
	id = ev->id;
	peer_depth = ev->param.conn.initiator_depth;
	peer_qpn = ev->param.conn.qp_num;
	rdma_ack_cm_event(ev);

	ret = lane ? rconn_res_lane_qp(c, id) : rconn_res_setup(c, id);
	if (ret) {
		if (ret != RCONN_PEER_LEFT && rdma_reject(id, NULL, 0))
			pr_perror("rdma_reject");
		destroy_id(&id, "a refused request's rdma_cm id");
		return ret;
	}
	qp = lane ? c->lane_qp : c->qp;
	if (lane) {
		c->lane_id = id;
		c->lane_peer_qpn = peer_qpn;
	} else {
		c->id = id;
		c->peer_qpn = peer_qpn;
	}
	/* We answer the peer's READs: as many as it will issue, as we can. */
	cp.responder_resources = peer_depth < c->max_reads ? peer_depth : c->max_reads;
	cp.initiator_depth = cp.responder_resources;
	cp.rnr_retry_count = 7;
	cp.qp_num = qp->qp_num;
	/*
	 * From here on a failure is the peer's: one that goes away before its
	 * connection is up leaves rdma_cm nothing to move the QP with, no
	 * accept to take, no connection to establish.
	 */
	if (rconn_qp_ready(c, id, qp, IBV_QPS_RTR, cp.responder_resources))
		return RCONN_PEER_LEFT;
	if (rdma_accept(id, &cp)) {
		pr_perror("rdma_accept");
		return RCONN_PEER_LEFT;
	}
	if (rconn_qp_ready(c, id, qp, IBV_QPS_RTS, 0))
		return RCONN_PEER_LEFT;
	if (cm_wait(c, id, RDMA_CM_EVENT_ESTABLISHED, &ev, setup_ms))
		return RCONN_PEER_LEFT;
	rdma_ack_cm_event(ev);
	return 0;
}

int rconn_accept(struct rconn *c, int timeout_ms, int setup_ms)
{
	int ret = accept_one(c, false, timeout_ms, setup_ms, NULL, NULL);

	if (ret)
		return ret;
	c->connected = true;
	return 0;
}

int rconn_accept_lane(struct rconn *c, int timeout_ms, rconn_vet_t vet, void *ctx)
{
	return accept_one(c, true, timeout_ms, timeout_ms, vet, ctx);
}

int rconn_drop_peer(struct rconn *c)
{
	int ret;

	if (c->connected && !c->peer_gone)
		rdma_disconnect(c->id);
	ret = rconn_res_release_peer(c);
	ret |= destroy_id(&c->lane_id, "the lane's rdma_cm id");
	ret |= destroy_id(&c->id, "the connection's rdma_cm id");
	c->connected = c->peer_gone = false;
	c->peer_qpn = c->lane_peer_qpn = 0;
	return ret ? -1 : 0;
}

int rconn_stop_listening(struct rconn *c)
{
	return stop_listeners(c);
}

unsigned int rconn_poll_requests(struct rconn *c)
{
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(c->ec, &ev) == 0) {
		if (ev->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
			/* an event of an id we have let go */
			rdma_ack_cm_event(ev);
			continue;
		}
		if (!hold_request(c, ev))
			refuse_request(c, ev);
	}
	return c->n_backlog;
}

int rconn_take_peer(struct rconn *l, struct rconn *peer)
{
	struct rdma_event_channel *ec = rdma_create_event_channel();
	struct rconn keep = *l;

	if (!ec || rconn_set_nonblock(ec->fd)) {
		pr_perror("cannot open an RDMA CM channel for a peer");
		goto err;
	}
	if (rdma_migrate_id(l->id, ec) || (l->lane_id && rdma_migrate_id(l->lane_id, ec))) {
		pr_perror("cannot move a peer's rdma_cm id to its own channel");
		goto err;
	}
	*peer = *l;
	peer->ec = ec;
	peer->listen_id = NULL;
	peer->nr_listen_also = 0;
	memset(peer->listen_also, 0, sizeof(peer->listen_also));
	peer->n_backlog = 0;
	peer->hold_requests = false;
	peer->refused_requests = 0;
	peer->pd_borrowed = true;

	memset(l, 0, sizeof(*l));
	l->params = keep.params;
	l->ec = keep.ec;
	l->listen_id = keep.listen_id;
	memcpy(l->listen_also, keep.listen_also, sizeof(l->listen_also));
	l->nr_listen_also = keep.nr_listen_also;
	l->pd = keep.pd;
	l->refused_requests = keep.refused_requests;
	l->hold_requests = keep.hold_requests;
	memcpy(l->backlog, keep.backlog, sizeof(l->backlog));
	l->n_backlog = keep.n_backlog;
	return 0;
err:
	/* an id moved already is moved back: the listener's teardown finds it */
	if (ec && l->id && l->id->channel == ec)
		rdma_migrate_id(l->id, l->ec);
	if (ec)
		rdma_destroy_event_channel(ec);
	return -1;
}

int rconn_close_peer(struct rconn *peer)
{
	int ret = rconn_drop_peer(peer);

	if (peer->ec)
		rdma_destroy_event_channel(peer->ec);
	memset(peer, 0, sizeof(*peer));
	return ret;
}

/* Resolves @ss to a device and a route on @id. */
static int resolve_route(struct rconn *c, struct rdma_cm_id *id, struct sockaddr_storage *ss, const char *addr,
			 int timeout_ms)
{
	struct rdma_cm_event *ev;

	if (rdma_resolve_addr(id, NULL, (struct sockaddr *)ss, timeout_ms)) {
		pr_perror("cannot resolve %s to an RDMA device", addr);
		return -1;
	}
	if (cm_wait(c, id, RDMA_CM_EVENT_ADDR_RESOLVED, &ev, timeout_ms + 1000)) {
		pr_err("no RDMA route to %s (no local RDMA device for it?)\n", addr);
		return -1;
	}
	rdma_ack_cm_event(ev);
	if (rdma_resolve_route(id, timeout_ms) ||
	    cm_wait(c, id, RDMA_CM_EVENT_ROUTE_RESOLVED, &ev, timeout_ms + 1000)) {
		pr_err("cannot resolve a route to %s\n", addr);
		return -1;
	}
	rdma_ack_cm_event(ev);
	return 0;
}

/*
 * Resolves @addr:@port on a new id of the connection's event channel and
 * connects it: the first id gets the PD, CQs, QP and control buffers (@lane
 * false), a lane only a QP of its own on them.  Returns the READ depth the
 * responder granted, or -1 (what was made is released by rconn_close()).
 */
static int connect_one(struct rconn *c, struct rdma_cm_id **idp, bool lane, const char *addr, int port,
		       const void *pdata, uint8_t pdata_len, int timeout_ms)
{
	struct rdma_conn_param cp = {};
	struct sockaddr_storage ss;
	struct rdma_cm_event *ev;
	unsigned int depth;

	if (resolve(addr, port, &ss) || create_id(c, idp) || resolve_route(c, *idp, &ss, addr, timeout_ms))
		return -1;
	if (lane ? rconn_res_lane_qp(c, *idp) : rconn_res_setup(c, *idp))
		return -1;
	cp.initiator_depth = c->max_reads;
	cp.responder_resources = c->max_reads;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	cp.private_data = pdata;
	cp.private_data_len = pdata_len;
	if (rdma_connect(*idp, &cp)) {
		pr_perror("rdma_connect to %s:%d", addr, port);
		return -1;
	}
	if (cm_wait(c, *idp, RDMA_CM_EVENT_ESTABLISHED, &ev, timeout_ms)) {
		pr_err("cannot connect to %s:%d (is the source serving?)\n", addr, port);
		return -1;
	}
	if (lane)
		c->lane_peer_qpn = ev->param.conn.qp_num;
	else
		c->peer_qpn = ev->param.conn.qp_num;
	/* The READ depth actually granted by the responder. */
	depth = c->max_reads;
	if (ev->param.conn.initiator_depth && ev->param.conn.initiator_depth < depth)
		depth = ev->param.conn.initiator_depth;
	rdma_ack_cm_event(ev);
	return (int)depth;
}

int rconn_connect(struct rconn *c, const struct rconn_params *p, const char *addr, int port, int timeout_ms)
{
	int depth;

	if (cm_channel(c, p))
		return -1;
	depth = connect_one(c, &c->id, false, addr, port, NULL, 0, timeout_ms);
	if (depth < 0)
		return -1;
	c->max_reads = (unsigned int)depth;
	c->connected = true;
	pr_info("connected to %s:%d through %s, %u READs in flight\n", addr, port, rconn_dev_name(c), c->max_reads);
	return 0;
}

int rconn_connect_lane(struct rconn *c, const char *addr, int port, const void *pdata, uint8_t pdata_len,
		       int timeout_ms)
{
	int depth = connect_one(c, &c->lane_id, true, addr, port, pdata, pdata_len, timeout_ms);

	if (depth < 0)
		return -1;
	c->lane_reads = (unsigned int)depth;
	return 0;
}

int rconn_close(struct rconn *c)
{
	int ret = rconn_poster_stop(c);

	if (c->connected && !c->peer_gone) {
		rdma_disconnect(c->id);
		if (c->lane_qp)
			rdma_disconnect(c->lane_id);
	}
	ret |= rconn_res_release(c);
	ret |= destroy_id(&c->lane_id, "the lane's rdma_cm id");
	ret |= destroy_id(&c->id, "the connection's rdma_cm id");
	ret |= stop_listeners(c);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	memset(c, 0, sizeof(*c));
	return ret ? -1 : 0;
}

uint32_t rconn_qpn(const struct rconn *c, bool lane)
{
	struct ibv_qp *qp = lane ? c->lane_qp : c->qp;

	return qp ? qp->qp_num : 0;
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
		bool ours = ev->id == c->id || ev->id == c->lane_id;

		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
			refuse_request(c, ev);
			continue;
		}
		if (ours && (ev->event == RDMA_CM_EVENT_DISCONNECTED || ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL ||
			     ev->event == RDMA_CM_EVENT_TIMEWAIT_EXIT))
			c->peer_gone = true;
		rdma_ack_cm_event(ev);
	}
	return c->peer_gone ? -1 : 0;
}

int rconn_cm_fd(const struct rconn *c)
{
	return c->ec->fd;
}

/* A lost connection and a region registered in its PD, torn down by a thread of their own. */
struct abandoned {
	struct rconn c;
	struct ibv_mr *mr;
};

/*
 * Tearing a connection down over a dead link can block in the kernel until
 * the link is back (seen with rxe: a lost target's destroy waited 12 s, the
 * whole cut).  This runs in a detached thread, so the caller's event loop
 * goes on; it must not log (CRIU's log is not thread-safe), so failures
 * here go unreported: the resources go with the process at the latest.
 */
static void *teardown_quietly(void *arg)
{
	struct abandoned *a = arg;
	struct rconn *c = &a->c;

	if (c->connected && !c->peer_gone) {
		rdma_disconnect(c->id);
		if (c->lane_id)
			rdma_disconnect(c->lane_id);
	}
	if (a->mr)
		ibv_dereg_mr(a->mr);
	if (c->lane_qp)
		c->params.guard ? (void)ibv_destroy_qp(c->lane_qp) : rdma_destroy_qp(c->lane_id);
	if (c->qp)
		c->params.guard ? (void)ibv_destroy_qp(c->qp) : rdma_destroy_qp(c->id);
	if (c->ctl_mr)
		ibv_dereg_mr(c->ctl_mr);
	if (c->recv_cq)
		ibv_destroy_cq(c->recv_cq);
	if (c->recv_cc)
		ibv_destroy_comp_channel(c->recv_cc);
	if (c->send_cq)
		ibv_destroy_cq(c->send_cq);
	if (c->send_cc)
		ibv_destroy_comp_channel(c->send_cc);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->lane_id)
		rdma_destroy_id(c->lane_id);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->listen_id)
		rdma_destroy_id(c->listen_id);
	while (c->nr_listen_also)
		rdma_destroy_id(c->listen_also[--c->nr_listen_also]);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	free(c->ctl_buf);
	free(c->stash);
	free(a);
	return NULL;
}

int rconn_abandon(struct rconn *c, struct ibv_mr *mr)
{
	struct abandoned *a = malloc(sizeof(*a));
	pthread_attr_t attr;
	pthread_t t;
	int ret = -1;

	/* the poster goes now: it may wake its owner's fd, which is not the teardown's */
	rconn_poster_stop(c);
	if (a && !pthread_attr_init(&attr)) {
		a->c = *c;
		a->mr = mr;
		if (!pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED))
			ret = pthread_create(&t, &attr, teardown_quietly, a);
		pthread_attr_destroy(&attr);
	}
	if (!ret) {
		memset(c, 0, sizeof(*c));
		return 0;
	}
	/* no thread: here and now, whatever it costs */
	free(a);
	pr_warn("cannot tear the lost connection down aside; doing it now\n");
	ret = mr ? rconn_dereg(mr, "a region of the lost connection") : 0;
	return rconn_close(c) | ret;
}
