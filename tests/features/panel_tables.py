"""Tiny hand-made event tables for the panel tests (built here, never copied from real data)."""
from __future__ import annotations

import pandas as pd

from tension.schema import conform

# code -> (root, quad class, goldstein, family): our own small table, enough for these tests.
CODES: dict[str, tuple[str, int, float, str]] = {
    "010": ("01", 1, 0.0, "other"),
    "016": ("01", 1, -1.0, "denial"),
    "042": ("04", 1, 2.0, "cooperation"),
    "057": ("05", 1, 8.0, "alliance_move"),
    "062": ("06", 2, 7.0, "alliance_move"),
    "111": ("11", 3, -2.0, "denial"),
    "112": ("11", 3, -2.0, "denial"),
    "138": ("13", 3, -7.0, "denial"),
    "150": ("15", 4, -7.0, "incident"),
    "161": ("16", 4, -4.0, "alliance_move"),
    "172": ("17", 4, -5.0, "incident"),
    "190": ("19", 4, -10.0, "incident"),
}
MONDAY0 = pd.Timestamp("2024-01-01")  # a Monday: week k starts at MONDAY0 + 7k days


def week(k: int, day: int = 2) -> pd.Timestamp:
    """A date inside week ``k`` (``day`` 0 = Monday)."""
    return MONDAY0 + pd.Timedelta(days=7 * k + day)


def events(rows: list[tuple]) -> pd.DataFrame:
    """Canonical events from ``(date, source_country, target_country, code[, target_org])`` tuples."""
    records = []
    for i, row in enumerate(rows):
        date, src, tgt, code, *rest = row
        root, quad, gold, fam = CODES[code]
        records.append(
            {
                "event_id": f"e{i}",
                "date": pd.Timestamp(date),
                "source_country": src,
                "target_country": tgt,
                "target_org": rest[0] if rest else "",
                "cameo_code": code,
                "root_code": root,
                "quad_class": quad,
                "goldstein": gold,
                "family": fam,
                "weight": 1.0,
                "dataset": "hand",
            }
        )
    return conform(pd.DataFrame.from_records(records))


def hand_rows() -> list[tuple]:
    """3 dyads (ARM>AZE, AZE>ARM, RUS>AZE) over 10 weeks plus 10 background events a week."""
    rows: list[tuple] = [
        (week(1), "ARM", "AZE", "190"),
        (week(1, 3), "ARM", "AZE", "190"),
        (week(2), "ARM", "AZE", "112"),
        (week(3), "ARM", "AZE", "150"),
        (week(5), "ARM", "AZE", "190"),
        (week(6), "ARM", "AZE", "057"),
        (week(2), "AZE", "ARM", "190"),
        (week(4), "AZE", "ARM", "016"),
        (week(4), "AZE", "ARM", "111"),
        (week(8), "AZE", "ARM", "138"),
        (week(0), "RUS", "AZE", "042"),
        (week(3), "RUS", "AZE", "062"),
        (week(7), "RUS", "AZE", "172"),
        (week(7), "RUS", "AZE", "161"),
        (week(5), "ARM", "", "161", "CSTO"),  # Armenia reduces relations with the CSTO (bloc exit)
    ]
    for k in range(10):
        rows += [(week(k, 1), "TUR", "", "010")] * 10  # background volume, no dyad
    return rows


def hand_events() -> pd.DataFrame:
    return events(hand_rows())
