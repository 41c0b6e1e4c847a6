"""A coordinator's day in the real browser, in Danish: brobygger, henvisning, the whole forløb.

Against the real ``workbench serve`` (``server`` fixture: 200 demo cases, coordinator
"Demo Koordinator" at site ODE) in headless Chromium. Every step waits on a visible
element (a Voila page on a busy 2-core box can take tens of seconds), never on a sleep.

Also: a bad postal code is shown next to its field and saves nothing; names shaped like
HTML are shown as text and run nothing; no traceback ever reaches the page; no request
leaves 127.0.0.1; a full-page screenshot of each tab lands in ``screenshots/``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import workbench
from workbench import i18n

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_MS = 240_000  # first paint of a Voila page on a shared 2-core machine
STEP_TIMEOUT_MS = 90_000  # one round trip to the kernel (a click, a redraw)

VOLUNTEER = "Søren Ærø-Østergaard"
CITIZEN = "Karen Bøgh-Ørum"
HOSTILE_VOLUNTEER = "<img src=x onerror=alert(1)>"
HOSTILE_CITIZEN = "<script>alert(1)</script>"


def da(key: str, **values: Any) -> str:
    return i18n.t(key, "da", **values)


TAB = {key: da(f"ui.tab.{key}") for key in ("overview", "volunteers", "intake", "case", "communities")}
TAB_CSS = {"overview": ".wb-overview", "volunteers": ".wb-volunteers", "intake": ".wb-intake",
           "case": ".wb-case", "communities": ".wb-communities"}


@dataclass
class Dashboard:
    """One open coordinator page (a ``watched_page``: tracebacks and dialogs recorded)."""

    watched: Any
    server: Any
    shots: Path

    @property
    def page(self) -> Any:
        return self.watched.page

    @property
    def dialogs(self) -> list[str]:
        dialogs: list[str] = self.watched.dialogs
        return dialogs

    # -- navigation ----------------------------------------------------------------------------

    def open(self) -> float:
        """Load the dashboard; seconds until the overview shows its first section."""
        started = time.perf_counter()
        self.page.goto(self.server.url(), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
        expect(self.page.locator(".wb-overview h3").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
        elapsed = time.perf_counter() - started
        for name in TAB.values():
            expect(self.page.get_by_role("tab", name=name, exact=True)).to_be_visible(timeout=LOAD_TIMEOUT_MS)
        self.check_page()
        return elapsed

    def tab(self, key: str) -> Any:
        """Select a tab (built on first selection) and return its root element."""
        self.page.get_by_role("tab", name=TAB[key], exact=True).click()
        root = self.page.locator(TAB_CSS[key])
        expect(root).to_be_visible(timeout=STEP_TIMEOUT_MS)
        return root

    def field(self, scope: Any, name: str, control: str = "input") -> Any:
        return scope.locator(f".wb-field-{name} {control}").first

    def button(self, scope: Any, label: str) -> Any:
        return scope.get_by_role("button", name=label, exact=True)

    # -- checks ---------------------------------------------------------------------------------

    def check_page(self) -> None:
        """No traceback shown now or at any point so far; no dialog ever opened."""
        self.watched.check()

    def shot(self, name: str) -> Path:
        return self.watched.shot(self.shots / name)  # type: ignore[no-any-return]


@pytest.fixture
def dash(server: Any, watched_page: Any, screenshots: Path) -> Dashboard:
    """A dashboard page that records dialogs (dismissing them) and watches for tracebacks
    (``watched_page`` checks both again when the test ends)."""
    return Dashboard(watched_page, server, screenshots)


def case_count(server: Any) -> int:
    return int(workbench.open(server.data, user="demo.koordinator").frames.cases.height)


def register_volunteer(board: Dashboard, name: str, *, status: str, interests: str = "",
                       capacity: str = "3") -> Any:
    """Fill the brobygger form on the Brobyggere tab and save it; returns the tab."""
    tab = board.tab("volunteers")
    board.button(tab, da("ui.volunteers.new")).click()
    board.field(tab, "name").fill(name)
    board.field(tab, "status", "select").select_option(label=da(f"volunteer_status.{status}"))
    board.field(tab, "interests").fill(interests)
    board.field(tab, "capacity").fill(capacity)
    tab.locator(".wb-volunteer-save").click()
    expect(tab.locator(".wb-volunteer-feedback")).to_have_text(
        da("ui.volunteers.registered", name=name), timeout=STEP_TIMEOUT_MS)
    return tab


def refer_citizen(board: Dashboard, name: str, *, postal_code: str = "", interests: str = "",
                  consent: bool = True) -> Any:
    """Fill the henvisning form (source: own doctor) and press the submit button; returns the tab."""
    tab = board.tab("intake")
    board.field(tab, "display_name").fill(name)
    board.field(tab, "birth_year").fill("1948")
    board.field(tab, "postal_code").fill(postal_code)
    board.field(tab, "interests").fill(interests)
    board.field(tab, "referral_source", "select").select_option(label=da("referral_source.doctor"))
    if consent:
        board.field(tab, "consent_case_work", "input[type=checkbox]").check()
        board.field(tab, "consent_follow_up_contact", "input[type=checkbox]").check()
    tab.locator(".wb-intake-submit").click()
    return tab


def case_number_of(tab: Any) -> str:
    """The new case's number from the result line under the henvisning form."""
    result = tab.locator(".wb-intake-result")
    expect(result).to_be_visible(timeout=STEP_TIMEOUT_MS)
    prefix = da("ui.intake.result", number="")
    expect(result).to_contain_text(prefix, timeout=STEP_TIMEOUT_MS)
    match = re.search(re.escape(prefix) + r"\s*(\S+)", result.inner_text())
    assert match, result.inner_text()
    return match.group(1)


def chosen(board: Dashboard, scope: Any, name: str) -> Any:
    """The option a dropdown shows as chosen."""
    return board.field(scope, name, "select").locator("option:checked")


def open_step(board: Dashboard, case: Any, kind: str) -> Any:
    """Press a next-step button on the case page; returns the step's form area."""
    case.locator(f".wb-step-{kind}").click()
    area = case.locator(".wb-case-step")
    expect(area.get_by_role("heading", name=da(f"step.{kind}"), exact=True)).to_be_visible(timeout=STEP_TIMEOUT_MS)
    return area


def save_step(board: Dashboard, case: Any, kind: str, status: str | None) -> None:
    """Save the open step; wait for its confirmation and the new status."""
    case.locator(".wb-step-save").click()
    expect(case.get_by_text(da("ui.case.recorded", kind=da(f"kind.{kind}")), exact=True)).to_be_visible(
        timeout=STEP_TIMEOUT_MS)
    if status is not None:
        expect(case.locator(".wb-case-status")).to_have_text(da(f"status.{status}"), timeout=STEP_TIMEOUT_MS)
    board.check_page()


def suggestion_row(suggestions: Any, name: str) -> Any:
    """The row of a suggestion list whose first cell shows ``name`` (each row is one HTML widget)."""
    first_cell = suggestions.page.locator("span.wb-cell:first-child").filter(
        has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
    row = suggestions.locator(".widget-html").filter(has=first_cell)
    expect(row).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    return row


def suggestion_button(suggestions: Any, name: str) -> Any:
    """The button beside the suggestion row showing ``name``, named by what it does: "Vælg <name>"."""
    row = suggestion_row(suggestions, name)
    return row.locator("xpath=following-sibling::button[1]").and_(
        suggestions.get_by_role("button", name=f"{da('ui.case.choose')} {name}", exact=True))


def reason_cell(suggestions: Any, name: str) -> Any:
    """The "Hvorfor" cell of the suggestion row showing ``name`` (the third cell of the row)."""
    return suggestion_row(suggestions, name).locator(".wb-cell").nth(2)


# -- the journey ---------------------------------------------------------------------------------------


def test_coordinator_takes_a_citizen_from_referral_to_closed_case(
    server: Any, dash: Dashboard, offsite: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    shown_after = dash.open()
    with capsys.disabled():
        print(f"\n[e2e] journey: overview visible {shown_after:.1f} s after navigation")
    assert "Demo Koordinator" in dash.page.inner_text(".wb-header")
    dash.shot("journey-1-overblik.png")

    # A new brobygger, shown in the list exactly as typed.
    volunteers = register_volunteer(dash, VOLUNTEER, status="active", interests="strik", capacity="3")
    row = volunteers.locator(".wb-volunteer-list").get_by_text(VOLUNTEER, exact=True)
    expect(row).to_be_visible(timeout=STEP_TIMEOUT_MS)
    assert row.inner_text().strip() == VOLUNTEER
    dash.check_page()
    dash.shot("journey-2-brobyggere.png")

    # A referral with consent to case work and to follow-up contact: a new case number.
    before = case_count(server)
    intake = refer_citizen(dash, CITIZEN, postal_code="5000", interests="strik")
    number = case_number_of(intake)
    expect(intake.locator(".wb-intake-feedback")).to_have_text(
        da("ui.intake.created", number=number, name=CITIZEN), timeout=STEP_TIMEOUT_MS)
    assert case_count(server) == before + 1
    dash.check_page()
    dash.shot("journey-3-henvisning.png")

    # Open it: the case page shows the number, the citizen and "venter på brobygger".
    intake.locator(".wb-intake-open-case").click()
    case = dash.page.locator(".wb-case")
    expect(case).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(case.locator(".wb-case-header")).to_contain_text(f"{number} · {CITIZEN}", timeout=STEP_TIMEOUT_MS)
    expect(case.locator(".wb-case-status")).to_have_text(da("status.referred"), timeout=STEP_TIMEOUT_MS)

    # Tildel brobygger: suggestions with reasons; pick Søren's row.
    area = open_step(dash, case, "volunteer_assigned")
    suggestions = area.locator(".wb-suggestions")
    expect(suggestions.get_by_text(da("ui.case.suggested_volunteers"), exact=True)).to_be_visible(
        timeout=STEP_TIMEOUT_MS)
    expect(suggestions.get_by_text(da("ui.case.why"), exact=True)).to_be_visible()
    why = reason_cell(suggestions, VOLUNTEER)
    expect(why).to_contain_text(da("match.interests", value="strik"))
    expect(why).to_contain_text(da("match.load", value="0/3"))
    suggestion_button(suggestions, VOLUNTEER).click()
    expect(chosen(dash, area, "volunteer_id")).to_contain_text(f"{VOLUNTEER} (0/3, ", timeout=STEP_TIMEOUT_MS)
    save_step(dash, case, "volunteer_assigned", "assigned")
    expect(case.locator(".wb-case-header")).to_contain_text(VOLUNTEER)

    # Registrér samtale: a suggested community.
    area = open_step(dash, case, "conversation_held")
    suggestions = area.locator(".wb-suggestions")
    expect(suggestions.get_by_text(da("ui.case.suggested_communities"), exact=True)).to_be_visible(
        timeout=STEP_TIMEOUT_MS)
    first_pick = suggestions.get_by_role("button", name=re.compile(f"^{da('ui.case.choose')} ")).first
    expect(first_pick).to_be_visible(timeout=STEP_TIMEOUT_MS)
    community = first_pick.locator("xpath=preceding-sibling::*[1]").locator(".wb-cell").first.inner_text().strip()
    assert community and community != da("ui.case.community")
    first_pick.click()
    expect(chosen(dash, area, "community_id")).to_contain_text(f"{community} (", timeout=STEP_TIMEOUT_MS)
    save_step(dash, case, "conversation_held", "matched")
    expect(case.locator(".wb-case-header")).to_contain_text(community)

    # Planlæg følgeskab in two days, typed the Danish way.
    escort_on = date.today() + timedelta(days=2)
    area = open_step(dash, case, "escort_planned")
    dash.field(area, "planned_for").fill(escort_on.strftime("%d-%m-%Y"))
    save_step(dash, case, "escort_planned", "escort_planned")

    # Følgeskab gennemført: the citizen attended.
    area = open_step(dash, case, "escort_completed")
    dash.field(area, "attended", "select").select_option(label=da("ui.yes"))
    save_step(dash, case, "escort_completed", "in_follow_up")

    # Registrér opfølgning after 4 weeks: still taking part.
    area = open_step(dash, case, "follow_up")
    dash.field(area, "week", "select").select_option(label=da("ui.overview.week", week=4))
    dash.field(area, "still_participating", "select").select_option(label=da("ui.yes"))
    save_step(dash, case, "follow_up", "in_follow_up")

    # The timeline shows every step, newest first.
    timeline = case.locator(".wb-case-timeline")
    steps = ["follow_up", "escort_completed", "escort_planned", "conversation_held", "volunteer_assigned",
             "referral_received"]
    for kind in steps:
        expect(timeline).to_contain_text(da(f"kind.{kind}"))
    kinds = [c.strip() for c in timeline.locator("tbody tr td:nth-child(2)").all_inner_texts()]
    assert [k for k in kinds if k in {da(f"kind.{s}") for s in steps}] == [da(f"kind.{s}") for s in steps]
    for detail in (VOLUNTEER, community, da("ui.case.planned_for", date=escort_on.strftime("%d-%m-%Y")),
                   da("ui.case.attended"), da("ui.case.week_result", week=4, answer=da("ui.case.still"))):
        expect(timeline).to_contain_text(detail)
    expect(timeline).to_contain_text("Demo Koordinator")
    dash.shot("journey-4-forloeb.png")

    # Close the case with a reason.
    area = open_step(dash, case, "case_closed")
    dash.field(area, "close_reason", "select").select_option(label=da("close_reason.joined_community"))
    save_step(dash, case, "case_closed", "closed")
    expect(timeline).to_contain_text(da("kind.case_closed"))
    expect(timeline).to_contain_text(da("close_reason.joined_community"))
    dash.shot("journey-4b-forloeb-afsluttet.png")

    # The last tab, and back to the overview (redrawn after all this).
    dash.tab("communities")
    expect(dash.page.locator(".wb-communities-catalog h3").first).to_be_visible(timeout=STEP_TIMEOUT_MS)
    dash.check_page()
    dash.shot("journey-5-faellesskaber.png")
    dash.tab("overview")
    dash.check_page()
    offsite.check()


def test_a_bad_postal_code_is_shown_at_the_field_and_saves_nothing(
    server: Any, dash: Dashboard, offsite: Any,
) -> None:
    dash.open()
    before = case_count(server)
    intake = refer_citizen(dash, "Bodil Åkerlund", postal_code="12", interests="strik")
    error = intake.locator(".wb-field-postal_code .wb-field-error")
    expect(error).to_have_text(da("input.postal_code_digits"), timeout=STEP_TIMEOUT_MS)
    expect(intake.locator(".wb-intake-feedback")).to_have_text(da("ui.fix_fields"))
    expect(intake.locator(".wb-intake-result")).to_be_hidden()
    # Only the postal code is marked; what was typed stays in the form to be corrected.
    assert [e for e in intake.locator(".wb-field-error").all_inner_texts() if e.strip()] == [
        da("input.postal_code_digits")]
    expect(dash.field(intake, "display_name")).to_have_value("Bodil Åkerlund")
    expect(dash.field(intake, "postal_code")).to_have_value("12")
    assert case_count(server) == before
    dash.check_page()
    dash.shot("journey-3c-henvisning-fejl.png")
    offsite.check()


def test_names_shaped_like_html_are_shown_as_text_and_run_nothing(
    server: Any, dash: Dashboard, offsite: Any,
) -> None:
    dash.open()
    page = dash.page

    volunteers = register_volunteer(dash, HOSTILE_VOLUNTEER, status="active", interests="strik")
    expect(volunteers.locator(".wb-volunteer-list").get_by_text(HOSTILE_VOLUNTEER, exact=True)).to_be_visible(
        timeout=STEP_TIMEOUT_MS)
    expect(volunteers.locator(".wb-volunteer-form-title")).to_have_text(
        da("ui.volunteers.edit_title", name=HOSTILE_VOLUNTEER))

    intake = refer_citizen(dash, HOSTILE_CITIZEN, interests="strik")
    number = case_number_of(intake)
    expect(intake.locator(".wb-intake-feedback")).to_have_text(
        da("ui.intake.created", number=number, name=HOSTILE_CITIZEN), timeout=STEP_TIMEOUT_MS)
    intake.locator(".wb-intake-open-case").click()
    case = page.locator(".wb-case")
    expect(case.locator(".wb-case-header")).to_contain_text(f"{number} · {HOSTILE_CITIZEN}",
                                                             timeout=STEP_TIMEOUT_MS)

    # Both names side by side: the brobygger's suggestion on the citizen's case.
    area = open_step(dash, case, "volunteer_assigned")
    expect(area.locator(".wb-suggestions").get_by_text(HOSTILE_VOLUNTEER, exact=True)).to_be_visible(
        timeout=STEP_TIMEOUT_MS)
    expect(dash.field(area, "volunteer_id", "select").locator("option", has_text=HOSTILE_VOLUNTEER)).to_have_count(1)

    # Found again by searching for the name.
    case.locator(".wb-case-search input").fill("<script>")
    dash.button(case, da("ui.case.find")).click()
    expect(case.get_by_text(HOSTILE_CITIZEN, exact=True).first).to_be_visible(timeout=STEP_TIMEOUT_MS)
    dash.shot("journey-6-html-navne.png")

    # Nothing was parsed as markup: no such image or script element, no request for "x", no dialog.
    assert page.locator("img[src='x']").count() == 0
    scripts = page.evaluate("Array.from(document.scripts).filter(s => s.textContent.includes('alert(1)')).length")
    assert scripts == 0
    assert not [u for u in offsite.seen if u.rstrip("/").endswith("/x")], "the page tried to load the <img> src"
    assert dash.dialogs == []
    dash.check_page()
    offsite.check()


def test_closing_the_page_shuts_its_kernel_down(server: Any, context: Any) -> None:
    """Voila's "page closed" beacon needs the ``_xsrf`` cookie, which the page now sets (voila#1458)."""
    page = context.new_page()
    page.goto(server.url(), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".wb-overview h3").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page.content())
    assert kernel, "the page names no kernel"
    page.close(run_before_unload=True)
    refused = re.compile(rf"POST /voila/api/shutdown/{kernel.group(1)} .*'_xsrf' argument missing")
    deadline = time.monotonic() + 30
    while f"Kernel shutdown: {kernel.group(1)}" not in server.log_text():
        assert not refused.search(server.log_text()), "the shutdown beacon was refused (403, no _xsrf cookie)"
        assert time.monotonic() < deadline, "the kernel was not shut down within 30 s of closing the page"
        time.sleep(0.5)  # polling the server's log, not waiting for the page
