"""The simulator's event vocabulary: CAMEO codes by kind, with weights and the verbs of the one-line text."""
from __future__ import annotations

import pandas as pd

from ..taxonomy import lookup_codes

# kind -> ((code, relative weight within the kind, verb used in the one-line text), ...)
VOCAB: dict[str, tuple[tuple[str, float, str], ...]] = {
    "background": (
        ("010", 8.0, "makes a statement about"),
        ("012", 1.0, "voices concern about"),
        ("013", 1.0, "speaks optimistically about"),
        ("020", 1.5, "appeals to"),
        ("030", 1.0, "pledges cooperation with"),
        ("036", 1.0, "offers talks to"),
        ("040", 4.0, "consults"),
        ("042", 1.5, "visits"),
        ("043", 1.5, "hosts"),
        ("046", 1.5, "negotiates with"),
        ("050", 1.0, "cooperates diplomatically with"),
        ("051", 1.0, "praises"),
        ("061", 1.0, "cooperates economically with"),
        ("071", 0.4, "provides economic aid to"),
        ("100", 0.6, "makes demands of"),
        ("110", 0.6, "disapproves of"),
        ("114", 0.4, "complains officially to"),
    ),
    "deny": (("016", 1.0, "denies responsibility towards"),),
    "reject": (
        ("120", 2.0, "rejects"),
        ("121", 1.0, "rejects cooperation with"),
        ("124", 1.0, "refuses to yield to"),
        ("125", 1.0, "rejects talks with"),
        ("127", 1.0, "rejects the plan of"),
        ("128", 0.5, "defies"),
    ),
    "accuse": (
        ("111", 3.0, "criticises"),
        ("112", 3.0, "accuses"),
        ("1123", 1.0, "accuses of aggression"),
        ("1125", 0.5, "accuses of espionage"),
    ),
    "threaten": (
        ("130", 2.0, "threatens"),
        ("138", 1.0, "threatens force against"),
        ("139", 0.3, "gives an ultimatum to"),
    ),
    "incident": (
        ("150", 2.0, "shows force towards"),
        ("152", 1.0, "raises its military alert against"),
        ("154", 0.7, "mobilises troops against"),
        ("170", 1.0, "coerces"),
        ("171", 0.7, "seizes property of"),
        ("172", 1.0, "sanctions officials of"),
        ("173", 1.0, "detains nationals of"),
        ("174", 0.5, "deports nationals of"),
    ),
    "rival_move": (
        ("160", 1.0, "reduces relations with"),
        ("161", 0.7, "downgrades diplomatic ties with"),
        ("163", 0.8, "imposes sanctions on"),
        ("166", 0.8, "expels or withdraws from"),
    ),
    "ally_move": (
        ("057", 1.0, "signs an agreement with"),
        ("062", 1.0, "deepens military cooperation with"),
    ),
    "conflict": (
        ("180", 0.6, "uses unconventional violence against"),
        ("181", 0.3, "abducts nationals of"),
        ("182", 0.6, "assaults"),
        ("183", 0.5, "bombs"),
        ("190", 2.0, "uses conventional force against"),
        ("191", 0.3, "blockades"),
        ("192", 0.3, "occupies territory of"),
        ("193", 2.0, "fights small-arms battles with"),
        ("194", 1.5, "shells"),
        ("195", 0.8, "carries out air strikes on"),
        ("196", 1.0, "violates the ceasefire with"),
        ("200", 0.1, "uses massive violence against"),
    ),
}
PRECURSOR_KINDS: tuple[str, ...] = ("deny", "reject", "accuse", "threaten", "incident", "rival_move")

CODES: tuple[str, ...] = tuple(c for kind in VOCAB.values() for c, _, _ in kind)
VERBS: tuple[str, ...] = tuple(v for kind in VOCAB.values() for _, _, v in kind)


def code_table() -> pd.DataFrame:
    """root_code, quad_class, goldstein and family of the simulator's codes (from tension.taxonomy)."""
    codes = pd.Series(CODES, dtype="str")
    found = lookup_codes(codes)
    if found["cameo_code"].isna().any():  # pragma: no cover - guards the vocabulary
        missing = codes[found["cameo_code"].isna()].tolist()
        raise RuntimeError(f"Simulator codes unknown to tension.taxonomy: {missing}")
    return pd.DataFrame(
        {
            "cameo_code": codes,
            "root_code": found["root_code"].astype(str).to_numpy(),
            "quad_class": found["quad_class"].astype("int8").to_numpy(),
            "goldstein": found["goldstein"].astype("float32").to_numpy(),
            "family": found["family"].astype(str).to_numpy(),
        }
    )
