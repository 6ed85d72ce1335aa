#!/bin/bash
# The zero-copy export (the default) and the copy export, each proven by
# what the source holds while serving (see check_export in lazy-migrate.sh):
#  - zero-copy: the frozen task's own pages are pinned, CRIU holds no copy;
#  - copy (CRIU_RDMA_ZERO_COPY=0): CRIU holds the copy, the task pins nothing;
#    also under the stress workload (lazy-rdma-stress runs it zero-copy);
#  - a forked tree: parent and child hold different data at the same VAs and
#    share the rest copy-on-write; each gets its own regions;
#  - a sparse area, every other page never touched: the holes are not pinned
#    and read back as zeros; one region per page (thousands of registrations,
#    run in several batches by the parasite);
#  - a non-root task with a 64 KiB memlock limit: the limit is lifted for the
#    registration and restored;
#  - the kernel refusing a task's registration: what succeeded is released,
#    the task's pages are copied instead and the migration completes.
# Every run also verifies every page after the restore and the RDMA counters.
set -u
here=$(dirname "$0")
. $here/runs.sh
run "zero-copy, 128 MiB" CRR_EXPECT_EXPORT=zero-copy $here/lazy-migrate.sh rdma 128
run "copy, 128 MiB" CRIU_RDMA_ZERO_COPY=0 CRR_EXPECT_EXPORT=copy $here/lazy-migrate.sh rdma 128
run "zero-copy, forked tree, 64 MiB" CRR_EXPECT_EXPORT=zero-copy $here/lazy-migrate.sh rdma 64 lazy-pattern fork
run "zero-copy, sparse: every other page a hole, 32 MiB" CRR_EXPECT_EXPORT=zero-copy \
	$here/lazy-migrate.sh rdma 32 lazy-pattern sparse
run "zero-copy, non-root task, 64 MiB" CRR_WORKLOAD_USER=nobody CRR_WORKLOAD_MEMLOCK_KB=64 \
	$here/lazy-migrate.sh rdma 64
run "copy, threads + fork + mremap + DONTNEED after restore, 64 MiB" CRIU_RDMA_ZERO_COPY=0 CRR_EXPECT_EXPORT=copy \
	$here/lazy-migrate.sh rdma 64 lazy-stress
run "registration refused: fallback to the copy, 32 MiB" CRIU_RDMA_TEST_REFUSE_ZERO_COPY=1 \
	CRR_EXPECT_EXPORT=fallback $here/lazy-migrate.sh rdma 32
exit $rc
