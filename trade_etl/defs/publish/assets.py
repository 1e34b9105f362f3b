"""Publish: swap the finished working copy in as the warehouse readers see.

Every other asset is upstream, so a failed step or a failed blocking check leaves the published
warehouse as the last complete build left it (trade_etl/publish.py).
"""

from pathlib import Path

import dagster as dg

from trade_etl import freshness, publish
from trade_etl.defs.core.assets import HS_CODE_SECTORS, TRADE_LATEST
from trade_etl.defs.ingest.assets import AUDIT_QUARANTINE, AUDIT_RELEASES, TRADE_FACTS
from trade_etl.defs.resources import WarehouseResource, warehouse_connection
from trade_etl.warehouse import MARTS


class PublishConfig(dg.Config):
    fingerprint: str = ""  # set by `trade-etl build`: the inputs this build saw (freshness.py)


@dg.asset(
    key=["warehouse", "published"], group_name="publish", kinds={"duckdb"},
    deps=[TRADE_FACTS, AUDIT_RELEASES, AUDIT_QUARANTINE, TRADE_LATEST, HS_CODE_SECTORS,
          *[dg.AssetKey(["marts", m]) for m in (*MARTS, "revisions")]],
    description="The warehouse readers open (TRADE_ETL_WAREHOUSE): the run's working copy, "
    "checkpointed, compacted when a third of it is free space, and swapped in atomically once "
    "everything upstream and every blocking check has passed.",
)
def published(config: PublishConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    if config.fingerprint:
        with warehouse_connection(warehouse) as conn:
            freshness.record_in(conn, config.fingerprint)
    info = publish.publish(Path(warehouse.database))
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(Path(warehouse.database).absolute())),
        "megabytes": round(info["bytes"] / 1e6, 1),
        "compacted": info["compacted"],
        "free_share_before": info["free_share_before"],
    })
