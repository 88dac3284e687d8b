"""Job runs: the parent run of a ``retrain``, its steps, and closing the runs a killed job left open."""
from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..config import Experiment
from ..errors import Terminated
from .provenance import git_commit
from .registry import CHAMPION
from .runs import metric_name
from .session import session
from .setup import configure, tracking_uri

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


@contextlib.contextmanager
def job_run(experiment: Experiment, *, track: bool = True, run_name: str = "retrain") -> Iterator[str | None]:
    """A parent run for a job (``retrain``); yields its id (``None`` when not tracking).

    The run is ended FINISHED on success, KILLED when interrupted (Ctrl-C, or SIGTERM in the
    CLI), FAILED on any other exception. Other tracking calls
    take ``parent_run_id=`` to nest under it.
    """
    if not track:
        yield None
        return
    uri = tracking_uri(experiment.tracking)
    with session(uri, experiment.tracking.experiment) as (client, exp_id):
        run = client.create_run(exp_id, run_name=run_name, tags={"tension.kind": "job",
                                                                 "mlflow.source.git.commit": git_commit(),
                                                                 **_process_tags()})
        status = "FAILED"
        try:
            yield run.info.run_id
            status = "FINISHED"
        except (KeyboardInterrupt, Terminated):
            status = "KILLED"
            raise
        finally:
            with contextlib.suppress(Exception):
                client.set_terminated(run.info.run_id, status)


def log_job_step(run_id: str | None, experiment: Experiment, step: str, status: str, seconds: float,
                 counts: Mapping[str, Any] | None = None) -> None:
    """Record one job step on the job's parent run (metrics ``<step>_seconds`` and counts, tag status)."""
    if run_id is None:
        return
    configure()
    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(experiment.tracking)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    now = int(time.time() * 1000)
    metrics = [Metric(metric_name(step, "seconds"), float(seconds), now, 0)]
    for k, v in (counts or {}).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            metrics.append(Metric(metric_name(step, k), float(v), now, 0))
    client.log_batch(run_id, metrics=metrics, tags=[RunTag(metric_name("step", step), status)])


def _process_tags() -> dict[str, str]:
    """Who runs this job: host, pid and the process's start time (so a reused pid is not mistaken for it)."""
    return {"tension.host": socket.gethostname(), "tension.pid": str(os.getpid()),
            "tension.pid_started": f"{_process_started(os.getpid()) or 0:.3f}"}


def _process_started(pid: int) -> float | None:
    """The start time of process ``pid`` (seconds since the epoch), or None if there is no such process."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.Error:
        return 0.0


def _gone(tags: Mapping[str, str], host: str) -> str:
    """Why the process that runs a job run is gone ('' when it may still be running)."""
    pid = tags.get("tension.pid")
    if not pid:
        return "it was started by a tension without process tags; the retrain lock is free, so its job is not running"
    if tags.get("tension.host") != host:
        return ""  # another machine: cannot tell
    started = _process_started(int(pid))
    recorded = float(tags.get("tension.pid_started") or 0)
    if started is None:
        return f"its process (pid {pid} on {host}) is gone"
    if recorded and started and abs(started - recorded) > 1.0:
        return f"its process (pid {pid} on {host}) is gone; that pid now belongs to another process"
    return ""


def close_stale_runs(experiment: Experiment, closed_by: str = "") -> dict[str, list[str]]:
    """Close job runs left ``RUNNING`` by a killed process, with their children; label their model versions.

    Call it while holding the retrain lock. A ``RUNNING`` job run (tag ``tension.kind=job``) is
    stale when its process is gone (same host, pid dead or reused) or it carries no process
    tags; it and its ``RUNNING`` child runs are set to ``KILLED`` with the tag
    ``tension.closed_reason``. Registered versions made by those runs that no ``champion``
    alias points at are tagged ``tension.orphan=true`` with ``tension.orphan_reason``: a killed
    job never finished evaluating them. Runs on other hosts are left alone. Returns the run ids
    closed and the versions labelled.
    """
    configure()
    from mlflow.entities import ViewType

    host = socket.gethostname()
    closed: list[str] = []
    labelled: list[str] = []
    with session(tracking_uri(experiment.tracking), experiment.tracking.experiment) as (client, exp_id):
        running = client.search_runs([exp_id], "attributes.status = 'RUNNING'", run_view_type=ViewType.ACTIVE_ONLY,
                                     max_results=5000)
        jobs = {r.info.run_id: r for r in running if r.data.tags.get("tension.kind") == "job"}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for run_id, run in jobs.items():
            why = _gone(run.data.tags, host)
            if not why:
                continue
            family = [run_id] + [c.info.run_id for c in client.search_runs(
                [exp_id], f"tags.`mlflow.parentRunId` = '{run_id}'", run_view_type=ViewType.ALL, max_results=5000)]
            closed += _close(client, family, f"closed as KILLED at {stamp}" + (f" by {closed_by}" if closed_by else "")
                             + f": {why}")
            labelled += _label_orphans(client, experiment, family, run_id)
    return {"closed_runs": closed, "orphan_versions": labelled}


def _close(client: MlflowClient, family: list[str], reason: str) -> list[str]:
    """Set the ``RUNNING`` runs of a job's ``family`` (the job run first) to KILLED with ``reason``; return their ids."""
    closed = []
    for member in family:
        if client.get_run(member).info.status != "RUNNING":
            continue
        client.set_tag(member, "tension.closed_reason", reason + ("" if member == family[0] else f" (job run {family[0]})"))
        client.set_terminated(member, "KILLED")
        closed.append(member)
    return closed


def _label_orphans(client: MlflowClient, experiment: Experiment, run_ids: list[str], job_run: str) -> list[str]:
    """Tag the unpromoted versions registered by ``run_ids`` as orphans of the killed job run; return their numbers."""
    from mlflow.exceptions import MlflowException

    name = experiment.tracking.registered_model
    try:
        aliases = client.get_registered_model(name).aliases or {}
    except MlflowException:
        return []  # nothing registered yet
    champions = {str(v) for a, v in aliases.items() if a == CHAMPION}
    out = []
    for run_id in run_ids:
        for mv in client.search_model_versions(f"run_id = '{run_id}'"):
            if mv.name != name or str(mv.version) in champions or (mv.tags or {}).get("tension.orphan") == "true":
                continue
            client.set_model_version_tag(name, mv.version, "tension.orphan", "true")
            client.set_model_version_tag(name, mv.version, "tension.orphan_reason",
                                         f"registered by retrain run {job_run}, which was killed before it evaluated "
                                         "and promoted this version; not a finished model")
            out.append(str(mv.version))
    return out
