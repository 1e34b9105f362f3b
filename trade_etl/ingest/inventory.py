"""The raw folder as a build sees it: which files are there, whether they are whole, what changed.

A build reads a file only once it has been untouched for a quiet period (a copy or download in
progress keeps changing it), reuses a recorded content hash only when size, modification and
change times and inode all match (so a file replaced with its timestamp preserved is read
again), checks fetched files against their manifest, and notices loaded files that are no
longer there: removing what they contributed needs `--prune`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from trade_etl.errors import EXIT_PRUNE, UserError
from trade_etl.formats import manifest, schema
from trade_etl.formats.reporters import DEFAULT_REPORTER
from trade_etl.ingest.releases import SourceFile, printable, sha256_file

# The frames written into the spec'd tables, typed from the spec (trade_etl/formats/schema.py).
INVENTORY_SCHEMA = schema.polars_schema("raw.release_files")
RELEASE_MONTHS_SCHEMA = schema.polars_schema("audit.release_months")


def _hashable(source: SourceFile) -> bool:
    return source.path.is_file() and not (source.problem or "").startswith(
        ("symbolic link", "cannot stat"))


@dataclass
class Inventory:
    files: pl.DataFrame  # rows of raw.release_files
    months: pl.DataFrame  # rows of audit.release_months
    manifest_problems: list[str]


def take(conn: duckdb.DuckDBPyConnection, raw_dir: Path, sources: list[SourceFile],
         rehash: bool = False) -> Inventory:
    """The inventory rows for `sources`: hashes reused only for files unchanged on every count
    (all re-hashed when `rehash`), manifest mismatches recorded as problems."""
    known = {} if rehash else {
        (r, f, p, size, mtime, ctime, inode): sha
        for r, f, p, size, mtime, ctime, inode, sha in conn.sql(
            "select release_id, file_name, path, size_bytes, mtime_ns, ctime_ns, inode, sha256 "
            "from raw.release_files").fetchall()}
    entries, months, problems = manifest.read_all(raw_dir)
    now = datetime.now()
    rows = []
    for s in sources:
        path = printable(str(s.path.absolute()))
        key = (s.release_id, s.file_name, path, s.size_bytes, s.mtime_ns, s.ctime_ns, s.inode)
        sha = known.get(key) or (sha256_file(s.path) if _hashable(s) else None)
        problem = s.problem
        entry = entries.get((s.release_id, s.file_name))
        if problem is None:
            problem = manifest.file_problem(entry, s.size_bytes, sha)
        rows.append({"release_id": s.release_id, "published_on": s.published_on,
                     "stage": s.stage, "file_name": s.file_name, "path": path,
                     "size_bytes": s.size_bytes, "mtime_ns": s.mtime_ns, "sha256": sha,
                     "problem": problem, "discovered_at": now, "ctime_ns": s.ctime_ns,
                     "inode": s.inode, "reporter": s.reporter})
    # The manifests are Japan's fetcher's (manifest.manifests reads Japan's folders only).
    months = [{**month, "reporter": DEFAULT_REPORTER} for month in months]
    return Inventory(pl.DataFrame(rows, schema=INVENTORY_SCHEMA),
                     pl.DataFrame(months, schema=RELEASE_MONTHS_SCHEMA), problems)


def gone(conn: duckdb.DuckDBPyConnection, files: pl.DataFrame) -> pl.DataFrame:
    """Loaded files (per release and file on disk) that the raw folder no longer holds."""
    conn.register("current_files", files.select("release_id", "file_name"))
    try:
        return conn.sql(
            "select a.release_id, a.source_file, count(*) as csvs, "
            "sum(a.rows_read)::bigint as rows, sum(a.cells_loaded)::bigint as cells "
            "from audit.releases as a anti join current_files as c "
            "on a.release_id = c.release_id and a.source_file = c.file_name "
            "group by all order by all").pl()
    finally:
        conn.unregister("current_files")


def describe_gone(gone_files: pl.DataFrame, limit: int = 8) -> str:
    """`2025-04-17_preliminary (6 files, 12,345 rows)` … for the refusal message."""
    by_release = (gone_files.group_by("release_id", maintain_order=True)
                  .agg(files=pl.len(), rows=pl.col("rows").sum(),
                       first=pl.col("source_file").first()))
    parts = [f"{r['release_id']}/{r['first']} ({r['rows']:,} rows)" if r["files"] == 1
             else f"{r['release_id']} ({r['files']} files, {r['rows']:,} rows)"
             for r in by_release.head(limit).iter_rows(named=True)]
    more = by_release.height - limit
    return ", ".join(parts) + (f" and {more} more release(s)" if more > 0 else "")


def refuse_unless_pruning(gone_files: pl.DataFrame, prune: bool) -> None:
    """Stop before anything changes when loaded rows would disappear without `prune`."""
    with_rows = gone_files.filter(pl.col("rows") > 0)
    if prune or with_rows.is_empty():
        return
    rows = int(with_rows["rows"].sum())
    raise UserError(
        f"{with_rows.height} loaded file(s) are no longer in the raw folder: "
        f"{describe_gone(with_rows)}. Building would remove their {rows:,} rows from the "
        "warehouse. Put them back, or build with --prune to remove them (in Dagster: run "
        "config prune: true on raw/release_files); nothing was changed", EXIT_PRUNE)


def remove(conn: duckdb.DuckDBPyConnection, gone_files: pl.DataFrame) -> None:
    """Delete what the gone files contributed to the ingest layer's tables (facts, audit rows,
    quarantined lines; call inside the inventory's transaction). What the store derived from them
    is the store's to forget (trade_etl/store/incremental.forget_removed)."""
    for release_id, source_file in gone_files.select("release_id", "source_file").iter_rows():
        key = {"release_id": release_id, "source_file": source_file}
        conn.execute("delete from core.trade_facts where release_id = $release_id and "
                     "(file_name = $source_file or starts_with(file_name, $source_file || '/'))",
                     key)
        conn.execute("delete from audit.quarantine where release_id = $release_id "
                     "and source_file = $source_file", key)
        conn.execute("delete from audit.releases where release_id = $release_id "
                     "and source_file = $source_file", key)


def changed_on_disk(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Files of the inventory that changed (size, times, inode) since it was taken: what the
    build read may not be what is there now."""
    recorded = conn.sql("select release_id, file_name, path, size_bytes, mtime_ns, ctime_ns, "
                        "inode from raw.release_files where problem is null").fetchall()
    changed = []
    for release_id, file_name, path, size, mtime, ctime, inode in recorded:
        try:
            stat = Path(path).stat()
            now = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        except OSError:
            now = None
        if now != (size, mtime, ctime, inode):
            changed.append(f"{release_id}/{file_name}")
    return changed
