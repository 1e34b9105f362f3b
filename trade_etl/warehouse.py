"""DuckDB warehouse access: schema creation and the SQL files under `sql/`.

All DDL lives in `sql/ddl.sql`. Every other SQL file holds one statement whose values are bound
as parameters (`$name`), never formatted into the text.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from trade_etl.settings import SQL_DIR


def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql`, e.g. `core/trade_latest`."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(sql_text("ddl"))


def rebuild_table(conn: duckdb.DuckDBPyConnection, table: str, params: dict | None = None) -> int:
    """`create or replace table <table> as <sql/schema/name.sql>`; returns its row count.

    `table` is `schema.name` and must name an existing SQL file: it is an identifier from a fixed
    list, never user input.
    """
    schema, name = table.split(".")
    select = sql_text(f"{schema}/{name}")
    conn.execute(f"create or replace table {schema}.{name} as {select}", params or {})
    return conn.sql(f"select count(*) from {schema}.{name}").fetchall()[0][0]
