"""Regenerate docs/skill.md: the declared candidate's skill over the pair's own history.

The candidate is ``[models] candidate`` of experiments/icews_monthly.toml. For each task
(any_material_conflict at h = 1, 3, 6 months; onset q = 12 at h = 3; surge at h = 3) it runs
the rolling-origin backtest of ``history`` and the candidate on the ICEWS 2005-2015 sample
(monthly undirected, training from 2005-01) over the DEVELOPMENT origins 2009-01..2012-12 and
the TEST origins 2013-01..2015-11, then on the synthetic world and its control (weekly,
h = 4), and writes the difference to history with a 90% bootstrap interval
(:func:`tension.backtest.compare_to_baseline`, two-way: dyads crossed with half-year blocks of origins).

Every run that includes the test origins is a look at them: the script appends a line to
the "Test-origin touches" log of docs/skill.md (kept across regenerations). Choose models on
``--dev-only`` runs; run the full script once per finished candidate.

    .venv/bin/python benchmarks/skill.py              # dev + test + synthetic, 2 worker processes (--jobs)
    .venv/bin/python benchmarks/skill.py --dev-only   # development origins only; no test touch; prints, writes nothing
    .venv/bin/python benchmarks/skill.py --synthetic-only   # the synthetic world and control only; prints, writes nothing
    .venv/bin/python benchmarks/skill.py --dev-only --model history_hgb   # another registered model, dev origins only
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from tension.backtest import BacktestSpec, compare_to_baseline, run_backtest
from tension.config import load_experiment
from tension.models import MODELS, make_model

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "icews" / "icews05-15_sample_a.tsv"
EXPERIMENT = ROOT / "experiments" / "icews_monthly.toml"
DOC = ROOT / "docs" / "skill.md"
SPLITS = {"dev": ("2009-01-01", "2012-12-01"), "test": ("2013-01-01", "2015-11-01")}
TASKS = (("any_material_conflict", 1), ("any_material_conflict", 3), ("any_material_conflict", 6), ("onset", 3), ("surge", 3))
TOUCH_HEADER = "## Test-origin touches"
TIME_BLOCK = {"M": 6, "W": 13}
"""Origins per time block of the two-way bootstrap (half a year): shocks all dyads share count as noise."""


def icews_panel(store: str):
    """Ingest the sample into ``store`` and build the experiment's panel."""
    from tension.cli import main
    from tension.panel import build_panel

    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # the ingest summary is not part of this benchmark's output
        code = main(["ingest", str(SAMPLE), "--format", "icews-kg", "--store", store, "--json"])
    if code:
        raise SystemExit(code)
    exp = load_experiment(EXPERIMENT)
    return exp, build_panel(store, freq=exp.panel.freq, dyads=exp.panel.dyads, config=exp.panel, regions=exp.regions)


def skill_rows(panel, spec: BacktestSpec, candidate: str, target: str, exp=None, baselines: tuple[str, ...] = ("history",)) -> pd.DataFrame:
    """Backtest history and the candidate on ``spec`` (base rate and persistence come along); the candidate's difference to each baseline."""
    t = exp.target if exp is not None else None
    kw = dict(k=t.k, q=t.q, quantile=t.quantile, lookback=t.lookback) if t is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_backtest(panel, spec, {"history": make_model("history"), candidate: make_model(candidate)},
                              target=target, leakage_checks=0, **kw)
    table = pd.concat([compare_to_baseline(result.predictions, b, models=[candidate], n_boot=1000, time_block=TIME_BLOCK[spec.freq]).assign(baseline=b)
                       for b in baselines], ignore_index=True)
    if target != "any_material_conflict":
        table = table[table["metric"] != "onset_ap"]  # onset: AP already is onset AP; surge: not an onset question
    return table


def _fmt(row) -> list[str]:
    f = "{:.5f}" if row.metric == "brier" else "{:.3f}"
    d = "{:+.5f}" if row.metric == "brier" else "{:+.3f}"
    return [f.format(row.history_value), f.format(row.model_value), d.format(row.difference),
            f"[{d.format(row.low)}, {d.format(row.high)}]", "yes" if row.beats_history else "no"]


def markdown_table(rows: pd.DataFrame, baseline: str = "history") -> str:
    head = f"| split | target | h | metric | {baseline} | candidate | difference | 90% interval | beyond noise | positives |\n"
    head += "|---|---|---:|---|---:|---:|---:|---|---|---:|\n"
    body = ""
    for r in rows.itertuples():
        body += "| " + " | ".join([r.split, r.target, str(r.horizon), r.metric, *_fmt(r), str(r.n_positives)]) + " |\n"
    return head + body


def _touch_log() -> list[str]:
    if not DOC.is_file():
        return []
    text = DOC.read_text(encoding="utf-8")
    if TOUCH_HEADER not in text:
        return []
    section = text.split(TOUCH_HEADER, 1)[1]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| # ") and not line.startswith("|---")]


_PANEL: dict = {}
PRIORITY = {("any_material_conflict", 1), ("any_material_conflict", 3), ("onset", 3)}
"""The tasks of the acceptance criteria: run first, so a cut-short run still answers them."""
ROWS = ROOT / "benchmarks" / "results" / "skill_rows.csv"


def _save(rows: pd.DataFrame) -> pd.DataFrame:
    """Append one finished task's rows to benchmarks/results/skill_rows.csv (a cut-short run keeps them)."""
    ROWS.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(ROWS, mode="a", header=not ROWS.exists(), index=False)
    return rows


def _init(path: str) -> None:
    """Worker start-up: one panel per process, one thread per process (no oversubscription)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    _PANEL["icews"] = pd.read_pickle(path)


def _icews_task(args: tuple[str, str, int, str]) -> pd.DataFrame:
    split, target, h, candidate = args
    exp = load_experiment(EXPERIMENT)
    b = exp.backtest
    start, end = SPLITS[split]
    t0 = time.perf_counter()
    spec = BacktestSpec(start, end, freq=exp.panel.freq, horizon=h, step=b.step, refit_every=b.refit_every,
                        min_train_periods=b.min_train_periods, train_start=b.train_start)
    rows = skill_rows(_PANEL["icews"], spec, candidate, target, exp).assign(split=split)
    print(f"{split} {target} h={h}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return rows


def _synthetic_task(args: tuple[str, bool, str]) -> pd.DataFrame:
    from tension.panel import build_panel
    from tension.simulate import simulate

    name, control, candidate = args
    spec = BacktestSpec("2020-07-06", "2022-10-31", freq="W", horizon=4, refit_every=26, min_train_periods=52)
    world = simulate(seed=5, countries=20, years=4, control=control)
    panel = build_panel(world.events, freq="W", dyads="undirected")
    rows = skill_rows(panel, spec, candidate, "any_material_conflict", baselines=("history", "base_rate", "persistence"))
    print(f"synthetic {name} done", file=sys.stderr, flush=True)
    return rows.assign(split=name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev-only", action="store_true", help="Development origins only: no test touch, prints the table, writes nothing.")
    parser.add_argument("--no-synthetic", action="store_true", help="Skip the synthetic world and control.")
    parser.add_argument("--synthetic-only", action="store_true", help="The synthetic world and control only: no ICEWS, no test touch; prints the tables, writes nothing.")
    parser.add_argument("--model", default=None, help="A registered model to score instead of the declared candidate; "
                        "only with --dev-only or --synthetic-only (the test origins are looked at for the declared candidate only).")
    parser.add_argument("--jobs", type=int, default=2, help="Worker processes (one backtest each at a time; default 2).")
    parser.add_argument("--render-only", metavar="SECONDS", type=float, default=None,
                        help="Write docs/skill.md from benchmarks/results/skill_rows.csv (the tasks a cut-short run finished); SECONDS = its runtime.")
    args = parser.parse_args(argv)
    declared = load_experiment(EXPERIMENT).models.candidate
    if args.model is not None:
        if args.model not in MODELS:
            parser.error(f"--model {args.model!r} is not a registered model (one of: {', '.join(MODELS)})")
        if args.model != declared and not (args.dev_only or args.synthetic_only):
            parser.error(f"--model {args.model} is not the declared candidate ({declared}): add --dev-only or --synthetic-only; "
                         "declare it in experiments/icews_monthly.toml before its one look at the test origins")
    candidate = args.model or declared
    if args.render_only is not None:
        saved = pd.read_csv(ROWS)
        icews = saved[saved["split"].isin(list(SPLITS))]
        synthetic = [g for _, g in saved[~saved["split"].isin(list(SPLITS))].groupby(["split", "baseline"], sort=False)]
        return _write(icews, synthetic, declared, args.render_only, ["?"] * 3)
    if args.synthetic_only:
        for name, control in (("world", False), ("control", True)):
            for _, frame in _synthetic_task((name, control, candidate)).groupby("baseline", sort=False):
                print(f"### {name}: candidate vs {frame['baseline'].iloc[0]}\n\n" + markdown_table(frame, frame["baseline"].iloc[0]), flush=True)
        return 0
    if not SAMPLE.is_file():
        print(f"ICEWS sample not found at {SAMPLE}; run this next to the team checkout.", file=sys.stderr)
        return 2
    if not args.dev_only and ROWS.exists():
        ROWS.unlink()  # this script wrote it; a new full run starts it afresh
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    load_before = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    splits = ["dev"] if args.dev_only else list(SPLITS)
    with tempfile.TemporaryDirectory() as tmp:
        exp, panel = icews_panel(str(Path(tmp) / "store"))
        path = str(Path(tmp) / "panel.pkl")
        panel.to_pickle(path)
        # the acceptance tasks first, test before dev, so a run cut short at the time budget still answers them
        order = sorted(((split, target, h) for split in splits for target, h in TASKS),
                       key=lambda j: (not ((j[1], j[2]) in PRIORITY and (j[0] == "test" or j[1] == "onset")), j[0] == "dev" and (j[1], j[2]) in PRIORITY))
        jobs = [(*j, candidate) for j in order]
        worlds = [] if args.dev_only or args.no_synthetic else [("world", False, candidate), ("control", True, candidate)]
        with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init, initargs=(path,)) as pool:
            icews_futures = [pool.submit(_icews_task, j) for j in jobs]
            world_futures = [pool.submit(_synthetic_task, w) for w in worlds]
            keep = (lambda rows: rows) if args.dev_only else _save  # --dev-only writes nothing
            frames = [keep(f.result()) for f in icews_futures]
            synthetic = [g for f in world_futures for _, g in _save(f.result()).groupby("baseline", sort=False)]
    icews = pd.concat(frames, ignore_index=True)
    print(markdown_table(icews), flush=True)
    if args.dev_only:
        return 0
    return _write(icews, synthetic, candidate, time.perf_counter() - started, load_before)


def _write(icews: pd.DataFrame, synthetic: list[pd.DataFrame], candidate: str, seconds: float, load_before) -> int:
    exp = load_experiment(EXPERIMENT)
    load_after = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    test = icews[(icews["split"] == "test") & (icews["target"] == "any_material_conflict") & (icews["horizon"] == 1)].set_index("metric")
    touches = _touch_log()
    touches.append(f"| {len(touches) + 1} | {now} | `{candidate}` | h=1 AP {test.loc['average_precision', 'model_value']:.3f} vs history "
                   f"{test.loc['average_precision', 'history_value']:.3f} ({test.loc['average_precision', 'difference']:+.3f}), "
                   f"Brier {test.loc['brier', 'difference']:+.5f} |")
    DOC.write_text(render(icews, synthetic, candidate, exp, seconds, load_before, load_after, now, touches), encoding="utf-8")
    print(f"wrote {DOC} in {seconds:.0f} s", file=sys.stderr)
    return 0


def render(icews: pd.DataFrame, synthetic: list[pd.DataFrame], candidate: str, exp, seconds: float, load_before, load_after,
           now: str, touches: list[str]) -> str:
    b = exp.backtest
    done = set(zip(icews["split"], icews["target"], icews["horizon"].astype(int)))
    missing = [f"{sp} {t} h={h}" for sp in SPLITS for t, h in TASKS if (sp, t, h) not in done]
    missing += [] if synthetic else ["synthetic world and control"]
    out = [
        "# Skill over the pair's own history",
        "",
        "Generated by `.venv/bin/python benchmarks/skill.py` (do not edit by hand; the touch log at the end is kept "
        "across regenerations).",
        "",
        f"- Candidate: `{candidate}` (`[models] candidate` of experiments/icews_monthly.toml), chosen on the development "
        "origins only.",
        "- Baseline: `history`, the pair's own EWMA (half-life 6 periods) of \"any material conflict\", mapped to a "
        "probability by isotonic regression on the training window.",
        f"- ICEWS 2005-2015 sample a, monthly undirected dyads, k = {exp.target.k}, training from {b.train_start.date() if hasattr(b.train_start, 'date') else b.train_start}, "
        f"expanding window, refit every {b.refit_every} origins, gap = horizon. **Development origins** "
        f"{SPLITS['dev'][0][:7]}..{SPLITS['dev'][1][:7]} (every choice was made here), **test origins** "
        f"{SPLITS['test'][0][:7]}..{SPLITS['test'][1][:7]} (looked at once per finished candidate, see the log).",
        "- Difference = candidate - history on the same rows; interval: 90% percentile interval of 1,000 two-way "
        "bootstrap draws: whole dyads resampled (a pair's serially dependent months travel together) and, crossed with "
        f"them, blocks of consecutive origins ({TIME_BLOCK['M']} months; {TIME_BLOCK['W']} weeks in the synthetic worlds), "
        "so a shock that every dyad shares in a period (a news outage, a global surge) counts as noise, not evidence. "
        "\"Beyond noise\" = the interval excludes 0 on the better side (higher AP/ROC-AUC, lower Brier).",
        "- onset (q = 12): the any-material-conflict question asked only of pairs with none in the previous 12 months "
        "(the model is trained on that target); `onset_ap` on any_material_conflict rows is the AP among those pairs of "
        "the general forecast. surge: hostile intensity over the next h periods above the pair's own trailing 90th "
        "percentile.",
        f"- Runtime {seconds:.0f} s; load average before {' '.join(load_before)}, after {' '.join(load_after)} "
        f"(2 cores shared); run {now}.",
        "",
        *([f"- **Not run** (the run was cut short at the time budget): {', '.join(missing)}.", ""] if missing else [""]),
        "## ICEWS sample a: development origins",
        "",
        markdown_table(icews[icews["split"] == "dev"]),
        "## ICEWS sample a: test origins",
        "",
        markdown_table(icews[icews["split"] == "test"]),
    ]
    if synthetic:
        out += [
            "## Synthetic world (tension simulate, seed 5, 20 countries, 4 years; weekly undirected, h = 4)",
            "",
            "`world` has escalation episodes with precursors; `control` places material conflict on random dyads and "
            "weeks (nothing is predictable). Against every baseline: history, base rate, persistence.",
            "",
        ]
        for frame in synthetic:
            base = frame["baseline"].iloc[0]
            out += [f"### {frame['split'].iloc[0]}: candidate vs {base}", "", markdown_table(frame, base)]
    out += [
        TOUCH_HEADER,
        "",
        "Each full run of this script looks at the test origins once; the log is how many times they were seen.",
        "",
        "| # | date | candidate | result (test, any_material_conflict h=1) |",
        "|---|---|---|---|",
        *touches,
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
