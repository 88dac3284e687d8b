"""The watchlist: one row per dyad and horizon, pairs grouped into relationships, the escalation/ongoing split, detail picks."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd
from markupsafe import Markup

from .. import periods
from ..scoring import country_name, period_words
from . import charts
from .formatting import change, finite, href, json_list, periods_text
from .scores import scores_freq


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


def _series(panel: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if panel is None or panel.empty:
        return {}
    return {d: g.sort_values("period") for d, g in panel.groupby("dyad", sort=False)}


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
    start = periods.shift(as_of, -(lookback - 1), freq)
    h = history[(history["period"] >= start) & (history["period"] <= as_of)]
    recent_n = max(1, lookback // 4)
    recent_start = periods.shift(as_of, -(recent_n - 1), freq)
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
    lower, upper = finite(r.get("lower")), finite(r.get("upper"))
    backed = finite(r.get("interval_n"))
    why = ("no backtest of this model" if lower is None or upper is None else
           "no past forecast of this model near this level" if backed == 0 else "")
    return {"h": h, "p": float(r["probability"]), "lower": lower, "upper": upper, "band": not why, "no_band": why,
            "change": change(r.get("change")),
            "rank": None if pd.isna(r.get("rank")) else int(r["rank"]),
            "insufficient": r.get("coverage") == "insufficient"}


def prepare(scores: pd.DataFrame, panel: pd.DataFrame | None, top: int, lookback: int = 12) -> dict[str, Any]:
    """Everything the templates show about the latest as_of: rows, relationships, detail picks, units."""
    s = scores.copy()
    s["as_of"] = pd.to_datetime(s["as_of"])
    freq = scores_freq(scores, panel)
    horizons = sorted(int(h) for h in s["horizon"].unique())
    as_of = s["as_of"].max()
    s = s[s["as_of"] == as_of]
    series = _series(panel)
    rows = sorted((_row(dyad, g.set_index(s.loc[g.index, "horizon"].astype(int)), horizons, series.get(dyad), as_of)
                   for dyad, g in s.groupby("dyad", sort=False)), key=_order)
    for r in rows:
        _bars(r)
    directed = any(">" in r["dyad"] for r in rows)
    relations = _relationships(rows, series, as_of, freq, lookback, directed)
    detail = _detail(relations, top)
    for r in detail:
        hist = series.get(r["dyad"])
        r["chart"] = Markup(charts.series_chart(hist, as_of)) if hist is not None else ""
    cutoff = pd.to_datetime(s["data_cutoff"]).max() if "data_cutoff" in s else as_of
    versions = sorted({r["model_version"] for r in rows})
    return {"rows": rows, "relations": relations, "detail": detail, "horizons": horizons, "primary": horizons[0],
            "as_of": as_of.date(), "data_cutoff": cutoff.date() if pd.notna(cutoff) else "unknown",
            "model_versions": versions, "freq": freq, "directed": directed, "lookback": lookback,
            "unit": {h: periods_text(h, freq) for h in horizons}, "lookback_text": periods_text(lookback, freq),
            "unit_one": period_words(freq)[0], "unit_many": period_words(freq)[1],
            "split": any(r["trend"] != "unknown" for r in relations)}


def _row(dyad: str, g: pd.DataFrame, horizons: list[int], hist: pd.DataFrame | None, as_of: pd.Timestamp) -> dict[str, Any]:
    """One dyad's watchlist row from its scores (indexed by horizon); the first horizon leads."""
    first = g.loc[horizons[0]] if horizons[0] in g.index else g.iloc[0]
    cells = [_cell(g.loc[h], h) if h in g.index else None for h in horizons]
    values = []
    if hist is not None:
        values = hist[hist["period"] <= as_of].tail(52)["hostile_intensity"].tolist() if "hostile_intensity" in hist else []
    region = first.get("region", "")
    region = "" if region is None or pd.isna(region) else str(region)
    return {
        "dyad": str(dyad), "name": _dyad_name(first["source"], first["target"], dyad),
        "source": str(first["source"]), "target": str(first["target"]),
        "region": region, "region_label": region_label(first["source"], first["target"], region),
        "coverage": str(first.get("coverage", "ok")),
        "rank": None if pd.isna(first.get("rank")) else int(first["rank"]),
        "region_rank": None if pd.isna(first.get("region_rank")) else int(first["region_rank"]),
        "p": float(first["probability"]), "cells": cells,
        "spark": Markup(charts.sparkline(values)) if values else "",
        "drivers": json_list(first.get("drivers")), "evidence": json_list(first.get("evidence")),
        "method": str(first.get("drivers_method", "")), "logit": first.get("logit"),
        "model_version": str(first.get("model_version", "")),
    }


def _bars(r: dict[str, Any]) -> None:
    """Driver bar direction and width (relative to the row's biggest driver) and evidence links, in place."""
    for d in r["drivers"]:
        d["pos"] = float(d.get("contribution", 0.0)) > 0
        d["named"] = not str(d.get("feature", "")).startswith("(")
    biggest = max((abs(float(d.get("contribution", 0.0))) for d in r["drivers"]
                   if d.get("feature") != "(baseline)"), default=0.0) or 1.0
    for d in r["drivers"]:
        d["width"] = min(100.0, abs(float(d.get("contribution", 0.0))) / biggest * 100)
    for e in r["evidence"]:
        e["href"] = href(e.get("source_ref", ""))


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


def region_sections(rows: list[dict[str, Any]], regions: Mapping[str, Sequence[str]] | None) -> list[tuple[str, list]]:
    """One (region, relationships) section per configured region, else per region named in the scores."""
    names = list(regions or {}) or sorted({r["region"] for r in rows if r["region"]})
    out = []
    for name in names:
        members = set((regions or {}).get(name, ()))
        inside = [r for r in rows if r["region"] == name or (members and r["source"] in members and r["target"] in members)]
        out.append((name, inside))
    return out
