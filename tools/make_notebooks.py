"""Write notebooks/*.ipynb from the cell sources below (outputs stripped).

Run: .venv/bin/python tools/make_notebooks.py
The notebooks use only the public API (``tension.__all__``); tests/test_notebooks.py executes them.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parents[1] / "notebooks"

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_explore_events.ipynb": [
        ("md", "# 01 Explore events\n\nVolumes, families and the most active dyads, first in a **synthetic** world "
               "(invented countries `XAA`..), then in the team's hand-coded South Caucasus examples. "
               "Everything here uses only the public API (`tension.__all__`)."),
        ("code", "import matplotlib\nmatplotlib.use('Agg')\nimport pandas as pd\nimport tension\n\n"
                 "world = tension.simulate(seed=3, countries=12, years=3)\n"
                 "events = world.events\nprint(f'{len(events):,} synthetic events, {events.date.min().date()} .. {events.date.max().date()}')"),
        ("md", "## Weekly volume (SYNTHETIC)\nSource outages show up as weeks with almost no events at all: "
               "the panel flags them `low_coverage` rather than reading them as calm."),
        ("code", "weekly = events.set_index('date').resample('W-MON', label='left', closed='left').size()\n"
                 "ax = weekly.plot(title='Synthetic world: events per week (SYNTHETIC)', figsize=(9, 3))\n"
                 "print('outage weeks in ground truth:', len(world.outages))\nweekly.describe()"),
        ("md", "## Event families"),
        ("code", "events['family'].value_counts()"),
        ("md", "## Most active two-country dyads"),
        ("code", "two = events.dropna(subset=['source_country', 'target_country'])\n"
                 "two = two[two.source_country != two.target_country]\n"
                 "top = (two.source_country + '>' + two.target_country).value_counts().head(10)\ntop"),
        ("md", "## Hand-coded real examples (South Caucasus, 2020-2025)\n"
               "Written by the team from public reporting, one source note per row. They are never mixed "
               "with the synthetic world and never scored by a model trained on it."),
        ("code", "examples = tension.read_events('../data/examples/south_caucasus.csv', format='csv')\n"
                 "print(examples.read, 'rows read,', len(examples.events), 'events,', len(examples.quarantine), 'quarantined')\n"
                 "examples.events[['date', 'source_actor', 'target_actor', 'cameo_code', 'family', 'text']].head(10)"),
        ("code", "examples.events.groupby(['family']).size()"),
    ],
    "02_dyad_series.ipynb": [
        ("md", "# 02 One dyad's series and features\n\nThe hand-coded Armenia-Azerbaijan and "
               "Russia-Azerbaijan examples as monthly series, then a synthetic dyad with its known episodes."),
        ("code", "import matplotlib\nmatplotlib.use('Agg')\nimport pandas as pd\nimport tension\n\n"
                 "ex = tension.read_events('../data/examples/south_caucasus.csv', format='csv').events\n"
                 "panel = tension.build_panel(ex, freq='M', dyads='directed')\n"
                 "print(panel.attrs['freq'], panel.attrs['dyads'], len(panel), 'rows,', panel.dyad.nunique(), 'dyads')"),
        ("md", "## Armenia and Azerbaijan, both directions (hand-coded)"),
        ("code", "base = ['incident_count', 'denial_count', 'alliance_move_count', 'cooperation_count', 'material_conflict_count']\n"
                 "arm_aze = panel[panel.dyad.isin(['AZE>ARM', 'ARM>AZE'])]\n"
                 "arm_aze[arm_aze[base].sum(axis=1) > 0][['dyad', 'period', *base]]"),
        ("md", "## Russia and Azerbaijan: the 2025 Yekaterinburg raid and its fallout (hand-coded)"),
        ("code", "rus_aze = panel[panel.dyad.isin(['RUS>AZE', 'AZE>RUS'])]\n"
                 "rus_aze[rus_aze[base].sum(axis=1) > 0][['dyad', 'period', *base]]"),
        ("md", "## The registered features\nEach feature is a small pure function; its docstring gives meaning, unit and window."),
        ("code", "pd.DataFrame([(f.__name__, (f.__doc__ or '').strip().splitlines()[0]) for f in tension.FEATURES],\n"
                 "             columns=['feature', 'meaning']).head(15)"),
        ("md", "## A synthetic dyad with known episodes (SYNTHETIC)"),
        ("code", "world = tension.simulate(seed=5, countries=10, years=3)\n"
                 "wpanel = tension.build_panel(world.events, freq='W', dyads='undirected')\n"
                 "dyad = world.truth.dyad.value_counts().index[0]\n"
                 "series = wpanel[wpanel.dyad == dyad].set_index('period')\n"
                 "ax = series[['material_conflict_count', 'denial_count', 'incident_count']].plot(figsize=(9, 3), title=f'{dyad} (SYNTHETIC)')\n"
                 "for _, ep in world.truth[world.truth.dyad == dyad].iterrows():\n"
                 "    ax.axvspan(ep.start, ep.end, color='red', alpha=0.15)\n"
                 "world.truth[world.truth.dyad == dyad]"),
        ("md", "## The target is the only forward-looking column"),
        ("code", "y = tension.make_target(wpanel, 'any_material_conflict', horizon=4, k=1)\n"
                 "print('positives:', int(y.sum()), 'of', int(y.notna().sum()), 'labelled dyad-weeks;', int(y.isna().sum()), 'not yet observable')"),
    ],
    "03_train_backtest.ipynb": [
        ("md", "# 03 Train, backtest and compare models against baselines\n\n"
               "A rolling-origin, expanding-window backtest on a **synthetic** world: every model is refitted "
               "at its origins on data that ends `gap >= horizon` periods before, and judged against base "
               "rate and persistence."),
        ("code", "import matplotlib\nmatplotlib.use('Agg')\nimport pandas as pd\nimport tension\n\n"
                 "world = tension.simulate(seed=11, countries=10, years=3)\n"
                 "panel = tension.build_panel(world.events, freq='W', dyads='undirected')\n"
                 "periods = panel.period.drop_duplicates().sort_values()\n"
                 "spec = tension.BacktestSpec(start=periods.iloc[80], end=periods.iloc[-6], freq='W', horizon=4,\n"
                 "                            refit_every=26, min_train_periods=52)\n"
                 "len(spec.origins())"),
        ("code", "result = tension.run_backtest(panel, spec, models=['history', 'logit', 'hgb'], target='any_material_conflict', k=1)\n"
                 "cols = ['model', 'horizon', 'n', 'positives', 'brier', 'log_loss', 'roc_auc', 'average_precision', 'bss_base_rate', 'bss_persistence']\n"
                 "result.metrics[[c for c in cols if c in result.metrics.columns]]"),
        ("md", "Warnings (statistical trouble is reported, never a silent NaN):"),
        ("code", "result.warnings"),
        ("md", "## One model by hand with `evaluate`"),
        ("code", "preds = tension.evaluate(tension.make_model('logit'), panel, spec, target='any_material_conflict', k=1, model_name='logit')\n"
                 "preds.head()"),
    ],
    "04_scored_report_and_ledger.ipynb": [
        ("md", "# 04 The scored report and the forecast ledger\n\nReads what `tension demo` left behind (the latest "
               "scores table and the ledger; the world is **synthetic**). Set `TENSION_DEMO` to another demo folder if needed."),
        ("code", "import os\nfrom pathlib import Path\nimport pandas as pd\nimport tension\n\n"
                 "demo = Path(os.environ.get('TENSION_DEMO', '../data/demo'))\n"
                 "assert (demo / 'scores').is_dir(), f'No demo output in {demo}: run `tension demo` first.'\n"
                 "latest = max((demo / 'scores').glob('scores-*.parquet'))\n"
                 "scores = pd.read_parquet(latest)\nprint(latest.name, len(scores), 'scores')"),
        ("md", "## The latest watchlist\nCalibrated probability with its 80% band; dyads with too little recent data say so."),
        ("code", "cols = ['rank', 'region', 'region_rank', 'dyad', 'horizon', 'probability', 'lower', 'upper', 'change', 'coverage']\n"
                 "scores.sort_values('rank')[[c for c in cols if c in scores.columns]].head(15)"),
        ("md", "## Why the top dyad scores high"),
        ("code", "import json\ntop = scores.sort_values('rank').iloc[0]\n"
                 "pd.DataFrame(json.loads(top['drivers']))[['feature', 'contribution', 'text']].head(8)"),
        ("md", "## The ledger: issued forecasts, resolutions, track record\nIssued forecasts are never rewritten; "
               "resolutions are appended once a window has passed. Hindcasts never count."),
        ("code", "ledger = tension.Ledger(demo / 'ledger')\nledger.summary()"),
        ("code", "ledger.track_record(threshold=0.5)"),
        ("code", "ledger.reliability()"),
        ("md", "## The same scores as a Markdown report"),
        ("code", "text = tension.render_report(scores, format='md')\nprint(text[:1500])"),
    ],
}


def build() -> list[Path]:
    HERE.mkdir(exist_ok=True)
    written = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(
            cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                      "language_info": {"name": "python"}},
        )
        path = HERE / name
        nbformat.write(nb, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build():
        print(p)
