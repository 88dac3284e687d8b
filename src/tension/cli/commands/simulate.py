"""CLI commands for the simulate stage."""
from __future__ import annotations

from pathlib import Path

import typer

from ..._io import writable_folder
from ...config import project_data_dir
from .. import app
from .._common import JsonOpt, dict_table, emit, parse_date, progress

_STEPS = 6  # progress notes sent by tension.simulate.simulate


def default_out(seed: int, control: bool) -> Path:
    """``./data/synthetic/world-<seed>[-control].csv`` of the current project."""
    return project_data_dir() / "synthetic" / f"world-{seed}{'-control' if control else ''}.csv"


@app.command()
def simulate(
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives byte-identical files."),
    countries: int = typer.Option(30, "--countries", help="Number of fictional countries (2-676)."),
    years: float = typer.Option(6.0, "--years", help="Years to simulate (weekly steps)."),
    control: bool = typer.Option(False, "--control", help="Control (null) world: same background and event counts, conflict and precursors on uniform dyads and weeks."),
    events: int | None = typer.Option(None, "--events", help="Approximate number of events (default: about 1.6 per dyad-week)."),
    start: str = typer.Option("2019-01-07", "--start", help="First day, YYYY-MM-DD (moved back to its Monday)."),
    out: Path | None = typer.Option(None, "--out", help="Events CSV to write (default ./data/synthetic/world-<seed>.csv)."),
    as_json: bool = JsonOpt,
) -> None:
    """Generate a synthetic world with known escalation episodes (everything in it is fictional).

    Writes the events as a generic CSV (ingest it with [bold]tension ingest --format csv[/bold]) and,
    beside it, the ground truth (<stem>.truth.csv), the countries and the relations.

    Example: [bold]tension simulate --seed 1 --out data/synthetic/world-1.csv[/bold]
    """
    from ...simulate import simulate as make_world
    from ...simulate import write_world

    start = parse_date(start, "--start")
    target = Path(out) if out is not None else default_out(seed, control)
    writable_folder(target.parent, "synthetic world")
    with progress("Simulating", total=_STEPS + 1) as advance:
        world = make_world(
            seed=seed, countries=countries, years=years, control=control, start=start, events=events,
            on_progress=lambda msg: advance(1, description=msg),
        )
        advance(0, description="writing CSV files")
        paths = write_world(world, target)
        advance(1, description="done")
    ev = world.events
    payload = {
        "seed": seed,
        "control": control,
        "countries": int(len(world.countries)),
        "dyads": int(2 * len(world.relations)),
        "rows": int(len(ev)),
        "duplicates": int(ev["event_id"].duplicated().sum()),
        "episodes": int(len(world.truth)),
        "outage_weeks": int(len(world.outages)),
        "first_date": ev["date"].min().date().isoformat() if len(ev) else None,
        "last_date": ev["date"].max().date().isoformat() if len(ev) else None,
        "files": {name: str(path) for name, path in paths.items()},
    }
    label = "control world (null: conflict placed uniformly)" if control else "world"
    table = dict_table(
        f"Synthetic {label}, seed {seed}",
        [{"what": k, "value": v} for k, v in payload.items() if k != "files"],
    )
    emit(
        payload,
        as_json,
        table=table,
        lines=[f"Events: {paths['events']}", f"Ground truth: {paths['truth']}",
               f"Next: tension ingest {paths['events']} --format csv"],
    )
