#!/bin/bash
# Source host of a two-guest lazy migration over RDMA.  The images go to
# storage both hosts mount (the 9p-shared build tree here; NFS or a cluster
# file system in a real deployment), the memory stays here and is served by
# one-sided RDMA READs until the target has all of it.
# The size in MiB is read from build/pair-shared/mib (default 64).
# The dump gets no --address: the source serves on the addresses of its RDMA
# device and records them in the image directory, where the target, given
# no address either, finds them.  The source has a second address, and RoCE
# traffic to its first is lost on the way in (dropped here, as a network
# that does not carry it would): the target must give up on the first and
# migrate through the second.  (Dropping it on the target's way out would
# not model that: rxe then never completes the CM's send, and the kernel
# waits for it forever.)
set -u
top=$PWD
shared=$top/build/pair-shared
mib=$(cat $shared/mib 2>/dev/null || echo 64)
criu=$top/build/criu
mkdir -p $shared/img
second=${CRR_IP%.*}.11
ip addr add $second/24 dev eth0 || { echo "FAIL: cannot add $second to eth0"; exit 1; }
iptables -I INPUT -d $CRR_IP -p udp --dport 4791 -j DROP || { echo "FAIL: iptables"; exit 1; }
echo "$second" > $shared/second
unshare -p -f setsid $top/build/test/tools/lazy-pattern $shared $mib < /dev/null > /dev/null 2>&1 &
for _ in $(seq 600); do [ -f $shared/ready ] && break; sleep 0.1; done
pid=$(pgrep -f "^$top/build/test/tools/lazy-pattern $shared" | head -n 1)
[ -n "$pid" ] || { echo "FAIL: workload did not start"; exit 1; }
echo "source: workload $pid holds $mib MiB; dumping with --lazy-pages --rdma, no --address"
start=$(date +%s.%N)
export CRIU_RDMA_ACCEPT_TIMEOUT_MS=180000
$criu dump -t $pid -D $shared/img --lazy-pages --rdma --port 7500 \
	--libdir $top/build/plugin -o dump.log -v4
rc=$?
end=$(date +%s.%N)
grep "rdma: " $shared/img/dump.log | sed 's/^([0-9. ]*) //'
awk -v a=$start -v b=$end 'BEGIN { printf "source: busy %.2f s from freeze to release\n", b - a }'
if kill -0 $pid 2>/dev/null; then
	echo "FAIL: the frozen source copy is still alive"
	exit 1
fi
[ $rc -eq 0 ] || { echo "FAIL: dump exited $rc"; tail -n 20 $shared/img/dump.log; exit 1; }
for a in $CRR_IP $second; do
	grep -q "listening on $a:7500" $shared/img/dump.log || { echo "FAIL: not listening on $a"; exit 1; }
done
echo "source: frozen copy gone, RDMA resources released"
