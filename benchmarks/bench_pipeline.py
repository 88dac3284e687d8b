"""Scale benchmark: 10M to 100M events through the whole pipeline on one machine (issue 19).

One command::

    .venv/bin/python benchmarks/bench_pipeline.py --sizes 1e7,3e7,1e8            # every stage at each size
    .venv/bin/python benchmarks/bench_pipeline.py --sizes 1e6 --only write,score  # some stages only
    .venv/bin/python benchmarks/bench_pipeline.py --sizes 3e7 --only dask         # Dask, 4 GB workers, vs local

For each size it writes a store once (cached under ``$TENSION_BENCH_DIR/pipeline_<size>``,
default ``/tmp/tension-bench``) and then runs each stage in its own fresh child process,
one at a time:

- ``write``    the store, the fast way: the ingest benchmark's GDELT 2.0 generator
  (:func:`bench_ingest.chunk_table`, 63 countries, ~3,900 directed dyads, repeated and
  malformed rows) with its dates spread over three years (156 weeks) in date order, parsed by the GDELT
  reader (:func:`tension.ingest.gdelt.parse_v2`, :func:`tension.ingest.validate.finalize`)
  and appended through the store's own transaction (:meth:`tension.store.Store.batch`),
  one batch per 5M rows; no text file in between. ``read == stored + duplicates +
  quarantined`` is checked. The ingest *rate* is measured on a real 10M-row file by
  ``bench_ingest.py --rows 10000000``.
- ``panel``    :func:`tension.panel.build_panel` weekly, directed, every registered feature
  (the panel is saved for the backtest stage; saving is not timed).
- ``backtest`` :func:`tension.backtest.run_backtest` with base rate, persistence and logit
  over 26 weekly origins (refit every 4, 52 training weeks at least) on that panel.
- ``retrain``  the ``tension retrain`` job end to end (empty inbox; health gate, panel,
  gate backtest, train, promote, score, issue, report), in process.
- ``score``    ``tension score`` with the champion retrain registered (the challenger it trained
  when the gate promoted nothing).

Every stage forecasts the ``surge`` target (:data:`TARGET`).
- ``report``   ``tension report`` (HTML) of those scores.
- ``dask``     the ``panel`` stage's panel on the Dask engine, a ``LocalCluster`` of 2
  one-thread workers with ``memory_limit=4GB`` each, against the local engine in the same
  process: equal within the engines' tolerance (``tests/test_engines.py``), and the
  scheduler's record of worker restarts and removals, and what the workers spilled.

Peak memory is the child's own ``VmHWM`` (``/proc/self/status``, read at its end: the
stage alone, not the parent or other stages). Every figure carries the load average
before and after and the time. Results merge into ``benchmarks/results/pipeline.json``
(per stage and size); ``--render`` prints the README table from it. A stage is refused
when less than ``--min-free-gb`` (default 10) is available when it would start.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = Path(os.environ.get("TENSION_PIPELINE_RESULTS", HERE / "results" / "pipeline.json"))
WORK = Path(os.environ.get("TENSION_BENCH_DIR", "/tmp/tension-bench"))
STAGES = ("write", "panel", "backtest", "retrain", "score", "report")
PARTS = (*STAGES, "dask")
FIRST_DAY = np.datetime64("2021-05-17")  # a Monday
DAYS = 1092  # three years of whole weeks (156): 2021-05-17 .. 2024-05-12
LAST_DAY = FIRST_DAY + DAYS - 1
BATCH_ROWS = 5_000_000
"""Rows per store batch: a batch remembers its event ids (to count repeats), so this bounds the writer's memory."""
SOURCE = "generated:gdelt2"
TARGET = "surge"
"""The target every stage forecasts: a dyad's h-week count above its own 90% quantile. At these densities
(tens of events per dyad-week) ``any_material_conflict`` is 1 almost everywhere and nothing would be fitted."""


# --------------------------------------------------------------------------- measuring in the child


def vm_hwm_mb() -> float:
    """Peak resident memory of this process (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def folder(size: int) -> Path:
    return WORK / f"pipeline_{size}"


# --------------------------------------------------------------------------- the store


def _rows(table: Any, lo: int) -> Any:
    """The generator's 61 string columns as the GDELT reader's :class:`tension.ingest.text.Rows` (blank fields are nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from tension.ingest.gdelt import COLUMNS
    from tension.ingest.text import Rows

    cols = {}
    for i in COLUMNS:
        col = table.column(f"c{i}").combine_chunks()
        cols[f"c{i}"] = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
    n = table.num_rows

    def raw_of(idx: np.ndarray) -> list[str]:  # the fields read, tab-separated (the other columns were never made)
        return ["\t".join(str(v) for v in row.values()) for row in table.take(pa.array(idx)).to_pylist()]

    return Rows(table=pa.table(cols), line=np.arange(lo + 1, lo + n + 1), width=61, raw_of=raw_of, records=n)


def write_store(size: int, location: Path) -> dict[str, Any]:
    """Write ``size`` generated GDELT rows (ten years, date order) into a new store; returns the counts."""
    import bench_ingest
    import pandas as pd

    from tension.ingest.gdelt import COLUMNS, parse_v2
    from tension.ingest.validate import finalize
    from tension.store import Store

    store = Store(str(location))
    codes = bench_ingest.event_codes()
    bad = np.random.default_rng(0).choice(size, max(1, size // 100_000), replace=False)
    bad_dates = np.sort(bad[: len(bad) // 2])
    span = (FIRST_DAY, DAYS, size)
    totals = {"read": 0, "stored": 0, "duplicates": 0, "quarantined": 0}
    step = bench_ingest.CHUNK_ROWS
    for first in range(0, size, BATCH_ROWS):
        last = min(first + BATCH_ROWS, size)
        quarantine: list[tuple[int, str, str]] = []
        with store.batch(meta={"source_files": [SOURCE], "formats": ["gdelt2"]}) as tx:
            read = 0
            for lo in range(first, last, step):
                hi = min(lo + step, last)
                checked = finalize(parse_v2(_rows(bench_ingest.chunk_table(lo, hi, bad_dates, codes, 0, span, COLUMNS), lo)), SOURCE)
                stored, dups, _ = tx.append(checked.events)
                read += checked.records
                totals["stored"] += stored
                totals["duplicates"] += dups
                quarantine += checked.quarantine
            if quarantine:
                tx.add_quarantine(pd.DataFrame({"source_file": SOURCE, "source_line": pd.array([q[0] for q in quarantine], dtype="Int64"),
                                                "reason": [q[1] for q in quarantine], "raw": [q[2] for q in quarantine]}))
            tx.read = read
        totals["read"] += read
        totals["quarantined"] += len(quarantine)
        print(f"  wrote rows {first:,}..{last:,} ({time.strftime('%H:%M:%S')})", file=sys.stderr, flush=True)
    totals["identity_holds"] = totals["read"] == totals["stored"] + totals["duplicates"] + totals["quarantined"]
    totals["store_bytes"] = sum(p.stat().st_size for p in location.rglob("*.parquet"))
    return totals


# --------------------------------------------------------------------------- stages (each in its own child)


def _config(size: int) -> Path:
    """The experiment/retrain config of the stages that run commands (one per size)."""
    job = folder(size) / "job"
    (job / "inbox").mkdir(parents=True, exist_ok=True)
    as_of = LAST_DAY + 1  # the day after the last event: the last week is complete
    path = job / "tension.toml"
    path.write_text(
        f'name = "bench-pipeline"\nstore = "{folder(size) / "store"}"\n\n'
        f'[panel]\nfreq = "W"\ndyads = "directed"\n\n[target]\nname = "{TARGET}"\n\n'
        f'[models]\nnames = ["base_rate", "persistence", "logit"]\ncandidate = "logit"\n\n'
        f'[backtest]\nmin_train_periods = 52\n\n'
        f'[tracking]\nuri = "sqlite:///{job / "mlflow.db"}"\nexperiment = "bench"\n\n'
        f'[retrain]\ninbox = "{job / "inbox"}"\nas_of = "{as_of}"\n'
        f'lock = "{job / "retrain.lock"}"\nledger = "{job / "ledger"}"\nreports = "{job / "reports"}"\n'
    )
    return path


def _cli(argv: list[str]) -> dict[str, Any]:
    """Run ``tension ARGV --json`` in this process; its JSON result (stdout goes to this child's log)."""
    import io

    from tension.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main([*argv, "--json"])
    text = buf.getvalue()
    sys.stdout.write(text)
    if code != 0:
        raise SystemExit(f"tension {' '.join(argv)} exited with {code}")
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {}


def stage_write(size: int) -> dict[str, Any]:
    location = folder(size) / "store"
    if (folder(size) / "write.json").exists():  # written by an earlier run: its time is not measured now
        return {**json.loads((folder(size) / "write.json").read_text()), "cached": True}
    t0 = time.perf_counter()
    totals = write_store(size, location)
    totals["seconds"] = round(time.perf_counter() - t0, 1)
    (folder(size) / "write.json").write_text(json.dumps(totals))
    return totals


def stage_panel(size: int) -> dict[str, Any]:
    from tension.panel import build_panel

    t0 = time.perf_counter()
    panel = build_panel(str(folder(size) / "store"), freq="W", dyads="directed")
    seconds = time.perf_counter() - t0
    out = {"seconds": round(seconds, 2), "rows": len(panel), "dyads": int(panel["dyad"].nunique()),
           "periods": int(panel["period"].nunique()), "columns": panel.shape[1],
           "panel_mb": round(panel.memory_usage(deep=True).sum() / 2**20, 1)}
    panel.to_parquet(folder(size) / "panel.parquet")
    (folder(size) / "panel_attrs.json").write_text(json.dumps(panel.attrs, default=str))
    return out


def _saved_panel(size: int) -> Any:
    import pandas as pd

    panel = pd.read_parquet(folder(size) / "panel.parquet")
    panel.attrs = json.loads((folder(size) / "panel_attrs.json").read_text())
    return panel


def stage_backtest(size: int) -> dict[str, Any]:
    import pandas as pd

    from tension.backtest import BacktestSpec, run_backtest

    panel = _saved_panel(size)
    loaded_mb = vm_hwm_mb()
    periods = pd.DatetimeIndex(sorted(pd.unique(panel["period"])))
    spec = BacktestSpec(periods[-40], periods[-15], freq="W", horizon=4, refit_every=4, min_train_periods=52)
    t0 = time.perf_counter()
    result = run_backtest(panel, spec, ["logit"], target=TARGET)
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 2), "origins": int(result.predictions["origin"].nunique()),
            "models": sorted(set(result.predictions["model"])), "predictions": len(result.predictions),
            "panel_rows": len(panel), "peak_mb_after_loading_panel": round(loaded_mb, 1)}


def stage_retrain(size: int) -> dict[str, Any]:
    config = _config(size)
    t0 = time.perf_counter()
    out = _cli(["retrain", "--config", str(config)])
    return {"seconds": round(time.perf_counter() - t0, 2), "summary": out.get("summary"),
            "steps": {s.get("name"): s.get("seconds") for s in out.get("steps", []) if isinstance(s, dict)}}


def stage_score(size: int) -> dict[str, Any]:
    config = _config(size)
    job = config.parent
    t0 = time.perf_counter()
    args = ["score", "--config", str(config), "--out", str(job / "scores.parquet"), "--ledger", str(job / "ledger")]
    try:
        out = _cli(args)  # the champion
    except SystemExit:  # the gate promoted nothing (no model beat history): the version retrain trained
        t0 = time.perf_counter()
        out = _cli([*args, "--model", "models:/tension@challenger"])
    return {"seconds": round(time.perf_counter() - t0, 2), "dyads": out.get("dyads"), "as_of": out.get("as_of"),
            "model_version": out.get("model_version")}


def stage_report(size: int) -> dict[str, Any]:
    config = _config(size)
    job = config.parent
    t0 = time.perf_counter()
    out = _cli(["report", "--config", str(config), "--scores", str(job / "scores.parquet"), "--ledger", str(job / "ledger"),
                "--out", str(job / "report.html")])
    return {"seconds": round(time.perf_counter() - t0, 2), "dyads": out.get("dyads"),
            "html_bytes": (job / "report.html").stat().st_size if (job / "report.html").exists() else None}


def _scheduler_record(client: Any) -> dict[str, Any]:
    """The scheduler's own log (topic ``all``): workers added and removed; a restarted worker is removed and added again."""
    events = [msg for _, msg in client.get_events("all") if isinstance(msg, dict)]
    actions = [e.get("action") for e in events]
    return {"workers": sorted(client.scheduler_info()["workers"]), "workers_added": actions.count("add-worker"),
            "workers_removed": actions.count("remove-worker"),
            "removed_worker_events": [e for e in events if e.get("action") == "remove-worker"][:10]}


def _worker_record(dask_worker: Any) -> dict[str, Any]:  # runs on each worker (client.run)
    data = dask_worker.data
    spilled = getattr(data, "spilled_total", None)
    return {"pid": os.getpid(), "memory_limit": dask_worker.memory_manager.memory_limit,
            "spilled_bytes_memory": getattr(spilled, "memory", None), "spilled_bytes_disk": getattr(spilled, "disk", None),
            "peak_mb": round(vm_hwm_mb(), 1)}


def stage_dask(size: int, memory_limit: str = "4GB") -> dict[str, Any]:
    import pandas as pd

    from tension.engines import DaskEngine, LocalEngine

    store = str(folder(size) / "store")
    t0 = time.perf_counter()
    engine = DaskEngine(n_workers=2, memory_limit=memory_limit)
    start_s = time.perf_counter() - t0
    try:
        before = engine.client.run(_worker_record)
        load_dask = load()
        t0 = time.perf_counter()
        dask = engine.build_panel(store, freq="W", dyads="directed")
        dask_s = time.perf_counter() - t0
        after = engine.client.run(_worker_record)
        sched = _scheduler_record(engine.client)
    finally:
        engine.close()
    driver_peak_dask = vm_hwm_mb()
    load_local = load()
    t0 = time.perf_counter()
    local = LocalEngine().build_panel(store, freq="W", dyads="directed")
    local_s = time.perf_counter() - t0
    equal, why = True, ""
    try:
        assert list(local.columns) == list(dask.columns) and local.dtypes.equals(dask.dtypes) and local.attrs == dask.attrs
        pd.testing.assert_frame_equal(local, dask, check_exact=False, rtol=1e-9, atol=0.0)
    except AssertionError as exc:
        equal, why = False, str(exc)[:500]
    same_workers = sorted(before) == sorted(after) and all(before[w]["pid"] == after[w]["pid"] for w in before)
    return {"seconds": round(dask_s, 2), "local_seconds": round(local_s, 2), "cluster_start_seconds": round(start_s, 2),
            "rows": len(local), "equal_to_local": equal, "difference": why, "memory_limit": memory_limit,
            "workers_same_pids_before_after": same_workers, "scheduler": sched, "workers_after": after,
            "restarts": sched["workers_removed"] + max(0, sched["workers_added"] - 2) + (0 if same_workers else 1),
            "load_average_dask": load_dask, "load_average_local": load_local, "driver_peak_mb_after_dask": round(driver_peak_dask, 1)}


RUN = {"write": stage_write, "panel": stage_panel, "backtest": stage_backtest, "retrain": stage_retrain, "score": stage_score,
       "report": stage_report, "dask": stage_dask}


def child(stage: str, size: int, out: Path) -> int:
    """Run one stage in this (fresh) process and write its figures, with this process's VmHWM, to ``out``."""
    folder(size).mkdir(parents=True, exist_ok=True)
    os.chdir(_config(size).parent)  # commands' default data folders go beside the job
    before, c0, t0 = load(), cpu_seconds(), time.perf_counter()
    result = RUN[stage](size)
    result.update({"stage": stage, "size": size, "wall_seconds_child": round(time.perf_counter() - t0, 2),
                   "cpu_seconds": round(cpu_seconds() - c0, 1), "peak_mb": round(vm_hwm_mb(), 1),
                   "load_before": before, "load_after": load(), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    out.write_text(json.dumps(result, default=str))
    return 0


# --------------------------------------------------------------------------- the parent


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(float(p)) for p in text.split(",") if p.strip()})
    if not sizes or sizes[0] < 1000:
        raise SystemExit("--sizes: give sizes of at least 1000 events, e.g. --sizes 1e7,3e7,1e8.")
    return sizes


def available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def machine() -> dict[str, Any]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), "")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    return {"cpus": os.cpu_count(), "cpu": cpu, "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version(), "git": commit}


def save(result: dict[str, Any]) -> None:
    payload = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"results": []}
    payload["results"] = [r for r in payload["results"] if (r.get("stage"), r.get("size")) != (result["stage"], result["size"])]
    payload["results"].append(result)
    payload["results"].sort(key=lambda r: (PARTS.index(r["stage"]) if r["stage"] in PARTS else 99, r["size"]))
    payload["machine"] = machine()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=1, default=str) + "\n")


def run_stage(stage: str, size: int, min_free_gb: float) -> dict[str, Any]:
    free = available_gb()
    if free < min_free_gb:
        return {"stage": stage, "size": size, "error": f"refused: {free:.1f} GB available, --min-free-gb {min_free_gb}"}
    logs = folder(size) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out = logs / f"{stage}.json"
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with open(logs / f"{stage}.log", "wb") as log:
        code = subprocess.run([sys.executable, __file__, "--child", stage, "--size", str(size), "--out", str(out)],
                              stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    if code != 0 or not out.exists():
        tail = (logs / f"{stage}.log").read_text(errors="replace")[-2000:]
        return {"stage": stage, "size": size, "error": f"exit {code}", "log": str(logs / f"{stage}.log"), "tail": tail}
    result = json.loads(out.read_text())
    result["wall_seconds_parent"] = round(time.perf_counter() - t0, 2)
    result["available_gb_before"] = round(free, 1)
    return result


def render() -> str:
    """The README table from ``results/pipeline.json``: one row per stage and size."""
    payload = json.loads(RESULTS.read_text())
    rows = ["| stage | events | wall s | wall s per 1M events | CPU s | peak (VmHWM) | load (1 min) before | finished (UTC) |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in payload["results"]:
        if r.get("cached"):
            continue  # a store reused from an earlier run: nothing was measured
        if "error" in r:
            rows.append(f"| {r['stage']} | {r['size']:,} | failed: {r['error']} | | | | | |")
            continue
        per = r["seconds"] / r["size"] * 1e6
        rows.append(f"| {r['stage']} | {r['size']:,} | {r['seconds']:,.1f} | {per:.2f} | {r['cpu_seconds']:,.0f} | {r['peak_mb'] / 1024:.2f} GB | "
                    f"{r['load_before'][0]} | {r['finished'][11:16]} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Example: .venv/bin/python benchmarks/bench_pipeline.py --sizes 1e7,3e7,1e8")
    parser.add_argument("--sizes", default="1e7,3e7,1e8", help="Event counts, comma-separated (default 1e7,3e7,1e8).")
    parser.add_argument("--only", default=",".join(STAGES), help=f"Parts to run, of {','.join(PARTS)} (default: every stage but dask).")
    parser.add_argument("--min-free-gb", type=float, default=10.0, help="Refuse a stage when less memory than this is available.")
    parser.add_argument("--render", action="store_true", help="Print the README table from results/pipeline.json and stop.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.size, args.out)
    if args.render:
        print(render())
        return 0
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise SystemExit(f"--only: unknown part(s) {unknown}; choose from {', '.join(PARTS)}.")
    failed = 0
    for size in parse_sizes(args.sizes):
        for stage in [p for p in PARTS if p in parts]:
            if stage != "write" and not (folder(size) / "write.json").exists():
                print(f"{stage} at {size:,}: skipped, no store yet (run --only write first)", file=sys.stderr)
                continue
            print(f"{stage} at {size:,} events ... ({time.strftime('%H:%M:%S')}, load {load()[0]})", file=sys.stderr, flush=True)
            result = run_stage(stage, size, args.min_free_gb)
            save(result)
            if "error" in result:
                failed += 1
                print(f"  FAILED: {result['error']}\n{result.get('tail', '')}", file=sys.stderr)
            else:
                print(f"  {result['seconds']} s, peak {result['peak_mb'] / 1024:.2f} GB, load {result['load_before'][0]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
