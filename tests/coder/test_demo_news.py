"""The demo's news step: the team's articles are coded, ingested beside the hand-coded examples and shown in the timeline."""
from __future__ import annotations

import json

import pandas as pd

from tension.cli import main
from tension.cli.commands.demo import EXAMPLES, NEWS, _timeline


def test_news_examples_are_coded_ingested_and_shown_with_evidence_and_polarity(tmp_path, capsys):
    coded = tmp_path / "coded_news.csv"
    assert main(["code", str(NEWS), "--out", str(coded), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["texts"] == len(list(NEWS.glob("*.txt"))) and summary["asserted"] > 0 and summary["denied"] > 0
    store = tmp_path / "store"
    assert main(["ingest", str(EXAMPLES), str(coded), "--store", str(store), "--format", "csv", "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["read"] == total["stored"] + total["duplicates"] + total["quarantined"]
    assert total["quarantined"] == summary["claimed"] + summary["denied"]
    page = tmp_path / "timeline.html"
    _timeline(EXAMPLES, coded, page)
    html = page.read_text(encoding="utf-8")
    rows = pd.read_csv(coded, dtype=str, keep_default_na=False)
    denied = rows[rows["polarity"] == "denied"].iloc[0]
    assert "coded news" in html and "denied" in html and "kept for review" in html
    assert denied["evidence"].replace("'", "&#39;") in html
    assert "hand-coded" in html  # the analysts' own rows stay marked as such


def test_report_evidence_file_keeps_coded_news_marked_and_only_asserted_ones(tmp_path, capsys):
    from tension.cli.commands.demo import _with_news
    from tension.ingest import read_events

    coded = tmp_path / "coded_news.csv"
    assert main(["code", str(NEWS), "--out", str(coded)]) == 0
    rows = pd.read_csv(coded, dtype=str, keep_default_na=False)
    result = read_events(_with_news(EXAMPLES, coded, tmp_path / "with_news.csv"))
    datasets = result.events["dataset"].value_counts().to_dict()
    assert datasets["coded-offline-v1"] == int((rows["polarity"] == "asserted").sum())
    assert datasets["analyst"] == len(pd.read_csv(EXAMPLES))
    assert result.read == len(result.events) + len(result.quarantine)
