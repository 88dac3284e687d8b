"""Calibration fitted on time-ordered data only (never random cross-validation).

:class:`TimeCalibrated` fits the base model on the earlier part of the training window,
fits a calibration map (Platt sigmoid or isotonic) on the latest ``fraction`` of the
periods, then (by default) refits the base model on the whole window. The time of each
row comes from ``X.index`` when it is a DatetimeIndex (the backtest passes the period
there); otherwise rows are taken to be in time order and the split is positional.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import check_binary, warn_stat

__all__ = ["TimeCalibrated", "time_split"]


def _positive_proba(estimator, X) -> np.ndarray:
    proba = estimator.predict_proba(X)
    classes = list(estimator.classes_)
    if len(classes) == 1:
        return np.full(len(proba), float(classes[0] == 1))
    return proba[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def time_split(X, fraction: float, gap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the early part and of the latest ``fraction`` of ``X``, ``gap`` periods apart.

    Periods come from a ``DatetimeIndex`` (whole periods stay together), else row order stands
    for time. The latest slice is never empty.
    """
    n = X.shape[0]
    if isinstance(getattr(X, "index", None), pd.DatetimeIndex):
        t = X.index.to_numpy()
        periods = np.unique(t)
        n_late = max(1, int(round(len(periods) * fraction)))
        cut = periods[-n_late]
        early_end = periods[max(0, len(periods) - n_late - gap)]
        return t < early_end, t >= cut
    order = np.arange(n)
    cut = n - max(1, int(round(n * fraction)))
    return order < max(cut - gap, 0), order >= cut


class TimeCalibrated(ClassifierMixin, BaseEstimator):
    """Calibrate ``estimator`` on the most recent slice of the training window.

    Parameters
    ----------
    estimator : classifier
        Base model with ``predict_proba``.
    method : {"sigmoid", "isotonic"}
    fraction : float
        Share of the training periods (the latest ones) used to fit the calibration map.
    gap : int
        Periods dropped between the base model's data and the calibration slice (set it
        to the horizon to keep their label windows apart).
    refit : bool
        Refit the base model on the whole window after calibrating.

    Attributes
    ----------
    estimator_ : classifier
        The fitted base model used for prediction.
    calibrator_ : LogisticRegression or IsotonicRegression or None
        None when the calibration slice had a single class (then probabilities pass through).
    classes_ : ndarray
    """

    def __init__(self, estimator=None, method: str = "sigmoid", fraction: float = 0.25, gap: int = 0, refit: bool = True) -> None:
        self.estimator = estimator
        self.method = method
        self.fraction = fraction
        self.gap = gap
        self.refit = refit

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    def _split(self, X) -> tuple[np.ndarray, np.ndarray]:
        return time_split(X, self.fraction, self.gap)

    def fit(self, X, y):
        """Fit base model on the early part, calibrator on the latest slice; returns self.

        Sets ``estimator_``, ``calibrator_``, ``classes_``.
        """
        base = self.estimator if self.estimator is not None else LogisticRegression()
        if self.method not in ("sigmoid", "isotonic"):
            raise ValueError(f"method must be 'sigmoid' or 'isotonic'. Got {self.method!r}. Use method='sigmoid'.")
        checked, _ = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=None)
        X = X if hasattr(X, "iloc") else checked  # DataFrames keep their index (time) and names
        check_binary(y, "TimeCalibrated")
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        early, late = self._split(X)
        take = (lambda m: X[m]) if not hasattr(X, "iloc") else (lambda m: X.iloc[np.flatnonzero(m)])
        self.calibrator_ = None
        if early.sum() == 0 or len(np.unique(y[early])) < 2 or len(np.unique(y[late])) < 2:
            warn_stat("TimeCalibrated: the early part or the calibration slice holds a single class; probabilities are left uncalibrated.")
            self.estimator_ = clone(base).fit(X, y)
            return self
        self.estimator_ = clone(base).fit(take(early), y[early])
        s = _positive_proba(self.estimator_, take(late))
        target = (y[late] == self.classes_[-1]).astype(float)
        if self.method == "sigmoid":
            self.calibrator_ = LogisticRegression(C=1e4).fit(_logit(s).reshape(-1, 1), target)
        else:
            self.calibrator_ = IsotonicRegression(y_min=1e-4, y_max=1 - 1e-4, out_of_bounds="clip").fit(s, target)
        if self.refit:
            self.estimator_ = clone(base).fit(X, y)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated ``[P(no), P(yes)]``."""
        check_is_fitted(self, "estimator_")
        checked = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=None)
        X = X if hasattr(X, "iloc") else checked
        s = _positive_proba(self.estimator_, X)
        if self.calibrator_ is None:
            p = s
        elif self.method == "sigmoid":
            p = self.calibrator_.predict_proba(_logit(s).reshape(-1, 1))[:, 1]
        else:
            p = self.calibrator_.predict(s)
        if len(self.classes_) == 1:
            return np.ones((p.shape[0], 1))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """The more probable class."""
        check_is_fitted(self, "estimator_")
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
