"""The pair's own conflict history at several time scales, and each side's conflict with anyone.

"Conflict month" = a period with at least one material-conflict event (CAMEO roots 15-20)
in the dyad. These are the facts an analyst already knows; models use them to add to the
pair's history rather than to rediscover it.
"""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays
from ._ops import decayed_mean, rolling_sum


def _hit(a: DyadArrays) -> np.ndarray:
    return (a.own("material_conflict") > 0).astype(np.float64)


def history_conflict_ewma_6p(a: DyadArrays) -> np.ndarray:
    """Exponentially weighted share of periods with material conflict in the dyad, half-life 6 periods; share 0-1; periods without events anywhere skipped; all periods up to t."""
    return decayed_mean(_hit(a), 6.0, a.context.events_global > 0)


def history_conflict_periods_3p(a: DyadArrays) -> np.ndarray:
    """Periods with material conflict in the dyad; count of periods (0-3); last 3 periods."""
    return rolling_sum(_hit(a), 3)


def history_conflict_periods_12p(a: DyadArrays) -> np.ndarray:
    """Periods with material conflict in the dyad; count of periods (0-12); last 12 periods."""
    return rolling_sum(_hit(a), 12)


def history_conflict_periods_36p(a: DyadArrays) -> np.ndarray:
    """Periods with material conflict in the dyad; count of periods (0-36); last 36 periods."""
    return rolling_sum(_hit(a), 36)


def history_conflict_rate_all(a: DyadArrays) -> np.ndarray:
    """Long-run share of periods with material conflict since the dyad's first event; share 0-1; NaN before any event; all periods up to t."""
    active = np.cumsum(a.own("events") > 0, axis=1) > 0
    known = np.cumsum(active, axis=1, dtype=np.float64)
    hits = np.cumsum(_hit(a), axis=1)
    out = np.full(a.shape, np.nan)
    np.divide(hits, known, out=out, where=known > 0)
    return out


def history_side_conflict_max_12p(a: DyadArrays) -> np.ndarray:
    """Material conflict of the more conflict-prone side with anyone (country propensity); count; last 12 periods."""
    return np.maximum(a.ctx_window_sum("conflict", 12, ("source",)), a.ctx_window_sum("conflict", 12, ("target",)))


def history_side_conflict_min_12p(a: DyadArrays) -> np.ndarray:
    """Material conflict of the less conflict-prone side with anyone (country propensity); count; last 12 periods."""
    return np.minimum(a.ctx_window_sum("conflict", 12, ("source",)), a.ctx_window_sum("conflict", 12, ("target",)))
