#!/usr/bin/env bash
# Boot Soft-RoCE test guests under QEMU and run a script inside each.
#
#   run-guest.sh [--timeout SEC] --out DIR SCRIPT [ARGS...]
#       one guest; SCRIPT (a path inside the repository) runs as root in it.
#   run-guest.sh [--timeout SEC] --out DIR --pair SOURCE_SCRIPT TARGET_SCRIPT
#       two guests joined by a virtual network (192.168.77.1 = source,
#       192.168.77.2 = target), each with its own kernel and rxe device.
#
# The repository, the cache and DIR are shared over 9p at their host paths.
# The exit status is the script's (the first failing one for a pair); a guest
# that does not finish within the timeout is killed and its serial log shown.
# CRR_GUEST_APPEND="ARG ... " (each followed by a space) adds kernel
# command-line arguments (an A/B of a guest setting, e.g. its clocksource).
set -euo pipefail
. "$(dirname "$0")/common.sh"

timeout=${CRR_GUEST_TIMEOUT:-600}
out=
pair=
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--pair) pair=1; shift ;;
	*) break ;;
	esac
done
[ -n "$out" ] && [ $# -ge 1 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
image=$("$CRR_TOP/test/vm/build-image.sh")
mkdir -p "$out"
out=$(cd "$out" && pwd)

# TCG: the hosts we know have no usable KVM (CRR_ACCEL=kvm to try it).
accel="-accel tcg,thread=multi"
[ "${CRR_ACCEL:-}" = kvm ] && accel="-accel kvm"

# write_job DIR ROLE IP PEER SCRIPT ARGS...: the script PID 1 runs in a guest
write_job() {
	local dir=$1 role=$2 ip=$3 peer=$4
	shift 4
	rm -f "$dir/exit-status" "$dir/job.log" "$dir/stopped-for"
	{
		echo "export CRR_TOP='$CRR_TOP' CRR_CACHE='$CRR_CACHE' CRR_OUT='$dir'"
		echo "export CRR_ROLE='$role' CRR_IP='$ip' CRR_PEER='$peer'"
		echo "cd '$CRR_TOP' && . test/vm/guest-setup.sh || exit 1"
		printf 'exec'
		printf " '%s'" "$@"
		echo
	} > "$dir/job.sh"
}

# start_guest DIR NETDEV MAC: boot one guest in the background (pid in guest_pid)
start_guest() {
	local dir=$1 netdev=$2 mac=$3
	timeout -k 5 "$timeout" qemu-system-x86_64 $accel -cpu max -smp 2 -m 4G \
		-nodefaults -display none -no-reboot \
		-serial "file:$dir/serial.log" \
		-kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
		-append "console=ttyS0 root=/dev/vda rw init=/sbin/crr-init quiet panic=1 net.ifnames=0 ${CRR_GUEST_APPEND:-}crr.src=$CRR_TOP crr.cache=$CRR_CACHE crr.out=$dir" \
		-drive "file=$image/image.ext4,format=raw,if=virtio,snapshot=on" \
		-netdev "$netdev" -device "virtio-net-pci,netdev=n0,mac=$mac" \
		-virtfs "local,path=$CRR_TOP,mount_tag=src,security_model=none" \
		-virtfs "local,path=$CRR_CACHE,mount_tag=cache,security_model=none" \
		-virtfs "local,path=$dir,mount_tag=out,security_model=none" \
		> "$dir/qemu.log" 2>&1 &
	guest_pid=$!
}

# finish DIR QEMU_PID NAME: wait for a guest and report its result
finish() {
	local dir=$1 pid=$2 name=$3 rc=0
	wait "$pid" || rc=$?
	if [ ! -f "$dir/exit-status" ]; then
		local other
		other=$(cat "$dir/stopped-for" 2> /dev/null)
		if [ -n "$other" ] && [ "$other" != "$name" ]; then
			# (short: the failing guest's own report is what matters)
			echo "run-guest: $name stopped: the $other guest failed or died" >&2
			return 1
		elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "run-guest: $name timed out after ${timeout}s; serial log:" >&2
		else
			echo "run-guest: $name died (qemu status $rc) before its job finished:" >&2
			cat "$dir/qemu.log" >&2
		fi
		tail -n 60 "$dir/serial.log" >&2
		[ -f "$dir/job.log" ] && { echo "--- $name job log:" >&2; tail -n 60 "$dir/job.log" >&2; }
		return 1
	fi
	local st
	st=$(cat "$dir/exit-status")
	# written by the guest over 9p; a file seen before its write ends is empty
	[ -n "$st" ] || { echo "run-guest: $name left an empty exit status" >&2; return 1; }
	return "$st"
}

if [ -z "$pair" ]; then
	write_job "$out" single 10.0.2.15 10.0.2.15 "$@"
	start_guest "$out" user,id=n0 52:54:00:77:00:01
	finish "$out" "$guest_pid" guest
	exit
fi

[ $# -eq 2 ] || { echo "run-guest: --pair takes SOURCE_SCRIPT TARGET_SCRIPT" >&2; exit 2; }
mkdir -p "$out/source" "$out/target"
write_job "$out/source" source 192.168.77.1 192.168.77.2 "$1"
write_job "$out/target" target 192.168.77.2 192.168.77.1 "$2"
# The wire between the guests: a QEMU stream netdev over a unix socket.  (With
# a TCP socket netdev every RDMA round trip of the migration took ~43 ms, the
# signature of Nagle against delayed ACKs; over a unix socket it is ~4 ms.)
netdir=$(mktemp -d /tmp/crr-net.XXXXXX)
sock=$netdir/wire
start_guest "$out/source" "stream,id=n0,server=on,addr.type=unix,addr.path=$sock" 52:54:00:77:00:01
spid=$guest_pid
# the connecting side needs the listener up
for _ in $(seq 50); do
	[ -S "$sock" ] && break
	sleep 0.1
done
start_guest "$out/target" "stream,id=n0,server=off,addr.type=unix,addr.path=$sock" 52:54:00:77:00:02
tpid=$guest_pid
# If one side fails, or its guest dies (a kernel panic powers it off with
# no exit status), the other cannot finish: stop it instead of waiting.
while kill -0 "$spid" 2>/dev/null || kill -0 "$tpid" 2>/dev/null; do
	for side in source target; do
		pid=$spid
		[ $side = source ] || pid=$tpid
		# (read once: the guest may be writing it; empty is not yet a verdict)
		st=$(cat "$out/$side/exit-status" 2> /dev/null || true)
		if { [ -n "$st" ] && [ "$st" != 0 ]; } ||
			{ ! kill -0 "$pid" 2> /dev/null && [ ! -e "$out/$side/exit-status" ]; }; then
			sleep 5
			for o in source target; do
				[ -e "$out/$o/exit-status" ] || echo "$side" > "$out/$o/stopped-for"
			done
			kill "$spid" "$tpid" 2> /dev/null || true
		fi
	done
	sleep 1
done
rc=0
finish "$out/source" "$spid" source || rc=$?
finish "$out/target" "$tpid" target || { r=$?; [ $rc -ne 0 ] || rc=$r; }
rm -rf "$netdir"
exit $rc
