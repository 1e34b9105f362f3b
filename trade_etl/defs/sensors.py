"""Watch the raw directory and start a build when a release folder appears or changes."""

import hashlib
import json

import dagster as dg

from trade_etl.defs.jobs import build_warehouse
from trade_etl.defs.resources import RawDirectory
from trade_etl.fetch.manifest import MANIFEST_NAME, manifests
from trade_etl.ingest.releases import discover, unsettled
from trade_etl.settings import quiet_seconds


def folder_fingerprints(raw_dir: RawDirectory) -> tuple[dict[str, str], set[str]]:
    """release folder -> a fingerprint of its files' names, sizes and times; and the folders
    with a file changed within the quiet period (a copy or download may be under way)."""
    prints: dict[str, list[str]] = {}
    sources = discover(raw_dir.root)
    young = {s.release_id for s in unsettled(sources, quiet_seconds())}
    for s in sources:
        prints.setdefault(s.release_id, []).append(
            f"{s.file_name}:{s.size_bytes}:{s.mtime_ns}:{s.ctime_ns}:{s.inode}")
    for folder in manifests(raw_dir.root):  # the fetcher's record of stages counts too
        stat = (folder / MANIFEST_NAME).stat()
        prints.setdefault(folder.name, []).append(f"{MANIFEST_NAME}:{stat.st_size}:"
                                                  f"{stat.st_mtime_ns}")
    return {release: hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
            for release, files in prints.items()}, young


@dg.sensor(
    job=build_warehouse,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches a build for new or changed release folders in the raw directory. "
    "The cursor keeps each folder's fingerprint (file names, sizes, times, inodes); a folder "
    "with a file changed within the quiet period (TRADE_ETL_QUIET_SECONDS) waits for a later "
    "tick.",
)
def raw_release_sensor(context: dg.SensorEvaluationContext, raw_dir: RawDirectory):
    seen = json.loads(context.cursor) if context.cursor else {}
    current, young = folder_fingerprints(raw_dir)
    for release in young:  # deferred to a later tick: keep what the cursor knew of it
        if release in seen:
            current[release] = seen[release]
        else:
            current.pop(release, None)
    changed = sorted(r for r, fp in current.items() if seen.get(r) != fp)
    if not changed:
        waiting = f"; {len(young)} still being written" if young else ""
        return dg.SkipReason(f"no new or changed release folders among {len(current)}"
                             f"{waiting}")
    context.update_cursor(json.dumps(current, sort_keys=True))
    run_key = ",".join(f"{r}:{current[r]}" for r in changed)
    return dg.RunRequest(run_key=run_key, tags={"trade_etl/releases": ",".join(changed)[:200]})
