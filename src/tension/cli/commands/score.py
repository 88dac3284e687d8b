"""CLI commands for scoring, reports and the forecast ledger.

``tension score``, ``tension report``, ``tension ledger resolve``, ``tension ledger report``.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from ..._io import atomic_output
from ...config import Experiment, load_experiment, project_data_dir
from ...errors import UsageError, problem
from .. import app
from .._common import EngineOpt, SchedulerOpt, JsonOpt, StoreOpt, console, dict_table, emit, parse_date, progress, store_path

ConfigOpt = typer.Option(None, "--config", help="Experiment TOML (regions, tracking, target).")
LedgerOpt = typer.Option(None, "--ledger", help="Ledger folder (default ./data/ledger).")

ledger_app = typer.Typer(help="The forecast ledger: resolve issued forecasts, show the track record.",
                         no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


# --------------------------------------------------------------------------- helpers


def _ledger_path(opt: Path | None) -> Path:
    return opt or project_data_dir() / "ledger"


def _parse_horizons(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        hs = tuple(int(h) for h in text.replace(" ", "").split(",") if h)
    except ValueError:
        hs = ()
    if not hs or min(hs) < 1:
        raise UsageError(problem("--horizon must list positive integers.", "e.g. 1,3,6", text, "Use --horizon 4."))
    return hs


def _date(text: str | None, option: str) -> pd.Timestamp | None:
    value = parse_date(text, option)
    return None if value is None else pd.Timestamp(value)


def _check_uri(uri: str) -> None:
    if not uri.startswith("models:/"):
        raise UsageError(problem("Only registry models can be scored.", "a registry URI such as models:/tension@champion "
                                 "or models:/tension/3", uri, "Register the model first (`tension train`), then "
                                 "pass --model models:/NAME@ALIAS."))


def _identity(uri: str, exp: Experiment) -> dict[str, Any]:
    """Registered name, version and MLflow run behind a ``models:/`` URI (best effort)."""
    import dataclasses

    from ... import tracking

    m = re.match(r"models:/([^/@]+)(?:@(.+)|/(\d+))?$", uri)
    name = m.group(1) if m else exp.tracking.registered_model
    exp = dataclasses.replace(exp, tracking=dataclasses.replace(exp.tracking, registered_model=name))
    version = None
    if m and m.group(3):
        version = int(m.group(3))
    elif m and m.group(2):
        version = tracking.alias_version(exp, m.group(2))
    run_id = None
    if version is not None:
        versions = tracking.model_versions(exp)
        hit = versions[versions["version"] == version]
        run_id = None if hit.empty else str(hit["run_id"].iloc[0])
    return {"registered_model": name, "version": version, "run_id": run_id,
            "label": f"{name}/{version}" if version is not None else uri.removeprefix("models:/")}


def _events_for(location: str, start: pd.Timestamp | None) -> pd.DataFrame | None:
    from ...store import Store

    try:
        return Store(location).read(start=start.date() if start is not None else None)
    except (OSError, ValueError, UsageError):
        return None


def _backtest_table(path: Path | None) -> pd.DataFrame | None:
    """The backtest predictions table: ``path``, else ``data/predictions.parquet`` when it exists."""
    path = path or project_data_dir() / "predictions.parquet"
    if not path.is_file():
        return None
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, parse_dates=["origin"])
    raise UsageError(problem("Unknown backtest file type.", ".parquet or .csv", str(path),
                             "Pass the file written by `tension backtest --out`."))


def _band_history(exp: Experiment, ident: dict[str, Any], model_name: str,
                  path: Path | None) -> tuple[pd.DataFrame | None, str]:
    """The scored model's own resolved backtest forecasts behind the bands, and where they come from.

    First the predictions stored with the model version in MLflow (``tension model promote``
    and ``retrain`` store them); else this model's rows of ``--backtest`` (or
    ``data/predictions.parquet``). A file without rows of the scored model is refused: its
    bands would describe another model.
    """
    from ... import tracking

    stored = tracking.backtest_predictions(exp, ident["version"])
    if stored is not None and len(stored):
        return stored.dropna(subset=["outcome"]), f"the backtest stored with {ident['label']}"
    table = _backtest_table(path)
    if table is None or not len(table):
        return None, "none: no backtest of this model"
    models = sorted(set(table["model"].astype(str))) if "model" in table else []
    if model_name not in models:
        if path is None:  # the default file is someone else's backtest: no band rather than a wrong one
            return None, "none: no backtest of this model"
        raise UsageError(problem(
            f"The backtest file holds no forecasts of the scored model {model_name!r} ({ident['label']}), so its "
            "bands would describe another model.", f"rows with model == {model_name!r}",
            f"{path} with models {', '.join(models) or '(no model column)'}",
            f"Backtest this model (`tension backtest --models {model_name} --out FILE`) and pass that file, "
            "or drop --backtest: scores then carry 'no band: no backtest of this model'."))
    mine = table[table["model"].astype(str) == model_name]
    label = path or "data/predictions.parquet"
    return mine.dropna(subset=["outcome"]), f"{label}, rows of model {model_name} (not stored with {ident['label']})"


def _check_store(location: str) -> None:
    if "://" not in location and not Path(location).exists():
        raise UsageError(problem("The event store does not exist.", "a folder made by `tension ingest`", location,
                                 "Run `tension ingest FILE` first, or pass --store."))


def _write_scores(scores: pd.DataFrame, out: Path) -> None:
    from ...reports import render_report

    suffix = out.suffix.lower()
    if suffix == ".parquet":
        with atomic_output(out, "scores") as tmp:
            scores.to_parquet(tmp, index=False)
    elif suffix in (".csv", ".json"):
        render_report(scores, format=suffix[1:], out=out)
    else:
        raise UsageError(problem("Unknown output format for scores.", ".parquet, .csv or .json", str(out),
                                 "Use --out data/scores/scores.parquet."))


# --------------------------------------------------------------------------- score


@app.command()
def score(
    model: str | None = typer.Option(None, "--model", help="Registry URI (default models:/<registered_model>@champion)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Score at this date's period, YYYY-MM-DD (default: the latest)."),
    horizon: str | None = typer.Option(None, "--horizon", help="Horizons in periods, e.g. 1,3,6 (default: the model's)."),
    issue: bool = typer.Option(False, "--issue", help="Record the scores in the ledger (backfills as hindcasts)."),
    date_from: str | None = typer.Option(None, "--from", help="Backfill: first as-of date of a range, YYYY-MM-DD (with --to)."),
    date_to: str | None = typer.Option(None, "--to", help="Backfill: last as-of date of the range, YYYY-MM-DD."),
    out: Path | None = typer.Option(None, "--out", help="Scores file: .parquet, .csv or .json (default data/scores/)."),
    backtest: Path | None = typer.Option(None, "--backtest", help="Backtest predictions (`tension backtest --out`) of the scored model, used when none are stored with "
                                  "its version in MLflow: its past forecasts behind the 80% band. Rows of other models are never used."),
    store: str | None = StoreOpt,
    config: Path | None = ConfigOpt,
    ledger: Path | None = LedgerOpt,
    engine: str = EngineOpt,
    scheduler: str | None = SchedulerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Score every monitored dyad with the registered model: probability, 80% band, ranks, drivers, evidence.

    The 80% band is the observed event rate among the scored model's own backtest forecasts near
    its probability (stored with the version by `tension model promote` and `retrain`, else this
    model's rows of --backtest); without one, lower/upper are empty and band_note says why.
    A dyad with too little recent data is marked coverage=insufficient and left unranked.
    --issue records the scores in the ledger. Scores for a past date (--from/--to backfills, or an
    --as-of before the latest period, when later data was already known) are issued as hindcasts,
    which never enter the track record.

    Example: [bold]tension score --model models:/tension@champion --issue --out data/scores/latest.parquet[/bold]
    """
    from ... import tracking
    from ...ledger import Ledger
    from ...engines import get_engine
    from ...scoring import horizons_of

    for text, option in ((as_of, "--as-of"), (date_from, "--from"), (date_to, "--to")):
        parse_date(text, option)  # refused before anything is read
    exp = load_experiment(config)
    uri = model or tracking.model_uri(exp.tracking.registered_model, tracking.CHAMPION)
    _check_uri(uri)
    if (date_from is None) != (date_to is None):
        raise UsageError(problem("A backfill needs both ends.", "--from DATE --to DATE", date_from or date_to,
                                 "Pass both --from and --to, or neither."))
    if date_from is not None and as_of is not None:
        raise UsageError(problem("--as-of and --from/--to exclude each other.", "one of them", "both",
                                 "Use --as-of for one date, --from/--to for a range."))
    location = store_path(store or (exp.store or None))
    _check_store(location)
    started = time.perf_counter()
    with get_engine(engine, scheduler) as eng, progress("Loading the model", total=4) as advance:
        pyfunc = tracking.load_estimator(uri, exp)
        ident = _identity(uri, exp)
        cfg = pyfunc.config
        target = cfg.get("target") or {}
        horizons = _parse_horizons(horizon) or horizons_of(pyfunc) or (exp.target.horizon,)
        advance(1, description="Building the panel")
        panel = eng.build_panel(location, freq=str(cfg.get("freq") or exp.panel.freq),
                                dyads=str(cfg.get("dyads") or exp.panel.dyads), config=exp.panel, regions=exp.regions)
        if panel.empty:
            raise UsageError(problem("The panel is empty.", "events in the store", "0 panel rows", "Ingest events first."))
        periods = pd.DatetimeIndex(pd.unique(panel["period"])).sort_values()
        if date_from is not None:
            lo, hi = _date(date_from, "--from"), _date(date_to, "--to")
            dates = list(periods[(periods >= lo) & (periods <= hi)])
            if not dates:
                raise UsageError(problem("No panel period lies in the backfill range.",
                                         f"dates between {periods[0].date()} and {periods[-1].date()}",
                                         f"{date_from}..{date_to}", "Widen --from/--to."))
        else:
            when = _date(as_of, "--as-of")
            dates = [periods[-1] if when is None else (periods[periods <= when][-1] if (periods <= when).any() else when)]
        # A forecast is live only when nothing after its as-of date was known: scoring a past date
        # (a backfill, or --as-of before the latest period) is a hindcast, kept out of the track record.
        hindcast = date_from is not None or dates[-1] < periods[-1]
        book = Ledger(_ledger_path(ledger))
        history = book.records() if (book.path / "manifests").is_dir() else pd.DataFrame()
        calibration, band_source = _band_history(exp, ident, str(cfg.get("model") or ""), backtest)
        advance(1, description="Reading recent events")
        events = _events_for(location, min(dates) - pd.DateOffset(years=1))
        advance(1, description=f"Scoring {len(dates)} date(s)", total=3 + len(dates))
        frames, issued = [], 0
        for d in dates:
            previous = book.latest(include_hindcasts=hindcast) if len(history) or issued else None
            s = eng.score(pyfunc, panel, as_of=d, horizons=horizons, previous=previous, events=events,
                          regions=exp.regions, model_version=ident["label"], calibration=calibration)
            if issue:
                issued += book.issue(s, panel=panel[panel["period"] <= d], hindcast=hindcast,
                                     target=str(target.get("name") or exp.target.name), k=int(target.get("k") or exp.target.k))
            frames.append(s)
            advance(1)
    scores = pd.concat(frames, ignore_index=True)
    scores.attrs = {**frames[-1].attrs, "band_source": band_source}
    stamp = f"{dates[0].date()}_{dates[-1].date()}" if len(dates) > 1 else str(dates[-1].date())
    out = out or project_data_dir() / "scores" / f"scores-{stamp}.parquet"
    _write_scores(scores, out)
    latest = scores[scores["as_of"] == scores["as_of"].max()]
    top = latest.dropna(subset=["rank"]).sort_values(["horizon", "rank"]).head(10)
    payload = {
        "out": str(out), "engine": engine, "model": uri, "model_version": ident["label"], "run_id": ident["run_id"],
        "as_of": [str(d.date()) for d in dates] if date_from is not None else str(dates[-1].date()),
        "horizons": list(horizons), "dyads": int(latest["dyad"].nunique()),
        "coverage": latest.drop_duplicates("dyad")["coverage"].value_counts().to_dict(),
        "issued": issued, "hindcast": hindcast, "ledger": str(book.path) if issue else None,
        "band": scores.attrs.get("interval"), "band_source": band_source,
        "no_band": int(latest["lower"].isna().sum()),
        "top": [{"dyad": r.dyad, "horizon": int(r.horizon), "probability": round(float(r.probability), 4),
                 "lower": round(float(r.lower), 6), "upper": round(float(r.upper), 6), "coverage": r.coverage,
                 "band_note": r.band_note}
                for r in top.itertuples()],
        "seconds": round(time.perf_counter() - started, 2),
    }
    emit(payload, as_json, table=dict_table(f"Top dyads as of {dates[-1].date()}",
                                            payload["top"]),
         lines=[f"Bands: {payload['band']}; from {band_source}"
                + (f"; {payload['no_band']} score(s) without a band (see band_note)" if payload["no_band"] else "") + ".",
                f"Wrote {len(scores)} scores for {payload['dyads']} dyads to {out}"
                + (f"; issued {issued} to the ledger at {book.path}" + (" as hindcasts" if hindcast else "") if issue else "")
                + ".", "Next: tension report --scores " + str(out)])


# --------------------------------------------------------------------------- report


def _latest_scores() -> Path:
    folder = project_data_dir() / "scores"
    files = sorted(folder.glob("scores-*.*"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not files:
        raise UsageError(problem("No scores to report.", "a file from `tension score`", str(folder),
                                 "Run `tension score` first, or pass --scores FILE."))
    return files[-1]


def _model_card(scores: pd.DataFrame, exp: Experiment, backtest: Path | None) -> dict[str, Any]:
    """What the registry knows about the model behind the scores (tracking failures leave it partial)."""
    label = str(scores["model_version"].iloc[0])
    card: dict[str, Any] = {"version": label}
    m = re.match(r"(.+)/(\d+)$", label)
    try:
        from ... import tracking

        if m:
            versions = tracking.model_versions(exp)
            hit = versions[versions["version"] == int(m.group(2))]
            if len(hit):
                card["run_id"] = str(hit["run_id"].iloc[0])
            cfg = tracking.load_estimator(f"models:/{m.group(1)}/{m.group(2)}", exp).config
            target = cfg.get("target") or {}
            card.update({"model": cfg.get("model"), "trained_through": cfg.get("data_cutoff"),
                         "target": target.get("name"), "horizon": target.get("horizon"), "freq": cfg.get("freq"),
                         "features": len(cfg.get("features") or []), "registered_model": m.group(1)})
            if cfg.get("skill_vs_history"):  # the gate's comparison with the history baseline, when recorded
                card["skill_vs_history"] = list(cfg["skill_vs_history"])
            if cfg.get("train_start") or cfg.get("training_window"):
                card["training_window"] = cfg.get("training_window") or f"{cfg.get('train_start')} to {cfg.get('data_cutoff')}"
    except Exception as exc:  # noqa: BLE001 - the report still renders; the card says what is missing
        card["notes"] = f"registry unavailable: {type(exc).__name__}"
    table = _backtest_table(backtest)
    if table is not None and len(table):
        card["predictions"] = table
        card.update(_backtest_of(table, label, card.get("run_id")))
        from ...backtest import skill_vs_history

        measured = skill_vs_history(table, models=[card["model"]] if card.get("model") in set(table["model"]) else None)
        if measured:  # a backtest with the history baseline in it says more than the gate's record
            card["skill_vs_history"] = measured
    return card


def _backtest_of(table: pd.DataFrame, label: str, run_id: str | None) -> dict[str, Any]:
    """Which model version a backtest table belongs to, when its rows say (``model_version`` or the training run)."""
    if "model_version" in table and table["model_version"].notna().any():
        return {"backtest_of": ", ".join(sorted(set(table["model_version"].dropna().astype(str))))}
    if run_id and "run_id" in table and run_id in set(table["run_id"].astype(str)):
        return {"backtest_of": label}
    return {}


@app.command()
def report(
    scores: Path | None = typer.Option(None, "--scores", help="Scores file (default: the newest in data/scores/)."),
    region: str | None = typer.Option(None, "--region", help="Only this region (from the config's \\[regions])."),
    fmt: str = typer.Option("html", "--format", help="html (self-contained page), md, csv or json."),
    out: Path | None = typer.Option(None, "--out", help="Output file (default data/reports/report-<as_of>.<format>)."),
    examples: Path | None = typer.Option(None, "--examples", help="Hand-coded example events (CSV/JSONL): adds an evidence timeline (no risk claim)."),
    backtest: Path | None = typer.Option(None, "--backtest", help="Backtest predictions table for the model card's skill and reliability."),
    timeline: bool = typer.Option(False, "--timeline", help="Write only the evidence timeline page of --examples (no scores needed, no risk claim)."),
    store: str | None = StoreOpt,
    config: Path | None = ConfigOpt,
    ledger: Path | None = LedgerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Render the scores for analysts: ranked watchlist, top dyads, model card, data health, track record.

    The HTML file opens with no network: charts are inline SVG, a Content-Security-Policy forbids
    loading anything, and all text is escaped.

    --examples FILE adds an evidence timeline of hand-coded events (no risk claim); with --timeline
    only that page is written.

    Example: [bold]tension report --region "South Caucasus" --format html --out report.html[/bold]
    """
    from ...ledger import Ledger
    from ...reports import FORMATS, load_scores, render_report

    if fmt not in FORMATS:
        render_report(pd.DataFrame({"x": [1]}), format=fmt)  # raises the helpful UsageError
    exp = load_experiment(config)
    if timeline:
        from ...ingest import read_events
        from ...reports import render_timeline

        if examples is None:
            raise UsageError(problem("--timeline needs the events to show.", "--examples FILE", None,
                                     "Use --examples data/examples/south_caucasus.csv --timeline."))
        sample = read_events(examples, mapping=exp.csv).events
        written = render_timeline(sample, out=out or project_data_dir() / "reports" / f"timeline-{examples.stem}.html")
        emit({"out": str(written), "events": len(sample), "risk_claim": False}, as_json,
             lines=[f"Wrote the evidence timeline of {len(sample)} events to {written} (no risk claim)."])
        return
    path = scores or _latest_scores()
    table = load_scores(path)
    as_of = pd.to_datetime(table["as_of"]).max()
    out = out or project_data_dir() / "reports" / f"report-{as_of.date()}.{fmt}"
    panel = events = health = card = book = sample = None
    with progress("Reading", total=4) as advance:
        if fmt in ("html", "md"):
            location = store_path(store or (exp.store or None))
            if "://" in location or Path(location).exists():
                from ...panel import build_panel
                from ...store import Store

                dyads = "undirected" if table["dyad"].astype(str).str.contains("|", regex=False).any() else "directed"
                freq = str(table.attrs.get("freq") or exp.panel.freq)
                panel = build_panel(location, freq=freq, dyads=dyads, config=exp.panel, regions=exp.regions,
                                    end=(as_of + pd.DateOffset(days=40)).date())
                panel = panel[panel["period"] <= as_of]
                st = Store(location)
                summary = st.summary()
                events = st.read(start=(as_of - pd.DateOffset(years=1)).date())
                health = {"events": summary.get("events"), "last_event_date": summary.get("last_date"),
                          "unresolved_actor_events": summary.get("unresolved_actor_events"),
                          "quarantined": summary.get("quarantined_by_reason") or {}}
            advance(1, description="Model card")
            card = _model_card(table, exp, backtest)
            if panel is not None and len(panel) and card.get("trained_through") and "training_window" not in card:
                card["training_window"] = (f"{pd.Timestamp(panel['period'].min()).date()} (start of the store) to "
                                           f"{card['trained_through']}")
            advance(1, description="Ledger")
            lp = _ledger_path(ledger)
            book = Ledger(lp) if (lp / "manifests").is_dir() else None
            if examples is not None:
                from ...ingest import read_events

                sample = read_events(examples, mapping=exp.csv).events
        advance(1, description="Rendering")
        synthetic = events is not None and len(events) > 0 and "dataset" in events and \
            set(events["dataset"].dropna().astype(str).unique()) == {"synthetic"}
        title = "Escalation risk watchlist" + (" \u2014 SYNTHETIC world (fictional countries)" if synthetic else "")
        written = render_report(table, panel, events=events, ledger=book, model_card=card, health=health,
                                regions=exp.regions, region=region, examples=sample, format=fmt, out=out,
                                threshold=exp.alerts.threshold, title=title, lookback=int(exp.target.q),
                                thresholds={"[alerts] threshold": exp.alerts.threshold,
                                            "[backtest] alert_threshold": exp.backtest.alert_threshold})
        advance(1, description="Done")
    payload = {"out": str(written), "format": fmt, "scores": str(path), "as_of": str(as_of.date()),
               "region": region, "dyads": int(table["dyad"].nunique()), "track_record": book is not None}
    emit(payload, as_json, lines=[f"Wrote the {fmt} report to {written}" + (f" (open it in a browser: file://{Path(written).resolve()})" if fmt == "html" else "") + "."])


# --------------------------------------------------------------------------- ledger


@ledger_app.command("resolve")
def ledger_resolve(
    store: str | None = StoreOpt,
    config: Path | None = ConfigOpt,
    ledger: Path | None = LedgerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Append resolutions for issued forecasts whose window has passed (issued records are never rewritten).

    Example: [bold]tension ledger resolve --store data/store[/bold]
    """
    from ...ledger import Ledger
    from ...panel import build_panel

    exp = load_experiment(config)
    book = Ledger(_ledger_path(ledger))
    if not (book.path / "manifests").is_dir():
        raise UsageError(problem("The ledger is empty.", "forecasts issued with `tension score --issue`", str(book.path),
                                 "Issue scores first, or pass --ledger."))
    location = store_path(store or (exp.store or None))
    _check_store(location)
    forecasts = book.forecasts()
    resolved = 0
    with progress("Resolving", total=len(forecasts.groupby("freq")) + 1) as advance:
        for freq, group in forecasts.groupby("freq"):
            dyads = "undirected" if group["dyad"].str.contains("|", regex=False).any() else "directed"
            panel = build_panel(location, freq=str(freq), dyads=dyads, config=exp.panel, regions=exp.regions)
            resolved += book.resolve(panel, target=exp.target.name, k=exp.target.k)
            advance(1)
        advance(1, description="Done")
    summary = book.summary()
    # "resolved" is what this run added; the ledger's cumulative count travels as "resolved_total"
    payload = {**summary, "resolved": resolved, "resolved_total": summary["resolved"], "ledger": str(book.path)}
    emit(payload, as_json,
         lines=[f"Resolved {resolved} forecast(s); {summary['open']} still open, {summary['resolved']} resolved in all."])


@ledger_app.command("report")
def ledger_report(
    ledger: Path | None = LedgerOpt,
    threshold: float | None = typer.Option(None, "--threshold", help="Alert threshold (default: the config's alerts.threshold)."),
    hindcasts: bool = typer.Option(False, "--include-hindcasts", help="Also score backfilled forecasts (never part of the official record)."),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The track record: Brier, log score, alert hits and misses by horizon and region, next to baselines.

    Example: [bold]tension ledger report --json[/bold]
    """
    from ...ledger import Ledger

    exp = load_experiment(config)
    book = Ledger(_ledger_path(ledger))
    if not (book.path / "manifests").is_dir():
        raise UsageError(problem("The ledger is empty.", "forecasts issued with `tension score --issue`", str(book.path),
                                 "Issue scores first, or pass --ledger."))
    t = exp.alerts.threshold if threshold is None else threshold
    record = book.track_record(threshold=t, include_hindcasts=hindcasts)
    rows = record.to_dict("records")
    summary = book.summary()
    emit({"ledger": str(book.path), "threshold": t, **summary, "track_record": rows}, as_json,
         table=dict_table("Track record (lower Brier / log score is better)", rows),
         lines=[f"{summary['issued']} issued, {summary['resolved']} resolved, {summary['open']} open"
                + ("" if rows else "; nothing resolved yet") + "."])
    console.print("Hindcasts are excluded." if not hindcasts else "Hindcasts included (not the official record).")
