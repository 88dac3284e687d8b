"""``tension report``: the scores rendered for analysts (HTML, Markdown, CSV or JSON)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from ...config import Experiment, load_experiment, project_data_dir
from ...errors import UsageError, problem
from .. import app
from .._common import JsonOpt, StoreOpt, emit, progress, store_path
from .ledger import ConfigOpt, LedgerOpt, ledger_path


def _latest_scores() -> Path:
    folder = project_data_dir() / "scores"
    files = sorted(folder.glob("scores-*.*"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not files:
        raise UsageError(problem("No scores to report.", "a file from `tension score`", str(folder),
                                 "Run `tension score` first, or pass --scores FILE."))
    return files[-1]


def _timeline(exp: Experiment, examples: Path | None, out: Path | None, as_json: bool) -> None:
    from ...ingest import read_events
    from ...reports import render_timeline

    if examples is None:
        raise UsageError(problem("--timeline needs the events to show.", "--examples FILE", None,
                                 "Use --examples data/examples/south_caucasus.csv --timeline."))
    sample = read_events(examples, mapping=exp.csv).events
    written = render_timeline(sample, out=out or project_data_dir() / "reports" / f"timeline-{examples.stem}.html")
    emit({"out": str(written), "events": len(sample), "risk_claim": False}, as_json,
         lines=[f"Wrote the evidence timeline of {len(sample)} events to {written} (no risk claim)."])


@app.command()
def report(
    scores: Path | None = typer.Option(None, "--scores", help="Scores file (default: the newest in data/scores/)."),
    region: str | None = typer.Option(None, "--region", help="Only this region (from the config's \\[regions])."),
    fmt: str = typer.Option("html", "--format", help="html (self-contained page), md, csv or json."),
    out: Path | None = typer.Option(None, "--out", help="Output file (default data/reports/report-<as_of>.<format>)."),
    examples: Path | None = typer.Option(None, "--examples", help="Hand-coded example events (CSV/JSONL): adds an evidence timeline (no risk claim)."),
    backtest: Path | None = typer.Option(None, "--backtest", help="Backtest predictions table for the model card's skill and reliability."),
    timeline: bool = typer.Option(False, "--timeline", help="Write only the evidence timeline page of --examples (no scores needed, no risk claim)."),
    store: str | None = StoreOpt,
    config: Path | None = ConfigOpt,
    ledger: Path | None = LedgerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Render the scores for analysts: ranked watchlist, top dyads, model card, data health, track record.

    The HTML file opens with no network: charts are inline SVG, a Content-Security-Policy forbids
    loading anything, and all text is escaped.

    --examples FILE adds an evidence timeline of hand-coded events (no risk claim); with --timeline
    only that page is written.

    Example: [bold]tension report --region "South Caucasus" --format html --out report.html[/bold]
    """
    from ...ingest import read_events
    from ...ledger import Ledger
    from ...reports import FORMATS, load_scores, render_report
    from ...usecases import report_inputs, report_settings

    if fmt not in FORMATS:
        render_report(pd.DataFrame({"x": [1]}), format=fmt)  # raises the helpful UsageError
    exp = load_experiment(config)
    if timeline:
        return _timeline(exp, examples, out, as_json)
    path = scores or _latest_scores()
    table = load_scores(path)
    as_of = pd.to_datetime(table["as_of"]).max()
    out = out or project_data_dir() / "reports" / f"report-{as_of.date()}.{fmt}"
    kwargs, book, sample = report_settings(exp), None, None
    with progress("Reading", total=2) as advance:
        if fmt in ("html", "md"):  # tables (csv, json) carry the scores alone
            kwargs = report_inputs(exp, table, store_path(store or (exp.store or None)), backtest=backtest).as_kwargs()
            book = Ledger(ledger_path(ledger)) if (ledger_path(ledger) / "manifests").is_dir() else None
            sample = read_events(examples, mapping=exp.csv).events if examples is not None else None
        advance(1, description="Rendering")
        written = render_report(table, **kwargs, ledger=book, region=region, examples=sample, format=fmt, out=out)
        advance(1, description="Done")
    payload = {"out": str(written), "format": fmt, "scores": str(path), "as_of": str(as_of.date()),
               "region": region, "dyads": int(table["dyad"].nunique()), "track_record": book is not None}
    emit(payload, as_json, lines=[f"Wrote the {fmt} report to {written}" + (f" (open it in a browser: file://{Path(written).resolve()})" if fmt == "html" else "") + "."])
