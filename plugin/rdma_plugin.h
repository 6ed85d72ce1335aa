/* SPDX-License-Identifier: GPL-2.0-only */
/* The plugin's hooks, one set per role, and its configuration. */
#ifndef __CRIU_RDMA_PLUGIN_H__
#define __CRIU_RDMA_PLUGIN_H__

#include "criu-plugin.h"

/* source_server.c */
int rdma_lazy_listen(const char *addr, unsigned short port);
int rdma_lazy_export(int img_id, const struct iovec *iovs, unsigned int nr, cr_lazy_pages_read_t read, void *priv);
int rdma_lazy_export_in_place(int img_id, int pid, const struct iovec *iovs, unsigned int nr, cr_task_ioctls_t run,
			      void *task);
int rdma_lazy_serve(void);
void rdma_lazy_release(void);

/* target_fetcher.c */
int rdma_lazy_connect(const char *addr, unsigned short port, int *event_fd);
int rdma_lazy_fetch(unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf, unsigned int flags,
		    cr_lazy_pages_complete_t complete, void *priv);
int rdma_lazy_event(void);
int rdma_lazy_disconnect(int status);
int rdma_lazy_task_done(unsigned long img_id, int pid);

/* Settings come from the environment (CRIU_RDMA_*), like other CRIU plugins. */
long rdma_cfg_int(const char *name, long def);
/*
 * Around rdma_cm id creation: enter the namespace CRIU_RDMA_NETNS names.
 * Returns the handle for rdma_netns_leave(), -2 if the setting is unset, -1
 * (logged) if the namespace cannot be entered.
 */
int rdma_netns_enter(void);
void rdma_netns_leave(int saved);

#endif
