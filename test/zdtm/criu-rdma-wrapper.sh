#!/bin/bash
# zdtm.py --criu-bin wrapper that moves zdtm's lazy flows onto the RDMA
# transport without touching zdtm.py:
#   dump --lazy-pages --port P            -> + --rdma --address $CRR_IP
#   page-server --lazy-pages --port P     -> + --rdma --address $CRR_IP
#   lazy-pages --page-server --address 127.0.0.1
#                                         -> 127.0.0.1 replaced by $CRR_IP, + --rdma
# (rdma_cm cannot use the loopback device, so the rxe device's own address
# stands in for 127.0.0.1).  Every other command runs unchanged.
#
# The lazy-pages daemon's transport counters go to
# $CRR_ZDTM_STATS/<test>.<pid>, so the caller can prove per test that its
# lazy pages came over RDMA; the serving side's export counters (zero-copy
# or copied) go to $CRR_ZDTM_STATS/source/<test>.<pid>.
# Needs CRR_TOP (repository), CRR_IP (address of the rxe device) and
# CRR_ZDTM_STATS in the environment.
criu=$CRR_TOP/build/criu
args=("$@")
cmd=
lazy=
ddir=
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[$i]} in
	dump | lazy-pages | page-server | restore | check | pre-dump)
		[ -n "$cmd" ] || cmd=${args[$i]}
		;;
	--lazy-pages) lazy=1 ;;
	-D | --images-dir) ddir=${args[$((i + 1))]} ;;
	esac
done

# dump/zdtm/static/maps00/123/1 -> zdtm_static_maps00
test=${ddir#dump/}
test=${test%/*/*}
test=${test//\//_}

case $cmd in
dump | page-server)
	if [ -n "$lazy" ]; then
		args+=(--rdma --address "$CRR_IP" --libdir "$CRR_TOP/build/plugin")
		mkdir -p "$CRR_ZDTM_STATS/source"
		export CRIU_RDMA_SOURCE_STATS=$CRR_ZDTM_STATS/source/$test.$$
	fi
	;;
lazy-pages)
	for i in "${!args[@]}"; do [ "${args[$i]}" = 127.0.0.1 ] && args[$i]=$CRR_IP; done
	args+=(--rdma --libdir "$CRR_TOP/build/plugin")
	mkdir -p "$CRR_ZDTM_STATS"
	export CRIU_RDMA_STATS=$CRR_ZDTM_STATS/$test.$$
	;;
esac
exec "$criu" "${args[@]}"
