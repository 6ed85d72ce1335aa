// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target role: turn CRIU's page requests into RDMA READs of the source's
 * memory at the dump-time VA.  The queues and slots are fetch_queue.c's;
 * this file connects, takes the export table, posts the READs the queue
 * asks for and feeds their completions back.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ctl_io.h"
#include "export_table.h"
#include "fetch_queue.h"
#include "fetch_stats.h"
#include "rdma_log.h"
#include "rdma_util.h"
#include "target_fetcher.h"

/* The target's whole state: one connection to one source. */
static struct {
	const struct rdma_cfg *cfg;
	struct rconn conn;
	struct rdma_session sess; /* key, hello, binding */
	struct export_table table;
	struct fetch_queue q;
	struct fetch_stats stats;
	struct ibv_mr *pool_mr;
	int epfd;
	double fault_spin; /* seconds a fault polls for its READs */
	bool failed;
} tf = { .epfd = -1 };

static int release(void);

static int recv_export_table(void)
{
	struct ctl_export_rx rx = { .table = &tf.table };
	char why[256];

	while (!rx.last) {
		RdmaCtlMsg *m = ctl_recv(&tf.conn, RDMA_CTL_MSG__BODY_EXPORT, tf.cfg->timeout_ms);
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

/* The main connection, authenticated both ways, and the export table. */
static int open_session(const char *addr, unsigned short port)
{
	int timeout = tf.cfg->timeout_ms;
	bool proven;

	if (rconn_connect(&tf.conn, &CTL_RCONN_PARAMS(tf.cfg->netns, tf.cfg->fail, false), addr, port, timeout))
		return -1;
	if (ctl_handshake(&tf.conn, &tf.sess.s, timeout, &proven))
		return -1;
	return recv_export_table();
}

/* The fault lane: its request carries the session's token, then both prove the key for it. */
static int open_lane(const char *addr, unsigned short port)
{
	uint8_t token[CTL_PROOF_LEN];
	int timeout = tf.cfg->timeout_ms;

	ctl_lane_token(&tf.sess.s, token);
	if (rconn_connect_lane(&tf.conn, addr, port, token, sizeof(token), timeout))
		return -1;
	if (ctl_lane_prove(&tf.conn, &tf.sess.s) || ctl_lane_check(&tf.conn, &tf.sess.s, timeout))
		return -1;
	return 0;
}

static int post_read(void *ctx, bool lane, unsigned int slot, void *local, uint64_t raddr, uint32_t rkey, uint32_t len)
{
	struct ibv_mr *mr = ctx;

	return rconn_post_read(&tf.conn, lane, local, mr->lkey, raddr, rkey, len, slot);
}

static int setup_queue(void)
{
	struct fq_setup s = {
		.table = &tf.table,
		.page = sysconf(_SC_PAGESIZE),
		.read_size = tf.cfg->read_size,
		.nr_bg = tf.conn.max_reads,
		.nr_fault = tf.conn.lane_reads,
		.post = post_read,
		.stats = &tf.stats,
		.now = rdma_now,
	};

	tf.fault_spin = tf.cfg->fault_spin_us / 1e6;
	if (fq_init(&tf.q, &s))
		return -1;
	tf.pool_mr = rconn_reg(&tf.conn, tf.q.pool, fq_pool_size(&tf.q), IBV_ACCESS_LOCAL_WRITE);
	if (!tf.pool_mr) {
		pr_perror("cannot register the staging pool");
		return -1;
	}
	tf.q.post_ctx = tf.pool_mr;
	return 0;
}

static int setup_epoll(int *event_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	/* One fd for CRIU's loop: READ completions and connection events. */
	tf.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (tf.epfd < 0 || epoll_ctl(tf.epfd, EPOLL_CTL_ADD, rconn_completion_fd(&tf.conn), &ev) ||
	    epoll_ctl(tf.epfd, EPOLL_CTL_ADD, rconn_cm_fd(&tf.conn), &ev)) {
		pr_perror("cannot set up the event fd");
		return -1;
	}
	*event_fd = tf.epfd;
	return 0;
}

int target_connect(const struct rdma_cfg *cfg, const char *addr, unsigned short port, int *event_fd)
{
	tf.cfg = cfg;
	if (!addr || !port) {
		pr_err("--rdma needs --address and --port of the source\n");
		return -1;
	}
	if (fetch_stats_init(&tf.stats, sysconf(_SC_PAGESIZE), rdma_now()))
		return -1;
	/* the key is in the image directory the restore reads (or a setting) */
	if (rdma_cfg_session(cfg, "target", criu_get_image_dir(), &tf.sess) || open_session(addr, port) ||
	    open_lane(addr, port) || setup_queue() || setup_epoll(event_fd)) {
		/* nothing to serve: release it all now, whatever CRIU does next */
		tf.failed = true;
		release();
		return -1;
	}
	pr_info("source exports %zu task(s); READs of up to %u KiB, %u background and %u fault READs in flight\n",
		tf.table.nr, tf.q.read_size >> 10, tf.q.nr_bg, tf.q.nr_slots - tf.q.nr_bg);
	return 0;
}

static int reap(int timeout_ms)
{
	struct ibv_wc wc[32];
	int n, i;

	n = rconn_poll(&tf.conn, wc, 32, timeout_ms);
	if (n < 0 || (n == 0 && tf.conn.peer_gone)) {
		pr_err("lost the connection to the source\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		bool ok = wc[i].status == IBV_WC_SUCCESS;

		if (!ok)
			pr_err("READ in slot %llu: %s\n", (unsigned long long)wc[i].wr_id,
			       ibv_wc_status_str(wc[i].status));
		if (fq_read_done(&tf.q, (unsigned int)wc[i].wr_id, ok))
			return -1;
	}
	return 0;
}

/*
 * A faulting task waits for every microsecond between the READ's completion
 * and UFFDIO_COPY.  Going back to CRIU's epoll loop costs a completion event,
 * a wake-up and the loop's own work; polling the CQ for a short while
 * instead answers the fault as soon as the READ lands (perftest's latency
 * tools poll for the same reason).  Bounded by CRIU_RDMA_FAULT_SPIN_US.
 */
static int spin_for_faults(void)
{
	double end = rdma_now() + tf.fault_spin;

	while (fq_faults_pending(&tf.q)) {
		if (reap(0))
			return -1;
		if (rdma_now() > end)
			break;
	}
	return 0;
}

int target_fetch(unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf, unsigned int flags,
		 cr_lazy_pages_complete_t complete, void *priv)
{
	bool fault = flags & CR_LAZY_FETCH_FAULT;

	if (tf.failed)
		return -1;
	/* a request the queue refused stays in it: nothing more can be served */
	if (fq_submit(&tf.q, img_id, vaddr, nr_pages, buf, fault, complete, priv))
		goto fail;
	if (fault && tf.fault_spin > 0 && spin_for_faults())
		goto fail;
	if (flags & CR_LAZY_FETCH_ASYNC)
		return 0;
	/* Synchronous: wait for this request (and whatever completes meanwhile). */
	while (fq_busy(&tf.q))
		if (reap(1000))
			goto fail;
	return 0;
fail:
	tf.failed = true;
	return -1;
}

/* CRIU has every page of a restored task: the source hears of it (progress). */
int target_task_done(unsigned long img_id, int pid)
{
	tf.stats.tasks_done++;
	pr_info("task %lu (pid %d) has all its pages\n", img_id, pid);
	if (tf.failed || ctl_send_task_done(&tf.conn, (uint32_t)img_id, (uint32_t)pid)) {
		pr_err("cannot tell the source that task %lu is complete\n", img_id);
		return -1;
	}
	return 0;
}

int target_event(void)
{
	if (rconn_check_peer(&tf.conn)) {
		pr_err("the source disconnected\n");
		tf.failed = true;
		return -1;
	}
	if (rconn_ack_completion(&tf.conn) || reap(0)) {
		tf.failed = true;
		return -1;
	}
	return 0;
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
	int ret = 0;

	if (tf.epfd >= 0 && close(tf.epfd))
		pr_perror("cannot close the event fd");
	tf.epfd = -1;
	if (tf.pool_mr && rconn_dereg(tf.pool_mr, "the staging pool's region"))
		ret = -1;
	tf.pool_mr = NULL;
	if (rconn_close(&tf.conn))
		ret = -1;
	fq_fini(&tf.q);
	export_table_free(&tf.table);
	fetch_stats_fini(&tf.stats);
	memset(&tf.sess.key, 0, sizeof(tf.sess.key));
	return ret;
}

int target_disconnect(int status)
{
	if (tf.stats.lat_us)
		fetch_stats_report(&tf.stats, tf.q.reads, rdma_now(), tf.cfg->stats);
	send_close(status);
	return release();
}
