# shellcheck shell=bash
# What the bench scripts share; sourced, not run.

# bench_require NAME IP FILE...: refuses to start without --ip or without
# the build's FILEs (NAME says who refuses)
bench_require() {
	local name=$1 ip=$2 f
	shift 2
	[ -n "$ip" ] || { echo "$name: --ip ADDR (an address of the RDMA device) is required" >&2; exit 2; }
	for f in "$@"; do
		[ -e "$f" ] || { echo "$name: $f missing: build first (meson setup build && ninja -C build)" >&2; exit 1; }
	done
}
