"""The research extract and the notebooks, timed (``python -m bench.extract 10000 100000``).

For each size: build a demo store, then in a fresh process time
- ``workbench extract`` cold (open, every frame, de-identification, Parquet, package), beside
  building every frame cold in another fresh process (the part of the work the dashboards do too)
  and beside polars writing the store's cases frame as Parquet (pure I/O);
- every notebook of ``notebooks/`` run top to bottom (nbclient) on that extract, beside a
  one-cell notebook that imports polars and workbench (a kernel's start and imports).
Numbers are printed as seconds and as ratios to the reference measured in the same run.
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
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))

_CHILD = r"""
import json, sys, time
from pathlib import Path
import polars as pl
import workbench
mode, data = sys.argv[1], Path(sys.argv[2])
t0 = time.perf_counter()
if mode == "extract":
    report = workbench.open(data, user="demo.admin").extract()
    out = {"seconds": time.perf_counter() - t0, "cases": report.cases, "left_out": report.left_out}
else:
    from workbench.demo import loader
    frames = workbench.open(data, user=loader()).frames.all()
    out = {"seconds": time.perf_counter() - t0}
    t1 = time.perf_counter()
    frames["cases"].write_parquet(data.parent / "reference-cases.parquet")
    out["write_parquet_s"] = time.perf_counter() - t1
print(json.dumps(out))
"""

_BARE = {"cells": [{"cell_type": "code", "execution_count": None, "id": "bare", "metadata": {}, "outputs": [],
                    "source": "import polars as pl\nimport workbench.lab\nimport workbench.research"}],
         "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
         "nbformat": 4, "nbformat_minor": 5}


def _child(mode: str, data: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, str(data)], capture_output=True, text=True,
                          check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _run_notebook(path: Path, data: Path, exports: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]  # nbformat.read has no annotations
    env = {"WORKBENCH_DATA": str(data), "WORKBENCH_USER": "demo.lab", "WORKBENCH_EXPORTS": str(exports),
           "JPY_SESSION_NAME": str(path)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        started = time.perf_counter()
        NotebookClient(book, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - started
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(size: int, folder: Path, notebooks: bool) -> None:
    data = folder / f"data-{size}"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "workbench.cli", "demo", "--cases", str(size), "--data", str(data)],
                   check=True, capture_output=True, cwd=ROOT)
    print(f"\n{size:>7} cases: demo store built in {time.perf_counter() - started:.0f} s")
    frames = _child("frames", data)
    extract = _child("extract", data)
    print(f"  extract (cold, in a fresh process) {extract['seconds']:7.2f} s  ({extract['cases']:.0f} cases written, "
          f"{extract['left_out']:.0f} left out for k-anonymity)")
    print(f"  every frame cold (reference)       {frames['seconds']:7.2f} s  -> extract is "
          f"{extract['seconds'] / frames['seconds']:.2f}x")
    print(f"  polars write_parquet of the cases  {frames['write_parquet_s']:7.2f} s  -> extract is "
          f"{extract['seconds'] / frames['write_parquet_s']:.0f}x")
    if not notebooks:
        return
    bare_path = folder / "bare.ipynb"
    bare_path.write_text(json.dumps(_BARE))
    exports = folder / "exports"
    _run_notebook(bare_path, data, exports)  # a first kernel start warms the disk cache: not counted
    seconds = {path.stem: _run_notebook(path, data, exports) for path in NOTEBOOKS}
    bare = sorted(_run_notebook(bare_path, data, exports) for _ in range(3))[1]
    print(f"  a kernel importing polars, workbench.lab and research (reference, median of 3) {bare:6.2f} s")
    for name, took in seconds.items():
        print(f"  {name:<28} {took:6.2f} s  ({took / bare:.1f}x the reference)")


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv if a.isdigit()] or [10_000, 100_000]
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        for size in sizes:
            run(size, Path(tmp), notebooks=size <= 10_000 and "--no-notebooks" not in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
