#!/bin/bash
# One command for bench/RESULTS.md: builds, boots the Soft-RoCE guest, runs
# bench/fault-bench.sh in it (both MTUs, both transports, several runs) and
# bench/export-bench.sh (zero-copy against copy export), the two-guest Redis
# migration over RDMA and TCP (at a jumbo MTU, as RoCE is deployed, and at
# 1500), bench/fork-bench.sh (one dump restored N times at once, against N
# TCP migrations), and writes RESULTS.md (goals met / missed first) + plots.
#
#   bash bench/run.sh [--runs N] [--samples N] [--storm-mib N] [--scan-mib N]
#                     [--sparse-mib N] [--redis-mib N | --no-redis] [--redis-runs N] [--redis-hold-ms MS]
#                     [--fork-mib N] [--fork-ns "1 2 4 8"] [--parts "fault export redis fork"]
#
# --redis-runs N: the Redis migration N times per MTU, each run both
# transports back to back (the goals take the median of the runs' ratios).
# --redis-hold-ms MS (default 4000, 0: none): each run then migrates once more
# over RDMA with the pull held back MS ms: Redis's faults in that window are
# the idle cross-guest faults the faults during the pull are set against.
#
# --parts runs some of the benchmarks only: the data of the others (from an
# earlier run) is kept in build/bench-run/data and RESULTS.md is written from
# all of it; machine.txt gets a line for each such run.
#
# On real RDMA hosts run bench/fault-bench.sh directly (see bench/README.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
runs=3 samples=200 redis_mib=64 redis_runs=3 redis_hold_ms=4000 storm_mib=256 scan_mib=4 sparse_mib=64 fork_mib=64 fork_ns="1 2 4 8"
all_parts="fault export redis fork" parts="fault export redis fork"
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--samples) samples=$2; shift 2 ;;
	--storm-mib) storm_mib=$2; shift 2 ;;
	--scan-mib) scan_mib=$2; shift 2 ;;
	--sparse-mib) sparse_mib=$2; shift 2 ;;
	--redis-mib) redis_mib=$2; shift 2 ;;
	--no-redis) redis_mib=0; shift ;;
	--redis-runs) redis_runs=$2; shift 2 ;;
	--redis-hold-ms) redis_hold_ms=$2; shift 2 ;;
	--fork-mib) fork_mib=$2; shift 2 ;;
	--fork-ns) fork_ns=$2; shift 2 ;;
	--parts) parts=$2; shift 2 ;;
	*) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $redis_hold_ms =~ ^[0-9]{1,6}$ ]] || { echo "bench/run.sh: --redis-hold-ms takes milliseconds (0: none), not '$redis_hold_ms'" >&2; exit 2; }
out=$top/build/bench-run
bash scripts/install-deps.sh
command -v gnuplot > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox > /dev/null
[ -f build/build.ninja ] || meson setup build
ninja -C build
test/vm/build-image.sh
has() { [[ " $parts " == *" $1 "* ]]; }
line="date: $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
for p in $parts; do
	[[ " $all_parts " == *" $p "* ]] || { echo "bench/run.sh: --parts: no part '$p' (parts: $all_parts)" >&2; exit 2; }
done
command="bash bench/run.sh --runs $runs --samples $samples --storm-mib $storm_mib --scan-mib $scan_mib --sparse-mib $sparse_mib --redis-mib $redis_mib --redis-runs $redis_runs --redis-hold-ms $redis_hold_ms --fork-mib $fork_mib --fork-ns '$fork_ns'"
if [ "$parts" = "$all_parts" ]; then
	rm -rf "$out"
else
	command="$command --parts '$parts'"
	[ -f "$out/data/machine.txt" ] || { echo "bench/run.sh: --parts needs the data of a whole run in $out" >&2; exit 1; }
fi
mkdir -p "$out/data"
# the guest's settings (bench/guest-job.sh reads them; the guest sees $out)
printf 'CRR_BENCH_RUNS=%q CRR_BENCH_SAMPLES=%q CRR_BENCH_STORM_MIB=%q CRR_BENCH_SCAN_MIB=%q CRR_BENCH_SPARSE_MIB=%q\n' \
	"$runs" "$samples" "$storm_mib" "$scan_mib" "$sparse_mib" > "$out/bench.env"
printf 'CRR_BENCH_FORK_MIB=%q CRR_BENCH_FORK_NS=%q CRR_BENCH_PARTS=%q\n' "$fork_mib" "$fork_ns" "$parts" >> "$out/bench.env"
guest_parts=$(echo " $parts " | sed 's/ redis / /')
if [ -n "${guest_parts// /}" ]; then
	# (guest-job.sh writes machine-guest.txt again: the whole run's is kept)
	[ "$parts" = "$all_parts" ] || cp "$out/data/machine-guest.txt" "$out/machine-guest.keep"
	test/vm/run-guest.sh --timeout 5400 --out "$out" bench/guest-job.sh
	[ "$parts" = "$all_parts" ] || mv "$out/machine-guest.keep" "$out/data/machine-guest.txt"
fi
if [ "$parts" = "$all_parts" ]; then
	{
		echo "host: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, kernel $(uname -r)"
		echo "emulator: $(qemu-system-x86_64 --version | head -n 1), TCG (no KVM), guest -smp 2 -m 4G"
		cat "$out/data/machine-guest.txt"
		echo "$line"
		echo "command: $command"
	} > "$out/data/machine.txt"
else
	echo "then, $line: $command" >> "$out/data/machine.txt"
fi
if has redis && [ "$redis_mib" -gt 0 ]; then
	# (a run per MTU, then the next: a slow stretch of the host does not hit one MTU only)
	rm -rf "$out/data/redis" "$out/data/redis-1500" "$out/data/redis-failed.txt"
	for k in $(seq "$redis_runs"); do
		for mtu in 9000 1500; do
			sub=redis$([ $mtu = 9000 ] || echo "-$mtu")/run$k
			# a failed run is reported (and fails the bench at the end), the others still run
			test/redis/migrate-redis.sh --mib "$redis_mib" --mtu $mtu --out "$out/data/$sub" ||
				echo "$sub" >> "$out/data/redis-failed.txt"
			# the idle cross-guest fault for the goal: RDMA again, the pull held back
			[ "$redis_hold_ms" -gt 0 ] || continue
			test/redis/migrate-redis.sh --mib "$redis_mib" --mtu $mtu --transports rdma \
				--hold-ms "$redis_hold_ms" --out "$out/data/$sub/held" ||
				echo "$sub/held" >> "$out/data/redis-failed.txt"
		done
	done
fi
python3 bench/report.py "$out/data" bench/RESULTS.md bench/plots
echo "bench: wrote bench/RESULTS.md and bench/plots/"
if [ -s "$out/data/redis-failed.txt" ]; then
	echo "bench: Redis runs that failed their checks: $(tr '\n' ' ' < "$out/data/redis-failed.txt")" >&2
	exit 1
fi
