"""Split Japan Customs HS × country release files into named text columns (polars).

The file's encoding and header are resolved by trade_etl/formats/customs_csv.py; here its lines
become rows: CRLF or mixed line endings, HS codes wrapped in apostrophes and blank or
space-filled `Unit1` pass through as text; lines that cannot be rows (wrong field count, a
repeated header, NUL bytes, absurd length) are kept aside with a reason. Everything is read as
text; numbers are converted explicitly later (validation), never guessed. Another reporter's
layout splits its files the same way, with its own header (`split_lines(text, header=…)`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from trade_etl.formats.customs_csv import FileProblem, decode, resolve_header

# A real row is under 1 KB (45 fields of at most 20 characters); a longer line is not data and is
# quarantined with only its first bytes kept, so that one giant line cannot exhaust memory.
MAX_LINE_CHARS = 65536
RAW_LINE_KEEP = 4096


@dataclass
class RawTable:
    """A release file split into fields: `rows` holds lines with the right field count."""

    layout: str
    encoding: str
    rows: pl.DataFrame  # line_number, raw_line, then one text column per canonical name
    malformed: pl.DataFrame  # line_number, raw_line, reason
    rows_read: int


QUARANTINE_SCHEMA = {"line_number": pl.Int64, "raw_line": pl.String, "reason": pl.String}


def split_lines(text: str, header: Callable[[str], tuple[str, list[str]]] = resolve_header
                ) -> RawTable:
    """Split decoded text into header and data lines, and data lines into named text fields.

    Line numbers are physical lines of the file (the header is line 1; CRLF, LF and lone CR all
    end a line). Blank lines hold no data and are not counted as rows. `header` gives the
    layout and a column name per field of the header line, or raises FileProblem: Japan
    Customs' by default; another reporter's layout passes its own (trade_etl/ingest/layouts.py).
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines[0].strip():
        raise FileProblem("first line is blank: expected the header")
    layout, names = header(lines[0])
    width = len(names)
    frame = (
        pl.DataFrame({"raw_line": lines[1:]}, schema={"raw_line": pl.String})
        .with_row_index("line_number", offset=2)
        .with_columns(pl.col("line_number").cast(pl.Int64))
        .filter(pl.col("raw_line").str.strip_chars() != "")
    )
    rows_read = frame.height
    header_text = lines[0].strip()
    length = pl.col("raw_line").str.len_chars()
    too_long = frame.filter(length > MAX_LINE_CHARS).select(
        "line_number",
        raw_line=pl.col("raw_line").str.slice(0, RAW_LINE_KEEP)
        + pl.format(" … ({} characters in all)", length),
        reason=pl.format(f"line is {{}} characters long, more than the {MAX_LINE_CHARS} a "
                         "row can hold", length),
    )
    frame = frame.filter(length <= MAX_LINE_CHARS)
    has_nul = frame["raw_line"].str.contains("\x00", literal=True)
    nul_lines = frame.filter(has_nul).select(
        "line_number", raw_line=pl.col("raw_line").str.replace_all("\x00", "\\x00", literal=True),
        reason=pl.lit("line contains a NUL byte (binary data)"))
    frame = frame.filter(~has_nul)
    # Fields straight into named columns (split_exact), with their count beside them: no list
    # column of every field of every line, which held as much memory as the columns again.
    quoted = frame["raw_line"].str.contains('"', literal=True)
    plain_part = frame.filter(~quoted).with_columns(
        n_fields=pl.col("raw_line").str.count_matches(",", literal=True) + 1,
        fields=pl.col("raw_line").str.split_exact(",", width - 1))
    if quoted.any():
        # Rare: a quoted field may hold a comma. Parse only these lines with the csv module.
        quoted_part = frame.filter(quoted)
        parsed = pl.Series([next(csv.reader([line]), []) for line in quoted_part["raw_line"]],
                           dtype=pl.List(pl.String))
        quoted_part = quoted_part.with_columns(
            n_fields=parsed.list.len(),
            fields=pl.struct([parsed.list.get(i, null_on_oob=True).alias(f"field_{i}")
                              for i in range(width)]))
        frame = pl.concat([plain_part, quoted_part]).sort("line_number")
    else:
        frame = plain_part
    n_fields = pl.col("n_fields")
    is_header = pl.col("raw_line").str.strip_chars() == header_text
    malformed = frame.filter(is_header | (n_fields != width)).select(
        "line_number",
        "raw_line",
        reason=pl.when(is_header)
        .then(pl.lit("repeated header line"))
        .otherwise(pl.format(f"expected {width} fields, found {{}}", n_fields)),
    )
    malformed = pl.concat([too_long, nul_lines, malformed]).sort("line_number")
    good = frame.filter(~is_header & (n_fields == width))
    rows = good.select(
        "line_number",
        "raw_line",
        *[pl.col("fields").struct.field(f"field_{i}").alias(name)
          for i, name in enumerate(names)],
    )
    return RawTable(layout, "", rows, malformed, rows_read)


def read_table(data: bytes) -> RawTable:
    """Decode and split one release file (raises FileProblem when it cannot be read at all)."""
    text, encoding = decode(data)
    table = split_lines(text)
    table.encoding = encoding
    return table
