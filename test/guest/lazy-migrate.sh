#!/bin/bash
# Lazy (post-copy) migration inside one guest, over RDMA (default) or TCP:
#   lazy-migrate.sh [rdma|tcp] [MIB] [WORKLOAD (lazy-pattern, lazy-stress)]
# CRR_FAULT_AROUND=N passes --lazy-fault-around N to the lazy-pages daemon;
# CRR_RDMA_VIA_CONFIG=1 selects RDMA through a config file's 'rdma' key.
# A workload fills MIB with a VA-derived pattern; it is dumped with
# --lazy-pages, restored with empty memory and verifies every page in
# random order while the pages are still remote.  For RDMA the transport's
# counters must show that the pages came by RDMA READ (fault and background).
set -u
transport=${1:-rdma}
mib=${2:-64}
workload=${3:-lazy-pattern}
top=$PWD
criu=$top/build/criu
plugins=$top/build/plugin
d=$(mktemp -d /tmp/lazy-$transport.XXXXXX)
img=$d/img
mkdir -p $img
port=7480
fail() { echo "FAIL: $*"; for f in $img/*.log; do echo "--- $f"; tail -n 25 $f; done; exit 1; }
rdma=
[ "$transport" = rdma ] && rdma=--rdma
# CRR_RDMA_VIA_CONFIG=1: select the transport with the 'rdma' key of a CRIU
# configuration file instead of the flag, as runc and Podman would
if [ -n "$rdma" ] && [ "${CRR_RDMA_VIA_CONFIG:-0}" = 1 ]; then
	printf '# selects the RDMA lazy-pages transport\nrdma\n' > $d/criu.conf
	rdma="--config $d/criu.conf"
fi
export CRIU_RDMA_STATS=$d/stats

unshare -p -f setsid $top/build/test/tools/$workload $d $mib < /dev/null > $d/workload.log 2>&1 &
for _ in $(seq 300); do [ -f $d/ready ] && break; sleep 0.1; done
[ -f $d/ready ] || fail "workload did not start"
pid=$(pgrep -f "^$top/build/test/tools/$workload $d" | head -n 1)
[ -n "$pid" ] || fail "no workload pid"

t0=$(date +%s.%N)
$criu dump -t $pid -D $img --lazy-pages $rdma --address $CRR_IP --port $port --libdir $plugins \
	-o dump.log -v4 &
dump=$!
# images are written once the dump starts serving
for _ in $(seq 600); do
	grep -q "export: \|Starting lazy pages server\|Lazy pages transfer" $img/dump.log 2>/dev/null && break
	kill -0 $dump 2>/dev/null || break
	sleep 0.1
done
kill -0 $dump 2>/dev/null || fail "dump exited early"
sleep 0.5

fault_around=${CRR_FAULT_AROUND:-1}
$criu lazy-pages --page-server $rdma --address $CRR_IP --port $port -D $img --libdir $plugins \
	--lazy-fault-around $fault_around -o lazy.log -v4 &
lazy=$!
sleep 0.5
$criu restore --lazy-pages -D $img -d --libdir $plugins -o restore.log -v4 || fail "restore failed"
t1=$(date +%s.%N)
touch $d/check
for _ in $(seq 1800); do [ -f $d/result ] && break; sleep 0.1; done
[ -f $d/result ] || fail "restored workload gave no result"
cat $d/result
grep -q "^OK" $d/result || fail "restored memory differs"

wait $lazy || fail "lazy-pages daemon failed"
wait $dump || fail "dump (source) failed"
t2=$(date +%s.%N)
awk -v a=$t0 -v b=$t1 -v c=$t2 'BEGIN { printf "dump+restore %.2f s; all pages in %.2f s after restore\n", b - a, c - b }'

if [ "$transport" = rdma ]; then
	[ -f $d/stats ] || fail "no RDMA transport counters"
	cat $d/stats
	. $d/stats
	total=$((fault_pages + background_pages))
	expect=$((mib * 256))
	[ "$fault_pages" -gt 0 ] || fail "no page came by fault over RDMA"
	[ "$background_pages" -gt 0 ] || fail "no page came by background pull over RDMA"
	# a fault fetches its window: never more, and more than one page on average
	[ "$fault_pages" -le $((fault_requests * fault_around)) ] || fail "a fault fetched more than $fault_around pages"
	if [ "$fault_around" -gt 1 ]; then
		[ "$fault_pages" -gt "$fault_requests" ] || fail "fault-around $fault_around fetched single pages"
	else
		[ "$fault_pages" -eq "$fault_requests" ] || fail "a fault fetched more than its page"
	fi
	# (a workload that drops or moves pages while remote needs fewer)
	[ "$workload" != lazy-pattern ] || [ "$total" -ge "$expect" ] || fail "only $total of >= $expect pages came over RDMA"
	grep -q "PS_IOV\|Disconnect from the page server" $img/lazy.log && fail "TCP page server used"
	# per-task completion reaches the source
	[ "$tasks_done" -ge 1 ] || fail "the target reported no task complete"
	grep "target has every page of task" $img/dump.log || fail "the source never heard a task was complete"
	grep "export: \|serving\|target finished" $img/dump.log
	grep "lazy pages over RDMA\|histogram" $img/lazy.log
fi
echo "PASS: $transport lazy migration of $mib MiB ($workload)"
