"""Control characters from the data never reach a terminal or a renderer raw (trade_etl/text.py):
a partner name holding ESC, BEL and a C1 CSI is escaped by brief, report (whose charts
vl-convert used to panic on), the `sql` table and errors; a file name holding ESC by the build's
progress lines and summary."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import build, csv_text, row, write_release
from trade_etl import settings
from trade_etl.app import cli
from trade_etl.text import visible

NAME = "Uni\x1b[31mted\x07 States\x9b2J\r"
SHOWN = "Uni\\x1b[31mted\\x07 States\\x9b2J\\x0d"
TRADE_ETL = str(Path(sys.executable).with_name("trade-etl"))
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, _dagster_home) -> Path:
    """A built warehouse in which partner 304 (USA) is named NAME, in ref.countries and in every
    table that carries partner names (as a user's edited reference CSV would give)."""
    tmp = tmp_path_factory.mktemp("text")
    raw = tmp / "raw"
    write_release(raw, "2024-02-20_preliminary", {"a.csv": csv_text([
        row(1, 2024, "870323915", "304", {1: 100}), row(2, 2024, "270900000", "137", {1: 40}),
        row(1, 2023, "870323915", "304", {6: 90}), row(2, 2023, "270900000", "304", {7: 30})])})
    mp = pytest.MonkeyPatch()
    mp.setenv(settings.QUIET_ENV, "0")
    mp.setenv("DAGSTER_HOME", str(_dagster_home))
    try:
        assert build(raw, tmp / "wh.duckdb") == 0
    finally:
        mp.undo()
    conn = duckdb.connect(str(tmp / "wh.duckdb"))
    try:
        conn.execute("update ref.countries set country_name = ? where country_code = '304'",
                     [NAME])
        for schema, table in conn.execute(
                "select c.table_schema, c.table_name from information_schema.columns c join "
                "duckdb_tables() t on t.schema_name = c.table_schema and t.table_name = "
                "c.table_name where column_name = 'partner_name'").fetchall():
            conn.execute(f"update {schema}.{table} set partner_name = ? "
                         "where partner_code = '304'", [NAME])
    finally:
        conn.close()
    return tmp / "wh.duckdb"


def test_visible_escapes_c0_c1_and_del_and_keeps_lines():
    assert visible("a\x1bb\x00c\x7fd\x85e\x9bf") == "a\\x1bb\\x00c\\x7fd\\x85e\\x9bf"
    assert visible("one\n\ttwo") == "one\n\ttwo"
    assert visible("one\n\ttwo", lines=False) == "one\\x0a\\x09two"
    assert visible("¥ 日本 é") == "¥ 日本 é"


def test_brief_escapes_a_partner_name(hostile, capsys):
    assert cli.main(["brief", "--warehouse", str(hostile), "--fiscal-year", "2023",
                     "--partner", "USA"]) == 0
    out = capsys.readouterr().out
    assert f"{SHOWN} (USA):" in out and not RAW_CONTROL.search(out)


def test_report_renders_and_escapes_a_partner_name(hostile, tmp_path):
    """A real `trade-etl report` process: vl-convert's panic on ESC aborted the process."""
    out = tmp_path / "r.html"
    done = subprocess.run([TRADE_ETL, "report", "--warehouse", str(hostile), "--fiscal-year",
                           "2023", "--partner", "USA", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    page = out.read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(page.replace("\n", "").replace("\t", ""))
    assert f"<h1>Japan&#x27;s trade in fiscal 2023: {SHOWN}</h1>" in page
    svg_labels = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svg_labels) == 5 and any(SHOWN in s for s in svg_labels)
    assert not RAW_CONTROL.search(done.stdout + done.stderr.replace("\n", ""))


def test_sql_table_and_errors_escape_control_characters(hostile, capsys):
    assert cli.main(["sql", "--warehouse", str(hostile), "select country_name, 'a' || chr(10) "
                     "|| 'b' as two_lines from ref.countries where country_code = '304'"]) == 0
    out = capsys.readouterr().out
    assert SHOWN in out and "a\\x0ab" in out and not RAW_CONTROL.search(out)
    assert out.count("\n") == 4  # header, rule, one row, count: the newline did not split it
    assert cli.main(["sql", "--warehouse", str(hostile), "select * from \"no\x1b[2Jtable\""]) == 1
    err = capsys.readouterr().err
    assert "no\\x1b[2Jtable" in err and not RAW_CONTROL.search(err.replace("\n", ""))


def test_build_progress_and_summary_escape_a_file_name(tmp_path, capsys):
    raw = tmp_path / "raw"
    release = write_release(raw, "2024-02-20_preliminary", {
        "good.csv": csv_text([row(1, 2024, "870323915", "304", {1: 100})]),
        "bad\x1b[2J\x07.csv": b"\x00\x01 not a customs file\n"})
    assert cli.main(["build", "--raw-dir", str(raw), "--warehouse",
                     str(tmp_path / "wh.duckdb")]) == 1  # a file in error
    captured = capsys.readouterr()
    assert "bad\\x1b[2J\\x07.csv" in captured.err
    for text in (captured.out, captured.err):
        assert not RAW_CONTROL.search(text.replace("\n", ""))
    shutil.rmtree(release)
