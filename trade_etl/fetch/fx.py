"""`trade-etl fetch --fx`: download FRED's yen-dollar rates and keep each download as a vintage.

`GET <base>/graph/fredgraph.csv?id=DEXJPUS` (daily) and `?id=EXJPUS` (monthly average), through
the project's PoliteClient (deadlines, retries on 5xx and connection errors, redirects checked).
Every download is validated whole (trade_etl/formats/fx_rates.py) before anything is written: a
malformed CSV stops the fetch (exit 2) naming its URL, line and reason, and keeps nothing. The
others are then kept as `RAW/.fx/<ID>/<fetched-at>.csv` with a manifest `<fetched-at>.json`,
each written to a temporary file and renamed; a download identical to the newest vintage is not
kept twice. A series that still fails after its retries fails alone (exit 1); the vintages
already held stay, and builds keep using them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from trade_etl.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from trade_etl.fetch.http import FetchFailed, Manners, PoliteClient, Retryable
from trade_etl.formats.fx_rates import (
    FX_DIR,
    SERIES,
    FxFormatError,
    parse_fred_csv,
    series_dir,
    vintages,
)
from trade_etl.settings import Settings

MAX_BYTES = 16 * 1024**2  # DEXJPUS since 1971 is about 300 kB
LOCK_NAME = ".lock"


def series_url(base_url: str, series: str) -> str:
    return f"{base_url.rstrip('/')}/graph/fredgraph.csv?id={series}"


def make_manners(base_url: str, config: Settings) -> Manners:
    """The e-Stat fetch's manners and limits (the same settings), redirects allowed to the
    base URL's host and TRADE_ETL_FETCH_REDIRECT_HOSTS."""
    hosts = (urlsplit(base_url).hostname or "", *config.fetch_redirect_hosts)
    return Manners(
        pause_s=config.fetch_pause, backoff_s=config.fetch_backoff,
        attempts=config.fetch_attempts, deadline_s=config.fetch_page_deadline,
        page_deadline_s=config.fetch_page_deadline, min_rate=config.fetch_min_rate,
        rate_grace_s=config.fetch_rate_grace, max_page_bytes=MAX_BYTES,
        redirect_hosts=tuple(h for h in hosts if h))


@dataclass
class SeriesResult:
    series: str
    url: str
    status: str = "pending"  # new | unchanged | failed | malformed | not kept
    reason: str = ""
    vintage: str = ""  # the vintage file kept, or the newest one equal to the download
    first_date: str = ""
    last_date: str = ""


@dataclass
class FxReport:
    series: list[SeriesResult] = field(default_factory=list)
    malformed: str | None = None  # the first malformed download: URL, line and reason

    @property
    def exit_code(self) -> int:
        if self.malformed:
            return EXIT_USAGE
        return EXIT_FAILED if any(s.status == "failed" for s in self.series) else EXIT_OK

    def render(self, raw_dir: Path) -> str:
        if self.malformed:
            return (f"error: a rate file was not what FRED publishes, nothing was kept: "
                    f"{self.malformed}")
        lines = []
        for s in self.series:
            if s.status == "failed":
                lines.append(f"{s.series}: failed: {s.reason}; the vintages already held are "
                             "kept and used")
            else:
                lines.append(f"{s.series}: {s.status} vintage {s.vintage} ({SERIES[s.series]}, "
                             f"{s.first_date} … {s.last_date})")
        if any(s.status == "new" for s in self.series):
            lines.append(f"next: trade-etl build --raw-dir {raw_dir}")
        return "\n".join(lines)


def _download(client: PoliteClient, url: str) -> bytes:
    def receive(response) -> bytes:
        parts, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BYTES:
                raise FetchFailed(url, f"larger than the cap of {MAX_BYTES >> 20} MiB")
            parts.append(chunk)
        if not size:
            raise Retryable("empty body")
        return b"".join(parts)

    return client.request(url, receive, page=True, limit=MAX_BYTES,
                          too_large=f"larger than the cap of {MAX_BYTES >> 20} MiB")


def _write_whole(path: Path, data: bytes) -> None:
    """`data` at `path`, appearing whole or not at all (a temporary file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _sweep(folder: Path) -> None:
    """Remove what a killed fetch left: temporary files, and a CSV whose manifest was never
    written (we hold the lock: no other fetch is writing)."""
    for path in folder.glob(".*.tmp"):
        path.unlink(missing_ok=True)
    for path in folder.glob("*.csv"):
        if not path.with_suffix(".json").exists():
            path.unlink(missing_ok=True)


def _vintage_name(folder: Path, when: datetime) -> str:
    stamp = when.strftime("%Y-%m-%dT%H%M%SZ")
    name, revision = stamp, 1
    while (folder / f"{name}.csv").exists() or (folder / f"{name}.json").exists():
        revision += 1
        name = f"{stamp}-r{revision}"
    return name


def _keep(raw_dir: Path, result: SeriesResult, data: bytes, rows) -> None:
    folder = series_dir(raw_dir, result.series)
    folder.mkdir(parents=True, exist_ok=True)
    _sweep(folder)
    sha256 = hashlib.sha256(data).hexdigest()
    held = vintages(raw_dir, result.series)
    result.first_date, result.last_date = rows[0][0].isoformat(), rows[-1][0].isoformat()
    if held and held[-1].manifest.get("sha256") == sha256:
        result.status, result.vintage = "unchanged", held[-1].name
        return
    when = datetime.now(UTC)
    name = _vintage_name(folder, when)
    _write_whole(folder / f"{name}.csv", data)
    manifest = {
        "series": result.series, "frequency": SERIES[result.series], "url": result.url,
        "sha256": sha256, "bytes": len(data),
        "fetched_at": when.isoformat(timespec="seconds"),
        "first_date": result.first_date, "last_date": result.last_date,
        "rates": sum(1 for _day, value in rows if value is not None),
        "source": "FRED, Federal Reserve Bank of St. Louis (Board of Governors of the Federal "
                  "Reserve System, H.10)",
    }
    _write_whole(folder / f"{name}.json", (json.dumps(manifest, indent=1) + "\n").encode())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    result.status, result.vintage = "new", name


class FxBusy(Exception):
    """Another `fetch --fx` is writing the vintages."""


def fetch_rates(raw_dir: Path, config: Settings, base_url: str | None = None,
                progress: Callable[[str], None] = print,
                manners: Manners | None = None) -> FxReport:
    """Download every series, validate all, then keep what is new (see the module docstring).
    `base_url` and `manners` default to the settings `config`'s."""
    base_url = (base_url or config.fx_base_url).rstrip("/")
    manners = manners or make_manners(base_url, config)
    report = FxReport([SeriesResult(s, series_url(base_url, s)) for s in SERIES])
    downloaded: dict[str, tuple[bytes, list]] = {}
    with PoliteClient(manners, log=progress) as client:
        for result in report.series:
            try:
                data = _download(client, result.url)
            except FetchFailed as err:
                result.status, result.reason = "failed", str(err)
                progress(f"failed   {result.series}: {err}")
                continue
            try:
                rows = parse_fred_csv(data.decode("utf-8"), result.series, result.url)
            except UnicodeDecodeError as err:
                rows = None
                problem = f"{result.url} line 1: not UTF-8 text ({err.reason})"
            except FxFormatError as err:
                rows, problem = None, str(err)
            if rows is None:
                result.status, result.reason = "malformed", problem
                report.malformed = report.malformed or problem
                continue
            downloaded[result.series] = (data, rows)
    if report.malformed:  # nothing is kept: what else came from that server is suspect too
        for result in report.series:
            if result.series in downloaded:
                result.status = "not kept"
        return report
    if downloaded:
        (raw_dir / FX_DIR).mkdir(parents=True, exist_ok=True)
        lock = (raw_dir / FX_DIR / LOCK_NAME).open("a+")
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FxBusy(f"another trade-etl fetch --fx is writing to {raw_dir / FX_DIR}; "
                             "wait for it to finish") from None
            for result in report.series:
                if result.series in downloaded:
                    _keep(raw_dir, result, *downloaded[result.series])
                    progress(f"{result.status:<8} {result.series} {result.first_date} … "
                             f"{result.last_date} -> {FX_DIR}/{result.series}/{result.vintage}"
                             ".csv")
        finally:
            lock.close()
    return report
