"""Reference tables (schema `ref`) loaded from the CSVs the project ships under `data/ref/`."""

import hashlib

import dagster as dg
from dagster_duckdb import DuckDBResource

from trade_etl.defs.columns import columns_of
from trade_etl.defs.resources import WAREHOUSE_WRITER, warehouse_connection
from trade_etl.ingest.reference import REF_TABLES, load_ref_table, ref_csv


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            ["ref", table],
            metadata=columns_of(["ref", table]),
            code_version=hashlib.sha256(ref_csv(table).read_bytes()).hexdigest()[:12],
            description=f"Reference table loaded from data/ref/{table}.csv "
            "(see docs/reference.md).",
            group_name="reference",
            kinds={"duckdb", "csv"},
        )
        for table in REF_TABLES
    ],
    can_subset=True,
)
def ref_tables(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    with warehouse_connection(warehouse) as conn:
        for key in context.selected_asset_keys:
            table = key.path[-1]
            rows = load_ref_table(conn, table)
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={"dagster/row_count": rows, "source": str(ref_csv(table))},
            )
