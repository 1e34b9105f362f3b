"""The commodity dictionary (trade_etl/ingest/commodities.py, data/ref/hs_*.csv, units.csv), the
marts by named HS heading and subheading, audit.unknown_codes and `trade-etl codes`, on the
sample warehouse and against the public source files in ../shared/reference/codes."""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, SHARED_REFERENCE, query
from trade_etl.app import cli
from trade_etl.formats import schema
from trade_etl.ingest import commodities
from trade_etl.serve.brief import BriefError
from trade_etl.serve.codes import resolve_commodity

CODES = SHARED_REFERENCE / "codes"
HS9_LISTS = CODES / "hs9_export_codes_2010_2025_ja.csv.gz"
REF = REPO / "data" / "ref"
needs_sources = pytest.mark.skipif(not HS9_LISTS.exists(),
                                   reason="../shared/reference is not beside the project")


def list_rows() -> list[dict[str, str]]:
    """The yearly export code lists, as the source file has them."""
    with gzip.open(HS9_LISTS, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def unit_as_listed(text: str) -> str:
    """`KG （I.I.）` -> `KG (I.I.)`, written independently of the generator."""
    return re.sub(r"\s*\(", " (", " ".join(unicodedata.normalize("NFKC", text).split()))


@pytest.fixture
def conn(sample_warehouse: Path):
    """A read-only connection for one test (the `codes` command opens its own, with another
    configuration, which DuckDB refuses while this one is open)."""
    connection = duckdb.connect(str(sample_warehouse), read_only=True)
    yield connection
    connection.close()


# ---- the dictionary against its sources --------------------------------------------------------

@needs_sources
def test_generator_writes_the_shipped_files(tmp_path):
    assert commodities.main([str(CODES), "--out", str(tmp_path)]) == 0
    for table in commodities.OUTPUTS:
        assert (tmp_path / f"{table}.csv").read_bytes() == (REF / f"{table}.csv").read_bytes(), \
            f"data/ref/{table}.csv is not what python -m trade_etl.ingest.commodities writes"


def test_shipped_files_follow_the_conventions():
    for table, columns in commodities.OUTPUTS.items():
        raw = (REF / f"{table}.csv").read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
        assert len(raw) < 1_500_000, f"{table}.csv is {len(raw):,} bytes"
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
        assert rows[0] == columns and len(rows) > 1
        assert all(len(r) == len(columns) for r in rows), table


@needs_sources
def test_every_code_matches_its_latest_list():
    """Each code of ref.hs9_codes has the years of the lists holding it, and the unit and
    description of the latest of them (every row of the source checked)."""
    years: dict[str, set[int]] = defaultdict(set)
    latest: dict[str, dict] = {}
    for row in list_rows():
        code = row["hs_code"]
        if not re.fullmatch(r"\d{9}", code):
            continue
        years[code].add(int(row["year"]))
        if code not in latest or int(row["year"]) > int(latest[code]["year"]):
            latest[code] = row
    with open(REF / "hs9_codes.csv", encoding="utf-8", newline="") as handle:
        shipped = {r["hs_code"]: r for r in csv.DictReader(handle)}
    assert set(shipped) == set(latest)
    for code, row in shipped.items():
        assert row["flow"] == "export"
        assert (int(row["first_year"]), int(row["last_year"])) == (min(years[code]),
                                                                   max(years[code]))
        spans = [tuple(map(int, (s.split("-") * 2)[:2])) for s in row["years_listed"].split()]
        assert {y for a, b in spans for y in range(a, b + 1)} == years[code], code
        assert row["unit2"] == unit_as_listed(latest[code]["unit2"]), code
        assert row["description_ja"] == " ".join(latest[code]["description_ja"].split()), code


@needs_sources
def test_headings_and_subheadings_are_the_hs2022_ones():
    with open(CODES / "harmonized-system.csv", encoding="utf-8", newline="") as handle:
        source = {r["hscode"]: r for r in csv.DictReader(handle) if r["level"] in ("4", "6")}
    for table, key, name in (("hs_headings", "hs_heading", "heading_name"),
                             ("hs_subheadings", "hs_subheading", "subheading_name")):
        with open(REF / f"{table}.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        current = [r for r in rows if r["hs_edition"] == "HS2022"]
        codes = {r[key] for r in current}
        assert codes == {c for c in source if len(c) == len(next(iter(codes)))}
        for r in current:
            assert r[name] == " ".join(source[r[key]]["description"].split())
        # subheadings of the code lists HS 2022 no longer has: named after their successors
        for r in rows:
            if r not in current:
                assert table == "hs_subheadings" and r[key] not in source
                assert r[name].startswith("Not in HS 2022 (last listed ")
                assert r["hs_edition"] in ("HS2007", "HS2012", "HS2017")
    with open(REF / "hs_headings.csv", encoding="utf-8", newline="") as handle:
        cars = next(r for r in csv.DictReader(handle) if r["hs_heading"] == "8703")
    assert cars["heading_name"].startswith("Motor cars and other motor vehicles")
    assert cars["heading_name_ja"].startswith("乗用自動車その他の自動車")


@needs_sources
def test_the_unit_glossary_covers_the_lists_and_the_sample(conn):
    glossary = {code: (en, ja) for code, en, ja in conn.execute(
        "select unit_code, unit_name, unit_name_ja from ref.units").fetchall()}
    in_lists = {unit_as_listed(r["unit2"]) for r in list_rows()}
    in_sample = {u for (u,) in conn.execute(
        "select distinct trim(unit) from (select unit1 as unit from core.trade_facts union all "
        "select unit2 from core.trade_facts) where trim(unit) <> ''").fetchall()}
    assert in_lists - set(glossary) == set()
    assert in_sample - set(glossary) == set()
    assert {"KL", "DZ", "NO", "ST", "GT"} <= in_sample | in_lists
    assert all(en and ja for en, ja in glossary.values())
    assert glossary["ST"][0] == "set" and glossary["KG (I.I.)"][1] == "キログラム（内装とも）"


def test_a_list_unit_without_a_meaning_is_refused_naming_the_line(tmp_path, capsys):
    (tmp_path / commodities.HS_FILE).write_text(
        "section,hscode,description,parent,level\nXVII,87,Vehicles,TOTAL,2\n"
        "XVII,8703,Motor cars,87,4\nXVII,870323,\"Vehicles; 1500-3000cc\",8703,6\n",
        encoding="utf-8")
    lines = ["year,hs_code,section,chapter,unit2,heading_ja,description_ja",
             "2024,870323915,17,87,NO,乗用自動車,－ その他のもの",
             "2025,870323915,17,87,QQ,乗用自動車,－ その他のもの"]
    with gzip.open(tmp_path / commodities.HS9_FILE, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    assert commodities.main([str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert commodities.HS9_FILE in err and "line 3" in err and "'QQ'" in err
    assert not list(out.iterdir())  # nothing written
    # with a known unit it writes the four files, the code named after its subheading
    with gzip.open(tmp_path / commodities.HS9_FILE, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines[:2] + ["2025,870323915,17,87,ST,乗用自動車,－ 組"]) + "\n")
    assert commodities.main([str(tmp_path), "--out", str(out)]) == 0
    codes = (out / "hs9_codes.csv").read_text(encoding="utf-8").splitlines()
    assert codes[1] == "870323915,export,2024,2025,ST,－ 組,2024-2025"


# ---- the built warehouse -----------------------------------------------------------------------

def test_every_heading_and_subheading_of_the_facts_has_a_name(conn):
    unnamed = conn.execute(
        "select distinct hs_code from core.trade_facts as facts "
        "where not contains(hs_code, 'X') and (left(hs_code, 4) not in "
        "(select hs_heading from ref.hs_headings where heading_name <> '') "
        "or left(hs_code, 6) not in "
        "(select hs_subheading from ref.hs_subheadings where subheading_name <> ''))"
    ).fetchall()
    assert unnamed == []
    for table, name in (("marts.trade_by_hs_heading", "heading_name"),
                        ("marts.trade_by_hs_subheading", "subheading_name"),
                        ("marts.trade_by_hs_subheading", "heading_name"),
                        ("marts.quantity_by_hs_subheading", "subheading_name"),
                        ("marts.quantity_by_hs_code", "hs_code_name")):
        missing = conn.execute(f"select count(*) from {table} where {name} is null "
                               "and period_type = 'calendar_year'").fetchall()[0][0]
        assert missing == 0, (table, name)
    # confidential codes are named after what they keep
    names = dict(conn.execute(
        "select distinct hs_heading, heading_name from marts.trade_by_hs_heading "
        "where contains(hs_heading, 'X')").fetchall())
    assert names and all(n.startswith(f"confidential code within chapter {h[:2]}: ")
                         for h, n in names.items())


@needs_sources
def test_nine_digit_names_match_the_years_list(conn):
    lists = {(int(r["year"]), r["hs_code"]): r for r in list_rows()}
    latest = {}
    for (_year, code), r in sorted(lists.items()):
        latest[code] = r
    rows = conn.execute(
        "select distinct period, flow, hs_code, hs_code_name, description_ja "
        "from marts.quantity_by_hs_code where period_type = 'calendar_year' "
        "and not contains(hs_code, 'X')").fetchall()
    subheadings = dict(conn.execute(
        "select hs_subheading, subheading_name from ref.hs_subheadings").fetchall())
    checked = same_wording = 0
    for period, flow, code, name, description in rows:
        year = int(period.removeprefix("CY"))
        if flow == "import":  # import codes are in no open list
            assert description is None and name == f"{subheadings[code[:6]]} " \
                "(national subdivision)"
            continue
        if (year, code) in lists:  # in the year's list: its latest wording
            # a heading without subdivisions (051000000) has no description of its own
            description = description or ""
            assert description == " ".join(latest[code]["description_ja"].split()), code
            assert name == subheadings[code[:6]]
            same_wording += " ".join(lists[(year, code)]["description_ja"].split()) == description
            checked += 1
        else:  # not in the year's list (audit.unknown_codes): named as a national subdivision
            assert name.endswith("(national subdivision)") or code in latest
    assert checked > 1000 and same_wording / checked > 0.95
    car = conn.execute("select description_ja, unit2, subheading_name, years_listed "
                       "from ref.hs9_codes where hs_code = '870323915'").fetchall()[0]
    assert car[0].endswith("中古のもの") and car[1] == "NO"
    assert car[2].startswith("Vehicles; with only spark-ignition") and car[3] == "2010-2025"


def test_heading_and_subheading_marts_add_up_to_the_total(conn):
    for table in ("marts.trade_by_hs_heading", "marts.trade_by_hs_subheading"):
        diffs = conn.execute(
            f"with parts as (select period_type, period, "
            f"sum(value_jpy) filter (where flow = 'export') as exports_jpy, "
            f"sum(value_jpy) filter (where flow = 'import') as imports_jpy "
            f"from {table} group by all) "
            "select count(*), count(*) filter (where total.exports_jpy is distinct from "
            "parts.exports_jpy or total.imports_jpy is distinct from parts.imports_jpy) "
            "from marts.balance_total as total full join parts using (period_type, period)"
        ).fetchall()[0]
        assert diffs[0] > 50 and diffs[1] == 0, table
        # and to the 9-digit latest figures, by period, flow, partner and units
        level = 4 if "heading" in table and "sub" not in table else 6
        code = "hs_heading" if level == 4 else "hs_subheading"
        mismatched = conn.execute(
            f"with nine as (select period_type, period, flow, left(hs_code, {level}) as code, "
            "partner_code, unit1, unit2, sum(value_jpy) as value_jpy, "
            "sum(quantity2) as quantity2 from marts.quantity_by_hs_code group by all) "
            f"select count(*) from nine full join {table} as mart "
            f"on nine.code = mart.{code} and nine.period_type = mart.period_type "
            "and nine.period = mart.period and nine.flow = mart.flow "
            "and nine.partner_code = mart.partner_code "
            "and nine.unit1 is not distinct from mart.unit1 "
            "and nine.unit2 is not distinct from mart.unit2 "
            "where nine.value_jpy is distinct from mart.value_jpy "
            "or nine.quantity2 is distinct from mart.quantity2").fetchall()[0][0]
        assert mismatched == 0, table
    # dollars: each month at its rate, so the fiscal year's dollars are the months'
    usd = conn.execute(
        "select round(sum(value_usd) filter (where period_type = 'fiscal_year'), 2), "
        "round(sum(value_usd) filter (where period_type = 'month' and period between "
        "'2024-04' and '2025-03'), 2) from marts.trade_by_hs_heading "
        "where period = 'FY2024' or period between '2024-04' and '2025-03'").fetchall()[0]
    assert usd[0] == pytest.approx(usd[1], abs=1.0) and usd[0] > 0


def test_as_of_macros_give_the_figures_first_published(conn):
    day = "DATE '2025-04-17'"
    for macro in ("marts.trade_by_hs_heading_as_of", "marts.trade_by_hs_subheading_as_of"):
        mismatched = conn.execute(
            f"with parts as (select period_type, period, "
            f"coalesce(sum(value_jpy) filter (where flow = 'export'), 0) as exports_jpy, "
            f"coalesce(sum(value_jpy) filter (where flow = 'import'), 0) as imports_jpy "
            f"from {macro}({day}) group by all) "
            f"select count(*) from marts.balance_total_as_of({day}) as total "
            "full join parts using (period_type, period) "
            "where total.exports_jpy is distinct from parts.exports_jpy "
            "or total.imports_jpy is distinct from parts.imports_jpy").fetchall()[0][0]
        assert mismatched == 0, macro
    first = conn.execute(
        f"select sum(value_jpy) from marts.trade_by_hs_heading_as_of({day}) "
        "where period = 'FY2024' and flow = 'export'").fetchall()[0][0]
    assert first == 108_934_500_000_000  # the published headline (README)
    revised = conn.execute(
        f"with first as (select period, hs_heading, sum(value_jpy) as value_jpy "
        f"from marts.trade_by_hs_heading_as_of({day}) group by all), "
        "latest as (select period, hs_heading, sum(value_jpy) as value_jpy "
        "from marts.trade_by_hs_heading group by all) "
        "select count(*) from first inner join latest using (period, hs_heading) "
        "where first.value_jpy <> latest.value_jpy").fetchall()[0][0]
    assert revised > 0  # later releases revised them
    latest_macro = conn.execute(
        "select count(*) from (select * from marts.trade_by_hs_subheading_as_of("
        "DATE '9999-12-31') except all select * from marts.trade_by_hs_subheading)"
    ).fetchall()[0][0]
    assert latest_macro == 0


@needs_sources
def test_unknown_codes_are_listed(conn):
    rows = conn.execute("select flow, year, hs_code, first_month, last_month, value_jpy, "
                        "first_year, last_year from audit.unknown_codes").fetchall()
    listed = {(int(r["year"]), r["hs_code"]) for r in list_rows()}
    assert rows, "the sample uses the 2024 list for 2023 and 2025 too"
    # The sample's codes are the 2024 list's, but for the code changes it stages (a January
    # split, 9030.82 until 2024, and an edition change, HS 2017's 8517.12 in 2023: see
    # trade_etl/sample/plan.py), real codes moved to the sample's years: in 2024 only those.
    assert {r[1] for r in rows} <= {2023, 2024, 2025}
    assert {r[2][:6] for r in rows if r[1] == 2024} == {"903082"}
    for flow, year, code, first, last, value, first_year, last_year in rows:
        assert flow == "export" and (year, code) not in listed
        assert first.startswith(f"{year}-") and first <= last and value > 0
        assert first_year is None or not first_year <= year <= last_year or \
            (year, code) not in listed
    # every export code of the figures not in its year's list is there
    seen = conn.execute("select distinct year, hs_code from core.trade_latest "
                        "where flow = 1 and not contains(hs_code, 'X')").fetchall()
    expected = {(y, c) for y, c in seen if (y, c) not in listed}
    assert {(r[1], r[2]) for r in rows} == expected


def test_the_unknown_codes_check_warns_and_never_blocks():
    import dagster as dg

    from trade_etl.definitions import defs

    graph = defs.resolve_asset_graph()
    key = dg.AssetCheckKey(dg.AssetKey(["audit", "unknown_codes"]), "export_codes_in_the_lists")
    assert not graph.get_check_spec(key).blocking
    # The HS-level marts are views computed when read: no build step computes them, so their
    # reconciliation with the total is the test above, not a check at every build.
    for level in ("trade_by_hs_heading", "trade_by_hs_subheading"):
        assert schema.kind(f"marts.{level}") == "view" and not schema.in_lake(f"marts.{level}")
        assert not [k for k in graph.asset_check_keys
                    if k.asset_key == dg.AssetKey(["marts", level])]


# ---- trade-etl codes ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["motor cars", "乗用自動車", "8703"])
def test_codes_finds_cars(sample_warehouse, capsys, text):
    assert cli.main(["codes", text, "--warehouse", str(sample_warehouse)]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("8703 "))
    assert "heading" in line and "2010-2025" in line and "NO,ST" in line
    assert "Motor cars and other motor vehicles" in line and "乗用自動車その他の自動車" in line
    assert "units: " in out and "NO number" in out and "ST set" in out


def test_codes_shows_nine_digit_codes_with_their_parent(sample_warehouse, capsys):
    assert cli.main(["codes", "870323915", "--warehouse", str(sample_warehouse)]) == 0
    out = capsys.readouterr().out.splitlines()
    line = next(line for line in out if line.startswith("870323915"))
    assert "2010-2025" in line and " NO " in line and "中古のもの" in line
    assert "870323: Vehicles; with only spark-ignition" in line
    assert cli.main(["codes", "8703", "--digits", "4", "--year", "2012",
                     "--warehouse", str(sample_warehouse)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[1:-2]] == ["8703"]
    assert cli.main(["codes", "8524", "--year", "2015",
                     "--warehouse", str(sample_warehouse)]) == 2  # flat panels: HS 2022
    assert "8524 (2022-2025)" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "hint"), [("motr cars", "did you mean 'motor cars'?"),
                                            ("8799", "closest codes: 8716"),
                                            ("xyzzyq", "try fewer words")])
def test_codes_without_a_match_exits_2_with_one_line(sample_warehouse, capsys, text, hint):
    assert cli.main(["codes", text, "--warehouse", str(sample_warehouse)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no commodity matches")
    assert hint in lines[0]


def test_codes_names_unlisted_codes_and_escapes_control_characters(tmp_path, sample_warehouse,
                                                                   capsys):
    """An import code (in no open list) and an export code its lists lack are national
    subdivisions of their subheading; names from the data are shown escaped."""
    copy = tmp_path / "trade.duckdb"
    copy.write_bytes(sample_warehouse.read_bytes())
    writable = duckdb.connect(str(copy))
    writable.execute("update ref.hs_headings set heading_name = 'Motor cars \x1b[31mred' "
                     "where hs_heading = '8703'")
    writable.execute("insert into core.trade_latest (flow, year, month, hs_code, country_code, "
                     "unit1, unit2, quantity1, quantity2, value_thousand_jpy, release_id) values "
                     "(2, 2024, 5, '870323990', '304', '', 'NO', 0, 3, 9000, 'x'), "
                     "(1, 2025, 6, '870323998', '304', '', 'NO', 0, 1, 3000, 'x')")
    writable.close()
    assert cli.main(["codes", "8703", "--digits", "4", "--warehouse", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "Motor cars \\x1b[31mred" in out
    assert cli.main(["codes", "87032399", "--warehouse", str(copy)]) == 0
    lines = capsys.readouterr().out.splitlines()
    imported = next(line for line in lines if line.startswith("870323990"))
    unlisted = next(line for line in lines if line.startswith("870323998"))
    assert "import code" in imported and " 2024 " in imported and "NO" in imported
    assert "export code not in the lists" in unlisted and " 2025 " in unlisted
    for line in (imported, unlisted):
        assert line.endswith("cylinder capacity over 1500 but not over 3000cc "
                             "(national subdivision)")
    conn = duckdb.connect(str(copy), read_only=True)
    try:
        code, name = resolve_commodity(conn, "870323990")
    finally:
        conn.close()
    assert code == "870323990" and name.endswith("(national subdivision)")


def test_resolve_commodity(conn):
    assert resolve_commodity(conn, "8703")[0] == "8703"
    assert resolve_commodity(conn, "motor cars") == resolve_commodity(conn, "8703")
    assert resolve_commodity(conn, "乗用自動車")[0] == "8703"
    assert resolve_commodity(conn, "8703.23")[0] == "870323"
    code, name = resolve_commodity(conn, "870323915")
    assert code == "870323915" and name.startswith("Vehicles; with only spark-ignition")
    with pytest.raises(BriefError, match=r"'cars' matches \d+ headings: .*8703 Motor cars"):
        resolve_commodity(conn, "cars")
    with pytest.raises(BriefError, match="give a heading"):
        resolve_commodity(conn, "87")
    with pytest.raises(BriefError, match="no commodity has the code 8799; closest codes"):
        resolve_commodity(conn, "8799")


def test_contract_still_holds(sample_warehouse):
    """The quantity views gained columns at the end only; the public contract holds."""
    contract = REPO.parent / "shared" / "contract" / "check_contract.py"
    if not contract.exists():
        pytest.skip("../shared/contract is not beside the project")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(contract), str(sample_warehouse)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    columns = [c for (c,) in query(sample_warehouse, "select column_name from duckdb_columns() "
                                   "where table_name = 'quantity_by_hs_code' "
                                   "order by column_index")]
    assert columns[:17] == ["period_type", "period", "period_start", "period_end",
                            "months_reported", "flow", "hs_code", "partner_code", "partner_name",
                            "partner_iso3", "unit1", "quantity1", "unit2", "quantity2",
                            "value_jpy", "jpy_per_unit1", "jpy_per_unit2"]
    assert columns[17:] == ["hs_code_name", "description_ja"]


def test_codes_shows_the_family_a_code_belongs_to(sample_warehouse, capsys):
    """The sample's staged edition change: 8517.12 (HS 2017) became 8517.13/.14 (HS 2022)."""
    assert cli.main(["codes", "8517", "--digits", "9", "--warehouse",
                     str(sample_warehouse)]) == 0
    out = capsys.readouterr().out
    families = out.split("families:\n", 1)[1]
    line = next(line for line in families.splitlines() if "851713000 in " in line)
    assert "hs9 family 851713000" in line
    assert "hs6 family 851712, 851713, 851714 (3 codes), comparable since 2022" in line


def test_codes_takes_a_partner_as_brief_does(sample_warehouse, capsys):
    """`codes --partner US` adds each code's trade with the United States in the latest full
    year, summed from the 9-digit latest figures; an unknown partner is exit 2 with a
    suggestion, as in `brief`."""
    from trade_etl.serve.codes import _yen

    conn = duckdb.connect(str(sample_warehouse), read_only=True)  # closed before the CLI's
    year = conn.execute("select max(year) from (select year from core.trade_latest "
                        "group by year having count(distinct month) = 12)").fetchall()[0][0]
    exports, imports = conn.execute(
        "select sum(value_thousand_jpy) filter (where flow = 1) * 1000, "
        "sum(value_thousand_jpy) filter (where flow = 2) * 1000 from core.trade_latest "
        "where country_code = '304' and year = ? and starts_with(hs_code, '8703')",
        [year]).fetchall()[0]
    conn.close()
    assert cli.main(["codes", "8703", "--digits", "4", "--partner", "US", "--warehouse",
                     str(sample_warehouse)]) == 0
    out = capsys.readouterr().out
    assert f"{year} exports / imports, United States of America" in out.splitlines()[0]
    line = next(line for line in out.splitlines() if line.startswith("8703 "))
    assert f"{_yen(int(exports))} / {_yen(int(imports))}" in line
    assert cli.main(["codes", "8703", "--partner", "Narnia", "--warehouse",
                     str(sample_warehouse)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no partner matches 'Narnia'") and len(err.splitlines()) == 1
