"""`trade-etl fetch` against a hostile local server (issue 21, the fault campaign).

Each test makes tests/estat_site.py misbehave in one way a broken or hostile server can (a
Content-Length that lies, bytes dripped for ever, redirect loops and redirects elsewhere,
broken gzip, huge pages, pages without end) and checks the fetcher's answer: the table or page
concerned fails with one line naming its URL, the others are fetched, nothing short is kept,
and the fetch ends within its deadlines. Timing tests run `trade-etl fetch` as a subprocess
with a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.estat_site import FakeEstat
from tests.test_fetch import expected_name, publish, release_folders
from trade_etl.app import cli
from trade_etl.fetch import fetcher
from trade_etl.fetch.http import host_allowed, redirect_problem
from trade_etl.formats import manifest

REVISED = {"export": "Jan-Dec:Revised", "import": "Jan-Dec:Revised"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from trade_etl.sample import write_sample

    out = tmp_path_factory.mktemp("hostile") / "sample"
    write_sample(out, years=[2024], scale=0.1, bad_rows=False)
    return out


@pytest.fixture
def site(sample, monkeypatch):
    monkeypatch.setenv("TRADE_ETL_FETCH_BACKOFF", "0.05")
    monkeypatch.setenv("TRADE_ETL_FETCH_ATTEMPTS", "2")
    with FakeEstat(page_size=8) as fake:
        publish(fake, sample, "2025-03-10_revised", 2024, "2025-03-10", REVISED)
        yield fake


def fetch(site: FakeEstat, raw: Path, *extra: str, flows: str = "export") -> int:
    return cli.main(["fetch", "--base-url", site.base_url, "--raw-dir", str(raw),
                     "--years", "2024", "--flows", flows, "--pause", "0", *extra])


def run_fetch(site: FakeEstat, raw: Path, *extra: str, env: dict[str, str],
              flows: str = "export") -> tuple[subprocess.CompletedProcess, float]:
    """A real `trade-etl fetch` process; a hang fails the test at the timeout."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "trade_etl", "fetch", "--base-url", site.base_url,
         "--raw-dir", str(raw), "--years", "2024", "--flows", flows, "--pause", "0", *extra],
        cwd=REPO, env={**os.environ, "TRADE_ETL_FETCH_BACKOFF": "0.05",
                       "TRADE_ETL_FETCH_ATTEMPTS": "2", **env},
        capture_output=True, text=True, timeout=60)
    return proc, time.monotonic() - start


def failure(err: str, table) -> str:
    """The one line saying `table` failed; it names the download URL."""
    lines = [line for line in err.splitlines()
             if line.startswith("failed") and table.stat_inf_id in line]
    assert len(lines) == 1, err
    assert f"/stat-search/file-download?statInfId={table.stat_inf_id}&fileKind=1: " in lines[0]
    return lines[0]


def assert_only_failed(raw: Path, site: FakeEstat, failed: list, flow: str = "export") -> None:
    """The failed tables left nothing; every other table is whole where it belongs."""
    for table in site.tables(flow=flow):
        path = raw / expected_name(table)
        if table in failed:
            assert not path.exists()
        else:
            assert path.read_bytes() == table.body
    assert not list((raw / ".partial").iterdir())


def test_a_content_length_that_lies_keeps_nothing_short(site, tmp_path, capsys):
    raw = tmp_path / "raw"
    tables = site.tables(flow="export")
    once, short, late, long = tables[0], tables[1], tables[2], tables[3]
    site.fail(once.stat_inf_id, ("length", -7))  # the retry gets the whole file
    site.fail_always(short.stat_inf_id, ("length", -7))  # the excess in the same read
    site.fail_always(late.stat_inf_id, ("length", -7, 0.005))  # the excess a moment later
    site.fail_always(long.stat_inf_id, ("length", 100))  # fewer bytes than announced
    site.fail_page("export", 2024, ("length", -20))  # pages are checked the same way
    assert fetch(site, raw) == 1
    err = capsys.readouterr().err
    for table in (short, late):
        assert "more bytes than the" in failure(err, table)
        assert len(site.csv_requests(table.stat_inf_id)) == 2  # retried, then given up
    assert "failed after 2 attempts" in failure(err, long)
    assert len(site.csv_requests(once.stat_inf_id)) == 2
    assert_only_failed(raw, site, [short, late, long])


def test_a_body_dripped_slowly_ends_at_the_deadline(site, tmp_path):
    raw = tmp_path / "raw"
    slow = site.tables(flow="export")[2]
    site.fail_always(slow.stat_inf_id, ("drip", 10))  # a byte now and then: days for the file
    proc, elapsed = run_fetch(site, raw, "--deadline", "1.5", "--min-rate", "0", env={})
    assert proc.returncode == 1, proc.stderr
    line = failure(proc.stderr, slow)
    assert "no complete response within the deadline of 1.5 s" in line
    assert elapsed < 15  # two attempts of 1.5 s, and the rest (not two bytes' wait)
    assert len(site.csv_requests(slow.stat_inf_id)) == 2
    assert_only_failed(raw, site, [slow])


def test_a_body_below_the_minimum_rate_fails_after_the_grace(site, tmp_path):
    raw = tmp_path / "raw"
    slow = site.tables(flow="export")[4]
    site.fail_always(slow.stat_inf_id, ("drip", 0.01))  # ~100 bytes/s
    proc, elapsed = run_fetch(site, raw, "--min-rate", "1000",
                              env={"TRADE_ETL_FETCH_RATE_GRACE": "1"})
    assert proc.returncode == 1, proc.stderr
    assert "slower than the minimum rate of 1000 bytes/s" in failure(proc.stderr, slow)
    assert elapsed < 20
    assert_only_failed(raw, site, [slow])


def test_a_page_dripped_slowly_fails_that_page_only(site, tmp_path):
    raw = tmp_path / "raw"
    site.fail_always(("export", 2024), ("drip", 10))
    proc, elapsed = run_fetch(site, raw, flows="export,import",
                              env={"TRADE_ETL_FETCH_PAGE_DEADLINE": "1"})
    assert proc.returncode == 1, proc.stderr
    assert "failed   export 2024 year page: " in proc.stderr
    assert "year=20240" in proc.stderr and "within the deadline of 1 s" in proc.stderr
    assert "page failed: " in proc.stdout
    assert elapsed < 15
    imports = site.tables(flow="import")
    assert all((raw / expected_name(t)).read_bytes() == t.body for t in imports)
    assert not any(t.flow == "export" for t in imports)
    assert all(name.startswith("import_") for folder in release_folders(raw)
               for name in os.listdir(raw / folder) if not name.startswith("."))


def test_a_redirect_loop_or_broken_gzip_fails_that_table_only(site, tmp_path, capsys):
    raw = tmp_path / "raw"
    tables = site.tables(flow="export")
    loop, gzipped = tables[1], tables[5]
    site.fail_always(loop.stat_inf_id, "loop")
    site.fail_always(gzipped.stat_inf_id, "gzip")
    assert fetch(site, raw) == 1
    captured = capsys.readouterr()
    assert "more than 5 redirects" in failure(captured.err, loop)
    assert len(site.csv_requests(loop.stat_inf_id)) == 6  # 5 hops, no retry of a loop
    assert "DecodingError" in failure(captured.err, gzipped)
    assert "unexpected" not in captured.err and "Traceback" not in captured.err
    assert "2 failed" in captured.out
    assert_only_failed(raw, site, [loop, gzipped])


def test_a_cross_host_redirect_is_followed_only_when_allowed_and_recorded(
        site, tmp_path, monkeypatch, capsys):
    tables = site.tables(flow="export")
    away, near = tables[0], tables[1]
    with FakeEstat(host="127.0.0.2") as mirror:  # another loopback address: another host
        mirror_url = mirror.put("/mirror/table.csv", away.body)
        site.fail_always(away.stat_inf_id, ("redirect", mirror_url))
        site.fail_always(near.stat_inf_id, ("redirect", site.put("/moved.csv", near.body)))

        refused = tmp_path / "refused"
        assert fetch(site, refused) == 1
        line = failure(capsys.readouterr().err, away)
        assert f"redirect to {mirror_url} refused: host 127.0.0.2 is not allowed" in line
        assert mirror.requests == []
        assert_only_failed(refused, site, [away])

        monkeypatch.setenv("TRADE_ETL_FETCH_REDIRECT_HOSTS", "127.0.0.2")
        allowed = tmp_path / "allowed"
        assert fetch(site, allowed) == 0
        assert_only_failed(allowed, site, [])
    entries = {e["stat_inf_id"]: e for f in manifest.manifests(allowed)
               for e in manifest.read(f)["files"]}
    assert entries[away.stat_inf_id]["redirects"] == [mirror_url]
    assert "redirects" not in entries[near.stat_inf_id]  # the same host: nothing to record
    assert all(manifest.entry_problem(e) is None for e in entries.values())


def test_the_redirect_policy():
    hosts = ("e-stat.go.jp", "127.0.0.1")
    estat = "https://www.e-stat.go.jp/stat-search/file-download?statInfId=000040212345"
    assert redirect_problem(estat, "https://dl.e-stat.go.jp/files/x.csv", hosts) is None
    assert redirect_problem(estat, "https://www.e-stat.go.jp/other", ()) is None  # same host
    assert "from https down to plain http" in redirect_problem(
        estat, "http://www.e-stat.go.jp/x.csv", hosts)
    assert "host evil.example is not allowed" in redirect_problem(
        estat, "https://evil.example/x.csv", hosts)
    assert "not http(s)" in redirect_problem(estat, "ftp://www.e-stat.go.jp/x.csv", hosts)
    assert redirect_problem("http://127.0.0.1:8000/a", "https://www.e-stat.go.jp/b", hosts) \
        is None  # upgrading to https is fine
    assert host_allowed("WWW.E-Stat.go.jp.", hosts)
    assert not host_allowed("evil-e-stat.go.jp", hosts)
    assert not host_allowed("e-stat.go.jp.evil.example", hosts)


def test_a_huge_page_fails_at_the_cap_while_streaming(site, tmp_path, monkeypatch, capsys):
    raw = tmp_path / "raw"
    site.fail_page("export", 2024, ("huge", 50))  # 50 MB, no Content-Length
    monkeypatch.setenv("TRADE_ETL_FETCH_MAX_PAGE_MB", "1")
    start = time.monotonic()
    assert fetch(site, raw, flows="export,import") == 1
    assert time.monotonic() - start < 15
    captured = capsys.readouterr()
    assert "failed   export 2024 year page: " in captured.err
    assert "page larger than the cap of 1 MB (TRADE_ETL_FETCH_MAX_PAGE_MB)" in captured.err
    assert len([r for r in site.page_requests() if r.query.get("tclass2") == "000001013181"
                and "year" in r.query]) == 1  # a page over the cap is not tried again
    assert all((raw / expected_name(t)).is_file() for t in site.tables(flow="import"))


def test_endless_pagination_says_it_stopped(site, tmp_path, monkeypatch, capsys):
    raw = tmp_path / "raw"
    monkeypatch.setattr(fetcher, "MAX_PAGES", 4)  # three real pages of 8, then for ever
    assert len(site.tables(flow="export")) in range(17, 25)
    site.paginate_forever("export", 2024)
    assert fetch(site, raw) == 1
    captured = capsys.readouterr()
    assert "the export 2024 year page still showed new tables on page 4" in captured.err
    assert "page failed: " in captured.out and "year=20240" in captured.out
    assert all((raw / expected_name(t)).read_bytes() == t.body
               for t in site.tables(flow="export"))  # what was listed is still fetched


@pytest.mark.parametrize("name, value, says", [
    ("TRADE_ETL_FETCH_ATTEMPTS", "0", "from 1 to 20"),
    ("TRADE_ETL_FETCH_DEADLINE", "soon", "a number of seconds"),
    ("TRADE_ETL_FETCH_PAGE_DEADLINE", "0", "a number of seconds above 0"),
    ("TRADE_ETL_FETCH_MIN_RATE", "-5", "bytes per second"),
    ("TRADE_ETL_FETCH_MAX_PAGE_MB", "0", "megabytes"),
    ("TRADE_ETL_FETCH_REDIRECT_HOSTS", "http://x/", "host names"),
])
def test_bad_fetch_settings_are_one_line_errors(tmp_path, monkeypatch, capsys, name, value,
                                                says):
    monkeypatch.setenv(name, value)
    assert cli.main(["fetch", "--raw-dir", str(tmp_path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {name} must be") and says in err
    assert err.count("\n") == 1


def test_control_characters_from_the_server_are_escaped(site, tmp_path, capsys):
    """A title or a folder name with ESC (a terminal escape sequence) is shown escaped."""
    raw = tmp_path / "raw\x1b[2J"
    site.add_table("export", 2024, "Commodity by Country \x1b[2J(Export)\x07", "x,y\n1,2\n",
                   "2025-03-10", key="hostile title")
    assert fetch(site, raw) == 1  # the table's stage cannot be read: that table fails
    captured = capsys.readouterr()
    assert "\\x1b[2J(Export)\\x07" in captured.err + captured.out
    assert "raw\\x1b[2J" in captured.err
    assert "\x1b" not in captured.err + captured.out and "\x07" not in captured.err
