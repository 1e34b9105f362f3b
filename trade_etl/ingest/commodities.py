"""The commodity dictionary: names of HS headings and subheadings, Japan's 9-digit export codes
and the units of quantity, as the project's own reference tables.

`python -m trade_etl.ingest.commodities SOURCE` writes four CSVs under `data/ref/` (docs/
reference.md) from the public files in SOURCE (`../shared/reference/codes`); the project never
reads SOURCE at run time:

- `hs_headings.csv`, `hs_subheadings.csv`: the 4- and 6-digit levels of the HS 2022
  nomenclature with their English names (`harmonized-system.csv`, datasets/harmonized-system,
  ODC-PDDL), headings with their Japanese name as Japan's HS 2022 export lists (2022 on) print it;
- `hs9_codes.csv`: every 9-digit code of Japan's yearly export statistical code lists 2010-2025
  (`hs9_export_codes_2010_2025_ja.csv.gz`, compiled from miyamankyushu/Japan_TradeData, MIT),
  with the years whose list holds it, its unit of quantity 2 and Japanese description as the
  latest of those lists gives them. Import codes are in no open list: they are not here;
- `units.csv`: every unit of quantity the lists and the release files use, with its meaning in
  English and Japanese (`UNITS` below: facts of Japan Customs' code lists, the qualifiers as
  NACCS explains them).

Rows the source could not have meant are refused with their file and line; the 90 rows of the
2010-2017 lists whose code lost its first six digits (`110` under chapter 50) are left out and
counted on stderr: which heading they belong to is not in the row.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from trade_etl.settings import REF_DATA_DIR

HS_FILE = "harmonized-system.csv"
HS9_FILE = "hs9_export_codes_2010_2025_ja.csv.gz"
HS_EDITION = "HS2022"
HS_EDITION_FIRST_YEAR = 2022  # the lists from this year on are HS 2022's

# Every unit code, with its meaning in English and in Japanese. The export lists write the
# qualified units with a Japanese parenthesis (`KG （I.I.）`), normalized here to `KG (I.I.)`.
# TNO, M2 and M3 are in no export list nor in the sample: the spellings of a thousand pieces and
# square and cubic metres some release files may use beside TH, SM and CM.
UNITS: dict[str, tuple[str, str]] = {
    "KG": ("kilogram", "キログラム"),
    "GR": ("gram", "グラム"),
    "MT": ("metric ton (1,000 kg)", "メートル・トン"),
    "CT": ("carat (0.2 g)", "カラット"),
    "L": ("litre", "リットル"),
    "KL": ("kilolitre (1,000 litres)", "キロリットル"),
    "M": ("metre", "メートル"),
    "SM": ("square metre", "平方メートル"),
    "CM": ("cubic metre", "立方メートル"),
    "M2": ("square metre", "平方メートル"),
    "M3": ("cubic metre", "立方メートル"),
    "NO": ("number (pieces, head, vehicles, …)", "個数"),
    "DZ": ("dozen", "ダース"),
    "PR": ("pair", "対"),
    "ST": ("set", "組"),
    "GT": ("gross tonnage (ships)", "総トン"),
    "TH": ("thousand (pieces)", "千個"),
    "TNO": ("thousand (pieces)", "千個"),
    "KG (I.I.)": ("kilogram, including the inner packing", "キログラム（内装とも）"),
    "KG (I.C.)": ("kilogram, including the container", "キログラム（容器とも）"),
    "GR (I.C.)": ("gram, including the container", "グラム（容器とも）"),
    "KG (D.W.)": ("kilogram, dry weight", "キログラム（乾燥重量）"),
    "MT (D.W.)": ("metric ton, dry weight", "メートル・トン（乾燥重量）"),
}

HS_COLUMNS = ["section", "hscode", "description", "parent", "level"]
HS9_COLUMNS = ["year", "hs_code", "section", "chapter", "unit2", "heading_ja", "description_ja"]
OUTPUTS = {
    "hs_headings": ["hs_heading", "hs_chapter", "heading_name", "hs_edition", "heading_name_ja"],
    "hs_subheadings": ["hs_subheading", "hs_heading", "subheading_name", "hs_edition"],
    "hs9_codes": ["hs_code", "flow", "first_year", "last_year", "unit2", "description_ja",
                  "years_listed"],
    "units": ["unit_code", "unit_name", "unit_name_ja"],
}


class SourceError(ValueError):
    """A source row the generator cannot use; the message names the file and line."""


def normalize_unit(text: str) -> str:
    """`KG （I.I.）` and `KG（D.W.）` as `KG (I.I.)`, `KG (D.W.)`; a bare code as it is."""
    unit = " ".join(unicodedata.normalize("NFKC", text).split())
    return re.sub(r"\s*\(", " (", unit)


def year_spans(years: set[int]) -> str:
    """`2010-2011 2017-2025` (a year alone: `2025`)."""
    ordered = sorted(years)
    spans, start = [], ordered[0]
    for previous, year in zip(ordered, [*ordered[1:], None], strict=True):
        if year != previous + 1:
            spans.append(str(start) if start == previous else f"{start}-{previous}")
            start = year
    return " ".join(spans)


@dataclass
class Dictionary:
    headings: list[dict]
    subheadings: list[dict]
    codes: list[dict]
    units: list[dict]
    skipped: list[int]  # lines of the 9-digit lists left out (codes without their digits)


def _check_header(path: Path, found: list[str] | None, wanted: list[str]) -> None:
    if found != wanted:
        raise SourceError(f"{path}: line 1: columns {found}, expected {wanted}")


def read_hs(path: Path) -> tuple[list[dict], list[dict]]:
    """The headings and subheadings of harmonized-system.csv (HS 2022)."""
    headings, subheadings = [], []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        _check_header(path, reader.fieldnames, HS_COLUMNS)
        for line, row in enumerate(reader, start=2):
            level, code = row["level"], row["hscode"]
            if level not in ("4", "6"):
                continue
            name = " ".join(row["description"].split())
            digits = int(level)
            if len(code) != digits or not code.isdigit() or row["parent"] != code[:digits - 2] \
                    or not name:
                raise SourceError(f"{path}: line {line}: level {level} code {code!r} with parent "
                                  f"{row['parent']!r} and name {name!r} is not a heading or "
                                  "subheading of its parent")
            if level == "4":
                headings.append({"hs_heading": code, "hs_chapter": code[:2],
                                 "heading_name": name, "hs_edition": HS_EDITION})
            else:
                subheadings.append({"hs_subheading": code, "hs_heading": code[:4],
                                    "subheading_name": name, "hs_edition": HS_EDITION})
    for rows, key in ((headings, "hs_heading"), (subheadings, "hs_subheading")):
        codes = [r[key] for r in rows]
        if len(set(codes)) != len(codes):
            raise SourceError(f"{path}: a {key} appears twice")
    known = {h["hs_heading"] for h in headings}
    orphans = sorted({s["hs_heading"] for s in subheadings} - known)
    if orphans:
        raise SourceError(f"{path}: subheadings of headings it does not list: {orphans[:5]}")
    return sorted(headings, key=lambda r: r["hs_heading"]), sorted(
        subheadings, key=lambda r: r["hs_subheading"])


def read_hs9(path: Path) -> tuple[dict[str, dict], dict[str, str], list[int]]:
    """Per 9-digit code its years and its latest row; per heading its Japanese name in the
    latest HS 2022 list; the lines left out."""
    years: dict[str, set[int]] = defaultdict(set)
    latest: dict[str, tuple[int, int, dict]] = {}
    heading_ja: dict[str, tuple[int, str]] = {}
    skipped: list[int] = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        _check_header(path, reader.fieldnames, HS9_COLUMNS)
        for line, row in enumerate(reader, start=2):
            code = row["hs_code"].strip()
            if re.fullmatch(r"\d{1,8}", code):  # the source lost the code's upper digits
                skipped.append(line)
                continue
            if not re.fullmatch(r"\d{9}", code) or not re.fullmatch(r"(19|20)\d\d", row["year"]):
                raise SourceError(f"{path}: line {line}: year {row['year']!r} and code {code!r} "
                                  "are not a year and a 9-digit code")
            year = int(row["year"])
            if year in years[code]:
                raise SourceError(f"{path}: line {line}: code {code} is listed twice in {year}")
            unit = normalize_unit(row["unit2"])
            if unit not in UNITS:
                raise SourceError(f"{path}: line {line}: unit {row['unit2']!r} of {code} has no "
                                  "meaning in UNITS (trade_etl/ingest/commodities.py): add it")
            years[code].add(year)
            if code not in latest or year > latest[code][0]:
                latest[code] = (year, line, {**row, "unit2": unit})
            name = " ".join(row["heading_ja"].split())
            if year >= HS_EDITION_FIRST_YEAR and name and \
                    (code[:4] not in heading_ja or year > heading_ja[code[:4]][0]):
                heading_ja[code[:4]] = (year, name)
    codes = {}
    for code, (_, _, row) in latest.items():
        codes[code] = {"hs_code": code, "flow": "export", "first_year": min(years[code]),
                       "last_year": max(years[code]), "unit2": row["unit2"],
                       "description_ja": " ".join(row["description_ja"].split()),
                       "years_listed": year_spans(years[code])}
    return codes, {h: name for h, (_, name) in heading_ja.items()}, skipped


CONCORDANCE_FILE = "hs6_edition_concordance.csv"  # UN correlation tables (docs/reference.md)
EDITIONS = ((2022, "HS2022"), (2017, "HS2017"), (2012, "HS2012"), (2007, "HS2007"))
RETIRED_SHOWN = 3  # successors named in a retired subheading's name (its own heading's first)


def edition_of(year: int) -> str:
    """The HS edition Japan's code list of `year` follows."""
    return next(edition for first, edition in EDITIONS if year >= first)


def retired_subheadings(codes: dict[str, dict], subheadings: list[dict],
                        path: Path) -> list[dict]:
    """The subheadings of the code lists that HS 2022 no longer has (codes of earlier years, or
    staged in the sample), named after the HS 2022 subheadings their goods are under now,
    followed forward through the UN correlation tables (`path`; every edition's links)."""
    current = {s["hs_subheading"]: s for s in subheadings}
    gone = sorted({c["hs_code"][:6] for c in codes.values()} - set(current))
    if not gone:
        return []
    later: dict[str, set[str]] = defaultdict(set)  # an older subheading -> its next edition's
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        _check_header(path, reader.fieldnames, ["code.after", "code.before", "Relationship",
                                                "adjustment"])
        for row in reader:
            after, before = row["code.after"].zfill(6), row["code.before"].zfill(6)
            if after.isdigit() and before.isdigit() and after != before:
                later[before].add(after)
    rows = []
    for code in gone:
        seen, frontier, now = {code}, [code], set()
        while frontier:  # breadth first, to the HS 2022 subheadings
            step = []
            for old in frontier:
                for new in later.get(old, ()):
                    if new in current:
                        now.add(new)
                    elif new not in seen:
                        seen.add(new)
                        step.append(new)
            frontier = step
        last = max(int(y.split("-")[-1]) for c in codes.values() if c["hs_code"][:6] == code
                   for y in c["years_listed"].split())
        named = sorted(now, key=lambda s: (s[:4] != code[:4], s))
        where = ("; ".join(f"{s} {current[s]['subheading_name']}" for s in named[:RETIRED_SHOWN])
                 + (f"; and {len(named) - RETIRED_SHOWN} more" if len(named) > RETIRED_SHOWN
                    else "")) if named else "no HS 2022 subheading (see the correlation tables)"
        rows.append({"hs_subheading": code, "hs_heading": code[:4],
                     "subheading_name": f"Not in HS 2022 (last listed {last}); now under: "
                                        + where,
                     "hs_edition": edition_of(last)})
    return rows


def dictionary(source: Path) -> Dictionary:
    headings, subheadings = read_hs(source / HS_FILE)
    codes, heading_ja, skipped = read_hs9(source / HS9_FILE)
    subheadings = sorted(subheadings + retired_subheadings(codes, subheadings,
                                                           source / CONCORDANCE_FILE),
                         key=lambda r: r["hs_subheading"])
    for heading in headings:
        heading["heading_name_ja"] = heading_ja.get(heading["hs_heading"], "")
    units = [{"unit_code": code, "unit_name": en, "unit_name_ja": ja}
             for code, (en, ja) in sorted(UNITS.items())]
    return Dictionary(headings, subheadings, [codes[c] for c in sorted(codes)], units, skipped)


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def write(source: Path, out_dir: Path) -> Dictionary:
    found = dictionary(source)
    tables = {"hs_headings": found.headings, "hs_subheadings": found.subheadings,
              "hs9_codes": found.codes, "units": found.units}
    for table, rows in tables.items():
        write_csv(out_dir / f"{table}.csv", OUTPUTS[table], rows)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trade_etl.ingest.commodities",
        description="write data/ref/hs_headings.csv, hs_subheadings.csv, hs9_codes.csv and "
                    f"units.csv from {HS_FILE} and {HS9_FILE}")
    parser.add_argument("source", type=Path, help="the folder holding both files (e.g. "
                        "../shared/reference/codes)")
    parser.add_argument("--out", type=Path, default=REF_DATA_DIR,
                        help=f"where to write the CSVs (default {REF_DATA_DIR})")
    args = parser.parse_args(argv)
    try:
        found = write(args.source, args.out)
    except (OSError, SourceError, EOFError, gzip.BadGzipFile, UnicodeDecodeError,
            csv.Error) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if found.skipped:
        lines = ", ".join(map(str, found.skipped[:3]))
        print(f"note: left out {len(found.skipped)} rows of {HS9_FILE} whose code lost its upper "
              f"digits (lines {lines}, …)", file=sys.stderr)
    print(f"{args.out}: {len(found.headings)} headings, {len(found.subheadings)} subheadings, "
          f"{len(found.codes)} 9-digit codes, {len(found.units)} units")
    return 0


if __name__ == "__main__":
    sys.exit(main())
