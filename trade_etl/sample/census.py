"""Synthetic US Census Bureau releases (reporter USA) that mirror the Japanese sample's trade
with the United States. **Made up**, like the rest of the sample: never quote them.

Each Japanese fixed row with the United States (Japan Customs code 304) becomes one US line: its
9-digit code and a trailing 0 as the 10-digit code (the same HS subheading), Japan's exports as
US general imports from Japan (`imports_*.json`) and Japan's imports as US total exports to
Japan (`exports_*.json`), in whole dollars, one file per flow and month in the API's own layout
(trade_etl/formats/census.py). The figures follow Japan's through documented asymmetries, the
same model the mirror marts split the gap with (docs/mirror.md), so each lands in its own part:

- currency: Japan's customs converted the dollar invoices at its rate q (the month's daily rates
  shifted back `lag_days`), so the invoice is J / q; 0 days: at the month's average r;
- valuation: Japan's imports are c.i.f., the US's exports f.a.s.: the US shows J / q / (1 + k);
- timing: the importer records the share s of a month's shipments in the next month: US
  imports in month m are (1 - s) x_m + s x_(m-1) of Japan's exports x; US exports in m are
  (1 - s) x_m + s x_(m+1) of what Japan records as imports (a month Japan does not report
  counts as the month itself);
- re-exports: US exports include foreign goods re-exported to Japan, which Japan records as
  imports from their origin: US exports × (1 + re_export). No part models it: it is unexplained.

`Asymmetries.off()` switches them all off: the US figures are then Japan's at the month's
average rate, rounded to the dollar, and the mirror's gap is zero. Two vintages: a `monthly`
release in February after the last year, whose figures differ from the final ones by up to
about 1 % a line, and the `revised` release of the June annual revision with the final ones.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from trade_etl.formats import census
from trade_etl.sample.rand import _normal
from trade_etl.settings import REF_DATA_DIR

US_CUSTOMS_CODE = "304"  # the United States in Japan Customs' country list


@dataclass(frozen=True)
class Asymmetries:
    """How the synthetic US figures differ from Japan's (each 0 / False: none)."""

    lag_days: int = 14  # Japan's customs rate: daily rates shifted back this many days
    cif_fob_margin: float = 0.06  # freight and insurance on Japan's imports
    transit_share: float = 0.3  # of a month's shipments, recorded by the importer next month
    re_export: float = 0.03  # US exports to Japan that Japan attributes to another origin

    @classmethod
    def off(cls) -> Asymmetries:
        return cls(lag_days=0, cif_fob_margin=0.0, transit_share=0.0, re_export=0.0)


def _rates() -> tuple[dict[tuple[int, int], float], list[tuple[dt.date, float]]]:
    with (REF_DATA_DIR / "fx_monthly.csv").open(encoding="utf-8") as handle:
        monthly = {(int(r["month"][:4]), int(r["month"][5:7])): float(r["jpy_per_usd"])
                   for r in csv.DictReader(handle) if r["jpy_per_usd"]}
    with (REF_DATA_DIR / "fx_daily.csv").open(encoding="utf-8") as handle:
        daily = [(dt.date.fromisoformat(r["date"]), float(r["jpy_per_usd"]))
                 for r in csv.DictReader(handle) if r["jpy_per_usd"]]
    return monthly, daily


def customs_rate(year: int, month: int, lag_days: int, monthly: Mapping, daily: list) -> float:
    """Japan's customs rate for a month as the mirror marts estimate it
    (sql/core/mirror_cells_as_of.sql): the mean of the daily rates from the month's first to
    last day, each shifted back `lag_days`; the month's average when 0 or no daily rate."""
    average = monthly[(year, month)]
    if lag_days == 0:
        return average
    first = dt.date(year, month, 1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    lag = dt.timedelta(days=lag_days)
    window = [rate for day, rate in daily if first - lag <= day <= last - lag]
    return sum(window) / len(window) if window else average


def _descriptions() -> dict[str, str]:
    with (REF_DATA_DIR / "hs_subheadings.csv").open(encoding="utf-8") as handle:
        return {r["hs_subheading"]: r["subheading_name"].upper()[:50]
                for r in csv.DictReader(handle)}


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


def us_lines(japan: Mapping[tuple[int, int], pl.DataFrame], asym: Asymmetries
             ) -> dict[tuple[str, int, int], dict[str, int]]:
    """The final US figures: {(flow name, year, month): {hs10: dollars}} from Japan's rows with
    the United States, `japan[(year, flow)]` (hs9 and v0..v11 in thousand yen)."""
    monthly, daily = _rates()
    values: dict[tuple[int, int, int], dict[str, int]] = {}  # (flow, year, month) -> hs9 -> kJPY
    for (year, flow), rows in japan.items():
        for m in range(12):
            cells = {hs9: v for hs9, v in rows.select("hs9", f"v{m}").iter_rows() if v}
            values[(flow, year, m + 1)] = cells
    out: dict[tuple[str, int, int], dict[str, int]] = {}
    for flow, year, month in values:
        if (year, month) not in monthly:
            continue
        margin = asym.cif_fob_margin if flow == 2 else 0.0

        def dollars(y: int, m: int, f: int = flow, k: float = margin) -> dict[str, float]:
            """x: Japan's figures of month (y, m) as US-basis dollars; None if not reported."""
            if (f, y, m) not in values or (y, m) not in monthly:
                return None
            q = customs_rate(y, m, asym.lag_days, monthly, daily)
            return {hs9: v * 1000 / q / (1 + k) for hs9, v in values[(f, y, m)].items()}

        x = dollars(year, month)
        neighbour = dollars(*_shift(year, month, -1 if flow == 1 else 1))
        if neighbour is None:
            neighbour = x
        s = asym.transit_share
        lines = {}
        for hs9 in sorted(set(x) | set(neighbour)):
            value = (1 - s) * x.get(hs9, 0.0) + s * neighbour.get(hs9, 0.0)
            if flow == 2:
                value *= 1 + asym.re_export
            dollars_whole = round(value)
            if dollars_whole:
                lines[f"{hs9}0"] = dollars_whole
        us_flow = census.IMPORTS if flow == 1 else census.EXPORTS
        out[(us_flow.name, year, month)] = lines
    return out


def _answer(flow: census.Flow, year: int, month: int, lines: Mapping[str, int],
            names: Mapping[str, str]) -> bytes:
    """One answer as the API writes it: the header (the variables, then the predicates it
    appends), one row per line."""
    header = [*flow.variables, "CTY_CODE", "COMM_LVL", "YEAR", "MONTH"]
    rows = [header]
    for hs10, value in sorted(lines.items()):
        values = {"CTY_CODE": census.JAPAN_CENSUS_CODE, "CTY_NAME": "JAPAN",
                  flow.commodity: hs10, flow.description: names.get(hs10[:6], f"HS {hs10[:6]}"),
                  flow.value: str(value), "CON_VAL_MO": str(value)}
        rows.append([*(values[v] for v in flow.variables), census.JAPAN_CENSUS_CODE,
                     census.COMMODITY_LEVEL, f"{year:04d}", f"{month:02d}"])
    text = "[" + ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "]"
    return text.encode("utf-8")


def write_census(out_dir: Path, japan: Mapping[tuple[int, int], pl.DataFrame],
                 asym: Asymmetries, seed: int = 0) -> list[Path]:
    """Write the two US vintages under `out_dir/USA/` (the raw folder's reporter folder) and
    return their folders: `<L+1>-02-05_monthly` (first figures) and `<L+1>-06-10_revised` (the
    annual revision, final figures), L the last year of `japan`."""
    final = us_lines(japan, asym)
    names = _descriptions()
    last = max(year for year, _ in japan)
    root = Path(out_dir) / census.REPORTER
    folders = []
    for date, stage in ((dt.date(last + 1, 2, 5), "monthly"), (dt.date(last + 1, 6, 10),
                                                               "revised")):
        folder = root / f"{date.isoformat()}_{stage}"
        folder.mkdir(parents=True, exist_ok=True)
        for (flow_name, year, month), lines in sorted(final.items()):
            if stage == "monthly":  # first figures: within about 1 % of the final ones
                lines = {hs10: max(1, round(v * (1 + 0.004 * _normal(seed, "us", hs10, year,
                                                                     month))))
                         for hs10, v in lines.items()}
            if not lines:
                continue
            data = _answer(census.FLOWS[flow_name], year, month, lines, names)
            (folder / census.file_name(flow_name, year, month)).write_bytes(data)
        folders.append(folder)
    return folders
