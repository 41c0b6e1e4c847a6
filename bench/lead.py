"""Time to render every chart of the project lead's dashboard (``python -m bench.lead``).

For each data folder (or demo size, built into a temporary folder) a fresh process:
imports the dashboard, bundles the JupyterChart JavaScript (what a preheated kernel does
before the page request), opens the store and builds the frames, then builds the page
(every chart: analysis table and Altair spec, which the browser draws; the SVG an export renders
with vl-convert is timed apart) and redraws it twice more as a filter change would. Prints each step, the slowest charts and the process's own peak memory (VmHWM).
Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
from bench.memory import peak_rss_mb
t0 = time.perf_counter()
import workbench
from workbench.demo import demo_users
import workbench.ui.lead as lead
from workbench.reporting import charts
imports = time.perf_counter() - t0
t0 = time.perf_counter(); lead.enable_offline_charts(); bundle = time.perf_counter() - t0
t0 = time.perf_counter()
wb = workbench.open(sys.argv[1], user=next(u for u in demo_users() if u.id == "demo.projektleder"))
wb.frames.all()
frames = time.perf_counter() - t0
t0 = time.perf_counter(); app = lead.LeadApp(wb); first = time.perf_counter() - t0
per_view = {}
for view in lead.VIEWS:
    t0 = time.perf_counter()
    with charts.fast_build():
        chart = app.build(view)
    built = time.perf_counter() - t0
    t0 = time.perf_counter(); charts.to_svg(chart); svg = time.perf_counter() - t0
    per_view[view] = (built, svg)
redraws = []
for _ in range(2):
    t0 = time.perf_counter(); app.redraw(); redraws.append(time.perf_counter() - t0)
spec_bytes = sum(len(json.dumps(c.to_dict())) for c in app.charts.values())
print(json.dumps({"cases": wb.frames.cases.height, "imports": imports, "bundle": bundle, "frames": frames,
                  "first": first, "redraws": redraws, "per_view": per_view, "spec_bytes": spec_bytes,
                  "peak_mb": peak_rss_mb()}))
"""


def measure(data: Path) -> dict[str, object]:
    """Run the measuring child on one data folder and return what it printed."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(data)], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"measuring {data} failed:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def build_demo(cases: int, into: Path) -> Path:
    """A demo store of ``cases`` cases (seeded, as ``workbench demo`` makes it)."""
    subprocess.run([sys.executable, "-m", "workbench.cli", "demo", "--cases", str(cases), "--data", str(into)],
                   check=True, cwd=ROOT, capture_output=True)
    return into


def report(result: dict[str, object]) -> None:
    per_view: dict[str, list[float]] = result["per_view"]  # type: ignore[assignment]
    redraws: list[float] = result["redraws"]  # type: ignore[assignment]
    print(f"\n{result['cases']:,} cases")
    print(f"  imports {result['imports']:.2f} s; JupyterChart bundle (read from the cache after the first kernel) {result['bundle']:.2f} s; "
          f"store + frames {result['frames']:.2f} s   (all three before the page request in a preheated kernel)")
    print(f"  page built with every chart: {result['first']:.2f} s (first); "
          f"redraw after a filter change: {', '.join(f'{r:.2f} s' for r in redraws)}")
    print("  per chart (table + spec / SVG):")
    for view, (built, svg) in per_view.items():
        print(f"    {view:13} {built * 1000:7.0f} ms / {svg * 1000:6.0f} ms")
    print(f"  specs sent to the page: {cast(int, result['spec_bytes']) / 1024:.0f} KiB in all (aggregates only); "
          f"peak memory {result['peak_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000],
                        help="demo sizes to build and measure (default 1000 10000)")
    parser.add_argument("--data", type=Path, action="append", default=[],
                        help="an existing data folder to measure instead (repeatable)")
    args = parser.parse_args()
    if args.data:
        for data in args.data:
            report(measure(data))
        return
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"bench-lead-{size}-") as tmp:
            report(measure(build_demo(size, Path(tmp) / "data")))


if __name__ == "__main__":
    main()
