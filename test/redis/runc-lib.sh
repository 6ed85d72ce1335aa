# Redis as a runc container, for the Redis migration's hosts (sourced by
# redis-source.sh and redis-target.sh when $shared/runtime is "runc").
#
# Both hosts install the criu-rdma package (build/criu-rdma_*.deb) and
# let runc drive it the way runc drives any CRIU: through CRIU's RPC mode,
# with /etc/criu/runc.conf naming the transport.  Nothing of the build
# tree is used: runc runs /usr/sbin/criu, which loads the plugin from
# /usr/lib/criu.
#
# The container is an OCI bundle made from this host's own packages: a
# root directory whose /usr and /etc are read-only bind mounts of the
# host's (both hosts have the same image, and runc maps bind mounts back
# by their destination on restore), in the host's network namespace (the
# client reconnects to the target, as with the bare process), with its
# own PID, mount, IPC and UTS namespaces and cgroup.
RUNC_ID=redis-rdma
RUNC_BUNDLE=/tmp/redis-bundle
RUNC_WORK=/tmp/criu-work

# runc_install TRANSPORT: the package, and runc's CRIU configuration
runc_install() {
	local arch deb
	arch=$(dpkg --print-architecture)
	deb=$(ls -t $top/build/criu-rdma_*_$arch.deb 2> /dev/null | head -n 1)
	[ -n "$deb" ] || fail "no build/criu-rdma_*_$arch.deb (bash scripts/build-deb.sh)"
	dpkg -i "$deb" > /tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "dpkg -i $deb"; }
	[ "$(command -v criu)" = /usr/sbin/criu ] || fail "criu in PATH is $(command -v criu), not the package's"
	mkdir -p /etc/criu
	{
		echo "# runc's CRIU options (runc passes this file in every RPC request)"
		[ "$1" = rdma ] && echo "rdma"
		# the client's connection is not migrated: it reconnects to the target
		echo "tcp-close"
	} > /etc/criu/runc.conf
	echo "$(hostname): installed $(basename "$deb"), runc $(runc --version | sed -n 's/^runc version //p');" \
		"/etc/criu/runc.conf: $(grep -v '^#' /etc/criu/runc.conf | xargs)"
}

# runc_bundle: the OCI bundle of the Redis container
runc_bundle() {
	rm -rf $RUNC_BUNDLE
	mkdir -p $RUNC_BUNDLE/rootfs && cd $RUNC_BUNDLE || fail "bundle"
	mkdir -p rootfs/usr rootfs/etc rootfs/proc rootfs/dev rootfs/sys rootfs/tmp
	# Debian's merged /usr: the top-level directories are links into it
	ln -s usr/bin rootfs/bin
	ln -s usr/sbin rootfs/sbin
	ln -s usr/lib rootfs/lib
	ln -s usr/lib64 rootfs/lib64
	runc spec || fail "runc spec"
	python3 - << 'EOF' || fail "config.json"
import json
c = json.load(open("config.json"))
p = c["process"]
p["terminal"] = False
p["args"] = ["redis-server", "--port", "6379", "--bind", "0.0.0.0", "--protected-mode", "no",
             "--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
             "--daemonize", "no", "--loglevel", "warning"]
p["cwd"] = "/"
c["root"] = {"path": "rootfs", "readonly": True}
c["hostname"] = "redis"
for d in ("/usr", "/etc"):
    c["mounts"].append({"destination": d, "type": "bind", "source": d,
                        "options": ["rbind", "ro", "nosuid", "nodev"]})
# the host's network: the client reaches it at the host's address
ns = c["linux"]["namespaces"]
c["linux"]["namespaces"] = [n for n in ns if n["type"] != "network"]
json.dump(c, open("config.json", "w"), indent=1)
EOF
	cd - > /dev/null
}

# runc_pid: the container's init as this host sees it
runc_pid() {
	runc state $RUNC_ID 2> /dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])'
}

# runc_stdio CMD...: CMD with the container's stdio: pipes, as a container
# engine gives them (runc maps them on restore), the output to a file
runc_stdio() {
	"$@" < <(exec sleep infinity) > >(exec cat >> /tmp/redis-container.out) 2>&1
}
