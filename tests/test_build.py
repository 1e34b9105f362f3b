"""End-to-end builds through the Dagster definitions: supersession, idempotency, incremental
= full, bad files, zips and per-file transactions."""

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import build, csv_text, query, row, run_job, snapshot, write_release
from trade_etl.store.publish import work_path

# Every build here catches the working copy up with the published file (verified).
pytestmark = pytest.mark.usefixtures("catch_up_always")

US, CN, KR = "304", "105", "103"
CAR, LNG = "870323915", "271111000"  # chapters 87 and 27


def release_a(raw: Path) -> None:
    write_release(raw, "2024-02-20_preliminary", {
        "exp_2024.csv": csv_text([row(1, 2024, CAR, US, {1: 100}), row(1, 2024, CAR, CN, {1: 50}),
                                  row(1, 2024, LNG, KR, {1: 7})]),
    })


def release_b(raw: Path) -> None:
    # Reports January and February for chapter 87 only: the China row is gone (now zero),
    # the US row is revised, chapter 27 keeps its January figure from release A.
    write_release(raw, "2024-03-21_preliminary", {
        "exp_2024.csv": csv_text([row(1, 2024, CAR, US, {1: 110, 2: 90}),
                                  row(1, 2024, "870324915", KR, {2: 3})]),
    })


def latest(warehouse: Path) -> set[tuple]:
    return set(query(warehouse, "select month, hs_code, country_code, value_thousand_jpy, "
                                "release_id from core.trade_latest"))


def test_supersession_by_chapter_and_removed_rows(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    release_a(raw)
    release_b(raw)
    assert build(raw, wh) == 0
    assert latest(wh) == {
        (1, CAR, US, 110, "2024-03-21_preliminary"),
        (2, CAR, US, 90, "2024-03-21_preliminary"),
        (2, "870324915", KR, 3, "2024-03-21_preliminary"),
        (1, LNG, KR, 7, "2024-02-20_preliminary"),
    }
    # Every release is kept: the China row of release A is still in the fact store.
    assert query(wh, "select release_id from core.trade_facts where country_code = ?", [CN]) == [
        ("2024-02-20_preliminary",)]


def test_release_order_uses_publication_date_not_folder_order(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_release(raw, "2024-05-01_fixed", {"a.csv": csv_text([row(1, 2024, CAR, US, {1: 5})])})
    write_release(raw, "2024-04-01_revised", {"a.csv": csv_text([row(1, 2024, CAR, US, {1: 9})])})
    write_release(raw, "2024-05-01_preliminary",
                  {"a.csv": csv_text([row(1, 2024, CAR, US, {1: 1})])})
    assert build(raw, wh) == 0
    assert latest(wh) == {(1, CAR, US, 5, "2024-05-01_fixed")}


def test_build_twice_changes_nothing(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    release_a(raw)
    release_b(raw)
    assert build(raw, wh) == 0
    first = snapshot(wh, volatile={"discovered_at"})
    assert build(raw, wh, force=True) == 0  # a second Dagster run, not the "up to date" skip
    # Nothing was reloaded: even the load timestamps are unchanged.
    assert snapshot(wh, volatile={"discovered_at"}) == first


def test_an_unchanged_folder_skips_the_run_until_something_changes(tmp_path, capsys,
                                                                   monkeypatch):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    release_a(raw)
    assert build(raw, wh) == 0
    capsys.readouterr()
    assert build(raw, wh) == 0
    assert "is up to date" in capsys.readouterr().err
    monkeypatch.setenv("TRADE_ETL_FISCAL_START_MONTH", "1")  # a setting changed: run again
    assert build(raw, wh) == 0
    assert "is up to date" not in capsys.readouterr().err
    release_b(raw)  # a new release: run again, and it is loaded
    assert build(raw, wh) == 0
    assert "is up to date" not in capsys.readouterr().err
    assert (2, CAR, US, 90, "2024-03-21_preliminary") in latest(wh)


def test_a_run_started_elsewhere_keeps_the_up_to_date_mark_honest(tmp_path, capsys,
                                                                  monkeypatch):
    """A run from the UI or the sensor changes the warehouse too: the next CLI build skips only
    if that run left the warehouse equal to the raw folder, and builds what it left otherwise."""
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    monkeypatch.setenv("TRADE_ETL_RAW_DIR", str(raw))
    monkeypatch.setenv("TRADE_ETL_WAREHOUSE", str(wh))
    release_a(raw)
    assert build(raw, wh) == 0
    release_b(raw)  # the sensor's run of the new release loads it: nothing is left to do
    assert run_job(raw, ["2024-03-21_preliminary"]).success
    capsys.readouterr()
    assert build(raw, wh) == 0
    assert "is up to date" in capsys.readouterr().err
    assert (2, CAR, US, 90, "2024-03-21_preliminary") in latest(wh)
    # A run of one release while another is waiting to be loaded leaves the mark unset.
    write_release(raw, "2024-04-18_preliminary",
                  {"exp_2024.csv": csv_text([row(1, 2024, CAR, US, {3: 70})])})
    assert run_job(raw, ["2024-02-20_preliminary"]).success
    assert (3, CAR, US, 70, "2024-04-18_preliminary") not in latest(wh)
    capsys.readouterr()
    assert build(raw, wh) == 0
    assert "is up to date" not in capsys.readouterr().err
    assert (3, CAR, US, 70, "2024-04-18_preliminary") in latest(wh)


def test_adding_a_release_equals_building_everything_at_once(tmp_path):
    step, full = tmp_path / "step", tmp_path / "full"
    release_a(step / "raw")
    assert build(step / "raw", step / "wh.duckdb") == 0
    release_b(step / "raw")
    assert build(step / "raw", step / "wh.duckdb") == 0
    release_a(full / "raw")
    release_b(full / "raw")
    assert build(full / "raw", full / "wh.duckdb") == 0
    assert snapshot(step / "wh.duckdb") == snapshot(full / "wh.duckdb")


def test_a_backfilled_older_release_is_ordered_correctly(tmp_path):
    step, full = tmp_path / "step", tmp_path / "full"
    release_b(step / "raw")
    assert build(step / "raw", step / "wh.duckdb") == 0
    release_a(step / "raw")  # published earlier, dropped later
    assert build(step / "raw", step / "wh.duckdb") == 0
    release_a(full / "raw")
    release_b(full / "raw")
    assert build(full / "raw", full / "wh.duckdb") == 0
    assert snapshot(step / "wh.duckdb") == snapshot(full / "wh.duckdb")


def test_a_changed_file_replaces_its_rows(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    release_a(raw)
    assert build(raw, wh) == 0
    write_release(raw, "2024-02-20_preliminary",
                  {"exp_2024.csv": csv_text([row(1, 2024, CAR, US, {1: 101})])})
    assert build(raw, wh) == 0
    assert query(wh, "select country_code, value_thousand_jpy from core.trade_facts") == [
        (US, 101)]
    assert query(wh, "select count(*) from audit.releases") == [(1,)]


def test_bad_rows_are_quarantined_and_the_rest_loads(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_release(raw, "2024-02-20_preliminary", {"exp.csv": csv_text([
        row(1, 2024, CAR, US, {1: 100}), row(1, 2024, CAR, "999", {1: 5}),
        row(1, 2024, "1234", US, {1: 5})])})
    assert build(raw, wh) == 0
    assert query(wh, "select rows_read, rows_loaded, rows_quarantined from audit.releases") == [
        (3, 1, 2)]
    assert query(wh, "select release_id, file_name, line_number, reason from audit.quarantine "
                     "order by line_number") == [
        ("2024-02-20_preliminary", "exp.csv", 3,
         "Country is not a known customs country code: '999'"),
        ("2024-02-20_preliminary", "exp.csv", 4, "HS is not a 9-digit code: '1234'")]
    assert query(wh, "select sum(value_thousand_jpy) from core.trade_latest") == [(100,)]


def test_unreadable_file_is_recorded_others_load_and_exit_is_nonzero(tmp_path, capsys):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    release_a(raw)
    write_release(raw, "2024-02-20_preliminary", {"broken.csv": b"\x00\x01garbage" * 100,
                                                  "notes.txt": "hello"})
    write_release(raw, "2024-13-40_fixed", {"x.csv": csv_text([row(1, 2024, CAR, US, {1: 1})])})
    assert build(raw, wh) == 1
    err = capsys.readouterr().err
    assert "2024-02-20_preliminary/broken.csv: binary content" in err
    assert "2024-13-40_fixed/x.csv: folder name has an invalid date" in err
    assert query(wh, "select file_name, status from audit.releases order by all") == [
        ("broken.csv", "error"), ("exp_2024.csv", "loaded"), ("notes.txt", "skipped"),
        ("x.csv", "error")]
    assert query(wh, "select count(*) from core.trade_latest") == [(3,)]
    assert build(raw, wh) == 1  # still there, still reported
    (raw / "2024-02-20_preliminary" / "broken.csv").unlink()
    shutil.rmtree(raw / "2024-13-40_fixed")
    assert build(raw, wh) == 0


def test_zip_of_several_csvs_loads_each_member(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("exp_s01.csv", csv_text([row(1, 2024, LNG, KR, {1: 7})]))
        archive.writestr("exp_s17.csv", "\ufeff" + csv_text([row(1, 2024, CAR, US, {1: 100})]))
        archive.writestr("../evil.csv", csv_text([row(1, 2024, CAR, CN, {1: 1})]))
    write_release(raw, "2024-02-20_preliminary", {"exp_2024.zip": buffer.getvalue()})
    assert build(raw, wh) == 1  # the ../ member is refused
    assert query(wh, "select file_name, status, rows_loaded from audit.releases order by 1") == [
        ("exp_2024.zip/../evil.csv", "error", 0), ("exp_2024.zip/exp_s01.csv", "loaded", 1),
        ("exp_2024.zip/exp_s17.csv", "loaded", 1)]
    assert query(wh, "select sum(value_thousand_jpy) from core.trade_latest") == [(107,)]


def test_a_crash_inside_a_file_transaction_keeps_the_previous_state(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    release_a(raw)
    assert build(raw, wh) == 0
    before = snapshot(wh)
    write_release(raw, "2024-02-20_preliminary",
                  {"exp_2024.csv": csv_text([row(1, 2024, CAR, US, {1: 999})]),
                   "imp_2024.csv": csv_text([row(2, 2024, CAR, US, {1: 7})])})
    release_b(raw)
    # A batch of one file (TRADE_ETL_LOAD_BATCH_MB): the release's two files are two inserts,
    # and after_batch kills the build between them, inside the release's transaction.
    for point in ("store_release:after_delete", "store_release:after_batch",
                  "store_release:before_commit"):
        proc = subprocess.run(
            [sys.executable, "-m", "trade_etl", "build", "--raw-dir", str(raw),
             "--warehouse", str(wh), "--quiet"],
            env={**os.environ, "TRADE_ETL_FAILPOINT": point, "TRADE_ETL_LOAD_BATCH_MB": "1e-6"},
            capture_output=True, text=True, timeout=300)
        assert proc.returncode == -9, proc.stderr[-2000:]
        after = snapshot(wh)
        # The killed build got no file in: the fact store and the audit are as before.
        for table in ("audit.releases", "audit.quarantine", "core.trade_facts",
                      "core.trade_latest"):
            assert after[table] == before[table], (point, table)
        # Nor did its working copy, which the next build carries on from: the killed release
        # (2024-02-20, its first in this build) still holds its previous file only.
        loaded = ("audit.releases", "audit.quarantine", "core.trade_facts")
        assert snapshot(work_path(wh), loaded) == {t: before[t] for t in loaded}, point
    assert build(raw, wh) == 0
    clean = tmp_path / "clean.duckdb"
    assert build(raw, clean) == 0
    assert snapshot(wh) == snapshot(clean)


def test_the_latest_check_reads_only_the_recomputed_months_after_a_pass(tmp_path):
    """latest_one_release_per_cell: after a pass on the table as it was, only the months a
    refresh recomputed can break it, so only they are read; without that pass, all of it."""
    import duckdb

    from trade_etl.defs.store.core import latest_one_release_per_cell, sources_token
    from trade_etl.store.incremental import Refresh

    raw, wh = tmp_path / "raw", tmp_path / "trade.duckdb"
    release_a(raw)
    release_b(raw)
    assert build(raw, wh) == 0
    conn = duckdb.connect(str(wh))
    try:
        before = sources_token(conn)  # the build's check passed on this table
        # a recomputed January (its source changed) that came out with a duplicate key
        conn.execute("update core.trade_latest_sources set release_token = 'changed' "
                     "where flow = 1 and year = 2024 and month = 1 and hs_chapter = '87'")
        conn.execute("insert into core.trade_latest select * from core.trade_latest "
                     "where flow = 1 and year = 2024 and month = 1 and hs_code = $c "
                     "and country_code = $p", {"c": CAR, "p": US})
        january, february = ("JPN", 1, 2024, 1), ("JPN", 1, 2024, 2)

        def check(months, was=before):
            refresh = Refresh(1, 0, 0, full=False, months=months)
            return latest_one_release_per_cell(conn, was, refresh)

        failed = check([january])
        assert not failed.passed and failed.metadata["duplicate_keys"].value == 1
        assert failed.metadata["checked"].value == "the 1 month(s) recomputed"
        # the table before had not passed (e.g. a failed build's working copy): all of it
        whole = check([february], was="never passed")
        assert not whole.passed and whole.metadata["checked"].value == "whole table"
        # February alone was recomputed: January was not read
        scoped = check([february])
        assert scoped.passed and scoped.metadata["checked"].value == "the 1 month(s) recomputed"
    finally:
        conn.close()


def release_2023(raw: Path) -> None:
    # 870323999 is in no year's export code list (audit.unknown_codes), as 870324915 of release B
    write_release(raw, "2023-03-20_preliminary", {
        "exp_2023.csv": csv_text([row(1, 2023, CAR, US, {1: 80}),
                                  row(1, 2023, "870323999", CN, {2: 5})]),
    })


def test_a_release_of_another_year_equals_building_everything_at_once(tmp_path):
    """The tables kept by calendar year (audit.unknown_codes, the rows the check
    totals_match_official keeps) recompute the years a new release reports: a release of 2024
    after one of 2023 ends as a build of both."""
    step, full = tmp_path / "step", tmp_path / "full"
    release_2023(step / "raw")
    assert build(step / "raw", step / "wh.duckdb") == 0
    release_a(step / "raw")
    release_b(step / "raw")
    assert build(step / "raw", step / "wh.duckdb") == 0
    for make in (release_2023, release_a, release_b):
        make(full / "raw")
    assert build(full / "raw", full / "wh.duckdb") == 0
    assert snapshot(step / "wh.duckdb") == snapshot(full / "wh.duckdb")
    wh = step / "wh.duckdb"
    assert query(wh, "select year, hs_code from audit.unknown_codes order by all") == [
        (2023, "870323999"), (2024, "870324915")]
    kept = query(wh, "select * from audit.official_totals_checked order by all")
    assert kept == query(wh, "select * from audit.official_totals_diff order by all")
    assert {r[1] for r in kept} == {2023, 2024}


def test_the_year_tables_recompute_only_the_years_of_the_changed_months(tmp_path):
    import duckdb

    from trade_etl.defs.store.marts import _refresh_years

    raw, wh = tmp_path / "raw", tmp_path / "trade.duckdb"
    for make in (release_2023, release_a, release_b):
        make(raw)
    assert build(raw, wh) == 0
    conn = duckdb.connect(str(wh))
    try:
        conn.execute("update audit.unknown_codes set partners = -1")  # as computed before
        _refresh_years(conn, "audit.unknown_codes", ["2024-01", "2024-02"])
        assert conn.sql("select year, partners from audit.unknown_codes order by all"
                        ).fetchall() == [(2023, -1), (2024, 1)]  # 2023 was not read
    finally:
        conn.close()


def test_the_sector_codes_read_only_added_releases_unless_one_went(tmp_path):
    """core.hs_code_sectors: releases only added since its last refresh delete no fact, so
    only their codes are read; once a release's facts are gone, every code is read again."""
    import duckdb

    from trade_etl.store.incremental import refresh_codes

    raw, wh = tmp_path / "raw", tmp_path / "trade.duckdb"
    release_a(raw)
    release_b(raw)
    assert build(raw, wh) == 0
    conn = duckdb.connect(str(wh))
    try:
        def codes() -> set[str]:
            return {c for (c,) in conn.sql("select hs_code from core.hs_code_sectors").fetchall()}

        # a code no fact holds (as if left by a release since removed)
        conn.execute("insert into core.hs_code_sectors values ('999999999', '99', null, "
                     "'x', null)")
        assert refresh_codes(conn, "core.hs_code_sectors").stale == 0
        assert "999999999" in codes()  # nothing went since: the fact store was not read
        conn.execute("delete from core.trade_facts where release_id = '2024-03-21_preliminary'")
        conn.execute("delete from audit.releases where release_id = '2024-03-21_preliminary'")
        refresh_codes(conn, "core.hs_code_sectors")
        assert codes() == {CAR, LNG}  # release B's own code and the stray one are gone
    finally:
        conn.close()


def test_a_full_build_writes_the_derived_fact_tables_year_by_year(tmp_path):
    """core.trade_release_monthly and core.trade_latest are written one year after another,
    so their row groups each span few years and a new release's year windows skip the rest
    (DuckDB's zone maps); an aggregation's own output order would mix every year."""
    raw, wh = tmp_path / "raw", tmp_path / "trade.duckdb"
    for year in (2022, 2023, 2024):
        write_release(raw, f"{year + 1}-03-10_fixed", {f"exp_{year}.csv": csv_text(
            [row(1, year, f"{chapter:02d}0190000", US, {m: chapter + m for m in range(1, 13)})
             for chapter in range(1, 61)])})  # a chapter each: 60 x 12 monthly rows a year
    assert build(raw, wh) == 0
    for table in ("core.trade_release_monthly", "core.trade_latest"):
        years = [y for (y,) in query(wh, f"select year from {table} order by rowid")]
        assert len(years) > 1000 and years == sorted(years), table


def test_loader_runs_with_half_the_memory_limit(tmp_path: Path, monkeypatch) -> None:
    """While the loader holds its batches, DuckDB's cache gets half the run's memory limit
    (TRADE_ETL_DUCKDB_MEMORY_LIMIT); the steps after it get the whole limit back."""
    from trade_etl.defs.ingest import assets

    seen: dict[str, str] = {}

    def setting(conn) -> str:
        return conn.execute("select current_setting('memory_limit')").fetchall()[0][0]

    def spy_load(conn, *args, **kwargs):
        seen["loading"] = setting(conn)
        return load(conn, *args, **kwargs)

    def spy_metadata(conn, releases):
        seen["after"] = setting(conn)
        return metadata(conn, releases)

    load, metadata = assets.load_sources, assets.release_metadata
    monkeypatch.setattr(assets, "load_sources", spy_load)
    monkeypatch.setattr(assets, "release_metadata", spy_metadata)
    monkeypatch.setenv("TRADE_ETL_DUCKDB_MEMORY_LIMIT", "600MB")
    raw = tmp_path / "raw"
    release_a(raw)
    assert build(raw, tmp_path / "w.duckdb") == 0
    assert seen == {"loading": "286.1 MiB", "after": "572.2 MiB"}  # DuckDB shows MiB
    assert latest(tmp_path / "w.duckdb") == {(1, CAR, US, 100, "2024-02-20_preliminary"),
                                             (1, CAR, CN, 50, "2024-02-20_preliminary"),
                                             (1, LNG, KR, 7, "2024-02-20_preliminary")}


def test_memory_amounts_and_the_loading_limit() -> None:
    from trade_etl.defs.ingest.assets import LOAD_MEMORY_FLOOR, loading_limit
    from trade_etl.settings import SettingError, memory_bytes

    assert memory_bytes("512MB") == 512 * 1000**2  # as DuckDB reads it: MB = 1000²
    assert memory_bytes(" 1.5 GiB ") == 3 * 2**29
    assert memory_bytes("64kib") == 65536
    with pytest.raises(SettingError, match="lots"):
        memory_bytes("lots")
    assert loading_limit(memory_bytes("512MB")) == 256 * 1000**2
    assert loading_limit(memory_bytes("200MB")) == LOAD_MEMORY_FLOOR  # not under the floor
    assert loading_limit(memory_bytes("100MB")) == 100 * 1000**2  # nor over the run's own


def test_memory_limit_is_restored_after_an_error() -> None:
    import duckdb

    from trade_etl.db import setting

    conn = duckdb.connect(config={"memory_limit": "512MB"})
    with pytest.raises(ValueError, match="in the block"), \
            setting(conn, "memory_limit", "100000000B", restore="512MB"):
        assert conn.execute("select current_setting('memory_limit')").fetchall() == [
            ("95.3 MiB",)]
        raise ValueError("in the block")
    assert conn.execute("select current_setting('memory_limit')").fetchall() == [("488.2 MiB",)]


def test_a_release_s_batches_fill_the_same_row_groups(tmp_path: Path) -> None:
    """The loader's inserts of a release's batches fill their row groups: one part-filled row
    group per release, not one per insert. DuckDB's parallel insert left one per insert, and
    the next checkpoint that wrote anything rewrote them all (1.4 s of a small full build)."""
    import duckdb
    import polars as pl

    from trade_etl.db import transaction
    from trade_etl.ingest.loader import insert_facts
    from trade_etl.store.warehouse import ensure_schema

    def batch(release: int, number: int) -> pl.DataFrame:
        """200,000 month cells in four chunks, as the loader's concatenated files are."""
        return pl.concat([pl.DataFrame({
            "file_name": f"exp_{release}_{number}_{chunk}.csv",
            "flow": pl.Series([1] * 50_000, dtype=pl.Int8),
            "year": pl.Series([2024] * 50_000, dtype=pl.Int16),
            "month": pl.Series([m % 12 + 1 for m in range(50_000)], dtype=pl.Int8),
            "hs_code": [f"{870323000 + i % 900}" for i in range(50_000)],
            "country_code": [f"{100 + i % 250}" for i in range(50_000)],
            "unit1": "NO", "unit2": "KG", "quantity1": pl.Series(range(50_000)),
            "quantity2": pl.Series(range(50_000)), "value_thousand_jpy": pl.Series(range(50_000)),
        }) for chunk in range(4)], rechunk=False)

    conn = duckdb.connect(str(tmp_path / "w.duckdb"), config={"threads": 2})
    ensure_schema(conn)
    for release in (1, 2):
        with transaction(conn):
            for number in range(3):
                insert_facts(conn, batch(release, number),
                             {"release_id": f"2024-0{release}-10_fixed", "reporter": "JPN"})
    conn.execute("checkpoint")
    sizes = [n for (n,) in conn.execute(
        "select max(start + count) - min(start) from pragma_storage_info('core.trade_facts') "
        "where column_id = 0 and segment_type <> 'VALIDITY' group by row_group_id").fetchall()]
    assert sum(sizes) == 2 * 3 * 4 * 50_000
    assert len([n for n in sizes if n < 122_880]) <= 2, sizes  # DuckDB's row group: 122,880
    assert conn.execute("select current_setting('threads')").fetchall() == [(2,)]


def test_threads_are_restored_after_an_error() -> None:
    import duckdb

    from trade_etl.db import setting

    conn = duckdb.connect(config={"threads": 2})
    with pytest.raises(ValueError, match="in the block"), setting(conn, "threads", 1):
        assert conn.execute("select current_setting('threads')").fetchall() == [(1,)]
        raise ValueError("in the block")
    assert conn.execute("select current_setting('threads')").fetchall() == [(2,)]
