"""The wheel works outside the checkout: built from this repository, installed into a fresh
virtual environment, run in an empty folder (`trade-etl demo`, then `trade-etl sql`)."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_the_wheel_runs_the_demo_and_sql_in_an_empty_folder(tmp_path):
    dist = tmp_path / "dist"
    build_wheel = "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))"
    built = subprocess.run([sys.executable, "-c", build_wheel, str(dist)], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = dist / built.stdout.strip().splitlines()[-1]
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"trade_etl/_data/sql/ddl.sql", "trade_etl/_data/ref/countries.csv",
            "trade_etl/_data/dagster.yaml", "trade_etl/sample/profile.csv"} <= names
    assert not any(n.startswith(("tests/", "bench/", "sql/", "data/")) for n in names)

    # A fresh venv with the wheel alone installed in it. Its dependencies come from the
    # project's .venv through a path entry (tests may not download them); the checkout itself
    # is not on the path: trade_etl must come from the wheel.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True
                          ).stdout.strip()
    (Path(site) / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps",
                                "--no-index", str(wheel)], capture_output=True, text=True,
                               timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]

    empty = tmp_path / "somewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRADE_ETL_", "DAGSTER_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["TRADE_ETL_QUIET_SECONDS"] = "0"
    where = subprocess.run([python, "-c", "import trade_etl, trade_etl.settings as s; "
                            "print(trade_etl.__file__); print(s.SQL_DIR)"], cwd=empty, env=env,
                           capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr[-3000:]
    package, sql_dir = where.stdout.split()
    assert package.startswith(site) and sql_dir.startswith(site), where.stdout
    trade_etl = venv / "bin" / "trade-etl"
    demo = subprocess.run([trade_etl, "demo"], cwd=empty, env=env, capture_output=True,
                          text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "surplus" in demo.stdout and (empty / "data" / "warehouse" / "trade.duckdb").exists()
    assert (empty / "data" / "dagster_home" / "dagster.yaml").exists()  # the run's instance
    sql = subprocess.run([trade_etl, "sql", "--csv", "select count(*) as n, "
                          "count(distinct period_type) as types from marts.balance_total"],
                         cwd=empty, env=env, capture_output=True, text=True, timeout=120)
    assert sql.returncode == 0, sql.stderr[-3000:]
    n, types = sql.stdout.strip().splitlines()[-1].split(",")
    assert int(n) > 0 and int(types) == 6
