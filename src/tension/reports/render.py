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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .._io import atomic_output
from ..errors import UsageError, did_you_mean, problem
from ..scoring import country_name
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


def _pct(p: Any, digits: int = 0) -> str:
    return "–" if p is None or (isinstance(p, float) and not math.isfinite(p)) else f"{float(p) * 100:.{digits}f}%"


def _num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "–" if not math.isfinite(f) else f"{f:.{digits}f}"


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


def _prepare(scores: pd.DataFrame, panel: pd.DataFrame | None, top: int) -> dict[str, Any]:
    s = scores.copy()
    s["as_of"] = pd.to_datetime(s["as_of"])
    horizons = sorted(int(h) for h in s["horizon"].unique())
    primary = horizons[0]
    as_of = s["as_of"].max()
    s = s[s["as_of"] == as_of]
    series = _series(panel)
    rows = []
    for dyad, g in s.groupby("dyad", sort=False):
        g = g.set_index(s.loc[g.index, "horizon"].astype(int))
        first = g.loc[primary] if primary in g.index else g.iloc[0]
        cells = []
        for h in horizons:
            if h not in g.index:
                cells.append(None)
                continue
            r = g.loc[h]
            cells.append({"h": h, "p": float(r["probability"]), "lower": float(r["lower"]),
                          "upper": float(r["upper"]), "change": _change(r.get("change")),
                          "rank": None if pd.isna(r.get("rank")) else int(r["rank"]),
                          "insufficient": r.get("coverage") == "insufficient"})
        hist = series.get(dyad)
        values = []
        if hist is not None:
            values = hist[hist["period"] <= as_of].tail(52)["hostile_intensity"].tolist() if "hostile_intensity" in hist else []
        region = first.get("region", "")
        rows.append({
            "dyad": str(dyad), "name": _dyad_name(first["source"], first["target"], dyad),
            "source": str(first["source"]), "target": str(first["target"]),
            "region": "" if pd.isna(region) else str(region), "coverage": str(first.get("coverage", "ok")),
            "rank": None if pd.isna(first.get("rank")) else int(first["rank"]),
            "region_rank": None if pd.isna(first.get("region_rank")) else int(first["region_rank"]),
            "p": float(first["probability"]), "cells": cells,
            "spark": Markup(charts.sparkline(values)) if values else "",
            "drivers": _json_list(first.get("drivers")), "evidence": _json_list(first.get("evidence")),
            "method": str(first.get("drivers_method", "")), "logit": first.get("logit"),
            "model_version": str(first.get("model_version", "")),
        })
    rows.sort(key=lambda r: (r["coverage"] == "insufficient", r["rank"] is None, r["rank"] or 0, -r["p"]))
    for r in rows:
        for d in r["drivers"]:
            d["pos"] = float(d.get("contribution", 0.0)) > 0
        biggest = max((abs(float(d.get("contribution", 0.0))) for d in r["drivers"]
                       if d.get("feature") != "(baseline)"), default=0.0) or 1.0
        for d in r["drivers"]:
            d["width"] = min(100.0, abs(float(d.get("contribution", 0.0))) / biggest * 100)
        for e in r["evidence"]:
            e["href"] = _href(e.get("source_ref", ""))
    detail = [r for r in rows if r["coverage"] != "insufficient"][:top]
    for r in detail:
        hist = series.get(r["dyad"])
        r["chart"] = Markup(charts.series_chart(hist, as_of)) if hist is not None else ""
    cutoff = pd.to_datetime(s["data_cutoff"]).max() if "data_cutoff" in s else as_of
    versions = sorted({r["model_version"] for r in rows})
    return {"rows": rows, "detail": detail, "horizons": horizons, "primary": primary, "as_of": as_of.date(),
            "data_cutoff": cutoff.date() if pd.notna(cutoff) else "unknown", "model_versions": versions}


def _regions(rows: list[dict[str, Any]], regions: Mapping[str, Sequence[str]] | None) -> list[tuple[str, list]]:
    names = list(regions or {}) or sorted({r["region"] for r in rows if r["region"]})
    out = []
    for name in names:
        members = set((regions or {}).get(name, ()))
        inside = [r for r in rows if r["region"] == name or (members and r["source"] in members and r["target"] in members)]
        out.append((name, inside))
    return out


def _model_card(card: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not card:
        return None
    out = {k: v for k, v in card.items() if k not in ("metrics", "predictions")}
    metrics = card.get("metrics")
    predictions = card.get("predictions")
    if metrics is None and predictions is not None and len(predictions):
        from ..backtest import metrics as backtest_metrics

        metrics = backtest_metrics(predictions)
    keep = ["model", "horizon", "n", "brier", "log_loss", "roc_auc", "bss_base_rate", "bss_persistence", "ece"]
    out["metrics"] = ([{k: r.get(k) for k in keep if k in r} for r in metrics.to_dict("records")]
                      if metrics is not None and len(metrics) else [])
    out["metric_columns"] = [k for k in keep if out["metrics"] and k in out["metrics"][0]]
    out["reliability"] = ""
    if predictions is not None and len(predictions):
        from ..backtest import reliability_figure

        out["reliability"] = Markup(charts.figure_svg(reliability_figure(predictions)))
    return out


def _health(health: Mapping[str, Any] | None, scores: pd.DataFrame, events: pd.DataFrame | None,
            panel: pd.DataFrame | None) -> dict[str, Any]:
    h = dict(health or {})
    cov = scores.drop_duplicates("dyad")["coverage"].value_counts().to_dict() if "coverage" in scores else {}
    h["coverage"] = {k: int(cov.get(k, 0)) for k in ("ok", "low", "insufficient")}
    if events is not None and len(events) and "last_event_date" not in h:
        h["last_event_date"] = pd.to_datetime(events["date"]).max().date()
    if panel is not None and len(panel) and "low_coverage" in panel:
        recent = panel[panel["period"] > panel["period"].max() - pd.Timedelta(weeks=12)]
        low = recent.groupby("period")["low_coverage"].any()
        h["low_periods"] = [d.date() for d in low[low].index]
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


def _track(ledger: Any, threshold: float) -> dict[str, Any] | None:
    if ledger is None:
        return None
    record = ledger.track_record(threshold=threshold)
    reliability = ledger.reliability()
    summary = ledger.summary()
    rows = record.to_dict("records") if len(record) else []
    return {"rows": rows, "summary": summary, "threshold": threshold,
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
                  title: str = "Escalation risk watchlist") -> Path | str:
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
        reliability diagram).
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
        Dyads with a detail section; rows of the all-dyads watchlist (region sections show all).
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
        ctx = _prepare(scores, panel, top)
        if format == "md":
            text = _markdown(ctx, title, region)
        else:
            ctx.update({
                "title": title, "csp": CSP, "region": region, "watch_max": watch_max,
                "sections": [] if region else _regions(ctx["rows"], regions),
                "model": _model_card(model_card), "health": _health(health, scores, events, panel),
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
             "Probabilities are calibrated; the interval is an 80% band. Insufficient data is shown as such, never as low risk.",
             "", "| rank | dyad | region | " + " | ".join(f"h={h}" for h in hz) + " | coverage |",
             "|---:|---|---|" + "---|" * len(hz) + "---|"]
    for r in ctx["rows"]:
        cells = []
        for c in r["cells"]:
            if c is None:
                cells.append("")
            elif c["insufficient"]:
                cells.append("insufficient data")
            else:
                cells.append(f"{_pct(c['p'])} ({_pct(c['lower'])}\u2013{_pct(c['upper'])}) {c['change']['arrow']} "
                             f"{c['change']['text']}")
        lines.append(f"| {r['rank'] or ''} | {md_escape(r['name'])} | {md_escape(r['region'])} | " +
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
