#!/usr/bin/env bash
# The main job, from a fresh clone: install, build, boot two Soft-RoCE guests
# (source and target host) and live-migrate a loaded Redis from one to the
# other post-copy, over RDMA and then over CRIU's TCP page server, while a
# client keeps writing and reading; prints the report (digests, acknowledged
# writes, downtime, time to last page, source busy time, fault latency).
#   demo.sh [--mib N]     dataset size (default 64 MiB; --mib 256 for the full scenario)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mib=64
[ "${1:-}" = --mib ] && mib=$2
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
exec test/redis/migrate-redis.sh --mib "$mib" --out build/demo
