"""Baselines: ordinary estimators that every evaluation includes and every model must beat.

- :class:`BaseRate`: the training share of positives, for every row (climatology).
- :class:`Persistence`: last period's state. "Escalated last period" (``column >= threshold``)
  mapped to the training frequency of the target in each of the two states, so its
  probabilities are honest rather than 0/1 (``calibrated=False`` gives the raw 0/1 state,
  clipped to ``[eps, 1 - eps]``).
- :class:`DyadHistory`: the dyad's own history rate (an EWMA of its material-conflict
  indicator, column ``history_conflict_ewma_6p`` from :func:`tension.models.feature_matrix`), mapped
  to a probability by isotonic regression on the training window.
"""
from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression

from ._base import RiskClassifier

__all__ = ["BaseRate", "Persistence", "DyadHistory"]


class BaseRate(RiskClassifier):
    """The training share of positives for every row.

    Parameters
    ----------
    prior : float
        Pseudo-count added to positives and negatives (Laplace smoothing) so an empty
        class never yields a probability of exactly 0.

    Attributes
    ----------
    rate_ : float
        Smoothed share of positives in the training data.

    Examples
    --------
    >>> import numpy as np
    >>> BaseRate().fit(np.zeros((4, 1)), [0, 0, 0, 1]).predict_proba(np.zeros((1, 1)))[0, 1].round(3)
    np.float64(0.3)
    """

    def __init__(self, prior: float = 0.5) -> None:
        self.prior = prior

    def _fit(self, X, y):
        self.rate_ = float((y.sum() + self.prior) / (len(y) + 2 * self.prior))

    def _proba(self, X):
        return np.full(X.shape[0], self.rate_)


class Persistence(RiskClassifier):
    """Last period's state: did the dyad escalate in the origin period?

    Parameters
    ----------
    column : str or int
        Column of X holding the state (default the panel's ``material_conflict_count``).
    threshold : float
        State is "escalated" when ``X[column] >= threshold`` (NaN counts as not escalated).
    calibrated : bool
        True: predict the (Laplace-smoothed) training frequency of the target in each
        state. False: predict the state itself, clipped to ``[eps, 1 - eps]``.
    eps : float
        Clipping for the uncalibrated variant.

    Attributes
    ----------
    column_ : int
        Position of the state column.
    rates_ : ndarray of shape (2,)
        Training frequency of the target when not escalated / escalated.
    """

    def __init__(self, column: str | int = "material_conflict_count", threshold: float = 1.0, calibrated: bool = True, eps: float = 0.01) -> None:
        self.column = column
        self.threshold = threshold
        self.calibrated = calibrated
        self.eps = eps

    def _state(self, X):
        x = X[:, self.column_]
        return np.where(np.isnan(x), False, x >= self.threshold)

    def _fit(self, X, y):
        self.column_ = self._column_index(self.column)
        state = self._state(X)
        self.rates_ = np.array([(y[state == s].sum() + 0.5) / ((state == s).sum() + 1.0) for s in (False, True)])

    def _proba(self, X):
        state = self._state(X)
        if self.calibrated:
            return self.rates_[state.astype(int)]
        return np.clip(state.astype(float), self.eps, 1 - self.eps)


class DyadHistory(RiskClassifier):
    """The dyad's own recent history of escalation, mapped monotonically to a probability.

    Parameters
    ----------
    column : str or int
        Column of X with the history rate (default ``history_conflict_ewma_6p``: an exponentially
        weighted share of periods with material conflict, past only).

    Attributes
    ----------
    column_ : int
        Position of the history column.
    isotonic_ : IsotonicRegression
        Increasing map from history rate to target frequency (clipped outside the range).
    """

    def __init__(self, column: str | int = "history_conflict_ewma_6p") -> None:
        self.column = column

    def _fit(self, X, y):
        self.column_ = self._column_index(self.column)
        x = np.nan_to_num(X[:, self.column_], nan=0.0)
        n = len(y)
        self.isotonic_ = IsotonicRegression(y_min=0.5 / (n + 1), y_max=1 - 0.5 / (n + 1), out_of_bounds="clip").fit(x, y)

    def _proba(self, X):
        return self.isotonic_.predict(np.nan_to_num(X[:, self.column_], nan=0.0))
