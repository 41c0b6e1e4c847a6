"""Benchmarks, run on demand (``make bench`` or ``python -m bench.run 1000 10000 100000``).

For each size: build a demo store, then in fresh processes measure
- recording one event (p50, p95; durable when it returns) beside an fsync'd append of one
  JSON line of the same size;
- building every frame cold (open + all frames) beside ``pl.read_ndjson`` of the same events;
- peak memory of each process (its own VmHWM: ``bench/memory.py``).
Numbers are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, random, statistics, sys, time
from pathlib import Path
import polars as pl
import workbench
from workbench.demo import loader
from bench.memory import peak_rss_mb as peak_mb
mode, data = sys.argv[1], Path(sys.argv[2])

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000

if mode == "frames":
    t_import = time.perf_counter()
    import workbench.reporting.frames, workbench.service  # noqa: E401 - the package imports lazily
    imports = time.perf_counter() - t_import
    t0 = time.perf_counter()
    wb = workbench.open(data, user=loader())
    frames = wb.frames.all()
    total = time.perf_counter() - t0
    snap = json.loads((data / "CURRENT").read_text())["generation"]
    events_file = data / f"snapshot-{snap:06d}" / "events.ndjson"
    from workbench.store.schema import TABLES
    t1 = time.perf_counter()
    pl.read_ndjson(events_file, schema=TABLES["events"].schema)
    ref = time.perf_counter() - t1
    print(json.dumps({"frames_s": total, "read_ndjson_s": ref, "imports_s": imports, "events": frames["events"].height,
                      "cases": frames["cases"].height, "peak_mb": peak_mb()}))
else:
    wb = workbench.open(data, user=loader())
    cases = wb.frames.cases
    open_ids = cases.filter(pl.col("status") != "closed")["case_id"].to_list()
    rng = random.Random(1)
    timings, line = [], None
    for i in range(200):
        case_id = rng.choice(open_ids)
        t0 = time.perf_counter()
        event = wb.record_event(case_id, "note", text=f"Benchmark-note {i}")
        timings.append(time.perf_counter() - t0)
        line = json.dumps(event).encode() + b"\n"
    ref = []
    with open(data.parent / "ref.ndjson", "ab") as handle:
        for _ in range(200):
            t0 = time.perf_counter()
            handle.write(line); handle.flush(); os.fsync(handle.fileno())
            ref.append(time.perf_counter() - t0)
    print(json.dumps({"p50_ms": pct(timings, 50), "p95_ms": pct(timings, 95),
                      "ref_p50_ms": pct(ref, 50), "ref_p95_ms": pct(ref, 95), "peak_mb": peak_mb()}))
"""


def _child(mode: str, data: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(data)], capture_output=True, text=True,
                         env=env, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(size: int) -> None:
    """Build a store of ``size`` demo cases and print its numbers."""
    import workbench
    from workbench.demo import generate, loader

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        summary = generate(workbench.open(data, user=loader()), size)
        built = time.perf_counter() - t0
        frames = _child("frames", data)
        write = _child("write", data)
        print(f"\n== {size:,} cases ({summary.events:,} events; demo data built in {built:.1f} s)")
        print(f"record one event     p50 {write['p50_ms']:7.2f} ms   p95 {write['p95_ms']:7.2f} ms"
              f"   | fsync'd append of one line: p50 {write['ref_p50_ms']:.2f} ms, p95 {write['ref_p95_ms']:.2f} ms"
              f"   (ratio p50 {write['p50_ms'] / max(write['ref_p50_ms'], 1e-6):.1f}x)")
        print(f"all frames cold      {frames['frames_s'] * 1000:7.0f} ms"
              f"              | pl.read_ndjson of the events: {frames['read_ndjson_s'] * 1000:.0f} ms"
              f"   (ratio {frames['frames_s'] / max(frames['read_ndjson_s'], 1e-6):.1f}x;"
              f" importing the package before that: {frames['imports_s'] * 1000:.0f} ms)")
        print(f"peak memory          frames process {frames['peak_mb']:.0f} MB, writer process {write['peak_mb']:.0f} MB")


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    print("Brobygning Workbench benchmarks (targets at 10k cases: record p50 <= 10 ms, p95 <= 30 ms;"
          " frames cold <= 0.5 s)")
    for size in sizes:
        run(size)


if __name__ == "__main__":
    main()
