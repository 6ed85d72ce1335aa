#!/usr/bin/env bash
# Builds build/criu-trace: the patched CRIU of scripts/build-criu.sh plus
# bench/criu-trace/lp-trace.patch, a timeline of the lazy-pages daemon's
# fault path (bench/fault-timeline.py reads it).  For measuring only: never
# install it.  Cached next to the CRIU build, keyed by that build and the
# patch, so a second call only copies the binary.
#
# usage: bench/criu-trace/build.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CRIU_RDMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/criu-rdma}
patch=$top/bench/criu-trace/lp-trace.patch
src=$("$top/scripts/build-criu.sh" --print-dir)
[ -f "$src/.ready" ] || "$top/scripts/build-criu.sh" > /dev/null
key=$({ echo "$src"; cat "$patch" "$0"; } | sha256sum | cut -c1-16)
dir=$cache/criu-trace-$key
if [ ! -f "$dir/.ready" ]; then
	tmp=$(mktemp -d "$cache/criu-trace.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	cp -a "$src/." "$tmp/"
	patch -d "$tmp" -p1 --batch --forward --fuzz=0 --quiet < "$patch"
	make -C "$tmp" -j"$(nproc)" criu > "$tmp/.build.log" 2>&1 || {
		tail -n 40 "$tmp/.build.log" >&2
		exit 1
	}
	touch "$tmp/.ready"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	trap - EXIT
fi
mkdir -p "$top/build"
cp "$dir/criu/criu" "$top/build/criu-trace"
echo "criu-trace: $top/build/criu-trace (CRR_BENCH_CRIU=build/criu-trace CRR_LP_TRACE=DIR/lp)"
