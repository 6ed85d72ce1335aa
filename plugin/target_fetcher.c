// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target role: turn CRIU's page requests into RDMA READs of the source's
 * memory at the dump-time VA.  The queues and slots are fetch_queue.c's;
 * this file connects, takes the export table, posts the READs the queue
 * asks for and feeds their completions back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ctl_io.h"
#include "export_table.h"
#include "fetch_queue.h"
#include "fetch_stats.h"
#include "pool_warm.h"
#include "rdma_log.h"
#include "rdma_util.h"
#include "serve_addrs.h"
#include "target_fetcher.h"

struct done_report {
	uint32_t id, pid;
};

/* The target's whole state: one connection to one source (re-made after a loss). */
static struct {
	const struct rdma_cfg *cfg;
	char *addr;
	unsigned short port;
	struct rconn conn;
	struct rdma_session sess; /* key, hello, binding */
	struct export_table table;
	struct fetch_queue q;
	struct fetch_stats stats;
	struct ibv_mr *pool_mr;
	struct pool_warm warm; /* the pool's memory, faulted in while we connect */
	int epfd, timerfd;
	int kickfd;	     /* readable while background requests wait to be handed to CRIU */
	struct fq_spin spin; /* how long a fault polls for its READs */
	bool armed;	     /* the READ CQ raises an event at its next completion, as far as we know */
	bool failed;
	/* liveness: when we last heard from the source and last sent it a beat */
	double last_rx, last_tx;
	uint32_t beats;
	/* recovery: no connection since pause_start; the next attempt at next_try */
	bool paused;
	double pause_start, next_try;
	int setup_ms; /* each wait of a connection's set-up: CRIU_RDMA_TIMEOUT_MS, or what is left of the window */
	/* task-done reports, told again on a new connection */
	struct done_report *done;
	size_t nr_done;
} tf = { .epfd = -1, .timerfd = -1, .kickfd = -1 };

static int release(void);

/* The export table into @into; -1 if it is not a well-formed one. */
static int recv_export_table(struct export_table *into)
{
	struct ctl_export_rx rx = { .table = into };
	char why[256];

	while (!rx.last) {
		RdmaCtlMsg *m = ctl_recv(&tf.conn, RDMA_CTL_MSG__BODY_EXPORT, tf.setup_ms);
		int ret;

		if (!m)
			return -1;
		ret = ctl_export_take(&rx, m->export, why, sizeof(why));
		ctl_free(m);
		if (ret) {
			pr_err("refusing the source's export table: %s\n", why);
			return -1;
		}
	}
	if (ctl_export_seal(&rx, why, sizeof(why))) {
		pr_err("refusing the source's export table: %s\n", why);
		return -1;
	}
	tf.stats.exported_bytes = rx.bytes;
	return 0;
}

/*
 * The export table of a new connection after a loss must be the one we
 * have: the same migration's memory, still registered as it was.  -2 if it
 * is not (nothing to resume there), -1 if it did not arrive.
 */
static int recheck_export_table(void)
{
	struct export_table fresh = {};
	int ret = recv_export_table(&fresh);

	if (!ret && !export_table_same(&tf.table, &fresh)) {
		pr_err("the source at %s:%u now exports other memory: not the migration we resume\n", tf.addr, tf.port);
		ret = -2;
	}
	export_table_free(&fresh);
	return ret;
}

/* The main connection, authenticated both ways, and the export table. */
static int open_session(bool again)
{
	int timeout = tf.setup_ms;
	bool proven;

	if (rconn_connect(&tf.conn, &CTL_RCONN_PARAMS(tf.cfg->netns, tf.cfg->fail, false), tf.addr, tf.port, timeout))
		return -1;
	if (ctl_handshake(&tf.conn, &tf.sess.s, timeout, &proven))
		return proven ? -2 : -1;
	return again ? recheck_export_table() : recv_export_table(&tf.table);
}

/* The fault lane: its request carries the session's token, then both prove the key for it. */
static int open_lane(void)
{
	uint8_t token[CTL_PROOF_LEN];
	int timeout = tf.setup_ms;

	ctl_lane_token(&tf.sess.s, token);
	if (rconn_connect_lane(&tf.conn, tf.addr, tf.port, token, sizeof(token), timeout))
		return -1;
	if (ctl_lane_prove(&tf.conn, &tf.sess.s) || ctl_lane_check(&tf.conn, &tf.sess.s, timeout))
		return -1;
	return 0;
}

static int post_read(void *ctx, bool lane, unsigned int slot, void *local, uint64_t raddr, uint32_t rkey, uint32_t len)
{
	struct ibv_mr *mr = ctx;

	return rconn_queue_read(&tf.conn, lane, local, mr->lkey, raddr, rkey, len, slot);
}

static int flush_reads(void *ctx)
{
	(void)ctx;
	return rconn_flush_reads(&tf.conn);
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int register_pool(void)
{
	double t0 = rdma_now(), c0 = thread_cpu();

	tf.pool_mr = rconn_reg(&tf.conn, tf.q.pool, fq_pool_size(&tf.q), IBV_ACCESS_LOCAL_WRITE);
	if (!tf.pool_mr) {
		pr_perror("cannot register the staging pool");
		return -1;
	}
	tf.q.post_ctx = tf.pool_mr;
	pr_info("registered the READ slots and staging buffers, %zu KiB, in %.3f s (%.3f s of CPU)\n",
		fq_pool_size(&tf.q) >> 10, rdma_now() - t0, thread_cpu() - c0);
	return 0;
}

/* CRIU_RDMA_HANDOVER_KB in bytes, rounded up to whole pages (0 stays 0: requests go whole). */
static uint32_t handover_bytes(const struct rdma_cfg *cfg)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE), bytes = (uint32_t)cfg->handover_kb << 10;

	return (bytes + page - 1) / page * page;
}

/* The queue's settings for @nr_bg background and @nr_fault fault READs in flight. */
static void queue_setup(struct fq_setup *s, unsigned int nr_bg, unsigned int nr_fault)
{
	*s = (struct fq_setup){
		.table = &tf.table,
		.page = sysconf(_SC_PAGESIZE),
		.read_size = tf.cfg->read_size,
		.nr_bg = nr_bg,
		.nr_fault = nr_fault,
		.bg_depth = (unsigned int)tf.cfg->bg_depth,
		.bg_cap_fault = (unsigned int)tf.cfg->fault_bg_cap,
		.bg_hold = tf.cfg->fault_bg_hold_ms / 1e3,
		.one_copy = tf.cfg->one_copy,
		.nr_stage = (unsigned int)tf.cfg->stage_buffers,
		.stage_size = RDMA_CFG_STAGE_SIZE,
		.handover = handover_bytes(tf.cfg),
		.post = post_read,
		.flush = flush_reads,
		.stats = &tf.stats,
		.now = rdma_now,
	};
}

/* The pool for as many READs as we ask for, faulted in while we connect (the device may grant fewer). */
static void warm_pool(void)
{
	struct fq_setup s;

	queue_setup(&s, RCONN_MAX_RD_ATOM, RCONN_MAX_RD_ATOM);
	if (pool_warm_start(&tf.warm, fq_pool_size_for(&s)))
		pr_info("the READ pool is faulted in when it is registered\n");
}

static int setup_queue(void)
{
	struct fq_setup s;

	queue_setup(&s, tf.conn.max_reads, tf.conn.lane_reads);
	s.pool = pool_warm_take(&tf.warm, fq_pool_size_for(&s));
	if (s.pool)
		pr_info("the READ pool was faulted in while we connected (%.3f s in a thread)\n", tf.warm.took);
	tf.spin = (struct fq_spin){
		.max = tf.cfg->fault_spin_us / 1e6,
		.adaptive = tf.cfg->fault_spin_adaptive,
		.idle = tf.cfg->fault_spin_idle_us / 1e6,
	};
	return fq_init(&tf.q, &s);
}

/* The connection's fds join the one CRIU polls: READ completions and connection events. */
static int watch_conn(void)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (epoll_ctl(tf.epfd, EPOLL_CTL_ADD, rconn_completion_fd(&tf.conn), &ev) ||
	    epoll_ctl(tf.epfd, EPOLL_CTL_ADD, rconn_cm_fd(&tf.conn), &ev)) {
		pr_perror("cannot watch the connection");
		return -1;
	}
	return 0;
}

/* One fd for CRIU's loop: the connection's fds, the heartbeat timer and the kick. */
static int setup_epoll(int *event_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	long ms = rdma_cfg_heartbeat_ms(tf.cfg);
	struct itimerspec its = {
		.it_interval = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 },
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 },
	};

	tf.epfd = epoll_create1(EPOLL_CLOEXEC);
	tf.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	tf.kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (tf.epfd < 0 || tf.timerfd < 0 || tf.kickfd < 0 || timerfd_settime(tf.timerfd, 0, &its, NULL) ||
	    epoll_ctl(tf.epfd, EPOLL_CTL_ADD, tf.timerfd, &ev) || epoll_ctl(tf.epfd, EPOLL_CTL_ADD, tf.kickfd, &ev)) {
		pr_perror("cannot set up the event fd");
		return -1;
	}
	*event_fd = tf.epfd;
	return watch_conn();
}

/* Background READs posted from a thread of their own, if so set (rconn_poster.c says why). */
static int start_poster(void)
{
	if (!tf.cfg->post_thread)
		return 0;
	if (rconn_poster_start(&tf.conn, tf.kickfd))
		return -1;
	pr_info("background READs are posted by a thread of their own\n");
	return 0;
}

/* Lets the connection go (not the queue, the table or the stats): after a loss, or at the end. */
static int drop_conn(void)
{
	int ret = 0;

	if (tf.epfd >= 0 && tf.conn.id) {
		epoll_ctl(tf.epfd, EPOLL_CTL_DEL, rconn_completion_fd(&tf.conn), NULL);
		epoll_ctl(tf.epfd, EPOLL_CTL_DEL, rconn_cm_fd(&tf.conn), NULL);
	}
	if (tf.pool_mr && rconn_dereg(tf.pool_mr, "the staging pool's region"))
		ret = -1;
	tf.pool_mr = NULL;
	if (rconn_close(&tf.conn))
		ret = -1;
	return ret;
}

/* Moves the connection's counters into the migration's (a connection may be one of several). */
static void take_conn_counts(void)
{
	tf.stats.reads_aside += tf.conn.reads_aside;
	tf.conn.reads_aside = 0;
}

/* A lost connection (or a failed attempt) goes aside: its teardown may block on the dead link. */
static void abandon_conn(void)
{
	take_conn_counts();
	if (tf.epfd >= 0 && tf.conn.id) {
		epoll_ctl(tf.epfd, EPOLL_CTL_DEL, rconn_completion_fd(&tf.conn), NULL);
		epoll_ctl(tf.epfd, EPOLL_CTL_DEL, rconn_cm_fd(&tf.conn), NULL);
	}
	rconn_abandon(&tf.conn, tf.pool_mr);
	tf.pool_mr = NULL;
}

/* The session and its lane at @addr:@port (the address the target keeps for reconnecting). */
static int connect_at(const char *addr, unsigned short port)
{
	free(tf.addr);
	tf.addr = strdup(addr);
	tf.port = port;
	if (!tf.addr) {
		pr_err("no memory for the source's address\n");
		return -1;
	}
	return open_session(false) || open_lane() ? -1 : 0;
}

/*
 * With no --address, the addresses the source recorded in the image
 * directory, in order; a failed attempt is released before the next.  An
 * explicit --port wins over the recorded one.
 */
static int connect_recorded(unsigned short port)
{
	struct serve_addrs sa;
	char why[256];
	unsigned int i;

	if (serve_addrs_read(criu_get_image_dir(), &sa, why, sizeof(why))) {
		pr_err("no --address given and no usable record of where the source serves: %s\n", why);
		return -1;
	}
	if (port)
		sa.port = port;
	for (i = 0; i < sa.n; i++) {
		pr_info("trying the source at %s:%u (%u of %u recorded in %s)\n", sa.addr[i], sa.port, i + 1, sa.n,
			SERVE_ADDRS_FILE);
		if (!connect_at(sa.addr[i], sa.port))
			return 0;
		/* (aside: tearing down an attempt at an unreachable address can block) */
		abandon_conn();
		export_table_free(&tf.table);
	}
	pr_err("the source was not reachable at any address it recorded\n");
	return -1;
}

int target_connect(const struct rdma_cfg *cfg, const char *addr, unsigned short port, int *event_fd)
{
	double t0;

	tf.cfg = cfg;
	if (addr && !port) {
		pr_err("--rdma with --address needs --port of the source\n");
		return -1;
	}
	tf.setup_ms = cfg->timeout_ms;
	if (fetch_stats_init(&tf.stats, sysconf(_SC_PAGESIZE), rdma_now()))
		return -1;
	/* the key is in the image directory the restore reads (or a setting) */
	t0 = rdma_now();
	warm_pool();
	if (rdma_cfg_session(cfg, "target", criu_get_image_dir(), &tf.sess) ||
	    (addr ? connect_at(addr, port) : connect_recorded(port)) || setup_queue() || register_pool() ||
	    setup_epoll(event_fd) || start_poster()) {
		/* nothing to serve: release it all now, whatever CRIU does next */
		tf.failed = true;
		release();
		return -1;
	}
	tf.last_rx = tf.last_tx = rdma_now();
	tf.armed = true; /* a new CQ is created armed */
	pr_info("connected and authenticated in %.3f s\n", tf.last_rx - t0);
	pr_info("source exports %zu task(s); READs of up to %u KiB, %u background (of %u the connection has) and %u "
		"fault READs in flight\n",
		tf.table.nr, tf.q.read_size >> 10, tf.q.bg_depth, tf.q.nr_bg, tf.q.nr_slots - tf.q.nr_bg);
	pr_info("while a fault waits (and %.0f ms after) at most %u background READs in flight; %s; %u staging "
		"buffers of %u KiB\n",
		tf.q.bg_hold * 1e3, tf.q.bg_cap_fault < tf.q.bg_depth ? tf.q.bg_cap_fault : tf.q.bg_depth,
		tf.q.one_copy ? "pages handed to CRIU where they land" : "pages copied into CRIU's buffer",
		tf.q.nr_stage, tf.q.stage_size >> 10);
	if (!tf.spin.max)
		pr_info("a fault never polls for its READ\n");
	else
		pr_info("a fault polls for its READ up to %d us with no background READ about (0: no such rule), else "
			"%s, up to %d us\n",
			cfg->fault_spin_idle_us, cfg->fault_spin_adaptive ? "twice the recent READ time" : "always",
			cfg->fault_spin_us);
	pr_info("READ completion events %s\n",
		cfg->cq_arm_lazy ? "only while READs are in flight in CRIU's loop" : "after every completion");
	pr_info("of READs that complete together, %s\n",
		cfg->fault_first ? "faults' go to CRIU first" : "each goes to CRIU in completion order");
	pr_info("a fault on a page that a queued request carries %s\n",
		cfg->urge ? "moves that request ahead" : "waits for it in line");
	if (cfg->handover_kb)
		pr_info("background pages go to CRIU %u KiB per round of its loop (parts of a request), faults at "
			"once\n",
			handover_bytes(cfg) >> 10);
	else
		pr_info("background requests go to CRIU whole, as soon as their READs are in\n");
	pr_info("heartbeat every %d ms; a source silent for %d ms is lost; reconnecting for up to %d s after a loss\n",
		rdma_cfg_heartbeat_ms(cfg), cfg->timeout_ms, cfg->recovery_s);
	return 0;
}

/*
 * The connection is lost (@why): pause.  Faulting tasks stay blocked in
 * their faults, every request is kept, and reconnection is tried until
 * CRIU_RDMA_RECOVERY_S runs out.  -1 if recovery is off.
 */
static int lose_conn(const char *why)
{
	if (tf.paused)
		return 0;
	if (!tf.cfg->recovery_s) {
		pr_err("lost the connection to the source: %s (CRIU_RDMA_RECOVERY_S=0: no reconnection)\n", why);
		return -1;
	}
	pr_warn("lost the connection to the source: %s; paused (faulting tasks wait), reconnecting for up to %d s\n",
		why, tf.cfg->recovery_s);
	tf.paused = true;
	tf.pause_start = tf.next_try = rdma_now();
	fq_pause(&tf.q);
	abandon_conn();
	return 0;
}

/* READ errors that a new connection cures; others (access, length) are the peer's or ours. */
static bool link_error(enum ibv_wc_status st)
{
	return st == IBV_WC_RETRY_EXC_ERR || st == IBV_WC_RNR_RETRY_EXC_ERR || st == IBV_WC_WR_FLUSH_ERR ||
	       st == IBV_WC_RESP_TIMEOUT_ERR || st == IBV_WC_REM_ABORT_ERR || st == IBV_WC_FATAL_ERR;
}

/*
 * The order in which READs reaped together go to CRIU: with
 * CRIU_RDMA_FAULT_FIRST, faults' before the rest.  CRIU copies each into
 * the task as it gets it, and a background request's UFFDIO_COPY of MiBs
 * took ~20 ms under emulation: a fault reaped with two of them waited
 * for both (14 of a storm fault's 53 ms).  Each group keeps reaped order.
 */
static void order_reaped(const struct ibv_wc *wc, int n, int *order)
{
	int i, k = 0;

	if (tf.cfg->fault_first)
		for (i = 0; i < n; i++)
			if (fq_slot_is_fault(&tf.q, (unsigned int)wc[i].wr_id))
				order[k++] = i;
	for (i = 0; i < n; i++)
		if (!tf.cfg->fault_first || !fq_slot_is_fault(&tf.q, (unsigned int)wc[i].wr_id))
			order[k++] = i;
}

/*
 * Background requests whose READs are in wait for CRIU (fetch_queue.h):
 * the kick keeps our fd readable, so that CRIU's loop comes back for them
 * after it has looked at its tasks' faults.
 */
static int kick_if_ready(void)
{
	uint64_t one = 1;

	if (!fq_ready(&tf.q) || tf.kickfd < 0)
		return 0;
	if (write(tf.kickfd, &one, sizeof(one)) != sizeof(one)) {
		pr_perror("cannot keep CRIU's loop coming back");
		return -1;
	}
	return 0;
}

/* A few ready background requests to CRIU (@all: every one); the kick again if more wait. */
static int hand_over(bool all)
{
	return fq_hand_over(&tf.q, all) < 0 ? -1 : kick_if_ready();
}

static int reap(int timeout_ms)
{
	struct ibv_wc wc[32];
	int order[32];
	int n, i, j;

	n = rconn_poll(&tf.conn, wc, 32, timeout_ms);
	if (n < 0 || (n == 0 && tf.conn.peer_gone))
		return lose_conn(tf.conn.peer_gone ? "the source disconnected" : "the connection failed");
	order_reaped(wc, n, order);
	for (j = 0; j < n; j++) {
		bool ok;

		i = order[j];
		ok = wc[i].status == IBV_WC_SUCCESS;
		if (!ok) {
			pr_err("READ in slot %llu: %s\n", (unsigned long long)wc[i].wr_id,
			       ibv_wc_status_str(wc[i].status));
			if (link_error(wc[i].status))
				return lose_conn(ibv_wc_status_str(wc[i].status));
		}
		if (fq_read_done(&tf.q, (unsigned int)wc[i].wr_id, ok))
			return -1;
	}
	return kick_if_ready();
}

/* Tells the source every task that has all its pages (again, on a new connection). */
static int send_task_done(size_t i)
{
	return ctl_send_task_done(&tf.conn, tf.done[i].id, tf.done[i].pid);
}

/*
 * While paused: one attempt to reconnect, at most once a second (each may
 * take up to CRIU_RDMA_TIMEOUT_MS, never past the window), until the window
 * runs out (-1).  A
 * reconnection authenticates again and must find the same export table;
 * then every pending READ is posted again.
 */
static int try_resume(void)
{
	double now = rdma_now(), left = tf.cfg->recovery_s - (now - tf.pause_start), paused;
	size_t i;
	int ret;

	if (left <= 0) {
		pr_err("could not reconnect to the source at %s:%u in %d s: giving up\n", tf.addr, tf.port,
		       tf.cfg->recovery_s);
		return -1;
	}
	if (now < tf.next_try)
		return 0;
	tf.next_try = now + 1.0;
	/* no attempt outlasts the window */
	tf.setup_ms = left * 1e3 < tf.cfg->timeout_ms ? (int)(left * 1e3) + 1 : tf.cfg->timeout_ms;
	ret = open_session(true);
	if (!ret)
		ret = open_lane();
	if (!ret)
		ret = register_pool();
	if (!ret)
		ret = watch_conn();
	if (!ret)
		ret = start_poster();
	for (i = 0; !ret && i < tf.nr_done; i++)
		ret = send_task_done(i);
	if (ret) {
		abandon_conn();
		/* a source that authenticated but refuses us, or exports other memory, will not change */
		return ret == -2 ? -1 : 0;
	}
	paused = rdma_now() - tf.pause_start;
	tf.stats.paused_s += paused;
	tf.stats.reconnects++;
	tf.paused = false;
	tf.armed = true;
	tf.last_rx = tf.last_tx = rdma_now();
	pr_info("reconnected to the source after %.3f s paused (reconnection %lu); posting the pending READs again\n",
		paused, tf.stats.reconnects);
	return fq_resume(&tf.q);
}

/* A message from the source while serving: 0 to go on, -1 if it ended the session. */
static int source_message(const RdmaCtlMsg *m)
{
	char text[RDMA_CTL_MAX_LOGGED + 4];

	switch (m->body_case) {
	case RDMA_CTL_MSG__BODY_HEARTBEAT:
		return 0;
	case RDMA_CTL_MSG__BODY_CLOSE:
		pr_err("the source ended the session: %s\n",
		       m->close->error ? ctl_printable(m->close->error, text, sizeof(text)) : "(no reason)");
		return -1;
	default:
		pr_err("unexpected %s message from the source while serving\n", ctl_body_name(m->body_case));
		return -1;
	}
}

/* Every heartbeat interval: hear the source, judge its silence, send our beat. */
static int tick(void)
{
	int timeout = tf.cfg->timeout_ms;
	double now;

	if (tf.paused)
		return try_resume();
	for (;;) {
		bool timed_out;
		RdmaCtlMsg *m = ctl_recv_any(&tf.conn, 0, &timed_out);
		int ret;

		if (!m && timed_out)
			break;
		if (!m)
			return lose_conn("the control channel failed");
		ret = source_message(m);
		ctl_free(m);
		if (ret)
			return -1;
		tf.last_rx = rdma_now();
	}
	now = rdma_now();
	if ((now - tf.last_rx) * 1e3 > timeout) {
		char why[64];

		snprintf(why, sizeof(why), "no heartbeat from the source for %.0f ms", (now - tf.last_rx) * 1e3);
		return lose_conn(why);
	}
	if ((now - tf.last_tx) * 1e3 >= rdma_cfg_heartbeat_ms(tf.cfg)) {
		if (ctl_send_heartbeat(&tf.conn, ++tf.beats, 0))
			return lose_conn("a heartbeat could not be sent");
		tf.last_tx = now;
	}
	/* the background cap may have lifted with no completion to notice it */
	return fq_kick(&tf.q);
}

/*
 * A faulting task waits for every microsecond between the READ's completion
 * and UFFDIO_COPY.  Going back to CRIU's epoll loop costs a completion event,
 * a wake-up and the loop's own work; polling the CQ for a short while
 * instead answers the fault as soon as the READ lands (perftest's latency
 * tools poll for the same reason).  Bounded by fq_spin_budget().  Counts
 * the faults whose READs the poll reaped and those left to the event loop.
 */
static int spin_for_faults(void)
{
	double budget = fq_spin_budget(&tf.q, &tf.spin), end = rdma_now() + budget;

	while (budget > 0 && !tf.paused && fq_faults_pending(&tf.q)) {
		if (reap(0))
			return -1;
		if (rdma_now() > end)
			break;
	}
	if (fq_faults_pending(&tf.q))
		tf.stats.fault_spin_missed++;
	else
		tf.stats.fault_spin_reaped++;
	return 0;
}

/* Until the queue is empty: READs reaped, or, paused, reconnection tried. */
static int wait_idle(void)
{
	while (fq_busy(&tf.q)) {
		if (hand_over(true))
			return -1;
		if (!fq_busy(&tf.q))
			break;
		if (tf.paused) {
			if (try_resume())
				return -1;
			if (tf.paused)
				usleep(100000);
		} else if (reap(1000)) {
			return -1;
		}
	}
	return 0;
}

/*
 * CRIU's loop takes over now.  With CRIU_RDMA_CQ_ARM_LAZY, the READ CQ is
 * armed only here, when READs are in flight for the loop to learn of, and
 * polled once after arming (what completed before raised no event).  A
 * fault's READ reaped by polling then raises no completion event: an armed
 * CQ woke the daemon after every such fault for a round of CRIU's loop, an
 * event read and a re-arm, while the task was already faulting again.
 */
static int arm_if_busy(void)
{
	if (!tf.cfg->cq_arm_lazy || tf.paused || tf.armed || !fq_busy(&tf.q))
		return 0;
	if (rconn_arm_completion(&tf.conn))
		return lose_conn("the completion queue could not be armed");
	tf.armed = true;
	return reap(0);
}

int target_fetch(unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf, unsigned int flags,
		 cr_lazy_pages_complete_t complete, void *priv)
{
	bool fault = flags & CR_LAZY_FETCH_FAULT;
	enum fq_kind kind = fault ? FQ_FAULT : flags & CR_LAZY_FETCH_PREFETCH ? FQ_PREFETCH : FQ_BACKGROUND;
	bool more = kind == FQ_BACKGROUND && (flags & CR_LAZY_FETCH_MORE) && (flags & CR_LAZY_FETCH_ASYNC);

	if (tf.failed)
		return -1;
	/* a request the queue refused stays in it: nothing more can be served */
	if (fq_submit(&tf.q, img_id, vaddr, nr_pages, buf, kind, more, complete, priv))
		goto fail;
	if (fault && spin_for_faults())
		goto fail;
	if (flags & CR_LAZY_FETCH_ASYNC) {
		if (arm_if_busy())
			goto fail;
		return 0;
	}
	/* Synchronous: wait for this request (and whatever completes meanwhile). */
	if (wait_idle())
		goto fail;
	return 0;
fail:
	tf.failed = true;
	return -1;
}

/* A task waits on a page that a request in flight carries: that request goes first. */
int target_urge(unsigned long img_id, unsigned long vaddr)
{
	int ret;

	if (tf.failed)
		return -1;
	if (!tf.cfg->urge)
		return 0;
	ret = fq_urge(&tf.q, img_id, vaddr);
	if (ret < 0 || (ret && kick_if_ready())) {
		tf.failed = true;
		return -1;
	}
	return 0;
}

/* CRIU has every page of a restored task: the source hears of it (progress). */
int target_task_done(unsigned long img_id, int pid)
{
	void *grown = realloc(tf.done, (tf.nr_done + 1) * sizeof(*tf.done));

	tf.stats.tasks_done++;
	pr_info("task %lu (pid %d) has all its pages\n", img_id, pid);
	if (tf.failed || !grown) {
		pr_err("cannot tell the source that task %lu is complete\n", img_id);
		return -1;
	}
	tf.done = grown;
	tf.done[tf.nr_done].id = (uint32_t)img_id;
	tf.done[tf.nr_done++].pid = (uint32_t)pid;
	/* paused: told on the new connection */
	if (!tf.paused && send_task_done(tf.nr_done - 1) && lose_conn("a task-done report could not be sent"))
		goto fail;
	return 0;
fail:
	tf.failed = true;
	return -1;
}

/* Completion events and READs done; a source that went away is a lost connection. */
static int serve_completions(void)
{
	if (rconn_check_peer(&tf.conn))
		return lose_conn("the source disconnected");
	if (!tf.cfg->cq_arm_lazy)
		return rconn_ack_completion(&tf.conn) || reap(0) ? -1 : 0;
	if (rconn_take_completion_events(&tf.conn))
		return -1;
	tf.armed = false;
	return reap(0) || arm_if_busy() ? -1 : 0;
}

/*
 * 0, or 1 when the heartbeat timer fired (CRIU then re-checks its own
 * clocks) or a request completed (CRIU may ask for more); -1 on failure.
 */
int target_event(void)
{
	unsigned long completed = tf.q.completed;
	uint64_t ticks, kicks;
	bool ticked;

	if (tf.failed)
		return -1;
	if (rconn_poster_failed(&tf.conn))
		goto fail;
	ticked = read(tf.timerfd, &ticks, sizeof(ticks)) == sizeof(ticks);
	if (read(tf.kickfd, &kicks, sizeof(kicks)) < 0 && errno != EAGAIN) {
		pr_perror("cannot read the kick fd");
		goto fail;
	}
	if (ticked && tick())
		goto fail;
	if (!tf.paused && serve_completions())
		goto fail;
	/* pages that are here go to CRIU, paused or not */
	if (hand_over(false))
		goto fail;
	return ticked || tf.q.completed != completed;
fail:
	tf.failed = true;
	return -1;
}

/* The source ends well only on our close: it must arrive before the QP goes. */
static void send_close(int status)
{
	const char *error = status || tf.failed ? "the target's lazy-pages daemon failed" : NULL;

	if (!tf.conn.connected || tf.conn.peer_gone)
		return;
	if (ctl_send_close(&tf.conn, error) || rconn_drain_sends(&tf.conn, tf.cfg->timeout_ms))
		pr_err("the source may not have received our close\n");
}

/* Releases everything, in reverse order of set-up; idempotent.  -1 if anything failed (logged). */
static int release(void)
{
	int ret = drop_conn();

	pool_warm_drop(&tf.warm);
	if (tf.timerfd >= 0 && close(tf.timerfd))
		pr_perror("cannot close the heartbeat timer");
	tf.timerfd = -1;
	if (tf.kickfd >= 0 && close(tf.kickfd))
		pr_perror("cannot close the kick fd");
	tf.kickfd = -1;
	if (tf.epfd >= 0 && close(tf.epfd))
		pr_perror("cannot close the event fd");
	tf.epfd = -1;
	fq_fini(&tf.q);
	export_table_free(&tf.table);
	fetch_stats_fini(&tf.stats);
	memset(&tf.sess.key, 0, sizeof(tf.sess.key));
	free(tf.done);
	tf.done = NULL;
	tf.nr_done = 0;
	free(tf.addr);
	tf.addr = NULL;
	return ret;
}

int target_disconnect(int status)
{
	/* every page is in, but the source must still hear so: reconnect within the window for that */
	while (!status && !tf.failed && tf.paused && !try_resume())
		if (tf.paused)
			usleep(100000);
	tf.stats.copied_bytes = tf.q.copied_bytes;
	tf.stats.bg_open_max = tf.q.bg_open_max;
	tf.stats.urges = tf.q.urges;
	tf.stats.urges_moved = tf.q.urges_moved;
	tf.stats.bg_parts = tf.q.parts;
	take_conn_counts();
	if (tf.stats.lat_us)
		fetch_stats_report(&tf.stats, tf.q.reads, rdma_now(), tf.cfg->stats);
	send_close(status);
	return release();
}
