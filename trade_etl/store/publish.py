"""Builds write a private working copy; readers see the last complete build, swapped in whole.

The warehouse users open (`TRADE_ETL_WAREHOUSE`, e.g. `data/warehouse/trade.duckdb`) is only
ever replaced, never written in place. A build:

1. takes the build lock (`.trade.duckdb.lock` beside it); a second build fails at once with a
   message naming the running one (its pid, start time and command);
2. works on `.trade.duckdb.building`, the working copy: the last published state plus whatever
   a build that was killed had committed (every release is one transaction, so the copy is
   always consistent, and the next build carries on from it);
3. when every asset and blocking check has passed, checkpoints the working copy, compacts it
   if more than a third of it is free space, syncs it to disk and renames it over the
   published file (an atomic replace on POSIX file systems); the replaced file, kept under a
   temporary name meanwhile, becomes the next working copy, which the next build brings up to
   date (`prepare`: caught up with the last build's changes, trade_etl/store/sync.py, or
   copied from the published file when that is cheaper).

A crash at any moment leaves the published file exactly as the last complete build left it.
Readers (`trade-etl sql`, the DuckDB CLI, Python, read-only) never block a build and are never
blocked by one: a reader that opened the old file keeps reading it, the next one sees the new.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from trade_etl import failpoints
from trade_etl.settings import DEFAULT_MEMORY_LIMIT
from trade_etl.store import sync
from trade_etl.store.incremental import record_token, stored_token

PUBLISH_KEY = sync.PUBLISH_KEY
COMPACT_WHEN_FREE = 1 / 3  # compact when this share of the working file's blocks is free
# Below this size copying the published file costs less than catching up with it: a catch-up
# of one release took 1.8-2.0 s on a 366 MB ten-year warehouse and does not grow with the
# history (attaching, comparing the catalogs, the changed rows, one commit); a synced copy took
# 0.4-0.5 s there, about 1.3 s per GB (docs/design.md, "Cost in proportion to the change").
# Tests set it to 0.
CATCH_UP_FROM_BYTES = 2 * 1024**3
# DuckDB merges under-filled row groups (each insert of a release leaves one) at checkpoints,
# at most `max_vacuum_tasks` (100) per checkpoint. A full build leaves more than that pending,
# and the next build's first checkpoints paid for them: 5 s at twenty years, in whichever step
# committed first. Publishing's checkpoint does all it can, so the published file is settled
# and the next build pays for its own change (docs/design.md, "Cost in proportion to the
# change").
SETTLE_VACUUM_TASKS = 1_000_000


@dataclass
class Prepared:
    """How `prepare` made the working copy ready: `kept` (it descends from the published
    file), `caught up` (the previous published file, brought up to date: `catch_up`),
    `copied` (from the published file, whole: `reason`), or `new` (nothing published yet)."""

    swept: tuple[int, int]  # files removed, bytes freed (what killed builds left)
    how: str = "new"
    catch_up: sync.CatchUp | None = None
    reason: str = ""


class BuildRunning(RuntimeError):
    """Another build holds the lock."""


def work_path(published: Path) -> Path:
    return published.with_name(f".{published.name}.building")


def lock_path(published: Path) -> Path:
    return published.with_name(f".{published.name}.lock")


_held: dict[Path, tuple[int, int]] = {}  # lock file -> (fd, how many holders in this process)


def acquire(published: Path) -> None:
    """Take the build lock, or raise BuildRunning naming the build that holds it.

    Re-entrant within one process (the CLI and the run's resource both take it).
    """
    path = lock_path(published).absolute()
    if path in _held:
        fd, count = _held[path]
        _held[path] = (fd, count + 1)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 4096).decode(errors="replace").strip()
        os.close(fd)
        try:
            info = json.loads(holder)
            who = (f"pid {info['pid']}, started {info['started']}: "
                   f"{' '.join(info['command'])[:200]}")
        except (ValueError, KeyError, TypeError):
            who = "details unavailable"
        raise BuildRunning(
            f"another build of {published} is running ({who}); wait for it to finish"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": os.getpid(), "started": datetime.now().isoformat(
        timespec="seconds"), "command": sys.argv}).encode())
    _held[path] = (fd, 1)


def release(published: Path) -> None:
    path = lock_path(published).absolute()
    fd, count = _held[path]
    if count > 1:
        _held[path] = (fd, count - 1)
        return
    del _held[path]
    os.ftruncate(fd, 0)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _publish_id(path: Path) -> str | None:
    return stored_token(path, PUBLISH_KEY)


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def _copy_synced(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file, synced, then renamed into place."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        shutil.copyfile(source, tmp)
        failpoints.hit("publish:after_copy")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _sync_directory(target.parent)


def _sync_directory(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def leftovers(published: Path) -> list[Path]:
    """Temporary files that builds write beside the warehouse (publish copies, compactions)."""
    work = work_path(published)
    folder = published.parent
    found = {*folder.glob(f".{published.name}.*.tmp"), *folder.glob(f".{work.name}.*.tmp"),
             *folder.glob(f".{work.name}.*.compact"), *folder.glob(f".{work.name}.*.compact.wal")}
    return sorted(p for p in found if p.is_file())


def sweep(published: Path) -> tuple[int, int]:
    """Remove what killed builds left behind (call with the lock held: no build is running).
    Returns (files removed, bytes freed)."""
    count = freed = 0
    for path in leftovers(published):
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        count, freed = count + 1, freed + size
    return count, freed


def build_base(published: Path) -> Path | None:
    """The file the next build starts from, as `prepare` will choose it: the working copy when
    it descends from the published file, else the published file (None: neither exists). Read
    by `trade-etl build` before it starts a run, with the lock held."""
    work = work_path(published)
    if not published.exists():
        return None
    if work.exists() and _publish_id(work) == _publish_id(published):
        return work
    return published


def prepare(published: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> Prepared:
    """Make the working copy ready (call with the lock held), after sweeping what killed builds
    left behind.

    The working copy is kept when it descends from the published file (same publish id): it
    holds the published state plus any releases a killed build committed. When it is the file
    the last publish replaced (the published file's parent), what that publish changed is
    copied into it (trade_etl/store/sync.py). Otherwise (no published file: start afresh; a
    published file replaced by hand, e.g. from a backup; a reader still holding the old file)
    it is copied whole from the published file.
    """
    freed = sweep(published)
    work = work_path(published)
    if not published.exists():
        if _publish_id(work) is not None:  # it was published once; that file is gone
            _remove(work)
        return Prepared(freed)
    if work.exists() and _publish_id(work) == _publish_id(published):
        return Prepared(freed, "kept")
    if work.exists() and published.stat().st_size < CATCH_UP_FROM_BYTES:
        reason = "small enough to copy"
    elif work.exists():
        caught = sync.catch_up(work, published, memory_limit)
        if isinstance(caught, sync.CatchUp):
            return Prepared(freed, "caught up", caught)
        reason = caught
    else:
        reason = "no working copy"
    _remove(work)
    _copy_synced(published, work)
    return Prepared(freed, "copied", reason=reason)


def publish(published: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> dict:
    """Checkpoint, compact if worthwhile, and swap the working copy in as the published file.

    The swap renames files rather than copying them: the working copy becomes the published
    file, and the file it replaces (kept under a temporary name meanwhile) becomes the next
    working copy, which the next build brings up to date (`prepare`). Readers that opened the
    old file keep reading it; the next reader opens the new one."""
    work = work_path(published)
    parent = _publish_id(published)
    conn = duckdb.connect(str(work), config={**_bounded(memory_limit),
                                             "max_vacuum_tasks": SETTLE_VACUUM_TASKS})
    try:
        record_token(conn, PUBLISH_KEY, uuid.uuid4().hex)
        record_token(conn, sync.PARENT_KEY, parent or "")
        conn.execute("checkpoint")
        total, free = conn.sql("select total_blocks, free_blocks from pragma_database_size()"
                               ).fetchall()[0]
    finally:
        conn.close()
    compacted = bool(total) and free / total > COMPACT_WHEN_FREE
    if compacted:
        compact(work, memory_limit)
    failpoints.hit("publish:before_swap")
    _swap(work, published)
    return {"bytes": published.stat().st_size, "compacted": compacted,
            "free_share_before": round(free / total, 3) if total else 0.0}


def _swap(work: Path, published: Path) -> None:
    """Rename `work` over `published`, keeping the replaced file as the next `work`: a hard
    link to it under a temporary name first (swept if a crash leaves it), then two renames,
    each atomic, the directory synced after them."""
    with open(work, "rb") as handle:
        os.fsync(handle.fileno())
    spare = None
    if published.exists():
        spare = published.with_name(f".{published.name}.{uuid.uuid4().hex[:8]}.tmp")
        os.link(published, spare)
    os.replace(work, published)
    failpoints.hit("publish:after_swap")
    if spare is not None:
        os.replace(spare, work)
    _sync_directory(published.parent)


def _bounded(memory_limit: str = DEFAULT_MEMORY_LIMIT) -> dict:
    """The builds' DuckDB memory limit (TRADE_ETL_DUCKDB_MEMORY_LIMIT) for publishing's own
    connections: unbounded, DuckDB's default of 80 % of RAM let the checkpoint and the
    compaction hold the whole file (the build's peak memory was in this step)."""
    return {"memory_limit": memory_limit}


def compact(path: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
    """Rewrite a DuckDB file without its free blocks (COPY FROM DATABASE into a new file)."""
    fresh = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.compact")
    try:
        conn = duckdb.connect(config=_bounded(memory_limit))
        try:
            conn.execute("attach $old as old (read_only)", {"old": str(path)})
            conn.execute("attach $new as new", {"new": str(fresh)})
            conn.execute("copy from database old to new")
            conn.execute("detach old")
            conn.execute("detach new")
        finally:
            conn.close()
        os.replace(fresh, path)
    finally:
        _remove(fresh)
