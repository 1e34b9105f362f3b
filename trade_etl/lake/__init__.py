"""The lake: the published warehouse as Apache Iceberg tables (trade_etl/lake/iceberg.py,
docs/lake.md).

This module stays light (no pyiceberg, no pyarrow): `trade-etl build` asks it, on every build,
whether the lake already holds the warehouse as published, from a small file beside the
warehouse (`.trade.duckdb.lake.json`) that each successful lake publish writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from trade_etl.settings import LakeConfig


def marker_path(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.name}.lake.json")


def record_published(warehouse: Path, config: LakeConfig, publish_id: str | None) -> None:
    """Remember that the lake of `config` holds the warehouse as of `publish_id`."""
    path = marker_path(warehouse)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"catalog_uri": config.catalog_uri,
                               "warehouse_uri": config.warehouse_uri,
                               "warehouse_publish_id": publish_id}) + "\n")
    os.replace(tmp, path)


def is_current(warehouse: Path, config: LakeConfig | None, publish_id: str | None) -> bool:
    """Whether the lake of `config` (None: no lake, always current) was last published from the
    warehouse as of `publish_id`."""
    if config is None:
        return True
    try:
        seen = json.loads(marker_path(warehouse).read_text())
    except (OSError, ValueError):
        return False
    return seen == {"catalog_uri": config.catalog_uri, "warehouse_uri": config.warehouse_uri,
                    "warehouse_publish_id": publish_id}
