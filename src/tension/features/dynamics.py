"""Dynamics of the dyad's own hostility: short vs long windows, levels, trend, bursts."""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays
from ._ops import ewma, periods_seen, ratio, shift, since_last, trend_from_sums

HOSTILE = ("verbal_conflict", "material_conflict")


def _std(a: DyadArrays, channel: str | tuple[str, ...], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling (mean, population sd) of the dyad's own ``channel`` series."""
    n = periods_seen(a.shape[1], window)
    mean = a.window_sum("own", channel, window) / n
    x = a.own(channel)
    sq = np.cumsum(x * x, axis=1)
    sq_mean = (sq - shift(sq, window)) / n
    return mean, np.sqrt(np.clip(sq_mean - mean * mean, 0.0, None))


def dynamics_conflict_ratio_4p_52p(a: DyadArrays) -> np.ndarray:
    """Mean material conflict of the last 4 periods over the mean of the last 52; ratio (NaN without conflict in 52); 4 vs 52 periods."""
    t = a.shape[1]
    short = a.window_sum("own", "material_conflict", 4) / periods_seen(t, 4)
    long = a.window_sum("own", "material_conflict", 52) / periods_seen(t, 52)
    return ratio(short, long)


def dynamics_hostile_ewma_4p(a: DyadArrays) -> np.ndarray:
    """Exponentially weighted level of hostile intensity; Goldstein points per period; span 4 periods."""
    return ewma(a.own("hostile"), 4)


def dynamics_hostile_ewma_26p(a: DyadArrays) -> np.ndarray:
    """Exponentially weighted level of hostile intensity; Goldstein points per period; span 26 periods."""
    return ewma(a.own("hostile"), 26)


def dynamics_hostile_ewma_52p(a: DyadArrays) -> np.ndarray:
    """Exponentially weighted level of hostile intensity; Goldstein points per period; span 52 periods."""
    return ewma(a.own("hostile"), 52)


def dynamics_hostile_trend_12p(a: DyadArrays) -> np.ndarray:
    """Hostility trend of the dyad: least-squares slope of hostile intensity; Goldstein points per period per period; last 12 periods."""
    return trend_from_sums(a.own("hostile"), a.cumsum("own", "hostile"), 12)


def dynamics_hostile_acceleration_12p(a: DyadArrays) -> np.ndarray:
    """Slope over the last 6 periods minus the slope over the 6 before; Goldstein points per period squared; 12 periods."""
    slope = trend_from_sums(a.own("hostile"), a.cumsum("own", "hostile"), 6)
    return slope - shift(slope, 6)


def dynamics_hostile_volatility_12p(a: DyadArrays) -> np.ndarray:
    """Standard deviation of hostile intensity per period; Goldstein points; last 12 periods."""
    return _std(a, "hostile", 12)[1]


def dynamics_hostile_burstiness_12p(a: DyadArrays) -> np.ndarray:
    """Burstiness (sd - mean) / (sd + mean) of hostile event counts per period, -1 regular to 1 bursty; NaN when none; last 12 periods."""
    mean, sd = _std(a, HOSTILE, 12)
    return ratio(sd - mean, sd + mean)


def dynamics_periods_since_conflict(a: DyadArrays) -> np.ndarray:
    """Periods since the last period with material conflict in the dyad (0: this period); periods; NaN if never (all history)."""
    return since_last(a.own("material_conflict") > 0)
