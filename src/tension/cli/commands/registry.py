"""CLI commands for the model registry: ``tension model list`` and ``tension model promote``."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from ...errors import UsageError, did_you_mean, problem
from .. import app
from .._common import JsonOpt, StoreOpt, dict_table, emit, progress, store_path

model_app = typer.Typer(help="The model registry: list the versions, promote one to champion (what `tension score` uses).",
                        no_args_is_help=True)
app.add_typer(model_app, name="model")

ConfigOpt = typer.Option(None, "--config", help="Experiment TOML (tracking, registered model, \\[retrain] gate settings).")


def _versions(exp) -> Any:
    from ... import tracking

    return tracking.model_versions(exp)


def resolve_version(exp, which: str) -> int:
    """A version number, or the version an alias (``challenger``, ``champion``) points at; else exit 2 listing what exists."""
    from ... import tracking

    versions = _versions(exp)
    name = exp.tracking.registered_model
    if versions.empty:
        raise UsageError(problem(f"No version of {name!r} is registered.", "a version made by `tension train`", which,
                                 "Run `tension train` first."))
    if which.isdigit():
        if int(which) not in set(versions["version"]):
            raise UsageError(problem(f"{name!r} has no version {which}.",
                                     "one of " + ", ".join(str(v) for v in versions["version"]), which,
                                     "List them with `tension model list`."))
        return int(which)
    aliases = sorted({a for text in versions["aliases"] for a in str(text).split(",") if a})
    version = tracking.alias_version(exp, which)
    if version is None:
        raise UsageError(problem(f"{name!r} has no alias {which!r}." + did_you_mean(which, aliases),
                                 "a version number or an alias: " + (", ".join(aliases) or "(no aliases yet)"), which,
                                 "List versions and aliases with `tension model list`."))
    return version


@model_app.command("list")
def list_versions(
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List the registered versions: aliases, model, training cutoff and whether a backtest is stored with it.

    Example: [bold]tension model list[/bold]
    """
    from ... import tracking
    from ...config import load_experiment

    exp = load_experiment(config)
    versions = _versions(exp)
    rows = []
    for r in versions.itertuples():
        tags = tracking.version_tags(exp, int(r.version))
        rows.append({"version": int(r.version), "aliases": r.aliases or "-", "model": tags.get("model", "?"),
                     "backtest_rows": int(tags.get("backtest_rows", 0)), "run_id": r.run_id})
    lines = [tracking.registry_summary(exp) + "."]
    emit({"registered_model": exp.tracking.registered_model, "versions": rows}, as_json,
         table=dict_table(f"Versions of {exp.tracking.registered_model!r}", rows) if rows else None, lines=lines)


@model_app.command("promote")
def promote(
    which: str = typer.Argument(..., metavar="VERSION|ALIAS", help="Version number (3) or alias (challenger) to make the champion."),
    force: bool = typer.Option(False, "--force", help="Promote without the gate (no backtest against the champion)."),
    config: Path | None = ConfigOpt,
    store: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Make a version the champion, through the same promotion gate as `tension retrain` unless --force.

    The gate refits the version's recipe and the current champion's at the \\[retrain] recent
    origins and promotes when the version is better by promote_margin on promote_metric (or
    when there is no champion yet). Its backtest predictions are stored with the version in
    MLflow: they give `tension score` its bands. A refused promotion exits 2 and changes nothing.

    Example: [bold]tension train && tension model promote challenger && tension score[/bold]
    """
    from ... import tracking
    from ...config import load_experiment
    from ...training import existing_store, gate_version

    exp = load_experiment(config)
    started = time.perf_counter()
    tracking.ensure_store(tracking.tracking_uri(exp.tracking))
    version = resolve_version(exp, which)
    champion = tracking.alias_version(exp, tracking.CHAMPION)
    name = exp.tracking.registered_model
    payload: dict[str, Any] = {"registered_model": name, "version": version, "previous_champion": champion,
                               "forced": force, "gate": None, "backtest_stored": False}
    if champion == version:
        payload["promoted"] = False
        emit(payload, as_json, lines=[f"{name} v{version} is already the champion; nothing changed."])
        return
    how = "forced, without the gate"
    if not force:
        location = existing_store(store_path(store or (exp.store or None)),
                                  "Pass --store, or promote without the gate with --force.")
        with progress("Building panel", total=3) as advance:
            gate = gate_version(exp, location, version, champion, advance)
        payload["backtest_stored"] = True
        how = f"gate passed: {_gate_outcome(gate, exp, payload, which, version, champion)}"
    tracking.set_alias(exp, tracking.CHAMPION, version)
    payload["promoted"] = True
    payload["seconds"] = round(time.perf_counter() - started, 2)
    emit(payload, as_json, lines=[f"{name} v{version} is now the champion ({how}). Next: tension score"])


def _gate_outcome(gate, exp, payload: dict[str, Any], which: str, version: int, champion: int | None) -> str:
    """Record the gate in ``payload``; refuse (exit 2, nothing changed) when the version did not pass; else the comparison."""
    metric = gate.metric
    payload["gate"] = {"metric": metric, "scores": gate.scores, "margin": exp.retrain.promote_margin,
                       "beats_history": gate.beats_history["challenger"], "passed": gate.promote}
    versus = (f"{metric} {gate.scores['challenger']:.5f} vs history {gate.scores['history']:.5f}"
              + (f" and champion v{champion} {gate.scores['champion']:.5f}" if champion else ", no champion yet")
              + f" (margin {exp.retrain.promote_margin})")
    if not gate.promote:
        loser = "the pair's own history (the `history` baseline)" if not gate.beats_history["challenger"] else f"champion v{champion}"
        raise UsageError(problem(f"The promotion gate refused v{version}: it does not beat {loser}. Nothing was changed.",
                                 f"v{version} better than history, and than the champion by {exp.retrain.promote_margin}, on {metric}",
                                 versus,
                                 f"Keep what is published, or override the gate: `tension model promote {which} --force`."))
    return versus
