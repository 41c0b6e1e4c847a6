"""Shared fixtures: a fresh workbench on real files, one site, a brobygger, a community, a case.

Everything runs against the real store in a temporary directory; nothing is mocked.
``open_case`` and ``unchanged`` take the handle as their first argument so that
hypothesis tests (which cannot use function-scoped fixtures) can use them too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from people import staff

import workbench
from workbench.service import Workbench

# CI's property tests are the same on every run: derandomized (the examples follow from each test's
# own source), no example database, so a privacy property never passes or fails by chance. Locally
# they are random; `pytest --hypothesis-seed=N` replays one run, `--hypothesis-profile=ci` CI's.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

TODAY = date(2026, 5, 1)
ACTOR = "Test Koordinator"
SITE = "ODE"


class Clock:
    """A settable ``today`` for ``workbench.open(today=...)``."""

    def __init__(self, today: date = TODAY) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today


def _fingerprint(wb: Workbench) -> tuple[Any, dict[str, str], Any]:
    """The store's token, a digest of every file in its directory, and the events frame."""
    wb._store.refresh()
    root = Path(wb._store.root)  # type: ignore[attr-defined]
    files = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "store.lock"
    }
    return wb._store.token(), files, wb.frames.events


@pytest.fixture(scope="session")
def unchanged() -> Callable[[Workbench], AbstractContextManager[None]]:
    """``with unchanged(wb), pytest.raises(...)``: the block must leave token, files and events as they were."""

    @contextmanager
    def check(wb: Workbench) -> Iterator[None]:
        token, files, events = _fingerprint(wb)
        yield
        after_token, after_files, after_events = _fingerprint(wb)
        assert after_token == token
        assert after_files == files
        assert after_events.equals(events)

    return check


@pytest.fixture(scope="session")
def make_wb(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Workbench]:
    """A factory of handles on new, empty data directories (``today`` is a date or a ``Clock``)."""

    def make(today: date | Clock = TODAY, actor: str = ACTOR) -> Workbench:
        clock = today if isinstance(today, Clock) else Clock(today)
        return workbench.open(tmp_path_factory.mktemp("data"), user=staff(actor), today=clock)

    return make


@pytest.fixture
def clock() -> Clock:
    """The workbench's ``today``; set ``clock.today`` to move time."""
    return Clock(TODAY)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def wb(data_dir: Path, clock: Clock) -> Workbench:
    """A fresh workbench on an empty data directory, acting as a coordinator."""
    return workbench.open(data_dir, user=staff(ACTOR), today=clock)


@pytest.fixture
def site(wb: Workbench) -> str:
    """The site ODE (Odense); returns its code."""
    wb.add_site(SITE, "Frivilligcenter Odense", "Odense")
    return SITE


@pytest.fixture
def volunteer(wb: Workbench, site: str) -> dict[str, Any]:
    """An active brobygger at ODE with room for ten cases."""
    return wb.register_volunteer(site_id=site, name="Mette Brobygger", status="active", capacity=10)


@pytest.fixture
def community(wb: Workbench, site: str) -> dict[str, Any]:
    """An active community at ODE."""
    return wb.add_community(site_id=site, name="Strikkecafé på biblioteket", organiser="Odense Bibliotekerne",
                            kind="creative", postal_code="5000")


@pytest.fixture(scope="session")
def open_case() -> Callable[..., dict[str, Any]]:
    """``open_case(wb, name=..., on=..., site_id=..., follow_up=True, **citizen)`` opens a referral.

    The citizen consents to case work and (unless ``follow_up=False``) to follow-up contact.
    Returns the case document.
    """

    def open_(wb: Workbench, name: str = "Borger Hansen", *, on: date | None = None, site_id: str = SITE,
              follow_up: bool = True, **citizen: Any) -> dict[str, Any]:
        consents = [{"purpose": "case_work", "given": True}]
        if follow_up:
            consents.append({"purpose": "follow_up_contact", "given": True})
        return wb.open_referral(site_id=site_id, citizen={"display_name": name, **citizen},
                                consents=consents, on=on)

    return open_
