#!/bin/bash
# Source host of the link-cut tests (the target host cuts and restores the
# link; see linkcut-target.sh for the cases).  For each case it dumps a
# pattern workload with --lazy-pages --rdma and checks its side:
#  fault, pull: the cut is shorter than the recovery window: the dump ends
#    well after the target reconnected, the frozen tree is gone;
#  load: as fault + pull, with 64 tasks of 8 threads each faulting at once;
#  stall: as fault, and while the source waits for its target a stranger on
#    the source's host connects and never completes its connection
#    (rogue-peer connect-stall): the source must let it go within
#    CRIU_RDMA_TIMEOUT_MS and take its target back, or a stranger could
#    hold the migration until the window ran out and both copies died;
#  long: the cut outlasts the window: the dump fails within the target's
#    silence limit + the window, the frozen tree is killed (the target ran
#    it: never resumed), and nothing of ours stays in the RDMA device.
set -u
top=$PWD
criu=$top/build/criu
base=$top/build/pair-shared
failed=0
fail() { echo "FAIL: $*"; failed=1; }
# per-device resource counts (the kernel's own GSI QP included): equal before and after a case
resources() { rdma resource show | sed 's/^[0-9]*: //'; }

# The stranger of the stall case: it connects once the source has lost its
# target and keeps the export (the link is cut meanwhile, by the target).
stall_while_recovering() { # DIR PORT
	for _ in $(seq 600); do grep -q "keeping the export" $1/img/dump.log 2> /dev/null && break; sleep 0.05; done
	timeout 60 $top/build/test/tools/rogue-peer $CRR_IP $2 connect-stall 0 0 > $1/stall.log 2>&1
}

run_case() { # NAME PORT RECOVERY_S WORKLOAD ARGS...
	local name=$1 port=$2 recovery=$3 workload=$4 d pid rc before t0 t1 stranger
	shift 4
	d=$base/$name
	mkdir -p $d/img
	before=$(resources)
	unshare -p -f setsid $top/build/test/tools/$workload $d "$@" < /dev/null > $d/workload.log 2>&1 &
	for _ in $(seq 1200); do [ -f $d/ready ] && break; sleep 0.1; done
	pid=$(pgrep -f "^$top/build/test/tools/$workload $d" | head -n 1)
	[ -n "$pid" ] || { fail "$name: workload did not start"; return; }
	t0=$(date +%s%N)
	( # a target that failed before connecting leaves the dump waiting: end it
		while [ ! -f $d/target-failed ] && [ ! -f $d/source-done ]; do sleep 1; done
		[ -f $d/target-failed ] && pkill -f "criu dump -t $pid "
	) &
	stranger=
	if [ $name = stall ]; then
		stall_while_recovering $d $port &
		stranger=$!
	fi
	CRIU_RDMA_TIMEOUT_MS=2000 CRIU_RDMA_RECOVERY_S=$recovery CRIU_RDMA_ACCEPT_TIMEOUT_MS=300000 \
		timeout 300 $criu dump -t $pid -D $d/img --lazy-pages --rdma --address $CRR_IP --port $port \
		--libdir $top/build/plugin -o dump.log -v4
	rc=$?
	t1=$(date +%s%N)
	grep "lost the target\|keeping the export\|reconnected after\|did not come back\|killing the dumped\|target finished\|target failed" \
		$d/img/dump.log | sed "s/^/source $name: /"
	if [ $name = long ]; then
		[ $rc -ne 0 ] || fail "$name: the dump claims success although the target never came back"
		grep -q "did not come back in $recovery s" $d/img/dump.log || fail "$name: no clear message"
		grep -q "killing the dumped tree" $d/img/dump.log || fail "$name: the source tree was not killed"
		# from the loss to giving up: the window, give or take a heartbeat
		awk -v r=$recovery '/lost the target/ && !a { a = substr($1, 2) + 0 }
			/did not come back/ { b = substr($1, 2) + 0 }
			END { printf "source long: lost -> gave up in %.2f s (window %d s)\n", b - a, r
			      if (b - a > r + 3) exit 1 }' $d/img/dump.log || fail "$name: gave up late"
	else
		[ $rc -eq 0 ] || { fail "$name: dump exited $rc"; tail -n 30 $d/img/dump.log; }
		grep -q "the target reconnected after" $d/img/dump.log || fail "$name: no reconnection seen"
	fi
	if [ $name = stall ]; then
		wait $stranger
		sed "s/^/source stall: /" $d/stall.log
		grep -q "defence held" $d/stall.log || fail "$name: the stranger held the source in recovery"
		grep -q "let go of a peer that left before its connection was up" $d/img/dump.log ||
			fail "$name: the source never had the stranger to let go"
	fi
	sleep 0.5
	kill -0 $pid 2> /dev/null && fail "$name: the frozen source copy is still alive"
	[ "$(resources)" = "$before" ] || fail "$name: RDMA resources left: $(resources) (before: $before)"
	echo "source $name: dump ended after $(( (t1 - t0) / 1000000 )) ms, exit $rc"
	touch $d/source-done
}

cases=$(cat $base/cases 2> /dev/null || echo "fault stall pull load long")
for c in $cases; do
	case $c in
	fault) run_case fault 7600 60 lazy-pattern 16 ;;
	stall) run_case stall 7604 60 lazy-pattern 16 ;;
	pull) run_case pull 7601 60 lazy-pattern 128 ;;
	# 64 tasks x 8 threads faulting at once on 2 MiB each (CI time), the pull running
	load) run_case load 7603 60 lazy-load 64 8 2 ;;
	long) run_case long 7602 8 lazy-pattern 32 ;;
	esac
done
[ $failed -eq 0 ] && echo "PASS: source side of the link cuts" || exit 1
