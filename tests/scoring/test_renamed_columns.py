"""A model registered before the pair's history became registered builders still scores, with the same values."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from tension.models import RENAMED_COLUMNS, feature_matrix, renamed_columns
from tension.scoring import score
from tension.targets import DensePanel


def _old_history_columns(panel: pd.DataFrame) -> pd.DataFrame:
    """The two columns as tension computed them before the rename (pandas ewm; periods since, capped at 120)."""
    dense = DensePanel(panel)
    ind = dense.array(panel["material_conflict_count"].to_numpy(dtype=float) > 0)
    ewma = pd.DataFrame(ind.T).ewm(halflife=6.0, ignore_na=True).mean().to_numpy().T
    t = np.arange(ind.shape[1])[None, :]
    last = np.maximum.accumulate(np.where(np.nan_to_num(ind) > 0, t, -1), axis=1)
    since = np.where(last >= 0, t - last, np.nan)
    return pd.DataFrame({"base_mc_ewma": dense.rows(ewma), "base_mc_since": np.minimum(dense.rows(since), 120.0)},
                        index=panel.index)


def test_renamed_columns_equal_the_old_computation(panel):
    got = renamed_columns(feature_matrix(panel))
    assert sorted(got.columns) == sorted(RENAMED_COLUMNS)
    pd.testing.assert_frame_equal(got, _old_history_columns(panel), check_exact=False, atol=1e-6)


def test_a_model_trained_on_the_old_names_scores_as_it_did(panel):
    old = _old_history_columns(panel)
    X = old.assign(material_conflict_count=panel["material_conflict_count"].astype(float))
    y = (panel.groupby("dyad")["material_conflict_count"].shift(-1).fillna(0) > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=20).fit(X, y)  # takes NaN (no conflict seen yet)
    s = score(model, panel, horizons=(1,))
    last = panel["period"] == panel["period"].max()
    expected = pd.Series(model.predict_proba(X[last])[:, 1], index=panel.loc[last, "dyad"].to_numpy())
    np.testing.assert_allclose(s.set_index("dyad")["probability"], expected.loc[s["dyad"]], atol=1e-6)
