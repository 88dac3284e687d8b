"""The pyfunc every registered version is: feature configuration + fitted estimator; panel rows in, probabilities out.

This is the one tracking module that imports mlflow when imported (its class derives from
``mlflow.pyfunc.PythonModel``); :mod:`tension.tracking` loads it on first use of
``TensionModel``, after :func:`~tension.tracking.setup.configure`. The class names its public
home, ``tension.tracking``, as its module, so pickled models refer to
``tension.tracking.TensionModel`` whatever file defines it.
"""
from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from ..errors import UsageError, problem


class TensionModel(mlflow.pyfunc.PythonModel):
    """The pyfunc: feature configuration + fitted estimator; panel rows in, probabilities out.

    Parameters
    ----------
    estimator
        A fitted scikit-learn-style estimator with ``predict_proba``.
    features
        The panel columns the estimator sees, in order.
    config
        Feature configuration (``freq``, ``dyads``, ``builders``, target, horizon, ...).
    """

    __module__ = "tension.tracking"  # the public home: pickles refer to tension.tracking.TensionModel

    def __init__(self, estimator: Any, features: list[str], config: dict[str, Any]) -> None:
        self.estimator = estimator
        self.features = list(features)
        self.config = dict(config)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Return ``dyad``, ``period``, ``probability`` (of the configured target) for each input row.

        With ``config["matrix"] == "feature_matrix"`` (models trained by tension) the columns
        come from :func:`tension.models.feature_matrix`, whose history helpers look back over
        each dyad's earlier rows: pass whole panel histories, not only the rows to score.
        """
        X = self.matrix(model_input)
        proba = np.asarray(self.estimator.predict_proba(X))[:, 1]
        out = model_input[["dyad", "period"]].reset_index(drop=True).copy()
        out["probability"] = proba.astype(float)
        return out

    def matrix(self, panel: pd.DataFrame) -> pd.DataFrame:
        """The estimator's input for ``panel`` rows (the same columns, in the same order, as in training)."""
        if self.config.get("matrix", "feature_matrix") == "feature_matrix":
            from ..models import feature_matrix

            frame = panel.copy()
            frame.attrs["freq"] = self.config.get("freq") or panel.attrs.get("freq")
            source = feature_matrix(frame)
        else:
            source = panel
        missing = [c for c in self.features if c not in source.columns]
        if missing:
            raise UsageError(
                problem(
                    "The panel lacks columns this model was trained on.",
                    f"the columns {missing[:10]}",
                    got=f"{len(panel.columns)} columns",
                    fix=f"Build the panel with freq={self.config.get('freq')!r}, dyads={self.config.get('dyads')!r} "
                    "and the same feature builders.",
                )
            )
        return source[self.features]
