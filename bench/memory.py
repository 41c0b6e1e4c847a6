"""A process's own peak memory, for the benchmarks.

``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is wrong for a child started with ``subprocess``
on Linux: the child is forked from the parent, and the peak it reports can be the parent's
(a 190 MB child printed 475 MB). ``VmHWM`` in ``/proc/self/status`` is the high-water mark
of the process's own address space, which starts afresh at ``exec``.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (VmHWM on Linux; ru_maxrss elsewhere)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
