"""Models that add to the pair's own history instead of competing with it.

:func:`make_history_hgb` is gradient boosting on a compact set of history-aware columns
(the dyad's EWMA history rate, conflict periods over 3/12/36 periods, time since the last
conflict, the long-run rate, each side's conflict with anyone, shared border, capital
distance, recent hostility), with monotone constraints where the sign is known (more
past conflict never lowers the risk). :class:`HistoryBlend` averages such a model with
the :class:`~tension.models.baselines.DyadHistory` forecast on the logit scale, with
the blend weight fitted on the latest slice of the training window only.
:func:`make_history_mix` averages two views of the same history: the trees (with the pair's
long-memory hostility added) and a linear model on log scales (:func:`make_history_logit`),
which ranks quiet pairs (onsets) better than the trees do.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import check_binary, warn_stat
from .baselines import DyadHistory
from .calibration import time_split
from .ensemble import WeightedEnsemble
from .pipelines import make_logit

__all__ = ["HISTORY_COLUMNS", "HOSTILITY_COLUMNS", "LINEAR_COLUMNS", "SelectColumns", "make_history_hgb",
           "make_history_logit", "make_history_mix", "HistoryBlend"]

HISTORY_COLUMNS: dict[str, int] = {
    "history_conflict_ewma_6p": 1,
    "history_conflict_periods_3p": 1,
    "history_conflict_periods_12p": 1,
    "history_conflict_periods_36p": 1,
    "history_conflict_rate_all": 1,
    "dynamics_periods_since_conflict": -1,
    "history_side_conflict_max_12p": 1,
    "history_side_conflict_min_12p": 1,
    "geography_shared_border": 1,
    "geography_capital_distance": -1,
    "incidents_material_conflict_4p": 1,
    "denials_verbal_conflict_12p": 0,
    "dynamics_hostile_ewma_4p": 0,
    "events_dyad": 0,
}
"""Columns :func:`make_history_hgb` reads, with the monotone sign of each (0: unconstrained)."""

HOSTILITY_COLUMNS: dict[str, int] = {"dynamics_hostile_ewma_26p": 1, "dynamics_hostile_ewma_52p": 1}
"""The pair's long-memory hostility (verbal and material), added to the trees of :func:`make_history_mix`."""

LINEAR_COLUMNS: tuple[str, ...] = (
    "dynamics_hostile_ewma_4p",
    "dynamics_hostile_ewma_26p",
    "dynamics_hostile_ewma_52p",
    "history_conflict_ewma_6p",
    "history_conflict_rate_all",
    "dynamics_periods_since_conflict",
    "history_conflict_periods_3p",
    "history_conflict_periods_36p",
    "history_side_conflict_min_12p",
    "geography_shared_border",
)
"""Columns :func:`make_history_logit` reads."""


class SelectColumns(TransformerMixin, BaseEstimator):
    """Keep the named columns of a DataFrame, as floats.

    A named column that is absent, or all-NaN in the training data, becomes a constant 0
    (the trees ignore it), so panels without a feature family still work.

    Attributes
    ----------
    columns_ : list of str
    empty_ : list
        Columns filled with 0.
    """

    def __init__(self, columns=None) -> None:
        self.columns = columns

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        """Record the columns; sets ``columns_``, ``empty_``, ``n_features_in_`` (and ``feature_names_in_``)."""
        checked = validate_data(self, X, ensure_all_finite="allow-nan", dtype="numeric")
        if not hasattr(X, "columns"):
            X = pd.DataFrame(checked)
        default = list(X.columns)
        self.columns_ = default if self.columns is None or not hasattr(self, "feature_names_in_") else list(self.columns)
        picked = X.reindex(columns=self.columns_).astype(float)
        self.empty_ = [c for c in self.columns_ if picked[c].isna().all()]
        return self

    def transform(self, X):
        """The selected columns (a float DataFrame for a DataFrame, else an array of the input's dtype)."""
        check_is_fitted(self, "columns_")
        checked = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="numeric")
        frame = X if hasattr(X, "columns") else pd.DataFrame(checked)
        out = frame.reindex(columns=self.columns_).astype(float if hasattr(X, "columns") else checked.dtype)
        if self.empty_:
            out[self.empty_] = 0.0
        return out if hasattr(X, "columns") else out.to_numpy()

    def get_feature_names_out(self, input_features=None):
        """The selected names."""
        return np.asarray(self.columns_, dtype=object)


def make_history_hgb(columns: dict[str, int] | None = None, max_iter: int = 200, learning_rate: float = 0.04,
                     max_leaf_nodes: int = 8, min_samples_leaf: int = 80, random_state: int = 0) -> Pipeline:
    """History-aware columns -> monotone-constrained, shallow gradient boosting (NaN handled natively)."""
    cols = dict(HISTORY_COLUMNS if columns is None else columns)
    return Pipeline([
        ("select", SelectColumns(list(cols))),
        ("hgb", HistGradientBoostingClassifier(
            max_iter=max_iter, learning_rate=learning_rate, max_leaf_nodes=max_leaf_nodes, min_samples_leaf=min_samples_leaf,
            l2_regularization=1.0, monotonic_cst=list(cols.values()), early_stopping=False, random_state=random_state,
        )),
    ])


def make_history_logit(columns: tuple[str, ...] = LINEAR_COLUMNS, C: float = 0.1) -> Pipeline:
    """History-aware columns -> :func:`~tension.models.pipelines.make_logit` with missing-value indicators.

    The indicators keep "never fought" (no periods since conflict) apart from a typical pair.
    """
    linear = make_logit(C=C).set_params(impute__add_indicator=True)
    return Pipeline([("select", SelectColumns(list(columns))), *linear.steps])


def make_history_mix() -> WeightedEnsemble:
    """The mean probability of :func:`make_history_hgb` (history plus :data:`HOSTILITY_COLUMNS`) and :func:`make_history_logit`."""
    return WeightedEnsemble([("trees", make_history_hgb({**HISTORY_COLUMNS, **HOSTILITY_COLUMNS})), ("linear", make_history_logit())])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-5, 1 - 1e-5)
    return np.log(p / (1 - p))


def _positive(estimator, X) -> np.ndarray:
    proba = estimator.predict_proba(X)
    return proba[:, 1] if proba.shape[1] > 1 else np.full(len(proba), float(estimator.classes_[0] == 1))


class HistoryBlend(ClassifierMixin, BaseEstimator):
    """Stack a model on the pair's history forecast: ``sigmoid(a + b*logit(p_history) + c*logit(p_model))``.

    Both members are fitted on the earlier part of the training window; the stacking
    weights ``(a, b, c)`` are fitted on the latest ``fraction`` of its periods (time from
    ``X.index`` when it is a DatetimeIndex, else row order), then the members are refitted
    on the whole window. With no positives in the slice the blend falls back to equal
    logit weights.

    Parameters
    ----------
    estimator : classifier
        The model added to history (default :func:`make_history_hgb`).
    history : classifier
        The history forecast (default :class:`DyadHistory`).
    fraction : float
        Share of the training periods (the latest) used to fit the stacking weights.
    gap : int
        Periods left out between the members' data and the stacking slice.
    C : float
        Inverse L2 strength of the stacking logistic regression.

    Attributes
    ----------
    history_ : fitted history model
    estimator_ : fitted model
    stack_ : LogisticRegression or None
    classes_ : ndarray
    """

    def __init__(self, estimator=None, history=None, fraction: float = 0.3, gap: int = 0, C: float = 1.0) -> None:
        self.estimator = estimator
        self.history = history
        self.fraction = fraction
        self.gap = gap
        self.C = C

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    def _members(self):
        return (clone(self.estimator) if self.estimator is not None else make_history_hgb(),
                clone(self.history) if self.history is not None else DyadHistory())

    def _split(self, X) -> tuple[np.ndarray, np.ndarray]:
        return time_split(X, self.fraction, self.gap)

    def _features(self, X) -> np.ndarray:
        return np.column_stack([_logit(_positive(self.history_, X)), _logit(_positive(self.estimator_, X))])

    def fit(self, X, y):
        """Fit members on the early part, stacking weights on the latest slice, refit members; returns self.

        Sets ``estimator_``, ``history_``, ``stack_``, ``classes_``.
        """
        checked, _ = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=None)
        X = X if hasattr(X, "iloc") else pd.DataFrame(checked)
        check_binary(y, "HistoryBlend")
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        y01 = (y == self.classes_[-1]).astype(int)
        early, late = self._split(X)
        self.stack_ = None
        if len(self.classes_) == 2 and len(np.unique(y01[early])) == 2 and len(np.unique(y01[late])) == 2:
            est, hist = self._members()
            self.estimator_, self.history_ = est.fit(X.iloc[np.flatnonzero(early)], y01[early]), hist.fit(X.iloc[np.flatnonzero(early)], y01[early])
            Z = self._features(X.iloc[np.flatnonzero(late)])
            self.stack_ = LogisticRegression(C=self.C).fit(Z, y01[late])
        else:
            warn_stat("HistoryBlend: the early part or the stacking slice holds a single class; using equal logit weights.")
        est, hist = self._members()
        self.estimator_, self.history_ = est.fit(X, y01), hist.fit(X, y01)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """``[P(no), P(yes)]`` of the stacked forecast."""
        check_is_fitted(self, "estimator_")
        checked = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=None)
        X = X if hasattr(X, "iloc") else pd.DataFrame(checked)
        Z = self._features(X)
        if self.stack_ is None:
            z = Z.mean(axis=1)
            p = 1.0 / (1.0 + np.exp(-z))
        else:
            p = self.stack_.predict_proba(Z)[:, 1]
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """The more probable class."""
        check_is_fitted(self, "estimator_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
