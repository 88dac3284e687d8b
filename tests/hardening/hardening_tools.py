"""Helpers of the fault-injection tests: real subprocesses, consistency checks of store, ledger and registry."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlflow_server import RETRAIN_AS_OF, steps_of  # noqa: F401 - steps_of is used through this module



TENSION = str(Path(sys.executable).parent / "tension")
"""The installed console script (the same one a cron job runs)."""
FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures"
AS_OF = RETRAIN_AS_OF
"""The retrain world ends on Sunday 2021-07-04; its last complete week starts 2021-06-28."""


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without a tracking URI or store override (projects use ./data)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "TENSION_STORE", "TENSION_DEBUG")}
    env.update({"OMP_NUM_THREADS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", **extra})
    return env


def run(args: list[str], cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``tension ARGS`` as a real process; never a Python traceback on stderr, whatever the exit code."""
    proc = subprocess.run([TENSION, *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def popen(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([TENSION, *args], cwd=cwd, env=clean_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)




def retrain_project(project: Path, inbox_template: Path, template_db: Path) -> Path:
    """A project folder with the retrain inbox, an empty MLflow database and ``retrain.toml``; returns the config."""
    (project / "data").mkdir(exist_ok=True)
    shutil.copytree(inbox_template, project / "inbox")
    shutil.copy(template_db, project / "data" / "mlflow.db")
    cfg = project / "retrain.toml"
    cfg.write_text("\n".join([
        'name = "hardening"', "[retrain]", 'inbox = "inbox"', f'as_of = "{AS_OF}"', "recent_origins = 3",
        "[backtest]", "min_train_periods = 26", "[alerts]", "threshold = 0.05",
    ]) + "\n")
    return cfg


# --------------------------------------------------------------------------- consistency checks


def registry_state(project: Path) -> dict:
    """Versions and aliases of the project's registry, checking every version's model artifact is on disk.

    Returns ``{"versions": [...], "aliases": {alias: version}, "missing_artifacts": [...]}``.
    """
    from mlflow.tracking import MlflowClient

    db = project / "data" / "mlflow.db"
    if not db.exists():
        return {"versions": [], "aliases": {}, "missing_artifacts": []}
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions, aliases, missing = [], {}, []
    for rm in client.search_registered_models():
        for mv in client.search_model_versions(f"name='{rm.name}'"):
            versions.append(int(mv.version))
            if not _artifact_present(client, mv):
                missing.append(int(mv.version))
        aliases.update({a: int(v) for a, v in (rm.aliases or {}).items()})
    return {"versions": sorted(versions), "aliases": aliases, "missing_artifacts": missing}


def _artifact_present(client, mv) -> bool:  # noqa: ANN001
    from urllib.parse import urlparse

    location = None
    model_id = getattr(mv, "model_id", None)
    if not model_id and str(mv.source or "").startswith("models:/m-"):
        model_id = str(mv.source).removeprefix("models:/")  # MLflow 3: a logged model's id
    if model_id:
        location = client.get_logged_model(model_id).artifact_location
    elif mv.source and not str(mv.source).startswith("models:/"):
        location = mv.source
    if not location:
        return False
    path = Path(urlparse(location).path) if "://" in location else Path(location)
    return (path / "MLmodel").is_file() and (path / "python_model.pkl").is_file()


def assert_registry_consistent(project: Path) -> dict:
    """Every alias names an existing version and no version lacks its model artifact."""
    state = registry_state(project)
    assert not state["missing_artifacts"], f"versions without their model artifact: {state}"
    assert set(state["aliases"].values()) <= set(state["versions"]), f"alias pointing nowhere: {state}"
    return state


def assert_store_consistent(location: Path) -> dict:
    """The committed store reads, its files exist, ids are unique and read == stored + duplicates + quarantined."""
    from tension.store import Store

    store = Store(location)
    summary = store.summary()
    assert summary["identity_holds"], summary
    for path in store.files():
        assert Path(path).is_file(), path
    ids = store.read(columns=["event_id"])["event_id"]
    assert ids.is_unique and len(ids) == summary["events"]
    store.quarantine()  # every quarantine file named by the manifest reads
    return summary


def assert_ledger_consistent(path: Path) -> dict:
    """Every ledger file named by the manifest reads; forecast ids are unique; resolutions point at forecasts."""
    from tension.ledger import Ledger

    book = Ledger(path)
    for group in book.files.values():
        for name in group:
            assert (path / name).is_file(), name
    forecasts, resolutions = book.forecasts(), book.resolutions()
    assert forecasts["forecast_id"].is_unique
    assert set(resolutions["forecast_id"]) <= set(forecasts["forecast_id"])
    assert resolutions["forecast_id"].is_unique
    return book.summary()
