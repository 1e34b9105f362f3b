"""`trade-etl fetch` against a local server shaped like e-Stat (tests/estat_site.py).

The site serves the sample generator's files split into one table per HS section, with titles
as e-Stat writes them. A fetch followed by a build must give the warehouse a build of the same
files dropped in by hand gives; faults are retried; broken pages stop the fetch before anything
is written; a killed fetch leaves nothing half-written in a release folder.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, STATE_TABLES, build, query, snapshot
from tests.estat_site import FakeEstat
from trade_etl.app import cli
from trade_etl.fetch.estat_pages import parse_title
from trade_etl.formats import manifest

EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _sections() -> dict[str, list[int]]:
    chapters: dict[str, list[int]] = {}
    with (REPO / "data" / "ref" / "hs_chapters.csv").open(encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            chapters.setdefault(line["hs_section"], []).append(int(line["hs_chapter"]))
    return chapters


SECTIONS = _sections()
SECTION_OF = {ch: s for s, chs in SECTIONS.items() for ch in chs}
ROMAN = {s: i for i, s in enumerate(SECTIONS, 1)}


def split_by_section(body: bytes) -> dict[str, bytes]:
    """One release file -> one file per HS section, the header and line endings kept."""
    lines = body.splitlines(keepends=True)
    hs = lines[0].rstrip(b"\r\n").split(b",").index(b"HS")
    parts: dict[str, list[bytes]] = {}
    for line in lines[1:]:
        if line.strip():
            chapter = int(line.split(b",")[hs].strip(b"'")[:2])
            parts.setdefault(SECTION_OF[chapter], []).append(line)
    return {s: lines[0] + b"".join(ls) for s, ls in sorted(parts.items(), key=lambda p:
                                                          ROMAN[p[0]])}


def months_text(first: int, last: int) -> str:
    return EN_MONTHS[first - 1] if first == last else f"{EN_MONTHS[first - 1]}-" \
        f"{EN_MONTHS[last - 1]}"


def title(flow: str, stages: str, section: str) -> str:
    chapters = SECTIONS[section]
    span = f"{chapters[0]:02d}" + (f"-{chapters[-1]:02d}" if len(chapters) > 1 else "")
    return (f"Commodity by Country ({flow.capitalize()} {stages}) Section {section} "
            f"Chapter {span}")


def publish(site: FakeEstat, sample: Path, release: str, year: int, update_date: str,
            stages: dict[str, str], japanese_section: str | None = None) -> None:
    """Publish (or replace) every section table of `year` from one sample release folder.

    `stages[flow]` is the title's months:stage part, e.g. "Jan-Mar:Detailed"."""
    for flow, prefix in (("export", "exp"), ("import", "imp")):
        for path in sorted((sample / release).glob(f"{prefix}_{year}_*.csv")):
            for section, body in split_by_section(path.read_bytes()).items():
                name = title(flow, stages[flow], section)
                lang = "en"
                if section == japanese_section and flow == "import":
                    name = japanese_title(year, stages[flow], section)
                    lang = "ja"
                site.add_table(flow, year, name, body, update_date, key=(flow, section),
                               lang=lang)


def japanese_title(year: int, stages: str, section: str) -> str:
    """`2025年3月分 品別国別表 （輸入 1-2月：確報、3月：輸入9桁速報） 第XVI部 第84-85類`"""
    info = parse_title(title("import", stages, section))
    parts, run = [], []
    for month, stage in info.months:
        if run and run[-1][1] != stage:
            parts.append(run)
            run = []
        run.append((month, stage))
    parts.append(run)
    words = {"detailed": "確報", "preliminary": "輸入9桁速報", "revised": "確々報",
             "fixed": "確定"}
    text = "、".join(
        (f"{r[0][0]}-{r[-1][0]}月" if len(r) > 1 else f"{r[0][0]}月") + "：" + words[r[0][1]]
        for r in parts)
    chapters = SECTIONS[section]
    return (f"{year}年{info.months[-1][0]}月分 品別国別表 （輸入 {text}） 第{section}部 "
            f"第{chapters[0]:02d}-{chapters[-1]:02d}類")


def expected_name(table) -> str:
    """The folder and file the fetcher must give a table (as the issue names them)."""
    info = parse_title(table.title)
    chapters = SECTIONS[[s for s, r in ROMAN.items() if r == info.section][0]]
    span = f"ch{chapters[0]:02d}" + (f"-{chapters[-1]:02d}" if len(chapters) > 1 else "")
    folder = f"{table.update_date}_{info.months[-1][1]}"
    return f"{folder}/{table.flow}_{table.year}_s{info.section:02d}_{span}_" \
           f"{table.stat_inf_id}.csv"


def hand_drop(site: FakeEstat, raw: Path, served: list) -> None:
    """The same tables, written into the same folders by hand (no manifest)."""
    for table in served:
        path = raw / expected_name(table)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(table.body)


def fetch(site: FakeEstat, raw: Path, *extra: str, years: str = "2024-2025") -> int:
    return cli.main(["fetch", "--base-url", site.base_url, "--raw-dir", str(raw),
                     "--years", years, "--pause", "0", *extra])


STAGES_A = {"export": "Jan-Mar:Detailed", "import": "Jan-Feb:Detailed, Mar:9-digit Provisional"}
STAGES_B = {"export": "Jan-Jun:Detailed", "import": "Jan-May:Detailed, Jun:9-digit Provisional"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from trade_etl.sample import write_sample

    out = tmp_path_factory.mktemp("estat") / "sample"
    write_sample(out, years=[2024, 2025], scale=0.3, bad_rows=False)
    return out


@pytest.fixture
def site(sample, monkeypatch):
    monkeypatch.setenv("TRADE_ETL_FETCH_BACKOFF", "0.05")
    with FakeEstat(page_size=8) as fake:
        publish(fake, sample, "2025-03-10_revised", 2024, "2025-03-10",
                {"export": "Jan-Dec:Revised", "import": "Jan-Dec:Revised"})
        publish(fake, sample, "2025-04-17_preliminary", 2025, "2025-04-17", STAGES_A,
                japanese_section="XVI")
        yield fake


def release_folders(raw: Path) -> list[str]:
    return sorted(p.name for p in raw.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_fetch_then_build_equals_the_same_files_dropped_by_hand(site, tmp_path, capsys):
    raw = tmp_path / "raw"
    served = site.tables()
    assert len(served) > 40 and any(t.lang == "ja" for t in served)
    assert fetch(site, raw) == 0
    out = capsys.readouterr()
    assert f"{len(served)} tables seen, {len(served)} downloaded" in out.out
    assert "next: trade-etl build" in out.out
    assert release_folders(raw) == ["2025-03-10_revised", "2025-04-17_detailed",
                                    "2025-04-17_preliminary"]
    # Every table, whole, where the issue says it goes; pages were followed past page 1.
    for table in served:
        assert (raw / expected_name(table)).read_bytes() == table.body
    assert max(int(r.query.get("page", 1)) for r in site.page_requests()) >= 3
    assert all(r.headers["User-Agent"].startswith("trade_etl/") for r in site.requests)
    # The manifest records each file as fetched.
    entries = {e["file_name"]: e for f in manifest.manifests(raw)
               for e in manifest.read(f)["files"]}
    assert len(entries) == len(served)
    some = served[-1]
    entry = entries[expected_name(some).split("/")[1]]
    assert (entry["stat_inf_id"], entry["release_count"], entry["update_date"]) == (
        some.stat_inf_id, some.release_count, some.update_date)
    assert entry["bytes"] == len(some.body) and entry["title"] == some.title

    hand = tmp_path / "hand"
    hand_drop(site, hand, served)
    assert build(raw, tmp_path / "fetched.duckdb") == 0
    assert build(hand, tmp_path / "hand.duckdb") == 0
    assert snapshot(tmp_path / "fetched.duckdb") == snapshot(tmp_path / "hand.duckdb")
    assert query(tmp_path / "fetched.duckdb", "select sum(value_thousand_jpy) from "
                 "core.trade_facts")[0][0] > 0

    # The stages from the titles, queryable; by hand there is no manifest and no rows.
    months = query(tmp_path / "fetched.duckdb",
                   "select flow, year, month, stage, count(*) from audit.release_months "
                   "group by all order by all")
    per_flow_year = {(t.flow, t.year): 0 for t in served}
    for t in served:
        per_flow_year[(t.flow, t.year)] += 1
    expected = [(1, 2024, m, "revised", per_flow_year[("export", 2024)]) for m in range(1, 13)]
    expected += [(1, 2025, m, "detailed", per_flow_year[("export", 2025)]) for m in (1, 2, 3)]
    expected += [(2, 2024, m, "revised", per_flow_year[("import", 2024)]) for m in range(1, 13)]
    expected += [(2, 2025, 1, "detailed", per_flow_year[("import", 2025)]),
                 (2, 2025, 2, "detailed", per_flow_year[("import", 2025)]),
                 (2, 2025, 3, "preliminary", per_flow_year[("import", 2025)])]
    assert months == sorted(expected)
    assert query(tmp_path / "hand.duckdb", "select count(*) from audit.release_months") == [(0,)]
    # "Are March 2025 imports still provisional?" is one SELECT.
    assert query(tmp_path / "fetched.duckdb",
                 "select stage, release_id from audit.latest_month_stages where flow = 2 "
                 "and year = 2025 and month = 3") == [("preliminary", "2025-04-17_preliminary")]


def test_second_fetch_downloads_nothing(site, tmp_path, capsys):
    raw = tmp_path / "raw"
    assert fetch(site, raw) == 0
    before = len(site.csv_requests())
    capsys.readouterr()
    assert fetch(site, raw) == 0
    assert len(site.csv_requests()) == before
    out = capsys.readouterr().out
    assert f"0 downloaded (0.0 kB), {len(site.tables())} already held, 0 failed" in out
    assert "next:" not in out


def test_a_new_version_lands_as_a_new_release(site, sample, tmp_path):
    raw = tmp_path / "raw"
    assert fetch(site, raw) == 0
    first = site.tables(year=2025)
    assert build(raw, tmp_path / "a.duckdb") == 0
    publish(site, sample, "2025-07-17_preliminary", 2025, "2025-07-17", STAGES_B,
            japanese_section="XVI")
    second = site.tables(year=2025)
    assert {t.stat_inf_id for t in first}.isdisjoint(t.stat_inf_id for t in second)
    assert all(t.release_count == 2 for t in second)
    assert fetch(site, raw) == 0
    assert release_folders(raw) == ["2025-03-10_revised", "2025-04-17_detailed",
                                    "2025-04-17_preliminary", "2025-07-17_detailed",
                                    "2025-07-17_preliminary"]
    for table in first:  # the version the site no longer shows is kept
        assert (raw / expected_name(table)).read_bytes() == table.body
    assert build(raw, tmp_path / "a.duckdb") == 0
    # The incremental build equals a build of every version dropped in by hand at once.
    hand = tmp_path / "hand"
    hand_drop(site, hand, [*site.tables(year=2024), *first, *second])
    assert build(hand, tmp_path / "hand.duckdb") == 0
    tables = tuple(t for t in STATE_TABLES if t != "raw.release_files")
    assert snapshot(tmp_path / "a.duckdb", tables) == snapshot(tmp_path / "hand.duckdb", tables)
    stages = query(tmp_path / "a.duckdb", "select month, stage, release_id from "
                   "audit.latest_month_stages where flow = 2 and year = 2025 order by 1")
    assert stages == [*[(m, "detailed", "2025-07-17_preliminary") for m in range(1, 6)],
                      (6, "preliminary", "2025-07-17_preliminary")]
    # Latest figures come from the new version; as of the first date, from the first one.
    latest = dict(query(tmp_path / "a.duckdb",
                        "select distinct month, release_id from core.trade_latest "
                        "where year = 2025 and flow = 1 order by 1"))
    assert set(latest.values()) == {"2025-07-17_detailed"} and max(latest) == 6
    as_of = query(tmp_path / "a.duckdb",
                  "select period, exports_jpy from marts.balance_total_as_of(DATE "
                  "'2025-04-17') where period_type = 'month' and period like '2025-%' "
                  "order by 1")
    sums = {}
    for table in first:
        if table.flow == "export":
            for line in table.body.decode("utf-8", "replace").splitlines()[1:]:
                cells = line.split(",")
                for m in (1, 2, 3):
                    key = f"2025-{m:02d}"
                    sums[key] = sums.get(key, 0) + int(cells[8 + 3 * m]) * 1000
    assert as_of == sorted(sums.items())


def test_faults_are_retried_until_the_file_is_whole(site, tmp_path, capsys):
    raw = tmp_path / "raw"
    tables = site.tables(year=2024, flow="export")
    faults = [(tables[0], [503, 503]), (tables[1], [("429", 1)]), (tables[2], ["reset"]),
              (tables[3], ["truncate"]), (tables[4], [502, "truncate", 504, "reset"])]
    for table, queued in faults:
        site.fail(table.stat_inf_id, *queued)
    site.fail_page("import", 2024, 503)
    assert fetch(site, raw, years="2024") == 0
    for table, queued in faults:
        assert (raw / expected_name(table)).read_bytes() == table.body
        assert len(site.csv_requests(table.stat_inf_id)) == len(queued) + 1
    rate_limited = [r.time for r in site.csv_requests(tables[1].stat_inf_id)]
    assert rate_limited[1] - rate_limited[0] >= 1.0  # Retry-After was honoured
    assert "retrying" in capsys.readouterr().err
    assert not list((raw / ".partial").iterdir())


def test_five_failures_end_that_table_and_keep_the_others(site, tmp_path, capsys):
    raw = tmp_path / "raw"
    tables = site.tables(year=2024, flow="export")
    broken = tables[0]
    site.fail(broken.stat_inf_id, 503, 500, "reset", "truncate", 503)
    site.fail(tables[1].stat_inf_id, "html")  # a maintenance page served with 200
    assert fetch(site, raw, years="2024") == 1
    captured = capsys.readouterr()
    assert f"failed   export 2024 s01 ch01-05 {broken.stat_inf_id}" in captured.err
    assert "failed after 5 attempts" in captured.err
    assert "an HTML page, not a CSV" in captured.err
    assert "2 failed" in captured.out
    assert len(site.csv_requests(broken.stat_inf_id)) == 5
    assert not (raw / expected_name(broken)).exists()
    assert not (raw / expected_name(tables[1])).exists()
    for table in tables[2:]:
        assert (raw / expected_name(table)).read_bytes() == table.body
    assert not list((raw / ".partial").iterdir())
    assert fetch(site, raw, years="2024") == 0  # the next fetch gets the rest
    assert (raw / expected_name(broken)).read_bytes() == broken.body


@pytest.mark.parametrize("how, says", [
    ("no_csv_links", "none has a CSV link"),
    ("no_update_date", "no update date"),
    ("bad_update_date", "unreadable update date"),
    ("no_statinfid", "without a 12-digit statInfId"),
])
def test_a_page_without_what_the_parser_needs_stops_the_fetch(site, tmp_path, capsys, how, says):
    raw = tmp_path / "raw"
    site.break_page("import", 2025, how)
    assert fetch(site, raw) == 2
    err = capsys.readouterr().err
    assert "structure was not recognised, nothing was written" in err and says in err
    assert f"{site.base_url}/en/stat-search/files?" in err and "year=20250" in err
    assert site.csv_requests() == []
    assert not raw.exists() or release_folders(raw) == []


def test_a_year_page_without_any_table_stops_the_fetch(site, tmp_path, capsys):
    site.fail_page("export", 2025, "html")  # a page that lists no table at all
    assert fetch(site, tmp_path / "raw") == 2
    err = capsys.readouterr().err
    assert "no tables (no CSV links) on the export 2025 year page" in err
    assert site.csv_requests() == [] and not (tmp_path / "raw").exists()


def test_titles_whose_stage_cannot_be_read_fail_by_name(sample, tmp_path, capsys):
    raw = tmp_path / "raw"
    with FakeEstat() as fake:
        publish(fake, sample, "2025-04-17_preliminary", 2025, "2025-04-17",
                {"export": "Jan-Mar:Estimated", "import": "Jan-Mar:Detailed"})
        assert fetch(fake, raw, years="2025") == 1
        exports = fake.tables(flow="export")
    err = capsys.readouterr().err
    assert "unknown stage 'Estimated'" in err and exports[0].title in err
    assert release_folders(raw) == ["2025-04-17_detailed"]
    assert all(name.startswith("import_") for name in os.listdir(raw / "2025-04-17_detailed")
               if not name.startswith("."))


def test_years_not_yet_published_are_not_errors(site, tmp_path, capsys):
    assert fetch(site, tmp_path / "raw", years="2025-2026") == 0
    out = capsys.readouterr().out
    assert "export 2026: not listed yet" in out and "import 2026: not listed yet" in out


def test_dry_run_lists_and_writes_nothing(site, tmp_path, capsys):
    raw = tmp_path / "raw"
    assert fetch(site, raw, "--dry-run") == 0
    captured = capsys.readouterr()
    assert captured.err.count("would get") == len(site.tables())
    assert "nothing written (--dry-run)" in captured.out
    assert not raw.exists() and site.csv_requests() == []


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    for args in (["--years", "twenty"], ["--flows", "both"], ["--years", "2025-2024"]):
        assert cli.main(["fetch", "--raw-dir", str(tmp_path), *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err


def test_a_killed_fetch_leaves_no_partial_file_in_a_release_folder(site, tmp_path):
    raw = tmp_path / "raw"
    slow = site.tables(year=2024, flow="export")[3]
    site.fail(slow.stat_inf_id, ("slow", 30))
    env = {**os.environ, "TRADE_ETL_FETCH_BACKOFF": "0.05"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trade_etl", "fetch", "--base-url", site.base_url,
         "--raw-dir", str(raw), "--years", "2024", "--pause", "0"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        partial = raw / ".partial"
        while time.monotonic() < deadline:
            parts = list(partial.glob(f"{slow.stat_inf_id}.*.part")) if partial.is_dir() else []
            if parts and site.csv_requests(slow.stat_inf_id):  # its body is on its way
                time.sleep(1.0)
                break
            time.sleep(0.05)
        else:
            pytest.fail("the slow download never started")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (raw / expected_name(slow)).exists()
    for folder in release_folders(raw):  # whatever is in a release folder is whole
        held = {e["file_name"]: e for e in manifest.read(raw / folder)["files"]}
        for path in (raw / folder).iterdir():
            if path.name != manifest.MANIFEST_NAME:
                assert path.stat().st_size == held[path.name]["bytes"]
    assert [p.name for p in (raw / ".partial").iterdir()]  # only the temporary file remains
    assert fetch(site, raw, years="2024") == 0
    assert (raw / expected_name(slow)).read_bytes() == slow.body
    assert not list((raw / ".partial").iterdir())
    names = json.dumps([manifest.read(raw / f)["files"] for f in release_folders(raw)])
    assert names.count(slow.stat_inf_id) >= 1


def test_the_dagster_asset_runs_the_same_fetch(site, tmp_path, monkeypatch):
    import dagster as dg

    from trade_etl.defs.fetch.assets import FetchConfig, estat_downloads
    from trade_etl.defs.resources import RawDirectory, TradeEtlConfig

    raw = tmp_path / "raw"
    monkeypatch.setenv("TRADE_ETL_ESTAT_BASE_URL", site.base_url)
    monkeypatch.setenv("TRADE_ETL_FETCH_PAUSE", "0")
    result = dg.materialize([estat_downloads], resources={"raw_dir": RawDirectory(path=str(raw)),
                                       "trade_etl": TradeEtlConfig()},
                            run_config={"ops": {"raw__estat_downloads": {
                                "config": FetchConfig(years="2024").model_dump()}}})
    assert result.success
    metadata = result.asset_materializations_for_node("raw__estat_downloads")[0].metadata
    seen = len(site.tables(year=2024))
    assert (metadata["tables_seen"].value, metadata["downloaded"].value,
            metadata["failed"].value) == (seen, seen, 0)
    assert metadata["bytes"].value == sum(len(t.body) for t in site.tables(year=2024))
    assert "2025-03-10_revised" in metadata["new_release_folders"].value
    assert "downloaded" in metadata["preview"].value
    # A table that keeps failing fails the run, with what failed in its description.
    site.add_table("export", 2024, "Commodity by Country (Export Jan-Dec:Revised) Section I "
                   "Chapter 01-05", b"x", "2025-03-11", key=("export", "I"))
    site.fail(site.tables(year=2024)[0].stat_inf_id, *[503] * 5)
    monkeypatch.setenv("TRADE_ETL_FETCH_BACKOFF", "0")
    failed = dg.materialize([estat_downloads], raise_on_error=False,
                            resources={"raw_dir": RawDirectory(path=str(raw)),
                                       "trade_etl": TradeEtlConfig()},
                            run_config={"ops": {"raw__estat_downloads": {
                                "config": FetchConfig(years="2024").model_dump()}}})
    assert not failed.success
    failure = [e for e in failed.all_events if e.is_step_failure][0]
    assert "failed after 5 attempts" in failure.step_failure_data.error.message
