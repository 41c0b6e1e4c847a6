"""The referral tab (henvisning): one form registers a citizen and opens their case.

Consent is asked per purpose with explicit checkboxes; without consent to case work no
case is opened (the service refuses, and the refusal is shown beside that checkbox).
The optional baseline questionnaires (UCLA-3, SWEMWBS) are checked in full before
anything is saved: each is either answered completely or left blank.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.domain import instruments
from workbench.domain import model as m
from workbench.errors import InvalidInput, WorkbenchError
from workbench.i18n import t
from workbench.ui.widgets import (
    CheckGroup,
    Feedback,
    Field,
    Form,
    area_field,
    button,
    check_field,
    choice_field,
    date_field,
    enum_options,
    esc,
    fmt_date,
    guard,
    labelled,
    language_field,
    lookup,
    parse_date,
    parse_int,
    section,
    split_labels,
    text_field,
)

if TYPE_CHECKING:
    from workbench.ui.coordinator.context import TabContext

log = logging.getLogger("workbench.ui")

DEFAULT_LANGUAGES = ("da",)
CITIZEN_FIELDS = ("display_name", "birth_year", "postal_code", "phone", "email", "languages", "interests")
REFERRAL_FIELDS = ("referral_source", "referred_on", "note")
CONSENT_FIELDS = tuple(f"consent_{p.value}" for p in m.Purpose)
# service field names -> the field of this form that shows the error
FIELD_ALIASES = {"consents": "consent_case_work", "on": "referred_on", "text": "note"}


class Questionnaire(widgets.VBox):
    """One questionnaire's items, each a dropdown of its answers with a blank 'not answered' first."""

    def __init__(self, instrument: str, items: int, low: int, high: int, footer: str = "") -> None:
        self.instrument = instrument
        blank = t("ui.intake.not_answered")
        choices = [(blank, "")] + [(f"{n} – {t(f'ui.intake.{instrument}.choice_{n}')}", n)
                                   for n in range(low, high + 1)]
        self.options: dict[Any, int | None] = {"": None, **{n: n for n in range(low, high + 1)}}
        self.items: list[widgets.Dropdown] = []
        cells: list[widgets.Widget] = []
        for n in range(1, items + 1):
            question = f"{n}. {t(f'ui.intake.{instrument}.item_{n}')}"
            text = widgets.HTML(esc(question))
            answer = labelled(widgets.Dropdown(options=choices, value="", layout=widgets.Layout(width="auto")),
                              question, shown=False)  # named by the question shown beside it
            answer.add_class(f"wb-intake-{instrument}-{n}")
            self.items.append(answer)
            cells.extend([text, answer])
        grid = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="minmax(0, 2fr) minmax(12em, 1fr)",
                                                            grid_gap="2px 12px", align_items="center"))
        children: list[widgets.Widget] = [
            widgets.HTML(f"<b>{esc(t(f'instrument.{instrument}'))}</b> – {esc(t(f'ui.intake.{instrument}.intro'))}"),
            grid,
        ]
        if footer:
            note = widgets.HTML(f'<small class="wb-copyright">{esc(footer)}</small>')
            note.add_class(f"wb-{instrument}-copyright")
            children.append(note)
        super().__init__(children)
        self.add_class(f"wb-intake-{instrument}")

    @property
    def value(self) -> list[Any]:
        return [item.value for item in self.items]

    @value.setter
    def value(self, answers: Sequence[Any]) -> None:
        for item, answer in zip(self.items, answers, strict=False):
            item.value = answer

    def answers(self) -> list[int] | None:
        """The answers re-checked and scored: None when left blank; refused when partly answered."""
        values = [lookup(self.options, item.value, self.instrument) for item in self.items]
        answered = [v for v in values if v is not None]
        if not answered:
            return None
        if len(answered) != len(values):
            raise InvalidInput("ui.intake.questionnaire_partial", field=self.instrument,
                               answered=len(answered), total=len(values))
        try:
            instruments.score(self.instrument, answered)
        except InvalidInput as exc:
            exc.field = self.instrument
            raise
        return answered

    def clear(self) -> None:
        for item in self.items:
            item.value = ""


class IntakeTab:
    """Register a referred citizen and open the case, with consent and optional baseline measures."""

    def __init__(self, app: TabContext) -> None:
        self.app = app
        self.feedback = Feedback()
        self.feedback.add_class("wb-intake-feedback")
        self.last_case_id: str | None = None
        self._default_date = ""

        sources = enum_options("referral_source", m.ReferralSource)
        self.source_options: dict[str, str | None] = {"": None, **{v: v for _, v in sources}}
        modes = enum_options("mode", m.AdministrationMode)
        self.mode_options = {v: v for _, v in modes}
        self.needs = CheckGroup(enum_options("target_group", m.TargetGroup), css_prefix="wb-intake-need", columns=4)
        self.ucla3 = Questionnaire("ucla3", instruments.UCLA3_ITEMS, instruments.UCLA3_LOW, instruments.UCLA3_HIGH)
        self.swemwbs = Questionnaire("swemwbs", instruments.SWEMWBS_ITEMS, instruments.SWEMWBS_LOW,
                                     instruments.SWEMWBS_HIGH, footer=instruments.SWEMWBS_COPYRIGHT)
        self.questionnaires = (self.ucla3, self.swemwbs)

        self.form = Form([
            text_field("display_name", t("ui.intake.field.display_name")),
            text_field("birth_year", t("ui.intake.field.birth_year"), placeholder=t("ui.intake.hint.birth_year")),
            text_field("postal_code", t("ui.intake.field.postal_code"), placeholder=t("ui.intake.hint.postal_code")),
            text_field("phone", t("ui.intake.field.phone"), placeholder=t("ui.intake.hint.phone")),
            text_field("email", t("ui.intake.field.email")),
            language_field("languages", t("ui.intake.field.languages"), DEFAULT_LANGUAGES),
            text_field("interests", t("ui.intake.field.interests"), placeholder=t("ui.intake.hint.interests")),
            Field("needs", t("ui.intake.field.needs"), self.needs),
            choice_field("referral_source", t("ui.intake.field.referral_source"),
                         [(t("ui.intake.choose"), ""), *sources], ""),
            date_field("referred_on", t("ui.intake.field.referred_on")),
            area_field("note", t("ui.intake.field.note")),
            check_field("consent_case_work", t("ui.intake.consent.case_work")),
            check_field("consent_follow_up_contact", t("ui.intake.consent.follow_up_contact")),
            check_field("consent_research", t("ui.intake.consent.research")),
            check_field("consent_referrer_feedback", t("ui.intake.consent.referrer_feedback")),
            choice_field("mode", t("ui.intake.field.mode"), modes, m.AdministrationMode.self_completed.value),
            Field("ucla3", "", self.ucla3),
            Field("swemwbs", "", self.swemwbs),
        ])
        for name in (*CITIZEN_FIELDS, *REFERRAL_FIELDS, *CONSENT_FIELDS, "mode"):
            self.form[name].control.add_class(f"wb-intake-{name}")
        self.form["note"].control.placeholder = t("ui.intake.hint.note")

        self.submit_button = button(t("ui.intake.submit"), "primary")
        self.submit_button.add_class("wb-intake-submit")
        self.submit_button.on_click(guard(self.feedback, self.form)(self.submit))
        self.clear_button = button(t("ui.intake.clear"))
        self.clear_button.add_class("wb-intake-clear")
        self.clear_button.on_click(guard(self.feedback, self.form)(lambda _b: self.clear()))
        self.result = widgets.HTML()
        self.open_button = button(t("ui.intake.open_case"), "success")
        self.open_button.add_class("wb-intake-open-case")
        self.open_button.on_click(guard(self.feedback)(self.open_case))
        self.open_button.layout.margin = "0 0 0 12px"
        self.result_box = widgets.HBox([self.result, self.open_button], layout=widgets.Layout(
            display="none", align_items="center"))
        self.result_box.add_class("wb-intake-result")

        def grid(names: Sequence[str]) -> widgets.GridBox:
            return widgets.GridBox([self.form[n].box for n in names], layout=widgets.Layout(
                grid_template_columns="1fr 1fr", grid_gap="4px 16px"))

        def hint(key: str) -> widgets.HTML:
            return widgets.HTML(f"<p>{esc(t(key))}</p>")

        self.widget = widgets.VBox([
            section(t("ui.intake.section.citizen"), grid(CITIZEN_FIELDS), self.form["needs"].box),
            section(t("ui.intake.section.referral"), grid(REFERRAL_FIELDS[:2]), self.form["note"].box),
            section(t("ui.intake.section.consent"), hint("ui.intake.consent.intro"),
                    *[self.form[n].box for n in CONSENT_FIELDS]),
            section(t("ui.intake.section.measures"), hint("ui.intake.measures.intro"), self.form["mode"].box,
                    self.form["ucla3"].box, self.form["swemwbs"].box),
            widgets.HBox([self.submit_button, self.clear_button]),
            self.feedback,
            self.result_box,
        ])
        self.widget.add_class("wb-intake")
        self.clear()

    # -- state -----------------------------------------------------------------------------

    def _today(self) -> date:
        today: date = self.app.wb.today()
        return today

    def refresh(self) -> None:
        """Keep the default referral date at today if the coordinator has not changed it."""
        control = self.form["referred_on"].control
        if control.value == self._default_date:
            self._default_date = control.value = fmt_date(self._today())

    def clear(self) -> None:
        """Empty the form for the next referral (languages back to Danish, date back to today)."""
        for name in (*CITIZEN_FIELDS, "note"):
            self.form[name].control.value = ""
        self.form["languages"].control.value = DEFAULT_LANGUAGES
        self.form["referral_source"].control.value = ""
        self._default_date = self.form["referred_on"].control.value = fmt_date(self._today())
        for name in CONSENT_FIELDS:
            self.form[name].control.value = False
        self.form["mode"].control.value = m.AdministrationMode.self_completed.value
        self.needs.value = ()
        for questionnaire in self.questionnaires:
            questionnaire.clear()
        self.form.clear_errors()

    # -- actions ---------------------------------------------------------------------------

    def submit(self, _button: Any = None) -> None:
        """Check everything, then register the citizen and open the case; then the baseline measures."""
        self.result_box.layout.display = "none"
        self.form.check()  # every field's mistake at once, before anything is sent
        try:
            case, citizen_name, failed = self._register()
        except WorkbenchError as exc:
            head, dot, rest = (exc.field or "").partition(".")
            if head in FIELD_ALIASES:
                exc.field = FIELD_ALIASES[head] + dot + rest
            raise
        self.last_case_id = str(case["id"])
        self.result.value = f"<p>{esc(t('ui.intake.result', number=case['number']))}</p>"
        self.result_box.layout.display = "flex"
        self.clear()
        overview = getattr(self.app, "overview", None)
        if overview is not None and hasattr(overview, "refresh"):
            overview.refresh()
        if failed:
            self.feedback.error(t("ui.intake.measure_failed", number=case["number"], instruments=", ".join(failed)))
        else:
            self.feedback.ok(t("ui.intake.created", number=case["number"], name=citizen_name))

    def _register(self) -> tuple[dict[str, Any], str, list[str]]:
        form = self.form
        consents = {p: bool(form.value(f"consent_{p.value}")) for p in m.Purpose}
        citizen: dict[str, Any] = {"display_name": form.value("display_name")}
        birth_year = parse_int(form.value("birth_year"), "birth_year")
        if birth_year is not None:
            citizen["birth_year"] = birth_year
        if form.value("postal_code"):
            citizen["postal_code"] = form.value("postal_code")
        languages = form.value("languages")
        if languages:
            citizen["languages"] = languages
        citizen["interests"] = split_labels(form.value("interests"))
        if consents[m.Purpose.case_work]:
            citizen["needs"] = list(self.needs.value)  # special-category data: only with consent to case work
        source = lookup(self.source_options, form.value("referral_source"), "referral_source")
        if source is None:
            raise InvalidInput("input.required", field="referral_source")
        citizen["referral_source"] = source
        contact = {k: form.value(k) for k in ("phone", "email") if form.value(k)}
        on = parse_date(form.value("referred_on"), "referred_on") or self._today()
        note = form.value("note") or None
        mode = lookup(self.mode_options, form.value("mode"), "mode")
        measures = [(q.instrument, answers) for q in self.questionnaires if (answers := q.answers()) is not None]

        wb = self.app.wb
        case: dict[str, Any] = wb.open_referral(
            site_id=self.app.site, citizen=citizen, contact=contact or None, on=on, text=note,
            consents=[{"purpose": p.value, "given": given} for p, given in consents.items()])
        failed: list[str] = []
        for instrument, answers in measures:
            try:
                wb.record_measure(case["id"], instrument=instrument, answers=answers,
                                  timepoint=m.Timepoint.baseline.value, mode=mode, on=on)
            except Exception:
                log.exception("baseline %s for case %s not recorded", instrument, case["id"])
                failed.append(t(f"instrument.{instrument}"))
        return case, str(citizen["display_name"]), failed

    def open_case(self, _button: Any = None) -> None:
        """Show the case just opened on the case tab (re-checked to be this site's case)."""
        if self.last_case_id is None:
            raise InvalidInput("ui.intake.no_case")
        self.app.own("cases", self.last_case_id, "case.not_found")
        self.app.open_case(self.last_case_id)
