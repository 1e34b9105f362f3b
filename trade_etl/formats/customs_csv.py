"""Japan Customs HS × country CSV files: their encodings and header layouts.

Source: the "Exp or Imp,Year,HS,Country,…" CSVs of Japan's Ministry of Finance trade statistics
(e-Stat / Japan Customs downloads). Two layouts exist: one row per HS code and country, and the
customs-office variant with a `Custom` column after `Year` (one row per port). Shared by the
fetcher (which checks a download's header before keeping it) and the reader
(trade_etl/ingest/raw_csv.py), so neither imports the other.

Quirks handled here, all seen in real downloads: a UTF-8 BOM, UTF-16, CP932 (Shift-JIS)
Japanese-language downloads, `Apl` for April, and columns in any order (matched by name).
"""

from __future__ import annotations

import csv
import re

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
