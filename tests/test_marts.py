"""Marts: periods, yen and dollars, year on year, regions over time, as-of, revisions, and the
public interface contract."""

import subprocess
import sys
from datetime import date

import pytest

from tests.conftest import REPO, SHARED_REFERENCE, build, csv_text, query, row, write_release

US, CN, GB, DE = "304", "105", "205", "213"
CAR, LNG, CHIP = "870323915", "271111000", "854231000"


def month_value(year: int, month: int, base: int) -> int:
    return base + 10 * (year - 2022) + month


def year_file(year: int, months: range, revise: int = 0) -> str:
    """Exports of cars to the US and chips to China; imports of LNG from the US."""
    rows = [
        row(1, year, CAR, US, {m: month_value(year, m, 1000) + revise for m in months}),
        row(1, year, CHIP, CN, {m: month_value(year, m, 300) for m in months}),
        row(2, year, LNG, US, {m: month_value(year, m, 500) for m in months}),
    ]
    return csv_text(rows)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("marts")
    raw = tmp / "raw"
    write_release(raw, "2024-01-25_preliminary", {"y2023.csv": year_file(2023, range(1, 13))})
    write_release(raw, "2025-01-23_preliminary", {"y2024.csv": year_file(2024, range(1, 13))})
    write_release(raw, "2025-04-17_preliminary", {"y2025.csv": year_file(2025, range(1, 4))})
    # The fixed release revises 2024 US car exports by +7 thousand yen a month.
    write_release(raw, "2025-11-28_fixed", {"y2024.csv": year_file(2024, range(1, 13), revise=7)})
    wh = tmp / "wh.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_ETL_FISCAL_START_MONTH", "4")
    try:
        assert build(raw, wh) == 0
    finally:
        mp.undo()
    return wh


def total(year, months, base, revise=0):
    return sum(month_value(year, m, base) + revise for m in months) * 1000


def test_fiscal_year_totals_and_labels(warehouse):
    rows = query(warehouse, "select period_start, period_end, months_reported, exports_jpy, "
                            "imports_jpy, balance_jpy from marts.balance_total "
                            "where period = 'FY2024'")
    exports = (total(2024, range(4, 13), 1000, 7) + total(2025, range(1, 4), 1000)
               + total(2024, range(4, 13), 300) + total(2025, range(1, 4), 300))
    imports = total(2024, range(4, 13), 500) + total(2025, range(1, 4), 500)
    assert rows == [(date(2024, 4, 1), date(2025, 3, 31), 12, exports, imports,
                     exports - imports)]
    labels = dict(query(warehouse, "select period_type, period from marts.balance_total "
                                   "where period_start = DATE '2024-10-01' and period_type <> "
                                   "'month' and period_type <> 'calendar_year'"))
    assert labels == {"fiscal_quarter": "FY2024Q3", "fiscal_half": "FY2024H2",
                      "calendar_quarter": "CY2024Q4"}
    assert query(warehouse, "select period_start, period_end from marts.balance_total "
                            "where period = 'FY2024H2'") == [(date(2024, 10, 1),
                                                             date(2025, 3, 31))]


def test_partial_periods_show_months_reported(warehouse):
    # Data run from 2023-01 to 2025-03: FY2022 (Apr 2022 - Mar 2023) has 3 months, FY2024Q4 all 3.
    assert dict(query(warehouse, "select period, months_reported from marts.balance_total where "
                                 "period in ('FY2022', 'FY2023H1', 'FY2024Q4', 'CY2025')")) == {
        "FY2022": 3, "FY2023H1": 6, "FY2024Q4": 3, "CY2025": 3}
    assert query(warehouse, "select count(*) from marts.balance_total where period = 'FY2025'"
                 ) == [(0,)]


def test_dollars_are_converted_month_by_month(warehouse):
    (usd,), = query(warehouse, "select exports_usd from marts.balance_by_partner "
                               "where period = 'FY2024' and partner_code = ?", [US])
    rates = dict(query(warehouse, "select month, jpy_per_usd from ref.fx_monthly"))
    expected = sum((month_value(y, m, 1000) + (7 if y == 2024 else 0)) * 1000
                   / rates[f"{y}-{m:02d}"]
                   for y, m in [(2024, m) for m in range(4, 13)] + [(2025, m) for m in (1, 2, 3)])
    assert usd == pytest.approx(expected, abs=0.01)


def test_year_on_year_compares_the_same_months(warehouse):
    (yoy,), = query(warehouse, "select exports_yoy_pct from marts.balance_total "
                               "where period = 'CY2024'")
    cy2024 = total(2024, range(1, 13), 1000, 7) + total(2024, range(1, 13), 300)
    cy2023 = total(2023, range(1, 13), 1000) + total(2023, range(1, 13), 300)
    assert yoy == pytest.approx(round(100 * (cy2024 / cy2023 - 1), 2))
    # CY2025 has 3 months; CY2024's same 3 months are its comparison.
    (yoy25,), = query(warehouse, "select imports_yoy_pct from marts.balance_total "
                                 "where period = 'CY2025'")
    assert yoy25 == pytest.approx(round(100 * (total(2025, range(1, 4), 500)
                                               / total(2024, range(1, 4), 500) - 1), 2))
    # FY2023 (Apr 2023 - Mar 2024) has no earlier year to compare with.
    assert query(warehouse, "select exports_yoy_pct from marts.balance_total "
                            "where period = 'FY2023'") == [(None,)]


def test_as_of_uses_only_releases_published_by_then(warehouse):
    first = query(warehouse, "select exports_jpy from marts.balance_by_partner_as_of("
                             "DATE '2025-04-17') where partner_iso3 = 'USA' and period = 'FY2024'")
    latest = query(warehouse, "select exports_jpy from marts.balance_by_partner "
                              "where partner_iso3 = 'USA' and period = 'FY2024'")
    assert first == [(total(2024, range(4, 13), 1000) + total(2025, range(1, 4), 1000),)]
    assert latest[0][0] - first[0][0] == 7 * 9 * 1000
    assert query(warehouse, "select count(*) from marts.balance_total_as_of(DATE '2023-12-31')"
                 ) == [(0,)]
    # The latest as-of equals the table, row for row.
    assert query(warehouse, "select * from marts.balance_total_as_of(DATE '9999-12-31') "
                            "except select * from marts.balance_total") == []


def test_revisions_show_first_and_latest(warehouse):
    rows = query(warehouse, "select first_release_id, first_value_jpy, latest_release_id, "
                            "latest_value_jpy, revision_jpy from marts.revisions "
                            "where flow = 'export' and period = '2024-06' and partner_iso3 = 'USA'")
    first = month_value(2024, 6, 1000) * 1000
    assert rows == [("2025-01-23_preliminary", first, "2025-11-28_fixed", first + 7000, 7000)]


def test_partner_ranks_follow_balance_by_partner(warehouse):
    # CY2023: the US (cars out, LNG in) ahead of China (chips out).
    us, cn = total(2023, range(1, 13), 1000) + total(2023, range(1, 13), 500), \
        total(2023, range(1, 13), 300)
    rows = query(warehouse, "select partner_iso3, trade_jpy, trade_rank, trade_share_pct, "
                            "exports_share_pct, imports_share_pct from marts.partner_ranks "
                            "where period = 'CY2023' order by trade_rank")
    assert rows == [("USA", us, 1, round(100 * us / (us + cn), 3),
                     round(100 * total(2023, range(1, 13), 1000)
                           / (total(2023, range(1, 13), 1000) + cn), 3), 100.0),
                    ("CHN", cn, 2, round(100 * cn / (us + cn), 3),
                     round(100 * cn / (total(2023, range(1, 13), 1000) + cn), 3), 0.0)]
    # every period: one row per partner of marts.balance_by_partner, the same trade, ranks
    # by trade, and shares summing to 100
    assert query(warehouse, """
        select count(*) from marts.partner_ranks as r
        full outer join marts.balance_by_partner as p using (period_type, period, partner_code)
        where r.trade_jpy is distinct from p.exports_jpy + p.imports_jpy""") == [(0,)]
    assert query(warehouse, """
        select count(*) from (
            select period_type, period, sum(trade_share_pct) as shares,
                bool_and(trade_rank = rank) as ranked
            from (select *, rank() over (partition by period_type, period
                                         order by trade_jpy desc) as rank
                  from marts.partner_ranks)
            group by all)
        where abs(shares - 100) > 0.01 or not ranked""") == [(0,)]
    # as of a date, from the releases published by then (before the fixed revision)
    assert query(warehouse, "select trade_jpy from marts.partner_ranks_as_of(DATE '2025-04-17') "
                            "where period = 'CY2024' and partner_iso3 = 'USA'") == [
        (total(2024, range(1, 13), 1000) + total(2024, range(1, 13), 500),)]


def test_sectors_sections_and_regions(warehouse):
    sectors = dict(query(warehouse, "select sector_code, exports_jpy from marts.balance_by_sector "
                                    "where period = 'CY2023'"))
    assert sectors["transport_equipment"] == sectors["motor_vehicles"] == total(2023, range(1, 13),
                                                                                1000)
    assert sectors["electrical_machinery"] == total(2023, range(1, 13), 300)
    assert "mineral_fuels" in sectors and "lng" in sectors
    sections = dict(query(warehouse, "select hs_section, imports_jpy from "
                                     "marts.balance_by_hs_section where period = 'CY2023'"))
    assert sections == {"V": total(2023, range(1, 13), 500), "XVI": 0, "XVII": 0}
    regions = dict(query(warehouse, "select region, exports_jpy from marts.balance_by_region "
                                    "where period = 'CY2023'"))
    assert regions["North America"] == total(2023, range(1, 13), 1000)
    assert regions["Asia"] == total(2023, range(1, 13), 300)


def test_eu_membership_follows_the_date(tmp_path):
    raw = tmp_path / "raw"
    write_release(raw, "2020-03-10_preliminary", {"x.csv": csv_text([
        row(1, 2020, CAR, GB, {1: 100, 2: 200}), row(1, 2020, CAR, DE, {1: 10, 2: 20})])})
    assert build(raw, tmp_path / "wh.duckdb") == 0
    eu = query(tmp_path / "wh.duckdb", "select period, exports_jpy from marts.balance_by_region "
                                       "where region = 'EU' and period_type = 'month' order by 1")
    assert eu == [("2020-01", 110_000), ("2020-02", 20_000)]


def test_fiscal_start_month_is_a_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADE_ETL_FISCAL_START_MONTH", "1")
    raw = tmp_path / "raw"
    write_release(raw, "2024-03-10_preliminary", {"x.csv": csv_text([
        row(1, 2024, CAR, US, {1: 100, 2: 200})])})
    assert build(raw, tmp_path / "wh.duckdb") == 0
    assert query(tmp_path / "wh.duckdb", "select period, period_start from marts.balance_total "
                                         "where period_type = 'fiscal_year'") == [
        ("FY2024", date(2024, 1, 1))]


@pytest.mark.skipif(not (SHARED_REFERENCE.parent / "contract").exists(),
                    reason="../shared/contract is not beside the project")
def test_public_interface_contract(warehouse):
    out = subprocess.run([sys.executable, str(SHARED_REFERENCE.parent / "contract" /
                                              "check_contract.py"), str(warehouse)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "contract: complete" in out.stdout


# The views' previews read only the fiscal year they show (trade_etl_months_between), so that a
# build's preview costs a year's cells however long the history. The window must leave the
# year's rows exactly as they are, latest and as of an earlier date.
WINDOWED_VIEWS = [
    ("marts.quantity_by_hs_code", "marts.quantity_by_hs_code_as_of(DATE '2025-06-30')"),
    ("marts.quantity_by_hs_subheading",
     "marts.quantity_by_hs_subheading_as_of(DATE '2025-06-30')"),
    ("marts.trade_by_hs_heading", "marts.trade_by_hs_heading_as_of(DATE '2025-06-30')"),
    ("marts.trade_by_hs_subheading", "marts.trade_by_hs_subheading_as_of(DATE '2025-06-30')"),
    ("marts.trade_comparable", "marts.trade_comparable_as_of(DATE '2025-06-30', 'hs6')"),
]


@pytest.mark.parametrize("view,as_of", WINDOWED_VIEWS, ids=[v for v, _ in WINDOWED_VIEWS])
def test_a_preview_window_leaves_the_fiscal_year_as_it_is(sample_warehouse, view, as_of):
    import duckdb

    conn = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        first, last = conn.execute(
            "select min(period_start), max(period_end) from core.period_months "
            "where period_type = 'fiscal_year' and period = 'FY2024'").fetchall()[0]
        for source in (view, as_of):
            year = (f"select * from {source} where period_type = 'fiscal_year' "
                    "and period = 'FY2024' order by all")
            months = f"select count(*) from {source} where period_type = 'month'"
            whole, all_months = conn.sql(year).fetchall(), conn.sql(months).fetchall()[0][0]
            conn.execute("set variable trade_etl_months_between = $w", {"w": [first, last]})
            windowed, window_months = conn.sql(year).fetchall(), conn.sql(months).fetchall()[0][0]
            conn.execute("reset variable trade_etl_months_between")
            assert whole and windowed == whole, source
            # the window is at work: the sample's other years are left out
            assert 0 < window_months < all_months, source
    finally:
        conn.close()


def test_a_view_preview_is_the_preview_of_the_whole_view(tmp_path, sample_warehouse):
    import shutil

    import duckdb

    from trade_etl.defs.store import marts

    copy = tmp_path / "copy.duckdb"
    shutil.copy(sample_warehouse, copy)
    conn = duckdb.connect(str(copy))
    try:
        fiscal_year = marts.latest_complete_fiscal_year(conn)
        assert fiscal_year
        stamps, static = marts.month_stamps(conn), marts.static_token(conn)
        for view, _ in WINDOWED_VIEWS:
            conn.execute("delete from audit.derived_state where table_name = $t",
                         {"t": f"preview:{view}"})  # computed now, not read from the record
            shown = marts.view_preview(conn, view, fiscal_year, stamps, static).value
            assert shown == marts.preview(conn, view, fiscal_year).value, view
            assert "|" in shown.split("\n\n", 1)[1], view  # rows, not an empty table
            # reset afterwards: a later query of the same connection sees every month
            assert conn.sql("select getvariable('trade_etl_months_between')").fetchall() == [
                (None,)]
    finally:
        conn.close()
