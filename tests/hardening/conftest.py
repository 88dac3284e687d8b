"""Shared fixtures of the fault-injection tests: small synthetic worlds, an empty MLflow database."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hardening_tools import AS_OF


# --------------------------------------------------------------------------- worlds


@pytest.fixture(scope="session")
def world_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic world (6 countries, 1.5 years) as a generic CSV that `tension ingest` reads."""
    from tension.simulate import simulate, write_world

    root = tmp_path_factory.mktemp("world")
    return write_world(simulate(seed=4, countries=6, years=1.5), root / "world.csv")["events"]


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite file with the current schema and nothing in it (creating one takes seconds)."""
    from tension import tracking

    root = tmp_path_factory.mktemp("mlflow-template")
    db = root / "mlflow.db"
    tracking.ensure_store(f"sqlite:///{db}")
    return db


@pytest.fixture(scope="session")
def inbox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The retrain world (6 countries, 2.5 years) as two inbox files: history and the latest week."""
    from tension.simulate import simulate, write_world

    root = tmp_path_factory.mktemp("inbox-template")
    paths = write_world(simulate(seed=1, countries=6, years=2.5), root / "world" / "world.csv")
    ev = pd.read_csv(paths["events"], dtype=str, keep_default_na=False)
    d = pd.to_datetime(ev["date"])
    last_monday = pd.Timestamp(AS_OF) - pd.Timedelta(days=7)
    inbox = root / "inbox"
    inbox.mkdir()
    ev[d < last_monday].to_csv(inbox / "events-history.csv", index=False)
    ev[d >= last_monday].to_csv(inbox / "events-2021-06-28.csv", index=False)
    return inbox


