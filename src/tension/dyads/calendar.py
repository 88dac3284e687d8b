"""Integer periods of the panel: days, ISO weeks and months counted from 1970.

Periods are integers: days since 1970-01-01 (``D``), ISO weeks since Monday
1970-01-05 (``W``), months since January 1970 (``M``); :func:`period_dates` turns
them back into ``datetime64[ns]`` labels (the day, the Monday, the 1st).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError, problem

__all__ = ["FREQS", "check_freq", "lookback_periods", "period_dates", "period_sql", "period_of"]

FREQS: tuple[str, ...] = ("D", "W", "M")
_WEEK_EPOCH = "1970-01-05"  # a Monday


def check_freq(freq: str) -> str:
    """``freq`` when it is one of :data:`FREQS`; a usage error that says what to use otherwise."""
    if freq not in FREQS:
        raise UsageError(problem("Unknown panel frequency.", "one of D (day), W (ISO week), M (month)", freq, "Use --freq W."))
    return freq


def lookback_periods(freq: str, months: int = 36) -> int:
    """``months`` expressed in periods of ``freq`` (36 months = 36 M, 156 W, 1096 D)."""
    check_freq(freq)
    if freq == "M":
        return int(months)
    if freq == "W":
        return int(round(months * 52 / 12))
    return int(round(months * 365.25 / 12))


def period_dates(index: np.ndarray, freq: str) -> np.ndarray:
    """Integer periods -> ``datetime64[ns]`` labels (day; Monday of the ISO week; first of the month)."""
    index = np.asarray(index, dtype=np.int64)
    if freq == "D":
        out = index.astype("datetime64[D]")
    elif freq == "W":
        out = np.datetime64(_WEEK_EPOCH, "D") + 7 * index
    else:
        out = index.astype("datetime64[M]").astype("datetime64[D]")
    return out.astype("datetime64[ns]")


def period_sql(freq: str, column: str = "date") -> str:
    """DuckDB expression of the integer period of ``column``."""
    day = f"date_diff('day', DATE '{_WEEK_EPOCH}', CAST({column} AS DATE))"
    if freq == "D":
        return f"date_diff('day', DATE '1970-01-01', CAST({column} AS DATE))"
    if freq == "W":
        return f"(({day} + 700000007) // 7 - 100000001)"
    return f"((year(CAST({column} AS DATE)) - 1970) * 12 + month(CAST({column} AS DATE)) - 1)"


def period_of(day: Any, freq: str) -> int:
    """Integer period of one date."""
    d = np.datetime64(pd.Timestamp(day).date(), "D")
    if freq == "D":
        return int(d.astype(np.int64))
    if freq == "W":
        return int((d - np.datetime64(_WEEK_EPOCH, "D")).astype(np.int64) // 7)
    return int(d.astype("datetime64[M]").astype(np.int64))
