"""Shared fixtures of the fault-injection tests (the MLflow template and retrain inbox are in tests/conftest.py)."""
from __future__ import annotations

from pathlib import Path

import pytest


# --------------------------------------------------------------------------- worlds


@pytest.fixture(scope="session")
def world_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic world (6 countries, 1.5 years) as a generic CSV that `tension ingest` reads."""
    from tension.simulate import simulate, write_world

    root = tmp_path_factory.mktemp("world")
    return write_world(simulate(seed=4, countries=6, years=1.5), root / "world.csv")["events"]


