"""Texts to code: ``.txt`` files (optional ``key: value`` header lines, then the body), ``.jsonl``
files (one object per text with ``id`` and ``text``, optional ``published``, ``url``, ``title``)
and folders of such files. Bad input raises :class:`tension.errors.UsageError` (exit 2)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import UsageError, problem

__all__ = ["Text", "read_texts", "parse_published", "SUFFIXES"]

SUFFIXES = (".txt", ".jsonl")
_HEADER = re.compile(r"^(url|title|published|id)\s*:\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Text:
    """One text to code; ``first_line`` is the file line where the body starts (for ``source_ref``)."""

    id: str
    body: str
    published: date | None = None
    url: str = ""
    title: str = ""
    path: str = ""
    first_line: int = 1


def parse_published(value: object, where: str) -> date:
    """An ISO date (``2025-07-03`` or a timestamp starting with it) -> date; else a clear UsageError."""
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise UsageError(problem(f"The publication date in {where} is not a date.", "an ISO date such as 2025-07-03",
                                 text, "Write the date as YYYY-MM-DD (or pass --published).")) from None


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise UsageError(problem(f"{path} is empty.", "a text file with at least one sentence", "0 bytes of text",
                                 "Pass a file that contains the article text."))
    if b"\x00" in data[:4096]:
        raise UsageError(problem(f"{path} looks binary, not text.", "a UTF-8 .txt or .jsonl file", "NUL bytes",
                                 "Convert the document to plain UTF-8 text first (e.g. pdftotext)."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(problem(f"{path} is not UTF-8 text (byte {exc.start}).", "UTF-8", exc.reason,
                                 "Re-encode the file, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8.txt.")) from None


def _read_txt(path: Path) -> list[Text]:
    lines = _decode(path).splitlines()
    meta: dict[str, str] = {}
    body_start = 0
    for i, line in enumerate(lines):
        if not line.strip():
            if meta:
                body_start = i + 1
            break
        m = _HEADER.match(line.strip())
        if not m:
            meta = {}
            break
        meta[m.group(1).lower()] = m.group(2).strip()
    else:
        body_start = len(lines) if meta else 0
    body = "\n".join(lines[body_start:]).strip()
    if not body:
        raise UsageError(problem(f"{path} has a header but no text.", "a blank line after the header, then the article",
                                 f"{len(lines)} lines", "Add the article body after the header lines."))
    published = parse_published(meta["published"], str(path)) if meta.get("published") else None
    return [Text(meta.get("id") or path.name, body, published, meta.get("url", ""), meta.get("title", ""), str(path), body_start + 1)]


def _read_jsonl(path: Path) -> list[Text]:
    out = []
    for n, line in enumerate(_decode(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(problem(f"{path}:{n} is not valid JSON ({exc.msg}).", "one JSON object per line",
                                     line[:80], "Fix or remove that line.")) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
            raise UsageError(problem(f"{path}:{n} has no 'text'.", "an object with a non-empty \"text\" field",
                                     got, 'Write each line as {"id": "...", "text": "...", "published": "YYYY-MM-DD"}.'))
        published = parse_published(obj["published"], f"{path}:{n}") if obj.get("published") else None
        out.append(Text(str(obj.get("id") or f"{path.name}:{n}"), obj["text"].strip(), published,
                        str(obj.get("url") or ""), str(obj.get("title") or ""), str(path), n))
    if not out:
        raise UsageError(problem(f"{path} has no texts.", "at least one JSON line with \"text\"", "only blank lines",
                                 "Add one object per article."))
    return out


def read_texts(paths: list[str | Path]) -> list[Text]:
    """Every text in the given files and folders (folders: their .txt and .jsonl files, sorted)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
            if not inside:
                raise UsageError(problem(f"The folder {p} has no .txt or .jsonl files.", "texts to code", "none",
                                         "Put article files (.txt, .jsonl) in it or pass the files themselves."))
            files.extend(inside)
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                raise UsageError(problem(f"{p} is not a .txt or .jsonl file.", ", ".join(SUFFIXES), p.suffix or "(no suffix)",
                                         "Save the article as plain text (.txt) or JSON Lines (.jsonl)."))
            files.append(p)
        else:
            raise UsageError(problem(f"{p} does not exist.", "a file or folder", str(p), "Check the path."))
    texts: list[Text] = []
    for f in files:
        texts.extend(_read_jsonl(f) if f.suffix.lower() == ".jsonl" else _read_txt(f))
    return texts
