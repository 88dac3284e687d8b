"""Event dates from what a sentence says, resolved against the day the text was published.

"on Wednesday" is the last Wednesday on or before publication; "on June 27" and "27 June"
take the publication year (the year before when that would be after publication);
"yesterday", "today", "last week", "last month", "last year", "N days ago" count back from
publication. Without a date expression the event gets the publication day.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

__all__ = ["event_date"]

_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), start=1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_DAYS = {d: i for i, d in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())}
_MON = r"(?P<mon>january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
_PATTERNS = [
    ("iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")),
    ("mdy", re.compile(r"\b" + _MON + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?\b")),
    ("dmy", re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MON + r"(?:,?\s+(?P<y>\d{4}))?\b")),
    ("weekday", re.compile(r"\b(?:on\s+|last\s+|this\s+)?(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")),
    ("ago", re.compile(r"\b(?P<n>\d+|two|three|four|five|six|seven|ten)\s+days?\s+ago\b")),
    ("yesterday", re.compile(r"\byesterday\b")),
    ("today", re.compile(r"\b(?:today|this morning|tonight|this evening|this afternoon)\b")),
    ("last_week", re.compile(r"\blast\s+week\b")),
    ("last_month", re.compile(r"\blast\s+month\b")),
    ("last_year", re.compile(r"\blast\s+year\b")),
]
_SMALL = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10}


def _month_start(day: date, back: int) -> date:
    y, m = day.year, day.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def event_date(sentence: str, published: date) -> tuple[date, str]:
    """(date, precision) for the first date expression in the sentence; precision is day, week, month, year or published."""
    lower = sentence.lower()
    best: tuple[int, str, re.Match[str]] | None = None
    for kind, rx in _PATTERNS:
        m = rx.search(lower)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), kind, m)
    if best is None:
        return published, "published"
    _, kind, m = best
    try:
        if kind == "iso":
            return date(int(m["y"]), int(m["m"]), int(m["d"])), "day"
        if kind in ("mdy", "dmy"):
            year = int(m["y"]) if m["y"] else published.year
            day = date(year, _MONTHS[m["mon"]], int(m["d"]))
            if not m["y"] and day > published:
                day = date(year - 1, day.month, day.day)
            return day, "day"
        if kind == "weekday":
            back = (published.weekday() - _DAYS[m["wd"]]) % 7
            if m.group().startswith("last") and back == 0:
                back = 7
            return published - timedelta(days=back), "day"
        if kind == "ago":
            n = int(m["n"]) if m["n"].isdigit() else _SMALL[m["n"]]
            return published - timedelta(days=n), "day"
        if kind == "yesterday":
            return published - timedelta(days=1), "day"
        if kind == "today":
            return published, "day"
        if kind == "last_week":
            monday = published - timedelta(days=published.weekday() + 7)
            return monday, "week"
        if kind == "last_month":
            return _month_start(published, 1), "month"
        return date(published.year - 1, 1, 1), "year"
    except ValueError:  # "February 30": no such day
        return published, "published"
