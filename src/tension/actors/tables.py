"""The package's actor tables (``tension/data/actors_*.tsv``) and mapping distinct values back to rows."""
from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd


def read_table(name: str) -> pd.DataFrame:
    """One tab-separated table from ``tension/data``, every column as text."""
    with resources.files("tension").joinpath("data", name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False, quoting=3)


def factorize(values: pd.Series) -> tuple[np.ndarray, list[object]]:
    """Codes into the distinct values (-1 for missing) and the distinct values as a plain list."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(np.asarray(uniques, dtype=object))


def per_row(mapped: list[str | None], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Broadcast one result per distinct value back to the rows (code -1 -> the trailing NA)."""
    arr = np.array(mapped + [None], dtype=object)
    return pd.Series(arr[codes], index=index, dtype="str")
