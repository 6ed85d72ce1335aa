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

void ctl_self_init(struct ctl_self *self, const char *role, const char *secret)
{
	self->version = RDMA_CTL_VERSION;
	self->page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	self->secret = (secret && *secret) ? secret : NULL;
	self->role = role;
}

static void secret_tag(const char *secret, uint8_t tag[32])
{
	/* Domain-separated so the tag is useless as a digest of the secret elsewhere. */
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "criu-rdma-v1:%s", secret);

	if (n < 0 || (size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	ctl_sha256(buf, (size_t)n, tag);
}

void ctl_hello_build(RdmaCtlMsg *msg, RdmaHello *hello, uint8_t tag[32], const struct ctl_self *self)
{
	rdma_ctl_msg__init(msg);
	rdma_hello__init(hello);
	hello->version = self->version;
	hello->page_size = self->page_size;
	hello->byte_order = byte_order_mark();
	hello->role = (char *)(self->role ? self->role : "");
	if (self->secret) {
		secret_tag(self->secret, tag);
		hello->has_secret_tag = 1;
		hello->secret_tag.data = tag;
		hello->secret_tag.len = 32;
	}
	msg->body_case = RDMA_CTL_MSG__BODY_HELLO;
	msg->hello = hello;
}

int ctl_hello_check(const RdmaHello *peer, const struct ctl_self *self, char *why, size_t why_len)
{
	uint8_t tag[32];

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
	if (!self->secret != !peer->has_secret_tag) {
		snprintf(why, why_len, "shared secret: %s one, %s not", self->secret ? "we have" : "peer has",
			 self->secret ? "peer does" : "we do");
		return -1;
	}
	if (self->secret) {
		secret_tag(self->secret, tag);
		if (peer->secret_tag.len != 32 || memcmp(peer->secret_tag.data, tag, 32)) {
			snprintf(why, why_len, "shared secret differs");
			return -1;
		}
	}
	return 0;
}

ssize_t ctl_pack(const RdmaCtlMsg *msg, void *buf, size_t size)
{
	size_t len = rdma_ctl_msg__get_packed_size(msg);

	if (len > size)
		return -1;
	return (ssize_t)rdma_ctl_msg__pack(msg, buf);
}

/* Semantic checks protobuf cannot express. */
static int ctl_validate(const RdmaCtlMsg *msg, char *why, size_t why_len)
{
	size_t i;

	switch (msg->body_case) {
	case RDMA_CTL_MSG__BODY_HELLO:
	case RDMA_CTL_MSG__BODY_TASK_DONE:
	case RDMA_CTL_MSG__BODY_CLOSE:
		return 0;
	case RDMA_CTL_MSG__BODY_EXPORT:
		for (i = 0; i < msg->export->n_ranges; i++) {
			const RdmaRange *r = msg->export->ranges[i];

			if (r->len == 0 || r->va + r->len < r->va) {
				snprintf(why, why_len, "export range %zu is empty or wraps (va 0x%llx len %llu)", i,
					 (unsigned long long)r->va, (unsigned long long)r->len);
				return -1;
			}
		}
		return 0;
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
	default:
		return "none";
	}
}
