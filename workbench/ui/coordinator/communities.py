"""The communities tab: the site's catalog of fællesskaber — find, add, edit, set status, verify, import.

The list shows the site's own communities and those shared by every site (no site).
Every change goes through the service; an edit carries the version it was made on, so a
change someone else saved in the meantime is refused and the form shows the newest data.
A CSV file can be previewed and imported (``workbench.service.catalog_import`` holds the logic).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import polars as pl

from workbench.domain import model as m
from workbench.domain.text import danish_sort_key, search_text
from workbench.errors import InvalidInput, StaleEdit
from workbench.i18n import t
from workbench.service import catalog_import as ci
from workbench.ui.widgets import (
    CheckGroup,
    Feedback,
    Field,
    Form,
    area_field,
    button,
    choice_field,
    close_tree,
    enum_options,
    esc,
    fmt_date,
    guard,
    html_table,
    labelled,
    lookup,
    parse_int,
    replace_children,
    row_list,
    section,
    text_field,
)

if TYPE_CHECKING:
    from workbench.service import Workbench
    from workbench.ui.coordinator.context import TabContext

PREVIEW_LIMIT = 100
"""At most this many rows of each import table are shown."""

_WIDE = "1 / -1"


def _offered(options: Iterable[tuple[str, Any]]) -> dict[Any, Any]:
    """The values a dropdown offered, for ``lookup`` to re-check on the server."""
    return {value: value for _label, value in options}


def _classed(widget: widgets.Widget, name: str) -> widgets.Widget:
    widget.add_class(name)
    return widget


def upload_content(value: Any) -> tuple[str, bytes]:
    """The name and bytes of the one file in a ``FileUpload`` value (ipywidgets 8, also 7)."""
    if isinstance(value, Mapping):  # ipywidgets 7: {name: {"metadata": {...}, "content": bytes}}
        items = [{"name": name, **(item.get("metadata") or {}), "content": item.get("content")}
                 for name, item in value.items()]
    else:  # ipywidgets 8: a tuple of {"name", "type", "size", "content": memoryview, ...}
        items = [dict(item) for item in (value or ())]
    if not items:
        raise InvalidInput("import.no_file", field="upload")
    item = items[0]
    if not str(item.get("name") or "").lower().endswith(".csv"):
        raise InvalidInput("import.not_csv", field="upload")
    content = item.get("content")
    if content is None:
        raise InvalidInput("import.no_file", field="upload")
    if int(item.get("size") or 0) > ci.MAX_BYTES or len(content) > ci.MAX_BYTES:
        raise InvalidInput("import.too_large", field="upload", max_mb=ci.MAX_BYTES // (1024 * 1024))
    data = content.tobytes() if isinstance(content, memoryview) else bytes(content)
    return str(item["name"]), data


class ScheduleEditor:
    """Weekly times as rows (weekday, start, end), or typed short: ``tir 10:00-12:00; tor 14:00-16:00``.

    The short text is added to the rows with "Indsæt", and also when the form is saved,
    so nothing typed is lost. ``field`` is the form field errors about the schedule go to.
    """

    def __init__(self, feedback: Feedback) -> None:
        self.feedback = feedback
        self.form: Form | None = None  # set once the form holding ``field`` exists
        self.options = enum_options("weekday", m.Weekday)
        self.offered = _offered(self.options)
        self.rows: list[tuple[widgets.HBox, widgets.Dropdown, widgets.Text, widgets.Text]] = []
        self.rows_box = _classed(widgets.VBox(), "wb-communities-schedule-rows")
        self.add = _classed(button(t("ui.communities.schedule_add")), "wb-communities-schedule-add")
        # The value arrives on Enter (or when the box is left): Enter inserts, as the button does.
        self.text = _classed(widgets.Text(placeholder=t("ui.communities.schedule_example"), continuous_update=False),
                             "wb-communities-schedule-text")
        self.insert = _classed(button(t("ui.communities.schedule_insert")), "wb-communities-schedule-insert")
        self.field = Field("schedule", t("ui.communities.field.schedule"), self.text, heading=True)
        labelled(self.text, t("ui.communities.schedule_quick"), shown=False)  # the hint printed above it
        self.text.layout.width = "auto"
        self.text.layout.flex = "1 1 auto"
        self.add.on_click(self.wrap(lambda _b: self.add_row()))
        self.insert.on_click(self.wrap(self._insert))
        self.text.observe(self.wrap(lambda change: self._insert() if change["new"].strip() else None), names="value")
        quick = widgets.HTML(f'<span class="wb-hint">{esc(t("ui.communities.schedule_quick"))}</span>')
        self.field.box.children = (self.field.label, self.rows_box, self.add, quick,
                                   widgets.HBox([self.text, self.insert]), self.field.error)
        self.field.box.add_class("wb-communities-schedule")

    def wrap(self, callback: Callable[..., Any]) -> Callable[..., None]:
        """``guard`` a button's callback with the form's feedback, errors shown at the schedule field."""

        def run(*args: Any) -> None:
            guard(self.feedback, self.form)(callback)(*args)

        return run

    def add_row(self, day: str = "mon", start: str = "", end: str = "") -> None:
        """One more weekday row (filled when given)."""
        number = len(self.rows) + 1
        weekday = _classed(labelled(widgets.Dropdown(options=self.options, value=day, layout=widgets.Layout(width="9em")),
                                    t("ui.communities.schedule_weekday", number=number), shown=False),
                           "wb-communities-schedule-weekday")
        begins = _classed(labelled(widgets.Text(value=start, placeholder=t("ui.communities.time_placeholder"),
                                                layout=widgets.Layout(width="6em")),
                                   t("ui.communities.schedule_start", number=number), shown=False),
                          "wb-communities-schedule-start")
        ends = _classed(labelled(widgets.Text(value=end, placeholder=t("ui.communities.time_placeholder"),
                                              layout=widgets.Layout(width="6em")),
                                 t("ui.communities.schedule_end", number=number), shown=False),
                        "wb-communities-schedule-end")
        remove = _classed(button(t("ui.communities.schedule_remove")), "wb-communities-schedule-remove")
        row = _classed(widgets.HBox([weekday, begins, widgets.HTML("–"), ends, remove],
                                    layout=widgets.Layout(align_items="center")), "wb-communities-schedule-row")
        entry = (row, weekday, begins, ends)
        remove.on_click(self.wrap(lambda _b: self._remove(entry)))
        self.rows.append(entry)
        self.rows_box.children = tuple(r[0] for r in self.rows)

    def _remove(self, entry: tuple[widgets.HBox, widgets.Dropdown, widgets.Text, widgets.Text]) -> None:
        if entry in self.rows:
            self.rows.remove(entry)
        self.rows_box.children = tuple(r[0] for r in self.rows)
        close_tree(entry[0])
        for number, (_row, weekday, begins, ends) in enumerate(self.rows, 1):  # the rows' names follow their places
            weekday.description = t("ui.communities.schedule_weekday", number=number)
            begins.description = t("ui.communities.schedule_start", number=number)
            ends.description = t("ui.communities.schedule_end", number=number)

    def _insert(self, _button: Any = None) -> None:
        slots = ci.parse_schedule(self.text.value)
        self.set(self._row_slots() + slots)

    def _row_slots(self) -> list[dict[str, str]]:
        slots = []
        for _row, weekday, begins, ends in self.rows:
            if not begins.value.strip() or not ends.value.strip():
                raise InvalidInput("ui.communities.schedule_times", field="schedule")
            day = lookup(self.offered, weekday.value, "schedule")
            slots.append(ci.slot(day, begins.value, ends.value))
        return slots

    def value(self) -> list[dict[str, str]]:
        """Every weekly time: the rows plus anything typed in the short form."""
        return ci.unique_slots(self._row_slots() + ci.parse_schedule(self.text.value))

    def set(self, slots: Iterable[Mapping[str, str]]) -> None:
        """Show ``slots`` as rows and empty the short form."""
        old, self.rows = self.rows, []
        self.rows_box.children = ()
        for row, *_controls in old:
            close_tree(row)
        for item in ci.unique_slots(slots):
            self.add_row(item["weekday"], item["start"], item["end"])
        self.text.value = ""


class CommunitiesTab:
    """The site's catalog of fællesskaber: search, list, add/edit form, status, verification and CSV import."""

    TEXT_FIELDS = ("name", "organiser", "postal_code", "description", "accessibility", "cost", "contact", "source")

    def __init__(self, app: TabContext) -> None:
        self.app = app
        self.current: dict[str, Any] | None = None
        """The community in the form as it was loaded (its version guards the next edit); None for a new one."""
        catalog, editor, importer = self._build_list(), self._build_form(), self._build_import()
        self.widget = widgets.VBox([catalog, editor, importer])
        self.widget.add_class("wb-communities")
        self._new()
        self._render_list()

    def _build_list(self) -> widgets.Widget:
        self.list_feedback = _classed(Feedback(), "wb-communities-list-feedback")
        self.search = _classed(widgets.Text(placeholder=t("ui.communities.search_placeholder"),
                                            description=t("ui.communities.search"), continuous_update=False,
                                            layout=widgets.Layout(width="28em")), "wb-communities-search")
        self.status_options = [(t("ui.communities.all_statuses"), ""),
                               *enum_options("community_status", m.CommunityStatus)]
        self.status_filter = _classed(widgets.Dropdown(options=self.status_options, value="",
                                                       description=t("ui.communities.status_filter")),
                                      "wb-communities-status-filter")
        self.count = _classed(widgets.HTML(), "wb-communities-count")
        self.list_box = _classed(widgets.VBox(), "wb-communities-list")
        on_filter = guard(self.list_feedback)(lambda _change: self._render_list())
        self.search.observe(on_filter, names="value")
        self.status_filter.observe(on_filter, names="value")
        catalog = section(t("ui.communities.catalog_title"),
                          widgets.HBox([self.search, self.status_filter]), self.count, self.list_feedback,
                          self.list_box)
        catalog.add_class("wb-communities-catalog")
        return catalog

    def _build_form(self) -> widgets.Widget:
        self.form_feedback = _classed(Feedback(), "wb-communities-form-feedback")
        self.kind_options = enum_options("community_kind", m.CommunityKind)
        self.target_options = enum_options("target_group", m.TargetGroup)
        self.target_groups = CheckGroup(self.target_options)
        self.target_groups.add_class("wb-communities-target-groups")
        self.schedule = ScheduleEditor(self.form_feedback)
        fields = [
            text_field("name", t("ui.communities.field.name")),
            text_field("organiser", t("ui.communities.field.organiser")),
            choice_field("kind", t("ui.communities.field.kind"), self.kind_options),
            text_field("postal_code", t("ui.communities.field.postal_code"), placeholder="5000"),
            area_field("description", t("ui.communities.field.description")),
            self.schedule.field,
            text_field("age_min", t("ui.communities.field.age_min")),
            text_field("age_max", t("ui.communities.field.age_max")),
            Field("target_groups", t("ui.communities.field.target_groups"), self.target_groups),
            text_field("accessibility", t("ui.communities.field.accessibility")),
            text_field("cost", t("ui.communities.field.cost")),
            text_field("contact", t("ui.communities.field.contact")),
            text_field("source", t("ui.communities.field.source")),
        ]
        self.form = Form(fields)
        self.schedule.form = self.form
        for wide in ("description", "schedule", "target_groups"):
            self.form[wide].box.layout.grid_column = _WIDE
        guarded = guard(self.form_feedback, self.form)
        self.editor_title = _classed(widgets.HTML(), "wb-communities-editor-title")
        self.info = _classed(widgets.HTML(), "wb-communities-info")
        self.save_button = _classed(button(t("ui.save"), "primary"), "wb-communities-save")
        self.new_button = _classed(button(t("ui.communities.new")), "wb-communities-new")
        self.deactivate_button = _classed(button(t("ui.communities.deactivate")), "wb-communities-deactivate")
        self.close_button = _classed(button(t("ui.communities.close_temporarily")),
                                     "wb-communities-close-temporarily")
        self.reactivate_button = _classed(button(t("ui.communities.reactivate")), "wb-communities-reactivate")
        self.verify_button = _classed(button(t("ui.communities.verify")), "wb-communities-verify")
        self.save_button.on_click(guarded(self._save))
        self.new_button.on_click(guarded(lambda _b: self._new()))
        self.deactivate_button.on_click(guarded(lambda _b: self._set_status(m.CommunityStatus.inactive)))
        self.close_button.on_click(guarded(lambda _b: self._set_status(m.CommunityStatus.temporarily_closed)))
        self.reactivate_button.on_click(guarded(lambda _b: self._set_status(m.CommunityStatus.active)))
        self.verify_button.on_click(guarded(self._verify))
        self._open_guarded = guard(self.list_feedback, self.form)(self._open)
        editor = widgets.VBox([
            self.editor_title, self.info, self.form.box,
            widgets.HBox([self.save_button, self.new_button]),
            widgets.HBox([self.verify_button, self.close_button, self.deactivate_button, self.reactivate_button]),
            self.form_feedback,
        ], layout=widgets.Layout(margin="8px 0"))
        editor.add_class("wb-communities-editor")
        return editor

    def _build_import(self) -> widgets.Widget:
        self.import_feedback = _classed(Feedback(), "wb-communities-import-feedback")
        self.upload = _classed(widgets.FileUpload(accept=".csv", multiple=False,
                                                  description=t("ui.communities.import_choose")),
                               "wb-communities-upload")
        self.preview_button = _classed(button(t("ui.communities.preview")), "wb-communities-preview-button")
        self.skip_bad_rows = _classed(widgets.Checkbox(value=False, description=t("ui.communities.import_skip"),
                                                       indent=False), "wb-communities-import-skip")
        self.import_button = _classed(button(t("ui.communities.import"), "primary"), "wb-communities-import-button")
        self.preview_html = _classed(widgets.HTML(), "wb-communities-import-preview")
        self.errors_html = _classed(widgets.HTML(), "wb-communities-import-errors")
        self.preview_button.on_click(guard(self.import_feedback)(self._preview))
        self.import_button.on_click(guard(self.import_feedback)(self._import))
        required = ", ".join(c.header for c in ci.COLUMNS if c.required)
        optional = ", ".join(c.header for c in ci.COLUMNS if not c.required)
        help_text = t("ui.communities.import_help", required=required, optional=optional)
        import_help = widgets.HTML(f'<p class="wb-hint">{esc(help_text)}</p>')
        importer = section(t("ui.communities.import_title"), import_help,
                           widgets.HBox([self.upload, self.preview_button]), self.skip_bad_rows,
                           self.import_button, self.import_feedback, self.errors_html, self.preview_html)
        importer.add_class("wb-communities-import")
        return importer

    @property
    def wb(self) -> Workbench:
        return self.app.wb

    def refresh(self) -> None:
        """Redraw the list from the store (the form keeps what is being typed)."""
        self.list_feedback.clear()
        self._render_list()

    # -- the list ------------------------------------------------------------------------------

    def _visible(self) -> pl.DataFrame:
        frame = self.wb.frames.communities
        return frame.filter(pl.col("site").is_null() | (pl.col("site") == self.app.site))

    def _matches(self) -> tuple[list[dict[str, Any]], int]:
        """The communities passing the search and status filter, in Danish order, and how many exist."""
        frame = self._visible()
        total = frame.height
        status = lookup(_offered(self.status_options), self.status_filter.value, "status")
        if status:
            frame = frame.filter(pl.col("status") == status)
        words = search_text(self.search.value).split()
        rows = []
        for row in frame.to_dicts():
            haystack = " ".join([row["name"] or "", row["organiser"] or "", t(f"community_kind.{row['kind']}"),
                                 row["kind"] or "", row["postal_code"] or ""]).casefold()
            if all(word in haystack for word in words):
                rows.append(row)
        rows.sort(key=lambda r: danish_sort_key(r["name"] or ""))
        return rows, total

    def _render_list(self) -> None:
        rows, total = self._matches()
        count = t("ui.communities.count", shown=len(rows), total=total)
        self.count.value = f'<p class="wb-hint">{esc(count)}</p>'
        headers = [t(f"ui.communities.col.{key}") for key in
                   ("name", "organiser", "kind", "postal_code", "weekdays", "status", "verified")]
        who = self.app.wb.user_names()
        cells = [([r["name"], r["organiser"], t(f"community_kind.{r['kind']}"), r["postal_code"],
                   ", ".join(t(f"weekday.{d}") for d in (r["weekdays"] or [])),
                   t(f"community_status.{r['status']}"),
                   self._verified_text(r["last_verified_on"], who.get(r["last_verified_by"], r["last_verified_by"]))],
                  r["community_id"]) for r in rows]
        empty = t("ui.communities.no_match") if total else t("ui.communities.empty")
        listing = row_list(headers, cells, empty, t("ui.open"), self.open, css_class="wb-communities-open")
        replace_children(self.list_box, listing)

    @staticmethod
    def _verified_text(on: Any, by: Any) -> str:
        if not on:
            return t("ui.communities.never_verified")
        return t("ui.communities.verified", date=fmt_date(on), by=by or t("ui.unknown"))

    # -- the form ------------------------------------------------------------------------------

    def open(self, community_id: str) -> None:
        """Show one community in the form; an id that is not this site's is refused with a message."""
        self._open_guarded(community_id)

    def _open(self, community_id: str) -> None:
        doc = self.app.own("communities", community_id, "community.not_found")
        self._load(doc)

    def _new(self) -> None:
        """An empty form for a new community."""
        self.current = None
        for name in self.TEXT_FIELDS + ("age_min", "age_max"):
            self.form[name].control.value = ""
        self.form["kind"].control.value = None
        self.target_groups.value = ()
        self.schedule.set([])
        self.form.clear_errors()
        self._show_state()

    def _load(self, doc: Mapping[str, Any]) -> None:
        """Show a stored community in the form; later edits are checked against its version."""
        self.current = dict(doc)
        for name in self.TEXT_FIELDS:
            self.form[name].control.value = str(doc.get(name) or "")
        for name in ("age_min", "age_max"):
            self.form[name].control.value = "" if doc.get(name) is None else str(doc[name])
        self.form["kind"].control.value = doc.get("kind", m.CommunityKind.other.value)
        self.target_groups.value = tuple(doc.get("target_groups") or ())
        self.schedule.set(doc.get("schedule") or [])
        self.form.clear_errors()
        self._show_state()

    def _show_state(self) -> None:
        """Title, status line and which status buttons apply."""
        doc = self.current
        if doc is None:
            self.editor_title.value = f"<h3>{esc(t('ui.communities.new_title'))}</h3>"
            self.info.value = f'<p class="wb-hint">{esc(t("ui.communities.new_help"))}</p>'
        else:
            self.editor_title.value = f"<h3>{esc(t('ui.communities.edit_title', name=doc['name']))}</h3>"
            info = t("ui.communities.info", label=t(f"community_status.{doc.get('status', 'active')}"),
                     verified=self._verified_text(doc.get("last_verified_on"),
                                                 self.app.wb.user_names().get(str(doc.get("last_verified_by")),
                                                                              doc.get("last_verified_by"))))
            self.info.value = f"<p>{esc(info)}</p>"
        status = doc.get("status", m.CommunityStatus.active.value) if doc else None
        self.verify_button.disabled = doc is None
        self.deactivate_button.disabled = status in (None, m.CommunityStatus.inactive)
        self.close_button.disabled = status != m.CommunityStatus.active
        self.reactivate_button.disabled = status in (None, m.CommunityStatus.active)

    def _collect(self) -> dict[str, Any]:
        """The form's values as the service expects them, with every offered choice re-checked."""
        form = self.form
        data: dict[str, Any] = {name: form.value(name) for name in self.TEXT_FIELDS}
        data["kind"] = lookup(_offered(self.kind_options), form.value("kind"), "kind")
        data["schedule"] = self.schedule.value()
        for age in ("age_min", "age_max"):
            try:
                data[age] = parse_int(form.value(age), age)
            except InvalidInput:
                raise InvalidInput("import.whole_number", field=age) from None
        offered = _offered(self.target_options)
        data["target_groups"] = [lookup(offered, code, "target_groups") for code in self.target_groups.value]
        return data

    def _save(self, _button: Any = None) -> None:
        self.form.check()  # every field's mistake at once, before anything is sent
        data = self._collect()
        if self.current is None:
            doc = self.wb.add_community(site_id=self.app.site, **{k: v for k, v in data.items() if v is not None})
            self._load(doc)
            self.form_feedback.ok(t("ui.communities.added", name=doc["name"]))
        else:
            community_id = self._own_current()["id"]
            changes = {k: v for k, v in data.items() if self.current.get(k) != v}
            if not changes:
                self.schedule.set(data["schedule"])
                self.form_feedback.ok(t("ui.communities.no_changes"))
                return
            doc = self._write(lambda: self.wb.update_community(
                community_id, version=self._version(), **changes))
            self._load(doc)
            self.form_feedback.ok(t("ui.communities.saved"))
        self._render_list()

    def _set_status(self, status: m.CommunityStatus) -> None:
        community_id = self._own_current()["id"]
        self.current = self._write(lambda: self.wb.update_community(
            community_id, version=self._version(), status=status.value))
        self._show_state()
        self._render_list()
        self.form_feedback.ok(t("ui.communities.status_changed", label=t(f"community_status.{status.value}")))

    def _verify(self, _button: Any = None) -> None:
        community_id = self._own_current()["id"]
        version = self._version()
        doc = self.wb.verify_community(community_id)
        done = t("ui.communities.verified_today", date=fmt_date(doc.get("last_verified_on")))
        if doc.get("version") == version + 1:
            self.current = doc  # only the verification changed: keep what is being typed
            self._show_state()
            self.form_feedback.ok(done)
        else:
            self._load(doc)
            self.form_feedback.ok(done + " " + t("ui.communities.reloaded"))
        self._render_list()

    def _own_current(self) -> dict[str, Any]:
        """The community in the form, re-checked as this site's (or shared) on the server."""
        if self.current is None:
            raise InvalidInput("ui.communities.none_selected")
        doc: dict[str, Any] = self.app.own("communities", self.current["id"], "community.not_found")
        return doc

    def _version(self) -> int:
        assert self.current is not None
        return int(self.current.get("version", 1))

    def _write(self, change: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a versioned change; when it is refused as stale, show the newest data and re-raise."""
        try:
            return change()
        except StaleEdit:
            self._load(self._own_current())
            self._render_list()
            raise

    # -- the import ----------------------------------------------------------------------------

    def _read_preview(self) -> ci.ImportPreview:
        _name, content = upload_content(self.upload.value)
        preview = ci.parse_csv(ci.decode(content), ci.existing_keys(self.wb, self.app.site))
        self._show_preview(preview)
        return preview

    def _preview(self, _button: Any = None) -> None:
        preview = self._read_preview()
        summary = t("ui.communities.preview_summary", valid=len(preview.valid), bad=len(preview.bad_rows),
                    duplicates=len(preview.duplicates))
        if preview.errors:
            self.import_feedback.error(summary)
        else:
            self.import_feedback.ok(summary)

    def _import(self, _button: Any = None) -> None:
        preview = self._read_preview()
        added = ci.apply(self.wb, preview, self.app.site, skip_bad_rows=bool(self.skip_bad_rows.value))
        self.upload.value = ()
        self.preview_html.value = ""
        self.import_feedback.ok(t("ui.communities.imported", count=added, bad=len(preview.bad_rows),
                                  duplicates=len(preview.duplicates)))
        self._render_list()

    def _show_preview(self, preview: ci.ImportPreview) -> None:
        parts = []
        if preview.errors:
            rows: list[tuple[Any, ...]] = [(issue.row, issue.field or "–", issue.message) for issue in preview.errors]
            parts.append(self._table("errors_title", ("row", "column", "message"), rows))
        if preview.duplicates:
            rows = [(d.row, d.name, d.postal_code,
                     t("ui.communities.duplicate_existing") if d.earlier_row is None
                     else t("ui.communities.duplicate_row", row=d.earlier_row)) for d in preview.duplicates]
            parts.append(self._table("duplicates_title", ("row", "name", "postal_code", "duplicate_of"), rows))
        self.errors_html.value = "".join(parts)
        ready = [(r.row, r.fields["name"], r.fields["organiser"],
                  t(f"community_kind.{r.fields.get('kind', m.CommunityKind.other.value)}"), r.fields["postal_code"],
                  ci.format_schedule(r.fields.get("schedule", [])),
                  ", ".join(t(f"target_group.{g}") for g in r.fields.get("target_groups", [])))
                 for r in preview.valid]
        self.preview_html.value = self._table(
            "preview_title", ("row", "name", "organiser", "kind", "postal_code", "schedule", "target_groups"), ready)

    @staticmethod
    def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        shown = list(rows[:PREVIEW_LIMIT])
        body = html_table([t(f"ui.communities.col.{c}") for c in columns], shown, t("ui.communities.nothing"))
        more = ""
        if len(rows) > PREVIEW_LIMIT:
            more = f'<p class="wb-hint">{esc(t("ui.communities.more_rows", count=len(rows) - PREVIEW_LIMIT))}</p>'
        heading = esc(t(f"ui.communities.{title}", count=len(rows)))
        return f"<h4>{heading}</h4>{body}{more}"
