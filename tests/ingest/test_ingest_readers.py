"""Every reader on a hand-written fixture: detection, values, quarantine, round trip, idempotence."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tension.config import load_experiment
from tension.errors import UsageError
from tension.ingest import ingest, read_events
from tension.schema import EVENT_COLUMNS
from tension.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
MAPPING = load_experiment(FIXTURES / "analyst_mapping.toml").csv

# file, format, read, stored (first ingest), duplicates, quarantine {line: reason}
CASES = [
    ("events.2014.icews.tab", "icews", 13, 8, 1, {10: "bad_date", 11: "unknown_event_code", 12: "empty_actor", 13: "wrong_column_count"}),
    ("icews14_kg.txt", "icews-kg", 11, 5, 1, {7: "unknown_event_code", 8: "bad_date", 9: "wrong_column_count", 10: "empty_actor", 11: "bad_encoding"}),
    ("20130405.export.CSV", "gdelt1", 5, 3, 1, {5: "bad_date"}),
    ("gdelt1_backfile_1985.csv", "gdelt1", 3, 2, 0, {3: "unknown_event_code"}),
    ("gdelt2.export.CSV", "gdelt2", 11, 6, 1, {5: "unknown_event_code", 7: "wrong_column_count", 8: "bad_date", 9: "empty_actor"}),
    ("acled_ukraine_2025.csv", "acled", 9, 5, 1, {8: "bad_date", 9: "unknown_event_code", 11: "wrong_column_count"}),
    ("polecat_2023_w01.tsv", "polecat", 7, 4, 1, {7: "unknown_event_code", 8: "empty_actor"}),
    ("analyst_events.csv", "csv", 7, 3, 1, {6: "bad_date", 7: "unknown_event_code", 8: "empty_actor"}),
    ("analyst_events.jsonl", "jsonl", 7, 3, 1, {5: "bad_date", 6: "unknown_event_code", 7: "bad_json"}),
]


@pytest.mark.parametrize(("name", "fmt", "read", "stored", "dups", "bad"), CASES, ids=[c[0] for c in CASES])
def test_reader_roundtrip_quarantine_and_idempotence(tmp_path: Path, name: str, fmt: str, read: int, stored: int, dups: int, bad: dict[int, str]) -> None:
    path = FIXTURES / name
    result = read_events(path, mapping=MAPPING)
    assert result.format == fmt and result.read == read
    assert dict(zip(result.quarantine["source_line"], result.quarantine["reason"])) == bad
    assert result.quarantine["raw"].str.len().gt(0).all()

    store = Store(tmp_path / "store")
    first = ingest([path], store, mapping=MAPPING)
    t = first.total
    assert (t.read, t.stored, t.duplicates, t.quarantined) == (read, stored, dups, len(bad))
    stored_events = store.read()
    assert list(stored_events.columns) == list(EVENT_COLUMNS)
    assert stored_events["event_id"].is_unique and len(stored_events) == stored
    # round trip: what the store returns is what the reader produced (first occurrence of each id)
    expected = result.events.drop_duplicates("event_id").sort_values(["date", "event_id"]).reset_index(drop=True)
    got = stored_events.drop(columns=["batch_id", "ingested_at"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected.drop(columns=["batch_id", "ingested_at"]), check_dtype=True)
    assert (stored_events["batch_id"] == first.batch_id).all()
    assert store.quarantine()["reason"].tolist() == [bad[k] for k in sorted(bad)]

    digest = store.digest
    second = ingest([path], store, mapping=MAPPING)
    assert (second.total.stored, second.total.duplicates, second.total.quarantined) == (0, read - len(bad), len(bad))
    assert store.digest == digest and len(store.read()) == stored
    assert store.summary()["identity_holds"]


def test_icews_ids_keep_event_id_with_date_and_fall_back_to_event_names() -> None:
    ev = read_events(FIXTURES / "events.2014.icews.tab").events.set_index("event_id")
    # Event ID 926685 reused with another date is another event; the repeated row is the same event
    assert {"icews:926685:2014-06-14", "icews:926685:2009-03-02"} <= set(ev.index)
    assert ev.loc["icews:926688:2014-06-16", "date"] == pd.Timestamp("2014-06-16")  # M/D/YYYY
    assert ev.loc["icews:926689:2014-06-17", "cameo_code"] == "138"  # "13y" -> by event name
    row = ev.loc["icews:926690:2014-06-18"]  # Dataverse .tab quoting removed
    assert (row["source_actor"], row["source_country"], row["target_org"]) == ("Foreign Affairs (Azerbaijan)", "AZE", "NATO")
    assert pd.isna(row["target_country"])  # an organisation is never a country
    assert ev.loc["icews:926687:2014-06-15", "cameo_code"] == "010"  # leading zero kept


def test_icews_kg_underscores_equal_spaces() -> None:
    ev = read_events(FIXTURES / "icews14_kg.txt").events
    assert ev["event_id"].iloc[0] == ev["event_id"].iloc[1]
    assert ev["source_actor"].iloc[1] == "Government (Armenia)"
    assert ev.loc[ev["source_actor"] == "Military (Azerbaijan)", "cameo_code"].tolist() == ["190"]


def test_gdelt_blank_country_falls_back_to_actor_code_prefix() -> None:
    v2 = read_events(FIXTURES / "gdelt2.export.CSV").events.drop_duplicates("event_id").set_index("event_id")
    assert v2.loc["gdelt:1000002", "source_country"] == "ROU"  # Actor1Code ROUGOV, country blank
    assert v2.loc["gdelt:1000003", "source_country"] == "SSD"
    assert v2.loc["gdelt:1000008", "source_org"] == "NATO" and pd.isna(v2.loc["gdelt:1000008", "source_country"])
    assert pd.isna(v2.loc["gdelt:1000010", "source_country"])  # region code EUR: unresolved, not guessed
    assert v2.loc["gdelt:1000001", "weight"] == 10.0
    assert v2.loc["gdelt:1000001", "source_ref"] == "https://news.example.org/story/1000001"
    v1 = read_events(FIXTURES / "20130405.export.CSV").events.drop_duplicates("event_id").set_index("event_id")
    assert v1.loc["gdelt:250000002", "source_country"] == "TWN" and v1.loc["gdelt:250000001", "source_country"] == "ROU"
    assert read_events(FIXTURES / "gdelt1_backfile_1985.csv").events["source_ref"].isna().all()  # 57 columns: no URL


def test_acled_pairs_only_where_actors_name_two_states() -> None:
    result = read_events(FIXTURES / "acled_ukraine_2025.csv")
    ev = result.events.drop_duplicates("event_id").set_index("event_id")
    assert ev.loc["acled:UKR160001", "date"] == pd.Timestamp("2025-05-16")  # "16 May 2025"
    assert tuple(ev.loc["acled:UKR160001", ["source_country", "target_country", "cameo_code"]]) == ("RUS", "UKR", "194")
    assert tuple(ev.loc["acled:ARM2001", ["source_country", "target_country", "cameo_code"]]) == ("ARM", "AZE", "057")
    assert pd.isna(ev.loc["acled:UKR160003", "target_country"])  # protest: single actor
    assert "\n" in ev.loc["acled:UKR160002", "text"]  # quoted newline kept inside the notes
    assert ev.loc["acled:UKR160002", "source_line"] == 3


def test_polecat_none_and_multi_valued_countries() -> None:
    ev = read_events(FIXTURES / "polecat_2023_w01.tsv").events.drop_duplicates("event_id").set_index("event_id")
    assert ev.loc["polecat:20230105-0002", "source_country"] == "RUS"  # "Russia; Russia"
    assert pd.isna(ev.loc["polecat:20230105-0003", "source_country"])  # "Russia; Belarus": ambiguous
    assert pd.isna(ev.loc["polecat:20230105-0004", "target_actor"])  # "None"
    assert ev.loc["polecat:20230105-0002", "cameo_code"] == "195"  # ASSAULT / aerial


def test_csv_mapping_mismatch_is_a_usage_error_listing_the_header(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="do not match the CSV mapping.*day"):
        read_events(FIXTURES / "analyst_events.csv", format="csv")


def test_content_hash_ids_are_stable_across_runs() -> None:
    a = read_events(FIXTURES / "icews14_kg.txt").events["event_id"].tolist()
    b = read_events(FIXTURES / "icews14_kg.txt").events["event_id"].tolist()
    assert a == b and a[0] == "icews-kg:h132dd5f964a84bc0cf731f3fbeaa4556"


def test_compressed_input_reads_the_same(tmp_path: Path) -> None:
    import gzip
    import zipfile

    raw = (FIXTURES / "gdelt2.export.CSV").read_bytes()
    gz = tmp_path / "20240515.export.CSV.gz"
    gz.write_bytes(gzip.compress(raw))
    zp = tmp_path / "20240515.export.CSV.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        zf.writestr("20240515.export.CSV", raw)
    plain = read_events(FIXTURES / "gdelt2.export.CSV").events["event_id"].tolist()
    assert read_events(gz).events["event_id"].tolist() == plain
    assert read_events(zp).events["event_id"].tolist() == plain


def test_multi_file_ingest_is_one_batch_with_per_file_counts(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    report = ingest([FIXTURES / "events.2014.icews.tab", FIXTURES / "gdelt2.export.CSV"], store)
    assert len(report.files) == 2 and len(store.batches()) == 1
    assert report.total.read == sum(f.read for f in report.files) == 24
    assert all(f.identity_holds for f in report.files) and report.total.identity_holds
    assert 0 < report.total.dyad_share < 1
    assert report.total.unresolved["Unknown Delegation"] == 1


def test_file_not_found_and_unknown_format_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        read_events(tmp_path / "nope.tsv")
    with pytest.raises(UsageError, match="Unknown --format 'gdelt'.*Did you mean"):
        read_events(FIXTURES / "gdelt2.export.CSV", format="gdelt")


def test_garbage_weights_become_one_and_integer_read_codes_keep_their_zero(tmp_path: Path) -> None:
    line = (FIXTURES / "gdelt2.export.CSV").read_text().splitlines()[0].split("\t")
    rows = []
    for i, (mentions, code) in enumerate([("-5", "190"), ("1e300", "10"), ("7", "0874")]):
        fields = list(line)
        fields[0], fields[31], fields[26] = str(900 + i), mentions, code
        rows.append("\t".join(fields))
    path = tmp_path / "w.export.CSV"
    path.write_text("\n".join(rows) + "\n")
    ev = read_events(path).events
    assert ev["weight"].tolist() == [1.0, 1.0, 7.0]
    assert ev["cameo_code"].tolist() == ["190", "010", "0874"]


def test_csv_keeps_its_own_dataset_column_and_long_fields(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    notes = "x" * 300_000
    path.write_text(
        "date,source_actor,target_actor,cameo_code,dataset,text\n"
        f"2014-03-01,Armenia,Azerbaijan,190,synthetic,{notes}\n2014-03-02,Armenia,Azerbaijan,190,field-notes,short\n"
    )
    ev = read_events(path).events
    assert ev["dataset"].tolist() == ["synthetic", "field-notes"] and len(ev["text"].iloc[0]) == 300_000


def test_jsonl_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "analyst_events.jsonl").read_bytes())
    assert read_events(path, mapping=MAPPING).quarantine["reason"].tolist() == ["bad_date", "unknown_event_code", "bad_json"]


def test_blank_source_ids_fall_back_to_content_hashes_not_to_one_shared_id(tmp_path: Path) -> None:
    import csv

    with open(FIXTURES / "acled_ukraine_2025.csv", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    path = tmp_path / "blank_ids.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(["", *r[1:]] for r in rows[:3])
    ev = read_events(path).events
    assert len(ev) == 3 and ev["event_id"].is_unique and ev["event_id"].str.startswith("acled:h").all()
