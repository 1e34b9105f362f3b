"""Watch the raw directory and start a build when a release folder appears or changes."""

import hashlib
import json

import dagster as dg

from trade_etl.defs.jobs import build_warehouse
from trade_etl.defs.resources import RawDirectory
from trade_etl.fetch.manifest import MANIFEST_NAME, manifests
from trade_etl.releases import discover


def folder_fingerprints(raw_dir: RawDirectory) -> dict[str, str]:
    """release folder -> a fingerprint of its files' names, sizes and modification times."""
    prints: dict[str, list[str]] = {}
    for s in discover(raw_dir.root):
        prints.setdefault(s.release_id, []).append(f"{s.file_name}:{s.size_bytes}:{s.mtime_ns}")
    for folder in manifests(raw_dir.root):  # the fetcher's record of stages counts too
        stat = (folder / MANIFEST_NAME).stat()
        prints.setdefault(folder.name, []).append(f"{MANIFEST_NAME}:{stat.st_size}:"
                                                  f"{stat.st_mtime_ns}")
    return {release: hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
            for release, files in prints.items()}


@dg.sensor(
    job=build_warehouse,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches a build for new or changed release folders in the raw directory. "
    "The cursor keeps each folder's fingerprint (file names, sizes, modification times).",
)
def raw_release_sensor(context: dg.SensorEvaluationContext, raw_dir: RawDirectory):
    seen = json.loads(context.cursor) if context.cursor else {}
    current = folder_fingerprints(raw_dir)
    changed = sorted(r for r, fp in current.items() if seen.get(r) != fp)
    if not changed:
        return dg.SkipReason(f"no new or changed release folders among {len(current)}")
    context.update_cursor(json.dumps(current, sort_keys=True))
    run_key = ",".join(f"{r}:{current[r]}" for r in changed)
    return dg.RunRequest(run_key=run_key, tags={"trade_etl/releases": ",".join(changed)[:200]})
