"""Publishing swaps files instead of copying them; the file it replaced becomes the next working
copy and catches up with what the last build changed (trade_etl/store/publish.py,
trade_etl/store/sync.py). Every build of the suite also compares the caught-up copy with the
published file table by table (TRADE_ETL_VERIFY=sync, tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import build, csv_text, query, row, snapshot, write_release
from trade_etl.store import publish, sync

# Every build here catches the working copy up with the published file (verified).
pytestmark = pytest.mark.usefixtures("catch_up_always")


def release(raw: Path, release_id: str, values: dict[int, int], hs: str = "870323915") -> None:
    write_release(raw, release_id, {"a.csv": csv_text([
        row(1, 2024, hs, "304", values), row(2, 2024, "270900000", "137", {1: 40}),
        row(1, 2024, "851713000", "105", {m: v // 3 for m, v in values.items()})])})


def inode(path: Path) -> int:
    return path.stat().st_ino


def test_publishing_swaps_the_files_and_the_replaced_one_catches_up(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh" / "trade.duckdb"
    work = publish.work_path(wh)
    release(raw, "2024-02-20_preliminary", {1: 100})
    assert build(raw, wh) == 0
    release(raw, "2024-03-21_preliminary", {1: 110, 2: 90})
    assert build(raw, wh) == 0
    published_before, work_before = inode(wh), inode(work)
    first_state = snapshot(work)  # the file the last publish replaced: the state before it

    release(raw, "2024-04-18_preliminary", {1: 111, 2: 91, 3: 70})
    assert build(raw, wh) == 0
    # No copy: the working copy became the published file, the published file the working copy.
    assert inode(wh) == work_before and inode(work) == published_before
    assert snapshot(work) != snapshot(wh)  # not yet caught up: it holds the state before
    assert first_state != snapshot(wh)

    ready = publish.prepare(wh)
    assert ready.how == "caught up", ready
    assert ready.catch_up.releases == 1  # only the new release's rows were copied
    assert "core.trade_facts" not in ready.catch_up.whole
    # the marts: only the periods the build recomputed (the new release's months)
    assert {"marts.balance_by_partner", "marts.revisions"} <= set(ready.catch_up.by_months)
    assert snapshot(work) == snapshot(wh)
    assert inode(work) == published_before  # brought up to date in place
    assert publish.prepare(wh).how == "kept"  # the next build starts from it as it is


def test_a_reader_holding_the_replaced_file_means_a_copy_not_a_wait(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh" / "trade.duckdb"
    release(raw, "2024-02-20_preliminary", {1: 100})
    assert build(raw, wh) == 0
    release(raw, "2024-03-21_preliminary", {1: 110, 2: 90})
    assert build(raw, wh) == 0
    # A reader opens the published file and keeps it open across the next two builds.
    reader = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"c = duckdb.connect({str(wh)!r}, read_only=True)\n"
         "print(c.sql('select count(distinct release_id) from core.trade_facts')"
         ".fetchall()[0][0], flush=True)\n"
         "sys.stdin.readline()\n"
         "print(c.sql('select count(distinct release_id) from core.trade_facts')"
         ".fetchall()[0][0], flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "2"
        release(raw, "2024-04-18_preliminary", {3: 70})
        assert build(raw, wh) == 0  # publishing swaps: the reader's file is now the spare
        started = time.monotonic()
        ready = publish.prepare(wh)
        assert ready.how == "copied" and "still open elsewhere" in ready.reason, ready
        assert time.monotonic() - started < 30
        release(raw, "2024-05-20_preliminary", {4: 60})
        assert build(raw, wh) == 0
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "2"  # its own file, unchanged throughout
    finally:
        reader.kill()
        reader.wait()
    assert query(wh, "select count(distinct release_id) from core.trade_facts") == [(4,)]
    clean = tmp_path / "clean.duckdb"
    assert build(raw, clean) == 0
    assert snapshot(wh) == snapshot(clean)


def test_a_spare_file_whose_tables_differ_is_replaced_by_a_copy(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh" / "trade.duckdb"
    work = publish.work_path(wh)
    release(raw, "2024-02-20_preliminary", {1: 100})
    assert build(raw, wh) == 0
    release(raw, "2024-03-21_preliminary", {1: 110, 2: 90})
    assert build(raw, wh) == 0
    release(raw, "2024-04-18_preliminary", {3: 70})
    assert build(raw, wh) == 0
    conn = duckdb.connect(str(work))  # the spare: as if an older version had built it
    conn.execute("create table audit.extra as select 1 as x")
    conn.close()
    ready = publish.prepare(wh)
    assert ready.how == "copied"
    assert ready.reason == "the warehouse's tables, views or macros changed"
    assert query(work, "select count(*) from duckdb_tables() where table_name = 'extra'") == [(0,)]
    assert snapshot(work) == snapshot(wh)


def test_catch_up_finds_a_difference_it_was_not_told_about(tmp_path):
    """The tests' own safety net: verify_equal fails on any row that differs."""
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for path, value in ((a, 1), (b, 2)):
        conn = duckdb.connect(str(path))
        conn.execute(f"create schema core; create table core.t as select {value} as x")
        conn.close()
    conn = duckdb.connect(str(a))
    conn.execute(f"attach '{b}' as p (read_only)")
    try:
        sync.verify_equal(conn, "a", "p")
    except AssertionError as err:
        assert "core.t differs" in str(err)
    else:
        raise AssertionError("verify_equal accepted different tables")
    finally:
        conn.close()
