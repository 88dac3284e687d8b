"""Fixtures shared by the whole suite. Stage-specific fixtures live beside their tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
# One OpenMP thread per process: HistGradientBoosting spins badly when pytest workers share 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def _tracking_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests that track without a ``project`` folder log to a session SQLite file, never to ./data."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        db = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{db}"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real ICEWS samples); skips when this checkout has no ../shared beside it."""
    if not (SHARED_DATA / "icews").is_dir():
        pytest.skip(f"real ICEWS samples not found at {SHARED_DATA} (only present next to the team checkout)")
    return SHARED_DATA


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project folder as the working directory, so ./data/... defaults land in tmp."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TENSION_STORE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "data").mkdir()
    return tmp_path


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite file with the current schema and nothing in it, made once (migrations take seconds)."""
    from mlflow_server import make_template_db

    return make_template_db(tmp_path_factory.mktemp("mlflow-template"))


@pytest.fixture(scope="session")
def inbox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The retrain tests' world as two inbox files: history and the latest week."""
    from mlflow_server import make_retrain_inbox

    return make_retrain_inbox(tmp_path_factory.mktemp("inbox-template"))
