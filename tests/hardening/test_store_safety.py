"""A mistyped --store never destroys anything: store commands act only on a folder that proves it is a store.

The project folder here is the one from issue 15: ``data/`` holds an event store, the forecast
ledger and the MLflow database. Pointing ``store compact|retract|info`` at the project folder (or
at ``data/``) must change nothing (every file's bytes compared before and after) and exit 2 with
a message that names what was found there.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hardening_tools import FIXTURES, run
from tension.cli import main
from tension.errors import UsageError
from tension.ledger import Ledger
from tension.store import STORE_MARKER, Store


@pytest.fixture()
def project_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: Path) -> dict:
    """data/store (two ingested batches, quarantined rows), data/ledger (issued + resolved), data/mlflow.db."""
    root = tmp_path / "project"
    data = root / "data"
    data.mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("TENSION_STORE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copy(template_db, data / "mlflow.db")
    store = data / "store"
    assert main(["ingest", str(FIXTURES / "events.2014.icews.tab"), "--store", str(store)]) == 0
    assert main(["ingest", str(FIXTURES / "gdelt2.export.CSV"), "--store", str(store)]) == 0
    ledger = Ledger(data / "ledger")
    scores = pd.DataFrame({"dyad": ["ARM>AZE"], "source": ["ARM"], "target": ["AZE"], "as_of": pd.to_datetime(["2014-06-02"]),
                           "horizon": [1], "probability": [0.4], "model_version": ["tension/1"]})
    scores.attrs["freq"] = "W"
    assert ledger.issue(scores) == 1
    # files a person keeps beside the data, in folders whose names the store also uses
    (root / "quarantine").mkdir()
    (root / "quarantine" / "suspicious-rows-000000000000.parquet").write_bytes(b"kept by hand")
    (root / "README.md").write_text("my project\n")
    batch = Store(store).batches()["batch_id"].iloc[0]
    return {"root": root, "data": data, "store": store, "batch": batch}


def _listing(root: Path) -> dict[str, str]:
    """Every file and folder under ``root``: relative path -> sha256 (folders: 'dir')."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


COMMANDS = {
    "compact": ["store", "compact"],
    "compact --empty-trash": ["store", "compact", "--empty-trash"],
    "retract": ["store", "retract", "{batch}"],
    "info": ["store", "info"],
    "ingest": ["ingest", str(FIXTURES / "gdelt2.export.CSV")],
}


@pytest.mark.parametrize("where", ["root", "data"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_store_commands_on_a_project_folder_change_nothing_and_exit_2(
    project_folder: dict, command: str, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_folder["root"]
    before = _listing(root)
    args = [a.format(batch=project_folder["batch"]) for a in COMMANDS[command]]
    assert main([*args, "--store", str(project_folder[where]), "--json"]) == 2
    err = capsys.readouterr().err
    assert _listing(root) == before
    assert "is not a tension event store" in err and "Nothing was changed" in err
    assert "mlflow.db" in err and "an event store at" in err  # names what it found, and where the store is
    assert f"--store {project_folder['store']}" in " ".join(err.split())  # the fix points at the real store


def test_tension_store_variable_pointing_at_the_project_is_refused_by_a_real_process(project_folder: dict) -> None:
    root = project_folder["root"]
    before = _listing(root)
    for args in (["store", "compact"], ["store", "info", "--json"], ["store", "retract", project_folder["batch"]]):
        proc = run(args, cwd=root, TENSION_STORE=str(root))
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert "not a tension event store" in proc.stderr and "bug" not in proc.stderr
    assert _listing(root) == before


def test_the_python_api_refuses_too(project_folder: dict) -> None:
    root = project_folder["root"]
    before = _listing(root)
    with pytest.raises(UsageError, match="Cannot compact: .* is not a tension event store"):
        Store(root).compact(empty_trash=True)
    with pytest.raises(UsageError, match="Cannot retract a batch"):
        Store(project_folder["data"]).retract(project_folder["batch"])
    assert Store(root).identify()["kind"] == "not_a_store"
    assert Store(root).identify()["stores"] == ["data/store"]
    assert _listing(root) == before


def test_the_real_store_in_the_project_still_compacts(project_folder: dict) -> None:
    store = Store(project_folder["store"])
    digest = store.digest
    assert store.identify()["kind"] == "store"
    out = store.compact()
    assert out["orphans_removed"] == 0 and store.digest == digest


@pytest.mark.parametrize("kind", ["missing", "empty", "a file", "a foreign manifest", "a torn manifest"])
def test_places_that_are_not_stores_are_refused(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "target"
    if kind == "empty":
        target.mkdir()
    elif kind == "a file":
        target.write_text("not a folder")
    elif kind == "a foreign manifest":  # another tool's manifest in a folder of the same name
        (target / "_manifests").mkdir(parents=True)
        (target / "_manifests" / "manifest-00000001.json").write_text(
            json.dumps({"store": "someone-else", "complete": True, "schema_version": 1, "batches": [], "files": []}))
        (target / "data" / "month=2014-01").mkdir(parents=True)
        (target / "data" / "month=2014-01" / "x-0123456789ab.parquet").write_bytes(b"theirs")
    elif kind == "a torn manifest":
        (target / "_manifests").mkdir(parents=True)
        (target / "_manifests" / "manifest-00000001.json").write_text('{"files": [')
    before = _listing(tmp_path)
    for args in (["store", "compact"], ["store", "info"], ["store", "retract", "b1"]):
        assert main([*args, "--store", str(target)]) == 2
        assert "not a tension event store" in capsys.readouterr().err
    assert _listing(tmp_path) == before


# --------------------------------------------------------------------------- unusable --store places


@pytest.mark.parametrize("command", [["ingest", str(FIXTURES / "gdelt2.export.CSV")], ["store", "compact"],
                                     ["store", "info"], ["store", "retract", "b1"]])
@pytest.mark.parametrize("place", ["/proc/tension-store", "/proc", "a file"])
def test_unwritable_or_non_folder_store_places_are_usage_errors(tmp_path: Path, command: list[str], place: str) -> None:
    if place == "a file":
        (tmp_path / "plain.txt").write_text("x")
        place = str(tmp_path / "plain.txt")
    proc = run([*command, "--store", place, "--json"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "bug" not in proc.stderr.lower() and place in " ".join(proc.stderr.split())


def test_a_store_that_cannot_be_written_is_a_usage_error_in_the_api(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = "/proc/tension-store"  # not writable even for root
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        target = str(tmp_path / "ro" / "store")
    from tension.schema import empty_events

    with pytest.raises(UsageError, match="cannot be written.*writable folder"):
        Store(target).append(empty_events())


def test_the_marker_is_written_by_every_commit() -> None:
    store = Store("memory://tension-marker-test")
    store.add_quarantine(pd.DataFrame({"source_file": ["f"], "source_line": [1], "reason": ["r"], "raw": ["x"]}))
    assert store.manifest["store"] == STORE_MARKER


# --------------------------------------------------------------------------- the other deleting path: demo --fresh


def test_demo_fresh_pointed_at_a_project_deletes_nothing_and_exits_2(project_folder: dict,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = project_folder["root"]
    before = _listing(root)
    for out in (root, project_folder["data"]):
        assert main(["demo", "--fresh", "--out", str(out), "--json"]) == 2
        assert "does not look like a folder written by `tension demo`" in capsys.readouterr().err
    assert _listing(root) == before
