"""Feature builders: small pure functions over dense dyad x period arrays.

Each builder takes a :class:`tension.dyads.DyadArrays` (one bucket of dyads, all
periods) and returns a float array of the same ``(dyad, period)`` shape. Its name is
the output column ``<family>_<measure>_<window>`` (window in periods of the panel's
frequency, ``4p`` = the last 4 periods including t); its docstring gives meaning, unit
and window. Builders read only periods ``<= t`` for the value at t.

The registry is the explicit tuple :data:`FEATURES`; a test checks every public
builder of this package is in it.
"""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..dyads import DyadArrays
from . import alliances, context, denials, dynamics, geography, history, incidents, relationship

Builder = Callable[[DyadArrays], np.ndarray]

FEATURES: tuple[Builder, ...] = (
    incidents.incidents_material_conflict_4p,
    incidents.incidents_material_conflict_12p,
    incidents.incidents_hostile_intensity_4p,
    incidents.incidents_force_posture_4p,
    incidents.incidents_coercion_4p,
    incidents.incidents_violence_4p,
    incidents.incidents_violence_12p,
    denials.denials_deny_by_source_4p,
    denials.denials_deny_by_target_4p,
    denials.denials_reject_by_source_4p,
    denials.denials_reject_by_target_4p,
    denials.denials_accuse_by_source_4p,
    denials.denials_accuse_by_target_4p,
    denials.denials_criticize_by_source_4p,
    denials.denials_criticize_by_target_4p,
    denials.denials_threaten_by_source_4p,
    denials.denials_threaten_by_target_4p,
    denials.denials_verbal_conflict_12p,
    alliances.alliances_agreements_12p,
    alliances.alliances_mil_cooperation_12p,
    alliances.alliances_relations_reduced_12p,
    alliances.alliances_moves_12p,
    alliances.alliances_bloc_joins_12p,
    alliances.alliances_bloc_exits_12p,
    alliances.alliances_ally_moves_12p,
    dynamics.dynamics_conflict_ratio_4p_52p,
    dynamics.dynamics_hostile_ewma_4p,
    dynamics.dynamics_hostile_ewma_26p,
    dynamics.dynamics_hostile_ewma_52p,
    dynamics.dynamics_hostile_trend_12p,
    dynamics.dynamics_hostile_acceleration_12p,
    dynamics.dynamics_hostile_volatility_12p,
    dynamics.dynamics_hostile_burstiness_12p,
    dynamics.dynamics_periods_since_conflict,
    relationship.relationship_reciprocity_12p,
    relationship.relationship_asymmetry_12p,
    relationship.relationship_tit_for_tat_12p,
    relationship.relationship_hostile_share_4p,
    relationship.relationship_cooperation_share_12p,
    relationship.relationship_hostile_per_1k_4p,
    context.context_source_conflict_others_4p,
    context.context_target_conflict_others_4p,
    context.context_ally_conflict_4p,
    context.context_rival_bloc_conflict_4p,
    context.context_region_conflict_4p,
    history.history_conflict_ewma_6p,
    history.history_conflict_periods_3p,
    history.history_conflict_periods_12p,
    history.history_conflict_periods_36p,
    history.history_conflict_rate_all,
    history.history_side_conflict_max_12p,
    history.history_side_conflict_min_12p,
    geography.geography_shared_border,
    geography.geography_capital_distance,
)
"""Every registered feature builder, in panel column order."""

FAMILY_MODULES = (incidents, denials, alliances, dynamics, relationship, context, history, geography)


OWN_HISTORY: tuple[Builder, ...] = (history.history_conflict_ewma_6p, dynamics.dynamics_periods_since_conflict)
"""The builders that read only the dyad's own material conflict: the pair's history, which every model sees."""


class _OwnConflict:
    """The part of :class:`DyadArrays` the :data:`OWN_HISTORY` builders read, over a dense conflict array."""

    def __init__(self, conflict: np.ndarray, observed: np.ndarray) -> None:
        self._conflict = conflict
        self.context = SimpleNamespace(events_global=np.where(observed, 1.0, 0.0))
        self.shape = conflict.shape

    def own(self, channel: str) -> np.ndarray:
        if channel != "material_conflict":
            raise KeyError(f"Only the dyad's own material conflict is known here, not {channel!r}.")
        return self._conflict


def own_history(conflict: np.ndarray, observed: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`OWN_HISTORY` builders run on a dense ``dyad x period`` array of material-conflict counts.

    For panels made without :func:`tension.panel.build_panel` (which computes these columns
    itself): ``observed[t]`` is False for periods without events anywhere.
    """
    view = _OwnConflict(np.nan_to_num(np.asarray(conflict, dtype=np.float64)), np.asarray(observed, dtype=bool))
    return {f.__name__: f(view) for f in OWN_HISTORY}  # type: ignore[arg-type]


def feature_names(features: tuple[Builder, ...] = FEATURES) -> list[str]:
    """Output column names of ``features``."""
    return [f.__name__ for f in features]


def feature_columns(panel: pd.DataFrame) -> list[str]:
    """The feature columns of ``panel`` (registered builders present in it), in registry order."""
    names = panel.attrs.get("features")
    if names is None:
        names = feature_names()
    return [n for n in names if n in panel.columns]


def describe_features(features: tuple[Builder, ...] = FEATURES) -> pd.DataFrame:
    """One row per feature: ``name``, ``family`` and the one-line ``doc`` (meaning, unit, window)."""
    return pd.DataFrame(
        {
            "name": [f.__name__ for f in features],
            "family": [f.__name__.split("_", 1)[0] for f in features],
            "doc": [(f.__doc__ or "").strip().splitlines()[0] if f.__doc__ else "" for f in features],
        }
    )


__all__ = ["FEATURES", "FAMILY_MODULES", "OWN_HISTORY", "Builder", "own_history", "feature_columns", "feature_names", "describe_features"]
