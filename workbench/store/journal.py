"""The embedded store: compacted snapshots plus an append-only, fsync'd journal.

Layout of a data directory (see README, "Data layout"):

    workbench.json            marker: format name and schema version
    CURRENT                   which snapshot generation is live and the last sequence it covers
    snapshot-NNNNNN/<t>.ndjson one JSON document per line per table (the TinyDB storage's tables)
    snapshot-NNNNNN/<t>.arrow  the same table as Arrow IPC, so a cold open reads it in milliseconds
    snapshot-NNNNNN/load-audit.ndjson  a bulk load's audit records (only in a generation a load wrote)
    journal-NNNNNN.ndjson     one line per committed transaction since that snapshot
    audit.ndjson              append-only audit trail moved out of compacted journals
    store.lock                cross-process write lock

A write takes the lock, catches up with what other processes wrote, lets the
caller build its transaction against that fresh state, appends one line and
fsyncs it before returning. Readers take no lock: a torn last line is ignored,
and a snapshot replaced under them is re-read. Compaction writes a new snapshot
generation beside the old one and switches ``CURRENT`` atomically, so a crash at
any moment leaves either the old or the new generation whole.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import polars as pl
from filelock import FileLock, Timeout

from workbench.errors import StoreError
from workbench.i18n import t
from workbench.store import migrations
from workbench.store.schema import INDEXED, SCHEMA_VERSION, TABLES

FORMAT = "brobygning-workbench"
MARKER = "workbench.json"
CHECKSUMS = "checksums.json"
LOAD_AUDIT = "load-audit.ndjson"  # a bulk load's audit records, kept in its snapshot (see ``_compact``)
COMPACT_AFTER_BYTES = 8 * 1024 * 1024
LOCK_TIMEOUT_S = 30.0
BATCH_FLUSH_LINES = 100_000
BATCH_HOLD_S = 0.8  # a batch commits and lets other writers in at least this often ...
BATCH_PAUSE_S = 0.1  # ... for this long (filelock polls every 0.05 s)
SEALED_SINCE = 3  # the schema version from which every journal line carries its checksum
T = TypeVar("T")
Tables = dict[str, list[dict[str, Any]]]
log = logging.getLogger("workbench.store")
_TRAILING_DIGITS = re.compile(r"(\d+)$")
_OWN_TEMP_FILES = (".snapshot-", ".CURRENT.", f".{MARKER}.", ".audit.ndjson.")  # what the store writes under its lock


def _default_mode() -> int:
    """The mode a plain ``open()`` would give a new file (0666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_DEFAULT_MODE = _default_mode()


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in the folder ``path`` durable (given a file: make its bytes durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else _DEFAULT_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _checksums(snap: Path) -> dict[str, str] | None:
    """A snapshot's recorded checksums by file name (None when the record is missing or damaged)."""
    try:
        recorded = json.loads((snap / CHECKSUMS).read_bytes())
    except FileNotFoundError:
        raise  # a compaction may have replaced the snapshot under a lock-free reader: it reads again
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _read_verified(snap: Path, name: str) -> bytes | None:
    """The bytes of a snapshot's Arrow copy if its recorded checksum matches, else None."""
    try:
        expected = (_checksums(snap) or {}).get(name)
    except FileNotFoundError:
        return None
    try:
        data = (snap / name).read_bytes()
    except OSError:
        return None
    return data if expected and _digest(data) == expected else None


def seal(body: bytes) -> bytes:
    """A journal line: the transaction's JSON, a tab, its CRC-32 in 8 hex digits, a newline.

    JSON never holds a raw tab, so the last tab always starts the checksum; 8 digits can never
    spell a CPR number (10). A changed byte anywhere in the line makes the checksum disagree.
    """
    return body + b"\t" + b"%08x" % zlib.crc32(body) + b"\n"


def unseal(line: bytes) -> bytes | None:
    """The JSON of a sealed line (given without its newline), or None when the seal does not match."""
    body, tab, check = line.rpartition(b"\t")
    if not tab or len(check) != 8 or b"%08x" % zlib.crc32(body) != check:
        return None
    return body


def _current_check(generation: int, seq: int) -> str:
    return f"{zlib.crc32(f'{generation}:{seq}'.encode()):08x}"


def _current_record(generation: int, seq: int) -> bytes:
    """``CURRENT``: the live snapshot generation and the last sequence it covers, with their checksum."""
    return json.dumps({"generation": generation, "seq": seq, "check": _current_check(generation, seq)}).encode()


def _digest(data: bytes) -> str:
    """SHA-256 in base32: its digits (2–7) can never spell a date, so no file looks like it holds a CPR."""
    return base64.b32encode(hashlib.sha256(data).digest()).decode().rstrip("=").lower()


def _audit_position(record: Mapping[str, Any]) -> tuple[int, int]:
    return int(record["seq"]), int(record.get("n", 0))


def strip_none(value: Any) -> Any:
    """A document without null fields, as it was stored (polars fills absent keys with null)."""
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value]
    return value


@dataclass
class Transaction:
    """What one service call changes: documents put or deleted, and its audit records."""

    actor: str
    puts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    _reserved: dict[str, int] = field(default_factory=dict)

    def put(self, table: str, doc: dict[str, Any]) -> None:
        """Insert or replace a whole document (``doc['id']`` names it)."""
        self.puts.append((table, doc))

    def delete(self, table: str, doc_id: str) -> None:
        """Remove a document entirely (used by erasure)."""
        self.deletes.append((table, doc_id))

    def log(self, action: str, entity: str, entity_id: str, fields: list[str] | None = None) -> None:
        """Add an audit record: who did what to which record, naming fields, never values."""
        self.audit.append(
            {"actor": self.actor, "action": action, "entity": entity, "entity_id": entity_id,
             "fields": sorted(fields or [])}
        )


class JournalStore:
    """TinyDB-format tables kept as snapshot + journal in one data directory."""

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = Path(root)
        self._lock = FileLock(str(self.root / "store.lock"), timeout=LOCK_TIMEOUT_S)
        self._gen = -1
        self._lines = 0  # complete lines of the current journal read so far
        self._held_since = 0.0  # when a batch last took the lock
        self._broken: str | None = None  # why this handle may no longer write (a failed write or fsync)
        self._found_version = SCHEMA_VERSION  # the schema the data directory had when opened
        self._seq = 0
        self._offset = 0
        self._last_line = 0  # checksum of the last journal line read or written (``state``)
        self._base: dict[str, pl.DataFrame] = {}
        self._tail: dict[str, dict[str, dict[str, Any] | None]] = {}
        self._tail_audit: list[dict[str, Any]] = []
        self._next: dict[str, int] = {}
        self._frames: dict[str, pl.DataFrame] = {}
        self._index: dict[tuple[str, str], dict[str, list[int]]] = {}
        self._tail_index: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        self._pending: list[bytes] = []
        self._in_batch = False
        self._bulk_from: tuple[int, Path, int] | None = None  # (generation, journal, its size) a bulk load began at
        self._prepare(create)

    # -- opening -------------------------------------------------------------------------

    def _prepare(self, create: bool) -> None:
        try:
            self._open_or_initialise(create)
        except PermissionError as exc:
            raise StoreError("store.unreadable", path=str(self.root), detail=str(exc)) from None

    def _open_or_initialise(self, create: bool) -> None:
        marker = self.root / MARKER
        if self.root.exists() and not self.root.is_dir():
            raise StoreError("store.not_a_directory", path=str(self.root))
        if not marker.exists():
            # Refuse before taking the lock, which would leave a store.lock in a folder we may not use.
            if self.root.exists() and not self._leftovers_of_a_first_open() and not marker.exists():
                # (a marker written meanwhile: another process's first open just finished)
                raise StoreError("store.foreign_directory", path=str(self.root))
            if not create:
                raise StoreError("store.missing", path=str(self.root))
            self._initialise(create)
        meta = self._read_marker(marker)
        found = self._found_version = meta["schema_version"]
        if found > SCHEMA_VERSION:
            raise StoreError("store.too_new", found=found, supported=SCHEMA_VERSION)
        if not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):
            raise StoreError("store.unreadable", path=str(self.root), detail="permission denied")
        if found < SCHEMA_VERSION:
            with self._locked():
                self._refresh()
                self._clean_strays()
                self._migrate(found)
        else:  # a reader never waits for a writer (a bulk load may hold the lock for minutes)
            self._refresh()
            self._clean_strays_if_free()

    def _read_marker(self, marker: Path) -> dict[str, Any]:
        try:
            meta = json.loads(marker.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError("store.corrupt", path=str(marker), detail=str(exc)) from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise StoreError("store.foreign_directory", path=str(self.root))
        version = meta.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise StoreError("store.corrupt", path=str(marker), detail="schema_version")
        return meta

    def _leftovers_of_a_first_open(self) -> bool:
        """Whether the folder holds only what an interrupted first open of ours leaves behind."""
        ours = {"store.lock", "snapshot-000000", "CURRENT", "users.toml", "users.toml.lock"}  # users may be added first
        return all(p.name in ours or (p.name.startswith(".") and p.name.endswith(".tmp"))
                   for p in self.root.iterdir())

    def _initialise(self, create: bool) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError("store.unreadable", path=str(self.root), detail=str(exc)) from None
        with self._locked():
            if (self.root / MARKER).exists():
                return  # another process initialised it while we waited for the lock
            if not self._leftovers_of_a_first_open():
                raise StoreError("store.foreign_directory", path=str(self.root))
            if not create:
                raise StoreError("store.missing", path=str(self.root))
            snap = self.root / "snapshot-000000"
            snap.mkdir(exist_ok=True)
            for name in TABLES:
                (snap / f"{name}.ndjson").touch()
            fsync_dir(snap)
            write_atomic(self.root / "CURRENT", _current_record(0, 0))
            write_atomic(
                self.root / MARKER,
                json.dumps({"format": FORMAT, "schema_version": SCHEMA_VERSION}).encode(),
            )

    def _migrate(self, found: int) -> None:
        """Bring a store of schema ``found`` up to date, as one committed generation (lock held)."""
        self.replace_all(lambda tables: migrations.migrate(tables, found, self.root), actor="migration")
        self.set_schema_version(SCHEMA_VERSION)
        migrations.done(self.root)

    def set_schema_version(self, version: int) -> None:
        """Record that the data directory now follows ``version`` (used by migrations)."""
        write_atomic(self.root / MARKER, json.dumps({"format": FORMAT, "schema_version": version}).encode())
        self._found_version = version

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            with self._lock:
                yield
        except Timeout:
            raise StoreError("store.busy", seconds=int(LOCK_TIMEOUT_S)) from None
        except PermissionError as exc:
            raise StoreError("store.unreadable", path=str(self.root), detail=str(exc)) from None

    # -- reading ---------------------------------------------------------------------------

    def _current(self) -> tuple[int, int]:
        current = self.root / "CURRENT"
        try:
            data = json.loads(current.read_bytes())
        except FileNotFoundError:
            if (self.root / MARKER).exists():  # the folder is a store: its pointer to the live snapshot is gone
                raise StoreError("store.corrupt", path=str(current), detail="missing") from None
            raise StoreError("store.missing", path=str(self.root)) from None
        except ValueError as exc:
            raise StoreError("store.corrupt", path=str(current), detail=str(exc)) from None
        generation, seq = (data.get(k) if isinstance(data, dict) else None for k in ("generation", "seq"))
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (generation, seq)):
            raise StoreError("store.corrupt", path=str(current), detail="generation/seq")
        check = data.get("check")
        if (check is not None or self._sealed) and check != _current_check(int(generation), int(seq)):  # type: ignore[arg-type]
            raise StoreError("store.corrupt", path=str(current), detail="checksum")
        return int(generation), int(seq)  # type: ignore[arg-type]

    def _journal_path(self, gen: int | None = None) -> Path:
        return self.root / f"journal-{self._gen if gen is None else gen:06d}.ndjson"

    def _refresh(self) -> None:
        """Catch up with every transaction other processes have committed.

        Without the lock first; a reader that keeps losing the race against compactions (a writer
        compacting again and again on a loaded machine) then reads once under the write lock,
        where no compaction can move the files, instead of giving up.
        """
        if self._bulk_from is not None:
            return  # a bulk load builds on the state it began at; others' writes make it refuse at the end
        missing: tuple[int, str] | None = None
        for _attempt in range(5):
            gen, seq = self._current()
            try:
                self._catch_up(gen, seq)
                return
            except FileNotFoundError as exc:
                if missing == (gen, str(exc.filename)):
                    # CURRENT did not move, so no compaction explains it: a file is really gone
                    raise StoreError("store.corrupt", path=str(exc.filename), detail="missing") from None
                missing = (gen, str(exc.filename))
                time.sleep(0.01)  # a compaction replaced the generation under us; read the new one
        with self._locked():
            gen, seq = self._current()
            try:
                self._catch_up(gen, seq)
            except FileNotFoundError as exc:
                raise StoreError("store.corrupt", path=str(exc.filename), detail="missing") from None

    def _catch_up(self, gen: int, seq: int) -> None:
        if gen != self._gen:
            self._load(gen, seq)
        self._read_journal()

    def _load(self, gen: int, seq: int) -> None:
        """Take generation ``gen`` as the live one. Its tables are read when first needed
        (``_base_table``): a page that reads only a few small tables never holds the large ones."""
        snap = self._snapshot(gen)
        if self._sealed and gen and _checksums(snap) is None:
            raise StoreError("store.corrupt", path=str(snap / CHECKSUMS), detail="missing or unreadable")
        for name, table in TABLES.items():  # a table with neither file is lost (or compacted away meanwhile)
            if table.since <= self._found_version and not (snap / f"{name}.arrow").exists():
                (snap / f"{name}.ndjson").stat()
        waiting = self._pending_load_audit(snap)
        self._gen, self._seq, self._offset, self._lines = gen, seq, 0, 0
        self._last_line = 0
        self._base, self._tail, self._tail_audit = {}, {n: {} for n in TABLES}, waiting
        self._frames, self._index, self._tail_index = {}, {}, {}
        self._next = dict.fromkeys(TABLES, 0)

    def _snapshot(self, gen: int | None = None) -> Path:
        return self.root / f"snapshot-{self._gen if gen is None else gen:06d}"

    def preload(self, tables: Iterable[str] | None = None) -> None:
        """Read these tables (every table when None) of the live snapshot now rather than when first
        needed (a preheated kernel)."""
        self._refresh()
        for name in TABLES if tables is None else tables:
            self._base_table(name)

    def _base_table(self, name: str) -> pl.DataFrame:
        """A table of the live snapshot, read and checked the first time it is needed.

        A lock-free reader may find its generation's files gone: another process compacted since this
        handle last caught up. It then catches up with the new generation and reads that one.
        """
        frame = self._base.get(name)
        if frame is not None:
            return frame
        table = TABLES[name]
        for _attempt in range(5):
            snap = self._snapshot()
            try:
                if table.since > self._found_version and not (snap / f"{name}.ndjson").exists():
                    frame = pl.DataFrame(schema=table.schema)  # added by a migration still to run
                else:
                    frame = self._read_table(snap, name, table.schema)
                break
            except FileNotFoundError as exc:
                if self._bulk_from is not None or self._current()[0] == self._gen:
                    raise StoreError("store.corrupt", path=str(exc.filename), detail="missing") from None
                self._gen = -1
                self._refresh()
        else:
            raise StoreError("store.busy", seconds=int(LOCK_TIMEOUT_S))
        self._base[name] = frame
        self._next[name] = max(self._next[name], self._max_number(frame))
        return frame

    def _read_table(self, snap: Path, name: str, schema: pl.Schema) -> pl.DataFrame:
        """One table of a snapshot: the Arrow copy when its checksum matches, else the NDJSON record
        (itself checked against its checksum: a cut or changed record stops the store, never shrinks it)."""
        fast = _read_verified(snap, f"{name}.arrow")
        if fast is not None:
            try:
                frame = pl.read_ipc(io.BytesIO(fast))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # noqa: BLE001 - a damaged copy (even a Rust panic) falls back to NDJSON
                frame = None
            if frame is not None and frame.schema == schema:
                return frame
        path = snap / f"{name}.ndjson"
        data = path.read_bytes()
        must = self._sealed and snap.name != "snapshot-000000"  # the first, empty snapshot has no record
        try:
            recorded = _checksums(snap)
        except FileNotFoundError:
            if must:
                raise  # gone with its snapshot (re-read), or gone for good (named by the caller)
            recorded = None
        if recorded is None and must:
            raise StoreError("store.corrupt", path=str(snap / CHECKSUMS), detail="missing or unreadable")
        expected = (recorded or {}).get(f"{name}.ndjson")
        if (expected is not None or must) and _digest(data) != expected:
            raise StoreError("store.corrupt", path=str(path), detail="checksum")
        if not data:
            return pl.DataFrame(schema=schema)
        try:
            return pl.read_ndjson(io.BytesIO(data), schema=schema).rechunk()
        except pl.exceptions.PolarsError as exc:
            raise StoreError("store.corrupt", path=str(path), detail=str(exc)) from None

    @staticmethod
    def _max_number(df: pl.DataFrame) -> int:
        if df.height == 0:
            return 0
        numbers = df.get_column("id").str.extract(r"(\d+)$").cast(pl.Int64, strict=False)
        return int(cast("int | None", numbers.max()) or 0)  # an Int64 column: its max is an int or None

    def _read_journal(self) -> None:
        """Apply the journal's new lines, each checked against its seal and its sequence number.

        Bytes after the last newline are a write torn by a crash, never acknowledged: ignored. A
        line that fails its check anywhere else stops the store with ``store.damaged``, naming the
        file, the line and how many committed transactions follow it: nothing is skipped silently.
        """
        path = self._journal_path()
        try:
            with open(path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            if self._offset or self._current()[0] != self._gen:
                raise  # a compaction replaced the generation while it was being read: read the new one
            return  # a generation no one has written to since it was made
        end = chunk.rfind(b"\n") + 1
        lines = chunk[:end].splitlines(keepends=True)
        tail = chunk[end:]
        if self._sealed and tail and unseal(tail[:-1]) is not None:  # a whole line whose newline was changed
            raise self._damaged(path, self._lines + len(lines) + 1, 0, "newline")
        position = self._offset
        for index, line in enumerate(lines):
            number = self._lines + index + 1
            body = unseal(line[:-1])
            if body is None and self._sealed:
                raise self._damaged(path, number, len(lines) - index - 1, "checksum")
            try:
                tx = json.loads(line if body is None else body)
                seq = tx["seq"]
            except (ValueError, TypeError, KeyError) as exc:
                raise self._damaged(path, number, len(lines) - index - 1, str(exc)) from None
            if seq > self._seq:
                if self._sealed and seq != self._seq + 1:
                    raise self._damaged(path, number, len(lines) - index - 1, f"seq {self._seq + 1} → {seq}")
                try:
                    self._apply(tx)
                except (KeyError, TypeError, AttributeError) as exc:
                    raise self._damaged(path, number, len(lines) - index - 1, repr(exc)) from None
                self._last_line = zlib.crc32(line)
            position += len(line)
        self._offset = position
        self._lines += len(lines)

    @property
    def _sealed(self) -> bool:
        """Whether every journal line must carry its seal (schema 3 on; older lines had none)."""
        return self._found_version >= SEALED_SINCE

    def _damaged(self, path: Path, line: int, after: int, detail: str) -> StoreError:
        return StoreError("store.damaged", path=str(path), line=line, after=after, detail=detail,
                          root=str(self.root))

    def _apply(self, tx: Mapping[str, Any]) -> None:
        for op in tx["ops"]:
            table, doc_id, doc = op["table"], op["id"], op.get("doc")
            old = self._tail[table].get(doc_id)
            for column in INDEXED.get(table, ()):
                index = self._tail_index.setdefault((table, column), {})
                if old is not None and old.get(column) is not None:
                    index.get(old[column], {}).pop(doc_id, None)
                if doc is not None and doc.get(column) is not None:
                    index.setdefault(doc[column], {})[doc_id] = None
            self._tail[table][doc_id] = doc
            self._frames.pop(table, None)
            number = _TRAILING_DIGITS.search(doc_id)
            if number:
                self._next[table] = max(self._next[table], int(number[1]))
        self._tail_audit.extend({"seq": tx["seq"], "n": n, "at": tx["at"], **a}
                                for n, a in enumerate(tx.get("audit", [])))
        self._seq = tx["seq"]

    def refresh(self) -> None:
        """Public catch-up for readers (dashboards call it before showing data)."""
        self._refresh()

    def state(self) -> str:
        """Names the content as of now, history included: the generation, the last sequence and the
        checksum of the last transaction read. Unlike ``token``, it differs after a repair cut the
        journal back and new writes reached the same sequence again."""
        return f"{self._gen:06d}-{self._seq:012d}-{self._last_line:08x}"

    def token(self) -> tuple[int, int]:
        """Changes whenever the store's content changes (generation, last sequence)."""
        return self._gen, self._seq

    def frame(self, table: str) -> pl.DataFrame:
        """The whole table as a polars DataFrame in its storage schema (fresh as of now)."""
        self._refresh()
        return self._frame(table)

    def _frame(self, table: str) -> pl.DataFrame:
        cached = self._frames.get(table)
        if cached is not None:
            return cached
        base = self._base_table(table)  # first: reading it may move this handle to a newer generation
        tail = self._tail[table]
        if tail:
            schema = TABLES[table].schema
            kept = base.filter(~pl.col("id").is_in(list(tail))) if base.height else base
            rows = [doc for doc in tail.values() if doc is not None]
            added = pl.from_dicts(rows, schema=schema) if rows else None
            frame = pl.concat([kept, added]) if added is not None else kept
        else:
            frame = base
        self._frames[table] = frame
        return frame

    def get(self, table: str, doc_id: str) -> dict[str, Any] | None:
        """One document by id, or None."""
        self._base_table(table)  # first: reading it may move this handle to a newer generation
        tail = self._tail[table]
        if doc_id in tail:
            return tail[doc_id]
        rows = self._base_rows(table, "id", doc_id)
        return rows[0] if rows else None

    def find(self, table: str, column: str, value: str) -> list[dict[str, Any]]:
        """Every document whose indexed ``column`` equals ``value``, in the order written."""
        if column not in INDEXED.get(table, ()):
            raise ValueError(f"{table}.{column} is not indexed; use frame() instead")
        self._base_table(table)  # first: reading it may move this handle to a newer generation
        tail = self._tail[table]
        found = [d for d in self._base_rows(table, column, value) if d["id"] not in tail]
        ids = self._tail_index.get((table, column), {}).get(value, {})
        found.extend(doc for doc_id in ids if (doc := tail[doc_id]) is not None)
        return found

    def _base_rows(self, table: str, column: str, value: str) -> list[dict[str, Any]]:
        base = self._base_table(table)
        if base.height == 0:
            return []
        key = (table, column)
        index = self._index.get(key)
        if index is None:
            index = {}
            for row, item in enumerate(base.get_column(column).to_list()):
                index.setdefault(item, []).append(row)
            self._index[key] = index
        rows = index.get(value)
        if not rows:
            return []
        return [strip_none(base.row(row, named=True)) for row in rows]

    def count(self, table: str) -> int:
        """How many documents the table holds."""
        return self._frame(table).height

    def next_number(self, tx: Transaction, table: str) -> int:
        """Reserve the next running number of ``table`` for a document in ``tx``."""
        self._base_table(table)  # its numbers count
        reserved = tx._reserved.get(table, 0) + 1
        tx._reserved[table] = reserved
        return self._next[table] + reserved

    def audit_trail(self) -> Iterator[dict[str, Any]]:
        """Every audit record ever written, oldest first, each once; a later call never yields fewer.

        What it yields is a prefix of the trail: the complete lines of audit.ndjson, then the records
        of this handle's journal tail past them. The two meet without a gap because a compaction
        appends a generation's records (fsync'd) before ``CURRENT`` names the next generation, and
        ``CURRENT`` is read (by ``_refresh``) before the file. A lock-free reader may see an append
        half done (the kernel copies a write page by page; a crashed compaction leaves a torn line
        until the next one truncates it): the last line has no newline yet. Reading stops there and
        never reads on, since the rest of that line, arrived meanwhile, would read as a damaged line
        and the lines after it would move ``last`` past a record never yielded.
        """
        self._refresh()
        tail = list(self._tail_audit)
        path = self.root / "audit.ndjson"
        last = (0, -1)
        if path.exists():
            with open(path, "rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.endswith(b"\n"):
                        break  # an append under way or torn: its records are in the tail, or newer than this read
                    try:
                        record = json.loads(line)
                        position = _audit_position(record)
                    except (ValueError, TypeError, KeyError):  # never stops a backup or an access export
                        log.warning(t("store.audit_damaged", path=str(path), line=number))
                        continue
                    last = max(last, position)
                    yield record
        yield from (a for a in tail if _audit_position(a) > last)

    # -- writing ---------------------------------------------------------------------------

    def transact(self, actor: str, build: Callable[[JournalStore, Transaction], T]) -> T:
        """Run ``build`` against fresh state under the write lock and commit what it adds.

        ``build`` raises to refuse (nothing is written) or returns the call's result.
        The transaction is on disk (fsync'd) when this returns.
        """
        if self._broken:
            raise StoreError("store.read_only", path=str(self.root), detail=self._broken)
        if self._bulk_from is not None:
            return self._stage(actor, build)
        if self._in_batch:
            result = self._stage(actor, build)
            if len(self._pending) >= BATCH_FLUSH_LINES or time.monotonic() - self._held_since > BATCH_HOLD_S:
                try:
                    self._flush()
                except BaseException:
                    self._forget_unwritten()
                    raise
                self._let_others_write()
            return result
        with self._locked():
            self._still_our_version()
            self._refresh()
            result = self._stage(actor, build)
            try:
                self._flush()
            except BaseException:
                self._forget_unwritten()
                raise
            return result

    def _let_others_write(self) -> None:
        """Between the chunks of a long batch: give the lock up for a moment, then catch up with what
        others wrote meanwhile (the batch's later calls validate against that)."""
        self._lock.release()
        time.sleep(BATCH_PAUSE_S)
        try:
            self._lock.acquire()
        except Timeout:
            raise StoreError("store.busy", seconds=int(LOCK_TIMEOUT_S)) from None
        self._held_since = time.monotonic()
        self._still_our_version()
        self._refresh()

    def _still_our_version(self) -> None:
        """Refuse to write (lock held) into a store another process has upgraded since this one opened it."""
        found = self._read_marker(self.root / MARKER)["schema_version"]
        if found != self._found_version:
            raise StoreError("store.upgraded", path=str(self.root), found=found, ours=self._found_version)

    def _forget_unwritten(self) -> None:
        """Drop staged changes that did not reach the disk and re-read what did."""
        self._pending = []
        self._gen = -1
        self._refresh()

    def _stage(self, actor: str, build: Callable[[JournalStore, Transaction], T]) -> T:
        tx = Transaction(actor=actor)
        result = build(self, tx)
        if tx.puts or tx.deletes or tx.audit:
            record = {
                "seq": self._seq + 1,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "ops": [{"table": t, "id": d["id"], "doc": d} for t, d in tx.puts]
                + [{"table": t, "id": i} for t, i in tx.deletes],
                "audit": tx.audit,
            }
            if self._bulk_from is None:
                line = seal(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode())
                self._pending.append(line)
                self._last_line = zlib.crc32(line)
            self._apply(record)
        return result

    def _flush(self) -> None:
        lines, self._pending = self._pending, []
        if not lines:
            return
        path = self._journal_path()
        new_file = not path.exists()
        data = b"".join(lines)
        try:
            with open(path, "ab") as handle:
                if handle.tell() != self._offset:
                    handle.truncate(self._offset)  # drop a torn line left by a writer that died
                    handle.seek(self._offset)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if new_file:
                fsync_dir(self.root)
        except OSError as exc:
            self._fail_write(path, exc)
        self._offset += len(data)
        self._lines += len(lines)
        if self._offset > COMPACT_AFTER_BYTES:
            self._compact_after_a_write()

    def _compact_after_a_write(self) -> None:
        """Compact; a failure is logged, not raised: the writes before it are durable already (saved),
        and the next write tries again."""
        try:
            self._compact()
        except OSError as exc:
            shutil.rmtree(self.root / f".snapshot-{self._gen + 1:06d}.tmp", ignore_errors=True)
            log.warning(t("store.compaction_failed", path=str(self.root), detail=str(exc)))

    def _fail_write(self, path: Path, exc: OSError) -> NoReturn:
        """A write or fsync that failed: take the lines back off and write nothing more with this handle.

        After a failed fsync the kernel may have dropped the data while the file still shows it, so
        the handle never retries (PostgreSQL's "fsyncgate" lesson): it stays read-only and says why.
        """
        with contextlib.suppress(OSError), open(path, "r+b") as handle:
            handle.truncate(self._offset)
            os.fsync(handle.fileno())
        self._broken = exc.strerror or str(exc)
        raise StoreError("store.write_failed", path=str(path), detail=self._broken) from exc

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the lock for many calls and commit them together (bulk import, demo data).

        Each call still validates against the state the earlier calls built. A long batch
        commits in chunks: every ``BATCH_HOLD_S`` seconds (or ``BATCH_FLUSH_LINES`` lines) it
        writes what it has, lets other writers in, and catches up with them, so no one waits
        long for a bulk load. On an error, what was not yet written is dropped and the
        in-memory state reloaded.
        """
        if self._in_batch or self._bulk_from is not None:  # (inside a bulk load: part of the load)
            yield
            return
        with self._locked():
            self._still_our_version()
            self._refresh()
            self._in_batch, self._held_since = True, time.monotonic()
            try:
                yield
            except BaseException:
                self._forget_unwritten()
                raise
            finally:
                self._in_batch = False
            self._flush()
            self._compact_after_a_write()

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Many calls written at once as the next snapshot generation (demo data, a first import).

        Each call validates against the state the earlier calls built, as in a batch, but no call
        writes a journal line: at the end the whole state is written as one new generation (the
        compaction's code), so a crash leaves the old generation or the new one, never part of the
        load. No lock is held while the calls run, so no one waits for a long load; if anyone
        wrote meanwhile, the load is dropped with ``store.changed_during_load`` and nothing changes.
        """
        if self._in_batch or self._bulk_from is not None:
            yield
            return
        with self._locked():  # a moment's lock: the state and the journal's size belong together
            self._refresh()
            self.preload()  # no lock is held from here: another process's compaction could remove the files
            path = self._journal_path()
            if path.exists() and path.stat().st_size > self._offset:
                # A torn line a crashed writer left: cut it off now, as the next writer would, so that
                # any write from here on makes the journal longer than it is now.
                with open(path, "r+b") as handle:
                    handle.truncate(self._offset)
                    os.fsync(handle.fileno())
            self._bulk_from = (self._gen, path, self._offset)
        collecting = gc.isenabled()
        gc.disable()  # the load adds millions of small acyclic dicts: the cycle collector would rescan them all
        try:
            yield
            with self._locked():
                self._still_our_version()
                began, journal, size = self._bulk_from
                gen, _seq = self._current()
                # Every write appends to the journal or starts a generation.
                if gen != began or (journal.stat().st_size if journal.exists() else 0) != size:
                    raise StoreError("store.changed_during_load", path=str(self.root))
                self._commit_load(began + 1)
        except BaseException:
            self._bulk_from = None
            self._forget_unwritten()
            raise
        finally:
            if collecting:
                gc.enable()
        self._bulk_from = None

    def _commit_load(self, gen: int) -> None:
        """Write the load as generation ``gen`` (lock held). A failure before ``CURRENT`` names it means
        nothing was loaded; one after it (a directory's fsync) means it was, but may not be durable."""
        try:
            self._compact(load=True)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            try:
                live = self._current()[0] == gen
            except StoreError:
                live = False
            if not live:
                shutil.rmtree(self.root / f".snapshot-{gen:06d}.tmp", ignore_errors=True)
                raise StoreError("store.write_failed", path=str(self.root), detail=detail) from exc
            self._broken = detail  # as after any failed fsync: this handle writes no more
            raise StoreError("store.loaded_but_unsure", path=str(self.root), detail=detail) from exc

    def compact(self) -> None:
        """Fold the journal into a new snapshot generation now (inside a bulk load: nothing, the load's
        end writes the generation)."""
        if self._bulk_from is not None:
            return
        with self._locked():
            self._refresh()
            self._compact()

    def _compact(self, *, load: bool = False) -> None:
        """Write the whole state as the next generation and switch ``CURRENT`` to it.

        ``load``: the state holds a bulk load's calls, which no journal line records. Their audit
        records go into the new snapshot (``LOAD_AUDIT``) and reach audit.ndjson only after
        ``CURRENT`` names it, so the trail never names a load that did not happen; a crash in between
        leaves them in the snapshot, where the next open finds them (``_pending_load_audit``).
        """
        gen = self._gen + 1
        final = self.root / f"snapshot-{gen:06d}"
        work = self.root / f".snapshot-{gen:06d}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        work.mkdir()
        frames = {name: self._frame(name).rechunk() for name in TABLES}
        checksums = {}
        for name, frame in frames.items():
            frame.write_ndjson(work / f"{name}.ndjson")
            # The oldest Arrow layout (offsets + one data buffer) holds only the bytes the rows use.
            # polars' default string views keep sharing the buffers of rows filtered out or replaced,
            # so an erased name would live on in the Arrow copy.
            frame.write_ipc(work / f"{name}.arrow", compression="uncompressed", compat_level=pl.CompatLevel.oldest())
            for path in (work / f"{name}.ndjson", work / f"{name}.arrow"):
                with open(path, "rb+") as handle:
                    os.fsync(handle.fileno())
            checksums[f"{name}.arrow"] = _digest((work / f"{name}.arrow").read_bytes())
            checksums[f"{name}.ndjson"] = _digest((work / f"{name}.ndjson").read_bytes())
        loaded = self._new_audit_lines() if load else b""
        if load:
            write_atomic(work / LOAD_AUDIT, loaded)
            checksums[LOAD_AUDIT] = _digest(loaded)
        write_atomic(work / CHECKSUMS, json.dumps(checksums).encode())
        fsync_dir(work)
        os.replace(work, final)
        fsync_dir(self.root)
        if not load:
            self._append_audit()
        write_atomic(self.root / "CURRENT", _current_record(gen, self._seq))
        waiting = list(self._tail_audit) if loaded else []
        if loaded:
            try:
                self._append_audit(loaded)
                waiting = []
            except OSError as exc:  # the load is committed; its records wait in its snapshot (and here)
                log.warning(t("store.compaction_failed", path=str(self.root), detail=str(exc)))
        old_gen = self._gen
        self._gen, self._offset, self._lines = gen, 0, 0
        self._base, self._tail, self._tail_audit = frames, {n: {} for n in TABLES}, waiting
        self._frames, self._index, self._tail_index = dict(frames), {}, {}
        shutil.rmtree(self.root / f"snapshot-{old_gen:06d}", ignore_errors=True)
        with contextlib.suppress(OSError):  # what is left is removed by the next open's tidying
            os.unlink(self._journal_path(old_gen))

    def _last_audit_position(self, path: Path | None = None) -> tuple[int, int]:
        """(sequence, index within it) of the newest audit record already in audit.ndjson (or ``path``)."""
        path = path or self.root / "audit.ndjson"
        if not path.exists():
            return (0, -1)
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 65536))
            tail = handle.read()
        lines = [ln for ln in tail.split(b"\n")[:-1] if ln.strip()]
        for line in reversed(lines):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                return _audit_position(json.loads(line))
        return (0, -1)

    def _new_audit_lines(self) -> bytes:
        """The tail's audit records not yet in audit.ndjson, as its lines."""
        last = self._last_audit_position()
        encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for all (json.dumps makes one per call)
        return b"".join(encode(record).encode() + b"\n" for record in self._tail_audit if _audit_position(record) > last)

    def _pending_load_audit(self, snap: Path) -> list[dict[str, Any]]:
        """The audit records of a bulk load that a crash kept out of audit.ndjson (usually none: one
        look at the end of each file)."""
        path = snap / LOAD_AUDIT
        if not path.exists() or self._last_audit_position(path) <= self._last_audit_position():
            return []
        expected = (_checksums(snap) or {}).get(LOAD_AUDIT)  # (a snapshot replaced meanwhile: FileNotFoundError,
        data = path.read_bytes()                               # and the reader reads the new one)
        if _digest(data) != expected:
            raise StoreError("store.corrupt", path=str(path), detail="checksum")
        return [json.loads(line) for line in data.splitlines()]

    def _append_audit(self, lines: bytes | None = None) -> None:
        """Append the tail's new audit records (or ``lines``, already encoded) to audit.ndjson, fsync'd."""
        path = self.root / "audit.ndjson"
        if path.exists():
            with open(path, "rb+") as handle:
                data_end = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, data_end - 65536))
                tail = handle.read()
                if tail and not tail.endswith(b"\n"):
                    handle.truncate(data_end - (len(tail) - tail.rfind(b"\n") - 1))
        data = self._new_audit_lines() if lines is None else lines
        if not data:
            return
        with open(path, "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def _clean_strays_if_free(self) -> None:
        """Tidy what crashed writers left, only if no one holds the write lock right now."""
        try:
            self._lock.acquire(timeout=0)
        except (Timeout, OSError):
            return
        try:
            self._refresh()
            self._clean_strays()
        finally:
            self._lock.release()

    def _clean_strays(self) -> None:
        """Remove temp files and old generations a crashed process may have left behind."""
        for path in self.root.iterdir():
            name = path.name
            stale_snapshot = name.startswith("snapshot-") and name != f"snapshot-{self._gen:06d}"
            stale_journal = name.startswith("journal-") and name != self._journal_path().name
            ours = name.endswith(".tmp") and name.startswith(_OWN_TEMP_FILES)  # not another program's file being written
            if ours or stale_snapshot or stale_journal:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()

    def verify(self) -> list[str]:
        """Every file of the live snapshot whose bytes disagree with its recorded checksum (for ``check``;
        the journal's lines are checked whenever it is read)."""
        self._refresh()
        snap = self.root / f"snapshot-{self._gen:06d}"
        try:
            recorded = _checksums(snap)
        except FileNotFoundError:
            recorded = None
        if recorded is None:
            return [] if snap.name == "snapshot-000000" else [str(snap / CHECKSUMS)]
        damaged = []
        for name, expected in sorted(recorded.items()):
            try:
                if _digest((snap / name).read_bytes()) != expected:
                    damaged.append(str(snap / name))
            except OSError:
                damaged.append(str(snap / name))
        return damaged

    # -- whole-store copies ----------------------------------------------------------------

    def export_tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every table's documents, consistent as of one moment (for backups)."""
        with self._locked():
            self._refresh()
            return self._export()

    def _export(self) -> Tables:
        return {name: [strip_none(d) for d in self._frame(name).to_dicts()] for name in TABLES}

    def replace_all(self, tables: Tables | Callable[[Tables], Tables], actor: str,
                    audit: Sequence[Mapping[str, Any]] = ()) -> None:
        """Replace every table's content (restore), as one committed generation.

        ``tables`` may be a function of the current tables, called under the write lock, so that
        what must survive a restore (the erasure ledger) is read and kept in the same step.
        ``audit``: the restored copy's audit trail, which a store with no trail of its own takes on.
        """

        if self._bulk_from is not None:
            raise StoreError("store.not_in_load", path=str(self.root))

        def build(store: JournalStore, tx: Transaction) -> None:
            new = tables(store._export()) if callable(tables) else tables
            for name in TABLES:
                wanted = {d["id"]: d for d in new.get(name, [])}
                for doc_id in store._frame(name).get_column("id").to_list():
                    if doc_id not in wanted:
                        tx.delete(name, doc_id)
                for doc in wanted.values():
                    tx.put(name, doc)
            tx.log("restore", "store", "*")

        with self._locked():
            self._refresh()
            if audit and not self._tail_audit and not (self.root / "audit.ndjson").exists():
                self._take_audit(audit)
            self._stage(actor, build)
            self._flush()
            self._compact()

    def _take_audit(self, audit: Sequence[Mapping[str, Any]]) -> None:
        """Start this store's empty audit trail with a restored copy's (lock held).

        The store's sequence moves past the copy's first (committed by a compaction), so that every
        later record follows the copy's in the trail; a crash in between leaves no record hidden.
        """
        self._seq = max(self._seq, *(_audit_position(record)[0] for record in audit))
        self._compact()
        write_atomic(self.root / "audit.ndjson", b"".join(
            json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for record in audit))


@dataclass(frozen=True)
class Repair:
    """What ``cut_at_damage`` did: the journal, the damaged line, how many lines were set aside, and where."""

    journal: Path
    line: int
    set_aside: int
    aside: Path


def damage(root: Path) -> StoreError | None:
    """The ``store.damaged`` error opening the store gives, or None when its journal reads whole."""
    try:
        JournalStore(Path(root), create=False)
    except StoreError as exc:
        if exc.key == "store.damaged":
            return exc
        raise
    return None


def cut_at_damage(root: Path) -> Repair | None:
    """Keep every journal line before the first damaged one; the damaged line and all after it are moved
    to a file beside the journal (never deleted), so the store opens with everything before the damage."""
    found = damage(root)
    if found is None:
        return None
    path, line = Path(str(found.params["path"])), int(found.params["line"])
    with FileLock(str(Path(root) / "store.lock"), timeout=LOCK_TIMEOUT_S):
        data = path.read_bytes()
        lines = data.splitlines(keepends=True)
        keep = sum(len(part) for part in lines[: line - 1])
        aside = path.with_name(f"damaged-{path.stem}-{datetime.now(UTC):%Y%m%dT%H%M%S}.ndjson")  # kept by tidying
        write_atomic(aside, data[keep:])
        with open(path, "r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())
    return Repair(path, line, len(lines) - line + 1, aside)
