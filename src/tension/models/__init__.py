"""Models: scikit-learn estimators with ``predict_proba`` (baselines, statsmodels wrappers,
sklearn pipelines, time-ordered calibration, a weighted ensemble) and the matrix they see.

``MODELS`` maps a name to a factory returning a fresh, unfitted estimator. The backtest
sets ``k`` on estimators that have it (the count model) and fits estimators whose
``_target_kind`` is ``"count"`` on window counts instead of 0/1 labels.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError, did_you_mean, problem
from ..targets import DensePanel as _Dense
from ._base import RiskClassifier, StatisticalWarning
from .baselines import BaseRate, DyadHistory, Persistence
from .calibration import TimeCalibrated
from .ensemble import WeightedEnsemble
from .glm import CountGLM, LogisticGLM
from .pipelines import make_hgb, make_logit
from .skill import HistoryBlend, make_history_hgb

__all__ = [
    "MODELS",
    "BASELINES",
    "make_model",
    "feature_matrix",
    "ID_COLUMNS",
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
}
"""Registered models by name (factories of unfitted estimators)."""

BASELINES: tuple[str, ...] = ("base_rate", "persistence", "history")


def make_model(name: str) -> Any:
    """A fresh unfitted estimator registered under ``name``."""
    if name not in MODELS:
        raise UsageError(problem("Unknown model." + did_you_mean(name, MODELS), "one of " + ", ".join(MODELS), name, "Use --models with registered names."))
    return MODELS[name]()


def _history_columns(panel: pd.DataFrame, halflife: float) -> pd.DataFrame:
    """Past-only dyad history helpers: EWMA of the material-conflict indicator, periods since the last one."""
    dense = _Dense(panel)
    ind = dense.array(panel["material_conflict_count"].to_numpy(dtype=float) > 0)
    frame = pd.DataFrame(ind.T)
    ewma = frame.ewm(halflife=halflife, ignore_na=True).mean().to_numpy().T
    T = ind.shape[1]
    pos = np.where(np.nan_to_num(ind) > 0, np.arange(T)[None, :], -1)
    last = np.maximum.accumulate(pos, axis=1)
    since = np.where(last >= 0, np.arange(T)[None, :] - last, np.nan)
    return pd.DataFrame(
        {"base_mc_ewma": dense.rows(ewma), "base_mc_since": np.minimum(dense.rows(since), 120.0)},
        index=panel.index,
    )


def feature_matrix(panel: pd.DataFrame, halflife: float = 6.0) -> pd.DataFrame:
    """The columns models see, aligned to ``panel.index``.

    Every numeric panel column except the identifiers (``dyad``, ``source``, ``target``,
    ``period``), booleans as 0/1, plus two past-only history helpers:
    ``base_mc_ewma`` (EWMA, half-life ``halflife`` periods, of "any material conflict
    this period") and ``base_mc_since`` (periods since the dyad's last material
    conflict, capped at 120; NaN if none seen). Everything at row t uses periods <= t.
    """
    if "material_conflict_count" not in panel.columns:
        raise UsageError(problem("The panel lacks 'material_conflict_count'.", "a panel from tension.panel.build_panel", list(panel.columns)[:10], "Rebuild the panel."))
    cols = {}
    for name in panel.columns:
        if name in ID_COLUMNS:
            continue
        s = panel[name]
        if pd.api.types.is_bool_dtype(s):
            cols[name] = s.astype(float)
        elif pd.api.types.is_numeric_dtype(s):
            cols[name] = s.astype(float)
    X = pd.DataFrame(cols, index=panel.index)
    hist = _history_columns(panel, halflife)
    return pd.concat([X.drop(columns=[c for c in hist.columns if c in X.columns]), hist], axis=1)
