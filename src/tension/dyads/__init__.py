"""Events -> bilateral series: the heavy aggregation of the panel stage.

The build has three steps, each a pure function, so a distributed engine can run
the middle one per dyad-hash bucket and get the same rows as the local path:

1. :func:`event_counts` (:mod:`.counts`) - one DuckDB ``GROUP BY`` over the events (a
   DataFrame or the store's Parquet files) into long rows ``(s, t, p, family, mask) -> n, g, h``.
2. :func:`country_context` (:mod:`.context`) - one small country-level pass over those rows:
   global and per-country volume, each country's conflict with everyone, allies'
   activity, bloc moves, region temperature, the ``low_coverage`` flag.
3. :func:`dyad_arrays` (:mod:`.arrays`) - one bucket of rows (all history of some dyads,
   see :mod:`.buckets`) -> dense dyad x period arrays (:class:`DyadArrays`) that feature
   builders read; :func:`base_frame` (:mod:`.frame`) turns them into the base panel columns.

:mod:`.channels` holds the code-set channels (the bits of the ``mask``). Periods are
the integer index of :mod:`tension.periods` (the one calendar).

Dyad selection is past-only: a dyad is in the panel at period t when it had at
least one event in the last ``lookback`` periods up to and including t (36
months, expressed in periods of the frequency), or when the analyst monitors it.
"""
from __future__ import annotations

from .arrays import DyadArrays, dyad_arrays, window_sums
from .buckets import (
    DYAD_KINDS,
    bucket_of,
    check_kind,
    dyad_labels,
    dyadic_mask,
    dyadic_rows,
    monitored_bucket,
    monitored_pairs,
    pair_buckets,
    pair_keys,
    parse_dyad,
)
from .channels import CHANNEL_SETS, CHANNELS, Channel, channel_codes
from .context import CountryContext, country_context, trailing_median
from .counts import EVENT_COLUMNS, count_table, event_counts
from .frame import BASE_COLUMNS, aggregate, base_columns, base_frame, take_strings

__all__ = [
    "DYAD_KINDS",
    "CHANNELS",
    "CHANNEL_SETS",
    "Channel",
    "EVENT_COLUMNS",
    "CountryContext",
    "DyadArrays",
    "aggregate",
    "event_counts",
    "count_table",
    "country_context",
    "dyad_arrays",
    "base_frame",
    "base_columns",
    "bucket_of",
    "pair_keys",
    "pair_buckets",
    "monitored_bucket",
    "parse_dyad",
    "monitored_pairs",
    "dyad_labels",
    "check_kind",
    "channel_codes",
    "dyadic_rows",
    "dyadic_mask",
    "take_strings",
    "trailing_median",
    "window_sums",
    "BASE_COLUMNS",
]
