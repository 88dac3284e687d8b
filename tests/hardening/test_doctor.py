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
from tension import doctor
from tension.cli import main
from tension.ledger import Ledger
from tension.store import Store


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


def test_doctor_exits_0_on_a_healthy_project(healthy: dict, capsys) -> None:
    code = main(["doctor", "--store", str(healthy["store"]), "--ledger", str(healthy["ledger"]), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"], out


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


# --------------------------------------------------------------------------- ledger tamper evidence


@pytest.mark.parametrize("damage", ["edited forecasts file", "newest manifest deleted"])
def test_a_tampered_ledger_is_not_ledger_ok_and_exits_3(damage: str, healthy: dict, capsys) -> None:
    ledger = healthy["ledger"]
    if damage == "edited forecasts file":
        path = ledger / Ledger(ledger).files["forecasts"][0]
        frame = pd.read_parquet(path)
        frame.loc[0, "probability"] = 0.99  # a better-looking forecast, written back by hand
        frame.to_parquet(path)
        expected = "was changed after it was written"
    else:
        sorted((ledger / "manifests").glob("*.json"))[-1].unlink()
        expected = "is missing"
    code = main(["doctor", "--store", str(healthy["store"]), "--ledger", str(ledger), "--json"])
    out = json.loads(capsys.readouterr().out)
    failed = [c for c in out["checks"] if c["status"] == "fail"]
    assert code == 3 and not out["ok"]
    assert [c["name"] for c in failed] == ["ledger:integrity"] and expected in failed[0]["detail"]
    assert "backup" in failed[0]["fix"]


# --------------------------------------------------------------------------- where doctor looks


def _config(path: Path, store: Path, ledger: Path, uri: str) -> Path:
    path.write_text(f'store = "{store}"\n\n[tracking]\nuri = "{uri}"\n\n[retrain]\ninbox = "inbox"\nledger = "{ledger}"\n')
    return path


def test_doctor_config_checks_the_jobs_store_ledger_and_tracking_uri(healthy: dict, tmp_path: Path, template_db: Path,
                                                                    monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    elsewhere = tmp_path / "elsewhere"  # a working directory with nothing in ./data
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    job_db = tmp_path / "job-mlflow.db"
    shutil.copy(template_db, job_db)
    config = _config(tmp_path / "job.toml", healthy["store"], healthy["ledger"], f"sqlite:///{job_db}")
    assert main(["doctor", "--config", str(config), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["looked_at"] == {"store": str(healthy["store"]), "ledger": str(healthy["ledger"]),
                                "tracking_uri": f"sqlite:///{job_db}", "source": f"--config {config}"}
    by_name = {c["name"]: c for c in out["checks"]}
    assert by_name["store:identity"]["status"] == "ok" and by_name["ledger"]["status"] == "ok"
    assert str(job_db) in by_name["tracking"]["detail"]
    # without --config the defaults are checked (and said so): nothing under ./data here
    assert main(["doctor", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["looked_at"]["store"] == str(elsewhere / "data" / "store") and "defaults" in out["looked_at"]["source"]
    assert {c["name"]: c["status"] for c in out["checks"]}["store"] == "warn"
    # a broken job database is found through the config, not hidden behind the default one
    bad = _config(tmp_path / "bad.toml", healthy["store"], healthy["ledger"], "http://127.0.0.1:9")
    assert main(["doctor", "--config", str(bad), "--json"]) == 5
    out = json.loads(capsys.readouterr().out)
    assert {c["name"]: c["status"] for c in out["checks"]}["tracking"] == "fail"


def test_doctor_after_the_demo_says_where_the_demo_lives(healthy: dict, capsys) -> None:
    project = healthy["project"]
    demo = project / "data" / "demo"  # what `tension demo` leaves: its store, ledger and demo.toml under data/demo
    demo.mkdir()
    shutil.move(healthy["store"], demo / "store")
    shutil.move(healthy["ledger"], demo / "ledger")
    _config(demo / "demo.toml", demo / "store", demo / "ledger", f"sqlite:///{project / 'data' / 'mlflow.db'}")
    assert main(["doctor", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    store = {c["name"]: c for c in out["checks"]}["store"]
    assert store["status"] == "warn" and f"tension doctor --config {demo / 'demo.toml'}" in store["fix"]
    assert out["looked_at"]["store"] == str(project / "data" / "store")
    assert main(["doctor", "--config", str(demo / "demo.toml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {c["name"]: c["status"] for c in out["checks"]}["store:identity"] == "ok"


def test_doctor_on_a_folder_that_is_not_a_store_fails_and_names_it(healthy: dict) -> None:
    checks = doctor.check_store(str(healthy["project"]))
    assert [c.status for c in checks] == ["fail"] and "not a tension event store" in checks[0].detail
    assert "data/store" in checks[0].detail
