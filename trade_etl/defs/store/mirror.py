"""Both sides: the mirror marts, Japan's figures for its trade with the United States beside the
US Census Bureau's own (reporter USA), and the gap split into parts (docs/mirror.md).

Views and table macros (`marts.mirror_balance`, `marts.mirror_by_hs_section` and their
`_as_of(d)`), created on every run: they read only the two partners' cells, so they are
computed when read. `core.mirror_assumptions` holds the assumptions the parts are computed with,
from the run's settings (`TRADE_ETL_MIRROR_*`), so a query and the brief see what the build
used."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from trade_etl.defs.columns import columns_of
from trade_etl.defs.ingest.assets import TRADE_FACTS
from trade_etl.defs.resources import WAREHOUSE_WRITER, TradeEtlConfig, warehouse_connection
from trade_etl.defs.store.core import PERIOD_MONTHS, RELEASE_COVERAGE, TRADE_LATEST
from trade_etl.defs.store.marts import (
    latest_complete_fiscal_year,
    month_stamps,
    static_token,
    view_preview,
)
from trade_etl.formats import schema
from trade_etl.settings import (
    MIRROR_CIF_FOB_ENV,
    MIRROR_RATE_LAG_ENV,
    MIRROR_TRANSIT_ENV,
    Settings,
)
from trade_etl.store.warehouse import build_as_of, create_as_of_macro, create_table_macro
from trade_etl.versions import code_version

MIRROR_MARTS = [t for t in schema.built_by("mirror_marts") if t.startswith("marts.")]
ASSUMPTIONS = "core.mirror_assumptions"


def assumption_rows(config: Settings) -> list[tuple]:
    """core.mirror_assumptions' rows: (assumption, value, meaning, setting, source)."""
    return [
        ("cif_fob_margin", config.mirror_cif_fob_margin,
         "freight and insurance as a share of the f.o.b. value: Japan's c.i.f. imports / "
         "(1 + margin) is what the US's f.a.s. exports would show",
         MIRROR_CIF_FOB_ENV, "IMF, Direction of Trade Statistics Yearbook 2017: a c.i.f./f.o.b. "
         "factor of 1.06"),
        ("transit_share", config.mirror_transit_share,
         "the share of a month's shipments that the importer records in the next month",
         MIRROR_TRANSIT_ENV, "an estimate: about 60 % of Japan-US trade by value goes by sea, "
         "and about half of a month's sailings land in the next month"),
        ("customs_rate_lag_days", float(config.mirror_customs_rate_lag_days),
         "Japan's customs converts foreign-currency invoices at the weekly average of the week "
         "before last: estimated as the daily rates of the month shifted back this many days "
         "(0: both sides at the month's average, no currency part)",
         MIRROR_RATE_LAG_ENV, "Japan Customs' conversion rule (the weekly rate of two weeks "
         "earlier); the US converts at the rate of the export date"),
    ]


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            _key(table), metadata=columns_of(_key(table)),
            group_name="marts", kinds={"duckdb", "sql"},
            deps=[TRADE_LATEST, TRADE_FACTS, RELEASE_COVERAGE, PERIOD_MONTHS,
                  *[dg.AssetKey(["ref", t]) for t in ("countries", "census_countries",
                                                      "fx_monthly", "fx_daily", "hs_chapters",
                                                      "hs_sections")]],
            description=schema.table_comment(table),
            code_version=code_version(*([schema.sql_file(table)] if "sql" in schema.TABLES[
                table] else []), "core/mirror_cells_as_of", "trade_etl.defs.store.mirror"),
        )
        for table in schema.built_by("mirror_marts")
    ],
)
def mirror_marts(warehouse: DuckDBResource, trade_etl: TradeEtlConfig):
    rows = assumption_rows(trade_etl.settings())
    with warehouse_connection(warehouse) as conn:
        conn.execute(f"create or replace table {ASSUMPTIONS} (assumption varchar primary key, "
                     "value double, meaning varchar, setting varchar, source varchar)")
        conn.executemany(f"insert into {ASSUMPTIONS} values (?, ?, ?, ?, ?)", rows)
        create_table_macro(conn, "core.winning_releases")
        create_table_macro(conn, "core.mirror_cells_as_of")
        for table in ("marts.mirror_by_hs_section", "marts.mirror_balance"):
            create_as_of_macro(conn, table)
            build_as_of(conn, table)
        fiscal_year = latest_complete_fiscal_year(conn)
        # without the US's figures the views are empty: nothing to preview (or to compute)
        has_us = conn.sql("select count(*) from core.releases where reporter = 'USA'"
                          ).fetchall()[0][0] > 0
        stamps, static = (month_stamps(conn), static_token(conn)) if has_us else ({}, "")
        yield dg.MaterializeResult(asset_key=_key(ASSUMPTIONS), metadata={
            "dagster/row_count": len(rows),
            "assumptions": dg.MetadataValue.md("\n".join(
                f"- `{name}` = {value:g}: {meaning}" for name, value, meaning, *_ in rows)),
        })
        for table in MIRROR_MARTS:
            yield dg.MaterializeResult(asset_key=_key(table), metadata={
                "kind": "view (rows are computed when queried)",
                "latest_complete_fiscal_year": fiscal_year or "none",
                "preview": view_preview(conn, table, fiscal_year, stamps, static) if has_us
                else "no US figures in the warehouse (trade-etl fetch --reporter USA)",
            })
