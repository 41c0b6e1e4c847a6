"""The lead's suppressed tables, computed once per store state and read by every lead page.

A table is kept in ``<data>/shared/<state>/`` (``Store.state``: generation, sequence and the last
journal line's checksum), named by its view, the parameters it was computed for and a digest of
the code that computes it, as Arrow IPC beside its SHA-256. Any write (or a repair that cuts the
journal back) changes the state, so a table is never read for a state it was not computed from; a page that finds no
table for the current state computes it and leaves it for the next page. Only suppressed
aggregates are kept (the lead's frames hold no personal column), so nothing here names anyone.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from workbench.store import Store
from workbench.store.journal import write_atomic

FOLDER = "shared"
log = logging.getLogger("workbench.shared")

Params = Mapping[str, str | int | None]


def _folder(store: Store) -> Path:
    return store.root / FOLDER / store.state()


def _position(folder: Path) -> tuple[int, int] | None:
    """The (generation, sequence) a folder's tables were computed at, from its name (None: not ours)."""
    parts = folder.name.split("-")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


@functools.cache
def _code() -> str:
    """A digest of the code that computes the tables: tables made by other code are never read."""
    from workbench.reporting import analysis, bounds, frames, suppression

    digest = hashlib.sha256()
    for module in (analysis, bounds, frames, suppression):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def _name(view: str, params: Params) -> str:
    key = json.dumps({**params, "code": _code()}, sort_keys=True)
    return f"{view}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _read(path: Path) -> pl.DataFrame | None:
    """The table at ``path`` if it is whole (its SHA-256 matches), else None."""
    try:
        data = path.with_suffix(".arrow").read_bytes()
        expected = path.with_suffix(".sha256").read_text("ascii").strip()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != expected:
        log.warning("shared table %s is damaged; computed again", path.name)
        return None
    return pl.read_ipc(io.BytesIO(data))


def _write(folder: Path, name: str, table: pl.DataFrame) -> None:
    """Write the table and its digest beside it, each appearing whole, in the store's file mode."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    table.write_ipc(buffer)
    data = buffer.getvalue()
    write_atomic(folder / f"{name}.arrow", data)
    write_atomic(folder / f"{name}.sha256", hashlib.sha256(data).hexdigest().encode())


def _forget_older(folder: Path) -> None:
    """Remove the tables of earlier store states (best effort: another page may be reading them);
    a later state's, written meanwhile by another page, stays."""
    here = _position(folder)
    for other in folder.parent.iterdir():
        there = _position(other)
        if other != folder and other.is_dir() and (there is None or here is None or there <= here):
            shutil.rmtree(other, ignore_errors=True)


def table(store: Store, view: str, params: Params, compute: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """The table of ``view`` for ``params`` at the store's current state: read if a page already
    computed it, else computed now and kept (unless the store changed meanwhile)."""
    store.refresh()
    folder, name = _folder(store), _name(view, params)
    found = _read(folder / name)
    if found is not None:
        return found
    computed = compute()
    store.refresh()
    if _folder(store) == folder:  # still the state it was computed from
        try:
            _write(folder, name, computed)
            _forget_older(folder)
        except OSError as exc:  # a read-only or full disk: the page still has its table
            log.warning("shared table %s not kept: %s", name, exc)
    return computed
