"""The model registry: aliases (champion, challenger), versions and their tags, loading the pyfunc, stored backtest predictions."""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..config import Experiment
from ..errors import TrackingUnavailableError, UsageError, did_you_mean, problem
from .session import is_connection_problem, pointed, registry_client
from .setup import configure, ensure_store, tracking_uri

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from .model import TensionModel

CHAMPION = "champion"
CHALLENGER = "challenger"
BACKTEST_PREDICTIONS = "backtest/predictions.parquet"
"""Artifact path, on a model version's run, of that model's own backtest predictions (behind the score bands)."""


def model_uri(name: str = "tension", alias: str = CHAMPION) -> str:
    """``models:/<name>@<alias>``."""
    return f"models:/{name}@{alias}"


def latest_version(experiment: Experiment | None = None) -> tuple[int, dict[str, str]] | None:
    """(version, tags) of the newest version of the registered model, or ``None`` when there is none."""
    client, name = registry_client(experiment)
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return None
    if not versions:
        return None
    newest = max(versions, key=lambda mv: int(mv.version))
    return int(newest.version), dict(newest.tags or {})


def alias_version(experiment: Experiment | None = None, alias: str = CHAMPION) -> int | None:
    """The version the alias points at, or ``None`` if the model or alias does not exist."""
    client, name = registry_client(experiment)
    from mlflow.exceptions import MlflowException

    try:
        return int(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as exc:
        if is_connection_problem(exc):
            raise TrackingUnavailableError(problem(f"The MLflow registry at {client.tracking_uri} cannot be reached "
                                                   f"({exc}).", fix="Check the server and run again.")) from None
        return None


def version_tags(experiment: Experiment | None, version_: int) -> dict[str, str]:
    """Tags of one model version (``model``, ``store_digest``, ``config_digest`` ...)."""
    client, name = registry_client(experiment)
    return dict(client.get_model_version(name, str(version_)).tags or {})


def set_alias(experiment: Experiment | None, alias: str, version_: int) -> None:
    """Point ``alias`` of the registered model at ``version_`` (used for promotion and rollback)."""
    client, name = registry_client(experiment)
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(name, str(version_))
    except MlflowException:
        raise UsageError(problem(f"Model {name!r} has no version {version_}.", "an existing version",
                                 got=version_, fix="List versions in the MLflow UI or with `mlflow models`.")) from None
    client.set_registered_model_alias(name, alias, str(version_))


def model_versions(experiment: Experiment | None = None) -> pd.DataFrame:
    """All versions of the registered model: version, run_id, status, aliases."""
    client, name = registry_client(experiment)
    by_version = _aliases_by_version(client, name)
    rows = [{"version": int(mv.version), "run_id": mv.run_id, "status": mv.status,
             "aliases": ",".join(sorted(by_version.get(int(mv.version), [])))}
            for mv in client.search_model_versions(f"name='{name}'")]
    return pd.DataFrame(rows, columns=["version", "run_id", "status", "aliases"]).sort_values("version").reset_index(drop=True)


def _aliases_by_version(client: MlflowClient, name: str) -> dict[int, list[str]]:
    from mlflow.exceptions import MlflowException

    by_version: dict[int, list[str]] = {}
    try:
        for alias, v in (client.get_registered_model(name).aliases or {}).items():
            by_version.setdefault(int(v), []).append(alias)
    except MlflowException:
        return {}
    return by_version


def registry_summary(experiment: Experiment | None = None) -> str:
    """What the registry holds, for error messages: ``challenger v3; promote it with ...``."""
    configure()
    from mlflow.exceptions import MlflowException

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
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    try:
        with warnings.catch_warnings(), pointed(store_uri):
            warnings.simplefilter("ignore")
            return mlflow.pyfunc.load_model(uri)
    except MlflowException as exc:
        if is_connection_problem(exc):
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


def download_table(client: MlflowClient, run_id: str, path: str) -> pd.DataFrame | None:
    """A Parquet artifact of a run as a frame, or ``None`` when the run has none."""
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, path, tmp)
        except (MlflowException, OSError):
            return None
        return pd.read_parquet(local)


def store_backtest_predictions(experiment: Experiment, version_: int, predictions: pd.DataFrame,
                               source: str = "") -> None:
    """Attach a model version's own backtest predictions to its run (``backtest/predictions.parquet``).

    The version gets tags ``backtest_rows`` and ``backtest_source`` so that ``tension score``
    finds them (:func:`backtest_predictions`) and says where its band comes from.
    """
    client, name = registry_client(experiment)
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
    client, name = registry_client(experiment)
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version(name, str(version_))
    except MlflowException:
        return None
    if "backtest_rows" not in (mv.tags or {}):
        return None
    return download_table(client, mv.run_id, BACKTEST_PREDICTIONS)
