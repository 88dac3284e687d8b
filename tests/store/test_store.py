"""The Parquet event store: append, dedupe, manifest commits, range reads, retract, compact."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tension.errors import UsageError
from tension.schema import EVENT_COLUMNS, SCHEMA_VERSION
from tension.store import Store


def _events(ids: list[str], dates: list[str], country: str = "ARM") -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "event_id": ids,
            "date": pd.to_datetime(dates),
            "source_actor": ["Government (Armenia)"] * n,
            "source_country": [country] * n,
            "target_actor": ["Azerbaijan"] * n,
            "target_country": ["AZE"] * n,
            "cameo_code": ["190"] * n,
            "root_code": ["19"] * n,
            "quad_class": [4] * n,
            "goldstein": [-10.0] * n,
            "family": ["incident"] * n,
            "weight": [1.0] * n,
            "dataset": ["test"] * n,
        }
    )


def _identity(store: Store) -> bool:
    s = store.summary()
    return bool(s["identity_holds"]) and s["read"] == s["stored"] + s["duplicates"] + s["quarantined"]


def test_empty_store_reads_empty_with_canonical_columns(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    frame = store.read()
    assert list(frame.columns) == list(EVENT_COLUMNS) and len(frame) == 0
    assert store.manifest["version"] == 0 and store.files() == []


def test_append_roundtrips_canonical_dtypes_and_partitions_by_month(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    res = store.append(_events(["a", "b", "c"], ["2014-01-31", "2014-02-01", "2014-02-28"]))
    assert (res.stored, res.duplicates) == (3, 0)
    frame = store.read()
    assert frame["event_id"].tolist() == ["a", "b", "c"]
    assert str(frame["date"].dtype) == "datetime64[ns]" and frame["quad_class"].dtype == "int8"
    assert frame["cameo_code"].tolist() == ["190"] * 3 and (frame["batch_id"] == res.batch_id).all()
    months = sorted(p.parent.name for p in (tmp_path / "store" / "data").rglob("*.parquet"))
    assert months == ["month=2014-01", "month=2014-02"]
    assert store.manifest["schema_version"] == SCHEMA_VERSION


def test_same_events_twice_store_nothing_new(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    events = _events(["a", "b", "b"], ["2014-01-01", "2014-01-02", "2014-01-02"])
    first = store.append(events)
    digest = store.digest
    second = store.append(events)
    assert (first.stored, first.duplicates) == (2, 1)
    assert (second.stored, second.duplicates) == (0, 3)
    assert second.duplicates_of == {first.batch_id: 3}  # every row of the second delivery repeats the first
    assert len(store.read()) == 2 and store.digest == digest
    assert _identity(store)


def test_read_by_inclusive_date_range(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.append(_events(list("abcd"), ["2014-01-01", "2014-01-15", "2014-02-01", "2014-03-05"]))
    assert store.read("2014-01-15", "2014-02-01")["event_id"].tolist() == ["b", "c"]
    assert len(store.files("2014-02-01", "2014-02-28")) == 1
    assert store.read(columns=["event_id"]).columns.tolist() == ["event_id"]
    with pytest.raises(UsageError, match="not a date"):
        store.read("yesterday-ish")


def test_uncommitted_files_are_invisible_and_manifest_is_written_last(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.append(_events(["a"], ["2014-01-01"]))
    before = store.manifest
    with pytest.raises(RuntimeError):
        with store.batch() as tx:
            tx.append(_events(["b"], ["2014-01-02"]))
            tx._flush("2014-01")  # the data file exists on disk now
            raise RuntimeError("crash before commit")
    assert len(list((tmp_path / "store" / "data").rglob("*.parquet"))) == 2
    assert store.manifest == before and store.read()["event_id"].tolist() == ["a"]
    # a half-written manifest (no "complete") is ignored by readers
    (tmp_path / "store" / "_manifests" / "manifest-00000099.json").write_text('{"schema_version": 1, "files": [')
    assert store.manifest["version"] == before["version"]
    assert store.compact()["orphans_removed"] == 1


def test_retract_removes_one_batch_and_keeps_the_identity(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    a = store.append(_events(["a", "b"], ["2014-01-01", "2014-01-02"]))
    quarantine = pd.DataFrame({"source_file": ["f.tsv"], "source_line": [3], "reason": ["bad_date"], "raw": ["x"]})
    b = store.append(_events(["b", "c"], ["2014-01-02", "2014-02-02"]), quarantine=quarantine, read=3)
    assert len(store.quarantine()) == 1
    assert store.retract(b.batch_id) == 1
    assert store.read()["event_id"].tolist() == ["a", "b"]
    assert len(store.quarantine()) == 0 and _identity(store)
    assert store.retract_impact(a.batch_id) == []
    with pytest.raises(UsageError, match="already retracted"):
        store.retract(b.batch_id)
    with pytest.raises(UsageError, match="No such batch"):
        store.retract("nope")


def test_retract_names_later_batches_that_counted_duplicates(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    a = store.append(_events(["a", "b"], ["2014-01-01", "2014-01-02"]))
    b = store.append(_events(["b", "c"], ["2014-01-02", "2014-01-03"]))
    assert store.retract_impact(a.batch_id) == [{"batch_id": b.batch_id, "rows": 1, "sources": []}]


def test_compact_merges_small_files_keeps_digest_and_retract_still_works(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    results = [store.append(_events([f"e{i}"], [f"2014-01-{i + 1:02d}"])) for i in range(5)]
    digest, rows = store.digest, store.read()
    out = store.compact()
    assert out["files_before"] == 5 and out["files_after"] == 1 and out["months_rewritten"] == 1
    assert store.digest == digest
    pd.testing.assert_frame_equal(store.read(), rows)
    assert store.retract(results[2].batch_id) == 1
    assert sorted(store.read()["event_id"]) == ["e0", "e1", "e3", "e4"]
    assert _identity(store)


def test_manifest_names_schema_version_batches_and_files(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    res = store.append(_events(["a"], ["2014-01-01"]), meta={"source_files": ["x.tsv"]})
    path = sorted((tmp_path / "store" / "_manifests").glob("manifest-*.json"))[-1]
    data = json.loads(path.read_text())
    assert data["complete"] is True and data["schema_version"] == SCHEMA_VERSION
    assert data["batches"][0]["batch_id"] == res.batch_id and data["files"][0]["rows"] == 1
    assert store.batches()["sources"].tolist() == ["x.tsv"]


def test_other_schema_version_is_refused_with_a_fix(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.append(_events(["a"], ["2014-01-01"]))
    path = sorted((tmp_path / "store" / "_manifests").glob("manifest-*.json"))[-1]
    data = json.loads(path.read_text())
    data["schema_version"] = 999
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="another schema version.*Re-ingest"):
        store.read()


def test_store_works_through_fsspec_memory_filesystem() -> None:
    store = Store("memory://tension-test-store")
    store.append(_events(["a", "b"], ["2014-01-01", "2014-05-01"]))
    store.append(_events(["b"], ["2014-05-01"]))
    assert store.read()["event_id"].tolist() == ["a", "b"]
    assert all(f.startswith("memory://") for f in store.files())
    assert store.compact()["orphans_removed"] == 0 and _identity(store)


def test_repeated_id_with_another_date_is_a_duplicate_within_a_batch(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    res = store.append(_events(["a", "a", "b"], ["2014-01-31", "2014-03-01", "2014-03-01"]))
    assert (res.stored, res.duplicates) == (2, 1)
    assert store.read()["event_id"].is_unique


def test_files_replaced_by_compaction_survive_one_round_for_readers(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    for i in range(3):
        store.append(_events([f"e{i}"], [f"2014-01-0{i + 1}"]))
    old_files = store.files()
    first = store.compact()
    assert first["orphans_removed"] == 0 and all(Path(f).exists() for f in old_files)
    second = store.compact()
    assert second["orphans_removed"] == 3 and not any(Path(f).exists() for f in old_files)
    assert len(store.read()) == 3


@pytest.mark.parametrize("bad", ["../../escape", "a/b", "", ".hidden", "x" * 200])
def test_batch_ids_that_are_not_safe_file_name_parts_are_refused(tmp_path: Path, bad: str) -> None:
    store = Store(tmp_path / "store")
    with pytest.raises(UsageError, match="batch id cannot be used"):
        store.append(_events(["a"], ["2014-01-01"]), batch_id=bad)
    assert not list(tmp_path.rglob("*.parquet"))


# --------------------------------------------------------------------------- orphans go to the trash


def test_compact_moves_only_the_stores_own_orphans_to_a_dated_trash(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    root = tmp_path / "store"
    store = Store(root)
    store.append(_events(["a"], ["2014-01-01"]))
    with pytest.raises(RuntimeError):
        with store.batch() as tx:
            tx.append(_events(["b"], ["2014-01-02"]))
            tx._flush("2014-01")
            raise RuntimeError("killed before the commit")
    orphan = next(p for p in (root / "data").rglob("*.parquet") if str(p.relative_to(root)) not in
                  {f["path"] for f in store.manifest["files"]})
    # not the store's naming scheme, or not in its partition folders: never touched
    foreign = [root / "data" / "notes.txt", root / "data" / "month=2014-01" / "by-hand.parquet",
               root / "data" / "other" / "x-0123456789ab.parquet", root / "mine.parquet"]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"someone's file")
    out = store.compact()
    today = datetime.now(timezone.utc).date().isoformat()
    assert out["orphans_removed"] == 1 and out["trash"].endswith(f"trash/{today}")
    trashed = root / "trash" / today / orphan.relative_to(root)
    assert trashed.is_file() and not orphan.exists()
    assert all(p.read_bytes() == b"someone's file" for p in foreign)
    assert store.read()["event_id"].tolist() == ["a"] and _identity(store)
    # kept for the retention period, then deleted by a later compact; --empty-trash deletes it at once
    assert store.compact()["trash_files_deleted"] == 0 and trashed.is_file()
    assert store.compact(empty_trash=True)["trash_files_deleted"] == 1 and not trashed.exists()
    assert all(p.read_bytes() == b"someone's file" for p in foreign)


def test_trash_older_than_the_retention_period_is_deleted_and_nothing_else(tmp_path: Path) -> None:
    from tension.store import TRASH_RETENTION_DAYS

    root = tmp_path / "store"
    store = Store(root)
    store.append(_events(["a"], ["2014-01-01"]))
    old = root / "trash" / "2000-01-01"
    expired = old / "data" / "month=2014-01" / "20000101T000000Z-abcdef-0123456789ab.parquet"
    kept_by_hand = old / "README.txt"
    recent = root / "trash" / "2999-01-01" / "quarantine" / "b-0123456789ab.parquet"
    for path in (expired, kept_by_hand, recent):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    out = store.compact()
    assert out["trash_files_deleted"] == 1 and out["trash_retention_days"] == TRASH_RETENTION_DAYS == 30
    assert not expired.exists() and kept_by_hand.exists() and recent.exists()


def test_stores_written_before_the_marker_are_recognised_and_gain_it_at_the_next_commit(tmp_path: Path) -> None:
    from tension.store import STORE_MARKER

    root = tmp_path / "store"
    store = Store(root)
    store.append(_events(["a"], ["2014-01-01"]))
    for path in (root / "_manifests").glob("manifest-*.json"):  # as the previous version wrote them
        data = json.loads(path.read_text())
        del data["store"]
        path.write_text(json.dumps(data))
    assert store.identify()["kind"] == "store"
    assert store.compact()["files_after"] == 1
    store.append(_events(["b"], ["2014-01-02"]))
    assert store.manifest["store"] == STORE_MARKER and store.read()["event_id"].tolist() == ["a", "b"]


# --------------------------------------------------------------------------- dates pandas cannot hold


def test_a_year_1000_row_from_an_older_version_is_left_out_of_reads_with_a_count(tmp_path: Path) -> None:
    import pyarrow as pa

    from tension.schema import EVENT_SCHEMA, events_to_arrow
    from tension.store import OutOfRangeDatesWarning

    store = Store(tmp_path / "store")
    good = store.append(_events(["a", "b"], ["2014-01-01", "2014-01-02"]))
    # an older version stored this: the row reaches the store as Arrow, where year 1000 is a valid date32
    old = events_to_arrow(_events(["x", "y"], ["2014-01-03", "2014-01-04"]))
    dates = pa.array([pd.Timestamp("2014-01-03").date(), __import__("datetime").date(1000, 1, 1)], pa.date32())
    old = old.set_column(EVENT_SCHEMA.get_field_index("date"), "date", dates)
    bad = store.append(old)
    assert bad.stored == 2
    with pytest.warns(OutOfRangeDatesWarning, match="1 stored event"):
        frame = store.read()
    assert frame["event_id"].tolist() == ["a", "b", "x"]
    with pytest.warns(OutOfRangeDatesWarning):
        assert store.read(columns=["event_id"])["event_id"].tolist() == ["a", "b", "x"]
    summary = store.summary()
    assert summary["out_of_range_events"] == 1 and summary["events"] == 4 and _identity(store)
    store.retract(bad.batch_id)  # the remedy the warning names
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfRangeDatesWarning)
        assert store.read()["event_id"].tolist() == ["a", "b"]
    assert store.summary()["out_of_range_events"] == 0 and good.stored == 2


def test_a_first_ingest_killed_before_its_commit_can_be_rerun_but_a_foreign_folder_is_not_written(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = Store(root)
    with pytest.raises(RuntimeError):
        with store.batch() as tx:
            tx.append(_events(["a"], ["2014-01-01"]))
            tx._flush("2014-01")
            raise RuntimeError("killed before the first commit")
    assert store.identify()["kind"] == "empty"  # only its own uncommitted files
    with pytest.raises(UsageError, match="Cannot compact"):
        store.compact()
    assert store.append(_events(["a"], ["2014-01-01"])).stored == 1
    foreign = tmp_path / "project"
    (foreign / "notes").mkdir(parents=True)
    (foreign / "notes" / "todo.txt").write_text("x")
    with pytest.raises(UsageError, match="Cannot write events: .* is not a tension event store"):
        Store(foreign).append(_events(["a"], ["2014-01-01"]))
    assert sorted(p.name for p in foreign.rglob("*")) == ["notes", "todo.txt"]
