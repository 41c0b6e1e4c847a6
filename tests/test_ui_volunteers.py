"""The brobyggere tab, driven like a coordinator would: type into widgets, click buttons.

Runs on a real store in a temporary directory; each test checks both what was stored
and what the page shows (list, field errors, feedback).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from people import staff
from widget_tree import html_of, listed_rows, walk

import workbench
from workbench import i18n
from workbench.domain.text import danish_sort_key
from workbench.i18n import t
from workbench.service import Workbench
from workbench.ui.coordinator.app import CoordinatorApp
from workbench.ui.coordinator.volunteers import VolunteersTab

TODAY = date(2026, 5, 1)
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def danish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_current", "da")


@pytest.fixture
def app(tmp_path: Path) -> CoordinatorApp:
    wb = workbench.open(tmp_path / "data", user=staff("Koordinator Kim"), today=lambda: TODAY)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    return CoordinatorApp(wb, "ODE")


@pytest.fixture
def tab(app: CoordinatorApp) -> VolunteersTab:
    tab: VolunteersTab = app.volunteers
    return tab




def list_html(tab: VolunteersTab) -> str:
    return html_of(tab.list_box)


def open_buttons(tab: VolunteersTab) -> list[widgets.Button]:
    return [w for w in walk(tab.list_box) if isinstance(w, widgets.Button) and "wb-volunteer-open" in w._dom_classes]


def fill(tab: VolunteersTab, **values: Any) -> None:
    for name, value in values.items():
        tab.form[name].control.value = value


def register(wb: Workbench, name: str = "Anna Frivillig", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = wb.register_volunteer(site_id=fields.pop("site_id", "ODE"), name=name, **fields)
    return doc


def error_of(tab: VolunteersTab, field: str) -> str:
    value: str = tab.form[field].error.value
    return value


# --- register, edit, pause, reactivate ----------------------------------------------------------


def test_languages_are_chosen_by_name_and_others_typed(app: CoordinatorApp, tab: VolunteersTab) -> None:
    """The form offers the common languages by their Danish names; the store keeps the codes."""
    languages = tab.form["languages"].control
    assert languages.common.boxes["ar"].description == "arabisk" and languages.common.boxes["da"].value
    fill(tab, name="Anna Frivillig")
    languages.common.boxes["ar"].value = True
    languages.other.value = "hu, vi, HU, Arabisk"  # a name typed for a box counts as the box
    tab.save_button.click()
    [doc] = app.wb.frames.volunteers.to_dicts()
    assert doc["languages"] == ["da", "ar", "hu", "vi"]
    assert "dansk, arabisk, hu, vi" in list_html(tab)
    tab.new_button.click()
    assert languages.value == ["da"] and languages.other.value == ""
    open_buttons(tab)[0].click()
    assert languages.common.value == ("da", "ar") and languages.other.value == "hu, vi"


def test_register_a_new_brobygger_stores_every_field_and_lists_it(app: CoordinatorApp, tab: VolunteersTab,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    refreshed: list[bool] = []
    monkeypatch.setattr(app.overview, "refresh", lambda: refreshed.append(True))
    fill(tab, name="Mette Østergård", phone="12 34 56 78", email="mette@example.dk", postal_code="5000",
         languages=["da", "en"], interests="strik, gåture", capacity="4", status="trained",
         record_check_on="12-03-2026", trained_on="2.4.2026", recruited_via="word_of_mouth")
    tab.availability.boxes[("mon", "morning")].value = True
    tab.availability.boxes[("thu", "evening")].value = True
    tab.save_button.click()

    frame = app.wb.frames.volunteers
    assert frame.height == 1
    doc = app.wb._store.get("volunteers", frame["volunteer_id"][0])
    assert doc is not None
    assert doc["name"] == "Mette Østergård" and doc["site_id"] == "ODE"
    assert doc["phone"] == "+4512345678" and doc["email"] == "mette@example.dk" and doc["postal_code"] == "5000"
    assert doc["languages"] == ["da", "en"] and doc["interests"] == ["strik", "gåture"]
    assert doc["availability"] == [{"weekday": "mon", "part": "morning"}, {"weekday": "thu", "part": "evening"}]
    assert doc["capacity"] == 4 and doc["status"] == "trained" and doc["recruited_via"] == "word_of_mouth"
    assert doc["record_check_on"] == "2026-03-12" and doc["trained_on"] == "2026-04-02"

    assert "Mette Østergård er registreret som brobygger." in tab.feedback.value
    shown = list_html(tab)
    for text in ("Mette Østergård", "Uddannet", "0/4", "dansk, engelsk", "strik, gåture", "12-03-2026", "02-04-2026"):
        assert text in shown
    assert "Rediger brobygger: Mette Østergård" in tab.title.value
    assert tab.selected_id == doc["id"] and tab.selected_version == 1
    assert refreshed == [True]


def test_a_second_click_on_save_edits_instead_of_registering_twice(app: CoordinatorApp, tab: VolunteersTab) -> None:
    fill(tab, name="Anna Frivillig")
    tab.save_button.click()
    tab.save_button.click()
    assert app.wb.frames.volunteers.height == 1


def test_edit_opens_the_brobygger_and_saves_with_the_version_read(app: CoordinatorApp, tab: VolunteersTab) -> None:
    doc = register(app.wb, interests=["kor"], availability=[{"weekday": "tue", "part": "afternoon"}],
                   record_check_on=date(2026, 1, 5))
    tab.refresh()
    [opener] = open_buttons(tab)
    opener.click()
    assert tab.form["name"].control.value == "Anna Frivillig"
    assert tab.form["interests"].control.value == "kor"
    assert tab.form["record_check_on"].control.value == "05-01-2026"
    assert tab.availability.boxes[("tue", "afternoon")].value is True

    fill(tab, interests="kor, brætspil", phone="+45 87 65 43 21")
    tab.save_button.click()
    stored = app.wb._store.get("volunteers", doc["id"])
    assert stored is not None
    assert stored["version"] == 2 and stored["interests"] == ["kor", "brætspil"] and stored["phone"] == "+4587654321"
    assert stored["availability"] == [{"weekday": "tue", "part": "afternoon"}]
    assert tab.form["phone"].control.value == "87 65 43 21"  # shown as a Dane writes it, not as stored
    assert "Ændringerne for Anna Frivillig er gemt." in tab.feedback.value
    assert "kor, brætspil" in list_html(tab)
    assert tab.selected_version == 2


def test_pause_and_reactivate(app: CoordinatorApp, tab: VolunteersTab, monkeypatch: pytest.MonkeyPatch) -> None:
    refreshed: list[bool] = []
    monkeypatch.setattr(app.overview, "refresh", lambda: refreshed.append(True))
    doc = register(app.wb, status="active")
    tab.refresh()
    assert tab.pause_button.disabled and tab.reactivate_button.disabled  # nothing chosen yet
    open_buttons(tab)[0].click()
    assert not tab.pause_button.disabled and tab.reactivate_button.disabled

    tab.pause_button.click()
    stored = app.wb._store.get("volunteers", doc["id"])
    assert stored is not None and stored["status"] == "paused"
    assert "Anna Frivillig er sat på pause." in tab.feedback.value
    assert "På pause" in list_html(tab)
    assert tab.pause_button.disabled and not tab.reactivate_button.disabled

    tab.reactivate_button.click()
    stored = app.wb._store.get("volunteers", doc["id"])
    assert stored is not None and stored["status"] == "active" and stored["version"] == 3
    assert "Anna Frivillig er aktiv igen." in tab.feedback.value
    assert "Aktiv" in list_html(tab)
    assert refreshed == [True, True]


def test_a_re_enabled_button_is_re_validated(app: CoordinatorApp, tab: VolunteersTab,
                                             unchanged: Callable[[Workbench], AbstractContextManager[None]]) -> None:
    register(app.wb, status="paused")
    tab.refresh()
    with unchanged(app.wb):
        tab.pause_button.disabled = False  # the page could do this
        tab.pause_button.click()
    assert "Vælg først en brobygger på listen." in tab.feedback.value

    open_buttons(tab)[0].click()
    with unchanged(app.wb):
        tab.pause_button.disabled = False
        tab.pause_button.click()
    assert "kan ikke sættes på pause" in tab.feedback.value

    tab.reactivate_button.click()
    with unchanged(app.wb):
        tab.reactivate_button.disabled = False
        tab.reactivate_button.click()
    assert "holder ikke pause" in tab.feedback.value


def test_new_button_empties_the_form(app: CoordinatorApp, tab: VolunteersTab) -> None:
    register(app.wb)
    tab.refresh()
    open_buttons(tab)[0].click()
    tab.new_button.click()
    assert tab.selected_id is None and tab.form["name"].control.value == ""
    assert tab.form["languages"].control.value == ["da"] and tab.form["capacity"].control.value == "3"
    assert "Ny brobygger" in tab.title.value


# --- search -------------------------------------------------------------------------------------


def test_search_filters_on_name_and_interests_ignoring_case(app: CoordinatorApp, tab: VolunteersTab) -> None:
    register(app.wb, "Anna Strikker", interests=["strik"])
    register(app.wb, "Bo Løber", interests=["løb", "Kor"])
    register(app.wb, "Carl Andersen", site_id="ODE", interests=[])
    tab.refresh()
    assert all(name in list_html(tab) for name in ("Anna Strikker", "Bo Løber", "Carl Andersen"))

    tab.search.value = "STRIK"
    assert "Anna Strikker" in list_html(tab) and "Bo Løber" not in list_html(tab)
    tab.search.value = "kor"
    assert "Bo Løber" in list_html(tab) and "Anna Strikker" not in list_html(tab)
    tab.search.value = "andersen"
    assert "Carl Andersen" in list_html(tab) and len(open_buttons(tab)) == 1
    tab.search.value = "zzz"
    assert "Ingen brobyggere passer til søgningen" in list_html(tab) and open_buttons(tab) == []
    tab.search.value = ""
    assert len(open_buttons(tab)) == 3


def test_a_large_site_lists_its_brobyggere_a_page_at_a_time_in_danish_order(
        app: CoordinatorApp, tab: VolunteersTab) -> None:
    names = [f"Brobygger {i:02}" for i in range(30)] + ["Åse Ørum", "Zenia Ærø"]
    for name in names:
        register(app.wb, name)
    tab.refresh()
    listing = tab.list_box.children[0]
    first = [row[0] for row in listed_rows(tab.list_box)]
    assert first == sorted(names, key=danish_sort_key)[:25] and len(open_buttons(tab)) == 25
    listing.next.click()
    assert [row[0] for row in listed_rows(tab.list_box)] == ["Brobygger 25", "Brobygger 26", "Brobygger 27",
                                                              "Brobygger 28", "Brobygger 29", "Zenia Ærø", "Åse Ørum"]
    open_buttons(tab)[-1].click()
    assert tab.form["name"].control.value == "Åse Ørum"
    tab.search.value = "ørum"  # a search starts again from the first page
    assert listed_rows(tab.list_box)[0][0] == "Åse Ørum"


def test_only_this_sites_brobyggere_are_listed(app: CoordinatorApp, tab: VolunteersTab) -> None:
    app.wb.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    register(app.wb, "Ude Fra Aarhus", site_id="AAR")
    tab.refresh()
    assert "Ude Fra Aarhus" not in list_html(tab)
    assert "Der er endnu ingen brobyggere" in list_html(tab)


# --- refusals -----------------------------------------------------------------------------------


def test_a_stale_edit_is_refused_and_the_form_reloaded(app: CoordinatorApp, tab: VolunteersTab, tmp_path: Path) -> None:
    doc = register(app.wb, interests=["kor"])
    tab.refresh()
    open_buttons(tab)[0].click()

    other = workbench.open(tmp_path / "data", user=staff("Anden Koordinator"), today=lambda: TODAY)
    other.update_volunteer(doc["id"], name="Anna Andersen")

    fill(tab, interests="kor, dans")
    tab.save_button.click()
    assert t("edit.stale") in tab.feedback.value
    stored = app.wb._store.get("volunteers", doc["id"])
    assert stored is not None and stored["name"] == "Anna Andersen" and stored["interests"] == ["kor"]
    assert tab.form["name"].control.value == "Anna Andersen"  # reloaded
    assert tab.form["interests"].control.value == "kor"
    assert tab.selected_version == 2

    fill(tab, interests="kor, dans")
    tab.save_button.click()
    stored = app.wb._store.get("volunteers", doc["id"])
    assert stored is not None and stored["interests"] == ["kor", "dans"] and stored["name"] == "Anna Andersen"


def test_a_stale_pause_is_refused(app: CoordinatorApp, tab: VolunteersTab, tmp_path: Path) -> None:
    doc = register(app.wb, status="active")
    tab.refresh()
    open_buttons(tab)[0].click()
    workbench.open(tmp_path / "data", user=staff("Anden"), today=lambda: TODAY).update_volunteer(doc["id"], capacity=5)
    tab.pause_button.click()
    assert t("edit.stale") in tab.feedback.value
    stored = app.wb._store.get("volunteers", doc["id"])
    assert stored is not None and stored["status"] == "active"
    assert tab.form["capacity"].control.value == "5"


def test_names_and_labels_are_shown_as_text_never_as_html(app: CoordinatorApp, tab: VolunteersTab) -> None:
    fill(tab, name=XSS, interests="<script>alert(2)</script>, strik", languages=["da", "<b>da</b>"])
    tab.save_button.click()
    assert app.wb.frames.volunteers["name"].to_list() == [XSS]
    tab.search.value = "strik"
    tab.pause_button.click()
    markup = html_of(tab.widget) + html_of(app.widget)
    assert "<img" not in markup and "<script" not in markup and "<b>da" not in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in list_html(tab)
    assert "&lt;img" in tab.title.value and "&lt;img" in tab.feedback.value


def test_another_sites_brobygger_cannot_be_opened_or_changed(app: CoordinatorApp, tab: VolunteersTab,
                                                             unchanged: Callable[[Workbench],
                                                                                 AbstractContextManager[None]]) -> None:
    app.wb.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    foreign = register(app.wb, "Ude Fra Aarhus", site_id="AAR", status="active")
    message = t("volunteer.not_found", id=foreign["id"])

    tab._open(foreign["id"])  # the id a page's 'edit' button would send
    assert message in tab.feedback.value
    assert tab.selected_id is None and tab.form["name"].control.value == ""

    with unchanged(app.wb):
        tab.selected_id, tab.selected_version = foreign["id"], 1  # forced into the form
        fill(tab, name="Overtaget")
        tab.save_button.click()
    assert message in tab.feedback.value
    with unchanged(app.wb):
        tab.pause_button.disabled = False
        tab.pause_button.click()
    assert message in tab.feedback.value
    stored = app.wb._store.get("volunteers", foreign["id"])
    assert stored is not None and stored["name"] == "Ude Fra Aarhus" and stored["status"] == "active"


@pytest.mark.parametrize("field", ["status", "recruited_via"])
def test_an_option_the_page_did_not_offer_is_refused(app: CoordinatorApp, tab: VolunteersTab, field: str,
                                                      unchanged: Callable[[Workbench],
                                                                          AbstractContextManager[None]]) -> None:
    control = tab.form[field].control
    control.options = [*control.options, ("Snydt", "hacked")]  # a tampered page
    control.value = "hacked"
    fill(tab, name="Anna Frivillig")
    with unchanged(app.wb):
        tab.save_button.click()
    assert t("input.choice") in error_of(tab, field)
    assert t("ui.fix_fields") in tab.feedback.value


@pytest.mark.parametrize(("field", "value", "key"), [
    ("name", "", "input.name_empty"),
    ("phone", "123", "input.phone"),
    ("email", "ikke-en-mail", "input.email"),
    ("postal_code", "50000", "input.postal_code_digits"),
    ("capacity", "mange", "input.type"),
    ("capacity", "0", "input.number_range"),
    ("record_check_on", "31-02-2026", "input.date"),
    ("trained_on", "2026-04-01", "input.date"),
    ("interests", "kor, 010190-1234", "input.cpr_refused"),
])
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_stored(
        app: CoordinatorApp, tab: VolunteersTab, field: str, value: str, key: str,
        unchanged: Callable[[Workbench], AbstractContextManager[None]]) -> None:
    fill(tab, name="Anna Frivillig")
    fill(tab, **{field: value})
    with unchanged(app.wb):
        tab.save_button.click()
    assert t(key) in error_of(tab, field)
    assert t("ui.fix_fields") in tab.feedback.value
    others = [n for n in tab.form.fields if n != field]
    assert all(error_of(tab, n) == "" for n in others)


def test_an_unexpected_failure_shows_a_plain_apology_and_no_traceback(
        app: CoordinatorApp, tab: VolunteersTab, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_fields: Any) -> dict[str, Any]:
        raise RuntimeError("disk on fire /secret/path")

    monkeypatch.setattr(app.wb, "register_volunteer", broken)
    fill(tab, name="Anna Frivillig")
    tab.save_button.click()
    assert t("ui.unexpected_error") in tab.feedback.value
    markup = html_of(app.widget)
    assert "Traceback" not in markup and "disk on fire" not in markup and "RuntimeError" not in markup
    assert app.wb.frames.volunteers.height == 0


def test_english_labels_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_current", "en")
    wb = workbench.open(tmp_path / "data", user=staff("Koordinator Kim"), today=lambda: TODAY)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    register(wb, status="paused")
    tab = CoordinatorApp(wb, "ODE").volunteers
    assert "Paused" in list_html(tab) and "Cases/capacity" in list_html(tab)
    assert tab.save_button.description == "Save"
