"""Reading the US Census Bureau's answers (reporter `USA`): a USA release file is one answer of
the International Trade API, kept as received (trade_etl/formats/census.py says what is asked).

An answer is a JSON array of arrays: the header row, then one row per partner and commodity.
Rows are numbered as lines are (the header is 1): the API writes one row per line, so the
number is the line in its files, and a compact one-line answer still names its rows. Each row
becomes one month cell of the fact store, in whole dollars (`value_unit` 1, `ref.reporters`):

- the flow from the header (`E_COMMODITY`: exports, `ALL_VAL_MO`; `I_COMMODITY`: imports,
  `GEN_VAL_MO`, general imports at customs value);
- the month from `YEAR` and `MONTH` (the predicates the API appends), or from `time` (`2024-01`);
- the partner: the Census country code as written (`5880` Japan), checked against
  data/ref/census_countries.csv; `ref.census_countries` maps it to ISO codes for the mirror marts.

What is not a fact is quarantined with its reason, never dropped:
- a grouping of countries (`0003` European Union, `1XXX` North America, `-` all countries):
  its countries' rows carry its figures;
- a commodity code that is the start of a finer code of the same answer, month and partner (an
  answer asked without `COMM_LVL=HS10` holds every level, HS2 to HS10): a subtotal of its
  finer codes, which are loaded; the finest codes found are the facts, whatever their length;
- a value that is not whole dollars, an unknown country code, a malformed row, a duplicate.
A predicate column the API repeats (`CTY_CODE`) must repeat the same value; a row where it does
not is malformed.
"""

from __future__ import annotations

import json

import pandera.polars as pa
import polars as pl

from trade_etl.formats import census
from trade_etl.formats.customs_csv import FileProblem
from trade_etl.ingest.raw_csv import RawTable

LAYOUT = "census_hs"
# The canonical text columns of a row, from the API's variables.
COLUMNS = ("flow", "year", "month", "partner", "partner_name", "commodity", "description",
           "value")
RAW_LINE_KEEP = 400
COUNTRY_CODE = r"^[1-9][0-9]{3}$"  # Schedule C: a country; 0xxx, nXXX and - are groupings
# Row numbers as lines: the header is row 1.
FIRST_ROW = 2


def _country_codes() -> list[str]:
    return [row["census_code"] for row in census.countries()]


def matches(header_line: str) -> bool:
    """A Census answer: a JSON array whose first row names CTY_CODE and a commodity variable."""
    head = header_line.lstrip("\ufeff \t")
    if not head.startswith("["):
        return False
    if '"CTY_CODE"' not in head:
        raise FileProblem(f"a JSON answer without CTY_CODE in its header row: {head[:120]!r}")
    return True


def _flow_of(header: list[str]) -> census.Flow:
    found = [flow for flow in census.FLOWS.values()
             if flow.commodity in header and flow.value in header]
    if len(found) != 1:
        raise FileProblem(
            "the header names neither exports (E_COMMODITY, ALL_VAL_MO) nor imports "
            f"(I_COMMODITY, GEN_VAL_MO) of the Census API: {header[:12]}")
    return found[0]


def read(text: str) -> RawTable:
    """The answer as a RawTable: `rows` with the canonical text columns, `malformed` rows with
    their reason. FileProblem when it is not a Census answer at all."""
    try:
        answer = json.loads(text)
    except json.JSONDecodeError as err:
        raise FileProblem(f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}"
                          ) from None
    if not isinstance(answer, list) or not answer or not isinstance(answer[0], list):
        raise FileProblem("not a Census answer: expected a JSON array of arrays, the first "
                          "the header")
    header = answer[0]
    if not all(isinstance(name, str) for name in header):
        raise FileProblem("the header row holds a value that is not a name")
    flow = _flow_of(header)
    first = {}
    for index, name in enumerate(header):
        first.setdefault(name, index)
    repeats = [(index, first[name]) for index, name in enumerate(header) if first[name] != index]
    if "YEAR" in first and "MONTH" in first:
        def period(row: list) -> tuple[str, str]:
            return row[first["YEAR"]], row[first["MONTH"]]
    elif "time" in first:
        def period(row: list) -> tuple[str, str]:
            year, _, month = str(row[first["time"]]).partition("-")
            return year, month
    else:
        raise FileProblem("the header has neither YEAR and MONTH nor time: the rows' month "
                          "is unknown")
    good, bad = [], []
    for number, row in enumerate(answer[1:], start=FIRST_ROW):
        raw = json.dumps(row, ensure_ascii=False)[:RAW_LINE_KEEP]
        if not isinstance(row, list):
            bad.append((number, raw, "row is not an array"))
        elif len(row) != len(header):
            bad.append((number, raw, f"row has {len(row)} values, the header {len(header)}"))
        elif not all(isinstance(value, str) for value in row):
            bad.append((number, raw, "a value is not a string, as the API writes every value"))
        elif any(row[i] != row[j] for i, j in repeats):
            names = ", ".join(sorted({header[i] for i, j in repeats if row[i] != row[j]}))
            bad.append((number, raw, f"{names} given twice with different values"))
        else:
            year, month = period(row)
            good.append((number, raw, str(flow.flow), year, month, row[first["CTY_CODE"]],
                         row[first["CTY_NAME"]] if "CTY_NAME" in first else "",
                         row[first[flow.commodity]],
                         row[first[flow.description]] if flow.description in first else "",
                         row[first[flow.value]]))
    rows = pl.DataFrame(good, schema={"line_number": pl.Int64, "raw_line": pl.String,
                                      **dict.fromkeys(COLUMNS, pl.String)}, orient="row")
    malformed = pl.DataFrame(bad, schema={"line_number": pl.Int64, "raw_line": pl.String,
                                          "reason": pl.String}, orient="row")
    return RawTable(LAYOUT, "", rows, malformed, len(answer) - 1)


def typed(rows: pl.DataFrame) -> pl.DataFrame:
    """Text to types, row for row (what does not convert becomes null, so the model names it),
    and `finest`: whether no other row of the file, month and partner has a longer code that
    starts with this one (a subtotal is not the finest)."""
    digits = r"^[0-9]+$"
    commodity = pl.col("commodity").str.strip_chars()
    value = pl.col("value").str.strip_chars()
    frame = rows.with_columns(
        flow=pl.col("flow").cast(pl.Int64),
        year=pl.col("year").str.strip_chars().cast(pl.Int64, strict=False),
        month=pl.col("month").str.strip_chars().cast(pl.Int64, strict=False),
        partner=pl.col("partner").str.strip_chars(),
        commodity=commodity,
        value=pl.when(value.str.contains(r"^[0-9]{1,18}$")).then(value.cast(pl.Int64,
                                                                            strict=False)),
    )
    group = ["file_index", "year", "month", "partner"] if "file_index" in frame.columns else [
        "year", "month", "partner"]
    codes = frame.select(*group, "commodity").filter(pl.col("commodity").str.contains(digits))
    longer = (codes.join(codes.rename({"commodity": "finer"}), on=group, nulls_equal=True)
              .filter((pl.col("finer").str.len_chars() > pl.col("commodity").str.len_chars())
                      & pl.col("finer").str.starts_with(pl.col("commodity")))
              .group_by(*group, "commodity").agg(finer=pl.col("finer").min()))
    return (frame.join(longer, on=[*group, "commodity"], how="left", nulls_equal=True,
                       maintain_order="left")
            .with_columns(finest=pl.col("finer").is_null()))


class CensusRows(pa.DataFrameModel):
    """A typed row of a Census answer."""

    flow: int = pa.Field(isin=[1, 2], nullable=False)
    year: int = pa.Field(ge=2000, le=2100, nullable=False)
    month: int = pa.Field(ge=1, le=12, nullable=False)
    partner: str = pa.Field(str_matches=COUNTRY_CODE, nullable=False)
    commodity: str = pa.Field(str_matches=r"^[0-9]{2,10}$", nullable=False)
    value: int = pa.Field(ge=0, nullable=False)
    finest: bool = pa.Field(isin=[True], nullable=False)

    @pa.check("partner", name="census_country")
    @classmethod
    def known_country(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A country's code (a grouping fails the pattern alone) in census_countries.csv."""
        code = pl.col(data.key)
        return data.lazyframe.select(code.is_in(_country_codes())
                                     | ~code.str.contains(COUNTRY_CODE))

    class Config:
        strict = False
        coerce = False


def describe(check: str, column: str | None, raw: dict) -> str:
    """The quarantine reason of a failed check, from the row's text fields."""
    text = (raw.get(column) or "").strip() if column in COLUMNS else ""
    if column == "partner" and "census_country" in check:
        return (f"CTY_CODE {text!r} is not a Census country code of "
                f"{census.REF_CSV.name}: add it with its ISO codes")
    if column == "partner":
        return (f"CTY_CODE {text!r} ({raw.get('partner_name', '').strip()}) is a grouping of "
                "countries, not a country: its countries' rows carry its figures")
    if column == "finest":
        return (f"commodity {raw.get('commodity', '').strip()!r} is a subtotal of finer codes "
                "in this answer (loaded instead)")
    if column == "commodity":
        return f"commodity code is not 2 to 10 digits: {text!r}"
    if column == "value":
        return f"value is not whole dollars: {text!r}"
    if column in ("year", "month"):
        return f"month is not valid: {raw.get('year', '')!r}-{raw.get('month', '')!r}"
    return f"{column or 'row'} fails {check}: {text!r}"


def reshape(valid: pl.DataFrame) -> pl.DataFrame:
    """One row is one month cell: whole dollars, no quantities."""
    return valid.select(
        "file_index", "flow", "year", "month", hs_code="commodity", country_code="partner",
        unit1=pl.lit(None, pl.String), unit2=pl.lit(None, pl.String), quantity1=pl.lit(0),
        quantity2=pl.lit(0), value_thousand_jpy="value")


KEYS = ("flow", "year", "month", "partner", "commodity")
