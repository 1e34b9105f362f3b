"""Helpers to write release files in the real Japan Customs layout and to run builds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from trade_etl import settings
from trade_etl.app import cli

REPO = Path(__file__).resolve().parent.parent
SHARED_REFERENCE = REPO.parent / "shared" / "reference"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def header(custom: bool = False, april: str = "Apr") -> str:
    months = [m if m != "Apr" else april for m in MONTHS]
    cells = ["Exp or Imp", "Year", *(["Custom"] if custom else []), "HS", "Country", "Unit1",
             "Unit2", "Quantity1-Year", "Quantity2-Year", "Value-Year"]
    for m in months:
        cells += [f"Quantity1-{m}", f"Quantity2-{m}", f"Value-{m}"]
    return ",".join(cells)


def row(flow: int, year: int, hs: str, country: str, values: dict[int, int], *,
        custom: str | None = None, quote_hs: bool = True, unit1: str = "  ",
        unit2: str = "KG", value_year: int | None = None,
        quantity1: dict[int, int] | None = None, quantity2: dict[int, int] | None = None) -> str:
    """One wide row; quantity2 of a month is its value // 2 and quantity1 is 0, unless given."""
    q1 = {m: (quantity1 or {}).get(m, 0) for m in range(1, 13)}
    q2 = {m: values.get(m, 0) // 2 for m in range(1, 13)} if quantity2 is None else {
        m: quantity2.get(m, 0) for m in range(1, 13)}
    cells = [str(flow), str(year), *([custom] if custom else []),
             f"'{hs}'" if quote_hs else hs, country, unit1, unit2]
    total = sum(values.values())
    cells += [str(sum(q1.values())), str(sum(q2.values())),
              str(total if value_year is None else value_year)]
    for m in range(1, 13):
        cells += [str(q1[m]), str(q2[m]), str(values.get(m, 0))]
    return ",".join(cells)


def csv_text(rows: list[str], custom: bool = False, april: str = "Apr") -> str:
    return "\n".join([header(custom, april), *rows]) + "\n"


def write_release(raw: Path, release_id: str, files: dict[str, str | bytes]) -> Path:
    folder = raw / release_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return folder


def build(raw: Path, warehouse: Path, *, force: bool = False) -> int:
    """`trade-etl build` in this process (a real in-process Dagster run, unless nothing changed
    since the last build; `force` runs it anyway)."""
    return cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(warehouse), "--quiet",
                     *(["--force"] if force else [])])


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


# Columns that legitimately differ between two builds of the same content (release_token hashes
# the load time).
VOLATILE = {"loaded_at", "discovered_at", "path", "mtime_ns", "ctime_ns", "inode",
            "release_token"}
MART_TABLES = ("marts.balance_total", "marts.balance_by_partner", "marts.balance_by_region",
               "marts.balance_by_hs_section", "marts.balance_by_sector",
               "marts.balance_by_partner_sector", "marts.revisions",
               "marts.quantity_by_hs_code", "marts.quantity_by_hs_subheading")
# Every table a build writes, the incrementally maintained ones included.
STATE_TABLES = ("raw.release_files", "audit.releases", "audit.quarantine", "core.trade_facts",
                "core.release_coverage", "core.hs_code_sectors", "core.trade_release_monthly",
                "core.trade_latest", "core.trade_latest_sources", "audit.unknown_codes",
                "audit.official_totals_checked", *MART_TABLES)


def snapshot(warehouse: Path, tables: tuple[str, ...] = STATE_TABLES,
             volatile: set[str] = VOLATILE) -> dict[str, list[tuple]]:
    """Every row of the given tables (sorted), without the volatile columns."""
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in tables:
            schema, name = table.split(".")
            cols = [c for (c,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? order by ordinal_position", [schema, name]).fetchall()
                if c not in volatile]
            if not cols:
                out[table] = []
                continue
            listed = ", ".join(f'"{c}"' for c in cols)
            out[table] = conn.execute(f"select {listed} from {table} order by all").fetchall()
        return out
    finally:
        conn.close()


def run_job(raw: Path, releases: list[str] | None = None, run_config: dict | None = None):
    """The build job as the UI or the sensor runs it: on a fresh Dagster instance holding a
    `releases` partition per release folder of `raw`, over the partitions of `releases` (all,
    by default; none: the unpartitioned assets only). Paths come from the environment."""
    import dagster as dg

    from trade_etl.app.runs import unpartitioned
    from trade_etl.definitions import defs
    from trade_etl.ingest.releases import discover

    on_disk = sorted({s.release_id for s in discover(raw)})
    chosen = on_disk if releases is None else sorted(releases)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("releases", on_disk)
    job = defs.resolve_job_def("build_warehouse")
    options = {"instance": instance, "raise_on_error": False, "run_config": run_config or {}}
    if not chosen:
        return job.execute_in_process(**options, asset_selection=unpartitioned(job))
    return job.execute_in_process(**options, tags={
        "dagster/asset_partition_range_start": chosen[0],
        "dagster/asset_partition_range_end": chosen[-1]})


@pytest.fixture(scope="session", autouse=True)
def _dagster_home(tmp_path_factory) -> Iterator[Path]:
    """One Dagster instance per test process, as a user's builds share one (creating its
    storage costs about 2 s a test otherwise). Its event log is kept in memory: even the pooled
    SQLite one costs a few ms per run event, and hundreds of builds run here. The project's own
    dagster.yaml, with its SQLite event log, is what tests/test_ui.py (a terminal build listed
    by the webserver), tests/test_event_log.py and tests/test_install.py run on."""
    home = tmp_path_factory.mktemp("dagster_home")
    project = (REPO / "dagster.yaml").read_text()
    pooled = "  module: trade_etl.defs.event_log\n  class: PooledSqliteEventLogStorage\n"
    assert pooled in project, "dagster.yaml no longer names the event log this replaces"
    (home / "dagster.yaml").write_text(project.replace(
        pooled, "  module: dagster._core.storage.event_log\n  class: InMemoryEventLogStorage\n"))
    # Set for the whole session: module fixtures that build run before any test's own setup.
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = previous


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _dagster_home: Path):
    """Every test gets its own raw dir and warehouse paths, never the user's."""
    monkeypatch.setenv(settings.RAW_DIR_ENV, str(tmp_path / "raw"))
    monkeypatch.setenv(settings.WAREHOUSE_ENV, str(tmp_path / "warehouse" / "trade.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(_dagster_home))  # where builds record their runs
    monkeypatch.delenv("TRADE_ETL_FAILPOINT", raising=False)
    # Tests write a file and build at once; the quiet period has tests of its own.
    monkeypatch.setenv(settings.QUIET_ENV, "0")
    yield
    os.environ.pop("TRADE_ETL_FAILPOINT", None)


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, _dagster_home) -> Path:
    """The default synthetic sample (`trade-etl sample`), built once for the session."""
    from trade_etl.sample import write_sample

    tmp = tmp_path_factory.mktemp("sample")
    write_sample(tmp / "raw")
    mp = pytest.MonkeyPatch()
    mp.setenv(settings.RAW_DIR_ENV, str(tmp / "raw"))
    mp.setenv(settings.WAREHOUSE_ENV, str(tmp / "trade.duckdb"))
    mp.setenv(settings.QUIET_ENV, "0")
    mp.setenv("DAGSTER_HOME", str(_dagster_home))
    try:
        assert build(tmp / "raw", tmp / "trade.duckdb") == 0
    finally:
        mp.undo()
    return tmp / "trade.duckdb"


@pytest.fixture
def catch_up_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds in this process catch the working copy up with the published file however small
    it is (trade_etl/store/publish.py copies warehouses under 2 GB instead), so that the
    catch-up, verified table by table (TRADE_ETL_VERIFY=sync), runs on the tests' warehouses."""
    from trade_etl.store import publish

    monkeypatch.setattr(publish, "CATCH_UP_FROM_BYTES", 0)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: renders pages in headless Chromium (tests/browser.py)")
    config.addinivalue_line(
        "markers", "slow: minutes each (the lake, the UI's webserver, step-by-step sample "
        "builds): `make test-slow`, beside `make test`; CI runs both")
    # Every catch-up in the tests (in this process and in subprocesses) is followed by a
    # comparison of the working copy with the published file, table by table
    # (trade_etl/store/sync.py): a change the catch-up missed fails the test that made it.
    # Catch-ups run on the tests' small warehouses where a test asks (`catch_up_always`).
    os.environ.setdefault("TRADE_ETL_VERIFY", "sync")


@pytest.fixture(scope="session")
def offline_browser():
    """Headless Chromium with the network cut off (tests/browser.py), launched once per test
    process. Skips, naming what is missing and how to install it, without Chromium or
    Playwright."""
    from tests import browser

    reason = browser.missing()
    if reason:
        pytest.skip(reason)
    with browser.OfflineBrowser() as running:
        yield running
