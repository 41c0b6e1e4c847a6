"""Message catalog: every user-facing sentence, in Danish (default) and English.

The language comes from ``set_language`` or the ``WORKBENCH_LANG`` environment
variable; keys missing in a language are a bug caught by ``tests/test_i18n.py``.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES: tuple[str, ...] = ("da", "en")
DEFAULT_LANGUAGE = "da"
_current: str | None = None


@cache
def catalog(language: str) -> dict[str, str]:
    """The whole catalog of one language: every ``locale/<language>/*.json`` merged, loaded once.

    One file per area (core, each dashboard tab) keeps translations reviewable; a key
    defined in two files is a bug (``tests/test_i18n.py``).
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; choose one of {LANGUAGES}")
    merged: dict[str, str] = {}
    for part in sorted(catalog_files(language), key=lambda p: p.name):
        merged.update(json.loads(part.read_text("utf-8")))
    return merged


def catalog_files(language: str) -> list[Any]:
    """The catalog files of one language."""
    folder = resources.files("workbench").joinpath("locale", language)
    return [p for p in folder.iterdir() if p.name.endswith(".json")]


def language() -> str:
    """The language in force: set explicitly, else ``WORKBENCH_LANG``, else Danish."""
    if _current is not None:
        return _current
    env = os.environ.get("WORKBENCH_LANG", "").strip().lower()[:2]
    return env if env in LANGUAGES else DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """Choose the UI language for this process."""
    global _current
    catalog(lang)  # validates the name
    _current = lang


def t(key: str, lang: str | None = None, **params: Any) -> str:
    """The message ``key`` in ``lang`` (default: the language in force), filled with ``params``."""
    messages = catalog(lang or language())
    template = messages.get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
