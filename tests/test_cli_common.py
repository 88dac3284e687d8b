"""What every command shares (src/tension/cli/_common.py): ISO dates, results on stdout, no hard wrapping."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.table import Table

from tension.cli import main
from tension.cli._common import _Console, parse_date
from tension.errors import UsageError


@pytest.mark.parametrize("text", ["01/02/2010", "13/02/2010", "2010/02/01", "1 Feb 2010", "20100201", "2010-2-1",
                                  "2010-02-30", "2010-13-01"])
def test_only_iso_dates_are_accepted_with_the_fix(text):
    with pytest.raises(UsageError, match=r"--start is not an ISO date\. Expected YYYY-MM-DD\..*e\.g\. --start 2010-02-01"):
        parse_date(text, "--start")


def test_an_ambiguous_day_month_date_names_both_readings():
    with pytest.raises(UsageError, match=r"--start 2010-02-01 or --start 2010-01-02"):
        parse_date("01/02/2010", "--start")
    with pytest.raises(UsageError, match=r"\(--start 2010-02-13\)"):  # 13 cannot be a month: one reading
        parse_date("13/02/2010", "--start")


def test_iso_days_pass_and_months_only_where_a_month_is_meant():
    assert parse_date("2010-02-01", "--start") == "2010-02-01"
    assert parse_date(None, "--start") is None
    assert parse_date("2010-02", "--month", month=True) == "2010-02"
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        parse_date("2010-02", "--start")


@pytest.mark.parametrize("argv", [
    ["panel", "--start", "01/02/2010"],
    ["panel", "--start", "13/02/2010"],
    ["backtest", "--end", "02/03/2020"],
    ["train", "--cutoff", "2020/03/02"],
    ["score", "--as-of", "03.04.2024"],
    ["retrain", "--config", "x.toml", "--as-of", "1/1/2024"],
    ["simulate", "--start", "07/01/2019"],
    ["fetch", "gdelt2", "--inbox", "in", "--since", "01/05/2024"],
])
def test_every_command_refuses_a_non_iso_date_with_exit_2_before_doing_anything(argv, project: Path, capsys):
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is not an ISO date" in err and "YYYY-MM-DD" in err
    assert not any((project / "data").iterdir())  # nothing written


def test_off_a_terminal_long_paths_and_commands_are_not_wrapped():
    buf = io.StringIO()
    console = _Console(file=buf)
    long = "mlflow ui --backend-store-uri sqlite:////" + "very/long/folder/" * 12 + "mlflow.db"
    console.print(long)
    console.print(f"Report: file:///{'x' * 150}/report.html")
    lines = buf.getvalue().splitlines()
    assert lines[0] == long and lines[1].endswith("/report.html") and len(lines) == 2


def test_a_table_off_a_terminal_keeps_its_natural_width():
    buf = io.StringIO()
    console = _Console(file=buf)
    table = Table("path", "rows")
    table.add_row("/" + "a" * 120 + "/predictions.parquet", "12")
    console.print(table)
    assert "/predictions.parquet" in buf.getvalue()


def test_results_go_to_stdout_and_logs_to_stderr(project: Path, capsys):
    from tension.simulate import simulate
    from tension.store import Store

    Store(str(project / "data" / "store")).append(simulate(seed=1, countries=4, years=0.5).events)
    assert main(["panel", "--out", "data/panel.parquet"]) == 0
    cap = capsys.readouterr()
    assert "Wrote" in cap.out and "Wrote" not in cap.err  # `tension panel > out.txt` keeps the result
    assert "Done" in cap.err  # the progress bar
