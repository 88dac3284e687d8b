"""Ingest throughput: a generated 1,000,000-row GDELT 2.0 export into an empty local store.

Generates a realistic file (61 tab-separated columns, no header, ~20% blank Actor2, some
blank country codes that need the actor-code prefix fallback, a few malformed rows, a
few repeated events), runs the real ``tension ingest`` command as a subprocess, and reports
events/s (end to end, interpreter start included, and as measured inside the command) and
the peak resident memory and CPU time of that subprocess (``os.wait4``). The machine is
shared, so the load average is recorded beside the figures. Target: >= 250,000 events/s
and <= 2 GB.

The file is generated in its own process, ``CHUNK_ROWS`` rows at a time, so generation
needs about 0.5 GB at any size (its peak is recorded as ``generate_peak_rss_mb``) and the
measured ingest process is only the ingest. Before anything runs, the memory the ingest
needs is estimated (:func:`estimate_mb`) and a size that would not fit in the available
memory is refused.

Usage: ``python benchmarks/bench_ingest.py [--rows 1000000] [--keep DIR] [--out FILE]``.
Writes ``benchmarks/results/ingest.json`` for 1M rows and ``ingest_<rows>.json`` otherwise.
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
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ingest.json"

COUNTRIES = (
    "USA RUS CHN UKR GBR FRA DEU IND PAK ISR IRN TUR SYR IRQ AFG JPN KOR PRK EGY SAU ARM AZE GEO NGA "
    "ZAF KEN ETH SDN SSD LBY MEX BRA VEN COL CAN AUS IDN PHL THA VNM MMR BGD LKA NPL QAT ARE YEM LBN "
    "JOR PSE ITA ESP POL ROM ROU BLR KAZ UZB TWN SRB HRV BIH"
).split()
SECTORS = ("", "GOV", "MIL", "COP", "BUS", "MED", "CVL", "OPP", "REB", "JUD", "EDU", "LEG")


def event_codes() -> np.ndarray:
    """CAMEO event codes of three or four digits (the generator's EventCode values)."""
    from tension.taxonomy import cameo_table

    table = cameo_table()
    return table.loc[table["code"].str.len() >= 3, "code"].to_numpy(dtype=object)


CHUNK_ROWS = 100_000  # rows generated and written at a time: bounds the generator's memory (~0.5 GB) at any size
ID_BASE = 1_100_000_000


def chunk_table(lo: int, hi: int, bad_dates: np.ndarray, codes: np.ndarray, seed: int,
                span: tuple[np.datetime64, int, int] | None = None, columns: Sequence[int] | None = None) -> pa.Table:
    """Rows ``lo..hi-1`` of the file: the same rows whatever the total size.

    One generator per chunk, and a whole chunk is always drawn (then cut), so a smaller file
    is a prefix of a larger one except for the malformed rows. Dates: a daily export's
    (about 20 days back from 2024-05-15, geometric), or with ``span=(first_day, days, rows)``
    row ``i`` of ``rows`` falls on ``first_day + i * days // rows`` (years of history in date
    order, as ``benchmarks/bench_pipeline.py`` writes a store). ``columns``: only these field
    positions become Arrow columns (the same values; default all 61).
    """
    rng = np.random.default_rng([seed, lo // CHUNK_ROWS])
    m = CHUNK_ROWS
    pos = np.arange(lo, lo + m)
    repeat = rng.random(m) < 0.002  # a few events exported twice: the previous row's id again
    idnum = ID_BASE + np.where(repeat, np.maximum(pos - 1, 0), pos)
    days = np.datetime64("2024-05-15") - rng.geometric(0.05, m).clip(0, 700).astype("timedelta64[D]")
    if span is not None:
        first, n_days, total = span
        days = (np.datetime64(first, "D") + (pos.astype(np.int64) * n_days // total).astype("timedelta64[D]"))
    c1 = rng.choice(COUNTRIES, m)
    c2 = rng.choice(COUNTRIES, m)
    s1 = rng.choice(SECTORS, m)
    s2 = rng.choice(SECTORS, m)
    blank_cc = rng.random(m) < 0.03  # GDELT leaves the country blank for codes missing from its lookup
    no_actor2 = rng.random(m) < 0.2
    ev = rng.choice(codes, m)
    mention_n = rng.integers(1, 60, m)
    tone_x = rng.normal(-2, 3, m)  # drawn last: the columns below draw nothing, so building only some keeps every value

    # strings are made by Arrow compute (the same text numpy's str() gives, much faster)
    n = hi - lo
    blank_s = pa.scalar("", pa.string())

    def text(values: np.ndarray) -> pa.Array:
        return pa.array(values[:n]).cast(pa.string())

    def unless(mask: np.ndarray, values: pa.Array) -> pa.Array:
        return pc.if_else(pa.array(mask[:n]), blank_s, values)

    def sqldate() -> pa.Array:  # YYYYMMDD
        d = days[:n].astype("datetime64[D]")
        month = d.astype("datetime64[M]")
        ymd = (month.astype("datetime64[Y]").astype(np.int64) + 1970) * 10_000 + (month.astype(np.int64) % 12 + 1) * 100
        return text(ymd + (d - month).astype(np.int64) + 1)

    ids = text(idnum)
    a1cc, a2cc = pa.array(c1[:n]), pa.array(c2[:n])
    sect1, sect2 = pa.array(s1[:n]), pa.array(s2[:n])
    evs = pa.array(ev[:n], pa.string())
    mentions = text(mention_n)
    const = {v: pa.repeat(pa.scalar(v, pa.string()), n) for v in ("", "2024.3699", "1", "3", "-2.0", "4", "Kyiv, Kyyiv, Misto, Ukraine",
                                                                 "UP", "UP12", "28432", "50.4333", "30.5167", "-1044367", "20240515120000")}
    bad = pa.array(np.isin(pos[:n], bad_dates))
    build = {
        0: lambda: ids,
        1: lambda: pc.if_else(bad, pa.scalar("20240231"), sqldate()),  # an impossible date (the derived columns keep the real one)
        2: lambda: pc.utf8_slice_codeunits(sqldate(), 0, 6),
        3: lambda: pc.utf8_slice_codeunits(sqldate(), 0, 4),
        4: lambda: const["2024.3699"],
        5: lambda: pc.binary_join_element_wise(a1cc, sect1, ""),
        6: lambda: pc.binary_join_element_wise(a1cc, " NAME", ""),
        7: lambda: unless(blank_cc, a1cc),
        12: lambda: sect1,
        15: lambda: unless(no_actor2, pc.binary_join_element_wise(a2cc, sect2, "")),
        16: lambda: unless(no_actor2, pc.binary_join_element_wise(a2cc, " NAME", "")),
        17: lambda: unless(no_actor2, a2cc),
        22: lambda: sect2,
        25: lambda: const["1"],
        26: lambda: evs,
        27: lambda: pc.utf8_slice_codeunits(evs, 0, 3),
        28: lambda: pc.utf8_slice_codeunits(evs, 0, 2),
        29: lambda: const["3"],
        30: lambda: const["-2.0"],
        31: lambda: mentions,
        32: lambda: const["1"],
        33: lambda: mentions,
        34: lambda: pa.array(np.round(tone_x[:n], 4).astype(str)),
        59: lambda: const["20240515120000"],
        60: lambda: pc.binary_join_element_wise("https://www.example-news.com/2024/05/15/world/story-", ids, ".html", ""),
    }
    geo = ("4", "Kyiv, Kyyiv, Misto, Ukraine", "UP", "UP12", "28432", "50.4333", "30.5167", "-1044367")
    for start in (35, 43, 51):
        build.update({start + j: (lambda v=v: const[v]) for j, v in enumerate(geo)})
    keep = range(61) if columns is None else columns
    return pa.table({f"c{i}": build.get(i, lambda: const[""])() for i in keep})


def generate(path: Path, rows: int, seed: int = 0) -> int:
    """Write a GDELT 2.0-shaped export with ``rows`` lines (plus one truncated line); returns the file size in bytes.

    Written ``CHUNK_ROWS`` rows at a time, so the generator's memory is bounded whatever
    ``rows`` is. Deterministic: row ``i`` depends only on ``seed`` and ``i`` (so a smaller file
    is a prefix of a larger one), and the malformed rows (``max(1, rows // 100_000)`` positions, half of them an impossible date)
    are drawn once from ``seed``.
    """
    codes = event_codes()
    n = rows
    bad = np.random.default_rng(seed).choice(n, max(1, n // 100_000), replace=False)
    bad_dates = np.sort(bad[: len(bad) // 2])
    opts = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    writer = None
    try:
        for lo in range(0, n, CHUNK_ROWS):
            table = chunk_table(lo, min(lo + CHUNK_ROWS, n), bad_dates, codes, seed)
            if writer is None:
                writer = pacsv.CSVWriter(path, table.schema, write_options=opts)
            writer.write_table(table)
            del table
    finally:
        if writer is not None:
            writer.close()
    with open(path, "ab") as fh:  # one truncated line at the end
        fh.write(b"1199999999\t20240515\tshort line\n")
    return path.stat().st_size


def wait_child(cmd: list[str], **popen: object) -> tuple[int, float, float, float]:
    """Run ``cmd``; return (exit code, wall seconds, peak RSS in MB, CPU seconds) of that child alone (``os.wait4``)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, **popen)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def generate_in_child(path: Path, rows: int) -> tuple[float, float]:
    """Generate the file in its own process; return (seconds, peak RSS in MB of the generator).

    A separate process keeps the generator's memory out of both this process and the
    measured ingest (a forked child would start with its parent's pages).
    """
    code, wall, peak, _ = wait_child([sys.executable, __file__, "--generate", str(path), "--rows", str(rows)])
    if code != 0:
        raise SystemExit(f"the generator failed ({code}) writing {rows:,} rows to {path}")
    return round(wall, 2), round(peak, 1)


# Peak RSS of the ingest process, measured on this machine: 0.77-0.83 GB at 1M rows, 1.07 GB at 3M.
INGEST_BASE_MB = 700.0
INGEST_MB_PER_MILLION = 150.0
GENERATE_MB = 800.0  # the chunked generator, any size (measured ~0.5 GB)


def estimate_mb(rows: int) -> float:
    """Peak memory (MB) one ingest measurement needs: the larger of generator and ingest, with a 1.5x margin."""
    return 1.5 * max(GENERATE_MB, INGEST_BASE_MB + INGEST_MB_PER_MILLION * rows / 1e6)


def available_mb() -> float:
    """``MemAvailable`` from /proc/meminfo in MB (total physical memory where that is missing)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def results_path(rows: int) -> Path:
    """``results/ingest.json`` for the 1M target run, ``results/ingest_<rows>.json`` for other sizes."""
    return RESULTS if rows == 1_000_000 else RESULTS.with_name(f"ingest_{rows}.json")


def run(rows: int, keep: Path | None) -> dict:
    """Generate a ``rows``-line export (child process), ingest it (measured child process), return the figures.

    With ``keep=None`` the file and store go to a temporary folder that is removed afterwards.
    """
    if keep is None:
        work = Path(tempfile.mkdtemp(prefix="tension-bench-"))
        try:
            return _run(rows, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    keep.mkdir(parents=True, exist_ok=True)
    return _run(rows, keep)


def _run(rows: int, work: Path) -> dict:
    src = work / "20240515120000.export.CSV"
    gen_s, gen_peak_mb = generate_in_child(src, rows)
    size = src.stat().st_size
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)  # always an empty store
    tension = Path(sys.executable).parent / "tension"
    cmd = [str(tension), "ingest", str(src), "--store", str(store), "--json"]
    env = {**os.environ, "COLUMNS": "100"}
    out_path, err_path = work / "ingest.json", work / "ingest.err"
    load_before = os.getloadavg()[0]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        code, wall, peak_mb, cpu = wait_child(cmd, stdout=out, stderr=err, env=env)  # the ingest process only
    if code != 0:
        raise SystemExit(f"ingest failed ({code}):\n{err_path.read_text()[-3000:]}")
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
        "peak_rss_mb": round(peak_mb, 1),
        "cpu_seconds": round(cpu, 2),
        "events_per_cpu_second": round(total["read"] / cpu),
        "load_average_1m_at_start": load_before,
        "load_average_1m_at_end": os.getloadavg()[0],
        "target": {"events_per_second": 250_000, "peak_rss_mb": 2048},
        "generate_seconds": gen_s,
        "generate_peak_rss_mb": gen_peak_mb,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    result["meets_target"] = result["events_per_second_end_to_end"] >= 250_000 and result["peak_rss_mb"] <= 2048
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="Folder to keep the file and store in (default: a temp folder).")
    parser.add_argument("--out", type=Path, default=None,
                        help="Where to write the JSON (default: results/ingest.json at 1M rows, results/ingest_<rows>.json otherwise).")
    parser.add_argument("--generate", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rows < 1:
        raise SystemExit("--rows must be at least 1.")
    if args.generate is not None:
        generate(args.generate, args.rows)
        return
    need, have = estimate_mb(args.rows), available_mb()
    if need > have:
        raise SystemExit(f"Refusing to run: ingesting {args.rows:,} rows needs about {need / 1024:.1f} GB "
                         f"but only {have / 1024:.1f} GB is available. Use a smaller --rows or free memory.")
    result = run(args.rows, args.keep)
    out = args.out or results_path(args.rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
