// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "serve_addrs.h"

/* The longest file we read: SERVE_ADDRS_MAX lines of an address and a port. */
#define SERVE_ADDRS_TEXT_MAX (SERVE_ADDRS_MAX * (INET6_ADDRSTRLEN + 8))

static int family_of(const char *addr)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, addr, bin) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, addr, bin) == 1)
		return AF_INET6;
	return -1;
}

int serve_addrs_add(struct serve_addrs *a, const char *addr)
{
	unsigned int i;

	if (family_of(addr) < 0 || strlen(addr) >= sizeof(a->addr[0]))
		return -1;
	for (i = 0; i < a->n; i++)
		if (!strcmp(a->addr[i], addr))
			return 0;
	if (a->n == SERVE_ADDRS_MAX)
		return -1;
	strcpy(a->addr[a->n++], addr);
	return 0;
}

/* An address worth offering: of an interface that is up, not loopback, not link-local. */
static bool usable(struct rtnl_addr *ra, struct nl_cache *links)
{
	struct rtnl_link *link = rtnl_link_get(links, rtnl_addr_get_ifindex(ra));
	unsigned int flags;

	if (!link)
		return false;
	flags = rtnl_link_get_flags(link);
	rtnl_link_put(link);
	return (flags & IFF_UP) && !(flags & IFF_LOOPBACK) && rtnl_addr_get_scope(ra) == RT_SCOPE_UNIVERSE;
}

/* Adds the usable addresses of @family in the cache's order. */
static void add_family(struct serve_addrs *out, struct nl_cache *addrs, struct nl_cache *links, int family)
{
	struct nl_object *obj;

	for (obj = nl_cache_get_first(addrs); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)obj;
		struct nl_addr *local = rtnl_addr_get_local(ra);
		char text[INET6_ADDRSTRLEN];

		if (rtnl_addr_get_family(ra) != family || !local || !usable(ra, links))
			continue;
		if (!inet_ntop(family, nl_addr_get_binary_addr(local), text, sizeof(text)))
			continue;
		serve_addrs_add(out, text);
	}
}

/* A route netlink socket of namespace @netns (NULL: ours): a socket stays in the one it was made in. */
static int connect_in(struct nl_sock *sk, const char *netns, char *why, size_t why_len)
{
	int saved = -1, target = -1, err;

	if (netns) {
		saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		target = open(netns, O_RDONLY | O_CLOEXEC);
		if (saved < 0 || target < 0 || setns(target, CLONE_NEWNET)) {
			snprintf(why, why_len, "cannot enter the network namespace %s: %s", netns, strerror(errno));
			err = -1;
			goto out;
		}
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err)
		snprintf(why, why_len, "cannot open a netlink socket: %s", nl_geterror(err));
	if (netns && setns(saved, CLONE_NEWNET)) {
		snprintf(why, why_len, "cannot return to CRIU's network namespace: %s", strerror(errno));
		err = -1;
	}
out:
	if (target >= 0)
		close(target);
	if (saved >= 0)
		close(saved);
	return err ? -1 : 0;
}

int serve_addrs_local(struct serve_addrs *out, const char *netns, char *why, size_t why_len)
{
	struct nl_cache *addrs = NULL, *links = NULL;
	struct nl_sock *sk = nl_socket_alloc();
	int err = -NLE_NOMEM;

	memset(out, 0, sizeof(*out));
	if (!sk) {
		snprintf(why, why_len, "no memory for a netlink socket");
		return -1;
	}
	if (connect_in(sk, netns, why, why_len)) {
		nl_socket_free(sk);
		return -1;
	}
	err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
	if (!err)
		err = rtnl_addr_alloc_cache(sk, &addrs);
	if (!err) {
		add_family(out, addrs, links, AF_INET);
		add_family(out, addrs, links, AF_INET6);
	}
	if (err)
		snprintf(why, why_len, "cannot read this host's addresses through netlink: %s", nl_geterror(err));
	if (addrs)
		nl_cache_free(addrs);
	if (links)
		nl_cache_free(links);
	nl_socket_free(sk);
	return err ? -1 : 0;
}

int serve_addrs_format(const struct serve_addrs *a, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	for (i = 0; i < a->n; i++) {
		int n = snprintf(buf + off, len - off, "%s %u\n", a->addr[i], a->port);

		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
	}
	return (int)off;
}

/* One "ADDRESS PORT" line (without its newline) into @out. */
static int parse_line(const char *line, size_t len, struct serve_addrs *out, char *why, size_t why_len)
{
	char copy[INET6_ADDRSTRLEN + 8], *sp, *end;
	unsigned long port;

	if (len >= sizeof(copy)) {
		snprintf(why, why_len, "a line of %zu bytes", len);
		return -1;
	}
	memcpy(copy, line, len);
	copy[len] = '\0';
	sp = strchr(copy, ' ');
	if (!sp) {
		snprintf(why, why_len, "a line without 'ADDRESS PORT'");
		return -1;
	}
	*sp = '\0';
	errno = 0;
	port = strtoul(sp + 1, &end, 10);
	if (sp[1] < '0' || sp[1] > '9' || errno || *end || !port || port > 65535) {
		snprintf(why, why_len, "a port that is not 1-65535");
		return -1;
	}
	if (out->n && out->port != port) {
		snprintf(why, why_len, "lines with different ports");
		return -1;
	}
	out->port = (unsigned short)port;
	if (family_of(copy) < 0) {
		snprintf(why, why_len, "'%.*s' is not a numeric IPv4 or IPv6 address", INET6_ADDRSTRLEN, copy);
		return -1;
	}
	if (out->n == SERVE_ADDRS_MAX) {
		snprintf(why, why_len, "more than %d addresses", SERVE_ADDRS_MAX);
		return -1;
	}
	return serve_addrs_add(out, copy);
}

int serve_addrs_parse(const char *text, size_t len, struct serve_addrs *out, char *why, size_t why_len)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t line = nl ? (size_t)(nl - text) - off : len - off;

		if (memchr(text + off, '\0', line)) {
			snprintf(why, why_len, "a NUL byte");
			return -1;
		}
		if (parse_line(text + off, line, out, why, why_len))
			return -1;
		off += line + 1;
	}
	if (!out->n) {
		snprintf(why, why_len, "no address");
		return -1;
	}
	return 0;
}

int serve_addrs_write(int dirfd, const struct serve_addrs *a, char *why, size_t why_len)
{
	static const char tmp[] = SERVE_ADDRS_FILE ".tmp";
	char text[SERVE_ADDRS_TEXT_MAX];
	int len = serve_addrs_format(a, text, sizeof(text)), fd;
	ssize_t n;

	if (len <= 0) {
		snprintf(why, why_len, "nothing to write");
		return -1;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(why, why_len, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	n = write(fd, text, (size_t)len);
	if (n != len || fsync(fd)) {
		snprintf(why, why_len, "cannot write %s: %s", tmp, n < 0 ? strerror(errno) : "short write");
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, SERVE_ADDRS_FILE)) {
		snprintf(why, why_len, "cannot rename %s: %s", tmp, strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

int serve_addrs_read(int dirfd, struct serve_addrs *out, char *why, size_t why_len)
{
	char text[SERVE_ADDRS_TEXT_MAX + 1];
	int fd = openat(dirfd, SERVE_ADDRS_FILE, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		snprintf(why, why_len, "cannot open %s: %s", SERVE_ADDRS_FILE, strerror(errno));
		return -1;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0) {
		snprintf(why, why_len, "cannot read %s: %s", SERVE_ADDRS_FILE, strerror(errno));
		return -1;
	}
	if ((size_t)n > SERVE_ADDRS_TEXT_MAX) {
		snprintf(why, why_len, "%s is larger than %d bytes", SERVE_ADDRS_FILE, SERVE_ADDRS_TEXT_MAX);
		return -1;
	}
	return serve_addrs_parse(text, (size_t)n, out, why, why_len);
}
