"""Tests of the synthetic sample generator ``trade_etl.sample``.

The calibration tests use a small independent oracle: plain ``csv`` / ``zipfile`` reading of the
written files (BOM, cp932, CRLF, zip, apostrophes, ``Apl``, customs-office variant), skipping lines
that are not valid rows, and the supersession rule of the warehouse:

    releases ordered by (date, stage); for every (flow, year, month, HS chapter) cell a release
    reports (any non-zero number), its rows replace all earlier rows of that cell.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from trade_etl.sample import build_profile, parse_years, write_sample

ROOT = Path(__file__).resolve().parents[1]
COUNTRIES_CSV = ROOT / "data" / "ref" / "countries.csv"
REFERENCE = ROOT.parent / "shared" / "reference"
PROFILE_CSV = ROOT / "trade_etl" / "sample" / "profile.csv"

# Published figures (thousand yen), Ministry of Finance releases as reported by the press.
FY2024 = {
    "exp": 108_934_500_000,
    "imp": 114_156_200_000,
    "us_exp": 21_648_200_000,
    "us_imp": 12_642_900_000,
    "cn_exp": 18_890_000_000,
    "cn_imp": 25_940_000_000,
    "eu_bal": -2_530_000_000,
    "asia_exp": 58_051_300_000,
}
FY2023 = {"exp": 102_865_400_000, "imp": 109_031_700_000}
CY2024_PRELIM = {
    "exp": 107_090_000_000,
    "imp": 112_420_000_000,
    "us_exp": 21_300_000_000,
    "us_imp": 12_650_000_000,
    "cn_exp": 18_870_000_000,
    "cn_imp": 25_310_000_000,
}
CY2025_PRELIM = {
    "exp": 110_448_000_000,
    "imp": 113_098_700_000,
    "us_bal": 7_521_400_000,
    "cn_bal": -7_914_700_000,
}
# CY2024 revised, billion yen (trade_year.csv), to be met within 0.01 %
CY2024_LATEST_BN = {
    "exp": 107_088,
    "imp": 112_716,
    "us_exp": 21_295,
    "us_imp": 12_685,
    "cn_exp": 18_862,
    "cn_imp": 25_313,
    "eu_exp": 9_967,
    "eu_imp": 11_963,
}
EU27 = set(
    "203 204 206 207 208 209 210 213 217 218 220 221 222 223 225 227 230 231 232 233 "
    "235 236 237 241 242 245 246".split()
)
STAGE = {"preliminary": 0, "revised": 1, "fixed": 2}
JP_NAMES = {
    "輸出入": "Exp or Imp",
    "年": "Year",
    "税関": "Custom",
    "国": "Country",
    "単位1": "Unit1",
    "単位2": "Unit2",
}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


# ----------------------------------------------------------------------------------------------
# Oracle
# ----------------------------------------------------------------------------------------------
def _countries() -> dict[str, str]:
    with open(COUNTRIES_CSV, newline="", encoding="utf-8-sig") as fh:
        return {r["country_code"]: r["area"] for r in csv.DictReader(fh)}


COUNTRIES = _countries()
ASIA = {c for c, a in COUNTRIES.items() if a == "Asia"}


# A 9-digit code, or a confidential one (from April 2024): 2-8 digits kept, the rest X. Both
# count in every total; a subtotal line (HS `S-TOTAL`) does not.
CODE = re.compile(r"[0-9]{9}|(?=[0-9X]{9}$)[0-9]{2,8}X+")


def decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-bom"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp932"), "cp932"


def norm_header(cols: list[str]) -> list[str]:
    out = []
    for c in cols:
        c = c.strip()
        if c in JP_NAMES:
            c = JP_NAMES[c]
        m = re.fullmatch(r"(数量1|数量2|金額)-(年|\d+月)", c)
        if m:
            kind = {"数量1": "Quantity1", "数量2": "Quantity2", "金額": "Value"}[m.group(1)]
            per = "Year" if m.group(2) == "年" else MONTHS[int(m.group(2)[:-1]) - 1]
            c = f"{kind}-{per}"
        out.append(c.replace("-Apl", "-Apr"))
    return out


def release_files(folder: Path) -> list[tuple[str, bytes]]:
    out = []
    for p in sorted(folder.iterdir()):
        if p.suffix == ".zip":
            with zipfile.ZipFile(p) as zf:
                out += [(f"{p.name}/{n}", zf.read(n)) for n in sorted(zf.namelist())]
        elif p.suffix == ".csv":
            out.append((p.name, p.read_bytes()))
    return out


def parse_file(data: bytes) -> tuple[list[str], list[tuple], list[list[str]]]:
    """(normalised header, valid rows, invalid lines).  A valid row is
    (flow, year, hs9, country, custom, [(q1, q2, v) x 12])."""
    text, _ = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    head = norm_header(next(reader))
    pos = {c: i for i, c in enumerate(head)}
    first_num = pos["Quantity1-Year"]
    valid, bad = [], []
    for r in reader:
        if len(r) != len(head):
            bad.append(r)
            continue
        hs = r[pos["HS"]].strip().strip("'")
        country = r[pos["Country"]].strip()
        nums = r[first_num:]
        if (
            not CODE.fullmatch(hs)
            or country not in COUNTRIES
            or not all(x.isascii() and x.isdigit() for x in nums)
            or r[0].strip() not in ("1", "2")
        ):
            bad.append(r)
            continue
        n = [int(x) for x in nums]
        months = [tuple(n[3 + 3 * m : 6 + 3 * m]) for m in range(12)]
        custom = r[pos["Custom"]] if "Custom" in pos else None
        valid.append((int(r[0]), int(r[pos["Year"]]), hs, country, custom, months, n[:3]))
    return head, valid, bad


@cache
def load_folder(folder: Path) -> list[tuple[str, bytes, list[str], list[tuple], list[list[str]]]]:
    """(name, raw bytes, header, valid rows, invalid lines) of every file of a release folder."""
    return [(name, data, *parse_file(data)) for name, data in release_files(folder)]


class Release:
    def __init__(self, folder: Path) -> None:
        date, stage = folder.name.split("_")
        self.folder, self.date, self.stage = folder, date, stage
        self.cells: dict[tuple, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
        reported: set[tuple] = set()
        for _name, _data, _head, valid, _bad in load_folder(folder):
            for flow, year, hs, country, _c, months, _y in valid:
                for m, (q1, q2, v) in enumerate(months, start=1):
                    if q1 or q2 or v:
                        cell = (flow, year, m, hs[:2])
                        reported.add(cell)
                        self.cells[cell][(hs, country)] += v
        self.cells = {c: dict(self.cells[c]) for c in reported}

    @property
    def order(self) -> tuple[str, int]:
        return (self.date, STAGE[self.stage])


class Sample:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.releases = sorted(
            (Release(p) for p in root.iterdir() if p.is_dir()), key=lambda r: r.order
        )

    @cache  # noqa: B019 - a handful of instances per test session
    def as_of(self, date: str) -> dict[tuple, dict[tuple[str, str], int]]:
        state: dict[tuple, dict[tuple[str, str], int]] = {}
        for rel in self.releases:
            if rel.date <= date:
                state.update(rel.cells)  # reported cells replace every earlier row of the cell
        return state

    def total(
        self, date: str, flow: int, periods: list[tuple[int, int]], partners: set[str] | None = None
    ) -> int:
        state = self.as_of(date)
        want = set(periods)
        return sum(
            v
            for (f, y, m, _ch), rows in state.items()
            if f == flow and (y, m) in want
            for (_hs, c), v in rows.items()
            if partners is None or c in partners
        )


def fy(year: int) -> list[tuple[int, int]]:
    return [(year, m) for m in range(4, 13)] + [(year + 1, m) for m in range(1, 4)]


def cy(year: int) -> list[tuple[int, int]]:
    return [(year, m) for m in range(1, 13)]


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def default_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample_default")
    write_sample(out)
    return out


@pytest.fixture(scope="module")
def default_sample(default_dir: Path) -> Sample:
    return Sample(default_dir)


def assert_calibrated(s: Sample) -> None:
    d = "2025-04-17"
    us, cn = {"304"}, {"105"}
    assert s.total(d, 1, fy(2024)) == FY2024["exp"]
    assert s.total(d, 2, fy(2024)) == FY2024["imp"]
    assert s.total(d, 1, fy(2024), us) == FY2024["us_exp"]
    assert s.total(d, 2, fy(2024), us) == FY2024["us_imp"]
    assert s.total(d, 1, fy(2024), us) - s.total(d, 2, fy(2024), us) == 9_005_300_000
    assert s.total(d, 1, fy(2024), cn) == FY2024["cn_exp"]
    assert s.total(d, 2, fy(2024), cn) == FY2024["cn_imp"]
    assert s.total(d, 1, fy(2024), EU27) - s.total(d, 2, fy(2024), EU27) == FY2024["eu_bal"]
    assert s.total(d, 1, fy(2024), ASIA) == FY2024["asia_exp"]
    assert s.total(d, 1, fy(2023)) == FY2023["exp"]
    assert s.total(d, 2, fy(2023)) == FY2023["imp"]
    assert round(FY2024["exp"] / s.total(d, 1, fy(2023)) - 1, 3) == 0.059
    assert round(FY2024["imp"] / s.total(d, 2, fy(2023)) - 1, 3) == 0.047

    d = "2025-01-23"
    assert s.total(d, 1, cy(2024)) == CY2024_PRELIM["exp"]
    assert s.total(d, 2, cy(2024)) == CY2024_PRELIM["imp"]
    assert s.total(d, 1, cy(2024), us) == CY2024_PRELIM["us_exp"]
    assert s.total(d, 2, cy(2024), us) == CY2024_PRELIM["us_imp"]
    assert s.total(d, 1, cy(2024), cn) == CY2024_PRELIM["cn_exp"]
    assert s.total(d, 2, cy(2024), cn) == CY2024_PRELIM["cn_imp"]

    d = "2026-01-22"
    assert s.total(d, 1, cy(2025)) == CY2025_PRELIM["exp"]
    assert s.total(d, 2, cy(2025)) == CY2025_PRELIM["imp"]
    assert s.total(d, 1, cy(2025), us) - s.total(d, 2, cy(2025), us) == CY2025_PRELIM["us_bal"]
    assert s.total(d, 1, cy(2025), cn) - s.total(d, 2, cy(2025), cn) == CY2025_PRELIM["cn_bal"]

    d = "9999-12-31"
    got = {
        "exp": s.total(d, 1, cy(2024)),
        "imp": s.total(d, 2, cy(2024)),
        "us_exp": s.total(d, 1, cy(2024), us),
        "us_imp": s.total(d, 2, cy(2024), us),
        "cn_exp": s.total(d, 1, cy(2024), cn),
        "cn_imp": s.total(d, 2, cy(2024), cn),
        "eu_exp": s.total(d, 1, cy(2024), EU27),
        "eu_imp": s.total(d, 2, cy(2024), EU27),
    }
    for k, bn in CY2024_LATEST_BN.items():
        assert abs(got[k] / (bn * 1_000_000) - 1) <= 1e-4, (k, got[k])


# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------
def test_parse_years() -> None:
    assert parse_years("2023-2025") == [2023, 2024, 2025]
    assert parse_years("2023,2024") == [2023, 2024]
    assert parse_years("2016-2017, 2020") == [2016, 2017, 2020]
    for bad in ("", "23-25", "2025-2023", "abc"):
        with pytest.raises(ValueError):
            parse_years(bad)


def test_calibration_default(default_sample: Sample) -> None:
    assert_calibrated(default_sample)


def confidential_total(s: Sample, date: str, flow: int, periods: list[tuple[int, int]]) -> int:
    state, want = s.as_of(date), set(periods)
    return sum(v for (f, y, m, _ch), rows in state.items() if f == flow and (y, m) in want
               for (hs, _c), v in rows.items() if "X" in hs)


def test_calibration_includes_confidential_codes(default_sample: Sample) -> None:
    """The calibrated totals hold with the confidential codes' values counted (the oracle
    reads them as codes): they are part of the published totals, not extra to them. Read as
    invalid (the rule before April 2024), the same totals fall short by exactly their values."""
    d = "2025-04-17"
    for flow, key in ((1, "exp"), (2, "imp")):
        withheld = confidential_total(default_sample, d, flow, fy(2024))
        assert withheld > 0
        assert default_sample.total(d, flow, fy(2024)) == FY2024[key]
        assert FY2024[key] - withheld < FY2024[key]  # what the old rule would have loaded
    # none before April 2024, some in every later month of the latest figures
    latest = default_sample.as_of("9999-12-31")
    months = {(f, y, m) for (f, y, m, _ch), rows in latest.items() for hs, _c in rows
              if "X" in hs}
    assert not {(y, m) for _f, y, m in months if (y, m) < (2024, 4)}
    assert {(y, m) for _f, y, m in months} == {(y, m) for y in (2024, 2025) for m in range(1, 13)
                                                 if (y, m) >= (2024, 4)}
    codes = {hs for rows in latest.values() for hs, _c in rows if "X" in hs}
    assert {len(c.rstrip("X")) for c in codes} == {2, 4}


def test_calibration_other_scale_and_seed(tmp_path: Path) -> None:
    write_sample(tmp_path, scale=0.3, seed=7)
    assert_calibrated(Sample(tmp_path))


@pytest.mark.skipif(
    not (REFERENCE / "real" / "trade_year.csv").exists(), reason="shared reference not available"
)
def test_fixed_release_matches_trade_year_exactly(default_sample: Sample) -> None:
    ref: dict[tuple[str, str, int], int] = {}
    with open(REFERENCE / "real" / "trade_year.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["goods"] == "Grand Total":
                ref[(r["ex_im"], r["area"], int(float(r["year"])))] = round(
                    float(r["value"]) * 1_000_000
                )
    for year in (2023, 2024, 2025):
        for flow, name in ((1, "export"), (2, "import")):
            for area, partners in (
                ("Grand Total", None),
                ("USA", {"304"}),
                ("China", {"105"}),
                ("EU", EU27),
                ("Germany", {"213"}),
                ("R Korea", {"103"}),
            ):
                got = latest_total(default_sample, flow, year, partners)
                assert got == ref[(name, area, year)], (year, name, area)


def latest_total(s: Sample, flow: int, year: int, partners: set[str] | None) -> int:
    return s.total("9999-12-31", flow, cy(year), partners)


def test_release_folders_and_files(default_dir: Path) -> None:
    names = sorted(p.name for p in default_dir.iterdir())
    assert names == [
        "2023-04-17_preliminary",
        "2023-07-17_preliminary",
        "2023-10-16_preliminary",
        "2024-01-25_preliminary",
        "2024-03-10_revised",
        "2024-04-17_preliminary",
        "2024-07-17_preliminary",
        "2024-10-16_preliminary",
        "2024-11-28_fixed",
        "2025-01-23_preliminary",
        "2025-03-10_revised",
        "2025-04-17_preliminary",
        "2025-07-17_preliminary",
        "2025-10-16_preliminary",
        "2025-11-28_fixed",
        "2026-01-22_preliminary",
        "2026-03-10_revised",
        "2026-11-28_fixed",
    ]
    assert sorted(p.name for p in (default_dir / "2023-07-17_preliminary").iterdir()) == [
        "exp_2023.zip",
        "imp_2023.zip",
    ]
    with zipfile.ZipFile(default_dir / "2023-07-17_preliminary" / "exp_2023.zip") as zf:
        assert zf.namelist() == [
            "exp_2023_s01-s07.csv",
            "exp_2023_s08-s15.csv",
            "exp_2023_s16-s21.csv",
        ]
        assert all(i.date_time == (2020, 1, 1, 0, 0, 0) for i in zf.infolist())
    assert sorted(p.name for p in (default_dir / "2025-03-10_revised").iterdir()) == [
        ".manifest.json",
        *(f"{f}_2024_{s}.csv" for f in ("exp", "imp") for s in ("s01-s07", "s08-s15", "s16-s21")),
    ]
    assert not (default_dir / "2024-11-28_fixed" / ".manifest.json").exists()


def test_layout_and_quirks(default_dir: Path) -> None:
    seen: dict[str, int] = defaultdict(int)
    for folder in sorted(default_dir.iterdir()):
        cover = {"04-17": 3, "07-17": 6, "10-16": 9}.get(folder.name[5:10], 12)
        for name, data, head, valid, _bad in load_folder(folder):
            text, enc = decode(data)
            first_line = text.split("\n", 1)[0].rstrip("\r")
            raw_head = next(csv.reader([first_line]))
            assert len(head) in (45, 46)
            assert head[:2] == ["Exp or Imp", "Year"]
            assert head[-3:] == ["Quantity1-Dec", "Quantity2-Dec", "Value-Dec"]
            if len(head) == 46:
                seen["custom"] += 1
                assert head[2] == "Custom"
            seen[enc] += 1
            if raw_head[0] == "輸出入":
                seen["japanese"] += 1
                assert enc == "cp932"
            if "Value-Apl" in raw_head:
                seen["apl"] += 1
            if "\r\n" in text:
                seen["crlf"] += 1
                assert text.count("\r\n") == text.count("\n")
            if "/" in name:
                seen["zip"] += 1
            m = re.fullmatch(r"(?:.*/)?(exp|imp)_(\d{4})_s(\d\d)-s(\d\d)\.csv", name)
            assert m, name
            lo, hi = {"01": (1, 40), "08": (41, 83), "16": (84, 97)}[m.group(3)]
            lines = text.splitlines()[1:]
            for line in lines:
                f = line.split(",")
                seen["quoted" if f[3 if len(head) == 46 else 2].startswith("'") else "bare"] += 1
                if len(f) == 45:
                    seen[
                        "unit1_blank"
                        if f[4] == ""
                        else "unit1_spaces"
                        if f[4] == "  "
                        else "unit1_set"
                    ] += 1
            for flow, year, hs, country, _custom, months, ytot in valid:
                assert flow == (1 if m.group(1) == "exp" else 2) and year == int(m.group(2))
                assert lo <= int(hs[:2]) <= hi and hs[:2] != "77"
                assert country in COUNTRIES
                assert ytot == [sum(x[i] for x in months) for i in range(3)]
                assert all(x == (0, 0, 0) for x in months[cover:]), (folder.name, name)
                assert any(x != (0, 0, 0) for x in months[:cover])
    for quirk in (
        "custom",
        "utf-8-bom",
        "cp932",
        "japanese",
        "apl",
        "crlf",
        "zip",
        "quoted",
        "bare",
        "unit1_blank",
        "unit1_spaces",
        "unit1_set",
        "utf-8",
    ):
        assert seen[quirk] > 0, quirk
    assert seen["custom"] == 1 and seen["japanese"] == 1
    assert seen["quoted"] > 5 * seen["bare"]


def test_customs_office_variant(default_dir: Path, default_sample: Sample) -> None:
    data = (default_dir / "2024-11-28_fixed" / "exp_2023_s08-s15.csv").read_bytes()
    head, valid, bad = parse_file(data)
    assert len(head) == 46 and not bad
    ports: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _f, _y, hs, country, custom, _m, _t in valid:
        assert re.fullmatch(r"\d{3}", custom)
        ports[(hs, country)].add(custom)
    assert max(len(p) for p in ports.values()) >= 3
    assert sum(len(p) >= 2 for p in ports.values()) > 0.8 * len(ports)
    assert len(valid) == sum(len(p) for p in ports.values())  # one row per port


def test_bad_rows_present_and_identifiable(default_dir: Path) -> None:
    folder = default_dir / "2025-01-23_preliminary"
    bad_by_file = {name: bad for name, _d, _h, _v, bad in load_folder(folder)}
    assert len(bad_by_file["exp_2024_s16-s21.csv"]) == 4
    assert len(bad_by_file["imp_2024_s01-s07.csv"]) == 2
    assert sum(len(b) for b in bad_by_file.values()) == 6
    bad = bad_by_file["exp_2024_s16-s21.csv"] + bad_by_file["imp_2024_s01-s07.csv"]
    assert any(len(r) == 45 and r[3] == "999" for r in bad)
    assert any(len(r) == 45 and re.fullmatch(r"'\d{8}'", r[2]) for r in bad)
    assert any(len(r) == 45 and any(x.startswith("-") for x in r[6:]) for r in bad)
    assert any(len(r) < 45 for r in bad)
    assert any(len(r) == 45 and any("." in x for x in r[6:]) for r in bad)
    # the United States' subtotal repeats the sum of its lines in the file
    subtotal, = (r for r in bad if r[2] == "'S-TOTAL'")
    us_rows = [v for _n, _d, _h, valid, _b in load_folder(folder) for v in valid
               if v[0] == 1 and v[3] == "304" and int(v[2][:2]) >= 84]
    assert subtotal[3] == "304" and int(subtotal[8]) == sum(v[6][2] for v in us_rows)
    for folder in default_dir.iterdir():
        if folder.name != "2025-01-23_preliminary":
            assert all(not bad for *_x, bad in load_folder(folder)), folder.name


def test_no_bad_rows_when_disabled(tmp_path: Path) -> None:
    write_sample(tmp_path, years=(2024,), scale=0.05, bad_rows=False)
    for folder in tmp_path.iterdir():
        for _, data in release_files(folder):
            assert parse_file(data)[2] == []


def test_revisions_removed_and_added_rows(default_sample: Sample) -> None:
    by_rel: dict[tuple[int, int], list[tuple[str, set[tuple], dict]]] = defaultdict(list)
    for rel in default_sample.releases:
        keys: dict[tuple[int, int], set[tuple]] = defaultdict(set)
        vals: dict[tuple, int] = defaultdict(int)
        for (f, y, m, _ch), rows in rel.cells.items():
            for (hs, c), v in rows.items():
                keys[(f, y)].add((hs, c))
                vals[(f, y, m, hs, c)] += v
        for fyk, ks in keys.items():
            by_rel[fyk].append((rel.stage, ks, vals))
    for (f, y), seq in by_rel.items():
        assert len(seq) == 6
        prelim_keys = set().union(*(ks for st, ks, _ in seq[:3]))
        final_keys = seq[-1][1]
        assert prelim_keys - final_keys, (f, y, "no removed row")
        assert final_keys - set().union(*(ks for _, ks, _ in seq[:4])), (f, y, "no added row")
        r4, r6 = seq[3][2], seq[5][2]
        common = [k for k in r4 if k in r6 and k[0] == f]
        changed = sum(r4[k] != r6[k] for k in common)
        assert 0.05 * len(common) < changed < 0.8 * len(common)  # a share of rows revised
        rel_change = [abs(r4[k] / r6[k] - 1) for k in common if r6[k] > 100_000]
        assert sorted(rel_change)[len(rel_change) // 2] < 0.01


def test_supersession_is_cellwise(default_sample: Sample) -> None:
    """Every (flow, year, month, chapter) cell reported once stays reported in later releases of
    the same year, so the as-of view equals the latest release month by month."""
    by_flow_year: dict[tuple[int, int], list[tuple[str, set[tuple]]]] = defaultdict(list)
    for rel in default_sample.releases:
        cells: dict[tuple[int, int], set[tuple]] = defaultdict(set)
        for f, y, m, ch in rel.cells:
            cells[(f, y)].add((m, ch))
        for key, cs in cells.items():
            by_flow_year[key].append((rel.folder.name, cs))
    for key, seq in by_flow_year.items():
        assert len(seq) == 6, key
        for (name_a, a), (name_b, b) in zip(seq, seq[1:], strict=False):
            assert a <= b, (key, name_a, name_b, sorted(a - b)[:5])
        assert {m for m, _ in seq[0][1]} == {1, 2, 3}
        assert {m for m, _ in seq[-1][1]} == set(range(1, 13))


def test_composition_looks_japanese(default_sample: Sample) -> None:
    state = default_sample.as_of("9999-12-31")
    by4: dict[tuple[int, str], int] = defaultdict(int)
    us87: dict[int, int] = defaultdict(int)
    us: dict[int, int] = defaultdict(int)
    for (f, y, _m, ch), rows in state.items():
        if y != 2024:
            continue
        for (hs, c), v in rows.items():
            by4[(f, hs[:4])] += v
            if c == "304":
                us[f] += v
                if ch == "87":
                    us87[f] += v
    top_exp = sorted((v, h) for (f, h), v in by4.items() if f == 1)[::-1]
    top_imp = sorted((v, h) for (f, h), v in by4.items() if f == 2)[::-1]
    assert top_exp[0][1] == "8703"
    assert {"8708", "8542", "8486"} <= {h for _, h in top_exp[:15]}
    assert top_imp[0][1] in ("2709", "2711")
    assert {"2709", "2711", "2701", "3004"} <= {h for _, h in top_imp[:12]}
    for h in ("8541", "8532", "8533", "3002", "8471", "9018"):
        assert by4[(1, h)] + by4[(2, h)] > 0, h
    assert us87[1] - us87[2] > 0.6 * (us[1] - us[2])  # US surplus driven by motor vehicles
    chapters = {int(ch) for (_f, _y, _m, ch) in state}
    assert len(chapters) > 80 and 77 not in chapters and max(chapters) <= 97


@pytest.mark.skipif(
    not (REFERENCE / "codes" / "harmonized-system.csv").exists(),
    reason="shared reference not available",
)
def test_hs_codes_are_real_subheadings(default_sample: Sample) -> None:
    """HS 2022 subheadings, but for the HS 2017 one the sample writes before its staged edition
    change (plan.CODE_CHANGES): a real HS 2017 subheading the UN tables correlate with the new
    codes' subheadings."""
    from trade_etl.sample.plan import CODE_CHANGES

    with open(REFERENCE / "codes" / "harmonized-system.csv", newline="", encoding="utf-8") as fh:
        hs6 = {r["hscode"] for r in csv.DictReader(fh) if r["level"] == "6"}
    used = {
        (hs[:6], y) for rel in default_sample.releases for (_f, y, _m, _ch), rows in
        rel.cells.items() for hs, _c in rows
        if "X" not in hs  # a confidential code's subheading is withheld
    }
    staged = {(old[:6], y) for first, old, _new in CODE_CHANGES for _s, y in used if y < first}
    assert {sub for sub, _y in used - staged} <= hs6
    old_edition = {sub for sub, _y in used & staged} - hs6
    assert old_edition == {"851712"}
    with open(REFERENCE / "codes" / "hs6_edition_concordance.csv", newline="",
              encoding="utf-8") as fh:
        links = {(r["code.before"].zfill(6), r["code.after"].zfill(6))
                 for r in csv.DictReader(fh) if r["adjustment"] == "2022 to 2017"}
    assert {("851712", "851713"), ("851712", "851714")} <= links


def test_determinism(tmp_path: Path, default_dir: Path) -> None:
    write_sample(tmp_path / "again")
    files_a = sorted(p.relative_to(default_dir) for p in default_dir.rglob("*") if p.is_file())
    files_b = sorted(
        p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file()
    )
    assert files_a == files_b
    for rel in files_a:
        assert (default_dir / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel
    write_sample(tmp_path / "other_seed", years=(2024,), scale=0.1, seed=1)
    a = (tmp_path / "other_seed" / "2025-11-28_fixed" / "exp_2024_s16-s21.csv").read_bytes()
    assert a != (default_dir / "2025-11-28_fixed" / "exp_2024_s16-s21.csv").read_bytes()


def test_scale_changes_row_count_roughly_linearly(tmp_path: Path, default_dir: Path) -> None:
    write_sample(tmp_path, years=(2024,), scale=0.5)

    def rows(root: Path) -> int:
        return sum(len(valid) for *_x, valid, _bad in load_folder(root / "2025-11-28_fixed"))

    full = rows(default_dir)
    half = rows(tmp_path)
    assert 6_000 <= full <= 12_000  # both flows: 3,000-6,000 rows per flow-year
    assert 0.4 < half / full < 0.65


def test_refuses_existing_release_folders(tmp_path: Path) -> None:
    (tmp_path / "2024-04-17_preliminary").mkdir()
    with pytest.raises(ValueError, match="release folders"):
        write_sample(tmp_path, years=(2024,), scale=0.05)
    with pytest.raises(ValueError):
        write_sample(tmp_path / "new", years=(2024,), scale=0)


@pytest.mark.skipif(
    not (REFERENCE / "real" / "trade_year.csv").exists(), reason="shared reference not available"
)
def test_profile_is_derived_from_reference() -> None:
    assert build_profile(REFERENCE) == PROFILE_CSV.read_text(encoding="utf-8")


def test_a_revised_vintage_year_builds_without_its_fixed_release(tmp_path: Path) -> None:
    """2025's Ministry totals (data/ref/official_totals.csv) are the revised vintage, and the
    blocking check totals_match_official compares a complete revised year with them. Until its
    fixed release is added (the benchmark's template holds every release but the newest), the
    sample's 2025 is at the revised stage, so its revised release holds the final figures: a
    build of it passes, and adding the fixed release changes no 2025 figure."""
    import duckdb

    from tests.conftest import build

    raw = tmp_path / "raw"
    write_sample(raw, [2025], scale=0.2)
    fixed = sorted(raw.glob("*_fixed"))
    assert [p.name for p in fixed] == ["2026-11-28_fixed"]
    held = tmp_path / fixed[0].name
    fixed[0].rename(held)
    warehouse = tmp_path / "trade.duckdb"
    assert build(raw, warehouse) == 0
    query = ("select flow, month, country_code, sum(value_thousand_jpy) from core.trade_latest "
             "where year = 2025 group by all order by all")
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        revised = conn.sql(query).fetchall()
    held.rename(raw / held.name)
    assert build(raw, warehouse) == 0
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.sql(query).fetchall() == revised
