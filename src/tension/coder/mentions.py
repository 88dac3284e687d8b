"""Actor mentions in a sentence, found with the names ``tension.actors`` knows.

Longest match first over runs of capitalised words: country names, capitals and
metonyms, demonyms ("Armenian"), organisations, parties and people in office (a person
counts only on a day inside one of their terms; a bare surname counts when every office
holder with that surname belonged to the same country). A possessive "'s" is dropped
("Ukraine's claim"). Office words around a name become part of the actor as written
("Armenia's Foreign Ministry", "the foreign minister of Iraq").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from ..actors import OFFICE_WORDS, ORGANISATIONS, known_names, leaders_table, name_key, resolve_actors

__all__ = ["Mention", "find_mentions"]

_WORD = re.compile(r"[A-Za-z\u00C0-\u024F][\w\u00C0-\u024F.&'\u2019-]*")
_MAX_WORDS = 6
_STOP_CAPS = frozenset("the a an in on at of for to and but by from with as after before while when".split())
_EXTEND = OFFICE_WORDS - {"of", "and", "the", "people", "public", "general", "state", "national", "central", "head", "heads"}


@dataclass(frozen=True)
class Mention:
    """One actor found in a sentence: character span, the words as written, and what it resolves to."""

    start: int
    end: int
    text: str
    country: str = ""
    org: str = ""
    kind: str = ""

    @property
    def code(self) -> str:
        return self.country or self.org


@lru_cache(maxsize=1)
def _capitals() -> frozenset[str]:
    """Keys of capital cities (``data/actors_aliases.tsv``): after "in"/"at" they are places, not actors."""
    from importlib import resources

    with resources.files("tension").joinpath("data", "actors_aliases.tsv").open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    return frozenset(name_key(a) for a in table.loc[table["kind"] == "capital", "alias"])


@lru_cache(maxsize=1)
def _surnames() -> dict[str, str]:
    """Surname key -> full name, for surnames of office holders that point to one country only."""
    table = leaders_table()
    by_surname: dict[str, set[str]] = {}
    full: dict[str, str] = {}
    for name, country in zip(table["name"], table["country"], strict=True):
        parts = name_key(name).split()
        if len(parts) < 2 or len(parts[-1]) < 5:
            continue
        by_surname.setdefault(parts[-1], set()).add(country)
        full.setdefault(parts[-1], name)
    names = known_names()
    return {s: full[s] for s, countries in by_surname.items() if len(countries) == 1 and s not in names}


@lru_cache(maxsize=1)
def _terms() -> dict[str, list[tuple[str, str, str]]]:
    """Person key (name and aliases) -> [(country or org, start, end)] from ``tension.actors.leaders_table``."""
    table = leaders_table()
    out: dict[str, list[tuple[str, str, str]]] = {}
    for name, aliases, country, start, end in zip(table["name"], table["aliases"], table["country"], table["start"],
                                                  table["end"], strict=True):
        term = (country, start.date().isoformat(), "" if pd.isna(end) else end.date().isoformat())
        for alias in (name, *filter(None, (a.strip() for a in aliases.split(";")))):
            out.setdefault(name_key(alias), []).append(term)
    return out


@lru_cache(maxsize=4096)
def _person(name: str, day: str) -> tuple[str, str]:
    """(country, org) of a person in office on ``day`` (ISO); without a day, their single country."""
    terms = _terms().get(name_key(name))
    if terms is None:  # titles and other spellings: the resolver's full rules
        res = resolve_actors(pd.Series([name]), pd.Series([pd.Timestamp(day)]) if day else None)
        country, org = res["country"].iloc[0], res["org"].iloc[0]
        return ("" if pd.isna(country) else str(country)), ("" if pd.isna(org) else str(org))
    inside = {c for c, start, end in terms if not day or (start <= day and (not end or day <= end))}
    if len(inside) != 1:
        return "", ""
    code = inside.pop()
    return ("", code) if code in ORGANISATIONS else (code, "")


def _clean(word: str) -> str:
    if word.endswith(("'s", "\u2019s")):
        word = word[:-2]
    elif word.endswith(("'", "\u2019")):
        word = word[:-1]
    if word.endswith(".") and word.count(".") == 1:
        word = word[:-1]
    return word


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def find_mentions(sentence: str, day: str = "") -> list[Mention]:
    """Actor mentions in text order; ``day`` (ISO date) decides which office holders count."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(sentence)]
    names = known_names()
    surnames = _surnames()
    out: list[Mention] = []
    i = 0
    while i < len(words):
        sentence_word = words[i][2].lower() in _STOP_CAPS and i + 1 < len(words) and not _capitalised(words[i + 1][2])
        if not _capitalised(words[i][2]) or sentence_word:  # names are capitalised; "The" before a lower-case word is not one
            i += 1
            continue
        hit = None
        for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
            chunk = words[i:i + n]
            if any(sentence[a[1]:b[0]].strip() not in ("", "-") for a, b in zip(chunk, chunk[1:])):
                continue
            text = " ".join(_clean(w[2]) if k == n - 1 else w[2] for k, w in enumerate(chunk))
            key = name_key(text)
            entry = names.get(key)
            if entry is None and n == 1 and key in surnames:
                entry = ("person", surnames[key])
            if entry is None:
                continue
            kind, code = entry
            if kind == "person":
                country, org = _person(code or text, day)
                if not (country or org):
                    continue
            elif kind == "org":
                country, org = "", code
            else:
                country, org = code, ""
                if key in _capitals():
                    kind = "capital"
            if n == 1 and len(key) <= 3 and not chunk[0][2].rstrip(".'s").isupper():
                continue  # short keys only as written acronyms (US, UN, EU), never as ordinary words
            hit = (n, country, org, kind)
            break
        if hit is None:
            i += 1
            continue
        n, country, org, kind = hit
        start, end = words[i][0], words[i + n - 1][1]
        out.append(Mention(start, end, _as_written(sentence, words, i, i + n), country, org, kind))
        i += n
    return out


def _as_written(sentence: str, words: list[tuple[int, int, str]], i: int, j: int) -> str:
    """The actor with the office words around it: "Armenia's Foreign Ministry", "foreign minister of Iraq"."""
    start, end = words[i][0], words[j - 1][1]
    k = j
    while k < len(words) and words[k][2].lower().strip("'\u2019s.,") in _EXTEND and k - j < 3:
        end = words[k][1]
        k += 1
    if i >= 2 and words[i - 1][2].lower() == "of" and words[i - 2][2].lower() in _EXTEND:
        k = i - 2
        while k - 1 >= 0 and words[k - 1][2].lower() in _EXTEND and i - k < 4:
            k -= 1
        start = words[k][0]
    text = sentence[start:end].rstrip(".,;:")
    return text[:-2] if text.endswith(("'s", "\u2019s")) else text.rstrip("'\u2019")
