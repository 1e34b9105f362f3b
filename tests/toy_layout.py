"""A toy second reporter, registered the way a user registers one: `TRADE_ETL_LAYOUT_MODULES=
tests.toy_layout` names this module, which defines `REPORTERS` (trade_etl/ingest/layouts.py).

`ZZZ` is in ISO 3166-1's user-assigned range (AAA-AAZ, QMA-QZZ, XAA-XZZ, ZZA-ZZZ), which the
standard never gives a country, so a test reporter can never collide with a real one; its
currency `XTS` is ISO 4217's code reserved for testing. Its statistics come in a long format,
one value per line, in whole XTS, with ISO3 partners and 6-digit HS subheadings:

    period,commodity,partner,flow,value
    2024-01,870323,JPN,X,1500

(`flow` X export, M import). The shape of what the US Census Bureau's files will need: a header
of its own, a reader, a pandera model, a reshape into the fact store's month cells.
"""

from __future__ import annotations

import functools

import pandera.polars as pa
import polars as pl

from trade_etl.formats.customs_csv import FileProblem
from trade_etl.ingest.layouts import Layout, Reporter
from trade_etl.ingest.raw_csv import split_lines

REPORTER = "ZZZ"
LAYOUT = "zzz_long"
COLUMNS = ("period", "commodity", "partner", "flow", "value")
HEADER = ",".join(COLUMNS)


def _header(line: str) -> tuple[str, list[str]]:
    names = [cell.strip().lower() for cell in line.split(",")]
    if sorted(names) != sorted(COLUMNS):
        raise FileProblem(f"header is not the toy reporter's layout ({HEADER}): {line[:120]!r}")
    return LAYOUT, names


def matches(line: str) -> bool:
    return _header(line)[0] == LAYOUT


def typed(rows: pl.DataFrame) -> pl.DataFrame:
    """Text to types, row for row; what does not convert becomes null (the model names it)."""
    period = pl.col("period").str.strip_chars()
    ok = period.str.contains(r"^[0-9]{4}-[0-9]{2}$")
    return rows.with_columns(
        year=pl.when(ok).then(period.str.slice(0, 4).cast(pl.Int64, strict=False)),
        month=pl.when(ok).then(period.str.slice(5, 2).cast(pl.Int64, strict=False)),
        commodity=pl.col("commodity").str.strip_chars(),
        partner=pl.col("partner").str.strip_chars(),
        flow=pl.col("flow").str.strip_chars().replace_strict({"X": 1, "M": 2}, default=None,
                                                             return_dtype=pl.Int64),
        value=pl.when(pl.col("value").str.strip_chars().str.contains(r"^[0-9]{1,15}$"))
        .then(pl.col("value").str.strip_chars().cast(pl.Int64, strict=False)),
    )


class ToyRows(pa.DataFrameModel):
    year: int = pa.Field(ge=1950, le=2100, nullable=False)
    month: int = pa.Field(ge=1, le=12, nullable=False)
    commodity: str = pa.Field(str_matches=r"^[0-9]{6}$", nullable=False)
    partner: str = pa.Field(str_matches=r"^[A-Z]{3}$", nullable=False)
    flow: int = pa.Field(isin=[1, 2], nullable=False)
    value: int = pa.Field(ge=0, nullable=False)

    class Config:
        strict = False
        coerce = False


def describe(check: str, column: str | None, raw: dict) -> str:
    """The reason a row is quarantined: the field as written (year and month are the period)."""
    field = "period" if column in ("year", "month") else column
    return f"{field} is not valid ({check}): {(raw.get(field) or '').strip()!r}"


def reshape(valid: pl.DataFrame) -> pl.DataFrame:
    """One line is one month cell already: values in whole XTS, no quantities."""
    return valid.select(
        "file_index", "flow", "year", "month", hs_code="commodity", country_code="partner",
        unit1=pl.lit(None, pl.String), unit2=pl.lit(None, pl.String), quantity1=pl.lit(0),
        quantity2=pl.lit(0), value_thousand_jpy="value")


REPORTERS = [
    Reporter(reporter=REPORTER, name="Testland (toy reporter)", currency="XTS", value_unit=1,
             partner_codes="iso3", hs_digits=6, layouts=(
                 Layout(reporter=REPORTER, name=LAYOUT, matches=matches,
                        read=functools.partial(split_lines, header=_header), typed=typed,
                        model=ToyRows, reshape=reshape,
                        keys=("year", "month", "commodity", "partner", "flow"),
                        describe=describe),)),
]
