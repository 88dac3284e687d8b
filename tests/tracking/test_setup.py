"""MLflow tracking store setup: where runs go, creating and upgrading the SQLite store, interrupted migrations."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tension.config import TrackingConfig
from tension.errors import TrackingUnavailableError
from tension.tracking import setup as tracking


@pytest.fixture()
def project(project: Path, template_db: Path) -> Path:
    """The shared ``project`` fixture with a ready MLflow schema in ./data/mlflow.db."""
    shutil.copyfile(template_db, project / "data" / "mlflow.db")
    return project


# ----------------------------------------------------------------------------- where


def test_default_uri_is_absolute_sqlite_in_project_data(project: Path) -> None:
    uri = tracking.tracking_uri()
    assert uri == f"sqlite:///{(project / 'data' / 'mlflow.db').resolve()}"
    assert uri.startswith("sqlite:////")


def test_environment_overrides_default_and_config_overrides_environment(project, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert tracking.tracking_uri() == "http://127.0.0.1:5999"
    assert tracking.tracking_uri(TrackingConfig(uri="sqlite:///rel/x.db")) == f"sqlite:///{(project / 'rel/x.db').resolve()}"


def test_ensure_store_creates_schema_once_and_is_idempotent(project: Path, template_db: Path) -> None:
    assert template_db.is_file() and template_db.stat().st_size > 0  # created by ensure_store (fixture)
    uri = tracking.ensure_store()
    assert uri == tracking.tracking_uri()
    tracking._READY.discard(uri)
    assert tracking.ensure_store(uri) == uri  # a second open verifies the schema, does not fail
    with pytest.raises(TrackingUnavailableError, match="cannot be created or opened"):
        (project / "blocker").write_text("a file, not a folder")
        tracking.ensure_store(f"sqlite:///{project / 'blocker' / 'mlflow.db'}")


def _half_made(db: Path) -> None:
    """A database as a killed first creation (or migration) leaves it: alembic's batch table left behind, no revision."""
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("CREATE TABLE _alembic_tmp_runs (run_uuid VARCHAR(32) NOT NULL, name VARCHAR(250))")
    con.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)")
    con.execute("DELETE FROM alembic_version")
    con.commit()
    con.close()


def test_a_first_creation_killed_half_way_is_moved_aside_and_made_anew(tmp_path: Path) -> None:
    """A `tension train` killed while MLflow created its tables left a database no later run could open."""
    from mlflow.tracking import MlflowClient

    db = tmp_path / "mlflow.db"
    _half_made(db)
    uri = f"sqlite:///{db}"
    status = tracking.store_status(uri)  # what `tension doctor` shows first
    assert not status["schema_current"] and "interrupted" in status["detail"] and "moved aside" in status["fix"]
    with pytest.warns(UserWarning, match="half-created"):
        assert tracking.ensure_store(uri) == uri
    aside = [p.name for p in tmp_path.iterdir() if p.name.startswith("mlflow.db.interrupted-")]
    assert len(aside) == 1 and not (tmp_path / "mlflow.db.init").exists()
    assert not tracking._interrupted_migration(db)
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("x"))
    assert client.get_run(run.info.run_id).info.status == "RUNNING"


def test_an_interrupted_migration_in_a_database_with_runs_is_never_rebuilt(tmp_path: Path, template_db: Path) -> None:
    from mlflow.tracking import MlflowClient

    db = tmp_path / "mlflow.db"
    shutil.copyfile(template_db, db)
    client = MlflowClient(f"sqlite:///{db}")
    client.create_run(client.create_experiment("work"))
    _half_made(db)
    before = tracking._sqlite_tables(db, ("runs",))["runs"]
    with pytest.raises(TrackingUnavailableError, match=r"migration was interrupted \(leftover tables: _alembic_tmp_runs\)"):
        tracking.ensure_store(f"sqlite:///{db}")
    assert tracking._sqlite_tables(db, ("runs",))["runs"] == before == 1  # left as it was, runs and all
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("mlflow.db.")] == ["mlflow.db.lock"]
