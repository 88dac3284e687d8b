"""CLI commands for the model stage: ``tension backtest`` and ``tension train``."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from ...errors import UsageError, problem
from .. import app
from .._common import EngineOpt, JsonOpt, SchedulerOpt, StoreOpt, emit, parse_date, progress, results, store_path

ExperimentOpt = typer.Option(None, "--experiment", help="Experiment TOML (experiments/*.toml); flags override it.")
FreqOpt = typer.Option(None, "--freq", help="Period: D (day), W (ISO week, Monday), M (month); default from the experiment.")
DyadsOpt = typer.Option(None, "--dyads", help="directed or undirected; default from the experiment.")
HorizonOpt = typer.Option(None, "--horizon", help="Periods ahead h (window t+1..t+h).")
TargetOpt = typer.Option(None, "--target", help="any_material_conflict, onset or surge.")
KOpt = typer.Option(None, "--k", help="Minimum material-conflict events in the window.")

SHORT_A = {"model": "model", "n_positives": "pos", "brier": "brier", "log_loss": "logloss", "roc_auc": "auc",
           "average_precision": "ap", "ece": "ece"}
SHORT_B = {"model": "model", "bss_base_rate": "bss_base", "bss_persistence": "bss_pers", "missed_escalation_rate": "missed",
           "precision_at_k": "prec@k", "onset_ap": "onset_ap"}


def _table(title: str, rows: list[dict[str, Any]], columns: dict[str, str]):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for key, head in columns.items():
        table.add_column(head, justify="left" if key == "model" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(f"{row[k]:.3f}" if isinstance(row[k], float) else str(row[k]) for k in columns))
    return table


def compare_table(skill, baseline: str):
    """Rich table of :func:`tension.backtest.compare_to_baseline` records: difference and 90% interval per metric."""
    from rich.table import Table

    table = Table(title=f"Difference to {baseline} (model - {baseline}; 90% dyad-block bootstrap interval; * = beyond noise)",
                  title_justify="left")
    for head in ("model", "metric", "value", baseline, "difference", "90% interval"):
        table.add_column(head, justify="left" if head in ("model", "metric") else "right", no_wrap=True)
    for r in skill.to_dict("records"):
        fmt = "{:.5f}" if r["metric"] == "brier" else "{:.3f}"
        table.add_row(str(r["model"]), str(r["metric"]), fmt.format(r["model_value"]), fmt.format(r["history_value"]),
                      ("{:+.5f}" if r["metric"] == "brier" else "{:+.3f}").format(r["difference"]) + ("*" if r["beats_history"] else ""),
                      f"[{fmt.format(r['low'])}, {fmt.format(r['high'])}]")
    return table


def _experiment(experiment: Path | None, **overrides: Any):
    from ...config import load_experiment

    return load_experiment(experiment, **overrides)


def _location(store: str | None, exp) -> str:
    from ...training import existing_store

    return existing_store(store_path(store or (exp.store or None)))


def _backtest_experiment(experiment: Path | None, compare: str | None, models: str | None, **overrides: Any):
    """The experiment with the command's overrides; ``--compare``'s model joins the models when missing."""
    from ...training import check_experiment

    names = tuple(n.strip() for n in models.split(",") if n.strip()) if models else None
    if compare and names is not None and compare not in names:
        names = (compare, *names)
    exp = _experiment(experiment, models__names=names, **overrides)
    if compare and compare not in exp.models.names:
        exp = _experiment(experiment, models__names=(compare, *exp.models.names), **overrides)
    check_experiment(exp)
    return exp


def _check_suffixes(out: Path | None, report: Path | None) -> None:
    for path, suffixes in ((out, (".parquet", ".csv")), (report, (".md",))):
        if path is not None and path.suffix.lower() not in suffixes:
            raise UsageError(problem("Unknown output format.", " or ".join(suffixes), str(path), f"Use a {suffixes[0]} file."))


def _backtest_payload(run, exp, engine: str, out: Path | None, report: Path | None, seconds: float) -> dict[str, Any]:
    result, spec = run.result, run.result.spec
    return {
        "run_id": result.predictions["run_id"].iloc[0], "mlflow_run_id": run.mlflow_run, "mlflow_parent_run_id": run.parent_run,
        "engine": engine, "reused": not run.missing, "reused_models": list(run.reused),
        "rerun_key": run.key,
        "experiment": exp.name,
        "target": exp.target.name, "k": exp.target.k, "horizon": spec.horizon, "freq": spec.freq, "dyads": exp.panel.dyads,
        "origins": [str(spec.start.date()), str(spec.end.date())],
        "predictions": len(result.predictions), "out": str(out) if out else None, "report": str(report) if report else None,
        "metrics": result.metrics.sort_values("brier").to_dict("records"), "warnings": result.warnings, "leakage": result.leakage,
        "seconds": round(seconds, 2),
    }


def _backtest_lines(run, out: Path | None, report: Path | None) -> list[str]:
    result, missing = run.result, run.missing
    table = result.metrics
    lines = [f"{len(result.predictions)} predictions, {table['n_origins'].max()} origins, {int(table['n_positives'].max())} positives; "
             f"leakage check passed at {', '.join(result.leakage.get('origins_checked', []))}."]
    if result.warnings:
        lines.append(f"[yellow]{len(result.warnings)} warning(s):[/yellow]")
        lines += [f"  - {w}" for w in result.warnings[:25]]
        if len(result.warnings) > 25:
            lines.append(f"  ... {len(result.warnings) - 25} more (see --json or --report)")
    if run.reused:
        lines.insert(0, (f"Reused the backtest of MLflow run {run.mlflow_run}" if not missing else f"Reused {', '.join(run.reused)}")
                     + f": same data, configuration and code (key {run.key}); "
                     + ("nothing was refitted." if not missing else f"fitted only {', '.join(missing)}."))
    if out:
        lines.append(f"Predictions written to {out}.")
    if report:
        lines.append(f"Report written to {report}.")
    return lines


def _print_backtest(run, exp, skill, compare: str | None) -> None:
    """The two metric tables (and the comparison) for humans, on stdout."""
    from ...reports.backtest import METRIC_COLUMNS

    table = run.result.metrics.sort_values("brier")
    rows = [{c: r[c] for c in METRIC_COLUMNS if c in table.columns} for r in table.to_dict("records")]
    spec = run.result.spec
    title = f"Backtest {exp.target.name} h={spec.horizon} ({spec.freq}), sorted by Brier"
    results.print(_table(f"{title}: accuracy and discrimination", rows, SHORT_A))
    results.print(_table("Skill against baselines, alerts and onsets", rows, SHORT_B))
    if compare:
        results.print(compare_table(skill, compare))


@app.command()
def backtest(
    store: str | None = StoreOpt,
    experiment: Path | None = ExperimentOpt,
    freq: str | None = FreqOpt,
    dyads: str | None = DyadsOpt,
    horizon: int | None = HorizonOpt,
    target: str | None = TargetOpt,
    k: int | None = KOpt,
    start: str | None = typer.Option(None, "--start", help="First forecast origin (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="Last forecast origin (YYYY-MM-DD)."),
    models: str | None = typer.Option(None, "--models", help="Comma-separated model names (base_rate and persistence are always added)."),
    out: Path | None = typer.Option(None, "--out", help="Write the predictions table here (.parquet or .csv)."),
    report: Path | None = typer.Option(None, "--report", help="Write the metrics table and warnings as Markdown here (plus a reliability PNG beside it)."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log the run to MLflow."),
    compare: str | None = typer.Option(None, "--compare", help="Also print each model's difference to this model (e.g. history: AP, Brier, ROC-AUC, onset AP) with a 90% dyad-block bootstrap interval; the model is added to --models."),
    engine: str = EngineOpt,
    scheduler: str | None = SchedulerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Rolling-origin backtest of the chosen models; prints the metrics table.

    Expanding window, refit every n origins, gap >= horizon, a leakage check that rebuilds
    the panel from events cut at sample origins, and every statistical warning shown.
    MLflow: a driver run with the backtest run and the engine's per-model runs under it.
    Models already backtested on the same panel rows, configuration, spec and code are reused
    from MLflow, so a rerun fits nothing and an added model is the only one fitted.
    Progress: one step per model and block of origins, with the time remaining.

    Example: [bold]tension backtest --experiment experiments/default.toml --models logit,hgb --out data/predictions.parquet[/bold]

    Skill over the pair's own history: [bold]tension backtest --experiment experiments/icews_monthly.toml --compare history[/bold]
    """
    from ...backtest import compare_to_baseline
    from ...reports.backtest import write_backtest
    from ...training import backtest_experiment

    start, end = parse_date(start, "--start"), parse_date(end, "--end")
    exp = _backtest_experiment(experiment, compare, models, panel__freq=freq.upper() if freq else None, panel__dyads=dyads,
                               target__horizon=horizon, target__name=target, target__k=k, backtest__start=start,
                               backtest__end=end)
    _check_suffixes(out, report)
    location = _location(store, exp)
    started = time.perf_counter()
    source = str(experiment) if experiment else "(defaults)"
    with progress("Building panel", total=2) as advance:
        run = backtest_experiment(exp, location, engine=engine, scheduler=scheduler, track=not no_track,
                                  config_path=experiment, write=lambda r: write_backtest(r, exp, source, out, report),
                                  advance=advance)
    payload = _backtest_payload(run, exp, engine, out, report, time.perf_counter() - started)
    skill = None
    if compare:
        skill = compare_to_baseline(run.result.predictions, compare,
                                    models=[m for m in exp.models.names if m not in ("base_rate", "persistence")])
        payload["compare"] = {"baseline": compare, "level": 0.9, "rows": skill.to_dict("records")}
    if not as_json:
        _print_backtest(run, exp, skill, compare)
    emit(payload, as_json, lines=_backtest_lines(run, out, report))


@app.command()
def train(
    store: str | None = StoreOpt,
    experiment: Path | None = ExperimentOpt,
    model: str | None = typer.Option(None, "--model", help="Model name (default: the experiment's \\[models] candidate)."),
    cutoff: str | None = typer.Option(None, "--cutoff", help="Use data up to this date, YYYY-MM-DD (default: everything)."),
    freq: str | None = FreqOpt,
    dyads: str | None = DyadsOpt,
    horizon: int | None = HorizonOpt,
    target: str | None = TargetOpt,
    k: int | None = KOpt,
    out: Path | None = typer.Option(None, "--out", help="Also save the fitted model here (joblib)."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log or register the model in MLflow."),
    as_json: bool = JsonOpt,
) -> None:
    """Fit one model on everything known at a cutoff; log it to MLflow and register it as `challenger`.

    Only rows whose label window has closed by the cutoff are used. Like the promotion gate, it then
    backtests the model against the `history` baseline on the latest \\[retrain] recent_origins and
    says whether it beats it (a model that does not is never promoted). Promote it with
    `tension model promote challenger` (or let `tension retrain` decide). Nothing is trained when the
    latest version saw the same panel rows, configuration, cutoff and code (it says so).
    --out also saves a joblib file, --no-track skips MLflow.

    Example: [bold]tension train --experiment experiments/default.toml --model logit --cutoff 2024-06-30 --out data/model.joblib[/bold]
    """
    from ...training import save_model, train_experiment

    cutoff = parse_date(cutoff, "--cutoff")
    exp = _experiment(experiment, panel__freq=freq.upper() if freq else None, panel__dyads=dyads, target__horizon=horizon,
                      target__name=target, target__k=k, models__candidate=model)
    location = _location(store, exp)
    started = time.perf_counter()
    with progress("Building panel", total=4) as advance:
        run = train_experiment(exp, location, cutoff, track=not no_track, refit=out is not None, config_path=experiment,
                               advance=advance)
        if run.unchanged is None and out is not None:
            save_model(out, run, exp)
        if run.unchanged is None:
            advance(1, description="Saved")
    if run.unchanged is not None:
        payload = {"skipped": True, "registered_model": exp.tracking.registered_model, "version": run.unchanged,
                   "model": exp.models.candidate, "rerun_key": run.key, "out": None,
                   "seconds": round(time.perf_counter() - started, 2)}
        emit(payload, as_json, lines=[
            f"Nothing to train: {exp.tracking.registered_model} v{run.unchanged} was trained on the same data, configuration "
            f"and code (key {run.key}); no new version registered. Next: tension model promote {run.unchanged}, or tension score."])
        return
    payload, lines = _train_summary(run, exp, out, time.perf_counter() - started)
    emit(payload, as_json, lines=lines)


def _train_summary(run, exp, out: Path | None, seconds: float) -> tuple[dict[str, Any], list[str]]:
    """The result of a training for --json and for humans."""
    info, record = run.info, run.record
    payload = {"out": str(out) if out else None, "run_id": getattr(record, "run_id", None),
               "registered_model": getattr(record, "registered_model", None), "version": getattr(record, "version", None),
               "alias": getattr(record, "alias", None), "model": exp.models.candidate, **{k_: v for k_, v in info.items() if k_ != "features"},
               "n_features": len(info["features"]), "seconds": round(seconds, 2)}
    lines = [f"Fitted {exp.models.candidate} on {info['rows']} rows ({info['positives']} positives, {info['first_period']}..{info['last_period']})"
             + (f"; registered as {record.registered_model} v{record.version} (alias {record.alias})" if getattr(record, "version", None) else "")
             + (f"; saved to {out}" if out else "") + "."]
    payload["vs_history"] = run.gate
    lines.append(run.gate["message"])
    lines += [f"[yellow]warning:[/yellow] {w}" for w in info["warnings"]]
    return payload, lines
