#!/usr/bin/env bash
# Install the Debian packages criu-rdma needs on the build/test host.
# Idempotent and quick when everything is present.  Needs root.
set -euo pipefail
pkgs=(
	# our build
	build-essential pkg-config meson ninja-build git
	libibverbs-dev librdmacm-dev libprotobuf-c-dev protobuf-c-compiler nettle-dev
	# CRIU 4.2.1's build
	protobuf-compiler libprotobuf-dev python3-protobuf libnl-3-dev libnl-route-3-dev
	libnet1-dev libcap-dev libaio-dev libbsd-dev libgnutls28-dev libnftables-dev uuid-dev
	python3-yaml
	# fetching CRIU's source and building the .deb (dpkg-shlibdeps), the
	# guest image and running it
	dpkg-dev xz-utils mmdebstrap e2fsprogs qemu-system-x86 iproute2 curl
	# style check, and the fuzzer (libFuzzer with clang)
	clang-format clang-14 libfuzzer-14-dev
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
echo "install-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
