"""A standing fuzz suite for every reader: byte-level faults never cost more than their own lines.

Hypothesis takes a clean file of one format and damages its bytes: carriage returns and NUL
bytes at any position, runs of blank lines (LF or CRLF), a stray double quote, a huge field,
a cut-off end, dates far in the past or future, and wrong or broken compression (.gz, .bz2,
.zip: truncated, or plain text under a compressed name). Each damaged file goes through the
real ``tension ingest --json`` command (in-process) and must give:

- exit 0 with ``read == stored + duplicates + quarantined`` and ``read`` equal to the records
  in the file counted here, independently of the readers (a record is a physical line that is
  not blank, once faults have been applied; header lines excluded);
- or, only for a damaged compressed file, exit 2 with a JSON error naming the file and nothing
  committed;
- never exit 1, and a store that still reads with every stored date in the valid range.

Memory is bounded by the records, not the lines: a subprocess ingests blank-line bombs and
reports its own peak resident memory (``VmHWM``; see :data:`CHILD`).
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_bad_input import EXT, FORMATS, HEADERS, Row, build_file

QUOTED = ("acled", "csv")

# --------------------------------------------------------------------------- clean files


def clean_file(fmt: str, n: int) -> tuple[bytes, bytes]:
    """(header line with its LF, or b"", body) of a clean file of ``n`` rows without quotes or commas in fields."""
    raw, _, _ = build_file(fmt, [Row(i, "ok", f"headline {i} ÄÖ") for i in range(n)], truncate=None)
    if fmt in HEADERS:
        head, body = raw.split(b"\n", 1)
        return head + b"\n", body
    return b"", raw


def _date(i: int, fmt: str) -> bytes:
    text = (pd.Timestamp("2014-01-01") + pd.Timedelta(days=i)).strftime("%Y-%m-%d")
    return (text.replace("-", "") if fmt in ("gdelt1", "gdelt2") else text).encode()


TODAY = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
ODD_DATES = ("1000-01-01", "1677-09-21", "1899-12-31", "1900-01-01", "2262-04-12", "9999-12-31",
             (TODAY + pd.Timedelta(days=1)).strftime("%Y-%m-%d"), (TODAY + pd.Timedelta(days=2)).strftime("%Y-%m-%d"))

# --------------------------------------------------------------------------- byte-level faults

FAULTS = ("cr", "nul", "blank_lf", "blank_crlf", "quote", "huge", "date")


@st.composite
def damaged_body(draw: st.DrawFn, fmt: str) -> bytes:
    """A clean body with 1-4 faults applied at positions hypothesis chooses, maybe cut short."""
    n = draw(st.integers(3, 10))
    _, body = clean_file(fmt, n)
    for _ in range(draw(st.integers(1, 4))):
        fault = draw(st.sampled_from(FAULTS))
        at = draw(st.integers(0, len(body)))
        if fault == "cr":
            body = body[:at] + b"\r" + body[at:]
        elif fault == "nul":
            body = body[:at] + b"\x00" + body[at:]
        elif fault in ("blank_lf", "blank_crlf"):
            at = body.rfind(b"\n", 0, at) + 1  # at a line start: the blank lines sit between records
            run = draw(st.sampled_from([1, 2, 50, 20_000]))
            body = body[:at] + (b"\n" if fault == "blank_lf" else b"\r\n") * run + body[at:]
        elif fault == "quote" and body.count(b'"') == 0:
            body = body[:at] + b'"' + body[at:]
        elif fault == "huge":
            body = body[:at] + b"A" * draw(st.sampled_from([70_000, 2_000_000])) + body[at:]
        elif fault == "date":
            i = draw(st.integers(0, n - 1))
            new = draw(st.sampled_from(ODD_DATES))
            body = body.replace(_date(i, fmt), new.replace("-", "").encode() if fmt in ("gdelt1", "gdelt2") else new.encode(), 1)
    if draw(st.booleans()):
        body = body[: draw(st.integers(1, len(body)))]
    return body


def count_records(fmt: str, body: bytes) -> int:
    """Records in a body, counted without the readers: physical lines (split on LF) that are not blank.

    Blank means empty or a lone CR before the LF; for JSON Lines and quoted CSV (where the
    csv module reads a CR as a line break) a line of white space only is blank too.
    """
    count = 0
    for line in body.split(b"\n"):
        if fmt == "jsonl" or fmt in QUOTED:
            count += bool(line.strip())
        else:
            count += bool(line[:-1] if line.endswith(b"\r") else line)
    return count


# --------------------------------------------------------------------------- compression

COMPRESSION = ("none", "gz", "bz2", "zip", "truncated.gz", "truncated.bz2", "truncated.zip", "plain.gz", "plain.zip")


def pack(data: bytes, how: str, name: str) -> tuple[bytes, str]:
    """File bytes and suffix for ``data`` stored as ``how``."""
    kind = how.split(".")[-1]
    if how == "none":
        return data, ""
    if how.startswith("plain."):
        return data, "." + kind
    if kind == "gz":
        packed = gzip.compress(data)
    elif kind == "bz2":
        packed = bz2.compress(data)
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name, data)
        packed = buf.getvalue()
    if how.startswith("truncated."):
        packed = packed[: max(1, len(packed) // 2)]
    return packed, "." + kind


# --------------------------------------------------------------------------- the check


def check(fmt: str, body: bytes, how: str, tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tension.cli import main
    from tension.store import Store

    head, _ = clean_file(fmt, 1)
    data = head + body
    name = f"events.{EXT[fmt]}"
    packed, suffix = pack(data, how, name)
    path = tmp / (name + suffix)
    path.write_bytes(packed)
    store_dir = tmp / "store"
    capsys.readouterr()
    code = main(["ingest", str(path), "--format", fmt, "--store", str(store_dir), "--json"])
    out, err = capsys.readouterr()
    assert code in (0, 2), (code, err[-2000:])
    payload = json.loads(out)
    damaged = how.startswith(("truncated.", "plain."))
    if code == 2:
        assert damaged, f"exit 2 on an intact file: {payload}"
        assert str(path) in payload["error"] and payload["committed"] is False
        assert not (store_dir / "manifests").exists() or Store(store_dir).summary()["events"] == 0
        return
    # a truncated stream can only pass if what is left still decompresses (never the case here)
    assert not damaged, f"a damaged {how} file was read: {payload['total']}"
    total = payload["total"]
    assert total["read"] == count_records(fmt, body), "records were lost or invented while reading"
    assert total["read"] == total["stored"] + total["duplicates"] + total["quarantined"]
    store = Store(store_dir)
    events = store.read()  # never fails on a stored date
    assert len(events) == total["stored"]
    if len(events):
        assert events["date"].min() >= pd.Timestamp("1900-01-01")
        assert events["date"].max() <= TODAY + pd.Timedelta(days=1)


def _fuzz(fmt: str, examples: int, capsys: pytest.CaptureFixture[str]) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=damaged_body(fmt), how=st.sampled_from(COMPRESSION))
    def one(body: bytes, how: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            check(fmt, body, how, Path(tmp), capsys)

    one()


@pytest.mark.parametrize("fmt", FORMATS)
def test_byte_faults_cost_only_their_own_lines(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    _fuzz(fmt, 8, capsys)


@pytest.mark.heavy
@pytest.mark.parametrize("fmt", FORMATS)
def test_byte_faults_cost_only_their_own_lines_many_examples(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    _fuzz(fmt, 80, capsys)


# --------------------------------------------------------------------------- blank-line bombs, measured in a child

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from tension.ingest import ingest
    report = ingest([sys.argv[1]], sys.argv[2], format=sys.argv[3])
    t = report.total
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    print(json.dumps({"read": t.read, "stored": t.stored, "quarantined": t.quarantined,
                      "peak_mb": int(status["VmHWM"].split()[0]) / 1024,
                      "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)
"""Runs in a fresh interpreter and reports its own peak resident memory. ``VmHWM`` is the peak of
this process image alone; Linux's ``ru_maxrss`` also carries the resident size of the process that
forked it (pytest, hundreds of MB late in a run) across ``exec``, so it is reported, not asserted."""
PEAK_MB = 300
"""The issue's bound for 20 rows in 5 million blank lines (the interpreter and libraries included)."""


def bomb(fmt: str, blank_lines: int, rows: int = 20) -> bytes:
    """``rows`` clean records with ``blank_lines`` blank lines spread between them."""
    head, body = clean_file(fmt, rows)
    lines = body.split(b"\n")[:-1]
    gap = b"\n" * (blank_lines // rows)
    return head + b"".join(line + b"\n" + gap for line in lines)


@pytest.mark.parametrize("fmt,blank_lines,compressed", [
    ("gdelt2", 5_000_000, False),
    ("gdelt2", 50_000_000, True),
    ("icews", 5_000_000, False),
    ("icews-kg", 50_000_000, True),
    ("csv", 5_000_000, False),
    ("jsonl", 5_000_000, False),
], ids=["gdelt2-5M", "gdelt2-50M.gz", "icews-5M", "icews-kg-50M.gz", "csv-5M", "jsonl-5M"])
def test_a_blank_line_bomb_stays_within_memory_bounded_by_its_records(
    fmt: str, blank_lines: int, compressed: bool, tmp_path: Path
) -> None:
    data = bomb(fmt, blank_lines)
    path = tmp_path / (f"bomb.{EXT[fmt]}" + (".gz" if compressed else ""))
    path.write_bytes(gzip.compress(data, 6) if compressed else data)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(tmp_path / "store"), fmt],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert (out["read"], out["stored"], out["quarantined"]) == (20, 20, 0), out
    assert out["peak_mb"] < PEAK_MB, f"peak {out['peak_mb']:.0f} MB for 20 rows in {blank_lines:,} blank lines"
