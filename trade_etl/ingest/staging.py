"""Staged files: read and validated ahead of the build, in parallel processes, for one writer.

Reading and validating a release needs no warehouse, only its files and the country codes; the
writer (the build's load step, one at a time: the `warehouse_writer` pool) then stores what was
staged instead of reading the files again. On one machine the build reads and validates in a
second thread anyway and nothing is staged; on a cluster, the job `stage_releases` runs one
release per run, as many at once as the executor and the run queue allow (docs/lake.md,
"Beyond one machine").

A source file's bundle is the loader's results for it (`FileResult`s, zip members separately)
with their frames as Parquet:

    .trade.duckdb.staging/<token>/<sha256 of the source file>/results.json, <n>.facts.parquet,
                                                              <n>.quarantine.parquet

It is content-addressed: `token` hashes the reading and validation code, the layouts registered
(their modules' code too) and the country codes, the folder name is the file's hash (prefixed by
its reporter when not Japan: `bundle_key`), so a bundle can only ever stand for exactly those
bytes read by exactly that code. Bundles are written to a temporary folder and renamed into place
(a killed staging leaves no half bundle), and removed once the release that used them is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from trade_etl import failpoints
from trade_etl.formats import schema
from trade_etl.formats.reporters import DEFAULT_REPORTER
from trade_etl.ingest.layouts import BUILT_IN, Registry
from trade_etl.ingest.releases import SourceFile, sha256_file
from trade_etl.ingest.validation import ValidatedFile
from trade_etl.versions import code_version

# What a bundle's content depends on besides the file: the reading and validating code, the
# same names as the facts' code version (trade_etl/formats/schema.CODE).
CODE = schema.code("core.trade_facts")
FIELDS = ("file_name", "sha256", "status", "error", "layout", "encoding", "rows_read",
          "rows_loaded", "rows_quarantined", "cells_loaded", "value_year_mismatches")


def staging_root(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.name}.staging")


def token(country_codes: Iterable[str], registry: Registry = BUILT_IN) -> str:
    digest = hashlib.sha256(code_version(*CODE).encode())
    digest.update(",".join(sorted(set(country_codes))).encode())
    if registry.modules:  # the registering modules' code (the registry's own is in CODE)
        digest.update(registry.fingerprint.encode())
    return digest.hexdigest()[:16]


def bundle_key(sha256: str, reporter: str = DEFAULT_REPORTER) -> str:
    """A bundle's folder name: the file's hash, prefixed by its reporter when not Japan (the
    same bytes are read by each reporter's own layouts)."""
    return sha256 if reporter == DEFAULT_REPORTER else f"{reporter}.{sha256}"


def bundle_dir(root: Path, code: str, key: str) -> Path:
    return root / code / key


def stage(source: SourceFile, root: Path, code: str, country_codes: Iterable[str],
          registry: Registry = BUILT_IN) -> str:
    """Read, validate and keep one source file's results (with `registry`'s layouts, those of
    the token `code`); returns `staged`, `present` (a bundle for these bytes exists) or
    `skipped` (a problem the build reports itself, or the file changed while it was read)."""
    from trade_etl.ingest.loader import read_source, validate_results

    if source.problem:
        return "skipped"
    before = sha256_file(source.path)
    target = bundle_dir(root, code, bundle_key(before, source.reporter))
    if (target / "results.json").is_file():
        return "present"
    results = read_source(source, registry)
    validate_results(results, sorted(set(country_codes)))
    failpoints.hit("staging:validated")
    if sha256_file(source.path) != before:  # in motion: the build will see it changed
        return "skipped"
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    entries = []
    for n, result in enumerate(results):
        entry = {name: getattr(result, name) for name in FIELDS}
        if result.validated is not None:
            result.validated.facts.write_parquet(tmp / f"{n}.facts.parquet")
            result.validated.quarantine.write_parquet(tmp / f"{n}.quarantine.parquet")
            entry["frames"] = n
        entries.append(entry)
    (tmp / "results.json").write_text(json.dumps(entries) + "\n")
    try:
        os.rename(tmp, target)
    except OSError:  # another process staged the same bytes meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        return "present"
    return "staged"


def load(root: Path, code: str, sha256: str | None,
         reporter: str = DEFAULT_REPORTER) -> list | None:
    """The staged results of `reporter`'s source file with this hash, frames included, or
    None."""
    from trade_etl.ingest.loader import FileResult

    if sha256 is None:
        return None
    folder = bundle_dir(root, code, bundle_key(sha256, reporter))
    try:
        entries = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        return None
    results = []
    for entry in entries:
        frames = entry.pop("frames", None)
        result = FileResult(**entry)
        if frames is not None:
            result.validated = ValidatedFile(
                pl.read_parquet(folder / f"{frames}.facts.parquet"),
                pl.read_parquet(folder / f"{frames}.quarantine.parquet"),
                result.rows_loaded, result.value_year_mismatches)
        results.append(result)
    return results


def discard(root: Path, code: str, keys: Iterable[str | None]) -> None:
    """Remove used bundles (by `bundle_key`), and every bundle of other code tokens (stale)."""
    for key in keys:
        if key:
            shutil.rmtree(bundle_dir(root, code, key), ignore_errors=True)
    if root.is_dir():
        for other in root.iterdir():
            if other.name != code:
                shutil.rmtree(other, ignore_errors=True)
