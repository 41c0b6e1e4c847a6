"""The project lead's dashboard in the real browser, in Danish: charts, filters, the funnel, export.

Against the real ``workbench serve --user demo.projektleder`` (``lead_server`` fixture: 200 demo cases over five sites) in
headless Chromium, ``dashboards/projektleder.ipynb`` (``workbench.ui.lead.LeadApp``). Proved:

- the page loads in Danish, and the section of every view in ``workbench.ui.lead.VIEWS`` draws
  an SVG with marks in it: each an Altair ``JupyterChart`` drawn in the browser by vega-embed
  (svg renderer, bundled offline);
- choosing one site in the filters changes the funnel's numbers and drops the other sites from
  it; choosing none again brings every site and the first numbers back;
- a click on a site's bar in the funnel narrows the other charts to that site (the focus line
  names it, the flow chart shows only it), the funnel itself keeps every site, and a click on an
  empty spot of the funnel widens them again;
- a click on a total bar of the funnel picks nothing (the total is no site);
- the export button writes the report (HTML, with the filters text) and an SVG and a PNG of each
  chart under ``<data>/exports``, and every file it lists is there (the PNGs really PNGs); the
  browser downloads the report and a ZIP of every file from the links it shows;
- no traceback is ever shown, no dialog opens, no request leaves 127.0.0.1, and a full-page
  screenshot ``screenshots/projektleder.png`` is taken once every chart is drawn.

Every step waits on what the page shows (a Voila page on a busy 2-core box can take tens of
seconds), never on a sleep. Each test opens a page of its own, so each has a fresh kernel.
"""

from __future__ import annotations

import contextlib
import html
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import workbench
from workbench import i18n
from workbench.reporting.suppression import HIDDEN_LABEL, STANDARD
from workbench.ui.lead import VIEWS

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_MS = 240_000  # first paint of a Voila page on a shared 2-core machine
STEP_TIMEOUT_MS = 90_000  # one round trip to the kernel (a click, a redraw, the export)

NOTEBOOK = "projektleder.ipynb"
SCREENSHOT = "projektleder.png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILTERED_SITE = "ODE"  # chosen in the sites filter
PICKED_SITE = "AAR"  # clicked in the funnel

MARKS = "svg g.role-mark > *"  # one element per drawn mark item (bar, line, point, rule, label)
SHAPES = "svg g.role-mark:not(.mark-text) > *"  # the same, text labels left out
LEGEND = "svg .role-legend-label text"


def da(key: str, **values: Any) -> str:
    return i18n.t(key, "da", **values)


def filters_text(sites: str | None = None) -> str:
    """The filter summary the page should print (every other filter left empty, standard mode)."""
    every = da("ui.lead.all")
    return da("ui.lead.filters_text", sites=sites or every, period=da("ui.lead.period", start="…", end="…"),
              age_groups=every, interventions=every, mode=da("ui.lead.mode.standard"))


def site_names(server: Any) -> dict[str, str]:
    """Site code -> name, read from the store the server serves."""
    return {row["id"]: row["name"] for row in workbench.open(server.data, user="demo.projektleder").sites()}


# -- the page ------------------------------------------------------------------------------------------


def chart(page: Any, view: str) -> Any:
    """The section a view's chart is drawn in."""
    return page.locator(f".wb-lead-chart-{view}")


def legend(page: Any, view: str) -> Any:
    return chart(page, view).locator(LEGEND)


def texts(scope: Any) -> list[str]:
    """Every SVG text of a chart (its textContent: SVG text has no innerText)."""
    return [text.strip() for text in scope.locator("svg text").all_text_contents()]


def named(scope: Any, text: str) -> Any:
    """The SVG texts of a chart that read exactly ``text`` (a site code in a legend, axis or label)."""
    return scope.locator("svg text").filter(has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))


def funnel_numbers(page: Any) -> list[str]:
    """The numbers printed on (and above) the funnel's bars, in drawing order."""
    return [text.strip() for text in chart(page, "funnel").locator("svg .mark-text.role-mark text").all_text_contents()]


def funnel_bars(page: Any, site: str) -> Any:
    """A site's bars in the funnel, found by the accessible label vega gives each bar."""
    return chart(page, "funnel").locator(f'svg .mark-rect path[aria-label*="{da("charts.axis.site")}: {site};"]')


def expect_every_chart_drawn(page: Any) -> None:
    """Each view's section holds one SVG with mark items, drawn by vega-embed in the browser (the
    funnel's bars are paths)."""
    for view in VIEWS:
        section = chart(page, view)
        expect(section.locator(".vega-embed svg")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
        expect(section.locator(".vega-embed svg").first).to_be_visible(timeout=STEP_TIMEOUT_MS)
        expect(section.locator(MARKS).first).to_be_attached(timeout=STEP_TIMEOUT_MS)
        if view == "funnel":
            expect(section.locator(".vega-embed svg .mark-rect path").first).to_be_attached(
                timeout=STEP_TIMEOUT_MS)
        elif section.locator(SHAPES).count() == 0:
            # one small site chosen: every value of a chart can be hidden, and then it draws no
            # mark, only the labels that say so
            text = section.locator(".vega-embed svg").text_content() or ""
            assert HIDDEN_LABEL in text or STANDARD.small_label in text, f"the {view} chart is empty"


def open_lead(page: Any, server: Any) -> float:
    """Load the dashboard; seconds until every chart is drawn."""
    started = time.perf_counter()
    page.goto(server.url(NOTEBOOK), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".wb-header h2")).to_have_text(da("ui.lead.title"), timeout=LOAD_TIMEOUT_MS)
    expect(chart(page, "funnel").locator("svg .mark-rect path").first).to_be_attached(timeout=LOAD_TIMEOUT_MS)
    expect_every_chart_drawn(page)
    return time.perf_counter() - started


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[e2e] lead: {line}")


def record_what_the_browser_receives(page: Any) -> list[str]:
    """Every document, script response and websocket frame ``page`` receives from now on, as text."""
    sent: list[str] = []

    def on_response(response: Any) -> None:
        with contextlib.suppress(Exception):  # a redirect, or a body the browser did not keep
            sent.append(response.text())

    def on_websocket(socket: Any) -> None:
        socket.on("framereceived", lambda frame: sent.append(frame if isinstance(frame, str)
                                                              else bytes(frame).decode("utf-8", "replace")))

    page.on("response", on_response)
    page.on("websocket", on_websocket)
    return sent


def personal_values(data: Path) -> set[str]:
    """Every citizen's name, phone, e-mail and address and every note in the store (read directly)."""
    from workbench.store import JournalStore

    store = JournalStore(data)
    values = set(store.frame("citizens").get_column("display_name").to_list())
    contacts = store.frame("contacts")
    for column in ("phone", "email", "address"):
        values |= set(contacts.get_column(column).drop_nulls().to_list())
    values |= {text for text in store.frame("events").get_column("text").drop_nulls().to_list() if len(text) >= 12}
    return {v for v in values if v and v != "[slettet]"}


# -- the tests -----------------------------------------------------------------------------------------


def test_every_chart_is_drawn_in_danish_and_a_click_in_the_funnel_narrows_the_others(
    lead_server: Any, watched_page: Any, offsite: Any, screenshots: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    page = watched_page.page
    server = lead_server
    names = site_names(server)
    others = sorted(set(names) - {PICKED_SITE})
    drawn_after = open_lead(page, server)
    report(capsys, f"every chart drawn {drawn_after:.1f} s after navigation")

    # In Danish: the headings, the filter summary, the focus line and the funnel's own words.
    for view in VIEWS:
        expect(page.get_by_role("heading", name=da(f"ui.lead.section.{view}"), exact=True)).to_be_visible()
    expect(page.locator(".wb-lead-filters")).to_have_text(filters_text())
    expect(page.locator(".wb-lead-focus")).to_have_text(da("ui.lead.focus.none"))
    funnel_words = texts(chart(page, "funnel"))
    for word in (da("charts.funnel.title"), da("charts.step.referred"), da("charts.axis.site"), da("charts.total")):
        assert word in funnel_words, f"{word!r} is not in the funnel: {funnel_words}"
    every_site = [*sorted(names), da("charts.total")]
    expect(legend(page, "funnel")).to_have_text(every_site)
    watched_page.check()
    watched_page.shot(screenshots / SCREENSHOT)

    # A click on a total bar picks nothing (the total is no site to narrow the other charts to):
    # no bar fades, and the page still offers the click on a site.
    funnel_bars(page, da("charts.total")).first.click()
    for site in (*names, da("charts.total")):
        expect(funnel_bars(page, site).first).to_have_attribute("opacity", "1")
    expect(page.locator(".wb-lead-focus")).to_have_text(da("ui.lead.focus.none"))

    # A click on a site's bar: the focus line names the site, the other charts show only it.
    flow_before = chart(page, "flow").inner_html()
    flow_legend = legend(page, "flow").all_text_contents()
    assert set(others) <= set(flow_legend), flow_legend
    for other in others:
        expect(named(chart(page, "flow"), other).first).to_be_attached()
    started = time.perf_counter()
    funnel_bars(page, PICKED_SITE).first.click()
    expect(page.locator(".wb-lead-focus")).to_have_text(da("ui.lead.focus.site", site=names[PICKED_SITE]),
                                                        timeout=STEP_TIMEOUT_MS)
    expect(legend(page, "flow")).to_have_text([PICKED_SITE, da("charts.total")], timeout=STEP_TIMEOUT_MS)
    for view in (v for v in VIEWS if v != "funnel"):
        for other in others:  # no other site named anywhere in a narrowed chart (legend, axis, label)
            expect(named(chart(page, view), other)).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    report(capsys, f"charts narrowed to {PICKED_SITE} {time.perf_counter() - started:.1f} s after the click")
    assert chart(page, "flow").inner_html() != flow_before
    expect(funnel_bars(page, others[0]).first).to_have_attribute("opacity", "0.3")  # the other sites fade
    expect(page.locator(".wb-lead-filters")).to_have_text(
        filters_text() + da("ui.lead.focus.in_filters", site=names[PICKED_SITE]))
    expect(legend(page, "funnel")).to_have_text(every_site)  # the funnel itself still shows every site
    expect_every_chart_drawn(page)
    watched_page.check()

    # A click on an empty spot of the funnel (top right of the plot, above the small last step): all again.
    grid = chart(page, "funnel").locator("svg .role-axis-grid").first.bounding_box()
    assert grid, "the funnel has no grid to find an empty spot by"
    page.mouse.click(grid["x"] + grid["width"] - 5, grid["y"] + 5)
    expect(page.locator(".wb-lead-focus")).to_have_text(da("ui.lead.focus.none"), timeout=STEP_TIMEOUT_MS)
    expect(legend(page, "flow")).to_have_text(flow_legend, timeout=STEP_TIMEOUT_MS)
    expect(page.locator(".wb-lead-filters")).to_have_text(filters_text())
    expect_every_chart_drawn(page)
    watched_page.check()
    offsite.check()


def test_a_site_filter_changes_the_numbers_and_the_export_writes_every_file(
    lead_server: Any, watched_page: Any, offsite: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    page = watched_page.page
    server = lead_server
    sent = record_what_the_browser_receives(page)
    names = site_names(server)
    others = sorted(set(names) - {FILTERED_SITE})
    drawn_after = open_lead(page, server)
    report(capsys, f"every chart drawn {drawn_after:.1f} s after navigation")
    numbers_before = funnel_numbers(page)
    every_site = [*sorted(names), da("charts.total")]
    expect(legend(page, "funnel")).to_have_text(every_site)
    sites = page.locator(".wb-field-sites select")

    # One site chosen: the summary names it, the funnel shows other numbers and no other site.
    started = time.perf_counter()
    sites.select_option(label=names[FILTERED_SITE])
    expect(page.locator(".wb-lead-filters")).to_have_text(filters_text(names[FILTERED_SITE]), timeout=STEP_TIMEOUT_MS)
    expect(legend(page, "funnel")).to_have_text([FILTERED_SITE, da("charts.total")], timeout=STEP_TIMEOUT_MS)
    report(capsys, f"funnel redrawn for {FILTERED_SITE} {time.perf_counter() - started:.1f} s after choosing it")
    numbers = funnel_numbers(page)
    assert numbers and numbers != numbers_before, f"the funnel's numbers did not change: {numbers}"
    funnel_words = texts(chart(page, "funnel"))
    for other in others:
        assert other not in funnel_words, f"{other} is still named in the funnel: {funnel_words}"
        expect(funnel_bars(page, other)).to_have_count(0)
    expect(funnel_bars(page, FILTERED_SITE).first).to_be_attached()
    expect_every_chart_drawn(page)
    watched_page.check()

    # Export: the report and every chart as SVG and PNG, and each file the page lists is there.
    started = time.perf_counter()
    page.locator(".wb-lead-export").click()
    feedback = page.locator(".wb-lead-export-feedback")
    expect(feedback.locator(".wb-ok")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    listed = [Path(p.strip()) for p in feedback.locator("li code").all_inner_texts()]
    expect(feedback.locator(".wb-ok")).to_have_text(da("ui.lead.exported", n=len(listed)))
    report(capsys, f"export of {len(listed)} files done {time.perf_counter() - started:.1f} s after the click")
    exports = (server.data / "exports").resolve()
    reports = [p for p in listed if p.suffix == ".html"]
    assert len(reports) == 1, listed
    stem = reports[0].stem
    expected = {f"{stem}.html"} | {f"{stem}-{view}.{kind}" for view in VIEWS for kind in ("svg", "png")}
    assert expected <= {p.name for p in listed}, f"missing from the export: {expected - {p.name for p in listed}}"
    assert len({p.name for p in listed}) == len(listed), f"a file is listed twice: {listed}"
    for path in listed:  # these and anything else listed (a bundle of them, say) must be there
        assert path.parent.resolve() == exports, path
        assert path.is_file() and path.stat().st_size > 0, path

    # The browser can download the report and a ZIP of every file (the page may be on another machine).
    for link, name in ((da("ui.lead.download.html"), reports[0].name), (da("ui.lead.download.zip"), f"{stem}.zip")):
        with page.expect_download(timeout=STEP_TIMEOUT_MS) as download:
            feedback.get_by_role("link", name=link, exact=True).click()
        assert download.value.suggested_filename == name
        assert Path(download.value.path()).read_bytes() == (exports / name).read_bytes()

    document = reports[0].read_text("utf-8")
    assert html.escape(filters_text(names[FILTERED_SITE])) in document
    for view in VIEWS:
        assert f"<h2>{html.escape(da(f'ui.lead.section.{view}'))}</h2>" in document, view
        svg = (exports / f"{stem}-{view}.svg").read_text("utf-8")
        assert svg.lstrip().startswith("<svg") and "role-mark" in svg, f"{view}.svg is no chart"
        png = (exports / f"{stem}-{view}.png").read_bytes()
        assert png.startswith(PNG_SIGNATURE) and len(png) > len(PNG_SIGNATURE), f"{view}.png is no PNG"
    assert document.count("<svg") >= len(VIEWS) and "<script" not in document
    watched_page.check()

    # Nothing personal reached the lead: not in any page, websocket frame or exported file.
    received = "\n".join(sent) + "".join(p.read_text("utf-8", errors="replace") for p in listed if p.suffix != ".png")
    secrets = personal_values(server.data)
    assert len(secrets) > 300, "the demo data should hold names, contacts and notes to look for"
    leaked = sorted(v for v in secrets if v in received)
    assert leaked == [], f"personal data reached the lead's browser or export: {leaked[:10]}"

    # No site chosen again: every site and the first numbers are back.
    sites.select_option([])
    expect(page.locator(".wb-lead-filters")).to_have_text(filters_text(), timeout=STEP_TIMEOUT_MS)
    expect(legend(page, "funnel")).to_have_text(every_site, timeout=STEP_TIMEOUT_MS)
    assert funnel_numbers(page) == numbers_before
    expect_every_chart_drawn(page)
    watched_page.check()
    offsite.check()
