"""Find release folders and their files in the raw directory.

A release is a folder `<publication-date>_<stage>` (e.g. `2025-04-17_preliminary`) holding CSV
files or zip archives of CSV files, possibly in subfolders. Japan's release folders are directly
under the raw directory or under `JPN/`; another reporter's are under `<ISO3>/` (a folder of
three capital letters, trade_etl/formats/reporters.py), and are read only when a layout is
registered for it (trade_etl/ingest/layouts.py). Releases are ordered by publication date, then
by stage (preliminary < detailed < revised < fixed), then by name.
"""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from trade_etl.errors import EXIT_FAILED, UserError
from trade_etl.formats.release_names import parse_release_dir, release_revision, stage_rank
from trade_etl.formats.reporters import (
    DEFAULT_REPORTER,
    data_suffixes,
    is_reporter_folder,
    release_id,
)
from trade_etl.settings import LAYOUT_MODULES_ENV

# Names browsers, sync clients and downloaders give a file while they are still writing it.
IN_PROGRESS_SUFFIXES = (".crdownload", ".part", ".partial", ".download", ".tmp")
STILL_DOWNLOADING = "still downloading (a temporary download name); not read until renamed"
# Zip archives are expanded in memory one member at a time; these caps stop zip bombs.
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_COMPRESSION_RATIO = 200


@dataclass(frozen=True)
class SourceFile:
    """One file on disk inside a release folder (a CSV or a zip of CSVs)."""

    release_id: str
    published_on: date | None
    stage: str | None
    file_name: str  # path inside the release folder, '/'-separated
    path: Path
    size_bytes: int
    mtime_ns: int
    problem: str | None = None  # why it cannot be loaded, found without reading it
    ctime_ns: int = 0
    inode: int = 0
    reporter: str = DEFAULT_REPORTER  # ISO3 of the country whose statistics these are

    @property
    def in_progress(self) -> bool:
        return self.problem == STILL_DOWNLOADING

    def changed_since(self, other: SourceFile) -> bool:
        """Whether the file on disk differs from `other` by size, times or inode."""
        return (self.size_bytes, self.mtime_ns, self.ctime_ns, self.inode) != (
            other.size_bytes, other.mtime_ns, other.ctime_ns, other.inode)

    @property
    def order_key(self) -> tuple:
        return (self.published_on or date.min, stage_rank(self.stage),
                release_revision(self.release_id), self.release_id, self.file_name)


def discover(raw_dir: Path, allow_dates: bool = False,
             reporters: Collection[str] = (DEFAULT_REPORTER,)) -> list[SourceFile]:
    """Every file under the raw directory, with any problem found without reading it
    (`allow_dates`: release dates after today or before 1988 are no problem; `reporters`: the
    reporters whose layouts are registered, Registry.reporters: another reporter's files are a
    problem, never read as Japan's)."""
    if not raw_dir.is_dir():
        return []
    root = raw_dir.resolve()
    found: list[SourceFile] = []
    for entry in sorted(raw_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and is_reporter_folder(entry.name):
            found += _reporter_folder(entry, root, allow_dates, reporters)
        else:
            found += _release_folder(entry, root, DEFAULT_REPORTER, allow_dates)
    return sorted(_one_place_per_release(raw_dir, found), key=lambda s: s.order_key)


def _reporter_folder(folder: Path, root: Path, allow_dates: bool,
                     reporters: Collection[str]) -> list[SourceFile]:
    """The files of the release folders in a reporter's folder `raw/<ISO3>/`."""
    reporter = folder.name
    if folder.is_symlink() and not folder.resolve().is_relative_to(root):
        return [_source(folder, root, reporter, None, None, "",
                        "symbolic link points outside the raw directory", reporter)]
    refused = None
    if reporter not in reporters:
        refused = (f"no layout is registered for reporter {reporter} (registered: "
                   f"{', '.join(sorted(reporters))}): name the module that registers it in "
                   f"{LAYOUT_MODULES_ENV}, or move the folder {reporter}/ out of the raw folder")
    found: list[SourceFile] = []
    for entry in sorted(folder.iterdir()):
        if not entry.name.startswith("."):
            found += _release_folder(entry, root, reporter, allow_dates, refused)
    return found


def _release_folder(entry: Path, root: Path, reporter: str, allow_dates: bool,
                    refused: str | None = None) -> list[SourceFile]:
    """The files of one release folder of `reporter` (a file in its place is a problem)."""
    release = release_id(reporter, printable(entry.name))
    if not entry.is_dir():
        return [_source(entry, root, release, None, None, "",
                        "file is not inside a release folder <YYYY-MM-DD>_<stage>", reporter)]
    if entry.is_symlink() and not entry.resolve().is_relative_to(root):
        return [_source(entry, root, release, None, None, "",
                        "symbolic link points outside the raw directory", reporter)]
    published, stage, problem = parse_release_dir(entry.name, allow_dates=allow_dates)
    if problem is None and printable(entry.name) != entry.name:
        problem = "folder name is not valid UTF-8"
    problem = refused or problem
    return [_source(path, root, release, published, stage, path.relative_to(entry).as_posix(),
                    problem, reporter) for path in sorted(_walk(entry))]


def _one_place_per_release(raw_dir: Path, found: list[SourceFile]) -> list[SourceFile]:
    """A Japan release both directly under the raw folder and under `JPN/` is a problem of
    every file of both copies (never loaded twice); where both copies hold a file of the same
    name, the inventory keeps one row for it (the problem names both folders)."""
    nested = raw_dir / DEFAULT_REPORTER

    def in_nested(source: SourceFile) -> bool:
        return source.path.is_relative_to(nested)

    japan = [s for s in found if s.reporter == DEFAULT_REPORTER]
    twice = {s.release_id for s in japan if in_nested(s)} & {
        s.release_id for s in japan if not in_nested(s)}
    if not twice:
        return found
    top = {(s.release_id, s.file_name) for s in japan if not in_nested(s)}
    out = []
    for s in found:
        if s.reporter != DEFAULT_REPORTER or s.release_id not in twice:
            out.append(s)
            continue
        if in_nested(s) and (s.release_id, s.file_name) in top:
            continue
        problem = (f"release {s.release_id} is in the raw folder twice, "
                   f"{raw_dir / s.release_id} and {nested / s.release_id}: a Japan release "
                   f"is directly under the raw folder or under {DEFAULT_REPORTER}/, not both; "
                   "remove one")
        out.append(s if s.problem is not None else replace(s, problem=problem))
    return out


def printable(name: str) -> str:
    """A file name as text that can be stored: bytes that are not UTF-8 (a name from a Windows
    archive, say) are shown as \\x escapes instead of breaking the build."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def _walk(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.is_symlink() or path.is_file():
            yield path


def _source(path: Path, root: Path, release: str, published: date | None, stage: str | None,
            rel: str, problem: str | None, reporter: str = DEFAULT_REPORTER) -> SourceFile:
    shown = printable(rel or path.name)
    if problem is None and shown != (rel or path.name):
        problem = "file name is not valid UTF-8"
    if problem is None and path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root):
            problem = "symbolic link points outside the raw directory"
        elif not target.is_file():
            problem = "symbolic link does not point to a file"
    if problem is None and path.suffix.lower() in IN_PROGRESS_SUFFIXES:
        problem = STILL_DOWNLOADING
    suffixes = data_suffixes(reporter)
    if problem is None and path.suffix.lower() not in suffixes:
        problem = f"not a {' or '.join(suffixes)} file"
    try:
        stat = path.stat() if problem is None else path.lstat()
    except OSError as err:
        problem, stat = problem or f"cannot stat file: {err.strerror}", None
    return SourceFile(release, published, stage, shown, path,
                      stat.st_size if stat else 0, stat.st_mtime_ns if stat else 0, problem,
                      stat.st_ctime_ns if stat else 0, stat.st_ino if stat else 0, reporter)


def unsettled(sources: list[SourceFile], quiet_seconds: float,
              now_ns: int | None = None) -> list[SourceFile]:
    """Files changed (written, renamed, touched) less than `quiet_seconds` ago: a copy or a
    download may still be under way, so they are not read yet."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    limit = int(quiet_seconds * 1e9)
    return [s for s in sources
            if s.problem is None and now_ns - max(s.mtime_ns, s.ctime_ns) < limit]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Member:
    """One CSV to parse: a plain file, or a member of a zip archive."""

    file_name: str
    data: bytes | None
    problem: str | None = None


def read_members(source: SourceFile) -> Iterator[Member]:
    """Yield the CSV payloads of a source file; zip members one at a time, with size caps."""
    if source.path.suffix.lower() != ".zip":
        yield Member(source.file_name, source.path.read_bytes())
        return
    try:
        archive = zipfile.ZipFile(source.path)
    except (zipfile.BadZipFile, OSError) as err:
        yield Member(source.file_name, None, f"not a readable zip archive: {err}")
        return
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if not infos:
            yield Member(source.file_name, None, "zip archive holds no files")
        seen: set[str] = set()
        for info in infos:
            name = f"{source.file_name}/{info.filename}"
            if name in seen:  # the zip format allows it; the second would collide with the first
                yield Member(f"{name} (repeated)", None, "zip archive holds this member name "
                             "more than once; only the first is read")
                continue
            seen.add(name)
            parts = Path(info.filename).parts
            if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in info.filename:
                yield Member(name, None, "zip member path escapes the archive (absolute or ../)")
            elif not info.filename.lower().endswith(".csv"):
                yield Member(name, None, "zip member is not a .csv file")
            elif info.file_size > MAX_MEMBER_BYTES or (
                info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
            ):
                yield Member(name, None, "zip member expands beyond the safety caps "
                             f"({MAX_MEMBER_BYTES >> 20} MiB, ratio {MAX_COMPRESSION_RATIO}:1)")
            else:
                yield _read_capped(archive, info, name)


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Member:
    """Read a member, stopping if it expands past what its header declared or the caps."""
    cap = min(MAX_MEMBER_BYTES, max(info.compress_size, 1) * MAX_COMPRESSION_RATIO)
    chunks, total = [], 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(1 << 20):
                total += len(chunk)
                if total > cap:
                    return Member(name, None, "zip member expands beyond the safety caps")
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as err:
        return Member(name, None, f"zip member cannot be read: {err}")
    return Member(name, b"".join(chunks))


def wait_until_settled(raw_dir: Path, quiet_seconds: float, timeout_seconds: float,
                       say: Callable[[str], None], allow_dates: bool = False,
                       reporters: Collection[str] = (DEFAULT_REPORTER,)) -> list[SourceFile]:
    """The raw folder's files once none has changed for `quiet_seconds` (`reporters`: those
    with registered layouts, as `discover`).

    Waits rather than skipping, so that `cp -r downloads/x data/raw/ && trade-etl build` loads
    the whole copy; gives up (UserError) after `timeout_seconds` of files still changing.
    """
    started = time.monotonic()
    told = 0.0
    while True:
        sources = discover(raw_dir, allow_dates, reporters)
        young = unsettled(sources, quiet_seconds)
        if not young:
            return sources
        waited = time.monotonic() - started
        if waited > timeout_seconds:
            raise UserError(
                f"{len(young)} file(s) in {raw_dir} kept changing for {waited:.0f} s (e.g. "
                f"{young[0].release_id}/{young[0].file_name}); build again when they are "
                "complete", EXIT_FAILED)
        if waited - told >= 10 or told == 0.0:
            names = ", ".join(f"{s.release_id}/{s.file_name}" for s in young[:3])
            say(f"waiting for {len(young)} file(s) changed in the last {quiet_seconds:g} s to "
                f"settle: {names}{' …' if len(young) > 3 else ''}")
            told = waited or 1e-9
        time.sleep(min(0.5, max(quiet_seconds / 4, 0.05)))
