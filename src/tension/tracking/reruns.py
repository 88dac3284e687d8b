"""Reusing earlier backtest work: runs are tagged with rerun keys, and a rerun takes its models' predictions back."""
from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Experiment
from .registry import BACKTEST_PREDICTIONS, download_table
from .session import registry_client, session
from .setup import tracking_uri

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

CACHE_KEY_TAG = "tension.cache_key"
"""Tag of a backtest run's whole rerun key (data, config, spec and code digest)."""
MODEL_KEY_TAG = "tension.model_key."
"""Prefix of a backtest run's per-model rerun keys (``tension.model_key.logit``)."""


def rerun_tags(cache_key: str, model_keys: Mapping[str, str] | None) -> dict[str, str]:
    """The tags that let a later run find this backtest's models (:func:`cached_models`)."""
    return {CACHE_KEY_TAG: cache_key, **{f"{MODEL_KEY_TAG}{name}": key for name, key in (model_keys or {}).items()}}


def cached_models(experiment: Experiment, keys: Mapping[str, str]) -> dict[str, Any]:
    """Each model's predictions from the newest FINISHED backtest run that fitted it under the same key.

    ``keys``: model name -> per-model rerun key. Returns ``{"predictions": {name: frame},
    "runs": {name: run_id}, "warnings": [...], "leakage": {...}}`` for the models found (the
    warnings and leakage summary of the runs they come from); models not found are absent.
    """
    found = _newest_runs(experiment, keys)
    out: dict[str, Any] = {"predictions": {}, "runs": {}, "warnings": [], "leakage": {}}
    client, _ = registry_client(experiment)
    for run_id in dict.fromkeys(found.values()):
        table = download_table(client, run_id, BACKTEST_PREDICTIONS)
        if table is None:
            continue
        names = [n for n, r in found.items() if r == run_id]
        _add_run_notes(out, client, run_id, others=set(table["model"].astype(str)) - set(names))
        for name in names:
            out["predictions"][name] = table[table["model"] == name]
            out["runs"][name] = run_id
    out["warnings"] = list(dict.fromkeys(out["warnings"]))
    return out


def _newest_runs(experiment: Experiment, keys: Mapping[str, str]) -> dict[str, str]:
    """Model name -> id of the newest FINISHED run tagged with that model's key."""
    found: dict[str, str] = {}
    with session(tracking_uri(experiment.tracking), experiment.tracking.experiment) as (client, exp_id):
        for name, key in keys.items():
            runs = client.search_runs([exp_id], filter_string=f"tags.`{MODEL_KEY_TAG}{name}` = '{key}' and "
                                      "attributes.status = 'FINISHED'", max_results=1,
                                      order_by=["attributes.start_time DESC"])
            if runs:
                found[name] = runs[0].info.run_id
    return found


def _add_run_notes(out: dict[str, Any], client: MlflowClient, run_id: str, others: set[str]) -> None:
    """Add a run's leakage summary and its warnings, less those about its models not taken from it (``others``)."""
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp, contextlib.suppress(MlflowException, OSError, ValueError):
        extra = json.loads(Path(client.download_artifacts(run_id, "backtest/rerun.json", tmp)).read_text())
        out["leakage"] = out["leakage"] or extra.get("leakage", {})
        out["warnings"] += [w for w in extra.get("warnings", []) if not any(w.startswith(f"{o} @") for o in others)]
