"""The bulk load (``Workbench.bulk``): the same store as call-by-call entry, all or nothing, audited.

Every test runs the real service on real files; faults are made as in the durability tests
(file size limits in a child process, or files put back as a crash would leave them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from people import staff

import workbench
from workbench.demo import generate
from workbench.errors import StoreError, WorkflowRefused
from workbench.service import Workbench
from workbench.store.journal import LOAD_AUDIT

TODAY = date(2026, 6, 1)
CASES = 120
TESTS = Path(__file__).resolve().parent


def _open(path: Path, user: str = "test") -> Workbench:
    return workbench.open(path, user=staff(user), today=lambda: TODAY)


def _tables(wb: Workbench) -> dict[str, list[dict[str, Any]]]:
    """Every table's documents by id, without the clock time each event was recorded at."""
    tables = wb._store.export_tables()
    for event in tables["events"]:
        event.pop("recorded_at")
    return {name: sorted(docs, key=lambda d: d["id"]) for name, docs in tables.items()}


def _audit(wb: Workbench) -> list[dict[str, Any]]:
    return [{k: v for k, v in record.items() if k != "at"} for record in wb._store.audit_trail()]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workbench, Workbench]:
    """The same demo data, once bulk-loaded and once entered call by call through the journal."""
    bulk = _open(tmp_path_factory.mktemp("bulk") / "data")
    generate(bulk, CASES, bulk=True)
    calls = _open(tmp_path_factory.mktemp("calls") / "data")
    generate(calls, CASES, bulk=False)
    return bulk, calls


def test_bulk_load_equals_call_by_call_entry_table_by_table(loaded: tuple[Workbench, Workbench]) -> None:
    bulk, calls = loaded
    by_bulk, by_calls = _tables(bulk), _tables(calls)
    for name in by_calls:
        assert by_bulk[name] == by_calls[name], name
    assert len(by_bulk["events"]) > 5 * CASES and len(by_bulk["cases"]) == CASES


def test_bulk_load_is_audited_like_call_by_call_entry(loaded: tuple[Workbench, Workbench]) -> None:
    bulk, calls = loaded
    assert _audit(bulk) == _audit(calls)
    on_disk = [json.loads(line) for line in (bulk.data_dir / "audit.ndjson").read_bytes().splitlines()]
    assert [{k: v for k, v in r.items() if k != "at"} for r in on_disk] == _audit(bulk)


def test_bulk_load_is_one_new_generation_and_reopens(loaded: tuple[Workbench, Workbench]) -> None:
    bulk, _ = loaded
    root = bulk.data_dir
    assert not list(root.glob("journal-*.ndjson")) or all(p.stat().st_size == 0 for p in root.glob("journal-*"))
    reopened = _open(root)
    assert _tables(reopened) == _tables(bulk)
    assert reopened.check().problems == []


def test_refused_call_inside_a_bulk_load_changes_nothing_and_the_rest_is_loaded(tmp_path: Path) -> None:
    wb = _open(tmp_path / "data")
    with wb.bulk():
        wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
        case = wb.open_referral(site_id="ODE", citizen={"display_name": "Søren Ærø"},
                                consents=[{"purpose": "case_work", "given": True}], on=TODAY)
        with pytest.raises(WorkflowRefused):
            wb.record_event(case["id"], "escort_cancelled", on=TODAY)
        wb.record_event(case["id"], "contact_made", on=TODAY)
    kinds = _open(tmp_path / "data").frames.events.get_column("kind").to_list()
    assert kinds == ["referral_received", "contact_made"]


def test_an_error_that_leaves_the_load_writes_nothing(tmp_path: Path, unchanged: Any) -> None:
    wb = _open(tmp_path / "data")
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    with unchanged(wb), pytest.raises(WorkflowRefused), wb.bulk():
        wb.open_referral(site_id="ODE", citizen={"display_name": "Søren Ærø"},
                         consents=[{"purpose": "case_work", "given": True}], on=TODAY)
        raise WorkflowRefused("workflow.not_allowed", kind="x", status="y")
    assert wb.frames.cases.height == 0
    wb.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")  # the handle writes on afterwards
    assert {s["id"] for s in _open(tmp_path / "data").sites()} == {"ODE", "AAR"}


def test_a_write_by_someone_else_during_the_load_makes_it_refuse(tmp_path: Path) -> None:
    wb = _open(tmp_path / "data")
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    other = _open(tmp_path / "data", "other")
    with pytest.raises(StoreError) as caught, wb.bulk():
        wb.open_referral(site_id="ODE", citizen={"display_name": "Søren Ærø"},
                         consents=[{"purpose": "case_work", "given": True}], on=TODAY)
        other.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    assert caught.value.key == "store.changed_during_load"
    assert "skrev i datamappen" in str(caught.value)
    fresh = _open(tmp_path / "data")
    assert fresh.frames.cases.height == 0 and {s["id"] for s in fresh.sites()} == {"ODE", "AAR"}
    generate(wb, 5)  # run again, it loads
    assert _open(tmp_path / "data").frames.cases.height == 5


def test_a_batch_inside_a_load_is_part_of_the_load(tmp_path: Path) -> None:
    """Catalog import runs in a batch: inside a load it must neither commit early nor outlive a refused load."""
    wb = _open(tmp_path / "data")
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    other = _open(tmp_path / "data", "other")
    with pytest.raises(StoreError) as caught, wb.bulk():
        with wb.batch():
            wb.add_site("KGE", "Frivilligcenter Køge", "Køge")
        assert {s["id"] for s in _open(tmp_path / "data").sites()} == {"ODE"}  # nothing written yet
        other.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    assert caught.value.key == "store.changed_during_load"
    assert {s["id"] for s in _open(tmp_path / "data").sites()} == {"ODE", "AAR"}


def test_a_write_after_a_torn_journal_line_is_seen_by_the_load(tmp_path: Path) -> None:
    """A crashed writer's torn line is cut off when the load begins, so the next writer's line always
    makes the journal longer (it could otherwise replace the torn bytes with a line just as long)."""
    root = tmp_path / "data"
    wb = _open(root)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    journal = next(root.glob("journal-*.ndjson"))
    line = journal.read_bytes().splitlines(keepends=True)[-1]
    with journal.open("ab") as handle:
        handle.write(line[: len(line) // 2])  # as a writer killed mid-append leaves it
    other = _open(root, "other")
    with pytest.raises(StoreError) as caught, wb.bulk():
        wb.add_site("KGE", "Frivilligcenter Køge", "Køge")
        other.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    assert caught.value.key == "store.changed_during_load"
    assert {s["id"] for s in _open(root).sites()} == {"ODE", "AAR"}


# argv: path limit -- a bulk load whose snapshot files may not grow past ``limit`` bytes
FAILED_LOAD = r'''
import resource, signal, sys
from datetime import date
import workbench
from people import staff
from workbench.demo import generate
from workbench.errors import StoreError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
wb = workbench.open(sys.argv[1], user=staff("loader"), today=lambda: date(2026, 6, 1))
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), hard))
try:
    generate(wb, 60)
    print("NOERROR", flush=True)
except StoreError as exc:
    print(exc.key, flush=True)
'''


def test_a_load_that_cannot_be_written_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "data"
    wb = _open(root)
    generate(wb, 10)
    before, audit = _tables(wb), _audit(wb)
    out = subprocess.run([sys.executable, "-c", FAILED_LOAD, str(root), "30000"], capture_output=True, text=True,
                         cwd=TESTS, check=True, timeout=120)
    assert out.stdout.strip() == "store.write_failed", out.stderr
    again = _open(root)
    assert _tables(again) == before and _audit(again) == audit
    assert not list(root.glob(".snapshot-*.tmp"))


def test_a_crash_before_the_audit_append_loses_no_audit_record(tmp_path: Path) -> None:
    root = tmp_path / "data"
    wb = _open(root)
    generate(wb, 10)
    trail = root / "audit.ndjson"
    kept = trail.read_bytes()
    generate(wb, 20)
    expected = _audit(wb)
    trail.write_bytes(kept)  # as a crash after CURRENT named the load, before its records were appended
    reopened = _open(root)
    assert _audit(reopened) == expected
    assert list(root.glob(f"snapshot-*/{LOAD_AUDIT}"))
    reopened.add_site("XYZ", "Frivilligcenter Xyz", "Xyz")
    reopened._store.compact()
    lines = [json.loads(line) for line in trail.read_bytes().splitlines()]
    positions = [(r["seq"], r["n"]) for r in lines]
    assert len(positions) == len(set(positions)) == len(expected) + 1
