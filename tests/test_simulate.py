"""The synthetic world: determinism, ground truth against events, control world, texture, CLI."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tension.cli import main
from tension.errors import UsageError
from tension.schema import EVENT_COLUMNS
from tension.simulate import CSV_COLUMNS, World, simulate, world_paths, write_world

CONFLICT_ROOTS = ("18", "19", "20")
PRECURSOR_ROOTS = ("11", "12", "13", "15", "16", "17")
MATERIAL_CONFLICT_ROOTS = ("15", "16", "17", "18", "19", "20")  # the any_material_conflict target's events
BACKGROUND_CODES = ("010", "012", "013", "020", "030", "036", "040", "042", "043", "046", "050", "051", "061",
                    "071", "100", "110", "114")


@lru_cache(maxsize=None)
def _world(seed: int = 1, control: bool = False, countries: int = 30, years: float = 6) -> World:
    return simulate(seed=seed, control=control, countries=countries, years=years)


def _weekly(world: World) -> dict[str, np.ndarray | dict[str, int]]:
    """Undirected dyad x week arrays of precursor and material-conflict counts, plus episode weeks."""
    ev = world.events.drop_duplicates("event_id")
    weeks = world.weeks
    wk = ((ev["date"] - weeks[0]).dt.days // 7).to_numpy()
    src, tgt = ev["source_country"].to_numpy(dtype=str), ev["target_country"].to_numpy(dtype=str)
    und = np.where(src < tgt, np.char.add(np.char.add(src, "|"), tgt), np.char.add(np.char.add(tgt, "|"), src))
    names, ui = np.unique(und, return_inverse=True)
    index = {n: i for i, n in enumerate(names)}
    root = ev["root_code"].to_numpy(dtype=str)
    conflict = np.isin(root, CONFLICT_ROOTS)
    precursor = np.isin(root, PRECURSOR_ROOTS) | (ev["cameo_code"].to_numpy(dtype=str) == "016")
    shape = (len(names), len(weeks))
    prec, mc = np.zeros(shape), np.zeros(shape)
    np.add.at(prec, (ui[precursor], wk[precursor]), 1)
    np.add.at(mc, (ui[conflict], wk[conflict]), 1)
    inside = np.zeros(shape, dtype=bool)
    for ep in world.truth.itertuples():
        s, e = (ep.start - weeks[0]).days // 7, (ep.end - weeks[0]).days // 7
        inside[index[ep.dyad], s : e + 1] = True
    return {"prec": prec, "mc": mc, "inside": inside, "index": index}


def _precursor_auc(world: World, horizon: int = 4, window: int = 4) -> float:
    """AUC of an unfitted score (precursors in the last 4 weeks) for conflict in the next 4 weeks."""
    arr = _weekly(world)
    prec, mc = arr["prec"], arr["mc"]
    zeros = np.zeros((prec.shape[0], 1))
    cp, cm = np.hstack([zeros, prec.cumsum(1)]), np.hstack([zeros, mc.cumsum(1)])
    t = np.arange(window, prec.shape[1] - horizon)
    score = cp[:, t + 1] - cp[:, t + 1 - window]
    target = (cm[:, t + 1 + horizon] - cm[:, t + 1]) > 0
    return float(roc_auc_score(target.ravel(), score.ravel()))


def _precursor_lift(world: World, weeks_before: int = 4) -> float:
    """Precursors per week in the weeks before episode starts / the same dyads' average per week."""
    arr = _weekly(world)
    prec, index = arr["prec"], arr["index"]
    before, usual = 0.0, 0.0
    for ep in world.truth.itertuples():
        s = (ep.start - world.weeks[0]).days // 7
        if s >= weeks_before:
            row = prec[index[ep.dyad]]
            before += row[s - weeks_before : s].mean()
            usual += row.mean()
    return before / usual


def test_same_seed_writes_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    one = write_world(simulate(seed=7, countries=12, years=2), tmp_path / "a" / "world.csv")
    two = write_world(simulate(seed=7, countries=12, years=2), tmp_path / "b" / "world.csv")
    other = write_world(simulate(seed=8, countries=12, years=2), tmp_path / "c" / "world.csv")
    assert set(one) == {"events", "truth", "countries", "relations"}
    for name in one:
        assert one[name].read_bytes() == two[name].read_bytes(), name
    assert one["events"].read_bytes() != other["events"].read_bytes()
    assert one["truth"].name == "world.truth.csv" and one["countries"].name == "world.countries.csv"


def test_events_are_canonical_and_labelled_synthetic() -> None:
    world = _world()
    ev = world.events
    assert tuple(ev.columns) == EVENT_COLUMNS
    assert set(ev["dataset"].unique()) == {"synthetic"}
    assert ev["source_country"].str.fullmatch(r"X[A-Z]{2}").all()
    assert ev["target_country"].str.fullmatch(r"X[A-Z]{2}").all()
    assert (ev["source_country"] != ev["target_country"]).all()
    assert ev["cameo_code"].str.fullmatch(r"\d{3,4}").all()
    assert (ev["cameo_code"] == "010").any()  # leading zeros kept
    assert (ev["root_code"] == ev["cameo_code"].str[:2]).all()
    assert ev["source_ref"].str.fullmatch(r"synthetic:1:\d+").all()
    assert ev["text"].str.endswith("(synthetic)").all()
    assert ev["date"].dt.day_of_week.isin(range(7)).all() and (ev["date"] == ev["date"].dt.normalize()).all()
    assert ev["date"].min() >= pd.Timestamp(world.params["start"])
    assert ev["date"].max() <= world.weeks[-1] + pd.Timedelta(days=6)
    assert 100_000 < len(ev) < 400_000  # demo-sized
    assert world.countries["code"].is_unique and len(world.countries) == 30


def test_every_episode_has_material_conflict_inside_it() -> None:
    world = _world()
    ev = world.events
    conflict = ev[ev["root_code"].isin(CONFLICT_ROOTS)]
    und = np.where(
        conflict["source_country"] < conflict["target_country"],
        conflict["source_country"] + "|" + conflict["target_country"],
        conflict["target_country"] + "|" + conflict["source_country"],
    )
    by_dyad = pd.Series(conflict["date"].to_numpy(), index=und).groupby(level=0)
    outage = set(world.outages["week"])
    assert len(world.truth) >= 40
    for ep in world.truth.itertuples():
        weeks = pd.date_range(ep.start, ep.end, freq="7D")
        if set(weeks) <= outage:
            continue  # a source outage may hide a whole short episode: no data is not no conflict
        dates = by_dyad.get_group(ep.dyad) if ep.dyad in by_dyad.groups else pd.Series([], dtype="datetime64[ns]")
        assert ((dates >= ep.start) & (dates <= ep.end)).any(), ep


def test_material_conflict_outside_episodes_is_rare() -> None:
    arr = _weekly(_world())
    mc, inside = arr["mc"], arr["inside"]
    assert mc.sum() > 1000
    assert mc[~inside].sum() / mc.sum() < 0.02
    assert mc[~inside].sum() > 0  # some noise exists


def test_precursors_rise_before_episodes_and_predict_conflict() -> None:
    world = _world()
    assert _precursor_lift(world) > 3.0
    assert _precursor_auc(world) > 0.8


def _material_conflict_by_pair(world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected pair x week counts of material conflict (roots 15-20, the target's events),
    each pair's count of all other events (its volume), and the non-outage week indices."""
    ev = world.events.drop_duplicates("event_id")
    wk = ((ev["date"] - world.weeks[0]).dt.days // 7).to_numpy()
    a, b = ev["source_country"].to_numpy(dtype=str), ev["target_country"].to_numpy(dtype=str)
    und = np.where(a < b, np.char.add(np.char.add(a, "|"), b), np.char.add(np.char.add(b, "|"), a))
    index = {d: i for i, d in enumerate(world.relations["dyad"])}
    pair = np.array([index[d] for d in und])
    mc = np.isin(ev["root_code"].to_numpy(dtype=str), MATERIAL_CONFLICT_ROOTS)
    grid = np.zeros((len(index), len(world.weeks)))
    np.add.at(grid, (pair[mc], wk[mc]), 1)
    volume = np.bincount(pair[~mc], minlength=len(index))
    outage = ((world.outages["week"] - world.weeks[0]).dt.days // 7).to_numpy()
    return grid, volume, np.setdiff1d(np.arange(len(world.weeks)), outage)


def _history_auc(grid: np.ndarray, horizon: int = 4, window: int = 4) -> float:
    """AUC of the pair's own conflict count in the last 4 weeks for any conflict in the next 4."""
    c = np.hstack([np.zeros((grid.shape[0], 1)), grid.cumsum(1)])
    t = np.arange(window, grid.shape[1] - horizon)
    score = c[:, t + 1] - c[:, t + 1 - window]
    target = (c[:, t + 1 + horizon] - c[:, t + 1]) > 0
    return float(roc_auc_score(target.ravel(), score.ravel()))


def test_control_world_keeps_every_event_and_the_background_and_the_truth() -> None:
    world, control = _world(), _world(control=True)
    pd.testing.assert_frame_equal(world.truth, control.truth)  # what would have happened
    pd.testing.assert_frame_equal(world.outages, control.outages)
    assert len(control.events) == len(world.events)
    pd.testing.assert_series_equal(world.events["cameo_code"].value_counts().sort_index(),
                                   control.events["cameo_code"].value_counts().sort_index())
    assert control.events["event_id"].duplicated().sum() == world.events["event_id"].duplicated().sum()
    assert (control.events["date"].dt.day_of_week.value_counts().sort_index()
            == world.events["date"].dt.day_of_week.value_counts().sort_index()).all()

    def background(w: World) -> pd.DataFrame:
        ev = w.events[w.events["cameo_code"].isin(BACKGROUND_CODES)]
        return ev[["date", "source_country", "target_country", "cameo_code"]].reset_index(drop=True)

    pd.testing.assert_frame_equal(background(world), background(control))
    assert control.events["source_ref"].str.startswith("synthetic-control:1:").all()
    assert not set(control.events["event_id"]) & set(world.events["event_id"])


def test_control_world_conflict_is_uniform_over_dyads_and_weeks_so_unpredictable() -> None:
    """Material conflict lands on uniform dyads and weeks: not by volume, episode, history or precursors.

    Each check also runs on the normal world, where it must fail (so the checks can fail).
    """
    from scipy.stats import chisquare, spearmanr

    for ctl in (False, True):
        world = _world(control=ctl)
        grid, volume, ordinary = _material_conflict_by_pair(world)
        per_pair, per_week = grid.sum(1), grid[:, ordinary].sum(0)
        checks = {
            "uniform over pairs (chi-square p > 0.001)": chisquare(per_pair).pvalue > 0.001,
            "uniform over weeks (chi-square p > 0.001)": chisquare(per_week).pvalue > 0.001,
            "independent of pair volume (|Spearman| < 0.15)": abs(spearmanr(per_pair, volume).statistic) < 0.15,
            "own history at chance (AUC 0.5 +- 0.02)": abs(_history_auc(grid) - 0.5) < 0.02,
            "precursors at chance (AUC 0.5 +- 0.06)": abs(_precursor_auc(world) - 0.5) < 0.06,
            "no precursor rise before episodes": 0.6 < _precursor_lift(world) < 1.5,
        }
        arr = _weekly(world)
        inside = arr["mc"][arr["inside"]].sum() / arr["mc"].sum()
        checks["episodes get their share of cells only"] = 0.5 < inside / arr["inside"].mean() < 2.0
        if ctl:
            assert all(checks.values()), checks
        else:
            assert not any(checks.values()), checks


def test_outage_weeks_have_almost_no_events() -> None:
    world = _world()
    weekly = world.events.groupby(world.events["date"].dt.to_period("W-SUN").dt.start_time).size()
    weekly = weekly.reindex(world.weeks, fill_value=0)
    assert len(world.outages) >= 3
    assert (weekly[world.outages["week"]] < 0.1 * weekly.median()).all()
    ordinary = weekly.drop(world.outages["week"])
    assert (ordinary > 0.3 * weekly.median()).all()


def test_duplicate_rows_repeat_the_same_event_id() -> None:
    ev = _world().events
    dup = ev["event_id"].duplicated(keep=False)
    share = ev["event_id"].duplicated().mean()
    assert 0.001 < share < 0.01
    repeated = ev[dup].drop(columns=["source_line"])
    assert len(repeated.drop_duplicates()) == ev[dup]["event_id"].nunique()  # exact copies


def test_texture_weekends_and_heavy_tailed_dyad_volumes() -> None:
    ev = _world().events
    by_day = ev["date"].dt.day_of_week.value_counts().sort_index()
    assert by_day[[5, 6]].mean() < 0.7 * by_day[[0, 1, 2, 3, 4]].mean()
    per_dyad = ev.groupby(["source_country", "target_country"]).size().sort_values(ascending=False)
    top = per_dyad.head(max(1, len(per_dyad) // 10)).sum() / per_dyad.sum()
    assert top > 0.35


def test_relations_have_allies_rivals_and_episodes_between_rivals_mostly() -> None:
    world = _world()
    rel = world.relations.set_index("dyad")["relation"]
    assert {"ally", "rival", "neutral"} <= set(rel)
    kinds = world.truth["dyad"].map(rel)
    assert (kinds == "rival").mean() > 0.6
    assert not (kinds == "ally").any()


def test_events_target_scales_volume() -> None:
    small = simulate(seed=2, countries=20, years=2, events=20_000)
    assert 15_000 < len(small.events) < 25_000


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"countries": 1}, "number of countries"),
        ({"countries": 700}, "number of countries"),
        ({"years": 0}, "number of years"),
        ({"seed": -1}, "seed"),
        ({"events": 0}, "events target"),
        ({"start": "not a date"}, "not a date"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs: dict, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        simulate(**kwargs)


def test_csv_has_canonical_columns_and_keeps_leading_zeros(tmp_path: Path) -> None:
    world = simulate(seed=4, countries=10, years=1)
    paths = write_world(world, tmp_path / "w.csv")
    back = pd.read_csv(paths["events"], dtype=str, keep_default_na=False)
    assert tuple(back.columns) == CSV_COLUMNS
    assert len(back) == len(world.events)
    assert back["cameo_code"].tolist() == world.events["cameo_code"].tolist()
    truth = pd.read_csv(paths["truth"], parse_dates=["start", "end"])
    assert truth["dyad"].str.fullmatch(r"X[A-Z]{2}\|X[A-Z]{2}").all()
    assert (truth["start"] <= truth["end"]).all()
    assert world_paths(tmp_path / "w.csv")["relations"].is_file()


def test_cli_json_reports_the_world_and_writes_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--seed", "3", "--countries", "10", "--years", "1", "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["seed"] == 3 and payload["countries"] == 10 and payload["control"] is False
    events = Path(payload["files"]["events"])
    assert events == project / "data" / "synthetic" / "world-3.csv" and events.is_file()
    assert Path(payload["files"]["truth"]).is_file()
    assert payload["rows"] == sum(1 for _ in events.open()) - 1


def test_cli_control_and_out_option(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = project / "elsewhere" / "ctl.csv"
    code = main(["simulate", "--seed", "3", "--countries", "10", "--years", "1", "--control", "--out", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["control"] is True and out.is_file()
    assert re.search(r"synthetic-control:3:\d+", out.read_text().splitlines()[1])


def test_cli_bad_usage_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--countries", "1"]) == 2
    assert "number of countries" in capsys.readouterr().err


def test_written_csv_ingests_back_to_the_same_events(tmp_path: Path) -> None:
    """The generic CSV reader rebuilds every simulated event (ids, countries, codes, families)."""
    from tension.config import CsvMapping
    from tension.ingest import read_events

    world = simulate(seed=2, countries=10, years=1)
    paths = write_world(world, tmp_path / "w.csv")
    result = read_events(paths["events"], format="csv", mapping=CsvMapping(dataset="synthetic"))
    assert result.read == len(world.events) and len(result.quarantine) == 0
    cols = ["event_id", "date", "source_actor", "source_country", "target_actor", "target_country",
            "cameo_code", "root_code", "quad_class", "goldstein", "family", "dataset", "source_ref", "text"]
    pd.testing.assert_frame_equal(
        result.events[cols].reset_index(drop=True), world.events[cols].reset_index(drop=True), check_dtype=False
    )


def test_blocs_and_regions_map_names_to_member_codes() -> None:
    world = _world()
    regions = world.regions
    assert sorted(c for members in regions.values() for c in members) == sorted(world.countries["code"])
    blocs = world.blocs
    assert blocs and all(len(m) >= 1 for m in blocs.values())
    by_code = world.countries.set_index("code")["bloc"]
    assert all(by_code[c] == name for name, members in blocs.items() for c in members)
    allies = world.relations[world.relations["relation"] == "ally"]
    assert (allies["a"].map(by_code) == allies["b"].map(by_code)).all()
