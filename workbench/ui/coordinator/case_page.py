"""The case page: find a case, read its timeline, and take exactly the next steps allowed.

Which buttons show comes from the replayed workflow state; when one is pressed the
state is read again on the server before anything is written (a page visitor can
re-enable a hidden button), and the service checks once more under its lock.
Assignment and the conversation offer ranked suggestions with reasons; the
coordinator always picks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import polars as pl

from workbench.domain import events, instruments
from workbench.domain import model as m
from workbench.domain.text import danish_sorted_by, search_text
from workbench.domain.workflow import EventKind
from workbench.errors import InvalidInput, NotFound, WorkflowRefused
from workbench.i18n import t
from workbench.reporting import matching
from workbench.ui.widgets import (
    CheckGroup,
    Feedback,
    Field,
    Form,
    area_field,
    button,
    choice_field,
    date_field,
    enum_options,
    esc,
    fmt_date,
    guard,
    html_table,
    labelled,
    language_name,
    lookup,
    parse_date,
    replace_children,
    row_list,
    section,
    text_field,
)

if TYPE_CHECKING:
    from workbench.ui.coordinator.context import TabContext

SEARCH_PAGE = 10
_HIDDEN_STEPS = {EventKind.referral_received, EventKind.measure_recorded}
_TRANSLATED_REASON_VALUES = {"schedule": "weekday", "target_group": "target_group"}


def reason_text(reasons: list[dict[str, str]] | None) -> str:
    """The 'why' of a suggestion in the user's language."""
    parts = []
    for reason in reasons or []:
        value = reason.get("value") or ""
        prefix = _TRANSLATED_REASON_VALUES.get(reason["key"])
        if prefix:
            value = ", ".join(t(f"{prefix}.{code.strip()}") for code in value.split(",") if code.strip())
        elif reason["key"] in ("language", "no_shared_language"):
            value = ", ".join(language_name(code.strip()) for code in value.split(",") if code.strip())
        parts.append(t(f"match.{reason['key']}", value=value))
    return "; ".join(parts)


def _yes_no(optional: bool = False) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [(t("ui.yes"), True), (t("ui.no"), False)]
    return [(t("ui.case.dont_know"), None), *options] if optional else options


@dataclass
class StepForm:
    """The fields one step asks for, and how to record it."""

    form: Form
    extra: list[widgets.Widget]
    submit: Callable[[], object]  # its result (e.g. the recorded event) is not used


class CaseTab:
    """Find a case and work on it."""

    def __init__(self, app: TabContext) -> None:
        self.app = app
        self.case_id: str | None = None
        self.citizen: dict[str, Any] = {}  # the shown case's citizen, read (and audited) when the case is opened
        self.feedback = Feedback()
        # The value arrives when Enter is pressed (or the box is left): Enter searches, as the button does.
        self.query = labelled(widgets.Text(placeholder=t("ui.case.search_placeholder"), continuous_update=False),
                              t("ui.case.search_label"), shown=False)
        self.query.add_class("wb-case-search")
        self.query.observe(guard(self.feedback)(lambda _change: self._search()), names="value")
        find = button(t("ui.case.find"))
        find.add_class("wb-case-find")
        find.on_click(guard(self.feedback)(lambda _b: self._search()))
        self.results = widgets.VBox()
        self.header = widgets.HTML()
        self.header.add_class("wb-case-header")
        self.timeline = widgets.HTML()
        self.timeline.add_class("wb-case-timeline")
        self.steps = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.steps.add_class("wb-case-steps")
        self.step_feedback = Feedback()
        self.step_area = widgets.VBox()
        self.step_area.add_class("wb-case-step")
        # Until a case is open: a line saying how to open one instead of two empty headings.
        self.hint = widgets.HTML(f'<p class="wb-hint wb-case-hint">{esc(t("ui.case.hint_empty"))}</p>')
        self.case_sections = widgets.VBox([
            section(t("ui.case.next_steps"), self.steps, self.step_feedback, self.step_area),
            section(t("ui.case.timeline"), self.timeline),
        ], layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([
            widgets.HBox([self.query, find]), self.results, self.feedback, self.hint, self.header, self.case_sections,
        ])
        self.widget.add_class("wb-case")

    # -- finding -------------------------------------------------------------------------

    def _search(self) -> None:
        text = search_text(self.query.value)
        cases = self.app.wb.frames.cases.filter(pl.col("site") == self.app.site)
        names = self._citizen_names()
        if text:
            ids = {cid for cid, name in names.items() if text in name.casefold()}
            cases = cases.filter(pl.col("case_number").str.to_lowercase().str.contains(text, literal=True)
                                 | pl.col("citizen_id").is_in(list(ids)))
        cases = cases.sort("referred_on", descending=True)
        rows = [([r["case_number"], names.get(r["citizen_id"], ""), t(f"status.{r['status']}")], r["case_id"])
                for r in cases.iter_rows(named=True)]
        replace_children(self.results, row_list(
            [t("ui.overview.number"), t("ui.overview.citizen"), t("ui.case.status")], rows,
            t("ui.case.no_match"), t("ui.open"), guard(self.feedback)(self.app.open_case), page_size=SEARCH_PAGE))

    def _citizen_names(self) -> dict[str, str]:
        return self.app.wb.citizen_names()

    # -- showing ---------------------------------------------------------------------------

    def show(self, case_id: str) -> None:
        """Show one case of this site (refuses another site's case); an opening of the citizen's record, audited once."""
        case = self.app.own("cases", case_id, "case.not_found")
        try:
            self.citizen = self.app.wb.citizen(case["citizen_id"])
        except NotFound:  # erased: the case's anonymous skeleton is still shown
            self.citizen = {}
        self.case_id = case_id
        self.step_area.children = []
        self.step_feedback.clear()
        self.hint.layout.display = "none"
        self.case_sections.layout.display = "flex"
        self.refresh()

    def refresh(self) -> None:
        """Redraw the shown case from the store as it is now."""
        if self.case_id is None:
            self.header.value = f'<p class="wb-empty">{esc(t("ui.case.none_chosen"))}</p>'
            self.timeline.value = ""
            self.steps.children = []
            return
        wb = self.app.wb
        case = self.app.own("cases", self.case_id, "case.not_found")
        name = wb.citizen_names().get(case["citizen_id"], "")
        state = wb.case_state(self.case_id)
        volunteers = self._volunteer_names()
        communities = self._community_names()
        who = wb.user_names()
        status = t(f"status.{state.status.value}") if state.status else ""
        self.header.value = (
            f'<h3>{esc(case["number"])} · {esc(name)}</h3>'
            f'<p><b>{esc(t("ui.case.status"))}:</b> <span class="wb-case-status">{esc(status)}</span>'
            f' · <b>{esc(t("ui.overview.volunteer"))}:</b> {esc(volunteers.get(state.volunteer_id or "", "–"))}'
            f' · <b>{esc(t("ui.case.community"))}:</b> {esc(communities.get(state.community_id or "", "–"))}'
            f' · <b>{esc(t("ui.case.interventions"))}:</b> <span class="wb-case-interventions">'
            f'{esc(", ".join(self._interventions(case).get(i, i) for i in case.get("intervention_ids", [])) or "–")}'
            '</span></p>'
        )
        rows = [
            [fmt_date(e["on"]), t(f"kind.{e['kind']}"), self._details(e, volunteers, communities),
             who.get(e["recorded_by"], e["recorded_by"])]
            for e in reversed(wb.case_events(self.case_id))
        ]
        self.timeline.value = html_table(
            [t("ui.case.date"), t("ui.case.event"), t("ui.case.details"), t("ui.case.recorded_by")], rows,
            t("ui.case.no_events"))
        buttons = []
        for kind in state.next_steps():
            if kind in _HIDDEN_STEPS:
                continue
            step = button(t(f"step.{kind.value}"), "primary" if kind is not EventKind.note else "")
            step.add_class(f"wb-step-{kind.value}")
            step.on_click(guard(self.step_feedback)(lambda _b, kind=kind: self._open_step(kind)))
            buttons.append(step)
        if state.allows(EventKind.measure_recorded):
            measure = button(t("ui.case.measure"))
            measure.add_class("wb-step-measure")
            measure.on_click(guard(self.step_feedback)(lambda _b: self._open_measure()))
            buttons.append(measure)
        choose = button(t("ui.case.interventions"))
        choose.add_class("wb-step-interventions")
        choose.on_click(guard(self.step_feedback)(lambda _b: self._open_interventions()))
        self.steps.children = [*buttons, choose]

    def _interventions(self, case: dict[str, Any]) -> dict[str, str]:
        """The interventions a case at this site can take part in (id -> label): those piloted here, those
        open to every site, and those it already carries."""
        offered: dict[str, str] = {}
        for row in danish_sorted_by(self.app.wb.interventions().iter_rows(named=True), itemgetter("name")):
            piloted = row.get("pilot_sites") or []
            if not piloted or case["site_id"] in piloted or row["id"] in case.get("intervention_ids", []):
                offered[row["id"]] = m.template_label(row["name"], row.get("template_version"))
        return offered

    def _open_interventions(self) -> None:
        assert self.case_id is not None
        case_id = self.case_id
        case = self.app.own("cases", case_id, "case.not_found")
        offered = self._interventions(case)
        if not offered:
            self.step_area.children = [widgets.HTML(
                f'<p class="wb-empty">{esc(t("ui.case.no_interventions"))}</p>')]
            return
        group = CheckGroup([(label, iid) for iid, label in offered.items()], css_prefix="wb-intervention", columns=1)
        group.value = case.get("intervention_ids", [])
        save = button(t("ui.save"), "success")
        save.add_class("wb-step-save")

        def submit(_b: Any) -> None:
            chosen = [lookup({iid: iid for iid in offered}, iid, "intervention_ids") for iid in group.value]
            self.app.wb.set_interventions(case_id, chosen, version=case.get("version", 1))
            self.step_area.children = []
            self.step_feedback.ok(t("ui.case.interventions_saved"))
            self.app.refresh()

        save.on_click(guard(self.step_feedback)(submit))
        self.step_area.children = [widgets.HTML(f"<h4>{esc(t('ui.case.interventions'))}</h4>"), group, save]

    def _volunteer_names(self) -> dict[str, str]:
        return dict(self.app.wb.frames.volunteers.select("volunteer_id", "name").iter_rows())

    def _community_names(self) -> dict[str, str]:
        return dict(self.app.wb.frames.communities.select("community_id", "name").iter_rows())

    @staticmethod
    def _details(event: dict[str, Any], volunteers: dict[str, str], communities: dict[str, str]) -> str:
        kind = event["kind"]
        parts: list[str] = []
        if kind == EventKind.volunteer_assigned.value:
            parts.append(volunteers.get(event.get("volunteer_id", ""), ""))
            if event.get("override"):
                parts.append(t("ui.case.override", reason=event.get("override_reason", "")))
        if kind in (EventKind.conversation_held.value, EventKind.escort_planned.value) and event.get("community_id"):
            parts.append(communities.get(event["community_id"], ""))
        if event.get("planned_for"):
            parts.append(t("ui.case.planned_for", date=fmt_date(event["planned_for"])))
        if "attended" in event:
            parts.append(t("ui.case.attended") if event["attended"] else t("ui.case.not_attended"))
        if event.get("host_welcomed") is not None:
            parts.append(t("ui.case.host_welcomed", answer=t("ui.yes") if event["host_welcomed"] else t("ui.no")))
        if event.get("week"):
            parts.append(t("ui.case.week_result", week=event["week"],
                           answer=t("ui.case.still") if event.get("still_participating") else t("ui.case.stopped")))
        if event.get("close_reason"):
            parts.append(t(f"close_reason.{event['close_reason']}"))
        if event.get("text"):
            parts.append(event["text"])
        return " · ".join(p for p in parts if p)

    # -- steps -----------------------------------------------------------------------------

    def _fresh_state_allows(self, kind: EventKind) -> None:
        """Re-read the case on the server and refuse a step it does not allow now."""
        if self.case_id is None:
            raise NotFound("case.not_found", id="")
        self.app.own("cases", self.case_id, "case.not_found")
        state = self.app.wb.case_state(self.case_id)
        if not state.allows(kind):
            status = state.status.value if state.status else "none"
            raise WorkflowRefused("workflow.not_allowed", kind=kind.value, status=status)

    def _open_step(self, kind: EventKind) -> None:
        self._fresh_state_allows(kind)
        step = self._step_form(kind)
        save = button(t("ui.save"), "success")
        save.add_class("wb-step-save")
        cancel = button(t("ui.cancel"))
        save.on_click(guard(self.step_feedback, step.form)(lambda _b: self._save(kind, step)))
        cancel.on_click(lambda _b: setattr(self.step_area, "children", []))
        title = widgets.HTML(f"<h4>{esc(t(f'step.{kind.value}'))}</h4>")
        self.step_area.children = [title, *step.extra, step.form.box, widgets.HBox([save, cancel])]

    def _save(self, kind: EventKind, step: StepForm) -> None:
        self._fresh_state_allows(kind)
        step.submit()
        self.step_area.children = []
        self.step_feedback.ok(t("ui.case.recorded", kind=t(f"kind.{kind.value}")))
        self.app.refresh()

    def _step_form(self, kind: EventKind) -> StepForm:
        on = date_field("on", t("ui.case.on"), self.app.wb.today())
        note = area_field("text", t("ui.case.note"))
        assert self.case_id is not None
        case_id = self.case_id
        record = self.app.wb.record_event

        def fields(*items: Field) -> Form:
            return Form(list(items))

        def when(form: Form) -> date | None:
            return parse_date(form.value("on"), "on")

        def text(form: Form) -> str | None:
            return form.value("text") or None

        if kind is EventKind.volunteer_assigned:
            return self._assign_form(on)
        if kind is EventKind.conversation_held:
            return self._conversation_form(on, note)
        if kind is EventKind.escort_planned:
            form = fields(date_field("planned_for", t("ui.case.planned_for_field")), on)
            return StepForm(form, [], lambda: record(
                case_id, kind, planned_for=parse_date(form.value("planned_for"), "planned_for") or _required(
                    "planned_for"), on=when(form)))
        if kind is EventKind.escort_completed:
            form = fields(
                choice_field("attended", t("ui.case.attended_q"), _yes_no()),
                choice_field("as_described", t("ui.case.as_described_q"), _yes_no(optional=True)),
                choice_field("host_welcomed", t("ui.case.host_welcomed_q"), _yes_no(optional=True)),
                on, area_field("text", t("ui.case.how_it_went")))
            answers = {name: {v: v for _, v in _yes_no(optional=True)} for name in
                       ("attended", "as_described", "host_welcomed")}
            return StepForm(form, [], lambda: record(
                case_id, kind, on=when(form), text=text(form),
                **{name: lookup(answers[name], form.value(name), name) for name in answers}))
        if kind is EventKind.follow_up:
            form = fields(choice_field("week", t("ui.case.week_field"), [(t("ui.overview.week", week=4), 4),
                                                                          (t("ui.overview.week", week=12), 12)]),
                          choice_field("still_participating", t("ui.case.still_q"), _yes_no()), on, note)
            return StepForm(form, [], lambda: record(
                case_id, kind, week=lookup({4: 4, 12: 12}, form.value("week"), "week"),
                still_participating=lookup({True: True, False: False}, form.value("still_participating"),
                                           "still_participating"),
                on=when(form), text=text(form)))
        if kind is EventKind.case_closed:
            reasons = enum_options("close_reason", m.CloseReason)
            form = fields(choice_field("close_reason", t("ui.case.close_reason"), reasons), on, note)
            return StepForm(form, [], lambda: record(
                case_id, kind, close_reason=lookup({v: v for _, v in reasons}, form.value("close_reason"),
                                                   "close_reason"), on=when(form), text=text(form)))
        if set(events.carries(kind)) > {"text"}:
            raise ValueError(f"{kind.value} carries fields of its own: it needs its own form above")
        # a day and a note: the payload says whether the note is the point of the step
        form = fields(area_field("text", t("ui.case.note")), on) if "text" in events.required(kind) else fields(on, note)
        return StepForm(form, [], lambda: record(case_id, kind, on=when(form), text=text(form)))

    def _assign_form(self, on: Field) -> StepForm:
        assert self.case_id is not None
        case_id = self.case_id
        wb = self.app.wb
        citizen = self.citizen
        everyone = wb.frames.volunteers.filter(
            (pl.col("site") == self.app.site) & (pl.col("status") != m.VolunteerStatus.left.value))
        options = [(f'{r["name"]} ({r["load"]}/{r["capacity"]}, {t("volunteer_status." + r["status"])})',
                    r["volunteer_id"]) for r in danish_sorted_by(everyone.iter_rows(named=True), itemgetter("name"))]
        offered = {v: v for _, v in options}
        chooser = choice_field("volunteer_id", t("ui.overview.volunteer"), [("–", ""), *options], "")
        reason = text_field("override_reason", t("ui.case.override_reason"), placeholder=t("ui.case.override_hint"))
        form = Form([chooser, reason, on])
        ranked = matching.rank_volunteers(citizen, wb.frames.volunteers, site=self.app.site)
        rows = [([r["name"], f'{r["load"]}/{r["capacity"]}', reason_text(r["reasons"])], r["volunteer_id"])
                for r in ranked.iter_rows(named=True)]
        pick = guard(self.step_feedback)(lambda vid: setattr(chooser.control, "value", lookup(offered, vid, "volunteer_id")))
        suggestions = section(t("ui.case.suggested_volunteers"), row_list(
            [t("ui.overview.volunteer"), t("ui.overview.load"), t("ui.case.why")], rows,
            t("ui.case.no_suggestions"), t("ui.case.choose"), pick))
        suggestions.add_class("wb-suggestions")

        def submit() -> None:
            volunteer_id = lookup(offered, form.value("volunteer_id") or _required("volunteer_id"), "volunteer_id")
            wb.assign(case_id, volunteer_id, override_reason=form.value("override_reason") or None,
                      on=parse_date(form.value("on"), "on"))

        return StepForm(form, [suggestions], submit)

    def _conversation_form(self, on: Field, note: Field) -> StepForm:
        assert self.case_id is not None
        case_id = self.case_id
        wb = self.app.wb
        citizen = self.citizen
        state = wb.case_state(case_id)
        volunteer = None
        if state.volunteer_id:
            rows = wb.frames.volunteers.filter(pl.col("volunteer_id") == state.volunteer_id)
            volunteer = rows.row(0, named=True) if rows.height else None
        catalog = wb.frames.communities.filter(
            (pl.col("status") == m.CommunityStatus.active.value)
            & (pl.col("site").is_null() | (pl.col("site") == self.app.site)))
        options = [(f'{r["name"]} ({r["postal_code"]})', r["community_id"])
                   for r in danish_sorted_by(catalog.iter_rows(named=True), itemgetter("name"))]
        offered = {v: v for _, v in options}
        chooser = choice_field("community_id", t("ui.case.community"), [("–", ""), *options], "")
        form = Form([chooser, on, note])
        ranked = matching.rank_communities(citizen, wb.frames.communities, site=self.app.site,
                                           volunteer=volunteer, today=wb.today())
        suggested = [([r["name"], r["organiser"], reason_text(r["reasons"])], r["community_id"])
                     for r in ranked.iter_rows(named=True)]
        pick = guard(self.step_feedback)(lambda cid: setattr(chooser.control, "value", lookup(offered, cid, "community_id")))
        suggestions = section(t("ui.case.suggested_communities"), row_list(
            [t("ui.case.community"), t("ui.case.organiser"), t("ui.case.why")], suggested,
            t("ui.case.no_suggestions"), t("ui.case.choose"), pick))
        suggestions.add_class("wb-suggestions")

        def submit() -> None:
            community_id = lookup(offered, form.value("community_id") or _required("community_id"), "community_id")
            wb.record_event(case_id, EventKind.conversation_held, community_id=community_id,
                            on=parse_date(form.value("on"), "on"), text=form.value("text") or None)

        return StepForm(form, [suggestions], submit)

    def _open_measure(self) -> None:
        self._fresh_state_allows(EventKind.measure_recorded)
        instruments_offered = enum_options("instrument", m.Instrument)
        timepoints = enum_options("timepoint", m.Timepoint)
        modes = enum_options("mode", m.AdministrationMode)
        form = Form([
            choice_field("instrument", t("ui.case.instrument"), instruments_offered),
            text_field("answers", t("ui.case.answers"), placeholder=t("ui.case.answers_hint")),
            choice_field("timepoint", t("ui.case.timepoint"), timepoints, m.Timepoint.follow_up.value),
            choice_field("mode", t("ui.case.mode"), modes),
            date_field("on", t("ui.case.on"), self.app.wb.today()),
        ])
        copyright_line = widgets.HTML(f"<small>{esc(instruments.SWEMWBS_COPYRIGHT)}</small>")
        save = button(t("ui.save"), "success")
        save.add_class("wb-step-save")
        assert self.case_id is not None
        case_id = self.case_id

        def submit(_b: Any) -> None:
            self._fresh_state_allows(EventKind.measure_recorded)
            answers = instruments.parse_answers(form.value("answers"))
            self.app.wb.record_measure(
                case_id, instrument=lookup({v: v for _, v in instruments_offered}, form.value("instrument"),
                                           "instrument"),
                answers=answers, timepoint=lookup({v: v for _, v in timepoints}, form.value("timepoint"), "timepoint"),
                mode=lookup({v: v for _, v in modes}, form.value("mode"), "mode"),
                on=parse_date(form.value("on"), "on"))
            self.step_area.children = []
            self.step_feedback.ok(t("ui.case.recorded", kind=t("kind.measure_recorded")))
            self.app.refresh()

        save.on_click(guard(self.step_feedback, form)(submit))
        self.step_area.children = [widgets.HTML(f"<h4>{esc(t('ui.case.measure'))}</h4>"), form.box, copyright_line,
                                   save]


def _required(field: str) -> Any:
    raise InvalidInput("input.required", field=field)
