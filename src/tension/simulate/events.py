"""Rates to events: Poisson draws per dyad-week, the control world's scatter, and the canonical frames."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import EVENT_SCHEMA, events_from_arrow
from .vocabulary import VERBS, VOCAB, code_table

_DOW_P = np.array([0.17, 0.17, 0.17, 0.17, 0.16, 0.09, 0.07])  # Monday .. Sunday
_DUPLICATE_SHARE = 0.004


def scatter(rng: np.random.Generator, part: tuple[np.ndarray, ...], D: int, week_p: np.ndarray) -> tuple[np.ndarray, ...]:
    """Control world: the same events (code, weekday, duplicate flag) on uniform random dyads and weeks.

    Dyads are uniform over all ``D`` active directed dyads (not by volume, relation or tension);
    weeks are drawn from ``week_p`` (uniform, outage weeks down-weighted like every other event).
    """
    _, _, code, dow, dup = part
    n = len(code)
    dyad = rng.integers(0, D, size=n).astype(np.int32)
    week = rng.choice(len(week_p), size=n, p=week_p).astype(np.int32)
    return dyad, week, code, dow, dup


def draw_events(rng: np.random.Generator, rate: np.ndarray, kind: str) -> tuple[np.ndarray, ...]:
    """Poisson counts per dyad-week -> one entry per event: dyad, week, code index, weekday, duplicate flag."""
    counts = rng.poisson(rate)
    T = rate.shape[1]
    cells = np.flatnonzero(counts)
    cell = np.repeat(cells, counts.ravel()[cells])
    offset = sum(len(v) for k, v in VOCAB.items() if list(VOCAB).index(k) < list(VOCAB).index(kind))
    weights = np.array([wt for _, wt, _ in VOCAB[kind]])
    pick = np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(len(cell)), side="right")
    pick = np.minimum(pick, len(weights) - 1)
    # day of week (weekly seasonality) and duplicate flags come from the same stream, so a part
    # keeps its codes, weekdays and duplicates when the control world moves it to other dyad-weeks
    dow = np.searchsorted(np.cumsum(_DOW_P), rng.random(len(cell)), side="right").clip(0, 6)
    dup = rng.random(len(cell)) < _DUPLICATE_SHARE
    return (cell // T).astype(np.int32), (cell % T).astype(np.int32), (offset + pick).astype(np.int16), dow, dup


def assemble(
    geo: dict[str, Any],
    dyad: np.ndarray,
    day: np.ndarray,
    code: np.ndarray,
    number: np.ndarray,
    first: pd.Timestamp,
    seed: int,
    control: bool,
    tag: str,
) -> pd.DataFrame:
    """Arrays -> canonical events frame (built as Arrow for speed, then canonical dtypes)."""
    n = len(dyad)
    table = code_table()
    codes_arr = pa.array(table["cameo_code"].tolist(), pa.string())
    src_code = pa.array(geo["codes"].tolist(), pa.string())
    src_name = pa.array(geo["names"].tolist(), pa.string())
    s_idx = pa.array(geo["src"][dyad])
    t_idx = pa.array(geo["tgt"][dyad])
    c_idx = pa.array(code.astype(np.int32))
    src_c, tgt_c = pc.take(src_code, s_idx), pc.take(src_code, t_idx)
    kind = "synthetic-control" if control else "synthetic"
    num = pc.cast(pa.array(number), pa.string())
    ref = pc.binary_join_element_wise(f"{kind}:{seed}", num, ":")
    eid = pc.binary_join_element_wise(f"{kind}:{seed}:{tag}", num, ":")  # prefixed: ingest keeps it as is
    text = pc.binary_join_element_wise(src_c, pc.take(pa.array(list(VERBS), pa.string()), c_idx), tgt_c, "(synthetic)", " ")
    epoch = np.datetime64(first.date(), "D")
    dates = pa.array((epoch + day.astype("timedelta64[D]")).astype("datetime64[D]"), pa.date32())
    null_s = pa.nulls(n, pa.string())
    arrays = {
        "event_id": eid,
        "date": dates,
        "source_actor": pc.take(src_name, s_idx),
        "source_country": src_c,
        "source_org": null_s,
        "target_actor": pc.take(src_name, t_idx),
        "target_country": tgt_c,
        "target_org": null_s,
        "cameo_code": pc.take(codes_arr, c_idx),
        "root_code": pc.take(pa.array(table["root_code"].tolist(), pa.string()), c_idx),
        "quad_class": pc.take(pa.array(table["quad_class"].to_numpy(), pa.int8()), c_idx),
        "goldstein": pc.take(pa.array(table["goldstein"].to_numpy(), pa.float32()), c_idx),
        "family": pc.take(pa.array(table["family"].tolist(), pa.string()), c_idx),
        "weight": pa.array(np.ones(n, dtype=np.float32)),
        "dataset": pa.array(np.full(n, "synthetic", dtype=object), pa.string()) if n else null_s,
        "source_ref": ref,
        "text": text,
        "batch_id": null_s,
        "ingested_at": pa.nulls(n, pa.timestamp("us", tz="UTC")),
        "source_file": null_s,
        "source_line": pa.nulls(n, pa.int64()),
    }
    return events_from_arrow(pa.table(arrays, schema=EVENT_SCHEMA))


def truth_frame(geo: dict[str, Any], ep: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    """Episodes (pair x week numbers) -> the ``World.truth`` table: dyad, dates, episode, initiator, intensity, lead."""
    codes, pi, pj = geo["codes"], geo["pi"], geo["pj"]
    a, b = codes[pi[ep["pair"].to_numpy()]], codes[pj[ep["pair"].to_numpy()]]
    init = ep["initiator"].to_numpy()
    truth = pd.DataFrame(
        {
            "dyad": pd.array(np.char.add(np.char.add(a, "|"), b) if len(ep) else [], dtype="str"),
            "start": first + pd.to_timedelta(ep["start"].to_numpy() * 7, unit="D"),
            "end": first + pd.to_timedelta(ep["end"].to_numpy() * 7 + 6, unit="D"),
            "initiator": pd.array(np.where(init == 0, a, b) if len(ep) else [], dtype="str"),
            "intensity": ep["intensity"].round(3).to_numpy(),
            "lead_weeks": ep["lead"].to_numpy(),
        }
    )
    truth = truth.sort_values(["start", "dyad"], kind="stable").reset_index(drop=True)
    truth.insert(3, "episode", np.arange(len(truth)))
    return truth
