"""Bring the previous published file up to the current one by copying only what changed.

Publishing swaps files instead of copying them (trade_etl/store/publish.py): the finished
working copy becomes the published file, and the file it replaces, the state before, becomes
the next working copy. Before the next build writes it, `catch_up` copies into it what the
last build changed, read from the published file (attached read-only):

- per-release tables (the fact store, its audit trail, the per-release derived tables): the
  rows of the releases whose token differs (audit.releases: files, hashes, load times) and of
  the releases gone; a whole per-release derived table when its code version differs;
- core.trade_latest: the (reporter, flow, year, month, HS chapter) cells whose source release
  or its token differs (core.trade_latest_sources, as the build's own refresh_latest);
- any other table: copied whole, unless both files record the same input token for it in
  audit.derived_state (the marts, the families table: rebuilt only when that token changes),
  or it records the months it was built from (the balance marts, marts.revisions): then only
  the periods or months those differ in, as the build recomputed them;
- audit.derived_state last, publish id included, in the same transaction as everything else.

It gives up (returns the reason, and the caller copies the published file whole, as before)
when the spare file does not descend from the published one's parent, when the two catalogs
differ (a schema migration, new views or macros), when another process holds the spare file
open, or when a row count disagrees afterwards. A test switch (`TRADE_ETL_VERIFY=sync`)
compares every table in full after each catch-up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from trade_etl import failpoints
from trade_etl.store.incremental import RELEASE_TOKENS, months_between, period_range

# Tables whose rows belong to one release each, replaced release by release by the build.
FACT_TABLES = ("core.trade_facts", "audit.releases", "audit.quarantine", "audit.release_months")
DERIVED_PER_RELEASE = ("core.release_coverage", "core.trade_release_monthly")
PER_RELEASE = FACT_TABLES + DERIVED_PER_RELEASE
LATEST, LATEST_SOURCES = "core.trade_latest", "core.trade_latest_sources"
STATE = "audit.derived_state"
PUBLISH_KEY, PARENT_KEY = "publish:id", "publish:parent"


@dataclass
class CatchUp:
    """What one catch-up copied."""

    releases: int = 0
    latest_cells: int = 0
    whole: list[str] = field(default_factory=list)
    by_months: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _catalog(conn: duckdb.DuckDBPyConnection, db: str) -> tuple:
    """Tables with their columns and types, views and macros with their SQL, of database `db`."""
    columns = conn.execute(
        "select schema_name, table_name, column_index, column_name, data_type "
        "from duckdb_columns() where database_name = $db and not internal "
        "order by all", {"db": db}).fetchall()
    views = conn.execute(
        "select schema_name, view_name, sql from duckdb_views() "
        "where database_name = $db and not internal order by all", {"db": db}).fetchall()
    macros = conn.execute(
        "select schema_name, function_name, macro_definition, parameters::varchar "
        "from duckdb_functions() where database_name = $db and not internal "
        "and function_type in ('macro', 'table_macro') order by all", {"db": db}).fetchall()
    return columns, views, macros


def _tables(conn: duckdb.DuckDBPyConnection, db: str) -> list[str]:
    return [f"{s}.{t}" for s, t in conn.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = $db and not internal and not temporary order by all",
        {"db": db}).fetchall()]


def _token(conn: duckdb.DuckDBPyConnection, prefix: str, name: str) -> str | None:
    """A whole-state token of audit.derived_state in the spare ("") or published ("p.") file."""
    rows = conn.execute(f"select token from {prefix}audit.derived_state "
                        "where table_name = $n and release_id = ''", {"n": name}).fetchall()
    return rows[0][0] if rows else None


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    return conn.sql(f"select count(*) from {table}").fetchall()[0][0]


def catch_up(spare: Path, published: Path, memory_limit: str) -> CatchUp | str:
    """Make `spare` (the file `published` replaced) equal to `published`, copying only what
    the last publish changed. Returns what was copied, or why it could not (then `spare` is
    unchanged and the caller copies `published` whole)."""
    started = time.perf_counter()
    try:
        conn = duckdb.connect(str(spare), config={"memory_limit": memory_limit})
    except duckdb.IOException as exc:  # a reader still has the file open (DuckDB's lock)
        return f"the previous file is still open elsewhere ({str(exc).splitlines()[0][:120]})"
    try:
        conn.execute("attach $p as p (read_only)", {"p": str(published)})
        db = conn.sql("select current_database()").fetchall()[0][0]
        parent = _token(conn, "p.", PARENT_KEY)
        if parent is None or parent != _token(conn, "", PUBLISH_KEY):
            return "the previous file is not the published file's parent"
        if _catalog(conn, db) != _catalog(conn, "p"):
            return "the warehouse's tables, views or macros changed"
        done = CatchUp()
        conn.execute("begin transaction")
        try:
            _copy_changes(conn, done)
            failpoints.hit("sync:before_commit")
            mismatch = [t for t in _tables(conn, "p") if _count(conn, t) != _count(conn, f"p.{t}")]
            if mismatch:
                conn.execute("rollback")
                return f"row counts differ after catching up ({', '.join(mismatch[:3])})"
        except BaseException:
            conn.execute("rollback")
            raise
        conn.execute("commit")
        if failpoints.verifying("sync"):
            verify_equal(conn, db, "p")
        done.seconds = round(time.perf_counter() - started, 3)
        return done
    finally:
        conn.close()


def _copy_changes(conn: duckdb.DuckDBPyConnection, done: CatchUp) -> None:
    ours = dict(conn.sql(RELEASE_TOKENS).fetchall())
    theirs = dict(conn.sql(RELEASE_TOKENS.replace("audit.releases", "p.audit.releases"))
                  .fetchall())
    changed = sorted(r for r, token in theirs.items() if ours.get(r) != token)
    gone = sorted(set(ours) - set(theirs))
    done.releases = len(changed) + len(gone)
    conn.execute("create or replace temp table sync_releases as "
                 "select unnest($r::varchar[]) as release_id", {"r": changed + gone})
    tables = _tables(conn, "p")
    handled = {STATE}
    for table in PER_RELEASE:
        if table not in tables:
            continue
        handled.add(table)
        if table in DERIVED_PER_RELEASE and (
                _token(conn, "", f"code:{table}") != _token(conn, "p.", f"code:{table}")):
            _whole(conn, table, done)
            continue
        if changed or gone:
            conn.execute(f"delete from {table} where release_id in "
                         "(select release_id from sync_releases)")
            conn.execute(f"insert into {table} select * from p.{table} where release_id in "
                         "(select release_id from sync_releases)")
    if LATEST in tables and LATEST_SOURCES in tables:
        handled |= {LATEST, LATEST_SOURCES}
        _latest(conn, done)
    for table in tables:
        if table in handled:
            continue
        token = _token(conn, "p.", table)
        if token is not None and token == _token(conn, "", table):
            done.skipped.append(table)
            continue
        if not _by_months(conn, table, done):
            _whole(conn, table, done)
    _whole(conn, STATE, done)
    conn.execute("drop table sync_releases")


def _stamps(conn: duckdb.DuckDBPyConnection, prefix: str, table: str) -> dict[str, str]:
    return dict(conn.execute(f"select release_id, token from {prefix}audit.derived_state "
                             "where table_name = $n", {"n": f"stamps:{table}"}).fetchall())


def _by_months(conn: duckdb.DuckDBPyConnection, table: str, done: CatchUp) -> bool:
    """Copy only the rows of the months the last build recomputed, for a mart that records the
    months it was built from (incremental.record_months) in both files, with the same other
    inputs: a balance mart's periods in their range, marts.revisions' months. False: copy it
    whole."""
    static = _token(conn, "p.", f"static:{table}")
    was, now = _stamps(conn, "", table), _stamps(conn, "p.", table)
    if static is None or static != _token(conn, "", f"static:{table}") or not was or not now:
        return False
    columns = {c for (c,) in conn.execute(
        "select column_name from duckdb_columns() where database_name = 'p' "
        "and schema_name || '.' || table_name = $t", {"t": table}).fetchall()}
    months = months_between(was, now)
    if {"period_start", "period_end"} <= columns:
        if months:
            low, high = period_range(conn, months, "p.")
            where = "period_start >= $low and period_end <= $high"
            conn.execute(f"delete from {table} where {where}", {"low": low, "high": high})
            conn.execute(f"insert into {table} select * from p.{table} where {where}",
                         {"low": low, "high": high})
    elif {"year", "month"} <= columns:
        where = "format('{:04d}-{:02d}', year, month) in (select unnest($m))"
        conn.execute(f"delete from {table} where {where}", {"m": months})
        conn.execute(f"insert into {table} select * from p.{table} where {where}", {"m": months})
    else:
        return False
    done.by_months.append(table)
    return True


def _whole(conn: duckdb.DuckDBPyConnection, table: str, done: CatchUp) -> None:
    conn.execute(f"delete from {table}")
    conn.execute(f"insert into {table} select * from p.{table}")
    done.whole.append(table)


def _latest(conn: duckdb.DuckDBPyConnection, done: CatchUp) -> None:
    """Copy the cells of core.trade_latest whose source differs between the files."""
    keys = "reporter, flow, year, month, hs_chapter"
    conn.execute(
        f"create or replace temp table sync_cells as select {keys} from ("
        f"select {keys}, release_id, release_token from p.{LATEST_SOURCES} "
        f"except select {keys}, release_id, release_token from {LATEST_SOURCES}) "
        f"union select {keys} from ("
        f"select {keys}, release_id, release_token from {LATEST_SOURCES} "
        f"except select {keys}, release_id, release_token from p.{LATEST_SOURCES})")
    done.latest_cells = _count(conn, "sync_cells")
    if done.latest_cells:
        match = ("t.reporter = c.reporter and t.flow = c.flow and t.year = c.year "
                 "and t.month = c.month and left(t.hs_code, 2) = c.hs_chapter")
        conn.execute(f"delete from {LATEST} as t using sync_cells as c where {match}")
        conn.execute(f"insert into {LATEST} select t.* from p.{LATEST} as t "
                     f"semi join sync_cells as c on {match}")
    _whole(conn, LATEST_SOURCES, done)
    conn.execute("drop table sync_cells")


def verify_equal(conn: duckdb.DuckDBPyConnection, a: str, b: str) -> None:
    """Raise if any table of database `a` differs from `b`'s in content (tests only): the
    catalogs, then each table's row count and the sum of its rows' hashes."""
    if _catalog(conn, a) != _catalog(conn, b):
        raise AssertionError("catch-up: the catalogs differ")
    for table in _tables(conn, b):
        digests = [conn.sql(f'select count(*), coalesce(sum(hash(t)::hugeint), 0) '
                            f'from "{x}".{table} as t').fetchall()[0] for x in (a, b)]
        if digests[0] != digests[1]:
            raise AssertionError(f"catch-up: {table} differs ({a}: {digests[0][0]} rows, "
                                 f"{b}: {digests[1][0]} rows; their hashes differ)")
