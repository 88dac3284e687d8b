"""scikit-learn models: preprocessing lives inside the Pipeline so every origin refits it."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["make_logit", "make_hgb", "signed_log1p", "DropConstant"]


class DropConstant(TransformerMixin, BaseEstimator):
    """Drop columns that are all-NaN or constant in the training data.

    Attributes
    ----------
    keep_ : ndarray of bool
        Columns kept.
    """

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        """Learn which columns carry information; sets ``keep_``, ``n_features_in_``."""
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype="numeric")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        self.keep_ = ~np.isnan(lo) & (hi > lo)
        if not self.keep_.any():
            self.keep_[:1] = True  # keep one column so downstream estimators see a 2-D array
        return self

    def transform(self, X):
        """Keep the informative columns."""
        check_is_fitted(self, "keep_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="numeric")
        return X[:, self.keep_]

    def get_feature_names_out(self, input_features=None):
        """Names of kept columns."""
        names = np.asarray(input_features if input_features is not None else getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]), dtype=object)
        return names[self.keep_]


def signed_log1p(X):
    """``sign(x) * log1p(|x|)``: tames heavy-tailed event counts, keeps sign and NaN."""
    X = np.asarray(X, dtype=float)
    return np.sign(X) * np.log1p(np.abs(X))


def make_logit(C: float = 0.1, max_iter: int = 2000) -> Pipeline:
    """Drop empty/constant columns -> median imputation -> signed log -> scaling -> L2 logistic regression."""
    return Pipeline([
        ("drop", DropConstant()),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("log", FunctionTransformer(signed_log1p, feature_names_out="one-to-one")),
        ("scale", StandardScaler()),
        ("logit", LogisticRegression(C=C, max_iter=max_iter)),
    ])


def make_hgb(max_iter: int = 150, learning_rate: float = 0.05, random_state: int = 0) -> Pipeline:
    """Drop empty/constant columns -> shallow, regularised gradient boosting (NaN handled natively)."""
    return Pipeline([
        ("drop", DropConstant()),
        ("hgb", HistGradientBoostingClassifier(
            max_iter=max_iter, learning_rate=learning_rate, max_leaf_nodes=15, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=False, random_state=random_state,
        )),
    ])
