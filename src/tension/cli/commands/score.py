"""``tension score``: the registered model's calibrated scores for a date (or a backfill), optionally issued."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from ..._io import atomic_output
from ...config import load_experiment, project_data_dir
from ...errors import UsageError, problem
from .. import app
from .._common import EngineOpt, JsonOpt, SchedulerOpt, StoreOpt, dict_table, emit, parse_date, progress, store_path
from .ledger import ConfigOpt, LedgerOpt, check_store, ledger_path


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


def _check_dates(as_of: str | None, date_from: str | None, date_to: str | None) -> None:
    for text, option in ((as_of, "--as-of"), (date_from, "--from"), (date_to, "--to")):
        parse_date(text, option)  # refused before anything is read
    if (date_from is None) != (date_to is None):
        raise UsageError(problem("A backfill needs both ends.", "--from DATE --to DATE", date_from or date_to,
                                 "Pass both --from and --to, or neither."))
    if date_from is not None and as_of is not None:
        raise UsageError(problem("--as-of and --from/--to exclude each other.", "one of them", "both",
                                 "Use --as-of for one date, --from/--to for a range."))


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


def _score_dates(exp: Any, scored: Any, panel: pd.DataFrame, dates: list[pd.Timestamp], location: str, book: Any, *,
                 horizons: tuple[int, ...] | None, issue: bool, hindcast: bool, engine: Any, advance: Any) -> tuple[pd.DataFrame, int]:
    """Calibrated scores for each date (issued to ``book`` with ``issue``), concatenated; and how many were issued."""
    from ...usecases import calibrated_scores

    known = (book.path / "manifests").is_dir() and len(book.records())
    frames, issued = [], 0
    for d in dates:
        previous = book.latest(include_hindcasts=hindcast) if known or issued else None
        s = calibrated_scores(exp, scored, panel, d, location, previous=previous, horizons=horizons, engine=engine)
        if issue:
            issued += book.issue(s, panel=panel[panel["period"] <= d], hindcast=hindcast, target=scored.target)
        frames.append(s)
        advance(1)
    scores = pd.concat(frames, ignore_index=True)
    scores.attrs = dict(frames[-1].attrs)
    return scores, issued


def _summary(scores: pd.DataFrame, scored: Any, dates: list[pd.Timestamp], backfill: bool, **extra: Any) -> dict[str, Any]:
    latest = scores[scores["as_of"] == scores["as_of"].max()]
    top = latest.dropna(subset=["rank"]).sort_values(["horizon", "rank"]).head(10)
    return {
        **extra, "model_version": scored.label, "run_id": scored.run_id,
        "as_of": [str(d.date()) for d in dates] if backfill else str(dates[-1].date()),
        "horizons": sorted(int(h) for h in scores["horizon"].unique()), "dyads": int(latest["dyad"].nunique()),
        "coverage": latest.drop_duplicates("dyad")["coverage"].value_counts().to_dict(),
        "band": scores.attrs.get("interval"), "band_source": scores.attrs.get("band_source"),
        "no_band": int(latest["lower"].isna().sum()),
        "top": [{"dyad": r.dyad, "horizon": int(r.horizon), "probability": round(float(r.probability), 4),
                 "lower": round(float(r.lower), 6), "upper": round(float(r.upper), 6), "coverage": r.coverage,
                 "band_note": r.band_note} for r in top.itertuples()],
    }


def _lines(payload: dict[str, Any], n: int) -> list[str]:
    issued = (f"; issued {payload['issued']} to the ledger at {payload['ledger']}" + (" as hindcasts" if payload["hindcast"] else "")
              if payload["ledger"] else "")
    return [f"Bands: {payload['band']}; from {payload['band_source']}"
            + (f"; {payload['no_band']} score(s) without a band (see band_note)" if payload["no_band"] else "") + ".",
            f"Wrote {n} scores for {payload['dyads']} dyads to {payload['out']}{issued}.",
            "Next: tension report --scores " + str(payload["out"])]


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
    from ...engines import get_engine
    from ...ledger import Ledger
    from ...usecases import check_model_uri, load_scored_model, scoring_dates

    _check_dates(as_of, date_from, date_to)
    exp = load_experiment(config)
    uri = model or tracking.model_uri(exp.tracking.registered_model, tracking.CHAMPION)
    check_model_uri(uri)
    location = store_path(store or (exp.store or None))
    check_store(location)
    started = time.perf_counter()
    with get_engine(engine, scheduler) as eng, progress("Loading the model", total=3) as advance:
        scored = load_scored_model(exp, uri, backtest)
        advance(1, description="Building the panel")
        panel = eng.build_panel(location, freq=str(scored.config.get("freq") or exp.panel.freq),
                                dyads=str(scored.config.get("dyads") or exp.panel.dyads), config=exp.panel, regions=exp.regions)
        dates, hindcast = scoring_dates(panel, as_of, date_from, date_to)
        advance(1, description=f"Scoring {len(dates)} date(s)", total=2 + len(dates))
        book = Ledger(ledger_path(ledger))
        scores, issued = _score_dates(exp, scored, panel, dates, location, book, horizons=_parse_horizons(horizon),
                                      issue=issue, hindcast=hindcast, engine=eng, advance=advance)
    stamp = f"{dates[0].date()}_{dates[-1].date()}" if len(dates) > 1 else str(dates[-1].date())
    out = out or project_data_dir() / "scores" / f"scores-{stamp}.parquet"
    _write_scores(scores, out)
    payload = _summary(scores, scored, dates, date_from is not None, out=str(out), engine=engine, model=uri, issued=issued, hindcast=hindcast,
                       ledger=str(book.path) if issue else None)
    payload["seconds"] = round(time.perf_counter() - started, 2)
    emit(payload, as_json, table=dict_table(f"Top dyads as of {dates[-1].date()}", payload["top"]),
         lines=_lines(payload, len(scores)))
