"""Build tension's own CAMEO and PLOVER tables from the public reference files.

Usage (from the project root, with ../shared/reference beside the checkout)::

    .venv/bin/python tools/build_taxonomy.py            # writes the tables below
    .venv/bin/python tools/build_taxonomy.py --check    # exit 1 if the tables are stale

Inputs (public facts, read, never copied): ``cameo_codes.tsv`` (codes, GDELT and ICEWS
names and Goldstein weights, CAMEO->PLOVER 2021), ``tkg_icews_relations.tsv`` (every ICEWS
relation string seen in ICEWS14/05-15/18, used to check that each one maps), and
``plover_types.tsv``.

Outputs, in the project's own format:

``cameo.tsv``
    code, level, root_code, name, icews_name, goldstein, goldstein_gdelt, quad_class,
    family, plover_type. ``goldstein`` is the ICEWS weight (it matches ICEWS ``Intensity``
    in real data); the four codes where GDELT differs (016, 022, 164, 165) keep the GDELT
    value beside it. ``quad_class`` uses the GDELT convention (roots 01-05 -> 1,
    06-09 -> 2, 10-14 -> 3, 15-20 -> 4). ``family`` comes from
    :func:`tension.taxonomy.family_rule`, so the table and the documented code sets can
    never disagree. ``plover_type`` is the 2021 CAMEO->PLOVER conversion; roots 01/02 are
    dropped by PLOVER and stay empty; the 2-digit root 08 (split CONCEDE/RETREAT) is
    CONCEDE like its x0 code 080.
``src/tension/data/actors_codes.tsv``
    scheme, code, country: country-code schemes other than ISO that need a table:
    ``fips`` (FIPS 10-4, GDELT ``*Geo_CountryCode``), ``cameo`` (CAMEO/GDELT actor country
    codes that differ from ISO alpha-3: ROM, TMP, MTN, IMY, KSV -> XKX; the sub-state codes
    WSB/GZS/PSEGZA -> PSE and BAG -> IRQ resolve to the state containing them; region
    codes such as EUR or WST are left out on purpose, so they stay unresolved) and
    ``icews`` (ICEWS full English country names -> ISO alpha-3).
``plover.tsv``
    plover_type, mode, quad_class, cameo_code: the representative CAMEO code for a PLOVER
    type (mode empty) or a (type, mode) pair, used to code POLECAT input. ``quad_class``
    is the GDELT quad of the type-level code (the PLOVER manual contradicts itself on
    SANCTION; CAMEO root 16 is material conflict, so 4).
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tension.taxonomy import family_rule, quad_for_root  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference"
OUT = ROOT / "src" / "tension" / "taxonomy"
DATA = ROOT / "src" / "tension" / "data"

# Representative CAMEO code per PLOVER type: the x0 code of the type's first CAMEO root
# (RETREAT: 084 "Return, release" opens the RETREAT half of root 08; ASSAULT: 180).
PLOVER_TYPE_CODES: dict[str, str] = {
    "AGREE": "030", "CONSULT": "040", "SUPPORT": "050", "CONCEDE": "080",
    "COOPERATE": "060", "AID": "070", "RETREAT": "084", "REQUEST": "100",
    "ACCUSE": "110", "REJECT": "120", "THREATEN": "130", "PROTEST": "140",
    "SANCTION": "160", "MOBILIZE": "150", "COERCE": "170", "ASSAULT": "180",
}
# (type, mode) -> CAMEO code, where a PLOVER mode names one CAMEO code closely and that code
# maps back to the same PLOVER type. Modes left out (RETREAT/resign, SANCTION/convict: their
# closest CAMEO codes 0831 and 116 belong to CONCEDE and ACCUSE) use the type-level code.
PLOVER_MODE_CODES: dict[tuple[str, str], str] = {
    ("CONSULT", "visit"): "042", ("CONSULT", "third-party"): "044",
    ("CONSULT", "multilateral"): "040", ("CONSULT", "phone"): "041",
    ("RETREAT", "withdraw"): "0874", ("RETREAT", "release"): "084",
    ("RETREAT", "disarm"): "0873", ("RETREAT", "ceasefire"): "0871",
    ("RETREAT", "access"): "0863",
    ("REQUEST", "assist"): "103", ("REQUEST", "change"): "104",
    ("REQUEST", "yield"): "105", ("REQUEST", "meet"): "106",
    ("ACCUSE", "disapprove"): "111", ("ACCUSE", "investigate"): "090",
    ("ACCUSE", "allege"): "112",
    ("REJECT", "assist"): "122", ("REJECT", "change"): "123",
    ("REJECT", "yield"): "124", ("REJECT", "meet"): "125",
    ("THREATEN", "restrict"): "132", ("THREATEN", "arrest"): "137",
    ("THREATEN", "relations"): "1313", ("THREATEN", "expel"): "136",
    ("THREATEN", "territory"): "1382", ("THREATEN", "violence"): "138",
    ("PROTEST", "demo"): "141", ("PROTEST", "riot"): "145", ("PROTEST", "strike"): "143",
    ("PROTEST", "hunger"): "142", ("PROTEST", "boycott"): "143",
    ("PROTEST", "obstruct"): "144", ("PROTEST", "vandalize"): "145",
    ("SANCTION", "expel"): "166",
    ("SANCTION", "withdraw"): "161", ("SANCTION", "discontinue"): "162",
    ("MOBILIZE", "troops"): "154", ("MOBILIZE", "weapons"): "152",
    ("MOBILIZE", "police"): "153", ("MOBILIZE", "militia"): "154",
    ("COERCE", "seize"): "171", ("COERCE", "restrict"): "172", ("COERCE", "censor"): "1721",
    ("COERCE", "curfew"): "1723", ("COERCE", "martial-law"): "1724",
    ("COERCE", "arrest"): "173", ("COERCE", "deport"): "174", ("COERCE", "withhold"): "163",
    ("COERCE", "misinformation"): "170", ("COERCE", "cyber"): "170",
    ("ASSAULT", "abduct"): "181", ("ASSAULT", "beat"): "182", ("ASSAULT", "torture"): "1822",
    ("ASSAULT", "sexual"): "1821", ("ASSAULT", "targeted"): "186",
    ("ASSAULT", "destroy"): "1712", ("ASSAULT", "primitive"): "180",
    ("ASSAULT", "firearms"): "193", ("ASSAULT", "explosives"): "183",
    ("ASSAULT", "suicide-attack"): "1831", ("ASSAULT", "aerial"): "195",
    ("ASSAULT", "drone"): "195", ("ASSAULT", "heavy-weapons"): "194",
    ("ASSAULT", "crowd-control"): "175", ("ASSAULT", "unconventional"): "200",
}


def _read(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _plover(row: dict[str, str]) -> str:
    value = row["plover_type_2021"].strip()
    if not value or value.startswith("(dropped"):
        return ""
    return value.split()[0]  # "ASSAULT (mode ...)" / "CONCEDE (081-083) / RETREAT" -> first type


def build_cameo() -> list[dict[str, object]]:
    """Rows of cameo.tsv, in code order."""
    rows = []
    for ref in _read("cameo_codes.tsv"):
        code = ref["code"].strip()
        gold_icews = ref["goldstein_icews"].strip()
        gold_gdelt = ref["goldstein_gdelt"].strip()
        icews_name = ref["name_icews"].strip()
        if len(code) == 2:
            icews_name = icews_name.capitalize()  # roots: "MAKE PUBLIC STATEMENT" -> "Make public statement"
        rows.append({
            "code": code,
            "level": len(code) - 1,
            "root_code": code[:2],
            "name": ref["name_gdelt"].strip().capitalize() if len(code) == 2 else (icews_name or ref["name_gdelt"].strip()),
            "icews_name": icews_name,
            "goldstein": float(gold_icews or gold_gdelt),
            "goldstein_gdelt": float(gold_gdelt) if gold_gdelt else "",
            "quad_class": quad_for_root(code[:2]),
            "family": family_rule(code),
            "plover_type": _plover(ref),
        })
    rows.sort(key=lambda r: str(r["code"]))
    return rows


def build_plover(cameo: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows of plover.tsv: type-level then (type, mode) representatives."""
    known = {str(r["code"]): r for r in cameo}
    types = {r["event_type"].strip(): r for r in _read("plover_types.tsv")}
    missing = set(types) ^ set(PLOVER_TYPE_CODES)
    if missing:
        raise SystemExit(f"PLOVER types differ from the reference: {sorted(missing)}")
    out = []
    for ptype, code in PLOVER_TYPE_CODES.items():
        modes = [m.strip() for m in types[ptype]["modes"].split(";") if m.strip()]
        entries = [("", code)] + [(m, PLOVER_MODE_CODES[(ptype, m)]) for m in modes if (ptype, m) in PLOVER_MODE_CODES]
        for mode, mcode in entries:
            if mcode not in known:
                raise SystemExit(f"representative code {mcode} for {ptype}/{mode} is not a CAMEO code")
            out.append({"plover_type": ptype, "mode": mode, "quad_class": known[code]["quad_class"],
                        "cameo_code": mcode})
    return out


_SUBSTATE = {"WSB": "PSE", "GZS": "PSE", "PSEGZA": "PSE", "BAG": "IRQ"}


def build_actor_codes() -> list[dict[str, object]]:
    """Rows of actors_codes.tsv (scheme, code, country), sorted."""
    rows: list[dict[str, object]] = []
    for ref in _read("gdelt_fips_country_codes.tsv"):
        if ref["iso3166_alpha3"].strip():
            rows.append({"scheme": "fips", "code": ref["fips10_4"].strip(), "country": ref["iso3166_alpha3"].strip()})
    for ref in _read("cameo_country_codes.tsv"):
        code, iso3 = ref["cameo_code"].strip(), ref["iso3166_alpha3"].strip()
        iso3 = _SUBSTATE.get(code, iso3)
        if iso3 and iso3 != code:
            rows.append({"scheme": "cameo", "code": code, "country": iso3})
    for ref in _read("icews_country_names.tsv"):
        if ref["iso3166_alpha3"].strip():
            rows.append({"scheme": "icews", "code": ref["icews_name"].strip(), "country": ref["iso3166_alpha3"].strip()})
    unique = {(r["scheme"], r["code"]): r for r in rows}
    return sorted(unique.values(), key=lambda r: (str(r["scheme"]), str(r["code"])))


def _check_relations(cameo: list[dict[str, object]]) -> None:
    """Every ICEWS relation string from the TKG benchmarks must match an icews_name."""
    names = {str(r["icews_name"]).lower() for r in cameo}
    unknown = [r["relation_name"] for r in _read("tkg_icews_relations.tsv") if r["relation_name"].lower() not in names]
    if unknown:
        raise SystemExit(f"{len(unknown)} ICEWS relation names do not match the table: {unknown[:5]}")


def _tsv(rows: list[dict[str, object]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed tables")
    args = parser.parse_args(argv)
    if not REFERENCE.is_dir():
        print(f"reference folder not found: {REFERENCE}", file=sys.stderr)
        return 2
    cameo = build_cameo()
    _check_relations(cameo)
    outputs = {OUT / "cameo.tsv": _tsv(cameo), OUT / "plover.tsv": _tsv(build_plover(cameo)),
               DATA / "actors_codes.tsv": _tsv(build_actor_codes())}
    stale = [str(path.relative_to(ROOT)) for path, text in outputs.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.check:
        print("stale: " + ", ".join(stale) if stale else "tables up to date")
        return 1 if stale else 0
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {len(text.splitlines()) - 1} rows to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
