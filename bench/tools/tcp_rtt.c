// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcp-rtt ADDR PORT SIZE N: the TCP floor under a lazy page fault.  A
 * forked server on ADDR:PORT answers each 16-byte request (as CRIU's page
 * server gets one per fault) with SIZE bytes; the client times N round
 * trips over one connection with TCP_NODELAY on both ends and prints them
 * in microseconds, one a line.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int full(ssize_t (*io)(int, void *, size_t), int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = io(fd, (uint8_t *)buf + done, len - done);

		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static ssize_t do_write(int fd, void *buf, size_t len)
{
	return write(fd, buf, len);
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void serve(int lfd, size_t size)
{
	uint8_t req[16], *buf = calloc(1, size);
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0 || !buf)
		exit(1);
	nodelay(fd);
	while (full(read, fd, req, sizeof(req)) == 0)
		if (full(do_write, fd, buf, size))
			break;
	exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	size_t size, n, i;
	uint8_t req[16] = { 0 }, *buf;
	int lfd, fd, one = 1;
	double *lat;
	pid_t srv;

	if (argc != 5) {
		fprintf(stderr, "usage: %s ADDR PORT SIZE N\n", argv[0]);
		return 2;
	}
	size = strtoul(argv[3], NULL, 0);
	n = strtoul(argv[4], NULL, 0);
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		perror("tcp-rtt: listen");
		return 1;
	}
	srv = fork();
	if (srv == 0)
		serve(lfd, size);
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	buf = malloc(size);
	lat = calloc(n, sizeof(*lat));
	if (fd < 0 || !buf || !lat || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("tcp-rtt: connect");
		kill(srv, SIGKILL);
		return 1;
	}
	nodelay(fd);
	for (i = 0; i < n; i++) {
		double t0 = now_us();

		if (full(do_write, fd, req, sizeof(req)) || full(read, fd, buf, size)) {
			perror("tcp-rtt: round trip");
			kill(srv, SIGKILL);
			return 1;
		}
		lat[i] = now_us() - t0;
	}
	close(fd);
	waitpid(srv, NULL, 0);
	for (i = 0; i < n; i++)
		printf("%.2f\n", lat[i]);
	return 0;
}
