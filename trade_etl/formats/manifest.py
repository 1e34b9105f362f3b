"""`.manifest.json`: what the fetcher knows about each file it put in a release folder.

One per release folder, written whole and renamed into place (never half written). Discovery
skips dot files, so the build reads it only to check fetched files (size and sha256) and for
`audit.release_months`. Files dropped by hand have no manifest and need none.

A manifest is validated whole before anything uses it (`read`): a regular file (a symbolic
link only to a regular file inside the raw folder) of at most `MAX_MANIFEST_BYTES`, a JSON
object with a `files` list; each entry's `file_name` a plain name inside its folder (no `/`,
no `..`, no control characters, not repeated); the fields the fetcher writes, where present,
of the right type and range (12-digit statInfId, release count >= 1, months 1-12 with a known
stage, ISO dates, a 64-digit sha256, bytes >= 0). A manifest that fails is a `ManifestError`
naming the file, the entry and the field: the fetch stops before writing anything; every
build, incremental or clean, warns and leaves that folder's files unchecked by it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from trade_etl.formats.reporters import DEFAULT_REPORTER, is_reporter_folder

MANIFEST_NAME = ".manifest.json"
MANIFEST_VERSION = 1
CREDIT = "Ministry of Finance, Trade Statistics of Japan, via e-Stat (https://www.e-stat.go.jp)"
# A folder holds ~44 entries of ~1 kB; a thousand times that is still a manifest, more is not.
MAX_MANIFEST_BYTES = 8 * 1024**2
FLOWS = {"export": 1, "import": 2}
STAGES = ("preliminary", "detailed", "revised", "fixed")
STAT_INF_ID = re.compile(r"^[0-9]{12}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ManifestError(Exception):
    """A manifest that cannot be used (the message names the file, and the entry and field)."""


@dataclass(frozen=True)
class HeldFile:
    folder: str
    file_name: str
    path: Path


def _text(path: Path) -> str | None:
    """The manifest's text, None when there is none; refuses what is not a small regular file
    inside the raw folder (a link to /dev/zero would otherwise be read forever)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ManifestError(f"{path}: cannot be read: {err.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        target = path.resolve()
        raw_dir = path.parent.parent.resolve()
        if not target.is_relative_to(raw_dir):
            raise ManifestError(f"{path}: a symbolic link to {target}, outside the raw folder; "
                                "a manifest must be a file in its release folder")
        try:
            info = target.stat()
        except OSError as err:
            raise ManifestError(f"{path}: a symbolic link that cannot be followed: "
                                f"{err.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ManifestError(f"{path}: not a regular file")
    if info.st_size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{path}: {info.st_size:,} bytes, more than a manifest's cap of "
                            f"{MAX_MANIFEST_BYTES:,}")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as err:
        raise ManifestError(f"{path}: cannot be read: {err.strerror}") from None
    if len(data) > MAX_MANIFEST_BYTES:  # it grew after the stat
        raise ManifestError(f"{path}: more than a manifest's cap of {MAX_MANIFEST_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ManifestError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def read(folder: Path) -> dict:
    """The folder's manifest, validated ({'files': []} when it has none)."""
    path = folder / MANIFEST_NAME
    text = _text(path)
    if text is None:
        return {"manifest_version": MANIFEST_VERSION, "files": []}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ManifestError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    except RecursionError:
        raise ManifestError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ManifestError(f"{path}: not a trade_etl manifest (no 'files' list)")
    seen: set[str] = set()
    for number, entry in enumerate(data["files"], start=1):
        problem = entry_problem(entry)
        name = entry.get("file_name") if isinstance(entry, dict) else None
        where = f"entry {number}" + (f" ({printable(name)!r})" if isinstance(name, str) else "")
        if problem is None and name in seen:
            problem = "file_name is listed twice"
        if problem is not None:
            raise ManifestError(f"{path}: {where}: {problem}")
        seen.add(name)
    return data


def printable(text: str) -> str:
    """`text` with control characters shown as escapes (for messages)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def entry_problem(entry: object) -> str | None:
    """What is wrong with one entry of `files`, or None. Fields other than file_name are
    optional (a manifest written by hand may lack them) but checked where present."""
    if not isinstance(entry, dict):
        return "not an object"
    name = entry.get("file_name")
    if not isinstance(name, str) or not name:
        return "file_name is missing or not a string"
    if "/" in name or "\\" in name or name in (".", "..") or _CONTROL.search(name):
        return "file_name must be a plain file name inside its folder (no '/', no '..')"
    checks = {
        "stat_inf_id": lambda v: isinstance(v, str) and STAT_INF_ID.match(v),
        "release_count": lambda v: _is_int(v) and v >= 1,
        "flow": lambda v: v in FLOWS,
        "year": lambda v: _is_int(v) and 1988 <= v <= 2100,
        "update_date": _is_date,
        "bytes": lambda v: _is_int(v) and v >= 0,
        "sha256": lambda v: isinstance(v, str) and SHA256.match(v),
        "months": lambda v: isinstance(v, list) and all(
            isinstance(m, dict) and _is_int(m.get("month")) and 1 <= m["month"] <= 12
            and m.get("stage") in STAGES for m in v),
        "title": lambda v: isinstance(v, str),
        "redirects": lambda v: isinstance(v, list) and all(isinstance(u, str) for u in v),
        "supersedes": lambda v: isinstance(v, str),
    }
    expected = {
        "stat_inf_id": "a 12-digit string", "release_count": "an integer from 1",
        "flow": "'export' or 'import'", "year": "a year from 1988 to 2100",
        "update_date": "a date YYYY-MM-DD", "bytes": "a non-negative integer",
        "sha256": "64 lowercase hex digits",
        "months": f"a list of {{month: 1-12, stage: one of {', '.join(STAGES)}}}",
        "title": "a string", "redirects": "a list of URLs",
        "supersedes": "a string <folder>/<file name>",
    }
    for field, valid in checks.items():
        if field in entry and not valid(entry[field]):
            shown = json.dumps(entry[field], ensure_ascii=False)
            return f"{field} must be {expected[field]}, not {printable(shown[:80])}"
    return None


def file_problem(entry: dict | None, size: int, sha256: str | None) -> str | None:
    """How a file on disk differs from what its manifest entry recorded, or None."""
    if entry is None:
        return None
    if isinstance(entry.get("bytes"), int) and entry["bytes"] != size:
        return (f"differs from its .manifest.json: {size:,} bytes, the fetch recorded "
                f"{entry['bytes']:,} (changed or cut short after it was fetched)")
    if isinstance(entry.get("sha256"), str) and sha256 and entry["sha256"] != sha256:
        return "differs from its .manifest.json: its sha256 is not the one the fetch recorded"
    return None


def digest(folder: Path) -> str:
    """A hash of the folder's manifest as it is now (for the build's fingerprint), read with
    the same care as `read`; an unreadable manifest hashes its reason."""
    try:
        text = _text(folder / MANIFEST_NAME)
    except ManifestError as err:
        text = f"unreadable: {err}"
    return hashlib.sha256((text or "").encode()).hexdigest()


def manifests(raw_dir: Path) -> list[Path]:
    """The release folders of Japan (the fetcher's) that hold a manifest (or a link named as
    one): directly under `raw_dir`, or under `raw_dir/JPN/` (trade_etl/formats/reporters.py;
    a release in both places is a file problem, and only its top-level manifest is read).
    Other reporters' folders are not read: the manifest describes e-Stat's tables."""
    if not raw_dir.is_dir():
        return []
    found = [p.parent for p in raw_dir.glob(f"*/{MANIFEST_NAME}")
             if not p.parent.name.startswith(".") and not is_reporter_folder(p.parent.name)]
    names = {folder.name for folder in found}
    found += [p.parent for p in (raw_dir / DEFAULT_REPORTER).glob(f"*/{MANIFEST_NAME}")
              if not p.parent.name.startswith(".") and p.parent.name not in names]
    return sorted(found)


def held_versions(raw_dir: Path) -> dict[tuple[str, int], HeldFile]:
    """(statInfId, release count) -> where that version is kept, for every manifest. An entry
    without both cannot say which version it holds: ManifestError (a fetch would otherwise
    download the table again beside it)."""
    held: dict[tuple[str, int], HeldFile] = {}
    for folder in manifests(raw_dir):
        for entry in read(folder)["files"]:
            sid, count = entry.get("stat_inf_id"), entry.get("release_count")
            if sid is None or count is None:
                raise ManifestError(
                    f"{folder / MANIFEST_NAME}: entry {printable(entry['file_name'])!r} has no "
                    f"{'stat_inf_id' if sid is None else 'release_count'}: the fetcher cannot "
                    "tell which version of the table it holds; restore the manifest from a "
                    "backup, or remove the entry and its file")
            held[(sid, count)] = HeldFile(folder.name, entry["file_name"],
                                          folder / entry["file_name"])
    return held


def add_entry(folder: Path, entry: dict, scratch: Path) -> None:
    """Add (or replace, by file name) one file's entry; the new manifest replaces the old whole."""
    problem = entry_problem(entry)
    if problem is not None:  # the fetcher's own bug: never write what read() would refuse
        raise ValueError(f"manifest entry for {entry.get('file_name')!r}: {problem}")
    data = read(folder)
    files = [f for f in data["files"] if f["file_name"] != entry["file_name"]]
    files.append(entry)
    data.update(manifest_version=MANIFEST_VERSION, release_id=folder.name, source=CREDIT,
                files=sorted(files, key=lambda f: f["file_name"]))
    tmp = scratch / f"{folder.name}{MANIFEST_NAME}.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / MANIFEST_NAME)
    sync_dir(folder)


def sync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_all(raw_dir: Path) -> tuple[dict[tuple[str, str], dict], list[dict], list[str]]:
    """Every manifest of the raw folder, read once, for a build: the entries by (release,
    file name), the rows of audit.release_months, and the manifests that could not be used
    (reported, not fatal: the files themselves still load, unchecked by them)."""
    entries: dict[tuple[str, str], dict] = {}
    rows, problems = [], []
    for folder in manifests(raw_dir):
        try:
            files = read(folder)["files"]
        except ManifestError as err:
            problems.append(str(err))
            continue
        for entry in files:
            if "flow" not in entry or "year" not in entry:
                continue
            for month in entry.get("months", []):
                rows.append({
                    "release_id": folder.name, "file_name": entry["file_name"],
                    "flow": FLOWS[entry["flow"]], "year": entry["year"],
                    "month": month["month"], "stage": month["stage"],
                    "stat_inf_id": entry.get("stat_inf_id"),
                    "update_date": date.fromisoformat(entry["update_date"])
                    if entry.get("update_date") else None,
                    "title": entry.get("title"),
                })
        entries.update(((folder.name, entry["file_name"]), entry) for entry in files)
    return entries, rows, problems
