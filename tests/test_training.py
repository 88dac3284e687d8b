"""The model stage's runs: experiment checks, the order a backtest fits models in, the store it reads."""
from __future__ import annotations

from pathlib import Path

import pytest

from tension.config import load_experiment
from tension.errors import UsageError
from tension.training import backtest_names, check_experiment, existing_store


def test_an_unknown_model_is_refused_with_the_closest_name():
    with pytest.raises(UsageError, match=r"Unknown model 'lgoit'\. Did you mean 'logit'\?.*Fix --models"):
        check_experiment(load_experiment(None, models__names=("lgoit",)))


def test_an_unknown_target_is_refused_with_the_closest_name():
    with pytest.raises(UsageError, match=r"Unknown target\. Did you mean 'onset'\?.*Got 'onsett'"):
        check_experiment(load_experiment(None, target__name="onsett"))


def test_a_known_experiment_passes():
    check_experiment(load_experiment(None, models__names=("logit", "history")))


def test_baselines_come_first_and_each_model_once():
    assert backtest_names(("logit", "persistence")) == ("base_rate", "logit", "persistence")
    assert backtest_names(("history", "logit")) == ("base_rate", "persistence", "history", "logit")


def test_a_missing_store_says_how_to_make_one(tmp_path: Path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(UsageError, match=r"The event store does not exist.*nowhere.*tension ingest FILE --store DIR"):
        existing_store(missing)
    assert existing_store(str(tmp_path)) == str(tmp_path)
    assert existing_store("s3://bucket/store") == "s3://bucket/store"  # a URL is checked when it is opened
