"""The charts' offline JavaScript bundle: made once with vl-convert, then found by every later kernel
(the server sends it to the browser: ``tests/test_extension.py``).

Each kernel is a fresh Python process here (``JupyterChart``'s bundle is per process), with its own
cache folder (``XDG_CACHE_HOME``) in a temp dir.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KERNEL = """
import sys
import altair as alt
from workbench.serving import chart_bundle
chart_bundle.enable()
print(alt.JupyterChart._is_offline, "vl_convert" in sys.modules, len(alt.JupyterChart._esm))
"""


def kernel(cache: Path) -> list[str]:
    """What a kernel reports after enabling the offline charts: offline?, vl-convert loaded?, bundle size."""
    done = subprocess.run([sys.executable, "-c", KERNEL], env={**os.environ, "XDG_CACHE_HOME": str(cache)},
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.split()


def kept(cache: Path) -> Path:
    (path,) = (cache / "workbench").glob("jupyterchart-*.js")
    return path


def test_the_first_kernel_makes_the_bundle_and_later_ones_find_it_without_vl_convert(tmp_path: Path) -> None:
    first = kernel(tmp_path)
    assert first[:2] == ["True", "True"]  # bundled by vl-convert
    assert int(first[2]) < 1000  # a chart carries only the lines that import the served bundle
    assert kept(tmp_path).stat().st_size > 100_000  # vega, vega-lite and vega-embed are in it
    later = kernel(tmp_path)
    assert later == ["True", "False", first[2]]  # vl-convert never started


@pytest.mark.parametrize("damage", ["cut", "changed", "empty", "not-utf8"])
def test_a_damaged_bundle_is_made_again(tmp_path: Path, damage: str) -> None:
    kernel(tmp_path)
    path = kept(tmp_path)
    whole = path.read_bytes()
    path.write_bytes({
        "cut": whole[: len(whole) // 2],
        "changed": whole.replace(b"vega", b"vegA", 1),
        "empty": b"",
        "not-utf8": b"\xff\xfe" + whole[2:],
    }[damage])
    assert kernel(tmp_path)[:2] == ["True", "True"]  # not used: bundled again
    assert path.read_bytes() == whole


def test_a_cache_folder_that_cannot_be_written_still_draws_charts(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")  # the cache folder cannot be made under a file
    offline, _, size = kernel(blocked)
    assert offline == "True" and int(size) > 100_000  # each chart carries the whole bundle instead
