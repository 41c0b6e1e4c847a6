"""The case workflow: event kinds, statuses, and which step each status allows.

A case's status is never stored; it is replayed from the case's events in the
order they were recorded. ``replay`` is the reference used to check a new event;
``workbench.reporting.frames`` derives the same status for every case at once in polars,
and a property test keeps the two in agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from workbench.errors import WorkflowRefused


class EventKind(StrEnum):
    """What can happen in a case, following Kendskab → Følgeskab → Værtsskab → Fællesskab."""

    referral_received = "referral_received"
    contact_made = "contact_made"
    volunteer_assigned = "volunteer_assigned"
    conversation_held = "conversation_held"
    escort_planned = "escort_planned"
    escort_completed = "escort_completed"
    escort_cancelled = "escort_cancelled"
    follow_up = "follow_up"
    measure_recorded = "measure_recorded"
    note = "note"
    case_paused = "case_paused"
    case_resumed = "case_resumed"
    case_closed = "case_closed"
    case_reopened = "case_reopened"


class Status(StrEnum):
    """Where a case stands, in workflow order."""

    referred = "referred"  # waiting for a brobygger
    assigned = "assigned"  # a brobygger has the case, no match yet
    matched = "matched"  # conversation held, a community chosen
    escort_planned = "escort_planned"
    in_follow_up = "in_follow_up"  # escorted and attended; follow-ups at 4 and 12 weeks
    paused = "paused"
    closed = "closed"


FOLLOW_UP_WEEKS = (4, 12)
_FLOWING = {Status.referred, Status.assigned, Status.matched, Status.escort_planned, Status.in_follow_up}
_OPEN = _FLOWING | {Status.paused}

ALLOWED: Mapping[EventKind, frozenset[Status | None]] = {
    EventKind.referral_received: frozenset({None}),
    EventKind.contact_made: frozenset({Status.referred, Status.assigned}),
    EventKind.volunteer_assigned: frozenset(_FLOWING),
    EventKind.conversation_held: frozenset({Status.assigned, Status.matched, Status.in_follow_up}),
    EventKind.escort_planned: frozenset({Status.matched, Status.escort_planned}),
    EventKind.escort_completed: frozenset({Status.escort_planned}),
    EventKind.escort_cancelled: frozenset({Status.escort_planned}),
    EventKind.follow_up: frozenset({Status.in_follow_up}),
    EventKind.measure_recorded: frozenset(_OPEN),
    EventKind.note: frozenset(_OPEN),
    EventKind.case_paused: frozenset(_FLOWING),
    EventKind.case_resumed: frozenset({Status.paused}),
    EventKind.case_closed: frozenset(_OPEN),
    EventKind.case_reopened: frozenset({Status.closed}),
}


@dataclass
class CaseState:
    """The replayed state of one case."""

    flow: Status | None = None  # status ignoring pause and close
    paused: bool = False
    closed: bool = False
    volunteer_id: str | None = None
    community_id: str | None = None
    follow_ups: set[int] = field(default_factory=set)

    @property
    def status(self) -> Status | None:
        if self.closed:
            return Status.closed
        if self.paused:
            return Status.paused
        return self.flow

    def copy(self) -> CaseState:
        """An independent copy (``apply`` changes a state in place)."""
        return CaseState(self.flow, self.paused, self.closed, self.volunteer_id, self.community_id,
                         set(self.follow_ups))

    def allows(self, kind: EventKind) -> bool:
        """Whether an event of ``kind`` may be recorded now."""
        return self.status in ALLOWED[kind]

    def next_steps(self) -> list[EventKind]:
        """Every event kind the current status allows, in workflow order."""
        return [kind for kind in EventKind if self.allows(kind)]


def check(state: CaseState, kind: EventKind, event: Mapping[str, Any]) -> None:
    """Refuse, with the reason, an event the case's current state does not allow."""
    if not state.allows(kind):
        status = state.status.value if state.status else "none"
        raise WorkflowRefused("workflow.not_allowed", kind=kind.value, status=status)
    if kind is EventKind.follow_up:
        week = event.get("week")
        if week not in FOLLOW_UP_WEEKS:
            raise WorkflowRefused("workflow.follow_up_week", field="week")
        if week in state.follow_ups:
            raise WorkflowRefused("workflow.follow_up_done", field="week", week=week)


def apply(state: CaseState, kind: EventKind, event: Mapping[str, Any]) -> CaseState:
    """The state after ``event`` (which ``check`` has accepted)."""
    if kind is EventKind.referral_received:
        state.flow = Status.referred
    elif kind is EventKind.volunteer_assigned:
        state.volunteer_id = event.get("volunteer_id")
        if state.flow is Status.referred:
            state.flow = Status.assigned
    elif kind is EventKind.conversation_held:
        state.flow = Status.matched
        state.community_id = event.get("community_id")
    elif kind is EventKind.escort_planned:
        state.flow = Status.escort_planned
    elif kind is EventKind.escort_completed:
        state.flow = Status.in_follow_up if event.get("attended") else Status.matched
        state.follow_ups = set()
    elif kind is EventKind.escort_cancelled:
        state.flow = Status.matched
    elif kind is EventKind.follow_up:
        state.follow_ups.add(int(event["week"]))
    elif kind is EventKind.case_paused:
        state.paused = True
    elif kind is EventKind.case_resumed:
        state.paused = False
    elif kind is EventKind.case_closed:
        state.closed = True
    elif kind is EventKind.case_reopened:
        state.closed = False
    return state


def replay(events: Iterable[Mapping[str, Any]], state: CaseState | None = None) -> CaseState:
    """Replay a case's events in recorded order (after ``state``, if given); raises if the timeline is
    inconsistent."""
    state = CaseState() if state is None else state
    for event in events:
        kind = EventKind(event["kind"])
        check(state, kind, event)
        apply(state, kind, event)
    return state
