"""The README's main job end to end (``tension demo``), then notebook 04 on what it left behind."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from tension.cli import main

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_scored_report_and_ledger.ipynb"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    project = tmp_path_factory.mktemp("demo_project")
    old = Path.cwd()
    saved = {k: os.environ.pop(k, None) for k in ("TENSION_STORE", "MLFLOW_TRACKING_URI")}
    os.chdir(project)
    try:
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(["demo", "--out", str(project / "data" / "demo"), "--countries", "16", "--years", "4",
                         "--live-weeks", "8", "--json"])
        assert code == 0, buffer.getvalue()[-2000:]
        payload = json.loads(buffer.getvalue().strip().splitlines()[-1])
    finally:
        os.chdir(old)
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v
    return project, payload


def test_demo_runs_every_stage_and_leaves_report_mlflow_registry_and_ledger(demo_run: tuple[Path, dict],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    project, payload = demo_run
    assert payload["ok"] and payload["remaining"] == []
    names = [s["stage"] for s in payload["stages"]]
    assert names == ["simulate", "split", "retrain", "backtest", "live weeks", "ledger resolve", "examples", "report"]
    report = Path(payload["report"]).read_text(encoding="utf-8")
    assert "Content-Security-Policy" in report and "<script" not in report.lower()
    assert "synthetic" in report.lower()
    assert (project / "data" / "mlflow.db").is_file()
    assert payload["tracking_uri"] == f"sqlite:///{(project / 'data' / 'mlflow.db').resolve()}"

    from tension import Ledger
    from tension.tracking import CHAMPION, alias_version, model_versions
    from tension.config import load_experiment

    monkeypatch.chdir(project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", payload["tracking_uri"])
    exp = load_experiment(project / "data" / "demo" / "demo.toml")
    assert alias_version(exp, CHAMPION) is not None
    assert len(model_versions(exp)) >= 1
    summary = Ledger(project / "data" / "demo" / "ledger").summary()
    assert summary["issued"] > 0 and summary["resolved"] > 0 and summary["hindcasts"] == 0
    timeline = Path(payload["timeline"]).read_text(encoding="utf-8")
    assert "Armenia" in timeline and "Azerbaijan" in timeline


def test_notebook_04_reads_the_demo_scores_and_ledger(demo_run: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    project, _ = demo_run
    monkeypatch.setenv("TENSION_DEMO", str(project / "data" / "demo"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "".join(str(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "scores" in text
    scores = pd.read_parquet(max((project / "data" / "demo" / "scores").glob("scores-*.parquet")))
    assert {"dyad", "probability", "lower", "upper", "coverage", "drivers", "evidence"} <= set(scores.columns)


def _counts(project: Path, uri: str) -> dict[str, int]:
    from mlflow.tracking import MlflowClient

    from tension.config import load_experiment
    from tension.tracking import model_versions

    exp = load_experiment(project / "data" / "demo" / "demo.toml")
    client = MlflowClient(tracking_uri=uri)
    exp_id = client.get_experiment_by_name(exp.tracking.experiment).experiment_id
    runs = client.search_runs([exp_id], max_results=5000)
    kinds = [r.data.tags.get("tension.kind", "") for r in runs]
    return {"versions": len(model_versions(exp)), "train": kinds.count("train"), "backtest": kinds.count("backtest")}


def test_running_the_demo_again_registers_no_model_and_reruns_no_backtest(demo_run: tuple[Path, dict],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs last: it reruns the demo in the same project (the README says a rerun is a no-op)."""
    project, payload = demo_run
    monkeypatch.chdir(project)
    monkeypatch.delenv("TENSION_STORE", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", payload["tracking_uri"])
    before = _counts(project, payload["tracking_uri"])
    banded = pd.read_parquet(max((project / "data" / "demo" / "scores").glob("scores-*.parquet")))

    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["demo", "--out", str(project / "data" / "demo"), "--countries", "16", "--years", "4",
                     "--live-weeks", "8", "--json"])
    assert code == 0, buffer.getvalue()[-2000:]
    again = json.loads(buffer.getvalue().strip().splitlines()[-1])
    assert _counts(project, payload["tracking_uri"]) == before  # no new version, training or backtest run
    stages = {s["stage"]: s["detail"] for s in again["stages"]}
    assert "unchanged" in stages["retrain"] or "Nothing new" in stages["retrain"]
    assert "reused" in stages["backtest"]
    assert "0 new forecasts issued" in stages["live weeks"]
    # the demo's scores carry bands from the champion's own stored backtest, or say why not
    assert banded["lower"].notna().any()
    assert banded.loc[banded["lower"].isna(), "band_note"].str.startswith("no band:").all()
