"""ACLED CSV exports (comma-separated, quoted, header; 31 columns in the current layout).

ACLED codes no CAMEO; each sub-event type maps to the closest CAMEO code
(:data:`SUB_EVENT_CAMEO`). Rows are single-country: actor countries come only from the
actor names ("Military Forces of Russia (2000-)" -> Russia, "Civilians (Ukraine)" ->
Ukraine), never from the event location, so a country pair exists only where the two
actors name two states. ``actor1`` is not necessarily the aggressor. Dates are ISO or
"16 May 2025". Event id: ``acled:<event_id_cnty>`` (ACLED keeps the id when it revises an
event; the first version ingested is kept and later ones count as duplicates).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from ..config import CsvMapping
from .text import Rows, csv_rows
from .validate import DATE_DAY_MONTH_NAME, DATE_ISO, Parsed, blank_to_null, parse_dates, resolve_names

NAME = "acled"
REQUIRED = ("event_id_cnty", "event_date", "event_type", "sub_event_type", "actor1", "actor2")

SUB_EVENT_CAMEO: dict[str, str] = {
    "government regains territory": "190",
    "non-state actor overtakes territory": "190",
    "armed clash": "190",
    "excessive force against protesters": "175",
    "protest with intervention": "141",
    "peaceful protest": "141",
    "violent demonstration": "145",
    "mob violence": "145",
    "chemical weapon": "2041",
    "air/drone strike": "195",
    "suicide bomb": "1831",
    "shelling/artillery/missile attack": "194",
    "remote explosive/landmine/ied": "183",
    "grenade": "183",
    "sexual violence": "1821",
    "attack": "180",
    "abduction/forced disappearance": "181",
    "agreement": "057",
    "arrests": "173",
    "change to group/activity": "010",
    "disrupted weapons use": "150",
    "headquarters or base established": "154",
    "looting/property destruction": "171",
    "non-violent transfer of territory": "0874",
    "other": "010",
}
"""ACLED sub-event type (lower case) -> CAMEO code: the project's own reading of both codebooks."""

EVENT_TYPE_CAMEO: dict[str, str] = {
    "battles": "190",
    "protests": "141",
    "riots": "145",
    "explosions/remote violence": "183",
    "violence against civilians": "180",
    "strategic developments": "010",
}
"""Fallback when the sub-event type is missing or new."""

DATE_DMY = r"^\s*(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<y>\d{4})\s*$"


def rows(fh: IO[bytes], mapping: CsvMapping | None = None, on_bytes: Callable[[int], None] | None = None) -> Iterator[Rows]:
    """Quoted CSV with a header."""
    return csv_rows(fh, ",", on_bytes=on_bytes)


def actor_for_resolution(names: pa.Array) -> pa.Array:
    """ACLED actor names -> the "Sector (Country)" shape the resolver knows.

    "Military Forces of Russia (2000-)" -> "Military (Russia)"; "Government of Ukraine
    (2019-)" -> "Government (Ukraine)"; a trailing period "(2000-)" is dropped elsewhere.
    """
    v = pc.replace_substring_regex(names, r"\s*\(\d{4}-\d{0,4}\)\s*$", "")
    v = pc.replace_substring_regex(v, r"^(Military|Police|Naval|Air) Forces of (?:the )?(.+?)(?:\s*\((.*)\))?$", r"\1 (\2)")
    v = pc.replace_substring_regex(v, r"^Government of (?:the )?(.+)$", r"Government (\1)")
    return v


def parse(r: Rows, mapping: CsvMapping | None = None) -> Parsed:
    """ACLED rows -> :class:`Parsed`."""
    from ..errors import UsageError, problem

    missing = [c for c in REQUIRED if r.header is None or c not in r.header]
    if missing:
        raise UsageError(problem("This ACLED file lacks required columns.", f"columns {list(REQUIRED)}", r.header, "Check it is an ACLED export, or pass the right --format."))
    date = parse_dates(r.named("event_date"), [DATE_ISO, DATE_DAY_MONTH_NAME, DATE_DMY])
    sub = pc.utf8_lower(pc.utf8_trim_whitespace(r.named("sub_event_type")))
    typ = pc.utf8_lower(pc.utf8_trim_whitespace(r.named("event_type")))
    by_sub = pc.index_in(sub, value_set=pa.array(list(SUB_EVENT_CAMEO)))
    by_typ = pc.index_in(typ, value_set=pa.array(list(EVENT_TYPE_CAMEO)))
    code = pc.coalesce(
        pa.array(list(SUB_EVENT_CAMEO.values())).take(by_sub), pa.array(list(EVENT_TYPE_CAMEO.values())).take(by_typ)
    )
    a1, a2 = blank_to_null(r.named("actor1")), blank_to_null(r.named("actor2"))
    c1, o1 = resolve_names(actor_for_resolution(a1), date)
    c2, o2 = resolve_names(actor_for_resolution(a2), date)
    return Parsed(
        rows=r,
        actors_required="source",
        dataset="acled",
        date=date,
        code=code,
        source_actor=a1,
        target_actor=a2,
        source_country=c1,
        target_country=c2,
        source_org=o1,
        target_org=o2,
        event_id=pc.binary_join_element_wise("acled", blank_to_null(r.named("event_id_cnty")), ":"),  # blank -> content hash
        source_ref=blank_to_null(r.named("source")),
        text=blank_to_null(r.named("notes")),
        resolve_names=False,
    )
