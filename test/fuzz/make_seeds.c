// SPDX-License-Identifier: GPL-2.0-only
/* make-seeds DIR: writes the fuzzer's seed corpus, one well-formed (or nearly) message per file. */
#include <stdio.h>
#include <string.h>

#include "ctl_proto.h"

static const char *dir;

static void save(const char *name, const RdmaCtlMsg *m)
{
	static uint8_t buf[RDMA_CTL_MAX_MSG];
	ssize_t len = ctl_pack(m, buf, sizeof(buf));
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || len < 0 || fwrite(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		return;
	}
	fclose(f);
}

static void hellos(void)
{
	static const uint8_t nonce[CTL_NONCE_LEN] = { 1, 2, 3 }, instance[CTL_INSTANCE_LEN] = { 4, 5, 6 };
	struct ctl_self self;
	RdmaCtlMsg m;
	RdmaHello h;

	ctl_self_init(&self, "target");
	self.instance = instance;
	ctl_hello_build(&m, &h, &self, nonce);
	save("hello-target", &m);
	h.instance.len = CTL_INSTANCE_LEN - 1;
	save("hello-short-instance", &m);
	h.instance.len = CTL_INSTANCE_LEN;
	h.role = NULL;
	save("hello-no-role", &m);
	h.has_nonce = 0;
	save("hello-v2", &m);
}

static void auth(void)
{
	static const uint8_t proof[CTL_PROOF_LEN] = { 9, 8, 7 };
	RdmaCtlMsg m;
	RdmaAuth a;

	ctl_auth_build(&m, &a, proof, false);
	save("auth", &m);
	a.lane = true;
	save("auth-lane", &m);
}

static void exports(void)
{
	RdmaRange r[3], *rp[3] = { &r[0], &r[1], &r[2] };
	RdmaCtlMsg m;
	RdmaExport e;
	int i;

	rdma_ctl_msg__init(&m);
	rdma_export__init(&e);
	for (i = 0; i < 3; i++) {
		rdma_range__init(&r[i]);
		r[i].va = 0x7f0000000000ULL + (uint64_t)i * 0x10000;
		r[i].len = 0x4000;
		r[i].rkey = 0x100 + (uint32_t)i;
	}
	e.task_id = 1;
	e.ranges = rp;
	e.n_ranges = 3;
	e.last = 1;
	m.body_case = RDMA_CTL_MSG__BODY_EXPORT;
	m.export = &e;
	save("export-3", &m);
	r[1].va = r[0].va + 0x1000;
	save("export-overlap", &m);
}

static void others(void)
{
	RdmaCtlMsg m;
	RdmaTaskDone td;
	RdmaClose cl;

	rdma_ctl_msg__init(&m);
	rdma_task_done__init(&td);
	td.task_id = 1;
	td.has_pid = 1;
	td.pid = 1234;
	m.body_case = RDMA_CTL_MSG__BODY_TASK_DONE;
	m.task_done = &td;
	save("task-done", &m);
	rdma_close__init(&cl);
	cl.error = "the target's lazy-pages daemon failed\x1b[2J";
	m.body_case = RDMA_CTL_MSG__BODY_CLOSE;
	m.close = &cl;
	save("close-error", &m);
	{
		RdmaHeartbeat hb;

		ctl_heartbeat_build(&m, &hb, 7);
		save("heartbeat", &m);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	hellos();
	auth();
	exports();
	others();
	return 0;
}
