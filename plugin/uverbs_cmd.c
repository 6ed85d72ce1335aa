// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "uverbs_cmd.h"

const uint32_t uverbs_call_relocs[UVERBS_CALL_RELOCS] = {
	offsetof(struct uverbs_call, attrs[1].data),
	offsetof(struct uverbs_call, attrs[2].data),
};

static uint64_t ptr_field(struct uverbs_call *c, void *p, bool relocatable)
{
	return relocatable ? (uint64_t)((char *)p - (char *)c) : (uint64_t)(uintptr_t)p;
}

/*
 * The INVOKE_WRITE frame around @cmd, whose input (@in_len bytes) is already
 * in c->in; its output (@out_len bytes, more than 8) goes to c->out.
 */
static void uverbs_call_frame(struct uverbs_call *c, uint32_t driver_id, uint32_t cmd, uint16_t in_len,
			      uint16_t out_len, bool relocatable)
{
	c->hdr.length = sizeof(c->hdr) + sizeof(c->attrs);
	c->hdr.object_id = UVERBS_OBJECT_DEVICE;
	c->hdr.method_id = UVERBS_METHOD_INVOKE_WRITE;
	c->hdr.num_attrs = out_len ? 3 : 2;
	c->hdr.driver_id = driver_id;

	/* a constant attribute is a u64 carried in place */
	c->attrs[0].attr_id = UVERBS_ATTR_WRITE_CMD;
	c->attrs[0].len = sizeof(uint64_t);
	c->attrs[0].flags = UVERBS_ATTR_F_MANDATORY;
	c->attrs[0].data = cmd;

	/* up to 8 bytes travel in place too, longer ones by pointer */
	c->attrs[1].attr_id = UVERBS_ATTR_CORE_IN;
	c->attrs[1].len = in_len;
	c->attrs[1].flags = UVERBS_ATTR_F_MANDATORY;
	if (in_len <= sizeof(c->attrs[1].data))
		memcpy(&c->attrs[1].data, &c->in, in_len);
	else
		c->attrs[1].data = ptr_field(c, &c->in, relocatable);

	c->attrs[2].attr_id = UVERBS_ATTR_CORE_OUT;
	c->attrs[2].len = out_len;
	c->attrs[2].flags = UVERBS_ATTR_F_MANDATORY;
	c->attrs[2].data = ptr_field(c, &c->out, relocatable);
	if (!out_len)
		c->hdr.length -= sizeof(c->attrs[2]);
}

void uverbs_call_reg_mr(struct uverbs_call *c, uint32_t driver_id, uint32_t pd_handle, uint64_t va, uint64_t len,
			uint32_t access, bool relocatable)
{
	memset(c, 0, sizeof(*c));
	c->in.reg.start = va;
	c->in.reg.length = len;
	c->in.reg.hca_va = va;
	c->in.reg.pd_handle = pd_handle;
	c->in.reg.access_flags = access;
	uverbs_call_frame(c, driver_id, IB_USER_VERBS_CMD_REG_MR, sizeof(c->in.reg), sizeof(c->out.reg), relocatable);
}

void uverbs_call_dereg_mr(struct uverbs_call *c, uint32_t driver_id, uint32_t mr_handle)
{
	memset(c, 0, sizeof(*c));
	c->in.dereg.mr_handle = mr_handle;
	uverbs_call_frame(c, driver_id, IB_USER_VERBS_CMD_DEREG_MR, sizeof(c->in.dereg), 0, false);
}

int uverbs_call_run(int cmd_fd, struct uverbs_call *c)
{
	return ioctl(cmd_fd, RDMA_VERBS_IOCTL, &c->hdr) ? -errno : 0;
}
