"""Measurements owned by the scale-out work: scoring latency, backtest, retrain, Dask vs local.

Each ``measure_*`` function runs inside a fresh subprocess started by ``benchmarks/run.py``
(which reads that subprocess's peak resident memory with ``os.wait4``) and returns a
JSON-able dict. Data:

- scoring: a synthetic world from :func:`tension.simulate.simulate` with enough countries
  that at least 10,000 directed dyads are in the panel at the scored period, scaled to the
  requested number of events; a logit model is fitted on the 8 weeks before the cutoff (not timed) and
  ``tension.scoring.score`` is timed for one horizon over every dyad at the last period.
- backtest / retrain: a simulated world of the requested size ingested into a local store
  (cached under the work folder); the backtest runs the base-rate, persistence and logit
  models over 26 weekly origins (refit every 4); retrain runs the real ``tension retrain``
  command (subprocess) against that store with an empty inbox.
- dask: the Parquet files of ``bench_panel.py`` (the same data as the panel benchmark);
  the weekly directed panel with every feature through the local engine and through the
  Dask engine on a ``LocalCluster`` of 2 worker processes (1 thread each); cluster start
  (and the workers' first import of tension) timed separately, before the local build.
  Besides wall time it records CPU seconds (the local build's process; the Dask driver and
  both workers) and the load average before each build: on a shared machine the CPU
  figures compare the engines' work, the wall ratio what a user waits.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SCORING_COUNTRIES = 440
"""Countries of the scoring world: about 10,500 active directed dyads at the last week."""
SCORING_YEARS = 3
WORLD_YEARS = 4
WORLD_COUNTRIES = 40


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _load() -> float:
    return round(os.getloadavg()[0], 2)


# --------------------------------------------------------------------------- scoring


def measure_scoring(size: int, workdir: Path, min_dyads: int = 10_000) -> dict[str, Any]:
    """Latency of ``score`` for every dyad (>= ``min_dyads``) at the last period of a world of ``size`` events."""
    from tension.backtest import fit_final
    from tension.models import make_model
    from tension.panel import build_panel
    from tension.scoring import score
    from tension.simulate import simulate

    t0 = time.perf_counter()
    world = simulate(seed=0, countries=SCORING_COUNTRIES, years=SCORING_YEARS, events=int(size))
    events = world.events
    n_events = len(events)
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    panel = build_panel(events, freq="W", dyads="directed")
    t_panel = time.perf_counter() - t0
    del world
    last = panel["period"].max()
    n_dyads = int((panel["period"] == last).sum())
    cutoff = last - pd.Timedelta(weeks=8)
    t0 = time.perf_counter()
    model, _info = fit_final(make_model("logit"), panel, cutoff, "W", horizon=4, train_start=cutoff - pd.Timedelta(weeks=8))
    t_fit = time.perf_counter() - t0
    recent = events[events["date"] >= last - pd.Timedelta(weeks=12)]
    load = _load()
    t0, c0 = time.perf_counter(), time.process_time()
    scores = score(model, panel, as_of=last, horizons=(4,), events=recent)
    latency, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "events": n_events,
        "countries": SCORING_COUNTRIES,
        "panel_rows": len(panel),
        "dyads_scored": int(len(scores)),
        "enough_dyads": n_dyads >= min_dyads,
        "score_seconds": round(latency, 3),
        "score_cpu_seconds": round(cpu, 3),
        "ms_per_dyad": round(1000 * latency / max(1, len(scores)), 3),
        "seconds_per_million_events": round(latency / n_events * 1e6, 4),
        "simulate_seconds": round(t_sim, 2),
        "panel_seconds": round(t_panel, 2),
        "fit_seconds": round(t_fit, 2),
        "load_average": load,
        "peak_rss_mb_self": round(_peak_mb(), 1),
    }


# --------------------------------------------------------------------------- backtest / retrain


def world_store(size: int, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """A local store holding a simulated world of about ``size`` events (cached in ``workdir``)."""
    from tension.simulate import simulate
    from tension.store import Store

    loc = workdir / f"world_{size}" / "store"
    meta_path = loc.parent / "meta.json"
    if meta_path.exists():
        return loc, json.loads(meta_path.read_text())
    t0 = time.perf_counter()
    world = simulate(seed=1, countries=WORLD_COUNTRIES, years=WORLD_YEARS, events=int(size))
    store = Store(str(loc))
    result = store.append(world.events)
    meta = {"events": int(result.stored), "first": str(world.events["date"].min().date()), "last": str(world.events["date"].max().date()),
            "countries": WORLD_COUNTRIES, "years": WORLD_YEARS, "seconds": round(time.perf_counter() - t0, 1)}
    meta_path.write_text(json.dumps(meta))
    return loc, meta


def measure_backtest(size: int, workdir: Path) -> dict[str, Any]:
    """Wall time of the panel build and a 26-origin weekly backtest (base rate, persistence, logit)."""
    from tension.backtest import BacktestSpec, run_backtest
    from tension.panel import build_panel

    loc, meta = world_store(size, workdir)
    t0 = time.perf_counter()
    panel = build_panel(str(loc), freq="W", dyads="directed")
    t_panel = time.perf_counter() - t0
    periods = pd.DatetimeIndex(sorted(pd.unique(panel["period"])))
    spec = BacktestSpec(periods[-40], periods[-15], freq="W", horizon=4, refit_every=4, min_train_periods=52)
    load = _load()
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_backtest(panel, spec, ["logit"])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "events": meta["events"],
        "panel_rows": len(panel),
        "panel_seconds": round(t_panel, 2),
        "origins": int(result.predictions["origin"].nunique()),
        "models": sorted(set(result.predictions["model"])),
        "fits": int(result.predictions["model"].nunique()) * -(-int(result.predictions["origin"].nunique()) // spec.refit_every),
        "predictions": len(result.predictions),
        "backtest_seconds": round(wall, 2),
        "backtest_cpu_seconds": round(cpu, 2),
        "load_average": load,
        "peak_rss_mb_self": round(_peak_mb(), 1),
    }


def retrain_command(size: int, workdir: Path) -> tuple[list[str], dict[str, Any], Path]:
    """The ``tension retrain`` command line (and its config) for the world store of ``size`` events."""
    loc, meta = world_store(size, workdir)
    job = workdir / f"retrain_{size}"
    (job / "inbox").mkdir(parents=True, exist_ok=True)
    last = pd.Timestamp(meta["last"])
    config = job / "retrain.toml"
    config.write_text(
        f'name = "bench-retrain"\nstore = "{loc}"\n\n'
        f'[panel]\nfreq = "W"\ndyads = "directed"\n\n'
        f'[models]\nnames = ["base_rate", "persistence", "logit"]\ncandidate = "logit"\n\n'
        f'[backtest]\nmin_train_periods = 52\n\n'
        f'[tracking]\nuri = "sqlite:///{job / "mlflow.db"}"\nexperiment = "bench"\n\n'
        f'[retrain]\ninbox = "{job / "inbox"}"\nas_of = "{(last + pd.Timedelta(days=7)).date()}"\n'
        f'lock = "{job / "retrain.lock"}"\nledger = "{job / "ledger"}"\nreports = "{job / "reports"}"\n'
    )
    tension = Path(sys.executable).parent / "tension"
    cmd = [str(tension) if tension.exists() else sys.executable, *([] if tension.exists() else ["-m", "tension.cli"]),
           "retrain", "--config", str(config), "--json"]
    return cmd, meta, job


# --------------------------------------------------------------------------- dask vs local


def measure_dask(size: int, workdir: Path, n_workers: int = 2) -> dict[str, Any]:
    """Weekly directed panel with every feature: local engine vs Dask engine (2 local worker processes)."""
    import bench_panel

    from tension.engines import DaskEngine, LocalEngine

    data_dir = bench_panel.DATA / f"events_{size}"
    if not (data_dir / "meta.json").exists():
        bench_panel.generate(size, data_dir)
    meta = json.loads((data_dir / "meta.json").read_text())
    files = bench_panel.ParquetFiles(meta["files"])

    def _cpu_seconds() -> float:  # nested: sent by value to the workers by client.run
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    load = _load()
    t0 = time.perf_counter()
    engine = DaskEngine(n_workers=n_workers)  # before the local build, so workers start from a small process
    engine.client.run(lambda: __import__("tension.engines"))  # workers import the library once, as a long-lived cluster has
    t_start = time.perf_counter() - t0
    try:
        load_local = _load()
        t0, c0 = time.perf_counter(), time.process_time()
        local = LocalEngine().build_panel(files, freq="W", dyads="directed")
        t_local, cpu_local = time.perf_counter() - t0, time.process_time() - c0
        rows, dyads = len(local), int(local["dyad"].nunique())
        del local
        peak_local = _peak_mb()
        marks: dict[str, float] = {}
        load_dask = _load()
        workers_cpu0 = engine.client.run(_cpu_seconds)
        t0, c0 = time.perf_counter(), time.process_time()
        panel = engine.build_panel(files, freq="W", dyads="directed", on_progress=lambda name: marks.__setitem__(name, time.perf_counter()))
        t_dask, cpu_driver = time.perf_counter() - t0, time.process_time() - c0
        workers_cpu = sum(engine.client.run(_cpu_seconds)[w] - c for w, c in workers_cpu0.items())
        steps, prev = {}, t0
        for name, at in marks.items():
            steps[name] = round(at - prev, 2)
            prev = at
        same_rows = len(panel) == rows
        del panel
        workers_mb = engine.client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
        describe = engine.describe()
    finally:
        engine.close()
    return {
        "events": meta["events"],
        "panel_rows": rows,
        "dyads": dyads,
        "local_seconds": round(t_local, 2),
        "dask_seconds": round(t_dask, 2),
        "dask_steps_seconds": steps,
        "ratio_dask_to_local": round(t_dask / t_local, 2),
        "local_cpu_seconds": round(cpu_local, 2),
        "dask_cpu_seconds_driver": round(cpu_driver, 2),
        "dask_cpu_seconds_workers": round(workers_cpu, 2),
        "load_average_local": load_local,
        "load_average_dask": load_dask,
        "cluster_start_seconds": round(t_start, 2),
        "workers": describe.get("workers"),
        "threads": describe.get("threads"),
        "same_rows": same_rows,
        "load_average": load,
        "peak_rss_mb_driver_local_build": round(peak_local, 1),
        "peak_rss_mb_driver": round(_peak_mb(), 1),
        "peak_rss_mb_workers": {str(k): round(v, 1) for k, v in workers_mb.items()},
    }


MEASURES = {"scoring": measure_scoring, "backtest": measure_backtest, "dask": measure_dask}


def main(argv: list[str] | None = None) -> int:
    """Child entry point: ``bench_scale.py NAME SIZE WORKDIR`` prints one JSON line."""
    args = sys.argv[1:] if argv is None else argv
    name, size, workdir = args[0], int(float(args[1])), Path(args[2])
    workdir.mkdir(parents=True, exist_ok=True)
    result = MEASURES[name](size, workdir)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
