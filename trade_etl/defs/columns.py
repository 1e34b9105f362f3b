"""Dagster column schemas from the one column spec (`trade_etl.formats.schema`).

Helpers only, no definitions: everything under defs/ is autoloaded. Attach
`table_metadata("marts.balance_total")` to an asset's metadata (spec or materialization) and the
UI shows the table's columns with their types, units and meanings.
"""

import dagster as dg

from trade_etl.formats.schema import TABLES, columns


def column_schema(table: str) -> dg.TableSchema:
    """The columns of `table` (`schema.name`, a key of `schema.TABLES`) in warehouse order."""
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.comment)
                                   for c in columns(table)])


def table_metadata(table: str) -> dict:
    """`{"dagster/column_schema": …}` for an asset that writes `table`."""
    return {"dagster/column_schema": column_schema(table)}


def columns_of(key: dg.AssetKey | list[str]) -> dict:
    """The column schema of the table an asset key names (`["marts", "balance_total"]` is
    `marts.balance_total`), or nothing for an asset that is not a public table."""
    path = key.path if isinstance(key, dg.AssetKey) else key
    table = ".".join(path)
    return table_metadata(table) if table in TABLES else {}
