"""`.manifest.json`: what the fetcher knows about each file it put in a release folder.

One per release folder, written whole and renamed into place (never half written). Discovery
skips dot files, so the build reads it only for `audit.release_months`. Files dropped by hand
have no manifest and need none.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

MANIFEST_NAME = ".manifest.json"
MANIFEST_VERSION = 1
CREDIT = "Ministry of Finance, Trade Statistics of Japan, via e-Stat (https://www.e-stat.go.jp)"


class ManifestError(Exception):
    """A manifest that cannot be read as one (the message names the file)."""


@dataclass(frozen=True)
class HeldFile:
    folder: str
    file_name: str
    path: Path


def read(folder: Path) -> dict:
    """The folder's manifest ({'files': []} when it has none)."""
    path = folder / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"manifest_version": MANIFEST_VERSION, "files": []}
    except (OSError, UnicodeDecodeError) as err:
        raise ManifestError(f"{path}: cannot be read: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ManifestError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list) or not all(
            isinstance(f, dict) and isinstance(f.get("file_name"), str) for f in data["files"]):
        raise ManifestError(f"{path}: not a trade_etl manifest (no 'files' list of entries "
                            "with a file_name)")
    return data


def manifests(raw_dir: Path) -> list[Path]:
    """The release folders under `raw_dir` that hold a manifest."""
    if not raw_dir.is_dir():
        return []
    return sorted(p.parent for p in raw_dir.glob(f"*/{MANIFEST_NAME}")
                  if not p.parent.name.startswith("."))


def held_versions(raw_dir: Path) -> dict[tuple[str, int], HeldFile]:
    """(statInfId, release count) -> where that version is kept, for every manifest."""
    held: dict[tuple[str, int], HeldFile] = {}
    for folder in manifests(raw_dir):
        for entry in read(folder)["files"]:
            try:
                key = (str(entry["stat_inf_id"]), int(entry["release_count"]))
            except (KeyError, TypeError, ValueError):
                raise ManifestError(f"{folder / MANIFEST_NAME}: entry {entry['file_name']!r} "
                                    "lacks stat_inf_id or release_count") from None
            held[key] = HeldFile(folder.name, entry["file_name"], folder / entry["file_name"])
    return held


def add_entry(folder: Path, entry: dict, scratch: Path) -> None:
    """Add (or replace, by file name) one file's entry; the new manifest replaces the old whole."""
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
    file name), the rows of audit.release_months, and the manifests that could not be read
    (reported, not fatal: the files themselves still load)."""
    entries: dict[tuple[str, str], dict] = {}
    rows, problems = [], []
    for folder in manifests(raw_dir):
        found = []
        try:
            files = read(folder)["files"]
            for entry in files:
                for month in entry.get("months", []):
                    found.append({
                        "release_id": folder.name, "file_name": entry["file_name"],
                        "flow": {"export": 1, "import": 2}[entry["flow"]],
                        "year": int(entry["year"]), "month": int(month["month"]),
                        "stage": str(month["stage"]),
                        "stat_inf_id": str(entry.get("stat_inf_id") or "") or None,
                        "update_date": date.fromisoformat(entry["update_date"])
                        if entry.get("update_date") else None,
                        "title": entry.get("title"),
                    })
            rows.extend(found)
            entries.update(((folder.name, entry["file_name"]), entry) for entry in files)
        except ManifestError as err:
            problems.append(str(err))
        except (KeyError, TypeError, ValueError) as err:
            problems.append(f"{folder / MANIFEST_NAME}: entry without {err}")
    return entries, rows, problems
