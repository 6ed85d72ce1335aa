#!/bin/bash
# Builds the libFuzzer harness (clang, ASan + UBSan) over the plugin's
# decoders and validators and runs it.
#   test/fuzz/run-fuzz.sh SECONDS      fuzz for SECONDS (the suite runs 60)
#   test/fuzz/run-fuzz.sh --seeds      rewrite the seed corpus in test/fuzz/seeds
# New inputs go to build/fuzz/corpus (kept between runs), crashes to
# build/fuzz/crash-*; a crash fails the run.  Needs a configured build/
# (for the generated protobuf code): meson setup build.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/fuzz
cc=${CLANG:-clang-14}
mkdir -p "$out/corpus"
src=("$top/plugin/ctl_proto.c" "$top/plugin/ctl_auth.c" "$top/plugin/export_table.c" \
	"$top/plugin/serve_addrs.c" "$top/build/proto/rdma-ctl.pb-c.c")
[ -f "$top/build/proto/rdma-ctl.pb-c.c" ] || ninja -C "$top/build" proto/rdma-ctl.pb-c.c
flags=(-std=gnu11 -D_GNU_SOURCE -g -O1 -I"$top/plugin" -I"$top/build/proto" $(pkg-config --cflags libnl-3.0))
libs=($(pkg-config --libs libprotobuf-c nettle libnl-3.0 libnl-route-3.0))

if [ "${1:-}" = --seeds ]; then
	$cc "${flags[@]}" -o "$out/make-seeds" "$top/test/fuzz/make_seeds.c" "${src[@]}" "${libs[@]}"
	mkdir -p "$top/test/fuzz/seeds"
	"$out/make-seeds" "$top/test/fuzz/seeds"
	ls -l "$top/test/fuzz/seeds"
	exit 0
fi
secs=${1:?usage: run-fuzz.sh SECONDS | --seeds}
$cc "${flags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-o "$out/fuzz-ctl" "$top/test/fuzz/fuzz_ctl.c" "${src[@]}" "${libs[@]}"
cd "$out"
# -rss_limit_mb: a table of many chunks is fine, a runaway is not
"$out/fuzz-ctl" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -max_len=65536 \
	-artifact_prefix="$out/" "$out/corpus" "$top/test/fuzz/seeds" 2>&1 | tail -n 25
rc=${PIPESTATUS[0]}
[ $rc -eq 0 ] && echo "fuzz: no crash in $secs s" || echo "fuzz: FAILED (exit $rc), see $out/crash-*"
exit $rc
