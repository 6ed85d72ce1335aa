// SPDX-License-Identifier: GPL-2.0-only
/*
 * The poster: a thread of the connection's own that posts the background
 * READs of the main QP, so that the thread that asked for them goes on.
 *
 * Why: a software RDMA device (rxe) does a READ's work in the system call
 * that posts it: the request, and when both ends share a kernel the
 * responder's packets and the completion too.  Posted from CRIU's one
 * lazy-pages thread, that work (milliseconds per 256 KiB) takes turns with
 * the copies into the tasks and with reading their page faults; posted from
 * here it runs on another CPU at the same time.  On an RNIC a post is a
 * doorbell write and this thread has nothing to take away.
 *
 * Fault READs take the lane, posted inline: a fault's READ is small and
 * must not queue behind background batches.  Verbs posts to one QP from
 * several threads are safe (the provider locks its send queue).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rconn_int.h"
#include "rdma_log.h"

/* Batches handed and not yet posted, at most: a fetch queue has fewer READs in flight. */
#define POSTER_RING 64

struct rconn_poster {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ibv_qp *qp;
	int wake_fd;		 /* written when a post failed: the owner's loop then sees it */
	unsigned int head, tail; /* batches handed, batches taken */
	bool stop;
	int error; /* the first failed post's error number */
	struct rconn_chain ring[POSTER_RING];
};

static void poster_wake(struct rconn_poster *p)
{
	uint64_t one = 1;

	/*
	 * No log from this thread: CRIU's log is its main thread's.  A failed
	 * write is a full eventfd, which is awake anyway.
	 */
	if (p->wake_fd >= 0)
		(void)!write(p->wake_fd, &one, sizeof(one));
}

/* The owner's report of a failed post (@err: its error number); -1 for the caller to return. */
static int poster_report(int err)
{
	errno = err;
	pr_perror("posting background READs failed");
	return -1;
}

static void *poster_main(void *arg)
{
	struct rconn_poster *p = arg;
	struct ibv_send_wr *bad;
	int ret;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->tail == p->head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop)
			break;
		/* the slot stays ours until tail moves: the owner never writes it before */
		pthread_mutex_unlock(&p->lock);
		ret = ibv_post_send(p->qp, p->ring[p->tail % POSTER_RING].wr, &bad);
		pthread_mutex_lock(&p->lock);
		p->tail++;
		if (ret && !p->error) {
			p->error = ret > 0 ? ret : EIO;
			poster_wake(p);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int rconn_poster_start(struct rconn *c, int wake_fd)
{
	struct rconn_poster *p;
	int ret;

	if (c->poster || !c->qp)
		return c->poster ? 0 : -1;
	p = calloc(1, sizeof(*p));
	if (!p) {
		pr_err("no memory for the READ poster\n");
		return -1;
	}
	p->qp = c->qp;
	p->wake_fd = wake_fd;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	ret = pthread_create(&p->thread, NULL, poster_main, p);
	if (ret) {
		errno = ret;
		pr_perror("cannot start the READ poster thread");
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -1;
	}
	c->poster = p;
	return 0;
}

/*
 * Hands @ch's READs (a chain ending in NULL) to the poster.  1 when its ring
 * is full (the caller posts them itself), 0 when handed, -1 when an earlier
 * post failed.
 */
int rconn_poster_hand(struct rconn *c, const struct rconn_chain *ch)
{
	struct rconn_poster *p = c->poster;
	struct rconn_chain *b;
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	if (p->error) {
		ret = poster_report(p->error);
	} else if (p->head - p->tail == POSTER_RING) {
		ret = 1;
	} else {
		b = &p->ring[p->head % POSTER_RING];
		b->n = ch->n;
		for (i = 0; i < ch->n; i++) {
			b->sge[i] = ch->sge[i];
			b->wr[i] = ch->wr[i];
			b->wr[i].sg_list = &b->sge[i];
			b->wr[i].next = i + 1 < ch->n ? &b->wr[i + 1] : NULL;
		}
		p->head++;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int rconn_poster_failed(const struct rconn *c)
{
	struct rconn_poster *p = c->poster;
	int err;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	err = p->error;
	pthread_mutex_unlock(&p->lock);
	return err ? poster_report(err) : 0;
}

/* Stops the poster; batches it has not taken are dropped (their QP goes next). */
int rconn_poster_stop(struct rconn *c)
{
	struct rconn_poster *p = c->poster;
	int ret;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	ret = pthread_join(p->thread, NULL);
	if (ret) {
		errno = ret;
		pr_perror("cannot join the READ poster thread");
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	c->poster = NULL;
	return ret ? -1 : 0;
}
