"""Issue #20 item 5 and #16 item 4, each finding reproduced from its description on hand-made tables.

The layout findings (the "why" column at 420 px, the track record at 1400 px) are measured in
Chromium in test_layout.py.
"""
from __future__ import annotations

import json
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest

from tension.reports import render_report

AS_OF = pd.Timestamp("2015-11-01")


def _scores(pairs: list[tuple[str, str]], *, freq: str = "M", horizon: int = 3, p: float = 0.2, band: bool = True,
            coverage: str = "ok", directed: bool = False, region: str = "") -> pd.DataFrame:
    step = pd.DateOffset(months=1) if freq == "M" else pd.DateOffset(weeks=1)
    rows = []
    for i, (a, b) in enumerate(pairs):
        dyad = f"{a}>{b}" if directed else "|".join(sorted((a, b)))
        pi = p / (1 + i)
        rows.append({"dyad": dyad, "source": a, "target": b, "as_of": AS_OF, "horizon": horizon, "probability": pi,
                     "lower": pi / 2 if band else np.nan, "upper": min(1.0, pi * 2) if band else np.nan,
                     "rank": i + 1 if coverage != "insufficient" else pd.NA, "region_rank": pd.NA, "change": np.nan,
                     "coverage": coverage,
                     "drivers": json.dumps([{"feature": "incidents_violence_3p", "contribution": 0.4,
                                             "text": "violent incidents rose; raises the risk"}]),
                     "evidence": "[]", "model_version": "tension/3", "data_cutoff": AS_OF + step - pd.Timedelta(days=1),
                     "region": region, "window_start": AS_OF + step, "window_end": AS_OF + step * horizon,
                     "logit": 0.4, "interval_n": 10, "drivers_method": "linear"})
    out = pd.DataFrame(rows)
    out["rank"] = out["rank"].astype("Int64")
    return out


def _text(html: str) -> str:
    """The page's visible words, tags dropped and whitespace folded."""
    body = re.sub(r"<style>.*?</style>|<svg.*?</svg>", "", html, flags=re.S)
    body = re.sub(r"</?(?:code|span|a|em|strong|b)\b[^>]*>", "", body)  # inline tags join their words
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


# -- one row per relationship, both directions inside -----------------------------------------------


def test_directed_pairs_share_one_row_with_both_directions():
    s = pd.concat([_scores([("ARM", "AZE"), ("RUS", "UKR")], directed=True),
                   _scores([("AZE", "ARM"), ("UKR", "RUS")], directed=True, p=0.1)], ignore_index=True)
    html = render_report(s)
    rows = re.findall(r"<tr>(?:(?!</tr>).)*</tr>", html.split('id="watchlist"')[1].split('id="dyads"')[0], re.S)
    body = [r for r in rows if "<td" in r]
    assert len(body) == 2  # two relationships, not four rows
    both = [r for r in body if "ARM&gt;AZE" in r]
    assert len(both) == 1 and "AZE&gt;ARM" in both[0]
    assert "Armenia \u2192 Azerbaijan" in both[0] and "Azerbaijan \u2192 Armenia" in both[0]


def test_country_names_stand_next_to_codes():
    html = render_report(_scores([("CHN", "JPN"), ("ISR", "PSE")]))
    text = _text(html)
    assert "China \u2013 Japan CHN|JPN" in text and "Israel \u2013 Palestine ISR|PSE" in text


# -- region ------------------------------------------------------------------------------------------


def test_region_is_filled_for_real_countries_and_says_unassigned_otherwise():
    s = _scores([("CHN", "JPN"), ("ISR", "PSE"), ("ARM", "AZE"), ("XAA", "XAB"), ("IND", "CHN")])
    s.loc[s["dyad"] == "ARM|AZE", "region"] = "South Caucasus"
    text = _text(render_report(s, regions={"South Caucasus": ("ARM", "AZE", "GEO")}))
    assert "China \u2013 Japan CHN|JPN Eastern Asia" in text
    assert "Israel \u2013 Palestine ISR|PSE Western Asia" in text
    assert "Armenia \u2013 Azerbaijan ARM|AZE South Caucasus" in text  # the config's region comes first
    assert "CHN|IND Eastern Asia / Southern Asia" in text
    assert "XAA|XAB unassigned" in text
    watch = text.split("Watchlist")[1].split("Region: South Caucasus")[0]
    assert " \u2013 " not in re.sub(r"\w+ \u2013 \w+", "", watch.replace("\u2013 \u2013", ""))  # no "-" region cell


# -- the insufficient-data pairs ---------------------------------------------------------------------


def test_hundreds_of_insufficient_pairs_fold_into_a_count_with_a_list():
    codes = [f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(40)]
    thin_pairs = [(a, b) for i, a in enumerate(codes) for b in codes[i + 1:]][:500]
    s = pd.concat([_scores([("CHN", "JPN")]), _scores(thin_pairs, coverage="insufficient")], ignore_index=True)
    html = render_report(s)
    folded = re.search(r'<details id="insufficient"><summary>(.*?)</summary>(.*?)</details>', html, re.S)
    assert folded and "500 monitored pairs had too little recent data" in _text(folded.group(1))
    assert folded.group(2).count("<li>") == 500
    outside = html.replace(folded.group(0), "")
    assert "XAA|XAB" not in outside  # not a wall of names anywhere else


# -- digits -------------------------------------------------------------------------------------------


def test_rare_event_scores_keep_their_significant_digits():
    s = _scores([("CHN", "JPN"), ("ISR", "PSE")], p=0.003)
    metrics = pd.DataFrame({"model": ["history", "ensemble"], "horizon": [1, 1], "n": [31981, 31981],
                            "brier": [0.005444, 0.005456], "ece": [0.0012, 0.00031]})
    text = _text(render_report(s, model_card={"version": "tension/3", "model": "ensemble", "metrics": metrics}))
    assert "0.00544" in text and "0.00546" in text and "0.0012" in text and "0.00031" in text
    assert "0.005 " not in text and "0.000 " not in text
    assert "0.3%" in text and "0.15%" in text  # p = 0.3% and 0.15%, not 0%


# -- units ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("freq", "unit"), [("M", "3 months"), ("W", "3 weeks")])
def test_every_horizon_carries_its_unit(freq, unit):
    text = _text(render_report(_scores([("CHN", "JPN")], freq=freq)))
    assert re.findall(r"h = \d+(?! (?:weeks?|months?|days?))", text) == []
    assert f"h = {unit}" in text


def test_recent_low_coverage_window_counts_in_the_panels_own_unit():
    periods = pd.date_range("2014-01-01", "2015-11-01", freq="MS")
    panel = pd.DataFrame({"dyad": "CHN|JPN", "source": "CHN", "target": "JPN", "period": periods,
                          "material_conflict_count": 1, "hostile_intensity": 2.0,
                          "low_coverage": [d == periods[-3] for d in periods]})
    panel.attrs["freq"] = "M"
    text = _text(render_report(_scores([("CHN", "JPN")]), panel))
    assert "Low-coverage periods (last 12 months) 2015-09-01" in text and "weeks" not in text


# -- thresholds ----------------------------------------------------------------------------------------


def test_every_threshold_shown_is_the_configs(report_world):
    from tension.config import Experiment

    exp = Experiment()
    html = render_report(report_world["scores"], report_world["panel"], ledger=report_world["ledger"],
                         threshold=0.3, thresholds={"[alerts] threshold": 0.3,
                                                    "[backtest] alert_threshold": exp.backtest.alert_threshold})
    text = _text(html)
    assert "Alert = probability \u2265 30% (the config's [alerts] threshold)" in text
    assert "[alerts] threshold = 0.3; [backtest] alert_threshold = 0.3" in text
    assert "0.5" not in re.sub(r"\d0\.5|0\.5\d", "", text.split("Track record")[-1].split("Issued")[0])
    record = report_world["ledger"].track_record(threshold=0.3)
    alerts = record[record["forecaster"] == "model"]["hits"].iloc[0]
    assert f"<td class=\"num\">{alerts}</td>" in html


# -- drivers and evidence ------------------------------------------------------------------------------


def test_the_remainder_of_the_drivers_is_never_the_largest_item():
    from sklearn.linear_model import LogisticRegression

    from tension.scoring import score

    rng = np.random.default_rng(1)
    features = [f"incidents_f{i}_4p" for i in range(12)] + [f"denials_g{i}_4p" for i in range(12)]
    periods = pd.date_range("2015-01-05", periods=3, freq="W-MON")
    dyads = [f"X{chr(65 + i)}A|X{chr(65 + i)}B" for i in range(20)]
    panel = pd.DataFrame([{"dyad": d, "source": d[:3], "target": d[4:], "period": t} for t in periods for d in dyads])
    X = pd.DataFrame(rng.uniform(0.5, 1.5, (len(panel), len(features))), columns=features)
    panel = pd.concat([panel, X], axis=1)
    panel["events_dyad"] = 5
    model = LogisticRegression().fit(X, rng.integers(0, 2, len(X)))
    model.coef_[:] = 0.2  # many features of equal weight: the rest of them would outweigh the top five
    s = score(model, panel, horizons=(1,), coverage_window=3, min_active=1)
    for _, row in s.iterrows():
        drivers = json.loads(row["drivers"])
        named = [abs(d["contribution"]) for d in drivers if not d["feature"].startswith("(")]
        rest = [abs(d["contribution"]) for d in drivers if d["feature"].startswith("(other features")]
        assert len(named) >= 5 and max(rest, default=0) <= max(named)
        assert sum(d["contribution"] for d in drivers) == pytest.approx(row["logit"], abs=1e-9)


def test_evidence_is_in_date_order_with_each_event_once(report_world):
    from tension.scoring import score

    events = report_world["events"]
    doubled = pd.concat([events, events.tail(400)], ignore_index=True)  # the same events delivered twice
    s = score(report_world["model"], report_world["panel"], horizons=(4,), events=doubled)
    listed = [json.loads(e) for e in s["evidence"]]
    assert sum(len(e) for e in listed) > 0
    for ev in listed:
        ids = [e["event_id"] for e in ev]
        assert len(ids) == len(set(ids))
        assert [e["date"] for e in ev] == sorted(e["date"] for e in ev)


# -- bands and the model card (#20 item 2, report side) -----------------------------------------------


def test_a_row_without_a_band_says_so_instead_of_2_to_98_percent():
    s = pd.concat([_scores([("ISR", "PSE")], p=0.81, band=False), _scores([("CHN", "JPN")], p=0.096)],
                  ignore_index=True)
    text = _text(render_report(s))
    assert "81% no band: no backtest of this model" in text
    assert "2%\u201398%" not in text and "9.6% 4.8%\u201319%" in text
    md = render_report(s, format="md")
    assert "no band: no backtest of this model" in md
    unbacked = _scores([("ISR", "PSE")], p=0.81).assign(lower=0.02, upper=0.98, interval_n=0)  # a band from 0 cases
    assert "81% no band: no past forecast of this model near this level" in _text(render_report(unbacked))


def test_model_card_names_the_scored_version_and_flags_a_backtest_of_another_model():
    s = _scores([("CHN", "JPN")])
    preds = pd.DataFrame({"model": ["hgb"] * 40 + ["base_rate"] * 40, "horizon": 3, "dyad": "CHN|JPN",
                          "origin": pd.Timestamp("2014-01-01"), "probability": np.tile(np.linspace(0.01, 0.5, 40), 2),
                          "outcome": np.tile([0, 1], 40).astype(float), "run_id": "r", "target": "any_material_conflict"})
    text = _text(render_report(s, model_card={"version": "tension/3", "model": "logit", "predictions": preds}))
    assert "Model card: tension/3 (logit)" in text
    assert "not a backtest of the scored model tension/3 (logit)" in text
    assert "Backtest of other models (not tension/3)" in text
    other = _text(render_report(s, model_card={"version": "tension/3", "model": "logit", "predictions": preds,
                                               "backtest_of": "tension/2"}))
    assert "The backtest shown is of tension/2, not of the scored model tension/3" in other
    same = render_report(s, model_card={"version": "tension/3", "model": "hgb", "predictions": preds,
                                        "backtest_of": "tension/3"})
    assert "Backtest skill of tension/3 (hgb) against baselines" in _text(same) and 'class="scored"' in same
    wrong = _text(render_report(s, model_card={"version": "tension/2", "model": "logit"}))
    assert "This card describes tension/2, but the scores were made by tension/3." in wrong


# -- #16 item 4: the report leads with change ----------------------------------------------------------


def _history_panel() -> pd.DataFrame:
    """CHN|JPN fights every month (chronic), ISR|PSE is quiet for a year, RUS|UKR surges in the last quarter."""
    periods = pd.date_range("2014-06-01", "2015-11-01", freq="MS")
    rows = []
    for i, t in enumerate(periods):
        late = t > pd.Timestamp("2015-08-01")
        for dyad, mc in (("CHN|JPN", 3), ("ISR|PSE", 0), ("RUS|UKR", 6 if late else (1 if i % 4 == 0 else 0))):
            rows.append({"dyad": dyad, "source": dyad[:3], "target": dyad[4:], "period": t,
                         "material_conflict_count": mc, "hostile_intensity": float(mc), "low_coverage": False})
    panel = pd.DataFrame(rows)
    panel.attrs["freq"] = "M"
    return panel


def test_watchlist_separates_escalation_from_ongoing_conflict():
    s = _scores([("CHN", "JPN"), ("ISR", "PSE"), ("RUS", "UKR")], p=0.6)  # the chronic pair ranks first
    html = render_report(s, _history_panel())
    escalation = _text(html.split('id="escalation"')[1].split('id="ongoing"')[0])
    ongoing = _text(html.split('id="ongoing"')[1].split("<h2")[0])
    assert "ISR|PSE" in escalation and "RUS|UKR" in escalation and "CHN|JPN" not in escalation
    assert "CHN|JPN" in ongoing and "ISR|PSE" not in ongoing
    assert html.index('id="escalation"') < html.index('id="ongoing"')  # change leads the page
    how = _text(html.split('class="howto"')[1].split("</div>")[0])
    assert "last 12 months" in how and "surging" in how and "onset" in how


def test_skill_over_history_is_shown_or_said_to_be_unmeasured():
    s = _scores([("CHN", "JPN"), ("ISR", "PSE"), ("RUS", "UKR")], p=0.6)
    panel = _history_panel()
    none = _text(render_report(s, panel, model_card={"version": "tension/3", "model": "ensemble"}))
    assert none.count("skill over history: not measured (no backtest with the history baseline)".capitalize()) == 2
    assert "adds no skill" not in none
    card = {"version": "tension/3", "model": "ensemble", "skill_vs_history": [
        {"target": "any_material_conflict", "horizon": 1, "metric": "AP", "model": "ensemble", "model_value": 0.208,
         "history_value": 0.205, "difference": 0.003, "low": -0.004, "high": 0.011, "beats_history": False},
        {"target": "onset", "horizon": 3, "metric": "AP", "model": "ensemble", "model_value": 0.041,
         "history_value": 0.018, "difference": 0.023, "low": 0.009, "high": 0.037, "beats_history": True}]}
    html = render_report(s, panel, model_card=card)
    ongoing = _text(html.split('id="ongoing"')[1].split("<h2")[0])
    escalation = _text(html.split('id="escalation"')[1].split('id="ongoing"')[0])
    assert "The trained model adds no skill over the pair's own history this period." in ongoing
    assert "AP 0.208 against history's 0.205, difference +0.003 (90% interval \u22120.004 to +0.011)" in ongoing
    assert "adds no skill" not in escalation and "h = 3 months: AP 0.041" in escalation
    assert "beats history" in escalation


def test_detail_sections_lead_with_escalation_not_chronic_pairs():
    s = _scores([("CHN", "JPN"), ("ISR", "PSE"), ("RUS", "UKR")], p=0.6)  # the chronic pair ranks first
    html = render_report(s, _history_panel(), top=2)
    dyads = html.split('id="dyads"')[1]
    shown = re.findall(r'<section class="dyad" id="dyad-([A-Z-]+)"', dyads)
    assert shown == ["ISR-PSE", "CHN-JPN"]  # the best-ranked escalation pair, then the best ongoing one
