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
