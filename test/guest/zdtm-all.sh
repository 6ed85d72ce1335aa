#!/bin/bash
# CRIU's zdtm lazy set in all its flows, one after another in one guest:
# lazy-migrate over RDMA (zero-copy export), the same with the copy export,
# the same over CRIU's TCP page server, and the remote-lazy flow
# (criu page-server --lazy-pages --rdma) over RDMA.
rc=0
for mode in rdma rdma-copy tcp rdma-remote; do
	start=$(date +%s)
	if test/guest/zdtm-lazy.sh $mode > "$CRR_OUT/zdtm-$mode.out" 2>&1; then
		echo "PASS zdtm-$mode $(($(date +%s) - start))s"
	else
		echo "FAIL zdtm-$mode $(($(date +%s) - start))s"
		tail -n 40 "$CRR_OUT/zdtm-$mode.out"
		rc=1
	fi
done
exit $rc
