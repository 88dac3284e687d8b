"""The LLM backend's wire protocol against a real local HTTP server (127.0.0.1), started by the test."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tension.cli import main
from tension.coder import LlmSettings, Text, code_texts

SENTENCE = "Armenia's Foreign Ministry denied Ukraine's claim that Russia is building up forces at Gyumri."


class _Handler(BaseHTTPRequestHandler):
    answers: list[str] = []
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        content = type(self).answers.pop(0) if type(self).answers else '{"events": []}'
        reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server():
    _Handler.answers, _Handler.requests = [], []
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", _Handler
    httpd.shutdown()
    httpd.server_close()


def test_valid_answer_is_used_and_request_is_openai_shaped(server):
    url, handler = server
    handler.answers = [json.dumps({"events": [
        {"source": "Armenia", "target": "Ukraine", "cameo_code": "016", "polarity": "asserted"},
        {"source": "Russia", "target": "", "cameo_code": "154", "polarity": "denied"}]})]
    frame = code_texts([Text("t1", SENTENCE)], published="2025-07-07", coder="llm", llm=LlmSettings(url, "test-model"))
    req = handler.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"]["model"] == "test-model" and req["body"]["messages"][-1]["content"].endswith(SENTENCE)
    assert frame[["source_country", "target_country", "cameo_code", "polarity"]].values.tolist() == [
        ["ARM", "UKR", "016", "asserted"], ["RUS", "", "154", "denied"]]
    assert set(frame["coder"]) == {"llm-v1:llm"}


@pytest.mark.parametrize("answer", [
    '{"events": [{"source": "Armenia", "target": "Ukraine", "cameo_code": "999", "polarity": "asserted"}]}',
    '{"events": [{"source": "France", "target": "Ukraine", "cameo_code": "016", "polarity": "asserted"}]}',
    '{"events": [{"source": "Armenia", "target": "Ukraine", "cameo_code": "016", "polarity": "maybe"}]}',
    "not json at all",
])
def test_invalid_answer_falls_back_to_offline_with_a_warning(server, answer):
    url, handler = server
    handler.answers = [answer]
    warnings: list[str] = []
    frame = code_texts([Text("t1", SENTENCE)], published="2025-07-07", coder="llm", llm=LlmSettings(url, "m"),
                       warn=warnings.append)
    assert len(warnings) == 1 and "offline coder" in warnings[0]
    assert ("ARM", "UKR", "016") in set(zip(frame["source_country"], frame["target_country"], frame["cameo_code"], strict=True))
    assert set(frame["coder"].str.split(":").str[0]) == {"llm-v1"}


def test_unreachable_endpoint_exits_non_zero_without_output(tmp_path: Path, capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = tmp_path / "a.txt"
    src.write_text(SENTENCE + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    code = main(["code", str(src), "--out", str(out), "--coder", "llm", "--endpoint", f"http://127.0.0.1:{port}/v1",
                 "--llm-model", "m"])
    assert code != 0
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))
    assert "cannot be reached" in capsys.readouterr().err


def test_actor_must_be_named_in_the_sentence():
    from datetime import date

    from tension.coder.llm import validate_answer

    ok, _ = validate_answer({"events": [{"source": "Armenia's foreign ministry", "target": "Ukraine", "cameo_code": "016"}]},
                            SENTENCE, date(2025, 7, 7))
    assert ok is not None and ok[0].sources[0].country == "ARM"
    for source in ("a", "Iran", ""):
        events, why = validate_answer({"events": [{"source": source, "cameo_code": "016"}]}, SENTENCE, date(2025, 7, 7))
        assert events is None and "source" in why
