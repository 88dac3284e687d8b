"""Benchmark: the weekly directed panel with every feature vs a bare DuckDB GROUP BY.

Synthetic world (a quick numpy generator, written as month-partitioned Parquet files
like the store's): 200 countries, about 5,000 active directed dyads over 10 years,
90% of events between two countries, 10% with one side an organisation or unknown.
For each size (default 1M, 3M, 10M events) a fresh subprocess runs, in one process:

1. the bare baseline: ``SELECT source, target, week, family, count(*) ... GROUP BY``
   over the same Parquet files, fetched as Arrow;
2. ``tension.panel.build_panel(files, freq="W", dyads="directed")`` with every
   registered feature;
3. a floor: the panel's own aggregation query alone plus the least feature and output
   work a panel of that size must do (see :func:`_floor`). When the floor is itself over
   2x the bare query, no build of these features can meet the target on this machine.

Each is timed ``--repeat`` times (best time kept). The ratio panel / bare is printed
(target <= 2) with the peak resident memory of the process (target <= 4 GB), and all
figures go to ``benchmarks/results/panel.json``.

Usage::

    .venv/bin/python benchmarks/bench_panel.py                 # 1M, 3M, 10M
    .venv/bin/python benchmarks/bench_panel.py --sizes 1000000 3000000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "panel.json"
DATA = Path(os.environ.get("TENSION_BENCH_DIR", "/tmp/tension-bench"))

N_COUNTRIES = 200
N_UNDIRECTED = 2600  # both directions of most pairs -> about 5,000 active directed dyads
START = np.datetime64("2015-01-05")
DAYS = 3647  # 10 years, whole weeks


def _codes() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CAMEO codes used by the generator, with root, quad class, Goldstein and family from the taxonomy."""
    from tension.taxonomy import cameo_table

    table = cameo_table()
    table = table[table["code"].str.len() == 3].reset_index(drop=True)
    # event mix roughly like ICEWS: statements and consultations dominate, material conflict is rare
    weight = np.where(table["quad_class"] == 1, 6.0, np.where(table["quad_class"] == 2, 2.0, np.where(table["quad_class"] == 3, 1.5, 0.6)))
    p = weight / weight.sum()
    return (
        table["code"].tolist(),
        table["root_code"].to_numpy(dtype=object),
        table["quad_class"].to_numpy(dtype=np.int8),
        table["goldstein"].to_numpy(dtype=np.float32),
        table["family"].to_numpy(dtype=object),
        p,
    )


def generate(n_events: int, out: Path, seed: int = 0) -> dict:
    """Write ``n_events`` synthetic events as Parquet files (one per month) under ``out``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tension.schema import EVENT_SCHEMA

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    countries = np.array(sorted({"".join(rng.choice(letters, 3)) for _ in range(2000)})[:N_COUNTRIES], dtype=object)
    orgs = np.array(["NATO", "CSTO", "EU", "UN", "AU"], dtype=object)
    a = rng.integers(0, N_COUNTRIES, 4 * N_UNDIRECTED)
    b = rng.integers(0, N_COUNTRIES, 4 * N_UNDIRECTED)
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], 1)[a != b], axis=0)
    pairs = pairs[rng.permutation(len(pairs))[:N_UNDIRECTED]]
    directed = np.concatenate([pairs, pairs[:, ::-1]])
    keep = rng.random(len(directed)) < 0.96
    directed = directed[keep]
    pair_w = rng.pareto(1.2, len(directed)) + 0.05
    pair_w /= pair_w.sum()
    codes, roots, quads, golds, fams, code_p = _codes()

    n_dyadic = int(n_events * 0.9)
    which = rng.choice(len(directed), n_dyadic, p=pair_w)
    src = countries[directed[which, 0]]
    tgt = countries[directed[which, 1]]
    n_other = n_events - n_dyadic
    one = countries[rng.integers(0, N_COUNTRIES, n_other)]
    other_kind = rng.random(n_other)
    src_country = np.concatenate([src, one])
    tgt_country = np.concatenate([tgt, np.where(other_kind < 0.5, "", countries[rng.integers(0, N_COUNTRIES, n_other)])])
    tgt_country[n_dyadic:][(other_kind >= 0.5) & (other_kind < 0.8)] = one[(other_kind >= 0.5) & (other_kind < 0.8)]  # domestic
    tgt_org = np.full(n_events, "", dtype=object)
    org_rows = np.arange(n_dyadic, n_events)[other_kind >= 0.8]
    tgt_org[org_rows] = orgs[rng.integers(0, len(orgs), len(org_rows))]
    tgt_country[org_rows] = ""
    days = rng.integers(0, DAYS, n_events)
    # two source outages: weeks where 95% of that week's events are missing
    for w in (150, 400):
        lost = (days // 7 == w) & (rng.random(n_events) < 0.95)
        days = np.where(lost, -1, days)
    live = days >= 0
    order = np.argsort(days[live], kind="stable")
    idx = np.flatnonzero(live)[order]
    code_i = rng.choice(len(codes), n_events, p=code_p)[idx]
    dates = (START + days[idx]).astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    table = pa.table(
        {
            "event_id": pa.array(np.char.add("e", idx.astype(str))),
            "date": pa.array(dates, type=pa.date32()),
            "source_country": pa.array(src_country[idx].astype(str)),
            "target_country": pa.array(tgt_country[idx].astype(str)),
            "target_org": pa.array(tgt_org[idx].astype(str)),
            "cameo_code": pa.array(np.array(codes, dtype=object)[code_i].astype(str)),
            "root_code": pa.array(roots[code_i].astype(str)),
            "quad_class": pa.array(quads[code_i], type=pa.int8()),
            "goldstein": pa.array(golds[code_i], type=pa.float32()),
            "family": pa.array(fams[code_i].astype(str)),
        }
    )
    for name in EVENT_SCHEMA.names:
        if name not in table.column_names:
            table = table.append_column(EVENT_SCHEMA.field(name), pa.nulls(len(table), EVENT_SCHEMA.field(name).type))
    table = table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
    bounds = np.flatnonzero(np.r_[True, months[1:] != months[:-1], True])
    files = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        path = out / f"month={str(months[lo])}.parquet"
        pq.write_table(table.slice(lo, hi - lo), path)
        files.append(str(path))
    meta = {"events": int(len(table)), "files": files, "countries": N_COUNTRIES, "directed_dyads": int(len(directed))}
    (out / "meta.json").write_text(json.dumps(meta))
    return meta


class ParquetFiles:
    """The part of the Store interface the panel reads: ``files()`` (plain Parquet here)."""

    is_local = True

    def __init__(self, files: list[str]):
        self._files = files

    def files(self, start=None, end=None) -> list[str]:  # noqa: ANN001 - Store signature
        return self._files


def _bare(files: list[str]) -> tuple[float, int]:
    import duckdb

    con = duckdb.connect()
    quoted = ", ".join(f"'{f}'" for f in files)
    sql = f"""
        SELECT source_country, target_country, date_trunc('week', date) AS week, family, count(*) AS n
        FROM read_parquet([{quoted}])
        WHERE source_country <> '' AND target_country <> '' AND source_country <> target_country
        GROUP BY ALL
    """
    t, c = time.perf_counter(), time.process_time()
    result = con.sql(sql).to_arrow_table()
    elapsed, cpu = time.perf_counter() - t, time.process_time() - c
    con.close()
    return elapsed, cpu, result.num_rows


def _floor(files: list[str], dyads: int, periods: int, cells: int, n_features: int, threads: int = 2) -> tuple[float, float]:
    """A lower bound on any panel of this size, in seconds: (aggregation, features and output).

    Aggregation: the panel's own DuckDB query alone (:func:`tension.dyads.count_table`, the
    least grouping that keeps what the features read: sides, period, code-set class, sums).
    Features and output: for each registered feature and each numeric base column only the
    cheapest causal builder there is (a 4-period window sum from one shared cumulative sum,
    on ``threads`` threads) written into one float32 output block, plus the dyad, source,
    target and period label columns. No country pass, dense arrays from long rows or real
    features: the real panel does strictly more.
    """
    import pandas as pd

    from tension.dyads import BASE_COLUMNS, count_table

    t = time.perf_counter()
    count_table(ParquetFiles(files), "W")
    aggregation = time.perf_counter() - t
    x = np.random.default_rng(0).poisson(0.3, (dyads, periods)).astype(np.float32)
    flat = np.arange(cells, dtype=np.int64)
    names = pd.array([f"D{i:05d}" for i in range(dyads)], dtype="str")
    t = time.perf_counter()
    cs = np.cumsum(x, axis=1)
    n_columns = n_features + len(BASE_COLUMNS) - 4  # every column but dyad, source, target, period
    block = np.empty((n_columns, cells), dtype=np.float32)

    def one(i: int) -> None:
        out = cs.copy()
        out[:, 4:] -= cs[:, :-4]
        np.take(out.reshape(-1), flat, out=block[i])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(n_columns)))
    d_idx = flat // periods
    labels = {k: pd.Series(names).take(d_idx).array for k in ("dyad", "source", "target")}
    labels["period"] = (np.datetime64("2015-01-05", "ns") + (flat % periods) * np.timedelta64(7, "D")).astype("datetime64[ns]")
    frame = pd.concat([pd.DataFrame(labels), pd.DataFrame(block.T, copy=False)], axis=1)
    output = time.perf_counter() - t
    del frame
    return aggregation, output


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(data_dir: Path, repeat: int) -> dict:
    """Run in a fresh process: bare GROUP BY and the full panel over the same files."""
    from tension.features import FEATURES
    from tension.panel import build_panel

    meta = json.loads((data_dir / "meta.json").read_text())
    files = meta["files"]
    bare_times, panel_times, bare_cpu, panel_cpu, steps = [], [], [], [], {}
    rows = groups = 0
    load_before = os.getloadavg()[0]
    for _ in range(repeat):
        elapsed, cpu, groups = _bare(files)
        bare_times.append(elapsed)
        bare_cpu.append(cpu)
    peak_after_bare = _peak_mb()
    for _ in range(repeat):
        marks = {}
        t, c = time.perf_counter(), time.process_time()
        panel = build_panel(ParquetFiles(files), freq="W", dyads="directed", on_progress=lambda name: marks.__setitem__(name, time.perf_counter()))
        panel_times.append(time.perf_counter() - t)
        panel_cpu.append(time.process_time() - c)
        if panel_times[-1] == min(panel_times):  # the steps of the best run
            prev = t
            for name, at in marks.items():
                steps[name] = round(at - prev, 3)
                prev = at
        rows = len(panel)
        n_dyads = int(panel["dyad"].nunique())
        n_periods = int(panel["period"].nunique())
        del panel
    floors = [_floor(files, n_dyads, n_periods, rows, len(FEATURES)) for _ in range(repeat)]
    agg_floor, out_floor = min(f[0] for f in floors), min(f[1] for f in floors)
    bare, full = min(bare_times), min(panel_times)
    return {
        "events": meta["events"],
        "countries": meta["countries"],
        "active_directed_dyads": n_dyads,
        "periods": n_periods,
        "panel_rows": rows,
        "features": len(FEATURES),
        "bare_groups": groups,
        "bare_seconds": round(bare, 3),
        "panel_seconds": round(full, 3),
        "panel_steps_seconds": steps,
        "ratio": round(full / bare, 2),
        "floor_aggregation_seconds": round(agg_floor, 3),
        "floor_features_output_seconds": round(out_floor, 3),
        "floor_ratio": round((agg_floor + out_floor) / bare, 2),
        "bare_cpu_seconds": round(min(bare_cpu), 3),
        "panel_cpu_seconds": round(min(panel_cpu), 3),
        "cpu_ratio": round(min(panel_cpu) / min(bare_cpu), 2),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(_peak_mb(), 1),
        "peak_rss_mb_after_bare": round(peak_after_bare, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return 0
    results = []
    for n in args.sizes:
        data_dir = DATA / f"events_{n}"
        if not (data_dir / "meta.json").exists():
            t = time.perf_counter()
            generate(n, data_dir)
            print(f"generated {n:,} events in {time.perf_counter() - t:.1f} s -> {data_dir}", file=sys.stderr)
        proc = subprocess.run(
            [sys.executable, __file__, "--measure", str(data_dir), "--repeat", str(args.repeat)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        print(
            f"{r['events']:>11,} events  {r['active_directed_dyads']:>5} dyads x {r['periods']} weeks  "
            f"bare GROUP BY {r['bare_seconds']:.2f} s  panel+{r['features']} features {r['panel_seconds']:.2f} s  "
            f"ratio {r['ratio']:.2f}x (target <= 2; CPU-time ratio {r['cpu_ratio']:.2f}x)  peak RSS {r['peak_rss_mb'] / 1024:.2f} GB (target <= 4)  "
            f"floor {r['floor_ratio']:.2f}x (aggregation {r['floor_aggregation_seconds']:.2f} s + features/output {r['floor_features_output_seconds']:.2f} s)  "
            f"steps {r['panel_steps_seconds']}  load {r['load_average_before']}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "weekly directed panel with every feature vs bare DuckDB GROUP BY (dyad-week-family counts)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": results,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
