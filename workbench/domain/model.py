"""The domain model: what a site, brobygger, citizen, community, case and measure hold (events: ``workbench.domain.events``).

Records are pydantic models; every string passes the CPR and text rules, and each
field has its own specific check (see ``workbench.domain.validation``). ``parse`` turns
pydantic's own type errors into our ``InvalidInput`` so callers meet one error type.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from workbench.domain import validation as v
from workbench.domain.text import contains_cpr
from workbench.errors import InvalidInput


def _rule(check: Callable[[Any], Any]) -> AfterValidator:
    """A field validator that names the field in the ``InvalidInput`` it raises."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        try:
            return check(value)
        except InvalidInput as exc:
            exc.field = exc.field or info.field_name
            raise

    return AfterValidator(validate)


Name = Annotated[str, _rule(v.name)]
Text = Annotated[str, _rule(v.free_text)]
PostalCode = Annotated[str, _rule(v.postal_code)]
Phone = Annotated[str, _rule(v.phone)]
Email = Annotated[str, _rule(v.email)]
SiteCode = Annotated[str, _rule(v.site_code)]
Clock = Annotated[str, _rule(v.clock)]
Label = Annotated[str, _rule(v.name)]
ClientKey = Annotated[str, _rule(v.client_key)]


class VolunteerStatus(StrEnum):
    """Onboarding of a brobygger, in order; only ``active`` volunteers take cases freely."""

    interested = "interested"
    screened = "screened"
    trained = "trained"
    active = "active"
    paused = "paused"
    left = "left"


class Recruitment(StrEnum):
    """How a brobygger found us."""

    volunteer_centre = "volunteer_centre"
    word_of_mouth = "word_of_mouth"
    social_media = "social_media"
    event = "event"
    partner = "partner"
    former_participant = "former_participant"
    other = "other"


class ReferralSource(StrEnum):
    """Who referred the citizen (henvisning)."""

    self = "self"
    municipality = "municipality"
    jobcentre = "jobcentre"
    doctor = "doctor"
    psychiatry = "psychiatry"
    relative = "relative"
    organisation = "organisation"
    other = "other"


class Purpose(StrEnum):
    """What a citizen consents to, one record per purpose."""

    case_work = "case_work"
    follow_up_contact = "follow_up_contact"
    research = "research"
    referrer_feedback = "referrer_feedback"  # the referrer may learn whether the citizen arrived


class TargetGroup(StrEnum):
    """Needs a community welcomes and a citizen may (with consent) state."""

    loneliness = "loneliness"
    depression = "depression"
    anxiety = "anxiety"
    adhd = "adhd"
    autism = "autism"
    cognitive = "cognitive"
    grief = "grief"
    other = "other"


class CommunityKind(StrEnum):
    """Kinds of fællesskab."""

    meeting_place = "meeting_place"
    mentoring = "mentoring"
    dining = "dining"
    conversation_group = "conversation_group"
    sport = "sport"
    creative = "creative"
    intergenerational = "intergenerational"
    self_help = "self_help"
    nature = "nature"
    other = "other"


class CommunityStatus(StrEnum):
    """Open Referral-style status of a community in the catalog."""

    active = "active"
    temporarily_closed = "temporarily_closed"
    inactive = "inactive"


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


class DayPart(StrEnum):
    morning = "morning"
    afternoon = "afternoon"
    evening = "evening"


class Record(BaseModel):
    """Base of every stored record: strict fields, strings checked for CPR numbers."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True, validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_cpr_everywhere(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, str):  # most fields: checked without building a list
                    if contains_cpr(value):
                        raise InvalidInput("input.cpr_refused", field=key)
                    continue
                for text in _strings(value):
                    if contains_cpr(text):
                        raise InvalidInput("input.cpr_refused", field=key)
        return data


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []


class Site(Record):
    """A volunteer centre (frivilligcenter) running the method."""

    id: SiteCode
    name: Name
    municipality: Name


class Availability(Record):
    """One weekly slot a brobygger can give."""

    weekday: Weekday
    part: DayPart


class Volunteer(Record):
    """A brobygger: a trained volunteer who meets, matches and escorts citizens."""

    id: str
    site_id: SiteCode
    name: Name
    phone: Phone | None = None
    email: Email | None = None
    postal_code: PostalCode | None = None
    languages: list[Label] = Field(default_factory=lambda: ["da"])
    interests: list[Label] = Field(default_factory=list)
    availability: list[Availability] = Field(default_factory=list)
    capacity: int = Field(default=3, ge=1, le=30)
    status: VolunteerStatus = VolunteerStatus.interested
    record_check_on: date | None = None
    trained_on: date | None = None
    recruited_via: Recruitment = Recruitment.volunteer_centre
    registered_on: date
    version: int = 1


class ConsentRecord(Record):
    """One given or withdrawn consent; the current consent is the newest record per purpose."""

    purpose: Purpose
    given: bool
    on: date
    recorded_by: Name


class Citizen(Record):
    """A borger. Contact details live apart (``CitizenContact``) so they can be erased."""

    id: str
    site_id: SiteCode
    display_name: Name
    birth_year: int | None = None
    postal_code: PostalCode | None = None
    languages: list[Label] = Field(default_factory=lambda: ["da"])
    interests: list[Label] = Field(default_factory=list)
    needs: list[TargetGroup] = Field(default_factory=list)
    referral_source: ReferralSource = ReferralSource.other
    consents: list[ConsentRecord] = Field(default_factory=list)
    registered_on: date
    erased_on: date | None = None
    version: int = 1

    @model_validator(mode="after")
    def _plausible_birth_year(self) -> Citizen:
        if self.birth_year is not None:
            try:
                v.birth_year(self.birth_year, self.registered_on)
            except InvalidInput as exc:
                exc.field = "birth_year"
                raise
        return self


class CitizenContact(Record):
    """How to reach a citizen; erased with the citizen."""

    id: str  # the citizen's id
    phone: Phone | None = None
    email: Email | None = None
    address: Text | None = None
    version: int = 1


class ScheduleSlot(Record):
    """A weekly meeting time of a community."""

    weekday: Weekday
    start: Clock
    end: Clock


class Community(Record):
    """A fællesskab in the catalog, shaped after Open Referral HSDS (service, location, schedule)."""

    id: str
    site_id: SiteCode | None = None
    name: Name
    organiser: Name
    kind: CommunityKind = CommunityKind.other
    description: Text = ""
    postal_code: PostalCode
    latitude: float | None = Field(default=None, ge=54.4, le=57.9)
    longitude: float | None = Field(default=None, ge=7.9, le=15.3)
    schedule: list[ScheduleSlot] = Field(default_factory=list)
    age_min: int | None = Field(default=None, ge=0, le=120)
    age_max: int | None = Field(default=None, ge=0, le=120)
    target_groups: list[TargetGroup] = Field(default_factory=list)
    accessibility: Text = ""
    cost: Text = ""
    contact: Text = ""
    source: Text = ""
    status: CommunityStatus = CommunityStatus.active
    last_verified_on: date | None = None
    last_verified_by: Name | None = None
    version: int = 1

    @model_validator(mode="after")
    def _age_range(self) -> Community:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise InvalidInput("input.age_range", field="age_max")
        return self


class Case(Record):
    """A forløb: one citizen's journey with one site. Its status is derived from its events."""

    id: str
    number: str
    site_id: SiteCode
    citizen_id: str
    opened_on: date
    intervention_ids: list[str] = Field(default_factory=list)
    client_key: ClientKey | None = None  # the referring system's own key for an online referral (idempotency)
    version: int = 1


class PilotStep(StrEnum):
    """The funnel steps an intervention's success criteria can name (shares of its cases)."""

    conversation = "conversation"
    escorted = "escorted"
    attended = "attended"
    lasting_4w = "lasting_4w"
    lasting_12w = "lasting_12w"


class TemplateStep(Record):
    """One step of an intervention template, due so many days after the first conversation."""

    name: Label
    day: int = Field(ge=0, le=730)


class SuccessCriterion(Record):
    """An intervention succeeds when at least this share of its cases reaches this step."""

    step: PilotStep
    at_least: float = Field(ge=0.0, le=1.0)


def template_label(name: str, template_version: int | None) -> str:
    """How an intervention is named in lists: its name, and its version from the second on ("Værtsvenner v2")."""
    return name if (template_version or 1) == 1 else f"{name} v{template_version}"


class Intervention(Record):
    """A lab-track intervention (indsats) and its versioned template; cases carry its label.

    A template is forked into a new record with the same name and the next ``template_version``
    (``forked_from`` names its parent), so cases piloted on an earlier version keep theirs.
    """

    id: str
    name: Name
    description: Text = ""
    started_on: date
    template_version: int = Field(default=1, ge=1, le=1000)
    target_group: TargetGroup | None = None
    steps: list[TemplateStep] = Field(default_factory=list)
    success_criteria: list[SuccessCriterion] = Field(default_factory=list)
    forked_from: str | None = None
    pilot_sites: list[SiteCode] = Field(default_factory=list)


class CloseReason(StrEnum):
    joined_community = "joined_community"
    declined = "declined"
    no_contact = "no_contact"
    moved = "moved"
    referred_elsewhere = "referred_elsewhere"
    other = "other"


class Instrument(StrEnum):
    ucla3 = "ucla3"
    swemwbs = "swemwbs"


class Timepoint(StrEnum):
    baseline = "baseline"
    follow_up = "follow_up"


class AdministrationMode(StrEnum):
    """How a questionnaire was answered; read-aloud is known to raise wellbeing scores."""

    self_completed = "self_completed"
    read_aloud = "read_aloud"


class Measure(Record):
    """A questionnaire answered by a citizen, with its scores and how it was administered."""

    id: str
    case_id: str
    instrument: Instrument
    answers: list[int]
    raw_score: int
    metric_score: float | None = None
    timepoint: Timepoint
    on: date
    administered_by: Name
    mode: AdministrationMode


class TargetMetric(StrEnum):
    """What a site's target counts (per year), for the project lead's progress charts."""

    referrals = "referrals"
    conversations = "conversations"
    escorts = "escorts"
    lasting = "lasting"


class Target(Record):
    """A site's target for one year, set by the project lead."""

    id: str
    site_id: SiteCode
    year: int = Field(ge=2000, le=2100)
    metric: TargetMetric
    value: int = Field(ge=0, le=1_000_000)
    version: int = 1


class Erasure(Record):
    """One entry of the erasure ledger: which citizen was erased when (nothing personal).

    Written in the same transaction as the erasure itself, and re-applied after a restore.
    """

    id: str
    on: date


def target_id(site_id: str, year: int, metric: str) -> str:
    """The one id a site's target for a year and metric is kept under (a new value replaces it)."""
    return f"T-{str(site_id).upper()}-{year}-{metric}"


class Counter(Record):
    """A running number handed out under the write lock (case numbers per site and year)."""

    id: str
    value: int = Field(ge=0)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Build ``model`` from ``data``; a type or range error becomes ``InvalidInput`` on its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        kind = first["type"]
        key = {
            "missing": "input.required",
            "extra_forbidden": "input.unknown_field",
            "enum": "input.choice",
            "literal_error": "input.choice",
            "greater_than_equal": "input.number_range",
            "less_than_equal": "input.number_range",
        }.get(kind, "input.type")
        raise InvalidInput(key, field=field, detail=first.get("msg", "")) from None


def dump(record: BaseModel) -> dict[str, Any]:
    """The JSON-ready document of a record, leaving out empty optional fields."""
    return record.model_dump(mode="json", exclude_none=True)
