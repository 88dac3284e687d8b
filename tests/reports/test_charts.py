"""Charts: inline SVG built from numbers only, deterministic, nothing external."""
from __future__ import annotations

import re

import pandas as pd

from tension.reports.charts import reliability_chart, series_chart, sparkline


def test_sparkline_scales_to_its_box_and_marks_the_last_point():
    svg = sparkline([0, 5, 10], width=100, height=20)
    points = [tuple(map(float, p.split(","))) for p in re.search(r'points="([^"]+)"', svg).group(1).split()]
    assert points[0][1] == 18.0 and points[-1][1] == 2.0  # 0 at the bottom, the maximum at the top
    assert "<circle" in svg and sparkline([]) == ""


def test_series_chart_draws_numbers_and_dates_only():
    h = pd.DataFrame({"period": pd.date_range("2024-01-01", periods=20, freq="W-MON"),
                      "hostile_intensity": range(20), "material_conflict_count": [i % 3 for i in range(20)],
                      "low_coverage": [i == 4 for i in range(20)], "dyad": ["<b>evil</b>"] * 20})
    svg = series_chart(h, h["period"].max())
    texts = re.findall(r">([^<]+)</text>", svg)
    assert texts and all(re.fullmatch(r"[\d.\-]+", t) for t in texts)
    assert "evil" not in svg and svg.count('fill="#f5d76e"') == 1  # one low-coverage period shaded


def test_reliability_chart_is_inline_deterministic_svg():
    t = pd.DataFrame({"horizon": [4, 4], "mean_probability": [0.1, 0.6], "observed": [0.12, 0.5], "n": [30, 10]})
    a, b = reliability_chart(t), reliability_chart(t)
    assert a == b and a.startswith("<svg") and "<?xml" not in a
    assert not re.search(r'(?:href|src)="(?!#)', a)
