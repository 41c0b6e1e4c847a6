"""The benchmarks' memory figure is each process's own peak, not its parent's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.memory import peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys
from bench.memory import peak_rss_mb
block = bytearray(int(sys.argv[1]) * 1024 * 1024)  # zero-filled: every page touched
print(json.dumps(peak_rss_mb()))
"""


def _child_peak(megabytes: int) -> float:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(megabytes)], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    return float(json.loads(done.stdout))


def test_a_child_reports_its_own_peak_whatever_the_parent_holds() -> None:
    held = bytearray(400 * 1024 * 1024)  # the parent's peak is now above 400 MB
    assert peak_rss_mb() > 400
    small, large = _child_peak(0), _child_peak(200)
    assert small < 200, small  # not the parent's 400 MB
    assert 180 < large - small < 230, (small, large)
    del held
