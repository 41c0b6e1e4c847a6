"""The brobyggere tab: find, register, edit, pause and reactivate the site's volunteers.

Everything the page sends is re-checked here before the service is called: the edited
brobygger must belong to the coordinator's site, a dropdown value must be one this tab
offered, and a button's action is re-validated against fresh data even if the page
re-enabled a disabled button. Edits carry the ``version`` read when the form was filled,
so a change made meanwhile by another coordinator is refused and the form reloaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import polars as pl

from workbench.domain import model as m
from workbench.domain.text import danish_sort_key, phone_for_display, search_text
from workbench.errors import InvalidInput, StaleEdit, WorkflowRefused
from workbench.i18n import t
from workbench.ui.widgets import (
    Feedback,
    Field,
    Form,
    button,
    choice_field,
    date_field,
    enum_options,
    esc,
    fmt_date,
    guard,
    language_field,
    language_name,
    lookup,
    parse_date,
    parse_int,
    replace_children,
    row_list,
    section,
    split_labels,
    text_field,
)

if TYPE_CHECKING:
    from workbench.ui.coordinator.context import TabContext

DEFAULT_LANGUAGES = ("da",)
DEFAULT_CAPACITY = 3
FIELD_NAMES = ("name", "phone", "email", "postal_code", "languages", "interests", "availability",
               "capacity", "status", "record_check_on", "trained_on", "recruited_via")


class AvailabilityGrid(widgets.GridBox):
    """Weekday × part-of-day checkboxes; ``value`` is the list of ``{"weekday", "part"}`` slots ticked."""

    def __init__(self) -> None:
        self.boxes: dict[tuple[str, str], widgets.Checkbox] = {}
        cells: list[widgets.Widget] = []
        for day in m.Weekday:
            cells.append(widgets.HTML(esc(t(f"weekday.{day.value}"))))
            for part in m.DayPart:
                box = widgets.Checkbox(value=False, description=t(f"day_part.{part.value}"), indent=False,
                                       layout=widgets.Layout(width="auto"))
                box.add_class(f"wb-volunteer-avail-{day.value}-{part.value}")
                self.boxes[(day.value, part.value)] = box
                cells.append(box)
        super().__init__(cells, layout=widgets.Layout(
            grid_template_columns=f"8em repeat({len(m.DayPart)}, 10em)", grid_gap="0 8px"))

    @property
    def value(self) -> list[dict[str, str]]:
        return [{"weekday": day, "part": part} for (day, part), box in self.boxes.items() if box.value]

    @value.setter
    def value(self, slots: Sequence[Mapping[str, Any]]) -> None:
        chosen = {(str(s.get("weekday")), str(s.get("part"))) for s in slots}
        for key, box in self.boxes.items():
            box.value = key in chosen


class VolunteersTab:
    """Brobyggere of the coordinator's site: a searchable list and one form to register or edit."""

    def __init__(self, app: TabContext) -> None:
        self.app = app
        self.feedback = Feedback()
        self.feedback.add_class("wb-volunteer-feedback")
        self.selected_id: str | None = None
        self.selected_version: int | None = None

        self.status_options = {v: v for _, v in enum_options("volunteer_status", m.VolunteerStatus)}
        self.recruitment_options = {v: v for _, v in enum_options("recruitment", m.Recruitment)}
        self.availability = AvailabilityGrid()
        self.form = Form([
            text_field("name", t("ui.volunteers.field.name")),
            text_field("phone", t("ui.volunteers.field.phone"), placeholder=t("ui.volunteers.hint.phone")),
            text_field("email", t("ui.volunteers.field.email")),
            text_field("postal_code", t("ui.volunteers.field.postal_code"),
                       placeholder=t("ui.volunteers.hint.postal_code")),
            language_field("languages", t("ui.volunteers.field.languages"), DEFAULT_LANGUAGES),
            text_field("interests", t("ui.volunteers.field.interests"),
                       placeholder=t("ui.volunteers.hint.interests")),
            text_field("capacity", t("ui.volunteers.field.capacity"), str(DEFAULT_CAPACITY)),
            choice_field("status", t("ui.volunteers.field.status"),
                         enum_options("volunteer_status", m.VolunteerStatus), m.VolunteerStatus.interested.value),
            date_field("record_check_on", t("ui.volunteers.field.record_check_on")),
            date_field("trained_on", t("ui.volunteers.field.trained_on")),
            choice_field("recruited_via", t("ui.volunteers.field.recruited_via"),
                         enum_options("recruitment", m.Recruitment), m.Recruitment.volunteer_centre.value),
            Field("availability", t("ui.volunteers.field.availability"), self.availability),
        ])
        for name in FIELD_NAMES:
            self.form[name].control.add_class(f"wb-volunteer-{name}")

        self.search = widgets.Text(placeholder=t("ui.volunteers.search_placeholder"),
                                   description=t("ui.volunteers.search"), continuous_update=True)
        self.search.add_class("wb-volunteer-search")
        self.search.observe(guard(self.feedback)(self._on_search), names="value")
        self.list_box = widgets.VBox()
        self.list_box.add_class("wb-volunteer-list")

        self.title = widgets.HTML()
        self.title.add_class("wb-volunteer-form-title")
        self.save_button = button(t("ui.volunteers.save"), "primary")
        self.save_button.add_class("wb-volunteer-save")
        self.new_button = button(t("ui.volunteers.new"))
        self.new_button.add_class("wb-volunteer-new")
        self.pause_button = button(t("ui.volunteers.pause"), "warning")
        self.pause_button.add_class("wb-volunteer-pause")
        self.reactivate_button = button(t("ui.volunteers.reactivate"), "success")
        self.reactivate_button.add_class("wb-volunteer-reactivate")
        self.save_button.on_click(guard(self.feedback, self.form)(self.save))
        self.new_button.on_click(guard(self.feedback, self.form)(lambda _b: self.new()))
        self.pause_button.on_click(guard(self.feedback, self.form)(self.pause))
        self.reactivate_button.on_click(guard(self.feedback, self.form)(self.reactivate))
        self._open = guard(self.feedback, self.form)(self.open_volunteer)

        fields = self.form.fields
        grid = widgets.GridBox(
            [fields[n].box for n in FIELD_NAMES if n != "availability"],
            layout=widgets.Layout(grid_template_columns="1fr 1fr", grid_gap="4px 16px"))
        actions = widgets.HBox([self.save_button, self.new_button, self.pause_button, self.reactivate_button])
        self.widget = widgets.VBox([
            section(t("ui.volunteers.list_title"), self.search, self.list_box),
            widgets.VBox([self.title, grid, fields["availability"].box, actions, self.feedback],
                         layout=widgets.Layout(margin="8px 0")),
        ])
        self.widget.add_class("wb-volunteers")
        self.new()
        self.refresh()

    # -- list ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the site's brobyggere and redraw the list (the form keeps what is typed)."""
        frame = self.app.wb.frames.volunteers
        rows = frame.filter(pl.col("site") == self.app.site).to_dicts()
        query = search_text(self.search.value)
        if query:
            rows = [r for r in rows if query in r["name"].casefold()
                    or any(query in i.casefold() for i in r["interests"] or [])]
        rows.sort(key=lambda r: danish_sort_key(r["name"]))
        headers = [t(f"ui.volunteers.col.{c}") for c in
                   ("name", "status", "load", "languages", "interests", "record_check_on", "trained_on")]
        cells = [(
            [r["name"], t(f"volunteer_status.{r['status']}"), f"{r['load']}/{r['capacity']}",
             ", ".join(language_name(code) for code in r["languages"] or []), ", ".join(r["interests"] or []),
             fmt_date(r["record_check_on"]), fmt_date(r["trained_on"])],
            r["volunteer_id"],
        ) for r in rows]
        empty = t("ui.volunteers.no_match", query=self.search.value.strip()) if query else t("ui.volunteers.empty")
        listing = row_list(headers, cells, empty, t("ui.volunteers.edit"), self._open, "wb-volunteer-open")
        replace_children(self.list_box, listing)

    def _on_search(self, _change: Any) -> None:
        self.refresh()

    # -- form ------------------------------------------------------------------------------

    def new(self) -> None:
        """Empty the form for registering a new brobygger."""
        self.selected_id = None
        self.selected_version = None
        self._fill({})
        self.form.clear_errors()
        self.title.value = f"<h3>{esc(t('ui.volunteers.new_title'))}</h3>"
        self._set_buttons(None)

    def open_volunteer(self, volunteer_id: str) -> None:
        """Fill the form with one brobygger of this site, keeping the version read."""
        doc = self.app.own("volunteers", volunteer_id, "volunteer.not_found")
        self._show(doc)

    def _show(self, doc: Mapping[str, Any]) -> None:
        self.selected_id = str(doc["id"])
        self.selected_version = int(doc.get("version", 1))
        self._fill(doc)
        self.title.value = f"<h3>{esc(t('ui.volunteers.edit_title', name=doc['name']))}</h3>"
        self._set_buttons(str(doc.get("status")))

    def _fill(self, doc: Mapping[str, Any]) -> None:
        form = self.form
        form["name"].control.value = doc.get("name", "")
        form["phone"].control.value = phone_for_display(doc.get("phone", ""))
        form["email"].control.value = doc.get("email", "")
        form["postal_code"].control.value = doc.get("postal_code", "")
        form["languages"].control.value = doc.get("languages", DEFAULT_LANGUAGES)
        form["interests"].control.value = ", ".join(doc.get("interests", []))
        form["capacity"].control.value = str(doc.get("capacity", DEFAULT_CAPACITY))
        form["status"].control.value = doc.get("status", m.VolunteerStatus.interested.value)
        form["record_check_on"].control.value = fmt_date(doc.get("record_check_on"))
        form["trained_on"].control.value = fmt_date(doc.get("trained_on"))
        form["recruited_via"].control.value = doc.get("recruited_via", m.Recruitment.volunteer_centre.value)
        self.availability.value = doc.get("availability", [])

    def _set_buttons(self, status: str | None) -> None:
        """Enable pause/reactivate as the status allows (a hint only: each action re-checks)."""
        self.pause_button.disabled = status is None or status in (m.VolunteerStatus.paused, m.VolunteerStatus.left)
        self.reactivate_button.disabled = status != m.VolunteerStatus.paused

    def _values(self) -> dict[str, Any]:
        """The form's values, parsed and re-checked, as fields for the service."""
        form = self.form
        values: dict[str, Any] = {
            "name": form.value("name"),
            "phone": form.value("phone") or None,
            "email": form.value("email") or None,
            "postal_code": form.value("postal_code") or None,
            "languages": form.value("languages"),
            "interests": split_labels(form.value("interests")),
            "availability": self.availability.value,
            "status": lookup(self.status_options, form.value("status"), "status"),
            "record_check_on": parse_date(form.value("record_check_on"), "record_check_on"),
            "trained_on": parse_date(form.value("trained_on"), "trained_on"),
            "recruited_via": lookup(self.recruitment_options, form.value("recruited_via"), "recruited_via"),
        }
        capacity = parse_int(form.value("capacity"), "capacity")
        if capacity is not None:
            values["capacity"] = capacity
        return values

    # -- actions ---------------------------------------------------------------------------

    def save(self, _button: Any = None) -> None:
        """Register a new brobygger, or save the edited one (refused if it changed meanwhile)."""
        self.form.check()  # every field's mistake at once, before anything is sent
        values = self._values()
        if self.selected_id is None:
            doc = self.app.wb.register_volunteer(site_id=self.app.site, **values)
            message = t("ui.volunteers.registered", name=doc["name"])
        else:
            self.app.own("volunteers", self.selected_id, "volunteer.not_found")
            doc = self._update(**values)
            message = t("ui.volunteers.saved", name=doc["name"])
        self._done(doc, message)

    def pause(self, _button: Any = None) -> None:
        """Put the selected brobygger on pause (no new cases without an override)."""
        doc = self._selected()
        if doc["status"] in (m.VolunteerStatus.paused, m.VolunteerStatus.left):
            raise WorkflowRefused("ui.volunteers.cannot_pause", name=doc["name"],
                                  state=t(f"volunteer_status.{doc['status']}"))
        doc = self._update(status=m.VolunteerStatus.paused.value)
        self._done(doc, t("ui.volunteers.paused", name=doc["name"]))

    def reactivate(self, _button: Any = None) -> None:
        """Make a paused brobygger active again."""
        doc = self._selected()
        if doc["status"] != m.VolunteerStatus.paused:
            raise WorkflowRefused("ui.volunteers.cannot_reactivate", name=doc["name"],
                                  state=t(f"volunteer_status.{doc['status']}"))
        doc = self._update(status=m.VolunteerStatus.active.value)
        self._done(doc, t("ui.volunteers.reactivated", name=doc["name"]))

    def _selected(self) -> dict[str, Any]:
        """The brobygger in the form, re-read and re-checked to belong to this site."""
        if self.selected_id is None:
            raise InvalidInput("ui.volunteers.none_selected")
        return self.app.own("volunteers", self.selected_id, "volunteer.not_found")

    def _update(self, **changes: Any) -> dict[str, Any]:
        """Change the selected brobygger with the version read; on a stale edit reload the form."""
        assert self.selected_id is not None
        try:
            doc: dict[str, Any] = self.app.wb.update_volunteer(
                self.selected_id, version=self.selected_version, **changes)
        except StaleEdit:
            self._show(self.app.own("volunteers", self.selected_id, "volunteer.not_found"))
            self.refresh()
            raise
        return doc

    def _done(self, doc: Mapping[str, Any], message: str) -> None:
        self._show(doc)
        self.refresh()
        overview = getattr(self.app, "overview", None)
        if overview is not None and hasattr(overview, "refresh"):
            overview.refresh()
        self.feedback.ok(message)


__all__ = ["AvailabilityGrid", "VolunteersTab"]
