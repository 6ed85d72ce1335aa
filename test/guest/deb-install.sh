#!/bin/bash
# The criu-rdma package (scripts/build-deb.sh; the newest build/criu-rdma_*.deb,
# or CRR_DEB) installs with dpkg into this guest, whose packages are
# Debian's and whose root file system is a throw-away snapshot: its Depends
# are all met by Debian packages (dpkg -i refuses otherwise).  Then a lazy
# migration of 64 MiB over RDMA with the installed /usr/sbin/criu and no
# --libdir: the dump and the lazy-pages daemon load /usr/lib/criu/criu-rdma.so
# themselves, every page is verified and counted as RDMA
# (test/guest/lazy-migrate.sh).  Finally the package is purged, leaving
# no criu and no plugin behind for the tests after this one.
set -u
top=$PWD
arch=$(dpkg --print-architecture)
deb=${CRR_DEB:-$(ls -t $top/build/criu-rdma_*_$arch.deb 2> /dev/null | head -n 1)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "FAIL: no build/criu-rdma_*_$arch.deb (bash scripts/build-deb.sh)"; exit 1; }
echo "package: $deb"
rc=0
fail() { echo "FAIL: $*"; rc=1; }
for f in /usr/sbin/criu /usr/lib/criu/criu-rdma.so; do
	[ ! -e $f ] || { echo "FAIL: $f exists before the package is installed"; exit 1; }
done
touch /.crr-rw-check 2> /dev/null && rm -f /.crr-rw-check || { echo "FAIL: the guest's root is read-only"; exit 1; }

dpkg -i "$deb" || { echo "FAIL: dpkg -i $deb"; exit 1; }
trap 'dpkg --purge criu-rdma > /dev/null 2>&1' EXIT
[ "$(dpkg-query -W -f='${Status}' criu-rdma)" = "install ok installed" ] || fail "criu-rdma is not installed"
dpkg -L criu-rdma
[ -x /usr/sbin/criu ] || fail "no /usr/sbin/criu"
[ -f /usr/lib/criu/criu-rdma.so ] || fail "no /usr/lib/criu/criu-rdma.so"
/usr/sbin/criu --version || fail "the installed criu does not run"
[ $rc -eq 0 ] || exit 1

unset CRIU_LIBS_DIR
CRR_CRIU=/usr/sbin/criu CRR_LIBDIR= CRR_EXPECT_PLUGIN=/usr/lib/criu/criu-rdma.so \
	test/guest/lazy-migrate.sh rdma 64 || fail "lazy migration with the installed criu"

dpkg --purge criu-rdma || fail "dpkg --purge criu-rdma"
trap - EXIT
for f in /usr/sbin/criu /usr/lib/criu/criu-rdma.so; do
	[ ! -e $f ] || fail "$f is left after the purge"
done
[ $rc -eq 0 ] && echo "PASS: the package installs, migrates over RDMA without --libdir, and purges"
exit $rc
