/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The target's counters: pages and requests per kind, a progress line, and
 * per-fault latency with its parts, reported in the log and, on request, in
 * a file of shell variables (CRIU_RDMA_STATS) that tests and bench/ read.
 */
#ifndef __CRIU_RDMA_FETCH_STATS_H__
#define __CRIU_RDMA_FETCH_STATS_H__

#include <stdbool.h>
#include <stdint.h>

/* When a request was asked, its first READ posted, its last READ in, and its pages placed. */
struct fetch_times {
	double start, posted, read, done;
};

struct fetch_stats {
	long page;
	unsigned long fault_reqs, fault_pages, bg_reqs, bg_ranges, bg_pages, tasks_done;
	unsigned long prefetch_reqs, prefetch_pages;
	unsigned long reconnects; /* connections re-made after a loss */
	double paused_s;	  /* time spent with no connection */
	uint64_t bytes;
	uint64_t copied_bytes;	  /* copied by the plugin before CRIU's UFFDIO_COPY */
	unsigned int bg_open_max; /* most background requests CRIU had asked for at once */
	/* faults on a page a request in flight carried, and those whose request was moved ahead */
	unsigned long urges, urges_moved;
	unsigned long bg_parts;	   /* background requests handed to CRIU in parts: the parts but their last */
	unsigned long reads_aside; /* READs posted by the poster thread (CRIU_RDMA_POST_THREAD) */
	/* faults whose READs the fault's own poll reaped, and those left to the event loop */
	unsigned long fault_spin_reaped, fault_spin_missed;
	double t_connect, t_progress;
	uint64_t exported_bytes, progress_bytes; /* for the progress line */
	/*
	 * Per fault, in microseconds: asked -> UFFDIO_COPY done, and its parts:
	 * waiting for a slot, the READs on the wire, moving the bytes + CRIU's
	 * UFFDIO_COPY (which also wakes the faulting task).
	 */
	float *lat_us, *queue_us, *wire_us, *copy_us;
	/* the first faults' times (CLOCK_MONOTONIC): start, posted, read, done each */
	double *trace;
	unsigned long nr_lat;
	unsigned long hist[24]; /* fault latency, log2 buckets of microseconds */
};

int fetch_stats_init(struct fetch_stats *s, long page, double now);
/* Counts a fault whose pages CRIU has just placed. */
void fetch_stats_account(struct fetch_stats *s, unsigned long nr_pages, uint64_t len, const struct fetch_times *t);
/* Counts a background range CRIU has just placed (@last: the last range of its request). */
void fetch_stats_background(struct fetch_stats *s, unsigned long nr_pages, uint64_t len, double now, bool last);
/* Counts a prefetch whose pages CRIU has just placed (no latency: nobody waited). */
void fetch_stats_prefetch(struct fetch_stats *s, unsigned long nr_pages, uint64_t len, double now);
/* Logs the totals (and writes them to @path unless NULL); sorts the samples. */
void fetch_stats_report(struct fetch_stats *s, unsigned long reads, double now, const char *path);
void fetch_stats_fini(struct fetch_stats *s);

#endif
