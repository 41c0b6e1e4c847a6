"""Text rules shared by every input: Unicode normalisation, CPR detection, Danish order."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

# DDMMYY, a separator or none, four digits; never part of a longer digit run.
_CPR_SHAPE = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})(?:[-\u2010\u2011\u2013 ]?)(\d{4})(?!\d)")

# "{", "|", "}" are the three code points right after "z", so æ, ø, å sort after every Latin letter.
_DANISH_LETTERS = {"æ": "{", "ø": "|", "å": "}", "ä": "{", "ö": "|", "ü": "y"}


def normalise(text: str) -> str:
    """NFC-normalise and trim, so a composed and a decomposed 'å' are the same letters."""
    return unicodedata.normalize("NFC", text).strip()


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

    DDMMYY-XXXX or ten digits whose first six are a valid date. The modulus-11
    check is deliberately not used: numbers issued since 2007 may fail it.
    """
    for match in _CPR_SHAPE.finditer(normalise(text)):
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


def danish_equal(a: str, b: str) -> bool:
    """Names equal after Unicode normalisation and case folding (used for duplicate hints)."""
    return normalise(a).casefold() == normalise(b).casefold()
