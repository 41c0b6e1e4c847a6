"""The service API's refusals of bad input, CPR numbers in text, Danish names, stale edits, case numbers.

Every refusal must be ``InvalidInput`` (or the specific error) with the catalog key and the
field a form would mark, and must leave the data directory exactly as it was.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from people import staff

import workbench
from workbench.domain.text import danish_sort_key, danish_sorted
from workbench.service import Workbench

TODAY = date(2026, 5, 1)
CONSENTS = [{"purpose": "case_work", "given": True}, {"purpose": "follow_up_contact", "given": True}]

# Bug: the field rules in validation.py (free_text, name, postal_code, phone, email) and
# Citizen._plausible_birth_year (model.py:216) raise InvalidInput(key) with field=None from inside
# pydantic validators; pydantic re-raises non-ValueError exceptions unchanged, so model.parse
# (model.py:386) never sees a ValidationError and cannot attach the field's location.


# --- what to call with one bad value ----------------------------------------------------------


def call(wb: Workbench, target: str, case_id: str, values: dict[str, Any]) -> Any:
    """Make one service call with ``values`` replacing or adding to otherwise valid input."""
    if target == "volunteer":
        return wb.register_volunteer(**{"site_id": "ODE", "name": "Anna Frivillig", **values})
    if target == "citizen":
        return wb.open_referral(site_id="ODE", citizen={"display_name": "Bo Borger", **values},
                                consents=CONSENTS)
    if target == "contact":
        return wb.open_referral(site_id="ODE", citizen={"display_name": "Bo Borger"}, consents=CONSENTS,
                                contact=values)
    if target == "referral":
        return wb.open_referral(**{"site_id": "ODE", "citizen": {"display_name": "Bo Borger"},
                                   "consents": CONSENTS, **values})
    if target == "community":
        return wb.add_community(**{"site_id": "ODE", "name": "Gåklubben", "organiser": "Ældre Sagen",
                                   "postal_code": "5000", **values})
    if target == "note":
        return wb.record_event(case_id, "note", **{"text": "Ringede i dag.", **values})
    if target == "contact_made":
        return wb.record_event(case_id, "contact_made", **values)
    if target == "close":
        return wb.record_event(case_id, "case_closed", **{"close_reason": "declined", **values})
    raise AssertionError(target)


# (id, target, values, key, field, field is currently named)
BAD: list[tuple[str, str, dict[str, Any], str, str, bool]] = [
    # postal codes
    *[(f"postal-{v}", "volunteer", {"postal_code": v}, key, "postal_code", False) for v, key in [
        ("123", "input.postal_code_digits"), ("12345", "input.postal_code_digits"),
        ("0700", "input.postal_code_range"), ("9999", "input.postal_code_range"),
        ("abcd", "input.postal_code_digits"), ("", "input.postal_code_digits"),
        ("50 00", "input.postal_code_digits")]],
    ("citizen-postal", "citizen", {"postal_code": "0700"}, "input.postal_code_range", "postal_code", False),
    ("community-postal", "community", {"postal_code": "12345"}, "input.postal_code_digits", "postal_code", False),
    # phones
    *[(f"phone-{v}", "volunteer", {"phone": v}, "input.phone", "phone", False)
      for v in ("1234567", "+46 12345678", "12 34 56 7a", "123456789", "+45 1234567", "")],
    ("contact-phone", "contact", {"phone": "+46 12345678"}, "input.phone", "phone", False),
    # e-mail
    *[(f"email-{v}", "volunteer", {"email": v}, "input.email", "email", False)
      for v in ("anna", "anna@", "@example.dk", "anna@example", "anna example@mail.dk", "anna@@example.dk",
                "anna@example.d")],
    ("contact-email", "contact", {"email": "bo@localhost"}, "input.email", "email", False),
    # birth years
    ("birth-1800", "citizen", {"birth_year": 1800}, "input.birth_year", "birth_year", False),
    ("birth-next-year", "citizen", {"birth_year": 2027}, "input.birth_year", "birth_year", False),
    ("birth-text", "citizen", {"birth_year": "nitten"}, "input.type", "birth_year", True),
    # names
    ("name-empty", "volunteer", {"name": ""}, "input.name_empty", "name", False),
    ("name-spaces", "volunteer", {"name": "   "}, "input.name_empty", "name", False),
    ("name-whitespace", "citizen", {"display_name": "\t \u00a0"}, "input.name_empty", "display_name", False),
    ("name-newline", "volunteer", {"name": "Anna\nHansen"}, "input.name_one_line", "name", False),
    ("name-cr", "citizen", {"display_name": "Bo\rBorger"}, "input.name_one_line", "display_name", False),
    ("name-control", "volunteer", {"name": "Anna\x07"}, "input.control_chars", "name", False),
    ("name-too-long", "volunteer", {"name": "A" * 121}, "input.too_long", "name", False),
    ("community-organiser-empty", "community", {"organiser": " "}, "input.name_empty", "organiser", False),
    ("note-too-long", "note", {"text": "x" * 5001}, "input.too_long", "text", False),
    # CPR numbers wherever text goes
    ("cpr-dash-in-name", "volunteer", {"name": "Anna 010190-1234"}, "input.cpr_refused", "name", True),
    ("cpr-10-digits-name", "citizen", {"display_name": "0101901234"}, "input.cpr_refused", "display_name", True),
    ("cpr-space", "note", {"text": "cpr 010190 1234"}, "input.cpr_refused", "text", True),
    ("cpr-unicode-hyphen", "note", {"text": "cpr 010190\u20101234"}, "input.cpr_refused", "text", True),
    ("cpr-in-note", "note", {"text": "Borgerens cpr er 311285-1234, ring efter kl. 10"}, "input.cpr_refused",
     "text", True),
    ("cpr-in-note-2000s", "note", {"text": "født 290200-4321"}, "input.cpr_refused", "text", True),
    ("cpr-in-interests", "volunteer", {"interests": ["strik", "0101901234"]}, "input.cpr_refused", "interests",
     True),
    ("cpr-in-citizen-interests", "citizen", {"interests": ["gåture", "cpr 010190-1234"]}, "input.cpr_refused",
     "interests", True),
    ("cpr-in-description", "community", {"description": "Tilmelding med cpr 150375-1234"},
     "input.cpr_refused", "description", True),
    ("cpr-in-address", "contact", {"address": "Vestergade 1, 010190-1234"}, "input.cpr_refused", "address",
     True),
    ("cpr-in-close-text", "close", {"text": "0101901234"}, "input.cpr_refused", "text", True),
    # unknown fields
    ("unknown-volunteer", "volunteer", {"shoe_size": 42}, "input.unknown_field", "shoe_size", True),
    ("unknown-citizen", "citizen", {"cpr": "ukendt"}, "input.unknown_field", "cpr", True),
    ("unknown-contact", "contact", {"fax": "12345678"}, "input.unknown_field", "fax", True),
    ("unknown-community", "community", {"price": "gratis"}, "input.unknown_field", "price", True),
    ("unknown-event", "note", {"mood": "glad"}, "input.unknown_field", "mood", True),
    # choices and ranges
    ("volunteer-status", "volunteer", {"status": "busy"}, "input.choice", "status", True),
    ("capacity-zero", "volunteer", {"capacity": 0}, "input.number_range", "capacity", True),
    ("capacity-huge", "volunteer", {"capacity": 31}, "input.number_range", "capacity", True),
    ("close-reason", "close", {"close_reason": "bored"}, "input.choice", "close_reason", True),
    ("close-reason-missing", "close", {"close_reason": ""}, "input.required", "close_reason", True),
    ("note-without-text", "note", {"text": ""}, "input.required", "text", True),
    ("community-ages", "community", {"age_min": 60, "age_max": 18}, "input.age_range", "age_max", True),
    ("site-unknown", "volunteer", {"site_id": "XYZ"}, "site.not_found", "", True),
    # dates
    ("future-event", "contact_made", {"on": TODAY + timedelta(days=1)}, "input.date_future", "on", True),
    ("future-event-text", "contact_made", {"on": "2026-05-02"}, "input.date_future", "on", True),
    ("bad-date-text", "contact_made", {"on": "2026-13-01"}, "input.date", "on", True),
    ("future-referral", "referral", {"on": date(2026, 6, 1)}, "input.date_future", "on", True),
    ("event-before-referral", "contact_made", {"on": TODAY - timedelta(days=1)}, "event.before_referral", "on",
     True),
]


def _error_type(key: str) -> type[Exception]:
    return workbench.NotFound if key.endswith("not_found") else workbench.InvalidInput


@pytest.fixture
def case(wb: Workbench, site: str, open_case: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return open_case(wb)


@pytest.fixture(scope="module")
def shared(make_wb: Callable[..., Workbench], open_case: Callable[..., dict[str, Any]]) -> tuple[Workbench, str]:
    """One store with a site and an open case for the refusal tests (each checks it stays unchanged)."""
    wb = make_wb()
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    return wb, open_case(wb)["id"]


@pytest.mark.parametrize(("target", "values", "key"), [pytest.param(t, v, k, id=i) for i, t, v, k, _, _ in BAD])
def test_bad_input_is_refused_with_its_key_and_changes_nothing(shared: tuple[Workbench, str], unchanged: Any,
                                                               target: str, values: dict[str, Any],
                                                               key: str) -> None:
    wb, case_id = shared
    with unchanged(wb), pytest.raises(_error_type(key)) as refused:
        call(wb, target, case_id, values)
    assert refused.value.key == key


@pytest.mark.parametrize(("target", "values", "field"), [
    pytest.param(t, v, f, id=i)
    for i, t, v, k, f, _named in BAD if not k.endswith("not_found")])
def test_bad_input_names_its_field(shared: tuple[Workbench, str], unchanged: Any, target: str,
                                   values: dict[str, Any], field: str) -> None:
    wb, case_id = shared
    with unchanged(wb), pytest.raises(workbench.InvalidInput) as refused:
        call(wb, target, case_id, values)
    assert refused.value.field == field


def test_refusals_render_a_message_without_the_value(wb: Workbench, case: dict[str, Any]) -> None:
    with pytest.raises(workbench.InvalidInput) as refused:
        call(wb, "note", case["id"], {"text": "cpr 010190-1234"})
    assert "010190" not in str(refused.value)
    assert refused.value.message and refused.value.message != "input.cpr_refused"


# --- what is accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Mødes 01.01.90 kl. 10",          # a date with dots is not a CPR number
    "3213901234",                      # ten digits, but the 32nd day is no date
    "290201-1234",                     # 29 February 2001 / 1901 did not exist
    "Ring på 12345678",                # an eight-digit phone number
    "+45 12 34 56 78",
    "sag ODE-2026-0001",
    "12345678901",                     # eleven digits: longer than a CPR number
    "kontonr. 1234-0101901234567",
])
def test_text_that_only_looks_like_a_cpr_number_is_kept(wb: Workbench, case: dict[str, Any], text: str) -> None:
    event = wb.record_event(case["id"], "note", text=text)
    assert event["text"] == text
    stored = [e for e in wb.case_events(case["id"]) if e["kind"] == "note"]
    assert [e["text"] for e in stored] == [text]


@pytest.mark.parametrize(("postal", "stored"), [("0800", "0800"), ("5000", "5000"), ("9990", "9990"),
                                                (" 5000 ", "5000")])
def test_valid_postal_codes(wb: Workbench, site: str, postal: Any, stored: str) -> None:
    assert wb.register_volunteer(site_id=site, name="Anna", postal_code=postal)["postal_code"] == stored


@pytest.mark.parametrize(("phone", "stored"), [("12345678", "+4512345678"), ("+45 12 34 56 78", "+4512345678"),
                                               ("12-34-56-78", "+4512345678")])
def test_valid_phones_are_stored_with_country_code(wb: Workbench, site: str, phone: str, stored: str) -> None:
    assert wb.register_volunteer(site_id=site, name="Anna", phone=phone)["phone"] == stored


@pytest.mark.parametrize("year", [1916, 1990, 2026])
def test_birth_years_within_110_years_are_accepted(wb: Workbench, site: str, year: int,
                                                   open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case(wb, birth_year=year)
    assert wb.citizen(case["citizen_id"])["birth_year"] == year


def test_unknown_event_kind_is_refused(wb: Workbench, case: dict[str, Any], unchanged: Any) -> None:
    with unchanged(wb), pytest.raises(workbench.InvalidInput) as refused:
        wb.record_event(case["id"], "phone_call")
    assert (refused.value.key, refused.value.field) == ("event.kind", "kind")


def test_unknown_case_is_not_found(wb: Workbench, site: str, unchanged: Any) -> None:
    with unchanged(wb), pytest.raises(workbench.NotFound) as refused:
        wb.record_event("S999999", "contact_made")
    assert refused.value.key == "case.not_found"


def test_escort_planned_before_its_date_is_refused(wb: Workbench, case: dict[str, Any], volunteer: dict[str, Any],
                                                   community: dict[str, Any], clock: Any, unchanged: Any) -> None:
    wb.assign(case["id"], volunteer["id"])
    wb.record_event(case["id"], "conversation_held", community_id=community["id"])
    clock.today = TODAY + timedelta(days=7)
    for planned in (TODAY + timedelta(days=6), (TODAY + timedelta(days=5)).isoformat()):
        with unchanged(wb), pytest.raises(workbench.InvalidInput) as refused:
            wb.record_event(case["id"], "escort_planned", planned_for=planned, on=TODAY + timedelta(days=7))
        assert (refused.value.key, refused.value.field) == ("event.planned_in_past", "planned_for")
    with unchanged(wb), pytest.raises(workbench.InvalidInput) as refused:
        wb.record_event(case["id"], "escort_planned", planned_for="next tuesday")
    assert (refused.value.key, refused.value.field) == ("input.date", "planned_for")
    # planned for the day it is planned, or later (even beyond today), is fine
    wb.record_event(case["id"], "escort_planned", planned_for=TODAY + timedelta(days=7))
    wb.record_event(case["id"], "escort_planned", planned_for=TODAY + timedelta(days=30))
    assert wb.frames.cases.row(0, named=True)["escort_planned_for"] == TODAY + timedelta(days=30)


def test_backdated_event_on_the_referral_day_is_accepted(wb: Workbench, site: str, clock: Any,
                                                         open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case(wb, on=TODAY - timedelta(days=10))
    wb.record_event(case["id"], "contact_made", on=TODAY - timedelta(days=10))
    with pytest.raises(workbench.InvalidInput) as refused:
        wb.record_event(case["id"], "contact_made", on=TODAY - timedelta(days=11))
    assert refused.value.key == "event.before_referral"
    assert wb.frames.cases.row(0, named=True)["days_to_contact"] == 0


# --- Unicode and Danish order ---------------------------------------------------------------------


def test_decomposed_letters_are_stored_nfc(wb: Workbench, site: str,
                                           open_case: Callable[..., dict[str, Any]]) -> None:
    decomposed = "Ga\u030ardsted Ae\u0301lise"
    vol = wb.register_volunteer(site_id=site, name=decomposed, interests=["ha\u030andarbejde"])
    assert vol["name"] == "Gårdsted Aélise" == unicodedata.normalize("NFC", decomposed)
    assert vol["interests"] == ["håndarbejde"]
    frame_name = wb.frames.volunteers.get_column("name").item()
    assert frame_name == "Gårdsted Aélise"
    assert unicodedata.is_normalized("NFC", frame_name)

    case = open_case(wb, "Bj\u00f8rn A\u030agesen")
    assert wb.citizen(case["citizen_id"])["display_name"] == "Bjørn Ågesen"


@pytest.mark.parametrize("name", ["Søren Ærø-Åkjær", "Zoë O'Brien", "Nguyễn Thị Minh", "Łukasz Żółć",
                                  "Fatima Al-Sayed (فاطمة)", "Anne-Mette Kjærsgaard Østergård"])
def test_unicode_names_are_kept_exactly(wb: Workbench, site: str, name: str) -> None:
    vol = wb.register_volunteer(site_id=site, name=name)
    assert vol["name"] == name
    assert wb.frames.volunteers.get_column("name").to_list() == [name]
    other = workbench.open(Path(wb._store.root), user=staff("Læser"))  # type: ignore[attr-defined]
    assert other.frames.volunteers.get_column("name").to_list() == [name]


def test_names_are_trimmed(wb: Workbench, site: str) -> None:
    assert wb.register_volunteer(site_id=site, name="  Anna Hansen \n")["name"] == "Anna Hansen"


def test_danish_sorted_puts_æ_ø_å_after_z() -> None:
    names = ["Ågård", "Østergaard", "Zacho", "Aagaard", "Æbelø", "Andersen", "Bøgh"]
    assert danish_sorted(names) == ["Andersen", "Bøgh", "Zacho", "Æbelø", "Østergaard", "Aagaard", "Ågård"]


def test_danish_sorted_orders_æ_ø_å_and_aa() -> None:
    names = ["Ågård", "Østergaard", "Aagaard", "Æbelø", "Andersen", "Bøgh", "Olsen", "Yde"]
    assert danish_sorted(names) == ["Andersen", "Bøgh", "Olsen", "Yde", "Æbelø", "Østergaard", "Aagaard", "Ågård"]
    assert danish_sorted(["ågård", "Æbelø", "aagaard", "øster"]) == ["Æbelø", "øster", "aagaard", "ågård"]
    # a decomposed å sorts like the composed one
    assert danish_sort_key("A\u030agård")[0] == danish_sort_key("Ågård")[0]


# --- stale edits ------------------------------------------------------------------------------------


def test_stale_volunteer_edit_is_refused(wb: Workbench, site: str, unchanged: Any) -> None:
    vol = wb.register_volunteer(site_id=site, name="Anna Frivillig")
    assert vol["version"] == 1
    first = wb.update_volunteer(vol["id"], version=1, status="screened")
    assert (first["version"], first["status"]) == (2, "screened")
    with unchanged(wb), pytest.raises(workbench.StaleEdit) as stale:
        wb.update_volunteer(vol["id"], version=1, status="trained")
    assert stale.value.key == "edit.stale"
    assert wb.frames.volunteers.get_column("status").to_list() == ["screened"]
    assert wb.update_volunteer(vol["id"], version=2, status="trained")["version"] == 3


def test_stale_edit_from_another_handle(wb: Workbench, data_dir: Path, site: str, unchanged: Any) -> None:
    vol = wb.register_volunteer(site_id=site, name="Anna Frivillig")
    other = workbench.open(data_dir, user=staff("Anden Koordinator"), today=lambda: TODAY)
    other.update_volunteer(vol["id"], version=1, phone="12345678")
    with unchanged(wb), pytest.raises(workbench.StaleEdit):
        wb.update_volunteer(vol["id"], version=1, phone="87654321")


def test_stale_community_edit_is_refused(wb: Workbench, community: dict[str, Any], unchanged: Any) -> None:
    wb.update_community(community["id"], version=1, status="temporarily_closed")
    with unchanged(wb), pytest.raises(workbench.StaleEdit):
        wb.update_community(community["id"], version=1, status="inactive")


def test_updates_validate_like_creation(wb: Workbench, site: str, unchanged: Any) -> None:
    vol = wb.register_volunteer(site_id=site, name="Anna Frivillig")
    with unchanged(wb), pytest.raises(workbench.InvalidInput) as refused:
        wb.update_volunteer(vol["id"], version=1, postal_code="0700")
    assert refused.value.key == "input.postal_code_range"
    with unchanged(wb), pytest.raises(workbench.InvalidInput) as refused:
        wb.update_volunteer(vol["id"], version=1, id="F000099")
    assert refused.value.key == "input.unknown_field"


# --- case numbers ----------------------------------------------------------------------------------


def test_case_numbers_run_per_site_and_year(wb: Workbench, data_dir: Path, site: str, clock: Any,
                                            open_case: Callable[..., dict[str, Any]]) -> None:
    wb.add_site("SVE", "Frivilligcenter Svendborg", "Svendborg")
    numbers = [open_case(wb, f"Borger {i}")["number"] for i in range(3)]
    assert numbers == ["ODE-2026-0001", "ODE-2026-0002", "ODE-2026-0003"]
    assert open_case(wb, "Svendborger", site_id="SVE")["number"] == "SVE-2026-0001"

    other = workbench.open(data_dir, user=staff("Anden Koordinator"), today=lambda: TODAY)
    assert open_case(other, "Fra anden maskine")["number"] == "ODE-2026-0004"
    wb._store.compact()
    assert open_case(wb, "Efter komprimering")["number"] == "ODE-2026-0005"

    clock.today = date(2027, 1, 4)
    assert open_case(wb, "Nytår")["number"] == "ODE-2027-0001"
    assert open_case(wb, "Nytår 2")["number"] == "ODE-2027-0002"
    # a referral dated last year is numbered in last year's series
    assert open_case(wb, "Efterregistreret", on=date(2026, 12, 30))["number"] == "ODE-2026-0006"
    assert open_case(wb, "Svendborger 2", site_id="SVE")["number"] == "SVE-2027-0001"

    numbers = wb.frames.cases.get_column("case_number").to_list()
    assert len(numbers) == len(set(numbers)) == 10


def test_case_numbers_with_a_fixed_today(tmp_path: Path, open_case: Callable[..., dict[str, Any]]) -> None:
    wb = workbench.open(tmp_path / "d", user=staff("Koordinator"), today=lambda: date(2026, 5, 1))
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    assert [open_case(wb, f"B{i}")["number"] for i in range(2)] == ["ODE-2026-0001", "ODE-2026-0002"]
    later = workbench.open(tmp_path / "d", user=staff("Koordinator"), today=lambda: date(2027, 2, 1))
    assert open_case(later, "B3")["number"] == "ODE-2027-0001"


def test_refused_referral_does_not_use_up_a_number(wb: Workbench, site: str,
                                                   open_case: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(workbench.InvalidInput):
        open_case(wb, "Bo", birth_year=1800)
    with pytest.raises(workbench.ConsentMissing):
        wb.open_referral(site_id=site, citizen={"display_name": "Bo"}, consents=[])
    assert open_case(wb, "Bo")["number"] == "ODE-2026-0001"


# --- one open case per citizen ----------------------------------------------------------------------


def test_open_case_is_refused_while_the_citizen_has_an_open_case(wb: Workbench, site: str, unchanged: Any,
                                                                 open_case: Callable[..., dict[str, Any]]) -> None:
    first = open_case(wb)
    citizen_id = first["citizen_id"]
    with unchanged(wb), pytest.raises(workbench.WorkflowRefused) as refused:
        wb.open_case(citizen_id)
    assert refused.value.key == "case.already_open"
    assert refused.value.params["number"] == "ODE-2026-0001"

    wb.record_event(first["id"], "case_paused")
    with unchanged(wb), pytest.raises(workbench.WorkflowRefused):
        wb.open_case(citizen_id)

    wb.close_case(first["id"], "no_contact")
    second = wb.open_case(citizen_id)
    assert second["number"] == "ODE-2026-0002"
    assert second["citizen_id"] == citizen_id
    assert wb.case_state(second["id"]).status.value == "referred"  # type: ignore[union-attr]
    cases = wb.frames.cases
    assert cases.get_column("status").to_list() == ["closed", "referred"]
    assert cases.get_column("citizen_id").to_list() == [citizen_id, citizen_id]

    wb.reopen_case(first["id"])  # reopening the old case is the coordinator's call
    with unchanged(wb), pytest.raises(workbench.WorkflowRefused):
        wb.open_case(citizen_id)


def test_open_case_for_unknown_citizen(wb: Workbench, site: str, unchanged: Any) -> None:
    with unchanged(wb), pytest.raises(workbench.NotFound) as refused:
        wb.open_case("B999999")
    assert refused.value.key == "citizen.not_found"


def test_targets_are_set_per_site_year_and_metric(wb: Workbench, site: str) -> None:
    wb.set_target(site, 2026, "escorts", 120)
    wb.set_target(site, 2026, "escorts", 150)  # replaces
    wb.set_target(site, 2026, "referrals", 300)
    targets = {(d["metric"], d["value"]) for d in wb._store.frame("targets").to_dicts()}
    assert targets == {("escorts", 150), ("referrals", 300)}
    for bad, key in (({"value": -1}, "input.number_range"), ({"metric": "hugs"}, "input.choice"),
                     ({"site_id": "XYZ"}, "site.not_found")):
        args = {"site_id": site, "year": 2026, "metric": "escorts", "value": 1, **bad}
        with pytest.raises(workbench.WorkbenchError) as refused:
            wb.set_target(**args)
        assert refused.value.key == key
