#!/bin/sh
# In one guest: the patched CRIU passes 'criu check', loads our plugin when it
# dumps a small process, and restores that process, which keeps running.
set -e
criu=$PWD/build/criu
plugins=$PWD/build/plugin
d=$(mktemp -d /tmp/criu-plugin.XXXXXX)

$criu --version
$criu check
$criu check --feature uffd-noncoop

# A counter that must keep counting across dump and restore.  The writer
# truncates then writes, so a read can catch it empty: read_counter retries.
read_counter() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		v=$(cat $d/counter)
		[ -n "$v" ] && { echo $v; return; }
		sleep 0.05
	done
}
setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > '"$d"'/counter; sleep 0.1; done' \
	< /dev/null > /dev/null 2>&1 &
pid=$!
sleep 1
$criu dump -t $pid -D $d -o dump.log -v4 --libdir $plugins || { cat $d/dump.log; exit 1; }
grep -q "criu-rdma plugin loaded for dump" $d/dump.log || {
	echo "FAIL: plugin not loaded by criu dump"; grep -i plugin $d/dump.log; exit 1; }
! kill -0 $pid 2>/dev/null || { echo "FAIL: dumped task still alive"; exit 1; }
before=$(read_counter)

$criu restore -D $d -o restore.log -v4 -d --libdir $plugins || { cat $d/restore.log; exit 1; }
grep -q "criu-rdma plugin loaded for restore" $d/restore.log || {
	echo "FAIL: plugin not loaded by criu restore"; exit 1; }
sleep 1
after=$(read_counter)
kill -0 $pid || { echo "FAIL: restored task $pid not running"; exit 1; }
kill $pid
[ "$after" -gt "$before" ] || { echo "FAIL: counter stuck at $before after restore"; exit 1; }
grep "criu-rdma plugin" $d/dump.log $d/restore.log
echo "dumped at $before, restored and counting: $after"
