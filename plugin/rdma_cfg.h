/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The plugin's settings.  They come from the environment (CRIU_RDMA_*), as
 * CRIU's other plugins take theirs, and are read once: parsed, checked and
 * logged at plugin init, before CRIU freezes anything, so that a bad value
 * fails the command with a message instead of a migration half way.  The
 * roles get the parsed struct; nothing else reads the environment.
 */
#ifndef __CRIU_RDMA_CFG_H__
#define __CRIU_RDMA_CFG_H__

#include <stdbool.h>
#include <stdint.h>

#include "ctl_io.h"
#include "ctl_proto.h"
#include "rdma_conn.h"

struct rdma_cfg {
	int timeout_ms;		  /* connect and control-message waits; silence that loses a peer */
	int recovery_s;		  /* how long a lost connection may be re-made (0: never) */
	int accept_timeout_ms;	  /* source: how long it waits for the target */
	int targets;		  /* source: how many targets restore from the one dump */
	uint32_t read_size;	  /* target: largest single READ, a multiple of the page size */
	int fault_spin_us;	  /* target: poll for a fault's READ at most this long */
	bool fault_spin_adaptive; /* target: ... or twice its recent READ time, if shorter */
	int fault_spin_idle_us;	  /* target: ... or, no background READ about, until it is in (this long at most) */
	bool cq_arm_lazy;	  /* target: completion events only while READs are in flight in CRIU's loop */
	bool fault_first;	  /* target: of READs reaped together, the fault lane's go to CRIU first */
	bool post_thread;	  /* target: background READs posted by a thread of their own */
	int handover_kb;	  /* target: background KiB CRIU gets per round of its loop (0: each request at once) */
	bool urge;		  /* target: a fault on a page in a queued request moves that request ahead */
	int bg_depth;		  /* target: background READs in flight at most (0: as many as the connection has) */
	int fault_bg_cap;	  /* target: background READs in flight while a fault waits */
	int fault_bg_hold_ms;	  /* target: ... and this long after the last fault */
	bool one_copy;		  /* target: CRIU copies pages from where the READs put them */
	int stage_buffers;	  /* target: registered staging buffers of RDMA_CFG_STAGE_SIZE */
	bool zero_copy;		  /* source: the tasks register their own memory */
	const char *netns;	  /* namespace whose RDMA device to use, or NULL */
	const char *secret;	  /* the session key as a string, or NULL */
	const char *key_file;	  /* the session key in a file, or NULL */
	const char *stats;	  /* target: counters file, or NULL */
	const char *source_stats; /* source: export counters file, or NULL */
	/* test hooks */
	uint32_t fake_version;	 /* 0: the real protocol version */
	uint32_t fake_page_size; /* 0: the real page size */
	bool refuse_zero_copy;
	uint32_t fake_instance; /* target: 0, or this as its instance id */
	enum rconn_fail fail;	/* fault injection for the error-path tests */
};

/*
 * Most targets one dump serves (CRIU_RDMA_TARGETS): each holds a connection,
 * its lane, CQs and control buffers on the source until it is done.
 */
#define RDMA_CFG_TARGETS_MAX 64

/* A staging buffer holds CRIU's largest background request (4 MiB). */
#define RDMA_CFG_STAGE_SIZE (4U << 20)

/* Shortest and longest secret taken; a longer one is refused, not cut. */
#define RDMA_CFG_SECRET_MIN CTL_KEY_MIN
#define RDMA_CFG_SECRET_MAX CTL_KEY_MAX

/*
 * Reads every CRIU_RDMA_* setting into @cfg.  Returns 0, or -1 after logging
 * which setting is wrong and what it accepts.  Logs the value in force of
 * each (the secret only as set/unset).
 */
int rdma_cfg_load(struct rdma_cfg *cfg);

/* How often each side sends a heartbeat: a quarter of the silence that loses the peer. */
static inline int rdma_cfg_heartbeat_ms(const struct rdma_cfg *cfg)
{
	int ms = cfg->timeout_ms / 4;

	return ms < 1 ? 1 : ms > 1000 ? 1000 : ms;
}

/* What this side tells the peer in its hello, test hooks applied. */
void rdma_cfg_self(const struct rdma_cfg *cfg, const char *role, struct ctl_self *self);

/* One side's session: its key, what it says of itself, what the handshake binds. */
struct rdma_session {
	struct ctl_key key;
	struct ctl_self self;
	struct ctl_session s;
	uint8_t instance[CTL_INSTANCE_LEN]; /* target: who we are for this daemon's life */
};

/*
 * Sets up @role's session with the key in force (see ctl_key_load(); the
 * image directory is @dirfd, where the source makes the key and the target
 * reads it).  0, or -1 with the reason logged.
 */
int rdma_cfg_session(const struct rdma_cfg *cfg, const char *role, int dirfd, struct rdma_session *out);

#endif
