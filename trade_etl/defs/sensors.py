"""Watch the raw directory: a partition per release folder, a run whenever the build's inputs
changed, with the same plan as `trade-etl build` (trade_etl/store/freshness.plan)."""

import dagster as dg

from trade_etl.defs.jobs import build_warehouse
from trade_etl.defs.partitions import RELEASES, partition_tags
from trade_etl.defs.resources import RawDirectory, TradeEtlConfig
from trade_etl.errors import UserError
from trade_etl.ingest import inventory
from trade_etl.ingest.layouts import registry
from trade_etl.ingest.releases import discover, unsettled
from trade_etl.store import freshness
from trade_etl.store.incremental import combine


@dg.sensor(
    job=build_warehouse,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps one `releases` partition per release folder in the raw directory (adds "
    "new folders' partitions, deletes those of folders removed or renamed) and requests one "
    "build run, as `trade-etl build` would start it: over the releases whose files differ "
    "from what the published warehouse last read (every release when the code of a "
    "per-release asset changed), or, with none, over the unpartitioned assets when the "
    "reference data, settings or code changed. The run key is a fingerprint of what the run "
    "covers, so each change is built once. Folders with a file changed within the quiet "
    "period (TRADE_ETL_QUIET_SECONDS) wait for a later tick; loaded files removed from the "
    "raw folder start no run (the tick says so: `trade-etl build --prune` removes their rows).",
)
def raw_release_sensor(context: dg.SensorEvaluationContext, raw_dir: RawDirectory,
                       trade_etl: TradeEtlConfig):
    if not raw_dir.root.is_dir():  # unmounted or mistyped: not a reason to forget every release
        return dg.SkipReason(f"raw directory {raw_dir.root} does not exist")
    tick = trade_etl.settings()  # the daemon's environment, read once per tick
    sources = discover(raw_dir.root, tick.allow_dates, registry(tick.layout_modules).reporters)
    young = {s.release_id for s in unsettled(sources, tick.quiet_seconds)}
    releases = sorted({s.release_id for s in sources})
    known = RELEASES.get_partition_keys(dynamic_partitions_store=context.instance)
    new_partitions = [r for r in releases if r not in set(known)]
    # A folder removed or renamed: its partition goes (its runs and events stay in the history).
    gone_partitions = [r for r in known if r not in set(releases)]
    order = [r for r in known if r not in set(gone_partitions)] + new_partitions
    partitions = (
        [RELEASES.build_add_request(new_partitions)] if new_partitions else []
    ) + ([RELEASES.build_delete_request(gone_partitions)] if gone_partitions else [])
    if young:  # a run reads the whole folder: wait until nothing is being written
        return dg.SensorResult(dynamic_partitions_requests=partitions, skip_reason=dg.SkipReason(
            f"waiting: {len(young)} still being written ({', '.join(sorted(young)[:3])})"))
    # Loaded files removed: a run would refuse inside (prune: false). Say so, start nothing:
    # what `trade-etl build` does before any run (`build --prune` removes their rows).
    try:
        inventory.refuse_unless_pruning(freshness.files_gone(tick.warehouse, sources), False)
    except UserError as refusal:
        return dg.SensorResult(dynamic_partitions_requests=partitions,
                               skip_reason=dg.SkipReason(str(refusal)))
    # The published file (the setting warehouse), read-only: never the build's lock or copy.
    to_build, _ = freshness.plan(tick.warehouse, sources, raw_dir.root)
    tags = partition_tags(order, sorted(to_build))
    if tags is not None:
        partition = tags.pop("dagster/partition", None)
        what = partition or f"{tags['dagster/asset_partition_range_start']}.." \
            f"{tags['dagster/asset_partition_range_end']}"
        request = dg.RunRequest(run_key=f"{what}:{combine(sorted(to_build.items()))}",
                                partition_key=partition, tags=tags)
    else:
        fingerprint = freshness.inputs_fingerprint(raw_dir.root, sources, tick)
        if not releases or freshness.is_up_to_date(tick.warehouse, fingerprint):
            return dg.SensorResult(dynamic_partitions_requests=partitions,
                                   skip_reason=dg.SkipReason(
                                       f"nothing changed among {len(releases)} release folders"))
        # Reference data, settings or code changed: the unpartitioned assets follow.
        job = _build_job(context)
        graph = job.asset_layer.asset_graph
        request = dg.RunRequest(run_key=f"inputs:{fingerprint}", asset_selection=[
            key for key in job.asset_layer.selected_asset_keys
            if graph.get(key).partitions_def is None])
    return dg.SensorResult(run_requests=[request], dynamic_partitions_requests=partitions)


def _build_job(context: dg.SensorEvaluationContext) -> dg.JobDefinition:
    """The job the sensor starts (from the code location the daemon loaded; from the
    definitions themselves when evaluated outside one, in tests)."""
    if context.repository_def is not None:
        return context.repository_def.get_job(build_warehouse.name)
    from trade_etl.definitions import defs

    return defs.resolve_job_def(build_warehouse.name)
