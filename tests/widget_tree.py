"""Reading a widget tree the way the browser would see it (shared by the dashboard tests)."""

from __future__ import annotations

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
