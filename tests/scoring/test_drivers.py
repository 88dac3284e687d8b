"""Drivers that add up: linear, calibrated, grouped Shapley, none."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scoring_world import FEATURES, fitted, target_of
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tension.scoring import attribute, grouped_shapley, score


def test_linear_drivers_plus_intercept_equal_the_logit_before_calibration(panel, logit_model):
    s = score(logit_model, panel, horizons=(1,))
    now = panel[panel["period"] == panel["period"].max()].set_index("dyad").loc[s["dyad"], FEATURES]
    raw_logit = logit_model.decision_function(now)
    for (_, row), z in zip(s.iterrows(), raw_logit, strict=True):
        drivers = json.loads(row["drivers"])
        assert drivers[-1]["feature"] == "(baseline)"
        assert drivers[-1]["contribution"] == pytest.approx(logit_model[-1].intercept_[0])
        assert sum(d["contribution"] for d in drivers) == pytest.approx(z, abs=1e-9)
        assert row["logit"] == pytest.approx(z, abs=1e-9)
    assert (s["drivers_method"] == "linear").all()


def test_calibrated_linear_drivers_add_up_to_the_mean_fold_logit(panel):
    model = fitted(panel, CalibratedClassifierCV(make_pipeline(StandardScaler(), LogisticRegression()), cv=3))
    s = score(model, panel, horizons=(1,))
    now = panel[panel["period"] == panel["period"].max()].set_index("dyad").loc[s["dyad"], FEATURES]
    folds = np.mean([cc.estimator.decision_function(now) for cc in model.calibrated_classifiers_], axis=0)
    sums = [sum(d["contribution"] for d in json.loads(x)) for x in s["drivers"]]
    np.testing.assert_allclose(sums, folds, atol=1e-9)
    np.testing.assert_allclose(s["probability"], model.predict_proba(now)[:, 1])


class _Interaction(ClassifierMixin, BaseEstimator):
    """Known answer: log-odds = 2 a + 3 b c (no fitting needed)."""

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array(list(X.columns), dtype=object)
        return self

    def decision_function(self, X):
        return 2 * X["a_x_1"].to_numpy() + 3 * X["b_x_1"].to_numpy() * X["c_x_1"].to_numpy()

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])


def test_grouped_shapley_known_answer_splits_an_interaction_evenly():
    X = pd.DataFrame({"a_x_1": [1.0, 2.0], "b_x_1": [1.0, 2.0], "c_x_1": [1.0, 1.0]})
    model = _Interaction().fit(X)
    groups = {"a": ["a_x_1"], "b": ["b_x_1"], "c": ["c_x_1"]}
    att = grouped_shapley(model.decision_function, X, pd.Series(0.0, index=X.columns), groups)
    np.testing.assert_allclose(att.values.to_numpy(), [[2.0, 1.5, 1.5], [4.0, 3.0, 3.0]])
    np.testing.assert_allclose(att.baseline, [0.0, 0.0])
    np.testing.assert_allclose(att.logit, model.decision_function(X))


def test_tree_drivers_add_up_and_ignore_features_the_trees_never_use(panel):
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"incidents_violence_4p": rng.normal(size=400), "denials_deny_by_source_4p": rng.normal(size=400),
                      "context_region_conflict_4p": rng.normal(size=400)})
    y = (X["incidents_violence_4p"] > 0.3).astype(int)
    hgb = HistGradientBoostingClassifier(max_iter=30).fit(X[["incidents_violence_4p"]].assign(
        denials_deny_by_source_4p=0.0, context_region_conflict_4p=0.0)[list(X.columns)], y)
    att = attribute(hgb, X.head(20), X.median())
    assert att.method == "shapley" and set(att.values.columns) == {"incidents", "denials", "context"}
    np.testing.assert_allclose(att.values[["denials", "context"]].to_numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(att.logit, hgb.decision_function(X.head(20)), atol=1e-9)


def test_tree_model_scores_with_shapley_drivers_that_add_up(panel):
    model = fitted(panel, HistGradientBoostingClassifier(max_iter=20))
    s = score(model, panel, horizons=(1,))
    assert (s["drivers_method"] == "shapley").all()
    explained = s[s["coverage"] != "insufficient"]
    for _, row in explained.iterrows():
        assert sum(d["contribution"] for d in json.loads(row["drivers"])) == pytest.approx(row["logit"], abs=1e-9)
    skipped = s[s["coverage"] == "insufficient"]  # Shapley is not spent on rows that say "insufficient data"
    assert len(skipped) and all("not computed" in json.loads(d)[0]["text"] for d in skipped["drivers"])


class _Opaque(ClassifierMixin, BaseEstimator):
    """A model that predicts but cannot be explained (attribution hook removed in the test)."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array(list(X.columns), dtype=object)
        return self

    def predict_proba(self, X):
        return np.tile([0.7, 0.3], (len(X), 1))


def test_a_model_without_attribution_still_scores_and_says_so(panel, monkeypatch):
    import tension.scoring.drivers as scoring

    monkeypatch.setattr(scoring, "_log_odds_fn", lambda est: None)
    s = score(fitted(panel, _Opaque()), panel, horizons=(1,))
    assert np.allclose(s["probability"], 0.3)
    assert (s["drivers_method"] == "none").all()
    assert "no attribution" in json.loads(s["drivers"].iloc[0])[0]["text"]


def test_team_models_time_calibrated_logit_drivers_add_up_to_the_base_logit(panel):
    from tension.models import TimeCalibrated, feature_matrix, make_logit

    X = feature_matrix(panel)
    y = target_of(panel)
    ok = y.notna().to_numpy()
    model = TimeCalibrated(make_logit(), fraction=0.25).fit(X[ok], y[ok].astype(int))
    s = score(model, panel, horizons=(1,))
    now = X[(panel["period"] == panel["period"].max()).to_numpy()]
    now = now.set_axis(panel.loc[now.index, "dyad"]).loc[s["dyad"]]
    np.testing.assert_allclose(s["probability"], model.predict_proba(now)[:, 1])
    np.testing.assert_allclose(s["logit"], model.estimator_.decision_function(now), atol=1e-9)
    sums = [sum(d["contribution"] for d in json.loads(x)) for x in s["drivers"]]
    np.testing.assert_allclose(sums, s["logit"], atol=1e-9)
    assert (s["drivers_method"] == "linear").all()
