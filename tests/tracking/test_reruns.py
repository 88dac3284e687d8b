"""tracking.py for reruns and bands: the experiment kind, cached backtests, backtest predictions stored with a version."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tension.cli import main

ARGS = ["--freq", "W", "--dyads", "undirected", "--horizon", "2", "--start", "2020-06-01", "--end", "2020-08-31",
        "--models", "logit", "--json"]


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    from tension.simulate import simulate

    return simulate(seed=3, countries=6, years=2).events


@pytest.fixture()
def tracked(project: Path, template_db: Path, events: pd.DataFrame) -> str:
    from tension import tracking
    from tension.store import Store

    shutil.copy(template_db, project / "data" / "mlflow.db")
    Store(str(project / "data" / "store")).append(events)
    return tracking.tracking_uri()


def _backtest(capsys, *extra: str) -> dict:
    code = main(["backtest", *ARGS, *extra])
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]
    return json.loads(out.out)


def test_the_experiment_opens_on_its_runs_not_an_empty_traces_page(tracked, capsys):
    _backtest(capsys)
    exp = MlflowClient(tracking_uri=tracked).get_experiment_by_name("tension")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"


def test_a_second_identical_backtest_reuses_the_first_and_refits_nothing(tracked, capsys):
    first = _backtest(capsys)
    assert first["reused"] is False
    client = MlflowClient(tracking_uri=tracked)
    exp_id = client.get_experiment_by_name("tension").experiment_id
    runs_before = len(client.search_runs([exp_id], max_results=1000))

    second = _backtest(capsys, "--out", "pred.parquet")
    assert second["reused"] is True and second["mlflow_run_id"] == first["mlflow_run_id"]
    assert len(client.search_runs([exp_id], max_results=1000)) == runs_before  # no new run at all
    assert second["metrics"] == first["metrics"] and second["warnings"] == first["warnings"]
    assert second["leakage"] == first["leakage"]
    assert len(pd.read_parquet("pred.parquet")) == first["predictions"]

    third = _backtest(capsys, "--k", "2")  # another configuration is another backtest
    assert third["reused"] is False


def test_adding_a_model_fits_only_that_model_and_reuses_the_others(tracked, capsys):
    first = _backtest(capsys)
    second = _backtest(capsys, "--models", "logit,history")
    assert second["reused"] is False and set(second["reused_models"]) == {"base_rate", "persistence", "logit"}
    assert second["mlflow_run_id"] != first["mlflow_run_id"]
    by_model = {m["model"]: m for m in second["metrics"]}
    assert by_model["logit"] == next(m for m in first["metrics"] if m["model"] == "logit")
    assert "history" in by_model
    third = _backtest(capsys, "--models", "logit,history")  # and now all of it is reused
    assert third["reused"] is True and third["mlflow_run_id"] == second["mlflow_run_id"]


def test_new_events_after_the_backtest_window_do_not_invalidate_it(tracked, events, capsys):
    from tension.store import Store

    first = _backtest(capsys, "--end", "2020-08-03")
    # the store grows by events long after the last label window (2020-08-03 + 2 weeks)
    late = events[pd.to_datetime(events["date"]) >= "2020-10-01"].copy()
    late["event_id"] = late["event_id"].astype(str) + "-late"
    Store("data/store").append(late)
    again = _backtest(capsys, "--end", "2020-08-03")
    assert again["reused"] is True and again["mlflow_run_id"] == first["mlflow_run_id"]


def test_backtest_predictions_stored_with_a_version_are_found_by_version(tracked):
    from tension import tracking
    from tension.backtest import fit_final
    from tension.config import load_experiment
    from tension.models import make_logit
    from tension.panel import build_panel
    from tension.store import Store

    exp = load_experiment(None)
    store = Store("data/store")
    panel = build_panel(store, freq="W", dyads="directed", config=exp.panel)
    est, info = fit_final(make_logit(), panel, "2020-06-01", "W", horizon=4)
    rec = tracking.track_train(est, panel, experiment=exp, model_name="logit", store=store, features=info["features"])
    assert tracking.backtest_predictions(exp, rec.version) is None
    pred = pd.DataFrame({"model": "logit", "dyad": ["A>B", "B>A"], "horizon": 4, "probability": [0.1, 0.2],
                         "outcome": [0, 1]})
    tracking.store_backtest_predictions(exp, rec.version, pred, source="test")
    back = tracking.backtest_predictions(exp, rec.version)
    pd.testing.assert_frame_equal(back, pred)
    assert tracking.version_tags(exp, rec.version)["backtest_rows"] == "2"
