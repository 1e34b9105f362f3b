"""Exchange rates fetched from FRED (`trade-etl fetch --fx`), kept as vintages, loaded by the build,
and named by every dollar figure; over real HTTP against tests/fred_site.py."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import build, csv_text, query, row, snapshot, write_release
from tests.fred_site import FakeFred, business_days
from trade_etl.app import cli
from trade_etl.formats import fx_rates
from trade_etl.formats.fx_rates import FxFormatError, monthly_means, parse_fred_csv
from trade_etl.serve.report import build_report

USA = "304"


def daily_rate(day: date) -> float:
    return 150 + day.month + day.day / 100  # distinct every day and every month


def fetch(raw: Path, site: FakeFred) -> int:
    return cli.main(["fetch", "--fx", "--fx-base-url", site.base_url, "--raw-dir", str(raw)])


def vintage_files(raw: Path) -> list[str]:
    return sorted(str(p.relative_to(raw)) for p in (raw / ".fx").rglob("*")
                  if p.is_file() and p.name != ".lock")


@pytest.fixture
def fred(monkeypatch):
    monkeypatch.setenv("TRADE_ETL_FETCH_PAUSE", "0")
    monkeypatch.setenv("TRADE_ETL_FETCH_BACKOFF", "0.01")
    monkeypatch.setenv("TRADE_ETL_FETCH_ATTEMPTS", "3")
    with FakeFred() as site:
        # DEXJPUS as older downloads give it (DATE, '.' for a holiday), EXJPUS as newer ones.
        site.publish("DEXJPUS", business_days(date(2026, 5, 1), date(2026, 7, 10), daily_rate,
                                              {date(2026, 5, 12), date(2026, 7, 3)}),
                     date_header="DATE", missing=".")
        site.publish("EXJPUS", {date(2026, m, 1): f"{140 + m:.4f}" for m in range(1, 6)})
        yield site


def _release(raw: Path, release_id: str, months: list[int]) -> None:
    values = {m: 1_000_000 * m for m in months}  # thousand yen
    write_release(raw, release_id, {"trade.csv": csv_text([
        row(1, 2026, "870323915", USA, values), row(2, 2026, "270900000", USA,
                                                    {m: v // 4 for m, v in values.items()})])})


def _usd(wh: Path, period: str) -> tuple:
    return query(wh, "select exports_jpy, exports_usd, balance_usd from marts.balance_total "
                 "where period = ?", [period])[0]


def test_rates_fetched_kept_loaded_and_named(tmp_path, fred, capsys):
    raw, wh = tmp_path / "raw", tmp_path / "wh" / "trade.duckdb"
    _release(raw, "2026-07-15_preliminary", [4, 5, 6])
    _release(raw, "2026-08-20_preliminary", [7])

    # First fetch: one vintage per series, with its manifest.
    assert fetch(raw, fred) == 0
    files = vintage_files(raw)
    assert [Path(f).suffix for f in files] == [".csv", ".json", ".csv", ".json"], files
    (daily,) = fx_rates.vintages(raw, "DEXJPUS")
    assert daily.csv.read_bytes() == fred.body("DEXJPUS")
    assert daily.manifest["url"] == f"{fred.base_url}/graph/fredgraph.csv?id=DEXJPUS"
    assert (daily.manifest["first_date"], daily.manifest["last_date"]) == (
        "2026-05-01", "2026-07-10")
    assert fx_rates.sha256_of(daily.csv) == daily.manifest["sha256"]
    # The same download again is not kept twice; release discovery never sees .fx.
    assert fetch(raw, fred) == 0
    assert vintage_files(raw) == files
    assert "unchanged" in capsys.readouterr().out

    assert build(raw, wh) == 0
    summary = capsys.readouterr().out
    assert summary.count("warning:") == 1
    assert "no monthly rate for 2026-07" in summary and "trade-etl fetch --fx" in summary
    # A day after the shipped series' end gets its rate; fetched wins where both exist; the
    # shipped CSV fills the days the download lacks.
    rates = dict((d, (r, s)) for d, r, s in query(wh, "select * from ref.fx_daily"))
    assert rates[date(2026, 7, 10)] == (daily_rate(date(2026, 7, 10)), daily.source)
    assert rates[date(2026, 5, 15)] == (daily_rate(date(2026, 5, 15)), daily.source)
    assert rates[date(2026, 4, 30)][1] == "shipped"
    assert rates[date(2026, 5, 12)][1] == "shipped"  # '.' in the download: the CSV's rate
    assert date(2026, 7, 3) not in rates  # a holiday in the download, after the shipped end
    monthly = dict((m, (r, s)) for m, r, s in query(wh, "select * from ref.fx_monthly"))
    assert monthly["2026-05"][0] == 145.0 and monthly["2026-05"][1].startswith("fred:EXJPUS/")
    june = [Decimal(f"{daily_rate(d):.2f}") for d in business_days(
        date(2026, 6, 1), date(2026, 6, 30), daily_rate)]
    june_mean = (sum(june) / len(june)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    assert monthly["2026-06"] == (float(june_mean), f"{daily.source} mean")
    assert "2026-07" not in monthly  # the daily series stops mid-July: no mean of part of it

    # Dollars: June at June's rate; July has no rate, so no dollars (not June's rate), and
    # neither has the fiscal year.
    jpy, usd, _ = _usd(wh, "2026-06")
    assert usd == float(round(Decimal(jpy) / june_mean, 2))
    assert _usd(wh, "2026-07")[1:] == (None, None)
    assert _usd(wh, "FY2026")[1:] == (None, None)
    assert query(wh, "select count(*) from marts.balance_by_partner where period = '2026-07' "
                 "and (exports_usd is not null or balance_usd is not null)") == [(0,)]

    # The brief names the missing rates in one line, with the command, and no dollar figure.
    assert cli.main(["brief", "--warehouse", str(wh), "--fiscal-year", "2026",
                     "--partner", "USA"]) == 0
    brief = capsys.readouterr().out
    missing = [line for line in brief.splitlines() if "rates missing" in line]
    assert "no dollar figures (see the missing rates above)" in brief
    assert len(missing) == 1, brief
    assert "release day 2026-08-20" in missing[0] and "ends 2026-07-10" in missing[0]
    assert "no monthly rate for 2026-07 (ref.fx_monthly ends 2026-06)" in missing[0]
    assert "trade-etl fetch --fx" in missing[0]
    assert "$" not in brief
    # As of the first release, the release day has a rate (the 10th: the last in the week
    # before, same month) and every month one: each dollar figure names its rate.
    assert cli.main(["brief", "--warehouse", str(wh), "--fiscal-year", "2026",
                     "--as-of", "2026-07-15"]) == 0
    early = capsys.readouterr().out
    assert "rates missing" not in early
    assert (f"at {daily_rate(date(2026, 7, 10)):.2f} yen/$ (FRED DEXJPUS 2026-07-10, fetched "
            f"{daily.name}; daily series to 2026-07-10)") in early
    assert "at monthly average rates (FRED 2026-04 … 2026-06" in early
    assert "monthly series to 2026-06)" in early
    conn = duckdb.connect(str(wh), read_only=True)
    try:
        report = build_report(conn, 2026, "USA")
    finally:
        conn.close()
    reading = next(c for c in report.charts if c.key == "currencies").reading
    assert "Rates missing: no daily rate for the release day 2026-08-20" in reading
    assert "no monthly rate for 2026-07" in reading and "trade-etl fetch --fx" in reading

    # A server error: retried, then exit 1; the vintages held stay, and builds keep them.
    fred.fail("DEXJPUS", 500, 503, 500)
    assert fetch(raw, fred) == 1
    err = capsys.readouterr().err
    assert "DEXJPUS: failed" in err and "failed after 3 attempts (last: HTTP 500)" in err
    assert fred.requests.count("DEXJPUS") == 2 + 3  # two good fetches, then three attempts
    assert vintage_files(raw) == files
    assert build(raw, wh) == 0
    assert "is up to date" in capsys.readouterr().err  # the rates it uses did not change

    # A malformed CSV: exit 2 naming the URL and line; nothing kept, not even the good series.
    fred.publish("DEXJPUS", business_days(date(2026, 5, 1), date(2026, 8, 21), daily_rate))
    fred.fail("EXJPUS", b"observation_date,EXJPUS\n2026-01-01,141.0\n2026-02-15,142.0\n")
    assert fetch(raw, fred) == 2
    err = capsys.readouterr().err
    assert (f"{fred.base_url}/graph/fredgraph.csv?id=EXJPUS line 3: monthly date 2026-02-15 "
            "is not the 1st of a month") in err
    assert "nothing was kept" in err
    assert vintage_files(raw) == files

    # A second fetch with new days: a new vintage, and the next build uses it.
    assert fetch(raw, fred) == 0
    capsys.readouterr()
    newer = fx_rates.vintages(raw, "DEXJPUS")
    assert len(newer) == 2 and newer[-1].manifest["last_date"] == "2026-08-21"
    assert len(fx_rates.vintages(raw, "EXJPUS")) == 1  # unchanged: not kept twice
    assert build(raw, wh) == 0
    assert "warning:" not in capsys.readouterr().out
    assert query(wh, "select source from ref.fx_daily where date = '2026-08-20'") == [
        (newer[-1].source,)]
    assert query(wh, "select source from ref.fx_monthly where month = '2026-07'") == [
        (f"{newer[-1].source} mean",)]
    assert _usd(wh, "FY2026")[1] is not None
    assert cli.main(["brief", "--warehouse", str(wh), "--fiscal-year", "2026",
                     "--partner", "USA"]) == 0
    brief = capsys.readouterr().out
    assert "rates missing" not in brief
    assert f"(FRED DEXJPUS 2026-08-20, fetched {newer[-1].name}; daily series to 2026-08-21)" \
        in brief

    # The incremental build equals a clean build of the same raw folder.
    clean_raw, clean_wh = tmp_path / "clean_raw", tmp_path / "clean" / "trade.duckdb"
    shutil.copytree(raw, clean_raw)
    assert build(clean_raw, clean_wh) == 0
    tables = ("ref.fx_daily", "ref.fx_monthly", "marts.balance_total", "marts.balance_by_partner")
    assert snapshot(wh, tables) == snapshot(clean_wh, tables)


def test_both_header_spellings_and_holiday_markers_parse():
    old = "DATE,DEXJPUS\n2018-01-01,.\n2018-01-02,112.18\n"
    new = "observation_date,DEXJPUS\r\n2018-01-01,\r\n2018-01-02,112.18\r\n"
    for text in (old, new, "\ufeff" + new):
        assert parse_fred_csv(text, "DEXJPUS", "u") == [
            (date(2018, 1, 1), None), (date(2018, 1, 2), Decimal("112.18"))]


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("", 1, "empty"),
    ("DATE,EXJPUS\n2018-01-01,1\n", 1, "header 'DATE,EXJPUS' is not DATE,DEXJPUS"),
    ("DATE,DEXJPUS\n2018-01-02,1.5\n2018-01-02,1.6\n", 3, "does not come after 2018-01-02"),
    ("DATE,DEXJPUS\n2018-01-03,1.5\n2018-01-02,1.6\n", 3, "does not come after"),
    ("DATE,DEXJPUS\n2018-1-3,1.5\n", 2, "is not YYYY-MM-DD"),
    ("DATE,DEXJPUS\n2018-02-30,1.5\n", 2, "is not YYYY-MM-DD"),
    ("DATE,DEXJPUS\n2018-01-02,-1.5\n", 2, "is not a positive decimal"),
    ("DATE,DEXJPUS\n2018-01-02,0\n", 2, "is not a positive decimal"),
    ("DATE,DEXJPUS\n2018-01-02,1e3\n", 2, "is not a positive decimal"),
    ("DATE,DEXJPUS\n2018-01-02,1.5,x\n", 2, "3 fields instead of 2"),
    ("DATE,DEXJPUS\n2018-01-02,1.5\n\n2018-01-03,1.5\n", 3, "1 fields instead of 2"),
    ("DATE,DEXJPUS\n2018-01-02,\n2018-01-03,.\n", 3, "no DEXJPUS rate"),
    ("<html><body>Maintenance</body></html>\n", 1, "is not DATE,DEXJPUS"),
])
def test_malformed_csvs_name_the_line_and_reason(text, line, reason):
    with pytest.raises(FxFormatError) as caught:
        parse_fred_csv(text, "DEXJPUS", "http://x/graph/fredgraph.csv?id=DEXJPUS")
    assert caught.value.line == line and reason in caught.value.reason
    assert str(caught.value).startswith(f"http://x/graph/fredgraph.csv?id=DEXJPUS line {line}:")


def test_monthly_rows_must_be_dated_the_first():
    with pytest.raises(FxFormatError, match="line 2: monthly date 2025-01-02"):
        parse_fred_csv("observation_date,EXJPUS\n2025-01-02,150.1\n", "EXJPUS", "u")


def test_monthly_means_only_for_months_covered_whole_rounded_half_up():
    days = [(date(2026, 1, 30), Decimal("100.00")),  # January begins before the series
            (date(2026, 2, 2), Decimal("150.00")), (date(2026, 2, 3), Decimal("150.01")),
            (date(2026, 2, 4), None), (date(2026, 2, 5), Decimal("150.00")),
            (date(2026, 2, 6), Decimal("150.00")),
            (date(2026, 3, 2), Decimal("151.00"))]  # March has only begun
    # February: (150 + 150.01 + 150 + 150) / 4 = 150.0025 -> 150.0025; the holiday left out.
    assert monthly_means(days) == {"2026-02": Decimal("150.0025")}
    halves = [(date(2026, 2, 2), Decimal("150.00")), (date(2026, 2, 3), Decimal("150.01")),
              (date(2026, 2, 4), Decimal("150.00")), (date(2026, 2, 5), Decimal("150.00")),
              (date(2026, 2, 6), Decimal("150.00")), (date(2026, 2, 9), Decimal("150.00")),
              (date(2026, 2, 10), Decimal("150.00")), (date(2026, 2, 11), Decimal("150.00")),
              (date(2026, 3, 2), None)]
    # 1200.01 / 8 = 150.00125 -> half-up 150.0013 (not banker's 150.0012)
    assert monthly_means([(date(2026, 2, 1), None), *halves]) == {"2026-02": Decimal("150.0013")}


def test_a_vintage_changed_after_download_is_not_used(tmp_path, fred):
    raw = tmp_path / "raw"
    assert fetch(raw, fred) == 0
    fred.publish("DEXJPUS", business_days(date(2026, 5, 1), date(2026, 7, 17), daily_rate))
    assert fetch(raw, fred) == 0
    first, second = fx_rates.vintages(raw, "DEXJPUS")
    second.csv.write_text(second.csv.read_text().replace("2026-07-17", "2026-07-18"))
    used, _rows, problems = fx_rates.newest_usable(raw, "DEXJPUS")
    assert used.name == first.name
    assert problems and "sha256" in problems[0]


def test_the_release_day_rate_never_comes_from_another_month():
    from trade_etl.serve.brief import release_day_rate

    conn = duckdb.connect()
    conn.execute("create schema ref; create table ref.fx_daily (date date, jpy_per_usd double, "
                 "source varchar); insert into ref.fx_daily values "
                 "('2026-05-29', 159.1, 'shipped'), ('2026-06-03', 160.2, 'shipped')")
    assert release_day_rate(conn, date(2026, 6, 1)) is None  # Monday: Friday was in May
    assert release_day_rate(conn, date(2026, 5, 31)) == (date(2026, 5, 29), 159.1, "shipped")
    assert release_day_rate(conn, date(2026, 6, 5)) == (date(2026, 6, 3), 160.2, "shipped")


def test_the_dagster_asset_fetches_the_rates_and_fails_on_a_server_error(tmp_path, fred,
                                                                          monkeypatch):
    import dagster as dg

    from trade_etl.defs.fetch.assets import fx_rates
    from trade_etl.defs.resources import RawDirectory, TradeEtlConfig

    raw = tmp_path / "raw"
    monkeypatch.setenv("TRADE_ETL_FX_BASE_URL", fred.base_url)
    resources = {"raw_dir": RawDirectory(path=str(raw)), "trade_etl": TradeEtlConfig()}
    result = dg.materialize([fx_rates], resources=resources)
    metadata = result.asset_materializations_for_node("raw__fx_rates")[0].metadata
    assert metadata["DEXJPUS"].value.startswith("new ")
    held = vintage_files(raw)
    assert len(held) == 4
    fred.fail("EXJPUS", 500, 500, 500)
    failed = dg.materialize([fx_rates], resources=resources, raise_on_error=False)
    assert not failed.success
    assert vintage_files(raw) == held


def test_fx_flags_are_not_mixed_with_the_release_fetch(tmp_path, capsys):
    raw = str(tmp_path / "raw")
    assert cli.main(["fetch", "--fx", "--years", "2025", "--raw-dir", raw]) == 2
    assert "--fx fetches only the exchange rates and takes no --years" in capsys.readouterr().err
    assert cli.main(["fetch", "--fx-base-url", "http://127.0.0.1:9", "--raw-dir", raw]) == 2
    assert "give it with --fx" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()
