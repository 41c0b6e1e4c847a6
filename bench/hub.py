"""JupyterHub: the time from signing in to a usable dashboard (``python -m bench.hub``).

Starts the hub of ``tests/e2e/test_jupyterhub.py`` (``docs/jupyterhub_config.py`` with the test's
authenticator, spawner and proxy) on N demo cases. For each coordinator in turn, headless Chromium
signs in at the hub's login page, waits for the person's own server, opens the dashboard from the
landing page and waits for the overview. The hub starts each person's server on sign-in: that
server's start is part of the time.

The reference, in the same run: the same dashboard through ``workbench serve`` (the one server,
already running with its pool warm), from navigation to the overview. Times are printed with their
ratio to it, never asserted.

    python -m bench.hub                  # 2,000 cases
    python -m bench.hub --cases 10000
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.dashboard import E2E, PAGES, ROOT, browser_load, start_server, wait_ready
from workbench.i18n import t

COORDINATORS = ("demo.koordinator", "hub.aar")


def _hub_test() -> ModuleType:
    """``tests/e2e/test_jupyterhub.py`` loaded by path (``tests`` is not a package; it imports its conftest)."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    spec = importlib.util.spec_from_file_location("workbench_e2e_hub", ROOT / "tests" / "e2e" / "test_jupyterhub.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def sign_in_to_dashboard(browser: Any, hub: Any, user: str) -> tuple[float, float]:
    """Seconds from submitting the hub's login form to the landing page, and to the dashboard's overview."""
    context = browser.new_context(viewport=E2E.VIEWPORT, locale="da-DK", service_workers="block")
    context.route(lambda url: not E2E.is_local(url), lambda route: route.abort())
    try:
        page = context.new_page()
        page.goto(f"{hub.base}/hub/login", timeout=120_000)
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", "demo")
        started = time.perf_counter()
        page.click("input[type=submit], button[type=submit]")
        page.locator(".wb-who").wait_for(state="visible", timeout=300_000)
        landing = time.perf_counter() - started
        page.get_by_role("link", name=t("landing.dashboard.coordinator", "da")).click()
        for selector in PAGES["coordinator"].ready:
            page.locator(selector).first.wait_for(state="visible", timeout=300_000)
        return landing, time.perf_counter() - started
    finally:
        context.close()


def run(cases: int) -> None:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    try:
        data = E2E.demo_data(folder, cases)
        print(f"data: {cases:,} demo cases in {data}")
        server = start_server(data, folder / "serve.log", "demo.koordinator")
        try:
            wait_ready(server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(E2E.CHROMIUM), args=E2E.CHROMIUM_ARGS,
                                                     headless=True)
                try:
                    reference = statistics.median(browser_load(browser, server, PAGES["coordinator"]).usable_s
                                                  for _ in range(3))
                finally:
                    browser.close()
        finally:
            E2E._stop(server.proc, data)
        hubs = _hub_test()
        started = time.perf_counter()
        hub = hubs.start_hub(folder, data)
        print(f"hub: answering {time.perf_counter() - started:.1f} s after start")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(E2E.CHROMIUM), args=E2E.CHROMIUM_ARGS,
                                                     headless=True)
                try:
                    for user in COORDINATORS:
                        landing, usable = sign_in_to_dashboard(browser, hub, user)
                        print(f"{user}: sign-in -> landing page {landing:.1f} s (the hub starts their server), "
                              f"-> usable dashboard {usable:.1f} s = {usable / reference:.2f}x the reference's "
                              f"{reference:.2f} s (the dashboard through workbench serve, warm)")
                finally:
                    browser.close()
        finally:
            hubs.stop_hub(hub)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="demo cases (default 2000)")
    run(parser.parse_args(argv).cases)


if __name__ == "__main__":
    main()
