"""Validate raw release rows with pandera and turn the valid ones into monthly fact cells.

One pandera model per raw layout; each reporter's layouts, models included, are registered in
trade_etl/ingest/layouts.py (Japan's two models, 9-digit HS codes and the customs country list,
are defined here). Rows are first converted from text to typed columns (a text that is not a
plain non-negative integer becomes null), then validated with `lazy=True` so every failure of
every row is collected; each failing row is quarantined with all its reasons. Nothing is dropped
without a reason. Japan's layouts have their own rules (subtotal lines, ports, Value-Year:
`validate_customs`); another reporter's layout is checked by `validate_rows` from its model
unless it brings its own.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandera.polars as pa
import polars as pl

from trade_etl.formats.customs_csv import MEASURES, NUMERIC_COLUMNS, month_column
from trade_etl.ingest.raw_csv import QUARANTINE_SCHEMA

if TYPE_CHECKING:
    from trade_etl.ingest.layouts import Layout

# One month cell may not exceed ¥1 quadrillion (10^12 thousand yen): ten times Japan's annual
# trade. Larger numbers are corrupt input, and the cap keeps yen sums (×1000) inside BIGINT.
MAX_VALUE_THOUSAND_JPY = 10**12
MIN_YEAR, MAX_YEAR = 1950, 2100
FACT_GRAIN = ("flow", "year", "month", "hs_code", "country_code")
_INTEGER_TEXT = r"^[0-9]{1,18}$"  # ASCII digits: \d would also match full-width ones
# A statistical code: 9 digits, or (from the April 2024 figures) a confidential code that keeps
# its first 2 to 8 digits and replaces the rest with X (`3801.10-000` withheld -> `38XXXXXXX`).
# Customs moves a withheld figure there rather than dropping it, so partner and grand totals
# include it (docs/ingest.md). Upper case by now: typed_rows normalises `38xxxxxxx`.
HS_CODE_PATTERN = "^(?:[0-9]{9}|" + "|".join(
    f"[0-9]{{{kept}}}X{{{9 - kept}}}" for kept in range(2, 9)) + ")$"
SUBTOTAL_REASON = "subtotal row, not counted"
# Words that mark a total line in the HS or Country field (S-TOTAL, TOTAL, SUB TOTAL, G.TOTAL,
# 合計, 小計, 総計, 計, WORLD): such a line repeats figures of other lines and is never summed.
_SUBTOTAL_WORDS = r"(?i)TOTAL|合計|小計|総計|^(?:計|WORLD|ALL|世界)$"


def subtotal_rows(typed: pl.DataFrame) -> pl.Series:
    """Which rows are subtotals: a total word in HS or Country, or one of the two blank while
    the other is not (a country's total over codes, or a code's total over countries)."""
    hs = pl.col("hs").fill_null("")
    country = pl.col("country").fill_null("")
    return typed.select(
        hs.str.contains(_SUBTOTAL_WORDS) | country.str.contains(_SUBTOTAL_WORDS)
        | ((hs == "") != (country == ""))
    ).to_series()


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
    hs: str = pa.Field(str_matches=HS_CODE_PATTERN, nullable=False)
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

    custom: str = pa.Field(str_matches=r"^[0-9]{1,4}$", nullable=False)


# Japan's layouts and their models; the registry (trade_etl/ingest/layouts.py) holds them.
MODELS: dict[str, type[HsCountryRows]] = {
    "hs_country": HsCountryRows,
    "hs_country_custom": HsCountryCustomRows,
}
# The code list a layout's partner column is checked against, by name (Layout.partner_codes,
# ref.reporters.partner_codes): Japan Customs' country codes, ref.countries.
JAPAN_CUSTOMS = "japan_customs"

HEADER_NAMES = {"flow": "Exp or Imp", "year": "Year", "custom": "Custom", "hs": "HS",
                "country": "Country", "unit1": "Unit1", "unit2": "Unit2"}
_MONTH_LABELS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
for _m in range(13):
    for _measure, _label in zip(MEASURES, ("Quantity1", "Quantity2", "Value"), strict=True):
        HEADER_NAMES[month_column(_measure, _m or None)] = (
            f"{_label}-{'Year' if _m == 0 else _MONTH_LABELS[_m - 1]}"
        )


@functools.lru_cache(maxsize=16)
def _schema(layout: Layout, codes: tuple[str, ...] | None) -> pa.DataFrameSchema:
    """The layout's model with its partner column's check bound to the reference list (none:
    the model alone)."""
    schema = layout.model.to_schema()
    if layout.partner_column is None or codes is None:
        return schema
    return schema.update_column(layout.partner_column, checks=[pa.Check.isin(codes)])


def _integer(column: str) -> pl.Expr:
    """A text field as an integer when it is 1 to 18 ASCII digits once stripped, else null."""
    text = pl.col(column).str.strip_chars()
    return (pl.when(text.str.contains(_INTEGER_TEXT)).then(text.cast(pl.Int64, strict=False))
            .otherwise(None).alias(column))


def _plain_integer(column: str) -> pl.Expr:
    """`_integer` for a field that is digits alone (no spaces, no sign), else null: polars'
    cast reads exactly `[+-]?[0-9]+` (fuzzed against `_integer`), so without a sign and within
    18 bytes what it reads is what `_integer` reads, at a third of the cost (no strip, no
    regular expression)."""
    text = pl.col(column)
    plain = ~text.str.starts_with("+") & ~text.str.starts_with("-") & (text.str.len_bytes() <= 18)
    return pl.when(plain).then(text.cast(pl.Int64, strict=False)).otherwise(None).alias(column)


def typed_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Convert the text fields of a split file to the types the models check.

    Numbers are read the plain way first (`_plain_integer`); the rows where that left a
    number null (padded with spaces, or not a number: a few rows, if any) are read again
    with `_integer`, so the result is `_integer`'s for every field."""
    text = [c for c in ("hs", "country", "custom", "unit1", "unit2") if c in rows.columns]
    numbers = ("flow", "year", *NUMERIC_COLUMNS)
    strings = [
        pl.col("hs").str.strip_chars().str.strip_chars("'").str.strip_chars().str.to_uppercase(),
        *[pl.col(c).str.strip_chars() for c in text if c != "hs"]]
    typed = rows.with_columns(*strings, *[_plain_integer(c) for c in numbers])
    unread = typed.select(pl.any_horizontal([pl.col(c).is_null() for c in numbers])).to_series()
    if unread.any():
        where = unread.arg_true()
        again = rows.filter(unread).select(*[_integer(c) for c in numbers])
        typed = typed.with_columns(typed[c].scatter(where, again[c]) for c in numbers)
    return typed


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


@dataclass
class SplitFile:
    """One file's split rows, as returned by its layout's reader, ready for validation.
    `layout`: the registered Layout, or the name of one of Japan's."""

    layout: Layout | str
    rows: pl.DataFrame
    malformed: pl.DataFrame


def _layout(layout: Layout | str) -> Layout:
    if not isinstance(layout, str):
        return layout
    # A name is one of Japan's layouts (imported here: the registry imports this module).
    from trade_etl.ingest.layouts import JAPAN

    return JAPAN.layout(layout)


def validate(
    layout: Layout | str, rows: pl.DataFrame, malformed: pl.DataFrame,
    country_codes: Iterable[str]
) -> ValidatedFile:
    """Validate one file's split rows; return its month cells and quarantined lines."""
    return validate_files([SplitFile(layout, rows, malformed)], country_codes)[0]


def validate_files(files: list[SplitFile], country_codes: Iterable[str],
                   seconds: dict[str, float] | None = None) -> list[ValidatedFile]:
    """Validate several files at once (one pandera pass per layout); results in input order.

    A pandera validation costs tens of milliseconds whatever the row count, so a release's files
    are checked together; every rule still applies per file (line numbers, duplicates).
    `seconds`, when given, accumulates the time spent validating and reshaping to month cells.
    """
    seconds = {} if seconds is None else seconds
    lists = {JAPAN_CUSTOMS: tuple(sorted(set(country_codes)))}
    layouts = [_layout(f.layout) for f in files]
    results: dict[int, ValidatedFile] = {}
    for layout in dict.fromkeys(layouts):
        indices = [i for i, f in enumerate(layouts) if f == layout]
        # Files may list their columns in any order: stack them by name.
        rows = pl.concat([files[i].rows.with_columns(file_index=pl.lit(i, pl.Int32))
                          for i in indices], how="diagonal")
        malformed = pl.concat([
            files[i].malformed.select(QUARANTINE_SCHEMA.keys())
            .with_columns(file_index=pl.lit(i, pl.Int32)) for i in indices])
        clock = time.perf_counter()
        check = layout.validate or validate_rows
        codes = lists.get(layout.partner_codes) if layout.partner_codes else None
        valid, quarantine, loaded, mismatches = check(layout, rows, malformed, codes)
        seconds["validate"] = seconds.get("validate", 0.0) + time.perf_counter() - clock
        clock = time.perf_counter()
        facts = month_cells(layout.reshape(valid))
        seconds["reshape"] = seconds.get("reshape", 0.0) + time.perf_counter() - clock
        facts_of = facts.partition_by("file_index", as_dict=True, include_key=False)
        quarantine_of = quarantine.partition_by("file_index", as_dict=True, include_key=False)
        for i in indices:
            results[i] = ValidatedFile(
                facts=facts_of.get((i,), facts.clear().drop("file_index")),
                quarantine=quarantine_of.get((i,), quarantine.clear().drop("file_index")),
                rows_loaded=loaded.get(i, 0),
                value_year_mismatches=mismatches.get(i, 0),
            )
    return [results[i] for i in range(len(files))]


Checked = tuple[pl.DataFrame, pl.DataFrame, dict[int, int], dict[int, int]]
LINE = ["file_index", "line_number"]


def validate_customs(layout: Layout, rows: pl.DataFrame, malformed: pl.DataFrame,
                     codes: tuple[str, ...] | None) -> Checked:
    """Validate rows of one of Japan's layouts from one or more files (told apart by
    `file_index`), with the layout's model and `codes` the country codes (ref.countries).

    Returns the valid rows, the quarantined lines, and rows loaded and Value-Year mismatches
    per file index.
    """
    line = LINE
    custom = "custom" in layout.keys
    typed = layout.typed(rows)
    # A subtotal line repeats what other lines report: quarantined for that reason alone (its
    # other failures, an HS code `S-TOTAL` say, follow from it), never validated or summed.
    is_subtotal = subtotal_rows(typed)
    subtotals = typed.filter(is_subtotal).select(*line, reason=pl.lit(SUBTOTAL_REASON))
    all_rows = rows
    if subtotals.height:
        typed, rows = typed.filter(~is_subtotal), rows.filter(~is_subtotal)
    schema = _schema(layout, codes)
    reasons = pl.DataFrame(schema={"file_index": pl.Int32, "line_number": pl.Int64,
                                   "reason": pl.String})
    try:
        schema.validate(typed.drop("raw_line"), lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.filter(pl.col("index").is_not_null())
        detail = []
        for context, column, check, index in cases.select(
                "schema_context", "column", "check", "index").iter_rows():
            typed_row = typed.row(int(index), named=True)
            raw_row = rows.row(int(index), named=True)
            where = (typed_row["file_index"], typed_row["line_number"])
            if context == "DataFrameSchema":  # the one check on all quantities and values
                detail += [(*where, reason) for _, reason in _number_reasons(typed_row, raw_row)]
                continue
            detail.append((*where, _describe(check, column, raw_row.get(column))))
        reasons = (
            pl.DataFrame(detail, schema=reasons.schema, orient="row")
            .unique(maintain_order=True)
            .group_by(line, maintain_order=True)
            .agg(pl.col("reason").str.join("; "))
        )
    valid = typed.join(reasons, on=line, how="anti") if reasons.height else typed

    keys = list(layout.keys)
    same = ", ".join(HEADER_NAMES[k] for k in keys)
    duplicates = (
        valid.select(*line, first_line=pl.col("line_number").min().over(["file_index", *keys]))
        .filter(pl.col("line_number") != pl.col("first_line"))
        .select(*line, reason=pl.format(f"duplicate of line {{}} (same {same})", "first_line"))
    )
    if duplicates.height:
        valid = valid.join(duplicates, on=line, how="anti")
    if custom:
        # Ports are summed into one cell: their quantities must be in the same units.
        ports = ["file_index", "flow", "year", "hs", "country"]
        units = valid.select(
            *line, *ports[1:],
            units=pl.concat_str(pl.col("unit1").fill_null(""), pl.col("unit2").fill_null(""),
                                separator="/"))
        first = units.sort(line).group_by(ports, maintain_order=True).first()
        other_units = (
            units.join(first.select(*ports, first_line="line_number", first_units="units"),
                       on=ports)
            .filter(pl.col("units") != pl.col("first_units"))
            .select(*line, reason=pl.format(
                "Unit1/Unit2 '{}' differ from line {}'s '{}' (same Exp or Imp, Year, HS, "
                "Country: the ports of a code are summed)", "units", "first_line",
                "first_units"))
        )
        if other_units.height:
            valid = valid.join(other_units, on=line, how="anti")
            duplicates = pl.concat([duplicates, other_units])

    quarantine = pl.concat(
        [
            malformed.select("file_index", *QUARANTINE_SCHEMA.keys()),
            all_rows.select(*line, "raw_line")
            .join(pl.concat([subtotals, reasons, duplicates]), on=line)
            .select("file_index", *QUARANTINE_SCHEMA.keys()),
        ]
    ).sort(line)

    month_values = [pl.col(month_column("value", m)) for m in range(1, 13)]
    mismatches = (valid.filter(pl.sum_horizontal(month_values) != pl.col("value_year"))
                  .group_by("file_index").len())
    loaded = valid.group_by("file_index").len()
    return (
        valid,
        quarantine,
        dict(loaded.iter_rows()),
        dict(mismatches.iter_rows()),
    )


def validate_rows(layout: Layout, rows: pl.DataFrame, malformed: pl.DataFrame,
                  codes: tuple[str, ...] | None) -> Checked:
    """Validate rows of a layout by its model alone: the generic validation of another
    reporter's layout (one that brings no `validate` of its own).

    `layout.typed` converts the text columns (row for row); pandera checks them (`lazy=True`)
    and every failing check of a row is one of its reasons, worded by `layout.describe` from
    the check, the column and the row's text fields (or `<column> fails <check>: <text>`); a
    row repeating the `layout.keys` of an earlier line of its file is quarantined as a
    duplicate. `codes`: the partner column's code list, when the
    layout names one. No Value-Year here: mismatches are 0.
    """
    typed = layout.typed(rows)
    if typed.height != rows.height:
        raise ValueError(f"layout {layout.reporter}/{layout.name}: typed() must keep every row")
    reasons = pl.DataFrame(schema={"file_index": pl.Int32, "line_number": pl.Int64,
                                   "reason": pl.String})
    try:
        _schema(layout, codes).validate(
            typed.drop("raw_line"), lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        unplaced = cases.filter(pl.col("index").is_null())
        if unplaced.height:  # a column missing or of another type: the layout's own bug
            raise ValueError(f"layout {layout.reporter}/{layout.name}: its reader or typed() "
                             f"does not give what its model checks: "
                             f"{unplaced.select('column', 'check').rows()[:3]}") from None
        detail = []
        for column, check, index in cases.select("column", "check", "index").iter_rows():
            raw_row = rows.row(int(index), named=True)
            if layout.describe is not None:
                reason = layout.describe(check, column, raw_row)
            else:
                raw = raw_row.get(column) if column else None
                shown = "blank" if raw is None or str(raw).strip() == "" else repr(raw.strip())
                reason = f"{column or 'row'} fails {check}: {shown}"
            detail.append((raw_row["file_index"], raw_row["line_number"], reason))
        reasons = (pl.DataFrame(detail, schema=reasons.schema, orient="row")
                   .unique(maintain_order=True)
                   .group_by(LINE, maintain_order=True).agg(pl.col("reason").str.join("; ")))
    valid = typed.join(reasons, on=LINE, how="anti") if reasons.height else typed
    duplicates = reasons.clear()
    if layout.keys:
        same = ", ".join(layout.keys)
        duplicates = (
            valid.select(*LINE, first_line=pl.col("line_number").min()
                         .over(["file_index", *layout.keys]))
            .filter(pl.col("line_number") != pl.col("first_line"))
            .select(*LINE, reason=pl.format(f"duplicate of line {{}} (same {same})",
                                            "first_line")))
        if duplicates.height:
            valid = valid.join(duplicates, on=LINE, how="anti")
    quarantine = pl.concat([
        malformed.select("file_index", *QUARANTINE_SCHEMA.keys()),
        rows.select(*LINE, "raw_line").join(pl.concat([reasons, duplicates]), on=LINE)
        .select("file_index", *QUARANTINE_SCHEMA.keys()),
    ]).sort(LINE)
    return valid, quarantine, dict(valid.group_by("file_index").len().iter_rows()), {}


# The month cells of core.trade_facts as a layout's reshape gives them, per file (file_index).
FACT_SCHEMA = {"file_index": pl.Int32, "flow": pl.Int8, "year": pl.Int16, "month": pl.Int8,
               "hs_code": pl.String, "country_code": pl.String, "unit1": pl.String,
               "unit2": pl.String, "quantity1": pl.Int64, "quantity2": pl.Int64,
               "value_thousand_jpy": pl.Int64}


def month_cells(facts: pl.DataFrame) -> pl.DataFrame:
    """A reshape's result in the fact store's columns and types, zero cells left out (a
    reshape must not aggregate across files: `file_index` is part of its grain)."""
    if list(facts.schema.items()) == list(FACT_SCHEMA.items()):
        return facts  # Japan's reshape gives exactly this, zero cells already left out
    return (facts.select([pl.col(name).cast(kind) for name, kind in FACT_SCHEMA.items()])
            .filter((pl.col("quantity1") != 0) | (pl.col("quantity2") != 0)
                    | (pl.col("value_thousand_jpy") != 0)))


def to_month_cells(valid: pl.DataFrame, *, aggregate: bool = True) -> pl.DataFrame:
    """Reshape wide rows (12 months side by side) into non-zero month cells at the fact grain.

    Ports of the customs-office variant are summed here (`aggregate`), so both layouts give the
    same cells; rows of the plain layout are already unique per grain once duplicates are out.
    A `file_index` column, when present, is kept as part of the grain.
    """
    extra = ["file_index"] if "file_index" in valid.columns else []
    if aggregate:
        # The ports of a code and country are summed while the months are still side by side
        # (a twelfth of the rows to group); their units agree (validate_customs), and
        # quantities and values are non-negative, so a cell is zero exactly when every port's
        # is: the same cells as summing month cells, in about a third of the memory.
        months_wide = [month_column(measure, m) for m in range(1, 13)
                       for measure in ("quantity1", "quantity2", "value")]
        valid = valid.group_by([*extra, "flow", "year", "hs", "country"]).agg(
            pl.col("unit1").max(), pl.col("unit2").max(),
            *[pl.col(c).sum() for c in months_wide])
    base = [*extra, pl.col("flow").cast(pl.Int8), pl.col("year").cast(pl.Int16),
            pl.col("hs").alias("hs_code"), pl.col("country").alias("country_code"),
            "unit1", "unit2"]
    # Month by month, zero cells out before the months are stacked: most rows trade in a few
    # months, and twelve unfiltered copies of a large file held its validation's memory.
    months = pl.concat([
        valid.filter((pl.col(month_column("quantity1", m)) != 0)
                     | (pl.col(month_column("quantity2", m)) != 0)
                     | (pl.col(month_column("value", m)) != 0))
        .select(
            *base,
            pl.lit(m, dtype=pl.Int8).alias("month"),
            pl.col(month_column("quantity1", m)).alias("quantity1"),
            pl.col(month_column("quantity2", m)).alias("quantity2"),
            pl.col(month_column("value", m)).alias("value_thousand_jpy"),
        )
        for m in range(1, 13)
    ])
    columns = [*extra, *FACT_GRAIN, "unit1", "unit2", "quantity1", "quantity2",
               "value_thousand_jpy"]
    return months.select(columns)
