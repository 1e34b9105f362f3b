"""The warehouse is what a clean build of the raw folder, as it now is, would give.

Whatever happens to the raw folder (files added, changed, changed with their timestamp kept,
deleted, renamed, moved, folders re-dated), an incremental build ends equal, table by table, to
a clean build of the folder; a build that would remove loaded data refuses unless told
(`--prune`); files still being written are waited for; crash leftovers are swept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, build, csv_text, query, row, run_job, snapshot, write_release
from trade_etl.app import cli
from trade_etl.store import publish

# Every build here catches the working copy up with the published file (verified).
pytestmark = pytest.mark.usefixtures("catch_up_always")

# Every table a build writes; core.hs_code_sectors and the marts included.
TABLES = ("raw.release_files", "audit.releases", "audit.quarantine", "core.trade_facts",
          "core.release_coverage", "core.hs_code_sectors", "core.trade_release_monthly",
          "core.trade_latest", "core.trade_latest_sources", "marts.balance_total",
          "marts.balance_by_partner", "marts.balance_by_hs_section", "marts.balance_by_sector",
          "marts.revisions", "audit.release_months", "audit.unknown_codes",
          "audit.official_totals_checked")


def clean_build(raw: Path, tmp: Path) -> dict:
    """A snapshot of a build of `raw` into a new warehouse."""
    warehouse = tmp / f"clean-{time.monotonic_ns()}.duckdb"
    assert build(raw, warehouse) == 0
    return snapshot(warehouse, TABLES)


def file_a(values: dict[int, int], hs: str = "870323915", tag: int | None = None) -> str:
    """Three rows; with a `tag`, codes of their own (`tagged`), so that files of one release
    never report the same cell (a build refuses a release whose files overlap)."""
    return csv_text([row(1, 2024, hs, "304", values),
                     row(1, 2024, tagged("851713000", tag), "105",
                         {m: v // 3 for m, v in values.items()}),
                     row(2, 2024, tagged("270900000", tag), "137", {1: 40})])


def tagged(hs: str, tag: int | None) -> str:
    """`hs` with its 5th-7th digits replaced by `tag` (a code no other file uses)."""
    return hs if tag is None else f"{hs[:4]}{tag:03d}{hs[7:]}"


def two_releases(raw: Path) -> None:
    write_release(raw, "2024-02-20_preliminary", {"a.csv": file_a({1: 100}),
                                                  "b.csv": file_a({1: 7}, hs="030617000",
                                                                  tag=1)})
    write_release(raw, "2024-03-21_preliminary", {"a.csv": file_a({1: 110, 2: 90})})


def assert_pruned_build_is_clean(raw: Path, wh: Path, tmp_path: Path) -> None:
    """`build --prune` succeeds and leaves what a clean build of the raw folder would."""
    assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(wh), "--quiet",
                     "--prune"]) == 0
    assert snapshot(wh, TABLES) == clean_build(raw, tmp_path)


def test_removing_loaded_files_needs_prune_and_then_equals_a_clean_build(tmp_path, capsys):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    before = snapshot(wh, TABLES)
    (raw / "2024-02-20_preliminary" / "b.csv").unlink()
    capsys.readouterr()
    assert build(raw, wh) == 4
    err = capsys.readouterr().err
    assert "2024-02-20_preliminary/b.csv (3 rows)" in err and "--prune" in err
    assert "Traceback" not in err and err.count("error:") == 1
    assert snapshot(wh, TABLES) == before  # nothing changed
    assert_pruned_build_is_clean(raw, wh, tmp_path)


def test_a_renamed_release_folder_leaves_no_ghost(tmp_path, capsys):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    os.rename(raw / "2024-03-21_preliminary", raw / "2024-03-19_preliminary")  # a wrong date
    assert build(raw, wh) == 4
    assert "2024-03-21_preliminary/a.csv" in capsys.readouterr().err
    assert_pruned_build_is_clean(raw, wh, tmp_path)
    latest = {r for (r,) in query(wh, "select distinct release_id from core.trade_latest")}
    assert "2024-03-19_preliminary" in latest and "2024-03-21_preliminary" not in latest


def test_the_release_partitions_follow_the_folders(tmp_path, monkeypatch):
    """A renamed folder: the sensor asks to add the new name's partition and delete the old
    one's; `build --prune` leaves exactly one partition per folder (no green ghost in the UI)."""
    import dagster as dg

    from trade_etl.definitions import defs
    from trade_etl.defs.resources import RawDirectory, TradeEtlConfig

    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    home = tmp_path / "dagster_home"  # the session's instance keeps no partitions between uses
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("TRADE_ETL_RAW_DIR", str(raw))
    monkeypatch.setenv("TRADE_ETL_WAREHOUSE", str(wh))
    two_releases(raw)
    assert build(raw, wh) == 0
    os.rename(raw / "2024-03-21_preliminary", raw / "2024-03-19_preliminary")
    instance = dg.DagsterInstance.get()
    sensor = defs.resolve_sensor_def("raw_release_sensor")
    # The sensor's own function (evaluate_tick would also validate the run it requests of the
    # new name against partitions the tick has not added yet).
    tick = sensor(dg.build_sensor_context(
        instance=instance, definitions=defs,
        resources={"raw_dir": RawDirectory(path=str(raw)), "trade_etl": TradeEtlConfig()}))
    requests = {(type(r).__name__, tuple(r.partition_keys))
                for r in tick.dynamic_partitions_requests}
    assert requests == {("AddDynamicPartitionsRequest", ("2024-03-19_preliminary",)),
                        ("DeleteDynamicPartitionsRequest", ("2024-03-21_preliminary",))}
    assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(wh), "--quiet",
                     "--prune"]) == 0
    assert sorted(instance.get_dynamic_partitions("releases")) == sorted(os.listdir(raw))


def test_a_removed_release_folder_leaves_nothing_behind(tmp_path):
    """No release is left to load, only one to remove: every per-release table forgets it."""
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    shutil.rmtree(raw / "2024-03-21_preliminary")
    assert_pruned_build_is_clean(raw, wh, tmp_path)
    for table in ("core.release_coverage", "core.trade_release_monthly", "core.trade_latest"):
        assert query(wh, f"select distinct release_id from {table}") == [
            ("2024-02-20_preliminary",)], table
    shutil.rmtree(raw / "2024-02-20_preliminary")  # the last one: no partition left at all
    assert_pruned_build_is_clean(raw, wh, tmp_path)


def test_a_changed_sector_map_recomputes_every_release(tmp_path, monkeypatch):
    """Nothing to load, the reference data changed: the per-release monthly values follow."""
    import trade_etl.ingest.reference as reference

    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    ref = tmp_path / "ref"
    shutil.copytree(reference.REF_DATA_DIR, ref)
    text = (ref / "sector_map.csv").read_text()
    assert "\n85,electrical_machinery," in text  # chapter 85 holds 851713000 (file_a)
    monkeypatch.setattr(reference, "REF_DATA_DIR", ref)
    monkeypatch.setattr("trade_etl.store.freshness.REF_DATA_DIR", ref)
    monkeypatch.setattr("trade_etl.versions.REF_DATA_DIR", ref)  # the code versions read it
    monkeypatch.setattr(reference.ref_csv, "__defaults__", (ref,))
    monkeypatch.setattr(reference.load_ref_table, "__defaults__", (ref,))
    before = query(wh, "select hs_code, top_sector_code, highlight_sector_code "
                       "from core.hs_code_sectors where hs_code like '8517%'")
    (ref / "sector_map.csv").write_text(text.replace("\n85,electrical_machinery,",
                                                     "\n85,machinery,"))
    assert build(raw, wh) == 0
    after = query(wh, "select hs_code, top_sector_code, highlight_sector_code "
                      "from core.hs_code_sectors where hs_code like '8517%'")
    assert after != before
    assert snapshot(wh, TABLES) == clean_build(raw, tmp_path)


def test_a_file_replaced_with_its_timestamp_kept_is_read_again(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    path = raw / "2024-03-21_preliminary" / "a.csv"
    stat = path.stat()
    corrected = file_a({1: 119, 2: 90})  # same length, another figure
    assert len(corrected) == stat.st_size
    path.write_text(corrected)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p or rsync -t would
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert build(raw, wh) == 0
    assert query(wh, "select value_thousand_jpy from core.trade_latest where hs_code = "
                 "'870323915' and month = 1") == [(119,)]
    assert snapshot(wh, TABLES) == clean_build(raw, tmp_path)


def test_derived_tables_follow_a_file_that_shrinks(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    assert query(wh, "select count(*) from core.hs_code_sectors where hs_code = '030617000'"
                 ) == [(1,)]
    (raw / "2024-02-20_preliminary" / "b.csv").write_text(  # a cell a.csv does not report
        csv_text([row(1, 2024, "870323915", "105", {1: 5})]))
    assert build(raw, wh) == 0
    assert query(wh, "select count(*) from core.hs_code_sectors where hs_code = '030617000'"
                 ) == [(0,)]
    assert snapshot(wh, TABLES) == clean_build(raw, tmp_path)


# --- the invariant, under random sequences of changes ------------------------------------------

RELEASES = ("2024-02-20_preliminary", "2024-03-21_preliminary", "2024-04-18_detailed")


def apply(raw: Path, op: tuple, step: int) -> None:
    """One change to the raw folder, as a user or a tool would make it."""
    kind, pick = op
    files = sorted(p for p in raw.rglob("*.csv"))
    folders = sorted(p for p in raw.iterdir() if p.is_dir())
    if kind == "add" or not files:
        release = RELEASES[pick % len(RELEASES)]
        tag = 100 + step  # fixtures use no tag and tag 1
        write_release(raw, release, {f"f{step}.csv": file_a(
            {1: 10 + step, 1 + pick % 12: 3}, hs=tagged("870323915", tag), tag=tag)})
        return
    path = files[pick % len(files)]
    if kind == "change":
        tag = 100 + step
        path.write_text(file_a({1: 50 + step}, hs=f"87{tag:03d}{pick % 10}915", tag=tag))
    elif kind == "change_keep_mtime":
        stat = path.stat()
        text = path.read_text()
        path.write_text(text.replace(",304,", ",105,", 1))  # same size, another partner
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    elif kind == "delete":
        path.unlink()
    elif kind == "move":
        target = raw / RELEASES[pick % len(RELEASES)]
        target.mkdir(exist_ok=True)
        if target != path.parent:
            path.rename(target / f"moved{step}.csv")
    elif kind in ("rename", "redate"):
        folder = folders[pick % len(folders)]
        name = f"2024-05-{10 + step:02d}_revised" if kind == "redate" else \
            f"{folder.name.split('_')[0]}_fixed"
        if not (raw / name).exists():
            folder.rename(raw / name)
    for folder in raw.iterdir():  # an emptied folder is no release
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


OPS = st.tuples(st.sampled_from(["add", "change", "change_keep_mtime", "delete", "move",
                                 "rename", "redate"]), st.integers(0, 50))


@settings(max_examples=2, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(OPS, min_size=3, max_size=4))
def test_incremental_builds_equal_clean_builds_after_any_changes(tmp_path_factory, ops):
    tmp = tmp_path_factory.mktemp("invariant")
    raw, wh = tmp / "raw", tmp / "wh.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    for step, op in enumerate(ops):
        apply(raw, op, step)
        code = build(raw, wh)
        if code == 4:  # it would remove loaded data: say so
            code = cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(wh), "--quiet",
                             "--prune"])
        # A move can bring two versions of a table into one release: both builds refuse it.
        clean = tmp / f"clean-{step}.duckdb"
        assert code == build(raw, clean), (ops, step)
        assert code in (0, 1), (op, step)
        if code == 0:
            assert snapshot(wh, TABLES) == snapshot(clean, TABLES), (ops, step)


# --- files in motion ------------------------------------------------------------------------------

WRITER = """
import sys, time
path, lines, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
head, row = sys.argv[4], sys.argv[5]
with open(path, "w") as out:
    out.write(head + "\\n")
    out.flush()
    for i in range(lines):
        out.write(row.replace("HSCODE", f"8703{i:05d}") + "\\n")
        out.flush()
        time.sleep(pause)
"""

READER = """
import os, sys, time, duckdb
path, stop = sys.argv[1], sys.argv[2]
seen = set()
while not os.path.exists(stop):
    try:
        conn = duckdb.connect(path, read_only=True)
        seen.add(conn.sql("select count(*) from core.trade_facts").fetchall()[0][0])
        conn.close()
    except Exception:
        pass
    time.sleep(0.05)
print(sorted(seen))
"""


def test_a_file_being_written_is_waited_for_and_never_published_half(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh" / "trade.duckdb"
    folder = raw / "2024-02-20_preliminary"
    folder.mkdir(parents=True)
    head, line = csv_text([row(1, 2024, "HSCODE", "304", {1: 9})]).splitlines()
    env = {**os.environ, "TRADE_ETL_QUIET_SECONDS": "1.5"}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder / "a.csv"), "40", "0.1",
                               head, line])
    time.sleep(0.5)  # the copy is under way
    stop = tmp_path / "stop-reading"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(wh), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    built = subprocess.run([sys.executable, "-m", "trade_etl", "build", "--raw-dir", str(raw),
                            "--warehouse", str(wh)], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=300)
    writer.wait(60)
    assert built.returncode == 0, built.stderr
    assert "waiting for 1 file(s)" in built.stderr
    assert query(wh, "select count(*) from core.trade_facts") == [(40,)]
    stop.touch()
    seen = reader.communicate(timeout=30)[0]
    assert seen.strip() in ("[]", "[40]"), seen  # readers never saw a half file


def test_a_file_changed_while_the_build_reads_it_is_not_published(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh" / "trade.duckdb"
    write_release(raw, "2024-02-20_preliminary", {"a.csv": file_a({1: 100})})
    env = {**os.environ, "TRADE_ETL_PAUSEPOINT": "store_release:before_commit",
           "TRADE_ETL_PAUSE_SECONDS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "trade_etl", "build", "--raw-dir",
                             str(raw), "--warehouse", str(wh)], cwd=REPO, env=env,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.startswith("paused at"):
            break
    with (raw / "2024-02-20_preliminary" / "a.csv").open("a") as more:
        more.write(row(1, 2024, "870390000", "304", {2: 1}) + "\n")
    err = proc.stderr.read()
    assert proc.wait(120) == 1
    assert "changed while the build was reading them (2024-02-20_preliminary/a.csv)" in err
    assert "Traceback" not in err
    assert not wh.exists()  # nothing was published
    assert build(raw, wh) == 0
    assert query(wh, "select count(*) from core.trade_facts where hs_code = '870390000'") == [(1,)]


def test_download_names_are_skipped_as_still_downloading(tmp_path, capsys):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_release(raw, "2024-02-20_preliminary", {"a.csv": file_a({1: 100})})
    for name in ("b.csv.crdownload", "c.csv.part", "d.csv.partial", "e.download", "f.tmp"):
        (raw / "2024-02-20_preliminary" / name).write_text(file_a({1: 1})[:40])
    assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(wh)]) == 0
    err = capsys.readouterr().err
    assert err.count("still downloading, not read") == 5
    assert query(wh, "select count(*), count(*) filter (where status = 'skipped') "
                 "from audit.releases") == [(6, 5)]


def test_a_fetched_file_that_differs_from_its_manifest_is_not_loaded(tmp_path):
    import hashlib
    import json

    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    body = file_a({1: 100}).encode()
    folder = write_release(raw, "2024-02-20_preliminary", {"a.csv": body[:-30]})  # cut short
    (folder / ".manifest.json").write_text(json.dumps({"files": [{
        "file_name": "a.csv", "flow": "export", "year": 2024, "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(), "months": [{"month": 1,
                                                                 "stage": "preliminary"}]}]}))
    assert build(raw, wh) == 1
    assert query(wh, "select status, error like '%differs from its .manifest.json%' from "
                 "audit.releases") == [("error", True)]
    (folder / "a.csv").write_bytes(body)  # the whole file
    assert build(raw, wh) == 0
    assert query(wh, "select count(*) from core.trade_facts") == [(3,)]


def test_crash_leftovers_are_swept_by_the_next_build(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh" / "trade.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    write_release(raw, "2024-04-18_preliminary", {"a.csv": file_a({1: 120, 2: 95, 3: 80})})
    # Killed between publishing's two renames: the replaced file is left under its temporary
    # name (trade_etl/store/publish.py, _swap), and the working copy is gone.
    env = {**os.environ, "TRADE_ETL_FAILPOINT": "publish:after_swap"}
    killed = subprocess.run([sys.executable, "-m", "trade_etl", "build", "--raw-dir",
                             str(raw), "--warehouse", str(wh)], cwd=REPO, env=env,
                            capture_output=True, timeout=300)
    assert killed.returncode == -9
    left = publish.leftovers(wh)
    assert len(left) == 1 and left[0].stat().st_size > 0
    assert query(wh, "select count(distinct release_id) from core.trade_facts") == [(3,)]
    size = left[0].stat().st_size
    write_release(raw, "2024-05-20_preliminary", {"a.csv": file_a({4: 60})})
    done = subprocess.run([sys.executable, "-m", "trade_etl", "build", "--raw-dir",
                           str(raw), "--warehouse", str(wh)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"removed 1 temporary file(s) ({size / 1e6:.1f} MB)" in done.stderr
    assert publish.leftovers(wh) == []
    assert sorted(p.name for p in wh.parent.iterdir()) == [
        ".trade.duckdb.building", ".trade.duckdb.lock", "trade.duckdb"]
    assert snapshot(wh, TABLES) == clean_build(raw, tmp_path)


# --- one-line errors ----------------------------------------------------------------------------

def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trade_etl", *args], cwd=REPO,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=300)


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.mark.parametrize("name, value", [
    ("TRADE_ETL_FISCAL_START_MONTH", "13"), ("TRADE_ETL_FISCAL_START_MONTH", "0"),
    ("TRADE_ETL_FISCAL_START_MONTH", "abc"), ("TRADE_ETL_DUCKDB_MEMORY_LIMIT", "lots"),
    ("TRADE_ETL_QUIET_SECONDS", "-1"), ("TRADE_ETL_LOAD_BATCH_MB", "0"),
])
def test_a_bad_setting_is_one_line_naming_it(tmp_path, name, value):
    raw = tmp_path / "raw"
    two_releases(raw)
    done = run_cli("build", "--raw-dir", str(raw), "--warehouse", str(tmp_path / "w.duckdb"),
                   env={name: value})
    assert done.returncode == 2
    assert name in one_line(done) and repr(value) in one_line(done)


def test_sql_file_problems_are_one_line(tmp_path, sample_warehouse):
    missing = run_cli("sql", "--warehouse", str(sample_warehouse), "--file",
                      str(tmp_path / "nope.sql"))
    assert missing.returncode == 2 and "No such file" in one_line(missing)
    (tmp_path / "latin1.sql").write_bytes("select 'caf\xe9'".encode("latin-1"))
    latin = run_cli("sql", "--warehouse", str(sample_warehouse), "--file",
                    str(tmp_path / "latin1.sql"))
    assert latin.returncode == 2 and "not UTF-8" in one_line(latin)


@pytest.mark.parametrize("kind, code, says", [
    ("under a file", 2, "not a folder"), ("a CSV file", 2, "is not a DuckDB file"),
    ("a folder", 2, "is a folder"), ("read-only", 5, "read-only"),
])
def test_an_unusable_warehouse_path_is_one_line(tmp_path, kind, code, says):
    raw = tmp_path / "raw"
    two_releases(raw)
    (tmp_path / "plain-file").write_text("x")
    warehouse = {"under a file": tmp_path / "plain-file" / "trade.duckdb",
                 "a CSV file": raw / "2024-02-20_preliminary" / "a.csv",
                 "a folder": raw, "read-only": tmp_path / "ro" / "trade.duckdb"}[kind]
    if kind == "read-only":
        (tmp_path / "ro").mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                                  str(tmp_path / "ro")], capture_output=True, text=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a read-only file system here: {mounted.stderr.strip()}")
    before = (raw / "2024-02-20_preliminary" / "a.csv").read_bytes()
    try:
        done = run_cli("build", "--raw-dir", str(raw), "--warehouse", str(warehouse))
    finally:
        if kind == "read-only":
            subprocess.run(["umount", "-l", str(tmp_path / "ro")], check=False)
    assert done.returncode == code, done.stderr
    assert says in one_line(done)
    assert (raw / "2024-02-20_preliminary" / "a.csv").read_bytes() == before  # not overwritten


HOLDER = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
print("open", flush=True)
time.sleep(60)
"""


def test_a_warehouse_held_open_for_writing_is_one_line(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "trade.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    write_release(raw, "2024-04-18_detailed", {"c.csv": file_a({3: 5})})
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(wh)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        done = run_cli("build", "--raw-dir", str(raw), "--warehouse", str(wh))
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 3
    line = one_line(done)
    assert "open for writing in another process" in line and str(holder.pid) in line
    assert run_cli("build", "--raw-dir", str(raw), "--warehouse", str(wh)).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_the_warehouse_survives(tmp_path, small_disk):
    raw = tmp_path / "raw"
    two_releases(raw)
    wh = small_disk / "trade.duckdb"
    done = run_cli("build", "--raw-dir", str(raw), "--warehouse", str(wh))
    assert done.returncode == 5, done.stderr
    line = one_line(done)
    assert "disk is full" in line and "free some space" in line
    assert not wh.exists() or duckdb.connect(str(wh), read_only=True).close() is None
    shutil.rmtree(tmp_path / "raw")


def test_a_dagster_run_fails_with_the_same_one_line(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    two_releases(raw)
    assert build(raw, wh) == 0
    shutil.rmtree(raw / "2024-03-21_preliminary")
    os.environ["TRADE_ETL_RAW_DIR"], os.environ["TRADE_ETL_WAREHOUSE"] = str(raw), str(wh)
    result = run_job(raw)
    failure = [e for e in result.all_events if e.is_step_failure][0]
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("1 loaded file(s) are no longer in the raw folder: "
                                  "2024-03-21_preliminary/a.csv (3 rows)")
    assert "prune: true" in description
    pruned = run_job(raw, run_config={"ops": {"release_files": {"config": {"prune": True}}}})
    assert pruned.success
    assert snapshot(wh, TABLES) == clean_build(raw, tmp_path)
