"""One code version for everything that has one: a hash of the source text it is computed by.

Dagster's asset code versions (trade_etl/defs), the staged bundles' cache key
(trade_etl/ingest/staging.py), the marts' input tokens and the build's input fingerprint
(trade_etl/store) all call `code_version` on what they are computed by, so "which code does this
depend on" is written once per asset, next to it, in one notation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from trade_etl.settings import REF_DATA_DIR, SQL_DIR

PACKAGE_DIR = Path(__file__).resolve().parent  # trade_etl/, in a checkout or an installed wheel


def sources(*names: str) -> list[Path]:
    """The files `names` denote, in a stable order. A name is a SQL file without its suffix
    (`core/trade_latest` is sql/core/trade_latest.sql), a SQL folder (`marts/`, every .sql in
    it; `/` is all of sql/), a module (`trade_etl.ingest.loader`) or a package
    (`trade_etl.formats`, every .py in it, recursively) or a reference CSV (`ref/sector_map.csv`,
    from data/ref/: the mappings a table is computed with are part of what computes it; without
    `.csv`, `ref/hs_families` is sql/ref/hs_families.sql)."""
    found: list[Path] = []
    for name in names:
        if name.startswith("ref/") and name.endswith(".csv"):
            found.append(REF_DATA_DIR / name.removeprefix("ref/"))
        elif name.startswith("trade_etl"):
            path = PACKAGE_DIR.parent.joinpath(*name.split("."))
            found += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        elif name.endswith("/"):
            found += sorted((SQL_DIR / name.strip("/")).rglob("*.sql"))
        else:
            found.append(SQL_DIR / f"{name}.sql")
    return found


def code_version(*names: str) -> str:
    """A 12-character hash of the text of `names` (see `sources`) and of the names themselves:
    it changes when any of that code does."""
    digest = hashlib.sha256()
    for path in sources(*names):
        root = {".py": PACKAGE_DIR.parent, ".csv": REF_DATA_DIR}.get(path.suffix, SQL_DIR)
        label = path.relative_to(root)
        digest.update(f"{label}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
