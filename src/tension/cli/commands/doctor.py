"""``tension doctor``: versions, tracking, store and ledger integrity, with what to do."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ...doctor import run_checks, targets
from ...errors import DataHealthError
from .. import app
from .._common import JsonOpt, StoreOpt, emit

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


@app.command()
def doctor(
    store: str = StoreOpt,
    ledger: Path = typer.Option(None, "--ledger", help="Ledger folder (default: the config's, else ./data/ledger)."),
    config: Path = typer.Option(None, "--config", help="A job's TOML (e.g. experiments/retrain.toml): check the store, "
                                "ledger and tracking URI it uses instead of the defaults."),
    constraints: Path = typer.Option(Path("constraints.txt"), "--constraints", help="Pinned versions to compare against."),
    json: bool = JsonOpt,
) -> None:
    """Check versions, the MLflow tracking store, the event store and the ledger (tamper evidence included).

    Looks where the defaults point ($TENSION_STORE, $MLFLOW_TRACKING_URI, ./data), or where a job's
    config points with --config; --store and --ledger override either. Says where it looked.
    Exits 0 when nothing failed, 3 when a store or ledger check failed, 5 when tracking is unreachable.

    Example: [bold]tension doctor --config experiments/retrain.toml[/bold]
    """
    where = targets(config, store, ledger)
    checks = run_checks(where.store, where.ledger, constraints, where.tracking_uri)
    failed = [c for c in checks if c.status == "fail"]
    table = Table(title="tension doctor")
    for col in ("check", "status", "found", "what to do"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status}[/]", c.detail, c.fix)
    lines = [f"Looked at store {escape(where.store)}, ledger {escape(str(where.ledger))}, tracking "
             f"{escape(where.tracking_uri)} (from {escape(where.source)}). Point elsewhere with --config, --store or --ledger."]
    emit({"ok": not failed, "looked_at": where.as_dict(), "checks": [c.as_dict() for c in checks]}, json, table=table,
         lines=lines)
    if failed:
        if all(c.name == "tracking" for c in failed):
            from ...errors import TrackingUnavailableError

            raise TrackingUnavailableError(failed[0].detail)
        raise DataHealthError(f"{len(failed)} check(s) failed: " + "; ".join(f"{c.name}: {c.fix}" for c in failed))
