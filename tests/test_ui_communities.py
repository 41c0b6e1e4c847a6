"""The communities tab, driven like a coordinator would: set widget values and click buttons.

No browser: the real store on a temporary directory, the real service, the real widgets.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import polars as pl
import pytest
from people import staff
from widget_tree import html_of, listed_rows, walk

import workbench
from workbench.i18n import t
from workbench.service import Workbench
from workbench.ui.coordinator.app import CoordinatorApp
from workbench.ui.coordinator.communities import CommunitiesTab
from workbench.ui.widgets import esc, fmt_date

XSS = "<img src=x onerror=alert(1)>"
SAMPLE = Path(__file__).resolve().parents[1] / "docs" / "fællesskaber-eksempel.csv"


TODAY = date(2026, 5, 1)


@pytest.fixture
def app(tmp_path: Path) -> CoordinatorApp:
    wb = workbench.open(tmp_path / "data", user=staff("Koordinator Kim"), today=lambda: TODAY)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    return CoordinatorApp(wb, "ODE")


@pytest.fixture
def tab(app: CoordinatorApp) -> CommunitiesTab:
    return app.communities


def said(key: str, **params: Any) -> str:
    """A catalog message as it appears inside an HTML widget (escaped)."""
    return esc(t(key, **params))


def other_coordinator(app: CoordinatorApp) -> Workbench:
    """A second handle on the same data directory, as another coordinator's dashboard would hold."""
    root = app.wb._store.root  # type: ignore[attr-defined]
    return workbench.open(root, user=staff("Koordinator Lene"), today=lambda: TODAY)



def with_class(tab: CommunitiesTab, name: str) -> list[widgets.Widget]:
    return [w for w in walk(tab.widget) if name in getattr(w, "_dom_classes", ())]


def fill(tab: CommunitiesTab, **values: Any) -> None:
    for name, value in values.items():
        if name == "target_groups":
            tab.target_groups.value = value
        elif name == "schedule":
            tab.schedule.text.value = value
        else:
            tab.form[name].control.value = value


def add(tab: CommunitiesTab, name: str = "Strikkecafé", **values: Any) -> dict[str, Any]:
    tab.new_button.click()
    fill(tab, name=name, organiser=values.pop("organiser", "Odense Bibliotekerne"),
         kind=values.pop("kind", "creative"), postal_code=values.pop("postal_code", "5000"), **values)
    tab.save_button.click()
    assert "wb-ok" in tab.form_feedback.value, tab.form_feedback.value
    assert tab.current is not None
    return tab.current


def listed_names(tab: CommunitiesTab) -> list[str]:
    return [row[0] for row in listed_rows(tab.list_box)]


def open_buttons(tab: CommunitiesTab) -> list[widgets.Button]:
    return [w for w in with_class(tab, "wb-communities-open") if isinstance(w, widgets.Button)]


def upload(tab: CommunitiesTab, content: bytes, name: str = "fællesskaber.csv") -> None:
    tab.upload.value = ({"name": name, "type": "text/csv", "size": len(content),
                         "content": memoryview(content), "last_modified": datetime(2026, 5, 1, 12, 0)},)


# -- adding and editing ------------------------------------------------------------------------------

def test_the_tab_starts_empty_with_a_new_form(tab: CommunitiesTab) -> None:
    assert said("ui.communities.empty") in html_of(tab.list_box)
    assert said("ui.communities.new_title") in tab.editor_title.value
    assert tab.verify_button.disabled and tab.deactivate_button.disabled and tab.reactivate_button.disabled


def test_add_a_community(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    doc = add(tab, "Strikkecafé", description="Vi strikker sammen.", age_min="18", age_max="99",
              target_groups=("loneliness", "anxiety"), schedule="tir 10:00-12:00; tor 14:00-16:00",
              accessibility="Elevator", cost="Gratis", contact="Værten Anne", source="Opslag")
    assert tab.form_feedback.value.count(t("ui.communities.added", name="Strikkecafé")) == 1
    stored = app.wb._store.get("communities", doc["id"])
    assert stored is not None
    assert stored["site_id"] == "ODE" and stored["kind"] == "creative" and stored["age_max"] == 99
    assert stored["schedule"] == [{"weekday": "tue", "start": "10:00", "end": "12:00"},
                                  {"weekday": "thu", "start": "14:00", "end": "16:00"}]
    assert stored["target_groups"] == ["loneliness", "anxiety"]
    row = app.wb.frames.communities.row(0, named=True)
    assert (row["name"], row["site"], row["status"]) == ("Strikkecafé", "ODE", "active")
    assert listed_names(tab) == ["Strikkecafé"]
    assert [len(tab.schedule.rows), tab.schedule.text.value] == [2, ""]  # the short text became rows
    assert "Rediger: Strikkecafé" in tab.editor_title.value


def test_field_errors_appear_beside_the_field_and_nothing_is_stored(tab: CommunitiesTab, app: CoordinatorApp,
                                                                     unchanged: Any) -> None:
    tab.new_button.click()
    fill(tab, name="Gåtur", organiser="DGI", kind="sport", postal_code="500")
    with unchanged(app.wb):
        tab.save_button.click()
    assert said("ui.fix_fields") in tab.form_feedback.value
    assert said("input.postal_code_digits") in tab.form["postal_code"].error.value
    fill(tab, postal_code="5000", age_min="60", age_max="18")
    with unchanged(app.wb):
        tab.save_button.click()
    assert said("input.age_range") in tab.form["age_max"].error.value
    assert tab.form["postal_code"].error.value == ""
    fill(tab, age_min="tres", age_max="")
    with unchanged(app.wb):
        tab.save_button.click()
    assert said("import.whole_number") in tab.form["age_min"].error.value
    fill(tab, age_min="", description="Ring på 010190-1234")
    with unchanged(app.wb):
        tab.save_button.click()
    assert said("input.cpr_refused") in tab.form["description"].error.value


def test_kind_must_be_chosen_and_offered_options_are_rechecked(tab: CommunitiesTab, app: CoordinatorApp,
                                                                unchanged: Any) -> None:
    tab.new_button.click()
    fill(tab, name="Gåtur", organiser="DGI", postal_code="5000")
    assert tab.form["kind"].control.value is None
    with unchanged(app.wb):
        tab.save_button.click()
    assert said("input.choice") in tab.form["kind"].error.value
    fill(tab, kind="sport")
    tab.target_groups.boxes["<script>"] = widgets.Checkbox(value=True)  # a value the page never offered
    with unchanged(app.wb):
        tab.save_button.click()
    assert said("input.choice") in tab.form["target_groups"].error.value


def test_edit_keeps_the_version_and_saves_only_changes(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    doc = add(tab, "Strikkecafé")
    add(tab, "Gåtur", kind="sport")
    open_buttons(tab)[1].click()  # Danish order: Gåtur, Strikkecafé
    assert tab.current is not None and tab.current["id"] == doc["id"]
    assert tab.form["name"].control.value == "Strikkecafé"
    fill(tab, organiser="Borgernes Hus", schedule="ons 10:00-11:00")
    tab.save_button.click()
    assert said("ui.communities.saved") in tab.form_feedback.value
    stored = app.wb._store.get("communities", doc["id"])
    assert stored is not None
    assert stored["organiser"] == "Borgernes Hus" and stored["version"] == 2
    assert stored["schedule"] == [{"weekday": "wed", "start": "10:00", "end": "11:00"}]
    tab.save_button.click()
    assert said("ui.communities.no_changes") in tab.form_feedback.value
    assert app.wb._store.get("communities", doc["id"])["version"] == 2  # type: ignore[index]


def test_a_stale_edit_is_refused_and_the_form_reloads(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    doc = add(tab, "Strikkecafé")
    other_coordinator(app).update_community(doc["id"], version=1, organiser="Lenes forening")
    fill(tab, name="Strikkecafé på biblioteket")
    tab.save_button.click()
    assert said("edit.stale") in tab.form_feedback.value and "wb-error" in tab.form_feedback.value
    stored = app.wb._store.get("communities", doc["id"])
    assert stored is not None and stored["name"] == "Strikkecafé" and stored["organiser"] == "Lenes forening"
    assert tab.form["organiser"].control.value == "Lenes forening"  # the newest data is shown
    assert tab.form["name"].control.value == "Strikkecafé"
    assert tab.current is not None and tab.current["version"] == 2
    fill(tab, name="Strikkecafé på biblioteket")
    tab.save_button.click()
    assert said("ui.communities.saved") in tab.form_feedback.value
    assert app.wb._store.get("communities", doc["id"])["name"] == "Strikkecafé på biblioteket"  # type: ignore[index]


def test_a_stale_status_change_is_refused_too(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    doc = add(tab)
    other_coordinator(app).update_community(doc["id"], version=1, status="inactive")
    tab.close_button.click()
    assert said("edit.stale") in tab.form_feedback.value
    assert app.wb._store.get("communities", doc["id"])["status"] == "inactive"  # type: ignore[index]
    assert tab.reactivate_button.disabled is False and tab.deactivate_button.disabled is True


# -- status and verification ---------------------------------------------------------------------------

def test_deactivate_close_reactivate_and_verify(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    doc = add(tab)

    def stored() -> dict[str, Any]:
        found = app.wb._store.get("communities", doc["id"])
        assert found is not None
        return found

    assert tab.reactivate_button.disabled and not tab.close_button.disabled and not tab.deactivate_button.disabled
    tab.close_button.click()
    assert stored()["status"] == "temporarily_closed"
    assert said("community_status.temporarily_closed") in tab.form_feedback.value
    assert said("community_status.temporarily_closed") in tab.info.value
    assert tab.close_button.disabled and not tab.reactivate_button.disabled
    tab.deactivate_button.click()
    assert stored()["status"] == "inactive" and tab.deactivate_button.disabled
    tab.reactivate_button.click()
    assert stored()["status"] == "active" and tab.reactivate_button.disabled
    assert app.wb.frames.communities["status"].to_list() == ["active"]

    assert said("ui.communities.never_verified") in tab.info.value
    tab.verify_button.click()
    assert stored()["last_verified_on"] == TODAY.isoformat()
    assert stored()["last_verified_by"] == "koordinator.kim"
    verified = t("ui.communities.verified", date=fmt_date(TODAY), by="koordinator.kim")
    assert verified in tab.info.value
    grid_text = " ".join(w.value for w in walk(tab.list_box) if isinstance(w, widgets.HTML))
    assert verified in grid_text
    frame = app.wb.frames.communities
    assert frame["last_verified_by"].to_list() == ["koordinator.kim"]


def test_verifying_keeps_what_is_being_typed(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    doc = add(tab)
    fill(tab, cost="20 kr.")
    tab.verify_button.click()
    assert tab.form["cost"].control.value == "20 kr."
    tab.save_button.click()
    stored = app.wb._store.get("communities", doc["id"])
    assert stored is not None and stored["cost"] == "20 kr." and stored["last_verified_on"] == TODAY.isoformat()


def test_verifying_after_someone_else_changed_it_reloads_the_form(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    doc = add(tab)
    other_coordinator(app).update_community(doc["id"], version=1, organiser="Lenes forening")
    tab.verify_button.click()
    assert said("ui.communities.reloaded") in tab.form_feedback.value
    assert tab.form["organiser"].control.value == "Lenes forening"
    assert tab.current is not None and tab.current["version"] == 3


def test_status_buttons_need_a_chosen_community(tab: CommunitiesTab, app: CoordinatorApp, unchanged: Any) -> None:
    add(tab)
    tab.new_button.click()
    with unchanged(app.wb):
        tab.verify_button.click()  # disabled in the browser; the server refuses it anyway
    assert said("ui.communities.none_selected") in tab.form_feedback.value


# -- search and filter -----------------------------------------------------------------------------------

def test_search_and_status_filter(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    add(tab, "Strikkecafé", organiser="Odense Bibliotekerne", kind="creative", postal_code="5000")
    add(tab, "Gåklubben", organiser="Ældre Sagen", kind="sport", postal_code="5250")
    add(tab, "Fællesspisning", organiser="Beboerhuset", kind="dining", postal_code="5240")
    tab.close_button.click()
    app.wb.add_community(name="Åben café", organiser="Kirken", postal_code="5000")  # shared by every site
    app.wb.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    app.wb.add_community(site_id="AAR", name="Aarhus-gåtur", organiser="DGI", postal_code="8000")
    tab.refresh()
    assert listed_names(tab) == ["Fællesspisning", "Gåklubben", "Strikkecafé", "Åben café"]  # æøå last
    assert said("ui.communities.count", shown=4, total=4) in tab.count.value

    def search(text: str) -> list[str]:
        tab.search.value = text
        return listed_names(tab)

    assert search("BIBLIOTEK") == ["Strikkecafé"]  # organiser, any case
    assert search("motion") == ["Gåklubben"]  # the kind's Danish label
    assert search("5000") == ["Strikkecafé", "Åben café"]  # postal code
    assert search("gåtur") == []  # another site's community is never listed
    assert said("ui.communities.no_match") in html_of(tab.list_box)
    assert search("kirken 5000") == ["Åben café"]  # every word must match
    search("")
    tab.status_filter.value = "temporarily_closed"
    assert listed_names(tab) == ["Fællesspisning"]
    tab.status_filter.value = "inactive"
    assert listed_names(tab) == []
    tab.status_filter.value = "active"
    assert listed_names(tab) == ["Gåklubben", "Strikkecafé", "Åben café"]


def test_list_shows_the_promised_columns(tab: CommunitiesTab) -> None:
    add(tab, "Strikkecafé", schedule="tor 14:00-16:00; tir 10:00-12:00", postal_code="5000")
    [row] = listed_rows(tab.list_box)
    assert row == ["Strikkecafé", "Odense Bibliotekerne", t("community_kind.creative"), "5000",
                   f"{t('weekday.tue')}, {t('weekday.thu')}", t("community_status.active"),
                   t("ui.communities.never_verified")]


def test_a_shared_community_can_be_opened_and_edited(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    shared = app.wb.add_community(name="Åben café", organiser="Kirken", postal_code="5000")
    tab.refresh()
    open_buttons(tab)[0].click()
    assert tab.current is not None and tab.current["id"] == shared["id"]
    fill(tab, cost="Gratis", kind="meeting_place")
    tab.save_button.click()
    assert app.wb._store.get("communities", shared["id"])["cost"] == "Gratis"  # type: ignore[index]


# -- site scoping ----------------------------------------------------------------------------------------

def test_another_sites_community_is_refused(tab: CommunitiesTab, app: CoordinatorApp, unchanged: Any) -> None:
    app.wb.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    foreign = app.wb.add_community(site_id="AAR", name="Aarhus-gåtur", organiser="DGI", postal_code="8000")
    tab.open(foreign["id"])
    assert said("community.not_found", id=foreign["id"]) in tab.list_feedback.value
    assert tab.current is None
    tab.open("K999999")
    assert said("community.not_found", id="K999999") in tab.list_feedback.value
    # a page visitor who swaps the id behind the form gets the same answer, and nothing changes
    mine = add(tab)
    assert tab.current is not None
    tab.current = {**foreign}
    fill(tab, name="Overtaget")
    with unchanged(app.wb):
        tab.save_button.click()
        tab.deactivate_button.click()
        tab.verify_button.click()
    assert said("community.not_found", id=foreign["id"]) in tab.form_feedback.value
    assert app.wb._store.get("communities", foreign["id"])["name"] == "Aarhus-gåtur"  # type: ignore[index]
    assert app.wb._store.get("communities", mine["id"])["name"] == "Strikkecafé"  # type: ignore[index]


# -- escaping --------------------------------------------------------------------------------------------

def test_a_name_with_html_is_shown_as_text_everywhere(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    add(tab, XSS, organiser=XSS, description=XSS, contact=XSS)
    csv = (f'navn;arrangør;type;postnummer\n"{XSS} 2";{XSS};{XSS};5000\n"{XSS} 3";Biblioteket;Kreativt;5000\n'
           f'"{XSS}";Biblioteket;Kreativt;5000\n')
    upload(tab, csv.encode("utf-8"))
    tab.preview_button.click()
    tab.search.value = "img"
    tab.verify_button.click()
    htmls = [w for w in walk(app.widget) if isinstance(w, widgets.HTML)]
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    shown = [w.value for w in htmls if escaped in w.value]
    assert len(shown) >= 4  # the list row, the form title, the preview, the error report
    for widget in htmls:
        assert "<img" not in widget.value
        assert "onerror=alert(1)>" not in widget.value
    tab.import_button.click()  # refused: one row has errors
    tab.skip_bad_rows.value = True
    tab.import_button.click()
    for widget in walk(app.widget):
        if isinstance(widget, widgets.HTML):
            assert "<img" not in widget.value


# -- schedule entry --------------------------------------------------------------------------------------

def test_schedule_rows(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    tab.new_button.click()
    fill(tab, name="Gåtur", organiser="DGI", kind="sport", postal_code="5000")
    tab.schedule.add.click()
    tab.schedule.add.click()
    (_, day1, start1, end1), (_, day2, start2, end2) = tab.schedule.rows
    day1.value, start1.value, end1.value = "mon", "9.30", "11:00"
    day2.value, start2.value, end2.value = "thu", "14:00", "13:00"
    tab.save_button.click()
    assert said("import.schedule_order", part="tor 14:00-13:00") in tab.form["schedule"].error.value
    end2.value = "16:00"
    start1.value = "9"
    tab.save_button.click()
    assert said("input.clock") in tab.form["schedule"].error.value
    start1.value = "09:30"
    start2.value = ""
    tab.save_button.click()
    assert said("ui.communities.schedule_times") in tab.form["schedule"].error.value
    remove = with_class(tab, "wb-communities-schedule-remove")
    assert len(remove) == 2
    remove[1].click()  # type: ignore[attr-defined]
    tab.save_button.click()
    assert tab.current is not None
    assert tab.current["schedule"] == [{"weekday": "mon", "start": "09:30", "end": "11:00"}]


def test_schedule_short_text_is_inserted_as_rows_or_refused_clearly(tab: CommunitiesTab) -> None:
    tab.schedule.text.value = "tir 10:00-12:00; tor 14:00-16:00"
    tab.schedule.insert.click()
    assert [(r[1].value, r[2].value, r[3].value) for r in tab.schedule.rows] == [
        ("tue", "10:00", "12:00"), ("thu", "14:00", "16:00")]
    assert tab.schedule.text.value == ""
    tab.schedule.text.value = "tirsdag kl 10"
    tab.schedule.insert.click()
    assert said("import.schedule_format", part="tirsdag kl 10") in tab.form["schedule"].error.value
    assert tab.form_feedback.value and len(tab.schedule.rows) == 2
    tab.schedule.text.value = "fredag 10:00-11:00"
    tab.schedule.insert.click()
    assert tab.form["schedule"].error.value == ""
    assert len(tab.schedule.rows) == 3


def test_enter_in_the_short_text_inserts_it_and_every_row_is_named(tab: CommunitiesTab) -> None:
    """The box sends its value on Enter (``continuous_update=False``): that alone inserts the rows."""
    assert tab.schedule.text.continuous_update is False
    tab.schedule.text.value = "tir 10:00-12:00; tor 14:00-16:00"
    assert [(r[1].value, r[2].value) for r in tab.schedule.rows] == [("tue", "10:00"), ("thu", "14:00")]
    assert tab.schedule.text.value == ""
    names = [[w.description for w in r[1:]] for r in tab.schedule.rows]
    assert names == [["Ugedag 1", "Starttid 1", "Sluttid 1"], ["Ugedag 2", "Starttid 2", "Sluttid 2"]]
    with_class(tab, "wb-communities-schedule-remove")[0].click()
    assert [[w.description for w in r[1:]] for r in tab.schedule.rows] == [["Ugedag 1", "Starttid 1", "Sluttid 1"]]
    assert tab.schedule.text.description == t("ui.communities.schedule_quick")


# -- import through the widgets ------------------------------------------------------------------------------

BAD_CSV = ("navn;arrangør;type;postnummer;ugedage/tider\n"
           "Strikkecafé;Biblioteket;Kreativt;5000;tir 10:00-12:00\n"
           "Gåtur;DGI;Motion og sport;500;\n"
           "Snak;Headspace;Samtalegruppe;5000;fre 25:00-26:00\n")


def test_upload_preview_and_import_of_the_sample(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    upload(tab, b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    tab.preview_button.click()
    assert said("ui.communities.preview_summary", valid=5, bad=0, duplicates=0) in tab.import_feedback.value
    assert "Gåklubben i Fruens Bøge" in tab.preview_html.value
    assert "Ungegruppen Snak &amp; Spil" in tab.preview_html.value
    assert app.wb.frames.communities.height == 0  # a preview writes nothing
    tab.import_button.click()
    assert said("ui.communities.imported", count=5, bad=0, duplicates=0) in tab.import_feedback.value
    assert app.wb.frames.communities.filter(pl.col("site") == "ODE").height == 5
    assert len(listed_names(tab)) == 5
    assert tab.upload.value == ()
    upload(tab, SAMPLE.read_bytes())  # the same file again: every row already exists
    tab.preview_button.click()
    assert said("ui.communities.preview_summary", valid=0, bad=0, duplicates=5) in tab.import_feedback.value
    assert said("ui.communities.duplicate_existing") in tab.errors_html.value
    tab.import_button.click()
    assert said("import.nothing_to_import") in tab.import_feedback.value
    assert app.wb.frames.communities.height == 5


def test_import_with_errors_stores_nothing_unless_told_to_skip(tab: CommunitiesTab, app: CoordinatorApp,
                                                               unchanged: Any) -> None:
    upload(tab, BAD_CSV.encode("utf-8"))
    tab.preview_button.click()
    assert "wb-error" in tab.import_feedback.value
    report = tab.errors_html.value
    assert "postnummer" in report and said("input.postal_code_digits") in report
    assert "ugedage/tider" in report and said("input.clock") in report
    assert "<td>3</td>" in report and "<td>4</td>" in report
    with unchanged(app.wb):
        tab.import_button.click()
    assert said("import.has_errors", count=2) in tab.import_feedback.value
    tab.skip_bad_rows.value = True
    tab.import_button.click()
    assert said("ui.communities.imported", count=1, bad=2, duplicates=0) in tab.import_feedback.value
    assert app.wb.frames.communities["name"].to_list() == ["Strikkecafé"]
    assert said("input.postal_code_digits") in tab.errors_html.value  # the report of what was skipped stays


@pytest.mark.parametrize(("content", "name", "key"), [
    ("navn;arrangør\nGåtur;Ældre Sagen\n".encode("cp1252"), "x.csv", "import.not_utf8"),
    ("navn;arrangør;postnummer\n".encode() + b"a" * (2 * 1024 * 1024), "x.csv", "import.too_large"),
    ("navn;arrangør;postnummer\nA;B;5000\n".encode(), "x.xlsx", "import.not_csv"),
])
def test_unusable_uploads_get_a_clear_message(tab: CommunitiesTab, app: CoordinatorApp, unchanged: Any,
                                              content: bytes, name: str, key: str) -> None:
    upload(tab, content, name)
    with unchanged(app.wb):
        tab.preview_button.click()
        tab.import_button.click()
    assert said(key, max_mb=2) in tab.import_feedback.value


def test_no_file_chosen(tab: CommunitiesTab) -> None:
    tab.preview_button.click()
    assert said("import.no_file") in tab.import_feedback.value


def test_ipywidgets_7_upload_value_is_understood() -> None:
    from workbench.ui.coordinator.communities import upload_content

    assert upload_content({"a.csv": {"metadata": {"name": "a.csv", "size": 3}, "content": b"abc"}}) == ("a.csv", b"abc")
    assert upload_content(({"name": "b.CSV", "content": memoryview(b"xyz")},)) == ("b.CSV", b"xyz")


# -- wiring -------------------------------------------------------------------------------------------------

def test_stable_css_classes_are_present(tab: CommunitiesTab) -> None:
    add(tab)
    for name in ("wb-communities", "wb-communities-search", "wb-communities-status-filter", "wb-communities-list",
                 "wb-communities-open", "wb-communities-editor", "wb-communities-save", "wb-communities-new",
                 "wb-communities-deactivate", "wb-communities-close-temporarily", "wb-communities-reactivate",
                 "wb-communities-verify", "wb-communities-schedule", "wb-communities-schedule-text",
                 "wb-communities-schedule-insert", "wb-communities-schedule-add", "wb-communities-upload",
                 "wb-communities-preview-button", "wb-communities-import-skip", "wb-communities-import-button",
                 "wb-communities-import-preview", "wb-communities-import-errors", "wb-communities-form-feedback",
                 "wb-communities-import-feedback", "wb-communities-list-feedback", "wb-field-name"):
        assert with_class(tab, name), name


def test_the_app_refresh_shows_what_another_coordinator_added(tab: CommunitiesTab, app: CoordinatorApp) -> None:
    other_coordinator(app).add_community(site_id="ODE", name="Lenes gruppe", organiser="Lene", postal_code="5000")
    assert listed_names(tab) == []
    app.refresh()
    assert listed_names(tab) == ["Lenes gruppe"]


def test_an_unexpected_failure_is_shown_as_a_plain_apology(tab: CommunitiesTab, app: CoordinatorApp,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_fields: Any) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.wb, "add_community", broken)
    tab.new_button.click()
    fill(tab, name="Gåtur", organiser="DGI", kind="sport", postal_code="5000")
    tab.save_button.click()
    assert said("ui.unexpected_error") in tab.form_feedback.value
    assert "disk on fire" not in tab.form_feedback.value
