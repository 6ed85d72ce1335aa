#!/bin/bash
# Remote fork: one lazy dump restored N times at once over --rdma
# (CRIU_RDMA_TARGETS=N), against N lazy migrations over CRIU's TCP page
# server one after the other.  CRIU's page server serves one lazy-pages
# client and then ends, so TCP cannot restore one dump twice: each of its N
# migrations dumps a fresh copy of the same workload.
#
#   bench/fork-bench.sh --ip ADDR [--mib 64] [--ns "1 2 4 8"] [--runs 3]
#                       [--log-level 3] [--out DIR]
#
# Per RDMA run (N targets): from `criu dump` starting (the tree freezes) to
# the source serving, to the N-th restore returning (N copies running), and
# to the N-th lazy-pages daemon exiting (N x every page in); the source's
# CPU (user + system of `criu dump`, all of it and from serving on) and its
# peak RSS.  Each copy is restored into a PID namespace of its own from the
# same images, and checks every page once all are in (the check is not
# timed).  Per TCP run: N_max migrations in a row, each with the same times;
# the k-th line sums the first k (time to k copies one after the other).
# Writes DIR/fork.tsv.  Needs: build/ (meson + ninja), an RDMA device at
# ADDR, root.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ip=${CRR_IP:-} mib=64 ns="1 2 4 8" runs=3 loglevel=3 out=$top/build/bench
while [ $# -gt 0 ]; do
	case $1 in
	--ip) ip=$2 ;;
	--mib) mib=$2 ;;
	--ns) ns=$2 ;;
	--runs) runs=$2 ;;
	--log-level) loglevel=$2 ;;
	--out) out=$2 ;;
	*) echo "fork-bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
criu=$top/build/criu
plugins=$top/build/plugin
workload=$top/build/test/tools/lazy-pattern
. "$top/bench/lib.sh"
bench_require fork-bench "$ip" $criu $plugins/criu-rdma.so $workload
nmax=$(echo $ns | tr ' ' '\n' | sort -n | tail -n 1)
mkdir -p $out
work=${TMPDIR:-/tmp}/fork-bench
tsv=$out/fork.tsv
echo -e "transport\tn\trun\tmib\tfrozen_to_serving_s\tto_running_s\tto_all_pages_s\tsrc_cpu_s\tsrc_cpu_serving_s\tsrc_hwm_kb\tcopies_ok" > $tsv
log() { echo "fork-bench: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a=$1 -v b=$2 'BEGIN { printf "%.3f", b - a }'; }
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' /proc/$1/stat 2> /dev/null || echo 0; }
# run_rusage FILE CMD...: CMD's status, user + system seconds and peak RSS (KiB) into FILE when it ends
run_rusage() {
	python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%d %.3f %d\n" % (rc, r.ru_utime + r.ru_stime, r.ru_maxrss))' "$@"
}

# start_workload DIR: a pattern workload in its own PID namespace; sets pid
start_workload() {
	mkdir -p $1/img
	unshare -p -f setsid $workload $1 $mib ns < /dev/null > $1/workload.log 2>&1 &
	for _ in $(seq 1200); do [ -f $1/ready ] && break; sleep 0.1; done
	pid=$(pgrep -f "^$workload $1 " | head -n 1)
	[ -n "$pid" ] || { log "workload did not start"; return 1; }
}

# start_dump DIR TRANSPORT_ARGS PORT: the lazy dump, until it serves; sets t0 t_serve cpu0
start_dump() {
	local d=$1 ready="Starting lazy pages server\|Lazy pages transfer"
	[ -n "$2" ] && ready="rdma: export: \|Lazy pages transfer"
	t0=$(now)
	run_rusage $d/dump.rusage $criu dump -t $pid -D $d/img --lazy-pages $2 --address $ip --port $3 \
		--libdir $plugins -o dump.log -v$loglevel &
	for _ in $(seq 3000); do
		grep -q "$ready" $d/img/dump.log 2> /dev/null && break
		[ -s $d/dump.rusage ] && break
		sleep 0.02
	done
	[ -s $d/dump.rusage ] && { log "dump exited early"; tail -n 20 $d/img/dump.log >&2; return 1; }
	t_serve=$(now)
	cpu0=$(cpu_of $(pgrep -f "^$criu dump -t $pid " | head -n 1))
}

# start_target DIR NAME TRANSPORT_ARGS PORT: a lazy-pages daemon and its restore, in DIR/NAME
start_target() {
	local w=$1/$2
	mkdir -p $w
	( $criu lazy-pages --page-server $3 --address $ip --port $4 -D $1/img -W $w --libdir $plugins \
		-o lazy.log -v$loglevel
	  echo $? > $w/lazy-status; now > $w/lazy-end ) &
	for _ in $(seq 300); do [ -S $w/lazy-pages.socket ] && break; sleep 0.05; done
	( timeout 300 $criu restore --lazy-pages -D $1/img -W $w -d --pidfile $w/restored.pid -o restore.log \
		-v$loglevel
	  echo $? > $w/restore-status; now > $w/restore-end ) &
}

# last_end DIR STEP TRIES TARGETS...: waits (TRIES x 50 ms at most) for each
# target's STEP (restore, lazy), which must have succeeded (its log is
# STEP.log); prints the latest of their end times
last_end() {
	local d=$1 step=$2 tries=$3 t latest=0
	shift 3
	for t in "$@"; do
		for _ in $(seq $tries); do [ -f $d/$t/$step-status ] && break; sleep 0.05; done
		[ "$(cat $d/$t/$step-status 2> /dev/null)" = 0 ] ||
			{ log "$step of $t failed"; tail -n 20 $d/$t/$step.log >&2; return 1; }
		latest=$(awk -v a=$latest -v b=$(cat $d/$t/$step-end) 'BEGIN { printf "%.6f", (b > a ? b : a) }')
	done
	echo $latest
}

# finish DIR TARGETS...: waits for the targets' restores and daemons; sets t_run t_all
finish() {
	local d=$1
	shift
	t_run=$(last_end $d restore 3000 "$@") && t_all=$(last_end $d lazy 12000 "$@")
}

# check DIR N: every copy reads back every page (then exits), the dump ended well; sets cpu hwm ok
check() {
	local d=$1 n=$2
	touch $d/check
	for _ in $(seq 1200); do [ "$(ls $d/result-* 2> /dev/null | wc -l)" -ge $n ] && break; sleep 0.1; done
	ok=$(cat $d/result-* 2> /dev/null | grep -c "^OK $((mib * 256)) pages")
	[ "$ok" = $n ] || { log "$ok of $n copies read back every page: $(cat $d/result-* 2> /dev/null)"; return 1; }
	for _ in $(seq 1200); do [ -s $d/dump.rusage ] && break; sleep 0.1; done
	read -r rc cpu hwm < $d/dump.rusage
	[ "$rc" = 0 ] || { log "dump failed"; tail -n 20 $d/img/dump.log >&2; return 1; }
}

rdma_run() { # N RUN
	local n=$1 run=$2 d=$work/rdma-$1-$2 port=$((7800 + RANDOM % 100)) t
	rm -rf $d
	start_workload $d || return 1
	export CRIU_RDMA_TARGETS=$n
	start_dump $d --rdma $port || return 1
	unset CRIU_RDMA_TARGETS
	for t in $(seq $n); do
		start_target $d t$t --rdma $port
	done
	finish $d $(seq -f t%g $n) || return 1
	check $d $n || return 1
	echo -e "rdma\t$n\t$run\t$mib\t$(since $t0 $t_serve)\t$(since $t0 $t_run)\t$(since $t0 $t_all)\t$cpu\t$(awk -v a=$cpu -v b=$cpu0 'BEGIN { printf "%.2f", a - b }')\t$hwm\t$ok" >> $tsv
	rm -rf $d
}

tcp_run() { # RUN: N_max migrations in a row, one line per prefix
	local run=$1 k d port sum_run=0 sum_all=0 sum_cpu=0 sum_serve=0 sum_frozen=0 hwm_max=0
	for k in $(seq $nmax); do
		d=$work/tcp-$k-$run port=$((7900 + RANDOM % 100))
		rm -rf $d
		start_workload $d || return 1
		start_dump $d "" $port || return 1
		start_target $d t1 "" $port
		finish $d t1 || return 1
		check $d 1 || return 1
		# the k-th copy runs once the k-1 before it have all their pages
		sum_run=$(awk -v s=$sum_all -v x=$(since $t0 $t_run) 'BEGIN { printf "%.3f", s + x }')
		sum_all=$(awk -v s=$sum_all -v x=$(since $t0 $t_all) 'BEGIN { printf "%.3f", s + x }')
		sum_frozen=$(awk -v s=$sum_frozen -v x=$(since $t0 $t_serve) 'BEGIN { printf "%.3f", s + x }')
		sum_cpu=$(awk -v s=$sum_cpu -v x=$cpu 'BEGIN { printf "%.2f", s + x }')
		sum_serve=$(awk -v s=$sum_serve -v x=$cpu -v c=$cpu0 'BEGIN { printf "%.2f", s + x - c }')
		[ $hwm -gt $hwm_max ] && hwm_max=$hwm
		if echo " $ns " | grep -q " $k "; then
			echo -e "tcp\t$k\t$run\t$mib\t$sum_frozen\t$sum_run\t$sum_all\t$sum_cpu\t$sum_serve\t$hwm_max\t$k" >> $tsv
		fi
		rm -rf $d
	done
}

ulimit -l unlimited
# a first migration after boot pays for cold caches (its freeze took 3 x the
# others'): one of each transport, not recorded
log "warm-up: one migration over each transport, not recorded"
keep=$tsv tsv=/dev/null nmax_keep=$nmax nmax=1
{ rdma_run 1 0 && tcp_run 0; } || { log "FAILED: the warm-up"; exit 1; }
tsv=$keep nmax=$nmax_keep
for run in $(seq $runs); do
	for n in $ns; do
		log "run $run: one dump, $n copies over RDMA"
		rdma_run $n $run || { log "FAILED: rdma $n run $run"; exit 1; }
	done
	log "run $run: $nmax migrations over TCP one after the other"
	tcp_run $run || { log "FAILED: tcp run $run"; exit 1; }
done
log "done: $tsv"
