// SPDX-License-Identifier: GPL-2.0-only
/*
 * lazy-stress DIR MIB: like lazy-pattern, but after restore, while pages are
 * still remote, it stresses what CRIU's uffd event handling must get right:
 *  - 4 threads fault the same and different pages at once;
 *  - fork(): the child checks its half of the area (COW, its own uffd);
 *  - mremap() of a quarter to a new address: contents follow the move;
 *  - madvise(MADV_DONTNEED) of another quarter: it must read back as zeros.
 * Writes DIR/result "OK ..." or "FAIL ..."; exits 0 only if all held.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool_file.h"

#define PATTERN_SALT 0x0123456789abcdefULL

static uint64_t *mem;
static size_t len, page;
static char result_msg[256];

/* Checks [from, from+n) holds the pattern of the addresses it had at dump time. */
static int check(const uint64_t *at, uintptr_t orig, size_t n)
{
	size_t i;

	for (i = 0; i < n / 8; i++)
		if (at[i] != tool_pattern(orig + i * 8, PATTERN_SALT)) {
			snprintf(result_msg, sizeof(result_msg), "FAIL at %p (orig %lx)\n", (void *)&at[i],
				 (unsigned long)(orig + i * 8));
			return -1;
		}
	return 0;
}

static void *reader(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	size_t pages = len / 4 / page, i;

	/* threads share the first quarter: the same pages fault concurrently */
	for (i = 0; i < pages; i++) {
		size_t p = (i * 7 + seed) % pages;

		if (check(mem + p * page / 8, (uintptr_t)(mem + p * page / 8), page))
			return (void *)1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char path[4096];
	pthread_t th[4];
	void *ret;
	size_t i, q;
	uint64_t *moved;
	int status;
	pid_t child;

	if (argc != 3)
		return 2;
	page = (size_t)sysconf(_SC_PAGESIZE);
	len = strtoul(argv[2], NULL, 0) << 20;
	q = len / 4;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 3;
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len / 8; i++)
		mem[i] = tool_pattern((uintptr_t)&mem[i], PATTERN_SALT);
	tool_put(argv[1], "ready", "");
	snprintf(path, sizeof(path), "%s/check", argv[1]);
	while (access(path, F_OK))
		usleep(20000);

	/* quarter 0: concurrent faults from 4 threads */
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)(i * 13));
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &ret);
		if (ret)
			goto fail;
	}
	/* quarter 1: a forked child checks it from its own address space */
	child = fork();
	if (child == 0)
		_exit(check(mem + q / 8, (uintptr_t)(mem + q / 8), q) ? 1 : 0);
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(result_msg, sizeof(result_msg), "FAIL: forked child saw wrong memory\n");
		goto fail;
	}
	/* quarter 2: moved while remote; contents must follow */
	moved = mremap(mem + 2 * q / 8, q, q, MREMAP_MAYMOVE | MREMAP_FIXED,
		       (uint8_t *)mmap(NULL, q, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (moved == MAP_FAILED || check(moved, (uintptr_t)(mem + 2 * q / 8), q))
		goto fail;
	/* quarter 3: dropped while remote; must read zeros */
	madvise(mem + 3 * q / 8, q, MADV_DONTNEED);
	for (i = 0; i < q / 8; i++)
		if (mem[3 * q / 8 + i]) {
			snprintf(result_msg, sizeof(result_msg), "FAIL: page dropped by DONTNEED is not zero\n");
			goto fail;
		}
	snprintf(result_msg, sizeof(result_msg), "OK threads, fork, mremap and DONTNEED on %zu MiB\n", len >> 20);
	tool_put(argv[1], "result", result_msg);
	return 0;
fail:
	if (!result_msg[0])
		snprintf(result_msg, sizeof(result_msg), "FAIL\n");
	tool_put(argv[1], "result", result_msg);
	return 1;
}
