#!/bin/bash
# A serving source under attack, in one guest.  While a lazy RDMA dump
# waits for its target, build/test/tools/rogue-peer attacks it as a peer on
# the same network would, with the real VA and rkey of the frozen task's
# memory: a READ before any hello (also on a lane-like second connection),
# the source's own hello sent back, the source's proof sent back, a hello
# without a role, the whole handshake with a wrong key, a connect request
# abandoned before the connection is up, and one answered but never
# completed (the source must let it go, not wait on it).  Each attack must
# fail (READ completes in error, no export table), the source must live on
# and leave nothing behind for the peers it let go.  Then the real target
# migrates the task (every page verified) while 1,000 connect requests hit
# the port, all refused, and the source holds exactly its two QPs, their ids
# and its listener (kept for a reconnection of that target).
set -u
top=$PWD
criu=$top/build/criu
plugins=${CRR_PLUGINS:-$top/build/plugin}
rogue=$top/build/test/tools/rogue-peer
failed=0
fail() { echo "FAIL: $*"; failed=1; }
port=7480

d=$(mktemp -d)
mkdir $d/img $d/work
unshare -p -f setsid $top/build/test/tools/lazy-pattern $d 8 < /dev/null > $d/workload.log 2>&1 &
for _ in $(seq 300); do [ -f $d/ready ] && break; sleep 0.1; done
pid=$(pgrep -f "^$top/build/test/tools/lazy-pattern $d" | head -n 1)

# a silent peer is let go after CRIU_RDMA_TIMEOUT_MS
CRIU_RDMA_TIMEOUT_MS=3000 $criu dump -t $pid -D $d/img --lazy-pages --rdma --address $CRR_IP --port $port \
	--libdir $plugins -o dump.log -v4 &
dump=$!
for _ in $(seq 600); do grep -q "export: " $d/img/dump.log 2>/dev/null && break; sleep 0.1; done
# the target of the attacks: the workload's patterned area (its address is
# in the ready file) and the rkey of the region that holds it, the largest
# the frozen task registered (`rdma resource show mr`, as anyone with a
# shell on the source could see it; the source's debug log has it too)
va=$(awk '{ print $2 }' $d/ready)
rkey=$(rdma resource show mr -dd | awk -v p="pid $pid " '$0 ~ p {
	for (i = 1; i < NF; i++) { if ($i == "rkey") k = $(i + 1); if ($i == "mrlen") l = $(i + 1) }
	if (l + 0 > best) { best = l + 0; key = k } } END { print key }')
rdma resource show mr -dd | grep "pid $pid " | head -3
grep -m1 "first range va" $d/img/dump.log
echo "attacking VA $va rkey $rkey"
[ -n "$va" ] && [ -n "$rkey" ] || { echo "FAIL: no exported memory to attack"; exit 1; }
ls -l $d/img/rdma-session.key
[ "$(stat -c %a $d/img/rdma-session.key)" = 600 ] || fail "the session key is not mode 0600"

resources() { # PID -> "qps ids" of that process
	echo "$(rdma resource show qp 2>/dev/null | grep -c "pid $1 ") $(rdma resource show cm_id 2>/dev/null | grep -c "pid $1 ")"
}
before=$(resources $dump)
echo "source before the attacks (QPs, rdma_cm ids): $before"

for attack in read-first lane-read hello-reflect proof-reflect no-role wrong-key connect-abort connect-stall; do
	timeout 120 $rogue $CRR_IP $port $attack $va $rkey
	rc=$?
	[ $rc -eq 0 ] || fail "attack $attack: exit $rc"
	kill -0 $dump 2> /dev/null || {
		fail "the source died under attack $attack"
		grep "Error\|Warn" $d/img/dump.log | tail -n 8
		break
	}
	# the source lets a refused peer go within CRIU_RDMA_TIMEOUT_MS
	sleep 5
	now=$(resources $dump)
	[ "$now" = "$before" ] || fail "after $attack the source holds $now (QPs, ids), before $before"
done
grep "refusing the\|let go of a peer\|refused a connect" $d/img/dump.log | sed 's/^([0-9. ]*) //' | sort | uniq -c

# the real target, while the port is flooded: it holds off the background
# pull for 60 s so that the session is still up for the whole flood (the
# task faults its pages in meanwhile; the pull takes what it never touched)
$criu lazy-pages --page-server --rdma --address $CRR_IP --port $port -D $d/img -W $d/work \
	--lazy-background-delay 60000 --libdir $plugins -o lazy.log -v4 &
lazy=$!
for _ in $(seq 300); do [ -S $d/work/lazy-pages.socket ] && break; sleep 0.1; done
$criu restore --lazy-pages -D $d/img -W $d/work -d -o restore.log -v4 || fail "restore failed"
for _ in $(seq 300); do grep -q "serving " $d/img/dump.log && break; sleep 0.1; done
grep -q "serving " $d/img/dump.log || fail "the real target was not served"
during=$(resources $dump)
echo "source while serving (QPs, rdma_cm ids): $during"
# its two QPs (main, lane), their ids and the listener, kept for a reconnection of that target
[ "$during" = "2 3" ] || fail "the source holds $during (QPs, ids) while serving, not its 2 and 3"
# (each refused request logs two lines; keep the summary)
start=$(date +%s)
timeout 300 $rogue $CRR_IP $port flood 1000 > $d/flood.log 2>&1 || fail "a connect request was accepted during the migration"
grep -c "REJECTED\|UNREACHABLE" $d/flood.log
tail -n 1 $d/flood.log
echo "flood took $(( $(date +%s) - start )) s"
kill -0 $dump 2> /dev/null || fail "the source is gone after the flood, before the migration ended"
after=$(resources $dump)
[ "$after" = "$during" ] || fail "after the flood the source holds $after (QPs, ids), before $during"
touch $d/check
timeout 300 tail --pid=$lazy -f /dev/null || fail "the lazy-pages daemon hung"
wait $lazy || fail "the lazy-pages daemon failed"
timeout 120 tail --pid=$dump -f /dev/null || fail "the source did not finish"
wait $dump || fail "the source dump failed"
for _ in $(seq 300); do [ -f $d/result ] && break; sleep 0.1; done
cat $d/result
grep -q ^OK $d/result || fail "the migrated task did not read back every byte"
grep "lazy pages over RDMA" $d/work/lazy.log | sed 's/^([0-9. ]*) //'
grep -q "fault_pages=[1-9]" $d/work/lazy.log || fail "no page came over RDMA"
pkill -9 -f "lazy-pattern $d" 2> /dev/null
[ $failed -eq 0 ] && echo "PASS: every attack failed, the migration completed" || exit 1
