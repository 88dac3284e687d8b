"""``tension doctor``: versions, tracking, store and ledger integrity, with what to do."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ...config import project_data_dir
from ...doctor import run_checks
from ...errors import DataHealthError
from .. import app
from .._common import JsonOpt, StoreOpt, emit, store_path

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


@app.command()
def doctor(
    store: str = StoreOpt,
    ledger: Path = typer.Option(None, "--ledger", help="Ledger folder (default: ./data/ledger)."),
    constraints: Path = typer.Option(Path("constraints.txt"), "--constraints", help="Pinned versions to compare against."),
    json: bool = JsonOpt,
) -> None:
    """Check versions, the MLflow tracking store, the event store and the ledger.

    Exits 0 when nothing failed, 3 when a store or ledger check failed, 5 when tracking is unreachable.

    Example: [bold]tension doctor --store data/demo/store --ledger data/demo/ledger[/bold]
    """
    checks = run_checks(store_path(store), ledger or project_data_dir() / "ledger", constraints)
    failed = [c for c in checks if c.status == "fail"]
    table = Table(title="tension doctor")
    for col in ("check", "status", "found", "what to do"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status}[/]", c.detail, c.fix)
    emit({"ok": not failed, "checks": [c.as_dict() for c in checks]}, json, table=table)
    if failed:
        if all(c.name == "tracking" for c in failed):
            from ...errors import TrackingUnavailableError

            raise TrackingUnavailableError(failed[0].detail)
        raise DataHealthError(f"{len(failed)} check(s) failed: " + "; ".join(f"{c.name}: {c.fix}" for c in failed))
