"""Generate the README's performance section from ``benchmarks/results/results.json``.

Usage: ``.venv/bin/python benchmarks/readme_section.py [results.json]`` writes
``benchmarks/results/PERFORMANCE.md`` (markdown: the machine, the table, the targets and
how to rerun). ``benchmarks/run.py`` calls it at the end. Nothing here is typed by hand:
every number comes from the JSON.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DEFAULT = HERE / "results" / "results.json"


def _machine_line(m: dict[str, Any]) -> str:
    v = m.get("versions", {})
    libs = ", ".join(f"{k} {val}" for k, val in v.items() if val)
    return (f"{m.get('cores')} cores ({m.get('cpu') or 'unknown CPU'}), {m.get('ram_gb')} GB RAM, Python {m.get('python')} "
            f"on {m.get('platform')}; {libs}; git {m.get('git_commit') or '?'}")


def _target_lines(targets: dict[str, Any]) -> list[str]:
    names = {
        "panel_time_per_event": "Panel build, time per event at the largest size vs 1M",
        "scoring_time_per_event": "Scoring, time per event at the largest size vs 1M",
        "dask_vs_local": "Dask engine (2 local workers) vs local engine at the largest size",
    }
    out = []
    for key, label in names.items():
        t = targets.get(key)
        if t is None:
            out.append(f"| {label} | not measured | <= 1.3x | - |")
        elif "per_event_ratio" in t:
            out.append(f"| {label} ({t['large']:,} vs {t['small']:,} events) | {t['per_event_ratio']:.2f}x | <= {t['target']}x | "
                       f"{'met' if t['met'] else '**missed**'} |")
        else:
            out.append(f"| {label} | {t['ratio']:.2f}x | <= {t['target']}x | {'met' if t['met'] else '**missed**'} |")
    return out


def render(payload: dict[str, Any]) -> str:
    """The markdown section for ``payload`` (the content of results.json)."""
    from run import table_rows

    m = payload.get("machine", {})
    lines = [
        "## Performance",
        "",
        f"Measured by `benchmarks/run.py` ({(payload.get('merged_into') or {}).get('started') or payload.get('started', '?')} to "
        f"{payload.get('finished', 'unfinished')}"
        + (f"; `run.py {' '.join(payload.get('argv', []))}` rerun from {payload.get('started')}" if payload.get("merged_into") else "")
        + ", "
        f"sizes {', '.join(f'{s:,}' for s in payload.get('sizes', []))} events) on: {_machine_line(m)}.",
        f"The machine was shared with other work: 1-minute load average {payload.get('load_average_start', ['?'])[0]:.1f} at the start"
        + (f" and {payload['load_average_end'][0]:.1f} at the end" if payload.get("load_average_end") else "")
        + " on 2 cores, so wall times are pessimistic; CPU times are in results.json.",
        "",
        "| measurement | events | time | throughput / ratio | peak memory |",
        "|---|---:|---:|---|---:|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in table_rows(payload)]
    lines += ["", "| target (issue 8) | measured | target | |", "|---|---:|---:|---|"]
    lines += _target_lines(payload.get("targets", {}))
    failed = [(part, r) for part, rs in payload.get("results", {}).items() for r in (rs if isinstance(rs, list) else [rs]) if "error" in r]
    if failed:
        lines += ["", "Failed measurements (see results.json for the log tail):"]
        lines += [f"- {part} at {r.get('size', 0):,} events: {r['error'][:200]}" for part, r in failed]
    lines += [
        "",
        "Peak memory is the peak resident set of the measuring subprocess (kernel `wait4`); for the Dask "
        "engine the driver's and each worker's peaks are listed. Rerun with "
        "`.venv/bin/python benchmarks/run.py` (or `--quick`); see benchmarks/README.md.",
        "",
    ]
    return "\n".join(lines)


def write(results: Path = DEFAULT, out: Path | None = None) -> Path:
    """Render ``results`` into ``out`` (default: PERFORMANCE.md beside it); return the path."""
    payload = json.loads(Path(results).read_text())
    out = out or Path(results).with_name("PERFORMANCE.md")
    out.write_text(render(payload))
    return out


if __name__ == "__main__":
    path = write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
    print(path.read_text())
