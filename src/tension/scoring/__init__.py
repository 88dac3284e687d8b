"""Scoring: a fitted model and the panel -> the scores table analysts read.

:func:`score` scores every dyad present in the panel at ``as_of`` (the panel's own
selection: active in the look-back, or listed by the analyst) for each horizon and
returns the scores table of ARCHITECTURE ("Scores table") plus a few extra columns
(``region``, ``window_start``, ``window_end``, ``logit``, ``interval_n``,
``drivers_method``, ``band_note``).

Probability
    ``predict_proba`` of the model as given (calibrated when the model is wrapped in
    calibration).
Interval (``lower``, ``upper``; 80% by default)
    The 80% interval of the observed event rate among this model's own past forecasts
    near ``p``: the resolved backtest predictions of the scored model and horizon
    (``calibration``) are cut into ten bins of equal count by probability; in the bin
    holding ``p``, with ``k`` events among ``n`` forecasts, the band is the equal-tailed
    Jeffreys interval ``Beta(k + 1/2, n - k + 1/2)`` (:func:`observed_rate_band`). It
    reads: "when this model said about p before, the event happened between lower and
    upper of the time" -- narrow with many past cases, and away from ``p`` where the
    model was miscalibrated. ``interval_n`` is ``n``. Where it cannot be computed the
    band is NaN and ``band_note`` says why: no backtest of this model, or ``p`` outside
    the range of its past forecasts. A NaN band is never a "2%-98%" band.
Coverage
    Over the ``coverage_window`` periods ending at ``as_of``: ``insufficient`` when
    the dyad had no events at all, has fewer than half the window in the panel, or
    at least half of the window falls in low-coverage periods (a data gap), or the
    model inputs are missing; ``low`` when it had fewer than ``min_active`` active
    periods or ``as_of`` itself is a low-coverage period; else ``ok``. Insufficient
    dyads keep their computed probability but get no rank: reports show
    "insufficient data" rather than a reassuringly low number.
Drivers
    A JSON list of ``{feature, contribution, text}`` in log-odds units *before*
    calibration, completed by ``(baseline)`` and ``(other features)`` entries so that they
    add up exactly to the column ``logit`` (:mod:`tension.scoring.drivers`); the texts come
    from the feature builders' own docstrings (:mod:`tension.scoring.words`).
Evidence
    The dyad's hostile events in the ``coverage_window`` periods up to the data cutoff that
    show its drivers, read for the scored dyads only (:mod:`tension.scoring.evidence`).

Modules: ``scores`` (the table, bands, coverage, ranks), ``drivers`` (attribution),
``evidence`` (events behind a score), ``words`` (the English).
"""
from __future__ import annotations

from .drivers import Attribution, attribute, grouped_shapley, linear_attribution
from .scores import (
    NO_BACKTEST,
    SCORE_COLUMNS,
    assign_regions,
    beta_band,
    coverage_flags,
    horizons_of,
    observed_rate_band,
    score,
)
from .words import GROUP_LABELS, country_name, describe_driver, feature_label, period_words

__all__ = [
    "score",
    "attribute",
    "Attribution",
    "grouped_shapley",
    "linear_attribution",
    "beta_band",
    "observed_rate_band",
    "NO_BACKTEST",
    "coverage_flags",
    "assign_regions",
    "describe_driver",
    "feature_label",
    "GROUP_LABELS",
    "country_name",
    "period_words",
    "horizons_of",
    "SCORE_COLUMNS",
]
