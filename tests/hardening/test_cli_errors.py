"""Bad arguments and bad configuration: one clear message (what, expected, got, how to fix) and exit 2.

The first tests walk EVERY command registered on the Typer app (found by introspection,
so a new command is covered the day it is added): ``--help`` shows an example, an unknown
option, text where a number belongs and a missing required argument are usage errors.
The rest give semantically bad values to each command against a real store.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer

from hardening_tools import FIXTURES, run
from tension.cli import app, main


def _leaves(cmd, path: tuple[str, ...] = ()):  # noqa: ANN001, ANN202
    subs = getattr(cmd, "commands", None)
    if subs:
        for name, sub in sorted(subs.items()):
            yield from _leaves(sub, (*path, name))
    elif path:
        yield path, cmd


COMMANDS = dict(_leaves(typer.main.get_command(app)))
"""Every leaf command: ("ingest",), ("store", "info"), ("ledger", "resolve"), ..."""
IDS = [" ".join(p) for p in COMMANDS]


def _annotation(param) -> object:  # noqa: ANN001
    return getattr(getattr(param, "type_descriptor", None), "annotation", None)


def _required_args(path: tuple[str, ...]) -> list[str]:
    """Placeholder values for the command's required arguments and options (so only the fault under test remains)."""
    out: list[str] = []
    for p in COMMANDS[path].params:
        if not getattr(p, "required", False):
            continue
        value = {"since": "2024-01-01", "inbox": "inbox", "config": "missing.toml"}.get(p.name, "x")
        out += [value] if p.param_type_name == "argument" else [p.opts[0], value]
    return out


NUMBER_OPTIONS = [
    (path, p.opts[0]) for path, cmd in COMMANDS.items() for p in cmd.params
    if p.param_type_name == "option" and _annotation(p) in (int, float) and not getattr(p, "is_flag", False)
]

@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("TENSION_STORE", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "data").mkdir()
    return tmp_path


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().err.split())


def _usage_error(code: int, err: str) -> None:
    """Exit 2 with one message, never an unexpected error or a traceback."""
    assert code == 2, err[-1500:]
    assert "Unexpected error" not in err and "Traceback" not in err, err[-1500:]


# --------------------------------------------------------------------------- every command


def test_the_walk_finds_every_command_of_the_architecture() -> None:
    names = {p[0] for p in COMMANDS}
    assert {"ingest", "store", "fetch", "simulate", "panel", "backtest", "train", "score", "report", "ledger",
            "retrain", "doctor"} <= names
    assert {("store", "info"), ("store", "retract"), ("store", "compact"), ("ledger", "resolve"), ("ledger", "report")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=IDS)
def test_every_command_has_help_with_an_example(path: tuple[str, ...], project: Path, capsys) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and "--json" in out, out[-800:]


@pytest.mark.parametrize("path", COMMANDS, ids=IDS)
def test_every_command_refuses_a_misspelt_option_and_suggests_the_right_one(path: tuple[str, ...], project: Path, capsys) -> None:
    code = main([*path, *_required_args(path), "--jsno"])
    err = _err(capsys)
    _usage_error(code, err)
    assert "--jsno" in err and "--json" in err


@pytest.mark.parametrize("path,option", NUMBER_OPTIONS, ids=[f"{' '.join(p)} {o}" for p, o in NUMBER_OPTIONS])
def test_every_number_option_refuses_text(path: tuple[str, ...], option: str, project: Path, capsys) -> None:
    code = main([*path, *_required_args(path), option, "many"])
    err = _err(capsys)
    _usage_error(code, err)
    assert option in err and ("integer" in err or "number" in err), err[-600:]


REQUIRED = [p for p in COMMANDS if _required_args(p)]


@pytest.mark.parametrize("path", REQUIRED, ids=[" ".join(p) for p in REQUIRED])
def test_a_missing_required_argument_is_named(path: tuple[str, ...], project: Path, capsys) -> None:
    code = main(list(path))
    err = _err(capsys)
    _usage_error(code, err)
    assert "Missing" in err


def test_a_misspelt_option_through_the_console_script(tmp_path: Path) -> None:
    proc = run(["panel", "--stor", "x"], cwd=tmp_path)
    assert proc.returncode == 2 and "--store" in proc.stderr


# --------------------------------------------------------------------------- semantic errors, one per command


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-store")
    assert main(["ingest", str(FIXTURES / "events.2014.icews.tab"), "--store", str(root / "store")]) == 0
    return root / "store"


@pytest.fixture(scope="module")
def scores_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal scores table as `tension score` writes it (two dyads, one horizon)."""
    root = tmp_path_factory.mktemp("scores")
    table = pd.DataFrame({
        "dyad": ["ARM>AZE", "AZE>ARM"], "source": ["ARM", "AZE"], "target": ["AZE", "ARM"],
        "as_of": pd.to_datetime(["2024-03-04"] * 2), "horizon": [4, 4], "probability": [0.3, 0.1],
        "lower": [0.2, 0.05], "upper": [0.4, 0.2], "rank": [1.0, 2.0], "region_rank": [1.0, 2.0],
        "change": [float("nan")] * 2, "coverage": ["ok", "ok"], "region": ["South Caucasus"] * 2,
        "drivers": ["[]", "[]"], "evidence": ["[]", "[]"], "model_version": ["tension/1"] * 2,
        "data_cutoff": pd.to_datetime(["2024-03-10"] * 2),
    })
    path = root / "scores.parquet"
    table.to_parquet(path, index=False)
    return path


BAD_CALLS = {
    "ingest unknown format": (["ingest", str(FIXTURES / "icews14_kg.txt"), "--format", "gdelt3"], ["gdelt3", "Did you mean 'gdelt2'"]),
    "ingest missing file": (["ingest", "no-such-file.tsv"], ["not found", "no-such-file.tsv"]),
    "ingest undetectable": (["ingest", "{odd}"], ["Cannot detect the format", "--format"]),
    "panel start not a date": (["panel", "--store", "{store}", "--start", "notadate"], ["notadate", "YYYY-MM-DD"]),
    "panel unknown freq": (["panel", "--store", "{store}", "--freq", "Q"], ["'Q'", "--freq"]),
    "panel unknown dyads": (["panel", "--store", "{store}", "--dyads", "sideways"], ["sideways", "directed"]),
    "panel unknown out format": (["panel", "--store", "{store}", "--out", "p.xlsx"], ["p.xlsx", ".parquet"]),
    "panel missing store": (["panel", "--store", "no-store"], ["does not exist", "tension ingest"]),
    "simulate one country": (["simulate", "--countries", "1"], ["Got 1", "--countries"]),
    "simulate negative years": (["simulate", "--years", "-1"], ["-1", "--years"]),
    "simulate start not a date": (["simulate", "--start", "notadate"], ["notadate", "YYYY-MM-DD"]),
    "backtest unknown model": (["backtest", "--store", "{store}", "--models", "logti"], ["Did you mean 'logit'"]),
    "backtest horizon zero": (["backtest", "--store", "{store}", "--horizon", "0"], ["horizon", "Got 0"]),
    "backtest dates in the wrong order": (["backtest", "--store", "{store}", "--start", "2015-01-01", "--end", "2014-01-01"],
                                          ["ends before it starts", "Swap"]),
    "backtest unknown report format": (["backtest", "--store", "{store}", "--report", "r.html"], ["r.html", ".md"]),
    "train unknown model": (["train", "--store", "{store}", "--model", "nope"], ["'nope'", "logit"]),
    "train cutoff not a date": (["train", "--store", "{store}", "--cutoff", "notadate"], ["notadate", "--cutoff"]),
    "score file URI": (["score", "--store", "{store}", "--model", "file:///tmp/x"], ["file:///tmp/x", "models:/"]),
    "score runs URI": (["score", "--store", "{store}", "--model", "runs:/abc/model"], ["runs:/abc/model", "models:/"]),
    "score half a backfill": (["score", "--store", "{store}", "--from", "2020-01-01"], ["--to"]),
    "score as-of and backfill": (["score", "--store", "{store}", "--as-of", "2020-01-01", "--from", "2020-01-01", "--to", "2020-02-01"],
                                 ["exclude each other"]),
    "report unknown format": (["report", "--scores", "{scores}", "--format", "pdf"], ["'pdf'", "html"]),
    "report missing scores": (["report", "--scores", "nope.parquet"], ["does not exist", "tension score"]),
    "report unknown region": (["report", "--scores", "{scores}", "--format", "csv", "--region", "South Caucasu"],
                              ["Did you mean 'South Caucasus'"]),
    "ledger resolve empty": (["ledger", "resolve", "--store", "{store}"], ["ledger is empty", "--issue"]),
    "ledger report empty": (["ledger", "report"], ["ledger is empty"]),
    "retrain missing config": (["retrain", "--config", "missing.toml"], ["not found", "missing.toml"]),
    "retrain without inbox": (["retrain", "--config", "{noinbox}"], ["inbox"]),
    "fetch unknown feed": (["fetch", "gdelt3", "--since", "2024-01-01", "--inbox", "inbox"], ["Did you mean 'gdelt2'"]),
    "fetch since not a date": (["fetch", "gdelt2", "--since", "notadate", "--inbox", "inbox"], ["notadate"]),
    "store retract unknown batch": (["store", "retract", "nope", "--store", "{store}"], ["No such batch", "store info"]),
}


@pytest.mark.parametrize("name", BAD_CALLS)
def test_a_bad_value_gives_one_clear_message_and_exit_2(name: str, project: Path, small_store: Path, scores_file: Path, capsys) -> None:
    args, needles = BAD_CALLS[name]
    (project / "odd.txt").write_text("hello;world\nnot;events\n")
    (project / "noinbox.toml").write_text("[retrain]\nrecent_origins = 4\n")
    subst = {"{store}": str(small_store), "{scores}": str(scores_file), "{odd}": str(project / "odd.txt"),
             "{noinbox}": str(project / "noinbox.toml")}
    code = main([subst.get(a, a) for a in args])
    err = _err(capsys)
    _usage_error(code, err)
    for needle in needles:
        assert needle in err, (needle, err[-800:])


# --------------------------------------------------------------------------- configuration files


CONFIG_COMMANDS = {
    "ingest": ["ingest", str(FIXTURES / "analyst_events.csv"), "--format", "csv", "--config", "{cfg}"],
    "panel": ["panel", "--store", "{store}", "--config", "{cfg}"],
    "backtest": ["backtest", "--store", "{store}", "--experiment", "{cfg}"],
    "train": ["train", "--store", "{store}", "--experiment", "{cfg}"],
    "score": ["score", "--store", "{store}", "--config", "{cfg}"],
    "report": ["report", "--scores", "{scores}", "--config", "{cfg}"],
    "ledger report": ["ledger", "report", "--config", "{cfg}"],
    "retrain": ["retrain", "--config", "{cfg}"],
}
BAD_CONFIGS = {
    "misspelt key": ('[panel]\nfreqq = "W"\n', ["panel.freqq", "unknown key", "Did you mean 'freq'"]),
    "unknown section": ('[modles]\ncandidate = "logit"\n', ["modles", "Did you mean 'models'"]),
    "wrong type": ('[panel]\nlookback_months = "many"\n', ["panel.lookback_months", "expected int", "'many'"]),
    "bool for a number": ("[target]\nhorizon = true\n", ["target.horizon", "expected int"]),
    "invalid TOML": ("[panel\nfreq = 'W'\n", ["not valid TOML", "Fix the syntax"]),
    "two problems at once": ('[panel]\nfreqq = "W"\n[target]\nhorizon = "x"\n', ["2 problems", "freqq", "horizon"]),
}


@pytest.mark.parametrize("command", CONFIG_COMMANDS)
@pytest.mark.parametrize("problem", BAD_CONFIGS)
def test_every_config_problem_is_named_with_the_fix(command: str, problem: str, project: Path, small_store: Path,
                                                     scores_file: Path, capsys) -> None:
    text, needles = BAD_CONFIGS[problem]
    cfg = project / "bad.toml"
    cfg.write_text(text)
    subst = {"{cfg}": str(cfg), "{store}": str(small_store), "{scores}": str(scores_file)}
    code = main([subst.get(a, a) for a in CONFIG_COMMANDS[command]])
    err = _err(capsys)
    _usage_error(code, err)
    for needle in needles:
        assert needle in err, (needle, err[-800:])


@pytest.mark.parametrize("command", CONFIG_COMMANDS)
def test_a_missing_config_file_is_named(command: str, project: Path, small_store: Path, scores_file: Path, capsys) -> None:
    subst = {"{cfg}": "does-not-exist.toml", "{store}": str(small_store), "{scores}": str(scores_file)}
    code = main([subst.get(a, a) for a in CONFIG_COMMANDS[command]])
    err = _err(capsys)
    _usage_error(code, err)
    assert "does-not-exist.toml" in err and "not found" in err


# --------------------------------------------------------------------------- output paths and date order


@pytest.mark.parametrize("command", ["panel", "simulate", "report", "ingest-store"])
def test_an_unwritable_output_path_is_a_usage_error(command: str, project: Path, small_store: Path, scores_file: Path, capsys) -> None:
    blocker = project / "a-file.txt"
    blocker.write_text("not a folder")
    args = {
        "panel": ["panel", "--store", str(small_store), "--out", str(blocker / "panel.parquet")],
        "simulate": ["simulate", "--countries", "3", "--years", "0.2", "--out", str(blocker / "world.csv")],
        "report": ["report", "--scores", str(scores_file), "--format", "csv", "--out", str(blocker / "r.csv")],
        "ingest-store": ["ingest", str(FIXTURES / "icews14_kg.txt"), "--store", str(blocker / "store")],
    }[command]
    code = main(args)
    err = _err(capsys)
    _usage_error(code, err)
    assert "a-file.txt" in err
    assert blocker.read_text() == "not a folder"


def test_report_out_into_a_new_folder_writes_exactly_there(project: Path, scores_file: Path, capsys) -> None:
    """A folder that does not exist yet is created for --out (it is the user's explicit choice), nothing else."""
    out = project / "new" / "deeper" / "report.csv"
    assert main(["report", "--scores", str(scores_file), "--format", "csv", "--out", str(out)]) == 0
    assert out.is_file() and sorted(p.name for p in (project / "new").rglob("*")) == ["deeper", "report.csv"]


def test_panel_dates_in_the_wrong_order_are_named(project: Path, small_store: Path, capsys) -> None:
    code = main(["panel", "--store", str(small_store), "--start", "2015-01-01", "--end", "2014-01-01"])
    err = _err(capsys)
    _usage_error(code, err)
    assert "2015-01-01" in err and "2014-01-01" in err


def test_user_text_in_an_error_message_is_printed_literally(tmp_path: Path) -> None:
    proc = run(["ingest", "[/x]"], cwd=tmp_path)
    assert proc.returncode == 2 and "[/x]" in proc.stderr


def test_json_mode_keeps_stdout_clean_on_errors(project: Path, capsys) -> None:
    code = main(["panel", "--store", "no-store", "--json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and "does not exist" in captured.err


def test_usage_errors_through_the_console_script(tmp_path: Path) -> None:
    proc = run(["ingest", str(FIXTURES / "icews14_kg.txt"), "--format", "gdelt3", "--store", str(tmp_path / "s")], cwd=tmp_path)
    assert proc.returncode == 2 and "Did you mean 'gdelt2'" in proc.stderr
    assert not (tmp_path / "s").exists()
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[panel]\nfreqq = "W"\n')
    proc = run(["panel", "--store", str(tmp_path), "--config", str(cfg), "--json"], cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == "" and "Did you mean 'freq'" in proc.stderr
    json.dumps(proc.stderr)  # printable
