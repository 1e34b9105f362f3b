"""Staging: read and validate releases ahead of the build, one release per run, in parallel.

raw folder ─▶ staging/releases [P] ─ ─ ▶ core/trade_facts (the build stores what was staged)

For a cluster (docs/lake.md, "Beyond one machine"): a backfill of the job `stage_releases`
launches one run per release, which read, validate and keep their results as Parquet beside
the warehouse (trade_etl/ingest/staging.py) without touching the DuckDB file, so they run
side by side; the build's writer steps (pool `warehouse_writer`, one at a time) then store the
staged results instead of reading the files again. A build without staging reads the files
itself, with the same result.
"""

from pathlib import Path

import dagster as dg
import polars as pl

from trade_etl.defs.partitions import RELEASES
from trade_etl.defs.resources import RawDirectory, TradeEtlConfig, user_errors
from trade_etl.ingest import staging
from trade_etl.ingest.layouts import registry
from trade_etl.ingest.reference import ref_csv
from trade_etl.ingest.releases import discover

STAGED_RELEASES = dg.AssetKey(["staging", "releases"])


@dg.asset(
    key=STAGED_RELEASES, group_name="ingest", kinds={"polars", "pandera", "parquet"},
    partitions_def=RELEASES, backfill_policy=dg.BackfillPolicy.multi_run(1),
    description="The release's files read and validated (pandera) ahead of the build and kept "
    "as Parquet beside the warehouse, keyed by each file's sha256; no DuckDB access, so "
    "releases stage in parallel runs. The next build stores them instead of reading the files.",
)
def staged_releases(context: dg.AssetExecutionContext, raw_dir: RawDirectory,
                    trade_etl: TradeEtlConfig) -> dg.MaterializeResult:
    releases = set(context.partition_keys)
    codes = pl.read_csv(ref_csv("countries"), columns=["country_code"],
                        schema_overrides={"country_code": pl.String})["country_code"].to_list()
    run = trade_etl.settings()
    layouts = registry(run.layout_modules)
    root = staging.staging_root(run.warehouse)
    code = staging.token(codes, layouts)
    outcome = {"staged": 0, "present": 0, "skipped": 0}
    with user_errors(f"staging into {root}"):
        for source in discover(raw_dir.root, run.allow_dates, layouts.reporters):
            if source.release_id in releases:
                done = staging.stage(source, root, code, codes, layouts)
                outcome[done] += 1
                context.log.info(f"{source.release_id}/{source.file_name}: {done}")
    return dg.MaterializeResult(metadata={
        "staging_folder": dg.MetadataValue.path(str(Path(root).absolute())),
        "files_staged": outcome["staged"], "files_already_staged": outcome["present"],
        "files_left_to_the_build": outcome["skipped"]})


stage_releases = dg.define_asset_job(
    "stage_releases", selection=[STAGED_RELEASES],
    description="Read and validate releases ahead of the build, one release per run (run a "
    "backfill to stage many side by side); the next build_warehouse stores them.")
