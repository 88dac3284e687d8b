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
    from ..._io import writable_folder
    from ...config import load_experiment
    from ...training import existing_store

    freq = freq.upper()
    start, end = _window(parse_date(start, "--start"), parse_date(end, "--end"))
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise UsageError(problem("Unknown output format.", "a .parquet or .csv file", str(out), "Use --out data/panel.parquet."))
    writable_folder(out.parent, "panel")
    exp = load_experiment(config, panel__freq=freq, panel__dyads=dyads)
    location = existing_store(store_path(store or (exp.store or None)))
    started = time.perf_counter()
    frame = _build(location, exp, out, freq=freq, dyads=dyads, start=start, end=end, engine=engine, scheduler=scheduler)
    payload = _summary(frame, out, engine, freq, dyads, time.perf_counter() - started)
    emit(
        payload,
        as_json,
        lines=[
            f"Wrote {payload['rows']} rows ({payload['dyads']} dyads x {payload['periods']} periods, "
            f"{payload['features']} features) to {out} in {payload['seconds']} s.",
            f"{payload['low_coverage_periods']} period(s) flagged low_coverage (source volume collapsed).",
        ],
    )


def _window(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """The event-date window, refused (exit 2) when it ends before it starts."""
    if start and end and pd.Timestamp(end) < pd.Timestamp(start):
        raise UsageError(problem("--end is before --start.", "start <= end", f"--start {start} --end {end}",
                                 f"Swap them: --start {end} --end {start}."))
    return start, end


def _build(location: str, exp, out: Path, *, freq: str, dyads: str, start: str | None, end: str | None, engine: str,
           scheduler: str | None) -> pd.DataFrame:
    """Build the panel on ``engine`` with a progress bar and write it to ``out`` (.parquet or .csv)."""
    from ..._io import atomic_output
    from ...engines import get_engine
    from ...features import FEATURES

    steps = ("aggregate", "country pass", "features")
    with progress("Aggregating events", total=len(steps) + 1) as advance:
        nxt = {"aggregate": "Country pass", "country pass": f"{len(FEATURES)} features", "features": "Writing"}
        with get_engine(engine, scheduler) as eng:
            frame = eng.build_panel(
                location, freq=freq, dyads=dyads, config=exp.panel, start=start, end=end,
                regions=exp.regions, on_progress=lambda name: advance(1, description=nxt.get(name, name)),
            )
        with atomic_output(out, "panel") as tmp:
            if out.suffix.lower() == ".parquet":
                frame.to_parquet(tmp, index=False)
            else:
                frame.to_csv(tmp, index=False)
        advance(1, description="Done")
    return frame


def _summary(frame: pd.DataFrame, out: Path, engine: str, freq: str, dyads: str, seconds: float) -> dict:
    return {
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
        "seconds": round(seconds, 3),
    }
