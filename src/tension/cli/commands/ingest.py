"""CLI commands for the ingest stage: ``tension ingest`` and ``tension store retract|compact|info``."""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ...errors import QuarantinedRowsError, TensionError, problem
from ..._io import writable_folder
from .. import app
from .._common import JsonOpt, StoreOpt, console, dict_table, emit, progress, store_path

store_app = typer.Typer(help="Maintain the event store: list batches, retract a bad delivery, merge small files.", no_args_is_help=True)
app.add_typer(store_app, name="store")


def _share(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def _rows(report: Any) -> list[dict[str, Any]]:
    out = []
    for r in [*report.files, report.total]:
        out.append(
            {
                "file": escape(os.path.basename(r.file)) if r.file != "total" else "TOTAL",
                "format": r.format,
                "read": r.read,
                "stored": r.stored,
                "duplicates": r.duplicates,
                "quarantined": r.quarantined,
                "by reason": ", ".join(f"{k} {v}" for k, v in r.quarantined_by_reason.items()) or "-",
                "unresolved actors": f"{len(r.unresolved)} ({r.unresolved_events} events)",
                "two-country": _share(r.dyad_share),
            }
        )
    return out


@app.command()
def ingest(
    paths: list[str] = typer.Argument(..., help="Event files or folders (local paths or URLs; .gz/.zip read directly)."),
    format: str = typer.Option("auto", "--format", help="auto, icews, icews-kg, gdelt1, gdelt2, acled, polecat, csv or jsonl."),
    store: str | None = StoreOpt,
    strict: bool = typer.Option(False, "--strict", help="Exit with code 6 when any row was quarantined (the good rows are still stored)."),
    config: Path | None = typer.Option(None, "--config", help="Experiment TOML whose \\[csv] section maps the columns of csv/jsonl files."),
    as_json: bool = JsonOpt,
) -> None:
    """Read event files into the canonical event store, with duplicates counted and bad rows quarantined.

    All files go in as one batch, committed at the end: an interrupted run changes nothing.
    Prints per file and in total: read, stored, duplicates, quarantined (per reason),
    unresolved actors and the share of stored events that form a two-country dyad.
    A damaged file (truncated or mislabelled .gz/.zip/.bz2) or a file read with the wrong
    format (almost every row quarantined while another format reads it) stops the run
    with exit 2 and commits nothing. Symbolic-link loops in folders are skipped with a warning.

    Example: [bold]tension ingest data/raw/icews14.tsv --store data/store[/bold]
    """
    from ...config import load_experiment
    from ...ingest import ingest as run_ingest
    from ...ingest import input_bytes
    from ...store import Store

    mapping = load_experiment(config).csv if config is not None else None
    location = store_path(store)
    if "://" not in location:
        writable_folder(Path(location), "event store", create=False)
    target = Store(location)
    started = time.perf_counter()
    try:
        with progress("Ingesting", total=input_bytes(paths) or None) as advance:
            report = run_ingest(paths, target, format=format, mapping=mapping, on_progress=lambda n, name: advance(n, description=name))
    except TensionError as exc:
        if as_json:
            emit({"error": str(exc), "exit_code": exc.exit_code, "committed": False}, as_json)
        raise
    payload = report.as_dict()
    payload["seconds"] = round(time.perf_counter() - started, 3)
    payload["strict"] = strict
    payload["exit_code"] = 6 if strict and report.total.quarantined else 0
    for item in report.skipped:  # a warning: stderr, also under --json
        console.print(f"[yellow]warning:[/yellow] skipped {escape(item['path'])}: {escape(item['reason'])}")
    emit(payload, as_json, table=dict_table("Ingest summary", _rows(report)), lines=_summary_lines(report))
    if strict and report.total.quarantined:
        raise QuarantinedRowsError(
            problem(
                f"{report.total.quarantined} rows were quarantined and --strict was given.",
                "no quarantined rows",
                report.total.quarantined_by_reason,
                f"The good rows are stored in batch {report.batch_id}; retract it with `tension store retract {report.batch_id}` if the delivery is bad.",
            )
        )


def _summary_lines(report: Any) -> list[str]:
    """The batch, the row balance, the most frequent unresolved actors and where quarantined rows are."""
    lines = [
        f"Batch [bold]{report.batch_id}[/bold] committed to {escape(report.store)} (digest {report.digest}).",
        f"read {report.total.read} = stored {report.total.stored} + duplicates {report.total.duplicates}"
        f" + quarantined {report.total.quarantined}",
    ]
    if report.total.unresolved:
        top = ", ".join(f"{escape(a)} ({n})" for a, n in report.total.unresolved.most_common(8))
        lines.append(f"Most frequent unresolved actors (stored with empty country): {top}")
    if report.total.quarantined:
        lines.append("Quarantined rows: `tension store info` lists them per reason; files under <store>/quarantine/.")
    return lines


@store_app.command("info")
def store_info(
    store: str | None = StoreOpt,
    quarantine: int = typer.Option(0, "--quarantine", help="Also list this many quarantined rows."),
    as_json: bool = JsonOpt,
) -> None:
    """Show the store: events, date range, digest, batches and quarantine counts.

    Example: [bold]tension store info --store data/store[/bold]
    """
    from ...store import Store

    target = Store(store_path(store))
    target.require_store("show the store")
    summary = target.summary()
    batches = target.batches()
    payload: dict[str, Any] = {**summary, "batch_list": batches.to_dict("records")}
    if quarantine:
        payload["quarantine_rows"] = target.quarantine().head(quarantine).to_dict("records")
    lines = [
        f"{summary['events']} events, {summary['first_date']} .. {summary['last_date']}, {summary['files']} files, "
        f"digest {summary['digest']}, schema v{summary['schema_version']}",
        f"quarantined by reason: {summary['quarantined_by_reason'] or 'none'}",
        f"read == stored + duplicates + quarantined: {'holds' if summary['identity_holds'] else 'BROKEN'}",
    ]
    if summary["out_of_range_events"]:
        lines.append(f"{summary['out_of_range_events']} stored events are dated outside the valid range and are left "
                     "out of reads; retract their batch and re-ingest it to quarantine them with a reason.")
    for row in payload.get("quarantine_rows", []):
        lines.append(escape(f"  {row['source_file']}:{row['source_line']} {row['reason']}: {str(row['raw'])[:120]}"))
    rows = batches.drop(columns=["sources"]).to_dict("records")
    emit(payload, as_json, table=dict_table("Batches", rows), lines=lines)


@store_app.command("retract")
def store_retract(
    batch_id: str = typer.Argument(..., help="The batch to remove (see `tension store info`)."),
    store: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove one ingested batch (a bad delivery): its events and its quarantined rows.

    Example: [bold]tension store retract 20250101T120000Z-a1b2c3[/bold]
    """
    from ...store import Store

    target = Store(store_path(store))
    target.require_store("retract a batch")
    impact = target.retract_impact(batch_id)
    with progress("Retracting", total=1) as advance:
        removed = target.retract(batch_id)
        advance(1)
    payload = {"batch_id": batch_id, "events_removed": removed, "digest": target.digest, "reingest": impact}
    lines = [f"Retracted {batch_id}: {removed} events removed."]
    for item in impact:
        lines.append(
            f"Batch {item['batch_id']} counted {item['rows']} rows as duplicates of it; re-ingest "
            f"{escape(', '.join(item['sources'])) or 'its files'} to store them."
        )
    emit(payload, as_json, lines=lines)


@store_app.command("compact")
def store_compact(
    store: str | None = StoreOpt,
    empty_trash: bool = typer.Option(False, "--empty-trash", help="Also delete everything in the store's trash/ now "
                                     "(otherwise trash older than 30 days is deleted)."),
    as_json: bool = JsonOpt,
) -> None:
    """Merge each month's small files into one; move files no manifest names to the store's trash/.

    Only a folder that proves it is an event store is touched (exit 2 otherwise, nothing changed).
    Orphans (the store's own files no manifest names) go to <store>/trash/<date>/ and are deleted
    30 days later, or at once with --empty-trash.

    Example: [bold]tension store compact --store data/store[/bold]
    """
    from ...store import Store

    target = Store(store_path(store))
    target.require_store("compact")
    with progress("Compacting", total=1) as advance:
        out = target.compact(empty_trash=empty_trash)
        advance(1)
    out["digest"] = target.digest
    lines = [f"{out['files_before']} -> {out['files_after']} files; {out['orphans_removed']} orphan files moved to "
             f"{escape(str(out['trash'] or 'the trash'))}; {out['trash_files_deleted']} trashed files deleted "
             f"(kept {out['trash_retention_days']} days)."]
    emit(out, as_json, lines=lines)
