"""The sample's two file shapes (`trade-etl sample --shape sections|large`): the same rows,
split into different files. "large" writes one whole-year file per flow and release, and the
fixed releases' exports as a customs-office (port) file; the warehouse built from it equals the
one built from the section files to the yen, and so do the yardstick's marts
(../shared/bench/reference_build.py, which reads the port file's Custom column)."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from tests.conftest import MART_TABLES, REPO, build, query, snapshot
from tests.test_sample import decode, load_folder
from trade_etl.formats import manifest
from trade_etl.sample import write_sample

YARDSTICK = REPO.parent / "shared" / "bench" / "reference_build.py"
YEARS = [2024]
# The yardstick's period labels (2024-01, CY2024, FY2024, FY2024Q1): the marts' period_type.
PERIOD_TYPES = ("month", "calendar_year", "fiscal_year", "fiscal_quarter")
MARTS = ("marts.balance_total", "marts.balance_by_partner", "marts.balance_by_hs_section")


def folder_rows(folder: Path) -> tuple[dict[tuple, list[int]], int]:
    """A release folder's figures summed over its files and ports, by (flow, year, HS, country):
    the 36 month numbers; and how many of its lines are not valid rows."""
    rows: dict[tuple, list[int]] = defaultdict(lambda: [0] * 36)
    bad = 0
    for _name, _data, _head, valid, invalid in load_folder(folder):
        bad += len(invalid)
        for flow, year, hs, country, _custom, months, _year_total in valid:
            cell = rows[(flow, year, hs, country)]
            for i, n in enumerate(x for month in months for x in month):
                cell[i] += n
    return dict(rows), bad


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shapes")
    for shape in ("sections", "large"):
        write_sample(root / shape, YEARS, scale=1, shape=shape)
    return {shape: root / shape for shape in ("sections", "large")}


def test_large_shape_holds_the_same_rows_in_whole_year_files(shapes: dict[str, Path]) -> None:
    sections, large = shapes["sections"], shapes["large"]
    folders = sorted(p.name for p in sections.iterdir())
    assert sorted(p.name for p in large.iterdir()) == folders
    for name in folders:
        ours, bad = folder_rows(large / name)
        theirs, bad_sections = folder_rows(sections / name)
        assert ours == theirs, name
        assert bad == bad_sections, name  # the six bad lines, in the same release
        files = sorted(p.name for p in (large / name).iterdir() if not p.name.startswith("."))
        if name == "2024-07-17_preliminary":  # the first year's zipped release
            assert files == ["exp_2024.zip", "imp_2024.zip"]
        elif name.endswith("_fixed"):
            assert files == ["exp_2024_custom.csv", "imp_2024.csv"]
        else:
            assert files == ["exp_2024.csv", "imp_2024.csv"]
        listed = sorted(e["file_name"] for e in manifest.read(large / name)["files"])
        assert listed in ([], files), name  # manifests (from 2025) name every file
    assert sum(folder_rows(large / name)[1] for name in folders) == 6

    # The port file: Custom after Year, every row spread over 2-4 ports.
    (port_file,) = [f for f in load_folder(large / "2025-11-28_fixed")
                    if f[0] == "exp_2024_custom.csv"]
    _name, _data, head, valid, _bad = port_file
    assert head[:3] == ["Exp or Imp", "Year", "Custom"] and len(head) == 46
    ports: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _f, _y, hs, country, custom, _m, _t in valid:
        ports[(hs, country)].add(custom)
    assert len(valid) == sum(len(p) for p in ports.values())
    assert sum(len(p) >= 2 for p in ports.values()) > 0.8 * len(ports)
    assert any(hs.endswith("X") for hs, _c in ports)  # confidential codes, by port too

    # The Japanese download is the whole import file of the first release.
    data = (large / "2024-04-17_preliminary" / "imp_2024.csv").read_bytes()
    assert decode(data)[1] == "cp932" and data.startswith("輸出入".encode("cp932"))


def test_shapes_build_to_the_same_marts_and_the_yardstick_reads_ports(
        shapes: dict[str, Path], tmp_path: Path) -> None:
    warehouses = {}
    for shape, raw in shapes.items():
        warehouses[shape] = tmp_path / f"{shape}.duckdb"
        assert build(raw, warehouses[shape]) == 0
    # Every mart (totals, partners, sections, sectors, revisions, quantities), row for row.
    same = snapshot(warehouses["sections"], MART_TABLES)
    assert same == snapshot(warehouses["large"], MART_TABLES)
    assert same["marts.balance_total"]
    files = {shape: query(w, "select count(*), count(*) filter (where layout = "
                             "'hs_country_custom') from audit.releases")[0]
             for shape, w in warehouses.items()}
    assert files["large"] == (12, 1) and files["sections"] == (36, 1)
    quarantined = [query(w, "select count(*) from audit.quarantine")[0][0]
                   for w in warehouses.values()]
    assert quarantined == [6, 6]

    # The yardstick reads no CP932 and only 9-digit codes: the same sample written for it
    # (withholding moves figures within a partner, chapter and month: the same totals).
    plain = tmp_path / "large-plain"
    write_sample(plain, YEARS, scale=1, shape="large", cp932=False, confidential=False)
    yard = tmp_path / "yardstick.duckdb"
    done = subprocess.run([sys.executable, str(YARDSTICK), str(plain), str(yard)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    conn = duckdb.connect()
    try:
        conn.execute(f"attach '{yard}' as y (read_only)")
        conn.execute(f"attach '{warehouses['large']}' as w (read_only)")
        ports = conn.sql("select count(*) from y.audit.releases "
                         "where file_name like '%custom%'").fetchall()[0][0]
        assert ports == 1
        for mart in MARTS:
            key = {"marts.balance_total": "''", "marts.balance_by_partner": "partner_code",
                   "marts.balance_by_hs_section": "hs_section"}[mart]
            # Rows with no exports and no imports count as absent on both sides.
            cols = (f"period, {key}::varchar, coalesce(exports_jpy, 0)::hugeint as e, "
                    "coalesce(imports_jpy, 0)::hugeint as i")
            theirs = conn.sql(f"select {cols} from y.{mart} where e <> 0 or i <> 0 "
                              "order by all").fetchall()
            ours = conn.sql(f"select {cols} from w.{mart} where period_type in {PERIOD_TYPES} "
                            "and (e <> 0 or i <> 0) order by all").fetchall()
            assert theirs and theirs == ours, mart
    finally:
        conn.close()
