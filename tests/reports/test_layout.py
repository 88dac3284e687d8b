"""The report on a phone (420 px) and a laptop (1400 px), measured in real headless Chromium.

Screenshots are kept in the test's tmp_path (``report-420px.png``, ``report-1400px.png``).
"""
from __future__ import annotations

import numpy as np
import pytest
from report_layout import CHROMIUM, measure

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (CI's .ci/run installs it)")


@pytest.fixture(scope="module")
def page(report_world, tmp_path_factory):
    return report_world["render_html"](report_world, tmp_path_factory.mktemp("layout") / "report.html")


@pytest.mark.parametrize("width", [420, 1400])
def test_report_fits_the_screen_without_collapsed_columns_or_overlap(page, width, tmp_path):
    from PIL import Image

    m, shot = measure(page, width, tmp_path)
    assert m["viewport"] == width
    assert m["too_wide"] == [], f"wider than the {width} px viewport, outside any scroll box: {m['too_wide'][:5]}"
    assert m["scroll_width"] <= width
    assert m["narrow_cells"] == [], f"cells narrower than four characters: {m['narrow_cells'][:5]}"
    assert m["track_found"], "the track record with its reliability chart should be on the page"
    assert m["overlaps"] == [], f"track-record table under the reliability chart: {m['overlaps'][:5]}"
    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape[1] == width and img.std() > 10  # a real page, not a blank one
