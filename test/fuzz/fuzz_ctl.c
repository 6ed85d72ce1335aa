// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness over everything that reads the peer's bytes: the
 * control-message decoder and validator, the hello checks, the proof check,
 * the export table built chunk by chunk (bounds, seal, lookups), task-done
 * and close, and the log sanitiser.
 *
 * An input is one control message; one that starts with 0xff is a session
 * of several (2-byte little-endian lengths), whose export chunks feed one
 * table, as the target's would; one that starts with 0xfe is the source's
 * record of where it serves (rdma-serve.txt in the image directory).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl_auth.h"
#include "ctl_proto.h"
#include "serve_addrs.h"

static const struct ctl_key key = { .bytes = "fuzzing key, not a secret", .len = 25 };

static void check_hello(const RdmaHello *h)
{
	struct ctl_self src, tgt;
	char why[256];

	ctl_self_init(&src, "source");
	ctl_self_init(&tgt, "target");
	ctl_hello_ident(h, &src, why, sizeof(why));
	ctl_hello_ident(h, &tgt, why, sizeof(why));
	ctl_hello_compat(h, &tgt, why, sizeof(why));
}

static void check_auth(const RdmaAuth *a)
{
	struct ctl_binding b = { .qpn_source = 17, .qpn_target = 18 };

	/* a random proof must never pass */
	if (ctl_proof_ok(&key, "target", &b, a->proof.data, a->proof.len))
		__builtin_trap();
}

/* Every VA the table claims must be found in its own range, and nothing past it. */
static void check_table(const struct export_table *t)
{
	size_t i, j;

	for (i = 0; i < t->nr; i++)
		for (j = 0; j < t->tasks[i].nr && j < 64; j++) {
			const struct export_range *r = &t->tasks[i].ranges[j];
			const struct export_range *hit;

			hit = export_lookup(t, t->tasks[i].id, r->va);
			if (hit != r)
				__builtin_trap();
			hit = export_lookup(t, t->tasks[i].id, r->va + r->len - 1);
			if (hit != r)
				__builtin_trap();
			hit = export_lookup(t, t->tasks[i].id, r->va + r->len);
			if (hit && (hit == r || hit->va != r->va + r->len))
				__builtin_trap();
		}
}

static void take(struct ctl_export_rx *rx, const RdmaCtlMsg *m)
{
	char why[256], text[RDMA_CTL_MAX_LOGGED + 4];

	switch (m->body_case) {
	case RDMA_CTL_MSG__BODY_HELLO:
		check_hello(m->hello);
		ctl_printable(m->hello->role, text, sizeof(text));
		break;
	case RDMA_CTL_MSG__BODY_AUTH:
		check_auth(m->auth);
		break;
	case RDMA_CTL_MSG__BODY_EXPORT:
		ctl_export_take(rx, m->export, why, sizeof(why));
		break;
	case RDMA_CTL_MSG__BODY_CLOSE:
		ctl_printable(m->close->error, text, sizeof(text));
		if (strlen(text) > RDMA_CTL_MAX_LOGGED + 3)
			__builtin_trap();
		break;
	case RDMA_CTL_MSG__BODY_TASK_DONE:
		export_task_get(rx->table, m->task_done->task_id, 0);
		break;
	case RDMA_CTL_MSG__BODY_HEARTBEAT:
		/* any seq, or none: a heartbeat only proves the peer is alive */
		break;
	default:
		__builtin_trap(); /* ctl_unpack lets no other body through */
	}
}

static void one(struct ctl_export_rx *rx, const uint8_t *data, size_t size)
{
	char why[256];
	RdmaCtlMsg *m = ctl_unpack(data, size, why, sizeof(why));

	if (!m)
		return;
	take(rx, m);
	ctl_free(m);
}

/* A record taken must hold what the target may connect to: numeric addresses and a port. */
static void check_record(const uint8_t *data, size_t size)
{
	unsigned char bin[sizeof(struct in6_addr)];
	struct serve_addrs a;
	char why[256];
	unsigned int i;

	if (serve_addrs_parse((const char *)data, size, &a, why, sizeof(why)))
		return;
	if (!a.n || a.n > SERVE_ADDRS_MAX || !a.port)
		__builtin_trap();
	for (i = 0; i < a.n; i++)
		if (inet_pton(AF_INET, a.addr[i], bin) != 1 && inet_pton(AF_INET6, a.addr[i], bin) != 1)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct export_table table = {};
	struct ctl_export_rx rx = { .table = &table };
	char why[256];

	if (size && data[0] == 0xfe) {
		check_record(data + 1, size - 1);
		return 0;
	}
	if (size && data[0] == 0xff) {
		size_t off = 1;

		while (off + 2 <= size) {
			size_t len = data[off] | (size_t)data[off + 1] << 8;

			off += 2;
			if (len > size - off)
				len = size - off;
			one(&rx, data + off, len);
			off += len;
		}
	} else {
		one(&rx, data, size);
	}
	if (!ctl_export_seal(&rx, why, sizeof(why)))
		check_table(&table);
	export_table_free(&table);
	return 0;
}
