"""Run the benchmark's yardstick: bench/baseline.sql over a raw release folder.

    python bench/baseline.py RAW_DIR OUT.duckdb

DuckDB reads neither zip archives nor CP932 text, so this script first extracts zip members and
converts CP932 files to UTF-8 in a scratch folder (inside the timed run: the pipeline does the
same work), sorts the CSVs into the 45-column layout and the customs-office variant by their
header, then runs the SQL script. It prints rows read, quarantined and the tables it wrote.
"""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
CUSTOM_HEADER = "Exp or Imp,Year,Custom,HS,Country"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def prepare(raw_dir: Path, scratch: Path) -> tuple[list[str], list[str]]:
    """Return (plain, custom) CSV paths; zip members and CP932 files are rewritten to scratch."""
    plain: list[str] = []
    custom: list[str] = []
    for folder in sorted(p for p in raw_dir.iterdir() if p.is_dir()):
        for path in sorted(folder.rglob("*")):
            members: list[tuple[str, bytes]] = []
            if path.suffix.lower() == ".zip":
                with zipfile.ZipFile(path) as archive:
                    members = [(n.replace("/", "__"), archive.read(n))
                               for n in archive.namelist() if n.lower().endswith(".csv")]
            elif path.suffix.lower() == ".csv":
                members = [(path.name, path.read_bytes())]
            for name, data in members:
                if _is_utf8(data) and path.suffix.lower() == ".csv":
                    target = path  # read in place
                else:
                    if not _is_utf8(data):
                        data = data.decode("cp932").encode("utf-8")
                    target = scratch / folder.name / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                header = data[:4096].decode("utf-8", "replace").lstrip("\ufeff").split("\n")[0]
                is_custom = header.count(",") == 45 or header.startswith(CUSTOM_HEADER)
                (custom if is_custom else plain).append(str(target))
    if not custom:  # read_csv needs at least one file: a header-only file adds no rows
        empty = scratch / "_none" / "none.csv"
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.write_text(",".join(["c"] * 46) + "\n")
        custom.append(str(empty))
    return plain, custom


def run(raw_dir: Path, out: Path) -> dict[str, int]:
    started = time.perf_counter()
    # Scratch files sit next to the output (on disk, not in a memory-backed /tmp).
    with tempfile.TemporaryDirectory(prefix="baseline-", dir=out.parent) as scratch:
        plain, custom = prepare(raw_dir, Path(scratch))
        conn = duckdb.connect(str(out))
        try:
            conn.execute("set variable plain_files = $p", {"p": plain})
            conn.execute("set variable custom_files = $c", {"c": custom})
            conn.execute("set variable ref_dir = $r", {"r": str(ROOT / "data" / "ref")})
            conn.execute((ROOT / "bench" / "baseline.sql").read_text())
            counts = {
                name: conn.sql(f"select count(*) from {name}").fetchall()[0][0]
                for name in ("cells", "quarantine", "latest", "totals_by_partner")
            }
        finally:
            conn.close()
    counts["seconds_ms"] = round((time.perf_counter() - started) * 1000)
    return counts


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(run(Path(sys.argv[1]), Path(sys.argv[2])))
