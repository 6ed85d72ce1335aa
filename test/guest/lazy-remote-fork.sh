#!/bin/bash
# Remote fork: one lazy dump, several restores (CRIU_RDMA_TARGETS=N).  In one
# guest (source and targets over rxe loopback), a pattern workload in its own
# PID namespace is dumped once and restored by several targets, each a
# lazy-pages daemon + restore pair with its own work directory, each copy in
# a PID namespace of its own, all from the same image directory, which none
# of them writes.
#
# copies: 4 targets at once; every copy checks every page; the source
# reports each target's pages (all of them, each) and exits 0; the frozen
# tree is gone and nothing of CRIU is left registered (MRs, QPs).
#
# attacks: 3 targets, A B C.  D claims A's instance id while A is served
# and C's slot is still free: refused (the same target twice).  E, a fourth target of a dump for 3:
# refused.  C is killed midway: A and B finish, every page right; the
# source waits CRIU_RDMA_RECOVERY_S for C, reports 2 of 3 and fails, and
# releases everything.
#
# reconnect: 2 targets, A and B.  A's lazy-pages daemon is stopped (as a
# host that hangs) in the middle of its migration: the source loses A and
# keeps its slot.  B connects meanwhile and gets every page while A is
# still stopped.  A goes on, reconnects to its own slot and finishes: every
# page of both copies right, the source counts one reconnection, A's.
#
# CRR_FORK_MIB sets the copies' workload size (default 64 MiB: about 20 s
# for the four in the guest; the attacks use 16); CRR_FORK_PARTS the parts
# to run (copies attacks reconnect); CRR_PLUGINS another plugin build (to see the
# test fail against undefended code).
set -u
top=$PWD
criu=$top/build/criu
plugins=${CRR_PLUGINS:-$top/build/plugin}
mib=${CRR_FORK_MIB:-64}

wait_log() { # FILE PATTERN [SECONDS]
	for _ in $(seq $(( ${3:-60} * 10 ))); do grep -q "$2" $1 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
criu_res() { rdma resource show "$1" 2> /dev/null | grep -c "comm criu" ; }
# the image directory's files as the dump left them (aside from its log, and its stats, written at its end)
img_state() { (cd $d/img && find . -type f ! -name dump.log ! -name stats-dump -printf '%p %s %T@\n' | sort); }

# start_source MIB PORT TARGETS [VAR=VALUE...]: the workload and its dump; sets d, pid, dump
start_source() {
	local m=$1 port=$2 n=$3
	shift 3
	d=$(mktemp -d /tmp/remote-fork.XXXXXX)
	mkdir -p $d/img
	unshare -p -f setsid $top/build/test/tools/lazy-pattern $d $m ns < /dev/null > $d/workload.log 2>&1 &
	for _ in $(seq 300); do [ -f $d/ready ] && break; sleep 0.1; done
	pid=$(pgrep -f "^$top/build/test/tools/lazy-pattern $d" | head -n 1)
	env CRIU_RDMA_TARGETS=$n CRIU_RDMA_SOURCE_STATS=$d/source.stats "$@" \
		$criu dump -t $pid -D $d/img --lazy-pages --rdma --address $CRR_IP --port $port --libdir $plugins \
		-o dump.log -v4 &
	dump=$!
	wait_log $d/img/dump.log "MiB zero-copy from" || { echo "FAIL: the source did not serve"; return 1; }
	grep -q "param CRIU_RDMA_TARGETS=$n$" $d/img/dump.log || { echo "FAIL: CRIU_RDMA_TARGETS not logged"; return 1; }
	img_before=$(img_state)
}

# start_target NAME PORT [VAR=VALUE...]: a lazy-pages daemon and its restore, in $d/NAME
start_target() {
	local t=$1 port=$2
	shift 2
	mkdir -p $d/$t
	env CRIU_RDMA_STATS=$d/$t/stats "$@" $criu lazy-pages --page-server --rdma --address $CRR_IP --port $port \
		-D $d/img -W $d/$t --libdir $plugins ${lazy_args:-} -o lazy.log -v4 &
	echo $! > $d/$t/lazy.pid
	for _ in $(seq 300); do [ -S $d/$t/lazy-pages.socket ] && break; sleep 0.1; done
	python3 $top/test/tools/subreap.py $d/$t/reaped $criu restore --lazy-pages -D $d/img -W $d/$t -d \
		--pidfile $d/$t/restored.pid -o restore.log -v4 &
}

# wait_copy NAME: the restored root's pid, once the restore has written it, and its PID namespace
wait_copy() {
	for _ in $(seq 600); do [ -s $d/$1/restored.pid ] && break; sleep 0.1; done
	stat -L -c %i /proc/$(cat $d/$1/restored.pid 2> /dev/null)/ns/pid > $d/$1/ns 2> /dev/null && return 0
	echo "FAIL: no restored copy of target $1"
	tail -n 15 $d/$1/lazy.log $d/$1/restore.log 2>&1 | sed "s/^/$1: /"
	return 1
}

# the PID namespace of target NAME's copy, which names its result file
ns_of() { cat $d/$1/ns 2> /dev/null; }

# finish_source STATUS: the dump's exit status must be STATUS (0 or 1), and then nothing is left
finish_source() {
	local failed=0 rc
	timeout 120 tail --pid=$dump -f /dev/null || { echo "FAIL: the source hangs"; failed=1; }
	wait $dump
	rc=$?
	if [ "$1" = 0 ]; then
		[ $rc -eq 0 ] || { echo "FAIL: the source failed ($rc)"; failed=1; }
	else
		[ $rc -ne 0 ] || { echo "FAIL: the source reported success although a target failed"; failed=1; }
	fi
	grep "targets finished\|^.*target [0-9]*: \(done\|failed\)" $d/img/dump.log | sed 's/^([0-9. ]*) /source: /'
	kill -0 $pid 2> /dev/null && { echo "FAIL: the frozen source copy is still alive"; failed=1; }
	[ "$(img_state)" = "$img_before" ] ||
		{ echo "FAIL: the image directory was written:"; diff <(echo "$img_before") <(img_state); failed=1; }
	[ "$(criu_res mr)" = 0 ] && [ "$(criu_res qp)" = 0 ] ||
		{ echo "FAIL: CRIU holds RDMA resources: $(rdma resource show mr; rdma resource show qp)"; failed=1; }
	return $failed
}

copies() {
	local n=4 port=7600 failed=0 t ns max bytes
	start_source $mib $port $n || return 1
	for t in 1 2 3 4; do
		start_target t$t $port
	done
	for t in 1 2 3 4; do
		wait_copy t$t || failed=1
	done
	[ "$(cat $d/t*/ns | sort -u | wc -l)" = $n ] || { echo "FAIL: the copies share PID namespaces"; failed=1; }
	wait_log $d/img/dump.log "target $n of $n: serving" 120 || { echo "FAIL: not every target was served"; failed=1; }
	touch $d/check
	for t in 1 2 3 4; do
		timeout 300 tail --pid=$(cat $d/t$t/lazy.pid) -f /dev/null || { echo "FAIL: target $t hangs"; failed=1; }
		ns=$(ns_of t$t)
		for _ in $(seq 600); do [ -f $d/result-$ns ] && break; sleep 0.1; done
		echo "copy $t (pid namespace $ns): $(cat $d/result-$ns 2> /dev/null)"
		grep -q "^OK $(( mib * 256 )) pages" $d/result-$ns 2> /dev/null || { echo "FAIL: copy $t"; failed=1; }
		. $d/t$t/stats
		echo "target $t: $fault_pages pages by fault, $background_pages in the background, $bytes bytes READ"
	done
	[ "$(ls $d/result-* | wc -l)" = $n ] || { echo "FAIL: not $n copies reported: $(ls $d)"; failed=1; }
	max=$(grep -o "([0-9]* targets active)" $d/img/dump.log | tr -dc '0-9\n' | sort -n | tail -n 1)
	echo "sessions at once: at most ${max:-0}"
	[ "${max:-0}" -ge 2 ] || { echo "FAIL: the sessions never overlapped"; failed=1; }
	finish_source 0 || failed=1
	. $d/source.stats
	bytes=$(( export_zero_copy_bytes + export_copy_bytes ))
	[ "${targets_done:-0}" = $n ] || { echo "FAIL: the source counts ${targets_done:-0} targets done"; failed=1; }
	for t in $(seq $n); do
		eval "echo \"source: target $t: \$target${t}_state, \$target${t}_tasks tasks, \$target${t}_bytes bytes\""
		eval "[ \"\$target${t}_bytes\" = $bytes ] && [ \"\$target${t}_tasks\" = $export_tasks ]" ||
			{ echo "FAIL: the source's counters of target $t"; failed=1; }
	done
	return $failed
}

attacks() {
	local n=3 port=7610 failed=0 t ns a b
	# a lost target may come back for 3 s; silence of 2 s loses it
	start_source 16 $port $n CRIU_RDMA_RECOVERY_S=3 CRIU_RDMA_TIMEOUT_MS=2000 || return 1
	# pages by fault only, until the copies check: every session stays open meanwhile
	lazy_args="--lazy-background-delay 20000"
	start_target a $port CRIU_RDMA_TEST_FAKE_INSTANCE=1111 CRIU_RDMA_TIMEOUT_MS=2000
	start_target b $port CRIU_RDMA_TIMEOUT_MS=2000
	for t in a b; do
		wait_copy $t || failed=1
	done
	wait_log $d/img/dump.log "target 2 of $n: serving" 120 || { echo "FAIL: A and B were not served"; failed=1; }
	# D: A's instance id, while A is served and a slot is still free
	start_target d $port CRIU_RDMA_TEST_FAKE_INSTANCE=1111
	timeout 60 tail --pid=$(cat $d/d/lazy.pid) -f /dev/null || { echo "FAIL: target D hangs"; failed=1; }
	grep -q "refused a target: this target (its instance id) already has a session" $d/img/dump.log ||
		{ echo "FAIL: the source did not refuse D, A's instance id a second time"; failed=1; }
	start_target c $port CRIU_RDMA_TIMEOUT_MS=2000
	wait_copy c || failed=1
	wait_log $d/img/dump.log "target $n of $n: serving" 120 || { echo "FAIL: C was not served"; failed=1; }
	# E: one target more than the dump serves
	lazy_args=
	start_target e $port
	timeout 60 tail --pid=$(cat $d/e/lazy.pid) -f /dev/null || { echo "FAIL: target E hangs"; failed=1; }
	grep -q "refused a target: all $n targets of this migration are taken (CRIU_RDMA_TARGETS=$n)" \
		$d/img/dump.log || { echo "FAIL: the source did not refuse E, target $(( n + 1 )) of $n"; failed=1; }
	grep "refused a target" $d/img/dump.log | sed 's/^([0-9. ]*) /source: /'
	# each is told why, and gives up
	grep -h "the peer gave up" $d/d/lazy.log $d/e/lazy.log | sed 's/^([0-9. ]*) /target D, E: /'
	grep -q "the peer gave up: this target (its instance id) already has a session" $d/d/lazy.log ||
		{ echo "FAIL: target D was not told why"; failed=1; }
	grep -q "the peer gave up: all $n targets of this migration are taken" $d/e/lazy.log ||
		{ echo "FAIL: target E was not told why"; failed=1; }
	for t in d e; do
		wait $(cat $d/$t/lazy.pid) && { echo "FAIL: target $t, refused, exited 0"; failed=1; }
	done
	a=$(ns_of a)
	b=$(ns_of b)
	touch $d/check
	sleep 1
	# C dies midway: its copy, then its daemon
	kill -9 $(cat $d/c/restored.pid) $(cat $d/c/lazy.pid)
	echo "target C killed"
	for t in a b; do
		timeout 300 tail --pid=$(cat $d/$t/lazy.pid) -f /dev/null || { echo "FAIL: target $t hangs"; failed=1; }
		wait $(cat $d/$t/lazy.pid) || { echo "FAIL: target $t failed"; failed=1; }
	done
	for ns in $a $b; do
		for _ in $(seq 600); do [ -f $d/result-$ns ] && break; sleep 0.1; done
		echo "copy in pid namespace $ns: $(cat $d/result-$ns 2> /dev/null)"
		grep -q "^OK 4096 pages" $d/result-$ns 2> /dev/null || { echo "FAIL: a copy next to the killed one"; failed=1; }
	done
	ls $d/result-* | grep -v "result-$a$\|result-$b$" && { echo "FAIL: more copies ran"; failed=1; }
	grep -q "lost target [0-9]" $d/img/dump.log || { echo "FAIL: the source did not see C go"; failed=1; }
	finish_source 1 || failed=1
	. $d/source.stats
	# C is the one that failed, whichever slot it had
	[ "$targets_done" = 2 ] && [ "$(echo $target1_state $target2_state $target3_state | tr ' ' '\n' | sort | tr '\n' ' ')" = "done done failed " ] ||
		{ echo "FAIL: the source's counters: $targets_done $target1_state $target2_state $target3_state"; failed=1; }
	return $failed
}

reconnect() {
	local n=2 port=7620 failed=0 a b
	start_source 16 $port $n CRIU_RDMA_RECOVERY_S=60 CRIU_RDMA_TIMEOUT_MS=2000 || return 1
	# A: pages by fault only for a while, so that it is midway when stopped
	lazy_args="--lazy-background-delay 8000"
	start_target a $port CRIU_RDMA_TIMEOUT_MS=2000
	lazy_args=
	wait_copy a || return 1
	wait_log $d/img/dump.log "target 1 of $n: serving" 60 || { echo "FAIL: A was not served"; return 1; }
	a=$(ns_of a)
	touch $d/check
	sleep 1
	kill -STOP $(cat $d/a/lazy.pid)
	echo "target A stopped"
	wait_log $d/img/dump.log "lost target 1" 30 || { echo "FAIL: the source did not notice that A went silent"; failed=1; }
	# B: served from start to end while A is away
	start_target b $port CRIU_RDMA_TIMEOUT_MS=2000
	wait_copy b || failed=1
	b=$(ns_of b)
	timeout 120 tail --pid=$(cat $d/b/lazy.pid) -f /dev/null || { echo "FAIL: target B hangs"; failed=1; }
	wait $(cat $d/b/lazy.pid) || { echo "FAIL: target B failed while A was away"; failed=1; }
	for _ in $(seq 600); do [ -f $d/result-$b ] && break; sleep 0.1; done
	echo "copy B (pid namespace $b): $(cat $d/result-$b 2> /dev/null)"
	grep -q "^OK 4096 pages" $d/result-$b 2> /dev/null || { echo "FAIL: copy B"; failed=1; }
	[ "$(awk '{ print $3 }' /proc/$(cat $d/a/lazy.pid)/stat 2> /dev/null)" = T ] ||
		{ echo "FAIL: A was not stopped all the while B was served"; failed=1; }
	# A goes on, reconnects to its slot and finishes
	kill -CONT $(cat $d/a/lazy.pid)
	echo "target A continued"
	timeout 120 tail --pid=$(cat $d/a/lazy.pid) -f /dev/null || { echo "FAIL: target A hangs after it was continued"; failed=1; }
	wait $(cat $d/a/lazy.pid) || { echo "FAIL: target A failed after it was continued"; tail -n 20 $d/a/lazy.log; failed=1; }
	grep "lost the connection\|reconnected to" $d/a/lazy.log | sed 's/^([0-9. ]*) /target A: /'
	grep -q "reconnected to the source" $d/a/lazy.log || { echo "FAIL: A did not reconnect"; failed=1; }
	for _ in $(seq 600); do [ -f $d/result-$a ] && break; sleep 0.1; done
	echo "copy A (pid namespace $a): $(cat $d/result-$a 2> /dev/null)"
	grep -q "^OK 4096 pages" $d/result-$a 2> /dev/null || { echo "FAIL: copy A"; failed=1; }
	finish_source 0 || failed=1
	. $d/source.stats
	echo "source: targets done $targets_done; reconnections $target1_reconnects (slot 1), $target2_reconnects (slot 2)"
	[ "$targets_done" = 2 ] && [ "$target1_reconnects" = 1 ] && [ "$target2_reconnects" = 0 ] ||
		{ echo "FAIL: the source's counters: A took slot 1 and came back once, B none"; failed=1; }
	return $failed
}

rc=0
for t in ${CRR_FORK_PARTS:-copies attacks reconnect}; do
	echo "=== $t"
	if $t; then echo "ok: $t"; else echo "FAILED: $t"; rc=1; fi
done
exit $rc
