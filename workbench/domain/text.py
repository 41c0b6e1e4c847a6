"""Text rules shared by every input: Unicode normalisation, CPR detection, Danish order."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar

T = TypeVar("T")

# DDMMYY, a separator or none, four digits; never part of a longer digit run. Matched on ``_cpr_view``,
# where every digit is ASCII and every run of dashes and spaces is one "-".
_CPR_SHAPE = re.compile(r"(?<![0-9])([0-9]{2})([0-9]{2})([0-9]{2})-?([0-9]{4})(?![0-9])")
# ``\d`` on str patterns is Unicode category Nd, exactly what ``str.isdecimal`` accepts.
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")
_SEPARATORS = re.compile(r"[\s\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d\u00ad\u200b-\u200d\u2060-]+")

# "{", "|", "}" are the three code points right after "z", so æ, ø, å sort after every Latin letter.
_DANISH_LETTERS = {"æ": "{", "ø": "|", "å": "}", "ä": "{", "ö": "|", "ü": "y"}


def normalise(text: str) -> str:
    """NFC-normalise and trim, so a composed and a decomposed 'å' are the same letters."""
    return unicodedata.normalize("NFC", text).strip()


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of any script (Arabic-Indic, full-width, …) as 0-9."""
    if text.isascii():  # the common case, checked in C: nothing to replace
        return text
    return _OTHER_DIGIT.sub(lambda match: str(unicodedata.decimal(match.group())), text)


def _cpr_view(text: str) -> str:
    """What CPR detection reads: NFKC (so ² and full-width digits are digits), ASCII digits, and every
    run of Unicode spaces, dashes, minus signs and invisible joiners as one "-"."""
    return _SEPARATORS.sub("-", ascii_digits(unicodedata.normalize("NFKC", text)))


def _valid_birth_date(day: int, month: int, year2: int) -> bool:
    for century in (1900, 2000):
        try:
            date(century + year2, month, day)
        except ValueError:
            continue
        return True
    return False


def contains_cpr(text: str) -> bool:
    """True when ``text`` holds something shaped like a CPR number.

    DDMMYY-XXXX or ten digits whose first six are a valid date, in any script's digits and
    with any Unicode dash or space as the separator. The modulus-11 check is deliberately
    not used: numbers issued since 2007 may fail it.
    """
    if len(text) < 10 and text.isascii():  # an ASCII character is at most one digit: fewer than ten
        return False
    for match in _CPR_SHAPE.finditer(_cpr_view(text)):
        day, month, year2 = (int(g) for g in match.groups()[:3])
        if _valid_birth_date(day, month, year2):
            return True
    return False


def danish_sort_key(text: str) -> tuple[str, str]:
    """A key that sorts names in Danish order: æ, ø, å after z; 'aa' as å; accents ignored first."""
    folded = normalise(text).casefold().replace("aa", "å")
    mapped = "".join(_DANISH_LETTERS.get(ch, ch) for ch in folded)
    stripped = "".join(
        ch for ch in unicodedata.normalize("NFD", mapped) if not unicodedata.combining(ch)
    )
    return stripped, normalise(text)


def danish_sorted(names: Iterable[str]) -> list[str]:
    """Names sorted in Danish alphabetical order."""
    return sorted(names, key=danish_sort_key)


def danish_sorted_by(items: Iterable[T], name: Callable[[T], str | None]) -> list[T]:
    """Records sorted in Danish alphabetical order of ``name(record)`` (empty names first)."""
    return sorted(items, key=lambda item: danish_sort_key(name(item) or ""))


def search_text(text: str) -> str:
    """What a search compares: NFC, trimmed and case-folded, so "Kåre" typed with a decomposed å finds Kåre."""
    return normalise(text).casefold()


def danish_equal(a: str, b: str) -> bool:
    """Names equal after Unicode normalisation and case folding (used for duplicate hints)."""
    return normalise(a).casefold() == normalise(b).casefold()


def phone_for_display(stored: str) -> str:
    """A stored phone number (``+4520304050``) as a Dane writes it: ``20 30 40 50``; anything else as it is."""
    digits = stored.removeprefix("+45")
    if len(digits) == 8 and digits.isascii() and digits.isdigit():
        return " ".join(digits[i:i + 2] for i in range(0, 8, 2))
    return stored
