#!/bin/bash
# The latency of one 4 KiB RDMA READ in the Soft-RoCE guest, at each MTU:
# perftest's ib_read_lat (one buffer, READs back to back) next to the same
# READ through the plugin's own connection code (test/tools/rdma-read-check
# lat: QP and CQ set up as the plugin's, busy-polled), of the same page back
# to back, of random pages of a 64 MiB export back to back, and of random
# pages GAP_US apart with the process asleep in between, as page faults come.
# With LOAD "stream" each round times the same READs again while perftest's
# ib_read_bw streams 256 KiB READs on the device, two in flight, as the
# background pull does: the device's own fault floor during a pull, with
# none of CRIU or the plugin in the way.
#
#   run-guest.sh --out DIR bench/read-lat.sh [MTUS] [N] [GAP_US] [ROUNDS] [LOAD]
set -u
mtus=${1:-1500 4200} n=${2:-300} gap=${3:-2000} rounds=${4:-2} load=${5:-}
tool=build/test/tools/rdma-read-check
out=$CRR_OUT/read-lat.txt
# time_reads PORT LABEL: the plugin's READs against a fresh 64 MiB export,
# each result line prefixed with LABEL
time_reads() {
	$tool serve $CRR_IP $1 64 > /tmp/read-lat-serve.log 2>&1 &
	sleep 1
	$tool lat $CRR_IP $1 $n $gap | sed "s/^/$2: /" >> $out
}

# under_stream ROUND MTU: the lat above again, ib_read_bw streaming meanwhile
under_stream() {
	local bw_port=$((19515 + RANDOM % 1000)) port=$((7500 + RANDOM % 100)) bw bw_server t0 t1 b0 b1
	ib_read_bw -R -d $CRR_RDMA_DEV -s 262144 -t 2 -D 60 -p $bw_port -F > /dev/null 2>&1 &
	bw_server=$!
	sleep 1
	ib_read_bw -R -d $CRR_RDMA_DEV -s 262144 -t 2 -D 60 -p $bw_port -F $CRR_IP > /tmp/read-lat-bw.log 2>&1 &
	bw=$!
	sleep 3
	t0=$(date +%s.%N) b0=$(rxe_packets)
	time_reads $port "round $1 MTU $2 under a 256 KiB READ stream"
	t1=$(date +%s.%N) b1=$(rxe_packets)
	kill $bw $bw_server 2> /dev/null
	wait
	# (the stream's own count: ib_read_bw, killed, prints no summary)
	awk -v r=$1 -v m=$2 -v p=$((b1 - b0)) -v t0=$t0 -v t1=$t1 -v a=$active \
		'BEGIN { printf "round %s MTU %s: meanwhile the device received %.0f packets/s (~%.1f MB/s at %d a packet)\n",
			r, m, p / (t1 - t0), p / (t1 - t0) * a / 1e6, a }' >> $out
}

# packets the device received (READ responses and requests, all its QPs)
rxe_packets() {
	cat /sys/class/infiniband/$CRR_RDMA_DEV/ports/1/hw_counters/rcvd_pkts
}

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
		time_reads $((7400 + RANDOM % 100)) "round $r MTU $mtu"
		wait
		[ "$load" = stream ] && under_stream $r $mtu
	done
done
cat $out
