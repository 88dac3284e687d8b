"""``tension demo``: the whole pipeline on the embedded synthetic world, plus the hand-coded examples.

The demo drives the same commands a team would run, in-process and in order:
simulate -> split into a history file and weekly "live" files -> ``retrain`` (ingest, health
gate, panel, train, backtest, promote, score, ledger, report) -> ``backtest`` (model card skill,
past forecasts behind the 80% band) -> each live week: ``ingest`` then ``score --issue`` ->
``ledger resolve`` -> ``report``; and the
hand-coded South Caucasus examples go into a store of their own with an evidence timeline that
makes no risk claim. Everything it shows from the synthetic world is labelled synthetic.
"""
from __future__ import annotations

import contextlib
import io
import json as jsonlib
import shutil
import time
from pathlib import Path
from typing import Any

import typer

from ... import periods
from ...errors import UsageError, problem
from .. import app
from .._common import JsonOpt, console, emit

EXAMPLES = Path(__file__).resolve().parents[4] / "data" / "examples" / "south_caucasus.csv"
NEWS = EXAMPLES.parent / "news"
"""The team's own short articles about real South Caucasus events, machine-coded by ``tension code`` in the demo."""

_CONFIG = """# Written by `tension demo`: the synthetic demo world as a scheduled job would see it.
name = "demo"
store = "{store}"

[panel]
freq = "W"
dyads = "directed"

[target]
name = "any_material_conflict"
k = 1
horizon = 4

[models]
names = ["base_rate", "persistence", "history", "logit", "hgb"]
candidate = "logit"

[backtest]
start = "{bt_start}"
end = "{bt_end}"
refit_every = 13
min_train_periods = 52

[retrain]
inbox = "{inbox}"
as_of = "{as_of}"
ledger = "{ledger}"
reports = "{reports}"
recent_origins = 8

[alerts]
threshold = 0.5
jump = 0.2
file = "{alerts}"

[regions]
"Inner Sea (synthetic)" = {region}
"""


_DEMO_ENTRIES = frozenset({
    "store", "inbox", "live", "ledger", "reports", "scores", "examples_store", "world", "demo.toml", "alerts.jsonl",
    "predictions.parquet", "south_caucasus_timeline.html", "report.html", "retrain.lock",
})
"""What `tension demo` writes into its folder; --fresh deletes a folder holding nothing else."""


def _check_demo_folder(out: Path) -> None:
    """Refuse (exit 2) to delete ``out`` unless it is a folder the demo wrote (``--out .`` must not wipe a project)."""
    if not out.is_dir():
        raise UsageError(problem("--fresh deletes the demo folder, but --out is not a folder.", "the demo's folder",
                                 str(out), "Check --out."))
    foreign = sorted(p.name for p in out.iterdir() if p.name not in _DEMO_ENTRIES and not p.name.startswith("."))
    if foreign or not (out / "demo.toml").is_file():
        raise UsageError(problem(
            f"Refusing to delete {out}: it does not look like a folder written by `tension demo`. Nothing was deleted.",
            "a folder holding only the demo's files (with its demo.toml)",
            f"other entries: {', '.join(foreign[:10])}" if foreign else "no demo.toml",
            "Point --out at the demo's own folder (default data/demo), or delete the folder yourself."))


class _Stage(Exception):
    def __init__(self, stage: str, code: int, message: str) -> None:
        super().__init__(message)
        self.stage, self.code = stage, code


def _call(stage: str, argv: list[str]) -> dict[str, Any]:
    """Run one ``tension`` command in-process with ``--json``; return its JSON object."""
    from .. import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main([*argv, "--json"])
    lines = [ln for ln in buffer.getvalue().splitlines() if ln.strip().startswith("{")]
    if code != 0:
        raise _Stage(stage, code, f"`tension {' '.join(argv)}` exited {code}")
    return jsonlib.loads(lines[-1]) if lines else {}


def _split(world_csv: Path, inbox: Path, live: Path, cut: str) -> list[Path]:
    """History (dates before ``cut``) into the inbox; one CSV per later ISO week into ``live``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(world_csv, convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in pacsv.read_csv(world_csv, read_options=pacsv.ReadOptions(
            block_size=1 << 16)).column_names}, strings_can_be_null=False))
    dates = table["date"]
    inbox.mkdir(parents=True, exist_ok=True)
    live.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table.filter(pc.less(dates, cut)), inbox / "history.csv")
    later = table.filter(pc.greater_equal(dates, cut))
    import pandas as pd

    weeks = periods.label(pd.to_datetime(pd.Series(later["date"].to_pylist())), "W")
    files = []
    for monday in sorted(weeks.unique()):
        mask = pa.array((weeks == monday).to_numpy())
        path = live / f"week-{monday.date()}.csv"
        pacsv.write_csv(later.filter(mask), path)
        files.append(path)
    return files


def _with_news(examples: Path, coded: Path, out: Path) -> Path:
    """One CSV with the hand-coded examples and the coded news (the report's timeline marks coded rows by their dataset)."""
    import pandas as pd

    hand = pd.read_csv(examples, dtype=str, keep_default_na=False)
    news = pd.read_csv(coded, dtype=str, keep_default_na=False)
    both = pd.concat([hand, news[[c for c in news.columns if c in hand.columns or c in ("dataset", "polarity")]]],
                     ignore_index=True).fillna("")
    both.to_csv(out, index=False, lineterminator="\n")
    return out


def _timeline(examples: Path, coded: Path, out: Path) -> None:
    """The evidence timeline: hand-coded events plus every machine-coded news event with its sentence and polarity."""
    import pandas as pd

    from ...ingest import read_events
    from ...reports import render_timeline
    from ...taxonomy import family_of

    hand = read_events(examples).events
    news = pd.read_csv(coded, dtype=str, keep_default_na=False)
    news = news.assign(date=pd.to_datetime(news["date"]), family=news["cameo_code"].map(family_of),
                       source_actor=news["source_actor"], text=news["evidence"])
    both = pd.concat([hand, news[["date", "source_actor", "target_actor", "source_country", "target_country",
                                  "cameo_code", "family", "text", "source_ref", "dataset", "polarity", "confidence"]]],
                     ignore_index=True)
    render_timeline(both, out=out, title="Evidence timeline: hand-coded examples and coded news (South Caucasus)")


@app.command()
def demo(
    out: Path = typer.Option(Path("data/demo"), "--out", help="Folder for the demo's world, store, ledger and reports."),
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic world."),
    countries: int = typer.Option(24, "--countries", help="Fictional countries in the world."),
    years: float = typer.Option(5.0, "--years", help="Years of synthetic history."),
    live_weeks: int = typer.Option(10, "--live-weeks", help="Final weeks fed one at a time and scored live into the ledger."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the demo folder first (the MLflow database is kept)."),
    as_json: bool = JsonOpt,
) -> None:
    """Run the whole pipeline on the embedded synthetic world and the hand-coded South Caucasus examples.

    simulate -> ingest -> panel -> train and backtest -> MLflow (SQLite) -> score -> ledger -> HTML report.
    Safe to run again: files already ingested and forecasts already issued are not repeated.

    Example: [bold]tension demo[/bold]   (then open data/demo/report.html)
    """
    from ... import tracking

    if live_weeks < 5:
        raise UsageError(problem("--live-weeks is too small for a track record.", "5 or more (the horizon is 4 weeks)",
                                 live_weeks, "Use --live-weeks 10."))
    out = out.resolve()
    if fresh and out.exists():
        _check_demo_folder(out)
        shutil.rmtree(out)
    run = _Demo(out, seed, countries, years, live_weeks)
    started = time.perf_counter()
    try:
        run.all()
    except _Stage as exc:
        emit({"ok": False, "failed_stage": exc.stage, "exit_code": exc.code, "stages": run.stages}, as_json,
             lines=[f"[bold red]demo stopped at stage '{exc.stage}'[/]: {exc}. Stages done: "
                    + ", ".join(s["stage"] for s in run.stages)])
        raise typer.Exit(exc.code) from None
    uri = tracking.tracking_uri()
    payload = {"ok": True, "seconds": round(time.perf_counter() - started, 1), "report": str(run.report),
               "timeline": str(run.timeline), "tracking_uri": uri, "mlflow_ui": f"mlflow ui --backend-store-uri {uri}",
               "stages": run.stages, "remaining": []}
    emit(payload, as_json, lines=[
        f"Done in {payload['seconds']} s. Every stage ran; none remain.",
        f"Report (SYNTHETIC world): file://{run.report}",
        f"Evidence timeline (hand-coded, no risk claim): file://{run.timeline}",
        f"MLflow: .venv/bin/{payload['mlflow_ui']}   then open http://127.0.0.1:5000",
    ])


class _Demo:
    """The demo's stages in order; each runs `tension` commands in-process and says what it did."""

    def __init__(self, out: Path, seed: int, countries: int, years: float, live_weeks: int) -> None:
        self.out, self.seed, self.countries, self.years, self.live_weeks = out, seed, countries, years, live_weeks
        self.paths = {name: out / name for name in ("store", "inbox", "live", "ledger", "reports", "scores", "examples_store")}
        self.stages: list[dict[str, Any]] = []
        self.config = out / "demo.toml"
        self.predictions = out / "predictions.parquet"
        self.report = out / "report.html"
        self.timeline = out / "south_caucasus_timeline.html"
        self.weeks: list[Path] = []
        self.latest_scores: Path | None = None
        self.evidence: Path | None = None

    def all(self) -> None:
        for name, step in (("simulate", self.simulate), ("split", self.split), ("retrain", self.retrain),
                           ("backtest", self.backtest), ("live weeks", self.live), ("ledger resolve", self.resolve),
                           ("examples", self.examples), ("report", self.render)):
            t0 = time.perf_counter()
            detail = step()
            self.stages.append({"stage": name, "status": "ok", "seconds": round(time.perf_counter() - t0, 1), "detail": detail})
            console.print(f"[bold green]demo[/] {name}: {detail} ({self.stages[-1]['seconds']} s)")

    def simulate(self) -> str:
        from ...simulate import simulate as make_world
        from ...simulate import write_world

        world_csv, params_file = self.out / "world" / "world.csv", self.out / "world" / "params.json"
        params = {"seed": self.seed, "countries": self.countries, "years": self.years}
        if world_csv.is_file() and params_file.is_file() and jsonlib.loads(params_file.read_text()) == params:
            return f"reused {world_csv}"
        world = make_world(seed=self.seed, countries=self.countries, years=self.years)
        write_world(world, world_csv)
        params_file.write_text(jsonlib.dumps(params))
        return f"{len(world.events):,} SYNTHETIC events, {len(world.truth)} known episodes"

    def split(self) -> str:
        import pandas as pd

        world_csv = self.out / "world" / "world.csv"
        last = pd.read_csv(world_csv, usecols=["date"])["date"].max()
        cut_monday = periods.shift(periods.label(last, "W"), -(self.live_weeks - 1), "W").date()
        self.weeks = _split(world_csv, self.paths["inbox"], self.paths["live"], str(cut_monday))
        regions = pd.read_csv(world_csv.with_name("world.countries.csv"))
        region_name = regions["region"].value_counts().index[0]
        members = sorted(regions.loc[regions["region"] == region_name, "code"])
        bt_end = periods.shift(pd.Timestamp(cut_monday), -5, "W").date()
        paths = self.paths
        self.config.write_text(_CONFIG.format(
            store=paths["store"], inbox=paths["inbox"], ledger=paths["ledger"], reports=paths["reports"],
            alerts=self.out / "alerts.jsonl", as_of=cut_monday, bt_start=periods.shift(pd.Timestamp(bt_end), -52, "W").date(),
            bt_end=bt_end, region=jsonlib.dumps(members)).replace(
            '"Inner Sea (synthetic)"', jsonlib.dumps(f"{region_name} - synthetic")), encoding="utf-8")
        return f"history before {cut_monday} into the inbox, {len(self.weeks)} live weekly files"

    def retrain(self) -> str:
        job = _call("retrain", ["retrain", "--config", str(self.config)])
        return job.get("summary") or "trained, backtested, promoted, scored, issued"

    def backtest(self) -> str:
        res = _call("backtest", ["backtest", "--experiment", str(self.config), "--store", str(self.paths["store"]),
                                 "--out", str(self.predictions)])
        return (f"{len(res.get('metrics', []))} model rows; predictions in {self.predictions}"
                + ("; reused the earlier backtest (same data, configuration and code)" if res.get("reused") else ""))

    def live(self) -> str:
        store, issued = str(self.paths["store"]), 0
        for week in self.weeks:
            _call("ingest", ["ingest", str(week), "--store", store, "--format", "csv"])
            self.latest_scores = self.paths["scores"] / f"scores-{week.stem.removeprefix('week-')}.parquet"
            res = _call("score", ["score", "--config", str(self.config), "--store", store,
                                  "--ledger", str(self.paths["ledger"]), "--backtest", str(self.predictions), "--issue",
                                  "--out", str(self.latest_scores)])
            issued += int(res.get("issued") or 0)
        return f"{len(self.weeks)} weeks ingested one at a time and scored; {issued} new forecasts issued"

    def resolve(self) -> str:
        res = _call("ledger resolve", ["ledger", "resolve", "--config", str(self.config), "--store", str(self.paths["store"]),
                                       "--ledger", str(self.paths["ledger"])])
        return (f"{res.get('resolved', 0)} newly resolved, {res.get('resolved_total', res.get('resolved', 0))} "
                f"resolved in all, {res.get('open', 0)} open")

    def examples(self) -> str:
        examples_store = str(self.paths["examples_store"])
        _call("examples", ["ingest", str(EXAMPLES), "--store", examples_store, "--format", "csv"])
        coded = self.out / "coded_news.csv"
        res = _call("code news", ["code", str(NEWS), "--out", str(coded)])
        _call("ingest coded news", ["ingest", str(coded), "--store", examples_store, "--format", "csv"])
        _timeline(EXAMPLES, coded, self.timeline)
        self.evidence = _with_news(EXAMPLES, coded, self.out / "south_caucasus_with_news.csv")
        return (f"hand-coded South Caucasus events and {res.get('events', 0)} events machine-coded from "
                f"{res.get('texts', 0)} news texts ({res.get('asserted', 0)} asserted stored; claimed/denied kept for "
                f"review) in their own store; evidence timeline {self.timeline}")

    def render(self) -> str:
        _call("report", ["report", "--scores", str(self.latest_scores), "--config", str(self.config),
                         "--store", str(self.paths["store"]), "--ledger", str(self.paths["ledger"]),
                         "--backtest", str(self.predictions), "--examples", str(self.evidence), "--out", str(self.report)])
        return f"{self.report}"
