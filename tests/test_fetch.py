"""File-feed downloads against a real local HTTP server (127.0.0.1, port 0) serving fixture files."""
from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tension.cli import main
from tension.errors import UsageError
from tension.fetch import STATE_FILE, fetch, inbox_files, parse_file_list, FEEDS


class Feed:
    """A tiny GDELT-like feed: files in memory, a master list, a request log, optional faults."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.listed_md5: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.cut_after: dict[str, int] = {}  # name -> bytes sent before dropping the connection (once)
        self.base = ""

    def add(self, stamp: str, payload: bytes, wrong_md5: bool = False) -> str:
        name = f"{stamp}.export.CSV.zip"
        self.files[name] = payload
        md5 = hashlib.md5(payload).hexdigest()
        self.listed_md5[name] = ("0" * 32) if wrong_md5 else md5
        return name

    def master_list(self) -> bytes:
        lines = [f"{len(b)} {self.listed_md5[n]} {self.base}/gdeltv2/{n}" for n, b in sorted(self.files.items())]
        lines.append("123 0123456789abcdef0123456789abcdef http://x/gdeltv2/20240101000000.gkg.csv.zip")  # not an export
        lines.append("garbage line")
        return ("\n".join(lines) + "\n").encode()


@pytest.fixture()
def feed() -> Iterator[Feed]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            if self.path == "/gdeltv2/masterfilelist.txt":
                body = state.master_list()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            name = self.path.rsplit("/", 1)[-1]
            if name not in state.files:
                self.send_error(404)
                return
            data = state.files[name]
            start = int(rng.split("=")[1].split("-")[0]) if rng else 0
            self.send_response(206 if rng else 200)
            if rng:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            if name in state.cut_after:
                self.wfile.write(data[start:state.cut_after.pop(name)])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data[start:])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def list_url(feed: Feed) -> str:
    return f"{feed.base}/gdeltv2/masterfilelist.txt"


def test_downloads_new_files_since_date_and_never_twice(feed: Feed, tmp_path: Path) -> None:
    old = feed.add("20240101000000", b"old" * 100)
    a = feed.add("20240105001500", b"a" * 5000)
    b = feed.add("20240106003000", bytes(range(256)) * 40)
    rep = fetch("gdelt2", "2024-01-05", tmp_path, list_url=list_url(feed))
    assert rep.listed == 3 and rep.bad_lines == 1 and rep.selected == 2
    assert rep.downloaded == [a, b] and rep.failed == [] and rep.bytes == 5000 + 256 * 40
    assert (tmp_path / b).read_bytes() == feed.files[b]
    assert not (tmp_path / old).exists()
    assert [p.name for p in inbox_files(tmp_path)] == [a, b]
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert set(state["files"]) == {a, b}
    before = len(feed.requests)
    again = fetch("gdelt2", date(2024, 1, 5), tmp_path, list_url=list_url(feed))
    assert again.downloaded == [] and again.already == 2
    assert len(feed.requests) == before + 1  # only the master list was requested


def test_interrupted_download_resumes_with_range(feed: Feed, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 400  # 102400 bytes
    name = feed.add("20240105001500", payload)
    feed.cut_after[name] = 30000
    first = fetch("gdelt2", "2024-01-01", tmp_path, list_url=list_url(feed))
    assert first.downloaded == [] and len(first.failed) == 1
    assert "interrupted after 30000 of 102400 bytes" in first.failed[0]["reason"]
    assert (tmp_path / f"{name}.part").stat().st_size == 30000
    assert not (tmp_path / name).exists() and inbox_files(tmp_path) == []
    second = fetch("gdelt2", "2024-01-01", tmp_path, list_url=list_url(feed))
    assert second.downloaded == [name] and second.resumed == 1 and second.bytes == 102400 - 30000
    assert (tmp_path / name).read_bytes() == payload
    assert (f"/gdeltv2/{name}", "bytes=30000-") in feed.requests


def test_wrong_checksum_is_refused_and_reported(feed: Feed, tmp_path: Path) -> None:
    good = feed.add("20240105001500", b"good" * 10)
    bad = feed.add("20240105003000", b"tampered" * 10, wrong_md5=True)
    rep = fetch("gdelt2", "2024-01-01", tmp_path, list_url=list_url(feed))
    assert rep.downloaded == [good]
    assert [f["name"] for f in rep.failed] == [bad] and "checksum mismatch" in rep.failed[0]["reason"]
    assert not (tmp_path / bad).exists() and not (tmp_path / f"{bad}.part").exists()
    assert bad not in json.loads((tmp_path / STATE_FILE).read_text())["files"]


def test_cli_reports_refused_file_with_exit_3_and_json(feed: Feed, tmp_path: Path, capsys) -> None:
    feed.add("20240105001500", b"x" * 10, wrong_md5=True)
    code = main(["fetch", "gdelt2", "--since", "2024-01-01", "--inbox", str(tmp_path), "--list-url", list_url(feed), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 3 and out["failed"][0]["reason"].startswith("checksum mismatch")


def test_cli_ok_and_bad_usage(feed: Feed, tmp_path: Path, capsys) -> None:
    feed.add("20240105001500", b"x" * 10)
    assert main(["fetch", "gdelt2", "--since", "2024-01-01", "--inbox", str(tmp_path), "--list-url", list_url(feed), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["downloaded"] == ["20240105001500.export.CSV.zip"]
    assert main(["fetch", "gdelt3", "--since", "2024-01-01", "--inbox", str(tmp_path)]) == 2
    assert "Did you mean 'gdelt2'" in capsys.readouterr().err
    assert main(["fetch", "gdelt2", "--since", "yesterday", "--inbox", str(tmp_path)]) == 2


def test_unreachable_list_is_a_clear_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Cannot read the file list"):
        fetch("gdelt2", "2024-01-01", tmp_path, list_url="http://127.0.0.1:9/none.txt", timeout=2)


def test_parse_file_list_keeps_only_export_lines() -> None:
    text = ("10 0123456789abcdef0123456789abcdef http://h/gdeltv2/20240105001500.export.CSV.zip\n"
            "10 0123456789abcdef0123456789abcdef http://h/gdeltv2/20240105001500.mentions.CSV.zip\n"
            "bad\n")
    files, bad = parse_file_list(text, FEEDS["gdelt2"])
    assert [f.stamp for f in files] == [date(2024, 1, 5)] and bad == 1
