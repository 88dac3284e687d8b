"""MLflow tracking: runs, datasets, artifacts, the pyfunc, the registry, a real server."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlflow_server import free_port, mlflow_server
from tension import tracking
from tension.config import Experiment, from_mapping
from tension.errors import TrackingUnavailableError, UsageError

FEATURES = ["incident_count", "hostile_intensity", "incident_mean_4w", "low_coverage"]


@pytest.fixture()
def project(project: Path, template_db: Path) -> Path:
    """The shared ``project`` fixture with a ready MLflow schema in ./data/mlflow.db."""
    shutil.copyfile(template_db, project / "data" / "mlflow.db")
    return project



def make_panel(n_dyads: int = 5, n_periods: int = 40, seed: int = 0) -> pd.DataFrame:
    """A small hand-made panel with the panel's key columns and a few typed feature columns."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2021-01-04", periods=n_periods, freq="7D")
    rows = []
    for i in range(n_dyads):
        src, tgt = f"X{i:02d}", f"X{i + 1:02d}"
        for p in periods:
            rows.append({"dyad": f"{src}>{tgt}", "source": src, "target": tgt, "period": p})
    panel = pd.DataFrame(rows)
    panel["incident_count"] = rng.poisson(2, len(panel)).astype("int64")
    panel["hostile_intensity"] = rng.gamma(2.0, 3.0, len(panel))
    panel["incident_mean_4w"] = panel.groupby("dyad")["incident_count"].transform(lambda s: s.rolling(4, 1).mean())
    panel["low_coverage"] = rng.random(len(panel)) < 0.1
    panel.attrs.update({"freq": "W", "dyads": "directed"})
    return panel


def fit(panel: pd.DataFrame, seed: int = 0) -> LogisticRegression:
    y = (panel["incident_count"] + np.random.default_rng(seed).normal(0, 1, len(panel)) > 2).astype(int)
    return LogisticRegression(max_iter=500).fit(panel[FEATURES], y)


def experiment(uri: str = "", name: str = "tension") -> Experiment:
    return from_mapping(Experiment, {"tracking": {"uri": uri, "registered_model": name}}, "test")


def backtest_result(panel: pd.DataFrame, models=("base_rate", "logit"), horizon: int = 4) -> SimpleNamespace:
    rng = np.random.default_rng(1)
    origins = sorted(panel["period"].unique())[-6:-2]
    rows = []
    for m in models:
        for o in origins:
            for d in panel["dyad"].unique():
                rows.append({"run_id": "", "model": m, "target": "any_material_conflict", "dyad": d, "origin": o,
                             "horizon": horizon, "window_start": o + pd.Timedelta(days=7),
                             "window_end": o + pd.Timedelta(days=7 * horizon),
                             "probability": float(rng.random()), "outcome": float(rng.random() < 0.3)})
    preds = pd.DataFrame(rows)
    metrics = (preds.assign(sq=(preds.probability - preds.outcome) ** 2)
               .groupby(["model", "horizon"], as_index=False).agg(brier=("sq", "mean"), n=("sq", "size")))
    return SimpleNamespace(predictions=preds, metrics=metrics, warnings=["no positives in fold 2021-03-01"])


def local_models(project: Path) -> list:
    from mlflow.tracking import MlflowClient

    return MlflowClient(f"sqlite:///{project / 'data' / 'mlflow.db'}").search_registered_models()


def test_server_down_raises_tracking_unavailable_quickly(project: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrackingUnavailableError, match="cannot be reached.*--no-track"):
        tracking.track_train(fit(make_panel()), make_panel(), experiment=experiment(uri),
                             model_name="logit", features=FEATURES, matrix="panel")
    assert not (project / "data" / "mlartifacts").exists() and local_models(project) == []


def test_no_track_touches_nothing(project: Path) -> None:
    panel = make_panel()
    rec = tracking.track_train(fit(panel), panel, experiment=experiment(), model_name="logit",
                               features=FEATURES, matrix="panel", track=False)
    assert rec.run_id is None and rec.version is None
    assert tracking.track_backtest(backtest_result(panel), experiment=experiment(), track=False) is None
    assert not (project / "data" / "mlartifacts").exists() and local_models(project) == []


# ----------------------------------------------------------------------------- local SQLite


def test_train_run_logs_params_dataset_commit_artifacts_and_registers(project: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    panel = make_panel()
    model = fit(panel)
    cfg = tmp_path / "exp.toml"
    cfg.write_text('name = "t"\n[panel]\nfreq = "W"\n')
    exp = experiment()
    store = SimpleNamespace(location=str(project / "data" / "store"), digest="d" * 64)
    rec = tracking.track_train(model, panel, experiment=exp, model_name="logit", features=FEATURES, matrix="panel",
                               store=store, config_path=cfg, metrics={"in_sample_brier": 0.2})
    assert rec.version == 1 and rec.alias == "challenger" and rec.registered_model == "tension"
    client = MlflowClient(tracking.tracking_uri())
    run = client.get_run(rec.run_id)
    assert run.data.params["panel.freq"] == "W" and run.data.params["models.names"].startswith("base_rate,")
    assert run.data.params["model"] == "logit"
    assert run.data.metrics["in_sample_brier"] == pytest.approx(0.2)
    assert run.data.tags["tension.store_digest"] == "d" * 64
    assert len(run.data.tags["mlflow.source.git.commit"]) in (40, 7) or run.data.tags["mlflow.source.git.commit"] == "unknown"
    inputs = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
    assert inputs["events"].digest == ("d" * 64)[:36]
    assert "panel" in inputs
    arts = {a.path for a in client.list_artifacts(rec.run_id, "config")} | {
        a.path for a in client.list_artifacts(rec.run_id, "model_info")}
    assert {"config/exp.toml", "config/experiment.json", "model_info/coefficients.csv"} <= arts
    # the artifacts live beside the database, at an absolute location
    assert (project / "data" / "mlartifacts").is_dir()
    assert str(client.get_model_version_by_alias("tension", "challenger").version) == "1"
    # the pyfunc carries the feature configuration and scores the panel like the estimator
    loaded = tracking.load_model("models:/tension@challenger")
    out = loaded.predict(panel)
    assert list(out.columns) == ["dyad", "period", "probability"]
    np.testing.assert_array_equal(out["probability"].to_numpy(), model.predict_proba(panel[FEATURES])[:, 1])
    inner = loaded.unwrap_python_model()
    assert inner.features == FEATURES and inner.config["freq"] == "W" and inner.config["dyads"] == "directed"
    with pytest.raises(Exception, match="hostile_intensity|lacks"):
        loaded.predict(panel.drop(columns=["hostile_intensity"]))


@pytest.fixture(scope="module")
def real_panel(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A panel built by the real pipeline from a small synthetic world (6 countries, 2.5 years)."""
    from tension.ingest import ingest
    from tension.panel import build_panel
    from tension.simulate import simulate, write_world
    from tension.store import Store

    root = tmp_path_factory.mktemp("world")
    paths = write_world(simulate(seed=1, countries=6, years=2.5), root / "world.csv")
    ingest([paths["events"]], str(root / "store"))
    return build_panel(Store(str(root / "store")), freq="W")


def test_champion_loaded_in_a_fresh_process_scores_exactly_as_in_process(project: Path, real_panel) -> None:
    from tension.backtest import fit_final
    from tension.models import feature_matrix, make_model

    panel = real_panel
    est, info = fit_final(make_model("logit"), panel, panel["period"].max(), "W", 4)
    cutoff = panel["period"].max() - pd.Timedelta(weeks=2)
    rec = tracking.track_train(est, panel, experiment=experiment(), model_name="logit", features=info["features"],
                               alias="champion", cutoff=cutoff)
    panel.to_parquet(project / "panel.parquet")
    code = (
        "import sys, mlflow, pandas as pd\n"
        "m = mlflow.pyfunc.load_model('models:/tension@champion')\n"
        "m.predict(pd.read_parquet(sys.argv[1])).to_parquet(sys.argv[2])\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking.tracking_uri()}
    res = subprocess.run([sys.executable, "-c", code, str(project / "panel.parquet"), str(project / "out.parquet")],
                         env=env, capture_output=True, text=True, timeout=120, cwd="/")
    assert res.returncode == 0, res.stderr[-2000:]
    fresh = pd.read_parquet(project / "out.parquet")
    expected = est.predict_proba(feature_matrix(panel)[info["features"]])[:, 1]
    np.testing.assert_array_equal(fresh["probability"].to_numpy(), expected)
    assert fresh["dyad"].tolist() == panel["dyad"].tolist()
    here = tracking.load_model(rec.model_uri).predict(panel)
    pd.testing.assert_frame_equal(fresh, here, check_dtype=False)
    assert fresh["probability"].nunique() > 10
    inner = tracking.load_estimator(rec.model_uri)
    assert inner.config["freq"] == "W" and inner.config["target"]["horizon"] == 4
    assert inner.config["data_cutoff"] == str(cutoff.date())


def test_backtest_run_has_metrics_per_model_and_horizon_artifacts_and_nested_origins(project: Path) -> None:
    from mlflow.tracking import MlflowClient

    panel = make_panel()
    result = backtest_result(panel)
    run_id = tracking.track_backtest(result, experiment=experiment(), panel=panel,
                                     store=SimpleNamespace(location="/tmp/store", digest="abc"))
    client = MlflowClient(tracking.tracking_uri())
    run = client.get_run(run_id)
    expected = result.metrics.set_index("model").loc["logit", "brier"]
    assert run.data.metrics["brier_logit_h4"] == pytest.approx(expected)
    assert "brier_base_rate_h4" in run.data.metrics
    arts = {a.path for a in client.list_artifacts(run_id, "backtest")} | {a.path for a in client.list_artifacts(run_id, "plots")}
    assert {"backtest/predictions.parquet", "backtest/metrics.csv", "backtest/warnings.txt",
            "plots/reliability.png", "plots/reliability.svg"} <= arts
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(children) == result.predictions["origin"].nunique() == 4
    assert all("brier_logit" in c.data.metrics and c.data.metrics["rows"] == 10 for c in children)


def test_artifact_failure_leaves_no_registered_version(project: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = tracking.ensure_store()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the artifact folder should be")
    client = MlflowClient(uri)
    client.create_experiment("tension", artifact_location=(blocker / "sub").as_uri())
    panel = make_panel()
    with pytest.raises(Exception):  # noqa: B017 - any failure while logging artifacts
        tracking.track_train(fit(panel), panel, experiment=experiment(), model_name="logit",
                             features=FEATURES, matrix="panel")
    assert client.search_model_versions("name='tension'") == []
    runs = client.search_runs([client.get_experiment_by_name("tension").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]


def test_aliases_promote_and_roll_back(project: Path) -> None:
    panel = make_panel()
    exp = experiment()
    for seed in (0, 1):
        tracking.track_train(fit(panel, seed), panel, experiment=exp, model_name="logit", features=FEATURES, matrix="panel")
    assert tracking.alias_version(exp, "champion") is None
    tracking.set_alias(exp, "champion", 2)
    assert tracking.alias_version(exp, "champion") == 2 and tracking.alias_version(exp, "challenger") == 2
    tracking.set_alias(exp, "champion", 1)  # roll back
    assert tracking.alias_version(exp, "champion") == 1
    versions = tracking.model_versions(exp)
    assert versions["version"].tolist() == [1, 2]
    with pytest.raises(UsageError, match="has no version 7"):
        tracking.set_alias(exp, "champion", 7)
    with pytest.raises(UsageError, match="Cannot load the model"):
        tracking.load_model("models:/tension@nosuch", exp)


def test_flatten_nested_config() -> None:
    flat = tracking.flatten({"a": {"b": (1, 2), "c": None}, "d": 1.5})
    assert flat == {"a.b": "1,2", "a.c": "", "d": "1.5"}


# ----------------------------------------------------------------------------- real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


def test_train_and_score_against_a_real_tracking_server(server: str, project: Path, real_panel, monkeypatch) -> None:
    from tension.backtest import fit_final
    from tension.models import feature_matrix, make_model
    from tension.scoring import score

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    panel = real_panel
    est, info = fit_final(make_model("logit"), panel, panel["period"].max(), "W", 4)
    exp = experiment()
    rec = tracking.track_train(est, panel, experiment=exp, model_name="logit", features=info["features"],
                               alias="champion")
    assert rec.version is not None and tracking.alias_version(exp, "champion") == rec.version
    champion = tracking.load_model(experiment=exp)
    rows = champion.predict(panel)
    np.testing.assert_array_equal(rows["probability"], est.predict_proba(feature_matrix(panel)[info["features"]])[:, 1])
    scores = score(champion, panel, horizons=(4,), model_version=str(rec.version))
    assert len(scores) == panel.loc[panel["period"] == panel["period"].max(), "dyad"].nunique()
    assert scores["probability"].between(0, 1).all() and (scores["model_version"] == str(rec.version)).all()
    assert local_models(project) == []  # nothing went to the local default


def test_server_going_down_gives_exit_5_message_and_no_half_registered_model(server, project: Path, real_panel,
                                                                              monkeypatch) -> None:
    """Runs after the test above (same module server): stop the server, then try to train against it."""
    from mlflow.tracking import MlflowClient

    from tension.backtest import fit_final
    from tension.models import make_model

    before = [int(v.version) for v in MlflowClient(server.db).search_model_versions("name='tension'")]
    server.stop()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(server))
    est, info = fit_final(make_model("logit"), real_panel, real_panel["period"].max(), "W", 4)
    with pytest.raises(TrackingUnavailableError, match="cannot be reached") as err:
        tracking.track_train(est, real_panel, experiment=experiment(), model_name="logit", features=info["features"])
    assert err.value.exit_code == 5
    after = [int(v.version) for v in MlflowClient(server.db).search_model_versions("name='tension'")]
    assert after == before
