#!/bin/bash
# A restored task moves its memory with mremap() chunk by chunk, each as the
# background pull begins to bring it in (test/tools/lazy_remap.c; it fails
# a run in which too few chunks moved with the pull in them to tell): every
# byte must be at its new address.  Over RDMA and over CRIU's TCP page
# server: what it guards against (criu-patches/0022, 0023) is CRIU's,
# whatever the transport.
set -u
here=$(dirname "$0")
. $here/runs.sh
for t in rdma tcp; do
	run "$t, 48 MiB moved chunk by chunk as it is pulled" $here/lazy-migrate.sh $t 48 lazy-remap
done
exit $rc
