/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Control protocol of the RDMA lazy-pages transport: building, checking,
 * packing and unpacking the protobuf-c messages of proto/rdma-ctl.proto.
 * Everything here treats the peer's bytes as hostile: every field is
 * checked, optional ones may be absent, counts are bounded, and strings are
 * made printable before they reach a log.  Pure code, no verbs: unit-tested
 * and fuzzed on hosts without RDMA.
 */
#ifndef __CRIU_RDMA_CTL_PROTO_H__
#define __CRIU_RDMA_CTL_PROTO_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl_auth.h"
#include "export_table.h"
#include "rdma-ctl.pb-c.h"

/*
 * 2: after the export table the target opens a second connection, the fault lane
 * 3: nonces in the hellos and HMAC proofs of a per-migration key (rdma_auth)
 * 4: heartbeats both ways; the target's instance id, so that a source which
 *    lost its target resumes that target only
 */
#define RDMA_CTL_VERSION 4
/* Bytes of a target's instance id */
#define CTL_INSTANCE_LEN 16
/* One control message fits one receive slot. */
#define RDMA_CTL_MAX_MSG (64 * 1024)
/* Ranges per export chunk, so a chunk always fits RDMA_CTL_MAX_MSG. */
#define RDMA_CTL_RANGES_PER_MSG 2048
/* Bounds on an export table from the wire (a tree's tasks, its lazy runs). */
#define RDMA_CTL_MAX_TASKS  65536
#define RDMA_CTL_MAX_RANGES (1 << 24)
/* Longest peer string we log; the rest is cut with "...". */
#define RDMA_CTL_MAX_LOGGED 128

/* What this side is; the peer's hello must agree with it. */
struct ctl_self {
	uint32_t version;
	uint32_t page_size;
	const char *role;	 /* "source" or "target" */
	const uint8_t *instance; /* target: CTL_INSTANCE_LEN bytes, for its daemon's life; source: NULL */
};

void ctl_self_init(struct ctl_self *self, const char *role);
/* The role a peer of @self must have. */
const char *ctl_peer_role(const struct ctl_self *self);

/* Fills @msg with our hello carrying @nonce (which must outlive @msg). */
void ctl_hello_build(RdmaCtlMsg *msg, RdmaHello *hello, const struct ctl_self *self,
		     const uint8_t nonce[CTL_NONCE_LEN]);
/*
 * Whether the peer's hello lets us authenticate it: the other role and a
 * nonce.  A hello without a nonce is from an older peer, and says so.
 * 0, or -1 with @why.
 */
int ctl_hello_ident(const RdmaHello *peer, const struct ctl_self *self, char *why, size_t why_len);
/*
 * Whether an authenticated peer can work with us: protocol version, page
 * size, byte order.  0, or -1 with @why naming the field and both values.
 */
int ctl_hello_compat(const RdmaHello *peer, const struct ctl_self *self, char *why, size_t why_len);

/* Fills @msg with a heartbeat. */
void ctl_heartbeat_build(RdmaCtlMsg *msg, RdmaHeartbeat *hb, uint32_t seq);

/* Fills @msg with a proof (@proof must outlive @msg). */
void ctl_auth_build(RdmaCtlMsg *msg, RdmaAuth *auth, const uint8_t proof[CTL_PROOF_LEN], bool lane);

/* Packs @msg into @buf; returns the length, or -1 if it does not fit. */
ssize_t ctl_pack(const RdmaCtlMsg *msg, void *buf, size_t size);

/*
 * Unpacks and validates one message.  Returns NULL with @why set if the bytes
 * are not a well-formed control message.  Free with ctl_free().
 */
RdmaCtlMsg *ctl_unpack(const void *buf, size_t len, char *why, size_t why_len);
void ctl_free(RdmaCtlMsg *msg);

const char *ctl_body_name(RdmaCtlMsg__BodyCase body);

/* @in (may be NULL) made printable and bounded for a log line, in @out. */
const char *ctl_printable(const char *in, char *out, size_t out_len);

/* Receiving an export table chunk by chunk, within the bounds above. */
struct ctl_export_rx {
	struct export_table *table;
	size_t chunks, ranges;
	uint64_t bytes;
	bool last;
};

/* Adds one chunk to rx->table; 0, or -1 with @why (a bound passed, no memory). */
int ctl_export_take(struct ctl_export_rx *rx, const RdmaExport *chunk, char *why, size_t why_len);
/* After the last chunk: each task's ranges sorted and checked. */
int ctl_export_seal(struct ctl_export_rx *rx, char *why, size_t why_len);

#endif
