// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the READ poster (plugin/rconn_poster.c) on a fake QP whose
 * post_send records what it is given: the main QP's READs are posted from
 * the poster's thread, in order, each with its own scatter entry; the
 * lane's inline; a full ring makes the owner post itself; a failed post
 * wakes the owner and fails its next flush; stopping with batches untaken
 * returns.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "rconn_int.h"

/* What rconn_read.c needs of the rest of the connection. */
int rconn_check_peer(struct rconn *c)
{
	(void)c;
	return 0;
}

int rconn_released(int ret, const char *what)
{
	(void)what;
	return ret ? -1 : 0;
}

#define MAX_SEEN 4096

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t wr_id[MAX_SEEN];
	bool by_main[MAX_SEEN];
	struct ibv_qp *qp[MAX_SEEN];
	unsigned int n;
	unsigned int bad_sge; /* READs whose scatter entry was not theirs */
	bool hold;	      /* the poster's posts block until released */
	unsigned int entered; /* posts the poster began */
	int fail;	      /* posts return this error */
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static pthread_t main_thread;

static int fake_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad)
{
	int ret;

	bool by_main = pthread_equal(pthread_self(), main_thread);

	pthread_mutex_lock(&seen.lock);
	if (!by_main) {
		seen.entered++;
		pthread_cond_broadcast(&seen.cond);
	}
	while (seen.hold && !by_main)
		pthread_cond_wait(&seen.cond, &seen.lock);
	ret = seen.fail;
	for (; !ret && wr; wr = wr->next) {
		/* each READ's local buffer is its wr_id's, its length the wr_id too */
		if (wr->num_sge != 1 || wr->sg_list->addr != 0x100000 + wr->wr_id * 0x1000 ||
		    wr->sg_list->length != wr->wr_id + 1 || wr->wr.rdma.remote_addr != 0x7000000 + wr->wr_id)
			seen.bad_sge++;
		if (seen.n < MAX_SEEN) {
			seen.wr_id[seen.n] = wr->wr_id;
			seen.by_main[seen.n] = by_main;
			seen.qp[seen.n] = qp;
			seen.n++;
		}
	}
	if (ret)
		*bad = wr;
	pthread_cond_broadcast(&seen.cond);
	pthread_mutex_unlock(&seen.lock);
	return ret;
}

static struct ibv_context ctx;
static struct ibv_qp main_qp = { .context = &ctx }, lane_qp = { .context = &ctx };

static void reset_seen(void)
{
	pthread_mutex_lock(&seen.lock);
	seen.n = 0;
	seen.bad_sge = 0;
	seen.fail = 0;
	seen.entered = 0;
	pthread_mutex_unlock(&seen.lock);
}

static void hold(bool on)
{
	pthread_mutex_lock(&seen.lock);
	seen.hold = on;
	pthread_cond_broadcast(&seen.cond);
	pthread_mutex_unlock(&seen.lock);
}

/* Waits (up to 5 s) until @n READs were posted. */
static bool wait_seen(unsigned int n)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&seen.lock);
	while (seen.n < n)
		if (pthread_cond_timedwait(&seen.cond, &seen.lock, &ts))
			break;
	ok = seen.n >= n;
	pthread_mutex_unlock(&seen.lock);
	return ok;
}

static int queue(struct rconn *c, bool lane, uint64_t id)
{
	return rconn_queue_read(c, lane, (void *)(uintptr_t)(0x100000 + id * 0x1000), 7, 0x7000000 + id, 9,
				(uint32_t)id + 1, id);
}

static void setup(struct rconn *c)
{
	memset(c, 0, sizeof(*c));
	c->qp = &main_qp;
	c->lane_qp = &lane_qp;
}

/* Batches of 1..16 READs on the main QP, a lane READ between them. */
static void test_order(void)
{
	struct rconn c;
	uint64_t id = 0, lane_id = 10000;
	unsigned int i, b, k, main_n = 0, lane_n = 0;
	int wake = eventfd(0, EFD_NONBLOCK);

	setup(&c);
	reset_seen();
	CHECK(rconn_poster_start(&c, wake) == 0);
	for (b = 0; b < 40; b++) {
		for (k = 0; k <= b % RCONN_CHAIN_MAX; k++)
			CHECK(queue(&c, false, id++) == 0);
		CHECK(queue(&c, true, lane_id++) == 0);
		CHECK(rconn_flush_reads(&c) == 0);
	}
	CHECK(wait_seen((unsigned int)(id + lane_id - 10000)));
	CHECK(rconn_poster_stop(&c) == 0);
	CHECK(c.poster == NULL);
	pthread_mutex_lock(&seen.lock);
	CHECK(seen.bad_sge == 0);
	for (i = 0; i < seen.n; i++) {
		if (seen.qp[i] == &main_qp) {
			CHECK(seen.wr_id[i] == main_n); /* in the order queued */
			CHECK(!seen.by_main[i]);	/* by the poster */
			main_n++;
		} else {
			CHECK(seen.qp[i] == &lane_qp);
			CHECK(seen.wr_id[i] == 10000 + lane_n);
			CHECK(seen.by_main[i]); /* inline */
			lane_n++;
		}
	}
	pthread_mutex_unlock(&seen.lock);
	CHECK(main_n == id);
	CHECK(lane_n == 40);
	close(wake);
}

/* The poster stuck in a post: 64 batches fill its ring, the rest the owner posts itself. */
static void test_ring_full(void)
{
	struct rconn c;
	unsigned int i, n = 70;
	int wake = eventfd(0, EFD_NONBLOCK);

	setup(&c);
	reset_seen();
	hold(true);
	CHECK(rconn_poster_start(&c, wake) == 0);
	for (i = 0; i < n; i++) {
		CHECK(queue(&c, false, i) == 0);
		CHECK(rconn_flush_reads(&c) == 0);
	}
	/* only the owner's posts are in, the last 6, in order */
	CHECK(wait_seen(n - 64));
	pthread_mutex_lock(&seen.lock);
	CHECK(seen.n == n - 64);
	for (i = 0; i < seen.n; i++) {
		CHECK(seen.by_main[i]);
		CHECK(seen.wr_id[i] == 64 + i);
	}
	pthread_mutex_unlock(&seen.lock);
	hold(false);
	CHECK(wait_seen(n));
	CHECK(rconn_poster_stop(&c) == 0);
	pthread_mutex_lock(&seen.lock);
	CHECK(seen.n == n);
	for (i = n - 64; i < seen.n; i++) {
		CHECK(!seen.by_main[i]);
		CHECK(seen.wr_id[i] == i - (n - 64));
	}
	CHECK(seen.bad_sge == 0);
	pthread_mutex_unlock(&seen.lock);
	close(wake);
}

/* A failed post: the owner is woken, and its check and next flush fail. */
static void test_failure(void)
{
	struct rconn c;
	struct pollfd pfd;
	int wake = eventfd(0, EFD_NONBLOCK);

	setup(&c);
	reset_seen();
	pthread_mutex_lock(&seen.lock);
	seen.fail = ENOMEM;
	pthread_mutex_unlock(&seen.lock);
	CHECK(rconn_poster_start(&c, wake) == 0);
	CHECK(rconn_poster_failed(&c) == 0);
	CHECK(queue(&c, false, 1) == 0);
	CHECK(rconn_flush_reads(&c) == 0);
	pfd = (struct pollfd){ .fd = wake, .events = POLLIN };
	CHECK(poll(&pfd, 1, 5000) == 1);
	CHECK(rconn_poster_failed(&c) == -1);
	CHECK(queue(&c, false, 2) == 0);
	CHECK(rconn_flush_reads(&c) == -1);
	CHECK(rconn_poster_stop(&c) == 0);
	close(wake);
}

static void *release_later(void *arg)
{
	(void)arg;
	usleep(100000);
	hold(false);
	return NULL;
}

/* Stopped while stuck in a post with more batches handed: it returns, the rest untaken. */
static void test_stop(void)
{
	struct rconn c;
	struct timespec ts;
	pthread_t t;
	unsigned int i;
	int wake = eventfd(0, EFD_NONBLOCK);

	setup(&c);
	reset_seen();
	hold(true);
	CHECK(rconn_poster_start(&c, wake) == 0);
	for (i = 0; i < 10; i++) {
		CHECK(queue(&c, false, i) == 0);
		CHECK(rconn_flush_reads(&c) == 0);
	}
	pthread_mutex_lock(&seen.lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	while (!seen.entered)
		if (pthread_cond_timedwait(&seen.cond, &seen.lock, &ts))
			break;
	CHECK(seen.entered == 1);
	pthread_mutex_unlock(&seen.lock);
	CHECK(pthread_create(&t, NULL, release_later, NULL) == 0);
	CHECK(rconn_poster_stop(&c) == 0);
	pthread_join(t, NULL);
	CHECK(seen.n == 1);
	close(wake);
}

int main(void)
{
	main_thread = pthread_self();
	ctx.ops.post_send = fake_post_send;
	test_order();
	test_ring_full();
	test_failure();
	test_stop();
	return check_report("rconn_poster");
}
