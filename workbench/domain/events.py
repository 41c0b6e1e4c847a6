"""What each kind of case event carries: one pydantic payload per kind, joined in a discriminated union.

The payloads are the contract of ``Workbench.record_event``: which fields a kind requires, which
it may carry, and their types. The service's required-field check, the stored ``Event`` record
(and so the events table's storage schema), the case page's generic step form and the README's
event table are all derived from them::

    wb.record_event(case_id, events.FollowUp(on=today, week=4, still_participating=True))
    wb.record_event(case_id, "follow_up", week=4, still_participating=True)   # the same, by kind

A stored event is the payload plus the envelope the service adds (id, case, when and by whom it
was recorded). Erasure later strips the personal fields (``PERSONAL``) from stored events, so a
stored event is checked against its kind's fields but not for its kind's required ones.
"""

from __future__ import annotations

import functools
import typing
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, create_model, model_validator

from workbench.domain.model import CloseReason, Name, Record, Text, parse
from workbench.domain.workflow import EventKind
from workbench.errors import InvalidInput

K = EventKind


class Payload(Record):
    """Every event's own fields: the day it happened and an optional note."""

    kind: EventKind
    on: date
    text: Text | None = None


class ReferralReceived(Payload):
    """The case is opened from a referral (recorded by the service, never directly)."""

    kind: Literal[K.referral_received] = K.referral_received


class ContactMade(Payload):
    """First contact with the citizen."""

    kind: Literal[K.contact_made] = K.contact_made


class VolunteerAssigned(Payload):
    """A brobygger takes the case; over capacity, paused or untrained needs a reason (``override``)."""

    kind: Literal[K.volunteer_assigned] = K.volunteer_assigned
    volunteer_id: str
    override_reason: Text | None = None
    override: bool | None = None  # set by the service: whether the assignment needed the reason


class ConversationHeld(Payload):
    """The matching conversation: a community is chosen."""

    kind: Literal[K.conversation_held] = K.conversation_held
    community_id: str


class EscortPlanned(Payload):
    """The escort is planned for a day (community and brobygger default to the case's)."""

    kind: Literal[K.escort_planned] = K.escort_planned
    planned_for: date
    community_id: str | None = None
    volunteer_id: str | None = None


class EscortCompleted(Payload):
    """The escort took place; whether the citizen attended, and the community's feedback."""

    kind: Literal[K.escort_completed] = K.escort_completed
    attended: bool
    as_described: bool | None = None
    host_welcomed: bool | None = None
    community_id: str | None = None
    volunteer_id: str | None = None


class EscortCancelled(Payload):
    """A planned escort will not take place."""

    kind: Literal[K.escort_cancelled] = K.escort_cancelled


class FollowUp(Payload):
    """Follow-up at week 4 or 12 after the escort: still taking part?"""

    kind: Literal[K.follow_up] = K.follow_up
    week: int
    still_participating: bool


class MeasureRecorded(Payload):
    """A questionnaire was scored (recorded by ``record_measure``, never directly)."""

    kind: Literal[K.measure_recorded] = K.measure_recorded
    measure_id: str


class Note(Payload):
    """A free-text note on the case."""

    kind: Literal[K.note] = K.note
    text: Text


class CasePaused(Payload):
    """The case waits (illness, travel); the workflow resumes where it stood."""

    kind: Literal[K.case_paused] = K.case_paused


class CaseResumed(Payload):
    """A paused case goes on."""

    kind: Literal[K.case_resumed] = K.case_resumed


class CaseClosed(Payload):
    """The case ends, with the reason."""

    kind: Literal[K.case_closed] = K.case_closed
    close_reason: CloseReason


class CaseReopened(Payload):
    """A closed case opens again where it stood."""

    kind: Literal[K.case_reopened] = K.case_reopened


AnyPayload = Annotated[
    ReferralReceived | ContactMade | VolunteerAssigned | ConversationHeld | EscortPlanned | EscortCompleted
    | EscortCancelled | FollowUp | MeasureRecorded | Note | CasePaused | CaseResumed | CaseClosed | CaseReopened,
    Field(discriminator="kind"),
]
"""Any event payload; pydantic picks the model by ``kind``."""

PAYLOADS: dict[EventKind, type[Payload]] = {
    typing.get_args(model.model_fields["kind"].annotation)[0]: model
    for model in typing.get_args(typing.get_args(AnyPayload)[0])
}
"""The payload model of each event kind (every kind has one: a test holds them to ``EventKind``)."""

INTERNAL = frozenset({K.referral_received, K.measure_recorded})
"""Kinds only the service records (opening a case, scoring a questionnaire)."""

PERSONAL = ("text", "override_reason", "measure_id")
"""Payload fields erasure strips from a citizen's stored events."""

SET_BY_SERVICE = frozenset({"override"})
"""Payload fields the service decides, whatever a caller passes."""

_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyPayload)


def required(kind: EventKind) -> tuple[str, ...]:
    """The fields a new event of ``kind`` must carry besides its day (``on``)."""
    model = PAYLOADS[kind]
    return tuple(name for name, info in model.model_fields.items() if info.is_required() and name not in ("kind", "on"))


@functools.cache
def carries(kind: EventKind) -> tuple[str, ...]:
    """Every field an event of ``kind`` may carry besides ``kind`` and ``on``."""
    return tuple(name for name in PAYLOADS[kind].model_fields if name not in ("kind", "on"))


def payload(kind: EventKind, fields: dict[str, Any]) -> Payload:
    """The typed payload of a new event, or ``InvalidInput`` naming the field that is missing or wrong."""
    return parse(PAYLOADS[kind], {**fields, "kind": kind})


def as_payload(value: Any) -> Payload:
    """A payload from any of the union's models or from a mapping holding ``kind``."""
    result: Payload = _ADAPTER.validate_python(value)
    return result


class _Envelope(Record):
    """What the service adds to a payload when it stores it."""

    id: str
    case_id: str
    kind: str
    on: date
    recorded_at: datetime
    recorded_by: Name

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> _Envelope:
        """A stored event holds only fields its kind carries (erasure may have removed some)."""
        kind = EventKind(self.kind)
        extra = {name for name in self.model_fields_set - _ENVELOPE_FIELDS if getattr(self, name) is not None}
        extra -= set(carries(kind))
        if extra:
            raise InvalidInput("input.unknown_field", field=min(extra))
        return self


_STORED_ORDER = ("volunteer_id", "community_id", "override", "override_reason", "planned_for", "attended",
                 "as_described", "host_welcomed", "week", "still_participating", "close_reason", "measure_id", "text")
"""The stored column order (that of the data already on disk; a new payload field goes last)."""


def _stored_fields() -> dict[str, Any]:
    """Every payload field, optional: the union of what the kinds carry, in the stored order."""
    fields: dict[str, Any] = {}
    for model in PAYLOADS.values():
        for name, info in model.model_fields.items():
            if name not in ("kind", "on", *fields):
                annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
                fields[name] = (annotation | None, None)
    order = [*_STORED_ORDER, *(name for name in fields if name not in _STORED_ORDER)]
    return {name: fields[name] for name in order}


_ENVELOPE_FIELDS = frozenset(_Envelope.model_fields)
Event: type[BaseModel] = create_model("Event", __base__=_Envelope, __doc__=(
    "One entry on a case's append-only timeline, as stored: the envelope and its kind's payload fields."),
    **_stored_fields())
"""The stored event record (the events table's model and storage schema), derived from the payloads."""


def markdown_table() -> str:
    """The README's table of what each event kind carries (required fields in bold)."""
    rows = ["| event kind | carries (required in bold) |", "| --- | --- |"]
    for kind in EventKind:
        need = set(required(kind))
        shown = [f"**`{name}`**" if name in need else f"`{name}`" for name in carries(kind) if name not in SET_BY_SERVICE]
        rows.append(f"| `{kind.value}`{' (service only)' if kind in INTERNAL else ''} | {', '.join(shown)} |")
    return "\n".join(rows)
