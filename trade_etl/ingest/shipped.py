"""What a build must know of the registered layouts before it reads a file: the reporters whose
folders it reads and the layouts' fingerprint (part of the build's input fingerprint and the
staged bundles' key), without importing the layouts themselves when no layout module is
configured. trade_etl/ingest/layouts.py imports pandera and polars (0.3 s): a build of an
unchanged folder, which only compares fingerprints, does not need them."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from trade_etl.versions import code_version

# The reporters of layouts.SHIPPED, in its order (layouts.py refuses to import if they differ).
SHIPPED_REPORTERS = ("JPN", "USA")


def fingerprint(modules: tuple[str, ...] = ()) -> str:
    """Changes when the registered layouts' code does: trade_etl/ingest/layouts.py's, and each
    registering module's file (imported to find it)."""
    digest = hashlib.sha256(code_version("trade_etl.ingest.layouts").encode())
    for name in modules:
        digest.update(f"{name}\0".encode() + _module_bytes(name) + b"\0")
    return digest.hexdigest()[:16]


def _module_bytes(name: str) -> bytes:
    path = getattr(importlib.import_module(name), "__file__", None)
    return Path(path).read_bytes() if path else b""


def reporters_and_fingerprint(modules: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str]:
    """The reporters a build reads and the layouts' fingerprint: the shipped ones without
    importing the layouts, or the registry's when `modules` (Settings.layout_modules) register
    more (SettingError when one cannot be used)."""
    if not modules:
        return SHIPPED_REPORTERS, fingerprint()
    from trade_etl.ingest.layouts import registry

    found = registry(modules)
    return found.reporters, found.fingerprint
