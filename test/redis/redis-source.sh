#!/bin/bash
# Source host of the Redis migration (runs in the source guest).
# Starts Redis the way CRIU needs it (own session, own PID namespace), loads
# $mib MiB of checkable keys, lets the target's client work against it, then
# takes DEBUG DIGEST while the client only reads and freezes Redis with
# 'criu dump --lazy-pages' over the transport named in $shared/transport.
# The images go to storage both hosts mount ($shared, 9p here; NFS or a
# cluster file system between real hosts); memory stays here until served.
set -u
top=$PWD
shared=${CRR_REDIS_SHARED:-$top/build/redis-shared}
criu=$top/build/criu
mib=$(cat $shared/mib)
transport=$(cat $shared/transport)
probe=$top/test/redis/guest-probe.py
fail() { echo "FAIL: $*"; touch $shared/source-failed; exit 1; }
wait_file() { for _ in $(seq $(($2 * 10))); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
mkdir -p $shared/img

# Both hosts use the MTU in $shared/mtu (rxe follows its netdev's MTU: 4096
# bytes of RoCE payload from 4200 up); the target checks that frames that
# big pass both ways, against this echo.
if [ -f $shared/mtu ] && [ "$(cat /sys/class/net/eth0/mtu)" != "$(cat $shared/mtu)" ]; then
	ip link set eth0 mtu "$(cat $shared/mtu)" || fail "cannot set MTU $(cat $shared/mtu) on eth0"
fi
echo "mtu=$(cat /sys/class/net/eth0/mtu) active_mtu=$(ibv_devinfo -d $CRR_RDMA_DEV | awk '/active_mtu/ { print $2 }')" \
	> $shared/mtu-source
python3 $probe udp-echo 7700 &
echo_pid=$!
echo "source: eth0 $(cat $shared/mtu-source)"
touch $shared/mtu-source-set

runtime=$(cat $shared/runtime 2> /dev/null || echo criu)
if [ "$runtime" = runc ]; then
	. $top/test/redis/runc-lib.sh
	runc_install "$transport"
	runc_bundle
	runc_stdio runc run -d --bundle $RUNC_BUNDLE $RUNC_ID || fail "runc run"
else
	unshare -p -f setsid redis-server --port 6379 --bind 0.0.0.0 --protected-mode no --save "" --appendonly no \
		--enable-debug-command yes --daemonize no < /dev/null > /dev/null 2>&1 &
	# (no log file: every file Redis holds must exist on the target too)
fi
for _ in $(seq 300); do redis-cli ping 2> /dev/null | grep -q PONG && break; sleep 0.1; done
redis-cli ping | grep -q PONG || fail "redis did not start"
pid=$(pgrep -x redis-server | head -n 1)
if [ "$runtime" = runc ]; then
	[ "$(runc_pid)" = "$pid" ] || fail "redis-server ($pid) is not the container's init ($(runc_pid))"
	echo "source: redis runs in runc container $RUNC_ID, cgroup $(cut -d: -f3 /proc/$pid/cgroup)"
fi
# values of 4000 bytes, key:<j> -> "value:<j>" + padding: checkable from the key
keys=$((mib * 1048576 / 4096))
t0=$(date +%s.%N)
redis-cli DEBUG POPULATE $keys key 4000 > /dev/null || fail "populate"
echo $keys > $shared/keys
used=$(redis-cli INFO memory | sed -n 's/^used_memory_human:\(.*\)\r$/\1/p')
echo "source: redis pid $pid holds $keys keys, used_memory $used (loaded in $(awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN{printf "%.1f", b-a}') s)"
touch $shared/loaded

wait_file $shared/client-running 300 || fail "the client never started"
sleep ${CRR_REDIS_LOAD_SECONDS:-5}
# the client stops writing (keeps reading) so the digest is the digest at the freeze
touch $shared/pause
wait_file $shared/paused 60 || fail "the client did not pause"
redis-cli DEBUG DIGEST > $shared/digest-source
echo "source: digest before the freeze $(cat $shared/digest-source)"

rdma=
[ "$transport" = rdma ] && rdma="--rdma --libdir $top/build/plugin"
export CRIU_RDMA_ACCEPT_TIMEOUT_MS=300000
[ -f $shared/cut ] && export CRIU_RDMA_TIMEOUT_MS=2000
# The timeline of the report puts both hosts' stamps on the host's clock.
python3 $probe clock $shared/clock-source
date +%s.%N > $shared/t-freeze
if [ "$runtime" = runc ]; then
	# As a container engine migrates: runc checkpoint drives CRIU through
	# RPC (runc.conf names the transport), says on --status-fd when the
	# pages are served, and returns when the target has them all.  The
	# work directory is the image directory: dump.log is seen there.
	# (runc wants the status fd write-only: the read end is a FIFO's)
	mkfifo /tmp/runc-status
	(head -c 1 < /tmp/runc-status | grep -qc '' && touch $shared/serving &&
		echo "source: runc checkpoint: serving (--status-fd)") &
	exec 9> /tmp/runc-status
	runc checkpoint --lazy-pages --page-server $CRR_IP:7600 --status-fd 9 \
		--image-path $shared/img --work-path $shared/img $RUNC_ID
	rc=$?
	exec 9>&-
else
	# --tcp-close: the client's connection is not migrated; it reconnects to the target
	$criu dump -t $pid -D $shared/img --lazy-pages $rdma --address $CRR_IP --port 7600 --tcp-close \
		-o dump.log -v4
	rc=$?
fi
date +%s.%N > $shared/t-release
# (again after the dump: the report shows how far the clock drifted)
python3 $probe clock $shared/clock-source-end
[ $rc -eq 0 ] || { tail -n 30 $shared/img/dump.log; fail "dump exited $rc"; }
kill -0 $pid 2> /dev/null && fail "the frozen source copy is still alive"
if [ "$runtime" = runc ]; then
	[ -f $shared/serving ] || fail "CRIU never said on runc's --status-fd that it serves"
	runc state $RUNC_ID > /dev/null 2>&1 && fail "runc still has container $RUNC_ID"
	[ "$transport" != rdma ] || grep -q "listening at $CRR_IP, port 7600" $shared/img/dump.log ||
		fail "the dump did not listen at runc's --page-server address"
	echo "source: runc checkpoint done, container $RUNC_ID gone"
fi
if [ "$transport" = rdma ]; then
	grep "rdma: " $shared/img/dump.log | sed 's/^([0-9. ]*) /source: /'
	# no verbs objects of ours left: no MR, no QP owned by a criu process
	left=$(rdma resource show mr 2> /dev/null | grep -c criu)
	left=$((left + $(rdma resource show qp 2> /dev/null | grep -c criu)))
	[ "$left" -eq 0 ] || fail "$left RDMA resources still held by criu"
	echo "source: no RDMA resources left"
fi
echo "source: frozen copy gone"
kill $echo_pid 2> /dev/null
touch $shared/source-done
