/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Zero-copy export: the frozen task registers its own lazy memory into the
 * source's protection domain (see uverbs_cmd.h for how), while CRIU's
 * parasite is in it.  The target then READs the task's pages themselves:
 * nothing is copied while the tree is frozen and the source holds no second
 * copy.  The pins keep the pages after the task is gone, until we
 * deregister.
 */
#ifndef __CRIU_RDMA_TASK_MR_H__
#define __CRIU_RDMA_TASK_MR_H__

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "criu-plugin.h"
#include "export_table.h"
#include "rdma_conn.h"

struct task_mr_dev {
	int cmd_fd;
	uint32_t pd_handle;
	uint32_t driver_id;
	/*
	 * Tests of the fallback: the task's last registration names a PD that
	 * does not exist, which the kernel refuses after the others succeeded.
	 */
	bool refuse_last;
};

/*
 * Checks, with a registration of our own memory, that the device takes
 * registrations through the ioctl path and learns its driver id.  On
 * failure @why says why (the export then copies).
 */
int task_mr_probe(struct rconn *c, struct task_mr_dev *dev, char *why, size_t whylen);
/*
 * Has task @pid register the runs of @iovs (calls run by @run in the task)
 * and adds them to @task.  Raises the task's RLIMIT_MEMLOCK meanwhile.  On
 * failure nothing stays registered and @why says why.
 */
int task_mr_export(const struct task_mr_dev *dev, struct export_task *task, int pid, const struct iovec *iovs,
		   unsigned int nr, cr_task_ioctls_t run, void *run_priv, char *why, size_t whylen);
int task_mr_release(const struct task_mr_dev *dev, uint32_t mr_handle);

#endif
