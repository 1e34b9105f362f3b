"""Spark 3.5 reads the lake (trade_etl/lake/iceberg.py) through Iceberg's JdbcCatalog on the same
sqlite catalog pyiceberg writes, and computes marts.balance_by_partner and marts.balance_total
from the published fact and reference tables, in Spark SQL, equal to the DuckDB warehouse's own
marts to the yen (and, as it happens, on every column).

Two vintages: the one-year sample without its last release (publish 1), then with it (publish
2, the "fixed" release superseding earlier figures). Spark follows the read protocol of
docs/lake.md: every input table is read at its snapshot from trade_etl.publish_log.

Run by `make test-engines` (engines/README.md), never by `make test` (testpaths = tests)."""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from trade_etl import settings
from trade_etl.lake import iceberg
from trade_etl.sample import write_sample
from trade_etl.serve import cli

CATALOG = "trade_etl"  # the Spark catalog: the name pyiceberg records its tables under
LAKE = f"{CATALOG}.{iceberg.NAMESPACE}"  # trade_etl.trade_etl.<table>
INPUTS = ("core_trade_facts", "core_releases", "core_hs_code_sectors", "core_period_months",
          "ref_countries", "ref_fx_monthly")
MARTS = {  # warehouse mart: (the Spark view computing it, its grain)
    "marts.balance_total": ("spark_balance_total", ("period_type", "period")),
    "marts.balance_by_partner": ("spark_balance_by_partner",
                                 ("period_type", "period", "partner_code")),
}
YEN = ("exports_jpy", "imports_jpy", "balance_jpy")
PERIOD_TYPES = {"month", "calendar_quarter", "calendar_year", "fiscal_quarter", "fiscal_half",
                "fiscal_year"}

# The warehouse's SQL (sql/core/release_coverage.sql, winning_releases.sql,
# trade_release_monthly.sql, trade_monthly_as_of.sql, balance_as_of.sql; sql/marts/
# balance_total_as_of.sql and balance_by_partner_as_of.sql on DATE '9999-12-31', which is what
# marts.* hold) in Spark SQL, over temporary views named after the lake tables (INPUTS).
BALANCE_VIEWS = (("spark_monthly", """
with

-- core.release_coverage: the (flow, year, month, HS chapter) cells each release reports
coverage as (
    select distinct release_id, flow, year, month, left(hs_code, 2) as hs_chapter
    from core_trade_facts
),

-- core.winning_releases: each cell from the latest release (release_seq) that reports it
ranked as (
    select
        coverage.release_id, coverage.flow, coverage.year, coverage.month, coverage.hs_chapter,
        row_number() over (
            partition by coverage.flow, coverage.year, coverage.month, coverage.hs_chapter
            order by releases.release_seq desc
        ) as rank_in_cell
    from coverage
    inner join core_releases as releases on coverage.release_id = releases.release_id
    where releases.published_on <= date '9999-12-31'
),

winners as (
    select release_id, flow, year, month, hs_chapter from ranked where rank_in_cell = 1
),

-- core.trade_release_monthly of the winning cells (core.trade_monthly_as_of); the sector columns
-- of that grain do not change partner and total sums, so they are left out
monthly as (
    select
        facts.flow, facts.year, facts.month, sectors.hs_chapter, facts.country_code,
        sum(facts.value_thousand_jpy) as value_thousand_jpy
    from core_trade_facts as facts
    inner join core_hs_code_sectors as sectors on facts.hs_code = sectors.hs_code
    inner join winners
        on facts.release_id = winners.release_id
        and facts.flow = winners.flow
        and facts.year = winners.year
        and facts.month = winners.month
        and sectors.hs_chapter = winners.hs_chapter
    group by facts.flow, facts.year, facts.month, sectors.hs_chapter, facts.country_code
)

select * from monthly
"""), ("spark_balance", """
with

monthly as (
    select * from spark_monthly
),

by_dimension as (
    select 'total' as dimension, '' as dimension_key, year, month, flow, value_thousand_jpy
    from monthly
    union all
    select 'partner', country_code, year, month, flow, value_thousand_jpy
    from monthly
),

month_totals as (
    select
        dimension, dimension_key, year, month,
        coalesce(sum(case when flow = 1 then value_thousand_jpy end), 0) * 1000 as exports_jpy,
        coalesce(sum(case when flow = 2 then value_thousand_jpy end), 0) * 1000 as imports_jpy
    from by_dimension
    group by dimension, dimension_key, year, month
),

month_usd as (
    select month_totals.*, fx.jpy_per_usd
    from month_totals
    left join ref_fx_monthly as fx
        on fx.month = format_string('%04d-%02d', month_totals.year, month_totals.month)
),

reported_months as (
    select distinct year, month from monthly
),

period_months_reported as (
    select calendar.period_type, calendar.period, calendar.year, calendar.month
    from reported_months
    inner join core_period_months as calendar
        on reported_months.year = calendar.year and reported_months.month = calendar.month
),

reported as (
    select period_type, period, count(*) as months_reported
    from period_months_reported
    group by period_type, period
),

comparable_months as (
    select current_months.period_type, current_months.period,
        current_months.year - 1 as year, current_months.month
    from period_months_reported as current_months
    inner join reported_months
        on reported_months.year = current_months.year - 1
        and reported_months.month = current_months.month
),

comparable as (
    select period_type, period, count(*) as months_comparable
    from comparable_months
    group by period_type, period
),

prior as (
    select
        month_totals.dimension, month_totals.dimension_key,
        comparable_months.period_type, comparable_months.period,
        sum(month_totals.exports_jpy) as exports_jpy,
        sum(month_totals.imports_jpy) as imports_jpy
    from comparable_months
    inner join month_totals
        on comparable_months.year = month_totals.year
        and comparable_months.month = month_totals.month
    group by month_totals.dimension, month_totals.dimension_key,
        comparable_months.period_type, comparable_months.period
),

periods as (
    select
        month_usd.dimension, month_usd.dimension_key,
        calendar.period_type, calendar.period, calendar.period_start, calendar.period_end,
        sum(month_usd.exports_jpy) as exports_jpy,
        sum(month_usd.imports_jpy) as imports_jpy,
        case when count(month_usd.jpy_per_usd) = count(*)
            then sum(cast(month_usd.exports_jpy / month_usd.jpy_per_usd as decimal(38, 6)))
            end as exports_usd,
        case when count(month_usd.jpy_per_usd) = count(*)
            then sum(cast(month_usd.imports_jpy / month_usd.jpy_per_usd as decimal(38, 6)))
            end as imports_usd
    from month_usd
    inner join core_period_months as calendar
        on month_usd.year = calendar.year and month_usd.month = calendar.month
    group by month_usd.dimension, month_usd.dimension_key,
        calendar.period_type, calendar.period, calendar.period_start, calendar.period_end
)

select
    cur.dimension, cur.dimension_key,
    cur.period_type, cur.period, cur.period_start, cur.period_end,
    reported.months_reported,
    cur.exports_jpy, cur.imports_jpy, cur.exports_jpy - cur.imports_jpy as balance_jpy,
    cast(round(cur.exports_usd, 2) as double) as exports_usd,
    cast(round(cur.imports_usd, 2) as double) as imports_usd,
    cast(round(cur.exports_usd - cur.imports_usd, 2) as double) as balance_usd,
    case when comparable.months_comparable = reported.months_reported
        then round(100 * (cur.exports_jpy / nullif(prior.exports_jpy, 0) - 1), 2)
        end as exports_yoy_pct,
    case when comparable.months_comparable = reported.months_reported
        then round(100 * (cur.imports_jpy / nullif(prior.imports_jpy, 0) - 1), 2)
        end as imports_yoy_pct
from periods as cur
inner join reported
    on cur.period_type = reported.period_type and cur.period = reported.period
left join comparable
    on cur.period_type = comparable.period_type and cur.period = comparable.period
left join prior
    on cur.dimension = prior.dimension
    and cur.dimension_key = prior.dimension_key
    and cur.period_type = prior.period_type
    and cur.period = prior.period
"""), ("spark_balance_total", """
select
    period_type, period, period_start, period_end, months_reported,
    exports_jpy, imports_jpy, balance_jpy, exports_usd, imports_usd, balance_usd,
    exports_yoy_pct, imports_yoy_pct
from spark_balance
where dimension = 'total'
"""), ("spark_balance_by_partner", """
select
    balances.period_type, balances.period, balances.period_start, balances.period_end,
    balances.months_reported,
    balances.dimension_key as partner_code,
    countries.country_name as partner_name,
    countries.iso3 as partner_iso3,
    countries.area,
    balances.exports_jpy, balances.imports_jpy, balances.balance_jpy,
    balances.exports_usd, balances.imports_usd, balances.balance_usd,
    balances.exports_yoy_pct, balances.imports_yoy_pct
from spark_balance as balances
left join ref_countries as countries on balances.dimension_key = countries.country_code
where balances.dimension = 'partner'
"""))


# Spark inlines views and CTEs: without this the monthly figures (used several times over) and the
# balances (both marts come from them) would be computed again at each use. (CACHE TABLE does
# not help here: Spark 3.5 does not match these views' plans, which scan the facts twice, to the
# cached copy, as EXPLAIN shows; a local checkpoint is taken as it is.)
MATERIALIZED = ("spark_monthly", "spark_balance")


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple]

    def project(self, wanted: tuple[str, ...]) -> list[tuple]:
        index = [self.columns.index(c) for c in wanted]
        return [tuple(row[i] for i in index) for row in self.rows]


@dataclass
class Lake:
    warehouse: Path
    config: settings.LakeConfig
    catalog_sha256: str  # of the sqlite catalog after the last publish
    marts: dict[int, dict[str, Table]]  # publish_seq -> DuckDB's marts when it was published


def duckdb_marts(warehouse: Path) -> dict[str, Table]:
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for mart in MARTS:
            result = conn.execute(f"select * from {mart}")
            out[mart] = Table([d[0] for d in result.description], result.fetchall())
        return out
    finally:
        conn.close()


def sqlite_path(config: settings.LakeConfig) -> Path:
    assert config.catalog_uri.startswith("sqlite:///"), config.catalog_uri
    return Path(config.catalog_uri.removeprefix("sqlite:///"))


@pytest.fixture(scope="module")
def lake(tmp_path_factory, dagster_home) -> Lake:
    """The one-year sample built and published twice to one sqlite catalog: without its last
    release (publish 1), then with it (publish 2)."""
    tmp = tmp_path_factory.mktemp("engines")
    releases = write_sample(tmp / "all", years=(2024,))
    raw, warehouse = tmp / "raw", tmp / "trade.duckdb"
    config = settings.lake_config(default_dir=tmp / "lake")
    marts: dict[int, dict[str, Table]] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(settings.QUIET_ENV, "0")
        mp.setenv(settings.RAW_DIR_ENV, str(raw))
        mp.setenv(settings.WAREHOUSE_ENV, str(warehouse))
        for seq, folders in ((1, releases[:-1]), (2, releases[-1:])):
            raw.mkdir(exist_ok=True)
            for folder in folders:
                shutil.copytree(folder, raw / folder.name)
            assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(warehouse),
                             "--quiet"]) == 0
            result = iceberg.publish(warehouse, config)
            assert result.publish_seq == seq
            marts[seq] = duckdb_marts(warehouse)
    digest = hashlib.sha256(sqlite_path(config).read_bytes()).hexdigest()
    return Lake(warehouse, config, digest, marts)


def spark_conf(config: settings.LakeConfig, scratch: Path, jars: str) -> dict[str, str]:
    """A local Spark on the lake's catalog: two cores, 1 GB, offline (jars given as files)."""
    prefix = f"spark.sql.catalog.{CATALOG}"
    return {
        "spark.master": "local[2]",
        "spark.driver.memory": "1g",
        "spark.jars": jars,  # never spark.jars.packages: no Maven here
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.ansi.enabled": "true",  # an overflowing sum fails instead of wrapping
        "spark.sql.session.timeZone": "UTC",
        "spark.local.dir": str(scratch / "local"),
        "spark.sql.warehouse.dir": (scratch / "spark-warehouse").as_uri(),
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        f"{prefix}.uri": f"jdbc:sqlite:{sqlite_path(config)}",
        f"{prefix}.jdbc.schema-version": "V1",  # pyiceberg's iceberg_tables has iceberg_type
        f"{prefix}.warehouse": config.warehouse_uri,
    }


@pytest.fixture(scope="module")
def spark(lake: Lake, spark_env, tmp_path_factory):
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAVA_HOME", spark_env["JAVA_HOME"])
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder.appName("trade_etl-engines")
        for key, value in spark_conf(lake.config, scratch, spark_env["SPARK_JARS"]).items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()


def rows(spark, sql: str) -> list[tuple]:
    return [tuple(row) for row in spark.sql(sql).collect()]


def assert_same(actual: list[tuple], expected: list[tuple], what: str) -> None:
    """Equal as multisets of rows; else show a few rows from each side."""
    a, e = Counter(actual), Counter(expected)
    if a == e:
        return
    extra, lost = list((a - e).elements()), list((e - a).elements())
    pytest.fail(f"{what}: {len(actual)} rows from Spark, {len(expected)} from DuckDB; "
                f"{len(extra)} only in Spark, e.g. {extra[:3]}; "
                f"{len(lost)} only in DuckDB, e.g. {lost[:3]}")


def snapshots(spark, publish_seq: int) -> dict[str, int]:
    """The read protocol in Spark: each table's snapshot in one publish of publish_log."""
    return {name: snap for name, snap in rows(
        spark, f"select table_name, snapshot_id from {LAKE}.publish_log "
               f"where publish_seq = {int(publish_seq)}")}


def compute_marts(spark, publish_seq: int) -> dict[str, Table]:
    """The two marts as Spark SQL computes them from the inputs of one vintage."""
    snap = snapshots(spark, publish_seq)
    for name in INPUTS:
        spark.sql(f"create or replace temporary view {name} as "
                  f"select * from {LAKE}.{name} version as of {int(snap[name])}")
    for view, select in BALANCE_VIEWS:
        spark.sql(f"create or replace temporary view {view} as {select}")
        if view in MATERIALIZED:
            spark.table(view).localCheckpoint().createOrReplaceTempView(view)
    out = {}
    for mart, (view, _) in MARTS.items():
        frame = spark.table(view)
        out[mart] = Table(frame.columns, [tuple(r) for r in frame.collect()])
    return out


def test_spark_lists_the_lake(lake: Lake, spark):
    listed = {row[1] for row in rows(spark, f"show tables in {LAKE}")}
    catalog = iceberg.open_catalog(lake.config)
    assert listed == {name for _, name in catalog.list_tables(iceberg.NAMESPACE)}
    assert {*INPUTS, "marts_balance_total", "marts_balance_by_partner", "publish_log"} <= listed


@pytest.mark.parametrize("publish_seq", [1, 2])
def test_spark_sql_computes_the_marts_as_duckdb(lake: Lake, spark, publish_seq: int):
    """Spark SQL over the published facts and reference tables of one vintage equals DuckDB's
    marts of that vintage: to the yen on the grain, and on every other column too."""
    computed = compute_marts(spark, publish_seq)
    for mart, (_, grain) in MARTS.items():
        duck, mine = lake.marts[publish_seq][mart], computed[mart]
        assert mine.columns == duck.columns
        assert {row[0] for row in duck.rows} == PERIOD_TYPES  # month ... fiscal_year, all
        assert_same(mine.project(grain + YEN), duck.project(grain + YEN),
                    f"{mart} (publish {publish_seq}), grain and yen")
        assert_same(mine.rows, duck.rows, f"{mart} (publish {publish_seq}), every column")
    # Supersession is exercised: summing every release's figures would count months twice.
    snap = snapshots(spark, publish_seq)["core_trade_facts"]
    [(naive,)] = rows(spark, f"select sum(value_thousand_jpy) * 1000 from "
                             f"{LAKE}.core_trade_facts version as of {snap} "
                             "where flow = 1 and year = 2024")
    total = lake.marts[publish_seq]["marts.balance_total"]
    exports = {(kind, period): value for kind, period, value in total.project(
        ("period_type", "period", "exports_jpy"))}[("calendar_year", "CY2024")]
    assert naive > exports > 0


def test_the_vintages_differ(lake: Lake):
    """The last release revises figures, so time travel below has something to tell apart."""
    for mart, (_, grain) in MARTS.items():
        assert Counter(lake.marts[1][mart].project(grain + YEN)) != Counter(
            lake.marts[2][mart].project(grain + YEN)), mart


def test_spark_reads_a_published_mart_as_duckdb_holds_it(lake: Lake, spark):
    frame = spark.sql(f"select * from {LAKE}.marts_balance_total")
    duck = lake.marts[2]["marts.balance_total"]
    assert frame.columns == duck.columns
    assert_same([tuple(r) for r in frame.collect()], duck.rows,
                "marts_balance_total read by Spark, every column")


def test_spark_time_travel_by_publish_log(lake: Lake, spark):
    """`VERSION AS OF` the snapshot publish_log names gives each vintage's mart, as DuckDB held
    it then; the snapshot ids are those pyiceberg's read protocol finds."""
    catalog = iceberg.open_catalog(lake.config)
    seen = {}
    for seq in (1, 2):
        snap = snapshots(spark, seq)["marts_balance_total"]
        assert snap == iceberg.snapshot_of(catalog, "marts.balance_total", seq)
        seen[seq] = snap
        assert_same(rows(spark, f"select * from {LAKE}.marts_balance_total version as of {snap}"),
                    lake.marts[seq]["marts.balance_total"].rows,
                    f"marts_balance_total version as of publish {seq}'s snapshot {snap}")
    assert seen[1] != seen[2]
    history = {snap for (snap,) in rows(
        spark, f"select snapshot_id from {LAKE}.marts_balance_total.snapshots")}
    assert {seen[1], seen[2]} <= history
    # Reading never wrote to the catalog.
    assert hashlib.sha256(sqlite_path(lake.config).read_bytes()).hexdigest() \
        == lake.catalog_sha256
