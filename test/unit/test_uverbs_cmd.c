// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the raw uverbs calls the zero-copy export sends into a
 * frozen task: a relocatable REG_MR must point at its own command and
 * response wherever the task maps it, and satisfy CRIU's checks on
 * relocations (8-byte aligned, inside the argument).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "criu-plugin.h"
#include "uverbs_cmd.h"

/* What CRIU's parasite does to an argument before the ioctl (criu-patches/0008). */
static void parasite_relocate(void *arg, const uint32_t *relocs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		*(uint64_t *)((char *)arg + relocs[i]) += (uintptr_t)arg;
}

static void test_reg_mr_relocatable(void)
{
	struct uverbs_call c, *task_copy = malloc(sizeof(c) + 64);
	unsigned int i;

	uverbs_call_reg_mr(&c, 14, 7, 0x7f0000001000ULL, 1 << 20, 4, true);
	CHECK(c.hdr.length == sizeof(c.hdr) + 3 * sizeof(c.attrs[0]));
	CHECK(c.hdr.object_id == UVERBS_OBJECT_DEVICE && c.hdr.method_id == UVERBS_METHOD_INVOKE_WRITE);
	CHECK(c.hdr.num_attrs == 3 && c.hdr.driver_id == 14);
	CHECK(c.attrs[0].attr_id == UVERBS_ATTR_WRITE_CMD && c.attrs[0].data == IB_USER_VERBS_CMD_REG_MR);
	CHECK(c.attrs[1].attr_id == UVERBS_ATTR_CORE_IN && c.attrs[1].len == sizeof(struct ib_uverbs_reg_mr));
	CHECK(c.attrs[2].attr_id == UVERBS_ATTR_CORE_OUT && c.attrs[2].len == sizeof(struct ib_uverbs_reg_mr_resp));
	/* offsets, not pointers, until the task relocates them */
	CHECK(c.attrs[1].data == (uint64_t)((char *)&c.in - (char *)&c));
	CHECK(c.attrs[2].data == (uint64_t)((char *)&c.out - (char *)&c));
	CHECK(c.in.reg.start == 0x7f0000001000ULL && c.in.reg.hca_va == c.in.reg.start);
	CHECK(c.in.reg.length == 1 << 20 && c.in.reg.pd_handle == 7 && c.in.reg.access_flags == 4);

	for (i = 0; i < UVERBS_CALL_RELOCS; i++) {
		CHECK(uverbs_call_relocs[i] % 8 == 0);
		CHECK(uverbs_call_relocs[i] + 8 <= sizeof(c));
	}
	CHECK(UVERBS_CALL_RELOCS <= CR_TASK_IOCTL_MAX_RELOCS);

	/* the task sees the block at another address */
	memcpy(task_copy, &c, sizeof(c));
	parasite_relocate(task_copy, uverbs_call_relocs, UVERBS_CALL_RELOCS);
	CHECK(task_copy->attrs[1].data == (uintptr_t)&task_copy->in);
	CHECK(task_copy->attrs[2].data == (uintptr_t)&task_copy->out);
	CHECK(task_copy->attrs[0].data == IB_USER_VERBS_CMD_REG_MR);
	free(task_copy);
}

static void test_reg_mr_local(void)
{
	struct uverbs_call c;

	uverbs_call_reg_mr(&c, 3, 1, 0x1000, 4096, 4, false);
	CHECK(c.attrs[1].data == (uintptr_t)&c.in);
	CHECK(c.attrs[2].data == (uintptr_t)&c.out);
}

static void test_dereg_inline(void)
{
	struct uverbs_call c;
	uint32_t handle;

	uverbs_call_dereg_mr(&c, 14, 0x12345678);
	CHECK(c.hdr.num_attrs == 2);
	CHECK(c.hdr.length == sizeof(c.hdr) + 2 * sizeof(c.attrs[0]));
	CHECK(c.attrs[0].data == IB_USER_VERBS_CMD_DEREG_MR);
	/* 4 bytes travel in the attribute itself */
	CHECK(c.attrs[1].len == 4);
	memcpy(&handle, &c.attrs[1].data, sizeof(handle));
	CHECK(handle == 0x12345678);
}

static void test_not_a_uverbs_fd(void)
{
	struct uverbs_call c;
	int fd = open("/dev/null", O_RDWR);

	uverbs_call_dereg_mr(&c, 14, 1);
	CHECK(uverbs_call_run(fd, &c) == -ENOTTY);
	close(fd);
}

int main(void)
{
	test_reg_mr_relocatable();
	test_reg_mr_local();
	test_dereg_inline();
	test_not_a_uverbs_fd();
	return check_report("uverbs_cmd");
}
