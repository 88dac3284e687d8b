"""benchmarks/coder.py: the scoring functions on hand-made cases, and the dev-half figures on the PLOVER gold records."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import coder as scorecard  # noqa: E402


def test_old_gold_type_names_map_to_the_scored_ones():
    assert [scorecard.scored_type(t) for t in ("DISAPPROVE", "DEMAND", "CONCEDE", "RETREAT", "ASSAULT", None)] == [
        "ACCUSE", "REQUEST", "YIELD", "YIELD", "ASSAULT", None]


def test_macro_f1_and_micro_precision_recall_by_hand():
    assert scorecard.macro_f1(["A", "A", "B"], ["A", "B", "B"]) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert scorecard.macro_f1(["A", "B"], [None, None]) == 0.0
    assert scorecard._pr([{"X"}, {"Y", "Z"}], [{"X"}, {"Y"}]) == (2 / 3, 1.0)


def test_dev_half_meets_the_targets_and_held_out_is_scored_apart():
    if not scorecard.GOLD.is_file():
        pytest.skip(f"PLOVER gold records not found at {scorecard.GOLD}")
    gold = scorecard.load_gold()
    assert set(gold["half"]) == {"dev", "held-out"} and 100 < (gold["half"] == "dev").sum() < 220
    dev = gold[gold["half"] == "dev"].reset_index(drop=True)
    result = scorecard.score(dev, [scorecard.predict_offline(t, date(2000, 1, 1)) for t in dev["text"]])
    assert result["type_macro_f1"] >= 0.70 and result["quad_accuracy"] >= 0.85
