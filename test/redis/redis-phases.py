#!/usr/bin/env python3
"""Where the downtime of one Redis migration went (runs on the host).

    redis-phases.py SHARED TRANSPORT

SHARED is a copy (with mtimes, cp -a) of the run's shared directory.  Prints
shell assignments, one a line, for migrate-redis.sh's report.

Every event is put on the host's clock.  The guests' clocks are not
comparable as they are (each starts from the emulated RTC, in whole
seconds), so each guest measured its offset from the host's clock through
9p mtimes (guest-probe.py clock), before and after the migration.  Events
on one guest keep that guest's clock (the offset cancels); only the phase
from the source serving to the target reading the images crosses guests and
carries the offsets' error (clock_err_s).

CRIU's log stamps are seconds since the process opened its log.  That start
is found from the log's mtime (the time of its last line's write: the host's
clock for dump.log, which is written to the 9p share, the target's for
lazy.log, read on its tmpfs: lazy-log-mtime) minus the last line's stamp, and
falls back to the script's stamp taken before the exec (seconds early:
dump_exec_s / lazy_exec_s are how long criu ran before it opened its log).
"""
import json
import os
import re
import sys

shared, transport = sys.argv[1], sys.argv[2]
out = {}
PAGE = 4096
LINE = re.compile(r"^\((\d+\.\d+)\) (.*)$")


def rd(name):
    try:
        with open(os.path.join(shared, name)) as f:
            return f.read().strip()
    except OSError:
        return None


def stamp(name):
    v = rd(name)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def kv(name):
    v = rd(name)
    return dict(x.split("=", 1) for x in v.split()) if v else {}


def log_lines(name):
    try:
        with open(os.path.join(shared, name), errors="replace") as f:
            for ln in f:
                m = LINE.match(ln)
                if m:
                    yield float(m.group(1)), m.group(2)
    except OSError:
        return


def first(name, *needles):
    """Stamp of the first line containing the first needle found at all."""
    for needle in needles:
        for t, text in log_lines(name):
            if needle in text:
                return t
    return None


def log_start(name, script_stamp, what, bound=None, mtime=None):
    """The log's time zero (in the clock of its mtime) and the exec delay.

    bound (NEEDLE, STAMP): the line with NEEDLE was written before STAMP."""
    last = None
    for t, _ in log_lines(name):
        last = t
    if mtime is None:
        try:
            mtime = os.stat(os.path.join(shared, name)).st_mtime
        except OSError:
            pass
    if last is None or mtime is None or script_stamp is None:
        return script_stamp
    start = mtime - last
    # plausible: after the script's stamp, within 10 s (exec of a binary read
    # over 9p by an emulated CPU: 1.5 s seen); the stamp itself is no anchor
    ok = -0.05 <= start - script_stamp < 10.0
    if ok and bound is not None:
        t = first(name, bound[0])
        ok = t is None or bound[1] is None or start + t <= bound[1] + 0.05
    if ok:
        out[what + "_exec_s"] = start - script_stamp
        return start
    return script_stamp


def offset(role):
    """Host time minus this guest's time: mean of the two probes, drift, error."""
    a, b = kv("clock-%s-start" % role) or kv("clock-%s" % role), kv("clock-%s-end" % role)
    vals = [float(x["offset"]) for x in (a, b) if x]
    errs = [float(x["err"]) for x in (a, b) if x]
    if not vals:
        return None
    out["clock_%s_drift_ms" % role] = (vals[-1] - vals[0]) * 1e3
    out["clock_%s_err_ms" % role] = max(errs) * 1e3
    return sum(vals) / len(vals)


off_s, off_t = offset("source"), offset("target")
if off_s is not None and off_t is not None:
    out["clock_source_minus_target_s"] = off_t - off_s
    out["clock_err_s"] = (out["clock_source_err_ms"] + out["clock_target_err_ms"]) / 1e3 + \
        (abs(out["clock_source_drift_ms"]) + abs(out["clock_target_drift_ms"])) / 2e3


def host(t, off):
    return None if t is None or off is None else t + off


ev = {}
# source: the dump's log, its start found on the host's clock directly
freeze_stamp = stamp("t-freeze")
d0 = log_start("img/dump.log", host(freeze_stamp, off_s), "dump")


def dump_ev(*needles):
    t = first("img/dump.log", *needles)
    return None if t is None or d0 is None else d0 + t


ev["dump_start"] = d0
ev["freeze"] = dump_ev("Seized task")
# serving: the export is in place (RDMA) / the page server starts (TCP; it
# listens a few ms later); the lines the target waits for
if transport == "rdma":
    ev["serving"] = dump_ev("MiB zero-copy from", "Starting lazy pages server")
else:
    ev["serving"] = dump_ev("Starting lazy pages server")
ev["release"] = host(stamp("t-release"), off_s)
# target: the script's stamps, the lazy-pages log, the client
ev["images"] = host(stamp("t-images"), off_t)
ev["lazy_start"] = host(stamp("t-lazy-start"), off_t)
ev["daemon_ready"] = host(stamp("t-lazy-ready"), off_t)
ev["restored"] = host(stamp("t-restored"), off_t)
ev["lazy_done"] = host(stamp("t-lazy-done") or stamp("t-all-in"), off_t)
# (the script saw the daemon's socket after the daemon said it listens)
l0 = log_start("lazy.log", stamp("t-lazy-start"), "lazy",
               ("Waiting for incoming connections", stamp("t-lazy-ready")), stamp("lazy-log-mtime"))
connected = None
if transport == "rdma":
    connected = first("lazy.log", "rdma: source exports")
else:
    # the page server connection: the line after "Connecting to server"
    # (connect() returned)
    seen = False
    for t, text in log_lines("lazy.log"):
        if seen:
            connected = t
            break
        seen = "Connecting to server" in text
ev["connected"] = host(None if connected is None or l0 is None else l0 + connected, off_t)
try:
    client = json.load(open(os.path.join(shared, "client.json")))
except (OSError, ValueError):
    client = {}
ev["first_reply"] = host(client.get("first_target_reply"), off_t)
ev["last_source_reply"] = host(client.get("last_source_reply"), off_t)
ev["switch_seen"] = host(client.get("switch_seen"), off_t)


def span(name, a, b):
    if ev.get(a) is not None and ev.get(b) is not None:
        out[name] = ev[b] - ev[a]


# the chain of the downtime, each phase from the event before
span("ph_startup_s", "dump_start", "freeze")    # not downtime: Redis still serves
span("ph_dump_s", "freeze", "serving")
span("ph_images_s", "serving", "images")        # crosses guests
span("ph_daemon_s", "images", "daemon_ready")
span("ph_connect_s", "daemon_ready", "connected")
span("ph_restore_s", "connected", "restored")
span("ph_switch_s", "restored", "switch_seen")  # the client's own delay
span("ph_reply_s", "switch_seen", "first_reply")
span("ph_total_s", "freeze", "first_reply")
# the same, differently cut
span("restore_cmd_s", "daemon_ready", "restored")
span("daemon_startup_s", "lazy_start", "daemon_ready")
span("last_source_reply_to_freeze_s", "last_source_reply", "freeze")
span("client_downtime_s", "last_source_reply", "first_reply")
span("restore_to_last_page_s", "restored", "lazy_done")
span("source_frozen_s", "freeze", "release")
for k in ("freeze", "serving", "images", "daemon_ready", "connected", "restored", "first_reply", "lazy_done"):
    span("at_%s_s" % k, "freeze", k)

# fault wait from the lazy-pages log, the same way for both transports: a
# "#PF at A" until the first uffd_copy that covers A
pend, waits = {}, []
# with the pull held back (migrate-redis.sh --hold-ms), the faults before it
# began (from the restore's end, a margin early) and those after, apart
hold_ms = stamp("hold-ms")
restored_t = stamp("t-restored")
pull_from = None
if hold_ms is not None and restored_t is not None and l0 is not None:
    pull_from = restored_t - l0 + hold_ms / 1e3 - 0.25
held, pulled = [], []
PF = re.compile(r"uffd: (\S+): #PF at 0x([0-9a-f]+)")
CP = re.compile(r"uffd: (\S+): uffd_copy: 0x([0-9a-f]+)/(\d+)")
for t, text in log_lines("lazy.log"):
    m = PF.search(text)
    if m:
        pend.setdefault((m.group(1), int(m.group(2), 16) // PAGE), []).append(t)
        continue
    m = CP.search(text)
    if m and pend:
        lo = int(m.group(2), 16) // PAGE
        hi = lo + int(m.group(3)) // PAGE
        for key in [k for k in pend if k[0] == m.group(1) and lo <= k[1] < hi]:
            for t0 in pend.pop(key):
                waits.append(t - t0)
                if pull_from is not None:
                    (held if t0 < pull_from else pulled).append(t - t0)


def quantiles(name, w, ps=(50, 99)):
    """name_faults and name_fault_pP_ms of the fault waits w."""
    if not w:
        return
    w.sort()
    out["%s_faults" % name] = len(w)
    for p in ps:
        out["%s_fault_p%d_ms" % (name, p)] = w[max(0, -(-len(w) * p // 100) - 1)] * 1e3


quantiles("log", waits)
quantiles("held", held)
quantiles("pull", pulled)

for k in ("pull_gets", "pull_get_p50_ms", "pull_get_p99_ms", "pull_get_max_ms",
          "after_pull_gets", "after_pull_get_p50_ms", "after_pull_get_p99_ms"):
    if client.get(k) is not None:
        out[k] = client[k]
for role in ("source", "target"):
    m = kv("mtu-" + role)
    out["mtu_" + role] = m.get("mtu", "-")
    out["active_mtu_" + role] = m.get("active_mtu", "-")

for k, v in out.items():
    if isinstance(v, float):
        v = "%.1f" % v if k.endswith("_ms") else "%.3f" % v
    print("%s=%s" % (k, v))
