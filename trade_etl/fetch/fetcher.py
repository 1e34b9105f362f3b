"""Plan and carry out a fetch: e-Stat's tables -> `<update-date>_<stage>/` release folders.

Two phases. Discovery reads every listing and year page first, so a page whose structure is not
recognised stops the fetch before anything is written. Then each table version not yet held is
downloaded to `RAW/.partial/`, checked (the whole body arrived, it is a Japan Customs CSV or a
zip of them, it is under the size cap) and renamed into its release folder, and the folder's
`.manifest.json` gains its entry. A killed fetch leaves at most a file under `.partial/`, which
the next fetch removes. Every version ever seen stays in its own folder: the site overwrites,
the raw folder keeps.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from trade_etl.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from trade_etl.fetch import estat_pages as pages
from trade_etl.fetch.http import (
    ESTAT_HOST,
    FetchFailed,
    Manners,
    PoliteClient,
    Retryable,
    cross_host_redirects,
)
from trade_etl.formats import manifest
from trade_etl.formats.customs_csv import FileProblem, decode, resolve_header
from trade_etl.settings import Settings

PARTIAL_DIR = ".partial"
LOCK_NAME = ".fetch.lock"
DEFAULT_MAX_BYTES = 512 * 1024**2  # a whole year of one flow is ~60 MB; one section far less
MAX_PAGES = 100  # per year page; a guard against a site that pages forever

JST = timezone(timedelta(hours=9), "JST")
EXIT_STRUCTURE = EXIT_USAGE  # the site's pages were not recognised: nothing was written


class FetchBusy(Exception):
    """Another fetch holds the raw folder's fetch lock."""


class PagesCapped(FetchFailed):
    """Pagination went on past MAX_PAGES: a page failure; what was found is still used."""

    def __init__(self, url: str, reason: str, found) -> None:
        super().__init__(url, reason)
        self.found = found


@dataclass
class FetchOptions:
    raw_dir: Path
    years: list[int]
    flows: list[str]
    base_url: str = pages.DEFAULT_BASE_URL
    dry_run: bool = False
    manners: Manners = field(default_factory=Manners)
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass
class TablePlan:
    """One table found on a year page, and what the fetch does with it."""

    flow: str
    year: int
    entry: pages.TableEntry
    info: pages.TitleInfo | None = None
    folder: str = ""
    file_name: str = ""
    status: str = "pending"  # pending | held | downloaded | failed
    reason: str = ""
    bytes: int = 0
    redirects: list[str] = field(default_factory=list)  # the hops, when one changed host

    def parts(self) -> list[str]:
        """flow, year, `s16`, `ch84-85` (the last two when the title says), statInfId."""
        parts = [self.flow, str(self.year)]
        if self.info and self.info.section:
            parts.append(f"s{self.info.section:02d}")
        if self.info and self.info.chapters:
            first, last = self.info.chapters
            parts.append(f"ch{first:02d}" + (f"-{last:02d}" if last != first else ""))
        return [*parts, self.entry.stat_inf_id]

    @property
    def label(self) -> str:
        return " ".join(self.parts())


@dataclass
class FetchReport:
    tables: list[TablePlan] = field(default_factory=list)
    page_failures: list[str] = field(default_factory=list)  # pages that could not be read
    not_published: list[str] = field(default_factory=list)  # "export 2026: not listed yet"
    structure_error: str | None = None
    new_folders: list[str] = field(default_factory=list)
    swept: tuple[int, int] = (0, 0)  # stale partial files removed, their bytes
    dry_run: bool = False

    def count(self, status: str) -> int:
        return sum(1 for t in self.tables if t.status == status)

    @property
    def bytes_downloaded(self) -> int:
        return sum(t.bytes for t in self.tables if t.status == "downloaded")

    @property
    def exit_code(self) -> int:
        if self.structure_error:
            return EXIT_STRUCTURE
        return EXIT_FAILED if self.count("failed") or self.page_failures else EXIT_OK

    def summary(self) -> dict:
        return {"tables_seen": len(self.tables), "downloaded": self.count("downloaded"),
                "already_held": self.count("held"), "failed": self.count("failed"),
                "pages_failed": len(self.page_failures), "bytes": self.bytes_downloaded,
                "new_release_folders": list(self.new_folders)}


def parse_years(spec: str) -> list[int]:
    """`2024-2025`, `2023,2025` or `2025` -> sorted calendar years."""
    years: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"--years must look like 2024-2025 or 2023,2025, not {spec!r}")
        lo, hi = int(first), int(last or first)
        if not 1988 <= lo <= hi <= 2100:
            raise ValueError(f"--years {spec!r}: years run from 1988 (the first HS year) on, "
                             "first to last")
        years.update(range(lo, hi + 1))
    return sorted(years)


def default_years(today: date | None = None) -> list[int]:
    """This calendar year and the previous one (Japan time: releases come out at 08:50 JST)."""
    today = today or datetime.now(JST).date()
    return [today.year - 1, today.year]


def parse_flows(spec: str) -> list[str]:
    flows = [f.strip().lower() for f in spec.split(",") if f.strip()]
    flows = [{"exports": "export", "imports": "import"}.get(f, f) for f in flows]
    unknown = [f for f in flows if f not in pages.FLOW_CLASS]
    if unknown or not flows:
        raise ValueError(f"--flows must be export, import or export,import, not {spec!r}")
    return list(dict.fromkeys(flows))


def make_options(raw_dir: Path, years: str | None, flows: str, config: Settings, *,
                 base_url: str | None = None, pause: float | None = None,
                 dry_run: bool = False, deadline: float | None = None,
                 min_rate: float | None = None) -> FetchOptions:
    """Options from the user's words (flags, run config) over the settings `config`
    (ValueError saying what is wrong with a flag; the settings were checked when built)."""
    pause = config.fetch_pause if pause is None else pause
    if not 0 <= pause <= 60:
        raise ValueError(f"--pause must be 0-60 seconds, not {pause}")
    deadline = config.fetch_deadline if deadline is None else deadline
    if not 0 < deadline <= 86400:
        raise ValueError(f"--deadline must be above 0 and up to 86400 seconds, not {deadline:g}")
    min_rate = config.fetch_min_rate if min_rate is None else min_rate
    if not 0 <= min_rate <= 1e10:
        raise ValueError(f"--min-rate must be 0 (no minimum) or more bytes/s, not {min_rate:g}")
    base_url = (base_url or config.estat_base_url).rstrip("/")
    hosts = (ESTAT_HOST, urlsplit(base_url).hostname or "", *config.fetch_redirect_hosts)
    manners = Manners(
        pause_s=pause, backoff_s=config.fetch_backoff, attempts=config.fetch_attempts,
        deadline_s=deadline, page_deadline_s=config.fetch_page_deadline, min_rate=min_rate,
        rate_grace_s=config.fetch_rate_grace, max_page_bytes=config.fetch_max_page_bytes,
        redirect_hosts=tuple(h for h in hosts if h))
    return FetchOptions(raw_dir, parse_years(years) if years else default_years(),
                        parse_flows(flows), base_url, dry_run, manners)


def file_name_for(plan: TablePlan, suffix: str = ".csv") -> str:
    """`export_2025_s16_ch84-85_000040212345.csv`: readable, and unique by statInfId."""
    return "_".join(plan.parts()) + suffix


def _describe(plan: TablePlan) -> TablePlan:
    """Read the title; a title that says nothing certain fails this table, named."""
    try:
        info = pages.parse_title(plan.entry.title)
    except pages.TitleError as err:
        plan.status, plan.reason = "failed", f"title {plan.entry.title!r}: {err}"
        return plan
    if info.flow != plan.flow:
        plan.status = "failed"
        plan.reason = f"title {plan.entry.title!r} is {info.flow} but listed under {plan.flow}"
    elif info.year is not None and info.year != plan.year:
        plan.status = "failed"
        plan.reason = f"title {plan.entry.title!r} is for {info.year}, listed under {plan.year}"
    plan.info = info
    plan.folder = f"{plan.entry.update_date.isoformat()}_{info.newest_stage}"
    plan.file_name = file_name_for(plan)
    return plan


# --- discovery --------------------------------------------------------------------------------

def _year_links(client: PoliteClient, flow: str, options: FetchOptions) -> dict[int, str]:
    url = pages.listing_url(options.base_url, flow)
    links: dict[int, str] = {}
    for page in range(1, MAX_PAGES + 1):
        page_url = url if page == 1 else pages.with_page(url, page)
        html = client.get_text(page_url, missing_ok=True)
        if html is None and page == 1:
            raise pages.PageError(page_url, f"the {flow} listing page is not there (HTTP 404)")
        if html is None:
            break
        found = {link.year: link.url for link in pages.parse_listing(html, page_url)}
        if page == 1 and not found:
            raise pages.PageError(page_url, f"no links to year pages (anchors with "
                                  f"year=<YYYY>0) on the {flow} listing")
        new = {y: u for y, u in found.items() if y not in links}
        links.update(new)
        if not new or all(y in links for y in options.years):
            break
    else:
        raise PagesCapped(url, f"the {flow} listing still showed new years on page "
                          f"{MAX_PAGES}, the most the fetcher reads", links)
    return links


def _year_tables(client: PoliteClient, flow: str, year: int, url: str) -> list[pages.TableEntry]:
    """Every table of a year page, following `page=N` until a page shows nothing new."""
    tables: dict[str, pages.TableEntry] = {}
    for page in range(1, MAX_PAGES + 1):
        page_url = pages.with_page(url, page)
        html = client.get_text(page_url, missing_ok=True)
        if html is None:
            if page == 1:
                return []  # 404: not published yet
            break
        found = pages.parse_year_page(html, page_url)
        if page == 1 and not found:
            raise pages.PageError(page_url, f"no tables (no CSV links) on the {flow} {year} "
                                  "year page")
        new = [t for t in found if t.stat_inf_id not in tables]
        if not new:
            break
        tables.update((t.stat_inf_id, t) for t in new)
    else:
        raise PagesCapped(url, f"the {flow} {year} year page still showed new tables on page "
                          f"{MAX_PAGES}, the most the fetcher reads; the rest is not fetched",
                          list(tables.values()))
    return list(tables.values())


def discover(client: PoliteClient, options: FetchOptions, report: FetchReport,
             progress: Callable[[str], None]) -> None:
    for flow in options.flows:
        try:
            links = _year_links(client, flow, options)
        except PagesCapped as err:  # a page failure, but the years found are fetched
            report.page_failures.append(str(err))
            progress(f"failed   {flow} listing: {err}")
            links = err.found
        except FetchFailed as err:
            report.page_failures.append(str(err))
            progress(f"failed   {flow} listing: {err}")
            continue
        for year in options.years:
            if year not in links:
                report.not_published.append(f"{flow} {year}: not listed yet")
                continue
            try:
                entries = _year_tables(client, flow, year, links[year])
            except PagesCapped as err:
                report.page_failures.append(str(err))
                progress(f"failed   {flow} {year} year page: {err}")
                entries = err.found
            except FetchFailed as err:
                report.page_failures.append(str(err))
                progress(f"failed   {flow} {year} year page: {err}")
                continue
            if not entries:
                report.not_published.append(f"{flow} {year}: not published yet (404)")
            report.tables += [_describe(TablePlan(flow, year, e)) for e in entries]


# --- downloading ------------------------------------------------------------------------------

def check_content(path: Path) -> str:
    """'.csv' or '.zip' for a download that holds Japan Customs HS x country data; raises
    FileProblem saying what it is instead (an HTML error page, say)."""
    with path.open("rb") as handle:
        head = handle.read(65536)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [i for i in archive.infolist() if i.filename.lower().endswith(".csv")]
                if not members:
                    raise FileProblem("a zip archive without .csv files")
                for info in members:
                    with archive.open(info) as member:
                        _check_header(member.read(65536))
        except zipfile.BadZipFile as err:
            raise FileProblem(f"not a readable zip archive: {err}") from None
        return ".zip"
    _check_header(head)
    return ".csv"


def _check_header(head: bytes) -> None:
    """The first line is a header the build will accept (decoded as the build decodes)."""
    line, _ = decode(head.split(b"\n", 1)[0].rstrip(b"\r"))
    if line.lstrip().lower().startswith(("<!doctype", "<html", "<?xml")):
        raise FileProblem(f"an HTML page, not a CSV: {line[:80]!r}")
    resolve_header(line)


def _download(client: PoliteClient, plan: TablePlan, options: FetchOptions,
              scratch: Path) -> tuple[Path, str]:
    """The table's body in a checked temporary file, and its sha256."""
    tmp = scratch / f"{plan.entry.stat_inf_id}.{os.getpid()}.part"
    too_large = f"larger than the cap of {options.max_bytes >> 20} MiB"

    def receive(response) -> str:
        digest = hashlib.sha256()  # each attempt starts the file afresh
        received = 0
        with tmp.open("wb") as handle:
            for chunk in response.iter_bytes():  # as it arrives, not in 1 MiB lumps
                received += len(chunk)
                if received > options.max_bytes:
                    raise FetchFailed(plan.entry.csv_url, too_large)
                handle.write(chunk)
                digest.update(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        # The client has checked the body against Content-Length (neither short nor long).
        if received == 0:
            raise Retryable("empty body")
        plan.redirects = cross_host_redirects(response)
        return digest.hexdigest()

    try:
        sha256 = client.request(plan.entry.csv_url, receive, limit=options.max_bytes,
                                too_large=too_large)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, sha256


def same_table(a: pages.TitleInfo | None, b: pages.TitleInfo | None) -> bool:
    """Whether two tables of one flow and year report cells in common: the same HS section,
    or overlapping chapter ranges; a title that names neither covers the whole year."""
    if a is None or b is None or (a.section is None and a.chapters is None) or (
            b.section is None and b.chapters is None):
        return True
    if a.chapters and b.chapters:
        return a.chapters[0] <= b.chapters[1] and b.chapters[0] <= a.chapters[1]
    return a.section == b.section


def _title_info(entry: dict) -> pages.TitleInfo | None:
    try:
        return pages.parse_title(entry.get("title") or "")
    except pages.TitleError:
        return None  # a title edited by hand: assume it covers the whole year


def release_folder_for(plan: TablePlan, raw_dir: Path) -> tuple[str, str | None]:
    """The release folder this version goes to, and the file it supersedes there if any.

    One version of a table per release folder, always: a folder holds at most one file per
    (flow, year, chapter range), or a build would add two versions together. A second version
    published the same day (a new release count, or the table listed under two statInfIds)
    goes to `<date>_<stage>-r2` (then -r3, …): a release of its own, ordered after the first,
    so it supersedes it chapter by chapter and both stay in the archive."""
    base = plan.folder
    superseded = None
    for revision in range(1, 1000):
        name = base if revision == 1 else f"{base}-r{revision}"
        clash = next((e for e in manifest.read(raw_dir / name)["files"]
                      if e.get("flow") == plan.flow and e.get("year") == plan.year
                      and (e.get("stat_inf_id"), e.get("release_count"))
                      != (plan.entry.stat_inf_id, plan.entry.release_count)
                      and same_table(plan.info, _title_info(e))), None)
        if clash is None:
            return name, superseded
        superseded = f"{name}/{clash['file_name']}"
    raise FileProblem(f"more than 999 versions of one table dated {plan.entry.update_date}")


def _store(plan: TablePlan, tmp: Path, sha256: str, options: FetchOptions,
           scratch: Path, report: FetchReport) -> None:
    suffix = check_content(tmp)
    plan.file_name = file_name_for(plan, suffix)
    plan.folder, supersedes = release_folder_for(plan, options.raw_dir)
    folder = options.raw_dir / plan.folder
    if not folder.exists():
        folder.mkdir(parents=True)
        report.new_folders.append(plan.folder)
    plan.bytes = tmp.stat().st_size
    os.replace(tmp, folder / plan.file_name)  # the file appears whole or not at all
    manifest.sync_dir(folder)
    entry = plan.entry
    manifest.add_entry(folder, {
        "file_name": plan.file_name, "title": entry.title, "table_url": entry.page_url,
        "download_url": entry.csv_url, "stat_inf_id": entry.stat_inf_id,
        "file_id": entry.file_id, "release_count": entry.release_count,
        "update_date": entry.update_date.isoformat(), "flow": plan.flow, "year": plan.year,
        "months": [{"month": m, "stage": s} for m, s in plan.info.months],
        "bytes": plan.bytes, "sha256": sha256,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **({"supersedes": supersedes} if supersedes else {}),
        **({"redirects": plan.redirects} if plan.redirects else {}),
    }, scratch)


def _sweep(scratch: Path) -> tuple[int, int]:
    """Remove what killed fetches left in `.partial/` (we hold the lock: none is running)."""
    files = [p for p in scratch.rglob("*") if p.is_file()]
    freed = sum(p.stat().st_size for p in files)
    shutil.rmtree(scratch)
    scratch.mkdir()
    return len(files), freed


def _lock(raw_dir: Path):
    handle = (raw_dir / LOCK_NAME).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise FetchBusy(f"another trade-etl fetch is writing to {raw_dir} "
                        f"(it holds {raw_dir / LOCK_NAME}); wait for it to finish") from None
    return handle


def fetch(options: FetchOptions, progress: Callable[[str], None] = print) -> FetchReport:
    """Fetch every requested table version not yet held; see the module docstring."""
    report = FetchReport(dry_run=options.dry_run)
    held = manifest.held_versions(options.raw_dir)  # ManifestError: the caller reports it
    lock = None
    try:
        with PoliteClient(options.manners, log=progress) as client:
            try:
                discover(client, options, report, progress)
            except pages.PageError as err:
                report.structure_error = str(err)
                return report
            scratch = options.raw_dir / PARTIAL_DIR
            if not options.dry_run:  # discovery wrote nothing; from here on the folder is ours
                options.raw_dir.mkdir(parents=True, exist_ok=True)
                lock = _lock(options.raw_dir)
                held = manifest.held_versions(options.raw_dir)  # as of holding the lock
                scratch.mkdir(exist_ok=True)
                report.swept = _sweep(scratch)
                if report.swept[0]:
                    progress(f"removed {report.swept[0]} partial file(s) "
                             f"({_size(report.swept[1])}) left by a fetch that did not finish")
            # Oldest version first, so that of two versions of a table dated the same day
            # the newer goes to the later release folder (release_folder_for).
            for plan in sorted(report.tables, key=lambda t: (t.entry.release_count,
                                                              t.entry.stat_inf_id)):
                _fetch_one(client, plan, held, options, scratch, report, progress)
    finally:
        if lock is not None:
            lock.close()
    return report


def _fetch_one(client: PoliteClient, plan: TablePlan, held: dict, options: FetchOptions,
               scratch: Path, report: FetchReport, progress: Callable[[str], None]) -> None:
    if plan.status == "failed":
        progress(f"failed   {plan.label}: {plan.reason}")
        return
    kept = held.get((plan.entry.stat_inf_id, plan.entry.release_count))
    if kept is not None and kept.path.is_file():
        plan.status, plan.folder, plan.file_name = "held", kept.folder, kept.file_name
        progress(f"held     {plan.label} in {kept.folder}/{kept.file_name}")
        return
    if options.dry_run:
        progress(f"would get {plan.label} -> {plan.folder}/{plan.file_name}")
        return
    try:
        tmp, sha256 = _download(client, plan, options, scratch)
    except FetchFailed as err:
        plan.status, plan.reason = "failed", str(err)
        progress(f"failed   {plan.label}: {err}")
        return
    try:
        _store(plan, tmp, sha256, options, scratch, report)
    except FileProblem as err:
        tmp.unlink(missing_ok=True)
        plan.status, plan.reason = "failed", f"{plan.entry.csv_url}: {err}"
        progress(f"failed   {plan.label}: {plan.reason}")
        return
    plan.status = "downloaded"
    progress(f"got      {plan.label} {_size(plan.bytes)} -> {plan.folder}/{plan.file_name}")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def render_summary(report: FetchReport, raw_dir: Path, base_url: str) -> str:
    s = report.summary()
    lines = []
    if report.structure_error:
        return (f"error: the site's structure was not recognised, nothing was written: "
                f"{report.structure_error}")
    verb = "would download" if report.dry_run else "downloaded"
    pending = sum(1 for t in report.tables if t.status == "pending")
    lines.append(
        f"{base_url}: {s['tables_seen']} tables seen, "
        f"{pending if report.dry_run else s['downloaded']} {verb}"
        + ("" if report.dry_run else f" ({_size(s['bytes'])})")
        + f", {s['already_held']} already held, {s['failed']} failed")
    for note in report.not_published:
        lines.append(f"  {note}")
    for failure in report.page_failures:
        lines.append(f"  page failed: {failure}")
    if s["new_release_folders"]:
        lines.append("new release folders: " + ", ".join(s["new_release_folders"]))
    if report.dry_run:
        lines.append("nothing written (--dry-run)")
    elif s["downloaded"]:
        lines.append(f"next: trade-etl build --raw-dir {raw_dir}")
    return "\n".join(lines)
