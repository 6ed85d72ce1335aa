/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the source serves, so that the target needs no address.
 *
 * With no --address, the source serves on the addresses of its RDMA-capable
 * netdevs: the candidates are every address of an interface that is up
 * (not loopback, not link-local), from libnl-3's address cache; which of
 * them an RDMA device serves is for rdma_cm to say (see source_server.c).
 * The source writes what it serves on, and its port, into the image
 * directory next to the session key (SERVE_ADDRS_FILE, one "ADDRESS PORT"
 * line per address, in the order to try); a target given no --address reads
 * it and tries the addresses in turn.  The file is input to the target like
 * any other: each line is checked and a malformed file is refused whole.
 */
#ifndef __CRIU_RDMA_SERVE_ADDRS_H__
#define __CRIU_RDMA_SERVE_ADDRS_H__

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#define SERVE_ADDRS_FILE "rdma-serve.txt"
#define SERVE_ADDRS_MAX	 16

struct serve_addrs {
	char addr[SERVE_ADDRS_MAX][INET6_ADDRSTRLEN];
	unsigned int n;
	unsigned short port;
};

/*
 * The candidates on this host (libnl-3), IPv4 first, seen from network
 * namespace @netns (a path, or NULL: ours); 0 (maybe none), or -1 with @why.
 */
int serve_addrs_local(struct serve_addrs *out, const char *netns, char *why, size_t why_len);
/* Adds @addr (a numeric IPv4/IPv6 address) unless full or already there; 0 or -1. */
int serve_addrs_add(struct serve_addrs *a, const char *addr);
/* The file's text for @a (at most @len bytes with the NUL); its length, or -1 if it does not fit. */
int serve_addrs_format(const struct serve_addrs *a, char *buf, size_t len);
/* Parses the file's text; 0, or -1 with @why (the whole file is refused). */
int serve_addrs_parse(const char *text, size_t len, struct serve_addrs *out, char *why, size_t why_len);
/* Writes / reads SERVE_ADDRS_FILE in directory @dirfd (written whole or not at all). */
int serve_addrs_write(int dirfd, const struct serve_addrs *a, char *why, size_t why_len);
int serve_addrs_read(int dirfd, struct serve_addrs *out, char *why, size_t why_len);

#endif
