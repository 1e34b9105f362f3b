"""The US Census Bureau's International Trade API, as reporter `USA`: what is asked, and the
files a USA release folder holds.

The API (`../shared/reference/facts/real_release_facts.md`, "The United States' own figures";
the MIT-licensed client `ustrade` 0.5.0 builds the same requests):

    GET {base}/data/timeseries/intltrade/imports/hs?get=CTY_CODE,CTY_NAME,I_COMMODITY,
        I_COMMODITY_SDESC,GEN_VAL_MO,CON_VAL_MO&CTY_CODE=5880&COMM_LVL=HS10&YEAR=2024&MONTH=01
    GET {base}/data/timeseries/intltrade/exports/hs?get=CTY_CODE,CTY_NAME,E_COMMODITY,
        E_COMMODITY_SDESC,ALL_VAL_MO&CTY_CODE=5880&COMM_LVL=HS10&YEAR=2024&MONTH=01

answers a JSON array of arrays whose first row is the header (the variables asked for, then the
predicates', which the API appends: CTY_CODE may come twice, YEAR and MONTH once each), every
value a string; values are whole US dollars. HTTP 204 with no body: nothing published for that
request (a month not out yet).

A USA release is one fetch: `raw/USA/<YYYY-MM-DD>_<stage>/` (release id
`USA/<YYYY-MM-DD>_<stage>`), one file per flow and month, each an answer exactly as received,
named `<flow>_<YYYY>-<MM>.json` (`exports_2024-01.json`), and a `.manifest.json` recording each
file's URL and sha256. The stage is `monthly`, or `revised` when the fetch found figures of a
month the previous release held changed (the Bureau's annual revision each June).

The values kept: general imports (`GEN_VAL_MO`, customs value) and total exports (`ALL_VAL_MO`,
domestic and foreign, f.a.s.), the Bureau's basis for trade by country (FT-900).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from trade_etl.settings import REF_DATA_DIR

REPORTER = "USA"
JAPAN_CENSUS_CODE = "5880"
DATASET_PATH = "data/timeseries/intltrade/{flow}/hs"
COMMODITY_LEVEL = "HS10"  # the finest the API gives; asked with COMM_LVL


@dataclass(frozen=True)
class Flow:
    """One of the API's two datasets."""

    name: str  # exports, imports: the dataset's path and the files' prefix
    flow: int  # 1 export, 2 import (the fact store's flow)
    commodity: str  # the HS code variable
    description: str  # its short description
    value: str  # the value kept
    variables: tuple[str, ...]  # everything asked for, in order


EXPORTS = Flow("exports", 1, "E_COMMODITY", "E_COMMODITY_SDESC", "ALL_VAL_MO",
               ("CTY_CODE", "CTY_NAME", "E_COMMODITY", "E_COMMODITY_SDESC", "ALL_VAL_MO"))
IMPORTS = Flow("imports", 2, "I_COMMODITY", "I_COMMODITY_SDESC", "GEN_VAL_MO",
               ("CTY_CODE", "CTY_NAME", "I_COMMODITY", "I_COMMODITY_SDESC", "GEN_VAL_MO",
                "CON_VAL_MO"))
FLOWS = {flow.name: flow for flow in (EXPORTS, IMPORTS)}
STAGES = ("monthly", "revised")

FILE_NAME = re.compile(r"^(?P<flow>exports|imports)_(?P<year>\d{4})-(?P<month>\d{2})\.json$")


def file_name(flow: str, year: int, month: int) -> str:
    return f"{flow}_{year:04d}-{month:02d}.json"


def parse_file_name(name: str) -> tuple[Flow, int, int] | None:
    """(flow, year, month) of a release file's name; None for another name."""
    found = FILE_NAME.match(Path(name).name)
    if found is None:
        return None
    return FLOWS[found["flow"]], int(found["year"]), int(found["month"])


REF_CSV = REF_DATA_DIR / "census_countries.csv"


@functools.cache
def countries() -> tuple[dict, ...]:
    """The Bureau's country codes (Schedule C) with ISO codes: data/ref/census_countries.csv
    (census_code, census_name, iso2, iso3; docs/reference.md says where it comes from)."""
    with REF_CSV.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def census_code(iso3: str) -> str:
    """The Census country code of an ISO 3166-1 alpha-3 code (`JPN` -> `5880`)."""
    for row in countries():
        if row["iso3"] == iso3.upper():
            return row["census_code"]
    raise ValueError(f"{iso3!r} is not an ISO 3166-1 alpha-3 code of a Census country "
                     f"({REF_CSV.name}): e.g. JPN, CHN, DEU")


# --- an answer of the API, as a release file holds it ------------------------------------------

class AnswerError(ValueError):
    """An answer that is not what the API publishes; `str()` is the reason (without the URL)."""


@dataclass(frozen=True)
class Answer:
    """A validated answer: the header (the variables asked for, then the predicates the API
    appended, CTY_CODE possibly twice) and the data rows, every value a string."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> int:
        """The first column named `name` (CTY_CODE comes twice when it is also a predicate)."""
        return self.header.index(name)


def figure_variables(flow: Flow) -> tuple[str, ...]:
    """The variables that make a row's figures: the partner, the HS code and the values (the
    names and descriptions are text the Bureau may reword without revising anything)."""
    return tuple(v for v in flow.variables if v not in ("CTY_NAME", flow.description))


def parse_answer(data: bytes, flow: Flow) -> Answer:
    """An answer validated whole: UTF-8 JSON, an array of arrays, a header holding every
    variable of `flow`, every row as long as the header, every value a string. Rows are
    numbered from 1 after the header (row 1 is the answer's second line). AnswerError says
    what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AnswerError(f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not text.strip():
        raise AnswerError("an empty body with HTTP 200 (no data is HTTP 204)")
    try:
        table = json.loads(text)
    except json.JSONDecodeError as err:
        raise AnswerError(f"not valid JSON (line {err.lineno} column {err.colno}: "
                          f"{err.msg})") from None
    except RecursionError:
        raise AnswerError("not valid JSON (nested too deeply)") from None
    if not isinstance(table, list):
        raise AnswerError(f"not a JSON array of arrays (a {type(table).__name__})")
    if not table:
        raise AnswerError("an empty array: no header row")
    header = table[0]
    if not isinstance(header, list) or not all(isinstance(v, str) for v in header):
        raise AnswerError("the header (the first row) is not an array of strings")
    missing = [v for v in flow.variables if v not in header]
    if missing:
        raise AnswerError(f"the header lacks {', '.join(missing)} (it has "
                          f"{','.join(header)[:200]})")
    width = len(header)
    rows = []
    for number, row in enumerate(table[1:], start=1):
        if not isinstance(row, list):
            raise AnswerError(f"row {number} is not an array")
        if len(row) != width:
            raise AnswerError(f"row {number} has {len(row)} values, the header {width}")
        for index, value in enumerate(row):
            if not isinstance(value, str):
                shown = json.dumps(value)[:40]
                raise AnswerError(f"row {number} value {index + 1} ({header[index]}) is not a "
                                  f"string: {shown}")
        rows.append(tuple(row))
    return Answer(tuple(header), tuple(rows))


def figures_digest(answer: Answer, flow: Flow) -> str:
    """A hash of the answer's figures (figure_variables of each row) as a sorted multiset:
    equal for two answers with the same figures in any order, whatever their bytes. Only the
    rows of the finest commodity codes count (the longest codes present), as builds keep them:
    an answer of every level (asked without COMM_LVL) equals one of HS10 with the same HS10
    figures."""
    columns = [answer.column(v) for v in figure_variables(flow)]
    code = answer.column(flow.commodity)
    finest = max((len(row[code]) for row in answer.rows), default=0)
    figures = sorted(tuple(row[i] for i in columns) for row in answer.rows
                     if len(row[code]) == finest)
    return hashlib.sha256(json.dumps(figures, separators=(",", ":")).encode()).hexdigest()
