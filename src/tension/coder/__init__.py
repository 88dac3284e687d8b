"""News text -> events: the offline coder (rules over the project's own tables) and an optional LLM backend.

The output is the analysts' CSV layout that ``tension ingest --format csv`` reads back
unchanged, plus ``text_id``, ``confidence``, ``polarity`` (asserted / claimed / denied),
``evidence`` (the sentence), ``date_precision`` and ``coder``. Only asserted rows enter the
store on ingest; claimed and denied ones are quarantined for review with their reason.

>>> rows = code_text("Armenia's Foreign Ministry denied Ukraine's claim that Russia is building up forces at Gyumri.",
...                  published="2025-07-07")
>>> rows[["source_country", "target_country", "cameo_code", "polarity"]].values.tolist()
[['ARM', 'UKR', '016', 'asserted'], ['UKR', 'RUS', '112', 'asserted'], ['RUS', '', '154', 'denied']]
"""
from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache

import pandas as pd

from ..errors import UsageError, did_you_mean, problem
from .inputs import Text, parse_published, read_texts
from .rules import CodedEvent, code_sentence

__all__ = ["code_text", "code_texts", "read_texts", "split_sentences", "Text", "CodedEvent", "code_sentence",
           "COLUMNS", "CODERS", "CODER_VERSION", "LlmSettings", "dataset_name"]

CODER_VERSION = "1"
CODERS: tuple[str, ...] = ("offline", "llm")
COLUMNS: tuple[str, ...] = (
    "event_id", "date", "source_actor", "source_country", "source_org", "target_actor", "target_country",
    "target_org", "cameo_code", "dataset", "source_ref", "text", "text_id", "confidence", "polarity", "evidence",
    "date_precision", "coder",
)
"""Output columns: the canonical ones the CSV reader maps, then the coder's own."""


@dataclass(frozen=True)
class LlmSettings:
    """Where the LLM backend is: an OpenAI-compatible chat-completions server."""

    endpoint: str
    model: str
    timeout: float = 60.0


def dataset_name(coder: str) -> str:
    """The ``dataset`` value of machine-coded rows: which coder and version produced them."""
    return f"coded-{coder}-v{CODER_VERSION}"


@lru_cache(maxsize=1)
def _segmenter():  # noqa: ANN202 - pysbd has no type hints
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=False)  # spans found below: twice as fast


_BOUNDARY = re.compile(r"[.!?][\"'\u2019\u201d)\]]*\s+[\"'\u2018\u201c(\[]?[A-Z0-9]")


def split_sentences(body: str) -> list[tuple[int, str]]:
    """(character offset, sentence) for every sentence; paragraphs (blank lines) never share a sentence.

    pysbd splits every paragraph in which a sentence could end inside (a full stop, question
    or exclamation mark followed by a capital); a paragraph without one is one sentence.
    """
    out: list[tuple[int, str]] = []
    offset = 0
    for para in body.split("\n\n"):
        if para.strip():
            flat = para.replace("\n", " ")
            if not _BOUNDARY.search(flat.rstrip()):
                lead = len(flat) - len(flat.lstrip())
                out.append((offset + lead, flat.strip()))
                offset += len(para) + 2
                continue
            pos = 0
            for piece in _segmenter().segment(flat):
                sent = piece.strip()
                if not sent:
                    continue
                at = flat.find(sent, pos)
                at = pos if at < 0 else at
                out.append((offset + at, sent))
                pos = at + len(sent)
        offset += len(para) + 2
    return out


def _check_coder(coder: str, llm: LlmSettings | None) -> None:
    if coder not in CODERS:
        raise UsageError(problem(f"Unknown coder {coder!r}." + did_you_mean(coder, CODERS), " or ".join(CODERS), coder,
                                 "Use --coder offline (the default) or --coder llm with --endpoint and --llm-model."))
    if coder == "llm" and (llm is None or not llm.endpoint or not llm.model):
        raise UsageError(problem("The LLM coder needs an endpoint and a model name.", "--endpoint URL --llm-model NAME",
                                 llm, "E.g. --endpoint http://127.0.0.1:8080/v1 --llm-model qwen2.5-7b-instruct."))


def _event_id(text_id: str, n: int, k: int, code: str, src: str, tgt: str) -> str:
    key = "\x1f".join((text_id, str(n), str(k), code, src, tgt))
    return "ev-" + hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()


def _rows(text: Text, published: date, n: int, line: int, sentence: str, events: list[CodedEvent], coder: str) -> list[dict]:
    ref = text.url or (f"{text.path}:{line}" if text.path else f"{text.id}:{line}")
    out = []
    for k, ev in enumerate(events):
        if not ev.sources:
            continue  # no actor to store it under: the CSV reader would quarantine it (empty_actor)
        joint = len(ev.sources) >= 2 and {t.code for t in ev.targets} <= {s.code for s in ev.sources}
        if ev.targets and not joint:
            pairs = [(s, t) for s in ev.sources for t in ev.targets if s.code != t.code] or [(s, None) for s in ev.sources]
        elif len(ev.sources) >= 2:
            pairs = [(s, t) for s in ev.sources for t in ev.sources if s.code != t.code]
        else:
            pairs = [(ev.sources[0], None)]
        for s, t in pairs:
            out.append({
                "event_id": _event_id(text.id, n, k, ev.code, s.code, t.code if t else ""),
                "date": (ev.date or published).isoformat(),
                "source_actor": s.text, "source_country": s.country, "source_org": s.org,
                "target_actor": t.text if t else "", "target_country": t.country if t else "",
                "target_org": t.org if t else "",
                "cameo_code": ev.code, "dataset": dataset_name(coder), "source_ref": ref, "text": sentence,
                "text_id": text.id, "confidence": ev.confidence, "polarity": ev.polarity, "evidence": sentence,
                "date_precision": ev.date_precision, "coder": f"{coder}-v{CODER_VERSION}:{ev.rule}",
            })
    return out


def code_texts(texts: Iterable[Text], published: str | date | None = None, coder: str = "offline",
               llm: LlmSettings | None = None, warn: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Code every sentence of every text; one row per event (see :data:`COLUMNS`).

    ``published`` is the default publication day (a text's own ``published`` wins; without
    either, today in UTC). ``coder``: ``offline`` or ``llm`` (then ``llm`` says where).
    LLM answers that do not validate fall back to the offline coder and call ``warn``.
    """
    _check_coder(coder, llm)
    default_day = (parse_published(published, "--published") if isinstance(published, str)
                   else published or datetime.now(timezone.utc).date())
    backend = None
    if coder == "llm":
        from .llm import LlmCoder

        backend = LlmCoder(llm, warn=warn or (lambda msg: warnings.warn(msg, stacklevel=2)))
    rows: list[dict] = []
    for text in texts:
        day = text.published or default_day
        for n, (offset, sentence) in enumerate(split_sentences(text.body)):
            line = text.first_line + text.body[:offset].count("\n")
            events = backend.code(sentence, day) if backend else code_sentence(sentence, day)
            rows.extend(_rows(text, day, n, line, sentence, events, coder))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({"confidence": "float64"})


def code_text(text: str, published: str | date | None = None, coder: str = "offline", text_id: str = "text",
              url: str = "", llm: LlmSettings | None = None) -> pd.DataFrame:
    """Code one text (a sentence or an article); one row per event, columns :data:`COLUMNS`.

    Examples
    --------
    >>> code_text("Azerbaijani forces shelled Armenian positions near Jermuk on Tuesday.", "2022-09-15")[
    ...     ["date", "source_country", "target_country", "cameo_code"]].values.tolist()
    [['2022-09-13', 'AZE', 'ARM', '194']]
    """
    if not isinstance(text, str) or not text.strip():
        raise UsageError(problem("There is no text to code.", "a non-empty string", repr(text)[:40], "Pass the article text."))
    return code_texts([Text(text_id, text.strip(), None, url)], published=published, coder=coder, llm=llm)
