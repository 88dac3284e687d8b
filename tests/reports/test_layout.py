"""The report on a phone (420 px) and a laptop (1400 px), measured in real headless Chromium.

Screenshots are kept in the test's tmp_path (``report-420px.png``, ``report-1400px.png``).
"""
from __future__ import annotations

import re

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


def _assert_fits(page, tmp_path) -> None:
    for width in (420, 1400):
        m, shot = measure(page, width, tmp_path)
        assert m["too_wide"] == [] and m["scroll_width"] <= width, (width, m["too_wide"][:5])
        assert m["narrow_cells"] == [], (width, m["narrow_cells"][:5])
        assert m["overlaps"] == [], (width, m["overlaps"][:5])
        assert shot.is_file()


@pytest.mark.heavy
def test_the_demo_report_fits_a_phone_and_a_laptop(tmp_path, monkeypatch):
    """``tension demo`` end to end (about two minutes), then its report measured at 420 and 1400 px."""
    from tension.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TENSION_STORE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["demo", "--out", str(tmp_path / "data" / "demo"), "--json"]) == 0
    report = tmp_path / "data" / "demo" / "report.html"
    html = report.read_text(encoding="utf-8")
    assert 'id="escalation"' in html and 'id="ongoing"' in html and "h = 4 weeks" in html
    _assert_fits(report, tmp_path)


@pytest.mark.heavy
def test_a_real_data_report_fits_a_phone_and_a_laptop(shared_data, tmp_path):
    """The ICEWS sample (../shared/data), scored monthly and rendered, measured at 420 and 1400 px."""
    from tension.backtest import fit_final
    from tension.config import load_experiment
    from tension.ingest import ingest
    from tension.models import make_logit
    from tension.panel import build_panel
    from tension.reports import render_report
    from tension.scoring import score
    from tension.store import Store

    exp = load_experiment(None)
    store = Store(str(tmp_path / "store"))
    ingest([shared_data / "icews" / "icews05-15_sample_a.tsv"], store)
    panel = build_panel(store, freq="M", dyads="directed", config=exp.panel, regions=exp.regions)
    months = sorted(panel["period"].unique())
    model, _info = fit_final(make_logit(), panel, months[-4], "M", horizon=3)
    s = score({3: model}, panel, events=store.read(start="2014-01-01"), regions=exp.regions, model_version="icews/1")
    page = render_report(s, panel, regions=exp.regions, out=tmp_path / "icews.html")
    html = page.read_text(encoding="utf-8")
    assert "h = 3 months" in html and "Western Asia" in html and 'id="insufficient"' in html
    rows = [r for r in re.findall(r"<tr>(?:(?!</tr>).)*</tr>", html, re.S) if "<code>ISR&gt;PSE</code>" in r]
    assert rows and all("<code>PSE&gt;ISR</code>" in r for r in rows)  # one row per relationship, both ways
    _assert_fits(page, tmp_path)
