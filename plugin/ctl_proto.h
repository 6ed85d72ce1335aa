/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Control protocol of the RDMA lazy-pages transport: building, checking,
 * packing and unpacking the protobuf-c messages of proto/rdma-ctl.proto.
 * Pure code, no verbs: unit-tested on hosts without RDMA.
 */
#ifndef __CRIU_RDMA_CTL_PROTO_H__
#define __CRIU_RDMA_CTL_PROTO_H__

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rdma-ctl.pb-c.h"

/* 2: after the export table the target opens a second connection, the fault lane */
#define RDMA_CTL_VERSION 2
/* One control message fits one receive slot. */
#define RDMA_CTL_MAX_MSG (64 * 1024)
/* Ranges per export chunk, so a chunk always fits RDMA_CTL_MAX_MSG. */
#define RDMA_CTL_RANGES_PER_MSG 2048

/* What this side is; the peer's hello must agree with it. */
struct ctl_self {
	uint32_t version;
	uint32_t page_size;
	const char *secret; /* NULL: no shared secret configured */
	const char *role;
};

void ctl_self_init(struct ctl_self *self, const char *role, const char *secret);

/* Fills @msg with our hello; @tag (32 bytes) must outlive @msg. */
void ctl_hello_build(RdmaCtlMsg *msg, RdmaHello *hello, uint8_t tag[32], const struct ctl_self *self);

/*
 * Returns 0 if the peer's hello matches us, -1 otherwise with @why naming
 * the field that differed and both values.
 */
int ctl_hello_check(const RdmaHello *peer, const struct ctl_self *self, char *why, size_t why_len);

/* Packs @msg into @buf; returns the length, or -1 if it does not fit. */
ssize_t ctl_pack(const RdmaCtlMsg *msg, void *buf, size_t size);

/*
 * Unpacks and validates one message.  Returns NULL with @why set if the bytes
 * are not a well-formed control message.  Free with ctl_free().
 */
RdmaCtlMsg *ctl_unpack(const void *buf, size_t len, char *why, size_t why_len);
void ctl_free(RdmaCtlMsg *msg);

const char *ctl_body_name(RdmaCtlMsg__BodyCase body);

/* SHA-256, for the shared-secret tag (no crypto library dependency). */
void ctl_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
