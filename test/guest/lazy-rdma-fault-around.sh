#!/bin/sh
# Fault-around of 16 pages (64 KiB windows) over RDMA: every byte still checks,
# and the counters show faults fetched windows, not single pages.  With CRIU's
# old pull, one background request at a time (--lazy-pages-inflight 1), which
# the counters must show too, and background requests of at most 128 KiB
# (--lazy-request-max; 256 by default), which CRIU's log of its copies must show.  RDMA is
# selected by a config file's 'lazy-pages-transport rdma' line.
CRR_RDMA_SELECT=config-option CRR_FAULT_AROUND=16 CRR_LAZY_ARGS="--lazy-pages-inflight 1 --lazy-request-max 128" \
	exec test/guest/lazy-migrate.sh rdma 64
