/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Raw uverbs commands through the ioctl interface (RDMA_VERBS_IOCTL,
 * UVERBS_METHOD_INVOKE_WRITE), for what libibverbs cannot do for us: a
 * memory registration issued by *another process* (the frozen task) into
 * our protection domain, and its deregistration by handle.
 *
 * The kernel lets any holder of a uverbs command fd use the ioctl path,
 * while the legacy write() path refuses everyone but the opener.  A
 * registration maps the caller's address space, so the frozen task issues
 * it (through CRIU's parasite) and its own pages get pinned.
 *
 * A call is one contiguous block: header, attributes, command, response.
 * The attributes point at the command and the response; built for another
 * address space they hold offsets from the block's start instead and name
 * those fields in @relocs, so the task turns them into its own pointers.
 */
#ifndef __CRIU_RDMA_UVERBS_CMD_H__
#define __CRIU_RDMA_UVERBS_CMD_H__

#include <stdbool.h>
#include <stdint.h>

#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_verbs.h>
#include <rdma/rdma_user_ioctl.h>

#define UVERBS_CALL_ATTRS  3 /* the write command, its input, its output */
#define UVERBS_CALL_RELOCS 2

struct uverbs_call {
	struct ib_uverbs_ioctl_hdr hdr;
	struct ib_uverbs_attr attrs[UVERBS_CALL_ATTRS];
	union {
		struct ib_uverbs_reg_mr reg;
		struct ib_uverbs_dereg_mr dereg;
	} in;
	union {
		struct ib_uverbs_reg_mr_resp reg;
	} out;
	uint32_t pad;
};

/* Offsets in struct uverbs_call of the pointer fields a relocatable REG_MR call holds. */
extern const uint32_t uverbs_call_relocs[UVERBS_CALL_RELOCS];

/*
 * REG_MR of [@va, @va + @len) in the caller's address space into the PD
 * @pd_handle, addressed remotely by its VA.  @relocatable: for another
 * address space (pointers as offsets, see uverbs_call_relocs).
 */
void uverbs_call_reg_mr(struct uverbs_call *c, uint32_t driver_id, uint32_t pd_handle, uint64_t va, uint64_t len,
			uint32_t access, bool relocatable);
void uverbs_call_dereg_mr(struct uverbs_call *c, uint32_t driver_id, uint32_t mr_handle);
/* Issues @c on @cmd_fd from this process: 0 or -errno. */
int uverbs_call_run(int cmd_fd, struct uverbs_call *c);

#endif
