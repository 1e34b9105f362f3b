"""The whole pipeline on the default synthetic sample: the published headline figures come out
of the marts, every line is accounted for, the brief tells the fiscal-2024 story, and the
documented example queries run."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_REFERENCE, build, query, snapshot
from trade_etl.app import cli

TN = 10**12


def as_of(wh: Path, macro: str, day: str, period: str, where: str = "") -> tuple[int, int]:
    rows = query(wh, f"select exports_jpy, imports_jpy from marts.{macro}(DATE '{day}') "
                     f"where period = ? {where}", [period])
    assert len(rows) == 1, rows
    return rows[0]


def test_published_headline_figures(sample_warehouse):
    wh = sample_warehouse
    # FY2024 preliminary, released 2025-04-17
    assert as_of(wh, "balance_total_as_of", "2025-04-17", "FY2024") == (
        108_934_500_000_000, 114_156_200_000_000)
    assert as_of(wh, "balance_by_partner_as_of", "2025-04-17", "FY2024",
                 "and partner_iso3 = 'USA'") == (21_648_200_000_000, 12_642_900_000_000)
    assert as_of(wh, "balance_by_partner_as_of", "2025-04-17", "FY2024",
                 "and partner_iso3 = 'CHN'") == (18_890_000_000_000, 25_940_000_000_000)
    eu = query(wh, "select balance_jpy from marts.balance_by_region_as_of(DATE '2025-04-17') "
                   "where region = 'EU' and period = 'FY2024'")
    assert eu == [(-2_530_000_000_000,)]
    yoy = query(wh, "select exports_yoy_pct, imports_yoy_pct from "
                    "marts.balance_total_as_of(DATE '2025-04-17') where period = 'FY2024'")
    assert [round(v, 1) for v in yoy[0]] == [5.9, 4.7]
    # Calendar 2024 preliminary (2025-01-23) and calendar 2025 preliminary (2026-01-22)
    assert as_of(wh, "balance_total_as_of", "2025-01-23", "CY2024") == (
        107_090_000_000_000, 112_420_000_000_000)
    exports, imports = as_of(wh, "balance_by_partner_as_of", "2026-01-22", "CY2025",
                             "and partner_iso3 = 'USA'")
    assert exports - imports == 7_521_400_000_000
    assert as_of(wh, "balance_total_as_of", "2026-01-22", "CY2025") == (
        110_448_000_000_000, 113_098_700_000_000)


def test_latest_figures_differ_from_first_published(sample_warehouse):
    latest = query(sample_warehouse, "select exports_jpy from marts.balance_total "
                                     "where period = 'CY2024'")[0][0]
    assert latest != 107_090_000_000_000
    assert abs(latest / 107_088 / 1e9 - 1) < 1e-4  # the fixed figure, billion yen
    revised = query(sample_warehouse, "select count(*) from marts.revisions "
                                      "where revision_jpy <> 0")[0][0]
    assert revised > 0


def _data_lines(data: bytes) -> int:
    text = data.decode("utf-8-sig") if data[:3] == b"\xef\xbb\xbf" else None
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp932")
    lines = re.split(r"\r\n|\n|\r", text)
    return sum(1 for line in lines[1:] if line.strip())


def test_every_line_is_loaded_or_quarantined(sample_warehouse):
    raw = sample_warehouse.parent / "raw"
    lines = 0
    for path in raw.rglob("*"):
        if path.suffix == ".csv":
            lines += _data_lines(path.read_bytes())
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                lines += sum(_data_lines(archive.read(name)) for name in archive.namelist())
    (read, loaded, quarantined), = query(
        sample_warehouse, "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
                          "from audit.releases")
    assert read == lines == loaded + quarantined
    assert quarantined == 6
    reasons = [r for (r,) in query(sample_warehouse, "select reason from audit.quarantine "
                                                     "order by all")]
    assert any("Country is not a known customs country code: '999'" in r for r in reasons)
    assert any(r.startswith("expected 45 fields, found 20") for r in reasons)
    assert reasons.count("subtotal row, not counted") == 1


def test_brief_tells_the_fiscal_2024_story(sample_warehouse, capsys):
    assert cli.main(["brief", "--warehouse", str(sample_warehouse), "--fiscal-year", "2024",
                     "--partner", "USA", "--as-of", "2025-04-17"]) == 0
    out = capsys.readouterr().out
    assert "surplus ¥9.0053 tn" in out
    assert ("$63.3 bn at 142.33 yen/$ (FRED DEXJPUS 2025-04-17, shipped table; daily series to "
            "2026-05-22)") in out
    assert "at monthly average rates (FRED 2024-04 … 2025-03, shipped table; monthly series " \
           "to 2026-05)" in out
    assert "rates missing" not in out
    assert "exports ¥108.9345 tn (+5.9% y/y), imports ¥114.1562 tn (+4.7% y/y)" in out
    assert "Japan ran a ¥9.0 trillion ($63 billion at 142.33 yen/$) surplus with United States " \
           "of America " \
           "while its overall trade was in deficit" in out
    sectors = out.split("Sectors contributing most")[1].splitlines()[1:6]
    assert sectors[0].startswith("  1. Transport equipment: +")
    assert "motor vehicles" in sectors[0]
    assert "imports led by mineral fuels" in out


def test_documented_queries_run(sample_warehouse):
    text = (REPO / "docs" / "warehouse.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    # thirteen examples, official totals, partner ranks, unknown codes, two families
    assert len(blocks) == 18
    for block in blocks:
        rows = query(sample_warehouse, block)
        assert rows, block


@pytest.mark.skipif(not (SHARED_REFERENCE / "real" / "trade_year.csv").exists(),
                    reason="../shared/reference is not beside the project")
def test_top_sector_shares_resemble_the_published_groups(sample_warehouse):
    """The sector map applied to the sample gives shares close to MOF's principal-commodity
    groups for 2024 (docs/reference.md quotes the table)."""
    groups = {"Foodstuff": "foodstuff", "Raw Materials": "raw_materials",
              "Mineral Fuels": "mineral_fuels", "Chemicals": "chemicals",
              "Manufactured Goods": "manufactured_goods", "Machinery": "machinery",
              "Electrical Machinery": "electrical_machinery",
              "Transport Equipment": "transport_equipment", "Others": "others"}
    real: dict[tuple[str, str], float] = {}
    for r in csv.DictReader(io.StringIO((SHARED_REFERENCE / "real" / "trade_year.csv")
                                        .read_text())):
        if r["area"] == "Grand Total" and float(r["year"]) == 2024:
            real[(r["goods"], r["ex_im"])] = float(r["value"])
    ours = {}
    for code, exports, imports in query(sample_warehouse, "select sector_code, exports_jpy, "
                                        "imports_jpy from marts.balance_by_sector where "
                                        "period = 'CY2024' and sector_level = 'top'"):
        ours[(code, "export")], ours[(code, "import")] = exports, imports
    for flow in ("export", "import"):
        ours_total = sum(v for (_, f), v in ours.items() if f == flow)
        for name, code in groups.items():
            published = real[(name, flow)] / real[("Grand Total", flow)]
            assert abs(ours[(code, flow)] / ours_total - published) < 0.02, (name, flow)


@pytest.mark.slow  # 30 builds of the sample: `make test-slow`, run by CI
@pytest.mark.usefixtures("catch_up_always")  # each build catches up, verified
def test_adding_sample_releases_in_steps_equals_one_build(sample_warehouse, tmp_path):
    """Every table (derived ones are maintained incrementally) ends as a build from scratch."""
    from trade_etl.sample import write_sample

    write_sample(tmp_path / "all")
    folders = sorted((tmp_path / "all").iterdir())
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    raw.mkdir()
    # Later releases revise earlier ones; 2025-01-23 arrives late, after releases that follow it.
    for batch in (folders[:9] + folders[10:16], [folders[9]], folders[16:]):
        for folder in batch:
            folder.rename(raw / folder.name)
        assert build(raw, wh) == 0
    assert snapshot(wh) == snapshot(sample_warehouse)
