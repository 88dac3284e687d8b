"""The Dask engine gives the local engine's rows, on a real 2-process LocalCluster.

Tolerance (stated once, used everywhere): identical rows, columns, dtypes and integer
values; float values equal within ``rtol=1e-9`` (Goldstein sums are added in a
different order when month files are aggregated on different workers).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tension.backtest import BacktestSpec
from tension.config import Experiment, PanelConfig, TrackingConfig
from tension.engines import DaskEngine, LocalEngine, _monitored_bucket, engine_options, get_engine
from tension.errors import UsageError
from tension.models import make_model
from tension.simulate import simulate
from tension.store import Store

RTOL = 1e-9


def _assert_same(local: pd.DataFrame, dask: pd.DataFrame) -> None:
    assert list(local.columns) == list(dask.columns)
    assert local.dtypes.equals(dask.dtypes)
    assert len(local) == len(dask)
    pd.testing.assert_frame_equal(local, dask, check_exact=False, rtol=RTOL, atol=0.0)
    assert local.attrs == dask.attrs


@pytest.fixture(scope="module")
def world():
    return simulate(seed=11, countries=8, years=2.5)


@pytest.fixture(scope="module")
def store(world, tmp_path_factory) -> Store:
    s = Store(str(tmp_path_factory.mktemp("engines") / "store"))
    s.append(world.events)
    assert len(s.files()) > 20  # many month partitions, so the shuffle really moves rows between workers
    return s


@pytest.fixture(scope="module")
def cluster_engine():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        with get_engine("dask", client=client) as engine:
            yield engine
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def panels(store, cluster_engine):
    local = LocalEngine().build_panel(store, freq="W", dyads="directed")
    dask = cluster_engine.build_panel(store, freq="W", dyads="directed")
    return local, dask


def test_dask_panel_equals_local_panel_from_the_store(panels, cluster_engine):
    local, dask = panels
    assert cluster_engine.describe()["workers"] == 2
    assert len(local) > 1000
    _assert_same(local, dask)


def test_dask_panel_equals_local_for_undirected_dyads_monitored_dyads_and_a_dataframe(world, cluster_engine):
    kwargs = {"freq": "M", "dyads": "undirected", "start": "2019-03-01", "end": "2020-12-31"}
    countries = sorted(set(world.events["source_country"].dropna()))
    cfg = PanelConfig(monitored=(f"QQQ|{countries[0]}",))  # a dyad without any event is still in the panel
    local = LocalEngine().build_panel(world.events, config=cfg, **kwargs)
    dask = cluster_engine.build_panel(world.events, config=cfg, **kwargs)
    assert (local["dyad"] == f"QQQ|{countries[0]}").any()
    _assert_same(local, dask)


@pytest.fixture(scope="module")
def spec(panels) -> BacktestSpec:
    periods = pd.DatetimeIndex(sorted(pd.unique(panels[0]["period"])))
    return BacktestSpec(periods[60], periods[71], freq="W", horizon=4, refit_every=4, min_train_periods=40)


def test_dask_backtest_equals_local_and_logs_worker_runs_as_children(panels, spec, cluster_engine, tmp_path: Path):
    panel = panels[0]
    models = {"logit": make_model("logit")}
    local = LocalEngine().run_backtest(panel, spec, models, run_id="same")
    experiment = Experiment(tracking=TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", experiment="engines"))
    from tension import tracking

    with tracking.job_run(experiment, run_name="driver") as parent:
        dask = cluster_engine.run_backtest(panel, spec, models, run_id="same", parent_run_id=parent, experiment=experiment,
                                           chunks_per_model=2)
    assert set(local.predictions["model"]) == {"base_rate", "persistence", "logit"}
    _assert_same(local.predictions, dask.predictions)
    _assert_same(local.metrics, dask.metrics)
    assert local.leakage == dask.leakage
    assert set(dask.warnings) >= {w for w in local.warnings if "origins have no panel rows" not in w}

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=experiment.tracking.uri)
    exp = client.get_experiment_by_name("engines")
    children = client.search_runs([exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    assert len(children) == 3 * 2  # one per (model, chunk)
    assert all(r.info.status == "FINISHED" for r in children)
    assert sum(r.data.metrics["rows"] for r in children) == len(dask.predictions)
    assert {r.data.tags["tension.kind"] for r in children} == {"backtest"}


def test_dask_scores_equal_local_scores_per_horizon(panels, spec, cluster_engine):
    panel = panels[0]
    from tension.backtest import fit_final

    fitted = {h: fit_final(make_model("logit"), panel, spec.end, "W", horizon=h)[0] for h in (1, 4)}
    local = LocalEngine().score(fitted, panel, horizons=(1, 4))
    dask = cluster_engine.score(fitted, panel, horizons=(1, 4))
    assert len(local) == 2 * panel["period"].eq(panel["period"].max()).sum()
    _assert_same(local, dask)


def test_get_engine_rejects_unknown_names_and_a_scheduler_without_dask():
    with pytest.raises(UsageError, match="Unknown engine"):
        get_engine("spark")
    with pytest.raises(UsageError, match="only applies to the Dask engine"):
        get_engine("local", "tcp://127.0.0.1:8786")


def test_unreachable_scheduler_is_a_usage_error_not_a_traceback():
    with pytest.raises(UsageError, match="Cannot reach the Dask scheduler"):
        DaskEngine(scheduler="tcp://127.0.0.1:9", connect_timeout="1s")


def test_monitored_dyads_go_to_the_bucket_of_their_pair_in_both_directions():
    assert _monitored_bucket("ARM>AZE", 7) == _monitored_bucket("azE|arm", 7)
    assert set(engine_options()) == {"engine", "scheduler"}
    assert isinstance(np.int64(_monitored_bucket("garbage", 7)), np.integer)


def test_map_tasks_get_consecutive_files_of_about_equal_bytes(tmp_path: Path):
    from tension.engines import _split_files

    files = []
    for i, size in enumerate([10, 10, 10, 10, 40, 10, 10]):
        f = tmp_path / f"month={i:02d}.parquet"
        f.write_bytes(b"x" * size)
        files.append(str(f))
    parts = _split_files(files, 2)
    assert [p for part in parts for p in part] == files  # consecutive, nothing lost or repeated
    assert [len(p) for p in parts] == [4, 3]  # 40 + 60 bytes, not 4 + 3 by count alone
    many = _split_files(files, 99)
    assert [p for part in many for p in part] == files and 1 < len(many) <= len(files) and all(many)
    remote = [f"s3://bucket/events/month={i}.parquet" for i in range(5)]
    assert sorted(len(p) for p in _split_files(remote, 2)) == [2, 3]  # sizes unknown here: by count


def test_a_cluster_the_engine_starts_keeps_one_thread_per_worker_and_default_malloc():
    pytest.importorskip("distributed")
    import os

    with get_engine("dask", n_workers=1) as engine:
        assert engine.describe()["threads"] == 1
        env = engine.client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS")))
    assert list(env.values()) == [(None, "1")]
