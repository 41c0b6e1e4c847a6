"""How long a second writer waits while a bulk load runs (``python -m bench.bulk_wait [cases…]``).

A child process loads N demo cases in one batch (``generate(..., bulk=False)``: call by call, committed in
chunks; ``workbench demo``'s bulk load holds no lock while it runs, and a note landing meanwhile makes
it refuse, so there is nothing to wait for); meanwhile this process
records one note after another on a case of its own and times each call. Printed: the longest and
the median wait beside the same call with no load running (the reference, measured in the same
run), and how long the load took. Numbers are printed, never asserted.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import workbench
from workbench.demo import demo_users, ensure_demo_users, loader

ROOT = Path(__file__).resolve().parents[1]
_BATCH_LOAD = """
import sys
import workbench
from workbench.demo import generate, loader
generate(workbench.open(sys.argv[1], user=loader()), int(sys.argv[2]), bulk=False)
"""


def _timed_notes(wb: workbench.service.Workbench, case_id: str, until: subprocess.Popen[bytes] | None,
                 count: int = 50) -> list[float]:
    """Seconds each note took: while ``until`` runs, else ``count`` of them."""
    waits: list[float] = []
    while (until is not None and until.poll() is None) or (until is None and len(waits) < count):
        started = time.perf_counter()
        wb.record_event(case_id, "note", text="Ringede")
        waits.append(time.perf_counter() - started)
    return waits


def measure(cases: int) -> None:
    with tempfile.TemporaryDirectory(prefix=f"bench-bulk-{cases}-") as tmp:
        data = Path(tmp) / "data"
        workbench.init(data)
        ensure_demo_users(data)
        workbench.open(data, user=loader()).add_site("ODE", "Frivilligcenter Odense", "Odense")
        coordinator = next(u for u in demo_users() if u.id == "demo.koordinator")
        wb = workbench.open(data, user=coordinator)
        case = wb.open_referral(site_id="ODE", citizen={"display_name": "Bench Borger"},
                                consents=[{"purpose": "case_work", "given": True}])
        alone = _timed_notes(wb, case["id"], None)
        began = time.perf_counter()
        load = subprocess.Popen([sys.executable, "-c", _BATCH_LOAD, str(data), str(cases)], cwd=ROOT,
                                stdout=subprocess.DEVNULL)
        during = _timed_notes(wb, case["id"], load)
        took = time.perf_counter() - began
        print(f"== bulk load of {cases:,} cases ({took:.1f} s): {len(during)} notes recorded meanwhile")
        print(f"   longest wait {max(during) * 1000:7.0f} ms   median {statistics.median(during) * 1000:6.1f} ms"
              f"   | the same note with no load: median {statistics.median(alone) * 1000:.1f} ms"
              f" (longest wait = {max(during) / statistics.median(alone):.0f}x)")


def main() -> None:
    for cases in [int(a) for a in sys.argv[1:]] or [2_000, 10_000]:
        measure(cases)


if __name__ == "__main__":
    main()
