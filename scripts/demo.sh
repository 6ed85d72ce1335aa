#!/usr/bin/env bash
# The main job, from a fresh clone: install, build, boot the Soft-RoCE guest
# and dump + restore a running process with the patched CRIU and the plugin.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
out=build/demo
test/vm/run-guest.sh --timeout 900 --out "$out" test/guest/criu-plugin.sh || {
	echo "demo failed; guest log:"; cat "$out/job.log"; exit 1; }
cat "$out/job.log"
