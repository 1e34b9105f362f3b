"""Load release files into the fact store, one transaction per release.

Release by release, for the files that are new or whose content changed, in one transaction:
delete whatever those files contributed before (facts, quarantined lines, audit rows), then, a
batch of files at a time (about `TRADE_ETL_LOAD_BATCH_MB` of CSV, default 8; zip members one
by one), read them, validate them together (one pandera pass) and insert the result; the next
batch is read and validated in a second thread meanwhile. A crash leaves the previous state
intact: never half a file, never half a release. Memory holds two batches, not a release.
Files whose content hash matches what is already recorded are skipped, so a rebuild over the
same folder changes nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from trade_etl import failpoints, settings
from trade_etl.db import setting, transaction
from trade_etl.formats import schema
from trade_etl.formats.customs_csv import FileProblem
from trade_etl.ingest.layouts import BUILT_IN, Registry
from trade_etl.ingest.releases import SourceFile, read_members
from trade_etl.ingest.staging import bundle_key
from trade_etl.ingest.validation import SplitFile, ValidatedFile, validate_files

AUDIT_COLUMNS = tuple(c.name for c in schema.columns("audit.releases"))  # from the spec
# The facts go in with one DuckDB thread. With two, DuckDB's parallel insert ends every insert
# with a part-filled row group of its own (a full one and a part-filled one per batch), which
# the next checkpoint that writes anything merges by rewriting them: the close of a full build
# took 1.4 s and ~120 MiB at two years, 8-9 s at twenty. With one, a release's batches fill
# the same row groups and leave one part-filled row group per release; the insert costs
# 0.2-0.3 s more of a small full build's load (2-5 s at twenty years), whose other thread reads
# and validates the next batch meanwhile (docs/design.md, "Cost in proportion to the change").
FACT_INSERT_THREADS = 1


@dataclass
class FileResult:
    """What happened to one CSV (or to a file that could not be read): one audit row."""

    file_name: str
    sha256: str | None
    status: str  # loaded | error | skipped
    error: str | None = None
    layout: str | None = None
    encoding: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    cells_loaded: int = 0
    value_year_mismatches: int = 0
    # the frames, from reading until the batch is stored
    validated: ValidatedFile | None = field(default=None, repr=False)
    split: SplitFile | None = field(default=None, repr=False)


def read_source(source: SourceFile, registry: Registry = BUILT_IN) -> list[FileResult]:
    """Read and split every CSV of one source file with a layout of its reporter (`registry`);
    validation comes after (`validate_results`)."""
    if source.problem:
        status = "skipped" if source.in_progress or source.problem == "not a .csv or .zip file" \
            else "error"
        return [FileResult(source.file_name, None, status, source.problem)]
    results = []
    for member in read_members(source):
        if member.data is None:
            results.append(FileResult(member.file_name, None, "error", member.problem))
            continue
        digest = hashlib.sha256(member.data).hexdigest()
        try:
            layout, table = registry.read(member.data, source.reporter)
        except FileProblem as problem:
            results.append(FileResult(member.file_name, digest, "error", str(problem)))
            continue
        result = FileResult(member.file_name, digest, "loaded", None, table.layout,
                            table.encoding, table.rows_read)
        result.split = SplitFile(layout, table.rows, table.malformed)
        results.append(result)
    return results


def validate_results(results: list[FileResult], country_codes: Iterable[str],
                     seconds: dict[str, float] | None = None) -> None:
    """Validate every read file of `results` in one batch and record the outcome on each."""
    pending = [r for r in results if r.split is not None]
    checked = validate_files([r.split for r in pending], country_codes, seconds)
    for result, validated in zip(pending, checked, strict=True):
        result.validated, result.split = validated, None
        result.rows_loaded = validated.rows_loaded
        result.rows_quarantined = validated.quarantine.height
        result.cells_loaded = validated.facts.height
        result.value_year_mismatches = validated.value_year_mismatches
        if result.rows_loaded + result.rows_quarantined != result.rows_read:
            raise AssertionError(f"{result.file_name}: rows read do not reconcile")  # a bug


Parsed = list[tuple[SourceFile, str | None, list[FileResult]]]


def batches(files: list[tuple[SourceFile, str | None]],
            size: int | None = None) -> list[list[tuple[SourceFile, str | None]]]:
    """Consecutive groups of files of about `size` bytes on disk (a larger file alone);
    `size` defaults to Settings.load_batch_bytes' default (8 MB)."""
    size = settings.DEFAULT_LOAD_BATCH_BYTES if size is None else size
    groups: list[list[tuple[SourceFile, str | None]]] = []
    total = size
    for item in files:
        if total >= size:
            groups.append([])
            total = 0
        groups[-1].append(item)
        total += max(item[0].size_bytes, 1)
    return groups


def delete_previous(conn: duckdb.DuckDBPyConnection, sources: Iterable[SourceFile]) -> None:
    """Delete what these source files contributed before (inside the release's transaction)."""
    for source in sources:
        key = {"release_id": source.release_id, "source_file": source.file_name}
        conn.execute("delete from core.trade_facts where release_id = $release_id and "
                     "(file_name = $source_file or starts_with(file_name, $source_file || "
                     "'/'))", key)
        conn.execute("delete from audit.quarantine where release_id = $release_id "
                     "and source_file = $source_file", key)
        conn.execute("delete from audit.releases where release_id = $release_id "
                     "and source_file = $source_file", key)


def store_batch(conn: duckdb.DuckDBPyConnection, parsed: Parsed, loaded_at: datetime) -> None:
    """Insert a batch's facts, quarantined lines and audit rows (inside the release's
    transaction). The facts of all its files go in with one insert (large appends are written
    straight to the database file instead of through the write-ahead log)."""
    facts, quarantine, audit = [], [], []
    for source, source_sha256, results in parsed:
        for result in results:
            if result.validated is not None:
                facts.append(result.validated.facts.with_columns(
                    file_name=pl.lit(result.file_name)))
                if result.rows_quarantined:
                    quarantine.append(result.validated.quarantine.with_columns(
                        file_name=pl.lit(result.file_name),
                        source_file=pl.lit(source.file_name)))
            audit.append({
                "release_id": source.release_id, "published_on": source.published_on,
                "stage": source.stage, "file_name": result.file_name, "sha256": result.sha256,
                "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined, "loaded_at": loaded_at,
                "source_file": source.file_name, "source_sha256": source_sha256,
                "status": result.status, "error": result.error, "layout": result.layout,
                "encoding": result.encoding, "cells_loaded": result.cells_loaded,
                "value_year_mismatches": result.value_year_mismatches,
                "source_problem": source.problem, "reporter": source.reporter,
            })
    release = {"release_id": parsed[0][0].release_id, "reporter": parsed[0][0].reporter}
    if facts:
        insert_facts(conn, pl.concat(facts, rechunk=False), release)
        del facts
    if quarantine:
        conn.register("staged_quarantine", pl.concat(quarantine))
        conn.execute(
            "insert into audit.quarantine select $release_id, file_name, line_number, "
            "reason, raw_line, source_file, $reporter from staged_quarantine", release)
        conn.unregister("staged_quarantine")
    conn.executemany(
        f"insert into audit.releases ({', '.join(AUDIT_COLUMNS)}) values "
        f"({', '.join('$' + c for c in AUDIT_COLUMNS)})", audit)


def insert_facts(conn: duckdb.DuckDBPyConnection, facts: pl.DataFrame, release: dict) -> None:
    """Append month cells (the columns of validation.FACT_SCHEMA but `file_index`, and
    `file_name`) to core.trade_facts as `release` (release_id, reporter), with
    FACT_INSERT_THREADS DuckDB threads."""
    conn.register("staged_facts", facts)
    try:
        with setting(conn, "threads", FACT_INSERT_THREADS):
            conn.execute(
                "insert into core.trade_facts select $release_id, file_name, flow, year, "
                "month, hs_code, country_code, unit1, unit2, quantity1, quantity2, "
                "value_thousand_jpy, $reporter from staged_facts", release)
    finally:
        conn.unregister("staged_facts")


@dataclass
class LoadSummary:
    files_loaded: int = 0
    files_skipped: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    cells_loaded: int = 0
    errors: list[str] = field(default_factory=list)
    releases: set[str] = field(default_factory=set)
    staged: list[str] = field(default_factory=list)  # bundles (staging.bundle_key) used
    seconds: dict[str, float] = field(
        default_factory=lambda: {"read": 0.0, "validate": 0.0, "reshape": 0.0, "store": 0.0})


def load_sources(
    conn: duckdb.DuckDBPyConnection,
    sources: list[tuple[SourceFile, str | None]],
    country_codes: Iterable[str],
    progress: Callable[[str], None] = lambda _msg: None,
    detail: Callable[[str], None] = lambda _msg: None,
    staged: Callable[[SourceFile, str | None], list[FileResult] | None] | None = None,
    batch_bytes: int | None = None,
    registry: Registry = BUILT_IN,
) -> LoadSummary:
    """Parse, validate and store each (source, sha256) pair, in publication order.

    While one batch is stored, the next is read and validated in a second thread (polars,
    pandera's checks and DuckDB all release the GIL): the two cores both work, and memory holds
    two batches at most. `detail` hears one line per file, `progress` one line per release once
    its files are in. `staged`, when given, returns a source file's results as staged ahead
    (trade_etl/ingest/staging.py), or None to read and validate it here. `batch_bytes`: CSV
    bytes read and validated at once (Settings.load_batch_bytes). `registry`: the layouts of
    the reporters (trade_etl/ingest/layouts.py, Settings.layout_modules).
    """
    codes = sorted(set(country_codes))
    summary = LoadSummary()
    releases = list(dict.fromkeys(source.release_id for source, _ in sources))
    plan = {release: batches([(s, d) for s, d in sources if s.release_id == release],
                             batch_bytes)
            for release in releases}

    def prepare(batch: list[tuple[SourceFile, str | None]]) -> Parsed:
        clock = time.perf_counter()
        parsed = []
        for source, digest in batch:
            # A file with a problem is never read, staged or not: its error row is the result.
            results = staged(source, digest) if staged is not None and not source.problem \
                else None
            if results is None:
                results = read_source(source, registry)
            else:
                summary.staged.append(bundle_key(digest, source.reporter))
            parsed.append((source, digest, results))
        summary.seconds["read"] += time.perf_counter() - clock
        validate_results([r for _, _, results in parsed for r in results], codes,
                         summary.seconds)
        return parsed

    ready = one_ahead([batch for release in releases for batch in plan[release]], prepare)
    with closing(ready):
        for number, release in enumerate(releases, start=1):
            started = time.perf_counter()
            loaded_at = datetime.now()
            results_of: list[list[FileResult]] = []
            with transaction(conn):
                delete_previous(conn, (source for batch in plan[release] for source, _ in batch))
                failpoints.hit("store_release:after_delete")
                for _ in plan[release]:
                    parsed = next(ready)
                    clock = time.perf_counter()
                    store_batch(conn, parsed, loaded_at)
                    summary.seconds["store"] += time.perf_counter() - clock
                    failpoints.hit("store_release:after_batch")
                    for _, _, results in parsed:  # keep the counts, not the frames
                        for r in results:
                            r.validated = None
                        results_of.append(results)
                    del parsed
                failpoints.hit("store_release:before_commit")
            _summarise(summary, number, len(releases), release, results_of,
                       time.perf_counter() - started, progress, detail)
    return summary


def one_ahead(jobs: list, work: Callable) -> Iterator:
    """Yield work(job) for each job in order, doing the next job in a thread meanwhile."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="trade-etl-read") as pool:
        pending = None
        for job in jobs:
            future = pool.submit(work, job)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()


def _summarise(summary: LoadSummary, number: int, of: int, release: str,
               results_of: list[list[FileResult]], seconds: float,
               progress: Callable[[str], None], detail: Callable[[str], None]) -> None:
    """Add one stored release to the summary and report it."""
    read = bad = 0
    errors = []
    for results in results_of:
        summary.files_loaded += 1
        summary.releases.add(release)
        for r in results:
            summary.rows_read += r.rows_read
            summary.rows_loaded += r.rows_loaded
            summary.rows_quarantined += r.rows_quarantined
            summary.cells_loaded += r.cells_loaded
            read, bad = read + r.rows_read, bad + r.rows_quarantined
            if r.status == "error":
                errors.append(f"{release}/{r.file_name}: {r.error}")
            detail(f"{release}/{r.file_name}: " + (r.error or (
                f"{r.rows_read:,} rows read, {r.rows_loaded:,} loaded, "
                f"{r.rows_quarantined:,} quarantined")))
    summary.errors += errors
    progress(f"[{number}/{of}] {release}: {len(results_of)} file(s), {read:,} rows "
             f"read, {read - bad:,} loaded, {bad:,} quarantined"
             + (f", {len(errors)} file(s) in error" if errors else "")
             + f" ({seconds:.1f}s)")
