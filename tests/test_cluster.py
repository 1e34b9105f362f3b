"""Beyond one machine: releases staged in parallel processes (the job stage_releases, one run
per release), then one writer run whose steps each run in their own process (the multiprocess
executor) under the pool `warehouse_writer` limited to 1, on a persistent instance; the
warehouse must equal a serial build's, and no two writer steps may overlap."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import REPO, build, snapshot
from trade_etl import settings
from trade_etl.ingest import staging
from trade_etl.ingest.releases import discover
from trade_etl.sample import write_sample

STAGE = """
import sys
import dagster as dg
from trade_etl.definitions import defs
result = defs.resolve_job_def("stage_releases").execute_in_process(
    instance=dg.DagsterInstance.get(), partition_key=sys.argv[1], raise_on_error=False)
sys.exit(0 if result.success else 1)
"""


def test_releases_staged_in_parallel_then_one_pooled_writer_equal_a_serial_build(
        tmp_path, monkeypatch):
    releases = write_sample(tmp_path / "sample", years=(2024,))[:2]
    raw = tmp_path / "raw"
    for folder in releases:
        shutil.copytree(folder, raw / folder.name)
    assert build(raw, tmp_path / "serial.duckdb") == 0

    home = tmp_path / "home"  # a persistent instance with the project's settings, pools on
    home.mkdir()
    shutil.copy(settings.DAGSTER_YAML, home / "dagster.yaml")
    warehouse = tmp_path / "parallel.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), settings.RAW_DIR_ENV: str(raw),
           settings.WAREHOUSE_ENV: str(warehouse), settings.QUIET_ENV: "0"}
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the instance's event log lives there too
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("releases", [f.name for f in releases])
        instance.event_log_storage.set_concurrency_slots("warehouse_writer", 1)

    # Both stagings pause inside their step until each has said so: they ran side by side.
    resume = tmp_path / "resume"
    stagers = [subprocess.Popen(
        [sys.executable, "-c", STAGE, folder.name], stderr=subprocess.PIPE, text=True,
        env={**env, "TRADE_ETL_PAUSEPOINT": "staging:validated",
             "TRADE_ETL_PAUSE_UNTIL": str(resume), "TRADE_ETL_PAUSE_SECONDS": "240"})
        for folder in releases]
    try:
        for stager in stagers:
            for line in stager.stderr:
                if "paused at staging:validated" in line:
                    break
            else:
                raise AssertionError("a staging run ended before it paused")
        resume.touch()
        for stager in stagers:
            _, err = stager.communicate(timeout=240)
            assert stager.returncode == 0, err[-3000:]
    finally:
        for stager in stagers:
            stager.kill()
    root = staging.staging_root(warehouse)
    bundles = [p for p in root.glob("*/*") if (p / "results.json").is_file()]
    assert len(bundles) == len([s for s in discover(raw) if not s.problem]) > 2

    # The writer: `trade-etl build` with every step in its own process, under the pool.
    done = subprocess.run([str(Path(sys.executable).with_name("trade-etl")), "build",
                           "--raw-dir", str(raw), "--warehouse", str(warehouse)],
                          env={**env, settings.EXECUTOR_ENV: "multiprocess"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not [p for p in root.glob("*/*")], "the build stores what was staged, then drops it"
    assert snapshot(warehouse) == snapshot(tmp_path / "serial.duckdb")

    with dg.DagsterInstance.get() as instance:
        (run,) = [r for r in instance.get_runs() if r.job_name == "build_warehouse"]
        windows: dict[str, list[float]] = {}
        for entry in instance.all_logs(run.run_id, of_type={
                dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}):
            windows.setdefault(entry.dagster_event.step_key, []).append(entry.timestamp)
        pids = {e.dagster_event.pid for e in instance.all_logs(run.run_id, of_type={
            dg.DagsterEventType.STEP_START})}
        facts = instance.get_latest_materialization_event(dg.AssetKey(["core", "trade_facts"]))
        from_staging = facts.asset_materialization.metadata["files_from_staging_this_run"].value
    assert from_staging == len(bundles)  # every file came from its staged results
    assert len(pids) > 1  # steps ran in their own processes
    spans = sorted(tuple(v) for v in windows.values())
    assert len(spans) >= 10 and all(len(s) == 2 for s in spans)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, "two writer steps overlapped"


def test_the_cluster_instance_settings_are_valid_for_this_dagster():
    from dagster._core.instance.config import dagster_instance_config

    config, _ = dagster_instance_config(str(REPO / "deploy"))
    assert set(config["storage"]) == {"postgres"}
    assert config["concurrency"]["pools"] == {"granularity": "op", "default_limit": 1}
    (limit,) = config["concurrency"]["runs"]["tag_concurrency_limits"]
    from trade_etl.definitions import defs

    tags = defs.resolve_job_def("build_warehouse").tags
    assert tags.get(limit["key"]) == limit["value"] and limit["limit"] == 1
    assert not defs.resolve_job_def("stage_releases").tags.get(limit["key"])


def test_an_executor_that_is_not_installed_is_named(monkeypatch):
    from trade_etl.defs.resources import executor

    monkeypatch.setenv(settings.EXECUTOR_ENV, "k8s")
    with pytest.raises(settings.SettingError, match="needs dagster-k8s==0.29.27"):
        executor()
    monkeypatch.setenv(settings.EXECUTOR_ENV, "threads")
    with pytest.raises(settings.SettingError, match="must be one of in_process, multiprocess"):
        settings.executor()
    monkeypatch.setenv(settings.EXECUTOR_ENV, "multiprocess")
    assert executor().name == "multiprocess"
