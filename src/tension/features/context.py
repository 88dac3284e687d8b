"""Context: each side's conflict elsewhere, third-party spillover, the region's temperature.

Computed from the country-level pass (:class:`tension.dyads.CountryContext`). Regions come
from the experiment's ``regions`` table (default: South Caucasus); a dyad with no side in a
known region has NaN region temperature (unknown, not calm).
"""
from __future__ import annotations

import numpy as np

from ..dyads import DyadArrays
from ._ops import rolling_sum


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
    return _rival_bloc_conflict(a, 4)


def context_region_conflict_4p(a: DyadArrays) -> np.ndarray:
    """Material conflict between countries of either side's region (each region once); count; NaN when no known region; last 4 periods."""
    return _region_conflict(a, 4)


def _region_conflict(a: DyadArrays, window: int) -> np.ndarray:
    """Material conflict in the region(s) of either side (each region once) over the last ``window`` periods; NaN when neither side's region is known."""
    ctx = a.context
    lut = np.append(ctx.region_of, -1)
    rs, rt = lut[a.src_idx], lut[a.tgt_idx]
    out = np.full(a.shape, np.nan)
    if ctx.region_totals.shape[0] == 0:
        return out
    totals = np.vstack([rolling_sum(ctx.region_totals, window), np.zeros((1, ctx.n_periods))])  # row -1: no region
    known = np.flatnonzero((rs >= 0) | (rt >= 0))
    same = rt[known] == rs[known]
    out[known] = totals[rs[known]] + np.where(same[:, None], 0.0, totals[rt[known]])
    return out


def _rival_bloc_conflict(a: DyadArrays, window: int) -> np.ndarray:
    """Material conflict over the last ``window`` periods of each side with the other members of the other side's blocs it is not in (membership of each period)."""
    ctx = a.context
    out = np.zeros(a.shape)
    if not ctx.blocs:
        return out
    m = ctx.bloc_members
    si, ti = np.clip(a.src_idx, 0, None), np.clip(a.tgt_idx, 0, None)
    known = ((a.src_idx >= 0) & (a.tgt_idx >= 0))[:, None]
    rolled = rolling_sum(ctx.bloc_conflict.reshape(-1, ctx.n_periods), window).reshape(ctx.bloc_conflict.shape)
    for bi in range(len(ctx.blocs)):
        s_in, t_in = m[bi][si] & known, m[bi][ti] & known
        for me, partner, mine, theirs in ((si, ti, s_in, t_in), (ti, si, t_in, s_in)):
            cells = theirs & ~mine  # the partner's bloc, not mine, in period t
            rows = np.flatnonzero(cells.any(axis=1))
            if not len(rows):
                continue
            # my conflict with the bloc's members, less the dyad's own conflict in periods the partner was one
            own = a.both("material_conflict")[rows] * m[bi][partner[rows]]
            value = rolled[me[rows], bi, :] - rolling_sum(own, window)
            out[rows] += np.where(cells[rows], value, 0.0)
    return out
