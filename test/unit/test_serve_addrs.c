// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the record of where the source serves: written whole and
 * read back in order; every malformed record refused whole (a name instead
 * of an address, a bad or missing port, ports that differ, too many lines,
 * a NUL, an empty or oversized file); this host's addresses from libnl
 * (never loopback).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "serve_addrs.h"

static bool refused(const char *text)
{
	struct serve_addrs a;
	char why[256] = "";
	int ret = serve_addrs_parse(text, strlen(text), &a, why, sizeof(why));

	/* a refusal says why */
	CHECK(ret == 0 || why[0]);
	return ret != 0;
}

static void test_parse(void)
{
	struct serve_addrs a;
	char why[256], big[4096];
	static const char nul[] = "10.0.0.1 7600\n\0x 7600\n";
	size_t i;

	CHECK(serve_addrs_parse("10.0.0.1 7600\nfd00::2 7600\n", 27, &a, why, sizeof(why)) == 0);
	CHECK(a.n == 2 && a.port == 7600 && !strcmp(a.addr[0], "10.0.0.1") && !strcmp(a.addr[1], "fd00::2"));
	/* no final newline; a repeated address counts once */
	CHECK(serve_addrs_parse("10.0.0.1 7600\n10.0.0.1 7600", 27, &a, why, sizeof(why)) == 0 && a.n == 1);
	CHECK(refused(""));
	CHECK(refused("\n"));
	CHECK(refused("source.example 7600\n"));
	CHECK(refused("10.0.0.1\n"));
	CHECK(refused("10.0.0.1 \n"));
	CHECK(refused("10.0.0.1 0\n"));
	CHECK(refused("10.0.0.1 65536\n"));
	CHECK(refused("10.0.0.1 -1\n"));
	CHECK(refused("10.0.0.1 +7600\n"));
	CHECK(refused("10.0.0.1 76x\n"));
	CHECK(refused("10.0.0.1 7600 extra\n"));
	CHECK(refused("10.0.0.1 7600\n10.0.0.2 7601\n"));
	CHECK(refused("10.0.0.1  7600\n"));
	CHECK(refused("10.0.0.256 7600\n"));
	CHECK(serve_addrs_parse(nul, sizeof(nul) - 1, &a, why, sizeof(why)) != 0);
	/* a line longer than any address and port */
	memset(big, '1', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	CHECK(refused(big));
	/* SERVE_ADDRS_MAX distinct lines pass, one more does not */
	big[0] = '\0';
	for (i = 0; i <= SERVE_ADDRS_MAX; i++) {
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "10.0.0.%zu 7600\n", i + 1);
		if (i == SERVE_ADDRS_MAX - 1)
			CHECK(!refused(big));
	}
	CHECK(refused(big));
}

static void test_file(void)
{
	char dir[] = "/tmp/serve-addrs-XXXXXX", why[256], path[64];
	struct serve_addrs a = { .port = 7600 }, b;
	int dirfd, fd;

	CHECK(mkdtemp(dir) != NULL);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(dirfd >= 0);
	/* nothing recorded yet */
	CHECK(serve_addrs_read(dirfd, &b, why, sizeof(why)) != 0);
	CHECK(serve_addrs_add(&a, "192.168.77.1") == 0 && serve_addrs_add(&a, "fd00::1") == 0);
	CHECK(serve_addrs_add(&a, "not-an-address") != 0 && a.n == 2);
	CHECK(serve_addrs_write(dirfd, &a, why, sizeof(why)) == 0);
	CHECK(serve_addrs_read(dirfd, &b, why, sizeof(why)) == 0);
	CHECK(b.n == 2 && b.port == 7600 && !strcmp(b.addr[0], "192.168.77.1") && !strcmp(b.addr[1], "fd00::1"));
	/* nothing left behind but the record */
	CHECK(faccessat(dirfd, SERVE_ADDRS_FILE ".tmp", F_OK, 0) != 0);
	/* an oversized record is refused, not cut */
	fd = openat(dirfd, SERVE_ADDRS_FILE, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	for (int i = 0; i < 2000; i++)
		CHECK(write(fd, "10.0.0.1 7600\n", 14) == 14);
	close(fd);
	CHECK(serve_addrs_read(dirfd, &b, why, sizeof(why)) != 0);
	unlinkat(dirfd, SERVE_ADDRS_FILE, 0);
	close(dirfd);
	snprintf(path, sizeof(path), "%s", dir);
	CHECK(rmdir(path) == 0);
}

static void test_local(void)
{
	struct serve_addrs a;
	char why[256];
	unsigned int i;

	CHECK(serve_addrs_local(&a, NULL, why, sizeof(why)) == 0);
	for (i = 0; i < a.n; i++)
		CHECK(strcmp(a.addr[i], "127.0.0.1") && strcmp(a.addr[i], "::1"));
	/* a namespace that does not exist */
	CHECK(serve_addrs_local(&a, "/nonexistent/netns", why, sizeof(why)) != 0 && strstr(why, "/nonexistent"));
}

int main(void)
{
	test_parse();
	test_file();
	test_local();
	return check_report("serve_addrs");
}
