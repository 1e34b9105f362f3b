"""DuckDB primitives every layer may use: a statement's SQL file, a transaction, a setting
for a block, a table's existence. Nothing here knows a table of the warehouse
(trade_etl/store/warehouse.py does)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb

from trade_etl.settings import SQL_DIR


def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql`, e.g. `core/trade_latest`."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block does, or roll it all back if it raises (or the process dies)."""
    conn.execute("begin transaction")
    try:
        yield
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


@contextmanager
def setting(conn: duckdb.DuckDBPyConnection, name: str, value: str | int,
            restore: str | int | None = None) -> Iterator[None]:
    """DuckDB's setting `name` (an identifier from the code, e.g. `threads`) at `value` for the
    block, then `restore`: by default what it was; give it where DuckDB shows the setting in
    another form than it was set (`memory_limit`: 512MB shows as 488.2 MiB). When the block
    raises, its error is the one that propagates."""
    if restore is None:
        restore = conn.execute("select current_setting($name)", {"name": name}).fetchall()[0][0]
    conn.execute(f"set {name} = $value", {"value": value})
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):
            conn.execute(f"set {name} = $value", {"value": restore})
        raise
    conn.execute(f"set {name} = $value", {"value": restore})


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.name` exists."""
    schema, name = table.split(".")
    return conn.execute(
        "select count(*) from duckdb_tables() where schema_name = $s and table_name = $n",
        {"s": schema, "n": name}).fetchall()[0][0] > 0
