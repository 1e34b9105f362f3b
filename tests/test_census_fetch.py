"""`trade-etl fetch --reporter USA`: the US Census Bureau's monthly trade by HS code and partner
into dated release folders, over real HTTP against tests/census_site.py."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.census_site import FakeCensus
from trade_etl.app import cli
from trade_etl.fetch import census as census_fetch
from trade_etl.fetch.http import PoliteClient
from trade_etl.formats import census, manifest
from trade_etl.formats.census import AnswerError, parse_answer

REPO = Path(__file__).resolve().parent.parent
JAPAN, CHINA = "5880", "5700"
CARS, PARTS, CHIPS = "8703230190", "8708990000", "8542310000"
MONTHS_HELD = (1, 2, 3)


def publish(site: FakeCensus, months=MONTHS_HELD, year: int = 2024, cty: str = JAPAN) -> None:
    for month in months:
        site.add("exports", cty, CHIPS, year, month, 1_000_000 + month)
        site.add("exports", cty, PARTS, year, month, 2_000_000 + month)
        site.add("imports", cty, CARS, year, month, 40_000_000 + month)
        site.add("imports", cty, PARTS, year, month, 3_000_000 + month)


@pytest.fixture
def site(monkeypatch):
    monkeypatch.setenv("TRADE_ETL_FETCH_BACKOFF", "0.01")
    monkeypatch.setenv("TRADE_ETL_FETCH_ATTEMPTS", "3")
    with FakeCensus() as fake:
        publish(fake)
        yield fake


def fetch(raw: Path, base_url: str, *extra: str, years: str = "2024") -> int:
    args = ["fetch", "--reporter", "USA", "--raw-dir", str(raw), "--base-url", base_url,
            "--pause", "0", *(["--years", years] if years else []), *extra]
    return cli.main(args)


def files(raw: Path) -> dict[str, bytes]:
    """Every file under the raw folder (hidden ones too, the fetch's lock left out)."""
    return {p.relative_to(raw).as_posix(): p.read_bytes() for p in sorted(raw.rglob("*"))
            if p.is_file() and p.name != census_fetch.LOCK_NAME}


def folders(raw: Path) -> list[str]:
    usa = raw / "USA"
    return sorted(p.name for p in usa.iterdir()) if usa.is_dir() else []


def stamps(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def expected_files(months=MONTHS_HELD, year: int = 2024) -> list[str]:
    return sorted(census.file_name(flow, year, m) for flow in ("exports", "imports")
                  for m in months)


def data_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def rows_of(path: Path, flow: str) -> list[tuple[str, ...]]:
    return sorted(parse_answer(path.read_bytes(), census.FLOWS[flow]).rows)


# --- the first fetch, then nothing new ---------------------------------------------------------

def test_first_fetch_writes_a_monthly_release_then_nothing_when_unchanged(tmp_path, site,
                                                                          capsys):
    raw = tmp_path / "raw"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRADE_ETL_FETCH_BACKOFF": "0.01"}
    done = subprocess.run(
        [sys.executable, "-m", "trade_etl", "fetch", "--reporter", "usa", "--raw-dir", str(raw),
         "--base-url", site.base_url, "--years", "2024", "--pause", "0",
         "--release-date", "2024-04-10"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "wrote USA/2024-04-10_monthly: 6 files, 12 rows, stage monthly" in done.stdout
    assert "exports 2024-01: HTTP 200, 2 rows" in done.stderr
    assert "imports 2024-12: HTTP 204, nothing published" in done.stderr

    # One request per flow and month, as the API is asked.
    assert len(site.requests) == 24
    first = site.requests[0]
    assert (first.flow, first.values("get"), first.values("CTY_CODE")) == (
        "exports", [",".join(census.EXPORTS.variables)], [JAPAN])
    assert (first.values("COMM_LVL"), first.values("YEAR"), first.values("MONTH")) == (
        ["HS10"], ["2024"], ["01"])
    assert {s.flow for s in site.requests[12:]} == {"imports"}

    folder = raw / "USA" / "2024-04-10_monthly"
    assert folders(raw) == ["2024-04-10_monthly"]
    assert sorted(p.name for p in folder.iterdir()) == [".manifest.json", *expected_files()]
    # Every answer as received: the header with the predicates appended, CTY_CODE twice.
    answer = parse_answer((folder / "imports_2024-02.json").read_bytes(), census.IMPORTS)
    assert answer.header == (*census.IMPORTS.variables, "CTY_CODE", "COMM_LVL", "YEAR",
                             "MONTH")
    assert sorted(answer.rows) == [
        (JAPAN, "JAPAN", CARS, f"GOODS {CARS}", "40000002", "39200002", JAPAN, "HS10", "2024",
         "02"),
        (JAPAN, "JAPAN", PARTS, f"GOODS {PARTS}", "3000002", "2940002", JAPAN, "HS10", "2024",
         "02")]
    assert (folder / "imports_2024-02.json").read_bytes().count(b"\n") == 2  # a row a line

    # The manifest: what the build can check each file against.
    data = json.loads((folder / ".manifest.json").read_text())
    assert manifest.read(folder)["files"]  # valid by the project's manifest rules too
    assert (data["release_id"], data["stage"], data["partners"], data["years"]) == (
        "USA/2024-04-10_monthly", "monthly", ["JPN"], [2024])
    assert data["base_url"] == site.base_url and data["previous_release"] is None
    assert sorted(f["file_name"] for f in data["files"]) == expected_files()
    for entry in data["files"]:
        body = (folder / entry["file_name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["bytes"] == len(body) and entry["rows"] == 2
        assert entry["url"].startswith(f"{site.base_url}/data/timeseries/intltrade/")
        assert entry["commodity_level"] == "HS10" and entry["fetched_at"].endswith("+00:00")
    assert len(data["not_published"]) == 18

    # The same figures again: nothing written, whatever the date.
    before = files(raw)
    assert fetch(raw, site.base_url, "--release-date", "2024-04-20") == 0
    out = capsys.readouterr().out
    assert "USA figures unchanged since USA/2024-04-10_monthly" in out
    assert files(raw) == before


# --- new months, the June revision, dates ------------------------------------------------------

def test_new_month_is_monthly_and_a_june_revision_is_revised(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    assert fetch(raw, site.base_url, "--release-date", "2024-04-10") == 0
    first = raw / "USA" / "2024-04-10_monthly"
    kept = stamps(first)

    publish(site, months=[4])  # April comes out
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 0
    assert "wrote USA/2024-05-08_monthly: 8 files" in capsys.readouterr().out
    second = raw / "USA" / "2024-05-08_monthly"
    assert data_files(second) == expected_files([1, 2, 3, 4])
    assert json.loads((second / ".manifest.json").read_text())["previous_release"] == (
        "USA/2024-04-10_monthly")

    # The annual revision in June changes January-March; April stays.
    site.revise(2024, lambda row: row.value + 500 if row.month < 4 else row.value)
    assert fetch(raw, site.base_url, "--release-date", "2024-06-06") == 0
    out = capsys.readouterr().out
    assert "wrote USA/2024-06-06_revised: 8 files, 16 rows, stage revised" in out
    assert "figures changed since USA/2024-05-08_monthly: exports 2024-01" in out
    revised = raw / "USA" / "2024-06-06_revised"
    data = json.loads((revised / ".manifest.json").read_text())
    assert data["stage"] == "revised"
    assert data["changed_since_previous"] == expected_files([1, 2, 3])
    assert ("5880", "JAPAN", CHIPS, f"GOODS {CHIPS}", "1000501", JAPAN, "HS10", "2024",
            "01") in rows_of(revised / "exports_2024-01.json", "exports")
    # The earlier releases are kept exactly as they were.
    assert folders(raw) == ["2024-04-10_monthly", "2024-05-08_monthly", "2024-06-06_revised"]
    assert stamps(first) == kept
    assert ("5880", "JAPAN", CHIPS, f"GOODS {CHIPS}", "1000001", JAPAN, "HS10", "2024",
            "01") in rows_of(first / "exports_2024-01.json", "exports")


def test_rows_in_another_order_or_reworded_are_not_a_revision(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    assert fetch(raw, site.base_url, "--release-date", "2024-04-10") == 0
    site.rows.reverse()  # the same figures, other bytes
    for row in site.rows:
        row.description = row.description.lower()
    publish(site, months=[4])
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 0
    assert "stage monthly" in capsys.readouterr().out
    assert folders(raw) == ["2024-04-10_monthly", "2024-05-08_monthly"]


def test_same_date_twice_is_r2_and_keeps_the_builds_order(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 0
    publish(site, months=[4])
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 0
    assert folders(raw) == ["2024-05-08_monthly", "2024-05-08_monthly-r2"]
    site.revise(2024, lambda row: row.value * 2)
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 0
    # A monthly release after a revised one of the same date would be ordered before it by
    # builds (by stage): it is written as revised, after it.
    publish(site, months=[5])
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 0
    assert "written as revised too" in capsys.readouterr().err
    assert folders(raw) == ["2024-05-08_monthly", "2024-05-08_monthly-r2",
                            "2024-05-08_revised", "2024-05-08_revised-r2"]


def test_a_release_date_before_the_newest_is_refused(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 0
    publish(site, months=[4])
    asked = len(site.requests)
    assert fetch(raw, site.base_url, "--release-date", "2024-05-07") == 2
    assert "is before the newest USA release USA/2024-05-08_monthly" in capsys.readouterr().err
    assert len(site.requests) == asked and folders(raw) == ["2024-05-08_monthly"]


# --- the server's ways ----------------------------------------------------------------------

def test_429_and_503_are_retried(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    site.fail(429, flow="exports", month=2)
    site.fail(503, flow="imports", month=3, times=2)
    started = time.monotonic()
    assert fetch(raw, site.base_url, "--release-date", "2024-04-10") == 0
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    err = capsys.readouterr().err
    assert "retrying" in err and "HTTP 429" in err and "HTTP 503" in err
    statuses = [(s.flow, s.values("MONTH")[0], s.status) for s in site.requests]
    assert statuses[1:3] == [("exports", "02", 429), ("exports", "02", 200)]
    assert [s for f, m, s in statuses if (f, m) == ("imports", "03")] == [503, 503, 200]
    assert data_files(raw / "USA" / "2024-04-10_monthly") == expected_files()


def test_compact_answers_and_several_partners(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    site.compact = True
    publish(site, months=[1], cty=CHINA)
    assert fetch(raw, site.base_url, "--partners", "jpn, CHN", "--release-date",
                 "2024-04-10") == 0
    assert site.requests[0].values("CTY_CODE") == [JAPAN, CHINA]
    folder = raw / "USA" / "2024-04-10_monthly"
    body = (folder / "exports_2024-01.json").read_bytes()
    assert b"\n" not in body
    assert {row[0] for row in rows_of(folder / "exports_2024-01.json", "exports")} == {
        JAPAN, CHINA}
    data = json.loads((folder / ".manifest.json").read_text())
    assert (data["partners"], data["census_codes"]) == (["JPN", "CHN"], [JAPAN, CHINA])


def test_a_server_without_comm_lvl_is_asked_without_it(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    site.reject_comm_lvl = True
    assert fetch(raw, site.base_url, "--release-date", "2024-04-10") == 0
    captured = capsys.readouterr()
    assert "the server does not know COMM_LVL" in captured.err
    assert "unknown predicate variable: 'COMM_LVL'" in captured.err
    assert "answers hold every commodity level" in captured.out
    assert [s.status for s in site.requests[:2]] == [400, 200]
    assert site.requests[0].values("COMM_LVL") == ["HS10"]
    assert all(not s.values("COMM_LVL") for s in site.requests[1:])
    assert len(site.requests) == 25  # the refused one asked again, once
    folder = raw / "USA" / "2024-04-10_monthly"
    codes = {row[2] for row in rows_of(folder / "exports_2024-01.json", "exports")}
    assert codes == {"85", "87", "8542", "8708", "854231", "870899", CHIPS, PARTS}
    data = json.loads((folder / ".manifest.json").read_text())
    assert {f["commodity_level"] for f in data["files"]} == {None}
    # The same HS10 figures at every level are no revision.
    site.reject_comm_lvl = False
    publish(site, months=[4])
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 0
    assert "stage monthly" in capsys.readouterr().out


def ragged(table):
    table[2] = table[2][:5]
    return table


def missing_variable(table):
    drop = table[0].index("I_COMMODITY_SDESC")
    return [row[:drop] + row[drop + 1:] for row in table]


def number_value(table):
    table[1][4] = 3000002
    return table


@pytest.mark.parametrize("fault, reason", [
    (b'[["CTY_CODE","CTY_NAME"],\n["5880"', "not valid JSON (line 2"),
    (ragged, "row 2 has 5 values, the header 10"),
    (missing_variable, "the header lacks I_COMMODITY_SDESC"),
    (number_value, "row 1 value 5 (GEN_VAL_MO) is not a string: 3000002"),
    (b'{"error": "busy"}', "not a JSON array of arrays (a dict)"),
])
def test_a_malformed_answer_writes_nothing(tmp_path, site, capsys, fault, reason):
    raw = tmp_path / "raw"
    site.fail(fault, flow="imports", month=2)  # after eleven good answers
    assert fetch(raw, site.base_url, "--release-date", "2024-04-10") == 2
    err = capsys.readouterr().err
    assert "not what the Census API publishes, nothing was written" in err
    assert f"{site.base_url}/data/timeseries/intltrade/imports/hs?get=" in err
    assert "MONTH=02: " + reason in err
    assert files(raw) == {} and not (raw / "USA").exists()
    assert len(site.requests) == 14  # stopped at the malformed one


def test_a_malformed_answer_keeps_the_releases_held_untouched(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    assert fetch(raw, site.base_url, "--release-date", "2024-04-10") == 0
    before = files(raw)
    publish(site, months=[4])
    site.fail(ragged, flow="exports", month=4)
    assert fetch(raw, site.base_url, "--release-date", "2024-05-08") == 2
    assert files(raw) == before  # no new folder, no temporary one left
    assert sorted(p.name for p in (raw / "USA").iterdir()) == ["2024-04-10_monthly"]


def test_a_server_that_keeps_failing_writes_nothing(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    site.fail(500, flow="imports", month=1, times=10)
    assert fetch(raw, site.base_url, "--release-date", "2024-04-10") == 1
    err = capsys.readouterr().err
    assert "imports/hs?get=" in err and "failed after 3 attempts (last: HTTP 500)" in err
    assert "nothing was written" in err
    assert files(raw) == {} and not (raw / "USA").exists()


def test_a_server_down_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRADE_ETL_FETCH_BACKOFF", "0.01")
    monkeypatch.setenv("TRADE_ETL_FETCH_ATTEMPTS", "2")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    raw = tmp_path / "raw"
    assert fetch(raw, f"http://127.0.0.1:{port}", "--deadline", "5") == 1
    err = capsys.readouterr().err
    assert f"http://127.0.0.1:{port}/data/timeseries/intltrade/exports/hs?get=" in err
    assert "failed after 2 attempts (last: ConnectError" in err
    assert files(raw) == {} and not (raw / "USA").exists()


def test_another_400_fails_naming_what_the_server_said(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    site.fail((400, b"error: invalid 'MONTH' value\n"), flow="imports", month=5)
    assert fetch(raw, site.base_url) == 1
    err = capsys.readouterr().err
    assert "MONTH=05: HTTP 400 (error: invalid 'MONTH' value)" in err
    assert "does not know COMM_LVL" not in err  # not asked again without it
    assert [s.status for s in site.requests if s.values("MONTH") == ["05"]] == [204, 400]
    assert files(raw) == {} and not (raw / "USA").exists()


# --- what the user gives --------------------------------------------------------------------

@pytest.mark.parametrize("extra, message", [
    (["--partners", "JPN,XYZ"], "'XYZ' is not an ISO 3166-1 alpha-3 code of a Census country"),
    (["--partners", "USA"], "the United States is the reporter"),
    (["--flows", "export"], "--reporter USA fetches both flows"),
    (["--fx"], "takes no --fx"),
    (["--release-date", "2024-13-01"], "--release-date must be a date YYYY-MM-DD"),
    (["--release-date", "2999-01-01"], "is in the future"),
    (["--years", "2099"], "no month up to"),
    (["--pause", "-1"], "--pause must be 0-60 seconds"),
])
def test_usage_errors_ask_nothing(tmp_path, site, capsys, extra, message):
    raw = tmp_path / "raw"
    assert fetch(raw, site.base_url, *extra) == 2
    assert message in capsys.readouterr().err
    assert site.requests == [] and not raw.exists()


@pytest.mark.parametrize("extra", [["--partners", "CHN"], ["--release-date", "2024-04-10"]])
def test_usa_options_without_reporter_usa_are_refused(tmp_path, capsys, extra):
    assert cli.main(["fetch", "--raw-dir", str(tmp_path / "raw"), *extra]) == 2
    assert "to --reporter USA only" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()


def test_dry_run_lists_the_requests_and_asks_nothing(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    assert fetch(raw, site.base_url, "--dry-run", "--partners", "JPN,DEU") == 0
    captured = capsys.readouterr()
    assert "dry run: 24 requests" in captured.out
    assert (f"would ask imports 2024-12: {site.base_url}/data/timeseries/intltrade/imports/hs?"
            "get=CTY_CODE,CTY_NAME,I_COMMODITY,I_COMMODITY_SDESC,GEN_VAL_MO,CON_VAL_MO&"
            "CTY_CODE=5880&CTY_CODE=4280&COMM_LVL=HS10&YEAR=2024&MONTH=12") in captured.err
    assert site.requests == [] and not raw.exists()


def test_default_years_stop_at_this_month(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    site.rows.clear()  # nothing published for these years: every answer a 204
    assert fetch(raw, site.base_url, years="") == 0
    assert "nothing published for the" in capsys.readouterr().out
    today = census_fetch.today_utc()
    asked = {(s.flow, int(s.values("YEAR")[0]), int(s.values("MONTH")[0]))
             for s in site.requests}
    months = [(today.year - 1, m) for m in range(1, 13)] + [
        (today.year, m) for m in range(1, today.month + 1)]
    assert asked == {(flow, y, m) for flow in ("exports", "imports") for y, m in months}
    assert len(site.requests) == len(asked)
    assert files(raw) == {} and not (raw / "USA").exists()


def test_another_fetch_running_is_busy(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    with (raw / census_fetch.LOCK_NAME).open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert fetch(raw, site.base_url) == 3
    assert "another trade-etl fetch --reporter USA is writing" in capsys.readouterr().err
    assert site.requests == []


def test_what_a_killed_fetch_left_is_removed(tmp_path, site, capsys):
    raw = tmp_path / "raw"
    left = raw / "USA" / ".tmp-99999-deadbeef"
    left.mkdir(parents=True)
    (left / "exports_2024-01.json").write_bytes(b'[["CTY_CODE"')
    assert fetch(raw, site.base_url, "--release-date", "2024-04-10") == 0
    assert "removed 1 temporary folder" in capsys.readouterr().err
    assert sorted(p.name for p in (raw / "USA").iterdir()) == ["2024-04-10_monthly"]


def test_the_client_is_the_polite_clients_with_a_hook():
    manners = census_fetch.Manners(connect_timeout_s=3, read_timeout_s=7)
    with PoliteClient(manners) as polite, census_fetch._Client(manners, print) as ours:
        theirs, mine = polite._client, ours._client
        assert (mine.timeout, mine.follow_redirects, mine.headers["User-Agent"]) == (
            theirs.timeout, theirs.follow_redirects, theirs.headers["User-Agent"])
        assert theirs.event_hooks["response"] == [] and mine.event_hooks["response"]


# --- the answer's rules -----------------------------------------------------------------------

def test_parse_answer_takes_the_api_shapes_and_refuses_the_rest():
    header = [*census.EXPORTS.variables, "CTY_CODE", "YEAR", "MONTH"]
    row = ["5880", "JAPAN", CHIPS, "CHIPS", "12", "5880", "2024", "01"]
    lines = ("[" + json.dumps(header) + ",\n" + json.dumps(row) + "]").encode()
    assert parse_answer(lines, census.EXPORTS) == parse_answer(
        json.dumps([header, row]).encode(), census.EXPORTS)
    assert parse_answer(json.dumps([header]).encode(), census.EXPORTS).rows == ()
    for body, reason in [
            (b"", "an empty body"), (b"\xff[]", "not UTF-8"), (b"[]", "no header row"),
            (json.dumps([header, "x"]).encode(), "row 1 is not an array"),
            (json.dumps([[1, 2]]).encode(), "not an array of strings"),
            (json.dumps([header, [*row, "x"]]).encode(), "row 1 has 9 values, the header 8"),
            (json.dumps([header, [*row[:-1], None]]).encode(), "(MONTH) is not a string")]:
        with pytest.raises(AnswerError, match=reason.replace("(", r"\(").replace(")", r"\)")):
            parse_answer(body, census.EXPORTS)


def test_figures_are_a_multiset_of_the_finest_codes():
    header = list(census.EXPORTS.variables)
    a = [header, ["5880", "JAPAN", CHIPS, "X", "1"], ["5880", "JAPAN", PARTS, "Y", "2"]]
    b = [header, ["5880", "Japan", PARTS, "y", "2"], ["5880", "JAPAN", CHIPS, "x", "1"],
         ["5880", "JAPAN", "85", "ELECTRICAL", "1"]]
    c = [header, ["5880", "JAPAN", CHIPS, "X", "1"], ["5880", "JAPAN", CHIPS, "X", "1"]]

    def digest(table):
        return census.figures_digest(parse_answer(json.dumps(table).encode(), census.EXPORTS),
                                     census.EXPORTS)

    assert digest(a) == digest(b)
    assert digest(a) != digest(c)
    assert digest(a) != digest([header, *a[1:2], ["5880", "JAPAN", PARTS, "Y", "3"]])
