#!/bin/bash
# Target host of a two-guest lazy migration over RDMA: waits for the images
# on shared storage, starts 'criu lazy-pages --rdma' against the source and
# restores; the restored workload verifies every page.  The daemon gets no
# --address or --port: it takes them from the source's record in the image
# directory, which must name the source's two addresses; an address where
# nobody answers is put in front of them (as a record of a host with several
# would have one the target cannot reach), and RoCE traffic to the source's
# first address is lost (migrate-source.sh), so the daemon must give up on
# two addresses and migrate through the third.
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
second=$(cat $shared/second)
for a in $CRR_PEER $second; do
	grep -q "^$a 7500\$" $shared/img/rdma-serve.txt || {
		echo "FAIL: the source did not record $a:7500"; cat $shared/img/rdma-serve.txt; exit 1; }
done
first=${CRR_PEER%.*}.99
{ echo "$first 7500"; cat $shared/img/rdma-serve.txt; } > $shared/img/rdma-serve.new
mv $shared/img/rdma-serve.new $shared/img/rdma-serve.txt
# (an attempt at the dead address gives up after this long)
export CRIU_RDMA_TIMEOUT_MS=4000
$criu lazy-pages --page-server --rdma -D $shared/img -W $work \
	--libdir $top/build/plugin -o lazy.log -v4 &
lazy=$!
for _ in $(seq 600); do [ -S $work/lazy-pages.socket ] && break; sleep 0.1; done
start=$(date +%s.%N)
$criu restore --lazy-pages -D $shared/img -W $work -d -o restore.log -v4 || {
	echo "FAIL: restore"; tail -n 20 $work/restore.log; grep -a "rdma\|Error" $work/lazy.log | tail -n 40; exit 1; }
# (the daemon connects as soon as it is ready, while the restore runs)
for _ in $(seq 300); do grep -q "connected and authenticated" $work/lazy.log && break; sleep 0.1; done
grep "trying the source at\|connected and authenticated" $work/lazy.log | sed 's/^([0-9. ]*) /target: /'
grep -q "trying the source at $first:7500 (1 of" $work/lazy.log || { echo "FAIL: did not try $first first"; exit 1; }
grep -q "trying the source at $CRR_PEER:7500 (2 of" $work/lazy.log || { echo "FAIL: did not move on to $CRR_PEER"; exit 1; }
grep -q "trying the source at $second:7500 (3 of" $work/lazy.log ||
	{ echo "FAIL: did not move on from $CRR_PEER (traffic to it lost) to $second"; exit 1; }
grep -q "connected and authenticated" $work/lazy.log || { echo "FAIL: never connected"; tail -n 20 $work/lazy.log; exit 1; }
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
