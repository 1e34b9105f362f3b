"""Read Japan Customs HS × country release files into typed polars frames.

Source: the "Exp or Imp,Year,HS,Country,…" CSVs of Japan's Ministry of Finance trade statistics
(e-Stat / Japan Customs downloads). Two layouts exist: one row per HS code and country, and the
customs-office variant with a `Custom` column after `Year` (one row per port).

Quirks handled here, all seen in real downloads: a UTF-8 BOM, CRLF or mixed line endings, CP932
(Shift-JIS) Japanese-language downloads, HS codes wrapped in apostrophes, `Apl` for April, blank
or space-filled `Unit1`, and columns in any order (they are matched by name). Everything is read as
text first; numbers are converted explicitly, never guessed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import polars as pl

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH_ALIASES = {"apl": "apr"}
UTF8_BOM = b"\xef\xbb\xbf"

KEY_COLUMNS = ("flow", "year", "hs", "country")
UNIT_COLUMNS = ("unit1", "unit2")
MEASURES = ("quantity1", "quantity2", "value")


def month_column(measure: str, month: int | None) -> str:
    """Canonical name of a numeric column: `value_03`, `quantity1_year`, …"""
    return f"{measure}_{'year' if month is None else f'{month:02d}'}"


NUMERIC_COLUMNS = tuple(
    month_column(measure, month) for month in (None, *range(1, 13)) for measure in MEASURES
)
LAYOUTS = {
    "hs_country": ("flow", "year", "hs", "country", *UNIT_COLUMNS, *NUMERIC_COLUMNS),
    "hs_country_custom": (
        "flow", "year", "custom", "hs", "country", *UNIT_COLUMNS, *NUMERIC_COLUMNS,
    ),
}

# Japanese-language downloads (CP932) name the same columns in Japanese.
_JA_NAMES = {"輸出入": "flow", "輸出入区分": "flow", "年": "year", "税関": "custom",
             "国": "country", "単位1": "unit1", "単位2": "unit2"}
_JA_MEASURES = {"数量1": "quantity1", "数量2": "quantity2", "金額": "value", "価額": "value"}
_MEASURE_RE = re.compile(r"^(quantity1|quantity2|value|数量1|数量2|金額|価額)[-_(]?(.+?)\)?$")


class FileProblem(Exception):
    """The file cannot be read at all; the message is the reason recorded in the audit."""


def canonical_column(name: str) -> str | None:
    """Map one header cell, English or Japanese, to its canonical column name."""
    cell = name.strip().strip("'\"").strip()
    low = re.sub(r"\s+", " ", cell.lower())
    simple = {"exp or imp": "flow", "year": "year", "custom": "custom", "hs": "hs",
              "country": "country", "unit1": "unit1", "unit2": "unit2"}
    if low in simple:
        return simple[low]
    if cell in _JA_NAMES:
        return _JA_NAMES[cell]
    match = _MEASURE_RE.match(low.replace(" ", ""))
    if not match:
        return None
    measure = _JA_MEASURES.get(match.group(1), match.group(1))
    period = MONTH_ALIASES.get(match.group(2), match.group(2))
    if period in ("year", "年"):
        return month_column(measure, None)
    if period in MONTHS:
        return month_column(measure, MONTHS.index(period) + 1)
    ja_month = re.fullmatch(r"(\d{1,2})月", period)
    if ja_month and 1 <= int(ja_month.group(1)) <= 12:
        return month_column(measure, int(ja_month.group(1)))
    return None


UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
# A real row is under 1 KB (45 fields of at most 20 characters); a longer line is not data and is
# quarantined with only its first bytes kept, so that one giant line cannot exhaust memory.
MAX_LINE_CHARS = 65536
RAW_LINE_KEEP = 4096


def _utf16(data: bytes) -> str | None:
    """The UTF-16 encoding of `data`, by BOM or by ASCII text with every other byte zero."""
    for bom, encoding in UTF16_BOMS.items():
        if data.startswith(bom):
            return encoding
    sample = data[:4096]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None


def decode(data: bytes) -> tuple[str, str]:
    """Decode a release file: UTF-8 (with or without BOM), UTF-16 (named as such), else CP932.

    Returns (text, encoding). NUL bytes in the first 64 KiB mean binary content (the file is
    rejected); a NUL further on rejects only its line (split_lines).
    """
    if not data.strip():
        raise FileProblem("empty file")
    utf16 = _utf16(data)
    if utf16 is not None:
        try:
            text = data.decode(utf16).removeprefix("\ufeff")
        except UnicodeDecodeError as err:
            raise FileProblem(f"looks like UTF-16 ({utf16}) but does not decode: {err}") from None
        if not text.strip():
            raise FileProblem("empty file")
        return text, utf16
    if b"\x00" in data[:65536]:
        raise FileProblem("binary content (NUL bytes), not a CSV text file")
    if data.startswith(UTF8_BOM):
        try:
            return data[len(UTF8_BOM):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as err:
            raise FileProblem(f"starts with a UTF-8 BOM but is not valid UTF-8: {err}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as err:
        raise FileProblem(f"neither UTF-8 nor CP932 text: {err}") from None


def resolve_header(header_line: str) -> tuple[str, list[str]]:
    """Return (layout, canonical names in file order) or raise FileProblem naming what is wrong."""
    cells = next(csv.reader([header_line]))
    names = [canonical_column(cell) for cell in cells]
    unknown = [cell for cell, name in zip(cells, names, strict=True) if name is None]
    layout = "hs_country_custom" if "custom" in names else "hs_country"
    expected = LAYOUTS[layout]
    missing = [c for c in expected if c not in names]
    repeated = sorted({n for n in names if n is not None and names.count(n) > 1})
    if unknown or missing or repeated:
        parts = []
        if unknown:
            parts.append("unrecognised columns " + ", ".join(repr(c) for c in unknown[:5]))
        if missing:
            parts.append("missing columns " + ", ".join(missing[:5]))
        if repeated:
            parts.append("repeated columns " + ", ".join(repeated[:5]))
        raise FileProblem(
            f"header is not a Japan Customs HS x country layout ({'; '.join(parts)}): "
            f"{header_line[:120]!r}"
        )
    return layout, names  # type: ignore[return-value]


@dataclass
class RawTable:
    """A release file split into fields: `rows` holds lines with the right field count."""

    layout: str
    encoding: str
    rows: pl.DataFrame  # line_number, raw_line, then one text column per canonical name
    malformed: pl.DataFrame  # line_number, raw_line, reason
    rows_read: int


QUARANTINE_SCHEMA = {"line_number": pl.Int64, "raw_line": pl.String, "reason": pl.String}


def split_lines(text: str) -> RawTable:
    """Split decoded text into header and data lines, and data lines into named text fields.

    Line numbers are physical lines of the file (the header is line 1; CRLF, LF and lone CR all
    end a line). Blank lines hold no data and are not counted as rows.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines[0].strip():
        raise FileProblem("first line is blank: expected the header")
    layout, names = resolve_header(lines[0])
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
    frame = frame.with_columns(fields=pl.col("raw_line").str.split(","))
    quoted = frame["raw_line"].str.contains('"', literal=True)
    if quoted.any():
        # Rare: a quoted field may hold a comma. Parse only these lines with the csv module.
        plain_part = frame.filter(~quoted)
        quoted_part = frame.filter(quoted)
        parsed = [next(csv.reader([line]), []) for line in quoted_part["raw_line"]]
        quoted_part = quoted_part.with_columns(
            fields=pl.Series(parsed, dtype=pl.List(pl.String))
        )
        frame = pl.concat([plain_part, quoted_part]).sort("line_number")
    n_fields = pl.col("fields").list.len()
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
        *[pl.col("fields").list.get(i).alias(name) for i, name in enumerate(names)],
    )
    return RawTable(layout, "", rows, malformed, rows_read)


def read_table(data: bytes) -> RawTable:
    """Decode and split one release file (raises FileProblem when it cannot be read at all)."""
    text, encoding = decode(data)
    table = split_lines(text)
    table.encoding = encoding
    return table
