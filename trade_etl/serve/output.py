"""Writing a file the user named (`report --out`, `build --timings`, the page of the asset
marts/report): never over something the user did not mean to replace.

Refused, in one line naming the real path (symlinks resolved) and why, with exit code 2 (usage,
as for any bad argument): an empty path; a folder; a device, pipe, socket or any other existing
file that is not a regular file; the warehouse and every file it depends on (its `.wal`, the
`.<warehouse-name>.…` files and folders beside it, the lake's folder and catalog, the raw folder,
the Dagster instance); and any existing file that is a DuckDB or SQLite database (by its magic
bytes). The content goes to a temporary file beside the real target and is renamed over it only
when complete, and only over a regular file (docs/design.md, "Output safety").
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path

from trade_etl import settings
from trade_etl.errors import EXIT_USAGE, UserError
from trade_etl.settings import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # at offset 8


class OutputRefused(UserError):
    """A path the command will not write to (the message names it and says why)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _lake_paths(warehouse: Path, config: Settings) -> list[Path]:
    """The local folders and sqlite catalogs of the lakes this warehouse publishes to: the one
    configured (or lake/ beside it) and every one its lake marker records."""
    from trade_etl.lake import recorded_lakes

    configs = []
    with contextlib.suppress(settings.SettingError):
        configs.append(config.lake_or_beside_warehouse(warehouse))
    configs += recorded_lakes(warehouse)
    found = []
    for config in configs:
        if config.warehouse_uri.startswith("file://"):
            found.append(Path(config.warehouse_uri.removeprefix("file://")))
        if config.catalog_uri.startswith("sqlite:///"):
            found.append(Path(config.catalog_uri.removeprefix("sqlite:///")))
    return found


def _protected(real: Path, warehouse: Path, raw: Path, config: Settings) -> str | None:
    """Why `real` belongs to the warehouse or what it depends on, or None."""
    home = _real(warehouse)
    if real == home:
        return "it is the warehouse"
    if real == home.with_name(home.name + ".wal"):
        return "it is the warehouse's write-ahead log"
    if any(part.parent == home.parent and part.name.startswith(f".{home.name}.")
           for part in [real, *real.parents]):
        return ("the warehouse depends on it (its working copy, lock, staging or lake "
                "marker)")
    if any(_inside(real, _real(lake)) for lake in _lake_paths(home, config)):
        return "it belongs to the warehouse's lake (its folder or catalog)"
    if _inside(real, _real(raw)):
        return "it is inside the raw folder the warehouse is built from"
    if _inside(real, _real(config.dagster_home)):
        return "it is inside the Dagster instance (run history)"
    return None


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _database(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    if head.startswith(SQLITE_MAGIC):
        return "an SQLite database"
    if head[8:12] == DUCKDB_MAGIC:
        return "a DuckDB database"
    return None


def check_output(path: str | os.PathLike, flag: str = "--out", warehouse: Path | None = None,
                 raw: Path | None = None, config: Settings | None = None) -> Path:
    """The real path to write for `path` (given as `flag`), or OutputRefused naming it and
    why. `warehouse` and `raw` default to `config`'s (the command's or run's settings; None:
    the environment's)."""
    config = Settings.from_env() if config is None else config
    if not str(path).strip():
        raise OutputRefused(f"{flag} is empty: give the file to write")
    real = _real(path)
    given = "" if str(real) == str(path) else f" (given as {path})"

    def refuse(reason: str) -> OutputRefused:
        return OutputRefused(f"refusing to write {flag} {real}{given}: {reason}; choose "
                             "another file")

    reason = _protected(real, warehouse or config.warehouse, raw or config.raw_dir, config)
    if reason:
        raise refuse(reason)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return real
    except OSError:
        return real  # e.g. a part of the path is a file: writing says so, naming it
    if stat.S_ISDIR(mode):
        raise refuse("it is a folder")
    if not stat.S_ISREG(mode):
        raise refuse(f"it is {_kind(mode)}")
    database = _database(real)
    if database:
        raise refuse(f"it is {database}")
    return real


def write_output(path: str | os.PathLike, content: str | bytes, flag: str = "--out",
                 warehouse: Path | None = None, raw: Path | None = None,
                 config: Settings | None = None) -> Path:
    """Write `content` (text as UTF-8) to `path` once check_output allows it: to a temporary
    file beside the real target, renamed over it when complete. Returns the real path."""
    config = Settings.from_env() if config is None else config
    real = check_output(path, flag, warehouse, raw, config)
    data = content.encode("utf-8") if isinstance(content, str) else content
    real.parent.mkdir(parents=True, exist_ok=True)
    tmp = real.with_name(f".{real.name}.{uuid.uuid4().hex[:8]}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        check_output(real, flag, warehouse, raw, config)  # again: it may have changed meanwhile
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(real).st_mode))  # keep the replaced file's
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return real
