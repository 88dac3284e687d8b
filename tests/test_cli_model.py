"""`tension backtest` (src/tension/cli/commands/model.py): MLflow runs on both engines.

The CLI opens a driver run and passes its id to the engine, so the engine's per-model
child runs land under it beside the backtest run itself, as in `tension retrain`. The local
engine logs one child run per model, the Dask engine one per (model, chunk of origins);
per model they cover the same predictions. The Dask run uses a real
``distributed.LocalCluster`` (2 worker processes) reached through ``--scheduler``.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

ARGS = ["--freq", "W", "--dyads", "undirected", "--horizon", "2", "--start", "2020-06-01", "--end", "2020-09-28",
        "--models", "logit", "--json"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tension.simulate import simulate
    from tension.store import Store

    path = tmp_path_factory.mktemp("cli-model") / "store"
    Store(str(path)).append(simulate(seed=3, countries=8, years=2).events)
    return str(path)


@pytest.fixture(scope="module")
def scheduler() -> str:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture()
def tracked(project: Path, template_db: Path) -> str:
    """A project whose ./data/mlflow.db starts as the empty template; returns its tracking URI."""
    shutil.copy(template_db, project / "data" / "mlflow.db")
    from tension import tracking

    return tracking.tracking_uri()


def _backtest(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    from tension.cli import main

    code = main(["backtest", *argv])
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]
    return json.loads(out.out)


def _children(uri: str, parent: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("tension")
    return client.search_runs([exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'")


def _rows_per_model(children: list, prefix: str) -> Counter:
    """Predictions per model, summed over the engine's child runs (named ``<prefix> <model> <start>..<end>``)."""
    rows: Counter = Counter()
    for run in children:
        if run.info.run_name.startswith(prefix + " "):
            rows[run.info.run_name.split()[1]] += int(run.data.metrics["rows"])
    return rows


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_cli_backtest_logs_the_engines_per_model_runs_under_its_driver_run(engine, store, tracked, capsys, request):
    extra = ["--engine", engine] + (["--scheduler", request.getfixturevalue("scheduler")] if engine == "dask" else [])
    payload = _backtest(["--store", store, *ARGS, *extra], capsys)
    parent = payload["mlflow_parent_run_id"]
    assert parent and payload["mlflow_run_id"] and parent != payload["mlflow_run_id"]
    children = _children(tracked, parent)
    assert payload["mlflow_run_id"] in {r.info.run_id for r in children}  # the backtest run itself
    assert all(r.info.status == "FINISHED" for r in children)
    pred_per_model = _predictions_per_model(tracked, payload["mlflow_run_id"])
    assert set(pred_per_model) == {m["model"] for m in payload["metrics"]} == {"base_rate", "persistence", "logit"}
    got = _rows_per_model(children, "local" if engine == "local" else "worker")
    assert got == pred_per_model  # every model has child runs covering exactly its predictions
    assert sum(got.values()) == payload["predictions"]
    if engine == "local":
        assert len(children) == 1 + 3  # the backtest run and one run per model
    else:
        assert len(children) > 1 + 3  # one per (model, chunk of origins)


def _predictions_per_model(uri: str, run_id: str) -> Counter:
    from mlflow.tracking import MlflowClient

    path = MlflowClient(tracking_uri=uri).download_artifacts(run_id, "backtest/predictions.parquet")
    return Counter(pd.read_parquet(path)["model"].value_counts().to_dict())


def test_cli_backtest_without_tracking_logs_no_run(store, tracked, capsys):
    payload = _backtest(["--store", store, *ARGS, "--no-track"], capsys)
    assert payload["mlflow_parent_run_id"] is None and payload["mlflow_run_id"] is None
    from mlflow.tracking import MlflowClient

    exp = MlflowClient(tracking_uri=tracked).get_experiment_by_name("tension")
    assert exp is None or not MlflowClient(tracking_uri=tracked).search_runs([exp.experiment_id])
