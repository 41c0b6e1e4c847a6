"""The project lead's dashboard, driven like the lead would: pick filters, click buttons.

Runs on demo data in a real store (no browser): every chart section holds an inline SVG
rendered by vl-convert, the numbers follow the filters, small cells stay hidden, targets are
stored, the export writes its files and a refused filter shows words, never a traceback.
"""

from __future__ import annotations

import base64
import json
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import altair as alt
import polars as pl
import pytest
from people import staff

import workbench
from workbench import demo, i18n
from workbench.domain.instruments import SWEMWBS_COPYRIGHT
from workbench.i18n import t
from workbench.reporting.charts import SITE_PICK
from workbench.service import Workbench, users
from workbench.ui.lead import VIEWS, LeadApp, lead_app

TODAY = date(2026, 5, 1)
TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


@pytest.fixture(autouse=True)
def danish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_current", "da")


@pytest.fixture(scope="module")
def wb(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    root = tmp_path_factory.mktemp("lead") / "data"
    demo.generate(workbench.open(root, user=demo.loader(), today=lambda: TODAY), 300, seed=1)
    return workbench.open(root, user=staff("Projektleder Pia", roles=("lead",)), today=lambda: TODAY)


@pytest.fixture
def app(wb: Workbench) -> LeadApp:
    return LeadApp(wb)


def texts(svg: str) -> list[str]:
    return TEXT.findall(svg)


def on_page(app: LeadApp, view: str) -> str:
    """What the page holds for a chart section: its JupyterChart's spec, which the browser draws."""
    drawn = app.drawn[view]
    assert app.outputs[view].children == (drawn,)
    return json.dumps(drawn.spec)


def pick(app: LeadApp, site: str | None) -> None:
    """What the browser sends when the lead clicks a site's bar in the funnel (None: an empty spot)."""
    assert app.funnel is not None
    value = None if site is None else {"vlPoint": {"or": [{"site": site}]}}
    app.funnel._vl_selections = {SITE_PICK: {"value": value, "store": []}}


def test_every_chart_section_sends_its_chart_to_the_browser(app: LeadApp) -> None:
    assert app.feedback.value == ""
    for view in VIEWS:
        spec = json.loads(on_page(app, view))
        assert spec.get("datasets") or spec.get("data"), view  # the suppressed table travels with it
        assert "<svg" in app.svg(view), view  # and it renders (as the browser will, and as an export does)
    assert "<script" not in "".join(on_page(app, view) for view in VIEWS)
    assert t("ui.lead.title") in app.widget.children[1].value
    assert "Projektleder Pia" in app.widget.children[1].value


def test_changing_the_site_filter_changes_the_numbers(app: LeadApp) -> None:
    before = texts(app.svg("funnel"))
    assert "ODE" in before and "AAR" in before
    app.f_sites.control.value = ("ODE",)
    assert app.feedback.value == ""
    assert app.filters.sites == ("ODE",)
    after = texts(app.svg("funnel"))
    assert after != before
    assert "AAR" not in after and "ODE" in after
    assert "Frivilligcenter Odense" in app.filter_text.value


def test_the_funnel_is_an_offline_jupyter_chart_of_aggregates_with_a_site_pick(app: LeadApp) -> None:
    assert alt.JupyterChart._is_offline  # its JavaScript comes from vl-convert, not a CDN
    spec = app.funnel.spec if app.funnel is not None else {}
    assert [param["name"] for param in spec["params"]] == [SITE_PICK]
    rows = spec["data"]["values"]
    assert {r["step"] for r in rows} == {"referred", "conversation", "escorted", "attended", "lasting_4w",
                                         "lasting_12w"}
    assert all(set(r) >= {"site", "count_label"} and "citizen_id" not in r and "case_id" not in r for r in rows)
    assert len(rows) == 6 * (len(app.site_names) + 1)  # one row per step and site (and total): no cases


def test_a_site_picked_in_the_funnel_narrows_the_other_charts(app: LeadApp) -> None:
    funnel, flow = app.svg("funnel"), on_page(app, "flow")
    pick(app, "ODE")
    assert app.feedback.value == "" and app.focus == "ODE"
    assert "Frivilligcenter Odense" in app.focus_text.value and "Frivilligcenter Odense" in app.filter_text.value
    drawn = texts(app.svg("flow"))  # what the browser draws from the spec on the page
    assert on_page(app, "flow") != flow and "AAR" not in drawn and "ODE" in drawn
    assert app.svg("funnel") == funnel  # the funnel keeps every site, so the lead can pick another
    pick(app, None)
    assert app.focus is None and on_page(app, "flow") == flow


def test_a_forged_or_total_pick_is_ignored(app: LeadApp) -> None:
    flow = on_page(app, "flow")
    for forged in ("XXX", "total", "<img src=x onerror=alert(1)>"):
        pick(app, forged)
        assert app.focus is None and on_page(app, "flow") == flow
    assert "<img" not in app.focus_text.value + app.feedback.value


def test_a_pick_that_would_show_too_few_people_is_refused(app: LeadApp) -> None:
    day = app.wb.frames.cases.group_by("referred_on").len().sort("len", "referred_on").row(0)[0]
    app.f_start.control.value = day.strftime("%d-%m-%Y")
    app.f_end.control.value = (day + timedelta(days=40)).strftime("%d-%m-%Y")
    if app.feedback.value:
        pytest.skip("no allowed period this short in the demo data")
    flow = on_page(app, "flow")
    sites = app.wb.frames.cases.filter(pl.col("referred_on").is_between(day, day + timedelta(days=40)))
    smallest = sites.group_by("site").len().sort("len").row(0)[0]
    pick(app, smallest)
    if app.focus is None:
        assert t("ui.lead.error.too_few") in app.feedback.value.replace("&quot;", '"')
        assert on_page(app, "flow") == flow
    else:  # that site had enough people after all: the pick is drawn
        assert on_page(app, "flow") != flow


def test_publication_mode_hides_small_cells_and_rounds(app: LeadApp) -> None:
    app.f_mode.control.value = "publication"
    assert app.feedback.value == ""
    assert app.mode == "publication"
    svg = app.svg("funnel")
    assert "&lt;8" in svg
    numbers = [int(x) for x in texts(svg) if x.isdigit()]
    assert numbers and all(n % 5 == 0 for n in numbers)
    assert t("ui.lead.mode.publication") in app.filter_text.value


def test_a_refused_filter_shows_a_message_and_keeps_the_charts(app: LeadApp) -> None:
    day = app.wb.frames.cases.group_by("referred_on").len().sort("len", "referred_on").row(0)[0]
    app.f_start.control.value = day.strftime("%d-%m-%Y")  # from that day on: allowed, drawn
    assert app.feedback.value == "" and app.filters.start == day
    shown = app.svg("funnel")
    app.f_end.control.value = day.strftime("%d-%m-%Y")
    assert t("ui.lead.error.too_few") in app.feedback.value.replace("&quot;", '"')
    assert "Traceback" not in app.feedback.value
    assert app.filters.end is None
    assert app.svg("funnel") == shown
    app.f_end.control.value = "31-02-2026"
    assert t("ui.fix_fields") in app.feedback.value
    assert t("input.date") in app.f_end.error.value


def test_a_target_set_through_the_form_is_stored(app: LeadApp) -> None:
    app.t_site.control.value = "ODE"
    app.t_year.control.value = "2026"
    app.t_metric.control.value = "escorts"
    app.t_value.control.value = "abc"
    before = app.wb._store.get("targets", "T-ODE-2026-escorts")  # the demo's target, or none
    app.save_target.click()
    assert app.t_value.error.value and t("ui.fix_fields") in app.target_feedback.value
    assert app.wb._store.get("targets", "T-ODE-2026-escorts") == before
    app.t_value.control.value = "48"
    app.save_target.click()
    stored = app.wb._store.get("targets", "T-ODE-2026-escorts")
    assert stored is not None and stored["value"] == 48
    assert "wb-ok" in app.target_feedback.value
    assert app.outputs["progress"].children == (app.drawn["progress"],)


def test_export_writes_the_report_and_every_chart(app: LeadApp, wb: Workbench) -> None:
    app.f_sites.control.value = ("ODE", "AAR")
    app.export_button.click()
    assert "wb-error" not in app.export_feedback.value
    written = app.last_export
    folder = Path(wb._store.root) / "exports"  # type: ignore[attr-defined]
    assert all(p.parent == folder and p.exists() for p in written)
    report = [p for p in written if p.suffix == ".html"]
    assert len(report) == 1 and re.fullmatch(r"rapport-\d{8}-\d{6}\.html", report[0].name)
    assert len([p for p in written if p.suffix == ".svg"]) == len(VIEWS)
    assert len([p for p in written if p.suffix == ".png"]) == len(VIEWS)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written if p.suffix == ".png")
    page = report[0].read_text("utf-8")
    assert "Frivilligcenter Odense, Frivilligcenter Aarhus" in page
    assert "<script" not in page and page.count("<svg") == len(VIEWS)
    assert SWEMWBS_COPYRIGHT in page
    assert report[0].name in app.export_feedback.value
    bundle = [p for p in written if p.suffix == ".zip"]
    assert len(bundle) == 1 and len(written) == 2 * len(VIEWS) + 2
    with zipfile.ZipFile(bundle[0]) as archive:
        assert sorted(archive.namelist()) == sorted(p.name for p in written if p.suffix != ".zip")
    # the browser gets both to download, whatever machine it runs on
    links = dict(re.findall(r'download="([^"]+)" href="data:[a-z/]+;base64,([A-Za-z0-9+/=]+)"', app.export_feedback.value))
    assert base64.b64decode(links[report[0].name]) == report[0].read_bytes()
    assert base64.b64decode(links[bundle[0].name]) == bundle[0].read_bytes()
    pick(app, "ODE")
    app.export_button.click()
    assert "valgt i tragten: Frivilligcenter Odense" in app.last_export[0].read_text("utf-8")


def test_the_page_names_the_signed_in_lead_and_refuses_a_coordinator(
        wb: Workbench, monkeypatch: pytest.MonkeyPatch) -> None:
    root = wb._store.root
    users.add(root, users.make_user(id="pia", name="Projektleder <b>Pia</b>", role="lead"))
    users.add(root, users.make_user(id="kim", name="Koordinator Kim", role="coordinator", sites=("ODE",)))
    monkeypatch.setenv("WORKBENCH_USER", "pia")
    header = lead_app(str(root)).children[1].value
    assert "Projektleder &lt;b&gt;Pia&lt;/b&gt;" in header and "<b>Pia" not in header
    monkeypatch.setenv("WORKBENCH_USER", "kim")
    refused = lead_app(str(root))
    assert refused.value == f'<p class="wb-error">{t("ui.wrong_role", name="Koordinator Kim", role="koordinator", page_role="projektleder")}</p>'
