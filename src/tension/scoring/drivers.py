"""Drivers: each row's log-odds before calibration split into feature contributions that add up.

- Linear models (a Pipeline whose last step has ``coef_``, e.g. scaler + LogisticRegression):
  contribution = coefficient x transformed feature value, baseline = intercept; they sum to
  ``decision_function``.
- Any other model (trees such as HistGradientBoosting): exact interventional Shapley values
  over feature *groups* (the feature family, e.g. all ``incidents_*`` columns together; at most
  8 groups, the smallest merged) against a baseline row (the median of each feature over all
  dyads at ``as_of``). The value of a coalition is the model's log-odds with the other groups
  set to the baseline; the baseline entry is the log-odds of the baseline row. Shapley
  efficiency makes them add up to the row's log-odds.
- Models wrapped in ``CalibratedClassifierCV``: the attribution of each fold's base model,
  averaged (the ``logit`` is the mean of their log-odds).
- A model without ``predict_proba`` attributions: ``method`` is ``"none"``.

:func:`driver_rows` turns one row's attribution into the drivers list: the largest
contributions by name, a ``(baseline)`` entry and ``(other features)`` entries, so that the
listed contributions add up exactly to the row's ``logit`` and "the rest" is never the largest item.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .words import describe_driver

__all__ = ["Attribution", "attribute", "base_estimators", "driver_rows", "group_of", "grouped_shapley",
           "linear_attribution", "MAX_GROUPS"]

MAX_GROUPS = 8
_BASE_GROUPS: tuple[tuple[str, str], ...] = (
    ("material_conflict", "incidents"), ("hostile", "incidents"), ("incident", "incidents"),
    ("denial", "denials"), ("alliance_move", "alliances"), ("cooperation", "relationship"),
    ("other", "relationship"), ("events", "coverage"), ("low_coverage", "coverage"),
)


@lru_cache(maxsize=1)
def _families() -> tuple[str, ...]:
    from ..features import describe_features

    return tuple(dict.fromkeys(describe_features()["family"]))


def group_of(feature: str) -> str:
    """The feature's group for grouped attribution: its registry family; base panel columns join theirs."""
    for family in _families():
        if feature.startswith(family + "_"):
            return family
    for prefix, group in _BASE_GROUPS:
        if feature == prefix or feature.startswith(prefix + "_"):
            return group
    return feature.split("_", 1)[0]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


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


def _log_odds_fn(estimator: Any) -> Callable[[pd.DataFrame], np.ndarray] | None:
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
        groups.setdefault(group_of(c), []).append(c)
    if len(groups) > max_groups:
        ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
        keep = dict(ordered[: max_groups - 1])
        keep["other features"] = [c for _k, cols in ordered[max_groups - 1:] for c in cols]
        groups = keep
    return groups


def grouped_shapley(f: Callable[[pd.DataFrame], np.ndarray], X: pd.DataFrame, baseline: pd.Series,
                    groups: Mapping[str, Sequence[str]], chunk: int = 256) -> Attribution:
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


def base_estimators(model: Any) -> list[Any]:
    """The uncalibrated model(s) inside calibration wrappers (one per fold for CalibratedClassifierCV)."""
    if hasattr(model, "calibrated_classifiers_"):
        out = []
        for cc in model.calibrated_classifiers_:
            out.extend(base_estimators(getattr(cc, "estimator", None) or getattr(cc, "base_estimator")))
        return out
    inner = getattr(model, "estimator", None)
    if type(model).__name__ == "FrozenEstimator" and inner is not None:
        return base_estimators(inner)
    if hasattr(model, "calibrator_") and hasattr(model, "estimator_"):  # tension.models.TimeCalibrated
        return base_estimators(model.estimator_)
    return [model]


def attribute(model: Any, X: pd.DataFrame, baseline: pd.Series | None = None) -> Attribution:
    """Drivers of each row's log-odds before calibration (see module doc for the methods)."""
    bases = base_estimators(model)
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


# -- the drivers list of one row ------------------------------------------------------------------

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
            value, members = families.get(group_of(f), (0.0, []))
            families[group_of(f)] = (value + float(contrib[f]), [*members, f])
        worst = max(families.values(), key=lambda v: abs(v[0]))
        if abs(worst[0]) <= largest or not any(contrib[f] != 0 for f in worst[1]):
            return shown, dict(sorted(families.items(), key=lambda kv: -abs(kv[1][0])))
        shown = [*shown, max(worst[1], key=lambda f: abs(float(contrib[f])))]


def driver_rows(att: Attribution, i: Any, row: pd.Series, history: pd.DataFrame | None, directed: bool,
                freq: str, x: pd.Series, top: int,
                stats: tuple[pd.Series, pd.Series] | None = None) -> list[dict[str, Any]]:
    """The drivers list ``[{feature, contribution, text}]`` of row ``i`` (``row``: its panel row; ``x``: its inputs)."""
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
