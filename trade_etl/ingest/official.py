"""The Ministry of Finance's own published totals, the yardstick the warehouse is checked against.

`data/ref/official_totals.csv` holds Japan's exports and imports by partner and calendar year as
the Ministry publishes them (its principal-commodity-by-area tables, "Grand Total" rows), in
thousand yen. The file is the project's own, written by `python -m trade_etl.ingest.official
SOURCE` from the public facts in `trade_year.csv` (billion yen with six decimals, i.e. exact
thousand yen; MOF tables as packaged by the public repository mitsuoxv/jp-trade, MIT; see
docs/reference.md). The project never reads SOURCE at run time.

Each year carries the stage of the figures it holds (`vintage_stage`), read from when the
source was packaged: it holds 2026 January-March, so it was made after April 2026, before the
2025 figures were fixed (November 2026): 2025 is the revised vintage (March 2026), 2024 and
earlier are fixed, 2026 is preliminary. The check `totals_match_official` blocks a build only
where the warehouse's figures are at that same stage (docs/warehouse.md).
"""

from __future__ import annotations

import argparse
import csv
import sys
from decimal import Decimal
from pathlib import Path

from trade_etl.settings import REF_DATA_DIR

# trade_year.csv area name -> Japan Customs country code
AREA_CODES = {
    "R Korea": "103", "China": "105", "Taiwan": "106", "Hg Kong": "108", "Vietnam": "110",
    "Thailnd": "111", "Sngapor": "112", "Malysia": "113", "Brunei": "116", "Philpin": "117",
    "Indnsia": "118", "India": "123", "Pakistn": "124", "Iran": "133", "Bahrain": "135",
    "Su Arab": "137", "Kuwait": "138", "Qatar": "140", "Oman": "141", "Israel": "143",
    "U Arb E": "147", "Norway": "202", "Sweden": "203", "Denmark": "204", "U King": "205",
    "Ireland": "206", "Nethlds": "207", "Belgium": "208", "France": "210", "Germany": "213",
    "Switzld": "215", "Portugl": "217", "Spain": "218", "Italy": "220", "Finland": "222",
    "Russia": "224", "Austria": "225", "Greece": "230", "Turkey": "234", "Canada": "302",
    "USA": "304", "Mexico": "305", "Panama": "312", "Prtrico": "324", "Colmbia": "401",
    "Venezla": "402", "Peru": "407", "Chile": "409", "Brazil": "410", "Argent": "413",
    "Liberia": "515", "S Afrca": "551", "Austral": "601", "Pap Nga": "602", "Newzeld": "606",
}
GROUPS = {"EU": "EU"}  # area name -> ref.country_groups group_code
WORLD = "Grand Total"
FLOWS = {"export": 1, "import": 2}
COLUMNS = ["flow", "year", "partner_kind", "partner_code", "source_area", "months",
           "vintage_stage", "value_thousand_jpy"]
# The source's last year is partial (January-March) and preliminary; the one before it revised.
LAST_YEAR_MONTHS = 3


def vintage_stage(year: int, last_year: int) -> str:
    if year == last_year:
        return "preliminary"
    return "revised" if year == last_year - 1 else "fixed"


def official_rows(source: Path) -> list[dict[str, object]]:
    """The Grand Total rows of `source` (trade_year.csv) as rows of official_totals.csv."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        totals = [r for r in csv.DictReader(handle) if r["goods"] == WORLD]
    last_year = max(int(float(r["year"])) for r in totals)
    rows = []
    for r in totals:
        area, year = r["area"], int(float(r["year"]))
        if area == WORLD:
            kind, code = "world", ""
        elif area in AREA_CODES:
            kind, code = "country", AREA_CODES[area]
        elif area in GROUPS:
            kind, code = "group", GROUPS[area]
        else:
            raise ValueError(f"{source}: area {area!r} has no customs code (AREA_CODES)")
        # Billion yen to six decimals is thousand yen; the source's floats carry binary noise
        # (112715.96093900001), so round to the sixth decimal, exactly.
        thousand = (Decimal(r["value"]) * 1_000_000).quantize(Decimal(1))
        rows.append({"flow": FLOWS[r["ex_im"]], "year": year, "partner_kind": kind,
                     "partner_code": code, "source_area": area,
                     "months": LAST_YEAR_MONTHS if year == last_year else 12,
                     "vintage_stage": vintage_stage(year, last_year),
                     "value_thousand_jpy": int(thousand)})
    rows.sort(key=lambda r: (r["flow"], r["year"], ("world", "group", "country").index(
        r["partner_kind"]), r["partner_code"]))
    return rows


def write(source: Path, out: Path) -> int:
    rows = official_rows(source)
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trade_etl.ingest.official",
        description="write data/ref/official_totals.csv from the Ministry's totals by area "
                    "(trade_year.csv)")
    parser.add_argument("source", type=Path, help="trade_year.csv (ex_im, area, goods, year, "
                        "value in billion yen)")
    parser.add_argument("--out", type=Path, default=REF_DATA_DIR / "official_totals.csv")
    args = parser.parse_args(argv)
    try:
        count = write(args.source, args.out)
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: {count} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
