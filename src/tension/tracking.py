"""MLflow tracking and model registry: the only module that imports mlflow.

Every ``train`` and ``backtest`` becomes one MLflow run carrying the flattened
experiment configuration as params, metrics per model and horizon, the event
data as a dataset input (digest = the store manifest digest), the git commit and
artifacts (predictions table, reliability diagram, coefficients or importances,
the configuration file). Backtest origins are nested runs.

The fitted model is logged as ONE pyfunc (:class:`TensionModel`) that carries the
feature configuration and the estimator, so::

    mlflow.pyfunc.load_model("models:/tension@champion").predict(panel)

returns ``dyad``, ``period``, ``probability`` for every panel row with no other
code than the installed ``tension`` package.

Where the runs go (:func:`tracking_uri`): ``TrackingConfig.uri`` if set, else
``$MLFLOW_TRACKING_URI``, else ``sqlite:////<abs>/data/mlflow.db`` in the project's
data directory. :func:`ensure_store` creates and upgrades that SQLite file once,
under a file lock, before any parallel work; for a remote ``mlflow server`` it
checks the server answers and raises :class:`~tension.errors.TrackingUnavailableError`
(exit 5) otherwise. A model version is registered only after its run's artifacts
are logged, so a failure never leaves a half-registered model.

Importing this module sets, unless already set: ``MLFLOW_DISABLE_TELEMETRY=true`` and
``DO_NOT_TRACK=true`` (the two switches MLflow 3.17 reads; ``MLFLOW_ENABLE_TELEMETRY`` is
not read), ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=2`` / ``BACKOFF_FACTOR=1`` / ``TIMEOUT=30``
(a dead server fails in seconds, not minutes) and ``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT``
(stdout belongs to ``--json``). Import it lazily: mlflow takes a second or two to import.
"""
from __future__ import annotations

import os
import re

# Telemetry off and short HTTP retries, before mlflow is first imported (setdefault:
# the user's own settings win).
for _key, _value in (
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "true"),
    ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
    ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
    ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"),
    ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true"),  # stdout belongs to --json
):
    os.environ.setdefault(_key, _value)

import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Iterator, Mapping  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from filelock import FileLock  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from .config import Experiment, TrackingConfig, project_data_dir  # noqa: E402
from .errors import TrackingUnavailableError, UsageError, did_you_mean, problem  # noqa: E402

__all__ = [
    "tracking_uri",
    "ensure_store",
    "check_available",
    "TensionModel",
    "TrainRecord",
    "track_train",
    "track_backtest",
    "track_health",
    "log_and_register",
    "set_alias",
    "version_tags",
    "model_versions",
    "job_run",
    "close_stale_runs",
    "log_job_step",
    "alias_version",
    "load_model",
    "load_estimator",
    "model_uri",
    "flatten",
    "git_commit",
    "CHAMPION",
    "CHALLENGER",
]

CHAMPION = "champion"
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"
"""Experiment tag telling the MLflow UI (3.x) to open the experiment on its runs, not the (empty) Traces page."""
BACKTEST_PREDICTIONS = "backtest/predictions.parquet"
"""Artifact path, on a model version's run, of that model's own backtest predictions (behind the score bands)."""
CACHE_KEY_TAG = "tension.cache_key"
CHALLENGER = "challenger"
_READY: set[str] = set()
"""Tracking URIs already created/upgraded/checked by this process."""

for _name in ("mlflow.store.db.utils", "alembic", "alembic.runtime.migration", "mlflow.pyfunc", "mlflow.models.model"):
    logging.getLogger(_name).setLevel(logging.ERROR)


# --------------------------------------------------------------------------- where


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


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///") and ":memory:" not in uri:
        return Path(uri[len("sqlite:///") :])
    return None


def _artifact_root(uri: str) -> str | None:
    """Artifacts of a local SQLite store live beside the database (``mlartifacts/``)."""
    db = _sqlite_path(uri)
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
    uri = uri or tracking_uri()
    check_available(uri)  # every time for a server (one cheap GET): it may have gone down since
    if uri in _READY:
        return uri
    db = _sqlite_path(uri)
    if db is not None:
        from mlflow.store.db import utils as db_utils  # private but stable helpers used by `mlflow db upgrade`

        try:
            db.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(db) + ".lock", timeout=300):
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
    _READY.add(uri)
    return uri


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
                  f"moved it to {aside} and created it anew.", stacklevel=3)
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
    uri = uri or tracking_uri()
    check_available(uri)
    db = _sqlite_path(uri)
    if db is None:
        return {"reachable": True, "schema_current": True, "detail": "tracking server answers /health"}
    if not db.is_file():
        return {"reachable": False, "schema_current": False, "detail": f"no MLflow database at {db} yet",
                "fix": "It is created by the first tracked run (`tension demo`, `tension train`, `tension retrain`)."}
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


def _is_connection_problem(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}"
    needles = ("ConnectionError", "Connection refused", "Max retries", "API request to", "OperationalError",
               "Failed to establish", "timed out", "RemoteDisconnected")
    return any(n in text for n in needles)


@contextlib.contextmanager
def _session(uri: str, experiment: str) -> Iterator[tuple[MlflowClient, str]]:
    """Point mlflow at ``uri`` (tracking and registry), yield (client, experiment_id); restore after.

    Connection failures inside become :class:`TrackingUnavailableError`.
    """
    ensure_store(uri)
    with _pointed(uri):
        yield from _session_body(uri, experiment)


@contextlib.contextmanager
def _pointed(uri: str) -> Iterator[None]:
    """Set mlflow's global tracking and registry URI to ``uri``; restore them (and the env vars) after.

    ``mlflow.set_tracking_uri`` also writes ``$MLFLOW_TRACKING_URI``; without the restore one
    project's URI would leak into the next call's :func:`tracking_uri`.
    """
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _session_body(uri: str, experiment: str) -> Iterator[tuple[MlflowClient, str]]:
    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            try:
                exp_id = client.create_experiment(experiment, artifact_location=_artifact_root(uri))
            except MlflowException:  # created meanwhile by a parallel process
                found = client.get_experiment_by_name(experiment)
                if found is None:
                    raise
                exp_id = found.experiment_id
        else:
            exp_id = found.experiment_id
        if found is None or (found.tags or {}).get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            client.set_experiment_tag(exp_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        yield client, exp_id
    except TrackingUnavailableError:
        raise
    except Exception as exc:
        if _is_connection_problem(exc):
            raise TrackingUnavailableError(
                problem(
                    f"Lost the MLflow tracking store at {uri} ({type(exc).__name__}: {str(exc)[:300]}).",
                    fix="Check the server or database and run again; no model version was registered "
                    "unless its run had finished logging.",
                )
            ) from None
        raise
    finally:
        if mlflow.active_run() is not None:
            mlflow.end_run("FAILED")


# --------------------------------------------------------------------------- helpers


_PARAM_KEY_BAD = re.compile(r"[^0-9A-Za-z_\-. :/]")


def flatten(mapping: Any, prefix: str = "") -> dict[str, str]:
    """Flatten a (dataclass or dict) configuration into ``{"panel.freq": "W", ...}`` strings."""
    if dataclasses.is_dataclass(mapping) and not isinstance(mapping, type):
        mapping = dataclasses.asdict(mapping)
    out: dict[str, str] = {}
    for key, value in dict(mapping).items():
        # MLflow keys allow only alphanumerics, _ - . space : / (region names may hold others)
        name = f"{prefix}{_PARAM_KEY_BAD.sub('_', str(key))}"
        if isinstance(value, Mapping):
            out.update(flatten(value, prefix=f"{name}."))
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = "" if value is None else str(value)
    return {k: v[:6000] for k, v in out.items()}


def git_commit(path: str | Path | None = None) -> str:
    """The git commit of the code (the package's checkout), or ``"unknown"``."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        res = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else "unknown"


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _pip_requirements() -> list[str]:
    """Explicit requirements for the pyfunc (automatic inference costs seconds)."""
    names = ["tension", "mlflow", "scikit-learn", "pandas", "numpy", "scipy", "cloudpickle", "statsmodels", "pyarrow"]
    return [f"{n}=={v}" for n in names if (v := _package_version(n))]


def _store_info(store: Any) -> tuple[str | None, str | None]:
    """(location, manifest digest) of a Store, a path, or None."""
    if store is None:
        return None, None
    if isinstance(store, (str, Path)):
        location, digest = str(store), None
        try:  # the store module comes earlier in the flow
            from .store import Store

            digest = Store(str(store)).digest
        except Exception:  # noqa: BLE001 - a missing/empty store just has no digest
            digest = None
        return location, digest
    location = getattr(store, "location", None) or getattr(store, "root", None) or getattr(store, "path", None)
    digest = getattr(store, "digest", None)
    if digest is None and isinstance(getattr(store, "manifest", None), Mapping):
        digest = store.manifest.get("digest")
    return (str(location) if location is not None else None), (str(digest) if digest else None)


def _log_events_input(store: Any, panel: pd.DataFrame | None) -> None:
    """The event data as a dataset input (digest = store manifest digest) and the panel as a second one."""
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    location, digest = _store_info(store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if location is not None:
            source = resolve_dataset_source(location)
            events = MetaDataset(source=source, name="events", digest=(digest or "unknown")[:36])
            mlflow.log_input(events, context="events")
            mlflow.set_tag("tension.store_digest", digest or "unknown")
            mlflow.set_tag("tension.store", location)
        if panel is not None and len(panel):
            ds = mlflow.data.from_pandas(panel, source=location or "panel", name="panel")
            mlflow.log_input(ds, context="training")


def _log_common(experiment: Experiment, config_path: str | Path | None, kind: str) -> None:
    mlflow.log_params(flatten(experiment))
    commit = git_commit()
    mlflow.set_tags({"mlflow.source.git.commit": commit, "tension.kind": kind,
                     "tension.version": _package_version("tension") or "unknown"})
    mlflow.log_dict(flatten(experiment), "config/experiment.json")
    if config_path is not None and Path(config_path).is_file():
        mlflow.log_artifact(str(config_path), artifact_path="config")


def _metric_name(*parts: Any) -> str:
    text = "_".join(str(p) for p in parts if p is not None and str(p) != "")
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in text)


def metrics_dict(metrics: pd.DataFrame) -> dict[str, float]:
    """Flatten a metrics table (rows per model and horizon) into ``{"brier_logit_h4": 0.1, ...}``."""
    if metrics is None or len(metrics) == 0:
        return {}
    keys = [c for c in ("model", "target", "horizon") if c in metrics.columns]
    values = [c for c in metrics.columns if c not in keys and pd.api.types.is_numeric_dtype(metrics[c])
              and not pd.api.types.is_bool_dtype(metrics[c])]
    out: dict[str, float] = {}
    for _, row in metrics.iterrows():
        tag = [row[k] if k != "horizon" else f"h{int(row[k])}" for k in keys if k != "target"]
        for col in values:
            v = row[col]
            if v is not None and np.isfinite(float(v)):
                out[_metric_name(col, *tag)] = float(v)
    return out


def _log_reliability(predictions: pd.DataFrame) -> None:
    from .backtest import reliability_figure

    fig = reliability_figure(predictions)
    for fmt in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=100)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"reliability.{fmt}"
            path.write_bytes(buf.getvalue())
            mlflow.log_artifact(str(path), artifact_path="plots")


def importances(estimator: Any, features: list[str]) -> pd.DataFrame | None:
    """Coefficients (``coef_``) or importances (``feature_importances_``) of a fitted estimator, if any."""
    candidates = [estimator]
    if hasattr(estimator, "steps"):
        candidates.append(estimator.steps[-1][1])
    for attr in ("estimator_", "model_", "pipeline_", "calibrated_", "base_"):
        inner = getattr(estimator, attr, None)
        if inner is not None:
            candidates.append(inner)
            if hasattr(inner, "steps"):
                candidates.append(inner.steps[-1][1])
    for est in candidates:
        for attr, kind in (("coef_", "coefficient"), ("feature_importances_", "importance")):
            values = getattr(est, attr, None)
            if values is None:
                continue
            arr = np.asarray(values, dtype=float).ravel()
            names = list(getattr(est, "feature_names_in_", features))
            if len(names) != len(arr):
                names = [f"x{i}" for i in range(len(arr))]
            return pd.DataFrame({"feature": names, kind: arr})
    return None


def _log_table(df: pd.DataFrame, artifact_path: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if name.endswith(".parquet"):
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=artifact_path)


# --------------------------------------------------------------------------- the model


class TensionModel(mlflow.pyfunc.PythonModel):
    """The pyfunc: feature configuration + fitted estimator; panel rows in, probabilities out.

    Parameters
    ----------
    estimator
        A fitted scikit-learn-style estimator with ``predict_proba``.
    features
        The panel columns the estimator sees, in order.
    config
        Feature configuration (``freq``, ``dyads``, ``builders``, target, horizon, ...).
    """

    def __init__(self, estimator: Any, features: list[str], config: dict[str, Any]) -> None:
        self.estimator = estimator
        self.features = list(features)
        self.config = dict(config)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Return ``dyad``, ``period``, ``probability`` (of the configured target) for each input row.

        With ``config["matrix"] == "feature_matrix"`` (models trained by tension) the columns
        come from :func:`tension.models.feature_matrix`, whose history helpers look back over
        each dyad's earlier rows: pass whole panel histories, not only the rows to score.
        """
        X = self.matrix(model_input)
        proba = np.asarray(self.estimator.predict_proba(X))[:, 1]
        out = model_input[["dyad", "period"]].reset_index(drop=True).copy()
        out["probability"] = proba.astype(float)
        return out

    def matrix(self, panel: pd.DataFrame) -> pd.DataFrame:
        """The estimator's input for ``panel`` rows (the same columns, in the same order, as in training)."""
        if self.config.get("matrix", "feature_matrix") == "feature_matrix":
            from .models import feature_matrix

            frame = panel.copy()
            frame.attrs["freq"] = self.config.get("freq") or panel.attrs.get("freq")
            source = feature_matrix(frame)
        else:
            source = panel
        missing = [c for c in self.features if c not in source.columns]
        if missing:
            raise UsageError(
                problem(
                    "The panel lacks columns this model was trained on.",
                    f"the columns {missing[:10]}",
                    got=f"{len(panel.columns)} columns",
                    fix=f"Build the panel with freq={self.config.get('freq')!r}, dyads={self.config.get('dyads')!r} "
                    "and the same feature builders.",
                )
            )
        return source[self.features]


def _signature_frame(panel: pd.DataFrame, features: list[str], matrix: str) -> pd.DataFrame:
    """The input columns the pyfunc requires: identifiers plus what its matrix reads."""
    if "dyad" not in panel.columns or "period" not in panel.columns:
        raise UsageError(problem("The panel has no 'dyad' and 'period' columns.", "a panel from build_panel",
                                 got=list(panel.columns)[:8]))
    ids = [c for c in ("dyad", "source", "target", "period") if c in panel.columns]
    if matrix == "feature_matrix":
        used = [c for c in panel.columns if c not in ids and (pd.api.types.is_numeric_dtype(panel[c])
                                                              or pd.api.types.is_bool_dtype(panel[c]))]
    else:
        used = [c for c in features if c not in ids]
    return panel[ids + used]


def _input_example(frame: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """``n`` rows of one dyad's latest periods (fewest missing values), float gaps filled with 0.

    The example is stored as JSON and re-validated against the signature by MLflow; a
    column that is all-NaN in the example would come back untyped.
    """
    last_dyad = frame.loc[frame.notna().sum(axis=1).idxmax(), "dyad"]
    example = frame[frame["dyad"] == last_dyad].tail(n).reset_index(drop=True).copy()
    for col in example.columns:
        if pd.api.types.is_float_dtype(example[col]):
            example[col] = example[col].fillna(0).astype(frame[col].dtype)
    return example


def _feature_columns(estimator: Any, panel: pd.DataFrame, features: list[str] | None, matrix: str) -> list[str]:
    if features is not None:
        return list(features)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    if matrix != "feature_matrix":
        raise UsageError(problem("Cannot tell which panel columns the model reads.", "features=[...]"))
    from .models import feature_matrix

    return list(feature_matrix(panel).columns)


def _model_config(experiment: Experiment, panel: pd.DataFrame, features: list[str], model_name: str,
                  store_digest: str | None, matrix: str, cutoff: Any = None) -> dict[str, Any]:
    periods = panel["period"] if "period" in panel else pd.Series([], dtype="datetime64[ns]")
    return {
        "model": model_name,
        "matrix": matrix,
        "freq": panel.attrs.get("freq", experiment.panel.freq),
        "dyads": panel.attrs.get("dyads", experiment.panel.dyads),
        "builders": [getattr(f, "__name__", str(f)) for f in panel.attrs.get("features", ())],
        "features": list(features),
        "target": dataclasses.asdict(experiment.target),
        "panel": dataclasses.asdict(experiment.panel),
        "data_cutoff": (str(pd.Timestamp(cutoff).date()) if cutoff is not None
                        else str(periods.max().date()) if len(periods) else None),
        "store_digest": store_digest,
        "tension_version": _package_version("tension"),
    }


@dataclass(frozen=True)
class TrainRecord:
    """What :func:`track_train` logged: the run, the model URI, and the registered version (if any)."""

    run_id: str | None
    model_uri: str | None
    registered_model: str | None = None
    version: int | None = None
    alias: str | None = None


def log_and_register(
    estimator: Any,
    panel: pd.DataFrame,
    *,
    experiment: Experiment,
    features: list[str] | None = None,
    model_name: str = "",
    store_digest: str | None = None,
    register: bool = True,
    alias: str | None = CHALLENGER,
    client: MlflowClient | None = None,
    matrix: str = "feature_matrix",
    version_tags: Mapping[str, str] | None = None,
    cutoff: Any = None,
) -> TrainRecord:
    """Inside an active run: log the pyfunc, then register it and set ``alias`` (in that order).

    The version is created only after ``log_model`` returned, i.e. after the artifacts
    are stored, so a failure leaves no version pointing at missing files.
    """
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_and_register needs an active MLflow run")
    feats = _feature_columns(estimator, panel, features, matrix)
    frame = _signature_frame(panel, feats, matrix)
    example = _input_example(frame)
    config = _model_config(experiment, panel, feats, model_name, store_digest, matrix, cutoff)
    python_model = TensionModel(estimator, feats, config)
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        output = python_model.predict(None, example)
        # the signature from the whole frame (optional = has missing values somewhere), the example NaN-free
        signature = infer_signature(frame, output)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model,
            signature=signature,
            input_example=example,
            pip_requirements=_pip_requirements(),
            metadata={"tension": json.dumps(python_model.config, default=str)},
        )
    record = TrainRecord(run_id=run.info.run_id, model_uri=info.model_uri)
    if not register:
        return record
    name = experiment.tracking.registered_model
    client = client or MlflowClient()
    created = False
    try:
        client.create_registered_model(name, description="tension escalation-risk model (pyfunc: panel rows -> probability)")
        created = True
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code) and "already exists" not in str(exc):
            raise
    try:
        mv = client.create_model_version(name, info.model_uri, run_id=run.info.run_id, model_id=info.model_id,
                                         tags={"model": model_name, "store_digest": store_digest or "unknown",
                                               **{k: str(v) for k, v in (version_tags or {}).items()}})
    except Exception:
        if created:  # leave no empty registered model behind
            with contextlib.suppress(Exception):
                client.delete_registered_model(name)
        raise
    _wait_ready(client, name, mv.version)
    if alias:
        client.set_registered_model_alias(name, alias, mv.version)
    mlflow.set_tags({"tension.registered_model": name, "tension.model_version": str(mv.version)})
    return dataclasses.replace(record, registered_model=name, version=int(mv.version), alias=alias)


def _wait_ready(client: MlflowClient, name: str, version_: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get_model_version(name, version_).status == "READY":
            return
        time.sleep(0.2)


def track_train(
    estimator: Any,
    panel: pd.DataFrame,
    *,
    experiment: Experiment,
    model_name: str,
    features: list[str] | None = None,
    store: Any = None,
    metrics: Mapping[str, float] | pd.DataFrame | None = None,
    config_path: str | Path | None = None,
    track: bool = True,
    register: bool = True,
    alias: str | None = CHALLENGER,
    parent_run_id: str | None = None,
    run_name: str | None = None,
    matrix: str = "feature_matrix",
    version_tags: Mapping[str, str] | None = None,
    cutoff: Any = None,
) -> TrainRecord:
    """Log a fitted model as one run (params, data inputs, commit, importances, config, pyfunc) and register it.

    Parameters
    ----------
    estimator
        Fitted on ``feature_matrix(panel)`` (or ``panel[features]``).
    panel
        The training panel (``dyad``, ``period`` and the feature columns).
    experiment
        The loaded experiment; ``experiment.tracking`` says where and under which name.
    model_name
        Key of ``tension.models.MODELS`` (logged as param ``model`` and version tag).
    features
        Columns the estimator sees; default its ``feature_names_in_``, else
        ``tension.models.feature_matrix(panel).columns``.
    matrix
        ``"feature_matrix"`` (default: the estimator was fitted on
        ``tension.models.feature_matrix(panel)[features]``, as ``backtest.fit_final`` does) or
        ``"panel"`` (fitted on ``panel[features]`` as they are).
    store
        The :class:`~tension.store.Store` (or its location) the panel came from: its manifest
        digest becomes the events dataset digest.
    metrics
        Optional in-sample metrics (dict, or a table with ``model``/``horizon`` rows).
    track
        ``False`` (``--no-track``): do nothing and return an empty record.
    register, alias
        Register a version under ``experiment.tracking.registered_model`` and point ``alias`` at it.
    version_tags
        Extra tags on the model version (the job records ``config_digest``).
    cutoff
        The training cutoff (``fit_final``'s); recorded as ``data_cutoff`` (default: the panel's last period).
    parent_run_id, run_name
        Nest the run under a job's run; its display name.

    Returns
    -------
    TrainRecord
    """
    if not track:
        return TrainRecord(run_id=None, model_uri=None)
    uri = tracking_uri(experiment.tracking)
    _, digest = _store_info(store)
    with _session(uri, experiment.tracking.experiment) as (client, exp_id):
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name or f"train {model_name}",
                              nested=parent_run_id is not None,
                              tags={"mlflow.parentRunId": parent_run_id} if parent_run_id else None):
            _log_common(experiment, config_path, "train")
            mlflow.log_param("model", model_name)
            _log_events_input(store, panel)
            feats = _feature_columns(estimator, panel, features, matrix)
            if isinstance(metrics, pd.DataFrame):
                mlflow.log_metrics(metrics_dict(metrics))
            elif metrics:
                mlflow.log_metrics({_metric_name(k): float(v) for k, v in metrics.items()})
            mlflow.log_metrics({"train_rows": float(len(panel)), "n_features": float(len(feats))})
            imp = importances(estimator, feats)
            if imp is not None:
                _log_table(imp, "model_info", "coefficients.csv" if "coefficient" in imp else "importances.csv")
            record = log_and_register(estimator, panel, experiment=experiment, features=feats, model_name=model_name,
                                      store_digest=digest, register=register, alias=alias, client=client,
                                      matrix=matrix, version_tags=version_tags, cutoff=cutoff)
    return record


def track_backtest(
    result: Any,
    *,
    experiment: Experiment,
    store: Any = None,
    panel: pd.DataFrame | None = None,
    config_path: str | Path | None = None,
    track: bool = True,
    parent_run_id: str | None = None,
    run_name: str | None = None,
    nested_origins: bool = True,
    extra_metrics: Mapping[str, float] | None = None,
    cache_key: str | None = None,
    model_keys: Mapping[str, str] | None = None,
) -> str | None:
    """Log a backtest as one run with one nested run per origin; return the run id (``None`` if not tracked).

    ``result`` is a :class:`tension.backtest.BacktestResult` (``predictions``, ``metrics``,
    ``warnings``) or anything with those attributes. Logged: flattened config as params,
    ``metrics`` per model and horizon (``brier_logit_h4``), data inputs, git commit, the
    predictions table (Parquet), the metrics table, a reliability diagram (PNG and SVG),
    warnings, the config file; per origin a nested run with ``brier_<model>``, ``rows``,
    ``positives`` and ``mean_p_<model>`` in one batch call. With ``cache_key`` (data, config,
    spec and code digest) and ``model_keys`` (the same per model) the run is tagged so that a
    rerun reuses its models' predictions (:func:`cached_models`).
    """
    if not track:
        return None
    predictions: pd.DataFrame = getattr(result, "predictions")
    metrics: pd.DataFrame | None = getattr(result, "metrics", None)
    warns = list(getattr(result, "warnings", []) or [])
    uri = tracking_uri(experiment.tracking)
    with _session(uri, experiment.tracking.experiment) as (client, exp_id):
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name or "backtest",
                              nested=parent_run_id is not None,
                              tags={"mlflow.parentRunId": parent_run_id} if parent_run_id else None) as run:
            _log_common(experiment, config_path, "backtest")
            _log_events_input(store, panel)
            if metrics is not None and len(metrics):
                mlflow.log_metrics(metrics_dict(metrics))
                _log_table(metrics, "backtest", "metrics.csv")
            if extra_metrics:
                mlflow.log_metrics({_metric_name(k): float(v) for k, v in extra_metrics.items()})
            _log_table(predictions, "backtest", "predictions.parquet")
            if len(predictions):
                _log_reliability(predictions)
            if warns:
                mlflow.log_text("\n".join(str(w) for w in warns), "backtest/warnings.txt")
                mlflow.set_tag("tension.warnings", str(len(warns)))
            if cache_key:
                mlflow.log_dict(json.loads(json.dumps({"warnings": warns, "leakage": getattr(result, "leakage", {}) or {}},
                                                      default=str)), "backtest/rerun.json")
                mlflow.set_tag(CACHE_KEY_TAG, cache_key)
                mlflow.set_tags({f"{MODEL_KEY_TAG}{name}": key for name, key in (model_keys or {}).items()})
            if nested_origins and len(predictions) and "origin" in predictions:
                _log_origins(client, exp_id, run.info.run_id, predictions)
            run_id = run.info.run_id
    return run_id


def _log_origins(client: MlflowClient, exp_id: str, parent: str, predictions: pd.DataFrame) -> None:
    """One nested run per origin with a few metrics, one ``log_batch`` call each."""
    now = int(time.time() * 1000)
    resolved = predictions.dropna(subset=["outcome"]) if "outcome" in predictions else predictions
    for origin, grp in predictions.groupby("origin", sort=True):
        label = str(pd.Timestamp(origin).date())
        child = client.create_run(exp_id, run_name=f"origin {label}",
                                  tags={"mlflow.parentRunId": parent, "tension.origin": label})
        metrics = [Metric("rows", float(len(grp)), now, 0)]
        res = resolved[resolved["origin"] == origin]
        metrics.append(Metric("positives", float(res["outcome"].sum()) if len(res) else 0.0, now, 0))
        for model, g in grp.groupby("model") if "model" in grp else []:
            metrics.append(Metric(_metric_name("mean_p", model), float(g["probability"].mean()), now, 0))
            r = res[res["model"] == model]
            if len(r):
                brier = float(((r["probability"].astype(float) - r["outcome"].astype(float)) ** 2).mean())
                metrics.append(Metric(_metric_name("brier", model), brier, now, 0))
        client.log_batch(child.info.run_id, metrics=metrics, params=[Param("origin", label)],
                         tags=[RunTag("tension.kind", "backtest-origin")])
        client.set_terminated(child.info.run_id)


def track_health(report: Mapping[str, Any], *, experiment: Experiment, track: bool = True,
                 parent_run_id: str | None = None, run_name: str = "data-health") -> str | None:
    """Log a data-health gate report (``passed``, ``problems``, per-source table) as a run."""
    if not track:
        return None
    uri = tracking_uri(experiment.tracking)
    with _session(uri, experiment.tracking.experiment) as (_client, exp_id):
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name, nested=parent_run_id is not None,
                              tags={"mlflow.parentRunId": parent_run_id} if parent_run_id else None) as run:
            mlflow.set_tags({"tension.kind": "data-health", "mlflow.source.git.commit": git_commit(),
                             "tension.gate": "passed" if report.get("passed") else "blocked"})
            numbers = {_metric_name(k): float(v) for k, v in report.items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)}
            numbers["gate_passed"] = 1.0 if report.get("passed") else 0.0
            mlflow.log_metrics(numbers)
            mlflow.log_dict(json.loads(json.dumps(dict(report), default=str)), "health/report.json")
            return run.info.run_id


@contextlib.contextmanager
def job_run(experiment: Experiment, *, track: bool = True, run_name: str = "retrain") -> Iterator[str | None]:
    """A parent run for a job (``retrain``); yields its id (``None`` when not tracking).

    The run is ended FINISHED on success, FAILED on an exception. Other tracking calls
    take ``parent_run_id=`` to nest under it.
    """
    if not track:
        yield None
        return
    uri = tracking_uri(experiment.tracking)
    with _session(uri, experiment.tracking.experiment) as (client, exp_id):
        run = client.create_run(exp_id, run_name=run_name, tags={"tension.kind": "job",
                                                                 "mlflow.source.git.commit": git_commit(),
                                                                 **_process_tags()})
        status = "FAILED"
        try:
            yield run.info.run_id
            status = "FINISHED"
        finally:
            with contextlib.suppress(Exception):
                client.set_terminated(run.info.run_id, status)


def _process_tags() -> dict[str, str]:
    """Who runs this job: host, pid and the process's start time (so a reused pid is not mistaken for it)."""
    import socket

    return {"tension.host": socket.gethostname(), "tension.pid": str(os.getpid()),
            "tension.pid_started": f"{_process_started(os.getpid()) or 0:.3f}"}


def _process_started(pid: int) -> float | None:
    """The start time of process ``pid`` (seconds since the epoch), or None if there is no such process."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with distributed
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return 0.0
        return 0.0
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.Error:
        return 0.0


def _gone(tags: Mapping[str, str], host: str) -> str:
    """Why the process that runs a job run is gone ('' when it may still be running)."""
    pid = tags.get("tension.pid")
    if not pid:
        return "it was started by a tension without process tags; the retrain lock is free, so its job is not running"
    if tags.get("tension.host") != host:
        return ""  # another machine: cannot tell
    started = _process_started(int(pid))
    recorded = float(tags.get("tension.pid_started") or 0)
    if started is None:
        return f"its process (pid {pid} on {host}) is gone"
    if recorded and started and abs(started - recorded) > 1.0:
        return f"its process (pid {pid} on {host}) is gone; that pid now belongs to another process"
    return ""


def close_stale_runs(experiment: Experiment, closed_by: str = "") -> dict[str, list[str]]:
    """Close job runs left ``RUNNING`` by a killed process, with their children; label their model versions.

    Call it while holding the retrain lock. A ``RUNNING`` job run (tag ``tension.kind=job``) is
    stale when its process is gone (same host, pid dead or reused) or it carries no process
    tags; it and its ``RUNNING`` child runs are set to ``KILLED`` with the tag
    ``tension.closed_reason``. Registered versions made by those runs that no ``champion``
    alias points at are tagged ``tension.orphan=true`` with ``tension.orphan_reason``: a killed
    job never finished evaluating them. Runs on other hosts are left alone. Returns the run ids
    closed and the versions labelled.
    """
    import socket

    from mlflow.entities import ViewType

    uri = tracking_uri(experiment.tracking)
    host = socket.gethostname()
    closed: list[str] = []
    labelled: list[str] = []
    with _session(uri, experiment.tracking.experiment) as (client, exp_id):
        running = client.search_runs([exp_id], "attributes.status = 'RUNNING'", run_view_type=ViewType.ACTIVE_ONLY,
                                     max_results=5000)
        jobs = {r.info.run_id: r for r in running if r.data.tags.get("tension.kind") == "job"}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for run_id, run in jobs.items():
            why = _gone(run.data.tags, host)
            if not why:
                continue
            family = [run_id] + [c.info.run_id for c in client.search_runs(
                [exp_id], f"tags.`mlflow.parentRunId` = '{run_id}'", run_view_type=ViewType.ALL, max_results=5000)]
            for member in family:
                if client.get_run(member).info.status != "RUNNING":
                    continue
                reason = (f"closed as KILLED at {stamp}" + (f" by {closed_by}" if closed_by else "")
                          + f": {why}" + ("" if member == run_id else f" (job run {run_id})"))
                client.set_tag(member, "tension.closed_reason", reason)
                client.set_terminated(member, "KILLED")
                closed.append(member)
            labelled += _label_orphans(client, experiment, family, run_id)
    return {"closed_runs": closed, "orphan_versions": labelled}


def _label_orphans(client: MlflowClient, experiment: Experiment, run_ids: list[str], job_run: str) -> list[str]:
    name = experiment.tracking.registered_model
    try:
        aliases = client.get_registered_model(name).aliases or {}
    except MlflowException:
        return []  # nothing registered yet
    champions = {str(v) for a, v in aliases.items() if a == CHAMPION}
    out = []
    for run_id in run_ids:
        for mv in client.search_model_versions(f"run_id = '{run_id}'"):
            if mv.name != name or str(mv.version) in champions or (mv.tags or {}).get("tension.orphan") == "true":
                continue
            client.set_model_version_tag(name, mv.version, "tension.orphan", "true")
            client.set_model_version_tag(name, mv.version, "tension.orphan_reason",
                                         f"registered by retrain run {job_run}, which was killed before it evaluated "
                                         "and promoted this version; not a finished model")
            out.append(str(mv.version))
    return out


def log_job_step(run_id: str | None, experiment: Experiment, step: str, status: str, seconds: float,
                 counts: Mapping[str, Any] | None = None) -> None:
    """Record one job step on the job's parent run (metrics ``<step>_seconds`` and counts, tag status)."""
    if run_id is None:
        return
    uri = tracking_uri(experiment.tracking)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    now = int(time.time() * 1000)
    metrics = [Metric(_metric_name(step, "seconds"), float(seconds), now, 0)]
    for k, v in (counts or {}).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            metrics.append(Metric(_metric_name(step, k), float(v), now, 0))
    client.log_batch(run_id, metrics=metrics, tags=[RunTag(_metric_name("step", step), status)])


# --------------------------------------------------------------------------- reruns and backtest predictions


def code_version() -> str:
    """The code that produced a result: package version and git commit (part of every rerun key)."""
    return f"{_package_version('tension') or 'unknown'}+{git_commit()}"


def _client(experiment: Experiment | None) -> tuple[MlflowClient, str]:
    experiment = experiment or Experiment()
    uri = ensure_store(tracking_uri(experiment.tracking))
    return MlflowClient(tracking_uri=uri, registry_uri=uri), experiment.tracking.registered_model


def latest_version(experiment: Experiment | None = None) -> tuple[int, dict[str, str]] | None:
    """(version, tags) of the newest version of the registered model, or ``None`` when there is none."""
    client, name = _client(experiment)
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return None
    if not versions:
        return None
    newest = max(versions, key=lambda mv: int(mv.version))
    return int(newest.version), dict(newest.tags or {})


def _download_table(client: MlflowClient, run_id: str, path: str) -> pd.DataFrame | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, path, tmp)
        except (MlflowException, OSError):
            return None
        return pd.read_parquet(local)


MODEL_KEY_TAG = "tension.model_key."
"""Prefix of a backtest run's per-model rerun keys (``tension.model_key.logit``)."""


def cached_models(experiment: Experiment, keys: Mapping[str, str]) -> dict[str, Any]:
    """Each model's predictions from the newest FINISHED backtest run that fitted it under the same key.

    ``keys``: model name -> per-model rerun key. Returns ``{"predictions": {name: frame},
    "runs": {name: run_id}, "warnings": [...], "leakage": {...}}`` for the models found (the
    warnings and leakage summary of the runs they come from); models not found are absent.
    """
    uri = tracking_uri(experiment.tracking)
    found: dict[str, str] = {}
    with _session(uri, experiment.tracking.experiment) as (client, exp_id):
        for name, key in keys.items():
            runs = client.search_runs([exp_id], filter_string=f"tags.`{MODEL_KEY_TAG}{name}` = '{key}' and "
                                      "attributes.status = 'FINISHED'", max_results=1,
                                      order_by=["attributes.start_time DESC"])
            if runs:
                found[name] = runs[0].info.run_id
    out: dict[str, Any] = {"predictions": {}, "runs": {}, "warnings": [], "leakage": {}}
    client, _ = _client(experiment)
    for run_id in dict.fromkeys(found.values()):
        table = _download_table(client, run_id, BACKTEST_PREDICTIONS)
        if table is None:
            continue
        names = [n for n, r in found.items() if r == run_id]
        with tempfile.TemporaryDirectory() as tmp, contextlib.suppress(MlflowException, OSError, ValueError):
            extra = json.loads(Path(client.download_artifacts(run_id, "backtest/rerun.json", tmp)).read_text())
            out["leakage"] = out["leakage"] or extra.get("leakage", {})
            # that run's warnings, less those about its models not taken from it
            others = set(table["model"].astype(str)) - set(names)
            out["warnings"] += [w for w in extra.get("warnings", []) if not any(w.startswith(f"{o} @") for o in others)]
        for name in names:
            out["predictions"][name] = table[table["model"] == name]
            out["runs"][name] = run_id
    out["warnings"] = list(dict.fromkeys(out["warnings"]))
    return out


def store_backtest_predictions(experiment: Experiment, version_: int, predictions: pd.DataFrame,
                               source: str = "") -> None:
    """Attach a model version's own backtest predictions to its run (``backtest/predictions.parquet``).

    The version gets tags ``backtest_rows`` and ``backtest_source`` so that ``tension score``
    finds them (:func:`backtest_predictions`) and says where its band comes from.
    """
    client, name = _client(experiment)
    mv = client.get_model_version(name, str(version_))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.parquet"
        predictions.to_parquet(path, index=False)
        client.log_artifact(mv.run_id, str(path), artifact_path="backtest")
    client.set_model_version_tag(name, str(version_), "backtest_rows", str(len(predictions)))
    client.set_model_version_tag(name, str(version_), "backtest_source", source or "backtest")


def backtest_predictions(experiment: Experiment | None, version_: int | None) -> pd.DataFrame | None:
    """The backtest predictions stored with a model version, or ``None`` when it has none."""
    if version_ is None:
        return None
    client, name = _client(experiment)
    try:
        mv = client.get_model_version(name, str(version_))
    except MlflowException:
        return None
    if "backtest_rows" not in (mv.tags or {}):
        return None
    return _download_table(client, mv.run_id, BACKTEST_PREDICTIONS)


def registry_summary(experiment: Experiment | None = None) -> str:
    """What the registry holds, for error messages: ``challenger v3; promote it with ...``."""
    try:
        versions = model_versions(experiment)
    except MlflowException:
        versions = pd.DataFrame()
    name = (experiment or Experiment()).tracking.registered_model
    if versions.empty:
        return f"no version of {name!r} is registered; train one with `tension train`"
    by_alias = {a: int(r.version) for r in versions.itertuples() for a in str(r.aliases).split(",") if a}
    newest = int(versions["version"].max())
    where = ", ".join(f"{a} v{v}" for a, v in sorted(by_alias.items())) or f"versions 1..{newest} without aliases"
    if CHALLENGER in by_alias and by_alias[CHALLENGER] != by_alias.get(CHAMPION):
        fix = "; promote it with `tension model promote challenger`"
    elif CHAMPION not in by_alias:
        fix = f"; promote one with `tension model promote {newest}`"
    else:
        fix = ""
    return f"{name!r} has {where}{fix}"


# --------------------------------------------------------------------------- registry


def model_uri(name: str = "tension", alias: str = CHAMPION) -> str:
    """``models:/<name>@<alias>``."""
    return f"models:/{name}@{alias}"


def alias_version(experiment: Experiment | None = None, alias: str = CHAMPION) -> int | None:
    """The version the alias points at, or ``None`` if the model or alias does not exist."""
    experiment = experiment or Experiment()
    uri = ensure_store(tracking_uri(experiment.tracking))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        return int(client.get_model_version_by_alias(experiment.tracking.registered_model, alias).version)
    except MlflowException as exc:
        if _is_connection_problem(exc):
            raise TrackingUnavailableError(problem(f"The MLflow registry at {uri} cannot be reached ({exc}).",
                                                   fix="Check the server and run again.")) from None
        return None


def version_tags(experiment: Experiment | None, version_: int) -> dict[str, str]:
    """Tags of one model version (``model``, ``store_digest``, ``config_digest`` ...)."""
    experiment = experiment or Experiment()
    uri = ensure_store(tracking_uri(experiment.tracking))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return dict(client.get_model_version(experiment.tracking.registered_model, str(version_)).tags or {})


def set_alias(experiment: Experiment | None, alias: str, version_: int) -> None:
    """Point ``alias`` of the registered model at ``version_`` (used for promotion and rollback)."""
    experiment = experiment or Experiment()
    uri = ensure_store(tracking_uri(experiment.tracking))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = experiment.tracking.registered_model
    try:
        client.get_model_version(name, str(version_))
    except MlflowException:
        raise UsageError(problem(f"Model {name!r} has no version {version_}.", "an existing version",
                                 got=version_, fix="List versions in the MLflow UI or with `mlflow models`.")) from None
    client.set_registered_model_alias(name, alias, str(version_))


def model_versions(experiment: Experiment | None = None) -> pd.DataFrame:
    """All versions of the registered model: version, run_id, status, aliases."""
    experiment = experiment or Experiment()
    uri = ensure_store(tracking_uri(experiment.tracking))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = experiment.tracking.registered_model
    rows = []
    try:
        by_version: dict[int, list[str]] = {}
        for alias, v in (client.get_registered_model(name).aliases or {}).items():
            by_version.setdefault(int(v), []).append(alias)
    except MlflowException:
        by_version = {}
    for mv in client.search_model_versions(f"name='{name}'"):
        rows.append({"version": int(mv.version), "run_id": mv.run_id, "status": mv.status,
                     "aliases": ",".join(sorted(by_version.get(int(mv.version), [])))})
    return pd.DataFrame(rows, columns=["version", "run_id", "status", "aliases"]).sort_values("version").reset_index(drop=True)


def load_model(uri: str | None = None, experiment: Experiment | None = None) -> Any:
    """Load a pyfunc (default ``models:/<registered_model>@champion``) from the configured store.

    Raises
    ------
    UsageError
        No such model or alias (e.g. nothing promoted yet).
    """
    experiment = experiment or Experiment()
    store_uri = ensure_store(tracking_uri(experiment.tracking))
    uri = uri or model_uri(experiment.tracking.registered_model, CHAMPION)
    try:
        with warnings.catch_warnings(), _pointed(store_uri):
            warnings.simplefilter("ignore")
            return mlflow.pyfunc.load_model(uri)
    except MlflowException as exc:
        if _is_connection_problem(exc):
            raise TrackingUnavailableError(problem(f"The MLflow registry at {store_uri} cannot be reached.",
                                                   fix="Check the server and run again.")) from None
        alias = uri.rpartition("@")[2] if "@" in uri else ""
        hint = did_you_mean(alias, (CHAMPION, CHALLENGER)) if alias and alias not in (CHAMPION, CHALLENGER) else ""
        raise UsageError(problem(f"Cannot load the model {uri}.{hint}", "a registered model with that alias",
                                 got=str(exc)[:200], fix=f"The registry: {registry_summary(experiment)} "
                                 "(or run `tension retrain`, which trains and promotes).")) from None


def load_estimator(uri: str | None = None, experiment: Experiment | None = None) -> TensionModel:
    """The :class:`TensionModel` behind a pyfunc URI: ``.estimator``, ``.features``, ``.config``."""
    return load_model(uri, experiment).unwrap_python_model()
