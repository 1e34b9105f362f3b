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
