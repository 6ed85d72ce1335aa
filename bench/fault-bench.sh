#!/bin/bash
# The fault latency, floor, background-pull and source-CPU benchmark, on one
# RDMA host: source and target CRIU on the same machine, talking through its
# RDMA device's own address (so a Soft-RoCE guest, or one real host with a
# RoCE/IB NIC, loops back through the device).  Both transports run side by
# side in every round: CRIU's TCP page server and --rdma.
#
#   bench/fault-bench.sh --ip ADDR [--dev rxe0] [--netdev eth0] [--mtus "1500 4200"]
#                        [--runs 3] [--samples 200] [--mib 64] [--pull-mib 512]
#                        [--hold-ms 6000] [--storm-mib 256] [--scan-mib 4]
#                        [--scan-hold-ms MS] [--scan-variant NAME:ARGS]... [--sparse-mib 64]
#                        [--windows "1 16"] [--latency-variants "tcp rdma rdma-event rdma-copy"]
#                        [--log-level 3] [--latency-log-level 2] [--keep-daemon-log 1]
#                        [--storm-variants "tcp rdma tcp-req4096 rdma-req4096 rdma-nocap rdma-nofirst rdma-hand0
#                                           rdma-depth16 rdma-nourge rdma-post0"]
#                        [--pull-variants "tcp rdma tcp-req4096 rdma-req4096 tcp-inflight1 rdma-inflight1
#                                          rdma-depth16 rdma-post0"] [--out DIR]
#
# --mtus changes the netdev's MTU for each pass (rxe then uses IB MTU 1024 /
# 4096); without it the current MTU is measured.  While faults are timed the
# background pull is held back for --hold-ms (CRIU cannot tell that a task
# exited until it copies to it, so each latency run lasts at least that
# long; a run whose faults take longer fails and asks for more).  Raw
# samples and one line per migration go to DIR (bench/report.py turns them
# into RESULTS.md).
#
# Two more scenarios run at the last MTU, both transports side by side in
# every run (tools/fault_storm.c is the workload):
#  - fault storm (--storm-mib, storm.tsv): an area pulled in the background
#    while the task faults on random missing pages as fast as it can: the
#    pull's throughput, restore to last page, against the same pull with the
#    task idle, and the latency of the faults taken during it;
#  - sequential scan (--scan-mib, scan.tsv): with the pull held back for
#    --scan-hold-ms, the task reads its whole area front to back once: the
#    scan time and the faults it took per MiB, once per --scan-variant
#    NAME:ARGS, ARGS being extra `criu lazy-pages` options (a variant whose
#    option this CRIU does not know is skipped, and scan-skipped.tsv says so).
#  - sparse pull (--sparse-mib, sparse.tsv): an area of which only every
#    other page was ever written (one lazy range per page), pulled with the
#    task idle: restore to last page, and the requests CRIU made for its
#    ranges, with CRIU's default --lazy-request-ranges and with 1 (one
#    range per request, the old pull).
# --windows and --latency-variants narrow the latency runs (fault windows in
# pages; transports/variants, see migrate: e.g. an A/B of one mechanism).
# --latency-log-level is the lazy-pages daemon's -v in the latency runs: 2,
# CRIU's default, as users run it (at -v3 CRIU logs a line per page read,
# 60-120 us of a 4 KiB fault here, for both transports); the other runs and
# the dump and restore use --log-level (the sparse pull reads CRIU's info
# lines).
# --keep-daemon-log 1 keeps each migration's lazy-pages log with its raw data
# (to see where CRIU's loop spends a fault's wait, at --log-level 4).
# CRR_BENCH_CRIU=PATH runs that criu (relative: to the repository), e.g.
# build/criu-trace of bench/criu-trace/build.sh, whose lazy-pages daemon
# writes its fault timeline to $CRR_LP_TRACE.PID (bench/fault-timeline.py).
# --samples 0 skips the latency runs and the floors, --pull-mib 0 the pull,
# --storm-mib 0, --scan-mib 0 and --sparse-mib 0 their scenario.
# Needs: build/ (meson + ninja), perftest (ib_read_lat, ib_read_bw), root.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ip=${CRR_IP:-} dev=rxe0 netdev=eth0 mtus= runs=3 samples=200 mib=64 pull_mib=512 hold_ms=6000 loglevel=3
lat_loglevel=2 keep_daemon_log=0 storm_variants="tcp rdma tcp-req4096 rdma-req4096 rdma-nocap rdma-nofirst rdma-hand0 rdma-depth16 rdma-nourge rdma-post0"
storm_mib=256 scan_mib=4 scan_hold_ms= sparse_mib=64
windows="1 16" lat_variants="tcp rdma rdma-event rdma-copy"
pull_variants="tcp rdma tcp-req4096 rdma-req4096 tcp-inflight1 rdma-inflight1 rdma-depth16 rdma-post0"
# the scan's variants, NAME:EXTRA_LAZY_PAGES_ARGS (--scan-variant replaces the list)
scan_variants=("plain:--lazy-prefetch 0" "prefetch:--lazy-prefetch 64")
scan_variants_given=
# (set per scan variant, read by migrate)
variant= lazy_args=
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
	--storm-mib) storm_mib=$2 ;;
	--scan-mib) scan_mib=$2 ;;
	--scan-hold-ms) scan_hold_ms=$2 ;;
	--sparse-mib) sparse_mib=$2 ;;
	--windows) windows=$2 ;;
	--latency-variants) lat_variants=$2 ;;
	--scan-variant)
		[ -n "$scan_variants_given" ] || scan_variants=()
		scan_variants_given=1
		case $2 in
		*:*) scan_variants+=("$2") ;;
		*) echo "fault-bench: --scan-variant takes NAME:ARGS, not '$2'" >&2; exit 2 ;;
		esac ;;
	--log-level) loglevel=$2 ;;
	--latency-log-level) lat_loglevel=$2 ;;
	--keep-daemon-log) keep_daemon_log=$2 ;;
	--storm-variants) storm_variants=$2 ;;
	--pull-variants) pull_variants=$2 ;;
	--out) out=$2 ;;
	*) echo "fault-bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
criu=${CRR_BENCH_CRIU:-build/criu}
case $criu in /*) ;; *) criu=$top/$criu ;; esac
plugins=$top/build/plugin
tools=$top/build/bench
. "$top/bench/lib.sh"
bench_require fault-bench "$ip" $criu $plugins/criu-rdma.so $tools/fault-lat $tools/fault-storm $tools/uffd-rtt $tools/tcp-rtt
command -v ib_read_lat > /dev/null || { echo "fault-bench: perftest (ib_read_lat) is not installed" >&2; exit 1; }
mkdir -p $out
# images and workload files stay local (not on a network file system)
work=${TMPDIR:-/tmp}/fault-bench
runs_tsv=$out/runs.tsv
floor_tsv=$out/floor.tsv
echo -e "mtu\ttransport\twindow\trun\tkind\tsamples\tdump_s\trestore_to_done_s\tcpu_total_s\tcpu_serve_s\tbytes\tstats\tcpu_serve_user_s\tcpu_serve_sys_s\tguest_busy\tguest_softirq" > $runs_tsv
echo -e "mtu\twhat\tsize\tvalue\tunit" > $floor_tsv
storm_tsv=$out/storm.tsv
scan_tsv=$out/scan.tsv
echo -e "mtu\ttransport\tmode\trun\tmib\trestore_to_done_s\tpull_mib_s\taccesses\tfaults\traced\tfault_p50_us\tfault_p99_us\tstorm_s\tverify_s\tresumed_after_s\tstats\tguest_busy\tguest_softirq" > $storm_tsv
echo -e "mtu\ttransport\tvariant\trun\tmib\tscan_s\tfaults\tfaults_per_mib\trdma_fault_requests\trestore_to_done_s\tlazy_args\tstats" > $scan_tsv
echo -e "variant\tlazy_args\treason" > $out/scan-skipped.tsv
sparse_tsv=$out/sparse.tsv
echo -e "mtu\ttransport\trun\tmib\tpages\trestore_to_done_s\tpages_per_s\tcriu_requests\tcriu_ranges\tstats" > $sparse_tsv
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
# migration in a local work directory.  KIND latency or pull: a fault-lat
# workload, its line goes to runs.tsv; storm, idle or scan: a fault-storm
# workload in that mode (SAMPLES, DELAY_MS and GAP_MS unused), its line goes
# to storm.tsv or scan.tsv (scan: variant $variant, `criu lazy-pages`
# getting $lazy_args too).  Keeps samples and counters in $out/raw/NAME.
migrate() {
	local tr=$1 win=$2 size=$3 n=$4 delay=$5 gap=$6 bgdelay=$7 name=$8 kind=$9 d=$work/$8
	local img=$d/img rdma= lazy_v=$loglevel pin_lazy= pin_task= port=$((7600 + RANDOM % 200)) pid dump criu_pid t0 t1 t2 t3 cpu0 wl extra= began=$SECONDS
	rm -rf $d
	mkdir -p $img
	case $tr in tcp*) ;; *) rdma=--rdma ;; esac
	[ $kind = latency ] && lazy_v=$lat_loglevel
	# latency and spaced runs time faults with the pull held back, then end the task
	local held=false
	case $kind in latency | spaced) held=true ;; esac
	export CRIU_RDMA_STATS=$d/stats
	# a variant switches one mechanism off against the defaults (the A/B)
	unset CRIU_RDMA_FAULT_SPIN_US CRIU_RDMA_ONE_COPY CRIU_RDMA_FAULT_BG_CAP CRIU_RDMA_FAULT_SPIN_IDLE_US \
		CRIU_RDMA_CQ_ARM_LAZY CRIU_RDMA_FAULT_FIRST CRIU_RDMA_HANDOVER_KB CRIU_RDMA_BG_DEPTH CRIU_RDMA_URGE CRIU_RDMA_POST_THREAD \
		CRIU_RDMA_FAULT_BG_HOLD_MS
	# -holdN on any variant: the cap on background READs holds N ms after a fault (CRIU_RDMA_FAULT_BG_HOLD_MS)
	local base=$tr
	case $tr in *-hold[0-9]*) export CRIU_RDMA_FAULT_BG_HOLD_MS=${tr##*-hold} && base=${tr%-hold*} ;; esac
	case $base in
	rdma-event) export CRIU_RDMA_FAULT_SPIN_US=0 ;;
	# rdma-loadspin0: a fault polls for its READ only while no background READ is about (the
	# idle rule, CRIU_RDMA_FAULT_SPIN_IDLE_US); with the device loaded the budget is 0
	rdma-loadspin0) export CRIU_RDMA_FAULT_SPIN_US=1 ;;
	# the fault path's two switches of 2026-11-28, apart and together (the defaults before)
	rdma-spin-adaptive) export CRIU_RDMA_FAULT_SPIN_IDLE_US=0 ;;
	rdma-cq-armed) export CRIU_RDMA_CQ_ARM_LAZY=0 ;;
	rdma-before) export CRIU_RDMA_FAULT_SPIN_IDLE_US=0 CRIU_RDMA_CQ_ARM_LAZY=0 ;;
	# (-quiet: the lazy-pages daemon logs warnings only, not CRIU's info line per read)
	*-quiet) lazy_v=2 ;;
	rdma-copy) export CRIU_RDMA_ONE_COPY=0 ;;
	rdma-nocap) export CRIU_RDMA_FAULT_BG_CAP=65536 ;;
	# rdma-capN: at most N background READs in flight while faults are about (default 2)
	rdma-cap[0-9]*) export CRIU_RDMA_FAULT_BG_CAP=${base#rdma-cap} ;;
	rdma-nofirst) export CRIU_RDMA_FAULT_FIRST=0 ;;
	# rdma-handN: background pages to CRIU N KiB per round of its loop (rdma-hand0: each request whole, at once)
	rdma-hand[0-9]*) export CRIU_RDMA_HANDOVER_KB=${base#rdma-hand} ;;
	# rdma-depthN: at most N background READs in flight (rdma-depth16: the connection's 16 of rxe)
	rdma-depth2-nourge) export CRIU_RDMA_BG_DEPTH=2 CRIU_RDMA_URGE=0 ;;
	rdma-depth[0-9]*) export CRIU_RDMA_BG_DEPTH=${base#rdma-depth} ;;
	# rdma-post0: background READs posted by CRIU's thread, not the plugin's poster (CRIU_RDMA_POST_THREAD=0)
	rdma-post[01]) export CRIU_RDMA_POST_THREAD=${base#rdma-post} ;;
	# rdma-nourge: a fault on a page a queued request carries waits for it in line
	rdma-nourge) export CRIU_RDMA_URGE=0 ;;
	*-inflight1) extra="--lazy-pages-inflight 1" ;;
	# -reqN: background requests of at most N KiB (default 256; -req4096: CRIU's old fixed size)
	*-req[0-9]*) extra="--lazy-request-max ${base##*-req}" ;;
	*-ranges1) extra="--lazy-request-ranges 1" ;;
	# -gapN (latency runs): the task sleeps N ms after each timed access, not 0 (faults back to back)
	*-gap[0-9]*) gap=${base##*-gap} ;;
	# -pinsplit / -pinsame: the lazy-pages daemon on CPU 0, the restored task (which
	# inherits the restore's affinity) on CPU 1 / 0; -pindaemon: the daemon alone on CPU 0
	*-pinsplit) pin_lazy="taskset -c 0" pin_task="taskset -c 1" ;;
	*-pinsame) pin_lazy="taskset -c 0" pin_task="taskset -c 0" ;;
	*-pindaemon) pin_lazy="taskset -c 0" ;;
	esac
	case $kind in
	storm | idle | sparse) wl="$tools/fault-storm $d $size $kind" ;;
	scan) wl="$tools/fault-storm $d $size $kind" extra=$lazy_args ;;
	*) wl="$tools/fault-lat $d $size $n $win $delay $gap" ;;
	esac
	unshare -p -f setsid $wl < /dev/null > $d/workload.log 2>&1 &
	# (filling a large area takes a while under emulation)
	for _ in $(seq 1200); do [ -f $d/ready ] && break; sleep 0.1; done
	pid=$(pgrep -f "^$tools/fault-[a-z]* $d " | tail -n 1)
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
	[ -n "$rdma" ] && ready="rdma: export: \|Lazy pages transfer"
	for _ in $(seq 1200); do
		grep -q "$ready" $img/dump.log 2> /dev/null && break
		[ -f $d/dump-status ] && break
		sleep 0.02
	done
	[ -f $d/dump-status ] && { log "dump exited early"; tail -n 20 $img/dump.log >&2; return 1; }
	t1=$(now)
	criu_pid=$(pgrep -P $dump -x criu | head -n 1)
	cpu0=$(cpu_of $criu_pid)
	( $pin_lazy $criu lazy-pages --page-server $rdma --address $ip --port $port -D $img --libdir $plugins \
		--lazy-fault-around $win --lazy-background-delay $bgdelay $extra -o lazy.log -v$lazy_v
	  echo $? > $d/lazy-status; now > $d/lazy-end; head -n 1 /proc/stat > $d/lazy-end-stat ) &
	# the restore connects to the daemon's socket
	for _ in $(seq 300); do [ -S $img/lazy-pages.socket ] && break; sleep 0.05; done
	timeout 120 $pin_task $criu restore --lazy-pages -D $img -d --libdir $plugins -o restore.log -v$loglevel ||
		{ log "restore failed"; return 1; }
	t2=$(now)
	head -n 1 /proc/stat > $d/restored-stat
	touch $d/go
	if [ $kind = storm ] || [ $kind = idle ] || [ $kind = sparse ]; then
		# the task checks its memory once the last page is in
		for _ in $(seq 6000); do [ -f $d/lazy-status ] && break; sleep 0.05; done
		touch $d/pulled
	fi
	for _ in $(seq 3000); do [ -f $d/result ] && break; sleep 0.05; done
	grep -q "^OK" $d/result 2> /dev/null || { log "workload: $(cat $d/result 2> /dev/null)"; return 1; }
	if $held && awk -v a=$t2 -v b=$(now) -v h=$bgdelay 'BEGIN { exit !(b - a > h / 1000) }'; then
		log "the faults took longer than the pull was held back ($bgdelay ms): it overlapped them; raise it"
		return 1
	fi
	if [ $kind = scan ] && awk -v a=$t2 -v b=$(now) -v h=$bgdelay 'BEGIN { exit !(b - a > h / 1000) }'; then
		log "the scan took longer than --scan-hold-ms $bgdelay: the background pull overlapped it; raise it"
		return 1
	fi
	# a latency run ends now; the others keep the task until every page is
	# in (a scan's task exiting with CRIU's TCP reads still in flight made
	# the daemon close on unread data, and the source's dump failed on the reset)
	$held && touch $d/exit
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
	if [ -n "$rdma" ]; then
		[ -f $d/stats ] || { log "no RDMA transport counters"; return 1; }
		# every timed fault came over RDMA
		! $held || [ "$(sed -n 's/^fault_requests=//p' $d/stats)" -ge $n ] || { log "fewer RDMA faults than samples"; return 1; }
		stats=$(grep -v '^transport' $d/stats | tr '\n' ' ')
	fi
	local restore_to_done
	restore_to_done=$(awk -v a=$t2 -v b=$t3 'BEGIN { printf "%.3f", b - a }')
	case $kind in
	storm | idle) storm_row ;;
	scan) scan_row ;;
	sparse) sparse_row ;;
	*) echo -e "$mtu\t$tr\t$win\t$run\t$kind\t$n\t$(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.3f", b - a }')\t$restore_to_done\t$cpu_total\t$cpu_serve\t$bytes\t$stats\t$cpu_serve_user\t$cpu_serve_sys\t$(guest_cpu)" >> $runs_tsv ;;
	esac
	mkdir -p $out/raw/$name
	cp $d/result $out/raw/$name/
	[ -f $d/lat.txt ] && cp $d/lat.txt $out/raw/$name/
	# the task's and the daemon's timestamps of each fault, to line them up
	[ -f $d/lat-abs.txt ] && cp $d/lat-abs.txt $out/raw/$name/
	[ -f $d/stats.faults ] && cp $d/stats.faults $out/raw/$name/
	# the source's log of a pull shows its export and release times
	[ $kind = pull ] && cp $img/dump.log $out/raw/$name/
	[ -f $d/stats ] && cp $d/stats $out/raw/$name/
	[ "$keep_daemon_log" = 1 ] && cp $img/lazy.log $out/raw/$name/
	rm -rf $d
	log "$name: $((SECONDS - began)) s"
}

# result_val KEY: a value from the workload's "OK key=value ..." result (in migrate)
result_val() { sed -n "s/^OK.* $1=\([^ ]*\).*/\1/p" $d/result; }

# pct_of P FILE: the P-th percentile of the numbers in FILE (as report.py takes it)
pct_of() {
	sort -n $2 | awk -v p=$1 '{ v[NR] = $1 } END { i = int(NR * p / 100) + 1; if (i > NR) i = NR; print v[i] }'
}

# guest_cpu: the guest's CPUs from the restore to the last page (both vCPUs
# together): the busy fraction and the softirq part of it (rxe's packet work
# runs there), from /proc/stat at the two moments; "- -" if one is missing
guest_cpu() {
	[ -s $d/restored-stat ] && [ -s $d/lazy-end-stat ] || { echo -e "-\t-"; return; }
	cat $d/restored-stat $d/lazy-end-stat | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i
		idle[NR] = $5 + $6; soft[NR] = $8; tot[NR] = t }
		END { d = tot[2] - tot[1]; if (d <= 0) { print "-\t-"; exit }
		printf "%.3f\t%.3f\n", 1 - (idle[2] - idle[1]) / d, (soft[2] - soft[1]) / d }'
}

# storm_row, scan_row: the line of a fault-storm run (in migrate, whose variables they read)
storm_row() {
	local p50=- p99=-
	if [ -s $d/lat.txt ]; then
		p50=$(pct_of 50 $d/lat.txt)
		p99=$(pct_of 99 $d/lat.txt)
	fi
	echo -e "$mtu\t$tr\t$kind\t$run\t$size\t$restore_to_done\t$(awk -v s=$size -v t=$restore_to_done 'BEGIN { printf "%.2f", s / t }')\t$(result_val accesses)\t$(result_val faults)\t$(result_val raced)\t$p50\t$p99\t$(result_val storm_s)\t$(result_val verify_s)\t$(awk -v a=$t2 -v b=$(result_val resumed_at) 'BEGIN { printf "%.3f", b - a }')\t$stats\t$(guest_cpu)" >> $storm_tsv
}
scan_row() {
	local f fr=-
	f=$(result_val faults)
	[ -f $d/stats ] && fr=$(sed -n 's/^fault_requests=//p' $d/stats)
	echo -e "$mtu\t$tr\t$variant\t$run\t$size\t$(result_val scan_s)\t$f\t$(awk -v f=$f -v s=$size 'BEGIN { printf "%.1f", f / s }')\t$fr\t$restore_to_done\t${lazy_args:--}\t$stats" >> $scan_tsv
}

sparse_row() {
	local reqs ranges pages=$((size * 128))
	read -r ranges reqs <<< "$(sed -n 's/.*background: \([0-9]*\) ranges in \([0-9]*\) requests.*/\1 \2/p' $img/lazy.log |
		awk '{ r += $1; q += $2 } END { print r + 0, q + 0 }')"
	echo -e "$mtu\t$tr\t$run\t$size\t$pages\t$restore_to_done\t$(awk -v p=$pages -v t=$restore_to_done 'BEGIN { printf "%.0f", p / t }')\t$reqs\t$ranges\t$stats" >> $sparse_tsv
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
	[ "$samples" -gt 0 ] || continue
	floors
	for run in $(seq $runs); do
		for win in $windows; do
			# rdma: the defaults (one copy, polling); rdma-event: a fault
			# never polls; rdma-copy: pages copied into CRIU's buffer;
			# rdma-spin-adaptive, rdma-cq-armed, rdma-before, *-quiet: see migrate
			for tr in $lat_variants; do
				log "MTU $mtu run $run: $tr, $((win * 4)) KiB faults"
				# faults alone: no background pull until they are done
				migrate $tr $win $mib $samples 0 0 $hold_ms lat-$mtu-$tr-$win-$run latency ||
					{ log "FAILED: $tr $win run $run"; keep_logs lat-$mtu-$tr-$win-$run; exit 1; }
			done
		done
	done
done
# Background pull of a large area, with a few faults spread over it, and the
# source's CPU per GiB.  Its faults, 250 ms apart, are timed against the
# same faults with the pull held back ("spaced", TCP and RDMA): a fault
# that comes after the guest idled 250 ms wakes the task, the daemon and
# rxe, which faults back to back (the idle latency above) never do.
for run in $(seq $runs); do
	[ "$pull_mib" -gt 0 ] || break
	# (-inflight1: CRIU's old pull, one background request at a time; rdma-depthN:
	# at most N background READs in flight)
	for tr in $pull_variants; do
		log "pull of $pull_mib MiB, run $run: $tr"
		migrate $tr 1 $pull_mib 20 1500 250 0 pull-$mtu-$tr-$run pull ||
			{ log "FAILED: pull $tr run $run"; keep_logs pull-$mtu-$tr-$run; exit 1; }
	done
	for tr in tcp rdma; do
		case " $pull_variants " in *" $tr "*) ;; *) continue ;; esac
		log "the pull's faults with the pull held back, run $run: $tr"
		# (held 1.5 s + 20 x 250 ms + a margin; the task exits after, the pull never runs)
		migrate $tr 1 $pull_mib 20 1500 250 15000 spaced-$mtu-$tr-$run spaced ||
			{ log "FAILED: spaced $tr run $run"; keep_logs spaced-$mtu-$tr-$run; exit 1; }
	done
done
# Fault storm: the pull of an area while its task faults on random missing
# pages nonstop, against the same pull with the task idle, in the same run.
start=$SECONDS
for run in $(seq $runs); do
	[ "$storm_mib" -gt 0 ] || break
	# (rdma-nocap: no cap on background READs while faults wait; rdma-nofirst:
	# READs reaped together go to CRIU in completion order; rdma-hand0: background
	# requests to CRIU whole, never in parts (CRIU_RDMA_HANDOVER_KB=0); variants: storm only)
	for tr in $storm_variants; do
		for mode in storm idle; do
			[ $tr != tcp ] && [ $tr != rdma ] && [ $mode = idle ] && continue
			log "fault storm, $storm_mib MiB, run $run: $tr, task $mode"
			migrate $tr 1 $storm_mib 0 0 0 0 storm-$mtu-$tr-$mode-$run $mode ||
				{ log "FAILED: storm $tr $mode run $run"; keep_logs storm-$mtu-$tr-$mode-$run; exit 1; }
		done
	done
done
[ "$storm_mib" -gt 0 ] && log "fault storm took $((SECONDS - start)) s"
# Sequential scan, served by faults alone: the pull waits --scan-hold-ms
# (by default 3 s + 1 s a MiB: without prefetch, the scan took 0.45-0.9 s a
# MiB over TCP under emulation, 4 KiB faults at 1.7-3.5 ms; a scan that
# outlasts the hold fails the run).
[ -n "$scan_hold_ms" ] || scan_hold_ms=$((3000 + 1000 * scan_mib))
start=$SECONDS
run_variants=()
for v in "${scan_variants[@]}"; do
	[ "$scan_mib" -gt 0 ] || break
	# A variant needs a CRIU that has its options (a usage line starting
	# with the option).  An unknown option given 0 is dropped instead: 0 is
	# "off" (--lazy-prefetch 0), which a CRIU without the option is anyway.
	read -r -a words <<< "${v#*:}"
	kept=() missing= i=0
	while [ $i -lt ${#words[@]} ]; do
		o=${words[i]}
		if [[ $o == --* ]] && ! $criu --help 2>&1 | grep -aqE -- "^ *$o( |=|$)"; then
			if [ "${words[i + 1]:-}" = 0 ]; then
				log "scan variant ${v%%:*}: this criu has no $o, which is off without it"
				i=$((i + 2))
				continue
			fi
			missing="$missing $o"
		fi
		kept+=("$o")
		i=$((i + 1))
	done
	if [ -n "$missing" ]; then
		log "scan variant ${v%%:*} skipped: criu lazy-pages does not know$missing"
		echo -e "${v%%:*}\t${v#*:}\tcriu has no$missing" >> $out/scan-skipped.tsv
	else
		run_variants+=("${v%%:*}:${kept[*]}")
	fi
done
for run in $(seq $runs); do
	for v in "${run_variants[@]}"; do
		variant=${v%%:*} lazy_args=${v#*:}
		for tr in tcp rdma; do
			log "sequential scan, $scan_mib MiB, run $run: $tr, $variant${lazy_args:+ ($lazy_args)}"
			migrate $tr 1 $scan_mib 0 0 0 $scan_hold_ms scan-$mtu-$tr-$variant-$run scan ||
				{ log "FAILED: scan $tr $variant run $run"; keep_logs scan-$mtu-$tr-$variant-$run; exit 1; }
		done
	done
done
[ "$scan_mib" -gt 0 ] && log "sequential scan took $((SECONDS - start)) s"
# Sparse pull: every other page of the area dumped, the task idle; CRIU's
# requests carrying many ranges (the default) against one range each.
start=$SECONDS
if [ "$sparse_mib" -gt 0 ]; then
	# the device's own rate of 4 KiB READs (16 outstanding): a sparse pull is one READ per page
	perftest ib_read_bw 4096 2000 | awk -v m=$mtu '{ printf "%s\tib_read_bw_4k_reads\t4096\t%.0f\treads/s\n", m, $5 * 1e6 }' >> $floor_tsv
fi
for run in $(seq $runs); do
	[ "$sparse_mib" -gt 0 ] || break
	for tr in tcp rdma tcp-ranges1 rdma-ranges1; do
		log "sparse pull, $sparse_mib MiB (every other page), run $run: $tr"
		migrate $tr 1 $sparse_mib 0 0 0 0 sparse-$mtu-$tr-$run sparse ||
			{ log "FAILED: sparse $tr run $run"; keep_logs sparse-$mtu-$tr-$run; exit 1; }
	done
done
[ "$sparse_mib" -gt 0 ] && log "sparse pull took $((SECONDS - start)) s"
log "done: $runs_tsv $floor_tsv $storm_tsv $scan_tsv $sparse_tsv"
