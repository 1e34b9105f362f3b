"""A second reporting country (issue 23): the toy reporter `ZZZ` (tests/toy_layout.py), registered
the way a user registers one (`TRADE_ETL_LAYOUT_MODULES`), loads beside Japan's releases from
`raw/ZZZ/`, into cells that overlap Japan's, and never changes anything Japan sees; its releases
supersede only its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import (
    MART_TABLES,
    STATE_TABLES,
    build,
    csv_text,
    query,
    row,
    snapshot,
    write_release,
)
from trade_etl import settings
from trade_etl.app import cli
from trade_etl.ingest.releases import discover

TOY = "tests.toy_layout"
J1, J2 = "2024-02-20_preliminary", "2024-03-21_preliminary"
Z1, Z2 = "ZZZ/2024-02-25_preliminary", "ZZZ/2024-03-30_revised"
TOY_HEADER = "period,commodity,partner,flow,value"
BAD_TOY_LINE = "2024-01,870323,usa,X,5"


def japan(raw: Path) -> None:
    """Two Japan releases: January's exports of chapters 87 and 85 and imports of 27, revised
    by the second, which adds February."""
    write_release(raw, J1, {"a.csv": csv_text([
        row(1, 2024, "870323915", "304", {1: 1000}),
        row(1, 2024, "851713000", "105", {1: 500}),
        row(2, 2024, "270900000", "137", {1: 40})])})
    write_release(raw, J2, {"a.csv": csv_text([
        row(1, 2024, "870323915", "304", {1: 1100, 2: 900}),
        row(1, 2024, "851713000", "105", {1: 520, 2: 480}),
        row(2, 2024, "270900000", "137", {1: 41, 2: 44})])})


def toy(raw: Path) -> None:
    """The toy reporter's two releases, dated after each of Japan's (a release that superseded
    across reporters would replace Japan's figures), reporting the same (flow, year, month,
    chapter) cells; the first holds one bad line."""
    write_release(raw, Z1, {"zzz.csv": "\n".join([
        TOY_HEADER, "2024-01,870323,JPN,X,1500", "2024-01,851712,USA,X,800",
        "2024-01,270900,SAU,M,90", BAD_TOY_LINE]) + "\n"})
    write_release(raw, Z2, {"zzz.csv": "\n".join([
        TOY_HEADER, "2024-01,870323,JPN,X,1600", "2024-02,870323,JPN,X,1700"]) + "\n"})


# What Japan sees, each as a query: nothing here may change when another reporter loads.
JAPAN_SEES = {
    **{table: f"select * from {table}" for table in (*MART_TABLES, "marts.partner_ranks",
                                                     "core.confidential_codes",
                                                     "audit.official_totals_diff")},
    **{table: f"select * exclude (loaded_at) from {table} where reporter = 'JPN'"
       for table in ("audit.releases",)},
    **{table: f"select * from {table} where reporter = 'JPN'"
       for table in ("core.trade_facts", "core.trade_latest", "core.releases",
                     "core.release_coverage", "core.trade_release_monthly",
                     "audit.quarantine", "audit.latest_month_stages")},
    "core.trade_latest_sources": "select * exclude (release_token) from "
                                 "core.trade_latest_sources where reporter = 'JPN'",
    # as of a day after the toy's first release and before Japan's second
    "marts.balance_total_as_of": "select * from marts.balance_total_as_of(DATE '2024-03-01')",
    "marts.revisions": "select * from marts.revisions",
    "totals": "select flow, sum(value_thousand_jpy) * 1000 from core.trade_latest "
              "where reporter = 'JPN' group by all",
}


def japan_sees(warehouse: Path) -> dict[str, list[tuple]]:
    return {name: sorted(query(warehouse, sql), key=repr) for name, sql in JAPAN_SEES.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """A Japan-only warehouse and one of the same Japan releases with the toy reporter's."""
    tmp = tmp_path_factory.mktemp("reporters")
    mp = pytest.MonkeyPatch()
    mp.setenv(settings.QUIET_ENV, "0")
    try:
        japan(tmp / "japan" / "raw")
        assert build(tmp / "japan" / "raw", tmp / "japan.duckdb") == 0
        japan(tmp / "both" / "raw")
        toy(tmp / "both" / "raw")
        mp.setenv(settings.LAYOUT_MODULES_ENV, TOY)
        assert build(tmp / "both" / "raw", tmp / "both.duckdb") == 0
    finally:
        mp.undo()
    return {"japan": tmp / "japan.duckdb", "both": tmp / "both.duckdb"}


def test_japan_sees_the_same_warehouse_to_the_yen(built):
    alone, both = japan_sees(built["japan"]), japan_sees(built["both"])
    assert alone["marts.balance_total"] and alone["core.trade_latest"]
    assert alone == both
    # and the toy's rows are there, beside them
    assert query(built["both"], "select count(*) from core.trade_latest "
                                "where reporter = 'ZZZ'") == [(4,)]


def test_a_release_supersedes_only_its_own_reporters_releases(built):
    latest = query(built["both"], "select reporter, flow, year, month, hs_code, country_code, "
                                  "value_thousand_jpy, release_id from core.trade_latest "
                                  "order by all")
    assert latest == [
        ("JPN", 1, 2024, 1, "851713000", "105", 520, J2),
        ("JPN", 1, 2024, 1, "870323915", "304", 1100, J2),
        ("JPN", 1, 2024, 2, "851713000", "105", 480, J2),
        ("JPN", 1, 2024, 2, "870323915", "304", 900, J2),
        ("JPN", 2, 2024, 1, "270900000", "137", 41, J2),
        ("JPN", 2, 2024, 2, "270900000", "137", 44, J2),
        # the toy's second release replaces its first where it reports (chapter 87), no more
        ("ZZZ", 1, 2024, 1, "851712", "USA", 800, Z1),
        ("ZZZ", 1, 2024, 1, "870323", "JPN", 1600, Z2),
        ("ZZZ", 1, 2024, 2, "870323", "JPN", 1700, Z2),
        ("ZZZ", 2, 2024, 1, "270900", "SAU", 90, Z1),
    ]
    # as of a day between the toy's first release and Japan's second: each its own
    winners = query(built["both"], "select reporter, flow, month, hs_chapter, release_id from "
                                   "core.winning_releases(DATE '2024-03-01') order by all")
    assert winners == [("JPN", 1, 1, "85", J1), ("JPN", 1, 1, "87", J1),
                       ("JPN", 2, 1, "27", J1),
                       ("ZZZ", 1, 1, "85", Z1), ("ZZZ", 1, 1, "87", Z1),
                       ("ZZZ", 2, 1, "27", Z1)]


def test_each_reporters_releases_are_numbered_on_their_own(built):
    assert query(built["both"], "select reporter, release_id, release_seq from core.releases "
                                "order by all") == [
        ("JPN", J1, 1), ("JPN", J2, 2), ("ZZZ", Z1, 1), ("ZZZ", Z2, 2)]


def test_the_toys_rows_carry_its_reporter_everywhere(built):
    wh = built["both"]
    for table in ("raw.release_files", "audit.releases", "core.trade_facts",
                  "core.release_coverage", "core.trade_release_monthly", "core.trade_latest",
                  "core.trade_latest_sources", "audit.quarantine"):
        by_reporter = dict(query(wh, f"select reporter, count(*) from {table} "
                                     "where starts_with(release_id, 'ZZZ/') group by all"))
        assert set(by_reporter) == {"ZZZ"}, table
    assert query(wh, "select release_id, file_name, layout, encoding, status from "
                     "audit.releases where reporter = 'ZZZ' order by all") == [
        (Z1, "zzz.csv", "zzz_long", "utf-8", "loaded"),
        (Z2, "zzz.csv", "zzz_long", "utf-8", "loaded")]
    # the month stages follow each reporter's own releases
    assert query(wh, "select reporter, flow, month, release_id, stage from "
                     "audit.latest_month_stages order by all") == [
        ("JPN", 1, 1, J2, "preliminary"), ("JPN", 1, 2, J2, "preliminary"),
        ("JPN", 2, 1, J2, "preliminary"), ("JPN", 2, 2, J2, "preliminary"),
        ("ZZZ", 1, 1, Z2, "revised"), ("ZZZ", 1, 2, Z2, "revised"),
        ("ZZZ", 2, 1, Z1, "preliminary")]


def test_a_bad_line_of_the_toy_is_quarantined_with_its_reason(built):
    wh = built["both"]
    assert query(wh, "select release_id, file_name, line_number, reason, raw_line, reporter "
                     "from audit.quarantine") == [
        (Z1, "zzz.csv", 5, "partner is not valid (str_matches('^[A-Z]{3}$')): 'usa'",
         BAD_TOY_LINE, "ZZZ")]
    assert query(wh, "select rows_read, rows_loaded, rows_quarantined, cells_loaded from "
                     "audit.releases where release_id = $1", [Z1]) == [(4, 3, 1, 3)]


def test_ref_reporters_holds_the_shipped_japan_and_the_registered_toy(built):
    shipped = [("JPN", "Japan", "JPY", 1000, "japan_customs", 9),
               ("USA", "United States", "USD", 1, "census", 10)]
    assert query(built["japan"], "select * from ref.reporters order by reporter") == shipped
    assert query(built["both"], "select * from ref.reporters order by reporter") == [
        *shipped, ("ZZZ", "Testland (toy reporter)", "XTS", 1, "iso3", 6)]
    # docs/warehouse.md, Reporters: the values in each reporter's currency
    in_currency = query(built["both"], "select reporter, currency, year, month, flow, "
                        "sum(value_thousand_jpy * value_unit) from core.trade_latest "
                        "join ref.reporters using (reporter) group by all")
    assert sorted(r for r in in_currency if r[3:5] == (1, 1)) == [
        ("JPN", "JPY", 2024, 1, 1, 1_620_000), ("ZZZ", "XTS", 2024, 1, 1, 2400)]


def test_the_toy_added_to_a_japan_warehouse_equals_a_clean_build(tmp_path, monkeypatch):
    """Incremental: Japan built first, then the toy's folders appear (unregistered: a problem,
    nothing read), then its module is named: each build ends where a clean one does, and
    Japan's rows never move."""
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    japan(raw)
    assert build(raw, wh) == 0
    before = japan_sees(wh)
    toy(raw)
    assert build(raw, wh) == 1  # the toy's files are file errors while no layout is registered
    problems = query(wh, "select distinct problem from raw.release_files "
                         "where reporter = 'ZZZ'")
    assert len(problems) == 1 and problems[0][0].startswith(
        "no layout is registered for reporter ZZZ (registered: JPN, USA): name the module that "
        "registers it in TRADE_ETL_LAYOUT_MODULES")
    assert query(wh, "select count(*) from core.trade_facts where reporter <> 'JPN'") == [(0,)]
    assert japan_sees(wh) == before
    monkeypatch.setenv(settings.LAYOUT_MODULES_ENV, TOY)
    assert build(raw, wh) == 0
    assert japan_sees(wh) == before
    clean = tmp_path / "clean.duckdb"
    assert build(raw, clean) == 0
    assert snapshot(wh) == snapshot(clean)
    assert build(raw, wh) == 0  # nothing changed: up to date, nothing run
    assert snapshot(wh) == snapshot(clean)


def test_a_japan_release_under_jpn_is_the_same_release(tmp_path):
    """Fetched releases (with their manifests) moved into raw/JPN/ give the same warehouse."""
    from trade_etl.sample import write_sample

    top, nested = tmp_path / "top", tmp_path / "nested"
    folders = write_sample(top, years=(2025,), scale=0.05)
    shutil.copytree(top, nested)
    moved = [f.name for f in folders[::2]]
    assert any((top / name / ".manifest.json").exists() for name in moved)
    for name in moved:
        (nested / "JPN").mkdir(exist_ok=True)
        (nested / name).rename(nested / "JPN" / name)
    assert build(top, tmp_path / "top.duckdb") == 0
    assert build(nested, tmp_path / "nested.duckdb") == 0
    tables = (*STATE_TABLES, "audit.release_months", "audit.latest_month_stages",
              "core.releases")
    assert snapshot(tmp_path / "top.duckdb", tables) == snapshot(tmp_path / "nested.duckdb",
                                                                 tables)
    assert {s.release_id for s in discover(nested)} == {f.name for f in folders}


def test_a_japan_release_in_both_places_is_a_file_problem_not_a_double_count(tmp_path, capsys):
    raw = tmp_path / "raw"
    japan(raw)
    shutil.copytree(raw / J2, raw / "JPN" / J2)
    capsys.readouterr()
    assert build(raw, tmp_path / "wh.duckdb") == 1
    err = capsys.readouterr().err
    expected = (f"release {J2} is in the raw folder twice, {raw / J2} and {raw / 'JPN' / J2}: "
                "a Japan release is directly under the raw folder or under JPN/, not both; "
                "remove one")
    assert f"{J2}/a.csv: {expected}" in err
    wh = tmp_path / "wh.duckdb"
    assert query(wh, "select release_id, file_name, problem from raw.release_files "
                     "where release_id = $1", [J2]) == [(J2, "a.csv", expected)]
    # nothing of the twice-found release is loaded, once or twice
    assert query(wh, "select distinct release_id from core.trade_facts") == [(J1,)]


def test_release_ids_of_reporter_folders(tmp_path):
    raw = tmp_path / "raw"
    japan(raw)
    toy(raw)
    (raw / "QQQ" / "2024-05-01_preliminary").mkdir(parents=True)
    (raw / "QQQ" / "2024-05-01_preliminary" / "x.csv").write_text("a,b\n")
    (raw / "ZZZ" / "loose.csv").write_text("a,b\n")
    found = {(s.reporter, s.release_id, s.file_name): s.problem
             for s in discover(raw, reporters=("JPN", "ZZZ"))}
    assert found[("ZZZ", Z1, "zzz.csv")] is None
    assert found[("ZZZ", "ZZZ/loose.csv", "loose.csv")] == (
        "file is not inside a release folder <YYYY-MM-DD>_<stage>")
    assert found[("QQQ", "QQQ/2024-05-01_preliminary", "x.csv")].startswith(
        "no layout is registered for reporter QQQ (registered: JPN, ZZZ)")
    assert found[("JPN", J1, "a.csv")] is None


def test_a_layout_module_that_cannot_be_used_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    japan(tmp_path / "raw")
    for value, message in [
        ("tests.no_such_module", "TRADE_ETL_LAYOUT_MODULES names tests.no_such_module, which "
                                 "cannot be imported: ModuleNotFoundError"),
        ("tests.conftest", "TRADE_ETL_LAYOUT_MODULES names tests.conftest, which defines no "
                           "REPORTERS"),
        ("not a module", "TRADE_ETL_LAYOUT_MODULES must be Python module names separated by "
                         "commas"),
    ]:
        monkeypatch.setenv(settings.LAYOUT_MODULES_ENV, value)
        capsys.readouterr()
        assert cli.main(["build", "--raw-dir", str(tmp_path / "raw"), "--warehouse",
                         str(tmp_path / "wh.duckdb"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_setting_names_modules_and_the_run_gets_it(tmp_path):
    from trade_etl.defs.resources import TradeEtlConfig, run_config_for
    from trade_etl.settings import Settings

    config = Settings.from_env({settings.LAYOUT_MODULES_ENV: f" {TOY}, a.b ,{TOY}"})
    assert config.layout_modules == (TOY, "a.b")
    assert Settings.from_env({}).layout_modules == ()
    given = run_config_for(config)["trade_etl"]["config"]
    assert TradeEtlConfig(**given).settings().layout_modules == (TOY, "a.b")


def test_a_staged_toy_file_is_the_toys_own(tmp_path):
    """Staging keys a bundle by the file's bytes and its reporter: the same bytes in a Japan
    folder are read by Japan's layouts, not served the toy's results."""
    from trade_etl.ingest import staging
    from trade_etl.ingest.layouts import registry

    raw = tmp_path / "raw"
    toy(raw)
    layouts = registry((TOY,))
    source = next(s for s in discover(raw, reporters=layouts.reporters) if s.release_id == Z1)
    code = staging.token(["304"], layouts)
    assert code != staging.token(["304"])
    assert staging.stage(source, tmp_path / "staging", code, ["304"], layouts) == "staged"
    sha = staging.sha256_file(source.path)
    [result] = staging.load(tmp_path / "staging", code, sha, "ZZZ")
    assert (result.layout, result.rows_loaded, result.rows_quarantined) == ("zzz_long", 3, 1)
    assert staging.load(tmp_path / "staging", code, sha) is None  # not as Japan's


@pytest.mark.parametrize("modules", [(), (TOY,)], ids=["shipped", "with a module"])
def test_what_a_build_checks_first_is_what_the_registry_says(modules):
    """An unchanged build reads the reporters and the layouts' fingerprint without importing
    the layouts (trade_etl/ingest/shipped.py): the same as the registry's."""
    from trade_etl.ingest import shipped
    from trade_etl.ingest.layouts import SHIPPED, registry

    found = registry(modules)
    assert shipped.reporters_and_fingerprint(modules) == (found.reporters, found.fingerprint)
    assert shipped.SHIPPED_REPORTERS == tuple(entry.reporter for entry in SHIPPED)
    assert ("ZZZ" in found.reporters) == bool(modules)
