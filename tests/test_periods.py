"""The calendar: labels, integer index, SQL, shift and offset agree with each other."""
from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tension import periods
from tension.errors import UsageError

FREQ = st.sampled_from(periods.FREQS)
DAY = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
DAYS = st.lists(DAY, min_size=1, max_size=30)


def _ts(days: list[dt.date]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(days))


@given(DAYS, FREQ)
def test_label_is_idempotent_and_never_later_than_the_date(days: list[dt.date], freq: str) -> None:
    d = _ts(days)
    once = periods.label(d, freq)
    assert (periods.label(once, freq) == once).all()
    assert (once <= d).all() and (d < periods.shift(once, 1, freq)).all()  # the date lies inside its period


@given(DAYS, FREQ)
def test_to_dates_of_to_index_is_the_label(days: list[dt.date], freq: str) -> None:
    d = _ts(days)
    assert (pd.DatetimeIndex(periods.to_dates(periods.to_index(d, freq), freq)) == periods.label(d, freq)).all()


@given(DAYS, FREQ, st.integers(-500, 500))
def test_shift_and_offset_agree_and_move_the_index_by_n(days: list[dt.date], freq: str, n: int) -> None:
    labels = periods.label(_ts(days), freq)
    moved = periods.shift(labels, n, freq)
    assert (moved == labels + periods.offset(freq, n)).all()
    assert (periods.to_index(moved, freq) == periods.to_index(labels, freq) + n).all()
    assert (periods.shift(periods.to_index(labels, freq), n, freq) == periods.to_index(moved, freq)).all()
    assert periods.shift(labels[0], n, freq) == moved[0]


@settings(max_examples=25, deadline=None)
@given(DAYS, FREQ)
def test_sql_agrees_with_to_index_in_duckdb(days: list[dt.date], freq: str) -> None:
    frame = pd.DataFrame({"day": pd.to_datetime(days) + pd.Timedelta(hours=13)})  # a time of day must not matter
    con = duckdb.connect()
    try:
        con.register("t", frame)
        got = con.execute(f"SELECT {periods.sql(freq, 'day')} AS p FROM t").fetchdf()["p"].to_numpy()
    finally:
        con.close()
    assert (got == periods.to_index(frame["day"], freq)).all()


def test_known_labels_and_indices() -> None:
    assert periods.label("2024-01-03 15:00", "W") == pd.Timestamp("2024-01-01")
    assert periods.label("2024-02-29", "M") == pd.Timestamp("2024-02-01")
    assert periods.label("2024-02-29 23:59", "D") == pd.Timestamp("2024-02-29")
    assert periods.to_index("1970-01-05", "W") == 0 and periods.to_index("1970-01-04", "W") == -1
    assert periods.to_index("1971-02-15", "M") == 13 and periods.to_index("1970-01-02", "D") == 1
    assert periods.to_dates(np.array([0]), "W")[0] == np.datetime64("1970-01-05")


def test_label_keeps_a_series_index_and_missing_dates() -> None:
    s = pd.Series(pd.to_datetime(["2024-01-03", None]), index=[7, 9])
    out = periods.label(s, "W")
    assert list(out.index) == [7, 9] and out.iloc[0] == pd.Timestamp("2024-01-01") and pd.isna(out.iloc[1])


def test_month_shift_clips_to_the_month_end_like_pandas() -> None:
    assert periods.shift(pd.Timestamp("2024-01-31"), 1, "M") == pd.Timestamp("2024-02-29")


@pytest.mark.parametrize("bad", ["Q", "", None, "WEEK", "MS"])
def test_one_message_for_an_unknown_frequency(bad: object) -> None:
    for call in (lambda: periods.check(bad), lambda: periods.offset(bad), lambda: periods.lookback(bad),  # type: ignore[arg-type]
                 lambda: periods.label("2024-01-01", bad), lambda: periods.sql(bad)):  # type: ignore[arg-type]
        with pytest.raises(UsageError, match=r"Unknown panel frequency: the 'freq' is unknown\. Expected D \(day\), W"):
            call()


def test_check_normalises_case_and_blanks() -> None:
    assert [periods.check(f) for f in ("d", " W ", "m")] == ["D", "W", "M"]


def test_lookback_in_periods() -> None:
    assert (periods.lookback("M"), periods.lookback("W"), periods.lookback("D")) == (36, 156, 1096)
    assert periods.lookback("M", 12) == 12


@pytest.mark.parametrize(("dates", "freq"), [
    (["2020-01-01", "2020-02-01", "2020-04-01"], "M"),
    (["2024-01-01", "2024-01-15"], "W"),
    (["2024-01-01", "2024-01-02", "2024-01-08"], "D"),
    (["2024-01-01"], "M"),
    (["2024-01-08"], "W"),
    ([], "W"),
])
def test_infer(dates: list[str], freq: str) -> None:
    assert periods.infer(pd.DatetimeIndex(dates)) == freq


def test_grid_fills_gaps_and_prefers_the_recorded_frequency() -> None:
    panel = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-01-22", "2024-01-08"])})
    g, freq = periods.grid(panel)
    assert freq == "W" and g.strftime("%m-%d").tolist() == ["01-01", "01-08", "01-15", "01-22"]
    panel.attrs["freq"] = "d"
    g, freq = periods.grid(panel)
    assert freq == "D" and len(g) == 22
    assert periods.of_panel(panel) == "D"
    panel.attrs["freq"] = "Q"
    with pytest.raises(UsageError, match="Unknown panel frequency"):
        periods.of_panel(panel)


def test_latest_complete_excludes_the_running_period() -> None:
    assert periods.latest_complete("2021-07-05", "W") == pd.Timestamp("2021-06-28")
    assert periods.latest_complete("2021-07-04", "W") == pd.Timestamp("2021-06-21")
    assert periods.latest_complete("2021-07-15 08:00", "M") == pd.Timestamp("2021-06-01")
    assert periods.latest_complete("2021-07-15 08:00", "D") == pd.Timestamp("2021-07-14")


def test_missing_dates_have_no_integer_period() -> None:
    with pytest.raises(UsageError, match="dates are missing"):
        periods.to_index(pd.Series(pd.to_datetime(["2024-01-01", None])), "W")
