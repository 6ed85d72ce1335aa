#!/usr/bin/env bash
# Build CRIU's zdtm test programs, pycriu/crit and zdtm's helpers (umount2,
# zdtm_ct), and pack them into zdtm-tree.tar, inside the cached, patched CRIU tree that scripts/build-criu.sh
# made.  That tree is keyed by the CRIU recipe, so this build is too; a marker
# file makes a second call free.  The guest (same Debian release and libc)
# runs these binaries; it has no compiler.
#
# usage: build-zdtm.sh   -> prints the CRIU tree
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$("$top/scripts/build-criu.sh" --print-dir)
[ -f "$dir/.ready" ] || "$top/scripts/build-criu.sh" > /dev/null
if [ ! -f "$dir/.zdtm-ready" ]; then
	start=$(date +%s)
	echo "build-zdtm: building zdtm tests, crit and helpers in $dir" >&2
	log=$dir/.zdtm-build.log
	{
		make -C "$dir" -j"$(nproc)" lib crit &&
			make -C "$dir/test/zdtm" -j"$(nproc)" &&
			make -C "$dir/test" umount2 zdtm_ct
	} > "$log" 2>&1 || {
		tail -n 40 "$log" >&2
		echo "build-zdtm: zdtm build failed (full log: $log)" >&2
		exit 1
	}
	echo "built in $(($(date +%s) - start)) s" > "$dir/.zdtm-ready"
	echo "build-zdtm: done in $(($(date +%s) - start)) s" >&2
fi
# what the guest unpacks to run zdtm: one file reads much faster over 9p
# than the tree's thousands (the criu binary is all it needs of criu/)
if [ ! -f "$dir/zdtm-tree.tar" ]; then
	tar -C "$dir" --exclude=./criu --exclude=./.git --exclude=./zdtm-tree.tar.tmp \
		-cf "$dir/zdtm-tree.tar.tmp" . criu/criu
	mv "$dir/zdtm-tree.tar.tmp" "$dir/zdtm-tree.tar"
fi
echo "$dir"
