"""The benchmarks' reference page served by the one server the way the dashboards are: read from the
folder ``WorkbenchApp.dashboards_folder`` names, from a pool ``WorkbenchApp.preheat_also`` keeps warm."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, demo_data, serving

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_MS = 240_000


def test_a_page_of_the_configured_folder_is_served_from_its_own_preheated_kernels(
        tmp_path: Path, context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    data = demo_data(tmp_path, cases=50)  # its own folder: stopping a server stops every kernel on its folder
    pages = tmp_path / "pages"
    pages.mkdir()
    for notebook in (*(ROOT / "dashboards").glob("*.ipynb"), ROOT / "bench" / "reference" / "bare.ipynb"):
        shutil.copyfile(notebook, pages / notebook.name)
    conf = tmp_path / "jupyter-config"
    conf.mkdir()
    (conf / "jupyter_server_config.json").write_text(json.dumps(
        {"WorkbenchApp": {"dashboards_folder": str(pages), "preheat_also": ["bare.ipynb"]}}), "utf-8")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(conf))
    with serving(data, tmp_path, "--user", "demo.koordinator") as server:
        deadline = time.monotonic() + 240
        while "Kernel pool of bare.ipynb is filled" not in server.log_text():
            assert time.monotonic() < deadline, server.log_text()[-3000:]
            time.sleep(0.5)
        page = context.new_page()
        page.goto(server.url("bare.ipynb"), timeout=LOAD_TIMEOUT_MS)
        page.locator(".wb-bare").wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
        assert page.locator(".widget-tab").count() == 1
        assert "Using pre-heated kernel" in server.log_text()
        assert "Traceback" not in page.inner_text("body")
