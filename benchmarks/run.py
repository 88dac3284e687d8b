"""The benchmark suite: one command, every speed figure the README quotes.

Usage::

    .venv/bin/python benchmarks/run.py                       # 1M, 3M, 10M events (heavy: ~30-60 min on 2 cores)
    .venv/bin/python benchmarks/run.py --sizes 1e6,3e6       # chosen sizes
    .venv/bin/python benchmarks/run.py --quick               # 100k and 300k events, a smoke run of every part
    .venv/bin/python benchmarks/run.py --only panel,dask     # some parts only
    .venv/bin/python benchmarks/run.py --only ingest --sizes 1e6 --merge   # rerun one part at one size into results.json
    .venv/bin/python benchmarks/run.py --sizes 1e7 --plan    # print what would run and its memory estimate, run nothing

Only the sizes asked for are run, whatever ``--merge`` keeps from earlier runs. Before each
measurement its peak memory is estimated (:func:`estimate_mb`) and compared with the
memory available at that moment (``MemAvailable``); a measurement that would not fit is
refused with a message and the command exits non-zero (2 when refused before anything
ran, 3 when refused later because memory became scarce; the figures measured so far are
kept).

Parts (each measurement runs in its own subprocess; its peak resident memory is read
from the kernel with ``os.wait4``, which covers that process and the children it waited for):

- ``ingest``  ingest throughput per size (``bench_ingest.py``: a GDELT 2.0 export through
  the real ``tension ingest`` command into an empty local store);
- ``panel``   weekly directed panel with every feature vs the bare DuckDB ``GROUP BY``
  over the same Parquet files, per size (``bench_panel.py``);
- ``scoring`` ``tension.scoring.score`` latency for >= 10,000 dyads, per size (``bench_scale.py``);
- ``backtest`` and ``retrain`` wall time at 1M events (the smallest size when 1M is not run);
- ``dask``    panel build on the Dask engine (``LocalCluster``, 2 worker processes) vs the
  local engine at 10M events (the largest size run).

Prints a table, writes ``benchmarks/results/results.json`` and then
``benchmarks/results/PERFORMANCE.md`` (``readme_section.py``). Targets checked: time per
event at the largest size within 1.3x of that at 1M for panel build and scoring; Dask
within 1.3x of local. The machine is shared, so every figure is stored with the load
average at the time; a missed target is printed as missed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results" / "results.json"
WORK = Path(os.environ.get("TENSION_BENCH_DIR", "/tmp/tension-bench"))
PARTS = ("panel", "scoring", "dask", "backtest", "retrain", "ingest")
PER_SIZE = ("ingest", "panel", "scoring")  # run at every size; backtest/retrain at the smallest (1M), dask at the largest
TARGET_RATIO = 1.3
MEMORY_MARGIN = 1.5
# Peak RSS (MB) per measurement as (fixed, per million events), from results.json on this machine
# (2 cores, 23.5 GB): panel 2.0-2.6 GB measure + ~0.3 GB/M generation in this process; scoring
# 4.0 GB at 1M, 6.9 GB at 10M; dask driver 2.8 GB + 2 workers x 1.5 GB at 10M; backtest 1.1 GB
# and retrain 1.0 GB at 1M. Ingest has its own estimate (bench_ingest.estimate_mb).
MEMORY_MODEL_MB: dict[str, tuple[float, float]] = {
    "panel": (2000.0, 370.0),
    "scoring": (3700.0, 330.0),
    "dask": (2500.0, 330.0),
    "backtest": (800.0, 400.0),
    "retrain": (800.0, 400.0),
}


def parse_sizes(text: str) -> list[int]:
    """``"1e6,3e6,1e7"`` -> ``[1000000, 3000000, 10000000]``."""
    sizes = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        value = float(part[:-1]) * {"k": 1e3, "m": 1e6}[part[-1].lower()] if part[-1].lower() in "km" else float(part)
        if value < 1000:
            raise SystemExit(f"--sizes: {part!r} is too small; use at least 1000 events (e.g. 1e6).")
        sizes.append(int(value))
    if not sizes:
        raise SystemExit("--sizes: give at least one size, e.g. --sizes 1e6,3e6,1e7.")
    return sorted(set(sizes))


def estimate_mb(part: str, size: int) -> float:
    """Peak memory (MB) a measurement of ``part`` at ``size`` events needs, with a ``MEMORY_MARGIN`` margin."""
    if part == "ingest":
        import bench_ingest

        return bench_ingest.estimate_mb(size)
    fixed, per_million = MEMORY_MODEL_MB[part]
    return MEMORY_MARGIN * (fixed + per_million * size / 1e6)


def available_mb() -> float:
    """Memory available now (``MemAvailable``), in MB."""
    import bench_ingest

    return bench_ingest.available_mb()


def make_plan(parts: list[str], sizes: list[int]) -> list[tuple[str, int]]:
    """(part, size) in run order: per-size parts at every size, backtest/retrain at 1M (else the smallest), dask at the largest."""
    small = 1_000_000 if 1_000_000 in sizes else sizes[0]
    large = sizes[-1]
    plan: list[tuple[str, int]] = []
    for part in PARTS:
        if part not in parts:
            continue
        if part in PER_SIZE:
            plan += [(part, n) for n in sizes]
        elif part in ("backtest", "retrain"):
            plan.append((part, small))
        else:
            plan.append((part, large))
    return plan


def memory_refusal(part: str, size: int, available: float) -> str | None:
    """The refusal message when ``part`` at ``size`` would not fit in ``available`` MB, else ``None``."""
    need = estimate_mb(part, size)
    if need <= available:
        return None
    return (f"refused: {part} at {size:,} events needs about {need / 1024:.1f} GB (estimate with a {MEMORY_MARGIN}x margin) "
            f"but only {available / 1024:.1f} GB is available now. Run smaller --sizes, free memory, "
            "or pass --skip-memory-check if you know better.")


def run_child(cmd: list[str], log: Path) -> tuple[int, str, float, float]:
    """Run ``cmd``; return (exit code, stdout, wall seconds, peak RSS in MB of it and its waited-for children)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path = log.with_suffix(".out")
    with open(out_path, "wb") as out, open(log, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, "COLUMNS": "100"})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    return os.waitstatus_to_exitcode(status), out_path.read_text(), wall, usage.ru_maxrss / 1024.0


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    return json.loads(text)


def _failure(name: str, code: int, log: Path) -> dict[str, Any]:
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
    return {"error": f"{name} exited with {code}", "log": str(log), "stderr_tail": tail}


# --------------------------------------------------------------------------- parts


def part_ingest(size: int, work: Path) -> dict[str, Any]:
    import bench_ingest

    keep = work / f"ingest_{size}"
    try:
        result = bench_ingest.run(size, keep)
    except SystemExit as exc:  # the owner's benchmark reports a failed ingest this way
        return {"error": str(exc)[:1500]}
    finally:
        for p in (keep / "20240515120000.export.CSV",):
            p.unlink(missing_ok=True)  # several GB at 10M; the store stays for inspection
    return result


def part_panel(size: int, work: Path) -> dict[str, Any]:
    import bench_panel

    data_dir = bench_panel.DATA / f"events_{size}"
    if not (data_dir / "meta.json").exists():
        bench_panel.generate(size, data_dir)
    log = work / "logs" / f"panel_{size}.err"
    code, out, wall, peak = run_child([sys.executable, str(HERE / "bench_panel.py"), "--measure", str(data_dir), "--repeat", "1"], log)
    if code != 0:
        return _failure("bench_panel.py --measure", code, log)
    result = _last_json(out)
    result["peak_rss_mb"] = round(peak, 1)
    result["seconds_per_million_events"] = round(result["panel_seconds"] / result["events"] * 1e6, 4)
    return result


def _scale(name: str, size: int, work: Path) -> dict[str, Any]:
    log = work / "logs" / f"{name}_{size}.err"
    code, out, wall, peak = run_child([sys.executable, str(HERE / "bench_scale.py"), name, str(size), str(work)], log)
    if code != 0:
        return _failure(f"bench_scale.py {name}", code, log)
    result = _last_json(out)
    result["peak_rss_mb"] = round(peak, 1)
    result["subprocess_seconds"] = round(wall, 1)
    return result


def part_scoring(size: int, work: Path) -> dict[str, Any]:
    return _scale("scoring", size, work)


def part_backtest(size: int, work: Path) -> dict[str, Any]:
    return _scale("backtest", size, work)


def part_dask(size: int, work: Path) -> dict[str, Any]:
    return _scale("dask", size, work)


def part_retrain(size: int, work: Path) -> dict[str, Any]:
    import bench_scale

    cmd, meta, job = bench_scale.retrain_command(size, work)
    log = work / "logs" / f"retrain_{size}.err"
    load = round(os.getloadavg()[0], 2)
    code, out, wall, peak = run_child(cmd, log)
    result: dict[str, Any] = {"events": meta["events"], "command": " ".join(cmd[1:]), "exit_code": code,
                              "retrain_seconds": round(wall, 2), "peak_rss_mb": round(peak, 1), "load_average": load}
    try:
        report = _last_json(out)
        result["steps"] = [{k: s.get(k) for k in ("step", "status", "seconds")} for s in report.get("steps", [])]
        result["summary"] = report.get("summary")
    except (json.JSONDecodeError, ValueError):
        result["stderr_tail"] = log.read_text(errors="replace")[-1500:]
    if code not in (0, 3):
        result["error"] = f"tension retrain exited with {code}"
        result["stderr_tail"] = log.read_text(errors="replace")[-1500:]
    return result


PART_FUNCS: dict[str, Callable[[int, Path], dict[str, Any]]] = {
    "ingest": part_ingest, "panel": part_panel, "scoring": part_scoring,
    "backtest": part_backtest, "retrain": part_retrain, "dask": part_dask,
}


# --------------------------------------------------------------------------- summary


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, Python and library versions."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        ram_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        ram_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    versions = {}
    for pkg in ("tension", "numpy", "pandas", "pyarrow", "duckdb", "scikit-learn", "dask", "distributed", "mlflow"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    commit = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"cores": os.cpu_count(), "ram_gb": ram_gb, "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions, "git_commit": commit or None}


def _per_event_ratio(rows: list[dict[str, Any]], key: str, small: int, large: int) -> dict[str, Any] | None:
    by = {r["size"]: r for r in rows if "error" not in r and key in r}
    if small not in by or large not in by or small == large:
        return None
    a = by[small][key] / by[small]["events"]
    b = by[large][key] / by[large]["events"]
    ratio = b / a
    return {"small": small, "large": large, "per_event_ratio": round(ratio, 3), "target": TARGET_RATIO, "met": ratio <= TARGET_RATIO}


def targets(results: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
    """The "Done when" checks of issue 8, computed from the measurements."""
    small = 1_000_000 if 1_000_000 in sizes else sizes[0]
    large = sizes[-1]
    out: dict[str, Any] = {
        "panel_time_per_event": _per_event_ratio(results.get("panel", []), "panel_seconds", small, large),
        "scoring_time_per_event": _per_event_ratio(results.get("scoring", []), "score_seconds", small, large),
    }
    dask = results.get("dask") or {}
    if "ratio_dask_to_local" in dask:
        out["dask_vs_local"] = {"size": dask.get("size"), "ratio": dask["ratio_dask_to_local"], "target": TARGET_RATIO,
                                "met": dask["ratio_dask_to_local"] <= TARGET_RATIO}
    else:
        out["dask_vs_local"] = None
    return out


def _fmt_mb(mb: Any) -> str:
    return f"{mb / 1024:.2f} GB" if isinstance(mb, (int, float)) else "-"


def table_rows(payload: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(measurement, size, time, throughput or ratio, peak memory) rows for the printed/markdown table."""
    rows: list[tuple[str, str, str, str, str]] = []
    res = payload["results"]
    for r in res.get("ingest", []):
        if "error" in r:
            rows.append(("ingest", f"{r['size']:,}", "failed", r["error"][:60], "-"))
            continue
        rows.append(("ingest (GDELT 2.0 file -> store)", f"{r['rows_in_file']:,}", f"{r['wall_seconds_end_to_end']:.1f} s",
                     f"{r['events_per_second_end_to_end']:,} events/s", _fmt_mb(r.get("peak_rss_mb"))))
    for r in res.get("panel", []):
        if "error" in r:
            rows.append(("panel", f"{r['size']:,}", "failed", r["error"][:60], "-"))
            continue
        rows.append(("bare DuckDB GROUP BY", f"{r['events']:,}", f"{r['bare_seconds']:.2f} s", "", _fmt_mb(r.get("peak_rss_mb_after_bare"))))
        floor = f"; floor {r['floor_ratio']:.1f}x" if "floor_ratio" in r else ""
        rows.append(("panel + all features (local)", f"{r['events']:,}", f"{r['panel_seconds']:.2f} s",
                     f"{r['ratio']:.1f}x bare{floor}; {r['seconds_per_million_events']:.2f} s per 1M events", _fmt_mb(r.get("peak_rss_mb"))))
    for r in res.get("scoring", []):
        if "error" in r:
            rows.append(("scoring", f"{r['size']:,}", "failed", r["error"][:60], "-"))
            continue
        rows.append((f"score {r['dyads_scored']:,} dyads", f"{r['events']:,}", f"{r['score_seconds']:.2f} s",
                     f"{r['ms_per_dyad']:.2f} ms per dyad", _fmt_mb(r.get("peak_rss_mb"))))
    r = res.get("backtest")
    if r:
        rows.append(("backtest (3 models, 26 origins)", f"{r.get('events', r.get('size', 0)):,}",
                     f"{r['backtest_seconds']:.1f} s" if "backtest_seconds" in r else "failed",
                     f"{r.get('fits', '-')} fits" if "error" not in r else r["error"][:60], _fmt_mb(r.get("peak_rss_mb"))))
    r = res.get("retrain")
    if r:
        rows.append(("tension retrain (job)", f"{r.get('events', 0):,}", f"{r['retrain_seconds']:.1f} s",
                     f"exit {r['exit_code']}", _fmt_mb(r.get("peak_rss_mb"))))
    r = res.get("dask")
    if r:
        if "error" in r:
            rows.append(("dask engine", f"{r['size']:,}", "failed", r["error"][:60], "-"))
        else:
            rows.append(("panel, local engine", f"{r['events']:,}", f"{r['local_seconds']:.1f} s", "", _fmt_mb(r.get("peak_rss_mb_driver_local_build"))))
            workers = r.get("peak_rss_mb_workers", {})
            rows.append((f"panel, Dask engine ({r['workers']} workers)", f"{r['events']:,}", f"{r['dask_seconds']:.1f} s",
                         f"{r['ratio_dask_to_local']:.2f}x local (+{r['cluster_start_seconds']:.0f} s cluster start)",
                         f"{_fmt_mb(r.get('peak_rss_mb_driver'))} + workers {', '.join(_fmt_mb(v) for v in workers.values())}"))
    return rows


def print_table(payload: dict[str, Any]) -> None:
    rows = [("measurement", "events", "time", "throughput / ratio", "peak memory"), *table_rows(payload)]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for name, t in payload["targets"].items():
        if t is None:
            print(f"{name}: not measured (needs the sizes / parts it compares)")
        elif "per_event_ratio" in t:
            print(f"{name}: {t['per_event_ratio']:.2f}x per event at {t['large']:,} vs {t['small']:,} (target <= {t['target']}) -> {'met' if t['met'] else 'MISSED'}")
        else:
            print(f"{name}: {t['ratio']:.2f}x (target <= {t['target']}) -> {'met' if t['met'] else 'MISSED'}")


def build_parser() -> argparse.ArgumentParser:
    """The command line (every option is documented in ``--help``)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=("parts: ingest, panel and scoring run at every size; backtest and retrain at 1M events (the smallest\n"
                "size when 1M is not among --sizes); dask at the largest size. Only the sizes given are run.\n"
                "Before each measurement its memory need is estimated; one that would not fit in the memory\n"
                "available is refused (exit 2 before anything ran, 3 later). See benchmarks/README.md."))
    parser.add_argument("--sizes", default=None,
                        help="Comma-separated event counts to run, e.g. 1e6,3e6,1e7 or 300k,1M (default 1e6,3e6,1e7; "
                             "--quick: 1e5,3e5). Every part honours it.")
    parser.add_argument("--quick", action="store_true", help="Small sizes (1e5,3e5) unless --sizes is given: a smoke run of every part.")
    parser.add_argument("--only", default=",".join(PARTS), help=f"Comma-separated parts to run (default all: {','.join(PARTS)}).")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"Where to write the JSON results (default {RESULTS.relative_to(HERE.parent)}).")
    parser.add_argument("--merge", action="store_true",
                        help="Keep the results already in --out and replace only the measurements run now (for "
                             "ingest/panel/scoring only the sizes run; the sizes recorded become the union; only --sizes are run).")
    parser.add_argument("--plan", action="store_true", help="Print what would run and each memory estimate, then exit.")
    parser.add_argument("--skip-memory-check", action="store_true",
                        help="Run even when a measurement's estimated memory exceeds the memory available (risks the OOM killer).")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = parse_sizes(args.sizes or ("1e5,3e5" if args.quick else "1e6,3e6,1e7"))
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise SystemExit(f"--only: unknown part(s) {unknown}; choose from {', '.join(PARTS)}.")
    plan = make_plan(parts, sizes)
    available = available_mb()
    if args.plan:
        for part, n in plan:
            print(f"{part:9s} {n:>12,} events  needs ~{estimate_mb(part, n) / 1024:5.1f} GB")
        print(f"available now: {available / 1024:.1f} GB")
        return 0
    if not args.skip_memory_check:
        refusals = [m for part, n in plan if (m := memory_refusal(part, n, available))]
        if refusals:
            print("\n".join(refusals), file=sys.stderr)
            print("Nothing was run.", file=sys.stderr)
            return 2
    work = WORK
    work.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {"suite": "tension benchmarks (benchmarks/run.py)", "argv": sys.argv[1:], "sizes": sizes,
                               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
                               "load_average_start": os.getloadavg(), "results": {}}
    if args.merge and args.out.exists():
        previous = json.loads(args.out.read_text())
        payload["results"] = {k: v for k, v in previous.get("results", {}).items() if k not in parts or k in PER_SIZE}
        payload["sizes"] = sorted(set(previous.get("sizes", [])) | set(sizes))  # recorded; only `sizes` are run
        payload["merged_into"] = {"started": previous.get("started"), "argv": previous.get("argv"),
                                  "load_average_start": previous.get("load_average_start")}
    recorded = payload["sizes"]
    res = payload["results"]
    refused = 0
    for part, n in plan:
        print(f"[{time.strftime('%H:%M:%S')}] {part} at {n:,} events ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        refusal = None if args.skip_memory_check else memory_refusal(part, n, available_mb())
        if refusal:  # memory became scarce since the start (other work on the machine)
            refused += 1
            result = {"error": refusal}
        else:
            try:
                result = PART_FUNCS[part](n, work)
            except Exception as exc:  # noqa: BLE001 - one failed part must not lose the others' figures
                result = {"error": f"{type(exc).__name__}: {exc}"[:1500]}
        result = {"size": n, **result, "part_seconds": round(time.perf_counter() - t0, 1)}
        if "error" in result:
            print(f"    failed: {result['error'][:300]}", file=sys.stderr, flush=True)
        if part in PER_SIZE:
            kept = [r for r in res.get(part, []) if r.get("size") != n]  # --merge: a rerun size replaces the old figure
            res[part] = sorted([*kept, result], key=lambda r: r.get("size", 0))
        else:
            res[part] = result
        payload["targets"] = targets(res, recorded)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")  # partial results survive an interrupt
    payload["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    payload["load_average_end"] = os.getloadavg()
    payload["targets"] = targets(res, recorded)
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print_table(payload)
    print(f"\nwrote {args.out}", file=sys.stderr)
    import readme_section

    md = readme_section.write(args.out)
    print(f"wrote {md}", file=sys.stderr)
    if refused:
        print(f"{refused} measurement(s) refused for lack of memory (see above).", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
