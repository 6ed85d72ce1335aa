#!/usr/bin/env python3
"""Summarises bench/fault-ab.sh: python3 bench/ab-report.py DIR/ab [DIR2/ab ...]
(several guest runs pooled: every run of each counts once)

Per MTU and variant: the task's fault p50 (median of the runs' p50s, and
the runs'), the plugin's parts (asked -> UFFDIO_COPY done, slot wait, READ
on the wire, copy + UFFDIO_COPY; medians of the runs' p50s), the rest up to
what the task saw (the kernel's fault delivery, CRIU's loop, the wake-up),
how many faults the poll reaped; and per MTU the floor measured in the same
runs (ib_read_lat typical + the native uffd round trip p50)."""
import csv
import glob
import os
import re
import statistics
import sys

# the percentile and sample reader of the bench report, not a copy of them
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import pair, pct, samples  # noqa: E402


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else float('nan')


def main(tops):
    # (mtu, variant) -> list of per-run dicts
    res, floors, order = {}, {}, []
    dirs = [(k, d) for k, top in enumerate(tops) for d in sorted(glob.glob(os.path.join(top, '*-*')))]
    for k, d in dirs:
        m = re.match(r'(\d+)-(\d+)$', os.path.basename(d))
        if not m:
            continue
        mtu, run = int(m.group(1)), (k, int(m.group(2)))
        fl = {}
        with open(os.path.join(d, 'floor.tsv')) as f:
            for r in csv.DictReader(f, delimiter='\t'):
                if r['size'] == '4096' and r['what'] == 'ib_read_lat_typical':
                    fl['ib_read_lat'] = float(r['value'])
        uf = os.path.join(d, 'raw', f'uffd-rtt-{mtu}-4096.txt')
        if os.path.exists(uf):
            fl['uffd'] = statistics.median(samples(uf))
        tr = os.path.join(d, 'raw', f'tcp-rtt-{mtu}-4096.txt')
        if os.path.exists(tr):
            fl['tcp_rtt'] = statistics.median(samples(tr))
        rl = os.path.join(d, 'read-lat.txt')
        if os.path.exists(rl):
            # the device's READ alone: "gap_us G: lat MODE: p50 X us, ..."
            for line in open(rl):
                m2 = re.match(r'gap_us (\d+): lat (.*): p50 ([\d.]+) us', line)
                if m2:
                    mode = m2.group(2) if m2.group(2) != 'random pages apart' else f'after {m2.group(1)} us asleep'
                    fl.setdefault('read', {}).setdefault(mode, []).append(float(m2.group(3)))
        floors.setdefault(mtu, []).append(fl)
        with open(os.path.join(d, 'runs.tsv')) as f:
            for r in csv.DictReader(f, delimiter='\t'):
                if r['kind'] != 'latency' or r['window'] != '1':
                    continue
                v = r['transport']
                if v not in order:
                    order.append(v)
                lat = samples(os.path.join(d, 'raw', f'lat-{mtu}-{v}-1-1', 'lat.txt'))
                kv = dict(x.split('=', 1) for x in r['stats'].split() if '=' in x)
                st = {k: float(x) for k, x in kv.items()}
                pr = pair(os.path.join(d, 'raw', f'lat-{mtu}-{v}-1-1'))
                if pr:
                    st['before_us'] = statistics.median(x[0] for x in pr)
                    st['after_us'] = statistics.median(x[2] for x in pr)
                    st['paired'] = len(pr)
                res.setdefault((mtu, v), []).append({'run': run, 'p50': statistics.median(lat), 'st': st})
    for mtu in sorted(floors):
        fl = floors[mtu]
        ib = med([f.get('ib_read_lat') for f in fl])
        uf = med([f.get('uffd') for f in fl])
        print(f'MTU {mtu}: ib_read_lat 4 KiB typical per run {[f.get("ib_read_lat") for f in fl]}, median {ib:.1f}; '
              f'uffd round trip p50 median {uf:.1f}; floor {ib + uf:.1f} us; '
              f'TCP round trip p50 median {med([f.get("tcp_rtt") for f in fl]):.1f}')
        floor = ib + uf
        modes = [m for f in fl for m in f.get('read', {})]
        for mode in dict.fromkeys(modes):
            v = [med(f['read'][mode]) for f in fl if mode in f.get('read', {})]
            print(f'MTU {mtu}: the device\'s 4 KiB READ alone (rdma-read-check), {mode}: p50 per run '
                  f'{", ".join("%.0f" % x for x in v)}, median {med(v):.0f} us; '
                  f'with the uffd round trip {med(v) + uf:.0f} us')
        tcp = med([x['p50'] for x in res.get((mtu, 'tcp'), [])])
        print('| variant | task p50 (median of runs) | runs | / floor | / TCP | plugin asked->done | slot | READ '
              '| copy+UFFDIO_COPY | rest | of it: fault -> plugin asked | UFFDIO_COPY done -> task runs '
              '| reaped by the poll / left to the loop |')
        print('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
        for v in order:
            rs = sorted(res.get((mtu, v), []), key=lambda x: x['run'])
            if not rs:
                continue
            p50 = med([x['p50'] for x in rs])
            g = lambda k: med([x['st'].get(k) for x in rs])
            plug = g('fault_latency_p50_us')
            spin = (f"{g('fault_spin_reaped'):.0f} / {g('fault_spin_missed'):.0f}"
                    if 'fault_spin_reaped' in rs[0]['st'] else '-')
            runs = ', '.join('%.0f' % x['p50'] for x in rs)
            print(f"| {v} | {p50:.0f} | {runs} | {p50 / floor:.2f} | "
                  f"{p50 / tcp:.2f} | {plug:.0f} | {g('fault_queue_us_p50'):.1f} | {g('fault_read_us_p50'):.0f} | "
                  f"{g('fault_copy_us_p50'):.0f} | {p50 - plug:.0f} | {g('before_us'):.0f} | {g('after_us'):.0f} "
                  f"| {spin} |"
                  if v != 'tcp' else
                  f"| {v} | {p50:.0f} | {runs} | {p50 / floor:.2f} | 1.00 "
                  f"| - | - | - | - | - | - | - | - |")
        # each variant against the first RDMA variant of the list, run by run (the same guest, the same minute)
        ref = next((v for v in order if v.startswith('rdma')), None)
        base = {x['run']: x['p50'] for x in res.get((mtu, ref), [])}
        for v in order:
            if v == ref or not v.startswith('rdma'):
                continue
            r = [x['p50'] / base[x['run']] for x in res.get((mtu, v), []) if x['run'] in base]
            if r:
                print(f'MTU {mtu}: {v} / {ref}, run by run: median {med(r):.2f}, lower in {sum(x < 1 for x in r)} '
                      f'of {len(r)} runs ({", ".join("%.2f" % x for x in r)})')
        print()


if __name__ == '__main__':
    main(sys.argv[1:])
