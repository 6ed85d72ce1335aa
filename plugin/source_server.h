/* SPDX-License-Identifier: GPL-2.0-only */
/* The source role: export the frozen tree's lazy memory, serve it to one target. */
#ifndef __CRIU_RDMA_SOURCE_SERVER_H__
#define __CRIU_RDMA_SOURCE_SERVER_H__

#include "criu-plugin.h"
#include "rdma_cfg.h"

/* Binds and listens before anything is frozen; @cfg must outlive the dump. */
int source_listen(const struct rdma_cfg *cfg, const char *addr, unsigned short port);
/* CRIU's hooks, in the order CRIU calls them. */
int source_export_in_place(int img_id, int pid, const struct iovec *iovs, unsigned int nr, cr_task_ioctls_t run,
			   void *task);
int source_export(int img_id, const struct iovec *iovs, unsigned int nr, cr_lazy_pages_read_t read, void *priv);
int source_serve(int *target_started);
/* Idempotent: after serving, and from the plugin's fini when a dump failed. */
void source_release(void);

#endif
