"""Problems a user can fix, as one line each, with the exit code the commands return.

Exit codes (README, docs/ingest.md): 0 done; 1 failed (files that could not be read, a failed
check, tables that could not be fetched, anything unexpected); 2 usage or configuration (an
argument, a setting, a missing input); 3 busy (another build or fetch, or another process holds
the DuckDB file open for writing); 4 a build would remove loaded data and was not told to
(`--prune`); 5 the system refused (disk full, permission denied, read-only file system).
"""

from __future__ import annotations

import errno
import re

from trade_etl.settings import SettingError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_PRUNE, EXIT_SYSTEM = 0, 1, 2, 3, 4, 5


class UserError(Exception):
    """A problem the user can fix; `str()` is the one line to show."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


_SYSTEM = {
    errno.ENOSPC: ("the disk is full", "free some space"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space"),
    errno.EACCES: ("permission denied", "check the permissions of that path or choose "
                   "another with --warehouse / --raw-dir"),
    errno.EPERM: ("operation not permitted", "check the permissions of that path"),
    errno.EROFS: ("the file system is read-only", "choose a writable location"),
}
_USAGE = {
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder, not a file",
    errno.ENOENT: "no such file or folder",
    errno.EEXIST: "a file is in the way: a part of the path exists and is not a folder",
}
_LOCK = re.compile(r'Could not set lock on file "([^"]+)"')
_LOCK_PID = re.compile(r"Conflicting lock is held in (\S+) \(PID (\d+)\)")


def explain(exc: BaseException, doing: str = "", depth: int = 0) -> UserError | None:
    """The one-line form of an exception a user can act on, or None for a bug."""
    where = f" while {doing}" if doing else ""
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, SettingError):
        return UserError(f"{exc}", EXIT_USAGE)
    if isinstance(exc, OSError) and exc.errno in _SYSTEM:
        what, fix = _SYSTEM[exc.errno]
        path = f" ({exc.filename})" if exc.filename else ""
        return UserError(f"{what}{path}{where}: {fix}, then run it again; the published "
                         "warehouse is unchanged", EXIT_SYSTEM)
    if isinstance(exc, OSError) and exc.errno in _USAGE:
        path = f" {exc.filename}" if exc.filename else ""
        return UserError(f"cannot use{path}{where}: {_USAGE[exc.errno]}", EXIT_USAGE)
    import duckdb  # here, not at the top: `trade-etl --help` need not load it

    if isinstance(exc, duckdb.Error):
        text = str(exc)
        lock = _LOCK.search(text)
        if lock:
            pid = _LOCK_PID.search(text)
            holder = f" ({pid.group(1)}, process {pid.group(2)})" if pid else ""
            return UserError(
                f"{lock.group(1)} is open for writing in another process{holder}; close it "
                "there (readers should open it read-only: duckdb -readonly, "
                "read_only=True) and run again", EXIT_BUSY)
        if "No space left on device" in text or "Disk full" in text:
            return UserError(f"the disk is full{where}: free some space, then run it again; "
                             "the published warehouse is unchanged", EXIT_SYSTEM)
        if "Permission denied" in text or "Read-only file system" in text:
            first = text.strip().splitlines()[0][:300]
            return UserError(f"{first}{where}: check the permissions or choose another path",
                             EXIT_SYSTEM)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc and depth < 5:
        return explain(cause, doing, depth + 1)
    return None
