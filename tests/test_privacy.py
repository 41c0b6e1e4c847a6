"""Erasure really removes personal data from the files; exports hold everything, safely."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from people import staff

import workbench
from workbench.service import Workbench

TODAY = date(2026, 6, 1)
NAME = "Kirsten Ønskeø"
PHONE = "+4529876543"
NOTE = "Kan godt lide havearbejde ved Ørbæk"


def _open(path: Path) -> Workbench:
    return workbench.open(path, user=staff("Koordinator Kim"), today=lambda: TODAY)


def _journey(wb: Workbench, name: str, note: str, phone: str = PHONE, born: int = 1948) -> dict:
    case = wb.open_referral(
        site_id="ODE", on=TODAY - timedelta(days=60),
        citizen={"display_name": name, "birth_year": born, "postal_code": "5700",
                 "interests": ["havearbejde"], "needs": ["loneliness"]},
        contact={"phone": phone, "email": f"{phone[3:]}@example.dk", "address": f"{name}vej 1"},
        consents=[{"purpose": p, "given": True} for p in ("case_work", "follow_up_contact", "research")],
        text=note,
    )
    wb.assign(case["id"], "F000001", on=TODAY - timedelta(days=55))
    wb.record_event(case["id"], "conversation_held", community_id="K000001", on=TODAY - timedelta(days=50))
    wb.record_event(case["id"], "escort_planned", planned_for=TODAY - timedelta(days=40), on=TODAY - timedelta(days=49))
    wb.record_event(case["id"], "escort_completed", attended=True, text=note, on=TODAY - timedelta(days=40))
    wb.record_measure(case["id"], instrument="ucla3", answers=[3, 3, 2], timepoint="baseline",
                      mode="self_completed", on=TODAY - timedelta(days=59))
    wb.record_event(case["id"], "note", text=f"{note} – =HYPERLINK(\"x\")")
    return case


@pytest.fixture
def wb(tmp_path: Path) -> Workbench:
    wb = _open(tmp_path / "data")
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    wb.register_volunteer(site_id="ODE", name="Bo Brobygger", status="active")
    wb.add_community(site_id="ODE", name="Havefællesskabet", organiser="Haveforeningen", postal_code="5700")
    return wb


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_erasure_removes_every_personal_field_from_the_files(wb: Workbench, tmp_path: Path) -> None:
    case = _journey(wb, NAME, NOTE)
    other = _journey(wb, "Hans Hansen", "Går til kor", phone="+4520202020", born=1971)
    funnel_before = wb.frames.funnel
    citizen_id = case["citizen_id"]
    wb.citizen(citizen_id)  # an opening, logged
    wb.erase_citizen(citizen_id)

    data = _all_bytes(tmp_path / "data")
    for secret in (NAME, PHONE, "29876543@example.dk", f"{NAME}vej", NOTE, '"birth_year":1948'):
        assert secret.encode() not in data, secret
    assert b"Hans Hansen" in data and b"+4520202020" in data  # the other citizen is untouched
    assert wb.frames.funnel.equals(funnel_before)
    assert wb.frames.measures.filter(wb.frames.measures["case_id"] == case["id"]).height == 0
    assert wb.case_state(other["id"]).status.value == "in_follow_up"
    with pytest.raises(workbench.NotFound):
        wb.citizen(citizen_id)
    with pytest.raises(workbench.NotFound):
        wb.erase_citizen(citizen_id)
    ledger = json.loads(wb.backup(tmp_path / "ledger.json").read_text())["tables"]["erasures"]
    assert ledger == [{"id": citizen_id, "on": TODAY.isoformat()}]  # the ledger names no one
    assert wb.check().sound


def test_restoring_an_older_backup_erases_again(wb: Workbench, tmp_path: Path) -> None:
    case = _journey(wb, NAME, NOTE)
    backup = wb.backup(tmp_path / "before-erasure.json")
    assert NAME.encode() in backup.read_bytes()
    wb.erase_citizen(case["citizen_id"])
    assert wb.restore(backup) == 1
    data = _all_bytes(tmp_path / "data")
    assert NAME.encode() not in data and PHONE.encode() not in data
    assert wb.frames.cases.height == 1
    assert wb.check().sound


def test_backup_and_restore_round_trip(wb: Workbench, tmp_path: Path) -> None:
    _journey(wb, NAME, NOTE)
    backup = wb.backup(tmp_path / "b.json")
    cases_before = wb.frames.cases
    _journey(wb, "Ny Borger", "ny")
    assert wb.frames.cases.height == 2
    assert wb.restore(backup) == 0
    fresh = _open(tmp_path / "data")
    assert fresh.frames.cases.equals(cases_before)
    with pytest.raises(workbench.InvalidInput):
        wb.backup(backup)  # never overwrites


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"format": "other"}', b'{"format": "brobygning-workbench-backup", "tables": 5}'])
def test_restore_refuses_what_is_not_a_backup(wb: Workbench, tmp_path: Path, content: bytes) -> None:
    _journey(wb, NAME, NOTE)
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    before = wb.frames.cases
    with pytest.raises(workbench.StoreError):
        wb.restore(bad)
    assert wb.frames.cases.equals(before)


def test_restore_refuses_a_backup_with_an_invalid_record(wb: Workbench, tmp_path: Path) -> None:
    _journey(wb, NAME, NOTE)
    path = wb.backup(tmp_path / "b.json")
    data = json.loads(path.read_text())
    data["tables"]["citizens"][0]["postal_code"] = "12"
    path.write_text(json.dumps(data))
    with pytest.raises(workbench.StoreError):
        wb.restore(path)
    assert wb.frames.cases.height == 1


def test_access_request_export_holds_everything_and_who_opened_the_record(wb: Workbench) -> None:
    case = _journey(wb, NAME, NOTE)
    wb.citizen(case["citizen_id"])
    export = wb.export_citizen(case["citizen_id"])
    assert export["citizen"]["display_name"] == NAME
    assert export["contact"]["phone"] == PHONE
    assert export["cases"][0]["number"] == case["number"]
    assert [e["kind"] for e in export["cases"][0]["events"]][:2] == ["referral_received", "volunteer_assigned"]
    assert export["cases"][0]["measures"][0]["raw_score"] == 8
    openings = [a for a in export["audit"] if a["action"] == "open"]
    assert openings and openings[0]["actor"] == "koordinator.kim" and openings[0]["at"]
    # the export itself is logged
    again = wb.export_citizen(case["citizen_id"])
    assert any(a["action"] == "export" for a in again["audit"])


def test_csv_export_neutralises_formulas(wb: Workbench) -> None:
    case = _journey(wb, "=cmd|' /C calc'!A0", NOTE)
    rows = list(csv.reader(io.StringIO(wb.export_citizen_csv(case["citizen_id"]))))
    assert rows[0] == ["field", "value"]
    values = [value for _, value in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in values
    assert all(not v.startswith(("=", "+", "-", "@")) for v in values)
    assert any(v.startswith(NOTE) for v in values)


def test_audit_names_fields_but_never_values(wb: Workbench) -> None:
    _journey(wb, NAME, NOTE)
    trail = json.dumps(list(wb._store.audit_trail()), ensure_ascii=False)
    assert NAME not in trail and PHONE not in trail and NOTE not in trail
    assert "display_name" in trail


# -- erasure on a real, compacted demo store ----------------------------------------------------

def _long_values(wb: Workbench, citizen_id: str) -> list[str]:
    """Every personal value of one citizen longer than 12 bytes (polars keeps those in shared buffers)."""
    citizen = wb._store.get("citizens", citizen_id) or {}
    contact = wb._store.get("contacts", citizen_id) or {}
    values = [citizen["display_name"], *(contact.get(k) for k in ("phone", "email", "address"))]
    for case in wb._store.find("cases", "citizen_id", citizen_id):
        values += [e["text"] for e in wb._store.find("events", "case_id", case["id"]) if e.get("text")]
    return [v for v in values if v and len(v.encode()) > 12]


@pytest.fixture
def demo_store(tmp_path: Path) -> tuple[Workbench, list[str], list[str]]:
    """A 300-case demo store, compacted, and three citizens whose name, e-mail and address are long and theirs alone."""
    from collections import Counter

    from workbench.demo import generate

    wb = _open(tmp_path / "data")
    generate(wb, 300, seed=11)
    names = Counter(wb._store.frame("citizens").get_column("display_name").to_list())
    chosen = [row["id"] for row in wb._store.frame("citizens").iter_rows(named=True)
              if names[row["display_name"]] == 1 and len(row["display_name"].encode()) > 12][:3]
    for n, citizen_id in enumerate(chosen):  # demo citizens give one way of contact; these give all three
        wb.update_contact(citizen_id, phone=f"+45 61 7{n} 88 99", email=f"borger.nummer.{n}@eksempel-kommune.dk",
                          address=f"Langelinie Allé {n + 10}, 5230 Odense M")
    wb._store.compact()  # every citizen now lives in the snapshot and its Arrow copy
    values = {row["id"]: _long_values(wb, row["id"]) for row in wb._store.frame("citizens").iter_rows(named=True)}
    # Demo notes repeat across citizens: search only for what is one citizen's alone.
    seen = Counter(value for found in values.values() for value in set(found))
    assert all(len([v for v in values[cid] if seen[v] == 1]) >= 3 for cid in chosen) and len(chosen) == 3
    secrets = [value for cid in chosen for value in values[cid] if seen[value] == 1]
    return wb, chosen, secrets


def _leftovers(root: Path, secrets: list[str]) -> list[tuple[str, str]]:
    """Every (file, value) pair where an erased value's bytes are still found."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [(str(path.relative_to(root)), s) for s in secrets if s.encode() in data]
    return found


def test_erasure_leaves_no_byte_of_long_values_in_any_file(demo_store: tuple[Workbench, list[str], list[str]],
                                                           tmp_path: Path) -> None:
    wb, chosen, secrets = demo_store
    root = tmp_path / "data"
    assert _leftovers(root, secrets)  # the search finds them before the erasure
    for citizen_id in chosen:
        wb.erase_citizen(citizen_id)
    assert _leftovers(root, secrets) == []
    wb._store.compact()
    assert _leftovers(root, secrets) == []
    reopened = _open(root)  # a restart reads the Arrow copies again
    assert reopened.frames.cases.height == 300
    assert _leftovers(root, secrets) == []
    assert reopened.check().sound


def test_erasure_holds_after_restoring_an_older_backup(demo_store: tuple[Workbench, list[str], list[str]],
                                                       tmp_path: Path) -> None:
    wb, chosen, secrets = demo_store
    backup = wb.backup(tmp_path / "before.json")
    for citizen_id in chosen:
        wb.erase_citizen(citizen_id)
    assert wb.restore(backup) == 3
    assert _leftovers(tmp_path / "data", secrets) == []
    assert _leftovers(tmp_path / "data", secrets) == []
    assert _open(tmp_path / "data").check().sound


@pytest.mark.parametrize("command", ["backup", "export"])
def test_personal_copies_are_never_written_into_the_data_folder(demo_store: tuple[Workbench, list[str], list[str]],
                                                                 tmp_path: Path, command: str) -> None:
    """A copy inside the data folder would survive an erasure there; it is refused with a message."""
    wb, chosen, _secrets = demo_store
    target = tmp_path / "data" / "copy.json"
    with pytest.raises(workbench.InvalidInput) as refused:
        if command == "backup":
            wb.backup(target)
        else:
            wb.export_citizen_file(chosen[0], target, "json")
    assert "datamappen" in refused.value.message
    assert not target.exists()


def test_access_export_holds_the_audit_of_the_citizens_questionnaires(wb: Workbench) -> None:
    case = _journey(wb, NAME, NOTE)
    export = wb.export_citizen(case["citizen_id"])
    measure_ids = {m["id"] for m in export["cases"][0]["measures"]}
    assert measure_ids
    assert {a["entity_id"] for a in export["audit"] if a["entity"] == "measures"} == measure_ids


# An erasure and its ledger entry are one transaction: a SIGKILL at any moment leaves both or neither.
ERASER = r"""
import sys
sys.path.insert(0, "tests")
import workbench
from people import staff
wb = workbench.open(sys.argv[1], user=staff("Koordinator Kim"))
print("READY", flush=True)
for citizen_id in sys.argv[2:]:
    try:
        wb.erase_citizen(citizen_id)
    except workbench.NotFound:  # erased by an earlier, killed run
        continue
    print("ERASED", citizen_id, flush=True)
"""


def test_a_kill_at_any_moment_of_an_erasure_leaves_it_in_the_ledger_or_not_at_all(wb: Workbench,
                                                                                  tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "data"
    wb.update_volunteer("F000001", capacity=20)
    citizens = [_journey(wb, f"Borger Nummer{i:02d}", f"Note om nummer {i:02d}", phone=f"+45201000{i:02d}")["citizen_id"]
                for i in range(12)]
    older = wb.backup(tmp_path / "older.json")
    repo = Path(__file__).resolve().parents[1]
    outcomes = []
    for trial, delay in enumerate((0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5)):
        out = tmp_path / f"eraser{trial}.out"
        with out.open("wb") as stdout:
            child = subprocess.Popen([sys.executable, "-c", ERASER, str(root), *citizens], stdout=stdout,
                                     stderr=subprocess.DEVNULL, cwd=repo)
            deadline = time.monotonic() + 60
            while b"READY" not in out.read_bytes() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            child.wait()
        after = _open(root)
        backup = json.loads(after.backup(tmp_path / f"after{trial}.json").read_text())["tables"]
        ledger = {e["id"] for e in backup["erasures"]}
        erased = {c["id"] for c in backup["citizens"] if c.get("erased_on")}
        assert erased == ledger, f"kill {trial} after {delay}s: erased {erased - ledger} not in the ledger"
        acknowledged = {line.split()[1] for line in out.read_text().splitlines() if line.startswith("ERASED")}
        assert acknowledged <= ledger
        outcomes.append(len(ledger))
        # an older backup restored now erases every citizen of the ledger again
        assert after.restore(older) == len(ledger)
        data = _all_bytes(root)
        for i, citizen_id in enumerate(citizens):
            assert (f"Borger Nummer{i:02d}".encode() in data) == (citizen_id not in ledger)
        assert after.check().sound
    print(f"ledger sizes after each kill: {outcomes}")
    assert outcomes[0] < len(citizens) and outcomes == sorted(outcomes)


def test_a_version_1_data_folder_keeps_its_erasure_ledger(wb: Workbench, tmp_path: Path) -> None:
    from workbench.store import journal
    from workbench.store.schema import SCHEMA_VERSION

    root = tmp_path / "data"
    case = _journey(wb, NAME, NOTE)
    older = wb.backup(tmp_path / "older.json")
    wb.erase_citizen(case["citizen_id"])
    # make it the folder an older workbench left: ledger beside the store, no erasures table, schema 1
    json.loads((root / journal.MARKER).read_text())
    (root / journal.MARKER).write_text(json.dumps({"format": journal.FORMAT, "schema_version": 1}))
    current = json.loads((root / "CURRENT").read_text())["generation"]
    snapshot = root / f"snapshot-{current:06d}"
    for name in ("erasures.ndjson", "erasures.arrow"):
        (snapshot / name).unlink(missing_ok=True)
    (root / "erasures.json").write_text(json.dumps(
        {"erasures": [{"citizen_id": case["citizen_id"], "on": TODAY.isoformat()}]}))
    again = _open(root)
    assert not (root / "erasures.json").exists()
    assert json.loads((root / journal.MARKER).read_text())["schema_version"] == SCHEMA_VERSION
    assert again.restore(older) == 1
    assert NAME.encode() not in _all_bytes(root)
