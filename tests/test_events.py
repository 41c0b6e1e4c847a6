"""The event payloads are the contract: required fields, allowed fields, the stored record, the README."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import workbench
from workbench.domain import events
from workbench.domain.workflow import EventKind
from workbench.service import Workbench

ROOT = Path(__file__).resolve().parents[1]


def test_every_kind_has_a_payload_and_the_stored_record_holds_every_payload_field() -> None:
    assert set(events.PAYLOADS) == set(EventKind)
    stored = set(events.Event.model_fields)
    for kind in EventKind:
        assert set(events.carries(kind)) <= stored, kind
    assert events.required(EventKind.follow_up) == ("week", "still_participating")
    assert events.required(EventKind.note) == ("text",)
    assert events.required(EventKind.contact_made) == ()


def test_the_readme_event_table_is_the_payloads() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert events.markdown_table() in readme


def test_a_typed_payload_is_recorded_like_its_keywords(wb: Workbench, site: str, open_case: Any) -> None:
    case = open_case(wb)
    typed = wb.record_event(case["id"], events.ContactMade(on=date(2026, 5, 1), text="Ringede"))
    assert (typed["kind"], typed["on"], typed["text"]) == ("contact_made", "2026-05-01", "Ringede")
    note = wb.record_event(case["id"], events.Note(on=date(2026, 5, 1), text="Hej"))
    assert note["text"] == "Hej"
    with pytest.raises(workbench.InvalidInput) as refused:
        wb.record_event(case["id"], events.Note(on=date(2026, 5, 1), text="Hej"), week=4)
    assert refused.value.key == "input.unknown_field"


@pytest.mark.parametrize(("kind", "fields", "key", "field"), [
    ("note", {"text": "x", "week": 4}, "input.unknown_field", "week"),
    ("contact_made", {"attended": True}, "input.unknown_field", "attended"),
    ("case_closed", {}, "input.required", "close_reason"),
    ("case_closed", {"close_reason": "bored"}, "input.choice", "close_reason"),
    ("follow_up", {"week": 4}, "input.required", "still_participating"),
])
def test_a_field_the_kind_does_not_carry_or_needs_is_refused_and_nothing_is_written(
        wb: Workbench, site: str, volunteer: dict[str, Any], community: dict[str, Any], open_case: Any,
        unchanged: Any, kind: str, fields: dict[str, Any], key: str, field: str) -> None:
    case = open_case(wb)
    if kind == "follow_up":
        wb.assign(case["id"], volunteer["id"])
        wb.record_event(case["id"], "conversation_held", community_id=community["id"])
        wb.record_event(case["id"], "escort_planned", planned_for="2026-05-01")
        wb.record_event(case["id"], "escort_completed", attended=True)
    with unchanged(wb), pytest.raises(workbench.InvalidInput) as refused:
        wb.record_event(case["id"], kind, **fields)
    assert (refused.value.key, refused.value.field) == (key, field)


def test_a_backup_whose_event_carries_another_kinds_field_is_refused(wb: Workbench, site: str, open_case: Any,
                                                                    tmp_path: Path) -> None:
    case = open_case(wb)
    wb.record_event(case["id"], "note", text="Ringede")
    path = wb.backup(tmp_path / "b.json")
    data = json.loads(path.read_text())
    [note] = [e for e in data["tables"]["events"] if e["kind"] == "note"]
    note["attended"] = True
    data.pop("checksum")  # edited by hand: no checksum to catch it, so the record's own check must
    path.write_text(json.dumps(data))
    with pytest.raises(workbench.StoreError) as refused:
        wb.restore(path)
    assert re.search("attended", refused.value.message)
