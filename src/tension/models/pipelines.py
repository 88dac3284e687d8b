"""scikit-learn models: preprocessing lives inside the Pipeline so every origin refits it."""
from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

__all__ = ["make_logit", "make_hgb", "signed_log1p"]


def signed_log1p(X):
    """``sign(x) * log1p(|x|)``: tames heavy-tailed event counts, keeps sign and NaN."""
    X = np.asarray(X, dtype=float)
    return np.sign(X) * np.log1p(np.abs(X))


def make_logit(C: float = 0.1, max_iter: int = 2000) -> Pipeline:
    """Median imputation -> signed log -> standard scaling -> L2 logistic regression."""
    return Pipeline([
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("log", FunctionTransformer(signed_log1p, feature_names_out="one-to-one")),
        ("scale", StandardScaler()),
        ("logit", LogisticRegression(C=C, max_iter=max_iter)),
    ])


def make_hgb(max_iter: int = 200, learning_rate: float = 0.05, random_state: int = 0) -> HistGradientBoostingClassifier:
    """Shallow, regularised gradient boosting (handles NaN natively)."""
    return HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=learning_rate, max_leaf_nodes=15, min_samples_leaf=40,
        l2_regularization=1.0, early_stopping=False, random_state=random_state,
    )
