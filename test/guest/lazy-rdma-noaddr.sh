#!/bin/bash
# No address on the dump: the source serves on the addresses of its RDMA
# device (two on eth0 here) and records them in the image directory.
#  - the daemon given the second address explicitly migrates through it
#    (the source really serves there, not only lists it);
#  - the daemon given no address at all takes the record and connects to
#    the first address in it.
# Every page is verified after the restore (lazy-migrate.sh).
set -u
here=$(dirname "$0")
second=${CRR_IP%.*}.31
ip addr add $second/24 dev eth0 || { echo "FAIL: cannot add $second to eth0"; exit 1; }
. $here/runs.sh
run "dump without --address, daemon at the second address" CRR_DUMP_ADDR= CRR_LAZY_ADDR=$second \
	CRR_EXPECT_SERVED="$CRR_IP $second" $here/lazy-migrate.sh rdma 32
run "dump and daemon without --address: the daemon reads the record" CRR_DUMP_ADDR= CRR_LAZY_ADDR= \
	CRR_EXPECT_SERVED="$CRR_IP $second" CRR_EXPECT_TRIED_FIRST=$CRR_IP $here/lazy-migrate.sh rdma 32
ip addr del $second/24 dev eth0
exit $rc
