/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Session authentication: a per-migration key, and proofs of it that bind
 * one connection of one session.
 *
 * The key is made by the serving side (random, in the image directory,
 * mode 0600) and read there by the target, which needs the images to
 * restore anyway: whoever can read them holds the tree's non-lazy memory
 * already.  Each side sends a fresh nonce in its hello, then proves the key
 * with HMAC-SHA256(key, label, its role, both nonces, both QP numbers, lane
 * flag): a proof cannot be reflected (role), replayed (nonces) or carried
 * to another connection (QP numbers).  Pure code: unit-tested and fuzzed.
 */
#ifndef __CRIU_RDMA_CTL_AUTH_H__
#define __CRIU_RDMA_CTL_AUTH_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_NONCE_LEN 32
#define CTL_PROOF_LEN 32
#define CTL_KEY_LEN   32  /* of a key we make */
#define CTL_KEY_MIN   16  /* shortest key taken from a file or a secret */
#define CTL_KEY_MAX   256 /* longest: refused beyond, never cut */
/* The key file, in the image directory. */
#define CTL_KEY_FILE "rdma-session.key"

struct ctl_key {
	uint8_t bytes[CTL_KEY_MAX];
	size_t len;
};

/* What a proof binds: one connection (main or lane) of one session. */
struct ctl_binding {
	uint8_t nonce_source[CTL_NONCE_LEN];
	uint8_t nonce_target[CTL_NONCE_LEN];
	uint32_t qpn_source, qpn_target;
	bool lane;
};

/* Fresh random bytes from the kernel; -1 if it has none to give. */
int ctl_random(void *buf, size_t len);

/* A new random key, written to @name in @dirfd (replacing an old one), mode 0600. */
int ctl_key_create(int dirfd, const char *name, struct ctl_key *key, char *why, size_t why_len);
/* The key in @name in @dirfd (or a path, with AT_FDCWD); refused if unreadable, too short or too long. */
int ctl_key_read(int dirfd, const char *name, struct ctl_key *key, char *why, size_t why_len);
/* A key from a configured secret string. */
int ctl_key_from_secret(const char *secret, struct ctl_key *key, char *why, size_t why_len);

/*
 * The session key in force: @secret if set, else the file @key_file if set,
 * else CTL_KEY_FILE in the image directory @dirfd, made anew there when
 * @create (the serving side) and read otherwise (the target).  @from says
 * which, for the log.
 */
int ctl_key_load(const char *secret, const char *key_file, int dirfd, bool create, struct ctl_key *key,
		 const char **from, char *why, size_t why_len);

/* @role's proof for @b; @role is "source", "target" or "lane-request". */
void ctl_proof(const struct ctl_key *key, const char *role, const struct ctl_binding *b, uint8_t out[CTL_PROOF_LEN]);
/* Whether @proof (of @len bytes, from the peer) is @role's proof for @b; constant time. */
bool ctl_proof_ok(const struct ctl_key *key, const char *role, const struct ctl_binding *b, const uint8_t *proof,
		  size_t len);

#endif
