"""Load release files into the fact store, one transaction per file on disk.

For each file that is new or whose content changed: read it (zip members one by one), validate
it, then in a single transaction replace whatever that file contributed before (facts,
quarantined lines, audit rows) with the new result. A crash leaves the previous state intact.
Files whose content hash matches what is already recorded are skipped, so a rebuild over the
same folder changes nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from trade_etl import failpoints
from trade_etl.raw_csv import FileProblem, read_table
from trade_etl.releases import SourceFile, read_members
from trade_etl.validation import ValidatedFile, validate

AUDIT_COLUMNS = ("release_id", "published_on", "stage", "file_name", "sha256", "rows_read",
                 "rows_loaded", "rows_quarantined", "loaded_at", "source_file", "source_sha256",
                 "status", "error", "layout", "encoding", "cells_loaded", "value_year_mismatches")


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
    value_year_mismatches: int = 0
    validated: ValidatedFile | None = field(default=None, repr=False)

    @property
    def rows_quarantined(self) -> int:
        return 0 if self.validated is None else self.validated.quarantine.height

    @property
    def cells_loaded(self) -> int:
        return 0 if self.validated is None else self.validated.facts.height


def parse_source(source: SourceFile, country_codes: Iterable[str]) -> list[FileResult]:
    """Read and validate every CSV of one source file (nothing is written)."""
    if source.problem:
        status = "skipped" if source.problem == "not a .csv or .zip file" else "error"
        return [FileResult(source.file_name, None, status, source.problem)]
    results = []
    for member in read_members(source):
        if member.data is None:
            results.append(FileResult(member.file_name, None, "error", member.problem))
            continue
        digest = hashlib.sha256(member.data).hexdigest()
        try:
            table = read_table(member.data)
        except FileProblem as problem:
            results.append(FileResult(member.file_name, digest, "error", str(problem)))
            continue
        checked = validate(table.layout, table.rows, table.malformed, country_codes)
        results.append(FileResult(
            member.file_name, digest, "loaded", None, table.layout, table.encoding,
            table.rows_read, checked.rows_loaded, checked.value_year_mismatches, checked,
        ))
        if results[-1].rows_loaded + results[-1].rows_quarantined != table.rows_read:
            raise AssertionError(f"{member.file_name}: rows read do not reconcile")  # a bug
    return results


def store_source(conn: duckdb.DuckDBPyConnection, source: SourceFile, source_sha256: str | None,
                 results: list[FileResult]) -> None:
    """Replace what `source` contributed before with `results`, in one transaction."""
    key = {"release_id": source.release_id, "source_file": source.file_name}
    member_of = "(file_name = $source_file or starts_with(file_name, $source_file || '/'))"
    loaded_at = datetime.now()
    conn.execute("begin transaction")
    try:
        conn.execute(f"delete from core.trade_facts where release_id = $release_id "
                     f"and {member_of}", key)
        conn.execute("delete from audit.quarantine where release_id = $release_id "
                     "and source_file = $source_file", key)
        conn.execute("delete from audit.releases where release_id = $release_id "
                     "and source_file = $source_file", key)
        failpoints.hit("store_source:after_delete")
        for result in results:
            row = {"file_name": result.file_name, **key}
            if result.validated is not None:
                conn.register("staged_facts", result.validated.facts)
                conn.execute(
                    "insert into core.trade_facts select $release_id, $file_name, flow, year, "
                    "month, hs_code, country_code, unit1, unit2, quantity1, quantity2, "
                    "value_thousand_jpy from staged_facts",
                    {"release_id": source.release_id, "file_name": result.file_name},
                )
                conn.unregister("staged_facts")
                if result.rows_quarantined:
                    conn.register("staged_quarantine", result.validated.quarantine)
                    conn.execute(
                        "insert into audit.quarantine select $release_id, $file_name, "
                        "line_number, reason, raw_line, $source_file from staged_quarantine", row,
                    )
                    conn.unregister("staged_quarantine")
            conn.execute(
                f"insert into audit.releases ({', '.join(AUDIT_COLUMNS)}) values "
                f"({', '.join('$' + c for c in AUDIT_COLUMNS)})",
                {
                    "published_on": source.published_on, "stage": source.stage,
                    "sha256": result.sha256, "rows_read": result.rows_read,
                    "rows_loaded": result.rows_loaded, "rows_quarantined": result.rows_quarantined,
                    "loaded_at": loaded_at, "source_sha256": source_sha256,
                    "status": result.status, "error": result.error, "layout": result.layout,
                    "encoding": result.encoding, "cells_loaded": result.cells_loaded,
                    "value_year_mismatches": result.value_year_mismatches, **row,
                },
            )
        failpoints.hit("store_source:before_commit")
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise


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


def load_sources(
    conn: duckdb.DuckDBPyConnection,
    sources: list[tuple[SourceFile, str | None]],
    country_codes: Iterable[str],
    progress: Callable[[str], None] = lambda _msg: None,
    detail: Callable[[str], None] = lambda _msg: None,
) -> LoadSummary:
    """Parse, validate and store each (source, sha256) pair, in publication order.

    `detail` hears one line per file, `progress` one line per release once its files are in.
    """
    codes = sorted(set(country_codes))
    summary = LoadSummary()
    releases = list(dict.fromkeys(source.release_id for source, _ in sources))
    for number, release in enumerate(releases, start=1):
        started = time.perf_counter()
        files = [(s, d) for s, d in sources if s.release_id == release]
        read = bad = 0
        errors = []
        for source, digest in files:
            file_started = time.perf_counter()
            results = parse_source(source, codes)
            store_source(conn, source, digest, results)
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
                    f"{r.rows_quarantined:,} quarantined")) +
                    f" ({time.perf_counter() - file_started:.2f}s)")
        summary.errors += errors
        progress(f"[{number}/{len(releases)}] {release}: {len(files)} file(s), {read:,} rows "
                 f"read, {read - bad:,} loaded, {bad:,} quarantined"
                 + (f", {len(errors)} file(s) in error" if errors else "")
                 + f" ({time.perf_counter() - started:.1f}s)")
    return summary
