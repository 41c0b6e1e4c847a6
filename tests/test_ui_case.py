"""The case page and overview driven as a coordinator would, without a browser."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import ipywidgets as widgets
import pytest
from people import staff
from widget_tree import walk

import workbench
from workbench.service import Workbench
from workbench.ui.coordinator.app import CoordinatorApp
from workbench.ui.coordinator.overview import worklists

TODAY = date(2026, 6, 1)
EVIL = "<img src=x onerror=alert(1)>"



def buttons(widget: widgets.Widget, label: str) -> list[widgets.Button]:
    return [w for w in walk(widget) if isinstance(w, widgets.Button) and w.description == label]


@pytest.fixture
def wb(tmp_path: Path) -> Workbench:
    wb = workbench.open(tmp_path / "data", user=staff("Koordinator Kim"), today=lambda: TODAY)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    wb.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    wb.register_volunteer(site_id="ODE", name="Søren Ærø-Østergaard", status="active", interests=["strik"],
                          postal_code="5000")
    wb.register_volunteer(site_id="ODE", name=EVIL, status="active")
    wb.add_community(site_id="ODE", name="Strikkecafé", organiser="Ældre Sagen", postal_code="5000",
                     kind="creative")
    return wb


def _case(wb: Workbench, name: str = "Åse Ølund", site: str = "ODE", days_ago: int = 10) -> dict:
    return wb.open_referral(site_id=site, on=TODAY - timedelta(days=days_ago),
                            citizen={"display_name": name, "interests": ["strik"], "postal_code": "5000"},
                            consents=[{"purpose": "case_work", "given": True},
                                      {"purpose": "follow_up_contact", "given": True}])


def _step(app: CoordinatorApp, kind: str) -> None:
    [step] = [b for b in app.case.steps.children if f"wb-step-{kind}" in b._dom_classes]
    step.click()


def _save(app: CoordinatorApp) -> None:
    [save] = [w for w in walk(app.case.step_area) if "wb-step-save" in getattr(w, "_dom_classes", ())]
    save.click()


def _field(app: CoordinatorApp, name: str) -> widgets.Widget:
    [box] = [w for w in walk(app.case.step_area) if f"wb-field-{name}" in getattr(w, "_dom_classes", ())]
    return box.children[1]


def test_a_whole_case_from_referral_to_close(wb: Workbench) -> None:
    case = _case(wb)
    app = CoordinatorApp(wb, "ODE")
    assert case["number"] in str([w.value for w in walk(app.overview.widget) if isinstance(w, widgets.HTML)])
    app.open_case(case["id"])
    assert app.tabs.selected_index == 3
    assert "venter på brobygger" in app.case.header.value

    _step(app, "volunteer_assigned")
    suggestion_names = [w.value for w in walk(app.case.step_area) if isinstance(w, widgets.HTML)]
    assert any("Søren Ærø-Østergaard" in v for v in suggestion_names)
    assert any("Fælles interesser: strik" in v for v in suggestion_names)
    buttons(app.case.step_area, "Vælg Søren Ærø-Østergaard")[0].click()  # the best suggestion, named by whom it picks
    _save(app)
    assert "brobygger tildelt" in app.case.header.value
    assert wb.case_state(case["id"]).volunteer_id == "F000001"

    _step(app, "conversation_held")
    buttons(app.case.step_area, "Vælg Strikkecafé")[0].click()
    _save(app)
    assert wb.case_state(case["id"]).community_id == "K000001"

    _step(app, "escort_planned")
    _field(app, "planned_for").value = (TODAY + timedelta(days=3)).strftime("%d-%m-%Y")
    _save(app)
    assert "følgeskab planlagt" in app.case.header.value
    assert case["number"] in str([w.value for w in walk(app.overview.widget) if isinstance(w, widgets.HTML)])

    _step(app, "escort_completed")
    _field(app, "attended").value = True
    _field(app, "as_described").value = True
    _save(app)
    assert "i opfølgning" in app.case.header.value

    _step(app, "follow_up")
    _field(app, "week").value = 4
    _field(app, "still_participating").value = True
    _save(app)
    _step(app, "case_closed")
    _field(app, "close_reason").value = "joined_community"
    _save(app)
    assert "afsluttet" in app.case.header.value
    assert [b for b in app.case.steps.children if "wb-step-case_reopened" in b._dom_classes]
    kinds = [e["kind"] for e in wb.case_events(case["id"])]
    assert kinds == ["referral_received", "volunteer_assigned", "conversation_held", "escort_planned",
                     "escort_completed", "follow_up", "case_closed"]
    assert "koordinator.kim" in app.case.timeline.value
    assert wb._store.get("communities", "K000001")["last_verified_on"] == TODAY.isoformat()


def test_a_stale_step_button_is_refused_on_the_server(wb: Workbench, tmp_path: Path) -> None:
    case = _case(wb)
    app = CoordinatorApp(wb, "ODE")
    app.open_case(case["id"])
    [contact] = [b for b in app.case.steps.children if "wb-step-contact_made" in b._dom_classes]
    other = workbench.open(tmp_path / "data", user=staff("Anden Koordinator"), today=lambda: TODAY)
    other.close_case(case["id"], "declined")  # meanwhile, in another tab
    token = wb._store.token()
    contact.click()  # the button is still on this page
    assert "ikke muligt" in app.case.step_feedback.value
    assert app.case.step_area.children == ()
    wb._store.refresh()
    assert wb._store.token() != token  # the other write is seen ...
    assert [e["kind"] for e in wb.case_events(case["id"])][-1] == "case_closed"  # ... and nothing was added


def test_a_value_the_page_did_not_offer_is_refused(wb: Workbench) -> None:
    case = _case(wb)
    other_site_volunteer = wb.register_volunteer(site_id="AAR", name="Anders Aarhus", status="active")
    app = CoordinatorApp(wb, "ODE")
    app.open_case(case["id"])
    _step(app, "volunteer_assigned")
    chooser = _field(app, "volunteer_id")
    chooser.options = [*chooser.options, ("x", other_site_volunteer["id"])]  # forged in the browser
    chooser.value = other_site_volunteer["id"]
    token = wb._store.token()
    _save(app)
    assert wb._store.token() == token
    assert "Vælg en af de mulige værdier" in str([w.value for w in walk(app.case.step_area)
                                                   if isinstance(w, widgets.HTML)])


def test_missing_choice_and_bad_date_show_next_to_the_field(wb: Workbench) -> None:
    case = _case(wb)
    app = CoordinatorApp(wb, "ODE")
    app.open_case(case["id"])
    _step(app, "volunteer_assigned")
    _field(app, "on").value = "31-02-2026"
    _save(app)
    errors = [w.value for w in walk(app.case.step_area) if "wb-field-error" in getattr(w, "_dom_classes", ())]
    assert any("Feltet skal udfyldes" in e for e in errors)
    assert wb.case_state(case["id"]).volunteer_id is None


def test_over_capacity_needs_a_reason_and_records_it(wb: Workbench) -> None:
    busy = wb.register_volunteer(site_id="ODE", name="Travle Tove", status="active", capacity=1)
    first, second = _case(wb, "Første"), _case(wb, "Anden")
    wb.assign(first["id"], busy["id"])
    app = CoordinatorApp(wb, "ODE")
    app.open_case(second["id"])
    _step(app, "volunteer_assigned")
    _field(app, "volunteer_id").value = busy["id"]
    _save(app)
    assert "fuld kapacitet" in app.case.step_feedback.value + str(
        [w.value for w in walk(app.case.step_area) if isinstance(w, widgets.HTML)])
    _field(app, "override_reason").value = "Kender borgeren i forvejen"
    _save(app)
    assigned = wb.case_events(second["id"])[-1]
    assert assigned["override"] is True and assigned["override_reason"] == "Kender borgeren i forvejen"


def test_another_sites_case_cannot_be_opened(wb: Workbench) -> None:
    foreign = _case(wb, "Aarhusianer", site="AAR")
    app = CoordinatorApp(wb, "ODE")
    app.case.query.value = "Aarhusianer"
    app.case._search()
    assert "Aarhusianer" not in str([w.value for w in walk(app.case.results) if isinstance(w, widgets.HTML)])
    with pytest.raises(workbench.NotFound):
        app.case.show(foreign["id"])


def test_names_and_notes_are_escaped_everywhere(wb: Workbench) -> None:
    case = _case(wb, EVIL)
    wb.assign(case["id"], "F000002")
    wb.record_event(case["id"], "note", text="<script>alert(1)</script>")
    app = CoordinatorApp(wb, "ODE")
    app.open_case(case["id"])
    app.case.query.value = "img"
    app.case._search()
    html = " ".join(w.value for w in walk(app.widget) if isinstance(w, widgets.HTML))
    assert "<img" not in html and "<script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_unexpected_failure_shows_an_apology_not_a_traceback(wb: Workbench, monkeypatch: pytest.MonkeyPatch) -> None:
    case = _case(wb)
    app = CoordinatorApp(wb, "ODE")
    app.open_case(case["id"])

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(wb, "record_event", broken)
    _step(app, "note")
    _field(app, "text").value = "En note"
    _save(app)
    assert "Noget gik galt" in app.case.step_feedback.value
    assert "disk on fire" not in app.case.step_feedback.value and "Traceback" not in app.case.step_feedback.value


def test_overview_lists_what_is_due(wb: Workbench) -> None:
    waiting = _case(wb, "Venter Vera")
    followed = _case(wb, "Fulgt Frede", days_ago=45)
    wb.assign(followed["id"], "F000001", on=TODAY - timedelta(days=40))
    wb.record_event(followed["id"], "conversation_held", community_id="K000001", on=TODAY - timedelta(days=39))
    wb.record_event(followed["id"], "escort_planned", planned_for=TODAY - timedelta(days=30),
                    on=TODAY - timedelta(days=38))
    wb.record_event(followed["id"], "escort_completed", attended=True, on=TODAY - timedelta(days=30))
    lists = worklists(wb.frames, "ODE", TODAY)
    assert lists.waiting["case_id"].to_list() == [waiting["id"]]
    assert lists.waiting["days_waiting"].to_list() == [10]
    assert lists.follow_ups.select("case_id", "week", "days_overdue").rows() == [(followed["id"], 4, 2)]
    app = CoordinatorApp(wb, "ODE")
    html = " ".join(w.value for w in walk(app.overview.widget) if isinstance(w, widgets.HTML))
    assert "Venter Vera" in html and "overskredet med 2 dage" in html


DANISH_NAMES = ["Zoë Zachariassen", "Åse Ågård", "Æbelø Æblerød", "Ólafur Ólafsson", "Øjvind Østergaard",
                "Aage Berg", "Anna Andersen"]
DANISH_ORDER = ["Anna Andersen", "Ólafur Ólafsson", "Zoë Zachariassen", "Æbelø Æblerød", "Øjvind Østergaard",
                "Aage Berg", "Åse Ågård"]


def _in_order(texts: list[str]) -> list[str]:
    """The Danish test names in the order they appear in ``texts``."""
    found = []
    for text in texts:
        found += [n for n in DANISH_NAMES if text.startswith(n) and n not in found]
    return found


def test_every_list_and_dropdown_of_people_and_communities_is_in_danish_order(tmp_path: Path) -> None:
    wb = workbench.open(tmp_path / "data", user=staff("Koordinator Kim"), today=lambda: TODAY)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    for name in DANISH_NAMES:
        wb.register_volunteer(site_id="ODE", name=name, status="active")
        wb.add_community(site_id="ODE", name=name, organiser="Foreningen", postal_code="5000")
    case = _case(wb)
    app = CoordinatorApp(wb, "ODE")
    from widget_tree import listed_rows

    assert _in_order([row[0] for row in listed_rows(app.volunteers.widget)]) == DANISH_ORDER
    assert _in_order([row[0] for row in listed_rows(app.communities.widget)]) == DANISH_ORDER
    app.open_case(case["id"])
    _step(app, "volunteer_assigned")
    assert _in_order([label for label, _ in _field(app, "volunteer_id").options]) == DANISH_ORDER
    wb.assign(case["id"], "F000001")
    app.case.refresh()
    _step(app, "conversation_held")
    assert _in_order([label for label, _ in _field(app, "community_id").options]) == DANISH_ORDER


def test_a_search_typed_with_decomposed_letters_finds_the_person(wb: Workbench) -> None:
    case = _case(wb, name="Kåre Ølund")
    wb.register_volunteer(site_id="ODE", name="Kåre Brobygger", status="active")
    app = CoordinatorApp(wb, "ODE")
    from widget_tree import listed_rows

    app.case.query.value = "Ka\u030are"
    app.case._search()
    assert [row[:2] for row in listed_rows(app.case.results)] == [[case["number"], "Kåre Ølund"]]
    app.volunteers.search.value = "ka\u030aRE"
    app.volunteers.refresh()
    assert [row[0] for row in listed_rows(app.volunteers.widget)] == ["Kåre Brobygger"]


def _openings(wb: Workbench) -> list[dict]:
    return [a for a in wb._store.audit_trail() if a["action"] == "open"]


def test_opening_a_case_writes_one_read_audit_record_naming_the_user(wb: Workbench, tmp_path: Path) -> None:
    case = _case(wb)
    anna = workbench.open(tmp_path / "data", user=staff("Anna Koordinator", roles=("coordinator",), sites=("ODE",)),
                          today=lambda: TODAY)
    app = CoordinatorApp(anna, "ODE")
    before = len(_openings(wb))
    app.open_case(case["id"])
    _step(app, "note")  # working on the case redraws it: no further opening
    _field(app, "text").value = "Ringede"
    _save(app)
    assert "Ringede" in app.case.timeline.value
    app.refresh()
    openings = _openings(wb)[before:]
    assert [(a["actor"], a["entity"], a["entity_id"]) for a in openings] == [
        ("anna.koordinator", "citizens", case["citizen_id"])]
    app.open_case(case["id"])  # opened again: a second opening
    assert len(_openings(wb)) == before + 2


def test_a_forged_id_from_the_browser_cannot_reach_another_sites_records(wb: Workbench, tmp_path: Path) -> None:
    own = _case(wb)
    other = _case(wb, "Aarhus Borger", site="AAR")
    other_volunteer = wb.register_volunteer(site_id="AAR", name="Aarhus Frivillig", status="active")
    anna = workbench.open(tmp_path / "data", user=staff("Anna Koordinator", roles=("coordinator",), sites=("ODE",)),
                          today=lambda: TODAY)
    app = CoordinatorApp(anna, "ODE")
    events_before = wb.frames.events.height
    openings = len(_openings(wb))
    for forged in (lambda: app.open_case(other["id"]), lambda: app.volunteers.open_volunteer(other_volunteer["id"])):
        with pytest.raises(workbench.WorkbenchError):
            forged()
    app.case.show(own["id"])
    app.case.case_id = other["id"]  # even with the other case's id set under it, no step form opens
    _step(app, "note")
    assert "Aarhus" not in app.case.step_area.children.__repr__()
    assert wb.frames.events.height == events_before  # nothing written to the other site's case
    assert "Aarhus Borger" not in str([w.value for w in walk(app.widget) if hasattr(w, "value")])
    assert [a["entity_id"] for a in _openings(wb)[openings:]] == [own["citizen_id"]]
    with pytest.raises(workbench.NotAllowed):
        anna.citizen(other["citizen_id"])  # the service itself, as a notebook handle would call it


def test_a_brobygger_row_on_the_overview_opens_that_brobygger(wb: Workbench) -> None:
    app = CoordinatorApp(wb, "ODE")
    søren = wb.frames.volunteers.filter(wb.frames.volunteers["name"] == "Søren Ærø-Østergaard")["volunteer_id"][0]
    app.show_volunteer(søren)
    assert app.tabs.selected_index == CoordinatorApp.TAB_KEYS.index("volunteers")
    assert "Søren Ærø-Østergaard" in app.volunteers.title.value
    assert app.volunteers.selected_id == søren


def test_a_coordinator_of_two_sites_chooses_the_site_and_cannot_send_another(wb: Workbench, tmp_path: Path) -> None:
    from workbench.ui.coordinator.app import SiteChooser

    ode, aar = _case(wb), _case(wb, "Aarhus Borger", site="AAR")
    wb.add_site("SVE", "Frivilligcenter Svendborg", "Svendborg")
    svendborg = _case(wb, "Svendborg Borger", site="SVE")
    both = workbench.open(tmp_path / "data", today=lambda: TODAY,
                          user=staff("Bo Begge", roles=("coordinator",), sites=("ODE", "AAR")))
    chooser = SiteChooser(both)
    # Danish order: Aa is Å, the last letter
    assert [label for label, _ in chooser.choice.options] == ["Frivilligcenter Odense", "Frivilligcenter Aarhus"]
    assert chooser.app.site == "ODE" and "Frivilligcenter Odense" in str(walk_values(chooser.widget))
    chooser.choice.value = "AAR"
    assert chooser.app.site == "AAR" and "Frivilligcenter Aarhus" in str(walk_values(chooser.widget))
    chooser.app.open_case(aar["id"])
    assert "Aarhus Borger" in chooser.app.case.header.value
    with pytest.raises(workbench.WorkbenchError):
        chooser.app.open_case(ode["id"])  # the other site's case is not on this site's page
    with pytest.raises(workbench.InvalidInput):
        chooser._chosen({"new": "SVE"})  # a forged choice from the browser
    assert chooser.app.site == "AAR" and "Svendborg Borger" not in str(walk_values(chooser.widget))
    assert svendborg["id"] not in str(walk_values(chooser.widget))


def walk_values(widget: widgets.Widget) -> list[str]:
    return [str(w.value) for w in walk(widget) if isinstance(getattr(w, "value", None), str)]


def test_a_case_is_put_on_an_intervention_piloted_at_its_site(wb: Workbench) -> None:
    case = _case(wb)
    here = wb.define_template("Makkerskab", target_group="loneliness")
    wb.pilot_template(here["id"], "ODE")
    elsewhere = wb.define_template("Gåtur i Aarhus")
    wb.pilot_template(elsewhere["id"], "AAR")
    everywhere = wb.add_intervention("Værtsvenner")
    second = wb.fork_template(here["id"], description="Med opringning efter en uge")
    wb.pilot_template(second["id"], "ODE")
    app = CoordinatorApp(wb, "ODE")
    app.open_case(case["id"])
    _step(app, "interventions")
    offered = {w.description for w in walk(app.case.step_area) if isinstance(w, widgets.Checkbox)}
    assert offered == {"Makkerskab", "Makkerskab v2", "Værtsvenner"}
    [box] = [w for w in walk(app.case.step_area) if f"wb-intervention-{second['id']}" in getattr(w, "_dom_classes", ())]
    box.value = True
    _save(app)
    assert wb.case(case["id"])["intervention_ids"] == [second["id"]]
    assert "Makkerskab v2" in app.case.header.value
    assert "er gemt" in app.case.step_feedback.value
    # the server refuses what the page did not offer (a template piloted elsewhere)
    with pytest.raises(workbench.InvalidInput):
        wb.set_interventions(case["id"], [elsewhere["id"]])
    assert everywhere["id"] not in wb.case(case["id"])["intervention_ids"]


def test_enter_in_the_case_search_searches_without_the_button(wb: Workbench) -> None:
    from widget_tree import listed_rows

    case = _case(wb, name="Kåre Ølund")
    app = CoordinatorApp(wb, "ODE")
    assert app.case.query.continuous_update is False  # the browser sends the value on Enter, not per keystroke
    app.case.query.value = "kåre"  # what pressing Enter sends
    assert [row[:2] for row in listed_rows(app.case.results)] == [[case["number"], "Kåre Ølund"]]


def test_an_empty_case_tab_says_how_to_open_a_case_instead_of_empty_headings(wb: Workbench) -> None:
    case = _case(wb)
    app = CoordinatorApp(wb, "ODE")
    assert app.case.hint.layout.display != "none" and "tryk Enter" in app.case.hint.value
    assert app.case.case_sections.layout.display == "none"  # no "Næste skridt" and "Tidslinje" over nothing
    app.open_case(case["id"])
    assert app.case.hint.layout.display == "none" and app.case.case_sections.layout.display == "flex"
