"""Output files: written atomically, and a file tension did not write is never overwritten."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tension._io import OutputKeptWarning, atomic_output, written_by_tension
from tension.cli import main

ARTICLE = """url: https://example.org/jermuk
title: Shelling near Jermuk
published: 2025-07-07

Azerbaijani forces shelled Armenian positions near Jermuk on Tuesday.
"""


def _write(path: Path, text: str) -> None:
    with atomic_output(path, "test output") as tmp:
        tmp.write_text(text, encoding="utf-8")


def _kept(folder: Path, stem: str) -> list[Path]:
    return sorted(folder.glob(f"{stem}.kept-*"))


def test_a_users_own_file_at_the_output_path_is_kept_not_overwritten(tmp_path):
    out = tmp_path / "notes.csv"
    out.write_text("my own notes\n", encoding="utf-8")
    with pytest.warns(OutputKeptWarning, match="was not written by tension"):
        _write(out, "new output\n")
    assert out.read_text(encoding="utf-8") == "new output\n"
    kept = _kept(tmp_path, "notes")
    assert len(kept) == 1 and kept[0].suffix == ".csv"
    assert kept[0].read_text(encoding="utf-8") == "my own notes\n"


def test_a_file_tension_wrote_is_replaced_without_a_copy(tmp_path, recwarn):
    out = tmp_path / "scores.csv"
    _write(out, "first\n")
    assert written_by_tension(out)
    _write(out, "second\n")
    assert out.read_text(encoding="utf-8") == "second\n"
    assert _kept(tmp_path, "scores") == []
    assert not [w for w in recwarn if issubclass(w.category, OutputKeptWarning)]


def test_a_file_tension_wrote_but_the_user_edited_is_kept(tmp_path):
    out = tmp_path / "report.html"
    _write(out, "<p>generated</p>")
    time.sleep(0.01)
    with out.open("a", encoding="utf-8") as fh:
        fh.write("<p>analyst's annotation</p>")
    assert not written_by_tension(out)
    with pytest.warns(OutputKeptWarning):
        _write(out, "<p>regenerated</p>")
    kept = _kept(tmp_path, "report")
    assert [k.read_text(encoding="utf-8") for k in kept] == ["<p>generated</p><p>analyst's annotation</p>"]


def test_a_failed_write_leaves_the_existing_file_alone(tmp_path):
    out = tmp_path / "panel.parquet"
    out.write_bytes(b"user data")
    with pytest.raises(RuntimeError):
        with atomic_output(out, "panel") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    assert out.read_bytes() == b"user data"
    assert _kept(tmp_path, "panel") == [] and sorted(os.listdir(tmp_path)) == ["panel.parquet"]


def test_the_cli_keeps_a_users_file_at_out_and_says_so_on_stderr(tmp_path, capfd):
    src = tmp_path / "a.txt"
    src.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "coded.csv"
    out.write_text("analyst's hand-coded events\n", encoding="utf-8")
    assert main(["code", str(src), "--out", str(out)]) == 0
    err = capfd.readouterr().err
    assert "was not written by tension" in err
    kept = _kept(tmp_path, "coded")
    assert [k.read_text(encoding="utf-8") for k in kept] == ["analyst's hand-coded events\n"]
    assert "Jermuk" in out.read_text(encoding="utf-8") or out.stat().st_size > 0
    assert main(["code", str(src), "--out", str(out)]) == 0  # its own output: replaced, nothing more kept
    assert len(_kept(tmp_path, "coded")) == 1
