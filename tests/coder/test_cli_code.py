"""`tension code`: bad input is exit 2 with a clear message; output ingests with the counting identity; events reach the panel."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tension.cli import main

ARTICLE = """url: https://example.org/gyumri
title: Yerevan rejects report
published: 2025-07-07

Armenia's Foreign Ministry denied Ukraine's claim that Russia is building up forces at Gyumri.
Azerbaijani forces shelled Armenian positions near Jermuk on Tuesday.
Armenia and Azerbaijan signed a peace agreement in Washington.
"""


def _code(tmp_path: Path, *args: str) -> int:
    return main(["code", *args])


@pytest.mark.parametrize(("content", "suffix", "needle"), [
    (b"", ".txt", "is empty"),
    (b"\x00\x01\x02binary\x00", ".txt", "binary"),
    ("Armenien und Aserbaidschan \u00e4\u00f6".encode("latin-1"), ".txt", "not UTF-8"),
    (b'{"id": "a", "title": "no text here"}\n', ".jsonl", "has no 'text'"),
    (b"{not json\n", ".jsonl", "not valid JSON"),
])
def test_bad_input_is_exit_2_with_a_message(tmp_path, capsys, content, suffix, needle):
    src = tmp_path / f"in{suffix}"
    src.write_bytes(content)
    out = tmp_path / "out.csv"
    assert main(["code", str(src), "--out", str(out)]) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


def test_unknown_coder_is_exit_2(tmp_path, capsys):
    src = tmp_path / "a.txt"
    src.write_text(ARTICLE, encoding="utf-8")
    assert main(["code", str(src), "--out", str(tmp_path / "o.csv"), "--coder", "magic"]) == 2
    assert "Unknown coder 'magic'" in capsys.readouterr().err


def test_coded_csv_ingests_with_identity_and_quarantines_non_asserted(tmp_path, capsys):
    src = tmp_path / "a.txt"
    src.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "coded.csv"
    assert main(["code", str(src), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    coded = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert summary["events"] == len(coded) and summary["denied"] >= 1
    assert coded.loc[0, "source_ref"] == "https://example.org/gyumri"
    assert set(coded["dataset"]) == {"coded-offline-v1"}
    shelled = coded[coded["cameo_code"] == "194"].iloc[0]
    assert shelled["date"] == "2025-07-01" and shelled["evidence"].startswith("Azerbaijani forces shelled")
    store = tmp_path / "store"
    assert main(["ingest", str(out), "--format", "csv", "--store", str(store), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["total"]
    assert report["read"] == len(coded) == report["stored"] + report["duplicates"] + report["quarantined"]
    non_asserted = coded["polarity"] != "asserted"
    assert report["quarantined"] == int(non_asserted.sum())
    assert set(report["quarantined_by_reason"]) == {f"polarity_{p}" for p in coded.loc[non_asserted, "polarity"]}
    # again: nothing new, all duplicates or quarantined, identity still holds
    assert main(["ingest", str(out), "--format", "csv", "--store", str(store), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)["total"]
    assert again["stored"] == 0 and again["read"] == again["duplicates"] + again["quarantined"]


def test_coded_events_show_up_in_the_panel(tmp_path, capsys):
    from tension import Store, build_panel

    src = tmp_path / "a.txt"
    src.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "coded.csv"
    assert main(["code", str(src), "--out", str(out)]) == 0
    store = tmp_path / "store"
    assert main(["ingest", str(out), "--format", "csv", "--store", str(store)]) == 0
    panel = build_panel(Store(store), freq="W", dyads="directed", features=())
    row = panel[(panel["dyad"] == "AZE>ARM") & (panel["period"] == pd.Timestamp("2025-06-30"))]
    assert len(row) == 1 and int(row["incident_count"].iloc[0]) == 1
    denial = panel[(panel["dyad"] == "ARM>UKR") & (panel["period"] == pd.Timestamp("2025-07-07"))]
    assert int(denial["denial_count"].iloc[0]) == 1
    assert panel.loc[panel["source"] == "RUS", "incident_count"].sum() == 0  # the denied build-up is no incident


def test_folder_and_jsonl_inputs(tmp_path, capsys):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "b.jsonl").write_text(json.dumps({"id": "b1", "text": "Russia expelled two Azerbaijani diplomats.",
                                                "published": "2025-07-02"}) + "\n", encoding="utf-8")
    out = tmp_path / "coded.csv"
    assert main(["code", str(folder), "--out", str(out), "--json"]) == 0
    coded = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert {"a.txt", "b1"} <= set(coded["text_id"])
    b1 = coded[coded["text_id"] == "b1"].iloc[0]
    assert (b1["source_country"], b1["target_country"], b1["cameo_code"], b1["date"]) == ("RUS", "AZE", "166", "2025-07-02")
