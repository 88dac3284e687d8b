"""Render the scores table (plus panel, ledger, model card, data health) for analysts.

HTML is one self-contained file: inline CSS, inline SVG charts, no script, no external
resource, and a Content-Security-Policy meta tag that forbids loading anything
(``default-src 'none'``). Every piece of text goes through Jinja2 autoescaping; only SVG
built here from numbers is marked safe. Links to sources are shown only for http(s)
references. Markdown, CSV and JSON carry the same table for other tools.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from .._io import atomic_output
from ..errors import UsageError, did_you_mean, problem
from .formatting import num, pct
from .markdown import markdown
from .panels import card_panel, health_panel, skill_lines, timeline, track_record
from .scores import neutralise_formulas, scores_json
from .watchlist import prepare, region_sections

__all__ = ["render_report", "render_timeline", "FORMATS", "CSP"]

FORMATS: tuple[str, ...] = ("html", "md", "csv", "json")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
"""The Content-Security-Policy of every HTML page: nothing may be loaded, no script may run."""


def _env() -> Environment:
    env = Environment(loader=PackageLoader("tension.reports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = pct
    env.filters["num"] = num
    return env


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
        return _write(neutralise_formulas(scores).to_csv(index=False, date_format="%Y-%m-%d"), out)
    if format == "json":
        return _write(scores_json(scores), out)
    ctx = prepare(scores, panel, top, lookback)
    if format == "md":
        return _write(markdown(ctx, title, region), out)
    ctx.update({
        "title": title, "csp": CSP, "region": region, "watch_max": watch_max,
        "sections": [] if region else region_sections(ctx["relations"], regions),
        "model": card_panel(model_card, ctx["model_versions"]),
        "skill": skill_lines(model_card, ctx["freq"]), "thresholds": dict(thresholds or {"[alerts] threshold": threshold}),
        "health": health_panel(health, scores, events, panel, ctx["freq"], lookback),
        "track": track_record(ledger, threshold), "timeline": timeline(examples), "generated": _now(),
    })
    return _write(_env().get_template("report.html.j2").render(**ctx), out)


def render_timeline(examples: pd.DataFrame, out: str | Path | None = None,
                    title: str = "Evidence timeline: hand-coded examples") -> Path | str:
    """A page listing recorded events in date order, with sources; it makes no risk claim."""
    return _write(_env().get_template("timeline.html.j2").render(title=title, csp=CSP, timeline=timeline(examples),
                                                                 generated=_now()), out)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _write(text: str, out: str | Path | None) -> Path | str:
    """The text itself, or written atomically to ``out`` and its path."""
    if out is None:
        return text
    with atomic_output(out, "report") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)


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
