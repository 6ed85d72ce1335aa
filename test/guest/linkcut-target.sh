#!/bin/bash
# Target host of the link-cut tests: it restores each case's workload with
# 'criu lazy-pages --rdma' and cuts the link to the source by dropping
# RoCE's UDP port 4791 both ways, then restores it:
#  fault: a 5 s cut while the task faults page after page (no background
#    pull): the migration pauses, reconnects and completes, every page right;
#  pull: a 5 s cut during the background pull: the same;
#  stall: as fault, while a stranger stalls the source (linkcut-source.sh);
#  load: a 5 s cut while 64 tasks x 8 threads fault at once and the pull
#    runs: every thread of every task finishes and sees its memory right
#    (no lost wake-up);
#  long: a cut that outlasts CRIU_RDMA_RECOVERY_S on both sides: the daemon
#    gives up with a clear message and the restored task is killed -- it
#    never reads a page that did not arrive -- and nothing is left behind.
set -u
top=$PWD
criu=$top/build/criu
base=$top/build/pair-shared
failed=0
fail() { echo "FAIL: $*"; failed=1; }
cut() {
	iptables -I INPUT -p udp --dport 4791 -j DROP
	iptables -I OUTPUT -p udp --dport 4791 -j DROP
}
uncut() {
	iptables -D INPUT -p udp --dport 4791 -j DROP
	iptables -D OUTPUT -p udp --dport 4791 -j DROP
}
state() { awk '/^State:/ { print $2 }' /proc/$1/status 2>/dev/null; }
resources() { rdma resource show | sed 's/^[0-9]*: //'; }

run_case() { # NAME PORT RECOVERY_S CUT_S
	local name=$1 port=$2 recovery=$3 cut_s=$4 d work lazy rc restored before delay=
	d=$base/$name
	work=/tmp/linkcut-$name
	mkdir -p $work
	for _ in $(seq 6000); do grep -q "MiB zero-copy from" $d/img/dump.log 2>/dev/null && break; sleep 0.1; done
	grep -q "MiB zero-copy from" $d/img/dump.log 2>/dev/null || { fail "$name: the source never served"; return; }
	before=$(resources)
	# fault: no background pull for a while, so the pages come by faults;
	# long: nor there, so that pages are still missing when the link goes
	# (a pull of its 32 MiB in 256 KiB requests was done within the 1.5 s)
	case $name in fault | stall | long) delay="--lazy-background-delay 15000" ;; esac
	CRIU_RDMA_TIMEOUT_MS=2000 CRIU_RDMA_RECOVERY_S=$recovery CRIU_RDMA_STATS=$work/stats \
		$criu lazy-pages --page-server --rdma --address $CRR_PEER --port $port -D $d/img -W $work \
		--libdir $top/build/plugin $delay -o lazy.log -v4 &
	lazy=$!
	for _ in $(seq 600); do [ -S $work/lazy-pages.socket ] && break; sleep 0.1; done
	# under a subreaper, which learns how the restored task ends
	python3 $top/test/tools/subreap.py $work/reaped $criu restore --lazy-pages -D $d/img -W $work -d \
		--pidfile $work/restored.pid -o restore.log -v4 &
	for _ in $(seq 600); do
		grep -q "Restore finished successfully\|Error" $work/restore.log 2> /dev/null && [ -s $work/restored.pid ] && break
		sleep 0.1
	done
	if ! grep -q "Restore finished successfully" $work/restore.log; then
		fail "$name: restore"
		tail -n 20 $work/restore.log $work/lazy.log
		cp $work/lazy.log $work/restore.log $d/ 2> /dev/null
		touch $d/target-failed
		return
	fi
	restored=$(cat $work/restored.pid)
	[ $name = pull ] || touch $d/check
	sleep ${CUT_AFTER:-1.5}
	[ -f $d/result ] && fail "$name: the task had all its memory before the cut; the case proves nothing"
	echo "target $name: cutting the link for $cut_s s"
	cut
	sleep $cut_s
	uncut
	echo "target $name: link restored"
	timeout 300 tail --pid=$lazy -f /dev/null || fail "$name: the daemon hangs"
	wait $lazy
	rc=$?
	cp $work/lazy.log $work/restore.log $d/ 2> /dev/null
	grep "lost the connection\|reconnected\|giving up\|lazy-pages-guard\|lazy pages over RDMA" $work/lazy.log |
		sed "s/^/target $name: /"
	if [ $name = long ]; then
		[ $rc -ne 0 ] || fail "$name: the daemon claims success"
		grep -q "could not reconnect to the source .* in $recovery s: giving up" $work/lazy.log ||
			fail "$name: no clear message"
		# from the loss to giving up: the window, give or take a heartbeat (no attempt outlasts it)
		awk -v r=$recovery '/lost the connection to the source/ && !a { a = substr($1, 2) + 0 }
			/could not reconnect/ { b = substr($1, 2) + 0 }
			END { printf "target long: lost -> gave up in %.2f s (window %d s)\n", b - a, r
			      if (b - a > r + 1.5) exit 1 }' $work/lazy.log || fail "$name: gave up late"
		for _ in $(seq 100); do [ -z "$(state $restored)" ] && break; sleep 0.1; done
		[ -z "$(state $restored)" ] || fail "$name: the restored task runs on without its memory"
		grep -q "still misses lazy pages .*killing it" $work/lazy.log || fail "$name: the killed task is not named"
		[ -f $d/result ] && grep -q ^FAIL $d/result && fail "$name: the task read memory that never arrived"
		# killed on purpose (SIGKILL): not crashed on zeroed memory, not ended on a wrong page
		for _ in $(seq 100); do grep -q "^$restored " $work/reaped 2> /dev/null && break; sleep 0.1; done
		echo "target $name: the restored task ended by $(sed -n "s/^$restored //p" $work/reaped)"
		grep -q "^$restored signal 9$" $work/reaped || fail "$name: the restored task was not killed"
	else
		[ $rc -eq 0 ] || { fail "$name: lazy-pages exited $rc"; tail -n 30 $work/lazy.log; }
		[ $name = pull ] && touch $d/check
		for _ in $(seq 1200); do [ -f $d/result ] && break; sleep 0.1; done
		echo "target $name: $(cat $d/result 2>/dev/null)"
		grep -q ^OK $d/result || fail "$name: restored memory differs"
		sed "s/^/target $name: /" $work/stats | grep "reconnects\|paused\|pages"
		. $work/stats
		[ "${reconnects:-0}" -ge 1 ] || fail "$name: no reconnection counted"
		[ "${fault_pages:-0}" -gt 0 ] || fail "$name: no page came by a fault over RDMA"
		[ $name = pull ] && { [ "${background_pages:-0}" -gt 0 ] || fail "$name: no background pages"; }
	fi
	sleep 0.5
	[ "$(resources)" = "$before" ] || fail "$name: RDMA resources left: $(resources) (before: $before)"
	# the next case starts once the source has checked its side
	for _ in $(seq 600); do [ -f $d/source-done ] && break; sleep 0.1; done
}

# build/pair-shared/cases may name the cases to run (a debugging aid)
cases=$(cat $base/cases 2> /dev/null || echo "fault stall pull load long")
for c in $cases; do
	case $c in
	fault) run_case fault 7600 60 5 ;;
	stall) run_case stall 7604 60 5 ;;
	pull) run_case pull 7601 60 5 ;;
	load) run_case load 7603 60 5 ;;
	long) run_case long 7602 8 14 ;;
	esac
done
[ $failed -eq 0 ] && echo "PASS: target side of the link cuts" || exit 1
