#!/usr/bin/env python3
"""fault-timeline.py AB_DIR TRACE_DIR: where a 4 KiB fault's time goes, step by
step, from three clocks lined up: the task's own (lat-abs.txt: each access's
start and end), the plugin's (CRIU_RDMA_STATS.faults: when CRIU asked it) and
the lazy-pages daemon's (TRACE_DIR/lp.PID, written by build/criu-trace of
bench/criu-trace/build.sh).  AB_DIR is fault-ab.sh's DIR/ab, run with
CRR_BENCH_CRIU=build/criu-trace CRR_LP_TRACE=TRACE_DIR/lp.  Prints, per
variant, each step's median over a run's faults, then the median over runs."""
import bisect
import glob
import os
import statistics
import sys

EPOLL_RET, MSG_READ, FETCH, FETCH_RET, COPY, COPY_RET, LISTS, FAULT_RET, EPOLL = range(1, 10)

STEPS = [
    ('task', 'the access, as the task timed it'),
    ('fault_to_epoll', 'access starts -> the daemon\'s epoll_wait() returns'),
    ('epoll_to_msg', '-> the fault message is read'),
    ('msg_to_fetch', '-> its range found and requested (CRIU\'s lists)'),
    ('fetch_to_plugin', '-> the plugin asked'),
    ('plugin_to_copy', '-> UFFDIO_COPY starts (READ, its wait, the plugin\'s work)'),
    ('copy_to_task_end', 'UFFDIO_COPY starts -> the access ends'),
    ('copy', 'UFFDIO_COPY returns, after it started'),
    ('next_before_copy_ret', 'the next access starts before that return by'),
    ('tail', 'UFFDIO_COPY returns -> epoll_wait() entered (lists, plugin, prefetch)'),
    ('epoll_wait', 'epoll_wait() entered -> returned'),
]


def load_traces(trace_dir):
    out = []
    for p in glob.glob(os.path.join(trace_dir, 'lp.*')):
        by = {}
        with open(p) as f:
            for line in f:
                point, ns = line.split()
                by.setdefault(int(point), []).append(int(ns) / 1e3)
        if by:
            first = min(v[0] for v in by.values())
            last = max(v[-1] for v in by.values())
            out.append((first, last, by))
    return out


def timeline(d, traces):
    """Per access: the steps of its fault in microseconds (None without every point)."""
    with open(os.path.join(d, 'lat-abs.txt')) as f:
        acc = [tuple(map(float, x.split())) for x in f if x.strip()]
    with open(os.path.join(d, 'stats.faults')) as f:
        asked = sorted(float(x.split()[0]) for x in f if x.strip())
    by = next((t[2] for t in traces if t[0] <= acc[0][0] and t[1] >= acc[-1][1]), None)
    if by is None:
        return []

    def before(point, t):
        a = by.get(point, [])
        k = bisect.bisect_left(a, t)
        return a[k - 1] if k else None

    def after(point, t):
        a = by.get(point, [])
        k = bisect.bisect_right(a, t) if t is not None else len(a)
        return a[k] if k < len(a) else None

    rows = []
    for n, (t0, t1) in enumerate(acc):
        k = bisect.bisect_left(asked, t0)
        if k == len(asked) or asked[k] > t1:
            continue
        s = asked[k]
        e = {p: before(p, s) for p in (EPOLL_RET, MSG_READ, FETCH)}
        e[COPY] = after(COPY, s)
        e[COPY_RET] = after(COPY_RET, e[COPY])
        e[EPOLL] = after(EPOLL, e[COPY_RET])
        e['next'] = after(EPOLL_RET, e[EPOLL])
        if None in e.values() or e[EPOLL_RET] < t0:
            continue
        row = {
            'task': t1 - t0,
            'fault_to_epoll': e[EPOLL_RET] - t0,
            'epoll_to_msg': e[MSG_READ] - e[EPOLL_RET],
            'msg_to_fetch': e[FETCH] - e[MSG_READ],
            'fetch_to_plugin': s - e[FETCH],
            'plugin_to_copy': e[COPY] - s,
            'copy_to_task_end': t1 - e[COPY],
            'copy': e[COPY_RET] - e[COPY],
            'tail': e[EPOLL] - e[COPY_RET],
            'epoll_wait': e['next'] - e[EPOLL],
        }
        if n + 1 < len(acc):
            row['next_before_copy_ret'] = e[COPY_RET] - acc[n + 1][0]
        rows.append(row)
    return rows


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    traces = load_traces(sys.argv[2])
    per = {}
    for d in sorted(glob.glob(os.path.join(sys.argv[1], '*', 'raw', 'lat-*-1-*'))):
        if not os.path.exists(os.path.join(d, 'stats.faults')):
            continue
        variant = os.path.basename(d).split('-', 2)[2].rsplit('-', 2)[0]
        rows = timeline(d, traces)
        if rows:
            per.setdefault(variant, []).append(
                {k: statistics.median(r[k] for r in rows if k in r) for k in rows[0]} | {'n': len(rows)})
    if not per:
        sys.exit('fault-timeline: no run with the task\'s, the plugin\'s and the daemon\'s timestamps')
    names = sorted(per)
    print('| step (median µs) | ' + ' | '.join(f'{v} ({len(per[v])} runs)' for v in names) + ' |')
    print('|---|' + '---|' * len(names))
    for key, what in STEPS:
        vals = []
        for v in names:
            xs = [r[key] for r in per[v] if key in r]
            vals.append(f'{statistics.median(xs):.0f}' if xs else '-')
        print(f'| {what} | ' + ' | '.join(vals) + ' |')


if __name__ == '__main__':
    main()
