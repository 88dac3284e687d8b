"""benchmarks/run.py and benchmarks/bench_ingest.py: sizes honoured, memory guard, bounded generator.

Real runs at tiny sizes: the ingest part really generates a GDELT file and runs
`tension ingest` as a subprocess. The benchmarks themselves are never run here.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_ingest  # noqa: E402
import run as bench_run  # noqa: E402


def test_help_documents_every_option():
    out = subprocess.run([sys.executable, str(BENCH / "run.py"), "--help"], capture_output=True, text=True, check=True).stdout
    for option in ("--sizes", "--quick", "--only", "--out", "--merge", "--plan", "--skip-memory-check"):
        assert option in out
    assert "Only the sizes given are run" in out and "refused" in out


def test_plan_runs_only_the_sizes_asked_for():
    assert bench_run.make_plan(["ingest"], [1_000_000]) == [("ingest", 1_000_000)]
    plan = bench_run.make_plan(list(bench_run.PARTS), [300_000, 3_000_000])
    assert {n for _, n in plan} == {300_000, 3_000_000}
    assert ("backtest", 300_000) in plan and ("dask", 3_000_000) in plan  # no 1M asked: the smallest; dask: the largest


def test_merge_reruns_only_the_given_size_and_keeps_the_others(tmp_path, monkeypatch, capsys):
    out = tmp_path / "results.json"
    stale = {"size": 10_000_000, "error": "an old failure that must stay untouched"}
    out.write_text(json.dumps({"sizes": [1000, 10_000_000], "argv": [], "started": "earlier",
                               "results": {"ingest": [stale], "panel": [{"size": 1000, "error": "kept"}]}}))
    monkeypatch.setattr(bench_run, "WORK", tmp_path / "work")
    assert bench_run.main(["--only", "ingest", "--sizes", "1000", "--merge", "--out", str(out)]) == 0
    log = capsys.readouterr().err
    assert "ingest at 1,000 events" in log and "10,000,000 events ..." not in log
    payload = json.loads(out.read_text())
    ingest = payload["results"]["ingest"]
    assert [r["size"] for r in ingest] == [1000, 10_000_000]
    assert ingest[1] == stale
    fresh = ingest[0]
    assert fresh["rows_in_file"] == 1001 and fresh["identity_holds"] is True
    assert fresh["quarantined_by_reason"] == {"wrong_column_count": 1}
    assert 0 < fresh["generate_peak_rss_mb"] and 0 < fresh["peak_rss_mb"]
    assert payload["results"]["panel"] == [{"size": 1000, "error": "kept"}]
    assert payload["sizes"] == [1000, 10_000_000]
    assert not (tmp_path / "work" / "ingest_1000" / "20240515120000.export.CSV").exists()  # the input file is removed


def test_a_size_that_does_not_fit_in_memory_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench_run, "WORK", tmp_path / "work")
    out = tmp_path / "results.json"
    assert bench_run.main(["--only", "ingest,scoring", "--sizes", "1e6,1e9", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "refused: ingest at 1,000,000,000 events needs about" in err and "GB is available" in err
    assert "refused: scoring at 1,000,000,000" in err and "at 1,000,000 events" not in err
    assert "Nothing was run." in err and not out.exists() and not (tmp_path / "work").exists()


def test_memory_that_becomes_scarce_mid_run_refuses_the_rest_and_exits_3(tmp_path, monkeypatch, capsys):
    free = iter([64_000.0, 64_000.0, 100.0])  # the machine's available MB: at the start, first size, second size
    monkeypatch.setattr(bench_run, "available_mb", lambda: next(free))
    monkeypatch.setattr(bench_run, "WORK", tmp_path / "work")
    out = tmp_path / "results.json"
    assert bench_run.main(["--only", "ingest", "--sizes", "1000,2000", "--out", str(out)]) == 3
    ingest = json.loads(out.read_text())["results"]["ingest"]
    assert "error" not in ingest[0] and ingest[0]["rows_in_file"] == 1001
    assert ingest[1]["size"] == 2000 and ingest[1]["error"].startswith("refused: ingest at 2,000 events")


def test_estimates_grow_with_size_and_sizes_parse():
    assert bench_run.estimate_mb("ingest", 10_000_000) > bench_run.estimate_mb("ingest", 1_000_000)
    assert bench_run.estimate_mb("scoring", 10_000_000) > bench_run.estimate_mb("scoring", 1_000_000)
    assert bench_run.parse_sizes("1e6, 300k,1M") == [300_000, 1_000_000]
    with pytest.raises(SystemExit, match="too small"):
        bench_run.parse_sizes("10")


def test_generator_is_deterministic_and_chunks_do_not_depend_on_the_total(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_ingest, "CHUNK_ROWS", 1000)
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    bench_ingest.generate(a, 2500)
    bench_ingest.generate(b, 2500)
    bench_ingest.generate(c, 1500)
    assert a.read_bytes() == b.read_bytes()
    lines = a.read_text().splitlines()
    assert len(lines) == 2501 and all(len(line.split("\t")) == 61 for line in lines[:-1])
    assert len(lines[-1].split("\t")) == 3  # the truncated line
    assert c.read_text().splitlines()[:1500] == lines[:1500]  # a smaller file is a prefix of a larger one
    ids = [int(line.split("\t", 1)[0]) for line in lines[:-1]]
    assert ids[0] == bench_ingest.ID_BASE and len(set(ids)) < len(ids)  # a few events exported twice


def test_generator_memory_does_not_grow_with_the_file(tmp_path):
    _, small = bench_ingest.generate_in_child(tmp_path / "small.csv", bench_ingest.CHUNK_ROWS)
    _, large = bench_ingest.generate_in_child(tmp_path / "large.csv", 3 * bench_ingest.CHUNK_ROWS)
    assert (tmp_path / "large.csv").stat().st_size > 2.9 * (tmp_path / "small.csv").stat().st_size
    assert large < 1.2 * small + 50, (small, large)


def test_skill_refuses_a_test_look_for_a_model_that_is_not_the_declared_candidate(tmp_path):
    from tension.config import load_experiment

    root = Path(__file__).resolve().parents[1]
    declared = load_experiment(root / "experiments" / "icews_monthly.toml").models.candidate
    other = "history_hgb" if declared != "history_hgb" else "history_mix"
    doc = root / "docs" / "skill.md"
    before = doc.read_text(encoding="utf-8")
    for argv, says in ((["--model", other], f"not the declared candidate ({declared})"),
                       (["--model", "histroy", "--dev-only"], "not a registered model")):
        run = subprocess.run([sys.executable, str(BENCH / "skill.py"), *argv], capture_output=True, text=True,
                             cwd=tmp_path, timeout=120)
        assert run.returncode == 2 and says in run.stderr, run.stderr
    assert doc.read_text(encoding="utf-8") == before  # no touch logged
