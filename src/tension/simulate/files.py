"""A world on disk: the events as generic CSV and the truth, countries and relations beside them."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from .world import World

CSV_COLUMNS: tuple[str, ...] = (
    "event_id",
    "date",
    "source_actor",
    "source_country",
    "target_actor",
    "target_country",
    "cameo_code",
    "source_ref",
    "text",
    "dataset",
)
"""Columns of the generic CSV written by :func:`write_world` (canonical names)."""


def world_paths(out: str | Path) -> dict[str, Path]:
    """Where :func:`write_world` puts each table: events at ``out``, the rest beside it."""
    out = Path(out)
    stem = out.name[: -len(".csv")] if out.name.endswith(".csv") else out.name
    return {
        "events": out,
        "truth": out.with_name(f"{stem}.truth.csv"),
        "countries": out.with_name(f"{stem}.countries.csv"),
        "relations": out.with_name(f"{stem}.relations.csv"),
    }


def write_world(world: World, out: str | Path) -> dict[str, Path]:
    """Write the world as CSV files; the same world always gives the same bytes.

    ``out`` receives the events in the generic CSV format (columns :data:`CSV_COLUMNS`,
    canonical names, readable by ``tension ingest --format csv``); ``<stem>.truth.csv``,
    ``<stem>.countries.csv`` and ``<stem>.relations.csv`` are written beside it.
    Nothing time-dependent is written, and floats have a fixed format.

    Returns
    -------
    dict
        Table name -> path written.
    """
    paths = world_paths(out)
    paths["events"].parent.mkdir(parents=True, exist_ok=True)
    ev = world.events
    table = pa.table(
        {
            "event_id": pa.array(ev["event_id"].to_numpy(dtype=object), pa.string()),
            "date": pa.array(ev["date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object), pa.string()),
            "source_actor": pa.array(ev["source_actor"].to_numpy(dtype=object), pa.string()),
            "source_country": pa.array(ev["source_country"].to_numpy(dtype=object), pa.string()),
            "target_actor": pa.array(ev["target_actor"].to_numpy(dtype=object), pa.string()),
            "target_country": pa.array(ev["target_country"].to_numpy(dtype=object), pa.string()),
            "cameo_code": pa.array(ev["cameo_code"].to_numpy(dtype=object), pa.string()),
            "source_ref": pa.array(ev["source_ref"].to_numpy(dtype=object), pa.string()),
            "text": pa.array(ev["text"].to_numpy(dtype=object), pa.string()),
            "dataset": pa.array(ev["dataset"].to_numpy(dtype=object), pa.string()),
        }
    )
    _write_csv_table(table, paths["events"])
    truth = world.truth.copy()
    for col in ("start", "end"):
        truth[col] = truth[col].dt.strftime("%Y-%m-%d")
    truth.to_csv(paths["truth"], index=False, lineterminator="\n", float_format="%.3f")
    world.countries.to_csv(paths["countries"], index=False, lineterminator="\n")
    world.relations.to_csv(paths["relations"], index=False, lineterminator="\n", float_format="%.4f")
    return paths


def _write_csv_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` as UTF-8 CSV with quoting only where needed (pyarrow, fast and stable)."""
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    pacsv.write_csv(table, str(path), options)
