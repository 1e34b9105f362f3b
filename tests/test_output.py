"""Files the user names (`report --out`, `build --timings`, the report asset's page) are written
only where trade_etl/serve/output.py allows: never over the warehouse, what it depends on, a
folder, a device or a database; always whole, by a rename beside the real target."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

import duckdb
import pytest

from tests.conftest import build, csv_text, row, write_release
from trade_etl import settings
from trade_etl.app import cli


@pytest.fixture(scope="module")
def small(tmp_path_factory, _dagster_home) -> tuple[Path, Path]:
    """A warehouse of one small release (built once): its raw folder and its file."""
    tmp = tmp_path_factory.mktemp("output")
    raw = tmp / "raw"
    write_release(raw, "2024-02-20_preliminary", {"a.csv": csv_text([
        row(1, 2024, "870323915", "304", {1: 100}), row(2, 2024, "270900000", "137", {1: 40})])})
    mp = pytest.MonkeyPatch()
    mp.setenv(settings.QUIET_ENV, "0")
    mp.setenv("DAGSTER_HOME", str(_dagster_home))
    try:
        assert build(raw, tmp / "wh.duckdb") == 0
    finally:
        mp.undo()
    return raw, tmp / "wh.duckdb"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def report(warehouse: Path, out: str, raw: Path | None = None) -> int:
    if raw is not None:
        os.environ[settings.RAW_DIR_ENV] = str(raw)  # the test's monkeypatch restores it
    return cli.main(["report", "--warehouse", str(warehouse), "--fiscal-year", "2023",
                     "--out", out])


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".partial")]


def test_an_empty_out_is_refused(small, capsys):
    assert report(small[1], "") == 2
    assert "--out is empty" in one_line(capsys)


def test_a_folder_is_refused_and_nothing_is_left_behind(small, tmp_path, capsys):
    folder = tmp_path / "pages"
    folder.mkdir()
    link = tmp_path / "link"
    link.symlink_to(folder)
    assert report(small[1], str(link)) == 2
    err = one_line(capsys)
    assert f"refusing to write --out {folder} (given as {link}): it is a folder" in err
    assert partials(tmp_path) == [] and list(folder.iterdir()) == []


def test_a_device_is_refused_even_through_a_symlink(small, tmp_path, capsys):
    """As root, a null device of the test's own (a regression must not replace the system's
    /dev/null, as it did once); otherwise /dev/null itself, which only root could replace."""
    device = Path("/dev/null")
    if os.geteuid() == 0:
        device = tmp_path / "null"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    link = tmp_path / "null.html"
    link.symlink_to(device)
    for out in (str(device), str(link)):
        assert report(small[1], out) == 2
        err = one_line(capsys)
        assert f"--out {device}" in err and "a character device" in err
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_a_named_pipe_is_refused(small, tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert report(small[1], str(fifo)) == 2  # would block forever if it were opened
    assert "a named pipe" in one_line(capsys)


def test_the_warehouse_and_what_it_depends_on_are_refused(small, tmp_path, capsys):
    """The warehouse (directly or by a symlink), its .wal, the .<name>.… files beside it, the
    lake folder and catalog, the raw folder: each refused, each left as it was."""
    raw, warehouse = small
    link = tmp_path / "report.html"
    link.symlink_to(warehouse)
    before = digest(warehouse)
    lake = warehouse.parent / "lake"
    cases = {
        str(warehouse): "it is the warehouse",
        str(link): "it is the warehouse",
        str(warehouse) + ".wal": "write-ahead log",
        str(warehouse.with_name(f".{warehouse.name}.lock")): "the warehouse depends on it",
        str(warehouse.with_name(f".{warehouse.name}.lake.json")): "the warehouse depends on it",
        str(warehouse.with_name(f".{warehouse.name}.staging") / "x.html"): "depends on it",
        str(lake / "catalog.sqlite"): "the warehouse's lake",
        str(lake / "trade_etl" / "page.html"): "the warehouse's lake",
        str(raw / "2024-02-20_preliminary" / "a.csv"): "inside the raw folder",
        str(raw / "report.html"): "inside the raw folder",
    }
    for out, reason in cases.items():
        assert report(warehouse, out, raw) == 2, out
        err = one_line(capsys)
        assert reason in err and f"--out {Path(out).resolve()}" in err, (out, err)
    assert digest(warehouse) == before
    assert not (warehouse.parent / f"{warehouse.name}.wal").exists() and not lake.exists()
    assert not (raw / "report.html").exists() and partials(warehouse.parent) == []


def test_databases_are_refused_wherever_they_are(small, tmp_path, capsys):
    other = tmp_path / "other.duckdb.html"
    duckdb.connect(str(other)).close()
    lite = tmp_path / "notes.html"
    sqlite3.connect(lite).execute("create table t (a)").connection.close()
    for path, kind in ((other, "a DuckDB database"), (lite, "an SQLite database")):
        before = digest(path)
        assert report(small[1], str(path)) == 2
        assert f"--out {path}: it is {kind}" in one_line(capsys)
        assert digest(path) == before


def test_a_regular_file_behind_a_symlink_is_replaced_whole(small, tmp_path, capsys):
    target = tmp_path / "pages" / "fy2023.html"
    target.parent.mkdir()
    target.write_text("old page\n")
    target.chmod(0o640)
    link = tmp_path / "latest.html"
    link.symlink_to(target)
    assert report(small[1], str(link)) == 0
    assert f"wrote {target} " in capsys.readouterr().out
    assert link.is_symlink() and target.read_text().startswith("<!doctype html>")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert partials(tmp_path) == []


def test_build_timings_is_checked_before_the_build(small, tmp_path, capsys):
    raw, warehouse = small
    before = digest(warehouse)
    for out, message in (("", "--timings is empty"),
                         (str(warehouse), f"--timings {warehouse}: it is the warehouse"),
                         (str(raw), "inside the raw folder"), (str(tmp_path), "a folder")):
        assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(warehouse),
                         "--force", "--timings", out]) == 2
        assert message in one_line(capsys)
    assert digest(warehouse) == before


def test_build_timings_without_dagster_home(small, tmp_path, monkeypatch):
    """--timings reads the steps' windows from the build's own instance (data/dagster_home
    here), not from $DAGSTER_HOME: unset, it once failed after the build had run."""
    import json

    raw, warehouse = small
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "timings.json"
    assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(warehouse),
                     "--force", "--timings", str(out)]) == 0
    timings = json.loads(out.read_text())
    assert (tmp_path / "data" / "dagster_home").is_dir()
    assert "step:warehouse__published" in timings["stages"]
    assert timings["rss_mib"]["steps"] and timings["rss_mib"]["peak"] > 0


def test_the_report_asset_refuses_a_reports_dir_inside_the_raw_folder(small, monkeypatch):
    import dagster as dg

    from trade_etl.app.runs import launch_report

    raw, warehouse = small
    monkeypatch.setenv(settings.WAREHOUSE_ENV, str(warehouse))
    monkeypatch.setenv(settings.RAW_DIR_ENV, str(raw))
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(raw))
    result = launch_report(dg.DagsterInstance.ephemeral())
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    description = failure.step_failure_data.user_failure_data.description
    assert f"the report page (${settings.REPORTS_DIR_ENV}) {raw.resolve()}/report_FY" in \
        description and "inside the raw folder" in description
    assert sorted(p.name for p in raw.iterdir()) == ["2024-02-20_preliminary"]
