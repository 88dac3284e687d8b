"""tension.panel: build_panel over DataFrames and the store, bucket equivalence, the CLI, real ICEWS."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from features.panel_tables import CODES, events, hand_events, week

from tension.cli import main
from tension.config import PanelConfig
from tension.dyads import BASE_COLUMNS, bucket_of, country_context, dyadic_rows, event_counts, pair_keys
from tension.features import FEATURES
from tension.panel import build_bucket, build_panel
from tension.store import Store


def _random_world(n: int = 400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    countries = ["ARM", "AZE", "GEO", "RUS", "TUR", "IRN", "UKR"]
    rows = []
    for _ in range(n):
        s, t = rng.choice(countries, 2, replace=False)
        rows.append((week(int(rng.integers(0, 30)), int(rng.integers(0, 7))), str(s), str(t), str(rng.choice(sorted(CODES)))))
    return events(rows)


def test_columns_order_dtypes_and_attrs() -> None:
    panel = build_panel(hand_events(), freq="W", dyads="directed")
    names = [f.__name__ for f in FEATURES]
    assert list(panel.columns) == list(BASE_COLUMNS) + names
    assert panel.attrs == {"freq": "W", "dyads": "directed", "features": names}
    assert panel["period"].dtype == "datetime64[ns]"
    assert panel["low_coverage"].dtype == bool
    assert all(panel[n].dtype == np.float32 for n in names)


@pytest.mark.parametrize("dyads", ["directed", "undirected"])
def test_buckets_mapped_separately_give_the_same_rows(dyads: str) -> None:
    """The distributed path (shuffle into dyad-hash buckets, map build_bucket) equals the local one."""
    ev = _random_world()
    cfg = PanelConfig(monitored=("ARM|UKR",))
    local = build_panel(ev, freq="W", dyads=dyads, config=cfg)
    counts = event_counts(ev, "W")
    context = country_context(counts, "W", cfg)
    rows = dyadic_rows(counts)
    bucket = np.array([bucket_of(s, t, 4) for s, t in zip(rows["s"], rows["t"])])
    watch = {b: [m for m in cfg.monitored if bucket_of(*m.replace(">", "|").split("|"), 4) == b] for b in range(4)}
    parts = [build_bucket(rows[bucket == b], context, dyads, cfg, FEATURES, monitored=watch[b]) for b in range(4)]
    merged = pd.concat(parts, ignore_index=True).sort_values(["dyad", "period"], kind="stable").reset_index(drop=True)
    assert len({len(p) for p in parts}) > 1  # really split
    pd.testing.assert_frame_equal(local.reset_index(drop=True), merged, check_exact=True)


def test_store_and_dataframe_give_the_same_panel(tmp_path: Path) -> None:
    ev = _random_world()
    store = Store(str(tmp_path / "store"))
    store.append(ev)
    from_store = build_panel(store, freq="M", dyads="undirected")
    from_path = build_panel(str(tmp_path / "store"), freq="M", dyads="undirected")
    from_frame = build_panel(ev, freq="M", dyads="undirected")
    pd.testing.assert_frame_equal(from_store, from_frame, check_exact=True)
    pd.testing.assert_frame_equal(from_path, from_frame, check_exact=True)


def test_cli_writes_the_panel_with_json_summary(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Store(str(project / "data" / "store")).append(_random_world())
    code = main(["panel", "--freq", "M", "--dyads", "undirected", "--out", "data/panel.parquet", "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    written = pd.read_parquet(project / "data" / "panel.parquet")
    assert payload["rows"] == len(written) > 0
    assert payload["features"] == len(FEATURES)
    assert payload["freq"] == "M" and written["dyad"].str.contains("|", regex=False).all()
    assert written["period"].dt.day.eq(1).all()
    assert written.attrs["freq"] == "M" and written.attrs["dyads"] == "undirected"  # metadata travels in the file


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["panel", "--freq", "Q"], "Unknown panel frequency"),
        (["panel", "--dyads", "sideways"], "Unknown dyad kind"),
        (["panel", "--out", "panel.xlsx"], "Unknown output format"),
        (["panel", "--store", "no/such/store"], "event store does not exist"),
    ],
)
def test_cli_usage_errors_exit_2(project: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    Store(str(project / "data" / "store")).append(_random_world(50))
    assert main(argv) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_cli_runs_as_a_real_subprocess(project: Path) -> None:
    Store(str(project / "data" / "store")).append(_random_world(100))
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from tension.cli import main; sys.exit(main(sys.argv[1:]))",
         "panel", "--out", "out.csv", "--json"],
        capture_output=True, text=True, cwd=project, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["out"] == "out.csv"
    assert (project / "out.csv").stat().st_size > 0


def test_icews_monthly_undirected_panel_matches_raw_events(shared_data: Path) -> None:
    """Real ICEWS sample: the panel builds, and the top hostile dyads' series equal a recount of the raw events."""
    ingest = pytest.importorskip("tension.ingest")
    if not hasattr(ingest, "read_events"):
        pytest.skip("tension.ingest.read_events is not available yet")
    ev = ingest.read_events(shared_data / "icews" / "icews05-15_sample_a.tsv", format="icews-kg").events
    panel = build_panel(ev, freq="M", dyads="undirected")
    assert len(panel) > 1000 and panel["dyad"].str.fullmatch(r"[A-Z]{3}\|[A-Z]{3}").all()
    # recount from the raw rows with plain pandas
    s, t = ev["source_country"].fillna(""), ev["target_country"].fillna("")
    raw = ev[(s != "") & (t != "") & (s != t)].copy()
    raw["dyad"] = [f"{min(a, b)}|{max(a, b)}" for a, b in zip(raw["source_country"], raw["target_country"])]
    raw["period"] = raw["date"].dt.to_period("M").dt.start_time
    raw["hostile"] = (-raw["goldstein"].astype("float64")).clip(lower=0)
    raw["material"] = (raw["quad_class"] == 4).astype(int)
    top = raw.groupby("dyad")["hostile"].sum().nlargest(5).index
    for dyad in top:
        want = raw[raw["dyad"] == dyad].groupby("period").agg(n=("hostile", "size"), h=("hostile", "sum"), m=("material", "sum"))
        got = panel[panel["dyad"] == dyad].set_index("period")
        joined = got.join(want, how="left").fillna({"n": 0, "h": 0.0, "m": 0})
        assert set(want.index) <= set(got.index), f"{dyad}: months with events missing from the panel"
        np.testing.assert_array_equal(joined["events_dyad"].to_numpy(), joined["n"].to_numpy())
        np.testing.assert_array_equal(joined["material_conflict_count"].to_numpy(), joined["m"].to_numpy())
        np.testing.assert_allclose(joined["hostile_intensity"].to_numpy(), joined["h"].to_numpy(), rtol=1e-5, atol=1e-3)
        assert joined["incidents_hostile_intensity_4p"].iloc[3] == pytest.approx(joined["h"].iloc[:4].sum(), rel=1e-5)
    # the global volume per month is the raw count of every event of that month
    per_month = ev.groupby(ev["date"].dt.to_period("M").dt.start_time).size()
    got_volume = panel.groupby("period")["events_global"].first()
    np.testing.assert_array_equal(got_volume.to_numpy(), per_month.reindex(got_volume.index).to_numpy())


def test_feature_threads_do_not_change_the_panel() -> None:
    ev = _random_world(300, seed=9)
    one = build_panel(ev, freq="W", threads=1)
    four = build_panel(ev, freq="W", threads=4)
    pd.testing.assert_frame_equal(one, four, check_exact=True)


@pytest.mark.parametrize(("dyads", "freq"), [("directed", "W"), ("undirected", "W"), ("directed", "D"), ("undirected", "M")])
def test_bucket_in_many_chunks_equals_one_chunk(dyads: str, freq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """build_bucket cuts a large bucket into chunks of country pairs and merges them: the same rows as one chunk."""
    import tension.panel as panel_module

    ev = _random_world(600, seed=11)
    cfg = PanelConfig(monitored=("ARM|UKR", "GEO>IRN", "USA|CAN"))  # the last has no events at all
    monkeypatch.setattr(panel_module, "CHUNK_CELLS", 10**9)
    one = build_panel(ev, freq=freq, dyads=dyads, config=cfg)
    monkeypatch.setattr(panel_module, "CHUNK_CELLS", 10)  # about a chunk per pair, for these few dyads
    rows = dyadic_rows(event_counts(ev, freq))
    assert panel_module._chunk_count(np.bincount(pair_keys(rows["s"], rows["t"])[0]) > 0, one["period"].nunique()) > 5
    many = build_panel(ev, freq=freq, dyads=dyads, config=cfg, threads=2)
    assert many["dyad"].is_monotonic_increasing
    assert {"CAN|USA"} <= set(many["dyad"]) if dyads == "undirected" else {"USA>CAN", "CAN>USA"} <= set(many["dyad"])
    pd.testing.assert_frame_equal(one, many, check_exact=True)
    assert many.attrs == one.attrs


def test_merging_chunks_orders_by_dyad_and_keeps_dtypes() -> None:
    from tension.panel import _merge_chunks

    ev = _random_world(300, seed=3)
    whole = build_panel(ev, freq="W")
    dyads = sorted(whole["dyad"].unique())
    parts = [whole[whole["dyad"].isin(dyads[i::3])].reset_index(drop=True) for i in (2, 0, 1)]  # interleaved dyads, shuffled
    merged = _merge_chunks(parts, threads=2)
    pd.testing.assert_frame_equal(merged, whole.reset_index(drop=True), check_exact=True)
    assert _merge_chunks([whole.iloc[:0], whole]) is whole  # empty chunks are dropped, one left: as it is
