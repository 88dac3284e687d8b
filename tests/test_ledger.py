"""The forecast ledger: append-only issue/resolve, crash safety, and a track record that checks out."""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, confusion_matrix, log_loss

from tension.errors import UsageError
from tension.ledger import PERSISTENCE_CLIP, Ledger

H = 4
REGIONS = {"North": ("XAA", "XAB", "XAC", "XAD")}


@pytest.fixture(scope="module")
def world():
    """The synthetic world's panel, a logit fitted before the first issue date, and 20 weekly scores."""
    from tension.models import feature_matrix, make_logit
    from tension.panel import build_panel
    from tension.scoring import score
    from tension.simulate import simulate
    from tension.targets import make_target

    w = simulate(seed=3, countries=8, years=2)
    panel = build_panel(w.events, freq="W", dyads="undirected")
    weeks = sorted(panel["period"].unique())
    issue_dates = weeks[-20 - H - 2:-H - 2]  # 20 weekly issues whose windows all end inside the panel
    train = panel["period"] <= issue_dates[0] - pd.Timedelta(weeks=H)  # labels known before the first issue
    y = make_target(panel, horizon=H)
    X = feature_matrix(panel)
    ok = (train & y.notna()).to_numpy()
    model = make_logit().fit(X[ok], y[ok].astype(int))
    scores = [score(model, panel[panel["period"] <= d], horizons=(H,), regions=REGIONS, model_version="tension/1",
                    events=w.events) for d in issue_dates]
    return {"panel": panel, "scores": scores, "dates": issue_dates, "target": y}


def _digests(ledger: Ledger) -> dict[str, str]:
    return {n: hashlib.sha256((ledger.path / n).read_bytes()).hexdigest() for n in ledger.files["forecasts"]}


def test_round_trip_on_the_synthetic_world(world, tmp_path: Path):
    panel, scores, dates = world["panel"], world["scores"], world["dates"]
    ledger = Ledger(tmp_path / "ledger")
    for d, s in zip(dates, scores, strict=True):
        assert ledger.issue(s, panel=panel[panel["period"] <= d]) == len(s)
    # one backfilled score, kept out of the track record
    ledger.issue(scores[0].assign(model_version="tension/0"), panel=panel[panel["period"] <= dates[0]], hindcast=True)
    before = _digests(ledger)
    assert len(before) == 21

    n = ledger.resolve(panel)
    assert n == sum(len(s) for s in scores) + len(scores[0])
    assert _digests(ledger) == before  # issued records are byte-identical after resolution
    assert ledger.resolve(panel) == 0  # nothing resolves twice

    # independent recomputation from the same predictions
    issued = pd.concat(scores, ignore_index=True)
    truth = pd.DataFrame({"dyad": panel["dyad"], "as_of": panel["period"], "y": world["target"].to_numpy()})
    joined = issued.merge(truth, on=["dyad", "as_of"], how="left")
    assert joined["y"].notna().all()
    y, p = joined["y"].to_numpy(), joined["probability"].to_numpy()

    record = ledger.track_record(threshold=0.3)
    row = record[(record["region"] == "all") & (record["forecaster"] == "model") & (record["horizon"] == H)].iloc[0]
    assert row["n"] == len(joined) and row["positives"] == int(y.sum())
    assert row["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert row["log_score"] == pytest.approx(log_loss(y, p, labels=[0, 1]), abs=1e-12)
    tn, fp, fn, tp = confusion_matrix(y, p >= 0.3, labels=[0, 1]).ravel()
    assert (row["hits"], row["false_alarms"], row["misses"], row["alerts"]) == (tp, fp, fn, tp + fp)

    north = joined[joined["region"] == "North"]
    r = record[(record["region"] == "North") & (record["forecaster"] == "model")].iloc[0]
    assert r["n"] == len(north) > 0
    assert r["brier"] == pytest.approx(brier_score_loss(north["y"], north["probability"]), abs=1e-12)

    # baselines issued at the same times, from what was known then
    known = truth.dropna(subset=["y"])
    base, pers = [], []
    for _, s in joined.iterrows():
        past = known[known["as_of"] <= s["as_of"] - pd.Timedelta(weeks=H)]
        base.append(past["y"].mean())
        last = past[(past["dyad"] == s["dyad"]) & (past["as_of"] == s["as_of"] - pd.Timedelta(weeks=H))]["y"]
        pers.append(np.clip(last.iloc[0], *PERSISTENCE_CLIP) if len(last) else np.nan)
    base, pers = np.array(base), np.array(pers)
    b = record[(record["region"] == "all") & (record["forecaster"] == "base_rate")].iloc[0]
    assert b["brier"] == pytest.approx(brier_score_loss(y, base), abs=1e-12)
    keep = ~np.isnan(pers)
    q = record[(record["region"] == "all") & (record["forecaster"] == "persistence")].iloc[0]
    assert q["n"] == keep.sum()
    assert q["brier"] == pytest.approx(brier_score_loss(y[keep], pers[keep]), abs=1e-12)
    assert q["log_score"] == pytest.approx(log_loss(y[keep], pers[keep], labels=[0, 1]), abs=1e-12)

    rel = ledger.reliability(bins=5)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=5, strategy="uniform")
    np.testing.assert_allclose(rel["observed"], prob_true)
    np.testing.assert_allclose(rel["mean_probability"], prob_pred)


def test_hindcasts_stay_out_of_the_track_record(world, tmp_path: Path):
    panel, scores, dates = world["panel"], world["scores"], world["dates"]
    ledger = Ledger(tmp_path / "ledger")
    ledger.issue(scores[0], panel=panel[panel["period"] <= dates[0]], hindcast=True)
    ledger.resolve(panel)
    assert ledger.track_record().empty
    assert ledger.track_record(include_hindcasts=True)["n"].max() == len(scores[0])
    assert ledger.summary() == {"issued": 0, "hindcasts": len(scores[0]), "resolved": len(scores[0]), "open": 0}


def test_open_windows_stay_unresolved(world, tmp_path: Path):
    panel, scores, dates = world["panel"], world["scores"], world["dates"]
    ledger = Ledger(tmp_path / "ledger")
    ledger.issue(scores[-1])
    assert ledger.resolve(panel[panel["period"] <= dates[-1] + pd.Timedelta(weeks=H - 1)]) == 0
    assert ledger.resolve(panel[panel["period"] <= dates[-1] + pd.Timedelta(weeks=H)]) == len(scores[-1])


def test_issuing_the_same_scores_twice_adds_nothing(world, tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    assert ledger.issue(world["scores"][0]) > 0
    files = ledger.files
    assert ledger.issue(world["scores"][0]) == 0
    assert ledger.files == files


def test_latest_gives_the_previous_issue_for_change(world, tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    ledger.issue(world["scores"][0])
    ledger.issue(world["scores"][1])
    latest = ledger.latest()
    assert (latest["as_of"] == world["dates"][1]).all()
    assert len(latest) == len(world["scores"][1])


def _tiny_scores(as_of: str = "2024-01-01", dyad: str = "AAA|BBB") -> pd.DataFrame:
    return pd.DataFrame({"dyad": [dyad], "source": ["AAA"], "target": ["BBB"], "as_of": pd.to_datetime([as_of]),
                         "horizon": [2], "probability": [0.4], "model_version": ["m/1"]})


def test_a_crash_before_the_manifest_leaves_no_trace(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    ledger.issue(_tiny_scores())
    # a writer died after writing its data file but before its manifest
    orphan = ledger.path / "forecasts" / "orphan.parquet"
    orphan.write_bytes((ledger.path / ledger.files["forecasts"][0]).read_bytes())
    # and another died half-way through writing a manifest
    (ledger.path / "manifests" / "9999999999-torn.json").write_text('{"seq": 99, "forec', encoding="utf-8")
    assert len(ledger.forecasts()) == 1
    ledger.issue(_tiny_scores("2024-01-08"))
    assert len(ledger.forecasts()) == 2


def test_concurrent_issuers_both_land(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    threads = [threading.Thread(target=Ledger(ledger.path).issue, args=(_tiny_scores(dyad=f"AAA|B{i:02d}"),))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ledger.forecasts()["dyad"]) == [f"AAA|B{i:02d}" for i in range(6)]
    manifest = json.loads(sorted((ledger.path / "manifests").glob("*.json"))[-1].read_text())
    assert manifest["seq"] == 6


def test_issue_refuses_a_table_that_is_not_scores(tmp_path: Path):
    with pytest.raises(UsageError, match="columns are missing.*Issue the output of `tension score`"):
        Ledger(tmp_path / "l").issue(pd.DataFrame({"dyad": ["A|B"]}))


# --------------------------------------------------------------------------- tamper evidence


def _issued(tmp_path: Path, world, n: int = 3) -> Ledger:
    panel, scores, dates = world["panel"], world["scores"], world["dates"]
    ledger = Ledger(tmp_path / "ledger")
    for d, s in list(zip(dates, scores, strict=True))[:n]:
        ledger.issue(s, panel=panel[panel["period"] <= d])
    return ledger


def test_a_fresh_ledger_verifies_and_every_file_has_its_checksum(world, tmp_path: Path):
    ledger = _issued(tmp_path, world)
    ledger.resolve(world["panel"])
    assert ledger.verify() == []
    newest = json.loads(sorted((ledger.path / "manifests").glob("*.json"))[-1].read_text())
    named = newest["forecasts"] + newest["resolutions"]
    assert sorted(newest["checksums"]) == sorted(named) and len(named) == 4
    assert all(newest["checksums"][n] == hashlib.sha256((ledger.path / n).read_bytes()).hexdigest() for n in named)


def test_a_hand_edited_forecasts_file_is_found_by_verify_and_by_reads(world, tmp_path: Path):
    from tension.ledger import LedgerIntegrityWarning

    ledger = _issued(tmp_path, world)
    path = ledger.path / ledger.files["forecasts"][1]
    frame = pd.read_parquet(path)
    frame["probability"] = 0.01
    frame.to_parquet(path)
    problems = ledger.verify()
    assert len(problems) == 1 and ledger.files["forecasts"][1] in problems[0] and "changed" in problems[0]
    with pytest.warns(LedgerIntegrityWarning, match="1 ledger file"):
        ledger.forecasts()


@pytest.mark.parametrize("which", ["newest", "middle"])
def test_a_deleted_manifest_is_found(world, tmp_path: Path, which: str):
    ledger = _issued(tmp_path, world)
    manifests = sorted((ledger.path / "manifests").glob("*.json"))
    (manifests[-1] if which == "newest" else manifests[1]).unlink()
    problems = " ".join(ledger.verify())
    assert ("newest manifest" in problems and "missing" in problems) if which == "newest" else "[2] are missing" in problems


def test_a_commit_killed_before_head_json_is_not_tampering(world, tmp_path: Path):
    ledger = _issued(tmp_path, world, n=2)
    head = (ledger.path / "head.json").read_text()
    ledger.issue(world["scores"][2], panel=world["panel"][world["panel"]["period"] <= world["dates"][2]])
    (ledger.path / "head.json").write_text(head)  # as if killed between the manifest and head.json
    assert ledger.verify() == []


def test_a_ledger_from_before_checksums_verifies_and_gains_them_at_the_next_commit(world, tmp_path: Path):
    ledger = _issued(tmp_path, world, n=2)
    (ledger.path / "head.json").unlink()
    for path in (ledger.path / "manifests").glob("*.json"):
        data = json.loads(path.read_text())
        del data["checksums"], data["previous"]
        path.write_text(json.dumps(data))
    assert ledger.verify() == []
    ledger.issue(world["scores"][2], panel=world["panel"][world["panel"]["period"] <= world["dates"][2]])
    newest = json.loads(sorted((ledger.path / "manifests").glob("*.json"))[-1].read_text())
    assert len(newest["checksums"]) == 3 and ledger.verify() == []


# --------------------------------------------------------------------------- ledger resolve --json


def test_ledger_resolve_json_reports_this_runs_resolutions_and_the_total(tmp_path: Path, monkeypatch, capsys):
    from tension.cli import main
    from tension.panel import build_panel
    from tension.simulate import simulate
    from tension.store import Store

    monkeypatch.chdir(tmp_path)
    w = simulate(seed=3, countries=6, years=1.5)
    store = Store(tmp_path / "store")
    store.append(w.events.drop(columns=["batch_id", "ingested_at"], errors="ignore"))
    panel = build_panel(store, freq="W", dyads="undirected")
    weeks = sorted(panel["period"].unique())
    ledger = Ledger(tmp_path / "ledger")
    for d in weeks[-12:-9]:
        now = panel[panel["period"] == d]
        scores = pd.DataFrame({"dyad": now["dyad"], "source": now["source"], "target": now["target"], "as_of": d,
                               "horizon": H, "probability": 0.2, "model_version": "tension/1"})
        scores.attrs["freq"] = "W"
        ledger.issue(scores, panel=panel[panel["period"] <= d])
    args = ["ledger", "resolve", "--store", str(store.location), "--ledger", str(ledger.path), "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["resolved"] > 0 and first["resolved"] == first["resolved_total"] == ledger.summary()["resolved"]
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert second["resolved"] == 0 and second["resolved_total"] == first["resolved_total"]


def test_outcomes_use_the_whole_target_spec(world):
    from tension.ledger import outcomes_from_panel
    from tension.targets import TargetSpec, make_target

    panel = world["panel"].sort_values(["dyad", "period"], kind="stable").reset_index(drop=True)
    spec = TargetSpec("surge", horizon=H, lookback=8, quantile=0.75)
    out = outcomes_from_panel(panel, [2, H], spec)
    for h in (2, H):
        got = out[out["horizon"] == h]["outcome"].to_numpy()
        assert np.nansum(got) > 0
        assert np.array_equal(got, make_target(panel, spec, horizon=h).to_numpy(), equal_nan=True)
    default_lookback = outcomes_from_panel(panel, [H], TargetSpec("surge", horizon=H, quantile=0.75))["outcome"].to_numpy()
    assert not np.array_equal(out[out["horizon"] == H]["outcome"].to_numpy(), default_lookback, equal_nan=True)
