"""Field rules with specific messages: postal codes, phones, e-mail, birth years, names, free text.

Each function returns the cleaned value or raises ``InvalidInput`` naming the rule broken.
They are used as pydantic validators, so the model and the service share one set of rules.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from workbench.domain.text import ascii_digits, contains_cpr, normalise
from workbench.errors import InvalidInput

MAX_NAME = 120
MAX_TEXT = 5000
_PHONE = re.compile(r"(?:\+45)?[0-9]{8}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def free_text(value: str, max_length: int = MAX_TEXT) -> str:
    """Normalised text without control characters or anything shaped like a CPR number."""
    text = normalise(value)
    if contains_cpr(text):
        raise InvalidInput("input.cpr_refused")
    if _CONTROL.search(text):
        raise InvalidInput("input.control_chars")
    if len(text) > max_length:
        raise InvalidInput("input.too_long", max=max_length)
    return text


def name(value: str) -> str:
    """A person's or a place's name: not empty, kept exactly as typed (æøå, accents)."""
    text = free_text(value, MAX_NAME)
    if not text:
        raise InvalidInput("input.name_empty")
    if "\n" in text or "\r" in text:
        raise InvalidInput("input.name_one_line")
    return text


def _digits_text(value: str) -> str:
    """Trimmed NFKC text with every script's digits as ASCII (``٨٦٠٠`` and ``８６００`` are 8600)."""
    return ascii_digits(unicodedata.normalize("NFKC", str(value))).strip()


def postal_code(value: str | int) -> str:
    """A Danish postal code: four digits from 0800 to 9990 (stored in ASCII digits)."""
    text = _digits_text(str(value))
    if not re.fullmatch(r"[0-9]{4}", text):
        raise InvalidInput("input.postal_code_digits")
    if not 800 <= int(text) <= 9990:
        raise InvalidInput("input.postal_code_range")
    return text


def phone(value: str) -> str:
    """A Danish phone number, optionally with +45; stored as +45 and eight ASCII digits."""
    compact = re.sub(r"[\s\u2010-\u2015\u2212-]", "", _digits_text(value))
    if not _PHONE.fullmatch(compact):
        raise InvalidInput("input.phone")
    return "+45" + compact.removeprefix("+45")


def email(value: str) -> str:
    """An e-mail address of the ordinary shape name@domain.tld."""
    text = normalise(value)
    if not _EMAIL.fullmatch(text) or len(text) > 254:
        raise InvalidInput("input.email")
    return text


def birth_year(value: int, today: date | None = None) -> int:
    """A plausible birth year: the citizen is between 0 and 110 years old."""
    current = (today or date.today()).year
    if not current - 110 <= value <= current:
        raise InvalidInput("input.birth_year", low=current - 110, high=current)
    return value


def site_code(value: str) -> str:
    """A site code of three capital letters, used in case numbers (ODE-2026-0042)."""
    text = normalise(value).upper()
    if not re.fullmatch(r"[A-ZÆØÅ]{3}", text):
        raise InvalidInput("input.site_code")
    return text


def clock(value: str) -> str:
    """A time of day written HH:MM."""
    text = normalise(value)
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise InvalidInput("input.clock")
    return f"{int(match[1]):02d}:{match[2]}"


_CLIENT_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


def client_key(value: str) -> str:
    """A referring system's key for one referral: 8 to 64 letters, digits, '-' or '_' (a UUID will do)."""
    if not _CLIENT_KEY.fullmatch(value):
        raise InvalidInput("input.client_key")
    return value
