"""The project lead's dashboard, driven like the lead would: pick filters, click buttons.

Runs on demo data in a real store (no browser): every chart section holds an inline SVG
rendered by vl-convert, the numbers follow the filters, small cells stay hidden, targets are
stored, the export writes its files and a refused filter shows words, never a traceback.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import workbench
from workbench import demo, i18n
from workbench.i18n import t
from workbench.instruments import SWEMWBS_COPYRIGHT
from workbench.service import Workbench
from workbench.ui.lead import VIEWS, LeadApp

TODAY = date(2026, 5, 1)
TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


@pytest.fixture(autouse=True)
def danish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_current", "da")


@pytest.fixture(scope="module")
def wb(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    handle = workbench.open(tmp_path_factory.mktemp("lead") / "data", actor="Projektleder Pia", today=lambda: TODAY)
    demo.generate(handle, 300, seed=1)
    return handle


@pytest.fixture
def app(wb: Workbench) -> LeadApp:
    return LeadApp(wb)


def texts(svg: str) -> list[str]:
    return TEXT.findall(svg)


def test_every_chart_section_draws_an_svg(app: LeadApp) -> None:
    assert app.feedback.value == ""
    for view in VIEWS:
        assert "<svg" in app.outputs[view].value, view
    assert "<script" not in "".join(o.value for o in app.outputs.values())
    assert t("ui.lead.title") in app.widget.children[1].value
    assert "Projektleder Pia" in app.widget.children[1].value


def test_changing_the_site_filter_changes_the_numbers(app: LeadApp) -> None:
    before = texts(app.outputs["funnel"].value)
    assert "ODE" in before and "AAR" in before
    app.f_sites.control.value = ("ODE",)
    assert app.feedback.value == ""
    assert app.filters.sites == ("ODE",)
    after = texts(app.outputs["funnel"].value)
    assert after != before
    assert "AAR" not in after and "ODE" in after
    assert "Frivilligcenter Odense" in app.filter_text.value


def test_publication_mode_hides_small_cells_and_rounds(app: LeadApp) -> None:
    app.f_mode.control.value = "publication"
    assert app.feedback.value == ""
    assert app.mode == "publication"
    svg = app.outputs["funnel"].value
    assert "&lt;8" in svg
    numbers = [int(x) for x in texts(svg) if x.isdigit()]
    assert numbers and all(n % 5 == 0 for n in numbers)
    assert t("ui.lead.mode.publication") in app.filter_text.value


def test_a_refused_filter_shows_a_message_and_keeps_the_charts(app: LeadApp) -> None:
    day = app.wb.frames.cases.group_by("referred_on").len().sort("len", "referred_on").row(0)[0]
    app.f_start.control.value = day.strftime("%d-%m-%Y")  # from that day on: allowed, drawn
    assert app.feedback.value == "" and app.filters.start == day
    shown = app.outputs["funnel"].value
    app.f_end.control.value = day.strftime("%d-%m-%Y")
    assert t("ui.lead.error.too_few") in app.feedback.value.replace("&quot;", '"')
    assert "Traceback" not in app.feedback.value
    assert app.filters.end is None
    assert app.outputs["funnel"].value == shown
    app.f_end.control.value = "31-02-2026"
    assert t("ui.fix_fields") in app.feedback.value
    assert t("input.date") in app.f_end.error.value


def test_a_target_set_through_the_form_is_stored(app: LeadApp) -> None:
    app.t_site.control.value = "ODE"
    app.t_year.control.value = "2026"
    app.t_metric.control.value = "escorts"
    app.t_value.control.value = "abc"
    app.save_target.click()
    assert app.t_value.error.value and t("ui.fix_fields") in app.target_feedback.value
    assert app.wb.store.get("targets", "T-ODE-2026-escorts") is None
    app.t_value.control.value = "48"
    app.save_target.click()
    stored = app.wb.store.get("targets", "T-ODE-2026-escorts")
    assert stored is not None and stored["value"] == 48
    assert "wb-ok" in app.target_feedback.value
    assert "<svg" in app.outputs["progress"].value


def test_export_writes_the_report_and_every_chart(app: LeadApp, wb: Workbench) -> None:
    app.f_sites.control.value = ("ODE", "AAR")
    app.export_button.click()
    assert "wb-error" not in app.export_feedback.value
    written = app.last_export
    folder = Path(wb.store.root) / "exports"  # type: ignore[attr-defined]
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
