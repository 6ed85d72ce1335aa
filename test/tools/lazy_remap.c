// SPDX-License-Identifier: GPL-2.0-only
/*
 * lazy-remap DIR MIB: a restored task moves its memory while it is still
 * being pulled in, and every byte must be where the task moved it.
 *
 * Fills MIB of anonymous memory with a pattern derived from each word's
 * address at fill time, creates DIR/ready and waits for DIR/check (the
 * restore).  Then it follows the background pull up the area (which goes
 * from low addresses up): it watches each 1 MiB chunk with mincore() and,
 * as soon as the pull has begun to bring it in, grows it to 2 MiB with
 * mremap(), which moves it (the next chunk is in the way).  So the chunk
 * moves while the pull's requests for it, and for the chunks above it, are
 * in flight: a lazy-pages daemon that loses track of a requested range an
 * mremap() moved (CRIU did, keeping requests out of address order) puts
 * those pages at the old address, and the task reads zeros at the new one.
 * When all have moved, each chunk is checked at its new address against
 * the pattern of its old one, and its grown half for zeros.  Writes
 * DIR/result, "OK ..." or "FAIL ..." with the first wrong word, and exits
 * 0 only if all matched and at least a quarter of the chunks moved with the
 * pull in them (fewer could not tell).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tool_file.h"

#define PATTERN_SALT TOOL_LAZY_PATTERN_SALT

#define CHUNK (1UL << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Pages of the chunk at @at that are in (mincore), or -1. */
static long resident(void *at, size_t page, unsigned char *vec)
{
	long n = 0;
	size_t i;

	if (mincore(at, CHUNK, vec))
		return -1;
	for (i = 0; i < CHUNK / page; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * Waits (up to 10 s) until the pull has begun on the chunk at @at.  1 if it
 * was caught part way in, 0 if it was already all in or never began.
 */
static int wait_for_pull(void *at, size_t page, unsigned char *vec)
{
	double end = now() + 10;
	long n;

	while ((n = resident(at, page, vec)) == 0 && now() < end)
		usleep(100);
	return n > 0 && n < (long)(CHUNK / page);
}

int main(int argc, char **argv)
{
	size_t len, i, chunks, page = (size_t)sysconf(_SC_PAGESIZE), caught = 0, p, w;
	char path[4096], msg[512], failure[256] = "";
	unsigned char vec[CHUNK / 4096];
	uint64_t *mem, **moved;

	if (argc != 3 || page != 4096)
		return 2;
	len = strtoul(argv[2], NULL, 0) << 20;
	chunks = len / CHUNK;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	moved = calloc(chunks, sizeof(*moved));
	if (mem == MAP_FAILED || !moved || !chunks)
		return 3;
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len / 8; i++)
		mem[i] = tool_pattern((uintptr_t)&mem[i], PATTERN_SALT);
	snprintf(msg, sizeof(msg), "ready %p\n", (void *)mem);
	tool_put(argv[1], "ready", msg);

	snprintf(path, sizeof(path), "%s/check", argv[1]);
	while (access(path, F_OK))
		usleep(20000);

	for (i = 0; i < chunks; i++) {
		void *was = (char *)mem + i * CHUNK;

		caught += wait_for_pull(was, page, vec);
		moved[i] = mremap(was, CHUNK, 2 * CHUNK, MREMAP_MAYMOVE);
		if (moved[i] == MAP_FAILED) {
			snprintf(failure, sizeof(failure), "mremap of chunk %zu failed", i);
			moved[i] = NULL;
			break;
		}
	}
	for (i = 0; i < chunks && moved[i] && !failure[0]; i++) {
		uint64_t was = (uintptr_t)mem + i * CHUNK;

		for (w = 0; w < CHUNK / 8 && !failure[0]; w++)
			if (moved[i][w] != tool_pattern(was + w * 8, PATTERN_SALT))
				snprintf(failure, sizeof(failure),
					 "chunk %zu: word at %p (was %#llx) is %#llx, not %#llx", i,
					 (void *)&moved[i][w], (unsigned long long)(was + w * 8),
					 (unsigned long long)moved[i][w],
					 (unsigned long long)tool_pattern(was + w * 8, PATTERN_SALT));
		for (p = CHUNK; p < 2 * CHUNK && !failure[0]; p += page)
			if (((char *)moved[i])[p])
				snprintf(failure, sizeof(failure), "chunk %zu grew into data at +%zu", i, p);
	}
	/* a run that moved too few chunks under the pull could not have seen the loss */
	if (!failure[0] && caught < chunks / 4)
		snprintf(failure, sizeof(failure), "only %zu of %zu chunks moved while the pull was in them", caught,
			 chunks);
	if (failure[0])
		snprintf(msg, sizeof(msg), "FAIL (%zu of %zu chunks moved while the pull was in them): %s\n", caught,
			 chunks, failure);
	else
		snprintf(msg, sizeof(msg),
			 "OK %zu chunks of 1 MiB moved (%zu while the pull was in them) and checked\n", chunks, caught);
	tool_put(argv[1], "result", msg);
	return failure[0] ? 1 : 0;
}
