"""Blank-line bombs: 20 GDELT 2.0 rows among millions of blank lines, through the real ``tension ingest``.

Two files (issue 15): a plain 5 MB file with 5,000,000 blank lines, and a ~50 KB ``.gz``
holding 50,000,000 newlines, plus the same 20 rows without blank lines as a baseline. Each
is ingested by the real command in its own subprocess; the wall time (interpreter start
included) and the time inside the command (``seconds`` of its JSON) are reported with the
peak resident memory of that subprocess (``os.wait4``) and the load average. Targets for
the plain file: its ingest (time inside the command) under 2 s, peak under 300 MB.

Usage: ``python benchmarks/bench_blank_lines.py [--out FILE]``
(writes ``benchmarks/results/blank_lines.json``).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "blank_lines.json"
TEMPLATE = ROOT / "tests" / "ingest" / "fixtures" / "gdelt2.export.CSV"
TARGET_S, TARGET_MB = 2.0, 300


def bomb(blank_lines: int, rows: int = 20) -> bytes:
    """``rows`` valid GDELT 2.0 records with ``blank_lines`` blank lines spread between them."""
    first = TEMPLATE.read_bytes().split(b"\n")[0].split(b"\t")
    gap = b"\n" * (blank_lines // rows)
    out = []
    for i in range(rows):
        fields = list(first)
        fields[0] = str(5_000_000 + i).encode()
        out.append(b"\t".join(fields) + b"\n" + gap)
    return b"".join(out)


CHILD = (
    "import sys\n"
    "from tension.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
    "print('VmHWM', status['VmHWM'].split()[0], file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def measure(path: Path, store: Path) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, "ingest", str(path), "--format", "gdelt2", "--store", str(store), "--json"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"ingest of {path} failed with exit {proc.returncode}: {proc.stderr[-2000:]}")
    total = json.loads(proc.stdout)
    peak_kb = int(proc.stderr.rsplit("VmHWM", 1)[1].split()[0])
    return {
        "file_bytes": path.stat().st_size,
        "read": total["total"]["read"],
        "stored": total["total"]["stored"],
        "wall_s": round(wall, 3),
        "command_s": total["seconds"],
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tension-blank-"))
    try:
        plain = work / "bomb.export.CSV"
        plain.write_bytes(bomb(5_000_000))
        packed = work / "bomb.export.CSV.gz"
        packed.write_bytes(gzip.compress(bomb(50_000_000), 9))
        base = work / "rows.export.CSV"
        base.write_bytes(bomb(0))
        results = {
            "baseline_20_rows": measure(base, work / "s0"),
            "plain_5M_blank_lines": measure(plain, work / "s1"),
            "gz_50M_newlines": measure(packed, work / "s2"),
            "load_avg": list(os.getloadavg()),
            "cores": os.cpu_count(),
            "targets": {"plain_wall_s": TARGET_S, "plain_peak_rss_mb": TARGET_MB},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    p = results["plain_5M_blank_lines"]
    results["targets_met"] = p["command_s"] < TARGET_S and p["peak_rss_mb"] < TARGET_MB
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("baseline_20_rows", "plain_5M_blank_lines", "gz_50M_newlines"):
        r = results[name]
        print(f"{name}: {r['file_bytes']:,} bytes, read {r['read']}, stored {r['stored']}, "
              f"{r['wall_s']} s wall ({r['command_s']} s in the command), peak {r['peak_rss_mb']} MB")
    print(f"load average {results['load_avg']}; targets (plain: ingest < {TARGET_S} s, peak < {TARGET_MB} MB) "
          f"{'met' if results['targets_met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
