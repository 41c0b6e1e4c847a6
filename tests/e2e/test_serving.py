"""``workbench serve`` in a real browser: the coordinator dashboard loads, in Danish, safely.

Times are printed, never asserted (DESIGN.md: speed is measured, not guarded by tests).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import demo_data, serving

from workbench import i18n
from workbench.serve import POOL_SIZE

pytestmark = pytest.mark.e2e

TITLE = i18n.t("ui.title", "da")
TABS = [i18n.t(f"ui.tab.{key}", "da") for key in ("overview", "volunteers", "intake", "case", "communities")]
LOADING = i18n.t("serve.loading", "da")
SOURCE_MARKERS = ("coordinator_app", "import workbench", "wait_for_request", "from voila")
LOAD_TIMEOUT_MS = 240_000


def _report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[e2e] {line}")


def _preheated_uses(server: Any) -> int:
    return server.log_text().count("Using pre-heated kernel")


def _wait_for_pool(server: Any, filled_before: int, timeout: float = 120) -> None:
    """Wait until Voila has refilled its pool of preheated kernels (best effort)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.log_text().count("Kernel pool of koordinator.ipynb is filled") > filled_before:
            return
        time.sleep(0.5)


def _open_dashboard(page: Any, server: Any) -> float:
    """Navigate and wait for the five tabs; seconds from navigation to tabs visible."""
    started = time.perf_counter()
    page.goto(server.url(), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    for name in TABS:
        page.get_by_role("tab", name=name, exact=True).wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
    return time.perf_counter() - started


def test_dashboard_loads_in_danish_cold_then_warm(
    server: Any, context: Any, offsite: Any, screenshots: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    page = context.new_page()
    filled = server.log_text().count("Kernel pool of koordinator.ipynb is filled")
    used = _preheated_uses(server)
    cold = _open_dashboard(page, server)
    _report(capsys, f"first page load: tabs visible after {cold:.1f} s "
                    f"(preheated kernel: {'yes' if _preheated_uses(server) > used else 'no'})")

    assert page.title() == TITLE
    page.get_by_role("heading", name=TITLE).wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
    for name in TABS:
        assert page.get_by_role("tab", name=name, exact=True).is_visible()
    page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
    text = page.inner_text("body")
    assert "Traceback" not in text and "Traceback" not in page.content()
    assert not page.locator("#loading").is_visible(), "the loading screen is still shown"
    page.screenshot(path=str(screenshots / "koordinator-overblik.png"), full_page=True)

    # A second page, as when the coordinator opens the dashboard again: a preheated kernel.
    _wait_for_pool(server, filled)
    used = _preheated_uses(server)
    again = context.new_page()
    warm = _open_dashboard(again, server)
    _report(capsys, f"second page load: tabs visible after {warm:.1f} s "
                    f"(preheated kernel: {'yes' if _preheated_uses(server) > used else 'no'})")
    assert "Traceback" not in again.inner_text("body")
    offsite.check()


def test_twenty_page_loads_and_closes_leave_no_kernels_behind(
    tmp_path: Path, context: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Closing a page shuts its kernel down: after 20 loads and closes, no more kernels run than the
    coordinator's preheated pool and one more, within two minutes. The page's "closed" beacon does it, and
    where a beacon is lost (on a loaded machine Chromium lost a fifth to a third of them), the server's
    culling of kernels without a page (``WorkbenchApp.cull_after``, here 30 s) does."""
    conf = tmp_path / "jupyter-config"
    conf.mkdir()
    (conf / "jupyter_server_config.json").write_text(json.dumps({"WorkbenchApp": {"cull_after": 30}}), "utf-8")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(conf))
    with serving(demo_data(tmp_path, cases=50), tmp_path, "--user", "demo.koordinator") as server:
        most = POOL_SIZE + 1
        for _ in range(20):
            page = context.new_page()
            _open_dashboard(page, server)
            page.close(run_before_unload=True)  # as a browser closing the tab: the "page closed" beacon is sent
        deadline = time.monotonic() + 120
        while server.kernels() > most and time.monotonic() < deadline:
            time.sleep(1)
        running = server.kernels()
        beacons = server.log_text().count("Kernel shutdown")
        _report(capsys, f"20 page loads and closes: {running} kernels running after (at most {most}); "
                        f"{beacons} shut down by their page or the culler")
        assert running <= most


def test_served_html_holds_no_source_and_loads_in_danish(server: Any) -> None:
    status, headers, html = server.render()
    assert status == 200 and headers.get("Content-Type", "").startswith("text/html")
    assert LOADING in html
    progress = i18n.t("serve.progress", "da", step="{step}", total="{total}")
    assert json.dumps(progress) in html  # the Danish progress text, as a JavaScript string
    assert "Executing ${cell_index}" in html  # Voila's English text is only defined, then replaced:
    assert html.index("Executing ${cell_index}") < html.index("window.voila_process = window.update_loading_text")
    for marker in SOURCE_MARKERS:
        assert marker not in html, f"notebook source leaked into the page: {marker!r}"
    assert "Traceback" not in html
    assert '<html lang="da"' in html
    external = [u for u in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if re.match(r"(https?:)?//", u)]
    assert [u for u in external if not u.startswith("http://127.0.0.1")] == []
    assert "cdn.jsdelivr.net" not in html and "fontawesome" not in html.lower()


def test_page_needs_the_token(server: Any, page: Any) -> None:
    status, headers, body = server.get(server.url(token=False))
    assert status in (302, 403), status
    if status == 302:
        assert "/login" in headers.get("Location", "")
    assert TITLE not in body
    wrong_status, _, wrong_body = server.get(server.url(token=False, query="token=not-the-token-at-all"))
    assert wrong_status in (302, 403) and TITLE not in wrong_body

    response = page.goto(server.url(token=False), timeout=LOAD_TIMEOUT_MS)
    assert response is not None
    assert "/login" in page.url or response.status == 403
    assert page.get_by_role("tab", name=TABS[0], exact=True).count() == 0
    assert TITLE not in page.content()


def test_notebook_file_and_contents_are_not_served(server: Any) -> None:
    status, _, body = server.get(f"{server.base}/voila/files/koordinator.ipynb?token={server.token}")
    assert status in (403, 404) and "coordinator_app" not in body
    status, _, body = server.get(f"{server.base}/voila/api/contents/koordinator.ipynb?token={server.token}")
    assert "coordinator_app" not in body and "import workbench" not in body


def test_template_and_theme_cannot_be_switched_from_the_address_bar(server: Any) -> None:
    status, _, html = server.render(query="template=lab&theme=dark")
    assert status == 200
    assert LOADING in html and "cdn.jsdelivr.net" not in html


def test_serve_prints_the_full_address_once_it_answers(server: Any) -> None:
    log = server.log_text()
    assert f"{server.base}/workbench/?token={server.token}" in log  # the landing page: one address for everything
    assert str(server.data / "voila-token") in log
    assert "Kernel is running over TCP" not in log  # kernels use Unix sockets on Linux
