"""Running the notebooks as tests (nbmake): each on a fresh demo store's extract, as the demo lab user.

The demo store and its extract are made once, in a temporary folder, before the first notebook
runs; every notebook's exports go to a temporary folder too, and must carry the extract's id
and the notebook's name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

DEMO_CASES = "1500"
EXPORTS = {
    "04_datakvalitet": ["04_datakvalitet-datakvalitet.csv"],
    "05_laeringslab": ["05_laeringslab-rapport.html", "05_laeringslab-tragt.svg"],
}
_state: dict[str, Path] = {}
_saved: dict[str, str | None] = {}
_PASSED = pytest.StashKey[bool]()


def _workbench(*args: str, data: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "workbench.cli", *args, "--data", str(data)], check=False,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    if done.returncode:
        pytest.fail(f"workbench {' '.join(args)} failed: {done.stderr.strip()}")


def _prepare() -> None:
    root = Path(tempfile.mkdtemp(prefix="notebooks-"))
    data = root / "data"
    _workbench("demo", "--cases", DEMO_CASES, data=data)
    _workbench("extract", "--user", "demo.admin", data=data)
    _state.update(root=root, data=data, exports=root / "exports")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.path.suffix != ".ipynb":
        return
    if not _state:
        _prepare()
    environment = {"WORKBENCH_DATA": str(_state["data"]), "WORKBENCH_USER": "demo.lab",
                   "WORKBENCH_EXPORTS": str(_state["exports"]), "WORKBENCH_LANG": "da",
                   "JPY_SESSION_NAME": str(item.path)}  # as Jupyter Server tells a kernel its notebook
    _saved.update({name: os.environ.get(name) for name in environment})
    os.environ.update(environment)  # the notebook's kernel inherits it; restored after the notebook


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if item.path.suffix != ".ipynb":
        return
    for name, value in _saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if not item.stash.get(_PASSED, False):
        return  # a notebook that failed says why itself
    extract_id = (_state["data"] / "extracts" / "LATEST").read_text().strip()
    for name in EXPORTS.get(item.path.stem, []):
        text = (_state["exports"] / name).read_text("utf-8")
        assert extract_id in text and item.path.stem in text, f"{name} does not name the extract and the notebook"


def pytest_sessionfinish(session: Any) -> None:
    if _state:
        shutil.rmtree(_state["root"], ignore_errors=True)
