"""The paged row list every dashboard list uses: a page at a time, the right row opens."""

from __future__ import annotations

import ipywidgets as widgets
from widget_tree import html_of, listed_rows, walk

from workbench.i18n import t
from workbench.ui.widgets import RowList

XSS = "<img src=x onerror=alert(1)>"


def rows(n: int) -> list[tuple[list[str], str]]:
    return [([f"Navn {i:03}", str(i)], f"id-{i}") for i in range(n)]


def openers(rows_list: RowList) -> list[widgets.Button]:
    return [w for w in walk(rows_list) if isinstance(w, widgets.Button) and "wb-open" in w._dom_classes]


def test_a_long_list_shows_one_page_and_pages_through_all_rows() -> None:
    opened: list[str] = []
    listing = RowList(["Navn", "Nr."], rows(53), "tom", "Åbn", opened.append, "wb-open", page_size=25)
    assert [r[0] for r in listed_rows(listing)] == [f"Navn {i:03}" for i in range(25)]
    assert len(openers(listing)) == 25
    assert t("ui.page.position", first=1, last=25, total=53) in html_of(listing)
    assert listing.previous.disabled and not listing.next.disabled

    listing.next.click()
    listing.next.click()
    assert [r[0] for r in listed_rows(listing)] == ["Navn 050", "Navn 051", "Navn 052"]
    assert t("ui.page.position", first=51, last=53, total=53) in html_of(listing)
    assert listing.next.disabled
    openers(listing)[1].click()
    assert opened == ["id-51"]


def test_a_page_the_browser_should_not_ask_for_is_clamped() -> None:
    listing = RowList(["Navn"], [([n], n) for n in ("a", "b", "c")], "tom", "Åbn", print, page_size=2)
    listing.next.disabled = False  # a page visitor can re-enable any button
    listing.show_page(1)
    listing.next.click()
    listing.next.click()
    assert [r[0] for r in listed_rows(listing)] == ["c"]
    listing.show_page(-5)
    assert [r[0] for r in listed_rows(listing)] == ["a", "b"]


def test_a_short_list_has_no_pager_and_an_empty_one_says_so() -> None:
    short = RowList(["Navn"], [(["a"], "a")], "tom", "Åbn", print)
    assert short.pager not in short.children
    empty = RowList(["Navn"], [], "Ingen brobyggere endnu", "Åbn", print)
    assert "Ingen brobyggere endnu" in html_of(empty) and not listed_rows(empty)


def test_cells_are_escaped_and_old_pages_are_closed() -> None:
    listing = RowList(["Navn"], [([XSS], "x"), (["b"], "b")], "tom", "Åbn", print, page_size=1)
    assert listed_rows(listing) == [[XSS]]
    assert "<img" not in html_of(listing)
    first_page = list(listing.grid.children)
    listing.next.click()
    assert all(w.comm is None for w in first_page)  # closed: nothing piles up in the kernel
