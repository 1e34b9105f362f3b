"""Validate raw release rows with pandera and turn the valid ones into monthly fact cells.

One pandera model per raw layout. Rows are first converted from text to typed columns
(a text that is not a plain non-negative integer becomes null), then validated with
`lazy=True` so every failure of every row is collected; each failing row is quarantined with
all its reasons. Nothing is dropped without a reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from trade_etl.raw_csv import MEASURES, NUMERIC_COLUMNS, QUARANTINE_SCHEMA, month_column

# One month cell may not exceed ¥1 quadrillion (10^12 thousand yen): ten times Japan's annual
# trade. Larger numbers are corrupt input, and the cap keeps yen sums (×1000) inside BIGINT.
MAX_VALUE_THOUSAND_JPY = 10**12
MIN_YEAR, MAX_YEAR = 1950, 2100
FACT_GRAIN = ("flow", "year", "month", "hs_code", "country_code")
_INTEGER_TEXT = r"^\d{1,18}$"


def _number_ok(column: str) -> pl.Expr:
    """A quantity or value converted from text: present, non-negative, and values within the cap."""
    ok = pl.col(column).is_not_null() & (pl.col(column) >= 0)
    if column.startswith("value"):
        ok = ok & (pl.col(column) <= MAX_VALUE_THOUSAND_JPY)
    return ok


class HsCountryRows(pa.DataFrameModel):
    """Rows of the HS × country layout, after text → integer conversion (null = not an integer).

    The 39 quantity and value columns are checked together by one DataFrame-level check (one
    polars pass instead of 39 column passes); which of them failed is worked out for the failing
    rows only, when the quarantine reason is written.
    """

    flow: int = pa.Field(isin=[1, 2], nullable=False)
    year: int = pa.Field(ge=MIN_YEAR, le=MAX_YEAR, nullable=False)
    hs: str = pa.Field(str_matches=r"^\d{9}$", nullable=False)
    country: str = pa.Field(nullable=False)  # membership is checked against ref.countries
    unit1: str = pa.Field(nullable=True)
    unit2: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="quantities_and_values_are_non_negative_integers")
    @classmethod
    def quantities_and_values(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.all_horizontal([_number_ok(c) for c in NUMERIC_COLUMNS]).alias("ok"))

    class Config:
        strict = False
        coerce = False


class HsCountryCustomRows(HsCountryRows):
    """The customs-office variant: one row per port (`Custom`)."""

    custom: str = pa.Field(str_matches=r"^\d{1,4}$", nullable=False)


MODELS: dict[str, type[HsCountryRows]] = {
    "hs_country": HsCountryRows,
    "hs_country_custom": HsCountryCustomRows,
}

HEADER_NAMES = {"flow": "Exp or Imp", "year": "Year", "custom": "Custom", "hs": "HS",
                "country": "Country", "unit1": "Unit1", "unit2": "Unit2"}
_MONTH_LABELS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
for _m in range(13):
    for _measure, _label in zip(MEASURES, ("Quantity1", "Quantity2", "Value"), strict=True):
        HEADER_NAMES[month_column(_measure, _m or None)] = (
            f"{_label}-{'Year' if _m == 0 else _MONTH_LABELS[_m - 1]}"
        )


@functools.lru_cache(maxsize=8)
def _schema(layout: str, country_codes: tuple[str, ...]) -> pa.DataFrameSchema:
    """The layout's model with the country check bound to the reference list."""
    schema = MODELS[layout].to_schema()
    return schema.update_column("country", checks=[pa.Check.isin(country_codes)])


def typed_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Convert the text fields of a split file to the types the models check."""
    text = [c for c in ("hs", "country", "custom", "unit1", "unit2") if c in rows.columns]
    return rows.with_columns(
        pl.col("hs").str.strip_chars().str.strip_chars("'").str.strip_chars(),
        *[pl.col(c).str.strip_chars() for c in text if c != "hs"],
        *[
            pl.when(pl.col(c).str.strip_chars().str.contains(_INTEGER_TEXT))
            .then(pl.col(c).str.strip_chars().cast(pl.Int64, strict=False))
            .otherwise(None)
            .alias(c)
            for c in ("flow", "year", *NUMERIC_COLUMNS)
        ],
    )


def _describe(check: str, column: str, raw: str | None) -> str:
    label = HEADER_NAMES.get(column, column)
    shown = "blank" if raw is None or raw.strip() == "" else repr(raw.strip())
    if check == "not_nullable":
        if column in ("flow", "year", *NUMERIC_COLUMNS):
            return f"{label} is not a non-negative integer: {shown}"
        return f"{label} is blank"
    if column == "flow":
        return f"Exp or Imp must be 1 (export) or 2 (import): {shown}"
    if column == "hs":
        return f"HS is not a 9-digit code: {(raw or '').strip().strip(chr(39))!r}"
    if column == "country":
        return f"Country is not a known customs country code: {shown}"
    if column == "year":
        return f"Year outside {MIN_YEAR}-{MAX_YEAR}: {shown}"
    if column == "custom":
        return f"Custom is not a customs-office code: {shown}"
    if check.startswith("greater_than_or_equal_to"):
        return f"{label} is negative: {shown}"
    if check.startswith("less_than_or_equal_to"):
        return f"{label} is implausibly large: {shown}"
    return f"{label} fails {check}: {shown}"


def _number_reasons(typed: dict, raw: dict) -> list[tuple[int, str]]:
    """Which quantities and values of one failing row are wrong, and why."""
    out = []
    for column in NUMERIC_COLUMNS:
        value = typed[column]
        if value is None:
            out.append((typed["line_number"], _describe("not_nullable", column, raw[column])))
        elif column.startswith("value") and value > MAX_VALUE_THOUSAND_JPY:
            out.append((typed["line_number"],
                        _describe("less_than_or_equal_to", column, raw[column])))
    return out


@dataclass
class ValidatedFile:
    facts: pl.DataFrame  # FACT_GRAIN + unit1, unit2, quantity1, quantity2, value_thousand_jpy
    quarantine: pl.DataFrame  # line_number, raw_line, reason
    rows_loaded: int
    value_year_mismatches: int


def validate(
    layout: str, rows: pl.DataFrame, malformed: pl.DataFrame, country_codes: Iterable[str]
) -> ValidatedFile:
    """Validate split rows; return monthly fact cells and the quarantined lines with reasons."""
    typed = typed_rows(rows)
    schema = _schema(layout, tuple(sorted(set(country_codes))))
    reasons = pl.DataFrame(schema={"line_number": pl.Int64, "reason": pl.String})
    try:
        schema.validate(typed.drop("raw_line"), lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.filter(pl.col("index").is_not_null())
        failed = typed.select("line_number").with_row_index("index")
        raw_fields = rows.with_row_index("index")
        detail = []
        for context, column, check, index in cases.select(
                "schema_context", "column", "check", "index").iter_rows():
            if context == "DataFrameSchema":  # the one check on all quantities and values
                detail += _number_reasons(typed.row(int(index), named=True),
                                          raw_fields.row(int(index), named=True))
                continue
            raw = raw_fields[int(index), column] if column in raw_fields.columns else None
            detail.append((failed[int(index), "line_number"], _describe(check, column, raw)))
        reasons = (
            pl.DataFrame(detail, schema=["line_number", "reason"], orient="row")
            .unique(maintain_order=True)
            .group_by("line_number", maintain_order=True)
            .agg(pl.col("reason").str.join("; "))
        )
    valid = typed.join(reasons, on="line_number", how="anti")

    keys = ["flow", "year", *(["custom"] if layout == "hs_country_custom" else []), "hs", "country"]
    same = ", ".join(HEADER_NAMES[k] for k in keys)
    duplicates = (
        valid.select("line_number", first_line=pl.col("line_number").min().over(keys))
        .filter(pl.col("line_number") != pl.col("first_line"))
        .select("line_number", reason=pl.format(f"duplicate of line {{}} (same {same})",
                                                "first_line"))
    )
    valid = valid.join(duplicates, on="line_number", how="anti")

    quarantine = pl.concat(
        [
            malformed.select(QUARANTINE_SCHEMA.keys()),
            rows.select("line_number", "raw_line")
            .join(pl.concat([reasons, duplicates]), on="line_number")
            .select(QUARANTINE_SCHEMA.keys()),
        ]
    ).sort("line_number")

    month_values = [pl.col(month_column("value", m)) for m in range(1, 13)]
    mismatches = valid.filter(pl.sum_horizontal(month_values) != pl.col("value_year")).height
    return ValidatedFile(
        facts=to_month_cells(valid), quarantine=quarantine, rows_loaded=valid.height,
        value_year_mismatches=mismatches,
    )


def to_month_cells(valid: pl.DataFrame) -> pl.DataFrame:
    """Reshape wide rows (12 months side by side) into non-zero month cells at the fact grain.

    Ports of the customs-office variant are summed here, so both layouts give the same cells.
    """
    base = [pl.col("flow").cast(pl.Int8), pl.col("year").cast(pl.Int16),
            pl.col("hs").alias("hs_code"), pl.col("country").alias("country_code"),
            "unit1", "unit2"]
    months = pl.concat(
        [
            valid.select(
                *base,
                pl.lit(m, dtype=pl.Int8).alias("month"),
                pl.col(month_column("quantity1", m)).alias("quantity1"),
                pl.col(month_column("quantity2", m)).alias("quantity2"),
                pl.col(month_column("value", m)).alias("value_thousand_jpy"),
            )
            for m in range(1, 13)
        ]
    ).filter((pl.col("quantity1") != 0) | (pl.col("quantity2") != 0)
             | (pl.col("value_thousand_jpy") != 0))
    return (
        months.group_by(FACT_GRAIN)
        .agg(pl.col("unit1").max(), pl.col("unit2").max(), pl.col("quantity1").sum(),
             pl.col("quantity2").sum(), pl.col("value_thousand_jpy").sum())
        .sort(FACT_GRAIN)
    )
