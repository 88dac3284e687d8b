"""What every command shares: options, output (human or ``--json``), progress bars."""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..config import default_store

console = Console(stderr=True)
"""Logs, summaries for humans and progress bars: always stderr, so ``--json`` stdout stays clean."""

StoreOpt = typer.Option(None, "--store", help="Event store folder or URL (default: $TENSION_STORE, else ./data/store).")
EngineOpt = typer.Option("local", "--engine", help="Where to run: local (this process) or dask (a Dask cluster).")
SchedulerOpt = typer.Option(None, "--scheduler", help="Existing Dask scheduler (tcp://host:8786); default with "
                            "--engine dask: a local cluster of 2 worker processes.")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object on stdout; logs and progress go to stderr.")


def store_path(store: str | None) -> str:
    """The store location from the option, the environment, or the project default."""
    return store or default_store()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    return value


def emit(payload: dict[str, Any], as_json: bool, table: Table | None = None, lines: list[str] | None = None) -> None:
    """Report a command's result: one JSON object on stdout, or a table/lines on stderr."""
    if as_json:
        typer.echo(json.dumps(_jsonable(payload), sort_keys=False))
        return
    if table is not None:
        console.print(table)
    for line in lines or []:
        console.print(line)


def dict_table(title: str, rows: list[dict[str, Any]]) -> Table:
    """A Rich table from a list of flat dicts (columns from the first row)."""
    table = Table(title=title)
    if not rows:
        return table
    for col in rows[0]:
        table.add_column(str(col))
    for row in rows:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()))
    return table


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Any]:
    """A progress bar on stderr; yields a callable ``advance(n=1, description=None)``."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: float = 1, description: str | None = None, total: float | None = None) -> None:
            kwargs: dict[str, Any] = {"advance": n}
            if description is not None:
                kwargs["description"] = description
            if total is not None:
                kwargs["total"] = total
            bar.update(task, **kwargs)

        yield advance
