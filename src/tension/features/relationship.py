"""The relationship between the two sides: reciprocity, tit-for-tat, hostile share, normalised intensity.

"Hostile" events are verbal or material conflict (quad classes 3 and 4).
"""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays
from ._ops import ratio, rolling_sum, shift

HOSTILE = ("verbal_conflict", "material_conflict")


def relationship_reciprocity_12p(a: DyadArrays) -> np.ndarray:
    """min/max of hostile events source->target vs target->source, 1 symmetric to 0 one-sided; NaN when none; last 12 periods."""
    f, r = a.window_sum("fwd", HOSTILE, 12), a.window_sum("rev", HOSTILE, 12)
    return ratio(np.minimum(f, r), np.maximum(f, r))


def relationship_asymmetry_12p(a: DyadArrays) -> np.ndarray:
    """(hostile source->target - target->source) / both, -1 to 1 (1: only source is hostile); NaN when none; last 12 periods."""
    f, r = a.window_sum("fwd", HOSTILE, 12), a.window_sum("rev", HOSTILE, 12)
    return ratio(f - r, f + r)


def relationship_tit_for_tat_12p(a: DyadArrays) -> np.ndarray:
    """Periods where one side is hostile right after (next period) the other was; count of responses; last 12 periods."""
    f, r = a.fwd(HOSTILE) > 0, a.rev(HOSTILE) > 0
    responses = (f & (shift(r, 1) > 0)).astype(np.float64) + (r & (shift(f, 1) > 0))
    return rolling_sum(responses, 12)


def relationship_hostile_share_4p(a: DyadArrays) -> np.ndarray:
    """Share of the dyad's events (either direction) that are hostile; 0-1; NaN when no events; last 4 periods."""
    return ratio(a.window_sum("both", HOSTILE, 4), a.window_sum("both", "events", 4))


def relationship_cooperation_share_12p(a: DyadArrays) -> np.ndarray:
    """Share of the dyad's events (either direction) in the cooperation family; 0-1; NaN when no events; last 12 periods."""
    return ratio(a.window_sum("both", "cooperation", 12), a.window_sum("both", "events", 12))


def relationship_hostile_per_1k_4p(a: DyadArrays) -> np.ndarray:
    """Hostile intensity of the dyad per 1,000 events recorded worldwide (media-volume normalised); Goldstein points; NaN without volume; last 4 periods."""
    volume = rolling_sum(a.context.events_global[None, :], 4)[0]
    per_event = np.where(volume > 0, 1000.0 / np.where(volume > 0, volume, 1.0), np.nan)
    return a.window_sum("own", "hostile", 4) * per_event
