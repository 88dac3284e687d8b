"""The calendar: what a period of ``D``, ``W`` or ``M`` is, in one place.

Every stage that meets a frequency asks this module; nothing else interprets ``freq``.

Frequencies
-----------
``D``  a day, labelled by itself;
``W``  an ISO week, labelled by its Monday;
``M``  a calendar month, labelled by its first day.

A *label* is a ``Timestamp`` at midnight (the period's first day). The *integer index*
counts periods from a fixed epoch: days since 1970-01-01 (``D``), weeks since Monday
1970-01-05 (``W``), months since January 1970 (``M``); :func:`to_index`, :func:`to_dates`
and the DuckDB expression :func:`sql` agree on it, so a panel built in SQL and one
labelled in pandas line up.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import UsageError, problem

__all__ = [
    "FREQS",
    "check",
    "infer",
    "of_panel",
    "label",
    "to_index",
    "to_dates",
    "sql",
    "shift",
    "offset",
    "lookback",
    "grid",
    "latest_complete",
]

FREQS: tuple[str, ...] = ("D", "W", "M")
_WEEK_EPOCH = "1970-01-05"  # a Monday: week 0 of the integer index
_OFFSET_UNIT = {"D": "days", "W": "weeks", "M": "months"}


def check(freq: Any) -> str:
    """``freq`` normalised (upper-case, no blanks) and validated; a UsageError if it is not D, W or M.

    >>> check(" w ")
    'W'
    """
    norm = str(freq).strip().upper() if freq is not None else ""
    if norm not in FREQS:
        raise UsageError(problem(
            "Unknown panel frequency: the 'freq' is unknown.",
            "D (day), W (ISO week, labelled by its Monday) or M (month, labelled by its 1st)",
            freq,
            'Use --freq W (or D, M); in the config, [panel] freq = "W".',
        ))
    return norm


def infer(periods: pd.DatetimeIndex) -> str:
    """The frequency of sorted period labels: ``M`` (all 1sts, >= 28 days apart), ``W`` (Mondays, whole weeks apart), else ``D``.

    One label alone is ``M`` when it is a 1st, else ``W``; no labels is ``W`` (the default).
    """
    periods = pd.DatetimeIndex(periods)
    if len(periods) < 2:
        return "M" if len(periods) and periods[0].day == 1 else "W"
    days = np.diff(periods.to_numpy().astype("datetime64[D]").astype(np.int64))
    if (periods.day == 1).all() and (days >= 28).all():
        return "M"
    if (periods.day_of_week == 0).all() and (days % 7 == 0).all():
        return "W"
    return "D"


def of_panel(panel: pd.DataFrame) -> str:
    """The panel's frequency: ``panel.attrs["freq"]`` when recorded, else inferred from its ``period`` column."""
    recorded = panel.attrs.get("freq")
    if recorded:
        return check(recorded)
    return infer(pd.DatetimeIndex(pd.unique(panel["period"])).sort_values())


def _datetimes(dates: Any) -> pd.DatetimeIndex | pd.Series:
    if isinstance(dates, pd.Series):
        return pd.to_datetime(dates)
    return pd.DatetimeIndex(pd.to_datetime(dates if isinstance(dates, pd.Index) else np.atleast_1d(dates)))


def _is_scalar(dates: Any) -> bool:
    return np.ndim(dates) == 0 and not isinstance(dates, (pd.Series, pd.Index))


def label(dates: Any, freq: str) -> Any:
    """The label (first day) of the period holding each date: the day, its Monday, or the 1st of its month.

    Keeps the input's kind: a scalar gives a ``Timestamp``, a Series a Series on the same
    index, anything else a ``DatetimeIndex``. Missing dates stay ``NaT``.

    >>> label("2024-01-03 15:00", "W")
    Timestamp('2024-01-01 00:00:00')
    """
    freq = check(freq)
    scalar = _is_scalar(dates)
    d = _datetimes(dates)
    acc = d.dt if isinstance(d, pd.Series) else d
    day = acc.normalize()
    if freq == "W":
        out = day - pd.to_timedelta(acc.day_of_week, unit="D")
    elif freq == "M":
        out = acc.to_period("M").dt.to_timestamp() if isinstance(d, pd.Series) else acc.to_period("M").to_timestamp()
    else:
        out = day
    if scalar:
        return pd.Timestamp(out[0])
    return out.rename(d.name) if isinstance(d, pd.Series) else pd.DatetimeIndex(out)


def to_index(dates: Any, freq: str) -> Any:
    """The integer period index of each date (see the module docstring); an ``int`` for a scalar date.

    >>> int(to_index("1970-01-12", "W")), int(to_index("1971-02-15", "M"))
    (1, 13)
    """
    freq = check(freq)
    scalar = _is_scalar(dates)
    d = _datetimes(dates)
    days = np.asarray(d, dtype="datetime64[ns]").astype("datetime64[D]")
    if np.isnat(days).any():
        raise UsageError(problem("Some dates are missing.", "a date for every row", int(np.isnat(days).sum()), "Drop or fix the rows without a date."))
    if freq == "D":
        out = days.astype(np.int64)
    elif freq == "W":
        out = (days - np.datetime64(_WEEK_EPOCH, "D")).astype(np.int64) // 7
    else:
        out = days.astype("datetime64[M]").astype(np.int64)
    return int(out[0]) if scalar else out


def to_dates(index: Any, freq: str) -> np.ndarray:
    """Integer periods -> ``datetime64[ns]`` labels (the day; the Monday of the ISO week; the 1st of the month)."""
    freq = check(freq)
    index = np.asarray(index, dtype=np.int64)
    if freq == "D":
        out = index.astype("datetime64[D]")
    elif freq == "W":
        out = np.datetime64(_WEEK_EPOCH, "D") + 7 * index
    else:
        out = index.astype("datetime64[M]").astype("datetime64[D]")
    return out.astype("datetime64[ns]")


def sql(freq: str, column: str = "date") -> str:
    """A DuckDB expression giving :func:`to_index` of ``column`` (any DATE or TIMESTAMP)."""
    freq = check(freq)
    day = f"CAST({column} AS DATE)"
    if freq == "D":
        return f"date_diff('day', DATE '1970-01-01', {day})"
    if freq == "W":  # shift to a positive range before // so it floors for dates before the epoch too
        return f"((date_diff('day', DATE '{_WEEK_EPOCH}', {day}) + 700000007) // 7 - 100000001)"
    return f"((year({day}) - 1970) * 12 + month({day}) - 1)"


def offset(freq: str, n: int = 1) -> pd.DateOffset:
    """``n`` periods of ``freq`` as a ``pd.DateOffset`` (days, weeks or calendar months)."""
    return pd.DateOffset(**{_OFFSET_UNIT[check(freq)]: int(n)})


def shift(ts_or_index: Any, n: int, freq: str) -> Any:
    """Move by ``n`` periods of ``freq``: a Timestamp, a DatetimeIndex, a Series of dates, or integer period indices.

    Dates move by :func:`offset` (``ts + offset(freq, n)``); integers, which already count
    periods, move by ``n``.
    """
    step = offset(freq, n)
    if isinstance(ts_or_index, (int, np.integer)) and not isinstance(ts_or_index, bool):
        return ts_or_index + int(n)
    if isinstance(ts_or_index, np.ndarray) and np.issubdtype(ts_or_index.dtype, np.integer):
        return ts_or_index + int(n)
    if isinstance(ts_or_index, (pd.Series, pd.DatetimeIndex)):
        return ts_or_index + step
    if isinstance(ts_or_index, pd.Index):
        return pd.DatetimeIndex(ts_or_index) + step
    return pd.Timestamp(ts_or_index) + step


def lookback(freq: str, months: int = 36) -> int:
    """``months`` expressed in periods of ``freq`` (36 months = 36 M, 156 W, 1096 D)."""
    freq = check(freq)
    if freq == "M":
        return int(months)
    if freq == "W":
        return int(round(months * 52 / 12))
    return int(round(months * 365.25 / 12))


def grid(panel: pd.DataFrame) -> tuple[pd.DatetimeIndex, str]:
    """Every period label from the panel's first to its last period, and the panel's frequency (:func:`of_panel`)."""
    periods = pd.DatetimeIndex(pd.unique(panel["period"])).sort_values()
    freq = check(panel.attrs.get("freq") or infer(periods))
    if len(periods) == 0:
        return periods, freq
    first, last = to_index(periods[[0, -1]], freq)
    return pd.DatetimeIndex(to_dates(np.arange(first, last + 1), freq)), freq


def latest_complete(as_of: Any, freq: str) -> pd.Timestamp:
    """The label of the last period that ended before ``as_of`` (the period holding ``as_of`` is still running).

    >>> latest_complete("2021-07-05", "W")
    Timestamp('2021-06-28 00:00:00')
    """
    return pd.Timestamp(label(pd.Timestamp(as_of), freq) - offset(freq))
