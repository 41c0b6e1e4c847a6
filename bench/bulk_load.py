"""How fast demo data loads (``python -m bench.bulk_load [cases…] [--calls-up-to N]``).

For each size, in fresh processes on new stores: the bulk load (``generate(bulk=True)``: every
call checked by the service, the whole load written once as a new snapshot generation) beside
the same data entered call by call through the journal (``generate(bulk=False)``, the reference,
measured in the same run). Printed: seconds, cases a second, peak memory, and the reference's time
as a multiple of the bulk load's. The reference is skipped above ``--calls-up-to`` cases (it takes
about 8 ms a case). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
from pathlib import Path
import workbench
from bench.memory import peak_rss_mb
from workbench.demo import ensure_demo_users, generate, loader
data, cases, bulk = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "bulk"
workbench.init(data)
ensure_demo_users(data)
wb = workbench.open(data, user=loader())
began = time.perf_counter()
summary = generate(wb, cases, bulk=bulk)
seconds = time.perf_counter() - began
print(json.dumps({"seconds": seconds, "events": summary.events, "peak_mb": peak_rss_mb()}))
"""


def _load(cases: int, how: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(Path(tmp) / "data"), str(cases), how],
                             cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--calls-up-to", type=int, default=10_000,
                        help="measure the call-by-call reference only up to this many cases")
    args = parser.parse_args(argv)
    print(f"{'cases':>8} {'events':>8} {'bulk s':>8} {'cases/s':>8} {'peak MB':>8} "
          f"{'calls s':>8} {'peak MB':>8} {'calls/bulk':>10}")
    for cases in args.cases:
        bulk = _load(cases, "bulk")
        row = (f"{cases:>8,} {int(bulk['events']):>8,} {bulk['seconds']:>8.1f} {cases / bulk['seconds']:>8,.0f} "
               f"{bulk['peak_mb']:>8.0f}")
        if cases <= args.calls_up_to:
            calls = _load(cases, "calls")
            row += f" {calls['seconds']:>8.1f} {calls['peak_mb']:>8.0f} {calls['seconds'] / bulk['seconds']:>9.2f}×"
        print(row, flush=True)


if __name__ == "__main__":
    main()
