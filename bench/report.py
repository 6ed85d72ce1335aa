#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turns the data of bench/fault-bench.sh, bench/export-bench.sh (and the Redis report) into
bench/RESULTS.md and CDF plots (gnuplot).

    bench/report.py DATA_DIR RESULTS.md PLOT_DIR
"""
import csv
import glob
import math
import os
import re
import statistics
import subprocess
import sys

# OPERA D6.9, Table 4 (x86, microseconds, mean +- sd): the paper's hardware.
PAPER = {
    ('tcp', 1): {1500: '42.84 ± 7.6', 4200: '41.64 ± 5'},
    ('rdma', 1): {1500: '8.74 ± 3.2', 4200: '9.32 ± 3.3'},
    ('tcp', 16): {1500: '114.28 ± 15.7', 4200: '107.67 ± 14.2'},
    ('rdma', 16): {1500: '42.62 ± 6.9', 4200: '36.71 ± 5.2'},
}
# Transports, and variants that switch one mechanism off against the defaults (the A/Bs).
NAME = {'tcp': 'CRIU TCP', 'rdma': 'criu-rdma', 'rdma-event': 'criu-rdma, a fault never polls',
        'rdma-copy': 'criu-rdma, one copy off (pages copied first)',
        'tcp-inflight1': 'CRIU TCP, one background request at a time',
        'rdma-inflight1': 'criu-rdma, one background request at a time',
        'rdma-nocap': 'criu-rdma, background not capped while faults wait',
        'rdma-nofirst': 'criu-rdma, completions to CRIU in completion order',
        'rdma-hand0': 'criu-rdma, background requests to CRIU whole, never in parts',
        'tcp-ranges1': 'CRIU TCP, one range per request', 'rdma-ranges1': 'criu-rdma, one range per request',
        'rdma-depth16': 'criu-rdma, 16 background READs in flight (the connection\'s)',
        'rdma-nourge': 'criu-rdma, a fault on a requested page waits in line',
        'rdma-post0': 'criu-rdma, background READs posted by CRIU\'s thread (no poster)',
        'rdma-loadspin0': 'criu-rdma, a fault polls only while no background READ is about'}
# -reqN: background requests of at most N KiB (--lazy-request-max, default 256; 4096: CRIU's old size)
NAME.update({f'{tr}-req{kb}': f'{NAME[tr]}, background requests of at most {kb} KiB'
             for tr in ('tcp', 'rdma') for kb in (64, 128, 512, 1024, 2048)})
NAME.update({f'{tr}-req4096': f'{NAME[tr]}, background requests up to 4 MiB (CRIU\'s old size)' for tr in ('tcp', 'rdma')})
PULL_TRS = ('tcp', 'rdma', 'tcp-req4096', 'rdma-req4096', 'tcp-inflight1', 'rdma-inflight1', 'rdma-depth16', 'rdma-post0',
            'rdma-event', 'rdma-loadspin0')
STORM_TRS = ('tcp', 'rdma', 'tcp-req4096', 'rdma-req4096', 'rdma-nocap', 'rdma-nofirst', 'rdma-hand0', 'rdma-depth16',
             'rdma-nourge', 'rdma-post0', 'rdma-event', 'rdma-loadspin0')
LAT_TRS = ('tcp', 'rdma', 'rdma-event', 'rdma-copy')


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float('nan')


def samples(path):
    with open(path) as f:
        return [float(x) for x in f if x.strip()]


def read_tsv(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter='\t'))


def stats_of(row):
    kv = dict(x.split('=', 1) for x in row['stats'].split() if '=' in x)
    return {k: float(v) for k, v in kv.items()}


def pair(d):
    """The task's accesses lined up with the daemon's faults: per access
    (fault -> plugin asked, plugin asked -> UFFDIO_COPY done, done -> the
    task runs), or [] without both timestamp files."""
    ta, tf = os.path.join(d, 'lat-abs.txt'), os.path.join(d, 'stats.faults')
    if not (os.path.exists(ta) and os.path.exists(tf)):
        return []
    with open(ta) as f:
        acc = [tuple(map(float, x.split())) for x in f if x.strip()]
    with open(tf) as f:
        flt = sorted(tuple(map(float, x.split())) for x in f if x.strip())
    out, j = [], 0
    for t0, t1 in acc:
        while j < len(flt) and flt[j][0] < t0:
            j += 1
        if j < len(flt) and flt[j][0] <= t1:
            s, _, _, done = flt[j]
            out.append((s - t0, done - s, t1 - done))
    return out


def ratio(a, b):
    """a / b, or None where either side has no data."""
    return a / b if a and b and not math.isnan(a) and not math.isnan(b) else None


def fmt(x, nd=1):
    return 'n/a' if x is None or (isinstance(x, float) and math.isnan(x)) else f'{x:.{nd}f}'


class Data:
    def __init__(self, d):
        self.d = d
        self.runs = read_tsv(os.path.join(d, 'runs.tsv'))
        self.floor = read_tsv(os.path.join(d, 'floor.tsv'))
        self.mtus = sorted({int(r['mtu']) for r in self.runs if r['kind'] == 'latency'})

    def lat(self, mtu, tr, win, kind='latency'):
        """All samples of a configuration, and the median of each run."""
        pooled, medians = [], []
        pat = f'lat-{mtu}-{tr}-{win}-*' if kind == 'latency' else f'{kind}-*-{tr}-[0-9]*'
        for p in sorted(glob.glob(os.path.join(self.d, 'raw', pat, 'lat.txt'))):
            s = samples(p)
            pooled += s
            medians.append(statistics.median(s))
        return pooled, medians

    def pull_faults(self, tr, mtu):
        """The faults timed during the pull that found their page missing, and how many were timed.  A
        sample faster than the device's typical 4 KiB READ alone (ib_read_lat, this run and MTU) crossed
        no network: the pull had brought its page in first (a fast pull more often), so it is no remote
        fault and would make the faster pull look like the faster fault."""
        s, _ = self.lat(None, tr, 1, kind='pull')
        floor = self.floor_val(mtu, 'ib_read_lat_typical', 4096)
        return ([x for x in s if x >= floor] if floor else s), len(s)

    def floor_val(self, mtu, what, size):
        for r in self.floor:
            if int(r['mtu']) == mtu and r['what'] == what and r['size'] == str(size):
                try:
                    return float(r['value'])
                except ValueError:
                    return None
        return None

    def floor_samples(self, name, mtu, size):
        p = os.path.join(self.d, 'raw', f'{name}-{mtu}-{size}.txt')
        return samples(p) if os.path.exists(p) else []

    def rows(self, kind, tr, mtu=None, win=None):
        return [r for r in self.runs if r['kind'] == kind and r['transport'] == tr and
                (mtu is None or int(r['mtu']) == mtu) and (win is None or int(r['window']) == win)]


def latency_table(D):
    out = ['| fault | ' + ' | '.join(f'MTU {m}: ours, mean ± sd (p50 / p99) | MTU {m}: D6.9 x86' for m in D.mtus) + ' |',
           '|---|' + '---|---|' * len(D.mtus)]
    for win in (1, 16):
        for tr in LAT_TRS:
            if not any(D.lat(m, tr, win)[0] for m in D.mtus):
                continue
            cells = []
            for m in D.mtus:
                s, _ = D.lat(m, tr, win)
                if s:
                    cells.append(f'{statistics.mean(s):.0f} ± {statistics.pstdev(s):.0f} '
                                 f'({pct(s, 50):.0f} / {pct(s, 99):.0f})')
                else:
                    cells.append('n/a')
                cells.append(PAPER.get((tr, win), {}).get(m, '—'))
            out.append(f'| {NAME[tr]} {win * 4} KB | ' + ' | '.join(cells) + ' |')
    return '\n'.join(out)


def ratio_table(D):
    """RDMA against TCP, and the A/Bs of polling and of the one copy (each against the defaults)."""
    out = ['| MTU | fault | TCP p50 (µs) | RDMA p50 (µs) | RDMA / TCP | never polls p50 (µs) | polling A/B: RDMA / '
           'never polls | copied p50 (µs) | one-copy A/B: RDMA / copied | run medians TCP | run medians RDMA |',
           '|---|---|---|---|---|---|---|---|---|---|---|']
    for m in D.mtus:
        for win in (1, 16):
            t, tm = D.lat(m, 'tcp', win)
            r, rm = D.lat(m, 'rdma', win)
            e, _ = D.lat(m, 'rdma-event', win)
            c, _ = D.lat(m, 'rdma-copy', win)
            out.append(f'| {m} | {win * 4} KB | {fmt(pct(t, 50), 0)} | {fmt(pct(r, 50), 0)} | '
                       f'{fmt(ratio(pct(r, 50), pct(t, 50)), 2)} | {fmt(pct(e, 50), 0)} | '
                       f'{fmt(ratio(pct(r, 50), pct(e, 50)), 2)} | {fmt(pct(c, 50), 0)} | '
                       f'{fmt(ratio(pct(r, 50), pct(c, 50)), 2)} | '
                       f'{", ".join(f"{x:.0f}" for x in tm)} | {", ".join(f"{x:.0f}" for x in rm)} |')
    return '\n'.join(out)


def floor_table(D):
    out = ['| MTU | size | ib_read_lat typical (µs) | uffd round trip p50 (µs) | floor = sum | TCP round trip p50 '
           '(µs) | criu-rdma fault p50 (µs) | ours / floor | never polls p50 (µs) | never polls / floor |',
           '|---|---|---|---|---|---|---|---|---|---|']
    for m in D.mtus:
        for win, size in ((1, 4096), (16, 65536)):
            ib = D.floor_val(m, 'ib_read_lat_typical', size)
            uf = D.floor_samples('uffd-rtt', m, size)
            tcp = D.floor_samples('tcp-rtt', m, size)
            r, _ = D.lat(m, 'rdma', win)
            p, _ = D.lat(m, 'rdma-event', win)
            floor = ib + pct(uf, 50) if ib is not None and uf else None
            out.append(f'| {m} | {size // 1024} KiB | {fmt(ib)} | {fmt(pct(uf, 50))} | {fmt(floor)} | '
                       f'{fmt(pct(tcp, 50))} | {fmt(pct(r, 50))} | {fmt(ratio(pct(r, 50), floor), 2)} | '
                       f'{fmt(pct(p, 50))} | {fmt(ratio(pct(p, 50), floor), 2)} |')
    return '\n'.join(out)


def breakdown_table(D):
    out = ['| MTU | fault | seen by the task p50 | plugin: asked → UFFDIO_COPY done p50 | waiting for a slot | READ on the '
           'wire | copy + UFFDIO_COPY + wake | rest: kernel fault → CRIU reads the event → plugin asked, and wake-up '
           '→ task runs |',
           '|---|---|---|---|---|---|---|---|']
    for m in D.mtus:
        for win, tr in ((1, 'rdma'), (16, 'rdma'), (1, 'rdma-event'), (16, 'rdma-event'), (1, 'rdma-copy'),
                        (16, 'rdma-copy')):
            rows = D.rows('latency', tr, m, win)
            st = [stats_of(r) for r in rows]
            if not st:
                continue
            med = lambda k: statistics.median([s.get(k, float('nan')) for s in st])
            seen, _ = D.lat(m, tr, win)
            total = med('fault_latency_p50_us')
            how = {'rdma-event': ', never polls', 'rdma-copy': ', copied'}.get(tr, '')
            out.append(f'| {m} | {win * 4} KB{how} | {fmt(pct(seen, 50))} | {fmt(total)} | {fmt(med("fault_queue_us_p50"))} | '
                       f'{fmt(med("fault_read_us_p50"))} | {fmt(med("fault_copy_us_p50"))} | '
                       f'{fmt(pct(seen, 50) - total)} |')
    return '\n'.join(out)


def pull_table(D):
    out = ['| transport | pull of | restore → last page, median (s) | MiB/s | ib_read_bw 256 KiB (MB/s) | ratio | '
           'fault p50 during the pull (µs) | of faults timed, page still missing | idle fault p50, back to back (µs) | '
           'ratio | idle fault p50, 250 ms apart as during the pull (µs) | ratio | source CPU s/GiB (serving) | '
           'source CPU s/GiB (whole dump) |',
           '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    m_last = D.mtus[-1] if D.mtus else None
    bw = D.floor_val(m_last, 'ib_read_bw', 262144) if m_last else None
    cpu = {}
    for tr in PULL_TRS:
        rows = D.rows('pull', tr)
        if not rows:
            continue
        gib = int(rows[0]['bytes']) / 2 ** 30
        secs = statistics.median(float(r['restore_to_done_s']) for r in rows)
        mibs = int(rows[0]['bytes']) / 2 ** 20 / secs
        busy, timed = D.pull_faults(tr, m_last)
        idle, _ = D.lat(m_last, tr, 1)
        spaced, _ = D.lat(None, tr, 1, kind='spaced')
        cs = statistics.median(float(r['cpu_serve_s']) for r in rows) / gib
        ct = statistics.median(float(r['cpu_total_s']) for r in rows) / gib
        cpu[tr] = (cs, ct)
        # perftest's MB is 2^20 bytes
        out.append(f'| {NAME[tr]} | {int(rows[0]["bytes"]) >> 20} MiB | {secs:.2f} | {mibs:.1f} | {fmt(bw)} | '
                   f'{fmt(ratio(mibs, bw), 2)} | {fmt(pct(busy, 50))} | {len(busy)} of {timed} | {fmt(pct(idle, 50))} | '
                   f'{fmt(ratio(pct(busy, 50), pct(idle, 50)), 2)} | {fmt(pct(spaced, 50))} | '
                   f'{fmt(ratio(pct(busy, 50), pct(spaced, 50)), 2)} | {cs:.2f} | {ct:.2f} |')
    for tr in ('tcp', 'rdma'):
        rows = [r for r in D.rows('pull', tr) if r.get('cpu_serve_user_s')]
        if rows:
            u = statistics.median(float(r['cpu_serve_user_s']) for r in rows)
            k = statistics.median(float(r['cpu_serve_sys_s']) for r in rows)
            out.append('')
            out.append(f'{NAME[tr]}, source CPU while serving {int(rows[0]["bytes"]) >> 20} MiB: {u:.2f} s user, '
                       f'{k:.2f} s system.')
    split = [x for d in sorted(glob.glob(os.path.join(D.d, 'raw', 'pull-*-rdma-[0-9]*'))) for x in pair(d)]
    if split:
        out.append('')
        out.append(f'criu-rdma\'s faults during the pull, the task\'s timestamps lined up with the plugin\'s '
                   f'({len(split)} faults; p50 in ms): the fault → the plugin is asked '
                   f'{pct([x[0] for x in split], 50) / 1000:.2f}, asked → page copied in '
                   f'{pct([x[1] for x in split], 50) / 1000:.2f}, → the task runs '
                   f'{pct([x[2] for x in split], 50) / 1000:.2f}.')
    out += guest_cpu_lines([(NAME[tr], D.rows('pull', tr)) for tr in PULL_TRS])
    if 'tcp' in cpu and 'rdma' in cpu and cpu['tcp'][0] > 0:
        out.append('')
        out.append(f'Source CPU while serving, RDMA / TCP: **{cpu["rdma"][0] / cpu["tcp"][0]:.2f}** '
                   f'(whole dump including freeze and export: {cpu["rdma"][1] / cpu["tcp"][1]:.2f}).')
    return '\n'.join(out)


def export_table(data):
    path = os.path.join(data, 'export.tsv')
    if not os.path.exists(path):
        return 'Not run (`bench/export-bench.sh`).'
    rows = read_tsv(path)
    out = ['| tree | export | MiB | frozen until ready to serve (s) | export (s) | export s/GiB | CRIU peak RSS (MiB) | '
           'pinned in the tasks (MiB) | MemAvailable drop (MiB) | runs |',
           '|---|---|---|---|---|---|---|---|---|---|']
    med = {}
    for tree in ('single', 'fork'):
        for mode in ('zero-copy', 'copy'):
            rs = [r for r in rows if r['tree'] == tree and r['export'] == mode]
            if not rs:
                continue
            m = {k: statistics.median(float(r[k]) for r in rs) for k in
                 ('frozen_to_ready_s', 'export_s', 'criu_hwm_kb', 'tasks_pin_kb', 'memavail_drop_kb')}
            gib = (int(rs[0]['zero_copy_bytes']) + int(rs[0]['copy_bytes'])) / 2 ** 30
            med[(tree, mode)] = m
            out.append(f'| {"one task" if tree == "single" else "parent + child after fork"} | {mode} | '
                       f'{rs[0]["mib"]}{" each" if tree == "fork" else ""} | {m["frozen_to_ready_s"]:.2f} | '
                       f'{m["export_s"]:.3f} | {m["export_s"] / gib:.3f} | {m["criu_hwm_kb"] / 1024:.0f} | '
                       f'{m["tasks_pin_kb"] / 1024:.0f} | {m["memavail_drop_kb"] / 1024:.0f} | {len(rs)} |')
    for tree in ('single', 'fork'):
        z, c = med.get((tree, 'zero-copy')), med.get((tree, 'copy'))
        if z and c:
            out.append('')
            out.append(f'{"One task" if tree == "single" else "Parent + child"}, copy / zero-copy: frozen until ready '
                       f'**{fmt(ratio(c["frozen_to_ready_s"], z["frozen_to_ready_s"]), 2)} ×**, export time '
                       f'**{fmt(ratio(c["export_s"], z["export_s"]), 1)} ×**, source memory (MemAvailable drop) '
                       f'**{fmt(ratio(c["memavail_drop_kb"], z["memavail_drop_kb"]), 1)} ×**.')
    return '\n'.join(out)


def med(rows, key):
    """Median of a numeric column over rows, None where no row has a number."""
    v = []
    for r in rows:
        try:
            v.append(float(r[key]))
        except (KeyError, TypeError, ValueError):
            pass
    return statistics.median(v) if v else None


def guest_cpu_lines(groups):
    """The guest's CPUs from the restore to the last page, per (name, rows), where measured."""
    out = []
    for name, rows in groups:
        busy, soft = med(rows, 'guest_busy'), med(rows, 'guest_softirq')
        if busy is not None:
            out.append(f'- {name}: the guest\'s two vCPUs {busy * 100:.0f} % busy from the restore to the last page, '
                       f'{(soft or 0) * 100:.0f} % in softirq (rxe\'s packet work runs there)')
    return ['', 'Guest CPU (medians over runs; /proc/stat at the restore and at the last page):', ''] + out if out else []


def storm_table(data):
    path = os.path.join(data, 'storm.tsv')
    rows = read_tsv(path) if os.path.exists(path) else []
    if not rows:
        return 'Not run (`bench/fault-bench.sh --storm-mib N`).'
    out = ['| transport | area (MiB) | restore → last page, task faulting (s) | MiB/s | restore → last page, task idle (s) | '
           'MiB/s | faulting / idle | faults taken during the pull | fault p50 (µs) | fault p99 (µs) | accesses raced by '
           'the pull | runs |',
           '|---|---|---|---|---|---|---|---|---|---|---|---|']
    m = {}
    for tr in STORM_TRS:
        st = [r for r in rows if r['transport'] == tr and r['mode'] == 'storm']
        idle = [r for r in rows if r['transport'] == tr and r['mode'] == 'idle']
        if not st and not idle:
            continue
        m[tr] = x = {'st_s': med(st, 'restore_to_done_s'), 'st_mibs': med(st, 'pull_mib_s'),
                     'idle_s': med(idle, 'restore_to_done_s'), 'idle_mibs': med(idle, 'pull_mib_s'),
                     'faults': med(st, 'faults'), 'p50': med(st, 'fault_p50_us'), 'p99': med(st, 'fault_p99_us'),
                     'raced': med(st, 'raced')}
        # (a variant's idle baseline is its transport's)
        if not idle and tr.startswith('rdma') and 'rdma' in m:
            x['idle_s'], x['idle_mibs'] = m['rdma']['idle_s'], m['rdma']['idle_mibs']
        x['ratio'] = ratio(x['st_mibs'], x['idle_mibs'])
        out.append(f'| {NAME[tr]} | {(st or idle)[0]["mib"]} | {fmt(x["st_s"], 2)} | {fmt(x["st_mibs"])} | '
                   f'{fmt(x["idle_s"], 2)} | {fmt(x["idle_mibs"])} | {fmt(x["ratio"], 2)} | {fmt(x["faults"], 0)} | '
                   f'{fmt(x["p50"], 0)} | {fmt(x["p99"], 0)} | {fmt(x["raced"], 0)} | {len(st)} + {len(idle)} |')
    t, r = m.get('tcp'), m.get('rdma')
    if t and r:
        out.append('')
        out.append(f'RDMA / TCP: pull throughput while the task faults **{fmt(ratio(r["st_mibs"], t["st_mibs"]), 2)}**, '
                   f'idle {fmt(ratio(r["idle_mibs"], t["idle_mibs"]), 2)}; fault p50 during the pull '
                   f'**{fmt(ratio(r["p50"], t["p50"]), 2)}**, p99 {fmt(ratio(r["p99"], t["p99"]), 2)}.')
    out += guest_cpu_lines([(f'{NAME[tr]}, task {mode}', [r for r in rows if r['transport'] == tr and r['mode'] == mode])
                            for tr in STORM_TRS for mode in ('storm', 'idle')])
    lag = med(rows, 'resumed_after_s')
    if lag is not None:
        out.append('')
        out.append(f'(The task itself saw that it runs restored a median {lag:.2f} s after `criu restore` returned: '
                   'it was frozen mid-loop, and its own stack and data are lazy pages too.)')
    return '\n'.join(out)


def scan_table(data):
    path = os.path.join(data, 'scan.tsv')
    rows = read_tsv(path) if os.path.exists(path) else []
    skipped_path = os.path.join(data, 'scan-skipped.tsv')
    skipped = read_tsv(skipped_path) if os.path.exists(skipped_path) else []
    if not rows and not skipped:
        return 'Not run (`bench/fault-bench.sh --scan-mib N`).'
    out = ['| variant | `criu lazy-pages` options | transport | area (MiB) | scan (s) | MiB/s | faults / MiB | RDMA fault '
           'requests / MiB | runs |',
           '|---|---|---|---|---|---|---|---|---|']
    variants = list(dict.fromkeys(r['variant'] for r in rows))
    m = {}
    for v in variants:
        for tr in ('tcp', 'rdma'):
            rs = [r for r in rows if r['variant'] == v and r['transport'] == tr]
            if not rs:
                continue
            mib = float(rs[0]['mib'])
            x = m[(v, tr)] = {'s': med(rs, 'scan_s'), 'fpm': med(rs, 'faults_per_mib'),
                              'req': med(rs, 'rdma_fault_requests')}
            args = rs[0]['lazy_args'] if rs[0]['lazy_args'] != '-' else '(CRIU\'s defaults)'
            out.append(f'| {v} | {args} | {NAME[tr]} | {rs[0]["mib"]} | {fmt(x["s"], 2)} | '
                       f'{fmt(ratio(mib, x["s"]))} | {fmt(x["fpm"])} | '
                       f'{fmt(x["req"] / mib if x["req"] is not None else None)} | {len(rs)} |')
    lines = []
    for v in variants:
        t, r = m.get((v, 'tcp')), m.get((v, 'rdma'))
        if t and r:
            lines.append(f'{v}: scan time RDMA / TCP **{fmt(ratio(r["s"], t["s"]), 2)}**')
    base = variants[0] if variants else None
    for v in variants[1:]:
        for tr in ('tcp', 'rdma'):
            a, b = m.get((v, tr)), m.get((base, tr))
            if a and b:
                lines.append(f'{v} / {base}, {NAME[tr]}: scan time {fmt(ratio(a["s"], b["s"]), 2)}, faults '
                             f'{fmt(ratio(a["fpm"], b["fpm"]), 2)}')
    if lines:
        out += [''] + [f'- {x}' for x in lines]
    for s in skipped:
        out += ['', f'Variant {s["variant"]} (`{s["lazy_args"]}`) not run: {s["reason"]}.']
    return '\n'.join(out)


def sparse_table(D, data):
    path = os.path.join(data, 'sparse.tsv')
    rows = read_tsv(path) if os.path.exists(path) else []
    if not rows:
        return 'Not run (`bench/fault-bench.sh --sparse-mib N`).'
    dev = D.floor_val(int(rows[0]['mtu']), 'ib_read_bw_4k_reads', 4096)
    out = ['| transport | area (MiB) | pages dumped | restore → last page (s) | pages/s | CRIU requests | '
           'ranges / request | runs |', '|---|---|---|---|---|---|---|---|']
    m = {}
    for tr in ('tcp', 'rdma', 'tcp-ranges1', 'rdma-ranges1'):
        rs = [r for r in rows if r['transport'] == tr]
        if not rs:
            continue
        x = m[tr] = {'s': med(rs, 'restore_to_done_s'), 'req': med(rs, 'criu_requests'),
                     'rng': med(rs, 'criu_ranges')}
        out.append(f'| {NAME[tr]} | {rs[0]["mib"]} | {rs[0]["pages"]} | {fmt(x["s"], 2)} | '
                   f'{fmt(ratio(float(rs[0]["pages"]), x["s"]), 0)} | {fmt(x["req"], 0)} | '
                   f'{fmt(ratio(x["rng"], x["req"]), 1)} | {len(rs)} |')
    lines = []
    for tr in ('tcp', 'rdma'):
        a, b = m.get(tr), m.get(tr + '-ranges1')
        if a and b:
            lines.append(f'{NAME[tr]}: restore → last page, many ranges per request / one: '
                         f'**{fmt(ratio(a["s"], b["s"]), 2)}**')
    if m.get('tcp') and m.get('rdma'):
        lines.append(f'RDMA / TCP, restore → last page: **{fmt(ratio(m["rdma"]["s"], m["tcp"]["s"]), 2)}**')
    if dev and m.get('rdma'):
        pps = float(rows[0]['pages']) / m['rdma']['s']
        lines.append(f'the device\'s own 4 KiB READ rate (ib_read_bw, 16 outstanding): {fmt(dev, 0)} READs/s; '
                     f'criu-rdma\'s sparse pull {fmt(pps, 0)} pages/s = {fmt(ratio(pps, dev), 2)} of it')
    if lines:
        out += [''] + [f'- {x}' for x in lines]
    return '\n'.join(out)


def read_env(path):
    """KEY=VALUE words of a migrate-redis.sh .env file, as numbers where they are."""
    out = {}
    if not os.path.exists(path):
        return out
    for word in open(path).read().split():
        if '=' in word:
            k, v = word.split('=', 1)
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def redis_runs(data, sub_dir):
    """[(run's name, RDMA .env, TCP .env, its directory)] of bench/run.sh's Redis runs at one MTU (run1, run2, ...; or, in
    the data of a run before --redis-runs, the one run in @sub_dir itself); runs missing either side left out."""
    base = os.path.join(data, sub_dir)
    names = sorted((x for x in os.listdir(base) if re.fullmatch(r'run\d+', x)), key=lambda x: int(x[3:])) \
        if os.path.isdir(base) else []
    out = []
    for name in names or ['']:
        d = os.path.join(base, name)
        r, t = (read_env(os.path.join(d, f'{x}.env')) for x in ('rdma', 'tcp'))
        if r and t:
            out.append((name or 'run1', r, t, d))
    return out


def number(env, key):
    """@key of a read_env() dict if it is a number, else None."""
    v = env.get(key)
    return v if isinstance(v, float) else None


def redis_ratio(runs, key):
    """Median over the runs of RDMA / TCP of @key (each run's two transports ran back to back)."""
    v = [x for x in (ratio(r.get(key), t.get(key)) for _, r, t, _ in runs) if x is not None]
    return statistics.median(v) if v else None


def held_env(run_dir):
    """The .env of a run's held-back RDMA migration (bench/run.sh --redis-hold-ms), {} if it has none."""
    return read_env(os.path.join(run_dir, 'held', 'rdma.env'))


def redis_held_ratio(runs):
    """Median over the runs of: RDMA's fault wait p50 during the pull / the same run's idle cross-guest fault (its
    held/ migration: the faults before the held-back pull began), and those per run."""
    per = [ratio(r.get('log_fault_p50_ms'), held_env(d).get('held_fault_p50_ms')) for _, r, _, d in runs]
    v = [x for x in per if x is not None]
    return (statistics.median(v) if v else None), per


def redis_table(data):
    """One row per Redis run and MTU: the goals' measures for both transports, and the medians."""
    # (what, key, decimals); the GETs while pages stream in are a few dozen, so their max, not a p99
    rows = [('downtime (s)', 'client_downtime_s', 2), ('restore → last page (s)', 'restore_to_last_page_s', 2),
            ('transport connected after the daemon is ready (s)', 'ph_connect_s', 2),
            ('first reply after the client tries the target (s)', 'ph_reply_s', 2),
            ('fault wait p50 during the pull (ms, CRIU log)', 'log_fault_p50_ms', 2),
            ('target GETs while pages stream in', 'pull_gets', 0),
            ('their latency p50 (ms)', 'pull_get_p50_ms', 2), ('their latency max (ms)', 'pull_get_max_ms', 2)]
    out = []
    for sub_dir, mtu in (('redis', 9000), ('redis-1500', 1500)):
        runs = redis_runs(data, sub_dir)
        if not runs:
            continue
        out += [f'MTU {mtu}, RDMA / TCP, {len(runs)} run(s); last column: median of the runs\' ratios', '',
                '| | ' + ' | '.join(x[0] for x in runs) + ' | median RDMA / TCP |',
                '|---|' + '---|' * (len(runs) + 1)]
        for what, key, nd in rows:
            cells = [f'{fmt(number(r, key), nd)} / {fmt(number(t, key), nd)}' for _, r, t, _ in runs]
            out.append(f'| {what} | ' + ' | '.join(cells) + f' | {fmt(redis_ratio(runs, key), 2)} |')
        held = [held_env(d) for _, _, _, d in runs]
        if any(held):
            med_ratio, per = redis_held_ratio(runs)
            out.append('| RDMA, pull held back: faults before it began / their wait p50 (ms) | ' +
                       ' | '.join(f'{fmt(number(h, "held_faults"), 0)} / {fmt(number(h, "held_fault_p50_ms"), 2)}'
                                  for h in held) + ' | |')
            out.append('| RDMA fault wait during the pull / held back | ' + ' | '.join(fmt(x, 2) for x in per) +
                       f' | {fmt(med_ratio, 2)} (median) |')
        out.append('')
    failed = text_of(os.path.join(data, 'redis-failed.txt'))
    if failed:
        out += [f'Runs that failed their checks (left out above): {", ".join(failed.split())}.', '']
    return '\n'.join(out)


def goal_row(what, goal, value, ok, how=''):
    """ok None: the goal itself is not measured here, the value is context only."""
    met = 'n/a' if value is None or ok is None else ('**met**' if ok(value) else '**missed**')
    return f'| {what} | {goal} | {fmt(value, 2)} | {met} | {how} |'


def goals_table(D, data):
    """Issue 14's goals, each with the value this run measured and met / missed."""
    out = ['| goal | target | this run | | from |', '|---|---|---|---|---|']
    le = lambda x: lambda v: v <= x
    ge = lambda x: lambda v: v >= x
    for m in D.mtus:
        ib = D.floor_val(m, 'ib_read_lat_typical', 4096)
        uf = D.floor_samples('uffd-rtt', m, 4096)
        r, _ = D.lat(m, 'rdma', 1)
        t, _ = D.lat(m, 'tcp', 1)
        floor = ib + pct(uf, 50) if ib is not None and uf else None
        out.append(goal_row(f'4 KB fault p50 / (ib_read_lat + uffd round trip), MTU {m}', '≤ 1.25',
                            ratio(pct(r, 50), floor), le(1.25), 'section 2'))
        out.append(goal_row(f'4 KB fault p50, RDMA / CRIU TCP, MTU {m}', '≤ 0.5', ratio(pct(r, 50), pct(t, 50)),
                            le(0.5), 'section 1'))
    m_last = D.mtus[-1] if D.mtus else None
    rows = D.rows('pull', 'rdma')
    if rows and m_last:
        bw = D.floor_val(m_last, 'ib_read_bw', 262144)
        secs = statistics.median(float(x['restore_to_done_s']) for x in rows)
        mibs = int(rows[0]['bytes']) / 2 ** 20 / secs
        busy, _ = D.pull_faults('rdma', m_last)
        idle, _ = D.lat(m_last, 'rdma', 1)
        out.append(goal_row(f'background pull / ib_read_bw, MTU {m_last}', '≥ 0.9', ratio(mibs, bw), ge(0.9),
                            'section 4'))
        out.append(goal_row('fault p50 during the pull / idle fault back to back', '≤ 2',
                            ratio(pct(busy, 50), pct(idle, 50)), le(2), 'section 4'))
        spaced, _ = D.lat(None, 'rdma', 1, kind='spaced')
        out.append(goal_row('fault p50 during the pull / idle fault at the pull\'s spacing (250 ms)', '≤ 2',
                            ratio(pct(busy, 50), pct(spaced, 50)), le(2), 'section 4'))
    path = os.path.join(data, 'storm.tsv')
    srows = read_tsv(path) if os.path.exists(path) else []
    st = [x for x in srows if x['transport'] == 'rdma' and x['mode'] == 'storm']
    idle = [x for x in srows if x['transport'] == 'rdma' and x['mode'] == 'idle']
    if st and idle:
        out.append(goal_row('background throughput while the task faults hard / idle', '≥ 0.8',
                            ratio(med(st, 'pull_mib_s'), med(idle, 'pull_mib_s')), ge(0.8), 'section 7'))
    for sub_dir, label in (('redis', ', MTU 9000'), ('redis-1500', ', MTU 1500')):
        runs = redis_runs(data, sub_dir)
        if not runs:
            continue
        how = f'section 6, median of {len(runs)} runs' if len(runs) > 1 else 'section 6, one run'
        for what, key, goal, ok in (('restore → last page', 'restore_to_last_page_s', '≤ 0.7', le(0.7)),
                                    ('downtime', 'client_downtime_s', '≤ 1.0', le(1.0))):
            out.append(goal_row(f'Redis {what}, RDMA / TCP{label}', goal, redis_ratio(runs, key), ok, how))
        held, _ = redis_held_ratio(runs)
        if held is not None:
            out.append(goal_row(f'Redis fault wait p50 during the pull / idle cross-guest fault (pull held back){label}',
                                '≤ 2', held, le(2), how))
        else:
            out.append(goal_row(f'Redis fault wait p50 during the pull{label}: RDMA / TCP shown', '≤ 2 × an idle '
                                'cross-guest fault (not measured by this run)', redis_ratio(runs, 'log_fault_p50_ms'),
                                None, how))
    return '\n'.join(out)


def cdf_plot(D, mtu, plot_dir):
    os.makedirs(plot_dir, exist_ok=True)
    series = []
    for win in (1, 16):
        for tr in LAT_TRS:
            s, _ = D.lat(mtu, tr, win)
            if s:
                series.append((f'{NAME[tr]} {win * 4} KB', sorted(s)))
    for size in (4096, 65536):
        s = D.floor_samples('uffd-rtt', mtu, size)
        if s:
            series.append((f'local uffd round trip {size // 1024} KB', sorted(s)))
    if not series:
        return None
    dat = os.path.join(plot_dir, f'cdf-mtu{mtu}.dat')
    with open(dat, 'w') as f:
        for name, s in series:
            f.write(f'# {name}\n')
            for i, x in enumerate(s):
                f.write(f'{x} {(i + 1) / len(s)}\n')
            f.write('\n\n')
    plots = ', '.join(f"'{dat}' index {i} with lines lw 2 title '{name}'" for i, (name, _) in enumerate(series))
    return gnuplot_png(os.path.join(plot_dir, f'cdf-mtu{mtu}.png'),
                       f'Page fault latency seen by the restored task, Soft-RoCE, MTU {mtu}',
                       "set logscale x\nset xlabel 'latency (µs, log scale)'\nset ylabel 'fraction of faults'\n"
                       "set key bottom right\n", plots)


def gnuplot_png(png, title, settings, plots):
    """Draws @plots (gnuplot's plot arguments) into @png with @title and @settings; its file name."""
    script = (f"set terminal pngcairo size 900,560 font ',11'\nset output '{png}'\nset title '{title}'\n"
              f"{settings}set grid\nplot {plots}\n")
    subprocess.run(['gnuplot'], input=script.encode(), check=True)
    return os.path.basename(png)


def slope(xs, ys):
    """Least-squares slope of ys over xs, None with fewer than two points."""
    if len(xs) < 2:
        return None
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else None


def fork_medians(data):
    """{(transport, n): {column: median}} of fork.tsv, or None if it was not run."""
    path = os.path.join(data, 'fork.tsv')
    if not os.path.exists(path):
        return None
    rows = read_tsv(path)
    out = {}
    for key in sorted({(r['transport'], int(r['n'])) for r in rows}):
        rs = [r for r in rows if (r['transport'], int(r['n'])) == key]
        m = {k: med(rs, k) for k in ('frozen_to_serving_s', 'to_running_s', 'to_all_pages_s', 'src_cpu_s',
                                      'src_cpu_serving_s', 'src_hwm_kb')}
        m['runs'], m['mib'] = len(rs), rs[0]['mib']
        out[key] = m
    return out


def fork_table(data):
    M = fork_medians(data)
    if not M:
        return 'Not run (`bench/fork-bench.sh`).'
    ns = sorted({n for _, n in M})
    out = ['| N | RDMA: N copies running (s) | RDMA: N × every page (s) | TCP, one after another: N running (s) | '
           'TCP: N × every page (s) | TCP / RDMA, every page | source CPU, RDMA: all / serving (s) | '
           'source CPU, TCP: all / serving (s) | source peak RSS, RDMA / TCP (MiB) | runs |',
           '|---|---|---|---|---|---|---|---|---|---|']
    for n in ns:
        r, t = M.get(('rdma', n), {}), M.get(('tcp', n), {})
        out.append(f'| {n} | {fmt(r.get("to_running_s"), 2)} | {fmt(r.get("to_all_pages_s"), 2)} | '
                   f'{fmt(t.get("to_running_s"), 2)} | {fmt(t.get("to_all_pages_s"), 2)} | '
                   f'**{fmt(ratio(t.get("to_all_pages_s"), r.get("to_all_pages_s")), 2)}** | '
                   f'{fmt(r.get("src_cpu_s"), 2)} / {fmt(r.get("src_cpu_serving_s"), 2)} | '
                   f'{fmt(t.get("src_cpu_s"), 2)} / {fmt(t.get("src_cpu_serving_s"), 2)} | '
                   f'{fmt((r.get("src_hwm_kb") or math.nan) / 1024, 0)} / {fmt((t.get("src_hwm_kb") or math.nan) / 1024, 0)} | '
                   f'{r.get("runs", 0)} / {t.get("runs", 0)} |')
    rn = [n for n in ns if ('rdma', n) in M]
    per = {k: slope(rn, [M[('rdma', n)][k] for n in rn]) for k in
           ('to_all_pages_s', 'to_running_s', 'src_cpu_s', 'src_cpu_serving_s', 'src_hwm_kb')}
    tn = [n for n in ns if ('tcp', n) in M]
    tper = {k: slope(tn, [M[('tcp', n)][k] for n in tn]) for k in ('to_all_pages_s', 'src_cpu_s')}
    if per['to_all_pages_s'] is not None:
        out += ['', f'Each copy more, least squares over N = {", ".join(map(str, rn))}: RDMA **'
                f'{fmt(per["to_all_pages_s"], 2)} s** to every page ({fmt(per["to_running_s"], 2)} s to running), '
                f'source CPU **{fmt(per["src_cpu_s"], 3)} s** ({fmt(per["src_cpu_serving_s"], 3)} s of it while '
                f'serving), source peak RSS **{fmt(per["src_hwm_kb"], 0)} KiB**; CRIU over TCP, one migration after '
                f'another: {fmt(tper["to_all_pages_s"], 2)} s and {fmt(tper["src_cpu_s"], 3)} s of source CPU.']
    return '\n'.join(out)


def fork_plot(data, plot_dir):
    M = fork_medians(data)
    if not M:
        return None
    os.makedirs(plot_dir, exist_ok=True)
    dat = os.path.join(plot_dir, 'fork.dat')
    series = [('rdma', 'to_all_pages_s', 'one dump over RDMA, N restores at once: every page'),
              ('rdma', 'to_running_s', 'one dump over RDMA: N copies running'),
              ('tcp', 'to_all_pages_s', 'CRIU TCP, N migrations one after another: every page'),
              ('tcp', 'to_running_s', 'CRIU TCP, one after another: N copies running')]
    with open(dat, 'w') as f:
        for tr, key, name in series:
            f.write(f'# {name}\n')
            for n in sorted(n for t, n in M if t == tr):
                f.write(f'{n} {M[(tr, n)][key]}\n')
            f.write('\n\n')
    plots = ', '.join(f"'{dat}' index {i} with linespoints lw 2 title '{name}'"
                      for i, (_, _, name) in enumerate(series))
    mib = next(iter(M.values()))['mib']
    return gnuplot_png(os.path.join(plot_dir, 'fork.png'), f'Remote fork: N copies of a {mib} MiB process, Soft-RoCE guest',
                       "set xlabel 'copies (N)'\nset ylabel 'seconds from the freeze'\nset key top left\n"
                       "set xtics (1, 2, 4, 8)\n", plots)


def text_of(path):
    return open(path).read().strip() if os.path.exists(path) else None


def main():
    data, results, plot_dir = sys.argv[1:4]
    D = Data(data)
    pngs = [cdf_plot(D, m, plot_dir) for m in D.mtus]
    rel = os.path.relpath(plot_dir, os.path.dirname(os.path.abspath(results)))
    parts = ['# bench/ results', '',
             'Generated by `bash bench/run.sh` (bench/report.py); do not edit by hand.', '',
             '## Machine', '', '```', text_of(os.path.join(data, 'machine.txt')) or 'not recorded', '```', '',
             'Everything runs inside one QEMU/TCG guest (no KVM): Soft-RoCE (rxe) loops back through the guest\'s '
             'own device, so absolute numbers are emulation. Compare ratios taken in the same run, not microseconds '
             'with the paper\'s hardware.', '',
             '## Goals (issue 14)', '',
             'Each goal with the value this run measured. Where one is missed, ANALYSIS.md (below) gives the '
             'measured cause.', '',
             goals_table(D, data), '',
             '## 1. Fault latency, laid out like OPERA D6.9 Table 4', '',
             'A restored program touches random pages of a lazily restored 64 MiB area, each in its own 64 KiB '
             'window, and times each access itself (CLOCK_MONOTONIC around the first load). 4 KB = one page per '
             'fault; 64 KB = `--lazy-fault-around 16`. The background pull is held back while the faults are timed '
             '(`--lazy-background-delay`), so these are faults on an idle link; section 4 times them during the pull. '
             'Samples of all runs pooled, microseconds.', '',
             latency_table(D), '',
             ratio_table(D), '',
             'Goal: RDMA p50 at 4 KB at most half of TCP\'s.', '']
    for m, png in zip(D.mtus, pngs):
        if png:
            parts += [f'![CDF MTU {m}]({rel}/{png})', '']
    parts += ['## 2. The floor, same guest, same run', '',
              '`ib_read_lat` (perftest, rdma_cm, typical = median) on the same rxe device; a native userfaultfd round '
              'trip (fault → handler thread → UFFDIO_COPY of the window → wake; `bench/tools/uffd_rtt.c`); a TCP round '
              'trip carrying the page over the same address with TCP_NODELAY (`bench/tools/tcp_rtt.c`).', '',
              floor_table(D), '',
              'Goal: ours / floor ≤ 1.25 (the rest is our software: CRIU\'s event loop and the plugin).', '',
              '## 3. Where a fault\'s time goes (RDMA)', '',
              'p50 of each step from the target\'s own timestamps (plugin counters; median over runs), next to the '
              'p50 the task saw. Microseconds.', '',
              breakdown_table(D), '',
              '## 4. Background pull and source CPU', '',
              'A large area is pulled with no fault held back; 20 faults, 250 ms apart, are timed during the pull. '
              'A timed access faster than the device\'s typical 4 KiB READ alone (ib_read_lat) found its page '
              'already pulled: it is counted apart and left out of the p50 (a faster pull has more of them). '
              'The same 20 faults are timed again with the pull held back (`spaced`): the idle fault at the '
              'pull\'s spacing, which wakes an idle guest as the faults during the pull do; the idle fault of '
              'section 1 comes back to back. '
              'Source CPU: user + system seconds of the source `criu dump` process, while serving (after the export) '
              'and in all, per GiB served.', '',
              pull_table(D), '',
              'Goals: pull ≥ 80 % of ib_read_bw; a fault during the pull within 2 × its idle latency; source CPU '
              'with RDMA ≤ 10 % of TCP\'s.', '']
    parts += ['## 5. The source\'s export: zero-copy against copy', '',
              '`bench/export-bench.sh`: a lazy dump over `--rdma` of a task that filled its memory with a pattern, '
              'measured once it is ready to serve, then ended. Zero-copy: the frozen task registers its own pages '
              '(the default); copy: `CRIU_RDMA_ZERO_COPY=0`, the pages are spliced and copied into memory the plugin '
              'registers. Frozen until ready: from CRIU\'s "Dumping processes" to the plugin\'s "export:" log line. '
              'MemAvailable drop: the system\'s, from before the dump to while serving. The fork tree: the child '
              'rewrote every odd page after fork, the even pages are shared copy-on-write. Medians.', '',
              export_table(data), '']
    parts += ['## 6. Redis, two guests (the main job\'s scenario)', '']
    table = redis_table(data)
    if table:
        parts += ['Each run also migrates once more over RDMA with the background pull held back '
                  '(`migrate-redis.sh --hold-ms`, `bench/run.sh --redis-hold-ms`): Redis\'s faults before the pull '
                  'began are served with the link otherwise idle, at Redis\'s own spacing: the idle cross-guest '
                  'fault the goal sets the fault during the pull against (the last two rows; CRIU\'s log times '
                  'both, from the `#PF` line to the copy that covers the page).', '', table]
    for sub_dir in ('redis', 'redis-1500'):
        for i, (name, _, _, d) in enumerate(redis_runs(data, sub_dir)):
            report = text_of(os.path.join(d, 'report.txt'))
            if not report:
                continue
            if i == 0:
                parts += [f'The report of {name} (`test/redis/migrate-redis.sh`):', '', '```', report, '```', '']
            else:
                parts += [f'<details><summary>The report of {name}</summary>', '', '```', report, '```', '',
                          '</details>', '']
    if not table:
        parts += ['Not run (`bench/run.sh --redis-mib N` runs it).']
    parts += ['', '## 7. Fault storm: the background pull while the task faults', '',
              '`tools/fault_storm.c`: a task fills its area with a pattern; once restored (no '
              '`--lazy-background-delay`: the pull starts at once) it touches one word of a random missing page after '
              'another, as fast as they come, until the whole area is in. `mincore()` right before each access says '
              'whether the page is still missing (only those are touched), and the task\'s fault count around the '
              'access whether it really took a fault (the pull can fill the page in between: raced, not timed). The '
              'same pull with the task idle, in the same run, is the baseline. Restore → last page: from `criu restore` '
              'returning to the lazy-pages daemon\'s exit (as in section 4); MiB/s is the area over that. Every word of '
              'the area is checked at the end. Medians over runs (a run\'s p50/p99 over its faults).', '',
              storm_table(data), '',
              '## 8. Sequential scan served by faults', '',
              'The same task, restored with the pull held back (`--lazy-background-delay`, long enough for the '
              'scan), reads its whole area front to back once, checking every word; scan time as the task measures '
              'it; faults are the task\'s own count of faults it took during the scan (a fault that brought in more '
              'than its page shows as fewer faults; 256 a MiB with 4 KiB pages and nothing more), and for RDMA the '
              'plugin\'s fault requests. Each variant passes more `criu lazy-pages` options; one this CRIU does not '
              'know is skipped. Medians over runs.', '',
              scan_table(data), '',
              '## 9. A sparse area: many ranges per request', '',
              'The same task, but only every other page of its area was ever written: the dump leaves the holes '
              'out, so the area is one lazy range per page. Pulled with the task idle; restore → last page as in '
              'section 7; CRIU\'s requests and ranges from its per-task log line. `--lazy-request-ranges 1` is the '
              'old pull (one range per request). Every word is checked at the end (holes must read zero). Medians '
              'over runs.', '',
              sparse_table(D, data), '']
    fork_png = fork_plot(data, plot_dir)
    parts += ['## 10. Remote fork: one dump, N copies', '',
              '`bench/fork-bench.sh`: a pattern workload is dumped once with `CRIU_RDMA_TARGETS=N` and restored N '
              'times at once from the same images, each copy in a PID namespace of its own (N lazy-pages daemons '
              'and N restores, all started together). Against it, CRIU over TCP: its page server serves one '
              'lazy-pages client and then ends, so one dump cannot be restored twice; its N copies are N lazy '
              'migrations of N fresh workloads, one after the other. Times from `criu dump` starting (the tree '
              'freezes) to the N-th restore returning (running) and to the N-th lazy-pages daemon exiting (N × every '
              'page); for TCP the sum over the migrations. Source CPU: user + system of `criu dump` (TCP: summed); '
              'peak RSS: `criu dump`\'s (TCP: the largest). Every copy reads back every page afterwards. Medians.', '',
              fork_table(data), '']
    if fork_png:
        parts += [f'![Remote fork]({rel}/{fork_png})', '']
    parts += ['', '## Analysis', '', text_of(os.path.join(os.path.dirname(os.path.abspath(results)), 'ANALYSIS.md'))
              or '(see bench/ANALYSIS.md)', '']
    with open(results, 'w') as f:
        f.write('\n'.join(parts) + '\n')


if __name__ == '__main__':
    main()
