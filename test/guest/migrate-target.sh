#!/bin/bash
# Target host of a two-guest lazy migration over RDMA: waits for the images
# on shared storage, starts 'criu lazy-pages --rdma' against the source and
# restores; the restored workload verifies every page.
set -u
top=$PWD
shared=$top/build/pair-shared
criu=$top/build/criu
for _ in $(seq 1800); do
	grep -q "MiB zero-copy from" $shared/img/dump.log 2>/dev/null && break
	sleep 0.1
done
grep -q "MiB zero-copy from" $shared/img/dump.log 2>/dev/null || { echo "FAIL: source never served"; exit 1; }
export CRIU_RDMA_STATS=/tmp/rdma-stats
# the daemon's unix socket and logs live in a local work dir (not on 9p/NFS)
work=/tmp/criu-work
mkdir -p $work
$criu lazy-pages --page-server --rdma --address $CRR_PEER --port 7500 -D $shared/img -W $work \
	--libdir $top/build/plugin -o lazy.log -v4 &
lazy=$!
for _ in $(seq 600); do [ -S $work/lazy-pages.socket ] && break; sleep 0.1; done
start=$(date +%s.%N)
$criu restore --lazy-pages -D $shared/img -W $work -d -o restore.log -v4 || {
	echo "FAIL: restore"; tail -n 20 $work/restore.log; exit 1; }
touch $shared/check
wait $lazy || { echo "FAIL: lazy-pages daemon"; tail -n 20 $work/lazy.log; exit 1; }
end=$(date +%s.%N)
for _ in $(seq 600); do [ -f $shared/result ] && break; sleep 0.1; done
echo "target: $(cat $shared/result 2>/dev/null)"
awk -v a=$start -v b=$end 'BEGIN { printf "target: last page in %.2f s after restore\n", b - a }'
sed 's/^/target: /' /tmp/rdma-stats
grep -q "^OK" $shared/result || { echo "FAIL: restored memory differs"; exit 1; }
. /tmp/rdma-stats
[ "$fault_pages" -gt 0 ] && [ "$background_pages" -gt 0 ] || { echo "FAIL: RDMA counters"; exit 1; }
echo "PASS: migrated across two hosts over RDMA"
