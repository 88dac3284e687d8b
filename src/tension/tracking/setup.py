"""Where runs go and making that store usable: the URI, process settings, SQLite creation and migration.

:func:`configure` applies the process settings MLflow reads (telemetry off, short HTTP
retries, no URL printed on stdout) and quiets MLflow's loggers; every entry point of
:mod:`tension.tracking` calls it before mlflow is first imported, and importing the package
changes nothing. :func:`tracking_uri` says where runs go; :func:`ensure_store` creates or
upgrades a SQLite store under a file lock, or checks a server answers; :func:`store_status`
reports on it read-only for ``tension doctor``.
"""
from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

from filelock import FileLock

from ..config import TrackingConfig, project_data_dir
from ..errors import TrackingUnavailableError, problem

MLFLOW_ENV = (
    ("MLFLOW_DISABLE_TELEMETRY", "true"),  # with DO_NOT_TRACK, the two switches MLflow 3.17 reads
    ("DO_NOT_TRACK", "true"),
    ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),  # a dead server fails in seconds, not minutes
    ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
    ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"),
    ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true"),  # stdout belongs to --json
)
"""Environment settings :func:`configure` makes unless the user set them (``MLFLOW_ENABLE_TELEMETRY`` is not read)."""
QUIET_LOGGERS = ("mlflow.store.db.utils", "alembic", "alembic.runtime.migration", "mlflow.pyfunc", "mlflow.models.model")

_READY: set[str] = set()
"""Tracking URIs already created/upgraded/checked by this process."""


def configure() -> None:
    """Set :data:`MLFLOW_ENV` (``setdefault``: the user's own settings win) and quiet MLflow's loggers.

    Idempotent and cheap. MLflow reads the telemetry switches when it is first imported, so
    this runs before any ``import mlflow`` (every tracking entry point calls it, and so does
    the CLI's ``main``).
    """
    for key, value in MLFLOW_ENV:
        os.environ.setdefault(key, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def tracking_uri(config: TrackingConfig | None = None) -> str:
    """The tracking URI: ``config.uri``, else ``$MLFLOW_TRACKING_URI``, else the project SQLite file.

    Relative SQLite paths are made absolute (``sqlite:////abs/path``), so runs and
    artifacts land in the same place whatever the working directory of later runs.
    """
    uri = (config.uri if config is not None else "") or os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        return f"sqlite:///{(project_data_dir() / 'mlflow.db').resolve()}"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        rel = uri[len("sqlite:///") :]
        if rel and rel != ":memory:":
            return f"sqlite:///{Path(rel).resolve()}"
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (``None`` for a server or an in-memory database)."""
    if uri.startswith("sqlite:///") and ":memory:" not in uri:
        return Path(uri[len("sqlite:///") :])
    return None


def artifact_root(uri: str) -> str | None:
    """Artifacts of a local SQLite store live beside the database (``mlartifacts/``)."""
    db = sqlite_path(uri)
    return (db.parent / "mlartifacts").as_uri() if db is not None else None


def check_available(uri: str, timeout: float = 5.0) -> None:
    """Raise :class:`TrackingUnavailableError` unless an HTTP tracking server answers ``/health``."""
    if not uri.startswith(("http://", "https://")):
        return
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - user-configured URL
            ok = response.status == 200
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingUnavailableError(
            problem(
                f"The MLflow tracking server at {uri} cannot be reached ({reason}).",
                "a running `mlflow server` answering /health",
                fix="Start the server (see docs/operations.md), fix MLFLOW_TRACKING_URI or [tracking] uri, "
                "or pass --no-track. Nothing was logged or registered.",
            )
        ) from None
    if not ok:
        raise TrackingUnavailableError(
            problem(
                f"The MLflow tracking server at {uri} is not healthy.",
                "HTTP 200 from /health",
                got=response.status,
                fix="Check the server's log. Nothing was logged or registered.",
            )
        )



def ensure_store(uri: str | None = None) -> str:
    """Make the tracking store usable and return its URI; call once before any parallel work.

    SQLite: creates the folder and the database, or upgrades an old schema, under a
    file lock (``<db>.lock``) so concurrent processes never race the migration.
    HTTP(S): checks the server answers (on every call). The SQLite setup is cached per process.

    Raises
    ------
    TrackingUnavailableError
        The server is down or the database cannot be created or opened.
    """
    configure()
    uri = uri or tracking_uri()
    check_available(uri)  # every time for a server (one cheap GET): it may have gone down since
    if uri in _READY:
        return uri
    db = sqlite_path(uri)
    if db is not None:
        _prepare_sqlite(db, uri)
    _READY.add(uri)
    return uri


def _prepare_sqlite(db: Path, uri: str) -> None:
    """Create or upgrade the SQLite store under ``<db>.lock``; failures become :class:`TrackingUnavailableError`."""
    from mlflow.exceptions import MlflowException

    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(db) + ".lock", timeout=300):
            _migrate(db, uri)
    except (OSError, MlflowException) as exc:
        raise TrackingUnavailableError(
            problem(
                f"The MLflow database {db} cannot be created or opened ({exc}).",
                "a writable folder for the SQLite file",
                fix="Check the path and permissions, set MLFLOW_TRACKING_URI, or pass --no-track.",
            )
        ) from None
    except Exception as exc:  # sqlalchemy errors (no hard dependency on its exception types)
        if type(exc).__module__.startswith("sqlalchemy"):
            left = _interrupted_migration(db)
            fix = ("An MLflow schema migration was interrupted (leftover tables: " + ", ".join(left) + ") in a database "
                   "that holds runs or models, so it is not rebuilt: restore it from a backup, or drop those tables and "
                   "run `mlflow db upgrade`. Or pass --no-track.") if left else "Check the file or pass --no-track."
            raise TrackingUnavailableError(problem(f"The MLflow database {db} cannot be opened ({exc}).", fix=fix)) from None
        raise


def _migrate(db: Path, uri: str) -> None:
    """Create the database if absent (or half-created), else create missing tables or upgrade the schema."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.db import utils as db_utils  # private but stable helpers used by `mlflow db upgrade`

    if _needs_new_database(db):
        _create_database(db)
    engine = db_utils.create_sqlalchemy_engine(uri)
    try:
        if not db_utils._all_tables_exist(engine):
            db_utils._initialize_tables(engine)
        else:
            try:
                db_utils._verify_schema(engine)
            except MlflowException:
                db_utils._upgrade_db(engine)
    finally:
        engine.dispose()


def _sqlite_tables(db: Path, count: tuple[str, ...] = ()) -> dict[str, int]:
    """Tables of a SQLite file (read only, stdlib sqlite3), with the row count of those in ``count`` (others: -1)."""
    import sqlite3

    con = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) if n in count else -1 for n in names}
    finally:
        con.close()


def _interrupted_migration(db: Path) -> list[str]:
    """Leftover ``_alembic_tmp_*`` tables: an MLflow migration was killed half way (SQLite commits each DDL)."""
    try:
        return sorted(n for n in _sqlite_tables(db) if n.startswith("_alembic_tmp_"))
    except Exception:  # noqa: BLE001 - not a readable SQLite file: the caller's own error says so
        return []


_WORK_TABLES = ("runs", "registered_models", "model_versions")


def _needs_new_database(db: Path) -> bool:
    """True when ``db`` is absent, empty, or a first creation that was killed half way (no runs, no models).

    A half-created database is moved aside (``<db>.interrupted-<time>``), never deleted.
    """
    if not db.exists() or db.stat().st_size == 0:
        return True
    if not _interrupted_migration(db):
        return False
    if any(n > 0 for n in _sqlite_tables(db, _WORK_TABLES).values()):
        return False  # holds work: never rebuilt (ensure_store's error says what to do)
    aside = db.with_name(f"{db.name}.interrupted-{time.strftime('%Y%m%dT%H%M%S')}")
    os.replace(db, aside)
    warnings.warn(f"The MLflow database {db} was left half-created by a killed process (no runs, no models); "
                  f"moved it to {aside} and created it anew.", stacklevel=5)
    return True


def _create_database(db: Path) -> None:
    """Create MLflow's tables in ``<db>.init`` and rename it into place: a kill leaves no half-made database."""
    from mlflow.store.db import utils as db_utils

    tmp = db.with_name(db.name + ".init")
    tmp.unlink(missing_ok=True)
    engine = db_utils.create_sqlalchemy_engine(f"sqlite:///{tmp}")
    try:
        db_utils._initialize_tables(engine)
    finally:
        engine.dispose()
    os.replace(tmp, db)


def store_status(uri: str | None = None) -> dict[str, Any]:
    """Read-only health of the tracking store, for ``tension doctor``: never creates or migrates.

    Returns ``reachable``, ``schema_current``, ``detail`` and, when something is off, ``fix``.
    Raises :class:`TrackingUnavailableError` when an HTTP server does not answer.
    """
    configure()
    uri = uri or tracking_uri()
    check_available(uri)
    db = sqlite_path(uri)
    if db is None:
        return {"reachable": True, "schema_current": True, "detail": "tracking server answers /health"}
    if not db.is_file():
        return {"reachable": False, "schema_current": False, "detail": f"no MLflow database at {db} yet",
                "fix": "It is created by the first tracked run (`tension demo`, `tension train`, `tension retrain`)."}
    from mlflow.exceptions import MlflowException
    from mlflow.store.db import utils as db_utils

    left = _interrupted_migration(db)
    if left:
        return {"reachable": True, "schema_current": False,
                "detail": f"an MLflow migration of {db} was interrupted (leftover tables: {', '.join(left)})",
                "fix": "Run any tracked command once: a database with no runs or models is moved aside and made anew; "
                       "one with runs is kept as is (restore it from a backup, or drop those tables and run `mlflow db upgrade`)."}
    engine = db_utils.create_sqlalchemy_engine(uri)
    try:
        if not db_utils._all_tables_exist(engine):
            return {"reachable": True, "schema_current": False, "detail": f"{db} is not an MLflow database",
                    "fix": "Point MLFLOW_TRACKING_URI at the team's database, or move this file away."}
        try:
            db_utils._verify_schema(engine)
        except MlflowException as exc:
            return {"reachable": True, "schema_current": False, "detail": f"schema out of date ({str(exc)[:160]})",
                    "fix": "Back the file up, then run any tracked command once (it upgrades the schema under a lock) "
                           "or `mlflow db upgrade " + uri + "`; all jobs must use the pinned MLflow version."}
    finally:
        engine.dispose()
    return {"reachable": True, "schema_current": True, "detail": f"SQLite database {db}, schema current"}
