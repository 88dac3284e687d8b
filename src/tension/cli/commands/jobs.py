"""CLI commands for the jobs stage: ``tension fetch`` and ``tension retrain``."""
from __future__ import annotations

from pathlib import Path

import typer

from .. import app
from .._common import EngineOpt, SchedulerOpt, JsonOpt, dict_table, emit, parse_date, progress


@app.command()
def fetch(
    source: str = typer.Argument(..., metavar="SOURCE", help="Feed name: gdelt2 (GDELT 2.0 event exports) or gdelt2-translation."),
    since: str = typer.Option(..., "--since", help="First day (YYYY-MM-DD) of the files to download."),
    inbox: Path = typer.Option(..., "--inbox", help="Folder the files are downloaded into (ingest reads it)."),
    until: str | None = typer.Option(None, "--until", help="Last day (YYYY-MM-DD), default: everything listed."),
    list_url: str | None = typer.Option(None, "--list-url", help="Master file list URL (a mirror); default: the feed's own."),
    as_json: bool = JsonOpt,
) -> None:
    """Download a feed's new export files into an inbox: checked by size and MD5, resumable, never twice.

    Example: tension fetch gdelt2 --since 2024-05-01 --inbox data/inbox/gdelt2
    """
    from ...errors import DataHealthError, problem
    from ...fetch import fetch as run_fetch

    since = parse_date(since, "--since")
    until = parse_date(until, "--until")
    with progress(f"fetch {source}") as advance:
        report = run_fetch(source, since, inbox, list_url=list_url, until=until,
                           on_progress=lambda done, total, name: advance(1, description=f"fetch {name}", total=total))
    payload = report.to_dict()
    lines = [f"{report.selected} listed since {since}: {len(report.downloaded)} downloaded "
             f"({report.bytes} bytes, {report.resumed} resumed), {report.already} already in {inbox}, "
             f"{len(report.failed)} failed."]
    lines += [f"  [red]failed[/red] {f['name']}: {f['reason']}" for f in report.failed]
    emit(payload, as_json, lines=lines)
    if report.failed:
        raise DataHealthError(problem(
            f"{len(report.failed)} file(s) of {source} were not accepted.",
            "files matching the list's size and MD5",
            got=", ".join(f["name"] for f in report.failed[:5]),
            fix="Interrupted downloads resume on the next run; refused files are refetched from scratch.",
        ))


@app.command()
def retrain(
    config: Path = typer.Option(..., "--config", help="Experiment TOML with \\[retrain] and \\[alerts] sections."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for another running retrain before exiting 4."),
    as_of: str | None = typer.Option(None, "--as-of", help="Reference day (YYYY-MM-DD); default \\[retrain] as_of, else today."),
    store: str | None = typer.Option(None, "--store", help="Event store (default: config 'store', $TENSION_STORE, ./data/store)."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow (nothing is registered or promoted)."),
    engine: str = EngineOpt,
    scheduler: str | None = SchedulerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The scheduled job: fetch, ingest the inbox, gate, train, compare, promote, score, report, alert.

    One JSON line per step goes to stderr. Exit 3 when the data-health gate blocks, 4 when
    another retrain holds the lock, 5 when MLflow is unreachable.

    Example: tension retrain --config experiments/retrain.toml --wait 600
    """
    from ...config import load_experiment
    from ...jobs import retrain as run_retrain

    from ...errors import TensionError

    as_of = parse_date(as_of, "--as-of")
    experiment = load_experiment(config)
    try:
        report = run_retrain(experiment, config_path=config, wait=wait, as_of=as_of, store=store, track=not no_track,
                             engine=engine, scheduler=scheduler)
    except TensionError as exc:
        partial = getattr(exc, "report", None)
        if as_json and partial is not None:
            emit({**partial.to_dict(), "error": str(exc), "exit_code": exc.exit_code}, as_json)
        raise
    emit(report.to_dict(), as_json, table=dict_table("retrain steps", [
        {"step": s["step"], "status": s["status"], "seconds": s["seconds"]} for s in report.steps]),
        lines=[report.summary, f"champion: version {report.champion}" if report.champion else "no champion"])
