"""One version of a table per release folder, whatever the site or a hand does.

Found by the fault campaign of issue 21, each reproduced here with the fake e-Stat site and real
builds: a table listed under two statInfIds the same day, or republished the same day under its
statInfId with a new release count, landed twice in one folder and the build added both
(calendar-2024 exports +15%, exit 0); a manifest entry without a statInfId made the next fetch
download the table again beside it; an edited manifest made incremental and clean builds
disagree; release folders dated 2099 or 1987 loaded and superseded everything; a manifest could
name `../../etc/passwd`, months 13 and -1, or be a link to /dev/zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, build, csv_text, query, row, write_release
from tests.estat_site import FakeEstat
from tests.test_fetch import fetch, publish
from trade_etl.app import cli
from trade_etl.formats import manifest

REVISED = {"export": "Jan-Dec:Revised", "import": "Jan-Dec:Revised"}
YEAR_EXPORTS = ("select exports_jpy from marts.balance_total "
                "where period_type = 'calendar_year' and period = 'CY2024'")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from trade_etl.sample import write_sample

    out = tmp_path_factory.mktemp("one_version") / "sample"
    write_sample(out, years=[2024], scale=0.2, bad_rows=False)
    return out


@pytest.fixture
def site(sample, monkeypatch):
    monkeypatch.setenv("TRADE_ETL_FETCH_BACKOFF", "0.05")
    with FakeEstat(page_size=50) as fake:
        publish(fake, sample, "2025-03-10_revised", 2024, "2025-03-10", REVISED)
        yield fake


def exports_of(tables) -> int:
    """Calendar-year exports in yen of the export tables served (each counted once)."""
    total = 0
    for table in tables:
        if table.flow == "export":
            lines = table.body.decode().splitlines()
            at = lines[0].split(",").index("Value-Year")
            total += sum(int(line.split(",")[at]) for line in lines[1:] if line.strip())
    return total * 1000


def machinery_table(site: FakeEstat):
    return next(t for t in site.tables(flow="export") if "Section XVI " in t.title)


def folders(raw: Path) -> list[str]:
    return sorted(p.name for p in raw.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_a_table_listed_twice_the_same_day_is_counted_once(site, tmp_path):
    """The same table under a second statInfId, the same day: a release of its own (-r2)."""
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    first = machinery_table(site)
    twin = site.add_table("export", 2024, first.title, first.body, first.update_date,
                          key="listed twice")
    served = site.tables()
    assert len([t for t in served if t.title == first.title]) == 2
    assert fetch(site, raw, years="2024") == 0
    assert folders(raw) == ["2025-03-10_revised", "2025-03-10_revised-r2"]
    (entry,) = manifest.read(raw / "2025-03-10_revised-r2")["files"]
    assert entry["stat_inf_id"] == twin.stat_inf_id
    held = {e["stat_inf_id"]: e["file_name"]
            for e in manifest.read(raw / "2025-03-10_revised")["files"]}
    assert entry["supersedes"] == f"2025-03-10_revised/{held[first.stat_inf_id]}"
    assert twin.stat_inf_id not in held
    assert build(raw, wh) == 0
    once = exports_of(t for t in served if t is not twin)
    assert query(wh, YEAR_EXPORTS) == [(once,)]
    assert once < exports_of(served)  # what adding both would have given


def test_a_same_day_republication_supersedes_the_first_version(site, tmp_path):
    """The same statInfId with a new release count and new figures, the same day."""
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    assert fetch(site, raw, years="2024") == 0
    assert build(raw, wh) == 0
    table = machinery_table(site)
    before = exports_of(site.tables())
    lines = table.body.decode().splitlines(keepends=True)
    header = lines[0].split(",")
    cells = lines[1].split(",")
    for name in ("Value-Jan", "Value-Year"):  # 1,000 thousand yen more in January
        at = header.index(name)
        cells[at] = str(int(cells[at]) + 1000)
    table.body = "".join([lines[0], ",".join(cells), *lines[2:]]).encode()
    table.release_count += 1
    assert fetch(site, raw, years="2024") == 0
    assert folders(raw) == ["2025-03-10_revised", "2025-03-10_revised-r2"]
    (entry,) = manifest.read(raw / "2025-03-10_revised-r2")["files"]
    assert (entry["stat_inf_id"], entry["release_count"]) == (table.stat_inf_id, 2)
    assert entry["supersedes"].startswith("2025-03-10_revised/")
    assert build(raw, wh) == 0
    assert query(wh, YEAR_EXPORTS) == [(before + 1_000_000,)]
    # Both versions are kept: as published on the day, the revision in marts.revisions.
    assert query(wh, "select count(distinct release_id) from core.trade_facts") == [(2,)]
    assert fetch(site, raw, years="2024") == 0  # nothing new
    assert folders(raw) == ["2025-03-10_revised", "2025-03-10_revised-r2"]


def test_a_manifest_entry_without_its_statinfid_stops_the_fetch(site, tmp_path, capsys):
    raw = tmp_path / "raw"
    assert fetch(site, raw, years="2024") == 0
    path = raw / "2025-03-10_revised" / manifest.MANIFEST_NAME
    data = json.loads(path.read_text())
    data["files"][0]["stat_inf_id"] = None
    path.write_text(json.dumps(data))
    listing = sorted(p.name for p in path.parent.iterdir())
    capsys.readouterr()
    assert fetch(site, raw, years="2024") == 2
    err = capsys.readouterr().err
    assert str(path) in err and data["files"][0]["file_name"] in err, err
    assert "stat_inf_id" in err and len(err.strip().splitlines()) == 2, err  # the plan, the error
    assert sorted(p.name for p in path.parent.iterdir()) == listing  # nothing fetched again


# --- hand-made damage ----------------------------------------------------------------------------

def rows(values: dict[int, int], hs: str = "870323915", import_hs: str = "270900000") -> str:
    return csv_text([row(1, 2024, hs, "304", values), row(2, 2024, import_hs, "137", {1: 40})])


def test_two_files_of_one_release_reporting_the_same_cells_are_refused(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_release(raw, "2024-02-20_preliminary", {"a.csv": rows({1: 100})})
    assert build(raw, wh) == 0
    published = query(wh, YEAR_EXPORTS)
    write_release(raw, "2024-03-21_preliminary", {
        "a.csv": rows({1: 110, 2: 90}), "a (1).csv": rows({1: 110, 2: 90}),  # a copy, by hand
        "b.csv": rows({1: 110}, hs="030617000", import_hs="271111000")})
    out = subprocess.run([sys.executable, "-m", "trade_etl", "build", "--raw-dir", str(raw),
                          "--warehouse", str(wh), "--quiet"], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 1, out.stderr
    assert ("files_do_not_overlap" in out.stderr and "2024-03-21_preliminary/a (1).csv and "
            "2024-03-21_preliminary/a.csv report the same 3 cell(s)" in out.stderr), out.stderr
    assert "b.csv" not in out.stderr.split("files_do_not_overlap")[1].split(")")[0]
    assert query(wh, YEAR_EXPORTS) == published  # the published warehouse is unchanged
    (raw / "2024-03-21_preliminary" / "a (1).csv").unlink()
    assert build(raw, wh) == 4  # the refused build staged the copy: removing it is said aloud
    assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(wh), "--quiet",
                     "--prune"]) == 0
    assert query(wh, YEAR_EXPORTS) == [(310_000,)]  # March: a.csv once (110 + 90), b.csv 110


@pytest.mark.parametrize("folder, says", [
    ("2099-01-01_preliminary", "release date 2099-01-01 is in the future"),
    ("1987-06-01_fixed", "release date 1987-06-01 is before 1988"),
])
def test_release_dates_that_make_no_sense_are_refused(tmp_path, capsys, folder, says):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_release(raw, "2024-02-20_preliminary", {"a.csv": rows({1: 100})})
    write_release(raw, folder, {"a.csv": rows({1: 999})})
    capsys.readouterr()
    assert build(raw, wh) == 1
    err = capsys.readouterr().err
    assert says in err and "--allow-dates" in err, err
    assert query(wh, YEAR_EXPORTS) == [(100_000,)]  # the sensible release only
    assert query(wh, "select status from audit.releases where release_id = ?", [folder]) == [
        ("error",)]
    assert cli.main(["build", "--raw-dir", str(raw), "--warehouse", str(wh), "--quiet",
                     "--allow-dates"]) == 0
    latest = 999_000 if folder.startswith("2099") else 100_000
    assert query(wh, YEAR_EXPORTS) == [(latest,)]


def fetched_folder(raw: Path) -> Path:
    """A release folder with a manifest as the fetcher writes it, for one hand-made file."""
    import hashlib

    body = rows({1: 100}).encode()
    folder = write_release(raw, "2024-02-20_preliminary", {"a.csv": body})
    (folder / manifest.MANIFEST_NAME).write_text(json.dumps({"files": [{
        "file_name": "a.csv", "stat_inf_id": "000040200001", "release_count": 1,
        "flow": "export", "year": 2024, "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "months": [{"month": 1, "stage": "preliminary"}]}]}))
    return folder


def test_an_edited_manifest_gives_every_build_the_same_answer(tmp_path, capsys):
    raw = tmp_path / "raw"
    folder = fetched_folder(raw)
    wh = tmp_path / "wh.duckdb"
    assert build(raw, wh) == 0
    path = folder / manifest.MANIFEST_NAME
    data = json.loads(path.read_text())
    data["files"][0]["sha256"] = "0" * 64
    path.write_text(json.dumps(data))
    codes = [build(raw, wh), build(raw, wh, force=True), build(raw, tmp_path / "clean.duckdb")]
    assert codes == [1, 1, 1]
    sql = "select status, error like '%differs from its .manifest.json%' from audit.releases"
    assert query(wh, sql) == query(tmp_path / "clean.duckdb", sql) == [("error", True)]
    assert query(wh, YEAR_EXPORTS) == query(tmp_path / "clean.duckdb", YEAR_EXPORTS)
    data["files"][0]["sha256"] = json.loads(path.read_text())["files"][0]["sha256"]
    path.write_text(json.dumps({"files": [{**data["files"][0], "sha256": None}]}))
    assert build(raw, wh) == 0  # no sha256 to check: loaded again, incrementally
    assert query(wh, YEAR_EXPORTS) == [(100_000,)]


@pytest.mark.parametrize("damage, says", [
    ({"months": [{"month": 13, "stage": "preliminary"}]}, "month"),
    ({"months": [{"month": -1, "stage": "preliminary"}]}, "month"),
    ({"file_name": "../../../../etc/passwd"}, "file_name"),
    ({"stat_inf_id": "12; drop"}, "stat_inf_id"),
    ({"release_count": 0}, "release_count"),
])
def test_a_damaged_manifest_is_named_by_fetch_and_build(tmp_path, capsys, damage, says):
    raw, wh = tmp_path / "raw", tmp_path / "wh.duckdb"
    folder = fetched_folder(raw)
    path = folder / manifest.MANIFEST_NAME
    data = json.loads(path.read_text())
    data["files"][0].update(damage)
    path.write_text(json.dumps(data))
    with FakeEstat() as fake:
        capsys.readouterr()
        assert fetch(fake, raw, years="2024") == 2
    err = capsys.readouterr().err
    assert f"{path}: entry 1" in err and says in err, err
    assert "/etc/passwd" not in err.replace("../../../../etc/passwd", "")
    assert build(raw, wh) == 0  # the files load; the manifest is reported and not used
    err = capsys.readouterr().err
    assert str(path) in err and says in err, err
    assert query(wh, YEAR_EXPORTS) == [(100_000,)]


def test_a_manifest_linked_to_an_endless_device_is_refused_at_once(tmp_path, capsys):
    raw = tmp_path / "raw"
    folder = fetched_folder(raw)
    path = folder / manifest.MANIFEST_NAME
    path.unlink()
    os.symlink("/dev/zero", path)
    with FakeEstat() as fake:
        capsys.readouterr()
        assert fetch(fake, raw, years="2024") == 2
    err = capsys.readouterr().err
    assert "a symbolic link to /dev/zero, outside the raw folder" in err, err
    big = folder / "big.json"
    with big.open("wb") as handle:
        handle.truncate(manifest.MAX_MANIFEST_BYTES + 1)  # sparse: no disk used
    path.unlink()
    os.symlink(big.name, path)  # a link inside the folder, to a file over the cap
    with pytest.raises(manifest.ManifestError, match="more than a manifest's cap"):
        manifest.read(folder)
