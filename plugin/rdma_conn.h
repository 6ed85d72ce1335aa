/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One reliable-connected verbs connection, set up with rdma_cm, carrying
 * control messages as SEND/RECV and page data as one-sided RDMA READs.
 * Used by both ends: the source serves (listens, accepts, registers memory),
 * the target reads.  Every wait has a timeout; nothing here blocks forever.
 *
 * The code is split by concern, one file each, tied by the struct below and
 * its shared completion queues:
 *   rconn_cm.c    the connection's life: listen, accept, connect, close
 *   rconn_res.c   its verbs resources: PD, CQs, QP, control buffers
 *   rconn_ctl.c   control messages: SEND/RECV slots
 *   rconn_read.c  the READ path and the completions of the send queue
 */
#ifndef __CRIU_RDMA_CONN_H__
#define __CRIU_RDMA_CONN_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define RCONN_RECV_SLOTS 8
#define RCONN_SEND_SLOTS 4
/* wr_id of control SENDs; READ wr_ids must stay below it */
#define RCONN_WRID_SEND (~0ULL - RCONN_SEND_SLOTS)
/* READs in flight we ask for on a connection (the device may grant fewer) */
#define RCONN_MAX_RD_ATOM 16

/* Fault injection, for the tests of the error paths. */
enum rconn_fail {
	RCONN_FAIL_NONE,
	RCONN_FAIL_CTL_REG,   /* registering the control buffers fails (the QP exists then) */
	RCONN_FAIL_NOTIFY_CQ, /* arming a completion queue fails (the CQ exists then) */
};

/* How a connection is made; the caller's strings must outlive it. */
struct rconn_params {
	const char *netns;   /* network namespace (a file) whose RDMA device to use, or NULL */
	size_t ctl_msg_size; /* largest control message: the size of a receive slot */
	enum rconn_fail fail;
	/*
	 * Source: every QP starts with no remote access; rconn_allow_read()
	 * opens one once its peer is authenticated.
	 */
	bool guard;
};

/* Vets a connect request by its private data (up to @len bytes); 0 accepts it. */
typedef int (*rconn_vet_t)(const void *pdata, size_t len, void *ctx);

/*
 * READs queued for one QP and posted together, one ibv_post_send for the
 * lot: a request of many small ranges (a sparse area) is many READs, and
 * with a software device every post is a system call.
 */
#define RCONN_CHAIN_MAX 16
struct rconn_chain {
	struct ibv_send_wr wr[RCONN_CHAIN_MAX];
	struct ibv_sge sge[RCONN_CHAIN_MAX];
	unsigned int n;
};

#define RCONN_LISTEN_MAX 16
/* Connect requests held while another peer's connection is being set up (hold_requests). */
#define RCONN_BACKLOG_MAX 8

struct rconn {
	struct rconn_params params;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;
	/* more addresses of the same device listened on (rconn_listen_addrs) */
	struct rdma_cm_id *listen_also[RCONN_LISTEN_MAX - 1];
	unsigned int nr_listen_also;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *send_cc; /* wakes the READ poller (epoll-able) */
	struct ibv_comp_channel *recv_cc; /* wakes control message receivers */
	struct ibv_cq *send_cq;		  /* SEND and READ completions */
	struct ibv_cq *recv_cq;		  /* control messages in */
	struct ibv_qp *qp;
	uint32_t peer_qpn;	/* the peer's QP number, as rdma_cm reported it */
	unsigned int max_reads; /* READs we may have outstanding */
	/*
	 * An optional second connection, the lane: its own RC QP on the same
	 * PD and CQs.  An RC QP answers READs in order, so READs that must
	 * not wait behind others (page faults) take the lane.
	 */
	struct rdma_cm_id *lane_id;
	struct ibv_qp *lane_qp;
	uint32_t lane_peer_qpn;
	unsigned int lane_reads; /* READs we may have outstanding on the lane */
	unsigned int sq_depth;

	uint8_t *ctl_buf; /* RCONN_RECV_SLOTS receive slots + RCONN_SEND_SLOTS */
	struct ibv_mr *ctl_mr;
	unsigned int recv_slot;	 /* slot of the message being consumed */
	unsigned int sends_busy; /* bitmap of send slots in flight */
	/* READ completions reaped while waiting for a send slot */
	struct ibv_wc *stash;
	unsigned int n_stash;
	struct rconn_chain chain[2]; /* READs queued for the QP, the lane */
	bool connected;
	bool peer_gone;			/* disconnect seen on the CM channel */
	unsigned long refused_requests; /* connect requests refused on the way */
	/*
	 * A listener serving several peers (rconn_take_peer()): a connect
	 * request that comes while another peer is being set up is held, up to
	 * RCONN_BACKLOG_MAX (later ones are refused), for the next accept.
	 */
	bool hold_requests;
	struct rdma_cm_event *backlog[RCONN_BACKLOG_MAX];
	unsigned int n_backlog;
	bool pd_borrowed;	     /* a peer taken from a listener: the PD is the listener's */
	struct rconn_poster *poster; /* posts the main QP's READs from a thread (rconn_poster_start) */
	unsigned long reads_aside;   /* READs handed to the poster */
};

/* Source side: bind to @addr:@port (fails if no RDMA device serves @addr), listen. */
int rconn_listen(struct rconn *c, const struct rconn_params *p, const char *addr, int port);
/*
 * Source side, no address given: listens on each of @addrs (at most
 * RCONN_LISTEN_MAX) that the same RDMA device serves as the first one that
 * has a device at all (one export, registered on one device); the others
 * are logged and skipped.  @served[i] says which.  The number listened on,
 * or -1 (none has an RDMA device, or an error).
 */
int rconn_listen_addrs(struct rconn *c, const struct rconn_params *p, char (*addrs)[INET6_ADDRSTRLEN], unsigned int n,
		       int port, bool *served);
/* A peer that went away before its connection was up (its resources are still held). */
#define RCONN_PEER_LEFT (-2)
/*
 * Source side: wait up to @timeout_ms for one peer and accept it; its
 * connection must be up within @setup_ms.  0; -1 on a local failure or when
 * nobody came; RCONN_PEER_LEFT (then rconn_drop_peer()).
 */
int rconn_accept(struct rconn *c, int timeout_ms, int setup_ms);
/* Source side: lets the accepted peer go (its QP, CQs, control buffers, id); keeps the PD and the listener. */
int rconn_drop_peer(struct rconn *c);
/*
 * Source side, several peers: moves the peer just accepted on listener @l
 * (its connection, lane, CQs, control buffers) into @peer, which gets a CM
 * channel of its own; @l keeps the listener and the PD, which @peer borrows
 * (so @l must be closed after every peer taken from it).  0 or -1.
 */
int rconn_take_peer(struct rconn *l, struct rconn *peer);
/* Releases a peer taken with rconn_take_peer() (not the PD); -1 if anything could not be released. */
int rconn_close_peer(struct rconn *peer);
/*
 * Source side, several peers: takes the connect requests that have come,
 * without waiting, into the backlog (hold_requests); the number held.
 */
unsigned int rconn_poll_requests(struct rconn *c);
/* Source side: no more connect requests (the kernel rejects them from now on). */
int rconn_stop_listening(struct rconn *c);
/* Guarded connections: the peer may READ through the main QP, or the lane's. */
int rconn_allow_read(struct rconn *c, bool lane);
/* Target side: connect to @addr:@port within @timeout_ms. */
int rconn_connect(struct rconn *c, const struct rconn_params *p, const char *addr, int port, int timeout_ms);
/*
 * The lane: the source accepts, the target opens, a second connection after
 * the first.  The source accepts only a request that @vet passes (others are
 * refused, and it waits on); the target sends @pdata with its request.
 */
int rconn_accept_lane(struct rconn *c, int timeout_ms, rconn_vet_t vet, void *ctx);
int rconn_connect_lane(struct rconn *c, const char *addr, int port, const void *pdata, uint8_t pdata_len,
		       int timeout_ms);
/* Releases everything, in reverse order; -1 if anything could not be released (each logged). */
int rconn_close(struct rconn *c);
/*
 * A connection that is lost: releases it, and @mr (a region in its PD, or
 * NULL), in a thread of their own, since that can block on the dead link;
 * @c is left empty for a new connection.  Nothing of it is logged.
 */
int rconn_abandon(struct rconn *c, struct ibv_mr *mr);

/* Our QP number on the main connection or the lane (0 if none). */
uint32_t rconn_qpn(const struct rconn *c, bool lane);
/* Name of the device the connection (or listener) is bound to. */
const char *rconn_dev_name(const struct rconn *c);
/* Checks the CM channel without waiting; returns -1 if the peer is gone. */
int rconn_check_peer(struct rconn *c);
int rconn_cm_fd(const struct rconn *c);

/* Control messages: one buffer per SEND, at most params.ctl_msg_size bytes. */
int rconn_send(struct rconn *c, const void *buf, size_t len, int timeout_ms);
/* Every send slot is still in flight after reaping what completed (or the connection failed: -1). */
int rconn_send_slots_full(struct rconn *c);
/*
 * Waits for the next control message; returns its length and points @buf at
 * it (valid until rconn_recv_done()).  0 on timeout, -1 on error or when the
 * peer is gone.
 */
ssize_t rconn_recv(struct rconn *c, const void **buf, int timeout_ms);
int rconn_recv_done(struct rconn *c);
/* Waits until the peer has received every control message sent so far; 0, or -1 (timeout, peer gone). */
int rconn_drain_sends(struct rconn *c, int timeout_ms);

/* Memory registration in the connection's PD. */
struct ibv_mr *rconn_reg(struct rconn *c, void *addr, size_t len, int access);
struct ibv_mr *rconn_reg_iova(struct rconn *c, void *addr, size_t len, uint64_t iova, int access);
/* Deregisters @mr, logging a failure (naming @what); 0 or -1. */
int rconn_dereg(struct ibv_mr *mr, const char *what);

/*
 * Queues one RDMA READ of @len bytes from @raddr/@rkey into @local/@lkey, on
 * the lane if @lane; rconn_flush_reads() posts what is queued (a full queue
 * is posted at once).  0, or -1 if a post failed.
 */
int rconn_queue_read(struct rconn *c, bool lane, void *local, uint32_t lkey, uint64_t raddr, uint32_t rkey,
		     uint32_t len, uint64_t wr_id);
int rconn_flush_reads(struct rconn *c);
/*
 * From now on the main QP's READs are posted by a thread of their own
 * (rconn_poster.c says why); a failed post there writes @wake_fd and the
 * next flush, or rconn_poster_failed(), returns -1.  rconn_close() stops it.
 */
int rconn_poster_start(struct rconn *c, int wake_fd);
int rconn_poster_failed(const struct rconn *c);
/* Posts one RDMA READ (queued and flushed at once). */
int rconn_post_read(struct rconn *c, bool lane, void *local, uint32_t lkey, uint64_t raddr, uint32_t rkey, uint32_t len,
		    uint64_t wr_id);
/*
 * Reaps up to @n READ completions.  With @timeout_ms > 0 waits for one up to
 * that long.  Returns the number reaped (0: none in time) or -1.
 */
int rconn_poll(struct rconn *c, struct ibv_wc *wc, int n, int timeout_ms);
/* fd that becomes readable when a completion may be ready (for epoll). */
int rconn_completion_fd(const struct rconn *c);
/* Re-arms the completion channel after it fired; call before polling. */
int rconn_ack_completion(struct rconn *c);
/*
 * The same in two halves: consumes the events that fired, leaving the CQ
 * unarmed (no event for what completes next); and arms it (the next
 * completion raises an event; poll after arming, for what came before).
 */
int rconn_take_completion_events(struct rconn *c);
int rconn_arm_completion(struct rconn *c);

#endif
