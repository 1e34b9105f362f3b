"""Keep derived tables up to date by recomputing only what changed since they were last built.

Every release has a token: a hash of what audit.releases records for its files (names, content
hashes, status, load time). A release whose token differs from the one recorded when a derived
table was last refreshed is *stale* for that table; a recorded release that is gone is *removed*.
Per-release tables (core.release_coverage, core.trade_release_monthly) replace the rows of stale
and removed releases only; whole tables (the marts) are rebuilt only when their input token
changes. The recorded tokens live in audit.derived_state and are written in the same transaction
as the table they describe, so a crash never leaves a table and its token out of step.

A new release therefore costs work proportional to that release, and an unchanged folder costs
almost nothing; the result is the same as a build from scratch (tests/test_build.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from trade_etl.db import sql_text, table_exists, transaction
from trade_etl.formats import schema
from trade_etl.versions import code_version

RELEASE_TOKENS = """
select
    release_id,
    md5(string_agg(
        concat_ws('|', file_name, sha256, status, loaded_at), ',' order by file_name
    )) as token
from audit.releases
group by release_id
"""


def release_tokens(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(conn.sql(RELEASE_TOKENS).fetchall())


def recorded_tokens(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return dict(conn.execute(
        "select release_id, token from audit.derived_state where table_name = $t",
        {"t": table}).fetchall())


def combine(*parts: object) -> str:
    """One token for several inputs (release tokens, reference tables, settings)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def table_token(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """A hash of a small table's whole content (reference tables)."""
    return conn.sql(
        f"select coalesce(md5(string_agg(t::varchar, ',' order by t::varchar)), '') "
        f"from {table} as t").fetchall()[0][0]


def _record(conn: duckdb.DuckDBPyConnection, table: str, tokens: dict[str, str]) -> None:
    conn.execute("delete from audit.derived_state where table_name = $t", {"t": table})
    if tokens:
        conn.executemany("insert into audit.derived_state values ($1, $2, $3)",
                         [[table, release, token] for release, token in tokens.items()])


def record_token(conn: duckdb.DuckDBPyConnection, name: str, token: str) -> None:
    """Record one whole-state token under `name`, in its own transaction."""
    with transaction(conn):
        _record(conn, name, {"": token})


def stored_token(warehouse: Path, name: str) -> str | None:
    """The whole-state token recorded under `name` in a warehouse file (opened read-only)."""
    if not warehouse.exists():
        return None
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        if not table_exists(conn, "audit.derived_state"):
            return None
        return recorded_tokens(conn, name).get("")
    finally:
        conn.close()


@dataclass
class Refresh:
    """What one refresh did: releases recomputed and removed, rows now in the table."""

    stale: int
    removed: int
    rows: int
    full: bool
    # core.trade_latest: the (reporter, flow, year, month) whose cells were recomputed
    months: list[tuple] = field(default_factory=list)

    def describe(self) -> str:
        if not self.stale and not self.removed:
            return "up to date"
        kind = "rebuilt" if self.full else "refreshed"
        return f"{kind}: {self.stale} release(s) recomputed, {self.removed} removed"


def code_of(conn: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The code version `table`'s rows were computed with (recorded by `replace_releases`)."""
    if not table_exists(conn, table):
        return None
    return recorded_tokens(conn, f"code:{table}").get("")


def record_code(conn: duckdb.DuckDBPyConnection, table: str, code_version: str) -> None:
    """Record that every row of `table` was computed with this code version."""
    record_token(conn, f"code:{table}", code_version)


def current_code(table: str) -> str:
    """The code version of `table`'s rows if computed now (trade_etl/formats/schema.CODE)."""
    return code_version(*schema.code(table))


def create_by_year(conn: duckdb.DuckDBPyConnection, table: str, select: str) -> None:
    """`create or replace table <table> as <select>` (rows of core.trade_facts, with a `year`
    column), one calendar year of the fact store at a time.

    The fact store is written file by file, and a file holds one year, so its row groups each
    span one year; a table computed from all of it at once comes out of the aggregation in no
    order, every row group spanning every year, and a query for a few years (a new release's
    refresh windows: `year between …`) reads all of them. Written year by year, each row group
    holds one year and such a query reads only its years' (DuckDB's zone maps); each year's
    aggregation is also smaller than the whole's (at twenty years: core.trade_release_monthly
    15 s → 9 s, core.trade_latest 13 s → 9 s; docs/design.md)."""
    years = [year for (year,) in conn.sql(
        "select distinct year from core.trade_facts order by year").fetchall()]
    conn.execute(f"create or replace table {table} as select * from ({select}) limit 0")
    for year in years:
        conn.execute(f"insert into {table} select * from ({select}) where year = $year",
                     {"year": year})


def replace_releases(conn: duckdb.DuckDBPyConnection, table: str,
                     releases: list[str]) -> Refresh:
    """Delete and insert again the rows of `releases` (a run's partitions) in a per-release
    table; `sql/<schema>/<name>.sql` selects them from core.trade_facts restricted to the
    temporary table `stale_releases`.

    The table records the code version its rows were computed with (`current_code`: its SQL,
    its Python and the reference CSVs it reads; the asset's Dagster code version). Rows of two
    code versions never mix: when the version differs (or the table is new), every release in
    the fact store is computed, whatever the partitions. The planner
    (trade_etl/store/freshness.plan) gives such a run every partition, so this is the rule
    that keeps a run started another way (a partition re-run from the UI) right.
    """
    version = current_code(table)
    full = code_of(conn, table) != version
    if full:
        releases = [r for (r,) in conn.sql(
            "select distinct release_id from core.trade_facts order by 1").fetchall()]
    select = sql_text(table.replace(".", "/"))
    with transaction(conn):
        conn.execute("create or replace temp table stale_releases as "
                     "select unnest($releases::varchar[]) as release_id", {"releases": releases})
        if full:
            create_by_year(conn, table, select)
        else:
            conn.execute(f"delete from {table} where release_id in "
                         "(select release_id from stale_releases)")
            conn.execute(f"insert into {table} {select}")
        _record(conn, f"code:{table}", {"": version})
        conn.execute(f"delete from audit.derived_state where table_name = '{table}'")
        conn.execute("drop table stale_releases")
    rows = conn.sql(f"select count(*) from {table}").fetchall()[0][0]
    return Refresh(len(releases), 0, rows, full)


def refresh_codes(conn: duckdb.DuckDBPyConnection, table: str) -> Refresh:
    """Bring a table keyed by HS code (core.hs_code_sectors: one row per code any fact holds)
    up to date: add the codes it lacks, drop those no fact holds any more; everything again
    when its code version (its SQL and the mapping CSVs) changed.

    The releases' tokens it was refreshed with are recorded: when releases were only added
    since (the usual new release), no fact was deleted, so no code can have gone, and only the
    added releases' codes are read; a release removed or reloaded since (its facts deleted)
    makes the refresh read every code the fact store holds."""
    version = current_code(table)
    full = code_of(conn, table) != version
    now, was = release_tokens(conn), recorded_tokens(conn, table)
    only_added = bool(was) and all(now.get(release) == token for release, token in was.items())
    select = sql_text(table.replace(".", "/"))
    with transaction(conn):
        if full or not only_added:
            conn.execute("create or replace temp table stale_releases as "
                         "select distinct release_id from core.trade_facts")
        else:
            conn.execute("create or replace temp table stale_releases as "
                         "select unnest($releases::varchar[]) as release_id",
                         {"releases": sorted(now.keys() - was.keys())})
        if full:
            conn.execute(f"create or replace table {table} as {select}")
            added = conn.sql(f"select count(*) from {table}").fetchall()[0][0]
        else:
            added = conn.execute(
                f"insert into {table} select * from ({select}) where hs_code not in "
                f"(select hs_code from {table})").fetchall()[0][0]
            if not only_added:
                conn.execute(f"delete from {table} where hs_code not in "
                             "(select distinct hs_code from core.trade_facts)")
        _record(conn, f"code:{table}", {"": version})
        _record(conn, table, now)
        conn.execute("drop table stale_releases")
    rows = conn.sql(f"select count(*) from {table}").fetchall()[0][0]
    return Refresh(added, 0, rows, full)


PER_RELEASE_TABLES = ("core.release_coverage", "core.trade_release_monthly")


def ensure_exists(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create a per-release table empty, with no release recorded, if no run has built it yet
    (a run that covers no release partition still reads it through the supersession macros);
    the next refresh then computes every release."""
    if table_exists(conn, table):
        return
    with transaction(conn):
        conn.execute("create or replace temp table stale_releases (release_id varchar)")
        conn.execute(f"create table {table} as {sql_text(table.replace('.', '/'))}")
        conn.execute("drop table stale_releases")


def forget_removed(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Delete from the per-release derived tables the releases the fact store no longer holds
    (the inventory removed their last file: `build --prune`, a folder deleted or renamed), so
    that no run, whichever partitions it covers, sees a removed release's coverage or monthly
    values. The store's own rows, deleted by the store: core/trade_latest calls it first, and
    every mart reads after it. Returns the releases forgotten."""
    tables = [t for t in PER_RELEASE_TABLES if table_exists(conn, t)]
    if not tables:
        return []
    held = " union ".join(f"select distinct release_id from {t}" for t in tables)
    removed = [r for (r,) in conn.sql(
        f"select release_id from ({held}) except select release_id from audit.releases "
        "order by 1").fetchall()]
    if removed:
        with transaction(conn):
            for table in tables:
                conn.execute(f"delete from {table} where release_id in "
                             "(select unnest($releases::varchar[]))", {"releases": removed})
    return removed


def is_current(conn: duckdb.DuckDBPyConnection, table: str, token: str) -> bool:
    """Whether `table` exists and was last built from inputs with this token."""
    return table_exists(conn, table) and recorded_tokens(conn, table).get("") == token


def record_whole(conn: duckdb.DuckDBPyConnection, table: str, token: str) -> None:
    """Record the input token of a table rebuilt as a whole (call inside its transaction)."""
    _record(conn, table, {"": token})


def refresh_latest(conn: duckdb.DuckDBPyConnection) -> Refresh:
    """Bring core.trade_latest up to date, recomputing only the cells whose source changed.

    core.trade_latest_sources records, for each (reporter, flow, year, month, HS chapter), the
    release that supplies it and that release's token. Cells whose winning release or token
    changed (or that appeared or vanished) are deleted and recomputed from the fact store; the
    rest stay.
    """
    incremental = (table_exists(conn, "core.trade_latest")
                   and table_exists(conn, "core.trade_latest_sources"))
    with transaction(conn):
        conn.execute(
            "create or replace temp table new_sources as "
            "select w.flow, w.year, w.month, w.hs_chapter, w.release_id, "
            "t.token as release_token, w.reporter "
            "from core.winning_releases(DATE '9999-12-31') as w "
            f"inner join ({RELEASE_TOKENS}) as t using (release_id)")
        if incremental:
            conn.execute(
                "create or replace temp table latest_cells as "
                "select coalesce(n.flow, o.flow) as flow, coalesce(n.year, o.year) as year, "
                "coalesce(n.month, o.month) as month, "
                "coalesce(n.hs_chapter, o.hs_chapter) as hs_chapter, n.release_id, "
                "coalesce(n.reporter, o.reporter) as reporter "
                "from new_sources as n full outer join core.trade_latest_sources as o "
                "using (reporter, flow, year, month, hs_chapter) "
                "where n.release_id is distinct from o.release_id "
                "or n.release_token is distinct from o.release_token")
        else:
            conn.execute("create or replace temp table latest_cells as "
                         "select flow, year, month, hs_chapter, release_id, reporter "
                         "from new_sources")
        changed = conn.sql("select count(*) from latest_cells").fetchall()[0][0]
        months = conn.sql("select distinct reporter, flow, year, month from latest_cells "
                          "order by all").fetchall() if incremental else []
        select = sql_text("core/trade_latest")
        if not incremental:
            create_by_year(conn, "core.trade_latest", select)
        elif changed:
            conn.execute(
                "delete from core.trade_latest as t using latest_cells as c "
                "where t.reporter = c.reporter and t.flow = c.flow and t.year = c.year "
                "and t.month = c.month and left(t.hs_code, 2) = c.hs_chapter")
            conn.execute(f"insert into core.trade_latest {select}")
        conn.execute("create or replace table core.trade_latest_sources as "
                     "select * from new_sources order by all")
        for temp in ("new_sources", "latest_cells"):
            conn.execute(f"drop table {temp}")
    rows = conn.sql("select count(*) from core.trade_latest").fetchall()[0][0]
    return Refresh(changed, 0, rows, full=not incremental, months=months)


# Per release: its token and the months it reports ("<token>|2024-01,2024-02,…").
MONTH_STAMPS = f"""
with months as (
    select distinct release_id, format('{{:04d}}-{{:02d}}', year, month) as month
    from core.release_coverage
)
select months.release_id, tokens.token || '|' || string_agg(months.month, ',' order by month)
from months
inner join ({RELEASE_TOKENS}) as tokens using (release_id)
group by months.release_id, tokens.token
"""


def month_stamps(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every release's token and the months it reports (`changed_months`, `record_months`)."""
    return dict(conn.sql(MONTH_STAMPS).fetchall())


def changed_months(conn: duckdb.DuckDBPyConnection, table: str, static: str,
                   stamps: dict[str, str]) -> list[str] | None:
    """The months ('YYYY-MM') whose figures may have changed since `table` was last built from
    them: those of every release added, removed or reloaded since (the months it reports, before
    and after). None when the table must be rebuilt whole: it is new, was built before months
    were recorded, or its other inputs (`static`: reference tables, calendar, SQL) changed.

    The releases that win a month, and the first to report it, can only change when a release
    reporting that month changes, so a table whose rows each depend on their own month (and the
    same month a year earlier) is exact when only these months are recomputed."""
    if not table_exists(conn, table) or recorded_tokens(conn, f"static:{table}").get("") != static:
        return None
    was = recorded_tokens(conn, f"stamps:{table}")
    if not was:
        return None
    return months_between(was, stamps)


def period_range(conn: duckdb.DuckDBPyConnection, months: list[str],
                 prefix: str = "") -> tuple:
    """The first and last day of the periods that hold one of `months` ('YYYY-MM') or the month
    a year after one (its year-on-year figures compare with it): a balance mart's rows to
    recompute are every period inside that range. `prefix` names the database ("p.")."""
    return conn.execute(
        f"select min(period_start), max(period_end) from {prefix}core.period_months "
        "where strftime(make_date(year, month, 1), '%Y-%m') in (select unnest($m)) "
        "or strftime(make_date(year, month, 1) - interval 12 month, '%Y-%m') "
        "in (select unnest($m))", {"m": months}).fetchall()[0]


def months_between(was: dict[str, str], now: dict[str, str]) -> list[str]:
    """The months of every release whose stamp (`month_stamps`) differs between two records."""
    months: set[str] = set()
    for release in was.keys() | now.keys():
        if was.get(release) != now.get(release):
            for stamp in (was.get(release), now.get(release)):
                if stamp:
                    months.update(stamp.split("|", 1)[1].split(","))
    return sorted(months)


def record_months(conn: duckdb.DuckDBPyConnection, table: str, static: str,
                  stamps: dict[str, str]) -> None:
    """Record what `table` was built from (`month_stamps`) for `changed_months` (inside its
    transaction)."""
    _record(conn, f"static:{table}", {"": static})
    _record(conn, f"stamps:{table}", stamps or {"": ""})


def passed_with(conn: duckdb.DuckDBPyConnection, check: str, token: str) -> bool:
    """Whether `check` last passed on a table built from inputs with this token."""
    return recorded_tokens(conn, f"check:{check}").get("") == token


def record_passed(conn: duckdb.DuckDBPyConnection, check: str, token: str) -> None:
    record_token(conn, f"check:{check}", token)
