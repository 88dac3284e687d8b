"""Dynamics of the dyad's own hostility: short vs long windows, levels, trend, bursts."""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays
from ._ops import ewma, ratio, rolling_mean, rolling_std, shift, since_last, trend


def dynamics_conflict_ratio_4p_52p(a: DyadArrays) -> np.ndarray:
    """Mean material conflict of the last 4 periods over the mean of the last 52; ratio (NaN without conflict in 52); 4 vs 52 periods."""
    x = a.own("material_conflict")
    return ratio(rolling_mean(x, 4), rolling_mean(x, 52))


def dynamics_hostile_ewma_4p(a: DyadArrays) -> np.ndarray:
    """Exponentially weighted level of hostile intensity; Goldstein points per period; span 4 periods."""
    return ewma(a.own("hostile"), 4)


def dynamics_hostile_ewma_26p(a: DyadArrays) -> np.ndarray:
    """Exponentially weighted level of hostile intensity; Goldstein points per period; span 26 periods."""
    return ewma(a.own("hostile"), 26)


def dynamics_hostile_trend_12p(a: DyadArrays) -> np.ndarray:
    """Least-squares slope of hostile intensity; Goldstein points per period per period; last 12 periods."""
    return trend(a.own("hostile"), 12)


def dynamics_hostile_acceleration_12p(a: DyadArrays) -> np.ndarray:
    """Slope over the last 6 periods minus the slope over the 6 before; Goldstein points per period squared; 12 periods."""
    slope = trend(a.own("hostile"), 6)
    return slope - shift(slope, 6)


def dynamics_hostile_volatility_12p(a: DyadArrays) -> np.ndarray:
    """Standard deviation of hostile intensity per period; Goldstein points; last 12 periods."""
    return rolling_std(a.own("hostile"), 12)


def dynamics_hostile_burstiness_12p(a: DyadArrays) -> np.ndarray:
    """Burstiness (sd - mean) / (sd + mean) of hostile event counts per period, -1 regular to 1 bursty; NaN when none; last 12 periods."""
    x = a.own("verbal_conflict") + a.own("material_conflict")
    sd, mean = rolling_std(x, 12), rolling_mean(x, 12)
    return ratio(sd - mean, sd + mean)


def dynamics_periods_since_conflict(a: DyadArrays) -> np.ndarray:
    """Periods since the last period with material conflict in the dyad (0: this period); periods; NaN if never (all history)."""
    return since_last(a.own("material_conflict") > 0)
