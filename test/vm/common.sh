# Shared settings of the test-bed scripts (sourced, not run).
CRR_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CRR_CACHE=${CRIU_RDMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/criu-rdma}

# The image is keyed by everything that produces it.
crr_image_key() {
	cat "$CRR_TOP/test/vm/build-image.sh" "$CRR_TOP/test/vm/guest-packages.txt" \
		"$CRR_TOP/test/vm/init.sh" | sha256sum | cut -c1-16
}
crr_image_dir() {
	echo "$CRR_CACHE/vm-$(crr_image_key)"
}
