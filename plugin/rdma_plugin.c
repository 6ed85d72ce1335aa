// SPDX-License-Identifier: GPL-2.0-only
/*
 * criu-rdma: the CRIU plugin that carries lazy pages over RDMA.
 *
 * This file is the plugin's face to CRIU: registration, stage set-up and
 * tear-down.  The roles live in their own files: rdma_conn.c (verbs
 * connection), ctl_proto.c + ctl_io.c (control protocol), export_table.c
 * (exported memory), source_server.c (source), task_mr.c + uverbs_cmd.c
 * (zero-copy export by the frozen task), target_fetcher.c (target).
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "criu-plugin.h"
#include "ctl_proto.h"
#include "rdma_plugin.h"
#include "rdma_log.h"

long rdma_cfg_int(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

/*
 * An rdma_cm id belongs to the network namespace of the thread that creates
 * it, and rxe devices serve only the namespace their netdev lives in.  When
 * CRIU runs in another namespace than the RDMA device (a containerised CRIU,
 * or zdtm's test container), CRIU_RDMA_NETNS names the device's namespace
 * (e.g. /run/netns/NAME) and the ids are created there; everything else
 * stays in CRIU's own namespace.
 */
int rdma_netns_enter(void)
{
	const char *path = getenv("CRIU_RDMA_NETNS");
	int target, saved;

	if (!path || !*path)
		return -2;
	saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (saved < 0 || target < 0 || setns(target, CLONE_NEWNET)) {
		pr_perror("cannot enter the network namespace %s (CRIU_RDMA_NETNS)", path);
		if (saved >= 0)
			close(saved);
		saved = -1;
	}
	if (target >= 0)
		close(target);
	return saved;
}

void rdma_netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET))
		pr_perror("cannot return to CRIU's network namespace");
	close(saved);
}

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

static int rdma_plugin_init(int stage)
{
	pr_info("criu-rdma plugin loaded for %s, control protocol v%d\n", stage_name(stage), RDMA_CTL_VERSION);
	return 0;
}

static void rdma_plugin_fini(int stage, int ret)
{
	/* a dump that failed before serving may hold tasks' regions: unpin them */
	if (stage == CR_PLUGIN_STAGE__DUMP || stage == CR_PLUGIN_STAGE__PAGE_SERVER)
		rdma_lazy_release();
	pr_info("criu-rdma plugin finished %s (%s)\n", stage_name(stage), ret ? "failed" : "ok");
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
