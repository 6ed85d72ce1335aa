#!/bin/bash
# CRIU's own zdtm tests, the set CRIU's CI runs lazily, migrated post-copy
# inside this guest:
#   zdtm-lazy.sh rdma         --lazy-migrate over --rdma (dump serves over RDMA,
#                             zero-copy: the tasks' own pages)
#   zdtm-lazy.sh rdma-copy    the same with the copy export (CRIU_RDMA_ZERO_COPY=0)
#   zdtm-lazy.sh tcp          --lazy-migrate over CRIU's TCP page server
#   zdtm-lazy.sh rdma-remote  --remote-lazy-pages over --rdma, i.e. a plain
#                             dump served afterwards by
#                             'criu page-server --lazy-pages --rdma'
# Over RDMA every passing test must also have transport counters showing its
# lazy pages came over RDMA (test/zdtm/criu-rdma-wrapper.sh records them),
# and export counters showing how the source held them: zero-copy (the
# tasks' own pages) for a dump, copied for a page server (which holds pages
# it received, not tasks).
# Writes a pass/fail line per test to $CRR_OUT/zdtm-MODE.txt.
# CRR_ZDTM_TESTS overrides the test pattern, CRR_ZDTM_FLAVORS the flavors.
set -uo pipefail
mode=${1:?usage: zdtm-lazy.sh rdma|rdma-copy|tcp|rdma-remote}
cd "$CRR_TOP"
# the lazy set of CRIU's CI (scripts/ci/run-ci-tests.sh)
tests=${CRR_ZDTM_TESTS:-'.*(maps0|uffd-events|lazy-thp|futex|fork).*'}
exclude=(-x maps04 -x cmdlinenv00 -x maps007)
# A lazy-migrate dump keeps the tree frozen until its last page is served,
# so the restored copy needs PIDs of its own: the 'ns' flavor (own PID, net,
# mount namespaces) for lazy-migrate; the remote flow's dump ends the tree.
flavors=${CRR_ZDTM_FLAVORS:-$([ "$mode" = rdma-remote ] && echo h || echo ns)}

# zdtm runs from a guest-local copy: tests that map files of their own
# directory shared fail on 9p.  Keep timestamps so make sees built tests.
src=$(readlink -f build/criu-src)
[ -f "$src/.zdtm-ready" ] || { echo "zdtm is not built in $src (test/zdtm/build-zdtm.sh)"; exit 1; }
tree=/tmp/criu-zdtm
if [ ! -d $tree ]; then
	mkdir -p $tree && tar -C $tree -xf "$src/zdtm-tree.tar" || exit 1
fi

# zdtm runs CRIU in a network namespace of its own (zdtm_ct), but rxe serves
# only the initial one: pin it and let the plugin create its rdma_cm ids there.
if [ ! -e /run/crr-init-net ]; then
	touch /run/crr-init-net && mount --bind /proc/self/ns/net /run/crr-init-net || exit 1
fi
export CRIU_RDMA_NETNS=/run/crr-init-net

stats=$CRR_OUT/zdtm-$mode-stats
rm -rf "$stats"
export CRR_ZDTM_STATS=$stats
case $mode in
rdma) flow=(--lazy-migrate) bin=$CRR_TOP/test/zdtm/criu-rdma-wrapper.sh ;;
rdma-copy)
	flow=(--lazy-migrate) bin=$CRR_TOP/test/zdtm/criu-rdma-wrapper.sh
	export CRIU_RDMA_ZERO_COPY=0 ;;
rdma-remote) flow=(--remote-lazy-pages) bin=$CRR_TOP/test/zdtm/criu-rdma-wrapper.sh ;;
tcp) flow=(--lazy-migrate) bin=$CRR_TOP/build/criu ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac

log=$CRR_OUT/zdtm-$mode.log
(cd $tree/test && PYTHONUNBUFFERED=1 ./zdtm.py run -T "$tests" "${exclude[@]}" "${flow[@]}" -f "$flavors" --keep-going \
	--criu-bin "$bin") > "$log" 2>&1
zrc=$?
# the CRIU logs of failed tests (zdtm keeps their image directories)
if [ -d $tree/test/dump ]; then
	(cd $tree/test/dump && find . -name '*.log' | tar -cf - -T -) | tar -C "$CRR_OUT" --transform "s|^\.|zdtm-$mode-failed|" -xf -
fi
grep -E '^(=+ Run|[=#]+ Test|Skipping|#+ .*TEST)' "$log"

# ", zero-copy N KiB" or ", copied N KiB" if every export of test $1 went
# the way this mode must, else "; FAIL: ..." (and bad=1).
export_verdict() {
	local f zc=0 cp=0 refused=0 files
	files=$(ls "$stats/source/${1//\//_}".* 2> /dev/null)
	[ -n "$files" ] || { echo "; FAIL: no export counters"; return; }
	for f in $files; do
		zc=$((zc + $(sed -n 's/^export_zero_copy_bytes=//p' "$f")))
		cp=$((cp + $(sed -n 's/^export_copy_bytes=//p' "$f")))
		refused=$((refused + $(sed -n 's/^export_refused_tasks=//p' "$f")))
	done
	if [ "$mode" = rdma ] && { [ $cp -ne 0 ] || [ $refused -ne 0 ] || [ $zc -eq 0 ]; }; then
		echo "; FAIL: export not zero-copy: $zc bytes zero-copy, $cp copied, $refused tasks refused"
	elif [ "$mode" != rdma ] && { [ $zc -ne 0 ] || [ $cp -eq 0 ]; }; then
		echo "; FAIL: the export must be a copy here: $zc bytes zero-copy, $cp copied"
	elif [ "$mode" = rdma ]; then
		echo ", zero-copy $((zc / 1024)) KiB"
	else
		echo ", copied $((cp / 1024)) KiB"
	fi
}

# One line per test: PASS/FAIL/SKIP, and for RDMA the counters' verdict.
report=$CRR_OUT/zdtm-$mode.txt
: > "$report"
bad=0
passed=0
while read -r t res; do
	line="$res $t"
	if [ "$res" = PASS ] && [ "$mode" != tcp ]; then
		# every lazy-pages run of this test: all pages over RDMA, some pages
		# (<test>.<pid>; not the per-fault trace beside it, <test>.<pid>.faults)
		files=$(ls "$stats/${t//\//_}".* 2> /dev/null | grep -v '\.faults$')
		if [ -z "$files" ]; then
			line="FAIL $t (no RDMA transport counters: not served over RDMA)"
			bad=1
		else
			pages=0
			for f in $files; do
				grep -qx transport=rdma "$f" || { line="FAIL $t (counters are not RDMA's)"; bad=1; }
				pages=$((pages + $(sed -n 's/^fault_pages=//p' "$f") + $(sed -n 's/^background_pages=//p' "$f")))
			done
			[ $pages -gt 0 ] || { line="FAIL $t (no page came over RDMA)"; bad=1; }
			[ "${line%% *}" = PASS ] && line="$line (rdma pages: $pages$(export_verdict "$t"))"
		fi
	fi
	case $line in *"; FAIL:"*) line="FAIL ${line#PASS }"; bad=1 ;; esac
	[ "${line%% *}" = PASS ] && passed=$((passed + 1))
	echo "$line" >> "$report"
done < <(sed -n -E 's/^[=#]+ Test (zdtm\/[^ ]+) (PASS|FAIL).*/\1 \2/p; s/^Skipping (zdtm\/[^ ]+) .*/\1 SKIP/p' "$log" | sort -u)

echo "--- zdtm over $mode:"
cat "$report"
if [ $zrc -ne 0 ]; then
	echo "zdtm.py failed (exit $zrc); last lines of $log:"
	tail -n 80 "$log"
	exit 1
fi
[ $passed -gt 0 ] || { echo "no zdtm test passed"; exit 1; }
exit $bad
