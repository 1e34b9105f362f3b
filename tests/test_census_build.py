"""From the Census API to the warehouse: `trade-etl fetch --reporter USA` against the local
Census-shaped server (tests/census_site.py), then `trade-etl build`: every row of every answer
is loaded or quarantined with its reason, the June revision supersedes within reporter USA only,
and the first vintage stays answerable as of its date."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.census_site import FakeCensus
from tests.conftest import build, csv_text, row, write_release
from trade_etl.app import cli

JAPAN = "5880"
CARS, PARTS, CHIPS = "8703230190", "8708990000", "8542310000"


def fetch(raw: Path, site: FakeCensus, date: str) -> int:
    return cli.main(["fetch", "--reporter", "USA", "--raw-dir", str(raw), "--base-url",
                     site.base_url, "--pause", "0", "--years", "2024", "--release-date", date])


def sql(warehouse: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.sql(query).fetchall()


@pytest.fixture
def site(monkeypatch):
    monkeypatch.setenv("TRADE_ETL_FETCH_BACKOFF", "0.01")
    with FakeCensus() as fake:
        for month in (1, 2, 3):
            fake.add("exports", JAPAN, CHIPS, 2024, month, 1_000_000 + month)
            fake.add("imports", JAPAN, CARS, 2024, month, 40_000_000 + month)
            fake.add("imports", JAPAN, PARTS, 2024, month, 3_000_000 + month)
        yield fake


def test_fetched_releases_build_and_the_revision_supersedes_within_usa(tmp_path, site):
    raw, warehouse = tmp_path / "raw", tmp_path / "trade.duckdb"
    # a Japan release of the same months: never superseded by the US's, nor the reverse
    write_release(raw, "2024-04-30_preliminary", {"a.csv": csv_text([
        row(1, 2024, "870323915", "304", {1: 100, 2: 200, 3: 300})])})
    assert fetch(raw, site, "2024-04-10") == 0
    assert build(raw, warehouse) == 0
    query = ("select flow, month, hs_code, country_code, value_thousand_jpy from "
             "core.trade_latest where reporter = 'USA' order by all")
    first = sql(warehouse, query)
    assert first == sorted(
        [(1, m, CHIPS, JAPAN, 1_000_000 + m) for m in (1, 2, 3)]
        + [(2, m, CARS, JAPAN, 40_000_000 + m) for m in (1, 2, 3)]
        + [(2, m, PARTS, JAPAN, 3_000_000 + m) for m in (1, 2, 3)])

    site.revise(2024, lambda r: r.value + 7)  # the June annual revision
    assert fetch(raw, site, "2024-06-12") == 0
    assert sorted(p.name for p in (raw / "USA").iterdir()) == [
        "2024-04-10_monthly", "2024-06-12_revised"]
    assert build(raw, warehouse) == 0
    assert sql(warehouse, query) == [(*r[:4], r[4] + 7) for r in first]
    # as of a day before the revision: the first vintage
    assert sql(warehouse, "select flow, month, hs_code, country_code, value_thousand_jpy "
               "from core.trade_facts join core.winning_releases(DATE '2024-05-01') as w "
               "using (release_id, reporter, flow, year, month) "
               "where reporter = 'USA' order by all") == first
    assert sql(warehouse, "select sum(value_thousand_jpy) from core.trade_latest "
               "where reporter = 'JPN'") == [(600,)]
    releases = sql(warehouse, "select release_id, reporter, stage, release_seq from "
                   "core.releases order by all")
    assert releases == [("2024-04-30_preliminary", "JPN", "preliminary", 1),
                        ("USA/2024-04-10_monthly", "USA", "monthly", 1),
                        ("USA/2024-06-12_revised", "USA", "revised", 2)]


def test_an_answer_of_every_level_loads_the_finest_codes_and_quarantines_the_rest(
        tmp_path, site):
    """A server that does not know COMM_LVL answers every level, HS2 to HS10: the subtotals are
    quarantined with their reason, every row is counted, and the totals are the HS10 lines'."""
    raw, warehouse = tmp_path / "raw", tmp_path / "trade.duckdb"
    site.reject_comm_lvl = True
    assert fetch(raw, site, "2024-04-10") == 0
    assert build(raw, warehouse) == 0
    read, loaded, quarantined = sql(warehouse, "select sum(rows_read), sum(rows_loaded), "
                                    "sum(rows_quarantined) from audit.releases "
                                    "where reporter = 'USA'")[0]
    # a month's subtotals: 85, 8542, 854231 (chips); 87, 8703, 8708, 870323, 870899 (cars, parts)
    assert read == loaded + quarantined and loaded == 9 and quarantined == 3 * (3 + 5)
    reasons = sql(warehouse, "select distinct reason from audit.quarantine "
                  "where reporter = 'USA' order by 1")
    assert all("is a subtotal of finer codes in this answer" in r for (r,) in reasons)
    assert sql(warehouse, "select sum(value_thousand_jpy), count(distinct length(hs_code)) "
               "from core.trade_latest where reporter = 'USA'") == [
        (sum(1_000_000 + m + 40_000_000 + m + 3_000_000 + m for m in (1, 2, 3)), 1)]
