"""Run the build job on the Dagster instance the UI shows (`trade-etl build`, `trade-etl ui`).

The CLI starts no orchestrator of its own: it adds the `releases` partitions the raw folder
holds, picks the releases to load (trade_etl/store/freshness.py, as the sensor does) and runs
`build_warehouse` on the persistent instance (in this process, or with each step in its own
process under `TRADE_ETL_EXECUTOR=multiprocess`), so the run, its logs, its materializations and
its checks appear in the UI like a run launched there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from trade_etl import settings

JOB = "build_warehouse"
REPORT_JOB = "refresh_report"  # trade_etl/defs/report/assets.py
PARTITIONS = "releases"  # trade_etl/defs/partitions.py: RELEASES


def prepare_instance() -> Path:
    """Point DAGSTER_HOME at the shared instance (settings.dagster_home), creating it with the
    project's dagster.yaml the first time; an existing configuration is left alone."""
    home = settings.dagster_home().absolute()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(settings.DAGSTER_YAML, home / "dagster.yaml")
    os.environ[settings.DAGSTER_HOME_ENV] = str(home)
    return home


def build_job():
    """The build job, from the definitions (reconstructable: step processes load it too)."""
    from trade_etl.definitions import defs

    return defs.resolve_job_def(JOB)


def _execute(job, instance, partition_key: str | None = None, tags: dict | None = None,
             **kwargs):
    """Run `job` in this process, or, with TRADE_ETL_EXECUTOR=multiprocess, each step in its
    own process (`dg.execute_job`); the result has the same events either way."""
    import dagster as dg

    if settings.executor() == "in_process":
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


def launch_build(releases: list[str], on_disk: list[str], run_config: dict, force: bool):
    """Run build_warehouse on the instance for `releases` (the partitions to load), after adding
    a partition for every release folder `on_disk`; returns the job's result.

    With nothing to load (reference data, settings or code changed, or files removed) or with
    `force`, the run covers every release on disk: per-release derived tables depend on the
    sector mapping and their SQL too, and only a partitioned step recomputes them. With no
    release folder at all, it builds the unpartitioned assets only.
    """
    import dagster as dg

    instance = dg.DagsterInstance.get()
    known = instance.get_dynamic_partitions(PARTITIONS)
    missing = [r for r in sorted(on_disk) if r not in set(known)]
    if missing:
        instance.add_dynamic_partitions(PARTITIONS, missing)
        known = [*known, *missing]
    job = build_job()
    order = {key: i for i, key in enumerate(known)}
    wanted = sorted(on_disk if force or not releases else releases, key=order.__getitem__)
    if not wanted:
        return _execute(job, instance, raise_on_error=False, run_config=run_config,
                        asset_selection=unpartitioned(job))
    # One run over the range of partitions from the first release to load to the last (in the
    # order they were added); releases in between with nothing new cost little.
    first, last = wanted[0], wanted[-1]
    if first == last:
        return _execute(job, instance, raise_on_error=False, partition_key=first,
                        run_config=run_config)
    return _execute(job, instance, raise_on_error=False, run_config=run_config,
                    tags={"dagster/asset_partition_range_start": first,
                          "dagster/asset_partition_range_end": last})


def launch_report(instance=None):
    """Run refresh_report (the asset marts/report) on the instance, in this process: what the
    sensor report_sensor starts after each build when the UI's daemon runs."""
    import dagster as dg

    from trade_etl.definitions import defs

    level = "DEBUG" if settings.debug() else "CRITICAL"
    return defs.resolve_job_def(REPORT_JOB).execute_in_process(
        instance=instance or dg.DagsterInstance.get(), raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": level}}}})
