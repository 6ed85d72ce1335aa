#!/bin/bash
# Target host of the Redis migration (runs in the target guest).
# Runs the client (against the source, then against this host), restores
# Redis lazily over the transport in $shared/transport, prints progress while
# pages stream, then checks the digest and every acknowledged write and writes
# $shared/target.env for the report.
set -u
top=$PWD
shared=${CRR_REDIS_SHARED:-$top/build/redis-shared}
criu=$top/build/criu
transport=$(cat $shared/transport)
fail() { echo "FAIL: $*"; touch $shared/stop; exit 1; }
wait_file() { for _ in $(seq $(($2 * 10))); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

wait_file $shared/loaded 600 || fail "the source never loaded redis"
python3 $top/test/redis/redis-client.py $shared $CRR_PEER 127.0.0.1 > /tmp/client.log 2>&1 &
client=$!
touch $shared/client-running
# the dump writes its images, then serves
for _ in $(seq 3000); do
	grep -q "MiB zero-copy from\|Starting lazy pages server" $shared/img/dump.log 2> /dev/null && break
	[ -e $shared/source-failed ] && fail "the source failed"
	sleep 0.1
done
sleep 0.5
rdma=
[ "$transport" = rdma ] && rdma="--rdma --libdir $top/build/plugin"
export CRIU_RDMA_STATS=/tmp/rdma-stats
# a link cut must be noticed (and survived) well within the test
[ -f $shared/cut ] && export CRIU_RDMA_TIMEOUT_MS=2000
work=/tmp/criu-work
mkdir -p $work
$criu lazy-pages --page-server $rdma --address $CRR_PEER --port 7600 -D $shared/img -W $work \
	-o lazy.log -v4 &
lazy=$!
for _ in $(seq 600); do [ -S $work/lazy-pages.socket ] && break; sleep 0.1; done
$criu restore --lazy-pages -D $shared/img -W $work -d --tcp-close -o restore.log -v4 || {
	tail -n 30 $work/restore.log; fail "restore"; }
date +%s.%N > $shared/t-restored
touch $shared/switch
if [ -f $shared/cut ]; then
	# RoCE's UDP port dropped both ways while pages stream, then back
	(
		sleep 1
		echo "target: cutting the link for $(cat $shared/cut) s"
		iptables -I INPUT -p udp --dport 4791 -j DROP
		iptables -I OUTPUT -p udp --dport 4791 -j DROP
		sleep "$(cat $shared/cut)"
		iptables -D INPUT -p udp --dport 4791 -j DROP
		iptables -D OUTPUT -p udp --dport 4791 -j DROP
		echo "target: link restored"
	) &
fi
# progress while pages stream: the transport's own lines, else CRIU's
while kill -0 $lazy 2> /dev/null; do
	sleep 5
	line=$(grep -a "progress: " $work/lazy.log | tail -n 1 | sed 's/.*progress: //')
	[ -n "$line" ] && echo "target: $line"
done
wait $lazy || { tail -n 30 $work/lazy.log; fail "lazy-pages daemon"; }
grep -a "lost the connection\|reconnected to" $work/lazy.log | sed 's/^([0-9. ]*) /target: /'
date +%s.%N > $shared/t-all-in
redis-cli -h 127.0.0.1 DEBUG DIGEST > $shared/digest-target
touch $shared/stop
wait $client || { cat /tmp/client.log; fail "client"; }
cp $work/lazy.log $shared/lazy.log
faults=$(grep -c "#PF at" $work/lazy.log)
{
	echo "fault_requests_uffd=$faults"
	[ -f /tmp/rdma-stats ] && cat /tmp/rdma-stats
	grep -q "PS_IOV\|Disconnect from the page server" $work/lazy.log && echo "tcp_page_server_used=1" ||
		echo "tcp_page_server_used=0"
} > $shared/target.env
echo "target: digest after the last page $(cat $shared/digest-target)"
touch $shared/target-done
