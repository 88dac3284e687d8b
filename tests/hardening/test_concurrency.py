"""Several real `tension` processes on one project at once: no lost or duplicated events, no torn files.

- ingests into one store at the same time (different files, and the same file twice);
- a retrain (with a second one started beside it) while analysts run ``score --issue`` and
  ``report`` in a loop: one retrain runs, the other exits 4 at once; every score and
  report completes from a registered version; aliases, store and ledger stay consistent.
Two retrains queueing (``--wait``) are covered by tests/test_jobs.py.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from hardening_tools import (
    FIXTURES,
    TENSION,
    assert_ledger_consistent,
    assert_registry_consistent,
    assert_store_consistent,
    clean_env,
    registry_state,
    retrain_project,
    run,
    steps_of,
)
from tension.store import Store


def _start(args: list[str], cwd: Path, tag: str) -> tuple[subprocess.Popen, Path]:
    err = cwd / f".{tag}.stderr"
    proc = subprocess.Popen([TENSION, *args], cwd=cwd, env=clean_env(), stdout=subprocess.DEVNULL,
                            stderr=open(err, "w"))  # noqa: SIM115 - closed with the process
    return proc, err


def _finish(proc: subprocess.Popen, err: Path, timeout: float = 600) -> tuple[int, str]:
    code = proc.wait(timeout=timeout)
    text = err.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    return code, text


def _ids(location: Path) -> pd.Series:
    return Store(location).read(columns=["event_id"])["event_id"]


# --------------------------------------------------------------------------- ingest


@pytest.fixture(scope="module")
def deliveries(world_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The world split into four files of different months, plus the fixture files, and the union's event ids."""
    from tension.ingest import ingest

    root = tmp_path_factory.mktemp("deliveries")
    world = pd.read_csv(world_csv, dtype=str, keep_default_na=False)
    parts = []
    for k, chunk in enumerate(pd.Series(range(len(world))).groupby(pd.Series(range(len(world))) % 4)):
        path = root / f"part-{k}.csv"
        world.iloc[chunk[1].to_numpy()].to_csv(path, index=False)
        parts.append(str(path))
    files = [*parts, str(FIXTURES / "events.2014.icews.tab"), str(FIXTURES / "gdelt2.export.CSV")]
    ref = Store(root / "reference")
    for f in files:
        ingest([f], ref)
    return {"files": files, "ids": set(_ids(root / "reference"))}


@pytest.mark.parametrize("n", [2, pytest.param(6, marks=pytest.mark.heavy)])
def test_ingests_running_at_once_lose_and_duplicate_nothing(n: int, tmp_path: Path, deliveries: dict) -> None:
    store = tmp_path / "store"
    files = deliveries["files"]
    groups = [files[i::n] for i in range(n)]
    procs = [_start(["ingest", *g, "--store", str(store), "--json"], tmp_path, f"ingest{i}") for i, g in enumerate(groups)]
    for proc, err in procs:
        code, text = _finish(proc, err)
        assert code == 0, text[-2000:]
    summary = assert_store_consistent(store)
    ids = _ids(store)
    assert set(ids) == deliveries["ids"] and ids.is_unique
    assert summary["batches"] == n and summary["events"] == len(deliveries["ids"])


@pytest.mark.parametrize("copies", [2, pytest.param(5, marks=pytest.mark.heavy)])
def test_the_same_delivery_ingested_twice_at_once_is_stored_once(copies: int, tmp_path: Path, deliveries: dict) -> None:
    store = tmp_path / "store"
    procs = [_start(["ingest", *deliveries["files"], "--store", str(store)], tmp_path, f"same{i}") for i in range(copies)]
    for proc, err in procs:
        code, text = _finish(proc, err)
        assert code == 0, text[-2000:]
    summary = assert_store_consistent(store)
    batches = Store(store).batches()
    assert len(batches) == copies and set(_ids(store)) == deliveries["ids"]
    assert sorted(batches["stored"])[:-1] == [0] * (copies - 1)  # one batch stored everything, the others only duplicates
    assert summary["events"] == len(deliveries["ids"])


# --------------------------------------------------------------------------- retrain beside score and report


@pytest.fixture(scope="module")
def champion_project(tmp_path_factory: pytest.TempPathFactory, inbox_template: Path, template_db: Path) -> dict:
    """The retrain project with its inbox in the store and a champion (version 1) registered in-process."""
    from tension.backtest import fit_final
    from tension.config import load_experiment
    from tension.ingest import ingest
    from tension.models import make_logit
    from tension.panel import build_panel
    from tension.tracking import track_train

    project = tmp_path_factory.mktemp("busy-project")
    cfg = retrain_project(project, inbox_template, template_db)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        store = Store(project / "data" / "store")
        ingest(sorted(str(p) for p in (project / "inbox").glob("*.csv")), store)
        exp = load_experiment(cfg)
        panel = build_panel(store, freq="W", dyads=exp.panel.dyads, config=exp.panel, regions=exp.regions)
        cutoff = sorted(panel["period"].unique())[-6]
        est, info = fit_final(make_logit(), panel, cutoff, "W", horizon=exp.target.horizon)
        track_train(est, panel[panel["period"] <= cutoff], experiment=exp, model_name="logit", store=store,
                    alias="champion", features=info["features"])
    assert registry_state(project)["aliases"].get("champion") == 1
    return {"project": project, "config": cfg}


def test_a_retrain_beside_analysts_scoring_and_reporting(champion_project: dict) -> None:
    project, cfg = champion_project["project"], champion_project["config"]
    first, first_err = _start(["retrain", "--config", str(cfg)], project, "retrain-a")
    second, second_err = _start(["retrain", "--config", str(cfg)], project, "retrain-b")
    runs = 0
    scores_dir = project / "analyst"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and (first.poll() is None or runs == 0):
        out = scores_dir / f"scores-{runs}.parquet"
        score = run(["score", "--issue", "--out", str(out)], cwd=project, timeout=600)
        assert score.returncode == 0, score.stderr[-3000:]
        report = run(["report", "--scores", str(out), "--out", str(scores_dir / f"report-{runs}.html")], cwd=project,
                     timeout=600)
        assert report.returncode == 0, report.stderr[-3000:]
        assert "</html>" in (scores_dir / f"report-{runs}.html").read_text(encoding="utf-8")
        versions = set(pd.read_parquet(out)["model_version"])
        assert versions <= {f"tension/{v}" for v in registry_state(project)["versions"]}, versions
        runs += 1
    codes = sorted([_finish(first, first_err)[0], _finish(second, second_err)[0]])
    assert codes == [0, 4], codes
    busy = first_err if _finish(first, first_err)[0] == 4 else second_err
    assert "Another retrain is running" in busy.read_text()
    done = second_err if busy == first_err else first_err
    steps = steps_of(done.read_text())
    assert steps["train"]["status"] == "ok" and steps["issue"]["status"] == "ok", steps
    state = assert_registry_consistent(project)
    assert state["versions"] == [1, 2] and state["aliases"]["challenger"] == 2 and state["aliases"]["champion"] in (1, 2)
    assert_store_consistent(project / "data" / "store")
    summary = assert_ledger_consistent(project / "data" / "ledger")
    assert summary["issued"] > 0 and runs >= 1


def test_the_job_and_the_command_label_issued_forecasts_alike(champion_project: dict) -> None:
    from tension.ledger import Ledger

    """Forecasts issued by the job and by `tension score --issue` name the model the same way (no duplicates)."""
    labels = set(Ledger(champion_project["project"] / "data" / "ledger").forecasts()["model_version"])
    assert labels and all(label.startswith("tension/") for label in labels), labels
