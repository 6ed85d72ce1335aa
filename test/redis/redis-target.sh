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
probe=$top/test/redis/guest-probe.py
fail() { echo "FAIL: $*"; touch $shared/stop; exit 1; }
wait_file() { for _ in $(seq $(($2 * 10))); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

# the MTU of $shared/mtu on both hosts, and frames that big must pass both
# ways (a wire that drops them would look like a hung transport)
if [ -f $shared/mtu ] && [ "$(cat /sys/class/net/eth0/mtu)" != "$(cat $shared/mtu)" ]; then
	ip link set eth0 mtu "$(cat $shared/mtu)" || fail "cannot set MTU $(cat $shared/mtu) on eth0"
fi
mtu=$(cat /sys/class/net/eth0/mtu)
echo "mtu=$mtu active_mtu=$(ibv_devinfo -d $CRR_RDMA_DEV | awk '/active_mtu/ { print $2 }')" > $shared/mtu-target
echo "target: eth0 $(cat $shared/mtu-target)"
wait_file $shared/mtu-source-set 600 || fail "the source never set its MTU"
[ "$(sed 's/ .*//' $shared/mtu-source)" = "mtu=$mtu" ] || fail "MTU differs: source $(cat $shared/mtu-source), target $mtu"
python3 $probe udp-probe $CRR_PEER 7700 $((mtu - 28)) || fail "frames of $mtu bytes do not pass between the hosts"
echo "target: frames of $mtu bytes pass both ways"
python3 $probe clock $shared/clock-target-start

runtime=$(cat $shared/runtime 2> /dev/null || echo criu)
if [ "$runtime" = runc ]; then
	. $top/test/redis/runc-lib.sh
	runc_install "$transport"
	runc_bundle
	criu=/usr/sbin/criu
fi
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
# (the stamps t-* are this host's clock; the report maps them to the host's)
date +%s.%N > $shared/t-images
sleep 0.5
rdma=
[ "$transport" = rdma ] && rdma="--rdma --libdir $top/build/plugin"
# the package's criu finds its plugin itself
[ "$transport" = rdma ] && [ "$runtime" = runc ] && rdma="--rdma"
export CRIU_RDMA_STATS=/tmp/rdma-stats
# settings of an A/B (migrate-redis.sh's CRR_REDIS_TARGET_ENV)
[ -f $shared/target-env ] && . $shared/target-env && sed 's/^/target: /' $shared/target-env
# a link cut must be noticed (and survived) well within the test; the pull
# waits 3 s after the restore so that the cut (at 0.3 s) always lands while
# pages are still owed: with the deep pull, 16 MiB arrive in under a second
# and a cut at a fixed time could miss the migration entirely
hold=
if [ -f $shared/cut ]; then
	export CRIU_RDMA_TIMEOUT_MS=2000
	hold="--lazy-background-delay 3000"
fi
# --hold-ms: the pull held back so that the first faults have the link alone
[ -f $shared/hold-ms ] && hold="--lazy-background-delay $(cat $shared/hold-ms)"
work=/tmp/criu-work
[ "$runtime" = runc ] && work=$RUNC_WORK
mkdir -p $work
date +%s.%N > $shared/t-lazy-start
# t-lazy-done: when the daemon ends, i.e. when the last page is in
( $criu lazy-pages --page-server $rdma --address $CRR_PEER --port 7600 -D $shared/img -W $work \
	$hold -o lazy.log -v4
	rc=$?
	date +%s.%N > $shared/t-lazy-done
	exit $rc ) &
lazy=$!
for _ in $(seq 600); do [ -S $work/lazy-pages.socket ] && break; sleep 0.1; done
date +%s.%N > $shared/t-lazy-ready
if [ "$runtime" = runc ]; then
	# runc restores through CRIU's RPC with runc.conf; the restore connects to
	# the lazy-pages daemon through the socket in the shared work directory
	runc_stdio runc restore -d --lazy-pages --image-path $shared/img --work-path $work \
		--bundle $RUNC_BUNDLE $RUNC_ID || { tail -n 30 $work/restore.log; fail "runc restore"; }
else
	$criu restore --lazy-pages -D $shared/img -W $work -d --tcp-close -o restore.log -v4 || {
		tail -n 30 $work/restore.log; fail "restore"; }
fi
date +%s.%N > $shared/t-restored
if [ "$runtime" = runc ]; then
	[ "$(runc state $RUNC_ID | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')" = running ] ||
		fail "runc does not report $RUNC_ID running"
	rpid=$(runc_pid)
	[ "$(cat /proc/$rpid/comm)" = redis-server ] || fail "the container's init is $(cat /proc/$rpid/comm)"
	echo "target: runc restored container $RUNC_ID, redis-server pid $rpid, cgroup $(cut -d: -f3 /proc/$rpid/cgroup)"
fi
touch $shared/switch
if [ -f $shared/cut ]; then
	# RoCE's UDP port dropped both ways while pages are owed, then back
	(
		sleep 0.3
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
# the time of the log's last line (this host's clock), to anchor its stamps:
# a copy over 9p keeps only whole seconds of it
stat -c %.9Y $work/lazy.log > $shared/lazy-log-mtime
grep -a "lost the connection\|reconnected to" $work/lazy.log | sed 's/^([0-9. ]*) /target: /'
date +%s.%N > $shared/t-all-in
redis-cli -h 127.0.0.1 DEBUG DIGEST > $shared/digest-target
touch $shared/stop
wait $client || { cat /tmp/client.log; fail "client"; }
cp $work/lazy.log $work/restore.log $shared/
python3 $probe clock $shared/clock-target-end
faults=$(grep -c "#PF at" $work/lazy.log)
{
	echo "fault_requests_uffd=$faults"
	[ -f /tmp/rdma-stats ] && cat /tmp/rdma-stats
	grep -q "PS_IOV\|Disconnect from the page server" $work/lazy.log && echo "tcp_page_server_used=1" ||
		echo "tcp_page_server_used=0"
} > $shared/target.env
echo "target: digest after the last page $(cat $shared/digest-target)"
touch $shared/target-done
