"""Tables of the store: which record model each holds, its id prefix, and its storage schema.

The polars storage schema is derived from the pydantic model, so a field added to a
model can never be silently dropped when the store reads its snapshot with
``pl.read_ndjson(schema=...)``.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

import polars as pl
from pydantic import BaseModel

from workbench.domain import events
from workbench.domain import model as m

SCHEMA_VERSION = 5


@dataclass(frozen=True)
class Table:
    """A stored table: its name, record model and the prefix of its ids."""

    name: str
    model: type[BaseModel]
    prefix: str
    since: int = 1  # the schema version that added the table (older stores have no file for it)

    @property
    def schema(self) -> pl.Schema:
        return storage_schema(self.model)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("sites", m.Site, ""),
        Table("volunteers", m.Volunteer, "F"),
        Table("citizens", m.Citizen, "B"),
        Table("contacts", m.CitizenContact, ""),
        Table("communities", m.Community, "K"),
        Table("interventions", m.Intervention, "I"),
        Table("cases", m.Case, "S"),
        Table("events", events.Event, "H"),
        Table("measures", m.Measure, "M"),
        Table("targets", m.Target, "T"),
        Table("counters", m.Counter, ""),
        Table("erasures", m.Erasure, "", since=2),
    )
}

# Columns ``Store.find`` can look up directly; everything else is read through frames.
INDEXED: dict[str, tuple[str, ...]] = {
    "events": ("case_id", "volunteer_id"),
    "cases": ("citizen_id",),
    "measures": ("case_id",),
}


def _polars_type(annotation: Any) -> pl.DataType:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _polars_type(args[0])
    if origin in (typing.Union, types.UnionType):
        return _polars_type(args[0])
    if origin is list:
        return pl.List(_polars_type(args[0]))
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return pl.Struct(storage_schema(annotation))
        if issubclass(annotation, bool):
            return pl.Boolean()
        if issubclass(annotation, Enum) or issubclass(annotation, (str, date, datetime)):
            return pl.String()
        if issubclass(annotation, int):
            return pl.Int64()
        if issubclass(annotation, float):
            return pl.Float64()
    raise TypeError(f"no storage type for {annotation!r}")


def storage_schema(model: type[BaseModel]) -> pl.Schema:
    """The JSON-level polars schema of a record model (dates stay ISO strings on disk)."""
    hints = typing.get_type_hints(model, include_extras=True)
    return pl.Schema({name: _polars_type(hints[name]) for name in model.model_fields})
