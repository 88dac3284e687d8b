"""A small synthetic world scored, issued and resolved, with hostile strings planted in its text."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

H = 4
EVIL = "<script>document.title='PWNED';fetch('http://127.0.0.1:9/x')</script>\"'><img src=x onerror=\"document.title='PWNED'\">"
REGIONS = {"Inner Sea \"<b>\"": ("XAA", "XAB", "XAC", "XAD")}


@pytest.fixture(scope="session")
def report_world(tmp_path_factory) -> dict:
    from tension.ledger import Ledger
    from tension.models import feature_matrix, make_logit
    from tension.panel import build_panel
    from tension.scoring import score
    from tension.simulate import simulate
    from tension.targets import make_target

    w = simulate(seed=5, countries=6, years=1.5)
    events = w.events.copy()
    # one pair falls silent for the last 14 weeks: it must read "insufficient data", not "low risk"
    end = pd.to_datetime(events["date"]).max()
    pair = events["source_country"].isin(["XAE", "XAF"]) & events["target_country"].isin(["XAE", "XAF"])
    events = events[~(pair & (pd.to_datetime(events["date"]) > end - pd.Timedelta(weeks=14))).to_numpy()]
    panel = build_panel(events, freq="W", dyads="undirected")
    last = panel["period"].max()
    # plant hostile text in the most recent hostile events and in actor names
    recent = (pd.to_datetime(events["date"]) > last - pd.Timedelta(weeks=10)) & (events["goldstein"] < 0)
    idx = events.index[recent.to_numpy()]
    events.loc[idx, "text"] = "Border clash " + EVIL
    events.loc[idx, "source_actor"] = "Militia " + EVIL
    events.loc[idx[: len(idx) // 2], "source_ref"] = "javascript:document.title='PWNED'"
    y = make_target(panel, horizon=H)
    X = feature_matrix(panel)
    weeks = sorted(panel["period"].unique())
    ok = ((panel["period"] <= weeks[-12]) & y.notna()).to_numpy()
    model = make_logit().fit(X[ok], y[ok].astype(int))
    root = tmp_path_factory.mktemp("report_world")
    ledger = Ledger(root / "ledger")
    previous = None
    for d in weeks[-7:-1]:
        s = score(model, panel[panel["period"] <= d], horizons=(H,), regions=REGIONS, previous=previous,
                  model_version="tension/7", events=events)
        ledger.issue(s, panel=panel[panel["period"] <= d])
        previous = ledger.latest()
    ledger.resolve(panel)
    scores = score(model, panel, horizons=(H,), regions=REGIONS, previous=ledger.latest(), model_version="tension/7",
                   events=events, calibration=ledger.resolved(include_hindcasts=True))
    rng = np.random.default_rng(0)
    n = 300
    outcome = rng.integers(0, 2, n).astype(float)
    preds = pd.concat([pd.DataFrame({
        "run_id": "r1", "model": m, "target": "any_material_conflict", "dyad": [f"D{i % 30}" for i in range(n)],
        "origin": pd.to_datetime("2020-01-06") + pd.to_timedelta(7 * (np.arange(n) // 30), unit="D"), "horizon": H,
        "probability": np.clip(outcome * 0.5 + rng.uniform(0, 0.5, n) if m == "logit" else rng.uniform(0, 1, n), 0, 1),
        "outcome": outcome}) for m in ("logit", "base_rate", "persistence")], ignore_index=True)
    card = {"version": "tension/7", "run_id": "0123456789abcdef", "model": "logit",
            "training_window": f"{weeks[0].date()} to {weeks[-12].date()}", "target": "any_material_conflict",
            "horizon": H, "freq": "W", "predictions": preds}
    health = {"unresolved_actors": {"Unknown gunmen " + EVIL: 12, "Sources": 3}, "quarantined": {"unknown_event_code": 4},
              "events": len(events)}
    examples = events.loc[idx[:6]].copy()
    return {"scores": scores, "panel": panel, "events": events, "ledger": ledger, "card": card, "health": health,
            "examples": examples, "root": Path(root), "model": model, "evil": EVIL, "regions": REGIONS,
            "render_html": render_html}


def render_html(world: dict, out: Path, **kw) -> Path:
    from tension.reports import render_report

    return render_report(world["scores"], world["panel"], events=world["events"], ledger=world["ledger"],
                         model_card=world["card"], health=world["health"], regions=REGIONS,
                         examples=world["examples"], out=out, **kw)
