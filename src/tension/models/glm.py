"""statsmodels models wrapped as scikit-learn estimators; ``results_`` keeps ``summary()``.

- :class:`LogisticGLM`: ridge (L2) penalised logistic regression (``statsmodels`` ``Logit``
  with statsmodels' penalised-likelihood mixin, fitted by L-BFGS).
- :class:`CountGLM`: a count model of the number of events in the window (Poisson, or
  negative binomial when the Poisson fit is overdispersed) turned into
  ``P(count >= k)``. It is fitted on counts (the backtest hands it
  :func:`tension.targets.window_counts`); given 0/1 labels it treats them as counts.

Both impute medians, log-compress (``sign(x) log1p|x|``) and standardise inside ``fit``
so each backtest origin refits the preprocessing. Statistical trouble (perfect
separation, non-convergence) becomes a :class:`~tension.models.StatisticalWarning`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from statsmodels.base._penalized import PenalizedMixin
from statsmodels.base._penalties import L2

from ._base import RiskClassifier, warn_stat


class _PenalizedLogit(PenalizedMixin, sm.Logit):
    """statsmodels Logit with an L2 penalty (results keep ``summary()``)."""


class _PenalizedPoisson(PenalizedMixin, sm.Poisson):
    """statsmodels Poisson with an L2 penalty."""


class _PenalizedNB(PenalizedMixin, sm.NegativeBinomial):
    """statsmodels NB2 with an L2 penalty (the dispersion is not penalised)."""

__all__ = ["LogisticGLM", "CountGLM"]


class _Prep:
    """Median imputation, signed log, standardisation, constant column (fitted state)."""

    def __init__(self, X: np.ndarray, log: bool) -> None:
        self.log = log
        Z = self._log(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.median = np.nan_to_num(np.nanmedian(Z, axis=0), nan=0.0)
        Z = np.where(np.isnan(Z), self.median, Z)
        self.mean = Z.mean(axis=0)
        self.scale = Z.std(axis=0)
        self.keep = self.scale > 1e-12
        # Drop columns (nearly) in the span of earlier ones: residual std after
        # regressing on them is |R_jj| / sqrt(n) for standardised columns.
        idx = np.flatnonzero(self.keep)
        if len(idx) and len(Z) > len(idx):
            S = (Z[:, idx] - self.mean[idx]) / self.scale[idx]
            r = np.abs(np.diag(np.linalg.qr(S, mode="r"))) / np.sqrt(len(Z))
            self.keep[idx[r < 1e-3]] = False

    def _log(self, X: np.ndarray) -> np.ndarray:
        return np.sign(X) * np.log1p(np.abs(X)) if self.log else X.astype(float)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        Z = self._log(X)
        Z = np.where(np.isnan(Z), self.median, Z)
        Z = (Z[:, self.keep] - self.mean[self.keep]) / self.scale[self.keep]
        return np.column_stack([np.ones(len(Z)), np.clip(Z, -8.0, 8.0)])  # winsorise at 8 SD: rare extremes saturate


def _relay(caught: list[warnings.WarningMessage], who: str) -> None:
    seen: set[str] = set()
    for w in caught:
        msg = str(w.message).strip().splitlines()[0] if str(w.message).strip() else type(w.message).__name__
        if msg not in seen:
            seen.add(msg)
            warn_stat(f"{who}: {type(w.message).__name__}: {msg}")


def _penalty(n_params: int, extra: int = 0) -> L2:
    weights = np.ones(n_params + extra)
    weights[0] = 0.0  # never shrink the intercept
    if extra:
        weights[-extra:] = 0.0  # nor the dispersion
    return L2(weights=weights)


class LogisticGLM(RiskClassifier):
    """Ridge-penalised logistic regression fitted by statsmodels (L-BFGS).

    Parameters
    ----------
    alpha : float
        L2 penalty weight per observation on the standardised coefficients (the
        intercept is not penalised). 0 gives plain maximum likelihood.
    log : bool
        Log-compress features (``sign(x) log1p|x|``) before standardising.
    max_iter : int
        Solver iterations.

    Attributes
    ----------
    results_ : statsmodels results
        The fitted ``Logit`` results; ``results_.summary()`` works (columns ``const``,
        then kept features in ``kept_features_``).
    kept_features_ : list of str
        Features with non-zero variance in training (constant ones are dropped).
    """

    def __init__(self, alpha: float = 1e-3, log: bool = True, max_iter: int = 500) -> None:
        self.alpha = alpha
        self.log = log
        self.max_iter = max_iter

    def _fit(self, X, y):
        self.prep_ = _Prep(X, self.log)
        Z = self.prep_(X)
        names = list(getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])]))
        self.kept_features_ = [n for n, k in zip(names, self.prep_.keep) if k]
        model = _PenalizedLogit(y, pd.DataFrame(Z, columns=["const", *self.kept_features_]), penal=_penalty(Z.shape[1]),
                                pen_weight=self.alpha * len(y))
        start = np.zeros(Z.shape[1])
        start[0] = np.log(y.mean() / (1 - y.mean()))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.results_ = model.fit(method="lbfgs", start_params=start, maxiter=self.max_iter, disp=False)
        _relay(caught, "LogisticGLM")
        if not self.results_.mle_retvals.get("converged", True):
            warn_stat(f"LogisticGLM: the solver did not converge in {self.max_iter} iterations; raise max_iter or alpha.")
        self.coef_ = np.asarray(self.results_.params, dtype=float)
        self.n_iter_ = int(self.results_.mle_retvals.get("iterations", 1) or 1)
        eta = Z @ self.coef_
        if eta[y == 1].min() > eta[y == 0].max():
            warn_stat("LogisticGLM: perfect separation: the features split the training classes exactly; "
                      "probabilities are overconfident. Raise alpha or drop the separating feature.")
        elif np.abs(self.coef_[1:]).max(initial=0.0) > 15:
            warn_stat("LogisticGLM: quasi-separation: a standardised coefficient exceeds 15; raise alpha.")

    def _proba(self, X):
        eta = self.prep_(X) @ self.coef_
        return 1.0 / (1.0 + np.exp(-np.clip(eta, -35, 35)))


class CountGLM(RiskClassifier):
    """Count model of events in the window, turned into ``P(count >= k)``.

    Fits a Poisson regression; when its Pearson dispersion exceeds
    ``dispersion_threshold`` (overdispersion, the usual case for event counts) it fits a
    negative binomial (NB2) instead.

    Parameters
    ----------
    k : int
        Event threshold: predict ``P(count >= k)``.
    alpha : float
        L2 penalty weight per observation on standardised coefficients.
    dispersion_threshold : float
        Pearson chi2 / df above which the Poisson model is replaced by NB2.
    log, max_iter
        As in :class:`LogisticGLM`.

    Attributes
    ----------
    results_ : statsmodels results
        The chosen model's results (``summary()`` works).
    family_ : {"poisson", "negative_binomial"}
    dispersion_ : float
        Pearson chi2 / df of the Poisson fit.
    classes_ : ndarray
        Always ``[0, 1]``: count below k / at least k.
    """

    target_kind = "count"

    def __init__(self, k: int = 1, alpha: float = 1e-3, dispersion_threshold: float = 1.5, log: bool = True, max_iter: int = 500) -> None:
        self.k = k
        self.alpha = alpha
        self.dispersion_threshold = dispersion_threshold
        self.log = log
        self.max_iter = max_iter

    def fit(self, X, y):
        """Fit on counts ``y`` (non-negative integers); returns self.

        Sets ``results_``, ``family_``, ``dispersion_``, ``classes_`` (``[0, 1]``) and
        ``n_features_in_``.
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype="numeric", y_numeric=True)
        check_classification_targets(y)
        y = np.asarray(y, dtype=float)
        if (y < 0).any() or not np.allclose(y, np.round(y)):
            raise ValueError("CountGLM needs counts. Expected non-negative integers, got negative or fractional values. Pass tension.targets.window_counts.")
        self.classes_ = np.array([0, 1])
        positives = int((y >= self.k).sum())
        if positives == 0 or positives == len(y):
            warn_stat(f"CountGLM: every training count is {'below' if positives == 0 else 'at least'} k={self.k}; it predicts that with certainty.")
            self.results_ = None
            self.family_ = "constant"
            self.dispersion_ = float("nan")
            self.constant_ = float(positives > 0)
            self.n_iter_ = 1
            return self
        self.prep_ = _Prep(X, self.log)
        Z = self.prep_(X)
        names = list(getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])]))
        self.kept_features_ = [n for n, keep in zip(names, self.prep_.keep) if keep]
        n = len(y)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            Zdf = pd.DataFrame(Z, columns=["const", *self.kept_features_])
            poisson = _PenalizedPoisson(y, Zdf, penal=_penalty(Z.shape[1]), pen_weight=self.alpha * n)
            start = np.zeros(Z.shape[1])
            start[0] = np.log(max(y.mean(), 1e-6))
            res = poisson.fit(method="lbfgs", start_params=start, maxiter=self.max_iter, disp=False)
            mu = np.asarray(res.predict(Z))
            self.dispersion_ = float(((y - mu) ** 2 / np.maximum(mu, 1e-12)).sum() / max(n - Z.shape[1], 1))
            self.family_ = "poisson"
            if self.dispersion_ > self.dispersion_threshold:
                nb = _PenalizedNB(y, Zdf, loglike_method="nb2", penal=_penalty(Z.shape[1], extra=1), pen_weight=self.alpha * n)
                nb_start = np.append(np.asarray(res.params), 1.0)
                res = nb.fit(method="lbfgs", start_params=nb_start, maxiter=max(self.max_iter, 200), disp=False)
                self.family_ = "negative_binomial"
        _relay(caught, "CountGLM")
        if not res.mle_retvals.get("converged", True):
            warn_stat(f"CountGLM ({self.family_}): the solver did not converge in {self.max_iter} iterations.")
        self.results_ = res
        self.n_iter_ = int(res.mle_retvals.get("iterations", 1) or 1)
        params = np.asarray(res.params, dtype=float)
        self.coef_ = params[: Z.shape[1]]
        self.nb_alpha_ = float(params[-1]) if self.family_ == "negative_binomial" else 0.0
        return self

    def _proba(self, X):
        if self.family_ == "constant":
            return np.full(X.shape[0], self.constant_)
        mu = np.exp(np.clip(self.prep_(X) @ self.coef_, -30, 15))
        if self.family_ == "negative_binomial" and self.nb_alpha_ > 1e-8:
            size = 1.0 / self.nb_alpha_
            return stats.nbinom.sf(self.k - 1, size, size / (size + mu))
        return stats.poisson.sf(self.k - 1, mu)

    def predict_proba(self, X) -> np.ndarray:
        """``[P(count < k), P(count >= k)]`` per row."""
        X = self._validate_predict(X)
        p = np.clip(self._proba(X), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])
