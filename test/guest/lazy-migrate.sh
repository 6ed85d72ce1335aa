#!/bin/bash
# Lazy (post-copy) migration inside one guest, over RDMA (default) or TCP:
#   lazy-migrate.sh [rdma|tcp] [MIB] [WORKLOAD (lazy-pattern, lazy-stress)] [WORKLOAD_ARG]
# CRR_FAULT_AROUND=N passes --lazy-fault-around N to the lazy-pages daemon,
# CRR_BG_DELAY=MS --lazy-background-delay MS, CRR_LAZY_ARGS more options;
# CRR_EXPECT_PREFETCH=1: the workload scans, and prefetch must have served
# most of it (both transports: CRIU's counters; RDMA: the plugin's too);
# CRR_RDMA_SELECT says how RDMA is selected: flag (default: --rdma), option
# (--lazy-pages-transport rdma), config (a config file's 'rdma' key; also
# CRR_RDMA_VIA_CONFIG=1), config-option (its 'lazy-pages-transport rdma').
# CRR_EXPECT_EXPORT=zero-copy (default for rdma) | copy | fallback: how the
# source must have exported the memory (checked in its log, its memory and
# the task's pinned pages while serving).  CRR_WORKLOAD_USER=NAME runs the
# workload as that user, with CRR_WORKLOAD_MEMLOCK_KB as its memlock limit.
# A workload fills MIB with a VA-derived pattern; it is dumped with
# --lazy-pages, restored with empty memory and verifies every page in
# random order while the pages are still remote.  For RDMA the transport's
# counters must show that the pages came by RDMA READ (fault and background).
# CRR_CRIU=PATH runs that criu instead of build/criu, CRR_LIBDIR=DIR passes
# --libdir DIR instead of build/plugin (set but empty: no --libdir, criu
# loads its default plugin directory), and CRR_EXPECT_PLUGIN=PATH: the
# dump and the lazy-pages daemon must have loaded the plugin from PATH.
# CRR_DUMP_ADDR / CRR_LAZY_ADDR: the --address of the dump / of the daemon
# (default this host's; set but empty: none, and the daemon then has no
# --port either: both come from the source's record in the image directory).
# CRR_EXPECT_SERVED="A B": the source must listen on these and record them;
# CRR_EXPECT_TRIED_FIRST=A: the daemon (no address) must have tried A first.
set -u
transport=${1:-rdma}
mib=${2:-64}
workload=${3:-lazy-pattern}
workload_arg=${4:-}
top=$PWD
criu=${CRR_CRIU:-$top/build/criu}
plugins=${CRR_LIBDIR-$top/build/plugin}
libdir=()
[ -n "$plugins" ] && libdir=(--libdir "$plugins")
d=$(mktemp -d /tmp/lazy-$transport.XXXXXX)
img=$d/img
mkdir -p $img
port=7480
dump= lazy= pid=
fail() {
	echo "FAIL: $*"
	for f in $img/*.log $d/workload.log; do [ -s $f ] && { echo "--- $f"; tail -n 25 $f; }; done
	# leave nothing behind for the next test: no server on the port, no frozen task
	kill -9 $dump $lazy 2>/dev/null
	pkill -9 -f "^$top/build/test/tools/$workload $d"
	exit 1
}
rdma=
select=${CRR_RDMA_SELECT:-flag}
[ "${CRR_RDMA_VIA_CONFIG:-0}" = 1 ] && select=config
if [ "$transport" = rdma ]; then
	case $select in
	flag) rdma=--rdma ;;
	option) rdma="--lazy-pages-transport rdma" ;;
	# a CRIU configuration file instead of the flag, as runc and Podman would
	config)
		printf '# selects the RDMA lazy-pages transport\nrdma\n' > $d/criu.conf
		rdma="--config $d/criu.conf"
		;;
	config-option)
		printf '# selects the RDMA lazy-pages transport\nlazy-pages-transport rdma\n' > $d/criu.conf
		rdma="--config $d/criu.conf"
		;;
	*) fail "CRR_RDMA_SELECT=$select: flag, option, config or config-option" ;;
	esac
	echo "RDMA selected by: $select ($rdma)"
fi
export CRIU_RDMA_STATS=$d/stats

# in a pid namespace of its own, so the restore finds its pid free
run_workload=(unshare -p -f setsid $top/build/test/tools/$workload $d $mib $workload_arg)
if [ -n "${CRR_WORKLOAD_USER:-}" ]; then
	# the namespace's init stays root: CRIU gets the namespace's /proc
	# through it (an unprivileged init could not mount one)
	chmod 0777 $d
	run_workload=(unshare -p -f setsid sh -c "ulimit -l ${CRR_WORKLOAD_MEMLOCK_KB:-64} && setpriv \
		--reuid=$CRR_WORKLOAD_USER --regid=$(id -g $CRR_WORKLOAD_USER) --clear-groups \
		$top/build/test/tools/$workload $d $mib $workload_arg & wait")
fi
"${run_workload[@]}" < /dev/null > $d/workload.log 2>&1 &
for _ in $(seq 300); do [ -f $d/ready ] && break; sleep 0.1; done
[ -f $d/ready ] || fail "workload did not start"
pid=$(pgrep -f "^$top/build/test/tools/$workload $d" | head -n 1)
[ -n "$pid" ] || fail "no workload pid"
tree=$pid
[ -n "${CRR_WORKLOAD_USER:-}" ] && tree=$(ps -o ppid= -p $pid)

t0=$(date +%s.%N)
dump_addr=${CRR_DUMP_ADDR-$CRR_IP}
lazy_where=(--address "${CRR_LAZY_ADDR-$CRR_IP}" --port $port)
[ -n "${CRR_LAZY_ADDR-$CRR_IP}" ] || lazy_where=()
$criu dump -t $tree -D $img --lazy-pages $rdma ${dump_addr:+--address $dump_addr} --port $port "${libdir[@]}" \
	-o dump.log -v4 &
dump=$!
# images are written once the dump starts serving (over RDMA: all is exported)
ready_line="Starting lazy pages server\|Lazy pages transfer"
[ "$transport" = rdma ] && ready_line="rdma: export: \|Lazy pages transfer"
for _ in $(seq 600); do
	grep -q "$ready_line" $img/dump.log 2>/dev/null && break
	kill -0 $dump 2>/dev/null || break
	sleep 0.1
done
kill -0 $dump 2>/dev/null || fail "dump exited early"
sleep 0.5

# How the source holds the memory while serving: CRIU's own peak RSS (a
# copy export holds every lazy page a second time) and the pages pinned in
# the frozen task (a zero-copy export pins the task's own pages).
check_export() {
	local hwm pin kb=$((mib * 1024)) log=$img/dump.log
	hwm=$(awk '/^VmHWM/ { print $2 }' /proc/$dump/status)
	pin=$(awk '/^VmPin/ { print $2 }' /proc/$pid/status)
	echo "source while serving: criu peak RSS $hwm kB, pinned in the task $pin kB"
	echo "source_hwm_kb=$hwm task_pin_kb=$pin" > $d/source-mem
	grep "zero-copy export\|exported task\|export: " $log
	case ${CRR_EXPECT_EXPORT:-zero-copy} in
	zero-copy)
		grep -q "export: 0.0 MiB copied" $log || fail "pages were copied"
		grep -q "0 tasks refused" $log || fail "a task refused the zero-copy export"
		grep -q "lazy pages exported in place" $log || fail "CRIU spliced the lazy pages"
		if [ "$workload" = lazy-pattern ]; then
			# sparse: every other page is a hole, which must not be pinned
			local want=$kb
			[ "$workload_arg" = sparse ] && want=$((kb / 2))
			[ "$pin" -ge $((want * 9 / 10)) ] || fail "only $pin kB pinned in the task, not its $want kB"
			[ "$pin" -le $((want * 11 / 10)) ] || fail "$pin kB pinned in the task, more than its $want kB"
			[ "$hwm" -lt $((kb / 2)) ] || fail "CRIU's peak RSS $hwm kB: it holds a copy of $want kB"
		fi ;;
	copy)
		grep -q "zero-copy export unavailable" $log || fail "zero-copy was not switched off"
		grep -q "export: 0.0 MiB zero-copy" $log || fail "some pages were exported zero-copy"
		[ "$pin" -eq 0 ] || fail "$pin kB pinned in the task by the copy export"
		[ "$workload" != lazy-pattern ] || [ "$hwm" -ge $((kb * 9 / 10)) ] ||
			fail "CRIU's peak RSS $hwm kB is below the $kb kB it copied: the check cannot tell" ;;
	fallback)
		grep "zero-copy export not possible" $log || fail "no task fell back to the copy"
		grep -q "export: 0.0 MiB copied" $log && fail "nothing was copied after the fallback"
		[ "$pin" -eq 0 ] || fail "$pin kB still pinned in the task after its registration failed" ;;
	esac
	if [ -n "${CRR_WORKLOAD_USER:-}" ]; then
		# the lifted memlock limit is back to what the task had
		grep "Max locked memory" /proc/$pid/limits
		grep -q "Max locked memory *$((CRR_WORKLOAD_MEMLOCK_KB * 1024)) *$((CRR_WORKLOAD_MEMLOCK_KB * 1024))" \
			/proc/$pid/limits || fail "the task's memlock limit was not restored"
		[ "$(stat -c %U /proc/$pid)" = "$CRR_WORKLOAD_USER" ] || fail "the workload does not run as $CRR_WORKLOAD_USER"
	fi
}
[ "$transport" = rdma ] && check_export

# the plugin a criu process has loaded: PATH must be mapped in it
check_plugin() {
	[ -n "${CRR_EXPECT_PLUGIN:-}" ] || return 0
	grep -q " $CRR_EXPECT_PLUGIN\$" /proc/$1/maps || {
		grep "criu-rdma" /proc/$1/maps
		fail "$2 did not load $CRR_EXPECT_PLUGIN"
	}
	echo "$2 loaded $CRR_EXPECT_PLUGIN"
}
check_plugin $dump "the dump"

fault_around=${CRR_FAULT_AROUND:-1}
for a in ${CRR_EXPECT_SERVED:-}; do
	grep -q "rdma: listening on $a:$port," $img/dump.log || fail "the source does not listen on $a"
	grep -q "^$a $port\$" $img/rdma-serve.txt || fail "the source did not record $a"
done
[ -z "${CRR_EXPECT_SERVED:-}" ] || echo "source serves on and recorded: $(tr '\n' ' ' < $img/rdma-serve.txt)"
$criu lazy-pages --page-server $rdma "${lazy_where[@]}" -D $img "${libdir[@]}" \
	--lazy-fault-around $fault_around --lazy-background-delay ${CRR_BG_DELAY:-0} ${CRR_LAZY_ARGS:-} \
	-o lazy.log -v4 &
lazy=$!
# the restore connects to the daemon's socket: wait for it (a busy guest can take longer than any fixed sleep)
for _ in $(seq 300); do [ -S $img/lazy-pages.socket ] && break; kill -0 $lazy 2> /dev/null || break; sleep 0.1; done
[ -S $img/lazy-pages.socket ] || fail "the lazy-pages daemon did not start"
check_plugin $lazy "the lazy-pages daemon"
$criu restore --lazy-pages -D $img -d "${libdir[@]}" -o restore.log -v4 || fail "restore failed"
t1=$(date +%s.%N)
touch $d/check
for _ in $(seq 1800); do [ -f $d/result ] && break; sleep 0.1; done
[ -f $d/result ] || fail "restored workload gave no result"
cat $d/result
grep -q "^OK" $d/result || fail "restored memory differs"

wait $lazy || fail "lazy-pages daemon failed"
wait $dump || fail "dump (source) failed"
t2=$(date +%s.%N)
awk -v a=$t0 -v b=$t1 -v c=$t2 'BEGIN { printf "dump+restore %.2f s; all pages in %.2f s after restore\n", b - a, c - b }'

if [ "$transport" = rdma ]; then
	[ -f $d/stats ] || fail "no RDMA transport counters"
	cat $d/stats
	. $d/stats
	total=$((fault_pages + background_pages + prefetch_pages))
	expect=$((mib * 256))
	[ "$workload_arg" = sparse ] && expect=$((expect / 2))
	[ "$fault_pages" -gt 0 ] || fail "no page came by fault over RDMA"
	[ "$background_pages" -gt 0 ] || fail "no page came by background pull over RDMA"
	# a fault fetches its window: never more, and more than one page on average
	[ "$fault_pages" -le $((fault_requests * fault_around)) ] || fail "a fault fetched more than $fault_around pages"
	if [ "$fault_around" -gt 1 ]; then
		[ "$fault_pages" -gt "$fault_requests" ] || fail "fault-around $fault_around fetched single pages"
	else
		[ "$fault_pages" -eq "$fault_requests" ] || fail "a fault fetched more than its page"
	fi
	# (a workload that drops or moves pages while remote needs fewer)
	[ "$workload" != lazy-pattern ] || [ "$total" -ge "$expect" ] || fail "only $total of >= $expect pages came over RDMA"
	grep -q "PS_IOV\|Disconnect from the page server" $img/lazy.log && fail "TCP page server used"
	# the deep pull: CRIU kept several background requests out at once (--lazy-pages-inflight)
	want_inflight=$(echo "${CRR_LAZY_ARGS:-}" | sed -n 's/.*--lazy-pages-inflight \([0-9]*\).*/\1/p')
	# (checked with several tasks, which one round of the pull asks for at
	# once; a single task's next request may wait for the CPU that the
	# software RDMA device is using; and only when the pull had work)
	if [ "${want_inflight:-4}" -gt 1 ] && [ "$tasks_done" -ge 2 ] && [ "$background_requests" -ge 16 ]; then
		[ "$background_in_flight_max" -gt 1 ] || fail "one background request at a time"
	elif [ "${want_inflight:-4}" = 1 ]; then
		[ "$background_in_flight_max" -eq 1 ] || fail "--lazy-pages-inflight 1: $background_in_flight_max at once"
	fi
	# CRR_EXPECT_PARTS=1: faults were about all through the pull (the caller
	# holds them so with CRIU_RDMA_FAULT_BG_HOLD_MS), so background requests
	# larger than CRIU_RDMA_HANDOVER_KB went to CRIU in parts, which the
	# pattern check above found in place
	if [ "${CRR_EXPECT_PARTS:-0}" = 1 ]; then
		echo "background requests handed to CRIU in parts: $background_parts parts before their last"
		[ "$background_parts" -gt 0 ] || fail "no background request was handed to CRIU in parts"
	fi
	# the poster (CRIU_RDMA_POST_THREAD, default 1) posted the background
	# READs; switched off, none went through it
	if [ "${CRIU_RDMA_POST_THREAD:-1}" = 1 ]; then
		[ "$reads_posted_aside" -gt 0 ] || fail "no background READ was posted by the poster thread"
	else
		[ "$reads_posted_aside" -eq 0 ] || fail "CRIU_RDMA_POST_THREAD=0, yet $reads_posted_aside READs went to the poster"
	fi
	# one copy: CRIU took every page from where its READ put it
	[ "${CRIU_RDMA_ONE_COPY:-1}" = 0 ] || [ "$copied_bytes" = 0 ] ||
		fail "the plugin copied $copied_bytes bytes before UFFDIO_COPY"
	# per-task completion reaches the source
	[ "$tasks_done" -ge 1 ] || fail "the target reported no task complete"
	grep "target has every page of task" $img/dump.log || fail "the source never heard a task was complete"
	grep "export: \|serving\|target finished" $img/dump.log
	grep "lazy pages over RDMA\|histogram" $img/lazy.log
fi
# A scan is served by faults (the pull held back) and by prefetch along
# it: most pages prefetched, most of those gone past by the task, and far
# fewer faults than pages.
if [ "${CRR_EXPECT_PREFETCH:-0}" = 1 ]; then
	line=$(grep "prefetch: " $img/lazy.log | tail -n 1)
	echo "$line"
	read -r pf_pages pf_reqs pf_used <<< "$(echo "$line" | sed -n 's/.*prefetch: \([0-9]*\) pages in \([0-9]*\) requests.*, \([0-9]*\) of them gone past.*/\1 \2 \3/p')"
	[ -n "$pf_pages" ] || fail "no prefetch counters in the lazy-pages log"
	pages=$((mib * 256))
	[ "$pf_pages" -ge $((pages / 2)) ] || fail "only $pf_pages of $pages pages prefetched along the scan"
	[ "$pf_used" -ge $((pf_pages / 2)) ] || fail "only $pf_used of $pf_pages prefetched pages were gone past"
	faults=$(grep -c "#PF at" $img/lazy.log)
	echo "page faults handled: $faults for $pages pages"
	[ "$faults" -le $((pages / 8)) ] || fail "$faults page faults for a scan of $pages pages"
	if [ "$transport" = rdma ]; then
		[ "$prefetch_pages" -ge "$pf_pages" ] || fail "the plugin saw $prefetch_pages prefetched pages, CRIU $pf_pages"
		[ "$fault_requests" -le $((pages / 8)) ] || fail "$fault_requests fault requests over RDMA for a scan"
	fi
fi
# A sparse area (every other page a hole: one range per page) is pulled
# many ranges per request (--lazy-request-ranges, default 64), not one
# request per page; with --lazy-request-ranges 1, one range each.  Summed
# over the tasks from CRIU's log, and over RDMA the plugin's count agrees.
if [ "$workload_arg" = sparse ]; then
	read -r ranges reqs <<< "$(sed -n 's/.*background: \([0-9]*\) ranges in \([0-9]*\) requests.*/\1 \2/p' $img/lazy.log |
		awk '{ r += $1; q += $2 } END { print r + 0, q + 0 }')"
	echo "background: $ranges ranges in $reqs requests (CRIU)"
	[ "$reqs" -gt 0 ] || fail "no background request counters in the lazy-pages log"
	want_ranges=$(echo "${CRR_LAZY_ARGS:-}" | sed -n 's/.*--lazy-request-ranges \([0-9]*\).*/\1/p')
	if [ "${want_ranges:-64}" = 1 ]; then
		[ "$ranges" -eq "$reqs" ] || fail "--lazy-request-ranges 1: $ranges ranges in $reqs requests"
	else
		[ "$ranges" -ge $((reqs * 8)) ] || fail "a sparse area took $reqs requests for $ranges ranges"
	fi
	if [ "$transport" = rdma ]; then
		echo "background: $background_ranges ranges in $background_requests requests (plugin)"
		[ "$background_ranges" -eq "$ranges" ] && [ "$background_requests" -eq "$reqs" ] ||
			fail "the plugin counted $background_ranges ranges in $background_requests requests"
	fi
fi
# Background requests of at most --lazy-request-max KiB (default 256): no
# read asked of the transport and no copy into the task was larger (CRIU
# logs each range it reads and each UFFDIO_COPY; a prefetch is at most
# --lazy-prefetch's 64 pages, 256 KiB), and, with the option given,
# requests still grew past the first 64 KiB up to it.  Growth is read from
# the reads: a transport may hand a large read over in parts, so a copy
# need not be as large as its request.
want_max=$(echo "${CRR_LAZY_ARGS:-}" | sed -n 's/.*--lazy-request-max \([0-9]*\).*/\1/p')
largest=$(sed -n 's/.*uffd_copy: 0x[0-9a-f]*\/\([0-9]*\)$/\1/p' $img/lazy.log | sort -n | tail -n 1)
largest_read=$(sed -n 's/.* Read [0-9a-f]* \([0-9]*\) pages$/\1/p' $img/lazy.log | sort -n | tail -n 1)
largest_read=$((${largest_read:-0} * 4096))
echo "largest read: $largest_read bytes, largest copy into the task: ${largest:-none} bytes" \
	"(--lazy-request-max ${want_max:-256, the default})"
[ -n "$largest" ] || fail "no uffd_copy lines in the lazy-pages log"
[ "$largest_read" -gt 0 ] || fail "no reads in the lazy-pages log"
for n in "$largest" "$largest_read"; do
	[ "$n" -le $((${want_max:-256} * 1024)) ] || fail "a read or copy of $n bytes, over --lazy-request-max ${want_max:-256}"
done
[ -z "$want_max" ] || [ "$want_max" -le 64 ] || [ "$largest_read" -gt 65536 ] ||
	fail "background requests never grew past 64 KiB"
if [ -n "${CRR_EXPECT_TRIED_FIRST:-}" ]; then
	grep "trying the source at" $img/lazy.log | sed 's/^([0-9. ]*) //'
	grep -q "trying the source at ${CRR_EXPECT_TRIED_FIRST}:$port (1 of" $img/lazy.log ||
		fail "the daemon did not try ${CRR_EXPECT_TRIED_FIRST} first from the record"
fi
echo "PASS: $transport lazy migration of $mib MiB ($workload)"
