"""The lake: the published warehouse as Iceberg tables (trade_etl/lake/iceberg.py).

warehouse/published ─▶ lake/published

Always in the graph; it publishes only when the run's settings name a lake
(`TRADE_ETL_LAKE_CATALOG_URI` / `TRADE_ETL_LAKE_WAREHOUSE`, or the resource trade_etl's
`lake_catalog_uri` / `lake_warehouse`). Without one it materializes with `lake: not configured`
and writes nothing: a build stays DuckDB-only (`make demo`), and the graph is the same whatever
the environment. It reads the file warehouse/published has just swapped in, so a failure here
leaves the DuckDB warehouse published and the lake at its last publish; the next build (or
`trade-etl lake publish`) completes it.
"""

import dagster as dg

from trade_etl import settings
from trade_etl.defs.resources import (
    WAREHOUSE_WRITER,
    TradeEtlConfig,
    WarehouseResource,
    user_errors,
)
from trade_etl.lake import NAMESPACE

LAKE_PUBLISHED = dg.AssetKey(["lake", "published"])
NOT_CONFIGURED = "not configured"


@dg.asset(
    key=LAKE_PUBLISHED, group_name="publish", kinds={"iceberg"},
    # In the build job, so in the writers' pool like every step of it (it writes the lake
    # marker beside the warehouse); it runs last, after warehouse/published, so nothing waits.
    pool=WAREHOUSE_WRITER,
    deps=[dg.AssetKey(["warehouse", "published"])],
    description="Every public table of the published warehouse as an Iceberg table "
    f"(namespace {NAMESPACE}) in the SQL catalog {settings.LAKE_CATALOG_ENV}, "
    f"files under {settings.LAKE_WAREHOUSE_ENV}: the fact store one partition per release, "
    "only what changed written, then one publish_log entry (docs/lake.md). Without a lake "
    "configured it writes nothing and says so (metadata `lake: not configured`).",
)
def lake_published(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   trade_etl: TradeEtlConfig) -> dg.MaterializeResult:
    with user_errors("publishing the lake"):
        config = trade_etl.settings().lake
    if config is None:
        context.log.info(f"no lake configured ({settings.LAKE_WAREHOUSE_ENV} unset): nothing "
                         "published")
        return dg.MaterializeResult(metadata={"lake": NOT_CONFIGURED})
    from trade_etl.lake import iceberg  # pyarrow and pyiceberg: only when a lake is configured

    with user_errors("publishing the lake"):
        result = iceberg.publish(warehouse.path, config, context.log.info)
    return dg.MaterializeResult(metadata={
        "lake": "published",
        "catalog_uri": config.catalog_uri,
        "warehouse_uri": dg.MetadataValue.url(config.warehouse_uri),
        "publish_seq": result.publish_seq if result.publish_seq is not None else "unchanged",
        "warehouse_publish_id": result.warehouse_publish_id or "",
        "tables": result.tables,
        "tables_written": len(result.tables_written),
        "releases_written": dg.MetadataValue.json(result.releases_written),
    })
