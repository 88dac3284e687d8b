"""Every registered estimator against scikit-learn's estimator checks (where they apply)."""
from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tension.models import BaseRate, CountGLM, DyadHistory, LogisticGLM, Persistence, TimeCalibrated, WeightedEnsemble, make_hgb, make_logit
from tension.models.pipelines import DropConstant
from tension.models.skill import HistoryBlend, SelectColumns

_WEAK = "a baseline by design: it reads one column (or none), so it cannot fit sklearn's toy problems"
_PIPE = ("sklearn's own Pipeline: it fits its steps in place and takes its NaN tag from the last step "
         "(the imputer in front handles NaN); sklearn itself does not hold Pipeline to these checks")
_COUNT = "a count model: y must be non-negative integer counts, so string or negative labels are refused"

EXPECTED_FAILURES = {
    "BaseRate": {"check_classifiers_train": _WEAK},
    "Persistence": {"check_classifiers_train": _WEAK},
    "DyadHistory": {"check_classifiers_train": _WEAK},
    "CountGLM": {
        "check_classifiers_classes": _COUNT,
        "check_classifier_not_supporting_multiclass": "a count model: y = 0, 1, 2 are counts, not three classes",
    },
}


EXPECTED_FAILURES["Pipeline"] = {
    "check_estimators_overwrite_params": _PIPE,
    "check_dont_overwrite_parameters": _PIPE,
    "check_estimators_nan_inf": _PIPE,
}


def _expected(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [BaseRate(), Persistence(column=0, threshold=0.0), DyadHistory(column=0), LogisticGLM(), CountGLM(), DropConstant(), SelectColumns()],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.heavy
@parametrize_with_checks(
    [
        TimeCalibrated(make_logit()),
        WeightedEnsemble([("logit", make_logit()), ("base", BaseRate())]),
        make_logit(),
        make_hgb(max_iter=20),
        HistoryBlend(make_logit(), DyadHistory(column=0)),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible_meta_estimator(estimator, check):
    """Pipelines and meta-estimators (slower: about a minute); CI runs them with -m heavy."""
    check(estimator)
