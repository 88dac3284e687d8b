"""The retrain job: real processes, real store, real MLflow SQLite, a local webhook server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlflow_server import RETRAIN_AS_OF as AS_OF
from mlflow_server import free_port, steps_of
from tension.cli import main
from tension.config import AlertsConfig, RetrainConfig
from tension.gates import _better
from tension.jobs import (
    daily_counts,
    find_alerts,
    health_check,
    latest_complete_period,
    send_alerts,
)

TENSION = str(Path(sys.executable).parent / "tension")


@pytest.fixture()
def project(project: Path, template_db: Path) -> Path:
    """The shared ``project`` fixture with a ready MLflow schema in ./data/mlflow.db."""
    shutil.copyfile(template_db, project / "data" / "mlflow.db")
    return project


class Webhook:
    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.url = ""


@pytest.fixture()
def webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.posts.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def setup_project(project: Path, template: Path, **retrain: object) -> Path:
    shutil.copytree(template, project / "inbox")
    lines = ['name = "job-test"', "[retrain]", 'inbox = "inbox"', f'as_of = "{AS_OF}"', "recent_origins = 4"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in retrain.items() if not k.startswith("alerts_")]
    lines += ["[backtest]", "min_train_periods = 26", "[alerts]", "threshold = 0.05"]
    lines += [f"{k[7:]} = {json.dumps(v)}" for k, v in retrain.items() if k.startswith("alerts_")]
    cfg = project / "retrain.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def registry(project: Path) -> tuple[list[int], dict[str, int]]:
    from tension import tracking
    from tension.config import Experiment

    versions = tracking.model_versions(Experiment())
    aliases = {a: int(r.version) for r in versions.itertuples() for a in r.aliases.split(",") if a}
    return versions["version"].tolist(), aliases




# ----------------------------------------------------------------------------- done-when, real processes


def test_two_retrains_at_once_then_again_on_the_same_inbox(project: Path, inbox_template: Path, webhook: Webhook) -> None:
    cfg = setup_project(project, inbox_template, alerts_webhook=webhook.url)
    env = {**{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, "TENSION_DEBUG": "1"}
    first = subprocess.Popen([TENSION, "retrain", "--config", str(cfg), "--json"], cwd=project, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err_a: list[str] = []
    locked = threading.Event()

    def pump() -> None:
        for line in first.stderr:
            err_a.append(line)
            if '"step": "lock", "status": "ok"' in line:
                locked.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    assert locked.wait(120), "".join(err_a)
    busy = subprocess.run([TENSION, "retrain", "--config", str(cfg)], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    queued = subprocess.Popen([TENSION, "retrain", "--config", str(cfg), "--wait", "300", "--json"], cwd=project,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_a = first.stdout.read()
    assert first.wait(300) == 0, "".join(err_a)[-3000:]
    reader.join(10)
    out_c, err_c = queued.communicate(timeout=300)

    # the second run found the lock held and exited 4 with a clear message
    assert busy.returncode == 4, busy.stderr
    assert "Another retrain is running" in busy.stderr
    # the first run did everything and promoted its challenger
    a = json.loads(out_a)
    steps_a = {s["step"]: s for s in a["steps"]}
    assert steps_a["ingest"]["counts"]["files"] == 2 and steps_a["ingest"]["counts"]["stored"] > 5000
    assert steps_a["promote"]["status"] == "ok" and a["champion"] == 1 and a["promoted"]
    assert steps_a["issue"]["counts"]["issued"] > 0
    # every step logged one JSON line on stderr
    assert set(steps_of("".join(err_a))) == set(steps_a)
    # the queued run waited, then ingested nothing and changed no alias
    assert queued.returncode == 0, err_c[-3000:]
    c = json.loads(out_c)
    steps_c = {s["step"]: s for s in c["steps"]}
    assert steps_c["lock"]["counts"]["waited_seconds"] > 0
    assert steps_c["ingest"]["counts"] == {"files": 0, "read": 0, "stored": 0, "duplicates": 0, "quarantined": 0}
    assert steps_c["train"]["status"] == "skipped" and steps_c["promote"]["status"] == "skipped"
    assert c["champion"] == 1 and not c["promoted"]
    versions, aliases = registry(project)
    assert versions == [1] and aliases == {"champion": 1, "challenger": 1}
    # alerts: one file line per alert, the same alerts POSTed once as JSON
    n_alerts = steps_a["alerts"]["counts"]["alerts"]
    assert n_alerts > 0 and steps_a["alerts"]["counts"]["posted"] == 1
    assert len(webhook.posts) == 1 and len(webhook.posts[0]["alerts"]) == n_alerts
    lines = (project / "data" / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == n_alerts and json.loads(lines[0])["kind"] in ("threshold", "jump")


def test_emptied_latest_week_blocks_promotion_and_publication_with_exit_3(project: Path, inbox_template: Path, capsys) -> None:
    cfg = setup_project(project, inbox_template)
    week = project / "inbox" / "events-2021-06-28.csv"
    week.write_text(week.read_text().splitlines()[0] + "\n")  # header only: a source outage
    assert main(["retrain", "--config", str(cfg), "--json"]) == 3
    captured = capsys.readouterr()
    err = captured.out and captured.err
    out = json.loads(captured.out)
    assert out["exit_code"] == 3 and out["health"]["passed"] is False and out["champion"] is None
    assert "collapsed in the period of 2021-06-28: 0 events received" in err
    steps = steps_of(err)
    assert steps["health"]["status"] == "blocked" and "panel" not in steps and "promote" not in steps
    versions, _ = registry(project)
    assert versions == []
    assert not (project / "data" / "ledger").exists()
    # the blocked gate is recorded in MLflow
    from mlflow.tracking import MlflowClient

    from tension import tracking

    client = MlflowClient(tracking.tracking_uri())
    exp = client.get_experiment_by_name("tension")
    runs = client.search_runs([exp.experiment_id], "tags.`tension.gate` = 'blocked'")
    assert len(runs) == 1 and runs[0].data.metrics["gate_passed"] == 0.0


def test_tracking_down_exits_5_before_anything_is_ingested(project: Path, inbox_template: Path, monkeypatch, capsys) -> None:
    cfg = setup_project(project, inbox_template)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    t0 = time.monotonic()
    assert main(["retrain", "--config", str(cfg)]) == 5
    assert time.monotonic() - t0 < 30
    assert "cannot be reached" in capsys.readouterr().err
    assert not (project / "inbox" / ".ingested.json").exists() and not (project / "data" / "store").exists()


def test_missing_inbox_is_a_usage_error(project: Path, capsys) -> None:
    (project / "r.toml").write_text("[retrain]\nrecent_origins = 4\n")
    assert main(["retrain", "--config", str(project / "r.toml")]) == 2
    assert "no inbox" in capsys.readouterr().err


# ----------------------------------------------------------------------------- pure parts


def events_frame(counts: list[int], start: str = "2024-01-01", dataset: str = "gdelt2") -> pd.DataFrame:
    rows = []
    for i, n in enumerate(counts):
        day = pd.Timestamp(start) + pd.Timedelta(weeks=i)
        rows += [{"date": day + pd.Timedelta(days=j % 7), "dataset": dataset} for j in range(n)]
    return pd.DataFrame(rows, columns=["date", "dataset"])


def test_health_gate_passes_steady_volume_and_blocks_a_collapse() -> None:
    cfg = RetrainConfig(health_history=8, min_volume_ratio=0.3)
    latest = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=9)
    steady = events_frame([100] * 10)
    ok = health_check(steady, latest, "W", cfg)
    assert ok["passed"] and ok["sources"][0]["expected"] == 100 and ok["sources"][0]["received"] == 100
    collapsed = pd.concat([steady[steady["date"] < latest], events_frame([20], start=str(latest.date()))])
    bad = health_check(collapsed, latest, "W", cfg)
    assert not bad["passed"] and "'gdelt2' collapsed" in bad["problems"][0] and "20 events received" in bad["problems"][0]
    # another source's outage is caught even when the first is fine
    two = pd.concat([steady, events_frame([50] * 9, dataset="acled")])
    assert [s["dataset"] for s in health_check(two, latest, "W", cfg)["sources"]] == ["acled", "gdelt2"]
    assert not health_check(two, latest, "W", cfg)["passed"]


def test_health_gate_reads_daily_counts_from_the_store_and_decides_as_on_the_events(tmp_path: Path) -> None:
    from tension.simulate import simulate
    from tension.store import Store

    events = simulate(seed=3, countries=6, years=0.6).events
    store = Store(str(tmp_path / "store"))
    store.append(events)
    last = pd.Timestamp(events["date"].max()).normalize()
    latest = last - pd.Timedelta(days=last.day_of_week + 14)  # a Monday two weeks before the last event
    start, end = latest - pd.Timedelta(weeks=10) + pd.Timedelta(days=3), latest + pd.Timedelta(days=6)  # starts mid-week, mid-month
    counts = daily_counts(store, start, end)
    rows = store.read(start=start.date(), end=end.date(), columns=["date", "dataset"])
    assert counts["events"].sum() == len(rows) > 0  # every event counted once, none outside the range
    assert len(counts) <= (end - start).days + 1  # one row per day and source, not per event
    expected = rows.groupby([rows["date"].dt.normalize(), "dataset"]).size()
    got = counts.set_index(["date", "dataset"])["events"].sort_index()
    assert got.to_dict() == expected.sort_index().to_dict()
    cfg = RetrainConfig(health_history=8, min_volume_ratio=0.3)
    assert health_check(counts, latest, "W", cfg) == health_check(rows, latest, "W", cfg)
    collapsed = pd.concat([counts[counts["date"] < latest], counts[counts["date"] >= latest].assign(events=1)])
    assert not health_check(collapsed, latest, "W", cfg)["passed"]


def test_health_gate_blocks_jumps_in_unknown_codes_and_unresolved_actors() -> None:
    cfg = RetrainConfig(max_unknown_code_share=0.05, max_unresolved_share=0.5, max_share_jump=0.2)
    latest = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=12)
    ev = events_frame([100] * 13)
    history = {"read": 10_000, "quarantined_unknown": 100 + 300, "unresolved_events": 1000 + 80}
    rep = health_check(ev, latest, "W", cfg, {"read": 1000, "quarantined_unknown": 300, "unresolved_events": 80}, history)
    assert not rep["passed"] and len(rep["problems"]) == 1
    assert "unknown event codes is 30.0%" in rep["problems"][0]
    assert rep["quarantined_unknown_history_share"] == pytest.approx(100 / 9000)
    fine = health_check(ev, latest, "W", cfg, {"read": 1000, "quarantined_unknown": 10, "unresolved_events": 100},
                        {"read": 10_000, "quarantined_unknown": 100, "unresolved_events": 1000})
    assert fine["passed"]


def test_latest_complete_period_excludes_the_running_one() -> None:
    assert latest_complete_period("2021-07-05", "W") == pd.Timestamp("2021-06-28")
    assert latest_complete_period("2021-07-04", "W") == pd.Timestamp("2021-06-21")
    assert latest_complete_period("2021-07-15", "M") == pd.Timestamp("2021-06-01")


def test_promotion_rule_respects_direction_and_margin() -> None:
    assert _better("brier", 0.09, 0.10, 0.005) and not _better("brier", 0.099, 0.10, 0.005)
    assert not _better("brier", 0.10, 0.10, 0.0)  # a tie keeps the champion
    assert _better("roc_auc", 0.80, 0.70, 0.05) and not _better("roc_auc", 0.72, 0.70, 0.05)
    assert not _better("brier", float("nan"), 0.1, 0.0) and _better("brier", 0.2, float("nan"), 0.0)


def scores_frame() -> pd.DataFrame:
    return pd.DataFrame({"dyad": ["A>B", "B>C", "C>D", "D>E"], "horizon": 4, "as_of": pd.Timestamp("2024-03-04"),
                         "probability": [0.62, 0.61, 0.30, 0.45], "change": [0.05, np.nan, 0.25, -0.1]})


def test_alerts_are_threshold_and_jump_crossings() -> None:
    alerts = find_alerts(scores_frame(), AlertsConfig(threshold=0.6, jump=0.2))
    assert sorted(zip(alerts["dyad"], alerts["kind"])) == [("A>B", "threshold"), ("B>C", "threshold"), ("C>D", "jump")]
    # A>B was 0.57 before: a crossing; a dyad already above the threshold is not re-alerted
    again = find_alerts(scores_frame().assign(change=[0.01, 0.0, 0.0, 0.0]), AlertsConfig(threshold=0.6, jump=0.2))
    assert again.empty


def test_alerts_go_to_file_and_webhook(tmp_path: Path, webhook: Webhook, monkeypatch) -> None:
    alerts = find_alerts(scores_frame(), AlertsConfig(threshold=0.6, jump=0.2))
    monkeypatch.setenv("TEAM_HOOK", webhook.url)
    sent = send_alerts(alerts, tmp_path / "alerts.jsonl", "env:TEAM_HOOK")
    assert sent["posted"] and sent["alerts"] == 3 and sent["webhook_error"] is None
    assert [a["dyad"] for a in webhook.posts[0]["alerts"]] == alerts["dyad"].tolist()
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == 3
    down = send_alerts(alerts, tmp_path / "alerts.jsonl", f"http://127.0.0.1:{free_port()}/x", timeout=2)
    assert not down["posted"] and down["webhook_error"]
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == 6


@pytest.mark.heavy
def test_new_data_trains_a_challenger_that_must_beat_the_champion_by_the_margin(project: Path, inbox_template: Path,
                                                                                capsys) -> None:
    cfg = setup_project(project, inbox_template, promote_margin=1.0)  # no challenger can beat brier by 1.0
    week = project / "inbox" / "events-2021-06-28.csv"
    held_back = week.read_text()
    week.unlink()
    assert main(["retrain", "--config", str(cfg), "--as-of", "2021-06-28", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["champion"] == 1 and first["promoted"]  # no champion yet: the first challenger is promoted
    week.write_text(held_back)
    assert main(["retrain", "--config", str(cfg), "--as-of", AS_OF, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    steps = {s["step"]: s for s in second["steps"]}
    assert steps["ingest"]["counts"]["files"] == 1 and steps["train"]["counts"]["version"] == 2
    assert steps["promote"]["status"] == "kept" and not second["promoted"] and second["champion"] == 1
    versions, aliases = registry(project)
    assert versions == [1, 2] and aliases == {"champion": 1, "challenger": 2}


def test_example_job_file_loads() -> None:
    from tension.config import load_experiment

    exp = load_experiment(Path(__file__).resolve().parents[1] / "experiments" / "retrain.toml")
    assert exp.retrain.inbox == "data/inbox" and exp.alerts.webhook == "env:TENSION_ALERT_WEBHOOK"


def test_a_challenger_worse_than_history_is_not_promoted_and_history_is_published(project: Path, inbox_template: Path,
                                                                                  capsys) -> None:
    # A real store of a world where the pairs' own past carries the signal, and a challenger that ignores it
    # (the training base rate): the gate must compare it with history, refuse it, and publish history, labelled so.
    cfg = setup_project(project, inbox_template)
    cfg.write_text(cfg.read_text() + '[models]\ncandidate = "base_rate"\n')
    assert main(["retrain", "--config", str(cfg), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    steps = {s["step"]: s for s in out["steps"]}
    counts = steps["backtest"]["counts"]
    assert counts["brier_challenger"] > counts["brier_history"]
    assert steps["promote"]["status"] == "kept" and "does not beat the pair's own history" in steps["promote"]["message"]
    assert not out["promoted"] and out["champion"] is None and out["published_model"] == "history"
    versions, aliases = registry(project)
    assert versions == [1] and aliases == {"challenger": 1}
    from tension.ledger import Ledger

    issued = Ledger(project / "data" / "ledger").forecasts()
    assert len(issued) and set(issued["model_version"].astype(str)) == {"history"}
    assert "History baseline published" in out["summary"]
    # history's bands come from its own backtest on the gate's origins, not "no band" everywhere
    banded = issued.dropna(subset=["lower", "upper"])
    assert len(banded) and (banded["lower"] <= banded["upper"]).all()


def test_retrain_trains_and_gates_with_the_configured_target_lookback(project: Path, inbox_template: Path, capsys) -> None:
    # `train` and `backtest` use [target] lookback; `retrain` must too (it once fell back to 52 without a word).
    from tension.backtest import fit_final, run_backtest
    from tension.config import load_experiment
    from tension.jobs import gate_spec
    from tension.models import make_model
    from tension.panel import build_panel

    cfg = setup_project(project, inbox_template)
    cfg.write_text(cfg.read_text() + '[target]\nname = "surge"\nhorizon = 2\nlookback = 8\n')
    assert main(["retrain", "--config", str(cfg), "--no-track", "--json"]) == 0
    steps = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}

    exp = load_experiment(cfg)
    latest = pd.Timestamp(AS_OF) - pd.Timedelta(weeks=1)
    panel = build_panel(str(project / "data" / "store"), freq="W", dyads=exp.panel.dyads, config=exp.panel,
                        end=(latest + pd.Timedelta(days=6)).date(), regions=exp.regions or None)
    panel = panel[pd.DatetimeIndex(panel["period"]) <= latest]
    positives = {lb: fit_final(make_model(exp.models.candidate), panel, latest, "W", horizon=2, target="surge", lookback=lb)[1]["positives"]
                 for lb in (8, 52)}
    assert positives[8] != positives[52]  # the data tells the two apart, so the check below can fail
    assert steps["train"]["counts"]["positives"] == positives[8]

    gate = run_backtest(panel, gate_spec(exp, panel, latest), {"challenger": make_model(exp.models.candidate), "history": make_model("history")},
                        target="surge", k=exp.target.k, lookback=8)
    brier = gate.metrics.set_index("model")["brier"]
    assert steps["backtest"]["counts"]["brier_history"] == pytest.approx(float(brier["history"]), rel=1e-9)
    assert steps["backtest"]["counts"]["brier_challenger"] == pytest.approx(float(brier["challenger"]), rel=1e-9)


def test_the_same_data_is_nothing_new_but_new_code_trains_a_challenger(project: Path, inbox_template: Path, capsys,
                                                                       monkeypatch) -> None:
    # A rerun on the same data, configuration and code skips training; after an upgrade of tension
    # (another code version in the train key) the same data trains and gates a challenger again.
    cfg = setup_project(project, inbox_template)
    assert main(["retrain", "--config", str(cfg), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["retrain", "--config", str(cfg), "--json"]) == 0
    again = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert again["train"]["status"] == "skipped"
    from tension import tracking

    monkeypatch.setattr(tracking, "code_version", lambda: "0.0+an-upgrade")
    assert main(["retrain", "--config", str(cfg), "--json"]) == 0
    upgraded = json.loads(capsys.readouterr().out)
    steps = {s["step"]: s for s in upgraded["steps"]}
    assert steps["train"]["status"] == "ok" and steps["backtest"]["status"] == "ok"
    assert upgraded["challenger"] is not None and upgraded["challenger"] != first["challenger"]
