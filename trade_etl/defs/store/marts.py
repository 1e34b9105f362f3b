"""Marts: trade balances by partner, region, HS section, sector and period, latest and as of any
date, revisions from first publication, quantities and unit values by HS code and partner, and
trade by named HS heading and subheading. These tables, views and macros are the public
interface (docs/warehouse.md). Beside them, audit/unknown_codes: the export codes of the figures
that the year's code list does not hold."""

from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from trade_etl.db import sql_text, transaction
from trade_etl.defs.columns import columns_of
from trade_etl.defs.ingest.assets import TRADE_FACTS
from trade_etl.defs.metadata import markdown_table
from trade_etl.defs.resources import WAREHOUSE_WRITER, warehouse_connection
from trade_etl.defs.store.core import (
    HS_CODE_SECTORS,
    PERIOD_MONTHS,
    RELEASE_COVERAGE,
    TRADE_LATEST,
    TRADE_RELEASE_MONTHLY,
)
from trade_etl.formats import schema
from trade_etl.ingest.reference import REF_TABLES
from trade_etl.store.incremental import (
    changed_months,
    combine,
    is_current,
    month_stamps,
    period_range,
    record_months,
    record_token,
    record_whole,
    recorded_tokens,
    release_tokens,
    table_token,
)
from trade_etl.store.warehouse import (
    build_as_of,
    create_as_of_macro,
    create_table_macro,
    create_view,
    insert_as_of,
    rebuild_table,
    session_variable,
)
from trade_etl.text import visible
from trade_etl.versions import code_version

REF_DEPS = [dg.AssetKey(["ref", t]) for t in ("countries", "country_groups", "hs_sections",
                                              "hs_chapters", "sectors", "fx_monthly",
                                              "official_totals")]
# Every mart, its description, preview and checks are declared once, in schema.TABLES; the
# assets below are generated from the tables each one builds (`built_by`).
BALANCE_MARTS = schema.built_by("balance_marts")
QUANTITY_MARTS = schema.built_by("quantity_marts")
# The commodity dictionary (ref.hs_headings, …): names on the marts, the lists codes are judged by
DICTIONARY_DEPS = [dg.AssetKey(["ref", t]) for t in ("hs_headings", "hs_subheadings",
                                                     "hs9_codes", "hs_chapters")]
UNKNOWN_CODES = dg.AssetKey(["audit", "unknown_codes"])
# The rows of audit.official_totals_diff as the check totals_match_official last computed them
# (bookkeeping: schema.INTERNAL), and the view's SQL.
OFFICIAL_CHECKED, OFFICIAL_DIFF_SQL = "audit.official_totals_checked", "checks/official_totals_diff"
COMPARABLE_MARTS = schema.built_by("comparable_marts")


def _key(table: str) -> dg.AssetKey:
    """The asset key of a table: `marts.balance_total` is marts/balance_total."""
    return dg.AssetKey(table.split("."))


def _mart(name: str) -> dg.AssetKey:
    return _key(f"marts.{name}")


def check_specs(tables: list[str]) -> list[dg.AssetCheckSpec]:
    """The spec'd reconciliations of `tables`: blocking; a check reads other marts too, so the
    multi-asset runs the checks after every selected mart is built."""
    return [dg.AssetCheckSpec(check["name"], asset=_key(table), blocking=True,
                              description=check["description"],
                              additional_deps=[_key(other) for other in check["reads"]])
            for table in tables for check in schema.checks(table)]


# Reconciliation: every mart agrees with the others, with the fact store and with the Ministry's
# published totals, to the yen.
RECONCILIATION_CHECKS = check_specs(BALANCE_MARTS)


def preview(conn, table: str, fiscal_year: str | None = None) -> dg.MetadataValue:
    """The table's spec'd preview: its first ten rows in the spec's order, of the given
    (latest complete) fiscal year when the table has periods."""
    spec = schema.TABLES[table]["preview"]
    query = f"select {spec['select']} from {table}"
    if "period_type" in schema.TABLES[table]["columns"]:
        rows = conn.sql(f"{query} where period_type = 'fiscal_year' and period = $fy "
                        f"order by {spec['order']} limit 10", params={"fy": fiscal_year}).pl()
        head = f"**{fiscal_year or 'no complete fiscal year'}**, {spec['title']}"
    else:
        rows = conn.sql(f"{query} order by {spec['order']} limit 10").pl()
        head = f"**{spec['title'].capitalize()}**"
    return dg.MetadataValue.md(f"{head}\n\n{markdown_table(rows)}")


def latest_complete_fiscal_year(conn) -> str | None:
    """The latest fiscal year whose twelve months Japan's releases report (from the coverage:
    a view's own rows would be computed to find it)."""
    return conn.sql(
        "select max(period) from (select calendar.period from (select distinct year, month "
        "from core.release_coverage where reporter = 'JPN') as months "
        "inner join core.period_months as calendar "
        "on months.year = calendar.year and months.month = calendar.month "
        "where calendar.period_type = 'fiscal_year' group by 1 having count(*) = 12)"
    ).fetchall()[0][0]


def view_preview(conn, table: str, fiscal_year: str | None, stamps: dict[str, str],
                 static: str) -> dg.MetadataValue:
    """A view's preview (`preview`), computed again only when what it shows can have changed:
    the fiscal year shown, a release reporting a month of it or of the year before, the
    reference tables, the calendar or the SQL. A view's rows are computed when read (the
    comparable series: seconds over ten years), while a new month's release usually leaves
    the last complete fiscal year as it was."""
    months = {m for (m,) in conn.execute(
        "select format('{:04d}-{:02d}', year, month) from core.period_months "
        "where period_type = 'fiscal_year' and period = $fy union all "
        "select format('{:04d}-{:02d}', year - 1, month) from core.period_months "
        "where period_type = 'fiscal_year' and period = $fy", {"fy": fiscal_year}).fetchall()}
    reporting = sorted((release, stamp) for release, stamp in stamps.items()
                       if months & set(stamp.split("|", 1)[1].split(",")))
    token = combine(fiscal_year, reporting, static,
                    code_version(schema.sql_file(table), "core/"))
    key = f"preview:{table}"
    kept = recorded_tokens(conn, key).get("", "")
    if kept.startswith(token + "\n"):
        return dg.MetadataValue.md(kept.split("\n", 1)[1])
    # A view of periods computes only the months the fiscal year holds (the SQL it reads filters
    # its scans on trade_etl_months_between): a year's cells instead of the whole history's.
    first, last = conn.execute(
        "select min(period_start), max(period_end) from core.period_months "
        "where period_type = 'fiscal_year' and period = $fy", {"fy": fiscal_year}).fetchall()[0]
    if first is None or "period_type" not in schema.TABLES[table]["columns"]:
        shown = preview(conn, table, fiscal_year)
    else:
        with session_variable(conn, "trade_etl_months_between", [first, last]):
            shown = preview(conn, table, fiscal_year)
    record_token(conn, key, f"{token}\n{shown.value}")
    return shown


def static_token(conn) -> str:
    """Changes whenever a mart's inputs other than the releases change: reference tables, the
    fiscal calendar, or the SQL that defines the marts."""
    return combine(
        [table_token(conn, f"ref.{table}") for table in REF_TABLES],
        table_token(conn, "core.period_months"),
        code_version("marts/", "core/balance_as_of"),
    )


def inputs_token(conn, static: str | None = None) -> str:
    """Changes whenever anything a mart is computed from changes: releases and `static_token`
    (given when the caller has it: hashing the reference tables costs ~0.1 s)."""
    return combine(sorted(release_tokens(conn).items()), static or static_token(conn))


def _rebuild_unless_current(conn, table: str, token: str, build) -> tuple[int, bool]:
    """Run `build()` (which returns a row count) unless `table` is current; record the token."""
    if is_current(conn, table, token):
        return conn.sql(f"select count(*) from {table}").fetchall()[0][0], False
    with transaction(conn):
        rows = build()
        record_whole(conn, table, token)
    return rows, True


def _refresh_months(conn, table: str, token: str, static: str, stamps: dict[str, str], build,
                    refresh) -> tuple[int, str]:
    """Bring a table whose rows depend on their own months up to date: nothing when current;
    `refresh(months)` for the months releases changed since its last build
    (incremental.changed_months); `build()` whole when it has no such record or its other
    inputs changed. Returns its rows and what was done."""
    if is_current(conn, table, token):
        return conn.sql(f"select count(*) from {table}").fetchall()[0][0], "up to date"
    months = changed_months(conn, table, static, stamps)
    with transaction(conn):
        if months is None:
            build()
            done = "rebuilt"
        else:
            refresh(months)
            done = f"refreshed: {len(months)} month(s) recomputed"
        record_whole(conn, table, token)
        record_months(conn, table, static, stamps)
    return conn.sql(f"select count(*) from {table}").fetchall()[0][0], done


def _refresh_periods(conn, table: str, months: list[str]) -> None:
    """Recompute the periods of a balance mart that hold a changed month, or the month a year
    later (its year-on-year figures compare with it): every period inside the range they span,
    through the variable trade_etl_periods_between that core.balance_as_of reads."""
    if not months:
        return
    low, high = period_range(conn, months)
    with session_variable(conn, "trade_etl_periods_between", [low, high]):
        conn.execute(f"delete from {table} where period_start >= $low and period_end <= $high",
                     {"low": low, "high": high})
        insert_as_of(conn, table)


def _refresh_revision_months(conn, months: list[str]) -> None:
    """Recompute marts.revisions for the changed months (variable trade_etl_months, read by
    sql/marts/revisions.sql)."""
    if not months:
        return
    firsts = [date.fromisoformat(f"{m}-01") for m in months]
    with session_variable(conn, "trade_etl_months", firsts):
        conn.execute("delete from marts.revisions where make_date(year, month, 1) in "
                     "(select unnest($m))", {"m": firsts})
        conn.execute(f"insert into marts.revisions {sql_text('marts/revisions')}")


def _refresh_years(conn, table: str, months: list[str], sql: str | None = None) -> None:
    """Recompute the calendar years of a table whose rows each depend on their own year (its
    SQL, `sql` or the table's own, reads the variable trade_etl_years_between): every year from
    the first changed month's to the last's."""
    if not months:
        return
    years = [int(min(months)[:4]), int(max(months)[:4])]
    with session_variable(conn, "trade_etl_years_between", years):
        conn.execute(f"delete from {table} where year between $1 and $2", years)
        conn.execute(f"insert into {table} {sql_text(sql or table.replace('.', '/'))}")


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            _key(table), metadata=columns_of(_key(table)),
            group_name="marts", kinds={"duckdb", "sql"},
            # core/trade_latest: total_matches_latest reads it; core/hs_code_sectors: the
            # sectors; both keep the order when a run covers no release partition.
            deps=[TRADE_RELEASE_MONTHLY, PERIOD_MONTHS, RELEASE_COVERAGE, TRADE_LATEST,
                  HS_CODE_SECTORS, *REF_DEPS],
            description=schema.table_comment(table),
            code_version=code_version(schema.sql_file(table), "core/balance_as_of"),
            skippable=True,
        )
        for table in BALANCE_MARTS
    ],
    check_specs=RECONCILIATION_CHECKS,
    can_subset=True,
)
def balance_marts(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    with warehouse_connection(warehouse) as conn:
        create_table_macro(conn, "core.trade_monthly_as_of")  # also when no partition ran
        create_table_macro(conn, "core.balance_as_of")
        static = static_token(conn)
        token = inputs_token(conn, static)
        stamps = month_stamps(conn)
        for table in BALANCE_MARTS:
            key = _key(table)
            if key not in context.selected_asset_keys:
                continue
            create_as_of_macro(conn, table)
            rows, done = _refresh_months(
                conn, table, token, static, stamps, lambda table=table: build_as_of(conn, table),
                lambda months, table=table: _refresh_periods(conn, table, months))
            fiscal_year = conn.sql(
                f"select max(period) from {table} where period_type = 'fiscal_year' "
                "and months_reported = 12").fetchall()[0][0]
            yield dg.MaterializeResult(asset_key=key, metadata={
                "dagster/row_count": rows,
                "refresh": done,
                "latest_complete_fiscal_year": fiscal_year or "none",
                "preview": view_preview(conn, table, fiscal_year, stamps, static),
            })
        selected = context.selected_asset_check_keys
        for table in BALANCE_MARTS:
            for check in schema.checks(table):
                if dg.AssetCheckKey(_key(table), check["name"]) in selected:
                    yield evaluate(conn, table, check)


def _build_as_of(conn, table: str) -> int:
    create_as_of_macro(conn, table)
    return build_as_of(conn, table)


def evaluate(conn, table: str, check: dict) -> dg.AssetCheckResult:
    """A spec'd check: passes when its SQL returns no row (a check with its own evaluation, in
    EVALUATORS, reads what it needs itself)."""
    if check["name"] in EVALUATORS:
        return EVALUATORS[check["name"]](conn)
    mismatches = conn.execute(f"select count(*) from ({sql_text(check['sql'])})",
                              check["params"]).fetchall()[0][0]
    return dg.AssetCheckResult(asset_key=_key(table), check_name=check["name"],
                               passed=mismatches == 0, metadata={"mismatches": mismatches})


def official_totals_check(conn) -> dg.AssetCheckResult:
    """`totals_match_official`, from audit.official_totals_diff (created here, after the
    tables it reads): ERROR when a difference blocks, WARN when differences are reported only."""
    create_view(conn, "audit.official_totals_diff")
    # The view reads every year of core.trade_latest (seconds at twenty years), and each year's
    # rows depend on that year's figures only: its rows are kept, and a build recomputes the
    # years releases changed (the same rows as the view's: tests/test_build.py).
    static = combine(static_token(conn), code_version(OFFICIAL_DIFF_SQL, "ddl"))
    _refresh_months(
        conn, OFFICIAL_CHECKED, inputs_token(conn, static), static, month_stamps(conn),
        lambda: conn.execute(f"create or replace table {OFFICIAL_CHECKED} as "
                             f"{sql_text(OFFICIAL_DIFF_SQL)}"),
        lambda months: _refresh_years(conn, OFFICIAL_CHECKED, months, OFFICIAL_DIFF_SQL))
    every = conn.sql(f"select * from {OFFICIAL_CHECKED} order by blocks desc, "
                     "abs(difference_jpy) desc, flow, year, partner_code").pl()
    diffs = every.filter(every["status"] == "differs")
    blocking = diffs.filter(diffs["blocks"])
    shown = blocking if not blocking.is_empty() else diffs
    flows = {1: "exports", 2: "imports"}
    detail = "; ".join(
        f"{d['partner_name']} CY{d['year']} {flows[d['flow']]} differ from the Ministry's "
        f"{d['vintage_stage']} total by {'-' if d['difference_jpy'] < 0 else '+'}"
        f"¥{abs(d['difference_jpy']):,} (warehouse "
        f"¥{d['warehouse_jpy']:,}, {d['warehouse_stage']}; published ¥{d['official_jpy']:,})"
        for d in shown.head(3).iter_rows(named=True))
    if len(shown) > 3:
        detail += f"; and {len(shown) - 3} more (audit.official_totals_diff)"
    compared = (len(every), every.filter(every["status"] == "match").height)
    return dg.AssetCheckResult(
        asset_key=_mart("balance_by_partner"), check_name="totals_match_official",
        passed=diffs.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR if not blocking.is_empty()
        else dg.AssetCheckSeverity.WARN,
        description=detail or None,
        metadata={"totals_compared": compared[0], "totals_matching": compared[1],
                  "totals_differing": len(diffs), "differences_blocking": len(blocking),
                  "differences": dg.MetadataValue.md(markdown_table(
                      shown.drop("blocks"), 20))})


# Checks whose result is more than pass or fail (severity, details), by name.
EVALUATORS = {"totals_match_official": official_totals_check}


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=["marts", "revisions"], metadata=columns_of(["marts", "revisions"]),
    group_name="marts", kinds={"duckdb", "sql"},
    deps=[TRADE_RELEASE_MONTHLY, RELEASE_COVERAGE, TRADE_LATEST,
          dg.AssetKey(["ref", "countries"])],
    description=schema.table_comment("marts.revisions"),
    code_version=code_version(schema.sql_file("marts.revisions")),
)
def revisions(warehouse: DuckDBResource) -> dg.MaterializeResult:
    with warehouse_connection(warehouse) as conn:
        create_table_macro(conn, "core.trade_monthly_as_of")
        static = static_token(conn)
        rows, done = _refresh_months(
            conn, "marts.revisions", inputs_token(conn, static), static, month_stamps(conn),
            lambda: rebuild_table(conn, "marts.revisions"),
            lambda months: _refresh_revision_months(conn, months))
        shown = preview(conn, "marts.revisions")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "refresh": done,
        "preview": shown,
    })


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            _key(table), metadata=columns_of(_key(table)),
            group_name="marts", kinds={"duckdb", "sql"},
            # the latest figures, and the facts and coverage of the as-of macro
            deps=[TRADE_LATEST, TRADE_FACTS, RELEASE_COVERAGE, PERIOD_MONTHS,
                  dg.AssetKey(["ref", "countries"]), dg.AssetKey(["ref", "fx_monthly"]),
                  *DICTIONARY_DEPS],
            description=schema.table_comment(table) + " Units are in the grain: "
            "core/trade_facts:units_agree_within_release guarantees each latest cell has one "
            "unit. A view over core.trade_latest.",
            code_version=code_version(schema.sql_file(table), "core/quantities_as_of",
                                      "core/hs_trade_as_of"),
        )
        for table in QUANTITY_MARTS
    ],
)
def quantity_marts(warehouse: DuckDBResource):
    # Views and macros: creating them costs nothing, so both are created on every run.
    # Queries read only the rows their filters select.
    with warehouse_connection(warehouse) as conn:
        create_table_macro(conn, "core.winning_releases")  # also when no partition ran
        with transaction(conn):
            create_table_macro(conn, "core.quantities_as_of", ("as_of", "hs_digits"))
            create_table_macro(conn, "core.hs_trade_as_of", ("as_of", "hs_digits"))
            for table in QUANTITY_MARTS:
                _build_as_of(conn, table)
        # from the coverage: the views' own rows would be computed to find it
        fiscal_year = latest_complete_fiscal_year(conn)
        stamps, static = month_stamps(conn), static_token(conn)
        for table in QUANTITY_MARTS:
            yield dg.MaterializeResult(asset_key=_key(table), metadata={
                "kind": "view (rows are computed when queried)",
                "latest_complete_fiscal_year": fiscal_year or "none",
                "preview": view_preview(conn, table, fiscal_year, stamps, static),
            })


@dg.asset(
    pool=WAREHOUSE_WRITER,
    key=UNKNOWN_CODES, metadata=columns_of(UNKNOWN_CODES),
    group_name="audit", kinds={"duckdb", "sql"},
    deps=[TRADE_LATEST, dg.AssetKey(["ref", "hs9_codes"]), dg.AssetKey(["ref", "hs_subheadings"])],
    description=schema.table_comment("audit.unknown_codes"),
    code_version=code_version(schema.sql_file("audit.unknown_codes")),
    check_specs=[dg.AssetCheckSpec(
        "export_codes_in_the_lists", asset=UNKNOWN_CODES,
        description="Every 9-digit export code of the latest figures is in its year's export "
        "code list (ref.hs9_codes). A warning, never blocking: a code the list lacks is still "
        "counted in every total; audit.unknown_codes lists them.")],
)
def unknown_codes(warehouse: DuckDBResource):
    with warehouse_connection(warehouse) as conn:
        # each year's rows depend on that year's figures: a release recomputes its years
        static = combine(static_token(conn), code_version("audit/unknown_codes"))
        rows, done = _refresh_months(
            conn, "audit.unknown_codes", inputs_token(conn, static), static, month_stamps(conn),
            lambda: rebuild_table(conn, "audit.unknown_codes"),
            lambda months: _refresh_years(conn, "audit.unknown_codes", months))
        by_year = conn.sql(
            "with exports as (select year, sum(value_thousand_jpy) * 1000 as value_jpy "
            "from core.trade_latest where reporter = 'JPN' and flow = 1 group by year) "
            "select unknown.year, count(*) as codes, sum(unknown.value_jpy)::bigint as value_jpy, "
            "round(100 * sum(unknown.value_jpy) / any_value(exports.value_jpy), 3) "
            "as share_of_exports_pct "
            "from audit.unknown_codes as unknown inner join exports using (year) "
            "group by unknown.year order by unknown.year").pl()
        largest = conn.sql(
            "select year, hs_code, first_month, last_month, partners, value_jpy, "
            "left(subheading_name, 50) as subheading_name, first_year, last_year "
            "from audit.unknown_codes order by value_jpy desc, year, hs_code limit 10").pl()
    detail = None
    if rows:
        shown = ", ".join(f"{r['hs_code']} ({r['year']})" for r in largest.head(3).iter_rows(
            named=True))
        detail = visible(f"{rows} export code-year(s) are not in that year's export code list, "
                         f"e.g. {shown}: see audit.unknown_codes", lines=False)
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "refresh": done,
        "by_year": dg.MetadataValue.md(markdown_table(by_year)),
        "preview": dg.MetadataValue.md(f"**Largest values**\n\n{markdown_table(largest)}"),
    })
    yield dg.AssetCheckResult(
        check_name="export_codes_in_the_lists", passed=rows == 0,
        severity=dg.AssetCheckSeverity.WARN, description=detail,
        metadata={"unknown_code_years": rows})


# What the comparable marts read besides the quantities (docs/warehouse.md, "Comparable
# series"): the families of every listed code and year, a table expanded from the lineage's
# reference tables when they change, and the view giving every code of the fact store its family.
LINEAGE_TABLE, LINEAGE_VIEW = "ref.hs_families", "core.hs_code_families"


@dg.multi_asset(
    pool=WAREHOUSE_WRITER,
    specs=[
        dg.AssetSpec(
            _key(table), metadata=columns_of(_key(table)),
            group_name="marts", kinds={"duckdb", "sql"},
            # the 9-digit figures latest and as of a date, and the families of their codes
            deps=[TRADE_LATEST, TRADE_FACTS, RELEASE_COVERAGE, PERIOD_MONTHS,
                  *[dg.AssetKey(["ref", t]) for t in ("countries", "hs_lineage",
                                                      "hs_lineage_families")]],
            description=schema.table_comment(table) + " With it, the table ref.hs_families "
            "(the lineage's families, one row per code and year) and the view "
            "core.hs_code_families (the family of every code and year of the fact store).",
            code_version=code_version(schema.sql_file(table), "core/quantities_as_of",
                                      "core/winning_releases", schema.sql_file(LINEAGE_TABLE),
                                      schema.sql_file(LINEAGE_VIEW)),
        )
        for table in COMPARABLE_MARTS
    ],
)
def comparable_marts(warehouse: DuckDBResource):
    # Views and macros, as the quantity marts: created on every run, computed when queried.
    with warehouse_connection(warehouse) as conn:
        create_table_macro(conn, "core.winning_releases")  # also when no partition ran
        token = combine(table_token(conn, "ref.hs_lineage"),
                        table_token(conn, "ref.hs_lineage_families"),
                        code_version(schema.sql_file(LINEAGE_TABLE)))
        families, _ = _rebuild_unless_current(
            conn, LINEAGE_TABLE, token, lambda: rebuild_table(conn, LINEAGE_TABLE))
        with transaction(conn):
            create_table_macro(conn, "core.quantities_as_of", ("as_of", "hs_digits"))
            create_view(conn, LINEAGE_VIEW)
            for table in COMPARABLE_MARTS:
                _build_as_of(conn, table)
        fiscal_year = latest_complete_fiscal_year(conn)
        stamps, static = month_stamps(conn), static_token(conn)
        counts = dict(conn.sql(
            "select level, count(distinct family_id) from ref.hs_families group by 1").fetchall())
        for table in COMPARABLE_MARTS:
            yield dg.MaterializeResult(asset_key=_key(table), metadata={
                "kind": "view (rows are computed when queried)",
                "families_hs9": counts.get("hs9", 0),
                "families_hs6": counts.get("hs6", 0),
                "ref_hs_families_rows": families,
                "latest_complete_fiscal_year": fiscal_year or "none",
                "preview": view_preview(conn, table, fiscal_year, stamps, static),
            })
