// SPDX-License-Identifier: GPL-2.0-only
/*
 * lazy-pattern DIR MIB [fork]: a workload for lazy migration tests.
 *
 * Fills MIB of anonymous memory with a pattern derived from each word's
 * address, creates DIR/ready, then waits for DIR/check.  When it appears
 * (after restore, with the memory still remote) it reads every page in a
 * random order, checks each byte, writes DIR/result ("OK ..." or "FAIL ...")
 * and exits 0 only if all matched.
 *
 * With "fork", a child forked after the fill rewrites every odd page with
 * its own pattern, so the two tasks hold different data at the same VAs
 * (odd pages) and share the rest copy-on-write (even pages).  Each checks
 * its own view; the parent reports OK only if the child did too.
 *
 * With "sparse", only even pages are written: odd pages are never touched,
 * so they are holes in the dump, one lazy range per page, and must read
 * back as zeros.
 *
 * With "scan" (or "rscan") the pages are checked in ascending (descending)
 * order instead of at random: the trend a prefetch should follow.
 *
 * With "ns", the result goes to DIR/result-INODE, INODE being that of the
 * PID namespace the task runs in: copies restored from one dump, each in a
 * PID namespace of its own, report apart.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool_file.h"

#define PATTERN_SALT TOOL_LAZY_PATTERN_SALT

static uint64_t salt; /* the forked child's odd pages differ */
static int sparse;    /* odd pages never written */
static size_t page_words;
static char result[64] = "result"; /* the result file's name */

static uint64_t expected(const uint64_t *mem, const uint64_t *p)
{
	size_t pg = (size_t)(p - mem) / page_words;

	if (sparse && pg & 1)
		return 0;
	return tool_pattern((uintptr_t)p, PATTERN_SALT) ^ (pg & 1 ? salt : 0);
}

int main(int argc, char **argv)
{
	size_t len, pages, i, *order;
	char path[4096], msg[256];
	uint64_t *mem;
	long page = sysconf(_SC_PAGESIZE);
	int fork_mode = argc == 4 && !strcmp(argv[3], "fork"), sync[2];
	int scan = argc == 4 && !strcmp(argv[3], "scan"), rscan = argc == 4 && !strcmp(argv[3], "rscan");
	int ns = argc == 4 && !strcmp(argv[3], "ns");
	struct stat st;
	pid_t child = 0;

	sparse = argc == 4 && !strcmp(argv[3], "sparse");
	if (argc != 3 && !fork_mode && !sparse && !scan && !rscan && !ns)
		return 2;
	page_words = (size_t)page / 8;
	len = strtoul(argv[2], NULL, 0) << 20;
	pages = len / (size_t)page;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	order = malloc(pages * sizeof(*order));
	if (mem == MAP_FAILED || !order)
		return 3;
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len / 8; i++)
		if (!sparse || !((i / page_words) & 1))
			mem[i] = tool_pattern((uintptr_t)&mem[i], PATTERN_SALT);
	for (i = 0; i < pages; i++)
		order[i] = rscan ? pages - 1 - i : i;
	if (fork_mode) {
		if (pipe(sync))
			return 3;
		child = fork();
		if (child < 0)
			return 3;
		if (child == 0) {
			salt = 0x5555aaaa5555aaaaULL;
			for (i = 1; i < pages; i += 2) {
				size_t w;

				for (w = 0; w < page_words; w++)
					mem[i * page_words + w] ^= salt;
			}
		}
		if (child == 0 && write(sync[1], "r", 1) != 1)
			return 3;
		if (child > 0 && read(sync[0], msg, 1) != 1)
			return 3;
	}
	/* where the pattern lives, for tests that look at it from outside */
	snprintf(msg, sizeof(msg), "ready %p\n", (void *)mem);
	if (child >= 0 && !(fork_mode && child == 0))
		tool_put(argv[1], "ready", msg);

	snprintf(path, sizeof(path), "%s/check", argv[1]);
	while (access(path, F_OK))
		usleep(20000);
	/* asked now, after a restore: the namespace this copy runs in */
	if (ns) {
		if (stat("/proc/self/ns/pid", &st))
			return 3;
		snprintf(result, sizeof(result), "result-%llu", (unsigned long long)st.st_ino);
	}

	/* Random page order (unless scanning): the faults hit all over the area. */
	srand((unsigned int)time(NULL));
	for (i = pages - 1; i > 0 && !scan && !rscan; i--) {
		size_t j = (size_t)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < pages; i++) {
		uint64_t *p = mem + order[i] * ((size_t)page / 8);
		size_t w;

		for (w = 0; w < page_words; w++)
			if (p[w] != expected(mem, &p[w])) {
				snprintf(msg, sizeof(msg), "FAIL at %p in the %s: %llx\n", (void *)&p[w],
					 salt ? "child" : "parent", (unsigned long long)p[w]);
				if (!salt)
					tool_put(argv[1], result, msg);
				else
					fputs(msg, stderr);
				return 1;
			}
	}
	if (fork_mode && child == 0)
		return 0;
	if (fork_mode) {
		int status;

		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
			tool_put(argv[1], result, "FAIL in the child\n");
			return 1;
		}
	}
	snprintf(msg, sizeof(msg), "OK %zu pages verified in %d task(s)\n", pages, fork_mode ? 2 : 1);
	tool_put(argv[1], result, msg);
	return 0;
}
