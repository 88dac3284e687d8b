"""The real ICEWS samples (../shared/data/icews): event names map to CAMEO, actors to countries."""
from __future__ import annotations

from pathlib import Path

from tension.ingest import ingest
from tension.store import Store


def test_real_icews_samples_map_codes_and_resolve_countries(shared_data: Path, tmp_path: Path) -> None:
    files = sorted((shared_data / "icews").glob("*.tsv"))
    assert files, "no ICEWS samples found"
    store = Store(tmp_path / "store")
    report = ingest(files, store)
    t = report.total
    assert t.identity_holds and t.read > 50_000
    unknown_code = t.quarantined_by_reason.get("unknown_event_code", 0)
    code_share = 1 - unknown_code / t.read
    events = store.read(columns=["source_country", "target_country"])
    both = (events["source_country"].notna() & events["target_country"].notna()).mean()
    print(
        f"\nICEWS samples: {t.read} events read, {t.stored} stored, {t.duplicates} duplicates, {t.quarantined} quarantined "
        f"{t.quarantined_by_reason}\n"
        f"  event names mapped to CAMEO codes: {code_share:.2%} (target >= 99%)\n"
        f"  both sides resolved to a country: {both:.2%} of stored events (target >= 65%)\n"
        f"  two-country dyads: {t.dyad_share:.2%} of stored events\n"
        f"  unresolved actor names: {len(t.unresolved)}; most frequent: {t.unresolved.most_common(8)}"
    )
    assert code_share >= 0.99
    assert both >= 0.65
