"""The verb-phrase table (``data/coder_verbs.tsv``) compiled to regular expressions.

Each row gives a phrase pattern, the CAMEO code it expresses, a frame (``say``,
``allege``, ``deny`` or none) and the source of its meaning. Pattern syntax: blank-separated
words matched on the lower-cased sentence; ``word~`` stands for every form of a verb;
``(a|b c)`` for alternatives; ``_`` for up to three other words in between, ``__`` for up to six.

The general lexicon (``data/coder_lexicon.tsv``, same pattern syntax) adds single verbs by CAMEO code with
frame ``weak``: a fallback the rules use only when no phrase of the table names the event, so that a
sentence in unfamiliar wording still gets the right root.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["VerbEntry", "VerbMatch", "verb_table", "lexicon_table", "find_verbs", "verb_forms"]

_IRREGULAR: dict[str, tuple[str, ...]] = {
    "meet": ("met",), "hold": ("held",), "send": ("sent",), "give": ("gave", "given"), "fight": ("fought",),
    "shoot": ("shot",), "strike": ("struck", "stricken"), "take": ("took", "taken"), "break": ("broke", "broken"),
    "withdraw": ("withdrew", "withdrawn"), "lead": ("led",), "fly": ("flew", "flown"), "speak": ("spoke", "spoken"),
    "tell": ("told",), "say": ("said",), "bring": ("brought",), "throw": ("threw", "thrown"), "beat": ("beaten",),
    "keep": ("kept",), "begin": ("began", "begun"), "seek": ("sought",), "leave": ("left",), "draw": ("drew", "drawn"),
    "forgive": ("forgave", "forgiven"), "deny": ("denied", "denies"), "make": ("made",), "win": ("won",),
    "lose": ("lost",), "freeze": ("froze", "frozen"), "pay": ("paid",), "sell": ("sold",), "lend": ("lent",),
    "swear": ("swore", "sworn"), "stand": ("stood",), "overrun": ("overran",), "rebuff": ("rebuffed",),
}


def verb_forms(lemma: str) -> tuple[str, ...]:
    """Base, third person, past, past participle and -ing forms of a verb (regular rules plus a few irregulars)."""
    forms = {lemma}
    if lemma.endswith("e"):
        forms |= {lemma + "s", lemma + "d", lemma[:-1] + "ing"}
    elif lemma.endswith("y") and len(lemma) > 2 and lemma[-2] not in "aeiou":
        forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied", lemma + "ing"}
    elif lemma.endswith(("s", "sh", "ch", "x", "z")):
        forms |= {lemma + "es", lemma + "ed", lemma + "ing"}
    else:
        forms |= {lemma + "s", lemma + "ed", lemma + "ing"}
        if len(lemma) >= 3 and lemma[-1] not in "aeiouwxy" and lemma[-2] in "aeiou" and lemma[-3] not in "aeiou":
            forms |= {lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}
    forms |= set(_IRREGULAR.get(lemma, ()))
    return tuple(sorted(forms, key=len, reverse=True))


@dataclass(frozen=True)
class VerbEntry:
    """One row of the verb table."""

    pattern: str
    code: str
    frame: str
    source: str
    regex: re.Pattern[str]
    words: int
    """Literal words in the pattern: more words = a more specific phrase."""
    triggers: frozenset[str] = frozenset()
    """Words of which at least one must be in the sentence for the pattern to match (a fast pre-check)."""


@dataclass(frozen=True)
class VerbMatch:
    """Where one verb-table entry matched in a sentence."""

    start: int
    end: int
    entry: VerbEntry

    @property
    def code(self) -> str:
        return self.entry.code

    @property
    def frame(self) -> str:
        return self.entry.frame


_WORDS = re.compile(r"[\w'\u2019-]+")
_GAP = r"(?:\s+[\w'\u2019.-]+){0,3}?"
_WIDE_GAP = r"(?:\s+[\w'\u2019,.-]+){0,6}?"


def _tokens(pattern: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in pattern:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == " " and depth == 0:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def _triggers(pattern: str) -> frozenset[str]:
    """The first word of every alternative of the pattern's first token."""
    first = _tokens(pattern)[0]
    if first.endswith("~"):
        return frozenset(verb_forms(first[:-1]))
    alts = first.strip("()").split("|")
    return frozenset(re.split(r"[\s]+", a.strip())[0] for a in alts if a.strip())


def _compile(pattern: str) -> tuple[re.Pattern[str], int]:
    parts: list[str] = []
    words = 0
    gap = False
    for tok in _tokens(pattern):
        if tok in ("_", "__"):
            gap = tok
            continue
        if tok.endswith("~"):
            body = "(?:" + "|".join(map(re.escape, verb_forms(tok[:-1]))) + ")"
        else:
            body = tok.replace(" ", r"\s+")
        words += 1
        if parts:
            parts.append({"_": _GAP, "__": _WIDE_GAP}.get(gap, "") + r"\s+" + body)
        else:
            parts.append(body)
        gap = False
    return re.compile(r"(?<![\w-])(?:" + "".join(parts) + r")(?![\w-])"), words


def _read_table(name: str) -> list[list[str]]:
    text = resources.files("tension").joinpath("data", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def verb_table() -> tuple[VerbEntry, ...]:
    """The packaged verb-phrase table, compiled (cached)."""
    rows = _read_table("coder_verbs.tsv")
    header, body = rows[0], rows[1:]
    if header != ["pattern", "cameo_code", "frame", "source"]:  # pragma: no cover - packaging error
        raise RuntimeError(f"coder_verbs.tsv has an unexpected header: {header}")
    entries = []
    for pattern, code, frame, source in body:
        regex, words = _compile(pattern)
        entries.append(VerbEntry(pattern, code, frame, source, regex, words, _triggers(pattern)))
    return tuple(entries)


@lru_cache(maxsize=1)
def lexicon_table() -> tuple[VerbEntry, ...]:
    """The packaged general verb lexicon, compiled, every entry with frame ``weak`` (cached)."""
    rows = _read_table("coder_lexicon.tsv")
    header, body = rows[0], rows[1:]
    if header != ["pattern", "cameo_code", "source"]:  # pragma: no cover - packaging error
        raise RuntimeError(f"coder_lexicon.tsv has an unexpected header: {header}")
    entries = []
    for pattern, code, source in body:
        regex, words = _compile(pattern)
        entries.append(VerbEntry(pattern, code, "weak", source, regex, words, _triggers(pattern)))
    return tuple(entries)


def find_verbs(lower: str) -> list[VerbMatch]:
    """Every non-overlapping best match in a lower-cased sentence, in text order.

    Where matches overlap, the longer (then the more specific) phrase wins, and a phrase of the table
    wins over a general-lexicon entry of the same length.
    """
    words = set(_WORDS.findall(lower))
    found = [VerbMatch(m.start(), m.end(), e) for e in verb_table() + lexicon_table() if not e.triggers.isdisjoint(words)
             for m in e.regex.finditer(lower)]
    found.sort(key=lambda v: (-(v.end - v.start), v.entry.frame == "weak", -v.entry.words, -len(v.code), v.start))
    taken: list[tuple[int, int]] = []
    kept: list[VerbMatch] = []
    for v in found:
        if any(v.start < e and s < v.end for s, e in taken):
            continue
        taken.append((v.start, v.end))
        kept.append(v)
    kept.sort(key=lambda v: v.start)
    return kept
