#!/usr/bin/env bash
# Fetch CRIU's release tarball from Debian's source package and verify it.
#
# The apt source is derived from this machine's own apt configuration (same
# URIs and keyring, Types: deb-src, Suite: sid), kept in a private apt state
# directory so the system's apt setup is not changed.  No host name is
# written anywhere.
#
# usage: fetch-criu.sh CACHE_DIR   -> prints the path of the verified tarball
set -euo pipefail

CRIU_DEB_VERSION=4.2.1-1
CRIU_TARBALL=criu_4.2.1.orig.tar.xz
CRIU_SHA256=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9

cache=${1:?usage: fetch-criu.sh CACHE_DIR}
mkdir -p "$cache"
out="$cache/$CRIU_TARBALL"

verify() {
	echo "$CRIU_SHA256  $1" | sha256sum --check --status
}

if [ -f "$out" ] && verify "$out"; then
	echo "$out"
	exit 0
fi

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
src_list="$apt_dir/criu-src.sources"

# One deb-src stanza per URIs line of the system's deb822 sources, minus the
# security archive (it has no sid).
sysconf=/etc/apt/sources.list.d/debian.sources
if [ -f "$sysconf" ]; then
	uris=$(sed -n 's/^URIs:[[:space:]]*//p' "$sysconf" | tr ' ' '\n' |
		grep -v -- '-security' | sort -u)
	keyring=$(sed -n 's/^Signed-By:[[:space:]]*//p' "$sysconf" | head -n 1)
else
	# one-line format fallback
	uris=$(grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' |
		grep -v -- '-security' | sort -u)
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
fi
[ -n "$uris" ] || { echo "fetch-criu: no Debian URIs found in apt configuration" >&2; exit 1; }
{
	echo "Types: deb-src"
	echo "URIs: $(echo $uris)"
	echo "Suites: sid"
	echo "Components: main"
	echo "Signed-By: ${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}"
} > "$src_list"

apt_opts=(
	-o Dir::Etc::SourceList=/dev/null
	-o Dir::Etc::SourceParts="$apt_dir/parts"
	-o Dir::State::Lists="$apt_dir/lists"
	-o Dir::Cache::Archives="$apt_dir/archives"
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
	-o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false
	-o APT::Sandbox::User=root
)
mkdir -p "$apt_dir/parts"
cp "$src_list" "$apt_dir/parts/"

apt-get "${apt_opts[@]}" -qq update >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only the .orig tarball is needed (the .debian.tar.xz may be missing on the
# mirror); take its URI from apt and fetch just that file.
uri=$(cd "$work" && apt-get "${apt_opts[@]}" source --print-uris "criu=$CRIU_DEB_VERSION" |
	awk -v f="$CRIU_TARBALL" '$2 == f { gsub("\047", "", $1); print $1 }')
[ -n "$uri" ] || { echo "fetch-criu: apt does not know criu=$CRIU_DEB_VERSION" >&2; exit 1; }
curl_or_wget() {
	if command -v curl >/dev/null; then curl -fsSL -o "$2" "$1"; else wget -q -O "$2" "$1"; fi
}
# apt's own http method keeps the proxy settings of the machine
/usr/lib/apt/apt-helper "${apt_opts[@]}" download-file "$uri" "$work/$CRIU_TARBALL" "SHA256:$CRIU_SHA256" >&2 ||
	curl_or_wget "$uri" "$work/$CRIU_TARBALL"
verify "$work/$CRIU_TARBALL" || { echo "fetch-criu: sha256 mismatch for $CRIU_TARBALL" >&2; exit 1; }
mv "$work/$CRIU_TARBALL" "$out"
echo "$out"
