#!/usr/bin/env bash
# Build CRIU 4.2.1 with criu-patches/ applied, in a cache directory keyed by
# the tarball, the patch series and this script, so an unchanged recipe is
# never built twice and a changed patch always is.
#
# usage: build-criu.sh [--print-dir] [OUTDIR]
#   OUTDIR receives a copy of the criu binary, the patched plugin headers
#   (criu-plugin.h, criu-log.h, log.h) and a link "criu-src" to the tree.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${CRIU_RDMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/criu-rdma}
patches=$top/criu-patches

series() {
	grep -v '^[[:space:]]*\(#\|$\)' "$patches/series"
}

key() {
	{
		cat "$0"
		series | while read -r p; do echo "$p"; cat "$patches/$p"; done
	} | sha256sum | cut -c1-16
}

dir="$cache/criu-$(key)"
if [ "${1:-}" = "--print-dir" ]; then
	echo "$dir"
	exit 0
fi
outdir=${1:-}

if [ ! -f "$dir/.ready" ]; then
	tarball=$("$top/scripts/fetch-criu.sh" "$cache/src")
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/criu-build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar -xf "$tarball" -C "$tmp" --strip-components=1
	for p in $(series); do
		if ! patch -d "$tmp" -p1 --batch --forward --fuzz=0 --quiet < "$patches/$p" > "$tmp/.patch.log" 2>&1; then
			echo "build-criu: criu-patches/$p does not apply to CRIU 4.2.1:" >&2
			cat "$tmp/.patch.log" >&2
			exit 1
		fi
		echo "build-criu: applied $p" >&2
	done
	start=$(date +%s)
	echo "build-criu: building patched CRIU in $dir" >&2
	make -C "$tmp" -j"$(nproc)" criu > "$tmp/.build.log" 2>&1 || {
		tail -n 40 "$tmp/.build.log" >&2
		echo "build-criu: CRIU build failed (full log: $tmp/.build.log)" >&2
		trap - EXIT
		exit 1
	}
	echo "built in $(( $(date +%s) - start )) s" > "$tmp/.ready"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	trap - EXIT
	echo "build-criu: done in $(( $(date +%s) - start )) s" >&2
fi

if [ -n "$outdir" ]; then
	mkdir -p "$outdir"
	# copy (not link): the guest sees the build tree over 9p
	cp -p "$dir/criu/criu" "$outdir/criu.tmp" && mv "$outdir/criu.tmp" "$outdir/criu"
	for h in criu-plugin.h criu-log.h log.h; do
		cp -p "$dir/criu/include/$h" "$outdir/$h"
	done
	ln -sfn "$dir" "$outdir/criu-src"
fi
