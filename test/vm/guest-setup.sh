# Sourced by every guest job before its script: brings up the network and the
# Soft-RoCE device.  Fails loudly; a guest without rxe must not pass a test.
crr_fail() { echo "guest-setup: $*" >&2; exit 1; }
# "quiet" keeps warnings and oops traces off the console; a guest whose
# kernel dies must leave them in its serial log, which run-guest.sh shows
dmesg -n 5

ip link set lo up
ip addr add "$CRR_IP/24" dev eth0 || { ip link; lsmod; crr_fail "cannot address eth0"; }
ip link set eth0 up || crr_fail "eth0 missing (virtio_net?)"
modprobe -a rdma_rxe ib_uverbs rdma_ucm || crr_fail "cannot load rdma_rxe/ib_uverbs/rdma_ucm"
modprobe tun 2>/dev/null
rdma link add rxe0 type rxe netdev eth0 || crr_fail "cannot create rxe0 on eth0"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -e /dev/infiniband/uverbs0 ] && [ -e /dev/infiniband/rdma_cm ] && break
	sleep 0.2
done
[ -e /dev/infiniband/uverbs0 ] || crr_fail "no /dev/infiniband/uverbs0 after creating rxe0"
ulimit -l unlimited
ulimit -c 0
export CRR_RDMA_DEV=rxe0
echo "guest-setup: $(hostname) $CRR_ROLE $CRR_IP, $(uname -r), rxe0 up"
