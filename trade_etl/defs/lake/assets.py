"""The lake: the published warehouse as Iceberg tables (trade_etl/lake/iceberg.py).

warehouse/published ─▶ lake/published

Defined only when `TRADE_ETL_LAKE_CATALOG_URI` or `TRADE_ETL_LAKE_WAREHOUSE` is set: a build
without them stays DuckDB-only (`make demo`). It reads the file warehouse/published has just
swapped in, so a failure here leaves the DuckDB warehouse published and the lake at its last
publish; the next build (or `trade-etl lake publish`) completes it.
"""

from pathlib import Path

import dagster as dg

from trade_etl import settings
from trade_etl.defs.resources import WarehouseResource, user_errors
from trade_etl.lake import iceberg

LAKE_PUBLISHED = dg.AssetKey(["lake", "published"])

if settings.lake_enabled():

    @dg.asset(
        key=LAKE_PUBLISHED, group_name="publish", kinds={"iceberg"},
        deps=[dg.AssetKey(["warehouse", "published"])],
        description="Every public table of the published warehouse as an Iceberg table "
        f"(namespace {iceberg.NAMESPACE}) in the SQL catalog {settings.LAKE_CATALOG_ENV}, "
        f"files under {settings.LAKE_WAREHOUSE_ENV}: the fact store one partition per release, "
        "only what changed written, then one publish_log entry (docs/lake.md).",
    )
    def lake_published(context: dg.AssetExecutionContext,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
        config = settings.lake_config()
        with user_errors("publishing the lake"):
            result = iceberg.publish(Path(warehouse.database), config, context.log.info)
        return dg.MaterializeResult(metadata={
            "catalog_uri": config.catalog_uri,
            "warehouse_uri": dg.MetadataValue.url(config.warehouse_uri),
            "publish_seq": result.publish_seq if result.publish_seq is not None else "unchanged",
            "warehouse_publish_id": result.warehouse_publish_id or "",
            "tables": result.tables,
            "tables_written": len(result.tables_written),
            "releases_written": dg.MetadataValue.json(result.releases_written),
        })
