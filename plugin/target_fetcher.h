/* SPDX-License-Identifier: GPL-2.0-only */
/* The target role: CRIU's page requests become RDMA READs of the source's memory. */
#ifndef __CRIU_RDMA_TARGET_FETCHER_H__
#define __CRIU_RDMA_TARGET_FETCHER_H__

#include "criu-plugin.h"
#include "rdma_cfg.h"

/* Connects, authenticates, takes the export table; @cfg must outlive the daemon. */
int target_connect(const struct rdma_cfg *cfg, const char *addr, unsigned short port, int *event_fd);
/* CRIU's hooks. */
int target_fetch(unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf, unsigned int flags,
		 cr_lazy_pages_complete_t complete, void *priv);
int target_event(void);
int target_task_done(unsigned long img_id, int pid);
int target_urge(unsigned long img_id, unsigned long vaddr);
int target_disconnect(int status);

#endif
