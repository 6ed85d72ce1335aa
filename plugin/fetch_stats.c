// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch_stats.h"
#include "rdma_log.h"

#define MAX_LAT_SAMPLES (1 << 20)
/* faults whose times are kept whole, for lining them up with the task's own (bench/) */
#define MAX_TRACE 65536

int fetch_stats_init(struct fetch_stats *s, long page, double now)
{
	memset(s, 0, sizeof(*s));
	s->page = page;
	s->t_connect = s->t_progress = now;
	s->lat_us = calloc(4 * (size_t)MAX_LAT_SAMPLES, sizeof(*s->lat_us));
	if (!s->lat_us) {
		pr_err("no memory for the fault latency samples\n");
		return -1;
	}
	s->queue_us = s->lat_us + MAX_LAT_SAMPLES;
	s->wire_us = s->queue_us + MAX_LAT_SAMPLES;
	s->copy_us = s->wire_us + MAX_LAT_SAMPLES;
	s->trace = calloc(4 * (size_t)MAX_TRACE, sizeof(*s->trace));
	if (!s->trace) {
		pr_err("no memory for the fault trace\n");
		free(s->lat_us);
		s->lat_us = NULL;
		return -1;
	}
	return 0;
}

void fetch_stats_fini(struct fetch_stats *s)
{
	free(s->lat_us);
	s->lat_us = NULL;
	free(s->trace);
	s->trace = NULL;
}

/* A progress line about once a second, as users expect from a long transfer. */
static void progress(struct fetch_stats *s, double now)
{
	if (now - s->t_progress < 1.0 && s->bytes < s->exported_bytes)
		return;
	pr_info("progress: %llu/%llu pages, %.1f MiB/s\n", (unsigned long long)(s->bytes / s->page),
		(unsigned long long)(s->exported_bytes / s->page),
		(s->bytes - s->progress_bytes) / 1048576.0 / (now - s->t_progress));
	s->t_progress = now;
	s->progress_bytes = s->bytes;
}

void fetch_stats_prefetch(struct fetch_stats *s, unsigned long nr_pages, uint64_t len, double now)
{
	s->bytes += len;
	progress(s, now);
	s->prefetch_reqs++;
	s->prefetch_pages += nr_pages;
}

void fetch_stats_background(struct fetch_stats *s, unsigned long nr_pages, uint64_t len, double now, bool last)
{
	s->bytes += len;
	progress(s, now);
	s->bg_ranges++;
	s->bg_reqs += last;
	s->bg_pages += nr_pages;
}

void fetch_stats_account(struct fetch_stats *s, unsigned long nr_pages, uint64_t len, const struct fetch_times *t)
{
	double us = (t->done - t->start) * 1e6;
	unsigned int b = 0;

	s->bytes += len;
	progress(s, t->done);
	s->fault_reqs++;
	s->fault_pages += nr_pages;
	while (b < 23 && (1UL << (b + 1)) <= (unsigned long)us)
		b++;
	s->hist[b]++;
	if (s->lat_us && s->nr_lat < MAX_LAT_SAMPLES) {
		s->lat_us[s->nr_lat] = (float)us;
		s->queue_us[s->nr_lat] = (float)((t->posted - t->start) * 1e6);
		s->wire_us[s->nr_lat] = (float)((t->read - t->posted) * 1e6);
		s->copy_us[s->nr_lat] = (float)((t->done - t->read) * 1e6);
		if (s->trace && s->nr_lat < MAX_TRACE)
			memcpy(&s->trace[4 * s->nr_lat], (double[4]){ t->start, t->posted, t->read, t->done },
			       4 * sizeof(double));
		s->nr_lat++;
	}
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* The @pct percentile of the fault samples @v (sorts them). */
static double percentile(const struct fetch_stats *s, float *v, unsigned int pct)
{
	if (!s->nr_lat)
		return 0;
	qsort(v, s->nr_lat, sizeof(*v), cmp_float);
	return v[(s->nr_lat * pct) / 100];
}

static void log_histogram(const struct fetch_stats *s)
{
	char hist[512];
	size_t off = 0;
	unsigned int b;

	hist[0] = 0;
	for (b = 0; b < 24; b++)
		if (s->hist[b] && off < sizeof(hist))
			off += (size_t)snprintf(hist + off, sizeof(hist) - off, " <%luus:%lu", 1UL << (b + 1),
						s->hist[b]);
	pr_info("fault latency histogram:%s\n", hist);
}

/*
 * @path.faults: one line per fault (the first MAX_TRACE), in the order they
 * were served: asked, READ posted, READ in, UFFDIO_COPY done, microseconds
 * of CLOCK_MONOTONIC, so that they line up with a task's own timestamps.
 */
static void write_trace(const struct fetch_stats *s, const char *path)
{
	unsigned long i, n = s->nr_lat < MAX_TRACE ? s->nr_lat : MAX_TRACE;
	char name[4096];
	FILE *f;

	if (!s->trace || (size_t)snprintf(name, sizeof(name), "%s.faults", path) >= sizeof(name))
		return;
	f = fopen(name, "w");
	if (!f) {
		pr_perror("cannot write %s", name);
		return;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%.3f %.3f %.3f %.3f\n", s->trace[4 * i] * 1e6, s->trace[4 * i + 1] * 1e6,
			s->trace[4 * i + 2] * 1e6, s->trace[4 * i + 3] * 1e6);
	if (fclose(f))
		pr_perror("cannot write %s", name);
}

void fetch_stats_report(struct fetch_stats *s, unsigned long reads, double now, const char *path)
{
	double p50, p99, q50, w50, c50, secs = now - s->t_connect;
	FILE *f;

	p50 = percentile(s, s->lat_us, 50);
	p99 = percentile(s, s->lat_us, 99);
	q50 = percentile(s, s->queue_us, 50);
	w50 = percentile(s, s->wire_us, 50);
	c50 = percentile(s, s->copy_us, 50);
	pr_info("lazy pages over RDMA: fault_pages=%lu fault_requests=%lu background_pages=%lu background_requests=%lu "
		"background_ranges=%lu bytes=%llu reads=%lu tasks_done=%lu seconds=%.3f fault_latency_p50_us=%.1f "
		"fault_latency_p99_us=%.1f reconnects=%lu paused_ms=%.0f copied_bytes=%llu prefetch_pages=%lu "
		"prefetch_requests=%lu background_in_flight_max=%u fault_spin_reaped=%lu fault_spin_missed=%lu "
		"faults_on_requested_pages=%lu requests_moved_ahead=%lu background_parts=%lu reads_posted_aside=%lu\n",
		s->fault_pages, s->fault_reqs, s->bg_pages, s->bg_reqs, s->bg_ranges, (unsigned long long)s->bytes,
		reads, s->tasks_done, secs, p50, p99, s->reconnects, s->paused_s * 1e3,
		(unsigned long long)s->copied_bytes, s->prefetch_pages, s->prefetch_reqs, s->bg_open_max,
		s->fault_spin_reaped, s->fault_spin_missed, s->urges, s->urges_moved, s->bg_parts, s->reads_aside);
	log_histogram(s);
	pr_info("fault latency p50 parts: %.1f us waiting for a slot, %.1f us READ on the wire, %.1f us copy + "
		"UFFDIO_COPY\n",
		q50, w50, c50);
	if (!path)
		return;
	f = fopen(path, "w");
	if (!f) {
		pr_perror("cannot write %s", path);
		return;
	}
	fprintf(f,
		"transport=rdma\nfault_pages=%lu\nfault_requests=%lu\nbackground_pages=%lu\nbackground_requests=%lu\n"
		"background_ranges=%lu\nbytes=%llu\nreads=%lu\ntasks_done=%lu\nseconds=%.6f\n"
		"fault_latency_p50_us=%.1f\nfault_latency_p99_us=%.1f\nfault_queue_us_p50=%.1f\n"
		"fault_read_us_p50=%.1f\nfault_copy_us_p50=%.1f\nreconnects=%lu\npaused_ms=%.0f\ncopied_bytes=%llu\n"
		"prefetch_pages=%lu\nprefetch_requests=%lu\nbackground_in_flight_max=%u\nfault_spin_reaped=%lu\n"
		"fault_spin_missed=%lu\nfaults_on_requested_pages=%lu\nrequests_moved_ahead=%lu\n"
		"background_parts=%lu\nreads_posted_aside=%lu\n",
		s->fault_pages, s->fault_reqs, s->bg_pages, s->bg_reqs, s->bg_ranges, (unsigned long long)s->bytes,
		reads, s->tasks_done, secs, p50, p99, q50, w50, c50, s->reconnects, s->paused_s * 1e3,
		(unsigned long long)s->copied_bytes, s->prefetch_pages, s->prefetch_reqs, s->bg_open_max,
		s->fault_spin_reaped, s->fault_spin_missed, s->urges, s->urges_moved, s->bg_parts, s->reads_aside);
	if (fclose(f))
		pr_perror("cannot write %s", path);
	write_trace(s, path);
}
