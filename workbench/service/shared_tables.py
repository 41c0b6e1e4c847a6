"""The lead's suppressed tables, computed once per store state and read by every lead page.

A table is kept in ``<data>/shared/<generation>-<sequence>/`` (the store's token), named by its
view and the parameters it was computed for, as Arrow IPC beside its SHA-256. Any write changes
the token, so a table is never read for a state it was not computed from; a page that finds no
table for the current state computes it and leaves it for the next page. Only suppressed
aggregates are kept (the lead's frames hold no personal column), so nothing here names anyone.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from workbench.store import Store

FOLDER = "shared"
log = logging.getLogger("workbench.shared")

Params = Mapping[str, str | int | None]


def _folder(store: Store) -> Path:
    gen, seq = store.token()
    return store.root / FOLDER / f"{gen:06d}-{seq:012d}"


def _name(view: str, params: Params) -> str:
    digest = hashlib.sha256(json.dumps(dict(params), sort_keys=True).encode()).hexdigest()[:16]
    return f"{view}-{digest}"


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
    """Write the table and its digest beside it, each appearing whole (temporary file, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    table.write_ipc(buffer)
    data = buffer.getvalue()
    for suffix, content in ((".arrow", data), (".sha256", hashlib.sha256(data).hexdigest().encode())):
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, folder / f"{name}{suffix}")


def _forget_older(folder: Path) -> None:
    """Remove the tables of earlier store states (best effort: another page may be reading them)."""
    for other in folder.parent.iterdir():
        if other != folder and other.is_dir():
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
