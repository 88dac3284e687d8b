"""The hand-coded South Caucasus examples: format, codes, dates, sources, and ingestion."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pycountry
import pytest

from tension.actors import resolve_actors
from tension.taxonomy import cameo_table

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
CSV = EXAMPLES / "south_caucasus.csv"
COLUMNS = ["event_id", "date", "source_actor", "source_country", "target_actor", "target_country",
           "cameo_code", "source_ref", "text"]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(CSV, dtype=str, keep_default_na=False)


def test_file_has_the_canonical_columns_and_enough_rows(rows: pd.DataFrame) -> None:
    assert rows.columns.tolist() == COLUMNS
    assert len(rows) >= 40
    assert rows["event_id"].is_unique
    assert (EXAMPLES / "README.md").is_file()


def test_codes_are_known_cameo_codes_with_leading_zeros(rows: pd.DataFrame) -> None:
    known = set(cameo_table()["code"])
    unknown = sorted(set(rows["cameo_code"]) - known)
    assert not unknown, f"unknown CAMEO codes: {unknown}"
    assert rows["cameo_code"].str.fullmatch(r"\d{3,4}").all()
    assert rows["cameo_code"].str.startswith("0").any()


def test_dates_are_valid_and_within_2020_to_2025(rows: pd.DataFrame) -> None:
    dates = pd.to_datetime(rows["date"], format="%Y-%m-%d", errors="coerce")
    assert dates.notna().all()
    assert dates.min() >= pd.Timestamp("2020-01-01") and dates.max() <= pd.Timestamp("2025-12-31")
    assert dates.is_monotonic_increasing


def test_every_row_has_a_source_note_and_a_description(rows: pd.DataFrame) -> None:
    assert (rows["source_ref"].str.strip().str.len() > 10).all()
    assert (rows["text"].str.strip().str.len() > 15).all()
    assert rows["source_ref"].str.contains(r"20\d\d").all()  # each note dates its source


def test_countries_are_iso3_and_blank_only_for_organisations(rows: pd.DataFrame) -> None:
    for side in ("source", "target"):
        codes = rows[f"{side}_country"]
        filled = codes[codes != ""]
        assert all(pycountry.countries.get(alpha_3=c) is not None for c in filled), sorted(set(filled))
        assert not filled.str.startswith("X").any()  # never mixed with the synthetic world
        blank_actors = rows.loc[codes == "", f"{side}_actor"]
        resolved = resolve_actors(blank_actors.reset_index(drop=True))
        assert resolved["org"].notna().all(), blank_actors.tolist()


@pytest.mark.parametrize(
    ("date", "source", "target", "code"),
    [
        ("2020-09-27", "AZE", "ARM", "190"),  # 44-day war begins
        ("2020-11-10", "RUS", "AZE", "074"),  # Russian peacekeepers deploy
        ("2022-09-13", "AZE", "ARM", "190"),  # September 2022 border clashes
        ("2023-09-19", "AZE", "ARM", "190"),  # offensive in Nagorno-Karabakh
        ("2024-02-22", "ARM", "", "160"),  # CSTO participation frozen
        ("2024-04-17", "RUS", "AZE", "166"),  # peacekeepers withdraw
        ("2024-12-29", "AZE", "RUS", "112"),  # Aliyev blames Russia for the AZAL crash
        ("2025-01-09", "ARM", "", "032"),  # EU-membership bill approved by government
        ("2025-03-26", "ARM", "", "032"),  # ... and adopted by parliament
        ("2025-06-27", "RUS", "AZE", "175"),  # Yekaterinburg raid
        ("2025-07-05", "ARM", "UKR", "016"),  # Gyumri report called fictitious
        ("2025-08-08", "ARM", "AZE", "057"),  # Washington summit
    ],
)
def test_key_events_of_the_brief_are_present(rows: pd.DataFrame, date: str, source: str, target: str, code: str) -> None:
    hit = rows[(rows["date"] == date) & (rows["source_country"] == source)
               & (rows["target_country"] == target) & (rows["cameo_code"] == code)]
    assert len(hit) == 1


def test_the_generic_csv_reader_ingests_every_row() -> None:
    from tension.ingest import read_events

    result = read_events(CSV, format="auto")
    assert result.format == "csv"
    assert result.read == len(result.events) >= 40 and len(result.quarantine) == 0
    ev = result.events
    assert ev["event_id"].str.startswith("analyst:sc-").all()
    assert ev["dataset"].eq("analyst").all()
    assert (ev["target_org"] == "CSTO").sum() >= 4
    dyadic = ev["source_country"].notna() & ev["target_country"].notna()
    assert set(ev.loc[dyadic, "source_country"] + ">" + ev.loc[dyadic, "target_country"]) >= {"ARM>AZE", "AZE>ARM", "RUS>AZE", "AZE>RUS"}
