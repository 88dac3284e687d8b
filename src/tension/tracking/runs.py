"""Runs: every ``train``, ``backtest`` and data-health check becomes one MLflow run.

A run carries the flattened experiment configuration as params, metrics per model and
horizon, the event data as a dataset input (digest = the store manifest digest), the git
commit and artifacts (predictions table, reliability diagram, coefficients or importances,
the configuration file); backtest origins are nested runs. A trained model is logged as one
pyfunc (:class:`~tension.tracking.TensionModel`) and registered only after its run's
artifacts are logged, so a failure never leaves a half-registered model.
"""
from __future__ import annotations

import dataclasses
import io
import json
import re
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import Experiment
from .provenance import git_commit, package_version, store_info
from .pyfunc import TrainRecord, feature_columns, log_and_register
from .registry import CHALLENGER
from .reruns import rerun_tags
from .session import session
from .setup import configure, tracking_uri

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

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


def _log_events_input(store: Any, panel: pd.DataFrame | None) -> None:
    """The event data as a dataset input (digest = store manifest digest) and the panel as a second one."""
    import mlflow
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    location, digest = store_info(store)
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
    import mlflow

    mlflow.log_params(flatten(experiment))
    commit = git_commit()
    mlflow.set_tags({"mlflow.source.git.commit": commit, "tension.kind": kind,
                     "tension.version": package_version("tension") or "unknown"})
    mlflow.log_dict(flatten(experiment), "config/experiment.json")
    if config_path is not None and Path(config_path).is_file():
        mlflow.log_artifact(str(config_path), artifact_path="config")


def metric_name(*parts: Any) -> str:
    """An MLflow metric name from ``parts`` joined by ``_`` (characters MLflow refuses become ``_``)."""
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
                out[metric_name(col, *tag)] = float(v)
    return out


def _log_reliability(predictions: pd.DataFrame) -> None:
    import mlflow

    from ..backtest import reliability_figure

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
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if name.endswith(".parquet"):
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=artifact_path)


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
    configure()
    import mlflow

    uri = tracking_uri(experiment.tracking)
    _, digest = store_info(store)
    with session(uri, experiment.tracking.experiment) as (client, exp_id):
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name or f"train {model_name}",
                              nested=parent_run_id is not None,
                              tags={"mlflow.parentRunId": parent_run_id} if parent_run_id else None):
            _log_common(experiment, config_path, "train")
            mlflow.log_param("model", model_name)
            _log_events_input(store, panel)
            feats = feature_columns(estimator, panel, features, matrix)
            if isinstance(metrics, pd.DataFrame):
                mlflow.log_metrics(metrics_dict(metrics))
            elif metrics:
                mlflow.log_metrics({metric_name(k): float(v) for k, v in metrics.items()})
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
    configure()
    import mlflow

    predictions: pd.DataFrame = getattr(result, "predictions")
    metrics: pd.DataFrame | None = getattr(result, "metrics", None)
    warns = list(getattr(result, "warnings", []) or [])
    uri = tracking_uri(experiment.tracking)
    with session(uri, experiment.tracking.experiment) as (client, exp_id):
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name or "backtest",
                              nested=parent_run_id is not None,
                              tags={"mlflow.parentRunId": parent_run_id} if parent_run_id else None) as run:
            _log_common(experiment, config_path, "backtest")
            _log_events_input(store, panel)
            if metrics is not None and len(metrics):
                mlflow.log_metrics(metrics_dict(metrics))
                _log_table(metrics, "backtest", "metrics.csv")
            if extra_metrics:
                mlflow.log_metrics({metric_name(k): float(v) for k, v in extra_metrics.items()})
            _log_table(predictions, "backtest", "predictions.parquet")
            if len(predictions):
                _log_reliability(predictions)
            if warns:
                mlflow.log_text("\n".join(str(w) for w in warns), "backtest/warnings.txt")
                mlflow.set_tag("tension.warnings", str(len(warns)))
            if cache_key:
                mlflow.log_dict(json.loads(json.dumps({"warnings": warns, "leakage": getattr(result, "leakage", {}) or {}},
                                                      default=str)), "backtest/rerun.json")
                mlflow.set_tags(rerun_tags(cache_key, model_keys))
            if nested_origins and len(predictions) and "origin" in predictions:
                _log_origins(client, exp_id, run.info.run_id, predictions)
            run_id = run.info.run_id
    return run_id


def _log_origins(client: MlflowClient, exp_id: str, parent: str, predictions: pd.DataFrame) -> None:
    """One nested run per origin with a few metrics, one ``log_batch`` call each."""
    from mlflow.entities import Metric, Param, RunTag

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
            metrics.append(Metric(metric_name("mean_p", model), float(g["probability"].mean()), now, 0))
            r = res[res["model"] == model]
            if len(r):
                brier = float(((r["probability"].astype(float) - r["outcome"].astype(float)) ** 2).mean())
                metrics.append(Metric(metric_name("brier", model), brier, now, 0))
        client.log_batch(child.info.run_id, metrics=metrics, params=[Param("origin", label)],
                         tags=[RunTag("tension.kind", "backtest-origin")])
        client.set_terminated(child.info.run_id)


def track_health(report: Mapping[str, Any], *, experiment: Experiment, track: bool = True,
                 parent_run_id: str | None = None, run_name: str = "data-health") -> str | None:
    """Log a data-health gate report (``passed``, ``problems``, per-source table) as a run."""
    if not track:
        return None
    configure()
    import mlflow

    uri = tracking_uri(experiment.tracking)
    with session(uri, experiment.tracking.experiment) as (_client, exp_id):
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name, nested=parent_run_id is not None,
                              tags={"mlflow.parentRunId": parent_run_id} if parent_run_id else None) as run:
            mlflow.set_tags({"tension.kind": "data-health", "mlflow.source.git.commit": git_commit(),
                             "tension.gate": "passed" if report.get("passed") else "blocked"})
            numbers = {metric_name(k): float(v) for k, v in report.items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)}
            numbers["gate_passed"] = 1.0 if report.get("passed") else 0.0
            mlflow.log_metrics(numbers)
            mlflow.log_dict(json.loads(json.dumps(dict(report), default=str)), "health/report.json")
            return run.info.run_id
