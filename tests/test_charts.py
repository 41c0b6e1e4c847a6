"""The project lead's charts: the numbers inlined in each Vega-Lite spec are the analysis numbers,
suppressed cells never show their number, and the export is offline and self-contained.

The fixture is recorded through the real service: ODE has 6 escorted citizens, SVE exactly 3
(the issue's "a site with 3 escorted citizens never shows 3 anywhere in the spec or the export").
"""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from people import staff

import workbench
from workbench.reporting import analysis as a
from workbench.reporting import charts as c
from workbench.reporting.suppression import STANDARD, SuppressionPolicy
from workbench.service import Workbench

TODAY = date(2026, 9, 30)
CONSENTS = [{"purpose": "case_work", "given": True}, {"purpose": "follow_up_contact", "given": True}]
COUNT_FIELDS = ("count", "actual", "value", "n", "volunteers", "referrals", "waiting", "n_at_risk", "still", "censored", "no_follow_up")


def _case(wb: Workbench, site: str, volunteer: str, community: str, start: date, number: int,
          scores: tuple[list[int], list[int]] | None) -> None:
    day = lambda n: date.fromordinal(start.toordinal() + n)
    case = wb.open_referral(site_id=site, citizen={"display_name": f"Borger {site}{number}",
                                                   "birth_year": 1950 + 5 * number, "referral_source": "doctor"},
                            consents=CONSENTS, on=start)
    cid = case["id"]
    wb.record_event(cid, "contact_made", on=day(1 + number))
    if scores:
        wb.record_measure(cid, instrument="ucla3", answers=scores[0], timepoint="baseline", mode="self_completed",
                          on=day(1 + number))
    wb.assign(cid, volunteer, on=day(2 + number))
    wb.record_event(cid, "conversation_held", community_id=community, on=day(5 + number))
    wb.record_event(cid, "escort_planned", planned_for=day(10 + 2 * number), on=day(6 + number))
    wb.record_event(cid, "escort_completed", attended=True, on=day(10 + 2 * number))
    wb.record_event(cid, "follow_up", week=4, still_participating=number % 2 == 0, on=day(38 + 2 * number))
    if scores:
        wb.record_measure(cid, instrument="ucla3", answers=scores[1], timepoint="follow_up", mode="self_completed",
                          on=day(40 + 2 * number))


@pytest.fixture(scope="module")
def wb(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    wb = workbench.open(tmp_path_factory.mktemp("charts") / "data", user=staff("t"), today=lambda: TODAY)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    wb.add_site("SVE", "Frivilligcenter Svendborg", "Svendborg")
    vols = {s: [wb.register_volunteer(site_id=s, name=f"Frivillig {s}{i}", status="active", capacity=10)["id"]
                for i in range(n)] for s, n in (("ODE", 6), ("SVE", 1))}
    kinds = {"ODE": "creative", "SVE": "nature"}
    comm = {s: wb.add_community(site_id=s, name=f"Fællesskab {s}", organiser="Forening", kind=kinds[s],
                                postal_code="5000" if s == "ODE" else "5700")["id"] for s in kinds}
    answers = ([([3, 3, 3], [2, 2, 2]), ([3, 3, 2], [2, 2, 2]), ([2, 3, 3], [2, 2, 1]), ([3, 2, 3], [1, 2, 2]),
                ([3, 3, 3], [3, 2, 2]), ([2, 2, 3], [2, 2, 2])])
    for i in range(6):
        _case(wb, "ODE", vols["ODE"][i], comm["ODE"], date.fromordinal(date(2026, 1, 5).toordinal() + 7 * i), i, answers[i])
    for i in range(3):
        _case(wb, "SVE", vols["SVE"][0], comm["SVE"], date(2026, 2, 2 + 7 * i), i, None)
    wb.set_target("ODE", 2026, "escorts", 24)
    wb.set_target("SVE", 2026, "escorts", 12)
    return wb


def rows(chart: Any) -> list[dict[str, Any]]:
    """The inlined data of a chart's spec (Altair may move it to the top-level ``datasets``)."""
    spec = chart.to_dict()
    if "datasets" in spec:
        (values,) = spec["datasets"].values()
        return values  # type: ignore[no-any-return]
    return spec["data"]["values"]  # type: ignore[no-any-return]


def _project(records: list[dict[str, Any]], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(r[col] for col in columns) for r in records]


def _same(chart: Any, table: pl.DataFrame, *columns: str) -> None:
    assert _project(rows(chart), columns) == _project(c.values(table), columns)


def test_funnel_chart_holds_the_funnel(wb: Workbench) -> None:
    table = a.funnel(wb.frames)
    chart = c.funnel_chart(table)
    _same(chart, table, "site", "step", "count", "count_label", "from_previous_label", "from_referral_label")
    data = {(r["site"], r["step"]): r for r in rows(chart)}
    assert data[("total", "escorted")]["count"] == 9 and data[("ODE", "escorted")]["count_label"] == ".."
    assert data[("SVE", "escorted")]["count"] is None and data[("SVE", "escorted")]["count_label"] == "<5"
    assert data[("total", "referred")]["site_name"] == "I alt" and data[("ODE", "escorted")]["step_name"] == "Brobygget"
    spec = chart.to_dict()
    assert spec["title"]["text"] == "Tragt: fra henvisning til varig deltagelse"
    assert c.funnel_chart(table, lang="en").to_dict()["title"]["text"].startswith("Funnel")


def test_progress_chart_holds_cumulative_actual_and_target(wb: Workbench) -> None:
    table = a.progress(wb.frames, wb._store.frame("targets"), year=2026, metric="escorts", as_of=TODAY)
    chart = c.progress_chart(table)
    _same(chart, table, "site", "month", "actual", "actual_label", "actual_suppressed", "target")
    data = {(r["site"], r["month"]): r for r in rows(chart)}
    assert data[("total", "2026-03-01")]["actual"] == 9 and data[("total", "2026-03-01")]["target"] == pytest.approx(9)
    assert data[("ODE", "2026-06-01")]["target"] == pytest.approx(12) and data[("ODE", "2026-06-01")]["actual"] is None
    assert data[("ODE", "2026-12-01")]["actual"] is None  # after as_of
    assert all(r["actual"] in (None, 0) and r["actual_label"] in ("<5", "0", "")
               for r in rows(chart) if r["site"] == "SVE")


def test_flow_chart_holds_the_monthly_counts(wb: Workbench) -> None:
    table = a.flow(wb.frames)
    chart = c.flow_chart(table)
    data = {(r["site"], r["month"], r["measure"]): (r["value"], r["label"]) for r in rows(chart)}
    for record in c.values(table):
        for measure in ("referrals", "escorts", "closures"):
            key = (record["site"], record["month"], measure)
            assert data[key] == (record[measure], record[f"{measure}_label"])
    assert len(data) == 3 * table.height
    assert data[("SVE", "2026-02-01", "escorts")] == (None, "<5")


def test_referral_sources_chart_holds_each_sources_share(wb: Workbench) -> None:
    table = a.referral_sources(wb.frames)
    chart = c.referral_sources_chart(table)
    _same(chart, table, "site", "source", "referrals", "referrals_label", "share", "share_label")
    data = {(r["site"], r["source"]): r for r in rows(chart)}
    shown = [r for r in rows(chart) if r["site"] == "total" and r["share"] is not None]
    assert shown and sum(r["referrals"] for r in shown) <= 9
    sve = [r for r in rows(chart) if r["site"] == "SVE"]  # three referrals: every non-zero cell hidden
    assert all(r["referrals"] in (0, None) for r in sve) and any(r["referrals_label"] == "<5" for r in sve)
    assert data[("total", "self")]["source_name"] == "Borgeren selv"
    assert c.referral_sources_chart(table, lang="en").to_dict()["title"]["text"].startswith("Who refers")


def test_waiting_list_chart_holds_the_month_end_counts(wb: Workbench) -> None:
    table = a.waiting_list(wb.frames, as_of=TODAY)
    chart = c.waiting_list_chart(table)
    _same(chart, table, "site", "month", "waiting", "waiting_label", "waiting_suppressed")
    months = {r["month"] for r in rows(chart)}
    assert min(months) == "2026-01-01" and max(months) == "2026-09-01"
    assert all(r["waiting"] in (0, None) for r in rows(chart) if r["month"] == "2026-09-01")


def test_time_to_help_chart_draws_boxes_from_the_statistics(wb: Workbench) -> None:
    table = a.time_to_help(wb.frames)
    chart = c.time_to_help_chart(table)
    _same(chart, table, "site", "measure", "n", "n_label", "min", "q1", "median", "q3", "max")
    spec = chart.to_dict()
    assert [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
            for layer in spec["layer"]] == ["rule", "bar", "tick", "text"]
    assert "boxplot" not in json.dumps(spec)
    total = next(r for r in rows(chart) if r["site"] == "total" and r["measure"] == "days_to_contact")
    assert (total["min"], total["q1"], total["median"], total["q3"], total["max"]) == (1, 2, 3, 4, 6)
    assert all(r["median"] is None for r in rows(chart) if r["site"] == "SVE")


def test_lasting_chart_holds_the_survival_curve(wb: Workbench) -> None:
    table = a.lasting(wb.frames, as_of=TODAY)
    chart = c.lasting_chart(table)
    _same(chart, table, "kind", "week", "survival", "survival_label", "n_at_risk_label", "still_label",
          "censored_label")
    total = {r["week"]: r for r in rows(chart) if r["kind"] == "total"}
    assert total[0]["n_at_risk"] == 9 and total[0]["survival"] == pytest.approx(1.0)


def test_outcomes_chart_holds_mean_change_and_interval(wb: Workbench) -> None:
    table = a.outcomes(wb.frames)
    chart = c.outcomes_chart(table)
    _same(chart, table, "instrument", "mode", "n", "n_label", "mean_change", "ci_low", "ci_high")
    ucla = next(r for r in rows(chart) if r["instrument"] == "ucla3" and r["mode"] == "all")
    assert ucla["n"] == 6 and ucla["mean_change"] == pytest.approx(-14 / 6)
    assert ucla["ci_low"] < -14 / 6 < ucla["ci_high"]
    assert "n_label" in json.dumps(chart.to_dict()["layer"][2]["encoding"]["tooltip"])


def svg_texts(chart: Any) -> list[str]:
    """The text nodes of a chart drawn to SVG: what a reader of the page or the export sees."""
    return [html.unescape(x) for x in re.findall(r"<(?:text|tspan)[^>]*>([^<]+)<", c.to_svg(chart))]  # lines of a subtitle are tspans


def test_funnel_prints_the_total_conversion_from_referral(wb: Workbench) -> None:
    table = a.funnel(wb.frames)
    shown = svg_texts(c.funnel_chart(table))
    total = {r["step"]: r["from_referral_label"] for r in c.values(table) if r["site"] == "total"}
    assert total["escorted"] == "100 %" and total["lasting_4w"] == "56 %"  # 9 escorted, 5 still at 4 weeks
    for step, label in total.items():
        if step != "referred":
            assert label in shown, (step, label, shown)


def test_outcomes_chart_prints_n_beside_each_interval(wb: Workbench) -> None:
    shown = svg_texts(c.outcomes_chart(a.outcomes(wb.frames)))
    assert "n = 6" in shown  # ODE's six paired UCLA-3 answers
    assert "n = 0" in shown  # SWEMWBS: nobody answered it, and the chart says so


def test_flow_chart_draws_the_running_month_apart_from_the_line(wb: Workbench) -> None:
    chart = c.flow_chart(a.flow(wb.frames, as_of=date(2026, 3, 15)))
    running = [r for r in rows(chart) if r["partial"]]
    assert running and {r["month"] for r in running} == {"2026-03-01"}
    line, running_points = chart.to_dict()["spec"]["layer"]
    assert line["transform"] == [{"filter": "!datum.partial"}]
    assert running_points["transform"][1]["calculate"] == '"måneden er ikke slut endnu"'


def test_monthly_lines_explain_their_gaps_instead_of_burying_them_in_labels(wb: Workbench) -> None:
    frames = wb.frames
    for chart in (c.flow_chart(a.flow(frames)), c.waiting_list_chart(a.waiting_list(frames, as_of=TODAY)),
                  c.progress_chart(a.progress(frames, wb._store.frame("targets"), year=2026, metric="escorts",
                                              as_of=TODAY))):
        assert chart.to_dict()["title"]["subtitle"] == "Et hul i en linje er et skjult tal: for få personer til at vise."
        assert "<5" not in svg_texts(chart)  # hidden months leave gaps, not a row of labels on the axis
    flow = c.flow_chart(a.flow(frames))
    assert [r for r in rows(flow) if r["label"] == "<5"]  # (SVE's months are hidden)


def test_only_a_sites_bars_can_be_picked_in_the_funnel(wb: Workbench) -> None:
    spec = c.funnel_chart(a.funnel(wb.frames), pickable=True).to_dict()
    (param,) = spec["params"]
    assert param["name"] == c.SITE_PICK and param["select"]["fields"] == ["site"]
    assert param["select"]["on"] == "click[!(event.item && event.item.datum && event.item.datum.is_total)]"
    assert "params" not in c.funnel_chart(a.funnel(wb.frames)).to_dict()  # the export's funnel: no selection


def test_an_exported_chart_prints_the_filters_and_the_date_under_its_title(wb: Workbench) -> None:
    flow = c.flow_chart(a.flow(wb.frames))
    alone = c.stamped(flow, "Steder: ODE", datetime(2026, 9, 30, 14, 5))
    shown = svg_texts(alone)
    assert "Filtre: Steder: ODE" in shown and "Dannet: 30-09-2026 14:05" in shown
    assert "Flow pr. måned og sted" in shown and "Et hul i en linje er et skjult tal: for få personer til at vise." in shown
    assert "Filtre: Steder: ODE" not in svg_texts(flow)  # the page's own chart is left as it was
    assert rows(alone) == rows(flow)


def test_volunteers_chart_holds_the_pipeline(wb: Workbench) -> None:
    table = a.volunteers(wb.frames)
    chart = c.volunteers_chart(table)
    _same(chart, table.filter(pl.col("dimension") == "status"), "site", "category", "volunteers",
          "volunteers_label")
    active = {r["site"]: r["volunteers_label"] for r in rows(chart) if r["category"] == "active"}
    assert active == {"ODE": "..", "SVE": "<5", "total": "7"}
    with pytest.raises(ValueError):
        c.volunteers_chart(table, dimension="shoe_size")


def _all_charts(wb: Workbench) -> dict[str, Any]:
    frames = wb.frames
    return {
        "funnel": c.funnel_chart(a.funnel(frames, None, STANDARD)),
        "progress": c.progress_chart(a.progress(frames, wb._store.frame("targets"), year=2026, metric="escorts",
                                                as_of=TODAY)),
        "flow": c.flow_chart(a.flow(frames)),
        "sources": c.referral_sources_chart(a.referral_sources(frames)),
        "waiting": c.waiting_list_chart(a.waiting_list(frames, as_of=TODAY)),
        "time_to_help": c.time_to_help_chart(a.time_to_help(frames)),
        "lasting": c.lasting_chart(a.lasting(frames, as_of=TODAY)),
        "outcomes": c.outcomes_chart(a.outcomes(frames)),
        "volunteers": c.volunteers_chart(a.volunteers(frames)),
    }


def test_three_escorted_never_shows_three(wb: Workbench) -> None:
    assert a.funnel(wb.frames, None, SuppressionPolicy(1)).filter(
        (pl.col("site") == "SVE") & (pl.col("step") == "escorted")).item(0, "count") == 3
    for name, chart in _all_charts(wb).items():
        for record in rows(chart):
            if "SVE" not in (record.get("site"), record.get("kind")) and record.get("kind") != "nature":
                continue  # nature is SVE's only community
            for field in COUNT_FIELDS:
                if field in record:
                    assert record[field] != 3, (name, field, record)
                    label = record.get(f"{field}_label", record.get("label"))
                    assert label != "3", (name, field, record)
            cell = json.dumps({k: v for k, v in record.items()
                               if k in COUNT_FIELDS or k.endswith("label") or k in ("survival", "share")})
            assert not re.search(r'": 3[,}]|": "3"', cell), (name, cell)


def test_svg_png_and_report(wb: Workbench) -> None:
    charts = _all_charts(wb)
    svg = c.to_svg(charts["funnel"])
    assert svg.lstrip().startswith("<svg") and "Brobygget" in svg
    assert c.to_png(charts["volunteers"]).startswith(b"\x89PNG")
    page = c.report_html(charts, "Steder: ODE, SVE; periode 2026-01-01 – 2026-09-30", datetime(2026, 9, 30, 14, 5))
    assert "Steder: ODE, SVE; periode 2026-01-01 – 2026-09-30" in page and "30-09-2026 14:05" in page
    assert page.count("<svg") == len(charts)
    stripped = page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    assert "http" not in stripped and "<script" not in page
    assert "&lt;5" in page  # the suppressed cells' labels are printed, escaped


_MONTH = re.compile(r"([a-zA-Z]{3}) 2026")


def test_charts_read_in_danish_on_the_page_and_in_exports(wb: Workbench) -> None:
    """Month ticks and numbers follow Vega's da-DK format locale: "maj 2026", "1.435"; English keeps its own."""
    table = a.progress(wb.frames, wb._store.frame("targets"), year=2026, metric="escorts", as_of=TODAY)
    months = {m[1] for text in svg_texts(c.progress_chart(table)) if (m := _MONTH.fullmatch(text))}
    assert {"maj", "okt"} <= months and not months & {"May", "Oct"}
    english = {m[1] for text in svg_texts(c.progress_chart(table, lang="en")) if (m := _MONTH.fullmatch(text))}
    assert {"May", "Oct"} <= english
    # The same funnel as the store's, a thousand times as many people (its labels are the numbers as text)
    funnel = a.funnel(wb.frames)
    big = funnel.with_columns((pl.col("count") * 1000 + 435).alias("count")).with_columns(
        pl.when(pl.col("count").is_null()).then(pl.col("count_label"))
        .otherwise(pl.col("count").cast(pl.String)).alias("count_label"))
    total = big.filter((pl.col("site") == "total") & (pl.col("step") == "referred"))["count"].item()
    shown = svg_texts(c.funnel_chart(big))
    assert f"{total:,}".replace(",", ".") in shown  # the bar's label
    assert "1.000" in shown or "2.000" in shown  # an axis tick
    assert "<5" in shown and str(total) not in shown and f"{total:,}" not in shown
    assert f"{total:,}" in svg_texts(c.funnel_chart(big, lang="en"))
    exported = c.report_html({"Tragt": c.funnel_chart(big)}, "", TODAY)
    assert f"{total:,}".replace(",", ".") in exported
