"""Exchange rates fetched from FRED: the CSV format, the vintages kept in the raw folder, and
how they join the shipped tables `data/ref/fx_daily.csv` and `fx_monthly.csv`.

Source: FRED (Federal Reserve Bank of St. Louis), `fredgraph.csv?id=DEXJPUS` (daily noon buying
rates in New York, yen per dollar) and `?id=EXJPUS` (their monthly average). Older downloads
head the CSV `DATE,<ID>`, newer ones `observation_date,<ID>`; a day without a rate (a US
holiday) has an empty value, or `.` in older files; monthly rows are dated the 1st.

Each download is kept as a vintage, `RAW/.fx/<ID>/<fetched-at>.csv` (`2026-12-06T091500Z`, a
second one within the same second `…Z-r2`) beside `<fetched-at>.json` (url, sha256, fetched_at,
first and last date). Release discovery skips dot-folders, so the vintages never look like a
release. A build uses the newest vintage of each series whose manifest and bytes agree.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

FX_DIR = ".fx"  # under the raw folder; a dot-folder, skipped by release discovery
DAILY, MONTHLY = "DEXJPUS", "EXJPUS"
SERIES = {DAILY: "daily", MONTHLY: "monthly"}
DATE_HEADERS = ("DATE", "observation_date")  # older and newer FRED downloads
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{6}Z)(?:-r([0-9]+))?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_VALUE = re.compile(r"^[0-9]+(\.[0-9]+)?$")


class FxFormatError(Exception):
    """A FRED CSV that is not what the loader can trust: names the URL (or file), line, reason."""

    def __init__(self, where: str, line: int, reason: str) -> None:
        super().__init__(f"{where} line {line}: {reason}")
        self.where, self.line, self.reason = where, line, reason


Observation = tuple[date, Decimal | None]  # a day (monthly: the 1st) and its rate, or None


def parse_fred_csv(text: str, series: str, where: str) -> list[Observation]:
    """Every row of a FRED CSV of `series`, checked whole: header `DATE,<ID>` or
    `observation_date,<ID>`; ISO dates, strictly increasing (monthly: the 1st); values positive
    decimals, or empty or `.` for a day without a rate; at least one rate. FxFormatError names
    the first line that breaks a rule."""
    lines = text.removeprefix("\ufeff").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise FxFormatError(where, 1, "empty: no header line")
    head = [cell.strip() for cell in lines[0].split(",")]
    if len(head) != 2 or head[0] not in DATE_HEADERS or head[1] != series:
        raise FxFormatError(where, 1, f"header {lines[0][:80]!r} is not DATE,{series} or "
                            f"observation_date,{series}")
    out: list[Observation] = []
    previous: date | None = None
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        if len(cells) != 2:
            raise FxFormatError(where, number, f"{len(cells)} fields instead of 2: {line[:80]!r}")
        day_text, value_text = cells[0].strip(), cells[1].strip()
        try:
            if not _DATE.match(day_text):
                raise ValueError
            day = date.fromisoformat(day_text)
        except ValueError:
            raise FxFormatError(where, number, f"date {day_text[:40]!r} is not YYYY-MM-DD"
                                ) from None
        if previous is not None and day <= previous:
            raise FxFormatError(where, number, f"date {day} does not come after {previous}")
        if SERIES[series] == "monthly" and day.day != 1:
            raise FxFormatError(where, number, f"monthly date {day} is not the 1st of a month")
        if value_text in ("", "."):
            value = None
        elif _VALUE.match(value_text) and Decimal(value_text) > 0:
            value = Decimal(value_text)
        else:
            raise FxFormatError(where, number, f"value {value_text[:40]!r} is not a positive "
                                "decimal, empty or '.'")
        out.append((day, value))
        previous = day
    if not any(value is not None for _day, value in out):
        raise FxFormatError(where, len(lines), f"no {series} rate in the file")
    return out


def series_dir(raw_dir: Path, series: str) -> Path:
    return raw_dir / FX_DIR / series


def vintage_key(stem: str) -> tuple[str, int] | None:
    """(timestamp, revision) of a vintage's name, or None for a name that is not one."""
    match = _STAMP.match(stem)
    return (match.group(1), int(match.group(2) or 1)) if match else None


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Vintage:
    series: str
    name: str  # `2026-12-06T091500Z`
    csv: Path
    manifest: dict

    @property
    def source(self) -> str:
        """What ref tables record for a rate from this vintage: `fred:DEXJPUS/2026-…Z`."""
        return f"fred:{self.series}/{self.name}"


def vintages(raw_dir: Path, series: str) -> list[Vintage]:
    """The complete vintages of a series (a CSV with its manifest beside it), oldest first."""
    folder = series_dir(raw_dir, series)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.csv"):
        key = vintage_key(path.stem)
        meta = path.with_suffix(".json")
        if key is None or not meta.is_file():
            continue  # a CSV whose manifest was never written: a fetch killed in between
        try:
            manifest = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict):
            found.append((key, Vintage(series, path.stem, path, manifest)))
    return [v for _key, v in sorted(found, key=lambda kv: kv[0])]


def newest_usable(raw_dir: Path, series: str) -> tuple[Vintage | None, list[Observation],
                                                        list[str]]:
    """The newest vintage whose bytes match its manifest's sha256 and that parses, with its
    observations, and what was wrong with any newer one (edited or damaged by hand)."""
    problems = []
    for vintage in reversed(vintages(raw_dir, series)):
        if sha256_of(vintage.csv) != vintage.manifest.get("sha256"):
            problems.append(f"{vintage.csv}: its sha256 is not the one in {vintage.name}.json "
                            "(changed after download); using an older vintage")
            continue
        try:
            rows = parse_fred_csv(vintage.csv.read_text(encoding="utf-8"), series,
                                  str(vintage.csv))
        except (FxFormatError, UnicodeDecodeError) as err:
            problems.append(f"{err}; using an older vintage")
            continue
        return vintage, rows, problems
    return None, [], problems


def fingerprint(raw_dir: Path) -> list[tuple[str, str, str]]:
    """(series, vintage, sha256) of the vintage each series' rates come from: a build's input."""
    out = []
    for series in SERIES:
        vintage, _rows, _problems = newest_usable(raw_dir, series)
        if vintage is not None:
            out.append((series, vintage.name, vintage.manifest.get("sha256", "")))
    return out


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


FOUR_PLACES = Decimal("0.0001")


def monthly_means(daily: list[Observation]) -> dict[str, Decimal]:
    """'YYYY-MM' -> the mean of the month's daily rates (days without one left out), rounded
    half-up to 4 decimals, for the months the daily series covers whole: its first row on or
    before the month's 1st and a row after the month's end. That is how EXJPUS is computed
    (docs/reference.md); a month still under way gets no mean."""
    if not daily:
        return {}
    first, last = daily[0][0], daily[-1][0]
    values: dict[str, list[Decimal]] = {}
    for day, value in daily:
        if value is not None:
            values.setdefault(_month(day), []).append(value)
    out = {}
    for month, rates in values.items():
        start = date.fromisoformat(month + "-01")
        if first <= start and last >= _next_month(start):
            out[month] = (sum(rates) / len(rates)).quantize(FOUR_PLACES, ROUND_HALF_UP)
    return out


@dataclass
class FetchedRates:
    """What the newest vintages add to the shipped tables (rows as ref.fx_* has them)."""

    daily: list[tuple[date, float, str]]
    monthly: list[tuple[str, float, str]]
    problems: list[str]


def fetched_rates(raw_dir: Path | None) -> FetchedRates:
    """Rates from the newest usable vintages: the daily rates (days with one), and per month
    the EXJPUS average, else the mean of DEXJPUS for a month it covers whole (marked
    `… mean` in `source`)."""
    if raw_dir is None:
        return FetchedRates([], [], [])
    daily_vintage, daily, problems = newest_usable(raw_dir, DAILY)
    monthly_vintage, monthly, more = newest_usable(raw_dir, MONTHLY)
    daily_rows = [(day, float(value), daily_vintage.source) for day, value in daily
                  if value is not None]
    months: dict[str, tuple[float, str]] = {}
    if daily_vintage is not None:
        for month, mean in monthly_means(daily).items():
            months[month] = (float(mean), f"{daily_vintage.source} mean")
    for day, value in monthly:
        if value is not None:
            months[_month(day)] = (float(value), monthly_vintage.source)
    return FetchedRates(daily_rows, [(m, v, s) for m, (v, s) in sorted(months.items())],
                        problems + more)
