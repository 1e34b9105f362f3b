"""The `trade-etl sql` command: read-only, no external access unless asked, tables and CSV."""

import subprocess
import sys

import pytest

from tests.conftest import build, csv_text, row, write_release
from trade_etl.app import cli


@pytest.fixture
def warehouse(tmp_path):
    raw = tmp_path / "raw"
    write_release(raw, "2024-02-20_preliminary", {"a.csv": csv_text([
        row(1, 2024, "870323915", "304", {1: 100}), row(2, 2024, "270900000", "137", {1: 40})])})
    assert build(raw, tmp_path / "wh.duckdb") == 0
    return tmp_path / "wh.duckdb"


def sql(warehouse, *args):
    return cli.main(["sql", "--warehouse", str(warehouse), *args])


def test_sql_prints_an_aligned_table(warehouse, capsys):
    assert sql(warehouse, "select period, exports_jpy, imports_jpy from marts.balance_total "
                          "where period_type = 'month'") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["period", "exports_jpy", "imports_jpy"]
    assert lines[2].split() == ["2024-01", "100000", "40000"]
    assert lines[-1] == "(1 row)"


def test_sql_csv_and_file(warehouse, tmp_path, capsys):
    query = tmp_path / "q.sql"
    query.write_text("select partner_iso3, exports_jpy from marts.balance_by_partner "
                     "where period = 'CY2024' order by 1;\n")
    assert sql(warehouse, "--file", str(query), "--csv") == 0
    assert capsys.readouterr().out == "partner_iso3,exports_jpy\nSAU,0\nUSA,100000\n"


def test_sql_is_read_only(warehouse, capsys):
    assert sql(warehouse, "delete from core.trade_facts") == 1
    assert "read-only" in capsys.readouterr().err
    assert sql(warehouse, "select count(*) from core.trade_facts") == 0


def test_sql_cannot_read_files_unless_allowed(warehouse, tmp_path, capsys):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    assert sql(warehouse, f"select * from read_csv('{secret}')") == 1
    assert "disabled" in capsys.readouterr().err.lower()
    assert sql(warehouse, "--allow-external", f"select * from read_csv('{secret}')") == 0


def test_sql_errors_are_clear(tmp_path, capsys):
    assert cli.main(["sql", "--warehouse", str(tmp_path / "none.duckdb"), "select 1"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["sql", "--warehouse", str(tmp_path / "none.duckdb")]) == 2


def test_console_script_runs(warehouse):
    out = subprocess.run([sys.executable, "-m", "trade_etl", "sql", "--warehouse",
                          str(warehouse), "select count(*) as n from audit.releases"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.splitlines()[2].strip() == "1"


def test_brief_on_small_data(warehouse, capsys):
    assert cli.main(["brief", "--warehouse", str(warehouse), "--fiscal-year", "2023",
                     "--partner", "USA"]) == 0
    out = capsys.readouterr().out
    assert "fiscal 2023 (April 2023 - March 2024)" in out
    assert "United States of America (USA):" in out
    assert cli.main(["brief", "--warehouse", str(warehouse), "--fiscal-year", "2023",
                     "--partner", "Atlantis"]) == 2  # a usage error (tests/test_partners.py)
    assert "no partner matches" in capsys.readouterr().err


def test_user_values_are_bound_never_formatted_into_sql(warehouse, capsys):
    """A partner or date that looks like SQL is only ever a value; tables stay intact."""
    hostile = "USA' or '1'='1'; drop table core.trade_facts; --"
    assert cli.main(["brief", "--warehouse", str(warehouse), "--fiscal-year", "2023",
                     "--partner", hostile]) == 2
    assert "no partner matches" in capsys.readouterr().err
    assert cli.main(["brief", "--warehouse", str(warehouse), "--fiscal-year", "2023",
                     "--as-of", "2024-01-01'; drop table marts.balance_total; --"]) != 0
    assert sql(warehouse, "select count(*) as n from core.trade_facts") == 0
    assert sql(warehouse, "select count(*) as n from marts.balance_total") == 0
