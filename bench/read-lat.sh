#!/bin/bash
# The latency of one 4 KiB RDMA READ in the Soft-RoCE guest, at each MTU:
# perftest's ib_read_lat (one buffer, READs back to back) next to the same
# READ through the plugin's own connection code (test/tools/rdma-read-check
# lat: QP and CQ set up as the plugin's, busy-polled), of the same page back
# to back, of random pages of a 64 MiB export back to back, and of random
# pages GAP_US apart with the process asleep in between, as page faults come.
#
#   run-guest.sh --out DIR bench/read-lat.sh [MTUS] [N] [GAP_US] [ROUNDS]
set -u
mtus=${1:-1500 4200} n=${2:-300} gap=${3:-2000} rounds=${4:-2}
tool=build/test/tools/rdma-read-check
out=$CRR_OUT/read-lat.txt
for r in $(seq $rounds); do
	for mtu in $mtus; do
		ip link set eth0 mtu $mtu && sleep 1
		active=$(ibv_devinfo -d $CRR_RDMA_DEV | awk '/active_mtu/ { print $2 }')
		port=$((18515 + RANDOM % 1000))
		ib_read_lat -R -d $CRR_RDMA_DEV -s 4096 -n 1000 -p $port -F > /dev/null 2>&1 &
		sleep 1
		line=$(ib_read_lat -R -d $CRR_RDMA_DEV -s 4096 -n 1000 -p $port -F $CRR_IP 2> /dev/null | awk '$1 == 4096')
		wait
		echo "round $r MTU $mtu (active_mtu $active): ib_read_lat 4096 typical $(echo $line | awk '{ print $5 }') us" >> $out
		port=$((7400 + RANDOM % 100))
		$tool serve $CRR_IP $port 64 > /tmp/read-lat-serve.log 2>&1 &
		sleep 1
		$tool lat $CRR_IP $port $n $gap | sed "s/^/round $r MTU $mtu: /" >> $out
		wait
	done
done
cat $out
