// SPDX-License-Identifier: GPL-2.0-only
/*
 * lazy-pattern DIR MIB: a workload for lazy migration tests.
 *
 * Fills MIB of anonymous memory with a pattern derived from each word's
 * address, creates DIR/ready, then waits for DIR/check.  When it appears
 * (after restore, with the memory still remote) it reads every page in a
 * random order, checks each byte, writes DIR/result ("OK ..." or "FAIL ...")
 * and exits 0 only if all matched.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t pattern(uint64_t va)
{
	return (va * 0x9e3779b97f4a7c15ULL) ^ 0xa5a5c3c3f0f00ff0ULL;
}

static void touch(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.tmp", dir, name);
	f = fopen(path, "w");
	if (!f)
		exit(3);
	fputs(text, f);
	fclose(f);
	{
		char final[4096];

		snprintf(final, sizeof(final), "%s/%s", dir, name);
		rename(path, final);
	}
}

int main(int argc, char **argv)
{
	size_t len, pages, i, *order;
	char path[4096], msg[256];
	uint64_t *mem;
	long page = sysconf(_SC_PAGESIZE);

	if (argc != 3)
		return 2;
	len = strtoul(argv[2], NULL, 0) << 20;
	pages = len / (size_t)page;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	order = malloc(pages * sizeof(*order));
	if (mem == MAP_FAILED || !order)
		return 3;
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len / 8; i++)
		mem[i] = pattern((uintptr_t)&mem[i]);
	for (i = 0; i < pages; i++)
		order[i] = i;
	touch(argv[1], "ready", "ready\n");

	snprintf(path, sizeof(path), "%s/check", argv[1]);
	while (access(path, F_OK))
		usleep(20000);

	/* Random page order: the faults hit all over the area. */
	srand((unsigned int)time(NULL));
	for (i = pages - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < pages; i++) {
		uint64_t *p = mem + order[i] * ((size_t)page / 8);
		size_t w;

		for (w = 0; w < (size_t)page / 8; w++)
			if (p[w] != pattern((uintptr_t)&p[w])) {
				snprintf(msg, sizeof(msg), "FAIL at %p: %llx\n", (void *)&p[w],
					 (unsigned long long)p[w]);
				touch(argv[1], "result", msg);
				return 1;
			}
	}
	snprintf(msg, sizeof(msg), "OK %zu pages verified\n", pages);
	touch(argv[1], "result", msg);
	return 0;
}
