"""Ingest: discover release files, parse and validate them, keep every release in the fact store.

raw/estat_downloads ─▶ raw/release_files (+ audit/release_months from the manifests)
raw/release_files ─▶ core/trade_facts + audit/releases + audit/quarantine
"""

import logging
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from trade_etl import settings
from trade_etl.defs.fetch.assets import ESTAT_DOWNLOADS
from trade_etl.defs.metadata import markdown_table
from trade_etl.defs.resources import RawDirectory, user_errors, warehouse_connection
from trade_etl.ingest import inventory
from trade_etl.ingest.loader import load_sources
from trade_etl.ingest.reference import country_codes
from trade_etl.ingest.releases import SourceFile
from trade_etl.store.freshness import forget_in
from trade_etl.store.warehouse import sql_text, transaction

# Plain progress lines for the terminal; `trade-etl build` shows them (the UI has context.log).
PROGRESS_LOG = logging.getLogger("trade_etl.progress")

RELEASE_FILES = dg.AssetKey(["raw", "release_files"])
TRADE_FACTS = dg.AssetKey(["core", "trade_facts"])
AUDIT_RELEASES = dg.AssetKey(["audit", "releases"])
AUDIT_QUARANTINE = dg.AssetKey(["audit", "quarantine"])
RELEASE_MONTHS = dg.AssetKey(["audit", "release_months"])


class InventoryConfig(dg.Config):
    prune: bool = False  # remove what files no longer in the raw folder contributed
    rehash: bool = False  # hash every file again, whatever its size and times say


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RELEASE_FILES, group_name="raw", kinds={"python", "duckdb"}, deps=[ESTAT_DOWNLOADS],
            description="Inventory of the files in the raw directory: one row per file in each "
            "<YYYY-MM-DD>_<stage> release folder, with its sha256 and any problem found "
            "without reading it. Waits for files still being written; refuses to drop what "
            "files no longer there contributed unless run with prune: true."),
        dg.AssetSpec(
            RELEASE_MONTHS, group_name="audit", kinds={"duckdb"}, deps=[ESTAT_DOWNLOADS],
            description="The stage of each month of each fetched file (preliminary, detailed, "
            "revised, fixed), read from the titles on e-Stat and kept in the release folders' "
            ".manifest.json. Files dropped by hand have no rows here."),
    ],
)
def release_files(context: dg.AssetExecutionContext, config: InventoryConfig,
                  warehouse: DuckDBResource, raw_dir: RawDirectory):
    def say(message: str) -> None:
        context.log.info(message)
        PROGRESS_LOG.info(message)

    with user_errors("reading the raw folder"):  # a UserError becomes a one-line failure
        sources = inventory.wait_until_settled(raw_dir.root, settings.quiet_seconds(),
                                               settings.settle_timeout(), say)
    for source in sources:
        if source.in_progress:
            say(f"still downloading, not read: {source.release_id}/{source.file_name}")
    with warehouse_connection(warehouse) as conn:
        taken = inventory.take(conn, raw_dir.root, sources, rehash=config.rehash)
        for problem in taken.manifest_problems:
            context.log.warning(f"manifest skipped: {problem}")
            PROGRESS_LOG.warning(f"warning: manifest skipped: {problem}")
        gone = inventory.gone(conn, taken.files)
        inventory.refuse_unless_pruning(gone, config.prune)  # before anything is written
        forget_in(conn)  # a run is under way: the CLI's "up to date" fingerprint no longer holds
        inventory_frame, months = taken.files, taken.months
        with transaction(conn):
            if not gone.is_empty():
                inventory.remove(conn, gone)
            conn.execute("delete from raw.release_files")
            conn.register("inventory", inventory_frame)
            conn.execute("insert into raw.release_files by name select * from inventory")
            conn.unregister("inventory")
            conn.execute("delete from audit.release_months")
            conn.register("months", months)
            conn.execute("insert into audit.release_months select * from months")
            conn.unregister("months")
        if not gone.is_empty():
            say(f"removed what {gone.height} file(s) no longer in the raw folder contributed: "
                f"{inventory.describe_gone(gone)}")
        pending = conn.sql(sql_text("raw/pending_files")).pl()
    summary = (
        inventory_frame.group_by("release_id", maintain_order=True)
        .agg(files=pl.len(), megabytes=(pl.col("size_bytes").sum() / 1e6).round(1),
             problems=pl.col("problem").drop_nulls().first())
        .join(pending.group_by("release_id").agg(to_load=pl.len()), on="release_id", how="left")
        .with_columns(pl.col("to_load").fill_null(0))
    )
    yield dg.MaterializeResult(asset_key=RELEASE_FILES, metadata={
        "dagster/row_count": inventory_frame.height,
        "files_removed": gone.height,
        "releases": summary.height,
        "files_to_load": pending.height,
        "preview": dg.MetadataValue.md(markdown_table(summary, 40)),
    })
    stages = (months.group_by("release_id", "flow", "year", "stage")
              .agg(months=pl.col("month").unique().sort().cast(pl.String).str.join(","))
              .sort("release_id", "flow", "year", "stage"))
    yield dg.MaterializeResult(asset_key=RELEASE_MONTHS, metadata={
        "dagster/row_count": months.height,
        "manifests_skipped": len(taken.manifest_problems),
        "preview": dg.MetadataValue.md(markdown_table(stages, 40)),
    })


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            TRADE_FACTS, group_name="core", kinds={"duckdb", "polars", "pandera"},
            deps=[RELEASE_FILES, dg.AssetKey(["ref", "countries"])],
            description="The fact store: every release's validated month cells (flow, year, "
            "month, 9-digit HS code, customs country code, quantities, value in thousand yen), "
            "append-only by release, each row tagged with its release and file.",
        ),
        dg.AssetSpec(
            AUDIT_RELEASES, group_name="audit", kinds={"duckdb"}, deps=[RELEASE_FILES],
            description="One row per file read (zip members separately) or per file that could "
            "not be read: rows read, loaded and quarantined, hashes, status and error.",
        ),
        dg.AssetSpec(
            AUDIT_QUARANTINE, group_name="audit", kinds={"duckdb"}, deps=[RELEASE_FILES],
            description="Every line that failed validation, with its file, line number, reason "
            "and the raw line as read.",
        ),
    ],
)
def load_releases(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Parse and validate each new or changed file (pandera), then store it in one transaction."""
    with warehouse_connection(warehouse) as conn:
        pending = conn.sql(sql_text("raw/pending_files")).pl()
        sources = [
            (SourceFile(r["release_id"], r["published_on"], r["stage"], r["file_name"],
                        Path(r["path"]), r["size_bytes"], r["mtime_ns"], r["problem"]),
             r["sha256"])
            for r in pending.iter_rows(named=True)
        ]
        def progress(message: str) -> None:
            context.log.info(message)
            PROGRESS_LOG.info(message)

        summary = load_sources(conn, sources, country_codes(conn), progress=progress,
                               detail=context.log.debug)
        facts = conn.sql("select count(*) from core.trade_facts").fetchall()[0][0]
        by_release = conn.sql(
            "select release_id, count(*) as files, sum(rows_read) as rows_read, "
            "sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined, "
            "count(*) filter (where status = 'error') as files_in_error "
            "from audit.releases group by release_id order by release_id").pl()
        reasons = conn.sql(
            "select regexp_replace(reason, ': .*', '') as reason, count(*) as lines "
            "from audit.quarantine group by 1 order by 2 desc, 1").pl()
        quarantined = conn.sql("select count(*) from audit.quarantine").fetchall()[0][0]
    for message in summary.errors:
        context.log.warning(message)
    yield dg.MaterializeResult(asset_key=TRADE_FACTS, metadata={
        "dagster/row_count": facts,
        "files_loaded_this_run": summary.files_loaded,
        "cells_loaded_this_run": summary.cells_loaded,
        **{f"seconds_{stage}": round(seconds, 3) for stage, seconds in summary.seconds.items()},
        "preview": dg.MetadataValue.md(markdown_table(by_release, 40)),
    })
    yield dg.MaterializeResult(asset_key=AUDIT_RELEASES, metadata={
        "dagster/row_count": int(by_release["files"].sum() or 0),
        "rows_read_this_run": summary.rows_read,
        "rows_quarantined_this_run": summary.rows_quarantined,
        "files_in_error_this_run": len(summary.errors),
        "errors": dg.MetadataValue.md("\n".join(f"- {e}" for e in summary.errors) or "_none_"),
    })
    yield dg.MaterializeResult(asset_key=AUDIT_QUARANTINE, metadata={
        "dagster/row_count": quarantined,
        "preview": dg.MetadataValue.md(markdown_table(reasons)),
    })
