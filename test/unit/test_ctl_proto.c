// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the control protocol (v3): round trips, the hello split into
 * identification (role, nonce) and compatibility (version, page size, byte
 * order), the auth message, peer strings made printable for the log, the
 * export table taken from the wire within its bounds, malformed input.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ctl_proto.h"

static uint8_t wire[RDMA_CTL_MAX_MSG];

/* A nonce that is not all zeros, different for each @seed. */
static void fill_nonce(uint8_t *nonce, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		nonce[i] = (uint8_t)(seed + i * 7);
}

/* Packs @msg and unpacks it again; NULL (with @why) if either fails. */
static RdmaCtlMsg *roundtrip(const RdmaCtlMsg *msg, char *why, size_t why_len)
{
	ssize_t len = ctl_pack(msg, wire, sizeof(wire));

	if (len <= 0) {
		snprintf(why, why_len, "does not pack");
		return NULL;
	}
	return ctl_unpack(wire, (size_t)len, why, why_len);
}

/* Packs our hello for @self with @nonce and unpacks it again. */
static RdmaCtlMsg *hello_roundtrip(const struct ctl_self *self, const uint8_t nonce[CTL_NONCE_LEN])
{
	RdmaCtlMsg msg;
	RdmaHello hello;
	char why[256];

	ctl_hello_build(&msg, &hello, self, nonce);
	return roundtrip(&msg, why, sizeof(why));
}

/* Whether every byte of @s is printable ASCII. */
static bool printable_only(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void expect_words(const char *why, const char *word)
{
	if (!strstr(why, word)) {
		fprintf(stderr, "refusal '%s' does not name '%s'\n", why, word);
		failures++;
	}
}

static void test_hello_roundtrip(void)
{
	struct ctl_self self, peer;
	uint8_t nonce[CTL_NONCE_LEN], mark[4], instance[CTL_INSTANCE_LEN];
	char why[256] = "";
	RdmaCtlMsg *m;

	ctl_self_init(&self, "source");
	CHECK(self.version == RDMA_CTL_VERSION && RDMA_CTL_VERSION == 4);
	CHECK(self.page_size == (uint32_t)sysconf(_SC_PAGESIZE));
	CHECK(!strcmp(self.role, "source"));
	CHECK(!strcmp(ctl_peer_role(&self), "target"));
	ctl_self_init(&peer, "target");
	CHECK(!strcmp(ctl_peer_role(&peer), "source"));
	CHECK(!self.instance && !peer.instance);
	fill_nonce(instance, sizeof(instance), 0x77);
	peer.instance = instance;

	fill_nonce(nonce, sizeof(nonce), 0x11);
	m = hello_roundtrip(&self, nonce);
	CHECK(m && m->body_case == RDMA_CTL_MSG__BODY_HELLO);
	if (!m)
		return;
	CHECK(m->hello->version == RDMA_CTL_VERSION);
	CHECK(m->hello->page_size == self.page_size);
	CHECK(m->hello->role && !strcmp(m->hello->role, "source"));
	CHECK(m->hello->has_nonce && m->hello->nonce.len == CTL_NONCE_LEN);
	CHECK(m->hello->nonce.data && !memcmp(m->hello->nonce.data, nonce, CTL_NONCE_LEN));
	/* the byte order mark is the bytes 1,2,3,4 in the sender's memory order */
	memcpy(mark, &m->hello->byte_order, sizeof(mark));
	CHECK(mark[0] == 1 && mark[1] == 2 && mark[2] == 3 && mark[3] == 4);
	/* the target takes the source's hello; the source would not take its own */
	CHECK(ctl_hello_ident(m->hello, &peer, why, sizeof(why)) == 0);
	CHECK(ctl_hello_compat(m->hello, &peer, why, sizeof(why)) == 0);
	CHECK(ctl_hello_compat(m->hello, &self, why, sizeof(why)) == 0);
	ctl_free(m);

	/* and the other way round: the target's instance id travels whole */
	m = hello_roundtrip(&peer, nonce);
	CHECK(m && ctl_hello_ident(m->hello, &self, why, sizeof(why)) == 0);
	CHECK(m && m->hello->has_instance && m->hello->instance.len == CTL_INSTANCE_LEN &&
	      !memcmp(m->hello->instance.data, instance, CTL_INSTANCE_LEN));
	ctl_free(m);
}

typedef int (*hello_check_fn)(const RdmaHello *, const struct ctl_self *, char *, size_t);

/* @check refuses @hello (as it came from the wire) for @self, naming @word. */
static void expect_refusal(hello_check_fn check, const RdmaHello *hello, const struct ctl_self *self, const char *word)
{
	RdmaCtlMsg msg, *m;
	char why[256] = "";

	rdma_ctl_msg__init(&msg);
	msg.body_case = RDMA_CTL_MSG__BODY_HELLO;
	msg.hello = (RdmaHello *)hello;
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m != NULL);
	if (!m)
		return;
	why[0] = 0;
	CHECK(check(m->hello, self, why, sizeof(why)) == -1);
	CHECK(printable_only(why));
	expect_words(why, word);
	ctl_free(m);
}

/* A source resumes a target by its instance id: it must be there, whole, and only from a target. */
static void test_hello_instance(void)
{
	uint8_t nonce[CTL_NONCE_LEN], instance[CTL_INSTANCE_LEN + 1];
	struct ctl_self source, target;
	RdmaHello hello;
	RdmaCtlMsg msg;

	ctl_self_init(&source, "source");
	ctl_self_init(&target, "target");
	fill_nonce(nonce, sizeof(nonce), 0x21);
	fill_nonce(instance, sizeof(instance), 0x42);

	/* a target without one */
	ctl_hello_build(&msg, &hello, &target, nonce);
	expect_refusal(ctl_hello_ident, &hello, &source, "instance id is missing");
	/* one byte short or long */
	target.instance = instance;
	ctl_hello_build(&msg, &hello, &target, nonce);
	hello.instance.len = CTL_INSTANCE_LEN - 1;
	expect_refusal(ctl_hello_ident, &hello, &source, "malformed");
	hello.instance.len = CTL_INSTANCE_LEN + 1;
	expect_refusal(ctl_hello_ident, &hello, &source, "malformed");
	hello.instance.len = 0;
	expect_refusal(ctl_hello_ident, &hello, &source, "malformed");
	/* a v3 target has none: it is refused later, by version (ctl_hello_compat) */
	hello.instance.len = CTL_INSTANCE_LEN;
	hello.has_instance = 0;
	hello.version = 3;
	CHECK(ctl_hello_ident(&hello, &source, (char[64]){ 0 }, 64) == 0);
	/* a source that sends one */
	source.instance = instance;
	ctl_hello_build(&msg, &hello, &source, nonce);
	expect_refusal(ctl_hello_ident, &hello, &target, "source sent a target's instance id");
}

static void test_hello_ident(void)
{
	uint8_t nonce[CTL_NONCE_LEN + 1];
	struct ctl_self self, source;
	char role[1100], why[1024];
	RdmaHello hello;
	RdmaCtlMsg msg;
	size_t i;

	ctl_self_init(&self, "target");
	ctl_self_init(&source, "source");
	fill_nonce(nonce, sizeof(nonce), 0x5a);

	/* our own hello reflected back: same role */
	ctl_hello_build(&msg, &hello, &self, nonce);
	expect_refusal(ctl_hello_ident, &hello, &self, "role is target, not source");

	/* no role at all: refused, and said so without crashing */
	ctl_hello_build(&msg, &hello, &source, nonce);
	hello.role = NULL;
	expect_refusal(ctl_hello_ident, &hello, &self, "(none)");
	CHECK(ctl_hello_ident(&hello, &self, why, sizeof(why)) == -1);
	expect_words(why, "(none)");

	/* near misses of the right role */
	ctl_hello_build(&msg, &hello, &source, nonce);
	hello.role = "sourc";
	expect_refusal(ctl_hello_ident, &hello, &self, "role is sourc,");
	hello.role = "sources";
	expect_refusal(ctl_hello_ident, &hello, &self, "role is sources,");
	hello.role = "Source";
	expect_refusal(ctl_hello_ident, &hello, &self, "role");
	hello.role = "";
	expect_refusal(ctl_hello_ident, &hello, &self, "role is ,");

	/* a hostile role: control characters and 1000 bytes, logged printable and bounded */
	strcpy(role, "source\n\x1b[2J\r\t\x7f\xff");
	for (i = strlen(role); i < 1000; i++)
		role[i] = 'A';
	role[i] = 0;
	hello.role = role;
	memset(why, 0, sizeof(why));
	CHECK(ctl_hello_ident(&hello, &self, why, sizeof(why)) == -1);
	CHECK(printable_only(why));
	CHECK(strstr(why, "source??[2J????AAA") != NULL);
	CHECK(strstr(why, "...") != NULL);
	CHECK(strlen(why) < RDMA_CTL_MAX_LOGGED + 64);
	/* still bounded by a small @why */
	memset(why, 'Z', sizeof(why));
	CHECK(ctl_hello_ident(&hello, &self, why, 40) == -1);
	CHECK(strlen(why) == 39 && why[40] == 'Z');
	/* and through the wire */
	expect_refusal(ctl_hello_ident, &hello, &self, "...");

	/* a v2 peer: no nonce; the refusal says which protocol version it speaks */
	ctl_hello_build(&msg, &hello, &source, nonce);
	hello.version = 2;
	hello.has_nonce = 0;
	expect_refusal(ctl_hello_ident, &hello, &self, "protocol version 2");
	/* no nonce is refused even from the right version and role */
	hello.version = RDMA_CTL_VERSION;
	expect_refusal(ctl_hello_ident, &hello, &self, "nonce");

	/* a nonce of any length but CTL_NONCE_LEN */
	ctl_hello_build(&msg, &hello, &source, nonce);
	hello.nonce.len = CTL_NONCE_LEN - 1;
	expect_refusal(ctl_hello_ident, &hello, &self, "31 bytes");
	hello.nonce.len = CTL_NONCE_LEN + 1;
	expect_refusal(ctl_hello_ident, &hello, &self, "33 bytes");
	hello.nonce.len = 0;
	expect_refusal(ctl_hello_ident, &hello, &self, "nonce");
	hello.nonce.len = CTL_NONCE_LEN;
	CHECK(ctl_hello_ident(&hello, &self, why, sizeof(why)) == 0);

	/* identification alone: version and page size are for ctl_hello_compat, after the proofs */
	hello.version = RDMA_CTL_VERSION + 1;
	hello.page_size = 65536 + 4096;
	CHECK(ctl_hello_ident(&hello, &self, why, sizeof(why)) == 0);
	CHECK(ctl_hello_compat(&hello, &self, why, sizeof(why)) == -1);
}

/*
 * A hello as a v2 peer sends it: no nonce, and field 4, the digest of the
 * shared secret, which v3 does not know (protobuf-c keeps it aside, unused).
 */
static void test_hello_v2(void)
{
	/* body 1 (hello, 52 bytes): version 2, page size 4096, byte order mark, then field 4 (32 bytes) */
	static const uint8_t head[] = { 0x0a, 52, 0x08, 2, 0x10, 0x80, 0x20, 0x1d, 1, 2, 3, 4, 0x22, 32 };
	/* field 5, the role */
	static const uint8_t tail[] = { 0x2a, 6, 's', 'o', 'u', 'r', 'c', 'e' };
	uint8_t v2[sizeof(head) + 32 + sizeof(tail)];
	struct ctl_self self;
	char why[256] = "";
	RdmaCtlMsg *m;

	memcpy(v2, head, sizeof(head));
	memset(v2 + sizeof(head), 0xee, 32);
	memcpy(v2 + sizeof(head) + 32, tail, sizeof(tail));
	ctl_self_init(&self, "target");
	m = ctl_unpack(v2, sizeof(v2), why, sizeof(why));
	CHECK(m && m->body_case == RDMA_CTL_MSG__BODY_HELLO);
	if (!m)
		return;
	CHECK(m->hello->version == 2 && m->hello->page_size == 4096);
	CHECK(!m->hello->has_nonce && m->hello->role && !strcmp(m->hello->role, "source"));
	CHECK(ctl_hello_ident(m->hello, &self, why, sizeof(why)) == -1);
	expect_words(why, "no nonce: protocol version 2");
	ctl_free(m);
}

static void test_hello_compat(void)
{
	uint8_t nonce[CTL_NONCE_LEN];
	struct ctl_self self, peer;
	char want[128];
	RdmaHello hello;
	RdmaCtlMsg msg;

	ctl_self_init(&self, "target");
	ctl_self_init(&peer, "source");
	fill_nonce(nonce, sizeof(nonce), 0x77);

	ctl_hello_build(&msg, &hello, &peer, nonce);
	hello.version = RDMA_CTL_VERSION + 1;
	snprintf(want, sizeof(want), "protocol version differs: peer %u, we %u", RDMA_CTL_VERSION + 1,
		 RDMA_CTL_VERSION);
	expect_refusal(ctl_hello_compat, &hello, &self, want);
	hello.version = 2;
	expect_refusal(ctl_hello_compat, &hello, &self, "protocol version");

	ctl_hello_build(&msg, &hello, &peer, nonce);
	hello.page_size = self.page_size * 4;
	snprintf(want, sizeof(want), "page size differs: peer %u, we %u", self.page_size * 4, self.page_size);
	expect_refusal(ctl_hello_compat, &hello, &self, want);

	ctl_hello_build(&msg, &hello, &peer, nonce);
	hello.byte_order = 0x01020304 ^ 0x05030105; /* neither order */
	expect_refusal(ctl_hello_compat, &hello, &self, "byte order");

	/* compatibility does not look at the role or nonce */
	ctl_hello_build(&msg, &hello, &self, nonce);
	hello.role = NULL;
	hello.has_nonce = 0;
	CHECK(ctl_hello_compat(&hello, &self, want, sizeof(want)) == 0);
}

static void test_byte_order_mark(void)
{
	uint8_t nonce[CTL_NONCE_LEN];
	struct ctl_self self;
	RdmaCtlMsg *m;
	char why[256] = "";

	ctl_self_init(&self, "source");
	fill_nonce(nonce, sizeof(nonce), 0x33);
	m = hello_roundtrip(&self, nonce);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(ctl_hello_compat(m->hello, &self, why, sizeof(why)) == 0);
	m->hello->byte_order = __builtin_bswap32(m->hello->byte_order);
	CHECK(ctl_hello_compat(m->hello, &self, why, sizeof(why)) == -1);
	CHECK(strstr(why, "byte order") != NULL);
	ctl_free(m);
}

static void test_auth(void)
{
	uint8_t proof[CTL_PROOF_LEN + 1];
	char why[256] = "";
	RdmaCtlMsg msg, *m;
	RdmaAuth auth;
	ssize_t len;
	size_t i;

	for (i = 0; i < sizeof(proof); i++)
		proof[i] = (uint8_t)(0xc0 ^ i);
	ctl_auth_build(&msg, &auth, proof, true);
	CHECK(msg.body_case == RDMA_CTL_MSG__BODY_AUTH && msg.auth == &auth);
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m && m->body_case == RDMA_CTL_MSG__BODY_AUTH);
	if (m) {
		CHECK(m->auth->proof.len == CTL_PROOF_LEN && !memcmp(m->auth->proof.data, proof, CTL_PROOF_LEN));
		CHECK(m->auth->has_lane && m->auth->lane);
		ctl_free(m);
	}
	ctl_auth_build(&msg, &auth, proof, false);
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m && m->body_case == RDMA_CTL_MSG__BODY_AUTH);
	if (m) {
		CHECK(m->auth->proof.len == CTL_PROOF_LEN && !memcmp(m->auth->proof.data, proof, CTL_PROOF_LEN));
		CHECK(m->auth->has_lane && !m->auth->lane);
		ctl_free(m);
	}
	/* lane absent (optional): unpacks, and means the main connection */
	auth.has_lane = 0;
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m && !(m->auth->has_lane && m->auth->lane));
	ctl_free(m);

	/* a proof of any other length is refused by ctl_unpack */
	ctl_auth_build(&msg, &auth, proof, false);
	auth.proof.len = CTL_PROOF_LEN - 1;
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m == NULL && strstr(why, "proof of 31 bytes"));
	auth.proof.len = CTL_PROOF_LEN + 1;
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m == NULL && strstr(why, "proof of 33 bytes"));
	auth.proof.len = 0;
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m == NULL && strstr(why, "proof"));

	/* an auth body without its required proof is malformed: field 5, empty */
	wire[0] = (5 << 3) | 2;
	wire[1] = 0;
	why[0] = 0;
	CHECK(ctl_unpack(wire, 2, why, sizeof(why)) == NULL);
	CHECK(strstr(why, "malformed") != NULL);

	/* a proof that does not fit fails to pack, not overflow */
	ctl_auth_build(&msg, &auth, proof, false);
	len = ctl_pack(&msg, wire, 10);
	CHECK(len == -1);

	CHECK(!strcmp(ctl_body_name(RDMA_CTL_MSG__BODY_AUTH), "auth"));
	CHECK(!strcmp(ctl_body_name(RDMA_CTL_MSG__BODY_HELLO), "hello"));
	CHECK(!strcmp(ctl_body_name(RDMA_CTL_MSG__BODY_EXPORT), "export"));
	CHECK(!strcmp(ctl_body_name(RDMA_CTL_MSG__BODY_TASK_DONE), "task-done"));
	CHECK(!strcmp(ctl_body_name(RDMA_CTL_MSG__BODY_CLOSE), "close"));
	CHECK(!strcmp(ctl_body_name(RDMA_CTL_MSG__BODY__NOT_SET), "none"));
	CHECK(!strcmp(ctl_body_name((RdmaCtlMsg__BodyCase)99), "none"));
}

/* The output buffer of ctl_printable with guard bytes after it. */
struct guarded {
	char out[RDMA_CTL_MAX_LOGGED + 8];
	char canary[32];
};

static bool canary_intact(const struct guarded *g, size_t from)
{
	const char *p = (const char *)g;
	size_t i;

	for (i = from; i < sizeof(*g); i++)
		if ((unsigned char)p[i] != 0xa5)
			return false;
	return true;
}

static void test_printable(void)
{
	const char *inputs[] = { NULL, "", "plain", "a\nb", "\x1b[31mred\x1b[0m", NULL /* long */ };
	char out[RDMA_CTL_MAX_LOGGED + 8], longer[RDMA_CTL_MAX_LOGGED * 4];
	struct guarded g;
	const char *r;
	size_t i, n;

	r = ctl_printable(NULL, out, sizeof(out));
	CHECK(r == out && !strcmp(out, "(none)"));
	r = ctl_printable("", out, sizeof(out));
	CHECK(r == out && !strcmp(out, ""));
	r = ctl_printable("source", out, sizeof(out));
	CHECK(r == out && !strcmp(out, "source"));
	CHECK(!strcmp(ctl_printable(" ~ printable ~", out, sizeof(out)), " ~ printable ~"));

	/* control characters, DEL, bytes with the top bit set (UTF-8 too): each one '?' */
	CHECK(!strcmp(ctl_printable("a\nb\tc\rd\x1b[2J\x01\x1f", out, sizeof(out)), "a?b?c?d?[2J??"));
	CHECK(!strcmp(ctl_printable("\x7f\x80\xff", out, sizeof(out)), "???"));
	CHECK(!strcmp(ctl_printable("caf\xc3\xa9", out, sizeof(out)), "caf??"));

	/* RDMA_CTL_MAX_LOGGED characters pass whole; one more and it is cut with "..." */
	memset(longer, 'x', sizeof(longer));
	longer[RDMA_CTL_MAX_LOGGED] = 0;
	ctl_printable(longer, out, sizeof(out));
	CHECK(strlen(out) == RDMA_CTL_MAX_LOGGED && !strstr(out, "..."));
	longer[RDMA_CTL_MAX_LOGGED] = 'y';
	longer[RDMA_CTL_MAX_LOGGED + 1] = 0;
	ctl_printable(longer, out, sizeof(out));
	CHECK(strlen(out) == RDMA_CTL_MAX_LOGGED + 3);
	CHECK(!strcmp(out + RDMA_CTL_MAX_LOGGED, "...") && !strchr(out, 'y'));
	longer[sizeof(longer) - 1] = 0;
	longer[5] = '\n';
	ctl_printable(longer, out, sizeof(out));
	CHECK(strlen(out) == RDMA_CTL_MAX_LOGGED + 3 && out[5] == '?' && !strcmp(out + RDMA_CTL_MAX_LOGGED, "..."));
	CHECK(printable_only(out));

	/* every output size from 0 up: always terminated, never past the buffer */
	memset(longer, 'x', sizeof(longer));
	longer[sizeof(longer) - 1] = 0;
	inputs[sizeof(inputs) / sizeof(inputs[0]) - 1] = longer;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		for (n = 0; n <= sizeof(g.out); n++) {
			memset(&g, 0xa5, sizeof(g));
			r = ctl_printable(inputs[i], g.out, n);
			CHECK(r != NULL);
			if (!n) {
				/* nothing is written, and the answer is still a string */
				CHECK(r && !strcmp(r, ""));
				CHECK(canary_intact(&g, 0));
				continue;
			}
			CHECK(r == g.out);
			CHECK(strnlen(g.out, n) < n);
			CHECK(canary_intact(&g, n));
			CHECK(printable_only(g.out));
		}
	/* a small buffer still gets the start of the text */
	memset(&g, 0xa5, sizeof(g));
	ctl_printable(NULL, g.out, 4);
	CHECK(!strcmp(g.out, "(no") && canary_intact(&g, 4));
	memset(&g, 0xa5, sizeof(g));
	ctl_printable("a\nbcdefgh", g.out, 5);
	CHECK(!strcmp(g.out, "a?bc") && canary_intact(&g, 5));
}

/* An export chunk of task @id holding @n ranges from @r. */
static void chunk_init(RdmaExport *e, RdmaRange **rp, RdmaRange *r, size_t n, uint32_t id, bool last)
{
	size_t i;

	rdma_export__init(e);
	for (i = 0; i < n; i++)
		rp[i] = &r[i];
	e->task_id = id;
	e->n_ranges = n;
	e->ranges = rp;
	e->last = last;
}

static void range_init(RdmaRange *r, uint64_t va, uint64_t len, uint32_t rkey)
{
	rdma_range__init(r);
	r->va = va;
	r->len = len;
	r->rkey = rkey;
}

static void test_export_take(void)
{
	struct export_table table = { 0 };
	struct ctl_export_rx rx = { .table = &table };
	RdmaRange r[4], *rp[4];
	const struct export_range *hit;
	struct export_task *task;
	char why[256] = "";
	RdmaExport e;

	/* task 1: two chunks, task 2 in between; the table accumulates per task */
	range_init(&r[0], 0x30000, 0x1000, 0x13);
	range_init(&r[1], 0x10000, 0x2000, 0x11);
	chunk_init(&e, rp, r, 2, 1, false);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == 0);
	range_init(&r[0], 0x10000, 0x4000, 0x21);
	chunk_init(&e, rp, r, 1, 2, false);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == 0);
	range_init(&r[0], 0x20000, 0x8000, 0x12);
	chunk_init(&e, rp, r, 1, 1, false);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == 0);
	/* a chunk with no ranges is a task with nothing to fetch */
	chunk_init(&e, rp, r, 0, 3, true);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == 0);
	CHECK(rx.last && rx.chunks == 4 && rx.ranges == 4);
	CHECK(rx.bytes == 0x1000 + 0x2000 + 0x4000 + 0x8000);
	CHECK(table.nr == 3);
	task = export_task_get(&table, 1, 0);
	CHECK(task && task->nr == 3);
	task = export_task_get(&table, 2, 0);
	CHECK(task && task->nr == 1);
	task = export_task_get(&table, 3, 0);
	CHECK(task && task->nr == 0);

	/* nothing after the last chunk, and the table is left as it was */
	range_init(&r[0], 0x90000, 0x1000, 0x99);
	chunk_init(&e, rp, r, 1, 1, true);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == -1);
	expect_words(why, "after the last");
	chunk_init(&e, rp, r, 0, 4, false);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == -1);
	CHECK(table.nr == 3 && export_task_get(&table, 1, 0)->nr == 3);
	CHECK(rx.bytes == 0xf000 && rx.ranges == 4);

	/* sealed: sorted per task, looked up by VA with each range's rkey */
	CHECK(ctl_export_seal(&rx, why, sizeof(why)) == 0);
	task = export_task_get(&table, 1, 0);
	CHECK(task && task->ranges[0].va == 0x10000 && task->ranges[1].va == 0x20000 && task->ranges[2].va == 0x30000);
	hit = export_lookup(&table, 1, 0x27fff);
	CHECK(hit && hit->rkey == 0x12 && hit->len == 0x8000);
	hit = export_lookup(&table, 1, 0x11fff);
	CHECK(hit && hit->rkey == 0x11);
	/* the same VA in another task is that task's own */
	hit = export_lookup(&table, 2, 0x10000);
	CHECK(hit && hit->rkey == 0x21);
	CHECK(export_lookup(&table, 3, 0x10000) == NULL);
	export_table_free(&table);
	CHECK(table.nr == 0 && table.tasks == NULL);
}

/* Takes @ranges into task 7, one chunk each, and seals the table. */
static int take_and_seal(const uint64_t (*ranges)[2], size_t n, char *why, size_t why_len)
{
	struct export_table table = { 0 };
	struct ctl_export_rx rx = { .table = &table };
	RdmaRange r[1], *rp[1];
	RdmaExport e;
	size_t i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		/* the same range in another task never overlaps task 7's */
		range_init(&r[0], ranges[i][0], ranges[i][1], (uint32_t)i);
		chunk_init(&e, rp, r, 1, 1000 + (uint32_t)i, false);
		ret = ctl_export_take(&rx, &e, why, why_len);
		chunk_init(&e, rp, r, 1, 7, i == n - 1);
		if (!ret)
			ret = ctl_export_take(&rx, &e, why, why_len);
	}
	if (!ret)
		ret = ctl_export_seal(&rx, why, why_len);
	export_table_free(&table);
	return ret;
}

static void test_export_seal(void)
{
	static const uint64_t apart[][2] = { { 0x3000, 0x1000 }, { 0x1000, 0x2000 }, { 0x8000, 0x1000 } };
	static const uint64_t overlap[][2] = { { 0x1000, 0x2000 }, { 0x8000, 0x1000 }, { 0x2000, 0x1000 } };
	static const uint64_t dup[][2] = { { 0x1000, 0x1000 }, { 0x1000, 0x1000 } };
	static const uint64_t wraps[][2] = { { 0x1000, 0x1000 }, { UINT64_MAX - 0xfff, 0x2000 } };
	static const uint64_t to_end[][2] = { { UINT64_MAX - 0xfff, 0x1000 } };
	static const uint64_t empty[][2] = { { 0x1000, 0 } };
	char why[256] = "";

	CHECK(take_and_seal(apart, 3, why, sizeof(why)) == 0);
	/* ranges of one task from different chunks overlap: only the seal sees it */
	CHECK(take_and_seal(overlap, 3, why, sizeof(why)) == -1);
	expect_words(why, "task 7");
	CHECK(take_and_seal(dup, 2, why, sizeof(why)) == -1);
	/* ctl_unpack refuses these in a message; the seal refuses them as well */
	CHECK(take_and_seal(wraps, 2, why, sizeof(why)) == -1);
	expect_words(why, "wrapping");
	CHECK(take_and_seal(to_end, 1, why, sizeof(why)) == -1);
	CHECK(take_and_seal(empty, 1, why, sizeof(why)) == -1);
}

static void test_export_bounds(void)
{
	struct export_table table = { 0 };
	struct ctl_export_rx rx = { .table = &table };
	const size_t max_chunks = RDMA_CTL_MAX_TASKS + RDMA_CTL_MAX_RANGES / RDMA_CTL_RANGES_PER_MSG;
	RdmaRange r[2], *rp[2];
	char why[256] = "";
	RdmaExport e;
	uint32_t id;
	size_t i;
	int bad;

	/*
	 * RDMA_CTL_MAX_TASKS tasks.  Taken one empty chunk each this costs 3 s
	 * (each new task is looked for among all the others), so the table
	 * starts one task short of the bound and the last two come by the wire.
	 */
	table.tasks = calloc(RDMA_CTL_MAX_TASKS, sizeof(*table.tasks));
	CHECK(table.tasks != NULL);
	if (!table.tasks)
		return;
	table.cap = RDMA_CTL_MAX_TASKS;
	for (id = 0; id < RDMA_CTL_MAX_TASKS - 1; id++)
		table.tasks[table.nr++].id = id * 3 + 1;
	chunk_init(&e, rp, r, 0, 3, false);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == 0);
	CHECK(table.nr == RDMA_CTL_MAX_TASKS);
	chunk_init(&e, rp, r, 0, 2, false);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == -1);
	expect_words(why, "exported tasks");
	CHECK(table.nr == RDMA_CTL_MAX_TASKS && export_task_get(&table, 2, 0) == NULL);
	/* a task already known still takes chunks */
	range_init(&r[0], 0x1000, 0x1000, 1);
	chunk_init(&e, rp, r, 1, 4, false);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == 0);
	CHECK(export_task_get(&table, 4, 0)->nr == 1);
	chunk_init(&e, rp, r, 0, 3, true);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == 0);
	CHECK(ctl_export_seal(&rx, why, sizeof(why)) == 0);
	export_table_free(&table);

	/* the number of chunks is bounded even when they add nothing */
	memset(&rx, 0, sizeof(rx));
	rx.table = &table;
	bad = 0;
	for (i = 0; i < max_chunks; i++) {
		chunk_init(&e, rp, r, 0, 9, false);
		bad += ctl_export_take(&rx, &e, why, sizeof(why)) != 0;
	}
	CHECK(bad == 0 && rx.chunks == max_chunks);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == -1);
	expect_words(why, "export chunks");
	export_table_free(&table);

	/*
	 * RDMA_CTL_MAX_RANGES ranges would take a gigabyte here; start the
	 * count just short of the bound instead.
	 */
	memset(&rx, 0, sizeof(rx));
	rx.table = &table;
	rx.ranges = RDMA_CTL_MAX_RANGES - 1;
	range_init(&r[0], 0x1000, 0x1000, 1);
	range_init(&r[1], 0x3000, 0x1000, 2);
	chunk_init(&e, rp, r, 2, 5, false);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == -1);
	expect_words(why, "exported ranges");
	CHECK(table.nr == 0 || export_task_get(&table, 5, 0)->nr == 0);
	chunk_init(&e, rp, r, 1, 5, true);
	CHECK(ctl_export_take(&rx, &e, why, sizeof(why)) == 0);
	CHECK(rx.ranges == RDMA_CTL_MAX_RANGES && rx.last);
	CHECK(ctl_export_seal(&rx, why, sizeof(why)) == 0);
	export_table_free(&table);
}

static void test_exportroundtrip_and_validation(void)
{
	RdmaRange r[3], *rp[3] = { &r[0], &r[1], &r[2] };
	struct export_table table = { 0 };
	struct ctl_export_rx rx = { .table = &table };
	RdmaCtlMsg msg, *m;
	RdmaExport exp;
	char why[256] = "";
	ssize_t len;
	int i;

	rdma_ctl_msg__init(&msg);
	rdma_export__init(&exp);
	for (i = 0; i < 3; i++)
		range_init(&r[i], 0x7f0000000000ULL + (uint64_t)i * 0x100000, 4096ULL << i, 0x1000 + (uint32_t)i);
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
		/* from the wire into the table */
		CHECK(ctl_export_take(&rx, m->export, why, sizeof(why)) == 0);
		CHECK(ctl_export_seal(&rx, why, sizeof(why)) == 0);
		CHECK(rx.last && rx.bytes == 4096 * 7);
		CHECK(export_lookup(&table, 42, r[2].va + r[2].len - 1) != NULL);
		export_table_free(&table);
		ctl_free(m);
	}

	/* A range that wraps around the address space is refused. */
	r[1].va = ~0ULL - 100;
	len = ctl_pack(&msg, wire, sizeof(wire));
	m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
	CHECK(m == NULL && strstr(why, "wraps"));
	ctl_free(m);
	/* so is an empty one */
	r[1].va = 0x1000;
	r[1].len = 0;
	len = ctl_pack(&msg, wire, sizeof(wire));
	m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
	CHECK(m == NULL && strstr(why, "empty"));
	ctl_free(m);

	/* A chunk of RDMA_CTL_RANGES_PER_MSG worst-case ranges fits one message and unpacks. */
	{
		RdmaRange big, **many = calloc(RDMA_CTL_RANGES_PER_MSG + 1, sizeof(*many));

		CHECK(many != NULL);
		if (!many)
			return;
		range_init(&big, ~0ULL >> 1, ~0ULL >> 2, ~0U);
		for (i = 0; i < RDMA_CTL_RANGES_PER_MSG + 1; i++)
			many[i] = &big;
		exp.ranges = many;
		exp.n_ranges = RDMA_CTL_RANGES_PER_MSG;
		exp.task_id = ~0U;
		len = ctl_pack(&msg, wire, sizeof(wire));
		CHECK(len > 0);
		m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
		CHECK(m && m->export->n_ranges == RDMA_CTL_RANGES_PER_MSG);
		ctl_free(m);

		/* one range more than a chunk may carry: refused (small ranges, so it still packs) */
		range_init(&big, 0x1000, 0x1000, 1);
		exp.n_ranges = RDMA_CTL_RANGES_PER_MSG + 1;
		len = ctl_pack(&msg, wire, sizeof(wire));
		CHECK(len > 0);
		m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
		CHECK(m == NULL);
		expect_words(why, "export chunk of 2049 ranges");
		ctl_free(m);
		free(many);
	}
}

static void test_malformed(void)
{
	char why[256] = "";
	uint8_t junk[512];
	RdmaCtlMsg msg, *m;
	RdmaTaskDone td;
	RdmaClose cl;
	ssize_t len;
	size_t i;

	/* Empty, oversized, garbage, truncated, and a message with no body. */
	CHECK(ctl_unpack(wire, 0, why, sizeof(why)) == NULL);
	CHECK(ctl_unpack(wire, RDMA_CTL_MAX_MSG + 1, why, sizeof(why)) == NULL);
	expect_words(why, "limit");
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
	m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
	CHECK(m && m->body_case == RDMA_CTL_MSG__BODY_TASK_DONE && m->task_done->task_id == 7);
	ctl_free(m);

	/* a close with its reason, and without one */
	rdma_ctl_msg__init(&msg);
	rdma_close__init(&cl);
	cl.error = "no proof of the session key";
	msg.body_case = RDMA_CTL_MSG__BODY_CLOSE;
	msg.close = &cl;
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m && m->close->error && !strcmp(m->close->error, cl.error));
	ctl_free(m);
	cl.error = NULL;
	m = roundtrip(&msg, why, sizeof(why));
	CHECK(m && m->close->error == NULL);
	ctl_free(m);

	rdma_ctl_msg__init(&msg);
	len = ctl_pack(&msg, wire, sizeof(wire));
	/* an empty message packs to zero bytes: refused as empty */
	m = ctl_unpack(wire, (size_t)len, why, sizeof(why));
	CHECK(m == NULL);
	ctl_free(m);
	ctl_free(NULL);
}

int main(void)
{
	test_hello_roundtrip();
	test_hello_instance();
	test_hello_ident();
	test_hello_v2();
	test_hello_compat();
	test_byte_order_mark();
	test_auth();
	test_printable();
	test_export_take();
	test_export_seal();
	test_export_bounds();
	test_exportroundtrip_and_validation();
	test_malformed();
	return check_report("control protocol");
}
