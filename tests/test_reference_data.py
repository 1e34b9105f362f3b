"""Cross-checks of the shipped reference tables (data/ref/*.csv) against the public source facts.

The source files live outside the repository in `../shared/reference/` (see docs/reference.md);
the tests are skipped when that folder is absent. The project code never reads it.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REF = REPO / "data" / "ref"
SRC = REPO / ".." / "shared" / "reference"

if not SRC.is_dir():
    pytest.skip(f"source reference folder {SRC} is absent: cannot cross-check data/ref/",
                allow_module_level=True)

REF_FILES = {
    "countries.csv": ["country_code", "country_name", "iso3", "area", "iso2"],
    "partner_aliases.csv": ["alias", "partner_code", "note"],
    "country_groups.csv": ["group_code", "group_name", "country_code", "valid_from", "valid_to"],
    "hs_sections.csv": ["hs_section", "section_number", "section_name"],
    "hs_chapters.csv": ["hs_chapter", "hs_section", "chapter_name"],
    "sectors.csv": ["sector_code", "sector_name", "sector_level", "parent_sector_code",
                    "sort_order"],
    "sector_map.csv": ["hs_prefix", "sector_code", "note"],
    "fx_monthly.csv": ["month", "jpy_per_usd"],
    "fx_daily.csv": ["date", "jpy_per_usd"],
    "official_totals.csv": ["flow", "year", "partner_kind", "partner_code", "source_area",
                            "months", "vintage_stage", "value_thousand_jpy"],
    "reporters.csv": ["reporter", "name", "currency", "value_unit", "partner_codes",
                      "hs_digits"],
    "census_countries.csv": ["census_code", "census_name", "iso2", "iso3"],
}

AREAS = {
    "Asia": "Asia",
    "Middle_East": "Middle East",
    "Western_Europe": "Western Europe",
    "Central_and_East_Europe_Russia": "Central and Eastern Europe/Russia",
    "North_America": "North America",
    "Middle_and_South_America": "Latin America",
    "Africa": "Africa",
    "Oceania": "Oceania",
    "Special_Area": "Special Area",
    "Integrated_Hozei_Ar_Special_Area": "Special Area",
}
LIAPUNOV_ZONES = {
    "Asia": "Asia",
    "Middle East": "Middle East",
    "Western Europe": "Western Europe",
    "Central and East Europe, Russia etc.": "Central and Eastern Europe/Russia",
    "North America": "North America",
    "Middle and South America": "Latin America",
    "Africa": "Africa",
    "Oceania": "Oceania",
    "Special Area": "Special Area",
}
TOP_SECTORS = {
    "foodstuff": "Foodstuff",
    "raw_materials": "Raw materials",
    "mineral_fuels": "Mineral fuels",
    "chemicals": "Chemicals",
    "manufactured_goods": "Manufactured goods",
    "machinery": "Machinery",
    "electrical_machinery": "Electrical machinery",
    "transport_equipment": "Transport equipment",
    "others": "Others",
}
HIGHLIGHT_PARENTS = {
    "motor_vehicles": "transport_equipment",
    "motor_vehicle_parts": "transport_equipment",
    "semiconductors_electronic_parts": "electrical_machinery",
    "semiconductor_manufacturing_equipment": "machinery",
    "crude_oil": "mineral_fuels",
    "lng": "mineral_fuels",
    "pharmaceuticals": "chemicals",
}
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV",
         "XV", "XVI", "XVII", "XVIII", "XIX", "XX", "XXI"]


def read_ref(name: str) -> list[dict[str, str]]:
    with open(REF / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_src(rel: str) -> list[dict[str, str]]:
    with open(SRC / rel, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def q4(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------ files
@pytest.mark.parametrize("name", sorted(REF_FILES))
def test_file_format(name: str) -> None:
    raw = (REF / name).read_bytes()
    assert len(raw) < 200_000, f"{name} is {len(raw)} bytes"
    assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM"
    assert b"\r" not in raw, "LF line endings only"
    assert raw.endswith(b"\n")
    raw.decode("utf-8")
    with open(REF / name, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == REF_FILES[name]
    assert all(len(r) == len(rows[0]) for r in rows), "every row has every column"
    assert len(rows) > 1


def test_no_file_is_a_verbatim_copy_of_a_source_file() -> None:
    sources = {hashlib.sha256(p.read_bytes()).hexdigest() for p in SRC.rglob("*") if p.is_file()}
    for name in REF_FILES:
        assert hashlib.sha256((REF / name).read_bytes()).hexdigest() not in sources, name


# ------------------------------------------------------------------ reporters
def test_reporters_ship_japan_and_the_us_as_their_registry_entries_describe_them() -> None:
    """Two rows, each equal to its built-in registry entry's metadata (trade_etl/ingest/
    layouts.py): Japan's values are thousand yen, its partners Japan Customs codes, its codes 9
    digits; the US Census Bureau's whole dollars, Census country codes, 10 digits."""
    from trade_etl.ingest.layouts import JAPAN, UNITED_STATES

    rows = read_ref("reporters.csv")
    assert rows == [{k: str(v) for k, v in e.row().items()} for e in (JAPAN, UNITED_STATES)]
    assert rows[0]["partner_codes"] == "japan_customs" and rows[0]["value_unit"] == "1000"
    assert rows[1]["currency"] == "USD" and rows[1]["value_unit"] == "1"


def test_census_countries_agree_with_the_customs_list_on_iso_codes() -> None:
    """The US Census Bureau's codes (reporter USA's partners): unique 4-digit country codes
    (no groupings), Japan 5880 as the facts give it, and ISO codes that pair as in
    countries.csv wherever both lists hold the country."""
    rows = read_ref("census_countries.csv")
    codes = [r["census_code"] for r in rows]
    assert len(codes) == len(set(codes)) and all(re.fullmatch(r"[1-9]\d{3}", c) for c in codes)
    by_iso3 = {r["iso3"]: r for r in rows if r["iso3"]}
    assert by_iso3["JPN"]["census_code"] == "5880" and by_iso3["USA"]["iso2"] == "US"
    customs = {r["iso3"]: r["iso2"] for r in read_ref("countries.csv") if r["iso3"]}
    paired = [(iso3, r["iso2"], customs[iso3]) for iso3, r in by_iso3.items() if iso3 in customs]
    assert len(paired) > 200 and all(a == b for _, a, b in paired), [
        p for p in paired if p[1] != p[2]]
    assert len(by_iso3) == len([r for r in rows if r["iso3"]]), "an ISO3 code twice"


# ------------------------------------------------------------------ countries
def test_countries_match_customs_code_list() -> None:
    ours = {r["country_code"]: r for r in read_ref("countries.csv")}
    assert len(ours) == len(read_ref("countries.csv")), "country codes are unique"
    assert all(re.fullmatch(r"\d{3}", c) for c in ours)
    source = read_src("codes/country_eng.csv")
    assert len(source) == 232
    for s in source:
        code = s["Country"].strip().zfill(3)
        assert code in ours, code
        assert ours[code]["country_name"] == s["Country_name"].replace("_", " "), code
        assert ours[code]["area"] == AREAS[s["Area"]], code


def test_countries_cover_the_longer_code_list() -> None:
    ours = {r["country_code"]: r for r in read_ref("countries.csv")}
    eng = {s["Country"].strip().zfill(3) for s in read_src("codes/country_eng.csv")}
    other = read_src("codes/liapunov_JapanTrade_Countries.csv")
    assert len(other) == 235  # one zone value spans two lines inside quotes
    for s in other:
        code = s["Code"].strip().zfill(3)
        assert code in ours, code
        zone = " ".join(s["Geographical Zone"].split())
        assert ours[code]["area"] == LIAPUNOV_ZONES[zone], code
        if code not in eng:  # added from this list: its name is the one used
            assert ours[code]["country_name"] == s["Country"], code
    assert set(ours) == eng | {s["Code"].strip().zfill(3) for s in other}
    assert {c for c in ours if c not in eng} == {"249", "250", "338"}


def test_country_areas_and_iso_codes() -> None:
    rows = read_ref("countries.csv")
    assert {r["area"] for r in rows} == set(AREAS.values())
    iso = [r["iso3"] for r in rows if r["iso3"]]
    assert all(re.fullmatch(r"[A-Z]{3}", i) for i in iso)
    assert len(iso) == len(set(iso)), "iso3 unique where present"
    by_code = {r["country_code"]: r for r in rows}
    expected = {"304": "USA", "105": "CHN", "205": "GBR", "213": "DEU", "103": "KOR",
                "106": "TWN", "108": "HKG", "129": "MAC", "620": "GUM", "324": "PRI",
                "619": "PYF", "158": "PSE", "537": "SHN", "249": "FRO", "250": "VAT",
                "338": "BLM", "244": "MKD", "556": "SWZ", "529": "CAF"}
    for code, iso3 in expected.items():
        assert by_code[code]["iso3"] == iso3, code
    # special areas, parts of other countries and multi-territory aggregates have no code
    for code in ("701", "702", "703", "216", "248", "326", "327", "415", "502", "523", "605"):
        assert by_code[code]["iso3"] == "", code
    assert all(r["iso3"] == "" for r in rows if r["area"] == "Special Area")


ISO_3166_1 = Path("/usr/share/iso-codes/json/iso_3166-1.json")  # Debian's iso-codes package


def test_iso2_is_the_alpha2_of_the_same_iso_entry() -> None:
    rows = read_ref("countries.csv")
    assert all((r["iso2"] == "") == (r["iso3"] == "") for r in rows), "iso2 exactly where iso3"
    iso2 = [r["iso2"] for r in rows if r["iso2"]]
    assert all(re.fullmatch(r"[A-Z]{2}", i) for i in iso2) and len(iso2) == len(set(iso2))
    by_code = {r["country_code"]: r["iso2"] for r in rows}
    expected = {"304": "US", "205": "GB", "103": "KR", "104": "KP", "105": "CN", "106": "TW",
                "108": "HK", "129": "MO", "213": "DE", "147": "AE", "158": "PS", "537": "SH",
                "622": "UM", "249": "FO", "338": "BL", "244": "MK", "556": "SZ"}
    for code, alpha2 in expected.items():
        assert by_code[code] == alpha2, code
    if not ISO_3166_1.is_file():
        pytest.skip(f"{ISO_3166_1} is absent (apt-get install iso-codes): checked by hand only")
    import json

    entries = json.loads(ISO_3166_1.read_text(encoding="utf-8"))["3166-1"]
    alpha2_of = {e["alpha_3"]: e["alpha_2"] for e in entries}
    for r in rows:
        if r["iso3"]:
            assert r["iso2"] == alpha2_of[r["iso3"]], r["country_code"]


def test_partner_aliases_name_partners_once() -> None:
    """Every alias names a country code, a group or a customs area, and no alias is given
    twice (compared as --partner compares: trade_etl.serve.partners.normalize)."""
    from trade_etl.serve.partners import normalize

    countries = read_ref("countries.csv")
    partners = ({r["country_code"] for r in countries} | {r["area"] for r in countries}
                | {r["group_code"] for r in read_ref("country_groups.csv")})
    rows = read_ref("partner_aliases.csv")
    assert all(r["partner_code"] in partners for r in rows), [
        r for r in rows if r["partner_code"] not in partners]
    assert all(r["alias"].strip() == r["alias"] and r["alias"] and r["note"] for r in rows)
    forms = [normalize(r["alias"]) for r in rows]
    assert len(forms) == len(set(forms)), "each alias once"


def test_country_names_are_readable() -> None:
    for r in read_ref("countries.csv"):
        assert "_" not in r["country_name"] and r["country_name"].strip() == r["country_name"]
    by_code = {r["country_code"]: r["country_name"] for r in read_ref("countries.csv")}
    assert by_code["304"] == "United States of America"
    assert by_code["105"] == "People's Republic of China"
    assert by_code["103"] == "Republic of Korea"


# ------------------------------------------------------------------ country groups
def members(group: str, on: str) -> set[str]:
    return {r["country_code"] for r in read_ref("country_groups.csv")
            if r["group_code"] == group and r["valid_from"] <= on
            and (not r["valid_to"] or on <= r["valid_to"])}


def test_group_rows_are_well_formed() -> None:
    codes = {r["country_code"] for r in read_ref("countries.csv")}
    rows = read_ref("country_groups.csv")
    assert {r["group_code"] for r in rows} == {"ASEAN", "EU"}
    for r in rows:
        assert r["country_code"] in codes
        start = date.fromisoformat(r["valid_from"])
        assert start.day == 1, "periods are whole months: valid_from is a month's first day"
        if r["valid_to"]:
            end = date.fromisoformat(r["valid_to"])
            assert (end + timedelta(days=1)).day == 1, "valid_to is a month's last day"
            assert start <= end
    assert len({(r["group_code"], r["country_code"]) for r in rows}) == len(rows)


def test_asean_members() -> None:
    asean10 = {"110", "111", "112", "113", "116", "117", "118", "120", "121", "122"}
    assert members("ASEAN", "2025-01-01") == asean10
    assert members("ASEAN", "2000-01-01") == asean10
    # Timor-Leste (128) was admitted on 2025-10-26 but is not in the Ministry of Finance's
    # ten-member ASEAN aggregate; users who want it add a row (docs/reference.md).
    assert members("ASEAN", "2025-10-01") == asean10
    assert members("ASEAN", "2026-06-01") == asean10


def test_eu_members() -> None:
    assert len(members("EU", "2025-01-01")) == 27
    assert len(members("EU", "2019-12-01")) == 28
    assert "205" in members("EU", "2020-01-31")
    assert "205" not in members("EU", "2020-02-01")
    assert "241" not in members("EU", "2013-06-30") and "241" in members("EU", "2013-07-01")
    assert len(members("EU", "2004-04-30")) == 15 and len(members("EU", "2004-05-01")) == 25
    assert len(members("EU", "2007-01-01")) == 27
    assert len(members("EU", "2000-01-01")) == 15


# ------------------------------------------------------------------ HS sections and chapters
def test_sections() -> None:
    rows = read_ref("hs_sections.csv")
    assert [r["hs_section"] for r in rows] == ROMAN
    assert [r["section_number"] for r in rows] == [str(i) for i in range(1, 22)]
    assert [r["section"] for r in read_src("codes/sections.csv")] == ROMAN
    assert all(r["section_name"].strip() for r in rows)
    by = {r["hs_section"]: r["section_name"] for r in rows}
    assert by["XVII"] == "Vehicles, aircraft, vessels and associated transport equipment"


def test_chapters_map_to_sections_as_in_the_nomenclature() -> None:
    ours = {r["hs_chapter"]: r for r in read_ref("hs_chapters.csv")}
    source = {r["hscode"]: r["section"] for r in read_src("codes/harmonized-system.csv")
              if r["level"] == "2" and r["section"] != "TOTAL"}
    assert len(source) == 96
    for chapter, section in source.items():
        assert ours[chapter]["hs_section"] == section, chapter
    assert set(ours) - set(source) <= {"77"}
    if "77" in ours:
        assert ours["77"]["hs_section"] == "XV" and "reserved" in ours["77"]["chapter_name"].lower()
    assert all(ours[c]["hs_section"] in ROMAN and ours[c]["chapter_name"] for c in ours)


# ------------------------------------------------------------------ sectors
def sector_tables() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """(sectors by code, {level: {prefix: sector_code}})"""
    sectors = {r["sector_code"]: r for r in read_ref("sectors.csv")}
    by_level: dict[str, dict[str, str]] = defaultdict(dict)
    for r in read_ref("sector_map.csv"):
        level = sectors[r["sector_code"]]["sector_level"]
        assert r["hs_prefix"] not in by_level[level], f"duplicate {level} prefix {r['hs_prefix']}"
        by_level[level][r["hs_prefix"]] = r["sector_code"]
    return sectors, by_level


def longest(prefixes: dict[str, str], code: str) -> str | None:
    for n in range(len(code), 1, -1):
        if code[:n] in prefixes:
            return prefixes[code[:n]]
    return None


def hs9_codes() -> set[str]:
    codes: set[str] = set()
    for year in (2024, 2025):
        rows = read_src(f"codes/hs9_master_{year}_ja.csv")  # csv handles cells spanning lines
        assert len(rows) > 6000
        codes |= {r["HSコード"].strip() for r in rows}
    assert all(re.fullmatch(r"\d{9}", c) for c in codes)
    return codes


def test_sectors_table() -> None:
    sectors = {r["sector_code"]: r for r in read_ref("sectors.csv")}
    top = {c: r for c, r in sectors.items() if r["sector_level"] == "top"}
    assert {c: r["sector_name"] for c, r in top.items()} == TOP_SECTORS
    assert all(r["parent_sector_code"] == "" for r in top.values())
    highlight = {c: r for c, r in sectors.items() if r["sector_level"] == "highlight"}
    assert {c: r["parent_sector_code"] for c, r in highlight.items()} == HIGHLIGHT_PARENTS
    orders = [int(r["sort_order"]) for r in sectors.values()]
    assert len(set(orders)) == len(orders)


def test_sector_map_rows() -> None:
    sectors, by_level = sector_tables()
    assert set(by_level) == {"top", "highlight"}
    for r in read_ref("sector_map.csv"):
        assert re.fullmatch(r"\d{2,9}", r["hs_prefix"]), r
        assert r["sector_code"] in sectors, r
        assert r["note"].strip(), r
    # every 2-digit chapter 00-99 has a top-level row: no code can be unmapped
    assert {f"{i:02d}" for i in range(100)} <= set(by_level["top"])


def test_every_hs9_code_has_one_top_group_and_a_consistent_highlight() -> None:
    sectors, by_level = sector_tables()
    counts: dict[str, int] = defaultdict(int)
    for code in sorted(hs9_codes()):
        top = longest(by_level["top"], code)
        assert top is not None and sectors[top]["sector_level"] == "top", code
        counts[top] += 1
        hl = longest(by_level["highlight"], code)
        if hl is not None:
            assert sectors[hl]["parent_sector_code"] == top, (code, hl, top)
            counts[hl] += 1
    assert set(counts) == set(TOP_SECTORS) | set(HIGHLIGHT_PARENTS), "every group is used"


@pytest.mark.parametrize(("code", "top", "highlight"), [
    ("270900100", "mineral_fuels", "crude_oil"),
    ("271111000", "mineral_fuels", "lng"),
    ("271112000", "mineral_fuels", None),
    ("870323915", "transport_equipment", "motor_vehicles"),
    ("870421000", "transport_equipment", "motor_vehicles"),
    ("870899000", "transport_equipment", "motor_vehicle_parts"),
    ("870192000", "machinery", None),
    ("854231000", "electrical_machinery", "semiconductors_electronic_parts"),
    ("848620000", "machinery", "semiconductor_manufacturing_equipment"),
    ("300490000", "chemicals", "pharmaceuticals"),
    ("847130000", "machinery", None),
    ("840734000", "machinery", None),
    ("903082000", "electrical_machinery", None),
    ("900190000", "others", None),
    ("610910000", "others", None),
    ("720851000", "manufactured_goods", None),
    ("720410000", "raw_materials", None),
    ("260111000", "raw_materials", None),
    ("120190000", "raw_materials", None),
    ("100630000", "foodstuff", None),
    ("220830000", "foodstuff", None),
    ("390110000", "chemicals", None),
    ("400110000", "raw_materials", None),
    ("401110000", "manufactured_goods", None),
    ("710812000", "others", None),
    ("890190000", "transport_equipment", None),
    ("880240000", "transport_equipment", None),
])
def test_sector_examples(code: str, top: str, highlight: str | None) -> None:
    _, by_level = sector_tables()
    assert longest(by_level["top"], code) == top
    assert longest(by_level["highlight"], code) == highlight


# ------------------------------------------------------------------ exchange rates
def test_fx_monthly_matches_fred() -> None:
    ours = {r["month"]: r["jpy_per_usd"] for r in read_ref("fx_monthly.csv")}
    assert all(re.fullmatch(r"\d+\.\d{4}", v) for v in ours.values())
    months = sorted(ours)
    assert months[0] == "2000-01" and months[-1] == "2026-05"
    y, m = 2000, 1
    for month in months:  # consecutive, no gaps
        assert month == f"{y}-{m:02d}"
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    fred = {r["observation_date"][:7]: r["EXJPUS"]
            for r in read_src("fx/FRED_EXJPUS_monthly_1971_2025-04.csv")}
    overlap = [mo for mo in fred if mo >= "2000-01"]
    assert len(overlap) == 304
    for month in overlap:
        assert Decimal(ours[month]) == q4(Decimal(fred[month])), month
    for r in read_src("fx/usdjpy_monthly_avg_2023_2025.csv"):
        assert Decimal(ours[r["month"]]) == q4(Decimal(r["jpy_per_usd_avg_from_DEXJPUS_daily"]))


def test_fx_monthly_after_2025_are_means_of_the_daily_series() -> None:
    ours = {r["month"]: Decimal(r["jpy_per_usd"]) for r in read_ref("fx_monthly.csv")}
    by_month: dict[str, list[Decimal]] = defaultdict(list)
    for r in read_src("fx/FRED_DEXJPUS_daily_2018_2026-05.csv"):
        if r["DEXJPUS"].strip():
            by_month[r["DATE"][:7]].append(Decimal(r["DEXJPUS"]))
    for month in [m for m in ours if m >= "2023-01"]:
        vals = by_month[month]
        assert ours[month] == q4(sum(vals) / len(vals)), month


def test_fx_daily_matches_fred() -> None:
    ours = {r["date"]: Decimal(r["jpy_per_usd"]) for r in read_ref("fx_daily.csv")}
    source = {r["DATE"]: Decimal(r["DEXJPUS"])
              for r in read_src("fx/FRED_DEXJPUS_daily_2018_2026-05.csv") if r["DEXJPUS"].strip()}
    assert ours == source
    assert list(ours) == sorted(ours)
    assert ours["2025-04-17"] == Decimal("142.33")


def test_fy2024_us_surplus_in_dollars() -> None:
    """¥9.0053 tn is $63 bn at the release-day rate (as reported), ~$59 bn at FY monthly rates."""
    daily = {r["date"]: Decimal(r["jpy_per_usd"]) for r in read_ref("fx_daily.csv")}
    monthly = {r["month"]: Decimal(r["jpy_per_usd"]) for r in read_ref("fx_monthly.csv")}
    surplus_yen = Decimal("9.0053e12")
    assert round(surplus_yen / daily["2025-04-17"] / Decimal("1e9"), 1) == Decimal("63.3")
    fy = [f"2024-{m:02d}" for m in range(4, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]
    avg = sum(monthly[m] for m in fy) / 12
    assert abs(surplus_yen / avg / Decimal("1e9") - 59) < 1


# ------------------------------------------------------------------ official totals
def test_official_totals_are_the_ministrys_grand_totals(tmp_path) -> None:
    """Every Grand Total row of trade_year.csv, in exact thousand yen, and nothing else; the
    generator (python -m trade_etl.ingest.official) writes the shipped file byte for byte."""
    from trade_etl.ingest import official

    source = {(r["ex_im"], r["area"], int(float(r["year"]))): Decimal(r["value"])
              for r in read_src("real/trade_year.csv") if r["goods"] == "Grand Total"}
    ours = read_ref("official_totals.csv")
    assert len(ours) == len(source)
    codes = {r["country_code"] for r in read_ref("countries.csv")}
    for r in ours:
        key = ({1: "export", 2: "import"}[int(r["flow"])], r["source_area"], int(r["year"]))
        billions = source[key]
        assert int(r["value_thousand_jpy"]) == int((billions * 1_000_000).quantize(Decimal(1)))
        assert abs(Decimal(r["value_thousand_jpy"]) / 1_000_000 - billions) < Decimal("1e-6")
        kind = r["partner_kind"]
        assert (kind == "world") == (r["partner_code"] == "") == (r["source_area"] ==
                                                                  "Grand Total")
        assert kind != "country" or r["partner_code"] in codes
        assert r["months"] == ("3" if r["year"] == "2026" else "12")
    # The partners sum to at most the world (the table names the largest partners only).
    world = {(r["flow"], r["year"]): int(r["value_thousand_jpy"]) for r in ours
             if r["partner_kind"] == "world"}
    named = defaultdict(int)
    for r in ours:
        if r["partner_kind"] == "country":
            named[(r["flow"], r["year"])] += int(r["value_thousand_jpy"])
    assert all(0 < named[k] <= world[k] for k in world)
    out = tmp_path / "official_totals.csv"
    official.write(SRC / "real" / "trade_year.csv", out)
    assert out.read_bytes() == (REF / "official_totals.csv").read_bytes()
