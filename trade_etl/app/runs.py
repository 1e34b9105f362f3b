"""Run the build job on the Dagster instance the UI shows (`trade-etl build`, `trade-etl ui`).

The CLI starts no orchestrator of its own: it makes the `releases` partitions the release
folders the raw folder holds (adding new ones, deleting removed or renamed ones), picks the
releases to load (trade_etl/store/freshness.py, as the sensor does) and runs `build_warehouse`
on the persistent instance (in this process, or with each step in its own process under
`TRADE_ETL_EXECUTOR=multiprocess`), so the run, its logs, its materializations and its checks
appear in the UI like a run launched there.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from trade_etl import settings

JOB = "build_warehouse"
REPORT_JOB = "refresh_report"  # trade_etl/defs/report/assets.py
PARTITIONS = "releases"  # trade_etl/defs/partitions.py: RELEASES


NUX_OFF = "# No newsletter sign-up pop-up on the first visit to the UI.\nnux:\n  enabled: false\n"


def prepare_instance(home: Path | None = None) -> Path:
    """The shared instance's folder (`home`: Settings.dagster_home; default the
    environment's), created with the project's dagster.yaml the first time. An existing
    configuration is left alone, but for `nux: enabled: false` (no newsletter pop-up in the
    UI), added when it has no `nux` key. Open it with open_instance; DAGSTER_HOME is not set."""
    home = (home or settings.dagster_home()).absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(settings.DAGSTER_YAML, config)
    else:
        text = config.read_text(encoding="utf-8")
        if not re.search(r"^nux\s*:", text, re.MULTILINE):
            config.write_text(text.rstrip("\n") + "\n" + NUX_OFF, encoding="utf-8")
    return home


def open_instance(home: Path):
    """The Dagster instance in `home` (its dagster.yaml), as DagsterInstance.get() would open
    it with DAGSTER_HOME=home, without setting DAGSTER_HOME: the project's pooled event log
    (trade_etl/defs/event_log.py) is told its folder, which it otherwise takes from there."""
    import dagster as dg
    import yaml
    from dagster._core.instance.ref import InstanceRef

    text = (home / "dagster.yaml").read_text(encoding="utf-8")
    storage = (yaml.safe_load(text) or {}).get("event_log_storage") or {}
    overrides = {}
    if storage.get("module") == "trade_etl.defs.event_log" and not (
            storage.get("config") or {}).get("base_dir"):
        overrides["event_log_storage"] = {**storage, "config": {
            **(storage.get("config") or {}), "base_dir": str(home / "history" / "runs")}}
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


def build_job():
    """The build job, from the definitions (reconstructable: step processes load it too)."""
    from trade_etl.definitions import defs

    return defs.resolve_job_def(JOB)


def _execute(job, instance, executor: str, partition_key: str | None = None,
             tags: dict | None = None, **kwargs):
    """Run `job` in this process, or, with the executor multiprocess, each step in its own
    process (`dg.execute_job`, run config included); the result has the same events either
    way."""
    import dagster as dg

    if executor == "in_process":
        return job.execute_in_process(instance=instance, partition_key=partition_key,
                                      tags=tags, **kwargs)
    tags = {**(tags or {}), **({"dagster/partition": partition_key} if partition_key else {})}
    return dg.execute_job(dg.reconstructable(build_job), instance=instance, tags=tags,
                          **kwargs)


def unpartitioned(job) -> list:
    """The asset keys of `job` that have no partitions: what a run of no release builds."""
    graph = job.asset_layer.asset_graph
    return [key for key in job.asset_layer.selected_asset_keys
            if graph.get(key).partitions_def is None]


def sync_partitions(instance, on_disk: list[str]) -> list[str]:
    """Make the `releases` partitions the release folders `on_disk`: add the new ones, delete
    those of folders removed or renamed (their history stays in the instance; the UI no longer
    lists them as partitions). Returns the partitions in the order they were added."""
    known = instance.get_dynamic_partitions(PARTITIONS)
    present = set(on_disk)
    for stale in [r for r in known if r not in present]:
        instance.delete_dynamic_partition(PARTITIONS, stale)
    kept = [r for r in known if r in present]
    missing = [r for r in sorted(present) if r not in set(kept)]
    if missing:
        instance.add_dynamic_partitions(PARTITIONS, missing)
    return [*kept, *missing]


def launch_build(releases: list[str], on_disk: list[str], run_config: dict, force: bool,
                 home: Path | None = None, executor: str | None = None):
    """Run build_warehouse on the instance for `releases` (the partitions to run: what
    trade_etl/store/freshness.plan gave), after making the partitions the release folders
    `on_disk` (sync_partitions); returns the job's result.

    With `force`, the run covers every release on disk; with no release to run (reference
    data, settings or other code changed, or files removed), or no release folder at all, it
    builds the unpartitioned assets only. `home`: the instance's folder (default: the
    environment's); `executor`: Settings.executor (the same).
    """
    from trade_etl.defs.partitions import partition_tags

    instance = open_instance(prepare_instance(home))
    executor = executor or settings.executor()
    known = sync_partitions(instance, on_disk)
    job = build_job()
    tags = partition_tags(known, on_disk if force else releases)
    if tags is None:
        return _execute(job, instance, executor, raise_on_error=False, run_config=run_config,
                        asset_selection=unpartitioned(job))
    partition = tags.pop("dagster/partition", None)
    return _execute(job, instance, executor, raise_on_error=False, partition_key=partition,
                    run_config=run_config, tags=tags or None)


def launch_report(instance=None, config: settings.Settings | None = None):
    """Run refresh_report (the asset marts/report) on the instance, in this process, with
    `config` (default: the environment's) as its run config: what the sensor report_sensor
    starts after each build when the UI's daemon runs."""
    from trade_etl.definitions import defs
    from trade_etl.defs.resources import run_config_for

    config = config or settings.Settings.from_env()
    level = "DEBUG" if config.debug else "CRITICAL"
    return defs.resolve_job_def(REPORT_JOB).execute_in_process(
        instance=instance or open_instance(prepare_instance(config.dagster_home)),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": level}}},
                    "resources": run_config_for(config)})
