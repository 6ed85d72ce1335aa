#!/bin/bash
# The source side of a lazy dump over --rdma, zero-copy export against the
# copy export (CRIU_RDMA_ZERO_COPY=0), side by side in every round:
#  - frozen until ready: CRIU's log, from "Dumping processes" (the tree is
#    being frozen) to the plugin's "export:" line (it can serve);
#  - export time (the plugin's own count) and that per GiB;
#  - source memory while serving: CRIU's peak RSS, pages pinned in the
#    frozen tasks, and the drop of the system's MemAvailable since before
#    the dump (what the export costs the machine, whoever holds it).
# Trees: one task; and a parent + child after fork (odd pages differ, even
# pages shared copy-on-write), where pinning a shared page copies it.
#
#   bench/export-bench.sh --ip ADDR [--mib 512] [--runs 3] [--log-level 3] [--out DIR]
#
# Each run is ended after the measurement (no restore): the dump is killed,
# which releases everything, and so is the workload.  Writes DIR/export.tsv.
# Needs: build/ (meson + ninja), an RDMA device at ADDR, root.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ip=${CRR_IP:-} mib=512 runs=3 loglevel=3 out=$top/build/bench
while [ $# -gt 0 ]; do
	case $1 in
	--ip) ip=$2 ;;
	--mib) mib=$2 ;;
	--runs) runs=$2 ;;
	--log-level) loglevel=$2 ;;
	--out) out=$2 ;;
	*) echo "export-bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
criu=$top/build/criu
plugins=$top/build/plugin
workload=$top/build/test/tools/lazy-pattern
. "$top/bench/lib.sh"
bench_require export-bench "$ip" $criu $plugins/criu-rdma.so $workload
mkdir -p $out
work=${TMPDIR:-/tmp}/export-bench
tsv=$out/export.tsv
echo -e "tree\texport\trun\tmib\tfrozen_to_ready_s\texport_s\tcriu_hwm_kb\ttasks_pin_kb\tmemavail_drop_kb\tzero_copy_bytes\tcopy_bytes" > $tsv
log() { echo "export-bench: $*" >&2; }
memavail() { awk '/^MemAvailable/ { print $2 }' /proc/meminfo; }
# seconds since CRIU started, of the first log line matching $2
log_time() { grep -m1 "$2" "$1" | sed -n 's/^(\([0-9.]*\)).*/\1/p'; }

# one_run TREE EXPORT RUN: dump a fresh workload until it is ready to serve, measure, end it
one_run() {
	local tree=$1 mode=$2 run=$3 d=$work/$1-$2-$3 img pid pids dump m0 m1 hwm pin t_freeze t_ready port
	img=$d/img
	port=$((7700 + RANDOM % 200))
	rm -rf $d
	mkdir -p $img
	unshare -p -f setsid $workload $d $mib $([ $tree = fork ] && echo fork) < /dev/null > $d/workload.log 2>&1 &
	for _ in $(seq 1200); do [ -f $d/ready ] && break; sleep 0.1; done
	pids=$(pgrep -f "^$workload $d ")
	pid=$(echo "$pids" | head -n 1)
	[ -n "$pid" ] || { log "workload did not start"; return 1; }
	sync
	echo 1 > /proc/sys/vm/drop_caches
	sleep 1
	m0=$(memavail)
	CRIU_RDMA_ZERO_COPY=$([ $mode = zero-copy ] && echo 1 || echo 0) CRIU_RDMA_SOURCE_STATS=$d/source-stats \
		$criu dump -t $pid -D $img --lazy-pages --rdma --address $ip --port $port --libdir $plugins \
		-o dump.log -v$loglevel &
	dump=$!
	for _ in $(seq 3000); do
		grep -q "rdma: export: " $img/dump.log 2> /dev/null && break
		kill -0 $dump 2> /dev/null || break
		sleep 0.05
	done
	kill -0 $dump 2> /dev/null || { log "dump exited early"; tail -n 20 $img/dump.log >&2; return 1; }
	sleep 0.5
	m1=$(memavail)
	hwm=$(awk '/^VmHWM/ { print $2 }' /proc/$dump/status)
	pin=0
	for p in $pids; do pin=$((pin + $(awk '/^VmPin/ { print $2 }' /proc/$p/status))); done
	t_freeze=$(log_time $img/dump.log "Dumping processes")
	t_ready=$(log_time $img/dump.log "rdma: export: ")
	. $d/source-stats
	kill -9 $dump
	wait $dump 2> /dev/null
	kill -9 $pids 2> /dev/null
	wait 2> /dev/null
	local export_s
	export_s=$(awk -v a=$export_zero_copy_seconds -v b=$export_copy_seconds 'BEGIN { printf "%.3f", a + b }')
	echo -e "$tree\t$mode\t$run\t$mib\t$(awk -v a=$t_freeze -v b=$t_ready 'BEGIN { printf "%.3f", b - a }')\t$export_s\t$hwm\t$pin\t$((m0 - m1))\t$export_zero_copy_bytes\t$export_copy_bytes" >> $tsv
	log "$tree $mode run $run: $(tail -n 1 $tsv | cut -f5-)"
	if [ $mode = zero-copy ] && [ "$export_copy_bytes" != 0 ]; then
		log "the zero-copy run copied $export_copy_bytes bytes"
		return 1
	fi
	rm -rf $d
}

ulimit -l unlimited
for run in $(seq $runs); do
	for tree in single fork; do
		for mode in zero-copy copy; do
			one_run $tree $mode $run || { log "FAILED: $tree $mode run $run"; exit 1; }
		done
	done
done
log "done: $tsv"
