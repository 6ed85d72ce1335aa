#!/usr/bin/env bash
# Build (or find in the cache) the Debian bookworm Soft-RoCE guest image.
# Prints the directory holding image.ext4, vmlinuz and initrd.img.
set -euo pipefail
. "$(dirname "$0")/common.sh"

dir=$(crr_image_dir)
if [ -f "$dir/ready" ]; then
	echo "$dir"
	exit 0
fi
for tool in mmdebstrap mkfs.ext4; do
	command -v $tool >/dev/null || { echo "build-image: $tool missing (apt-get install mmdebstrap e2fsprogs)" >&2; exit 1; }
done

# The mirror comes from this machine's own apt configuration.
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
tmp=$(mktemp -d "$CRR_CACHE/build-image.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pkgs=$(grep -v '^#' "$CRR_TOP/test/vm/guest-packages.txt" | xargs | tr ' ' ,)

echo "build-image: building $dir (takes a few minutes)" >&2
start=$(date +%s)
mmdebstrap --variant=minbase --include="$pkgs" \
	--aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
	--aptopt='APT::Install-Recommends "false"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--essential-hook='mkdir -p "$1/etc/initramfs-tools" && printf "%s\n" virtio_pci virtio_blk virtio_net 9pnet_virtio 9p ext4 > "$1/etc/initramfs-tools/modules"' \
	--customize-hook='install -m 0755 '"$CRR_TOP"'/test/vm/init.sh "$1/sbin/crr-init"' \
	bookworm "$tmp/rootfs" "$sources" >&2

mkdir -p "$tmp/out"
cp -L "$tmp"/rootfs/boot/vmlinuz-* "$tmp/out/vmlinuz"
cp -L "$tmp"/rootfs/boot/initrd.img-* "$tmp/out/initrd.img"
chmod 0644 "$tmp/out/vmlinuz" "$tmp/out/initrd.img"
mkfs.ext4 -q -L crr-root -d "$tmp/rootfs" "$tmp/out/image.ext4" 3G >&2
echo "built in $(( $(date +%s) - start )) s" > "$tmp/out/ready"
rm -rf "$dir"
mv "$tmp/out" "$dir"
echo "build-image: done in $(( $(date +%s) - start )) s" >&2
echo "$dir"
