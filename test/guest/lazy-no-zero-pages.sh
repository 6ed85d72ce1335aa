#!/bin/bash
# A migration that cannot finish kills the restored task; it never lets it
# run on pages that did not arrive (they would read back as zeros), and it
# never leaves the source tree running next to the restored one.  In one
# guest, while the restored task reads its memory page by page:
#  A. TCP, pages by fault only (background pull held back): the source's
#     page server is killed -> the restored task is killed;
#  B. TCP, mid-pull: the target's lazy-pages daemon is SIGKILLed (it cannot
#     clean up) -> its guard kills the restored task; the source, which has
#     served the target, kills its frozen tree instead of resuming it;
#  C. RDMA, mid-pull: the same as B over the RDMA transport;
#  D. RDMA, the source unreachable: the daemon (which connects while the
#     restore runs) gives up only after the restore is done and the task
#     waits on its first faults -> its guard kills the restored task.
# Without the guard the restored task reads zeros and reports FAIL; without
# the dump's rule the source tree runs on.
set -u
# the RDMA source waits this long for a lost target to come back
export CRIU_RDMA_TIMEOUT_MS=2000 CRIU_RDMA_RECOVERY_S=5
top=$PWD
criu=$top/build/criu
plugins=$top/build/plugin
failed=0
fail() { echo "FAIL: $*"; failed=1; }

state() { awk '/^State:/ { print $2 }' /proc/$1/status 2>/dev/null; }
wait_gone() { # PID SECONDS
	for _ in $(seq $(( $2 * 10 ))); do [ -z "$(state $1)" ] || [ "$(state $1)" = Z ] && return 0; sleep 0.1; done
	return 1
}
wait_log() { # FILE PATTERN
	for _ in $(seq 600); do grep -q "$2" $1 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# dump_lazily NAME MIB PORT RDMA_FLAG [VAR=VALUE...]: a lazy-pattern workload of
# MIB (its environment given VAR=VALUE) in a new directory $d, dumped lazily
# ($pid the workload, $dump the dump serving it)
dump_lazily() {
	local name=$1 mib=$2 port=$3 rdma=$4
	shift 4
	d=$(mktemp -d /tmp/nozero.XXXXXX)
	mkdir $d/img
	env "$@" unshare -p -f setsid $top/build/test/tools/lazy-pattern $d $mib < /dev/null > $d/workload.log 2>&1 &
	for _ in $(seq 300); do [ -f $d/ready ] && break; sleep 0.1; done
	pid=$(pgrep -f "^$top/build/test/tools/lazy-pattern $d" | head -n 1)
	$criu dump -t $pid -D $d/img --lazy-pages $rdma --address $CRR_IP --port $port --libdir $plugins \
		-o dump.log -v4 &
	dump=$!
	wait_log $d/img/dump.log "Starting lazy pages server\|MiB zero-copy from" || fail "$name: dump did not serve"
}

# run_case NAME TRANSPORT(tcp|rdma) KILL(source|target) PORT MIB [DELAY_MS]
run_case() {
	local name=$1 transport=$2 victim=$3 port=$4 mib=$5 delay= d pid dump lazy restored t0 rdma= before
	[ -n "${6:-}" ] && delay="--lazy-background-delay $6"
	[ $transport = rdma ] && rdma=--rdma
	before=$(rdma resource show | sed 's/^[0-9]*: //')
	dump_lazily $name $mib $port "$rdma"
	sleep 1
	$criu lazy-pages --page-server $rdma --address $CRR_IP --port $port -D $d/img --libdir $plugins \
		$delay -o lazy.log -v4 &
	lazy=$!
	for _ in $(seq 300); do [ -S $d/img/lazy-pages.socket ] && break; sleep 0.1; done
	# under a subreaper, which learns how the restored task ends
	python3 $top/test/tools/subreap.py $d/reaped $criu restore --lazy-pages -D $d/img -d \
		--pidfile $d/restored.pid --libdir $plugins -o restore.log -v4 &
	for _ in $(seq 300); do [ -s $d/restored.pid ] && break; sleep 0.1; done
	for _ in $(seq 50); do grep -q "Restore finished successfully" $d/img/restore.log && break; sleep 0.1; done
	grep -q "Restore finished successfully" $d/img/restore.log || fail "$name: restore"
	restored=$(cat $d/restored.pid)
	[ -n "$(state $restored)" ] || fail "$name: no restored task"
	touch $d/check
	sleep 1
	[ -f $d/result ] && fail "$name: the task read all its memory before the kill; the case proves nothing"
	t0=$(date +%s%N)
	if [ $victim = source ]; then
		kill -9 $dump
		# a killed dump leaves its tree to run on: it is not the copy under test
		kill -9 $pid
	else
		kill -9 $lazy
	fi
	wait_gone $restored 60 || fail "$name: the restored task still runs after the migration failed ($(state $restored))"
	echo "$name: restored task gone $(( ($(date +%s%N) - t0) / 1000000 )) ms after the kill"
	if [ -f $d/result ]; then
		cat $d/result
		grep -q ^FAIL $d/result && fail "$name: the restored task read memory that never arrived"
		# the source's copy is killed (A: by us; B, C: by its dump), the restored one too
		grep -q ^OK $d/result && fail "$name: a copy of the task ran on to the end"
	fi
	# killed on purpose (SIGKILL): not crashed on zeroed memory, not ended on a wrong page
	for _ in $(seq 100); do grep -q "^$restored " $d/reaped 2> /dev/null && break; sleep 0.1; done
	echo "$name: the restored task ended by $(sed -n "s/^$restored //p" $d/reaped)"
	grep -q "^$restored signal 9$" $d/reaped || fail "$name: the restored task was not killed but ended otherwise"
	grep "lazy-pages-guard" $d/img/lazy.log | head -3
	grep -q "still misses lazy pages .*killing it" $d/img/lazy.log || fail "$name: no message naming the killed task"
	if [ $victim = target ]; then
		timeout ${CRR_SOURCE_GIVEUP_S:-60} tail --pid=$dump -f /dev/null || fail "$name: the source hangs"
		wait $dump && fail "$name: the source dump claims success"
		grep "killing the dumped tree" $d/img/dump.log || fail "$name: the source did not say it kills its tree"
		wait_gone $pid 10 || fail "$name: the source tree runs on next to the restored one ($(state $pid))"
		[ $transport = rdma ] && ! grep -q "cannot release" $d/img/dump.log || true
	else
		timeout 60 tail --pid=$lazy -f /dev/null || fail "$name: the target daemon hangs"
		wait $lazy && fail "$name: the target daemon claims success"
	fi
	kill -9 $dump $lazy $pid $restored 2>/dev/null
	sleep 0.5
	# nothing left behind: no CRIU process (the guard included), no RDMA resources
	pgrep -a -f "criu (dump|lazy-pages|restore)" && fail "$name: a CRIU process is left"
	[ "$(rdma resource show | sed 's/^[0-9]*: //')" = "$before" ] ||
		fail "$name: RDMA resources left: $(rdma resource show)"
	echo "case $name done"
}

# run_unreachable NAME PORT: the daemon is sent to an address nobody answers
# (its attempt ends after CRIU_RDMA_TIMEOUT_MS), the source serves elsewhere.
# The restore does not wait for the daemon: it hands its task over, is done
# and the task runs into its first fault while the daemon still tries.  (The
# workload runs without rseq: glibc registers an rseq area in the TLS, a lazy
# page the restorer writes, which would make the restore itself wait.)  When
# the daemon gives up, the task it was handed must be killed: not left to
# read zeros once the daemon's userfaultfds go.
run_unreachable() {
	local name=$1 port=$2 d pid dump lazy restore restored rc dead=${CRR_IP%.*}.99
	dump_lazily $name 16 $port --rdma GLIBC_TUNABLES=glibc.pthread.rseq=0
	CRIU_RDMA_TIMEOUT_MS=20000 $criu lazy-pages --page-server --rdma --address $dead --port $port \
		-D $d/img --libdir $plugins -o lazy.log -v4 &
	lazy=$!
	for _ in $(seq 300); do [ -S $d/img/lazy-pages.socket ] && break; sleep 0.1; done
	python3 $top/test/tools/subreap.py $d/reaped $criu restore --lazy-pages -D $d/img -d \
		--pidfile $d/restored.pid --libdir $plugins -o restore.log -v4 &
	restore=$!
	wait_log $d/img/restore.log "Restore finished successfully\|Restoring FAILED"
	grep -q "Restore finished successfully" $d/img/restore.log || fail "$name: the restore failed"
	# the case needs the order: the restore done, the task faulting, the daemon's failure after
	kill -0 $lazy 2> /dev/null || fail "$name: the daemon gave up before the restore was done; the case proves nothing"
	touch $d/check
	sleep 1
	[ -f $d/result ] && fail "$name: the task read its memory before the daemon gave up; the case proves nothing"
	timeout 60 tail --pid=$lazy -f /dev/null || fail "$name: the target daemon hangs"
	wait $lazy && fail "$name: the target daemon claims success"
	grep -a "no RDMA route\|cannot connect\|killing it" $d/img/lazy.log | head -3
	timeout 60 tail --pid=$restore -f /dev/null || fail "$name: the restore (or its task) hangs"
	wait $restore
	rc=$?
	restored=$(cat $d/restored.pid 2> /dev/null)
	echo "$name: restore exit status $rc, restored task '${restored}', reaped: $(tr '\n' ' ' < $d/reaped)"
	grep -a "Error" $d/img/restore.log | head -3
	if [ -f $d/result ]; then
		cat $d/result
		grep -q ^FAIL $d/result && fail "$name: the restored task read memory that never arrived"
		grep -q ^OK $d/result && fail "$name: the restored task ran to the end without its pages"
	fi
	[ -n "$restored" ] && grep -q "^$restored signal 9$" $d/reaped ||
		fail "$name: the restored task was not killed but ended otherwise"
	grep -q "still misses lazy pages .*killing it" $d/img/lazy.log || fail "$name: no message naming the killed task"
	for p in $(pgrep -f "^$top/build/test/tools/lazy-pattern $d"); do
		[ "$p" = "$pid" ] || fail "$name: a restored copy still runs ($p, $(state $p))"
	done
	kill -9 $dump $pid 2>/dev/null
	sleep 0.5
	pgrep -a -f "criu (dump|lazy-pages|restore)" && fail "$name: a CRIU process is left"
	echo "case $name done"
}

# only faults fetch pages here: the task is part-way through its memory when the kill comes
run_case tcp-source-killed tcp source 7580 64 600000
# the background pull runs (256 MiB: seconds of it) while the task reads
run_case tcp-target-killed tcp target 7581 256
run_case rdma-target-killed rdma target 7582 256
run_unreachable rdma-source-unreachable 7583

[ $failed -eq 0 ] && echo "PASS: no zero pages, no second copy" || exit 1
