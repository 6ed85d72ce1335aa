#!/bin/bash
# Failure cases of the RDMA lazy-pages transport, in one guest:
#  1. an address no RDMA device serves: the dump fails before freezing and
#     the workload keeps running;
#  2. protocol version or page size differ (test hooks): the target refuses
#     with a clear error naming what differs, and the source's tree is left
#     running; a target with another session key is refused and the source
#     serves the real target afterwards; a target without the key file
#     says so;
#  3. the source killed mid-transfer: the target tries to reconnect for
#     CRIU_RDMA_RECOVERY_S, then exits with an error and the restored task
#     is killed; nothing hangs;
#  4. no source at the address: the target fails with an error naming it;
#  5. error paths (fault injection, CRIU_RDMA_TEST_FAIL): a connection whose
#     resources fail half way releases what it made, in order, and every
#     release succeeds: the source refuses the target cleanly (no crash; it
#     once destroyed the id and left its QP for rdma_destroy_qp(NULL)) and the
#     tree runs on; a target whose CQ cannot be armed leaks no CQ.
set -u
top=$PWD
criu=$top/build/criu
plugins=$top/build/plugin
failed=0
fail() { echo "FAIL: $*"; failed=1; }

start_workload() { # DIR MIB -> pid
	unshare -p -f setsid $top/build/test/tools/lazy-pattern $1 $2 < /dev/null > $1/workload.log 2>&1 &
	for _ in $(seq 300); do [ -f $1/ready ] && break; sleep 0.1; done
	pgrep -f "^$top/build/test/tools/lazy-pattern $1" | head -n 1
}
state() { awk '/^State:/ { print $2 }' /proc/$1/status 2>/dev/null; }
start_dump() { # DIR PID PORT: a lazy RDMA dump serving in the background (pid in $dump)
	$criu dump -t $2 -D $1/img --lazy-pages --rdma --address $CRR_IP --port $3 --libdir $plugins \
		-o dump.log -v4 &
	dump=$!
	wait_log $1/img/dump.log "export: " || fail "dump did not reach serving"
}
wait_socket() { # DIR PID: the socket of lazy-pages daemon PID exists (the restore connects to it)
	for _ in $(seq 300); do
		[ -S $1/lazy-pages.socket ] && return 0
		kill -0 $2 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}
wait_log() { # FILE PATTERN
	for _ in $(seq 600); do grep -q "$2" $1 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# 1. wrong address
d=$(mktemp -d); mkdir $d/img
pid=$(start_workload $d 8)
if $criu dump -t $pid -D $d/img --lazy-pages --rdma --address 127.0.0.1 --port 7490 --libdir $plugins \
	-o dump.log -v4; then
	fail "dump with an address no RDMA device serves succeeded"
fi
grep "no RDMA device serves" $d/img/dump.log || fail "no clear error for the address"
grep -q "Dumping processes\|Seizing" $d/img/dump.log && ! grep -q "Freezing" $d/img/dump.log
[ "$(state $pid)" = S ] || [ "$(state $pid)" = R ] || fail "workload not running after refused dump: $(state $pid)"
touch $d/check; sleep 1; grep -q ^OK $d/result || fail "workload damaged after refused dump"
echo "case 1 done"

# 2. the handshake refused: the target names what differs, the source's tree
#    is left running and intact.  refused_handshake PORT "VAR=VALUE" WHAT:
#    VAR is set for the target only (a test hook or a setting).
refused_handshake() {
	local port=$1 env=$2 what=$3
	d=$(mktemp -d); mkdir $d/img
	pid=$(start_workload $d 8)
	start_dump $d $pid $port
	env "$env" $criu lazy-pages --page-server --rdma --address $CRR_IP --port $port \
		-D $d/img --libdir $plugins -o lazy.log -v4 &
	lazy=$!
	wait_socket $d/img $lazy
	# the daemon connects to the source as soon as it is ready, the restore meanwhile
	$criu restore --lazy-pages -D $d/img -d --libdir $plugins -o restore.log -v4
	timeout 60 tail --pid=$lazy -f /dev/null || fail "target hung on: $what"
	wait $lazy && fail "lazy-pages accepted a peer whose $what"
	grep "$what" $d/img/lazy.log || fail "target log does not say: $what"
	timeout 60 tail --pid=$dump -f /dev/null || fail "source dump hung after the refusal ($what)"
	wait $dump && fail "source dump claims success after the refusal ($what)"
	grep "$what\|target failed\|went away" $d/img/dump.log | head -3
	# the half-restored copy has no pages to get: remove it, keep the source's
	for p in $(pgrep -f "lazy-pattern $d"); do [ "$p" = "$pid" ] || kill -9 $p; done
	[ -n "$(state $pid)" ] && [ "$(state $pid)" != T ] || fail "source tree not left running: '$(state $pid)'"
	# the zero-copy export pinned its memory while frozen: resumed, nothing of it stays pinned
	pinned=$(awk '/^VmPin:/ { print $2 }' /proc/$pid/status)
	[ "$pinned" = 0 ] || fail "the resumed source task still has $pinned kB pinned ($what)"
	touch $d/check
	for _ in $(seq 100); do [ -f $d/result ] && break; sleep 0.1; done
	grep ^OK $d/result || fail "source workload damaged after the refusal ($what)"
}
refused_handshake 7491 CRIU_RDMA_TEST_FAKE_VERSION=99 "protocol version differs"
refused_handshake 7494 CRIU_RDMA_TEST_FAKE_PAGE_SIZE=65536 "page size differs"
echo "case 2 done"

# 2b. a target with another key cannot prove it: it fails, naming the
#     reason; the source lets it go and keeps waiting (a stranger must not end
#     the migration), then the real target migrates the task.
d=$(mktemp -d); mkdir $d/img $d/w1 $d/w2
pid=$(start_workload $d 8)
start_dump $d $pid 7495
CRIU_RDMA_SECRET=only-the-target-has-this-one $criu lazy-pages --page-server --rdma --address $CRR_IP \
	--port 7495 -D $d/img -W $d/w1 --libdir $plugins -o lazy.log -v4 &
lazy=$!
wait_socket $d/w1 $lazy
$criu restore --lazy-pages -D $d/img -W $d/w1 -d --libdir $plugins -o restore.log -v4
timeout 60 tail --pid=$lazy -f /dev/null || fail "the target with another key hung"
wait $lazy && fail "a target with another key was served"
grep "no proof of the session key" $d/w1/lazy.log || fail "the target does not say the source proved no key"
for p in $(pgrep -f "lazy-pattern $d"); do [ "$p" = "$pid" ] || kill -9 $p; done
for _ in $(seq 100); do grep -q "let go of a peer" $d/img/dump.log && break; sleep 0.1; done
grep "let go of a peer" $d/img/dump.log || fail "the source did not let the stranger go"
kill -0 $dump 2> /dev/null || fail "a target with another key ended the source's dump"
$criu lazy-pages --page-server --rdma --address $CRR_IP --port 7495 -D $d/img -W $d/w2 --libdir $plugins \
	-o lazy.log -v4 &
lazy=$!
wait_socket $d/w2 $lazy
$criu restore --lazy-pages -D $d/img -W $d/w2 -d --libdir $plugins -o restore.log -v4 || fail "second restore"
touch $d/check
timeout 120 tail --pid=$lazy -f /dev/null || fail "the real target hung after a stranger"
wait $lazy || fail "the real target failed after a stranger"
timeout 60 tail --pid=$dump -f /dev/null || fail "the source did not finish"
wait $dump || fail "the source failed after serving the real target"
for _ in $(seq 100); do [ -f $d/result ] && break; sleep 0.1; done
grep ^OK $d/result || fail "the task migrated after a stranger is damaged"
echo "case 2b done"

# 2c. the target has no session key (its image directory lacks the file)
d=$(mktemp -d); mkdir $d/img
pid=$(start_workload $d 8)
start_dump $d $pid 7498
rm $d/img/rdma-session.key
$criu lazy-pages --page-server --rdma --address $CRR_IP --port 7498 -D $d/img --libdir $plugins \
	-o lazy.log -v4 &
lazy=$!
wait_socket $d/img $lazy
$criu restore --lazy-pages -D $d/img -d --libdir $plugins -o restore.log -v4
timeout 60 tail --pid=$lazy -f /dev/null || fail "the target without a key hung"
wait $lazy && fail "a target without a key went on"
grep "no session key" $d/img/lazy.log || fail "no clear error for the missing key"
kill -9 $dump
pkill -9 -f "lazy-pattern $d" 2>/dev/null
echo "case 2c done"

# 3. source killed mid-transfer
failed_before=$failed; failed=0
d=$(mktemp -d); mkdir $d/img
pid=$(start_workload $d 128)
start_dump $d $pid 7492
sleep 0.5
# it reconnects for CRIU_RDMA_RECOVERY_S before it gives up: keep that short here
CRIU_RDMA_RECOVERY_S=3 $criu lazy-pages --page-server --rdma --address $CRR_IP --port 7492 -D $d/img \
	--libdir $plugins -o lazy.log -v4 &
lazy=$!
wait_socket $d/img $lazy
$criu restore --lazy-pages -D $d/img -d --libdir $plugins -o restore.log -v4 || fail "restore failed"
wait_log $d/img/dump.log "serving " || fail "source never served"
sleep 1
kill -9 $dump
start=$(date +%s)
timeout 120 tail --pid=$lazy -f /dev/null || fail "target hung after the source died"
wait $lazy && fail "target succeeded although the source died"
echo "target gave up after $(( $(date +%s) - start )) s:"
grep -i "error" $d/img/lazy.log | head -5
grep -q "could not reconnect to the source .* in 3 s: giving up" $d/img/lazy.log || fail "no clear error on the target"
# and the restored task, which can never get its pages, was killed
grep "lazy-pages-guard" $d/img/lazy.log | head -2
grep -q "still misses lazy pages .*killing it" $d/img/lazy.log || fail "the restored task was not killed"
pkill -9 -f "lazy-pattern $d" 2>/dev/null
# (failed once in a CI run and not since: keep what the target did, printed
# last, where the suite's tail of this log shows it)
[ $failed != 0 ] && case3_logs=$d/img
failed=$(( failed | failed_before ))
echo "case 3 done"

# 4. no source at the given address/port: the target says so and exits
d=$(mktemp -d); mkdir $d/img
pid=$(start_workload $d 8)
start_dump $d $pid 7493
mkdir -p $d/work
$criu lazy-pages --page-server --rdma --address $CRR_IP --port 7499 -D $d/img -W $d/work --libdir $plugins \
	-o lazy.log -v4 &
lazy=$!
for _ in $(seq 100); do [ -S $d/work/lazy-pages.socket ] && break; sleep 0.1; done
start=$(date +%s)
$criu restore --lazy-pages -D $d/img -W $d/work -d -o restore.log -v4
timeout 60 tail --pid=$lazy -f /dev/null || fail "target hung with no source"
wait $lazy && fail "lazy-pages succeeded with no source"
echo "no source: target gave up after $(( $(date +%s) - start )) s"
grep "cannot connect\|REJECTED\|UNREACHABLE" $d/work/lazy.log | head -3
grep -q "cannot connect to $CRR_IP:7499" $d/work/lazy.log || fail "no clear error naming the source"
kill -9 $dump
pkill -9 -f "lazy-pattern $d" 2>/dev/null
echo "case 4 done"

# 5a. the source cannot register its control buffers when the target comes
d=$(mktemp -d); mkdir $d/img
pid=$(start_workload $d 8)
export CRIU_RDMA_TEST_FAIL=ctl-reg
start_dump $d $pid 7496
unset CRIU_RDMA_TEST_FAIL
$criu lazy-pages --page-server --rdma --address $CRR_IP --port 7496 -D $d/img --libdir $plugins \
	-o lazy.log -v4 &
lazy=$!
wait_socket $d/img $lazy
$criu restore --lazy-pages -D $d/img -d --libdir $plugins -o restore.log -v4
timeout 60 tail --pid=$dump -f /dev/null || fail "source hung after a failed accept"
wait $dump
rc=$?
echo "source dump exit status after the failed accept: $rc"
[ $rc -ge 1 ] && [ $rc -lt 128 ] || fail "source dump did not fail cleanly (exit $rc)"
grep "injected failure\|cannot release\|Segmentation\|signal" $d/img/dump.log
grep -q "injected failure: registering the control buffers" $d/img/dump.log || fail "the failure was not injected"
grep -q "cannot release" $d/img/dump.log && fail "the source left resources it could not release"
timeout 60 tail --pid=$lazy -f /dev/null || fail "target hung after the source refused it"
wait $lazy && fail "target succeeded although the source refused it"
for p in $(pgrep -f "lazy-pattern $d"); do [ "$p" = "$pid" ] || kill -9 $p; done
[ -n "$(state $pid)" ] && [ "$(state $pid)" != T ] || fail "source tree not left running: '$(state $pid)'"
pinned=$(awk '/^VmPin:/ { print $2 }' /proc/$pid/status)
[ "$pinned" = 0 ] || fail "the resumed source task still has $pinned kB pinned (failed accept)"
touch $d/check
for _ in $(seq 100); do [ -f $d/result ] && break; sleep 0.1; done
grep ^OK $d/result || fail "source workload damaged after the failed accept"
kill -9 $pid 2>/dev/null
echo "case 5a done"

# 5b. the target cannot arm a completion queue while connecting
d=$(mktemp -d); mkdir $d/img
pid=$(start_workload $d 8)
start_dump $d $pid 7497
CRIU_RDMA_TEST_FAIL=notify-cq $criu lazy-pages --page-server --rdma --address $CRR_IP --port 7497 -D $d/img \
	--libdir $plugins -o lazy.log -v4 &
lazy=$!
wait_socket $d/img $lazy
$criu restore --lazy-pages -D $d/img -d --libdir $plugins -o restore.log -v4
timeout 60 tail --pid=$lazy -f /dev/null || fail "target hung after a failed connect"
wait $lazy
rc=$?
echo "target exit status after the failed connect: $rc"
[ $rc -ge 1 ] && [ $rc -lt 128 ] || fail "target did not fail cleanly (exit $rc)"
grep "injected failure\|cannot release" $d/img/lazy.log
grep -q "injected failure: arming a completion queue" $d/img/lazy.log || fail "the failure was not injected"
grep -q "cannot release" $d/img/lazy.log && fail "the target leaked a resource (a CQ keeps its channel busy)"
kill -9 $dump
pkill -9 -f "lazy-pattern $d" 2>/dev/null
echo "case 5b done"

if [ -n "${case3_logs:-}" ]; then
	echo "--- case 3 failed; its target's log ends:"
	grep -v "^([0-9.]*) *\(uffd\|pie\): " $case3_logs/lazy.log | tail -n 20
	echo "--- its restore's log ends:"
	tail -n 4 $case3_logs/restore.log
fi
[ $failed -eq 0 ] && echo "PASS: failure cases" || exit 1
