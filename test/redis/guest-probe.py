#!/usr/bin/env python3
"""Small probes the Redis migration's guests run.

    guest-probe.py clock FILE
        Offset of this guest's clock from the host's, written to FILE as
        "offset=S err=S" (host time = guest time + offset).  The guests'
        clocks start from the emulated RTC (whole seconds) and cannot be
        compared directly; a file created on a 9p share gets its mtime from
        the host's clock, so each creation, bracketed by two readings of
        the guest's clock, bounds the offset.  The host stamps mtimes with
        its coarse clock (up to a tick behind): mtime - (reading after) is a
        lower bound, and the largest of 40 (at random phases of the tick) is
        the estimate; err bounds it from above (<= a tick, 10 ms at HZ=100).
    guest-probe.py udp-echo PORT
        Echo UDP datagrams (Don't Fragment) until killed.
    guest-probe.py udp-probe HOST PORT SIZE
        Send a datagram of SIZE bytes with Don't Fragment to an udp-echo and
        wait for it to come back whole: frames of SIZE + 28 bytes pass both
        ways.  Exit status 0 if they do.
"""
import os
import random
import socket
import sys
import time

# Linux <netinet/in.h>: not all exported by the socket module
IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2
TICK = 0.010


def clock(path):
    scratch = path + ".probe"
    lo, hi = -1e18, 1e18
    for _ in range(40):
        t0 = time.time()
        fd = os.open(scratch, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        os.write(fd, b"x")
        m = os.fstat(fd).st_mtime_ns / 1e9
        t1 = time.time()
        os.close(fd)
        os.unlink(scratch)
        # the write happened in [t0, t1] (guest); mtime is the host's time of
        # it, at most a tick behind
        lo, hi = max(lo, m - t1), min(hi, m - t0 + TICK)
        # land on other phases of the host's tick
        time.sleep(random.uniform(0.0005, 0.006))
    with open(path + ".tmp", "w") as f:
        f.write("offset=%.6f err=%.6f\n" % (lo, max(hi - lo, 0)))
    os.rename(path + ".tmp", path)


def df_socket():
    sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sk.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    return sk


def udp_echo(port):
    sk = df_socket()
    sk.bind(("0.0.0.0", port))
    while True:
        data, peer = sk.recvfrom(65536)
        sk.sendto(data, peer)


def udp_probe(host, port, size):
    sk = df_socket()
    sk.settimeout(1.0)
    payload = bytes(random.getrandbits(8) for _ in range(size))
    for _ in range(10):
        try:
            sk.sendto(payload, (host, port))
            while True:
                data, _ = sk.recvfrom(65536)
                if data == payload:
                    return 0
        except socket.timeout:
            continue
        except OSError as e:
            print("udp-probe: %s" % e, file=sys.stderr)
            return 1
    return 1


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "clock" and len(sys.argv) == 3:
        clock(sys.argv[2])
    elif cmd == "udp-echo" and len(sys.argv) == 3:
        udp_echo(int(sys.argv[2]))
    elif cmd == "udp-probe" and len(sys.argv) == 5:
        sys.exit(udp_probe(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
