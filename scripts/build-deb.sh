#!/usr/bin/env bash
# Build the Debian package criu-rdma: the patched criu as /usr/sbin/criu and
# the plugin in /usr/lib/criu, the directory that criu loads plugins from
# when no --libdir is given, so 'criu dump --lazy-pages --rdma ...' works
# as it is.  It replaces Debian's criu package (same /usr/sbin/criu).
#
# usage: build-deb.sh [OUTDIR]     (default: build/)
#   writes OUTDIR/criu-rdma_VERSION_ARCH.deb and prints its path last.
# The files are what 'meson install' installs with --prefix=/usr (from a
# build directory of its own, build/deb); runtime dependencies are
# computed by dpkg-shlibdeps from both binaries.  Needs no network and no
# root (dpkg-deb --root-owner-group).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=${1:-$top/build}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bdir=$top/build/deb
# laid out as dpkg-shlibdeps expects: PKGDIR/debian/control, the files in
# PKGDIR/debian/criu-rdma
pkgdir=$bdir/pkg
stage=$pkgdir/debian/criu-rdma
for tool in meson ninja dpkg-deb dpkg-shlibdeps strip; do
	command -v $tool > /dev/null || { echo "build-deb: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done

[ -f "$bdir/build.ninja" ] || meson setup "$bdir" --prefix=/usr -Dplugindir= > "$bdir.setup.log" 2>&1 ||
	{ cat "$bdir.setup.log" >&2; exit 1; }
# only what is installed: criu (from the CRIU cache) and the plugin
ninja -C "$bdir" criu plugin/criu-rdma.so >&2
rm -rf "$pkgdir"
meson install -C "$bdir" --no-rebuild --destdir "$stage" >&2

criu=$stage/usr/sbin/criu
[ -x "$criu" ] || { echo "build-deb: meson install did not install usr/sbin/criu" >&2; exit 1; }
# the plugin must sit where this criu looks without --libdir
# (CR_PLUGIN_DEFAULT, criu/include/plugin.h; criu --help names it)
plugdir=$("$criu" --help | sed -n 's/.*--libdir.*(by default \(.*\))$/\1/p')
plugdir=${plugdir%/}
[ -n "$plugdir" ] || { echo "build-deb: cannot tell criu's default plugin directory" >&2; exit 1; }
[ -f "$stage$plugdir/criu-rdma.so" ] ||
	{ echo "build-deb: the plugin is not in $plugdir, criu's default plugin directory" >&2; exit 1; }
n=$(find "$stage" -type f | wc -l)
[ "$n" -eq 2 ] || { echo "build-deb: meson install installed $n files, not 2:" >&2; find "$stage" -type f >&2; exit 1; }

# stripped as dh_strip does (the dynamic symbols the plugin needs stay)
strip --remove-section=.comment --remove-section=.note "$criu"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage$plugdir/criu-rdma.so"
chmod 0644 "$stage$plugdir/criu-rdma.so"
doc=$stage/usr/share/doc/criu-rdma
install -d "$doc"
cat > "$doc/copyright" <<EOT
criu-rdma: an RDMA transport for CRIU's lazy-pages migration, and
CRIU $("$criu" --version | sed -n 's/^Version: //p') (https://criu.org) with the patches of criu-rdma's criu-patches/.

License: GPL-2.0-only
 On Debian systems the full text of the GNU General Public License
 version 2 is in /usr/share/common-licenses/GPL-2.
EOT
chmod 0644 "$doc/copyright"

version=$(meson introspect --projectinfo "$bdir" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
criu_version=$("$criu" --version | sed -n 's/^Version: //p')
arch=$(dpkg --print-architecture)

# Depends: the packages of the shared libraries both binaries need.
# dpkg-shlibdeps reads a debian/control and finds the package's root by its
# DEBIAN directory; the plugin's references to CRIU's own symbols are
# resolved by criu (-rdynamic), not by a library.
install -d -m 0755 "$stage/DEBIAN"
printf 'Source: criu-rdma\n\nPackage: criu-rdma\nArchitecture: any\n' > "$pkgdir/debian/control"
depends=$(cd "$pkgdir" && dpkg-shlibdeps -O --warnings=1 \
	-edebian/criu-rdma/usr/sbin/criu -e"debian/criu-rdma$plugdir/criu-rdma.so" |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOT
Package: criu-rdma
Version: $version
Architecture: $arch
Maintainer: criu-rdma developers <criu-rdma@invalid>
Installed-Size: $size
Depends: $depends
Recommends: ibverbs-providers, iproute2
Conflicts: criu
Replaces: criu
Provides: criu (= $criu_version)
Section: admin
Priority: optional
Homepage: https://criu.org
Description: CRIU with an RDMA transport for lazy-pages (post-copy) migration
 CRIU $criu_version with the criu-rdma patches (--rdma and the
 lazy-pages transport hooks) and the criu-rdma plugin in $plugdir,
 which serves the lazy pages of a dumped process tree to the target
 host with one-sided RDMA READs (RoCE, InfiniBand, iWARP, Soft-RoCE):
   criu dump --lazy-pages --rdma --address SRC_IP --port PORT ...
   criu lazy-pages --rdma --page-server --address SRC_IP --port PORT ...
 It replaces Debian's criu package, whose /usr/sbin/criu it ships.
EOT
(cd "$stage" && find usr -type f | LC_ALL=C sort | xargs md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

deb=$out/criu-rdma_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
dpkg-deb --info "$deb" >&2
dpkg-deb --contents "$deb" >&2
echo "$deb"
