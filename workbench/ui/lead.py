"""The project lead's dashboard: every site, charts that follow the filters, targets, export.

``lead_app()`` is all ``dashboards/projektleder.ipynb`` calls. The lead is named by
``config.json``'s ``lead_name`` (else its ``user_name``, until users and roles arrive); every
site is visible.

Charts come from ``workbench.reporting.charts`` (built on ``workbench.reporting.analysis``'s aggregated,
suppressed tables): no row-level data reaches the page. Each is an Altair ``JupyterChart``,
drawn in the browser from an offline bundle (``serving.chart_bundle``, no CDN): a click on a site's
bar in the funnel narrows every other chart to that site, re-checked and re-suppressed on the
server. vl-convert runs in the kernel only for an export (SVG and PNG files).
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import zipfile
from collections.abc import Callable, Mapping
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

import altair as alt
import ipywidgets as widgets
import polars as pl
from altair.utils.selection import PointSelection

from workbench import config
from workbench.domain import model as m
from workbench.domain.instruments import SWEMWBS_COPYRIGHT
from workbench.domain.text import danish_sorted_by
from workbench.errors import InvalidInput
from workbench.i18n import t
from workbench.reporting import analysis, charts
from workbench.reporting import frames as fr
from workbench.reporting.suppression import policy_from_name
from workbench.service import Workbench
from workbench.serving import chart_bundle
from workbench.ui.signin import signed_in
from workbench.ui.widgets import (
    STYLE,
    Feedback,
    Field,
    Form,
    button,
    choice_field,
    esc,
    fmt_date,
    guard,
    lookup,
    parse_date,
    parse_int,
    section,
    text_field,
)

log = logging.getLogger("workbench.ui")

MODES = ("standard", "publication")
VIEWS = analysis.VIEWS
DIMENSIONS = ("status", "recruited_via", "load")


def enable_offline_charts() -> None:
    """Draw every ``JupyterChart`` from the offline bundle (no CDN; ``serving.chart_bundle``), which the
    browser downloads once per page: made with vl-convert by the first kernel of an installation,
    then found in the cache in milliseconds. The dashboard notebook calls it before the page request."""
    chart_bundle.enable()


def picked_site(selections: Mapping[str, Any]) -> str | None:
    """The site code a click on the funnel selected, from the browser's selection state (or None)."""
    state = selections.get(charts.SITE_PICK) or {}
    points = PointSelection.from_vega(charts.SITE_PICK, signal=state.get("value"), store=state.get("store", [])).value
    sites = {point.get("site") for point in points if isinstance(point, Mapping)}
    return str(sites.pop()) if len(sites) == 1 else None


TABLES = ("sites", "interventions", "targets")
"""The store tables a lead page reads itself (a preheated kernel reads these only): everything else
comes through the shared tables (``Workbench.lead_table``)."""

_BUILDERS: dict[str, Callable[[pl.DataFrame], alt.TopLevelSpec]] = {
    "progress": charts.progress_chart, "flow": charts.flow_chart, "sources": charts.referral_sources_chart,
    "waiting": charts.waiting_list_chart, "time_to_help": charts.time_to_help_chart, "lasting": charts.lasting_chart,
    "outcomes": charts.outcomes_chart,
}
"""The chart of each view that needs nothing but its table."""


class LeadApp:
    """The lead's dashboard over all sites, acting through one ``Workbench``."""

    def __init__(self, wb: Workbench) -> None:
        self.wb = wb
        self.feedback = Feedback()
        self.feedback.add_class("wb-lead-feedback")
        self.filters: analysis.Filters = analysis.NO_FILTERS
        self.focus: str | None = None  # a site picked in the funnel: narrows the other charts
        self.mode = "standard"
        self.charts: dict[str, alt.TopLevelSpec] = {}

        sites = wb.sites()
        self.site_names = {r["id"]: r["name"] for r in danish_sorted_by(sites, itemgetter("name"))}
        interventions = wb.interventions()
        self.intervention_names = {r["id"]: m.template_label(r["name"], r.get("template_version"))
                                   for r in danish_sorted_by(interventions.iter_rows(named=True), itemgetter("name"))}

        # --- filters ------------------------------------------------------------------------
        self.f_sites = Field("sites", t("ui.lead.filter.sites"), widgets.SelectMultiple(
            options=[(name, code) for code, name in self.site_names.items()], rows=min(6, max(2, len(sites)))))
        self.f_start = text_field("start", t("ui.lead.filter.start"), placeholder=t("ui.date_placeholder"))
        self.f_end = text_field("end", t("ui.lead.filter.end"), placeholder=t("ui.date_placeholder"))
        self.f_ages = Field("age_groups", t("ui.lead.filter.age_groups"), widgets.SelectMultiple(
            options=[(t(f"age_group.{g}"), g) for g in fr.AGE_GROUPS], rows=4))
        self.f_interventions = Field("interventions", t("ui.lead.filter.interventions"), widgets.SelectMultiple(
            options=[(name, iid) for iid, name in self.intervention_names.items()],
            rows=min(4, max(2, len(self.intervention_names)))))
        for typed in (self.f_start, self.f_end):
            typed.control.continuous_update = False  # redraw when the date is entered, not per keystroke
        self.f_mode = choice_field("mode", t("ui.lead.filter.mode"),
                                   [(t(f"ui.lead.mode.{name}"), name) for name in MODES], "standard")
        self.filter_form = Form([self.f_sites, self.f_start, self.f_end, self.f_ages, self.f_interventions,
                                 self.f_mode], columns=3)
        on_change = guard(self.feedback, self.filter_form)(self._apply)
        for field in self.filter_form.fields.values():
            field.control.observe(lambda _c, run=on_change: run(), names="value")
        self.update = button(t("ui.lead.update"), "primary")
        self.update.add_class("wb-lead-update")
        self.update.on_click(lambda _b: on_change())
        self.filter_text = widgets.HTML()

        # --- chart sections -----------------------------------------------------------------
        enable_offline_charts()
        self.outputs: dict[str, widgets.Box] = {view: widgets.VBox() for view in VIEWS}
        self.drawn: dict[str, alt.JupyterChart] = {}  # each made on its first draw (it needs a chart)
        for view, out in self.outputs.items():
            out.add_class("wb-chart")
            out.add_class(f"wb-lead-chart-{view}")
        self.focus_text = widgets.HTML()
        self.focus_text.add_class("wb-lead-focus")
        this_year = wb.today().year
        self.year = widgets.Dropdown(description=t("ui.lead.year"),
                                     options=[str(y) for y in range(this_year - 3, this_year + 2)],
                                     value=str(this_year))
        self.metric = widgets.Dropdown(description=t("ui.lead.metric"),
                                       options=[(t(f"ui.lead.metric.{v.value}"), v.value) for v in m.TargetMetric],
                                       value=m.TargetMetric.referrals.value)
        redraw_progress = guard(self.feedback)(lambda: self._draw("progress"))
        self.year.observe(lambda _c: redraw_progress(), names="value")
        self.metric.observe(lambda _c: redraw_progress(), names="value")
        self.dimension = widgets.Dropdown(description=t("ui.lead.dimension"),
                                          options=[(t(f"charts.volunteers.{d}"), d) for d in DIMENSIONS],
                                          value="status")
        redraw_volunteers = guard(self.feedback)(lambda: self._draw("volunteers"))
        self.dimension.observe(lambda _c: redraw_volunteers(), names="value")
        copyright_line = widgets.HTML(f'<p class="wb-hint wb-copyright">{esc(SWEMWBS_COPYRIGHT)}</p>')
        extras: dict[str, tuple[list[widgets.Widget], list[widgets.Widget]]] = {
            "funnel": ([], [self.focus_text]),
            "progress": ([widgets.HBox([self.year, self.metric])], []),
            "outcomes": ([], [copyright_line]),
            "volunteers": ([self.dimension], []),
        }
        sections = []
        for view in VIEWS:
            before, after = extras.get(view, ([], []))
            sections.append(section(t(f"ui.lead.section.{view}"), *before, self.outputs[view], *after))

        # --- targets ------------------------------------------------------------------------
        self.target_feedback = Feedback()
        self.target_feedback.add_class("wb-lead-target-feedback")
        self.t_site = choice_field("site_id", t("ui.lead.target.site"),
                                   [(name, code) for code, name in self.site_names.items()])
        self.t_year = text_field("year", t("ui.lead.year"), value=str(this_year))
        self.t_metric = choice_field("metric", t("ui.lead.metric"),
                                     [(t(f"ui.lead.metric.{v.value}"), v.value) for v in m.TargetMetric])
        self.t_value = text_field("value", t("ui.lead.target.value"))
        self.target_form = Form([self.t_site, self.t_year, self.t_metric, self.t_value], columns=4)
        self.save_target = button(t("ui.lead.target.save"), "primary")
        self.save_target.add_class("wb-lead-target-save")
        self.save_target.on_click(guard(self.target_feedback, self.target_form)(self._save_target))

        # --- export -------------------------------------------------------------------------
        self.export_feedback = Feedback()
        self.export_feedback.add_class("wb-lead-export-feedback")
        self.export_button = button(t("ui.lead.export"))
        self.export_button.add_class("wb-lead-export")
        self.export_button.on_click(guard(self.export_feedback)(lambda _b: self.export()))
        self.last_export: list[Path] = []

        header = widgets.HTML(
            f'<div class="wb-header"><h2>{esc(t("ui.lead.title"))}</h2>'
            f'<span>{esc(t("ui.lead.signed_in", user=wb.user.name))}</span></div>'
            f'<p class="wb-data-folder">{esc(t("cli.data_folder", path=str(wb.data_dir)))}</p>'
            f'<p class="wb-hint">{esc(t("ui.lead.hint"))}</p>'
        )
        self.widget = widgets.VBox([
            widgets.HTML(STYLE), header,
            section(t("ui.lead.section.filters"), self.filter_form.box, widgets.HBox([self.update]),
                    self.filter_text, self.feedback),
            *sections,
            section(t("ui.lead.section.targets"), self.target_form.box, widgets.HBox([self.save_target]),
                    self.target_feedback),
            section(t("ui.lead.section.export"), widgets.HBox([self.export_button]), self.export_feedback),
        ])
        self.widget.add_class("wb-app")
        self.widget.add_class("wb-lead")
        guard(self.feedback)(self.redraw)()

    # --- filters --------------------------------------------------------------------------------

    def read_filters(self) -> tuple[analysis.Filters, str]:
        """The filters and suppression mode on the page, re-checked on the server."""
        for code in self.f_sites.value:
            lookup(self.site_names, code, "sites")
        for label in self.f_interventions.value:
            lookup(self.intervention_names, label, "interventions")
        sites, interventions = tuple(self.f_sites.value), tuple(self.f_interventions.value)
        ages = tuple(lookup({g: g for g in fr.AGE_GROUPS}, g, "age_groups") for g in self.f_ages.value)
        mode = lookup({name: name for name in MODES}, self.f_mode.value, "mode")
        start = parse_date(self.f_start.value, "start")
        end = parse_date(self.f_end.value, "end")
        if start is not None and end is not None and start > end:
            raise InvalidInput("ui.lead.error.period", field="end")
        filters = analysis.Filters(sites=sites or None, start=start, end=end, age_groups=ages or None,
                                   interventions=interventions or None)
        return filters, mode

    def _apply(self) -> None:
        filters, mode = self.read_filters()
        if not analysis.filters_allowed(self.wb.frames, filters, policy_from_name(mode)):
            raise InvalidInput("ui.lead.error.too_few")
        self.filters, self.mode, self.focus = filters, mode, None
        self.redraw()

    @property
    def chart_filters(self) -> analysis.Filters:
        """The filters every chart but the funnel follows: the form's, narrowed to the picked site."""
        if self.focus is None:
            return self.filters
        return dataclasses.replace(self.filters, sites=(self.focus,))

    def _on_pick(self, change: Mapping[str, Any]) -> None:
        """A click in the funnel: narrow the other charts to that site (re-checked here), or widen again."""
        site = picked_site(change.get("new") or {})
        if site == analysis.TOTAL or (site is not None and site not in self.shown_sites()):
            site = None  # the total bar, or a site the page was never shown
        if site == self.focus:
            return
        previous, self.focus = self.focus, site
        if not analysis.filters_allowed(self.wb.frames, self.chart_filters, policy_from_name(self.mode)):
            self.focus = previous
            raise InvalidInput("ui.lead.error.too_few")
        self._show_focus()
        self._draw_all([view for view in VIEWS if view != "funnel"])

    def shown_sites(self) -> set[str]:
        """The sites the funnel offers under the form's filters."""
        return set(self.filters.sites) if self.filters.sites else set(self.site_names)

    def _show_focus(self) -> None:
        if self.focus is None:
            self.focus_text.value = f'<p class="wb-hint">{esc(t("ui.lead.focus.none"))}</p>'
        else:
            name = self.site_names.get(self.focus, self.focus)
            self.focus_text.value = f'<p class="wb-ok" role="status">{esc(t("ui.lead.focus.site", site=name))}</p>'
        self.filter_text.value = f'<p class="wb-hint wb-lead-filters">{esc(self.filters_text())}</p>'

    def filters_text(self) -> str:
        """The current filters in words, as printed on the page and the export."""
        f = self.filters
        every = t("ui.lead.all")
        sites = ", ".join(self.site_names.get(s, s) for s in f.sites) if f.sites else every
        ages = ", ".join(t(f"age_group.{g}") for g in f.age_groups) if f.age_groups else every
        labels = (", ".join(self.intervention_names.get(i, i) for i in f.interventions)
                  if f.interventions else every)
        period = t("ui.lead.period", start=fmt_date(f.start) or "…", end=fmt_date(f.end) or "…")
        text = t("ui.lead.filters_text", sites=sites, period=period, age_groups=ages, interventions=labels,
                 mode=t(f"ui.lead.mode.{self.mode}"))
        if self.focus is not None:
            text += t("ui.lead.focus.in_filters", site=self.site_names.get(self.focus, self.focus))
        return text

    # --- charts ---------------------------------------------------------------------------------

    def table(self, view: str) -> pl.DataFrame:
        """The suppressed table behind a view for the current filters and mode (read from the tables
        every lead page shares when no filter is chosen)."""
        filters = self.filters if view == "funnel" else self.chart_filters  # a click in the funnel narrows the others
        extra: dict[str, Any] = {"year": int(self.year.value), "metric": self.metric.value} if view == "progress" else {}
        return self.wb.lead_table(view, filters, mode=self.mode, **extra)

    def build(self, view: str) -> alt.TopLevelSpec:
        """One view's chart for the current filters and mode."""
        table = self.table(view)
        if view == "funnel":
            return charts.funnel_chart(table, pickable=True)
        if view == "volunteers":
            return charts.volunteers_chart(table, dimension=self.dimension.value)
        return _BUILDERS[view](table)

    def _draw(self, view: str) -> None:
        self._draw_all([view])

    def _draw_all(self, views: list[str]) -> None:
        """Build the views' charts and send them to the browser, which draws them (offline bundle):
        only the suppressed tables' rows leave the kernel, and no renderer runs in it."""
        with charts.fast_build():
            built = {view: self.build(view) for view in views}
        self.charts.update(built)
        for view, chart in built.items():
            self._show(view, chart)

    @property
    def funnel(self) -> alt.JupyterChart | None:
        """The funnel as drawn (a click on a site's bar picks that site)."""
        return self.drawn.get("funnel")

    def svg(self, view: str) -> str:
        """A shown view's chart as SVG (rendered here by vl-convert), as an export or a test reads it."""
        return charts.to_svg(self.charts[view])

    def _show(self, view: str, chart: alt.TopLevelSpec) -> None:
        """Send a chart to its section. The funnel goes whole (``JupyterChart`` sets up its click
        selection from it); the others, which select nothing, as their spec built without Altair's
        schema validation (a third of a page's build; the builders are tested with it on)."""
        drawn = self.drawn.get(view)
        if drawn is None:
            nothing_yet = cast("alt.TopLevelSpec", None)  # its ``chart`` trait allows None: no spec until the next lines
            drawn = self.drawn[view] = alt.JupyterChart(nothing_yet, embed_options={"renderer": "svg", "actions": False})
            if view == "funnel":
                drawn.observe(guard(self.feedback)(self._on_pick), names="_vl_selections")
            self.outputs[view].children = [drawn]
        if view == "funnel":
            drawn.chart = chart
        else:
            drawn.spec = chart.to_dict(validate=False)

    def redraw(self) -> None:
        """Re-read the store and redraw every chart for the current filters."""
        self.wb.refresh()
        self._show_focus()
        self._draw_all(list(VIEWS))

    # --- targets --------------------------------------------------------------------------------

    def _save_target(self, _button: Any = None) -> None:
        site = self.t_site.value
        lookup(self.site_names, site, "site_id")
        metric = lookup({v.value: v.value for v in m.TargetMetric}, self.t_metric.value, "metric")
        year = parse_int(self.t_year.value, "year")
        value = parse_int(self.t_value.value, "value")
        if year is None:
            raise InvalidInput("input.required", field="year")
        if value is None:
            raise InvalidInput("input.required", field="value")
        self.wb.set_target(site, year, metric, value)
        self.target_feedback.ok(t("ui.lead.target.saved", site=self.site_names[site], year=year, value=value))
        self._draw("progress")

    # --- export ---------------------------------------------------------------------------------

    def export(self) -> list[Path]:
        """Write the report (HTML) and every chart (SVG, PNG) to ``<data>/exports``; the paths."""
        if not self.charts:
            self.redraw()
        folder = self.wb.exports_folder()
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now()
        stem = f"rapport-{now:%Y%m%d-%H%M%S}"
        suffix = 1
        while (folder / f"{stem}.html").exists():
            suffix += 1
            stem = f"rapport-{now:%Y%m%d-%H%M%S}-{suffix}"
        filters = self.filters_text()
        named = {t(f"ui.lead.section.{view}"): self.charts[view] for view in VIEWS if view in self.charts}
        report = charts.report_html(named, filters, now)
        report = report.replace("</body>", f"<footer><p>{esc(SWEMWBS_COPYRIGHT)}</p></footer>\n</body>", 1)
        written = [folder / f"{stem}.html"]
        written[0].write_text(report, "utf-8")
        with charts.fast_build():
            alone = {view: charts.stamped(self.charts[view], filters, now) for view in VIEWS if view in self.charts}
        for view, svg in charts.to_svgs(alone).items():
            svg_path, png_path = folder / f"{stem}-{view}.svg", folder / f"{stem}-{view}.png"
            svg_path.write_text(svg, "utf-8")
            png_path.write_bytes(charts.to_png(alone[view]))
            written += [svg_path, png_path]
        bundle = folder / f"{stem}.zip"
        with zipfile.ZipFile(bundle, "w") as archive:
            for path in written:
                archive.write(path, path.name)
        written.append(bundle)
        self.last_export = written
        items = "".join(f"<li><code>{esc(p)}</code></li>" for p in written)
        links = " ".join(_download_link(path, t(f"ui.lead.download.{path.suffix[1:]}"))
                         for path in (written[0], bundle))
        self.export_feedback.value = (f'<div class="wb-ok" role="status">{esc(t("ui.lead.exported", n=len(written)))}'
                                      f'</div><ul>{items}</ul><p class="wb-lead-downloads">{links}</p>')
        return written


_MEDIA_TYPES = {".html": "text/html", ".zip": "application/zip"}


def _download_link(path: Path, label: str) -> str:
    """A link that hands the browser a copy of ``path`` (inlined: the page may run on another machine)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<a class="wb-download" download="{esc(path.name)}" '
            f'href="data:{_MEDIA_TYPES[path.suffix]};base64,{data}">{esc(label)}</a>')


def lead_app(data: str | None = None) -> widgets.Widget:
    """Build the dashboard of the signed-in project lead (every site, aggregated figures only)."""
    from workbench.serving.kernel import harden

    harden()
    handle = signed_in(config.data_dir(data), "lead")
    if isinstance(handle, widgets.Widget):
        return handle
    return LeadApp(handle).widget


__all__ = ["TABLES", "LeadApp", "lead_app"]
