"""Reference tables (schema `ref`) loaded from the CSVs the project ships under `data/ref/`; the
exchange-rate tables also from the newest vintages `raw/fx_rates` keeps in the raw folder."""

import hashlib

import dagster as dg
from dagster_duckdb import DuckDBResource

from trade_etl.defs.columns import columns_of
from trade_etl.defs.fetch.assets import FX_RATES
from trade_etl.defs.resources import (
    WAREHOUSE_WRITER,
    RawDirectory,
    TradeEtlConfig,
    user_errors,
    warehouse_connection,
)
from trade_etl.formats.fx_rates import fetched_rates
from trade_etl.ingest.layouts import registry
from trade_etl.ingest.reference import (
    FX_TABLES,
    REF_TABLES,
    load_ref_table,
    ref_csv,
    ref_sources,
)


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            ["ref", table],
            metadata=columns_of(["ref", table]),
            code_version=hashlib.sha256(b"".join(
                path.read_bytes() for path in ref_sources(table))).hexdigest()[:12],
            description=f"Reference table loaded from data/ref/{table}.csv "
            "(see docs/reference.md).",
            group_name="reference",
            kinds={"duckdb", "csv"},
            deps=[FX_RATES] if table in FX_TABLES else [],
        )
        for table in REF_TABLES
    ],
    can_subset=True,
)
def ref_tables(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
               raw_dir: RawDirectory, trade_etl: TradeEtlConfig):
    # ref.reporters: the shipped rows and the reporters of the registered layout modules
    with user_errors("registering the reporters' layouts"):
        layouts = registry(trade_etl.settings().layout_modules)
    with warehouse_connection(warehouse) as conn:
        for key in context.selected_asset_keys:
            table = key.path[-1]
            rows = load_ref_table(conn, table, raw_dir=raw_dir.root, registry=layouts)
            metadata = {"dagster/row_count": rows, "source": str(ref_csv(table))}
            if table in FX_TABLES:
                by_source = conn.sql(f"select source, count(*), min({FX_TABLES[table]}), "
                                     f"max({FX_TABLES[table]}) from ref.{table} group by 1 "
                                     "order by 3").fetchall()
                metadata["sources"] = dg.MetadataValue.md("\n".join(
                    f"- `{source}`: {count} rows, {first} … {last}"
                    for source, count, first, last in by_source))
                for problem in fetched_rates(raw_dir.root).problems:
                    context.log.warning(problem)
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
