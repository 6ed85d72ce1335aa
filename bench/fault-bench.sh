#!/bin/bash
# The fault latency, floor, background-pull and source-CPU benchmark, on one
# RDMA host: source and target CRIU on the same machine, talking through its
# RDMA device's own address (so a Soft-RoCE guest, or one real host with a
# RoCE/IB NIC, loops back through the device).  Both transports run side by
# side in every round: CRIU's TCP page server and --rdma.
#
#   bench/fault-bench.sh --ip ADDR [--dev rxe0] [--netdev eth0] [--mtus "1500 4200"]
#                        [--runs 3] [--samples 200] [--mib 64] [--pull-mib 512]
#                        [--hold-ms 6000] [--log-level 3] [--out DIR]
#
# --mtus changes the netdev's MTU for each pass (rxe then uses IB MTU 1024 /
# 4096); without it the current MTU is measured.  While faults are timed the
# background pull is held back for --hold-ms (CRIU cannot tell that a task
# exited until it copies to it, so each latency run lasts at least that
# long; a run whose faults take longer fails and asks for more).  Raw
# samples and one line per migration go to DIR (bench/report.py turns them
# into RESULTS.md).
# Needs: build/ (meson + ninja), perftest (ib_read_lat, ib_read_bw), root.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ip=${CRR_IP:-} dev=rxe0 netdev=eth0 mtus= runs=3 samples=200 mib=64 pull_mib=512 hold_ms=6000 loglevel=3
out=$top/build/bench
while [ $# -gt 0 ]; do
	case $1 in
	--ip) ip=$2 ;;
	--dev) dev=$2 ;;
	--netdev) netdev=$2 ;;
	--mtus) mtus=$2 ;;
	--runs) runs=$2 ;;
	--samples) samples=$2 ;;
	--mib) mib=$2 ;;
	--pull-mib) pull_mib=$2 ;;
	--hold-ms) hold_ms=$2 ;;
	--log-level) loglevel=$2 ;;
	--out) out=$2 ;;
	*) echo "fault-bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
[ -n "$ip" ] || { echo "fault-bench: --ip ADDR (an address of the RDMA device) is required" >&2; exit 2; }
criu=$top/build/criu
plugins=$top/build/plugin
tools=$top/build/bench
for f in $criu $plugins/criu-rdma.so $tools/fault-lat $tools/uffd-rtt $tools/tcp-rtt; do
	[ -e $f ] || { echo "fault-bench: $f missing: build first (meson setup build && ninja -C build)" >&2; exit 1; }
done
command -v ib_read_lat > /dev/null || { echo "fault-bench: perftest (ib_read_lat) is not installed" >&2; exit 1; }
mkdir -p $out
# images and workload files stay local (not on a network file system)
work=${TMPDIR:-/tmp}/fault-bench
runs_tsv=$out/runs.tsv
floor_tsv=$out/floor.tsv
echo -e "mtu\ttransport\twindow\trun\tkind\tsamples\tdump_s\trestore_to_done_s\tcpu_total_s\tcpu_serve_s\tbytes\tstats\tcpu_serve_user_s\tcpu_serve_sys_s" > $runs_tsv
echo -e "mtu\twhat\tsize\tvalue\tunit" > $floor_tsv
log() { echo "fault-bench: $*" >&2; }
# keeps a failed run's CRIU logs, then stops whatever of it is left
keep_logs() {
	mkdir -p $out/failed/$1
	cp $work/$1/img/*.log $work/$1/*.log $out/failed/$1/ 2> /dev/null
	pkill -f "criu .*$work/$1/img" 2> /dev/null
	log "logs of the failed run in $out/failed/$1"
}
now() { date +%s.%N; }

# CPU seconds (user, system) a live process has used so far
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ print $14 / hz, $15 / hz }' /proc/$1/stat 2> /dev/null || echo 0 0
}

# migrate TRANSPORT WINDOW MIB SAMPLES DELAY_MS GAP_MS BG_DELAY_MS NAME KIND: one lazy
# migration of a fault-lat workload in a local work directory; appends its
# line to runs.tsv and keeps its samples and counters in $out/raw/NAME
migrate() {
	local tr=$1 win=$2 size=$3 n=$4 delay=$5 gap=$6 bgdelay=$7 name=$8 kind=$9 d=$work/$8
	local img=$d/img rdma= port=$((7600 + RANDOM % 200)) pid dump criu_pid t0 t1 t2 t3 cpu0
	rm -rf $d
	mkdir -p $img
	# rdma-spin: --rdma with the fault path polling the CQ (CRIU_RDMA_FAULT_SPIN_US)
	[ $tr != tcp ] && rdma=--rdma
	export CRIU_RDMA_STATS=$d/stats CRIU_RDMA_FAULT_SPIN_US=0
	[ $tr = rdma-spin ] && CRIU_RDMA_FAULT_SPIN_US=1000
	unshare -p -f setsid $tools/fault-lat $d $size $n $win $delay $gap < /dev/null > $d/workload.log 2>&1 &
	for _ in $(seq 600); do [ -f $d/ready ] && break; sleep 0.1; done
	pid=$(pgrep -f "^$tools/fault-lat $d " | tail -n 1)
	[ -n "$pid" ] || { log "workload did not start"; return 1; }
	t0=$(now)
	( $criu dump -t $pid -D $img --lazy-pages $rdma --address $ip --port $port --libdir $plugins -o dump.log \
		-v$loglevel
	  echo $? > $d/dump-status; times > $d/dump-times ) &
	dump=$!
	# ready to serve: TCP once CRIU starts its page server, RDMA once the
	# plugin has exported everything (a copy export runs after CRIU's line)
	# (info lines: needs --log-level 3 or more)
	local ready="Starting lazy pages server\|Lazy pages transfer"
	[ $tr != tcp ] && ready="rdma: export: \|Lazy pages transfer"
	for _ in $(seq 1200); do
		grep -q "$ready" $img/dump.log 2> /dev/null && break
		[ -f $d/dump-status ] && break
		sleep 0.02
	done
	[ -f $d/dump-status ] && { log "dump exited early"; tail -n 20 $img/dump.log >&2; return 1; }
	t1=$(now)
	criu_pid=$(pgrep -P $dump -x criu | head -n 1)
	cpu0=$(cpu_of $criu_pid)
	( $criu lazy-pages --page-server $rdma --address $ip --port $port -D $img --libdir $plugins \
		--lazy-fault-around $win --lazy-background-delay $bgdelay -o lazy.log -v$loglevel
	  echo $? > $d/lazy-status; now > $d/lazy-end ) &
	# the restore connects to the daemon's socket
	for _ in $(seq 300); do [ -S $img/lazy-pages.socket ] && break; sleep 0.05; done
	timeout 120 $criu restore --lazy-pages -D $img -d --libdir $plugins -o restore.log -v$loglevel ||
		{ log "restore failed"; return 1; }
	t2=$(now)
	touch $d/go
	for _ in $(seq 3000); do [ -f $d/result ] && break; sleep 0.05; done
	grep -q "^OK" $d/result 2> /dev/null || { log "workload: $(cat $d/result 2> /dev/null)"; return 1; }
	if [ $kind = latency ] && awk -v a=$t2 -v b=$(now) -v h=$hold_ms 'BEGIN { exit !(b - a > h / 1000) }'; then
		log "the faults took longer than --hold-ms $hold_ms: the background pull overlapped them; raise it"
		return 1
	fi
	# a latency run ends now; a pull run keeps the task until every page is in
	[ $kind = latency ] && touch $d/exit
	for _ in $(seq 6000); do [ -f $d/lazy-status ] && break; sleep 0.05; done
	[ "$(cat $d/lazy-status 2> /dev/null)" = 0 ] || { log "lazy-pages failed"; tail -n 20 $img/lazy.log >&2; return 1; }
	# the last page is in when the lazy-pages daemon exits
	t3=$(cat $d/lazy-end)
	touch $d/exit
	for _ in $(seq 1200); do [ -f $d/dump-status ] && break; sleep 0.05; done
	[ "$(cat $d/dump-status 2> /dev/null)" = 0 ] || { log "dump failed"; tail -n 20 $img/dump.log >&2; return 1; }
	local cpu_split cpu_total cpu_serve cpu_serve_user cpu_serve_sys bytes stats=-
	# 'times' line 2: the subshell's children (criu dump), user and system
	cpu_split=$(sed -n 2p $d/dump-times | awk -v c0="$cpu0" '{ gsub(/[ms]/, " "); u = $1 * 60 + $2; s = $3 * 60 + $4
		split(c0, z, " "); printf "%.3f %.3f %.3f %.3f", u + s, u + s - z[1] - z[2], u - z[1], s - z[2] }')
	read -r cpu_total cpu_serve cpu_serve_user cpu_serve_sys <<< "$cpu_split"
	bytes=$((size << 20))
	if [ $tr != tcp ]; then
		[ -f $d/stats ] || { log "no RDMA transport counters"; return 1; }
		# every timed fault came over RDMA
		[ $kind != latency ] || [ "$(sed -n 's/^fault_requests=//p' $d/stats)" -ge $n ] || { log "fewer RDMA faults than samples"; return 1; }
		stats=$(grep -v '^transport' $d/stats | tr '\n' ' ')
	fi
	echo -e "$mtu\t$tr\t$win\t$run\t$kind\t$n\t$(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.3f", b - a }')\t$(awk -v a=$t2 -v b=$t3 'BEGIN { printf "%.3f", b - a }')\t$cpu_total\t$cpu_serve\t$bytes\t$stats\t$cpu_serve_user\t$cpu_serve_sys" >> $runs_tsv
	mkdir -p $out/raw/$name
	cp $d/lat.txt $out/raw/$name/
	# the source's log of a pull shows its export and release times
	[ $kind = pull ] && cp $img/dump.log $out/raw/$name/
	[ -f $d/stats ] && cp $d/stats $out/raw/$name/
	rm -rf $d
}

# perftest between two processes on this host's device: prints its result line
perftest() {
	local tool=$1 size=$2 iters=$3 port=$((18515 + RANDOM % 1000))
	$tool -R -d $dev -s $size -n $iters -p $port -F > /dev/null 2>&1 &
	sleep 1
	$tool -R -d $dev -s $size -n $iters -p $port -F $ip 2> /dev/null | awk -v s=$size '$1 == s'
	wait
}

floors() {
	local s line
	for s in 4096 65536; do
		line=$(perftest ib_read_lat $s 1000)
		echo "$line" | awk -v m=$mtu -v s=$s '{ printf "%s\tib_read_lat_typical\t%s\t%s\tus\n%s\tib_read_lat_avg\t%s\t%s\tus\n", m, s, $5, m, s, $6 }' >> $floor_tsv
		$tools/tcp-rtt $ip $((9000 + RANDOM % 1000)) $s 2000 > $out/raw/tcp-rtt-$mtu-$s.txt
	done
	for s in 1 16; do
		$tools/uffd-rtt $s 2000 > $out/raw/uffd-rtt-$mtu-$((s * 4096)).txt
	done
	line=$(perftest ib_read_bw 262144 400)
	echo "$line" | awk -v m=$mtu '{ printf "%s\tib_read_bw\t262144\t%s\tMB/s\n", m, $4 }' >> $floor_tsv
}

mkdir -p $out/raw
[ -n "$mtus" ] || mtus=$(cat /sys/class/net/$netdev/mtu)
ulimit -l unlimited
for mtu in $mtus; do
	if [ "$(cat /sys/class/net/$netdev/mtu)" != $mtu ]; then
		ip link set $netdev mtu $mtu || { log "cannot set MTU $mtu on $netdev"; exit 1; }
		sleep 1
	fi
	active=$(ibv_devinfo -d $dev | awk '/active_mtu/ { print $2 }')
	log "MTU $mtu on $netdev: $dev active_mtu $active"
	echo -e "$mtu\tactive_mtu\t-\t$active\tbytes" >> $floor_tsv
	floors
	for run in $(seq $runs); do
		for win in 1 16; do
			for tr in tcp rdma rdma-spin; do
				log "MTU $mtu run $run: $tr, $((win * 4)) KiB faults"
				# faults alone: no background pull until they are done
				migrate $tr $win $mib $samples 0 0 $hold_ms lat-$mtu-$tr-$win-$run latency ||
					{ log "FAILED: $tr $win run $run"; keep_logs lat-$mtu-$tr-$win-$run; exit 1; }
			done
		done
	done
done
# Background pull of a large area, with a few faults spread over it (they
# are timed against the idle latency above), and the source's CPU per GiB.
for run in $(seq $runs); do
	for tr in tcp rdma; do
		log "pull of $pull_mib MiB, run $run: $tr"
		migrate $tr 1 $pull_mib 20 1500 250 0 pull-$mtu-$tr-$run pull ||
			{ log "FAILED: pull $tr run $run"; keep_logs pull-$mtu-$tr-$run; exit 1; }
	done
done
log "done: $runs_tsv $floor_tsv"
