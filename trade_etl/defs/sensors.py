"""Watch the raw directory: a partition per release folder, a run per new or changed release."""

import dagster as dg

from trade_etl.defs.jobs import build_warehouse
from trade_etl.defs.partitions import RELEASES
from trade_etl.defs.resources import RawDirectory, TradeEtlConfig
from trade_etl.ingest.layouts import registry
from trade_etl.ingest.releases import discover, unsettled
from trade_etl.store.freshness import releases_to_build


@dg.sensor(
    job=build_warehouse,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps one `releases` partition per release folder in the raw directory (adds "
    "new folders' partitions, deletes those of folders removed or renamed) and "
    "requests a build of each release whose files differ from what the published warehouse "
    "last read (run key: release and a fingerprint of its files' names, sizes, times and "
    "inodes, so a release is built once per version). A folder with a file changed within "
    "the quiet period (TRADE_ETL_QUIET_SECONDS) waits for a later tick.",
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
    # The published file (the setting warehouse), read-only: never the build's lock or copy.
    changed = releases_to_build(tick.warehouse, sources, raw_dir.root)
    requests = [dg.RunRequest(run_key=f"{release}:{fingerprint}", partition_key=release)
                for release, fingerprint in sorted(changed.items()) if release not in young]
    waiting = f"; {len(young)} still being written" if young else ""
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=(
            [RELEASES.build_add_request(new_partitions)] if new_partitions else [])
        + ([RELEASES.build_delete_request(gone_partitions)] if gone_partitions else []),
        skip_reason=None if requests else dg.SkipReason(
            f"no new or changed release folders among {len(releases)}{waiting}"),
    )
