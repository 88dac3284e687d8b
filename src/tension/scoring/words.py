"""The English an analyst reads: country names, period words, feature labels, driver sentences.

A registered feature's label is its builder's docstring (``describe_features``): the meaning,
the text before the first ``;``, up to a definition after ``": "``, without the parenthesised
code lists (CAMEO, taxonomy, GeoNames); its direction words become the countries' names ("of the
dyad" -> "from Azerbaijan toward Armenia" or "between Armenia and Azerbaijan"). Its unit says
whether it is a count (compared with the window before) and its window clause gives the window.
Columns outside the registry (the panel's base counts and coverage, the models' helpers) are
named from their column names.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from .. import periods
from ..errors import UsageError

__all__ = ["country_name", "period_words", "GROUP_LABELS", "feature_label", "feature_window", "describe_driver"]

GROUP_LABELS: dict[str, str] = {
    "incidents": "incidents and force", "denials": "denials, accusations and threats",
    "alliances": "alliance moves", "dynamics": "hostility dynamics", "relationship": "balance of the relationship",
    "context": "context (third parties, region)", "coverage": "data coverage", "history": "conflict history",
}
_SHORT_NAMES: dict[str, str] = {"RUS": "Russia", "PSE": "Palestine", "XKX": "Kosovo", "COD": "DR Congo",
                                 "COG": "Congo", "BRN": "Brunei", "FSM": "Micronesia"}
_CODE_LISTS = re.compile(r"\s*\([^()]*(?:CAMEO|taxonomy|quad class|GeoNames|EU/NATO)[^()]*\)")
# docstring direction words -> the dyad's names; {pair} is "from A toward B" (directed) or "between A and B"
_DIRECTIONS: tuple[tuple[str, str], ...] = (
    (r"by source toward target", "from {a} against {b}"), (r"by target toward source", "from {b} against {a}"),
    (r"source->target", "{a}->{b}"), (r"target->source", "{b}->{a}"),
    (r"between the two sides(?:,\s*either direction)?", "between {a} and {b}"),
    (r"of the dyad's events \(either direction\)", "of the events between {a} and {b}"),
    (r"(?:,\s*)?(?:in )?either direction", " between {a} and {b}"), (r"(?:of|in) the dyad\b(?!')", "{pair}"),
    (r"the dyad's", "the pair's"), (r"by either side", "by {a} or {b}"), (r"either side's", "{a}'s or {b}'s"),
    (r"of each side", "of {a} and {b}"), (r"the two countries", "{a} and {b}"),
    (r"the source", "{a}"), (r"the target", "{b}"),
)


def period_words(freq: str) -> tuple[str, str]:
    """The panel period's name, singular and plural: ``("week", "weeks")`` for ``W``; ``period(s)`` if unknown."""
    try:
        unit = next(iter(periods.offset(freq).kwds))  # "days", "weeks" or "months"
    except UsageError:
        return "period", "periods"
    return unit.removesuffix("s"), unit


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """Readable name of an ISO alpha-3 code (``AZE`` -> ``Azerbaijan``); unknown codes unchanged."""
    import pycountry

    if str(code) in _SHORT_NAMES:
        return _SHORT_NAMES[str(code)]
    try:
        c = pycountry.countries.get(alpha_3=str(code))
    except (KeyError, LookupError):
        c = None
    if c is None:
        return str(code)
    name = getattr(c, "common_name", None) or c.name
    if ", " in name:  # "Congo, The Democratic Republic of the" -> "The Democratic Republic of the Congo"
        head, _, tail = name.partition(", ")
        name = f"{tail} {head}"
    return name


@lru_cache(maxsize=1)
def _registry_docs() -> dict[str, str]:
    from ..features import describe_features

    table = describe_features()
    return dict(zip(table["name"], table["doc"], strict=True))


def _doc_parts(feature: str) -> tuple[str, str, str] | None:
    """(meaning, unit, window) clauses of a registered builder's docstring; None outside the registry."""
    doc = _registry_docs().get(feature)
    if not doc:
        return None
    parts = [p.strip() for p in _CODE_LISTS.sub("", doc).rstrip(".").split("; ")]
    return parts[0], (parts[1] if len(parts) > 2 else ""), parts[-1]


def _definition_cut(meaning: str) -> str:
    """The meaning up to a definition introduced by ``": "`` outside parentheses."""
    depth = 0
    for i, ch in enumerate(meaning):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and meaning.startswith(": ", i):
            return meaning[:i]
    return meaning


def feature_window(feature: str) -> int:
    """The window in periods a feature's value covers (its docstring's window clause; 1 when not stated)."""
    parts = _doc_parts(feature)
    found = re.search(r"\d+", parts[2]) if parts else None
    return int(found.group(0)) if found else 1


def _label_from_doc(meaning: str, unit: str, a: str, b: str, pair: str) -> tuple[str, str]:
    text = _definition_cut(meaning)
    for pattern, words in _DIRECTIONS:
        text = re.sub(pattern, words, text)
    text = text.format(a=a, b=b, pair=pair)
    text = text[:1].lower() + text[1:] if text[1:2].islower() else text
    kind = "count" if unit.startswith("count") or "(sum of" in meaning else "level"
    return " ".join(text.split()).replace(" ,", ","), kind


def feature_label(feature: str, source: str, target: str, directed: bool) -> tuple[str, str]:
    """Words for a feature (``"accusations from Azerbaijan against Armenia"``) and its kind (count or level)."""
    a, b = country_name(source), country_name(target)
    pair = f"from {a} toward {b}" if directed else f"between {a} and {b}"
    parts = _doc_parts(feature)
    if parts is not None:
        return _label_from_doc(parts[0], parts[1], a, b, pair)
    if feature.startswith("events_") or feature == "low_coverage":  # coverage columns of the panel
        who = {"events_source": f" involving {a}", "events_target": f" involving {b}", "events_dyad": f" {pair}",
               "events_global": " worldwide (data coverage)"}.get(feature, "")
        return ("a low-coverage period" if feature == "low_coverage" else f"reported events{who}"), (
            "level" if feature == "low_coverage" else "count")
    words = feature.replace("_", " ")
    if feature.endswith("_intensity"):
        return f"Goldstein intensity of {words.removesuffix(' intensity')} events {pair}", "count"
    if feature.endswith("_count"):
        return f"{words.removesuffix(' count').replace(' ', '-')} events {pair}", "count"
    return f"{words} {pair}", "level"


def _change_words(cur: float, prev: float) -> str:
    if prev == 0:
        return "none before" if cur == 0 else "up from none"
    if cur == 0:
        return "dropped to none"
    r = cur / prev
    if r >= 3.5:
        return f"up {r:.0f}-fold"
    if r >= 2.5:
        return "tripled"
    if r >= 1.8:
        return "doubled"
    if r > 1.1:
        return "rose"
    if r >= 0.9:
        return "held steady"
    if r >= 0.5:
        return "fell"
    return "fell by more than half"


def _remainder_words(feature: str, effect: str, members: Sequence[str]) -> str:
    family = feature[len("(other features: "):-1] if ":" in feature else None
    what = f"the other {len(members)} feature{'s' if len(members) != 1 else ''}"
    if family:
        what += f" on {GROUP_LABELS.get(family, family.replace('_', ' '))}"
    elif not members:
        what = "all remaining features"
    names = ", ".join(list(members)[:3]) + (", ..." if len(members) > 3 else "")
    return f"{what} together{f' ({names})' if family and names else ''}; {effect}"


def describe_driver(feature: str, contribution: float, history: pd.DataFrame | None, source: str, target: str,
                    directed: bool, freq: str, value: float | None = None, group: str | None = None,
                    members: Sequence[str] = ()) -> str:
    """One sentence an analyst reads for a driver, from the dyad's own history of that feature.

    ``history`` holds the dyad's rows (panel columns and model inputs) up to ``as_of``, sorted
    by period. Counts are compared with the same window one window earlier, e.g.
    "accusations from Azerbaijan against Armenia tripled over 4 weeks (6 vs 2 in the 4 weeks
    before); raises the risk". ``group`` (grouped attributions) prefixes the group's name.
    """
    effect = "raises the risk" if contribution > 0 else "lowers the risk" if contribution < 0 else "no effect"
    if feature == "(baseline)":
        return "starting point of the model before any feature (log-odds); calibration is applied afterwards"
    if feature.startswith("(other features"):
        return _remainder_words(feature, effect, members)
    label, kind = feature_label(feature, source, target, directed)
    w = feature_window(feature)
    one, many = period_words(freq)
    unit = f"{w} {many}" if w > 1 else one
    series = history[feature].to_numpy(float) if history is not None and feature in history else None
    cur = float(series[-1]) if series is not None and len(series) else value
    prev = float(series[-1 - w]) if series is not None and len(series) > w else None
    head = f"{GROUP_LABELS.get(group, group)}: " if group else ""
    if cur is None or not np.isfinite(cur):
        return f"{head}{label}: no value; {effect}"
    if prev is None or not np.isfinite(prev):
        return f"{head}{label} at {cur:.3g}; {effect}"
    if kind == "count":
        span = f"over {unit}" if w > 1 else f"this {one}"
        before = f"in the {unit} before" if w > 1 else f"the {one} before"
        return f"{head}{label} {_change_words(cur, prev)} {span} ({cur:g} vs {prev:g} {before}); {effect}"
    return f"{head}{label} at {cur:.3g} ({unit if w > 1 else 'a ' + one} earlier: {prev:.3g}); {effect}"
