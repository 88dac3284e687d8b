"""Use-cases shared by the CLI and the retrain job: the same champion, store and date publish the same scores."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mlflow_server import RETRAIN_AS_OF as AS_OF
from tension.cli import main


@pytest.fixture()
def project(project: Path, template_db: Path) -> Path:
    """The shared ``project`` fixture with a ready MLflow schema in ./data/mlflow.db."""
    shutil.copyfile(template_db, project / "data" / "mlflow.db")
    return project


def test_retrain_and_score_issue_publish_identical_probabilities_and_bands(project: Path, inbox_template: Path,
                                                                          capsys) -> None:
    shutil.copytree(inbox_template, project / "inbox")
    cfg = project / "retrain.toml"
    cfg.write_text(f'name = "usecases-test"\n[retrain]\ninbox = "inbox"\nas_of = "{AS_OF}"\nrecent_origins = 4\n'
                   "[backtest]\nmin_train_periods = 26\n[alerts]\nthreshold = 0.05\n")
    assert main(["retrain", "--config", str(cfg), "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["champion"] == 1 and job["published_model"] == "tension/1", job["summary"]
    latest = str(pd.Timestamp(AS_OF) - pd.Timedelta(days=7))[:10]  # the latest complete week
    assert main(["score", "--config", str(cfg), "--model", "models:/tension@champion", "--as-of", latest, "--issue",
                 "--ledger", str(project / "cli-ledger"), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["model_version"] == "tension/1" and cli["hindcast"] is False and cli["issued"] > 0

    from tension.ledger import Ledger

    cols = ["dyad", "horizon", "as_of", "model_version", "probability", "lower", "upper", "coverage"]
    by_job = Ledger(project / "data" / "ledger").forecasts()
    by_cli = Ledger(project / "cli-ledger").forecasts()
    by_job, by_cli = (f[cols].sort_values(["dyad", "horizon"]).reset_index(drop=True) for f in (by_job, by_cli))
    assert len(by_job) == cli["dyads"] and by_job["lower"].notna().any()  # the bands are there, from the backtest
    pd.testing.assert_frame_equal(by_job, by_cli)


def test_report_inputs_read_health_from_store_counts_not_events(tmp_path: Path) -> None:
    from tension.config import Experiment
    from tension.simulate import simulate
    from tension.store import Store
    from tension.usecases import report_inputs

    events = simulate(seed=1, countries=6, years=1).events
    stray = events.tail(12).copy()  # actors nobody could resolve: no country, no organisation
    stray["event_id"] = [f"stray-{i}" for i in range(12)]
    stray[["source_country", "source_org"]] = None
    stray["source_actor"] = ["Unknown militia"] * 8 + ["Xyzzy Plugh"] * 4
    store = Store(str(tmp_path / "store"))
    store.append(pd.concat([events, stray], ignore_index=True).drop(columns=["batch_id", "ingested_at"]))
    as_of = pd.Timestamp("2019-12-30")
    scores = pd.DataFrame({"dyad": ["A>B"], "as_of": [as_of], "model_version": ["unversioned"]})
    scores.attrs["freq"] = "W"

    inputs = report_inputs(Experiment(), scores, store)
    assert inputs.health["events"] == events["event_id"].nunique() + 12 and inputs.health["last_event_date"] == "2020-01-05"
    assert inputs.health["unresolved_actors"] == {"Unknown militia": 8, "Xyzzy Plugh": 4}
    assert "SYNTHETIC" in inputs.title  # every event of the last year is synthetic
    assert inputs.panel["period"].max() == as_of and inputs.model_card["model"] == "unversioned"
    kwargs = inputs.as_kwargs()
    assert {"panel", "health", "model_card", "title", "regions", "threshold", "thresholds"} <= set(kwargs)
    assert report_inputs(Experiment(), scores, tmp_path / "no-store").health is None
