#!/usr/bin/env bash
# The whole criu-rdma test suite, from a fresh clone:
#   host:  dependencies, build (patched CRIU + plugin), unit tests,
#          'criu check', a broken patch must stop the build, the .deb;
#   guest: Soft-RoCE tests in one QEMU guest and across two guests.
# Prints one line per stage and a summary; exits non-zero if anything failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=${CRR_TEST_OUT:-$top/build/test-results}
rm -rf "$out"
mkdir -p "$out"
summary=()
failed=0

# stage NAME CMD...: runs CMD with its output in $out/NAME.log
stage() {
	local name=$1 start rc
	shift
	start=$(date +%s)
	echo "=== $name"
	"$@" > "$out/$name.log" 2>&1
	rc=$?
	local t=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		summary+=("PASS  $name (${t}s)")
	else
		summary+=("FAIL  $name (${t}s, exit $rc, log $out/$name.log)")
		failed=1
		tail -n 60 "$out/$name.log"
	fi
	return $rc
}

build() {
	[ -f build/build.ninja ] || meson setup build
	ninja -C build
}

format_check() {
	clang-format --dry-run -Werror plugin/*.[ch] test/unit/*.c test/tools/*.[ch] test/fuzz/*.c bench/tools/*.c
}

host_criu_check() {
	build/criu check | tee /dev/stderr | grep -q "Looks good"
}

# --rdma on a machine without any RDMA device (this host): the dump fails
# with a clear error before anything is frozen, and the task keeps running.
host_no_rdma_device() {
	local d pid rc=0
	if [ -e /dev/infiniband/rdma_cm ]; then
		echo "SKIP: this host has RDMA (/dev/infiniband/rdma_cm); the case needs a host without"
		return 0
	fi
	d=$(mktemp -d)
	setsid sleep 600 < /dev/null > /dev/null 2>&1 &
	pid=$!
	sleep 0.2
	if build/criu dump -t $pid -D $d --lazy-pages --rdma --address 127.0.0.1 --port 7777 \
		--libdir "$top/build/plugin" -o dump.log -v4; then
		echo "FAIL: the dump succeeded without an RDMA device"; rc=1
	fi
	grep "rdma" $d/dump.log
	grep -q "cannot open the RDMA CM" $d/dump.log || { echo "FAIL: no clear error"; rc=1; }
	grep -q "Freezing\|Seizing" $d/dump.log && { echo "FAIL: the tree was frozen"; rc=1; }
	case $(ps -o stat= -p $pid) in S* | R*) ;; *) echo "FAIL: the task is not running"; rc=1 ;; esac
	kill $pid
	rm -rf $d
	return $rc
}

# A transport no plugin provides (--lazy-pages-transport nosuch; with the
# RDMA plugin installed, which answers only to "rdma", and with no plugin at
# all): the dump fails naming the transport, before anything is frozen, and
# the task keeps running.
host_unknown_transport() {
	local d pid rc=0 libdir
	for libdir in "$top/build/plugin" empty; do
		d=$(mktemp -d)
		[ $libdir = empty ] && { mkdir $d/empty; libdir=$d/empty; }
		setsid sleep 600 < /dev/null > /dev/null 2>&1 &
		pid=$!
		sleep 0.2
		if build/criu dump -t $pid -D $d --lazy-pages --lazy-pages-transport nosuch --address 127.0.0.1 \
			--port 7777 --libdir $libdir -o dump.log -v4; then
			echo "FAIL: the dump succeeded with a transport no plugin provides ($libdir)"; rc=1
		fi
		grep "transport" $d/dump.log
		grep -q "No plugin provides lazy-pages transport 'nosuch'" $d/dump.log ||
			{ echo "FAIL: no clear error ($libdir)"; rc=1; }
		grep -q "Freezing\|Seizing" $d/dump.log && { echo "FAIL: the tree was frozen ($libdir)"; rc=1; }
		case $(ps -o stat= -p $pid) in S* | R*) ;; *) echo "FAIL: the task is not running ($libdir)"; rc=1 ;; esac
		kill $pid
		rm -rf $d
	done
	# a transport option without lazy pages is refused outright
	if build/criu dump -t 1 -D /tmp --lazy-pages-transport rdma 2> /dev/null; then
		echo "FAIL: --lazy-pages-transport without --lazy-pages was taken"; rc=1
	fi
	return $rc
}

# The transport set through RPC (criu_opts.lazy_pages_transport, as a
# container engine would; test/tools/rpc_lazy_dump.c drives 'criu swrk'):
# 'nosuch' is refused as on the command line, and 'rdma' reaches the RDMA
# plugin with the page server's address (which then finds no device here),
# also when 'rdma' comes from the RPC configuration file as runc passes
# /etc/criu/runc.conf (without the address the plugin would look for this
# host's RDMA addresses instead: "no --address given").  Nothing is frozen,
# the task keeps running.
host_rpc_transport() {
	local d pid rc=0 t want conf
	d=$(mktemp -d)
	cc -std=gnu11 -Wall -Wextra -Werror -o $d/rpc-lazy-dump test/tools/rpc_lazy_dump.c \
		build/criu-src/images/rpc.pb-c.c -Ibuild/criu-src/images -lprotobuf-c || return 1
	printf '# as in /etc/criu/runc.conf\nrdma\n' > $d/runc.conf
	for t in nosuch rdma rdma-conf; do
		# with RDMA here the dump would serve, waiting for a target
		[ $t != nosuch ] && [ -e /dev/infiniband/rdma_cm ] && { echo "SKIP: $t, this host has RDMA"; continue; }
		mkdir $d/$t
		setsid sleep 600 < /dev/null > /dev/null 2>&1 &
		pid=$!
		sleep 0.2
		conf=()
		[ $t = rdma-conf ] && conf=(- 127.0.0.1 7777 $d/runc.conf) || conf=($t 127.0.0.1 7777)
		CRIU_LIBS_DIR=$top/build/plugin $d/rpc-lazy-dump "$top/build/criu" $pid $d/$t "${conf[@]}" &&
			{ echo "FAIL: the RPC dump with transport $t succeeded"; rc=1; }
		want="No plugin provides lazy-pages transport 'nosuch'"
		[ $t != nosuch ] && want="listening at 127.0.0.1, port 7777"
		grep "transport\|RDMA CM\|listening" $d/$t/dump.log
		grep -q "$want" $d/$t/dump.log || { echo "FAIL: no '$want' ($t)"; rc=1; }
		[ $t != nosuch ] && ! grep -q "cannot open the RDMA CM" $d/$t/dump.log &&
			{ echo "FAIL: no 'cannot open the RDMA CM' ($t)"; rc=1; }
		grep -q "Freezing\|Seizing" $d/$t/dump.log && { echo "FAIL: the tree was frozen ($t)"; rc=1; }
		case $(ps -o stat= -p $pid) in S* | R*) ;; *) echo "FAIL: the task is not running ($t)"; rc=1 ;; esac
		kill $pid
	done
	rm -rf $d
	return $rc
}

# The lazy-pages daemon and the page server initialise only plugins that
# provide a lazy-pages transport: a plugin without one (test/tools/
# bystander_plugin.c, like a device plugin) is initialised by the dump but
# not by them, and with CRIU's own page server they load no plugin at all.
host_transport_plugins_only() {
	local d lib rc=0
	d=$(mktemp -d)
	lib=$d/lib
	mkdir -p $lib $d/ps $d/lp $d/lp-tcp $d/dump
	ln -s "$top/build/plugin/criu-rdma.so" "$top/build/test/tools/bystander.so" $lib/
	export CRR_BYSTANDER_MARK=$d/mark
	# the dump initialises every plugin (it then fails here: no RDMA device)
	setsid sleep 600 < /dev/null > /dev/null 2>&1 &
	local pid=$!
	sleep 0.2
	timeout 20 build/criu dump -t $pid -D $d/dump --lazy-pages --rdma --address 127.0.0.1 --port 7777 \
		--libdir $lib -o dump.log -v4
	kill $pid
	grep -qx "init 0" $d/mark || { echo "FAIL: the dump did not initialise the bystander plugin"; rc=1; }
	rm -f $d/mark
	timeout 20 build/criu page-server --lazy-pages --rdma --address 127.0.0.1 --port 7777 -D $d/ps \
		--libdir $lib -o ps.log -v4
	timeout 5 build/criu lazy-pages --page-server --rdma --address 127.0.0.1 --port 7777 -D $d/lp \
		--libdir $lib -o lp.log -v4
	timeout 5 build/criu lazy-pages --page-server --address 127.0.0.1 --port 7777 -D $d/lp-tcp \
		--libdir $lib -o lp.log -v4
	unset CRR_BYSTANDER_MARK
	grep "plugin\|Plugin" $d/ps/ps.log $d/lp/lp.log $d/lp-tcp/lp.log | grep -v "hook\|param"
	[ -s $d/mark ] && { echo "FAIL: initialised by lazy-pages or page-server:"; cat $d/mark; rc=1; }
	grep -q "criu-rdma plugin loaded for page-server" $d/ps/ps.log ||
		{ echo "FAIL: the page server did not load the RDMA plugin"; rc=1; }
	grep -q "criu-rdma plugin loaded for lazy-pages" $d/lp/lp.log ||
		{ echo "FAIL: the lazy-pages daemon did not load the RDMA plugin"; rc=1; }
	for f in $d/ps/ps.log $d/lp/lp.log; do
		grep -q "bystander provides no lazy-pages transport: not loaded" $f ||
			{ echo "FAIL: $f does not say the bystander plugin was left out"; rc=1; }
	done
	grep -q "criu-rdma plugin loaded" $d/lp-tcp/lp.log &&
		{ echo "FAIL: the lazy-pages daemon loaded a plugin for CRIU's page server"; rc=1; }
	rm -rf $d
	return $rc
}

# A bad setting is refused when the plugin loads, before anything is frozen:
# the dump fails naming the setting and what it accepts, the task runs on.
# And a lazy-pages option of our CRIU patches out of range is refused by
# 'criu lazy-pages' at once, naming the option.
host_bad_setting() {
	local d pid rc=0 setting
	for setting in CRIU_RDMA_READ_SIZE=0 CRIU_RDMA_TIMEOUT_MS=10s CRIU_RDMA_ZERO_COPY=2 CRIU_RDMA_NETNS=relative; do
		d=$(mktemp -d)
		setsid sleep 600 < /dev/null > /dev/null 2>&1 &
		pid=$!
		sleep 0.2
		if env "$setting" build/criu dump -t $pid -D $d --lazy-pages --rdma --address 127.0.0.1 --port 7777 \
			--libdir "$top/build/plugin" -o dump.log -v4; then
			echo "FAIL: the dump succeeded with $setting"; rc=1
		fi
		grep "${setting%%=*}" $d/dump.log || { echo "FAIL: no message names ${setting%%=*}"; rc=1; }
		grep -q "Freezing\|Seizing" $d/dump.log && { echo "FAIL: the tree was frozen ($setting)"; rc=1; }
		case $(ps -o stat= -p $pid) in S* | R*) ;; *) echo "FAIL: the task is not running ($setting)"; rc=1 ;; esac
		kill $pid
		rm -rf $d
	done
	# and a good one is logged as the value in force (the dump then fails: no RDMA device here)
	d=$(mktemp -d)
	setsid sleep 600 < /dev/null > /dev/null 2>&1 &
	pid=$!
	CRIU_RDMA_READ_SIZE=65536 build/criu dump -t $pid -D $d --lazy-pages --rdma --address 127.0.0.1 --port 7777 \
		--libdir "$top/build/plugin" -o dump.log -v4
	grep -q "rdma: param CRIU_RDMA_READ_SIZE=65536" $d/dump.log || { echo "FAIL: the value in force is not logged"; rc=1; }
	kill $pid
	rm -rf $d
	# CRIU's own lazy-pages options (criu-patches/) refuse what is out of range, naming the option
	local opt err
	for opt in "--lazy-request-max 32" "--lazy-request-max 8192" "--lazy-request-max 1m" \
		"--lazy-request-ranges 0" "--lazy-pages-inflight 65"; do
		d=$(mktemp -d)
		# shellcheck disable=SC2086 # (the option and its value: two words)
		if err=$(build/criu lazy-pages -D $d $opt 2>&1); then
			echo "FAIL: lazy-pages took $opt"; rc=1
		fi
		echo "$err" | grep -q -- "${opt%% *} takes" || { echo "FAIL: no message for $opt: $err"; rc=1; }
		rm -rf $d
	done
	return $rc
}

# A patch that no longer applies must fail the build, naming the patch.
broken_patch_is_caught() {
	local tmp first rc
	tmp=$(mktemp -d)
	first=$(head -n 1 criu-patches/series)
	cp -r scripts criu-patches "$tmp/"
	# corrupt one context line of the first hunk
	awk '!done && hunk && /^ / { print " this context line is not in CRIU"; done = 1; next }
	     /^@@ / { hunk = 1 } { print }' "criu-patches/$first" > "$tmp/criu-patches/$first"
	mkdir -p "$tmp/cache/src"
	cp "$(scripts/fetch-criu.sh "${CRIU_RDMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/criu-rdma}/src")" "$tmp/cache/src/"
	CRIU_RDMA_CACHE=$tmp/cache "$tmp/scripts/build-criu.sh" "$tmp/out" 2> "$tmp/err"
	rc=$?
	cat "$tmp/err"
	rm -rf "$tmp/cache" "$tmp/scripts" "$tmp/criu-patches" "$tmp/out"
	[ $rc -ne 0 ] || { echo "FAIL: a broken patch did not fail the CRIU build"; return 1; }
	grep -q "criu-patches/$first does not apply" "$tmp/err" || { echo "FAIL: no clear message"; return 1; }
	rm -rf "$tmp"
}

# The Debian package: built from 'meson install', holding criu and the
# plugin where criu finds it, replacing Debian's criu, its Depends covering
# every library both binaries need (test/check-deb.sh).  deb-install in the
# guest installs it and migrates with it.
package() {
	local deb
	deb=$(scripts/build-deb.sh) || return 1
	test/check-deb.sh "$deb"
}

guest_single() {
	test/vm/run-guest.sh --timeout "${CRR_SINGLE_TIMEOUT:-2400}" --out "$out/guest" \
		test/guest/suite.sh \
		test/guest/rdma-read.sh \
		test/guest/criu-plugin.sh \
		test/guest/lazy-rdma-256m.sh \
		test/guest/lazy-rdma-zero-copy.sh \
		test/guest/lazy-rdma-stress.sh \
		test/guest/lazy-rdma-fault-around.sh \
		test/guest/lazy-tcp.sh \
		test/guest/lazy-rdma-prefetch.sh \
		test/guest/lazy-tcp-prefetch.sh \
		test/guest/lazy-sparse.sh \
		test/guest/lazy-remap.sh \
		test/guest/lazy-rdma-noaddr.sh \
		test/guest/lazy-failures.sh \
		test/guest/lazy-no-zero-pages.sh \
		test/guest/lazy-one-target.sh \
		test/guest/lazy-remote-fork.sh \
		test/guest/rogue-peer.sh \
		test/guest/deb-install.sh
	local rc=$?
	cat "$out/guest/job.log"
	return $rc
}

# CRIU's zdtm lazy set: lazy-migrate over RDMA (zero-copy and copy export)
# and over TCP, and the remote-lazy flow (criu page-server --lazy-pages
# --rdma) over RDMA.
guest_zdtm() {
	local rc=0 mode
	test/vm/run-guest.sh --timeout "${CRR_ZDTM_TIMEOUT:-3000}" --out "$out/zdtm" \
		test/guest/zdtm-all.sh || rc=$?
	cat "$out/zdtm/job.log"
	for mode in rdma rdma-copy tcp rdma-remote; do
		echo "--- zdtm $mode, per test:"
		cat "$out/zdtm/zdtm-$mode.txt" 2> /dev/null
	done
	return $rc
}

# pair NAME TIMEOUT SOURCE_SCRIPT TARGET_SCRIPT: two guests, then both job
# logs, then what run-guest.sh saw of a guest that died or hung (its serial
# log): last, so that it is in the lines a failed stage shows.
pair() {
	local name=$1 timeout=$2 rc=0
	mkdir -p "$out/$name"
	test/vm/run-guest.sh --timeout "$timeout" --out "$out/$name" --pair "$3" "$4" \
		2> "$out/$name/run-guest.err" || rc=$?
	cat "$out/$name/source/job.log" "$out/$name/target/job.log" 2> /dev/null
	cat "$out/$name/run-guest.err"
	return $rc
}

guest_pair() {
	pair pair 600 test/guest/pair-serve.sh test/guest/pair-read.sh
}

# A lazy migration from one guest to the other over RDMA.
guest_pair_migrate() {
	rm -rf build/pair-shared
	mkdir -p build/pair-shared
	echo 32 > build/pair-shared/mib
	pair pair-migrate 900 test/guest/migrate-source.sh test/guest/migrate-target.sh
}

# Link cuts between the two guests (RoCE's UDP port dropped): short ones
# during faults, during the pull and under 64 tasks x 8 threads are
# survived (pause, reconnect, every page right); one longer than the
# recovery window ends both sides cleanly, the restored task killed.
guest_linkcut() {
	rm -rf build/pair-shared
	mkdir -p build/pair-shared
	pair linkcut 1200 test/guest/linkcut-source.sh test/guest/linkcut-target.sh
}

# The main job's scenario, small: Redis migrated between two guests over RDMA
# and over TCP; asserts the integrity checks (digest, acknowledged writes,
# client errors, source released), not the timings.
guest_redis() {
	test/redis/migrate-redis.sh --mib "${CRR_REDIS_TEST_MIB:-16}" --out "$out/redis"
}

# The same over RDMA with RoCE's UDP port dropped for 5 s while pages
# stream: the migration reconnects and every integrity check still holds.
guest_redis_linkcut() {
	test/redis/migrate-redis.sh --mib "${CRR_REDIS_TEST_MIB:-16}" --transports rdma --cut 5 --out "$out/redis-cut"
}

# The same as a container: Redis in a runc container, migrated over RDMA
# by runc itself (checkpoint --lazy-pages --page-server --status-fd,
# restore --lazy-pages) with the criu-rdma package installed on both
# hosts and 'rdma' in /etc/criu/runc.conf; the same integrity checks.
guest_redis_runc() {
	test/redis/migrate-redis.sh --runtime runc --mib "${CRR_REDIS_TEST_MIB:-16}" --transports rdma \
		--out "$out/redis-runc"
}

if stage deps scripts/install-deps.sh && stage build build; then
	stage unit meson test -C build --print-errorlogs
	stage fuzz test/fuzz/run-fuzz.sh "${CRR_FUZZ_SECONDS:-60}"
	stage format format_check
	stage host-criu-check host_criu_check
	stage host-no-rdma-device host_no_rdma_device
	stage host-unknown-transport host_unknown_transport
	stage host-transport-plugins-only host_transport_plugins_only
	stage host-rpc-transport host_rpc_transport
	stage host-bad-setting host_bad_setting
	stage broken-patch broken_patch_is_caught
	stage package package
	if stage guest-image test/vm/build-image.sh; then
		stage guest-single guest_single
		stage zdtm-build test/zdtm/build-zdtm.sh && stage guest-zdtm guest_zdtm
		stage guest-pair guest_pair
		stage guest-pair-migrate guest_pair_migrate
		stage guest-linkcut guest_linkcut
		stage guest-redis guest_redis
		stage guest-redis-linkcut guest_redis_linkcut
		# (the package stage built the .deb it installs)
		stage guest-redis-runc guest_redis_runc
	fi
fi

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
[ $failed -eq 0 ] && echo "ALL PASSED" || echo "SOME TESTS FAILED"
exit $failed
