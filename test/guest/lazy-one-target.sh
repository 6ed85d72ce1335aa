#!/bin/bash
# While the source waits for a lost target to come back, only that target
# may: in one guest, target A's lazy-pages daemon is stopped (SIGSTOP, as a
# host that hangs would be) in the middle of the migration; the source loses
# it and keeps the export.  Target B, a second restore of the same images
# with the migration's key, then connects: the source refuses it (its
# instance id is not A's), and B's restore fails or its restored task is
# killed by B's guard, so the tree never runs twice.  A is let go on (SIGCONT), reconnects, and
# finishes: every page right, reconnects >= 1, the source done.
set -u
top=$PWD
criu=$top/build/criu
plugins=$top/build/plugin
failed=0
fail() { echo "FAIL: $*"; failed=1; }
wait_log() { # FILE PATTERN [SECONDS]
	for _ in $(seq $(( ${3:-60} * 10 ))); do grep -q "$2" $1 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
export CRIU_RDMA_TIMEOUT_MS=2000 CRIU_RDMA_RECOVERY_S=60

d=$(mktemp -d /tmp/one-target.XXXXXX)
mkdir -p $d/img $d/a $d/b
unshare -p -f setsid $top/build/test/tools/lazy-pattern $d 64 < /dev/null > $d/workload.log 2>&1 &
for _ in $(seq 300); do [ -f $d/ready ] && break; sleep 0.1; done
pid=$(pgrep -f "^$top/build/test/tools/lazy-pattern $d" | head -n 1)
$criu dump -t $pid -D $d/img --lazy-pages --rdma --address $CRR_IP --port 7590 --libdir $plugins \
	-o dump.log -v4 &
dump=$!
wait_log $d/img/dump.log "MiB zero-copy from" || fail "the source did not serve"

# A: pages by fault only for a while, so that it is mid-way when stopped
CRIU_RDMA_STATS=$d/a/stats $criu lazy-pages --page-server --rdma --address $CRR_IP --port 7590 -D $d/img \
	-W $d/a --libdir $plugins --lazy-background-delay 20000 -o lazy.log -v4 &
lazy_a=$!
for _ in $(seq 300); do [ -S $d/a/lazy-pages.socket ] && break; sleep 0.1; done
$criu restore --lazy-pages -D $d/img -W $d/a -d --pidfile $d/a/restored.pid -o restore.log -v4 ||
	fail "restore A"
touch $d/check
sleep 1
kill -STOP $lazy_a
echo "target A stopped"
wait_log $d/img/dump.log "keeping the export" 30 || fail "the source did not notice that A went silent"

# the copies alive now: the source's frozen one and A's restored one (by comm: the
# command line of a lazily restored task is in memory that may not be there yet)
copies=$(pgrep -x lazy-pattern | sort | tr '\n' ' ')
echo "copies before B: $copies"

# B: the same images, the same key, another daemon
$criu lazy-pages --page-server --rdma --address $CRR_IP --port 7590 -D $d/img -W $d/b --libdir $plugins \
	-o lazy.log -v4 &
lazy_b=$!
for _ in $(seq 300); do [ -S $d/b/lazy-pages.socket ] && break; sleep 0.1; done
python3 $top/test/tools/subreap.py $d/b/reaped $criu restore --lazy-pages -D $d/img -W $d/b -d \
	--pidfile $d/b/restored.pid -o restore.log -v4 &
timeout 60 tail --pid=$lazy_b -f /dev/null || fail "target B hangs"
wait $lazy_b && fail "target B, a second restore of the migration, was served"
grep "let go of a peer\|another target" $d/img/dump.log | sed 's/^([0-9. ]*) /source: /'
grep "the source ended the session\|could not reconnect\|giving up" $d/b/lazy.log | sed 's/^([0-9. ]*) /target B: /'
grep -q "is another target of this migration" $d/img/dump.log || fail "the source did not refuse B as another target"
# B's daemon, refused, is gone: if B's restore had come to it, B's tasks were
# killed by its guard (the restore may have failed with them, before writing a
# pidfile); if not, the restore found nobody to hand its tasks to and failed
# before they ran.  Either way only the source's frozen copy and A's restored
# one are left.
sleep 2
echo "B's restored processes ended: $(tr '\n' ' ' < $d/b/reaped 2> /dev/null)"
left=$(pgrep -x lazy-pattern | sort | tr '\n' ' ')
[ "$left" = "$copies" ] || fail "copies alive after B: $left, before: $copies"
grep -a "killing it\|Killing processes\|lazy-pages.socket failed" $d/b/lazy.log $d/b/restore.log | head -3
grep -q "still misses lazy pages .*killing it\|Killing processes because of failure on restore\|connect to .*lazy-pages.socket failed" \
	$d/b/lazy.log $d/b/restore.log || fail "B's restore neither failed nor had its task killed"

# A goes on, reconnects and finishes
kill -CONT $lazy_a
echo "target A continued"
timeout 120 tail --pid=$lazy_a -f /dev/null || fail "target A hangs after it was continued"
wait $lazy_a || { fail "target A failed after it was continued"; tail -n 20 $d/a/lazy.log; }
grep "lost the connection\|reconnected to" $d/a/lazy.log | sed 's/^([0-9. ]*) /target A: /'
for _ in $(seq 300); do [ -f $d/result ] && break; sleep 0.1; done
echo "target A: $(cat $d/result 2> /dev/null)"
grep -q ^OK $d/result || fail "A's restored memory differs"
. $d/a/stats
[ "${reconnects:-0}" -ge 1 ] || fail "A did not count its reconnection"
timeout 60 tail --pid=$dump -f /dev/null || fail "the source hangs"
wait $dump || fail "the source failed although A finished"
kill -0 $pid 2> /dev/null && fail "the frozen source copy is still alive"
[ $failed -eq 0 ] && echo "PASS: only the target that started may resume" || exit 1
