"""The optional LLM backend: any OpenAI-compatible chat-completions server (llama.cpp, Ollama, vLLM).

Each sentence is sent with the project's instructions; the answer must be a JSON object
``{"events": [{"source", "target", "cameo_code", "polarity"}]}`` in which every code is in
the CAMEO table and every actor resolves with ``tension.actors`` to a country or
organisation that the sentence itself mentions (nothing invented). An answer that does not
validate falls back to the offline coder for that sentence, with a warning. An endpoint
that cannot be reached stops the run (:class:`tension.errors.UsageError`).
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import UsageError, problem
from ..taxonomy import cameo_table
from .mentions import Mention, find_mentions
from .rules import CodedEvent, code_sentence

if TYPE_CHECKING:
    from . import LlmSettings

__all__ = ["LlmCoder", "PROMPT", "validate_answer"]

PROMPT = (
    "You code political events in news sentences with CAMEO event codes. Answer with one JSON object only: "
    '{"events": [{"source": "<actor as written>", "target": "<actor as written or empty>", '
    '"cameo_code": "<CAMEO code, e.g. 112 or 0841>", "polarity": "asserted|claimed|denied"}]}. '
    "polarity: asserted = the sentence states it happened; claimed = one party alleges it; denied = the sentence "
    "reports it denied. An accusation or a denial is itself an asserted event. Use only actors named in the "
    'sentence. No events: {"events": []}.'
)
POLARITIES = ("asserted", "claimed", "denied")


@lru_cache(maxsize=1)
def _codes() -> frozenset[str]:
    return frozenset(cameo_table()["code"])


def _actor(name: object, mentions: list[Mention]) -> Mention | None:
    """The sentence's mention that ``name`` refers to (same words, or the same country/org); None if not in the sentence."""
    text = str(name or "").strip()
    if len(text) < 2:
        return None
    words = re.compile(r"(?<!\w)" + re.escape(text.lower()) + r"(?!\w)")
    for m in mentions:
        if words.search(m.text.lower()) or re.search(r"(?<!\w)" + re.escape(m.text.lower()) + r"(?!\w)", text.lower()):
            return m
    found = find_mentions(text[:1].upper() + text[1:])
    codes = {m.code for m in mentions}
    for f in found:
        if f.code in codes:
            return next(m for m in mentions if m.code == f.code)
    return None


def validate_answer(answer: object, sentence: str, day: date) -> tuple[list[CodedEvent] | None, str]:
    """(events, '') when the answer validates, else (None, what is wrong)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("events"), list):
        return None, 'the answer is not an object with an "events" list'
    mentions = find_mentions(sentence, day.isoformat())
    out: list[CodedEvent] = []
    for i, ev in enumerate(answer["events"]):
        if not isinstance(ev, dict):
            return None, f"event {i} is not an object"
        code = str(ev.get("cameo_code") or "").strip()
        if code not in _codes():
            return None, f"event {i}: {code!r} is not a CAMEO code of the project's table"
        polarity = str(ev.get("polarity") or "asserted").strip().lower()
        if polarity not in POLARITIES:
            return None, f"event {i}: polarity {polarity!r} is not one of {', '.join(POLARITIES)}"
        src = _actor(ev.get("source"), mentions)
        if src is None:
            return None, f"event {i}: source {ev.get('source')!r} is no country or organisation named in the sentence"
        tgt = _actor(ev.get("target"), mentions) if ev.get("target") else None
        if ev.get("target") and tgt is None:
            return None, f"event {i}: target {ev.get('target')!r} is no country or organisation named in the sentence"
        out.append(CodedEvent(code, (src,), (tgt,) if tgt else (), polarity, day, "published", 0.5, "llm"))
    return out, ""


class LlmCoder:
    """Codes sentences through a chat-completions endpoint; invalid answers fall back to the offline rules."""

    def __init__(self, settings: LlmSettings, warn: Callable[[str], None]) -> None:
        self.settings = settings
        self.warn = warn
        self.url = settings.endpoint.rstrip("/") + ("" if settings.endpoint.rstrip("/").endswith("/chat/completions") else "/chat/completions")

    def _ask(self, sentence: str, day: date) -> object:
        body = json.dumps({
            "model": self.settings.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": PROMPT},
                         {"role": "user", "content": f"Published {day.isoformat()}. Sentence: {sentence}"}],
        }).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout) as resp:  # noqa: S310 - the user's endpoint
                reply = json.loads(resp.read().decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code < 500 and exc.code != 404:
                return {"error": f"HTTP {exc.code}"}
            raise UsageError(problem(f"The LLM endpoint {self.url} cannot be reached ({getattr(exc, 'reason', exc)}).",
                                     "an OpenAI-compatible chat-completions server", self.settings.endpoint,
                                     "Start the server (llama.cpp, Ollama, vLLM) or check --endpoint; or use --coder offline.")) from None
        except json.JSONDecodeError:
            return {"error": "the server's reply is not JSON"}
        try:
            content = reply["choices"][0]["message"]["content"]
            return json.loads(content)
        except (KeyError, IndexError, TypeError, json.JSONDecodeError):
            return {"error": "the message content is not a JSON object"}

    def code(self, sentence: str, day: date) -> list[CodedEvent]:
        answer = self._ask(sentence, day)
        events, why = validate_answer(answer, sentence, day)
        if events is None:
            why = answer.get("error", why) if isinstance(answer, dict) and "error" in answer else why
            self.warn(f"LLM answer for {sentence[:60]!r} did not validate ({why}); used the offline coder for it.")
            return code_sentence(sentence, day)
        return events
