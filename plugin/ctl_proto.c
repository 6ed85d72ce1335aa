// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_proto.h"

/* The byte order mark: the bytes 1,2,3,4 read as a native integer. */
static uint32_t byte_order_mark(void)
{
	static const uint8_t bytes[4] = { 1, 2, 3, 4 };
	uint32_t v;

	memcpy(&v, bytes, sizeof(v));
	return v;
}

void ctl_self_init(struct ctl_self *self, const char *role)
{
	memset(self, 0, sizeof(*self));
	self->version = RDMA_CTL_VERSION;
	self->page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	self->role = role;
}

const char *ctl_peer_role(const struct ctl_self *self)
{
	return strcmp(self->role, "source") ? "source" : "target";
}

void ctl_hello_build(RdmaCtlMsg *msg, RdmaHello *hello, const struct ctl_self *self, const uint8_t nonce[CTL_NONCE_LEN])
{
	rdma_ctl_msg__init(msg);
	rdma_hello__init(hello);
	hello->version = self->version;
	hello->page_size = self->page_size;
	hello->byte_order = byte_order_mark();
	hello->role = (char *)self->role;
	hello->has_nonce = 1;
	hello->nonce.data = (uint8_t *)nonce;
	hello->nonce.len = CTL_NONCE_LEN;
	if (self->instance) {
		hello->has_instance = 1;
		hello->instance.data = (uint8_t *)self->instance;
		hello->instance.len = CTL_INSTANCE_LEN;
	}
	msg->body_case = RDMA_CTL_MSG__BODY_HELLO;
	msg->hello = hello;
}

int ctl_hello_ident(const RdmaHello *peer, const struct ctl_self *self, char *why, size_t why_len)
{
	const char *want = ctl_peer_role(self);
	char role[RDMA_CTL_MAX_LOGGED + 4];

	if (!peer->has_nonce) {
		snprintf(why, why_len, "the peer sent no nonce: protocol version %u, we %u (v3 authenticates)",
			 peer->version, self->version);
		return -1;
	}
	if (peer->nonce.len != CTL_NONCE_LEN) {
		snprintf(why, why_len, "a nonce of %zu bytes, not %d", peer->nonce.len, CTL_NONCE_LEN);
		return -1;
	}
	if (!peer->role || strcmp(peer->role, want)) {
		snprintf(why, why_len, "the peer's role is %s, not %s", ctl_printable(peer->role, role, sizeof(role)),
			 want);
		return -1;
	}
	/* a source resumes a target by it: it must be there, whole, from a target */
	if (!strcmp(want, "target") && peer->version >= 4 &&
	    (!peer->has_instance || peer->instance.len != CTL_INSTANCE_LEN)) {
		snprintf(why, why_len, "the target's instance id is %s", peer->has_instance ? "malformed" : "missing");
		return -1;
	}
	if (!strcmp(want, "source") && peer->has_instance) {
		snprintf(why, why_len, "a source sent a target's instance id");
		return -1;
	}
	return 0;
}

void ctl_heartbeat_build(RdmaCtlMsg *msg, RdmaHeartbeat *hb, uint32_t seq)
{
	rdma_ctl_msg__init(msg);
	rdma_heartbeat__init(hb);
	hb->has_seq = 1;
	hb->seq = seq;
	msg->body_case = RDMA_CTL_MSG__BODY_HEARTBEAT;
	msg->heartbeat = hb;
}

int ctl_hello_compat(const RdmaHello *peer, const struct ctl_self *self, char *why, size_t why_len)
{
	if (peer->version != self->version) {
		snprintf(why, why_len, "protocol version differs: peer %u, we %u", peer->version, self->version);
		return -1;
	}
	if (peer->page_size != self->page_size) {
		snprintf(why, why_len, "page size differs: peer %u, we %u", peer->page_size, self->page_size);
		return -1;
	}
	if (peer->byte_order != byte_order_mark()) {
		snprintf(why, why_len, "byte order differs: peer mark 0x%08x, we 0x%08x", peer->byte_order,
			 byte_order_mark());
		return -1;
	}
	return 0;
}

void ctl_auth_build(RdmaCtlMsg *msg, RdmaAuth *auth, const uint8_t proof[CTL_PROOF_LEN], bool lane)
{
	rdma_ctl_msg__init(msg);
	rdma_auth__init(auth);
	auth->proof.data = (uint8_t *)proof;
	auth->proof.len = CTL_PROOF_LEN;
	auth->has_lane = 1;
	auth->lane = lane;
	msg->body_case = RDMA_CTL_MSG__BODY_AUTH;
	msg->auth = auth;
}

ssize_t ctl_pack(const RdmaCtlMsg *msg, void *buf, size_t size)
{
	size_t len = rdma_ctl_msg__get_packed_size(msg);

	if (len > size)
		return -1;
	return (ssize_t)rdma_ctl_msg__pack(msg, buf);
}

static int validate_export(const RdmaExport *e, char *why, size_t why_len)
{
	size_t i;

	if (e->n_ranges > RDMA_CTL_RANGES_PER_MSG) {
		snprintf(why, why_len, "export chunk of %zu ranges (limit %d)", e->n_ranges, RDMA_CTL_RANGES_PER_MSG);
		return -1;
	}
	for (i = 0; i < e->n_ranges; i++) {
		const RdmaRange *r = e->ranges[i];

		if (r->len == 0 || r->va + r->len <= r->va) {
			snprintf(why, why_len, "export range %zu is empty or wraps (va 0x%llx len %llu)", i,
				 (unsigned long long)r->va, (unsigned long long)r->len);
			return -1;
		}
	}
	return 0;
}

/* Semantic checks protobuf cannot express. */
static int ctl_validate(const RdmaCtlMsg *msg, char *why, size_t why_len)
{
	switch (msg->body_case) {
	case RDMA_CTL_MSG__BODY_HELLO:
	case RDMA_CTL_MSG__BODY_TASK_DONE:
	case RDMA_CTL_MSG__BODY_CLOSE:
	case RDMA_CTL_MSG__BODY_HEARTBEAT:
		return 0;
	case RDMA_CTL_MSG__BODY_AUTH:
		if (msg->auth->proof.len != CTL_PROOF_LEN) {
			snprintf(why, why_len, "a proof of %zu bytes, not %d", msg->auth->proof.len, CTL_PROOF_LEN);
			return -1;
		}
		return 0;
	case RDMA_CTL_MSG__BODY_EXPORT:
		return validate_export(msg->export, why, why_len);
	default:
		snprintf(why, why_len, "message carries no known body (case %d)", msg->body_case);
		return -1;
	}
}

RdmaCtlMsg *ctl_unpack(const void *buf, size_t len, char *why, size_t why_len)
{
	RdmaCtlMsg *msg;

	if (len == 0 || len > RDMA_CTL_MAX_MSG) {
		snprintf(why, why_len, "control message of %zu bytes (limit %d)", len, RDMA_CTL_MAX_MSG);
		return NULL;
	}
	msg = rdma_ctl_msg__unpack(NULL, len, buf);
	if (!msg) {
		snprintf(why, why_len, "malformed control message (%zu bytes)", len);
		return NULL;
	}
	if (ctl_validate(msg, why, why_len)) {
		rdma_ctl_msg__free_unpacked(msg, NULL);
		return NULL;
	}
	return msg;
}

void ctl_free(RdmaCtlMsg *msg)
{
	if (msg)
		rdma_ctl_msg__free_unpacked(msg, NULL);
}

const char *ctl_body_name(RdmaCtlMsg__BodyCase body)
{
	switch (body) {
	case RDMA_CTL_MSG__BODY_HELLO:
		return "hello";
	case RDMA_CTL_MSG__BODY_EXPORT:
		return "export";
	case RDMA_CTL_MSG__BODY_TASK_DONE:
		return "task-done";
	case RDMA_CTL_MSG__BODY_CLOSE:
		return "close";
	case RDMA_CTL_MSG__BODY_AUTH:
		return "auth";
	case RDMA_CTL_MSG__BODY_HEARTBEAT:
		return "heartbeat";
	default:
		return "none";
	}
}

const char *ctl_printable(const char *in, char *out, size_t out_len)
{
	size_t i, n;

	if (!out_len)
		return "";
	if (!in) {
		snprintf(out, out_len, "(none)");
		return out;
	}
	for (i = 0, n = 0; in[i] && n + 1 < out_len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (i == RDMA_CTL_MAX_LOGGED) {
			snprintf(out + n, out_len - n, "...");
			return out;
		}
		out[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[n] = 0;
	return out;
}

int ctl_export_take(struct ctl_export_rx *rx, const RdmaExport *chunk, char *why, size_t why_len)
{
	struct export_task *task;
	size_t i;

	if (rx->last) {
		snprintf(why, why_len, "an export chunk after the last one");
		return -1;
	}
	if (++rx->chunks > RDMA_CTL_MAX_TASKS + RDMA_CTL_MAX_RANGES / RDMA_CTL_RANGES_PER_MSG) {
		snprintf(why, why_len, "more than %d export chunks",
			 RDMA_CTL_MAX_TASKS + RDMA_CTL_MAX_RANGES / RDMA_CTL_RANGES_PER_MSG);
		return -1;
	}
	if (chunk->n_ranges > RDMA_CTL_MAX_RANGES - rx->ranges) {
		snprintf(why, why_len, "more than %d exported ranges", RDMA_CTL_MAX_RANGES);
		return -1;
	}
	task = export_task_get(rx->table, chunk->task_id, 0);
	if (!task && rx->table->nr >= RDMA_CTL_MAX_TASKS) {
		snprintf(why, why_len, "more than %d exported tasks", RDMA_CTL_MAX_TASKS);
		return -1;
	}
	if (!task)
		task = export_task_get(rx->table, chunk->task_id, 1);
	for (i = 0; task && i < chunk->n_ranges; i++) {
		struct export_range r = {
			.va = chunk->ranges[i]->va,
			.len = chunk->ranges[i]->len,
			.rkey = chunk->ranges[i]->rkey,
		};

		if (export_task_add(task, &r))
			task = NULL;
		else
			rx->bytes += r.len;
	}
	if (!task) {
		snprintf(why, why_len, "no memory for the export table");
		return -1;
	}
	rx->ranges += chunk->n_ranges;
	rx->last = chunk->last;
	return 0;
}

int ctl_export_seal(struct ctl_export_rx *rx, char *why, size_t why_len)
{
	size_t i;

	for (i = 0; i < rx->table->nr; i++)
		if (export_task_seal(&rx->table->tasks[i])) {
			snprintf(why, why_len, "the export table of task %u has empty, wrapping or overlapping ranges",
				 rx->table->tasks[i].id);
			return -1;
		}
	return 0;
}
