"""What a recall query says beyond its words: the times and the names it mentions.

Both are cheap, deterministic signals that a small embedding model misses. A question
like "what did Nate cook in November 2022?" names a month (memories from then are
likelier answers) and a person (memories *by* Nate are likelier than memories that
merely mention him).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from typing import Final

__all__ = ["TimeWindow", "mentioned", "month_number", "time_windows"]

TimeWindow = tuple[float, float]
"""[start, end) in epoch seconds, UTC."""

_MONTHS: Final = (
    {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
    | {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
_MONTH: Final = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY: Final = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR: Final = r"((?:19|20)\d\d)"
# ASCII: a Unicode case variant (long s for "s") must not match "sept" and then miss the month table.
_FLAGS: Final = re.IGNORECASE | re.ASCII
_PATTERNS: Final = (
    # "8 May 2023", "8th of May, 2023"
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", _FLAGS),
    # "May 8, 2023", "May 2023", "May, 2023"
    re.compile(rf"\b{_MONTH},?\s+(?:{_DAY},?\s+)?{_YEAR}\b", _FLAGS),
)
_BARE_YEAR: Final = re.compile(rf"\b(?:in|of|during|since|by|around|year)\s+{_YEAR}\b", _FLAGS)


def month_number(name: str) -> int | None:
    """1-12 for an English month name or abbreviation ("May", "sept", "Dec."), else ``None``."""
    return _MONTHS.get(name.lower().rstrip("."))


def _epoch(year: int, month: int) -> float:
    return dt.datetime(year, month, 1, tzinfo=dt.timezone.utc).timestamp()


def _month_window(year: int, month: int) -> TimeWindow:
    end = (year + 1, 1) if month == 12 else (year, month + 1)
    return _epoch(year, month), _epoch(*end)


def time_windows(query: str) -> list[TimeWindow]:
    """The calendar months (or years) ``query`` mentions explicitly, as time windows.

    A date names its whole month: people say "in May 2023" of things remembered from any
    day of it, and a day-level window would miss memories stamped with the day they
    were *told*, not the day they happened. Relative dates ("last week") are not
    resolved: they are relative to an unknown "now" of the question.
    """
    windows: list[TimeWindow] = []
    spans: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(query):
            if any(start < match.end() and match.start() < end for start, end in spans):
                continue
            groups = [g for g in match.groups() if g is not None]
            month_name = next(g for g in groups if not g.isdigit())
            year = int(groups[-1])
            spans.append(match.span())
            windows.append(_month_window(year, _MONTHS[month_name.lower().rstrip(".")]))
    if not windows:
        for match in _BARE_YEAR.finditer(query):
            year = int(match.group(1))
            windows.append((_epoch(year, 1), _epoch(year + 1, 1)))
    return list(dict.fromkeys(windows))


def mentioned(query: str, names: Iterable[str]) -> set[str]:
    """The ``names`` that occur in ``query`` as whole words (case-insensitive)."""
    lowered = query.lower()
    found = set()
    for name in names:
        needle = name.strip().lower()
        if len(needle) >= 2 and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", lowered):
            found.add(name)
    return found
