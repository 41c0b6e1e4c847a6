"""Each demo user sees what their role allows, in the browser: ``workbench serve --user ID``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import ROOT, _env, demo_data, serving
from people import staff
from playwright.sync_api import expect

import workbench

pytestmark = pytest.mark.e2e
LOAD_TIMEOUT_MS = 240_000  # first paint of a Voila page on a shared 2-core machine


def test_a_coordinator_sees_their_own_site_and_the_lead_page_says_it_is_not_for_them(
        tmp_path: Path, browser: Any, screenshots: Path) -> None:
    data = demo_data(tmp_path, cases=80)
    cases = workbench.open(data, user=staff("test")).frames.cases
    assert cases.filter(pl.col("site") == "AAR").height and cases.filter(pl.col("site") == "ODE").height
    with serving(data, tmp_path, "--user", "demo.koordinator.aar") as server:
        context = browser.new_context(locale="da-DK")
        try:
            page = context.new_page()
            page.goto(server.url(), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
            expect(page.locator(".wb-overview h3").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            header = page.locator(".wb-header").inner_text()
            assert "Demo Koordinator Aarhus" in header and "Aarhus" in header
            text = page.inner_text("body")
            assert "ODE-" not in text  # no Odense case number anywhere on the page
            page.screenshot(path=str(screenshots / "roles-koordinator-aarhus.png"), full_page=True)
            page.goto(server.url("projektleder.ipynb"), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
            refusal = page.locator(".wb-error")
            expect(refusal).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            assert refusal.inner_text() == ("Denne side er for en projektleder. Du er logget ind som "
                                            "Demo Koordinator Aarhus (koordinator).")
            assert "Traceback" not in page.inner_text("body")
            page.screenshot(path=str(screenshots / "roles-projektleder-afvist.png"), full_page=True)
        finally:
            context.close()


def test_an_administrator_has_no_case_work_and_no_lead_page(tmp_path: Path, browser: Any, screenshots: Path) -> None:
    data = demo_data(tmp_path, cases=20)
    with serving(data, tmp_path, "--user", "demo.admin") as server:
        context = browser.new_context(locale="da-DK")
        try:
            page = context.new_page()
            for notebook, page_role in (("koordinator.ipynb", "koordinator"), ("projektleder.ipynb", "projektleder")):
                page.goto(server.url(notebook), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
                refusal = page.locator(".wb-error")
                expect(refusal).to_be_visible(timeout=LOAD_TIMEOUT_MS)
                assert refusal.inner_text() == (f"Denne side er for en {page_role}. Du er logget ind som "
                                                "Demo Administrator (administrator).")
                body = page.inner_text("body")
                assert "Traceback" not in body and "ODE-" not in body and "AAR-" not in body
            page.screenshot(path=str(screenshots / "roles-admin-afvist.png"), full_page=True)
        finally:
            context.close()


def test_serve_refuses_a_user_who_is_not_in_users_toml(tmp_path: Path) -> None:
    data = demo_data(tmp_path, cases=20)
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "serve", "--data", str(data), "--user", "mallory",
                           "--port", "1"], env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 1
    assert "Brugeren mallory findes ikke" in done.stderr and "Traceback" not in done.stderr
