"""Quantity marts: units in the grain (mixed units are never summed), unit values equal value /
quantity from the fact store, values reconcile with the balance marts, the per-release unit
check, as-of figures, and the brief's volume line."""

from __future__ import annotations

import pytest

from tests.conftest import build, csv_text, query, row, write_release
from trade_etl.app import cli

US, CN, SA = "304", "105", "137"
CAR, CAR_CN, PARTS = "870323915", "870380000", "870899000"
CHIP, CAPACITOR = "854231000", "853221000"
COMPUTER, COMPUTER_PARTS = "847130000", "847130100"  # one subheading, 847130
LNG, CRUDE = "271111000", "270900000"
FIXED_VALUE, FIXED_CARS = 7, 1  # the fixed release revises 2024 car exports to the US


def car_value(year: int, month: int, revised: bool = False) -> int:
    return 1000 + 10 * (year - 2022) + month + (FIXED_VALUE if revised else 0)


def car_count(year: int, month: int, revised: bool = False) -> int:
    return 3 + month + (year - 2023) + (FIXED_CARS if revised else 0)


def chip_value(year: int, month: int) -> int:
    return 300 + 5 * (year - 2022) + month


def lng_value(year: int, month: int) -> int:
    return 500 + month + (year - 2023)


def crude_value(year: int, month: int) -> int:
    return 800 + 2 * month + 3 * (year - 2023)


def year_file(year: int, months: range, revised: bool = False) -> str:
    """A year of trade; the computer's unit changes from NO to KG in January 2025."""
    def each(f):
        return {m: f(m) for m in months}

    computer_unit = "KG" if year >= 2025 else "NO"
    rows = [
        row(1, year, CAR, US, each(lambda m: car_value(year, m, revised)), unit2="NO",
            quantity2=each(lambda m: car_count(year, m, revised))),
        row(1, year, CAR_CN, CN, each(lambda m: 400 + m), unit2="NO", quantity2=each(lambda m: 2)),
        row(1, year, PARTS, US, each(lambda m: 150), quantity2=each(lambda m: 700)),
        row(1, year, CHIP, CN, each(lambda m: chip_value(year, m)), unit2="NO",
            quantity2=each(lambda m: 5 * chip_value(year, m))),
        row(1, year, CAPACITOR, CN, each(lambda m: 100), quantity2=each(lambda m: 40)),
        row(1, year, COMPUTER, US, each(lambda m: 200 + m), unit2=computer_unit,
            quantity2=each(lambda m: 900 if computer_unit == "KG" else 10)),
        row(1, year, COMPUTER_PARTS, US, each(lambda m: 50), unit2="NO",
            quantity2=each(lambda m: 4)),
        row(2, year, LNG, US, each(lambda m: lng_value(year, m)),
            quantity2=each(lambda m: 20 * lng_value(year, m))),
        row(2, year, CRUDE, SA, each(lambda m: crude_value(year, m)), unit1="KL",
            quantity1=each(lambda m: 2 * crude_value(year, m)),
            quantity2=each(lambda m: 1700 * crude_value(year, m))),
    ]
    return csv_text(rows)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quantities")
    raw = tmp / "raw"
    write_release(raw, "2024-01-25_preliminary", {"y2023.csv": year_file(2023, range(1, 13))})
    write_release(raw, "2025-01-23_preliminary", {"y2024.csv": year_file(2024, range(1, 13))})
    write_release(raw, "2025-04-17_preliminary", {"y2025.csv": year_file(2025, range(1, 4))})
    write_release(raw, "2025-11-28_fixed",
                  {"y2024.csv": year_file(2024, range(1, 13), revised=True)})
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_ETL_FISCAL_START_MONTH", "4")
    try:
        assert build(raw, tmp / "wh.duckdb") == 0
    finally:
        mp.undo()
    return tmp / "wh.duckdb"


FY2024 = [(2024, m) for m in range(4, 13)] + [(2025, m) for m in (1, 2, 3)]
FY2023 = [(2023, m) for m in range(4, 13)] + [(2024, m) for m in (1, 2, 3)]


def test_unit_value_equals_value_over_quantity_from_the_facts(warehouse):
    """The latest figures of each month straight from core.trade_facts (the latest release
    reporting the month wins), then value / quantity."""
    facts = query(warehouse, "select f.year, f.month, r.published_on, f.quantity2, "
                             "f.value_thousand_jpy from core.trade_facts f "
                             "join audit.releases r using (release_id, file_name) "
                             "where f.flow = 1 and f.hs_code = ? and f.country_code = ?",
                  [CAR, US])
    latest: dict[tuple[int, int], tuple] = {}
    for year, month, published, cars, value in facts:
        if (year, month) not in latest or published > latest[(year, month)][0]:
            latest[(year, month)] = (published, cars, value)
    cars = sum(latest[ym][1] for ym in FY2024)
    value = sum(latest[ym][2] for ym in FY2024) * 1000
    rows = query(warehouse, "select unit1, quantity1, unit2, quantity2, value_jpy, "
                            "jpy_per_unit1, jpy_per_unit2 from marts.quantity_by_hs_code "
                            "where period = 'FY2024' and flow = 'export' and hs_code = ? "
                            "and partner_code = ?", [CAR, US])
    assert rows == [(None, 0, "NO", cars, value, None, pytest.approx(value / cars, rel=1e-12))]
    # The revision reached the mart: the fixed release's cars and values, not the preliminary's.
    assert cars == sum(car_count(y, m, revised=y == 2024) for y, m in FY2024)
    # A month and a calendar year the same way.
    (month_rate,), = query(warehouse, "select jpy_per_unit2 from marts.quantity_by_hs_code "
                                      "where period = '2024-06' and hs_code = ?", [CAR])
    assert month_rate == pytest.approx(latest[(2024, 6)][2] * 1000 / latest[(2024, 6)][1])
    (year_rate,), = query(warehouse, "select jpy_per_unit2 from marts.quantity_by_hs_code "
                                     "where period = 'CY2024' and hs_code = ?", [CAR])
    assert year_rate == pytest.approx(
        sum(latest[(2024, m)][2] for m in range(1, 13)) * 1000
        / sum(latest[(2024, m)][1] for m in range(1, 13)))


def test_first_quantity_has_its_own_unit_and_unit_value(warehouse):
    (unit1, kl, unit2, kg, value, per_kl, per_kg), = query(
        warehouse, "select unit1, quantity1, unit2, quantity2, value_jpy, jpy_per_unit1, "
                   "jpy_per_unit2 from marts.quantity_by_hs_code where period = 'CY2024' "
                   "and hs_code = ?", [CRUDE])
    crude = sum(crude_value(2024, m) for m in range(1, 13))
    assert (unit1, kl, unit2, kg, value) == ("KL", 2 * crude, "KG", 1700 * crude, crude * 1000)
    assert per_kl == pytest.approx(500) and per_kg == pytest.approx(1000 / 1700)
    # A blank unit is empty, however it was published, and has no unit value.
    assert query(warehouse, "select distinct unit1, jpy_per_unit1 from marts.quantity_by_hs_code "
                            "where hs_code = ?", [LNG]) == [(None, None)]


def test_mixed_units_are_never_summed(warehouse):
    """FY2024 spans the computer's change from NO to KG in January 2025: one row per unit."""
    rows = query(warehouse, "select unit2, quantity2, value_jpy, months_reported "
                            "from marts.quantity_by_hs_code where period = 'FY2024' "
                            "and hs_code = ? order by unit2", [COMPUTER])
    assert rows == [("KG", 900 * 3, sum(200 + m for m in (1, 2, 3)) * 1000, 12),
                    ("NO", 10 * 9, sum(200 + m for m in range(4, 13)) * 1000, 12)]
    # The subheading adds up its codes unit by unit: NO is both codes, KG the one that changed.
    sub = dict((unit, (quantity, value)) for unit, quantity, value in query(
        warehouse, "select unit2, quantity2, value_jpy from marts.quantity_by_hs_subheading "
                   "where period = 'FY2024' and hs_subheading = ?", [COMPUTER[:6]]))
    assert sub == {"NO": (10 * 9 + 4 * 12, (sum(200 + m for m in range(4, 13)) + 50 * 12) * 1000),
                   "KG": (900 * 3, sum(200 + m for m in (1, 2, 3)) * 1000)}


def same_rows(warehouse, one: str, other: str) -> bool:
    """Whether two queries give the same rows, as many times each."""
    return query(warehouse, f"select (select count(*) from (({one}) except all ({other}))) + "
                            f"(select count(*) from (({other}) except all ({one})))") == [(0,)]


def test_no_mart_row_mixes_units(warehouse, sample_warehouse):
    """Every month row equals the facts of the latest release with exactly its units (an
    independent supersession over core.trade_facts), and every longer period is the sum of its
    months with the same units: no row adds up different units."""
    per_month_units = """
        with facts as (
            select f.*, r.release_seq
            from core.trade_facts f join core.releases r using (release_id)
        ), winners as (
            select flow, year, month, left(hs_code, 2) as chapter, max(release_seq) as seq
            from facts group by all
        )
        select case f.flow when 1 then 'export' else 'import' end, f.hs_code, f.country_code,
            format('{:04d}-{:02d}', f.year, f.month), nullif(f.unit1, ''), nullif(f.unit2, ''),
            sum(f.quantity1)::bigint, sum(f.quantity2)::bigint,
            (sum(f.value_thousand_jpy) * 1000)::bigint
        from facts f join winners w on f.flow = w.flow and f.year = w.year
            and f.month = w.month and left(f.hs_code, 2) = w.chapter and f.release_seq = w.seq
        group by all
    """
    mart_months = """
        select flow, hs_code, partner_code, period, unit1, unit2, quantity1, quantity2, value_jpy
        from marts.quantity_by_hs_code where period_type = 'month'
    """
    periods_from_months = """
        with months as (
            select * from marts.quantity_by_hs_code where period_type = 'month'
        ), periods as (
            select * from marts.quantity_by_hs_code where period_type <> 'month'
        ), summed as (
            select p.period_type, p.period, p.flow, p.hs_code, p.partner_code, p.unit1, p.unit2,
                sum(m.quantity1) as quantity1, sum(m.quantity2) as quantity2,
                sum(m.value_jpy) as value_jpy
            from periods p join months m on m.period_start between p.period_start and p.period_end
                and m.flow = p.flow and m.hs_code = p.hs_code and m.partner_code = p.partner_code
                and m.unit1 is not distinct from p.unit1 and m.unit2 is not distinct from p.unit2
            group by all
        )
        select count(*) from periods p join summed s
            on (p.period_type, p.period, p.flow, p.hs_code, p.partner_code) =
               (s.period_type, s.period, s.flow, s.hs_code, s.partner_code)
            and p.unit1 is not distinct from s.unit1 and p.unit2 is not distinct from s.unit2
        where (p.quantity1, p.quantity2, p.value_jpy) <> (s.quantity1, s.quantity2, s.value_jpy)
    """
    for wh in (warehouse, sample_warehouse):
        assert query(wh, f"select count(*) > 1000 from ({mart_months})") == [(wh != warehouse,)]
        assert same_rows(wh, per_month_units, mart_months)
        assert query(wh, periods_from_months) == [(0,)]
        # every grain value once, units included
        assert query(wh, "select count(*) from (select 1 from marts.quantity_by_hs_code "
                         "group by period_type, period, flow, hs_code, partner_code, unit1, unit2 "
                         "having count(*) > 1)") == [(0,)]


def test_values_reconcile_with_balance_by_partner_to_the_yen(warehouse, sample_warehouse):
    for wh in (warehouse, sample_warehouse):
        for mart in ("quantity_by_hs_code", "quantity_by_hs_subheading"):
            summed = f"""
                select period_type, period, partner_code,
                    coalesce(sum(value_jpy) filter (where flow = 'export'), 0) as exports_jpy,
                    coalesce(sum(value_jpy) filter (where flow = 'import'), 0) as imports_jpy
                from marts.{mart} group by all
            """
            mismatches = query(wh, f"""
                select * from marts.balance_by_partner b full outer join ({summed}) q
                    using (period_type, period, partner_code)
                where b.exports_jpy is distinct from q.exports_jpy
                    or b.imports_jpy is distinct from q.imports_jpy""")
            assert mismatches == [], (wh, mart, mismatches[:5])
            assert query(wh, f"select count(distinct period_type) from marts.{mart}") == [(6,)]


def test_as_of_uses_only_the_releases_published_by_then(warehouse):
    first = query(warehouse, "select quantity2, value_jpy from "
                             "marts.quantity_by_hs_code_as_of(DATE '2025-04-17') "
                             "where period = 'FY2024' and hs_code = ? and partner_code = ?",
                  [CAR, US])
    assert first == [(sum(car_count(y, m) for y, m in FY2024),
                      sum(car_value(y, m) for y, m in FY2024) * 1000)]
    assert query(warehouse, "select count(*) from marts.quantity_by_hs_code_as_of("
                            "DATE '2024-01-24')") == [(0,)]
    # On the latest date the view reads core.trade_latest; on any date after the last release
    # the macro reads the facts: the same rows, both marts.
    for mart in ("quantity_by_hs_code", "quantity_by_hs_subheading"):
        view = f"select * from marts.{mart}"
        assert query(warehouse, f"select count(*) > 100 from marts.{mart}") == [(True,)]
        assert same_rows(warehouse, view, f"select * from marts.{mart}_as_of(DATE '9999-12-31')")
        assert same_rows(warehouse, view, f"select * from marts.{mart}_as_of(DATE '2030-01-01')")
        assert not same_rows(warehouse, view,
                             f"select * from marts.{mart}_as_of(DATE '2025-04-17')")


def test_files_of_a_release_that_disagree_on_units_fail_the_check(tmp_path, capsys):
    """A real build: a release whose two files give one cell in different units fails the
    blocking check units_agree_within_release (and files_do_not_overlap: two files of one
    release may not report one cell at all), and nothing is published; files disagreeing on
    units only across cells the other file does not report build."""
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_release(raw, "2024-03-10_preliminary", {
        "a.csv": csv_text([row(1, 2024, CAR, US, {1: 100, 2: 90}, unit2="NO",
                               quantity2={1: 4, 2: 3})]),
        "b.csv": csv_text([row(1, 2024, CAR, US, {1: 50}, unit2="KG", quantity2={1: 6000}),
                           row(1, 2024, CAR, CN, {1: 70}, unit2="KG", quantity2={1: 8000})]),
    })
    assert build(raw, wh) == 1
    err = capsys.readouterr().err
    assert "the build did not complete: blocking check(s) failed: " in err
    assert "units_agree_within_release on core/trade_facts (2024-03-10_preliminary)" in err
    assert "files_do_not_overlap on core/trade_facts (2024-03-10_preliminary)" in err
    assert not wh.exists()  # nothing published
    building = wh.with_name(f".{wh.name}.building")
    assert query(building, "select count(*) from core.trade_facts") == [(4,)]
    # The release is loaded: a second build checks it again, and fails again.
    assert build(raw, wh) == 1 and not wh.exists()
    capsys.readouterr()
    # b.csv corrected: it reports only the cell a.csv does not (China, in KG; the US in NO).
    write_release(raw, "2024-03-10_preliminary", {
        "b.csv": csv_text([row(1, 2024, CAR, CN, {1: 70}, unit2="KG", quantity2={1: 8000})])})
    assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(wh), "--quiet",
                     "--prune"]) == 0, capsys.readouterr().err  # b.csv's US row goes
    assert query(wh, "select partner_code, unit2, quantity2, value_jpy "
                     "from marts.quantity_by_hs_code where period = '2024-01' "
                     "order by 1") == [(CN, "KG", 8000, 70_000), (US, "NO", 4, 100_000)]


def test_the_check_names_the_cells_and_their_units(tmp_path):
    from tests.conftest import run_job

    raw = tmp_path / "raw"
    write_release(raw, "2024-03-10_preliminary", {
        "a.csv": csv_text([row(2, 2024, CRUDE, SA, {1: 10, 2: 10}, unit1="KL",
                               quantity1={1: 20, 2: 20})]),
        "b.csv": csv_text([row(2, 2024, CRUDE, SA, {1: 5, 2: 5}, unit1="  ",
                               quantity1={1: 0, 2: 0})]),
    })
    result = run_job(raw)
    [evaluation] = [e for e in result.get_asset_check_evaluations()
                    if e.check_name == "units_agree_within_release"]
    assert not evaluation.passed
    assert evaluation.metadata["cells_with_disagreeing_units"].value == 2  # January, February
    table = evaluation.metadata["cells"].value
    assert "a.csv: KL/KG; b.csv: /KG" in table and CRUDE in table
    published = [e for e in result.get_asset_materialization_events()
                 if e.asset_key.path == ["warehouse", "published"]]
    assert not published


def write_brief(warehouse, fiscal_year: int, capsys, *extra: str) -> str:
    assert cli.main(["brief", "--warehouse", str(warehouse), "--fiscal-year",
                     str(fiscal_year), *extra]) == 0
    return capsys.readouterr().out


def change(now: float, before: float) -> str:
    return f"{100 * (now / before - 1):+.1f}%"


def test_brief_shows_volumes_where_one_unit_covers_a_leading_sector(warehouse, capsys):
    out = write_brief(warehouse, 2024, capsys).splitlines()
    exports = out.index(next(line for line in out if line.startswith("  exports led by")))
    assert out[exports].startswith("  exports led by transport equipment")
    # Transport equipment mixes cars (NO) and parts (KG), electrical machinery NO and KG, and
    # machinery changed unit in January: only their highlighted parts have one unit.
    cars_now = sum(car_count(y, m, revised=y == 2024) + 2 for y, m in FY2024)
    cars_before = sum(car_count(y, m, revised=y == 2024) + 2 for y, m in FY2023)
    car_yen_now = sum(car_value(y, m, revised=y == 2024) + 400 + m for y, m in FY2024)
    car_yen_before = sum(car_value(y, m, revised=y == 2024) + 400 + m for y, m in FY2023)
    chips_now = sum(5 * chip_value(y, m) for y, m in FY2024)
    chips_before = sum(5 * chip_value(y, m) for y, m in FY2023)
    assert out[exports + 1] == (
        f"  export volumes: motor vehicles {cars_now:,} NO ({change(cars_now, cars_before)} y/y "
        f"vs {change(car_yen_now, car_yen_before)} in yen); semiconductors and other electronic "
        f"components {chips_now / 1e3:.2f} k NO ({change(chips_now, chips_before)} y/y vs "
        f"{change(chips_now, chips_before)} in yen)")
    imports = out.index(next(line for line in out if line.startswith("  imports led by")))
    assert "mineral fuels" in out[imports] and "(of which crude oil" in out[imports]
    crude_now = sum(crude_value(y, m) for y, m in FY2024)
    crude_before = sum(crude_value(y, m) for y, m in FY2023)
    lng_now = sum(lng_value(y, m) for y, m in FY2024)
    lng_before = sum(lng_value(y, m) for y, m in FY2023)
    fuels_kg_now = 1700 * crude_now + 20 * lng_now
    fuels_kg_before = 1700 * crude_before + 20 * lng_before
    # Mineral fuels: crude has a first unit (KL) and LNG none, but both are in KG.
    assert out[imports + 1] == (
        f"  import volumes: mineral fuels {fuels_kg_now / 1e6:.2f} M KG "
        f"({change(fuels_kg_now, fuels_kg_before)} y/y vs "
        f"{change(crude_now + lng_now, crude_before + lng_before)} in yen); crude oil (crude and "
        f"partly refined petroleum) {2 * crude_now / 1e3:.2f} k KL "
        f"({change(crude_now, crude_before)} y/y vs {change(crude_now, crude_before)} in yen)")


def test_brief_volumes_are_as_of_the_date_and_silent_without_a_year_to_compare(warehouse,
                                                                                capsys):
    out = write_brief(warehouse, 2024, capsys, "--as-of", "2025-04-17")
    cars_now = sum(car_count(y, m) + 2 for y, m in FY2024)  # before the fixed release
    cars_before = sum(car_count(y, m) + 2 for y, m in FY2023)
    assert f"motor vehicles {cars_now:,} NO ({change(cars_now, cars_before)} y/y" in out
    # FY2023 has no FY2022 to compare with (the data start in January 2023): no volumes.
    out = write_brief(warehouse, 2023, capsys)
    assert "exports led by" in out and "volumes:" not in out


def test_brief_leaves_out_a_sector_whose_quantities_are_missing(tmp_path, capsys):
    """Cars with a count for most of their value, but not all: no volume, rather than one that
    understates it."""
    raw = tmp_path / "raw"
    months = {m: 100 for m in range(1, 13)}
    for year in (2023, 2024, 2025):
        write_release(raw, f"{year + 1}-01-25_preliminary", {"a.csv": csv_text([
            row(1, year, CAR, US, months, unit2="NO", quantity2={m: 5 for m in months}),
            row(1, year, CAR_CN, CN, {m: 3 if year == 2023 else 0 for m in months},
                unit2="NO", quantity2={m: 0 for m in months})])})
    assert build(raw, tmp_path / "wh.duckdb") == 0
    # 2 % of car exports in April-December 2023 have no count: FY2024 cannot be compared with
    # FY2023; FY2025 (April-December so far) can, with April-December 2024.
    assert "export volumes" not in write_brief(tmp_path / "wh.duckdb", 2024, capsys)
    out = write_brief(tmp_path / "wh.duckdb", 2025, capsys)
    cars = 9 * 5  # April-December, 5 a month, as in 2024
    assert f"  export volumes: transport equipment {cars} NO (+0.0% y/y vs +0.0% in yen); " \
           f"motor vehicles {cars} NO (+0.0% y/y vs +0.0% in yen)" in out
