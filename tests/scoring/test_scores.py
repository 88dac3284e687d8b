"""Scoring: probabilities, bands, ranks, coverage, horizons."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scoring_world import DYADS, FEATURES, REGIONS

from tension.errors import UsageError
from tension.scoring import SCORE_COLUMNS, beta_band, coverage_flags, score


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


def test_coverage_marks_silent_and_gappy_dyads(panel):
    p = panel.copy()
    last = p["period"].max()
    gap = p["period"] > last - pd.Timedelta(weeks=8)
    p.loc[gap & (p["dyad"] == "ARM>AZE"), "low_coverage"] = True
    flags = coverage_flags(p, last, ["ARM>AZE", "AZE>ARM", "FRA>DEU", "NEW>ONE"], window=12)
    assert flags.to_dict() == {"ARM>AZE": "insufficient", "AZE>ARM": "ok", "FRA>DEU": "insufficient",
                               "NEW>ONE": "insufficient"}


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
