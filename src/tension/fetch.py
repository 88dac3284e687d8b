"""Download new files of a public file feed (GDELT 2.0 exports) into an inbox folder.

The feed publishes a master file list, one line per file: ``size md5 url``. :func:`fetch`
reads it, keeps the export files stamped on or after ``since``, and downloads each file
not fetched before:

1. the bytes go to ``<name>.part``; an interrupted download resumes from there with an
   HTTP ``Range`` request (a server that ignores Range restarts the file);
2. size and MD5 are checked against the list; a mismatch is refused (the part file is
   deleted, the file reported under ``failed``) and the file is never renamed into place;
3. a good file is renamed to ``<name>`` and recorded in ``<inbox>/.fetch-state.json``, so
   it is never fetched twice.

The inbox is what ``tension ingest`` / ``tension retrain`` read; files starting with a dot
and ``*.part`` files are not data.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .errors import LockHeldError, UsageError, did_you_mean, problem

__all__ = ["Feed", "FEEDS", "ListedFile", "FetchReport", "parse_file_list", "select_files", "fetch",
           "inbox_files", "STATE_FILE"]

STATE_FILE = ".fetch-state.json"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Feed:
    """A public file feed: where its master list is and which listed files are event exports."""

    name: str
    list_url: str
    pattern: str
    """Regular expression on the file URL; group 1 is the ``YYYYMMDD...`` time stamp."""
    format: str = "auto"
    """The ``--format`` of the downloaded files for ``tension ingest``."""


FEEDS: dict[str, Feed] = {
    "gdelt2": Feed("gdelt2", "http://data.gdeltproject.org/gdeltv2/masterfilelist.txt",
                   r"/(\d{14})\.export\.CSV\.zip$", "gdelt2"),
    "gdelt2-translation": Feed("gdelt2-translation",
                               "http://data.gdeltproject.org/gdeltv2/masterfilelist-translation.txt",
                               r"/(\d{14})\.translation\.export\.CSV\.zip$", "gdelt2"),
}


@dataclass(frozen=True)
class ListedFile:
    """One line of a master file list."""

    url: str
    size: int
    md5: str
    stamp: date

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass
class FetchReport:
    """What :func:`fetch` did. ``failed`` holds ``{"name", "url", "reason"}`` dicts."""

    source: str
    list_url: str
    listed: int = 0
    bad_lines: int = 0
    selected: int = 0
    downloaded: list[str] = field(default_factory=list)
    already: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    bytes: int = 0
    resumed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def get_feed(source: str, list_url: str | None = None) -> Feed:
    """The feed named ``source`` (with its list URL replaced by ``list_url`` if given)."""
    if source not in FEEDS:
        raise UsageError(problem(f"Unknown feed {source!r}.{did_you_mean(source, FEEDS)}",
                                 f"one of {', '.join(FEEDS)}", fix="Run `tension fetch --help`."))
    feed = FEEDS[source]
    return Feed(feed.name, list_url, feed.pattern, feed.format) if list_url else feed


def parse_file_list(text: str, feed: Feed) -> tuple[list[ListedFile], int]:
    """Parse ``size md5 url`` lines; return the feed's export files and the count of malformed lines."""
    pattern = re.compile(feed.pattern)
    files: list[ListedFile] = []
    bad = 0
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or not parts[0].isdigit() or not re.fullmatch(r"[0-9a-fA-F]{32}", parts[1]):
            bad += 1
            continue
        m = pattern.search(parts[2])
        if not m:
            continue
        stamp = m.group(1)
        try:
            day = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))
        except ValueError:
            bad += 1
            continue
        files.append(ListedFile(url=parts[2], size=int(parts[0]), md5=parts[1].lower(), stamp=day))
    return files, bad


def select_files(files: list[ListedFile], since: date, until: date | None = None) -> list[ListedFile]:
    """Files stamped in ``[since, until]`` (inclusive), oldest first, one per name."""
    seen: dict[str, ListedFile] = {}
    for f in files:
        if f.stamp >= since and (until is None or f.stamp <= until):
            seen[f.name] = f
    return sorted(seen.values(), key=lambda f: (f.stamp, f.name))


def inbox_files(inbox: str | os.PathLike[str]) -> list[Path]:
    """Data files in an inbox: not hidden, not ``*.part``, sorted by name."""
    root = Path(inbox)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".part"))


def _read_state(inbox: Path) -> dict[str, Any]:
    path = inbox / STATE_FILE
    if not path.is_file():
        return {"files": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise UsageError(problem(f"The fetch state file {path} is damaged.", "JSON",
                                 fix="Delete it: files already in the inbox are re-checked by checksum, not refetched.")) from None


def _write_state(inbox: Path, state: dict[str, Any]) -> None:
    tmp = inbox / f"{STATE_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, inbox / STATE_FILE)


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _get(url: str, timeout: float, headers: dict[str, str] | None = None) -> Any:
    if not url.startswith(("http://", "https://", "file://")):
        raise UsageError(problem("The list URL is not an http(s) or file URL.", "http://... or https://...", got=url))
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout)  # noqa: S310


def _download(item: ListedFile, part: Path, timeout: float) -> tuple[int, bool]:
    """Fill ``part`` up to ``item.size`` bytes (resuming with Range); return (bytes received, resumed)."""
    have = part.stat().st_size if part.exists() else 0
    if have > item.size:
        part.unlink()
        have = 0
    if have == item.size:
        return 0, False
    headers = {"Range": f"bytes={have}-"} if have else {}
    received = 0
    with _get(item.url, timeout, headers) as response:
        resumed = bool(have) and getattr(response, "status", 200) == 206
        mode = "ab" if resumed else "wb"
        with open(part, mode) as out:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                received += len(chunk)
    return received, resumed


def fetch(
    source: str,
    since: date | str,
    inbox: str | os.PathLike[str],
    *,
    list_url: str | None = None,
    until: date | str | None = None,
    timeout: float = 60.0,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> FetchReport:
    """Download the feed's new files since ``since`` into ``inbox``; see the module docstring.

    Parameters
    ----------
    source
        A key of :data:`FEEDS` (``gdelt2``).
    since, until
        First and last day (inclusive, ISO strings or dates) of the files' time stamps.
    list_url
        Replaces the feed's master list URL (a mirror, or a test server).
    on_progress
        Called as ``on_progress(done, total, name)`` after each file.

    Returns
    -------
    FetchReport
        Downloaded names, files already there, and refused/interrupted files with reasons.

    Raises
    ------
    UsageError
        Unknown feed, bad dates, or the list cannot be read.
    LockHeldError
        Another fetch is writing to the same inbox.
    """
    feed = get_feed(source, list_url)
    since_d = _as_date(since, "since")
    until_d = _as_date(until, "until") if until is not None else None
    root = Path(inbox)
    root.mkdir(parents=True, exist_ok=True)
    report = FetchReport(source=feed.name, list_url=feed.list_url)
    try:
        with _get(feed.list_url, timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise UsageError(problem(f"Cannot read the file list {feed.list_url} ({getattr(exc, 'reason', exc)}).",
                                 "a reachable master file list (lines: size md5 url)",
                                 fix="Check the network or pass --list-url.")) from None
    listed, report.bad_lines = parse_file_list(text, feed)
    report.listed = len(listed)
    todo = select_files(listed, since_d, until_d)
    report.selected = len(todo)
    try:
        lock = FileLock(str(root / ".fetch.lock"), timeout=0)
        lock.acquire()
    except Timeout:
        raise LockHeldError(problem(f"Another fetch is writing to {root}.", fix="Wait for it to finish.")) from None
    try:
        state = _read_state(root)
        done = state.setdefault("files", {})
        for i, item in enumerate(todo, 1):
            _fetch_one(item, root, done, report, timeout)
            _write_state(root, state)
            if on_progress is not None:
                on_progress(i, len(todo), item.name)
    finally:
        lock.release()
    return report


def _fetch_one(item: ListedFile, root: Path, done: dict[str, Any], report: FetchReport, timeout: float) -> None:
    target = root / item.name
    record = done.get(item.name)
    if record is not None and record.get("md5") == item.md5 and target.is_file():
        report.already += 1
        return
    if target.is_file() and target.stat().st_size == item.size and _md5(target) == item.md5:
        done[item.name] = _record(item)  # put there by hand or by an older run: checked, kept
        report.already += 1
        return
    part = root / f"{item.name}.part"
    try:
        received, resumed = _download(item, part, timeout)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        got = part.stat().st_size if part.exists() else 0
        report.failed.append({"name": item.name, "url": item.url,
                              "reason": f"interrupted after {got} of {item.size} bytes "
                                        f"({getattr(exc, 'reason', exc)}); run again to resume"})
        return
    report.bytes += received
    report.resumed += int(resumed)
    size = part.stat().st_size
    if size < item.size:  # the connection closed early: keep the part, resume next time
        report.failed.append({"name": item.name, "url": item.url,
                              "reason": f"interrupted after {size} of {item.size} bytes (connection closed early); "
                                        "run again to resume"})
        return
    if size != item.size:
        part.unlink()
        report.failed.append({"name": item.name, "url": item.url,
                              "reason": f"size mismatch: expected {item.size} bytes, got {size}; refused"})
        return
    digest = _md5(part)
    if digest != item.md5:
        part.unlink()
        report.failed.append({"name": item.name, "url": item.url,
                              "reason": f"checksum mismatch: expected md5 {item.md5}, got {digest}; refused"})
        return
    os.replace(part, target)
    done[item.name] = _record(item)
    report.downloaded.append(item.name)


def _record(item: ListedFile) -> dict[str, Any]:
    return {"md5": item.md5, "size": item.size, "url": item.url,
            "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _as_date(value: date | str, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(problem(f"The --{name} date is invalid.", "an ISO date like 2024-05-01", got=value)) from None
