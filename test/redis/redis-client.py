#!/usr/bin/env python3
"""Redis client that keeps writing and reading across a migration.

    redis-client.py CTLDIR SOURCE_IP TARGET_IP [PORT]

Talks to SOURCE_IP until the file CTLDIR/switch exists, then to TARGET_IP.
Every write is SET w:<n> to a value derived from n; every read is a GET of a
populated key (key:<j> -> "value:<j>...", from DEBUG POPULATE) or of an
acknowledged write, checked against what it must be.  While CTLDIR/pause
exists it only reads (so a digest taken then is the digest at the freeze)
and says so with CTLDIR/paused.  When CTLDIR/stop appears it reads back every
acknowledged write from the target and writes CTLDIR/client.json.

Every GET answered by the target is timed: client.json has the latency
percentiles of those sent while pages still streamed in (before the time in
CTLDIR/t-lazy-done, when the lazy-pages daemon ended; same host's clock) and
of those after.

Plain sockets and RESP: the guest has no Redis module for Python.
"""
import json
import os
import random
import socket
import sys
import time

ctl, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
port = int(sys.argv[4]) if len(sys.argv) > 4 else 6379
populated = int(open(os.path.join(ctl, "keys")).read())


def value_of(n):
    return ("w%d:" % n) * 8


def flag(name):
    return os.path.exists(os.path.join(ctl, name))


class Conn:
    def __init__(self, host):
        self.host = host
        self.sk = socket.create_connection((host, port), timeout=0.5)
        # A frozen source accepts connections (the kernel does) but never
        # answers: give up on it quickly.  The restored target answers, but a
        # request may stall on a run of remote page faults: that is latency
        # (reported as the longest stall), not an error.
        self.sk.settimeout(2.0 if host == src else 30.0)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sk.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def reply(self):
        ln = self.line()
        kind, rest = ln[:1], ln[1:]
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind != b"$":
            return rest
        n = int(rest)
        if n < 0:
            return None
        while len(self.buf) < n + 2:
            data = self.sk.recv(max(65536, n + 2 - len(self.buf)))
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        val, self.buf = self.buf[:n], self.buf[n + 2:]
        return val

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sk.sendall(out)
        return self.reply()


stats = dict(writes_acked=0, reads_ok=0, read_mismatches=0, errors=0, errors_source=0, errors_target=0,
             last_source_reply=None, first_target_reply=None, mismatch_examples=[],
             errors_in_window=0, errors_outside_window=0, longest_target_stall_s=0.0)
acked = -1          # writes w:0..acked were acknowledged
target_gets = []    # (sent, seconds) of every GET the target answered
conn = None
t_start = time.time()
while not flag("stop"):
    host = dst if flag("switch") else src
    if host == dst and stats.get("switch_seen") is None:
        # (a request to the frozen source must time out first: up to 2 s)
        stats["switch_seen"] = time.time()
    try:
        if conn is None or conn.host != host:
            conn = Conn(host)
        if not flag("pause") and not (host == src and flag("switch")):
            n = acked + 1
            if conn.cmd("SET", "w:%d" % n, value_of(n)) != b"OK":
                raise RuntimeError("SET not OK")
            acked = n
            stats["writes_acked"] += 1
        elif host == src and not flag("paused"):
            open(os.path.join(ctl, "paused"), "w").write("%d\n" % acked)
        if acked >= 0 and random.random() < 0.5:
            n = random.randint(0, acked)
            key, want = "w:%d" % n, value_of(n).encode()
        else:
            j = random.randrange(populated)
            key, want = "key:%d" % j, b"value:%d" % j
        t_req = time.time()
        got = conn.cmd("GET", key)
        now = time.time()
        if host == dst:
            stats["longest_target_stall_s"] = max(stats["longest_target_stall_s"], now - t_req)
            target_gets.append((t_req, now - t_req))
        if host == src:
            stats["last_source_reply"] = now
        elif stats["first_target_reply"] is None:
            stats["first_target_reply"] = now
        if got is not None and got.startswith(want):
            stats["reads_ok"] += 1
        else:
            stats["read_mismatches"] += 1
            if len(stats["mismatch_examples"]) < 5:
                stats["mismatch_examples"].append([key, repr(got[:40] if got else got)])
    except (OSError, ConnectionError, RuntimeError, ValueError):
        stats["errors"] += 1
        stats["errors_source" if host == src else "errors_target"] += 1
        # The freeze window runs from the pause before the freeze to the
        # target's first reply; judged by what this client saw, not by
        # clocks of two hosts.
        if (host == src and flag("pause")) or (host == dst and stats["first_target_reply"] is None):
            stats["errors_in_window"] += 1
        else:
            stats["errors_outside_window"] += 1
        conn = None
        time.sleep(0.05)

# every acknowledged write must be on the target
conn = Conn(dst)
lost = [n for n in range(acked + 1) if conn.cmd("GET", "w:%d" % n) != value_of(n).encode()]
stats["acked_writes_lost"] = len(lost)
stats["lost_examples"] = lost[:5]
stats["acked_writes_checked"] = acked + 1
if stats["last_source_reply"] and stats["first_target_reply"]:
    stats["downtime_s"] = stats["first_target_reply"] - stats["last_source_reply"]
stats["seconds"] = time.time() - t_start


def percentiles(name, lat):
    lat = sorted(lat)
    stats[name + "_gets"] = len(lat)
    for p in (50, 99):
        # nearest rank
        stats["%s_get_p%d_ms" % (name, p)] = lat[max(0, -(-len(lat) * p // 100) - 1)] * 1e3 if lat else None
    stats[name + "_get_max_ms"] = lat[-1] * 1e3 if lat else None


try:
    lazy_done = float(open(os.path.join(ctl, "t-lazy-done")).read())
except (OSError, ValueError):
    lazy_done = None
if lazy_done is not None:
    percentiles("pull", [d for t, d in target_gets if t < lazy_done])
    percentiles("after_pull", [d for t, d in target_gets if t >= lazy_done])
with open(os.path.join(ctl, "client.json.tmp"), "w") as f:
    json.dump(stats, f, indent=1)
os.rename(os.path.join(ctl, "client.json.tmp"), os.path.join(ctl, "client.json"))
