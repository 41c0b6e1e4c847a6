"""The referral tab (henvisning), driven like a coordinator would: type, tick, click.

Runs on a real store in a temporary directory; every refusal must show its message next
to the field it concerns and leave the data directory exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from people import staff
from widget_tree import html_of

import workbench
from workbench import i18n
from workbench.domain import instruments
from workbench.i18n import t
from workbench.service import Workbench
from workbench.ui.coordinator.app import CoordinatorApp
from workbench.ui.coordinator.intake import IntakeTab

TODAY = date(2026, 5, 1)
XSS = "<img src=x onerror=alert(1)>"
Unchanged = Callable[[Workbench], AbstractContextManager[None]]


@pytest.fixture(autouse=True)
def danish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_current", "da")


@pytest.fixture
def app(tmp_path: Path) -> CoordinatorApp:
    wb = workbench.open(tmp_path / "data", user=staff("Koordinator Kim"), today=lambda: TODAY)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    return CoordinatorApp(wb, "ODE")


@pytest.fixture
def tab(app: CoordinatorApp) -> IntakeTab:
    tab: IntakeTab = app.intake
    return tab



def fill(tab: IntakeTab, **values: Any) -> None:
    for name, value in values.items():
        tab.form[name].control.value = value


def minimal(tab: IntakeTab, **values: Any) -> None:
    """A referral the service accepts: a name, a source and consent to case work."""
    fill(tab, **{"display_name": "Bo Borger", "referral_source": "doctor", "consent_case_work": True, **values})


def error_of(tab: IntakeTab, field: str) -> str:
    value: str = tab.form[field].error.value
    return value


def table(wb: Workbench, name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = wb._store.frame(name).to_dicts()
    return rows


# --- the happy path -----------------------------------------------------------------------------


def test_one_form_registers_the_citizen_and_opens_the_case_with_baseline_measures(
        app: CoordinatorApp, tab: IntakeTab, monkeypatch: pytest.MonkeyPatch) -> None:
    refreshed: list[bool] = []
    monkeypatch.setattr(app.overview, "refresh", lambda: refreshed.append(True))
    fill(tab, display_name="Grethe Ørsted", birth_year="1951", postal_code="5000", phone="12 34 56 78",
         email="grethe@example.dk", languages=["da", "de", "hu"], interests="strik, have", referral_source="doctor",
         referred_on="28-04-2026", note="Henvist af egen læge; ønsker et fællesskab tæt på hjemmet.",
         consent_case_work=True, consent_follow_up_contact=True, consent_research=False, mode="read_aloud")
    tab.needs.boxes["loneliness"].value = True
    tab.needs.boxes["grief"].value = True
    for item, answer in zip(tab.ucla3.items, [3, 2, 3], strict=True):
        item.value = answer
    for item, answer in zip(tab.swemwbs.items, [2, 3, 3, 2, 4, 2, 3], strict=True):
        item.value = answer
    tab.submit_button.click()

    wb = app.wb
    [citizen] = table(wb, "citizens")
    assert citizen["display_name"] == "Grethe Ørsted" and citizen["site_id"] == "ODE"
    assert citizen["birth_year"] == 1951 and citizen["postal_code"] == "5000"
    assert citizen["languages"] == ["da", "de", "hu"] and citizen["interests"] == ["strik", "have"]
    assert citizen["needs"] == ["loneliness", "grief"] and citizen["referral_source"] == "doctor"
    consents = {c["purpose"]: c["given"] for c in citizen["consents"]}
    assert consents == {"case_work": True, "follow_up_contact": True, "research": False, "referrer_feedback": False}
    assert all(c["on"] == "2026-04-28" and c["recorded_by"] == "koordinator.kim" for c in citizen["consents"])
    contact = wb._store.get("contacts", citizen["id"])
    assert contact is not None and contact["phone"] == "+4512345678" and contact["email"] == "grethe@example.dk"

    [case] = table(wb, "cases")
    assert case["number"] == "ODE-2026-0001" and case["citizen_id"] == citizen["id"]
    assert case["opened_on"] == "2026-04-28"
    events = wb.case_events(case["id"])
    assert [e["kind"] for e in events] == ["referral_received", "measure_recorded", "measure_recorded"]
    assert events[0]["text"].startswith("Henvist af egen læge")
    measures = {m["instrument"]: m for m in table(wb, "measures")}
    assert measures["ucla3"]["answers"] == [3, 2, 3] and measures["ucla3"]["raw_score"] == 8
    assert measures["swemwbs"]["raw_score"] == 19 and measures["swemwbs"]["metric_score"] == 17.98
    assert all(m["timepoint"] == "baseline" and m["mode"] == "read_aloud" and m["on"] == "2026-04-28"
               and m["case_id"] == case["id"] for m in measures.values())

    assert "Forløbet ODE-2026-0001 er oprettet for Grethe Ørsted." in tab.feedback.value
    assert "ODE-2026-0001" in tab.result.value and tab.result_box.layout.display != "none"
    assert refreshed == [True]
    # the form is empty for the next referral
    assert tab.form["display_name"].control.value == "" and tab.form["phone"].control.value == ""
    assert tab.form["languages"].control.value == ["da"] and tab.form["referred_on"].control.value == "01-05-2026"
    assert tab.form["consent_case_work"].control.value is False and tab.needs.value == ()
    assert tab.ucla3.value == ["", "", ""] and set(tab.swemwbs.value) == {""}

    opened: list[str] = []
    monkeypatch.setattr(app.case, "show", opened.append)
    tab.open_button.click()
    assert opened == [case["id"]]
    assert app.tabs.selected_index == CoordinatorApp.TAB_KEYS.index("case")


def test_questionnaires_are_optional(app: CoordinatorApp, tab: IntakeTab) -> None:
    minimal(tab)
    tab.submit_button.click()
    assert len(table(app.wb, "cases")) == 1
    assert table(app.wb, "measures") == []
    assert [e["kind"] for e in table(app.wb, "events")] == ["referral_received"]
    [citizen] = table(app.wb, "citizens")
    assert citizen["languages"] == ["da"] and citizen["registered_on"] == "2026-05-01"
    assert app.wb._store.get("contacts", citizen["id"]) is None


def test_the_second_referral_gets_the_next_case_number(app: CoordinatorApp, tab: IntakeTab) -> None:
    minimal(tab)
    tab.submit_button.click()
    minimal(tab, display_name="Ida Borger")
    tab.submit_button.click()
    assert sorted(c["number"] for c in table(app.wb, "cases")) == ["ODE-2026-0001", "ODE-2026-0002"]
    assert "ODE-2026-0002" in tab.result.value


# --- refusals: a message beside the field, nothing stored ----------------------------------------


def test_a_bad_postal_code_is_shown_in_danish_next_to_the_field(app: CoordinatorApp, tab: IntakeTab,
                                                                unchanged: Unchanged) -> None:
    token = app.wb._store.token()
    minimal(tab, postal_code="500")
    with unchanged(app.wb):
        tab.submit_button.click()
    assert app.wb._store.token() == token
    assert "Postnummer skal være 4 cifre." in error_of(tab, "postal_code")
    assert t("ui.fix_fields") in tab.feedback.value
    assert tab.form["display_name"].control.value == "Bo Borger"  # nothing typed is lost
    assert tab.result_box.layout.display == "none"


def test_several_bad_fields_show_every_error_at_once_and_keep_what_was_typed(
        app: CoordinatorApp, tab: IntakeTab, unchanged: Unchanged) -> None:
    minimal(tab, display_name="", phone="20 30 40 5", postal_code="500", email="bo@", birth_year="1850")
    with unchanged(app.wb):
        tab.submit_button.click()
    assert "Postnummer skal være 4 cifre." in error_of(tab, "postal_code")
    assert t("input.phone") in error_of(tab, "phone")
    assert t("input.email") in error_of(tab, "email")
    assert t("input.name_empty") in error_of(tab, "display_name")
    assert "1850" not in error_of(tab, "birth_year") and error_of(tab, "birth_year")  # the plausible years, not the value
    assert t("ui.fix_fields") in tab.feedback.value
    assert (tab.form["phone"].control.value, tab.form["postal_code"].control.value) == ("20 30 40 5", "500")
    fill(tab, display_name="Bo Borger", phone="20 30 40 50", postal_code="5000", email="bo@example.dk", birth_year="1950")
    tab.submit_button.click()  # corrected: every error is gone and the case is made
    assert all(not error_of(tab, name) for name in ("postal_code", "phone", "email", "display_name", "birth_year"))
    assert len(table(app.wb, "cases")) == 1


def test_no_case_without_consent_to_case_work(app: CoordinatorApp, tab: IntakeTab, unchanged: Unchanged) -> None:
    minimal(tab, consent_case_work=False, consent_follow_up_contact=True, consent_research=True)
    tab.needs.boxes["depression"].value = True
    with unchanged(app.wb):
        tab.submit_button.click()
    assert t("consent.case_work_required") in error_of(tab, "consent_case_work")
    assert table(app.wb, "citizens") == [] and table(app.wb, "cases") == []


@pytest.mark.parametrize(("name", "answers", "answered"), [
    ("ucla3", [1, "", 3], 2),
    ("swemwbs", [5, 5, 5, 5, 5, 5, ""], 6),
    ("swemwbs", ["", "", 1, "", "", "", ""], 1),
])
def test_a_partly_answered_questionnaire_is_refused_and_nothing_stored(
        app: CoordinatorApp, tab: IntakeTab, unchanged: Unchanged, name: str, answers: list[Any],
        answered: int) -> None:
    minimal(tab)
    for item, answer in zip(tab.ucla3.items, [2, 2, 2], strict=True):
        item.value = answer  # the other questionnaire is complete
    getattr(tab, name).value = answers
    with unchanged(app.wb):
        tab.submit_button.click()
    total = len(answers)
    assert t("ui.intake.questionnaire_partial", answered=answered, total=total) in error_of(tab, name)
    assert table(app.wb, "citizens") == [] and table(app.wb, "measures") == []


def test_a_cpr_number_in_the_note_is_refused(app: CoordinatorApp, tab: IntakeTab, unchanged: Unchanged) -> None:
    minimal(tab, note="Borgerens cpr er 010190-1234, ring efter kl. 10")
    with unchanged(app.wb):
        tab.submit_button.click()
    assert t("input.cpr_refused") in error_of(tab, "note")
    assert "010190" not in html_of(tab.widget).replace(tab.form["note"].control.value, "")


@pytest.mark.parametrize(("field", "value", "key"), [
    ("display_name", "", "input.name_empty"),
    ("birth_year", "nitten", "input.type"),
    ("phone", "1234", "input.phone"),
    ("email", "grethe@", "input.email"),
    ("referred_on", "02-05-2026", "input.date_future"),
    ("referred_on", "28/13/2026", "input.date"),
    ("referral_source", "", "input.required"),
    ("interests", "strik, 0101901234", "input.cpr_refused"),
])
def test_bad_input_is_shown_next_to_its_field(app: CoordinatorApp, tab: IntakeTab, unchanged: Unchanged,
                                              field: str, value: str, key: str) -> None:
    minimal(tab, **{field: value})
    with unchanged(app.wb):
        tab.submit_button.click()
    assert t(key) in error_of(tab, field)
    assert all(error_of(tab, n) == "" for n in tab.form.fields if n != field)


def test_an_implausible_birth_year_names_the_range(app: CoordinatorApp, tab: IntakeTab, unchanged: Unchanged) -> None:
    minimal(tab, birth_year="1850")
    with unchanged(app.wb):
        tab.submit_button.click()
    assert "Fødselsår skal ligge mellem 1916 og 2026." in error_of(tab, "birth_year")


@pytest.mark.parametrize("field", ["referral_source", "mode"])
def test_an_option_the_page_did_not_offer_is_refused(app: CoordinatorApp, tab: IntakeTab, unchanged: Unchanged,
                                                     field: str) -> None:
    minimal(tab)
    control = tab.form[field].control
    control.options = [*control.options, ("Snydt", "hacked")]
    control.value = "hacked"
    with unchanged(app.wb):
        tab.submit_button.click()
    assert t("input.choice") in error_of(tab, field)


def test_an_answer_the_page_did_not_offer_is_refused(app: CoordinatorApp, tab: IntakeTab, unchanged: Unchanged) -> None:
    minimal(tab)
    first = tab.ucla3.items[0]
    first.options = [*first.options, ("7", 7)]
    tab.ucla3.value = [7, 1, 1]
    with unchanged(app.wb):
        tab.submit_button.click()
    assert t("input.choice") in error_of(tab, "ucla3")


def test_names_are_shown_as_text_never_as_html(app: CoordinatorApp, tab: IntakeTab) -> None:
    minimal(tab, display_name=XSS)
    tab.submit_button.click()
    assert table(app.wb, "citizens")[0]["display_name"] == XSS
    markup = html_of(app.widget)
    assert "<img" not in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in tab.feedback.value


def test_an_unexpected_failure_shows_a_plain_apology_and_no_traceback(
        app: CoordinatorApp, tab: IntakeTab, monkeypatch: pytest.MonkeyPatch, unchanged: Unchanged) -> None:
    def broken(**_kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("kernel exploded at /srv/data")

    monkeypatch.setattr(app.wb, "open_referral", broken)
    minimal(tab)
    with unchanged(app.wb):
        tab.submit_button.click()
    assert t("ui.unexpected_error") in tab.feedback.value
    markup = html_of(app.widget)
    assert "Traceback" not in markup and "exploded" not in markup and "RuntimeError" not in markup
    assert tab.form["display_name"].control.value == "Bo Borger"


def test_a_measure_failing_after_the_case_opened_is_reported_not_hidden(
        app: CoordinatorApp, tab: IntakeTab, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("lost")

    monkeypatch.setattr(app.wb, "record_measure", broken)
    minimal(tab)
    tab.ucla3.value = [1, 2, 3]
    tab.submit_button.click()
    assert len(table(app.wb, "cases")) == 1
    assert t("ui.intake.measure_failed", number="ODE-2026-0001", instruments=t("instrument.ucla3")) in tab.feedback.value
    assert "lost" not in html_of(app.widget)


def test_open_case_without_a_new_case_is_refused(app: CoordinatorApp, tab: IntakeTab) -> None:
    assert tab.result_box.layout.display == "none"
    tab.open_button.click()  # hidden, but the page could still send the click
    assert t("ui.intake.no_case") in tab.feedback.value
    assert app.tabs.selected_index == 0


# --- questionnaire wording --------------------------------------------------------------------


def test_questionnaires_show_danish_items_and_the_swemwbs_copyright(tab: IntakeTab) -> None:
    markup = html_of(tab.widget)
    assert "Hvor ofte føler du dig holdt udenfor?" in markup
    assert "Jeg har følt mig nyttig" in markup
    assert instruments.SWEMWBS_COPYRIGHT.replace("&", "&amp;") in html_of(tab.swemwbs)
    assert len(tab.ucla3.items) == instruments.UCLA3_ITEMS and len(tab.swemwbs.items) == instruments.SWEMWBS_ITEMS
    labels = [label for label, _ in tab.swemwbs.items[0].options]
    assert labels[0] == t("ui.intake.not_answered") and labels[1:] == [
        f"{n} – {t(f'ui.intake.swemwbs.choice_{n}')}" for n in range(1, 6)]


def test_english_item_texts_are_the_instruments_defaults() -> None:
    english = json.loads(resources.files("workbench").joinpath("locale", "en", "ui_intake.json").read_text("utf-8"))
    for name, items, choices in (("ucla3", instruments.UCLA3_ITEMS_EN, instruments.UCLA3_CHOICES_EN),
                                 ("swemwbs", instruments.SWEMWBS_ITEMS_EN, instruments.SWEMWBS_CHOICES_EN)):
        assert [english[f"ui.intake.{name}.item_{n}"] for n in range(1, len(items) + 1)] == list(items)
        assert [english[f"ui.intake.{name}.choice_{n}"] for n in range(1, len(choices) + 1)] == list(choices)
    for lang in i18n.LANGUAGES:
        messages = i18n.catalog(lang)
        assert all(f"ui.intake.ucla3.item_{n}" in messages for n in range(1, instruments.UCLA3_ITEMS + 1))
        assert all(f"ui.intake.swemwbs.item_{n}" in messages for n in range(1, instruments.SWEMWBS_ITEMS + 1))


def test_refresh_moves_an_untouched_referral_date_to_today(app: CoordinatorApp, tab: IntakeTab,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.wb, "_today", lambda: date(2026, 5, 2))
    tab.refresh()
    assert tab.form["referred_on"].control.value == "02-05-2026"
    fill(tab, referred_on="30-04-2026")
    monkeypatch.setattr(app.wb, "_today", lambda: date(2026, 5, 3))
    tab.refresh()
    assert tab.form["referred_on"].control.value == "30-04-2026"
