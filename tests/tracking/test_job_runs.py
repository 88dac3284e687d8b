"""A killed retrain leaves no run RUNNING forever and no version that looks like a finished model.

Real MLflow SQLite store, real runs and a real registered version; the "killed" process is a
real process that has exited (its pid is gone).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from mlflow_server import RETRAIN_AS_OF
from tension import tracking
from tension.config import Experiment, TrackingConfig


@pytest.fixture()
def registry(tmp_path: Path, template_db: Path) -> dict:
    """An MLflow SQLite store with the experiment and registered model tension uses."""
    db = tmp_path / "mlflow.db"
    shutil.copy(template_db, db)
    uri = f"sqlite:///{db}"
    exp = Experiment(tracking=TrackingConfig(uri=uri))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp_id = client.create_experiment("tension", artifact_location=str(tmp_path / "artifacts"))
    client.create_registered_model("tension")
    return {"uri": uri, "exp": exp, "client": client, "exp_id": exp_id}


def _dead_pid() -> tuple[int, float]:
    """The pid and start time of a real process that has exited."""
    import psutil

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = psutil.Process(proc.pid).create_time()
    proc.kill()
    proc.wait()
    return proc.pid, started


def _job(reg: dict, pid: int, started: float, host: str | None = None) -> str:
    tags = {"tension.kind": "job", "tension.pid": str(pid), "tension.pid_started": f"{started:.3f}",
            "tension.host": host or socket.gethostname()}
    return reg["client"].create_run(reg["exp_id"], run_name="retrain", tags=tags).info.run_id


def _version(reg: dict, run_id: str) -> str:
    client = reg["client"]
    source = f"{client.get_run(run_id).info.artifact_uri}/model"
    os.makedirs(source.removeprefix("file://"), exist_ok=True)
    return str(client.create_model_version("tension", source, run_id=run_id).version)


def test_stale_job_runs_are_closed_as_killed_and_their_versions_labelled(registry: dict) -> None:
    client = registry["client"]
    pid, started = _dead_pid()
    killed = _job(registry, pid, started)
    child = client.create_run(registry["exp_id"], run_name="challenger logit",
                              tags={"mlflow.parentRunId": killed}).info.run_id
    orphan = _version(registry, child)
    client.set_registered_model_alias("tension", "challenger", orphan)
    # left alone: this very process (alive), another host, a finished champion of an earlier job
    alive = _job(registry, os.getpid(), __import__("psutil").Process(os.getpid()).create_time())
    elsewhere = _job(registry, pid, started, host="another-host")
    earlier = _job(registry, pid, started)
    champion = _version(registry, earlier)
    client.set_registered_model_alias("tension", "champion", champion)
    client.set_terminated(earlier, "FINISHED")

    out = tracking.close_stale_runs(registry["exp"], closed_by="test")
    assert sorted(out["closed_runs"]) == sorted([killed, child]) and out["orphan_versions"] == [orphan]
    for run_id in (killed, child):
        run = client.get_run(run_id)
        assert run.info.status == "KILLED" and run.info.end_time
        assert f"pid {pid}" in run.data.tags["tension.closed_reason"] and "by test" in run.data.tags["tension.closed_reason"]
    assert client.get_run(alive).info.status == "RUNNING" and client.get_run(elsewhere).info.status == "RUNNING"
    tags = client.get_model_version("tension", orphan).tags
    assert tags["tension.orphan"] == "true" and killed in tags["tension.orphan_reason"]
    assert "tension.orphan" not in client.get_model_version("tension", champion).tags
    # a second pass finds nothing more
    assert tracking.close_stale_runs(registry["exp"]) == {"closed_runs": [], "orphan_versions": []}


def test_a_reused_pid_does_not_keep_a_dead_run_alive(registry: dict) -> None:
    import psutil

    me = psutil.Process(os.getpid())
    run = _job(registry, os.getpid(), me.create_time() - 3600)  # same pid, but an hour older start: another process
    assert tracking.close_stale_runs(registry["exp"])["closed_runs"] == [run]
    assert "now belongs to another process" in registry["client"].get_run(run).data.tags["tension.closed_reason"]


def test_job_runs_from_before_process_tags_are_closed_by_the_lock_holder(registry: dict) -> None:
    run = registry["client"].create_run(registry["exp_id"], run_name="retrain", tags={"tension.kind": "job"}).info.run_id
    assert tracking.close_stale_runs(registry["exp"])["closed_runs"] == [run]


def _start_retrain(tmp_path: Path, inbox_template: Path, template_db: Path, *extra: str) -> tuple:
    """A real `tension retrain` on the retrain tests' world in ``tmp_path``: (process, its argv, env)."""
    (tmp_path / "data").mkdir()
    shutil.copytree(inbox_template, tmp_path / "inbox")
    shutil.copy(template_db, tmp_path / "data" / "mlflow.db")
    cfg = tmp_path / "retrain.toml"
    cfg.write_text("\n".join(['name = "job"', "[retrain]", 'inbox = "inbox"', *extra, f'as_of = "{RETRAIN_AS_OF}"',
                              "recent_origins = 3", "[backtest]", "min_train_periods = 26"]) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "TENSION_STORE")}
    argv = [str(Path(sys.executable).parent / "tension"), "retrain", "--config", str(cfg)]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, argv, env


def _stderr_until(proc: subprocess.Popen, marker: str, seconds: float) -> str:
    """The process's stderr up to the first line containing ``marker`` (or its end, or ``seconds``)."""
    text = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and marker not in text:
        line = proc.stderr.readline()
        if not line:
            break
        text += line
    return text


@pytest.mark.heavy
def test_a_killed_retrain_is_closed_and_labelled_by_the_next_run(tmp_path: Path, inbox_template: Path,
                                                                template_db: Path) -> None:
    """SIGKILL a real `tension retrain` right after its challenger is registered, then run it again."""
    import signal

    from mlflow_server import steps_of

    proc, argv, env = _start_retrain(tmp_path, inbox_template, template_db)
    _stderr_until(proc, '"step": "train", "status"', 600)
    assert proc.poll() is None, "retrain ended before its challenger was registered"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    uri = f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp_id = client.get_experiment_by_name("tension").experiment_id
    running = [r.info.run_id for r in client.search_runs([exp_id], "attributes.status = 'RUNNING'")]
    assert running, "the kill left no RUNNING run: nothing to test"
    orphans = [v.version for v in client.search_model_versions("name = 'tension'")]
    assert orphans, "the kill left no registered version"

    again = subprocess.run([*argv, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    step = steps_of(again.stderr)["tracking"]
    assert step["counts"]["stale_runs_closed"] >= 1 and step["counts"]["orphan_versions_labelled"] == len(orphans)
    for run_id in running:
        run = client.get_run(run_id)
        assert run.info.status == "KILLED" and "is gone" in run.data.tags["tension.closed_reason"]
    assert not client.search_runs([exp_id], "attributes.status = 'RUNNING'")
    for v in orphans:
        assert client.get_model_version("tension", v).tags["tension.orphan"] == "true"
    champion = client.get_model_version_by_alias("tension", "champion")
    assert champion.version not in orphans and "tension.orphan" not in champion.tags


def test_a_terminated_retrain_ends_its_runs_as_killed_and_frees_its_lock(tmp_path: Path, inbox_template: Path,
                                                                         template_db: Path) -> None:
    """SIGTERM (a scheduler's stop) a real `tension retrain` mid-job: exit 143, no run left RUNNING."""
    import signal

    from filelock import FileLock

    proc, _, _ = _start_retrain(tmp_path, inbox_template, template_db, 'lock = "job.lock"')
    text = _stderr_until(proc, '"step": "ingest"', 300)
    assert proc.poll() is None, f"retrain ended before its job run was open:\n{text[-2000:]}"
    os.kill(proc.pid, signal.SIGTERM)
    _, rest = proc.communicate(timeout=120)
    text += rest

    assert proc.returncode == 143, text[-2000:]
    assert "Terminated (SIGTERM)." in text and "Traceback" not in text
    after = [json.loads(line) for line in text.split('"step": "ingest"', 1)[1].splitlines()[1:] if line.startswith("{")]
    assert not [step for step in after if step["status"] == "failed"], after  # the step it stopped in says "killed"
    uri = f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp_id = client.get_experiment_by_name("tension").experiment_id
    runs = client.search_runs([exp_id])
    jobs = [r for r in runs if r.data.tags.get("tension.kind") == "job"]
    assert len(jobs) == 1 and jobs[0].info.status == "KILLED"
    assert not [r.info.run_id for r in runs if r.info.status == "RUNNING"]
    lock = FileLock(str(tmp_path / "job.lock"), timeout=0)
    lock.acquire()  # raises Timeout if the terminated job still held it
    lock.release()
