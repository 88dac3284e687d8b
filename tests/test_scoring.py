"""Scoring: probabilities, bands, ranks, coverage, drivers that add up, evidence."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tension.errors import UsageError
from tension.scoring import (
    SCORE_COLUMNS,
    attribute,
    beta_band,
    coverage_flags,
    describe_driver,
    grouped_shapley,
    score,
)

FEATURES = ["incidents_material_conflict_4p", "incidents_hostile_intensity_4p", "denials_accuse_by_source_4p",
            "relationship_cooperation_count_4p"]
DYADS = [("ARM", "AZE"), ("AZE", "ARM"), ("RUS", "GEO"), ("TUR", "ARM"), ("USA", "CHN"), ("FRA", "DEU")]


def make_panel(periods: int = 60, seed: int = 0, quiet: tuple[str, ...] = ("FRA>DEU",)) -> pd.DataFrame:
    """A small weekly directed panel with contract columns and 4-week window features."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2023-01-02", periods=periods, freq="W-MON")
    rows = []
    for s, t in DYADS:
        dyad = f"{s}>{t}"
        level = 0.0 if dyad in quiet else rng.uniform(0.5, 4)
        for w in weeks:
            inc = rng.poisson(level)
            rows.append({"dyad": dyad, "source": s, "target": t, "period": w, "incident_count": inc,
                         "denial_count": rng.poisson(level / 2), "cooperation_count": rng.poisson(1.0) if level else 0,
                         "alliance_move_count": 0, "other_count": 0,
                         "material_conflict_count": rng.poisson(level / 3),
                         "hostile_intensity": float(inc) * 5.0})
    p = pd.DataFrame(rows)
    p["events_dyad"] = p[["incident_count", "denial_count", "cooperation_count"]].sum(axis=1)
    p["events_global"] = p.groupby("period")["events_dyad"].transform("sum") + 100
    p["events_source"] = p["events_dyad"]
    p["events_target"] = p["events_dyad"]
    p["low_coverage"] = False
    g = p.groupby("dyad", sort=False)
    sources = {"incidents_material_conflict_4p": "material_conflict_count",
               "incidents_hostile_intensity_4p": "hostile_intensity",
               "denials_accuse_by_source_4p": "denial_count", "relationship_cooperation_count_4p": "cooperation_count"}
    for feature, column in sources.items():
        p[feature] = g[column].transform(lambda s: s.rolling(4, min_periods=1).sum()).astype(float)
    p = p.sort_values(["dyad", "period"]).reset_index(drop=True)
    p.attrs["freq"] = "W"
    return p


def target_of(panel: pd.DataFrame, h: int = 1) -> pd.Series:
    fwd = panel.groupby("dyad")["material_conflict_count"].shift(-h)
    return (fwd > 0).astype(float).where(fwd.notna())


def fitted(panel: pd.DataFrame, estimator, h: int = 1):
    y = target_of(panel, h)
    ok = y.notna()
    return estimator.fit(panel.loc[ok, FEATURES], y[ok].astype(int))


def make_events(panel: pd.DataFrame) -> pd.DataFrame:
    last = panel["period"].max()
    return pd.DataFrame({
        "event_id": ["e1", "e2", "e3", "e4"],
        "date": pd.to_datetime([last, last - pd.Timedelta(days=7), last, last + pd.Timedelta(days=30)]),
        "source_country": ["ARM", "ARM", "AZE", "ARM"], "target_country": ["AZE", "AZE", "ARM", "AZE"],
        "source_actor": ["Armenia", "Armenia", "Azerbaijan", "Armenia"],
        "target_actor": ["Azerbaijan", "Azerbaijan", "Armenia", "Azerbaijan"],
        "cameo_code": ["190", "112", "190", "190"], "root_code": ["19", "11", "19", "19"],
        "goldstein": np.array([-10, -2, -10, -10], dtype="float32"),
        "family": ["incident", "incident", "incident", "incident"], "weight": np.float32(1.0),
        "source_ref": ["https://example.org/a", "story-2", "story-3", "story-future"],
        "text": ["Shelling near the border", "Accusation of ceasefire violation", "Reverse shelling", "future"],
    })


REGIONS = {"South Caucasus": ("ARM", "AZE", "GEO", "RUS", "TUR", "IRN")}


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return make_panel()


@pytest.fixture(scope="module")
def logit_model(panel):
    return fitted(panel, make_pipeline(StandardScaler(), LogisticRegression()))


def test_scores_table_has_the_contract_columns_and_one_row_per_dyad(panel, logit_model):
    s = score(logit_model, panel, horizons=(1,), regions=REGIONS, model_version="tension/3")
    assert list(s.columns) == list(SCORE_COLUMNS)
    assert len(s) == len(DYADS) and s["dyad"].is_unique
    assert (s["as_of"] == panel["period"].max()).all()
    assert (s["model_version"] == "tension/3").all()
    assert s["lower"].isna().all() and s["upper"].isna().all()  # no backtest of this model given: no band
    expected = logit_model.predict_proba(panel[panel["period"] == panel["period"].max()].set_index("dyad")
                                         .loc[s["dyad"], FEATURES])[:, 1]
    np.testing.assert_allclose(s["probability"], expected)


def test_rank_orders_probabilities_and_skips_insufficient_coverage(panel, logit_model):
    s = score(logit_model, panel, horizons=(1,), regions=REGIONS)
    quiet = s[s["dyad"] == "FRA>DEU"].iloc[0]
    assert quiet["coverage"] == "insufficient" and pd.isna(quiet["rank"])
    ranked = s.dropna(subset=["rank"]).sort_values("rank")
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["probability"].is_monotonic_decreasing


def test_region_rank_covers_only_dyads_inside_the_region(panel, logit_model):
    s = score(logit_model, panel, horizons=(1,), regions=REGIONS)
    inside = s[s["region"] == "South Caucasus"]
    assert set(inside["dyad"]) == {"ARM>AZE", "AZE>ARM", "RUS>GEO", "TUR>ARM"}
    assert sorted(inside["region_rank"].astype(int)) == [1, 2, 3, 4]
    assert s.loc[s["region"] == "", "region_rank"].isna().all()


def test_change_is_measured_against_the_previous_issued_score(panel, logit_model):
    weeks = sorted(panel["period"].unique())
    first = score(logit_model, panel, as_of=weeks[-2], horizons=(1,))
    second = score(logit_model, panel, horizons=(1,), previous=first)
    merged = second.merge(first[["dyad", "probability"]], on="dyad", suffixes=("", "_prev"))
    np.testing.assert_allclose(merged["change"], merged["probability"] - merged["probability_prev"])
    assert score(logit_model, panel, horizons=(1,))["change"].isna().all()


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
    import tension.scoring as scoring

    monkeypatch.setattr(scoring, "_log_odds_fn", lambda est: None)
    s = score(fitted(panel, _Opaque()), panel, horizons=(1,))
    assert np.allclose(s["probability"], 0.3)
    assert (s["drivers_method"] == "none").all()
    assert "no attribution" in json.loads(s["drivers"].iloc[0])[0]["text"]


def test_driver_text_reads_like_a_sentence_from_the_dyads_history(panel):
    hist = pd.DataFrame({"denials_accuse_by_source_4p": [1, 2, 2, 2, 2, 4, 5, 6]})
    text = describe_driver("denials_accuse_by_source_4p", 0.8, hist, "AZE", "ARM", True, "W")
    assert text == ("accusations from Azerbaijan against Armenia tripled over 4 weeks (6 vs 2 in the 4 weeks "
                    "before); raises the risk")
    hist = pd.DataFrame({"incidents_violence_12p": [0.0] * 13 + [3.0]})
    text = describe_driver("incidents_violence_12p", -0.1, hist, "AZE", "ARM", False, "M")
    assert text.startswith("violent incidents (assaults, fighting) between Azerbaijan and Armenia up from none over 12 months")
    assert text.endswith("lowers the risk")
    text = describe_driver("dynamics_hostile_trend_12p", 0.2, None, "ARM", "AZE", True, "W", value=0.5, group="dynamics")
    assert text == "hostility dynamics: hostility trend from Armenia toward Azerbaijan at 0.5; raises the risk"


def test_coverage_marks_silent_and_gappy_dyads(panel):
    p = panel.copy()
    last = p["period"].max()
    gap = p["period"] > last - pd.Timedelta(weeks=8)
    p.loc[gap & (p["dyad"] == "ARM>AZE"), "low_coverage"] = True
    flags = coverage_flags(p, last, ["ARM>AZE", "AZE>ARM", "FRA>DEU", "NEW>ONE"], window=12)
    assert flags.to_dict() == {"ARM>AZE": "insufficient", "AZE>ARM": "ok", "FRA>DEU": "insufficient",
                               "NEW>ONE": "insufficient"}


def test_evidence_lists_recent_dyad_events_without_future_ones(panel, logit_model):
    s = score(logit_model, panel, horizons=(1,), events=make_events(panel))
    ev = json.loads(s.loc[s["dyad"] == "ARM>AZE", "evidence"].iloc[0])
    ids = [e["event_id"] for e in ev]
    assert "e4" not in ids and "e3" not in ids  # future event; other direction of a directed dyad
    assert set(ids) <= {"e1", "e2"} and ids
    assert {"event_id", "date", "text", "source_ref"} <= set(ev[0])
    assert json.loads(s.loc[s["dyad"] == "RUS>GEO", "evidence"].iloc[0]) == []


def test_band_narrows_with_more_calibration_history():
    lo0, hi0 = beta_band(np.array([0.3]), np.array([0]))
    lo, hi = beta_band(np.array([0.3]), np.array([400]))
    assert lo0[0] < lo[0] < 0.3 < hi[0] < hi0[0]
    assert hi[0] - lo[0] < 0.1


def test_without_a_backtest_of_the_model_the_band_is_nan_with_a_reason_not_2_to_98(panel, logit_model):
    s = score(logit_model, panel, horizons=(1,))
    assert s["lower"].isna().all() and s["upper"].isna().all()
    assert (s["band_note"] == "no band: no backtest of this model").all()
    assert (s["interval_n"] == 0).all()
    other = pd.DataFrame({"probability": [0.2, 0.3], "outcome": [0, 1], "horizon": 3})  # another horizon's backtest
    assert score(logit_model, panel, horizons=(1,), calibration=other)["lower"].isna().all()


def test_band_is_the_observed_rate_among_past_forecasts_near_the_probability(panel, logit_model):
    cal = pd.DataFrame({"probability": np.linspace(0, 1, 2000), "outcome": np.tile([0, 1], 1000), "horizon": 1})
    s = score(logit_model, panel, horizons=(1,), calibration=cal)
    assert (s["interval_n"] == 200).all() and (s["band_note"] == "").all()
    # every bin saw the event half of the time: the band brackets 0.5 whatever p is
    assert ((s["lower"] < 0.5) & (s["upper"] > 0.5)).all()
    assert ((s["upper"] - s["lower"]) < 0.15).all()


def test_a_probability_outside_the_past_forecasts_gets_no_band():
    from tension.scoring import observed_rate_band

    cal = pd.DataFrame({"probability": np.linspace(0.01, 0.1, 500), "outcome": np.arange(500) % 20 == 0, "horizon": 4})
    lo, hi, n, note = observed_rate_band(np.array([0.05, 0.81]), cal, horizon=4)
    assert 0 < lo[0] < hi[0] < 0.3 and n[0] == 50 and note[0] == ""
    assert np.isnan(lo[1]) and np.isnan(hi[1]) and n[1] == 0 and "near this probability" in note[1]


def test_one_model_for_several_horizons_is_refused_with_a_fix(panel, logit_model):
    with pytest.raises(UsageError, match="One model cannot score several horizons.*horizons=\\(3,\\)"):
        score(logit_model, panel, horizons=(1, 3))
    s = score({1: logit_model, 3: logit_model}, panel, horizons=(1, 3))
    assert sorted(s["horizon"].unique()) == [1, 3]
    with pytest.raises(UsageError, match="no forecaster for some horizons"):
        score({1: logit_model}, panel, horizons=(1, 6))


def test_rows_after_as_of_are_ignored(panel, logit_model):
    as_of = sorted(panel["period"].unique())[-5]
    a = score(logit_model, panel, as_of=as_of, horizons=(1,))
    b = score(logit_model, panel[panel["period"] <= as_of], as_of=as_of, horizons=(1,))
    pd.testing.assert_frame_equal(a, b)


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


class _Pyfunc:
    """Shape of tension.tracking.TensionModel: estimator + feature list + config with the target horizon."""

    def __init__(self, estimator, features, horizon):
        self.estimator, self.features, self.config = estimator, features, {"target": {"horizon": horizon}}


def test_registry_model_shape_is_unwrapped_and_its_horizon_enforced(panel, logit_model):
    wrapped = _Pyfunc(logit_model, FEATURES, 1)
    s = score(wrapped, panel, horizons=(1,))
    pd.testing.assert_series_equal(s["probability"], score(logit_model, panel, horizons=(1,))["probability"])
    with pytest.raises(UsageError, match="forecasts horizon 1 only.*--horizon 1"):
        score(wrapped, panel, horizons=(3,))


def test_default_horizons_are_the_models_own(panel, logit_model):
    assert sorted(score({1: logit_model, 3: logit_model}, panel)["horizon"].unique()) == [1, 3]
    assert (score(_Pyfunc(logit_model, FEATURES, 3), panel)["horizon"] == 3).all()
