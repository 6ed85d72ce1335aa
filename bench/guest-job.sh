#!/bin/bash
# The Soft-RoCE backend of bench/fault-bench.sh and bench/export-bench.sh:
# runs inside the test-bed guest (test/vm/run-guest.sh), passes the guest's
# device and address, both MTUs, and records what the guest is.
# Settings: CRR_BENCH_* variables, from $CRR_OUT/bench.env when it exists
# (bench/run.sh writes it: the guest's job inherits no environment from the
# host, only what test/vm/run-guest.sh writes into it).
set -u
[ -f "$CRR_OUT/bench.env" ] && . "$CRR_OUT/bench.env"
out=$CRR_OUT/data
mkdir -p $out
{
	echo "guest: $(uname -r), $(nproc) vCPU, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "guest RDMA: $(rdma link show | head -n 1)"
	echo "rdma-core: $(dpkg-query -W -f '${Version}' rdma-core 2> /dev/null), perftest: $(dpkg-query -W -f '${Version}' perftest 2> /dev/null)"
	echo "CRIU: $(build/criu --version | head -n 1), patched (criu-patches/)"
	echo "lazy-pages daemon: -v2 (CRIU's default) in the fault latency runs, -v3 in the others"
} > $out/machine-guest.txt
# CRR_BENCH_PARTS: which benchmarks run (default "fault export fork")
parts=" ${CRR_BENCH_PARTS:-fault export fork} "
# CRR_BENCH_SCAN_VARIANTS: the scan's variants, "NAME:ARGS;NAME:ARGS" (default: fault-bench's)
variants=()
IFS=';' read -r -a vs <<< "${CRR_BENCH_SCAN_VARIANTS:-}"
for v in "${vs[@]}"; do
	variants+=(--scan-variant "$v")
done
if [[ $parts == *" fault "* ]]; then
	bench/fault-bench.sh --ip "$CRR_IP" --dev "$CRR_RDMA_DEV" --netdev eth0 --mtus "${CRR_BENCH_MTUS:-1500 4200}" \
		--runs "${CRR_BENCH_RUNS:-3}" --samples "${CRR_BENCH_SAMPLES:-200}" --mib "${CRR_BENCH_MIB:-64}" \
		--pull-mib "${CRR_BENCH_PULL_MIB:-512}" --storm-mib "${CRR_BENCH_STORM_MIB:-256}" \
		--scan-mib "${CRR_BENCH_SCAN_MIB:-4}" "${variants[@]}" --sparse-mib "${CRR_BENCH_SPARSE_MIB:-64}" \
		--out $out || exit 1
fi
# the source's export, zero-copy against copy (CRR_BENCH_EXPORT_MIB=0: not run)
if [[ $parts == *" export "* ]] && [ "${CRR_BENCH_EXPORT_MIB:-512}" -gt 0 ]; then
	bench/export-bench.sh --ip "$CRR_IP" --mib "${CRR_BENCH_EXPORT_MIB:-512}" --runs "${CRR_BENCH_RUNS:-3}" \
		--out $out || exit 1
fi
# remote fork: N copies from one dump (CRR_BENCH_FORK_MIB=0: not run)
if [[ $parts == *" fork "* ]] && [ "${CRR_BENCH_FORK_MIB:-64}" -gt 0 ]; then
	bench/fork-bench.sh --ip "$CRR_IP" --mib "${CRR_BENCH_FORK_MIB:-64}" --ns "${CRR_BENCH_FORK_NS:-1 2 4 8}" \
		--runs "${CRR_BENCH_RUNS:-3}" --out $out || exit 1
fi
exit 0
