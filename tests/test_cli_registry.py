"""`tension model list | promote` (src/tension/cli/commands/registry.py) and the train -> promote -> score lifecycle.

Real store, real MLflow SQLite registry; one small synthetic world per module.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tension.cli import main

EXP = """
name = "lifecycle"
[panel]
freq = "W"
dyads = "directed"
[target]
horizon = 2
[models]
names = ["logit"]
candidate = "logit"
[backtest]
min_train_periods = 20
refit_every = 4
[retrain]
recent_origins = 12
"""


@pytest.fixture(scope="module")
def world_events(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    from tension.simulate import simulate

    return simulate(seed=5, countries=10, years=3).events  # logit beats history here (the gate asks it)


@pytest.fixture()
def fresh(project: Path, template_db: Path, world_events: pd.DataFrame) -> Path:
    """A fresh project: events in ./data/store, an empty MLflow registry, an experiment file."""
    from tension.store import Store

    shutil.copy(template_db, project / "data" / "mlflow.db")
    Store(str(project / "data" / "store")).append(world_events)
    (project / "exp.toml").write_text(EXP)
    return project


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict | None, str]:
    code = main(argv)
    cap = capsys.readouterr()
    payload = json.loads(cap.out.strip().splitlines()[-1]) if code == 0 and "--json" in argv else None
    return code, payload, " ".join(cap.err.split())


def test_train_then_promote_challenger_then_score_works_on_a_fresh_store(fresh, capsys):
    code, trained, _ = _run(["train", "--experiment", "exp.toml", "--json"], capsys)
    assert code == 0 and trained["version"] == 1 and trained["alias"] == "challenger"

    # before promotion, score says what exists and how to promote it
    code, _, err = _run(["score", "--config", "exp.toml"], capsys)
    assert code == 2
    assert "challenger v1" in err and "tension model promote challenger" in err

    code, promoted, _ = _run(["model", "promote", "challenger", "--config", "exp.toml", "--json"], capsys)
    assert code == 0 and promoted["promoted"] and promoted["version"] == 1
    assert promoted["gate"]["passed"] and promoted["backtest_stored"]

    code, scored, _ = _run(["score", "--config", "exp.toml", "--json"], capsys)
    assert code == 0 and scored["model_version"] == "tension/1"
    assert "the backtest stored with tension/1" in scored["band_source"]
    scores = pd.read_parquet(scored["out"])
    banded = scores.dropna(subset=["lower"])
    assert len(banded) > 0 and (banded["band_note"] == "").all() and (banded["interval_n"] > 0).all()
    assert scores.loc[scores["lower"].isna(), "band_note"].str.startswith("no band:").all()

    code, listed, _ = _run(["model", "list", "--config", "exp.toml", "--json"], capsys)
    assert code == 0 and listed["versions"][0]["aliases"] == "challenger,champion"
    assert listed["versions"][0]["backtest_rows"] > 0


def test_training_again_on_the_same_data_config_and_code_registers_nothing(fresh, capsys):
    assert _run(["train", "--experiment", "exp.toml", "--json"], capsys)[0] == 0
    code, again, _ = _run(["train", "--experiment", "exp.toml", "--json"], capsys)
    assert code == 0 and again["skipped"] is True and again["version"] == 1
    code, listed, _ = _run(["model", "list", "--config", "exp.toml", "--json"], capsys)
    assert [v["version"] for v in listed["versions"]] == [1]
    code, other, _ = _run(["train", "--experiment", "exp.toml", "--cutoff", "2020-03-02", "--json"], capsys)
    assert code == 0 and other.get("skipped") is None and other["version"] == 2  # another cutoff is another model


def test_a_misspelt_alias_lists_the_aliases_that_exist(fresh, capsys):
    assert _run(["train", "--experiment", "exp.toml", "--json"], capsys)[0] == 0
    code, _, err = _run(["model", "promote", "challnger", "--config", "exp.toml"], capsys)
    assert code == 2 and "no alias 'challnger'" in err and "Did you mean 'challenger'" in err and "challenger" in err
    code, _, err = _run(["score", "--config", "exp.toml", "--model", "models:/tension@champoin"], capsys)
    assert code == 2 and "challenger v1" in err and "Did you mean 'champion'" in err


def test_forced_promotion_skips_the_gate_and_a_refused_one_changes_nothing(fresh, capsys):
    from tension import tracking
    from tension.config import load_experiment

    assert _run(["train", "--experiment", "exp.toml", "--json"], capsys)[0] == 0
    code, forced, _ = _run(["model", "promote", "1", "--force", "--config", "exp.toml", "--json"], capsys)
    assert code == 0 and forced["forced"] and forced["gate"] is None
    assert _run(["train", "--experiment", "exp.toml", "--cutoff", "2020-03-02", "--json"], capsys)[0] == 0
    # a margin no model can beat: the gate keeps champion v1, exactly as `tension retrain` would
    Path("strict.toml").write_text(EXP + "promote_margin = 1.0\n")
    code, _, err = _run(["model", "promote", "challenger", "--config", "strict.toml"], capsys)
    assert code == 2 and "promotion gate refused v2" in err and "Nothing was changed" in err and "--force" in err
    assert tracking.alias_version(load_experiment(Path("strict.toml")), "champion") == 1
