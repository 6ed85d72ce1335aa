#!/bin/sh
# A forward scan of 64 MiB with the background pull held back: faults and
# prefetch along the scan serve it, over RDMA (counted on both sides).
CRR_BG_DELAY=15000 CRR_EXPECT_PREFETCH=1 exec test/guest/lazy-migrate.sh rdma 64 lazy-pattern scan
