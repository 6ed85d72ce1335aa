#!/bin/sh
# 256 MiB patterned area, lazily migrated over RDMA, read back in random order;
# the transport selected by its name (--lazy-pages-transport rdma), not --rdma.
# Faults count as about for the whole pull (CRIU_RDMA_FAULT_BG_HOLD_MS), so
# background requests go to CRIU in parts (CRIU_RDMA_HANDOVER_KB), and every
# page of them must still be in place.
CRIU_RDMA_FAULT_BG_HOLD_MS=60000 CRR_EXPECT_PARTS=1 CRR_RDMA_SELECT=option exec test/guest/lazy-migrate.sh rdma 256
