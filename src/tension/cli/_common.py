"""What every command shares: options, output (human or ``--json``), progress bars."""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..config import default_store
from ..errors import UsageError, problem

_PIPE_WIDTH = 1000
"""Line width when output is not a terminal: paths, URLs and commands are never hard-wrapped."""


class _Console(Console):
    """A Rich console that wraps nothing when writing to a file or a pipe.

    Rich defaults to 80 columns off a terminal and would break a long path or a
    ``mlflow ui ...`` command in two; there, lines keep their full length.
    """

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)
        return size if self.is_terminal else ConsoleDimensions(max(size.width, _PIPE_WIDTH), size.height)

    @size.setter
    def size(self, value: tuple[int, int]) -> None:
        Console.size.fset(self, value)

    @property
    def soft_wrap(self) -> bool:
        return self._soft_wrap or not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        self._soft_wrap = value


console = _Console(stderr=True)
"""Logs and progress bars: always stderr, so stdout holds only results (tables, or one ``--json`` object)."""
results = _Console()
"""Result tables and summary lines for humans: stdout, so ``tension backtest > out.txt`` keeps them."""

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
    """Report a command's result on stdout: one JSON object, or a table and lines for humans."""
    if as_json:
        typer.echo(json.dumps(_jsonable(payload), sort_keys=False))
        return
    if table is not None:
        results.print(table)
    for line in lines or []:
        results.print(line)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MONTH = re.compile(r"\d{4}-\d{2}")


def parse_date(text: str | None, option: str, *, month: bool = False) -> str | None:
    """An ISO date from the command line (``YYYY-MM-DD``; also ``YYYY-MM`` when ``month``), else exit 2.

    Only ISO is accepted: ``01/02/2010`` could be 1 February or 2 January, so it is refused
    rather than guessed. Returns the text unchanged (``None`` passes through).
    """
    if text is None:
        return None
    value = text.strip()
    shapes = (_ISO_DAY, _ISO_MONTH) if month else (_ISO_DAY,)
    expected = "YYYY-MM-DD" + (" or YYYY-MM" if month else "")
    if any(rx.fullmatch(value) for rx in shapes):
        try:
            date.fromisoformat(value if len(value) == 10 else value + "-01")
            return value
        except ValueError:
            pass
    example = "2010-02-01"
    fix = f"Write the date as {expected}, e.g. {option} {example}"
    if re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}", value):
        a, b, y = (int(x) for x in re.split(r"[/.-]", value))
        reads = [f"{y}-{m:02d}-{d:02d}" for d, m in ((a, b), (b, a)) if 1 <= m <= 12 and 1 <= d <= 31]
        if reads:
            fix += " (" + " or ".join(f"{option} {r}" for r in dict.fromkeys(reads)) + ")"
    raise UsageError(problem(f"{option} is not an ISO date.", expected, text, fix + "."))


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


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Any]:
    """A progress bar on stderr with elapsed and remaining time; yields ``advance(n=1, description=None, total=None)``.

    Off a terminal (a log file, CI) a bar cannot redraw, so each new step is written as one
    line instead: ``[0:42 elapsed, ~1:10 left] 12/30 logit: origin 8/24``.
    """
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        speed_estimate_period=3600,  # the remaining time from the average pace so far, not the last few seconds
    ) as bar:
        task = bar.add_task(description, total=total)

        def log_line() -> None:
            t = bar.tasks[0]
            left = f", ~{_clock(t.time_remaining)} left" if t.time_remaining is not None and t.completed else ""
            count = f"{int(t.completed)}/{int(t.total)} " if t.total else ""
            console.print(f"[{_clock(t.elapsed or 0)} elapsed{left}] {count}{t.description}", markup=False,
                          highlight=False)

        def advance(n: float = 1, description: str | None = None, total: float | None = None) -> None:
            kwargs: dict[str, Any] = {"advance": n}
            if description is not None:
                kwargs["description"] = description
            if total is not None:
                kwargs["total"] = total
            bar.update(task, **kwargs)
            if description is not None and not console.is_terminal:
                log_line()

        yield advance
