// SPDX-License-Identifier: GPL-2.0-only
/*
 * uffd-rtt [-p] WINDOW N: the local floor under a lazy page fault, with no
 * network at all.  One thread touches N pages of an area registered with
 * userfaultfd (MISSING mode), each in its own aligned window of WINDOW
 * pages; a handler thread reads each fault message and fills the whole
 * window with UFFDIO_COPY, which wakes the toucher: fault -> handler ->
 * UFFDIO_COPY -> wake, as CRIU's lazy-pages daemon does it minus the fetch.
 * With -p the handler is a process of its own, as CRIU's daemon is to the
 * restored task: every fault then switches address spaces twice.
 * Prints the N round trips in microseconds, one a line.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int uffd;
static size_t page, window;
static uint8_t *src;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *handler(void *arg)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	(void)arg;
	for (;;) {
		struct uffdio_copy copy = { .src = (uintptr_t)src, .len = window };

		if (poll(&pfd, 1, -1) < 0 || read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		copy.dst = msg.arg.pagefault.address & ~(uint64_t)(window - 1);
		if (ioctl(uffd, UFFDIO_COPY, &copy))
			perror("UFFDIO_COPY");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	size_t n, i, len, bad = 0;
	bool own_process = argc == 4 && !strcmp(argv[1], "-p");
	pid_t child = -1;
	pthread_t th;
	uint8_t *area;
	double *lat;

	argv += own_process;
	argc -= own_process;
	if (argc != 3) {
		fprintf(stderr, "usage: %s [-p] WINDOW_PAGES N\n", argv[0]);
		return 2;
	}
	page = (size_t)sysconf(_SC_PAGESIZE);
	window = strtoul(argv[1], NULL, 0) * page;
	n = strtoul(argv[2], NULL, 0);
	len = n * window;
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		perror("userfaultfd");
		return 1;
	}
	/* window-aligned area, registered before anything can populate it */
	area = mmap(NULL, len + window, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = aligned_alloc(page, window);
	lat = calloc(n, sizeof(*lat));
	if (area == MAP_FAILED || !src || !lat)
		return 1;
	area = (uint8_t *)(((uintptr_t)area + window - 1) / window * window);
	madvise(area, len, MADV_NOHUGEPAGE);
	memset(src, 0x5a, window);
	reg.range.start = (uintptr_t)area;
	reg.range.len = len;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("UFFDIO_REGISTER");
		return 1;
	}
	if (own_process) {
		child = fork();
		if (child < 0) {
			perror("fork");
			return 1;
		}
		if (!child) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			handler(NULL);
		}
	} else {
		pthread_create(&th, NULL, handler, NULL);
	}
	for (i = 0; i < n; i++) {
		volatile uint8_t *p = area + i * window + (size_t)rand() % window;
		double t0 = now_us();

		bad += *p != 0x5a;
		lat[i] = now_us() - t0;
	}
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (bad) {
		fprintf(stderr, "%zu pages did not hold what UFFDIO_COPY placed\n", bad);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%.2f\n", lat[i]);
	return 0;
}
