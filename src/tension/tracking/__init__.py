"""MLflow tracking and model registry: the only package that imports mlflow.

Every ``train`` and ``backtest`` becomes one MLflow run (:mod:`.runs`); the fitted model is
logged as ONE pyfunc (:class:`TensionModel`, :mod:`.model`) that carries the feature
configuration and the estimator, so::

    mlflow.pyfunc.load_model("models:/tension@champion").predict(panel)

returns ``dyad``, ``period``, ``probability`` for every panel row with no other code than the
installed ``tension`` package. The registry (:mod:`.registry`) holds the versions and their
aliases; :mod:`.reruns` lets a backtest reuse earlier models' predictions; :mod:`.job_runs`
records a ``retrain`` and closes what a killed one left open.

Where the runs go (:func:`tracking_uri`): ``TrackingConfig.uri`` if set, else
``$MLFLOW_TRACKING_URI``, else ``sqlite:////<abs>/data/mlflow.db`` in the project's data
directory. :func:`ensure_store` creates and upgrades that SQLite file once, under a file lock,
before any parallel work; for a remote ``mlflow server`` it checks the server answers and
raises :class:`~tension.errors.TrackingUnavailableError` (exit 5) otherwise (:mod:`.setup`).

Importing this package runs nothing and does not import mlflow. The first tracking call
runs :func:`configure` (telemetry off, short HTTP retries, no URL on stdout; the user's own
settings win) before mlflow is imported.
"""
from __future__ import annotations

from typing import Any

from .job_runs import close_stale_runs, job_run, log_job_step
from .provenance import code_version, git_commit
from .pyfunc import TrainRecord, log_and_register
from .registry import (
    BACKTEST_PREDICTIONS,
    CHALLENGER,
    CHAMPION,
    alias_version,
    backtest_predictions,
    latest_version,
    load_estimator,
    load_model,
    model_uri,
    model_versions,
    registry_summary,
    set_alias,
    store_backtest_predictions,
    version_tags,
)
from .reruns import CACHE_KEY_TAG, MODEL_KEY_TAG, cached_models
from .runs import flatten, importances, metrics_dict, track_backtest, track_health, track_train
from .setup import check_available, configure, ensure_store, store_status, tracking_uri

__all__ = [
    "configure",
    "tracking_uri",
    "ensure_store",
    "check_available",
    "store_status",
    "TensionModel",
    "TrainRecord",
    "track_train",
    "track_backtest",
    "track_health",
    "log_and_register",
    "set_alias",
    "version_tags",
    "model_versions",
    "latest_version",
    "registry_summary",
    "job_run",
    "close_stale_runs",
    "log_job_step",
    "alias_version",
    "load_model",
    "load_estimator",
    "model_uri",
    "cached_models",
    "code_version",
    "backtest_predictions",
    "store_backtest_predictions",
    "flatten",
    "metrics_dict",
    "importances",
    "git_commit",
    "CHAMPION",
    "CHALLENGER",
    "BACKTEST_PREDICTIONS",
    "CACHE_KEY_TAG",
    "MODEL_KEY_TAG",
]


def __getattr__(name: str) -> Any:
    """``TensionModel`` on first use: its module imports mlflow, so :func:`configure` runs first."""
    if name == "TensionModel":
        configure()
        from .model import TensionModel

        return TensionModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
