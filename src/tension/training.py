"""The model stage run as a whole: a backtest reused by rerun key, training a version, gating a version.

``tension backtest``, ``tension train`` and ``tension model promote`` call these with the
experiment whole; progress goes through ``advance(n, description=None, total=None)``, the
command line's progress bar (a no-op by default).

A rerun key covers what a result depends on: the panel rows it saw, the configuration, the
spec or cutoff, the model and the code. A backtest or a training whose key MLflow already
holds is reused, not refitted.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import periods, tracking
from .backtest import REQUIRED_BASELINES, BacktestResult, BacktestSpec, fit_final, metrics, panel_digest, rerun_key
from .engines import get_engine
from .errors import UsageError, did_you_mean, problem
from .jobs import config_digest, history_gate, promotion_gate
from .models import MODELS
from .panel import build_panel
from .store import Store
from .targets import TARGETS, TargetSpec

__all__ = ["BacktestRun", "TrainRun", "check_experiment", "backtest_experiment", "train_experiment", "gate_version",
           "existing_store"]

Advance = Callable[..., None]


def _quiet(n: float = 1, description: str | None = None, total: float | None = None) -> None:
    """The default progress callback: says nothing."""


def existing_store(location: str, fix: str = "Run tension ingest FILE --store DIR first, or pass --store.") -> str:
    """``location`` when it is a URL or an existing folder, else a UsageError saying how to make one."""
    if "://" not in location and not Path(location).exists():
        raise UsageError(problem("The event store does not exist.", "a folder made by 'tension ingest'", location, fix))
    return location


def check_experiment(exp: Any) -> None:
    """Every model and the target named by the experiment exist (a UsageError naming the first unknown one)."""
    unknown = [n for n in exp.models.names if n not in MODELS]
    if unknown:
        raise UsageError(problem(f"Unknown model {unknown[0]!r}." + did_you_mean(unknown[0], MODELS),
                                 "names among " + ", ".join(MODELS), ",".join(unknown), "Fix --models or [models] names."))
    if exp.target.name not in TARGETS:
        raise UsageError(problem("Unknown target." + did_you_mean(exp.target.name, TARGETS), "one of " + ", ".join(TARGETS),
                                 exp.target.name, "Use --target any_material_conflict, onset or surge."))


# --- backtest ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestRun:
    """A backtest with where it came from: the models fitted now (``missing``) and those reused from MLflow."""

    result: BacktestResult
    key: str
    names: tuple[str, ...]
    missing: tuple[str, ...]
    mlflow_run: str | None
    parent_run: str | None

    @property
    def reused(self) -> tuple[str, ...]:
        """Models whose predictions came from MLflow (same data, configuration and code)."""
        return tuple(n for n in self.names if n not in self.missing)


def backtest_names(names: Sequence[str]) -> tuple[str, ...]:
    """The models a backtest fits: the baselines first, then the chosen ones (as ``run_backtest`` orders them)."""
    return tuple(dict.fromkeys([*(b for b in REQUIRED_BASELINES if b not in names), *names]))


def backtest_keys(panel: pd.DataFrame, spec: BacktestSpec, exp: Any, names: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Rerun keys of a backtest and of each model in it.

    A model's key covers what its predictions depend on: the panel rows up to the last label
    window, the configuration except the list of models, the spec, the model name and the
    code. Adding a model to the experiment leaves the other models' keys unchanged.
    """
    until = periods.shift(spec.end, spec.horizon, spec.freq)
    bare = dataclasses.replace(exp, models=dataclasses.replace(exp.models, names=(), candidate=""))
    base = rerun_key("backtest", panel_digest(panel, until), config_digest(bare), repr(spec), tracking.code_version())
    return rerun_key(base, *sorted(names)), {n: rerun_key(base, n) for n in names}


def default_window(panel: pd.DataFrame, exp: Any) -> tuple[str, str]:
    """First and last origin: the experiment's, else the last period whose window has closed and 25 steps before it."""
    last = panel["period"].max()
    end = exp.backtest.end or str(periods.shift(last, -exp.target.horizon, exp.panel.freq).date())
    start = exp.backtest.start or str(periods.shift(pd.Timestamp(end), -25 * exp.backtest.step, exp.panel.freq).date())
    return start, end


def _origin_progress(advance: Advance, n_origins: int) -> tuple[Callable[[str, int, int], None], Callable[[str], None]]:
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


def _spec(panel: pd.DataFrame, exp: Any) -> BacktestSpec:
    b = exp.backtest
    start, end = default_window(panel, exp)
    return BacktestSpec(start, end, freq=exp.panel.freq, horizon=exp.target.horizon, step=b.step, refit_every=b.refit_every,
                        min_train_periods=b.min_train_periods, gap=b.gap, train_start=b.train_start)


def _rebuild(location: str, exp: Any, freq: str) -> Callable[[Any], pd.DataFrame]:
    """The leakage check's panel builder: events up to the last day of the origin's period."""
    def rebuild(origin: Any) -> pd.DataFrame:
        cut = periods.shift(origin, 1, freq) - pd.Timestamp("1970-01-02") + pd.Timestamp("1970-01-01")
        return build_panel(location, freq=exp.panel.freq, dyads=exp.panel.dyads, config=exp.panel, regions=exp.regions,
                           end=str(cut.date()))
    return rebuild


def _with_metrics(predictions: pd.DataFrame, spec: BacktestSpec, exp: Any, warnings: list[str],
                  leakage: dict[str, Any]) -> BacktestResult:
    b = exp.backtest
    return BacktestResult(predictions=predictions, spec=spec, warnings=warnings, leakage=leakage,
                          metrics=metrics(predictions, alert_threshold=b.alert_threshold, top_k=b.top_k))


def backtest_experiment(exp: Any, location: str, *, engine: str = "local", scheduler: str | None = None,
                        track: bool = True, config_path: Path | None = None,
                        write: Callable[[BacktestResult], None] | None = None, advance: Advance = _quiet) -> BacktestRun:
    """Rolling-origin backtest of the experiment's models, reusing from MLflow every model already backtested.

    Builds the panel on ``engine``, fits only the models whose rerun key MLflow lacks (none on a
    rerun), logs a driver run with the engine's per-model runs under it, and calls ``write`` with
    the result before tracking it (the command's output files).
    """
    if track:
        tracking.ensure_store(tracking.tracking_uri(exp.tracking))
    names = backtest_names(exp.models.names)
    with get_engine(engine, scheduler) as eng:
        panel = eng.build_panel(location, freq=exp.panel.freq, dyads=exp.panel.dyads, config=exp.panel, regions=exp.regions)
        if panel.empty:
            raise UsageError(problem("The panel is empty.", "events in the store", location, "Ingest events first."))
        spec = _spec(panel, exp)
        n_origins = max(len(spec.origins(pd.DatetimeIndex(pd.unique(panel["period"])))), 1)
        # one step for the panel, one per (model, origin), one for tracking: the bar ends at its total
        advance(1, description="Panel built", total=2 + len(names) * n_origins)
        on_origin, on_model = _origin_progress(advance, n_origins)
        key, model_keys = backtest_keys(panel, spec, exp, names)
        reuse = tracking.cached_models(exp, model_keys) if track else {"predictions": {}}
        missing = tuple(n for n in names if n not in reuse["predictions"])
        for n in names:
            if n not in missing:
                on_model(n)
        if not missing:
            predictions = pd.concat(list(reuse["predictions"].values()), ignore_index=True)
            result = _with_metrics(predictions, spec, exp, reuse["warnings"], reuse["leakage"])
            (write or (lambda _r: None))(result)
            advance(1, description="Done")
            return BacktestRun(result, key, names, missing, next(iter(reuse["runs"].values())), None)
        fresh = dict(engine=engine, eng=eng, location=location, track=track, config_path=config_path, write=write,
                     n_origins=n_origins)
        return _fit_missing(exp, panel, spec, names, missing, key, model_keys, reuse, fresh, on_origin, on_model, advance)


def _fit_missing(exp: Any, panel: pd.DataFrame, spec: BacktestSpec, names: tuple[str, ...], missing: tuple[str, ...],
                 key: str, model_keys: dict[str, str], reuse: dict[str, Any], ctx: dict[str, Any],
                 on_origin: Callable[[str, int, int], None], on_model: Callable[[str], None], advance: Advance) -> BacktestRun:
    """Fit the models MLflow lacks under a driver run, merge the reused ones, write and track the result."""
    b, track, n_origins = exp.backtest, ctx["track"], ctx["n_origins"]
    # the driver's run: the engine's per-model child runs and the backtest run nest under it (as in retrain)
    with tracking.job_run(exp, track=track, run_name=f"tension backtest ({ctx['engine']})") as parent_run:
        checked = bool(reuse["predictions"]) and bool(reuse["leakage"])  # same panel: checked already
        advance(0, description=("" if checked else "Leakage check, then ")
                + f"{len(missing)} models x {n_origins} origins" + (f" ({len(names) - len(missing)} reused)" if checked else ""))
        fresh = ctx["eng"].run_backtest(
            panel, spec, models=list(missing), target=TargetSpec.from_config(exp.target), alert_threshold=b.alert_threshold,
            top_k=b.top_k, rebuild=_rebuild(ctx["location"], exp, spec.freq), leakage_checks=0 if checked else b.leakage_checks,
            on_progress=on_model, on_origin=on_origin, parent_run_id=parent_run, experiment=exp if parent_run else None,
        )
        kept = [p for n, p in reuse["predictions"].items() if n not in set(fresh.predictions["model"])]
        result = _with_metrics(pd.concat([fresh.predictions, *kept], ignore_index=True), spec, exp,
                               list(dict.fromkeys(fresh.warnings + reuse.get("warnings", []))),
                               reuse["leakage"] if checked else fresh.leakage)
        (ctx["write"] or (lambda _r: None))(result)
        advance(0, description="Logging to MLflow" if track else "Writing")
        mlflow_run = tracking.track_backtest(result, experiment=exp, store=Store(ctx["location"]), panel=panel,
                                             config_path=ctx["config_path"], track=track, parent_run_id=parent_run,
                                             cache_key=key, model_keys=model_keys)
    advance(1, description="Done")
    return BacktestRun(result, key, names, missing, mlflow_run, parent_run)


# --- train ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainRun:
    """A training: the fitted model and its facts, or ``unchanged`` (the registered version trained under ``key``)."""

    key: str
    unchanged: int | None = None
    fitted: Any = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    record: Any = None
    gate: dict[str, Any] = dataclasses.field(default_factory=dict)


def train_key(panel: pd.DataFrame, cutoff: str, exp: Any) -> str:
    """Rerun key of a training: the panel rows up to the cutoff, configuration, cutoff, model, code."""
    return rerun_key("train", panel_digest(panel, cutoff), config_digest(exp), cutoff, exp.models.candidate,
                     tracking.code_version())


def same_model(exp: Any, key: str) -> int | None:
    """The latest registered version when it was trained under ``key`` (so training again would change nothing)."""
    latest = tracking.latest_version(exp)
    return latest[0] if latest is not None and latest[1].get("train_key") == key else None


def train_experiment(exp: Any, location: str, cutoff: str | None = None, *, track: bool = True, refit: bool = False,
                     config_path: Path | None = None, advance: Advance = _quiet) -> TrainRun:
    """Fit the experiment's candidate on everything known at ``cutoff``; log and register it; compare it with history.

    Nothing is fitted when the latest registered version has the same rerun key, unless
    ``refit`` (the caller needs the fitted model itself) or ``track`` is off.
    """
    from .models import make_model

    estimator = make_model(exp.models.candidate)
    if track:
        tracking.ensure_store(tracking.tracking_uri(exp.tracking))
    panel = build_panel(location, freq=exp.panel.freq, dyads=exp.panel.dyads, config=exp.panel, regions=exp.regions,
                        on_progress=lambda name: advance(1, description=f"panel: {name}"))
    cut = cutoff or str(panel["period"].max().date())
    key = train_key(panel, cut, exp)
    same = None if not track or refit else same_model(exp, key)
    if same is not None:
        advance(1, description="Unchanged")
        return TrainRun(key, unchanged=same)
    fitted, info = fit_final(estimator, panel, cut, freq=exp.panel.freq, target=TargetSpec.from_config(exp.target),
                             train_start=exp.backtest.train_start)
    record = tracking.track_train(fitted, panel, experiment=exp, model_name=exp.models.candidate,
                                  features=info["features"], store=Store(location), config_path=config_path,
                                  cutoff=info["cutoff"], track=track, version_tags={"train_key": key},
                                  metrics={"train_rows": info["rows"], "train_positives": info["positives"]})
    return TrainRun(key, None, fitted, info, record, history_verdict(exp, panel, info["cutoff"]))


def history_verdict(exp: Any, panel: pd.DataFrame, cutoff: str) -> dict[str, Any]:
    """The retrain gate's comparison with history for the trained model (what `tension retrain` would decide)."""
    try:
        gate = history_gate(exp, panel, cutoff, exp.models.candidate)
    except UsageError as exc:
        return {"beats_history": None, "message": f"not compared with history: {str(exc).splitlines()[0]}"}
    verdict = "beats" if gate["beats_history"] else "does NOT beat (tension retrain will not promote it)"
    gate["message"] = (f"{exp.models.candidate} {verdict} the pair's own history on the gate's {exp.retrain.recent_origins} latest origins: "
                       f"{gate['metric']} {gate['model']:.5f} vs history {gate['history']:.5f}.")
    return gate


def save_model(path: Path, run: TrainRun, exp: Any) -> None:
    """The fitted model with its facts as a joblib file, written atomically."""
    import joblib

    from ._io import atomic_output

    with atomic_output(path, "model file") as tmp:
        joblib.dump({"estimator": run.fitted, "model": exp.models.candidate, "experiment": exp.name,
                     "dyads": exp.panel.dyads, **run.info}, tmp)


# --- promotion gate --------------------------------------------------------------------------------------


def gate_version(exp: Any, location: str, version: int, champion: int | None, advance: Advance = _quiet) -> Any:
    """Run the promotion gate for a registered version against history and the champion; store its backtest.

    The version's predictions at the gate's origins are stored with it in MLflow (they give
    ``tension score`` its bands). Returns the ``jobs.Gate``.
    """
    name = exp.tracking.registered_model
    challenger = tracking.load_estimator(f"models:/{name}/{version}", exp)
    cfg = challenger.config
    with get_engine("local") as eng:
        panel = eng.build_panel(location, freq=str(cfg.get("freq") or exp.panel.freq),
                                dyads=str(cfg.get("dyads") or exp.panel.dyads), config=exp.panel, regions=exp.regions)
        latest = pd.DatetimeIndex(panel["period"]).max()
        advance(1, description=f"Gate: v{version} vs " + (f"champion v{champion}" if champion else "no champion"))
        current = tracking.load_estimator(tracking.model_uri(name), exp).estimator if champion else None
        gate = promotion_gate(exp, panel, latest, challenger.estimator, current, eng=eng)
        advance(1, description="Storing the backtest with the version")
        tracking.store_backtest_predictions(exp, version, gate.own_predictions(str(cfg.get("model") or "challenger")),
                                            source=f"promotion gate {exp.retrain.recent_origins} origins to {latest.date()}")
        advance(1, description="Done")
    return gate
