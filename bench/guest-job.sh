#!/bin/bash
# The Soft-RoCE backend of bench/fault-bench.sh and bench/export-bench.sh:
# runs inside the test-bed guest (test/vm/run-guest.sh), passes the guest's
# device and address, both MTUs, and records what the guest is.
set -u
out=$CRR_OUT/data
mkdir -p $out
{
	echo "guest: $(uname -r), $(nproc) vCPU, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "guest RDMA: $(rdma link show | head -n 1)"
	echo "rdma-core: $(dpkg-query -W -f '${Version}' rdma-core 2> /dev/null), perftest: $(dpkg-query -W -f '${Version}' perftest 2> /dev/null)"
	echo "CRIU: $(build/criu --version | head -n 1), patched (criu-patches/)"
} > $out/machine-guest.txt
bench/fault-bench.sh --ip "$CRR_IP" --dev "$CRR_RDMA_DEV" --netdev eth0 --mtus "${CRR_BENCH_MTUS:-1500 4200}" \
	--runs "${CRR_BENCH_RUNS:-3}" --samples "${CRR_BENCH_SAMPLES:-200}" --mib "${CRR_BENCH_MIB:-64}" \
	--pull-mib "${CRR_BENCH_PULL_MIB:-512}" --out $out || exit 1
# the source's export, zero-copy against copy
exec bench/export-bench.sh --ip "$CRR_IP" --mib "${CRR_BENCH_EXPORT_MIB:-512}" --runs "${CRR_BENCH_RUNS:-3}" --out $out
