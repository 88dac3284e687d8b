"""`tension ingest` and `tension store ...`: exit codes, JSON, and a real SIGKILL mid-ingest."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tension.cli import main
from tension.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_ingest_json_summary_and_strict_exit_code(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(FIXTURES / "gdelt2.export.CSV"), "--json"]) == 0
    out = _json(capsys)
    total = out["total"]
    assert (total["read"], total["stored"], total["duplicates"], total["quarantined"]) == (11, 6, 1, 4)
    assert total["identity_holds"] and out["files"][0]["format"] == "gdelt2"
    assert set(total["quarantined_by_reason"]) == {"unknown_event_code", "wrong_column_count", "bad_date", "empty_actor"}
    assert 0 < total["dyad_share"] <= 1
    assert (project / "data" / "store" / "_manifests").is_dir()  # default store ./data/store
    # --strict: the good rows are stored, the exit code says rows were quarantined
    code = main(["ingest", str(FIXTURES / "events.2014.icews.tab"), "--strict", "--json"])
    assert code == 6
    assert _json(capsys)["exit_code"] == 6
    assert main(["ingest", str(FIXTURES / "icews14_kg.txt"), "--strict", "--json", "--store", str(project / "other")]) == 6


def test_ingest_without_quarantine_is_zero_under_strict(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = project / "clean.txt"
    clean.write_text("Armenia\tAccuse\tAzerbaijan\t2014-06-14\nAzerbaijan\tAccuse\tArmenia\t2014-06-15\n")
    assert main(["ingest", str(clean), "--strict", "--json"]) == 0
    assert _json(capsys)["total"]["stored"] == 2


def test_undetectable_file_explains_what_it_saw(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = project / "odd.txt"
    odd.write_text("hello;world;this;is\nnot;an;event;file\n")
    assert main(["ingest", str(odd)]) == 2
    err = capsys.readouterr().err
    assert "Cannot detect the format" in err and "hello;world" in err and "--format" in err and "icews-kg" in err
    assert not (project / "data" / "store" / "_manifests").exists()  # nothing written


def test_csv_mapping_from_config_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["ingest", str(FIXTURES / "analyst_events.csv"), "--format", "csv", "--config", str(FIXTURES / "analyst_mapping.toml"), "--json"]
    assert main(args) == 0
    assert _json(capsys)["total"]["stored"] == 3
    assert main(["ingest", str(FIXTURES / "analyst_events.csv"), "--format", "csv"]) == 2
    assert "do not match the CSV mapping" in capsys.readouterr().err


def test_store_info_retract_compact(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["ingest", str(FIXTURES / "events.2014.icews.tab"), "--json"])
    first = _json(capsys)["batch_id"]
    main(["ingest", str(FIXTURES / "gdelt2.export.CSV"), "--json"])
    capsys.readouterr()
    assert main(["store", "info", "--json", "--quarantine", "3"]) == 0
    info = _json(capsys)
    assert info["events"] == 8 + 6 and info["batches"] == 2 and info["identity_holds"] and len(info["quarantine_rows"]) == 3
    assert main(["store", "compact", "--json"]) == 0
    assert _json(capsys)["files_after"] <= info["files"]
    assert main(["store", "retract", first, "--json"]) == 0
    assert _json(capsys)["events_removed"] == 8
    assert main(["store", "info", "--json"]) == 0
    after = _json(capsys)
    assert after["events"] == 6 and after["identity_holds"] and after["retracted_batches"] == 1
    assert main(["store", "retract", "no-such-batch"]) == 2


def _gdelt_file(path: Path, rows: int) -> None:
    template = (FIXTURES / "gdelt2.export.CSV").read_text().splitlines()[0].split("\t")
    middle = "\t".join(template[2:60])
    path.write_text("".join(f"{5_000_000 + i}\t202403{1 + i % 28:02d}\t{middle}\thttps://news.example.org/{i}\n" for i in range(rows)))


def test_sigkill_mid_ingest_leaves_store_unchanged_and_rerun_completes(project: Path) -> None:
    store_dir = project / "store"
    assert main(["ingest", str(FIXTURES / "icews14_kg.txt"), "--store", str(store_dir), "--json"]) == 0
    store = Store(store_dir)
    before_manifest, before_rows = store.manifest, store.read()
    big = project / "20240401000000.export.CSV"
    _gdelt_file(big, 450_000)  # one month: the store flushes a data file every 200,000 rows
    tension = Path(sys.executable).parent / "tension"
    proc = subprocess.Popen([str(tension), "ingest", str(big), "--store", str(store_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data_dir = store_dir / "data" / "month=2024-03"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None and not any(data_dir.glob("*.parquet")):
            time.sleep(0.005)
        assert proc.poll() is None, "ingest finished before a data file appeared; nothing was interrupted"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert any(data_dir.glob("*.parquet"))  # an uncommitted data file is on disk ...
    after = Store(store_dir)
    assert after.manifest == before_manifest  # ... but the committed store is exactly as before
    assert after.read().equals(before_rows)
    assert after.summary()["identity_holds"]

    assert main(["ingest", str(big), "--store", str(store_dir), "--json"]) == 0
    done = Store(store_dir)
    events = done.read(columns=["event_id"])
    assert events["event_id"].is_unique and len(events) == len(before_rows) + 450_000
    assert done.compact()["orphans_removed"] >= 1
    assert len(done.read(columns=["event_id"])) == len(events) and done.summary()["identity_holds"]


def test_rich_markup_in_actor_names_and_raw_lines_is_printed_literally(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "markup.txt"
    path.write_text("[/evil]\tAccuse\t[bold red]Azerbaijan\t2014-06-14\n[/evil]\tNot a verb\tAzerbaijan\t2014-06-16\n")
    assert main(["ingest", str(path)]) == 0
    assert "[/evil]" in capsys.readouterr().out  # the summary is a result: stdout
    assert main(["store", "info", "--quarantine", "5"]) == 0
    assert "[/evil]" in capsys.readouterr().out
