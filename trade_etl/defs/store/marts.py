"""Marts: trade balances by partner, region, HS section, sector and period, latest and as of any
date, revisions from first publication, and quantities and unit values by HS code and partner.
These tables, views and macros are the public interface (docs/warehouse.md)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from trade_etl.defs.columns import columns_of
from trade_etl.defs.ingest.assets import TRADE_FACTS
from trade_etl.defs.metadata import code_version, markdown_table
from trade_etl.defs.resources import WAREHOUSE_WRITER, warehouse_connection
from trade_etl.defs.store.core import (
    HS_CODE_SECTORS,
    PERIOD_MONTHS,
    RELEASE_COVERAGE,
    TRADE_LATEST,
    TRADE_RELEASE_MONTHLY,
)
from trade_etl.ingest.reference import REF_TABLES
from trade_etl.settings import SQL_DIR
from trade_etl.store.incremental import (
    combine,
    is_current,
    record_whole,
    release_tokens,
    table_token,
)
from trade_etl.store.warehouse import (
    MARTS,
    QUANTITY_MARTS,
    build_mart,
    create_table_macro,
    create_view_mart,
    rebuild_table,
    sql_text,
    transaction,
)

REF_DEPS = [dg.AssetKey(["ref", t]) for t in ("countries", "country_groups", "hs_sections",
                                              "hs_chapters", "sectors", "fx_monthly",
                                              "official_totals")]
DESCRIPTIONS = {
    "balance_total": "Japan's exports, imports and balance with the world",
    "balance_by_partner": "Trade with each partner country",
    "balance_by_region": "Trade with customs areas and with ASEAN and the EU (membership over "
                         "time)",
    "balance_by_hs_section": "Trade by HS section (I … XXI)",
    "balance_by_sector": "Trade by principal-commodity sector (nine top groups and highlighted "
                         "groups)",
    "balance_by_partner_sector": "Trade with each partner by sector",
}
# A preview per mart: the latest complete fiscal year's largest rows by absolute balance.
PREVIEW_COLUMNS = {
    "balance_total": "period_type",
    "balance_by_partner": "partner_name",
    "balance_by_region": "region",
    "balance_by_hs_section": "hs_section || ' ' || left(section_name, 40)",
    "balance_by_sector": "sector_name || ' (' || sector_level || ')'",
    "balance_by_partner_sector": "partner_iso3 || ' ' || sector_name",
}


def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


# Reconciliation: every mart agrees with the others and with the fact store, to the yen. Each
# check is (mart, name, SQL file under sql/checks/, its parameters, description); a check reads
# other marts too, so the multi-asset runs the checks after every selected mart is built.
RECONCILIATIONS = [
    ("balance_total", "total_matches_latest", "total_matches_latest", {},
     "Monthly totals equal core.trade_latest, to the yen."),
    ("balance_total", "months_sum_to_periods", "months_sum_to_periods", {},
     "Months sum to fiscal and calendar quarters, halves and years."),
    ("balance_by_partner", "partners_sum_to_total", "parts_sum_to_total",
     {"breakdown": "partner"}, "Partners sum to marts.balance_total in every period."),
    ("balance_by_hs_section", "hs_sections_sum_to_total", "parts_sum_to_total",
     {"breakdown": "hs_section"}, "HS sections sum to marts.balance_total in every period."),
    ("balance_by_sector", "sectors_sum_to_total", "parts_sum_to_total",
     {"breakdown": "sector"}, "The nine top sectors sum to marts.balance_total in every period."),
    ("balance_by_region", "areas_sum_to_total", "parts_sum_to_total",
     {"breakdown": "area"}, "Customs areas sum to marts.balance_total in every period."),
    ("balance_by_partner_sector", "partner_sectors_sum_to_partners",
     "partner_sectors_sum_to_partners", {},
     "For every partner, the top sectors sum to the partner's trade."),
]
RECONCILIATION_CHECKS = [
    dg.AssetCheckSpec(name, asset=_mart(mart), blocking=True, description=description,
                      additional_deps=[_mart("balance_total")] if mart != "balance_total"
                      else [])
    for mart, name, _sql, _params, description in RECONCILIATIONS
] + [
    dg.AssetCheckSpec(
        "totals_match_official", asset=_mart("balance_by_partner"), blocking=True,
        additional_deps=[_mart("balance_total")],
        description="The world's and every partner's calendar-year exports and imports equal "
        "the Ministry of Finance's published totals (ref.official_totals), to the thousand "
        "yen. Fails the build (ERROR) for a complete year whose figures are at the stage of "
        "the published vintage (revised or fixed); a preliminary year, or one at another "
        "stage, is reported as a warning. Differences: audit.official_totals_diff."),
]


def inputs_token(conn) -> str:
    """Changes whenever anything a mart is computed from changes: releases, reference tables,
    the fiscal calendar, or the SQL that defines the marts."""
    return combine(
        sorted(release_tokens(conn).items()),
        [table_token(conn, f"ref.{table}") for table in REF_TABLES],
        table_token(conn, "core.period_months"),
        sorted(p.read_text() for p in (SQL_DIR / "marts").glob("*.sql")),
        (SQL_DIR / "core" / "balance_as_of.sql").read_text(),
    )


def _rebuild_unless_current(conn, table: str, token: str, build) -> tuple[int, bool]:
    """Run `build()` (which returns a row count) unless `table` is current; record the token."""
    if is_current(conn, table, token):
        return conn.sql(f"select count(*) from {table}").fetchall()[0][0], False
    with transaction(conn):
        rows = build()
        record_whole(conn, table, token)
    return rows, True


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            ["marts", mart], metadata=columns_of(["marts", mart]),
            group_name="marts", kinds={"duckdb", "sql"},
            # core/trade_latest: total_matches_latest reads it; core/hs_code_sectors: the
            # sectors; both keep the order when a run covers no release partition.
            deps=[TRADE_RELEASE_MONTHLY, PERIOD_MONTHS, RELEASE_COVERAGE, TRADE_LATEST,
                  HS_CODE_SECTORS, *REF_DEPS],
            description=f"{DESCRIPTIONS[mart]}, by month, fiscal quarter, half and year, and "
            f"calendar quarter and year, in yen and dollars. Same columns as of any date: "
            f"marts.{mart}_as_of(DATE 'YYYY-MM-DD').",
            code_version=code_version(f"marts/{mart}_as_of", "core/balance_as_of"),
            skippable=True,
        )
        for mart in MARTS
    ],
    check_specs=RECONCILIATION_CHECKS,
    can_subset=True,
)
def balance_marts(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    with warehouse_connection(warehouse) as conn:
        create_table_macro(conn, "core.trade_monthly_as_of")  # also when no partition ran
        create_table_macro(conn, "core.balance_as_of")
        token = inputs_token(conn)
        for mart in MARTS:
            key = dg.AssetKey(["marts", mart])
            if key not in context.selected_asset_keys:
                continue
            rows, rebuilt = _rebuild_unless_current(
                conn, f"marts.{mart}", token, lambda mart=mart: build_mart(conn, mart))
            fiscal_year = conn.sql(
                f"select max(period) from marts.{mart} where period_type = 'fiscal_year' "
                "and months_reported = 12").fetchall()[0][0]
            label = PREVIEW_COLUMNS[mart]
            preview = conn.sql(
                f"select {label} as name, round(exports_jpy / 1e12, 3) as exports_tn_jpy, "
                "round(imports_jpy / 1e12, 3) as imports_tn_jpy, "
                "round(balance_jpy / 1e12, 3) as balance_tn_jpy, "
                f"round(balance_usd / 1e9, 1) as balance_bn_usd from marts.{mart} "
                "where period_type = 'fiscal_year' and period = $fy "
                "order by abs(balance_jpy) desc limit 10", params={"fy": fiscal_year}).pl()
            yield dg.MaterializeResult(asset_key=key, metadata={
                "dagster/row_count": rows,
                "refresh": "rebuilt" if rebuilt else "up to date",
                "latest_complete_fiscal_year": fiscal_year or "none",
                "preview": dg.MetadataValue.md(
                    f"**{fiscal_year or 'no complete fiscal year'}**, largest balances\n\n"
                    + markdown_table(preview)),
            })
        selected = context.selected_asset_check_keys
        for mart, name, sql, params, _description in RECONCILIATIONS:
            if dg.AssetCheckKey(_mart(mart), name) not in selected:
                continue
            mismatches = conn.execute(f"select count(*) from ({sql_text(f'checks/{sql}')})",
                                      params).fetchall()[0][0]
            yield dg.AssetCheckResult(asset_key=_mart(mart), check_name=name,
                                      passed=mismatches == 0,
                                      metadata={"mismatches": mismatches})
        if dg.AssetCheckKey(_mart("balance_by_partner"), "totals_match_official") in selected:
            yield official_totals_check(conn)


def official_totals_check(conn) -> dg.AssetCheckResult:
    """`totals_match_official`, from audit.official_totals_diff (created here, after the
    tables it reads): ERROR when a difference blocks, WARN when differences are reported only."""
    conn.execute("create or replace view audit.official_totals_diff as "
                 + sql_text("checks/official_totals_diff"))
    diffs = conn.sql("select * from audit.official_totals_diff where status = 'differs'").pl()
    blocking = diffs.filter(diffs["blocks"])
    shown = blocking if not blocking.is_empty() else diffs
    flows = {1: "exports", 2: "imports"}
    detail = "; ".join(
        f"{d['partner_name']} CY{d['year']} {flows[d['flow']]} differ from the Ministry's "
        f"{d['vintage_stage']} total by {'-' if d['difference_jpy'] < 0 else '+'}"
        f"¥{abs(d['difference_jpy']):,} (warehouse "
        f"¥{d['warehouse_jpy']:,}, {d['warehouse_stage']}; published ¥{d['official_jpy']:,})"
        for d in shown.head(3).iter_rows(named=True))
    if len(shown) > 3:
        detail += f"; and {len(shown) - 3} more (audit.official_totals_diff)"
    compared = conn.sql("select count(*), count(*) filter (where status = 'match') "
                        "from audit.official_totals_diff").fetchall()[0]
    return dg.AssetCheckResult(
        asset_key=_mart("balance_by_partner"), check_name="totals_match_official",
        passed=diffs.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR if not blocking.is_empty()
        else dg.AssetCheckSeverity.WARN,
        description=detail or None,
        metadata={"totals_compared": compared[0], "totals_matching": compared[1],
                  "totals_differing": len(diffs), "differences_blocking": len(blocking),
                  "differences": dg.MetadataValue.md(markdown_table(
                      shown.drop("blocks"), 20))})


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=["marts", "revisions"], metadata=columns_of(["marts", "revisions"]),
    group_name="marts", kinds={"duckdb", "sql"},
    deps=[TRADE_RELEASE_MONTHLY, RELEASE_COVERAGE, TRADE_LATEST,
          dg.AssetKey(["ref", "countries"])],
    description="Per flow, month and partner: the first published value, the latest value, the "
    "revision and the releases they came from.",
    code_version=code_version("marts/revisions"),
)
def revisions(warehouse: DuckDBResource) -> dg.MaterializeResult:
    with warehouse_connection(warehouse) as conn:
        create_table_macro(conn, "core.trade_monthly_as_of")
        rows, rebuilt = _rebuild_unless_current(
            conn, "marts.revisions", inputs_token(conn),
            lambda: rebuild_table(conn, "marts.revisions"))
        largest = conn.sql(
            "select flow, period, partner_name, first_value_jpy, latest_value_jpy, revision_jpy "
            "from marts.revisions order by abs(revision_jpy) desc limit 10").pl()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "refresh": "rebuilt" if rebuilt else "up to date",
        "preview": dg.MetadataValue.md("**Largest revisions**\n\n" + markdown_table(largest)),
    })


QUANTITY_DESCRIPTIONS = {
    "quantity_by_hs_code": "Quantities, value and unit values (yen per unit) by 9-digit HS code "
                           "and partner",
    "quantity_by_hs_subheading": "Quantities, value and unit values (yen per unit) by HS "
                                 "subheading (6 digits) and partner",
}


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            ["marts", mart], metadata=columns_of(["marts", mart]),
            group_name="marts", kinds={"duckdb", "sql"},
            # the latest figures, and the facts and coverage of the as-of macro
            deps=[TRADE_LATEST, TRADE_FACTS, RELEASE_COVERAGE, PERIOD_MONTHS,
                  dg.AssetKey(["ref", "countries"])],
            description=f"{QUANTITY_DESCRIPTIONS[mart]}, by month, fiscal quarter, half and "
            "year, and calendar quarter and year, with the units in the grain: quantities in "
            "different units are never added up (core/trade_facts:units_agree_within_release "
            "guarantees each latest cell has one unit). A view over core.trade_latest; the same "
            f"columns as of any date: marts.{mart}_as_of(DATE 'YYYY-MM-DD').",
            code_version=code_version(f"marts/{mart}_as_of", "core/quantities_as_of"),
        )
        for mart in QUANTITY_MARTS
    ],
)
def quantity_marts(warehouse: DuckDBResource):
    # Views and macros: creating them costs nothing, so both are created on every run.
    # Queries read only the rows their filters select.
    with warehouse_connection(warehouse) as conn:
        create_table_macro(conn, "core.winning_releases")  # also when no partition ran
        with transaction(conn):
            for mart in QUANTITY_MARTS:
                create_view_mart(conn, mart)
        fiscal_year = conn.sql(
            "select max(period) from (select calendar.period from (select distinct year, month "
            "from core.release_coverage) as months inner join core.period_months as calendar "
            "on months.year = calendar.year and months.month = calendar.month "
            "where calendar.period_type = 'fiscal_year' group by 1 having count(*) = 12)"
        ).fetchall()[0][0]
        for mart in QUANTITY_MARTS:
            code = "hs_code" if mart == "quantity_by_hs_code" else "hs_subheading"
            preview = conn.sql(
                f"select flow, {code}, partner_name, unit1, quantity1, unit2, quantity2, "
                "round(value_jpy / 1e9, 3) as value_bn_jpy, round(jpy_per_unit1) as "
                "jpy_per_unit1, round(jpy_per_unit2) as jpy_per_unit2 "
                f"from marts.{mart} where period_type = 'fiscal_year' and period = $fy "
                "order by value_jpy desc limit 10", params={"fy": fiscal_year}).pl()
            yield dg.MaterializeResult(asset_key=_mart(mart), metadata={
                "kind": "view (rows are computed when queried)",
                "latest_complete_fiscal_year": fiscal_year or "none",
                "preview": dg.MetadataValue.md(
                    f"**{fiscal_year or 'no complete fiscal year'}**, largest values\n\n"
                    + markdown_table(preview)),
            })
