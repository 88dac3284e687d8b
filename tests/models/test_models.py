"""Model behaviours beyond the sklearn checks: baselines, statsmodels wrappers, calibration, ensemble, feature matrix."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from toy_panels import toy_panel

from tension.errors import UsageError
from tension.models import (
    BASELINES,
    MODELS,
    BaseRate,
    CountGLM,
    DyadHistory,
    LogisticGLM,
    Persistence,
    StatisticalWarning,
    TimeCalibrated,
    WeightedEnsemble,
    feature_matrix,
    make_logit,
    make_model,
)


def _xy(n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(-1.5 + 1.5 * x[:, 0])))
    y = (rng.random(n) < p).astype(int)
    return pd.DataFrame(x, columns=["a", "material_conflict_count", "history_conflict_ewma_6p"]), y


def test_registry_names_match_the_contract_and_build_fresh_estimators():
    for name in ("base_rate", "persistence", "history", "glm", "count", "logit", "hgb", "ensemble"):
        assert name in MODELS
        assert make_model(name) is not make_model(name)
    assert BASELINES == ("base_rate", "persistence", "history")
    with pytest.raises(UsageError, match="Did you mean 'logit'"):
        make_model("logti")


def test_base_rate_is_the_smoothed_training_share():
    X, y = _xy()
    p = BaseRate().fit(X, y).predict_proba(X)[:, 1]
    assert np.allclose(p, (y.sum() + 0.5) / (len(y) + 1))


def test_persistence_maps_last_state_to_training_frequencies_by_column_name():
    X = pd.DataFrame({"material_conflict_count": [0, 0, 0, 0, 2, 3, 1, 0], "other": 0.0})
    y = np.array([0, 0, 0, 1, 1, 1, 0, 0])
    est = Persistence().fit(X, y)
    p = est.predict_proba(X)[:, 1]
    assert p[0] == pytest.approx(1.5 / 6) and p[4] == pytest.approx(2.5 / 4)
    raw = Persistence(calibrated=False).fit(X, y).predict_proba(X)[:, 1]
    assert raw[0] == pytest.approx(0.01) and raw[4] == pytest.approx(0.99)
    with pytest.raises(ValueError, match="reads the column 'material_conflict_count'"):
        Persistence().fit(pd.DataFrame({"x": [0, 1]}), [0, 1])


def test_dyad_history_is_monotone_in_the_history_rate():
    X, y = _xy()
    X["history_conflict_ewma_6p"] = X["a"]  # the informative column
    est = DyadHistory().fit(X, y)
    order = np.argsort(X["history_conflict_ewma_6p"].to_numpy())
    p = est.predict_proba(X)[:, 1][order]
    assert (np.diff(p) >= -1e-12).all() and p[-1] > p[0]


def test_logistic_glm_keeps_statsmodels_summary_and_learns_the_signal():
    X, y = _xy()
    est = LogisticGLM().fit(X, y)
    text = str(est.results_.summary())
    assert "const" in text and "a" in est.kept_features_
    assert est.coef_[1] > 0.8  # standardised coefficient of the informative column
    assert est.n_iter_ >= 1


def test_logistic_glm_drops_constant_and_duplicate_columns():
    X, y = _xy()
    X["dup"] = X["a"] * 2.0 + 1
    X["const"] = 3.0
    est = LogisticGLM(log=False).fit(X, y)
    assert "dup" not in est.kept_features_ and "const" not in est.kept_features_


def test_count_model_picks_negative_binomial_for_overdispersed_counts():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, 2))
    mu = np.exp(-0.5 + 0.8 * x[:, 0])
    counts = rng.negative_binomial(0.5, 0.5 / (0.5 + mu))
    X = pd.DataFrame(x, columns=["a", "b"])
    est = CountGLM(k=1, log=False).fit(X, counts)
    assert est.family_ == "negative_binomial" and est.dispersion_ > 1.5
    assert "alpha" in str(est.results_.summary())
    p1 = est.predict_proba(X)[:, 1]
    p2 = CountGLM(k=2, log=False).fit(X, counts).predict_proba(X)[:, 1]
    assert (p2 <= p1 + 1e-12).all()  # P(N >= 2) <= P(N >= 1)
    poisson = CountGLM(log=False).fit(X, rng.poisson(mu))
    assert poisson.family_ == "poisson"
    with pytest.raises(ValueError, match="needs counts"):
        CountGLM().fit(X, -np.ones(len(X)))


def test_single_class_training_warns_instead_of_failing_silently():
    X, _ = _xy(50)
    with pytest.warns(StatisticalWarning, match="only the class"):
        est = LogisticGLM().fit(X, np.zeros(50, dtype=int))
    assert (est.predict(X) == 0).all()
    with pytest.warns(StatisticalWarning, match="below k=1"):
        CountGLM().fit(X, np.zeros(50))


def test_perfect_separation_reaches_the_user_as_a_warning():
    X = pd.DataFrame({"a": np.r_[np.zeros(30), np.ones(30)], "b": np.arange(60.0) % 7})
    y = np.r_[np.zeros(30), np.ones(30)].astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LogisticGLM(alpha=0.0, log=False, max_iter=25).fit(X, y)
    assert any(issubclass(w.category, StatisticalWarning) for w in caught)


def test_time_calibration_fits_on_the_latest_periods_only():
    X, y = _xy(800)
    X.index = pd.DatetimeIndex(np.repeat(pd.date_range("2020-01-06", periods=40, freq="W-MON"), 20))
    est = TimeCalibrated(make_logit(), fraction=0.25, gap=2).fit(X, y)
    early, late = est._split(X)
    assert X.index[late].min() == pd.Timestamp(X.index.unique()[30])
    assert X.index[early].max() < X.index[late].min() - pd.Timedelta(weeks=2)
    p = est.predict_proba(X)[:, 1]
    assert 0 < p.min() and p.max() < 1 and abs(p.mean() - y.mean()) < 0.05


def test_ensemble_is_the_weighted_mean_of_members():
    X, y = _xy()
    ens = WeightedEnsemble([("logit", make_logit()), ("base", BaseRate())], weights=[3, 1]).fit(X, y)
    a = make_logit().fit(X, y).predict_proba(X)[:, 1]
    b = BaseRate().fit(X, y).predict_proba(X)[:, 1]
    assert np.allclose(ens.predict_proba(X)[:, 1], 0.75 * a + 0.25 * b)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedEnsemble([("b", BaseRate())], weights=[-1]).fit(X, y)


def test_feature_matrix_drops_identifiers_and_adds_past_only_history():
    panel = toy_panel(n_dyads=3, periods=30)
    X = feature_matrix(panel)
    assert not {"dyad", "source", "target", "period"} & set(X.columns)
    assert {"material_conflict_count", "low_coverage", "history_conflict_ewma_6p", "dynamics_periods_since_conflict"} <= set(X.columns)
    assert X.index.equals(panel.index) and (X.dtypes == float).all()
    cut = panel[panel["period"] <= panel["period"].unique()[20]]
    cut.attrs = dict(panel.attrs)
    assert np.allclose(feature_matrix(cut)[["history_conflict_ewma_6p", "dynamics_periods_since_conflict"]], X.loc[cut.index, ["history_conflict_ewma_6p", "dynamics_periods_since_conflict"]], equal_nan=True)
    one = panel[panel["dyad"] == panel["dyad"].iloc[0]]
    since = feature_matrix(one)["dynamics_periods_since_conflict"].to_numpy()
    hit = np.flatnonzero(one["material_conflict_count"].to_numpy() > 0)
    assert (since[hit] == 0).all()


def test_history_hgb_is_monotone_in_the_pairs_history_and_tolerates_missing_columns():
    from tension.models import make_history_hgb

    rng = np.random.default_rng(4)
    n = 3000
    X = pd.DataFrame({"history_conflict_ewma_6p": rng.random(n), "history_conflict_periods_12p": rng.integers(0, 13, n).astype(float)})
    # a noisy world where, in the training data, risk even *falls* at the top of the history rate in places
    logit = -3 + 4 * X["history_conflict_ewma_6p"] - 3 * (X["history_conflict_ewma_6p"] > 0.9) + rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    est = make_history_hgb().fit(X, y)  # the other registered history columns are absent: NaN, not an error
    grid = pd.DataFrame({"history_conflict_ewma_6p": np.linspace(0, 1, 50), "history_conflict_periods_12p": 6.0})
    p = est.predict_proba(grid)[:, 1]
    assert (np.diff(p) >= -1e-12).all() and p[-1] > p[0]  # more past conflict never lowers the risk


def test_history_blend_stacks_on_the_history_forecast_fitted_on_the_latest_slice():
    from tension.models import HistoryBlend

    X, y = _xy(800)
    X.index = pd.DatetimeIndex(np.repeat(pd.date_range("2020-01-06", periods=40, freq="W-MON"), 20))
    X["history_conflict_ewma_6p"] = X["a"] + np.random.default_rng(0).normal(0, 0.3, len(X))  # history: informative, noisier
    est = HistoryBlend(make_logit(), fraction=0.25).fit(X, y)
    early, late = est._split(X)
    assert X.index[late].min() == X.index.unique()[30] and X.index[early].max() < X.index[late].min()
    assert est.stack_ is not None and est.stack_.coef_[0, 1] > 0  # the model adds to history
    X2, y2 = _xy(4000, seed=9)  # fresh rows: the blend beats history out of sample
    X2["history_conflict_ewma_6p"] = X2["a"] + np.random.default_rng(1).normal(0, 0.3, len(X2))
    p = est.predict_proba(X2)[:, 1]
    hist = DyadHistory().fit(X, y).predict_proba(X2)[:, 1]
    brier = lambda q: float(np.mean((q - y2) ** 2))  # noqa: E731
    assert brier(p) < brier(hist)
    assert set(MODELS) >= {"history_hgb", "history_blend"}


def test_history_logit_keeps_never_fought_pairs_apart_from_the_typical_pair():
    from tension.models import make_history_logit

    rng = np.random.default_rng(7)
    n = 4000
    since = rng.integers(0, 60, n).astype(float)
    never = rng.random(n) < 0.4
    since[never] = np.nan  # never fought: no period since conflict exists
    risk = np.where(never, 0.01, 0.5 * np.exp(-since / 10) + 0.05)
    X = pd.DataFrame({"dynamics_periods_since_conflict": since})
    y = (rng.random(n) < risk).astype(int)
    est = make_history_logit().fit(X, y)  # the other listed columns are absent: constant 0, not an error
    p = est.predict_proba(pd.DataFrame({"dynamics_periods_since_conflict": [np.nan, 59.0, 0.0]}))[:, 1]
    assert p[0] < p[1] < p[2]  # median imputation alone would put "never" at a typical pair's risk


def test_history_mix_is_the_mean_of_its_trees_and_its_linear_model():
    from tension.models import make_history_hgb, make_history_logit
    from tension.models.skill import HISTORY_COLUMNS, HOSTILITY_COLUMNS

    X, y = _xy(900, seed=3)
    X["dynamics_hostile_ewma_26p"] = np.abs(X["a"]) * 3
    mix = make_model("history_mix").fit(X, y)
    trees = make_history_hgb({**HISTORY_COLUMNS, **HOSTILITY_COLUMNS}).fit(X, y)
    linear = make_history_logit().fit(X, y)
    expected = (trees.predict_proba(X)[:, 1] + linear.predict_proba(X)[:, 1]) / 2
    np.testing.assert_allclose(mix.predict_proba(X)[:, 1], expected)
    assert list(mix.estimators_[0].named_steps["select"].columns_)[-2:] == list(HOSTILITY_COLUMNS)


def test_feature_matrix_takes_the_pairs_history_from_the_registered_builders():
    from tension.features import OWN_HISTORY
    from tension.panel import build_panel
    from tension.simulate import simulate

    names = [f.__name__ for f in OWN_HISTORY]
    assert names == ["history_conflict_ewma_6p", "dynamics_periods_since_conflict"]
    events = simulate(seed=3, countries=6, years=1).events
    full = build_panel(events, freq="W", dyads="directed")
    bare = build_panel(events, freq="W", dyads="directed", features=())  # no feature columns at all
    assert not set(names) & set(bare.columns)
    np.testing.assert_allclose(feature_matrix(bare)[names], feature_matrix(full)[names], rtol=1e-6, equal_nan=True)
    assert feature_matrix(full)["history_conflict_ewma_6p"].max() > 0  # the world has conflict: not a comparison of zeros


def test_count_models_declare_their_target_kind():
    from tension.models import TARGET_KINDS, target_kind_of

    assert TARGET_KINDS == ("binary", "count")
    assert target_kind_of(CountGLM()) == "count"
    assert target_kind_of(make_model("logit")) == target_kind_of(DyadHistory()) == "binary"
    odd = DyadHistory()
    odd.target_kind = "rate"
    with pytest.raises(ValueError, match="Expected one of"):
        target_kind_of(odd)
