"""Checks on the fact store and the audit tables, shown in the UI next to the assets they guard.

Blocking checks stop downstream assets (latest figures, marts) from being built on bad data;
WARN checks flag what needs a look but does not make figures wrong.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from trade_etl.defs.ingest.assets import AUDIT_RELEASES, TRADE_FACTS
from trade_etl.defs.resources import scalar, warehouse_connection
from trade_etl.store.incremental import record_checked, unchecked_releases


@dg.asset_check(asset=AUDIT_RELEASES, blocking=True,
                description="For every file, rows read = rows loaded + rows quarantined.")
def rows_reconcile(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    bad = scalar(warehouse, "select count(*) from audit.releases "
                            "where rows_read <> rows_loaded + rows_quarantined")
    return dg.AssetCheckResult(passed=bad == 0, metadata={"files_not_reconciling": bad})


@dg.asset_check(asset=AUDIT_RELEASES,
                description="Every file currently in the raw directory could be read.")
def files_readable(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse_connection(warehouse) as conn:
        errors = conn.sql(
            "select a.release_id || '/' || a.file_name || ': ' || a.error "
            "from audit.releases a join raw.release_files f "
            "on f.release_id = a.release_id and f.file_name = a.source_file "
            "where a.status = 'error' order by 1").fetchall()
    return dg.AssetCheckResult(
        passed=not errors, severity=dg.AssetCheckSeverity.WARN,
        metadata={"files_in_error": len(errors),
                  "errors": dg.MetadataValue.md("\n".join(f"- {e[0]}" for e in errors[:50])
                                                or "_none_")})


@dg.asset_check(asset=AUDIT_RELEASES,
                description="Value-Year equals the sum of the monthly values (the months are "
                "authoritative; a mismatch is a warning, not a rejection).")
def value_year_matches_months(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    bad = scalar(warehouse, "select coalesce(sum(value_year_mismatches), 0)::bigint "
                            "from audit.releases")
    return dg.AssetCheckResult(passed=bad == 0, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"rows_with_mismatch": bad})


@dg.asset_check(asset=TRADE_FACTS, blocking=True,
                description="No two fact rows share release, file, flow, year, month, HS code "
                "and country. Checked on the releases loaded since the check last passed.")
def fact_grain_unique(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse_connection(warehouse) as conn:
        releases, tokens = unchecked_releases(conn, "fact_grain_unique")
        dupes = 0
        for release in releases:  # one release at a time: a small hash table, little memory
            dupes += conn.execute(
                "select count(*) from (select 1 from core.trade_facts "
                "where release_id = $release group by "
                "file_name, flow, year, month, hs_code, country_code "
                "having count(*) > 1)", {"release": release}).fetchall()[0][0]
        if dupes == 0:
            record_checked(conn, "fact_grain_unique", tokens)
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_keys": dupes,
                                                            "releases_checked": len(releases)})


@dg.asset_check(asset=TRADE_FACTS, blocking=True,
                description="Every stored quantity and value is non-negative and every stored "
                "row belongs to a file recorded as loaded in audit.releases. Checked on the "
                "releases loaded since the check last passed.")
def facts_valid_and_audited(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse_connection(warehouse) as conn:
        releases, tokens = unchecked_releases(conn, "facts_valid_and_audited")
        params = {"releases": releases}
        negative = conn.execute(
            "select count(*) from core.trade_facts "
            "where release_id in (select unnest($releases::varchar[])) "
            "and least(quantity1, quantity2, value_thousand_jpy) < 0", params).fetchall()[0][0]
        orphans = conn.execute(
            "select count(*) from (select distinct release_id, file_name from core.trade_facts "
            "where release_id in (select unnest($releases::varchar[]))) f "
            "anti join (select * from audit.releases where status = 'loaded') a "
            "using (release_id, file_name)", params).fetchall()[0][0]
        if negative == 0 and orphans == 0:
            record_checked(conn, "facts_valid_and_audited", tokens)
    return dg.AssetCheckResult(passed=negative == 0 and orphans == 0,
                               metadata={"negative_rows": negative, "unaudited_files": orphans,
                                         "releases_checked": len(releases)})
