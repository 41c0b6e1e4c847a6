"""Scoring of the outcome questionnaires: UCLA 3-item loneliness scale and SWEMWBS.

Pure functions over a list of answers (1-based item order). A bad answer is refused
with ``InvalidInput`` naming the rule broken, never coerced: a score computed from a
guessed answer would be a wrong measurement stored as a right one.

Sources:
- UCLA-3: Hughes, Waite, Hawkley & Cacioppo (2004), Research on Aging 26(6):655-672.
  The Danish national health profile (Den Nationale Sundhedsprofil) counts a total
  of 7 or more as signs of severe loneliness ("tegn på svær ensomhed").
- SWEMWBS: Stewart-Brown et al. (2009), Health and Quality of Life Outcomes 7:15;
  raw-to-metric conversion table as distributed by Warwick Medical School.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from workbench.errors import InvalidInput

# --- UCLA 3-item loneliness scale -------------------------------------------------

UCLA3_ITEMS = 3
UCLA3_LOW = 1
UCLA3_HIGH = 3
UCLA3_MIN_TOTAL = UCLA3_ITEMS * UCLA3_LOW
UCLA3_MAX_TOTAL = UCLA3_ITEMS * UCLA3_HIGH
UCLA3_SEVERE_FROM = 7
"""Danish national health profile: a total of 7 or more shows signs of severe loneliness."""

UCLA3_ITEMS_EN: tuple[str, ...] = (
    "How often do you feel that you lack companionship?",
    "How often do you feel left out?",
    "How often do you feel isolated from others?",
)
"""Default English item texts; the deploying organisation may replace the wording."""

UCLA3_CHOICES_EN: tuple[str, ...] = ("Hardly ever", "Some of the time", "Often")
"""Default English answer labels for the values 1, 2, 3."""

# --- SWEMWBS ----------------------------------------------------------------------

SWEMWBS_ITEMS = 7
SWEMWBS_LOW = 1
SWEMWBS_HIGH = 5
SWEMWBS_MIN_RAW = SWEMWBS_ITEMS * SWEMWBS_LOW
SWEMWBS_MAX_RAW = SWEMWBS_ITEMS * SWEMWBS_HIGH

SWEMWBS_ITEMS_EN: tuple[str, ...] = (
    "I've been feeling optimistic about the future",
    "I've been feeling useful",
    "I've been feeling relaxed",
    "I've been dealing with problems well",
    "I've been thinking clearly",
    "I've been feeling close to other people",
    "I've been able to make up my own mind about things",
)
"""Default English item texts; the deploying organisation may replace the wording."""

SWEMWBS_CHOICES_EN: tuple[str, ...] = (
    "None of the time",
    "Rarely",
    "Some of the time",
    "Often",
    "All of the time",
)
"""Default English answer labels for the values 1 to 5."""

SWEMWBS_COPYRIGHT = (
    "Short Warwick Edinburgh Mental Wellbeing Scale (SWEMWBS) © NHS Health Scotland, "
    "University of Warwick and University of Edinburgh, 2008, all rights reserved."
)
"""Reproduction notice that must be shown wherever the scale is shown (wording as quoted by CORC)."""

SWEMWBS_CONVERSION: Mapping[int, float] = MappingProxyType(
    {
        7: 7.00,
        8: 9.51,
        9: 11.25,
        10: 12.40,
        11: 13.33,
        12: 14.08,
        13: 14.75,
        14: 15.32,
        15: 15.84,
        16: 16.36,
        17: 16.88,
        18: 17.43,
        19: 17.98,
        20: 18.59,
        21: 19.25,
        22: 19.98,
        23: 20.73,
        24: 21.54,
        25: 22.35,
        26: 23.21,
        27: 24.11,
        28: 25.03,
        29: 26.02,
        30: 27.03,
        31: 28.13,
        32: 29.31,
        33: 30.70,
        34: 32.55,
        35: 35.00,
    }
)
"""Published Rasch conversion of the SWEMWBS raw total (7..35) to the metric score."""

INSTRUMENTS: tuple[str, ...] = ("ucla3", "swemwbs")


@dataclass(frozen=True)
class Score:
    """One scored questionnaire: the raw total, and the metric score where the scale has one."""

    raw: int
    metric: float | None = None


def _is_int(value: object) -> bool:
    """True for a genuine int; bool is refused because True/False are not answers."""
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_total(answers: Sequence[int], count: int, low: int, high: int) -> int:
    """The sum of ``count`` answers each in ``low..high``; refuses anything else, naming the item."""
    if isinstance(answers, (str, bytes)) or not isinstance(answers, Sequence):
        raise TypeError(f"answers must be a sequence of ints, not {type(answers).__name__}")
    if len(answers) != count:
        raise InvalidInput("measure.answer_count", field="answers", expected=count, got=len(answers))
    for item, answer in enumerate(answers, start=1):
        if not _is_int(answer) or not low <= answer <= high:
            raise InvalidInput("measure.answer_range", field="answers", item=item, low=low, high=high)
    return sum(answers)


def score_ucla3(answers: Sequence[int]) -> int:
    """The UCLA-3 loneliness total (3..9, higher is lonelier) from three answers of 1..3."""
    return _checked_total(answers, UCLA3_ITEMS, UCLA3_LOW, UCLA3_HIGH)


def ucla3_severe(total: int) -> bool:
    """Whether a UCLA-3 total shows signs of severe loneliness (7 or more, the Danish health-profile cut)."""
    if not _is_int(total) or not UCLA3_MIN_TOTAL <= total <= UCLA3_MAX_TOTAL:
        raise InvalidInput("measure.raw_range", field="raw_score", low=UCLA3_MIN_TOTAL, high=UCLA3_MAX_TOTAL)
    return total >= UCLA3_SEVERE_FROM


def score_swemwbs(answers: Sequence[int]) -> int:
    """The SWEMWBS raw total (7..35) from seven answers of 1..5; convert it before comparing studies."""
    return _checked_total(answers, SWEMWBS_ITEMS, SWEMWBS_LOW, SWEMWBS_HIGH)


def swemwbs_metric(raw: int) -> float:
    """The SWEMWBS metric score for a raw total, via the published table, so scores compare across studies."""
    if not _is_int(raw) or raw not in SWEMWBS_CONVERSION:
        raise InvalidInput("measure.raw_range", field="raw_score", low=SWEMWBS_MIN_RAW, high=SWEMWBS_MAX_RAW)
    return SWEMWBS_CONVERSION[raw]


def parse_answers(text: str) -> list[int]:
    """Answers typed as "2, 3, 2" (commas, semicolons or spaces between them) as whole numbers.

    Only the ASCII digits 0-9 count: "²" or "٢" is refused with the item it concerns rather
    than read as a number, so what is stored is exactly what the form showed.
    """
    answers = []
    for item, part in enumerate((p for p in re.split(r"[\s,;]+", text.strip()) if p), start=1):
        if not re.fullmatch(r"[0-9]{1,2}", part):
            raise InvalidInput("measure.answer_digits", field="answers", item=item)
        answers.append(int(part))
    return answers


def score(instrument: str, answers: Sequence[int]) -> Score:
    """Score ``answers`` on the named instrument ("ucla3" or "swemwbs"), so callers need one entry point."""
    if instrument == "ucla3":
        return Score(raw=score_ucla3(answers))
    if instrument == "swemwbs":
        raw = score_swemwbs(answers)
        return Score(raw=raw, metric=swemwbs_metric(raw))
    raise InvalidInput("measure.instrument", field="instrument")
