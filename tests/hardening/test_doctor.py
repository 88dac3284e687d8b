"""`tension doctor` finds what was broken on purpose, says what to do, and exits 3 (0 when healthy).

Each test damages a real store or ledger the way a failing disk, a half-copied backup or
a hand edit would, then asks the checks (``tension.doctor``) and the command.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hardening_tools import FIXTURES
from tension import doctor, tracking
from tension.cli import main
from tension.ledger import Ledger
from tension.store import Store

NEEDS_STORE_STATUS = pytest.mark.skipif(
    not hasattr(tracking, "store_status"),
    reason="tension.tracking.store_status (called by doctor.check_tracking) is not there yet",
)


@pytest.fixture()
def healthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: Path) -> dict:
    """A project with two committed ingest batches, a ledger with issued and resolved forecasts, a current MLflow db."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TENSION_STORE", raising=False)
    (tmp_path / "data").mkdir()
    shutil.copy(template_db, tmp_path / "data" / "mlflow.db")
    store = tmp_path / "data" / "store"
    assert main(["ingest", str(FIXTURES / "events.2014.icews.tab"), "--store", str(store)]) == 0
    assert main(["ingest", str(FIXTURES / "gdelt2.export.CSV"), "--store", str(store)]) == 0
    ledger = Ledger(tmp_path / "data" / "ledger")
    scores = pd.DataFrame({"dyad": ["ARM>AZE", "AZE>ARM"], "source": ["ARM", "AZE"], "target": ["AZE", "ARM"],
                           "as_of": pd.to_datetime(["2014-06-02"] * 2), "horizon": [1, 1], "probability": [0.4, 0.1],
                           "model_version": ["tension/1"] * 2})
    scores.attrs["freq"] = "W"
    assert ledger.issue(scores) == 2
    panel = pd.DataFrame({"dyad": ["ARM>AZE", "AZE>ARM"] * 2, "source": ["ARM", "AZE"] * 2, "target": ["AZE", "ARM"] * 2,
                          "period": pd.to_datetime(["2014-06-02"] * 2 + ["2014-06-09"] * 2),
                          "material_conflict_count": [0, 0, 1, 0]})
    panel.attrs["freq"] = "W"
    assert ledger.resolve(panel) == 2
    return {"project": tmp_path, "store": store, "ledger": ledger.path}


def _failed(store: Path, ledger: Path) -> list[doctor.Check]:
    checks = [*doctor.check_store(str(store)), *doctor.check_ledger(ledger)]
    return [c for c in checks if c.status == "fail"]


def _newest_manifest(store: Path) -> Path:
    return sorted((store / "_manifests").glob("manifest-*.json"))[-1]


def test_a_healthy_store_and_ledger_pass(healthy: dict) -> None:
    checks = [*doctor.check_store(str(healthy["store"])), *doctor.check_ledger(healthy["ledger"])]
    assert [c.status for c in checks if c.status != "ok"] == [], checks
    assert {c.name for c in checks} >= {"store:identity", "store:duplicates", "ledger"}


def test_a_deleted_data_file_is_found_with_what_to_do(healthy: dict) -> None:
    victim = Path(Store(healthy["store"]).files()[0])
    victim.unlink()
    failed = _failed(healthy["store"], healthy["ledger"])
    assert [c.name for c in failed] == ["store:files"]
    assert victim.name in failed[0].detail and "retract" in failed[0].fix


def test_a_store_written_by_another_schema_version_is_found(healthy: dict) -> None:
    path = _newest_manifest(healthy["store"])
    data = json.loads(path.read_text())
    data["schema_version"] = 999
    path.write_text(json.dumps(data))
    failed = _failed(healthy["store"], healthy["ledger"])
    assert failed and "999" in failed[0].detail and "Re-ingest" in failed[0].fix


def test_a_data_file_named_twice_is_found_as_duplicates(healthy: dict) -> None:
    path = _newest_manifest(healthy["store"])
    data = json.loads(path.read_text())
    data["files"].append(dict(data["files"][0]))
    path.write_text(json.dumps(data))
    failed = _failed(healthy["store"], healthy["ledger"])
    assert "store:duplicates" in {c.name for c in failed} or "store:identity" in {c.name for c in failed}
    assert all(c.fix for c in failed)


def test_a_corrupted_store_manifest_is_found(healthy: dict) -> None:
    _newest_manifest(healthy["store"]).write_text('{"schema_version": 1, "files": [')
    failed = _failed(healthy["store"], healthy["ledger"])
    assert failed and "manifest" in failed[0].detail


def test_a_missing_ledger_file_is_found_with_what_to_do(healthy: dict) -> None:
    book = Ledger(healthy["ledger"])
    victim = healthy["ledger"] / book.files["resolutions"][0]
    victim.unlink()
    failed = _failed(healthy["store"], healthy["ledger"])
    assert [c.name for c in failed] == ["ledger"]
    assert "missing" in failed[0].detail and "backup" in failed[0].fix


def test_a_corrupted_ledger_manifest_is_found(healthy: dict) -> None:
    newest = sorted((healthy["ledger"] / "manifests").glob("*.json"))[-1]
    newest.write_text("{not json")
    failed = _failed(healthy["store"], healthy["ledger"])
    assert failed and failed[0].name == "ledger"


# --------------------------------------------------------------------------- the command


@NEEDS_STORE_STATUS
def test_doctor_exits_0_on_a_healthy_project(healthy: dict, capsys) -> None:
    code = main(["doctor", "--store", str(healthy["store"]), "--ledger", str(healthy["ledger"]), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"], out


@NEEDS_STORE_STATUS
@pytest.mark.parametrize("damage", ["data file", "ledger file"])
def test_doctor_exits_3_and_says_what_to_do(damage: str, healthy: dict, capsys) -> None:
    if damage == "data file":
        Path(Store(healthy["store"]).files()[0]).unlink()
    else:
        (healthy["ledger"] / Ledger(healthy["ledger"]).files["forecasts"][0]).unlink()
    code = main(["doctor", "--store", str(healthy["store"]), "--ledger", str(healthy["ledger"]), "--json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 3 and not out["ok"]
    failed = [c for c in out["checks"] if c["status"] == "fail"]
    assert failed and all(c["fix"] for c in failed)
    assert "Restore" in captured.err or "retract" in captured.err
