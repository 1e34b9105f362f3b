"""`trade-etl sql` in bounded memory: results stream in Arrow batches (a table keeps --limit rows
and counts the rest; --csv writes every row as it comes), and --file reads at most
TRADE_ETL_SQL_MAX_BYTES of a regular UTF-8 file. Peak memory is the max RSS of a real
`trade-etl` process, measured by a fresh parent that runs only it."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from trade_etl import settings
from trade_etl.app import cli

TRADE_ETL = str(Path(sys.executable).with_name("trade-etl"))
# Runs the command with stdout to a file and prints its exit code and max RSS (KiB on Linux).
MEASURE = """
import json, resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    code = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE).returncode
print(json.dumps([code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))
"""
PEAK_MIB = 400  # about 125 MiB measured; fetching 20 million rows took about 3 GiB


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """Any DuckDB file does: these queries read no table."""
    path = tmp_path / "wh.duckdb"
    duckdb.connect(str(path)).close()
    return path


def measured(out: Path, *args: str) -> tuple[int, float]:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(out), TRADE_ETL, *args],
                          capture_output=True, text=True, timeout=300)
    code, kib = json.loads(done.stdout)
    return code, kib / 1024


def test_a_20_million_row_result_prints_its_head_and_counts_the_rest(warehouse, tmp_path):
    out = tmp_path / "out.txt"
    code, peak = measured(out, "sql", "--warehouse", str(warehouse), "--limit", "5",
                          "select range as n, 'row ' || range as label from range(20000000)")
    assert code == 0
    lines = out.read_text().splitlines()
    assert lines[0].split() == ["n", "label"] and lines[2].split() == ["0", "row", "0"]
    assert len(lines) == 2 + 5 + 1
    assert lines[-1] == "(20,000,000 rows; 19,999,995 not shown, use --limit or --csv)"
    assert peak < PEAK_MIB, f"peak RSS {peak:.0f} MiB"


def test_csv_streams_every_row(warehouse, tmp_path):
    out = tmp_path / "out.csv"
    code, peak = measured(out, "sql", "--warehouse", str(warehouse), "--csv",
                          "select range as n, repeat('x', 400) as pad from range(800000)")
    assert code == 0
    with out.open() as handle:
        assert next(handle) == "n,pad\n"
        count = sum(1 for _ in handle)
    assert count == 800_000
    assert peak < PEAK_MIB, f"peak RSS {peak:.0f} MiB (the rows alone are over 320 MiB)"


def test_file_must_be_a_small_regular_utf8_file(warehouse, tmp_path, monkeypatch, capsys):
    def run(path) -> tuple[int, str]:
        code = cli.main(["sql", "--warehouse", str(warehouse), "--file", str(path)])
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) <= 1, err
        return code, err

    fifo = tmp_path / "pipe.sql"
    os.mkfifo(fifo)
    script = tmp_path / "q.sql"
    script.write_text("select 42 as answer;" + " " * 200)
    latin = tmp_path / "latin.sql"
    latin.write_bytes(b"select 'caf\xe9'")
    for path, message in ((fifo, "not a regular file"),
                          (tmp_path, "it is a folder"), (latin, "not UTF-8 text (byte 11)"),
                          (tmp_path / "none.sql", "No such file")):
        code, err = run(path)
        assert code == 2 and f"--file {path}" in err and message in err, err
    assert run(script) == (0, "")
    monkeypatch.setenv(settings.SQL_MAX_BYTES_ENV, "100")
    code, err = run(script)
    assert code == 2 and "larger than 100 bytes" in err and settings.SQL_MAX_BYTES_ENV in err
    monkeypatch.setenv(settings.SQL_MAX_BYTES_ENV, "lots")
    code, err = run(script)
    assert code == 2 and f"{settings.SQL_MAX_BYTES_ENV} must be a number of bytes" in err


def test_file_dev_zero_is_refused_without_reading_it(warehouse):
    """In a process limited to 2 GiB of address space: reading /dev/zero to the end would
    exhaust it (and, unlimited, the machine's memory)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    done = subprocess.run([TRADE_ETL, "sql", "--warehouse", str(warehouse), "--file",
                           "/dev/zero"], capture_output=True, text=True, timeout=120,
                          preexec_fn=limit)
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("error: cannot read --file /dev/zero: not a regular file (a device, "
                           "pipe or socket); save the SQL to a file\n")


def test_limit_zero_counts_only_and_a_negative_limit_is_refused(warehouse, capsys):
    assert cli.main(["sql", "--warehouse", str(warehouse), "--limit", "0",
                     "select * from range(25000)"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "(25,000 rows; 25,000 not shown, use --limit or --csv)"
    assert cli.main(["sql", "--warehouse", str(warehouse), "--limit", "-1", "select 1"]) == 2
    assert "--limit must be 0 or more" in capsys.readouterr().err
