"""`trade-etl fetch --reporter USA`: the US Census Bureau's monthly trade by HS code and partner,
from its International Trade API, into dated release folders `RAW/USA/<YYYY-MM-DD>_<stage>/`.

What is asked (trade_etl/formats/census.py): for each flow (exports, imports), year and month,
one request naming every partner (`&CTY_CODE=5880&CTY_CODE=5700`) at `COMM_LVL=HS10`. A month
answered HTTP 204 is not published yet: no file. A server that answers 400 naming COMM_LVL (it
does not know that predicate) is asked again without it, for that request and the rest; its
answers then hold every commodity level, and the build keeps the finest codes.

Every answer is validated whole on receipt (`census.parse_answer`). The first malformed answer
(exit 2) or request still failing after the client's retries (exit 1) stops the fetch and
nothing is written. Answers are kept exactly as received, in a hidden folder `RAW/USA/.tmp-…`
beside the releases, each file fsynced, and the folder is renamed into place only when the
release is whole, so a crash never leaves half a release (the next fetch removes what a killed
one left). A set of answers byte-identical to the newest USA release's files is not kept twice.
The stage is `revised` when a month the newest release held has different figures (rows
compared as a sorted multiset of partner, HS code and values), else `monthly`.

All of it runs under a lock `RAW/.fetch-USA.lock` (exit 3 while another holds it), through the
project's PoliteClient (pause, deadlines, minimum rate, retries on 429/5xx with Retry-After,
redirects checked).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import ssl
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from trade_etl.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from trade_etl.fetch.fetcher import parse_years
from trade_etl.fetch.http import USER_AGENT, FetchFailed, Manners, PoliteClient
from trade_etl.formats import census
from trade_etl.formats.census import Flow
from trade_etl.formats.release_names import (
    FIRST_RELEASE_DATE,
    FUTURE_ALLOWANCE_DAYS,
    parse_release_dir,
    release_revision,
    stage_rank,
)
from trade_etl.formats.reporters import release_id
from trade_etl.settings import Settings

DEFAULT_BASE_URL = "https://api.census.gov"
DEFAULT_PARTNERS = "JPN"
MAX_BYTES = 64 * 1024**2  # one month of Japan at HS10 is about 2 MB
LOCK_NAME = f".fetch-{census.REPORTER}.lock"  # hidden: release discovery skips it
TMP_PREFIX = ".tmp-"
MANIFEST_NAME = ".manifest.json"
MANIFEST_VERSION = 1
ERROR_BODY_BYTES = 2048
SOURCE = ("U.S. Census Bureau, International Trade API, monthly trade by HS code and country "
          "(https://www.census.gov/data/developers/data-sets/international-trade.html)")


class CensusBusy(Exception):
    """Another `fetch --reporter USA` holds the lock."""


class CensusUsage(Exception):
    """An option that cannot be honoured, found once the releases held are known (exit 2)."""


@dataclass
class CensusOptions:
    raw_dir: Path
    partners: tuple[str, ...]  # ISO 3166-1 alpha-3
    codes: tuple[str, ...]  # their Census country codes, in the same order
    months: tuple[tuple[int, int], ...]  # (year, month) asked, oldest first
    base_url: str = DEFAULT_BASE_URL
    release_date: date | None = None  # None: today (UTC) when the release is written
    dry_run: bool = False
    manners: Manners = field(default_factory=Manners)

    @property
    def reporter_dir(self) -> Path:
        return self.raw_dir / census.REPORTER

    @property
    def years(self) -> list[int]:
        return sorted({year for year, _month in self.months})

    def plan(self) -> list[tuple[Flow, int, int]]:
        return [(flow, year, month) for flow in census.FLOWS.values()
                for year, month in self.months]


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def label(file_name: str) -> str:
    """`exports_2024-01.json` -> `exports 2024-01`."""
    return file_name.removesuffix(".json").replace("_", " ")


def today_utc() -> date:
    return datetime.now(UTC).date()


def parse_partners(spec: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`JPN,CHN` -> (('JPN', 'CHN'), ('5880', '5700')); ValueError naming a code the Bureau's
    country list lacks."""
    names = [p.strip().upper() for p in (spec or DEFAULT_PARTNERS).split(",") if p.strip()]
    names = list(dict.fromkeys(names))
    if not names:
        raise ValueError(f"--partners must name ISO 3166-1 alpha-3 codes (JPN,CHN), not {spec!r}")
    codes = []
    for name in names:
        if name == census.REPORTER:
            raise ValueError(f"--partners {name}: the United States is the reporter; name the "
                             "countries it trades with (JPN, CHN, …)")
        try:
            codes.append(census.census_code(name))
        except ValueError as err:
            raise ValueError(f"--partners: {err}") from None
    return tuple(names), tuple(codes)


def months_to_ask(years: list[int], today: date) -> tuple[tuple[int, int], ...]:
    """Every month of `years` up to the current one (none later is published)."""
    months = []
    for year in years:
        last = 12 if year < today.year else today.month if year == today.year else 0
        months += [(year, month) for month in range(1, last + 1)]
    return tuple(months)


def parse_release_date(text: str, today: date) -> date:
    try:
        when = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        when = None
    if when is None:
        raise ValueError(f"--release-date must be a date YYYY-MM-DD, not {text!r}")
    if when > today + timedelta(days=FUTURE_ALLOWANCE_DAYS):
        raise ValueError(f"--release-date {when} is in the future: builds refuse such a folder "
                         "as a mistyped name")
    if when < FIRST_RELEASE_DATE:
        raise ValueError(f"--release-date {when} is before {FIRST_RELEASE_DATE.year}, the "
                         "first year builds load")
    return when


def make_options(raw_dir: Path, config: Settings, *, partners: str | None = None,
                 years: str | None = None, base_url: str | None = None,
                 release_date: str | None = None, pause: float | None = None,
                 deadline: float | None = None, min_rate: float | None = None,
                 dry_run: bool = False, today: date | None = None) -> CensusOptions:
    """Options from the user's flags over the settings `config` (ValueError saying what is
    wrong with a flag). Years default to this calendar year and the last (UTC)."""
    today = today or today_utc()
    names, codes = parse_partners(partners)
    year_list = parse_years(years) if years else [today.year - 1, today.year]
    months = months_to_ask(year_list, today)
    if not months:
        raise ValueError(f"--years {years}: no month up to {today:%Y-%m} to ask for")
    when = parse_release_date(release_date, today) if release_date else None
    pause = config.fetch_pause if pause is None else pause
    if not 0 <= pause <= 60:
        raise ValueError(f"--pause must be 0-60 seconds, not {pause:g}")
    deadline = config.fetch_deadline if deadline is None else deadline
    if not 0 < deadline <= 86400:
        raise ValueError(f"--deadline must be above 0 and up to 86400 seconds, not {deadline:g}")
    min_rate = config.fetch_min_rate if min_rate is None else min_rate
    if not 0 <= min_rate <= 1e10:
        raise ValueError(f"--min-rate must be 0 (no minimum) or more bytes/s, not {min_rate:g}")
    base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
        raise ValueError(f"--base-url must be an http(s) URL, not {base_url!r}")
    hosts = ("census.gov", urlsplit(base_url).hostname or "", *config.fetch_redirect_hosts)
    manners = Manners(
        pause_s=pause, backoff_s=config.fetch_backoff, attempts=config.fetch_attempts,
        deadline_s=deadline, page_deadline_s=deadline, min_rate=min_rate,
        rate_grace_s=config.fetch_rate_grace, max_page_bytes=MAX_BYTES,
        redirect_hosts=tuple(h for h in hosts if h))
    return CensusOptions(raw_dir, names, codes, months, base_url, when, dry_run, manners)


def request_url(base_url: str, flow: Flow, codes: tuple[str, ...], year: int, month: int,
                commodity_level: bool = True) -> str:
    """The API's URL for one flow and month of every partner in `codes`."""
    query = [f"get={','.join(flow.variables)}", *(f"CTY_CODE={code}" for code in codes)]
    if commodity_level:
        query.append(f"COMM_LVL={census.COMMODITY_LEVEL}")
    query += [f"YEAR={year:04d}", f"MONTH={month:02d}"]
    return f"{base_url}/{census.DATASET_PATH.format(flow=flow.name)}?{'&'.join(query)}"


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()  # as httpx.Client builds it by default


class _Client(PoliteClient):
    """The project's PoliteClient, keeping the start of a 4xx answer's body, where the API says
    what it refused (PoliteClient's FetchFailed carries the status only). Read by an httpx
    response hook on each of the client's connection pools, within the attempt's deadline."""

    def __init__(self, manners: Manners, log: Callable[[str], None]) -> None:
        self.error_body = ""
        super().__init__(manners, log)

    def _new_client(self) -> httpx.Client:
        """PoliteClient's client (same timeouts, headers, no redirects followed), with the
        hook, and one SSL context for every pool: PoliteClient starts a new pool after each
        answer that is not a 200, every 204 of a month not out included, and loading the CA
        store again costs about 45 ms."""
        m = self.manners
        return httpx.Client(
            timeout=httpx.Timeout(m.read_timeout_s, connect=m.connect_timeout_s),
            follow_redirects=False, headers={"User-Agent": USER_AGENT}, verify=_ssl_context(),
            event_hooks={"response": [self._keep_error_body]})

    def _keep_error_body(self, response) -> None:
        if not 400 <= response.status_code < 500 or response.status_code == 429:
            return
        parts, size = [], 0
        for chunk in response.iter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if size >= ERROR_BODY_BYTES:
                break
        text = b"".join(parts)[:ERROR_BODY_BYTES].decode("utf-8", "replace")
        self.error_body = " ".join(text.split())[:200]

    def get_answer(self, url: str) -> bytes | None:
        """The answer's bytes; None for HTTP 204 (nothing published)."""
        too_large = f"larger than the cap of {MAX_BYTES >> 20} MiB: ask fewer partners at once"

        def receive(response) -> bytes:
            parts, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:  # decoded: a small gzip can unpack to a lot
                    raise FetchFailed(url, too_large)
                parts.append(chunk)
            return b"".join(parts)

        self.error_body = ""
        try:
            return self.request(url, receive, limit=MAX_BYTES, too_large=too_large)
        except FetchFailed as err:
            if err.status == 204:
                return None
            raise


@dataclass
class Received:
    """One answer kept."""

    file_name: str
    flow: Flow
    year: int
    month: int
    url: str
    sha256: str
    bytes: int
    rows: int
    fetched_at: str
    figures: str  # census.figures_digest
    commodity_level: str | None  # None: asked without COMM_LVL (every level)

    @property
    def label(self) -> str:
        return f"{self.flow.name} {self.year}-{self.month:02d}"


@dataclass(frozen=True)
class Held:
    """A USA release folder already in the raw folder."""

    name: str
    published: date
    stage: str
    path: Path

    @property
    def order_key(self) -> tuple:  # as the build orders releases (ingest/releases.py)
        return (self.published, stage_rank(self.stage), release_revision(self.name), self.name)

    @property
    def release(self) -> str:
        return release_id(census.REPORTER, self.name)

    def data_files(self) -> dict[str, Path]:
        return {p.name: p for p in self.path.iterdir()
                if p.is_file() and census.parse_file_name(p.name) is not None}


def held_releases(reporter_dir: Path) -> list[Held]:
    """The USA release folders held, oldest first as builds order them (hidden ones and names
    that are not `<YYYY-MM-DD>_<stage>` left out)."""
    if not reporter_dir.is_dir():
        return []
    held = []
    for entry in reporter_dir.iterdir():
        if entry.name.startswith(".") or not entry.is_dir() or entry.is_symlink():
            continue
        published, stage, _problem = parse_release_dir(entry.name, allow_dates=True)
        if published is not None and stage is not None:
            held.append(Held(entry.name, published, stage, entry))
    return sorted(held, key=lambda h: h.order_key)


@dataclass
class CensusReport:
    outcome: str = "pending"  # written | unchanged | nothing | malformed | failed | dry run
    problem: str = ""  # malformed or failed: the URL and the reason
    release: str = ""  # written: the new release's id; unchanged: the one held
    stage: str = ""
    files: list[Received] = field(default_factory=list)
    not_published: list[str] = field(default_factory=list)  # file names answered 204
    revised: list[str] = field(default_factory=list)  # file names whose figures changed
    previous: str | None = None  # the newest release held before this fetch
    planned: list[str] = field(default_factory=list)  # dry run: the URLs
    commodity_level_dropped: bool = False
    swept: int = 0  # temporary folders a killed fetch left, removed

    @property
    def exit_code(self) -> int:
        return {"malformed": EXIT_USAGE, "failed": EXIT_FAILED}.get(self.outcome, EXIT_OK)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def render(self, raw_dir: Path) -> str:
        if self.outcome == "malformed":
            return ("error: an answer was not what the Census API publishes, nothing was "
                    f"written: {self.problem}")
        if self.outcome == "failed":
            return f"error: {self.problem}; nothing was written (the USA releases held are kept)"
        if self.outcome == "dry run":
            return (f"dry run: {len(self.planned)} requests; nothing asked, nothing written")
        if self.outcome == "nothing":
            return (f"nothing published for the {len(self.not_published)} months asked (every "
                    "request answered HTTP 204); nothing written")
        if self.outcome == "unchanged":
            return (f"USA figures unchanged since {self.release} ({len(self.files)} files); "
                    "nothing written")
        lines = [f"wrote {self.release}: {plural(len(self.files), 'file')}, "
                 f"{plural(self.rows, 'row')}, stage {self.stage}"]
        if self.revised:
            shown = ", ".join(label(n) for n in self.revised[:6]) + (
                " …" if len(self.revised) > 6 else "")
            lines.append(f"  figures changed since {self.previous}: {shown}; that release is "
                         "kept as it was")
        if self.not_published:
            lines.append(f"  nothing published (HTTP 204) for {len(self.not_published)} of "
                         f"the {len(self.not_published) + len(self.files)} flows and months "
                         "asked")
        if self.commodity_level_dropped:
            lines.append("  the server did not know COMM_LVL: answers hold every commodity "
                         "level; the build keeps the finest codes")
        lines.append(f"next: trade-etl build --raw-dir {raw_dir}")
        return "\n".join(lines)


@contextmanager
def _locked(raw_dir: Path) -> Iterator[None]:
    raw_dir.mkdir(parents=True, exist_ok=True)
    handle = (raw_dir / LOCK_NAME).open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CensusBusy(f"another trade-etl fetch --reporter USA is writing to "
                             f"{raw_dir / census.REPORTER} (it holds {raw_dir / LOCK_NAME}); "
                             "wait for it to finish") from None
        yield
    finally:
        handle.close()


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Staging:
    """The hidden folder `RAW/USA/.tmp-<pid>-<random>/` a release is written into, then renamed
    into place whole; discarded (with `RAW/USA/` when this fetch created it) otherwise."""

    def __init__(self, reporter_dir: Path) -> None:
        self.reporter_dir = reporter_dir
        self.path: Path | None = None
        self.created_reporter_dir = False

    def write(self, name: str, data: bytes) -> None:
        if self.path is None:
            if not self.reporter_dir.is_dir():
                self.reporter_dir.mkdir()
                self.created_reporter_dir = True
            path = self.reporter_dir / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
            path.mkdir()
            self.path = path
        with (self.path / name).open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def publish(self, name: str) -> Path:
        assert self.path is not None
        final = self.reporter_dir / name
        if final.exists():  # chosen free under the lock: only a hand could have put it there
            raise FileExistsError(f"{final} appeared during the fetch; nothing was written")
        _sync_dir(self.path)
        os.rename(self.path, final)
        _sync_dir(self.reporter_dir)
        self.path = None
        self.created_reporter_dir = False
        return final

    def discard(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
        if self.created_reporter_dir:
            try:
                self.reporter_dir.rmdir()  # only when empty
            except OSError:
                pass
            self.created_reporter_dir = False


def _sweep(reporter_dir: Path) -> int:
    """Remove the temporary folders killed fetches left (we hold the lock: none is running)."""
    if not reporter_dir.is_dir():
        return 0
    left = [p for p in reporter_dir.iterdir() if p.name.startswith(TMP_PREFIX) and p.is_dir()
            and not p.is_symlink()]
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
    return len(left)


def folder_name(reporter_dir: Path, day: date, stage: str) -> str:
    """`<day>_<stage>`, or `-r2`, `-r3`, … after the highest such folder held."""
    base = f"{day.isoformat()}_{stage}"
    names = [p.name for p in reporter_dir.iterdir()] if reporter_dir.is_dir() else []
    taken = [release_revision(name) for name in names
             if name == base or (name.startswith(f"{base}-r") and name[len(base) + 2:].isdigit())]
    return base if not taken else f"{base}-r{max(taken) + 1}"


def _figures_of(path: Path, flow: Flow) -> str | None:
    """The figures digest of a file held, None when it cannot be read as an answer."""
    try:
        return census.figures_digest(census.parse_answer(path.read_bytes(), flow), flow)
    except (OSError, census.AnswerError):
        return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(options: CensusOptions, progress: Callable[[str], None] = print) -> CensusReport:
    """Ask every flow and month, validate each answer, then write a new release, or nothing
    when the answers equal the newest release's files (see the module docstring)."""
    report = CensusReport()
    if options.dry_run:
        for flow, year, month in options.plan():
            url = request_url(options.base_url, flow, options.codes, year, month)
            report.planned.append(url)
            progress(f"would ask {flow.name} {year}-{month:02d}: {url}")
        report.outcome = "dry run"
        return report
    with _locked(options.raw_dir):
        report.swept = _sweep(options.reporter_dir)
        if report.swept:
            progress(f"removed {report.swept} temporary folder(s) a killed fetch left in "
                     f"{options.reporter_dir}")
        held = held_releases(options.reporter_dir)
        newest = held[-1] if held else None
        report.previous = newest.release if newest else None
        day = options.release_date or today_utc()
        if newest and day < newest.published:
            raise CensusUsage(f"--release-date {day} is before the newest USA release "
                              f"{newest.release}: a release must be dated on or after it "
                              "(builds take the later one's figures)")
        staging = _Staging(options.reporter_dir)
        try:
            with _Client(options.manners, log=progress) as client:
                if not _ask_all(client, options, staging, report, progress):
                    return report
            if not report.files:
                report.outcome = "nothing"
                return report
            _decide(options, newest, day, report, progress)
            if report.outcome == "unchanged":
                return report
            _write_manifest(options, staging, report)
            staging.publish(report.release.split("/", 1)[1])
            report.outcome = "written"
            return report
        finally:
            staging.discard()


def _ask_all(client: _Client, options: CensusOptions, staging: _Staging,
             report: CensusReport, progress: Callable[[str], None]) -> bool:
    """Ask every request of the plan, keeping each valid answer in `staging`; False (the
    report saying why) at the first malformed answer or failed request."""
    with_level = True
    for flow, year, month in options.plan():
        label = f"{flow.name} {year}-{month:02d}"
        url = request_url(options.base_url, flow, options.codes, year, month, with_level)
        try:
            try:
                data = client.get_answer(url)
            except FetchFailed as err:
                if not (err.status == 400 and with_level and "COMM_LVL" in client.error_body):
                    raise
                with_level = False
                report.commodity_level_dropped = True
                progress(f"{label}: HTTP 400, the server does not know COMM_LVL "
                         f"({client.error_body}): asking again without it, for this and the "
                         "remaining requests (every commodity level; the build keeps the "
                         "finest codes)")
                url = request_url(options.base_url, flow, options.codes, year, month, False)
                data = client.get_answer(url)
        except FetchFailed as err:
            said = f" ({client.error_body})" if client.error_body else ""
            report.outcome, report.problem = "failed", f"{err}{said}"
            progress(f"{label}: failed: {err.reason}{said}")
            return False
        name = census.file_name(flow.name, year, month)
        if data is None:
            report.not_published.append(name)
            progress(f"{label}: HTTP 204, nothing published")
            continue
        try:
            answer = census.parse_answer(data, flow)
        except census.AnswerError as err:
            report.outcome, report.problem = "malformed", f"{url}: {err}"
            progress(f"{label}: HTTP 200, malformed: {err}")
            return False
        staging.write(name, data)
        report.files.append(Received(
            name, flow, year, month, url, hashlib.sha256(data).hexdigest(), len(data),
            len(answer.rows), datetime.now(UTC).isoformat(timespec="seconds"),
            census.figures_digest(answer, flow), census.COMMODITY_LEVEL if with_level else None))
        progress(f"{label}: HTTP 200, {plural(len(answer.rows), 'row')}, "
                 f"{plural(len(data), 'byte')}")
    return True


def _decide(options: CensusOptions, newest: Held | None, day: date, report: CensusReport,
            progress: Callable[[str], None]) -> None:
    """Unchanged, or the new release's stage and folder name."""
    held_files = newest.data_files() if newest else {}
    if newest and set(held_files) == {f.file_name for f in report.files} and all(
            _sha256(held_files[f.file_name]) == f.sha256 for f in report.files):
        report.outcome, report.release = "unchanged", newest.release
        return
    for received in report.files:
        path = held_files.get(received.file_name)
        if path is None:
            continue
        before = _figures_of(path, received.flow)
        if before is None:
            progress(f"{received.label}: {newest.release}/{received.file_name} cannot be read "
                     "as an answer: counted as changed")
        if before != received.figures:
            report.revised.append(received.file_name)
    stage = "revised" if report.revised else "monthly"
    if (newest and newest.published == day and newest.stage in census.STAGES
            and stage_rank(newest.stage) > stage_rank(stage)):
        # Builds order one date's releases by stage: a monthly release after a revised one of
        # the same date would be taken as the older.
        progress(f"{newest.release} is of the same date and stage {newest.stage}: this "
                 f"release is written as {newest.stage} too, to come after it")
        stage = newest.stage
    report.stage = stage
    report.release = release_id(census.REPORTER, folder_name(options.reporter_dir, day, stage))


def _write_manifest(options: CensusOptions, staging: _Staging, report: CensusReport) -> None:
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "release_id": report.release,
        "reporter": census.REPORTER,
        "stage": report.stage,
        "source": SOURCE,
        "base_url": options.base_url,
        "partners": list(options.partners),
        "census_codes": list(options.codes),
        "years": options.years,
        "months_asked": [f"{y:04d}-{m:02d}" for y, m in options.months],
        "not_published": report.not_published,
        "previous_release": report.previous,
        "changed_since_previous": report.revised,
        "files": [{
            "file_name": f.file_name, "dataset": f.flow.name, "year": f.year,
            "month": f.month, "url": f.url, "sha256": f.sha256, "bytes": f.bytes,
            "rows": f.rows, "fetched_at": f.fetched_at, "commodity_level": f.commodity_level,
        } for f in report.files],
    }
    staging.write(MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode())
