// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "ctl_auth.h"

/* Domain separation: these proofs mean nothing to any other protocol. */
#define PROOF_LABEL "criu-rdma session proof v3"

int ctl_random(void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = getrandom((uint8_t *)buf + off, len - off, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, (const uint8_t *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

int ctl_key_create(int dirfd, const char *name, struct ctl_key *key, char *why, size_t why_len)
{
	int fd;

	if (ctl_random(key->bytes, CTL_KEY_LEN)) {
		snprintf(why, why_len, "no random bytes for a session key: %s", strerror(errno));
		return -1;
	}
	key->len = CTL_KEY_LEN;
	/* a fresh file: never write through a link or into a file someone else opened */
	if (unlinkat(dirfd, name, 0) && errno != ENOENT) {
		snprintf(why, why_len, "cannot replace the old %s: %s", name, strerror(errno));
		return -1;
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, why_len, "cannot create %s: %s", name, strerror(errno));
		return -1;
	}
	if (write_all(fd, key->bytes, key->len) || fsync(fd)) {
		snprintf(why, why_len, "cannot write %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd)) {
		snprintf(why, why_len, "cannot write %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

int ctl_key_read(int dirfd, const char *name, struct ctl_key *key, char *why, size_t why_len)
{
	uint8_t extra;
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "cannot read the session key %s: %s", name, strerror(errno));
		return -1;
	}
	n = read(fd, key->bytes, sizeof(key->bytes));
	if (n < 0) {
		snprintf(why, why_len, "cannot read the session key %s: %s", name, strerror(errno));
	} else if (n == (ssize_t)sizeof(key->bytes) && read(fd, &extra, 1) > 0) {
		snprintf(why, why_len, "the session key %s is longer than %d bytes", name, CTL_KEY_MAX);
		n = -1;
	} else if (n < CTL_KEY_MIN) {
		snprintf(why, why_len, "the session key %s has %zd bytes, fewer than %d", name, n, CTL_KEY_MIN);
		n = -1;
	}
	close(fd);
	if (n < 0)
		return -1;
	key->len = (size_t)n;
	return 0;
}

int ctl_key_from_secret(const char *secret, struct ctl_key *key, char *why, size_t why_len)
{
	size_t len = strlen(secret);

	if (len < CTL_KEY_MIN || len > CTL_KEY_MAX) {
		snprintf(why, why_len, "a secret of %zu bytes: %d to %d are taken", len, CTL_KEY_MIN, CTL_KEY_MAX);
		return -1;
	}
	memcpy(key->bytes, secret, len);
	key->len = len;
	return 0;
}

int ctl_key_load(const char *secret, const char *key_file, int dirfd, bool create, struct ctl_key *key,
		 const char **from, char *why, size_t why_len)
{
	if (secret) {
		*from = "CRIU_RDMA_SECRET";
		return ctl_key_from_secret(secret, key, why, why_len);
	}
	if (key_file) {
		*from = key_file;
		return ctl_key_read(AT_FDCWD, key_file, key, why, why_len);
	}
	*from = "the image directory (" CTL_KEY_FILE ")";
	if (dirfd < 0) {
		snprintf(why, why_len, "no image directory to keep the session key in");
		return -1;
	}
	if (create)
		return ctl_key_create(dirfd, CTL_KEY_FILE, key, why, why_len);
	return ctl_key_read(dirfd, CTL_KEY_FILE, key, why, why_len);
}

static void put_be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

void ctl_proof(const struct ctl_key *key, const char *role, const struct ctl_binding *b, uint8_t out[CTL_PROOF_LEN])
{
	struct hmac_sha256_ctx ctx;
	uint8_t qpns[9];

	put_be32(qpns, b->qpn_source);
	put_be32(qpns + 4, b->qpn_target);
	qpns[8] = b->lane;
	hmac_sha256_set_key(&ctx, key->len, key->bytes);
	/* each string with its NUL: no two (label, role) pairs give the same bytes */
	hmac_sha256_update(&ctx, sizeof(PROOF_LABEL), (const uint8_t *)PROOF_LABEL);
	hmac_sha256_update(&ctx, strlen(role) + 1, (const uint8_t *)role);
	hmac_sha256_update(&ctx, CTL_NONCE_LEN, b->nonce_source);
	hmac_sha256_update(&ctx, CTL_NONCE_LEN, b->nonce_target);
	hmac_sha256_update(&ctx, sizeof(qpns), qpns);
	hmac_sha256_digest(&ctx, CTL_PROOF_LEN, out);
}

bool ctl_proof_ok(const struct ctl_key *key, const char *role, const struct ctl_binding *b, const uint8_t *proof,
		  size_t len)
{
	uint8_t want[CTL_PROOF_LEN];
	bool ok;

	if (!proof || len != CTL_PROOF_LEN)
		return false;
	ctl_proof(key, role, b, want);
	ok = memeql_sec(want, proof, CTL_PROOF_LEN);
	memset(want, 0, sizeof(want));
	return ok;
}
