"""Sessions on the tracking store: mlflow pointed at one URI, the experiment found or created, lost connections named.

Every tracked operation opens the store through :func:`session` (runs) or :func:`registry_client`
(registry reads and writes); both pass :func:`~tension.tracking.setup.ensure_store` first.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..config import Experiment
from ..errors import TrackingUnavailableError, problem
from .setup import artifact_root, ensure_store, tracking_uri

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"
"""Experiment tag telling the MLflow UI (3.x) to open the experiment on its runs, not the (empty) Traces page."""


def is_connection_problem(exc: BaseException) -> bool:
    """True when ``exc`` says the store could not be reached (rather than that a request was wrong)."""
    text = f"{type(exc).__name__} {exc}"
    needles = ("ConnectionError", "Connection refused", "Max retries", "API request to", "OperationalError",
               "Failed to establish", "timed out", "RemoteDisconnected")
    return any(n in text for n in needles)


@contextlib.contextmanager
def session(uri: str, experiment: str) -> Iterator[tuple[MlflowClient, str]]:
    """Point mlflow at ``uri`` (tracking and registry), yield (client, experiment_id); restore after.

    Connection failures inside become :class:`TrackingUnavailableError`.
    """
    ensure_store(uri)
    with pointed(uri):
        yield from _session_body(uri, experiment)


@contextlib.contextmanager
def pointed(uri: str) -> Iterator[None]:
    """Set mlflow's global tracking and registry URI to ``uri``; restore them (and the env vars) after.

    ``mlflow.set_tracking_uri`` also writes ``$MLFLOW_TRACKING_URI``; without the restore one
    project's URI would leak into the next call's :func:`tracking_uri`.
    """
    import mlflow

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
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            try:
                exp_id = client.create_experiment(experiment, artifact_location=artifact_root(uri))
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
        if is_connection_problem(exc):
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


def registry_client(experiment: Experiment | None) -> tuple[MlflowClient, str]:
    """A client on the experiment's (ready) store and the name of its registered model."""
    from mlflow.tracking import MlflowClient

    experiment = experiment or Experiment()
    uri = ensure_store(tracking_uri(experiment.tracking))
    return MlflowClient(tracking_uri=uri, registry_uri=uri), experiment.tracking.registered_model
