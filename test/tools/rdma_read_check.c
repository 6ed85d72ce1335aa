// SPDX-License-Identifier: GPL-2.0-only
/*
 * rdma-read-check: two processes, one RDMA READ path, through the plugin's
 * own connection and control-protocol code.
 *
 *   rdma-read-check serve ADDR PORT MIB   export MIB of patterned memory at
 *                                         its own VA (IOVA == VA), then wait
 *   rdma-read-check read ADDR PORT        connect, check the hello, READ the
 *                                         whole export and random pages,
 *                                         verify every byte
 *   rdma-read-check lat ADDR PORT N GAP_US  the latency of one 4 KiB READ at a
 *                                         time, busy-polled (bench/): N of the
 *                                         same page back to back (as perftest's
 *                                         ib_read_lat), N of random pages, and N
 *                                         of random pages GAP_US apart (as page
 *                                         faults come); prints each p50 and p90
 *
 * The pattern is a function of the source VA, so a READ from a wrong address
 * or a stale buffer cannot pass.  Exit status 0 only if every byte matched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ctl_io.h"
#include "rdma_conn.h"
#include "rdma_log.h"
#include "tool_file.h"

#define PATTERN_SALT 0x5eed5eed5eed5eedULL

#define TIMEOUT_MS 20000
#define CHUNK	   (64 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Both ends take the session key from CRIU_RDMA_SECRET, or a fixed test key. */
static int session_init(struct ctl_session *s, struct ctl_key *key, struct ctl_self *self, const char *role)
{
	const char *secret = getenv("CRIU_RDMA_SECRET");
	char why[256];

	if (ctl_key_from_secret(secret && *secret ? secret : "rdma-read-check test key", key, why, sizeof(why))) {
		fprintf(stderr, "%s\n", why);
		return -1;
	}
	ctl_self_init(self, role);
	/* a target says who it is for its whole life, as the plugin's does */
	if (!strcmp(role, "target")) {
		static uint8_t instance[CTL_INSTANCE_LEN];

		if (ctl_random(instance, sizeof(instance)))
			return -1;
		self->instance = instance;
	}
	s->key = key;
	s->self = self;
	return 0;
}

static int serve(const char *addr, int port, size_t mib)
{
	size_t len = mib << 20, i;
	RdmaCtlMsg msg, *m;
	RdmaExport exp;
	RdmaRange range, *ranges[1] = { &range };
	struct ibv_mr *mr;
	struct ctl_session s;
	struct ctl_self self;
	struct ctl_key key;
	struct rconn c;
	bool proven;
	uint64_t *mem;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (i = 0; i < len / 8; i++)
		mem[i] = tool_pattern((uintptr_t)&mem[i], PATTERN_SALT);
	if (rconn_listen(&c, &CTL_RCONN_PARAMS(NULL, RCONN_FAIL_NONE, true), addr, port))
		return 1;
	printf("serving %zu MiB at %p\n", mib, (void *)mem);
	fflush(stdout);
	if (session_init(&s, &key, &self, "source"))
		return 1;
	/* the READs below need the handshake's proof: the QP opens only then */
	if (rconn_accept(&c, TIMEOUT_MS * 3, TIMEOUT_MS) || ctl_handshake(&c, &s, TIMEOUT_MS, &proven) ||
	    rconn_allow_read(&c, false))
		return 1;
	/* IOVA == VA: the peer asks for our addresses as they are. */
	mr = rconn_reg_iova(&c, mem, len, (uintptr_t)mem, IBV_ACCESS_REMOTE_READ);
	if (!mr) {
		perror("ibv_reg_mr_iova2");
		return 1;
	}
	rdma_ctl_msg__init(&msg);
	rdma_export__init(&exp);
	rdma_range__init(&range);
	range.va = (uintptr_t)mem;
	range.len = len;
	range.rkey = mr->rkey;
	exp.task_id = (uint32_t)getpid();
	exp.n_ranges = 1;
	exp.ranges = ranges;
	exp.last = 1;
	msg.body_case = RDMA_CTL_MSG__BODY_EXPORT;
	msg.export = &exp;
	if (ctl_send(&c, &msg))
		return 1;
	m = ctl_recv(&c, RDMA_CTL_MSG__BODY_CLOSE, TIMEOUT_MS);
	if (!m)
		return 1;
	printf("peer closed%s%s\n", m->close->error ? ": " : "", m->close->error ? m->close->error : "");
	ctl_free(m);
	ibv_dereg_mr(mr);
	rconn_close(&c);
	return 0;
}

/* READs [va, va+len) in CHUNK pieces, c->max_reads in flight. */
static int read_range(struct rconn *c, uint8_t *dst, struct ibv_mr *mr, uint64_t va, uint64_t len, uint32_t rkey,
		      unsigned long *nreads)
{
	uint64_t off = 0;
	unsigned int inflight = 0;
	struct ibv_wc wc[16];
	int n, i;

	while (off < len || inflight) {
		while (off < len && inflight < c->max_reads) {
			uint32_t sz = len - off < CHUNK ? (uint32_t)(len - off) : CHUNK;

			if (rconn_post_read(c, false, dst + off, mr->lkey, va + off, rkey, sz, off))
				return -1;
			off += sz;
			inflight++;
			(*nreads)++;
		}
		n = rconn_poll(c, wc, 16, TIMEOUT_MS);
		if (n <= 0) {
			fprintf(stderr, "READ completion missing (%d)\n", n);
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				fprintf(stderr, "READ at +%llu failed: %s\n", (unsigned long long)wc[i].wr_id,
					ibv_wc_status_str(wc[i].status));
				return -1;
			}
			inflight--;
		}
	}
	return 0;
}

static long verify(const uint8_t *buf, uint64_t va, uint64_t len)
{
	const uint64_t *w = (const uint64_t *)buf;
	uint64_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != tool_pattern(va + i * 8, PATTERN_SALT))
			return (long)(i * 8);
	return -1;
}

/*
 * As a target: the session, the connection and its handshake, and the one
 * range the source exports (@va, @len, @rkey).  2 if the session cannot be
 * set up, 1 if the source cannot be reached or exports something else.
 */
static int connect_export(const char *addr, int port, struct ctl_session *s, struct ctl_key *key, struct ctl_self *self,
			  struct rconn *c, uint64_t *va, uint64_t *len, uint32_t *rkey)
{
	RdmaCtlMsg *m;
	bool proven;

	if (session_init(s, key, self, "target"))
		return 2;
	if (rconn_connect(c, &CTL_RCONN_PARAMS(NULL, RCONN_FAIL_NONE, false), addr, port, TIMEOUT_MS) ||
	    ctl_handshake(c, s, TIMEOUT_MS, &proven))
		return 1;
	m = ctl_recv(c, RDMA_CTL_MSG__BODY_EXPORT, TIMEOUT_MS);
	if (!m)
		return 1;
	if (m->export->n_ranges != 1) {
		fprintf(stderr, "the source exports %zu ranges, this check reads exactly one\n", m->export->n_ranges);
		ctl_free(m);
		return 1;
	}
	*va = m->export->ranges[0]->va;
	*len = m->export->ranges[0]->len;
	*rkey = m->export->ranges[0]->rkey;
	ctl_free(m);
	return 0;
}

static int do_read(const char *addr, int port)
{
	unsigned long nreads = 0;
	struct ibv_mr *mr;
	struct ctl_session s;
	struct ctl_self self;
	struct ctl_key key;
	struct rconn c;
	uint64_t va, len;
	uint32_t rkey;
	uint8_t *buf;
	double t0, t;
	long bad;
	int i;

	if (connect_export(addr, port, &s, &key, &self, &c, &va, &len, &rkey))
		return 1;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	mr = rconn_reg(&c, buf, len, IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		return 1;
	t0 = now();
	if (read_range(&c, buf, mr, va, len, rkey, &nreads))
		return 1;
	t = now() - t0;
	bad = verify(buf, va, len);
	if (bad >= 0) {
		fprintf(stderr, "MISMATCH at remote va 0x%llx\n", (unsigned long long)(va + (uint64_t)bad));
		return 1;
	}
	printf("read %llu bytes in %lu READs, %.3f s, %.1f MB/s, all verified\n", (unsigned long long)len, nreads, t,
	       len / t / 1e6);
	/* Random single pages, as faults would ask for them. */
	memset(buf, 0, len);
	srand((unsigned int)getpid());
	for (i = 0; i < 64; i++) {
		uint64_t page = (uint64_t)rand() % (len / 4096);

		if (read_range(&c, buf + page * 4096, mr, va + page * 4096, 4096, rkey, &nreads) ||
		    verify(buf + page * 4096, va + page * 4096, 4096) >= 0) {
			fprintf(stderr, "random page %llu wrong\n", (unsigned long long)page);
			return 1;
		}
	}
	printf("64 random 4 KiB pages verified\n");

	if (ctl_send_close(&c, NULL))
		return 1;
	usleep(100000); /* let the SEND complete before tearing down */
	rconn_poll(&c, NULL, 0, 0);
	ibv_dereg_mr(mr);
	rconn_close(&c);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One 4 KiB READ of @page, busy-polled to its completion: its time in microseconds, or -1. */
static double one_read(struct rconn *c, uint8_t *buf, struct ibv_mr *mr, uint64_t va, uint32_t rkey, uint64_t page)
{
	struct ibv_wc wc;
	double t0 = now();
	int n;

	if (rconn_post_read(c, false, buf, mr->lkey, va + page * 4096, rkey, 4096, 1))
		return -1;
	while ((n = rconn_poll(c, &wc, 1, 0)) == 0)
		;
	if (n < 0 || wc.status != IBV_WC_SUCCESS || verify(buf, va + page * 4096, 4096) >= 0)
		return -1;
	return (now() - t0) * 1e6;
}

static int do_lat(const char *addr, int port, unsigned int n, unsigned int gap_us)
{
	static const char *const names[] = { "same page back to back", "random pages back to back",
					     "random pages apart" };
	struct ctl_session s;
	struct ctl_self self;
	struct ctl_key key;
	struct ibv_mr *mr;
	struct rconn c;
	uint64_t va, len;
	uint32_t rkey;
	uint8_t *buf;
	double *t;
	unsigned int mode, i;
	int ret;

	if (!n)
		return 2;
	ret = connect_export(addr, port, &s, &key, &self, &c, &va, &len, &rkey);
	if (ret)
		return ret;
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t = calloc(n, sizeof(*t));
	if (buf == MAP_FAILED || !t)
		return 1;
	mr = rconn_reg(&c, buf, 4096, IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		return 1;
	srand((unsigned int)getpid());
	for (mode = 0; mode < 3; mode++) {
		for (i = 0; i < n; i++) {
			if (mode == 2)
				usleep(gap_us);
			t[i] = one_read(&c, buf, mr, va, rkey, mode ? (uint64_t)rand() % (len / 4096) : 0);
			if (t[i] < 0) {
				fprintf(stderr, "READ %u (%s) failed\n", i, names[mode]);
				return 1;
			}
		}
		qsort(t, n, sizeof(*t), cmp_double);
		printf("lat %s: p50 %.1f us, p90 %.1f us (%u READs%s)\n", names[mode], t[n / 2], t[n * 9 / 10], n,
		       mode == 2 ? ", each after a sleep" : "");
	}
	if (ctl_send_close(&c, NULL))
		return 1;
	usleep(100000);
	rconn_poll(&c, NULL, 0, 0);
	ibv_dereg_mr(mr);
	rconn_close(&c);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return serve(argv[2], atoi(argv[3]), strtoul(argv[4], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "read"))
		return do_read(argv[2], atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "lat"))
		return do_lat(argv[2], atoi(argv[3]), (unsigned int)strtoul(argv[4], NULL, 0),
			      (unsigned int)strtoul(argv[5], NULL, 0));
	fprintf(stderr, "usage: %s serve ADDR PORT MIB | read ADDR PORT | lat ADDR PORT N GAP_US\n", argv[0]);
	return 2;
}
