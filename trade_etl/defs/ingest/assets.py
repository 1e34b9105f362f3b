"""Ingest: discover release files, parse and validate them, keep every release in the fact store.

raw/estat_downloads ─▶ raw/release_files (+ audit/release_months from the manifests)
raw/release_files ─▶ core/trade_facts + audit/releases + audit/quarantine
"""

import logging
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from trade_etl.db import setting, sql_text, transaction
from trade_etl.defs.columns import columns_of
from trade_etl.defs.fetch.assets import ESTAT_DOWNLOADS
from trade_etl.defs.metadata import markdown_table
from trade_etl.defs.partitions import RELEASES, SINGLE_RUN, partition_checks
from trade_etl.defs.resources import (
    WAREHOUSE_WRITER,
    RawDirectory,
    TradeEtlConfig,
    user_errors,
    warehouse_connection,
    warehouse_file,
    warehouse_memory_limit,
)
from trade_etl.ingest import inventory, staging
from trade_etl.ingest.layouts import registry
from trade_etl.ingest.loader import load_sources
from trade_etl.ingest.reference import country_codes
from trade_etl.ingest.releases import SourceFile, wait_until_settled
from trade_etl.settings import memory_bytes
from trade_etl.store import freshness
from trade_etl.store.incremental import code_of, current_code, record_code

# Plain progress lines for the terminal; `trade-etl build` shows them (the UI has context.log).
PROGRESS_LOG = logging.getLogger("trade_etl.progress")
# While the loader runs, DuckDB's cache gets half the run's memory limit: the loader's batches
# (polars frames) take the rest, and its inserts go straight to the file and need little cache.
# With the whole limit, the cache filled beside the batches and the load step was a build's
# peak (twenty-year full builds: 1196-1220 MiB; with half, 935-954 MiB and no slower;
# docs/design.md).
LOAD_MEMORY_SHARE = 0.5
LOAD_MEMORY_FLOOR = 128 * 1000**2

RELEASE_FILES = dg.AssetKey(["raw", "release_files"])
TRADE_FACTS = dg.AssetKey(["core", "trade_facts"])
AUDIT_RELEASES = dg.AssetKey(["audit", "releases"])
AUDIT_QUARANTINE = dg.AssetKey(["audit", "quarantine"])
RELEASE_MONTHS = dg.AssetKey(["audit", "release_months"])


class InventoryConfig(dg.Config):
    prune: bool = False  # remove what files no longer in the raw folder contributed
    rehash: bool = False  # hash every file again, whatever its size and times say


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            RELEASE_FILES, metadata=columns_of(RELEASE_FILES),
            group_name="raw", kinds={"python", "duckdb"}, deps=[ESTAT_DOWNLOADS],
            description="Inventory of the files in the raw directory: one row per file in each "
            "<YYYY-MM-DD>_<stage> release folder, with its sha256 and any problem found "
            "without reading it. Waits for files still being written; refuses to drop what "
            "files no longer there contributed unless run with prune: true."),
        dg.AssetSpec(
            RELEASE_MONTHS, metadata=columns_of(RELEASE_MONTHS),
            group_name="audit", kinds={"duckdb"}, deps=[ESTAT_DOWNLOADS],
            description="The stage of each month of each fetched file (preliminary, detailed, "
            "revised, fixed), read from the titles on e-Stat and kept in the release folders' "
            ".manifest.json. Files dropped by hand have no rows here."),
    ],
)
def release_files(context: dg.AssetExecutionContext, config: InventoryConfig,
                  warehouse: DuckDBResource, raw_dir: RawDirectory, trade_etl: TradeEtlConfig):
    def say(message: str) -> None:
        context.log.info(message)
        PROGRESS_LOG.info(message)

    with user_errors("reading the raw folder"):  # a UserError becomes a one-line failure
        run = trade_etl.settings()
        sources = wait_until_settled(raw_dir.root, run.quiet_seconds,
                                     run.settle_timeout, say, run.allow_dates,
                                     registry(run.layout_modules).reporters)
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
        # A run is under way: the "up to date" mark no longer holds; the publish step sets it
        # again from what this run saw, if the run leaves nothing unloaded.
        freshness.forget_in(conn, freshness.inputs_fingerprint(raw_dir.root, sources, run))
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


IN_RELEASES = "release_id in (select unnest($releases::varchar[]))"


def _check(name: str, asset: dg.AssetKey, description: str, blocking: bool = True):
    return dg.AssetCheckSpec(name, asset=asset, description=description, blocking=blocking,
                             partitions_def=RELEASES)


LOAD_CHECKS = [
    _check("rows_reconcile", AUDIT_RELEASES,
           "For every file of the release, rows read = rows loaded + rows quarantined."),
    _check("files_readable", AUDIT_RELEASES,
           "Every file of the release now in the raw directory could be read.", blocking=False),
    _check("value_year_matches_months", AUDIT_RELEASES,
           "Value-Year equals the sum of the monthly values (the months are authoritative; a "
           "mismatch is a warning, not a rejection).", blocking=False),
    _check("fact_grain_unique", TRADE_FACTS,
           "No two fact rows of the release share file, flow, year, month, HS code and "
           "country."),
    _check("facts_valid_and_audited", TRADE_FACTS,
           "Every stored quantity and value of the release is non-negative and every stored "
           "row belongs to a file recorded as loaded in audit.releases."),
    _check("files_do_not_overlap", TRADE_FACTS,
           "No two files of the release report the same (flow, year, month, HS code, country) "
           "cell: the latest figures sum a release's files, so such a cell would be counted "
           "twice (two versions of one table in one folder, a file copied under a second "
           "name). A release that fails publishes nothing; the check names the files."),
    _check("units_agree_within_release", TRADE_FACTS,
           "The release's files agree on the units of every (flow, year, month, HS code, "
           "country) cell they both report: the latest figures sum a release's files, so "
           "otherwise a quantity would add up different units (the quantity marts never mix "
           "units because of this)."),
]


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            TRADE_FACTS, metadata=columns_of(TRADE_FACTS),
            group_name="core", kinds={"duckdb", "polars", "pandera"},
            deps=[RELEASE_FILES, dg.AssetKey(["ref", "countries"])],
            description="The fact store: every release's validated month cells (flow, year, "
            "month, 9-digit HS code, customs country code, quantities, value in thousand yen), "
            "append-only by release, each row tagged with its release and file.",
        ),
        dg.AssetSpec(
            AUDIT_RELEASES, metadata=columns_of(AUDIT_RELEASES),
            group_name="audit", kinds={"duckdb"}, deps=[RELEASE_FILES],
            description="One row per file read (zip members separately) or per file that could "
            "not be read: rows read, loaded and quarantined, hashes, status and error.",
        ),
        dg.AssetSpec(
            AUDIT_QUARANTINE, metadata=columns_of(AUDIT_QUARANTINE),
            group_name="audit", kinds={"duckdb"}, deps=[RELEASE_FILES],
            description="Every line that failed validation, with its file, line number, reason "
            "and the raw line as read.",
        ),
    ],
    partitions_def=RELEASES,
    backfill_policy=SINGLE_RUN,
    check_specs=LOAD_CHECKS,
    code_version=current_code("core.trade_facts"),
)
def load_releases(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                  trade_etl: TradeEtlConfig):
    """Parse and validate each new or changed file of the run's releases (pandera), store each
    release in one transaction, then check what the releases now hold.

    Every release partition of the run gets its own materialization metadata and check results
    (`release_metadata`, `partition_checks`): a run over several releases does not show their
    sum on each. Names ending in `_this_run` and `seconds_*` are the run's, shared by its
    partitions."""
    releases = sorted(context.partition_keys)
    version = current_code("core.trade_facts")  # now: the asset's own may be older (daemon)
    with warehouse_connection(warehouse) as conn:
        params = {"releases": releases}
        # Files whose content was not loaded yet; every file of the run's releases when the
        # reading or validating code changed since the facts were loaded (code version).
        new_code = code_of(conn, "core.trade_facts") != version
        files = "raw.release_files" if new_code else f"({sql_text('raw/pending_files')})"
        pending = conn.sql(f"select * from {files} where {IN_RELEASES}", params=params).pl()
        sources = [
            (SourceFile(r["release_id"], r["published_on"], r["stage"], r["file_name"],
                        Path(r["path"]), r["size_bytes"], r["mtime_ns"], r["problem"],
                        reporter=r["reporter"]),
             r["sha256"])
            for r in pending.iter_rows(named=True)
        ]

        def progress(message: str) -> None:
            context.log.info(message)
            PROGRESS_LOG.info(message)

        # A line per file goes to the terminal only: as a run event each would cost ~20 ms in
        # the instance's storage; the metadata has the files per release.
        codes = country_codes(conn)
        run = trade_etl.settings()
        layouts = registry(run.layout_modules)
        root = staging.staging_root(warehouse_file(warehouse))
        code = staging.token(codes, layouts)
        limit = warehouse_memory_limit(warehouse)
        # restored to the run's own (e.g. 512MB) after it; a failed step's connection is closed
        with setting(conn, "memory_limit", f"{loading_limit(memory_bytes(limit))}B",
                     restore=limit):
            summary = load_sources(
                conn, sources, codes, progress=progress, detail=PROGRESS_LOG.debug,
                staged=(lambda source, sha: staging.load(root, code, sha, source.reporter))
                if root.is_dir() else None,
                batch_bytes=run.load_batch_bytes, registry=layouts)
        staging.discard(root, code, summary.staged)  # stored: their bundles are done with
        everything = {r for (r,) in conn.sql("select distinct release_id from raw.release_files"
                                             ).fetchall()}
        if new_code and everything <= set(releases):  # every release read by this code now
            record_code(conn, "core.trade_facts", version)
        metadata = release_metadata(conn, releases)
        checks = {release: list(load_checks(conn, [release])) for release in releases}
    for message in summary.errors:
        context.log.warning(message)
    for release in releases:
        for asset_key, values in metadata[release].items():
            context.add_asset_metadata(values, asset_key=asset_key, partition_key=release)
    scope = {"releases_in_run": len(releases)}
    yield dg.MaterializeResult(asset_key=TRADE_FACTS, metadata={
        **scope,
        "files_loaded_this_run": summary.files_loaded,
        "files_from_staging_this_run": len(summary.staged),
        "cells_loaded_this_run": summary.cells_loaded,
        **{f"seconds_{stage}": round(seconds, 3) for stage, seconds in summary.seconds.items()},
    })
    yield dg.MaterializeResult(asset_key=AUDIT_RELEASES, metadata={
        **scope,
        "rows_read_this_run": summary.rows_read,
        "rows_quarantined_this_run": summary.rows_quarantined,
        "files_in_error_this_run": len(summary.errors),
    })
    yield dg.MaterializeResult(asset_key=AUDIT_QUARANTINE, metadata=scope)
    yield from partition_checks(context, checks)


def loading_limit(limit: int) -> int:
    """DuckDB's memory limit while the loader runs: `LOAD_MEMORY_SHARE` of the run's (never
    under `LOAD_MEMORY_FLOOR`, nor over the run's own)."""
    return max(int(limit * LOAD_MEMORY_SHARE), min(limit, LOAD_MEMORY_FLOOR))


def release_metadata(conn, releases: list[str]) -> dict[str, dict[dg.AssetKey, dict]]:
    """Each release's own numbers, per asset of load_releases: what its partition shows."""
    params = {"releases": releases}
    files = conn.sql(
        "select release_id, file_name, rows_read, rows_loaded, rows_quarantined, "
        "cells_loaded, status, error from audit.releases "
        f"where {IN_RELEASES} order by release_id, file_name", params=params).pl()
    facts = dict(conn.execute(
        f"select release_id, count(*) from core.trade_facts where {IN_RELEASES} group by 1",
        params).fetchall())
    reasons = conn.sql(
        "select release_id, regexp_replace(reason, ': .*', '') as reason, count(*) as lines "
        f"from audit.quarantine where {IN_RELEASES} group by 1, 2 order by 1, 3 desc, 2",
        params=params).pl()
    out = {}
    for release in releases:
        own = files.filter(pl.col("release_id") == release)
        why = reasons.filter(pl.col("release_id") == release).drop("release_id")
        errors = own.filter(pl.col("status") == "error")
        totals = {name: int(own[name].sum() or 0)
                  for name in ("rows_read", "rows_loaded", "rows_quarantined", "cells_loaded")}
        table = own.select("file_name", "rows_read", "rows_loaded", "rows_quarantined",
                           "cells_loaded", "status")
        out[release] = {
            TRADE_FACTS: {"dagster/row_count": facts.get(release, 0), "files": own.height,
                          "rows_loaded": totals["rows_loaded"],
                          "cells_loaded": totals["cells_loaded"],
                          "preview": dg.MetadataValue.md(markdown_table(table, 40))},
            AUDIT_RELEASES: {"dagster/row_count": own.height, **totals,
                             "files_in_error": errors.height,
                             "errors": dg.MetadataValue.md("\n".join(
                                 f"- {r['file_name']}: {r['error']}"
                                 for r in errors.head(50).iter_rows(named=True)) or "_none_")},
            AUDIT_QUARANTINE: {"dagster/row_count": int(why["lines"].sum() or 0),
                               "preview": dg.MetadataValue.md(markdown_table(why))},
        }
    return out


def load_checks(conn, releases: list[str]):
    """The checks of LOAD_CHECKS on the given releases, on the loader's own connection (the
    loader asks for one release at a time: each partition gets its own results)."""
    params = {"releases": releases}

    def count(query: str) -> int:
        return conn.execute(query, params).fetchall()[0][0]

    bad = count(f"select count(*) from audit.releases where {IN_RELEASES} "
                "and rows_read <> rows_loaded + rows_quarantined")
    yield dg.AssetCheckResult(asset_key=AUDIT_RELEASES, check_name="rows_reconcile",
                              passed=bad == 0, metadata={"files_not_reconciling": bad})
    errors = conn.execute(
        "select a.release_id || '/' || a.file_name || ': ' || a.error "
        "from audit.releases a join raw.release_files f "
        "on f.release_id = a.release_id and f.file_name = a.source_file "
        f"where a.status = 'error' and a.{IN_RELEASES} order by 1", params).fetchall()
    yield dg.AssetCheckResult(
        asset_key=AUDIT_RELEASES, check_name="files_readable", passed=not errors,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"files_in_error": len(errors),
                  "errors": dg.MetadataValue.md("\n".join(f"- {e[0]}" for e in errors[:50])
                                                or "_none_")})
    mismatches = count("select coalesce(sum(value_year_mismatches), 0)::bigint "
                       f"from audit.releases where {IN_RELEASES}")
    yield dg.AssetCheckResult(asset_key=AUDIT_RELEASES, check_name="value_year_matches_months",
                              passed=mismatches == 0, severity=dg.AssetCheckSeverity.WARN,
                              metadata={"rows_with_mismatch": mismatches})
    dupes = 0
    for release in releases:  # one release at a time: a small hash table, little memory
        dupes += conn.execute(
            "select count(*) from (select 1 from core.trade_facts "
            "where release_id = $release group by "
            "file_name, flow, year, month, hs_code, country_code "
            "having count(*) > 1)", {"release": release}).fetchall()[0][0]
    yield dg.AssetCheckResult(asset_key=TRADE_FACTS, check_name="fact_grain_unique",
                              passed=dupes == 0, metadata={"duplicate_keys": dupes})
    negative = count(f"select count(*) from core.trade_facts where {IN_RELEASES} "
                     "and least(quantity1, quantity2, value_thousand_jpy) < 0")
    orphans = count(
        "select count(*) from (select distinct release_id, file_name from core.trade_facts "
        f"where {IN_RELEASES}) f "
        "anti join (select * from audit.releases where status = 'loaded') a "
        "using (release_id, file_name)")
    yield dg.AssetCheckResult(asset_key=TRADE_FACTS, check_name="facts_valid_and_audited",
                              passed=negative == 0 and orphans == 0,
                              metadata={"negative_rows": negative, "unaudited_files": orphans})
    overlaps = []
    for release in releases:  # one release at a time, like the grain
        pairs = conn.sql(sql_text("checks/files_overlap_within_release"),
                         params={"release": release}).pl()
        overlaps.append(pairs.select(pl.lit(release).alias("release_id"), pl.all()))
    pairs = pl.concat(overlaps) if overlaps else pl.DataFrame()
    detail = "; ".join(
        f"{p['release_id']}/{p['first_file']} and {p['release_id']}/{p['second_file']} "
        f"report the same "
        f"{p['shared_cells']:,} cell(s), e.g. {p['example_cell']}"
        for p in pairs.head(3).iter_rows(named=True))
    yield dg.AssetCheckResult(
        asset_key=TRADE_FACTS, check_name="files_do_not_overlap", passed=pairs.is_empty(),
        description=detail or None,
        metadata={"file_pairs_overlapping": pairs.height,
                  "pairs": dg.MetadataValue.md(markdown_table(pairs, 20))})
    # One release at a time, like the grain: the cost is the release's, not the history's.
    disagreeing = []
    for release in releases:
        cells = conn.sql(sql_text("checks/units_agree_within_release"),
                         params={"release": release}).pl()
        disagreeing.append(cells.select(pl.lit(release).alias("release_id"), pl.all()))
    cells = pl.concat(disagreeing) if disagreeing else pl.DataFrame()
    yield dg.AssetCheckResult(
        asset_key=TRADE_FACTS, check_name="units_agree_within_release", passed=cells.is_empty(),
        metadata={"cells_with_disagreeing_units": cells.height,
                                    "cells": dg.MetadataValue.md(markdown_table(cells, 20))})
