"""Import fællesskaber from a CSV file: read, check every row, then add them all in one batch.

Pure logic, no widgets: the communities tab (``workbench.ui.coordinator.communities``) only reads the
uploaded file and shows what this module returns.

The file is UTF-8 (with or without a byte-order mark, as Excel's "CSV UTF-8" writes it),
separated by ``;`` (Danish Excel), ``,`` or a tab, with a header row. The columns are
``COLUMNS`` (Danish names, English aliases accepted, any order, case-insensitive); ``navn``,
``arrangør`` and ``postnummer`` are required, the rest may be left out. ``docs/fællesskaber-
eksempel.csv`` is a complete example.

Every row is checked by the model's own rules (``workbench.domain.model.Community``, the same rules
the service applies), one column at a time so a row reports all its problems at once; a
CPR number in any cell is refused like everywhere else and never repeated in a message.
Row numbers count the header as row 1, as a spreadsheet shows them.

``apply`` writes nothing when the preview has errors (unless told to skip the bad rows),
and adds the good rows inside one ``wb.batch()``: either all of them land or none.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from workbench.domain import model as m
from workbench.domain import validation as v
from workbench.domain.text import contains_cpr, danish_sorted, normalise
from workbench.errors import InvalidInput, WorkbenchError
from workbench.i18n import LANGUAGES, t

if TYPE_CHECKING:
    from workbench.service import Workbench

MAX_BYTES = 2 * 1024 * 1024
"""The largest file the dashboard accepts (2 MB: thousands of communities)."""

_SHOWN_VALUE = 40
"""A value quoted back in a message is cut to this many characters."""


@dataclass(frozen=True)
class Column:
    """One column of the import file: the model field it fills and the names it may have."""

    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "navn", ("name",), required=True),
    Column("organiser", "arrangør", ("arrangoer", "organiser", "organizer"), required=True),
    Column("kind", "type", ("kind",)),
    Column("description", "beskrivelse", ("description",)),
    Column("postal_code", "postnummer", ("postnr", "postnr.", "postal code", "postal_code", "postcode"),
           required=True),
    Column("schedule", "ugedage/tider", ("ugedage", "tider", "mødetider", "schedule")),
    Column("age_min", "alder fra", ("aldersgrænse fra", "age from", "age min", "age_min")),
    Column("age_max", "alder til", ("aldersgrænse til", "age to", "age max", "age_max")),
    Column("target_groups", "målgrupper", ("maalgrupper", "target groups", "target_groups")),
    Column("accessibility", "tilgængelighed", ("tilgaengelighed", "accessibility")),
    Column("cost", "pris", ("cost", "price")),
    Column("contact", "kontakt", ("contact",)),
    Column("source", "kilde", ("source",)),
    Column("status", "status", ()),
    Column("latitude", "breddegrad", ("latitude", "lat")),
    Column("longitude", "længdegrad", ("laengdegrad", "longitude", "lon", "lng")),
)
"""Every column the import understands, in the order the example file uses."""

_TEXT_FIELDS = {"name", "organiser", "description", "postal_code", "accessibility", "cost", "contact", "source"}
_CHECK_BASE: dict[str, Any] = {"id": "K-import", "name": "x", "organiser": "x", "postal_code": "5000"}


def _fold(text: str) -> str:
    """Compare names the way a person would: NFC, case-insensitive, spaces collapsed."""
    folded = re.sub(r"[\s_]+", " ", normalise(text).casefold())
    return re.sub(r"\s*/\s*", "/", folded)


_BY_HEADER: dict[str, Column] = {
    _fold(name): column for column in COLUMNS for name in (column.header, *column.aliases)
}


class ImportIssue(NamedTuple):
    """A problem in the file: the row (header = 1), the column as written in the file, the message."""

    row: int
    field: str
    message: str


class Duplicate(NamedTuple):
    """A row naming a community that is already in the catalog (``earlier_row`` None) or earlier in the file."""

    row: int
    name: str
    postal_code: str
    earlier_row: int | None


@dataclass
class ImportRow:
    """A row that passed every check: its number and the fields for ``Workbench.add_community``."""

    row: int
    fields: dict[str, Any]


@dataclass
class ImportPreview:
    """What ``parse_csv`` found: the rows ready to import, the problems, and the duplicates."""

    valid: list[ImportRow] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    delimiter: str = ";"
    rows_read: int = 0

    @property
    def bad_rows(self) -> list[int]:
        """The numbers of the rows with at least one error."""
        return sorted({issue.row for issue in self.errors})


# -- choices and schedules ------------------------------------------------------------------------

def _choices(prefix: str, enum: type[StrEnum]) -> dict[str, str]:
    """Every accepted spelling of an enum's values: the code and its label in each language."""
    spellings: dict[str, str] = {}
    for member in enum:
        spellings[_fold(member.value)] = member.value
        spellings[_fold(member.value.replace("_", " "))] = member.value
        for lang in LANGUAGES:
            spellings[_fold(t(f"{prefix}.{member.value}", lang))] = member.value
    return spellings


def _labels(prefix: str, enum: type[StrEnum]) -> str:
    """The enum's labels in the language in force, for a message listing what is allowed."""
    return ", ".join(danish_sorted(t(f"{prefix}.{member.value}") for member in enum))


def _shown(value: str) -> str:
    text = normalise(value)
    return text if len(text) <= _SHOWN_VALUE else text[: _SHOWN_VALUE - 1] + "…"


def choice(value: str, prefix: str, enum: type[StrEnum], key: str, field_name: str) -> str:
    """The code of an enum value given as its code or its label (Danish or English)."""
    code = _choices(prefix, enum).get(_fold(value))
    if code is None:
        raise InvalidInput(key, field=field_name, value=_shown(value), allowed=_labels(prefix, enum))
    return code


def _weekday_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for day in m.Weekday:
        names[day.value] = day.value
        for lang in LANGUAGES:
            label = _fold(t(f"weekday.{day.value}", lang))
            names[label] = day.value
            names[label[:3]] = day.value
    return names


def weekday_short(day: str) -> str:
    """A weekday's three-letter name in the language in force (``tir``, ``Tue``)."""
    return t(f"weekday.{day}")[:3]


_SLOT = re.compile(r"(?P<day>[^\W\d_]+)\.?\s+(?P<start>\d{1,2}[:.]\d{2})\s*[-–—]\s*(?P<end>\d{1,2}[:.]\d{2})")


def parse_schedule(text: str, field_name: str = "schedule") -> list[dict[str, str]]:
    """Read weekly times written ``tir 10:00-12:00; tor 14:00-16:00`` (``;``, ``,`` or new lines between).

    Weekdays may be written as the full name or its first three letters, in Danish or
    English. Anything else is refused with a message saying which part could not be read.
    """
    days = _weekday_names()
    slots: list[dict[str, str]] = []
    for raw in re.split(r"[;,\n]+", text):
        part = normalise(raw)
        if not part:
            continue
        match = _SLOT.fullmatch(part)
        if match is None:
            raise InvalidInput("import.schedule_format", field=field_name, part=_shown(part))
        day = days.get(_fold(match["day"]))
        if day is None:
            raise InvalidInput("import.schedule_weekday", field=field_name, day=_shown(match["day"]),
                               allowed=", ".join(weekday_short(d.value) for d in m.Weekday))
        slots.append(slot(day, match["start"], match["end"], field_name))
    return unique_slots(slots)


def slot(day: str, start: str, end: str, field_name: str = "schedule") -> dict[str, str]:
    """One weekly time, with clock times checked by the model's rule and the end after the start."""
    try:
        begins, ends = v.clock(start), v.clock(end)
    except InvalidInput as exc:
        exc.field = field_name
        raise
    if ends <= begins:
        raise InvalidInput("import.schedule_order", field=field_name, part=f"{weekday_short(day)} {begins}-{ends}")
    return {"weekday": day, "start": begins, "end": ends}


_DAY_ORDER = {day.value: index for index, day in enumerate(m.Weekday)}


def unique_slots(slots: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """The slots without repeats, in week order (Monday first, then by start time)."""
    kept = {(item["weekday"], item["start"], item["end"]): dict(item) for item in slots}
    return [kept[key] for key in sorted(kept, key=lambda k: (_DAY_ORDER.get(k[0], 7), k[1], k[2]))]


def format_schedule(slots: Iterable[Mapping[str, str]]) -> str:
    """Weekly times in the short form ``parse_schedule`` reads back."""
    return "; ".join(f"{weekday_short(s['weekday'])} {s['start']}-{s['end']}" for s in slots)


# -- reading the file ---------------------------------------------------------------------------------

def decode(content: bytes) -> str:
    """The text of an uploaded file: at most ``MAX_BYTES``, UTF-8 (a byte-order mark is dropped)."""
    if len(content) > MAX_BYTES:
        raise InvalidInput("import.too_large", field="upload", max_mb=MAX_BYTES // (1024 * 1024))
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput("import.not_utf8", field="upload")
    try:
        text = bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("import.not_utf8", field="upload") from None
    if "\x00" in text:
        raise InvalidInput("import.not_utf8", field="upload")
    return text


def sniff_delimiter(header_line: str) -> str:
    """The separator the header row uses most: ``;`` (Danish Excel), ``,`` or a tab."""
    counts = {sep: header_line.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def community_key(name: str, postal_code: str) -> tuple[str, str]:
    """What makes two catalog entries the same: the name (case-insensitive) and the postal code."""
    return _fold(name), normalise(str(postal_code))


def existing_keys(wb: Workbench, site: str | None) -> set[tuple[str, str]]:
    """The keys of the communities a site sees: its own and those shared by every site."""
    import polars as pl

    frame = wb.frames.communities
    frame = frame.filter(pl.col("site").is_null() | (pl.col("site") == site))
    return {community_key(n, p) for n, p in frame.select("name", "postal_code").iter_rows()}


def parse_csv(text: str, existing: Iterable[tuple[str, str]] = ()) -> ImportPreview:
    """Check a whole file; nothing is written. ``existing`` holds ``community_key``s already in the catalog."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return ImportPreview(errors=[ImportIssue(1, "", t("import.empty"))])
    first_line = text.lstrip("\r\n").splitlines()[0]
    preview = ImportPreview(delimiter=sniff_delimiter(first_line))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=preview.delimiter, strict=True)
    records = _records(reader, preview)
    header = next(records, None)
    while header is not None and not any(cell.strip() for cell in header[1]):
        header = next(records, None)
    if header is None:
        preview.errors.append(ImportIssue(1, "", t("import.empty")))
        return preview
    columns = _read_header(header[0], header[1], preview)
    if preview.errors:
        return preview
    known = set(existing)
    first_seen: dict[tuple[str, str], int] = {}
    for number, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        preview.rows_read += 1
        fields = _read_row(number, cells, columns, preview)
        if fields is None:
            continue
        key = community_key(fields["name"], fields["postal_code"])
        if key in known or key in first_seen:
            preview.duplicates.append(Duplicate(number, fields["name"], fields["postal_code"], first_seen.get(key)))
            continue
        first_seen[key] = number
        preview.valid.append(ImportRow(number, fields))
    if preview.rows_read == 0 and not preview.errors:
        preview.errors.append(ImportIssue(header[0] + 1, "", t("import.no_rows")))
    return preview


def _records(reader: Any, preview: ImportPreview) -> Iterator[tuple[int, list[str]]]:
    """The file's records numbered from 1 (a quoted cell may span lines: one record, one row)."""
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            preview.errors.append(ImportIssue(number + 1, "", t("import.csv_broken")))
            return
        number += 1
        yield number, cells


def _read_header(row: int, header: list[str], preview: ImportPreview) -> list[tuple[str, Column] | None]:
    """Each position's column (None for trailing blank headers); problems go to ``preview.errors``."""
    while header and not header[-1].strip():
        header = header[:-1]
    columns: list[tuple[str, Column] | None] = []
    seen: dict[str, str] = {}
    allowed = ", ".join(c.header for c in COLUMNS)
    for position, raw in enumerate(header, start=1):
        written = normalise(raw)
        if not written:
            preview.errors.append(ImportIssue(row, "", t("import.empty_header", number=position)))
            columns.append(None)
            continue
        if contains_cpr(written):
            preview.errors.append(ImportIssue(row, "", t("input.cpr_refused")))
            columns.append(None)
            continue
        column = _BY_HEADER.get(_fold(written))
        if column is None:
            preview.errors.append(ImportIssue(row, written, t("import.unknown_column", column=_shown(written),
                                                            allowed=allowed)))
            columns.append(None)
            continue
        if column.field in seen:
            preview.errors.append(ImportIssue(row, written, t("import.duplicate_column", column=written)))
        seen[column.field] = written
        columns.append((written, column))
    for column in COLUMNS:
        if column.required and column.field not in seen:
            preview.errors.append(ImportIssue(row, column.header, t("import.missing_column", column=column.header)))
    return columns


def _read_row(number: int, cells: list[str], columns: list[tuple[str, Column] | None],
              preview: ImportPreview) -> dict[str, Any] | None:
    """The fields of one row, or None after recording its problems (every column is checked)."""
    issues: list[ImportIssue] = []
    extra = [cell for cell in cells[len(columns):] if cell.strip()]
    if extra:
        issues.append(ImportIssue(number, "", t("import.extra_cells", cells=len(cells), columns=len(columns))))
    fields: dict[str, Any] = {}
    written_as: dict[str, str] = {}
    for position, entry in enumerate(columns):
        if entry is None:
            continue
        written, column = entry
        written_as[column.field] = written
        cell = normalise(cells[position]) if position < len(cells) else ""
        if contains_cpr(cell):
            issues.append(ImportIssue(number, written, t("input.cpr_refused")))
            continue
        if not cell:
            if column.required:
                issues.append(ImportIssue(number, written, t("input.required")))
            continue
        try:
            value = _convert(column.field, cell)
            m.parse(m.Community, {**_CHECK_BASE, column.field: value})
        except WorkbenchError as exc:
            issues.append(ImportIssue(number, written, exc.message))
            continue
        fields[column.field] = value
    if not issues:
        try:
            m.parse(m.Community, {**fields, "id": _CHECK_BASE["id"]})
        except WorkbenchError as exc:
            column_name = written_as.get((exc.field or "").split(".")[0], "")
            issues.append(ImportIssue(number, column_name, exc.message))
    if issues:
        preview.errors.extend(issues)
        return None
    return fields


def _convert(field_name: str, cell: str) -> Any:
    """A cell's text as the value the model expects for ``field_name``."""
    if field_name in _TEXT_FIELDS:
        return cell
    if field_name == "kind":
        return choice(cell, "community_kind", m.CommunityKind, "import.unknown_kind", field_name)
    if field_name == "status":
        return choice(cell, "community_status", m.CommunityStatus, "import.unknown_status", field_name)
    if field_name == "target_groups":
        parts = [p for p in re.split(r"[,;\n]+", cell) if p.strip()]
        groups = [choice(p, "target_group", m.TargetGroup, "import.unknown_target_group", field_name) for p in parts]
        return list(dict.fromkeys(groups))
    if field_name == "schedule":
        return parse_schedule(cell, field_name)
    if field_name in ("age_min", "age_max"):
        if not re.fullmatch(r"\d{1,3}", cell):
            raise InvalidInput("import.whole_number", field=field_name)
        return int(cell)
    if field_name in ("latitude", "longitude"):
        try:
            return float(cell.replace(",", "."))
        except ValueError:
            raise InvalidInput("import.decimal_number", field=field_name) from None
    raise InvalidInput("input.unknown_field", field=field_name)  # pragma: no cover - COLUMNS and this agree


# -- writing ------------------------------------------------------------------------------------------

def apply(wb: Workbench, preview: ImportPreview, site: str | None, skip_bad_rows: bool = False) -> int:
    """Add the preview's good rows to ``site``'s catalog, all or nothing; returns how many were added.

    With errors in the preview and ``skip_bad_rows`` False nothing is written
    (``import.has_errors``). Duplicates are never added. A row the service refuses at
    write time undoes the whole import (``import.row_failed`` names the row).
    """
    if preview.errors and not skip_bad_rows:
        raise InvalidInput("import.has_errors", count=len(preview.bad_rows))
    if not preview.valid:
        raise InvalidInput("import.nothing_to_import")
    with wb.batch():
        for row in preview.valid:
            try:
                wb.add_community(**{"site_id": site, **row.fields})
            except WorkbenchError as exc:
                raise InvalidInput("import.row_failed", row=row.row, reason=exc.message) from exc
    return len(preview.valid)
