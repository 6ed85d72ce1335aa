#!/bin/bash
# A sparse area (every other page of 32 MiB dumped: 4,096 one-page ranges)
# pulled over CRIU's TCP page server, many ranges per request; and over RDMA
# with --lazy-request-ranges 1, one range per request as before (the A/B
# switch; the default over RDMA runs in lazy-rdma-zero-copy), its READs
# posted by CRIU's thread (CRIU_RDMA_POST_THREAD=0: none through the poster).  The counts
# are checked in lazy-migrate.sh; every page is verified after the restore.
set -u
here=$(dirname "$0")
. $here/runs.sh
run "tcp, sparse 32 MiB, many ranges per request" $here/lazy-migrate.sh tcp 32 lazy-pattern sparse
run "rdma, sparse 32 MiB, --lazy-request-ranges 1, no poster" CRR_LAZY_ARGS="--lazy-request-ranges 1" CRIU_RDMA_POST_THREAD=0 \
	$here/lazy-migrate.sh rdma 32 lazy-pattern sparse
exit $rc
