"""Is the warehouse already up to date with the raw folder? (`trade-etl build` asks first.)

A build's inputs are the files in the raw folder (name, size, modification and change
times, inode), the
fetcher's manifests, the reference
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

from trade_etl.fetch.manifest import MANIFEST_NAME
from trade_etl.fetch.manifest import manifests as manifest_folders
from trade_etl.ingest.releases import SourceFile, discover
from trade_etl.settings import PROJECT_ROOT, REF_DATA_DIR, duckdb_memory_limit, fiscal_start_month
from trade_etl.store.incremental import combine, record_token, stored_token

STATE_KEY = "build:inputs"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs_fingerprint(raw_dir: Path, sources: list[SourceFile] | None = None) -> str:
    """A hash of everything a build reads; it changes when any of it changes. `sources`: the
    raw folder as just discovered, if the caller has it."""
    sources = discover(raw_dir) if sources is None else sources
    files = [(s.release_id, s.file_name, str(s.path.absolute()), s.size_bytes, s.mtime_ns,
              s.ctime_ns, s.inode, s.problem) for s in sources]
    manifests = [(p.name, _digest(p / MANIFEST_NAME)) for p in manifest_folders(raw_dir)]
    refs = [(p.name, _digest(p)) for p in sorted(REF_DATA_DIR.glob("*.csv"))]
    code = [(str(p.relative_to(PROJECT_ROOT)), _digest(p))
            for folder in ("sql", "trade_etl") for p in sorted((PROJECT_ROOT / folder).rglob("*"))
            if p.suffix in (".sql", ".py")]
    return combine(files, manifests, refs, code, fiscal_start_month(), duckdb_memory_limit())


def is_up_to_date(warehouse: Path, fingerprint: str) -> bool:
    return stored_token(warehouse, STATE_KEY) == fingerprint


def record_in(conn: duckdb.DuckDBPyConnection, fingerprint: str) -> None:
    """Remember, in the working copy about to be published, the inputs this build saw."""
    record_token(conn, STATE_KEY, fingerprint)


def forget_in(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop the recorded fingerprint (every run does this first)."""
    conn.execute("delete from audit.derived_state where table_name = $k", {"k": STATE_KEY})
