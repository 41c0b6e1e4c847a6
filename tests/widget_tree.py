"""Reading a widget tree the way the browser would see it (shared by the dashboard tests)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import ipywidgets as widgets


def walk(widget: widgets.Widget) -> Iterator[widgets.Widget]:
    """The widget and every widget inside it, depth first."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def html_of(widget: widgets.Widget) -> str:
    """Every HTML value in the widget tree, joined (what the browser renders as markup)."""
    return "\n".join(w.value for w in walk(widget) if isinstance(w, (widgets.HTML, widgets.HTMLMath)))


_CELL = re.compile(r'<span class="wb-cell">(.*?)</span>', re.DOTALL)


def listed_rows(widget: widgets.Widget) -> list[list[str]]:
    """The text of every list row on screen (header rows excluded), cell by cell, as a user reads it."""
    return [[html.unescape(cell) for cell in _CELL.findall(w.value)]
            for w in walk(widget) if isinstance(w, widgets.HTML) and 'class="wb-row"' in w.value
            and _CELL.search(w.value)]
