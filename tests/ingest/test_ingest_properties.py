"""Malformed input, generated: the counting identity and the quarantine reasons always hold."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tension.ingest import ingest, read_events
from tension.ingest.text import delimited_rows
from tension.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
ACTORS = ["Armenia", "Azerbaijan", "Government (Russia)", "Citizen (Georgia)", "Wholly Unknown Actor"]
EVENTS = ["Accuse", "Make statement", "Use conventional military force", "Consult"]
DATES = ["2014-01-01", "2014-02-28", "2014-06-14", "2015-12-31"]

good_row = st.tuples(
    st.just("good"), st.sampled_from(ACTORS), st.sampled_from(EVENTS), st.sampled_from(ACTORS), st.sampled_from(DATES), st.booleans()
)
bad_row = st.sampled_from(
    [
        ("wrong_column_count", "Armenia\tAccuse\tAzerbaijan"),
        ("wrong_column_count", "Armenia\tAccuse\tAzerbaijan\t2014-01-01\textra"),
        ("bad_date", "Armenia\tAccuse\tAzerbaijan\t2014-02-30"),
        ("bad_date", "Armenia\tAccuse\tAzerbaijan\tyesterday"),
        ("bad_date", "Armenia\tAccuse\tAzerbaijan\t2999-01-01"),
        ("unknown_event_code", "Armenia\tInvent a new verb\tAzerbaijan\t2014-01-01"),
        ("empty_actor", "\tAccuse\tAzerbaijan\t2014-01-01"),
        ("empty_actor", "Armenia\tAccuse\t  \t2014-01-01"),
        ("bad_encoding", b"Armenia\tAccuse\t\xc3\x28Baku\t2014-01-01".decode("latin-1")),
        ("blank", ""),
    ]
)


def _write(rows: list[tuple], path: Path) -> tuple[dict[int, str], int, set[tuple[str, ...]]]:
    """Write rows; return expected {line: reason}, records, distinct good events."""
    expected: dict[int, str] = {}
    distinct: set[tuple[str, ...]] = set()
    records = 0
    out = bytearray()
    for line, row in enumerate(rows, start=1):
        if row[0] == "good":
            _, s, e, t, d, underscores = row
            text = "\t".join([s, e, t, d])
            if underscores:
                text = text.replace(" ", "_")
            distinct.add((s, e, t, d))
            records += 1
            out += text.encode("utf-8") + b"\n"
        else:
            reason, text = row
            if reason != "blank":
                expected[line] = reason
                records += 1
            out += text.encode("latin-1") + b"\n"
    path.write_bytes(bytes(out))
    return expected, records, distinct


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.one_of(good_row, bad_row), min_size=1, max_size=40), retract_first=st.booleans())
def test_identity_and_reasons_hold_for_malformed_files(rows: list[tuple], retract_first: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kg.txt"
        expected, records, distinct = _write(rows, path)
        store = Store(Path(tmp) / "store")
        first = ingest([path], store, format="icews-kg")
        t = first.total
        assert t.read == records == t.stored + t.duplicates + t.quarantined
        assert t.stored == len(distinct)
        quarantine = store.quarantine()
        assert dict(zip(quarantine["source_line"].astype(int), quarantine["reason"])) == expected
        assert t.quarantined_by_reason == {r: list(expected.values()).count(r) for r in set(expected.values())}
        # a second delivery of the same file stores nothing; compact and retract keep the identity
        second = ingest([path], store, format="icews-kg")
        assert second.total.stored == 0 and second.total.duplicates == records - len(expected)
        store.compact()
        store.retract(first.batch_id if retract_first else second.batch_id)
        summary = store.summary()
        assert summary["identity_holds"]
        assert summary["events"] == (0 if retract_first else len(distinct))
        assert summary["read"] == summary["stored"] + summary["duplicates"] + summary["quarantined"]


@settings(max_examples=20, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=400))
def test_block_boundaries_do_not_change_rows_or_line_numbers(chunk: int) -> None:
    data = (FIXTURES / "icews14_kg.txt").read_bytes()
    whole = list(delimited_rows(io.BytesIO(data), "\t", expected=lambda n: n == 4, width=4))
    parts = list(delimited_rows(io.BytesIO(data), "\t", expected=lambda n: n == 4, width=4, chunk_bytes=chunk))

    def flat(blocks: list) -> tuple[list[int], list[tuple], int]:
        lines = [int(x) for b in blocks for x in b.line]
        bad = sorted(x for b in blocks for x in b.bad)
        return lines, bad, sum(b.records for b in blocks)

    assert flat(parts) == flat(whole)
    assert flat(whole)[2] == 11


def test_crlf_line_endings_read_like_lf(tmp_path: Path) -> None:
    data = (FIXTURES / "gdelt2.export.CSV").read_bytes()
    crlf = tmp_path / "crlf.export.CSV"
    crlf.write_bytes(data.replace(b"\n", b"\r\n"))
    a, b = read_events(FIXTURES / "gdelt2.export.CSV"), read_events(crlf)
    cols = ["event_id", "source_actor", "source_ref", "source_line"]
    assert a.events[cols].equals(b.events[cols])
    assert a.quarantine[["source_line", "reason"]].equals(b.quarantine[["source_line", "reason"]])
    assert not np.any(b.events["source_ref"].str.endswith("\r").fillna(False))


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=__import__("datetime").date(1000, 1, 1), max_value=__import__("datetime").date(9999, 12, 31)))
def test_date_parsing_agrees_with_the_calendar(day) -> None:  # noqa: ANN001
    import pyarrow as pa

    from tension.ingest.validate import DATE_COMPACT, DATE_DAY_MONTH_NAME, DATE_ISO, DATE_US, parse_dates

    texts = [day.isoformat(), day.strftime("%Y%m%d"), f"{day.month}/{day.day}/{day.year:04d}", f"{day.day} {day.strftime('%B')} {day.year:04d}"]
    got = parse_dates(pa.array(texts), [DATE_ISO, DATE_COMPACT, DATE_US, DATE_DAY_MONTH_NAME])
    assert [str(g) for g in got] == [day.isoformat()] * 4
    # the day after the month's last day is never rolled over
    bad = f"{day.year:04d}-{day.month:02d}-{32 if day.month != 2 else 30}"
    assert str(parse_dates(pa.array([bad]), [DATE_ISO])[0]) == "NaT"


LINES = [b"", b"\r", b"ab\tc", b"\rx", b"\r\r", b"\r\r\r", b"c\rd", b"q\tr", b" "]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=30), first=st.integers(1, 1000))
def test_cutting_blank_lines_keeps_every_record_at_its_physical_line(lines: list[bytes], first: int) -> None:
    from tension.ingest.text import drop_blank_lines

    data = b"".join(line + b"\n" for line in lines)
    compact, line_of, n = drop_blank_lines(data, first)
    assert n == len(lines)
    kept = compact.split(b"\n")[:-1]
    at = [int(x) - first for x in line_of(np.arange(len(kept)))]
    assert [lines[i] for i in at] == kept, "a kept line maps to another physical line"
    assert {i for i, line in enumerate(lines) if line not in (b"", b"\r")} <= set(at), "a record was cut"
    assert not {b"", b"\r"} & set(kept), "a blank line was left in"


@settings(max_examples=30, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=300), cr_at=st.integers(0, 9), blanks=st.integers(0, 40))
def test_blank_runs_and_stray_crs_read_the_same_at_any_block_size(chunk: int, cr_at: int, blanks: int) -> None:
    lines = (FIXTURES / "icews14_kg.txt").read_bytes().split(b"\n")[:-1]
    lines[cr_at] = lines[cr_at][:3] + b"\r" + lines[cr_at][3:]  # line 11 (index 10) is refused for its encoding first
    data = b"".join(line + b"\n" + b"\n" * (blanks if i % 3 == 0 else 0) for i, line in enumerate(lines))
    whole = list(delimited_rows(io.BytesIO(data), "\t", expected=lambda n: n == 4, width=4))
    parts = list(delimited_rows(io.BytesIO(data), "\t", expected=lambda n: n == 4, width=4, chunk_bytes=chunk))

    def flat(blocks: list) -> tuple[list[int], list[tuple], int]:
        return [int(x) for b in blocks for x in b.line], sorted(x for b in blocks for x in b.bad), sum(b.records for b in blocks)

    assert flat(parts) == flat(whole)
    assert flat(whole)[2] == 11
    physical = {k + 1 for k, ln in enumerate(data.split(b"\n")) if ln}
    lines_seen = flat(whole)[0] + [b[0] for b in flat(whole)[1]]
    assert sorted(lines_seen) == sorted(physical)
    assert any(b[1] == "stray_carriage_return" for b in flat(whole)[1])
