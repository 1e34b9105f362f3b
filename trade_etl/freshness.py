"""Is the warehouse already up to date with the raw folder? (`trade-etl build` asks first.)

A build's inputs are the files in the raw folder (name, size, modification time), the reference
CSVs, the fiscal-year setting and the project's own code and SQL. `trade-etl build` hands their
fingerprint to the run, which records it in audit.derived_state just before it publishes; every
run clears it when it starts (raw/release_files), so a run from the UI or the sensor, or one
that failed, never leaves a stale "up to date" behind. When the fingerprint matches,
`trade-etl build` says so and skips the Dagster run, as the sensor does for an unchanged folder;
`--force` runs anyway.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from trade_etl.releases import discover
from trade_etl.settings import PROJECT_ROOT, REF_DATA_DIR, duckdb_memory_limit, fiscal_start_month

STATE_KEY = "build:inputs"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs_fingerprint(raw_dir: Path) -> str:
    """A hash of everything a build reads; it changes when any of it changes."""
    files = [(s.release_id, s.file_name, str(s.path.absolute()), s.size_bytes, s.mtime_ns,
              s.problem) for s in discover(raw_dir)]
    refs = [(p.name, _digest(p)) for p in sorted(REF_DATA_DIR.glob("*.csv"))]
    code = [(str(p.relative_to(PROJECT_ROOT)), _digest(p))
            for folder in ("sql", "trade_etl") for p in sorted((PROJECT_ROOT / folder).rglob("*"))
            if p.suffix in (".sql", ".py")]
    parts = (files, refs, code, fiscal_start_month(), duckdb_memory_limit())
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _table_exists(conn: duckdb.DuckDBPyConnection) -> bool:
    return conn.sql("select count(*) from duckdb_tables() where schema_name = 'audit' "
                    "and table_name = 'derived_state'").fetchall()[0][0] > 0


def is_up_to_date(warehouse: Path, fingerprint: str) -> bool:
    if not warehouse.exists():
        return False
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return _table_exists(conn) and conn.execute(
            "select count(*) from audit.derived_state where table_name = $k and token = $t",
            {"k": STATE_KEY, "t": fingerprint}).fetchall()[0][0] > 0
    finally:
        conn.close()


def record_in(conn: duckdb.DuckDBPyConnection, fingerprint: str) -> None:
    """Remember, in the working copy about to be published, the inputs this build saw."""
    conn.execute("begin transaction")
    forget_in(conn)
    conn.execute("insert into audit.derived_state values ($k, '', $t)",
                 {"k": STATE_KEY, "t": fingerprint})
    conn.execute("commit")


def forget_in(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop the recorded fingerprint (every run does this first)."""
    conn.execute("delete from audit.derived_state where table_name = $k", {"k": STATE_KEY})
