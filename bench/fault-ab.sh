#!/bin/bash
# An A/B of the 4 KiB fault path in the Soft-RoCE guest (test/vm/run-guest.sh):
# bench/fault-bench.sh's latency runs only (with its floors: ib_read_lat,
# the uffd and TCP round trips), MTU 1500 and 4200 alternated run by run,
# the variants' order reversed every other run, so that both variants see
# the same guest, the same load and the same device state.  After each MTU's
# faults, the device's own 4 KiB READ with none of the fault path around it
# (test/tools/rdma-read-check lat: back to back as ib_read_lat, and after a
# sleep of each of CRR_AB_READ_GAPS_US, as a fault's READ comes after the
# device has idled through the previous fault's copy and wake-up).
#
#   run-guest.sh --out DIR bench/fault-ab.sh [RUNS] [VARIANTS] [WINDOWS]
#
# VARIANTS default "tcp rdma-before rdma-cq-armed rdma" (fault-bench's --latency-variants),
# WINDOWS "1"; CRR_AB_MTUS (default "1500 4200") the MTUs.  Raw results in
# DIR/ab/MTU-RUN/ (fault-bench's layout); bench/ab-report.py DIR/ab
# summarises them (medians over runs).
set -u -o pipefail
runs=${1:-3} variants=${2:-tcp rdma-before rdma-cq-armed rdma} windows=${3:-1}
out=$CRR_OUT/ab
mkdir -p $out
reversed() { echo $* | tr ' ' '\n' | tac | tr '\n' ' '; }
for run in $(seq $runs); do
	mtus=${CRR_AB_MTUS:-1500 4200} vs=$variants
	if [ $((run % 2)) = 0 ]; then
		mtus=$(reversed $mtus)
		vs=$(reversed $variants)
	fi
	for mtu in $mtus; do
		echo "fault-ab: run $run, MTU $mtu: $vs" >&2
		bench/fault-bench.sh --ip "$CRR_IP" --dev "$CRR_RDMA_DEV" --netdev eth0 --mtus $mtu --runs 1 \
			--samples "${CRR_BENCH_SAMPLES:-200}" --windows "$windows" --latency-variants "$vs" \
			--pull-mib 0 --storm-mib 0 --scan-mib 0 --sparse-mib 0 --out $out/$mtu-$run || exit 1
		# (fault-bench left the netdev at this MTU)
		for gap in ${CRR_AB_READ_GAPS_US:-500 2000}; do
			port=$((7400 + RANDOM % 100))
			# (bounded: a lat that fails before connecting leaves it waiting)
			timeout 120 build/test/tools/rdma-read-check serve $CRR_IP $port 64 > /tmp/fault-ab-serve.log 2>&1 &
			sleep 1
			build/test/tools/rdma-read-check lat $CRR_IP $port 300 $gap |
				sed "s/^/gap_us $gap: /" >> $out/$mtu-$run/read-lat.txt || exit 1
			wait
		done
	done
done
