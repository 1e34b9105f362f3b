"""The warehouse against the Ministry's own published totals (check `totals_match_official`).

The other checks reconcile the warehouse with itself; this one compares calendar-year totals by
partner with `ref.official_totals` (the Ministry's principal-commodity-by-area tables). The
sample's fixed release of each year is calibrated to those totals, so a build of it must match
to the thousand yen, and any file missing or altered must fail the build naming the partner,
year and difference.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import build, csv_text, query, row, write_release
from trade_etl.app import cli

FIXED_2024 = "2025-11-28_fixed"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from trade_etl.sample import write_sample

    out = tmp_path_factory.mktemp("official") / "raw"
    write_sample(out, years=[2024], scale=0.2, bad_rows=False)
    return out


def only_fixed(sample: Path, tmp_path: Path) -> Path:
    """A raw folder holding the fixed release of 2024 alone (no other release covers it)."""
    raw = tmp_path / "raw"
    shutil.copytree(sample / FIXED_2024, raw / FIXED_2024)
    (raw / FIXED_2024 / ".manifest.json").unlink()  # dropped by hand: files edited at will
    return raw


def value_year(line: str) -> int:
    return int(line.split(",")[8]) * 1000  # Value-Year, thousand yen


def official(flow: int, year: int, partner: str = "") -> int:
    """The published total in yen, read from the shipped reference CSV."""
    import csv

    from trade_etl.settings import REF_DATA_DIR

    with (REF_DATA_DIR / "official_totals.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            if (int(r["flow"]), int(r["year"]), r["partner_code"]) == (flow, year, partner):
                return int(r["value_thousand_jpy"]) * 1000
    raise KeyError((flow, year, partner))


def test_the_sample_matches_the_published_totals(sample, tmp_path):
    wh = tmp_path / "wh.duckdb"
    assert build(sample, wh) == 0
    statuses = query(wh, "select status, blocks, warehouse_stage, vintage_stage, count(*) "
                         "from audit.official_totals_diff group by all")
    assert statuses == [("match", False, "fixed", "fixed", 102)]  # 2 flows x (world + 50)
    # The release holds confidential (X) codes, and reconciles because they count.
    assert query(wh, "select count(distinct hs_code) > 0 from core.confidential_codes "
                     "where year = 2024") == [(True,)]
    assert query(wh, "select exports_jpy, imports_jpy from marts.balance_total "
                     "where period = 'CY2024'") == [(official(1, 2024), official(2, 2024))]
    assert query(wh, "select exports_jpy from marts.balance_by_partner where period = 'CY2024' "
                     "and partner_code = '304'") == [(official(1, 2024, "304"),)]


def test_a_missing_section_file_fails_the_build_naming_partner_year_and_difference(
        sample, tmp_path, capsys):
    raw = only_fixed(sample, tmp_path)
    missing = raw / FIXED_2024 / "exp_2024_s16-s21.csv"
    machinery = sum(value_year(line) for line in missing.read_text().splitlines()[1:]
                    if line.strip())
    missing.unlink()
    wh = tmp_path / "wh.duckdb"
    capsys.readouterr()
    assert build(raw, wh) == 1
    err = capsys.readouterr().err
    assert "totals_match_official" in err, err
    assert (f"World CY2024 exports differ from the Ministry's fixed total by -¥{machinery:,} "
            f"(warehouse ¥{official(1, 2024) - machinery:,}, fixed; published "
            f"¥{official(1, 2024):,})") in err, err
    assert "United States of America CY2024 exports differ" in err
    assert "imports differ" not in err  # only the exports lack a file
    assert not wh.exists()  # nothing published


def test_one_altered_value_fails_the_build(sample, tmp_path, capsys):
    raw = only_fixed(sample, tmp_path)
    path = raw / FIXED_2024 / "imp_2024_s01-s07.csv"
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    at = next(i for i, line in enumerate(lines[1:], start=1)
              if line.split(",")[header.index("Country")] == "304"
              and int(line.split(",")[header.index("Value-Jan")]) > 0)
    cells = lines[at].rstrip("\r\n").split(",")
    for name in ("Value-Jan", "Value-Year"):  # one thousand yen more, the line still adds up
        cells[header.index(name)] = str(int(cells[header.index(name)]) + 1)
    lines[at] = ",".join(cells) + lines[at][len(lines[at].rstrip("\r\n")):]
    path.write_text("".join(lines))
    capsys.readouterr()
    assert build(raw, tmp_path / "wh.duckdb") == 1
    err = capsys.readouterr().err
    assert "World CY2024 imports differ from the Ministry's fixed total by +¥1,000" in err, err
    assert "United States of America CY2024 imports differ from the Ministry's fixed total " \
           "by +¥1,000" in err, err


def test_a_dropped_confidential_row_fails_the_build(sample, tmp_path, capsys):
    """Withheld figures move to an X code and still count in partner totals (Customs): a
    release without such a row falls short of the published totals by exactly its value."""
    raw = only_fixed(sample, tmp_path)
    path, line = next((p, line) for p in sorted((raw / FIXED_2024).glob("exp_*.csv"))
                      for line in p.read_text().splitlines(keepends=True)[1:]
                      if "XX" in line.split(",")[2])
    country = line.split(",")[3]
    path.write_text(path.read_text().replace(line, ""))
    capsys.readouterr()
    assert build(raw, tmp_path / "wh.duckdb") == 1
    err = capsys.readouterr().err
    dropped = value_year(line)
    assert f"World CY2024 exports differ from the Ministry's fixed total by -¥{dropped:,}" in err
    name = query_country(country)
    assert f"{name} CY2024 exports differ from the Ministry's fixed total by -¥{dropped:,}" \
        in err, err


def query_country(code: str) -> str:
    import csv

    from trade_etl.settings import REF_DATA_DIR

    with (REF_DATA_DIR / "countries.csv").open(encoding="utf-8") as handle:
        return next(r["country_name"] for r in csv.DictReader(handle)
                    if r["country_code"] == code)


def test_an_extract_of_a_fixed_year_is_reported_not_blocked(tmp_path):
    """A few hand-made rows of a fixed year (test data, a subset) are not Japan's whole trade:
    their difference from the published totals is reported, never a failed build."""
    raw = tmp_path / "raw"
    write_release(raw, FIXED_2024, {"cars.csv": csv_text(
        [row(1, 2024, "870323915", "304", {m: 1000 for m in range(1, 13)})])})
    wh = tmp_path / "wh.duckdb"
    assert build(raw, wh) == 0
    assert query(wh, "select status, blocks, count(*) from audit.official_totals_diff "
                     "where partner_code in ('', '304') group by all order by 1") == [
        ("differs", False, 2)]  # exports with the world and the US; no imports held
    assert query(wh, "select warehouse_jpy from audit.official_totals_diff where flow = 1 "
                     "and partner_code = '304'") == [(12_000_000,)]


def test_a_preliminary_year_is_reported_not_blocked(sample, tmp_path, capsys):
    raw = tmp_path / "raw"
    for release in ("2024-04-17_preliminary", "2024-07-17_preliminary",
                    "2024-10-16_preliminary", "2025-01-23_preliminary"):
        shutil.copytree(sample / release, raw / release)
    wh = tmp_path / "wh.duckdb"
    assert build(raw, wh) == 0
    differing = query(wh, "select flow, partner_code, warehouse_jpy - official_jpy, "
                          "difference_jpy from audit.official_totals_diff "
                          "where status = 'differs' and not blocks order by 1, 2")
    assert differing and all(d[2] == d[3] != 0 for d in differing)
    world = {flow: diff for flow, code, _, diff in differing if code == ""}
    capsys.readouterr()
    assert cli.main(["brief", "--warehouse", str(wh), "--fiscal-year", "2024",
                     "--partner", "USA"]) == 0
    out = capsys.readouterr().out
    assert "Against the Ministry's published totals (audit.official_totals_diff):" in out
    sign = "-" if world[2] < 0 else "+"
    assert (f"CY2024 imports with World differ by {sign}¥{abs(world[2]):,} (warehouse "
            "preliminary, published fixed: reported only)") in out, out
    assert "with United States of America differ by" in out
    # As first published, the brief makes no claim about the latest comparison.
    assert cli.main(["brief", "--warehouse", str(wh), "--fiscal-year", "2024",
                     "--as-of", "2025-01-23"]) == 0
    assert "Ministry's published totals" not in capsys.readouterr().out
