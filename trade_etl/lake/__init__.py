"""The lake: the published warehouse as Apache Iceberg tables (trade_etl/lake/iceberg.py,
docs/lake.md).

This module stays light (no pyiceberg, no pyarrow): `trade-etl build` asks it, on every build,
whether the lake already holds the warehouse as published, from a small file beside the
warehouse (`.trade.duckdb.lake.json`) that each successful lake publish writes. The same file
lists every lake published from this warehouse (its id and last publish), so that a lake whose
catalog was emptied, lost or swapped is refused rather than started again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from trade_etl.settings import LakeConfig

NAMESPACE = "trade_etl"  # the Iceberg namespace of every table the lake holds


def marker_path(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.name}.lake.json")


def read_marker(warehouse: Path) -> dict:
    """The marker's content ({} when there is none or it cannot be read)."""
    try:
        seen = json.loads(marker_path(warehouse).read_text())
    except (OSError, ValueError):
        return {}
    return seen if isinstance(seen, dict) else {}


def recorded_lakes(warehouse: Path) -> list[LakeConfig]:
    """Every lake the marker says this warehouse was published to."""
    return [LakeConfig(lake["catalog_uri"], lake["warehouse_uri"])
            for lake in read_marker(warehouse).get("lakes", [])
            if isinstance(lake, dict) and {"catalog_uri", "warehouse_uri"} <= lake.keys()]


def recorded_lake(warehouse: Path, config: LakeConfig) -> dict | None:
    """What the marker records of the lake of `config`: its lake id, the last publish seen
    (`publish_seq`, `published_at`), or None when this warehouse never published to it."""
    for lake in read_marker(warehouse).get("lakes", []):
        if isinstance(lake, dict) and lake.get("catalog_uri") == config.catalog_uri:
            return lake
    return None


def record_published(warehouse: Path, config: LakeConfig, publish_id: str | None,
                     lake_id: str | None = None, publish_seq: int | None = None,
                     published_at: str | None = None) -> None:
    """Remember that the lake of `config` holds the warehouse as of `publish_id`, and, in the
    list of lakes published from this warehouse, its id and last publish."""
    path = marker_path(warehouse)
    lakes = [lake for lake in read_marker(warehouse).get("lakes", [])
             if isinstance(lake, dict) and lake.get("catalog_uri") != config.catalog_uri]
    if publish_seq is not None:
        lakes.append({"catalog_uri": config.catalog_uri, "warehouse_uri": config.warehouse_uri,
                      "lake_id": lake_id, "publish_seq": publish_seq,
                      "published_at": published_at})
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"catalog_uri": config.catalog_uri,
                               "warehouse_uri": config.warehouse_uri,
                               "warehouse_publish_id": publish_id,
                               "lakes": lakes}, indent=1) + "\n")
    os.replace(tmp, path)


def is_current(warehouse: Path, config: LakeConfig | None, publish_id: str | None) -> bool:
    """Whether the lake of `config` (None: no lake, always current) was last published from the
    warehouse as of `publish_id`."""
    if config is None:
        return True
    seen = read_marker(warehouse)
    return all(k in seen for k in ("catalog_uri", "warehouse_uri", "warehouse_publish_id")) and (
        seen["catalog_uri"], seen["warehouse_uri"], seen["warehouse_publish_id"]) == (
        config.catalog_uri, config.warehouse_uri, publish_id)
