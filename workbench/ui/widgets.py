"""Building blocks every dashboard tab uses: escaping, Danish dates, form fields, safe callbacks.

Rules kept here so no tab can forget them:
- every user string shown in HTML goes through ``esc`` (``widgets.HTML`` is raw innerHTML);
- every callback runs through ``guard``: a ``WorkbenchError`` is shown in the user's words,
  anything else is logged server-side and shown as a plain apology, never a traceback;
- every text comes from the message catalog (``t``).
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

import ipywidgets as widgets
from ipywidgets.widgets.widget_description import DescriptionWidget

from workbench.domain import validation
from workbench.errors import InvalidFields, InvalidInput, WorkbenchError
from workbench.i18n import t

log = logging.getLogger("workbench.ui")
_Control = TypeVar("_Control", bound=DescriptionWidget)
DATE_FORMAT = "%d-%m-%Y"


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included) so names and notes are shown as text."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_date(value: date | str | None) -> str:
    """A date as Danish users write it: dd-mm-åååå (empty for none)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return value.strftime(DATE_FORMAT)


def parse_date(text: str, field: str) -> date | None:
    """Read dd-mm-åååå (also d-m-åååå, with . or /); empty gives None."""
    cleaned = text.strip().replace(".", "-").replace("/", "-")
    if not cleaned:
        return None
    parts = cleaned.split("-")
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1000:
            raise ValueError
        return date(year, month, day)
    except ValueError:
        raise InvalidInput("input.date", field=field) from None


def parse_int(text: str, field: str) -> int | None:
    """A whole number typed in a text box; empty gives None."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return int(cleaned)
    except ValueError:
        raise InvalidInput("input.type", field=field) from None


def split_labels(text: str) -> list[str]:
    """Comma-separated labels (interests, languages) as a clean list."""
    return [part.strip() for part in text.split(",") if part.strip()]


class Feedback(widgets.HTML):
    """A one-line status message under a form or a list."""

    def ok(self, message: str) -> None:
        self.value = f'<div class="wb-ok" role="status">{esc(message)}</div>'

    def error(self, message: str) -> None:
        self.value = f'<div class="wb-error" role="alert">{esc(message)}</div>'

    def clear(self) -> None:
        self.value = ""


def guard(feedback: Feedback, form: Form | None = None) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Wrap a widget callback so every failure is shown in plain words and nothing escapes."""

    def decorate(callback: Callable[..., Any]) -> Callable[..., None]:
        @functools.wraps(callback)
        def run(*args: Any, **kwargs: Any) -> None:
            if form is not None:
                form.clear_errors()
            feedback.clear()
            try:
                callback(*args, **kwargs)
            except WorkbenchError as exc:
                if form is not None and form.show_error(exc):
                    feedback.error(t("ui.fix_fields"))
                else:
                    feedback.error(exc.message)
            except Exception:
                log.exception("dashboard callback %s failed", getattr(callback, "__name__", "?"))
                feedback.error(t("ui.unexpected_error"))

        return run

    return decorate


def labelled(control: _Control, label: str, *, shown: bool = True) -> _Control:
    """``control`` with ``label`` as its ``<label for>``: the name a screen reader reads and
    ``get_by_label`` finds. ``shown=False``: the label is read but not drawn (a search box
    whose placeholder and button already say what it is, a question whose text stands beside it)."""
    control.description = label
    control.add_class("wb-labelled" if shown else "wb-label-hidden")
    return control


_INPUTS = (widgets.Text, widgets.Textarea, widgets.Dropdown, widgets.Select, widgets.SelectMultiple)


def _names_itself(control: widgets.DOMWidget) -> bool:
    """An input that draws its own ``<label for>`` from ``description`` (not a checkbox: its text is its label)."""
    return isinstance(control, _INPUTS)


class Field:
    """A labelled input with its own error line, so an error appears next to the field.

    An input is named by its own ``<label for>`` drawn above it; a composite control (a box of
    checkboxes, each with its own name) gets the label as a heading instead.
    """

    def __init__(self, name: str, label: str, control: widgets.DOMWidget, *, heading: bool = False) -> None:
        """``control`` is any widget with a ``value`` (an input, or a box that exposes one);
        ``heading``: the label heads a group of inputs the caller names, rather than naming ``control``."""
        self.name = name
        self.control = control
        self.label = widgets.HTML(f"<b>{esc(label)}</b>")
        if not heading and _names_itself(control):
            labelled(control, label)
            self.label.layout.display = "none"
        self.error = widgets.HTML(layout=widgets.Layout(min_height="0"))
        self.error.add_class("wb-field-error")
        control.layout.width = "auto"
        self.box = widgets.VBox([self.label, control, self.error], layout=widgets.Layout(width="100%"))
        self.box.add_class(f"wb-field-{name}")

    @property
    def value(self) -> Any:
        value = self.control.value
        return value.strip() if isinstance(value, str) else value

    def show(self, message: str) -> None:
        self.error.value = f'<span class="wb-error" role="alert">{esc(message)}</span>'

    def clear(self) -> None:
        self.error.value = ""


def _birth_year(text: str) -> object:
    year = parse_int(text, "birth_year")
    return validation.birth_year(year) if year is not None else None


FIELD_RULES: dict[str, Callable[[Any], object]] = {
    "display_name": validation.name, "name": validation.name, "postal_code": validation.postal_code,
    "phone": validation.phone, "email": validation.email, "birth_year": _birth_year,
}
"""The domain's rule for each form field of that name: ``Form.check`` runs them all before a save."""
REQUIRED = frozenset({"display_name", "name"})
"""Fields whose rule also runs on an empty value (a name is required; the other fields are optional)."""


class Form:
    """Named fields laid out in a grid; maps a ``WorkbenchError.field`` to the field it concerns."""

    def __init__(self, fields: Sequence[Field], columns: int = 2) -> None:
        self.fields = {f.name: f for f in fields}
        self.box = widgets.GridBox(
            [f.box for f in fields],
            layout=widgets.Layout(grid_template_columns=" ".join(["1fr"] * columns), grid_gap="4px 16px"),
        )

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]

    def value(self, name: str) -> Any:
        return self.fields[name].value

    def check(self) -> None:
        """Run the domain's rule of every field at once: ``InvalidFields`` with each one refused.

        The service checks the same rules again when the form is saved; this way a form with
        several mistakes shows them all, each beside its field, and keeps what was typed.
        """
        refused: list[InvalidInput] = []
        for name, field in self.fields.items():
            rule, value = FIELD_RULES.get(name), field.value
            if rule is None or (name not in REQUIRED and (value is None or not str(value).strip())):
                continue
            try:
                rule(value)
            except InvalidInput as exc:
                exc.field = name
                refused.append(exc)
        if refused:
            raise InvalidFields(refused)

    def show_error(self, exc: WorkbenchError) -> bool:
        """Show ``exc`` beside its field (every one of ``InvalidFields``); False when no field here matches."""
        if isinstance(exc, InvalidFields):
            shown = [self.show_error(each) for each in exc.errors]
            return any(shown)
        name = (exc.field or "").split(".")[0]
        field = self.fields.get(name)
        if field is None:
            return False
        field.show(exc.message)
        return True

    def clear_errors(self) -> None:
        for field in self.fields.values():
            field.clear()


def text_field(name: str, label: str, value: str = "", placeholder: str = "") -> Field:
    return Field(name, label, widgets.Text(value=value, placeholder=placeholder))


def area_field(name: str, label: str, value: str = "") -> Field:
    return Field(name, label, widgets.Textarea(value=value, rows=3))


def choice_field(name: str, label: str, options: Iterable[tuple[str, Any]], value: Any = None) -> Field:
    options = list(options)
    default = value if value is not None else (options[0][1] if options else None)
    return Field(name, label, widgets.Dropdown(options=options, value=default))


def date_field(name: str, label: str, value: date | None = None) -> Field:
    return Field(name, label, widgets.Text(value=fmt_date(value), placeholder=t("ui.date_placeholder")))


def check_field(name: str, label: str, value: bool = False) -> Field:
    return Field(name, "", widgets.Checkbox(value=value, description=label, indent=False))


def enum_options(prefix: str, values: Iterable[Any]) -> list[tuple[str, str]]:
    """Dropdown options for an enum, labelled from the catalog (``<prefix>.<value>``)."""
    return [(t(f"{prefix}.{v.value}"), v.value) for v in values]


def button(label: str, style: str = "") -> widgets.Button:
    return widgets.Button(description=label, button_style=style, layout=widgets.Layout(width="auto"))


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str) -> str:
    """An HTML table whose every cell is escaped."""
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="wb-empty">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return f'<table class="wb-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


PAGE_SIZE = 25


def close_tree(widget: widgets.Widget) -> None:
    """Close a widget and everything inside it (redrawn lists would otherwise pile up in the kernel)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


def replace_children(box: widgets.Box, *children: widgets.Widget) -> None:
    """Show ``children`` in ``box`` and close what it showed before."""
    old, box.children = box.children, children
    for widget in old:
        close_tree(widget)


def _row_html(cells: Sequence[Any], tag: str = "span") -> str:
    """One row's cells, escaped, as a single piece of markup laid out on the list's column grid."""
    inner = "".join(f'<{tag} class="wb-cell">{esc(c)}</{tag}>' for c in cells)
    return f'<div class="wb-row" style="grid-template-columns: repeat({len(cells)}, minmax(0, 1fr))">{inner}</div>'


class RowList(widgets.VBox):
    """Rows of text with an 'open' button each, a page at a time.

    Each row is one HTML widget and one button, and only one page of rows exists at a time:
    a browser draws a widget list of thousands slowly or not at all, so a site with hundreds of
    brobyggere or communities stays quick.
    """

    def __init__(self, headers: Sequence[str], rows: Sequence[tuple[Sequence[Any], str]], empty: str,
                 open_label: str, on_open: Callable[[str], None], css_class: str = "",
                 page_size: int = PAGE_SIZE) -> None:
        super().__init__()
        self.add_class("wb-rows")
        self.headers = list(headers)
        self.rows = list(rows)
        self.empty = empty
        self.open_label = open_label
        self.on_open = on_open
        self.css_class = css_class
        self.page_size = max(1, page_size)
        self.page = 0
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_template_columns="minmax(0, 1fr) auto",
                                                          grid_gap="2px 12px", align_items="center"))
        self.previous = button(t("ui.page.previous"))
        self.next = button(t("ui.page.next"))
        self.previous.add_class("wb-page-previous")
        self.next.add_class("wb-page-next")
        self.position = widgets.HTML()
        self.position.add_class("wb-page-position")
        self.previous.on_click(lambda _b: self.show_page(self.page - 1))
        self.next.on_click(lambda _b: self.show_page(self.page + 1))
        self.pager = widgets.HBox([self.previous, self.position, self.next],
                                  layout=widgets.Layout(align_items="center", grid_gap="8px"))
        self.pager.add_class("wb-pager")
        if not self.rows:
            self.children = [widgets.HTML(f'<p class="wb-empty">{esc(empty)}</p>')]
            return
        self.children = [self.grid, self.pager] if len(self.rows) > self.page_size else [self.grid]
        self.show_page(0)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.rows) // self.page_size))

    @property
    def shown(self) -> list[tuple[Sequence[Any], str]]:
        """The rows on the page now shown (cells and the id each opens)."""
        first = self.page * self.page_size
        return self.rows[first:first + self.page_size]

    def show_page(self, page: int) -> None:
        """Draw page ``page`` (clamped to the pages there are; the browser may ask for any)."""
        if not self.rows:
            return
        self.page = min(max(0, int(page)), self.pages - 1)
        cells: list[widgets.Widget] = [widgets.HTML(_row_html(self.headers, "b")), widgets.HTML("")]
        for values, target in self.shown:
            opener = button(t("ui.row_action", action=self.open_label, row=values[0] if values else ""))  # "Vælg Søren …"
            if self.css_class:
                opener.add_class(self.css_class)
            opener.on_click(lambda _b, target=target: self.on_open(target))
            cells += [widgets.HTML(_row_html(values)), opener]
        replace_children(self.grid, *cells)
        first = self.page * self.page_size
        self.position.value = esc(t("ui.page.position", first=first + 1, last=first + len(self.shown),
                                    total=len(self.rows)))
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1


def row_list(headers: Sequence[str], rows: Sequence[tuple[Sequence[Any], str]], empty: str,
             open_label: str, on_open: Callable[[str], None], css_class: str = "",
             page_size: int = PAGE_SIZE) -> RowList:
    """Rows of text with an 'open' button each; ``rows`` pairs the cells with the id to open."""
    return RowList(headers, rows, empty, open_label, on_open, css_class, page_size)


STYLE = """
<style>
.wb-error { color: #b00020; font-weight: 600; }
.wb-ok { color: #1b5e20; font-weight: 600; }
.wb-empty { color: #666; font-style: italic; }
.wb-hint { color: #555; }
.wb-table { border-collapse: collapse; width: 100%; }
.wb-table th, .wb-table td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; }
.wb-header { display: flex; justify-content: space-between; align-items: baseline; }
.wb-data-folder { color: #555; font-size: 0.85em; margin: 0; }
.wb-section { margin-top: 12px; }
.wb-row { display: grid; gap: 0 12px; width: 100%; align-items: center; }
.wb-row .wb-cell { overflow-wrap: anywhere; }
.wb-labelled.widget-inline-hbox { flex-direction: column; align-items: stretch; height: auto; }
.wb-labelled.widget-inline-hbox > .widget-label { width: auto; max-width: none; text-align: left; font-weight: bold;
  white-space: normal; overflow: visible; height: auto; line-height: 1.4; margin: 0 0 2px 0; padding: 0; }
.wb-labelled.widget-inline-hbox > input, .wb-labelled.widget-inline-hbox > select { flex: 0 0 auto; }
.wb-labelled.widget-dropdown > select { height: var(--jp-widgets-inline-height, 28px); }
.wb-label-hidden.widget-inline-hbox > .widget-label { position: absolute; width: 1px; height: 1px; margin: -1px;
  padding: 0; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.widget-tab > .lm-TabBar .lm-TabBar-tab:not(.lm-mod-current) { color: #333; }
.jupyter-button.mod-success { background-color: #2e7d32; }
.jupyter-button.mod-primary { background-color: #1565c0; }
.jupyter-button.mod-danger { background-color: #c62828; }
.jupyter-button.mod-warning { background-color: #8a4b00; }
a.wb-download { display: inline-block; margin-right: 12px; padding: 4px 10px; border: 1px solid #1976d2;
  border-radius: 3px; color: #1976d2; text-decoration: none; }
</style>
"""


def section(title: str, *children: widgets.Widget) -> widgets.VBox:
    """A titled block of a tab."""
    return widgets.VBox([widgets.HTML(f"<h3>{esc(title)}</h3>"), *children],
                        layout=widgets.Layout(margin="8px 0"))


def lookup(options: Mapping[Any, Any], value: Any, field: str) -> Any:
    """Re-check on the server that a submitted choice is one the page offered."""
    if value not in options:
        raise InvalidInput("input.choice", field=field)
    return options[value]


class CheckGroup(widgets.GridBox):
    """Checkboxes for a multiple choice; ``value`` is the tuple of chosen codes, in the offered order.

    ``css_prefix``: each box gets the class ``<prefix>-<code>`` (for tests and styling).
    """

    def __init__(self, options: Sequence[tuple[str, str]], *, css_prefix: str = "", columns: int = 2) -> None:
        self.boxes: dict[str, widgets.Checkbox] = {}
        for label, code in options:
            box = widgets.Checkbox(value=False, description=label, indent=False, layout=widgets.Layout(width="auto"))
            if css_prefix:
                box.add_class(f"{css_prefix}-{code}")
            self.boxes[code] = box
        super().__init__(list(self.boxes.values()), layout=widgets.Layout(
            grid_template_columns=f"repeat({columns}, minmax(0, 1fr))", grid_gap="0 12px"))

    @property
    def value(self) -> tuple[str, ...]:
        return tuple(code for code, box in self.boxes.items() if box.value)

    @value.setter
    def value(self, chosen: Iterable[str]) -> None:
        wanted = set(chosen)
        for code, box in self.boxes.items():
            box.value = code in wanted


SPOKEN_LANGUAGES = ("da", "en", "de", "sv", "no", "ar", "tr", "pl", "uk", "ru", "so", "fa", "ur", "ti", "ku", "bs",
                    "ro", "es", "fr")
"""Languages offered by name (ISO 639-1 codes, stored as such); any other is typed under "Andre sprog"."""


def language_name(code: str) -> str:
    """A language's name in the user's language ("arabisk"), else the code as stored."""
    return t(f"language_name.{code}") if code in SPOKEN_LANGUAGES else code


class LanguageChoice(widgets.VBox):
    """Spoken languages: a box for each common one, named in the user's language, and a line for others.

    ``value`` is the list of codes (the common ones in the offered order, then the others as typed),
    which is what the store and the matching compare.
    """

    def __init__(self, css_prefix: str) -> None:
        self.common = CheckGroup([(language_name(code), code) for code in SPOKEN_LANGUAGES],
                                 css_prefix=css_prefix, columns=4)
        self.other = labelled(widgets.Text(placeholder=t("ui.languages.other_hint")), t("ui.languages.other"))
        self.other.add_class(f"{css_prefix}-other")
        super().__init__([self.common, self.other])

    @property
    def value(self) -> list[str]:
        """The codes: the boxes ticked, then the others as typed (a typed name or code of an offered
        language counts as its box; the same code twice, in any case, once)."""
        offered = {code: code for code in SPOKEN_LANGUAGES} | {language_name(c).casefold(): c for c in SPOKEN_LANGUAGES}
        chosen: dict[str, str] = {code: code for code in self.common.value}
        for typed in split_labels(self.other.value):
            code = offered.get(typed.casefold(), typed)
            chosen.setdefault(code.casefold(), code)
        return list(chosen.values())

    @value.setter
    def value(self, codes: Iterable[str]) -> None:
        codes = list(codes)
        self.common.value = [c for c in codes if c in SPOKEN_LANGUAGES]
        self.other.value = ", ".join(c for c in codes if c not in SPOKEN_LANGUAGES)


def language_field(name: str, label: str, value: Iterable[str] = ("da",)) -> Field:
    """A ``LanguageChoice`` under its heading, set to ``value`` (Danish to begin with)."""
    choice = LanguageChoice(f"wb-field-{name}")
    choice.value = value
    return Field(name, label, choice)
