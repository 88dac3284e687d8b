"""SIGKILL at random points of ingest, panel, train, retrain and ledger resolve (real processes).

Each test starts the installed ``tension`` console script, kills it with SIGKILL after a
random delay drawn from a seeded generator (the seed is in the test id), then checks
that the store, the ledger and the MLflow registry are consistent and that a rerun
completes with the same result as an uninterrupted run. The default run uses one or two
seeds per command; ``pytest -m heavy`` adds more seeds and kills at chosen retrain steps.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from hardening_tools import (
    AS_OF,
    FIXTURES,
    TENSION,
    assert_ledger_consistent,
    assert_registry_consistent,
    assert_store_consistent,
    clean_env,
    retrain_project,
    run,
    steps_of,
)
from tension.cli import main
from tension.store import Store

HEAVY = pytest.mark.heavy


def seeds(default: list[int], heavy: list[int]) -> list:
    return [*default, *(pytest.param(s, marks=HEAVY) for s in heavy)]


def kill_after(args: list[str], cwd: Path, delay: float, until: Callable[[str], bool] | None = None,
               limit: float = 300) -> tuple[bool, str]:
    """Run ``tension ARGS``; SIGKILL it after ``delay`` s (or as soon as ``until(stderr)``); return (killed, stderr)."""
    err_path = cwd / f".stderr-{time.monotonic_ns()}"
    with open(err_path, "w") as err, open(os.devnull, "w") as out:
        proc = subprocess.Popen([TENSION, *args], cwd=cwd, env=clean_env(), stdout=out, stderr=err)
        deadline = time.monotonic() + (limit if until is not None else delay)
        while time.monotonic() < deadline and proc.poll() is None:
            if until is not None and until(err_path.read_text(errors="replace")):
                break
            time.sleep(0.002)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    text = err_path.read_text(errors="replace")
    err_path.unlink()
    last = [ln for ln in text.splitlines() if ln.startswith('{"step"')][-1:]
    print(f"[kill_after] tension {args[0]}: {'killed' if killed else 'finished'} after {delay:.2f} s {last}")
    assert "Traceback" not in text, text[-3000:]
    if not killed:
        assert proc.returncode == 0, text[-3000:]
    return killed, text


def timed(args: list[str], cwd: Path) -> float:
    """Seconds an uninterrupted ``tension ARGS`` takes here and now (start-up included)."""
    t0 = time.monotonic()
    proc = run(args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return time.monotonic() - t0


def random_delay(seed: int, clean_seconds: float) -> float:
    """A seeded point inside the command's run: 30-95 % of an uninterrupted run (before that, mostly imports)."""
    return random.Random(seed).uniform(0.3, 0.95) * clean_seconds


# --------------------------------------------------------------------------- ingest


@pytest.fixture(scope="module")
def ingest_inputs(world_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """An earlier delivery (the world), then a batch of four files, one of them 250,000 GDELT rows.

    The big file makes the killed run spend seconds reading, and the store flushes a data file
    at 200,000 rows, so some kills land after a Parquet file was written but before the commit.
    """
    big = tmp_path_factory.mktemp("big-ingest") / "20240301000000.export.CSV"
    template = (FIXTURES / "gdelt2.export.CSV").read_text().splitlines()[0].split("\t")
    middle = "\t".join(template[2:60])
    with open(big, "w") as fh:
        for i in range(250_000):
            fh.write(f"{6_000_000 + i}\t202403{1 + i % 28:02d}\t{middle}\thttps://news.example.org/{i}\n")
    return [str(world_csv), str(FIXTURES / "events.2014.icews.tab"), str(big), str(FIXTURES / "polecat_2023_w01.tsv")]


@pytest.fixture(scope="module")
def ingest_reference(ingest_inputs: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The event ids of an uninterrupted ingest, and how long the second (big) delivery took."""
    root = tmp_path_factory.mktemp("ingest-ref")
    from tension.ingest import ingest

    ingest(ingest_inputs[:1], Store(root / "store"))
    seconds = timed(["ingest", *ingest_inputs[1:], "--store", str(root / "store")], root)
    return {"ids": set(Store(root / "store").read(columns=["event_id"])["event_id"]), "seconds": seconds}


@pytest.mark.parametrize("seed", seeds([1, 5], [2, 3, 4, 6, 7, 8]))
def test_ingest_killed_at_a_random_point_commits_all_or_nothing(seed: int, tmp_path: Path, ingest_inputs: list[str],
                                                                ingest_reference: dict) -> None:
    store_dir = tmp_path / "store"
    from tension.ingest import ingest

    ingest(ingest_inputs[:1], Store(store_dir))  # an earlier delivery
    before = Store(store_dir).manifest
    before_ids = set(Store(store_dir).read(columns=["event_id"])["event_id"])
    reference = ingest_reference["ids"]
    delay = random_delay(seed, ingest_reference["seconds"])
    killed, _ = kill_after(["ingest", *ingest_inputs[1:], "--store", str(store_dir)], tmp_path, delay)
    after = Store(store_dir)
    assert_store_consistent(store_dir)
    ids = set(after.read(columns=["event_id"])["event_id"])
    if after.manifest["version"] == before["version"]:
        assert ids == before_ids  # nothing of the killed batch is visible
    else:
        assert ids == reference  # the whole batch, committed
    proc = run(["ingest", *ingest_inputs[1:], "--store", str(store_dir), "--json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(Store(store_dir).read(columns=["event_id"])["event_id"]) == reference
    summary = assert_store_consistent(store_dir)
    assert summary["events"] == len(reference)
    Store(store_dir).compact()  # orphans of the killed run go; nothing committed changes
    assert set(Store(store_dir).read(columns=["event_id"])["event_id"]) == reference


# --------------------------------------------------------------------------- panel and train


@pytest.fixture(scope="module")
def world_store(world_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tension.ingest import ingest

    root = tmp_path_factory.mktemp("world-store") / "store"
    ingest([world_csv], Store(root))
    return root


@pytest.fixture(scope="module")
def panel_reference(world_store: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The panel of an uninterrupted run; ``attrs["seconds"]`` is how long that run took."""
    root = tmp_path_factory.mktemp("panel-ref")
    out = root / "panel.parquet"
    seconds = timed(["panel", "--store", str(world_store), "--out", str(out)], root)
    frame = pd.read_parquet(out)
    frame.attrs["seconds"] = seconds
    return frame


@pytest.mark.parametrize("seed", seeds([5], [1, 2, 3, 4]))
def test_panel_killed_at_a_random_point_leaves_the_store_alone_and_reruns(seed: int, tmp_path: Path, world_store: Path,
                                                                        panel_reference: pd.DataFrame) -> None:
    store = tmp_path / "store"
    shutil.copytree(world_store, store)
    digest = Store(store).digest
    out = tmp_path / "out" / "panel.parquet"
    killed, _ = kill_after(["panel", "--store", str(store), "--out", str(out)], tmp_path,
                           random_delay(seed, panel_reference.attrs["seconds"]))
    assert Store(store).digest == digest
    assert_store_consistent(store)
    proc = run(["panel", "--store", str(store), "--out", str(out)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pd.testing.assert_frame_equal(pd.read_parquet(out), panel_reference, check_flags=False)


def test_an_output_killed_while_being_written_is_never_left_torn(tmp_path: Path, world_store: Path,
                                                                 panel_reference: pd.DataFrame) -> None:
    """Killed the moment the output (or its temporary file) appears: the final name holds a whole file or nothing."""
    out = tmp_path / "panel.csv"

    def writing(_err: str) -> bool:
        return any("panel.csv" in p.name and p.stat().st_size > 0 for p in tmp_path.iterdir() if p.is_file())

    killed, _ = kill_after(["panel", "--store", str(world_store), "--out", str(out)], tmp_path, 0, until=writing)
    assert killed
    assert not out.exists() or len(pd.read_csv(out)) == len(panel_reference)


@pytest.fixture(scope="module")
def train_seconds(world_store: Path, tmp_path_factory: pytest.TempPathFactory) -> float:
    root = tmp_path_factory.mktemp("train-ref")
    return timed(["train", "--store", str(world_store), "--model", "logit", "--horizon", "4", "--out",
                  str(root / "m.joblib")], root)


@pytest.mark.parametrize("seed", seeds([5], [1, 2, 3]))
def test_train_killed_at_a_random_point_leaves_no_broken_model_file(seed: int, tmp_path: Path, world_store: Path,
                                                                    train_seconds: float) -> None:
    import joblib

    out = tmp_path / "model.joblib"
    args = ["train", "--store", str(world_store), "--model", "logit", "--horizon", "4", "--out", str(out)]
    killed, _ = kill_after(args, tmp_path, random_delay(seed, train_seconds))
    if out.exists() and not killed:
        assert joblib.load(out)["model"] == "logit"
    proc = run(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    saved = joblib.load(out)
    assert saved["model"] == "logit" and hasattr(saved["estimator"], "predict_proba")


# --------------------------------------------------------------------------- retrain


def _after_retrain_crash(project: Path) -> dict:
    state = assert_registry_consistent(project)
    if (project / "data" / "store" / "_manifests").is_dir():
        assert_store_consistent(project / "data" / "store")
    if (project / "data" / "ledger" / "manifests").is_dir():
        assert_ledger_consistent(project / "data" / "ledger")
    return state


def _rerun_retrain(project: Path, cfg: Path) -> dict:
    """Rerun the job to completion; the registry, store and ledger stay consistent and a champion exists."""
    proc = run(["retrain", "--config", str(cfg), "--json"], cwd=project, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = _after_retrain_crash(project)
    assert "champion" in state["aliases"], state
    assert_store_consistent(project / "data" / "store")
    return steps_of(proc.stderr)


def _published(project: Path) -> bool:
    """The latest complete week's forecasts are in the ledger and its report was rendered."""
    from tension.ledger import Ledger

    book = Ledger(project / "data" / "ledger")
    issued = book.forecasts()
    latest = pd.Timestamp(AS_OF) - pd.Timedelta(days=7)
    return bool((issued["as_of"] == latest).any()) and (project / "data" / "reports" / f"report-{latest.date()}.html").is_file()


@pytest.mark.parametrize("seed", seeds([5], [1, 2, 3]))
def test_retrain_killed_at_a_random_point_leaves_registry_store_and_ledger_consistent(
        seed: int, tmp_path: Path, inbox_template: Path, template_db: Path) -> None:
    cfg = retrain_project(tmp_path, inbox_template, template_db)
    rng = random.Random(seed)
    step, extra = rng.choice(["lock", "tracking", "ingest", "health", "panel", "train", "backtest"]), rng.uniform(0, 1.5)
    seen: list[float] = []

    def after_step(text: str) -> bool:  # the chosen step has been logged, plus a random extra delay
        if not seen and f'"step": "{step}", "status"' in text:
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= extra

    kill_after(["retrain", "--config", str(cfg)], tmp_path, 0, until=after_step)
    _after_retrain_crash(tmp_path)
    _rerun_retrain(tmp_path, cfg)


@HEAVY
@pytest.mark.parametrize("step", ["ingest", "health", "train", "backtest", "promote", "score", "issue"])
def test_retrain_killed_right_after_each_step_publishes_on_rerun(step: str, tmp_path: Path, inbox_template: Path,
                                                                 template_db: Path) -> None:
    cfg = retrain_project(tmp_path, inbox_template, template_db)
    killed, _ = kill_after(["retrain", "--config", str(cfg)], tmp_path, 0,
                           until=lambda text: f'"step": "{step}", "status"' in text)
    assert killed, f"retrain ended before step {step!r} was logged"
    _after_retrain_crash(tmp_path)
    _rerun_retrain(tmp_path, cfg)
    assert _published(tmp_path), "the latest week was never scored, issued and reported"


# --------------------------------------------------------------------------- ledger resolve


@pytest.fixture(scope="module")
def ledger_world(world_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A ledger holding 12 weekly issues of scores for every dyad, half of them resolvable, and the clean result."""
    from tension.ledger import Ledger
    from tension.panel import build_panel

    panel = build_panel(Store(world_store), freq="W", dyads="directed")
    weeks = sorted(panel["period"].unique())
    root = tmp_path_factory.mktemp("ledger-world")
    book = Ledger(root / "ledger")
    for d in weeks[-12:]:
        now = panel[panel["period"] == d]
        scores = pd.DataFrame({"dyad": now["dyad"], "source": now["source"], "target": now["target"], "as_of": d,
                               "horizon": 4, "probability": 0.2, "model_version": "tension/1"})
        scores.attrs["freq"] = "W"
        book.issue(scores, panel=panel[panel["period"] <= d])
    clean = root / "clean"
    shutil.copytree(book.path, clean)
    seconds = timed(["ledger", "resolve", "--store", str(world_store), "--ledger", str(clean)], root)
    return {"ledger": book.path, "clean": Ledger(clean).summary(), "seconds": seconds}


@pytest.mark.parametrize("seed", seeds([5], [1, 2, 3, 4]))
def test_ledger_resolve_killed_at_a_random_point_keeps_every_issued_record(seed: int, tmp_path: Path, world_store: Path,
                                                                          ledger_world: dict) -> None:
    import hashlib

    from tension.ledger import Ledger

    ledger = tmp_path / "ledger"
    shutil.copytree(ledger_world["ledger"], ledger)
    issued = {n: hashlib.sha256((ledger / n).read_bytes()).hexdigest() for n in Ledger(ledger).files["forecasts"]}
    args = ["ledger", "resolve", "--store", str(world_store), "--ledger", str(ledger)]
    kill_after(args, tmp_path, random_delay(seed, ledger_world["seconds"]))
    after = assert_ledger_consistent(ledger)
    assert after["resolved"] in (0, ledger_world["clean"]["resolved"])
    assert {n: hashlib.sha256((ledger / n).read_bytes()).hexdigest() for n in Ledger(ledger).files["forecasts"]} == issued
    proc = run(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert assert_ledger_consistent(ledger) == ledger_world["clean"]
