"""The scores table: probability, band, coverage, ranks, drivers and evidence per dyad and horizon.

Named ``scores`` (not ``score``) so that ``tension.scoring.score`` stays the function.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist

from .. import periods
from ..errors import UsageError, problem
from .drivers import Attribution, attribute, base_estimators, driver_rows, group_of
from .evidence import evidence_weights, last_event_date, read_evidence

__all__ = ["score", "SCORE_COLUMNS", "beta_band", "observed_rate_band", "NO_BACKTEST", "coverage_flags",
           "assign_regions", "horizons_of"]

SCORE_COLUMNS: tuple[str, ...] = (
    "dyad", "source", "target", "as_of", "horizon", "probability", "lower", "upper", "rank", "region_rank",
    "change", "coverage", "drivers", "evidence", "model_version", "data_cutoff",
    "region", "window_start", "window_end", "logit", "interval_n", "drivers_method", "band_note",
)
NO_BACKTEST = "no band: no backtest of this model"


# -- interval -------------------------------------------------------------------------------------

def beta_band(p: np.ndarray, n: np.ndarray, level: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``level`` band of ``Beta(p n + 1/2, (1 - p) n + 1/2)``, widened to contain ``p``."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    a, b = p * n + 0.5, (1 - p) * n + 0.5
    tail = (1 - level) / 2
    lo = beta_dist.ppf(tail, a, b)
    hi = beta_dist.ppf(1 - tail, a, b)
    return np.minimum(lo, p), np.maximum(hi, p)


def observed_rate_band(p: np.ndarray, calibration: pd.DataFrame | None, horizon: int, level: float = 0.8,
                       bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``level`` interval of the observed event rate among past forecasts near ``p`` (see the package doc).

    Returns ``(lower, upper, n, note)``: NaN bounds with a note where no band can be
    computed, ``n`` the number of past forecasts behind each band.

    >>> cal = pd.DataFrame({"probability": np.linspace(0, 0.5, 1000), "outcome": np.arange(1000) % 4 == 0})
    >>> lo, hi, n, note = observed_rate_band(np.array([0.1, 0.9]), cal, horizon=1)
    >>> bool(lo[0] < 0.25 < hi[0]), int(n[0]), bool(np.isnan(lo[1])), note[1][:30]
    (True, 100, True, 'no band: no backtest forecasts')
    """
    p = np.asarray(p, dtype=float)
    lower, upper = np.full(len(p), np.nan), np.full(len(p), np.nan)
    n = np.zeros(len(p), dtype=int)
    note = np.full(len(p), NO_BACKTEST, dtype=object)
    c = pd.DataFrame() if calibration is None else calibration.dropna(subset=["probability", "outcome"])
    if "horizon" in c.columns:
        c = c[c["horizon"] == horizon]
    if c.empty:
        return lower, upper, n, note
    past = c["probability"].to_numpy(float)
    hits = c["outcome"].to_numpy(float) > 0
    edges = np.unique(np.quantile(past, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, past, side="right") - 1, 0, len(edges) - 2) if len(edges) > 1 else np.zeros(len(past), int)
    where = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    inside = (p >= past.min()) & (p <= past.max())
    tail = (1 - level) / 2
    for b in np.unique(where[inside & ~np.isnan(p)]):
        rows = which == b
        k, m = int(hits[rows].sum()), int(rows.sum())
        sel = inside & (where == b)
        lower[sel] = beta_dist.ppf(tail, k + 0.5, m - k + 0.5)
        upper[sel] = beta_dist.ppf(1 - tail, k + 0.5, m - k + 0.5)
        n[sel] = m
        note[sel] = ""
    note[~inside] = (f"no band: no backtest forecasts of this model near this probability "
                     f"(its {len(past)} past forecasts lie in {past.min():.3g}-{past.max():.3g})")
    note[np.isnan(p)] = "no band: no probability (model inputs missing)"
    return lower, upper, n, note


# -- coverage and regions -------------------------------------------------------------------------

def coverage_flags(panel: pd.DataFrame, as_of: pd.Timestamp, dyads: Sequence[str], window: int = 12,
                   min_active: int = 3) -> pd.Series:
    """``ok`` / ``low`` / ``insufficient`` per dyad from its last ``window`` periods (see the package doc)."""
    start = periods.shift(pd.Timestamp(as_of), -(window - 1), periods.of_panel(panel))
    recent = panel[(panel["period"] >= start) & (panel["period"] <= as_of) & panel["dyad"].isin(dyads)]
    if "events_dyad" in recent:
        active_col = recent["events_dyad"].fillna(0) > 0
    else:
        counts = [c for c in recent.columns if c.endswith("_count")]
        active_col = recent[counts].fillna(0).sum(axis=1) > 0
    low_col = recent["low_coverage"].fillna(True).astype(bool) if "low_coverage" in recent else pd.Series(False, index=recent.index)
    g = pd.DataFrame({"dyad": recent["dyad"], "active": active_col, "low": low_col,
                      "now_low": low_col & (recent["period"] == as_of)}).groupby("dyad")
    stats = g.agg(rows=("active", "size"), active=("active", "sum"), low=("low", "sum"), now_low=("now_low", "any"))
    stats = stats.reindex(list(dyads)).fillna({"rows": 0, "active": 0, "low": 0, "now_low": False})
    out = pd.Series("ok", index=stats.index, dtype=object)
    out[(stats["active"] < min_active) | stats["now_low"].astype(bool)] = "low"
    # low-coverage share counted over the whole window (absent periods of a dyad are not gaps of the world)
    out[(stats["active"] == 0) | (stats["rows"] < window / 2) | (stats["low"] >= window / 2)] = "insufficient"
    return out


def assign_regions(sources: pd.Series, targets: pd.Series, regions: Mapping[str, Sequence[str]] | None) -> pd.Series:
    """First region (config order) that lists both countries of the dyad; empty string if none."""
    out = pd.Series("", index=sources.index, dtype=object)
    for name, members in reversed(list((regions or {}).items())):
        m = set(members)
        out[sources.isin(m) & targets.isin(m)] = name
    return out


# -- models per horizon ---------------------------------------------------------------------------

def _unwrap(model: Any) -> tuple[Any, list[str] | None, int | None]:
    """(estimator, feature names, trained horizon) of a fitted estimator or a tension pyfunc model.

    A registry model (``tension.tracking.TensionModel``, or the pyfunc wrapping it) carries its
    feature list and its target configuration; a bare estimator carries ``feature_names_in_``.
    """
    if hasattr(model, "unwrap_python_model"):
        model = model.unwrap_python_model()
    if hasattr(model, "estimator") and hasattr(model, "features") and isinstance(getattr(model, "config", None), Mapping):
        target = model.config.get("target") or {}
        h = target.get("horizon") if isinstance(target, Mapping) else None
        return model.estimator, list(model.features), (int(h) if h is not None else None)
    trained = getattr(model, "horizon", None) or getattr(model, "horizon_", None)
    return model, None, (int(trained) if trained is not None else None)


def horizons_of(model: Any) -> tuple[int, ...] | None:
    """The horizons a model (or ``{horizon: model}`` mapping) forecasts, if it says."""
    if isinstance(model, Mapping):
        return tuple(sorted(int(h) for h in model))
    h = _unwrap(model)[2]
    return (h,) if h is not None else None


def _models_by_horizon(model: Any, horizons: Sequence[int]) -> dict[int, Any]:
    mapping = model if isinstance(model, Mapping) else getattr(model, "models_", None)
    if isinstance(mapping, Mapping):
        missing = [h for h in horizons if h not in mapping]
        if missing:
            raise UsageError(problem("The model has no forecaster for some horizons.",
                                     f"horizons among {sorted(mapping)}", missing,
                                     f"Use --horizon {','.join(str(h) for h in sorted(mapping))}."))
        return {h: mapping[h] for h in horizons}
    trained = _unwrap(model)[2]
    if trained is not None and set(horizons) != {int(trained)}:
        raise UsageError(problem(f"The model forecasts horizon {trained} only.", f"--horizon {trained}",
                                 list(horizons), f"Use --horizon {trained}, or register one model per horizon."))
    if trained is None and len(horizons) > 1:
        raise UsageError(problem("One model cannot score several horizons.", "a single horizon, or a mapping "
                                 "{horizon: model}", list(horizons), "Pass one horizon, e.g. horizons=(3,)."))
    return {h: model for h in horizons}


def _model_inputs(past: pd.DataFrame) -> pd.DataFrame:
    """The panel plus the columns models see (``tension.models.feature_matrix``, past-only helpers),
    and the old names models registered by earlier versions were trained on (``renamed_columns``)."""
    from ..models import feature_matrix, renamed_columns

    try:
        fm = feature_matrix(past)
    except (UsageError, KeyError, ValueError):
        return past
    fm = pd.concat([fm, renamed_columns(fm)], axis=1)
    extra = [c for c in fm.columns if c not in past.columns]
    return pd.concat([past, fm[extra]], axis=1) if extra else past


def _feature_names(model: Any, inputs: pd.DataFrame) -> list[str]:
    from ..models import feature_matrix

    for est in (model, *base_estimators(model)):
        names = getattr(est, "feature_names_in_", None)
        if names is not None:
            return [str(n) for n in names]
    try:
        return list(feature_matrix(inputs.head(50)).columns)
    except (UsageError, KeyError, ValueError):
        pass
    raise UsageError(problem("Cannot tell which panel columns the model reads.", "a model fitted on a DataFrame "
                             "(feature_names_in_)", type(model).__name__, "Fit the model on the panel's feature matrix."))


# -- score ----------------------------------------------------------------------------------------

def _previous_probability(previous: pd.DataFrame | None, as_of: pd.Timestamp, horizon: int) -> pd.Series:
    if previous is None or previous.empty:
        return pd.Series(dtype=float)
    p = previous[previous["horizon"].astype(int) == horizon]
    if "as_of" in p:
        p = p[pd.to_datetime(p["as_of"]) < as_of].sort_values("as_of", kind="stable")
    return p.drop_duplicates("dyad", keep="last").set_index("dyad")["probability"].astype(float)


def _predict(est: Any, X: pd.DataFrame) -> np.ndarray:
    """P(event); rows the model cannot take (missing inputs) get NaN instead of failing the whole run."""
    try:
        return np.asarray(est.predict_proba(X), dtype=float)[:, 1]
    except ValueError as exc:
        complete = X.notna().all(axis=1).to_numpy()
        if complete.all():
            raise UsageError(problem("The model cannot score this panel.", "the inputs it was trained on",
                                     str(exc)[:200], "Score with a panel built like the training panel.")) from None
        p = np.full(len(X), np.nan)
        if complete.any():
            p[complete] = np.asarray(est.predict_proba(X[complete]), dtype=float)[:, 1]
        return p


def _rank(df: pd.DataFrame, by: list[str]) -> pd.Series:
    ok = df["coverage"] != "insufficient"
    r = df[ok].groupby(by)["probability"].rank(method="min", ascending=False)
    return r.reindex(df.index).astype("Int64")


def _as_of(labels: pd.DatetimeIndex, as_of: Any) -> pd.Timestamp:
    """The panel period scored for ``as_of`` (default: the last; a date between periods takes the one before)."""
    as_of = labels[-1] if as_of is None else pd.Timestamp(as_of)
    if as_of in labels:
        return as_of
    before = labels[labels <= as_of]
    if len(before) == 0:
        raise UsageError(problem("as_of lies before the panel's first period.", f"a date from {labels[0].date()}",
                                 str(as_of.date()), "Pick a later --as-of."))
    return before[-1]


def _horizons(model: Any, horizons: Sequence[int] | None) -> tuple[int, ...]:
    if horizons is None:  # the model's own horizon(s); a bare estimator that does not say is scored at 1
        horizons = horizons_of(model) or (1,)
    horizons = tuple(int(h) for h in horizons)
    if not horizons or min(horizons) < 1:
        raise UsageError(problem("Horizons must be positive integers.", "e.g. 1,3,6", list(horizons),
                                 "Use --horizon 1,3,6."))
    return horizons


def _attribution(est: Any, X: pd.DataFrame, cov: np.ndarray) -> Attribution:
    """Drivers for every row; Shapley (2**G model calls a row) skips rows that read "insufficient data"."""
    cheap = all(getattr(b[-1] if hasattr(b, "steps") else b, "coef_", None) is not None for b in base_estimators(est))
    explain = np.ones(len(X), bool) if cheap else (cov != "insufficient")
    try:
        att = attribute(est, X[explain], X.median(numeric_only=True))
        return Attribution(att.values.reindex(X.index), pd.Series(att.baseline, index=X.index[explain])
                           .reindex(X.index).to_numpy(), att.method, att.groups)
    except (ValueError, TypeError, AttributeError) as exc:  # robust: a model we cannot explain still scores
        return Attribution(pd.DataFrame(index=X.index), np.full(len(X), np.nan), f"none ({type(exc).__name__})")


def score(model: Any, panel: pd.DataFrame, as_of: Any = None, horizons: Sequence[int] | None = None,
          previous: pd.DataFrame | None = None, *, events: Any = None,
          regions: Mapping[str, Sequence[str]] | None = None, model_version: str | None = None,
          calibration: pd.DataFrame | None = None, level: float = 0.8, coverage_window: int = 12,
          min_active: int = 3, top_drivers: int = 5, top_evidence: int = 5) -> pd.DataFrame:
    """Score every dyad of ``panel`` at ``as_of`` (default: its last period) for each horizon.

    Parameters
    ----------
    model
        A fitted sklearn estimator (possibly calibrated) for a single horizon, a mapping
        ``{horizon: estimator}`` (e.g. ``{1: m1, 3: m3, 6: m6}``), or the registry model
        (``tension.tracking.load_estimator``; its feature list and target horizon are used).
    horizons
        Default: the horizons the model declares (the mapping's keys, the registry model's
        target horizon), else ``(1,)``. Asking a one-horizon model for another is an error.
    panel
        The dyad panel (``tension.panel.build_panel``) up to at least ``as_of``; rows after
        ``as_of`` are ignored.
    previous
        Earlier issued scores (``Ledger.latest()``); ``change`` is measured against them.
    events
        Where the evidence comes from: a :class:`tension.store.Store` (or its folder), read
        for the scored dyads and the evidence window only, or a canonical events DataFrame
        (empty evidence without them).
    regions
        ``{name: countries}`` (``Experiment.regions``); a dyad belongs to the first region
        listing both of its countries.
    calibration
        Resolved backtest predictions (``probability``, ``outcome``, optional ``horizon``)
        behind the interval (see the package doc).

    Returns
    -------
    DataFrame
        The scores table, sorted by horizon then rank; ``attrs["freq"]`` is the panel frequency.
    """
    if panel.empty:
        raise UsageError(problem("The panel is empty, so there is nothing to score.", "a panel with rows",
                                 "0 rows", "Ingest events and rebuild the panel first."))
    freq = periods.of_panel(panel)
    step = periods.offset(freq)
    as_of = _as_of(pd.DatetimeIndex(pd.unique(panel["period"])).sort_values(), as_of)
    horizons = _horizons(model, horizons)
    models = _models_by_horizon(model, horizons)
    past = panel[panel["period"] <= as_of]
    inputs = _model_inputs(past)
    now = inputs[inputs["period"] == as_of].sort_values("dyad", kind="stable").reset_index(drop=True)
    directed = ">" in str(now["dyad"].iloc[0]) if len(now) else True
    cutoff = pd.Timestamp(panel.attrs.get("data_cutoff") or (as_of + step - pd.Timedelta(days=1)))
    cutoff = min(cutoff, as_of + step - pd.Timedelta(days=1))
    ev_start = periods.shift(as_of, -(coverage_window - 1), freq)
    cutoff = last_event_date(events, ev_start, cutoff) or cutoff
    coverage = coverage_flags(past, as_of, list(now["dyad"]), coverage_window, min_active).to_numpy()
    region = assign_regions(now["source"], now["target"], regions).to_numpy()
    history = {d: g.sort_values("period") for d, g in inputs.groupby("dyad", sort=False)} if len(now) else {}
    version = model_version or str(getattr(model, "tension_version_", "") or "unversioned")

    frames = []
    for h, wrapped in models.items():
        est, listed, _h = _unwrap(wrapped)
        cols = listed or _feature_names(est, inputs)
        missing = [c for c in cols if c not in now.columns]
        if missing:
            raise UsageError(problem("The panel lacks columns the model was trained on.", "the training features",
                                     missing[:5], "Rebuild the panel with the same feature set as training."))
        X = now[cols].astype(float)
        cov = coverage.copy()
        p = _predict(est, X)
        cov[np.isnan(p)] = "insufficient"  # model inputs missing: no number rather than a made-up one
        att = _attribution(est, X, cov)
        lower, upper, n_cal, band_note = observed_rate_band(p, calibration, h, level)
        prev = _previous_probability(previous, as_of, h)
        drivers, contributions = [], []
        center, scale = X.median(numeric_only=True), X.std(numeric_only=True).replace(0, 1).fillna(1)
        for i, row in now.iterrows():
            drv = driver_rows(att, i, row, history.get(row["dyad"]), directed, freq, X.loc[i], top_drivers,
                              (center, scale))
            drivers.append(json.dumps(drv, ensure_ascii=False))
            contributions.extend((row["dyad"], group_of(d["feature"]), d["contribution"]) for d in drv)
        found = read_evidence(events, evidence_weights(contributions), list(now["dyad"]), ev_start, cutoff,
                              directed, top_evidence)
        evidence = [json.dumps(found.get(d, []), ensure_ascii=False) for d in now["dyad"]]
        start, end = periods.shift(as_of, 1, freq), periods.shift(as_of, h, freq)
        frames.append(pd.DataFrame({
            "dyad": now["dyad"].to_numpy(), "source": now["source"].to_numpy(), "target": now["target"].to_numpy(),
            "as_of": as_of, "horizon": h, "probability": p, "lower": lower, "upper": upper,
            "change": now["dyad"].map(prev).to_numpy(dtype=float) if len(prev) else np.nan,
            "coverage": cov, "drivers": drivers, "evidence": evidence, "model_version": version,
            "data_cutoff": cutoff, "region": region, "window_start": start, "window_end": end,
            "logit": att.logit, "interval_n": n_cal.astype(int), "drivers_method": att.method, "band_note": band_note,
        }))
    out = pd.concat(frames, ignore_index=True)
    out["change"] = out["probability"] - out["change"]
    out["rank"] = _rank(out, ["horizon"])
    out["region_rank"] = _rank(out[out["region"] != ""], ["horizon", "region"]).reindex(out.index).astype("Int64")
    out = out.sort_values(["horizon", "rank", "dyad"], kind="stable", na_position="last").reset_index(drop=True)
    out = out[list(SCORE_COLUMNS)]
    out.attrs["freq"] = freq
    out.attrs["interval"] = (f"{int(level * 100)}% interval of the observed event rate among the model's own backtest "
                             "forecasts near this probability")
    return out
