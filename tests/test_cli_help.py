"""Every command's ``--help``, rendered as a user sees it: no text lost to Rich markup, no odd metavars.

The commands are found by walking the Typer app, so a new command is checked without being listed here.
"""
from __future__ import annotations

import re

from typing import Any
import pytest
import typer

from tension.cli import app, main

STYLE_TAGS = re.compile(r"\[/?(?:bold|italic|dim|red|green|yellow|blue|cyan|magenta|underline|bold \w+|link[^\]]*)\]")
BRACKETED = re.compile(r"\\?\[([A-Za-z][\w .:-]*)\]")


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_command(app)
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        found.append((path, cmd))
        if hasattr(cmd, "commands"):
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, (*path, name))

    walk(root, ())
    return found


COMMANDS = _commands()


def _source_texts(cmd: Any) -> list[str]:
    texts = [cmd.help or ""]
    texts += [getattr(p, "help", None) or "" for p in cmd.params]
    return texts


def _bracketed_words(cmd: Any) -> set[str]:
    words = set()
    for text in _source_texts(cmd):
        for m in BRACKETED.finditer(STYLE_TAGS.sub("", text)):
            words.add(f"[{m.group(1)}]")
    return words


def _help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "250")  # no wrapping inside the words we look for
    assert main([*path, "--help"]) == 0
    cap = capsys.readouterr()
    return cap.out + cap.err


def test_the_walk_finds_every_command_of_the_architecture():
    names = {" ".join(p) for p, _ in COMMANDS}
    for expected in ("ingest", "panel", "backtest", "train", "score", "report", "ledger resolve", "retrain", "doctor",
                     "demo", "model promote", "model list", "simulate", "fetch"):
        assert expected in names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "tension")
def test_help_keeps_every_bracketed_word_and_shows_no_set_metavar(path, capsys, monkeypatch):
    cmd = dict(COMMANDS)[path]
    text = _help(path, capsys, monkeypatch)
    lost = sorted(w for w in _bracketed_words(cmd) if w not in text)
    assert not lost, f"`tension {' '.join(path)} --help` lost {lost} to Rich markup (escape them as \\[...])"
    assert not re.search(r"\{\w+\}", text.split("Usage:")[-1].splitlines()[0] if "Usage:" in text else ""), \
        "a {name}-style metavar in the usage line"
    assert "Usage:" in text
    if not hasattr(cmd, "commands") and path:
        assert "Example" in text, f"`tension {' '.join(path)} --help` has no example"
