"""The event store on S3-compatible object storage (moto's server on 127.0.0.1, started here).

Credentials and endpoint come from the environment only (fake keys, ``AWS_ENDPOINT_URL``,
which s3fs/botocore honour), exactly as a user would point tension at MinIO or Ceph.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tension.engines import LocalEngine
from tension.simulate import simulate, write_world
from tension.store import Store

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

TENSION = [sys.executable, "-m", "tension.cli"] if not (Path(sys.executable).parent / "tension").exists() else [str(Path(sys.executable).parent / "tension")]


@pytest.fixture()
def s3(monkeypatch: pytest.MonkeyPatch):
    """A fresh moto S3 server with one bucket; yields the environment a subprocess needs."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    s3fs = pytest.importorskip("s3fs")
    s3fs.S3FileSystem.clear_instance_cache()  # fsspec caches filesystems; the endpoint comes from the environment
    client = boto3.client("s3")
    bucket = f"tension-{uuid.uuid4().hex[:12]}"  # moto keeps state per process: never reuse a bucket
    client.create_bucket(Bucket=bucket)
    try:
        yield {**os.environ, **env}, client, bucket
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def _keys(client, bucket: str, prefix: str) -> set[str]:
    out: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out |= {o["Key"] for o in page.get("Contents", [])}
    return out


def _ingest(csv: Path, url: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([*TENSION, "ingest", str(csv), "--format", "csv", "--store", url, "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_ingest_into_s3_and_build_the_panel_from_it(s3, tmp_path: Path):
    env, client, bucket = s3
    url = f"s3://{bucket}/events"
    world = simulate(seed=5, countries=6, years=1.5)
    csv = write_world(world, tmp_path / "world.csv")["events"]
    proc = _ingest(csv, url, env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    store = Store(url)
    assert any(k.startswith("events/_manifests/") for k in _keys(client, bucket, "events/"))
    assert all(f.startswith(f"{url}/data/month=") for f in store.files())
    events = store.read()
    assert len(events) == store.summary()["events"] > 0
    assert events["event_id"].is_unique
    panel = LocalEngine().build_panel(url, freq="W")
    local = LocalEngine().build_panel(world.events.drop_duplicates("event_id"), freq="W")  # the store dedupes by event_id
    assert len(panel) > 0
    pd.testing.assert_frame_equal(panel, local, check_exact=False, rtol=1e-9)


def test_a_killed_ingest_on_s3_leaves_the_store_readable_and_unchanged(s3, tmp_path: Path):
    env, client, bucket = s3
    url = f"s3://{bucket}/events"
    first = simulate(seed=1, countries=8, years=4)
    second = simulate(seed=2, countries=8, years=4)
    a = write_world(first, tmp_path / "a.csv")["events"]
    b = write_world(second, tmp_path / "b.csv")["events"]
    proc = _ingest(a, url, env)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()[-2000:]
    store = Store(url)
    before_manifest, before_digest = store.manifest, store.digest
    before = store.read()
    committed = _keys(client, bucket, "events/")

    proc = _ingest(b, url, env)
    killed_with_orphans = False
    deadline = time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline:
        new_data = {k for k in _keys(client, bucket, "events/data/") if k not in committed}
        if new_data:  # the batch is writing its files; its manifest comes last
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            killed_with_orphans = True
            break
        time.sleep(0.02)
    assert killed_with_orphans, "the ingest finished before any of its files could be observed; cannot test the kill"
    assert proc.returncode == -signal.SIGKILL

    after = Store(url)
    orphans = {k for k in _keys(client, bucket, "events/data/") if k not in committed}
    assert orphans, "the kill landed after the data files were written, as intended"
    assert after.digest == before_digest
    assert after.manifest["files"] == before_manifest["files"]
    assert after.manifest["batches"] == before_manifest["batches"]
    pd.testing.assert_frame_equal(after.read(), before)
    assert not any(f.split("/")[-1] in {o.split("/")[-1] for o in orphans} for f in after.files())

    proc = _ingest(b, url, env)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()[-2000:]
    final = Store(url)
    events = final.read()
    assert events["event_id"].is_unique
    expected = set(first.events["event_id"]) | set(second.events["event_id"])
    assert set(events["event_id"]) == expected
    summary = final.summary()
    assert summary["identity_holds"]
    assert summary["batches"] == 2  # the killed batch left no record
    assert final.batches()["stored"].iloc[-1] == len(set(second.events["event_id"]) - set(first.events["event_id"]))
