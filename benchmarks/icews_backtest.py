"""Regenerate docs/icews_backtest.md: the fixed real-data check of issue 5.

Ingests ../shared/data/icews/icews05-15_sample_a.tsv into a temporary store and runs
``tension backtest --experiment experiments/icews_monthly.toml --report docs/icews_backtest.md``.
Takes several minutes (expanding-window refits on about 100k dyad-months).

    .venv/bin/python benchmarks/icews_backtest.py
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tension.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "icews" / "icews05-15_sample_a.tsv"


def run(report: Path = ROOT / "docs" / "icews_backtest.md", predictions: Path | None = None) -> int:
    """Ingest the sample into a temporary store and write the report; returns the exit code."""
    if not SAMPLE.is_file():
        print(f"ICEWS sample not found at {SAMPLE}; run this next to the team checkout.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "store")
        code = main(["ingest", str(SAMPLE), "--format", "icews-kg", "--store", store])
        if code:
            return code
        # a path relative to the checkout, so the report's header is the same on every machine
        experiment = os.path.relpath(ROOT / "experiments" / "icews_monthly.toml")
        argv = ["backtest", "--store", store, "--experiment", str(experiment), "--report", str(report)]
        if predictions is not None:
            argv += ["--out", str(predictions)]
        return main(argv)


if __name__ == "__main__":
    sys.exit(run())
