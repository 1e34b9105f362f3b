"""What does a build have to do? (`trade-etl build` and the raw-folder sensor ask first.)

Two questions, from files and the published warehouse only (no Dagster):
- *Anything at all?* A build's inputs are the files in the raw folder (name, size, modification
  and change times, inode), the fetcher's manifests, the reference CSVs, the newest exchange-rate
  vintage of each series (`trade-etl fetch --fx`), the fiscal-year setting and the project's own
  code and SQL. Every run records their fingerprint as it takes the
  inventory and clears the "up to date" mark; the publish step sets the mark from it when the
  run leaves no file unloaded. When the mark matches, `trade-etl build` says so and starts no
  run (`--force` runs anyway).
- *Would it remove loaded rows?* Files whose rows the warehouse holds but the raw folder no
  longer does: without `--prune` the CLI refuses before any run starts (the inventory step
  refuses again inside a run, for runs started elsewhere).
- *Which releases?* A release needs loading when its files' names, sizes, times or inodes differ
  from what the published warehouse's inventory last saw, or when files of it are still
  unloaded there. Those become the partitions of the run (trade_etl/defs/partitions.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from trade_etl.db import sql_text, table_exists
from trade_etl.formats import fx_rates, manifest
from trade_etl.ingest import shipped
from trade_etl.ingest.releases import SourceFile, discover
from trade_etl.settings import REF_DATA_DIR, Settings
from trade_etl.store.incremental import (
    combine,
    current_code,
    record_token,
    recorded_tokens,
    stored_token,
)
from trade_etl.versions import code_version

if TYPE_CHECKING:
    import polars as pl

STATE_KEY = "build:inputs"  # the inputs of the last complete build
SEEN_KEY = "build:inputs-seen"  # the inputs the current (or last) run saw


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs_fingerprint(raw_dir: Path, sources: list[SourceFile] | None,
                       config: Settings) -> str:
    """A hash of everything a build reads, `config`'s settings that change what it builds
    included; it changes when any of it changes. `sources`: the raw folder as just
    discovered, if the caller has it."""
    reporters, layouts_fingerprint = shipped.reporters_and_fingerprint(config.layout_modules)
    sources = discover(raw_dir, config.allow_dates, reporters) if sources is None else sources
    files = [(s.release_id, s.file_name, str(s.path.absolute()), s.size_bytes, s.mtime_ns,
              s.ctime_ns, s.inode, s.problem) for s in sources]
    manifests = [(p.name, manifest.digest(p)) for p in manifest.manifests(raw_dir)]
    refs = [(p.name, _digest(p)) for p in sorted(REF_DATA_DIR.glob("*.csv"))]
    rates = fx_rates.fingerprint(raw_dir)  # the vintage ref.fx_* would load, and its sha256
    code = code_version("/", "trade_etl")  # the package and its SQL, wherever they are
    mirror = (config.mirror_cif_fob_margin, config.mirror_transit_share,
              config.mirror_customs_rate_lag_days)  # core.mirror_assumptions
    return combine(files, manifests, refs, rates, code, config.fiscal_start_month,
                   config.duckdb_memory_limit, layouts_fingerprint,  # + the layout modules
                   *mirror)


def is_up_to_date(warehouse: Path, fingerprint: str) -> bool:
    return stored_token(warehouse, STATE_KEY) == fingerprint


def forget_in(conn: duckdb.DuckDBPyConnection, seen: str) -> None:
    """Drop the "up to date" mark and remember the inputs this run saw (every run, first)."""
    conn.execute("delete from audit.derived_state where table_name = $k", {"k": STATE_KEY})
    record_token(conn, SEEN_KEY, seen)


def mark_up_to_date(conn: duckdb.DuckDBPyConnection) -> bool:
    """Set the "up to date" mark from what this run saw, unless files are still unloaded (a run
    of some releases only); call just before publishing. Returns whether it was set."""
    pending = conn.sql(f"select count(*) from ({sql_text('raw/pending_files')})"
                       ).fetchall()[0][0]
    seen = recorded_tokens(conn, SEEN_KEY).get("")
    if pending or seen is None:
        return False
    record_token(conn, STATE_KEY, seen)
    return True


def release_fingerprints(files) -> dict[str, str]:
    """release -> a hash of its files' names, sizes, times and inodes. `files`: SourceFiles, or
    rows of raw.release_files as dicts (the same fields)."""
    lines: dict[str, list[str]] = {}
    for f in files:
        get = f.get if isinstance(f, dict) else lambda name, f=f: getattr(f, name)
        lines.setdefault(get("release_id"), []).append(
            f"{get('file_name')}:{get('size_bytes')}:{get('mtime_ns')}:{get('ctime_ns') or 0}:"
            f"{get('inode') or 0}")
    return {release: hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()[:16]
            for release, rows in lines.items()}


def releases_to_build(conn: duckdb.DuckDBPyConnection | None, sources: list[SourceFile],
                      raw_dir: Path) -> dict[str, str]:
    """The releases on disk that a build must load (release -> fingerprint): new ones, ones
    whose files changed since the published warehouse (`conn`, read-only; None when there is
    none yet) took its inventory, ones with files it has not loaded, and ones whose files'
    problems changed (a manifest edited, a date that became valid): every build ends where a
    clean build of the folder would. The fingerprint (a sensor's run key) covers the files, the
    release's manifest and the problems discovery found."""
    files = release_fingerprints(sources)
    held = {p.name: manifest.digest(p) for p in manifest.manifests(raw_dir)}
    found = {}
    for s in sources:
        found.setdefault(s.release_id, []).append((s.file_name, s.problem))
    current = {release: combine(fp, held.get(release), sorted(found[release]))
               for release, fp in files.items()}
    if conn is None or not table_exists(conn, "raw.release_files"):
        return current
    rows = conn.sql("select * from raw.release_files").pl().to_dicts()
    unloaded = {r[0] for r in conn.sql(
        f"select distinct release_id from ({sql_text('raw/pending_files')})").fetchall()}
    recorded = release_fingerprints(rows)
    entries = manifest.read_all(raw_dir)[0] if held else {}
    by_key = {(s.release_id, s.file_name): s for s in sources}
    problem_changed = set()
    for r in rows:
        key = (r["release_id"], r["file_name"])
        source = by_key.get(key)
        if source is None:
            continue  # gone: its release's fingerprint differs already
        now = source.problem or manifest.file_problem(entries.get(key), r["size_bytes"],
                                                      r["sha256"])
        if now != r["problem"]:
            problem_changed.add(r["release_id"])
    return {r: fp for r, fp in current.items()
            if recorded.get(r) != files[r] or r in unloaded or r in problem_changed}


# The per-release tables that record the code version their rows were computed with
# (trade_etl/store/incremental.record_code): a new version needs every release run again.
CODE_RECORDED = ("core.trade_facts", "core.release_coverage", "core.trade_release_monthly")


def code_changed(conn: duckdb.DuckDBPyConnection | None) -> list[str]:
    """The tables of CODE_RECORDED whose rows in the published warehouse (`conn`, read-only;
    None when there is none yet) were computed with another code version than their asset's now
    (`incremental.current_code`, the assets' Dagster code versions). Dagster's own rule: a
    partitioned asset whose code version changed is stale in every partition. The versions are
    read from the warehouse, not from the run history: the event log is not written in the
    warehouse's transactions, and one instance may serve several warehouses."""
    if conn is None:
        return []
    recorded = {}
    if table_exists(conn, "audit.derived_state"):
        recorded = dict(conn.sql("select table_name, token from audit.derived_state "
                                 "where starts_with(table_name, 'code:')").fetchall())
    return [table for table in CODE_RECORDED
            if recorded.get(f"code:{table}") != current_code(table)]


def plan(warehouse: Path, sources: list[SourceFile],
         raw_dir: Path) -> tuple[dict[str, str], list[str]]:
    """The releases a run must cover (release -> fingerprint), and the tables whose code
    changed: the releases whose files changed (`releases_to_build`), or every release on disk
    when a per-release table's code version changed (`code_changed`). The CLI and the sensor
    both ask this, of the published file (opened once, read-only: readers and builds never
    lock it); what else changed (reference data, settings, other code) needs a run of the
    unpartitioned assets only."""
    conn = duckdb.connect(str(warehouse), read_only=True) if warehouse.exists() else None
    try:
        changed_code = code_changed(conn)
        to_build = releases_to_build(conn, sources, raw_dir)
    finally:
        if conn is not None:
            conn.close()
    if changed_code:
        every = release_fingerprints(sources)
        to_build = {release: combine(every[release], to_build.get(release), changed_code)
                    for release in every}
    return to_build, changed_code


def files_gone(warehouse: Path, sources: list[SourceFile]) -> pl.DataFrame:
    """Loaded files that `sources` (the raw folder now) no longer holds, read from the file the
    next build starts from (publish.build_base), as the inventory step would find them; empty
    when there is no warehouse yet, or when that file cannot be opened read-only (the run's own
    inventory step decides then)."""
    import polars as pl  # not imported by a build of an unchanged folder (the CLI skips it)

    from trade_etl.ingest import inventory
    from trade_etl.store import publish

    base = publish.build_base(warehouse)
    empty = pl.DataFrame(schema={"release_id": pl.String, "source_file": pl.String,
                                 "csvs": pl.Int64, "rows": pl.Int64, "cells": pl.Int64})
    if base is None:
        return empty
    try:
        conn = duckdb.connect(str(base), read_only=True)
    except duckdb.Error:
        return empty
    try:
        if not table_exists(conn, "audit.releases"):
            return empty
        files = pl.DataFrame({"release_id": [s.release_id for s in sources],
                              "file_name": [s.file_name for s in sources]},
                             schema={"release_id": pl.String, "file_name": pl.String})
        return inventory.gone(conn, files)
    finally:
        conn.close()
