#!/usr/bin/env bash
# check-deb.sh DEB: the criu-rdma package holds the patched criu as
# /usr/sbin/criu and the plugin in the directory criu loads plugins from
# by default; it replaces Debian's criu; its Depends name the package of
# every shared library either binary needs (NEEDED entries mapped with
# dpkg -S on this host, independently of dpkg-shlibdeps); the packaged
# plugin exports CR_PLUGIN_DESC alone and the packaged criu runs.
set -uo pipefail
deb=$1
top=$(cd "$(dirname "$0")/.." && pwd)
rc=0
fail() { echo "FAIL: $*"; rc=1; }
x=$(mktemp -d)
trap 'rm -rf "$x"' EXIT
dpkg-deb --info "$deb" || { echo "FAIL: $deb is not a package"; exit 1; }
dpkg-deb --extract "$deb" "$x"
files=$(cd "$x" && find . -type f | sed 's|^\.||' | sort)
echo "files:"; echo "$files" | sed 's/^/  /'
criu=$x/usr/sbin/criu
[ -x "$criu" ] || { echo "FAIL: no /usr/sbin/criu"; exit 1; }
"$criu" --version || fail "the packaged criu does not run"
plugdir=$("$criu" --help | sed -n 's/.*--libdir.*(by default \(.*\))$/\1/p')
plugdir=${plugdir%/}
echo "criu's default plugin directory: $plugdir"
[ "$plugdir" = /usr/lib/criu ] || fail "criu's default plugin directory is '$plugdir', not /usr/lib/criu"
so=$x$plugdir/criu-rdma.so
[ -f "$so" ] || fail "no criu-rdma.so in $plugdir"
want=$(printf '%s\n' /usr/sbin/criu "$plugdir/criu-rdma.so" /usr/share/doc/criu-rdma/copyright | sort)
[ "$files" = "$want" ] || fail "the package holds other files than criu, the plugin and its copyright"
[ -f "$so" ] && { "$top/test/check-exports.sh" "$so" || fail "the packaged plugin exports more than CR_PLUGIN_DESC"; }

field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = criu-rdma ] || fail "package name"
for f in Conflicts Replaces; do
	[ "$(field $f)" = criu ] || fail "$f: '$(field $f)', not criu"
done
case $(field Provides) in "criu (= "*")") ;; *) fail "Provides: '$(field Provides)', not criu (= VERSION)" ;; esac
depends=$(field Depends)
# every NEEDED library of both binaries, mapped to the package holding it here
for bin in "$criu" "$so"; do
	for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		# (ldd: "NAME => PATH (addr)", the loader as "PATH (addr)")
		path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3; exit } $1 ~ "/" l "$" { print $1; exit }')
		[ -n "$path" ] || { fail "$lib (needed by ${bin#$x}) is not installed here"; continue; }
		pkg=$(dpkg -S "$(readlink -f "$path")" 2> /dev/null | head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2> /dev/null | head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] || { fail "no package holds $path"; continue; }
		echo "${bin#$x}: $lib -> $pkg"
		echo ", $depends," | grep -q "[ ,]$pkg[ ,(]" || fail "Depends lacks $pkg (for $lib of ${bin#$x})"
	done
done
# nothing build-only
echo "$depends" | grep -q -- "-dev\b" && fail "Depends names a -dev package"
[ $rc -eq 0 ] && echo "PASS: $deb"
exit $rc
