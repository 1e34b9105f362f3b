"""Bad input, end to end.

1. A campaign: every kind of broken release file we could think of, in one raw folder, loaded by
    one build; then case by case, what was loaded, what was quarantined (and why) and which files
    were recorded in error, plus global conservation (rows read = loaded + quarantined, values of
    the valid rows all arrive in core.trade_facts) and intact tables. Inputs that break the
    build are kept out of the campaign and pinned by their own strict xfail tests (known bugs).
2. Property-based tests: random valid rows, randomly corrupted line by line, checked against an
    independent per-line reference check written here (it does not use the project's parsing or
    validation code), first in process (read_table + validate), then through full builds.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import re
import time
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MONTHS, REPO, build, header, query, row, write_release
from trade_etl.ingest.raw_csv import read_table
from trade_etl.ingest.validation import validate

US, CN, KR = "304", "105", "103"
HS_CODES = ("870323915", "870324915", "271111000", "854231000", "300490000", "100630000")
BOM = b"\xef\xbb\xbf"
HEADER = header()
NAMES = HEADER.split(",")  # the 45 English column names, in the standard order
NUMERIC = NAMES[6:]
WIDTH = len(NAMES)
with (REPO / "data" / "ref" / "countries.csv").open(newline="", encoding="utf-8") as _handle:
    COUNTRY_CODES = tuple(r["country_code"] for r in csv.DictReader(_handle))
JA_HEADER = ",".join(
    ["輸出入", "年", "HS", "国", "単位1", "単位2", "数量1-年", "数量2-年", "金額-年"]
    + [f"{measure}-{m}月" for m in range(1, 13) for measure in ("数量1", "数量2", "金額")])


# --------------------------------------------------------------------------------------------
# The independent reference check (the oracle): plain Python, one line at a time.
# --------------------------------------------------------------------------------------------

def _integer(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None


def reference_line(line: str, header_line: str, codes: frozenset[str]
                   ) -> tuple[str | None, tuple | None, list[tuple]]:
    """Judge one non-blank data line of a standard-order file on its own.

    Returns (reason pattern or None, key, month cells). The pattern is a regex the project's
    quarantine reason must contain; cells are (flow, year, month, hs, country, quantity1,
    quantity2, value) for the non-zero months.
    """
    if line.strip() == header_line.strip():
        return r"^repeated header line$", None, []
    fields = next(csv.reader([line])) if '"' in line else line.split(",")
    if len(fields) != WIDTH:
        return rf"^expected {WIDTH} fields, found {len(fields)}$", None, []
    rec = dict(zip(NAMES, fields, strict=True))
    hs = rec["HS"].strip().strip("'").strip().upper()
    country = rec["Country"].strip()
    if (re.search(r"TOTAL|合計|小計|総計", hs + " " + country, re.IGNORECASE)
            or {hs, country.upper()} & {"計", "WORLD", "ALL", "世界"}
            or (hs == "") != (country == "")):
        return r"^subtotal row, not counted$", None, []
    flow, year = _integer(rec["Exp or Imp"]), _integer(rec["Year"])
    if flow not in (1, 2):
        return r"(^|; )Exp or Imp ", None, []
    if year is None or not 1950 <= year <= 2100:
        return r"(^|; )Year ", None, []
    # 9 digits, or a confidential code: 2 to 8 digits kept, the rest X
    if not (re.fullmatch(r"[0-9]{9}", hs) or re.fullmatch(r"[0-9]{2,8}X+", hs) and len(hs) == 9):
        return r"(^|; )HS is not a 9-digit code", None, []
    if country not in codes:
        return r"(^|; )Country is not a known customs country code", None, []
    numbers = {name: _integer(rec[name]) for name in NUMERIC}
    for name, number in numbers.items():
        if number is None:
            return rf"(^|; ){re.escape(name)} is not a non-negative integer", None, []
    for name, number in numbers.items():
        if name.startswith("Value-") and number > 10**12:
            return rf"(^|; ){re.escape(name)} is implausibly large", None, []
    cells = []
    for m in MONTHS:
        q1, q2, v = (numbers[f"{k}-{m}"] for k in ("Quantity1", "Quantity2", "Value"))
        if q1 or q2 or v:
            cells.append((flow, year, MONTHS.index(m) + 1, hs, country, q1, q2, v))
    return None, (flow, year, hs, country), cells


@dataclass
class Reference:
    rows_read: int = 0
    invalid: dict[int, str] = field(default_factory=dict)  # line number -> reason pattern
    lines: dict[int, str] = field(default_factory=dict)  # physical line number -> text
    cells: list[tuple] = field(default_factory=list)
    rows_loaded: int = 0

    @property
    def value(self) -> int:
        return sum(c[-1] for c in self.cells)


def reference(text: str, codes: frozenset[str]) -> Reference:
    """Which physical lines of a decoded standard-order file are valid, and what they hold."""
    lines = re.split(r"\r\n|\r|\n", text)
    out = Reference(lines={n: line for n, line in enumerate(lines, start=1)})
    first_of: dict[tuple, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        out.rows_read += 1
        reason, key, cells = reference_line(line, lines[0], codes)
        if reason is None and key in first_of:
            reason = rf"^duplicate of line {first_of[key]} \("
        if reason is not None:
            out.invalid[number] = reason
            continue
        first_of[key] = number
        out.rows_loaded += 1
        out.cells += cells
    return out


CODES = frozenset(COUNTRY_CODES)
REASON_KINDS = (("fields", "field count"), ("header", "repeated header"),
                ("duplicate", "duplicate"), ("implausibly", "too large"),
                ("non-negative", "not an integer"), ("", "flow/year/HS/country"))


def reason_kind(pattern: str) -> str:
    return next(label for word, label in REASON_KINDS if word in pattern)


def cells_of(line: str) -> list[tuple]:
    """Month cells of a line the campaign declares valid (asserts the oracle agrees)."""
    reason, _, cells = reference_line(line, HEADER, CODES)
    assert reason is None, (line, reason)
    return cells


# --------------------------------------------------------------------------------------------
# 1. The campaign: one raw folder, one build.
# --------------------------------------------------------------------------------------------

def good(i: int, months: dict[int, int] | None = None, **kw) -> str:
    """A valid row with a distinct (HS, country) key per `i`."""
    hs = kw.pop("hs", HS_CODES[i % len(HS_CODES)])
    country = kw.pop("country", (US, CN, KR)[i // len(HS_CODES) % 3])
    return row(kw.pop("flow", 1), kw.pop("year", 2024), hs, country,
               months if months is not None else {1: 100 * (i + 1) + 1, 4: 10 * (i + 1)}, **kw)


def set_cell(line: str, column: str, text: str) -> str:
    cells = line.split(",")
    cells[NAMES.index(column)] = text
    return ",".join(cells)


def lines_text(*lines: str, end: str = "\n") -> str:
    return end.join([HEADER, *lines]) + end


@dataclass
class Expect:
    status: str = "loaded"
    error: str | None = None  # a substring of audit.releases.error
    good: list[str] = field(default_factory=list)  # the rows that must load (standard order)
    bad: dict[int, str] = field(default_factory=dict)  # line number -> reason substring
    encoding: str | None = None

    @property
    def cells(self) -> list[tuple]:
        return sorted(c for line in self.good for c in cells_of(line))


class Campaign:
    def __init__(self, raw: Path) -> None:
        self.raw = raw
        self.expect: dict[tuple[str, str], Expect] = {}
        self.cases: list[str] = []

    def add(self, case: str, release: str, name: str, content: str | bytes | None,
            expect: Expect) -> None:
        if content is not None:
            write_release(self.raw, release, {name: content})
        self.expect[(release, name)] = expect
        self.cases.append(case)

    def archive(self, case: str, release: str, name: str, members: dict[str, bytes | str],
                expect: dict[str, Expect]) -> None:
        """A zip file: one expectation per member (audit file name `<zip>/<member>`)."""
        write_release(self.raw, release, {name: zip_bytes(members)})
        self.expect.update({(release, f"{name}/{member}"): e for member, e in expect.items()})
        self.cases.append(case)


def zip_bytes(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# R_FILES and R_NAMES are month prefixes: one release a day, a file a release.
R_FILES, R_ZIPS, R_NAMES = "2024-03", "2024-02-10_detailed", "2024-07-"
R_REORDERED = "2024-01-11_preliminary"
R_ODD_STAGE = "2024-06-04_Robert-DROP-TABLE-students--"
R_SQL_FOLDER = "2024-06-05_x'; drop table audit.releases; --"
R_BAD_DATE = "2024-13-45_preliminary"


def write_campaign(raw: Path, outside: Path) -> Campaign:
    c = Campaign(raw)
    # One release per damaged file: the files of one release must not report the same cells
    # (the build refuses such a release), and these reuse good(0), good(1), ...
    r = iter(f"{R_FILES}-{day:02d}_preliminary" for day in range(1, 29))

    c.add("empty file", next(r), "empty.csv", b"", Expect("error", "empty file"))
    c.add("whitespace only", next(r), "blank.csv", b"\n \r\n\t\n", Expect("error", "empty file"))
    c.add("header only", next(r), "header_only.csv", HEADER + "\n", Expect())
    garbage = bytes(random.Random(1).randrange(256) for _ in range(4096)) + b"\x00"
    c.add("binary garbage", next(r), "garbage.csv", garbage, Expect("error", "binary content"))
    c.add("undecodable", next(r), "undecodable.csv", HEADER.encode() + b"\n\x81\x20\x81\x20\n",
          Expect("error", "neither UTF-8 nor CP932"))
    c.add("BOM but not UTF-8", next(r), "bad_bom.csv", BOM + b"\xff\xfe\xfd" + HEADER.encode(),
          Expect("error", "starts with a UTF-8 BOM but is not valid UTF-8"))
    c.add("wrong header", next(r), "wrong_header.csv", "date,amount\n2024-01-01,5\n",
          Expect("error", "header is not a Japan Customs HS x country layout"))

    cut = good(2)[: len(good(2)) // 2]
    c.add("truncated last line", next(r), "truncated.csv", lines_text(good(0), good(1))+ cut,
          Expect(good=[good(0), good(1)],
                 bad={4: f"expected 45 fields, found {cut.count(',') + 1}"}))
    c.add("extra columns", next(r), "extra_columns.csv",
          lines_text(good(0), good(1) + ",999", good(2)),
          Expect(good=[good(0), good(2)], bad={3: "expected 45 fields, found 46"}))
    c.add("missing columns", next(r), "missing_columns.csv",
          lines_text(good(0), good(1).rsplit(",", 3)[0], good(2).rsplit(",", 1)[0]),
          Expect(good=[good(0)], bad={3: "expected 45 fields, found 42",
                                      4: "expected 45 fields, found 44"}))
    c.add("repeated header", next(r), "repeated_header.csv", lines_text(good(0), HEADER, good(1)),
          Expect(good=[good(0), good(1)], bad={3: "repeated header line"}))

    shuffled = [good(3, {2: 77, 11: 5}), good(4, {12: 123456})]
    text = reordered(shuffled)
    # Alone in its release: next to a standard-order file it crashes the build (see
    # test_columns_in_another_order_next_to_a_standard_file, xfail).
    c.add("columns in another order", R_REORDERED, "reordered.csv", text, Expect(good=shuffled))

    t_ok, t_quoted_ok = good(0, {3: 5}), set_cell(good(1, {3: 1234}), "Value-Mar", '"1234"')
    c.add("thousands separators and decimals", next(r), "thousands.csv", lines_text(
        t_ok,
        set_cell(good(2, {3: 1234}), "Value-Mar", '"1,234"'),
        set_cell(good(3, {3: 1234}), "Value-Mar", "1,234"),
        set_cell(good(4, {3: 1234}), "Value-Mar", "1234.5"),
        t_quoted_ok,
        set_cell(good(5, {3: 1234}), "Quantity2-Mar", '"6,17"'),
    ), Expect(good=[t_ok, t_quoted_ok], bad={
        3: "Value-Mar is not a non-negative integer: '1,234'",
        4: "expected 45 fields, found 46",
        5: "Value-Mar is not a non-negative integer: '1234.5'",
        7: "Quantity2-Mar is not a non-negative integer: '6,17'"}))
    c.add("negative values", next(r), "negative.csv", lines_text(
        good(0),
        set_cell(good(1, {1: 500}), "Value-Jan", "-500"),
        set_cell(good(2, {2: 4}), "Quantity2-Feb", "-1"),
    ), Expect(good=[good(0)], bad={3: "Value-Jan is not a non-negative integer: '-500'",
                                   4: "Quantity2-Feb is not a non-negative integer: '-1'"}))
    big_ok = good(3, {6: 10**12})
    big_quantity = set_cell(good(5, {6: 10}), "Quantity1-Jun", "9" * 18)
    c.add("huge numbers", next(r), "huge.csv", lines_text(
        good(0),
        set_cell(good(1, {6: 7}), "Value-Jun", "99999999999999999999"),
        good(2, {6: 10**12 + 1}),
        big_ok,
        set_cell(good(4, {6: 10}), "Quantity1-Jun", "9" * 19),
        big_quantity,
    ), Expect(good=[good(0), big_ok, big_quantity], bad={
        3: "Value-Jun is not a non-negative integer: '99999999999999999999'",
        4: "Value-Jun is implausibly large: '1000000000001'",
        6: "Quantity1-Jun is not a non-negative integer"}))
    spaced = [good(6, hs=" 870323915 "), set_cell(good(7), "Country", " 304 ")]
    c.add("one row per rule", next(r), "rules.csv", lines_text(
        good(0, flow=3), good(1, year=1949), set_cell(good(2), "Year", "20x4"),
        good(3, hs="87032391"), good(4, country="999"), set_cell(good(5, {1: 1}), "Value-Jan", ""),
        *spaced,
    ), Expect(good=spaced, bad={
        2: "Exp or Imp must be 1 (export) or 2 (import): '3'",
        3: "Year outside 1950-2100: '1949'",
        4: "Year is not a non-negative integer: '20x4'",
        5: "HS is not a 9-digit code: '87032391'",
        6: "Country is not a known customs country code: '999'",
        7: "Value-Jan is not a non-negative integer: blank"}))
    c.add("duplicate keys", next(r), "duplicates.csv",
          lines_text(good(0), good(1), good(0, {5: 9}), good(1)),
          Expect(good=[good(0), good(1)], bad={4: "duplicate of line 2", 5: "duplicate of line 3"}))

    ja_rows = [good(0, {3: 42}), good(1, {1: 5, 12: 6})]
    ja = "\r\n".join([JA_HEADER, *ja_rows, good(2, country="999")]) + "\r\n"
    c.add("CP932 Japanese header", next(r), "cp932.csv", ja.encode("cp932"),
          Expect(good=ja_rows, bad={4: "Country is not a known customs country code"},
                 encoding="cp932"))
    c.add("UTF-8 with BOM", next(r), "bom.csv",
          BOM + lines_text(good(0), good(1), end="\r\n").encode(),
          Expect(good=[good(0), good(1)], encoding="utf-8-sig"))
    mixed = (HEADER + "\r\n" + good(0) + "\n" + good(1) + "\r" + good(2) + ",1\r\n" + "\r\n"
             + good(3) + "\r" + set_cell(good(4, {1: 5}), "Value-Jan", "-5") + "\n")
    c.add("mixed line endings", next(r), "mixed_endings.csv", mixed,
          Expect(good=[good(0), good(1), good(3)],
                 bad={4: "expected 45 fields, found 46", 7: "'-5'"}))
    # NUL bytes in the first 64 KiB make the file binary; later ones reject their line, in
    # any field (a NUL in a unit once loaded as 'KG\x00').
    many = [good(0, hs=f"{870300000 + i:09d}") for i in range(800)]
    c.add("NUL bytes after the first 64 KiB", next(r), "late_nul.csv",
          lines_text(*many, set_cell(good(1, {1: 5}), "Value-Jan", "\x005"), "\x00\x01\x02junk",
                     set_cell(good(2), "Unit2", "KG\x00")),
          Expect(good=many, bad={802: "NUL byte", 803: "NUL byte", 804: "NUL byte"}))

    # Zip archives.
    z = R_ZIPS
    sql_member = "it's; drop table audit.quarantine; --.csv"
    c.archive("zip of several CSVs", z, "bundle.zip", {
        "a.csv": lines_text(good(0), good(1)), "sub/b.csv": lines_text(good(2)),
        "c.csv": lines_text(good(3), good(4, country="999")), sql_member: lines_text(good(4)),
    }, {"a.csv": Expect(good=[good(0), good(1)]), "sub/b.csv": Expect(good=[good(2)]),
        "c.csv": Expect(good=[good(3)], bad={3: "Country is not a known customs country code"}),
        sql_member: Expect(good=[good(4)])})
    # ~50 MiB of one byte deflates to ~50 KB (ratio ~1000:1): refused from the zip directory
    # alone, before anything is expanded; the archive's other member still loads.
    c.archive("zip bomb", z, "bomb.zip", {
        "zeros.csv": b"0" * (50 << 20), "ok.csv": lines_text(good(5)),
    }, {"zeros.csv": Expect("error", "safety caps"), "ok.csv": Expect(good=[good(5)])})
    c.archive("zip member escaping the archive", z, "escape.zip", {
        "../evil.csv": lines_text(good(6)), "/abs.csv": lines_text(good(7)),
        "fine.csv": lines_text(good(8)),
    }, {"../evil.csv": Expect("error", "escapes the archive"),
        "/abs.csv": Expect("error", "escapes the archive"), "fine.csv": Expect(good=[good(8)])})
    c.add("corrupt zip", z, "corrupt.zip", b"PK\x03\x04" + b"junk" * 50,
          Expect("error", "not a readable zip archive"))
    outside.mkdir(parents=True)
    (outside / "secret.csv").write_text(lines_text(good(9)))
    (raw / z / "link.csv").symlink_to(outside / "secret.csv")
    c.add("symlink out of the raw folder", z, "link.csv", None,
          Expect("error", "symbolic link points outside the raw directory"))
    c.add("not a data file", z, "notes.txt", "not data\n",
          Expect("skipped", "not a .csv or .zip file"))

    # Names with quotes, semicolons and SQL.
    n = R_NAMES
    for i, name in enumerate(["x'; drop table core.trade_facts; --.csv",
                              'semi;colon "quoted" $1 -- .csv',
                              "sub'; delete from audit.quarantine; --/y.csv",
                              "new\nline\ttab\x01 名前 ✓.csv"]):
        c.add(f"SQL in a file name {i}", f"{n}{i + 3:02d}_preliminary", name,
              lines_text(good(i), good(i + 1)),
              Expect(good=[good(i), good(i + 1)]))
    c.add("SQL-ish stage in a valid folder name", R_ODD_STAGE, "a.csv", lines_text(good(10)),
          Expect(good=[good(10)]))
    c.add("SQL in a folder name", R_SQL_FOLDER, "a.csv", lines_text(good(11)),
          Expect("error", "folder name is not <YYYY-MM-DD>_<stage>"))
    c.add("malformed date", R_BAD_DATE, "a.csv", lines_text(good(12)),
          Expect("error", "invalid date '2024-13-45'"))
    (raw / "stray.csv").write_text(lines_text(good(13)))
    c.add("file outside a release folder", "stray.csv", "stray.csv", None,
          Expect("error", "not inside a release folder"))
    return c


def quiet_build(raw: Path, warehouse: Path) -> tuple[int, str]:
    """build(); returns (exit code, what it wrote to stderr), keeping the report off stdout."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = build(raw, warehouse)
    return code, stderr.getvalue()


def test_bad_input_campaign(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    campaign = write_campaign(raw, tmp_path / "outside")
    started = time.perf_counter()
    code, stderr = quiet_build(raw, warehouse)
    seconds = time.perf_counter() - started
    errors = [k for k, e in campaign.expect.items() if e.status == "error"]
    assert code == 1, stderr
    # Exit 1 because of the files in error only: the run itself completed.
    assert "did not complete" not in stderr, stderr
    assert f"error: {len(errors)} file(s) could not be loaded" in stderr

    audit = {(r[0], r[1]): r[2:] for r in query(warehouse, (
        "select release_id, file_name, rows_read, rows_loaded, rows_quarantined, status, error, "
        "encoding, cells_loaded from audit.releases"))}
    assert sorted(audit) == sorted(campaign.expect), "one audit row per file or zip member"
    quarantine: dict[tuple[str, str], dict[int, str]] = {}
    for release, name, line, reason in query(
            warehouse, "select release_id, file_name, line_number, reason from audit.quarantine"):
        assert line not in quarantine.setdefault((release, name), {}), "one row per line"
        quarantine[(release, name)][line] = reason
    facts: dict[tuple[str, str], list[tuple]] = {}
    for release, name, *cell in query(warehouse, (
            "select release_id, file_name, flow, year, month, hs_code, country_code, "
            "quantity1, quantity2, value_thousand_jpy from core.trade_facts")):
        facts.setdefault((release, name), []).append(tuple(cell))

    for key, expect in campaign.expect.items():
        read, loaded, quarantined, status, error, encoding, cells = audit[key]
        assert status == expect.status, (key, status, error)
        if expect.error is None:
            assert error is None, (key, error)
        else:
            assert expect.error in (error or ""), (key, error)
        assert (loaded, quarantined) == (len(expect.good), len(expect.bad)), (key, audit[key])
        assert read == loaded + quarantined, key
        got = quarantine.get(key, {})
        assert sorted(got) == sorted(expect.bad), (key, got)
        for line, reason in expect.bad.items():
            assert reason in got[line], (key, line, got[line])
        value = sum(c[-1] for c in facts.get(key, []))
        assert value == sum(c[-1] for c in expect.cells), (key, value)  # the file's total
        assert sorted(facts.get(key, [])) == expect.cells, key  # and cell by cell
        assert cells == len(expect.cells), key
        if expect.encoding:
            assert encoding == expect.encoding, (key, encoding)
    # The columns were matched by name: the reordered file's values sit in their own months.
    assert sorted((c[2], c[-1]) for c in facts[(R_REORDERED, "reordered.csv")]) == [
        (2, 77), (11, 5), (12, 123456)]
    # Nothing loaded that was not expected (e.g. the symlink target, refused zip members).
    assert set(facts) <= {k for k, e in campaign.expect.items() if e.good}
    assert not any("secret" in name or "evil" in name for _, name in facts)

    # Global conservation and value totals, over every audit row.
    assert query(warehouse, "select count(*) from audit.releases "
                            "where rows_read <> rows_loaded + rows_quarantined") == [(0,)]
    expected_value = sum(c[-1] for e in campaign.expect.values() for c in e.cells)
    assert query(warehouse, "select sum(value_thousand_jpy)::hugeint from core.trade_facts") == [
        (expected_value,)]
    # The tables are intact despite the names (parameters, not string-built SQL).
    tables = {f"{s}.{t}" for s, t in query(warehouse, "select schema_name, table_name from "
                                                      "duckdb_tables()")}
    assert {"core.trade_facts", "audit.releases", "audit.quarantine", "core.trade_latest",
            "marts.balance_total"} <= tables
    assert query(warehouse, "select count(*) > 0 from marts.balance_total") == [(True,)]
    names = {name for _, name in query(warehouse, "select release_id, file_name "
                                                  "from raw.release_files")}
    assert "x'; drop table core.trade_facts; --.csv" in names

    read, loaded, quarantined, file_errors, lost = query(warehouse, (
        "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined), "
        "count(*) filter (where status = 'error'), "
        "sum(rows_read - rows_loaded - rows_quarantined) from audit.releases"))[0]
    assert lost == 0 and file_errors == len(errors)
    print(f"\nbad-input campaign: {len(campaign.cases)} cases tried, {len(campaign.expect)} "
          f"files/members, {read} rows read, {loaded} loaded, {quarantined} quarantined, "
          f"{file_errors} file errors, {lost} rows lost; build {seconds:.1f}s")


def reordered(lines: list[str], seed: int = 7) -> str:
    order = random.Random(seed).sample(range(WIDTH), WIDTH)
    return "\n".join(",".join(line.split(",")[i] for i in order)
                     for line in [HEADER, *lines]) + "\n"


# Regression (found by this campaign, now fixed): validation.validate_files concatenates the split
# rows of a release's files with pl.concat (vertical), which needs the same column order; a file
# whose header lists the columns in another order, next to a standard-order file in the same
# release, raises polars ShapeError ('unable to vstack, column names don't match') and the build
# fails (load_releases step failure) instead of loading both files
def test_columns_in_another_order_next_to_a_standard_file(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    shuffled, plain = [good(3, {2: 77, 11: 5})], [good(0, {1: 5})]
    write_release(raw, "2024-01-10_preliminary", {"a_standard.csv": lines_text(*plain),
                                                  "b_reordered.csv": reordered(shuffled)})
    code, stderr = quiet_build(raw, warehouse)
    assert code == 0, stderr[-2000:]
    assert sorted(query(warehouse, "select file_name, month, value_thousand_jpy "
                                    "from core.trade_facts")) == [
        ("a_standard.csv", 1, 5), ("b_reordered.csv", 2, 77), ("b_reordered.csv", 11, 5)]


# Regression (found by this campaign, now fixed): the HS rule used str_matches('^\d{9}$'), and
# \d matches any Unicode digit, so a full-width HS code ('８７０３２３９１５') was loaded as is
# instead of quarantined; a full build then failed the blocking check every_code_has_a_top_sector
# and published nothing
def test_full_width_hs_digits_are_quarantined():
    full_width = "870323915".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    text = lines_text(good(0, hs=full_width), good(1))
    table = read_table(text.encode())
    result = validate(table.layout, table.rows, table.malformed, COUNTRY_CODES)
    assert result.rows_loaded + result.quarantine.height == table.rows_read == 2
    assert result.quarantine.select("line_number", "reason").rows() == [
        (2, f"HS is not a 9-digit code: {full_width!r}")]
    assert all(code.isascii() for code in result.facts["hs_code"])


# Regression (found by this campaign, now fixed): a zip holding two members with the same name
# (legal in the zip format) loads both under one file_name; their facts collide on the fact
# grain, the blocking check fact_grain_unique fails, the build does not complete and nothing is
# published
def test_zip_with_a_repeated_member_name(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("a.csv", lines_text(good(0, {1: 5})))
            archive.writestr("a.csv", lines_text(good(0, {1: 9})))
    write_release(raw, "2024-04-01_preliminary", {"dup.zip": buffer.getvalue(),
                                                  "ok.csv": lines_text(good(1))})
    code, stderr = quiet_build(raw, warehouse)
    assert "did not complete" not in stderr, stderr[-2000:]
    audit = query(warehouse, "select file_name, status from audit.releases")
    assert ("ok.csv", "loaded") in audit
    names = [name for name, _ in audit]
    assert len(names) == len(set(names)), audit


# Regression (found by this campaign, now fixed): a file whose name is not valid UTF-8 (e.g. a
# CP932 Japanese name left by unzipping a Windows archive) crashes the raw__release_files step
# (UnicodeEncodeError: surrogates not allowed, building the inventory frame): the build does not
# complete, nothing is loaded
def test_file_name_that_is_not_utf8(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    folder = write_release(raw, "2024-04-01_preliminary", {"ok.csv": lines_text(good(1))})
    try:
        (Path(os.fsdecode(os.fsencode(folder) + b"/\x96\xbc\x91O.csv"))  # 名前.csv in CP932
         .write_text(lines_text(good(2))))
    except (OSError, UnicodeError):
        pytest.skip("the file system refuses names that are not UTF-8")
    code, stderr = quiet_build(raw, warehouse)
    assert "did not complete" not in stderr, stderr[-2000:]
    audit = query(warehouse, "select file_name, status, error from audit.releases")
    assert ("ok.csv", "loaded", None) in audit
    assert ("\\x96\\xbc\\x91O.csv", "error", "file name is not valid UTF-8") in audit


# Regression (found by this campaign, now fixed): only symlinked files (and subfolders) are
# checked: a release folder that is itself a symbolic link to a folder outside the raw directory
# is walked and its files load as if they were in the raw directory (docs/ingest.md: a symbolic
# link pointing outside the raw directory makes the file fail)
def test_release_folder_symlinked_outside_the_raw_directory(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.csv").write_text(lines_text(good(0)))
    write_release(raw, "2024-04-01_preliminary", {"ok.csv": lines_text(good(1))})
    (raw / "2024-03-01_preliminary").symlink_to(outside, target_is_directory=True)
    code, _ = quiet_build(raw, warehouse)
    assert code == 1  # the symlinked release is a file-level problem
    assert query(warehouse, "select release_id, status, error from audit.releases "
                            "order by release_id") == [
        ("2024-03-01_preliminary", "error", "symbolic link points outside the raw directory"),
        ("2024-04-01_preliminary", "loaded", None)]
    assert query(warehouse, "select distinct release_id from core.trade_facts") == [
        ("2024-04-01_preliminary",)]


# --------------------------------------------------------------------------------------------
# 2. Property-based: random valid rows, random corruptions, the oracle above.
# --------------------------------------------------------------------------------------------

HS_CODE = st.builds(lambda ch, rest: f"{ch:02d}{rest:07d}", st.integers(1, 97),
                    st.integers(0, 10**7 - 1))
MONTH_VALUE = st.one_of(st.just(0), st.integers(0, 10**9))
ROW = st.tuples(st.sampled_from([1, 2]), st.integers(2000, 2030), HS_CODE,
                st.sampled_from(COUNTRY_CODES), st.lists(MONTH_VALUE, min_size=12, max_size=12),
                st.booleans())
ROWS = st.lists(ROW, max_size=20, unique_by=lambda r: r[:4])
KINDS = ("delete_char", "insert_comma", "digit_to_letter", "insert_minus", "truncate",
         "duplicate", "blank_line", "extra_field", "append_zeros", "insert_space", "copy_header")
CORRUPTIONS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 2**16),
                                 st.integers(0, 2**16), st.integers(1, 12)), max_size=10)
ENDINGS = st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=3)


def corrupt(lines: list[str], kind: str, where: int, pos: int, n: int) -> None:
    """Apply one corruption to the data lines (in place)."""
    if kind == "blank_line":
        lines.insert(where % (len(lines) + 1), " " * (n % 3))
        return
    if kind == "copy_header":
        lines.insert(where % (len(lines) + 1), HEADER)
        return
    if not lines:
        return
    i = where % len(lines)
    line = lines[i]
    p = pos % (len(line) + 1)
    if kind == "delete_char" and line:
        p = pos % len(line)
        lines[i] = line[:p] + line[p + 1:]
    elif kind == "insert_comma":
        lines[i] = line[:p] + "," + line[p:]
    elif kind == "digit_to_letter":
        digits = [k for k, ch in enumerate(line) if ch.isdigit()]
        if digits:
            k = digits[pos % len(digits)]
            lines[i] = line[:k] + "abcdefghijkl"[n - 1] + line[k + 1:]
    elif kind == "insert_minus":
        lines[i] = line[:p] + "-" + line[p:]
    elif kind == "truncate":
        lines[i] = line[:p]
    elif kind == "duplicate":
        lines.insert(pos % (len(lines) + 1), line)
    elif kind == "extra_field":
        lines[i] = line + "," + str(n)
    elif kind == "append_zeros":
        cells = line.split(",")
        k = pos % len(cells)
        cells[k] += "0" * n
        lines[i] = ",".join(cells)
    elif kind == "insert_space":
        lines[i] = line[:p] + " " + line[p:]


def corrupted_file(rows, corruptions, endings, final_newline) -> str:
    lines = [row(flow, year, hs, country, {m + 1: v for m, v in enumerate(values) if v},
                 quote_hs=quote) for flow, year, hs, country, values, quote in rows]
    for corruption in corruptions:
        corrupt(lines, *corruption)
    parts = [HEADER, *lines]
    text = "".join(part + endings[k % len(endings)] for k, part in enumerate(parts))
    if not final_newline:
        text = text[: -len(endings[(len(parts) - 1) % len(endings)])]
    return text


def check_against_reference(text: str) -> Reference:
    """read_table + validate in process, compared line by line with the oracle."""
    expected = reference(text, CODES)
    table = read_table(text.encode())
    result = validate(table.layout, table.rows, table.malformed, COUNTRY_CODES)
    quarantined = result.quarantine.height
    assert table.rows_read == expected.rows_read
    assert table.rows_read == result.rows_loaded + quarantined
    assert result.rows_loaded == expected.rows_loaded
    got = {n: (raw, reason) for n, raw, reason in result.quarantine.select(
        "line_number", "raw_line", "reason").iter_rows()}
    assert len(got) == quarantined, "one quarantine row per line"
    assert set(got) == set(expected.invalid)
    for number, (raw, reason) in got.items():
        assert raw == expected.lines[number]
        assert re.search(expected.invalid[number], reason), (number, reason, raw)
    facts = result.facts.select("flow", "year", "month", "hs_code", "country_code", "quantity1",
                                "quantity2", "value_thousand_jpy").rows()
    assert sorted(facts) == sorted(expected.cells)
    assert (result.facts["value_thousand_jpy"].sum() or 0) == expected.value
    return expected


def test_random_corruptions_match_the_reference_check():
    stats: Counter = Counter()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=ROWS, corruptions=CORRUPTIONS, endings=ENDINGS, final_newline=st.booleans())
    def check(rows, corruptions, endings, final_newline):
        expected = check_against_reference(corrupted_file(rows, corruptions, endings,
                                                          final_newline))
        stats["examples"] += 1
        stats["rows read"] += expected.rows_read
        stats["quarantined"] += len(expected.invalid)
        stats.update(kind for kind, *_ in corruptions)
        stats.update(reason_kind(p) for p in expected.invalid.values())

    started = time.perf_counter()
    check()
    kinds = ", ".join(f"{k} {stats[k]}" for k in KINDS)
    reasons = ", ".join(f"{label} {stats[label]}" for _, label in REASON_KINDS)
    print(f"\nproperty (in process): {stats['examples']} examples, {stats['rows read']} rows "
          f"read, {stats['quarantined']} quarantined ({reasons}); corruptions applied: {kinds}; "
          f"{time.perf_counter() - started:.1f}s")


def test_random_corrupted_files_through_full_builds(tmp_path):
    stats: Counter = Counter()

    @settings(max_examples=5, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rows=ROWS.filter(bool), corruptions=CORRUPTIONS, endings=ENDINGS,
           final_newline=st.booleans())
    def check(rows, corruptions, endings, final_newline):
        stats["examples"] += 1
        text = corrupted_file(rows, corruptions, endings, final_newline)
        expected = reference(text, CODES)
        base = tmp_path / f"example{stats['examples']}"
        write_release(base / "raw", "2024-07-01_preliminary", {"random.csv": text})
        code, stderr = quiet_build(base / "raw", base / "wh.duckdb")
        assert code == 0, stderr
        warehouse = base / "wh.duckdb"
        assert query(warehouse, "select rows_read, rows_loaded, rows_quarantined, status "
                                "from audit.releases") == [
            (expected.rows_read, expected.rows_loaded, len(expected.invalid), "loaded")]
        lines = [n for (n,) in query(warehouse, "select line_number from audit.quarantine")]
        assert sorted(lines) == sorted(expected.invalid)
        assert query(warehouse, "select coalesce(sum(value_thousand_jpy), 0)::hugeint "
                                "from core.trade_facts") == [(expected.value,)]
        stats["rows read"] += expected.rows_read
        stats["quarantined"] += len(expected.invalid)

    started = time.perf_counter()
    check()
    print(f"\nproperty (full builds): {stats['examples']} examples, {stats['rows read']} rows "
          f"read, {stats['quarantined']} quarantined; {time.perf_counter() - started:.1f}s")
