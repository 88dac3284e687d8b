"""Forecast verification: metrics of a predictions table, reliability, skill over a baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from tension.errors import UsageError
from tension.verification import compare_to_baseline, metrics, reliability_figure, skill_vs_history


def _table(probs: dict[str, list[float]], outcomes: list[int], origins: list[str], onset: list[bool] | None = None) -> pd.DataFrame:
    rows = []
    for model, ps in probs.items():
        for i, (p, y, o) in enumerate(zip(ps, outcomes, origins)):
            rows.append({"run_id": "r", "model": model, "target": "t", "dyad": f"D{i % 4}", "origin": pd.Timestamp(o), "horizon": 1,
                         "window_start": pd.Timestamp(o), "window_end": pd.Timestamp(o), "probability": p, "outcome": y,
                         "onset_eligible": (onset or [True] * len(outcomes))[i]})
    return pd.DataFrame(rows)


def test_metrics_match_hand_computed_values():
    outcomes = [1, 0, 0, 0, 1, 1, 0, 0]
    origins = ["2020-01-01"] * 4 + ["2020-02-01"] * 4
    probs = {
        "base_rate": [0.375] * 8,
        "persistence": [0.9, 0.1, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1],
        "good": [0.8, 0.1, 0.2, 0.1, 0.7, 0.6, 0.3, 0.1],
    }
    m = metrics(_table(probs, outcomes, origins), alert_threshold=0.65, top_k=2).set_index("model")
    p, y = np.array(probs["good"]), np.array(outcomes)
    assert m.loc["good", "brier"] == pytest.approx(np.mean((p - y) ** 2))
    b_base = np.mean((0.375 - y) ** 2)
    assert m.loc["good", "bss_base_rate"] == pytest.approx(1 - np.mean((p - y) ** 2) / b_base)
    assert m.loc["good", "roc_auc"] == 1.0 and m.loc["good", "average_precision"] == 1.0
    assert m.loc["good", "missed_escalation_rate"] == pytest.approx(1 / 3)  # positives at 0.8, 0.7, 0.6: one below 0.65
    assert m.loc["good", "precision_at_k"] == pytest.approx((0.5 + 1.0) / 2)
    assert m.loc["good", "n_positives"] == 3 and m.loc["base_rate", "bss_base_rate"] == 0.0
    assert m.loc["base_rate", "ece"] == pytest.approx(0.0)


def test_reliability_figure_is_a_matplotlib_figure():
    t = _table({"base_rate": [0.2, 0.4, 0.6, 0.8], "persistence": [0.1, 0.9, 0.1, 0.9]}, [0, 0, 1, 1], ["2020-01-01"] * 4)
    fig = reliability_figure(t)
    assert isinstance(fig, Figure) and len(fig.axes[0].lines) == 3


def _paired_table(n_dyads: int, n_origins: int, seed: int, model_noise: float, history_noise: float,
                  sticky: bool = False) -> pd.DataFrame:
    """A predictions table of history and a model on the same rows (outcome drawn from a per-dyad risk;
    ``sticky``: one draw per dyad, repeated at every origin, like a pair in chronic conflict)."""
    rng = np.random.default_rng(seed)
    risk = rng.beta(0.5, 8, n_dyads)
    dyad = np.repeat([f"D{i:04d}" for i in range(n_dyads)], n_origins)
    origin = np.tile(pd.date_range("2020-01-01", periods=n_origins, freq="MS"), n_dyads)
    r = np.repeat(risk, n_origins)
    y = (rng.random(len(r)) < r).astype(int)
    if sticky:
        y = np.repeat((rng.random(n_dyads) < risk).astype(int), n_origins)
    rows = []
    for model, noise in (("history", history_noise), ("model", model_noise)):
        p = np.clip(r * np.exp(np.repeat(rng.normal(0, noise, n_dyads), n_origins)), 1e-4, 0.999)  # a model's error sticks to a pair
        rows.append(pd.DataFrame({"model": model, "target": "any_material_conflict", "horizon": 1, "dyad": dyad, "origin": origin,
                                  "probability": p, "outcome": y, "onset_eligible": np.arange(len(r)) % 3 == 0}))
    return pd.concat(rows, ignore_index=True)


def test_compare_to_baseline_point_values_are_sklearns_metrics():
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    table = _paired_table(60, 20, seed=1, model_noise=0.2, history_noise=1.0)
    out = compare_to_baseline(table, "history", n_boot=50).set_index("metric")
    m, h = table[table["model"] == "model"], table[table["model"] == "history"]
    on = m["onset_eligible"].to_numpy()
    assert out.loc["average_precision", "model_value"] == pytest.approx(average_precision_score(m["outcome"], m["probability"]))
    assert out.loc["average_precision", "history_value"] == pytest.approx(average_precision_score(h["outcome"], h["probability"]))
    assert out.loc["brier", "model_value"] == pytest.approx(brier_score_loss(m["outcome"], m["probability"]))
    assert out.loc["roc_auc", "history_value"] == pytest.approx(roc_auc_score(h["outcome"], h["probability"]))
    assert out.loc["onset_ap", "model_value"] == pytest.approx(average_precision_score(m["outcome"][on], m["probability"][on]))
    assert (out["difference"] == out["model_value"] - out["history_value"]).all()
    # a model much closer to the true risk beats history beyond noise on AP and Brier
    assert out.loc["average_precision", "beats_history"] and out.loc["brier", "beats_history"]
    assert out.loc["brier", "high"] < 0 < out.loc["average_precision", "low"]


def test_compare_to_baseline_resamples_dyads_not_rows():
    # The same rows twice: 40 dyads seen 25 times each (a pair's months are one unit), and the same
    # 1,000 rows as 1,000 dyads seen once. A row bootstrap cannot tell them apart; a dyad bootstrap must
    # give the clustered table a much wider interval.
    clustered = _paired_table(40, 25, seed=2, model_noise=0.6, history_noise=0.6, sticky=True)
    spread = clustered.assign(dyad=clustered["dyad"] + "-" + clustered["origin"].dt.strftime("%Y%m"))
    width = {}
    for name, table in (("clustered", clustered), ("spread", spread)):
        r = compare_to_baseline(table, "history", n_boot=400, seed=0).set_index("metric").loc["brier"]
        width[name] = r["high"] - r["low"]
    assert width["clustered"] > 2 * width["spread"], width


def test_compare_to_baseline_equal_models_are_not_beyond_noise_and_missing_baseline_is_explained():
    table = _paired_table(80, 12, seed=3, model_noise=0.5, history_noise=0.5)
    out = compare_to_baseline(table, "history", n_boot=300).set_index("metric")
    for metric in ("average_precision", "brier", "roc_auc"):
        assert out.loc[metric, "low"] <= out.loc[metric, "difference"] <= out.loc[metric, "high"]
        assert not out.loc[metric, "beats_history"], out
    records = skill_vs_history(table, n_boot=50)
    assert {"target", "horizon", "metric", "model", "model_value", "history_value", "difference", "low", "high",
            "beats_history"} == set(records[0]) and isinstance(records[0]["beats_history"], bool)
    with pytest.raises(UsageError, match="no 'history' model"):
        compare_to_baseline(table[table["model"] != "history"], "history")
    assert skill_vs_history(table[table["model"] != "history"]) == []


def test_compare_to_baseline_time_blocks_count_shared_shocks_as_noise():
    from tension.verification import compare_to_baseline

    # Outcomes at random; each period has a shock shared by all 600 dyads, and the model sees
    # that period's shock: its edge rests on 8 periods, not on 600 independent pairs.
    rng = np.random.default_rng(4)
    n_dyads, n_origins = 600, 8
    shock = rng.uniform(0.05, 0.25, n_origins)
    origin = np.tile(pd.date_range("2020-01-01", periods=n_origins, freq="MS"), n_dyads)
    dyad = np.repeat([f"D{i}" for i in range(n_dyads)], n_origins)
    r = np.tile(shock, n_dyads)
    y = (rng.random(len(r)) < r).astype(float)
    rows = [pd.DataFrame({"model": m, "target": "t", "horizon": 1, "dyad": dyad, "origin": origin, "probability": p,
                          "outcome": y, "onset_eligible": False}) for m, p in (("history", np.full(len(r), 0.15)), ("model", r))]
    table = pd.concat(rows, ignore_index=True)
    width = {}
    for block in (0, 1):
        out = compare_to_baseline(table, "history", n_boot=300, seed=0, time_block=block).set_index("metric").loc["average_precision"]
        width[block] = out["high"] - out["low"]
    assert width[1] > 2 * width[0], width
