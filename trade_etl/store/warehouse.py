"""DuckDB warehouse access: schema creation and the SQL files under `sql/`.

All DDL lives in `sql/ddl.sql`. Every other SQL file holds one statement whose values are bound
as parameters (`$name`), never formatted into the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from trade_etl.db import sql_text
from trade_etl.formats import schema


def is_duckdb_file(path: Path) -> bool:
    """Whether `path` starts like a DuckDB database file (its magic bytes at offset 8)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return len(head) < 12 or head[8:12] == b"DUCK"  # an empty file is a new database


def check_warehouse_path(path: Path) -> None:
    """Refuse, in one line, a warehouse path that holds something other than a DuckDB file."""
    from trade_etl.errors import EXIT_USAGE, UserError

    if path.is_dir():
        raise UserError(f"the warehouse path {path} is a folder; give a file such as "
                        f"{path / 'trade.duckdb'}", EXIT_USAGE)
    if path.exists() and not is_duckdb_file(path):
        raise UserError(f"{path} is not a DuckDB file; choose another --warehouse (or "
                        "TRADE_ETL_WAREHOUSE) rather than overwrite it", EXIT_USAGE)


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(sql_text("ddl"))


LATEST = "DATE '9999-12-31'"


def _names(asset: str) -> tuple[str, ...]:
    return tuple(table.split(".")[1] for table in schema.built_by(asset))


# Derived from the spec (trade_etl/formats/schema.py, `built_by`); kept as names for callers.
MARTS = _names("balance_marts")
QUANTITY_MARTS = _names("quantity_marts")


def create_table_macro(conn: duckdb.DuckDBPyConnection, name: str,
                       params: tuple[str, ...] = ("as_of",)) -> None:
    """`create or replace macro <name>(as_of) as table <sql/schema/name.sql>`.

    The SQL file refers to its parameters by name (`as_of`, or those given). `name` and
    `params` come from fixed lists.
    """
    schema_name, macro = name.split(".")
    conn.execute(f"create or replace macro {schema_name}.{macro}({', '.join(params)}) as table "
                 f"{sql_text(f'{schema_name}/{macro}')}")


def create_as_of_macro(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create the table macro `<table>_as_of(as_of, …)` of a spec'd `as_of` table (its further
    parameters from the spec, `params`)."""
    if not schema.as_of(table) or schema.sql_file(table) != f"{table.replace('.', '/')}_as_of":
        raise ValueError(f"{table!r} is not a table macro of the spec")
    create_table_macro(conn, f"{table}_as_of", ("as_of", *schema.macro_params(table)))


def _latest_select(table: str) -> str:
    """`select * from <table>_as_of(<latest>)`, or the union of the macro over its spec'd
    parameter values (fixed lists of the spec, quoted)."""
    combos = [""]
    for values in schema.macro_params(table).values():
        combos = [f"{args}, '{value.replace(chr(39), chr(39) * 2)}'"
                  for args in combos for value in values]
    return " union all ".join(f"select * from {table}_as_of({LATEST}{args})" for args in combos)


def build_as_of(conn: duckdb.DuckDBPyConnection, table: str) -> int | None:
    """Create `<table>` = its macro `<table>_as_of` at the latest date: a table (returns its row
    count) or, for a spec'd view, a view (returns None). The macro must exist
    (create_as_of_macro)."""
    if not schema.as_of(table):
        raise ValueError(f"{table!r} is not a table macro of the spec")
    if schema.kind(table) == "view":
        conn.execute(f"create or replace view {table} as {_latest_select(table)}")
        return None
    conn.execute(f"create or replace table {table} as {_latest_select(table)} order by all")
    return conn.sql(f"select count(*) from {table}").fetchall()[0][0]


def insert_as_of(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Insert into `<table>` what its macro gives at the latest date (the rows a session
    variable restricts it to: `session_variable`)."""
    conn.execute(f"insert into {table} select * from ({_latest_select(table)}) order by all")


@contextmanager
def session_variable(conn: duckdb.DuckDBPyConnection, name: str, value: list) -> Iterator[None]:
    """`set variable name = value` for the block, reset after it whatever happens (the SQL that
    reads it, e.g. core.balance_as_of, is unrestricted again)."""
    conn.execute(f"set variable {name} = $value", {"value": value})
    try:
        yield
    finally:
        conn.execute(f"reset variable {name}")


def create_view(conn: duckdb.DuckDBPyConnection, view: str) -> None:
    """`create or replace view <view> as <its spec'd SQL file>` (a spec'd view, never user
    input)."""
    if schema.kind(view) != "view" or schema.as_of(view):
        raise ValueError(f"{view!r} is not a plain view of the spec")
    conn.execute(f"create or replace view {view} as {sql_text(schema.sql_file(view))}")


def rebuild_table(conn: duckdb.DuckDBPyConnection, table: str, params: dict | None = None) -> int:
    """`create or replace table <table> as <sql/schema/name.sql>`; returns its row count.

    `table` is `schema.name` and must name an existing SQL file: it is an identifier from a fixed
    list, never user input.
    """
    schema, name = table.split(".")
    select = sql_text(f"{schema}/{name}")
    conn.execute(f"create or replace table {schema}.{name} as {select}", params or {})
    return conn.sql(f"select count(*) from {schema}.{name}").fetchall()[0][0]
