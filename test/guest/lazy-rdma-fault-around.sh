#!/bin/sh
# Fault-around of 16 pages (64 KiB windows) over RDMA: every byte still checks,
# and the counters show faults fetched windows, not single pages.
CRR_FAULT_AROUND=16 exec test/guest/lazy-migrate.sh rdma 64
