"""Checks on the core layer."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from trade_etl.defs.resources import scalar, warehouse_connection
from trade_etl.defs.store.core import HS_CODE_SECTORS, TRADE_LATEST
from trade_etl.store.incremental import combine, passed_with, record_passed, release_tokens


@dg.asset_check(asset=TRADE_LATEST, blocking=True,
                description="Latest figures are unique per flow, year, month, HS code and "
                "country, and each month cell comes from exactly one release.")
def latest_one_release_per_cell(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse_connection(warehouse) as conn:
        # core.trade_latest changes only when a release does: skip what already passed.
        token = combine(sorted(release_tokens(conn).items()))
        if passed_with(conn, "latest_one_release_per_cell", token):
            return dg.AssetCheckResult(passed=True, metadata={
                "duplicate_keys": 0, "cells_from_two_releases": 0,
                "checked": "unchanged since it last passed"})
        dupes = conn.sql("select count(*) from (select 1 from core.trade_latest group by "
                         "flow, year, month, hs_code, country_code having count(*) > 1)"
                         ).fetchall()[0][0]
        mixed = conn.sql("select count(*) from (select 1 from core.trade_latest group by "
                         "flow, year, month, left(hs_code, 2) "
                         "having count(distinct release_id) > 1)").fetchall()[0][0]
        if dupes == 0 and mixed == 0:
            record_passed(conn, "latest_one_release_per_cell", token)
    return dg.AssetCheckResult(passed=dupes == 0 and mixed == 0,
                               metadata={"duplicate_keys": dupes, "cells_from_two_releases": mixed,
                                         "checked": "whole table"})


@dg.asset_check(asset=HS_CODE_SECTORS, blocking=True,
                description="Every HS code falls in exactly one top sector (otherwise the sector "
                "marts would not add up to the total).")
def every_code_has_a_top_sector(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    unmapped = scalar(warehouse, "select count(*) from core.hs_code_sectors "
                                 "where top_sector_code is null")
    return dg.AssetCheckResult(passed=unmapped == 0, metadata={"unmapped_codes": unmapped})


@dg.asset_check(asset=HS_CODE_SECTORS,
                description="Every HS code's chapter is a chapter of the HS nomenclature "
                "(codes in unknown chapters are shown as section '?').")
def every_code_has_a_section(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    unknown = scalar(warehouse, "select count(*) from core.hs_code_sectors "
                                "where hs_section is null")
    return dg.AssetCheckResult(passed=unknown == 0, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"codes_in_unknown_chapters": unknown})
