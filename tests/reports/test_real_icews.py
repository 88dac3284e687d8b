"""Real data: the ICEWS sample (../shared/data) scored and rendered end to end (heavy: about a minute)."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.heavy


def test_icews_sample_scores_and_renders(shared_data, tmp_path):
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
    events = store.read()
    panel = build_panel(store, freq="M", dyads="undirected", config=exp.panel, regions=exp.regions)
    months = sorted(panel["period"].unique())
    model, _info = fit_final(make_logit(), panel, months[-4], "M", horizon=3)
    s = score({3: model}, panel, events=events, regions=exp.regions, model_version="icews-sample")
    now = panel[panel["period"] == months[-1]]
    assert set(s["dyad"]) == set(now["dyad"])  # every dyad in the panel at as_of is scored
    assert set(s["coverage"]) <= {"ok", "low", "insufficient"} and (s["coverage"] == "ok").any()
    for _, row in s[s["coverage"] != "insufficient"].head(50).iterrows():
        assert sum(d["contribution"] for d in json.loads(row["drivers"])) == pytest.approx(row["logit"], abs=1e-9)
    caucasus = s[s["region"] == "South Caucasus"]
    members = set(exp.regions["South Caucasus"])
    assert len(caucasus) and caucasus["source"].isin(members).all() and caucasus["target"].isin(members).all()
    html = render_report(s, panel, events=events, regions=exp.regions)
    section = html.split("Region: South Caucasus")[1].split("<h2")[0]
    assert all(f"<code>{d}</code>" in section for d in caucasus["dyad"]) and "<script" not in html.lower()
