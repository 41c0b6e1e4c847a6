"""The service API: the only way to change data.

Every method validates its input, checks the workflow and consent rules against
fresh state under the store's write lock, and commits the change together with
its audit record. Dashboards, notebooks and the command line all call this.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.domain import events, instruments
from workbench.domain import model as m
from workbench.domain.text import normalise
from workbench.domain.workflow import CaseState, EventKind, Status, apply, check, replay
from workbench.errors import (
    ConsentMissing,
    InvalidInput,
    NotAllowed,
    NotFound,
    StaleEdit,
    StoreError,
    WorkflowRefused,
)
from workbench.service import admin, privacy
from workbench.service.access import RULES, TABLE_OF, Rule
from workbench.service.users import Role, User
from workbench.store import Store, Transaction
from workbench.store.schema import TABLES

log = logging.getLogger("workbench.service")

if TYPE_CHECKING:
    from workbench.reporting.analysis import Filters
    from workbench.reporting.frames import Frames

_ASSIGNABLE = {m.VolunteerStatus.active, m.VolunteerStatus.trained}
_TEMPLATE_FIELDS = ("name", "description", "target_group", "steps", "success_criteria")
"""What a template fork may change (and otherwise takes from its parent)."""
_OVERRIDABLE = {m.VolunteerStatus.interested, m.VolunteerStatus.screened, m.VolunteerStatus.paused}


def consent_now(citizen: Mapping[str, Any], purpose: m.Purpose) -> bool:
    """Whether the newest consent record for ``purpose`` is a given consent."""
    current = False
    for record in citizen.get("consents", []):
        if record["purpose"] == purpose:
            current = bool(record["given"])
    return current


class Workbench:
    """A handle on one data directory, acting as one known user.

    Every public method checks the user's roles and sites against ``workbench.service.access.RULES``
    before it reads or writes, and the audit trail names the user's id. The store is private:
    screens and notebooks read through the methods and the (scoped) frames below.
    """

    def __init__(self, store: Store, user: User, today: Callable[[], date] = date.today) -> None:
        if not isinstance(user, User):
            raise TypeError("Workbench needs a users.User: there is no handle without a known user")
        self._store = store
        self.user = user
        self.actor = user.id  # the audit trail's "who": a user id, never a CPR number
        self.data_dir = store.root  # every page and command names the folder it works on
        self._today = today
        self._states: dict[str, tuple[int, str, CaseState]] | None = None  # replayed case states, in a bulk load

    def _allow(self, method: str, target: str | None = None, *, site: str | None = None) -> None:
        """Refuse (``NotAllowed``, audited, nothing else changed) a call the user's role or sites do not allow.

        ``target``: the id of the site, case, citizen, brobygger or community the call touches, as
        the method's rule names it; ``site``: a site the call moves a record to.
        """
        user = self.user
        rule = RULES[method]
        site_of: str | None = None
        if site is not None:
            target, rule = site.upper(), Rule(rule.roles, "site")
        if rule.target and target:
            self._store.refresh()
            if rule.target == "site":
                site_of = str(target).upper()
                if self._store.get("sites", site_of) is None:
                    site_of = None  # no such site: the method's own NotFound says so
            else:
                doc = self._store.get(TABLE_OF[rule.target], target)
                site_of = None if doc is None or doc.get("site_id") is None else str(doc["site_id"])
        for role in rule.roles.intersection(user.roles):
            if role is not Role.coordinator or site_of is None or site_of in user.sites:
                return  # (a missing record is the method's own NotFound)

        def build(_store: Any, tx: Transaction) -> None:
            tx.log("refused", TABLE_OF.get(rule.target, "sites") if rule.target else "service", str(target or "-"),
                   [method])

        self._commit(build)
        raise NotAllowed("access.refused", method=method, role=user.role.value,
                         where=f" ({site_of})" if site_of and user.has(Role.coordinator) else "")

    def today(self) -> date:
        """The workbench's today (a fixed clock in tests, the real date otherwise)."""
        self._allow("today")
        return self._today()

    @property
    def frames(self) -> Frames:
        """The typed polars tables every screen and notebook reads, scoped to the user.

        A coordinator's frames hold only their own sites' rows (and the whole community catalog);
        the project lead's hold every site but no column that names or describes a person.
        """
        self._allow("frames")
        return self._scoped_frames

    @cached_property
    def _scoped_frames(self) -> Frames:
        from workbench.reporting.frames import Frames

        if self.user.has(Role.coordinator):
            return Frames(self._store, today=self._today, sites=frozenset(self.user.sites))
        return Frames(self._store, today=self._today, personal=False)

    @cached_property
    def _frames(self) -> Frames:
        """Every row and column, for the service's own use (the integrity check)."""
        from workbench.reporting.frames import Frames

        return Frames(self._store, today=self._today)

    # -- scoped reads for screens ----------------------------------------------------------

    def refresh(self) -> None:
        """Catch up with what other users and processes have written."""
        self._allow("refresh")
        self._store.refresh()

    def sites(self) -> list[dict[str, Any]]:
        """Every site (code, name, municipality): nothing personal."""
        self._allow("sites")
        self._store.refresh()
        return self._store.frame("sites").sort("id").to_dicts()

    def interventions(self) -> pl.DataFrame:
        """The lab-track interventions (templates) cases can be labelled with: nothing personal."""
        self._allow("interventions")
        self._store.refresh()
        return self._store.frame("interventions")

    def lead_table(self, view: str, filters: Filters | None = None, *, mode: str = "standard",
                   year: int | None = None, metric: str | None = None) -> pl.DataFrame:
        """The suppressed table behind one of the lead's views (``analysis.VIEWS``) for these filters.

        With no filter it is computed once per store state and read by every lead page
        (``shared_tables``), so no lead page walks every event itself; with filters it is
        computed for this page alone (a log line says so).
        """
        self._allow("lead_table")
        from workbench.reporting import analysis
        from workbench.reporting.suppression import policy_from_name
        from workbench.service import shared_tables

        policy, as_of = policy_from_name(mode), self._today()

        def compute() -> pl.DataFrame:
            return analysis.view_table(view, self.frames, self.targets() if view == "progress" else None,
                                       filters, policy, as_of=as_of, year=year, metric=metric)

        if filters is not None and filters != analysis.Filters():
            log.info("lead table %s: computed for this page's filters (the shared tables hold the unfiltered view)",
                     view)
            return compute()
        if self.user.has(Role.coordinator):  # their frames hold their own sites only: never shared with a lead
            return compute()
        params = {"min_count": policy.min_count, "round_to": policy.round_to, "as_of": as_of.isoformat(),
                  "year": year, "metric": metric}
        return shared_tables.table(self._store, view, params, compute)

    def targets(self) -> pl.DataFrame:
        """Sites' yearly targets (a coordinator who is not also the lead sees their own sites' only)."""
        self._allow("targets")
        self._store.refresh()
        frame = self._store.frame("targets")
        if not self.user.has(Role.lead):
            frame = frame.filter(pl.col("site_id").is_in(list(self.user.sites)))
        return frame

    def citizen_names(self) -> dict[str, str]:
        """Citizen id -> display name for the user's own sites (lists and search; not an opening)."""
        self._allow("citizen_names")
        self._store.refresh()
        citizens = self._store.frame("citizens").filter(pl.col("site_id").is_in(list(self.user.sites)))
        return dict(citizens.select("id", "display_name").iter_rows())

    def case(self, case_id: str) -> dict[str, Any]:
        """One case record (number, site, citizen id, dates) of the user's own sites."""
        self._allow("case", case_id)
        self._store.refresh()
        return self._need(self._store, "cases", case_id, "case.not_found")

    def volunteer(self, volunteer_id: str) -> dict[str, Any]:
        """One brobygger's record of the user's own sites."""
        self._allow("volunteer", volunteer_id)
        self._store.refresh()
        return self._need(self._store, "volunteers", volunteer_id, "volunteer.not_found")

    def community(self, community_id: str) -> dict[str, Any]:
        """One community of the catalog (readable across sites)."""
        self._allow("community")
        self._store.refresh()
        return self._need(self._store, "communities", community_id, "community.not_found")

    def user_names(self) -> dict[str, str]:
        """User id -> display name of everyone in ``users.toml`` (who recorded a step, who verified)."""
        from workbench.service import users

        self._allow("user_names")
        return {user.id: user.name for user in users.load(Path(self._store.root)).values()}

    def tinydb(self) -> Any:
        """A read-only TinyDB over the whole store for ad-hoc queries (admin only; its opening is audited)."""
        from workbench.store.journal import JournalStore
        from workbench.store.tinydb_view import view

        self._allow("tinydb")
        if not isinstance(self._store, JournalStore):
            raise StoreError("store.read_only_tinydb")
        self._commit(lambda _store, tx: tx.log("open", "store", "tinydb"))
        return view(self._store)

    def exports_folder(self) -> Path:
        """Where the lead's chart exports are written (aggregated, suppressed figures only)."""
        self._allow("exports_folder")
        return Path(self._store.root) / "exports"

    def batch(self) -> Any:
        """Commit many calls at once under one lock (bulk import, demo data)."""
        self._allow("batch")
        return self._store.batch()

    def bulk(self) -> AbstractContextManager[None]:
        """Many calls, each checked as usual, written at once as a new snapshot generation (demo data,
        a first import): nothing is written unless the block ends without an error and no one else
        wrote meanwhile. A call refused inside the block leaves no trace, as it would alone."""
        self._allow("bulk")
        return self._bulk()

    @contextlib.contextmanager
    def _bulk(self) -> Iterator[None]:
        with self._store.bulk():
            self._states = {}  # no one else's writes are seen during a bulk load: replays build on each other
            try:
                yield
            finally:
                self._states = None

    def _replay(self, store: Any, case_id: str) -> CaseState:
        """The case's state from its timeline; during a bulk load, from the state last replayed plus the
        events recorded since (a case's timeline only grows there)."""
        timeline = store.find("events", "case_id", case_id)
        if self._states is None:
            return replay(timeline)
        known = self._states.get(case_id)
        if known is not None and len(timeline) >= known[0] and timeline[known[0] - 1]["id"] == known[1]:
            state = replay(timeline[known[0]:], known[2].copy())
        else:
            state = replay(timeline)
        if timeline:
            self._states[case_id] = (len(timeline), timeline[-1]["id"], state.copy())
        return state

    # -- helpers ---------------------------------------------------------------------------

    def _commit(self, build: Callable[[Any, Transaction], Any]) -> Any:
        return self._store.transact(self.actor, build)

    def _date(self, value: date | str | None, field: str = "on") -> date:
        if value is None:
            return self._today()
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise InvalidInput("input.date", field=field) from None
        if value > self._today():
            raise InvalidInput("input.date_future", field=field)
        return value

    @staticmethod
    def _need(store: Any, table: str, doc_id: str, key: str) -> dict[str, Any]:
        doc = store.get(table, doc_id)
        if doc is None:
            raise NotFound(key, id=doc_id)
        return dict(doc)

    @staticmethod
    def _check_version(doc: Mapping[str, Any], version: int | None) -> None:
        if version is not None and doc.get("version", 1) != version:
            raise StaleEdit("edit.stale")

    def _new_id(self, store: Any, tx: Transaction, table: str) -> str:
        return f"{TABLES[table].prefix}{store.next_number(tx, table):06d}"

    def _update(self, table: str, model: type[m.Record], doc_id: str, version: int | None,
                changes: Mapping[str, Any], not_found: str, action: str = "update") -> dict[str, Any]:
        """Replace fields of a versioned record; refuses a stale version."""
        if "id" in changes or "version" in changes:
            raise InvalidInput("input.unknown_field", field="id")
        if "site_id" in changes:  # moving a record: the new site must be the user's too
            self._allow(f"update_{model.__name__.lower()}", site=str(changes["site_id"]))

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            current = self._need(store, table, doc_id, not_found)
            self._check_version(current, version)
            merged = {**current, **changes, "version": current.get("version", 1) + 1}
            doc = m.dump(m.parse(model, merged))
            tx.put(table, doc)
            tx.log(action, table, doc_id, [k for k in changes if current.get(k) != doc.get(k)])
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    # -- sites and interventions -------------------------------------------------------------

    def add_site(self, site_id: str, name: str, municipality: str) -> dict[str, Any]:
        """Register a volunteer centre; its three-letter code starts its case numbers."""
        self._allow("add_site")
        doc = m.dump(m.parse(m.Site, {"id": site_id, "name": name, "municipality": municipality}))

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            if store.get("sites", doc["id"]) is not None:
                raise InvalidInput("site.exists", field="id", id=doc["id"])
            tx.put("sites", doc)
            tx.log("create", "sites", doc["id"], list(doc))
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    def add_intervention(self, name: str, description: str = "", started_on: date | None = None) -> dict[str, Any]:
        """Register a lab-track intervention whose label cases can carry."""
        self._allow("add_intervention")

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            data = {"id": self._new_id(store, tx, "interventions"), "name": name,
                    "description": description, "started_on": self._date(started_on, "started_on")}
            doc = m.dump(m.parse(m.Intervention, data))
            tx.put("interventions", doc)
            tx.log("create", "interventions", doc["id"], list(doc))
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    def define_template(self, name: str, *, description: str = "", target_group: str | None = None,
                        steps: Sequence[Mapping[str, Any]] = (), success_criteria: Sequence[Mapping[str, Any]] = (),
                        ) -> dict[str, Any]:
        """Store a new intervention template (version 1) that sites can pilot; its name must be new."""
        self._allow("define_template")
        fields = {"name": name, "description": description, "target_group": target_group,
                  "steps": [dict(s) for s in steps], "success_criteria": [dict(c) for c in success_criteria]}
        return self._add_template(fields, parent=None)

    def fork_template(self, intervention_id: str, **changes: Any) -> dict[str, Any]:
        """A new version of a template (the next number for its name), with ``changes``; the parent stays as it is."""
        self._allow("fork_template")
        unknown = set(changes) - set(_TEMPLATE_FIELDS)
        if unknown:
            raise InvalidInput("input.unknown_field", field=min(unknown))
        return self._add_template(changes, parent=intervention_id)

    def _add_template(self, fields: Mapping[str, Any], parent: str | None) -> dict[str, Any]:
        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            existing = store.frame("interventions")
            data: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
            base: dict[str, Any] = {}
            if parent is not None:
                base = self._need(store, "interventions", parent, "template.not_found")
                data = {**{k: base[k] for k in _TEMPLATE_FIELDS if base.get(k) is not None}, **data,
                        "forked_from": parent}
            same_name = existing.filter(pl.col("name").str.to_lowercase() == str(data.get("name", "")).strip().lower())
            family = base["name"].strip().lower() if parent is not None else None
            if same_name.height and (parent is None or str(data["name"]).strip().lower() != family):
                raise InvalidInput("template.name_taken", field="name", name=data["name"])
            versions = same_name.get_column("template_version").fill_null(1).to_list()
            data.update(id=self._new_id(store, tx, "interventions"), started_on=self._today(),
                        template_version=max(versions, default=0) + 1)
            doc = m.dump(m.parse(m.Intervention, data))
            tx.put("interventions", doc)
            tx.log("create", "interventions", doc["id"], list(doc))
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    def pilot_template(self, intervention_id: str, site_id: str) -> dict[str, Any]:
        """Start piloting a template at a site: its coordinators can put cases on it from now on."""
        self._allow("pilot_template", str(site_id).upper())

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            site = self._site(store, site_id.upper())["id"]
            doc = self._need(store, "interventions", intervention_id, "template.not_found")
            if site not in doc.get("pilot_sites", []):
                doc = m.dump(m.parse(m.Intervention, {**doc, "pilot_sites": [*doc.get("pilot_sites", []), site]}))
                tx.put("interventions", doc)
                tx.log("update", "interventions", intervention_id, ["pilot_sites"])
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    def extract(self, k: int | None = None) -> Any:
        """Write a de-identified research extract (``workbench.service.extract``); returns its ``ExtractReport``."""
        from workbench.service import extract

        self._allow("extract")
        self._store.refresh()
        report = extract.write(self._store, self._frames, self.actor, k=extract.K if k is None else k)
        self._commit(lambda _store, tx: tx.log("extract", "store", report.extract_id,
                                                 ["cases", str(report.cases)]))
        return report

    def newest_extract(self) -> Path:
        """The folder of the newest research extract, for the lab and research notebooks."""
        from workbench.service import extract

        self._allow("newest_extract")
        folder = extract.newest(Path(self._store.root))
        if folder is None:
            raise NotFound("extract.none", path=str(Path(self._store.root) / extract.FOLDER))
        return folder

    def _site(self, store: Any, site_id: str) -> dict[str, Any]:
        return self._need(store, "sites", site_id, "site.not_found")

    # -- volunteers --------------------------------------------------------------------------

    def register_volunteer(self, **fields: Any) -> dict[str, Any]:
        """Register a brobygger at a site (onboarding starts at 'interested' unless given)."""
        self._allow("register_volunteer", str(fields.get("site_id", "")))

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            self._site(store, str(fields.get("site_id", "")).upper())
            data = {"registered_on": self._today(), **fields, "id": self._new_id(store, tx, "volunteers")}
            doc = m.dump(m.parse(m.Volunteer, data))
            tx.put("volunteers", doc)
            tx.log("create", "volunteers", doc["id"], list(doc))
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    def update_volunteer(self, volunteer_id: str, version: int | None = None, **changes: Any) -> dict[str, Any]:
        """Change a brobygger's details or onboarding status; refuses an edit made on stale data."""
        self._allow("update_volunteer", volunteer_id)
        return self._update("volunteers", m.Volunteer, volunteer_id, version, changes, "volunteer.not_found")

    def volunteer_load(self, volunteer_id: str) -> int:
        """How many open cases the brobygger currently holds."""
        self._allow("volunteer_load", volunteer_id)
        self._store.refresh()
        return self._load(self._store, volunteer_id)

    def _load(self, store: Any, volunteer_id: str) -> int:
        case_ids = {e["case_id"] for e in store.find("events", "volunteer_id", volunteer_id)}
        load = 0
        for case_id in case_ids:
            state = self._replay(store, case_id)
            if state.volunteer_id == volunteer_id and state.status is not Status.closed:
                load += 1
        return load

    # -- citizens ----------------------------------------------------------------------------

    def _consents(self, consents: Iterable[Mapping[str, Any]], on: date) -> list[dict[str, Any]]:
        records = []
        for item in consents:
            record = {"recorded_by": self.actor, "on": on, **item}
            records.append(m.dump(m.parse(m.ConsentRecord, record)))
        return records

    def open_referral(
        self,
        *,
        site_id: str,
        citizen: Mapping[str, Any],
        consents: Iterable[Mapping[str, Any]],
        contact: Mapping[str, Any] | None = None,
        on: date | str | None = None,
        intervention_ids: Sequence[str] = (),
        text: str | None = None,
        client_key: str | None = None,
    ) -> dict[str, Any]:
        """Register a citizen from a referral and open their case in one step.

        ``consents`` lists ``{"purpose": ..., "given": bool}``; consent to case work is required.
        Returns the case document (with its number, e.g. ``ODE-2026-0042``). ``client_key``: the
        referring system's own key for this referral; sent again, it returns the case it opened the
        first time and changes nothing (a retried online referral never makes a second case).
        """
        self._allow("open_referral", site_id)
        when = self._date(on)

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            self._site(store, site_id.upper())
            if client_key is not None:
                earlier = self._case_by_key(store, m.parse(m.Case, {
                    "id": "-", "number": "-", "site_id": site_id, "citizen_id": "-", "opened_on": when,
                    "client_key": client_key}).client_key or "")
                if earlier is not None:
                    return {**earlier, "replayed": True}
            citizen_id = self._new_id(store, tx, "citizens")
            data = {"registered_on": when, **citizen, "id": citizen_id, "site_id": site_id,
                    "consents": self._consents(consents, when)}
            doc = m.dump(m.parse(m.Citizen, data))
            if not consent_now(doc, m.Purpose.case_work):
                raise ConsentMissing("consent.case_work_required", field="consents")
            tx.put("citizens", doc)
            tx.log("create", "citizens", citizen_id, list(doc))
            if contact:
                contact_doc = m.dump(m.parse(m.CitizenContact, {**contact, "id": citizen_id}))
                tx.put("contacts", contact_doc)
                tx.log("create", "contacts", citizen_id, list(contact_doc))
            return self._open_case(store, tx, doc, when, intervention_ids, text, client_key)

        result: dict[str, Any] = self._commit(build)
        return result

    @staticmethod
    def _case_by_key(store: Any, client_key: str) -> dict[str, Any] | None:
        found = store.frame("cases").filter(pl.col("client_key") == client_key)
        return store.get("cases", found.item(0, "id")) if found.height else None

    def referral_status(self, client_key: str) -> dict[str, Any]:
        """What the referrer of an online referral may know: whether the citizen arrived in a community.

        Only with the citizen's current consent to tell the referrer (``referrer_feedback``); only for a
        referral to one of the user's sites. ``arrived``: escorted and took part; ``still_taking_part``:
        the newest follow-up said so (None before one).
        """
        self._allow("referral_status")
        self._store.refresh()
        case = self._case_by_key(self._store, client_key)
        if case is None or case["site_id"] not in self.user.sites:
            raise NotFound("referral.not_found", id=client_key)
        citizen = self._store.get("citizens", case["citizen_id"])
        if citizen is None or citizen.get("erased_on") or not consent_now(citizen, m.Purpose.referrer_feedback):
            raise ConsentMissing("consent.referrer_feedback_missing")
        timeline = self._store.find("events", "case_id", case["id"])
        state = replay(timeline)
        follow_ups = [e for e in timeline if e["kind"] == EventKind.follow_up.value]
        return {"client_key": client_key, "case_number": case["number"],
                "status": state.status.value if state.status else None,
                "arrived": any(e["kind"] == EventKind.escort_completed.value and e.get("attended") for e in timeline),
                "still_taking_part": follow_ups[-1].get("still_participating") if follow_ups else None}

    def open_case(self, citizen_id: str, *, on: date | str | None = None,
                  intervention_ids: Sequence[str] = (), text: str | None = None) -> dict[str, Any]:
        """Open a new case for a citizen already registered (e.g. one who returns later)."""
        self._allow("open_case", citizen_id)
        when = self._date(on)

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            citizen = self._citizen(store, citizen_id)
            if not consent_now(citizen, m.Purpose.case_work):
                raise ConsentMissing("consent.case_work_required", field="consents")
            for case in store.find("cases", "citizen_id", citizen_id):
                if self._replay(store, case["id"]).status is not Status.closed:
                    raise WorkflowRefused("case.already_open", number=case["number"])
            return self._open_case(store, tx, citizen, when, intervention_ids, text)

        result: dict[str, Any] = self._commit(build)
        return result

    def _open_case(self, store: Any, tx: Transaction, citizen: Mapping[str, Any], when: date,
                   intervention_ids: Sequence[str], text: str | None, client_key: str | None = None) -> dict[str, Any]:
        for intervention_id in intervention_ids:
            self._need(store, "interventions", intervention_id, "intervention.not_found")
        site_id = citizen["site_id"]
        counter_id = f"cases:{site_id}:{when.year}"
        counter = store.get("counters", counter_id) or {"id": counter_id, "value": 0}
        sequence = counter["value"] + 1
        tx.put("counters", {"id": counter_id, "value": sequence})
        case = m.dump(m.parse(m.Case, {
            "id": self._new_id(store, tx, "cases"), "number": f"{site_id}-{when.year}-{sequence:04d}",
            "site_id": site_id, "citizen_id": citizen["id"], "opened_on": when,
            "intervention_ids": list(intervention_ids), "client_key": client_key,
        }))
        tx.put("cases", case)
        tx.log("create", "cases", case["id"], list(case))
        self._add_event(store, tx, case, CaseState(), EventKind.referral_received,
                        {"on": when, "text": text}, citizen=citizen)
        return case

    def _citizen(self, store: Any, citizen_id: str) -> dict[str, Any]:
        citizen = self._need(store, "citizens", citizen_id, "citizen.not_found")
        if citizen.get("erased_on"):
            raise NotFound("citizen.not_found", id=citizen_id)
        return citizen

    def citizen(self, citizen_id: str) -> dict[str, Any]:
        """Open a citizen's record (logged in the audit trail as an opening)."""
        self._allow("citizen", citizen_id)

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            doc = self._citizen(store, citizen_id)
            contact = store.get("contacts", citizen_id)
            tx.log("open", "citizens", citizen_id)
            return {**doc, "contact": contact}

        result: dict[str, Any] = self._commit(build)
        return result

    def update_citizen(self, citizen_id: str, version: int | None = None, **changes: Any) -> dict[str, Any]:
        """Change a citizen's details; consent is changed with ``record_consent`` instead."""
        self._allow("update_citizen", citizen_id)
        for locked in ("consents", "site_id", "erased_on"):
            if locked in changes:
                raise InvalidInput("input.unknown_field", field=locked)
        return self._update("citizens", m.Citizen, citizen_id, version, changes, "citizen.not_found")

    def update_contact(self, citizen_id: str, **contact: Any) -> dict[str, Any]:
        """Set how to reach a citizen (kept apart from the citizen so it can be erased)."""
        self._allow("update_contact", citizen_id)

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            self._citizen(store, citizen_id)
            old = store.get("contacts", citizen_id) or {}
            doc = m.dump(m.parse(m.CitizenContact, {
                **contact, "id": citizen_id, "version": old.get("version", 0) + 1}))
            tx.put("contacts", doc)
            tx.log("update", "contacts", citizen_id, [k for k in contact])
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    def record_consent(self, citizen_id: str, purpose: str, given: bool, on: date | str | None = None) -> dict[str, Any]:
        """Append a given or withdrawn consent; the newest record per purpose is in force."""
        self._allow("record_consent", citizen_id)
        when = self._date(on)

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            doc = self._citizen(store, citizen_id)
            record = self._consents([{"purpose": purpose, "given": given}], when)
            doc = m.dump(m.parse(m.Citizen, {**doc, "consents": [*doc.get("consents", []), *record],
                                             "version": doc.get("version", 1) + 1}))
            tx.put("citizens", doc)
            tx.log("consent", "citizens", citizen_id, [f"consents.{purpose}"])
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    # -- communities -------------------------------------------------------------------------

    def add_community(self, **fields: Any) -> dict[str, Any]:
        """Add a fællesskab to the catalog."""
        self._allow("add_community", str(fields.get("site_id") or ""))  # no site: a catalog entry shared by all

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            if fields.get("site_id"):
                self._site(store, str(fields["site_id"]).upper())
            doc = m.dump(m.parse(m.Community, {**fields, "id": self._new_id(store, tx, "communities")}))
            tx.put("communities", doc)
            tx.log("create", "communities", doc["id"], list(doc))
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    def update_community(self, community_id: str, version: int | None = None, **changes: Any) -> dict[str, Any]:
        """Edit a community, change its status, or mark it verified."""
        self._allow("update_community", community_id)
        return self._update("communities", m.Community, community_id, version, changes, "community.not_found")

    def verify_community(self, community_id: str, on: date | str | None = None) -> dict[str, Any]:
        """Record that the catalog entry was checked today by the acting user."""
        self._allow("verify_community", community_id)
        return self._update("communities", m.Community, community_id, None,
                            {"last_verified_on": self._date(on), "last_verified_by": self.actor},
                            "community.not_found", action="verify")

    # -- cases -------------------------------------------------------------------------------

    def case_state(self, case_id: str) -> CaseState:
        """The replayed state of a case: status, volunteer, community, next allowed steps."""
        self._allow("case_state", case_id)
        self._store.refresh()
        self._need(self._store, "cases", case_id, "case.not_found")
        return self._replay(self._store, case_id)

    def case_events(self, case_id: str) -> list[dict[str, Any]]:
        """The case's timeline in recorded order."""
        self._allow("case_events", case_id)
        self._store.refresh()
        self._need(self._store, "cases", case_id, "case.not_found")
        return self._store.find("events", "case_id", case_id)

    def assign(self, case_id: str, volunteer_id: str, *, override_reason: str | None = None,
               on: date | str | None = None) -> dict[str, Any]:
        """Give the case to a brobygger; over capacity, paused or untrained needs a recorded override."""
        self._allow("assign", case_id)
        return self.record_event(case_id, EventKind.volunteer_assigned, volunteer_id=volunteer_id,
                                 override_reason=override_reason, on=on)

    def close_case(self, case_id: str, reason: str, *, text: str | None = None,
                   on: date | str | None = None) -> dict[str, Any]:
        """Close the case with a reason (joined a community, declined, no contact, …)."""
        self._allow("close_case", case_id)
        return self.record_event(case_id, EventKind.case_closed, close_reason=reason, text=text, on=on)

    def reopen_case(self, case_id: str, *, text: str | None = None, on: date | str | None = None) -> dict[str, Any]:
        """Reopen a closed case where it stood before it was closed."""
        self._allow("reopen_case", case_id)
        return self.record_event(case_id, EventKind.case_reopened, text=text, on=on)

    def record_event(self, case_id: str, event: events.Payload | EventKind | str, **fields: Any) -> dict[str, Any]:
        """Record one step on a case's timeline, if the workflow and consent allow it now.

        ``event`` is a payload of ``workbench.domain.events`` (``events.Note(on=…, text=…)``), or its kind
        with the payload's fields as keywords; either way the kind's payload model decides which
        fields are required and allowed. Returns the stored event.
        """
        self._allow("record_event", case_id)
        if isinstance(event, events.Payload):
            if fields:
                raise InvalidInput("input.unknown_field", field=next(iter(fields)))
            fields = event.model_dump(exclude={"kind"})
            event = event.kind
        try:
            event_kind = EventKind(event)
        except ValueError:
            raise InvalidInput("event.kind", field="kind", kind=str(event)) from None
        if event_kind in events.INTERNAL:
            raise InvalidInput("event.kind_internal", field="kind", kind=event_kind.value)
        fields = {k: normalise(v) if isinstance(v, str) else v for k, v in fields.items() if v is not None}
        fields = {k: v for k, v in fields.items() if v != ""}  # blank or whitespace only: not given
        fields["on"] = self._date(fields.get("on"))

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            case = self._need(store, "cases", case_id, "case.not_found")
            state = self._replay(store, case_id)
            return self._add_event(store, tx, case, state, event_kind, fields)

        result: dict[str, Any] = self._commit(build)
        return result

    def _add_event(self, store: Any, tx: Transaction, case: Mapping[str, Any], state: CaseState,
                   kind: EventKind, fields: dict[str, Any],
                   citizen: Mapping[str, Any] | None = None) -> dict[str, Any]:
        citizen = citizen or self._citizen(store, case["citizen_id"])
        if not consent_now(citizen, m.Purpose.case_work) and kind is not EventKind.case_closed:
            raise ConsentMissing("consent.case_work_withdrawn")
        if kind is EventKind.follow_up and not consent_now(citizen, m.Purpose.follow_up_contact):
            raise ConsentMissing("consent.follow_up_missing")
        check(state, kind, fields)
        if fields["on"] < date.fromisoformat(str(case["opened_on"])):
            raise InvalidInput("event.before_referral", field="on")
        self._event_rules(store, case, state, kind, fields)
        event = m.dump(m.parse(events.Event, {
            **fields, "id": self._new_id(store, tx, "events"), "case_id": case["id"], "kind": kind.value,
            "recorded_at": datetime.now(UTC), "recorded_by": self.actor,
        }))
        tx.put("events", event)
        tx.log("event", "cases", case["id"], [k for k in event if k not in ("id", "case_id")])
        if kind is EventKind.escort_completed and event.get("as_described") and event.get("community_id"):
            self._verified_by_escort(store, tx, event)
        apply(state, kind, event)
        return event

    def _event_rules(self, store: Any, case: Mapping[str, Any], state: CaseState, kind: EventKind,
                     fields: dict[str, Any]) -> None:
        """The kind's payload (required fields, types), then the rules that depend on other records."""
        if kind in (EventKind.escort_planned, EventKind.escort_completed):
            fields.setdefault("community_id", state.community_id)
            fields.setdefault("volunteer_id", state.volunteer_id)
        if isinstance(fields.get("planned_for"), str):
            try:
                fields["planned_for"] = date.fromisoformat(fields["planned_for"])
            except ValueError:
                raise InvalidInput("input.date", field="planned_for") from None
        typed = events.payload(kind, fields)
        fields.clear()
        fields.update(typed.model_dump(exclude={"kind"}, exclude_none=True))
        if kind is EventKind.volunteer_assigned:
            self._assignable(store, case, fields)
        if kind is EventKind.conversation_held:
            community = self._need(store, "communities", fields["community_id"], "community.not_found")
            if community.get("status") != m.CommunityStatus.active:
                raise WorkflowRefused("community.not_active", field="community_id", name=community["name"])
        if kind is EventKind.escort_planned and fields["planned_for"] < fields["on"]:
            raise InvalidInput("event.planned_in_past", field="planned_for")

    def _assignable(self, store: Any, case: Mapping[str, Any], fields: dict[str, Any]) -> None:
        volunteer = self._need(store, "volunteers", fields["volunteer_id"], "volunteer.not_found")
        if volunteer["site_id"] != case["site_id"]:
            raise WorkflowRefused("assign.other_site", field="volunteer_id", name=volunteer["name"])
        status = m.VolunteerStatus(volunteer["status"])
        problem = None
        if status is m.VolunteerStatus.left:
            raise WorkflowRefused("assign.volunteer_left", field="volunteer_id", name=volunteer["name"])
        if status in _OVERRIDABLE:
            problem = f"assign.status_{status.value}"
        elif self._load(store, volunteer["id"]) >= volunteer.get("capacity", 3):
            problem = "assign.over_capacity"
        if problem and not fields.get("override_reason"):
            raise WorkflowRefused(problem, field="volunteer_id", name=volunteer["name"],
                                  capacity=volunteer.get("capacity", 3))
        fields["override"] = bool(problem)
        if not problem:
            fields.pop("override_reason", None)

    def _verified_by_escort(self, store: Any, tx: Transaction, event: Mapping[str, Any]) -> None:
        community = store.get("communities", event["community_id"])
        if community is None or str(community.get("last_verified_on") or "") >= str(event["on"]):
            return
        doc = {**community, "last_verified_on": event["on"], "last_verified_by": event["recorded_by"],
               "version": community.get("version", 1) + 1}
        tx.put("communities", doc)
        tx.log("verify", "communities", community["id"], ["last_verified_on", "last_verified_by"])

    def set_interventions(self, case_id: str, intervention_ids: Sequence[str], version: int | None = None) -> dict[str, Any]:
        """Label a case with the lab-track interventions it takes part in (a piloted template only at its pilot sites)."""
        self._allow("set_interventions", case_id)

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            case = self._need(store, "cases", case_id, "case.not_found")
            self._check_version(case, version)
            for intervention_id in intervention_ids:
                template = self._need(store, "interventions", intervention_id, "intervention.not_found")
                piloted = template.get("pilot_sites") or []
                if piloted and case["site_id"] not in piloted and intervention_id not in case.get("intervention_ids", []):
                    raise InvalidInput("template.not_piloted_here", field="intervention_ids", name=template["name"],
                                       site=case["site_id"], sites=", ".join(piloted))
            doc = {**case, "intervention_ids": list(dict.fromkeys(intervention_ids)),
                   "version": case.get("version", 1) + 1}
            tx.put("cases", m.dump(m.parse(m.Case, doc)))
            tx.log("update", "cases", case_id, ["intervention_ids"])
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    # -- targets -----------------------------------------------------------------------------

    def set_target(self, site_id: str, year: int, metric: str, value: int) -> dict[str, Any]:
        """Set a site's target for one year and metric (replacing an earlier one); audited."""
        self._allow("set_target", site_id)

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            self._site(store, str(site_id).upper())
            target_id = m.target_id(site_id, year, metric)
            old = store.get("targets", target_id) or {}
            doc = m.dump(m.parse(m.Target, {"id": target_id, "site_id": site_id, "year": year,
                                            "metric": metric, "value": value,
                                            "version": int(old.get("version", 0)) + 1}))
            tx.put("targets", doc)
            tx.log("update" if old else "create", "targets", target_id, ["value"])
            return doc

        result: dict[str, Any] = self._commit(build)
        return result

    # -- measures ----------------------------------------------------------------------------

    def record_measure(self, case_id: str, *, instrument: str, answers: Sequence[int], timepoint: str,
                       mode: str, administered_by: str | None = None,
                       on: date | str | None = None) -> dict[str, Any]:
        """Score a questionnaire (UCLA-3 or SWEMWBS) and record it on the case's timeline."""
        self._allow("record_measure", case_id)
        when = self._date(on)
        scored = instruments.score(instrument, list(answers))

        def build(store: Any, tx: Transaction) -> dict[str, Any]:
            case = self._need(store, "cases", case_id, "case.not_found")
            state = self._replay(store, case_id)
            measure = m.dump(m.parse(m.Measure, {
                "id": self._new_id(store, tx, "measures"), "case_id": case_id, "instrument": instrument,
                "answers": list(answers), "raw_score": scored.raw, "metric_score": scored.metric,
                "timepoint": timepoint, "on": when, "administered_by": administered_by or self.actor,
                "mode": mode,
            }))
            self._add_event(store, tx, case, state, EventKind.measure_recorded,
                            {"on": when, "measure_id": measure["id"]})
            tx.put("measures", measure)
            tx.log("create", "measures", measure["id"], list(measure))
            return measure

        result: dict[str, Any] = self._commit(build)
        return result

    # -- privacy and administration (implemented in workbench.service.privacy / workbench.service.admin) -----

    def erase_citizen(self, citizen_id: str) -> None:
        """GDPR erasure: remove the citizen's personal data from every file (research extracts included: they
        are removed, and the next one is made without the citizen); keep anonymous counts."""
        from workbench.service import extract

        self._allow("erase_citizen")
        privacy.erase_citizen(self._store, self.actor, self._today(), citizen_id)
        extract.forget(Path(self._store.root))  # research extracts made before held the citizen (pseudonymised)

    def export_citizen(self, citizen_id: str) -> dict[str, Any]:
        """Access request: everything held about one citizen, as JSON-ready data."""
        self._allow("export_citizen")
        return privacy.export_citizen(self._store, self.actor, self._today(), citizen_id)

    def export_citizen_csv(self, citizen_id: str) -> str:
        """Access request as CSV (one row per field; spreadsheet formulas neutralised)."""
        self._allow("export_citizen_csv")
        return privacy.export_citizen_csv(self._store, self.actor, self._today(), citizen_id)

    def export_citizen_file(self, citizen_id: str, target: str | Path, fmt: str = "json") -> Path:
        """Access request written to a file outside the data folder (json or csv; owner-only; never overwrites)."""
        self._allow("export_citizen_file")
        return privacy.write_export(self._store, self.actor, self._today(), citizen_id, Path(target), fmt)

    def backup(self, target: str | Path) -> Path:
        """Write a consistent copy of the store to one file."""
        self._allow("backup")
        return admin.backup(self._store, self.actor, Path(target))

    def restore(self, source: str | Path) -> int:
        """Replace the store with a backup, re-applying later erasures; returns how many."""
        self._allow("restore")
        return admin.restore(self._store, self.actor, Path(source))

    def check(self) -> admin.CheckReport:
        """Verify integrity; returns a ``CheckReport`` (counts and problems in plain words)."""
        self._allow("check")
        return admin.check(self._store, self._frames)
