"""``tension ledger resolve`` and ``tension ledger report``: the forecast ledger's commands and options."""
from __future__ import annotations

from pathlib import Path

import typer

from ...config import load_experiment, project_data_dir
from ...errors import UsageError, problem
from .. import app
from .._common import JsonOpt, StoreOpt, console, dict_table, emit, progress, store_path

ConfigOpt = typer.Option(None, "--config", help="Experiment TOML (regions, tracking, target).")
LedgerOpt = typer.Option(None, "--ledger", help="Ledger folder (default ./data/ledger).")

ledger_app = typer.Typer(help="The forecast ledger: resolve issued forecasts, show the track record.",
                         no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


def ledger_path(opt: Path | None) -> Path:
    """The ledger folder: ``--ledger``, else ``./data/ledger`` of the project."""
    return opt or project_data_dir() / "ledger"


def check_store(location: str) -> None:
    """Refuse a local store folder that does not exist (exit 2) before anything is read."""
    if "://" not in location and not Path(location).exists():
        raise UsageError(problem("The event store does not exist.", "a folder made by `tension ingest`", location,
                                 "Run `tension ingest FILE` first, or pass --store."))


def _open_ledger(ledger: Path | None):  # noqa: ANN202 - tension.ledger.Ledger, imported lazily
    from ...ledger import Ledger

    book = Ledger(ledger_path(ledger))
    if not (book.path / "manifests").is_dir():
        raise UsageError(problem("The ledger is empty.", "forecasts issued with `tension score --issue`", str(book.path),
                                 "Issue scores first, or pass --ledger."))
    return book


@ledger_app.command("resolve")
def ledger_resolve(
    store: str | None = StoreOpt,
    config: Path | None = ConfigOpt,
    ledger: Path | None = LedgerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Append resolutions for issued forecasts whose window has passed (issued records are never rewritten).

    Example: [bold]tension ledger resolve --store data/store[/bold]
    """
    from ...panel import build_panel
    from ...targets import TargetSpec

    exp = load_experiment(config)
    book = _open_ledger(ledger)
    location = store_path(store or (exp.store or None))
    check_store(location)
    forecasts = book.forecasts()
    resolved = 0
    with progress("Resolving", total=len(forecasts.groupby("freq")) + 1) as advance:
        for freq, group in forecasts.groupby("freq"):
            dyads = "undirected" if group["dyad"].str.contains("|", regex=False).any() else "directed"
            panel = build_panel(location, freq=str(freq), dyads=dyads, config=exp.panel, regions=exp.regions)
            resolved += book.resolve(panel, target=TargetSpec.from_config(exp.target))
            advance(1)
        advance(1, description="Done")
    summary = book.summary()
    # "resolved" is what this run added; the ledger's cumulative count travels as "resolved_total"
    payload = {**summary, "resolved": resolved, "resolved_total": summary["resolved"], "ledger": str(book.path)}
    emit(payload, as_json,
         lines=[f"Resolved {resolved} forecast(s); {summary['open']} still open, {summary['resolved']} resolved in all."])


@ledger_app.command("report")
def ledger_report(
    ledger: Path | None = LedgerOpt,
    threshold: float | None = typer.Option(None, "--threshold", help="Alert threshold (default: the config's alerts.threshold)."),
    hindcasts: bool = typer.Option(False, "--include-hindcasts", help="Also score backfilled forecasts (never part of the official record)."),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The track record: Brier, log score, alert hits and misses by horizon and region, next to baselines.

    Example: [bold]tension ledger report --json[/bold]
    """
    exp = load_experiment(config)
    book = _open_ledger(ledger)
    t = exp.alerts.threshold if threshold is None else threshold
    record = book.track_record(threshold=t, include_hindcasts=hindcasts)
    rows = record.to_dict("records")
    summary = book.summary()
    emit({"ledger": str(book.path), "threshold": t, **summary, "track_record": rows}, as_json,
         table=dict_table("Track record (lower Brier / log score is better)", rows),
         lines=[f"{summary['issued']} issued, {summary['resolved']} resolved, {summary['open']} open"
                + ("" if rows else "; nothing resolved yet") + "."])
    console.print("Hindcasts are excluded." if not hindcasts else "Hindcasts included (not the official record).")
