"""Durability of the embedded store under real concurrency, crashes and bad directories.

Everything here runs on real files in ``tmp_path`` and real OS processes started with
``subprocess`` (their code is the script strings below); nothing is mocked. Crashes are
real ``SIGKILL``s; write failures are real ``EFBIG`` errors from ``RLIMIT_FSIZE``; the
permission tests drop the DAC capabilities with ``setpriv`` when they run as root.

A write is *acknowledged* when the service call returned: the child processes print each
acknowledged id (flushed) right after the call returns, so what the parent reads from a
child's stdout is a subset of what the child committed. Every acknowledged write must be
in the store afterwards; at most the one call in flight when a child was killed may be
there in addition.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from people import staff

import workbench
from workbench.errors import StoreError
from workbench.store import JournalStore, journal
from workbench.store.schema import SCHEMA_VERSION, TABLES

REPO = Path(__file__).resolve().parents[1]
SITE = "ODE"
DEFAULT_COMPACT = journal.COMPACT_AFTER_BYTES
STATE_FILES = {journal.MARKER, "CURRENT", "audit.ndjson", "erasures.json", "store.lock"}


# --- child processes ---------------------------------------------------------------------

CHILD_COMMON = r'''
import os, random, sys, time
import workbench
from people import staff
import workbench.store.journal as journal


def emit(*parts):
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.002)


def step(wb, rng, i, cases):
    """One service call; print what it acknowledged only after it returned."""
    kind = i % 4
    if kind in (0, 1):
        doc = wb.register_volunteer(site_id="ODE", name=f"{wb.actor} volunteer {i}")
        emit("V", doc["id"])
    elif kind == 2:
        doc = wb.open_referral(site_id="ODE", citizen={"display_name": f"{wb.actor} citizen {i}"},
                               consents=[{"purpose": "case_work", "given": True}])
        cases.append(doc["id"])
        emit("C", doc["id"], doc["number"])
    else:
        doc = wb.record_event(rng.choice(cases), "note", text=f"{wb.actor} note {i}")
        emit("E", doc["id"], doc["case_id"])
'''

# argv: path actor n_ops compact_after_bytes go_file seed
WRITER = CHILD_COMMON + r'''
path, actor, n_ops, compact, go, seed = sys.argv[1:7]
journal.COMPACT_AFTER_BYTES = int(compact)
wb = workbench.open(path, user=staff(actor))
rng = random.Random(int(seed))
cases = wb._store.frame("cases")["id"].to_list()
emit("READY")
wait_for(go)
seen = (0, 0, 0)
for i in range(int(n_ops)):
    step(wb, rng, i, cases)
    if i % 25 == 0:
        now = (wb.frames.volunteers.height, wb.frames.cases.height, wb._store.frame("events").height)
        assert all(a >= b for a, b in zip(now, seen)), (now, seen)
        seen = now
emit("DONE", wb._store.token()[0])
'''

# argv: path actor compact_after_bytes seed -- writes until it is killed
KILLED_WRITER = CHILD_COMMON + r'''
path, actor, compact, seed = sys.argv[1:5]
journal.COMPACT_AFTER_BYTES = int(compact)
wb = workbench.open(path, user=staff(actor))
rng = random.Random(int(seed))
cases = wb._store.frame("cases")["id"].to_list()
emit("READY")
i = 0
while True:
    step(wb, rng, i, cases)
    i += 1
'''

# argv: path stop_file probe_volunteer_id -- reads until stop_file exists
READER = CHILD_COMMON + r'''
path, stop, probe = sys.argv[1:4]
wb = workbench.open(path, user=staff("reader"))
emit("READY")
last = {"raw": 0, "frame": 0, "cases": 0, "events": 0}
generations, reads = set(), 0
while True:
    finished = os.path.exists(stop)
    raw = wb._store.frame("volunteers")
    ids = raw["id"].to_list()
    assert len(ids) == len(set(ids)), "duplicate volunteer ids"
    assert wb._store.get("volunteers", probe) is not None, "a committed volunteer vanished"
    now = {"raw": len(ids), "frame": wb.frames.volunteers.height, "cases": wb.frames.cases.height,
           "events": wb._store.frame("events").height}
    for key, value in now.items():
        assert value >= last[key], f"{key} went down: {last[key]} -> {value}"
    last = now
    generations.add(wb._store.token()[0])
    reads += 1
    if reads % 25 == 0:  # a dashboard re-opening the store while the writer compacts
        again = workbench.open(path, user=staff("reader"))
        assert again._store.count("volunteers") >= last["raw"]
    if finished:
        break
emit("DONE", reads, len(generations), last["raw"])
'''

# argv: path stop_file -- reads the audit trail until stop_file exists or a read is not the one before
# plus newer records (one lost, repeated, reordered or skipped as damaged: BAD, and where)
AUDIT_READER = r'''
import logging, os, sys
import workbench
from people import staff
path, stop = sys.argv[1:3]
warned = []
class Warned(logging.Handler):
    def emit(self, record):
        warned.append(record.getMessage())
logging.getLogger("workbench.store").addHandler(Warned(logging.WARNING))
wb = workbench.open(path, user=staff("auditor"))
print("READY", flush=True)
seen, reads = [], 0
while not os.path.exists(stop):
    now = [(a["seq"], a.get("n", 0)) for a in wb._store.audit_trail()]
    reads += 1
    if now[:len(seen)] != seen or any(a >= b for a, b in zip(now, now[1:])) or warned:
        at = next((i for i, (a, b) in enumerate(zip(seen, now)) if a != b), min(len(seen), len(now)))
        print("BAD", f"read {reads}: {len(seen)} records, then {len(now)};", f"first difference at {at}:",
              seen[at:at + 2], "->", now[at:at + 2], warned[:1], flush=True)
        break
    seen = now
print("DONE", reads, len(seen), flush=True)
'''

# argv: path table count -- damage the table's Arrow copy in up to ``count`` seeded ways, open each time
ARROW_FUZZ = r'''
import os, random, sys
from pathlib import Path
from workbench.errors import StoreError
from workbench.store import JournalStore
path, table, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = JournalStore(Path(path))
pristine, gen = store.frame(table), store.token()[0]
arrow = os.path.join(path, f"snapshot-{gen:06d}", f"{table}.arrow")
with open(arrow, "rb") as handle:
    data = handle.read()
for k in range(count):
    rng = random.Random(k)
    damaged = bytearray(data)
    for _ in range(8):
        damaged[rng.randrange(len(damaged))] = rng.randrange(256)
    with open(arrow, "wb") as handle:
        handle.write(damaged)
    print("TRY", k, flush=True)
    try:
        frame = JournalStore(Path(path)).frame(table)
        outcome = "same" if frame.equals(pristine) else "DIFFERENT"
    except StoreError as exc:
        outcome = f"StoreError {exc.key}"
    except BaseException as exc:
        outcome = f"RAW {type(exc).__name__}"
    print("RES", k, outcome, flush=True)
    if outcome.startswith(("RAW", "DIFFERENT")):
        break  # one is enough to show it
with open(arrow, "wb") as handle:
    handle.write(data)
print("END", flush=True)
'''

# argv: base n_dirs seed -- opens base/s{k} soon after base/s{k}.go exists, for each k
FIRST_OPENER = r'''
import os, random, sys, time
import workbench
from people import staff
base, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
workbench.open(os.path.join(base, f"warm-up-{seed}"), user=staff("opener"))  # do the imports before the race
print("READY", flush=True)
for k in range(n):
    path = os.path.join(base, f"s{k}")
    while not os.path.exists(path + ".go"):
        time.sleep(0.0005)
    time.sleep(rng.uniform(0, 0.015))  # users do not click at the same microsecond
    try:
        workbench.open(path, user=staff("opener"))
        print("ok", k, flush=True)
    except workbench.StoreError as exc:
        print("ERR", k, exc.key, flush=True)
'''

# argv: paths -- open each, report the outcome (used for the permission checks)
OPEN_AND_REPORT = r'''
import sys
import workbench
from people import staff
for path in sys.argv[1:]:
    try:
        wb = workbench.open(path, user=staff("probe"))
        outcome = f"OPENED {wb._store.count('sites')}"
    except workbench.StoreError as exc:
        outcome = f"StoreError {exc.key}"
    except BaseException as exc:
        outcome = f"RAW {type(exc).__name__}: {exc}"
    print(outcome, flush=True)
'''

# argv: path -- a write fails with EFBIG (file size limit) and the writer carries on
FAILED_WRITE = r'''
import os, resource, signal, sys
import workbench
from people import staff
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = sys.argv[1]
wb = workbench.open(path, user=staff("writer"))
gen = wb._store.token()[0]
size = os.path.getsize(os.path.join(path, f"journal-{gen:06d}.ndjson"))
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 64, hard))
try:
    wb.register_volunteer(site_id="ODE", name="Never Acknowledged")
    outcome = "NOERROR"
except workbench.StoreError as exc:
    outcome = f"FAILED {exc.key} {exc.__cause__.errno}"
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
print(outcome, flush=True)
try:  # the handle that saw a write fail writes nothing more
    wb.register_volunteer(site_id="ODE", name="Never Either")
    print("WROTE", flush=True)
except workbench.StoreError as exc:
    print("REFUSED", exc.key, flush=True)
wb = workbench.open(path, user=staff("writer"))  # a new handle, once the disk is sound again
doc = wb.register_volunteer(site_id="ODE", name="Acknowledged Later")
print("V", doc["id"], flush=True)
print("SEES", ",".join(sorted(wb._store.frame("volunteers")["id"].to_list())), flush=True)
'''

# argv: path cut_bytes -- a compaction whose audit append stops after cut_bytes (EFBIG)
TORN_AUDIT = r'''
import os, resource, signal, sys
import workbench
from people import staff
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path, cut = sys.argv[1], int(sys.argv[2])
wb = workbench.open(path, user=staff("compactor"))
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (cut, hard))
try:
    wb._store.compact()
    outcome = "NOERROR"
except OSError as exc:
    outcome = f"FAILED {exc.errno}"
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
print(outcome, flush=True)
'''

# argv: path -- the first open of a new directory fails (EFBIG while writing CURRENT)
FAILED_FIRST_OPEN = r'''
import resource, signal, sys
import workbench
from people import staff
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (8, hard))
try:
    workbench.open(sys.argv[1], user=staff("first"))
    outcome = "NOERROR"
except OSError as exc:
    outcome = f"FAILED {exc.errno}"
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # stdout and stderr are files too
print(outcome, flush=True)
'''


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), str(REPO / "tests"), env.get("PYTHONPATH", "")) if p)
    env.pop("WORKBENCH_DATA", None)
    env.pop("WORKBENCH_USER", None)
    return env


def _start(script: str, args: list[Any], out: Path, prefix: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """Start ``python -c script args`` with stdout in ``out`` and stderr in ``out.err``."""
    with open(out, "wb") as stdout, open(out.with_suffix(".err"), "wb") as stderr:
        return subprocess.Popen(
            [*prefix, sys.executable, "-c", script, *map(str, args)],
            stdout=stdout, stderr=stderr, cwd=REPO, env=_env(),
        )


def _run(script: str, args: list[Any], out: Path, prefix: tuple[str, ...] = (), timeout: float = 60) -> str:
    proc = _start(script, args, out, prefix)
    rc = proc.wait(timeout=timeout)
    assert rc == 0, f"child failed ({rc}):\n{_stderr(out)}"
    return out.read_text()


def _stderr(out: Path) -> str:
    err = out.with_suffix(".err")
    return err.read_text(errors="replace")[-4000:] if err.exists() else ""


def _wait_ready(proc: subprocess.Popen[bytes], out: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.read_bytes().startswith(b"READY\n"):
            return
        if proc.poll() is not None:
            pytest.fail(f"child exited ({proc.returncode}) before it was ready:\n{_stderr(out)}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"child not ready after {timeout}s:\n{_stderr(out)}")


# --- what was acknowledged, and what the store holds ---------------------------------------


@dataclass
class Acked:
    """Writes whose call returned: volunteer ids, case id -> number, note id -> actor."""

    volunteers: set[str] = field(default_factory=set)
    cases: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def read(self, out: Path, actor: str) -> int:
        """Add the acknowledgements a child printed (complete lines only); returns how many."""
        count = 0
        for line in out.read_bytes().split(b"\n")[:-1]:
            parts = line.decode().split()
            if parts[0] == "V":
                self.volunteers.add(parts[1])
            elif parts[0] == "C":
                self.cases[parts[1]] = parts[2]
            elif parts[0] == "E":
                self.notes[parts[1]] = staff(actor).id  # the audit trail names user ids
            else:
                continue
            count += 1
        return count

    def total(self) -> int:
        return len(self.volunteers) + len(self.cases) + len(self.notes)


def _seed(root: Path, cases: int = 3) -> Acked:
    """A store with the site and a few open cases the children write notes on."""
    acked = Acked()
    wb = workbench.open(root, user=staff("seed"))
    wb.add_site(SITE, "Frivilligcenter Odense", "Odense")
    for i in range(cases):
        doc = wb.open_referral(site_id=SITE, citizen={"display_name": f"Seed Borger {i}"},
                               consents=[{"purpose": "case_work", "given": True}])
        acked.cases[doc["id"]] = doc["number"]
    acked.volunteers.add(wb.register_volunteer(site_id=SITE, name="Seed Brobygger")["id"])
    return acked


def _numbers(ids: list[str]) -> list[int]:
    return sorted(int(re.search(r"(\d+)$", i)[1]) for i in ids)  # type: ignore[index]


def _current(root: Path) -> tuple[int, int]:
    data = json.loads((root / "CURRENT").read_bytes())
    return int(data["generation"]), int(data["seq"])


def _check_store(root: Path, acked: Acked, in_flight: int, *, audit: str = "full") -> Acked:
    """Open ``root`` fresh and check it against what was acknowledged; returns what it holds.

    ``in_flight`` is how many unacknowledged calls may have reached the disk (one per
    killed child). ``audit`` is "full" (every record accounted for exactly once) or
    "volunteers" (only the single-record volunteer transactions are checked).
    """
    wb = workbench.open(root, user=staff("checker"))
    store = wb._store

    volunteers = store.frame("volunteers")["id"].to_list()
    assert len(volunteers) == len(set(volunteers)), "duplicate volunteer ids"
    assert store.count("volunteers") == len(volunteers) == wb.frames.volunteers.height
    assert _numbers(volunteers) == list(range(1, len(volunteers) + 1)), "volunteer ids are not contiguous"
    lost = acked.volunteers - set(volunteers)
    assert not lost, f"acknowledged volunteers lost: {sorted(lost)}"

    cases = store.frame("cases")
    case_ids, numbers = cases["id"].to_list(), cases["number"].to_list()
    assert len(case_ids) == len(set(case_ids)) == store.count("cases") == wb.frames.cases.height
    assert len(numbers) == len(set(numbers)), f"duplicate case numbers: {Counter(numbers).most_common(3)}"
    by_prefix: dict[str, list[int]] = {}
    for number in numbers:
        prefix, _, running = number.rpartition("-")
        by_prefix.setdefault(prefix, []).append(int(running))
    for prefix, running in by_prefix.items():
        assert sorted(running) == list(range(1, len(running) + 1)), f"gap in case numbers of {prefix}"
    present_cases = dict(zip(case_ids, numbers, strict=True))
    lost = {c for c in acked.cases if present_cases.get(c) != acked.cases[c]}
    assert not lost, f"acknowledged cases lost or renumbered: {sorted(lost)}"
    assert store.count("citizens") == len(case_ids), "every referral registers exactly one citizen"

    events = store.frame("events")
    event_ids = events["id"].to_list()
    assert len(event_ids) == len(set(event_ids)) == store.count("events"), "duplicate event ids"
    assert set(events["case_id"].to_list()) <= set(case_ids), "an event points at a missing case"
    kinds = Counter(zip(events["case_id"].to_list(), events["kind"].to_list(), strict=True))
    for case_id in case_ids:
        assert kinds[(case_id, "referral_received")] == 1, f"{case_id} lacks its referral event"
    notes = dict(zip(events["id"].to_list(), events["recorded_by"].to_list(), strict=True))
    notes = {e: who for (e, who), kind in zip(notes.items(), events["kind"].to_list(), strict=True)
             if kind == "note"}
    lost = {e for e in acked.notes if notes.get(e) != acked.notes[e]}
    assert not lost, f"acknowledged notes lost or misattributed: {sorted(lost)}"

    extra = (len(volunteers) - len(acked.volunteers)) + (len(case_ids) - len(acked.cases)) \
        + (len(notes) - len(acked.notes))
    assert 0 <= extra <= in_flight, f"{extra} unacknowledged writes present, at most {in_flight} expected"

    trail = list(store.audit_trail())
    seqs = [a["seq"] for a in trail]
    assert seqs == sorted(seqs), "audit trail out of order"
    created = Counter((a["entity"], a["entity_id"]) for a in trail if a["action"] == "create")
    assert {i for (e, i) in created if e == "volunteers"} == set(volunteers)
    assert all(n == 1 for n in created.values()), f"duplicate audit records: {created.most_common(3)}"
    if audit == "full":
        assert {i for (e, i) in created if e == "cases"} == set(case_ids)
        logged = Counter(a["entity_id"] for a in trail if a["action"] == "event")
        assert logged == Counter(events["case_id"].to_list()), "audit of events does not match the events"

    return Acked(set(volunteers), present_cases, notes)


def _assert_clean(root: Path) -> None:
    """After an open: one live generation, no temp files, no old snapshots or journals."""
    gen, _ = _current(root)
    names = set(os.listdir(root))
    assert not [n for n in names if n.endswith(".tmp")], f"stray temp files: {sorted(names)}"
    assert {n for n in names if n.startswith("snapshot-")} == {f"snapshot-{gen:06d}"}, sorted(names)
    assert {n for n in names if n.startswith("journal-")} <= {f"journal-{gen:06d}.ndjson"}, sorted(names)
    assert names <= STATE_FILES | {f"snapshot-{gen:06d}", f"journal-{gen:06d}.ndjson"}, sorted(names)
    files = set(os.listdir(root / f"snapshot-{gen:06d}"))
    assert {f for f in files if f.endswith(".ndjson")} == {f"{name}.ndjson" for name in TABLES}
    extras = {f"{name}.arrow" for name in TABLES} | {"checksums.json"}  # the optional Arrow copies
    assert files <= {f"{name}.ndjson" for name in TABLES} | extras, sorted(files)


def _assert_journal_well_formed(root: Path, *, torn_tail_allowed: bool = False) -> bool:
    """Every journal line parses and continues the sequence of CURRENT; returns whether torn."""
    gen, seq = _current(root)
    path = root / f"journal-{gen:06d}.ndjson"
    if not path.exists():
        return False
    data = path.read_bytes()
    torn = bool(data) and not data.endswith(b"\n")
    assert torn_tail_allowed or not torn, "journal ends with a torn line"
    lines = data.split(b"\n")[:-1]
    seqs = [json.loads(journal.unseal(line) or b"null")["seq"] for line in lines]
    assert seqs == list(range(seq + 1, seq + 1 + len(seqs))), "journal sequence has a gap or repeat"
    return torn


def _tree(path: Path) -> dict[str, Any]:
    """Every entry under ``path`` with its type, mode and bytes (to prove nothing changed)."""
    def entry(p: Path) -> Any:
        st = p.lstat()
        return ("dir", st.st_mode) if p.is_dir() else ("file", st.st_mode, p.read_bytes())

    if not path.is_dir():
        return {".": entry(path)}
    found = {".": entry(path)}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            found[str(p.relative_to(path))] = entry(p)
    return found


def _open_error(path: Path, *, read: bool = False, **kwargs: Any) -> StoreError:
    """The error opening the store gives (``read``: opening it and reading every table, where a damaged
    table's content shows: a table is read when first needed, not at the open)."""
    before = _tree(path)
    with pytest.raises(StoreError) as info:
        store = workbench.open(path, **{"user": staff(), **kwargs})._store
        for name in TABLES if read else ():
            store.frame(name)
    assert _tree(path) == before, "a refused open or read changed the directory"
    return info.value


# --- 1. several processes writing at once ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("writers", "ops", "compact"),
    [(2, 200, DEFAULT_COMPACT), (3, 150, 20_000), (2, 150, 6_000)],
    ids=["2-writers-no-compaction", "3-writers-compact-20kB", "2-writers-compact-6kB"],
)
def test_concurrent_writers_lose_nothing(tmp_path: Path, writers: int, ops: int, compact: int) -> None:
    root = tmp_path / "data"
    acked = _seed(root)
    go = tmp_path / "go"
    procs = []
    for i in range(writers):
        out = tmp_path / f"p{i}.out"
        procs.append((f"p{i}", out, _start(WRITER, [root, f"p{i}", ops, compact, go, 1000 + i], out)))
    for _, out, proc in procs:
        _wait_ready(proc, out)
    go.touch()
    for actor, out, proc in procs:
        rc = proc.wait(timeout=120)
        assert rc == 0, f"{actor} failed ({rc}):\n{_stderr(out)}"
        assert out.read_text().splitlines()[-1].startswith("DONE")
        assert acked.read(out, actor) == ops, f"{actor} did not acknowledge every call"

    held = _check_store(root, acked, in_flight=0)
    assert held.total() == acked.total()
    _assert_clean(root)
    _assert_journal_well_formed(root)
    gen, _ = _current(root)
    if compact < DEFAULT_COMPACT:
        assert gen >= 5, f"expected many compactions during the run, saw {gen}"

    # the store reloads, compacts and reloads again to the same content
    JournalStore(Path(root)).compact()
    _assert_clean(root)
    assert _check_store(root, acked, in_flight=0) == held


@pytest.mark.slow
def test_concurrent_first_open_of_a_new_directory(tmp_path: Path) -> None:
    dirs, openers = 10, 4
    procs = []
    for i in range(openers):
        out = tmp_path / f"opener{i}.out"
        procs.append((out, _start(FIRST_OPENER, [tmp_path, dirs, i], out)))
    for out, proc in procs:
        _wait_ready(proc, out)
    for k in range(dirs):
        (tmp_path / f"s{k}.go").touch()
        time.sleep(0.1)
    results = []
    for out, proc in procs:
        assert proc.wait(timeout=60) == 0, _stderr(out)
        results += out.read_text().splitlines()[1:]
    assert len(results) == dirs * openers
    errors = [r for r in results if not r.startswith("ok")]
    assert not errors, f"{len(errors)} of {len(results)} first opens refused: {errors[:4]}"


# --- 2. writers killed with SIGKILL -------------------------------------------------------


def _crash_state(root: Path) -> Counter[str]:
    """What a kill left behind, before anyone opens the store again."""
    seen: Counter[str] = Counter()
    names = os.listdir(root)
    gen, _ = _current(root)
    if any(n.endswith(".tmp") for n in names):
        seen["temp file or snapshot left"] += 1
    if [n for n in names if n.startswith("snapshot-") and n != f"snapshot-{gen:06d}"]:
        seen["second snapshot generation left"] += 1
    if [n for n in names if n.startswith("journal-") and n != f"journal-{gen:06d}.ndjson"]:
        seen["old journal left"] += 1
    if _assert_journal_well_formed(root, torn_tail_allowed=True):
        seen["torn journal line"] += 1
    audit = root / "audit.ndjson"
    if audit.exists() and not audit.read_bytes().endswith(b"\n"):
        seen["torn audit line"] += 1
    return seen


def _kill_chain(root: Path, work: Path, trials: int, seed: int) -> Counter[str]:
    """Kill a writer ``trials`` times on one store, checking and writing again after each kill."""
    rng = random.Random(seed)
    acked = _seed(root)
    seen: Counter[str] = Counter()
    for trial in range(trials):
        compact = (DEFAULT_COMPACT, 20_000, 5_000, 1)[trial % 4]
        delay = rng.uniform(0.005, 0.3)
        context = f"seed={seed} trial={trial} compact={compact} delay={delay:.3f}s"
        out = work / f"{root.name}-kill{trial}.out"
        proc = _start(KILLED_WRITER, [root, f"k{trial}", compact, rng.randrange(1 << 30)], out)
        _wait_ready(proc, out)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait(timeout=30)
        assert rc == -signal.SIGKILL, f"{context}: writer died on its own ({rc}):\n{_stderr(out)}"
        seen["acknowledged before kill"] += acked.read(out, f"k{trial}")
        seen.update(_crash_state(root))

        try:
            held = _check_store(root, acked, in_flight=1, audit="volunteers")
            _assert_clean(root)
            # writing again works, and a torn last line is gone after that write
            wb = workbench.open(root, user=staff(f"after{trial}"))
            held.volunteers.add(wb.register_volunteer(site_id=SITE, name=f"After Kill {trial}")["id"])
            note = wb.record_event(rng.choice(sorted(held.cases)), "note", text=f"after kill {trial}")
            held.notes[note["id"]] = f"after{trial}"
            _assert_journal_well_formed(root)
            acked = held  # the next trial checks these are still there
        except AssertionError as exc:
            raise AssertionError(f"{context}: {exc}") from exc
        seen["kills"] += 1
    _check_store(root, acked, in_flight=0, audit="volunteers")
    return seen


@pytest.mark.slow
def test_sigkilled_writers_lose_no_acknowledged_write(tmp_path: Path) -> None:
    seed = int(os.environ.get("WORKBENCH_TEST_SEED", random.randrange(1 << 30)))
    chains, trials = 2, 12
    with ThreadPoolExecutor(chains) as pool:
        futures = [pool.submit(_kill_chain, tmp_path / f"store{c}", tmp_path, trials, seed + c)
                   for c in range(chains)]
        seen = sum((f.result() for f in futures), Counter())
    print(f"\nkill trials (seed {seed}): {dict(seen)}")
    assert seen["kills"] == chains * trials


def test_opening_removes_the_stores_leftovers_but_not_another_programs_file_being_written(tmp_path: Path) -> None:
    """Several servers start on one data folder at once (one per person): one's open must not delete the
    token file another is writing."""
    root = tmp_path / "data"
    JournalStore(root)
    (root / ".snapshot-000007.tmp").mkdir()
    (root / ".CURRENT.abc.tmp").write_bytes(b"{}")
    (root / ".voila-token.4242.tmp").write_text("being written")
    (root / ".users.toml.xyz.tmp").write_text("being written")
    JournalStore(root)
    names = set(os.listdir(root))
    assert ".snapshot-000007.tmp" not in names and ".CURRENT.abc.tmp" not in names
    assert {".voila-token.4242.tmp", ".users.toml.xyz.tmp"} <= names


def test_torn_last_journal_line_is_ignored_and_replaced(tmp_path: Path) -> None:
    root = tmp_path / "data"
    acked = _seed(root)
    gen, _ = _current(root)
    path = root / f"journal-{gen:06d}.ndjson"
    whole = path.read_bytes()
    last = whole[:-1].rsplit(b"\n", 1)[-1]
    path.write_bytes(whole + last[: len(last) // 2])  # a writer died half way through a line

    _check_store(root, acked, in_flight=0)
    wb = workbench.open(root, user=staff("next"))
    acked.volunteers.add(wb.register_volunteer(site_id=SITE, name="Next Brobygger")["id"])
    _assert_journal_well_formed(root)
    assert path.read_bytes().startswith(whole)
    _check_store(root, acked, in_flight=0)


# --- 3. a lock-free reader while a writer writes and compacts ------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("compact", [20_000, 4_000])
def test_reader_never_fails_and_never_goes_back(tmp_path: Path, compact: int) -> None:
    root = tmp_path / "data"
    acked = _seed(root)
    probe = min(acked.volunteers)
    go, stop = tmp_path / "go", tmp_path / "stop"
    reader_out, writer_out = tmp_path / "reader.out", tmp_path / "writer.out"
    reader = _start(READER, [root, stop, probe], reader_out)
    writer = _start(WRITER, [root, "w", 150 if compact > 10_000 else 100, compact, go, 7], writer_out)
    _wait_ready(reader, reader_out)
    _wait_ready(writer, writer_out)
    go.touch()
    try:
        assert writer.wait(timeout=120) == 0, _stderr(writer_out)
    finally:
        stop.touch()
    assert reader.wait(timeout=60) == 0, f"reader failed:\n{_stderr(reader_out)}"
    done = reader_out.read_text().splitlines()[-1].split()
    reads, generations = int(done[1]), int(done[2])
    assert reads > 20
    assert generations >= 2, f"the reader saw only {generations} generation; no compaction happened under it"
    acked.read(writer_out, "w")
    _check_store(root, acked, in_flight=0)


def test_a_table_first_read_after_another_process_compacted_comes_from_the_new_generation(tmp_path: Path) -> None:
    """A handle reads a table when first needed; if a compaction removed its generation meanwhile, it
    catches up with the new one instead of failing or showing less."""
    root = tmp_path / "data"
    acked = _seed(root)
    reader = JournalStore(root)  # opened: no table read yet
    writer = workbench.open(root, user=staff("writer"))
    added = writer.register_volunteer(site_id=SITE, name="Efter Brobygger")["id"]
    before = _current(root)[0]
    writer._store.compact()
    assert not (root / f"snapshot-{before:06d}").exists()  # the generation the reader opened is gone
    assert set(reader.frame("volunteers")["id"].to_list()) == acked.volunteers | {added}
    assert {d["id"] for d in reader.find("events", "case_id", min(acked.cases))} == {
        d["id"] for d in writer._store.find("events", "case_id", min(acked.cases))}


@pytest.mark.slow
def test_reader_audit_trail_never_goes_back(tmp_path: Path) -> None:
    """Lock-free readers of the audit trail while a writer compacts after every write (each compaction
    appends to audit.ndjson, which a reader may catch half written): every read is the read before it
    plus newer records, and no line ever reads as damaged."""
    root = tmp_path / "data"
    _seed(root, cases=2)
    go, stop = tmp_path / "go", tmp_path / "stop"
    outs = [tmp_path / f"auditor{k}.out" for k in range(2)]
    readers = [_start(AUDIT_READER, [root, stop], out) for out in outs]
    writer_out = tmp_path / "writer.out"
    writer = _start(WRITER, [root, "w", 150, 1, go, 11], writer_out)  # compacts after every write
    for reader, out in zip(readers, outs, strict=True):
        _wait_ready(reader, out)
    _wait_ready(writer, writer_out)
    go.touch()
    deadline = time.monotonic() + 120
    while writer.poll() is None and all(r.poll() is None for r in readers) and time.monotonic() < deadline:
        time.sleep(0.02)
    if writer.poll() is None:  # a reader stopped at a bad read: no need to let the writer finish
        writer.kill()
        writer.wait()
    else:
        assert writer.returncode == 0, _stderr(writer_out)
    stop.touch()
    for reader, out in zip(readers, outs, strict=True):
        assert reader.wait(timeout=60) == 0, f"reader failed:\n{_stderr(out)}"
        lines = out.read_text().splitlines()
        assert not [line for line in lines if line.startswith("BAD")], lines[-2:]
        assert int(lines[-1].split()[1]) > 1, lines[-1]  # it read while the writer wrote
    trail = [(a["seq"], a.get("n", 0)) for a in JournalStore(root).audit_trail()]
    assert trail == sorted(set(trail)) and len(trail) > 150


# --- 4. directories the store must refuse -------------------------------------------------


def test_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a store\n")
    assert _open_error(path).key == "store.not_a_directory"


def test_non_empty_foreign_directory(tmp_path: Path) -> None:
    path = tmp_path / "foreign"
    (path / "sub").mkdir(parents=True)
    (path / "report.docx").write_bytes(b"PK\x03\x04 someone's document")
    (path / "sub" / "data.csv").write_text("a,b\n1,2\n")
    assert _open_error(path, user=staff("x")).key == "store.foreign_directory"
    assert not (path / "store.lock").exists()


def test_empty_directory_without_create(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.mkdir()
    assert _open_error(path, create=False).key == "store.missing"


def test_missing_directory_without_create(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(StoreError) as info:
        workbench.open(path, user=staff(), create=False)
    assert info.value.key == "store.missing"
    assert not path.exists()


@pytest.mark.parametrize(
    "marker",
    [{"format": "some-other-tool", "schema_version": 1}, {"format": "tinydb"}, {"schema_version": 1}],
    ids=["other-format", "other-format-no-version", "no-format"],
)
def test_marker_of_another_format(tmp_path: Path, marker: dict[str, Any]) -> None:
    path = tmp_path / "other"
    path.mkdir()
    (path / journal.MARKER).write_text(json.dumps(marker))
    (path / "db.json").write_text('{"_default": {}}')
    assert _open_error(path).key == "store.foreign_directory"


@pytest.mark.parametrize("content", ["[]", "null", '"brobygning-workbench"',
                                     '{"format": "brobygning-workbench", "schema_version": "one"}'])
def test_marker_that_is_not_an_object_of_ours(tmp_path: Path, content: str) -> None:
    path = tmp_path / "odd"
    path.mkdir()
    (path / journal.MARKER).write_text(content)
    assert _open_error(path).key in {"store.foreign_directory", "store.corrupt", "store.unreadable"}


def test_schema_version_newer_than_supported(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _seed(path, cases=1)
    marker = json.loads((path / journal.MARKER).read_text())
    marker["schema_version"] = SCHEMA_VERSION + 1
    (path / journal.MARKER).write_text(json.dumps(marker))
    error = _open_error(path, user=staff("old version"))
    assert error.key == "store.too_new"
    assert error.params == {"found": SCHEMA_VERSION + 1, "supported": SCHEMA_VERSION}


def _without_dac_override(scratch: Path) -> tuple[str, ...] | None:
    """A command prefix under which file permissions apply to the child, or None if impossible."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--")
    locked = scratch / "locked"
    locked.mkdir(mode=0o000)
    try:
        probe = subprocess.run([*prefix, sys.executable, "-c", f"import os; os.listdir({str(locked)!r})"],
                               capture_output=True, check=False)
    finally:
        locked.rmdir()
    return prefix if probe.returncode == 1 and b"PermissionError" in probe.stderr else None


PERMISSION_CASES = {
    "dir-r-x": (".", 0o500),
    "dir--wx": (".", 0o300),
    "dir---x": (".", 0o100),
    "dir-none": (".", 0o000),
    "dir-rw-": (".", 0o600),
    "CURRENT-none": ("CURRENT", 0o000),
    "snapshot-none": ("snapshot-000000", 0o000),
}


@pytest.fixture(scope="module")
def permission_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bool]]:
    """Open a store with each permission taken away, all in one child; outcome and 'unchanged'."""
    base = tmp_path_factory.mktemp("permissions")
    prefix = _without_dac_override(base)
    if prefix is None:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE (setpriv missing or refused)")
    paths, trees, victims = [], {}, {}
    for name, (target, mode) in PERMISSION_CASES.items():
        path = base / name
        _seed(path, cases=1)
        trees[name] = _tree(path)
        victims[name] = (path / target, (path / target).stat().st_mode & 0o777)
        os.chmod(path / target, mode)
        paths.append(path)
    try:
        lines = _run(OPEN_AND_REPORT, paths, base / "perm.out", prefix).splitlines()
    finally:
        for victim, mode in victims.values():
            os.chmod(victim, mode)
    assert len(lines) == len(paths), lines
    return {name: (line, _tree(base / name) == trees[name])
            for name, line in zip(PERMISSION_CASES, lines, strict=True)}


@pytest.mark.parametrize("case", [
    "dir-r-x", "dir--wx", "dir---x",
    "dir-none",
    "dir-rw-",
    "CURRENT-none", "snapshot-none",
])
def test_directory_without_permission(permission_outcomes: dict[str, tuple[str, bool]], case: str) -> None:
    outcome, unchanged = permission_outcomes[case]
    assert outcome == "StoreError store.unreadable"
    assert unchanged, "a refused open changed the directory"


# --- 5. corrupt CURRENT, snapshot or journal ---------------------------------------------


@pytest.fixture
def store_on_disk(tmp_path: Path) -> Iterator[Path]:
    """A store with content both in a compacted snapshot and in the journal after it."""
    root = tmp_path / "data"
    _seed(root, cases=2)
    wb = workbench.open(root, user=staff("seed"))
    for i in range(4):
        wb.register_volunteer(site_id=SITE, name=f"Snapshot Brobygger {i}")
    wb._store.compact()
    for i in range(3):
        wb.register_volunteer(site_id=SITE, name=f"Journal Brobygger {i}")
    assert _current(root)[0] == 1
    yield root


def _snapshot_file(root: Path, table: str = "volunteers") -> Path:
    return root / f"snapshot-{_current(root)[0]:06d}" / f"{table}.ndjson"


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe\x00garbage", b'{"generation": 1,', b"generation=1 seq=9\n"],
    ids=["empty", "binary", "truncated", "not-json"],
)
def test_corrupt_current(store_on_disk: Path, content: bytes) -> None:
    (store_on_disk / "CURRENT").write_bytes(content)
    assert _open_error(store_on_disk).key == "store.corrupt"


@pytest.mark.parametrize(
    "content",
    [b"{}", b"[]", b'{"generation": "one", "seq": 0}', b'{"generation": 1}'],
    ids=["empty-object", "list", "generation-not-int", "seq-missing"],
)
def test_current_of_the_wrong_shape(store_on_disk: Path, content: bytes) -> None:
    (store_on_disk / "CURRENT").write_bytes(content)
    assert _open_error(store_on_disk).key == "store.corrupt"


@pytest.mark.parametrize("damage", ["current-names-missing-generation", "table-file-missing"])
def test_missing_snapshot_is_corruption(store_on_disk: Path, damage: str) -> None:
    if damage == "current-names-missing-generation":
        (store_on_disk / "CURRENT").write_text(json.dumps({"generation": 7, "seq": 8}))
    else:
        _snapshot_file(store_on_disk).unlink()
        _snapshot_file(store_on_disk).with_suffix(".arrow").unlink(missing_ok=True)
    assert _open_error(store_on_disk).key == "store.corrupt"


def _tables(root: Path) -> dict[str, Any]:
    store = JournalStore(Path(root))
    return {name: store.frame(name) for name in TABLES}


def _same_tables(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(a[name].equals(b[name]) for name in a)


@pytest.mark.parametrize("arrow_copy", ["arrow-copy-removed", "arrow-copy-intact"])
@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad-utf8", "wrong-type", "not-objects"])
def test_corrupt_snapshot(store_on_disk: Path, damage: str, arrow_copy: str) -> None:
    """A damaged NDJSON record is store.corrupt; with its Arrow copy intact the exact data may be served."""
    pristine = _tables(store_on_disk)
    path = _snapshot_file(store_on_disk)
    data = path.read_bytes()
    assert data.count(b"\n") >= 4
    path.write_bytes({
        "garbage": b"this is not json\n",
        "truncated": data[: len(data) // 2],
        "bad-utf8": data[:20] + b"\xff\xfe" + data[22:],
        "wrong-type": data.replace(b'"capacity":3', b'"capacity":"three"', 1),
        "not-objects": b"[1, 2]\n",
    }[damage])
    assert path.read_bytes() != data
    if arrow_copy == "arrow-copy-removed":
        path.with_suffix(".arrow").unlink(missing_ok=True)
        assert _open_error(store_on_disk, read=True).key == "store.corrupt"
        return
    before = _tree(store_on_disk)
    try:
        served = _tables(store_on_disk)
    except StoreError as exc:
        assert exc.key == "store.corrupt"
    else:
        assert _same_tables(served, pristine), "the store served data that differs from what was committed"
    assert _tree(store_on_disk) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other-table", "zeroed-middle"])
def test_damaged_arrow_copy_falls_back_to_the_record(store_on_disk: Path, damage: str) -> None:
    pristine = _tables(store_on_disk)
    arrow = _snapshot_file(store_on_disk).with_suffix(".arrow")
    if not arrow.exists():
        pytest.skip("this store writes no Arrow copy")
    data = arrow.read_bytes()
    third = len(data) // 3
    arrow.write_bytes({
        "garbage": b"ARROW1 but not really" * 20,
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "other-table": _snapshot_file(store_on_disk, "sites").with_suffix(".arrow").read_bytes(),
        "zeroed-middle": data[:third] + bytes(third) + data[2 * third:],
    }[damage])
    assert _same_tables(_tables(store_on_disk), pristine)
    JournalStore(Path(store_on_disk)).compact()  # a compaction rewrites a sound copy
    assert _same_tables(_tables(store_on_disk), pristine)


@pytest.mark.slow
def test_randomly_damaged_arrow_copy_never_crashes_or_misleads(store_on_disk: Path, tmp_path: Path) -> None:
    if not _snapshot_file(store_on_disk).with_suffix(".arrow").exists():
        pytest.skip("this store writes no Arrow copy")
    out = tmp_path / "fuzz.out"
    proc = _start(ARROW_FUZZ, [store_on_disk, "volunteers", 150], out)
    rc = proc.wait(timeout=120)
    lines = out.read_text().splitlines()
    tried = [line for line in lines if line.startswith("TRY")]
    assert rc == 0, f"the process died ({rc}) reading damaged copy #{tried[-1].split()[1] if tried else '?'}"
    outcomes = Counter(line.split(maxsplit=2)[2] for line in lines if line.startswith("RES"))
    bad = {o: n for o, n in outcomes.items() if o.startswith(("RAW", "DIFFERENT"))}
    assert not bad, f"damaged Arrow copies: {dict(outcomes)}"


def test_corrupt_line_inside_the_journal_does_not_hide_later_commits(store_on_disk: Path) -> None:
    gen, _ = _current(store_on_disk)
    path = store_on_disk / f"journal-{gen:06d}.ndjson"
    lines = path.read_bytes().split(b"\n")[:-1]
    assert len(lines) == 3
    later = json.loads(journal.unseal(lines[2]) or b"null")["ops"][0]["id"]
    lines[1] = b"#" * len(lines[1])  # bit rot inside the file, not a torn tail
    path.write_bytes(b"\n".join(lines) + b"\n")
    try:
        wb = workbench.open(store_on_disk, user=staff())
    except StoreError as exc:  # refusing to open a corrupt journal, naming the line, is what it does
        assert exc.key == "store.damaged" and exc.params["line"] == 2 and exc.params["after"] == 1
        return
    assert wb._store.get("volunteers", later) is not None, "a committed volunteer after the bad line is gone"


# --- write failures (real EFBIG from RLIMIT_FSIZE) -----------------------------------------


def test_failed_write_leaves_no_phantom_in_the_writer(tmp_path: Path) -> None:
    root = tmp_path / "data"
    acked = _seed(root, cases=1)
    out = _run(FAILED_WRITE, [root], tmp_path / "failed.out").splitlines()
    assert out[0] == "FAILED store.write_failed 27", out  # EFBIG: the call raised, nothing was acknowledged
    assert out[1] == "REFUSED store.read_only", out
    on_disk = set(JournalStore(Path(root)).frame("volunteers")["id"].to_list())
    writer_sees = set(out[3].split()[1].split(","))
    assert writer_sees == on_disk, f"the writer sees {sorted(writer_sees - on_disk)}, which is not on disk"
    acked.read(tmp_path / "failed.out", "writer")
    _check_store(root, acked, in_flight=0)
    _assert_journal_well_formed(root)


def test_torn_audit_append_loses_no_audit_record(tmp_path: Path) -> None:
    root = tmp_path / "data"
    acked = _seed(root, cases=0)
    wb = workbench.open(root, user=staff("seed"))
    volunteer = min(acked.volunteers)
    with wb.batch():  # audit.ndjson becomes the largest file in the directory (batch compacts)
        for i in range(150):
            wb.update_volunteer(volunteer, phone=f"+45 {20000000 + i}")
    assert _current(root)[0] == 1
    for i in range(2):
        doc = wb.open_referral(site_id=SITE, citizen={"display_name": f"Borger {i}"},
                               consents=[{"purpose": "case_work", "given": True}])
        acked.cases[doc["id"]] = doc["number"]
    audit = root / "audit.ndjson"
    size = audit.stat().st_size
    last = json.loads(audit.read_bytes().splitlines()[-1])["seq"]
    pending = [a for a in wb._store.audit_trail() if a["seq"] > last]
    assert [a["seq"] for a in pending[:2]] == [pending[0]["seq"]] * 2, "first referral logs several records"
    first_line = json.dumps(pending[0], ensure_ascii=False).encode() + b"\n"
    cut = size + len(first_line) + 5  # inside the second record of the first referral
    assert _run(TORN_AUDIT, [root, cut], tmp_path / "audit.out").strip() == "FAILED 27"
    assert audit.stat().st_size == cut and _current(root)[0] == 1  # the compaction did not switch

    JournalStore(Path(root)).compact()
    _check_store(root, acked, in_flight=0, audit="full")


def test_failed_first_open_can_be_retried(tmp_path: Path) -> None:
    root = tmp_path / "data"
    assert _run(FAILED_FIRST_OPEN, [root], tmp_path / "first.out").strip() == "FAILED 27"
    assert not (root / journal.MARKER).exists()
    _seed(root, cases=1)  # opening again must finish the initialisation
