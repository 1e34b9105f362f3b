"""Read-only SQL against the warehouse, for `trade-etl sql` and `trade-etl brief`.

User SQL runs on a read-only connection with DuckDB's external access (files, URLs, extension
downloads) disabled unless the user asks for it; nothing the user types is formatted into other
SQL.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import duckdb

from trade_etl.store.warehouse import is_duckdb_file


class WarehouseUnavailable(Exception):
    """The warehouse cannot be opened; the message says why and what to do."""


def open_read_only(path: Path, allow_external: bool = False) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise WarehouseUnavailable(
            f"warehouse {path} does not exist: build it first (trade-etl build or make demo)")
    if path.is_dir() or not is_duckdb_file(path):
        raise WarehouseUnavailable(f"{path} is not a DuckDB file: point --warehouse (or "
                                   "TRADE_ETL_WAREHOUSE) at the warehouse")
    try:
        return duckdb.connect(str(path), read_only=True,
                              config={"enable_external_access": allow_external})
    except duckdb.IOException as err:
        raise WarehouseUnavailable(
            f"cannot open {path} read-only: {str(err).splitlines()[0]} "
            "(a build may be writing it; try again when it finishes)") from None


def run_query(conn: duckdb.DuckDBPyConnection, text: str) -> tuple[list[str], list[tuple]]:
    """Run one or more statements; return the columns and rows of the last one."""
    relation = conn.sql(text)
    if relation is None:
        return [], []
    return list(relation.columns), relation.fetchall()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else f"{value:.0f}"
    if isinstance(value, date | datetime | Decimal):
        return str(value)
    return str(value)


def print_table(columns: Sequence[str], rows: Sequence[tuple], out: TextIO | None = None,
                limit: int | None = 1000) -> None:
    """An aligned text table; numbers right-aligned."""
    out = out or sys.stdout
    shown = rows if limit is None else rows[:limit]
    cells = [[_cell(v) for v in row] for row in shown]
    numeric = [all(isinstance(r[i], int | float | Decimal) or r[i] is None for r in shown)
               and bool(shown) for i in range(len(columns))]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    print(line(list(columns)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print(line(row), file=out)
    more = len(rows) - len(shown)
    print(f"({len(rows):,} row{'s' if len(rows) != 1 else ''}"
          + (f"; {more:,} not shown, use --limit or --csv" if more else "") + ")", file=out)


def print_csv(columns: Sequence[str], rows: Sequence[tuple], out: TextIO | None = None) -> None:
    writer = csv.writer(out or sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
