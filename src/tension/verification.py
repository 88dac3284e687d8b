"""Forecast verification: scores of a predictions table, reliability, and skill over a baseline with intervals.

:func:`metrics` scores each (model, target, horizon) of a backtest's predictions table;
:func:`reliability_figure` draws the reliability diagram; :func:`compare_to_baseline`
gives each model's difference to a baseline with a dyad-block bootstrap interval, and
:func:`skill_vs_history` the same against ``history`` as model-card records.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from .errors import UsageError, problem

__all__ = ["metrics", "reliability_figure", "compare_to_baseline", "skill_vs_history", "SKILL_METRICS", "REQUIRED_BASELINES"]

REQUIRED_BASELINES: tuple[str, ...] = ("base_rate", "persistence")
"""Baselines every backtest includes; :func:`metrics` reports Brier skill against both."""


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
    out.attrs["warnings"] = list(dict.fromkeys(sink))
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
                        n_boot: int = 1000, level: float = 0.9, seed: int = 0, chunk: int = 50, time_block: int = 0) -> pd.DataFrame:
    """Each model's difference to ``baseline`` with a dyad-block bootstrap interval.

    1. Keep resolved rows that both the model and the baseline predicted (same target,
       horizon, dyad and origin): the comparison is paired.
    2. Point values: AP, Brier, ROC-AUC on all of them; onset AP on ``onset_eligible`` rows.
    3. Bootstrap: draw the dyads with replacement ``n_boot`` times (a dyad's rows travel
       together, so serial dependence within a pair stays in each draw) and recompute both
       models' metrics with the dyads' multiplicities as row weights. With ``time_block`` > 0
       the blocks of ``time_block`` consecutive origins are drawn too and a row's weight is
       the product of its dyad's and its block's multiplicities (a two-way, "pigeonhole"
       bootstrap): shocks that all dyads share in a period (a news outage, a global surge)
       then count as noise instead of as evidence.
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
            blocks = pd.factorize(joined.index.get_level_values("origin"), sort=True)[0] // time_block if time_block > 0 else None
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
                if blocks is not None:
                    n_blocks = int(blocks.max()) + 1
                    tmult = np.zeros((b, n_blocks))
                    np.add.at(tmult, (np.repeat(np.arange(b), n_blocks), rng.integers(0, n_blocks, size=b * n_blocks)), 1.0)
                    W = W * tmult[:, blocks]
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
