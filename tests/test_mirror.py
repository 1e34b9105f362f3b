"""Both sides: the US Census Bureau's figures (reporter USA) beside Japan's, and the gap split
into parts that add up exactly (sql/core/mirror_cells_as_of.sql, docs/mirror.md).

Each warehouse is the Japanese sample of 2024 with synthetic US releases mirroring its trade with
the United States (trade_etl/sample/census.py), built by `trade-etl build` with the mirror's
assumptions set to the generator's. With every asymmetry off the gap is zero to the cent; with
one on alone, the whole gap lands in its own part, up to the rounding of the two sides' units
(US dollars restated in Japan's thousand yen, line by line: at most half a thousand yen per US
line and a little more, bounded below)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import build
from trade_etl import settings
from trade_etl.sample import write_sample
from trade_etl.sample.census import Asymmetries

YEARS = [2024]
SCALE = 0.3
PARTS = ("currency", "valuation", "timing", "unexplained")
# What the rounding of one US line can leave: half a thousand yen from restating it, and up to
# half a dollar (< 0.1 thousand yen at any rate below 200 yen) from the dollar it was rounded to.
ROUNDING_JPY_PER_LINE = 600

SCENARIOS = {
    "off": Asymmetries.off(),
    "currency": Asymmetries(lag_days=14, cif_fob_margin=0, transit_share=0, re_export=0),
    "valuation": Asymmetries(lag_days=0, cif_fob_margin=0.06, transit_share=0, re_export=0),
    "timing": Asymmetries(lag_days=0, cif_fob_margin=0, transit_share=0.3, re_export=0),
    "re_export": Asymmetries(lag_days=0, cif_fob_margin=0, transit_share=0, re_export=0.03),
    "all": Asymmetries(),
}


def _build(root: Path, asym: Asymmetries | None) -> Path:
    raw, warehouse = root / "raw", root / "trade.duckdb"
    write_sample(raw, YEARS, SCALE, census=asym)
    mp = pytest.MonkeyPatch()
    if asym is not None:
        mp.setenv(settings.MIRROR_CIF_FOB_ENV, str(asym.cif_fob_margin))
        mp.setenv(settings.MIRROR_TRANSIT_ENV, str(asym.transit_share))
        mp.setenv(settings.MIRROR_RATE_LAG_ENV, str(asym.lag_days))
    try:
        assert build(raw, warehouse) == 0
    finally:
        mp.undo()
    return warehouse


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory, _dagster_home) -> dict[str, Path]:
    """Lazily built: one warehouse per scenario, and `japan` without the US."""
    built: dict[str, Path] = {}

    class Lazy(dict):
        def __missing__(self, name: str) -> Path:
            root = tmp_path_factory.mktemp(f"mirror_{name}")
            built[name] = _build(root, None if name == "japan" else SCENARIOS[name])
            return built[name]

    return Lazy()


def rows(warehouse: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        cursor = conn.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_with_every_asymmetry_off_the_gap_is_zero_to_the_cent(warehouses):
    mirror = rows(warehouses["off"], "select * from marts.mirror_balance")
    assert {r["direction"] for r in mirror} == {"japan_exports", "japan_imports", "balance"}
    months = [r for r in mirror if r["period_type"] == "month"]
    assert len(months) == 3 * 12 and all(r["months_compared"] == 1 for r in months)
    for r in mirror:
        assert r["japan_value_jpy"] != 0 and r["japan_value_jpy"] == r["us_value_jpy"], r
        assert r["gap_jpy"] == 0 and r["gap_usd"] == 0, r
        assert all(r[f"{p}_jpy"] == 0 and r[f"{p}_usd"] == 0 for p in PARTS), r
    sections = rows(warehouses["off"], "select count(*) as n, sum(abs(gap_jpy)) as gap "
                    "from marts.mirror_by_hs_section")
    assert sections[0]["n"] > 100 and sections[0]["gap"] == 0


@pytest.mark.slow  # four builds of their own: make test-slow
@pytest.mark.parametrize("name", ["currency", "valuation", "timing", "re_export"])
def test_one_asymmetry_alone_lands_in_its_own_part(warehouses, name):
    own = "unexplained" if name == "re_export" else name
    lines = rows(warehouses[name], "select count(*) as n from core.trade_latest "
                 "where reporter = 'USA'")[0]["n"]
    bound = ROUNDING_JPY_PER_LINE * lines
    mirror = rows(warehouses[name], "select * from marts.mirror_balance "
                  "where period_type = 'calendar_year' and direction <> 'balance'")
    assert len(mirror) == 2
    moved = 0
    for r in mirror:
        for part in PARTS:
            if part == own:
                assert abs(r["gap_jpy"] - r[f"{part}_jpy"]) <= bound, (part, r)
            elif part != "unexplained":
                assert r[f"{part}_jpy"] == 0 and r[f"{part}_usd"] == 0, (part, r)
            else:
                assert abs(r["unexplained_jpy"]) <= bound, r
        moved += abs(r[f"{own}_jpy"])
    # the asymmetry is real: far larger than what rounding can leave
    assert moved > 100 * bound, (moved, bound)
    if name == "valuation" or name == "re_export":  # they touch Japan's imports only
        exports = next(r for r in mirror if r["direction"] == "japan_exports")
        assert exports["gap_jpy"] == 0


def test_the_parts_add_up_exactly_in_every_row(warehouses):
    for table in ("marts.mirror_balance", "marts.mirror_by_hs_section"):
        bad = rows(warehouses["all"], f"""
            select * from {table}
            where gap_jpy <> currency_jpy + valuation_jpy + timing_jpy + unexplained_jpy
               or gap_usd <> currency_usd + valuation_usd + timing_usd + unexplained_usd
               or gap_jpy <> japan_value_jpy - us_value_jpy""")
        assert bad == [], (table, bad[:2])
    # sections sum to the total exactly, and the balance is exports minus imports
    differ = rows(warehouses["all"], """
        with sections as (
            select period_type, period, direction, sum(gap_jpy) as gap_jpy,
                sum(gap_usd) as gap_usd, sum(timing_usd) as timing_usd,
                sum(us_value_usd) as us_value_usd
            from marts.mirror_by_hs_section group by all)
        select * from sections join marts.mirror_balance as total using (period_type, period,
            direction)
        where sections.gap_jpy <> total.gap_jpy or sections.gap_usd <> total.gap_usd
            or sections.timing_usd <> total.timing_usd
            or sections.us_value_usd <> total.us_value_usd""")
    assert differ == []
    balance = rows(warehouses["all"], """
        select b.period, b.gap_usd, e.gap_usd - i.gap_usd as expected,
            b.us_value_usd, e.us_value_usd - i.us_value_usd as us_expected
        from marts.mirror_balance as b
        join marts.mirror_balance as e using (period_type, period)
        join marts.mirror_balance as i using (period_type, period)
        where b.direction = 'balance' and e.direction = 'japan_exports'
            and i.direction = 'japan_imports'""")
    assert balance and all(r["gap_usd"] == r["expected"] and r["us_value_usd"] == r["us_expected"]
                           for r in balance)


def test_the_first_vintage_is_answerable_as_of_its_date(warehouses):
    warehouse = warehouses["all"]
    query = ("select direction, us_value_usd, japan_value_jpy from {} "
             "where period_type = 'calendar_year' and period = 'CY2024' order by direction")
    latest = rows(warehouse, query.format("marts.mirror_balance"))
    first = rows(warehouse, query.format("marts.mirror_balance_as_of(DATE '2025-03-01')"))
    before = rows(warehouse, query.format("marts.mirror_balance_as_of(DATE '2025-01-01')"))
    assert before == []  # no US release yet
    assert [r["direction"] for r in first] == [r["direction"] for r in latest]
    for a, b in zip(first, latest, strict=True):
        assert a["us_value_usd"] != b["us_value_usd"]  # the June revision changed them
        assert abs(a["us_value_usd"] - b["us_value_usd"]) < 0.02 * abs(b["us_value_usd"])
    # Japan's side as of March 2025 is its own vintage then (the fixed release is November's)
    japan_then = rows(warehouse, "select sum(value_thousand_jpy) * 1000 as v from "
                      "core.trade_monthly_as_of(DATE '2025-03-01') where reporter = 'JPN'")
    assert japan_then[0]["v"] is not None


def test_adding_the_us_changes_nothing_japan_sees(warehouses):
    tables = ["marts.balance_total", "marts.balance_by_partner", "marts.balance_by_hs_section",
              "marts.balance_by_sector", "marts.revisions", "core.trade_latest"]
    with duckdb.connect(str(warehouses["all"]), read_only=True) as conn:
        conn.execute(f"attach '{warehouses['japan']}' as japan (read_only)")
        for table in tables:
            where = " where reporter = 'JPN'" if table == "core.trade_latest" else ""
            both = f"select * from {table}{where}"
            alone = f"select * from japan.{table}{where}"
            counts = conn.sql(f"select (select count(*) from ({both})), "
                              f"(select count(*) from ({both} except all {alone})), "
                              f"(select count(*) from ({alone} except all {both}))").fetchall()
            assert counts[0][0] > 0 and counts[0][1:] == (0, 0), (table, counts)
    # and US releases never supersede Japan's cells, nor the reverse
    counts = rows(warehouses["all"], "select reporter, count(*) as n from core.trade_latest "
                  "group by 1 order by 1")
    assert [r["reporter"] for r in counts] == ["JPN", "USA"]


def test_brief_mirror_prints_both_sides_and_the_largest_reasons(warehouses, capsys):
    from trade_etl.app import cli

    warehouse = str(warehouses["all"])
    assert cli.main(["brief", "--fiscal-year", "2024", "--partner", "US", "--mirror",
                     "--warehouse", warehouse]) == 0
    out = capsys.readouterr().out
    block = out[out.index("Both sides"):]
    balance = rows(warehouses["all"], "select * from marts.mirror_balance "
                   "where period = 'FY2024' and direction = 'balance'")[0]
    assert f"({balance['months_compared']} of 12 months reported by both;" in block
    shown = f"${abs(float(balance['us_value_usd'])) / 1e9:,.1f} bn"
    assert "Japan's surplus with the US" in block and shown in block
    reasons = [line for line in block.splitlines() if line.strip()[:2] in ("1.", "2.", "3.")]
    parts = sorted(PARTS, key=lambda p: -abs(float(balance[f"{p}_usd"])))[:3]
    assert [line.split()[3].rstrip(":") for line in reasons] == parts
    # another partner's own figures are not held: a usage error, before any data
    assert cli.main(["brief", "--fiscal-year", "2024", "--partner", "China", "--mirror",
                     "--warehouse", warehouse]) == 2
    assert "--mirror sets the partner's own figures" in capsys.readouterr().err
    # no US figures: exit 1 with what to do
    assert cli.main(["brief", "--fiscal-year", "2024", "--partner", "US", "--mirror",
                     "--warehouse", str(warehouses["japan"])]) == 1
    assert "trade-etl fetch --reporter USA" in capsys.readouterr().err


def test_a_changed_assumption_rebuilds_the_mirror(warehouses, monkeypatch):
    """The assumptions are part of the build's inputs: a build after a change is not skipped as
    unchanged, and core.mirror_assumptions and the parts follow it."""
    warehouse = warehouses["off"]
    before = rows(warehouse, "select valuation_jpy from marts.mirror_balance "
                  "where period = 'CY2024' and direction = 'japan_imports'")[0]["valuation_jpy"]
    assert before == 0
    monkeypatch.setenv(settings.MIRROR_CIF_FOB_ENV, "0.1")
    monkeypatch.setenv(settings.MIRROR_TRANSIT_ENV, "0")
    monkeypatch.setenv(settings.MIRROR_RATE_LAG_ENV, "0")
    assert build(warehouse.parent / "raw", warehouse) == 0
    assert rows(warehouse, "select value from core.mirror_assumptions "
                "where assumption = 'cif_fob_margin'") == [{"value": 0.1}]
    after = rows(warehouse, "select gap_jpy, valuation_jpy, unexplained_jpy from "
                 "marts.mirror_balance where period = 'CY2024' and direction = 'japan_imports'")[0]
    # no asymmetry in the data: a margin assumed moves its estimate into unexplained, opposite
    assert after["gap_jpy"] == 0 and after["valuation_jpy"] > 0
    assert after["unexplained_jpy"] == -after["valuation_jpy"]


def test_the_report_draws_both_sides_for_the_us(warehouses):
    from trade_etl.serve.report import build_report, render_html, render_svg

    with duckdb.connect(str(warehouses["all"]), read_only=True) as conn:
        report = build_report(conn, 2024, "US")
        world = build_report(conn, 2024, None)
    chart = next(c for c in report.charts if c.key == "both_sides")
    assert "both_sides" not in [c.key for c in world.charts]
    assert "Both sides" in report.brief and "Both sides" not in world.brief
    fiscal = chart.rows[-1]
    mart = rows(warehouses["all"], "select * from marts.mirror_balance "
                "where period = 'FY2024' and direction = 'balance'")[0]
    assert fiscal["period"] == "FY2024" and len(chart.rows) == mart["months_compared"] + 1 == 10
    assert fiscal["gap_usd"] == mart["gap_usd"]
    # the months add up to the year, and the waterfall ends where the US figure is
    assert sum(r["us_value_usd"] for r in chart.rows[:-1]) == fiscal["us_value_usd"]
    steps = chart.spec["hconcat"][1]["data"]["values"]
    assert abs(steps[-2]["end"] - steps[-1]["end"]) < 1e-6
    # the lines' colours are their own: shared with the waterfall's (domain figure, part),
    # the two lines were drawn in no colour at all
    assert chart.spec["resolve"]["scale"]["color"] == "independent"
    assert render_svg(chart.spec).startswith("<svg")
    assert 'id="both_sides"' in render_html(report)
