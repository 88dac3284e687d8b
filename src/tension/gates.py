"""The two gates of the retrain job: is the new data healthy, and does the challenger earn promotion?

:func:`health_check` compares the latest complete period's volume per source (and this
run's unknown-code and unresolved-actor shares) with the periods before it.
:func:`promotion_gate` backtests challenger, champion and the ``history`` baseline on the
same recent origins (:func:`gate_spec`); ``retrain``, ``train`` and ``tension model
promote`` all decide through it.
"""
from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import periods
from .config import Experiment, RetrainConfig
from .errors import UsageError, problem
from .targets import TargetSpec

if TYPE_CHECKING:  # backtest (scikit-learn) loads when a gate runs, not when the job module is imported
    from .backtest import BacktestSpec

__all__ = ["health_check", "Gate", "gate_spec", "promotion_gate", "history_gate", "LOWER_IS_BETTER"]

LOWER_IS_BETTER = frozenset({"brier", "log_loss", "ece", "missed_escalation_rate"})
"""Metrics where smaller wins; every other metric of ``backtest.metrics`` is higher-is-better."""


def health_check(
    events: pd.DataFrame,
    latest: pd.Timestamp,
    freq: str,
    config: RetrainConfig,
    run_counts: Mapping[str, Any] | None = None,
    history_counts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The data-health gate: does the latest period look like the ones before it?

    Parameters
    ----------
    events
        Events with ``date`` and ``dataset`` covering at least ``config.health_history``
        periods before ``latest`` (older rows are ignored), or their counts: an ``events``
        column (:func:`tension.jobs.daily_counts`).
    latest
        The latest complete period (its label).
    run_counts, history_counts
        ``read``, ``quarantined_unknown``, ``unresolved_events`` of this run's ingest and of
        the store's whole history (``Store.summary``); shares are compared when both are given.

    Returns
    -------
    dict
        ``passed``, ``problems`` (messages), ``sources`` (one row per dataset: expected,
        received, ratio), and the shares.
    """
    latest = pd.Timestamp(latest)
    first = periods.shift(latest, -config.health_history, freq)
    ev = events[["date", "dataset"]].assign(events=events["events"] if "events" in events else 1)  # rows or daily counts
    ev["period"] = periods.label(ev["date"], freq).to_numpy()
    ev = ev[(ev["period"] >= first) & (ev["period"] <= latest)]
    grid = pd.DatetimeIndex(periods.to_dates(np.arange(periods.to_index(first, freq), periods.to_index(latest, freq) + 1), freq))
    counts = (ev.groupby(["dataset", "period"])["events"].sum().unstack("period")
              .reindex(columns=grid, fill_value=0).fillna(0)) if len(ev) else pd.DataFrame(columns=grid)
    problems: list[str] = []
    sources = []
    for dataset, row in counts.iterrows():
        history, received = row.iloc[:-1], float(row.iloc[-1])
        expected = float(np.median(history)) if len(history) else 0.0
        ratio = received / expected if expected > 0 else float("nan")
        sources.append({"dataset": str(dataset), "expected": expected, "received": received, "ratio": ratio})
        if expected > 0 and received < config.min_volume_ratio * expected:
            problems.append(
                f"Source {dataset!r} collapsed in the period of {latest.date()}: {int(received)} events received, "
                f"about {expected:.0f} expected (median of the previous {config.health_history} periods; "
                f"the gate needs at least {config.min_volume_ratio:.0%} of that). A feed outage or a missing inbox "
                "file? Fetch or add the missing files and run again."
            )
    if not sources:
        problems.append(f"No events at all in the {config.health_history} periods up to {latest.date()}. "
                        "Check the inbox and the store, or set [retrain] as_of.")
    report: dict[str, Any] = {"latest_period": str(latest.date()), "sources": sources}
    for key, name, limit in (("quarantined_unknown", "unknown event codes", config.max_unknown_code_share),
                             ("unresolved_events", "unresolved actors", config.max_unresolved_share)):
        run_read = float((run_counts or {}).get("read", 0) or 0)
        if run_read <= 0:
            continue
        share = float((run_counts or {}).get(key, 0) or 0) / run_read
        report[f"{key}_share"] = share
        hist_read = float((history_counts or {}).get("read", 0) or 0) - run_read
        hist_share = None
        if hist_read > 0:
            hist_share = (float((history_counts or {}).get(key, 0) or 0) - float((run_counts or {}).get(key, 0) or 0)) / hist_read
            report[f"{key}_history_share"] = hist_share
        if share > limit and (hist_share is None or share > hist_share + config.max_share_jump or share > 2 * limit):
            problems.append(
                f"This run's share of {name} is {share:.1%}, above the limit of {limit:.1%}"
                + (f" and {share - hist_share:+.1%} against history ({hist_share:.1%})" if hist_share is not None else "")
                + ". A format change at the source? Inspect the quarantine (`tension store`), fix the mapping, retract the batch."
            )
    report["passed"] = not problems
    report["problems"] = problems
    return report


def _better(metric: str, challenger: float, champion: float, margin: float) -> bool:
    if not np.isfinite(challenger):
        return False
    if not np.isfinite(champion):
        return True
    if metric in LOWER_IS_BETTER:
        return challenger < champion - margin
    return challenger > champion + margin


@dataclass(frozen=True)
class Gate:
    """The promotion gate's verdict: challenger, champion and ``history`` backtested on the same recent origins."""

    promote: bool
    metric: str
    scores: dict[str, float]
    beats_history: dict[str, bool]
    result: Any  # backtest.BacktestResult

    def own_predictions(self, model_name: str) -> pd.DataFrame:
        """The challenger's backtest predictions, labelled with its model name (its own backtest)."""
        pred = self.result.predictions
        return pred[pred["model"] == "challenger"].assign(model=model_name).reset_index(drop=True)

    def history_predictions(self) -> pd.DataFrame:
        """The history baseline's resolved backtest predictions on the gate's origins (its own bands)."""
        pred = self.result.predictions
        return pred[pred["model"] == "history"].dropna(subset=["outcome"]).reset_index(drop=True)

    def skill_records(self, role: str, name: str) -> list[dict[str, Any]]:
        """``role``'s comparison with history (model-card ``skill_vs_history`` records) under the name ``name``."""
        from .backtest import skill_vs_history

        return [{**r, "model": name} for r in skill_vs_history(self.result.predictions, models=[role])]


def gate_spec(experiment: Experiment, panel: pd.DataFrame, latest: Any) -> BacktestSpec:
    """The promotion gate's backtest: the ``[retrain] recent_origins`` latest origins whose windows have closed by ``latest``.

    It forecasts the experiment's whole ``[target]`` (:meth:`~tension.targets.TargetSpec.from_config`).
    """
    from .backtest import BacktestSpec

    freq, target = periods.check(experiment.panel.freq), TargetSpec.from_config(experiment.target)
    n_periods = pd.unique(panel["period"]).size
    last_origin = periods.shift(pd.Timestamp(latest), -target.horizon, freq)
    first_origin = periods.shift(last_origin, -max(experiment.retrain.recent_origins - 1, 0), freq)
    return BacktestSpec(first_origin, last_origin, freq=freq, refit_every=experiment.backtest.refit_every,
                        min_train_periods=min(experiment.backtest.min_train_periods, max(n_periods // 2, 1)), target=target)


def promotion_gate(experiment: Experiment, panel: pd.DataFrame, latest: pd.Timestamp, challenger: Any,
                   champion: Any = None, *, eng: Any = None, parent_run_id: str | None = None,
                   track: bool = False) -> Gate:
    """Should ``challenger`` replace ``champion``? The one gate of ``retrain``, ``train`` and ``tension model promote``.

    Challenger, champion and the ``history`` baseline (the pair's own past) are refitted at the
    :func:`gate_spec` origins; the challenger wins when it is better than history on
    ``promote_metric`` *and* beats the champion (if any) by ``promote_margin``. A model that does
    not beat history is never promoted.
    """
    from .engines import get_engine
    from .models import make_model

    cfg = experiment.retrain
    metric = cfg.promote_metric
    models = {"challenger": challenger, "history": make_model("history")}
    if champion is not None:
        models["champion"] = champion
    with (get_engine("local") if eng is None else contextlib.nullcontext(eng)) as engine:  # the caller closes its own
        result = engine.run_backtest(panel, gate_spec(experiment, panel, latest), models, alert_threshold=experiment.backtest.alert_threshold,
                                     top_k=experiment.backtest.top_k, parent_run_id=parent_run_id,
                                     experiment=experiment if track else None)
    if metric not in result.metrics.columns:
        raise UsageError(problem(f"Unknown promote_metric {metric!r}.",
                                 "one of " + ", ".join(c for c in result.metrics.columns if c not in
                                                       ("model", "target", "horizon")), got=metric))
    by_model = result.metrics.set_index("model")[metric].astype(float)
    scores = {m: float(by_model.get(m, np.nan)) for m in models}
    # history is a floor, not a rival: strictly better is enough (the margin guards champion churn)
    beats = {m: _better(metric, scores[m], scores["history"], 0.0) for m in models if m != "history"}
    promote = beats["challenger"] and (
        champion is None or _better(metric, scores["challenger"], scores.get("champion", np.nan), cfg.promote_margin))
    return Gate(promote=promote, metric=metric, scores=scores, beats_history=beats, result=result)


def history_gate(experiment: Experiment, panel: pd.DataFrame, latest: Any, model: str) -> dict[str, Any]:
    """Does ``model`` beat the ``history`` baseline on the promotion gate's origins?

    Returns ``{"metric", "model", "history", "beats_history", "skill_vs_history"}``: the metric's
    value for the model and for history, the verdict, and the model-card records with intervals.
    """
    from .models import make_model

    gate = promotion_gate(experiment, panel, pd.Timestamp(latest), make_model(model))
    return {"metric": gate.metric, "model": gate.scores["challenger"], "history": gate.scores["history"],
            "beats_history": gate.beats_history["challenger"], "skill_vs_history": gate.skill_records("challenger", model)}
