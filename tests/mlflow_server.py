"""A real ``mlflow server`` on 127.0.0.1 (free port, temporary SQLite backend) for tests.

Not a test module: imported by tests/tracking/test_tracking.py and tests/test_jobs.py, each of
which starts one server per module (startup takes several seconds).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server(str):
    """The server's URL (a ``str``), plus ``db`` (its SQLite URI) and ``stop()``."""

    db: str
    stop: Callable[[], None]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


@contextmanager
def mlflow_server(root: Path, timeout: float = 90.0) -> Iterator[Server]:
    """Start ``mlflow server`` with its own SQLite file and artifact folder under ``root``; yield its URL."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server",
         "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
         "--artifacts-destination", str(root / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited early: {(root / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start in time")
            time.sleep(0.3)
        server = Server(url)
        server.db = f"sqlite:///{root / 'server.db'}"
        server.stop = lambda: _stop(proc)
        yield server
    finally:
        _stop(proc)
        log.close()


def make_template_db(folder: Path) -> Path:
    """An MLflow SQLite file with the full schema, created once and copied into each test project.

    Creating the schema runs every migration (seconds); copying the finished file is instant, and
    ``tension.tracking.ensure_store`` then only verifies the schema revision.
    """
    from tension import tracking

    db = folder / "template-mlflow.db"
    tracking.ensure_store(f"sqlite:///{db}")
    return db


RETRAIN_AS_OF = "2021-07-05"
"""As-of day of the retrain tests' world, which ends on Sunday 2021-07-04."""


def make_retrain_inbox(root: Path) -> Path:
    """The retrain tests' synthetic world (10 countries, 2.5 years) as two inbox files: history and the latest week."""
    import pandas as pd

    from tension.simulate import simulate, write_world

    paths = write_world(simulate(seed=1, countries=10, years=2.5), root / "world" / "world.csv")
    ev = pd.read_csv(paths["events"], dtype=str, keep_default_na=False)
    d = pd.to_datetime(ev["date"])
    last_monday = pd.Timestamp(RETRAIN_AS_OF) - pd.Timedelta(days=7)
    assert d.max() == last_monday + pd.Timedelta(days=6)
    inbox = root / "inbox"
    inbox.mkdir()
    ev[d < last_monday].to_csv(inbox / "events-history.csv", index=False)
    ev[d >= last_monday].to_csv(inbox / "events-2021-06-28.csv", index=False)
    return inbox


def steps_of(stderr: str) -> dict[str, dict]:
    """The retrain job's JSON step lines on stderr, by step name."""
    import json

    out = {}
    for line in stderr.splitlines():
        if line.startswith('{"step"'):
            rec = json.loads(line)
            out[rec["step"]] = rec
    return out
