#!/bin/sh
# PID 1 of the Soft-RoCE test guest.  It only prepares the machine: mounts
# pseudo file systems and the 9p shares named on the kernel command line at the
# same paths as on the host, then runs the job script from the share and powers
# off.  Everything else lives on the share so the image rarely changes.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname crr-guest

arg() { sed -n "s/.*\bcrr\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
share() {
	mkdir -p "$2"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$1" "$2"
}
share src "$(arg src)"
share out "$(arg out)"
[ -n "$(arg cache)" ] && share cache "$(arg cache)"

out=$(arg out)
echo "crr-init: running $out/job.sh" > /dev/console
/bin/sh "$out/job.sh" > "$out/job.log" 2>&1 < /dev/null
echo $? > "$out/exit-status"
sync
echo "crr-init: job exited $(cat "$out/exit-status")" > /dev/console
echo o > /proc/sysrq-trigger
sleep 10
