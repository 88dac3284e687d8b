"""International organisations, their dated memberships, and the bloc rule for alliance moves."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import UsageError, problem
from ..taxonomy import BLOC_MOVE_CODES
from .tables import read_table

BLOC_KINDS: frozenset[str] = frozenset({"alliance", "bloc"})
"""Organisation kinds whose join/leave/cooperate events are alliance moves (see ``apply_bloc_rule``)."""


@dataclass(frozen=True)
class Membership:
    """One country's membership of an organisation; ``start``/``end`` are ISO dates or ''."""

    country: str
    start: str = ""
    end: str = ""

    def active(self, day: pd.Timestamp) -> bool:
        """True when ``day`` falls inside the membership (open ends are unbounded)."""
        return (not self.start or day >= pd.Timestamp(self.start)) and (not self.end or day <= pd.Timestamp(self.end))


@dataclass(frozen=True)
class Organisation:
    """An international organisation (never a country).

    ``members`` are the current members (memberships without an end date);
    ``memberships`` is the full dated history since 2005 where it is known.
    ``kind``: alliance, bloc, regional, universal, forum, court or ngo.
    """

    code: str
    name: str
    members: tuple[str, ...]
    kind: str = "regional"
    aliases: tuple[str, ...] = ()
    memberships: tuple[Membership, ...] = ()


def _parse_members(text: str, expand: dict[str, tuple[Membership, ...]]) -> tuple[Membership, ...]:
    out: list[Membership] = []
    for token in filter(None, (t.strip() for t in text.split(";"))):
        if token.startswith("@"):
            out.extend(expand[token[1:]])
            continue
        country, _, span = token.partition("@")
        start, _, end = span.partition("..")
        out.append(Membership(country, start, end))
    return tuple(out)


def _load_organisations() -> dict[str, Organisation]:
    table = read_table("actors_orgs.tsv")
    orgs: dict[str, Organisation] = {}
    histories: dict[str, tuple[Membership, ...]] = {}
    for row in table.itertuples(index=False):
        history = _parse_members(row.members, histories)
        histories[row.code] = history
        orgs[row.code] = Organisation(
            code=row.code,
            name=row.name,
            members=tuple(m.country for m in history if not m.end),
            kind=row.kind,
            aliases=tuple(a.strip() for a in row.aliases.split(";") if a.strip()),
            memberships=history,
        )
    return orgs


ORGANISATIONS: dict[str, Organisation] = _load_organisations()
"""Organisation code -> :class:`Organisation` (EU, NATO, CSTO, UN, AU, ASEAN, OSCE, CIS, EAEU, GCC, SCO, ...)."""


def org_members(code: str, date: object = None) -> tuple[str, ...]:
    """Member countries of an organisation, on ``date`` when given (else the current members).

    >>> "ARM" in org_members("CSTO"), "GBR" in org_members("EU"), "GBR" in org_members("EU", "2015-06-01")
    (True, False, True)
    """
    org = ORGANISATIONS.get(str(code).upper())
    if org is None:
        raise UsageError(problem(f"Unknown organisation {code!r}.", "one of " + ", ".join(sorted(ORGANISATIONS)),
                                 code, "Use an organisation code from tension.actors.ORGANISATIONS."))
    if date is None:
        return org.members
    day = pd.Timestamp(date)
    return tuple(dict.fromkeys(m.country for m in org.memberships if m.active(day)))


def is_bloc(orgs: pd.Series) -> pd.Series:
    """True where the organisation code is an alliance or bloc (kind in :data:`BLOC_KINDS`)."""
    blocs = {code for code, org in ORGANISATIONS.items() if org.kind in BLOC_KINDS}
    return orgs.isin(blocs).fillna(False).astype(bool)


def apply_bloc_rule(codes: pd.Series, families: pd.Series, source_org: pd.Series, target_org: pd.Series) -> pd.Series:
    """Families with the bloc rule applied: a bloc-move code with an alliance or bloc on one side -> alliance_move.

    Joining, suspending or leaving a bloc has no CAMEO code of its own; it is coded as
    intent to cooperate, cooperation, rejection or reduced relations towards the bloc.
    So an event whose code is in ``taxonomy.BLOC_MOVE_CODES`` and whose source or
    target organisation is an alliance or bloc (NATO, CSTO, EU, EAEU, CIS, GCC, SCO,
    ASEAN, BRICS, ECOWAS, MERCOSUR, OPEC) becomes ``alliance_move``. Incidents stay
    incidents. Inputs are aligned Series; the result is a new Series.
    """
    bloc = is_bloc(source_org) | is_bloc(target_org)
    move = codes.isin(BLOC_MOVE_CODES).fillna(False).astype(bool) & bloc & (families != "incident")
    out = families.copy()
    out[move.to_numpy()] = "alliance_move"
    return out
