"""Render the scores table (plus panel, ledger, model card, data health) for analysts.

HTML is one self-contained file: inline CSS, inline SVG charts, no script, no external
resource, and a Content-Security-Policy meta tag that forbids loading anything
(``default-src 'none'``). Every piece of text goes through Jinja2 autoescaping; only SVG
built here from numbers is marked safe. Links to sources are shown only for http(s)
references. Markdown, CSV and JSON carry the same table for other tools.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .._io import atomic_output
from ..backtest import shift_period
from ..errors import UsageError, did_you_mean, problem
from ..scoring import country_name, period_words
from . import charts

__all__ = ["render_report", "render_timeline", "FORMATS", "CSP", "load_scores"]

FORMATS: tuple[str, ...] = ("html", "md", "csv", "json")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
"""The Content-Security-Policy of every HTML page: nothing may be loaded, no script may run."""


def _env() -> Environment:
    env = Environment(loader=PackageLoader("tension.reports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    return env


def _pct(p: Any, digits: int | None = None) -> str:
    """A probability in percent with enough digits for rare events: 42%, 5.4%, 0.3%, 0.04%."""
    if p is None or (isinstance(p, float) and not math.isfinite(p)) or pd.isna(p):
        return "\u2013"
    v = float(p) * 100
    if digits is not None:
        return f"{v:.{digits}f}%"
    if v == 0:
        return "0%"
    if v >= 99.5 and v < 100:
        return f"{v:.1f}%"
    if v >= 10:
        return f"{v:.0f}%"
    return f"{_positional(v, 2)}%"


def _num(x: Any, digits: int = 3) -> str:
    """A score with ``digits`` significant digits (Brier 0.00544, ECE 0.0012), never rounded to 0.000."""
    if x is None:
        return "\u2013"
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(f):
        return "\u2013"
    if f == 0:
        return "0"
    if abs(f) >= 10 ** digits:
        return f"{f:,.0f}"
    return _positional(f, digits)


def _positional(f: float, digits: int) -> str:
    """``f`` rounded to ``digits`` significant digits, written without an exponent (0.0000123, not 1.23e-05)."""
    return np.format_float_positional(float(f"{f:.{digits}g}"), trim="-")


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.strip():
        try:
            out = json.loads(value)
        except ValueError:
            return []
        return out if isinstance(out, list) else []
    return []


def load_scores(path: str | Path) -> pd.DataFrame:
    """Read a scores table written by ``tension score`` (Parquet, CSV or JSON)."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(problem("The scores file does not exist.", "a file written by `tension score --out`",
                                 str(p), "Run `tension score --out FILE` first, or pass --scores."))
    if p.suffix == ".parquet":
        df = pd.read_parquet(p)
    elif p.suffix == ".csv":
        df = pd.read_csv(p, keep_default_na=True)
    elif p.suffix == ".json":
        data = json.loads(p.read_text(encoding="utf-8"))
        df = pd.DataFrame(data["scores"] if isinstance(data, dict) else data)
        for col in ("drivers", "evidence"):
            if col in df:
                df[col] = df[col].map(lambda v: v if isinstance(v, str) else json.dumps(v))
    else:
        raise UsageError(problem("Unknown scores file type.", ".parquet, .csv or .json", p.suffix,
                                 "Pass a file written by `tension score --out`."))
    for col in ("as_of", "data_cutoff", "window_start", "window_end"):
        if col in df:
            df[col] = pd.to_datetime(df[col])
    return df


def _freq_of(scores: pd.DataFrame, panel: pd.DataFrame | None) -> str:
    """``D``, ``W`` or ``M``: the scores' own record, else the panel's, else the step from as_of to window_start."""
    for attrs in (scores.attrs, panel.attrs if panel is not None else {}):
        f = str(attrs.get("freq") or "").upper()[:1]
        if f in ("D", "W", "M"):
            return f
    if "window_start" in scores and len(scores):
        days = (pd.to_datetime(scores["window_start"]) - pd.to_datetime(scores["as_of"])).dt.days.median()
        if pd.notna(days):
            return "D" if days <= 1 else "W" if days <= 7 else "M"
    if panel is not None and panel["period"].nunique() > 1:
        days = pd.Series(pd.unique(panel["period"])).sort_values().diff().dt.days.median()
        return "D" if days <= 1 else "W" if days <= 7 else "M"
    return "W"


def periods_text(n: int, freq: str) -> str:
    """``4 weeks``, ``1 month``: a count of panel periods in the panel's own unit."""
    one, many = period_words(freq)
    return f"{int(n)} {one if int(n) == 1 else many}"


@lru_cache(maxsize=1)
def _un_regions() -> dict[str, str]:
    """ISO alpha-3 -> UN M49 sub-region (``Western Asia``), from country_converter's maintained table.

    The table is read as data (its ``CountryConverter()`` constructor fails on pandas 3, which reads
    Namibia's ISO2 code ``NA`` as missing).
    """
    from importlib.resources import files

    try:
        source = files("country_converter") / "country_data.tsv"
        table = pd.read_csv(source.open(encoding="utf-8"), sep="\t", usecols=["ISO3", "UNregion"],
                            keep_default_na=False, dtype=str)
    except (ImportError, OSError, ValueError):  # pragma: no cover - a declared dependency
        return {}
    table = table[(table["ISO3"] != "") & (table["UNregion"] != "")]
    return dict(zip(table["ISO3"], table["UNregion"], strict=True))


def region_label(source: str, target: str, configured: str = "") -> str:
    """The region shown for a pair: the config's ``[regions]`` name, else the UN sub-region(s) of both
    countries (``Western Asia``, or ``Eastern Asia / South-eastern Asia``), else ``unassigned``."""
    if configured:
        return configured
    table = _un_regions()
    a, b = table.get(str(source)), table.get(str(target))
    if a is None or b is None:
        return "unassigned"
    return a if a == b else " / ".join(sorted({a, b}))


def _dyad_name(source: str, target: str, dyad: str) -> str:
    sep = " \u2192 " if ">" in str(dyad) else " \u2013 "
    return f"{country_name(source)}{sep}{country_name(target)}"


def _change(c: Any) -> dict[str, str]:
    if c is None or pd.isna(c):
        return {"arrow": "\u2022", "text": "new", "cls": "flat"}
    pts = float(c) * 100
    if pts >= 0.5:
        return {"arrow": "\u25b2", "text": f"+{pts:.0f} pts", "cls": "up"}
    if pts <= -0.5:
        return {"arrow": "\u25bc", "text": f"\u2212{abs(pts):.0f} pts", "cls": "down"}
    return {"arrow": "\u25b6", "text": "\u00b10", "cls": "flat"}


def _href(ref: str) -> str | None:
    r = str(ref or "").strip()
    return r if r.lower().startswith(("https://", "http://")) else None


def _series(panel: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if panel is None or panel.empty:
        return {}
    return {d: g.sort_values("period") for d, g in panel.groupby("dyad", sort=False)}


def _finite(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def conflict_trend(history: pd.DataFrame | None, as_of: pd.Timestamp, freq: str, lookback: int = 12) -> str:
    """``quiet``, ``surging`` or ``ongoing``: the pair's own material conflict in the ``lookback`` periods to ``as_of``.

    quiet: no material-conflict event in the lookback (a positive would be an onset).
    surging: events in the latest quarter of the lookback (at least one period) and either none
    before them in the lookback (new conflict), or at least two at more than twice the rate per
    period of the rest of the lookback (rising conflict).
    ongoing: any other pair with material conflict in the lookback. ``unknown`` without a series.
    """
    if history is None or "material_conflict_count" not in history:
        return "unknown"
    start = shift_period(as_of, -(lookback - 1), freq)
    h = history[(history["period"] >= start) & (history["period"] <= as_of)]
    recent_n = max(1, lookback // 4)
    recent_start = shift_period(as_of, -(recent_n - 1), freq)
    mc = h["material_conflict_count"].fillna(0).astype(float)
    total = float(mc.sum())
    if total == 0:
        return "quiet"
    recent = float(mc[(h["period"] >= recent_start).to_numpy()].sum())
    earlier = total - recent
    if recent > 0 and (earlier == 0 or (recent >= 2 and recent / recent_n > 2 * earlier / max(lookback - recent_n, 1))):
        return "surging"
    return "ongoing"


def _cell(r: pd.Series, h: int) -> dict[str, Any]:
    """One probability cell; no band when scoring gave none (NaN) or no past forecast backs it (``interval_n`` 0)."""
    lower, upper = _finite(r.get("lower")), _finite(r.get("upper"))
    backed = _finite(r.get("interval_n"))
    why = ("no backtest of this model" if lower is None or upper is None else
           "no past forecast of this model near this level" if backed == 0 else "")
    return {"h": h, "p": float(r["probability"]), "lower": lower, "upper": upper, "band": not why, "no_band": why,
            "change": _change(r.get("change")),
            "rank": None if pd.isna(r.get("rank")) else int(r["rank"]),
            "insufficient": r.get("coverage") == "insufficient"}


def _prepare(scores: pd.DataFrame, panel: pd.DataFrame | None, top: int, lookback: int = 12) -> dict[str, Any]:
    s = scores.copy()
    s["as_of"] = pd.to_datetime(s["as_of"])
    freq = _freq_of(scores, panel)
    horizons = sorted(int(h) for h in s["horizon"].unique())
    primary = horizons[0]
    as_of = s["as_of"].max()
    s = s[s["as_of"] == as_of]
    series = _series(panel)
    rows = []
    for dyad, g in s.groupby("dyad", sort=False):
        g = g.set_index(s.loc[g.index, "horizon"].astype(int))
        first = g.loc[primary] if primary in g.index else g.iloc[0]
        cells = [_cell(g.loc[h], h) if h in g.index else None for h in horizons]
        hist = series.get(dyad)
        values = []
        if hist is not None:
            values = hist[hist["period"] <= as_of].tail(52)["hostile_intensity"].tolist() if "hostile_intensity" in hist else []
        region = first.get("region", "")
        region = "" if region is None or pd.isna(region) else str(region)
        rows.append({
            "dyad": str(dyad), "name": _dyad_name(first["source"], first["target"], dyad),
            "source": str(first["source"]), "target": str(first["target"]),
            "region": region, "region_label": region_label(first["source"], first["target"], region),
            "coverage": str(first.get("coverage", "ok")),
            "rank": None if pd.isna(first.get("rank")) else int(first["rank"]),
            "region_rank": None if pd.isna(first.get("region_rank")) else int(first["region_rank"]),
            "p": float(first["probability"]), "cells": cells,
            "spark": Markup(charts.sparkline(values)) if values else "",
            "drivers": _json_list(first.get("drivers")), "evidence": _json_list(first.get("evidence")),
            "method": str(first.get("drivers_method", "")), "logit": first.get("logit"),
            "model_version": str(first.get("model_version", "")),
        })
    rows.sort(key=_order)
    for r in rows:
        for d in r["drivers"]:
            d["pos"] = float(d.get("contribution", 0.0)) > 0
            d["named"] = not str(d.get("feature", "")).startswith("(")
        biggest = max((abs(float(d.get("contribution", 0.0))) for d in r["drivers"]
                       if d.get("feature") != "(baseline)"), default=0.0) or 1.0
        for d in r["drivers"]:
            d["width"] = min(100.0, abs(float(d.get("contribution", 0.0))) / biggest * 100)
        for e in r["evidence"]:
            e["href"] = _href(e.get("source_ref", ""))
    directed = any(">" in r["dyad"] for r in rows)
    relations = _relationships(rows, series, as_of, freq, lookback, directed)
    detail = _detail(relations, top)
    for r in detail:
        hist = series.get(r["dyad"])
        r["chart"] = Markup(charts.series_chart(hist, as_of)) if hist is not None else ""
    cutoff = pd.to_datetime(s["data_cutoff"]).max() if "data_cutoff" in s else as_of
    versions = sorted({r["model_version"] for r in rows})
    return {"rows": rows, "relations": relations, "detail": detail, "horizons": horizons, "primary": primary,
            "as_of": as_of.date(), "data_cutoff": cutoff.date() if pd.notna(cutoff) else "unknown",
            "model_versions": versions, "freq": freq, "directed": directed, "lookback": lookback,
            "unit": {h: periods_text(h, freq) for h in horizons}, "lookback_text": periods_text(lookback, freq),
            "unit_one": period_words(freq)[0], "unit_many": period_words(freq)[1],
            "split": any(r["trend"] != "unknown" for r in relations)}


def _order(r: dict[str, Any]) -> tuple:
    return (r["coverage"] == "insufficient", r["rank"] is None, r["rank"] or 0, -r["p"])


def _relationships(rows: list[dict[str, Any]], series: dict[str, pd.DataFrame], as_of: pd.Timestamp, freq: str,
                   lookback: int, directed: bool) -> list[dict[str, Any]]:
    """One entry per pair of countries; a directed panel's two directions (A -> B, B -> A) inside it."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault("|".join(sorted((r["source"], r["target"]))), []).append(r)
    out = []
    for key, dirs in groups.items():
        dirs.sort(key=_order)
        a, b = key.split("|")
        histories = [series[d["dyad"]] for d in dirs if d["dyad"] in series]
        hist = pd.concat(histories).groupby("period", as_index=False).sum(numeric_only=True) if histories else None
        ranks = [d["rank"] for d in dirs if d["rank"] is not None]
        thin = all(d["coverage"] == "insufficient" for d in dirs)
        out.append({"key": key, "name": f"{country_name(a)} \u2013 {country_name(b)}" if directed else dirs[0]["name"],
                    "codes": [d["dyad"] for d in dirs], "dirs": dirs, "source": a, "target": b,
                    "region": dirs[0]["region"], "region_label": dirs[0]["region_label"],
                    "rank": min(ranks) if ranks else None, "p": max(d["p"] for d in dirs),
                    "coverage": "insufficient" if thin else dirs[0]["coverage"],
                    "trend": conflict_trend(hist, as_of, freq, lookback),
                    "anchor": "dyad-" + dirs[0]["dyad"].replace(">", "-").replace("|", "-")})
    out.sort(key=_order)
    return out


_ESCALATION = ("quiet", "surging")


def _detail(relations: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """The dyads with a detail section: half from the escalation part, half from ongoing conflict (each by
    rank; one part fills in when the other runs short), escalation first, so chronic pairs cannot take them all."""
    ok = [r for r in relations if r["coverage"] != "insufficient"]
    escal = [d for r in ok if r["trend"] in _ESCALATION for d in r["dirs"] if d["coverage"] != "insufficient"]
    rest = [d for r in ok if r["trend"] not in _ESCALATION for d in r["dirs"] if d["coverage"] != "insufficient"]
    for r in ok:
        for d in r["dirs"]:
            d["trend"] = r["trend"]
    first = max(top - len(rest), (top + 1) // 2)
    return escal[:first] + rest[: top - len(escal[:first])]


def _regions(rows: list[dict[str, Any]], regions: Mapping[str, Sequence[str]] | None) -> list[tuple[str, list]]:
    names = list(regions or {}) or sorted({r["region"] for r in rows if r["region"]})
    out = []
    for name in names:
        members = set((regions or {}).get(name, ()))
        inside = [r for r in rows if r["region"] == name or (members and r["source"] in members and r["target"] in members)]
        out.append((name, inside))
    return out


_SECTION_TARGETS: dict[str, tuple[str, ...]] = {"escalation": ("onset", "surge"), "ongoing": ("any_material_conflict",)}


def _skill_lines(card: Mapping[str, Any] | None, freq: str) -> dict[str, dict[str, Any]]:
    """Per watchlist section: the model's skill over the ``history`` baseline from ``card["skill_vs_history"]``."""
    entries = list((card or {}).get("skill_vs_history") or [])
    published = (card or {}).get("model")
    out: dict[str, dict[str, Any]] = {}
    for section, targets in _SECTION_TARGETS.items():
        mine = [e for e in entries if str(e.get("target")) in targets]
        lines = []
        for e in mine:
            diff, low, high = _finite(e.get("difference")), _finite(e.get("low")), _finite(e.get("high"))
            interval = f" (90% interval {_signed(low)} to {_signed(high)})" if low is not None and high is not None else ""
            h = e.get("horizon")
            lines.append(f"{e.get('model')} on {str(e.get('target')).replace('_', ' ')}"
                         + (f", h = {periods_text(int(h), freq)}" if h is not None else "")
                         + f": {e.get('metric')} {_num(e.get('model_value'))} against history's "
                         f"{_num(e.get('history_value'))}, difference {_signed(diff)}{interval}"
                         + ("; beats history" if e.get("beats_history") else "; does not beat history"))
        no_skill = any(e.get("beats_history") is False and (published is None or e.get("model") == published)
                       for e in mine)
        out[section] = {"lines": lines, "no_skill": no_skill}
    return out


def _signed(x: float | None) -> str:
    if x is None:
        return "\u2013"
    return ("+" if x > 0 else "\u2212" if x < 0 else "\u00b1") + _num(abs(x))


def _model_card(card: Mapping[str, Any] | None, versions: Sequence[str] = ()) -> dict[str, Any] | None:
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


def _health(health: Mapping[str, Any] | None, scores: pd.DataFrame, events: pd.DataFrame | None,
            panel: pd.DataFrame | None, freq: str = "W", recent: int = 12) -> dict[str, Any]:
    h = dict(health or {})
    cov = scores.drop_duplicates("dyad")["coverage"].value_counts().to_dict() if "coverage" in scores else {}
    h["coverage"] = {k: int(cov.get(k, 0)) for k in ("ok", "low", "insufficient")}
    if events is not None and len(events) and "last_event_date" not in h:
        h["last_event_date"] = pd.to_datetime(events["date"]).max().date()
    if panel is not None and len(panel) and "low_coverage" in panel:
        last = panel[panel["period"] >= shift_period(panel["period"].max(), -(recent - 1), freq)]
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


def _track(ledger: Any, threshold: float, source: str = "[alerts] threshold") -> dict[str, Any] | None:
    if ledger is None:
        return None
    record = ledger.track_record(threshold=threshold)
    reliability = ledger.reliability()
    summary = ledger.summary()
    rows = record.to_dict("records") if len(record) else []
    return {"rows": rows, "summary": summary, "threshold": threshold, "threshold_source": source,
            "reliability": Markup(charts.reliability_chart(reliability)) if len(reliability) else ""}


def _timeline(examples: pd.DataFrame | None) -> list[dict[str, Any]]:
    if examples is None or examples.empty:
        return []
    e = examples.sort_values("date", kind="stable")
    out = []
    for _, r in e.iterrows():
        ref = "" if pd.isna(r.get("source_ref")) else str(r.get("source_ref"))
        out.append({"date": pd.Timestamp(r["date"]).date(), "source": str(r.get("source_actor") or r.get("source_country") or ""),
                    "target": str(r.get("target_actor") or r.get("target_country") or ""),
                    "code": str(r.get("cameo_code") or ""), "family": str(r.get("family") or ""),
                    "text": "" if pd.isna(r.get("text")) else str(r.get("text")), "source_ref": ref, "href": _href(ref),
                    "dataset": "" if pd.isna(r.get("dataset")) else str(r.get("dataset")),
                    "polarity": "" if pd.isna(r.get("polarity", "")) else str(r.get("polarity", ""))})
    return out


def _filter_region(scores: pd.DataFrame, region: str | None, regions: Mapping[str, Sequence[str]] | None) -> pd.DataFrame:
    if not region:
        return scores
    known = list(regions or {}) or sorted(set(scores.get("region", pd.Series(dtype=str)).dropna()) - {""})
    if region not in known:
        raise UsageError(problem(f"Unknown region {region!r}." + did_you_mean(region, known), "one of " +
                                 (", ".join(known) or "(no regions configured)"), region,
                                 "Pick a region from the config's [regions] table."))
    members = set((regions or {}).get(region, ()))
    mask = scores["region"] == region if "region" in scores else False
    if members:
        mask = mask | (scores["source"].isin(members) & scores["target"].isin(members))
    return scores[mask]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with ``'`` (OWASP CSV injection)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            values = out[col]
            text = values.astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out[col] = values.astype(object).where(~risky, "'" + text.astype(object))
    return out


def render_report(scores: pd.DataFrame, panel: pd.DataFrame | None = None, *, events: pd.DataFrame | None = None,
                  ledger: Any = None, model_card: Mapping[str, Any] | None = None,
                  health: Mapping[str, Any] | None = None, regions: Mapping[str, Sequence[str]] | None = None,
                  region: str | None = None, examples: pd.DataFrame | None = None, format: str = "html",
                  out: str | Path | None = None, top: int = 10, threshold: float = 0.5, watch_max: int = 100,
                  title: str = "Escalation risk watchlist", thresholds: Mapping[str, float] | None = None,
                  lookback: int = 12) -> Path | str:
    """Render the scores table for analysts; returns the text, or the path when ``out`` is given.

    Parameters
    ----------
    scores
        The scores table (``tension.scoring.score`` or a file via :func:`load_scores`).
    panel
        The dyad panel, for sparklines and each top dyad's series chart.
    events
        Canonical events, for the data-health panel (last event date).
    ledger
        A ``tension.ledger.Ledger``: its track record is shown next to the baselines.
    model_card
        ``version``, ``run_id``, ``model``, ``training_window``, ``target``, ``horizon``, ...;
        optional ``metrics`` (``tension.backtest.metrics``) and ``predictions`` (for the
        reliability diagram); ``backtest_of`` (the version label the backtest belongs to; a
        backtest of another model is said to be so); ``skill_vs_history``, a list of
        ``{target, horizon, metric, model, model_value, history_value, difference, low, high,
        beats_history}`` shown in the watchlist section of that target.
    health
        Data health: ``last_event_date``, ``unresolved_actors`` {name: count},
        ``quarantined`` {reason: count}, ``events``.
    regions, region
        ``Experiment.regions`` (one section per region); ``region`` keeps only that one.
    examples
        Hand-coded example events: adds an evidence timeline that makes no risk claim.
    format
        ``html`` (self-contained page), ``md``, ``csv`` or ``json``.
    top, watch_max
        Dyads with a detail section; rows of each watchlist section (region sections show all).
    threshold, thresholds
        The alert threshold of the track record (the config's ``[alerts] threshold``), and every
        threshold of the config that was used, ``{"[section] key": value}``, listed in the
        how-to-read box.
    lookback
        Periods of the pair's own history that split the watchlist into escalation (no material
        conflict in them, or surging) and ongoing conflict (see :func:`conflict_trend`).
    """
    if format not in FORMATS:
        raise UsageError(problem("Unknown report format." + did_you_mean(format, FORMATS), "one of " +
                                 ", ".join(FORMATS), format, "Use --format html, md, csv or json."))
    if scores.empty:
        raise UsageError(problem("The scores table is empty.", "scores from `tension score`", "0 rows",
                                 "Score first: `tension score --out FILE`."))
    scores = _filter_region(scores, region, regions)
    if format == "csv":
        text = _neutralise_formulas(scores).to_csv(index=False, date_format="%Y-%m-%d")
    elif format == "json":
        text = _json(scores)
    else:
        ctx = _prepare(scores, panel, top, lookback)
        if format == "md":
            text = _markdown(ctx, title, region)
        else:
            used = dict(thresholds or {"[alerts] threshold": threshold})
            ctx.update({
                "title": title, "csp": CSP, "region": region, "watch_max": watch_max,
                "sections": [] if region else _regions(ctx["relations"], regions),
                "model": _model_card(model_card, ctx["model_versions"]),
                "skill": _skill_lines(model_card, ctx["freq"]), "thresholds": used,
                "health": _health(health, scores, events, panel, ctx["freq"], lookback),
                "track": _track(ledger, threshold), "timeline": _timeline(examples),
                "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            })
            text = _env().get_template("report.html.j2").render(**ctx)
    if out is None:
        return text
    with atomic_output(out, "report") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)


def render_timeline(examples: pd.DataFrame, out: str | Path | None = None,
                    title: str = "Evidence timeline: hand-coded examples") -> Path | str:
    """A page listing recorded events in date order, with sources; it makes no risk claim."""
    text = _env().get_template("timeline.html.j2").render(title=title, csp=CSP, timeline=_timeline(examples),
                                                          generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    if out is None:
        return text
    with atomic_output(out, "report") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)


def _json(scores: pd.DataFrame) -> str:
    records = []
    for r in scores.to_dict("records"):
        row = {}
        for k, v in r.items():
            if k in ("drivers", "evidence"):
                row[k] = _json_list(v)
            elif isinstance(v, pd.Timestamp):
                row[k] = v.date().isoformat() if v == v.normalize() else v.isoformat()
            elif v is None or (isinstance(v, float) and not math.isfinite(v)) or v is pd.NA:
                row[k] = None
            elif isinstance(v, np.generic):
                row[k] = v.item()
            else:
                row[k] = v
        records.append(row)
    as_of = pd.to_datetime(scores["as_of"]).max()
    payload = {"as_of": as_of.date().isoformat(), "model_version": sorted(set(map(str, scores["model_version"]))),
               "scores": records}
    return json.dumps(payload, ensure_ascii=False, indent=1)


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]{}()#+!|~>"} | {"<": "&lt;", "&": "&amp;"})


def md_escape(text: Any) -> str:
    """Text safe inside Markdown: no raw HTML, no accidental formatting, no table breaks."""
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


def _markdown(ctx: dict[str, Any], title: str, region: str | None) -> str:
    hz = ctx["horizons"]
    lines = [f"# {md_escape(title)}" + (f" \u2014 {md_escape(region)}" if region else ""), "",
             f"As of {ctx['as_of']}; data through {ctx['data_cutoff']}; model {md_escape(', '.join(ctx['model_versions']))}.",
             "Probabilities are calibrated; the interval is an 80% band from this model's backtest (\"no band\" when there "
             "is none). Insufficient data is shown as such, never as low risk.",
             "", "| rank | dyad | region | " + " | ".join(f"h = {ctx['unit'][h]}" for h in hz) + " | coverage |",
             "|---:|---|---|" + "---|" * len(hz) + "---|"]
    for r in ctx["rows"]:
        cells = []
        for c in r["cells"]:
            if c is None:
                cells.append("")
            elif c["insufficient"]:
                cells.append("insufficient data")
            else:
                band = f"({_pct(c['lower'])}\u2013{_pct(c['upper'])})" if c["band"] else f"(no band: {c['no_band']})"
                cells.append(f"{_pct(c['p'])} {band} {c['change']['arrow']} {c['change']['text']}")
        lines.append(f"| {r['rank'] or ''} | {md_escape(r['name'])} | {md_escape(r['region_label'])} | " +
                     " | ".join(cells) + f" | {md_escape(r['coverage'])} |")
    for r in ctx["detail"]:
        lines += ["", f"## {md_escape(r['name'])}", "",
                  "Drivers (log-odds before calibration; calibration is applied afterwards):", ""]
        lines += [f"- {float(d.get('contribution', 0)):+.2f} {md_escape(d.get('text', ''))}" for d in r["drivers"]]
        if r["evidence"]:
            lines += ["", "Evidence:", ""]
            lines += [f"- {md_escape(e.get('date', ''))} {md_escape(e.get('text', ''))} "
                      f"(`{md_escape(e.get('event_id', ''))}`, {md_escape(e.get('source_ref', ''))})" for e in r["evidence"]]
    return "\n".join(lines) + "\n"
