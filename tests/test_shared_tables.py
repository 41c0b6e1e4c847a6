"""The lead's tables, shared by every lead page of one store state (``workbench.service.shared_tables``).

A second lead handle (another page's kernel) reads what the first computed; every table equals
the one computed fresh from the frames, before and after a mix of writes; any write leaves the
old tables unused; a damaged table is computed again; filtered views are never shared.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from people import staff
from polars.testing import assert_frame_equal

import workbench
from workbench import demo
from workbench.reporting import analysis
from workbench.reporting.suppression import PUBLICATION, STANDARD
from workbench.service import Workbench

TODAY = date(2026, 6, 1)
PROGRESS = {"year": 2026, "metric": "referrals"}


def _lead(root: Path) -> Workbench:
    return workbench.open(root, user=staff("Projektleder Pia", roles=("lead",)), today=lambda: TODAY)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    demo.generate(workbench.open(data, user=demo.loader(), today=lambda: TODAY), 200, seed=3)
    return data


def _fresh(wb: Workbench, view: str, policy: object = STANDARD) -> pl.DataFrame:
    extra = PROGRESS if view == "progress" else {}
    return analysis.view_table(view, wb.frames, wb.targets(), None, policy, as_of=TODAY, **extra)  # type: ignore[arg-type]


def _shared(wb: Workbench, view: str, mode: str = "standard") -> pl.DataFrame:
    return wb.lead_table(view, mode=mode, **(PROGRESS if view == "progress" else {}))


def _folders(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "shared").iterdir())


def test_a_second_lead_page_reads_what_the_first_computed_and_it_equals_a_fresh_table(root: Path) -> None:
    first = _lead(root)
    for view in analysis.VIEWS:
        _shared(first, view)
    [folder] = _folders(root)
    assert len(list((root / "shared" / folder).glob("*.arrow"))) == len(analysis.VIEWS)
    second = _lead(root)
    for view in analysis.VIEWS:
        assert_frame_equal(_shared(second, view), _fresh(second, view))
    # publication mode is a table of its own, never the standard one
    assert_frame_equal(_shared(second, "funnel", "publication"), _fresh(second, "funnel", PUBLICATION))
    assert len(list((root / "shared" / folder).glob("*.arrow"))) == len(analysis.VIEWS) + 1


def test_any_write_leaves_the_old_tables_unused(root: Path) -> None:
    lead = _lead(root)
    before = {view: _shared(lead, view) for view in analysis.VIEWS}
    [old] = _folders(root)
    coordinator = workbench.open(root, user=staff("Koordinator Kim", roles=("coordinator",), sites=("ODE",)),
                                 today=lambda: TODAY)
    for n in range(6):  # enough new referrals at one site to change the funnel's shown counts
        case = coordinator.open_referral(site_id="ODE", citizen={"display_name": f"Ny Borger {n}", "birth_year": 1950},
                                         consents=[{"purpose": "case_work", "given": True}], on=TODAY)
        coordinator.record_event(case["id"], "contact_made", on=TODAY)
    coordinator.register_volunteer(site_id="ODE", name="Ny Frivillig", status="active", capacity=2)
    other = _lead(root)
    after = {view: _shared(other, view) for view in analysis.VIEWS}
    for view in analysis.VIEWS:
        assert_frame_equal(after[view], _fresh(other, view))
    assert not after["funnel"].equals(before["funnel"])  # the new state's numbers, not the old table's
    assert old not in _folders(root)  # the earlier state's tables are gone


def test_a_damaged_table_is_computed_again(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    lead = _lead(root)
    expected = _shared(lead, "funnel")
    [table] = (root / "shared").glob("*/funnel-*.arrow")
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0x01
    table.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="workbench.shared"):
        again = _shared(_lead(root), "funnel")
    assert_frame_equal(again, expected)
    assert "damaged" in caplog.text


def test_filtered_views_and_coordinators_are_never_shared(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    lead = _lead(root)
    filters = analysis.Filters(sites=("ODE",))
    with caplog.at_level(logging.INFO, logger="workbench.service"):
        narrowed = lead.lead_table("funnel", filters)
    assert "computed for this page's filters" in caplog.text
    assert_frame_equal(narrowed, analysis.funnel(lead.frames, filters))
    assert not (root / "shared").exists()
    both = workbench.open(root, user=staff("Kim og Pia", roles=("coordinator", "lead"), sites=("ODE",)),
                          today=lambda: TODAY)
    own = both.lead_table("funnel")
    assert set(own.get_column("site").to_list()) <= {"ODE", analysis.TOTAL}
    assert not (root / "shared").exists()


def test_a_journal_cut_back_and_written_again_is_a_new_state(root: Path) -> None:
    """A repair keeps the journal up to a damaged line; new writes then reach the same sequence
    numbers with other content. The shared tables of the lost history are never read for it."""
    coordinator = workbench.open(root, user=staff("Koordinator Kim", roles=("coordinator",), sites=("ODE",)),
                                 today=lambda: TODAY)
    consents = [{"purpose": "case_work", "given": True}]
    for n in range(5):
        coordinator.open_referral(site_id="ODE", citizen={"display_name": f"Tabt Borger {n}"}, consents=consents, on=TODAY)
    lead = _lead(root)
    lost = _shared(lead, "funnel")
    state, token = lead._store.state(), lead._store.token()
    [journal] = root.glob("journal-*.ndjson")
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-5]))  # as a repair leaves it: the last five transactions set aside
    again = workbench.open(root, user=staff("Koordinator Kim", roles=("coordinator",), sites=("ODE",)),
                           today=lambda: TODAY)
    for n in range(4):
        again.open_referral(site_id="ODE", citizen={"display_name": f"Ny Borger {n}"}, consents=consents, on=TODAY)
    again.register_volunteer(site_id="ODE", name="Ny Frivillig", status="active", capacity=2)
    later = _lead(root)
    assert later._store.token() == token and later._store.state() != state  # same position, other history
    assert not _fresh(later, "funnel").equals(lost)  # the two histories show different numbers ...
    assert_frame_equal(_shared(later, "funnel"), _fresh(later, "funnel"))  # ... and the page shows the kept one
