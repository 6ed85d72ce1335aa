// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault-storm DIR MIB MODE: the workload of the fault storm and sequential
 * scan benchmarks (bench/fault-bench.sh --storm-mib / --scan-mib), timed
 * from inside the migrated process.
 *
 * Fills MIB of anonymous memory with a pattern derived from each word's
 * address, creates DIR/ready and waits until it runs restored on the target
 * with its memory still remote.  The scan waits for DIR/go, which the
 * driver creates once `criu restore` has returned; the storm and the idle
 * task would be late for the pull that way (it starts as soon as the
 * restore is done, before that command has ended): they look at their
 * memory instead (all of it was present before the dump; some is missing
 * once restored) and report when they saw that as resumed_at
 * (CLOCK_REALTIME, seconds).  Then, by MODE:
 *
 *   storm  the background pull runs meanwhile: touch one word of a random
 *          missing page after another, as fast as they come, until the
 *          whole area is in.  mincore() before each access says whether the
 *          page is still missing (only those are touched: present pages
 *          cost no fault and would only burn the CPU the pull needs), and
 *          the task's fault count (getrusage) around the access whether it
 *          really faulted: the pull may fill the page between the two, and
 *          such an access is counted as raced, not timed.  The latency of
 *          every access that faulted goes to DIR/lat.txt (microseconds).
 *   idle   touch nothing until DIR/pulled appears (the driver creates it
 *          when the lazy-pages daemon has exited, i.e. the last page is in):
 *          the pull's own pace, the baseline of the storm.
 *   sparse as idle, but only every other page of the area was ever written
 *          (the others are holes the dump leaves out): a sparse area, one
 *          lazy range per page; the holes must read back as zeros.
 *   scan   the background pull is held back: read the whole area front to
 *          back once, every word, and time it; the faults it took are the
 *          task's own count (getrusage), so a fault that brought in more
 *          than its page (fault-around, prefetch) shows as fewer faults.
 *
 * Every mode checks every word of the area against the pattern before it
 * reports (the scan does it while it scans), and writes "OK key=value..."
 * or "FAIL ..." to DIR/result; then it stays alive until DIR/exit appears
 * (a task that exits takes its remaining lazy pages with it, and the
 * background pull would end early).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Page faults this thread has completed (a userfaultfd fault counts once, when resolved). */
static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_majflt + ru.ru_minflt;
}

static const char *dir;

static void wait_for(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (access(path, F_OK))
		usleep(5000);
}

static void fail_at(const volatile uint64_t *p, uint64_t v)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "FAIL at %p: %llx, expected %llx\n", (const void *)p, (unsigned long long)v,
		 (unsigned long long)tool_pattern((uintptr_t)p, PATTERN_SALT));
	tool_put(dir, "result", msg);
	exit(1);
}

static int sparse; /* only even pages written (mode sparse) */

/* In a hole of a sparse area: an odd page, never written. */
static int in_hole(const void *p, size_t page)
{
	return sparse && ((uintptr_t)p / page) & 1;
}

/* What a word holds: the pattern, or zero in a hole. */
static uint64_t expected(const uint64_t *p, size_t page)
{
	return in_hole(p, page) ? 0 : tool_pattern((uintptr_t)p, PATTERN_SALT);
}

/* Checks every word of the area; exits with a FAIL result on the first mismatch. */
static void verify(const uint64_t *mem, size_t len, size_t page)
{
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (mem[i] != expected(&mem[i], page))
			fail_at(&mem[i], mem[i]);
}

/*
 * Waits until the area has missing pages, i.e. the task runs restored.
 * Looks at a few pages spread over it rather than all of it: a whole-area
 * mincore() every few milliseconds costs a lot of CPU under emulation, and
 * the pull has not reached all of them within milliseconds of its start.
 */
static double wait_restored(const uint64_t *mem, size_t len, size_t page)
{
	size_t nr = len / page, i;
	unsigned char v;

	for (;;) {
		for (i = 0; i < 8; i++) {
			/* (a sparse area's written pages: its holes were never there) */
			size_t k = (nr - 1) * i / 7;
			char *p = (char *)mem + k * page;

			if (in_hole(p, page))
				p = k ? p - page : p + page;
			if (mincore(p, page, &v))
				exit(3);
			if (!(v & 1))
				return wall_s();
		}
		usleep(2000);
	}
}

static double *lat;
static size_t nr_lat, cap_lat;

static void add_lat(double us)
{
	if (nr_lat == cap_lat) {
		cap_lat = cap_lat ? cap_lat * 2 : 4096;
		lat = realloc(lat, cap_lat * sizeof(*lat));
		if (!lat)
			exit(3);
	}
	lat[nr_lat++] = us;
}

/*
 * Random missing pages until none is left.  VEC is a snapshot of the
 * area's residency, refreshed every so many accesses: it only steers the
 * choice, the mincore() of the one page right before the access decides.
 */
static void storm(uint64_t *mem, size_t len, size_t page, char *msg, size_t msg_len)
{
	size_t nr = len / page, accesses = 0, raced = 0, stale = 0, i;
	unsigned char *vec = malloc(nr), *hole;
	double t_start = now_us(), t0, t1;

	if (!vec)
		exit(3);
	if (mincore(mem, len, vec))
		exit(3);
	for (;;) {
		volatile uint64_t *p;
		unsigned char v;
		long f0;

		i = (size_t)rand() % nr;
		/* the next missing page from a random point (the kernel sets only bit 0) */
		hole = memchr(vec + i, 0, nr - i);
		if (!hole)
			hole = memchr(vec, 0, i);
		if (!hole || ++stale > 64) {
			if (mincore(mem, len, vec))
				exit(3);
			stale = 0;
			if (!hole && !memchr(vec, 0, nr))
				break;
			continue;
		}
		i = (size_t)(hole - vec);
		vec[i] = 1;
		if (mincore((char *)mem + i * page, page, &v))
			exit(3);
		/* pulled since the snapshot: no fault to take here */
		if (v & 1)
			continue;
		p = mem + i * (page / 8) + (size_t)rand() % (page / 8);
		accesses++;
		f0 = faults();
		t0 = now_us();
		v = *p == tool_pattern((uintptr_t)p, PATTERN_SALT);
		t1 = now_us();
		if (faults() == f0)
			raced++;
		else
			add_lat(t1 - t0);
		if (!v)
			fail_at(p, *p);
	}
	snprintf(msg, msg_len, "storm_s=%.3f accesses=%zu faults=%zu raced=%zu", (now_us() - t_start) / 1e6, accesses,
		 nr_lat, raced);
	free(vec);
}

/* Front to back, every word checked; the time and the faults it took. */
static void scan(uint64_t *mem, size_t len, char *msg, size_t msg_len)
{
	long f0 = faults();
	double t0 = now_us();
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (mem[i] != tool_pattern((uintptr_t)&mem[i], PATTERN_SALT))
			fail_at(&mem[i], mem[i]);
	snprintf(msg, msg_len, "scan_s=%.3f faults=%ld", (now_us() - t0) / 1e6, faults() - f0);
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len, i;
	char msg[640], what[256] = "", path[4096];
	double t0, resumed = 0;
	const char *mode;
	uint64_t *mem;
	FILE *f;

	if (argc != 4 || (strcmp(argv[3], "storm") && strcmp(argv[3], "idle") && strcmp(argv[3], "scan") &&
			  strcmp(argv[3], "sparse"))) {
		fprintf(stderr, "usage: %s DIR MIB storm|idle|scan|sparse\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	len = strtoul(argv[2], NULL, 0) << 20;
	mode = argv[3];
	sparse = !strcmp(mode, "sparse");
	if (!len) {
		fprintf(stderr, "the area must be at least 1 MiB\n");
		return 2;
	}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 3;
	/* 4 KiB pages: a huge page would arrive (and count as a fault) as one */
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len / 8; i++)
		if (!in_hole(&mem[i], page))
			mem[i] = tool_pattern((uintptr_t)&mem[i], PATTERN_SALT);
	srand((unsigned int)getpid() ^ (unsigned int)time(NULL));
	tool_put(dir, "ready", "ready\n");

	if (strcmp(mode, "scan"))
		resumed = wait_restored(mem, len, page);
	else
		wait_for("go");
	if (!strcmp(mode, "storm")) {
		storm(mem, len, page, what, sizeof(what));
		snprintf(path, sizeof(path), "%s/lat.txt", dir);
		f = fopen(path, "w");
		if (!f)
			return 3;
		for (i = 0; i < nr_lat; i++)
			fprintf(f, "%.2f\n", lat[i]);
		fclose(f);
	} else if (!strcmp(mode, "idle") || sparse) {
		wait_for("pulled");
	} else {
		scan(mem, len, what, sizeof(what));
	}
	/* the scan has checked every word already */
	t0 = now_us();
	if (strcmp(mode, "scan"))
		verify(mem, len, page);
	snprintf(msg, sizeof(msg), "OK mode=%s mib=%zu pages=%zu %s verify_s=%.3f resumed_at=%.6f\n", mode, len >> 20,
		 len / page, what, (now_us() - t0) / 1e6, resumed);
	tool_put(dir, "result", msg);
	wait_for("exit");
	return 0;
}
