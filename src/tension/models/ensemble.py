"""A simple weighted ensemble: the weighted mean of members' probabilities."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import check_binary

__all__ = ["WeightedEnsemble"]


class WeightedEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted average of the members' ``P(escalation)``.

    Parameters
    ----------
    estimators : list of (name, estimator)
        Members; each is cloned and fitted on the same data.
    weights : list of float or None
        Non-negative weights (normalised); None means equal weights.

    Attributes
    ----------
    estimators_ : list of fitted estimators
    weights_ : ndarray
        Normalised weights.
    classes_ : ndarray
    """

    def __init__(self, estimators=None, weights=None) -> None:
        self.estimators = estimators
        self.weights = weights

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    def _members(self):
        if self.estimators:
            return list(self.estimators)
        from .baselines import BaseRate
        from .pipelines import make_logit

        return [("logit", make_logit()), ("base_rate", BaseRate())]

    def fit(self, X, y):
        """Fit every member on X, y; returns self. Sets ``estimators_``, ``weights_``, ``classes_``."""
        members = self._members()
        w = np.ones(len(members)) if self.weights is None else np.asarray(self.weights, dtype=float)
        if len(w) != len(members) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights must be {len(members)} non-negative numbers with a positive sum. Got {self.weights!r}. Pass one weight per member.")
        checked, _ = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=None)
        X = X if hasattr(X, "iloc") else checked  # DataFrames keep their names
        check_binary(y, "WeightedEnsemble")
        self.weights_ = w / w.sum()
        self.classes_ = np.unique(np.asarray(y))
        self.estimators_ = [clone(est).fit(X, y) for _, est in members]
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Weighted mean of the members' probabilities per class."""
        check_is_fitted(self, "estimators_")
        checked = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=None)
        X = X if hasattr(X, "iloc") else checked
        out = np.zeros((X.shape[0], len(self.classes_)))
        for w, est in zip(self.weights_, self.estimators_):
            proba = est.predict_proba(X)
            cols = [list(est.classes_).index(c) if c in est.classes_ else None for c in self.classes_]
            for j, c in enumerate(cols):
                if c is not None:
                    out[:, j] += w * proba[:, c]
        return out

    def predict(self, X) -> np.ndarray:
        """The more probable class."""
        check_is_fitted(self, "estimators_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
