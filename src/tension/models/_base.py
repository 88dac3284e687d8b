"""Shared plumbing for tension's binary-risk estimators.

What the backtest fits an estimator on is the estimator's own declaration: the class
attribute ``target_kind`` (read by :func:`target_kind_of`), ``"binary"`` (0/1 labels, the
default, also for estimators without the attribute) or ``"count"`` (the event count of the
target window; the estimator turns it into ``P(count >= k)`` itself, as
:class:`~tension.models.glm.CountGLM` does).
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["StatisticalWarning", "RiskClassifier", "warn_stat", "check_binary", "TARGET_KINDS", "target_kind_of"]

TARGET_KINDS: tuple[str, ...] = ("binary", "count")
"""Values of an estimator's ``target_kind`` attribute."""


def target_kind_of(estimator) -> str:
    """``estimator.target_kind`` (``"binary"`` when absent): what the backtest fits it on."""
    kind = getattr(estimator, "target_kind", "binary")
    if kind not in TARGET_KINDS:
        raise ValueError(f"{type(estimator).__name__}.target_kind is {kind!r}. Expected one of {TARGET_KINDS}. Set the class attribute to one of them.")
    return kind


def check_binary(y, who: str) -> None:
    """Raise the sklearn-conventional error unless ``y`` is a binary (or single-class) target."""
    check_classification_targets(y)
    y_type = type_of_target(y, input_name="y", raise_unknown=True)
    if y_type not in ("binary", "unknown") and len(np.unique(y)) > 2:
        raise ValueError(
            f"Only binary classification is supported. The type of the target is {y_type}. "
            f"{who} forecasts one escalation event; binarise the target first (tension.targets.make_target)."
        )


class StatisticalWarning(UserWarning):
    """Statistical trouble (no positives, perfect separation, non-convergence) that must reach the user."""


def warn_stat(message: str) -> None:
    """Emit a :class:`StatisticalWarning` (collected by the backtest and shown by the CLI)."""
    warnings.warn(message, StatisticalWarning, stacklevel=3)


class RiskClassifier(ClassifierMixin, BaseEstimator):
    """Base for binary risk estimators: label handling, validation, ``predict`` from ``predict_proba``.

    Subclasses implement ``_fit(X, y01)`` (y01 in {0, 1}) and ``_proba(X) -> P(y = classes_[1])``.
    A single-class training set is allowed: the estimator warns and predicts that class.
    ``target_kind`` (class attribute, see :func:`target_kind_of`) says what the backtest fits on.
    """

    _allow_nan = True
    target_kind: str = "binary"

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = self._allow_nan
        return tags

    def _validate_fit(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan" if self._allow_nan else True, dtype="numeric", y_numeric=False)
        check_binary(y, type(self).__name__)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        return X, y_enc.astype(float)

    def _validate_predict(self, X):
        check_is_fitted(self, "classes_")
        return validate_data(self, X, reset=False, ensure_all_finite="allow-nan" if self._allow_nan else True, dtype="numeric")

    def _column_index(self, column: int | str) -> int:
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            if not 0 <= column < self.n_features_in_:
                raise ValueError(f"column={column} is out of range. Expected 0..{self.n_features_in_ - 1}. Pass a valid column.")
            return int(column)
        names = list(getattr(self, "feature_names_in_", []))
        if column not in names:
            raise ValueError(
                f"{type(self).__name__} reads the column {column!r}, which X does not have. Expected a DataFrame with it "
                f"(tension.models.feature_matrix has it); got columns {names[:8]}{'...' if len(names) > 8 else ''}."
            )
        return names.index(column)

    def fit(self, X, y):
        """Validate X, y, learn ``classes_`` (binary), then fit; returns self.

        Sets ``classes_``, ``n_features_in_`` (and ``feature_names_in_`` for DataFrames)
        plus the estimator's own fitted attributes (ending in ``_``).
        """
        X, y01 = self._validate_fit(X, y)
        if len(self.classes_) == 1:
            warn_stat(
                f"{type(self).__name__}: the training window holds only the class {self.classes_[0]!r} "
                "(no positives or no negatives); it will predict that class with certainty."
            )
            return self
        self._fit(X, y01)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of each class in ``classes_`` (column 1 = escalation)."""
        X = self._validate_predict(X)
        if len(self.classes_) == 1:
            return np.ones((X.shape[0], 1))
        p = np.clip(np.asarray(self._proba(X), dtype=float), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """The more probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

