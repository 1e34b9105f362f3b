"""Confidential codes (`38XXXXXXX`, from the April 2024 figures), subtotal rows, and the stage of
every month (audit.latest_month_stages from manifests or release folders), on real builds."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path

import pandera.polars as pa
import pytest

from tests.conftest import build, csv_text, query, row, write_release
from trade_etl.formats import manifest
from trade_etl.ingest import validation

US, CN, KR = "304", "105", "103"
RELEASE = "2024-06-27_preliminary"
QUARANTINED_CODES = {"3XXXXXXXX": "one digit kept", "38XX1XXXX": "a digit after an X",
                     "38XXXXXX": "8 characters", "38XXXXXXXX": "10 characters"}
# (flow, HS as written, country, {month: value}, custom office or None)
VALID = [
    (1, "380110000", US, {4: 100, 5: 10}, None),
    (1, "38XXXXXXX", US, {4: 40, 5: 4}, None),        # quoted, as the other codes
    (1, "38xxxxxxx", CN, {4: 7}, None),               # lower case, bare
    (1, "870323915", US, {4: 500}, None),
    (1, "3923XXXXX", KR, {6: 13}, None),              # keeps the heading: plastics packaging
    (2, "270900000", CN, {4: 300}, None),
    (2, "2709XXXXX", CN, {4: 30, 5: 3}, None),        # keeps the heading: crude oil
    (2, "27XXXXXXX", US, {5: 21}, None),              # keeps the chapter only
    (1, "85XXXXXXX", US, {4: 11}, "100"),             # customs-office layout, two ports
    (1, "85XXXXXXX", US, {4: 9, 5: 2}, "200"),
    (1, "854231000", KR, {4: 50}, "100"),
]
SUBTOTALS = [  # (HS as written, country, quote HS)
    ("S-TOTAL", US, True), ("TOTAL", CN, False), ("", US, False), ("870323915", "TOTAL", True),
    ("'870323915'", "合計", False),
]
# the sector each confidential code falls in: the longest ref.sector_map prefix within its
# kept digits (the chapter's, unless a longer prefix fits)
SECTORS = {"38XXXXXXX": ("chemicals", None, "VI"), "3923XXXXX": ("others", None, "VII"),
           "2709XXXXX": ("mineral_fuels", "crude_oil", "V"),
           "27XXXXXXX": ("mineral_fuels", None, "V"),
           "85XXXXXXX": ("electrical_machinery", None, "XVI")}


def write(raw: Path) -> None:
    plain = [row(f, 2024, hs, c, v, quote_hs=hs != "38xxxxxxx") for f, hs, c, v, port in VALID
             if port is None]
    plain += [row(1, 2024, hs, US, {4: 1}) for hs in QUARANTINED_CODES]
    plain += [row(1, 2024, hs, c, {4: 1000}, quote_hs=q) for hs, c, q in SUBTOTALS]
    ports = [row(f, 2024, hs, c, v, custom=port) for f, hs, c, v, port in VALID if port]
    write_release(raw, RELEASE, {"a.csv": csv_text(plain), "b.csv": csv_text(ports, custom=True)})


def expected(rows=VALID, keep=lambda hs: True) -> dict:
    """Totals in yen computed from the rows written: by flow, (flow, partner), (flow, code) and
    (flow, partner, code)."""
    out: dict = defaultdict(int)
    for flow, hs, country, values, _port in rows:
        if keep(hs.upper()):
            total = sum(values.values()) * 1000
            out[flow] += total
            out[(flow, country)] += total
            out[(flow, hs.upper())] += total
            out[(flow, country, hs.upper())] += total
    return out


def year_totals(warehouse: Path) -> tuple[dict, dict]:
    (exports, imports), = query(
        warehouse, "select exports_jpy, imports_jpy from marts.balance_total "
                   "where period_type = 'calendar_year' and period = 'CY2024'")
    world = {1: exports, 2: imports}
    partners = {}
    for code, e, i in query(warehouse, "select partner_code, exports_jpy, imports_jpy from "
                                       "marts.balance_by_partner where period_type = "
                                       "'calendar_year' and period = 'CY2024'"):
        partners[(1, code)], partners[(2, code)] = e, i
    return world, partners


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("confidential")
    write(tmp / "raw")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_ETL_QUIET_SECONDS", "0")
    try:
        assert build(tmp / "raw", tmp / "trade.duckdb") == 0
    finally:
        mp.undo()
    return tmp / "trade.duckdb"


def test_confidential_codes_load_in_both_layouts_upper_cased(built):
    codes = {hs for (hs,) in query(built, "select distinct hs_code from core.trade_facts")}
    assert {"38XXXXXXX", "3923XXXXX", "2709XXXXX", "27XXXXXXX", "85XXXXXXX"} <= codes
    assert not any("x" in c for c in codes)
    by_file = dict(query(built, "select file_name, sum(value_thousand_jpy) from "
                                "core.trade_facts where hs_code like '%X%' group by 1"))
    assert by_file == {"a.csv": 40 + 4 + 7 + 13 + 30 + 3 + 21, "b.csv": 11 + 9 + 2}
    # the two ports of 85XXXXXXX are summed like any code's
    assert query(built, "select month, value_thousand_jpy from core.trade_latest where "
                        "hs_code = '85XXXXXXX' order by 1") == [(4, 20), (5, 2)]


def test_totals_are_the_sum_of_every_row(built):
    want = expected()
    world, partners = year_totals(built)
    assert world == {1: want[1], 2: want[2]}
    for key, value in partners.items():
        assert value == want[key], key
    # sections and top sectors sum to the same totals (and their checks passed: build exit 0)
    for table, key in (("marts.balance_by_hs_section", "true"),
                       ("marts.balance_by_sector", "sector_level = 'top'")):
        sums = query(built, f"select sum(exports_jpy), sum(imports_jpy) from {table} where "
                            f"period_type = 'calendar_year' and period = 'CY2024' and {key}")
        assert sums == [(want[1], want[2])], table


def test_confidential_codes_fall_in_the_section_and_sector_of_their_kept_digits(built):
    got = {code: (top, highlight, section) for code, top, highlight, section in query(
        built, "select hs_code, top_sector_code, highlight_sector_code, hs_section "
               "from core.hs_code_sectors where hs_code like '%X%'")}
    assert got == SECTORS
    # and so count there: the chemicals exports are 380110000's and 38XXXXXXX's
    (chemicals,) = query(built, "select exports_jpy from marts.balance_by_sector where "
                                "sector_code = 'chemicals' and period_type = 'calendar_year'")
    assert chemicals[0] == (110 + 44 + 7) * 1000
    (crude,) = query(built, "select imports_jpy from marts.balance_by_sector where "
                            "sector_code = 'crude_oil' and period_type = 'calendar_year'")
    assert crude[0] == (300 + 33) * 1000  # 27XXXXXXX may not be crude oil: not counted there
    (section_v,) = query(built, "select imports_jpy from marts.balance_by_hs_section where "
                                "hs_section = 'V' and period_type = 'calendar_year'")
    assert section_v[0] == (300 + 33 + 21) * 1000


def test_quantity_marts_and_the_confidential_view_show_them_under_their_own_code(built):
    rows = query(built, "select hs_code, partner_code, value_jpy from marts.quantity_by_hs_code "
                        "where hs_code like '%X%' and period_type = 'calendar_year' order by all")
    want = expected(keep=lambda hs: "X" in hs)
    keys = {(f, hs.upper(), c) for f, hs, c, _v, _p in VALID if "X" in hs.upper()}
    assert rows == sorted((hs, c, want[(f, c, hs)]) for f, hs, c in keys)
    assert ("38XXXX", CN, 7000) in query(
        built, "select hs_subheading, partner_code, value_jpy from "
               "marts.quantity_by_hs_subheading where period_type = 'calendar_year'")
    view = query(built, "select flow, year, month, hs_code, hs_digits_kept, partners, "
                        "value_thousand_jpy from core.confidential_codes order by all")
    assert view == [
        (1, 2024, 4, "38XXXXXXX", 2, 2, 47), (1, 2024, 4, "85XXXXXXX", 2, 1, 20),
        (1, 2024, 5, "38XXXXXXX", 2, 1, 4), (1, 2024, 5, "85XXXXXXX", 2, 1, 2),
        (1, 2024, 6, "3923XXXXX", 4, 1, 13),
        (2, 2024, 4, "2709XXXXX", 4, 1, 30), (2, 2024, 5, "2709XXXXX", 4, 1, 3),
        (2, 2024, 5, "27XXXXXXX", 2, 1, 21)]
    (share,) = query(built, "select share_of_month_pct from core.confidential_codes where "
                            "flow = 2 and month = 4")
    assert share[0] == round(100 * 30 / 330, 4)


def test_invalid_codes_and_subtotals_are_quarantined_with_their_reason(built):
    reasons = dict(query(built, "select raw_line, reason from audit.quarantine"))
    for hs in QUARANTINED_CODES:
        line = row(1, 2024, hs, US, {4: 1})
        assert reasons.pop(line) == f"HS is not a 9-digit code: '{hs}'"
    for hs, country, quoted in SUBTOTALS:
        assert reasons.pop(row(1, 2024, hs, country, {4: 1000}, quote_hs=quoted)) == \
            "subtotal row, not counted"
    assert reasons == {}
    (read, loaded, quarantined), = query(built, "select sum(rows_read), sum(rows_loaded), "
                                                "sum(rows_quarantined) from audit.releases")
    assert quarantined == len(QUARANTINED_CODES) + len(SUBTOTALS)
    assert read == loaded + quarantined and loaded == len(VALID)


def test_under_the_old_rule_the_confidential_rows_were_quarantined_and_totals_short(
        tmp_path, monkeypatch, built):
    """The validator before this change accepted `^[0-9]{9}$` only: the same release then
    quarantines every confidential row and every total falls short by exactly their values."""
    schema_of = validation._schema

    def old_rule(layout, codes):
        return schema_of(layout, codes).update_column(
            "hs", checks=[pa.Check.str_matches(r"^[0-9]{9}$")])

    monkeypatch.setattr(validation, "_schema", old_rule)
    write(tmp_path / "raw")
    assert build(tmp_path / "raw", tmp_path / "old.duckdb") == 0
    old = tmp_path / "old.duckdb"
    confidential = [v for v in VALID if "X" in v[1].upper()]
    rejected = [r for (r,) in query(old, "select reason from audit.quarantine "
                                         "where reason like 'HS is not%'")]
    assert len(rejected) == len(confidential) + len(QUARANTINED_CODES)
    world_new, partners_new = year_totals(built)
    world_old, partners_old = year_totals(old)
    withheld = expected(confidential)
    assert withheld[1] > 0 and withheld[2] > 0
    for flow in (1, 2):
        assert world_old[flow] == world_new[flow] - withheld[flow] < world_new[flow]
    for key, value in partners_new.items():
        assert partners_old.get(key, 0) == value - withheld[key], key


def test_confidential_codes_are_read_alike_in_process():
    """In process: lower case is upper-cased; what is not 9 digits or digits-then-X is not."""
    from trade_etl.ingest.raw_csv import read_table

    lines = [row(1, 2024, "38xxxxxxx", US, {4: 1}), row(1, 2024, "3801xXxXx", CN, {4: 1}),
             row(1, 2024, "38XXXXXXX", CN, {4: 1}, custom="100"),
             *[row(1, 2024, hs, US, {4: 1}, custom="100") for hs in QUARANTINED_CODES]]
    plain = read_table(csv_text(lines[:2]).encode())
    custom = read_table(csv_text(lines[2:], custom=True).encode())
    a = validation.validate(plain.layout, plain.rows, plain.malformed, [US, CN])
    b = validation.validate(custom.layout, custom.rows, custom.malformed, [US, CN])
    assert sorted(a.facts["hs_code"]) == ["3801XXXXX", "38XXXXXXX"]
    assert b.facts["hs_code"].to_list() == ["38XXXXXXX"]
    assert sorted(b.quarantine["reason"]) == sorted(
        f"HS is not a 9-digit code: '{hs}'" for hs in QUARANTINED_CODES)
    assert re.fullmatch(validation.HS_CODE_PATTERN, "38XXXXXXX")


# ---- the sample: confidential codes, a subtotal, manifests and the stage of every month -------

def test_sample_manifests_pass_the_fetchers_validation(sample_warehouse):
    raw = sample_warehouse.parent / "raw"
    folders = sorted(p for p in raw.iterdir() if p.is_dir())
    with_manifest = [f for f in folders if (f / manifest.MANIFEST_NAME).exists()]
    assert 0 < len(with_manifest) < len(folders)
    for folder in with_manifest:
        files = manifest.read(folder)["files"]
        assert sorted(f["file_name"] for f in files) == sorted(
            p.name for p in folder.iterdir() if not p.name.startswith("."))
        for entry in files:
            path = folder / entry["file_name"]
            assert manifest.file_problem(entry, path.stat().st_size,
                                         hashlib.sha256(path.read_bytes()).hexdigest()) is None
            assert entry["months"] and entry["stat_inf_id"].startswith("9999")
    # the build found no manifest problem with any file
    assert query(sample_warehouse, "select count(*) from raw.release_files "
                                   "where coalesce(problem, '') <> ''") == [(0,)]
    # a preliminary release states mixed stages: earlier months detailed, the newest provisional
    assert query(sample_warehouse, "select month, stage from audit.release_months where "
                                   "release_id = '2025-04-17_preliminary' and flow = 2 "
                                   "group by all order by 1") == [
        (1, "detailed"), (2, "detailed"), (3, "preliminary")]


def test_sample_latest_month_stages_answers_for_every_month(sample_warehouse):
    months = query(sample_warehouse, "select distinct flow, year, month from core.trade_latest")
    stages = query(sample_warehouse, "select flow, year, month, stage, release_id, "
                                     "stage_source from audit.latest_month_stages")
    assert sorted(s[:3] for s in stages) == sorted(months)
    source = {(f, y, m): (stage, release, src) for f, y, m, stage, release, src in stages}
    # 2023's latest release (2024-11-28_fixed) has no manifest; 2024's and 2025's do
    assert {source[(1, 2023, m)] for m in range(1, 13)} == {
        ("fixed", "2024-11-28_fixed", "folder")}
    assert {source[(2, 2024, m)] for m in range(1, 13)} == {
        ("fixed", "2025-11-28_fixed", "manifest")}


def test_sample_confidential_codes_and_subtotal(sample_warehouse):
    withheld = query(sample_warehouse, "select min(make_date(year, month, 1)), count(distinct "
                                       "hs_code), sum(value_thousand_jpy) from "
                                       "core.confidential_codes")
    assert withheld[0][0].isoformat() == "2024-04-01" and withheld[0][1] >= 4
    assert withheld[0][2] > 0
    assert query(sample_warehouse, "select count(*) from audit.quarantine where reason = "
                                   "'subtotal row, not counted' and raw_line like '%S-TOTAL%'"
                 ) == [(1,)]
