"""Honest backtests: rolling origin, expanding window, refit per origin, gap >= horizon.

The frozen :class:`BacktestSpec` computes its own origins. :func:`evaluate` runs one
estimator over them and returns the predictions table of ARCHITECTURE.md;
:func:`metrics` scores a predictions table; :func:`run_backtest` does both for several
models (always including the base-rate and persistence baselines), checks for leakage,
and collects every statistical warning instead of hiding it in a NaN.

This module is the stage's face: the scores (:mod:`tension.verification`) and the leak
checks (:mod:`tension.leakage`) live in their own modules and are importable from here.
"""
from __future__ import annotations

import hashlib
import json
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from . import periods
from .errors import UsageError, problem
from .leakage import LeakageError, LeakageWarning, check_leakage
from .models import feature_matrix, make_model, target_kind_of
from .targets import TargetSpec, make_target, onset_mask, target_spec, window_counts
from .verification import REQUIRED_BASELINES, SKILL_METRICS, compare_to_baseline, metrics, reliability_figure, skill_vs_history

OriginProgress = Callable[[str, int, int], None]
"""``on_origin(model_name, origins_done, origins_total)``: a backtest's progress within one model."""

__all__ = [
    "BacktestSpec",
    "BacktestResult",
    "LeakageError",
    "LeakageWarning",
    "evaluate",
    "metrics",
    "run_backtest",
    "compare_to_baseline",
    "skill_vs_history",
    "SKILL_METRICS",
    "check_leakage",
    "fit_final",
    "reliability_figure",
    "PREDICTION_COLUMNS",
    "shift_period",
    "panel_digest",
    "rerun_key",
    "resolve_models",
    "REQUIRED_BASELINES",
]

PREDICTION_COLUMNS: tuple[str, ...] = (
    "run_id", "model", "target", "dyad", "origin", "horizon", "window_start", "window_end", "probability", "outcome",
)
"""ARCHITECTURE predictions table; the backtest adds ``onset_eligible`` (bool) after them."""


shift_period = periods.shift
"""``ts`` moved by ``n`` periods of ``freq`` (:func:`tension.periods.shift`, importable from here too)."""


def _as_period(value: Any, freq: str, what: str, problems: list[str]) -> pd.Timestamp | None:
    """The label of the period holding the date ``value``; None (and a problem) if it is not a date."""
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        problems.append(problem(f"The backtest {what} is not a date.", "YYYY-MM-DD", value, f"Use --{what} 2013-01-01."))
        return None
    return periods.label(ts, freq)


@dataclass(frozen=True)
class BacktestSpec:
    """A rolling-origin, expanding-window backtest.

    Parameters
    ----------
    start, end : date-like
        First and last forecast origin (snapped to the period containing them).
    freq : {"D", "W", "M"}
    horizon : int or None
        Periods ahead h; each origin t forecasts the window t+1 .. t+h. None: the
        ``target``'s horizon (4 without a target).
    step : int
        Periods between consecutive origins.
    refit_every : int
        Refit the models every this many origins (in between, the last fit predicts).
    min_train_periods : int
        Origins with fewer labelled training periods are skipped (with a warning).
    gap : int or None
        Training rows end ``gap`` periods before the origin of the fit; None means
        ``horizon``. Must be >= horizon so no training label window reaches past it.
    train_start : date-like or None
        First period used for training (None: the panel's first).
    target : TargetSpec or None
        What the backtest forecasts (None: the default :class:`~tension.targets.TargetSpec`
        with ``horizon``). Its horizon and ``horizon`` must agree.

    Examples
    --------
    >>> BacktestSpec("2020-01-01", "2020-03-01", freq="M", horizon=1).origins().strftime("%Y-%m").tolist()
    ['2020-01', '2020-02', '2020-03']
    """

    start: Any
    end: Any
    freq: str = "W"
    horizon: int | None = None
    step: int = 1
    refit_every: int = 4
    min_train_periods: int = 52
    gap: int | None = None
    train_start: Any = None
    target: TargetSpec | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        try:
            freq = periods.check(self.freq)
        except UsageError as exc:
            problems.append(str(exc))
            freq = "W"
        object.__setattr__(self, "freq", freq)
        if self.target is not None and not isinstance(self.target, TargetSpec):
            problems.append(problem("The backtest 'target' is not a TargetSpec.", "tension.targets.TargetSpec(...)", type(self.target).__name__))
        elif self.target is not None:
            if self.horizon is None:
                object.__setattr__(self, "horizon", self.target.horizon)
            elif self.horizon != self.target.horizon:
                problems.append(problem("The backtest 'horizon' differs from its target's.", f"horizon {self.target.horizon} (or none)", self.horizon,
                                        "Give the horizon once, in the TargetSpec."))
        elif self.horizon is None:
            object.__setattr__(self, "horizon", TargetSpec().horizon)
        for name in ("horizon", "step", "refit_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                problems.append(problem(f"The backtest {name!r} must be a positive integer.", "1 or more", v, f"Use {name} = 1 or more."))
        if isinstance(self.min_train_periods, bool) or not isinstance(self.min_train_periods, (int, np.integer)) or self.min_train_periods < 1:
            problems.append(problem("The backtest 'min_train_periods' must be a positive integer.", "1 or more", self.min_train_periods, "Use min_train_periods = 52 for weeks, 24 for months."))
        if self.gap is not None and isinstance(self.horizon, (int, np.integer)):
            if not isinstance(self.gap, (int, np.integer)) or self.gap < self.horizon:
                problems.append(problem(
                    "The backtest 'gap' must be at least the horizon, or training labels would overlap the test window.",
                    f"an integer >= {self.horizon}", self.gap, "Remove gap (it defaults to the horizon) or raise it."))
        start = _as_period(self.start, freq, "start", problems)
        end = _as_period(self.end, freq, "end", problems)
        train_start = _as_period(self.train_start, freq, "train-start", problems)
        if start is None and not problems:
            problems.append(problem("The backtest needs a first origin.", "a date", self.start, "Use --start 2013-01-01 or [backtest] start."))
        if end is None and not problems:
            problems.append(problem("The backtest needs a last origin.", "a date", self.end, "Use --end 2015-11-01 or [backtest] end."))
        if start is not None and end is not None and end < start:
            problems.append(problem("The backtest ends before it starts.", "end >= start", f"start {start.date()}, end {end.date()}", "Swap --start and --end."))
        if self.target is None and not problems:
            object.__setattr__(self, "target", TargetSpec(horizon=self.horizon))
        if problems:
            raise UsageError(f"The backtest specification has {len(problems)} problem{'s' * (len(problems) > 1)}:\n  - " + "\n  - ".join(problems))
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "train_start", train_start)

    @property
    def effective_gap(self) -> int:
        """The gap in periods between the last training row and the origin of a fit."""
        return int(self.gap if self.gap is not None else self.horizon)

    def origins(self, within: Sequence[Any] | pd.DatetimeIndex | None = None) -> pd.DatetimeIndex:
        """Forecast origins from ``start`` to ``end`` every ``step`` periods.

        With ``within`` (e.g. the panel's periods), only origins among them are kept.
        """
        first, last = periods.to_index([self.start, self.end], self.freq)
        grid = pd.DatetimeIndex(periods.to_dates(np.arange(first, last + 1, self.step), self.freq))
        if within is not None:
            grid = grid[grid.isin(pd.DatetimeIndex(within))]
        return grid

    def last_training_period(self, origin: pd.Timestamp) -> pd.Timestamp:
        """Last period whose row may train a model fitted at ``origin`` (its label window ends by the origin)."""
        return periods.shift(origin, -self.effective_gap, self.freq)

    def with_target(self, target: TargetSpec | str | None = None, **changes: Any) -> BacktestSpec:
        """This spec forecasting ``target`` (a spec; a name or None: its own target renamed or not) with ``changes`` to its fields.

        ``changes`` that are None are ignored; the result's horizon must stay the spec's.
        """
        if isinstance(target, TargetSpec):
            t = target_spec(target, **changes)
        else:
            t = target_spec(self.target, name=target, **changes)
        if t == self.target:
            return self
        if t.horizon != self.horizon:
            raise UsageError(problem("The target's horizon differs from the backtest's.", f"horizon {self.horizon}", t.horizon,
                                     "Give the horizon once: in the BacktestSpec's TargetSpec."))
        return replace(self, target=t)


@dataclass
class BacktestResult:
    """Output of :func:`run_backtest`: plain objects, no tracking."""

    predictions: pd.DataFrame
    metrics: pd.DataFrame
    warnings: list[str]
    spec: BacktestSpec
    leakage: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Data:
    X: pd.DataFrame
    y: pd.Series
    counts: pd.Series
    onset: pd.Series
    period: pd.Series
    dyad: pd.Series


def panel_digest(panel: pd.DataFrame, until: Any = None) -> str:
    """Digest of the panel rows up to ``until`` (all rows by default): the data a fit or backtest saw.

    Rows are taken in (dyad, period) order, so the digest does not depend on row order;
    events that arrived after ``until`` do not change it.
    """
    rows = panel if until is None else panel[pd.DatetimeIndex(panel["period"]) <= pd.Timestamp(until)]
    rows = rows.sort_values(["dyad", "period"], kind="stable").reset_index(drop=True)
    cols = sorted(rows.columns)
    h = hashlib.sha256(",".join(cols).encode())
    h.update(pd.util.hash_pandas_object(rows[cols], index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def rerun_key(*parts: Any) -> str:
    """One key from the things that determine a result (data digest, configuration, code version ...)."""
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:16]


def _prepare(panel: pd.DataFrame, spec: BacktestSpec) -> _Data:
    target = spec.target
    freq = periods.of_panel(panel)
    if freq != spec.freq:
        raise UsageError(problem("The panel's frequency differs from the backtest's.", spec.freq, freq, f"Build the panel with --freq {spec.freq} or set the backtest freq to {freq}."))
    y = make_target(panel, target)
    counts = window_counts(panel, target.horizon)
    if target.name == "onset":
        counts = counts.where(y.notna())
    return _Data(
        X=feature_matrix(panel), y=y, counts=counts, onset=onset_mask(panel, target.q),
        period=pd.Series(pd.DatetimeIndex(panel["period"]), index=panel.index), dyad=panel["dyad"],
    )


def _positive_column(estimator: Any, proba: np.ndarray) -> np.ndarray:
    classes = list(getattr(estimator, "classes_", [0, 1]))
    if 1 in classes or 1.0 in classes:
        return proba[:, classes.index(1)]
    return np.zeros(len(proba))


def _relay(caught: list[warnings.WarningMessage], where: str, sink: list[str]) -> None:
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
            continue
        text = str(w.message).strip().splitlines()[0] if str(w.message).strip() else w.category.__name__
        sink.append(f"{where}: {text}")


def _dedupe(messages: list[str]) -> list[str]:
    return list(dict.fromkeys(messages))


def _evaluate(estimator: Any, data: _Data, spec: BacktestSpec, model_name: str, run_id: str,
              origins: pd.DatetimeIndex, sink: list[str], on_origin: OriginProgress | None = None) -> pd.DataFrame:
    """Protocol for one estimator (see :func:`evaluate`): fit at every ``refit_every``-th origin, predict the block.

    ``on_origin(model_name, done, total)`` is called after each origin block (and each skipped origin).
    """
    def tick() -> None:
        if on_origin:
            on_origin(model_name, i, len(origins))

    kind = target_kind_of(estimator)
    if "k" in estimator.get_params():
        estimator = clone(estimator).set_params(k=spec.target.k)
    period = data.period.to_numpy()
    y_all = data.y.to_numpy()
    dyad = data.dyad.to_numpy()
    train_lo = np.datetime64(spec.train_start if spec.train_start is not None else data.period.min())
    frames = []
    i = 0
    while i < len(origins):
        origin = origins[i]
        where = f"{model_name} @ {origin.date()}"
        rows = np.flatnonzero((period >= train_lo) & (period <= np.datetime64(spec.last_training_period(origin))) & ~np.isnan(y_all))
        n_periods = len(np.unique(period[rows]))
        if n_periods < spec.min_train_periods:
            sink.append(f"{where}: only {n_periods} labelled training periods (< min_train_periods {spec.min_train_periods}); origin skipped.")
            i += 1
            tick()
            continue
        block = origins[i : i + spec.refit_every]
        i += len(block)
        rows = rows[np.lexsort((dyad[rows], period[rows]))]
        y_bin = y_all[rows]
        positives = int(y_bin.sum())
        fitted, fallback = None, None
        if positives == 0 or positives == len(y_bin):
            fallback = (positives + 0.5) / (len(y_bin) + 1.0)
            sink.append(f"{where}: the training window has {'no positives' if positives == 0 else 'only positives'} ({len(y_bin)} rows); predicting the smoothed base rate {fallback:.4g}.")
        else:
            X_train = data.X.iloc[rows]
            X_train.index = pd.DatetimeIndex(period[rows])
            y_fit = data.counts.to_numpy()[rows] if kind == "count" else y_bin
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    fitted = clone(estimator).fit(X_train, y_fit)
                except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                    fallback = (positives + 0.5) / (len(y_bin) + 1.0)
                    sink.append(f"{where}: fit failed ({type(exc).__name__}: {exc}); predicting the smoothed base rate {fallback:.4g}.")
            _relay(caught, where, sink)
        test = np.flatnonzero(np.isin(period, block.to_numpy()))
        if not len(test):
            tick()
            continue
        if fitted is not None:
            X_test = data.X.iloc[test]
            X_test.index = pd.DatetimeIndex(period[test])
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                p = _positive_column(fitted, fitted.predict_proba(X_test))
            _relay(caught, f"{where} predict", sink)
        else:
            p = np.full(len(test), fallback)
        if np.isnan(p).any():
            rate = (positives + 0.5) / (len(y_bin) + 1.0)
            sink.append(f"{where}: {int(np.isnan(p).sum())} of {len(p)} probabilities were NaN (a failed fit); they are replaced by the smoothed training base rate {rate:.4g}.")
            p = np.where(np.isnan(p), rate, p)
        origin_col = pd.DatetimeIndex(period[test])
        frames.append(pd.DataFrame({
            "run_id": run_id, "model": model_name, "target": spec.target.name, "dyad": dyad[test],
            "origin": origin_col, "horizon": spec.horizon,
            "window_start": periods.shift(origin_col, 1, spec.freq), "window_end": periods.shift(origin_col, spec.horizon, spec.freq),
            "probability": p.astype(float), "outcome": pd.array(y_all[test], dtype="Float64"),
            "onset_eligible": data.onset.to_numpy(dtype=bool)[test],
        }))
        tick()
    if not frames:
        return _empty_predictions()
    out = pd.concat(frames, ignore_index=True).sort_values(["origin", "dyad"], ignore_index=True)
    out["outcome"] = out["outcome"].astype("Int8")
    return out


def _empty_predictions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in (*PREDICTION_COLUMNS, "onset_eligible")})


def _origins_for(panel: pd.DataFrame, spec: BacktestSpec, sink: list[str]) -> pd.DatetimeIndex:
    present = pd.DatetimeIndex(pd.unique(panel["period"]))
    wanted = spec.origins()
    got = spec.origins(present)
    if len(got) < len(wanted):
        missing = wanted.difference(got)
        sink.append(f"{len(missing)} of {len(wanted)} origins have no panel rows and are skipped (first: {missing[0].date()}).")
    if len(got) == 0:
        raise UsageError(problem("No backtest origin falls inside the panel.", f"origins between {present.min().date() if len(present) else '-'} and {present.max().date() if len(present) else '-'}",
                                 f"{spec.start.date()} .. {spec.end.date()}", "Adjust --start/--end to the data."))
    return got


def evaluate(estimator: Any, panel: pd.DataFrame, spec: BacktestSpec, target: TargetSpec | str | None = None, k: int | None = None,
             model_name: str | None = None, run_id: str | None = None, q: int | None = None, quantile: float | None = None,
             lookback: int | None = None) -> pd.DataFrame:
    """Backtest one estimator; returns the predictions table (ARCHITECTURE.md).

    The target is ``spec.target``; ``target`` (a spec or a name) and ``k``, ``q``,
    ``quantile``, ``lookback`` replace it or its fields (:meth:`BacktestSpec.with_target`).

    Protocol:

    1. Compute the target (the only forward-looking step), window counts for count
       models, the onset mask and the feature matrix, all from ``panel``.
    2. Take the origins of ``spec`` that exist in the panel.
    3. At every ``refit_every``-th origin t, select training rows with period in
       ``[train_start, t - gap]`` whose label is observed (label windows end by t), sorted
       by period, and fit a fresh clone (count models on counts). A fold without positives
       predicts the smoothed base rate and says so.
    4. Predict every dyad in the panel at t: ``P(target over t+1 .. t+h)``.
    5. Attach the outcome (empty while unresolved) and the onset flag.

    Warnings (statistical trouble, skipped origins) are in ``result.attrs["warnings"]``.
    """
    sink: list[str] = []
    spec = spec.with_target(target, k=k, q=q, quantile=quantile, lookback=lookback)
    data = _prepare(panel, spec)
    origins = _origins_for(panel, spec, sink)
    name = model_name or type(estimator).__name__
    out = _evaluate(estimator, data, spec, name, run_id or uuid.uuid4().hex[:12], origins, sink)
    out.attrs["warnings"] = _dedupe(sink)
    return out


# ----------------------------------------------------------------------------- running


def resolve_models(models: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    """Estimators by name from names (``MODELS``) or a mapping, with the required baselines added in front."""
    if models is None:
        chosen: dict[str, Any] = {}
    elif isinstance(models, Mapping):
        chosen = dict(models)
    else:
        chosen = {name: make_model(name) for name in models}
    for base in REQUIRED_BASELINES:
        if base not in chosen:
            chosen = {base: make_model(base), **chosen}
    return chosen


def run_backtest(panel: pd.DataFrame, spec: BacktestSpec, models: Mapping[str, Any] | Sequence[str] | None = None,
                 target: TargetSpec | str | None = None, k: int | None = None, q: int | None = None,
                 quantile: float | None = None, lookback: int | None = None,
                 alert_threshold: float = 0.3, top_k: int = 10, rebuild: Callable[[pd.Timestamp], pd.DataFrame] | None = None,
                 leakage_checks: int = 3, run_id: str | None = None,
                 on_progress: Callable[[str], None] | None = None,
                 on_origin: OriginProgress | None = None, executor: Any = None, parts: int = 1) -> BacktestResult:
    """Backtest several models on one panel and spec; returns predictions, metrics, warnings.

    ``models``: names from ``MODELS`` or a mapping name -> estimator. The base-rate and
    persistence baselines are always added. ``rebuild(origin)`` (a panel built from
    events up to that origin) enables the strong leakage check (:func:`check_leakage`),
    which runs before any model is fitted and raises :class:`LeakageError` on a leak.
    ``on_progress(model_name)`` is called after each model, ``on_origin(model_name, done,
    total)`` after each block of origins a model has been fitted and predicted on. The
    target is ``spec.target``; ``target``, ``k``, ``q``, ``quantile`` and ``lookback``
    replace it or its fields (:meth:`BacktestSpec.with_target`).

    ``executor``: where the work runs, as in sktime's ``evaluate(..., backend=)``: anything
    with ``submit(fn, *args) -> future`` (a :mod:`concurrent.futures` executor, a
    ``distributed.Client``, the Dask engine's). Each model's refit blocks are cut into
    ``parts`` runs of consecutive blocks, one task each; the predictions are put together
    in the same order. None: everything here, one model after another.
    """
    sink: list[str] = []
    chosen = resolve_models(models)
    spec = spec.with_target(target, k=k, q=q, quantile=quantile, lookback=lookback)
    data = _prepare(panel, spec)
    origins = _origins_for(panel, spec, sink)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LeakageWarning)
        leakage = check_leakage(panel, origins, rebuild=rebuild, y=data.y, n_checks=leakage_checks)
    sink += [f"leakage screen: {w.message}" for w in caught if issubclass(w.category, LeakageWarning)]
    run_id = run_id or uuid.uuid4().hex[:12]
    frames = []
    if executor is None:
        for name, est in chosen.items():
            frames.append(_evaluate(est, data, spec, name, run_id, origins, sink, on_origin))
            if on_progress:
                on_progress(name)
    else:
        n_blocks = -(-len(origins) // spec.refit_every)
        cuts = np.array_split(np.arange(n_blocks), max(1, min(parts, n_blocks)))
        runs = [origins[c[0] * spec.refit_every : (c[-1] + 1) * spec.refit_every] for c in cuts if len(c)]
        tasks = {name: [executor.submit(_evaluate_run, est, data, spec, name, run_id, run) for run in runs]
                 for name, est in chosen.items()}
        for name, futures in tasks.items():
            for done, future in enumerate(futures, 1):
                frame, warns = future.result()
                frames.append(frame)
                sink += warns
                if on_origin:
                    on_origin(name, sum(len(r) for r in runs[:done]), len(origins))
            if on_progress:
                on_progress(name)
    predictions = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else _empty_predictions()
    if predictions.empty:
        raise UsageError(problem("The backtest produced no predictions.", f"at least {spec.min_train_periods} labelled training periods before the first origin",
                                 f"origins {spec.start.date()}..{spec.end.date()}", "Move --start later or lower min_train_periods."))
    table = metrics(predictions, alert_threshold=alert_threshold, top_k=top_k)
    return BacktestResult(predictions=predictions, metrics=table, warnings=_dedupe(sink + table.attrs["warnings"]), spec=spec, leakage=leakage)


def _evaluate_run(estimator: Any, data: _Data, spec: BacktestSpec, name: str, run_id: str,
                  origins: pd.DatetimeIndex) -> tuple[pd.DataFrame, list[str]]:
    """One task of :func:`run_backtest` on an executor: one model over a run of origins; (predictions, warnings)."""
    sink: list[str] = []
    return _evaluate(estimator, data, spec, name, run_id, origins, sink), sink


def fit_final(estimator: Any, panel: pd.DataFrame, cutoff: Any, freq: str, horizon: int | None = None,
              target: TargetSpec | str | None = None, k: int | None = None, q: int | None = None, quantile: float | None = None,
              lookback: int | None = None, train_start: Any = None) -> tuple[Any, dict[str, Any]]:
    """Fit ``estimator`` on everything known at ``cutoff`` for ``target``; returns (fitted estimator, info).

    ``target`` is a :class:`~tension.targets.TargetSpec` (or a name, or None for the
    default); ``horizon``, ``k``, ``q``, ``quantile`` and ``lookback`` change its fields.
    Only panel rows up to ``cutoff`` are used, and only those whose label window has
    ended by then. ``info``: rows, positives, first/last training period, the target
    (``target``, ``horizon``, ``k`` and the whole ``target_spec``), feature columns, warnings.
    """
    sink: list[str] = []
    probs: list[str] = []
    spec_of_target = target_spec(target, horizon=horizon, k=k, q=q, quantile=quantile, lookback=lookback)
    freq = periods.check(freq)
    cut = _as_period(cutoff, freq, "cutoff", probs)
    if probs or cut is None:
        raise UsageError(probs[0] if probs else problem("train needs a cutoff date.", "YYYY-MM-DD", cutoff, "Use --cutoff 2015-11-01."))
    period = pd.DatetimeIndex(panel["period"])
    known = panel[np.asarray(period <= cut)]
    known.attrs = dict(panel.attrs)
    if known.empty:
        raise UsageError(problem("No panel rows up to the cutoff.", f"a cutoff after {period.min().date()}", str(cut.date()), "Use a later --cutoff."))
    spec = BacktestSpec(cut, cut, freq=freq, min_train_periods=1, train_start=train_start, target=spec_of_target)
    horizon, k = spec_of_target.horizon, spec_of_target.k
    data = _prepare(known, spec)
    lo = spec.train_start if spec.train_start is not None else data.period.min()
    rows = (data.period >= lo) & data.y.notna()
    if not rows.any():
        raise UsageError(problem("No labelled rows before the cutoff.", f"at least {horizon + 1} periods of data before it", str(cut.date()), "Use a later --cutoff."))
    order = np.lexsort((data.dyad[rows].to_numpy(), data.period[rows].to_numpy()))
    X = data.X[rows].iloc[order]
    X.index = pd.DatetimeIndex(data.period[rows].iloc[order])
    y = data.y[rows].iloc[order].to_numpy()
    if "k" in estimator.get_params():
        estimator = clone(estimator).set_params(k=k)
    y_fit = data.counts[rows].iloc[order].to_numpy() if target_kind_of(estimator) == "count" else y
    one_class = "no positives" if y.sum() == 0 else "only positives" if y.sum() == len(y) else ""
    if one_class:
        sink.append(f"the training data has {one_class}; the model predicts that class.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitted = clone(estimator).fit(X, y_fit)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            if not one_class:
                raise
            raise UsageError(problem(
                f"The {spec_of_target.name} target has {one_class} in all {len(y)} training rows, so "
                f"{type(estimator).__name__} cannot be fitted ({type(exc).__name__}).",
                "both outcomes among the training rows", f"{int(y.sum())} positives of {len(y)}",
                "Choose a target that varies at this event density (surge, or a higher k for "
                "any_material_conflict), or train on a longer history.")) from None
    _relay(caught, "fit", sink)
    info = {
        "rows": int(len(y)), "positives": int(y.sum()), "first_period": str(X.index.min().date()), "last_period": str(X.index.max().date()),
        "cutoff": str(cut.date()), "target": spec_of_target.name, "horizon": horizon, "k": k, "freq": freq,
        "target_spec": asdict(spec_of_target),
        "features": list(X.columns), "warnings": _dedupe(sink),
    }
    return fitted, info
