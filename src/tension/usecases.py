"""Use-cases the command line and the retrain job share, so both publish the same thing.

- :func:`load_scored_model`: a registry model with its label and the backtest behind its bands.
- :func:`calibrated_scores`: the scores table of one date, with the bands of the model's own
  backtest and evidence read from the store for the scored dyads only.
- :func:`report_inputs`: what a report needs besides the scores: the panel, the data-health
  dict, the model card, the title and the thresholds.

``tension score`` / ``tension report`` and ``tension retrain`` (:mod:`tension.jobs`) call these;
so the same champion, store and date give the same probabilities and bands wherever they are
published.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .config import Experiment, project_data_dir
from .errors import UsageError, problem
from .scoring import horizons_of, score
from .scoring.evidence import events_relation
from .targets import TargetSpec, target_spec

__all__ = ["ScoredModel", "load_scored_model", "fitted_model", "calibrated_scores", "ReportInputs", "report_inputs",
           "store_health", "model_card", "backtest_table", "scoring_dates", "check_model_uri", "report_settings"]


@dataclass(frozen=True)
class ScoredModel:
    """A model ready to score: the model, its label in scores and ledger, and the backtest behind its bands."""

    model: Any
    label: str
    name: str = ""
    """The model's name in configurations and backtests (``logit``, ``history``)."""
    version: int | None = None
    run_id: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    calibration: pd.DataFrame | None = None
    band_source: str = "none: no backtest of this model"
    target: TargetSpec = field(default_factory=TargetSpec)
    """What the model forecasts: the target it was trained on (the experiment's for a model that does not say)."""


def _target_of(config: Mapping[str, Any], experiment: Experiment) -> TargetSpec:
    """The target recorded with a model (its config's ``target``) over the experiment's ``[target]``."""
    recorded = config.get("target") or {}
    known = {k: v for k, v in dict(recorded).items() if k in ("name", "horizon", "k", "q", "quantile", "lookback")}
    return target_spec(TargetSpec.from_config(experiment.target), **known)


def _identity(uri: str, experiment: Experiment) -> dict[str, Any]:
    """Registered name, version and MLflow run behind a ``models:/`` URI (best effort)."""
    from . import tracking

    m = re.match(r"models:/([^/@]+)(?:@(.+)|/(\d+))?$", uri)
    name = m.group(1) if m else experiment.tracking.registered_model
    exp = dataclasses.replace(experiment, tracking=dataclasses.replace(experiment.tracking, registered_model=name))
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


def backtest_table(path: Path | None) -> pd.DataFrame | None:
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


def _band_history(experiment: Experiment, version: int | None, label: str, model_name: str,
                  path: Path | None) -> tuple[pd.DataFrame | None, str]:
    """The scored model's own resolved backtest forecasts behind the bands, and where they come from.

    First the predictions stored with the model version in MLflow (``tension model promote``
    and ``retrain`` store them); else this model's rows of ``path`` (or
    ``data/predictions.parquet``). A file without rows of the scored model is refused: its
    bands would describe another model.
    """
    from . import tracking

    stored = tracking.backtest_predictions(experiment, version)
    if stored is not None and len(stored):
        return stored.dropna(subset=["outcome"]), f"the backtest stored with {label}"
    table = backtest_table(path)
    if table is None or not len(table):
        return None, "none: no backtest of this model"
    models = sorted(set(table["model"].astype(str))) if "model" in table else []
    if model_name not in models:
        if path is None:  # the default file is someone else's backtest: no band rather than a wrong one
            return None, "none: no backtest of this model"
        raise UsageError(problem(
            f"The backtest file holds no forecasts of the scored model {model_name!r} ({label}), so its "
            "bands would describe another model.", f"rows with model == {model_name!r}",
            f"{path} with models {', '.join(models) or '(no model column)'}",
            f"Backtest this model (`tension backtest --models {model_name} --out FILE`) and pass that file, "
            "or drop --backtest: scores then carry 'no band: no backtest of this model'."))
    mine = table[table["model"].astype(str) == model_name]
    where = path or "data/predictions.parquet"
    return mine.dropna(subset=["outcome"]), f"{where}, rows of model {model_name} (not stored with {label})"


def check_model_uri(uri: str) -> None:
    """Refuse anything but a registry URI (``models:/...``) with a fix."""
    if not uri.startswith("models:/"):
        raise UsageError(problem("Only registry models can be scored.", "a registry URI such as models:/tension@champion "
                                 "or models:/tension/3", uri, "Register the model first (`tension train`), then "
                                 "pass --model models:/NAME@ALIAS."))


def load_scored_model(experiment: Experiment, uri: str, backtest: Path | None = None) -> ScoredModel:
    """The registry model at ``uri`` (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``), ready to score.

    Its bands come from the backtest stored with the version, else from this model's rows of
    ``backtest`` (see :func:`calibrated_scores`).
    """
    from . import tracking

    check_model_uri(uri)
    loaded = tracking.load_estimator(uri, experiment)
    ident = _identity(uri, experiment)
    name = str(loaded.config.get("model") or "")
    calibration, source = _band_history(experiment, ident["version"], ident["label"], name, backtest)
    return ScoredModel(loaded, ident["label"], name, ident["version"], ident["run_id"], dict(loaded.config),
                       calibration, source, _target_of(loaded.config, experiment))


def fitted_model(estimator: Any, label: str, target: TargetSpec,
                 calibration: pd.DataFrame | None = None) -> ScoredModel:
    """A fitted estimator of ``target`` outside the registry (the retrain job's history fallback), labelled ``label``."""
    source = f"the backtest of {label}" if calibration is not None and len(calibration) else "none: no backtest of this model"
    return ScoredModel(estimator, label, label, calibration=calibration, band_source=source, target=target)


def calibrated_scores(experiment: Experiment, model: ScoredModel, panel: pd.DataFrame, as_of: Any, store: Any, *,
                      previous: pd.DataFrame | None = None, horizons: Sequence[int] | None = None,
                      engine: Any = None) -> pd.DataFrame:
    """The scores table of ``model`` at ``as_of``: what ``tension score`` and ``tension retrain`` publish.

    Probabilities from the model as registered (calibrated when it is); 80% bands from the
    model's own backtest (:func:`load_scored_model`); evidence read from ``store`` (a
    :class:`tension.store.Store` or its folder) for the scored dyads and the evidence window
    only; ``change`` against ``previous`` (``Ledger.latest()``). ``horizons`` default to the
    model's own, else its target's horizon. ``engine`` (``tension.engines``) runs
    the scoring; default this process. ``attrs["band_source"]`` says where the bands came from.
    """
    hs = tuple(horizons) if horizons else (horizons_of(model.model) or (model.target.horizon,))
    run = engine.score if engine is not None else score
    out = run(model.model, panel, as_of=as_of, horizons=hs, previous=previous, events=store,
              regions=experiment.regions or None, model_version=model.label, calibration=model.calibration)
    out.attrs["band_source"] = model.band_source
    return out


# --------------------------------------------------------------------------- report


def _location(store: Any) -> str:
    return str(getattr(store, "location", store))


def _recent_facts(store: Any, start: Any) -> tuple[dict[str, int], set[str]]:
    """Unresolved actor names (top 15 by events) and datasets of the events from ``start``, as DuckDB aggregates."""
    con = duckdb.connect()
    try:
        scan = events_relation(con, store, start, None)
        if scan is None:
            return {}, set()
        rel = scan[0]
        where = f"date >= DATE '{pd.Timestamp(start).date()}'"
        names = con.execute(f"""
            SELECT actor, count(*) AS n FROM (
                SELECT source_actor AS actor FROM {rel} WHERE {where}
                  AND source_country IS NULL AND source_org IS NULL AND source_actor IS NOT NULL
                UNION ALL
                SELECT target_actor FROM {rel} WHERE {where}
                  AND target_country IS NULL AND target_org IS NULL AND target_actor IS NOT NULL)
            GROUP BY actor ORDER BY n DESC, actor LIMIT 15""").fetchall()
        datasets = {str(r[0]) for r in con.execute(f"SELECT DISTINCT dataset FROM {rel} WHERE {where} "
                                                    "AND dataset IS NOT NULL").fetchall()}
    finally:
        con.close()
    return {str(a): int(n) for a, n in names}, datasets


def store_health(store: Any, as_of: Any) -> tuple[dict[str, Any], set[str]]:
    """The report's data-health dict (store counts, quarantine, unresolved actors of the last year) and the datasets seen."""
    from .store import Store

    st = store if isinstance(store, Store) else Store(_location(store))
    summary = st.summary()
    unresolved, datasets = _recent_facts(st, pd.Timestamp(as_of) - pd.DateOffset(years=1))
    health = {"events": summary.get("events"), "last_event_date": summary.get("last_date"),
              "unresolved_actor_events": summary.get("unresolved_actor_events"),
              "quarantined": summary.get("quarantined_by_reason") or {}, "unresolved_actors": unresolved}
    return health, datasets


def _backtest_of(table: pd.DataFrame, label: str, run_id: str | None) -> dict[str, Any]:
    """Which model version a backtest table belongs to, when its rows say (``model_version`` or the training run)."""
    if "model_version" in table and table["model_version"].notna().any():
        return {"backtest_of": ", ".join(sorted(set(table["model_version"].dropna().astype(str))))}
    if run_id and "run_id" in table and run_id in set(table["run_id"].astype(str)):
        return {"backtest_of": label}
    return {}


def _registry_card(label: str, experiment: Experiment) -> dict[str, Any]:
    from . import tracking

    m = re.match(r"(.+)/(\d+)$", label)
    if not m:
        return {}
    card: dict[str, Any] = {}
    versions = tracking.model_versions(experiment)
    hit = versions[versions["version"] == int(m.group(2))]
    if len(hit):
        card["run_id"] = str(hit["run_id"].iloc[0])
    cfg = tracking.load_estimator(f"models:/{m.group(1)}/{m.group(2)}", experiment).config
    target = cfg.get("target") or {}
    card.update({"model": cfg.get("model"), "trained_through": cfg.get("data_cutoff"),
                 "target": target.get("name"), "horizon": target.get("horizon"), "freq": cfg.get("freq"),
                 "features": len(cfg.get("features") or []), "registered_model": m.group(1)})
    if cfg.get("skill_vs_history"):  # the gate's comparison with the history baseline, when recorded
        card["skill_vs_history"] = list(cfg["skill_vs_history"])
    if cfg.get("train_start") or cfg.get("training_window"):
        card["training_window"] = cfg.get("training_window") or f"{cfg.get('train_start')} to {cfg.get('data_cutoff')}"
    return card


def model_card(scores: pd.DataFrame, experiment: Experiment, backtest: Path | None = None,
               skill: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the registry knows about the model behind the scores (tracking failures leave it partial).

    A model outside the registry (the history fallback) is described from the experiment.
    ``skill`` (the promotion gate's records) replaces the recorded comparison with history.
    """
    label = str(scores["model_version"].iloc[0])
    card: dict[str, Any] = {"version": label}
    try:
        card.update(_registry_card(label, experiment))
    except Exception as exc:  # noqa: BLE001 - the report still renders; the card says what is missing
        card["notes"] = f"registry unavailable: {type(exc).__name__}"
    if "model" not in card and "notes" not in card:
        card.update({"model": label, "trained_through": str(pd.to_datetime(scores["as_of"]).max().date()),
                     "target": experiment.target.name, "horizon": experiment.target.horizon,
                     "freq": scores.attrs.get("freq"), "features": 0,
                     "registered_model": experiment.tracking.registered_model})
    if skill is not None:
        card["skill_vs_history"] = list(skill)
    table = backtest_table(backtest)
    if table is not None and len(table):
        from .backtest import skill_vs_history

        card["predictions"] = table
        card.update(_backtest_of(table, label, card.get("run_id")))
        measured = skill_vs_history(table, models=[card["model"]] if card.get("model") in set(table["model"]) else None)
        if measured:  # a backtest with the history baseline in it says more than the gate's record
            card["skill_vs_history"] = measured
    return card


@dataclass
class ReportInputs:
    """What :func:`tension.reports.render_report` needs besides the scores, the ledger and the output."""

    panel: pd.DataFrame | None
    health: dict[str, Any] | None
    model_card: dict[str, Any]
    title: str
    regions: Mapping[str, Sequence[str]] | None
    threshold: float
    lookback: int
    thresholds: dict[str, float]

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``render_report``."""
        return {"panel": self.panel, "health": self.health, "model_card": self.model_card, "title": self.title,
                "regions": self.regions, "threshold": self.threshold, "lookback": self.lookback,
                "thresholds": self.thresholds}


def report_inputs(experiment: Experiment, scores: pd.DataFrame, store: Any = None, *,
                  panel: pd.DataFrame | None = None, backtest: Path | None = None,
                  skill: list[dict[str, Any]] | None = None) -> ReportInputs:
    """The panel (built from ``store`` up to the scores' date unless given), data health and model card of a report.

    Without a store (``None`` or a missing folder) the report has no panel and no health.
    """
    as_of = pd.to_datetime(scores["as_of"]).max()
    health, datasets = None, set()
    location = None if store is None else _location(store)
    if location is not None and ("://" in location or Path(location).exists()):
        if panel is None:
            from .panel import build_panel

            dyads = "undirected" if scores["dyad"].astype(str).str.contains("|", regex=False).any() else "directed"
            freq = str(scores.attrs.get("freq") or experiment.panel.freq)
            panel = build_panel(location, freq=freq, dyads=dyads, config=experiment.panel, regions=experiment.regions,
                                end=(as_of + pd.DateOffset(days=40)).date())
        panel = panel[panel["period"] <= as_of]
        health, datasets = store_health(store, as_of)
    card = model_card(scores, experiment, backtest, skill)
    if panel is not None and len(panel) and card.get("trained_through") and "training_window" not in card:
        card["training_window"] = (f"{pd.Timestamp(panel['period'].min()).date()} (start of the store) to "
                                   f"{card['trained_through']}")
    settings = report_settings(experiment)
    if datasets == {"synthetic"}:
        settings["title"] += " \u2014 SYNTHETIC world (fictional countries)"
    return ReportInputs(panel, health, card, **settings)


def report_settings(experiment: Experiment) -> dict[str, Any]:
    """The report's title, regions and thresholds from the experiment (every format uses them)."""
    return {"title": "Escalation risk watchlist", "regions": experiment.regions or None,
            "threshold": experiment.alerts.threshold, "lookback": int(experiment.target.q),
            "thresholds": {"[alerts] threshold": experiment.alerts.threshold,
                           "[backtest] alert_threshold": experiment.backtest.alert_threshold}}


def scoring_dates(panel: pd.DataFrame, as_of: Any = None, date_from: Any = None,
                  date_to: Any = None) -> tuple[list[pd.Timestamp], bool]:
    """The panel periods to score and whether their forecasts are hindcasts.

    One date: the period holding ``as_of`` (default the latest). A backfill: every period in
    ``[date_from, date_to]``. A forecast is live only when nothing after its date was known:
    a backfill, or a date before the latest period, is a hindcast, kept out of the track record.
    """
    if panel.empty:
        raise UsageError(problem("The panel is empty.", "events in the store", "0 panel rows", "Ingest events first."))
    periods = pd.DatetimeIndex(pd.unique(panel["period"])).sort_values()
    if date_from is not None:
        lo, hi = pd.Timestamp(date_from), pd.Timestamp(date_to)
        dates = list(periods[(periods >= lo) & (periods <= hi)])
        if not dates:
            raise UsageError(problem("No panel period lies in the backfill range.",
                                     f"dates between {periods[0].date()} and {periods[-1].date()}",
                                     f"{lo.date()}..{hi.date()}", "Widen --from/--to."))
        return dates, True
    if as_of is None:
        return [periods[-1]], False
    when = pd.Timestamp(as_of)
    date = periods[periods <= when][-1] if (periods <= when).any() else when
    return [date], date < periods[-1]
