#!/usr/bin/env bash
# The main job, from a fresh clone: install, build, boot two Soft-RoCE
# guests (source and target host) and migrate a running process lazily
# over RDMA from one to the other; the restored process verifies every page.
#   demo.sh [--mib N]     (default 64 MiB of patterned memory)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mib=64
[ "${1:-}" = --mib ] && mib=$2
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
rm -rf build/pair-shared
mkdir -p build/pair-shared
echo "$mib" > build/pair-shared/mib
out=build/demo
rc=0
test/vm/run-guest.sh --timeout 1800 --out "$out" --pair \
	test/guest/migrate-source.sh test/guest/migrate-target.sh || rc=$?
echo "=== source host"; cat "$out/source/job.log"
echo "=== target host"; cat "$out/target/job.log"
exit $rc
