"""Logging a fitted model as the pyfunc and registering it: the signature, an input example, the feature configuration."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..config import Experiment
from ..errors import UsageError, problem
from .provenance import package_version, pip_requirements
from .registry import CHALLENGER

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


def signature_frame(panel: pd.DataFrame, features: list[str], matrix: str) -> pd.DataFrame:
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


def input_example(frame: pd.DataFrame, n: int = 5) -> pd.DataFrame:
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


def feature_columns(estimator: Any, panel: pd.DataFrame, features: list[str] | None, matrix: str) -> list[str]:
    """The columns the estimator reads: ``features``, else its ``feature_names_in_``, else the feature matrix's."""
    if features is not None:
        return list(features)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    if matrix != "feature_matrix":
        raise UsageError(problem("Cannot tell which panel columns the model reads.", "features=[...]"))
    from ..models import feature_matrix

    return list(feature_matrix(panel).columns)


def model_config(experiment: Experiment, panel: pd.DataFrame, features: list[str], model_name: str,
                 store_digest: str | None, matrix: str, cutoff: Any = None) -> dict[str, Any]:
    """The feature configuration the pyfunc carries (and the registry shows as metadata)."""
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
        "tension_version": package_version("tension"),
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
    import mlflow
    from mlflow.tracking import MlflowClient

    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_and_register needs an active MLflow run")
    info = _log_pyfunc(estimator, panel, experiment, features, model_name, store_digest, matrix, cutoff)
    record = TrainRecord(run_id=run.info.run_id, model_uri=info.model_uri)
    if not register:
        return record
    name = experiment.tracking.registered_model
    tags = {"model": model_name, "store_digest": store_digest or "unknown",
            **{k: str(v) for k, v in (version_tags or {}).items()}}
    version = _register(client or MlflowClient(), name, info, run.info.run_id, tags, alias)
    mlflow.set_tags({"tension.registered_model": name, "tension.model_version": str(version)})
    return dataclasses.replace(record, registered_model=name, version=version, alias=alias)


def _log_pyfunc(estimator: Any, panel: pd.DataFrame, experiment: Experiment, features: list[str] | None,
                model_name: str, store_digest: str | None, matrix: str, cutoff: Any) -> Any:
    """Log the :class:`TensionModel` with its signature, input example and requirements; return MLflow's model info."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    from .model import TensionModel

    feats = feature_columns(estimator, panel, features, matrix)
    frame = signature_frame(panel, feats, matrix)
    example = input_example(frame)
    python_model = TensionModel(estimator, feats, model_config(experiment, panel, feats, model_name, store_digest,
                                                               matrix, cutoff))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        output = python_model.predict(None, example)
        # the signature from the whole frame (optional = has missing values somewhere), the example NaN-free
        signature = infer_signature(frame, output)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model,
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            metadata={"tension": json.dumps(python_model.config, default=str)},
        )


def _register(client: MlflowClient, name: str, info: Any, run_id: str, tags: dict[str, str], alias: str | None) -> int:
    """Create version ``tags`` of ``name`` for the logged model, wait until it is READY, point ``alias`` at it."""
    from mlflow.exceptions import MlflowException

    created = False
    try:
        client.create_registered_model(name, description="tension escalation-risk model (pyfunc: panel rows -> probability)")
        created = True
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code) and "already exists" not in str(exc):
            raise
    try:
        mv = client.create_model_version(name, info.model_uri, run_id=run_id, model_id=info.model_id, tags=tags)
    except Exception:
        if created:  # leave no empty registered model behind
            with contextlib.suppress(Exception):
                client.delete_registered_model(name)
        raise
    _wait_ready(client, name, mv.version)
    if alias:
        client.set_registered_model_alias(name, alias, mv.version)
    return int(mv.version)


def _wait_ready(client: MlflowClient, name: str, version_: str, timeout: float = 30.0) -> None:
    """Poll until the version is READY (a server registers asynchronously), at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get_model_version(name, version_).status == "READY":
            return
        time.sleep(0.2)
