// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault-lat DIR MIB SAMPLES WINDOW DELAY_MS GAP_MS: the workload of the
 * fault latency benchmark, timed from inside the migrated process.
 *
 * Fills MIB of anonymous memory with a pattern derived from each word's
 * address, creates DIR/ready and waits for DIR/go.  That file appears once
 * the process runs restored on the target with its memory still remote.
 * It then waits DELAY_MS and touches SAMPLES pages at random, each in a
 * different aligned window of WINDOW pages (so that a fault-around of
 * WINDOW pages never brings in the page of a later sample), GAP_MS apart,
 * and times each first access with CLOCK_MONOTONIC: the latency the
 * application sees, whatever the transport.  Every touched page is checked
 * against the pattern afterwards (untimed).  Writes the latencies in
 * microseconds, one a line, to DIR/lat.txt (and to DIR/lat-abs.txt the
 * CLOCK_MONOTONIC microseconds each access began and ended, on the host's
 * clock, to line them up with the lazy-pages daemon's own: CRIU restores
 * the task into a time namespace whose monotonic clock is offset), and
 * "OK ..." or "FAIL ..." to
 * DIR/result, then stays alive until DIR/exit appears (a task that exits
 * takes its remaining lazy pages with it, and the background pull would
 * end early).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tool_file.h"

#define PATTERN_SALT 0x0123456789abcdefULL

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The offset of this task's CLOCK_MONOTONIC from the host's, in microseconds (0 outside a time namespace). */
static double timens_offset_us(void)
{
	FILE *f = fopen("/proc/self/timens_offsets", "r");
	long long sec, nsec;
	char name[32];
	double off = 0;

	if (!f)
		return 0;
	while (fscanf(f, "%31s %lld %lld", name, &sec, &nsec) == 3)
		if (!strcmp(name, "monotonic"))
			off = sec * 1e6 + nsec / 1e3;
	fclose(f);
	return off;
}

static void wait_for(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (access(path, F_OK))
		usleep(5000);
}

/* SAMPLES distinct windows out of NR, in random order (partial shuffle). */
static size_t *pick_windows(size_t nr, size_t samples)
{
	size_t *w = malloc(nr * sizeof(*w)), i;

	if (!w)
		exit(3);
	for (i = 0; i < nr; i++)
		w[i] = i;
	for (i = 0; i < samples; i++) {
		size_t j = i + (size_t)rand() % (nr - i), t = w[i];

		w[i] = w[j];
		w[j] = t;
	}
	return w;
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len, window, nr_windows, samples, i, w;
	unsigned int delay_ms, gap_ms;
	volatile uint64_t sink = 0;
	char msg[256], path[4096];
	size_t *order, *touched;
	double *lat, *began, off;
	uint64_t *mem;
	FILE *f;

	if (argc != 7) {
		fprintf(stderr, "usage: %s DIR MIB SAMPLES WINDOW DELAY_MS GAP_MS\n", argv[0]);
		return 2;
	}
	len = strtoul(argv[2], NULL, 0) << 20;
	samples = strtoul(argv[3], NULL, 0);
	window = strtoul(argv[4], NULL, 0) * page;
	delay_ms = (unsigned int)strtoul(argv[5], NULL, 0);
	gap_ms = (unsigned int)strtoul(argv[6], NULL, 0);
	nr_windows = window ? len / window : 0;
	if (!window || samples > nr_windows) {
		fprintf(stderr, "%zu samples need as many windows; the area has %zu\n", samples, nr_windows);
		return 2;
	}
	/* window-aligned, so a fault-around window never spans two samples */
	mem = mmap(NULL, len + window, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	lat = calloc(samples + 1, sizeof(*lat));
	began = calloc(samples + 1, sizeof(*began));
	touched = calloc(samples + 1, sizeof(*touched));
	if (mem == MAP_FAILED || !lat || !began || !touched)
		return 3;
	mem = (uint64_t *)(((uintptr_t)mem + window - 1) / window * window);
	/* 4 KiB pages: a huge page would arrive (and be timed) as one */
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len / 8; i++)
		mem[i] = tool_pattern((uintptr_t)&mem[i], PATTERN_SALT);
	srand((unsigned int)getpid() ^ (unsigned int)time(NULL));
	order = pick_windows(nr_windows, samples);
	tool_put(argv[1], "ready", "ready\n");

	wait_for(argv[1], "go");
	usleep(delay_ms * 1000);
	for (i = 0; i < samples; i++) {
		size_t pg = order[i] * (window / page) + (size_t)rand() % (window / page);
		volatile uint64_t *p = mem + pg * (page / 8);
		double t0;

		t0 = now_us();
		sink += *p;
		lat[i] = now_us() - t0;
		began[i] = t0;
		touched[i] = pg;
		if (gap_ms)
			usleep(gap_ms * 1000);
	}
	for (i = 0; i < samples; i++) {
		uint64_t *p = mem + touched[i] * (page / 8);

		for (w = 0; w < page / 8; w++)
			if (p[w] != tool_pattern((uintptr_t)&p[w], PATTERN_SALT)) {
				snprintf(msg, sizeof(msg), "FAIL at %p: %llx\n", (void *)&p[w],
					 (unsigned long long)p[w]);
				tool_put(argv[1], "result", msg);
				return 1;
			}
	}
	snprintf(path, sizeof(path), "%s/lat.txt", argv[1]);
	f = fopen(path, "w");
	if (!f)
		return 3;
	for (i = 0; i < samples; i++)
		fprintf(f, "%.2f\n", lat[i]);
	fclose(f);
	snprintf(path, sizeof(path), "%s/lat-abs.txt", argv[1]);
	f = fopen(path, "w");
	if (!f)
		return 3;
	for (i = 0, off = timens_offset_us(); i < samples; i++)
		fprintf(f, "%.3f %.3f\n", began[i] - off, began[i] - off + lat[i]);
	fclose(f);
	snprintf(msg, sizeof(msg), "OK %zu faults timed and verified\n", samples);
	tool_put(argv[1], "result", msg);
	wait_for(argv[1], "exit");
	return 0;
}
