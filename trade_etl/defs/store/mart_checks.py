"""Reconciliation checks: every mart agrees with the others and with the fact store, to the yen."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from trade_etl.defs.resources import scalar
from trade_etl.store.warehouse import sql_text


def _mismatches(warehouse: DuckDBResource, check: str, params: dict | None = None) -> int:
    return scalar(warehouse, f"select count(*) from ({sql_text(f'checks/{check}')})", params)


def _result(mismatches: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=mismatches == 0, metadata={"mismatches": mismatches})


@dg.asset_check(asset=["marts", "balance_total"], blocking=True,
                description="Monthly totals equal core.trade_latest, to the yen.")
def total_matches_latest(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    return _result(_mismatches(warehouse, "total_matches_latest"))


@dg.asset_check(asset=["marts", "balance_total"], blocking=True,
                description="Months sum to fiscal and calendar quarters, halves and years.")
def months_sum_to_periods(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    return _result(_mismatches(warehouse, "months_sum_to_periods"))


def _parts_check(mart: str, breakdown: str, what: str):
    @dg.asset_check(asset=["marts", mart], name=f"{breakdown}s_sum_to_total", blocking=True,
                    additional_deps=[dg.AssetKey(["marts", "balance_total"])],
                    description=f"{what} sum to marts.balance_total in every period.")
    def check(warehouse: DuckDBResource) -> dg.AssetCheckResult:
        return _result(_mismatches(warehouse, "parts_sum_to_total", {"breakdown": breakdown}))

    return check


partners_sum_to_total = _parts_check("balance_by_partner", "partner", "Partners")
sections_sum_to_total = _parts_check("balance_by_hs_section", "hs_section", "HS sections")
sectors_sum_to_total = _parts_check("balance_by_sector", "sector", "The nine top sectors")
areas_sum_to_total = _parts_check("balance_by_region", "area", "Customs areas")


@dg.asset_check(asset=["marts", "balance_by_partner_sector"], blocking=True,
                additional_deps=[dg.AssetKey(["marts", "balance_by_partner"])],
                description="For every partner, the top sectors sum to the partner's trade.")
def partner_sectors_sum_to_partners(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    return _result(_mismatches(warehouse, "partner_sectors_sum_to_partners"))
