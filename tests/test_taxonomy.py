"""CAMEO table, code repair, families, ICEWS event names and the PLOVER mapping."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tension import taxonomy as tx
from tension.schema import FAMILIES

ROOT = Path(__file__).resolve().parents[1]


def test_table_has_every_code_once_at_three_levels():
    table = tx.cameo_table()
    assert table["code"].is_unique
    assert len(table) == 312
    assert table.groupby("level").size().to_dict() == {1: 20, 2: 147, 3: 145}
    assert (table["level"] == table["code"].str.len() - 1).all()
    assert (table["code"].str[:2] == table["root_code"]).all()
    assert set(table["root_code"]) == {f"{r:02d}" for r in range(1, 21)}


def test_goldstein_uses_icews_where_sources_differ():
    table = tx.cameo_table().set_index("code")
    assert table.loc["016", "goldstein"] == pytest.approx(-5.0)
    assert table.loc["016", "goldstein_gdelt"] == pytest.approx(-2.0)
    assert table.loc["164", "goldstein"] == pytest.approx(-6.5)
    assert table.loc["165", "goldstein"] == pytest.approx(-7.0)
    assert table.loc["1823", "goldstein"] == pytest.approx(-10.0)
    assert table["goldstein"].between(-10, 10).all()


@pytest.mark.parametrize(("root", "quad"), [("01", 1), ("05", 1), ("06", 2), ("09", 2), ("10", 3), ("14", 3), ("15", 4), ("20", 4)])
def test_quad_class_follows_gdelt_convention(root, quad):
    table = tx.cameo_table()
    assert set(table.loc[table["root_code"] == root, "quad_class"]) == {quad}
    assert tx.quad_for_root(root) == quad


@pytest.mark.parametrize(
    ("raw", "min_digits", "expected"),
    [
        ("010", 2, "010"),
        (10, 2, "10"),  # a root as given
        (10, 3, "010"),  # an event-code column read as numbers: 10 was "010"
        ("43", 2, "043"),
        (211, 2, "0211"),
        (874, 3, "0874"),
        (1, 2, "01"),
        (1823.0, 2, "1823"),
        ("43.0", 3, "043"),
        (" 190 ", 3, "190"),
        ("13y", 2, None),
        ("--", 2, None),
        ("---", 3, None),
        ("", 2, None),
        (None, 2, None),
        ("99", 2, None),
        ("12345", 2, None),
    ],
)
def test_normalize_codes_known_answers(raw, min_digits, expected):
    out = tx.normalize_codes(pd.Series([raw], dtype=object), min_digits=min_digits)
    assert (out.iloc[0] if pd.notna(out.iloc[0]) else None) == expected


def test_every_code_survives_an_integer_read():
    codes = tx.cameo_table()["code"]
    as_int = codes.astype(int)
    leaf = codes.str.len() >= 3
    assert (tx.normalize_codes(as_int[leaf], min_digits=3) == codes[leaf]).all()
    assert (tx.normalize_codes(as_int[~leaf]) == codes[~leaf]).all()


@given(st.lists(st.one_of(st.text(max_size=6), st.integers(-5, 30000), st.floats(allow_nan=True), st.none()), max_size=30))
def test_normalize_codes_returns_known_codes_or_na(values):
    out = tx.normalize_codes(pd.Series(values, dtype=object))
    assert len(out) == len(values)
    known = set(tx.cameo_table()["code"])
    assert all(pd.isna(v) or v in known for v in out)


def test_lookup_codes_is_aligned_and_marks_unknown():
    codes = pd.Series(["190", "13y", "0874", "016"], index=[7, 3, 9, 1])
    out = tx.lookup_codes(codes)
    assert list(out.index) == [7, 3, 9, 1]
    assert out.loc[7, "family"] == "incident" and out.loc[7, "quad_class"] == 4
    assert pd.isna(out.loc[3, "cameo_code"]) and pd.isna(out.loc[3, "family"]) and pd.isna(out.loc[3, "quad_class"])
    assert out.loc[9, "root_code"] == "08" and out.loc[9, "goldstein"] == pytest.approx(10.0)
    assert out.loc[1, "family"] == "denial" and out.loc[1, "quad_class"] == 1
    assert str(out["quad_class"].dtype) == "Int8" and str(out["goldstein"].dtype) == "float32"


def test_families_partition_the_codes():
    assert tuple(tx.FAMILY_CODES) == FAMILIES
    every = set(tx.cameo_table()["code"])
    union = set().union(*tx.FAMILY_CODES.values())
    assert union == every
    assert sum(len(v) for v in tx.FAMILY_CODES.values()) == len(every)
    table = tx.cameo_table()
    assert (table["family"] == table["code"].map(tx.family_rule)).all()


@pytest.mark.parametrize(
    ("code", "family"),
    [
        ("15", "incident"), ("154", "incident"), ("173", "incident"), ("1823", "incident"), ("190", "incident"),
        ("195", "incident"), ("2042", "incident"),
        ("016", "denial"), ("111", "denial"), ("1123", "denial"), ("1212", "denial"), ("138", "denial"), ("1384", "denial"),
        ("057", "alliance_move"), ("062", "alliance_move"), ("072", "alliance_move"), ("161", "alliance_move"),
        ("163", "alliance_move"), ("164", "alliance_move"), ("166", "alliance_move"), ("1662", "alliance_move"),
        ("036", "cooperation"), ("042", "cooperation"), ("061", "cooperation"), ("0874", "cooperation"),
        ("010", "other"), ("020", "other"), ("090", "other"), ("100", "other"), ("145", "other"),
    ],
)
def test_family_membership(code, family):
    assert tx.family_of(code) == family
    assert code in tx.FAMILY_CODES[family]


def test_named_code_sets():
    assert tx.EXPEL == {"166", "1661", "1662", "1663"}
    assert tx.EXPEL < tx.REDUCE_RELATIONS and tx.SANCTIONS < tx.REDUCE_RELATIONS
    assert tx.MATERIAL_CONFLICT_ROOTS == {"15", "16", "17", "18", "19", "20"}
    assert "11" in tx.ACCUSE and "1125" in tx.ACCUSE and "120" not in tx.ACCUSE
    assert tx.FIGHT.isdisjoint(tx.ASSAULT)
    assert tx.CRITICIZE == {"111"} and tx.ACCUSATIONS == {"112", "1121", "1122", "1123", "1124", "1125"}
    assert (tx.CRITICIZE | tx.ACCUSATIONS) < tx.ACCUSE
    assert tx.FAMILY_CODES["incident"] == tx.FORCE_POSTURE | tx.COERCE | tx.ASSAULT | tx.FIGHT | tx.MASS_VIOLENCE
    assert tx.FAMILY_CODES["denial"] == tx.DENY | tx.ACCUSE | tx.REJECT | tx.THREATEN
    with pytest.raises(KeyError, match="Unknown CAMEO code"):
        tx.family_of("13y")


def test_event_names_with_spaces_underscores_and_case():
    names = pd.Series(["Make_statement", "MAKE STATEMENT", "  make   statement ", "Consult", "Demand", "coerce",
                       "fight_with_small_arms_and_light_weapons", "Use conventional military force",
                       "Meet at a 'third' location", "Sign formal agreement", "no such event", None])
    assert tx.codes_for_event_names(names).tolist()[:10] == ["010", "010", "010", "040", "100", "170", "193", "190",
                                                              "044", "057"]
    assert tx.codes_for_event_names(names).iloc[10:].isna().all()


def test_root_name_shared_with_x0_code_maps_to_three_digits():
    table = tx.cameo_table()
    roots = table[table["level"] == 1]
    mapped = tx.codes_for_event_names(roots["icews_name"])
    for root, code in zip(roots["code"], mapped, strict=True):
        assert code == root or code == root + "0"


def test_plover_round_trip():
    types = pd.Series(["AGREE", "CONSULT", "SUPPORT", "CONCEDE", "COOPERATE", "AID", "RETREAT", "REQUEST", "ACCUSE",
                       "REJECT", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE", "ASSAULT"])
    codes = tx.cameo_for_plover(types)
    assert codes.notna().all()
    assert (tx.plover_for_cameo(codes) == types).all()
    table = tx.plover_table()
    assert (tx.plover_for_cameo(table["cameo_code"]).to_numpy() == table["plover_type"].to_numpy()).all()


def test_plover_modes_case_and_unknowns():
    out = tx.cameo_for_plover(pd.Series(["assault", "ASSAULT", "COERCE", "DEMAND", None]),
                              pd.Series(["aerial", "no-such-mode", "arrest", "", "aerial"]))
    assert out.tolist()[:3] == ["195", "180", "173"]
    assert out.iloc[3:].isna().all()


def test_plover_drops_roots_01_02_and_maps_exceptions():
    out = tx.plover_for_cameo(pd.Series(["010", "02", "0874", "081", "163", "191", "175", "13y"]))
    assert out.iloc[:2].isna().all() and pd.isna(out.iloc[7])
    assert out.iloc[2:7].tolist() == ["RETREAT", "CONCEDE", "COERCE", "COERCE", "ASSAULT"]


def test_build_script_reproduces_the_committed_tables():
    if not (ROOT.parent / "shared" / "reference").is_dir():
        pytest.skip("../shared/reference not found (only present next to the team checkout)")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_taxonomy.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_event_names_of_real_icews_file_map(shared_data):
    events = pd.read_csv(shared_data / "icews" / "icews05-15_sample_a.tsv", sep="\t", header=None, dtype=str,
                         quoting=3, keep_default_na=False)
    share = tx.codes_for_event_names(events[1]).notna().mean()
    print(f"ICEWS05-15 sample: {share:.2%} of event names map to CAMEO codes")
    assert share >= 0.99
