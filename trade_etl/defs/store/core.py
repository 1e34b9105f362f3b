"""Core: supersession (latest and as-of figures), the sector mapping and the period calendar.

core/trade_facts ─▶ core/release_coverage ─▶ core/trade_latest
                 └▶ core/hs_code_sectors ─▶ core/trade_release_monthly ─▶ marts
core/period_months (the fiscal calendar) ─▶ marts
"""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from trade_etl.db import table_exists
from trade_etl.defs.columns import columns_of
from trade_etl.defs.ingest.assets import RELEASE_FILES, TRADE_FACTS
from trade_etl.defs.metadata import markdown_table
from trade_etl.defs.partitions import RELEASES, SINGLE_RUN
from trade_etl.defs.resources import WAREHOUSE_WRITER, TradeEtlConfig, warehouse_connection
from trade_etl.store.incremental import (
    PER_RELEASE_TABLES,
    Refresh,
    current_code,
    ensure_exists,
    forget_removed,
    passed_with,
    record_passed,
    refresh_codes,
    refresh_latest,
    replace_releases,
    table_token,
)
from trade_etl.store.warehouse import create_table_macro, create_view, rebuild_table
from trade_etl.versions import code_version

RELEASE_COVERAGE = dg.AssetKey(["core", "release_coverage"])
TRADE_LATEST = dg.AssetKey(["core", "trade_latest"])
HS_CODE_SECTORS = dg.AssetKey(["core", "hs_code_sectors"])
TRADE_RELEASE_MONTHLY = dg.AssetKey(["core", "trade_release_monthly"])
PERIOD_MONTHS = dg.AssetKey(["core", "period_months"])


def _ref(*tables: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["ref", t]) for t in tables]


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=RELEASE_COVERAGE, metadata=columns_of(RELEASE_COVERAGE),
    group_name="core", kinds={"duckdb", "sql"}, deps=[TRADE_FACTS],
    description="The (flow, year, month, HS chapter) cells each release reports, and the table "
    "macro core.winning_releases(as_of): which release supplies each cell on a given date.",
    partitions_def=RELEASES, backfill_policy=SINGLE_RUN,
    code_version=current_code("core.release_coverage"),
)
def release_coverage(context: dg.AssetExecutionContext,
                     warehouse: DuckDBResource) -> dg.MaterializeResult:
    # Exactly the run's releases; every release when the code version changed.
    releases = context.partition_keys
    with warehouse_connection(warehouse) as conn:
        refresh = replace_releases(conn, "core.release_coverage", releases)
        create_table_macro(conn, "core.winning_releases")
        by_release = conn.sql(
            "select release_id, count(*) as cells, min(format('{:04d}-{:02d}', year, month)) "
            "as first_month, max(format('{:04d}-{:02d}', year, month)) as last_month "
            "from core.release_coverage where release_id in (select unnest($releases::varchar[]))"
            " group by 1 order by 1", params={"releases": releases}).pl()
    for release in releases:  # each partition shows its own release (README, "Dagster UI")
        own = by_release.filter(pl.col("release_id") == release)
        context.add_asset_metadata(partition_key=release, metadata={
            "dagster/row_count": int(own["cells"].sum() or 0),
            "first_month": own["first_month"][0] if own.height else "none",
            "last_month": own["last_month"][0] if own.height else "none"})
    return dg.MaterializeResult(metadata={"refresh_this_run": refresh.describe()})


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=TRADE_LATEST, metadata=columns_of(TRADE_LATEST),
    # raw/release_files too: a run of no release (only removals) must still follow the inventory
    group_name="core", kinds={"duckdb", "sql"}, deps=[RELEASE_COVERAGE, RELEASE_FILES],
    description="The latest figures: for each (reporter, flow, year, month, HS chapter) the most "
    "recent release of that reporter that reports it supersedes all earlier ones. Grain: "
    "reporter, flow, year, month, hs_code, country_code. With it, the view "
    "core.confidential_codes: the values withheld under confidential codes (`38XXXXXXX`), "
    "which every total includes.",
    code_version=code_version("core/trade_latest", "core/winning_releases",
                              "core/confidential_codes"),
    check_specs=[dg.AssetCheckSpec(
        "latest_one_release_per_cell", asset=TRADE_LATEST, blocking=True,
        description="Latest figures are unique per reporter, flow, year, month, HS code and "
        "country, and each month cell comes from exactly one release of its reporter.")],
)
def trade_latest(warehouse: DuckDBResource):
    with warehouse_connection(warehouse) as conn:
        for table in PER_RELEASE_TABLES:  # a run over no release partition reads them too
            ensure_exists(conn, table)
        forget_removed(conn)  # releases whose last file the inventory removed
        create_table_macro(conn, "core.winning_releases")
        before = sources_token(conn)
        refresh = refresh_latest(conn)
        create_view(conn, "core.confidential_codes")
        totals = conn.sql(
            "select reporter, year, count(distinct month) as months, "
            "sum(value_thousand_jpy) filter (where flow = 1) as exports_thousand_jpy, "
            "sum(value_thousand_jpy) filter (where flow = 2) as imports_thousand_jpy "
            "from core.trade_latest group by reporter, year order by reporter, year").pl()
        check = latest_one_release_per_cell(conn, before, refresh)
    yield dg.MaterializeResult(metadata={"dagster/row_count": refresh.rows,
                                         "cells_recomputed": refresh.stale,
                                         "preview": dg.MetadataValue.md(markdown_table(totals))})
    yield check


def sources_token(conn) -> str | None:
    """What core.trade_latest was built from: a hash of core.trade_latest_sources (each cell's
    release and that release's token; the refresh writes both tables in one transaction)."""
    if not table_exists(conn, "core.trade_latest_sources"):
        return None
    return table_token(conn, "core.trade_latest_sources")


LATEST_CHECK = "latest_one_release_per_cell"


def latest_one_release_per_cell(conn, before: str | None = None,
                                refresh: Refresh | None = None) -> dg.AssetCheckResult:
    """Unique keys, and one release per (reporter, flow, year, month, HS chapter) cell.

    Both are properties of each (reporter, flow, year, month): when the table last passed as it
    was before this refresh (`before`, the sources' token then), only the months the refresh
    recomputed can have changed, and only they are checked; otherwise the whole table. A pass
    is recorded with the sources' token, so an unchanged table is not checked again."""
    after = sources_token(conn)
    if after is not None and passed_with(conn, LATEST_CHECK, after):
        return dg.AssetCheckResult(passed=True, metadata={
            "duplicate_keys": 0, "cells_from_two_releases": 0,
            "checked": "unchanged since it last passed"})
    scoped = (before is not None and refresh is not None and not refresh.full
              and passed_with(conn, LATEST_CHECK, before))
    source = "core.trade_latest"
    if scoped:
        conn.execute("create or replace temp table checked_months (reporter varchar, "
                     "flow tinyint, year smallint, month tinyint)")
        if refresh.months:
            conn.executemany("insert into checked_months values (?, ?, ?, ?)", refresh.months)
        source = ("(select latest.* from core.trade_latest as latest semi join checked_months "
                  "using (reporter, flow, year, month))")
    dupes = conn.sql(f"select count(*) from (select 1 from {source} group by "
                     "reporter, flow, year, month, hs_code, country_code having count(*) > 1)"
                     ).fetchall()[0][0]
    mixed = conn.sql(f"select count(*) from (select 1 from {source} group by "
                     "reporter, flow, year, month, left(hs_code, 2) "
                     "having count(distinct release_id) > 1)").fetchall()[0][0]
    if scoped:
        conn.execute("drop table checked_months")
    if dupes == 0 and mixed == 0 and after is not None:
        record_passed(conn, LATEST_CHECK, after)
    checked = (f"the {len(refresh.months)} month(s) recomputed" if scoped else "whole table")
    return dg.AssetCheckResult(passed=dupes == 0 and mixed == 0,
                               metadata={"duplicate_keys": dupes, "cells_from_two_releases": mixed,
                                         "checked": checked})


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=HS_CODE_SECTORS, metadata=columns_of(HS_CODE_SECTORS),
    group_name="core", kinds={"duckdb", "sql"},
    deps=[TRADE_FACTS, RELEASE_FILES, *_ref("sector_map", "sectors", "hs_chapters")],
    description="Every 9-digit HS code in the fact store with its chapter, HS section, top "
    "sector and highlighted sector (longest prefix of ref.sector_map wins, per level).",
    code_version=current_code("core.hs_code_sectors"),
    check_specs=[
        dg.AssetCheckSpec("every_code_has_a_top_sector", asset=HS_CODE_SECTORS, blocking=True,
                          description="Every HS code falls in exactly one top sector (otherwise "
                          "the sector marts would not add up to the total)."),
        dg.AssetCheckSpec("every_code_has_a_section", asset=HS_CODE_SECTORS,
                          description="Every HS code's chapter is a chapter of the HS "
                          "nomenclature (codes in unknown chapters are shown as section '?')."),
    ],
)
def hs_code_sectors(warehouse: DuckDBResource):
    with warehouse_connection(warehouse) as conn:
        refresh = refresh_codes(conn, "core.hs_code_sectors")
        unmapped = conn.sql("select count(*) from core.hs_code_sectors where top_sector_code is "
                            "null or hs_section is null").fetchall()[0][0]
        no_sector, no_section = conn.sql(
            "select count(*) filter (where top_sector_code is null), "
            "count(*) filter (where hs_section is null) from core.hs_code_sectors").fetchall()[0]
        by_sector = conn.sql("select top_sector_code, highlight_sector_code, count(*) as codes "
                             "from core.hs_code_sectors group by all order by all").pl()
    yield dg.MaterializeResult(metadata={"dagster/row_count": refresh.rows,
                                         "refresh": refresh.describe(),
                                         "unmapped_codes": unmapped,
                                         "preview": dg.MetadataValue.md(
                                             markdown_table(by_sector, 30))})
    yield dg.AssetCheckResult(check_name="every_code_has_a_top_sector", passed=no_sector == 0,
                              metadata={"unmapped_codes": no_sector})
    yield dg.AssetCheckResult(check_name="every_code_has_a_section", passed=no_section == 0,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"codes_in_unknown_chapters": no_section})


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=TRADE_RELEASE_MONTHLY, metadata=columns_of(TRADE_RELEASE_MONTHLY),
    group_name="core", kinds={"duckdb", "sql"},
    deps=[TRADE_FACTS, HS_CODE_SECTORS, RELEASE_COVERAGE],
    description="Each release's values by month, HS chapter, partner and sector, and the table "
    "macro core.trade_monthly_as_of(as_of): the figures known on a date, after supersession.",
    partitions_def=RELEASES, backfill_policy=SINGLE_RUN,
    code_version=current_code("core.trade_release_monthly"),
)
def trade_release_monthly(context: dg.AssetExecutionContext,
                          warehouse: DuckDBResource) -> dg.MaterializeResult:
    releases = context.partition_keys
    with warehouse_connection(warehouse) as conn:
        refresh = replace_releases(conn, "core.trade_release_monthly", releases)
        create_table_macro(conn, "core.trade_monthly_as_of")
        rows = dict(conn.execute(
            "select release_id, count(*) from core.trade_release_monthly where release_id in "
            "(select unnest($releases::varchar[])) group by 1", {"releases": releases}
        ).fetchall())
    for release in releases:  # each partition shows its own release
        context.add_asset_metadata({"dagster/row_count": rows.get(release, 0)},
                                   partition_key=release)
    return dg.MaterializeResult(metadata={"refresh_this_run": refresh.describe()})


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=PERIOD_MONTHS, metadata=columns_of(PERIOD_MONTHS),
    group_name="core", kinds={"duckdb", "sql"},
    description="The calendar: each month's month, fiscal quarter, fiscal half, fiscal year, "
    "calendar quarter and calendar year, with labels and start/end dates. The fiscal year starts "
    "in TRADE_ETL_FISCAL_START_MONTH (default 4, April).",
    code_version=code_version("core/period_months"),
)
def period_months(warehouse: DuckDBResource, trade_etl: TradeEtlConfig) -> dg.MaterializeResult:
    # Read once, here: the calendar built records it, and readers take it from there
    # (trade_etl.serve.brief.built_fiscal_start_month), not from the environment again.
    start = trade_etl.settings().fiscal_start_month
    with warehouse_connection(warehouse) as conn:
        rows = rebuild_table(conn, "core.period_months", {"fiscal_start_month": start})
        example = conn.sql("select period_type, period, period_start, period_end from "
                           "core.period_months where year = 2024 and month = 5").pl()
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "fiscal_start_month": start,
                                          "preview": dg.MetadataValue.md(markdown_table(example))})
