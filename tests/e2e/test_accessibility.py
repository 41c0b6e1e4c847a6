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

import workbench
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
        if key == "case":  # with a case and one of its steps open, so its sections and forms are checked too
            root.locator(".wb-case-find").click()
            root.get_by_role("button", name=re.compile(f"^{da('ui.open')}")).first.click()
            expect(root.locator(".wb-case-timeline")).to_be_visible(timeout=STEP_TIMEOUT_MS)
            root.locator(".wb-case-steps button").first.click()  # and a step's form
            expect(root.locator(".wb-case-step .wb-step-save")).to_be_visible(timeout=STEP_TIMEOUT_MS)
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


def tab_to(page: Any, target: Any, most: int = 120) -> int:
    """Press Tab until ``target`` has the focus; how many presses it took (fails if it is never reached)."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if target.evaluate("(element) => element === document.activeElement"):
            return presses
    pytest.fail(f"Tab never reached {target}")


def test_a_referral_is_made_with_the_keyboard_alone(server: Any, watched_page: Any) -> None:
    """Every field is found by its label, reached with Tab in the order it is shown, filled with
    keys, and the form is sent with Enter on its button: no mouse at all after the tab is chosen."""
    page = watched_page.page
    page.goto(server.url(), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".wb-overview h3").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    intake = open_tab(page, "intake")
    name = intake.get_by_label(da("ui.intake.field.display_name"), exact=True)
    name.focus()
    page.keyboard.type("Tove Ågård")
    for label, keys in ((da("ui.intake.field.birth_year"), "1950"), (da("ui.intake.field.postal_code"), "5000"),
                        (da("ui.intake.field.phone"), "20 30 40 50")):
        assert tab_to(page, intake.get_by_label(label, exact=True)) == 1  # the next field, in reading order
        page.keyboard.type(keys)
    tab_to(page, intake.get_by_label("arabisk", exact=True))
    page.keyboard.press("Space")
    tab_to(page, intake.get_by_label(da("ui.intake.field.referral_source"), exact=True))
    page.keyboard.type(da("referral_source.doctor"))  # a closed list chooses by typing, as in any form
    tab_to(page, intake.get_by_label(da("ui.intake.consent.case_work"), exact=True))
    page.keyboard.press("Space")
    tab_to(page, intake.get_by_role("button", name=da("ui.intake.submit"), exact=True))
    page.keyboard.press("Enter")
    result = intake.locator(".wb-intake-result")
    expect(result).to_be_visible(timeout=STEP_TIMEOUT_MS)  # laid out: its text has line breaks, not run-ons
    prefix = da("ui.intake.result", number="")
    expect(result).to_contain_text(prefix, timeout=STEP_TIMEOUT_MS)
    case = re.search(re.escape(prefix) + r"\s*([A-Z]{3}-\d{4}-\d{4})", result.inner_text())
    assert case is not None
    wb = workbench.open(server.data, user="demo.koordinator")
    [row] = wb.frames.cases.filter(wb.frames.cases["case_number"] == case.group(1)).to_dicts()
    citizen = wb.citizen(row["citizen_id"])
    assert (citizen["display_name"], citizen["birth_year"], citizen["postal_code"]) == ("Tove Ågård", 1950, "5000")
    assert citizen["languages"] == ["da", "ar"] and citizen["referral_source"] == "doctor"
