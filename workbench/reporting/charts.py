"""The project lead's charts: Altair specs built from ``workbench.reporting.analysis`` tables.

Every builder takes an analysis table (already aggregated and suppressed, see
``workbench.reporting.suppression``) and returns an Altair chart whose data are *inlined*
(``alt.Data(values=...)``): the spec holds only the aggregated rows, never case data.

Suppressed counts are null in those tables: lines and bars show a gap there, and a text
mark at the baseline (and every tooltip) shows the cell's label ("<5", ".."), never a
hidden number. Titles and axis labels come from the message catalog (``charts.*`` keys),
Danish by default; pass ``lang="en"`` for English.

    from workbench.reporting import analysis, charts
    spec = charts.funnel_chart(analysis.funnel(wb.frames)).to_dict()
    charts.to_svg(charts.funnel_chart(...))

Export: ``to_svg`` / ``to_png`` render with vl-convert (offline), ``report_html`` puts the
SVGs of several charts on one self-contained page with the filters and the date printed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any, Literal, TypeVar

import altair as alt
import polars as pl

from workbench.i18n import catalog, language, t

__all__ = [
    "fast_build",
    "flow_chart",
    "funnel_chart",
    "lasting_chart",
    "outcomes_chart",
    "progress_chart",
    "referral_sources_chart",
    "report_html",
    "stamped",
    "time_to_help_chart",
    "to_png",
    "to_svg",
    "to_svgs",
    "values",
    "volunteers_chart",
    "waiting_list_chart",
]

_TOTAL = "total"
_CLICK_NOT_ON_TOTAL = "click[!(event.item && event.item.datum && event.item.datum.is_total)]"
SITE_PICK = "site_pick"
"""The funnel's click selection of a site (``funnel_chart(..., pickable=True)``)."""
_WIDTH = 520
_Top = TypeVar("_Top", alt.LayerChart, alt.FacetChart)


# --- helpers --------------------------------------------------------------------------------------


def values(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows of an aggregated table as JSON-ready dicts (dates as ISO text, nulls as None)."""
    temporal = [name for name, dtype in frame.schema.items() if dtype in (pl.Date, pl.Datetime)]
    if temporal:
        frame = frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d") for c in temporal)
    return frame.to_dicts()


def _data(frame: pl.DataFrame) -> alt.Data:
    return alt.Data(values=values(frame))  # type: ignore[no-untyped-call]  # altair's generated Data.__init__ is untyped


_LOCALES: dict[str, Literal["da-DK", "en-US"]] = {"da": "da-DK", "en": "en-US"}


@cache
def _locale(lang: str) -> dict[str, Any]:
    """Vega's number and time format locale for a catalog language (Danish: ``1.435``, ``maj 2026``)."""
    import vl_convert as vlc

    name = _LOCALES[lang]
    return {"number": vlc.get_format_locale(name), "time": vlc.get_time_format_locale(name)}


def _inline(chart: _Top, frame: pl.DataFrame, lang: str | None) -> _Top:
    """``chart`` with ``frame``'s rows inlined and the language's format locale in its config.

    Count labels are text (a hidden cell reads "<5" or ".."); a label that is a plain number is
    formatted again by Vega, so it takes the locale's thousands separator like the axes do.
    """
    labels = [c for c, dtype in frame.schema.items() if (c == "label" or c.endswith("_label")) and dtype == pl.String]
    numbers = {c: f"test(/^[0-9]+$/, datum['{c}']) ? format(toNumber(datum['{c}']), ',') : datum['{c}']"
               for c in labels}
    placed = chart.properties(data=_data(frame)) if chart.data is alt.Undefined else chart  # a facet takes it itself
    if numbers:
        placed = placed.transform_calculate(**numbers)
    configured: _Top = placed.configure(locale=_locale(lang or language()))
    return configured


def _layer(*charts: Any, **kwargs: Any) -> alt.LayerChart:
    """``alt.layer``, typed to return a ``FacetChart`` too: it does only for layers sharing row/column/facet
    encodings, which ours never have."""
    chart = alt.layer(*charts, **kwargs)
    assert isinstance(chart, alt.LayerChart)
    return chart


def _name(prefix: str, value: str | None, lang: str | None) -> str:
    """A category's display name from the catalog (``prefix.value``), else the value itself."""
    if value is None:
        return ""
    if value == _TOTAL:
        return t("charts.total", lang)
    messages = catalog(lang or language())
    for key in (f"{prefix}.{value}", f"charts.{prefix}.{value}"):
        if key in messages:
            return t(key, lang)
    return value


def _named(frame: pl.DataFrame, column: str, prefix: str, lang: str | None, alias: str | None = None) -> pl.DataFrame:
    names = [_name(prefix, v, lang) for v in frame.get_column(column).to_list()]
    return frame.with_columns(pl.Series(alias or f"{column}_name", names, dtype=pl.String))


def _order(frame: pl.DataFrame, column: str) -> list[str]:
    return frame.get_column(column).unique(maintain_order=True).to_list()


def _with_site_name(frame: pl.DataFrame, lang: str | None, column: str = "site") -> pl.DataFrame:
    return _named(frame, column, "charts.site", lang, alias=f"{column}_name")


def _baseline(frame_value: str) -> alt.Expr | str:
    """A calculate expression: the value, or 0 when it is hidden (to place its label at the baseline)."""
    return f"datum['{frame_value}'] == null ? 0 : datum['{frame_value}']"


def _title(key: str, lang: str | None, *, gaps: bool = False) -> alt.TitleParams:
    """A chart's title; ``gaps``: with the subtitle that explains the gaps hidden numbers leave in a line."""
    if gaps:
        return alt.TitleParams(t(key, lang), anchor="start", subtitle=t("charts.gaps", lang), subtitleFontSize=10)
    return alt.TitleParams(t(key, lang), anchor="start")


# --- 1. funnel ------------------------------------------------------------------------------------


def funnel_chart(funnel: pl.DataFrame, *, lang: str | None = None, pickable: bool = False) -> alt.LayerChart:
    """Bars per step (x) and site (side by side, total included), with the shown count on each bar
    and, above the total's bars, the conversion rate from referral.

    ``funnel``: ``analysis.funnel``. Tooltip: site, step, count label and both conversion rates' labels.
    ``pickable``: a click on a bar selects its site (a point selection named ``SITE_PICK`` on the
    ``site`` field, read back through ``alt.JupyterChart``); the other sites fade.
    """
    frame = _with_site_name(_named(funnel, "step", "charts.step", lang), lang)
    steps = _order(frame.sort("step_no"), "step_name")
    sites = _order(frame, "site_name")
    x = alt.X("step_name:N", sort=steps, title=t("charts.axis.step", lang), axis=alt.Axis(labelAngle=0))
    color = alt.Color("site_name:N", sort=sites, title=t("charts.axis.site", lang))
    tooltip = [alt.Tooltip("site_name:N", title=t("charts.axis.site", lang)),
               alt.Tooltip("step_name:N", title=t("charts.axis.step", lang)),
               alt.Tooltip("count_label:N", title=t("charts.axis.people", lang)),
               alt.Tooltip("from_previous_label:N", title=t("charts.tooltip.from_previous", lang)),
               alt.Tooltip("from_referral_label:N", title=t("charts.tooltip.from_referral", lang))]
    base = alt.Chart().encode(x=x, xOffset=alt.XOffset("site_name:N", sort=sites), tooltip=tooltip)
    bars = base.mark_bar().encode(y=alt.Y("count:Q", title=t("charts.axis.people", lang)), color=color)
    if pickable:
        # A click on a total bar is ignored: the total is no site to narrow the other charts to.
        pick = alt.selection_point(name=SITE_PICK, fields=["site"], on=_CLICK_NOT_ON_TOTAL)
        bars = bars.add_params(pick).encode(opacity=alt.condition(pick, alt.value(1.0), alt.value(0.3)))
    text = base.mark_text(dy=-4, baseline="bottom", fontSize=9).transform_calculate(
        _y=_baseline("count")).encode(y="_y:Q", text="count_label:N")
    rate = base.mark_text(dy=-15, baseline="bottom", fontSize=9, fontWeight="bold").transform_filter(
        "datum.is_total && datum.step_no > 0").transform_calculate(_y=_baseline("count")).encode(
        y="_y:Q", text="from_referral_label:N")
    return _inline(_layer(bars, text, rate).properties(
        title=_title("charts.funnel.title", lang), width=int(_WIDTH * 1.5)), frame, lang)


# --- 2. progress against target -------------------------------------------------------------------


def progress_chart(progress: pl.DataFrame, *, lang: str | None = None) -> alt.LayerChart:
    """Cumulative actual (solid line with points) against the cumulative target (dashed) per site.

    ``progress``: ``analysis.progress``. A hidden actual is a gap in the line (the subtitle says so).
    """
    frame = _with_site_name(progress, lang)
    sites = _order(frame, "site_name")
    x = alt.X("month:T", title=t("charts.axis.month", lang), axis=alt.Axis(format="%b %Y"))
    color = alt.Color("site_name:N", sort=sites, title=t("charts.axis.site", lang))
    tooltip = [alt.Tooltip("site_name:N", title=t("charts.axis.site", lang)),
               alt.Tooltip("month:T", title=t("charts.axis.month", lang), format="%b %Y"),
               alt.Tooltip("actual_label:N", title=t("charts.progress.actual", lang)),
               alt.Tooltip("target:Q", title=t("charts.progress.target", lang), format=".1f")]
    y_title = t("charts.progress.axis", lang)
    actual = alt.Chart().mark_line(point=True, invalid="break-paths-show-domains").encode(
        x=x, y=alt.Y("actual:Q", title=y_title), color=color, tooltip=tooltip)
    target = alt.Chart().mark_line(strokeDash=[4, 3], opacity=0.7).encode(
        x=x, y=alt.Y("target:Q", title=y_title), color=color, tooltip=tooltip)
    return _inline(_layer(target, actual).properties(
        title=_title("charts.progress.title", lang, gaps=True), width=_WIDTH), frame, lang)


# --- 3. flow over time ----------------------------------------------------------------------------


def _monthly_lines(sites: list[str], value: str, label: str, extra: list[alt.Tooltip],
                   lang: str | None, *, partial: bool = False) -> alt.LayerChart:
    """A line per site over months; a hidden (suppressed) month is a gap in its line (the title's
    subtitle says so: labels at the baseline of every gap would bury the lines).

    ``partial``: the data has a ``partial`` column marking the month still running (hollow point).
    """
    x = alt.X("month:T", title=t("charts.axis.month", lang), axis=alt.Axis(format="%b %Y"))
    color = alt.Color("site_name:N", sort=sites, title=t("charts.axis.site", lang))
    tooltip = [alt.Tooltip("site_name:N", title=t("charts.axis.site", lang)),
               alt.Tooltip("month:T", title=t("charts.axis.month", lang), format="%b %Y"),
               *extra, alt.Tooltip(f"{label}:N", title=t("charts.axis.people", lang))]
    y = alt.Y(f"{value}:Q", title=t("charts.axis.people", lang))
    line = alt.Chart().mark_line(point=True, invalid="break-paths-show-domains").encode(
        x=x, y=y, color=color, tooltip=tooltip)
    if not partial:
        return _layer(line)
    # A month still running is a hollow point off the line, so it does not read as a sudden drop.
    note = alt.Tooltip("partial_note:N", title=t("charts.axis.month", lang))
    running = alt.Chart().mark_point(filled=False, size=40).transform_filter("datum.partial").transform_calculate(
        partial_note=json.dumps(t("charts.partial_month", lang), ensure_ascii=False)).encode(
        x=x, y=y, color=color, tooltip=[*tooltip, note])
    return _layer(line.transform_filter("!datum.partial"), running)

_FLOW = ("referrals", "escorts", "closures")


def flow_chart(flow: pl.DataFrame, *, lang: str | None = None) -> alt.FacetChart:
    """Referrals, escorts and closures per month (one panel each), a line per site.

    ``flow``: ``analysis.flow``. Reshaped in polars to one row per site, month and measure
    (``measure``, ``value``, ``label``, ``suppressed``) before it is inlined.
    """
    long = pl.concat([
        flow.select("site", "is_total", "month", pl.lit(m).alias("measure"), pl.col(m).alias("value"),
                    pl.col(f"{m}_label").alias("label"), pl.col(f"{m}_suppressed").alias("suppressed"), "partial")
        for m in _FLOW])
    frame = _with_site_name(_named(long, "measure", "charts.flow", lang), lang)
    sites = _order(frame, "site_name")
    measures = [_name("charts.flow", m, lang) for m in _FLOW]
    extra = [alt.Tooltip("measure_name:N", title=t("charts.axis.measure", lang))]
    layered = _monthly_lines(sites, "value", "label", extra, lang, partial=True).properties(
        width=_WIDTH, height=140)
    faceted = layered.facet(
        row=alt.Row("measure_name:N", sort=measures, title=None), data=_data(frame),
    ).properties(title=_title("charts.flow.title", lang, gaps=True))
    return _inline(faceted, frame, lang)


def referral_sources_chart(sources: pl.DataFrame, *, lang: str | None = None) -> alt.LayerChart:
    """Who refers: each source's share of a site's referrals, a bar per site, the share on top.

    ``sources``: ``analysis.referral_sources``. A hidden share shows its label ("<5", "..").
    """
    frame = _with_site_name(_named(sources, "source", "referral_source", lang), lang)
    source_names = _order(frame, "source_name")
    sites = _order(frame, "site_name")
    source_title = t("charts.axis.source", lang)
    x = alt.X("source_name:N", sort=source_names, title=source_title, axis=alt.Axis(labelAngle=-30))
    tooltip = [alt.Tooltip("site_name:N", title=t("charts.axis.site", lang)),
               alt.Tooltip("source_name:N", title=source_title),
               alt.Tooltip("referrals_label:N", title=t("charts.axis.people", lang)),
               alt.Tooltip("share_label:N", title=t("charts.axis.share", lang))]
    base = alt.Chart().encode(x=x, xOffset=alt.XOffset("site_name:N", sort=sites), tooltip=tooltip)
    bars = base.mark_bar().encode(y=alt.Y("share:Q", title=t("charts.axis.share", lang), axis=alt.Axis(format="%")),
                                  color=alt.Color("site_name:N", sort=sites, title=t("charts.axis.site", lang)))
    text = base.mark_text(dy=-4, baseline="bottom", fontSize=8, angle=0).transform_calculate(
        _y=_baseline("share")).encode(y="_y:Q", text="share_label:N")
    return _inline(_layer(bars, text).properties(
        title=_title("charts.sources.title", lang), width=int(_WIDTH * 1.5)), frame, lang)


# --- 4. time to help ------------------------------------------------------------------------------


def time_to_help_chart(time_to_help: pl.DataFrame, *, lang: str | None = None) -> alt.LayerChart:
    """A box per site and measure drawn from the precomputed statistics (no raw waiting times).

    Rule min-max, bar q1-q3, tick at the median; ``analysis.time_to_help``. A site whose
    statistics are hidden shows its n label ("<5", "..") instead of a box.
    """
    frame = _with_site_name(_named(time_to_help, "measure", "charts.measure", lang), lang)
    sites = _order(frame, "site_name")
    measures = _order(frame, "measure_name")
    y = alt.Y("site_name:N", sort=sites, title=t("charts.axis.site", lang))
    y_offset = alt.YOffset("measure_name:N", sort=measures)
    color = alt.Color("measure_name:N", sort=measures, title=t("charts.axis.measure", lang))
    days = t("charts.axis.days", lang)
    tooltip = [alt.Tooltip("site_name:N", title=t("charts.axis.site", lang)),
               alt.Tooltip("measure_name:N", title=t("charts.axis.measure", lang)),
               alt.Tooltip("n_label:N", title="n"),
               *(alt.Tooltip(f"{s}:Q", title=t(f"charts.box.{s}", lang), format=".1f")
                 for s in ("min", "q1", "median", "q3", "max"))]
    base = alt.Chart().encode(y=y, yOffset=y_offset, color=color, tooltip=tooltip)
    rule = base.mark_rule().encode(x=alt.X("min:Q", title=days), x2="max:Q")
    box = base.mark_bar(size=10, opacity=0.8).encode(x=alt.X("q1:Q", title=days), x2="q3:Q")
    median = base.mark_tick(color="black", thickness=2, size=12).encode(x=alt.X("median:Q", title=days))
    hidden = base.mark_text(align="left", dx=2, fontSize=9).transform_filter("datum.median == null").encode(
        x=alt.datum(0), text="n_label:N")
    return _inline(_layer(rule, box, median, hidden).properties(
        title=_title("charts.time_to_help.title", lang), width=_WIDTH), frame, lang)


def waiting_list_chart(waiting: pl.DataFrame, *, lang: str | None = None) -> alt.LayerChart:
    """Citizens waiting for a brobygger at each month's end, a line per site (``analysis.waiting_list``)."""
    frame = _with_site_name(waiting, lang)
    lines = _monthly_lines(_order(frame, "site_name"), "waiting", "waiting_label", [], lang)
    return _inline(lines.properties(title=_title("charts.waiting.title", lang, gaps=True), width=_WIDTH, height=160),
                   frame, lang)


# --- 5. lasting participation ---------------------------------------------------------------------


def lasting_chart(lasting: pl.DataFrame, *, lang: str | None = None) -> alt.LayerChart:
    """Share still taking part at week 0, 4 and 12 after the escort, a step line per community kind.

    ``analysis.lasting``; the curve is its ``survival`` (censored cases leave the risk set,
    they are not counted as dropped). The tooltip gives at risk, still, censored, no follow-up.
    """
    frame = _named(lasting, "kind", "community_kind", lang)
    kinds = _order(frame, "kind_name")
    x = alt.X("week:Q", title=t("charts.axis.weeks", lang), scale=alt.Scale(domain=[0, 12]),
              axis=alt.Axis(values=[0, 4, 12]))
    color = alt.Color("kind_name:N", sort=kinds, title=t("charts.axis.kind", lang),
                      scale=alt.Scale(scheme="tableau20"))  # more kinds than ten colours
    tooltip = [alt.Tooltip("kind_name:N", title=t("charts.axis.kind", lang)),
               alt.Tooltip("week:Q", title=t("charts.axis.weeks", lang)),
               alt.Tooltip("survival_label:N", title=t("charts.lasting.share", lang)),
               alt.Tooltip("n_at_risk_label:N", title=t("charts.lasting.at_risk", lang)),
               alt.Tooltip("still_label:N", title=t("charts.lasting.still", lang)),
               alt.Tooltip("censored_label:N", title=t("charts.lasting.censored", lang)),
               alt.Tooltip("no_follow_up_label:N", title=t("charts.lasting.no_follow_up", lang))]
    line = alt.Chart().mark_line(interpolate="step-after", point=True, invalid="break-paths-show-domains").encode(
        x=x, y=alt.Y("survival:Q", title=t("charts.lasting.share", lang), scale=alt.Scale(domain=[0, 1]),
                     axis=alt.Axis(format="%")),
        color=color, tooltip=tooltip)
    hidden = alt.Chart().mark_text(baseline="bottom", fontSize=9).transform_filter(
        "datum.survival == null").encode(x=x, y=alt.datum(0), text="survival_label:N", color=color, tooltip=tooltip)
    return _inline(_layer(line, hidden).properties(
        title=_title("charts.lasting.title", lang), width=_WIDTH), frame, lang)


# --- 6. outcomes ----------------------------------------------------------------------------------


def outcomes_chart(outcomes: pl.DataFrame, *, lang: str | None = None) -> alt.LayerChart:
    """Mean paired change per instrument (and mode, when shown) with its 95 % confidence interval.

    ``analysis.outcomes``. Every row shows "n = <its label>" in a column right of the plot; a row
    whose statistics are hidden (fewer than ``min_count`` pairs) has no point or interval.
    """
    frame = _named(_named(outcomes, "instrument", "instrument", lang), "mode", "charts.mode", lang)
    instruments = _order(frame, "instrument_name")
    modes = _order(frame, "mode_name")
    y = alt.Y("instrument_name:N", sort=instruments, title=t("charts.axis.instrument", lang))
    y_offset = alt.YOffset("mode_name:N", sort=modes)
    color = alt.Color("mode_name:N", sort=modes, title=t("charts.axis.mode", lang),
                      legend=alt.Legend(orient="bottom"))  # the right edge holds the n column
    change = t("charts.outcomes.change", lang)
    tooltip = [alt.Tooltip("instrument_name:N", title=t("charts.axis.instrument", lang)),
               alt.Tooltip("mode_name:N", title=t("charts.axis.mode", lang)),
               alt.Tooltip("n_label:N", title="n"),
               alt.Tooltip("mean_baseline:Q", title=t("charts.outcomes.baseline", lang), format=".2f"),
               alt.Tooltip("mean_follow_up:Q", title=t("charts.outcomes.follow_up", lang), format=".2f"),
               alt.Tooltip("mean_change:Q", title=change, format=".2f"),
               alt.Tooltip("ci_low:Q", title=t("charts.outcomes.ci_low", lang), format=".2f"),
               alt.Tooltip("ci_high:Q", title=t("charts.outcomes.ci_high", lang), format=".2f")]
    base = alt.Chart().encode(y=y, yOffset=y_offset, color=color, tooltip=tooltip)
    zero = alt.Chart().mark_rule(color="grey", strokeDash=[2, 2], aria=False).encode(x=alt.datum(0))  # a guide line
    interval = base.mark_rule(strokeWidth=2).encode(x=alt.X("ci_low:Q", title=change), x2="ci_high:Q")
    point = base.mark_point(filled=True, size=60).encode(x=alt.X("mean_change:Q", title=change))
    n_text = base.mark_text(align="left", dx=6, fontSize=9).transform_calculate(
        _n="'n = ' + datum.n_label").encode(x=alt.value(_WIDTH), text="_n:N")  # a column right of the plot
    return _inline(_layer(zero, interval, point, n_text).properties(
        title=_title("charts.outcomes.title", lang), width=_WIDTH), frame, lang)


# --- 7. volunteers --------------------------------------------------------------------------------

_DIMENSION_PREFIX = {"status": "volunteer_status", "recruited_via": "recruitment", "load": "charts.load",
                     "total": "charts.volunteers"}


def volunteers_chart(volunteers: pl.DataFrame, *, dimension: str = "status",
                     lang: str | None = None) -> alt.LayerChart:
    """Brobyggere per category of one dimension (``"status"``: the pipeline, ``"recruited_via"``,
    ``"load"``: open cases of the active ones, ``"total"``), a bar per site, count label on top.

    ``volunteers``: ``analysis.volunteers``.
    """
    if dimension not in _DIMENSION_PREFIX:
        raise ValueError(f"unknown dimension {dimension!r}; choose one of {sorted(_DIMENSION_PREFIX)}")
    frame = volunteers.filter(pl.col("dimension") == dimension)
    frame = _with_site_name(_named(frame, "category", _DIMENSION_PREFIX[dimension], lang), lang)
    categories = _order(frame, "category_name")
    sites = _order(frame, "site_name")
    x = alt.X("category_name:N", sort=categories, title=t(f"charts.volunteers.{dimension}", lang),
              axis=alt.Axis(labelAngle=0))
    tooltip = [alt.Tooltip("site_name:N", title=t("charts.axis.site", lang)),
               alt.Tooltip("category_name:N", title=t(f"charts.volunteers.{dimension}", lang)),
               alt.Tooltip("volunteers_label:N", title=t("charts.axis.volunteers", lang))]
    base = alt.Chart().encode(x=x, xOffset=alt.XOffset("site_name:N", sort=sites), tooltip=tooltip)
    bars = base.mark_bar().encode(y=alt.Y("volunteers:Q", title=t("charts.axis.volunteers", lang)),
                                  color=alt.Color("site_name:N", sort=sites, title=t("charts.axis.site", lang)))
    text = base.mark_text(dy=-4, baseline="bottom", fontSize=9).transform_calculate(
        _y=_baseline("volunteers")).encode(y="_y:Q", text="volunteers_label:N")
    return _inline(_layer(bars, text).properties(
        title=_title("charts.volunteers.title", lang), width=_WIDTH), frame, lang)


# --- export ---------------------------------------------------------------------------------------


def _vl_version() -> str:
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return f"{major}_{minor}"


def to_svg(chart: alt.TopLevelSpec) -> str:
    """The chart as an SVG document (rendered offline by vl-convert).

    The spec is not re-validated here (the chart tests validate every builder's spec), which
    saves about half of the conversion time on the dashboard.
    """
    import vl_convert as vlc

    return str(vlc.vegalite_to_svg(chart.to_dict(validate=False), vl_version=_vl_version()))


def to_svgs(charts: Mapping[str, alt.TopLevelSpec]) -> dict[str, str]:
    """Several charts as SVG at once: vl-convert renders outside the GIL, so threads overlap."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(charts, pool.map(to_svg, charts.values()), strict=True))


def fast_build() -> Any:
    """A context in which Altair skips validating each chart part as it is built (``debug_mode``).

    Building every chart of a page takes about a third less time; specs stay valid because the
    builders are tested with validation on.
    """
    from altair.utils.schemapi import debug_mode

    return debug_mode(False)


def to_png(chart: alt.TopLevelSpec, scale: float = 2.0) -> bytes:
    """The chart as a PNG image (rendered offline by vl-convert)."""
    import vl_convert as vlc

    return bytes(vlc.vegalite_to_png(chart.to_dict(validate=False), vl_version=_vl_version(), scale=scale))


_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
          "header p{margin:.2em 0}section{margin:2em 0;page-break-inside:avoid}"
          "svg{max-width:100%;height:auto}")


def _when(created: datetime | date) -> str:
    """A creation time as Danish users write it (dd-mm-åååå, with the time of day if known)."""
    return created.strftime("%d-%m-%Y %H:%M") if isinstance(created, datetime) else created.strftime("%d-%m-%Y")


def stamped(chart: alt.TopLevelSpec, filters_text: str, created: datetime | date, *,
            lang: str | None = None) -> alt.TopLevelSpec:
    """A copy of ``chart`` with the filters and the creation time printed under its title, so an
    exported SVG or PNG says on its face what it shows (the report prints them once at the top)."""
    copy = chart.copy(deep=False)  # the data is shared; only the title is replaced
    title = chart.title.to_dict() if isinstance(chart.title, alt.TitleParams) else {}
    subtitle = title.get("subtitle", [])
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    lines += [f"{t('charts.report.filters', lang)}: {filters_text or t('charts.report.no_filters', lang)}",
              f"{t('charts.report.created', lang)}: {_when(created)}"]
    copy.title = alt.TitleParams(title.get("text", ""), anchor="start", subtitle=lines, subtitleFontSize=10)
    return copy


def report_html(charts: Mapping[str, alt.TopLevelSpec], filters_text: str, created: datetime | date, *,
                lang: str | None = None) -> str:
    """A self-contained HTML report: every chart as inline SVG under its heading (the dict's key),
    the filters and the creation date printed at the top. No scripts, no external resources."""
    when = _when(created)
    parts = [
        "<!DOCTYPE html>", f'<html lang="{html.escape(lang or language())}">', "<head>", '<meta charset="utf-8">',
        f"<title>{html.escape(t('charts.report.title', lang))}</title>", f"<style>{_STYLE}</style>", "</head>",
        "<body>", "<header>", f"<h1>{html.escape(t('charts.report.title', lang))}</h1>",
        (f"<p><strong>{html.escape(t('charts.report.filters', lang))}:</strong> "
        f"{html.escape(filters_text or t('charts.report.no_filters', lang))}</p>"),
        f"<p><strong>{html.escape(t('charts.report.created', lang))}:</strong> {html.escape(when)}</p>",
        f"<p>{html.escape(t('charts.report.suppression', lang))}</p>", "</header>",
    ]
    for heading, chart in charts.items():
        parts += ["<section>", f"<h2>{html.escape(heading)}</h2>", to_svg(chart), "</section>"]
    parts += ["</body>", "</html>"]
    return "\n".join(parts)
