#!/usr/bin/env bash
# Live-migrate a loaded Redis between two Soft-RoCE guests (source host
# 192.168.77.1, target host 192.168.77.2), post-copy, while a client keeps
# writing and reading; once over RDMA and once over CRIU's TCP page server,
# and print the two side by side.
#
#   migrate-redis.sh [--mib N] [--transports "rdma tcp"] [--cut S] [--mtu N]
#                    [--runtime criu|runc] [--hold-ms MS] [--out DIR]
#
# --runtime runc: Redis runs as a runc container (test/redis/runc-lib.sh)
# and is migrated the way a container engine does it: both hosts install
# the criu-rdma package, /etc/criu/runc.conf names the transport, the
# source runs 'runc checkpoint --lazy-pages --page-server --status-fd', the
# target 'criu lazy-pages' and 'runc restore --lazy-pages'.  The default,
# criu, migrates the bare process with the build tree's criu.
#
# --mtu N: both hosts' eth0 get MTU N before the migration (default 1500;
# rxe's active_mtu follows: 1024 at 1500, 4096 from 4200 up); the target
# checks that frames of N bytes pass both ways.
#
# CRR_REDIS_TARGET_ENV="K=V ...": settings the target's lazy-pages daemon
# runs with (criu-rdma's CRIU_RDMA_*, for A/Bs such as bench/ANALYSIS.md's).
#
# --hold-ms MS: the target's daemon holds the background pull back for MS
# ms after the restore (--lazy-background-delay): Redis's faults in that
# window are served with the link otherwise idle, at Redis's own spacing.
# The report gives their wait apart from the faults' once the pull runs
# (the idle cross-guest fault the fault during the pull is set against).
#
# --cut S: the target host drops RoCE's UDP port both ways for S seconds
# shortly after the restore, while pages stream; the RDMA run must then
# pause, reconnect (counted) and pass every check all the same.
#
# Checks (exit status): DEBUG DIGEST before the freeze equals the target's
# once all pages are in, every acknowledged write is readable on the target,
# no read returned a wrong value, the client saw errors only in the freeze
# window, the source's copy is gone and holds no RDMA resources, and the RDMA
# run moved its pages by RDMA (counters) and none over TCP.  Timings are
# reported, not checked.  The report goes to stdout and to DIR/report.txt;
# it splits the downtime into phases (redis-phases.py says how each is
# timed) and gives the client's GET latency while pages stream in.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mib=64
transports="rdma tcp"
cut=
hold_ms=
mtu=1500
runtime=criu
out=$top/build/redis
while [ $# -gt 0 ]; do
	case $1 in
	--mib) mib=$2; shift 2 ;;
	--transports) transports=$2; shift 2 ;;
	--cut) cut=$2; shift 2 ;;
	--hold-ms) hold_ms=$2; shift 2 ;;
	--mtu) mtu=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) sed -n '2,41p' "$0" >&2; exit 2 ;;
	esac
done
case $runtime in criu | runc) ;; *) echo "migrate-redis: --runtime criu or runc, not '$runtime'" >&2; exit 2 ;; esac
[ -z "$hold_ms" ] || [[ $hold_ms =~ ^[1-9][0-9]{0,5}$ ]] ||
	{ echo "migrate-redis: --hold-ms takes milliseconds, 1 to 999999, not '$hold_ms'" >&2; exit 2; }
[ -n "$hold_ms" ] && [ -n "$cut" ] && { echo "migrate-redis: --cut holds the pull itself; not with --hold-ms" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
failed=0
check() { # CONDITION-RESULT MESSAGE
	if [ "$1" = 0 ]; then echo "  ok    $2"; else echo "  FAIL  $2"; failed=1; fi
}
num() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

run_one() {
	local t=$1 shared=$top/build/redis-shared rc=0
	rm -rf "$shared" "$out/$t"
	mkdir -p "$shared"
	echo "$mib" > "$shared/mib"
	echo "$t" > "$shared/transport"
	[ -n "$cut" ] && echo "$cut" > "$shared/cut"
	[ -n "$hold_ms" ] && echo "$hold_ms" > "$shared/hold-ms"
	echo "$mtu" > "$shared/mtu"
	echo "$runtime" > "$shared/runtime"
	# CRR_REDIS_TARGET_ENV ("K=V ..."): the target's lazy-pages daemon runs with these (bench A/Bs)
	[ -n "${CRR_REDIS_TARGET_ENV:-}" ] && printf 'export %s\n' $CRR_REDIS_TARGET_ENV > "$shared/target-env"
	test/vm/run-guest.sh --timeout "${CRR_REDIS_TIMEOUT:-1800}" --out "$out/$t" --pair \
		test/redis/redis-source.sh test/redis/redis-target.sh || rc=$?
	cat "$out/$t/source/job.log" "$out/$t/target/job.log"
	# (-a: the phases are timed from the logs' mtimes too)
	cp -a "$shared" "$out/$t/shared" 2> /dev/null
	return $rc
}

# report_one T: the checks and the numbers of one run, into $out/T.env
report_one() {
	local t=$1 s=$out/$t/shared
	local fault_pages=- background_pages=- fault_latency_p50_us=- fault_latency_p99_us=- tcp_page_server_used=1
	local fault_requests_uffd=- reconnects=0 paused_ms=-
	local fault_queue_us_p50=- fault_read_us_p50=- fault_copy_us_p50=-
	echo "--- $t"
	[ -f "$s/target.env" ] && . "$s/target.env"
	[ -f "$s/digest-source" ] && [ "$(cat "$s/digest-source")" = "$(cat "$s/digest-target" 2> /dev/null)" ]
	check $? "DEBUG DIGEST before the freeze = after the last page ($(cat "$s/digest-source" 2> /dev/null))"
	python3 - "$s/client.json" > "$out/$t.client" << 'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
print("writes_acked=%d acked_writes_lost=%d reads_ok=%d read_mismatches=%d errors=%d"
      % (c["writes_acked"], c["acked_writes_lost"], c["reads_ok"], c["read_mismatches"], c["errors"]))
print("errors_source=%d errors_target=%d" % (c["errors_source"], c["errors_target"]))
print("downtime_s=%.2f longest_target_stall_s=%.2f" % (c.get("downtime_s", -1), c["longest_target_stall_s"]))
# an error outside the freeze window is a failure of the migration
print("errors_in_window=%d errors_outside_window=%d" % (c["errors_in_window"], c["errors_outside_window"]))
EOF
	check $? "client summary"
	cat "$out/$t.client" 2> /dev/null | sed 's/^/  /'
	local writes_acked=0 acked_writes_lost=1 read_mismatches=1 downtime_s=-1 errors_outside_window=1
	local longest_target_stall_s=-
	eval "$(tr ' ' '\n' < "$out/$t.client" 2> /dev/null)"
	[ "$writes_acked" -gt 0 ] && [ "$acked_writes_lost" -eq 0 ]
	check $? "every acknowledged write ($writes_acked) is on the target"
	[ "$read_mismatches" -eq 0 ]
	check $? "no read returned a wrong value"
	[ "$errors_outside_window" -eq 0 ]
	check $? "client errors only in the freeze window (pause before the freeze to the first reply from the target)"
	[ -f "$s/source-done" ]
	check $? "the source's frozen copy is gone$([ "$t" = rdma ] && echo ' and holds no RDMA resources')"
	if [ "$t" = rdma ]; then
		[ "$fault_pages" != - ] && [ "$fault_pages" -gt 0 ] && [ "$background_pages" -gt 0 ] &&
			[ "$tcp_page_server_used" = 0 ]
		check $? "pages came over RDMA (fault $fault_pages, background $background_pages), none over TCP"
		if [ -n "$cut" ]; then
			[ "${reconnects:-0}" -ge 1 ]
			check $? "the link was cut for $cut s and the migration reconnected (reconnects ${reconnects:-0}, paused ${paused_ms:-?} ms)"
		fi
	fi
	local all_in=$s/t-lazy-done
	[ -f "$all_in" ] || all_in=$s/t-all-in
	{
		echo "downtime=$downtime_s"
		echo "stall=$longest_target_stall_s"
		echo "restore_to_last_page=$(num "$(cat "$s/t-restored")" "$(cat "$all_in")")"
		echo "busy=$(num "$(cat "$s/t-freeze")" "$(cat "$s/t-release")")"
		echo "fault_pages=$fault_pages background_pages=$background_pages uffd_faults=$fault_requests_uffd"
		echo "p50=$fault_latency_p50_us p99=$fault_latency_p99_us"
		echo "fault_parts=$fault_queue_us_p50/$fault_read_us_p50/$fault_copy_us_p50"
		python3 test/redis/redis-phases.py "$s" "$t"
	} > "$out/$t.env" 2> /dev/null
	[ "$(sed -n 's/^mtu_source=//p' "$out/$t.env")" = "$mtu" ] &&
		[ "$(sed -n 's/^mtu_target=//p' "$out/$t.env")" = "$mtu" ]
	check $? "both hosts ran with MTU $mtu"
}

for t in $transports; do
	run_one "$t" || { echo "migrate-redis: the $t run failed"; failed=1; }
done

# table TITLE "LABEL|KEY"...: one row per KEY of the .env files, a column per transport
table() {
	printf '\n%-50s' "$1"
	shift
	for t in $transports; do printf '%12s' "$t"; done
	echo
	for row in "$@"; do
		printf '%-50s' "${row%|*}"
		for t in $transports; do
			local v
			v=$(tr ' ' '\n' < "$out/$t.env" 2> /dev/null | sed -n "s/^${row#*|}=//p")
			printf '%12s' "${v:--}"
		done
		echo
	done
}

report=$out/report.txt
{
	echo "=== Redis live migration ($([ $runtime = runc ] && echo "runc container, criu-rdma package" ||
		echo "bare process")), $mib MiB dataset, two Soft-RoCE guests (QEMU/TCG), MTU $mtu, $(date -u +%F)"
	for t in $transports; do report_one "$t"; done
	table "" "downtime seen by the client (s)|downtime" "longest GET stall on the target (s)|stall" \
		"restore to last page (s)|restore_to_last_page" \
		"source busy, freeze to release (s)|busy" "pages by fault|fault_pages" "pages by background|background_pages" \
		"uffd faults (CRIU log)|uffd_faults" "fault latency p50 (us)|p50" "fault latency p99 (us)|p99"
	table "downtime by phase (s), each from the row above" \
		"(dump start -> tree frozen: Redis still serves)|ph_startup_s" \
		"tree frozen -> dump done, source serving|ph_dump_s" \
		"-> images readable on the target (2 clocks)|ph_images_s" \
		"-> lazy-pages daemon ready (0.5 s wait + start)|ph_daemon_s" \
		"-> transport connected|ph_connect_s" \
		"-> restore done|ph_restore_s" \
		"-> the client tries the target (its own delay)|ph_switch_s" \
		"-> first reply from the target|ph_reply_s" \
		"= tree frozen -> first reply|ph_total_s" \
		"client's last reply from the source -> freeze|last_source_reply_to_freeze_s" \
		"criu restore (daemon ready -> restore done)|restore_cmd_s"
	table "pulling the pages (after the restore)" \
		"fault p50 parts: slot wait/READ/copy (us, RDMA)|fault_parts" \
		"fault wait p50 (ms, CRIU log, both)|log_fault_p50_ms" "fault wait p99 (ms, CRIU log, both)|log_fault_p99_ms" \
		"  faults while the pull was held back (--hold-ms)|held_faults" \
		"  their wait p50 (ms, link otherwise idle)|held_fault_p50_ms" \
		"  faults once the pull ran|pull_faults" "  their wait p50 (ms)|pull_fault_p50_ms" \
		"target GETs while pages stream in|pull_gets" \
		"  their latency p50 (ms)|pull_get_p50_ms" "  p99 (ms)|pull_get_p99_ms" "  max (ms)|pull_get_max_ms" \
		"target GETs after the last page|after_pull_gets" \
		"  their latency p50 (ms)|after_pull_get_p50_ms" "  p99 (ms)|after_pull_get_p99_ms"
	table "network and clocks" \
		"eth0 MTU, source|mtu_source" "eth0 MTU, target|mtu_target" \
		"rxe active_mtu, source|active_mtu_source" "rxe active_mtu, target|active_mtu_target" \
		"source clock - target clock (s)|clock_source_minus_target_s" \
		"  its error bound (s; offsets via 9p mtimes)|clock_err_s" \
		"criu exec -> log start, dump (s)|dump_exec_s" "criu exec -> log start, lazy-pages (s)|lazy_exec_s"
	echo
	echo "Phases: stamps of one host's clock each (CRIU's log stamps anchored at the log's"
	echo "start); only 'images readable' compares the two hosts' clocks, through their"
	echo "measured offsets from the host's (redis-phases.py).  A negative phase came"
	echo "before the row above it (the daemon connects while the restore runs)."
} > "$report"
grep -q "  FAIL  " "$report" && failed=1
[ $failed -eq 0 ] && echo "RESULT: all integrity checks passed" >> "$report" || echo "RESULT: FAILED" >> "$report"
cat "$report"
exit $failed
