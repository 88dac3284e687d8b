"""Guess a file's format from its name and first lines, and say why when it cannot.

Rules, first match wins (only the first 64 KiB are read):

1. ``.jsonl``/``.ndjson``, or a first line that is a JSON object -> ``jsonl``;
2. a tab-separated header with ``Event ID``, ``Event Date``, ``Source Name`` -> ``icews``;
3. a tab-separated header with ``Event ID``, ``Event Type``, ``Actor Name`` -> ``polecat``;
4. a comma-separated header with ``event_id_cnty``, ``event_date``, ``actor1`` -> ``acled``;
5. no header, tab-separated, first field numeric and second YYYYMMDD: most lines with 61
   fields -> ``gdelt2``, with 57 or 58 -> ``gdelt1``;
6. no header, most lines with four tab-separated fields, the first ending in a
   YYYY-MM-DD date -> ``icews-kg``;
7. a comma-separated header containing ``date`` and ``source_actor`` (or the mapped
   names) -> ``csv``.
"""
from __future__ import annotations

import re
from collections import Counter

from ..config import CsvMapping
from ..errors import UsageError, problem

FORMATS: tuple[str, ...] = ("auto", "icews", "icews-kg", "gdelt1", "gdelt2", "acled", "polecat", "csv", "jsonl")
"""Values of ``--format``."""

HEAD_BYTES = 64 * 1024

_YYYYMMDD = re.compile(r"^\d{8}$")
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def _lines(head: bytes) -> list[str]:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    if len(lines) > 1 and not head.endswith(b"\n"):
        lines = lines[:-1]  # last line may be cut off
    return [ln for ln in lines if ln.strip()][:20]


def _cells(line: str, sep: str) -> list[str]:
    return [c.strip().strip('"').strip() for c in line.split(sep)]


def detect_format(head: bytes, name: str = "", mapping: CsvMapping | None = None) -> str:
    """The ``--format`` value for a file whose first bytes are ``head``.

    Raises
    ------
    UsageError
        When no rule matches, listing what was seen and the ``--format`` values.
    """
    lower = name.lower()
    for ext in (".gz", ".bz2", ".xz", ".zst", ".zip"):
        if lower.endswith(ext):
            lower = lower[: -len(ext)]
    lines = _lines(head)
    if lower.endswith((".jsonl", ".ndjson")) or (lines and lines[0].lstrip().startswith("{")):
        return "jsonl"
    if not lines:
        raise UsageError(problem(f"Cannot detect the format of {name!r}: the file is empty.", "event records", "no lines", "Check the file, or pass --format."))
    first = lines[0]
    tabs = _cells(first, "\t")
    commas = _cells(first, ",")
    tab_header = {c.lower() for c in tabs}
    comma_header = {c.lower() for c in commas}
    if {"event id", "event date", "source name"} <= tab_header:
        return "icews"
    if {"event id", "event type", "actor name"} <= tab_header:
        return "polecat"
    if {"event_id_cnty", "event_date", "actor1"} <= comma_header:
        return "acled"
    counts = Counter(len(_cells(ln, "\t")) for ln in lines)
    widths = sorted(counts)
    usual = counts.most_common(1)[0][0]  # one malformed line must not hide the format
    if len(tabs) > 2 and tabs[0].isdigit() and _YYYYMMDD.match(tabs[1] or ""):
        if usual == 61:
            return "gdelt2"
        if usual in (57, 58):
            return "gdelt1"
    if usual == 4 and len(tabs) == 4 and _ISO.match(tabs[3]):
        return "icews-kg"
    m = mapping or CsvMapping()
    if m.date.lower() in comma_header and m.source_actor.lower() in comma_header:
        return "csv"
    seen = first if len(first) <= 160 else first[:157] + "..."
    raise UsageError(
        f"Cannot detect the format of {name!r}. "
        f"Saw a first line of {len(tabs)} tab-separated / {len(commas)} comma-separated fields "
        f"(field counts per line with tabs: {widths[:6]}): {seen!r}. "
        "Expected an ICEWS or POLECAT header (tabs), an ACLED header (commas), GDELT rows "
        "(57, 58 or 61 tab-separated fields, no header), ICEWS-KG lines (4 tab-separated fields "
        "ending in a date), or a CSV whose header has the mapped date and source_actor columns. "
        f"Pass --format with one of: {', '.join(FORMATS[1:])}."
    )
