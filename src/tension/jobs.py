"""The scheduled retraining job (``tension retrain``): lock, data-health gate, promotion gate, alerts.

:func:`retrain` runs these steps, writing one JSON line per step to stderr
(``{"step", "status", "seconds", "counts", "message"}``) and the same to the job's
MLflow run. A status is ``ok``, ``skipped``, ``warning``, ``kept`` (champion not replaced),
``busy`` (lock held), ``blocked`` (health gate), ``failed`` or ``killed`` (SIGTERM, Ctrl-C):

1. ``lock``: a file lock; a second run waits up to ``wait`` seconds, then exits 4.
2. ``tracking``: the MLflow store answers (exit 5 otherwise, before anything is written).
3. ``fetch``: optional, the ``[retrain] fetch`` feeds into the inbox.
4. ``ingest``: inbox files not ingested before (by name and SHA-256), one batch.
5. ``health``: expected vs received events per source in the latest complete period, and
   this run's unknown-code and unresolved-actor shares against history; a failure is
   logged to MLflow and blocks everything after it (exit 3).
6. ``panel``: the panel up to the latest complete period.
7. ``train``: a challenger (``[models] candidate``), registered with alias ``challenger``;
   skipped when neither the data (store digest) nor the configuration changed since the
   champion was trained.
8. ``backtest``: champion, challenger and the ``history`` baseline (the pair's own past)
   refitted on the same recent origins.
9. ``promote``: moves ``champion`` (as ``tension model promote`` does, through the same gate)
   if the challenger is better by ``promote_margin`` on ``promote_metric`` than the champion
   (or there is no champion yet) *and* better than ``history``. A model that does not beat
   history is never promoted.
10. ``score`` / ``issue`` / ``report`` / ``alerts``: the champion's scores enter the
    ledger, a report is rendered, alert crossings are written and POSTed. When neither
    champion nor challenger beats history on the gate's origins, the published forecast
    is the history model, labelled ``history``, and the model card's ``skill_vs_history``
    says the trained model adds no skill. Each runs only if its stage exists in this
    installation; otherwise the job stops and says so.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from . import periods
from .alerts import find_alerts, send_alerts
from .config import Experiment, RetrainConfig, default_store, project_data_dir
from .errors import DataHealthError, LockHeldError, TensionError, Terminated, UsageError, problem
from .gates import LOWER_IS_BETTER, Gate, gate_spec, health_check, history_gate, promotion_gate
from .targets import TargetSpec

__all__ = [
    "JobReport",
    "Gate",
    "promotion_gate",
    "retrain",
    "latest_complete_period",
    "period_start",
    "health_check",
    "find_alerts",
    "send_alerts",
    "LOWER_IS_BETTER",
    "INGESTED_FILE",
    "gate_spec",
    "history_gate",
]

INGESTED_FILE = ".ingested.json"


latest_complete_period = periods.latest_complete
"""The label of the last period that ended before ``as_of`` (:func:`tension.periods.latest_complete`)."""
period_start = periods.label
"""The label of the period holding each date (:func:`tension.periods.label`)."""


# --------------------------------------------------------------------------- the job


def daily_counts(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Events per (``date``, ``dataset``) from ``start`` to ``end``, read one month at a time: the health gate's counts.

    Memory follows the days and sources, not the events (one month's two columns at most).
    """
    parts, start, end = [], pd.Timestamp(start), pd.Timestamp(end)
    month = periods.label(start, "M")
    while month <= end:
        after = periods.shift(month, 1, "M")
        table = store.read_table(start=max(month, start).date(), end=min(after - pd.Timedelta(days=1), end).date(), columns=["date", "dataset"])
        if table.num_rows:
            parts.append(table.group_by(["date", "dataset"]).aggregate([("date", "count")]).to_pandas())
        month = after
    if not parts:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "dataset": pd.Series(dtype=object), "events": pd.Series(dtype="int64")})
    out = pd.concat(parts, ignore_index=True).rename(columns={"date_count": "events"})
    out["date"] = pd.to_datetime(out["date"])
    return out


@dataclass
class JobReport:
    """What one retrain did: its steps (as logged), the aliases after it, and a summary line."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    champion: int | None = None
    challenger: int | None = None
    promoted: bool = False
    published_model: str | None = None
    health: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Steps:
    """Times steps and writes one JSON line per step to stderr (and to the MLflow job run)."""

    def __init__(self, report: JobReport, log: Callable[[str], None]) -> None:
        self.report = report
        self.log = log
        self.on_step: Callable[[dict[str, Any]], None] | None = None

    def record(self, step: str, status: str, seconds: float = 0.0, counts: Mapping[str, Any] | None = None,
               message: str = "") -> None:
        line = {"step": step, "status": status, "seconds": round(seconds, 3), "counts": dict(counts or {})}
        if message:
            line["message"] = message
        self.report.steps.append(line)
        self.log(json.dumps(line, default=str))
        if self.on_step is not None:
            try:
                self.on_step(line)
            except TensionError:
                pass

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, Any]]:
        """Run a step; the yielded dict collects ``counts``, ``status`` and ``message``."""
        info: dict[str, Any] = {"counts": {}, "status": "ok", "message": ""}
        t0 = time.perf_counter()
        try:
            yield info
        except BaseException as exc:
            status = ("blocked" if isinstance(exc, DataHealthError)
                      else "killed" if isinstance(exc, (KeyboardInterrupt, Terminated)) else "failed")
            self.record(name, status, time.perf_counter() - t0, info["counts"], str(exc).splitlines()[0][:300])
            raise
        self.record(name, info["status"], time.perf_counter() - t0, info["counts"], info["message"])


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _beside_store(store: str, name: str) -> Path:
    if "://" in store:
        return project_data_dir() / name
    return Path(store).resolve().parent / name


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _new_inbox_files(inbox: Path) -> tuple[list[Path], dict[str, Any]]:
    """Inbox files whose (name, SHA-256) is not in ``<inbox>/.ingested.json``."""
    from .fetch import inbox_files

    state_path = inbox / INGESTED_FILE
    state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() else {"files": {}}
    new = []
    for path in inbox_files(inbox):
        digest = _sha256(path)
        if state["files"].get(path.name, {}).get("sha256") != digest:
            new.append(path)
            state["files"][path.name] = {"sha256": digest, "size": path.stat().st_size}
    return new, state


def _save_state(inbox: Path, state: dict[str, Any]) -> None:
    tmp = inbox / f"{INGESTED_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, inbox / INGESTED_FILE)


def config_digest(experiment: Experiment) -> str:
    """Digest of everything that shapes a model (panel, target, backtest, models), not the job settings."""
    parts = {k: dataclasses.asdict(getattr(experiment, k)) for k in ("panel", "target", "backtest", "models")}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def retrain(
    experiment: Experiment,
    *,
    config_path: str | Path | None = None,
    wait: float = 0.0,
    as_of: Any = None,
    store: str | None = None,
    track: bool = True,
    log: Callable[[str], None] = _stderr,
    engine: str = "local",
    scheduler: str | None = None,
) -> JobReport:
    """Run the scheduled job once; see the module docstring for the steps.

    Raises
    ------
    LockHeldError
        Another retrain holds the lock after ``wait`` seconds (exit 4).
    TrackingUnavailableError
        MLflow cannot be reached (exit 5); checked before anything is ingested.
    DataHealthError
        The data-health gate blocked promotion and publication (exit 3).
    """
    cfg = experiment.retrain
    report = JobReport()
    steps = _Steps(report, log)
    store_loc = store or experiment.store or default_store()
    if not cfg.inbox:
        raise UsageError(problem("The retrain job has no inbox.", "[retrain] inbox = \"path/to/inbox\"",
                                 fix="Add it to the config file: the folder new event files arrive in."))
    inbox = Path(cfg.inbox)
    freq = periods.check(experiment.panel.freq)
    reference = as_of or cfg.as_of or date.today().isoformat()
    try:
        latest = latest_complete_period(reference, freq)
    except (ValueError, TypeError):
        raise UsageError(problem("The as-of date is invalid.", "YYYY-MM-DD", reference)) from None
    lock_path = Path(cfg.lock) if cfg.lock else _beside_store(store_loc, "retrain.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    lock = FileLock(str(lock_path), timeout=max(float(wait), 0.0))
    try:
        lock.acquire()
    except Timeout:
        steps.record("lock", "busy", time.perf_counter() - t0, message=f"{lock_path} is held")
        raise LockHeldError(problem(
            f"Another retrain is running (lock {lock_path}).", f"the lock to be free within {wait:g} s",
            fix="Let it finish, or pass --wait SECONDS to queue behind it.")) from None
    try:
        steps.record("lock", "ok", time.perf_counter() - t0, {"waited_seconds": round(time.perf_counter() - t0, 3)})
        from .engines import get_engine

        with get_engine(engine, scheduler) as eng:
            return _run(experiment, cfg, report, steps, store_loc, inbox, latest, freq, config_path, track, eng)
    except TensionError as exc:
        exc.report = report  # type: ignore[attr-defined]  # the CLI prints the steps done so far with --json
        raise
    finally:
        lock.release()


def _run(experiment: Experiment, cfg: RetrainConfig, report: JobReport, steps: _Steps, store_loc: str, inbox: Path,
         latest: pd.Timestamp, freq: str, config_path: str | Path | None, track: bool, eng: Any) -> JobReport:
    from . import tracking

    with steps.step("tracking") as s:
        if track:
            uri = tracking.ensure_store(tracking.tracking_uri(experiment.tracking))
            # we hold the retrain lock: job runs still RUNNING belong to killed processes
            stale = tracking.close_stale_runs(experiment, closed_by="the next retrain")
            s["counts"] = {"champion": tracking.alias_version(experiment, tracking.CHAMPION) or 0,
                           "stale_runs_closed": len(stale["closed_runs"]),
                           "orphan_versions_labelled": len(stale["orphan_versions"])}
            s["message"] = uri
            if stale["closed_runs"]:
                s["message"] += (f"; closed {len(stale['closed_runs'])} run(s) of a killed retrain as KILLED, "
                                 f"labelled orphan version(s) {stale['orphan_versions'] or 'none'}")
        else:
            s["status"] = "skipped"
            s["message"] = "--no-track: nothing is registered, promoted or published"
    with tracking.job_run(experiment, track=track, run_name=f"retrain {latest.date()}") as run_id:
        report.run_id = run_id
        steps.on_step = lambda line: tracking.log_job_step(run_id, experiment, line["step"], line["status"],
                                                           line["seconds"], line["counts"])
        _pipeline(_Job(experiment, cfg, report, steps, store_loc, inbox, latest, freq, config_path, track, run_id, eng))
    return report


@dataclass
class _Job:
    """One retrain's context; each method is one step of :func:`_pipeline`."""

    experiment: Experiment
    cfg: RetrainConfig
    report: JobReport
    steps: _Steps
    store_loc: str
    inbox: Path
    latest: pd.Timestamp
    freq: str
    config_path: str | Path | None
    track: bool
    run_id: str | None
    eng: Any

    def fetch(self) -> None:
        """The ``[retrain] fetch`` feeds into the inbox (a failed file is a warning: the gate checks volumes)."""
        with self.steps.step("fetch") as s:
            if not self.cfg.fetch:
                s["status"] = "skipped"
                s["message"] = "no [retrain] fetch feeds"
                return
            from .fetch import fetch

            since = self.cfg.fetch_since or str(periods.shift(self.latest, -self.cfg.health_history, self.freq).date())
            totals = {"downloaded": 0, "already": 0, "failed": 0}
            for feed in self.cfg.fetch:
                rep = fetch(feed, since, self.inbox, list_url=self.cfg.fetch_list_url or None)
                totals["downloaded"] += len(rep.downloaded)
                totals["already"] += rep.already
                totals["failed"] += len(rep.failed)
            s["counts"] = totals
            if totals["failed"]:
                s["status"] = "warning"
                s["message"] = f"{totals['failed']} file(s) not accepted (see `tension fetch`); the gate checks volumes"

    def ingest(self) -> tuple[dict[str, Any], int]:
        """Inbox files not ingested before, as one batch: (this run's counts for the health gate, rows stored)."""
        from .ingest import ingest
        from .store import Store

        with self.steps.step("ingest") as s:
            self.inbox.mkdir(parents=True, exist_ok=True)
            new, state = _new_inbox_files(self.inbox)
            if not new:
                s["counts"] = {"files": 0, "read": 0, "stored": 0, "duplicates": 0, "quarantined": 0}
                s["message"] = "nothing new in the inbox"
                return {}, 0
            total = ingest([str(p) for p in new], Store(self.store_loc), format=self.cfg.format).total
            s["counts"] = {"files": len(new), "read": total.read, "stored": total.stored,
                           "duplicates": total.duplicates, "quarantined": total.quarantined}
            _save_state(self.inbox, state)
        run_counts = {"read": total.read, "quarantined_unknown": total.quarantined_by_reason.get("unknown_event_code", 0),
                      "unresolved_events": total.unresolved_events}
        return run_counts, int(total.stored)

    def health(self, store: Store, run_counts: dict[str, Any]) -> None:
        """The data-health gate; raises :class:`DataHealthError` (exit 3) when it fails."""
        from . import tracking

        with self.steps.step("health") as s:
            start = periods.shift(self.latest, -self.cfg.health_history, self.freq)
            events = daily_counts(store, start, periods.shift(self.latest, 1, self.freq) - pd.Timedelta(days=1))
            summary = store.summary()
            history = {"read": summary.get("read", 0),
                       "quarantined_unknown": (summary.get("quarantined_by_reason") or {}).get("unknown_event_code", 0),
                       "unresolved_events": summary.get("unresolved_actor_events", 0)}
            health = health_check(events, self.latest, self.freq, self.cfg, run_counts, history)
            self.report.health = health
            tracking.track_health(health, experiment=self.experiment, track=self.track, parent_run_id=self.run_id)
            s["counts"] = {"sources": len(health["sources"]), "problems": len(health["problems"])}
            if not health["passed"]:
                self.report.summary = "Data-health gate blocked promotion and publication."
                raise DataHealthError("Data-health gate failed; nothing was promoted or published.\n  - "
                                      + "\n  - ".join(health["problems"]))

    def panel(self) -> pd.DataFrame:
        """The panel up to the latest complete period (a usage error when it is empty)."""
        with self.steps.step("panel") as s:
            end = (periods.shift(self.latest, 1, self.freq) - pd.Timedelta(days=1)).date()
            panel = self.eng.build_panel(self.store_loc, freq=self.freq, dyads=self.experiment.panel.dyads,
                                         config=self.experiment.panel, end=end, regions=self.experiment.regions or None)
            panel = panel[pd.DatetimeIndex(panel["period"]) <= self.latest]
            s["counts"] = {"rows": len(panel), "dyads": int(panel["dyad"].nunique()),
                           "periods": int(panel["period"].nunique())}
        if panel.empty:
            raise UsageError(problem("The panel is empty.", "events before the as-of date", fix="Check [retrain] as_of."))
        return panel

    def train_key(self, panel: pd.DataFrame) -> str:
        """What a trained model depends on: the panel rows up to the as-of period, configuration, candidate and code."""
        from . import tracking
        from .backtest import panel_digest, rerun_key

        return rerun_key("train", panel_digest(panel, self.latest), config_digest(self.experiment),
                         str(self.latest.date()), self.experiment.models.candidate, tracking.code_version())

    def same_as_champion(self, champion: int | None, train_key: str, stored_now: int, store: Store) -> bool:
        """Whether the champion was trained on exactly what a challenger would be trained on now."""
        from . import tracking

        if champion is None:
            return False
        tags = tracking.version_tags(self.experiment, champion)
        if "train_key" in tags:  # later events do not count, only the panel rows up to the as-of period
            return tags["train_key"] == train_key
        # versions registered before train keys: no new events at all
        return (stored_now == 0 and tags.get("store_digest") == store.digest
                and tags.get("config_digest") == config_digest(self.experiment))

    def train(self, panel: pd.DataFrame, train_key: str, store: Store) -> None:
        """Fit the candidate up to the as-of period and register it with alias ``challenger``."""
        from . import tracking
        from .backtest import fit_final
        from .models import make_model

        name = self.experiment.models.candidate
        target = TargetSpec.from_config(self.experiment.target)
        with self.steps.step("train") as s:
            est, info = fit_final(make_model(name), panel, self.latest, self.freq, target=target)
            rec = tracking.track_train(est, panel, experiment=self.experiment, model_name=name, features=info["features"],
                                       store=store, config_path=self.config_path, track=self.track,
                                       alias=tracking.CHALLENGER, parent_run_id=self.run_id,
                                       run_name=f"challenger {name}",
                                       metrics={"train_rows": info["rows"], "train_positives": info["positives"]},
                                       version_tags={"config_digest": config_digest(self.experiment),
                                                     "train_key": train_key},
                                       cutoff=self.latest)
            self.report.challenger = rec.version
            s["counts"] = {"rows": info["rows"], "positives": info["positives"], "version": rec.version or 0}
            for w in info.get("warnings", []):
                s["message"] = (s["message"] + "; " if s["message"] else "") + str(w)[:200]

    def backtest(self, panel: pd.DataFrame, champion: int | None, store: Store) -> Gate:
        """Champion, challenger and ``history`` refitted on the gate's recent origins."""
        from . import tracking
        from .models import make_model

        name, metric = self.experiment.models.candidate, self.cfg.promote_metric
        with self.steps.step("backtest") as s:
            champ_est = None
            if champion is not None:
                champ_est = tracking.load_estimator(tracking.model_uri(self.experiment.tracking.registered_model),
                                                    self.experiment).estimator
            gate = promotion_gate(self.experiment, panel, self.latest, make_model(name), champ_est, eng=self.eng,
                                  parent_run_id=self.run_id, track=self.track)
            tracking.track_backtest(gate.result, experiment=self.experiment, store=store, panel=None,
                                    config_path=self.config_path, track=self.track, parent_run_id=self.run_id,
                                    run_name="champion vs challenger",
                                    extra_metrics={f"promote_{m}_{metric}": v for m, v in gate.scores.items()
                                                   if np.isfinite(v)})
            if self.track and self.report.challenger is not None:
                tracking.store_backtest_predictions(self.experiment, self.report.challenger, gate.own_predictions(name))
            s["counts"] = {"origins": int(gate.result.predictions["origin"].nunique()),
                           **{f"{metric}_{m}": v for m, v in gate.scores.items()}}
        return gate

    def promote(self, gate: Gate, champion: int | None) -> None:
        """Move ``champion`` to the challenger if the gate says so; otherwise say which bar it missed."""
        from . import tracking

        metric, scores, report = self.cfg.promote_metric, gate.scores, self.report
        with self.steps.step("promote") as s:
            if not self.track or report.challenger is None:
                s["status"] = "skipped"
                s["message"] = "not tracked: nothing to promote"
            elif gate.promote:
                tracking.set_alias(self.experiment, tracking.CHAMPION, report.challenger)
                report.promoted = True
                s["message"] = (f"challenger v{report.challenger} promoted to champion"
                                + (f" ({metric} {scores['challenger']:.4f} vs {scores['champion']:.4f})" if champion
                                   else " (first champion)"))
                report.champion = report.challenger
            elif not gate.beats_history["challenger"]:
                s["status"] = "kept"
                s["message"] = (f"challenger v{report.challenger} not promoted: it does not beat the pair's own history "
                                f"({metric} {scores['challenger']:.4f} vs history {scores['history']:.4f})")
            else:
                s["status"] = "kept"
                s["message"] = (f"champion v{champion} kept: challenger {metric} {scores['challenger']:.4f} vs "
                                f"{scores['champion']:.4f} (margin {self.cfg.promote_margin})")
            s["counts"] = {"champion": report.champion or 0, "challenger": report.challenger or 0}

    def history_fallback(self, gate: Gate, panel: pd.DataFrame) -> Any:
        """The ``history`` model fitted up to the as-of period, its bands from the gate's backtest of history."""
        from .backtest import fit_final
        from .models import make_model
        from .usecases import fitted_model

        target = TargetSpec.from_config(self.experiment.target)
        history_est, _ = fit_final(make_model("history"), panel, self.latest, self.freq, target=target)
        return fitted_model(history_est, "history", target, calibration=gate.history_predictions())


def _pipeline(job: _Job) -> None:
    """fetch, ingest, health, panel, train, backtest, promote, then publish (see the module docstring)."""
    from . import tracking
    from .store import Store

    report = job.report
    job.fetch()
    run_counts, stored_now = job.ingest()
    store = Store(job.store_loc)
    job.health(store, run_counts)
    panel = job.panel()
    champion = tracking.alias_version(job.experiment, tracking.CHAMPION) if job.track else None
    report.champion = champion
    train_key = job.train_key(panel)

    if job.same_as_champion(champion, train_key, stored_now, store):
        job.steps.record("train", "skipped", message=f"same data, configuration and code as champion v{champion}: "
                                                     "nothing registered")
        for step in ("backtest", "promote"):
            job.steps.record(step, "skipped", message="nothing new since the champion was trained")
        report.summary = f"Nothing new: champion v{champion} unchanged."
        if _published(job.cfg, job.store_loc, job.latest, champion):
            job.steps.record("score", "skipped", message=f"the champion's forecasts for {job.latest.date()} are in the ledger")
            return
        # An earlier run stopped after promotion (crash, kill): publish what it did not.
        _publish(job.experiment, job.cfg, report, job.steps, store, job.store_loc, panel, job.latest)
        return

    job.train(panel, train_key, store)
    gate = job.backtest(panel, champion, store)
    job.promote(gate, champion)
    if not job.track:
        report.summary = "Not tracked: trained and backtested only."
        return
    published = "challenger" if report.promoted or champion is None else "champion"
    skill = gate.skill_records(published, job.experiment.models.candidate if published == "challenger" else "champion")
    fallback = None
    if report.champion is None or not gate.beats_history.get(published, False):
        fallback = job.history_fallback(gate, panel)
        skill = [{**r, "beats_history": False} for r in skill]
    _publish(job.experiment, job.cfg, report, job.steps, store, job.store_loc, panel, job.latest,
             fallback=fallback, skill=skill)


def _published(cfg: RetrainConfig, store_loc: str, latest: pd.Timestamp, champion: int | None) -> bool:
    """Whether champion ``v<champion>``'s live forecasts for ``latest`` are in the ledger and its report exists."""
    if not _have("tension.ledger"):
        return True
    from .ledger import Ledger

    ledger = Ledger(cfg.ledger or _beside_store(store_loc, "ledger"))
    if not (ledger.path / "manifests").is_dir():
        return False
    f = ledger.forecasts()
    if f.empty:
        return False
    mine = f[(pd.to_datetime(f["as_of"]) == latest) & ~f["hindcast"].astype(bool)]
    issued = bool(len(mine)) and mine["model_version"].astype(str).str.endswith(f"/{champion}").any()
    reports = Path(cfg.reports) if cfg.reports else _beside_store(store_loc, "reports")
    return bool(issued) and (reports / f"report-{latest.date()}.html").is_file()


def _publish(experiment: Experiment, cfg: RetrainConfig, report: JobReport, steps: _Steps, store: Any,
             store_loc: str, panel: pd.DataFrame, latest: pd.Timestamp, fallback: Any = None,
             skill: list[dict[str, Any]] | None = None) -> None:
    """Score with the champion (or the history ``fallback``, a fitted model whose bands come from the
    gate's backtest of history), issue, render the report, send alerts.

    The scores and the report come from :mod:`tension.usecases`, as ``tension score --issue`` and
    ``tension report`` make them.
    """
    from .ledger import Ledger
    from .reports import render_report
    from .usecases import calibrated_scores, load_scored_model, report_inputs

    ledger = Ledger(cfg.ledger or _beside_store(store_loc, "ledger"))
    with steps.step("score") as s:
        model = fallback or load_scored_model(experiment, f"models:/{experiment.tracking.registered_model}/{report.champion}")
        report.published_model = model.label
        previous = ledger.latest()
        scores = calibrated_scores(experiment, model, panel, latest, store, previous=previous,
                                   horizons=(model.target.horizon,))
        s["counts"] = {"dyads": len(scores)}
    with steps.step("issue") as s:
        s["counts"] = {"issued": ledger.issue(scores, panel=panel, target=model.target)}
    with steps.step("report") as s:
        out = Path(cfg.reports) if cfg.reports else _beside_store(store_loc, "reports")
        out.mkdir(parents=True, exist_ok=True)
        inputs = report_inputs(experiment, scores, store, panel=panel, skill=skill or [])
        path = render_report(scores, **inputs.as_kwargs(), ledger=ledger, out=out / f"report-{latest.date()}.html")
        s["message"] = str(path)
    with steps.step("alerts") as s:
        alerts = find_alerts(scores, experiment.alerts, previous)
        file = experiment.alerts.file or _beside_store(store_loc, "alerts.jsonl")
        sent = send_alerts(alerts, file, experiment.alerts.webhook)
        s["counts"] = {"alerts": sent["alerts"], "posted": int(sent["posted"])}
        if sent["webhook_error"]:
            s["status"] = "warning"
            s["message"] = f"webhook failed: {sent['webhook_error']} (alerts are in {file})"
    report.summary = (("History baseline published (no trained model beats the pair's own history)" if fallback is not None
                       else f"Champion v{report.champion}" + (" (newly promoted)" if report.promoted else ""))
                      + f": {len(scores)} scores issued, {sent['alerts']} alert(s).")
