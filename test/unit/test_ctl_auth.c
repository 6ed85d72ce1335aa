// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of session authentication: proofs bound to a role, both nonces,
 * both QP numbers and the lane flag, refused when any of them differs; the
 * key file made fresh (mode 0600, never through a link), read back within
 * its bounds, and the choice between a secret, a key file and the image
 * directory; the kernel's random bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "ctl_auth.h"

/* The key and binding of the known answers below. */
static void kat_init(struct ctl_key *key, struct ctl_binding *b)
{
	size_t i;

	memset(key, 0, sizeof(*key));
	for (i = 0; i < 32; i++)
		key->bytes[i] = (uint8_t)i;
	key->len = 32;
	memset(b, 0, sizeof(*b));
	for (i = 0; i < CTL_NONCE_LEN; i++) {
		b->nonce_source[i] = (uint8_t)(0x40 + i);
		b->nonce_target[i] = (uint8_t)(0x80 + i);
	}
	b->qpn_source = 0x00123456;
	b->qpn_target = 0x80abcdef;
	b->lane = false;
}

/*
 * HMAC-SHA256 computed apart from nettle (Python's hmac) over
 * "criu-rdma session proof v3\0", the role and its NUL, the source's then
 * the target's nonce, both QP numbers big-endian, the lane byte.  Both ends
 * of a migration may be different builds: the proof is wire format.
 */
static const uint8_t kat_source[CTL_PROOF_LEN] = {
	0x30, 0x08, 0x0d, 0x52, 0x9a, 0x7e, 0x91, 0x65, 0x43, 0x93, 0xe8, 0xc4, 0xd2, 0xb4, 0xba, 0x00,
	0x4f, 0x3e, 0xf6, 0x11, 0xa1, 0x0d, 0x72, 0x46, 0xc9, 0x30, 0x0a, 0xf5, 0x03, 0x5b, 0xc5, 0x4b,
};
/* role "target", lane */
static const uint8_t kat_target_lane[CTL_PROOF_LEN] = {
	0xb7, 0xc0, 0x41, 0x83, 0x60, 0x22, 0x14, 0xec, 0x93, 0xda, 0xbc, 0x02, 0xa6, 0x06, 0x10, 0xbd,
	0xa0, 0x74, 0x66, 0x4c, 0x32, 0x25, 0xc3, 0x42, 0xd6, 0xd1, 0x9c, 0x40, 0x07, 0x36, 0x8c, 0x21,
};
static const uint8_t kat_lane_request[CTL_PROOF_LEN] = {
	0x15, 0x78, 0x76, 0xc4, 0xe9, 0xba, 0x62, 0x6f, 0x5f, 0xbd, 0x82, 0xa4, 0x95, 0xe0, 0x24, 0x78,
	0x3f, 0x84, 0x2a, 0x11, 0xcd, 0xa8, 0xa9, 0xa1, 0x9c, 0x14, 0x8f, 0xc9, 0xf2, 0x57, 0x94, 0x58,
};

static void test_proof_known_answers(void)
{
	uint8_t proof[CTL_PROOF_LEN];
	struct ctl_binding b;
	struct ctl_key key;

	kat_init(&key, &b);
	ctl_proof(&key, "source", &b, proof);
	CHECK(!memcmp(proof, kat_source, CTL_PROOF_LEN));
	ctl_proof(&key, "lane-request", &b, proof);
	CHECK(!memcmp(proof, kat_lane_request, CTL_PROOF_LEN));
	b.lane = true;
	ctl_proof(&key, "target", &b, proof);
	CHECK(!memcmp(proof, kat_target_lane, CTL_PROOF_LEN));
	CHECK(ctl_proof_ok(&key, "target", &b, kat_target_lane, CTL_PROOF_LEN));
}

/* Whether @role's proof for @b under @key is accepted as @check_role's for @c under @ckey. */
static bool accepted(const struct ctl_key *key, const char *role, const struct ctl_binding *b,
		     const struct ctl_key *ckey, const char *check_role, const struct ctl_binding *c)
{
	uint8_t proof[CTL_PROOF_LEN];

	ctl_proof(key, role, b, proof);
	return ctl_proof_ok(ckey, check_role, c, proof, CTL_PROOF_LEN);
}

static void test_proof(void)
{
	static const uint8_t zero[CTL_PROOF_LEN];
	uint8_t p1[CTL_PROOF_LEN], p2[CTL_PROOF_LEN], lr[CTL_PROOF_LEN], longer[CTL_PROOF_LEN + 1];
	struct ctl_binding b, c;
	struct ctl_key key, other;
	size_t i;

	kat_init(&key, &b);

	/* deterministic, not trivial, accepted for the same role and binding */
	ctl_proof(&key, "source", &b, p1);
	ctl_proof(&key, "source", &b, p2);
	CHECK(!memcmp(p1, p2, CTL_PROOF_LEN));
	CHECK(memcmp(p1, zero, CTL_PROOF_LEN) != 0);
	CHECK(ctl_proof_ok(&key, "source", &b, p1, CTL_PROOF_LEN));
	CHECK(accepted(&key, "target", &b, &key, "target", &b));
	CHECK(accepted(&key, "lane-request", &b, &key, "lane-request", &b));
	c = b;
	c.lane = true;
	CHECK(accepted(&key, "source", &c, &key, "source", &c));

	/* reflection: one side's proof sent back as the other's */
	CHECK(!accepted(&key, "source", &b, &key, "target", &b));
	CHECK(!accepted(&key, "target", &b, &key, "source", &b));
	CHECK(!accepted(&key, "source", &c, &key, "target", &c));
	ctl_proof(&key, "target", &b, p2);
	CHECK(memcmp(p1, p2, CTL_PROOF_LEN) != 0);

	/* the lane request's token is no role's proof, nor the other way round */
	ctl_proof(&key, "lane-request", &b, lr);
	CHECK(memcmp(lr, p1, CTL_PROOF_LEN) && memcmp(lr, p2, CTL_PROOF_LEN));
	CHECK(!ctl_proof_ok(&key, "source", &b, lr, CTL_PROOF_LEN));
	CHECK(!ctl_proof_ok(&key, "target", &b, lr, CTL_PROOF_LEN));
	CHECK(!ctl_proof_ok(&key, "lane-request", &b, p1, CTL_PROOF_LEN));
	CHECK(!ctl_proof_ok(&key, "lane-request", &b, p2, CTL_PROOF_LEN));
	c = b;
	c.lane = true;
	ctl_proof(&key, "source", &c, p2);
	CHECK(memcmp(lr, p2, CTL_PROOF_LEN) != 0);

	/* replay into another session: either nonce changed, in any byte */
	for (i = 0; i < CTL_NONCE_LEN; i += 31) {
		c = b;
		c.nonce_source[i] ^= 1;
		CHECK(!accepted(&key, "source", &b, &key, "source", &c));
		CHECK(!accepted(&key, "target", &b, &key, "target", &c));
		c = b;
		c.nonce_target[i] ^= 0x80;
		CHECK(!accepted(&key, "source", &b, &key, "source", &c));
		CHECK(!accepted(&key, "target", &b, &key, "target", &c));
	}
	/* the nonces swapped: whose nonce is whose matters */
	c = b;
	memcpy(c.nonce_source, b.nonce_target, CTL_NONCE_LEN);
	memcpy(c.nonce_target, b.nonce_source, CTL_NONCE_LEN);
	CHECK(!accepted(&key, "source", &b, &key, "source", &c));

	/* another connection: either QP number changed, in its low or high bits, or swapped */
	c = b;
	c.qpn_source++;
	CHECK(!accepted(&key, "source", &b, &key, "source", &c));
	c = b;
	c.qpn_target++;
	CHECK(!accepted(&key, "source", &b, &key, "source", &c));
	c = b;
	c.qpn_source ^= 0x80000000;
	CHECK(!accepted(&key, "source", &b, &key, "source", &c));
	c = b;
	c.qpn_target ^= 0x01000000;
	CHECK(!accepted(&key, "target", &b, &key, "target", &c));
	c = b;
	c.qpn_source = b.qpn_target;
	c.qpn_target = b.qpn_source;
	CHECK(!accepted(&key, "source", &b, &key, "source", &c));

	/* the main connection's proof is not the lane's, nor the other way round */
	c = b;
	c.lane = true;
	CHECK(!accepted(&key, "source", &b, &key, "source", &c));
	CHECK(!accepted(&key, "target", &c, &key, "target", &b));

	/* another key: one byte differs, or the same bytes cut shorter or made longer */
	other = key;
	other.bytes[17] ^= 4;
	CHECK(!accepted(&key, "source", &b, &other, "source", &b));
	other = key;
	other.len = 31;
	CHECK(!accepted(&key, "source", &b, &other, "source", &b));
	other = key;
	other.bytes[32] = 0x5a; /* not 0: HMAC pads a short key with zeros */
	other.len = 33;
	CHECK(!accepted(&key, "source", &b, &other, "source", &b));
	CHECK(!accepted(&other, "source", &b, &key, "source", &b));

	/* the proof's length and presence */
	memcpy(longer, p1, CTL_PROOF_LEN);
	longer[CTL_PROOF_LEN] = 0;
	CHECK(!ctl_proof_ok(&key, "source", &b, longer, CTL_PROOF_LEN + 1));
	CHECK(!ctl_proof_ok(&key, "source", &b, p1, CTL_PROOF_LEN - 1));
	CHECK(!ctl_proof_ok(&key, "source", &b, p1, 16));
	CHECK(!ctl_proof_ok(&key, "source", &b, p1, 0));
	CHECK(!ctl_proof_ok(&key, "source", &b, NULL, CTL_PROOF_LEN));
	CHECK(!ctl_proof_ok(&key, "source", &b, NULL, 0));
	CHECK(!ctl_proof_ok(&key, "source", &b, zero, CTL_PROOF_LEN));

	/* every single-bit flip of a good proof is refused */
	{
		unsigned int refused = 0;

		for (i = 0; i < CTL_PROOF_LEN * 8; i++) {
			memcpy(p2, p1, CTL_PROOF_LEN);
			p2[i / 8] ^= (uint8_t)(1 << (i % 8));
			refused += !ctl_proof_ok(&key, "source", &b, p2, CTL_PROOF_LEN);
		}
		CHECK(refused == CTL_PROOF_LEN * 8);
	}
	/* and the good one still holds afterwards */
	CHECK(ctl_proof_ok(&key, "source", &b, p1, CTL_PROOF_LEN));
}

/*
 * A scratch directory for the key files, removed by dir_remove(); the tests
 * below use it in turn and leave files there for the next.
 */
static char dir_path[] = "/tmp/test_ctl_auth.XXXXXX";

static int dir_open(void)
{
	int fd;

	if (!mkdtemp(dir_path)) {
		perror("mkdtemp");
		return -1;
	}
	fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		perror(dir_path);
	return fd;
}

static const char *const scratch_names[] = {
	CTL_KEY_FILE, "victim", "victim-hard", "dangling-target", "k15", "k16", "k256", "k257", "k0", "kdir",
};

static void dir_remove(int dirfd)
{
	size_t i;

	for (i = 0; i < sizeof(scratch_names) / sizeof(scratch_names[0]); i++)
		if (unlinkat(dirfd, scratch_names[i], 0) && errno == EISDIR)
			unlinkat(dirfd, scratch_names[i], AT_REMOVEDIR);
	close(dirfd);
	if (rmdir(dir_path))
		perror(dir_path);
}

/* Writes @len bytes (i * 13 + @seed) to @name; 0 or -1. */
static int put_file(int dirfd, const char *name, size_t len, uint8_t seed, mode_t mode)
{
	uint8_t buf[1024];
	size_t i;
	int fd, ret;

	for (i = 0; i < len && i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + seed);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	ret = write(fd, buf, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return ret;
}

/* Reads up to @size bytes of @name; the count, or -1. */
static ssize_t get_file(int dirfd, const char *name, uint8_t *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size);
	close(fd);
	return n;
}

/*
 * ctl_key_create()'s unlinkat(), so that a test can play an attacker who
 * plants a link between the unlink of the old key and the open of the new.
 */
static const char *plant_link_to;

int unlinkat(int dirfd, const char *path, int flags)
{
	long ret = syscall(SYS_unlinkat, dirfd, path, flags);
	int err = errno;

	if (plant_link_to && !strcmp(path, CTL_KEY_FILE)) {
		if (symlinkat(plant_link_to, dirfd, path))
			perror("symlinkat");
		plant_link_to = NULL;
	}
	errno = err;
	return (int)ret;
}

static void expect_words(const char *why, const char *word)
{
	if (!strstr(why, word)) {
		fprintf(stderr, "message '%s' does not name '%s'\n", why, word);
		failures++;
	}
}

static void test_key_create(int dirfd)
{
	struct ctl_key k1, k2, back;
	uint8_t buf[512];
	char why[256] = "";
	struct stat st;
	mode_t old_mask;

	/* the mode is 0600 whatever the umask lets through */
	old_mask = umask(0);
	memset(&k1, 0, sizeof(k1));
	CHECK(ctl_key_create(dirfd, CTL_KEY_FILE, &k1, why, sizeof(why)) == 0);
	CHECK(k1.len == CTL_KEY_LEN);
	CHECK(fstatat(dirfd, CTL_KEY_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 && st.st_size == CTL_KEY_LEN);
	CHECK(get_file(dirfd, CTL_KEY_FILE, buf, sizeof(buf)) == CTL_KEY_LEN);
	CHECK(!memcmp(buf, k1.bytes, CTL_KEY_LEN));
	memset(buf, 0, sizeof(buf));
	CHECK(memcmp(k1.bytes, buf, CTL_KEY_LEN) != 0);

	/* read back */
	memset(&back, 0, sizeof(back));
	CHECK(ctl_key_read(dirfd, CTL_KEY_FILE, &back, why, sizeof(why)) == 0);
	CHECK(back.len == CTL_KEY_LEN && !memcmp(back.bytes, k1.bytes, CTL_KEY_LEN));

	/* a second key differs, and replaces the first */
	CHECK(ctl_key_create(dirfd, CTL_KEY_FILE, &k2, why, sizeof(why)) == 0);
	CHECK(k2.len == CTL_KEY_LEN && memcmp(k1.bytes, k2.bytes, CTL_KEY_LEN) != 0);
	CHECK(ctl_key_read(dirfd, CTL_KEY_FILE, &back, why, sizeof(why)) == 0);
	CHECK(back.len == CTL_KEY_LEN && !memcmp(back.bytes, k2.bytes, CTL_KEY_LEN));

	/* an old, longer, world-readable file is replaced whole, mode and all */
	CHECK(unlinkat(dirfd, CTL_KEY_FILE, 0) == 0);
	CHECK(put_file(dirfd, CTL_KEY_FILE, 300, 1, 0644) == 0);
	CHECK(ctl_key_create(dirfd, CTL_KEY_FILE, &k1, why, sizeof(why)) == 0);
	CHECK(fstatat(dirfd, CTL_KEY_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 && st.st_size == CTL_KEY_LEN);

	/* a symlink planted at the name: the file it points to is not touched */
	CHECK(put_file(dirfd, "victim", 100, 7, 0644) == 0);
	CHECK(unlinkat(dirfd, CTL_KEY_FILE, 0) == 0);
	CHECK(symlinkat("victim", dirfd, CTL_KEY_FILE) == 0);
	CHECK(ctl_key_create(dirfd, CTL_KEY_FILE, &k1, why, sizeof(why)) == 0);
	CHECK(fstatat(dirfd, "victim", &st, 0) == 0);
	CHECK(st.st_size == 100 && (st.st_mode & 0777) == 0644);
	CHECK(get_file(dirfd, "victim", buf, sizeof(buf)) == 100 && buf[0] == 7 && buf[99] == (uint8_t)(99 * 13 + 7));
	CHECK(fstatat(dirfd, CTL_KEY_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 && st.st_size == CTL_KEY_LEN);
	CHECK(ctl_key_read(dirfd, CTL_KEY_FILE, &back, why, sizeof(why)) == 0);
	CHECK(back.len == CTL_KEY_LEN && !memcmp(back.bytes, k1.bytes, CTL_KEY_LEN));

	/* a symlink planted after the old key is gone: refused, not followed */
	plant_link_to = "victim";
	why[0] = 0;
	CHECK(ctl_key_create(dirfd, CTL_KEY_FILE, &k1, why, sizeof(why)) == -1);
	CHECK(plant_link_to == NULL);
	expect_words(why, "cannot create " CTL_KEY_FILE);
	CHECK(get_file(dirfd, "victim", buf, sizeof(buf)) == 100 && buf[0] == 7 && buf[99] == (uint8_t)(99 * 13 + 7));
	CHECK(fstatat(dirfd, CTL_KEY_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));

	/* a dangling symlink: nothing is created where it points */
	CHECK(unlinkat(dirfd, CTL_KEY_FILE, 0) == 0);
	CHECK(symlinkat("dangling-target", dirfd, CTL_KEY_FILE) == 0);
	CHECK(ctl_key_create(dirfd, CTL_KEY_FILE, &k1, why, sizeof(why)) == 0);
	CHECK(faccessat(dirfd, "dangling-target", F_OK, 0) == -1 && errno == ENOENT);
	CHECK(fstatat(dirfd, CTL_KEY_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));

	/* a hard link to another file: that file keeps its bytes */
	CHECK(unlinkat(dirfd, CTL_KEY_FILE, 0) == 0);
	CHECK(put_file(dirfd, "victim-hard", 64, 9, 0644) == 0);
	CHECK(linkat(dirfd, "victim-hard", dirfd, CTL_KEY_FILE, 0) == 0);
	CHECK(ctl_key_create(dirfd, CTL_KEY_FILE, &k1, why, sizeof(why)) == 0);
	CHECK(get_file(dirfd, "victim-hard", buf, sizeof(buf)) == 64 && buf[0] == 9 &&
	      buf[63] == (uint8_t)(63 * 13 + 9));
	CHECK(fstatat(dirfd, "victim-hard", &st, 0) == 0 && st.st_nlink == 1 && (st.st_mode & 0777) == 0644);

	/* a directory where the key should go: refused with a message */
	CHECK(mkdirat(dirfd, "kdir", 0700) == 0);
	why[0] = 0;
	CHECK(ctl_key_create(dirfd, "kdir", &k1, why, sizeof(why)) == -1);
	expect_words(why, "kdir");
	umask(old_mask);
}

static void test_key_read(int dirfd)
{
	struct ctl_key key;
	char why[256] = "", path[sizeof(dir_path) + 16];
	uint8_t buf[512];

	/* missing: refused, naming the file and the reason */
	CHECK(ctl_key_read(dirfd, "no-such-key", &key, why, sizeof(why)) == -1);
	expect_words(why, "no-such-key");
	expect_words(why, strerror(ENOENT));

	CHECK(put_file(dirfd, "k0", 0, 0, 0600) == 0);
	CHECK(put_file(dirfd, "k15", CTL_KEY_MIN - 1, 1, 0600) == 0);
	CHECK(put_file(dirfd, "k16", CTL_KEY_MIN, 2, 0600) == 0);
	CHECK(put_file(dirfd, "k256", CTL_KEY_MAX, 3, 0600) == 0);
	CHECK(put_file(dirfd, "k257", CTL_KEY_MAX + 1, 4, 0600) == 0);

	why[0] = 0;
	CHECK(ctl_key_read(dirfd, "k0", &key, why, sizeof(why)) == -1);
	expect_words(why, "k0");
	why[0] = 0;
	CHECK(ctl_key_read(dirfd, "k15", &key, why, sizeof(why)) == -1);
	expect_words(why, "k15 has 15 bytes");
	why[0] = 0;
	CHECK(ctl_key_read(dirfd, "k257", &key, why, sizeof(why)) == -1);
	expect_words(why, "k257 is longer than 256");

	memset(&key, 0, sizeof(key));
	CHECK(ctl_key_read(dirfd, "k16", &key, why, sizeof(why)) == 0);
	CHECK(get_file(dirfd, "k16", buf, sizeof(buf)) == CTL_KEY_MIN);
	CHECK(key.len == CTL_KEY_MIN && !memcmp(key.bytes, buf, CTL_KEY_MIN));
	memset(&key, 0, sizeof(key));
	CHECK(ctl_key_read(dirfd, "k256", &key, why, sizeof(why)) == 0);
	CHECK(get_file(dirfd, "k256", buf, sizeof(buf)) == CTL_KEY_MAX);
	CHECK(key.len == CTL_KEY_MAX && !memcmp(key.bytes, buf, CTL_KEY_MAX));

	/* a directory is not a key */
	why[0] = 0;
	CHECK(ctl_key_read(dirfd, "kdir", &key, why, sizeof(why)) == -1);
	expect_words(why, "kdir");

	/* a path, with AT_FDCWD */
	snprintf(path, sizeof(path), "%s/k16", dir_path);
	memset(&key, 0, sizeof(key));
	CHECK(ctl_key_read(AT_FDCWD, path, &key, why, sizeof(why)) == 0);
	CHECK(key.len == CTL_KEY_MIN && key.bytes[1] == 13 + 2);
}

static void test_key_from_secret(void)
{
	char secret[CTL_KEY_MAX + 2], why[256] = "";
	struct ctl_key key;

	memset(secret, 's', sizeof(secret));
	secret[CTL_KEY_MIN - 1] = 0;
	CHECK(ctl_key_from_secret(secret, &key, why, sizeof(why)) == -1);
	expect_words(why, "15 bytes");
	CHECK(ctl_key_from_secret("", &key, why, sizeof(why)) == -1);

	memset(secret, 's', sizeof(secret));
	secret[0] = 'A';
	secret[CTL_KEY_MIN] = 0;
	memset(&key, 0, sizeof(key));
	CHECK(ctl_key_from_secret(secret, &key, why, sizeof(why)) == 0);
	CHECK(key.len == CTL_KEY_MIN && !memcmp(key.bytes, secret, CTL_KEY_MIN));

	memset(secret, 's', sizeof(secret));
	secret[CTL_KEY_MAX - 1] = 'Z';
	secret[CTL_KEY_MAX] = 0;
	memset(&key, 0, sizeof(key));
	CHECK(ctl_key_from_secret(secret, &key, why, sizeof(why)) == 0);
	CHECK(key.len == CTL_KEY_MAX && key.bytes[CTL_KEY_MAX - 1] == 'Z');

	/* longer is refused, never cut to the first CTL_KEY_MAX bytes */
	secret[CTL_KEY_MAX] = 's';
	secret[CTL_KEY_MAX + 1] = 0;
	why[0] = 0;
	CHECK(ctl_key_from_secret(secret, &key, why, sizeof(why)) == -1);
	expect_words(why, "257 bytes");
}

static void test_key_load(int dirfd)
{
	const char *secret = "a secret of the migration";
	char why[256] = "", path[sizeof(dir_path) + 16];
	struct ctl_key key, file_key, dir_key;
	const char *from;

	snprintf(path, sizeof(path), "%s/k16", dir_path);
	CHECK(ctl_key_read(AT_FDCWD, path, &file_key, why, sizeof(why)) == 0);

	/* the secret first, whatever else is set */
	from = NULL;
	CHECK(ctl_key_load(secret, path, dirfd, true, &key, &from, why, sizeof(why)) == 0);
	CHECK(key.len == strlen(secret) && !memcmp(key.bytes, secret, key.len));
	CHECK(from && strstr(from, "SECRET"));
	/* a bad secret is an error, not a reason to look elsewhere */
	CHECK(ctl_key_load("short", path, dirfd, true, &key, &from, why, sizeof(why)) == -1);

	/* then the key file */
	from = NULL;
	CHECK(ctl_key_load(NULL, path, dirfd, true, &key, &from, why, sizeof(why)) == 0);
	CHECK(key.len == file_key.len && !memcmp(key.bytes, file_key.bytes, key.len));
	CHECK(from == path);
	/* a missing key file is an error, not a reason to use the image directory */
	snprintf(path, sizeof(path), "%s/missing", dir_path);
	why[0] = 0;
	CHECK(ctl_key_load(NULL, path, dirfd, false, &key, &from, why, sizeof(why)) == -1);
	expect_words(why, path);

	/* then the image directory: made there by the serving side, read there by the target */
	CHECK(unlinkat(dirfd, CTL_KEY_FILE, 0) == 0);
	from = NULL;
	CHECK(ctl_key_load(NULL, NULL, dirfd, true, &dir_key, &from, why, sizeof(why)) == 0);
	CHECK(dir_key.len == CTL_KEY_LEN && from && strstr(from, CTL_KEY_FILE));
	from = NULL;
	memset(&key, 0, sizeof(key));
	CHECK(ctl_key_load(NULL, NULL, dirfd, false, &key, &from, why, sizeof(why)) == 0);
	CHECK(key.len == CTL_KEY_LEN && !memcmp(key.bytes, dir_key.bytes, CTL_KEY_LEN));
	CHECK(from && strstr(from, CTL_KEY_FILE));

	/* the target finds no key: it says which file it looked for */
	CHECK(unlinkat(dirfd, CTL_KEY_FILE, 0) == 0);
	why[0] = 0;
	CHECK(ctl_key_load(NULL, NULL, dirfd, false, &key, &from, why, sizeof(why)) == -1);
	expect_words(why, CTL_KEY_FILE);
	CHECK(faccessat(dirfd, CTL_KEY_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == -1);

	/* no image directory and nothing configured */
	why[0] = 0;
	CHECK(ctl_key_load(NULL, NULL, -1, true, &key, &from, why, sizeof(why)) == -1);
	CHECK(why[0] != 0);
	why[0] = 0;
	CHECK(ctl_key_load(NULL, NULL, -1, false, &key, &from, why, sizeof(why)) == -1);
	CHECK(why[0] != 0);
}

static void test_random(void)
{
	static uint8_t big[1 << 20];
	uint8_t a[64], b[64], zero[64] = { 0 }, ones[64];
	size_t i, zeros = 0;

	memset(a, 0, sizeof(a));
	memset(b, 0xff, sizeof(b));
	memset(ones, 0xff, sizeof(ones));
	CHECK(ctl_random(a, sizeof(a)) == 0);
	CHECK(ctl_random(b, sizeof(b)) == 0);
	CHECK(memcmp(a, zero, sizeof(a)) != 0);
	CHECK(memcmp(b, ones, sizeof(b)) != 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(ctl_random(a, 0) == 0);

	/* a buffer larger than one getrandom() call may fill, to its end */
	CHECK(ctl_random(big, sizeof(big)) == 0);
	for (i = sizeof(big) - 4096; i < sizeof(big); i++)
		zeros += big[i] == 0;
	CHECK(zeros < 64);
}

int main(void)
{
	int dirfd;

	test_proof_known_answers();
	test_proof();
	test_key_from_secret();
	test_random();
	dirfd = dir_open();
	CHECK(dirfd >= 0);
	if (dirfd >= 0) {
		test_key_create(dirfd);
		test_key_read(dirfd);
		test_key_load(dirfd);
		dir_remove(dirfd);
	}
	return check_report("session authentication");
}
