"""CLI commands for the panel stage: ``tension panel``."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import typer

from ...errors import UsageError, problem
from .. import app
from .._common import EngineOpt, SchedulerOpt, JsonOpt, StoreOpt, emit, parse_date, progress, store_path


@app.command()
def panel(
    store: str | None = StoreOpt,
    freq: str = typer.Option("W", "--freq", help="Period: D (day), W (ISO week, Monday), M (month)."),
    dyads: str = typer.Option("directed", "--dyads", help="directed (ARM>AZE) or undirected (ARM|AZE)."),
    out: Path = typer.Option(Path("data/panel.parquet"), "--out", help="Output file: .parquet or .csv."),
    start: str | None = typer.Option(None, "--start", help="First event date to use (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="Last event date to use (YYYY-MM-DD), e.g. an as-of date."),
    config: Path | None = typer.Option(None, "--config", help="Experiment TOML; its \\[panel] section sets lookback, monitored dyads, coverage rule."),
    engine: str = EngineOpt,
    scheduler: str | None = SchedulerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Build the dyad x period panel from the event store, with every registered feature.

    One row per dyad and period for the dyads active in the last 36 months (or monitored),
    with per-family counts, coverage columns (low_coverage flags source outages) and features.

    Example: [bold]tension panel --store data/store --freq M --dyads undirected --out data/panel.parquet[/bold]
    """
    from ..._io import atomic_output, writable_folder
    from ...config import load_experiment
    from ...features import FEATURES
    from ...engines import get_engine

    freq = freq.upper()
    start, end = parse_date(start, "--start"), parse_date(end, "--end")
    if start and end:
        if pd.Timestamp(end) < pd.Timestamp(start):
            raise UsageError(problem("--end is before --start.", "start <= end", f"--start {start} --end {end}",
                                     f"Swap them: --start {end} --end {start}."))
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise UsageError(problem("Unknown output format.", "a .parquet or .csv file", str(out), "Use --out data/panel.parquet."))
    writable_folder(out.parent, "panel")
    exp = load_experiment(config, panel__freq=freq, panel__dyads=dyads)
    location = store_path(store or (exp.store or None))
    if not Path(location).exists() and "://" not in location:
        raise UsageError(problem("The event store does not exist.", "a folder made by 'tension ingest'", location, "Run tension ingest FILE --store DIR first, or pass --store."))
    started = time.perf_counter()
    steps = ("aggregate", "country pass", "features")
    with progress("Aggregating events", total=len(steps) + 1) as advance:
        nxt = {"aggregate": "Country pass", "country pass": f"{len(FEATURES)} features", "features": "Writing"}
        with get_engine(engine, scheduler) as eng:
            frame = eng.build_panel(
                location, freq=freq, dyads=dyads, config=exp.panel, start=start, end=end,
                regions=exp.regions, on_progress=lambda name: advance(1, description=nxt.get(name, name)),
            )
        with atomic_output(out, "panel") as tmp:
            if suffix == ".parquet":
                frame.to_parquet(tmp, index=False)
            else:
                frame.to_csv(tmp, index=False)
        advance(1, description="Done")
    payload = {
        "out": str(out),
        "engine": engine,
        "rows": len(frame),
        "dyads": int(frame["dyad"].nunique()),
        "periods": int(frame["period"].nunique()),
        "first_period": frame["period"].min() if len(frame) else None,
        "last_period": frame["period"].max() if len(frame) else None,
        "freq": freq,
        "dyad_kind": dyads,
        "features": len(frame.attrs.get("features", [])),
        "low_coverage_periods": int(frame.loc[frame["low_coverage"], "period"].nunique()),
        "seconds": round(time.perf_counter() - started, 3),
    }
    emit(
        payload,
        as_json,
        lines=[
            f"Wrote {payload['rows']} rows ({payload['dyads']} dyads x {payload['periods']} periods, "
            f"{payload['features']} features) to {out} in {payload['seconds']} s.",
            f"{payload['low_coverage_periods']} period(s) flagged low_coverage (source volume collapsed).",
        ],
    )
