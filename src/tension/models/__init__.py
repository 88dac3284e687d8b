"""Models: scikit-learn estimators with ``predict_proba`` (baselines, statsmodels wrappers,
sklearn pipelines, time-ordered calibration, a weighted ensemble) and the matrix they see.

``MODELS`` maps a name to a factory returning a fresh, unfitted estimator. The backtest
sets ``k`` on estimators that have it (the count model) and fits estimators that declare
``target_kind = "count"`` (:func:`target_kind_of`) on window counts instead of 0/1 labels.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError, did_you_mean, problem
from ..features import OWN_HISTORY, own_history
from ..targets import DensePanel as _Dense
from ._base import TARGET_KINDS, RiskClassifier, StatisticalWarning, target_kind_of
from .baselines import BaseRate, DyadHistory, Persistence
from .calibration import TimeCalibrated
from .ensemble import WeightedEnsemble
from .glm import CountGLM, LogisticGLM
from .pipelines import make_hgb, make_logit
from .skill import HistoryBlend, make_history_hgb, make_history_logit, make_history_mix

__all__ = [
    "MODELS",
    "BASELINES",
    "make_model",
    "feature_matrix",
    "RENAMED_COLUMNS",
    "renamed_columns",
    "ID_COLUMNS",
    "TARGET_KINDS",
    "target_kind_of",
    "StatisticalWarning",
    "RiskClassifier",
    "BaseRate",
    "Persistence",
    "DyadHistory",
    "LogisticGLM",
    "CountGLM",
    "TimeCalibrated",
    "WeightedEnsemble",
    "make_logit",
    "make_hgb",
    "make_history_hgb",
    "make_history_logit",
    "make_history_mix",
    "HistoryBlend",
]

ID_COLUMNS: tuple[str, ...] = ("dyad", "source", "target", "period")
"""Panel columns that identify a row; never features."""

MODELS: dict[str, Callable[[], Any]] = {
    "base_rate": BaseRate,
    "persistence": Persistence,
    "history": DyadHistory,
    "glm": LogisticGLM,
    "count": CountGLM,
    "logit": make_logit,
    "hgb": make_hgb,
    "hgb_cal": lambda: TimeCalibrated(make_hgb(), method="sigmoid", fraction=0.25),
    "ensemble": lambda: WeightedEnsemble([("logit", make_logit()), ("hgb", make_hgb())]),
    "history_hgb": make_history_hgb,
    "history_blend": HistoryBlend,
    "history_mix": make_history_mix,
}
"""Registered models by name (factories of unfitted estimators)."""

BASELINES: tuple[str, ...] = ("base_rate", "persistence", "history")


def make_model(name: str) -> Any:
    """A fresh unfitted estimator registered under ``name``."""
    if name not in MODELS:
        raise UsageError(problem("Unknown model." + did_you_mean(name, MODELS), "one of " + ", ".join(MODELS), name, "Use --models with registered names."))
    return MODELS[name]()


RENAMED_COLUMNS: dict[str, tuple[str, float | None]] = {
    "base_mc_ewma": ("history_conflict_ewma_6p", None),
    "base_mc_since": ("dynamics_periods_since_conflict", 120.0),
}
"""Old column name -> (today's column, cap): models registered before the pair's history became
registered builders saw these names; scoring gives them the same values under the old names."""


def renamed_columns(matrix: pd.DataFrame) -> pd.DataFrame:
    """The :data:`RENAMED_COLUMNS` under their old names, from ``matrix`` (a :func:`feature_matrix`)."""
    out = {old: matrix[new] if cap is None else matrix[new].clip(upper=cap)
           for old, (new, cap) in RENAMED_COLUMNS.items() if new in matrix}
    return pd.DataFrame(out, index=matrix.index)


def feature_matrix(panel: pd.DataFrame) -> pd.DataFrame:
    """The columns models see, aligned to ``panel.index``.

    Every numeric panel column except the identifiers (``dyad``, ``source``, ``target``,
    ``period``), booleans as 0/1. The pair's own history (the builders of
    :data:`tension.features.OWN_HISTORY`: ``history_conflict_ewma_6p``, the baseline's input,
    and ``dynamics_periods_since_conflict``) is always there: a panel built without them (by
    hand, or with a subset of the features) gets them from the same builders, run on its
    ``material_conflict_count``. Everything at row t uses periods <= t.
    """
    if "material_conflict_count" not in panel.columns:
        raise UsageError(problem("The panel lacks 'material_conflict_count'.", "a panel from tension.panel.build_panel", list(panel.columns)[:10], "Rebuild the panel."))
    cols = {name: panel[name].astype(float) for name in panel.columns
            if name not in ID_COLUMNS and (pd.api.types.is_bool_dtype(panel[name]) or pd.api.types.is_numeric_dtype(panel[name]))}
    missing = [f.__name__ for f in OWN_HISTORY if f.__name__ not in cols]
    if missing:
        dense = _Dense(panel)
        history = own_history(np.nan_to_num(dense.array(panel["material_conflict_count"])), dense.observed)
        cols.update({name: pd.Series(dense.rows(history[name]), index=panel.index) for name in missing})
    return pd.DataFrame(cols, index=panel.index)
