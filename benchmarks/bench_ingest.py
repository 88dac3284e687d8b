"""Ingest throughput: a generated 1,000,000-row GDELT 2.0 export into an empty local store.

Generates a realistic file (61 tab-separated columns, no header, ~20% blank Actor2, some
blank country codes that need the actor-code prefix fallback, a few malformed rows, a
few repeated events), runs the real ``tension ingest`` command as a subprocess, and reports
events/s (end to end, interpreter start included, and as measured inside the command) and
the peak resident memory and CPU time of that subprocess (``os.wait4``). The machine is
shared, so the load average is recorded beside the figures. Target: >= 250,000 events/s
and <= 2 GB.

Usage: ``python benchmarks/bench_ingest.py [--rows 1000000] [--keep DIR]``.
Writes ``benchmarks/results/ingest.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ingest.json"

COUNTRIES = (
    "USA RUS CHN UKR GBR FRA DEU IND PAK ISR IRN TUR SYR IRQ AFG JPN KOR PRK EGY SAU ARM AZE GEO NGA "
    "ZAF KEN ETH SDN SSD LBY MEX BRA VEN COL CAN AUS IDN PHL THA VNM MMR BGD LKA NPL QAT ARE YEM LBN "
    "JOR PSE ITA ESP POL ROM ROU BLR KAZ UZB TWN SRB HRV BIH"
).split()
SECTORS = ("", "GOV", "MIL", "COP", "BUS", "MED", "CVL", "OPP", "REB", "JUD", "EDU", "LEG")


def _codes() -> np.ndarray:
    from tension.taxonomy import cameo_table

    table = cameo_table()
    return table.loc[table["code"].str.len() >= 3, "code"].to_numpy(dtype=object)


def generate(path: Path, rows: int, seed: int = 0) -> int:
    """Write a GDELT 2.0-shaped export with ``rows`` lines; returns the file size in bytes."""
    rng = np.random.default_rng(seed)
    codes = _codes()
    n = rows
    ids = np.arange(1_100_000_000, 1_100_000_000 + n).astype(str).astype(object)
    repeat = rng.random(n) < 0.002  # a few events exported twice
    ids[repeat] = ids[np.maximum(np.flatnonzero(repeat) - 1, 0)]
    days = np.datetime64("2024-05-15") - rng.geometric(0.05, n).clip(0, 700).astype("timedelta64[D]")
    sqldate = np.char.replace(days.astype(str), "-", "").astype(object)
    c1 = rng.choice(COUNTRIES, n)
    c2 = rng.choice(COUNTRIES, n)
    s1 = rng.choice(SECTORS, n)
    s2 = rng.choice(SECTORS, n)
    a1code = np.char.add(c1, s1).astype(object)
    a2code = np.char.add(c2, s2).astype(object)
    a1cc = c1.astype(object)
    a2cc = c2.astype(object)
    blank_cc = rng.random(n) < 0.03  # GDELT leaves the country blank for codes missing from its lookup
    a1cc[blank_cc] = ""
    no_actor2 = rng.random(n) < 0.2
    a2code[no_actor2] = ""
    a2cc[no_actor2] = ""
    names1 = np.char.add(c1, " NAME").astype(object)
    names2 = np.char.add(c2, " NAME").astype(object)
    names2[no_actor2] = ""
    ev = rng.choice(codes, n)
    mentions = rng.integers(1, 60, n).astype(str).astype(object)
    tone = np.round(rng.normal(-2, 3, n), 4).astype(str).astype(object)
    url = np.char.add("https://www.example-news.com/2024/05/15/world/story-", ids.astype(str)).astype(object)
    url = np.char.add(url.astype(str), ".html").astype(object)
    blank = np.full(n, "", dtype=object)
    cols: list[np.ndarray] = [
        ids, sqldate, np.array([s[:6] for s in sqldate], dtype=object), np.array([s[:4] for s in sqldate], dtype=object),
        np.full(n, "2024.3699", dtype=object), a1code, names1, a1cc, blank, blank, blank, blank, s1.astype(object), blank, blank,
        a2code, names2, a2cc, blank, blank, blank, blank, s2.astype(object), blank, blank,
        np.full(n, "1", dtype=object), ev, np.array([c[:3] for c in ev], dtype=object), np.array([c[:2] for c in ev], dtype=object),
        np.full(n, "3", dtype=object), np.full(n, "-2.0", dtype=object), mentions, np.full(n, "1", dtype=object), mentions, tone,
    ]
    geo = [np.full(n, "4", dtype=object), np.full(n, "Kyiv, Kyyiv, Misto, Ukraine", dtype=object), np.full(n, "UP", dtype=object),
           np.full(n, "UP12", dtype=object), np.full(n, "28432", dtype=object), np.full(n, "50.4333", dtype=object),
           np.full(n, "30.5167", dtype=object), np.full(n, "-1044367", dtype=object)]
    cols += geo + geo + geo
    cols += [np.full(n, "20240515120000", dtype=object), url]
    assert len(cols) == 61
    # a few malformed rows: wrong column count and an impossible date
    bad = rng.choice(n, max(1, n // 100_000), replace=False)
    sqldate[bad[: len(bad) // 2]] = "20240231"
    table = pa.table({f"c{i}": pa.array(c, pa.string()) for i, c in enumerate(cols)})
    opts = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    pacsv.write_csv(table, path, write_options=opts)
    with open(path, "ab") as fh:  # one truncated line at the end
        fh.write(b"1199999999\t20240515\tshort line\n")
    return path.stat().st_size


def run(rows: int, keep: Path | None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="tension-bench-")) if keep is None else keep
    work.mkdir(parents=True, exist_ok=True)
    src = work / "20240515120000.export.CSV"
    t0 = time.perf_counter()
    # generate in a child process, so this process stays small (a forked child starts with its parent's pages)
    subprocess.run([sys.executable, __file__, "--generate", str(src), "--rows", str(rows)], check=True)
    size = src.stat().st_size
    gen_s = time.perf_counter() - t0
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)  # always an empty store
    tension = Path(sys.executable).parent / "tension"
    cmd = [str(tension), "ingest", str(src), "--store", str(store), "--json"]
    env = {**os.environ, "COLUMNS": "100"}
    out_path, err_path = work / "ingest.json", work / "ingest.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # resource usage of this child only
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    peak_kb = usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}):\n{err_path.read_text()[-3000:]}")
    report = json.loads(out_path.read_text())
    total = report["total"]
    inner = report.get("seconds")
    result = {
        "benchmark": "ingest GDELT 2.0 export into an empty local store",
        "rows_in_file": total["read"],
        "file_bytes": size,
        "stored": total["stored"],
        "duplicates": total["duplicates"],
        "quarantined": total["quarantined"],
        "quarantined_by_reason": total["quarantined_by_reason"],
        "identity_holds": total["identity_holds"],
        "dyad_share": total["dyad_share"],
        "wall_seconds_end_to_end": round(wall, 3),
        "events_per_second_end_to_end": round(total["read"] / wall),
        "ingest_seconds_inside_command": inner,
        "events_per_second_inside_command": round(total["read"] / inner) if inner else None,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "cpu_seconds": round(cpu, 2),
        "events_per_cpu_second": round(total["read"] / cpu),
        "load_average_1m_at_end": os.getloadavg()[0],
        "target": {"events_per_second": 250_000, "peak_rss_mb": 2048},
        "generate_seconds": round(gen_s, 2),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    result["meets_target"] = result["events_per_second_end_to_end"] >= 250_000 and result["peak_rss_mb"] <= 2048
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="Folder to keep the file and store in (default: a temp folder).")
    parser.add_argument("--generate", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate is not None:
        generate(args.generate, args.rows)
        return
    result = run(args.rows, args.keep)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
