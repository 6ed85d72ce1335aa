// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "task_mr.h"
#include "uverbs_cmd.h"
#include "rdma_log.h"

/* The remote side only ever READs what we export. */
#define TASK_MR_ACCESS IBV_ACCESS_REMOTE_READ
/* Driver ids are a small enum (RDMA_DRIVER_*); rxe is 14. */
#define TASK_MR_MAX_DRIVER_ID 64

int task_mr_release(const struct task_mr_dev *dev, uint32_t mr_handle)
{
	struct uverbs_call c;
	int ret;

	uverbs_call_dereg_mr(&c, dev->driver_id, mr_handle);
	ret = uverbs_call_run(dev->cmd_fd, &c);
	if (ret)
		pr_err("cannot deregister the task's memory region %u: %s\n", mr_handle, strerror(-ret));
	return ret;
}

int task_mr_probe(struct rconn *c, struct task_mr_dev *dev, char *why, size_t whylen)
{
	long page = sysconf(_SC_PAGESIZE);
	int ret = -EINVAL;
	void *buf;
	uint32_t id;

	dev->cmd_fd = c->pd->context->cmd_fd;
	dev->pd_handle = c->pd->handle;
	buf = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		snprintf(why, whylen, "no memory for the probe");
		return -1;
	}
	/* a wrong driver id is refused with EINVAL before the command runs */
	for (id = 0; id < TASK_MR_MAX_DRIVER_ID && ret == -EINVAL; id++) {
		struct uverbs_call call;

		uverbs_call_reg_mr(&call, id, dev->pd_handle, (uintptr_t)buf, page, TASK_MR_ACCESS, false);
		ret = uverbs_call_run(dev->cmd_fd, &call);
		if (!ret) {
			dev->driver_id = id;
			ret = task_mr_release(dev, call.out.reg.mr_handle);
		}
	}
	munmap(buf, page);
	if (ret)
		snprintf(why, whylen, "the device takes no memory registration through the uverbs ioctl path (%s)",
			 strerror(-ret));
	return ret ? -1 : 0;
}

/* One REG_MR per run of adjacent ranges, prepared for the task's address space. */
static unsigned int task_mr_calls(const struct task_mr_dev *dev, const struct iovec *iovs, unsigned int nr,
				  struct uverbs_call *calls, struct cr_task_ioctl *ioctls)
{
	unsigned int i = 0, n = 0;
	uint64_t va, len;

	while (i < nr) {
		i = export_next_run(iovs, nr, i, &va, &len);
		uverbs_call_reg_mr(&calls[n], dev->driver_id, dev->pd_handle, va, len, TASK_MR_ACCESS, true);
		ioctls[n] = (struct cr_task_ioctl){
			.req = RDMA_VERBS_IOCTL,
			.len = sizeof(calls[n]),
			.arg = &calls[n],
			.nr_relocs = UVERBS_CALL_RELOCS,
		};
		memcpy(ioctls[n].relocs, uverbs_call_relocs, sizeof(uverbs_call_relocs));
		n++;
	}
	if (n && dev->refuse_last)
		calls[n - 1].in.reg.pd_handle = ~0u;
	return n;
}

/*
 * The pins are charged to the task (RLIMIT_MEMLOCK, unless it has
 * CAP_IPC_LOCK): lift its limit for the registration, put it back after.
 * The pages stay pinned; the limit only gates new pins.
 */
static int memlock_lift(int pid, struct rlimit *old)
{
	struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };

	if (prlimit(pid, RLIMIT_MEMLOCK, NULL, old))
		return -1;
	if (old->rlim_cur == RLIM_INFINITY)
		return 0;
	return prlimit(pid, RLIMIT_MEMLOCK, &inf, NULL);
}

static void memlock_restore(int pid, const struct rlimit *old)
{
	if (old->rlim_cur != RLIM_INFINITY && prlimit(pid, RLIMIT_MEMLOCK, old, NULL))
		pr_perror("cannot restore the memlock limit of %d", pid);
}

static void explain(int err, bool lifted, char *why, size_t whylen)
{
	const char *hint = "";

	if (err == -ENOMEM || err == -EAGAIN)
		hint = lifted ? " (pinning refused)" : " (RLIMIT_MEMLOCK could not be lifted)";
	else if (err == -EFAULT)
		hint = " (a range is not readable)";
	else if (err == -EACCES || err == -EPERM)
		hint = " (the kernel refused the registration from the task)";
	snprintf(why, whylen, "registration in the task failed: %s%s", strerror(-err), hint);
}

int task_mr_export(const struct task_mr_dev *dev, struct export_task *task, int pid, const struct iovec *iovs,
		   unsigned int nr, cr_task_ioctls_t run, void *run_priv, char *why, size_t whylen)
{
	struct uverbs_call *calls = calloc(nr ?: 1, sizeof(*calls));
	struct cr_task_ioctl *ioctls = calloc(nr ?: 1, sizeof(*ioctls));
	size_t before = task->nr;
	unsigned int n, i;
	struct rlimit old;
	bool lifted;
	int done, err = 0, ret = -1;

	if (!calls || !ioctls) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	n = task_mr_calls(dev, iovs, nr, calls, ioctls);
	lifted = !memlock_lift(pid, &old);
	done = run(run_priv, dev->cmd_fd, ioctls, n, &err);
	if (lifted)
		memlock_restore(pid, &old);
	if (done < 0) {
		/*
		 * The parasite failed (the dump will too); regions of earlier
		 * batches we cannot name go when CRIU's device fd closes.
		 */
		snprintf(why, whylen, "the task could not run the registration");
		goto out;
	}
	if ((unsigned int)done < n) {
		explain(err, lifted, why, whylen);
		for (i = 0; i < (unsigned int)done; i++)
			task_mr_release(dev, calls[i].out.reg.mr_handle);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct export_range r = {
			.va = calls[i].in.reg.hca_va,
			.len = calls[i].in.reg.length,
			.rkey = calls[i].out.reg.rkey,
			.in_task = true,
			.mr_handle = calls[i].out.reg.mr_handle,
		};

		if (export_task_add(task, &r)) {
			snprintf(why, whylen, "out of memory");
			task->nr = before;
			for (i = 0; i < n; i++)
				task_mr_release(dev, calls[i].out.reg.mr_handle);
			goto out;
		}
	}
	ret = 0;
out:
	free(calls);
	free(ioctls);
	return ret;
}
