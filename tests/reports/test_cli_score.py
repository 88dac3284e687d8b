"""`tension score | report | ledger` end to end: real store, real MLflow SQLite registry, real files."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tension.cli import main

H = 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A project with a synthetic world in its store and a registered champion trained 12 weeks before its end.

    Module-scoped (the MLflow registration is the slow part); each test keeps its own ledger.
    """
    project = tmp_path_factory.mktemp("project")
    (project / "data").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        mp.delenv("TENSION_STORE", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield _train(project)


def _train(project: Path) -> dict:
    from tension.backtest import fit_final
    from tension.config import load_experiment
    from tension.models import make_logit
    from tension.panel import build_panel
    from tension.simulate import simulate
    from tension.store import Store
    from tension.tracking import track_train

    world = simulate(seed=2, countries=6, years=1.5)
    events = world.events.drop(columns=["batch_id", "ingested_at"], errors="ignore")
    weeks = list(world.weeks)
    store = Store(str(project / "data" / "store"))
    # the store grows week by week like a live feed: at first it ends with week -9
    store.append(events[pd.to_datetime(events["date"]) < weeks[-8]])
    exp = load_experiment(None)
    panel = build_panel(store, freq="W", dyads="directed", config=exp.panel, regions=exp.regions)
    cutoff = weeks[-12]
    est, info = fit_final(make_logit(), panel, cutoff, "W", horizon=H)
    track_train(est, panel[panel["period"] <= cutoff], experiment=exp, model_name="logit", store=store,
                alias="champion", features=info["features"])
    return {"weeks": weeks, "project": project, "store": store, "events": events}


def _feed(trained: dict, through: pd.Timestamp) -> None:
    """Append the events of the weeks up to ``through`` (inclusive) that the store does not have yet."""
    ev = trained["events"]
    d = pd.to_datetime(ev["date"])
    trained["store"].append(ev[(d >= pd.Timestamp(trained["store"].summary()["last_date"]) + pd.Timedelta(days=1))
                               & (d < through + pd.Timedelta(weeks=1))])


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_score_issue_resolve_and_report_from_the_command_line(trained, capsys, tmp_path):
    weeks, project = trained["weeks"], trained["project"]
    book = ["--ledger", str(tmp_path / "ledger")]
    assert main(["score", "--issue", "--json", *book]) == 0  # live: the store ends with week -9
    out = _json(capsys)
    assert out["model_version"] == "tension/1" and out["issued"] > 0 and out["horizons"] == [H]
    assert out["as_of"] == str(weeks[-9].date()) and not out["hindcast"]
    assert Path(out["out"]).is_file()
    _feed(trained, weeks[-8])  # a week later
    assert main(["score", "--issue", "--json", "--out", str(project / "s2.csv"), *book]) == 0
    second_out = _json(capsys)
    assert not second_out["hindcast"]
    _feed(trained, weeks[-1])  # the windows pass
    s2 = pd.read_csv(project / "s2.csv")
    assert s2["change"].notna().any()  # measured against the first issue

    assert main(["ledger", "resolve", "--json", *book]) == 0
    resolved = _json(capsys)
    assert resolved["resolved"] == out["issued"] + second_out["issued"] and resolved["open"] == 0

    assert main(["ledger", "report", "--json", "--threshold", "0.3", *book]) == 0
    record = _json(capsys)
    forecasters = {r["forecaster"] for r in record["track_record"]}
    assert forecasters == {"model", "base_rate", "persistence"} and record["issued"] == resolved["resolved"]

    assert main(["report", "--scores", str(project / "s2.csv"), "--json", *book]) == 0
    rep = _json(capsys)
    html = Path(rep["out"]).read_text()
    assert rep["track_record"] and 'id="track"' in html and "tension/1" in html
    assert main(["report", "--format", "md", "--out", str(project / "r.md")]) == 0
    assert (project / "r.md").read_text().startswith("# Escalation risk watchlist")


def test_backfill_is_issued_as_hindcasts_kept_out_of_the_record(trained, capsys, tmp_path):
    weeks = trained["weeks"]
    book = ["--ledger", str(tmp_path / "ledger")]
    assert main(["score", "--from", str(weeks[-11].date()), "--to", str(weeks[-9].date()), "--issue", "--json",
                 "--out", str(tmp_path / "back.parquet"), *book]) == 0
    out = _json(capsys)
    assert out["hindcast"] and len(out["as_of"]) == 3
    assert main(["ledger", "resolve", "--json", *book]) == 0
    capsys.readouterr()
    assert main(["ledger", "report", "--json", *book]) == 0
    rec = _json(capsys)
    assert rec["hindcasts"] == out["issued"] and rec["issued"] == 0 and rec["track_record"] == []
    # a single past --as-of is a hindcast too: later data was already known when it was issued
    assert main(["score", "--as-of", str(weeks[-12].date()), "--issue", "--json", *book,
                 "--out", str(tmp_path / "past.parquet")]) == 0
    assert _json(capsys)["hindcast"] is True


def _predictions(model: str, n: int = 400) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.6, n)
    return pd.DataFrame({"model": model, "dyad": "XAA>XAB", "horizon": H, "probability": p,
                         "outcome": (rng.uniform(size=n) < p).astype(int)})


def test_bands_come_only_from_the_scored_models_own_backtest(trained, capsys, tmp_path):
    book = ["--ledger", str(tmp_path / "ledger")]
    # no backtest of this model anywhere: no band, with the reason, never 2%-98%
    assert main(["score", "--json", "--out", str(tmp_path / "none.parquet"), *book]) == 0
    out = _json(capsys)
    assert out["band_source"] == "none: no backtest of this model"
    none = pd.read_parquet(tmp_path / "none.parquet")
    assert none["lower"].isna().all() and (none["band_note"] == "no band: no backtest of this model").all()

    # another model's backtest is refused, naming the models the file holds
    other = tmp_path / "hgb.parquet"
    _predictions("hgb").to_parquet(other)
    assert main(["score", "--backtest", str(other), *book]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no forecasts of the scored model 'logit' (tension/1)" in err and "with models hgb" in err

    # this model's rows of a mixed file are used, and the scores say where the band comes from
    mixed = tmp_path / "mixed.parquet"
    pd.concat([_predictions("hgb"), _predictions("logit")]).to_parquet(mixed)
    assert main(["score", "--backtest", str(mixed), "--json", "--out", str(tmp_path / "b.parquet"), *book]) == 0
    out = _json(capsys)
    assert "rows of model logit" in out["band_source"]
    banded = pd.read_parquet(tmp_path / "b.parquet")
    inside = banded["probability"].between(0, 0.6)
    assert banded.loc[inside, "lower"].notna().all() and (banded.loc[inside, "interval_n"] > 0).all()


def test_only_registry_uris_are_accepted(trained, capsys):
    assert main(["score", "--model", "runs:/abc/model"]) == 2
    assert "Only registry models can be scored" in capsys.readouterr().err
    assert main(["score", "--horizon", "1,3"]) == 2  # the champion forecasts h=4 only
    assert "--horizon 4" in capsys.readouterr().err
    assert main(["report", "--format", "pdf"]) == 2


def test_timeline_page_of_the_hand_coded_examples(trained, capsys, tmp_path):
    examples = Path(__file__).resolve().parents[2] / "data" / "examples" / "south_caucasus.csv"
    if not examples.is_file():
        pytest.skip("data/examples/south_caucasus.csv is not in this checkout")
    assert main(["report", "--examples", str(examples), "--timeline", "--out", str(tmp_path / "t.html"), "--json"]) == 0
    out = _json(capsys)
    page = (tmp_path / "t.html").read_text()
    assert out["risk_claim"] is False and out["events"] > 0 and "no risk claim" in page
    assert page.count("<tr><td class=\"date\">") == out["events"] and "Nagorno-Karabakh" in page
    assert main(["report", "--timeline"]) == 2


def test_report_names_every_threshold_of_the_config_it_used(trained, capsys, tmp_path):
    """#20: the track record said alert = 0.5 while the config said 0.3; now each threshold comes from the config."""
    config = tmp_path / "exp.toml"
    config.write_text("[alerts]\nthreshold = 0.3\n\n[backtest]\nalert_threshold = 0.2\n", encoding="utf-8")
    book = ["--ledger", str(tmp_path / "ledger")]
    assert main(["score", "--issue", "--json", "--out", str(tmp_path / "s.parquet"), "--config", str(config), *book]) == 0
    capsys.readouterr()
    assert main(["report", "--scores", str(tmp_path / "s.parquet"), "--config", str(config), "--json",
                 "--out", str(tmp_path / "r.html"), *book]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "<code>[alerts] threshold = 0.3</code>; <code>[backtest] alert_threshold = 0.2</code>" in html
    assert "Alert = probability \u2265 30% (the config's <code>[alerts] threshold</code>)" in html
    assert "h = 4 weeks" in html and "0.5" not in html.split('id="track"')[1].split("Issued")[0]
