// SPDX-License-Identifier: GPL-2.0-only
/*
 * Source role: export the dumped memory of every task as memory regions
 * whose IOVA is the task's own VA, then serve.  Serving is one-sided: the
 * target READs pages itself, so after the export this side only waits for
 * control messages (done / close) and spends no CPU per page.
 *
 * The export is zero-copy where the kernel allows: while CRIU's parasite is
 * in a frozen task, the task registers its own lazy memory in our PD
 * (task_mr.c), and its pages are served as they are.  Otherwise (device or
 * kernel without the path, the task's registration refused, CRIU_RDMA_ZERO_COPY=0,
 * or a page server that holds received pages) the lazy pages are copied out
 * of CRIU's page pipes into memory we own and register (export_task_memory()).
 * Either way a task's ranges carry its VAs and the rkeys that reach them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "criu-plugin.h"
#include "ctl_io.h"
#include "export_table.h"
#include "rdma_util.h"
#include "serve_addrs.h"
#include "source_server.h"
#include "rdma_log.h"
#include "task_mr.h"

/*
 * One target of a dump that serves several (CRIU_RDMA_TARGETS > 1): its
 * connection once set up, the instance id it authenticated with (only it
 * may resume the session after a loss), and its own counters.
 */
enum target_state { TARGET_FREE, TARGET_ACTIVE, TARGET_LOST, TARGET_DONE, TARGET_FAILED };

struct target_sess {
	enum target_state state;
	struct rconn conn;
	uint8_t instance[CTL_INSTANCE_LEN];
	bool *task_done; /* per exported task */
	size_t tasks_done;
	uint64_t bytes_done;
	double t_start, t_end, last_rx, last_tx, lost_at, paused_s;
	uint32_t beats;
	unsigned long reconnects;
};

/* The source's whole state: one migration, one target (or CRIU_RDMA_TARGETS). */
static struct {
	const struct rdma_cfg *cfg;
	struct rconn conn;
	struct export_table table;
	bool listening;
	/* the session: its key, and what the handshake bound it to */
	struct rdma_session sess; /* key, hello, binding */
	unsigned int refused_peers;
	/* the target that authenticated first: the only one that may resume */
	uint8_t target[CTL_INSTANCE_LEN];
	bool have_target;
	unsigned long reconnects;
	double paused_s;
	/* the copy export */
	double copy_seconds;
	uint64_t copy_bytes;
	/* the zero-copy export: usable if zc_ok, else zc_why says why not */
	struct task_mr_dev zc_dev;
	bool zc_ok;
	char zc_why[160];
	double zc_seconds;
	uint64_t zc_bytes;
	unsigned int zc_tasks, zc_refused;
	/* several targets: one slot each */
	struct target_sess *targets;
	unsigned int nr_targets;
} src;

/*
 * Listens on --address, or with none on this host's addresses that its RDMA
 * device serves (see serve_addrs.h); @served gets what it listens on.
 */
static int listen_on(const struct rdma_cfg *cfg, const char *addr, unsigned short port, struct serve_addrs *served)
{
	const struct rconn_params *p = &CTL_RCONN_PARAMS(cfg->netns, cfg->fail, true);
	bool on[SERVE_ADDRS_MAX];
	struct serve_addrs local;
	char why[256];
	unsigned int i;

	memset(served, 0, sizeof(*served));
	served->port = port;
	if (addr) {
		pr_info("listening at %s, port %u\n", addr, port);
		if (rconn_listen(&src.conn, p, addr, port))
			return -1;
		/* (a host name is not recorded: the target then needs --address) */
		if (serve_addrs_add(served, addr))
			pr_info("%s is not a numeric address: the target needs --address\n", addr);
		return 0;
	}
	pr_info("no address given: listening on this host's RDMA addresses, port %u\n", port);
	if (serve_addrs_local(&local, cfg->netns, why, sizeof(why))) {
		pr_err("no --address given, and %s\n", why);
		return -1;
	}
	if (rconn_listen_addrs(&src.conn, p, local.addr, local.n, port, on) < 0)
		return -1;
	for (i = 0; i < local.n; i++)
		if (on[i])
			serve_addrs_add(served, local.addr[i]);
	return 0;
}

/* Where we serve, in the image directory for a target given no --address. */
static int record_addrs(const struct serve_addrs *served)
{
	char why[256];

	if (!served->n)
		return 0;
	if (serve_addrs_write(criu_get_image_dir(), served, why, sizeof(why))) {
		pr_err("cannot record where the source serves: %s\n", why);
		return -1;
	}
	pr_info("serving on %u address(es), port %u, recorded in %s (first: %s)\n", served->n, served->port,
		SERVE_ADDRS_FILE, served->addr[0]);
	return 0;
}

int source_listen(const struct rdma_cfg *cfg, const char *addr, unsigned short port)
{
	struct serve_addrs served;

	if (!port) {
		pr_err("--rdma needs --port\n");
		return -1;
	}
	src.cfg = cfg;
	if (listen_on(cfg, addr, port, &served)) {
		rconn_close(&src.conn);
		return -1;
	}
	/* the session key: made now, before anything is frozen, in the image directory; and our addresses */
	if (rdma_cfg_session(cfg, "source", criu_get_image_dir(), &src.sess) || record_addrs(&served)) {
		rconn_close(&src.conn);
		return -1;
	}
	src.listening = true;

	/* learn now, before anything is frozen, whether tasks can register themselves */
	src.zc_ok = false;
	if (!cfg->zero_copy)
		snprintf(src.zc_why, sizeof(src.zc_why), "switched off (CRIU_RDMA_ZERO_COPY=0)");
	else
		src.zc_ok = !task_mr_probe(&src.conn, &src.zc_dev, src.zc_why, sizeof(src.zc_why));
	src.zc_dev.refuse_last = cfg->refuse_zero_copy;
	if (src.zc_ok)
		pr_info("zero-copy export available on %s (driver id %u)\n", rconn_dev_name(&src.conn),
			src.zc_dev.driver_id);
	else
		pr_info("zero-copy export unavailable: %s; lazy pages will be copied\n", src.zc_why);
	return 0;
}

/* Drops a task's regions: ours (copies) and the task's own (zero-copy). */
static void release_task(struct export_task *task)
{
	size_t i;

	for (i = 0; i < task->nr; i++) {
		struct export_range *r = &task->ranges[i];

		if (r->in_task) {
			task_mr_release(&src.zc_dev, r->mr_handle);
			continue;
		}
		rconn_dereg(r->mr, "an exported copy's region");
		if (munmap(r->local, r->len))
			pr_perror("cannot unmap an exported copy of %llu bytes", (unsigned long long)r->len);
	}
	task->nr = 0;
}

/* Where a task's memory starts, for debugging (and the tests that attack it). */
static void log_first_range(const struct export_task *t)
{
	if (t->nr)
		pr_debug("export: task %u first range va 0x%llx len %llu rkey 0x%x\n", t->id,
			 (unsigned long long)t->ranges[0].va, (unsigned long long)t->ranges[0].len, t->ranges[0].rkey);
}

/* Copies one run of lazy pages into registered memory addressed by its VA. */
static int export_run(struct export_task *task, uint64_t va, uint64_t len, cr_lazy_pages_read_t read, void *priv)
{
	struct export_range r = { .va = va, .len = len };
	long page = sysconf(_SC_PAGESIZE);

	r.local = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r.local == MAP_FAILED) {
		pr_perror("cannot allocate %llu bytes for the export", (unsigned long long)len);
		return -1;
	}
	if (read(priv, va, len / page, r.local)) {
		munmap(r.local, len);
		return -1;
	}
	r.mr = rconn_reg_iova(&src.conn, r.local, len, va, IBV_ACCESS_REMOTE_READ);
	if (!r.mr) {
		pr_perror("cannot register %llu bytes at VA 0x%llx (ulimit -l?)", (unsigned long long)len,
			  (unsigned long long)va);
		munmap(r.local, len);
		return -1;
	}
	r.rkey = r.mr->rkey;
	src.copy_bytes += len;
	return export_task_add(task, &r);
}

static int export_task_memory(int img_id, const struct iovec *iovs, unsigned int nr, cr_lazy_pages_read_t read,
			      void *priv)
{
	struct export_task *task = export_task_get(&src.table, (uint32_t)img_id, 1);
	unsigned int i = 0;
	uint64_t va, len;

	if (!task)
		return -1;
	while (i < nr) {
		i = export_next_run(iovs, nr, i, &va, &len);
		if (export_run(task, va, len, read, priv))
			return -1;
	}
	if (export_task_seal(task))
		return -1;
	log_first_range(task);
	return 0;
}

int source_export(int img_id, const struct iovec *iovs, unsigned int nr, cr_lazy_pages_read_t read, void *priv)
{
	double t0 = rdma_now();
	int ret;

	if (!src.listening) {
		pr_err("export before listen\n");
		return -1;
	}
	ret = export_task_memory(img_id, iovs, nr, read, priv);
	src.copy_seconds += rdma_now() - t0;
	pr_info("exported task %d: %u ranges\n", img_id, nr);
	return ret;
}

/*
 * Called while the parasite is in task @pid: have it register its own lazy
 * ranges.  Any failure leaves nothing registered and answers -ENOTSUP, so
 * CRIU splices the pages and the copy export takes them: zero-copy never
 * fails a dump the copy would complete.
 */
int source_export_in_place(int img_id, int pid, const struct iovec *iovs, unsigned int nr, cr_task_ioctls_t run,
			   void *task)
{
	struct export_task *t;
	double t0 = rdma_now(), secs;
	char why[160];
	uint64_t bytes = 0;
	unsigned int i;

	if (!src.listening || !src.zc_ok)
		return -ENOTSUP;
	t = export_task_get(&src.table, (uint32_t)img_id, 1);
	if (!t)
		return -ENOTSUP;
	if (task_mr_export(&src.zc_dev, t, pid, iovs, nr, run, task, why, sizeof(why)) || export_task_seal(t)) {
		pr_warn("task %d: zero-copy export not possible: %s; its pages will be copied\n", img_id, why);
		release_task(t);
		src.zc_refused++;
		return -ENOTSUP;
	}
	for (i = 0; i < nr; i++)
		bytes += iovs[i].iov_len;
	log_first_range(t);
	secs = rdma_now() - t0;
	src.zc_bytes += bytes;
	src.zc_seconds += secs;
	src.zc_tasks++;
	pr_info("exported task %d zero-copy: %zu regions, %.1f MiB registered by the task (pid %d) in %.3f s\n", img_id,
		t->nr, bytes / 1048576.0, pid, secs);
	return 0;
}

static int send_export_table(void)
{
	RdmaRange *ranges = calloc(RDMA_CTL_RANGES_PER_MSG, sizeof(*ranges));
	RdmaRange **rp = calloc(RDMA_CTL_RANGES_PER_MSG, sizeof(*rp));
	RdmaCtlMsg msg;
	RdmaExport exp;
	size_t t, i, n;
	int ret = -1;

	if (!ranges || !rp)
		goto out;
	for (t = 0; t < src.table.nr || t == 0; t++) {
		struct export_task *task = src.table.nr ? &src.table.tasks[t] : NULL;
		size_t total = task ? task->nr : 0;

		i = 0;
		do {
			rdma_ctl_msg__init(&msg);
			rdma_export__init(&exp);
			exp.task_id = task ? task->id : 0;
			for (n = 0; n < RDMA_CTL_RANGES_PER_MSG && i < total; n++, i++) {
				rdma_range__init(&ranges[n]);
				ranges[n].va = task->ranges[i].va;
				ranges[n].len = task->ranges[i].len;
				ranges[n].rkey = task->ranges[i].rkey;
				rp[n] = &ranges[n];
			}
			exp.n_ranges = n;
			exp.ranges = rp;
			exp.last = i == total && t + 1 >= src.table.nr;
			msg.body_case = RDMA_CTL_MSG__BODY_EXPORT;
			msg.export = &exp;
			if (ctl_send(&src.conn, &msg))
				goto out;
		} while (i < total);
	}
	ret = 0;
out:
	free(ranges);
	free(rp);
	return ret;
}

/* True once the target has reported every exported task done (over any of its connections). */
static bool every_task_done(void)
{
	size_t i;

	for (i = 0; i < src.table.nr; i++)
		if (!src.table.tasks[i].done)
			return false;
	return src.table.nr > 0;
}

/* Marks task @id done.  An unknown id changes nothing. */
static void mark_task_done(uint32_t id)
{
	struct export_task *t = export_task_get(&src.table, id, 0);

	if (!t)
		pr_warn("the target reported task %u done, which was not exported\n", id);
	else
		t->done = true;
}

/*
 * Handles one message from the serving target: 1 to go on, 0 when it has
 * closed well, -1 when it failed or broke the protocol.
 */
static int target_message(const RdmaCtlMsg *m)
{
	char text[RDMA_CTL_MAX_LOGGED + 4];

	switch (m->body_case) {
	case RDMA_CTL_MSG__BODY_CLOSE:
		if (!m->close->error)
			return 0;
		pr_err("the target failed: %s\n", ctl_printable(m->close->error, text, sizeof(text)));
		return -1;
	case RDMA_CTL_MSG__BODY_TASK_DONE:
		if (m->task_done->has_pid)
			pr_info("target has every page of task %u (restored as pid %u)\n", m->task_done->task_id,
				m->task_done->pid);
		else
			pr_info("target has every page of task %u\n", m->task_done->task_id);
		mark_task_done(m->task_done->task_id);
		return 1;
	case RDMA_CTL_MSG__BODY_HEARTBEAT:
		return 1;
	default:
		pr_err("unexpected %s message from the target while serving\n", ctl_body_name(m->body_case));
		return -1;
	}
}

/* wait_for_target(): the connection is lost, the target may come back */
#define SERVE_LOST 1

static int lost_target(const char *why)
{
	if (every_task_done()) {
		pr_warn("the target left without its close (%s), after every task had all its pages\n", why);
		return 0;
	}
	pr_warn("lost the target: %s\n", why);
	return SERVE_LOST;
}

/*
 * Waits for the target's close; task-done messages are logged on the way.
 * Both sides send a heartbeat every interval, and a target silent for
 * CRIU_RDMA_TIMEOUT_MS is lost, as is one whose connection fails:
 * SERVE_LOST, unless every task was done (the close only carries its final
 * status then).
 */
static int wait_for_target(void)
{
	int hb = rdma_cfg_heartbeat_ms(src.cfg);
	double last_rx = rdma_now(), last_tx = 0;
	uint32_t beats = 0;

	for (;;) {
		bool timed_out;
		RdmaCtlMsg *m;
		int ret;

		if ((rdma_now() - last_tx) * 1e3 >= hb) {
			if (ctl_send_heartbeat(&src.conn, ++beats, 0))
				return lost_target("a heartbeat could not be sent");
			last_tx = rdma_now();
		}
		m = ctl_recv_any(&src.conn, hb, &timed_out);
		if (!m && timed_out) {
			if ((rdma_now() - last_rx) * 1e3 > src.cfg->timeout_ms)
				return lost_target("no heartbeat from the target in CRIU_RDMA_TIMEOUT_MS");
			continue;
		}
		if (!m)
			return lost_target("the connection failed");
		last_rx = rdma_now();
		ret = target_message(m);
		ctl_free(m);
		if (ret <= 0)
			return ret;
	}
}

/* Idempotent: after serving, and from the plugin's fini when a dump failed. */
void source_release(void)
{
	size_t t;

	if (!src.listening)
		return;
	/* the targets' QPs first, then the regions: the PD cannot go while either is in it */
	for (t = 0; t < src.nr_targets; t++) {
		if (src.targets[t].conn.ec && rconn_close_peer(&src.targets[t].conn))
			pr_err("a target's connection was not all released (see above)\n");
		free(src.targets[t].task_done);
	}
	free(src.targets);
	src.targets = NULL;
	src.nr_targets = 0;
	for (t = 0; t < src.table.nr; t++)
		release_task(&src.table.tasks[t]);
	export_table_free(&src.table);
	memset(&src.sess.key, 0, sizeof(src.sess.key));
	if (rconn_close(&src.conn))
		pr_err("the connection's resources were not all released (see above)\n");
	src.listening = false;
}

/* CRIU_RDMA_SOURCE_STATS=FILE: how the memory was exported, as shell variables. */
static void write_source_stats(void)
{
	const char *path = src.cfg->source_stats;
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (!f) {
		pr_perror("cannot write %s", path);
		return;
	}
	fprintf(f, "role=source\nexport_zero_copy_tasks=%u\nexport_zero_copy_bytes=%llu\n", src.zc_tasks,
		(unsigned long long)src.zc_bytes);
	fprintf(f, "export_zero_copy_seconds=%.6f\nexport_refused_tasks=%u\n", src.zc_seconds, src.zc_refused);
	fprintf(f, "export_copy_bytes=%llu\nexport_copy_seconds=%.6f\n", (unsigned long long)src.copy_bytes,
		src.copy_seconds);
	fclose(f);
}

static void log_export(void)
{
	pr_info("export: %.1f MiB zero-copy from %u tasks in %.3f s (%.3f s/GiB), %u tasks refused\n",
		src.zc_bytes / 1048576.0, src.zc_tasks, src.zc_seconds,
		src.zc_bytes ? src.zc_seconds / (src.zc_bytes / 1073741824.0) : 0.0, src.zc_refused);
	pr_info("export: %.1f MiB copied and pinned in %.3f s (%.3f s/GiB)\n", src.copy_bytes / 1048576.0,
		src.copy_seconds, src.copy_bytes ? src.copy_seconds / (src.copy_bytes / 1073741824.0) : 0.0);
}

/* The first authenticated target is the migration's; after a loss, only it may come back. */
static bool is_our_target(void)
{
	const struct ctl_session *s = &src.sess.s;

	if (!s->has_peer_instance)
		return false;
	if (!src.have_target) {
		memcpy(src.target, s->peer_instance, CTL_INSTANCE_LEN);
		src.have_target = true;
		return true;
	}
	return !memcmp(src.target, s->peer_instance, CTL_INSTANCE_LEN);
}

/*
 * Accepts peers until one proves the session key, within @timeout_ms.  One
 * that cannot is let go with everything made for it, and the wait goes on:
 * a stranger at the port must not end the migration.  Nor does a second
 * target of this migration (the key, but not the instance id of the target
 * that came first): it is told so and let go.  An authenticated target
 * that cannot work with us (version, page size) ends it.
 */
static int accept_target(int timeout_ms)
{
	double deadline = rdma_now() + timeout_ms / 1e3;
	const char *why;
	bool proven;
	int ret;

	for (;;) {
		int left = (int)((deadline - rdma_now()) * 1e3);

		if (left <= 0) {
			pr_err("no peer proved the session key in %d ms\n", timeout_ms);
			return -1;
		}
		/* one that never completes its connection is let go after a step's time */
		ret = rconn_accept(&src.conn, left, src.cfg->timeout_ms);
		if (ret && ret != RCONN_PEER_LEFT)
			return -1;
		why = ret ? "left before its connection was up" : "did not prove the session key";
		if (!ret && !ctl_handshake(&src.conn, &src.sess.s, src.cfg->timeout_ms, &proven)) {
			if (is_our_target())
				return 0;
			/* a second restore of this migration: it must never run next to the first */
			why = "is another target of this migration (only the one that started it may resume)";
			ctl_send_close(&src.conn, "another target is restoring this migration");
		} else if (!ret && proven) {
			return -1;
		}
		src.refused_peers++;
		pr_warn("let go of a peer that %s; waiting for the target\n", why);
		if (rconn_drop_peer(&src.conn))
			return -1;
	}
}

/*
 * Opens the lane: only a connect request carrying this session's token is
 * accepted, and its QP answers READs only after the target proved the key
 * for it.  Then nobody else may connect.
 */
static int open_lane(void)
{
	int timeout = src.cfg->timeout_ms;

	if (rconn_accept_lane(&src.conn, timeout, ctl_lane_vet, &src.sess.s) ||
	    ctl_lane_check(&src.conn, &src.sess.s, timeout) || rconn_allow_read(&src.conn, true) ||
	    ctl_lane_prove(&src.conn, &src.sess.s))
		return -1;
	/* with recovery the listener stays, for the target to come back (others are refused meanwhile) */
	return src.cfg->recovery_s ? 0 : rconn_stop_listening(&src.conn);
}

/* One connection's service: the table, the lane, then the wait for the end (or a loss). */
static int serve_connection(void)
{
	if (rconn_allow_read(&src.conn, false) || send_export_table() || open_lane())
		return lost_target("the connection could not be set up");
	pr_info("serving %.1f MiB to the authenticated target with one-sided READs%s\n",
		(src.copy_bytes + src.zc_bytes) / 1048576.0, src.reconnects ? " (again)" : "");
	return wait_for_target();
}

/*
 * The target is lost: keep the export (and, in CRIU, the frozen tree) for
 * CRIU_RDMA_RECOVERY_S, for that target to reconnect.  0 once it has, with
 * the session authenticated again; -1 when the window ran out.
 */
static int await_reconnection(void)
{
	double t = rdma_now();

	if (!src.cfg->recovery_s) {
		pr_err("the target is lost and CRIU_RDMA_RECOVERY_S=0: giving up\n");
		return -1;
	}
	pr_warn("keeping the export for up to %d s for the target to reconnect\n", src.cfg->recovery_s);
	if (rconn_drop_peer(&src.conn))
		return -1;
	/* over a dead link this can block in the kernel (see rconn_abandon()): the window runs meanwhile */
	pr_info("let go of the lost connection in %.3f s; waiting for the target\n", rdma_now() - t);
	if (accept_target(src.cfg->recovery_s * 1000)) {
		pr_err("the target did not come back in %d s: giving up\n", src.cfg->recovery_s);
		return -1;
	}
	src.reconnects++;
	src.paused_s += rdma_now() - t;
	pr_info("the target reconnected after %.3f s (reconnection %lu)\n", rdma_now() - t, src.reconnects);
	return 0;
}

/* ---- several targets from one export (CRIU_RDMA_TARGETS > 1) ---- */

static const char *const target_state_names[] = {
	[TARGET_FREE] = "never came", [TARGET_ACTIVE] = "serving", [TARGET_LOST] = "lost",
	[TARGET_DONE] = "done",	      [TARGET_FAILED] = "failed",
};

static unsigned int target_no(const struct target_sess *s)
{
	return (unsigned int)(s - src.targets) + 1;
}

static uint64_t task_bytes(const struct export_task *t)
{
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < t->nr; i++)
		bytes += t->ranges[i].len;
	return bytes;
}

/* Every slot has ended: done, failed, or its target never came. */
static bool every_target_settled(void)
{
	unsigned int i;

	for (i = 0; i < src.nr_targets; i++)
		if (src.targets[i].state != TARGET_DONE && src.targets[i].state != TARGET_FAILED)
			return false;
	return true;
}

/* A session ends: its connection goes (the export stays, for the others). */
static void end_target(struct target_sess *s, enum target_state state, const char *why)
{
	if (s->conn.ec && rconn_close_peer(&s->conn))
		pr_err("target %u: its connection was not all released (see above)\n", target_no(s));
	s->state = state;
	s->t_end = rdma_now();
	if (state == TARGET_DONE)
		pr_info("target %u of %u done: %zu of %zu tasks, %.1f MiB, in %.3f s (%lu reconnections)\n",
			target_no(s), src.nr_targets, s->tasks_done, src.table.nr, s->bytes_done / 1048576.0,
			s->t_end - s->t_start, s->reconnects);
	else
		pr_err("target %u of %u failed: %s (%zu of %zu tasks had all their pages)\n", target_no(s),
		       src.nr_targets, why, s->tasks_done, src.table.nr);
}

/* A target's connection is lost: it may come back for CRIU_RDMA_RECOVERY_S. */
static void lose_target(struct target_sess *s, const char *why)
{
	if (src.table.nr && s->tasks_done == src.table.nr) {
		pr_warn("target %u left without its close (%s), after every task had all its pages\n", target_no(s),
			why);
		end_target(s, TARGET_DONE, NULL);
		return;
	}
	if (!src.cfg->recovery_s) {
		end_target(s, TARGET_FAILED, why);
		return;
	}
	if (rconn_close_peer(&s->conn))
		pr_err("target %u: its connection was not all released (see above)\n", target_no(s));
	s->state = TARGET_LOST;
	s->lost_at = rdma_now();
	pr_warn("lost target %u: %s; keeping its session for up to %d s\n", target_no(s), why, src.cfg->recovery_s);
}

static void target_task_done(struct target_sess *s, const RdmaTaskDone *d)
{
	struct export_task *t = export_task_get(&src.table, d->task_id, 0);
	size_t i;

	if (!t) {
		pr_warn("target %u reported task %u done, which was not exported\n", target_no(s), d->task_id);
		return;
	}
	if (d->has_pid)
		pr_info("target %u has every page of task %u (restored as pid %u)\n", target_no(s), d->task_id, d->pid);
	else
		pr_info("target %u has every page of task %u\n", target_no(s), d->task_id);
	i = (size_t)(t - src.table.tasks);
	if (s->task_done[i])
		return;
	s->task_done[i] = true;
	s->tasks_done++;
	s->bytes_done += task_bytes(t);
}

/* One message of an active target: 1 to go on, 0 when it closed well, -1 when it failed. */
static int target_sess_message(struct target_sess *s, const RdmaCtlMsg *m)
{
	char text[RDMA_CTL_MAX_LOGGED + 4];

	switch (m->body_case) {
	case RDMA_CTL_MSG__BODY_CLOSE:
		if (!m->close->error)
			return 0;
		pr_err("target %u failed: %s\n", target_no(s), ctl_printable(m->close->error, text, sizeof(text)));
		return -1;
	case RDMA_CTL_MSG__BODY_TASK_DONE:
		target_task_done(s, m->task_done);
		return 1;
	case RDMA_CTL_MSG__BODY_HEARTBEAT:
		return 1;
	default:
		pr_err("unexpected %s message from target %u while serving\n", ctl_body_name(m->body_case),
		       target_no(s));
		return -1;
	}
}

/* Without waiting: an active target's messages, its heartbeat, its silence. */
static void service_target(struct target_sess *s)
{
	double now = rdma_now();
	bool timed_out;
	RdmaCtlMsg *m;
	int ret;

	if ((now - s->last_tx) * 1e3 >= rdma_cfg_heartbeat_ms(src.cfg)) {
		if (ctl_send_heartbeat(&s->conn, ++s->beats, 0)) {
			lose_target(s, "a heartbeat could not be sent");
			return;
		}
		s->last_tx = now;
	}
	/* a disconnect is seen after the messages that came before it */
	rconn_check_peer(&s->conn);
	while ((m = ctl_recv_any(&s->conn, 0, &timed_out))) {
		s->last_rx = rdma_now();
		ret = target_sess_message(s, m);
		ctl_free(m);
		if (ret <= 0) {
			end_target(s, ret ? TARGET_FAILED : TARGET_DONE, "it reported a failure");
			return;
		}
	}
	if (!timed_out)
		lose_target(s, "the connection failed");
	else if ((now - s->last_rx) * 1e3 > src.cfg->timeout_ms)
		lose_target(s, "no heartbeat from the target in CRIU_RDMA_TIMEOUT_MS");
}

/*
 * The slot of the target that just authenticated, by its instance id: its
 * own lost session (it resumes), else a free one.  NULL, with @why, when it
 * must be refused: a session of that instance id is active or has ended
 * (the same restore twice), or every slot is taken.
 */
static struct target_sess *slot_for(const struct ctl_session *cs, char *why, size_t len)
{
	struct target_sess *free_slot = NULL;
	unsigned int i;

	if (!cs->has_peer_instance) {
		snprintf(why, len, "the target sent no instance id");
		return NULL;
	}
	for (i = 0; i < src.nr_targets; i++) {
		struct target_sess *s = &src.targets[i];

		if (s->state == TARGET_FREE) {
			free_slot = free_slot ?: s;
			continue;
		}
		if (memcmp(s->instance, cs->peer_instance, CTL_INSTANCE_LEN))
			continue;
		if (s->state == TARGET_LOST)
			return s;
		snprintf(why, len, "this target (its instance id) already has a session, %s",
			 target_state_names[s->state]);
		return NULL;
	}
	if (!free_slot)
		snprintf(why, len, "all %u targets of this migration are taken (CRIU_RDMA_TARGETS=%u)", src.nr_targets,
			 src.nr_targets);
	return free_slot;
}

static unsigned int active_targets(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < src.nr_targets; i++)
		n += src.targets[i].state == TARGET_ACTIVE;
	return n;
}

/*
 * How long each step of a target's set-up may wait (accept, handshake,
 * lane, lane proof): the other targets hear no heartbeat meanwhile, so the
 * four together stay within the silence that would lose them, unless that
 * is under 4 s.
 */
static int setup_step_ms(void)
{
	int ms = src.cfg->timeout_ms / 4;

	return ms >= 1000 ? ms : src.cfg->timeout_ms < 1000 ? src.cfg->timeout_ms : 1000;
}

/* On the listener's connection: the table, the lane; then the session is moved to @s. */
static int set_up_target(struct target_sess *s)
{
	int timeout = setup_step_ms();

	if (rconn_allow_read(&src.conn, false) || send_export_table() ||
	    rconn_accept_lane(&src.conn, timeout, ctl_lane_vet, &src.sess.s) ||
	    ctl_lane_check(&src.conn, &src.sess.s, timeout) || rconn_allow_read(&src.conn, true) ||
	    ctl_lane_prove(&src.conn, &src.sess.s))
		return -1;
	return rconn_take_peer(&src.conn, &s->conn);
}

/* Accepts one waiting peer: a new target, one coming back, or one refused (and let go). */
static void take_target(int *target_started)
{
	char why[160] = "";
	struct target_sess *s;
	bool proven = false, again;
	double now;
	int ret;

	ret = rconn_accept(&src.conn, setup_step_ms(), setup_step_ms());
	if (ret || ctl_handshake(&src.conn, &src.sess.s, setup_step_ms(), &proven)) {
		src.refused_peers++;
		pr_warn("let go of a peer that %s\n", ret      ? "left before its connection was up"
						      : proven ? "cannot work with this source"
							       : "did not prove the session key");
		rconn_drop_peer(&src.conn);
		return;
	}
	s = slot_for(&src.sess.s, why, sizeof(why));
	if (!s) {
		src.refused_peers++;
		pr_warn("refused a target: %s\n", why);
		ctl_send_close(&src.conn, why);
		rconn_drain_sends(&src.conn, 1000);
		rconn_drop_peer(&src.conn);
		return;
	}
	if (set_up_target(s)) {
		pr_warn("target %u: its connection could not be set up\n", target_no(s));
		rconn_drop_peer(&src.conn);
		return;
	}
	now = rdma_now();
	again = s->state == TARGET_LOST;
	if (again) {
		s->reconnects++;
		s->paused_s += now - s->lost_at;
	} else {
		memcpy(s->instance, src.sess.s.peer_instance, CTL_INSTANCE_LEN);
		s->t_start = now;
	}
	s->state = TARGET_ACTIVE;
	s->last_rx = now;
	s->last_tx = 0;
	/* it proved the key after it got the restored tasks' uffds: it is restoring */
	*target_started = 1;
	pr_info("target %u of %u: serving %.1f MiB with one-sided READs%s (%u targets active)\n", target_no(s),
		src.nr_targets, (src.copy_bytes + src.zc_bytes) / 1048576.0, again ? " (again)" : "", active_targets());
}

/* Slots in their waits: a lost target out of time, a target that never came. */
static void expire_targets(double accept_deadline)
{
	double now = rdma_now();
	unsigned int i;

	for (i = 0; i < src.nr_targets; i++) {
		struct target_sess *s = &src.targets[i];

		if (s->state == TARGET_LOST && now - s->lost_at > src.cfg->recovery_s)
			end_target(s, TARGET_FAILED, "it did not come back in CRIU_RDMA_RECOVERY_S");
		else if (s->state == TARGET_FREE && now > accept_deadline)
			end_target(s, TARGET_FAILED, "no target came for it in CRIU_RDMA_ACCEPT_TIMEOUT_MS");
	}
}

/* CRIU_RDMA_SOURCE_STATS, after serving several: a line set per target. */
static void write_target_stats(unsigned int done)
{
	FILE *f;
	unsigned int i;

	if (!src.cfg->source_stats)
		return;
	f = fopen(src.cfg->source_stats, "a");
	if (!f) {
		pr_perror("cannot write %s", src.cfg->source_stats);
		return;
	}
	fprintf(f, "targets=%u\ntargets_done=%u\nexport_tasks=%zu\n", src.nr_targets, done, src.table.nr);
	for (i = 0; i < src.nr_targets; i++) {
		const struct target_sess *s = &src.targets[i];

		fprintf(f, "target%u_state=%s\ntarget%u_tasks=%zu\ntarget%u_bytes=%llu\n", i + 1,
			s->state == TARGET_DONE ? "done" : "failed", i + 1, s->tasks_done, i + 1,
			(unsigned long long)s->bytes_done);
		fprintf(f, "target%u_seconds=%.3f\ntarget%u_reconnects=%lu\n", i + 1,
			s->t_start ? s->t_end - s->t_start : 0.0, i + 1, s->reconnects);
	}
	fclose(f);
}

/*
 * Serves CRIU_RDMA_TARGETS targets from the one export, their sessions
 * overlapping: one loop, without threads (CRIU's log is not thread-safe),
 * that accepts and sets up one target at a time on the listener's
 * connection, moves it to its slot, and between accepts hears every active
 * target without waiting.  The READs need no CPU here.  Returns once every
 * slot has ended; 0 only if every target got all its pages.
 */
static int serve_targets(int *target_started)
{
	double t0 = rdma_now(), accept_deadline = t0 + src.cfg->accept_timeout_ms / 1e3;
	struct pollfd pfd = { .fd = rconn_cm_fd(&src.conn), .events = POLLIN };
	unsigned int i, done = 0;
	int tick = rdma_cfg_heartbeat_ms(src.cfg) < 20 ? rdma_cfg_heartbeat_ms(src.cfg) : 20;

	src.nr_targets = (unsigned int)src.cfg->targets;
	src.targets = calloc(src.nr_targets, sizeof(*src.targets));
	if (!src.targets)
		return -1;
	for (i = 0; i < src.nr_targets; i++) {
		src.targets[i].task_done = calloc(src.table.nr ?: 1, sizeof(bool));
		if (!src.targets[i].task_done)
			return -1;
	}
	src.conn.hold_requests = true;
	pr_info("serving %u targets from one export (CRIU_RDMA_TARGETS=%u)\n", src.nr_targets, src.nr_targets);
	while (!every_target_settled()) {
		if (rconn_poll_requests(&src.conn))
			take_target(target_started);
		for (i = 0; i < src.nr_targets; i++)
			if (src.targets[i].state == TARGET_ACTIVE)
				service_target(&src.targets[i]);
		expire_targets(accept_deadline);
		if (!src.conn.n_backlog && poll(&pfd, 1, tick) < 0 && errno != EINTR) {
			pr_perror("waiting for targets");
			break;
		}
	}
	for (i = 0; i < src.nr_targets; i++) {
		const struct target_sess *s = &src.targets[i];

		done += s->state == TARGET_DONE;
		pr_info("target %u: %s, %zu of %zu tasks, %.1f MiB, %.3f s, %lu reconnections (%.3f s without a "
			"connection)\n",
			i + 1, s->state == TARGET_DONE ? "done" : "failed", s->tasks_done, src.table.nr,
			s->bytes_done / 1048576.0, s->t_start ? s->t_end - s->t_start : 0.0, s->reconnects,
			s->paused_s);
	}
	write_target_stats(done);
	pr_info("%u of %u targets finished after %.3f s; releasing %.1f MiB\n", done, src.nr_targets, rdma_now() - t0,
		(src.copy_bytes + src.zc_bytes) / 1048576.0);
	return done == src.nr_targets ? 0 : -1;
}

int source_serve(int *target_started)
{
	double t0, mib;
	int ret = -1;

	log_export();
	write_source_stats();
	if (src.cfg->targets > 1) {
		ret = serve_targets(target_started);
		goto out;
	}
	mib = (src.copy_bytes + src.zc_bytes) / 1048576.0;
	t0 = rdma_now();
	if (accept_target(src.cfg->accept_timeout_ms))
		goto out;
	/* it proved the key after it got the restored tasks' uffds: it is restoring */
	*target_started = 1;
	/* the target then opens its fault lane, a second connection */
	while ((ret = serve_connection()) == SERVE_LOST)
		if (await_reconnection()) {
			ret = -1;
			break;
		}
	pr_info("target %s after %.3f s (%lu reconnections, %.3f s without a connection); releasing %.1f MiB\n",
		ret ? "failed" : "finished", rdma_now() - t0, src.reconnects, src.paused_s, mib);
out:
	if (src.refused_peers || src.conn.refused_requests)
		pr_warn("refused %u unauthenticated peers and %lu connect requests\n", src.refused_peers,
			src.conn.refused_requests);
	source_release();
	return ret;
}
