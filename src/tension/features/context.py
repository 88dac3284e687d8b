"""Context: each side's conflict elsewhere, third-party spillover, the region's temperature.

Computed from the country-level pass (:class:`tension.dyads.CountryContext`). Regions come
from the experiment's ``regions`` table (default: South Caucasus); a dyad with no side in a
known region has NaN region temperature (unknown, not calm).
"""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays


def context_source_conflict_others_4p(a: DyadArrays) -> np.ndarray:
    """Material conflict of the source with countries other than the target; count; last 4 periods."""
    return a.ctx_window_sum("conflict", 4, ("source",)) - a.window_sum("both", "material_conflict", 4)


def context_target_conflict_others_4p(a: DyadArrays) -> np.ndarray:
    """Material conflict of the target with countries other than the source; count; last 4 periods."""
    return a.ctx_window_sum("conflict", 4, ("target",)) - a.window_sum("both", "material_conflict", 4)


def context_ally_conflict_4p(a: DyadArrays) -> np.ndarray:
    """Material conflict of either side's allies (fellow bloc members) with anyone; count; last 4 periods."""
    return a.ctx_window_sum("ally_conflict", 4)


def context_rival_bloc_conflict_4p(a: DyadArrays) -> np.ndarray:
    """Material conflict of each side with members of the other side's blocs it does not belong to; count; last 4 periods."""
    return a.rival_bloc_conflict(4)


def context_region_conflict_4p(a: DyadArrays) -> np.ndarray:
    """Material conflict between countries of either side's region (each region once); count; NaN when no known region; last 4 periods."""
    return a.region_conflict(4)
