// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of the control protocol: round trips, refusals, malformed input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ctl_proto.h"

static uint8_t wire[RDMA_CTL_MAX_MSG];

/* Packs our hello for @self and unpacks it again. */
static RdmaCtlMsg *hello_roundtrip(const struct ctl_self *self)
{
	RdmaCtlMsg msg;
	RdmaHello hello;
	uint8_t tag[32];
	char why[256];
	ssize_t len;

	ctl_hello_build(&msg, &hello, tag, self);
	len = ctl_pack(&msg, wire, sizeof(wire));
	if (len <= 0)
		return NULL;
	return ctl_unpack(wire, (size_t)len, why, sizeof(why));
}

static void test_hello_roundtrip(void)
{
	struct ctl_self self;
	RdmaCtlMsg *m;
	char why[256] = "";

	ctl_self_init(&self, "source", NULL);
	CHECK(self.page_size == (uint32_t)sysconf(_SC_PAGESIZE));
	m = hello_roundtrip(&self);
	CHECK(m && m->body_case == RDMA_CTL_MSG__BODY_HELLO);
	if (!m)
		return;
	CHECK(m->hello->version == RDMA_CTL_VERSION);
	CHECK(!strcmp(m->hello->role, "source"));
	CHECK(!m->hello->has_secret_tag);
	CHECK(ctl_hello_check(m->hello, &self, why, sizeof(why)) == 0);
	ctl_free(m);
}

static void expect_refusal(struct ctl_self *peer, struct ctl_self *self, const char *word)
{
	RdmaCtlMsg *m = hello_roundtrip(peer);
	char why[256] = "";

	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(ctl_hello_check(m->hello, self, why, sizeof(why)) == -1);
	if (!strstr(why, word)) {
		fprintf(stderr, "refusal '%s' does not name '%s'\n", why, word);
		failures++;
	}
	ctl_free(m);
}

static void test_hello_mismatches(void)
{
	struct ctl_self self, peer;

	ctl_self_init(&self, "target", NULL);
	peer = self;
	peer.version = RDMA_CTL_VERSION + 1;
	expect_refusal(&peer, &self, "protocol version");

	peer = self;
	peer.page_size = 65536;
	expect_refusal(&peer, &self, "page size");

	peer = self;
	peer.secret = "s3cret";
	expect_refusal(&peer, &self, "shared secret");

	self.secret = "s3cret";
	peer.secret = "other";
	expect_refusal(&peer, &self, "shared secret differs");

	peer.secret = "s3cret";
	{
		RdmaCtlMsg *m = hello_roundtrip(&peer);
		char why[256];

		CHECK(m && ctl_hello_check(m->hello, &self, why, sizeof(why)) == 0);
		ctl_free(m);
	}
}

static void test_byte_order_mark(void)
{
	struct ctl_self self;
	RdmaCtlMsg *m;
	char why[256] = "";

	ctl_self_init(&self, "source", NULL);
	m = hello_roundtrip(&self);
	CHECK(m != NULL);
	if (!m)
		return;
	m->hello->byte_order = __builtin_bswap32(m->hello->byte_order);
	CHECK(ctl_hello_check(m->hello, &self, why, sizeof(why)) == -1);
	CHECK(strstr(why, "byte order") != NULL);
	ctl_free(m);
}

static void test_exportroundtrip_and_validation(void)
{
	RdmaRange r[3], *rp[3] = { &r[0], &r[1], &r[2] };
	RdmaCtlMsg msg, *m;
	RdmaExport exp;
	char why[256] = "";
	ssize_t len;
	int i;

	rdma_ctl_msg__init(&msg);
	rdma_export__init(&exp);
	for (i = 0; i < 3; i++) {
		rdma_range__init(&r[i]);
		r[i].va = 0x7f0000000000ULL + (uint64_t)i * 0x100000;
		r[i].len = 4096ULL << i;
		r[i].rkey = 0x1000 + (uint32_t)i;
	}
	exp.task_id = 42;
	exp.n_ranges = 3;
	exp.ranges = rp;
	exp.last = 1;
	msg.body_case = RDMA_CTL_MSG__BODY_EXPORT;
	msg.export = &exp;
	len = ctl_pack(&msg, wire, sizeof(wire));
	CHECK(len > 0);
	m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
	CHECK(m && m->body_case == RDMA_CTL_MSG__BODY_EXPORT);
	if (m) {
		CHECK(m->export->task_id == 42 && m->export->n_ranges == 3 && m->export->last);
		for (i = 0; i < 3; i++)
			CHECK(m->export->ranges[i]->va == r[i].va && m->export->ranges[i]->len == r[i].len &&
			      m->export->ranges[i]->rkey == r[i].rkey);
		ctl_free(m);
	}

	/* A range that wraps around the address space is refused. */
	r[1].va = ~0ULL - 100;
	len = ctl_pack(&msg, wire, sizeof(wire));
	m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
	CHECK(m == NULL && strstr(why, "wraps"));
	ctl_free(m);

	/* A chunk of RDMA_CTL_RANGES_PER_MSG worst-case ranges fits one message. */
	{
		RdmaRange big, **many = calloc(RDMA_CTL_RANGES_PER_MSG, sizeof(*many));

		rdma_range__init(&big);
		big.va = ~0ULL >> 1;
		big.len = ~0ULL >> 2;
		big.rkey = ~0U;
		for (i = 0; i < RDMA_CTL_RANGES_PER_MSG; i++)
			many[i] = &big;
		exp.ranges = many;
		exp.n_ranges = RDMA_CTL_RANGES_PER_MSG;
		exp.task_id = ~0U;
		CHECK(ctl_pack(&msg, wire, sizeof(wire)) > 0);
		free(many);
	}
}

static void test_malformed(void)
{
	char why[256] = "";
	uint8_t junk[512];
	RdmaCtlMsg msg, *m;
	RdmaTaskDone td;
	ssize_t len;
	size_t i;

	/* Empty, oversized, garbage, truncated, and a message with no body. */
	CHECK(ctl_unpack(wire, 0, why, sizeof(why)) == NULL);
	CHECK(ctl_unpack(wire, RDMA_CTL_MAX_MSG + 1, why, sizeof(why)) == NULL);
	srand(1);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	junk[0] = 0xff; /* invalid tag: field 31, wire type 7 */
	m = ctl_unpack(junk, sizeof(junk), why, sizeof(why));
	CHECK(m == NULL && strstr(why, "malformed"));

	rdma_ctl_msg__init(&msg);
	rdma_task_done__init(&td);
	td.task_id = 7;
	msg.body_case = RDMA_CTL_MSG__BODY_TASK_DONE;
	msg.task_done = &td;
	len = ctl_pack(&msg, wire, sizeof(wire));
	CHECK(len > 2);
	CHECK(ctl_unpack(wire, (size_t)len - 1, why, sizeof(why)) == NULL);

	rdma_ctl_msg__init(&msg);
	len = ctl_pack(&msg, wire, sizeof(wire));
	/* an empty message packs to zero bytes: refused as empty */
	m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
	CHECK(m == NULL);
	ctl_free(m);
}

static void test_sha256(void)
{
	static const uint8_t abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
					 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
					 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
	/* SHA-256 of 56 bytes: padding spills into a second block */
	static const uint8_t two[32] = { 0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26,
					 0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff,
					 0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1 };
	uint8_t out[32];

	ctl_sha256("abc", 3, out);
	CHECK(!memcmp(out, abc, 32));
	ctl_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	CHECK(!memcmp(out, two, 32));
}

int main(void)
{
	test_hello_roundtrip();
	test_hello_mismatches();
	test_byte_order_mark();
	test_exportroundtrip_and_validation();
	test_malformed();
	test_sha256();
	return check_report("control protocol");
}
