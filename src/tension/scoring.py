"""Scoring: a fitted model and the panel -> the scores table analysts read.

:func:`score` scores every dyad present in the panel at ``as_of`` (the panel's own
selection: active in the look-back, or listed by the analyst) for each horizon and
returns the scores table of ARCHITECTURE ("Scores table") plus a few extra columns
(``region``, ``window_start``, ``window_end``, ``logit``, ``interval_n``,
``drivers_method``, ``band_note``).

Probability
    ``predict_proba`` of the model as given (calibrated when the model is wrapped in
    calibration).
Interval (``lower``, ``upper``; 80% by default)
    The 80% interval of the observed event rate among this model's own past forecasts
    near ``p``: the resolved backtest predictions of the scored model and horizon
    (``calibration``) are cut into ten bins of equal count by probability; in the bin
    holding ``p``, with ``k`` events among ``n`` forecasts, the band is the equal-tailed
    Jeffreys interval ``Beta(k + 1/2, n - k + 1/2)`` (:func:`observed_rate_band`). It
    reads: "when this model said about p before, the event happened between lower and
    upper of the time" -- narrow with many past cases, and away from ``p`` where the
    model was miscalibrated. ``interval_n`` is ``n``. Where it cannot be computed the
    band is NaN and ``band_note`` says why: no backtest of this model, or ``p`` outside
    the range of its past forecasts. A NaN band is never a "2%-98%" band.
Coverage
    Over the ``coverage_window`` periods ending at ``as_of``: ``insufficient`` when
    the dyad had no events at all, has fewer than half the window in the panel, or
    at least half of the window falls in low-coverage periods (a data gap), or the
    model inputs are missing; ``low`` when it had fewer than ``min_active`` active
    periods or ``as_of`` itself is a low-coverage period; else ``ok``. Insufficient
    dyads keep their computed probability but get no rank: reports show
    "insufficient data" rather than a reassuringly low number.
Drivers
    A JSON list of ``{feature, contribution, text}`` in log-odds units *before*
    calibration (calibration is applied afterwards), completed by a ``(baseline)``
    entry and an ``(other features)`` entry so that the listed contributions add up
    exactly to the column ``logit``. More features are named while the remainder
    outweighs the largest named one: the remainder is split by feature family
    (``(other features: incidents)``, ...), and a family's remainder that still outweighs it
    gives up its biggest member to the named list, so "the rest" is never the largest item.

    - Linear models (a Pipeline whose last step has ``coef_``, e.g. scaler +
      LogisticRegression): contribution = coefficient x transformed feature value,
      baseline = intercept; they sum to ``decision_function``.
    - Any other model (trees such as HistGradientBoosting): exact interventional
      Shapley values over feature *groups* (the feature family, e.g. all
      ``incident_*`` columns together; at most 8 groups, the smallest merged) against
      a baseline row (the median of each feature over all dyads at ``as_of``); not
      computed for insufficient-coverage rows (``logit`` NaN there). The
      value of a coalition is the model's log-odds with the other groups set to the
      baseline; the baseline entry is the log-odds of the baseline row. Shapley
      efficiency makes them add up to the row's log-odds.
    - Models wrapped in ``CalibratedClassifierCV``: the attribution of each fold's
      base model, averaged (the ``logit`` is the mean of their log-odds).
    - A model without ``predict_proba`` attributions (none of the above works): the
      drivers list says so in words and ``drivers_method`` is ``"none"``.
Evidence
    From ``events``: the dyad's hostile events (Goldstein < 0; alliance moves of any
    sign) in the ``coverage_window`` periods up to the data cutoff, weighted by the
    positive contribution of the drivers that count their family (incidents, denials,
    hostility dynamics, ...), then by severity (|Goldstein| + 1) x weight, most recent
    first among ties; each event once (by ``event_id``), the chosen ones listed in date
    order (oldest first), each with ``event_id``, ``date``, a one-line ``text`` and
    ``source_ref``. With no positive driver, the most severe hostile events are listed.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist

from .errors import UsageError, problem

__all__ = [
    "score",
    "attribute",
    "Attribution",
    "grouped_shapley",
    "linear_attribution",
    "beta_band",
    "observed_rate_band",
    "NO_BACKTEST",
    "coverage_flags",
    "assign_regions",
    "describe_driver",
    "feature_label",
    "GROUP_LABELS",
    "country_name",
    "horizons_of",
    "SCORE_COLUMNS",
]

SCORE_COLUMNS: tuple[str, ...] = (
    "dyad", "source", "target", "as_of", "horizon", "probability", "lower", "upper", "rank", "region_rank",
    "change", "coverage", "drivers", "evidence", "model_version", "data_cutoff",
    "region", "window_start", "window_end", "logit", "interval_n", "drivers_method", "band_note",
)
_GROUP_PREFIXES: tuple[str, ...] = ("incidents", "denials", "alliances", "dynamics", "relationship", "context")
_BASE_GROUPS: tuple[tuple[str, str], ...] = (
    ("material_conflict", "incidents"), ("hostile", "incidents"), ("incident", "incidents"),
    ("denial", "denials"), ("alliance_move", "alliances"), ("cooperation", "relationship"),
    ("other", "relationship"), ("events", "coverage"), ("low_coverage", "coverage"), ("base_mc", "history"),
)
GROUP_LABELS: dict[str, str] = {
    "incidents": "incidents and force", "denials": "denials, accusations and threats",
    "alliances": "alliance moves", "dynamics": "hostility dynamics", "relationship": "balance of the relationship",
    "context": "context (third parties, region)", "coverage": "data coverage", "history": "conflict history",
}
_EVENT_FAMILIES: dict[str, tuple[str, ...]] = {
    "incidents": ("incident",), "denials": ("denial",), "alliances": ("alliance_move",),
    "relationship": ("incident", "denial"), "dynamics": ("incident", "denial"),
    "history": ("incident",),
}
_UNITS = {"D": ("day", "days"), "W": ("week", "weeks"), "M": ("month", "months")}


def period_words(freq: str) -> tuple[str, str]:
    """The panel period's name, singular and plural: ``("week", "weeks")`` for ``W``."""
    return _UNITS.get(str(freq or "").upper()[:1], ("period", "periods"))
MAX_GROUPS = 8

# measure -> (label template, kind); {a} source name, {b} target name, {pair} "from A toward B" / "between A and B"
_LABELS: dict[str, tuple[str, str]] = {
    "incidents_material_conflict": ("material-conflict events (force, coercion, violence) {pair}", "count"),
    "incidents_hostile_intensity": ("hostile intensity (sum of -Goldstein) {pair}", "count"),
    "incidents_force_posture": ("shows of force {pair}", "count"),
    "incidents_coercion": ("coercive acts {pair}", "count"),
    "incidents_violence": ("violent incidents (assaults, fighting) {pair}", "count"),
    "denials_verbal_conflict": ("verbal conflict {pair}", "count"),
    "alliances_agreements": ("agreements signed by {a} or {b}", "count"),
    "alliances_mil_cooperation": ("military cooperation of {a} or {b} with others", "count"),
    "alliances_relations_reduced": ("cuts in relations by {a} or {b}", "count"),
    "alliances_moves": ("alliance moves by {a} or {b}", "count"),
    "alliances_bloc_joins": ("bloc accessions by {a} or {b}", "count"),
    "alliances_bloc_exits": ("bloc exits by {a} or {b}", "count"),
    "alliances_ally_moves": ("moves by allies of {a} or {b}", "count"),
    "dynamics_conflict_ratio": ("conflict rate, recent weeks against the past year, {pair}", "level"),
    "dynamics_hostile_ewma": ("smoothed hostility {pair}", "level"),
    "dynamics_hostile_trend": ("hostility trend {pair}", "level"),
    "dynamics_hostile_acceleration": ("acceleration of hostility {pair}", "level"),
    "dynamics_hostile_volatility": ("volatility of hostility {pair}", "level"),
    "dynamics_hostile_burstiness": ("burstiness of hostility {pair}", "level"),
    "dynamics_periods_since_conflict": ("periods since the last material conflict {pair}", "level"),
    "relationship_reciprocity": ("reciprocity of hostility {pair}", "level"),
    "relationship_asymmetry": ("one-sidedness of hostility {pair}", "level"),
    "relationship_tit_for_tat": ("tit-for-tat responses {pair}", "count"),
    "relationship_hostile_share": ("hostile share of all events {pair}", "level"),
    "relationship_cooperation_share": ("cooperative share of all events {pair}", "level"),
    "relationship_hostile_per_1k": ("hostile events {pair} per 1,000 events worldwide", "level"),
    "context_source_conflict_others": ("conflicts of {a} with other countries", "count"),
    "context_target_conflict_others": ("conflicts of {b} with other countries", "count"),
    "context_ally_conflict": ("conflicts involving allies of {a} or {b}", "count"),
    "context_rival_bloc_conflict": ("conflict with the rival bloc", "count"),
    "context_region_conflict": ("conflict elsewhere in the region", "count"),
    "incident_count": ("hostile incidents {pair}", "count"),
    "denial_count": ("denials, rejections and accusations {pair}", "count"),
    "alliance_move_count": ("alliance moves {pair}", "count"),
    "cooperation_count": ("cooperative acts {pair}", "count"),
    "other_count": ("other events {pair}", "count"),
    "material_conflict_count": ("material-conflict events {pair}", "count"),
    "hostile_intensity": ("hostile intensity (sum of -Goldstein) {pair}", "count"),
    "events_dyad": ("reported events {pair}", "count"),
    "events_global": ("event volume worldwide (data coverage)", "count"),
    "events_source": ("reported events involving {a}", "count"),
    "events_target": ("reported events involving {b}", "count"),
    "low_coverage": ("a low-coverage period", "level"),
    "base_mc_ewma": ("recent record of material conflict (smoothed) {pair}", "level"),
    "base_mc_since": ("periods since the last material conflict {pair}", "level"),
}
_DENIAL_NOUNS = {"deny": "denials", "reject": "rejections", "accuse": "accusations", "criticize": "criticism",
                 "threaten": "threats"}
_WINDOW = re.compile(r"_(\d+)[pdwm]?(?=_|$)")


# -- small helpers --------------------------------------------------------------------------------

def _step(freq: str) -> pd.DateOffset:
    f = (freq or "W").upper()[0]
    return {"D": pd.DateOffset(days=1), "W": pd.DateOffset(weeks=1), "M": pd.DateOffset(months=1)}[f]


def _freq(panel: pd.DataFrame) -> str:
    f = str(panel.attrs.get("freq") or "").upper()[:1]
    if f in ("D", "W", "M"):
        return f
    periods = pd.DatetimeIndex(pd.unique(panel["period"])).sort_values()
    if len(periods) > 1 and (periods.day == 1).all() and np.diff(periods.asi8).min() >= 28 * 86400 * 10**9:
        return "M"
    if len(periods) > 1 and np.diff(periods.asi8).min() == 86400 * 10**9:
        return "D"
    return "W"


_SHORT_NAMES: dict[str, str] = {"RUS": "Russia", "PSE": "Palestine", "XKX": "Kosovo", "COD": "DR Congo",
                                 "COG": "Congo", "BRN": "Brunei", "FSM": "Micronesia"}


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """Readable name of an ISO alpha-3 code (``AZE`` -> ``Azerbaijan``); unknown codes unchanged."""
    try:
        import pycountry

        c = pycountry.countries.get(alpha_3=str(code))
    except (ImportError, KeyError, LookupError):
        c = None
    if str(code) in _SHORT_NAMES:
        return _SHORT_NAMES[str(code)]
    if c is None:
        return str(code)
    name = getattr(c, "common_name", None) or c.name
    if ", " in name:  # "Congo, The Democratic Republic of the" -> "The Democratic Republic of the Congo"
        head, _, tail = name.partition(", ")
        name = f"{tail} {head}"
    return name


def _group_of(feature: str) -> str:
    """The feature's group for grouped attribution: its builder module, base columns joined to theirs."""
    for prefix in _GROUP_PREFIXES:
        if feature.startswith(prefix + "_"):
            return prefix
    for prefix, group in _BASE_GROUPS:
        if feature == prefix or feature.startswith(prefix + "_"):
            return group
    return feature.split("_", 1)[0]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


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


NO_BACKTEST = "no band: no backtest of this model"


def observed_rate_band(p: np.ndarray, calibration: pd.DataFrame | None, horizon: int, level: float = 0.8,
                       bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``level`` interval of the observed event rate among past forecasts near ``p`` (see module doc).

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
    """``ok`` / ``low`` / ``insufficient`` per dyad from its last ``window`` periods (see module doc)."""
    freq = _freq(panel)
    start = pd.Timestamp(as_of) - _step(freq) * (window - 1)
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


# -- attribution ----------------------------------------------------------------------------------

class Attribution:
    """Per-row contributions (log-odds before calibration) that add up to ``logit``."""

    def __init__(self, values: pd.DataFrame, baseline: np.ndarray, method: str,
                 groups: Mapping[str, Sequence[str]] | None = None) -> None:
        self.values = values
        self.baseline = np.asarray(baseline, dtype=float)
        self.method = method
        self.groups = dict(groups or {})
        """For grouped attributions: group name -> its feature columns."""

    @property
    def logit(self) -> np.ndarray:
        return self.values.to_numpy(float).sum(axis=1) + self.baseline


def _strip(name: str) -> str:
    return name.split("__", 1)[1] if "__" in name else name


def linear_attribution(estimator: Any, X: pd.DataFrame) -> Attribution | None:
    """Exact contributions for a (Pipeline ending in a) linear model with ``coef_``; None if not linear."""
    from sklearn.pipeline import Pipeline

    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    coef = getattr(final, "coef_", None)
    if coef is None or np.ndim(coef) != 2 or np.shape(coef)[0] != 1:
        return None
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        pre = estimator[:-1]
        Z = pre.transform(X)
        try:
            names = [_strip(str(n)) for n in pre.get_feature_names_out()]
        except (AttributeError, ValueError, TypeError):
            names = list(X.columns) if np.shape(Z)[1] == X.shape[1] else [f"x{i}" for i in range(np.shape(Z)[1])]
    else:
        Z = X
        names = list(X.columns)
    Z = np.asarray(Z, dtype=float)
    contrib = Z * np.asarray(coef, dtype=float)[0]
    intercept = float(np.ravel(getattr(final, "intercept_", [0.0]))[0])
    return Attribution(pd.DataFrame(contrib, columns=names, index=X.index), np.full(len(X), intercept), "linear")


def _log_odds_fn(estimator: Any):
    if hasattr(estimator, "decision_function"):
        def f(Z: pd.DataFrame) -> np.ndarray:
            d = np.asarray(estimator.decision_function(Z), dtype=float)
            return d if d.ndim == 1 else d[:, -1]
        return f
    if hasattr(estimator, "predict_proba"):
        return lambda Z: _logit(np.asarray(estimator.predict_proba(Z))[:, 1])
    return None


def _groups(columns: Sequence[str], max_groups: int = MAX_GROUPS) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for c in columns:
        groups.setdefault(_group_of(c), []).append(c)
    if len(groups) > max_groups:
        ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
        keep = dict(ordered[: max_groups - 1])
        keep["other features"] = [c for _k, cols in ordered[max_groups - 1:] for c in cols]
        groups = keep
    return groups


def grouped_shapley(f, X: pd.DataFrame, baseline: pd.Series, groups: Mapping[str, Sequence[str]],
                    chunk: int = 256) -> Attribution:
    """Exact interventional Shapley values of ``f`` (rows -> log-odds) over feature groups.

    ``v(S)`` = ``f`` of the row with groups outside ``S`` set to ``baseline``; each group gets
    ``sum_S |S|!(G-|S|-1)!/G! (v(S+g) - v(S))``. The values add up to ``f(x) - f(baseline)``.
    Costs ``2**G`` evaluations of ``f`` per row.
    """
    if len(X) > chunk:  # bound memory: 2**G copies of at most ``chunk`` rows at a time
        parts = [grouped_shapley(f, X.iloc[i:i + chunk], baseline, groups, chunk) for i in range(0, len(X), chunk)]
        return Attribution(pd.concat([p.values for p in parts]), np.concatenate([p.baseline for p in parts]),
                           "shapley", groups)
    names = list(groups)
    G = len(names)
    n = len(X)
    masks = np.arange(2**G)
    big = pd.concat([X] * len(masks), ignore_index=True)
    base_vals = baseline.reindex(X.columns)
    for gi, g in enumerate(names):
        off = np.repeat((masks >> gi) & 1 == 0, n)
        cols = list(groups[g])
        if off.any():
            big.loc[off, cols] = np.broadcast_to(base_vals[cols].to_numpy(), (int(off.sum()), len(cols)))
    v = np.asarray(f(big), dtype=float).reshape(len(masks), n)
    weights = [math.factorial(s) * math.factorial(G - s - 1) / math.factorial(G) for s in range(G)]
    phi = np.zeros((n, G))
    sizes = np.array([bin(m).count("1") for m in masks])
    for gi in range(G):
        bit = 1 << gi
        without = masks[(masks & bit) == 0]
        w = np.array([weights[s] for s in sizes[without]])
        phi[:, gi] = (w[:, None] * (v[without | bit] - v[without])).sum(axis=0)
    return Attribution(pd.DataFrame(phi, columns=names, index=X.index), v[0], "shapley", groups)


def _base_estimators(model: Any) -> list[Any]:
    """The uncalibrated model(s) inside calibration wrappers (one per fold for CalibratedClassifierCV)."""
    if hasattr(model, "calibrated_classifiers_"):
        out = []
        for cc in model.calibrated_classifiers_:
            out.extend(_base_estimators(getattr(cc, "estimator", None) or getattr(cc, "base_estimator")))
        return out
    inner = getattr(model, "estimator", None)
    if type(model).__name__ == "FrozenEstimator" and inner is not None:
        return _base_estimators(inner)
    if hasattr(model, "calibrator_") and hasattr(model, "estimator_"):  # tension.models.TimeCalibrated
        return _base_estimators(model.estimator_)
    return [model]


def attribute(model: Any, X: pd.DataFrame, baseline: pd.Series | None = None) -> Attribution:
    """Drivers of each row's log-odds before calibration (see module doc for the methods)."""
    bases = _base_estimators(model)
    parts: list[Attribution] = []
    for est in bases:
        att = linear_attribution(est, X)
        if att is None:
            f = _log_odds_fn(est)
            if f is None:
                return Attribution(pd.DataFrame(index=X.index), np.full(len(X), np.nan), "none")
            b = baseline if baseline is not None else X.median(numeric_only=True)
            b = b.reindex(X.columns).fillna(0.0)
            att = grouped_shapley(f, X, b, _groups(list(X.columns)))
        parts.append(att)
    if len(parts) == 1:
        return parts[0]
    cols = list(dict.fromkeys(c for p in parts for c in p.values.columns))
    values = sum(p.values.reindex(columns=cols, fill_value=0.0) for p in parts) / len(parts)
    base = sum(p.baseline for p in parts) / len(parts)
    return Attribution(values, base, parts[0].method, parts[0].groups)


# -- words ----------------------------------------------------------------------------------------

def _change_words(cur: float, prev: float) -> str:
    if prev == 0:
        return "none before" if cur == 0 else "up from none"
    if cur == 0:
        return "dropped to none"
    r = cur / prev
    if r >= 3.5:
        return f"up {r:.0f}-fold"
    if r >= 2.5:
        return "tripled"
    if r >= 1.8:
        return "doubled"
    if r > 1.1:
        return "rose"
    if r >= 0.9:
        return "held steady"
    if r >= 0.5:
        return "fell"
    return "fell by more than half"


def _measure(feature: str) -> str:
    """The feature name without its window suffixes (``denials_accuse_by_source_4p`` -> ``denials_accuse_by_source``)."""
    return re.sub(r"(_\d+[pdwm]?)+$", "", feature)


def feature_label(feature: str, source: str, target: str, directed: bool) -> tuple[str, str]:
    """Words for a feature (``"accusations from Azerbaijan against Armenia"``) and its kind (count or level)."""
    a, b = country_name(source), country_name(target)
    pair = f"from {a} toward {b}" if directed else f"between {a} and {b}"
    m = _measure(feature)
    if m in _LABELS:
        template, kind = _LABELS[m]
        return template.format(a=a, b=b, pair=pair), kind
    d = re.fullmatch(r"denials_(\w+?)_by_(source|target)", m)
    if d and d.group(1) in _DENIAL_NOUNS:
        noun = _DENIAL_NOUNS[d.group(1)]
        who, other = (a, b) if d.group(2) == "source" else (b, a)
        return f"{noun} from {who} against {other}", "count"
    if m.endswith("_intensity"):
        return f"Goldstein intensity of {m.removesuffix('_intensity').replace('_', ' ')} events {pair}", "count"
    return f"{m.replace('_', ' ')} {pair}", "level"


def describe_driver(feature: str, contribution: float, history: pd.DataFrame | None, source: str, target: str,
                    directed: bool, freq: str, value: float | None = None, group: str | None = None,
                    members: Sequence[str] = ()) -> str:
    """One sentence an analyst reads for a driver, from the dyad's own history of that feature.

    ``history`` holds the dyad's rows (panel columns and model inputs) up to ``as_of``, sorted
    by period. Counts are compared with the same window one window earlier, e.g.
    "accusations from Azerbaijan against Armenia tripled over 4 weeks (6 vs 2 in the 4 weeks
    before); raises the risk". ``group`` (grouped attributions) prefixes the group's name.
    """
    effect = "raises the risk" if contribution > 0 else "lowers the risk" if contribution < 0 else "no effect"
    if feature == "(baseline)":
        return "starting point of the model before any feature (log-odds); calibration is applied afterwards"
    if feature.startswith("(other features"):
        family = feature[len("(other features: "):-1] if ":" in feature else None
        what = f"the other {len(members)} feature{'s' if len(members) != 1 else ''}"
        if family:
            what += f" on {GROUP_LABELS.get(family, family.replace('_', ' '))}"
        elif not members:
            what = "all remaining features"
        names = ", ".join(list(members)[:3]) + (", ..." if len(members) > 3 else "")
        return f"{what} together{f' ({names})' if family and names else ''}; {effect}"
    label, kind = feature_label(feature, source, target, directed)
    found = _WINDOW.search(feature)
    w = int(found.group(1)) if found else 1
    one, many = period_words(freq)
    unit = f"{w} {many}" if w > 1 else one
    series = history[feature].to_numpy(float) if history is not None and feature in history else None
    cur = float(series[-1]) if series is not None and len(series) else value
    prev = float(series[-1 - w]) if series is not None and len(series) > w else None
    head = f"{GROUP_LABELS.get(group, group)}: " if group else ""
    if cur is None or not np.isfinite(cur):
        return f"{head}{label}: no value; {effect}"
    if prev is None or not np.isfinite(prev):
        return f"{head}{label} at {cur:.3g}; {effect}"
    if kind == "count":
        span = f"over {unit}" if w > 1 else f"this {one}"
        before = f"in the {unit} before" if w > 1 else f"the {one} before"
        return f"{head}{label} {_change_words(cur, prev)} {span} ({cur:g} vs {prev:g} {before}); {effect}"
    return f"{head}{label} at {cur:.3g} (was {prev:.3g} {unit if w > 1 else 'a ' + one} earlier); {effect}"


# -- evidence -------------------------------------------------------------------------------------

def _one_line(text: Any, limit: int = 160) -> str:
    s = " ".join(str(text).split()) if isinstance(text, str) else ""
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


@lru_cache(maxsize=1)
def _cameo_names() -> dict[str, str]:
    try:
        from .taxonomy import cameo_table

        t = cameo_table()
        return dict(zip(t["code"].astype(str), t["name"].astype(str), strict=True))
    except (ImportError, OSError, KeyError):  # pragma: no cover - taxonomy is part of the package
        return {}


def _cameo_name(code: str) -> str:
    names = _cameo_names()
    return names.get(code) or names.get(code[:3]) or names.get(code[:2]) or "event"


def _events_window(events: pd.DataFrame | None, start: pd.Timestamp, cutoff: pd.Timestamp,
                   directed: bool) -> pd.DataFrame:
    """Events dated in ``[start, cutoff]`` with their dyad key (``S>T`` or ``A|B``) and severity."""
    if events is None or events.empty:
        return pd.DataFrame(columns=["dyad", "family"])
    d = pd.to_datetime(events["date"])
    e = events[((d >= start) & (d <= cutoff)).to_numpy()]
    e = e[e["source_country"].notna().to_numpy() & e["target_country"].notna().to_numpy()]
    if e.empty:
        return pd.DataFrame(columns=["dyad", "family"])
    s, t = e["source_country"].astype(str).to_numpy(), e["target_country"].astype(str).to_numpy()
    key = np.char.add(np.char.add(s.astype(str), ">"), t.astype(str)) if directed else np.where(
        s <= t, np.char.add(np.char.add(s.astype(str), "|"), t.astype(str)),
        np.char.add(np.char.add(t.astype(str), "|"), s.astype(str)))
    gold = e["goldstein"].astype(float).fillna(0)
    weight = e["weight"].astype(float).fillna(1.0) if "weight" in e else 1.0
    cols = [c for c in ("event_id", "family", "text", "source_ref", "source_actor", "target_actor", "cameo_code")
            if c in e]
    return e[cols].assign(dyad=key, _d=pd.to_datetime(e["date"]).to_numpy(),
                          _sev=((gold.abs() + 1.0) * weight).to_numpy(), _hostile=(gold < 0).to_numpy())


def _evidence(window: pd.DataFrame, weights: pd.DataFrame, top: int) -> dict[str, list[dict[str, Any]]]:
    """The ``top`` events per dyad behind its positive drivers (see module doc), in one vectorised pass.

    ``weights`` has ``dyad, family, weight``: the summed positive contribution of the drivers that
    count events of that family.
    """
    if window.empty:
        return {}
    w = window.merge(weights, on=["dyad", "family"], how="left") if len(weights) else window.assign(weight=0.0)
    # hostile events (Goldstein < 0) carry the hostile groups; alliance moves count whatever their sign
    counts = w["_hostile"].to_numpy() | (w["family"] == "alliance_move").to_numpy()
    strength = w["weight"].astype(float).fillna(0.0).to_numpy() * w["_sev"].to_numpy() * counts
    any_pos = pd.Series(strength > 0).groupby(w["dyad"].to_numpy()).transform("any").to_numpy()
    strength = np.where(any_pos, strength, w["_hostile"].to_numpy() * w["_sev"].to_numpy())
    w = w.assign(_s=strength)
    w = w[w["_s"] > 0].sort_values(["dyad", "_s", "_d"], ascending=[True, False, False], kind="stable")
    w = w.drop_duplicates(["dyad", "event_id"]) if "event_id" in w else w  # one line per event
    # the strongest ``top`` per dyad, then listed in date order (oldest first) like a timeline
    w = w.groupby("dyad", sort=False).head(top).sort_values(["dyad", "_d"], kind="stable")
    out: dict[str, list[dict[str, Any]]] = {}
    for r in w.to_dict("records"):
        text = _one_line(r.get("text"))
        if not text:  # no headline in the source: say who did what to whom in CAMEO's words
            what = _cameo_name(str(r.get("cameo_code") or ""))
            text = _one_line(f"{r.get('source_actor') or '?'} \u2192 {r.get('target_actor') or '?'}: {what} "
                             f"(CAMEO {r.get('cameo_code')})")
        ref = r.get("source_ref")
        out.setdefault(r["dyad"], []).append({
            "event_id": str(r["event_id"]), "date": pd.Timestamp(r["_d"]).date().isoformat(), "text": text,
            "source_ref": "" if ref is None or pd.isna(ref) else str(ref), "family": str(r.get("family"))})
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
    """The panel plus the columns models see (``tension.models.feature_matrix``, past-only helpers)."""
    try:
        from .models import feature_matrix

        fm = feature_matrix(past)
    except (ImportError, UsageError, KeyError, ValueError):
        return past
    extra = [c for c in fm.columns if c not in past.columns]
    return pd.concat([past, fm[extra]], axis=1) if extra else past


def _feature_names(model: Any, inputs: pd.DataFrame) -> list[str]:
    for est in (model, *_base_estimators(model)):
        names = getattr(est, "feature_names_in_", None)
        if names is not None:
            return [str(n) for n in names]
    try:
        from .models import feature_matrix

        return list(feature_matrix(inputs.head(50)).columns)
    except (ImportError, UsageError, KeyError, ValueError):
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


def score(model: Any, panel: pd.DataFrame, as_of: Any = None, horizons: Sequence[int] | None = None,
          previous: pd.DataFrame | None = None, *, events: pd.DataFrame | None = None,
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
        Canonical events, for the evidence column (empty evidence without them).
    regions
        ``{name: countries}`` (``Experiment.regions``); a dyad belongs to the first region
        listing both of its countries.
    calibration
        Resolved backtest predictions (``probability``, ``outcome``, optional ``horizon``)
        behind the interval (see module doc).

    Returns
    -------
    DataFrame
        The scores table, sorted by horizon then rank; ``attrs["freq"]`` is the panel frequency.
    """
    if panel.empty:
        raise UsageError(problem("The panel is empty, so there is nothing to score.", "a panel with rows",
                                 "0 rows", "Ingest events and rebuild the panel first."))
    freq = _freq(panel)
    step = _step(freq)
    periods = pd.DatetimeIndex(pd.unique(panel["period"])).sort_values()
    as_of = periods[-1] if as_of is None else pd.Timestamp(as_of)
    if as_of not in periods:
        before = periods[periods <= as_of]
        if len(before) == 0:
            raise UsageError(problem("as_of lies before the panel's first period.", f"a date from {periods[0].date()}",
                                     str(as_of.date()), "Pick a later --as-of."))
        as_of = before[-1]
    if horizons is None:  # the model's own horizon(s); a bare estimator that does not say is scored at 1
        horizons = horizons_of(model) or (1,)
    horizons = tuple(int(h) for h in horizons)
    if not horizons or min(horizons) < 1:
        raise UsageError(problem("Horizons must be positive integers.", "e.g. 1,3,6", list(horizons),
                                 "Use --horizon 1,3,6."))
    models = _models_by_horizon(model, horizons)
    past = panel[panel["period"] <= as_of]
    inputs = _model_inputs(past)
    now = inputs[inputs["period"] == as_of].sort_values("dyad", kind="stable").reset_index(drop=True)
    directed = ">" in str(now["dyad"].iloc[0]) if len(now) else True
    cutoff = pd.Timestamp(panel.attrs.get("data_cutoff") or (as_of + step - pd.Timedelta(days=1)))
    cutoff = min(cutoff, as_of + step - pd.Timedelta(days=1))
    if events is not None and not events.empty:
        seen = pd.to_datetime(events["date"])
        seen = seen[seen <= cutoff]
        if len(seen):
            cutoff = seen.max().normalize()
    coverage = coverage_flags(past, as_of, list(now["dyad"]), coverage_window, min_active).to_numpy()
    region = assign_regions(now["source"], now["target"], regions).to_numpy()
    history = {d: g.sort_values("period") for d, g in inputs.groupby("dyad", sort=False)} if len(now) else {}
    ev_start = as_of - step * (coverage_window - 1)
    window = _events_window(events, ev_start, cutoff, directed)
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
        # Shapley costs 2**G model calls per row: skip rows that read "insufficient data" anyway
        cheap = all(getattr(b[-1] if hasattr(b, "steps") else b, "coef_", None) is not None
                    for b in _base_estimators(est))
        explain = np.ones(len(X), bool) if cheap else (cov != "insufficient")
        try:
            att = attribute(est, X[explain], X.median(numeric_only=True))
            att = Attribution(att.values.reindex(X.index), pd.Series(att.baseline, index=X.index[explain])
                              .reindex(X.index).to_numpy(), att.method, att.groups)
        except (ValueError, TypeError, AttributeError) as exc:  # robust: a model we cannot explain still scores
            att = Attribution(pd.DataFrame(index=X.index), np.full(len(X), np.nan), f"none ({type(exc).__name__})")
        lower, upper, n_cal, band_note = observed_rate_band(p, calibration, h, level)
        prev = _previous_probability(previous, as_of, h)
        drivers, weights = [], []
        center, scale = X.median(numeric_only=True), X.std(numeric_only=True).replace(0, 1).fillna(1)
        for i, row in now.iterrows():
            drv = _drivers_row(att, i, row, history.get(row["dyad"]), directed, freq, X.loc[i], top_drivers,
                               (center, scale))
            drivers.append(json.dumps(drv, ensure_ascii=False))
            for d in drv:  # event families behind the drivers that raised the score
                for fam in _EVENT_FAMILIES.get(_group_of(d["feature"]), ()):
                    weights.append((row["dyad"], fam, max(d["contribution"], 0.0)))
        wdf = pd.DataFrame(weights, columns=["dyad", "family", "weight"]).groupby(["dyad", "family"], as_index=False).sum()
        found = _evidence(window, wdf, top_evidence)
        evidence = [json.dumps(found.get(d, []), ensure_ascii=False) for d in now["dyad"]]
        start, end = as_of + step, as_of + step * h
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


def _representative(members: Sequence[str], x: pd.Series, stats: tuple[pd.Series, pd.Series]) -> str:
    """The group member furthest from the typical dyad (in standard deviations): what the text talks about."""
    center, scale = stats
    z = {m: abs((x.get(m, np.nan) - center.get(m, 0.0)) / scale.get(m, 1.0)) for m in members}
    z = {m: (v if np.isfinite(v) else -1.0) for m, v in z.items()}
    return max(members, key=lambda m: z[m])


def _named_drivers(contrib: pd.Series, top: int) -> tuple[list[str], dict[str | None, tuple[float, list[str]]]]:
    """The features named one by one, and the remainder, so that no remainder entry is the largest item.

    The ``top`` largest non-zero contributions are named. The rest is one entry
    (``{None: (sum, members)}``) when its sum is no larger than the largest named one; otherwise it
    is split by feature family (``{family: (sum, members)}``), and while a family's remainder still
    outweighs the largest named contribution its biggest member is named too.
    """
    order = [f for f in contrib.abs().sort_values(ascending=False, kind="stable").index if contrib[f] != 0]
    shown = order[:top]
    while True:
        named = set(shown)
        rest = [f for f in contrib.index if f not in named]
        largest = max((abs(float(contrib[f])) for f in shown), default=0.0)
        total = float(contrib[rest].sum()) if rest else 0.0
        if abs(total) <= largest:
            return shown, {None: (total, rest)}
        families: dict[str | None, tuple[float, list[str]]] = {}
        for f in rest:
            value, members = families.get(_group_of(f), (0.0, []))
            families[_group_of(f)] = (value + float(contrib[f]), [*members, f])
        worst = max(families.values(), key=lambda v: abs(v[0]))
        if abs(worst[0]) <= largest or not any(contrib[f] != 0 for f in worst[1]):
            return shown, dict(sorted(families.items(), key=lambda kv: -abs(kv[1][0])))
        shown = [*shown, max(worst[1], key=lambda f: abs(float(contrib[f])))]


def _drivers_row(att: Attribution, i: int, row: pd.Series, history: pd.DataFrame | None, directed: bool,
                 freq: str, x: pd.Series, top: int,
                 stats: tuple[pd.Series, pd.Series] | None = None) -> list[dict[str, Any]]:
    if att.values.shape[1] == 0 or not att.method.startswith(("linear", "shapley")):
        return [{"feature": "(none)", "contribution": 0.0,
                 "text": f"this model offers no attribution ({att.method}); drivers unavailable"}]
    if not np.isfinite(att.baseline[i]):
        return [{"feature": "(none)", "contribution": 0.0,
                 "text": "insufficient recent data: drivers not computed"}]
    contrib = att.values.loc[i]
    shown, rest_parts = _named_drivers(contrib, top)
    out = []
    for f in shown:
        group = None
        name = f
        if f in att.groups:  # a grouped attribution: describe its most unusual member
            group = f
            name = _representative(att.groups[f], x, stats or (pd.Series(dtype=float), pd.Series(dtype=float)))
        value = float(x[name]) if name in x.index else None
        out.append({"feature": f, "contribution": float(contrib[f]),
                    "text": describe_driver(name, float(contrib[f]), history, row["source"], row["target"], directed,
                                            freq, value, group=group)})
    for key, (value, members) in rest_parts.items():
        feature = "(other features)" if key is None else f"(other features: {key})"
        out.append({"feature": feature, "contribution": value,
                    "text": describe_driver(feature, value, None, "", "", directed, freq, members=members)})
    out.append({"feature": "(baseline)", "contribution": float(att.baseline[i]),
                "text": describe_driver("(baseline)", 0.0, None, "", "", directed, freq)})
    return out
