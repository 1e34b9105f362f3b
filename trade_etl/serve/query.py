"""Read-only SQL against the warehouse, for `trade-etl sql` and `trade-etl brief`.

User SQL runs on a read-only connection with DuckDB's external access (files, URLs, extension
downloads) disabled unless the user asks for it; nothing the user types is formatted into other
SQL.
"""

from __future__ import annotations

import csv
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import duckdb

from trade_etl.settings import SQL_MAX_BYTES_ENV
from trade_etl.store.warehouse import is_duckdb_file
from trade_etl.text import visible

if TYPE_CHECKING:  # pyarrow loads when a query fetches its batches, not with this module
    import pyarrow as pa


class WarehouseUnavailable(Exception):
    """The warehouse cannot be opened; the message says why and what to do."""


def open_read_only(path: Path, allow_external: bool = False,
                   memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse; `memory_limit` bounds DuckDB's own memory
    (sorts and joins of user SQL spill to disk beyond it)."""
    if not path.exists():
        raise WarehouseUnavailable(
            f"warehouse {path} does not exist: build it first (trade-etl build or make demo)")
    if path.is_dir() or not is_duckdb_file(path):
        raise WarehouseUnavailable(f"{path} is not a DuckDB file: point --warehouse (or "
                                   "TRADE_ETL_WAREHOUSE) at the warehouse")
    try:
        return duckdb.connect(str(path), read_only=True,
                              config={"enable_external_access": allow_external,
                                      **({"memory_limit": memory_limit} if memory_limit else {})})
    except duckdb.IOException as err:
        raise WarehouseUnavailable(
            f"cannot open {path} read-only: {str(err).splitlines()[0]} "
            "(a build may be writing it; try again when it finishes)") from None


BATCH_ROWS = 10_000  # rows per Arrow record batch streamed from DuckDB


class SqlFileError(Exception):
    """`--file` cannot be used (the message says why)."""


def read_sql_file(path: str, most: int) -> str:
    """The UTF-8 text of `path`, a regular file of at most `most` bytes (`--file /dev/zero`
    would otherwise read until memory runs out; a pipe could block forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without a writer
    except OSError as err:
        raise SqlFileError(f"cannot read --file {path}: {err.strerror or err}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise SqlFileError(f"cannot read --file {path}: " + (
            "it is a folder" if stat.S_ISDIR(mode) else
            "not a regular file (a device, pipe or socket); save the SQL to a file"))
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(most + 1)
    if len(data) > most:
        raise SqlFileError(f"--file {path} is larger than {most:,} bytes: not a SQL script? "
                           f"(raise {SQL_MAX_BYTES_ENV} if it is)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SqlFileError(f"cannot read --file {path}: not UTF-8 text (byte {err.start:,})"
                           ) from None


def stream_query(conn: duckdb.DuckDBPyConnection, text: str, batch_rows: int = BATCH_ROWS
                 ) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """Run one or more statements; return the columns of the last one and its result as a
    stream of Arrow record batches of `batch_rows` (no columns: it returned no result)."""
    relation = conn.sql(text)
    if relation is None:
        return [], iter(())
    return list(relation.columns), iter(relation.to_arrow_reader(batch_rows))


def rows_of(batch: pa.RecordBatch) -> list[tuple]:
    """A record batch as Python tuples (by position: a result may repeat a column name)."""
    return list(zip(*(column.to_pylist() for column in batch.columns), strict=True))


def run_query(conn: duckdb.DuckDBPyConnection, text: str) -> tuple[list[str], list[tuple]]:
    """Run one or more statements; return the columns and every row of the last one."""
    columns, batches = stream_query(conn, text)
    return columns, [row for batch in batches for row in rows_of(batch)]


def head_and_count(batches: Iterable[pa.RecordBatch], limit: int) -> tuple[list[tuple], int]:
    """The first `limit` rows and how many rows there were: the rest are counted as they stream
    by, never kept nor converted, so memory holds `limit` rows and one batch."""
    shown: list[tuple] = []
    total = 0
    for batch in batches:
        if len(shown) < limit:
            shown += rows_of(batch.slice(0, limit - len(shown)))
        total += batch.num_rows
    return shown, total


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else f"{value:.0f}"
    return visible(str(value), lines=False)  # one line per row, no terminal escapes


def print_table(columns: Sequence[str], rows: Sequence[tuple], out: TextIO | None = None,
                limit: int | None = 1000, total: int | None = None) -> None:
    """An aligned text table; numbers right-aligned. `total` (default len(rows)): the rows
    there were, when `rows` holds only the first of them."""
    out = out or sys.stdout
    shown = rows if limit is None else rows[:limit]
    total = len(rows) if total is None else total
    columns = [visible(c, lines=False) for c in columns]
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
    more = total - len(shown)
    print(f"({total:,} row{'s' if total != 1 else ''}"
          + (f"; {more:,} not shown, use --limit or --csv" if more else "") + ")", file=out)


def print_csv(columns: Sequence[str], rows: Iterable[Sequence], out: TextIO | None = None
              ) -> None:
    """CSV of every row, written as the rows come (the data as it is: no escaping)."""
    writer = csv.writer(out or sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
