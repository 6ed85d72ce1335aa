// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target role: turn CRIU's page requests into RDMA READs of the source's
 * memory at the dump-time VA.
 *
 * A request is split into READs of at most read_size bytes, each into its
 * own slot of a registered staging pool; when the last one lands the bytes
 * go to CRIU's buffer and CRIU's completion runs (which does UFFDIO_COPY).
 *
 * Faults never wait behind background work: they have slots of their own
 * and take a second QP (the connection's lane), because an RC QP answers
 * READs strictly in order and one background READ of 256 KiB ahead of a
 * fault would delay it by the whole transfer.
 *
 * CRIU hands every request of a task the same buffer and expects it to hold
 * a request's data only when that request completes.  With two QPs requests
 * complete out of order, so a request of several READs gathers its data in
 * a private buffer and moves it into CRIU's buffer at completion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "ctl_io.h"
#include "export_table.h"
#include "rdma_plugin.h"
#include "rdma_log.h"

#define MAX_LAT_SAMPLES (1 << 20)

struct fetch_req {
	unsigned long img_id, vaddr, nr_pages;
	uint8_t *buf;
	uint8_t *stage; /* private buffer of a request of several READs */
	cr_lazy_pages_complete_t complete;
	void *priv;
	bool fault;
	unsigned int reads_left;
	uint64_t next_off, len;		  /* next byte to post */
	double t_start, t_posted, t_read; /* asked, first READ posted, last READ in */
	struct fetch_req *next;		  /* in a post queue */
};

struct slot {
	struct fetch_req *req;
	uint64_t off;
	uint32_t len;
};

static struct {
	struct rconn conn;
	struct export_table table;
	int epfd;
	long page;
	uint32_t read_size;
	double fault_spin; /* seconds a fault polls for its READs */
	/* slots [0, nr_bg) READ on the main QP, [nr_bg, nr_slots) on the lane */
	unsigned int nr_slots, nr_bg, busy_slots, busy_bg;
	uint8_t *pool;
	struct ibv_mr *pool_mr;
	struct slot *slots;
	struct fetch_req *fault_q, *fault_tail, *bg_q, *bg_tail;
	bool failed;
	/* counters */
	unsigned long fault_reqs, fault_pages, bg_reqs, bg_pages, reads, tasks_done;
	uint64_t bytes;
	double t_connect, t_progress;
	uint64_t exported_bytes, progress_bytes; /* for the progress line */
	/*
	 * Per fault, in microseconds: asked -> UFFDIO_COPY done, and its parts:
	 * waiting for a slot, the READs on the wire, moving the bytes + CRIU's
	 * UFFDIO_COPY (which also wakes the faulting task).
	 */
	float *lat_us, *queue_us, *wire_us, *copy_us;
	unsigned long nr_lat;
	unsigned long hist[24]; /* fault latency, log2 buckets of microseconds */
} tf;

static int recv_export_table(void)
{
	int timeout = (int)rdma_cfg_int("CRIU_RDMA_TIMEOUT_MS", 10000);
	bool last = false;
	size_t i;

	while (!last) {
		RdmaCtlMsg *m = ctl_recv(&tf.conn, RDMA_CTL_MSG__BODY_EXPORT, timeout);
		struct export_task *task;

		if (!m)
			return -1;
		task = export_task_get(&tf.table, m->export->task_id, 1);
		for (i = 0; task && i < m->export->n_ranges; i++) {
			struct export_range r = {
				.va = m->export->ranges[i]->va,
				.len = m->export->ranges[i]->len,
				.rkey = m->export->ranges[i]->rkey,
			};

			if (export_task_add(task, &r))
				task = NULL;
		}
		for (i = 0; i < m->export->n_ranges; i++)
			tf.exported_bytes += m->export->ranges[i]->len;
		last = m->export->last;
		ctl_free(m);
		if (!task)
			return -1;
	}
	for (i = 0; i < tf.table.nr; i++)
		if (export_task_seal(&tf.table.tasks[i])) {
			pr_err("the source's export table of task %u has overlapping ranges\n", tf.table.tasks[i].id);
			return -1;
		}
	return 0;
}

static int setup_pool(void)
{
	tf.nr_bg = tf.conn.max_reads;
	tf.nr_slots = tf.nr_bg + tf.conn.lane_reads;
	tf.read_size = (uint32_t)rdma_cfg_int("CRIU_RDMA_READ_SIZE", 256 * 1024);
	tf.read_size = (tf.read_size + tf.page - 1) / tf.page * tf.page;
	tf.fault_spin = (double)rdma_cfg_int("CRIU_RDMA_FAULT_SPIN_US", 0) / 1e6;
	tf.slots = calloc(tf.nr_slots, sizeof(*tf.slots));
	tf.lat_us = calloc(4 * (size_t)MAX_LAT_SAMPLES, sizeof(*tf.lat_us));
	if (posix_memalign((void **)&tf.pool, tf.page, (size_t)tf.nr_slots * tf.read_size) || !tf.slots || !tf.lat_us)
		return -1;
	tf.queue_us = tf.lat_us + MAX_LAT_SAMPLES;
	tf.wire_us = tf.queue_us + MAX_LAT_SAMPLES;
	tf.copy_us = tf.wire_us + MAX_LAT_SAMPLES;
	tf.pool_mr = rconn_reg(&tf.conn, tf.pool, (size_t)tf.nr_slots * tf.read_size, IBV_ACCESS_LOCAL_WRITE);
	if (!tf.pool_mr) {
		pr_perror("cannot register the staging pool");
		return -1;
	}
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

int rdma_lazy_connect(const char *addr, unsigned short port, int *event_fd)
{
	int timeout = (int)rdma_cfg_int("CRIU_RDMA_TIMEOUT_MS", 10000);
	int ns, ret;

	tf.page = sysconf(_SC_PAGESIZE);
	if (!addr || !port) {
		pr_err("--rdma needs --address and --port of the source\n");
		return -1;
	}
	tf.t_connect = tf.t_progress = rdma_now();
	ns = rdma_netns_enter();
	if (ns == -1)
		return -1;
	ret = rconn_connect(&tf.conn, addr, port, timeout) || ctl_handshake(&tf.conn, "target", timeout) ||
	      recv_export_table() || rconn_connect_lane(&tf.conn, addr, port, timeout);
	rdma_netns_leave(ns);
	if (ret || setup_pool() || setup_epoll(event_fd))
		return -1;
	pr_info("source exports %zu task(s); READs of up to %u KiB, %u background and %u fault READs in flight\n",
		tf.table.nr, tf.read_size >> 10, tf.nr_bg, tf.nr_slots - tf.nr_bg);
	return 0;
}

static void enqueue(struct fetch_req *r)
{
	struct fetch_req **head = r->fault ? &tf.fault_q : &tf.bg_q;
	struct fetch_req **tail = r->fault ? &tf.fault_tail : &tf.bg_tail;

	r->next = NULL;
	if (*head)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

/* Posts the next READ of @r into a free slot; pops @r once fully posted. */
static int post_one(struct fetch_req *r, struct fetch_req **head)
{
	uint64_t va = r->vaddr + r->next_off;
	const struct export_range *range = export_lookup(&tf.table, (uint32_t)r->img_id, va);
	unsigned int s;
	uint64_t len;

	if (!range) {
		pr_err("request outside the exported memory: task %lu, VA 0x%llx\n", r->img_id, (unsigned long long)va);
		return -1;
	}
	len = r->len - r->next_off;
	if (len > tf.read_size)
		len = tf.read_size;
	if (len > range->va + range->len - va)
		len = range->va + range->len - va;
	if (len < r->len && !r->stage && !(r->stage = malloc(r->len))) {
		pr_err("no memory to stage %llu bytes\n", (unsigned long long)r->len);
		return -1;
	}
	for (s = r->fault ? tf.nr_bg : 0; tf.slots[s].req; s++)
		;
	if (!r->next_off)
		r->t_posted = rdma_now();
	if (rconn_post_read(&tf.conn, r->fault, tf.pool + (size_t)s * tf.read_size, tf.pool_mr->lkey, va, range->rkey,
			    (uint32_t)len, s)) {
		pr_perror("cannot post a READ");
		return -1;
	}
	tf.slots[s] = (struct slot){ .req = r, .off = r->next_off, .len = (uint32_t)len };
	tf.busy_slots++;
	if (!r->fault)
		tf.busy_bg++;
	tf.reads++;
	r->reads_left++;
	r->next_off += len;
	if (r->next_off == r->len)
		*head = r->next;
	return 0;
}

/* Each queue into its own slots and onto its own QP. */
static int dispatch(void)
{
	while (tf.fault_q && tf.busy_slots - tf.busy_bg < tf.nr_slots - tf.nr_bg)
		if (post_one(tf.fault_q, &tf.fault_q))
			return -1;
	while (tf.bg_q && tf.busy_bg < tf.nr_bg)
		if (post_one(tf.bg_q, &tf.bg_q))
			return -1;
	return 0;
}

/* A progress line about once a second, as users expect from a long transfer. */
static void progress(void)
{
	double now = rdma_now();

	if (now - tf.t_progress < 1.0 && tf.bytes < tf.exported_bytes)
		return;
	pr_info("progress: %llu/%llu pages, %.1f MiB/s\n", (unsigned long long)(tf.bytes / tf.page),
		(unsigned long long)(tf.exported_bytes / tf.page),
		(tf.bytes - tf.progress_bytes) / 1048576.0 / (now - tf.t_progress));
	tf.t_progress = now;
	tf.progress_bytes = tf.bytes;
}

/* Counts a request whose pages CRIU has just placed (UFFDIO_COPY done). */
static void account(struct fetch_req *r)
{
	double now = rdma_now(), us = (now - r->t_start) * 1e6;
	unsigned int b = 0;

	tf.bytes += r->len;
	progress();
	if (!r->fault) {
		tf.bg_reqs++;
		tf.bg_pages += r->nr_pages;
		return;
	}
	tf.fault_reqs++;
	tf.fault_pages += r->nr_pages;
	while (b < 23 && (1UL << (b + 1)) <= (unsigned long)us)
		b++;
	tf.hist[b]++;
	if (tf.nr_lat < MAX_LAT_SAMPLES) {
		tf.lat_us[tf.nr_lat] = (float)us;
		tf.queue_us[tf.nr_lat] = (float)((r->t_posted - r->t_start) * 1e6);
		tf.wire_us[tf.nr_lat] = (float)((r->t_read - r->t_posted) * 1e6);
		tf.copy_us[tf.nr_lat] = (float)((now - r->t_read) * 1e6);
		tf.nr_lat++;
	}
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
		struct slot *s = &tf.slots[wc[i].wr_id];
		struct fetch_req *r = s->req;

		if (wc[i].status != IBV_WC_SUCCESS) {
			pr_err("READ of task %lu VA 0x%lx failed: %s\n", r->img_id, r->vaddr + (unsigned long)s->off,
			       ibv_wc_status_str(wc[i].status));
			return -1;
		}
		memcpy((r->stage ?: r->buf) + s->off, tf.pool + wc[i].wr_id * tf.read_size, s->len);
		s->req = NULL;
		tf.busy_slots--;
		if (!r->fault)
			tf.busy_bg--;
		if (--r->reads_left == 0 && r->next_off == r->len) {
			int ret;

			r->t_read = rdma_now();
			if (r->stage)
				memcpy(r->buf, r->stage, r->len);
			ret = r->complete(r->img_id, r->vaddr, r->nr_pages, r->priv);
			account(r);
			free(r->stage);
			free(r);
			if (ret < 0)
				return -1;
		}
	}
	return dispatch();
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

	while (tf.fault_q || tf.busy_slots > tf.busy_bg) {
		if (reap(0))
			return -1;
		if (rdma_now() > end)
			break;
	}
	return 0;
}

int rdma_lazy_fetch(unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf, unsigned int flags,
		    cr_lazy_pages_complete_t complete, void *priv)
{
	struct fetch_req *r = calloc(1, sizeof(*r));

	if (!r || tf.failed)
		return -1;
	*r = (struct fetch_req){
		.img_id = img_id,
		.vaddr = vaddr,
		.nr_pages = nr_pages,
		.buf = buf,
		.complete = complete,
		.priv = priv,
		.fault = flags & CR_LAZY_FETCH_FAULT,
		.len = nr_pages * tf.page,
		.t_start = rdma_now(),
	};
	enqueue(r);
	if (dispatch())
		return -1;
	if (r->fault && tf.fault_spin > 0 && spin_for_faults())
		return -1;
	if (flags & CR_LAZY_FETCH_ASYNC)
		return 0;
	/* Synchronous: wait for this request (and whatever completes meanwhile). */
	while (tf.fault_q || tf.bg_q || tf.busy_slots)
		if (reap(1000))
			return -1;
	return 0;
}

/* CRIU has every page of a restored task: the source hears of it (progress). */
int rdma_lazy_task_done(unsigned long img_id, int pid)
{
	tf.tasks_done++;
	pr_info("task %lu (pid %d) has all its pages\n", img_id, pid);
	if (tf.failed || ctl_send_task_done(&tf.conn, (uint32_t)img_id, (uint32_t)pid)) {
		pr_err("cannot tell the source that task %lu is complete\n", img_id);
		return -1;
	}
	return 0;
}

int rdma_lazy_event(void)
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

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* The @pct percentile of the fault samples @v (sorts them). */
static double percentile(float *v, unsigned int pct)
{
	if (!tf.nr_lat)
		return 0;
	qsort(v, tf.nr_lat, sizeof(*v), cmp_float);
	return v[(tf.nr_lat * pct) / 100];
}

static void report(void)
{
	double p50, p99, q50, w50, c50, secs = rdma_now() - tf.t_connect;
	const char *path = getenv("CRIU_RDMA_STATS");
	char hist[512];
	size_t off = 0;
	unsigned int b;
	FILE *f;

	p50 = percentile(tf.lat_us, 50);
	p99 = percentile(tf.lat_us, 99);
	q50 = percentile(tf.queue_us, 50);
	w50 = percentile(tf.wire_us, 50);
	c50 = percentile(tf.copy_us, 50);
	hist[0] = 0;
	for (b = 0; b < 24; b++)
		if (tf.hist[b] && off < sizeof(hist))
			off += (size_t)snprintf(hist + off, sizeof(hist) - off, " <%luus:%lu", 1UL << (b + 1),
						tf.hist[b]);
	pr_info("lazy pages over RDMA: fault_pages=%lu fault_requests=%lu background_pages=%lu background_requests=%lu "
		"bytes=%llu reads=%lu tasks_done=%lu seconds=%.3f fault_latency_p50_us=%.1f "
		"fault_latency_p99_us=%.1f\n",
		tf.fault_pages, tf.fault_reqs, tf.bg_pages, tf.bg_reqs, (unsigned long long)tf.bytes, tf.reads,
		tf.tasks_done, secs, p50, p99);
	pr_info("fault latency histogram:%s\n", hist);
	pr_info("fault latency p50 parts: %.1f us waiting for a slot, %.1f us READ on the wire, %.1f us copy + "
		"UFFDIO_COPY\n",
		q50, w50, c50);
	if (!path)
		return;
	f = fopen(path, "w");
	if (!f) {
		pr_perror("cannot write %s", path);
		return;
	}
	fprintf(f,
		"transport=rdma\nfault_pages=%lu\nfault_requests=%lu\nbackground_pages=%lu\nbackground_requests=%lu\n"
		"bytes=%llu\nreads=%lu\ntasks_done=%lu\nseconds=%.6f\nfault_latency_p50_us=%.1f\n"
		"fault_latency_p99_us=%.1f\nfault_queue_us_p50=%.1f\nfault_read_us_p50=%.1f\nfault_copy_us_p50=%.1f\n",
		tf.fault_pages, tf.fault_reqs, tf.bg_pages, tf.bg_reqs, (unsigned long long)tf.bytes, tf.reads,
		tf.tasks_done, secs, p50, p99, q50, w50, c50);
	fclose(f);
}

int rdma_lazy_disconnect(int status)
{
	report();
	if (tf.conn.connected && !tf.conn.peer_gone) {
		/* the source ends well only on our close: it must arrive before the QP goes */
		if (ctl_send_close(&tf.conn, status || tf.failed ? "the target's lazy-pages daemon failed" : NULL) ||
		    rconn_drain_sends(&tf.conn, rdma_cfg_int("CRIU_RDMA_TIMEOUT_MS", 10000)))
			pr_err("the source may not have received our close\n");
	}
	if (tf.pool_mr)
		ibv_dereg_mr(tf.pool_mr);
	rconn_close(&tf.conn);
	export_table_free(&tf.table);
	if (tf.epfd > 0)
		close(tf.epfd);
	free(tf.pool);
	free(tf.slots);
	free(tf.lat_us);
	return 0;
}
