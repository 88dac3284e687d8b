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

METRIC_COLUMNS = (
    "model", "horizon", "n_positives", "brier", "log_loss", "roc_auc", "average_precision", "ece",
    "bss_base_rate", "bss_persistence", "missed_escalation_rate", "precision_at_k", "onset_ap",
)


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
    location = store_path(store or (exp.store or None))
    if "://" not in location and not Path(location).exists():
        raise UsageError(problem("The event store does not exist.", "a folder made by 'tension ingest'", location,
                                 "Run tension ingest FILE --store DIR first, or pass --store."))
    return location


def _panel(location: str, exp, advance) -> Any:
    from ...panel import build_panel

    return build_panel(location, freq=exp.panel.freq, dyads=exp.panel.dyads, config=exp.panel, regions=exp.regions,
                       on_progress=lambda name: advance(1, description=f"panel: {name}"))


def _train_key(panel, cutoff: str, exp) -> str:
    """Rerun key of a training: the panel rows up to the cutoff, configuration, cutoff, model, code."""
    from ... import tracking
    from ...backtest import panel_digest, rerun_key
    from ...jobs import config_digest

    return rerun_key("train", panel_digest(panel, cutoff), config_digest(exp), cutoff, exp.models.candidate,
                     tracking.code_version())


def _same_model(exp, key: str) -> int | None:
    """The latest registered version when it was trained under ``key`` (so training again would change nothing)."""
    from ... import tracking

    latest = tracking.latest_version(exp)
    return latest[0] if latest is not None and latest[1].get("train_key") == key else None


def _resolve_names(names) -> tuple[str, ...]:
    """The models a backtest fits: the baselines first, then the chosen ones (as ``run_backtest`` orders them)."""
    from ...backtest import REQUIRED_BASELINES

    return tuple(dict.fromkeys([*(b for b in REQUIRED_BASELINES if b not in names), *names]))


def _backtest_keys(panel, spec, exp, names) -> tuple[str, dict[str, str]]:
    """Rerun keys of a backtest and of each model in it.

    A model's key covers what its predictions depend on: the panel rows up to the last label
    window, the configuration except the list of models, the spec, the model name and the
    code. Adding a model to the experiment leaves the other models' keys unchanged.
    """
    import dataclasses

    from ... import tracking
    from ...backtest import panel_digest, rerun_key, shift_period
    from ...jobs import config_digest

    until = shift_period(spec.end, spec.horizon, spec.freq)
    bare = dataclasses.replace(exp, models=dataclasses.replace(exp.models, names=(), candidate=""))
    base = rerun_key("backtest", panel_digest(panel, until), config_digest(bare), repr(spec), tracking.code_version())
    return rerun_key(base, *sorted(names)), {n: rerun_key(base, n) for n in names}


def _write_outputs(result, exp, experiment: Path | None, out: Path | None, report: Path | None) -> None:
    """The predictions file (``--out``) and the Markdown report with its reliability PNG (``--report``)."""
    from ..._io import atomic_output
    from ...backtest import reliability_figure

    if out is not None:
        with atomic_output(out, "predictions") as tmp:
            (result.predictions.to_parquet if out.suffix.lower() == ".parquet" else result.predictions.to_csv)(tmp, index=False)
    if report is not None:
        with atomic_output(report, "backtest report") as tmp:
            tmp.write_text(markdown_report(result, exp, f"Backtest: {exp.name}", str(experiment) if experiment else "(defaults)"),
                           encoding="utf-8")
        fig = reliability_figure(result.predictions)
        fig.savefig(report.with_suffix(".reliability.png"), dpi=110, bbox_inches="tight")


def _origin_progress(advance, n_origins: int):
    """Callbacks moving the bar one step per (model, origin); a model's leftover steps close when it ends."""
    done: dict[str, int] = {}

    def on_origin(name: str, n: int, total: int) -> None:
        step = max(min(n, n_origins) - done.get(name, 0), 0)  # a reused model's refitted baselines add nothing
        done[name] = done.get(name, 0) + step
        advance(step, description=f"{name}: origin {n}/{total}")

    def on_model(name: str) -> None:
        advance(max(n_origins - done.get(name, 0), 0), description=f"{name} done")
        done[name] = n_origins

    return on_origin, on_model


def _default_window(panel, exp) -> tuple[Any, Any]:
    from ...backtest import shift_period

    last = panel["period"].max()
    end = exp.backtest.end or str(shift_period(last, -exp.target.horizon, exp.panel.freq).date())
    start = exp.backtest.start or str(shift_period(_ts(end), -25 * exp.backtest.step, exp.panel.freq).date())
    return start, end


def _ts(value: Any):
    import pandas as pd

    return pd.Timestamp(value)


def _verdict(m) -> str:
    """Does the best non-baseline model (by AP) beat base rate and persistence on AP and Brier skill?"""
    from ...models import BASELINES

    cands = m[~m["model"].isin(BASELINES)].dropna(subset=["average_precision"])
    if cands.empty:
        return "No non-baseline model produced a defined average precision."
    best = cands.sort_values("average_precision", ascending=False).iloc[0]
    ref = m.set_index("model")
    lines = [f"Best model by average precision: **{best['model']}** (AP {best['average_precision']:.4f}, ROC-AUC {best['roc_auc']:.4f}, "
             f"Brier {best['brier']:.5f}, {int(best['n_positives'])} positives)."]
    for base in ("base_rate", "persistence"):
        if base in ref.index:
            ap_ok = best["average_precision"] > ref.loc[base, "average_precision"]
            bss = best[f"bss_{base}"]
            lines.append(f"- vs {base}: AP {best['average_precision']:.4f} vs {ref.loc[base, 'average_precision']:.4f} "
                         f"({'beats' if ap_ok else 'does NOT beat'}); Brier skill {bss:+.4f} ({'beats' if bss > 0 else 'does NOT beat'}).")
    return "\n".join(lines)


def markdown_report(result, exp, title: str, source: str) -> str:
    """The metrics table, spec and warnings of a backtest as Markdown."""
    m = result.metrics
    spec = result.spec
    cols = [c for c in (*METRIC_COLUMNS, "n", "n_origins", "onset_positives") if c in m.columns]
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = ""
    for _, row in m.sort_values("brier").iterrows():
        body += "| " + " | ".join(f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in cols) + " |\n"
    verdict = _verdict(m)
    warn = "\n".join(f"- {w}" for w in result.warnings[:60]) or "- none"
    more = f"\n- ... and {len(result.warnings) - 60} more" if len(result.warnings) > 60 else ""
    return (
        f"# {title}\n\nGenerated by `tension backtest --experiment {source} --report ...` (do not edit by hand).\n\n"
        f"- Target: `{exp.target.name}`, k={exp.target.k}, horizon h={spec.horizon} ({spec.freq}), dyads: {exp.panel.dyads}\n"
        f"- Origins: {spec.start.date()} .. {spec.end.date()} every {spec.step} period(s); refit every {spec.refit_every} origin(s); "
        f"training from {spec.train_start.date() if spec.train_start is not None else 'the first period'}; gap {spec.effective_gap} period(s)\n"
        f"- Leakage check: {result.leakage.get('origins_checked')} (rebuild from events: {result.leakage.get('rebuild')})\n"
        f"- Alert threshold for missed escalations: {exp.backtest.alert_threshold}; precision at top-{exp.backtest.top_k} dyads per origin\n\n"
        "Rows are sorted by Brier score (lower is better). `bss_*` = Brier skill against that baseline on the same rows "
        "(> 0 beats it). `n_positives` counts resolved positive dyad-origins.\n\n"
        f"{head}{body}\n## Verdict\n\n{verdict}\n\n## Warnings\n\n{warn}{more}\n"
    )


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
    from ... import tracking
    from ...backtest import BacktestResult, BacktestSpec, metrics, shift_period
    from ...engines import get_engine
    from ...models import MODELS
    import pandas as pd

    from ...store import Store
    from ...panel import build_panel

    names = tuple(n.strip() for n in models.split(",") if n.strip()) if models else None
    start, end = parse_date(start, "--start"), parse_date(end, "--end")
    if compare and names is not None and compare not in names:
        names = (compare, *names)
    exp = _experiment(experiment, panel__freq=freq.upper() if freq else None, panel__dyads=dyads, target__horizon=horizon,
                      target__name=target, target__k=k, backtest__start=start, backtest__end=end, models__names=names)
    if compare and compare not in exp.models.names:
        exp = _experiment(experiment, panel__freq=freq.upper() if freq else None, panel__dyads=dyads, target__horizon=horizon,
                          target__name=target, target__k=k, backtest__start=start, backtest__end=end,
                          models__names=(compare, *exp.models.names))
    unknown = [n for n in exp.models.names if n not in MODELS]
    if unknown:
        from ...errors import did_you_mean

        raise UsageError(problem(f"Unknown model {unknown[0]!r}." + did_you_mean(unknown[0], MODELS), "names among " + ", ".join(MODELS), ",".join(unknown), "Fix --models or [models] names."))
    from ...targets import TARGETS

    if exp.target.name not in TARGETS:
        from ...errors import did_you_mean

        raise UsageError(problem("Unknown target." + did_you_mean(exp.target.name, TARGETS), "one of " + ", ".join(TARGETS), exp.target.name, "Use --target any_material_conflict, onset or surge."))
    for path, suffixes in ((out, (".parquet", ".csv")), (report, (".md",))):
        if path is not None and path.suffix.lower() not in suffixes:
            raise UsageError(problem("Unknown output format.", " or ".join(suffixes), str(path), f"Use a {suffixes[0]} file."))
    location = _location(store, exp)
    started = time.perf_counter()
    n_models = len(_resolve_names(exp.models.names))
    if not no_track:
        tracking.ensure_store(tracking.tracking_uri(exp.tracking))
    with get_engine(engine, scheduler) as eng, progress("Building panel", total=2) as advance:
        panel = eng.build_panel(location, freq=exp.panel.freq, dyads=exp.panel.dyads, config=exp.panel, regions=exp.regions)
        if panel.empty:
            raise UsageError(problem("The panel is empty.", "events in the store", location, "Ingest events first."))
        b = exp.backtest
        s, e = _default_window(panel, exp)
        spec = BacktestSpec(s, e, freq=exp.panel.freq, horizon=exp.target.horizon, step=b.step, refit_every=b.refit_every,
                            min_train_periods=b.min_train_periods, gap=b.gap, train_start=b.train_start)
        n_origins = max(len(spec.origins(pd.DatetimeIndex(pd.unique(panel["period"])))), 1)
        # one step for the panel, one per (model, origin), one for tracking: the bar ends at its total
        advance(1, description="Panel built", total=2 + n_models * n_origins)
        on_origin, on_model = _origin_progress(advance, n_origins)

        def rebuild(origin):
            cut = shift_period(origin, 1, spec.freq) - _ts("1970-01-02") + _ts("1970-01-01")  # last day of the origin period
            return build_panel(location, freq=exp.panel.freq, dyads=exp.panel.dyads, config=exp.panel, regions=exp.regions,
                               end=str(cut.date()))

        names = list(_resolve_names(exp.models.names))
        key, model_keys = _backtest_keys(panel, spec, exp, names)
        reuse = tracking.cached_models(exp, model_keys) if not no_track else {"predictions": {}}
        missing = [n for n in names if n not in reuse["predictions"]]
        for n in names:
            if n not in missing:
                on_model(n)
        if not missing:
            predictions = pd.concat(list(reuse["predictions"].values()), ignore_index=True)
            result = BacktestResult(predictions=predictions, spec=spec, warnings=reuse["warnings"], leakage=reuse["leakage"],
                                    metrics=metrics(predictions, alert_threshold=b.alert_threshold, top_k=b.top_k))
            parent_run, mlflow_run = None, next(iter(reuse["runs"].values()))
            _write_outputs(result, exp, experiment, out, report)
        else:
            # the driver's run: the engine's per-model child runs and the backtest run nest under it (as in retrain)
            with tracking.job_run(exp, track=not no_track, run_name=f"tension backtest ({engine})") as parent_run:
                checked = bool(reuse["predictions"]) and bool(reuse["leakage"])  # same panel: checked already
                advance(0, description=("" if checked else "Leakage check, then ")
                        + f"{len(missing)} models x {n_origins} origins" + (f" ({len(names) - len(missing)} reused)" if checked else ""))
                fresh = eng.run_backtest(
                    panel, spec, models=missing, target=exp.target.name, k=exp.target.k, q=exp.target.q,
                    quantile=exp.target.quantile, lookback=exp.target.lookback, alert_threshold=b.alert_threshold,
                    top_k=b.top_k, rebuild=rebuild, leakage_checks=0 if checked else b.leakage_checks, on_progress=on_model,
                    on_origin=on_origin, parent_run_id=parent_run, experiment=exp if parent_run else None,
                )
                kept = [p for n, p in reuse["predictions"].items() if n not in set(fresh.predictions["model"])]
                predictions = pd.concat([fresh.predictions, *kept], ignore_index=True)
                result = BacktestResult(predictions=predictions, spec=spec,
                                        warnings=list(dict.fromkeys(fresh.warnings + reuse.get("warnings", []))),
                                        leakage=reuse["leakage"] if checked else fresh.leakage,
                                        metrics=metrics(predictions, alert_threshold=b.alert_threshold, top_k=b.top_k))
                _write_outputs(result, exp, experiment, out, report)
                advance(0, description="Logging to MLflow" if not no_track else "Writing")
                mlflow_run = tracking.track_backtest(result, experiment=exp, store=Store(location), panel=panel,
                                                     config_path=experiment, track=not no_track, parent_run_id=parent_run,
                                                     cache_key=key, model_keys=model_keys)
        advance(1, description="Done")
    table = result.metrics.sort_values("brier")
    rows = [{c: r[c] for c in METRIC_COLUMNS if c in table.columns} for r in table.to_dict("records")]
    payload = {
        "run_id": result.predictions["run_id"].iloc[0], "mlflow_run_id": mlflow_run, "mlflow_parent_run_id": parent_run,
        "engine": engine, "reused": not missing, "reused_models": [n for n in names if n not in missing],
        "rerun_key": key,
        "experiment": exp.name,
        "target": exp.target.name, "k": exp.target.k, "horizon": spec.horizon, "freq": spec.freq, "dyads": exp.panel.dyads,
        "origins": [str(spec.start.date()), str(spec.end.date())],
        "predictions": len(result.predictions), "out": str(out) if out else None, "report": str(report) if report else None,
        "metrics": table.to_dict("records"), "warnings": result.warnings, "leakage": result.leakage,
        "seconds": round(time.perf_counter() - started, 2),
    }
    lines = [f"{len(result.predictions)} predictions, {table['n_origins'].max()} origins, {int(table['n_positives'].max())} positives; "
             f"leakage check passed at {', '.join(result.leakage.get('origins_checked', []))}."]
    if result.warnings:
        lines.append(f"[yellow]{len(result.warnings)} warning(s):[/yellow]")
        lines += [f"  - {w}" for w in result.warnings[:25]]
        if len(result.warnings) > 25:
            lines.append(f"  ... {len(result.warnings) - 25} more (see --json or --report)")
    if len(missing) < len(names):
        again = [n for n in names if n not in missing]
        lines.insert(0, (f"Reused the backtest of MLflow run {mlflow_run}" if not missing else f"Reused {', '.join(again)}")
                     + f": same data, configuration and code (key {key}); "
                     + ("nothing was refitted." if not missing else f"fitted only {', '.join(missing)}."))
    if out:
        lines.append(f"Predictions written to {out}.")
    if report:
        lines.append(f"Report written to {report}.")
    if compare:
        from ...backtest import compare_to_baseline

        skill = compare_to_baseline(result.predictions, compare, models=[m for m in exp.models.names if m not in ("base_rate", "persistence")])
        payload["compare"] = {"baseline": compare, "level": 0.9, "rows": skill.to_dict("records")}
    if not as_json:
        title = f"Backtest {exp.target.name} h={spec.horizon} ({spec.freq}), sorted by Brier"
        results.print(_table(f"{title}: accuracy and discrimination", rows, SHORT_A))
        results.print(_table("Skill against baselines, alerts and onsets", rows, SHORT_B))
        if compare:
            results.print(compare_table(skill, compare))
    emit(payload, as_json, lines=lines)


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
    import joblib

    from ... import tracking
    from ..._io import atomic_output
    from ...backtest import fit_final
    from ...store import Store
    from ...models import make_model

    cutoff = parse_date(cutoff, "--cutoff")
    exp = _experiment(experiment, panel__freq=freq.upper() if freq else None, panel__dyads=dyads, target__horizon=horizon,
                      target__name=target, target__k=k, models__candidate=model)
    estimator = make_model(exp.models.candidate)
    location = _location(store, exp)
    started = time.perf_counter()
    if not no_track:
        tracking.ensure_store(tracking.tracking_uri(exp.tracking))
    with progress("Building panel", total=4) as advance:
        panel = _panel(location, exp, advance)
        cut = cutoff or str(panel["period"].max().date())
        key = _train_key(panel, cut, exp)
        same = None if no_track or out is not None else _same_model(exp, key)  # --out asks for the fitted file
        if same is not None:
            advance(1, description="Unchanged")
            payload = {"skipped": True, "registered_model": exp.tracking.registered_model, "version": same,
                       "model": exp.models.candidate, "rerun_key": key, "out": None,
                       "seconds": round(time.perf_counter() - started, 2)}
            emit(payload, as_json, lines=[
                f"Nothing to train: {exp.tracking.registered_model} v{same} was trained on the same data, configuration "
                f"and code (key {key}); no new version registered. Next: tension model promote {same}, or tension score."])
            return
        fitted, info = fit_final(estimator, panel, cut, freq=exp.panel.freq, horizon=exp.target.horizon, target=exp.target.name,
                                 k=exp.target.k, q=exp.target.q, quantile=exp.target.quantile, lookback=exp.target.lookback,
                                 train_start=exp.backtest.train_start)
        record = tracking.track_train(fitted, panel, experiment=exp, model_name=exp.models.candidate,
                                      features=info["features"], store=Store(location), config_path=experiment,
                                      cutoff=info["cutoff"], track=not no_track, version_tags={"train_key": key},
                                      metrics={"train_rows": info["rows"], "train_positives": info["positives"]})
        gate = _history_gate(exp, panel, info["cutoff"])
        if out is not None:
            with atomic_output(out, "model file") as tmp:
                joblib.dump({"estimator": fitted, "model": exp.models.candidate, "experiment": exp.name,
                             "dyads": exp.panel.dyads, **info}, tmp)
        advance(1, description="Saved")
    payload = {"out": str(out) if out else None, "run_id": getattr(record, "run_id", None),
               "registered_model": getattr(record, "registered_model", None), "version": getattr(record, "version", None),
               "alias": getattr(record, "alias", None), "model": exp.models.candidate, **{k_: v for k_, v in info.items() if k_ != "features"},
               "n_features": len(info["features"]), "seconds": round(time.perf_counter() - started, 2)}
    lines = [f"Fitted {exp.models.candidate} on {info['rows']} rows ({info['positives']} positives, {info['first_period']}..{info['last_period']})"
             + (f"; registered as {record.registered_model} v{record.version} (alias {record.alias})" if getattr(record, "version", None) else "")
             + (f"; saved to {out}" if out else "") + "."]
    payload["vs_history"] = gate
    lines.append(gate["message"])
    lines += [f"[yellow]warning:[/yellow] {w}" for w in info["warnings"]]
    emit(payload, as_json, lines=lines)


def _history_gate(exp, panel, cutoff: str) -> dict[str, Any]:
    """The retrain gate's comparison with history for the trained model (what `tension retrain` would decide)."""
    from ...jobs import history_gate

    try:
        gate = history_gate(exp, panel, cutoff, exp.models.candidate)
    except UsageError as exc:
        return {"beats_history": None, "message": f"not compared with history: {str(exc).splitlines()[0]}"}
    verdict = "beats" if gate["beats_history"] else "does NOT beat (tension retrain will not promote it)"
    gate["message"] = (f"{exp.models.candidate} {verdict} the pair's own history on the gate's {exp.retrain.recent_origins} latest origins: "
                       f"{gate['metric']} {gate['model']:.5f} vs history {gate['history']:.5f}.")
    return gate
