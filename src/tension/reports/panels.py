"""The report's side panels: skill over history, the model card, data health, the track record, the evidence timeline."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from .. import periods
from . import charts
from .formatting import finite, href, num, periods_text, signed

_SECTION_TARGETS: dict[str, tuple[str, ...]] = {"escalation": ("onset", "surge"), "ongoing": ("any_material_conflict",)}


def skill_lines(card: Mapping[str, Any] | None, freq: str) -> dict[str, dict[str, Any]]:
    """Per watchlist section: the model's skill over the ``history`` baseline from ``card["skill_vs_history"]``."""
    entries = list((card or {}).get("skill_vs_history") or [])
    published = (card or {}).get("model")
    out: dict[str, dict[str, Any]] = {}
    for section, targets in _SECTION_TARGETS.items():
        mine = [e for e in entries if str(e.get("target")) in targets]
        lines = []
        for e in mine:
            diff, low, high = finite(e.get("difference")), finite(e.get("low")), finite(e.get("high"))
            interval = f" (90% interval {signed(low)} to {signed(high)})" if low is not None and high is not None else ""
            h = e.get("horizon")
            lines.append(f"{e.get('model')} on {str(e.get('target')).replace('_', ' ')}"
                         + (f", h = {periods_text(int(h), freq)}" if h is not None else "")
                         + f": {e.get('metric')} {num(e.get('model_value'))} against history's "
                         f"{num(e.get('history_value'))}, difference {signed(diff)}{interval}"
                         + ("; beats history" if e.get("beats_history") else "; does not beat history"))
        no_skill = any(e.get("beats_history") is False and (published is None or e.get("model") == published)
                       for e in mine)
        out[section] = {"lines": lines, "no_skill": no_skill}
    return out


def card_panel(card: Mapping[str, Any] | None, versions: Sequence[str] = ()) -> dict[str, Any] | None:
    """The model card panel: identity, backtest metrics, reliability chart and whether the backtest is of this model."""
    if not card:
        return None
    out = {k: v for k, v in card.items() if k not in ("metrics", "predictions")}
    metrics = card.get("metrics")
    predictions = card.get("predictions")
    if metrics is None and predictions is not None and len(predictions):
        from ..backtest import metrics as backtest_metrics

        metrics = backtest_metrics(predictions)
    keep = ["model", "horizon", "n", "brier", "log_loss", "roc_auc", "average_precision", "bss_base_rate",
            "bss_persistence", "ece"]
    out["metrics"] = ([{k: r.get(k) for k in keep if k in r} for r in metrics.to_dict("records")]
                      if metrics is not None and len(metrics) else [])
    out["metric_columns"] = [k for k in keep if out["metrics"] and k in out["metrics"][0]]
    out["reliability"] = ""
    if predictions is not None and len(predictions):
        from ..backtest import reliability_figure

        out["reliability"] = Markup(charts.figure_svg(reliability_figure(predictions)))
    out.update(_backtest_identity(card, metrics, versions))
    return out


def _backtest_identity(card: Mapping[str, Any], metrics: pd.DataFrame | None, versions: Sequence[str]) -> dict[str, Any]:
    """Whether the attached backtest is of the model that was scored, said plainly."""
    version = str(card.get("version") or "")
    kind = card.get("model")
    notes = []
    scored = [v for v in versions if v]
    if version and scored and version not in scored:
        notes.append(f"This card describes {version}, but the scores were made by {', '.join(scored)}.")
    if metrics is None or not len(metrics):
        return {"backtest_of_scored": None, "backtest_notes": notes}
    models = sorted({str(m) for m in metrics["model"]}) if "model" in metrics else []
    of = card.get("backtest_of")
    if of is not None:
        same = str(of) == version
        if not same:
            notes.append(f"The backtest shown is of {of}, not of the scored model {version}: its figures are not "
                         "this model's skill.")
    elif kind is not None and str(kind) not in models:
        same = False
        notes.append(f"The backtest shown has no {kind} model (it holds {', '.join(models)}), so it is not a backtest "
                     f"of the scored model {version} ({kind}): its figures are not this model's skill.")
    else:
        same = None
        if kind is not None:
            notes.append(f"The backtest does not record which version it fitted; its {kind} row is a model of the same "
                         f"kind as {version}, refitted at each origin.")
    return {"backtest_of_scored": same, "backtest_notes": notes}


def health_panel(health: Mapping[str, Any] | None, scores: pd.DataFrame, events: pd.DataFrame | None,
            panel: pd.DataFrame | None, freq: str = "W", recent: int = 12) -> dict[str, Any]:
    """The data-health panel: coverage of the scored dyads, last event, recent low-coverage periods, unresolved actors, quarantine."""
    h = dict(health or {})
    cov = scores.drop_duplicates("dyad")["coverage"].value_counts().to_dict() if "coverage" in scores else {}
    h["coverage"] = {k: int(cov.get(k, 0)) for k in ("ok", "low", "insufficient")}
    if events is not None and len(events) and "last_event_date" not in h:
        h["last_event_date"] = pd.to_datetime(events["date"]).max().date()
    if panel is not None and len(panel) and "low_coverage" in panel:
        last = panel[panel["period"] >= periods.shift(panel["period"].max(), -(recent - 1), freq)]
        low = last.groupby("period")["low_coverage"].any()
        h["low_periods"] = [d.date() for d in low[low].index]
        h["low_window"] = periods_text(recent, freq)
    if "unresolved_actors" not in h and events is not None and len(events):
        h["unresolved_actors"] = _unresolved(events)
    unresolved = h.get("unresolved_actors") or {}
    if isinstance(unresolved, Mapping):
        unresolved = sorted(unresolved.items(), key=lambda kv: -kv[1])
    h["unresolved_actors"] = [(str(a), int(n)) for a, n in list(unresolved)[:15]]
    quarantined = h.get("quarantined") or {}
    h["quarantined"] = [(str(k), int(v)) for k, v in dict(quarantined).items()]
    h.setdefault("last_event_date", "unknown")
    return h


def _unresolved(events: pd.DataFrame) -> dict[str, int]:
    """Actor strings stored with neither a country nor an organisation, by number of events."""
    names = []
    for side in ("source", "target"):
        cols = [f"{side}_actor", f"{side}_country", f"{side}_org"]
        if all(c in events for c in cols):
            blank = events[f"{side}_country"].isna() & events[f"{side}_org"].isna() & events[f"{side}_actor"].notna()
            names.append(events.loc[blank, f"{side}_actor"].astype(str))
    if not names:
        return {}
    counts = pd.concat(names).value_counts()
    return {str(k): int(v) for k, v in counts.head(15).items()}


def track_record(ledger: Any, threshold: float, source: str = "[alerts] threshold") -> dict[str, Any] | None:
    """The ledger's track record and reliability at the alert threshold (None without a ledger)."""
    if ledger is None:
        return None
    record = ledger.track_record(threshold=threshold)
    reliability = ledger.reliability()
    summary = ledger.summary()
    rows = record.to_dict("records") if len(record) else []
    return {"rows": rows, "summary": summary, "threshold": threshold, "threshold_source": source,
            "reliability": Markup(charts.reliability_chart(reliability)) if len(reliability) else ""}


def timeline(examples: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Example events in date order with their sources, for the evidence timeline."""
    if examples is None or examples.empty:
        return []
    e = examples.sort_values("date", kind="stable")
    out = []
    for _, r in e.iterrows():
        ref = "" if pd.isna(r.get("source_ref")) else str(r.get("source_ref"))
        out.append({"date": pd.Timestamp(r["date"]).date(), "source": str(r.get("source_actor") or r.get("source_country") or ""),
                    "target": str(r.get("target_actor") or r.get("target_country") or ""),
                    "code": str(r.get("cameo_code") or ""), "family": str(r.get("family") or ""),
                    "text": "" if pd.isna(r.get("text")) else str(r.get("text")), "source_ref": ref, "href": href(ref),
                    "dataset": "" if pd.isna(r.get("dataset")) else str(r.get("dataset")),
                    "polarity": "" if pd.isna(r.get("polarity", "")) else str(r.get("polarity", ""))})
    return out
