"""Honest backtests: rolling origin, expanding window, refit per origin, gap >= horizon.

The frozen :class:`BacktestSpec` computes its own origins. :func:`evaluate` runs one
estimator over them and returns the predictions table of ARCHITECTURE.md;
:func:`metrics` scores a predictions table; :func:`run_backtest` does both for several
models (always including the base-rate and persistence baselines), checks for leakage,
and collects every statistical warning instead of hiding it in a NaN.
"""
from __future__ import annotations

import hashlib
import json
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from .errors import TensionError, UsageError, problem
from .models import feature_matrix, make_model
from .targets import FREQ_ALIASES, TARGETS, make_target, onset_mask, period_grid, window_counts

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
]

PREDICTION_COLUMNS: tuple[str, ...] = (
    "run_id", "model", "target", "dyad", "origin", "horizon", "window_start", "window_end", "probability", "outcome",
)
"""ARCHITECTURE predictions table; the backtest adds ``onset_eligible`` (bool) after them."""

REQUIRED_BASELINES: tuple[str, ...] = ("base_rate", "persistence")


class LeakageError(TensionError, RuntimeError):
    """Features at an origin depend on data after it (a look-ahead leak)."""

    exit_code = 1


class LeakageWarning(UserWarning):
    """A feature looks suspiciously like the future target (screen without a panel rebuild)."""


def shift_period(ts: pd.Timestamp, n: int, freq: str) -> pd.Timestamp:
    """``ts`` moved by ``n`` periods of ``freq`` (D, W or M)."""
    freq = freq.upper()
    if freq == "M":
        return pd.Timestamp(ts) + pd.DateOffset(months=n)
    if freq == "W":
        return pd.Timestamp(ts) + pd.Timedelta(weeks=n)
    return pd.Timestamp(ts) + pd.Timedelta(days=n)


def _as_period(value: Any, freq: str, what: str, problems: list[str]) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        problems.append(problem(f"The backtest {what} is not a date.", "YYYY-MM-DD", value, f"Use --{what} 2013-01-01."))
        return None
    if freq == "M":
        return ts.to_period("M").to_timestamp()
    if freq == "W":
        return (ts - pd.Timedelta(days=ts.day_of_week)).normalize()
    return ts.normalize()


@dataclass(frozen=True)
class BacktestSpec:
    """A rolling-origin, expanding-window backtest.

    Parameters
    ----------
    start, end : date-like
        First and last forecast origin (snapped to the period containing them).
    freq : {"D", "W", "M"}
    horizon : int
        Periods ahead h; each origin t forecasts the window t+1 .. t+h.
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

    Examples
    --------
    >>> BacktestSpec("2020-01-01", "2020-03-01", freq="M", horizon=1).origins().strftime("%Y-%m").tolist()
    ['2020-01', '2020-02', '2020-03']
    """

    start: Any
    end: Any
    freq: str = "W"
    horizon: int = 4
    step: int = 1
    refit_every: int = 4
    min_train_periods: int = 52
    gap: int | None = None
    train_start: Any = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        freq = str(self.freq).upper()
        if freq not in FREQ_ALIASES:
            problems.append(problem("The backtest 'freq' is unknown.", "D, W or M", self.freq, "Use --freq W or --freq M."))
            freq = "W"
        object.__setattr__(self, "freq", freq)
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
        if problems:
            raise UsageError(f"The backtest specification has {len(problems)} problem{'s' * (len(problems) > 1)}:\n  - " + "\n  - ".join(problems))
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "train_start", train_start)

    @property
    def effective_gap(self) -> int:
        """The gap in periods between the last training row and the origin of a fit."""
        return int(self.gap if self.gap is not None else self.horizon)

    def origins(self, periods: Sequence[Any] | pd.DatetimeIndex | None = None) -> pd.DatetimeIndex:
        """Forecast origins from ``start`` to ``end`` every ``step`` periods.

        With ``periods`` (e.g. the panel's periods), only origins among them are kept.
        """
        grid = pd.date_range(self.start, self.end, freq=FREQ_ALIASES[self.freq])[:: self.step]
        if periods is not None:
            grid = grid[grid.isin(pd.DatetimeIndex(periods))]
        return grid

    def last_training_period(self, origin: pd.Timestamp) -> pd.Timestamp:
        """Last period whose row may train a model fitted at ``origin`` (its label window ends by the origin)."""
        return shift_period(origin, -self.effective_gap, self.freq)


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


def _prepare(panel: pd.DataFrame, spec: BacktestSpec, target: str, k: int, q: int, quantile: float, lookback: int) -> _Data:
    if target not in TARGETS:
        make_target(panel, target)  # raises the helpful UsageError
    _, freq = period_grid(panel)
    if freq != spec.freq:
        raise UsageError(problem("The panel's frequency differs from the backtest's.", spec.freq, freq, f"Build the panel with --freq {spec.freq} or set the backtest freq to {freq}."))
    y = make_target(panel, target, horizon=spec.horizon, k=k, q=q, quantile=quantile, lookback=lookback)
    counts = window_counts(panel, spec.horizon)
    if target == "onset":
        counts = counts.where(y.notna())
    return _Data(
        X=feature_matrix(panel), y=y, counts=counts, onset=onset_mask(panel, q),
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


def _evaluate(estimator: Any, data: _Data, spec: BacktestSpec, target: str, k: int, model_name: str, run_id: str,
              origins: pd.DatetimeIndex, sink: list[str], on_origin: OriginProgress | None = None) -> pd.DataFrame:
    """Protocol for one estimator (see :func:`evaluate`): fit at every ``refit_every``-th origin, predict the block.

    ``on_origin(model_name, done, total)`` is called after each origin block (and each skipped origin).
    """
    def tick() -> None:
        if on_origin:
            on_origin(model_name, i, len(origins))

    kind = getattr(estimator, "_target_kind", "binary")
    if "k" in estimator.get_params():
        estimator = clone(estimator).set_params(k=k)
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
            "run_id": run_id, "model": model_name, "target": target, "dyad": dyad[test],
            "origin": origin_col, "horizon": spec.horizon,
            "window_start": _shift_index(origin_col, 1, spec.freq), "window_end": _shift_index(origin_col, spec.horizon, spec.freq),
            "probability": p.astype(float), "outcome": pd.array(y_all[test], dtype="Float64"),
            "onset_eligible": data.onset.to_numpy(dtype=bool)[test],
        }))
        tick()
    if not frames:
        return _empty_predictions()
    out = pd.concat(frames, ignore_index=True).sort_values(["origin", "dyad"], ignore_index=True)
    out["outcome"] = out["outcome"].astype("Int8")
    return out


def _shift_index(index: pd.DatetimeIndex, n: int, freq: str) -> pd.DatetimeIndex:
    if freq == "M":
        return index + pd.DateOffset(months=n)
    return index + (pd.Timedelta(weeks=n) if freq == "W" else pd.Timedelta(days=n))


def _empty_predictions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in (*PREDICTION_COLUMNS, "onset_eligible")})


def _origins_for(panel: pd.DataFrame, spec: BacktestSpec, sink: list[str]) -> pd.DatetimeIndex:
    periods = pd.DatetimeIndex(pd.unique(panel["period"]))
    wanted = spec.origins()
    got = spec.origins(periods)
    if len(got) < len(wanted):
        missing = wanted.difference(got)
        sink.append(f"{len(missing)} of {len(wanted)} origins have no panel rows and are skipped (first: {missing[0].date()}).")
    if len(got) == 0:
        raise UsageError(problem("No backtest origin falls inside the panel.", f"origins between {periods.min().date() if len(periods) else '-'} and {periods.max().date() if len(periods) else '-'}",
                                 f"{spec.start.date()} .. {spec.end.date()}", "Adjust --start/--end to the data."))
    return got


def evaluate(estimator: Any, panel: pd.DataFrame, spec: BacktestSpec, target: str = "any_material_conflict", k: int = 1,
             model_name: str | None = None, run_id: str | None = None, q: int = 12, quantile: float = 0.9,
             lookback: int = 52) -> pd.DataFrame:
    """Backtest one estimator; returns the predictions table (ARCHITECTURE.md).

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
    data = _prepare(panel, spec, target, k, q, quantile, lookback)
    origins = _origins_for(panel, spec, sink)
    name = model_name or type(estimator).__name__
    out = _evaluate(estimator, data, spec, target, k, name, run_id or uuid.uuid4().hex[:12], origins, sink)
    out.attrs["warnings"] = _dedupe(sink)
    return out


# ----------------------------------------------------------------------------- leakage


def check_leakage(panel: pd.DataFrame, origins: Sequence[pd.Timestamp], rebuild: Callable[[pd.Timestamp], pd.DataFrame] | None = None,
                  y: pd.Series | None = None, n_checks: int = 3, atol: float = 1e-6) -> dict[str, Any]:
    """Prove that features at an origin use no data after it; raise :class:`LeakageError` if they do.

    1. Truncation (always): the feature matrix recomputed from the panel cut at the
       origin must equal the full matrix at the origin.
    2. Rebuild (when ``rebuild(origin)`` is given: a panel built only from events up to
       the end of that period): every feature of every dyad at the origin must be
       unchanged, and the set of dyads the same. This catches leaks in the panel's own
       feature builders.
    3. Without ``rebuild``: a screen warns (:class:`LeakageWarning`) about any single
       feature that separates the future target almost perfectly (ROC-AUC >= 0.995).

    Checks ``n_checks`` origins spread over ``origins``. Returns a summary dict.
    """
    origins = pd.DatetimeIndex(origins)
    picks = origins[np.unique(np.linspace(0, len(origins) - 1, min(n_checks, len(origins))).round().astype(int))] if len(origins) else origins
    full = feature_matrix(panel)
    period = pd.DatetimeIndex(panel["period"])
    problems: list[str] = []
    for origin in picks:
        at = np.asarray(period == origin)
        trunc_panel = panel[np.asarray(period <= origin)]
        trunc_panel.attrs = dict(panel.attrs)
        problems += _compare(full[at], panel["dyad"][at], feature_matrix(trunc_panel).loc[trunc_panel.index[np.asarray(pd.DatetimeIndex(trunc_panel["period"]) == origin)]],
                             trunc_panel["dyad"][np.asarray(pd.DatetimeIndex(trunc_panel["period"]) == origin)], origin, "truncated panel", atol)
        if rebuild is not None:
            rebuilt = rebuild(origin)
            r_at = np.asarray(pd.DatetimeIndex(rebuilt["period"]) == origin)
            problems += _compare(full[at], panel["dyad"][at], feature_matrix(rebuilt)[r_at], rebuilt["dyad"][r_at], origin, "panel rebuilt from events up to the origin", atol)
    if problems:
        raise LeakageError(
            "Look-ahead leak: features at a forecast origin change when the data after it is removed.\n  - "
            + "\n  - ".join(problems[:12])
            + ("\n  - ..." if len(problems) > 12 else "")
            + "\nEvery feature at period t must use periods <= t only. Fix the named feature builder(s)."
        )
    summary: dict[str, Any] = {"origins_checked": [str(o.date()) for o in picks], "rebuild": rebuild is not None, "suspicious": []}
    if rebuild is None and y is not None:
        summary["suspicious"] = _screen(full, y)
        for col, auc in summary["suspicious"]:
            warnings.warn(f"Feature {col!r} separates the future target almost perfectly (ROC-AUC {auc:.3f}); it may look ahead. "
                          "Pass a rebuild function to check properly.", LeakageWarning, stacklevel=2)
    return summary


def _compare(a: pd.DataFrame, a_dyad: pd.Series, b: pd.DataFrame, b_dyad: pd.Series, origin: pd.Timestamp, how: str, atol: float) -> list[str]:
    out: list[str] = []
    A = a.set_axis(a_dyad.to_numpy()).sort_index()
    B = b.set_axis(b_dyad.to_numpy()).sort_index()
    only_a, only_b = A.index.difference(B.index), B.index.difference(A.index)
    if len(only_a) or len(only_b):
        out.append(f"{origin.date()}: dyad selection differs from the {how} ({len(only_a)} only in full, {len(only_b)} only in truncated; e.g. {list(only_a[:2]) + list(only_b[:2])}).")
    common = A.index.intersection(B.index)
    missing_cols = [c for c in A.columns if c not in B.columns]
    if missing_cols:
        out.append(f"{origin.date()}: columns {missing_cols[:5]} are absent from the {how}.")
    cols = [c for c in A.columns if c in B.columns]
    x, z = A.loc[common, cols].to_numpy(dtype=float), B.loc[common, cols].to_numpy(dtype=float)
    same = np.isclose(x, z, atol=atol, rtol=1e-6, equal_nan=True)
    for j in np.flatnonzero(~same.all(axis=0)):
        out.append(f"{origin.date()}: feature {cols[j]!r} differs on {int((~same[:, j]).sum())} of {len(common)} dyads in the {how}.")
    return out


def _screen(X: pd.DataFrame, y: pd.Series, limit: float = 0.995) -> list[tuple[str, float]]:
    ok = y.notna().to_numpy()
    yy = y[ok].to_numpy()
    if yy.sum() < 10 or yy.sum() == len(yy):
        return []
    out = []
    for col in X.columns:
        x = X[col].to_numpy(dtype=float)[ok]
        if np.isnan(x).all() or np.nanstd(x) == 0:
            continue
        auc = roc_auc_score(yy, np.nan_to_num(x, nan=np.nanmedian(x)))
        auc = max(auc, 1 - auc)
        if auc >= limit:
            out.append((col, float(auc)))
    return out


# ----------------------------------------------------------------------------- metrics


def _ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(total)


def _precision_at_k(df: pd.DataFrame, k: int) -> float:
    ranked = df.sort_values(["origin", "probability", "dyad"], ascending=[True, False, True])
    top = ranked[ranked.groupby("origin", sort=False).cumcount() < k]
    return float(top.groupby("origin")["outcome"].mean().mean()) if len(top) else float("nan")


def metrics(predictions: pd.DataFrame, alert_threshold: float = 0.3, top_k: int = 10, bins: int = 10) -> pd.DataFrame:
    """Score a predictions table: one row per (model, target, horizon) over resolved rows.

    Columns: ``n``, ``n_origins``, ``n_positives``, ``brier``, ``log_loss``, ``roc_auc``,
    ``average_precision``, ``ece`` (``bins`` equal-width bins), ``bss_base_rate`` and
    ``bss_persistence`` (Brier skill 1 - B/B_ref on the same rows; needs those models in
    the table), ``missed_escalation_rate`` (share of positives below
    ``alert_threshold``), ``precision_at_k`` (top ``top_k`` dyads per origin, averaged
    over origins), ``onset_ap`` and ``onset_positives`` (rows with ``onset_eligible``).
    Undefined metrics are NaN *and* listed in ``result.attrs["warnings"]``.
    """
    sink: list[str] = []
    df = predictions[predictions["outcome"].notna()].copy()
    df["outcome"] = df["outcome"].astype(int)
    keys = ["target", "horizon", "dyad", "origin"]
    refs = {name: df[df["model"] == name].set_index(keys)["probability"] for name in REQUIRED_BASELINES}
    rows = []
    for (model, target, horizon), g in df.groupby(["model", "target", "horizon"], sort=False):
        y, p = g["outcome"].to_numpy(), g["probability"].to_numpy(dtype=float)
        pos = int(y.sum())
        where = f"{model} ({target}, h={horizon})"
        row: dict[str, Any] = {"model": model, "target": target, "horizon": int(horizon), "n": len(g), "n_origins": g["origin"].nunique(), "n_positives": pos}
        row["brier"] = float(brier_score_loss(y, p, pos_label=1)) if len(y) else float("nan")
        row["log_loss"] = float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])) if len(y) else float("nan")
        if 0 < pos < len(y):
            row["roc_auc"] = float(roc_auc_score(y, p))
            row["average_precision"] = float(average_precision_score(y, p))
        else:
            row["roc_auc"] = row["average_precision"] = float("nan")
            sink.append(f"{where}: {'no positives' if pos == 0 else 'no negatives'} among {len(y)} resolved rows; ROC-AUC and AP are undefined.")
        row["ece"] = _ece(y, p, bins) if len(y) else float("nan")
        for ref, series in refs.items():
            col = f"bss_{ref}"
            if series.empty:
                row[col] = float("nan")
                sink.append(f"{where}: no {ref} predictions in the table; {col} is undefined.")
                continue
            joined = g.set_index(keys)[["probability", "outcome"]].join(series.rename("ref"), how="inner")
            b_ref = float(np.mean((joined["ref"] - joined["outcome"]) ** 2)) if len(joined) else float("nan")
            b_mod = float(np.mean((joined["probability"] - joined["outcome"]) ** 2)) if len(joined) else float("nan")
            if not len(joined) or b_ref == 0:
                row[col] = float("nan")
                sink.append(f"{where}: the {ref} Brier score is 0 or has no common rows; {col} is undefined.")
            else:
                row[col] = 1.0 - b_mod / b_ref
        row["missed_escalation_rate"] = float((p[y == 1] < alert_threshold).mean()) if pos else float("nan")
        row["precision_at_k"] = _precision_at_k(g, top_k)
        on = g[g["onset_eligible"].astype(bool)] if "onset_eligible" in g.columns else g.iloc[:0]
        on_pos = int(on["outcome"].sum())
        row["onset_positives"] = on_pos
        if 0 < on_pos < len(on):
            row["onset_ap"] = float(average_precision_score(on["outcome"], on["probability"]))
        else:
            row["onset_ap"] = float("nan")
            sink.append(f"{where}: {on_pos} onsets among {len(on)} onset-eligible rows; onset AP is undefined.")
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["warnings"] = _dedupe(sink)
    return out


def reliability_figure(predictions: pd.DataFrame, bins: int = 10, models: Sequence[str] | None = None):
    """Reliability diagram (observed frequency vs mean forecast per bin), one line per model.

    Returns a :class:`matplotlib.figure.Figure` (no pyplot, works on the Agg backend).
    """
    from matplotlib.figure import Figure

    df = predictions[predictions["outcome"].notna()]
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    edges = np.linspace(0, 1, bins + 1)
    for model in models or list(dict.fromkeys(df["model"])):
        g = df[df["model"] == model]
        if g.empty:
            continue
        p, y = g["probability"].to_numpy(dtype=float), g["outcome"].to_numpy(dtype=float)
        idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        xs, ys = [], []
        for b in range(bins):
            m = idx == b
            if m.any():
                xs.append(p[m].mean())
                ys.append(y[m].mean())
        ax.plot(xs, ys, marker="o", linewidth=1.2, label=f"{model} (ECE {_ece(y, p, bins):.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("forecast probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("Reliability")
    ax.legend(fontsize=7, loc="upper left")
    return fig


# ----------------------------------------------------------------------------- running


def _resolve_models(models: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
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
                 target: str = "any_material_conflict", k: int = 1, q: int = 12, quantile: float = 0.9, lookback: int = 52,
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
    total)`` after each block of origins a model has been fitted and predicted on.

    ``executor``: where the work runs, as in sktime's ``evaluate(..., backend=)``: anything
    with ``submit(fn, *args) -> future`` (a :mod:`concurrent.futures` executor, a
    ``distributed.Client``, the Dask engine's). Each model's refit blocks are cut into
    ``parts`` runs of consecutive blocks, one task each; the predictions are put together
    in the same order. None: everything here, one model after another.
    """
    sink: list[str] = []
    chosen = _resolve_models(models)
    data = _prepare(panel, spec, target, k, q, quantile, lookback)
    origins = _origins_for(panel, spec, sink)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LeakageWarning)
        leakage = check_leakage(panel, origins, rebuild=rebuild, y=data.y, n_checks=leakage_checks)
    sink += [f"leakage screen: {w.message}" for w in caught if issubclass(w.category, LeakageWarning)]
    run_id = run_id or uuid.uuid4().hex[:12]
    frames = []
    if executor is None:
        for name, est in chosen.items():
            frames.append(_evaluate(est, data, spec, target, k, name, run_id, origins, sink, on_origin))
            if on_progress:
                on_progress(name)
    else:
        n_blocks = -(-len(origins) // spec.refit_every)
        cuts = np.array_split(np.arange(n_blocks), max(1, min(parts, n_blocks)))
        runs = [origins[c[0] * spec.refit_every : (c[-1] + 1) * spec.refit_every] for c in cuts if len(c)]
        tasks = {name: [executor.submit(_evaluate_run, est, data, spec, target, k, name, run_id, run) for run in runs]
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


def _evaluate_run(estimator: Any, data: _Data, spec: BacktestSpec, target: str, k: int, name: str, run_id: str,
                  origins: pd.DatetimeIndex) -> tuple[pd.DataFrame, list[str]]:
    """One task of :func:`run_backtest` on an executor: one model over a run of origins; (predictions, warnings)."""
    sink: list[str] = []
    return _evaluate(estimator, data, spec, target, k, name, run_id, origins, sink), sink


def fit_final(estimator: Any, panel: pd.DataFrame, cutoff: Any, freq: str, horizon: int, target: str = "any_material_conflict",
              k: int = 1, q: int = 12, quantile: float = 0.9, lookback: int = 52, train_start: Any = None) -> tuple[Any, dict[str, Any]]:
    """Fit ``estimator`` on everything known at ``cutoff``; returns (fitted estimator, info).

    Only panel rows up to ``cutoff`` are used, and only those whose label window has
    ended by then. ``info``: rows, positives, first/last training period, feature columns,
    warnings.
    """
    sink: list[str] = []
    probs: list[str] = []
    cut = _as_period(cutoff, freq.upper(), "cutoff", probs)
    if probs or cut is None:
        raise UsageError(probs[0] if probs else problem("train needs a cutoff date.", "YYYY-MM-DD", cutoff, "Use --cutoff 2015-11-01."))
    period = pd.DatetimeIndex(panel["period"])
    known = panel[np.asarray(period <= cut)]
    known.attrs = dict(panel.attrs)
    if known.empty:
        raise UsageError(problem("No panel rows up to the cutoff.", f"a cutoff after {period.min().date()}", str(cut.date()), "Use a later --cutoff."))
    spec = BacktestSpec(cut, cut, freq=freq, horizon=horizon, min_train_periods=1, train_start=train_start)
    data = _prepare(known, spec, target, k, q, quantile, lookback)
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
    y_fit = data.counts[rows].iloc[order].to_numpy() if getattr(estimator, "_target_kind", "binary") == "count" else y
    if y.sum() in (0, len(y)):
        sink.append(f"the training data has {'no positives' if y.sum() == 0 else 'only positives'}; the model predicts that class.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = clone(estimator).fit(X, y_fit)
    _relay(caught, "fit", sink)
    info = {
        "rows": int(len(y)), "positives": int(y.sum()), "first_period": str(X.index.min().date()), "last_period": str(X.index.max().date()),
        "cutoff": str(cut.date()), "target": target, "horizon": horizon, "k": k, "freq": freq.upper(),
        "features": list(X.columns), "warnings": _dedupe(sink),
    }
    return fitted, info


# ----------------------------------------------------------------------------- skill over a baseline

SKILL_METRICS: tuple[str, ...] = ("average_precision", "brier", "roc_auc", "onset_ap")
"""Metrics :func:`compare_to_baseline` reports (``brier``: lower is better)."""


def _ranked(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order by descending probability and the last position of each tied block (sklearn's thresholds)."""
    order = np.argsort(-p, kind="mergesort")
    ps = p[order]
    ends = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1]
    return order, ends, y[order].astype(float)


def _weighted_scores(y: np.ndarray, p: np.ndarray, W: np.ndarray) -> dict[str, np.ndarray]:
    """AP, ROC-AUC and Brier of ``p`` against ``y`` under each row of row weights ``W`` (replicates x rows)."""
    order, ends, ys = _ranked(y, p)
    Ws = W[:, order]
    tps = np.cumsum(Ws * ys, axis=1)[:, ends]
    fps = np.cumsum(Ws * (1.0 - ys), axis=1)[:, ends]
    P, N = tps[:, -1:], fps[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tps + fps > 0, tps / (tps + fps), 0.0)
        recall = tps / P
        ap = np.sum(np.diff(np.c_[np.zeros(len(W)), recall], axis=1) * precision, axis=1)
        tpr = np.c_[np.zeros(len(W)), recall]
        fpr = np.c_[np.zeros(len(W)), fps / N]
        auc = np.trapezoid(tpr, fpr, axis=1) if hasattr(np, "trapezoid") else np.trapz(tpr, fpr, axis=1)
        brier = (W * (p - y) ** 2).sum(axis=1) / W.sum(axis=1)
    undefined = (P[:, 0] <= 0) | (N[:, 0] <= 0)
    ap[undefined] = np.nan
    auc[undefined] = np.nan
    return {"average_precision": ap, "roc_auc": auc, "brier": brier}


def compare_to_baseline(predictions: pd.DataFrame, baseline: str = "history", models: Sequence[str] | None = None,
                        n_boot: int = 1000, level: float = 0.9, seed: int = 0, chunk: int = 50) -> pd.DataFrame:
    """Each model's difference to ``baseline`` with a dyad-block bootstrap interval.

    1. Keep resolved rows that both the model and the baseline predicted (same target,
       horizon, dyad and origin): the comparison is paired.
    2. Point values: AP, Brier, ROC-AUC on all of them; onset AP on ``onset_eligible`` rows.
    3. Bootstrap: draw the dyads with replacement ``n_boot`` times (a dyad's rows travel
       together, so serial dependence within a pair stays in each draw) and recompute both
       models' metrics with the dyads' multiplicities as row weights.
    4. ``low``/``high``: the ``level`` percentile interval of model minus baseline.
       ``beats_history`` is True when the point difference and the whole interval lie on
       the better side of 0 (above for AP, ROC-AUC, onset AP; below for Brier).

    Returns one record per (target, horizon, metric, model) with columns ``target``,
    ``horizon``, ``metric``, ``model``, ``model_value``, ``history_value`` (the baseline's),
    ``difference``, ``low``, ``high``, ``beats_history``, ``n``, ``n_positives``.
    """
    df = predictions[predictions["outcome"].notna()]
    if baseline not in set(df["model"]):
        raise UsageError(problem(f"The predictions hold no {baseline!r} model to compare with.", f"a backtest that includes {baseline}",
                                 sorted(set(df["model"])), f"Add {baseline} to --models (or [models] names)."))
    keys = ["target", "horizon", "dyad", "origin"]
    alpha = (1.0 - level) / 2.0
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for (target, horizon), g in df.groupby(["target", "horizon"], sort=False):
        base = g[g["model"] == baseline].set_index(keys)
        if "onset_eligible" not in base.columns:
            base = base.assign(onset_eligible=False)
        others = [m for m in (models or dict.fromkeys(g["model"])) if m != baseline and m in set(g["model"])]
        for model in others:
            joined = g[g["model"] == model].set_index(keys)[["probability"]].join(
                base[["probability", "outcome", "onset_eligible"]].rename(columns={"probability": "ref"}), how="inner")
            if joined.empty:
                continue
            y = joined["outcome"].to_numpy(dtype=float)
            pm, pb = joined["probability"].to_numpy(dtype=float), joined["ref"].to_numpy(dtype=float)
            onset = joined["onset_eligible"].fillna(False).to_numpy(dtype=bool)
            codes, uniq = pd.factorize(joined.index.get_level_values("dyad"))
            one = np.ones((1, len(y)))
            point_m, point_b = _weighted_scores(y, pm, one), _weighted_scores(y, pb, one)
            if onset.any():
                point_m["onset_ap"] = _weighted_scores(y[onset], pm[onset], one[:, onset])["average_precision"]
                point_b["onset_ap"] = _weighted_scores(y[onset], pb[onset], one[:, onset])["average_precision"]
            diffs: dict[str, list[np.ndarray]] = {m: [] for m in SKILL_METRICS}
            for start in range(0, n_boot, chunk):
                b = min(chunk, n_boot - start)
                draws = rng.integers(0, len(uniq), size=(b, len(uniq)))
                mult = np.zeros((b, len(uniq)))
                np.add.at(mult, (np.repeat(np.arange(b), len(uniq)), draws.ravel()), 1.0)
                W = mult[:, codes]
                sm, sb = _weighted_scores(y, pm, W), _weighted_scores(y, pb, W)
                for m in ("average_precision", "brier", "roc_auc"):
                    diffs[m].append(sm[m] - sb[m])
                if onset.any():
                    diffs["onset_ap"].append(_weighted_scores(y[onset], pm[onset], W[:, onset])["average_precision"]
                                             - _weighted_scores(y[onset], pb[onset], W[:, onset])["average_precision"])
            for metric in SKILL_METRICS:
                if metric not in point_m or not diffs[metric]:
                    continue
                d = np.concatenate(diffs[metric])
                d = d[np.isfinite(d)]
                mv, bv = float(point_m[metric][0]), float(point_b[metric][0])
                lo, hi = (float(np.quantile(d, alpha)), float(np.quantile(d, 1 - alpha))) if len(d) else (np.nan, np.nan)
                better = (hi < 0 and mv < bv) if metric == "brier" else (lo > 0 and mv > bv)
                rows.append({"target": target, "horizon": int(horizon), "metric": metric, "model": model, "model_value": mv,
                             "history_value": bv, "difference": mv - bv, "low": lo, "high": hi, "beats_history": bool(better),
                             "n": int(onset.sum() if metric == "onset_ap" else len(y)),
                             "n_positives": int(y[onset].sum() if metric == "onset_ap" else y.sum())})
    return pd.DataFrame(rows, columns=["target", "horizon", "metric", "model", "model_value", "history_value", "difference",
                                       "low", "high", "beats_history", "n", "n_positives"])


def skill_vs_history(predictions: pd.DataFrame, models: Sequence[str] | None = None, n_boot: int = 500, seed: int = 0) -> list[dict[str, Any]]:
    """:func:`compare_to_baseline` against ``history`` as plain records (the model card's ``skill_vs_history``).

    Empty when the predictions hold no ``history`` rows.
    """
    if predictions is None or "model" not in predictions or "history" not in set(predictions["model"]):
        return []
    table = compare_to_baseline(predictions, "history", models=models, n_boot=n_boot, seed=seed)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in table.drop(columns=["n", "n_positives"]).to_dict("records")]
