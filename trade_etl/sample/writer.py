"""Turning the plan into files: headers, customs-office split, CSV and zip writing, bad lines,
``write_sample`` and the ``python -m trade_etl.sample`` entry point (``_main``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import polars as pl

from trade_etl.sample.calibration import build_profile
from trade_etl.sample.census import US_CUSTOMS_CODE, Asymmetries, write_census
from trade_etl.sample.plan import (
    _RELEASE_DIR_RE,
    _FlowYear,
    _plan,
    _release_dirname,
    parse_years,
    release_schedule,
)
from trade_etl.sample.rand import _key, _normal_e, _u64, _unif_e

# ----------------------------------------------------------------------------------------------
# Layout constants
# ----------------------------------------------------------------------------------------------
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FLOW_PREFIX = {1: "exp", 2: "imp"}
# (file tag, first chapter, last chapter): sections I-VII, VIII-XV, XVI-XXI
SECTION_FILES = (("s01-s07", 1, 40), ("s08-s15", 41, 83), ("s16-s21", 84, 97))
# How a release's rows are split into files (`write_sample(shape=...)`): "sections", three
# section-sized files per flow; "large", one whole-year file per flow (every chapter), the
# fixed release's exports as a customs-office (port) file.
SHAPES = ("sections", "large")
# fmt: off
CUSTOMS_OFFICES = ("100", "104", "107", "200", "202", "300", "301", "400", "401", "500", "600",
                   "700", "900")  # 13 (prime) so a stride walk never repeats
# fmt: on


def header(*, japanese: bool = False, custom: bool = False, apl: bool = False) -> list[str]:
    """Column names of a release file (45, or 46 with the customs-office column)."""
    if japanese:
        cols = (
            ["輸出入", "年"]
            + (["税関"] if custom else [])
            + ["HS", "国", "単位1", "単位2", "数量1-年", "数量2-年", "金額-年"]
        )
        for m in range(1, 13):
            cols += [f"数量1-{m}月", f"数量2-{m}月", f"金額-{m}月"]
        return cols
    cols = (
        ["Exp or Imp", "Year"]
        + (["Custom"] if custom else [])
        + ["HS", "Country", "Unit1", "Unit2", "Quantity1-Year", "Quantity2-Year", "Value-Year"]
    )
    for mon in MONTHS:
        mon = "Apl" if (apl and mon == "Apr") else mon
        cols += [f"Quantity1-{mon}", f"Quantity2-{mon}", f"Value-{mon}"]
    return cols


def _customs_split(df: pl.DataFrame, key: int) -> pl.DataFrame:
    """Spread every row over 2-4 customs offices; the offices sum exactly to the row."""
    num = [f"{p}{m}" for m in range(12) for p in ("q1_", "q2_", "v")]
    df = (
        df.with_row_index("rid")
        .with_columns(
            _np=2 + (_unif_e(_key(key, "nports")) * 3).floor().cast(pl.Int64),
            _start=(_unif_e(_key(key, "start")) * 13).floor().cast(pl.Int64),
            _stride=1 + (_unif_e(_key(key, "stride")) * 12).floor().cast(pl.Int64),
        )
        .with_columns(_j=pl.int_ranges(0, pl.col("_np")))
        .explode("_j")
    )
    df = df.with_columns(
        _ctr=pl.col("rid").cast(pl.UInt64) * _u64(8) + pl.col("_j").cast(pl.UInt64),
        custom=((pl.col("_start") + pl.col("_j") * pl.col("_stride")) % 13).replace_strict(
            dict(enumerate(CUSTOMS_OFFICES)), return_dtype=pl.String
        ),
    ).with_columns(
        _pw=((0.8 * _normal_e(_key(key, "pw"), "_ctr")).exp() * 1e6).round().cast(pl.Int64)
    )
    # systematic rounding on cumulative port shares: exact sums, non-negative, no window per column
    cum = pl.col("_pw").cum_sum().over("rid")
    tot = pl.col("_pw").sum().over("rid")
    df = df.with_columns(
        _c1=cum.cast(pl.Float64) / tot.cast(pl.Float64),
        _c0=(cum - pl.col("_pw")).cast(pl.Float64) / tot.cast(pl.Float64),
    )
    df = df.with_columns(
        (
            (pl.col(c).cast(pl.Float64) * pl.col("_c1")).round()
            - (pl.col(c).cast(pl.Float64) * pl.col("_c0")).round()
        )
        .cast(pl.Int64)
        .alias(c)
        for c in num
    ).drop("_pw", "_c0", "_c1")
    df = df.filter(pl.any_horizontal([pl.col(c) != 0 for c in num]))
    return df.sort(["hs9", "code", "custom"]).drop("rid", "_np", "_start", "_stride", "_j", "_ctr")


def _frame(
    df: pl.DataFrame, flow: int, year: int, *, hs_quote: bool, unit1_blank: str | None, custom: bool
) -> pl.DataFrame:
    hs = pl.concat_str(pl.lit("'"), pl.col("hs9"), pl.lit("'")) if hs_quote else pl.col("hs9")
    cols = [pl.lit(flow, dtype=pl.Int64).alias("c_flow"), pl.lit(year, dtype=pl.Int64).alias("c_y")]
    if custom:
        cols.append(pl.col("custom").alias("c_custom"))
    cols += [
        hs.alias("c_hs"),
        pl.col("code").alias("c_cty"),
        pl.col("unit1").fill_null(pl.lit(unit1_blank, dtype=pl.String)).alias("c_u1"),
        pl.col("unit2").alias("c_u2"),
        pl.sum_horizontal([pl.col(f"q1_{m}") for m in range(12)]).alias("c_q1y"),
        pl.sum_horizontal([pl.col(f"q2_{m}") for m in range(12)]).alias("c_q2y"),
        pl.sum_horizontal([pl.col(f"v{m}") for m in range(12)]).alias("c_vy"),
    ]
    for m in range(12):
        cols += [
            pl.col(f"q1_{m}").alias(f"c_q1_{m}"),
            pl.col(f"q2_{m}").alias(f"c_q2_{m}"),
            pl.col(f"v{m}").alias(f"c_v{m}"),
        ]
    return df.select(cols)


def _write_csv(
    fh: BinaryIO,
    frame: pl.DataFrame,
    head: list[str],
    *,
    crlf: bool = False,
    bom: bool = False,
    encoding: str = "utf-8",
    extra_lines: Sequence[str] = (),
) -> None:
    term = "\r\n" if crlf else "\n"
    if bom:
        fh.write(b"\xef\xbb\xbf")
    fh.write((",".join(head) + term).encode(encoding))
    cut = frame.height // 2 if extra_lines else frame.height
    if cut:
        frame[:cut].write_csv(fh, include_header=False, line_terminator=term)
    if extra_lines:
        fh.write("".join(line + term for line in extra_lines).encode(encoding))
    if frame.height > cut:
        frame[cut:].write_csv(fh, include_header=False, line_terminator=term)


def _bad_lines(flow: int, year: int) -> list[str]:
    """Deliberately invalid EXTRA lines (see the package docstring)."""

    def line(
        hs: str, country: str, unit2: str, months: dict[int, tuple[str, str]], unit1: str = ""
    ) -> list[str]:
        cells = []
        q_tot = v_tot = 0.0
        for m in range(12):
            q, v = months.get(m, ("0", "0"))
            q_tot += float(q)
            v_tot += float(v)
            cells += ["0", q, v]

        def fmt(x: float) -> str:
            return str(int(x)) if x == int(x) else str(x)

        head = [str(flow), str(year), hs, country, unit1, unit2, "0", fmt(q_tot), fmt(v_tot)]
        return head + cells

    if flow == 1:
        return [
            ",".join(line("'870323915'", "999", "NO", {2: ("12", "36500"), 7: ("3", "9100")})),
            ",".join(line("'87089910'", "304", "KG", {4: ("5200", "18800")})),
            ",".join(
                line("'854231910'", "105", "NO", {1: ("40000", "9600"), 4: ("-1000", "-5000")})
            ),
        ]
    return [
        ",".join(line("'030617000'", "110", "KG", {0: ("300", "1500"), 5: ("200", "900")})[:20]),
        ",".join(line("'100590000'", "304", "KG", {0: ("1000", "1234.5")})),
    ]


def _subtotal_line(frame: pl.DataFrame, flow: int, year: int, country: str) -> str:
    """A partner's subtotal over the file's codes, HS `S-TOTAL`: it repeats the figures of the
    partner's lines, so a validator must quarantine it ("subtotal row, not counted")."""
    measures = [c for c in frame.columns if c.startswith(("c_q", "c_v"))]
    numbers = frame.filter(pl.col("c_cty") == country).select(measures).sum().row(0)
    return ",".join([str(flow), str(year), "'S-TOTAL'", country, "", "",
                     *(str(int(n or 0)) for n in numbers)])


# Releases published from this date on carry a .manifest.json as the fetcher writes it; earlier
# ones are as if dropped by hand, so audit.latest_month_stages shows both kinds of stage.
MANIFESTS_FROM = dt.date(2025, 1, 1)
_MANIFEST_SOURCE = ("Synthetic sample (trade_etl.sample), shaped like the Ministry of Finance "
                    "tables on e-Stat: not real figures")
_SECTION_LABEL = {"s01-s07": "Section I-VII Chapter 01-40", "s08-s15":
                  "Section VIII-XV Chapter 41-83", "s16-s21": "Section XVI-XXI Chapter 84-97"}


def _release_files(
    shape: str, flow: int, year: int, k: int, first: int
) -> list[tuple[str, str | None, int, int, bool, str]]:
    """The files of one flow in a release of kind `k` of `year`: (file name, section tag or
    None for a whole-year file, first and last chapter, customs-office variant?, manifest title
    label).

    "sections": the three section files; the first year's fixed exports of sections VIII-XV
    by customs office. "large": one whole-year file; the fixed release's exports by customs
    office (`exp_Y_custom.csv`) in every year."""
    pre = FLOW_PREFIX[flow]
    if shape == "sections":
        return [(f"{pre}_{year}_{tag}.csv", tag, lo, hi,
                 k == 6 and year == first and flow == 1 and tag == "s08-s15",
                 _SECTION_LABEL[tag]) for tag, lo, hi in SECTION_FILES]
    if k == 6 and flow == 1:
        return [(f"{pre}_{year}_custom.csv", None, 1, 97, True,
                 "all sections by customs office")]
    return [(f"{pre}_{year}.csv", None, 1, 97, False, "all sections")]


def month_stages(kind: int, cover: int) -> list[dict]:
    """The stage of each month a release of `kind` holds, as a fetched title states it: in a
    preliminary release the newest month is provisional and the earlier ones detailed."""
    stage = {5: "revised", 6: "fixed"}.get(kind)
    return [{"month": m, "stage": stage or ("preliminary" if m == cover else "detailed")}
            for m in range(1, cover + 1)]


def _title(flow: int, months: list[dict], label: str) -> str:
    """`Commodity by Country (Import Jan-Feb:Detailed, Mar:9-digit Provisional) …`."""
    words = {"preliminary": "9-digit Provisional", "detailed": "Detailed", "revised": "Revised",
             "fixed": "Fixed"}
    runs: list[list] = []
    for m in months:
        if runs and runs[-1][2] == m["stage"]:
            runs[-1][1] = m["month"]
        else:
            runs.append([m["month"], m["month"], m["stage"]])
    parts = [f"{MONTHS[a - 1]}{'' if a == b else '-' + MONTHS[b - 1]}:{words[st]}"
             for a, b, st in runs]
    return (f"Commodity by Country ({'Export' if flow == 1 else 'Import'} {', '.join(parts)}) "
            f"{label} (synthetic sample)")


def _write_manifest(folder: Path, entries: list[dict]) -> None:
    """`.manifest.json` of a sample release, shaped like the fetcher's (trade_etl/fetch/
    manifest.py): per file its months and stages, bytes and sha256. Deterministic: no fetch
    time, statInfIds 9999… that e-Stat does not use."""
    files = []
    for entry in sorted(entries, key=lambda e: e["file_name"]):
        data = (folder / entry["file_name"]).read_bytes()
        files.append({**entry, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"manifest_version": 1, "release_id": folder.name, "source": _MANIFEST_SOURCE,
                "files": files}
    (folder / ".manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _zip_member(zf: zipfile.ZipFile, name: str) -> BinaryIO:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    return zf.open(info, "w")


def write_sample(
    out_dir: Path,
    years: Sequence[int] = (2023, 2024, 2025),
    scale: float = 1.0,
    seed: int = 0,
    bad_rows: bool = True,
    cp932: bool = True,
    confidential: bool = True,
    shape: str = "sections",
    census: Asymmetries | None = None,
) -> list[Path]:
    """Write the synthetic release folders for ``years`` under ``out_dir``; return them sorted.

    ``census``: also write US Census Bureau releases mirroring the trade with the United States
    under ``out_dir/USA/`` with these asymmetries (trade_etl/sample/census.py); None: Japan's
    releases only.

    ``cp932=False`` writes the Japanese-language download (see the module notes) in UTF-8 with
    the English header instead, for readers that take no CP932 (the benchmark's yardstick).
    ``confidential=False`` leaves out the confidential (`X`) codes: their figures stay on their
    9-digit codes (totals are the same), for readers that take only 9-digit codes (the same).

    ``shape`` says how a release's rows are split into files: ``"sections"`` (three files per
    flow by HS section, as e-Stat lists them) or ``"large"`` (one whole-year file per flow with
    every section, as the Ministry's whole-year downloads; the fixed release's exports as a
    customs-office file, ``exp_Y_custom.csv``, every row spread over 2-4 ports summing exactly
    to it).  The rows, their figures and every total are the same in both shapes for the same
    other arguments; only the files differ (the bad lines of the middle year go into the
    whole-year files, the subtotal line repeats the United States' lines of the whole file).

    ``scale`` multiplies the number of HS x country rows (about 3,400-3,800 per flow-year at 1.0;
    the pool of real codes saturates near scale 300); calibrated figures are exact at any scale
    and seed.  Raises ``ValueError`` if ``out_dir`` already holds release folders.
    """
    ys = parse_years(years) if isinstance(years, str) else sorted({int(y) for y in years})
    if not ys:
        raise ValueError("years must not be empty")
    if ys[0] < 1900 or ys[-1] > 2200:
        raise ValueError(f"years out of range: {ys}")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ValueError(f"{out_dir} exists and is not a directory")
        existing = sorted(p.name for p in out_dir.iterdir() if _RELEASE_DIR_RE.match(p.name))
        if existing:
            raise ValueError(
                f"{out_dir} already contains release folders ({', '.join(existing[:3])}"
                f"{', ...' if len(existing) > 3 else ''}); refusing to mix samples - "
                "choose an empty or new directory"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = int(seed)
    targets = _plan(ys, seed)
    first, last, middle = ys[0], ys[-1], ys[len(ys) // 2]
    written: set[Path] = set()
    manifest_entries: dict[Path, list[dict]] = {}
    mirrored: dict[tuple[int, int], pl.DataFrame] = {}
    for year in ys:
        for flow in (1, 2):
            fy = _FlowYear(year, flow, targets[(year, flow)], scale, seed)
            if not confidential:
                fy.confidential = {}
            pre = FLOW_PREFIX[flow]
            for k, date, stage, _cover in release_schedule(year):
                folder = out_dir / _release_dirname(date, stage)
                folder.mkdir(exist_ok=True)
                written.add(folder)
                vals = fy.values(k)
                if census is not None and k == 6:
                    mirrored[(year, flow)] = vals.filter(pl.col("code") == US_CUSTOMS_CODE).select(
                        "hs9", *[f"v{m}" for m in range(12)])
                zipped = k == 2 and year == first
                zf = zipfile.ZipFile(folder / f"{pre}_{year}.zip", "w") if zipped else None
                months = month_stages(k, _cover)
                entries = manifest_entries.setdefault(folder, [])
                entry = {"flow": "export" if flow == 1 else "import", "year": year,
                         "release_count": 1, "update_date": date.isoformat(), "months": months}
                if zipped:
                    entries.append({"file_name": f"{pre}_{year}.zip", **entry,
                                    "stat_inf_id": f"9999{year:04d}{flow}{k}00",
                                    "title": _title(flow, months, "all sections")})
                files = _release_files(shape, flow, year, k, first)
                for t, (name, tag, lo, hi, custom, label) in enumerate(files, start=1):
                    if not zipped:
                        entries.append({"file_name": name, **entry,
                                        "stat_inf_id": f"9999{year:04d}{flow}{k}"
                                                       f"{0 if tag is None else t:02d}",
                                        "title": _title(flow, months, label)})
                    part = vals.filter(pl.col("chapter").is_between(lo, hi))
                    if custom:
                        part = _customs_split(part, _key(seed, year, flow, "customs"))
                    frame = _frame(
                        part,
                        flow,
                        year,
                        hs_quote=k != 2,
                        unit1_blank="  " if k in (2, 3, 5) else None,
                        custom=custom,
                    )
                    del part
                    japanese = (cp932 and k == 1 and year == last and flow == 2
                                and tag in ("s01-s07", None))
                    bad_file = tag is None or (flow == 1 and tag == "s16-s21") or (
                        flow == 2 and tag == "s01-s07")
                    extra = (
                        _bad_lines(flow, year)
                        if bad_rows and k == 4 and year == middle and bad_file
                        else []
                    )
                    if extra and flow == 1:  # and a subtotal of the United States' lines
                        extra.append(_subtotal_line(frame, flow, year, "304"))
                    target = _zip_member(zf, name) if zf is not None else open(folder / name, "wb")
                    with target as fh:
                        _write_csv(
                            fh,
                            frame,
                            header(japanese=japanese, custom=custom, apl=k == 3),
                            crlf=k == 5,
                            bom=k == 4,
                            encoding="cp932" if japanese else "utf-8",
                            extra_lines=extra,
                        )
                    del frame
                if zf is not None:
                    zf.close()
                del vals
            del fy
    for folder, entries in manifest_entries.items():
        if dt.date.fromisoformat(folder.name[:10]) >= MANIFESTS_FROM:
            _write_manifest(folder, entries)
    if census is not None:
        written.update(write_census(out_dir, mirrored, census, seed))
    return sorted(written)


def _main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m trade_etl.sample", description="Write the synthetic customs-release sample."
    )
    ap.add_argument("out_dir", type=Path, nargs="?")
    ap.add_argument("--years", default="2023-2025")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-bad-rows", action="store_true")
    ap.add_argument("--no-cp932", action="store_true",
                    help="write the Japanese-language file in UTF-8 with the English header")
    ap.add_argument("--no-confidential", action="store_true",
                    help="no confidential (X) codes: their figures stay on 9-digit codes")
    ap.add_argument("--shape", choices=SHAPES, default="sections",
                    help="files per release: three by HS section per flow (sections), or one "
                    "whole-year file per flow and a customs-office file in fixed releases "
                    "(large); the rows and totals are the same")
    ap.add_argument(
        "--build-profile",
        type=Path,
        metavar="REFERENCE_DIR",
        help="print profile.csv derived from REFERENCE_DIR and exit",
    )
    a = ap.parse_args(argv)
    if a.build_profile:
        print(build_profile(a.build_profile), end="")
        return 0
    if a.out_dir is None:
        ap.error("out_dir is required")
    for p in write_sample(a.out_dir, parse_years(a.years), a.scale, a.seed, not a.no_bad_rows,
                          not a.no_cp932, not a.no_confidential, a.shape):
        print(p)
    return 0
