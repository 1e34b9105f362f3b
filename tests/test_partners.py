"""`--partner` as people name it (trade_etl/serve/partners.py), and groups as partners composed
month by month: the EU of 2019 holds the United Kingdom, the EU of 2021 does not, and every
month's EU is the sum of that month's members. Real builds of small releases, no mocks."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, build, csv_text, query, row, write_release
from trade_etl.app import cli
from trade_etl.serve import brief, partners
from trade_etl.serve.brief import yen
from trade_etl.serve.errors import BriefError, LookupFailed

UK, FR, DE, AT, US, RU = "205", "210", "213", "225", "304", "224"
CAR, PARTS, CRUDE = "870323915", "870899000", "270900000"
# Exports of cars to each (thousand yen a month, around ¥50 bn for the UK), parts to Germany,
# crude oil imports from the UK and Russia: each country's values differ, so a sum tells who is in.
BASE = {UK: 50_000_000, FR: 30_000_000, DE: 70_000_000, AT: 3_000_000, US: 200_000_000,
        RU: 5_000_000}
YEARS = (2019, 2020, 2021, 2022)


def value(base: int, year: int, month: int) -> int:
    return base + 1000 * month + 100 * (year - 2019)


def year_file(year: int) -> str:
    months = range(1, 13)
    rows = [row(1, year, CAR, code, {m: value(base, year, m) for m in months})
            for code, base in BASE.items()]
    rows += [row(1, year, PARTS, DE, {m: value(9_000_000, year, m) for m in months}),
             row(2, year, CRUDE, UK, {m: value(20_000_000, year, m) for m in months}),
             row(2, year, CRUDE, RU, {m: value(8_000_000, year, m) for m in months})]
    return csv_text(rows)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("partners")
    raw = tmp / "raw"
    published = {2019: "2020-01-30", 2020: "2021-01-28", 2021: "2022-01-27", 2022: "2023-01-26"}
    for year in YEARS:
        write_release(raw, f"{published[year]}_preliminary", {f"y{year}.csv": year_file(year)})
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_ETL_FISCAL_START_MONTH", "4")
    try:
        assert build(raw, tmp / "wh.duckdb") == 0
    finally:
        mp.undo()
    return tmp / "wh.duckdb"


@pytest.fixture
def conn(warehouse):
    connection = duckdb.connect(str(warehouse), read_only=True)
    yield connection
    connection.close()


# ------------------------------------------------------------------ the forms people use
@pytest.mark.parametrize(("text", "kind", "code"), [
    *[(t, "country", US) for t in ("US", "us", "U.S.", "U.S.A.", "the US", "USA",
                                   "United States", "United States of America", "America",
                                   "304")],
    *[(t, "country", UK) for t in ("UK", "U.K.", "Britain", "Great Britain", "United Kingdom",
                                   "GB", "GBR", "205")],
    *[(t, "country", "103") for t in ("Korea", "South Korea", "Republic of Korea", "KR", "KOR",
                                      "ROK")],
    *[(t, "country", "104") for t in ("North Korea", "DPRK", "KP")],
    *[(t, "country", "106") for t in ("Taiwan", "TW", "Chinese Taipei", "Republic of China")],
    *[(t, "country", "108") for t in ("Hong Kong", "HK", "HKG", "hong kong")],
    *[(t, "country", "105") for t in ("China", "PRC", "People's Republic of China", "CN")],
    ("Guinea", "country", "513"),  # not Papua New Guinea, Equatorial Guinea, Guinea-Bissau
    ("Samoa", "country", "610"),  # not American Samoa
    ("Türkiye", "country", "234"), ("Turkiye", "country", "234"),
    ("Cote d'Ivoire", "country", "516"), ("Viet Nam", "country", "110"),
    ("Vietnam", "country", "110"), ("Guam", "country", "620"), ("St Lucia", "country", "330"),
    ("Emirates", "country", "147"),  # a word of the name, as nothing matches exactly
    *[(t, "group", "EU") for t in ("EU", "eu", "European Union")],
    ("ASEAN", "group", "ASEAN"),
    ("Asia", "area", "Asia"), ("Western Europe", "area", "Western Europe"),
    ("Central and Eastern Europe", "area", "Central and Eastern Europe/Russia"),
])
def test_each_form_names_one_partner(conn, text, kind, code):
    partner = partners.resolve(conn, text)
    assert (partner.kind, partner.code) == (kind, code)


def test_us_is_the_united_states_and_eu_the_group(conn):
    """The bugs of the substring lookup: `US` matched Russia and Austria (their names contain
    the letters), `EU` resolved to Ceuta and Melilla."""
    us = partners.resolve(conn, "US")
    assert (us.code, us.name, us.iso2, us.iso3) == (US, "United States of America", "US", "USA")
    eu = partners.resolve(conn, "EU")
    assert (eu.kind, eu.code, eu.name, eu.mart) == ("group", "EU", "European Union",
                                                     "balance_by_region")
    assert brief.resolve_partner(conn, "US") == (US, "United States of America", "USA")


def test_no_two_partners_share_an_exact_form(conn):
    index = partners.index(conn)
    shared = {form: keys for form, keys in index.exact.items() if len(keys) > 1}
    assert shared == {}


def test_aliases_point_at_partners_of_the_warehouse(conn):
    with (REPO / "data" / "ref" / "partner_aliases.csv").open(encoding="utf-8") as f:
        aliases = list(csv.DictReader(f))
    index = partners.index(conn)
    for alias in aliases:
        assert index.exact[partners.normalize(alias["alias"])] & {
            (kind, alias["partner_code"]) for kind in ("country", "group", "area")}, alias


@pytest.mark.parametrize(("text", "names"), [
    ("Congo", ["Republic of Congo (COG, 532)", "Democratic Republic of Congo (COD, 533)"]),
    ("Virgin Islands", ["US Virgin Islands (VIR, 325)", "British Virgin Islands (VGB, 332)"]),
    ("Europe", ["Western Europe (customs area)",
                "Central and Eastern Europe/Russia (customs area)"]),
])
def test_an_ambiguous_name_lists_the_candidates(conn, text, names):
    with pytest.raises(LookupFailed) as failed:
        partners.resolve(conn, text)
    message = str(failed.value)
    assert f"{text!r} matches several partners" in message and "\n" not in message
    assert all(name in message for name in names)
    assert failed.value.exit_code == 2 and isinstance(failed.value, BriefError)


@pytest.mark.parametrize(("text", "suggestion"), [
    ("Germny", "did you mean Germany (DEU, 213)?"),
    ("Autsria", "Austria (AUT, 225)"),
    ("Untied Kingdom", "United Kingdom (GBR, 205)"),
    ("Xq", "give an ISO code (US, USA)"),
    ("Japan", "is the reporter, not a partner"),
])
def test_an_unknown_name_suggests_the_closest(conn, text, suggestion):
    with pytest.raises(LookupFailed) as failed:
        partners.resolve(conn, text)
    assert str(failed.value).startswith(f"no partner matches {text!r}") or text == "Japan"
    assert suggestion in str(failed.value)


@pytest.mark.parametrize(("args", "message"), [
    (["--partner", "Congo"], "'Congo' matches several partners: Republic of Congo (COG, 532)"),
    (["--partner", "Germny"], "no partner matches 'Germny': did you mean Germany (DEU, 213)?"),
    (["--partner", ""], "--partner is empty"),
    (["--partner", "US", "--commodity", "cars"], "not an HS code of 2, 4, 6 or 9 digits"),
])
@pytest.mark.parametrize("command", ["brief", "report"])
def test_lookup_errors_exit_2_with_one_line(warehouse, tmp_path, capsys, monkeypatch, command,
                                            args, message):
    monkeypatch.setitem(__import__("sys").modules, "trade_etl.serve.codes", None)  # no dictionary
    out = tmp_path / "r.html"
    code = cli.main([command, "--warehouse", str(warehouse), "--fiscal-year", "2021", *args,
                     *(["--out", str(out)] if command == "report" else [])])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert not out.exists()


# ------------------------------------------------------------------ the EU month by month
def members(month: date) -> set[str]:
    """The EU's members in `month`, from data/ref/country_groups.csv (valid_from <= the month's
    first day <= valid_to), written here independently of the SQL."""
    with (REPO / "data" / "ref" / "country_groups.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["group_code"] == "EU"]
    return {r["country_code"] for r in rows if date.fromisoformat(r["valid_from"]) <= month
            and (not r["valid_to"] or month <= date.fromisoformat(r["valid_to"]))}


def partner_months(warehouse: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(partner_code, YYYY-MM) -> (exports, imports), from marts.balance_by_partner."""
    return {(p, m): (e, i) for p, m, e, i in query(
        warehouse, "select partner_code, period, exports_jpy, imports_jpy from "
                   "marts.balance_by_partner where period_type = 'month'")}


def eu_sum(by_partner: dict, months: list[str]) -> tuple[int, int]:
    exports = imports = 0
    for month in months:
        for code in members(date.fromisoformat(month + "-01")):
            e, i = by_partner.get((code, month), (0, 0))
            exports, imports = exports + e, imports + i
    return exports, imports


def fiscal_months(year: int) -> list[str]:
    return [f"{year + (m < 4)}-{m:02d}" for m in (*range(4, 13), 1, 2, 3)]


def test_the_uk_is_in_the_eu_through_january_2020():
    assert UK in members(date(2019, 12, 1)) and UK in members(date(2020, 1, 1))
    assert UK not in members(date(2020, 2, 1)) and UK not in members(date(2021, 6, 1))
    assert {FR, DE, AT} <= members(date(2021, 6, 1))


def test_eu_figures_are_its_members_month_by_month(warehouse, conn):
    by_partner = partner_months(warehouse)
    eu = {m: (e, i) for m, e, i in query(
        warehouse, "select period, exports_jpy, imports_jpy from marts.balance_by_region "
                   "where region = 'EU' and period_type = 'month'")}
    months = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
    assert sorted(eu) == months
    for month in months:
        assert eu[month] == eu_sum(by_partner, [month]), month
    # the UK's cars and crude oil are in the EU's January 2020, not in its February 2020
    uk_jan = by_partner[(UK, "2020-01")]
    assert eu["2020-01"][0] == sum(by_partner[(c, "2020-01")][0] for c in (UK, FR, DE, AT))
    assert eu["2020-01"][1] == uk_jan[1] > 0
    assert eu["2020-02"][1] == 0  # crude oil came from the UK and Russia only

    # The brief's EU: fiscal 2019 holds the UK's April 2019 - January 2020, fiscal 2021 none.
    for year, uk_months in ((2019, 10), (2021, 0)):
        exports, imports = eu_sum(by_partner, fiscal_months(year))
        uk = sum(by_partner[(UK, m)][0] for m in fiscal_months(year)
                 if UK in members(date.fromisoformat(m + "-01")))
        assert uk == (sum(value(BASE[UK], int(m[:4]), int(m[5:])) for m in fiscal_months(year)
                          [:uk_months]) * 1000)
        text = brief.write_brief(conn, year, "EU")
        assert "European Union (EU, members month by month):" in text
        assert f"exports {yen(exports)}" in text, (year, text)
        assert f"imports {yen(imports)}" in text
        if uk:
            assert f"exports {yen(exports - uk)}" not in text


def test_eu_sectors_and_vintages_sum_to_the_eu(warehouse, conn):
    from trade_etl.serve.report import vintages

    eu = partners.resolve(conn, "EU")
    for year in (2019, 2021):
        exports, imports = eu_sum(partner_months(warehouse), fiscal_months(year))
        rows = brief.partner_sector_rows(conn, year, brief.LATEST, eu)
        tops = [r for r in rows if r["sector_level"] == "top"]
        assert sum(r["exports_jpy"] for r in tops) == exports
        assert sum(r["imports_jpy"] for r in tops) == imports
        known = vintages(conn, year, brief.LATEST, eu)
        last = [r for r in known if r["trade_with"] == "European Union"][-1]
        assert (last["exports_jpy"], last["imports_jpy"]) == (exports, imports)


def test_areas_are_partners_too(warehouse, conn):
    text = brief.write_brief(conn, 2021, "Western Europe")
    by_partner = partner_months(warehouse)
    western = {UK, FR, DE, AT}  # of the countries traded with; Russia is in another area
    exports = sum(by_partner[(c, m)][0] for c in western for m in fiscal_months(2021))
    assert "Western Europe (customs area):" in text and f"exports {yen(exports)}" in text


def test_the_brief_names_the_partner_it_resolved(warehouse, capsys):
    assert cli.main(["brief", "--warehouse", str(warehouse), "--fiscal-year", "2021",
                     "--partner", "US"]) == 0
    out = capsys.readouterr().out
    assert "United States of America (USA):" in out
    assert "Russia" not in out and "Austria" not in out


def test_the_report_draws_the_eu_month_by_month(warehouse, tmp_path):
    """The report's monthly table (exact values in data-value) for the EU over fiscal 2019 -
    2021, across the UK's leaving: each month the sum of that month's members."""
    from tests.test_report import _Page

    out = tmp_path / "eu.html"
    assert cli.main(["report", "--warehouse", str(warehouse), "--fiscal-year", "2021",
                     "--partner", "EU", "--out", str(out)]) == 0
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    by_partner = partner_months(warehouse)
    rows = [r for r in page.tables["monthly"] if r["trade_with"] == "European Union"]
    months = [m for year in (2019, 2020, 2021) for m in fiscal_months(year)]
    assert [r["period"] for r in rows] == months
    for r in rows:
        assert (int(r["exports_jpy"]), int(r["imports_jpy"])) == eu_sum(by_partner,
                                                                        [r["period"]])
    exports, imports = eu_sum(by_partner, fiscal_months(2021))
    eu = [r for r in page.tables["currencies"] if r["trade_with"] == "EU"]
    assert int(eu[0]["balance_jpy"]) == exports - imports
    assert "European Union (EU, members month by month):" in page.brief
