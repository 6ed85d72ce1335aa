// SPDX-License-Identifier: GPL-2.0-only
/*
 * criu-rdma: the CRIU plugin that carries lazy pages over RDMA.
 *
 * This file is the plugin's face to CRIU: registration, settings, stage
 * set-up and tear-down.  It sits on top; the roles below it get the
 * settings passed in and never call back up:
 *   source_server.c (+ task_mr.c, uverbs_cmd.c, export_table.c)  source
 *   target_fetcher.c (+ fetch_queue.c, fetch_stats.c)            target
 *   rconn_*.c (verbs connection), ctl_proto.c + ctl_io.c (control
 *   protocol), rdma_cfg.c (settings)                             both
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "criu-plugin.h"
#include "ctl_proto.h"
#include "rdma_cfg.h"
#include "rdma_log.h"
#include "source_server.h"
#include "target_fetcher.h"

static struct rdma_cfg cfg;

static const char *stage_name(int stage)
{
	switch (stage) {
	case CR_PLUGIN_STAGE__DUMP:
		return "dump";
	case CR_PLUGIN_STAGE__PRE_DUMP:
		return "pre-dump";
	case CR_PLUGIN_STAGE__RESTORE:
		return "restore";
	case CR_PLUGIN_STAGE__LAZY_PAGES:
		return "lazy-pages";
	case CR_PLUGIN_STAGE__PAGE_SERVER:
		return "page-server";
	default:
		return "unknown";
	}
}

/* CRIU calls this before it freezes anything: a bad setting stops the command here. */
static int rdma_plugin_init(int stage)
{
	pr_info("criu-rdma plugin loaded for %s, control protocol v%d\n", stage_name(stage), RDMA_CTL_VERSION);
	if (rdma_cfg_load(&cfg)) {
		pr_err("refusing to run with the setting above; see README (settings)\n");
		return -1;
	}
	return 0;
}

static void rdma_plugin_fini(int stage, int ret)
{
	/* a dump that failed before serving may hold tasks' regions: unpin them */
	if (stage == CR_PLUGIN_STAGE__DUMP || stage == CR_PLUGIN_STAGE__PAGE_SERVER)
		source_release();
	pr_info("criu-rdma plugin finished %s (%s)\n", stage_name(stage), ret ? "failed" : "ok");
}

/*
 * CRIU asks every transport plugin for the transport the user named
 * (--lazy-pages-transport, or --rdma); this one is "rdma".  Until LISTEN or
 * CONNECT accepted that name, every hook answers -ENOTSUP, so that CRIU
 * asks the next plugin and another transport can be installed beside us.
 */
#define RDMA_TRANSPORT "rdma"

static enum { ROLE_NONE, ROLE_SOURCE, ROLE_TARGET } role;

static bool is_ours(const char *transport)
{
	return transport && !strcmp(transport, RDMA_TRANSPORT);
}

static int rdma_lazy_listen(const char *transport, const char *addr, unsigned short port)
{
	if (!is_ours(transport))
		return -ENOTSUP;
	role = ROLE_SOURCE;
	return source_listen(&cfg, addr, port);
}

static int rdma_lazy_export(int img_id, const struct iovec *iovs, unsigned int nr, cr_lazy_pages_read_t read,
			    void *priv)
{
	return role == ROLE_SOURCE ? source_export(img_id, iovs, nr, read, priv) : -ENOTSUP;
}

static int rdma_lazy_export_in_place(int img_id, int pid, const struct iovec *iovs, unsigned int nr,
				     cr_task_ioctls_t run, void *task)
{
	return role == ROLE_SOURCE ? source_export_in_place(img_id, pid, iovs, nr, run, task) : -ENOTSUP;
}

static int rdma_lazy_serve(int *target_started)
{
	return role == ROLE_SOURCE ? source_serve(target_started) : -ENOTSUP;
}

static int rdma_lazy_connect(const char *transport, const char *addr, unsigned short port, int *event_fd)
{
	if (!is_ours(transport))
		return -ENOTSUP;
	role = ROLE_TARGET;
	return target_connect(&cfg, addr, port, event_fd);
}

static int rdma_lazy_fetch(unsigned long img_id, unsigned long vaddr, unsigned long nr_pages, void *buf,
			   unsigned int flags, cr_lazy_pages_complete_t complete, void *priv)
{
	return role == ROLE_TARGET ? target_fetch(img_id, vaddr, nr_pages, buf, flags, complete, priv) : -ENOTSUP;
}

static int rdma_lazy_event(void)
{
	return role == ROLE_TARGET ? target_event() : -ENOTSUP;
}

static int rdma_lazy_task_done(unsigned long img_id, int pid)
{
	return role == ROLE_TARGET ? target_task_done(img_id, pid) : -ENOTSUP;
}

static int rdma_lazy_urge(unsigned long img_id, unsigned long vaddr)
{
	return role == ROLE_TARGET ? target_urge(img_id, vaddr) : -ENOTSUP;
}

static int rdma_lazy_disconnect(int status)
{
	return role == ROLE_TARGET ? target_disconnect(status) : -ENOTSUP;
}

CR_PLUGIN_REGISTER("criu-rdma", rdma_plugin_init, rdma_plugin_fini)

CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_LISTEN, rdma_lazy_listen)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_EXPORT, rdma_lazy_export)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_EXPORT_IN_PLACE, rdma_lazy_export_in_place)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_SERVE, rdma_lazy_serve)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_CONNECT, rdma_lazy_connect)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_FETCH, rdma_lazy_fetch)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_EVENT, rdma_lazy_event)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_DISCONNECT, rdma_lazy_disconnect)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_TASK_DONE, rdma_lazy_task_done)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__LAZY_PAGES_URGE, rdma_lazy_urge)
