// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the settings parser: CRIU_RDMA_* from the environment, the
 * defaults, the bounds of each setting, what is refused and that the refusal
 * names the variable, and the values logged once loaded.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ctl_proto.h"
#include "rdma_cfg.h"

/* Every setting the parser reads. */
static const char *const names[] = {
	"CRIU_RDMA_TIMEOUT_MS",
	"CRIU_RDMA_ACCEPT_TIMEOUT_MS",
	"CRIU_RDMA_READ_SIZE",
	"CRIU_RDMA_FAULT_SPIN_US",
	"CRIU_RDMA_FAULT_SPIN_ADAPTIVE",
	"CRIU_RDMA_FAULT_SPIN_IDLE_US",
	"CRIU_RDMA_CQ_ARM_LAZY",
	"CRIU_RDMA_FAULT_FIRST",
	"CRIU_RDMA_HANDOVER_KB",
	"CRIU_RDMA_BG_DEPTH",
	"CRIU_RDMA_URGE",
	"CRIU_RDMA_FAULT_BG_CAP",
	"CRIU_RDMA_FAULT_BG_HOLD_MS",
	"CRIU_RDMA_ONE_COPY",
	"CRIU_RDMA_STAGE_BUFFERS",
	"CRIU_RDMA_RECOVERY_S",
	"CRIU_RDMA_TARGETS",
	"CRIU_RDMA_ZERO_COPY",
	"CRIU_RDMA_NETNS",
	"CRIU_RDMA_SECRET",
	"CRIU_RDMA_KEY_FILE",
	"CRIU_RDMA_STATS",
	"CRIU_RDMA_SOURCE_STATS",
	"CRIU_RDMA_TEST_FAKE_VERSION",
	"CRIU_RDMA_TEST_FAKE_PAGE_SIZE",
	"CRIU_RDMA_TEST_REFUSE_ZERO_COPY",
	"CRIU_RDMA_TEST_FAKE_INSTANCE",
	"CRIU_RDMA_TEST_FAIL",
};

#define NR_NAMES (sizeof(names) / sizeof(names[0]))

/* What the last load wrote to stderr. */
static char logged_text[16384];

static void clear_env(void)
{
	size_t i;

	for (i = 0; i < NR_NAMES; i++)
		unsetenv(names[i]);
}

/* rdma_cfg_load with its stderr captured into logged_text. */
static int load(struct rdma_cfg *cfg)
{
	FILE *tmp = tmpfile();
	int saved, ret;
	size_t n;

	logged_text[0] = 0;
	fflush(stderr);
	saved = dup(2);
	if (!tmp || saved < 0 || dup2(fileno(tmp), 2) < 0) {
		fprintf(stderr, "cannot capture stderr\n");
		exit(2);
	}
	ret = rdma_cfg_load(cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(logged_text, 1, sizeof(logged_text) - 1, tmp);
	logged_text[n] = 0;
	fclose(tmp);
	return ret;
}

/* Loads with only @name set to @value (NULL: nothing set). */
static int load_with(const char *name, const char *value, struct rdma_cfg *cfg)
{
	clear_env();
	if (name && value)
		setenv(name, value, 1);
	return load(cfg);
}

static bool logged(const char *s)
{
	return strstr(logged_text, s) != NULL;
}

/* @name=@value refused, with a message naming @name. */
static bool refused(const char *name, const char *value)
{
	struct rdma_cfg cfg;

	if (load_with(name, value, &cfg) != -1)
		return false;
	if (!logged(name)) {
		fprintf(stderr, "refusing %s=%s did not name it: %s\n", name, value, logged_text);
		return false;
	}
	return true;
}

static void test_defaults(void)
{
	struct rdma_cfg cfg;
	size_t i;

	memset(&cfg, 0x5a, sizeof(cfg));
	CHECK(load_with(NULL, NULL, &cfg) == 0);
	CHECK(cfg.timeout_ms == 10000);
	CHECK(cfg.accept_timeout_ms == 600000);
	CHECK(cfg.read_size == 262144);
	CHECK(cfg.fault_spin_us == 1000 && cfg.fault_spin_adaptive && cfg.fault_spin_idle_us == 10000);
	CHECK(cfg.fault_bg_cap == 2 && cfg.one_copy && cfg.stage_buffers == 3);
	CHECK(cfg.recovery_s == 120);
	CHECK(cfg.targets == 1 && cfg.fake_instance == 0);
	CHECK(cfg.zero_copy == true);
	CHECK(cfg.netns == NULL && cfg.secret == NULL && cfg.stats == NULL && cfg.source_stats == NULL);
	CHECK(cfg.fake_version == 0 && cfg.fake_page_size == 0);
	CHECK(cfg.refuse_zero_copy == false);
	CHECK(cfg.fail == RCONN_FAIL_NONE);

	/* the values in force are logged, the test hook only when set */
	CHECK(logged("param CRIU_RDMA_READ_SIZE=262144\n"));
	CHECK(logged("param CRIU_RDMA_TIMEOUT_MS=10000\n"));
	CHECK(logged("param CRIU_RDMA_ACCEPT_TIMEOUT_MS=600000\n"));
	CHECK(logged("param CRIU_RDMA_FAULT_SPIN_US=1000\n"));
	CHECK(logged("param CRIU_RDMA_FAULT_SPIN_ADAPTIVE=1\n"));
	CHECK(logged("param CRIU_RDMA_FAULT_SPIN_IDLE_US=10000\n"));
	CHECK(logged("param CRIU_RDMA_CQ_ARM_LAZY=1\n"));
	CHECK(logged("param CRIU_RDMA_FAULT_FIRST=1\n"));
	CHECK(logged("param CRIU_RDMA_HANDOVER_KB=64\n"));
	CHECK(logged("param CRIU_RDMA_BG_DEPTH=2\n"));
	CHECK(logged("param CRIU_RDMA_URGE=1\n"));
	CHECK(logged("param CRIU_RDMA_FAULT_BG_CAP=2\n"));
	CHECK(logged("param CRIU_RDMA_FAULT_BG_HOLD_MS=20\n"));
	CHECK(logged("param CRIU_RDMA_ONE_COPY=1\n"));
	CHECK(logged("param CRIU_RDMA_STAGE_BUFFERS=3\n"));
	CHECK(logged("param CRIU_RDMA_RECOVERY_S=120\n"));
	CHECK(logged("param CRIU_RDMA_TARGETS=1\n"));
	CHECK(logged("param CRIU_RDMA_ZERO_COPY=1\n"));
	CHECK(logged("param CRIU_RDMA_NETNS=(unset)\n"));
	CHECK(logged("param CRIU_RDMA_SECRET=(unset)\n"));
	CHECK(!logged("CRIU_RDMA_TEST_FAIL"));

	/* empty means unset: the defaults again */
	clear_env();
	for (i = 0; i < NR_NAMES; i++)
		setenv(names[i], "", 1);
	memset(&cfg, 0x5a, sizeof(cfg));
	CHECK(load(&cfg) == 0);
	CHECK(cfg.timeout_ms == 10000 && cfg.accept_timeout_ms == 600000 && cfg.read_size == 262144);
	CHECK(cfg.fault_spin_us == 1000 && cfg.zero_copy && !cfg.refuse_zero_copy && cfg.one_copy);
	CHECK(cfg.fault_spin_idle_us == 10000 && cfg.cq_arm_lazy && cfg.fault_first && cfg.handover_kb == 64);
	CHECK(cfg.netns == NULL && cfg.secret == NULL && cfg.stats == NULL && cfg.source_stats == NULL);
	CHECK(cfg.fake_version == 0 && cfg.fake_page_size == 0 && cfg.fail == RCONN_FAIL_NONE);
}

/* The int settings: bounds taken, one past refused, not numbers refused. */
static void test_ints(void)
{
	static const struct {
		const char *name;
		long min, max;
		size_t off;
	} ints[] = {
		{ "CRIU_RDMA_TIMEOUT_MS", 1, 3600000, offsetof(struct rdma_cfg, timeout_ms) },
		{ "CRIU_RDMA_ACCEPT_TIMEOUT_MS", 1, 86400000, offsetof(struct rdma_cfg, accept_timeout_ms) },
		{ "CRIU_RDMA_FAULT_SPIN_US", 0, 1000000, offsetof(struct rdma_cfg, fault_spin_us) },
		{ "CRIU_RDMA_FAULT_SPIN_IDLE_US", 0, 1000000, offsetof(struct rdma_cfg, fault_spin_idle_us) },
		{ "CRIU_RDMA_FAULT_BG_CAP", 0, 65536, offsetof(struct rdma_cfg, fault_bg_cap) },
		{ "CRIU_RDMA_HANDOVER_KB", 0, 4096, offsetof(struct rdma_cfg, handover_kb) },
		{ "CRIU_RDMA_BG_DEPTH", 0, 65536, offsetof(struct rdma_cfg, bg_depth) },
		{ "CRIU_RDMA_FAULT_BG_HOLD_MS", 0, 60000, offsetof(struct rdma_cfg, fault_bg_hold_ms) },
		{ "CRIU_RDMA_STAGE_BUFFERS", 0, 32, offsetof(struct rdma_cfg, stage_buffers) },
		{ "CRIU_RDMA_RECOVERY_S", 0, 86400, offsetof(struct rdma_cfg, recovery_s) },
		{ "CRIU_RDMA_TARGETS", 1, RDMA_CFG_TARGETS_MAX, offsetof(struct rdma_cfg, targets) },
	};
	static const char *const not_numbers[] = { "abc", "12abc", "12 ", "1.5",
						   "0x",  "--1",   "1e3", "99999999999999999999" };
	struct rdma_cfg cfg;
	char v[64];
	size_t i, j;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		const char *n = ints[i].name;
		const int *field = (const int *)((const char *)&cfg + ints[i].off);

		snprintf(v, sizeof(v), "%ld", ints[i].min);
		CHECK(load_with(n, v, &cfg) == 0 && *field == ints[i].min);
		snprintf(v, sizeof(v), "%ld", ints[i].max);
		CHECK(load_with(n, v, &cfg) == 0 && *field == ints[i].max);
		snprintf(v, sizeof(v), "param %s=%ld\n", n, ints[i].max);
		CHECK(logged(v));
		snprintf(v, sizeof(v), "%ld", ints[i].min + 1);
		CHECK(load_with(n, v, &cfg) == 0 && *field == ints[i].min + 1);

		snprintf(v, sizeof(v), "%ld", ints[i].min - 1);
		CHECK(refused(n, v));
		CHECK(logged("out of range"));
		snprintf(v, sizeof(v), "%ld", ints[i].max + 1);
		CHECK(refused(n, v));
		CHECK(logged("out of range"));
		CHECK(refused(n, "-1000"));
		CHECK(refused(n, "4294967296"));
		for (j = 0; j < sizeof(not_numbers) / sizeof(not_numbers[0]); j++) {
			CHECK(refused(n, not_numbers[j]));
			if (!logged(n))
				fprintf(stderr, "  (%s=%s)\n", n, not_numbers[j]);
		}
	}

	/* 0x hex */
	CHECK(load_with("CRIU_RDMA_TIMEOUT_MS", "0x2710", &cfg) == 0 && cfg.timeout_ms == 10000);
	CHECK(load_with("CRIU_RDMA_FAULT_SPIN_US", "0X64", &cfg) == 0 && cfg.fault_spin_us == 100);
	CHECK(refused("CRIU_RDMA_TIMEOUT_MS", "0x36EE81")); /* 3600001 */
	CHECK(refused("CRIU_RDMA_TIMEOUT_MS", "0xg"));

	/*
	 * "A whole decimal (or 0x) number" (rdma_cfg.c): a leading zero is
	 * still decimal, not octal, and 08 is eight.
	 */
	CHECK(load_with("CRIU_RDMA_TIMEOUT_MS", "010", &cfg) == 0 && cfg.timeout_ms == 10);
	CHECK(load_with("CRIU_RDMA_FAULT_SPIN_US", "08", &cfg) == 0 && cfg.fault_spin_us == 8);
}

static void test_u32s(void)
{
	struct rdma_cfg cfg;

	CHECK(load_with("CRIU_RDMA_TEST_FAKE_VERSION", "0", &cfg) == 0 && cfg.fake_version == 0);
	CHECK(load_with("CRIU_RDMA_TEST_FAKE_VERSION", "4294967295", &cfg) == 0 && cfg.fake_version == UINT32_MAX);
	CHECK(logged("param CRIU_RDMA_TEST_FAKE_VERSION=4294967295\n"));
	CHECK(load_with("CRIU_RDMA_TEST_FAKE_VERSION", "0xffffffff", &cfg) == 0 && cfg.fake_version == UINT32_MAX);
	CHECK(refused("CRIU_RDMA_TEST_FAKE_VERSION", "4294967296"));
	CHECK(refused("CRIU_RDMA_TEST_FAKE_VERSION", "-1"));
	CHECK(refused("CRIU_RDMA_TEST_FAKE_VERSION", "abc"));

	CHECK(load_with("CRIU_RDMA_TEST_FAKE_PAGE_SIZE", "1073741824", &cfg) == 0 && cfg.fake_page_size == 1U << 30);
	CHECK(load_with("CRIU_RDMA_TEST_FAKE_PAGE_SIZE", "65536", &cfg) == 0 && cfg.fake_page_size == 65536);
	CHECK(refused("CRIU_RDMA_TEST_FAKE_PAGE_SIZE", "1073741825"));
	CHECK(refused("CRIU_RDMA_TEST_FAKE_PAGE_SIZE", "-1"));
	CHECK(refused("CRIU_RDMA_TEST_FAKE_PAGE_SIZE", "12abc"));

	CHECK(load_with("CRIU_RDMA_TEST_FAKE_INSTANCE", "7", &cfg) == 0 && cfg.fake_instance == 7);
	CHECK(refused("CRIU_RDMA_TEST_FAKE_INSTANCE", "-1"));
}

/* How many targets one dump serves: 1 to RDMA_CFG_TARGETS_MAX, the bad value named. */
static void test_targets(void)
{
	struct rdma_cfg cfg;

	CHECK(RDMA_CFG_TARGETS_MAX == 64);
	CHECK(load_with("CRIU_RDMA_TARGETS", "4", &cfg) == 0 && cfg.targets == 4);
	CHECK(logged("param CRIU_RDMA_TARGETS=4\n"));
	CHECK(refused("CRIU_RDMA_TARGETS", "0"));
	CHECK(logged("CRIU_RDMA_TARGETS=0 is out of range: 1 to 64 targets"));
	CHECK(refused("CRIU_RDMA_TARGETS", "65"));
	CHECK(logged("CRIU_RDMA_TARGETS=65 is out of range"));
	CHECK(refused("CRIU_RDMA_TARGETS", "many"));
	CHECK(logged("CRIU_RDMA_TARGETS=many is not a number"));
}

static void test_read_size(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct rdma_cfg cfg;

	CHECK(refused("CRIU_RDMA_READ_SIZE", "0"));
	CHECK(refused("CRIU_RDMA_READ_SIZE", "-4096"));
	CHECK(refused("CRIU_RDMA_READ_SIZE", "4095"));
	if (page == 4096) {
		CHECK(load_with("CRIU_RDMA_READ_SIZE", "4096", &cfg) == 0 && cfg.read_size == 4096);
		CHECK(logged("param CRIU_RDMA_READ_SIZE=4096\n"));
		CHECK(load_with("CRIU_RDMA_READ_SIZE", "8192", &cfg) == 0 && cfg.read_size == 8192);
		CHECK(load_with("CRIU_RDMA_READ_SIZE", "0x1000", &cfg) == 0 && cfg.read_size == 4096);
	}
	/* in range, but not a whole number of pages */
	CHECK(refused("CRIU_RDMA_READ_SIZE", "6000"));
	CHECK(logged("page"));
	CHECK(refused("CRIU_RDMA_READ_SIZE", "262145"));
	CHECK(load_with("CRIU_RDMA_READ_SIZE", "16777216", &cfg) == 0 && cfg.read_size == 16 << 20);
	CHECK(refused("CRIU_RDMA_READ_SIZE", "16781312")); /* 16 MiB + 4096 */
	CHECK(refused("CRIU_RDMA_READ_SIZE", "33554432"));
	CHECK(refused("CRIU_RDMA_READ_SIZE", "abc"));
	CHECK(refused("CRIU_RDMA_READ_SIZE", "256k"));
}

static void test_bools(void)
{
	static const char *const bad[] = { "2", "-1", "yes", "true", "on", "01x" };
	struct rdma_cfg cfg;
	size_t i;

	CHECK(load_with("CRIU_RDMA_ZERO_COPY", "0", &cfg) == 0 && cfg.zero_copy == false);
	CHECK(logged("param CRIU_RDMA_ZERO_COPY=0\n"));
	CHECK(load_with("CRIU_RDMA_ZERO_COPY", "1", &cfg) == 0 && cfg.zero_copy == true);
	CHECK(load_with("CRIU_RDMA_TEST_REFUSE_ZERO_COPY", "1", &cfg) == 0 && cfg.refuse_zero_copy == true);
	CHECK(load_with("CRIU_RDMA_ONE_COPY", "0", &cfg) == 0 && cfg.one_copy == false);
	CHECK(load_with("CRIU_RDMA_FAULT_SPIN_ADAPTIVE", "0", &cfg) == 0 && !cfg.fault_spin_adaptive);
	CHECK(load_with("CRIU_RDMA_CQ_ARM_LAZY", "0", &cfg) == 0 && !cfg.cq_arm_lazy);
	CHECK(load_with("CRIU_RDMA_FAULT_FIRST", "0", &cfg) == 0 && !cfg.fault_first);
	CHECK(load_with("CRIU_RDMA_URGE", "0", &cfg) == 0 && !cfg.urge);
	CHECK(cfg.zero_copy == true);
	CHECK(load_with("CRIU_RDMA_TEST_REFUSE_ZERO_COPY", "0", &cfg) == 0 && cfg.refuse_zero_copy == false);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(refused("CRIU_RDMA_ZERO_COPY", bad[i]));
		CHECK(refused("CRIU_RDMA_TEST_REFUSE_ZERO_COPY", bad[i]));
		CHECK(refused("CRIU_RDMA_CQ_ARM_LAZY", bad[i]));
		CHECK(refused("CRIU_RDMA_FAULT_FIRST", bad[i]));
		CHECK(refused("CRIU_RDMA_URGE", bad[i]));
	}
}

static void test_paths(void)
{
	static const char *const paths[] = { "CRIU_RDMA_NETNS", "CRIU_RDMA_STATS", "CRIU_RDMA_SOURCE_STATS" };
	struct rdma_cfg cfg;
	char line[256];
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *n = paths[i];

		CHECK(refused(n, "relative/file"));
		CHECK(refused(n, "file"));
		CHECK(refused(n, "./file"));
		CHECK(refused(n, "~/file"));
		CHECK(load_with(n, "/run/netns/blue", &cfg) == 0);
		CHECK((i == 0 ? cfg.netns : i == 1 ? cfg.stats : cfg.source_stats) != NULL);
		CHECK(!strcmp(i == 0 ? cfg.netns : i == 1 ? cfg.stats : cfg.source_stats, "/run/netns/blue"));
		/* only that one is set */
		CHECK((cfg.netns != NULL) + (cfg.stats != NULL) + (cfg.source_stats != NULL) == 1);
		snprintf(line, sizeof(line), "param %s=/run/netns/blue\n", n);
		CHECK(logged(line));
	}
	CHECK(load_with("CRIU_RDMA_NETNS", "/", &cfg) == 0 && cfg.netns && !strcmp(cfg.netns, "/"));
}

static void test_secret(void)
{
	char secret[RDMA_CFG_SECRET_MAX + 2];
	struct rdma_cfg cfg;

	CHECK(RDMA_CFG_SECRET_MAX == 256);
	memset(secret, 's', sizeof(secret) - 1);
	secret[sizeof(secret) - 1] = 0;
	/* 256 bytes: taken whole */
	secret[RDMA_CFG_SECRET_MAX] = 0;
	CHECK(load_with("CRIU_RDMA_SECRET", secret, &cfg) == 0);
	CHECK(cfg.secret && strlen(cfg.secret) == RDMA_CFG_SECRET_MAX && !strcmp(cfg.secret, secret));
	/* logged only as set, never the secret itself */
	CHECK(logged("param CRIU_RDMA_SECRET=(set)\n"));
	CHECK(!logged("ssssssss"));
	/* 257 bytes: refused, not cut */
	secret[RDMA_CFG_SECRET_MAX] = 's';
	CHECK(refused("CRIU_RDMA_SECRET", secret));
	CHECK(!logged("ssssssss"));

	/* shorter than a key may be: refused */
	CHECK(refused("CRIU_RDMA_SECRET", "fifteen-bytes!!"));
	CHECK(load_with("CRIU_RDMA_SECRET", "sixteen-bytes!!!", &cfg) == 0 && cfg.secret &&
	      !strcmp(cfg.secret, "sixteen-bytes!!!"));
	/* a secret need not be a path */
	CHECK(load_with("CRIU_RDMA_SECRET", "not/absolute/at/all", &cfg) == 0);
	/* a key file must be */
	CHECK(refused("CRIU_RDMA_KEY_FILE", "key"));
	CHECK(load_with("CRIU_RDMA_KEY_FILE", "/etc/criu-rdma.key", &cfg) == 0 && cfg.key_file &&
	      !strcmp(cfg.key_file, "/etc/criu-rdma.key"));
}

static void test_fail(void)
{
	struct rdma_cfg cfg;

	CHECK(load_with("CRIU_RDMA_TEST_FAIL", "ctl-reg", &cfg) == 0 && cfg.fail == RCONN_FAIL_CTL_REG);
	/* a test hook in force is worth a warning */
	CHECK(logged("CRIU_RDMA_TEST_FAIL=ctl-reg"));
	CHECK(load_with("CRIU_RDMA_TEST_FAIL", "notify-cq", &cfg) == 0 && cfg.fail == RCONN_FAIL_NOTIFY_CQ);
	CHECK(logged("CRIU_RDMA_TEST_FAIL=notify-cq"));
	CHECK(load_with("CRIU_RDMA_TEST_FAIL", "none", &cfg) == 0 && cfg.fail == RCONN_FAIL_NONE);
	CHECK(refused("CRIU_RDMA_TEST_FAIL", "bogus"));
	CHECK(refused("CRIU_RDMA_TEST_FAIL", "ctl-reg "));
	CHECK(refused("CRIU_RDMA_TEST_FAIL", "ctl"));
	CHECK(refused("CRIU_RDMA_TEST_FAIL", "1"));
}

/* Everything set at once, each to a value other than its default. */
static void test_all(void)
{
	struct rdma_cfg cfg;

	clear_env();
	setenv("CRIU_RDMA_TIMEOUT_MS", "1234", 1);
	setenv("CRIU_RDMA_ACCEPT_TIMEOUT_MS", "5678", 1);
	setenv("CRIU_RDMA_READ_SIZE", "1048576", 1);
	setenv("CRIU_RDMA_FAULT_SPIN_US", "50", 1);
	setenv("CRIU_RDMA_ZERO_COPY", "0", 1);
	setenv("CRIU_RDMA_NETNS", "/proc/1/ns/net", 1);
	setenv("CRIU_RDMA_SECRET", "hunter2-hunter2-hunter2", 1);
	setenv("CRIU_RDMA_STATS", "/tmp/t.stats", 1);
	setenv("CRIU_RDMA_SOURCE_STATS", "/tmp/s.stats", 1);
	setenv("CRIU_RDMA_TEST_FAKE_VERSION", "99", 1);
	setenv("CRIU_RDMA_TEST_FAKE_PAGE_SIZE", "8192", 1);
	setenv("CRIU_RDMA_TEST_REFUSE_ZERO_COPY", "1", 1);
	setenv("CRIU_RDMA_TEST_FAIL", "notify-cq", 1);
	CHECK(load(&cfg) == 0);
	CHECK(cfg.timeout_ms == 1234 && cfg.accept_timeout_ms == 5678 && cfg.read_size == 1048576);
	CHECK(cfg.fault_spin_us == 50 && !cfg.zero_copy && cfg.refuse_zero_copy);
	CHECK(cfg.netns && !strcmp(cfg.netns, "/proc/1/ns/net"));
	CHECK(cfg.secret && !strcmp(cfg.secret, "hunter2-hunter2-hunter2"));
	CHECK(cfg.stats && !strcmp(cfg.stats, "/tmp/t.stats"));
	CHECK(cfg.source_stats && !strcmp(cfg.source_stats, "/tmp/s.stats"));
	CHECK(cfg.fake_version == 99 && cfg.fake_page_size == 8192 && cfg.fail == RCONN_FAIL_NOTIFY_CQ);
	CHECK(logged("param CRIU_RDMA_READ_SIZE=1048576\n"));
	CHECK(logged("param CRIU_RDMA_TIMEOUT_MS=1234\n"));
	CHECK(!logged("hunter2"));

	/* one bad value among good ones fails the whole load */
	setenv("CRIU_RDMA_SOURCE_STATS", "s.stats", 1);
	CHECK(load(&cfg) == -1 && logged("CRIU_RDMA_SOURCE_STATS"));
}

static void test_self(void)
{
	struct ctl_self self;
	struct rdma_cfg cfg;

	CHECK(load_with(NULL, NULL, &cfg) == 0);
	rdma_cfg_self(&cfg, "target", &self);
	CHECK(self.version == RDMA_CTL_VERSION);
	CHECK(self.page_size == (uint32_t)sysconf(_SC_PAGESIZE));
	CHECK(self.role && !strcmp(self.role, "target"));

	clear_env();
	setenv("CRIU_RDMA_TEST_FAKE_VERSION", "7", 1);
	setenv("CRIU_RDMA_TEST_FAKE_PAGE_SIZE", "65536", 1);
	CHECK(load(&cfg) == 0);
	rdma_cfg_self(&cfg, "source", &self);
	CHECK(self.version == 7 && self.page_size == 65536);
	CHECK(self.role && !strcmp(self.role, "source"));

	/* only the version faked */
	clear_env();
	setenv("CRIU_RDMA_TEST_FAKE_VERSION", "3", 1);
	CHECK(load(&cfg) == 0);
	rdma_cfg_self(&cfg, "target", &self);
	CHECK(self.version == 3 && self.page_size == (uint32_t)sysconf(_SC_PAGESIZE));
}

/* A heartbeat every quarter of the silence that loses the peer, within [1 ms, 1 s]. */
static void test_heartbeat(void)
{
	struct rdma_cfg cfg = { 0 };

	cfg.timeout_ms = 2000;
	CHECK(rdma_cfg_heartbeat_ms(&cfg) == 500);
	cfg.timeout_ms = 10000;
	CHECK(rdma_cfg_heartbeat_ms(&cfg) == 1000);
	cfg.timeout_ms = 3;
	CHECK(rdma_cfg_heartbeat_ms(&cfg) == 1);
	cfg.timeout_ms = 1;
	CHECK(rdma_cfg_heartbeat_ms(&cfg) == 1);
}

int main(void)
{
	/* info lines on, so the values in force are logged */
	setenv("CRIU_RDMA_LOGLEVEL", "4", 1);

	test_defaults();
	test_heartbeat();
	test_ints();
	test_u32s();
	test_targets();
	test_read_size();
	test_bools();
	test_paths();
	test_secret();
	test_fail();
	test_all();
	test_self();
	clear_env();
	return check_report("rdma_cfg");
}
