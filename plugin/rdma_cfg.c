// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdma_cfg.h"
#include "rdma_log.h"

enum cfg_kind { CFG_INT, CFG_U32, CFG_BOOL, CFG_PATH, CFG_SECRET, CFG_FAIL };

/* One setting: its variable, where it goes, its default and what it accepts. */
struct cfg_param {
	const char *name;
	enum cfg_kind kind;
	size_t off;
	long def, min, max;
	const char *unit;
};

#define P_INT(n, f, d, lo, hi, u)                                      \
	{                                                              \
		n, CFG_INT, offsetof(struct rdma_cfg, f), d, lo, hi, u \
	}
#define P_U32(n, f, d, lo, hi, u)                                      \
	{                                                              \
		n, CFG_U32, offsetof(struct rdma_cfg, f), d, lo, hi, u \
	}
#define P_BOOL(n, f, d)                                                \
	{                                                              \
		n, CFG_BOOL, offsetof(struct rdma_cfg, f), d, 0, 1, "" \
	}
#define P_STR(n, k, f)                                          \
	{                                                       \
		n, k, offsetof(struct rdma_cfg, f), 0, 0, 0, "" \
	}

static const struct cfg_param params[] = {
	P_INT("CRIU_RDMA_TIMEOUT_MS", timeout_ms, 10000, 1, 3600000, " ms"),
	P_INT("CRIU_RDMA_ACCEPT_TIMEOUT_MS", accept_timeout_ms, 600000, 1, 86400000, " ms"),
	P_U32("CRIU_RDMA_READ_SIZE", read_size, 256 * 1024, 4096, 16 << 20, " bytes"),
	P_INT("CRIU_RDMA_FAULT_SPIN_US", fault_spin_us, 1000, 0, 1000000, " us"),
	P_BOOL("CRIU_RDMA_FAULT_SPIN_ADAPTIVE", fault_spin_adaptive, 1),
	P_INT("CRIU_RDMA_FAULT_SPIN_IDLE_US", fault_spin_idle_us, 10000, 0, 1000000, " us"),
	P_BOOL("CRIU_RDMA_CQ_ARM_LAZY", cq_arm_lazy, 1),
	P_BOOL("CRIU_RDMA_FAULT_FIRST", fault_first, 1),
	P_BOOL("CRIU_RDMA_POST_THREAD", post_thread, 1),
	P_INT("CRIU_RDMA_HANDOVER_KB", handover_kb, 64, 0, 4096, " KiB"),
	P_INT("CRIU_RDMA_BG_DEPTH", bg_depth, 2, 0, 65536, " READs"),
	P_BOOL("CRIU_RDMA_URGE", urge, 1),
	P_INT("CRIU_RDMA_FAULT_BG_CAP", fault_bg_cap, 2, 0, 65536, " READs"),
	P_INT("CRIU_RDMA_FAULT_BG_HOLD_MS", fault_bg_hold_ms, 20, 0, 60000, " ms"),
	P_BOOL("CRIU_RDMA_ONE_COPY", one_copy, 1),
	P_INT("CRIU_RDMA_STAGE_BUFFERS", stage_buffers, 3, 0, 32, ""),
	P_INT("CRIU_RDMA_RECOVERY_S", recovery_s, 120, 0, 86400, " s"),
	P_INT("CRIU_RDMA_TARGETS", targets, 1, 1, RDMA_CFG_TARGETS_MAX, " targets"),
	P_BOOL("CRIU_RDMA_ZERO_COPY", zero_copy, 1),
	P_STR("CRIU_RDMA_NETNS", CFG_PATH, netns),
	P_STR("CRIU_RDMA_SECRET", CFG_SECRET, secret),
	P_STR("CRIU_RDMA_KEY_FILE", CFG_PATH, key_file),
	P_STR("CRIU_RDMA_STATS", CFG_PATH, stats),
	P_STR("CRIU_RDMA_SOURCE_STATS", CFG_PATH, source_stats),
	P_U32("CRIU_RDMA_TEST_FAKE_VERSION", fake_version, 0, 0, UINT32_MAX, ""),
	P_U32("CRIU_RDMA_TEST_FAKE_PAGE_SIZE", fake_page_size, 0, 0, 1 << 30, ""),
	P_BOOL("CRIU_RDMA_TEST_REFUSE_ZERO_COPY", refuse_zero_copy, 0),
	P_U32("CRIU_RDMA_TEST_FAKE_INSTANCE", fake_instance, 0, 0, UINT32_MAX, ""),
	P_STR("CRIU_RDMA_TEST_FAIL", CFG_FAIL, fail),
};

static const char *const fail_names[] = {
	[RCONN_FAIL_NONE] = "none",
	[RCONN_FAIL_CTL_REG] = "ctl-reg",
	[RCONN_FAIL_NOTIFY_CQ] = "notify-cq",
};

/* A whole decimal (or 0x) number in [min, max], nothing after it. */
static int parse_long(const struct cfg_param *p, const char *v, long *out)
{
	char *end;

	bool hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');

	/* base 0 would read "010" as octal 8: decimal unless it says 0x */
	errno = 0;
	*out = strtol(v, &end, hex ? 16 : 10);
	if (errno || end == v || *end || !(hex || v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))) {
		pr_err("%s=%s is not a number\n", p->name, v);
		return -1;
	}
	if (*out < p->min || *out > p->max) {
		pr_err("%s=%s is out of range: %ld to %ld%s\n", p->name, v, p->min, p->max, p->unit);
		return -1;
	}
	return 0;
}

static void store_int(struct rdma_cfg *cfg, const struct cfg_param *p, long v)
{
	void *f = (char *)cfg + p->off;

	switch (p->kind) {
	case CFG_BOOL:
		*(bool *)f = v;
		break;
	case CFG_FAIL:
		*(enum rconn_fail *)f = (enum rconn_fail)v;
		break;
	case CFG_U32:
		*(uint32_t *)f = (uint32_t)v;
		break;
	default:
		*(int *)f = (int)v;
	}
}

static int parse_fail(const struct cfg_param *p, const char *v, long *out)
{
	size_t i;

	for (i = 0; i < sizeof(fail_names) / sizeof(fail_names[0]); i++)
		if (!strcmp(v, fail_names[i])) {
			*out = (long)i;
			return 0;
		}
	pr_err("%s=%s: unknown failure point (ctl-reg, notify-cq)\n", p->name, v);
	return -1;
}

static int parse_string(struct rdma_cfg *cfg, const struct cfg_param *p, const char *v)
{
	if (p->kind == CFG_SECRET && (strlen(v) < RDMA_CFG_SECRET_MIN || strlen(v) > RDMA_CFG_SECRET_MAX)) {
		pr_err("%s is %zu bytes long; %d to %d are taken\n", p->name, strlen(v), RDMA_CFG_SECRET_MIN,
		       RDMA_CFG_SECRET_MAX);
		return -1;
	}
	if (p->kind == CFG_PATH && v[0] != '/') {
		pr_err("%s=%s: an absolute path is needed\n", p->name, v);
		return -1;
	}
	*(const char **)((char *)cfg + p->off) = v;
	return 0;
}

static int parse_one(struct rdma_cfg *cfg, const struct cfg_param *p, const char *v)
{
	long n = p->def;

	switch (p->kind) {
	case CFG_PATH:
	case CFG_SECRET:
		return v ? parse_string(cfg, p, v) : 0;
	case CFG_FAIL:
		if (v && parse_fail(p, v, &n))
			return -1;
		break;
	default:
		if (v && parse_long(p, v, &n))
			return -1;
	}
	store_int(cfg, p, n);
	return 0;
}

static void log_one(const struct rdma_cfg *cfg, const struct cfg_param *p)
{
	const void *f = (const char *)cfg + p->off;

	switch (p->kind) {
	case CFG_PATH:
		pr_info("param %s=%s\n", p->name, *(const char *const *)f ?: "(unset)");
		break;
	case CFG_SECRET:
		pr_info("param %s=%s\n", p->name, *(const char *const *)f ? "(set)" : "(unset)");
		break;
	case CFG_BOOL:
		pr_info("param %s=%d\n", p->name, *(const bool *)f);
		break;
	case CFG_FAIL:
		if (cfg->fail != RCONN_FAIL_NONE)
			pr_warn("param %s=%s (a test hook)\n", p->name, fail_names[cfg->fail]);
		break;
	case CFG_U32:
		pr_info("param %s=%u\n", p->name, *(const uint32_t *)f);
		break;
	default:
		pr_info("param %s=%d\n", p->name, *(const int *)f);
	}
}

int rdma_cfg_load(struct rdma_cfg *cfg)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const char *v = getenv(params[i].name);

		if (parse_one(cfg, &params[i], v && *v ? v : NULL))
			return -1;
	}
	if (cfg->read_size % page) {
		pr_err("CRIU_RDMA_READ_SIZE=%u is not a multiple of the page size (%ld)\n", cfg->read_size, page);
		return -1;
	}
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		log_one(cfg, &params[i]);
	return 0;
}

void rdma_cfg_self(const struct rdma_cfg *cfg, const char *role, struct ctl_self *self)
{
	ctl_self_init(self, role);
	if (cfg->fake_version)
		self->version = cfg->fake_version;
	if (cfg->fake_page_size)
		self->page_size = cfg->fake_page_size;
}

int rdma_cfg_session(const struct rdma_cfg *cfg, const char *role, int dirfd, struct rdma_session *out)
{
	bool source = !strcmp(role, "source");
	const char *from;
	char why[256];

	if (ctl_key_load(cfg->secret, cfg->key_file, dirfd, source, &out->key, &from, why, sizeof(why))) {
		pr_err("no session key: %s%s\n", why, source ? "" : " (the dump writes it to its image directory)");
		return -1;
	}
	pr_info("session key: %zu bytes, from %s\n", out->key.len, from);
	rdma_cfg_self(cfg, role, &out->self);
	if (!source && cfg->fake_instance) {
		/* a test hook: two targets that claim to be the same one */
		memset(out->instance, 0, sizeof(out->instance));
		memcpy(out->instance, &cfg->fake_instance, sizeof(cfg->fake_instance));
		out->self.instance = out->instance;
	} else if (!source) {
		if (ctl_random(out->instance, sizeof(out->instance))) {
			pr_perror("no random bytes for the target's instance id");
			return -1;
		}
		out->self.instance = out->instance;
	}
	out->s.key = &out->key;
	out->s.self = &out->self;
	return 0;
}
