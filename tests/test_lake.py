"""The lake (trade_etl/lake/iceberg.py): the published warehouse as Iceberg tables in a real
sqlite SqlCatalog under tmp_path, read back by DuckDB over the .duckdb file, DuckDB over
pyiceberg's scan and polars.scan_iceberg, which must agree row for row, to the yen and cent.
Publishes are real `trade-etl lake publish` processes where a kill or a pause is involved."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from tests.conftest import build, csv_text, row, run_job, write_release
from trade_etl import settings
from trade_etl.lake import iceberg
from trade_etl.sample import write_sample

# The lake's suite writes and reads Iceberg tables for minutes: `make test-slow`, run by CI.
pytestmark = pytest.mark.slow

TRADE_ETL = str(Path(sys.executable).with_name("trade-etl"))


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory, _dagster_home) -> tuple[Path, Path]:
    """Two builds of the one-year sample: W1 without its newest release, W2 with it."""
    tmp = tmp_path_factory.mktemp("lake")
    releases = write_sample(tmp / "all", years=(2024,))
    raw1 = tmp / "raw1"
    raw1.mkdir()
    for folder in releases[:-1]:
        shutil.copytree(folder, raw1 / folder.name)
    mp = pytest.MonkeyPatch()
    mp.setenv(settings.QUIET_ENV, "0")
    mp.setenv("DAGSTER_HOME", str(_dagster_home))
    try:
        assert build(raw1, tmp / "w1.duckdb") == 0
        assert build(tmp / "all", tmp / "w2.duckdb") == 0
    finally:
        mp.undo()
    return tmp / "w1.duckdb", tmp / "w2.duckdb"


@pytest.fixture(autouse=True)
def _polars_planner(monkeypatch):
    monkeypatch.setenv("POLARS_ICEBERG_PLANNER", "pyiceberg")  # no polars_iceberg package


def lake(tmp_path: Path) -> settings.LakeConfig:
    return settings.lake_config(default_dir=tmp_path / "lake")


def cli_args(config: settings.LakeConfig, warehouse: Path) -> list[str]:
    return [TRADE_ETL, "lake", "publish", "--warehouse", str(warehouse), "--catalog-uri",
            config.catalog_uri, "--warehouse-uri", config.warehouse_uri]


def tables_of(warehouse: Path) -> list[str]:
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return iceberg.public_tables(conn)
    finally:
        conn.close()


def assert_lake_equals(warehouse: Path, config: settings.LakeConfig,
                       publish_seq: int | None = None) -> int:
    """Every public table of `warehouse` equals its lake table as of one publish (default the
    latest), as a multiset of rows, read through pyiceberg and through polars; returns how many
    tables were compared."""
    catalog = iceberg.open_catalog(config)
    entries = iceberg.publishes(catalog)
    entry = entries[-1] if publish_seq is None else next(
        e for e in entries if e["publish_seq"] == publish_seq)
    conn = duckdb.connect()
    try:
        conn.execute(f"attach '{warehouse}' as w (read_only)")
        tables = tables_of(warehouse)
        for table in tables:
            snapshot = entry["snapshots"][iceberg.lake_name(table)]
            lake_table = catalog.load_table(iceberg.identifier(iceberg.lake_name(table)))
            via_pyiceberg = lake_table.scan(snapshot_id=snapshot).to_arrow()
            via_polars = pl.scan_iceberg(lake_table, snapshot_id=snapshot).collect().to_arrow()
            expected = conn.sql(f"select count(*) from w.{table}").fetchall()[0][0]
            for reader, rows in (("pyiceberg", via_pyiceberg), ("polars", via_polars)):
                conn.register("lake_rows", rows)
                assert rows.num_rows == expected, (table, reader)
                only_here, only_there = conn.sql(
                    f"select count(*) filter (side = 'w'), count(*) filter (side = 'lake') from "
                    f"((select 'w' as side, * from (from w.{table} except all from lake_rows)) "
                    f"union all (select 'lake', * from (from lake_rows except all "
                    f"from w.{table})))").fetchall()[0]
                assert (only_here, only_there) == (0, 0), (table, reader)
                conn.unregister("lake_rows")
        return len(tables)
    finally:
        conn.close()


def test_every_table_reads_the_same_from_duckdb_pyiceberg_and_polars(warehouses, tmp_path):
    _, w2 = warehouses
    config = lake(tmp_path)
    result = iceberg.publish(w2, config)
    assert result.publish_seq == 1
    assert result.tables == len(tables_of(w2)) >= 25
    assert assert_lake_equals(w2, config) == result.tables
    catalog = iceberg.open_catalog(config)
    names = {name for _, name in catalog.list_tables(iceberg.NAMESPACE)}
    assert names == {iceberg.lake_name(t) for t in tables_of(w2)} | {iceberg.LOG}
    facts = catalog.load_table(iceberg.identifier("core_trade_facts"))
    assert [f.name for f in facts.spec().fields] == ["release_id"]
    # One partition per release, each with the warehouse's rows.
    conn = duckdb.connect(str(w2), read_only=True)
    per_release = dict(conn.sql("select release_id, count(*) from core.trade_facts "
                                "group by all").fetchall())
    conn.close()
    partitions = facts.inspect.partitions().to_pylist()
    assert {p["partition"]["release_id"]: p["record_count"] for p in partitions} == per_release
    # A TINYINT is held as int, the warehouse's own publish id travels with the snapshots.
    month = catalog.load_table(iceberg.identifier("core_trade_latest")).schema()
    assert str(month.find_field("month").field_type) == "int"
    summary = facts.current_snapshot().summary
    assert summary[iceberg.PUBLISH_ID] == result.warehouse_publish_id != ""


@pytest.mark.filterwarnings("ignore:Delete operation did not match any records")
def test_types_are_widened_where_iceberg_needs_it_and_numbers_stay_exact(tmp_path):
    config = lake(tmp_path)
    catalog = iceberg.open_catalog(config)
    conn = duckdb.connect()
    conn.execute("create table t as select 127::tinyint a, 32767::smallint b, 255::utinyint c, "
                 "18446744073709551615::ubigint d, "
                 "99999999999999999999999999999999999999::hugeint e, "
                 "12345678901234567.89::decimal(19,2) f, 1.1::double g")
    arrow = iceberg.iceberg_schema(conn.sql("select * from t").to_arrow_table().schema)
    assert [str(f.type) for f in arrow] == ["int32", "int32", "int32", "decimal128(20, 0)",
                                            "decimal128(38, 0)", "decimal128(19, 2)", "double"]
    table = catalog.create_table(iceberg.identifier("types"), schema=arrow)
    table.overwrite(iceberg._reader(conn, "select * from t", arrow))
    (row,) = table.scan().to_arrow().to_pylist()
    assert row == {"a": 127, "b": 32767, "c": 255, "d": Decimal(18446744073709551615),
                   "e": Decimal(99999999999999999999999999999999999999),
                   "f": Decimal("12345678901234567.89"), "g": 1.1}
    with pytest.raises(iceberg.LakeError, match="38 digits"):
        iceberg.iceberg_type(pa.decimal256(40, 0))


def test_republishing_an_unchanged_warehouse_adds_no_snapshot(warehouses, tmp_path):
    _, w2 = warehouses
    config = lake(tmp_path)
    iceberg.publish(w2, config)
    catalog = iceberg.open_catalog(config)

    def current() -> dict[str, int | None]:
        return {name: catalog.load_table(iceberg.identifier(name)).current_snapshot().snapshot_id
                for _, name in catalog.list_tables(iceberg.NAMESPACE)}

    before = current()
    done = subprocess.run(cli_args(config, w2), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the lake is up to date" in done.stdout
    assert current() == before
    assert len(iceberg.publishes(catalog)) == 1


def test_a_new_release_overwrites_its_partition_and_old_vintages_stay_readable(
        warehouses, tmp_path):
    w1, w2 = warehouses
    config = lake(tmp_path)
    assert iceberg.publish(w1, config).publish_seq == 1
    second = iceberg.publish(w2, config)
    assert second.publish_seq == 2
    conn = duckdb.connect(str(w2), read_only=True)
    newest = conn.sql("select max(release_id) from core.trade_facts").fetchall()[0][0]
    conn.close()
    assert second.releases_written == [newest]  # the other releases' partitions are unchanged
    assert "core_trade_facts" in second.tables_written
    assert "ref_countries" not in second.tables_written
    assert_lake_equals(w1, config, publish_seq=1)  # the earlier vintage, exactly
    assert_lake_equals(w2, config, publish_seq=2)
    entries = iceberg.publishes(iceberg.open_catalog(config))
    assert [len(e["release_ids"]) for e in entries] == [len(entries[0]["release_ids"]),
                                                       len(entries[0]["release_ids"]) + 1]
    listed = subprocess.run([*cli_args(config, w2)[:2], "snapshots", *cli_args(config, w2)[3:]],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:2] == ["publish", "published"]
    assert lines[2].split()[0] == "2" and newest in lines[2]


def test_a_stale_writer_is_refused_and_the_table_keeps_the_newer_snapshot(warehouses, tmp_path):
    w1, w2 = warehouses
    config = lake(tmp_path)
    resume = tmp_path / "resume"
    stale = subprocess.Popen(
        cli_args(config, w1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TRADE_ETL_PAUSEPOINT": "lake_publish:tables_loaded",
             "TRADE_ETL_PAUSE_UNTIL": str(resume), "TRADE_ETL_PAUSE_SECONDS": "240"})
    try:
        for line in stale.stderr:  # it has loaded every table, then waits
            if "paused at lake_publish:tables_loaded" in line:
                break
        assert iceberg.publish(w2, config).publish_seq == 1
        resume.touch()
        out, err = stale.communicate(timeout=240)
    finally:
        stale.kill()
    assert stale.returncode == 3, err
    assert "was changed by another writer since this publish read it" in err
    assert "trade_etl.raw_release_files" in err  # the first table it tried
    assert_lake_equals(w2, config)
    assert len(iceberg.publishes(iceberg.open_catalog(config))) == 1


def test_publishes_killed_midway_leave_the_last_vintage_and_the_next_completes(
        warehouses, tmp_path):
    w1, w2 = warehouses
    config = lake(tmp_path)
    iceberg.publish(w1, config)
    catalog = iceberg.open_catalog(config)
    # Killed with a table's files written but not committed, then (the next attempt) right
    # after a table's commit: the log still names publish 1 both times.
    for point in ("lake_publish:table_written", "lake_publish:after_table"):
        killed = subprocess.run(cli_args(config, w2), capture_output=True, text=True,
                                timeout=300, env={**os.environ, "TRADE_ETL_FAILPOINT": point})
        assert killed.returncode == -9, killed.stderr[-2000:]
        for _, name in catalog.list_tables(iceberg.NAMESPACE):  # each readable as it is
            catalog.load_table(iceberg.identifier(name)).scan().to_arrow()
        assert_lake_equals(w1, config)  # the read protocol gives the last complete publish
    after = iceberg.publish(w2, config)
    assert after.publish_seq == 2
    assert "raw_release_files" not in after.tables_written  # committed before the kill
    assert_lake_equals(w2, config)


def test_a_build_with_the_lake_switched_on_publishes_it_and_retries_a_missed_publish(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_release(raw, "2024-02-20_preliminary", {
        "exp_2024.csv": csv_text([row(1, 2024, "870323915", "304", {1: 100, 2: 5})]),
        "imp_2024.csv": csv_text([row(2, 2024, "271111000", "103", {1: 7})])})
    config = settings.lake_config(warehouse_uri=str(tmp_path / "lake"))
    env = {**os.environ, settings.LAKE_WAREHOUSE_ENV: str(tmp_path / "lake")}
    env.pop(settings.LAKE_CATALOG_ENV, None)

    def build_with_lake() -> subprocess.CompletedProcess:
        done = subprocess.run([TRADE_ETL, "build", "--raw-dir", str(raw), "--warehouse", str(wh)],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    build_with_lake()
    assert assert_lake_equals(wh, config) >= 25
    catalog = iceberg.open_catalog(config)
    assert [e["publish_seq"] for e in iceberg.publishes(catalog)] == [1]
    assert "is up to date" in build_with_lake().stderr  # the lake holds it: no run
    # As if the lake's publish had failed after the warehouse's: the next build runs for it.
    marker = tmp_path / ".wh.duckdb.lake.json"
    assert marker.is_file()
    marker.unlink()
    again = build_with_lake()
    assert "is up to date" not in again.stderr and marker.is_file()
    # That build published the warehouse again (its inventory's discovery time changed): the
    # lake follows, and no release's partition was written twice.
    entries = iceberg.publishes(catalog)
    assert [e["publish_seq"] for e in entries] == [1, 2]
    assert entries[1]["releases_written"] == [] and "core_trade_facts" not in entries[1][
        "tables_written"]
    assert_lake_equals(wh, config)


def test_builds_are_duckdb_only_unless_the_lake_is_switched_on(tmp_path):
    """The asset is always in the graph (the graph does not depend on the environment); with
    no lake configured a build materializes it as `not configured` and writes no lake."""
    from trade_etl.definitions import defs
    from trade_etl.defs.lake.assets import LAKE_PUBLISHED, NOT_CONFIGURED

    assert not settings.lake_enabled()
    assert LAKE_PUBLISHED in defs.resolve_asset_graph().get_all_asset_keys()
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_release(raw, "2024-02-20_preliminary", {
        "exp_2024.csv": csv_text([row(1, 2024, "870323915", "304", {1: 100})])})
    result = run_job(raw, run_config={"resources": {
        "raw_dir": {"config": {"path": str(raw)}},
        "warehouse": {"config": {"database": str(wh)}},
        "trade_etl": {"config": {"raw_dir": str(raw), "warehouse": str(wh)}}}})
    assert result.success
    [lake] = result.asset_materializations_for_node("lake__published")
    assert lake.metadata["lake"].value == NOT_CONFIGURED
    assert not (tmp_path / "lake").exists() and not (tmp_path / ".wh.duckdb.lake.json").exists()


def test_the_lake_refuses_to_forget_its_publishes(warehouses, tmp_path, capsys):
    """A catalog emptied, deleted, garbled, swapped for another lake's or restored from an older
    backup is refused (exit 2, naming it, the marker and how to restore) by publish and
    snapshots, and left as it is; the real catalog put back publishes again; --new-lake starts
    a new lake on purpose."""
    from trade_etl.app import cli
    from trade_etl.lake import marker_path, recorded_lake

    w1, w2 = warehouses
    warehouse = tmp_path / "trade.duckdb"
    shutil.copy(w1, warehouse)
    config = lake(tmp_path)  # the CLI's default: lake/ beside the warehouse
    catalog = Path(config.catalog_uri.removeprefix("sqlite:///"))

    def run(*extra: str, command: str = "publish") -> tuple[int, str, str]:
        code = cli.main(["lake", command, "--warehouse", str(warehouse), *extra])
        return code, *capsys.readouterr()

    assert run("--quiet")[0] == 0
    first = catalog.read_bytes()  # a backup taken after the first publish
    shutil.copy(w2, warehouse)
    assert run("--quiet")[0] == 0
    kept = catalog.read_bytes()
    recorded = recorded_lake(warehouse, config)
    assert recorded["publish_seq"] == 2 and len(recorded["lake_id"]) == 32

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(w1, other / "trade.duckdb")
    assert cli.main(["lake", "publish", "--warehouse", str(other / "trade.duckdb"),
                     "--quiet"]) == 0
    capsys.readouterr()
    hint = (f"{marker_path(warehouse)} records 2 publish(es) of this warehouse to it (lake "
            f"{recorded['lake_id'][:8]}")
    cases = {
        b"": f"the lake catalog {catalog} is empty (0 bytes), but {hint}",
        None: f"the lake catalog {catalog} is missing, but {hint}",
        b"not a database, just bytes" * 100: "cannot open the lake catalog",
        (other / "lake" / "catalog.sqlite").read_bytes(): "holds another lake",
        first: f"the lake catalog {config.catalog_uri} holds 1 publish(es), but {hint}",
    }
    for content, message in cases.items():
        catalog.unlink(missing_ok=True)
        if content is not None:
            catalog.write_bytes(content)
        for command in ("publish", "snapshots"):
            code, _, err = run(command=command)
            assert code == 2 and message in err and "--new-lake" in err, (command, err)
            assert len(err.strip().splitlines()) == 2 if command == "publish" else 1
        assert (catalog.read_bytes() if catalog.exists() else None) == content

    catalog.write_bytes(kept)  # restored from the backup: as it was
    code, out, _ = run()
    assert code == 0 and "up to date" in out

    catalog.unlink()  # no backup: the tables registered again from their metadata files
    from pyiceberg.catalog.sql import SqlCatalog

    fresh = SqlCatalog("trade_etl", uri=config.catalog_uri, warehouse=config.warehouse_uri)
    fresh.create_namespace(iceberg.NAMESPACE)
    files = Path(config.warehouse_uri.removeprefix("file://")) / iceberg.NAMESPACE
    for folder in files.iterdir():
        newest = max((folder / "metadata").glob("*.metadata.json"))  # 00001-…, 00002-…
        fresh.register_table(iceberg.identifier(folder.name), str(newest))
    code, out, _ = run()
    assert code == 0 and "up to date" in out
    assert assert_lake_equals(warehouse, config) >= 25

    catalog.write_bytes(b"")
    code, out, _ = run("--new-lake", "--quiet")
    assert code == 0 and "publish 1:" in out
    assert recorded_lake(warehouse, config)["publish_seq"] == 1
    assert recorded_lake(warehouse, config)["lake_id"] != recorded["lake_id"]
    assert assert_lake_equals(warehouse, config) >= 25
    assert run("--quiet")[0] == 0  # the new lake is the one remembered now
