"""A lab user in the one server: the landing page leads to JupyterLab, whose launcher has a "Brobygning"
section; a tile opens a notebook, and its first cell opens the newest research extract."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ROOT, Server, _env, demo_data, serving
from playwright.sync_api import expect

from workbench.i18n import t

LOAD_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``workbench serve --user demo.lab`` on demo data with a research extract, JupyterLab in a folder of its own
    (which gets its own copies of the notebooks: nothing in the checkout's notebooks/ changes)."""
    folder = tmp_path_factory.mktemp("lab")
    (folder / "work").mkdir()
    data = demo_data(folder, cases=300)
    made = subprocess.run([sys.executable, "-m", "workbench.cli", "extract", "--data", str(data), "--user", "demo.admin"],
                          env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert made.returncode == 0, made.stderr
    with serving(data, folder, "--user", "demo.lab", "--workdir", str(folder / "work")) as running:
        yield running


def test_a_lab_users_server_keeps_no_dashboard_kernels_warm(lab_server: Server) -> None:
    time.sleep(5)  # a pool would have started its kernels by now
    assert lab_server.kernels() == 0  # preheated kernels only for the dashboards a role opens


def test_a_lab_user_opens_a_notebook_from_the_launcher_and_runs_its_first_cell(
        lab_server: Server, context: Any, offsite: Any) -> None:
    page = context.new_page()
    started = time.monotonic()
    page.goto(f"{lab_server.base}/workbench/?token={lab_server.token}", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".wb-who")).to_contain_text("Demo Laboratoriedeltager")
    assert "token" not in page.url
    page.goto(f"{lab_server.base}/lab?reset", timeout=LOAD_TIMEOUT_MS)
    section = page.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle", has_text="Brobygning"))
    tiles = section.locator(".jp-LauncherCard:visible")
    expect(tiles).to_have_count(5, timeout=LOAD_TIMEOUT_MS)
    print(f"\n[e2e] lab: launcher with the Brobygning tiles {time.monotonic() - started:.1f} s after the landing page")
    page.screenshot(path=str(ROOT / "screenshots" / "lab-launcher.png"))
    title = t("landing.notebook.01_kom_godt_i_gang", "da")
    tiles.filter(has_text=title).click()
    notebook = page.locator(".jp-NotebookPanel:visible")
    first_code = notebook.locator(".jp-CodeCell").first
    expect(first_code).to_contain_text("%load_ext workbench", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']:visible")).to_have_count(1, timeout=LOAD_TIMEOUT_MS)
    prompt = first_code.locator(".jp-InputPrompt")
    for _ in range(5):
        # Until the notebook's kernel session is connected, JupyterLab drops a run (the cell keeps "[ ]:"
        # and the selection moves on): select the cell and run it again until its prompt changes.
        first_code.locator(".jp-InputArea-editor").click(timeout=LOAD_TIMEOUT_MS)  # a loaded 2-core machine: not 30 s
        expect(first_code).to_have_class(re.compile(r"\bjp-mod-active\b"))
        page.keyboard.press("Shift+Enter")
        try:
            expect(prompt).not_to_have_text(re.compile(r"^\[\s*\]:$"), timeout=15_000)
            break
        except AssertionError:
            continue
    latest = (lab_server.data / "extracts" / "LATEST").read_text("utf-8").strip()
    try:
        expect(first_code.locator(".jp-OutputArea")).to_contain_text(latest, timeout=LOAD_TIMEOUT_MS)
    except AssertionError:
        page.screenshot(path=str(ROOT / "screenshots" / "lab-notebook-failed.png"))
        raise AssertionError(f"the first cell shows: {first_code.inner_text()}") from None
    assert "Traceback" not in first_code.inner_text()
    print(f"[e2e] lab: first cell run, extract {latest} opened, {time.monotonic() - started:.1f} s in all")
    page.screenshot(path=str(ROOT / "screenshots" / "lab-notebook.png"))
    assert (lab_server.data.parent / "work" / "brobygning" / "01_kom_godt_i_gang.ipynb").is_file()  # the lab user's copy
    offsite.check()


